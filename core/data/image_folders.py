"""Image data sets from a zip or a server folder of class sub-folders, with every safety check
(paths, links, sizes, decompression bombs, unreadable files) before anything is decoded."""

from __future__ import annotations

import io
import os
import pickle
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from core.base.checks import check_instance, check_int, received
from core.data.image_dataset import ImageDataset
from core.data.preprocessing import MAX_TARGET_SIZE, MIN_TARGET_SIZE
from core.imaging.images import resize_and_pad

IMAGE_ROOT_ENV = "CONVSCOPE_IMAGE_ROOT"


IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})


# Operating-system clutter that is ignored silently rather than reported as "not an image".
_IGNORED_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


_IGNORED_DIRS = frozenset({"__macosx"})


# What a damaged or tampered file in a data directory or the Keras cache can raise.
_UNREADABLE_ERRORS = (
    OSError,
    ValueError,
    KeyError,
    EOFError,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
)


# General-purpose flag bit 0 of a zip member header: the member is encrypted.
_ZIP_FLAG_ENCRYPTED = 0x1


@dataclass(frozen=True)
class ZipReport:
    """What happened while reading an image-folder data set (a zip or a server folder).

    Attributes:
        num_images: images kept.
        class_names: class folder names, sorted; label `i` is `class_names[i]`.
        class_counts: images per class, same order.
        skipped_non_images: files without an image extension (`.png`, `.jpg`, ...).
        skipped_unreadable: files with an image extension that OpenCV cannot decode or
            that are too large to decode safely.
        skipped_outside_classes: images at the top level, not inside a class folder.
        skipped_examples: up to 10 skipped names with the reason, for the page.
        image_size: side of the square every image was resized to.
        original_sizes: `(min_height, min_width, max_height, max_width)` before resizing.
    """

    num_images: int
    class_names: tuple[str, ...]
    class_counts: tuple[int, ...]
    skipped_non_images: int = 0
    skipped_unreadable: int = 0
    skipped_outside_classes: int = 0
    skipped_examples: tuple[str, ...] = ()
    image_size: int = 0
    original_sizes: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def num_skipped(self) -> int:
        """All skipped files together."""
        return self.skipped_non_images + self.skipped_unreadable + self.skipped_outside_classes


@dataclass
class _Entry:
    parts: tuple[str, ...]
    size: int
    read: Callable[[], bytes] = field(repr=False)


