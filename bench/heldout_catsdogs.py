"""The held-out goal: the best preset, trained from the 1,000 + 1,000 cats and dogs through the
real command line within 2 cores × 5 minutes, on photos it has never seen.

Run from the repository root::

    .venv/bin/python bench/heldout_catsdogs.py

It runs ``nice -n 10 python -m core.worker.cli`` on ``../shared/data/cats_vs_dogs/train``
exactly as a user would (the command is printed), and prints, without asserting:

- the accuracy on the held-out photos: the 20% the command line keeps apart as test images
  (never trained on, and not the validation images that pick the best epoch), checked here
  to share no photo with the training or validation images, and recomputed here from the
  saved model, apart from the worker's own figure;
- the figures the command line and the Train page show: its test accuracy (that held-out
  accuracy) and the last and best validation accuracy;
- the training process' CPU seconds (the budget is 2 cores × 5 min = 600 CPU-s), its wall
  time and the load average: on a shared machine the wall clock says little, the CPU time
  is what the budget means. Should the process pass ``--cpu-budget``, the bench stops it the
  way the page's Stop does (it then saves and evaluates what it has).

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np

from core.jobs import runs
from core.jobs.files import read_json
from core.jobs.training_job import TrainingJob

DATA = ROOT.parent / "shared" / "data" / "cats_vs_dogs" / "train"
CPU_BUDGET_SECONDS = 600.0  # 2 cores × 5 minutes
# CPU seconds left for saving and evaluating when the bench has to stop a run.
STOP_RESERVE_SECONDS = 20.0
# What the training settings are for the goal: the preset with the Train page's options.
DEFAULT_ARGUMENTS = (
    "--model",
    "photo_cnn",
    "--target-size",
    "64",
    "--color-mode",
    "rgb",
    "--epochs",
    "45",
    "--batch-size",
    "32",
    "--learning-rate",
    "0.003",
    "--learning-rate-schedule",
    "cosine",
    "--augment-flip",
    "horizontal",
    "--augment-rotation",
    "0.05",
    "--augment-zoom",
    "0.1",
    "--validation-fraction",
    "0.1",
)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process and all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_training(command: list[str], cpu_budget: float, runs_dir: Path) -> dict:
    """Run the command line; stop it through its run folder should it pass ``cpu_budget``."""
    load_samples = [os.getloadavg()[0]]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read_lines() -> None:
        for line in process.stdout:
            lines.append(line)
            print("  | " + line.rstrip(), flush=True)

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()
    stopped_at = None
    while True:
        # wait4 reaps the process and gives its own CPU time (all its threads).
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(2.0)
        load_samples.append(os.getloadavg()[0])
        try:
            cpu = process_cpu_seconds(process.pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        if stopped_at is None and cpu > cpu_budget - STOP_RESERVE_SECONDS:
            for run_dir in runs_dir.iterdir():
                if (run_dir / runs.CONFIG_FILE).is_file():
                    TrainingJob(run_dir).stop()  # the page's Stop: save and evaluate
                    stopped_at = cpu
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    reader.join(timeout=10)
    return {
        "exit_status": process.returncode,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "wall_seconds": round(wall, 1),
        "load_average_mean": round(float(np.mean(load_samples)), 1),
        "load_average_max": round(float(np.max(load_samples)), 1),
        "stopped_at_cpu_seconds": stopped_at,
        "summary": json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None,
    }


def image_hashes(images: np.ndarray) -> set[str]:
    return {hashlib.sha1(image.tobytes()).hexdigest() for image in images}


def check_split(run_dir: Path) -> dict:
    """The held-out photos, and whether any of them is also a training or validation photo."""
    config = read_json(run_dir / runs.CONFIG_FILE)
    with np.load(config["dataset"]["npz_path"], allow_pickle=False) as arrays:
        x_train, x_test = arrays["x_train"], arrays["x_test"]
        y_test = arrays["y_test"]
    shared = image_hashes(x_test) & image_hashes(x_train)
    return {
        "held_out_images": int(len(y_test)),
        "held_out_per_class": np.bincount(y_test).tolist(),
        "training_and_validation_images": int(len(x_train)),
        "held_out_also_in_training_or_validation": len(shared),
        "config": config,
        "x_test": x_test,
        "y_test": y_test,
    }


def recheck_accuracy(run_dir: Path, config: dict, x_test, y_test) -> float:
    """The saved model's accuracy on the held-out photos, computed here apart from the worker."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from core.data.preprocessing import Preprocessing, preprocess

    model = keras.saving.load_model(str(run_dir / runs.MODEL_FILE), compile=False)
    images = np.asarray(preprocess(x_test, Preprocessing(**config["preprocessing"])), np.float32)
    predicted = model.predict(images, batch_size=256, verbose=0).argmax(axis=1)
    return float(np.mean(predicted == y_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DATA), help="a folder of class folders")
    parser.add_argument("--cpu-budget", type=float, default=CPU_BUDGET_SECONDS)
    parser.add_argument("--nice", type=int, default=10)
    parser.add_argument("--no-recheck", action="store_true", help="skip the recomputation")
    arguments, extra = parser.parse_known_args()
    training_arguments = list(DEFAULT_ARGUMENTS)
    for option in extra:  # e.g. --epochs 30 replaces the default's value
        if option.startswith("--") and option in training_arguments:
            index = training_arguments.index(option)
            del training_arguments[index : index + 2]
    training_arguments += extra
    folder = tempfile.mkdtemp(prefix="heldout-")  # kept: the run, its model and evaluation
    runs_dir = Path(folder) / "runs"
    runs_dir.mkdir()
    command = [
        "nice",
        "-n",
        str(arguments.nice),
        sys.executable,
        "-m",
        "core.worker.cli",
        "--dataset",
        arguments.data,
        *training_arguments,
        "--runs-dir",
        str(runs_dir),
        "--models-dir",
        str(Path(folder) / "models"),
    ]
    print("command: " + " ".join(command[3:]).replace(sys.executable, "python"), flush=True)
    result = run_training(command, arguments.cpu_budget, runs_dir)
    [run_dir] = [path for path in runs_dir.iterdir() if path.is_dir() and path.name != "datasets"]
    split = check_split(run_dir)
    config, x_test, y_test = split.pop("config"), split.pop("x_test"), split.pop("y_test")
    epochs = runs.read_progress(run_dir).epochs
    validation = [e["val_accuracy"] for e in epochs if "val_accuracy" in e]
    summary = result.pop("summary") or {}
    figures = {
        **result,
        **split,
        "epochs_completed": len(epochs),
        "cli_test_accuracy": summary.get("test_accuracy"),
        "last_validation_accuracy": validation[-1] if validation else None,
        "best_validation_accuracy": max(validation) if validation else None,
        "validation_fraction": config["train_config"]["validation_fraction"],
        "params": summary.get("params"),
        "warnings": summary.get("warnings"),
    }
    if not arguments.no_recheck and (run_dir / runs.MODEL_FILE).is_file():
        figures["recomputed_held_out_accuracy"] = recheck_accuracy(run_dir, config, x_test, y_test)
    print(
        f"held-out accuracy {figures['cli_test_accuracy']} on {figures['held_out_images']} "
        f"photos never trained on ({figures['held_out_also_in_training_or_validation']} "
        f"shared with training/validation); recomputed "
        f"{figures.get('recomputed_held_out_accuracy')}; validation accuracy last "
        f"{figures['last_validation_accuracy']}, best {figures['best_validation_accuracy']}; "
        f"{figures['cpu_seconds']} CPU-s of {arguments.cpu_budget:.0f}, "
        f"{figures['wall_seconds']} s wall, load average {figures['load_average_mean']} "
        f"(max {figures['load_average_max']})",
        flush=True,
    )
    print(f"run folder (kept): {run_dir}", flush=True)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
