"""The Train a CNN page through AppTest: data, architecture, errors, a tiny real run, reload.

AppTest runs the page in this process, so the slow test also proves the page never imports
TensorFlow: training happens in a worker process started by ``core.jobs.training_job``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.base.paths import PROJECT_ROOT
from core.jobs.train_config import Augmentation
from core.jobs.training_job import TrainingJob
from core.nets.presets import preset
from tests.apptest_helpers import choose
from tests.core.data.fakes import mark_encrypted
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.train.architecture import frame_to_layers, layers_to_frame
from ui.train.data import augment_image
from ui.train.live import smooth

PAGE = str(PROJECT_ROOT / "app_pages" / "train_cnn.py")


def tensorflow_modules() -> set[str]:
    """TensorFlow/Keras modules loaded in this test process.

    The page must add none. (When other tests in the same pytest process loaded them
    first, this check cannot see the page's imports; the browser test checks the real
    server process in every run.)
    """
    return {"tensorflow", "keras"} & set(sys.modules)


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path, monkeypatch, shared_data):
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(shared_data))
    monkeypatch.setenv("CONVSCOPE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("CONVSCOPE_MAX_JOBS", "2")
    monkeypatch.setenv("CONVSCOPE_IDLE_STOP_SECONDS", "60")  # a failed test leaves no worker
    return tmp_path


def open_page(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_page_opens_on_mnist_with_source_counts_and_preset_summary():
    at = open_page()
    assert "60,000 training and 10,000 test images, 10 classes" in captions(at)
    assert metrics(at)["Parameters"] == "220,234"  # MNIST CNN A, SEEDS.md
    assert not at.error
    assert not at.button(key="train.start").disabled


def test_every_control_has_a_tooltip():
    at = open_page()
    widgets = [*at.selectbox, *at.slider, *at.number_input, *at.button, *at.checkbox, *at.radio]
    widgets += [*at.select_slider, *at.toggle]
    missing = [w.label for w in widgets if not w.help]
    assert not missing


def test_preset_follows_the_data_set_shape():
    at = open_page()
    choose(at, "train.dataset", "cifar10")
    assert "32×32×3" in captions(at)
    assert metrics(at)["Input"] == "32 × 32 × 3"
    assert at.session_state["train.preset.cifar10"] == "cifar10_cnn"
    assert metrics(at)["Parameters"] == "528,054"  # CIFAR-10 CNN, SEEDS.md


def test_a_stack_that_shrinks_below_one_pixel_is_refused_naming_the_layer():
    at = open_page()
    choose(at, "train.preset.mnist", "mnist_cnn_b")
    choose(at, "train.target_size.mnist", 16)
    assert not at.exception
    assert at.error and "Layer 5 (conv2d_2)" in at.error[0].value
    assert at.button(key="train.start").disabled


def test_editor_rows_round_trip_and_bad_rows_are_named():
    spec = preset("lenet5")
    assert frame_to_layers(layers_to_frame(spec)) == tuple(
        layer.__class__(**{**layer.__dict__, "name": None}) for layer in spec.layers
    )
    frame = layers_to_frame(spec)
    frame.loc[0, "filters"] = 0
    with pytest.raises(ValueError, match=r"Row 1 \(Conv2D\).*filters"):
        frame_to_layers(frame)
    with pytest.raises(ValueError, match="Row 1: choose a layer type"):
        frame_to_layers(pd.DataFrame([{"type": None}]))


def test_augmentation_preview_keeps_the_image_when_nothing_is_switched_on():
    image = np.random.default_rng(0).random((6, 5, 1)).astype(np.float32)
    same = augment_image(image, Augmentation(), rng=np.random.default_rng(1))
    np.testing.assert_allclose(same, image, atol=1e-5)
    flipped = augment_image(image, Augmentation(flip="horizontal"), rng=np.random.default_rng(3))
    assert flipped.shape == image.shape
    assert smooth([1.0, 0.0], weight=0.5) == pytest.approx([1.0, 1 / 3])


def fake_live_run(runs_root: Path, *, eta: float = 170.0) -> Path:
    """A run folder that looks live (this test process as its worker) to fill the job cap."""
    run_dir = runs_root / "20260101-000000-busy-000000"
    run_dir.mkdir(parents=True)
    config = {"run_id": run_dir.name, "created": time.time(), "model": {"preset": "mlp"}}
    (run_dir / "config.json").write_text(json.dumps({**config, "dataset": {"name": "mnist"}}))
    status = {"state": "running", "epochs": 1, "eta_seconds": eta, "elapsed_seconds": 20.0}
    (run_dir / "status.json").write_text(json.dumps(status))
    (run_dir / "worker.pid").write_text(str(os.getpid()))
    (run_dir / "pulse").touch()
    return run_dir


def infos(at: AppTest) -> str:
    return "\n".join(i.value for i in at.info)


def test_over_the_job_cap_start_waits_in_the_queue_and_can_be_cancelled(
    isolated_folders, monkeypatch
):
    monkeypatch.setenv("CONVSCOPE_MAX_JOBS", "1")
    fake_live_run(isolated_folders / "runs")
    at = open_page()
    at.button(key="train.start").click().run()
    assert not at.exception and not at.error
    run_dir = Path(at.session_state["train.run_dir"])
    assert json.loads((run_dir / "status.json").read_text())["state"] == "waiting"
    text = infos(at)
    assert "Waiting in the queue: place 1 of 1" in text
    assert "nobody is ahead of yours" in text and "at most 1 at once" in text
    assert "should start in about 3 minutes" in text  # the running job's ETA: 170 s
    assert at.button(key="train.start").disabled
    assert "waits in the queue" in captions(at)
    # The same browser in a second tab (a new session with its id) sees the waiting job.
    other = AppTest.from_file(PAGE, default_timeout=90)
    other.session_state["train.browser_id"] = at.session_state["train.browser_id"]
    other.run()
    assert other.session_state["train.run_dir"] == str(run_dir)
    assert "Waiting in the queue: place 1 of 1" in infos(other)
    assert other.button(key="train.start").disabled
    # Another browser sees no job of its own and may queue one behind it.
    stranger = open_page()
    assert "train.run_dir" not in stranger.session_state
    stranger.button(key="train.start").click().run()
    assert "Waiting in the queue: place 2 of 2" in infos(stranger)
    assert "1 job is ahead of yours" in infos(stranger)
    at.button(key="train.cancel").click().run()
    assert not at.exception
    assert "left the queue" in infos(at)
    assert not run_dir.exists() and "train.run_dir" not in at.session_state
    assert not at.button(key="train.start").disabled
    stranger.run()
    assert "Waiting in the queue: place 1 of 1" in infos(stranger)


def test_a_missing_run_in_the_address_is_a_warning_not_a_traceback():
    at = open_page(run="20200101-000000-nothing-here")
    assert any("no longer exists" in w.value for w in at.warning)


def poll_until(at: AppTest, predicate, what: str, timeout: float = 120.0) -> AppTest:
    """Rerun the page (as the live fragment would) until ``predicate(at)`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not any("Training failed" in e.value for e in at.error), [e.value for e in at.error]
        if predicate(at):
            return at
    raise AssertionError(f"timed out waiting for {what}")


def has_button(at: AppTest, key: str) -> bool:
    return any(button.key == key and not button.disabled for button in at.button)


@pytest.mark.slow
def test_tiny_run_pauses_resumes_stops_saves_and_survives_a_reload(isolated_folders):
    tensorflow_before = tensorflow_modules()
    at = open_page()
    choose(at, "train.preset.mnist", "lenet5")
    at.number_input(key="train.max_samples").set_value(1024)
    at.select_slider(key="train.batch_size").set_value(16)
    at.number_input(key="train.epochs").set_value(20)  # long enough to steer; Stop ends it
    at.run()
    at.button(key="train.start").click().run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    run_dir = Path(at.session_state["train.run_dir"])
    assert run_dir.parent == isolated_folders / "runs"
    assert at.button(key="train.start").disabled  # one run at a time per page
    assert at.query_params["run"] == run_dir.name

    def training(at):
        return has_button(at, "train.pause") and "samples/s" in at.get("progress")[0].proto.text

    poll_until(at, training, "training to start")
    at.button(key="train.pause").click().run()
    poll_until(at, lambda at: has_button(at, "train.resume"), "the pause")
    at.button(key="train.resume").click().run()
    poll_until(at, lambda at: has_button(at, "train.pause"), "the resume")
    at.button(key="train.stop").click().run()

    def stopped(at):  # results and the final state are two files, written one after the other
        return "Test accuracy" in metrics(at) and any("you stopped it" in i.value for i in at.info)

    poll_until(at, stopped, "the stopped run's results and its reason")
    assert metrics(at)["Test images"] == "10,000"  # stopping still evaluates
    assert "predicted (true)" in "\n".join(m.value for m in at.markdown)
    assert any(":red[" in m.value or ":green[" in m.value for m in at.markdown)
    assert "conv2d" in captions(at) and "6 filters 5×5" in captions(at)

    at.text_input(key="train.save_name").set_value("tiny lenet")
    at.button(key="train.save").click().run()
    assert any("tiny lenet" in s.value for s in at.success)
    assert (isolated_folders / "models" / "tiny lenet.keras").is_file()

    # The models folder: the saved model is listed, renamed, offered for download, deleted.
    open_models_folder(at)
    assert at.selectbox(key="train.store_pick").options == ["tiny lenet"]
    at.text_input(key="train.store_new_name").set_value("lenet 1")
    at.button(key="train.store_rename").click().run()
    assert (isolated_folders / "models" / "lenet 1.keras").is_file()
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Download .keras" in labels, labels  # beside the pictures' PNG buttons
    at.text_input(key="train.store_new_name").set_value("../escape")
    at.button(key="train.store_rename").click().run()
    assert any("Not renamed" in e.value for e in at.error)
    at.checkbox(key="train.store_sure").check().run()
    at.button(key="train.store_delete").click().run()
    assert not (isolated_folders / "models" / "lenet 1.keras").exists()

    # A browser reload is a new session: the run id in the address finds the run again.
    again = open_page(run=run_dir.name)
    assert metrics(again)["Test accuracy"] == metrics(at)["Test accuracy"]
    # Without it, the recent runs list offers the run.
    fresh = open_page()
    fresh.session_state["train.recent_open"] = True  # the reader unfolds it
    fresh.run()
    assert fresh.selectbox(key="train.recent_pick").value == str(run_dir)
    fresh.button(key="train.attach").click().run()
    assert metrics(fresh)["Test accuracy"] == metrics(at)["Test accuracy"]
    assert tensorflow_modules() <= tensorflow_before  # the page imported no TensorFlow


@pytest.mark.slow
def test_mlp_against_cnn_with_the_same_time_budget():
    tensorflow_before = tensorflow_modules()
    at = open_page()
    at.number_input(key="train.max_samples").set_value(512)
    at.radio(key="train.compare_budget").set_value(5)
    at.run()
    at.button(key="train.compare_start").click().run()
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        time.sleep(1.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        table = at.dataframe[-1].value
        if list(table["State"]) == ["finished"] * 2 and table["Test accuracy"].notna().all():
            break
    else:
        raise AssertionError(f"the comparison did not finish: {at.dataframe[-1].value}")
    assert list(table["Model"]) == ["MLP", "CNN (mnist_cnn_a)"]
    assert list(table["Parameters"]) == [669_706, 220_234]
    assert (table["Training time (s)"] >= 5).all()
    assert tensorflow_modules() <= tensorflow_before  # the page imported no TensorFlow


def class_folders_zip(classes: dict[str, int]) -> bytes:
    """A zip of class folders with small PNGs (bright on the left for the first class)."""
    import zipfile

    import cv2

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for label, (name, count) in enumerate(classes.items()):
            for index in range(count):
                image = np.zeros((20, 30, 3), np.uint8)
                left = 0 if label == 0 else 15
                image[:, left : left + 15] = 200 + index
                archive.writestr(
                    f"pets/{name}/{index}.png", cv2.imencode(".png", image)[1].tobytes()
                )
        archive.writestr("pets/README.txt", "not an image")
    return buffer.getvalue()


def test_an_uploaded_zip_of_class_folders_becomes_a_data_set():
    at = open_page()
    choose(at, "train.dataset", "zip")
    assert at.info  # asks for the upload
    zipped = class_folders_zip({"cats": 10, "dogs": 10})
    at.file_uploader(key="train.zip").set_value(("pets.zip", zipped, "application/zip")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "2 classes" in captions(at)
    assert "16 training and 4 test images" in captions(at)  # a stratified 20% held out
    assert any("Skipped 1 file that is not an image" in w.value for w in at.warning)
    assert metrics(at)["Input"] == "64 × 64 × 3"
    assert at.session_state["train.preset.zip"] == "photo_cnn"
    assert at.session_state["train.folder_data"][2].endswith(".npz")


def test_a_server_folder_under_the_configured_root_becomes_a_data_set(
    isolated_folders, monkeypatch
):
    import zipfile

    root = isolated_folders / "images"
    root.mkdir()
    with zipfile.ZipFile(io.BytesIO(class_folders_zip({"cats": 5, "dogs": 5}))) as archive:
        archive.extractall(root)
    monkeypatch.setenv("CONVSCOPE_IMAGE_ROOT", str(root))
    at = open_page()
    choose(at, "train.dataset", "folder")
    assert at.selectbox(key="train.server_folder").options == ["pets"]
    assert not at.error, [e.value for e in at.error]
    assert "8 training and 2 test images, 2 classes" in captions(at)


def test_without_an_image_root_the_server_folder_choice_explains_itself(monkeypatch):
    monkeypatch.delenv("CONVSCOPE_IMAGE_ROOT", raising=False)
    at = open_page()
    choose(at, "train.dataset", "folder")
    assert any("CONVSCOPE_IMAGE_ROOT" in i.value for i in at.info)
    assert not at.exception


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.zip", b"this is not a zip", "not a zip file"),
        ("one.zip", class_folders_zip({"cats": 4}), "at least 2 class folders"),
        (
            "locked.zip",
            mark_encrypted(class_folders_zip({"cats": 4, "dogs": 4})),
            "password-protected",
        ),
    ],
)
def test_an_unusable_zip_is_an_error_message(name, content, message):
    at = open_page()
    choose(at, "train.dataset", "zip")
    at.file_uploader(key="train.zip").set_value((name, content, "application/zip")).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def open_models_folder(at: AppTest) -> None:
    """Unfold "Models folder", as a reader's click does (a rerun)."""
    at.session_state["train.models_open"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_the_folded_models_folder_lists_nothing_until_it_opens():
    def uploaders(at: AppTest) -> list[str]:
        return [u.proto.id.rsplit("-", 1)[-1] for u in at.get("file_uploader")]

    at = open_page()
    assert not any(c.value.startswith("Models folder:") for c in at.caption)
    assert "train.store_upload" not in uploaders(at)
    open_models_folder(at)
    assert any(c.value.startswith("Models folder:") for c in at.caption)
    assert "train.store_upload" in uploaders(at)


def test_a_file_that_is_not_a_keras_model_is_refused_on_upload():
    at = open_page()
    open_models_folder(at)
    at.file_uploader(key="train.store_upload").set_value(
        ("fake.keras", b"not a zip at all", "application/octet-stream")
    )
    at.run()
    at.button(key="train.store_upload_go").click().run()
    assert not at.exception
    assert any("Not added" in e.value for e in at.error)


@pytest.mark.slow
def test_augmentation_preview_with_keras_own_layers_runs_in_a_worker():
    tensorflow_before = tensorflow_modules()
    at = open_page()
    at.session_state["train.aug_open"] = True  # the reader unfolds the augmentation
    at.run()
    at.slider(key="train.aug_rotation").set_value(30)
    at.toggle(key="train.aug_exact").set_value(True)
    at.run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert "made by Keras' random layers" in captions(at)
    assert tensorflow_modules() <= tensorflow_before  # the page imported no TensorFlow


# ---------------------------------------------------------------------------
# Transfer learning
# ---------------------------------------------------------------------------

TRANSFER = "Transfer learning: MobileNetV2 (frozen, new head)"
WEIGHTS_224 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


def open_transfer(dataset: str = "cifar10") -> AppTest:
    at = open_page()
    choose(at, "train.dataset", dataset)
    at.radio(key="train.architecture_kind").set_value(TRANSFER).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_transfer_without_cached_weights_says_how_to_get_them_and_offers_random(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    at = open_transfer()
    [warning] = [w.value for w in at.warning]
    assert "not in the Keras cache" in warning
    assert f"{WEIGHTS_224}` is missing from `{tmp_path / 'keras' / 'models'}`" in warning
    assert "storage.googleapis.com" in warning
    assert at.radio(key="train.transfer_weights").value == "random"
    table = at.dataframe[0].value
    base = table[table["Type"] == "MobileNetV2 (frozen)"].iloc[0]
    assert base["Parameters"] == 2_257_984 and base["Output shape"] == "1 × 1 × 1280"
    assert metrics(at)["Trained parameters"] == f"{1281 * 10:,}"  # CIFAR-10: 10 classes
    assert metrics(at)["Parameters"] == f"{2_257_984 + 1281 * 10:,}"
    assert not at.button(key="train.start").disabled

    at.radio(key="train.transfer_weights").set_value("imagenet").run()
    assert any("Put the weights file in place" in info.value for info in at.info)
    assert at.button(key="train.start").disabled


