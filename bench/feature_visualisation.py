"""How long feature visualisation takes (issue 13: at most 10 s for a small CNN on 2 cores).

For the bundled MNIST CNN and the app's CIFAR-10 preset (32×32×3, built with random weights:
the time does not depend on what the weights learned), asks a warm worker for the input that
excites one channel of each map layer, through `core.jobs.worker_client.WorkerClient` (the
pipe and pickling count): the first request of a layer (which compiles its gradient step)
and a second one for another channel (compiled already), with the steps it took. The load
average is printed beside them: on the shared machine it says how busy the cores were.

Run: ``python bench/feature_visualisation.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.base.paths import BUNDLED_MODELS_DIR  # noqa: E402
from core.jobs.inspection import FEATURE_TIME_BUDGET  # noqa: E402
from core.jobs.worker_client import WorkerClient  # noqa: E402
from core.worker.feature_visualisation import STEPS  # noqa: E402

TARGET_SECONDS = 10.0

_BUILD_CIFAR = r"""
import sys
import keras
from core.nets.presets import preset
from core.worker.model_building import build_model
keras.utils.set_random_seed(0)  # the same weights in every run
build_model(preset("cifar10_cnn")).save(sys.argv[1])
"""


def cifar_model(folder: Path) -> Path:
    """The app's CIFAR-10 preset, untrained, saved as a `.keras` file (in a subprocess)."""
    path = folder / "cifar10_cnn.keras"
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(
        [sys.executable, "-c", _BUILD_CIFAR, str(path)], check=True, cwd=ROOT, env=environment
    )
    return path


def measure(client: WorkerClient, path: Path, name: str) -> list[float]:
    info = client.model_info(path)
    print(f"\n{name}: input {info.input_shape}, {info.total_params:,} parameters")
    print(
        f"  {'layer':<18}{'first (s)':>10}{'again (s)':>10}{'steps':>9}"
        f"{'mean on noise → result (first, again)':>42}"
    )
    worst = []
    for layer in info.map_layers:
        channels = layer.output_shape[-1]
        start = time.perf_counter()
        first = client.feature_visualisation(path, layer.name, 0)
        first_seconds = time.perf_counter() - start
        start = time.perf_counter()
        again = client.feature_visualisation(path, layer.name, channels - 1)
        again_seconds = time.perf_counter() - start
        print(
            f"  {layer.name:<18}{first_seconds:>10.2f}{again_seconds:>10.2f}"
            f"{first.steps:>5}/{STEPS}   {first.start_activation:8.3f} → {first.activation:<8.3f}"
            f"{again.start_activation:8.3f} → {again.activation:.3f}"
        )
        worst.append(max(first_seconds, again_seconds))
    return worst


def main() -> int:
    load = os.getloadavg()
    print(
        f"Load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"Time budget in the worker: {FEATURE_TIME_BUDGET:.0f} s; target: {TARGET_SECONDS:.0f} s")
    client = WorkerClient()
    try:
        start = time.perf_counter()
        client.ping()
        print(f"Worker start-up: {time.perf_counter() - start:.1f} s")
        with tempfile.TemporaryDirectory() as folder:
            models = {
                "MNIST CNN (bundled)": BUNDLED_MODELS_DIR / "mnist_cnn_a.keras",
                "CIFAR-10 CNN (the app's preset)": cifar_model(Path(folder)),
            }
            worst = {name: measure(client, path, name) for name, path in models.items()}
    finally:
        client.close()
    load = os.getloadavg()
    print(f"\nLoad average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    for name, times in worst.items():
        slowest = max(times)
        print(
            f"{name}: slowest request {slowest:.2f} s = {slowest / TARGET_SECONDS:.2f} "
            "of the 10 s target"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
