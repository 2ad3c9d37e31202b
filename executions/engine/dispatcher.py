"""Claims queued executions and drives each through the configured runner.

One dispatcher per process: inside the web process in embedded mode, or in
``manage.py executor`` workers. Claims are conditional updates, so any number of
dispatchers can share one transitions. A heartbeat renews the leases of running executions,
persists their new output and notices cancellations; a dispatcher that dies stops
renewing, and ``executions_recover_expired`` (run by every dispatcher) requeues or fails
what it held.

A submission made in a process whose dispatcher has a free slot is handed straight to it
(:meth:`Dispatcher.offer`): one conditional update claims it by id, with no queue entry to
write and take back. When every slot is busy, a few more (as many as there are slots) wait
in the dispatcher's backlog for the next free one, in order. Everything else goes through
the queue collection. An offered execution stays ``queued`` in the store until it is
claimed, so a cancellation still reaches it, and if this process dies before claiming it,
any dispatcher's recovery sweep gives it a queue entry.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings

from executions import metrics
from executions.documents import Execution, Status
from executions.engine import events, transitions, waiting, wakeups
from executions.engine.output import ExecutionOutput
from executions.runners.base import (
    BaseRunner,
    ErrorType,
    FileCaps,
    Limits,
    RunFile,
    RunnerError,
    RunResult,
    RunSpec,
    Sandbox,
    Stream,
    get_runner,
)
from executions.runners.outcome import Flag

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 0.25
RECOVERY_SECONDS = 5.0
# Interactive runs: how often the host looks at their CPU time and passes typed input on (typed
# input in this process, or announced through Redis, is passed on at once), how often it reads
# the input back from the store anyway, and how much CPU a run may use between two looks and
# still be idle (the entry's own checks take a little): this much, or this share of the time
# between them (looks come late on a loaded machine).
INPUT_POLL_SECONDS = 0.05
INPUT_FETCH_SECONDS = 0.5
IDLE_CPU_NS = 2_000_000
IDLE_CPU_SHARE = 0.05  # gVisor's kernel alone takes up to 4% of a core while its program waits
WAITING_AFTER_SECONDS = 0.1  # idle this long, with everything typed passed on: waiting for input
# A session ends after INTERACTIVE_IDLE_SECONDS without input in which it used less CPU than this share.
SESSION_BUSY_SHARE = 0.1
IDLE_ENDED = (
    "No input came for {seconds:g} s and the program stood still meanwhile: the interactive "
    "session was ended (INTERACTIVE_IDLE_SECONDS)."
)
SANDBOX_CRASHED = "The sandbox failed unexpectedly: {error}"
OUTLIVED_GRACE = "shutting down: stopped %d execution(s) that outlived the grace period"


@dataclass
class Run:
    execution: Execution
    output: ExecutionOutput
    sandbox: Sandbox | None = None
    final: Execution | None = None  # as stored when it finished, for waiters in this process
    stop_message: str = ""
    stop_as: ErrorType = ErrorType.CANCELLED  # why, once stop_message is set
    requeued: bool = False  # put back in the queue (its sandbox failed for reasons of ours)
    lease_renewed_at: float = field(default_factory=time.monotonic)
    # Interactive runs only. A run holds one of the dispatcher's slots while it computes; one
    # that waits for input gives it back, and takes one again to be given its input.
    holds_slot: bool = True
    wants_slot: bool = False
    ended: bool = False  # its slot, if it holds one, was given back for good
    waiting: bool = False
    delivered: int = 0  # how many characters of what was typed were passed on
    input_pending: bool = False  # typed input waits for a slot to be passed on
    input_ended: bool = False
    paused: bool = False  # stopped: it computed without a slot, and none was free
    cpu_seen: int | None = None
    cpu_seen_at: float = 0.0
    idle_since: float | None = None
    input_at: float | None = None  # when its sandbox was first seen, or its latest input
    cpu_at_input: int | None = None
    fetched_at: float = 0.0


@dataclass(frozen=True)
class LiveRun:
    execution: Execution  # as claimed; not to be changed
    stdout: str
    stderr: str
    seq: int
    waiting_for_input: bool = False


class Dispatcher:
    def __init__(self, *, concurrency: int, runner: BaseRunner | None = None, worker: str | None = None):
        self.runner = runner or get_runner()
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        # Interactive runs waiting for input hold no slot, but still a thread.
        self._pool = ThreadPoolExecutor(concurrency + settings.INTERACTIVE_SESSIONS_MAX, thread_name_prefix="execution")
        self._runs: dict[str, Run] = {}
        self._runs_lock = threading.Lock()
        self._backlog: deque[str] = deque()  # offered ids waiting for a slot (under _runs_lock)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        metrics.dispatcher_workers.labels("busy").set_function(self.slots_held)
        metrics.dispatcher_workers.labels("idle").set_function(lambda: self.concurrency - self.slots_held())
        for flag in Flag.ALL:  # exported at 0, so that an alert on an increase sees the first one
            metrics.report_disagreements.labels(self.runner.name, flag)
        gate = self.runner.start_gate
        if gate is not None:
            metrics.sandboxes_starting.labels(self.runner.name).set_function(lambda: gate.reserved + gate.starting)
        for runtime in self.runner.runtimes():
            metrics.template_memory.labels(runtime).set_function(
                lambda runtime=runtime: self.runner.template_memory().get(runtime, 0)
            )

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self.runner.prepare()
        for target in (self._claim_loop, self._heartbeat_loop, self._interactive_loop):
            thread = threading.Thread(target=target, name=f"dispatcher-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if settings.REDIS_URL:
            threading.Thread(target=wakeups.listen_forever, args=(self._stopping,), daemon=True).start()
        log.info("dispatcher started", extra={"worker": self.worker, "concurrency": self.concurrency})

    def shutdown(self, *, grace: float) -> None:
        """Stop claiming; let running executions finish within ``grace`` seconds, then fail them."""
        self._stopping.set()
        wakeups.queued.set()
        # A claim in flight is registered as a run before the claim loop ends.
        self._threads[0].join(timeout=IDLE_POLL_SECONDS * 5)
        self._return_backlog()
        deadline = time.monotonic() + grace
        while self.busy() and time.monotonic() < deadline:
            time.sleep(0.05)
        outlived = self._snapshot()
        for run in outlived:
            self._stop_run(run, ErrorType.SYSTEM_ERROR, transitions.SHUTDOWN_MESSAGE)
        if outlived:
            ids = [run.execution.execution_id for run in outlived]
            log.warning(OUTLIVED_GRACE, len(ids), extra={"worker": self.worker, "execution_ids": ids})
        self._pool.shutdown(wait=True)
        for thread in self._threads:
            thread.join(timeout=5)
        self.runner.close()
        log.info("dispatcher stopped", extra={"worker": self.worker})

    def busy(self) -> int:
        with self._runs_lock:
            return len(self._runs)

    def slots_held(self) -> int:
        with self._runs_lock:
            return sum(run.holds_slot for run in self._runs.values())

    def pending(self, execution_ids: list[str]) -> set[str]:
        with self._runs_lock:
            return {i for i in execution_ids if i in self._runs or i in self._backlog}

    def live_run(self, execution_id: str) -> LiveRun | None:
        with self._runs_lock:
            run = self._runs.get(execution_id)
        return LiveRun(run.execution, *run.output.snapshot(), waiting_for_input=run.waiting) if run else None

    def request_stop(self, execution_id: str) -> bool:
        with self._runs_lock:
            run = self._runs.get(execution_id)
        if run:
            self._stop_run(run, ErrorType.CANCELLED, transitions.CANCELLED_MESSAGE)
        return run is not None

    # --- claiming ---------------------------------------------------------------------

    def offer(self, execution_id: str) -> bool:
        """Take an execution just submitted in this process, without the round trip through the
        queue collection: to a free slot, else to the backlog. False when both are full (or this
        dispatcher is stopping): the submitter queues it as usual."""
        with self._runs_lock:
            if self._stopping.is_set() or len(self._backlog) >= self.concurrency:
                return False
            self._backlog.append(execution_id)
        self._start_backlog()
        return True

    def _start_backlog(self) -> None:
        """Start offered executions while slots are free. Called after every offer and every
        release of a slot, so none waits while a slot is free."""
        while True:
            with self._runs_lock:
                if not self._backlog or not self._slots.acquire(blocking=False):
                    return
                execution_id = self._backlog.popleft()
            self._pool.submit(self._take_offered, execution_id)

    def _release_slot(self) -> None:
        """A slot is free: to an interactive run that has input to be given first, else to the
        backlog or the claim loop."""
        with self._runs_lock:
            wanting = next((run for run in self._runs.values() if run.wants_slot and not run.ended), None)
            if wanting is not None:
                wanting.wants_slot, wanting.holds_slot = False, True
        if wanting is not None:
            wakeups.mark_typed(wanting.execution.execution_id)  # its input goes in now
            return
        self._slots.release()
        self._start_backlog()

    def _return_backlog(self) -> None:
        with self._runs_lock:
            waiting, self._backlog = list(self._backlog), deque()
        for execution_id in waiting:
            self._enqueue_offered(execution_id)

    def _take_offered(self, execution_id: str) -> None:
        execution = None
        reserved = False
        while not (reserved or self._stopping.is_set()):
            reserved = self._reserve_start()
        if self._stopping.is_set():
            self._enqueue_offered(execution_id)
        else:
            try:
                execution = transitions.execution_claim_by_id(execution_id, worker=self.worker, runner=self.runner.name)
            except Exception:
                # Still queued, without a queue entry: the recovery sweep gives it one back.
                log.exception("claiming an offered execution failed", extra={"execution_id": execution_id})
        if execution is None:  # cancelled or deleted in the meantime, or queued after all
            if reserved:
                self._cancel_start()
            self._release_slot()
            return
        self._execute(self._register(execution))

    @staticmethod
    def _enqueue_offered(execution_id: str) -> None:
        try:
            transitions.execution_enqueue_queued(execution_id=execution_id)
        except Exception:
            log.exception("queueing an offered execution failed", extra={"execution_id": execution_id})

    def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            if not self._slots.acquire(timeout=IDLE_POLL_SECONDS):
                continue
            if not self._reserve_start():  # sandboxes start slower than asked for: claim nothing yet
                self._release_slot()
                continue
            execution = self._claim()
            if execution is None:
                self._cancel_start()
                self._release_slot()
                wakeups.queued.wait(IDLE_POLL_SECONDS)
                continue
            self._pool.submit(self._execute, self._register(execution))

    def _reserve_start(self) -> bool:
        gate = self.runner.start_gate
        return gate is None or gate.reserve(timeout=IDLE_POLL_SECONDS)

    def _cancel_start(self) -> None:
        if self.runner.start_gate is not None:
            self.runner.start_gate.cancel()

    def _claim(self) -> Execution | None:
        # Clear before claiming: a submission arriving after the claim finds nothing
        # sets the event again, so the wait above returns at once.
        wakeups.queued.clear()
        if self._stopping.is_set():
            return None
        try:
            return transitions.execution_claim(worker=self.worker, runner=self.runner.name)
        except Exception:
            log.exception("claiming an execution failed")
            self._stopping.wait(IDLE_POLL_SECONDS)
            return None

    # --- running ----------------------------------------------------------------------

    def _register(self, execution: Execution) -> Run:
        run = Run(execution=execution, output=ExecutionOutput(execution.execution_id))
        with self._runs_lock:
            self._runs[execution.execution_id] = run
        return run

    def _execute(self, run: Run) -> None:
        execution = run.execution
        events.status(execution.execution_id, status=execution.status)
        metrics.queue_wait.labels(execution.runtime).observe(
            (execution.started_at - execution.created_at).total_seconds()
        )
        try:
            self._run_sandbox(run)
        except Exception as exc:
            log.exception("execution crashed in the dispatcher", extra={"execution_id": execution.execution_id})
            transitions.execution_fail(
                execution_id=execution.execution_id,
                error_type=ErrorType.SYSTEM_ERROR,
                message=SANDBOX_CRASHED.format(error=exc),
                worker=self.worker,
            )
        finally:
            with self._runs_lock:
                self._runs.pop(execution.execution_id, None)
                run.ended, held = True, run.holds_slot
                run.holds_slot = run.wants_slot = False
            if held:
                self._release_slot()
            waiting.notify_finished(execution.execution_id, final=run.final)
            if not run.requeued:  # watchers of a requeued one were told to start afresh
                events.finished(execution.execution_id)

    def _run_sandbox(self, run: Run) -> None:
        execution = run.execution
        try:
            run.sandbox = self.runner.start(_spec(execution), run.output)
        except RunnerError as exc:
            run.requeued = self._start_failed(execution, exc)
            return
        if run.stop_message:  # stopped while starting (cancelled, or a shutdown)
            run.sandbox.stop(run.stop_as)
        result = run.sandbox.wait()
        if run.stop_message:
            result.message = run.stop_message
        elif result.infrastructure and self._infrastructure_failed(run, result):
            run.requeued = True
            return
        run.final = transitions.execution_finish(
            execution_id=execution.execution_id,
            worker=self.worker,
            result=result,
            stdout=run.output.text(Stream.STDOUT),
            stderr=run.output.text(Stream.STDERR),
            output_seq=run.output.seq,
        )
        if run.final is not None:
            self._record(execution, result)

    def _record(self, execution: Execution, result: RunResult) -> None:
        labels = (execution.runtime, self.runner.name)
        status = "completed" if result.succeeded else "failed"
        error_type = "" if result.succeeded else (result.error_type or ErrorType.RUNTIME_ERROR).value
        metrics.finished.labels(*labels, status, error_type).inc()
        if result.duration_ms is not None:
            metrics.run_duration.labels(*labels).observe(result.duration_ms / 1000)
        if result.cpu_ms is not None:
            metrics.cpu_seconds.labels(*labels).observe(result.cpu_ms / 1000)
        if result.peak_memory_kb is not None:
            metrics.peak_memory.labels(*labels).observe(result.peak_memory_kb * 1024)
        if result.extra.get("start_ms") is not None:
            metrics.sandbox_start.labels(self.runner.name).observe(result.extra["start_ms"] / 1000)
        for flag in result.flags:
            metrics.report_disagreements.labels(self.runner.name, flag).inc()
        if result.flags:
            log.warning(
                "the sandbox's report disagreed with the host",
                extra={"execution_id": execution.execution_id, "flags": result.flags},
            )

    def _start_failed(self, execution: Execution, error: RunnerError) -> bool:
        """True when the execution went back in the queue."""
        log.error("sandbox did not start: %s", error.message, extra={"execution_id": execution.execution_id})
        retry = not error.permanent and execution.attempts < settings.EXECUTION_MAX_ATTEMPTS
        if retry and transitions.execution_release(execution_id=execution.execution_id, worker=self.worker):
            events.status(execution.execution_id, status=Status.QUEUED, requeued=error.message)
            wakeups.notify_queued()
            return True
        if transitions.execution_fail(
            execution_id=execution.execution_id,
            error_type=ErrorType.SYSTEM_ERROR,
            message=error.message,
            worker=self.worker,
        ):
            metrics.finished.labels(execution.runtime, self.runner.name, "failed", ErrorType.SYSTEM_ERROR.value).inc()
        return False

    def _infrastructure_failed(self, run: Run, result: RunResult) -> bool:
        """A run that failed for reasons of ours: True when it went back in the queue (its
        output so far is dropped, and watchers are told to start afresh); False when it is to
        be finished as it is (a system_error saying what happened), as its attempts ran out."""
        execution = run.execution
        extra = {"execution_id": execution.execution_id, "kind": result.infrastructure}
        retry = result.retryable and execution.attempts < settings.EXECUTION_MAX_ATTEMPTS
        if retry and transitions.execution_release(execution_id=execution.execution_id, worker=self.worker):
            log.warning("run failed for reasons of the infrastructure; requeued: %s", result.message, extra=extra)
            metrics.infrastructure_failures.labels(self.runner.name, result.infrastructure, "requeued").inc()
            events.status(execution.execution_id, status=Status.QUEUED, requeued=result.message)
            wakeups.notify_queued()
            return True
        log.error("run failed for reasons of the infrastructure: %s", result.message, extra=extra)
        metrics.infrastructure_failures.labels(self.runner.name, result.infrastructure, "failed").inc()
        return False

    def _stop_run(self, run: Run, error_type: ErrorType, message: str) -> None:
        if not run.stop_message:
            run.stop_as = error_type
            run.stop_message = message  # after stop_as: a starting run reads them in this order
            if run.sandbox is not None:
                run.sandbox.stop(error_type)

    # --- heartbeat --------------------------------------------------------------------

    def _snapshot(self) -> list[Run]:
        with self._runs_lock:
            return list(self._runs.values())

    def _heartbeat_loop(self) -> None:
        last_recovery = 0.0
        while not self._stopping.wait(HEARTBEAT_SECONDS) or self.busy():
            for run in self._snapshot():
                self._heartbeat(run)
            metrics.dispatcher_heartbeat.set_to_current_time()
            if time.monotonic() - last_recovery >= RECOVERY_SECONDS and not self._stopping.is_set():
                last_recovery = time.monotonic()
                self._recover()

    def _heartbeat(self, run: Run) -> None:
        due = time.monotonic() - run.lease_renewed_at >= min(1.0, settings.EXECUTION_LEASE_SECONDS / 3)
        if not (due or run.output.has_unpersisted()):
            return
        output = run.output.take_unpersisted()
        try:
            stop = transitions.execution_renew_lease(
                execution_id=run.execution.execution_id, worker=self.worker, output=output
            )
        except Exception:
            log.exception("renewing a lease failed", extra={"execution_id": run.execution.execution_id})
            return
        run.lease_renewed_at = time.monotonic()
        if output.stdout or output.stderr:
            events.persisted(run.execution.execution_id, seq=output.seq)
        if stop:
            self._stop_run(run, ErrorType.CANCELLED, transitions.CANCELLED_MESSAGE)

    # --- interactive runs ---------------------------------------------------------------

    def _interactive_loop(self) -> None:
        """Looks after interactive runs: passes typed input on (taking a slot for it), tells a
        run that waits for input from one that computes by the CPU time the host measures
        (giving back the slot of one that waits), and ends sessions idle for too long."""
        while not self._stopping.is_set() or self.busy():
            runs = [run for run in self._snapshot() if run.execution.interactive and run.sandbox is not None]
            wakeups.typed.wait(INPUT_POLL_SECONDS if runs else IDLE_POLL_SECONDS)
            typed = wakeups.take_typed()
            for run in runs:
                try:
                    self._look_after(run, fetch=run.execution.execution_id in typed)
                except Exception:
                    log.exception(
                        "looking after an interactive run failed", extra={"execution_id": run.execution.execution_id}
                    )

    def _look_after(self, run: Run, *, fetch: bool) -> None:
        now = time.monotonic()
        if run.input_at is None:
            run.input_at = now
        if run.paused:
            if not run.holds_slot:
                return  # it computed without a slot: stopped until one is free (_release_slot)
            run.sandbox.resume()
            run.paused, run.cpu_seen = False, None
            run.input_at, run.cpu_at_input = now, None  # the time it stood still was the server's
        if not run.input_ended and (fetch or now - run.fetched_at >= INPUT_FETCH_SECONDS):
            self._pass_input_on(run, now)
        cpu = run.sandbox.cpu_ns()
        if run.cpu_at_input is None:
            run.cpu_at_input = cpu
        allowed = max(IDLE_CPU_NS, IDLE_CPU_SHARE * (now - run.cpu_seen_at) * 1e9)
        busy = run.cpu_seen is None or cpu - run.cpu_seen > allowed
        run.cpu_seen, run.cpu_seen_at = cpu, now
        if busy:
            run.idle_since = None
            self._set_waiting(run, False)
            # Computing with no input given (a timer, say): only with a slot, so that interactive
            # runs never compute beyond the dispatcher's concurrency.
            if not self._take_slot(run) and run.sandbox.pause():
                run.paused = True
        elif run.input_pending:
            run.idle_since = None  # its input waits for a slot: not the person's wait
        elif self._idle_too_long(run, cpu, now):
            seconds = settings.INTERACTIVE_IDLE_SECONDS
            self._stop_run(run, ErrorType.TIMEOUT, IDLE_ENDED.format(seconds=seconds))
        elif run.idle_since is None:
            run.idle_since = now
        elif now - run.idle_since >= WAITING_AFTER_SECONDS:
            self._set_waiting(run, not run.input_ended)  # after end of file it cannot wait for input
            self._give_slot_back(run)

    @staticmethod
    def _idle_too_long(run: Run, cpu: int, now: float) -> bool:
        """No input for INTERACTIVE_IDLE_SECONDS while the program mostly stood still: one that
        computes meanwhile is busy, not idle, and one that wakes now and then is still idle.
        After end of file the wall cap alone applies, as to any run."""
        quiet = now - run.input_at
        used = cpu - (run.cpu_at_input or 0)
        return (
            not run.input_ended
            and quiet >= settings.INTERACTIVE_IDLE_SECONDS
            and used < SESSION_BUSY_SHARE * quiet * 1e9
        )

    def _pass_input_on(self, run: Run, now: float) -> None:
        run.fetched_at = now
        typed, closed = transitions.execution_input(execution_id=run.execution.execution_id)
        new = typed[run.delivered :]
        if not new and not closed:
            return
        run.input_at, run.cpu_at_input = now, None
        run.input_pending = not self._take_slot(run)
        if run.input_pending:
            return  # given when a slot is free (_release_slot wakes this loop)
        if new:
            run.sandbox.feed(new.encode("utf-8", "surrogatepass"))
            run.delivered = len(typed)
        if closed:
            run.sandbox.end_input()
            run.input_ended = True
        run.idle_since = None
        self._set_waiting(run, False)

    def _take_slot(self, run: Run) -> bool:
        with self._runs_lock:
            if run.holds_slot or run.ended:
                return run.holds_slot
            if self._slots.acquire(blocking=False):
                run.holds_slot, run.wants_slot = True, False
            else:
                run.wants_slot = True
            return run.holds_slot

    def _give_slot_back(self, run: Run) -> None:
        with self._runs_lock:
            held = run.holds_slot and not run.ended
            run.holds_slot = run.wants_slot = False
        if held:
            self._release_slot()

    def _set_waiting(self, run: Run, waiting: bool) -> None:
        if run.waiting == waiting:
            return
        run.waiting = waiting
        execution_id = run.execution.execution_id
        # Stored first: a watcher that joins after the event reads it back.
        transitions.execution_set_waiting(execution_id=execution_id, worker=self.worker, waiting=waiting)
        events.status(execution_id, status=Status.RUNNING, waiting_for_input=waiting)

    def _recover(self) -> None:
        try:
            counts = transitions.executions_recover_expired()
        except Exception:
            log.exception("recovering expired leases failed")
            return
        if any(counts.values()):
            log.warning("recovered executions with expired leases: %s", counts)


def _spec(execution: Execution) -> RunSpec:
    return RunSpec(
        execution_id=execution.execution_id,
        script=execution.script,
        stdin=execution.stdin or "",
        runtime=execution.runtime,
        limits=Limits(**execution.limits),
        files=tuple(RunFile(file.name, file.data) for file in execution.input_files),
        file_caps=FileCaps(**(execution.file_caps or settings.OUTPUT_FILE_CAPS)),
        interactive=execution.interactive,
        compile_limits=Limits(**settings.COMPILE_LIMITS),
    )


# --- the process's dispatcher --------------------------------------------------------------

_dispatcher: Dispatcher | None = None


def start(*, concurrency: int | None = None) -> Dispatcher:
    global _dispatcher
    if _dispatcher is None:
        _dispatcher = Dispatcher(concurrency=concurrency or settings.EXECUTOR_CONCURRENCY)
        _dispatcher.start()
        waiting.dispatcher_here(True)
    return _dispatcher


def stop(*, grace: float | None = None) -> None:
    global _dispatcher
    if _dispatcher is not None:
        waiting.dispatcher_here(False)
        _dispatcher.shutdown(grace=settings.EXECUTOR_GRACE_SECONDS if grace is None else grace)
        _dispatcher = None


def offer(execution_id: str) -> bool:
    """Hand a just-submitted execution to this process's dispatcher if it has a free slot."""
    return _dispatcher is not None and _dispatcher.offer(execution_id)


def live_run(execution_id: str) -> LiveRun | None:
    """The execution as this process's dispatcher claimed it and the output its run has written
    so far, stored or not; None when no run of this process has it."""
    return _dispatcher.live_run(execution_id) if _dispatcher is not None else None


def pending_here(execution_ids: list[str]) -> set[str]:
    """Those of the executions that this process's dispatcher holds, in its backlog or running:
    none of them has finished (or only this instant, and it is reported finished next time)."""
    return _dispatcher.pending(execution_ids) if _dispatcher is not None else set()


def running_here() -> bool:
    return _dispatcher is not None


def request_stop(execution_id: str) -> bool:
    """Stop a run of this process at once; runs of other processes notice at their heartbeat."""
    return _dispatcher is not None and _dispatcher.request_stop(execution_id)
