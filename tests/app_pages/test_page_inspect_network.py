"""AppTest for the "Inspect a Network" page with each input kind and model source.

The page talks to a real inference worker (started once per test process by the shared
client), so every test here is marked slow.
"""

import re

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.data import builtin, network_input
from tests.apptest_helpers import choose, markdown_text
from tests.conftest import ROOT, SHARED_DATA
from tests.inspect_helpers import MNIST_MODEL, across_tabs, build_test_models, open_tab
from ui.inspect.link import TAB_NAMES

PAGE = str(ROOT / "app_pages" / "inspect_network.py")
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("inspect_environment")]


@pytest.fixture(scope="module")
def mnist():
    return builtin.load_builtin("mnist", data_dir=SHARED_DATA)


def run_page() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.run()
    return app


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [item.value for item in app.exception]
    assert not app.error, [item.value for item in app.error]


def digit_photo(mnist, index: int, *, suffix: str = ".png") -> bytes:
    """A test digit as a photo of dark ink on white paper, larger and not square."""
    paper = 255 - mnist.x_test[index]
    paper = cv2.resize(paper, (90, 120), interpolation=cv2.INTER_LINEAR)
    ok, encoded = cv2.imencode(suffix, paper)
    assert ok
    return encoded.tobytes()


def tabs_text(app: AppTest) -> str:
    """The markdown of every tab, each opened in turn."""
    return "\n".join(across_tabs(app, markdown_text))


def test_test_image_shows_prediction_and_every_section():
    app = run_page()
    assert_clean(app)
    assert len(app.tabs) == len(TAB_NAMES)
    # the input and the filters tab's pictures download with their caption and link
    exports = [b for b in app.get("download_button") if b.proto.label == "PNG"]
    assert len(exports) >= 3, len(exports)  # input, filter grid, frequency response
    assert "Before ReLU" not in markdown_text(app)  # a closed tab draws nothing
    text = tabs_text(app)
    assert "**Prediction: 7**" in text  # test image 0 is a 7
    assert "looks like a" in text  # closest classic kernel
    assert "Before ReLU" in text
    assert "depends on a **10×10**" in text  # receptive field of the last pooled map


def test_pick_modes(mnist):
    app = run_page()
    app.radio(key="inspect.pick_mode").set_value("class").run()
    app.selectbox(key="inspect.pick_class").set_value(3).run()
    assert_clean(app)
    assert "(3)" in " ".join(caption.value for caption in app.caption)
    app.radio(key="inspect.pick_mode").set_value("misclassified").run()
    assert_clean(app)
    assert any("test images wrong" in caption.value for caption in app.caption)
    assert ":red[— wrong]" in markdown_text(app)
    app.radio(key="inspect.pick_mode").set_value("random").run()
    app.button(key="inspect.random").click().run()
    assert_clean(app)


def test_functional_fashion_model():
    app = run_page()
    app.radio(key="inspect.model_bundled").set_value("fashion_mnist_cnn").run()
    assert_clean(app)
    text = markdown_text(app)
    assert "**Prediction: Ankle boot**" in text
    assert "relu1 (after ReLU)" in markdown_text(open_tab(app, "pooling"))


def test_uploaded_photo_is_prepared_like_the_training_data(mnist):
    app = run_page()
    app.radio(key="inspect.input_kind").set_value("upload").run()
    assert_clean(app)
    app.file_uploader(key="inspect.photo").set_value(
        ("digit.png", digit_photo(mnist, 0), "image/png")
    ).run()
    assert_clean(app)
    assert "**Prediction: 7**" in markdown_text(app)


def test_camera_uses_the_same_path(mnist):
    app = run_page()
    app.radio(key="inspect.input_kind").set_value("camera").run()
    app.camera_input(key="inspect.camera").set_value(
        ("shot.jpg", digit_photo(mnist, 1, suffix=".jpg"), "image/jpeg")
    ).run()
    assert_clean(app)
    assert f"**Prediction: {mnist.y_test[1]}**" in markdown_text(app)


def test_broken_photo_is_a_clear_error():
    app = run_page()
    app.radio(key="inspect.input_kind").set_value("upload").run()
    app.file_uploader(key="inspect.photo").set_value(("x.png", b"not an image", "image/png"))
    app.run()
    assert not app.exception
    assert any("cannot be used" in item.value for item in app.error)


def test_drawing_input_never_breaks_the_page():
    app = run_page()
    app.radio(key="inspect.input_kind").set_value("draw").run()
    assert not app.exception
    # The canvas is a browser component; AppTest gets no drawing, so the page says what to do.
    assert app.info or app.error


