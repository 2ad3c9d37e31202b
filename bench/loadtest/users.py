"""The HTTP users of the load test: anonymous API callers, API callers with JWTs, and readers of
results and pages (anonymous, and signed in with a browser session).

Executions a user submits are recorded the moment their id is known, and their ids shared with
the readers (``shared.executed``).
"""

import itertools
import json
import os
import re
import time
import uuid

from locust import FastHttpUser, between, task

from bench.loadtest import scripts
from bench.loadtest.recorder import QUOTA_SUFFIX
from bench.loadtest.shared import executed, next_account, recent
from bench.loadtest.wsclient import watch

FINAL = ("completed", "failed")
POLL_SECONDS = 0.25
POLL_GIVE_UP_SECONDS = 30.0
# Access tokens live 300 s unless HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN says otherwise.
TOKEN_REFRESH_SECONDS = float(os.environ.get("LOADTEST_TOKEN_REFRESH_SECONDS", 240))
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LOGIN = "/_allauth/app/v1/auth/login"
REFRESH = "/_allauth/app/v1/tokens/refresh"


def refused_by_quota(response, name: str) -> bool:
    """A 429 is reported as a success under ``name [429]``, apart from the endpoint's figures."""
    if response.status_code != 429:
        return False
    response.request_meta["name"] = name + QUOTA_SUFFIX
    response.success()
    return True


def body_of(response) -> dict:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        response.failure(f"not a JSON object: {response.content[:200]!r}")
        return {}
    return body


class ApiUser(FastHttpUser):
    abstract = True
    wait_time = between(1, 3)
    account: str | None = None
    headers: dict[str, str] = {}
    idempotent = False  # whether submissions carry an Idempotency-Key, as a careful program's do

    def submit(self, path: str, name: str, via: str, *, stdin: bool = True) -> dict:
        """POST one of the test scripts; the execution as the answer gives it ({} if refused)."""
        kind, script = scripts.pick(stdin=stdin)
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex} if self.idempotent else self.headers
        with self.client.post(
            path, json=script.submission(), headers=headers, name=name, catch_response=True
        ) as response:
            if refused_by_quota(response, name) or response.status_code >= 400:
                return {}
            body = body_of(response)
            if "execution_id" in body:
                executed(body["execution_id"], kind, via, self.account)
            return body

    def read(self, path: str, name: str) -> dict:
        with self.client.get(path, headers=self.headers, name=name, catch_response=True) as response:
            return body_of(response) if response.status_code == 200 else {}


class AnonymousApiUser(ApiUser):
    """A program without an account: the seed's two endpoints, and the API's submit-and-wait."""

    weight = 5

    @task(3)
    def execute_then_poll(self) -> None:
        body = self.submit("/execute", "/execute", "execute", stdin=False)  # the seed's endpoint: script only
        started = time.monotonic()
        while body.get("execution_id") and time.monotonic() - started < POLL_GIVE_UP_SECONDS:
            time.sleep(POLL_SECONDS)
            body = self.read(f"/result/{body['execution_id']}", "/result/[id]")
            if body.get("status") in FINAL:
                return

    @task(2)
    def submit_and_wait(self) -> None:
        self.submit("/api/v1/executions?wait=true", "/api/v1/executions?wait=true", "api")


class TokenApiUser(ApiUser):
    """A program with an account: signs in for a JWT pair, refreshes it, submits and reads its own."""

    weight = 5
    idempotent = True
    accounts = itertools.count()
    refresh_token: str | None = None

    def on_start(self) -> None:
        self.account = next_account(self.accounts)
        self._sign_in()

    def _sign_in(self) -> None:
        password = os.environ["LOADTEST_PASSWORD"]
        self._take(self._tokens(LOGIN, {"username": self.account, "password": password}).get("meta", {}))

    def _tokens(self, path: str, payload: dict) -> dict:
        with self.client.post(path, json=payload, catch_response=True) as response:
            return body_of(response)

    def _take(self, tokens: dict) -> None:
        access_token = tokens.get("access_token")
        self.headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        self.refresh_token = tokens.get("refresh_token", self.refresh_token)  # rotated on use
        self.signed_in_at = time.monotonic()

    def _fresh(self) -> bool:
        """Whether the user holds a usable access token, after signing in again (as a program
        does after a refused sign-in) or refreshing an old one."""
        if not self.headers:
            self._sign_in()
        elif self.refresh_token and time.monotonic() - self.signed_in_at > TOKEN_REFRESH_SECONDS:
            self._take(self._tokens(REFRESH, {"refresh_token": self.refresh_token}).get("data", {}))
        return bool(self.headers)

    @task(4)
    def submit_and_wait(self) -> None:
        if self._fresh():
            self.submit("/api/v1/executions?wait=true", "/api/v1/executions?wait=true (token)", "api")

    @task(1)
    def list_own(self) -> None:
        if self._fresh():
            self.read("/api/v1/executions?page=1", "/api/v1/executions?page=1 (token)")

    @task(2)
    def read_own(self) -> None:
        if self._fresh() and (execution_id := recent.pick(self.account)):
            self.read(f"/api/v1/executions/{execution_id}", "/api/v1/executions/[id] (token)")


class Reader(FastHttpUser):
    """Somebody opening the site and the results others shared: pages and the read API."""

    weight = 3
    wait_time = between(1, 3)

    @task(2)
    def editor_page(self) -> None:
        self.client.get("/", name="/")

    @task(3)
    def execution_page(self) -> None:
        self._recent("/executions/{}/", "/executions/[id]/")

    @task(2)
    def execution_api(self) -> None:
        self._recent("/api/v1/executions/{}", "/api/v1/executions/[id]")

    def _recent(self, path: str, name: str) -> None:
        if execution_id := recent.pick():
            self.client.get(path.format(execution_id), name=name)

    @task(1)
    def runtimes(self) -> None:
        self.client.get("/api/v1/runtimes", name="/api/v1/runtimes")

    @task(1)
    def live_page(self) -> None:
        if execution_id := recent.pick():
            watch(self, execution_id)


class SignedInReader(FastHttpUser):
    """A signed-in visitor (browser session): signs in through the form, reads their history."""

    weight = 2
    wait_time = between(1, 3)
    accounts = itertools.count()

    def on_start(self) -> None:
        self.account = next_account(self.accounts)
        self.signed_in = self._sign_in()

    def _sign_in(self) -> bool:
        page = self.client.get("/accounts/login/", name="/accounts/login/")
        token = CSRF_FIELD.search(page.text or "")
        form = {
            "csrfmiddlewaretoken": token.group(1) if token else "",
            "login": self.account,
            "password": os.environ["LOADTEST_PASSWORD"],
        }
        with self.client.post(
            "/accounts/login/", data=form, name="/accounts/login/", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:  # the form again: not signed in
                response.failure(f"sign-in answered {response.status_code}, not a redirect")
            return response.status_code == 302

    def _still_signed_in(self) -> bool:
        """Whether the session is signed in, after trying again (as a person would) if it was not."""
        self.signed_in = self.signed_in or self._sign_in()
        return self.signed_in

    @task(3)
    def history(self) -> None:
        if self._still_signed_in():
            self.client.get("/history/", name="/history/")

    @task(2)
    def own_execution_page(self) -> None:
        if self._still_signed_in() and (execution_id := recent.pick(self.account)):
            self.client.get(f"/executions/{execution_id}/", name="/executions/[id]/ (signed in)")

    @task(1)
    def runtimes(self) -> None:
        self.client.get("/api/v1/runtimes", name="/api/v1/runtimes (signed in)")
