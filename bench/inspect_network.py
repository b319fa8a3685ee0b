"""Speed of "Inspect a Network", measured from the client side (transfer included).

Targets (issue 6), once the model is loaded in the inference worker:
  - all feature maps of one input: at most 100 ms;
  - Grad-CAM for one input and class: at most 300 ms;
  - the top-9 search over 10,000 test images for one layer: at most 5 s.

Each figure is the median over repeated calls through `core.jobs.worker_client.WorkerClient`,
so pickling, the pipe and unpickling count. Also printed: worker start-up and model load,
`model(x)` inside the worker (`FeatureMaps.worker_ms`) and the bundled models' sizes.

Run: ``python bench/inspect_network.py`` (uses ``$CONVSCOPE_DATA_DIR``, default ``../shared/data``).
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's `inspect`, which numpy and dataclasses
# import: keep its own folder off the module path so they get the real one.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != _HERE]

import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CONVSCOPE_DATA_DIR", str(ROOT.parent / "shared" / "data"))

from core.base.paths import BUNDLED_MODELS_DIR
from core.data import (
    builtin,
    network_input,
)
from core.jobs.inspection import DatasetRef
from core.jobs.worker_client import WorkerClient

TARGETS_MS = {"feature maps": 100.0, "Grad-CAM": 300.0, "top-9 over 10,000": 5000.0}


def median_ms(function, repeats: int) -> float:
    function()  # warm up: builds the extractor / gradient path once
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def report(name: str, milliseconds: float) -> None:
    target = TARGETS_MS.get(name.split(" (")[0])
    verdict = "" if target is None else f"  (target ≤ {target:.0f} ms: "
    verdict += "" if target is None else ("ok)" if milliseconds <= target else "MISSED)")
    print(f"  {name:<38} {milliseconds:9.1f} ms{verdict}")


def bench_model(client: WorkerClient, path: Path, dataset_name: str) -> None:
    print(f"\n{path.name} ({path.stat().st_size / 1e6:.2f} MB)")
    start = time.perf_counter()
    info = client.model_info(path)
    print(f"  {'load in worker':<38} {(time.perf_counter() - start) * 1e3:9.1f} ms")
    preprocessing = network_input.preprocessing_for({}, info.input_shape)
    dataset = builtin.load_builtin(dataset_name)
    images = network_input.prepare_images(dataset.x_test[:10_000], preprocessing, info.input_shape)
    image = images[0]

    report("feature maps", median_ms(lambda: client.feature_maps(path, image), 30))
    maps = client.feature_maps(path, image)
    print(f"  {'  in the worker (one call)':<38} {maps.worker_ms:9.1f} ms")
    sizes = sum(values.nbytes for values in maps.maps.values())
    print(f"  {'  maps transferred':<38} {sizes / 1e3:9.1f} kB ({len(maps.maps)} layers)")
    label = int(dataset.y_test[0])
    report("Grad-CAM", median_ms(lambda: client.grad_cam(path, image, label), 20))
    report("saliency", median_ms(lambda: client.saliency(path, image, label), 20))

    layer = info.conv_layers[-1].name
    settings = {"target_size": preprocessing.target_size, "color_mode": preprocessing.color_mode}
    reference = DatasetRef.make(dataset_name, settings, limit=min(10_000, len(images)))
    start = time.perf_counter()
    scan = client.wait_for_scan(client.scan_activations(path, layer, reference), timeout=120)
    elapsed = (time.perf_counter() - start) * 1e3
    if scan.error:
        print(f"  top-9 search failed: {scan.error}")
        return
    report(f"top-9 over 10,000 ({layer}, {reference.limit:,} images)", elapsed)
    start = time.perf_counter()
    scan.result.top(0, 9)
    print(f"  {'  another filter, cached':<38} {(time.perf_counter() - start) * 1e3:9.3f} ms")


def main() -> int:
    client = WorkerClient()
    start = time.perf_counter()
    pong = client.ping()
    print(
        f"Worker start (imports TensorFlow, {pong['threads']} thread(s)): "
        f"{time.perf_counter() - start:.1f} s"
    )
    try:
        bench_model(client, BUNDLED_MODELS_DIR / "mnist_cnn_a.keras", "mnist")
        bench_model(client, BUNDLED_MODELS_DIR / "fashion_mnist_cnn.keras", "fashion_mnist")
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