def load_image_folder_zip(
    data: bytes,
    *,
    name: str = "uploaded",
    max_files: int = 5000,
    max_total_bytes: int = 200_000_000,
    max_image_pixels: int = 40_000_000,
    image_size: int = 128,
) -> tuple[ImageDataset, ZipReport]:
    """Read a zip of class folders (`cats/1.jpg`, `dogs/7.png`, ...) into an `ImageDataset`.

    One folder per class (a single enclosing folder, as made by zipping a folder, is
    unwrapped). Every image is decoded with OpenCV and resized keeping its aspect ratio,
    centred and padded with black to `image_size × image_size`, so the arrays are uniform.
    The data set is RGB unless every image is grayscale. All images go to `x_train`; the test
    arrays are empty: split with `train_validation_split`.

    Safety: entries with absolute paths or `..` components and symbolic links make the
    whole zip refused; more than `max_files` files or more than `max_total_bytes`
    uncompressed (as declared, and as actually read) too. Files that are not images,
    corrupt images and images over `max_image_pixels` are skipped and counted.

    Args:
        data: the zip file's bytes.
        name: data set name for the page.
        max_files: cap on the number of files in the zip.
        max_total_bytes: cap on the total uncompressed size.
        max_image_pixels: cap on one image's width × height (decompression bombs).
        image_size: side of the square the images are resized to, 8 to 256.

    Returns:
        `(dataset, report)`.

    Raises:
        ValueError: unsafe, password-protected or unusable zip, with a message for the
            user; it asks for at least 2 classes with at least 2 images each.

    Example:

    >>> dataset, report = load_image_folder_zip(open("pets.zip", "rb").read())  # doctest: +SKIP
    >>> report.class_names, dataset.x_train.shape  # doctest: +SKIP
    (('cats', 'dogs'), (40, 128, 128, 3))
    """
    check_instance(data, "data", (bytes, bytearray, memoryview))
    _check_limits(max_files, max_total_bytes, max_image_pixels, image_size)
    try:
        archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    except zipfile.BadZipFile as error:
        raise ValueError(f"The upload is not a readable zip file ({error}).") from error

    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        encrypted = [info.filename for info in infos if info.flag_bits & _ZIP_FLAG_ENCRYPTED]
        if encrypted:
            raise ValueError(
                f"The zip is password-protected ({len(encrypted):,} encrypted entries, such as "
                f"{encrypted[0]!r}) and cannot be read here; upload an unencrypted zip."
            )
        for info in archive.infolist():
            _check_zip_member(info)
        if len(infos) > max_files:
            raise ValueError(
                f"The zip holds {len(infos):,} files; the limit is {max_files:,} (`max_files`)."
            )
        declared = sum(info.file_size for info in infos)
        if declared > max_total_bytes:
            raise ValueError(
                f"The zip unpacks to {declared:,} bytes; the limit is {max_total_bytes:,} "
                "(`max_total_bytes`)."
            )
        budget = {"left": max_total_bytes}

        def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
            def read() -> bytes:
                with archive.open(info) as member:
                    content = member.read(min(info.file_size, budget["left"]) + 1)
                if len(content) > info.file_size or len(content) > budget["left"]:
                    raise ValueError(
                        f"The zip entry {info.filename!r} unpacks to more than its declared "
                        f"size or past the {max_total_bytes:,}-byte limit; refusing the zip."
                    )
                budget["left"] -= len(content)
                return content

            return read

        entries = [
            _Entry(
                PurePosixPath(info.filename.replace("\\", "/")).parts,
                info.file_size,
                reader(info),
            )
            for info in infos
        ]
        return _build_folder_dataset(
            entries, name=name, image_size=image_size, max_image_pixels=max_image_pixels
        )


def _check_limits(max_files, max_total_bytes, max_image_pixels, image_size) -> None:
    check_int(max_files, "max_files", minimum=1)
    check_int(max_total_bytes, "max_total_bytes", minimum=1)
    check_int(max_image_pixels, "max_image_pixels", minimum=1)
    check_int(image_size, "image_size", minimum=MIN_TARGET_SIZE, maximum=MAX_TARGET_SIZE)