def test_drawn_digit_goes_through_the_same_network():
    from ui.inspect.models import inference_client

    canvas = np.zeros((280, 280, 4), np.uint8)
    cv2.line(canvas, (140, 40), (140, 240), (255, 255, 255, 255), thickness=18)
    image = network_input.digit_from_drawing(canvas)
    assert image.shape == (28, 28, 1)
    probabilities = inference_client().predict(MNIST_MODEL, image[np.newaxis])
    assert int(probabilities.argmax()) == 1


def test_model_upload_lambda_is_refused_and_a_dense_network_shown_with_a_note():
    folder = build_test_models()
    app = run_page()
    app.radio(key="inspect.model_source").set_value("upload").run()
    assert app.info  # "Choose a .keras file"
    data = (folder / "lambda.keras").read_bytes()
    app.file_uploader(key="inspect.model_upload").set_value(
        ("lambda.keras", data, "application/octet-stream")
    ).run()
    assert not app.exception
    assert any("Lambda" in item.value for item in app.error)
    data = (folder / "mlp.keras").read_bytes()
    app.file_uploader(key="inspect.model_upload").set_value(
        ("mlp.keras", data, "application/octet-stream")
    ).run()
    assert_clean(app)
    notes = [
        note for notes in across_tabs(app, lambda a: [i.value for i in a.info]) for note in notes
    ]
    assert any("no convolution layers (a dense network)" in note for note in notes)
    assert any("no filters to show" in note for note in notes)
    assert any("no feature maps to show" in note for note in notes)
    assert any("No Grad-CAM" in note for note in notes)
    assert "**Prediction: " in markdown_text(app)
    assert "**Saliency**" in tabs_text(app)


def every_text(app: AppTest) -> str:
    """All the words on the page: markdown, captions, boxes, expander labels."""
    parts = [markdown_text(app)]
    for elements in (app.caption, app.error, app.warning, app.info, app.success):
        parts.extend(element.value for element in elements)
    parts.extend(expander.label for expander in app.expander)
    return "\n".join(parts)


def test_a_model_whose_weights_hold_nan_gets_a_message_in_every_section(mnist):
    """A diverged run's model (NaN from its second convolution on): what can be shown is
    shown, everything made of NaN is said to be so, never drawn or printed as "nan"."""
    from tests.corpus.models import built

    app = run_page()
    app.radio(key="inspect.model_source").set_value("upload").run()
    app.file_uploader(key="inspect.model_upload").set_value(
        ("diverged.keras", built("nan_weights.keras"), "application/octet-stream")
    ).run()

    def check(app: AppTest, *expected: str, every_tab: bool = False) -> None:
        assert not app.exception, [item.value for item in app.exception]
        text = "\n".join(across_tabs(app, every_text)) if every_tab else every_text(app)
        assert not re.search(r"\bnan\b|\binf\b", text), text  # raw floats, not our words
        read = lambda a: " ".join(item.value for item in [*a.warning, *a.error])  # noqa: E731
        warnings = " ".join(across_tabs(app, read)) if every_tab else read(app)
        for fragment in expected:
            assert fragment in warnings, (fragment, warnings)

    check(
        app,
        "weights hold NaN or infinite values (in conv_2), so everything computed",
        "so its prediction can't be shown",
        "so the maps of conv_2 can't be shown",
        "so saliency and Grad-CAM can't be shown",
        every_tab=True,
    )
    assert "Retrain it" in app.warning[0].value or "retrain it" in app.warning[0].value
    # What comes before the NaN is still there: the first layer's filters and maps.
    assert "Layer **conv** has 4 filters" in markdown_text(app)
    labels = [label for labels in across_tabs(app, expander_labels) for label in labels]
    assert any(label.startswith("conv (Conv2D") for label in labels)
    app.radio(key="inspect.filter_layer").set_value("conv_2").run()
    check(app, "The weights of layer **conv_2** hold NaN or infinite values")
    open_tab(app, "maps").selectbox(key="inspect.enlarge_layer").set_value("conv_2").run()
    check(app, "so map 0 of conv_2 can't be shown")
    open_tab(app, "field").selectbox(key="inspect.rf_layer").set_value("conv_2").run()
    check(app)
    assert "(value not a number: this model's weights hold NaN)" in markdown_text(app)
    open_tab(app, "top").selectbox(key="inspect.top_layer").set_value("conv_2").run()
    check(app, "so the images that excite conv_2 most can't be shown")
    assert not [button for button in app.button if button.key == "inspect.top_go"]
    app.radio(key="inspect.pick_mode").set_value("misclassified").run()
    check(app, "Could not classify the test images: This model's weights hold NaN")


