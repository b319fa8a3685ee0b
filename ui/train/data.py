"""Train page, part 1: choose the data, see it, and set up preprocessing and augmentation.

Everything here is numpy and OpenCV; TensorFlow only ever runs in the training worker.
The augmentation preview imitates Keras' RandomFlip / RandomRotation / RandomTranslation /
RandomZoom layers (reflect filling) with ``cv2.warpAffine``, so the server stays TF-free.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import streamlit as st

from core.data import builtin, catalog, image_dataset, image_folders, splits
from core.data.image_dataset import ImageDataset
from core.data.preprocessing import COLOR_MODES, RESIZE_MODES, Preprocessing, preprocess
from core.jobs.train_config import FLIP_MODES, Augmentation
from core.jobs.training_job import write_dataset_file
from core.jobs.worker_client import preview_augmentation
from ui.widgets.bar_list import show_bars
from ui.widgets.closed_tabs import keep
from ui.widgets.figure_export import export_button
from ui.widgets.plain_text import markdown_literal
from ui.widgets.short_choice import choose_one

SOURCE_LABELS = {
    "mnist": "MNIST (handwritten digits)",
    "fashion_mnist": "Fashion-MNIST (clothing)",
    "cifar10": "CIFAR-10 (small colour photos)",
    "zip": "Upload a zip of class folders",
    "folder": "A folder on this server",
}


SIZE_CHOICES = ("native", 16, 28, 32, 48, 64, 96, 128)


PREVIEW_COUNT = 8

PREVIEW_PX = 96  # the augmentation preview's strip is at least this tall


@dataclass(frozen=True)
class DataChoice:
    """The data the user picked, ready for the worker.

    Attributes:
        kind: the picker's choice: a built-in name, ``"zip"`` or ``"folder"``.
        dataset: the images as stored (uint8).
        training_source: what `TrainingJob.start` gets: a built-in name or an ``.npz`` path.
        preprocessing: size, colour and resize settings.
        input_shape: the network's input shape these settings produce.
    """

    kind: str
    dataset: ImageDataset
    training_source: str
    preprocessing: Preprocessing
    input_shape: tuple[int, int, int]


def builtin_dataset(name: str) -> ImageDataset:
    """A built-in data set from its best local source (shared, read-only)."""
    return _cached_builtin_dataset(name, builtin.lookup_settings())


@st.cache_resource(show_spinner="Loading the data set…", max_entries=3)
def _cached_builtin_dataset(name: str, lookup: tuple) -> ImageDataset:
    return builtin.load_builtin(name, data_dir=lookup[0])


def _folder_npz(dataset: ImageDataset) -> str:
    """Hold back a stratified test set (for the gallery) and write the set for the worker."""
    return os.fspath(write_dataset_file(splits.hold_out_test_set(dataset)).resolve())


@st.cache_resource(show_spinner=False, max_entries=2)
def load_npz_dataset(path: str) -> ImageDataset:
    """An image-folder data set written by `_folder_npz` (shared, read-only)."""
    with np.load(path, allow_pickle=False) as arrays:
        return ImageDataset(
            name=Path(path).stem.rsplit("-", 1)[0],  # drop write_dataset_file's content hash
            class_names=tuple(str(n) for n in arrays["class_names"]),
            x_train=arrays["x_train"],
            y_train=arrays["y_train"].astype(np.int64),
            x_test=arrays["x_test"],
            y_test=arrays["y_test"].astype(np.int64),
            source=str(arrays["source"]) if "source" in arrays.files else "image folder",
        )


def _pick_folder_dataset(kind: str) -> tuple[ImageDataset, str] | None:
    """Read an uploaded zip or a server folder once; keep it in the session, never lose it."""
    if kind == "zip":
        upload = st.file_uploader(
            "Zip of class folders",
            type=["zip"],
            key="train.zip",
            help="One folder per class (e.g. cats/ and dogs/), each with at least 2 images. "
            "Images are resized to 128×128 keeping their aspect ratio.",
        )
        if upload is None:
            kept = st.session_state.get("train.folder_data")
            if kept and kept[0].startswith("zip:"):
                earlier = markdown_literal(kept[0][4:].rsplit(":", 1)[0])
                st.caption(f"Using the zip you uploaded before: {earlier}.")
                return kept[1], kept[2]
            st.info("Upload a zip with one folder per class to train on your own images.")
            return None
        key = f"zip:{upload.name}:{upload.size}"
        reader = lambda: image_folders.load_image_folder_zip(  # noqa: E731
            upload.getvalue(), name=Path(upload.name).stem
        )
    else:
        root = image_folders.configured_image_root()
        folders = image_folders.list_image_folders(root)
        if not folders:
            st.info(
                f"No server folders to offer: set {image_folders.IMAGE_ROOT_ENV} to a folder that "
                "holds image data sets (one subfolder per class)."
            )
            return None
        folder = st.selectbox(
            "Server folder",
            folders,
            key="train.server_folder",
            help=f"Folders under the configured image root ({root}); nothing outside it is read.",
        )
        key = f"folder:{folder}"
        reader = lambda: image_folders.load_image_folder(folder, data_root=root)  # noqa: E731
    kept = st.session_state.get("train.folder_data")
    if kept is None or kept[0] != key:
        try:
            with st.spinner("Reading the images…"):
                dataset, report = reader()
                path = _folder_npz(dataset)
        except (ValueError, OSError) as error:
            st.error(f"These images cannot be used: {markdown_literal(str(error))}")
            return None
        if report.notes:
            st.warning(markdown_literal(" ".join(report.notes)))
        st.session_state["train.folder_data"] = (key, load_npz_dataset(path), path)
    return st.session_state["train.folder_data"][1], st.session_state["train.folder_data"][2]


def data_picker() -> DataChoice | None:
    """Data set, source line, preprocessing controls; None when nothing usable is chosen."""
    kind = choose_one(
        "Data set",
        list(SOURCE_LABELS),
        format_func=SOURCE_LABELS.get,
        key="train.dataset",
        help="The images the network learns from. The built-in sets come from the data "
        "folder, the Keras cache or a small bundled subset, whichever is found first.",
    )
    if kind in catalog.BUILTIN_DATASETS:
        try:
            dataset = builtin_dataset(kind)
        except (ValueError, OSError, image_dataset.DatasetUnavailableError) as error:
            st.error(f"{SOURCE_LABELS[kind]} is not available: {error}")
            return None
        source = kind
    else:
        picked = _pick_folder_dataset(kind)
        if picked is None:
            return None
        dataset, source = picked
    name = markdown_literal(dataset.display_name)
    st.caption(
        f"**{name}** from {dataset.source}: {len(dataset.x_train):,} training "
        f"and {len(dataset.x_test):,} test images, {dataset.num_classes} classes, each "
        "{}×{}×{}.".format(*dataset.image_shape)
    )
    if dataset.note:
        st.caption(markdown_literal(dataset.note))

    height, _, channels = dataset.image_shape
    # Keys per data set: each keeps its own settings and starts from its own colour mode.
    size_col, colour_col, resize_col = st.columns(3)
    with size_col:
        size = choose_one(
            "Input size",
            SIZE_CHOICES,
            key=f"train.target_size.{kind}",
            default="native" if kind in catalog.BUILTIN_DATASETS else 64,
            format_func=lambda s: f"native ({height}×{height})" if s == "native" else f"{s}×{s}",
            help="Side of the square images the network sees. Bigger shows more detail but "
            "trains slower (the work grows with the square of the side).",
        )
    colour = colour_col.radio(
        "Colour",
        COLOR_MODES,
        index=0 if channels == 1 else 1,
        key=f"train.color_mode.{kind}",
        format_func={"grayscale": "Grayscale", "rgb": "RGB"}.get,
        horizontal=True,
        help="Grayscale gives one input channel, RGB three. Grayscale images turned into RGB "
        "just repeat the channel.",
    )
    resize = resize_col.radio(
        "Resize by",
        RESIZE_MODES,
        key=f"train.resize_mode.{kind}",
        format_func={"pad": "Keep aspect, pad", "stretch": "Stretch"}.get,
        horizontal=True,
        help="Pad keeps the shape of the picture and fills the rest with black; stretch "
        "squeezes it into the square.",
    )
    preprocessing = Preprocessing(
        target_size=None if size == "native" else int(size), color_mode=colour, resize_mode=resize
    )
    input_shape = preprocessing.input_shape_for(dataset.image_shape)
    return DataChoice(kind, dataset, source, preprocessing, input_shape)


def preprocess_each(images: np.ndarray, preprocessing: Preprocessing) -> np.ndarray:
    """`preprocessing.preprocess` one image at a time.

    OpenCV 5's area resize refuses more than 4 channels, and `preprocess` stacks a batch's
    images as channels, so shrinking a batch of 5 or more fails; single images always work.
    """
    return np.concatenate([preprocess(image[np.newaxis], preprocessing) for image in images])


def _montage(images: np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """Tile float images ``(N, H, W, C)`` into rows of ``columns``, with white gaps."""
    count, height, width, channels = images.shape
    rows = max(1, -(-count // columns))
    canvas = np.ones(
        (rows * (height + gap) - gap, columns * (width + gap) - gap, channels), np.float32
    )
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        canvas[top : top + height, left : left + width] = image
    return canvas


def _picture(canvas: np.ndarray, *, min_height: int) -> np.ndarray:
    """A float canvas ``(H, W, C)`` in [0, 1] as uint8 RGB, enlarged by a whole factor (square
    pixels) to at least ``min_height`` rows: a picture, not a Plotly figure, to load."""
    rgb = np.repeat(canvas, 3, axis=2) if canvas.shape[2] == 1 else canvas[:, :, :3]
    pixels = np.round(np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8)
    factor = max(1, -(-min_height // pixels.shape[0]))
    return np.repeat(np.repeat(pixels, factor, axis=0), factor, axis=1)


def _png_uri(rgb: np.ndarray) -> str:
    """A uint8 RGB picture as a ``data:`` address, for an ``<img>`` inside ``st.html``."""
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise ValueError("The picture could not be encoded as PNG.")
    return "data:image/png;base64," + base64.b64encode(buffer.tobytes()).decode("ascii")


ROW_PX = 32  # each class's row of examples on screen: ten classes fit a projector's screen


def labelled_rows_html(rows: list[np.ndarray], labels, *, height: int = ROW_PX) -> str:
    """One row of example images per class, its name to the left, as HTML (names of any
    script, escaped; each row one PNG drawn ``height`` pixels tall with square pixels)."""
    cells = "".join(
        f'<div style="text-align:right;white-space:nowrap">{html.escape(str(label))}</div>'
        f'<img src="{_png_uri(row)}" alt="{html.escape(str(label))}" '
        f'style="height:{height}px;max-width:100%;image-rendering:pixelated">'
        for row, label in zip(rows, labels, strict=True)
    )
    return (
        '<div style="display:grid;grid-template-columns:max-content auto;gap:2px 8px;'
        f'align-items:center;justify-items:start;font-size:0.85rem">{cells}</div>'
    )


def show_samples(choice: DataChoice) -> None:
    """One row of examples per class (as the network will see them) and the class counts."""
    dataset = choice.dataset
    rows = splits.sample_grid(dataset, per_class=8)
    per_class = max(len(r) for r in rows)
    tiles, shape = [], choice.input_shape
    for row in rows:
        images = preprocess_each(dataset.x_train[row], choice.preprocessing)
        padding = np.ones((per_class - len(row), *shape), np.float32)
        tiles.append(np.concatenate([images, padding]))
    strips = [_picture(_montage(row, per_class), min_height=1) for row in tiles]
    grid_col, counts_col = st.columns([3, 2])
    with grid_col:
        st.markdown("**Examples per class** (after preprocessing)")
        with st.container(key="train.samples_chart"):  # pictures: no Plotly to load
            st.html(labelled_rows_html(strips, dataset.class_names))
    counts = splits.class_counts(dataset.y_train, dataset.num_classes)
    with counts_col:
        st.markdown("**Training images per class**")
        show_bars(
            counts,
            list(dataset.class_names),
            texts=[f"{int(count):,}" for count in counts],
            key="train.counts_chart",
        )


AUG_OPEN = "train.aug_open"  # whether the augmentation's controls and preview are unfolded


AUG_KEYS = ("train.aug_flip", "train.aug_rotation", "train.aug_shift", "train.aug_zoom")


def augmentation_in_state(state) -> Augmentation:
    """The augmentation the (possibly folded) controls hold in the session ``state``.

    >>> augmentation_in_state({"train.aug_rotation": 36, "train.aug_flip": "vertical"})
    Augmentation(flip='vertical', rotation=0.1, translation=0.0, zoom=0.0)
    """
    flip, degrees, shift, zoom = (state.get(key) for key in AUG_KEYS)
    return Augmentation(
        flip=flip or FLIP_MODES[0],
        rotation=(degrees or 0) / 360,
        translation=shift or 0.0,
        zoom=zoom or 0.0,
    )


def augmentation_section(choice: DataChoice) -> Augmentation:
    """Controls and preview in a section folded on a first visit (sliders and a preview cost
    the browser more than they tell before anyone asks), unfolded at first when a link or an
    earlier choice switched augmentation on; folded, the controls keep their values."""
    current = augmentation_in_state(st.session_state)
    if current.active and AUG_OPEN not in st.session_state:
        st.session_state[AUG_OPEN] = True  # e.g. a link's `rot=15`: show what it set
    box = st.expander(
        "Flips, turns, shifts and zooms, with a preview", key=AUG_OPEN, on_change="rerun"
    )
    if box.open is False:
        keep((*AUG_KEYS, "train.aug_image", "train.aug_exact"))
        return current
    with box:
        augmentation = augmentation_controls()
        augmentation_preview(choice, augmentation)
    return augmentation


def augmentation_controls() -> Augmentation:
    """Random flips, rotations, shifts and zooms applied to every training batch."""
    flip_col, rotation_col, shift_col, zoom_col = st.columns(4)
    flip = flip_col.selectbox(
        "Random flip",
        FLIP_MODES,
        key="train.aug_flip",
        format_func=lambda m: m.replace("_", " ").capitalize(),
        help="Mirror images at random. Good for photos of cats; bad for digits (a mirrored "
        "2 is not a 2).",
    )
    degrees = rotation_col.slider(
        "Rotation (± degrees)",
        0,
        90,
        0,
        key="train.aug_rotation",
        help="Turn each training image by a random angle up to this many degrees either way.",
    )
    shift = shift_col.slider(
        "Shift (± fraction)",
        0.0,
        0.5,
        0.0,
        0.05,
        key="train.aug_shift",
        help="Move each image by up to this share of its width and height.",
    )
    zoom = zoom_col.slider(
        "Zoom (± fraction)",
        0.0,
        0.5,
        0.0,
        0.05,
        key="train.aug_zoom",
        help="Zoom in or out by up to this share.",
    )
    return Augmentation(flip=flip, rotation=degrees / 360, translation=shift, zoom=zoom)


def augment_image(
    image: np.ndarray, augmentation: Augmentation, *, rng: np.random.Generator
) -> np.ndarray:
    """One random augmented copy of a float image ``(H, W, C)``, like Keras' layers would make.

    >>> image = np.zeros((4, 4, 1), np.float32)
    >>> augment_image(image, Augmentation(), rng=np.random.default_rng(0)).shape
    (4, 4, 1)
    """
    height, width, channels = image.shape
    out = image
    if augmentation.flip in ("horizontal", "horizontal_and_vertical") and rng.random() < 0.5:
        out = out[:, ::-1]
    if augmentation.flip in ("vertical", "horizontal_and_vertical") and rng.random() < 0.5:
        out = out[::-1]
    angle = rng.uniform(-1, 1) * augmentation.rotation * 360
    scale = 1 + rng.uniform(-1, 1) * augmentation.zoom
    matrix = cv2.getRotationMatrix2D((width / 2 - 0.5, height / 2 - 0.5), angle, scale)
    matrix[0, 2] += rng.uniform(-1, 1) * augmentation.translation * width
    matrix[1, 2] += rng.uniform(-1, 1) * augmentation.translation * height
    warped = cv2.warpAffine(
        np.ascontiguousarray(out),
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )
    return warped.reshape(height, width, channels)


@st.cache_data(show_spinner="Running Keras' augmentation layers…", max_entries=8)
def _keras_preview(image: np.ndarray, augmentation: Augmentation, seed: int) -> np.ndarray:
    return preview_augmentation(image, augmentation, count=PREVIEW_COUNT - 1, seed=seed)


def augmentation_preview(choice: DataChoice, augmentation: Augmentation) -> None:
    """A row of random augmented versions of one training image."""
    dataset = choice.dataset
    pick_col, grid_col = st.columns([1, 4])
    index = pick_col.number_input(
        "Image number",
        0,
        len(dataset.x_train) - 1,
        0,
        key="train.aug_image",
        help="Which training image to augment for the preview.",
    )
    if pick_col.button("New random draw", key="train.aug_redraw", help="Draw other changes."):
        st.session_state["train.aug_seed"] = st.session_state.get("train.aug_seed", 0) + 1
    exact = pick_col.toggle(
        "Use Keras",  # short: the column is narrow on a projector; the help says more
        key="train.aug_exact",
        help="Off: an instant OpenCV imitation. On: the very Keras layers training uses "
        "(a few seconds the first time).",
    )
    image = preprocess(dataset.x_train[int(index) : int(index) + 1], choice.preprocessing)
    seed = st.session_state.get("train.aug_seed", 0)
    copies = None
    if exact and augmentation.active:
        try:
            copies = list(_keras_preview(image[0], augmentation, seed))
        except (RuntimeError, ValueError, OSError) as error:
            st.warning(f"Keras' preview failed, showing the OpenCV imitation instead: {error}")
    if copies is None:
        rng = np.random.default_rng(seed)
        copies = [augment_image(image[0], augmentation, rng=rng) for _ in range(PREVIEW_COUNT - 1)]
    with grid_col:
        strip = _montage(np.stack([image[0], *copies]), PREVIEW_COUNT, gap=2)
        with st.container(key="train.aug_chart"):
            preview = _picture(strip, min_height=PREVIEW_PX)
            st.image(preview, output_format="PNG")
            export_button(preview, "Augmentation preview")
        label = dataset.class_names[int(dataset.y_train[int(index)])]
        made_by = (
            "Keras' random layers"
            if exact and augmentation.active
            else ("an OpenCV imitation of Keras' random layers (reflect filling)")
        )
        note = "" if augmentation.active else " No augmentation is switched on, so all match."
        st.caption(
            f"First: the original ({label}). Then random versions as training would see them, "
            f"made by {made_by}.{note}"
        )
