"""How many training jobs may run at once, how many do, and when a waiting one starts.

The server runs at most ``$CONVSCOPE_MAX_JOBS`` workers (default 2); a job past that
cap waits in the training queue (`core.jobs.job_queue`). A run counts against the cap
from the moment its worker is being started until it ends (`RunStatus.holds_slot`);
a waiting run does not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.base.checks import check_int, check_real, received
from core.jobs.job_queue import JobQueue, estimate_start_seconds
from core.jobs.runs import RunInfo, list_runs, mark_failed_if_live, read_status, runs_root
from core.jobs.stores import open_job_queue

MAX_JOBS_ENV = "CONVSCOPE_MAX_JOBS"


IDLE_STOP_ENV = "CONVSCOPE_IDLE_STOP_SECONDS"


DEFAULT_MAX_JOBS = 2


DEFAULT_IDLE_STOP_SECONDS = 600.0


def max_jobs() -> int:
    """The server-wide cap on simultaneous jobs (``$CONVSCOPE_MAX_JOBS``, default 2).

    Raises:
        ValueError: the variable is set to something other than an integer >= 1.
    """
    text = os.environ.get(MAX_JOBS_ENV)
    if not text:
        return DEFAULT_MAX_JOBS
    number = _parse_setting(MAX_JOBS_ENV, text, int, "an integer")
    return check_int(number, MAX_JOBS_ENV, minimum=1)


def idle_stop_seconds() -> float:
    """Seconds without a poll before a job stops itself (``$CONVSCOPE_IDLE_STOP_SECONDS``).

    Raises:
        ValueError: the variable is set to something other than a finite number > 0.
    """
    text = os.environ.get(IDLE_STOP_ENV)
    if not text:
        return DEFAULT_IDLE_STOP_SECONDS
    seconds = _parse_setting(IDLE_STOP_ENV, text, float, "a number of seconds")
    return check_real(seconds, IDLE_STOP_ENV, minimum=0.0, open_min=True)


def _parse_setting(name: str, text: str, parse, expected: str):
    """An environment variable's text as a number: ``parse(text)``, or a ValueError naming it.

    >>> _parse_setting("CONVSCOPE_MAX_JOBS", "two", int, "an integer")
    Traceback (most recent call last):
    ValueError: `CONVSCOPE_MAX_JOBS` must be an integer. Received: CONVSCOPE_MAX_JOBS='two'.
    """
    try:
        return parse(text)
    except ValueError:
        raise ValueError(f"`{name}` must be {expected}. {received(name, text)}") from None


def running_runs(runs_root_dir: str | os.PathLike | None = None) -> list[RunInfo]:
    """The runs under the runs folder whose worker holds a slot (starting or at work)."""
    return [run for run in list_runs(runs_root_dir) if run.status.holds_slot]


def count_live_jobs(runs_root_dir: str | os.PathLike | None = None) -> int:
    """Return how many runs under the runs folder have a live worker (waiting ones excluded)."""
    return len(running_runs(runs_root_dir))


@dataclass(frozen=True)
class QueuePlace:
    """Where a waiting run stands in the training queue.

    Attributes:
        position: 1-based place (1: starts next).
        waiting: How many jobs wait in all.
        running: How many jobs run now; ``cap`` the most that may.
        start_seconds: Roughly how long until it starts, or None while unknown
            (a running job has no ETA yet).
    """

    position: int
    waiting: int
    running: int
    cap: int
    start_seconds: float | None


def queue_place(
    run_id: str,
    *,
    runs_root_dir: str | os.PathLike | None = None,
    queue: JobQueue | None = None,
    job_cap: int | None = None,
) -> QueuePlace | None:
    """``run_id``'s place in the queue and a start estimate; None once it has left the queue.

    The estimate takes each running job's ETA, and guesses that every job ahead in the
    queue takes as long as the running jobs do on average (elapsed + ETA); see
    `core.jobs.job_queue.estimate_start_seconds`.
    """
    root = runs_root(runs_root_dir)
    queue = open_job_queue(root) if queue is None else queue
    entries = queue.list()
    ids = [entry.run_id for entry in entries]
    if run_id not in ids:
        return None
    cap = max_jobs() if job_cap is None else check_int(job_cap, "job_cap", minimum=1)
    running = running_runs(root)
    remaining = [run.status.eta_seconds for run in running]
    lengths = [
        run.status.elapsed_seconds + run.status.eta_seconds
        for run in running
        if run.status.eta_seconds is not None
    ]
    typical = sum(lengths) / len(lengths) if lengths else None
    position = ids.index(run_id) + 1
    # Slots held beyond the cap (the cap was lowered) free before this job's turn too.
    start = estimate_start_seconds(
        sorted(remaining, key=lambda eta: (eta is None, eta))[-cap:]
        if len(remaining) > cap
        else remaining,
        [typical] * (position - 1),
        cap,
    )
    return QueuePlace(position, len(entries), len(running), cap, start)


LOST_PLACE = (
    "This job lost its place in the training queue (the queue's file was deleted or moved), "
    "so it will not start by itself: start it again."
)


def settle_lost_place(run_dir: str | os.PathLike, *, queue: JobQueue | None = None) -> bool:
    """Mark a run that still says 'waiting' but is in no queue as failed; True when it did.

    A promoter removes an entry and writes the run's new status before it lets go of the
    queue's lock, so a run read as waiting *after* its entry was found gone has truly lost
    its place (the queue's file deleted by hand), and would otherwise wait for ever.
    """
    run_dir = Path(run_dir)
    queue = open_job_queue(run_dir.parent) if queue is None else queue
    if not read_status(run_dir).is_waiting or queue.position(run_dir.name) is not None:
        return False
    if not read_status(run_dir).is_waiting:
        return False  # started between the two reads
    return mark_failed_if_live(run_dir, LOST_PLACE)