def test_uploaded_cnn_is_inspected_with_a_chosen_test_set():
    app = run_page()
    app.radio(key="inspect.model_source").set_value("upload").run()
    app.file_uploader(key="inspect.model_upload").set_value(
        ("mine.keras", MNIST_MODEL.read_bytes(), "application/octet-stream")
    ).run()
    assert_clean(app)
    assert app.selectbox(key="inspect.dataset").value == "mnist"
    assert "**Prediction: 7**" in markdown_text(app)


def test_no_saved_models_says_what_to_do():
    app = run_page()
    app.radio(key="inspect.model_source").set_value("saved").run()
    assert not app.exception
    assert any("Train a CNN" in item.value for item in app.info)


def test_top_nine_search_with_progress_then_results():
    from ui.inspect.models import inference_client

    app = open_tab(run_page(), "top")
    app.button(key="inspect.top_go").click().run()
    assert not app.exception
    client = inference_client()
    scans = [scan for key, scan in client._scans.items() if key[1] == "conv2d"]
    assert scans
    client.wait_for_scan(scans[0], timeout=60)
    app.run()
    assert_clean(app)
    assert any("Searched in" in caption.value for caption in app.caption)


def test_uploaded_colour_model_with_branches():
    app = run_page()
    app.radio(key="inspect.model_source").set_value("upload").run()
    data = (build_test_models() / "branchy.keras").read_bytes()
    app.file_uploader(key="inspect.model_upload").set_value(
        ("branchy.keras", data, "application/octet-stream")
    ).run()
    assert_clean(app)
    assert app.selectbox(key="inspect.dataset").value == "cifar10"
    # 4 outputs against CIFAR-10's 10 classes: labels are shown but never judged.
    assert any("cannot be right or wrong" in caption.value for caption in app.caption)
    assert "wrong]" not in markdown_text(app)
    assert "Draw a digit" not in app.radio(key="inspect.input_kind").options
    app.radio(key="inspect.filter_channel").set_value("rgb").run()
    assert_clean(app)
    open_tab(app, "pooling").selectbox(key="inspect.pool_layer").set_value("pool").run()
    assert_clean(app)
    assert "relu (after ReLU)" in markdown_text(app)


def test_saved_model_from_the_store(tmp_path, monkeypatch):
    from core.jobs import model_store

    sidecar = {
        "dataset": "mnist",
        "class_names": [str(digit) for digit in range(10)],
        "preprocessing": {"target_size": 28, "color_mode": "grayscale", "resize_mode": "pad"},
        "metrics": {"test_accuracy": 0.99},
    }
    model_store.save_model_file(MNIST_MODEL, "my cnn", sidecar, models_dir=tmp_path)
    monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(tmp_path))
    app = run_page()
    app.radio(key="inspect.model_source").set_value("saved").run()
    assert_clean(app)
    assert app.radio(key="inspect.model_saved").value == "my cnn"
    assert "**Prediction: 7**" in markdown_text(app)


def upload_model(name: str) -> AppTest:
    app = run_page()
    app.radio(key="inspect.model_source").set_value("upload").run()
    data = (build_test_models() / name).read_bytes()
    app.file_uploader(key="inspect.model_upload").set_value(
        (name, data, "application/octet-stream")
    ).run()
    assert_clean(app)
    return app


def expander_labels(app: AppTest) -> list[str]:
    return [expander.label for expander in app.expander]


def test_a_residual_model_shows_its_branches_in_every_section():
    app = upload_model("residual.keras")
    assert app.selectbox(key="inspect.dataset").value == "mnist"
    text = tabs_text(app)
    labels = [label for labels in across_tabs(app, expander_labels) for label in labels]
    captions = [
        c for texts in across_tabs(app, lambda a: [c.value for c in a.caption]) for c in texts
    ]
    # Feature maps: grouped by branch, each group labelled.
    assert "##### 2 branches into block1_add (Add: adds them up)" in text
    assert "**Residual branch** of block1_add: 3×3 conv → 3×3 conv" in text
    assert "**Identity shortcut** of block1_add: the maps of stem_pool, unchanged" in text
    assert "**Residual branch** of block2_add: 3×3 conv stride 2 → 3×3 conv" in text
    assert "**Shortcut** of block2_add: 1×1 conv stride 2" in text
    assert "block2_shortcut (Conv2D, linear) → 7×7×16 · shortcut of block2_add" in labels
    assert "block2_add (Add, no activation) → 7×7×16" in labels
    # Receptive field of the last map: behind two merges, a maximum over branches.
    assert "This is a **maximum over branches**" in text
    # Grad-CAM at the last convolution, inside the residual branch.
    assert open_tab(app, "saliency").selectbox(key="inspect.cam_layer").value == "block2_conv2"
    assert "**Grad-CAM (block2_conv2)**" in text
    assert any("lies in a branch (residual branch of block2_add)" in c for c in captions)
    # Pooling after the stem conv, and the summary says what each layer reads.
    assert "stem_conv (after ReLU)" in text
    open_tab(app, "summary")
    assert_clean(app)
    table = app.dataframe[-1].value
    assert table.set_index("layer").loc["block2_add", "inputs"] == "block2_bn2, block2_shortcut"

    choose(open_tab(app, "filters"), "inspect.filter_layer", "block2_shortcut")  # many layers
    assert_clean(app)
    assert "Layer **block2_shortcut** has 16 filters of 1×1×8 weights." in markdown_text(app)
    open_tab(app, "saliency").selectbox(key="inspect.cam_layer").set_value("block1_add").run()
    assert_clean(app)
    assert "**Grad-CAM (block1_add)**" in markdown_text(app)
    open_tab(app, "maps").selectbox(key="inspect.enlarge_layer").set_value("block2_out").run()
    assert_clean(app)
    assert any(i.value == "This map was not made by a single conv filter." for i in app.info)