def test_transfer_with_cached_weights_says_so_and_starts_from_them(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    (tmp_path / "keras" / "models").mkdir(parents=True)
    (tmp_path / "keras" / "models" / WEIGHTS_224).touch()
    at = open_transfer()
    assert not at.warning
    assert "The ImageNet weights are in the Keras cache" in at.success[0].value
    assert at.radio(key="train.transfer_weights").value == "imagenet"
    assert not at.button(key="train.start").disabled


def test_transfer_on_grayscale_28_pixel_mnist_asks_for_rgb_and_32_pixels(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    at = open_transfer("mnist")
    [error] = [e.value for e in at.error]
    assert "this data gives 28×28×1" in error and "Choose RGB colour" in error
    assert at.button(key="train.start").disabled

    at.radio(key="train.color_mode.mnist").set_value("rgb")
    choose(at, "train.target_size.mnist", 32)
    assert not at.error
    assert metrics(at)["Input"] == "32 × 32 × 3"


def test_cached_data_set_follows_the_configured_data_folder(monkeypatch, shared_data):
    """The page's cache must not serve the bundled subset once a full data folder is set."""
    from ui.train.data import builtin_dataset

    monkeypatch.delenv("CONVSCOPE_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", "/nonexistent-keras-home")
    bundled = builtin_dataset("mnist")
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(shared_data))
    full = builtin_dataset("mnist")
    assert len(bundled.x_train) < len(full.x_train) == 60_000


@pytest.mark.slow
def test_a_worker_killed_mid_run_shows_as_failed_with_its_reason_and_the_page_serves_on(
    isolated_folders,
):
    import signal

    from core.jobs.train_config import TrainConfig
    from core.jobs.training_job import TrainingJob
    from tests.helpers_training import tiny_spec_dict, wait_for, write_tiny_dataset

    dataset = write_tiny_dataset(isolated_folders / "tiny.npz")
    job = TrainingJob.start(tiny_spec_dict(), dataset, TrainConfig(epochs=1000, batch_size=8))
    wait_for(lambda: len(job.progress().epochs) >= 2, timeout=120, what="two epochs")
    os.kill(job.pid, signal.SIGKILL)
    wait_for(lambda: job.status().state == "failed", timeout=30, what="the run to fail")

    at = open_page(run=job.run_id)
    errors = " ".join(e.value for e in at.error)
    assert "Training failed" in errors
    assert "killed by SIGKILL" in errors
    assert "The model saved after epoch" in errors
    assert not at.button(key="train.start").disabled  # the page serves on: a new run can start
    assert at.text_input(key="train.save_name").value  # and the kept model can be saved


def test_a_run_that_ends_while_the_page_is_drawn_shows_its_results_on_the_next_run(
    isolated_folders, monkeypatch
):
    # Each section reading the status anew would show the results (and "Save") while the live
    # view, drawn from the first reading, still polls: its rerun could swallow a click on Save.
    run_dir = fake_live_run(isolated_folders / "runs")
    read = TrainingJob.status
    readings = []

    def ends_after_the_first_reading(job):
        status = read(job)
        readings.append(status.state)
        return status if len(readings) == 1 else dataclasses.replace(status, state="finished")

    monkeypatch.setattr(TrainingJob, "status", ends_after_the_first_reading)
    at = open_page(run=run_dir.name)
    assert readings[0] == "running"
    assert "The results appear here when training ends" in infos(at)
    assert not has_button(at, "train.save")
