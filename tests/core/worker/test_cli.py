"""Tests for the command line ``python -m core.worker.cli``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs import runs
from tests.helpers_training import write_tiny_dataset

ROOT = PROJECT_ROOT


def run_cli(*arguments: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.worker.cli", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_an_unknown_preset_is_refused_before_training(tmp_path):
    completed = run_cli("--model", "resnet9000", "--dataset", "mnist", "--runs-dir", str(tmp_path))
    assert completed.returncode == 2
    assert "Received: model='resnet9000'" in completed.stderr
    assert completed.stdout == ""


def test_a_bad_hyperparameter_is_refused_naming_it(tmp_path):
    completed = run_cli(
        "--model",
        "mnist_cnn_a",
        "--dataset",
        "mnist",
        "--batch-size",
        "0",
        "--runs-dir",
        str(tmp_path),
    )
    assert completed.returncode == 2
    assert "`batch_size` must be >= 1. Received: batch_size=0" in completed.stderr


@pytest.mark.slow
def test_a_tiny_run_end_to_end_ends_with_one_json_line(tmp_path):
    from core.nets.presets import preset
    from core.nets.summary import summarize

    dataset = write_tiny_dataset(tmp_path / "tiny.npz")
    completed = run_cli(
        "--model",
        "mnist_cnn_a",
        "--dataset",
        str(dataset),
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--learning-rate",
        "0.01",
        "--save-as",
        "cli-tiny",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--models-dir",
        str(tmp_path / "models"),
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.strip().splitlines()
    json_lines = [line for line in lines if line.startswith("{")]
    assert len(json_lines) == 1 and lines[-1] == json_lines[0]
    assert any(line.startswith("epoch 2/2") for line in lines)

    result = json.loads(lines[-1])
    assert {"test_accuracy", "params", "wall_time_s", "samples_per_second", "saved_path"} <= set(
        result
    )
    # The preset was adapted to the 8×8×1 images and 2 classes.
    adapted = preset("mnist_cnn_a", input_shape=(8, 8, 1), num_classes=2)
    assert result["params"] == summarize(adapted).total_params
    assert 0.0 <= result["test_accuracy"] <= 1.0
    assert result["wall_time_s"] > 0 and result["samples_per_second"] > 0
    assert Path(result["saved_path"]) == (tmp_path / "models" / "cli-tiny.keras").resolve()
    sidecar = json.loads((tmp_path / "models" / "cli-tiny.json").read_text())
    assert sidecar["class_names"] == ["top", "bottom"]
    assert sidecar["model_spec"]["name"] == "mnist_cnn_a"

    [run] = runs.list_runs(tmp_path / "runs")  # the page would list this run
    assert run.status.state == "finished"
    assert run.status.test_accuracy == result["test_accuracy"]
    assert isinstance(result["warnings"], list)
    # Saved without the optimizer's state by default, as on the page.
    assert result["optimizer_state"] is False and sidecar["optimizer_state"] is False


@pytest.mark.slow
def test_keep_optimizer_saves_the_optimizer_state_to_train_further(tmp_path):
    from core.jobs.model_store import has_optimizer_state

    dataset = write_tiny_dataset(tmp_path / "tiny.npz")
    completed = run_cli(
        "--model",
        "mnist_cnn_a",
        "--dataset",
        str(dataset),
        "--epochs",
        "1",
        "--save-as",
        "cli-keep",
        "--keep-optimizer",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--models-dir",
        str(tmp_path / "models"),
        "--quiet",
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["optimizer_state"] is True
    assert has_optimizer_state(tmp_path / "models" / "cli-keep.keras")
    sidecar = json.loads((tmp_path / "models" / "cli-keep.json").read_text())
    assert sidecar["optimizer_state"] is True


def test_keep_optimizer_without_save_as_is_refused(tmp_path):
    completed = run_cli(
        "--model",
        "mnist_cnn_a",
        "--dataset",
        "mnist",
        "--keep-optimizer",
        "--runs-dir",
        str(tmp_path),
    )
    assert completed.returncode == 2
    assert "`--keep-optimizer` applies to the model saved with --save-as" in completed.stderr
    assert not list(tmp_path.glob("*/config.json"))


@pytest.mark.slow
def test_a_network_that_answers_one_class_for_everything_is_warned_about(tmp_path):
    # Identical test images, half of each class: any network gives one answer, 50% right.
    dataset = write_tiny_dataset(tmp_path / "tiny.npz", num_images=64)
    with np.load(dataset) as arrays:
        data = dict(arrays)
    data["x_test"] = np.zeros_like(data["x_test"])
    np.savez(dataset, **data)
    completed = run_cli(
        "--model",
        "mnist_cnn_a",
        "--dataset",
        str(dataset),
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    (warning,) = result["warnings"]
    assert "for 100% of the test images" in warning and "(50%)" in warning
    assert "More epochs (now 1; try 4)" in warning
    assert warning in lines[:-1]  # printed before the JSON line too


# ---------------------------------------------------------------------------
# Transfer learning flags
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], {"transfer": "MobileNetV2", "weights": "imagenet"}),
        (["--weights", "imagenet"], {"transfer": "MobileNetV2", "weights": "imagenet"}),
        (["--weights", "none"], {"transfer": "MobileNetV2", "weights": None}),
    ],
)
def test_the_transfer_model_flag_becomes_a_transfer_request(flags, expected):
    from core.worker import cli

    arguments = cli.build_parser().parse_args(
        ["--model", "mobilenet_v2_transfer", "--dataset", "cifar10", *flags]
    )
    assert cli._model_argument(arguments.model, arguments.weights) == expected


def test_weights_are_refused_for_a_model_that_is_not_a_transfer_model(tmp_path):
    completed = run_cli(
        "--model",
        "mnist_cnn_a",
        "--weights",
        "none",
        "--dataset",
        "mnist",
        "--runs-dir",
        str(tmp_path),
    )
    assert completed.returncode == 2
    assert (
        "`--weights` applies only to --model mobilenet_v2_transfer, not to --model mnist_cnn_a. "
        "Received: --weights='none'." in completed.stderr
    )
    assert not any(tmp_path.iterdir())


def test_a_model_json_file_that_is_not_json_is_a_value_error_naming_it(tmp_path, monkeypatch):
    from core.worker import cli

    monkeypatch.chdir(tmp_path)
    path = Path("spec.json")
    path.write_text("{not json")
    message = "this one is not JSON (Expecting property name enclosed in double quotes: line 1"
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        cli._model_argument(str(path))
    assert str(refused.value).endswith(f"Received: --model='{path}'.")


def test_an_unknown_weights_choice_is_refused():
    from core.worker import cli

    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(
            ["--model", "mobilenet_v2_transfer", "--dataset", "mnist", "--weights", "random"]
        )


def test_a_transfer_model_on_grayscale_mnist_is_refused_before_training(tmp_path):
    completed = run_cli(
        "--model",
        "mobilenet_v2_transfer",
        "--weights",
        "none",
        "--dataset",
        "mnist",
        "--runs-dir",
        str(tmp_path),
    )
    assert completed.returncode == 2
    assert "this data gives 28×28×1" in completed.stderr
    assert "Choose RGB colour and an image size of 32 or more" in completed.stderr
    assert completed.stdout == ""


# ---------------------------------------------------------------------------
# --dataset as a folder or a zip of class folders
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pets(tmp_path_factory, shared_data):
    """16 cat and 16 dog photos from the shared data: a folder of class folders and its zip."""
    import shutil
    import zipfile

    root = tmp_path_factory.mktemp("pets")
    folder = root / "pets"
    for name in ("cats", "dogs"):
        (folder / name).mkdir(parents=True)
        photos = sorted((shared_data / "cats_vs_dogs" / "train" / name).glob("*.jpg"))
        for photo in photos[:16]:
            shutil.copy(photo, folder / name / photo.name)
    with zipfile.ZipFile(root / "pets.zip", "w") as archive:
        for path in sorted(folder.rglob("*.jpg")):
            archive.write(path, f"pets/{path.relative_to(folder)}")
    return folder, root / "pets.zip"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_a_folder_or_zip_of_class_folders_trains_for_one_epoch(pets, kind, tmp_path):
    dataset = pets[0] if kind == "folder" else pets[1]
    completed = run_cli(
        "--model",
        "dogs_vs_cats_cnn",
        "--dataset",
        str(dataset),
        "--epochs",
        "1",
        "--target-size",
        "16",
        "--batch-size",
        "8",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--models-dir",
        str(tmp_path / "models"),
        "--save-as",
        f"pets-{kind}",
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.strip().splitlines()
    assert "images: 16 cats, 16 dogs (rgb)" in lines
    result = json.loads(lines[-1])
    assert 0.0 <= result["test_accuracy"] <= 1.0
    sidecar = json.loads((tmp_path / "models" / f"pets-{kind}.json").read_text())
    assert sidecar["class_names"] == ["cats", "dogs"]
    [run] = runs.list_runs(tmp_path / "runs")
    config = json.loads((run.run_dir / runs.CONFIG_FILE).read_text())
    assert config["preprocessing"]["color_mode"] == "rgb"  # the photos' own colour
    assert config["preprocessing"]["target_size"] == 16
    with np.load(config["dataset"]["npz_path"]) as arrays:
        assert len(arrays["y_test"]) == 6  # 20% of 32 held back, as on the Train page


def test_a_zip_that_breaks_the_pages_rules_is_refused_before_training(tmp_path):
    import zipfile

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("cats/../../evil.jpg", b"not an image")
    completed = run_cli(
        "--model", "mnist_cnn_a", "--dataset", str(bad), "--runs-dir", str(tmp_path)
    )
    assert completed.returncode == 2
    assert "points outside the zip's folder" in completed.stderr
    assert not list((tmp_path).glob("*/config.json"))


def test_a_missing_zip_is_named(tmp_path):
    completed = run_cli(
        "--model", "mnist_cnn_a", "--dataset", str(tmp_path / "no.zip"), "--runs-dir", str(tmp_path)
    )
    assert completed.returncode == 2
    assert "names a zip that does not exist" in completed.stderr
