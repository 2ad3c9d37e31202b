"""Runtimes, files in and files out through the API: what GET /api/v1/runtimes says, every rule
a submission's files must keep (422/413 with the reason), a data script's plot and table coming
back, how those files are served (never run from our origin) and who may read them."""

import base64
import json

import pytest
from django.conf import settings
from django.test import Client

from accounts.tests.helpers import bearer, obtain_tokens
from executions import artifacts, services
from executions.documents import Execution
from executions.runners.packages import locked_packages

pytestmark = pytest.mark.usefixtures("empty_store")

DATA = settings.DATA_RUNTIME
BARE = settings.BARE_RUNTIME
CSV = "day,city,temp\n1,Oslo,3.5\n2,Oslo,4.5\n1,Rome,15\n2,Rome,17\n"
DATA_SCRIPT = """
import matplotlib.pyplot as plt
import pandas as pd

frame = pd.read_csv("data.csv")
print(frame.groupby("city")["temp"].mean().to_dict())
frame.pivot(index="day", columns="city", values="temp").plot()
plt.show()
frame.describe().to_csv("summary.csv")
"""


def submit(client, body, *, wait=False, **headers):
    path = "/api/v1/executions" + ("?wait=true" if wait else "")
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


# --- runtimes ----------------------------------------------------------------------------


def test_runtimes_say_language_version_packages_default_and_caps_per_runtime():
    body = Client().get("/api/v1/runtimes").json()
    runtimes = {runtime["name"]: runtime for runtime in body["runtimes"]}

    assert list(runtimes) == [BARE, DATA]
    bare, data = runtimes[BARE], runtimes[DATA]
    assert (bare["language"], bare["default"], bare["packages"]) == ("python", True, {})
    assert bare["version"].startswith("3.13.")
    assert (data["language"], data["default"], data["version"]) == ("python", False, bare["version"])
    assert data["packages"] == locked_packages() and "pandas" in data["packages"]
    # An anonymous caller's caps: the data runtime's own, where it needs more than a hello.
    assert bare["limits"] == body["limits"] and bare["limits"]["memory_mb"] == 64
    assert data["limits"]["memory_mb"] == 256 and data["limits"]["wall_seconds"] == 20.0
    assert body["input_files"] == settings.ANONYMOUS_INPUT_FILE_CAPS
    assert body["output_files"] == settings.ANONYMOUS_OUTPUT_FILE_CAPS


@pytest.mark.django_db(transaction=True)  # the API reads the ORM from worker threads
def test_a_signed_in_caller_is_told_the_higher_caps(owner):
    client = Client()
    token = bearer(obtain_tokens(client, owner)["access_token"])
    body = client.get("/api/v1/runtimes", headers=token).json()

    data = next(runtime for runtime in body["runtimes"] if runtime["name"] == DATA)
    assert data["limits"]["memory_mb"] == 512
    assert body["input_files"] == settings.INPUT_FILE_CAPS and body["output_files"] == settings.OUTPUT_FILE_CAPS


def test_an_unknown_runtime_is_a_422_that_names_the_available_ones():
    response = submit(Client(), {"script": "print(1)", "runtime": "cobol"})

    assert response.status_code == 422
    assert response.json() == {"detail": f"runtime 'cobol' is not available here (available: {BARE}, {DATA})"}


def test_limits_are_checked_against_the_chosen_runtimes_caps():
    client = Client()
    assert submit(client, {"script": "print(1)", "limits": {"memory_mb": 200}}).status_code == 422
    assert submit(client, {"script": "print(1)", "runtime": DATA, "limits": {"memory_mb": 200}}).status_code == 201


# --- files in ----------------------------------------------------------------------------


def file(name, content="x", encoding="utf8"):
    return {"name": name, "content": content, "encoding": encoding}


