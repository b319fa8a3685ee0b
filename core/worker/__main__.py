"""TODO docstring"""

from __future__ import annotations

import io
import json
import sys
import traceback

import numpy as np

from core.jobs.files import atomic_write_bytes
from core.jobs.train_config import Augmentation
from core.worker.model_building import augment_examples
from core.worker.model_description import inspect_model
from core.worker.training_loop import run_job


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``train RUN_DIR``, ``inspect-model FILE`` or ``augment IN OUT JSON``."""
    argv = sys.argv[1:] if argv is None else argv
    usage = (
        "usage: python -m core.worker (train RUN_DIR | inspect-model FILE.keras | "
        "augment IMAGE.npy OUT.npy JSON)"
    )
    if not argv or (argv[0], len(argv)) not in (("train", 2), ("inspect-model", 2), ("augment", 4)):
        print(usage, file=sys.stderr)
        return 2
    if argv[0] == "augment":
        _, source, target, request = argv
        options = json.loads(request)
        count, seed = int(options.pop("count")), int(options.pop("seed"))
        image = np.load(source, allow_pickle=False)
        examples = augment_examples(image, Augmentation(**options), count=count, seed=seed)
        buffer = io.BytesIO()
        np.save(buffer, examples)
        atomic_write_bytes(target, buffer.getvalue(), durable=False)
        return 0
    command, target = argv
    if command == "inspect-model":
        print(json.dumps(inspect_model(target)))
        return 0
    try:
        run_job(target)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
