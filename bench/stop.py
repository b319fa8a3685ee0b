"""How fast a Stop acts: MNIST CNN A training, stopped mid-epoch and while validating.

For each case a real training worker is started (as the Train page starts it), stopped by
`TrainingJob.stop`, and timed: until the worker has acted (its own status.json says
"stopping" for the user's reason) and until the run has ended (model saved and evaluated).
The issue's target: the stop acts within one batch, at most 1 s.

    .venv/bin/python bench/stop.py            # 3 stops of each kind
    .venv/bin/python bench/stop.py --runs 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.jobs.files import read_json
from core.jobs.runs import STATUS_FILE
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import TrainingJob


def raw_status(job: TrainingJob) -> dict:
    return read_json(job.run_dir / STATUS_FILE, default={}) or {}


def wait(predicate, job: TrainingJob, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the run did not get there in time")
        job.heartbeat()
        time.sleep(0.01)


def one_stop(when: str, runs_root: Path) -> tuple[float, float]:
    """Seconds from Stop until the worker acted, and until the run ended."""
    job = TrainingJob.start(
        "mnist_cnn_a", "mnist", TrainConfig(epochs=3, batch_size=64), runs_root_dir=runs_root
    )
    if when == "mid-epoch":
        wait(lambda: raw_status(job).get("batch", 0) >= 100, job)
    else:
        wait(lambda: str(raw_status(job).get("message", "")).startswith("Validating"), job)
        time.sleep(0.2)
    job.stop()
    asked = time.monotonic()
    wait(lambda: raw_status(job).get("reason") == "user", job, timeout=60)
    acted = time.monotonic() - asked
    wait(lambda: not job.poll().is_live, job)
    return acted, time.monotonic() - asked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="stops of each kind")
    arguments = parser.parse_args()
    runs_root = Path(tempfile.mkdtemp(prefix="convscope-bench-stop-"))
    print(f"MNIST CNN A, batch 64, {arguments.runs} stop(s) of each kind")
    for when in ("mid-epoch", "while validating"):
        results = [one_stop(when, runs_root) for _ in range(arguments.runs)]
        acted = [a for a, _ in results]
        ended = [e for _, e in results]
        print(
            f"  {when:<17} stop acted after {statistics.median(acted):.2f} s median "
            f"(max {max(acted):.2f} s, target <= 1 s); run ended after "
            f"{statistics.median(ended):.1f} s median (saving + evaluating)"
        )


if __name__ == "__main__":
    main()
