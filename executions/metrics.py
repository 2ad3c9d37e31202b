"""The platform's own Prometheus metrics. Every process that runs a dispatcher or serves
watchers records into these; ``/metrics`` (web) and ``executor --metrics-port`` export them."""

from prometheus_client import Counter, Gauge, Histogram

PREFIX = "integr8scode"
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
START_BUCKETS = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12)
MEMORY_BUCKETS = tuple(2**n * 1024 * 1024 for n in range(12))  # 1 MiB .. 2 GiB

submitted = Counter(f"{PREFIX}_executions_submitted", "Executions accepted into the queue.", ["runtime"])
finished = Counter(
    f"{PREFIX}_executions_finished",
    "Executions that reached a final status.",
    ["runtime", "runner", "status", "error_type"],
)
queue_wait = Histogram(
    f"{PREFIX}_queue_wait_seconds", "Time from submission to claim.", ["runtime"], buckets=DURATION_BUCKETS
)
run_duration = Histogram(
    f"{PREFIX}_run_duration_seconds",
    "Wall-clock time of a run in its sandbox.",
    ["runtime", "runner"],
    buckets=DURATION_BUCKETS,
)
cpu_seconds = Histogram(
    f"{PREFIX}_run_cpu_seconds", "CPU time used by a run.", ["runtime", "runner"], buckets=DURATION_BUCKETS
)
peak_memory = Histogram(
    f"{PREFIX}_run_peak_memory_bytes", "Peak memory of a run.", ["runtime", "runner"], buckets=MEMORY_BUCKETS
)
sandbox_start = Histogram(
    f"{PREFIX}_sandbox_start_seconds",
    "Time from asking the runner to start a sandbox until the sandbox reports it is ready.",
    ["runner"],
    buckets=START_BUCKETS,
)
report_disagreements = Counter(
    f"{PREFIX}_sandbox_report_disagreements",
    "Runs whose sandbox reported a figure the host measured otherwise (the host's was kept).",
    ["runner", "flag"],
)
output_bytes = Counter(f"{PREFIX}_output_bytes", "Bytes of output written by scripts.", ["stream"])
websocket_connections = Gauge(f"{PREFIX}_websocket_connections", "Open WebSocket watchers.")
rate_limit_refusals = Counter(
    f"{PREFIX}_rate_limit_refusals", "Requests refused by a quota or rate limit.", ["scope", "limit"]
)
dispatcher_workers = Gauge(f"{PREFIX}_dispatcher_workers", "Dispatcher execution slots in this process.", ["state"])
dispatcher_heartbeat = Gauge(
    f"{PREFIX}_dispatcher_heartbeat_timestamp_seconds", "When this process's dispatcher last completed a heartbeat."
)
template_memory = Gauge(
    f"{PREFIX}_sandbox_template_memory_bytes",
    "Memory a runtime's warm template uses (the local runner's bubblewrap level forks runs from it).",
    ["runtime"],
)
sandboxes_starting = Gauge(
    f"{PREFIX}_sandboxes_starting",
    "Sandboxes asked for and not running yet (pods created or about to be, not yet Running).",
    ["runner"],
)
infrastructure_failures = Counter(
    f"{PREFIX}_infrastructure_failures",
    "Runs that failed for reasons of ours, not the script's (pod not started, node lost, preempted, "
    "evicted, ...), whether they were requeued or failed.",
    ["runner", "kind", "outcome"],
)
pool_pods = Gauge(
    f"{PREFIX}_sandbox_pool_pods",
    "Idle pods of the Kubernetes warm pool, ready (running, waiting for a run) or starting.",
    ["runtime", "memory_mb", "state"],
)
pool_claims = Counter(
    f"{PREFIX}_sandbox_pool_claims",
    "Runs that looked for an idle pod of their tier: hit (took one) or miss (took a cold pod).",
    ["runtime", "outcome"],
)
pool_claim_seconds = Histogram(
    f"{PREFIX}_sandbox_pool_claim_seconds",
    "Time to claim an idle pod (the resourceVersion-guarded patch, and the retries it took).",
    ["runtime"],
    buckets=START_BUCKETS,
)
pool_refill_seconds = Histogram(
    f"{PREFIX}_sandbox_pool_refill_seconds",
    "Time from creating an idle pod until the pool saw it running.",
    ["runtime"],
    buckets=DURATION_BUCKETS,
)
lease_expiries = Counter(f"{PREFIX}_lease_expiries", "Running executions whose worker stopped renewing.", ["outcome"])


# Series that alerts use with increase() exist from the start, so "none yet" reads as 0.
for _outcome in ("requeued", "failed"):
    lease_expiries.labels(_outcome)
for _scope in ("anonymous", "user"):
    for _limit in ("submissions", "concurrency", "cpu"):
        rate_limit_refusals.labels(_scope, _limit)
