"""Input picker of "Inspect a Network": a test image, a photo, a drawn digit or the camera.

`input_picker` returns an `InputSample`: the image exactly as the network receives it
(float32 `(H, W, C)` in [0, 1], prepared like the model's training data by
`core.data.network_input`) and what it is. Problems are shown with `st.info` / `st.error` and
give None, never a traceback.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.data import builtin, catalog, image_dataset, image_folders, network_input
from core.data.preprocessing import Preprocessing
from core.imaging.images import ImageDecodeError
from core.jobs.files import atomic_write_bytes
from core.jobs.held_out import HELD_OUT_SUFFIX, held_out_path, read_held_out
from core.jobs.inspection import SCAN_LIMIT, DatasetRef, InferenceError, ModelInfo
from core.jobs.uploads import upload_dir, zip_problem
from ui.inspect.models import ModelChoice, inference_client
from ui.widgets.image_input import IMAGE_TYPES, decode_upload
from ui.widgets.number_pick import pick_number
from ui.widgets.plain_text import markdown_literal

KINDS = ("test", "upload", "draw", "camera")


KIND_LABELS = {
    "test": "Test image",
    "upload": "Upload a photo",
    "draw": "Draw a digit",
    "camera": "Camera",
}


PICK_MODES = ("index", "random", "class", "misclassified")


PICK_LABELS = {
    "index": "By index",
    "random": "Random",
    "class": "By class",
    "misclassified": "Misclassified only",
}


CANVAS_SIZE = 280


# `TestSet.name` of a model's own test images (not a built-in data set).
OWN_DATA = "own"


@dataclass(frozen=True)
class InputSample:
    """The network's input and where it came from."""

    image: np.ndarray  # float32 (H, W, C) in [0, 1]
    label: str
    true_class: int | None = None
    kind: str = "test"


@dataclass(frozen=True)
class TestSet:
    """Test images of a built-in data set, raw (uint8) and prepared for the model."""

    name: str
    class_names: tuple[str, ...]
    raw: np.ndarray
    images: np.ndarray
    labels: np.ndarray
    source: str
    reference: DatasetRef


@st.cache_resource(show_spinner=False, max_entries=6)
def load_test_set(name: str, preprocessing: tuple, input_shape: tuple, lookup: tuple) -> TestSet:
    """The first `SCAN_LIMIT` test images of `name`, prepared for a model (shared, read-only).

    `lookup` is `builtin.lookup_settings()`: part of the cache key, so other data is never
    served from an old copy.
    """
    dataset = builtin.load_builtin(name, data_dir=lookup[0])
    settings = dict(preprocessing)
    raw = dataset.x_test[:SCAN_LIMIT]
    images = network_input.prepare_images(raw, Preprocessing(**settings), input_shape)
    images.setflags(write=False)
    reference = DatasetRef.make(name, settings, limit=len(raw), data_dir=lookup[0])
    return TestSet(
        name,
        dataset.class_names,
        raw,
        images,
        dataset.y_test[: len(raw)],
        dataset.source,
        reference,
    )


@st.cache_resource(show_spinner=False, max_entries=4)
def load_own_test_set(
    path: str, modified: float, class_names: tuple, preprocessing: tuple, input_shape: tuple
) -> TestSet | None:
    """A stored model's own test images (`core.jobs.held_out`), prepared as in training.

    `modified` (the file's time) is part of the cache key: a model saved again under the same
    name never gets the old images. None when the file cannot be read.
    """
    held = read_held_out(path)
    if held is None:
        return None
    settings = dict(preprocessing)
    raw = held["x_test"]
    images = network_input.prepare_images(raw, Preprocessing(**settings), input_shape)
    images.setflags(write=False)
    names = class_names or tuple(str(name) for name in held["class_names"])
    labels = held["y_test"].astype(np.int64)
    reference = DatasetRef.make(path, settings, limit=len(raw))
    return TestSet(OWN_DATA, names, raw, images, labels, "the model's own test images", reference)


def _own_test_set(choice: ModelChoice, info: ModelInfo, settings: tuple) -> TestSet | None:
    path = held_out_path(choice.path)
    if not path.is_file():
        return None
    names = tuple(str(n) for n in choice.metadata.get("class_names") or ())
    test = load_own_test_set(
        str(path), path.stat().st_mtime, names, settings, tuple(info.input_shape)
    )
    if test is not None:
        kept = choice.metadata.get("test_images") or {}
        count, total = kept.get("count", len(test.images)), kept.get("of", len(test.images))
        of = f" of its {total:,}" if isinstance(total, int) and total > count else ""
        st.caption(
            f"Test images: {count:,}{of} images this model never trained on, kept when it "
            "was saved, prepared exactly as in training."
        )
    return test


