"""Train a network from the command line, with the same run directories as the Train page.

For lecturers preparing models before class, and for benchmarks::

    python -m core.worker.cli --model mnist_cnn_a --dataset mnist --epochs 2 --save-as mnist-a

It prints a progress line now and then and ends with exactly one JSON line on
standard output::

    {"test_accuracy": 0.991, "params": 220234, "wall_time_s": 46.1, "train_time_s": 42.2,
     "samples_per_second": 2557.8, "saved_path": "/.../models/mnist-a.keras", ...}

The run is recorded in a run directory like any page-started job (so the page
lists it, and ``TrainingJob.attach`` can follow it), but the training runs in
this process: the command line is not the Streamlit server, so importing
TensorFlow here is fine. Ctrl-C stops training and still saves the model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from core.base.checks import received
from core.data.preprocessing import COLOR_MODES, RESIZE_MODES
from core.jobs import runs, train_config, training_job
from core.jobs.run_health import learning_warnings
from core.jobs.train_config import LEARNING_RATE_SCHEDULES, Augmentation, TrainConfig
from core.nets.transfer import TRANSFER_MODELS, transfer_entry
from core.worker import training_data, training_loop


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (its ``--help`` documents every option)."""
    parser = argparse.ArgumentParser(
        prog="python -m core.worker.cli",
        description="Train a CNN and print one JSON line with the results.",
    )
    parser.add_argument(
        "--model",
        required=True,
        help="a preset name (e.g. mnist_cnn_a; adapted to the data's shape and classes), "
        "mobilenet_v2_transfer (a frozen MobileNetV2 base with a new head; needs RGB images "
        "of at least 32x32, e.g. --color-mode rgb --target-size 96), a model-spec .json file "
        "or a .keras file to train further",
    )
    parser.add_argument(
        "--weights",
        choices=("imagenet", "none"),
        default=None,
        help="mobilenet_v2_transfer only: start the base from the ImageNet weights (default; "
        "read from the Keras cache, downloaded when missing and online) or from random ones",
    )
    parser.add_argument(
        "--dataset",
        required=True,
        help="mnist, fashion_mnist, cifar10, an .npz with x_train, y_train (, x_test, y_test, "
        "class_names), or a folder or .zip with one sub-folder of images per class (read and "
        "checked as on the Train page: resized to 128x128, 20%% held back as test images); "
        "built-in sets are read from $CONVSCOPE_DATA_DIR when set",
    )
    defaults = TrainConfig()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--optimizer", default=defaults.optimizer, choices=train_config.OPTIMIZERS)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument(
        "--learning-rate-schedule",
        default=defaults.learning_rate_schedule,
        choices=LEARNING_RATE_SCHEDULES,
    )
    parser.add_argument("--momentum", type=float, default=defaults.momentum, help="SGD only")
    parser.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--max-train-samples", type=int, default=None)
    parser.add_argument(
        "--time-budget", type=float, default=None, help="seconds of training, then finish"
    )
    parser.add_argument("--snapshot-every", type=int, default=defaults.snapshot_every_batches)
    parser.add_argument("--restore-best-weights", action="store_true")
    parser.add_argument("--target-size", type=int, default=None, help="resize to a square")
    parser.add_argument(
        "--color-mode", choices=COLOR_MODES, default=None, help="default: as stored"
    )
    parser.add_argument("--resize-mode", choices=RESIZE_MODES, default="pad")
    parser.add_argument(
        "--augment-flip", choices=train_config.FLIP_MODES, default="none", help="random flips"
    )
    parser.add_argument(
        "--augment-rotation", type=float, default=0.0, help="fraction of a full turn"
    )
    parser.add_argument("--augment-translation", type=float, default=0.0)
    parser.add_argument("--augment-zoom", type=float, default=0.0)
    parser.add_argument("--save-as", default=None, help="name in the models store")
    parser.add_argument("--overwrite", action="store_true", help="replace a saved model")
    parser.add_argument(
        "--keep-optimizer",
        action="store_true",
        help="with --save-as: keep the optimizer's state in the saved model, so it can be "
        "trained further where it stopped (about 3x larger with Adam); by default it is "
        "left out, as on the Train page",
    )
    parser.add_argument("--runs-dir", default=None, help=f"default ${runs.RUNS_DIR_ENV} or ./runs")
    parser.add_argument(
        "--models-dir", default=None, help="default $CONVSCOPE_MODELS_DIR or ./models"
    )
    parser.add_argument("--quiet", action="store_true", help="print only the JSON line")
    return parser


