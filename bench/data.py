"""The data runtime in `make bench`: a data script as a user submits it (read a CSV given with
the submission, group and describe it with pandas, plot with plt.show(), write a CSV),
submit -> completed through the API, next to a bare `python -c "import pandas,
matplotlib.pyplot"` of the same runtime's packages in the same run (target: 0.1 of it)."""

import os
import subprocess
import sys
import time

import httpx

from bench.stats import summary_ms, timed

RUNS = 15
WARM_UP_SECONDS = 5.0  # a data runtime's template imports its modules in about 1.5 s on 2 cores
CSV = "day,city,temp\n" + "".join(
    f"{day},{city},{(day * 7 + len(city)) % 30}\n" for day in range(1, 200) for city in ("Oslo", "Rome", "Lima")
)
SCRIPT = """
import matplotlib.pyplot as plt
import pandas as pd

frame = pd.read_csv("data.csv")
print(frame.groupby("city")["temp"].describe())
frame.pivot(index="day", columns="city", values="temp").plot()
plt.show()
frame.groupby("city").mean().to_csv("means.csv")
"""
IMPORTS = "import pandas, matplotlib.pyplot"


def submit_and_wait(client: httpx.Client, runtime: str) -> dict:
    body = {"script": SCRIPT, "runtime": runtime, "files": [{"name": "data.csv", "content": CSV}]}
    execution = client.post("/api/v1/executions?wait=true", json=body).json()
    if execution["status"] != "completed" or [f["name"] for f in execution["files"]] != ["figure-1.png", "means.csv"]:
        raise RuntimeError(f"the data script did not complete with its two files: {execution}")
    return execution


def data_script(server) -> dict:
    from django.conf import settings

    with httpx.Client(base_url=server.url, timeout=60) as client:
        runtime = next(r["name"] for r in client.get("/api/v1/runtimes").json()["runtimes"] if r["packages"])
        warm_until = time.monotonic() + WARM_UP_SECONDS
        while time.monotonic() < warm_until:  # warm-up: the runtime's template comes up meanwhile
            submit_and_wait(client, runtime)
        samples = [timed(lambda: submit_and_wait(client, runtime)) for _ in range(RUNS)]
    site = f"{settings.DATA_RUNTIME_DIR}/site-packages"
    environment = {"PYTHONPATH": site, "MPLBACKEND": "agg", "MPLCONFIGDIR": f"{settings.DATA_RUNTIME_DIR}/matplotlib"}
    python = os.path.realpath(sys._base_executable)
    bare = [timed(lambda: subprocess.run([python, "-c", IMPORTS], env=environment, check=True)) for _ in range(RUNS)]
    figures, baseline = summary_ms(samples), summary_ms(bare)
    return {
        "data_script_submit_to_completed": figures,
        "bare_data_imports": baseline,
        "data_script_ratio": round(figures["p50_ms"] / baseline["p50_ms"], 2),
    }