def _check_zip_member(info: zipfile.ZipInfo) -> None:
    filename = info.filename
    normalised = filename.replace("\\", "/")
    parts = normalised.split("/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        raise ValueError(f"Refusing the zip: entry {filename!r} has an absolute path.")
    if ".." in parts:
        raise ValueError(f"Refusing the zip: entry {filename!r} points outside the archive (..).")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ValueError(f"Refusing the zip: entry {filename!r} is a symbolic link.")


def load_image_folder(
    path: str | os.PathLike,
    *,
    data_root: str | os.PathLike | None,
    name: str | None = None,
    max_files: int = 5000,
    max_total_bytes: int = 200_000_000,
    max_image_pixels: int = 40_000_000,
    image_size: int = 128,
) -> tuple[ImageDataset, ZipReport]:
    """Read a server folder of class folders, refusing anything outside `data_root`.

    `path` may be relative to `data_root` or absolute; after resolving symbolic links it must
    lie inside `data_root`. Symbolic links inside the folder are skipped. Otherwise it works
    like `load_image_folder_zip` (same caps, skipping and resizing).

    Args:
        path: the folder with one subfolder per class.
        data_root: the configured root (e.g. `$CONVSCOPE_IMAGE_ROOT`); None refuses everything.
        name: data set name; defaults to the folder's name.

    Returns:
        `(dataset, report)`.

    Raises:
        ValueError: no root configured, `path` outside it or missing, or an unusable folder.

    Example:

    >>> dataset, report = load_image_folder("cats_vs_dogs/train", data_root="../shared/data")
    >>> report.class_names  # doctest: +SKIP
    ('cats', 'dogs')
    """
    _check_limits(max_files, max_total_bytes, max_image_pixels, image_size)
    folder = resolve_under_root(path, data_root=data_root)
    if not folder.is_dir():
        raise ValueError(f"`path` must be a folder. {received('path', str(path))}")

    entries: list[_Entry] = []
    total = 0
    for directory, subdirectories, filenames in os.walk(folder, followlinks=False):
        subdirectories[:] = sorted(
            d for d in subdirectories if not os.path.islink(os.path.join(directory, d))
        )
        for filename in sorted(filenames):
            file_path = Path(directory) / filename
            if file_path.is_symlink() or not file_path.is_file():
                continue
            size = file_path.stat().st_size
            total += size
            entries.append(_Entry(file_path.relative_to(folder).parts, size, file_path.read_bytes))
            if len(entries) > max_files:
                raise ValueError(f"The folder holds more than {max_files:,} files (`max_files`).")
            if total > max_total_bytes:
                raise ValueError(
                    f"The folder holds more than {max_total_bytes:,} bytes (`max_total_bytes`)."
                )
    return _build_folder_dataset(
        entries, name=name or folder.name, image_size=image_size, max_image_pixels=max_image_pixels
    )


def resolve_under_root(path: str | os.PathLike, *, data_root: str | os.PathLike | None) -> Path:
    """Resolve `path` (relative to `data_root`, or absolute) and refuse it outside the root.

    >>> resolve_under_root("/etc", data_root="/usr/share")
    Traceback (most recent call last):
    ValueError: `path` must be inside the data root /usr/share. Received: path='/etc'.
    """
    if data_root is None or str(data_root) == "":
        raise ValueError(
            "No image data root is configured, so server folders cannot be read. "
            f"Set {IMAGE_ROOT_ENV} to the folder that holds your image data sets."
        )
    root = Path(data_root).expanduser().resolve()
    if not root.is_dir():
        raise ValueError(
            f"`data_root` must be an existing folder. {received('data_root', str(data_root))}"
        )
    candidate = (root / Path(path).expanduser()).resolve()
    if not candidate.is_relative_to(root):
        raise ValueError(
            f"`path` must be inside the data root {root}. {received('path', str(path))}"
        )
    if not candidate.exists():
        raise ValueError(f"`path` does not exist under {root}. {received('path', str(path))}")
    return candidate


def configured_image_root() -> Path | None:
    """The data root for server image folders, from `$CONVSCOPE_IMAGE_ROOT`, or None."""
    value = os.environ.get(IMAGE_ROOT_ENV, "")
    return Path(value) if value else None


def list_image_folders(data_root: str | os.PathLike | None) -> list[str]:
    """Names of the folders directly under `data_root` (no links), sorted, for a picker.

    >>> list_image_folders(None)
    []
    """
    if data_root is None or not Path(data_root).is_dir():
        return []
    root = Path(data_root)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink())


def _is_ignored(parts: tuple[str, ...]) -> bool:
    """macOS / Windows clutter: `__MACOSX/`, `.DS_Store`, `._name` forks, hidden files."""
    return (
        any(part.lower() in _IGNORED_DIRS for part in parts[:-1])
        or parts[-1].lower() in _IGNORED_NAMES
        or parts[-1].startswith(".")
    )


