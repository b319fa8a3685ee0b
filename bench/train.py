"""Benchmark the training back end: recording overhead and MNIST CNN A speed.

Run from the repository root::

    CONVSCOPE_DATA_DIR=../shared/data .venv/bin/python bench/train.py

It prints, and does not assert (the issue's targets are in brackets):

(a) the overhead of the live recording (progress lines, status, kernel
    snapshots, pause/stop checks) against a bare ``model.fit`` on the same
    model, data, initial weights and epochs, timed side by side in one process
    in the order bare, recorded, recorded, bare, as wall time and as this
    process's CPU time (which other work on a shared machine disturbs less)
    [at most 3%];
(b) MNIST CNN A on the full MNIST with the Train page's default `TrainConfig`
    and a 30 s time budget, run exactly as the command line runs it: the test
    accuracy reached within 30 s of training [at least 99.0% on a 2-core CPU].

TensorFlow gets the threads a training worker gets (`core.worker.environment`).

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CONVSCOPE_DATA_DIR", str(ROOT.parent / "shared" / "data"))

from core.data import (
    builtin,
    preprocessing,
)
from core.jobs import (
    train_config,
    training_job,
)
from core.nets import presets
from core.worker import (
    environment,
    model_building,
    training_loop,
)
from core.worker.recorder import RunRecorder, keras_callback

TIME_BUDGET_SECONDS = 30.0


def time_fit(keras, initial_weights, x, y, validation, *, epochs, batch_size, run_dir=None):
    """Train CNN A from ``initial_weights``, recording into ``run_dir`` if given.

    Returns:
        ``(wall_seconds, cpu_seconds)`` of the ``model.fit`` call.
    """
    model = model_building.build_model(presets.preset("mnist_cnn_a"))
    model.set_weights(initial_weights)
    config = train_config.TrainConfig(epochs=epochs, batch_size=batch_size)
    total_steps = epochs * -(-len(x) // batch_size)
    model.compile(
        optimizer=model_building.make_optimizer(keras, config, total_steps=total_steps),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    callbacks = []
    recorder = None
    if run_dir is not None:
        conv = model_building.first_conv_layer(model)
        recorder = RunRecorder(
            run_dir,
            epochs=epochs,
            train_samples=len(x),
            batch_size=batch_size,
            validation_samples=len(validation[0]),
            snapshot_every_batches=config.snapshot_every_batches,
            idle_stop_seconds=training_job.DEFAULT_IDLE_STOP_SECONDS,
            kernel_reader=lambda: conv.kernel.numpy(),
            kernel_layer=conv.name,
        )
        callbacks.append(keras_callback(keras, recorder))
    started, started_cpu = time.perf_counter(), time.process_time()
    model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=validation,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
    if recorder is not None:
        recorder.close()
    return seconds, cpu_seconds


def bench_overhead(keras, *, samples: int, epochs: int, batch_size: int, repeats: int) -> dict:
    mnist = builtin.load_builtin("mnist")
    images = preprocessing.preprocess(
        mnist.x_train[: samples + samples // 10], preprocessing.Preprocessing()
    )
    labels = mnist.y_train[: len(images)].astype("int64")
    x, y = images[:samples], labels[:samples]
    validation = (images[samples:], labels[samples:])
    keras.utils.set_random_seed(0)
    initial = model_building.build_model(presets.preset("mnist_cnn_a")).get_weights()
    wall = {"bare": [], "recorded": []}
    cpu = {"bare": [], "recorded": []}
    with tempfile.TemporaryDirectory() as folder:
        for index, arm in enumerate(("bare", "recorded", "recorded", "bare") * repeats):
            run_dir = None
            if arm == "recorded":
                run_dir = Path(folder) / f"run{index}"
                run_dir.mkdir()
            seconds, cpu_seconds = time_fit(
                keras,
                initial,
                x,
                y,
                validation,
                epochs=epochs,
                batch_size=batch_size,
                run_dir=run_dir,
            )
            wall[arm].append(seconds)
            cpu[arm].append(cpu_seconds)
            print(
                f"  {arm:8s} fit: {seconds:6.2f} s wall, {cpu_seconds:6.2f} s CPU "
                f"(load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    return {
        "overhead_samples": samples,
        "overhead_epochs": epochs,
        "bare_fit_s": [round(t, 3) for t in wall["bare"]],
        "recorded_fit_s": [round(t, 3) for t in wall["recorded"]],
        "bare_fit_cpu_s": [round(t, 3) for t in cpu["bare"]],
        "recorded_fit_cpu_s": [round(t, 3) for t in cpu["recorded"]],
        "overhead_ratio_wall": round(sum(wall["recorded"]) / sum(wall["bare"]) - 1.0, 4),
        "overhead_ratio_cpu": round(sum(cpu["recorded"]) / sum(cpu["bare"]) - 1.0, 4),
    }


def bench_mnist_cnn_a() -> dict:
    config = train_config.TrainConfig(time_budget_seconds=TIME_BUDGET_SECONDS)
    with tempfile.TemporaryDirectory() as folder:
        run_dir = training_job.prepare_run("mnist_cnn_a", "mnist", config, runs_root_dir=folder)
        summary = training_loop.run_job(run_dir, echo=lambda line: print("  " + line, flush=True))
    return {
        "mnist_config": config.to_dict(),
        "mnist_test_accuracy": summary["test_accuracy"],
        "mnist_train_time_s": summary["train_time_s"],
        "mnist_wall_time_s": summary["wall_time_s"],
        "mnist_samples_per_second": summary["samples_per_second"],
        "mnist_epochs_completed": summary["epochs_completed"],
        "mnist_cut_by_time_budget": summary["reason"] == "time_budget",
        "mnist_params": summary["params"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overhead-samples", type=int, default=20000)
    parser.add_argument("--overhead-epochs", type=int, default=1)
    parser.add_argument("--overhead-repeats", type=int, default=1, help="rounds of 4 fits")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-mnist", action="store_true")
    arguments = parser.parse_args()

    keras = environment.import_keras()
    threads = environment.worker_threads()
    results = {
        "tensorflow_threads": threads.intra_op,
        "tensorflow_inter_op_threads": threads.inter_op,
        "usable_cores": environment.usable_cores(),
    }
    print(
        f"TensorFlow threads: {threads.intra_op} per op, {threads.inter_op} op(s) at a time, "
        f"{results['usable_cores']} usable cores (load average {os.getloadavg()[0]:.1f})"
    )
    if not arguments.skip_overhead:
        print(
            f"(a) recording overhead, CNN A, {arguments.overhead_samples:,} MNIST images, "
            f"{arguments.overhead_epochs} epoch(s), default batch size:"
        )
        results.update(
            bench_overhead(
                keras,
                samples=arguments.overhead_samples,
                epochs=arguments.overhead_epochs,
                batch_size=train_config.TrainConfig().batch_size,
                repeats=arguments.overhead_repeats,
            )
        )
        print(
            f"  overhead of the live recording: {results['overhead_ratio_wall']:+.1%} wall time, "
            f"{results['overhead_ratio_cpu']:+.1%} CPU time [target <= 3%]"
        )
    if not arguments.skip_mnist:
        print(
            f"(b) MNIST CNN A, full MNIST, default TrainConfig, "
            f"{TIME_BUDGET_SECONDS:.0f} s time budget:"
        )
        results.update(bench_mnist_cnn_a())
        accuracy, seconds = results["mnist_test_accuracy"], results["mnist_train_time_s"]
        verdict = "met" if accuracy >= 0.99 and seconds <= TIME_BUDGET_SECONDS + 1 else "NOT met"
        cut = " (cut by the time budget)" if results["mnist_cut_by_time_budget"] else ""
        print(
            f"  test accuracy {accuracy:.2%} after {seconds:.1f} s of training{cut}, "
            f"{results['mnist_samples_per_second']:.0f} samples/s "
            f"({results['mnist_wall_time_s']:.1f} s in all) "
            f"[target >= 99.0% within {TIME_BUDGET_SECONDS:.0f} s: {verdict}]"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
