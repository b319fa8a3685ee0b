"""ui.train.data: picking the data, its previews, and the OpenCV imitation of Keras' augmentation.

The built-in sets come from the small bundled subsets here (the data folder is pointed at an
empty folder), so nothing depends on ``../shared/data``.
"""

from __future__ import annotations

import base64
import io
import re
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
from streamlit.testing.v1 import AppTest

from core.data.image_dataset import ImageDataset
from core.data.preprocessing import Preprocessing, preprocess
from core.jobs.train_config import Augmentation
from tests.apptest_helpers import (
    choose,
    elements_in,
    html_in,
    kept_pictures,
    keyed_block,
    markdown_text,
    pixels,
)
from tests.corpus.zips import ENTRIES as ZIP_CORPUS
from ui.train.data import (
    PREVIEW_COUNT,
    PREVIEW_PX,
    ROW_PX,
    DataChoice,
    _folder_npz,
    _montage,
    _picture,
    augment_image,
    builtin_dataset,
    labelled_rows_html,
    load_npz_dataset,
    preprocess_each,
)


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path, monkeypatch) -> Path:
    """Bundled data only, no image root, and a fresh runs folder for written data sets."""
    (tmp_path / "no-data").mkdir()
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    monkeypatch.setenv("CONVSCOPE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("CONVSCOPE_IMAGE_ROOT", raising=False)
    return tmp_path


def tiny_dataset(*, rgb: bool = False, counts=(3, 5)) -> ImageDataset:
    """Two classes of 6×6 images: class 0 all black, class 1 all white."""
    labels = np.repeat(np.arange(len(counts)), counts).astype(np.int64)
    shape = (len(labels), 6, 6, 3) if rgb else (len(labels), 6, 6)
    images = np.zeros(shape, np.uint8)
    images[labels == 1] = 255
    return ImageDataset(
        name="tiny",
        class_names=("dark", "light"),
        x_train=images,
        y_train=labels,
        x_test=images[:2],
        y_test=labels[:2],
        source="a test",
    )


def tiny_choice(**kwargs) -> DataChoice:
    dataset = tiny_dataset(**kwargs)
    preprocessing = Preprocessing()
    shape = preprocessing.input_shape_for(dataset.image_shape)
    return DataChoice("zip", dataset, "tiny.npz", preprocessing, shape)


def class_folders_zip(classes: dict[str, int], *, extra: dict[str, bytes] | None = None) -> bytes:
    """A zip of class folders of small PNGs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for label, (name, count) in enumerate(classes.items()):
            for index in range(count):
                image = np.full((10, 12, 3), 40 * label + index, np.uint8)
                png = cv2.imencode(".png", image)[1].tobytes()
                archive.writestr(f"set/{name}/{index}.png", png)
        for path, content in (extra or {}).items():
            archive.writestr(path, content)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


def test_builtin_data_comes_from_the_bundled_subset_when_nothing_else_is_there():
    dataset = builtin_dataset("mnist")
    assert dataset.source.startswith("bundled subset")
    assert dataset.x_train.shape == (6000, 28, 28)
    assert "bundled subset" in dataset.note


def test_a_folder_data_set_holds_back_a_stratified_fifth_for_testing(isolated_folders):
    dataset = tiny_dataset(counts=(10, 15))
    path = Path(_folder_npz(dataset))
    assert path.is_absolute() and path.parent == (isolated_folders / "runs" / "datasets").resolve()
    loaded = load_npz_dataset(str(path))
    assert (len(loaded.x_train), len(loaded.x_test)) == (20, 5)
    assert np.bincount(loaded.y_test).tolist() == [2, 3]  # the 2 : 3 of the whole set
    assert loaded.y_train.dtype == np.int64
    # No image is lost or used twice: the pixel sums add up (class 1 is all white).
    assert (loaded.x_train.sum() + loaded.x_test.sum()) == dataset.x_train.sum()
    assert _folder_npz(dataset) == str(path)  # same contents, same file


def test_a_written_data_set_keeps_its_name_classes_and_source(tmp_path):
    path = tmp_path / "my-pets-0123456789ab.npz"
    images = np.zeros((2, 4, 4, 3), np.uint8)
    np.savez(
        path,
        x_train=images,
        y_train=np.array([0, 1], np.uint8),
        x_test=images[:1],
        y_test=np.array([1], np.uint8),
        class_names=np.array(["cat", "dog"]),
    )
    loaded = load_npz_dataset(str(path))
    assert loaded.name == "my-pets"  # the content hash is dropped
    assert loaded.class_names == ("cat", "dog")
    assert loaded.source == "image folder"  # an older file without a source
    assert loaded.y_test.dtype == np.int64


def test_preprocessing_one_at_a_time_matches_the_batch_and_shrinks_five_rgb_images():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 40, 40, 3), dtype=np.uint8)
    settings = Preprocessing(target_size=16, color_mode="rgb")
    each = preprocess_each(images, settings)
    assert each.shape == (5, 16, 16, 3) and each.dtype == np.float32
    for index in range(5):
        np.testing.assert_allclose(each[index], preprocess(images[index : index + 1], settings)[0])


def test_a_montage_tiles_images_in_rows_with_white_gaps():
    images = np.stack([np.full((2, 3, 1), value, np.float32) for value in (0.25, 0.5, 0.75)])
    canvas = _montage(images, columns=2, gap=1)
    assert canvas.shape == (2 * 2 + 1, 2 * 3 + 1, 1)
    np.testing.assert_array_equal(canvas[:2, :3, 0], 0.25)
    np.testing.assert_array_equal(canvas[:2, 4:, 0], 0.5)
    np.testing.assert_array_equal(canvas[3:, :3, 0], 0.75)
    assert (canvas[2, :, 0] == 1).all() and (canvas[:, 3, 0] == 1).all()  # the gaps
    assert (canvas[3:, 4:, 0] == 1).all()  # the empty last tile


def test_a_picture_is_rgb_with_square_pixels_at_least_as_tall_as_asked():
    canvas = np.zeros((9, 4, 1), np.float32)
    canvas[5:, :, 0] = 1.0
    canvas[0, 0, 0] = 0.5
    picture = _picture(canvas, min_height=20)  # 9 rows × 3 = 27 ≥ 20
    assert picture.shape == (27, 12, 3) and picture.dtype == np.uint8
    assert picture[:3, :3].reshape(-1, 3).tolist() == [[128, 128, 128]] * 9  # one pixel
    assert picture[3, 3].tolist() == [0, 0, 0] and picture[-1, -1].tolist() == [255] * 3
    colour = np.zeros((2, 2, 3), np.float32)
    colour[0, 1] = (1.0, 0.0, 0.0)
    assert _picture(colour, min_height=1)[0, 1].tolist() == [255, 0, 0]  # no resampling


def decoded_rows(page: str) -> list[np.ndarray]:
    """The pictures of ``labelled_rows_html``, decoded from their ``data:`` addresses."""
    found = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    return [
        cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
        for data in found
    ]


def test_labelled_rows_carry_each_name_beside_its_own_picture():
    rows = [np.zeros((4, 8, 3), np.uint8), np.full((4, 8, 3), 255, np.uint8)]
    page = labelled_rows_html(rows, ["<dark>", "héllo 猫"])
    assert re.findall(r'nowrap">([^<]*)</div>', page) == ["&lt;dark&gt;", "héllo 猫"]
    shown = decoded_rows(page)
    assert [row.shape for row in shown] == [(4, 8, 3)] * 2
    assert (shown[0] == 0).all() and (shown[1] == 255).all()
    assert page.count(f"height:{ROW_PX}px") == 2
    assert labelled_rows_html(rows, ["a", "b"], height=10).count("height:10px") == 2


# ---------------------------------------------------------------------------
# augment_image against scipy.ndimage (linear interpolation, reflect filling)
# ---------------------------------------------------------------------------


def random_image(height=12, width=10, channels=1) -> np.ndarray:
    return np.random.default_rng(0).random((height, width, channels)).astype(np.float32)


def draws(seed: int, count: int = 4) -> list[float]:
    """The uniform draws augment_image makes (angle, scale, shift x, shift y) for `seed`."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1) for _ in range(count)]


def test_nothing_switched_on_keeps_the_image():
    image = random_image(channels=3)
    out = augment_image(image, Augmentation(), rng=np.random.default_rng(1))
    np.testing.assert_allclose(out, image, atol=1e-6)


def test_a_shift_matches_scipy_with_reflect_filling():
    image = random_image()
    _, _, shift_x, shift_y = draws(5)
    out = augment_image(image, Augmentation(translation=0.3), rng=np.random.default_rng(5))
    expected = ndi.shift(
        image[:, :, 0], (shift_y * 0.3 * 12, shift_x * 0.3 * 10), order=1, mode="reflect"
    )
    np.testing.assert_allclose(out[:, :, 0], expected, atol=1e-5)


def test_a_rotation_matches_scipy_about_the_image_centre():
    image = random_image()
    angle = draws(7)[0] * 0.25 * 360
    out = augment_image(image, Augmentation(rotation=0.25), rng=np.random.default_rng(7))
    expected = ndi.rotate(image[:, :, 0], angle, reshape=False, order=1, mode="reflect")
    np.testing.assert_allclose(out[:, :, 0], expected, atol=1e-5)


def test_a_zoom_matches_scipy_about_the_image_centre():
    image = random_image()
    scale = 1 + draws(3)[1] * 0.4
    out = augment_image(image, Augmentation(zoom=0.4), rng=np.random.default_rng(3))
    centre = np.array([(12 - 1) / 2, (10 - 1) / 2])
    expected = ndi.affine_transform(
        image[:, :, 0], np.eye(2) / scale, offset=centre - centre / scale, order=1, mode="reflect"
    )
    np.testing.assert_allclose(out[:, :, 0], expected, atol=1e-5)


def test_reflect_filling_never_brings_in_black():
    flat = np.full((8, 8, 3), 0.7, np.float32)
    strong = Augmentation(flip="horizontal", rotation=0.5, translation=0.5, zoom=0.5)
    for seed in range(5):
        out = augment_image(flat, strong, rng=np.random.default_rng(seed))
        np.testing.assert_allclose(out, 0.7, atol=1e-5)


@pytest.mark.parametrize(
    ("mode", "mirrored"),
    [("horizontal", lambda x: x[:, ::-1]), ("vertical", lambda x: x[::-1])],
)
def test_a_flip_mirrors_about_half_the_images(mode, mirrored):
    image = random_image(channels=2)
    outcomes = []
    for seed in range(40):
        out = augment_image(image, Augmentation(flip=mode), rng=np.random.default_rng(seed))
        if np.allclose(out, image, atol=1e-6):
            outcomes.append(False)
        else:
            np.testing.assert_allclose(out, mirrored(image), atol=1e-6)
            outcomes.append(True)
    assert 10 < sum(outcomes) < 30


# ---------------------------------------------------------------------------
# The widgets through AppTest
# ---------------------------------------------------------------------------


def picker_script():
    import streamlit as st

    from ui.train.data import data_picker

    st.session_state["result"] = data_picker()


def open_picker(kind: str | None = None) -> AppTest:
    at = AppTest.from_function(picker_script, default_timeout=30)
    at.run()
    if kind is not None:
        choose(at, "train.dataset", kind)
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_the_picker_starts_on_mnist_and_describes_the_source():
    at = open_picker()
    choice = at.session_state["result"]
    assert (choice.kind, choice.training_source, choice.input_shape) == (
        "mnist",
        "mnist",
        (28, 28, 1),
    )
    assert choice.preprocessing == Preprocessing(target_size=None, color_mode="grayscale")
    assert at.caption[0].value.startswith("**MNIST** from bundled subset")
    assert "6,000 training and 1,000 test images, 10 classes, each 28×28×1." in at.caption[0].value
    assert "bundled subset" in at.caption[1].value  # the note says why
    assert at.radio(key="train.color_mode.mnist").value == "grayscale"


def test_size_and_colour_settings_give_the_input_shape():
    at = open_picker()
    choose(at, "train.target_size.mnist", 48)
    at.radio(key="train.color_mode.mnist").set_value("rgb")
    at.radio(key="train.resize_mode.mnist").set_value("stretch").run()
    choice = at.session_state["result"]
    assert choice.input_shape == (48, 48, 3)
    assert choice.preprocessing == Preprocessing(48, "rgb", "stretch")


def test_each_data_set_starts_from_its_own_colour_mode():
    at = open_picker()
    choose(at, "train.target_size.mnist", 16)
    assert at.session_state["result"].input_shape == (16, 16, 1)
    choose(at, "train.dataset", "cifar10")
    choice = at.session_state["result"]
    assert choice.input_shape == (32, 32, 3)  # CIFAR-10 starts native and in colour
    assert "600 test images" in at.caption[0].value


@pytest.mark.xfail(
    strict=True,
    reason="Streamlit drops the state of widgets a run does not draw, so the per-data-set "
    "keys do not keep a set's settings while another set is shown",
)
def test_a_data_set_keeps_its_settings_while_another_is_shown():
    at = open_picker()
    choose(at, "train.target_size.mnist", 16)
    choose(at, "train.dataset", "cifar10")
    choose(at, "train.dataset", "mnist")
    assert at.session_state["result"].input_shape == (16, 16, 1)


def test_a_zip_of_class_folders_becomes_a_data_set_and_survives_clearing_the_upload():
    at = open_picker("zip")
    assert [i.value for i in at.info] == [
        "Upload a zip with one folder per class to train on your own images."
    ]
    assert at.session_state["result"] is None
    archive = class_folders_zip({"ants": 5, "bees": 5}, extra={"set/notes.txt": b"hello"})
    at.file_uploader(key="train.zip").set_value(("bugs.zip", archive, "application/zip")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    choice = at.session_state["result"]
    assert choice.kind == "zip" and choice.training_source.endswith(".npz")
    assert choice.dataset.class_names == ("ants", "bees")
    assert (len(choice.dataset.x_train), len(choice.dataset.x_test)) == (8, 2)
    assert choice.input_shape == (64, 64, 3)  # folders default to 64×64
    assert [w.value for w in at.warning] == ["Skipped 1 file that is not an image: notes.txt."]

    at.file_uploader(key="train.zip").set_value(None).run()
    assert "Using the zip you uploaded before: bugs.zip." in captions(at)
    assert at.session_state["result"].training_source == choice.training_source


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a zip", "These images cannot be used:"),
        (class_folders_zip({"ants": 4}), "at least 2 class folders"),
    ],
)
def test_an_unusable_zip_is_an_error_not_a_traceback(content, message):
    at = open_picker("zip")
    at.file_uploader(key="train.zip").set_value(("bad.zip", content, "application/zip")).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.session_state["result"] is None