def _build_folder_dataset(
    entries: Iterable[_Entry], *, name: str, image_size: int, max_image_pixels: int
) -> tuple[ImageDataset, ZipReport]:
    entries = [entry for entry in entries if entry.parts and not _is_ignored(entry.parts)]
    # A zip made by compressing one folder wraps everything in that folder: unwrap it.
    while (
        entries
        and all(len(e.parts) >= 2 for e in entries)
        and len({e.parts[0] for e in entries}) == 1
        and any(len(e.parts) > 2 for e in entries)
    ):
        entries = [_Entry(e.parts[1:], e.size, e.read) for e in entries]

    skipped = {"non_image": 0, "unreadable": 0, "outside": 0}
    examples: list[str] = []

    def skip(kind: str, entry: _Entry, reason: str) -> None:
        skipped[kind] += 1
        if len(examples) < 10:
            examples.append(f"{'/'.join(entry.parts)}: {reason}")

    by_class: dict[str, list[np.ndarray]] = {}
    sizes: list[tuple[int, int]] = []
    for entry in sorted(entries, key=lambda e: e.parts):
        if Path(entry.parts[-1]).suffix.lower() not in IMAGE_EXTENSIONS:
            skip("non_image", entry, "not an image file")
            continue
        if len(entry.parts) < 2:
            skip("outside", entry, "not inside a class folder")
            continue
        try:
            content = entry.read()
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            skip("unreadable", entry, f"damaged in the zip ({error})")
            continue
        image, reason = _decode_image(content, max_image_pixels)
        if image is None:
            skip("unreadable", entry, reason)
            continue
        sizes.append(image.shape[:2])
        # Resize right away so thousands of large photos never sit in memory at once.
        by_class.setdefault(entry.parts[0], []).append(resize_and_pad(image, image_size))

    class_names = tuple(sorted(by_class))
    summary = f"Found {sum(map(len, by_class.values()))} images in {len(class_names)} class folders"
    if skipped["non_image"] or skipped["unreadable"] or skipped["outside"]:
        summary += (
            f" (skipped {skipped['non_image']} non-image files, {skipped['unreadable']} "
            f"unreadable images, {skipped['outside']} images outside class folders)"
        )
    if len(class_names) < 2:
        found = f" ({class_names[0]!r})" if class_names else ""
        raise ValueError(
            f"{summary}{found}. A data set needs at least 2 class folders with at least 2 "
            "images each, e.g. cats/1.jpg, cats/2.jpg, dogs/1.jpg, dogs/2.jpg."
        )
    too_small = [label for label in class_names if len(by_class[label]) < 2]
    if too_small:
        raise ValueError(
            f"{summary}. Every class needs at least 2 images; these have fewer: "
            f"{', '.join(repr(label) for label in too_small)}."
        )

    all_gray = all(image.ndim == 2 for images in by_class.values() for image in images)
    pixels, labels = [], []
    for label, class_name in enumerate(class_names):
        for image in by_class[class_name]:
            if not all_gray and image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
            pixels.append(image)
            labels.append(label)
    x = np.stack(pixels)
    y = np.asarray(labels, dtype=np.int64)
    heights, widths = zip(*sizes, strict=True)
    report = ZipReport(
        num_images=len(y),
        class_names=class_names,
        class_counts=tuple(int(c) for c in np.bincount(y, minlength=len(class_names))),
        skipped_non_images=skipped["non_image"],
        skipped_unreadable=skipped["unreadable"],
        skipped_outside_classes=skipped["outside"],
        skipped_examples=tuple(examples),
        image_size=image_size,
        original_sizes=(min(heights), min(widths), max(heights), max(widths)),
    )
    dataset = ImageDataset(
        name=name,
        class_names=class_names,
        x_train=x,
        y_train=y,
        x_test=np.empty((0, *x.shape[1:]), dtype=np.uint8),
        y_test=np.empty(0, dtype=np.int64),
        source=f"image folders ({len(y)} images, resized to {image_size}×{image_size})",
        note=summary + "." if report.num_skipped else "",
    )
    return dataset, report


def _decode_image(content: bytes, max_image_pixels: int) -> tuple[np.ndarray | None, str]:
    """Decode to uint8 `(H, W)` grayscale or `(H, W, 3)` RGB; None and a reason on failure."""
    size = _header_size(content)
    if size is not None and size[0] * size[1] > max_image_pixels:
        return None, f"{size[0]}×{size[1]} pixels is over the {max_image_pixels:,} limit"
    buffer = np.frombuffer(content, dtype=np.uint8)
    try:
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED) if buffer.size else None
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        return None, "cannot be decoded (corrupt or unsupported)"
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        return None, f"unsupported pixel type {image.dtype}"
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    elif image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim != 2:
        return None, f"unsupported channel layout {image.shape}"
    return image, ""


def _header_size(content: bytes) -> tuple[int, int] | None:
    """Width and height from the image header without decoding pixels (Pillow), if known."""
    from PIL import Image  # light, and only needed here

    try:
        with Image.open(io.BytesIO(content)) as image:
            return image.size
    except Image.DecompressionBombError:
        return (2**31, 2**31)
    except Exception:  # noqa: BLE001 - unknown formats are left to OpenCV
        return None
