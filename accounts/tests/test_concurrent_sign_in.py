"""Sign-ins at once, against the live server and its embedded SQLite: each waits its turn."""

from concurrent.futures import ThreadPoolExecutor

import httpx

from accounts.tests.live import live_user
from conftest import PASSWORD

PEOPLE = 8


def test_simultaneous_sign_ins_all_succeed_instead_of_finding_the_database_locked(daphne_server):
    for n in range(PEOPLE):
        live_user(daphne_server, f"crowd-{n}")

    def sign_in(n: int) -> int:
        with httpx.Client(base_url=daphne_server.url, timeout=60) as client:
            response = client.post("/_allauth/app/v1/auth/login", json={"username": f"crowd-{n}", "password": PASSWORD})
            return response.status_code

    with ThreadPoolExecutor(PEOPLE) as pool:
        for _ in range(3):  # a few rounds: the lock is a race
            assert list(pool.map(sign_in, range(PEOPLE))) == [200] * PEOPLE
