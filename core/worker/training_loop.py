"""A whole training run, inside the worker process: load, build, fit, save, evaluate.

``python -m core.worker train RUN_DIR`` calls `run_job`, which reads the run's
``config.json`` and records everything into the run folder through a `RunRecorder`
(`core.worker.recorder`). The model is saved after every epoch, so a worker that is
killed still leaves its last finished epoch's model; a stop (the page's button, or
SIGTERM through `request_stop`) ends training within a batch, then saves and evaluates.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import time
from pathlib import Path

import numpy as np

from core.base.checks import received
from core.jobs import runs
from core.jobs.checkpoints import FINGERPRINT_KEY, model_fingerprint
from core.jobs.files import (
    atomic_write_bytes,
    atomic_write_json,
    disk_full_message,
    is_disk_full,
    read_json,
)
from core.jobs.model_store import save_model_file
from core.jobs.train_config import TrainConfig
from core.nets.transfer import WeightsUnavailableError
from core.worker.environment import import_keras, training_jobs, usable_cores, worker_threads
from core.worker.epoch_archive import keep_epoch
from core.worker.evaluation import evaluate_predictions
from core.worker.model_building import (
    augmentation_model,
    build_training_model,
    first_conv_layer,
    make_optimizer,
    save_keras_model,
)
from core.worker.recorder import Pulse, RunRecorder, keras_callback
from core.worker.training_data import TrainingData, load_training_data

PREDICT_BATCH_SIZE = 512

_stop_request: str | None = None


def request_stop(reason: str = "terminated") -> None:
    """Ask the running job to stop after the current batch (the worker's SIGTERM handler).

    The job then ends as a stop from the page does: it saves and evaluates its model.
    """
    global _stop_request
    _stop_request = reason


def run_job(run_dir: str | os.PathLike, *, echo=None) -> dict:
    """Train, save and evaluate the run in ``run_dir``; everything is recorded there.

    Args:
        run_dir: A folder made by ``core.jobs.training_job.prepare_run``.
        echo: Called with a progress line now and then (the command line prints them).

    Returns:
        A summary: ``state``, ``test_accuracy``, ``params``, ``train_time_s``,
        ``wall_time_s``, ``samples_per_second``, ``model_path``, ``saved_path``, ``threads``
        (TensorFlow's thread counts, also in ``status.json``).
        A failure is recorded in ``status.json`` and raised again.
    """
    wall_start = time.monotonic()
    run_dir = Path(run_dir)
    config = read_json(run_dir / runs.CONFIG_FILE)
    if not isinstance(config, dict):
        raise FileNotFoundError(
            f"`run_dir` has no readable {runs.CONFIG_FILE}. "
            f"{received('run_dir', os.fspath(run_dir))}"
        )
    train_config = TrainConfig.from_dict(config["train_config"])
    threads = _threads_report()
    if echo is not None:
        echo(
            f"TensorFlow threads: {threads['intra_op']} per op, {threads['inter_op']} op(s) at "
            f"a time ({threads['cores']} cores, {threads['training_jobs']} training job(s))"
        )
    status = {
        "state": "running",
        "message": "Loading TensorFlow",
        "pid": os.getpid(),
        "threads": threads,
    }
    atomic_write_json(run_dir / runs.STATUS_FILE, {**status, "updated": time.time()})
    pulse = Pulse(run_dir / runs.PULSE_FILE)
    pulse.start()
    recorder = None
    try:
        keras = import_keras()
        keras.utils.set_random_seed(train_config.seed)
        _write_message(run_dir, "Loading data")
        data = load_training_data(config)
        _write_message(run_dir, "Building the model")
        model = build_training_model(keras, config, data)
        total_steps = train_config.epochs * math.ceil(len(data.x_train) / train_config.batch_size)
        model.compile(
            optimizer=make_optimizer(keras, train_config, total_steps=total_steps),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        conv = first_conv_layer(model)
        recorder = RunRecorder(
            run_dir,
            epochs=train_config.epochs,
            train_samples=len(data.x_train),
            batch_size=train_config.batch_size,
            validation_samples=0 if data.x_validation is None else len(data.x_validation),
            snapshot_every_batches=train_config.snapshot_every_batches,
            idle_stop_seconds=config.get("idle_stop_seconds"),
            restore_best_weights=train_config.restore_best_weights,
            time_budget_seconds=train_config.time_budget_seconds,
            kernel_reader=None if conv is None else (lambda: conv.kernel.numpy()),
            kernel_layer=None if conv is None else conv.name,
            echo=echo,
            external_stop=lambda: _stop_request,
            checkpoint=lambda model: _checkpoint(model, config, data, train_config, recorder),
        )
        interrupted = False
        try:
            _fit(keras, model, data, train_config, keras_callback(keras, recorder))
        except KeyboardInterrupt:
            interrupted = True
            recorder.stop_reason = recorder.stop_reason or "interrupted"
            recorder.fit_ended = time.monotonic()
        summary = _finish(
            keras, model, data, config, train_config, recorder, run_dir, wall_start, interrupted
        )
        return {**summary, "threads": threads}
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            message = "Interrupted."
        elif is_disk_full(error):
            message = disk_full_message("Training stopped", run_dir.parent)
        elif _reads_as_a_sentence(error):
            message = str(error)
        else:
            message = f"{type(error).__name__}: {error}"
        fields = {"state": "failed", "message": "Failed", "error": message}
        # On a full disk this write can fail too; the server then marks the run failed.
        with contextlib.suppress(OSError):
            if recorder is not None:
                recorder.write_status(**fields)
            else:
                current = read_json(run_dir / runs.STATUS_FILE, default={}) or {}
                atomic_write_json(
                    run_dir / runs.STATUS_FILE, {**current, **fields, "updated": time.time()}
                )
        raise
    finally:
        pulse.stop()
        if recorder is not None:
            recorder.close()


def _fit(keras, model, data: TrainingData, config: TrainConfig, callback) -> None:
    validation = None
    if data.x_validation is not None:
        validation = (data.x_validation, data.y_validation)
    augmenter = augmentation_model(keras, config.augmentation, seed=config.seed)
    if augmenter is None:
        model.fit(
            data.x_train,
            data.y_train,
            batch_size=config.batch_size,
            epochs=config.epochs,
            validation_data=validation,
            shuffle=True,
            verbose=0,
            callbacks=[callback],
        )
        return
    import tensorflow as tf

    batches = (
        tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train))
        .shuffle(len(data.x_train), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
        .map(
            lambda images, labels: (augmenter(images, training=True), labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )
    model.fit(
        batches,
        epochs=config.epochs,
        validation_data=validation,
        verbose=0,
        callbacks=[callback],
    )


def _finish(keras, model, data, config, train_config, recorder, run_dir, wall_start, interrupted):
    # A time budget is a planned end: the run finishes; anything else stops it early.
    stopped = recorder.stop_reason not in (None, "time_budget")
    state_while = "stopping" if stopped else "running"
    restored_epoch = None
    if recorder.restore_best_weights and recorder.best_weights is not None:
        model.set_weights(recorder.best_weights)
        restored_epoch = recorder.best_epoch
    recorder.write_status(state=state_while, message="Saving the model")
    model_path = save_keras_model(model, run_dir / runs.MODEL_FILE)
    sidecar = _sidecar(model, config, data, train_config, recorder)
    sidecar.update(stopped_early=stopped, restored_best_epoch=restored_epoch)
    sidecar[FINGERPRINT_KEY] = model_fingerprint(model_path)  # the file it describes
    atomic_write_json(run_dir / runs.MODEL_SIDECAR_FILE, sidecar)

    evaluation = None
    if not interrupted:
        recorder.evaluation_begin(f"{len(data.x_test):,} {data.evaluated_on} images")
        probabilities = model.predict(
            data.x_test,
            batch_size=PREDICT_BATCH_SIZE,
            verbose=0,
            callbacks=[keras_callback(keras, recorder)],
        )
        evaluation, predictions = evaluate_predictions(probabilities, data.y_test, data.class_names)
        evaluation["evaluated_on"] = data.evaluated_on
        # Where each evaluated image sits in the data set: x_test, or x_train for validation.
        image_index = np.asarray(data.test_image_indices, dtype=np.int64)
        predictions["image_index"] = image_index
        for mistake in evaluation["misclassified"]:
            mistake["image_index"] = int(image_index[mistake["index"]])
        atomic_write_json(run_dir / runs.EVALUATION_FILE, evaluation)
        buffer = io.BytesIO()
        np.savez(buffer, **predictions)
        atomic_write_bytes(run_dir / runs.PREDICTIONS_FILE, buffer.getvalue())
        last = recorder.epoch_records[-1] if recorder.epoch_records else {}
        sidecar["metrics"] = {
            "test_accuracy": evaluation["test_accuracy"],
            "test_loss": evaluation["test_loss"],
            "evaluated_on": data.evaluated_on,
            **{
                key: last[key]
                for key in ("loss", "accuracy", "val_loss", "val_accuracy")
                if key in last
            },
        }
        atomic_write_json(run_dir / runs.MODEL_SIDECAR_FILE, sidecar)

    saved_path, save_error, optimizer_state = None, None, None
    if config.get("save_as") and not interrupted:
        try:
            saved = save_model_file(
                model_path,
                config["save_as"],
                sidecar,
                models_dir=config.get("models_dir"),
                overwrite=bool(config.get("overwrite")),
                keep_optimizer=bool(config.get("keep_optimizer")),
                test_split=config["dataset"].get("npz_path"),  # an uploaded set's test images
            )
            saved_path = os.fspath(saved.path.resolve())
            optimizer_state = saved.metadata.get("optimizer_state")
        except ValueError as error:
            save_error = f"The model was not saved to the store: {error}"

    test_accuracy = None if evaluation is None else evaluation["test_accuracy"]
    final_state = "stopped" if stopped else "finished"
    recorder.write_status(
        state=final_state,
        message="Stopped" if stopped else ("Time is up" if recorder.stop_reason else "Finished"),
        reason=recorder.stop_reason,
        test_accuracy=test_accuracy,
        saved_path=saved_path,
        error=save_error,
    )
    train_time = recorder._elapsed()
    return {
        "state": final_state,
        "reason": recorder.stop_reason,
        "test_accuracy": test_accuracy,
        "params": sidecar["params"],
        "epochs_completed": sidecar["epochs_completed"],
        "train_time_s": round(train_time, 3),
        "wall_time_s": round(time.monotonic() - wall_start, 3),
        "samples_per_second": round(recorder.samples_seen / train_time, 1) if train_time else None,
        "run_dir": os.fspath(run_dir.resolve()),
        "model_path": os.fspath(model_path.resolve()),
        "saved_path": saved_path,
        "optimizer_state": optimizer_state,
        "error": save_error,
    }


def _sidecar(model, config: dict, data: TrainingData, train_config, recorder) -> dict:
    """What the saved model's ``model.json`` says about how it was made."""
    return {
        "dataset": config["dataset"].get("name") or Path(config["dataset"]["npz_path"]).name,
        "dataset_source": data.source,
        "class_names": data.class_names,
        "preprocessing": config.get("preprocessing"),
        "input_shape": list(data.input_shape),
        "num_classes": len(data.class_names),
        "model_spec": config["model"].get("spec"),
        "transfer": config["model"].get("transfer"),
        "transfer_weights": config["model"].get("weights"),
        "train_config": train_config.to_dict(),
        "params": int(model.count_params()),
        "history": list(recorder.epoch_records),
        "epochs_completed": len(recorder.epoch_records),
        "stopped_early": False,
        "end_reason": recorder.stop_reason,
        "restored_best_epoch": None,
        "run_id": config.get("run_id"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "metrics": {},
    }


def _checkpoint(model, config: dict, data: TrainingData, train_config, recorder) -> None:
    """Save the model after each finished epoch, so a killed worker still leaves one."""
    run_dir = recorder.run_dir
    # The model, then its sidecar naming that very file: a kill between the two leaves a
    # model newer than its sidecar, which `core.jobs.checkpoints.kept_model` still keeps.
    path = save_keras_model(model, run_dir / runs.MODEL_FILE)
    sidecar = _sidecar(model, config, data, train_config, recorder)
    sidecar.update({"checkpoint": True, FINGERPRINT_KEY: model_fingerprint(path)})
    atomic_write_json(run_dir / runs.MODEL_SIDECAR_FILE, sidecar)
    keep_epoch(model, run_dir, recorder.epoch_records[-1])  # for Inspect's epoch replay


def _threads_report() -> dict:
    """The thread counts TensorFlow gets here, and what they were worked out from."""
    return {
        **worker_threads()._asdict(),
        "cores": usable_cores(),
        "training_jobs": training_jobs(),
    }


def _reads_as_a_sentence(error: BaseException) -> bool:
    """Our and Keras' argument errors, and missing weights, need no exception class name."""

    return isinstance(error, ValueError | TypeError | WeightsUnavailableError) and bool(str(error))


def _write_message(run_dir: Path, message: str) -> None:
    current = read_json(run_dir / runs.STATUS_FILE, default={}) or {}
    atomic_write_json(
        run_dir / runs.STATUS_FILE, {**current, "message": message, "updated": time.time()}
    )
