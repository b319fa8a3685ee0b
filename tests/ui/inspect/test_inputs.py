"""ui.inspect.inputs: test images, photos, the camera and drawing, as the network receives them.

The built-in test images are the bundled subsets (the data folder points at an empty folder).
Only "misclassified only" asks the inference worker, so that test is marked slow.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.data import builtin, network_input
from core.data.preprocessing import Preprocessing
from core.jobs.inspection import DatasetRef
from tests.ui.inspect.small_network import model_info
from ui.inspect import inputs  # not `TestSet` itself: pytest would try to collect it
from ui.inspect.inputs import compatible_datasets, load_test_set
from ui.inspect.models import ModelChoice

DIGITS = tuple(str(digit) for digit in range(10))
MNIST_SETTINGS = tuple(sorted(vars(Preprocessing(target_size=28)).items()))


@pytest.fixture(autouse=True)
def bundled_data(tmp_path, monkeypatch) -> Path:
    (tmp_path / "no-data").mkdir()
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    return tmp_path / "no-data"


def mnist_info(**changes):
    return model_info(**({"input_shape": (28, 28, 1), "num_classes": 10} | changes))


def small_test_set(labels=(0, 1, 2, 0, 1, 2), class_names=DIGITS) -> inputs.TestSet:
    """One 28×28 test image per label, image i filled with (i + 1) / 10."""
    count = len(labels)
    images = np.stack([np.full((28, 28, 1), (i + 1) / 10, np.float32) for i in range(count)])
    settings = dict(MNIST_SETTINGS)
    return inputs.TestSet(
        "mnist",
        class_names,
        np.zeros((count, 28, 28), np.uint8),
        images,
        np.array(labels),
        "a test",
        DatasetRef.make("mnist", settings, limit=count),
    )


# ---------------------------------------------------------------------------
# Test sets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("input_shape", "order"),
    [
        ((28, 28, 1), ["mnist", "fashion_mnist", "cifar10"]),
        ((32, 32, 3), ["cifar10", "mnist", "fashion_mnist"]),
        ((64, 64, 3), ["mnist", "fashion_mnist", "cifar10"]),
    ],
)
def test_data_sets_of_the_inputs_shape_come_first(input_shape, order):
    assert compatible_datasets(input_shape) == order


def test_a_test_set_is_prepared_for_the_model_and_read_only(bundled_data):
    test = load_test_set("mnist", MNIST_SETTINGS, (28, 28, 1), builtin.lookup_settings())
    dataset = builtin.load_builtin("mnist")
    assert test.raw.shape == (1000, 28, 28) and test.images.shape == (1000, 28, 28, 1)
    assert test.images.dtype == np.float32 and not test.images.flags.writeable
    np.testing.assert_allclose(test.images[..., 0], dataset.x_test / 255.0, atol=1e-6)
    np.testing.assert_array_equal(test.labels, dataset.y_test)
    assert test.class_names == DIGITS and test.source.startswith("bundled subset")
    assert test.reference == DatasetRef.make(
        "mnist", dict(MNIST_SETTINGS), limit=1000, data_dir=str(bundled_data)
    )


def test_grey_digits_are_resized_and_coloured_for_a_colour_model():
    settings = tuple(sorted(vars(Preprocessing(target_size=32, color_mode="rgb")).items()))
    test = load_test_set("mnist", settings, (32, 32, 3), builtin.lookup_settings())
    assert test.images.shape == (1000, 32, 32, 3)
    np.testing.assert_array_equal(test.images[..., 0], test.images[..., 2])


def test_images_that_do_not_fit_the_model_are_refused():
    with pytest.raises(ValueError, match="expects"):
        load_test_set("mnist", MNIST_SETTINGS, (32, 32, 1), builtin.lookup_settings())


def data_for_model_script(choice, info):
    import streamlit as st

    from ui.inspect.inputs import test_set_for

    st.session_state["result"] = test_set_for(choice, info)


def open_test_set(metadata: dict, info) -> AppTest:
    choice = ModelChoice("/models/m.keras", "m.keras", metadata)
    at = AppTest.from_function(data_for_model_script, args=(choice, info), default_timeout=20).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_model_that_names_its_data_gets_that_test_set_without_asking():
    at = open_test_set({"dataset": "fashion_mnist"}, mnist_info())
    assert not at.selectbox
    test = at.session_state["result"]
    assert test.name == "fashion_mnist" and test.class_names[-1] == "Ankle boot"


def test_a_model_without_a_sidecar_picks_from_the_best_fitting_sets():
    at = open_test_set({}, model_info(input_shape=(32, 32, 3), num_classes=10))
    picker = at.selectbox(key="inspect.dataset")
    assert picker.options == ["CIFAR-10", "MNIST", "Fashion-MNIST"]
    assert at.session_state["result"].images.shape[1:] == (32, 32, 3)
    picker.set_value("mnist").run()
    test = at.session_state["result"]
    assert test.name == "mnist" and test.images.shape[1:] == (32, 32, 3)


def test_a_model_input_no_data_set_fits_is_an_error():
    at = open_test_set({"dataset": "mnist"}, mnist_info(input_shape=(20, 30, 1)))
    [error] = [e.value for e in at.error]
    assert error.startswith("The MNIST test images cannot be used:")
    assert at.session_state["result"] is None


def pets_model(tmp_path) -> ModelChoice:
    """A model saved from a run on an uploaded two-class set: 12×12 RGB "cats" and "dogs"."""
    from core.jobs import model_store

    rng = np.random.default_rng(0)
    dataset = tmp_path / "pets.npz"
    np.savez(
        dataset,
        x_train=rng.integers(0, 255, (8, 12, 12, 3), dtype=np.uint8),
        y_train=np.arange(8) % 2,
        x_test=rng.integers(0, 255, (6, 12, 12, 3), dtype=np.uint8),
        y_test=np.array([0, 1, 1, 0, 1, 0]),
        class_names=np.array(["cats", "dogs"]),
    )
    source = tmp_path / "model.keras"
    source.write_bytes(b"PK\x03\x04 stand-in")  # the picker never opens the model itself
    metadata = {
        "dataset": "pets.npz",
        "class_names": ["cats", "dogs"],
        "preprocessing": {"target_size": 12, "color_mode": "rgb"},
    }
    saved = model_store.save_model_file(
        source, "pets", metadata, models_dir=tmp_path / "store", test_split=dataset
    )
    return ModelChoice(str(saved.path), saved.name, saved.metadata)


def test_a_model_trained_on_its_own_data_is_offered_its_own_test_images_first(tmp_path):
    choice = pets_model(tmp_path)
    info = model_info(input_shape=(12, 12, 3), num_classes=2)
    at = AppTest.from_function(data_for_model_script, args=(choice, info), default_timeout=20)
    at.run()
    assert not at.exception and not at.selectbox  # no MNIST, nothing to pick
    test = at.session_state["result"]
    assert test.class_names == ("cats", "dogs") and list(test.labels) == [0, 1, 1, 0, 1, 0]
    with np.load(tmp_path / "pets.npz") as arrays:
        np.testing.assert_array_equal(test.raw, arrays["x_test"])
        expected = network_input.prepare_images(
            arrays["x_test"], Preprocessing(target_size=12, color_mode="rgb"), (12, 12, 3)
        )
    np.testing.assert_allclose(test.images, expected)  # exactly as in training
    assert test.reference.name.endswith("pets.test.npz")
    assert any("6 images this model never trained on" in c.value for c in at.caption)
    # The picker labels them with the model's own classes.
    at = AppTest.from_function(picker_script, args=(choice, info, test)).run()
    assert at.session_state["result"].label == "test image #0 (cats)"
    assert at.session_state["result"].true_class == 0


def pets_zip(folders=("cats", "dogs")) -> bytes:
    """Two 20×20 photos per class folder: dark ones in the first, bright ones after."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number, folder in enumerate(folders):
            for copy in range(2):
                pixels = np.full((20, 20, 3), 40 + 150 * number + copy, np.uint8)
                archive.writestr(f"{folder}/{copy}.png", cv2.imencode(".png", pixels)[1].tobytes())
    return buffer.getvalue()


