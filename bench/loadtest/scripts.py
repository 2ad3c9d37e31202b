"""The scripts the test users run, and what each must end as: the audit compares every
execution's stored result with its script's expectation."""

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Script:
    source: str
    stdin: str
    status: str
    output: str
    error_type: str | None = None

    def submission(self) -> dict:
        return {"script": self.source, "stdin": self.stdin} if self.stdin else {"script": self.source}


LOOP = "import time\nfor i in range(5):\n    print('line', i, flush=True)\n    time.sleep(0.05)\n"

SCRIPTS = {
    "hello": Script("print('hello')", "", "completed", "hello\n"),
    "loop": Script(LOOP, "", "completed", "".join(f"line {i}\n" for i in range(5))),
    "echo": Script("import sys\nprint(sys.stdin.read().upper(), end='')", "hi there\n", "completed", "HI THERE\n"),
    "fails": Script("raise SystemExit('deliberate failure')", "", "failed", "", "runtime_error"),
}
# Mostly small successes, an occasional failure.
WEIGHTS = {"hello": 4, "loop": 3, "echo": 2, "fails": 1}


def pick(*, stdin: bool = True) -> tuple[str, Script]:
    """A script by WEIGHTS; ``stdin=False`` for a caller that cannot send any (``POST /execute``)."""
    kinds = [kind for kind in WEIGHTS if stdin or not SCRIPTS[kind].stdin]
    kind = random.choices(kinds, weights=[WEIGHTS[kind] for kind in kinds])[0]
    return kind, SCRIPTS[kind]


def outcome_problem(script: Script, *, status: str, error_type: str | None, output: str) -> str | None:
    """Why a final execution is not what its script must give, or None."""
    if status != script.status or error_type != script.error_type:
        return f"{status}/{error_type} instead of {script.status}/{script.error_type}"
    if output != script.output:
        return f"output {output[:80]!r} instead of {script.output[:80]!r}"
    return None