def test_the_top_nine_search_on_a_layer_inside_a_branch():
    from ui.inspect.models import inference_client

    app = open_tab(upload_model("residual.keras"), "top")
    app.selectbox(key="inspect.top_layer").set_value("block2_shortcut").run()
    app.button(key="inspect.top_go").click().run()
    assert not app.exception
    client = inference_client()
    scans = [scan for key, scan in client._scans.items() if key[1] == "block2_shortcut"]
    assert scans
    client.wait_for_scan(scans[0], timeout=60)
    app.run()
    assert_clean(app)
    assert any("Searched in" in c.value and "orange box" in c.value for c in app.caption), [
        c.value for c in app.caption
    ]


def test_an_inception_module_shows_each_branch_and_pools_after_the_merge():
    app = upload_model("inception.keras")
    assert app.selectbox(key="inspect.dataset").value == "cifar10"
    text = tabs_text(app)
    for heading in (
        "**Branch 1** of mixed: 1×1 conv",
        "**Branch 2** of mixed: 1×1 conv → 3×3 conv",
        "**Branch 3** of mixed: 1×1 conv → 5×5 conv",
        "**Branch 4** of mixed: 3×3 max pool → 1×1 conv",
    ):
        assert heading in text
    assert open_tab(app, "saliency").selectbox(key="inspect.cam_layer").value == "branch_pool_proj"
    open_tab(app, "pooling").selectbox(key="inspect.pool_layer").set_value(
        "pool"
    ).run()  # its input is the merge
    assert_clean(app)
    assert "**mixed**" in markdown_text(app)
    app.selectbox(key="inspect.pool_layer").set_value("branch_pool").run()
    assert_clean(app)
    assert any("both 32×32" in c.value for c in app.caption)
    choose(open_tab(app, "filters"), "inspect.filter_layer", "branch1x1")
    assert_clean(app)
    assert "it mixes the 12 input maps" in markdown_text(app)
    open_tab(app, "maps").selectbox(key="inspect.enlarge_layer").set_value("mixed").run()
    app.number_input(key="inspect.enlarge_channel").set_value(20).run()
    assert_clean(app)
    assert any(c.value.startswith("Filter 4 of branch5x5") for c in app.caption)


def test_a_model_trained_on_its_own_two_classes_is_inspected_on_its_own_test_images(
    tmp_path, monkeypatch
):
    """Trained for real on an uploaded two-class set, saved, then opened: Inspect offers the
    run's held-out images with the model's classes, never MNIST digits."""
    from core.jobs.held_out import held_out_path
    from core.jobs.train_config import TrainConfig
    from core.jobs.training_job import TrainingJob
    from tests.helpers_training import tiny_spec_dict, write_tiny_dataset

    dataset = write_tiny_dataset(tmp_path / "halves.npz")  # classes "top" and "bottom"
    config = TrainConfig(epochs=2, batch_size=16, learning_rate=0.02)
    job = TrainingJob.start(tiny_spec_dict(), dataset, config, runs_root_dir=tmp_path / "runs")
    assert job.wait(timeout=180).state == "finished"
    saved = job.save("halves", models_dir=tmp_path / "models")
    assert held_out_path(saved.path).is_file() and saved.metadata["test_images"]["count"] == 64
    monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(tmp_path / "models"))
    app = run_page()
    app.radio(key="inspect.model_source").set_value("saved").run()
    assert_clean(app)
    assert not [box for box in app.selectbox if box.key == "inspect.dataset"]  # no MNIST
    captions = [caption.value for caption in app.caption]
    assert any("64 images this model never trained on" in text for text in captions)
    assert "test image #0 (top)" in markdown_text(app) + " ".join(captions)
    app.radio(key="inspect.pick_mode").set_value("misclassified").run()  # the worker reads them
    assert_clean(app)
    assert any("test images wrong" in caption.value for caption in app.caption)