@pytest.mark.parametrize(
    ("files", "status", "detail"),
    [
        (
            [file("../etc/passwd")],
            422,
            'files[0]: \'../etc/passwd\' is not a file name: no part may be empty, "." or ".."',
        ),
        ([file("/abs")], 422, "files[0]: '/abs' is not a file name: it must be relative to the working directory"),
        (
            [file("nul\x00")],
            422,
            "files[0]: 'nul\\x00' is not a file name: it holds a NUL, a control, format or line-separator character",
        ),
        ([file("a.txt"), file("a.txt")], 422, "files[1]: 'a.txt' is given twice"),
        ([file("a"), file("a/b.txt")], 422, "files[1]: 'a/b.txt' would be inside 'a', which is a file"),
        ([file("b.bin", "not base64!", "base64")], 422, "files[0]: the content of 'b.bin' is not base64"),
        ([file(f"f{n}") for n in range(11)], 422, "11 files are given; at most 10 may be"),
        ([file("big", "x" * (256 * 1024 + 1))], 413, "the files given take 262145 bytes; at most 262144 may be given"),
    ],
)
def test_files_that_break_a_rule_are_refused_with_the_reason(files, status, detail):
    response = submit(Client(), {"script": "print(1)", "files": files})

    assert response.status_code == status
    assert response.json() == {"detail": detail}
    assert Execution.objects.count() == 0


@pytest.mark.parametrize(
    "files",
    [
        [{"name": "a"}],
        [{"name": "a", "content": "x", "encoding": "latin1"}],
        [{"name": "a", "content": "x", "mode": "0777"}],
        [{"name": 1, "content": "x"}],
        "data.csv",
    ],
)
def test_malformed_files_are_a_422_listing_the_fields(files):
    response = submit(Client(), {"script": "print(1)", "files": files})

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


def test_files_larger_than_the_runs_disk_limit_are_refused_before_they_are_queued():
    body = {"script": "print(1)", "files": [file("a", "x" * (2 << 20))], "limits": {"disk_mb": 1}}
    response = submit(Client(), body)

    assert response.status_code == 413  # an anonymous caller's 256 KiB cap comes first
    settings_caps = {"count": 20, "total_bytes": 4 << 20}
    assert services.input_files_decode(files=[file("a", "x" * 10)], caps=settings_caps, disk_mb=1)
    with pytest.raises(services.SubmissionRejected, match="more than the run's disk limit of 1 MiB"):
        services.input_files_decode(files=[file("a", "x" * (2 << 20))], caps=settings_caps, disk_mb=1)


# --- files out, end to end ----------------------------------------------------------------


@pytest.mark.usefixtures("dispatcher")
def test_an_anonymous_data_script_reads_its_csv_and_returns_its_plot_and_table():
    client = Client()
    body = {"script": DATA_SCRIPT, "runtime": DATA, "files": [file("data.csv", CSV)]}
    execution = submit(client, body, wait=True).json()

    assert execution["status"] == "completed", execution["errors"]
    assert execution["output"] == "{'Oslo': 4.0, 'Rome': 16.0}\n"
    assert execution["input_files"] == [{"name": "data.csv", "size": len(CSV)}]
    assert [(f["name"], f["content_type"]) for f in execution["files"]] == [
        ("figure-1.png", "image/png"),
        ("summary.csv", "text/csv"),
    ]
    assert execution["files_truncated"] is False
    figure, table = execution["files"]
    assert figure["url"] == f"/api/v1/executions/{execution['execution_id']}/files/figure-1.png"

    image = client.get(figure["url"])
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG") and len(image.content) == figure["size"]
    assert image["Content-Type"] == "image/png"
    assert image["Content-Disposition"] == 'inline; filename="figure-1.png"'
    assert image["X-Content-Type-Options"] == "nosniff"
    assert image["Content-Security-Policy"].startswith("sandbox")

    csv = client.get(table["url"])
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert csv["Content-Disposition"] == 'attachment; filename="summary.csv"'
    assert csv.content.startswith(b",day,temp\ncount,")

    listed = client.get(f"/api/v1/executions/{execution['execution_id']}").json()
    assert listed["files"] == execution["files"]