def _uploaded_test_set(choice: ModelChoice, info: ModelInfo, settings: tuple) -> TestSet | None:
    """A zip of class folders as test images, labelled with the model's own class names.

    The uploader is built only while its section is open (it costs the browser on every
    first visit otherwise); folding the section puts the model's own test images back.
    """
    section = st.expander(
        "Upload test images of your own", key="inspect.test_zip_open", on_change="rerun"
    )
    if section.open is False:
        return None
    upload = section.file_uploader(
        "Test images of your own (a zip of class folders)",
        type=["zip"],
        key="inspect.test_zip",
        help="One folder per class, named like the model's classes (e.g. cats/ and dogs/). "
        "Checked like a training upload; prepared exactly as the model's training images. "
        "Fold this section to use the model's own test images again.",
    )
    if upload is None:
        return None
    data = upload.getvalue()
    names = [str(n) for n in choice.metadata.get("class_names") or range(info.num_classes)]
    try:
        if problem := zip_problem(data):
            raise ValueError(problem)
        dataset, _ = image_folders.load_image_folder_zip(data, name=upload.name)
        unknown = [name for name in dataset.class_names if name not in names]
        if unknown:
            raise ValueError(
                f"the folders {', '.join(unknown)} are not classes of this model "
                f"({', '.join(names)}): name each folder after the class of its images."
            )
        labels = np.array([names.index(dataset.class_names[y]) for y in dataset.y_train])
        digest = hashlib.sha256(data).hexdigest()[:16]
        path = upload_dir() / f"test-{digest}{HELD_OUT_SUFFIX}"
        if not path.is_file():
            buffer = io.BytesIO()
            np.savez(buffer, x_test=dataset.x_train, y_test=labels, class_names=np.array(names))
            atomic_write_bytes(path, buffer.getvalue())
        test = load_own_test_set(
            str(path), path.stat().st_mtime, tuple(names), settings, tuple(info.input_shape)
        )
    except (ValueError, OSError) as error:
        st.error(f"These test images cannot be used: {markdown_literal(str(error))}")
        return None
    if test is not None:
        st.caption(f"Test images: the {len(test.images):,} images of your zip.")
    return test


def compatible_datasets(input_shape: tuple) -> list[str]:
    """Built-in data sets whose images fit the input best: same size and channels first."""
    native = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
    exact = [name for name, shape in native.items() if shape == tuple(input_shape)]
    return exact + [name for name in native if name not in exact]


def test_set_for(choice: ModelChoice, info: ModelInfo) -> TestSet | None:
    """The test set the model was trained on: its own kept test images, the built-in set it
    names, or (for uploads) the one the user picks."""
    preprocessing = network_input.preprocessing_for(choice.metadata, info.input_shape)
    settings = tuple(sorted(vars(preprocessing).items()))
    uploaded = _uploaded_test_set(choice, info, settings)
    if uploaded is not None:
        return uploaded
    own = _own_test_set(choice, info, settings)
    if own is not None:
        return own
    trained_on = choice.metadata.get("dataset")
    if trained_on in catalog.BUILTIN_DATASETS:
        name = trained_on
    else:
        options = compatible_datasets(info.input_shape)
        name = st.selectbox(
            "Test images from",
            options,
            format_func=lambda n: catalog.DISPLAY_NAMES[n],
            key="inspect.dataset",
            help="This model does not say what it was trained on. Pick the data set whose "
            "images look like its training data; they are resized to the model's input.",
        )
    try:
        return load_test_set(name, settings, tuple(info.input_shape), builtin.lookup_settings())
    except (ValueError, image_dataset.DatasetUnavailableError) as error:
        st.error(f"The {catalog.DISPLAY_NAMES[name]} test images cannot be used: {error}")
        return None


def _pick_test_image(choice: ModelChoice, test: TestSet, num_classes: int) -> InputSample | None:
    count = len(test.images)
    # Labels only mean something to the model when it was trained on these classes.
    comparable = len(test.class_names) == num_classes
    if not comparable:
        st.caption(
            f"The model has {num_classes} outputs but "
            f"{catalog.DISPLAY_NAMES.get(test.name, 'its test set')} has "
            f"{len(test.class_names)} classes, so its labels cannot be right or wrong here."
        )
    mode = st.radio(
        "Pick",
        PICK_MODES if comparable else PICK_MODES[:3],
        format_func=PICK_LABELS.get,
        horizontal=True,
        key="inspect.pick_mode",
        help="Choose a test image by its number, at random, among one class, or only among "
        "the images this model gets wrong.",
    )
    if "inspect.test_index" not in st.session_state:
        st.session_state["inspect.test_index"] = 0
    candidates = np.arange(count)
    if mode == "class":
        label = st.selectbox(
            "Class",
            range(len(test.class_names)),
            format_func=lambda i: test.class_names[i],
            key="inspect.pick_class",
            help="Only test images whose true label is this class.",
        )
        candidates = np.flatnonzero(test.labels == label)
    elif mode == "misclassified":
        try:
            with st.spinner(f"Classifying {count:,} test images…"):
                predicted, _ = inference_client().predict_dataset(choice.path, test.reference)
        except (ValueError, InferenceError) as error:
            st.error(f"Could not classify the test images: {error}")
            return None
        candidates = np.flatnonzero(predicted != test.labels)
        st.caption(
            f"The model gets {len(candidates):,} of {count:,} test images wrong "
            f"({1 - len(candidates) / count:.2%} accuracy)."
        )
    if len(candidates) == 0:
        st.info("No test images match; pick another way.")
        return None
    if mode == "random":
        if st.button("Another random image", key="inspect.random", help="Draw a new index."):
            st.session_state["inspect.test_index"] = int(np.random.default_rng().integers(count))
        index = int(st.session_state["inspect.test_index"]) % count
        st.caption(f"Test image #{index}")
    elif mode == "index":
        index = pick_number(
            "Test image",
            "inspect.test_index",
            0,
            count - 1,
            help=f"Position in the test set, 0 to {count - 1:,}.",
            describe=lambda i: f"Test image #{i} (0 to {count - 1:,})",
        )
    else:
        position = pick_number(
            "Example",
            f"inspect.position_{mode}",
            1,
            len(candidates),
            help="Step through the matching test images one by one.",
        )
        index = int(candidates[position - 1])
        st.caption(f"Test image #{index}")
    index = int(index)
    label = int(test.labels[index])
    return InputSample(
        test.images[index],
        f"test image #{index} ({test.class_names[label]})",
        label if comparable else None,
    )