def test_a_zip_of_test_images_is_labelled_with_the_models_classes(tmp_path):
    choice = pets_model(tmp_path)
    info = model_info(input_shape=(12, 12, 3), num_classes=2)
    at = AppTest.from_function(data_for_model_script, args=(choice, info), default_timeout=30)
    at.run()
    assert not at.get("file_uploader")  # built only once its section is opened
    at.session_state["inspect.test_zip_open"] = True
    at.run()
    uploader = at.get("file_uploader")[0]
    uploader.set_value(("mine.zip", pets_zip(("dogs", "cats")), "application/zip")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    test = at.session_state["result"]
    assert test.class_names == ("cats", "dogs") and len(test.images) == 4
    # Folder "cats" is the model's class 0 whatever its place in the zip: brightness says which.
    bright = test.images.mean(axis=(1, 2, 3)) > 0.5
    np.testing.assert_array_equal(test.labels, np.where(bright, 0, 1))
    assert test.images.shape[1:] == (12, 12, 3)
    assert "Test images: the 4 images of your zip." in [c.value for c in at.caption]
    uploader = at.get("file_uploader")[0]
    uploader.set_value(("b.zip", pets_zip(("cats", "birds")), "application/zip")).run()
    [error] = [e.value for e in at.error]
    assert error.startswith("These test images cannot be used: the folders birds are not")
    uploader = at.get("file_uploader")[0]
    uploader.set_value(("x.zip", b"not a zip at all", "application/zip")).run()
    assert at.error and not at.exception
    assert len(at.session_state["result"].images) == 6  # the error says why; its own images stay
    at.session_state["inspect.test_zip_open"] = False  # folded: the model's own test set again
    at.run()
    assert not at.get("file_uploader") and not at.error
    assert len(at.session_state["result"].images) == 6


# ---------------------------------------------------------------------------
# Picking an input
# ---------------------------------------------------------------------------


def picker_script(choice, info, test):
    import streamlit as st

    from ui.inspect.inputs import input_picker

    st.session_state["result"] = input_picker(choice, info, test)


def open_picker(info=None, test=None, metadata=None, kind=None) -> AppTest:
    choice = ModelChoice("/models/m.keras", "m.keras", metadata or {})
    info = mnist_info() if info is None else info
    at = AppTest.from_function(picker_script, args=(choice, info, test)).run()
    if kind is not None:
        at.radio(key="inspect.input_kind").set_value(kind).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def test_the_kinds_of_input_depend_on_the_model_and_the_test_set():
    assert open_picker(test=small_test_set()).radio(key="inspect.input_kind").options == [
        "Test image",
        "Upload a photo",
        "Draw a digit",
        "Camera",
    ]
    colour = model_info(input_shape=(32, 32, 3))
    assert open_picker(colour, None).radio(key="inspect.input_kind").options == [
        "Upload a photo",
        "Camera",
    ]


def test_a_test_image_is_picked_by_its_index():
    at = open_picker(test=small_test_set())
    sample = at.session_state["result"]
    assert (sample.label, sample.true_class, sample.kind) == ("test image #0 (0)", 0, "test")
    assert at.button(key="inspect.test_index_back").disabled  # no image before #0
    at.button(key="inspect.test_index_next").click().run()
    assert at.session_state["result"].label == "test image #1 (1)"
    assert "**Test image #1 (0 to 5)**" in [m.value for m in at.markdown]
    at.session_state["inspect.test_index"] = 4  # as a link or the "Go to" box sets it
    at.run()
    sample = at.session_state["result"]
    assert (sample.label, sample.true_class) == ("test image #4 (1)", 1)
    assert sample.image.shape == (28, 28, 1) and sample.image[0, 0, 0] == pytest.approx(0.5)
    at.button(key="inspect.test_index_next").click().run()
    assert at.session_state["result"].label.startswith("test image #5 ")
    assert at.button(key="inspect.test_index_next").disabled  # #5 is the last of six


def test_a_class_is_stepped_through_one_example_at_a_time():
    at = open_picker(test=small_test_set())
    at.radio(key="inspect.pick_mode").set_value("class").run()
    at.selectbox(key="inspect.pick_class").set_value(2).run()
    assert "**Example 1 of 2**" in [m.value for m in at.markdown]  # images 2 and 5
    assert captions(at) == ["Test image #2"]
    at.button(key="inspect.position_class_next").click().run()
    assert captions(at) == ["Test image #5"]
    assert at.button(key="inspect.position_class_next").disabled
    assert at.session_state["result"].label == "test image #5 (2)"


def test_a_class_without_test_images_says_so():
    at = open_picker(test=small_test_set())
    at.radio(key="inspect.pick_mode").set_value("class").run()
    at.selectbox(key="inspect.pick_class").set_value(7).run()
    assert [i.value for i in at.info] == ["No test images match; pick another way."]
    assert at.session_state["result"] is None


def test_a_random_image_is_drawn_on_request():
    at = open_picker(test=small_test_set())
    at.radio(key="inspect.pick_mode").set_value("random").run()
    assert captions(at) == ["Test image #0"]
    seen = set()
    for _ in range(12):
        at.button(key="inspect.random").click().run()
        index = at.session_state["inspect.test_index"]
        assert captions(at) == [f"Test image #{index}"]
        assert at.session_state["result"].label.startswith(f"test image #{index} ")
        seen.add(index)
    assert len(seen) > 1 and seen <= set(range(6))


def test_labels_of_a_data_set_with_other_classes_are_shown_but_never_judged():
    at = open_picker(model_info(input_shape=(28, 28, 1), num_classes=3), small_test_set())
    assert captions(at)[0] == (
        "The model has 3 outputs but MNIST has 10 classes, so its labels cannot be right or "
        "wrong here."
    )
    assert "Misclassified only" not in at.radio(key="inspect.pick_mode").options
    assert at.session_state["result"].true_class is None


def photo(ink_on_paper: bool = True, suffix: str = ".png") -> bytes:
    """A "1" drawn as a dark stroke on white paper (or white on black), 60×40 pixels."""
    paper = np.full((60, 40), 255 if ink_on_paper else 0, np.uint8)
    paper[10:50, 17:23] = 0 if ink_on_paper else 255
    return cv2.imencode(suffix, paper)[1].tobytes()


def test_a_photo_is_asked_for_then_prepared_like_the_training_images():
    at = open_picker(kind="upload")
    assert [i.value for i in at.info] == ["Choose a photo."]
    at.file_uploader(key="inspect.photo").set_value(("one.png", photo(), "image/png")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    sample = at.session_state["result"]
    assert (sample.label, sample.kind, sample.true_class) == ("one.png", "upload", None)
    assert sample.image.shape == (28, 28, 1)
    assert at.toggle(key="inspect.invert_upload").value is True  # grey models: on
    # Inverted, scaled to 28 rows and padded at the sides: a light stroke on black, like MNIST.
    assert sample.image[14, 12:15, 0].min() > 0.85
    assert sample.image[:, :4].max() == 0.0 and sample.image[:, 24:].max() == 0.0
    assert sample.image.mean() < 0.2
    at.toggle(key="inspect.invert_upload").set_value(False).run()
    plain = at.session_state["result"].image[14, :, 0]
    assert plain[5] == pytest.approx(1.0) and plain[13] < 0.1  # white paper, dark ink
    assert plain[0] == 0.0  # the padding stays black


def test_colour_models_take_colour_photos_without_inverting():
    at = open_picker(model_info(input_shape=(32, 32, 3)), kind="upload")
    at.file_uploader(key="inspect.photo").set_value(("one.jpg", photo(False, ".jpg"), "image/jpeg"))
    at.run()
    assert not at.toggle  # no "invert" for a colour photo model: it never applies
    sample = at.session_state["result"]
    assert sample.image.shape == (32, 32, 3)
    # Not inverted: the white stroke on black stays light, the black paper dark.
    assert sample.image[16, 14:17].min() > 0.8 and sample.image[16, 2].max() < 0.1


def test_a_broken_photo_is_an_error_naming_the_file():
    at = open_picker(kind="upload")
    at.file_uploader(key="inspect.photo").set_value(("x.png", b"not an image", "image/png")).run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert error.startswith("**x.png** cannot be used as input:")
    assert at.session_state["result"] is None


def test_what_decoding_changed_in_a_photo_is_said():
    values = np.full((20, 20), 0.5, np.float32)
    values[3, 3] = np.nan
    tiff = cv2.imencode(".tiff", values)[1].tobytes()
    at = open_picker(kind="upload")
    at.file_uploader(key="inspect.photo").set_value(("nan.tif", tiff, "image/tiff")).run()
    assert not at.exception and not at.error
    assert "ℹ️ 1 value was NaN (not a number) and is shown as 0." in [c.value for c in at.caption]


def test_the_camera_takes_the_photo_path():
    at = open_picker(kind="camera")
    assert [i.value for i in at.info] == ["Take a picture."]
    at.camera_input(key="inspect.camera").set_value(
        ("shot.jpg", photo(suffix=".jpg"), "image/jpeg")
    )
    at.run()
    sample = at.session_state["result"]
    assert (sample.kind, sample.image.shape) == ("camera", (28, 28, 1))
    assert at.toggle(key="inspect.invert_camera").value is True


def test_drawing_without_a_drawing_asks_for_one_and_never_breaks():
    at = open_picker(kind="draw")
    assert not at.exception
    # The canvas is a browser component: AppTest gets no drawing (or no component at all).
    assert at.info or at.error
    assert at.session_state["result"] is None


def drawing_script(info):
    import streamlit as st

    from ui.inspect.inputs import _drawing

    st.session_state["result"] = _drawing(info)


def test_drawing_is_only_for_28_pixel_grey_models():
    at = AppTest.from_function(drawing_script, args=(model_info(),)).run()
    assert [i.value for i in at.info] == [
        "Drawing works for 28×28 grayscale models such as the MNIST ones."
    ]


# ---------------------------------------------------------------------------
# Misclassified only: the real worker classifies the test images
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_misclassified_only_steps_through_the_bundled_models_mistakes():
    from tests.inspect_helpers import MNIST_MODEL

    test = load_test_set("mnist", MNIST_SETTINGS, (28, 28, 1), builtin.lookup_settings())
    choice = ModelChoice(str(MNIST_MODEL), "mnist_cnn_a", {"dataset": "mnist"})
    at = AppTest.from_function(picker_script, args=(choice, mnist_info(), test))
    at.default_timeout = 120
    at.run()
    at.radio(key="inspect.pick_mode").set_value("misclassified").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    summary = next(c for c in captions(at) if "test images wrong" in c)
    wrong = int(summary.split("gets ")[1].split(" of")[0])
    assert 0 < wrong < 50  # a 99% model on 1,000 digits
    assert summary == (
        f"The model gets {wrong} of 1,000 test images wrong ({1 - wrong / 1000:.2%} accuracy)."
    )
    assert f"**Example 1 of {wrong}**" in [m.value for m in at.markdown]


def test_the_photo_uploader_takes_what_every_image_uploader_takes():
    """A GIF (even a hostile one) gets the app's own message, not the uploader's refusal."""
    import inspect as source

    from ui.inspect import inputs
    from ui.widgets.image_input import IMAGE_TYPES

    assert "gif" in IMAGE_TYPES
    assert "type=list(IMAGE_TYPES)" in source.getsource(inputs)
