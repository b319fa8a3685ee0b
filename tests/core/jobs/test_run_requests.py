"""Tests for core.jobs.run_requests: what a run is asked to build and train on, and the
refusals that come before any worker starts (bad models, data, preprocessing, transfer)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs import run_requests, runs
from core.jobs.training_job import TrainingJob
from tests.helpers_training import (
    TRANSFER_IMAGENET,
    TRANSFER_RANDOM,
    WEIGHTS_224,
    tiny_spec_dict,
)

ROOT = PROJECT_ROOT

# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def test_start_refuses_a_stack_that_cannot_be_built_before_starting_anything(tmp_path):
    from core.nets.summary import InvalidModelError

    spec = tiny_spec_dict()
    spec["input_shape"] = [2, 2, 1]  # too small for the 3×3 convolution
    with pytest.raises(InvalidModelError, match="conv2d"):
        TrainingJob.start(spec, "mnist", runs_root_dir=tmp_path)
    assert not any(path.is_dir() for path in tmp_path.iterdir())


def test_a_spec_dict_and_a_model_spec_give_the_same_request():
    from core.nets.specs import spec_from_dict

    spec_dict = tiny_spec_dict()
    assert run_requests.model_request(spec_dict) == {"spec": spec_dict}
    assert run_requests.model_request(spec_from_dict(spec_dict)) == {"spec": spec_dict}


def test_a_preset_is_requested_by_name_and_an_unknown_name_is_refused():
    assert run_requests.model_request("mnist_cnn_a") == {"preset": "mnist_cnn_a"}
    with pytest.raises(ValueError, match="Received: model='resnet9000'"):
        run_requests.model_request("resnet9000")


def test_a_keras_file_is_requested_by_its_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "mine.keras").write_bytes(b"PK\x03\x04")
    monkeypatch.chdir(tmp_path)
    entry = run_requests.model_request("mine.keras")
    assert entry == {"keras_path": os.fspath(tmp_path.resolve() / "mine.keras")}
    with pytest.raises(ValueError, match="Received: model='missing.keras'"):
        run_requests.model_request("missing.keras")


@pytest.mark.parametrize(
    ("model", "error", "message"),
    [
        (42, TypeError, "a preset name or a .keras path. Received: model=42."),
        (b"mnist_cnn_a", TypeError, "Received: model=b'mnist_cnn_a'."),
        ("resnet9000", ValueError, "Received: model='resnet9000'."),
        ("missing.keras", ValueError, "Received: model='missing.keras'."),
    ],
)
def test_a_bad_model_is_refused_with_a_type_or_value_error_naming_it(model, error, message):
    with pytest.raises(error, match=re.escape(message)):
        run_requests.model_request(model)


@pytest.mark.parametrize(
    ("entry", "label"),
    [
        ({"spec": {"name": "tiny_cnn"}}, "tiny_cnn"),
        ({"preset": "mnist_cnn_a"}, "mnist_cnn_a"),
        ({"keras_path": "/models/my net.keras"}, "my net"),
        ({"transfer": "MobileNetV2", "weights": "imagenet"}, "MobileNetV2 transfer"),
        ({"transfer": "MobileNetV2", "weights": None}, "MobileNetV2 transfer (random)"),
    ],
)
def test_model_request_labels_name_the_model(entry, label):
    assert run_requests.model_request_label(entry) == label


# ---------------------------------------------------------------------------
# Data and preprocessing
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "preprocessing", "message"),
    [
        ("imagenet", None, "Received: dataset='imagenet'"),
        ("mnist", {"target_size": 3}, "Received: target_size=3"),
        ("mnist", {"color_mode": "cmyk"}, "Received: color_mode='cmyk'"),
    ],
)
def test_start_refuses_bad_data_settings_naming_them(tmp_path, dataset, preprocessing, message):
    with pytest.raises(ValueError, match=message):
        TrainingJob.start(
            tiny_spec_dict(), dataset, preprocessing=preprocessing, runs_root_dir=tmp_path
        )


def test_dataset_requests_name_a_built_in_set_or_an_existing_npz(tiny_dataset, tmp_path):
    assert run_requests.dataset_request("MNIST") == {"name": "mnist"}
    assert run_requests.dataset_request(tiny_dataset) == {
        "npz_path": os.fspath(tiny_dataset.resolve())
    }
    assert run_requests.dataset_request_label({"npz_path": "/data/tiny.npz"}) == "tiny"
    with pytest.raises(ValueError, match="must be an existing .npz file"):
        run_requests.dataset_request(str(tmp_path / "missing.npz"))
    with pytest.raises(TypeError, match=re.escape("Received: dataset=None.")):
        run_requests.dataset_request(None)
    with pytest.raises(ValueError, match=re.escape("or an .npz path. Received: dataset=''.")):
        run_requests.dataset_request("")  # the right type, but no data set


def test_preprocessing_requests_are_every_field_or_none():
    assert run_requests.preprocessing_request(None) is None
    entry = run_requests.preprocessing_request({"target_size": 32, "color_mode": "rgb"})
    assert entry["target_size"] == 32 and entry["color_mode"] == "rgb"
    assert "resize_mode" in entry  # the defaults are spelled out for the worker
    with pytest.raises(TypeError, match="`preprocessing` must be a Preprocessing"):
        run_requests.preprocessing_request("rgb")


@pytest.mark.parametrize(
    ("preprocessing", "error", "message"),
    [
        ("rgb", TypeError, "a dict of its fields or None. Received: preprocessing='rgb'."),
        (
            {"colour": "rgb"},
            ValueError,
            "not ['colour']. Received: preprocessing={'colour': 'rgb'}.",
        ),
        ({"target_size": 32.0}, TypeError, "Received: target_size=32.0."),
        ({"target_size": 3}, ValueError, "Received: target_size=3."),
    ],
)
def test_bad_preprocessing_is_refused_with_a_type_or_value_error_naming_it(
    preprocessing, error, message
):
    with pytest.raises(error, match=re.escape(message)):
        run_requests.preprocessing_request(preprocessing)


# ---------------------------------------------------------------------------
# Transfer learning
# ---------------------------------------------------------------------------


def test_start_without_cached_imagenet_weights_fails_fast_naming_the_file(
    rgb_dataset, runs_root, tmp_path, monkeypatch
):
    from core.nets.transfer import WeightsUnavailableError

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    monkeypatch.setattr(subprocess, "Popen", None)  # no worker may be started
    started = time.perf_counter()
    with pytest.raises(WeightsUnavailableError) as error:
        TrainingJob.start(TRANSFER_IMAGENET, rgb_dataset, runs_root_dir=runs_root)
    assert time.perf_counter() - started < 1
    message = str(error.value)
    # 32×32 has no weights of its own: Keras uses the 224 ones; the header gave the size.
    assert str(tmp_path / "empty-keras-home" / "models" / WEIGHTS_224) in message
    assert "weights=None" in message
    assert not runs_root.exists() or not any(runs_root.iterdir())


def test_start_with_cached_imagenet_weights_gets_past_the_check(
    rgb_dataset, runs_root, tmp_path, monkeypatch
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / WEIGHTS_224).touch()
    launched = []
    monkeypatch.setattr(TrainingJob, "_launch", lambda job: launched.append(job.run_dir))
    job = TrainingJob.start(TRANSFER_IMAGENET, rgb_dataset, runs_root_dir=runs_root)
    assert launched == [job.run_dir]
    assert job.config["model"] == TRANSFER_IMAGENET
    assert "MobileNetV2" in runs.list_runs(runs_root)[0].model_name


def test_the_command_line_s_check_leaves_missing_weights_to_the_worker(
    rgb_dataset, tmp_path, monkeypatch
):
    # The command line may download them; the page may not (see the test above).
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    run_requests.check_transfer_can_start(
        TRANSFER_IMAGENET, rgb_dataset, None, require_cached_weights=False
    )


def test_a_model_that_is_not_a_transfer_model_is_not_checked_here(tiny_dataset):
    run_requests.check_transfer_can_start(tiny_spec_dict(), tiny_dataset, None)  # 8×8×1: fine


@pytest.mark.parametrize(
    ("dataset", "preprocessing", "shape"),
    [
        ("tiny", None, "8×8×1"),  # the .npz header says grayscale 8×8
        ("mnist", {"target_size": 64, "color_mode": "grayscale"}, "64×64×1"),
        ("mnist", {"target_size": 28, "color_mode": "rgb"}, "28×28×3"),
        ("mnist", None, "28×28×1"),
    ],
)
def test_start_refuses_a_transfer_model_on_grayscale_or_small_images(
    tiny_dataset, runs_root, dataset, preprocessing, shape
):
    dataset = tiny_dataset if dataset == "tiny" else dataset
    with pytest.raises(ValueError) as error:
        TrainingJob.start(
            TRANSFER_RANDOM, dataset, preprocessing=preprocessing, runs_root_dir=runs_root
        )
    message = str(error.value)
    assert "MobileNetV2 needs RGB images (3 channels) of at least 32×32 pixels" in message
    assert f"this data gives {shape}" in message
    assert "Choose RGB colour and an image size of 32 or more" in message
    assert not runs_root.exists() or not any(runs_root.iterdir())


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"transfer": "ResNet50"}, "Received: base='ResNet50'"),
        ({"transfer": "MobileNetV2", "weights": "cifar"}, "Received: weights='cifar'"),
        (
            {"transfer": "MobileNetV2", "alpha": 0.5},
            "`model` takes only the keys 'transfer', 'weights', not ['alpha']. Received: model=",
        ),
    ],
)
def test_start_refuses_a_bad_transfer_request_naming_it(rgb_dataset, runs_root, model, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainingJob.start(model, rgb_dataset, runs_root_dir=runs_root)


def test_the_train_page_modules_and_a_refused_transfer_start_never_import_tensorflow(
    rgb_dataset, tmp_path
):
    script = f"""
import json, sys
import core.jobs.training_job, ui.train.architecture, ui.train.transfer, ui.train.live
from core.nets.transfer import WeightsUnavailableError, transfer_summary_rows
transfer_summary_rows((96, 96, 3), 5)
try:
    core.jobs.training_job.TrainingJob.start({TRANSFER_IMAGENET!r}, {str(rgb_dataset)!r},
                                    runs_root_dir={str(tmp_path / "runs")!r})
except WeightsUnavailableError:
    refused = True
print(json.dumps({{"refused": refused,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in
                                   ("tensorflow", "keras"))}}))
"""
    environment = {**os.environ, "KERAS_HOME": str(tmp_path / "keras")}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report == {"refused": True, "loaded": []}
