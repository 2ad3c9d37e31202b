"""What the test users of one Locust process share: the recorder, the ids of recent executions
(readers read what others ran), and the test accounts, handed out in turn."""

import itertools
import os
import random
from collections import defaultdict, deque

from bench.loadtest.accounts import USERNAME
from bench.loadtest.recorder import recorder_from_env

recorder = recorder_from_env()


class Recent:
    """Ids of recent executions: anonymous ones (anybody may read them) and each account's."""

    def __init__(self):
        self.anonymous: deque[str] = deque(maxlen=200)
        self.owned: dict[str, deque[str]] = defaultdict(lambda: deque(maxlen=50))

    def add(self, execution_id: str, account: str | None) -> None:
        (self.owned[account] if account else self.anonymous).append(execution_id)

    def pick(self, account: str | None = None) -> str | None:
        ids = self.owned[account] if account else self.anonymous
        return random.choice(ids) if ids else None


recent = Recent()


def executed(execution_id: str, kind: str, via: str, account: str | None) -> None:
    """A user was told the id of an execution it submitted."""
    recorder.execution(execution_id, kind, via)
    recent.add(execution_id, account)


def next_account(numbers: itertools.count) -> str:
    """Each user class takes the accounts in turn, so signed-in readers read what token users ran."""
    return USERNAME.format(index=next(numbers) % int(os.environ["LOADTEST_ACCOUNTS"]) + 1)