def _photo(choice: ModelChoice, info: ModelInfo, data: bytes, file_id: str, label: str, kind):
    # Only one-channel (digit-like) models learned light-on-black: no toggle for colour ones.
    invert = info.input_shape[2] == 1 and st.toggle(
        "Invert (dark strokes on light paper → light on dark)",
        value=True,
        key=f"inspect.invert_{kind}",
        help="MNIST and Fashion-MNIST show light objects on black. A photo of a digit on "
        "white paper must be inverted to look like that.",
    )
    try:
        pixels, notes, _ = decode_upload(file_id, data, 512)
        preprocessing = network_input.preprocessing_for(choice.metadata, info.input_shape)
        image = network_input.prepare_photo(pixels, preprocessing, info.input_shape, invert=invert)
    except (ImageDecodeError, ValueError) as error:
        st.error(f"**{markdown_literal(label)}** cannot be used as input: {error}")
        return None
    for note in notes:  # NaN replaced, 16-bit scaled, first frame, ...
        st.caption(f"ℹ️ {note}")
    return InputSample(image, label, None, kind)


def _drawing(info: ModelInfo) -> InputSample | None:
    if tuple(info.input_shape) != (28, 28, 1):
        st.info("Drawing works for 28×28 grayscale models such as the MNIST ones.")
        return None
    st.caption(
        "Draw one digit, large and centred, with the mouse or a finger. It is cropped, "
        "scaled into a 20×20 box and centred by its mass in 28×28, as the MNIST digits were."
    )
    try:
        from streamlit_drawable_canvas import st_canvas

        result = st_canvas(
            stroke_width=18,
            stroke_color="#FFFFFF",
            background_color="#000000",
            height=CANVAS_SIZE,
            width=CANVAS_SIZE,
            drawing_mode="freedraw",
            return_image_data=True,
            key="inspect.canvas",
        )
        drawing = None if result is None else result.image_data
    except Exception as error:  # noqa: BLE001 - a component that fails must not break the page
        st.error(f"The drawing canvas is not available here ({type(error).__name__}).")
        return None
    if drawing is None or not np.any(np.asarray(drawing)[:, :, :3] > 20):
        st.info("Draw a digit with the mouse (white on black, like MNIST).")
        return None
    image = network_input.digit_from_drawing(drawing)
    return InputSample(image, "your drawing", None, "draw")


def input_picker(choice: ModelChoice, info: ModelInfo, test: TestSet | None):
    """Draw the input controls; return an `InputSample` or None (reason on screen)."""
    kinds = [
        kind
        for kind in KINDS
        if (kind != "test" or test is not None)
        and (kind != "draw" or tuple(info.input_shape) == (28, 28, 1))
    ]
    kind = st.radio(
        "Input",
        kinds,
        format_func=KIND_LABELS.get,
        horizontal=True,
        key="inspect.input_kind",
        help="What to show the network: an image from its test set, a photo of your own "
        "(prepared exactly like the training images), a digit you draw, or your webcam.",
    )
    if kind == "test":
        return _pick_test_image(choice, test, info.num_classes)
    if kind == "draw":
        return _drawing(info)
    if kind == "upload":
        uploaded = st.file_uploader(
            "Photo",
            type=list(IMAGE_TYPES),
            key="inspect.photo",
            help="Resized keeping its shape and padded to the model's input, converted to "
            "grayscale or RGB like the training images, and scaled to 0–1.",
        )
    else:
        uploaded = st.camera_input(
            "Camera", key="inspect.camera", help="Take a picture; it is used only here."
        )
    if uploaded is None:
        st.info("Choose a photo." if kind == "upload" else "Take a picture.")
        return None
    file_id = getattr(uploaded, "file_id", None) or f"{uploaded.name}:{uploaded.size}"
    return _photo(choice, info, uploaded.getvalue(), file_id, uploaded.name, kind)
