"""ui.train.results: the confusion matrix, the evaluation and its gallery, saving, the store.

Runs are real run folders (`prepare_run`) with the evaluation files a worker writes; the
stored model is the bundled MNIST CNN A, so nothing here starts a worker.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.jobs import model_store, runs
from core.jobs.training_job import TrainingJob
from tests.apptest_helpers import array, chart, markdown_text
from tests.helpers_training import write_tiny_dataset
from tests.inspect_helpers import MNIST_MODEL
from tests.ui.train.run_files import new_run, write_evaluation, write_status
from ui.train.results import TILE_PX, _evaluated_images, confusion_figure, labelled_tile, tile_grid

TRUE = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
PREDICTED = [0, 0, 0, 1, 1, 1, 0, 1, 0, 1]  # images 1 and 4 are wrong


@pytest.fixture(autouse=True)
def folders(tmp_path, monkeypatch) -> Path:
    (tmp_path / "no-data").mkdir()
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(tmp_path / "no-data"))  # the bundled subsets
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    monkeypatch.setenv("CONVSCOPE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path


@pytest.fixture()
def npz_run(folders) -> Path:
    """A run on an .npz data set: 8×8 images, classes "top" and "bottom"."""
    return new_run(
        folders / "runs", dataset=write_tiny_dataset(folders / "tiny.npz", num_images=40)
    )


def test_the_confusion_matrix_has_true_rows_predicted_columns_and_counts():
    matrix = np.array([[5, 1], [0, 4]])
    figure = confusion_figure(matrix, ["cat", "dog"])
    (heatmap,) = figure.data
    assert np.array_equal(heatmap.z, matrix) and np.array_equal(heatmap.text, matrix)
    assert list(heatmap.x) == list(heatmap.y) == ["cat", "dog"]
    assert heatmap.texttemplate == "%{text}"
    assert figure.layout.xaxis.title.text == "predicted"
    assert figure.layout.yaxis.title.text == "true"
    assert figure.layout.yaxis.autorange == "reversed"  # the first class on top
    assert figure.layout.xaxis.type == figure.layout.yaxis.type == "category"


def test_digit_class_names_stay_categories():
    figure = confusion_figure(np.eye(3, dtype=int), ["0", "1", "2"])
    assert figure.layout.xaxis.type == "category"  # not a numeric axis from 0 to 2


def test_the_evaluated_images_come_from_the_runs_data(npz_run, folders):
    job = TrainingJob.attach(npz_run)
    assert _evaluated_images(job, "test").shape == (10, 8, 8)
    assert _evaluated_images(job, "validation").shape == (40, 8, 8)
    mnist = TrainingJob.attach(new_run(folders / "runs"))
    assert _evaluated_images(mnist, "test").shape == (1000, 28, 28)  # the bundled subset


def test_data_that_has_gone_gives_no_images(folders):
    path = write_tiny_dataset(folders / "gone.npz", num_images=8)
    job = TrainingJob.attach(new_run(folders / "runs", dataset=path))
    path.unlink()
    assert _evaluated_images(job, "test") is None


# ---------------------------------------------------------------------------
# The evaluation through AppTest
# ---------------------------------------------------------------------------


def evaluation_script(run_dir):
    from core.jobs.training_job import TrainingJob
    from ui.train.results import show_evaluation

    show_evaluation(TrainingJob.attach(run_dir))


def show(run_dir: Path) -> AppTest:
    at = AppTest.from_function(evaluation_script, args=(run_dir,), default_timeout=20).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def gallery_labels(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith((":red[", ":green["))]


def test_a_run_without_evaluation_says_so(npz_run):
    at = show(npz_run)
    assert [i.value for i in at.info] == [
        "This run ended before it was evaluated, so there are no test results."
    ]
    assert not at.metric


def test_accuracy_counts_and_mistakes_are_shown(npz_run):
    write_evaluation(npz_run, TRUE, PREDICTED, ["top", "bottom"])
    at = show(npz_run)
    assert metrics(at) == {"Test accuracy": "80.00%", "Test images": "10", "Misclassified": "2"}
    confusion = chart(at, "train.confusion_chart")
    assert array(confusion["data"][0]["z"]).tolist() == [[4, 1], [1, 4]]
    per_class = chart(at, "train.per_class_chart")
    assert array(per_class["data"][0]["x"]).tolist() == [0.8, 0.8]
    assert per_class["layout"]["xaxis"]["range"] == [0, 1]
    assert per_class["layout"]["xaxis"]["ticktext"][-1] == "100%"  # the axis reaches 100 %


def test_the_gallery_shows_mistakes_first_in_red_then_right_answers_in_green(npz_run):
    write_evaluation(npz_run, TRUE, PREDICTED, ["top", "bottom"])
    at = show(npz_run)
    assert (
        "**Test images: predicted (true)** — 2 of the 2 mistakes first (the most confident "
        "ones), then correct answers: red is wrong, green right."
    ) in markdown_text(at)
    labels = gallery_labels(at)
    assert labels[:2] == [":red[top (bottom)]", ":red[bottom (top)]"]
    names = ["top", "bottom"]
    right = [index for index in range(10) if index not in (1, 4)]
    assert labels[2:] == [f":green[{names[TRUE[i]]} ({names[TRUE[i]]})]" for i in right]
    assert len(at.get("image")) == 10
    exports = [b for b in at.get("download_button") if b.proto.label == "PNG"]
    assert len(exports) == 1  # the gallery as one captioned picture


def test_a_gallery_tile_is_framed_by_its_answer_and_keeps_the_image():
    digit = np.zeros((28, 28, 1), np.uint8)
    digit[10:18, 12:16] = 255
    right = labelled_tile(digit, "7 (7)", right=True)
    wrong = labelled_tile(digit.astype(np.float32) / 255, "1 (7)", right=False)
    assert right.dtype == np.uint8 and right.shape == wrong.shape
    np.testing.assert_array_equal(right[0, 0], (46, 139, 87))  # green frame
    np.testing.assert_array_equal(wrong[0, 0], (214, 39, 40))  # red frame
    inside = right[2 : 2 + TILE_PX, 2 : 2 + TILE_PX]
    assert inside[TILE_PX // 2, TILE_PX // 2].tolist() == [255, 255, 255]  # the stroke, enlarged
    assert inside[2, 2].tolist() == [0, 0, 0]
    np.testing.assert_array_equal(inside, wrong[2 : 2 + TILE_PX, 2 : 2 + TILE_PX])
    grid = tile_grid([right] * 10, 8)
    assert grid.shape == (2 * right.shape[0], 8 * right.shape[1], 3)
    assert (grid[right.shape[0] :, 2 * right.shape[1] :] == 255).all()  # the padded row is white


def test_many_mistakes_still_leave_a_row_of_right_answers(npz_run, folders):
    true = [0] * 40
    predicted = [1] * 30 + [0] * 10
    write_evaluation(npz_run, true, predicted, ["top", "bottom"], evaluated_on="validation")
    at = show(npz_run)
    assert metrics(at)["Validation accuracy"] == "25.00%"
    assert metrics(at)["Validation images"] == "40"
    assert "— 16 of the 30 mistakes first" in markdown_text(at)
    labels = gallery_labels(at)
    assert labels.count(":red[bottom (top)]") == 16 and labels.count(":green[top (top)]") == 8


def test_classes_without_test_images_have_no_accuracy_bar(npz_run):
    write_evaluation(npz_run, [0, 0, 0], [0, 1, 0], ["top", "bottom"])
    at = show(npz_run)
    per_class = chart(at, "train.per_class_chart")
    values = np.array(array(per_class["data"][0]["x"]), dtype=float)  # JSON null: no bar
    assert values[0] == pytest.approx(2 / 3) and np.isnan(values[1])


@pytest.mark.parametrize("problem", ["missing data", "index beyond the images", "no predictions"])
def test_without_the_images_there_is_no_gallery_but_the_results_stay(npz_run, folders, problem):
    if problem == "index beyond the images":
        write_evaluation(npz_run, TRUE, PREDICTED, ["top", "bottom"], image_index=range(30, 40))
    else:
        write_evaluation(npz_run, TRUE, PREDICTED, ["top", "bottom"])
    if problem == "missing data":
        (folders / "tiny.npz").unlink()
    if problem == "no predictions":
        (npz_run / runs.PREDICTIONS_FILE).unlink()
    at = show(npz_run)
    assert "The test images are not available on this server, so no gallery." in [
        c.value for c in at.caption
    ]
    assert metrics(at)["Test accuracy"] == "80.00%"
    assert not gallery_labels(at)


def test_image_positions_point_into_the_data_set(folders):
    run_dir = new_run(folders / "runs")  # MNIST: 1,000 bundled test images
    write_evaluation(run_dir, [7, 2], [7, 2], [str(d) for d in range(10)], image_index=[0, 999])
    at = show(run_dir)
    assert gallery_labels(at) == [":green[7 (7)]", ":green[2 (2)]"]


# ---------------------------------------------------------------------------
# Saving and the models store
# ---------------------------------------------------------------------------


def trained_run(folders) -> Path:
    """A finished run with a real trained model and its sidecar."""
    run_dir = new_run(folders / "runs")
    write_status(run_dir, state="finished")
    shutil.copy(MNIST_MODEL, run_dir / runs.MODEL_FILE)
    sidecar = {"dataset": "mnist", "metrics": {"test_accuracy": 0.99}, "total_params": 220_234}
    (run_dir / runs.MODEL_SIDECAR_FILE).write_text(json.dumps(sidecar))
    return run_dir


def save_script(run_dir):
    from core.jobs.training_job import TrainingJob
    from ui.train.results import save_controls

    save_controls(TrainingJob.attach(run_dir))


def test_a_run_without_a_model_offers_no_save(npz_run):
    at = AppTest.from_function(save_script, args=(npz_run,)).run()
    assert not at.text_input and not at.button


def test_the_model_is_saved_under_a_default_name_with_its_sidecar(folders):
    run_dir = trained_run(folders)
    at = AppTest.from_function(save_script, args=(run_dir,)).run()
    default = at.text_input(key="train.save_name").value
    assert default == f"tiny_cnn mnist {run_dir.name[9:15]}"  # model, data, time of day
    at.button(key="train.save").click().run()
    size = MNIST_MODEL.stat().st_size / 1e6
    assert [s.value for s in at.success] == [f"Saved as **{default}** ({size:.1f} MB)."]
    saved = model_store.get_model(default)
    assert saved.metadata["metrics"] == {"test_accuracy": 0.99}


def test_a_taken_or_bad_name_is_not_saved_and_says_why(folders):
    run_dir = trained_run(folders)
    at = AppTest.from_function(save_script, args=(run_dir,)).run()
    at.text_input(key="train.save_name").set_value("mine")
    at.button(key="train.save").click().run()
    at.button(key="train.save").click().run()
    [error] = [e.value for e in at.error]
    assert error.startswith("Not saved: A model called 'mine' already exists")
    assert "Choose another name" in error
    at.checkbox(key="train.save_overwrite").check()
    at.button(key="train.save").click().run()
    assert not at.error and at.success
    at.text_input(key="train.save_name").set_value("../up")
    at.button(key="train.save").click().run()
    assert at.error[0].value.startswith("Not saved: `name` must be 1 to 64 letters")
    assert [model.name for model in model_store.list_models()] == ["mine"]


def store_script():
    from ui.train.results import model_store_manager

    model_store_manager()


def open_store() -> AppTest:
    at = AppTest.from_function(store_script).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def store(name: str, metadata: dict) -> None:
    model_store.save_model_file(MNIST_MODEL, name, metadata)


def test_an_empty_store_says_where_it_is_and_offers_an_upload(folders):
    at = open_store()
    assert at.caption[0].value == f"Models folder: `{folders / 'models'}` — 0 models."
    assert not at.dataframe
    assert at.get("file_uploader")


def test_stored_models_are_listed_with_their_sidecars(folders):
    store("first", {"dataset": "mnist", "params": 220_234, "metrics": {"test_accuracy": 0.5}})
    store("second", {})
    at = open_store()
    assert "— 2 models." in at.caption[0].value
    table = at.dataframe[0].value
    assert sorted(table["Name"]) == ["first", "second"]
    first = table[table["Name"] == "first"].iloc[0]
    assert (first["Data set"], first["Parameters"], first["Test accuracy"]) == (
        "mnist",
        220_234,
        0.5,
    )
    second = table[table["Name"] == "second"].iloc[0]
    assert second["Data set"] == "?"
    assert first["Size (MB)"] == round(MNIST_MODEL.stat().st_size / 1e6, 2)
    assert at.get("download_button")[0].proto.label == "Download .keras"


def test_a_model_is_renamed_and_a_bad_name_is_refused(folders):
    store("old", {"dataset": "mnist"})
    at = open_store()
    at.text_input(key="train.store_new_name").set_value("new")
    at.button(key="train.store_rename").click().run()
    assert not at.exception
    assert at.selectbox(key="train.store_pick").options == ["new"]
    assert model_store.get_model("new").metadata["dataset"] == "mnist"
    at.text_input(key="train.store_new_name").set_value("../escape")
    at.button(key="train.store_rename").click().run()
    assert at.error[0].value.startswith("Not renamed:")
    assert (folders / "models" / "new.keras").is_file()


def test_deleting_needs_a_tick_first(folders):
    store("doomed", {})
    at = open_store()
    assert at.button(key="train.store_delete").disabled
    at.checkbox(key="train.store_sure").check().run()
    at.button(key="train.store_delete").click().run()
    assert not (folders / "models" / "doomed.keras").exists()
    assert "— 0 models." in at.caption[0].value


def test_an_upload_that_is_not_a_keras_file_is_refused_before_any_check(folders):
    at = open_store()
    at.file_uploader(key="train.store_upload").set_value(
        ("notes.keras", b"plain text", "application/octet-stream")
    ).run()
    assert at.text_input(key="train.store_upload_name").value == "notes"
    at.button(key="train.store_upload_go").click().run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert error.startswith("Not added: This is a text file, not a Keras 3 model")
    assert not (folders / "models").exists() or not any((folders / "models").iterdir())


def test_a_file_of_another_kind_is_taken_and_told_what_it_is(folders):
    """Any file can be chosen, so a pickle gets the app's message instead of the uploader's."""
    at = open_store()
    at.file_uploader(key="train.store_upload").set_value(
        ("model.pkl", b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.", "x")
    ).run()
    at.button(key="train.store_upload_go").click().run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert error.startswith("Not added: This file is a Python pickle, not a Keras 3 model.")
    assert "model.save('name.keras')" in error
    assert not (folders / "models").exists() or not any((folders / "models").iterdir())


@pytest.mark.slow  # the worker checks it
def test_a_model_whose_weights_hold_nan_is_added_with_a_warning(folders):
    from tests.corpus.models import built

    at = open_store()
    at.file_uploader(key="train.store_upload").set_value(
        ("diverged.keras", built("nan_weights.keras"), "application/octet-stream")
    ).run()
    at.button(key="train.store_upload_go").click().run(timeout=180)
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Added **diverged**."]
    assert at.warning[0].value.startswith("This model's weights hold NaN or infinite values")
    assert (folders / "models" / "diverged.keras").is_file()


@pytest.mark.slow  # the worker converts and checks it
def test_an_h5_upload_is_stored_as_keras_with_a_note(folders):
    from core.jobs.legacy_models import LEGACY_NOTE
    from tests.corpus.legacy_models import tf_keras2_h5

    at = open_store()
    at.file_uploader(key="train.store_upload").set_value(
        ("old_cnn.h5", tf_keras2_h5(), "application/octet-stream")
    ).run()
    assert at.text_input(key="train.store_upload_name").value == "old_cnn"
    at.button(key="train.store_upload_go").click().run(timeout=180)
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Added **old_cnn**."]
    assert [i.value for i in at.info] == [LEGACY_NOTE]
    assert (folders / "models" / "old_cnn.keras").is_file()


def test_a_models_path_that_is_a_file_is_an_empty_store(folders, monkeypatch):
    (folders / "a-file").write_text("not a folder")
    monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(folders / "a-file"))
    at = open_store()
    assert not at.exception
    assert "— 0 models." in at.caption[0].value  # a file is an empty store, not a crash


TRAINED_WITH_ADAM = """
import sys, numpy as np, keras
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(256, activation="relu"), keras.layers.Dense(2)])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(np.zeros((8, 8, 8, 1)), np.arange(8) % 2, epochs=1, verbose=0)
model.save(sys.argv[1])
"""


@pytest.mark.slow
def test_the_model_is_saved_without_optimizer_state_unless_the_box_is_ticked(folders):
    import subprocess
    import sys

    run_dir = trained_run(folders)
    model = run_dir / runs.MODEL_FILE
    subprocess.run([sys.executable, "-c", TRAINED_WITH_ADAM, str(model)], check=True)
    at = AppTest.from_function(save_script, args=(run_dir,)).run()
    keep = at.checkbox(key="train.save_keep_optimizer")
    assert keep.label == "Keep optimizer state to train further" and not keep.value
    assert any("without the optimizer state" in c.value for c in at.caption)
    at.text_input(key="train.save_name").set_value("lean")
    at.button(key="train.save").click().run()
    at.checkbox(key="train.save_keep_optimizer").check()
    at.text_input(key="train.save_name").set_value("full")
    at.button(key="train.save").click().run()
    assert not at.error and len(at.success) == 1
    lean, full = model_store.get_model("lean"), model_store.get_model("full")
    assert not model_store.has_optimizer_state(lean.path) and lean.size_bytes < 0.4 * (
        full.size_bytes
    )
    assert model_store.has_optimizer_state(full.path)
    assert full.path.read_bytes() == model.read_bytes()
    assert (lean.metadata["optimizer_state"], full.metadata["optimizer_state"]) == (False, True)