@pytest.mark.usefixtures("dispatcher")
@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("page.html", "application/octet-stream"),
        ("drawing.svg", "application/octet-stream"),
        ("code.js", "application/octet-stream"),
        ("data.xml", "application/octet-stream"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("blob", "application/octet-stream"),
    ],
)
def test_user_content_that_a_browser_could_run_is_only_ever_downloaded(name, content_type):
    client = Client()
    script = f"open({name!r}, 'w').write('<script>alert(document.cookie)</script>')"
    execution = submit(client, {"script": script}, wait=True).json()

    served = client.get(execution["files"][0]["url"])

    assert served["Content-Type"] == content_type
    assert served["Content-Disposition"].startswith("attachment;")
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]


@pytest.mark.usefixtures("dispatcher")
def test_a_file_name_that_needs_quoting_is_served_by_its_url():
    client = Client()
    execution = submit(
        client, {"script": "import os; os.mkdir('out dir'); open('out dir/ré sumé #1.txt','w').write('ok')"}, wait=True
    ).json()

    url = execution["files"][0]["url"]
    assert url.endswith("/files/out%20dir/r%C3%A9%20sum%C3%A9%20%231.txt")
    assert client.get(url).content == b"ok"


@pytest.mark.usefixtures("dispatcher")
def test_files_over_an_anonymous_callers_caps_are_left_out_and_said():
    script = "for n in range(12): open(f'f{n:02}.txt', 'w').write('x')"
    execution = submit(Client(), {"script": script}, wait=True).json()

    assert [f["name"] for f in execution["files"]] == [f"f{n:02}.txt" for n in range(10)]
    assert execution["files_truncated"] is True


@pytest.mark.usefixtures("dispatcher")
@pytest.mark.django_db(transaction=True)  # the API reads the ORM from worker threads
def test_files_are_read_under_the_executions_access_rule(owner, other):
    mine = Client()
    token = bearer(obtain_tokens(mine, owner)["access_token"])
    execution = submit(mine, {"script": "open('secret.txt','w').write('mine')"}, wait=True, **token).json()
    url = execution["files"][0]["url"]

    assert mine.get(url, headers=token).content == b"mine"
    assert Client().get(url).status_code == 404
    theirs = Client()
    assert theirs.get(url, headers=bearer(obtain_tokens(theirs, other)["access_token"])).status_code == 404
    missing = mine.get(url.replace("secret.txt", "other.txt"), headers=token)
    assert missing.status_code == 404 and "has no file 'other.txt'" in missing.json()["detail"]


@pytest.mark.usefixtures("dispatcher")
@pytest.mark.django_db(transaction=True)  # the API reads the ORM from worker threads
def test_a_runs_files_go_with_its_execution(owner):
    client = Client()
    token = bearer(obtain_tokens(client, owner)["access_token"])
    execution = submit(
        client, {"script": "open('a.bin','wb').write(b'1'); open('b.bin','wb').write(b'2')"}, wait=True, **token
    ).json()
    stored = list(artifacts._bucket().find({"metadata.execution_id": execution["execution_id"]}))
    assert len(stored) == 2

    services.execution_delete(execution=Execution.objects.get(execution_id=execution["execution_id"]))

    assert list(artifacts._bucket().find({"metadata.execution_id": execution["execution_id"]})) == []


@pytest.mark.usefixtures("dispatcher")
def test_binary_input_files_arrive_byte_for_byte():
    data = bytes(range(256))
    script = "import hashlib; print(hashlib.sha256(open('in/all.bin','rb').read()).hexdigest())"
    body = {"script": script, "files": [file("in/all.bin", base64.b64encode(data).decode(), "base64")]}
    execution = submit(Client(), body, wait=True).json()

    import hashlib

    assert execution["output"].strip() == hashlib.sha256(data).hexdigest()
    assert execution["files"] == []  # an input left as it was is not returned