def test_server_folders_need_an_image_root(isolated_folders, monkeypatch):
    at = open_picker("folder")
    assert any("CONVSCOPE_IMAGE_ROOT" in i.value for i in at.info)
    root = isolated_folders / "images"
    with zipfile.ZipFile(io.BytesIO(class_folders_zip({"ants": 5, "bees": 5}))) as archive:
        archive.extractall(root)
    monkeypatch.setenv("CONVSCOPE_IMAGE_ROOT", str(root))
    at = open_picker("folder")
    assert at.selectbox(key="train.server_folder").options == ["set"]
    choice = at.session_state["result"]
    assert choice.dataset.class_names == ("ants", "bees")
    assert "8 training and 2 test images, 2 classes" in captions(at)


def samples_script(choice):
    from ui.train.data import show_samples

    show_samples(choice)


def test_samples_show_a_row_per_class_and_the_class_counts():
    at = AppTest.from_function(samples_script, args=(tiny_choice(counts=(3, 5)),)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "**Examples per class** (after preprocessing)" in markdown_text(at)
    assert not at.get("plotly_chart")  # pictures and printed bars: no Plotly to load
    samples = html_in(keyed_block(at, "train.samples_chart"))
    assert re.findall(r'nowrap">([^<]*)</div>', samples) == ["dark", "light"]
    dark, light = decoded_rows(samples)
    assert dark.shape == light.shape == (6, 5 * 6 + 4, 3)  # 5 per row, 1-pixel gaps
    assert (dark[:, : 6 * 3 + 2] == 0).any()  # 3 black examples ...
    assert (dark[:, -6:] == 255).all()  # ... and white padding for the 2 missing
    assert (light == 255).all()
    assert samples.count(f"height:{ROW_PX}px") == 2  # every row as tall on screen
    counts = html_in(keyed_block(at, "train.counts_chart"))
    assert re.findall(r'nowrap">([^<]*)</div>', counts) == ["dark", "light"]
    assert re.findall(r">(\d+)</div>", counts) == ["3", "5"]
    assert re.findall(r"width:([\d.]+)%", counts) == ["60.0", "100.0"]


def augmentation_script(choice):
    import streamlit as st

    from ui.train.data import augmentation_controls, augmentation_preview

    augmentation = augmentation_controls()
    st.session_state["result"] = augmentation
    augmentation_preview(choice, augmentation)


def open_augmentation(choice=None) -> AppTest:
    at = AppTest.from_function(augmentation_script, args=(choice or tiny_choice(),))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def section_script(choice):
    import streamlit as st

    from ui.train.data import augmentation_section

    st.session_state["result"] = augmentation_section(choice)


def test_the_section_is_folded_at_first_and_keeps_its_values_folded():
    at = AppTest.from_function(section_script, args=(tiny_choice(),), default_timeout=30).run()
    assert not at.exception and not at.slider and not at.image  # nothing for the browser
    assert at.session_state["result"] == Augmentation()
    at.session_state["train.aug_open"] = True
    at.run()
    at.slider(key="train.aug_rotation").set_value(36).run()
    at.session_state["train.aug_open"] = False  # folded again
    at.run()
    assert not at.slider and at.session_state["result"] == Augmentation(rotation=0.1)
    at.run()  # a second run without the sliders: Streamlit would forget them unkept
    assert at.session_state["result"] == Augmentation(rotation=0.1)
    at.session_state["train.aug_open"] = True
    at.run()
    assert at.slider(key="train.aug_rotation").value == 36


def test_a_link_that_switches_augmentation_on_unfolds_the_section():
    at = AppTest.from_function(section_script, args=(tiny_choice(),), default_timeout=30)
    at.session_state["train.aug_zoom"] = 0.2  # as `zoom=0.2` in a link puts it
    at.run()
    assert not at.exception
    assert at.slider(key="train.aug_zoom").value == 0.2
    assert at.session_state["result"] == Augmentation(zoom=0.2)


def test_the_controls_return_an_augmentation_with_rotation_as_a_fraction_of_a_turn():
    at = open_augmentation()
    assert at.session_state["result"] == Augmentation()
    at.selectbox(key="train.aug_flip").set_value("vertical")
    at.slider(key="train.aug_rotation").set_value(36)
    at.slider(key="train.aug_shift").set_value(0.1)
    at.slider(key="train.aug_zoom").set_value(0.2).run()
    assert at.session_state["result"] == Augmentation(
        flip="vertical", rotation=0.1, translation=0.1, zoom=0.2
    )


def test_the_preview_says_when_all_copies_match_and_which_image_it_shows():
    at = open_augmentation()
    caption = at.caption[-1].value
    assert caption.startswith("First: the original (dark).")
    assert "an OpenCV imitation of Keras' random layers" in caption
    assert caption.endswith("No augmentation is switched on, so all match.")
    at.number_input(key="train.aug_image").set_value(4).run()
    assert at.caption[-1].value.startswith("First: the original (light).")


def test_the_preview_strip_holds_the_original_and_its_copies():
    with kept_pictures() as kept:
        at = open_augmentation()
    (image,) = elements_in(keyed_block(at, "train.aug_chart"), "image")
    factor = -(-PREVIEW_PX // 6)  # 6-pixel images, enlarged with square pixels
    strip = pixels(kept, image)[::factor, ::factor]
    assert strip.shape == (6, PREVIEW_COUNT * 6 + (PREVIEW_COUNT - 1) * 2, 3)  # gaps of 2
    tiles = [strip[:, start : start + 6] for start in range(0, strip.shape[1], 8)]
    assert len(tiles) == PREVIEW_COUNT
    assert all((tile == 0).all() for tile in tiles)  # image 0 is black; no change switched on
    assert (strip[:, 6:8] == 255).all()  # a white gap


def test_keras_layers_are_not_started_when_nothing_is_switched_on():
    at = open_augmentation()
    at.toggle(key="train.aug_exact").set_value(True).run()
    assert not at.warning
    assert "an OpenCV imitation" in at.caption[-1].value


def test_a_new_random_draw_changes_the_seed():
    at = open_augmentation()
    at.slider(key="train.aug_rotation").set_value(45).run()
    assert "train.aug_seed" not in at.session_state
    at.button(key="train.aug_redraw").click().run()
    assert at.session_state["train.aug_seed"] == 1
    assert "made by an OpenCV imitation" in at.caption[-1].value
    assert "all match" not in at.caption[-1].value


# --------------------------------------------------------------------------- the zip corpus

_ZIPS = [entry for entry in ZIP_CORPUS if entry.name != "zip/many-tiny-images"]  # slow, plain


def _unescaped(text: str) -> str:
    """Markdown as the reader sees it (the page escapes names with ``markdown_literal``)."""
    return re.sub(r"\\([\\`*_\[\]<>#|~$])", r"\1", text)


@pytest.mark.parametrize("entry", _ZIPS, ids=lambda entry: entry.name)
def test_every_corpus_zip_gets_its_message_in_the_page(entry, isolated_folders):
    at = open_picker("zip")
    before = {p for p in isolated_folders.rglob("*") if "runs" not in p.parts}
    upload = (entry.filename, entry.make(), "application/zip")
    at.file_uploader(key="train.zip").set_value(upload).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [_unescaped(e.value) for e in at.error]
    warnings = [_unescaped(w.value) for w in at.warning]
    if entry.outcome == "refuse":
        assert any(entry.message.lower() in error.lower() for error in errors), errors
        assert at.session_state["result"] is None
    else:
        assert not errors, errors
        assert at.session_state["result"].kind == "zip"
        if entry.outcome == "note":
            assert any(entry.message.lower() in w.lower() for w in warnings), warnings
        else:
            assert not warnings, warnings
    # Only the data set for the worker is written, in the runs folder.
    assert {p for p in isolated_folders.rglob("*") if "runs" not in p.parts} == before