def _model_argument(value: str, weights: str | None = None):
    """What `prepare_run` takes for ``--model value`` (and ``--weights``).

    Raises:
        ValueError: ``--weights`` with a model that is not a transfer model, or a ``.json``
            file that is not JSON.
        OSError: a ``.json`` file that cannot be read.
    """
    if value in TRANSFER_MODELS:
        return transfer_entry(
            TRANSFER_MODELS[value], weights=None if weights == "none" else "imagenet"
        )
    if weights is not None:
        raise ValueError(
            f"`--weights` applies only to --model {' or '.join(TRANSFER_MODELS)}, "
            f"not to --model {value}. {received('--weights', weights)}"
        )
    if value.endswith(".json"):
        with open(value, encoding="utf-8") as stream:
            try:
                return json.load(stream)
            except ValueError as error:  # json.JSONDecodeError, UnicodeDecodeError
                raise ValueError(
                    f"`--model` must be a model-spec JSON file; this one is not JSON ({error}). "
                    f"{received('--model', value)}"
                ) from None
    return value


def _preprocessing_argument(arguments, dataset_color_mode: str | None) -> dict | None:
    if arguments.target_size is None and arguments.color_mode is None:
        return None  # the images' own size and colour
    return {
        "target_size": arguments.target_size,
        "color_mode": arguments.color_mode or dataset_color_mode or "grayscale",
        "resize_mode": arguments.resize_mode,
    }


def _folder_dataset(arguments) -> training_data.FolderDataset | None:
    """``--dataset`` as a folder or zip of class folders (None otherwise); says what it skipped."""
    datasets_dir = (
        None if arguments.runs_dir is None else os.path.join(arguments.runs_dir, "datasets")
    )
    folder = training_data.image_folder_dataset(arguments.dataset, datasets_dir=datasets_dir)
    if folder is not None and not arguments.quiet:
        report = folder.report
        counts = ", ".join(
            f"{count} {name}"
            for name, count in zip(report.class_names, report.class_counts, strict=True)
        )
        print(f"images: {counts} ({folder.color_mode})", flush=True)
        if report.num_skipped:
            print(
                f"skipped {report.num_skipped} files: " + "; ".join(report.skipped_examples[:3]),
                flush=True,
            )
    return folder


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 done, 1 failed, 2 bad arguments)."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    native_color = "rgb" if arguments.dataset.lower() == "cifar10" else None
    dataset = arguments.dataset
    if arguments.keep_optimizer and arguments.save_as is None:
        parser.error(
            "`--keep-optimizer` applies to the model saved with --save-as; add --save-as NAME."
        )
    try:
        folder = _folder_dataset(arguments)
        if folder is not None:
            dataset, native_color = folder.path, folder.color_mode
        config = TrainConfig(
            optimizer=arguments.optimizer,
            learning_rate=arguments.learning_rate,
            learning_rate_schedule=arguments.learning_rate_schedule,
            momentum=arguments.momentum,
            batch_size=arguments.batch_size,
            epochs=arguments.epochs,
            validation_fraction=arguments.validation_fraction,
            augmentation=Augmentation(
                flip=arguments.augment_flip,
                rotation=arguments.augment_rotation,
                translation=arguments.augment_translation,
                zoom=arguments.augment_zoom,
            ),
            seed=arguments.seed,
            snapshot_every_batches=arguments.snapshot_every,
            restore_best_weights=arguments.restore_best_weights,
            max_train_samples=arguments.max_train_samples,
            time_budget_seconds=arguments.time_budget,
        )
        run_dir = training_job.prepare_run(
            _model_argument(arguments.model, arguments.weights),
            dataset,
            config,
            preprocessing=_preprocessing_argument(arguments, native_color),
            runs_root_dir=arguments.runs_dir,
            save_as=arguments.save_as,
            models_dir=arguments.models_dir,
            overwrite=arguments.overwrite,
            keep_optimizer=arguments.keep_optimizer,
            idle_stop=None,
        )
    except (ValueError, TypeError, OSError) as error:
        parser.error(str(error))  # exits with status 2
    # This process is the worker: record its pid so the run counts as live.
    (run_dir / runs.PID_FILE).write_text(str(os.getpid()))

    def echo(line: str) -> None:
        if not arguments.quiet:
            print(line, flush=True)

    if not arguments.quiet:
        print(f"run directory: {run_dir}", flush=True)
    try:
        summary = training_loop.run_job(run_dir, echo=echo)
    except Exception as error:
        print(f"training failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    warnings = learning_warnings(
        runs.read_evaluation(run_dir), config.to_dict(), params=summary.get("params")
    )
    for warning in warnings:
        echo(warning.as_text())
    summary["warnings"] = [warning.as_text() for warning in warnings]
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
