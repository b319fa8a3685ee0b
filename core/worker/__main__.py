"""The one entry point of every worker process: ``python -m core.worker <task>``.

Tasks:
- ``train RUN_DIR``: train, save and evaluate the run described in ``RUN_DIR/config.json``,
  recording everything in that folder (`core.worker.training_loop.run_job`). SIGTERM asks
  for a graceful stop, as the page's Stop button does.
- ``serve``: answer requests from `core.jobs.worker_client.WorkerClient` on stdin/stdout
  until the client goes away (`core.worker.service`): inspection, upload checks and
  augmentation previews, all in one warm process.

Workers are started by `core.jobs.runner`, never by hand (except to debug one).
"""

from __future__ import annotations

import signal
import sys
import traceback

USAGE = "usage: python -m core.worker (train RUN_DIR | serve)"


def main(argv: list[str] | None = None) -> int:
    """Run the task named on the command line; 2 for a usage error.

    >>> main(["nonsense"])
    2
    """
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "train":
        return _train(argv[1])
    if argv == ["serve"]:
        from core.worker.service import main as serve

        return serve()
    print(USAGE, file=sys.stderr)
    return 2


def _train(run_dir: str) -> int:
    from core.worker.training_loop import request_stop, run_job

    signal.signal(signal.SIGTERM, lambda signum, frame: request_stop("terminated"))
    try:
        run_job(run_dir)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
