"""Image data sets from a zip or a server folder of class sub-folders, with every safety check
(paths, links, sizes, decompression bombs, unreadable files) before anything is decoded."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from core.base.checks import check_instance, check_int, received
from core.data.image_dataset import ImageDataset
from core.data.preprocessing import MAX_TARGET_SIZE, MIN_TARGET_SIZE
from core.imaging.images import ImageDecodeError, decode_image, resize_and_pad

IMAGE_ROOT_ENV = "CONVSCOPE_IMAGE_ROOT"


IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


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


# General-purpose flag bits of a zip member header: encrypted, and names in UTF-8.
_ZIP_FLAG_ENCRYPTED = 0x1


_ZIP_FLAG_UTF8 = 0x800


# Folder entries a zip may hold beyond `max_files` files before its directory is not even read.
_MAX_FOLDER_ENTRIES = 500


_REMAKE_ZIP = (
    "Make the zip again from the class folders themselves (select them, then Compress on a "
    "Mac or Send to → Compressed folder on Windows)."
)


@dataclass(frozen=True)
class ZipReport:
    """What happened while reading an image-folder data set (a zip or a server folder).

    Attributes:
        num_images: images kept.
        class_names: class folder names, sorted; label `i` is `class_names[i]`.
        class_counts: images per class, same order.
        skipped_non_images: files without an image extension (`.png`, `.jpg`, ...).
        skipped_unreadable: files with an image extension that cannot be decoded, are
            damaged inside the zip, or are too large to decode safely.
        skipped_outside_classes: images at the top level, not inside a class folder.
        skipped_examples: up to 10 skipped names with the reason, for the page.
        image_size: side of the square every image was resized to.
        original_sizes: `(min_height, min_width, max_height, max_width)` before resizing.
        skipped_duplicates: zip members whose name an later member repeats (the last is used).
        notes: one plain sentence per kind of thing left out, for the page.
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
    skipped_duplicates: int = 0
    notes: tuple[str, ...] = ()

    @property
    def num_skipped(self) -> int:
        """All skipped files together."""
        return (
            self.skipped_non_images
            + self.skipped_unreadable
            + self.skipped_outside_classes
            + self.skipped_duplicates
        )


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

    One folder per class (enclosing folders around them, as made by zipping a folder, are
    looked through). Every image is decoded like an uploaded image (`decode_image`: EXIF
    rotation, 16-bit, CMYK, ...) and resized keeping its aspect ratio, centred and padded
    with black to `image_size × image_size`, so the arrays are uniform. The data set is
    RGB unless every image is grayscale. All images go to `x_train`; the test arrays are
    empty: split with `train_validation_split`.

    Safety, from the zip's directory alone before anything is unpacked: entries with
    absolute paths or `..` components, symbolic links and encryption make the whole zip
    refused; more than `max_files` files or more than `max_total_bytes` uncompressed too
    (as declared, and as actually read). Nothing is written to disk. Files that are not
    images, damaged or corrupt images and images over `max_image_pixels` are skipped and
    counted; a name repeated in the zip is read once (its last copy).

    Args:
        data: the zip file's bytes.
        name: data set name for the page.
        max_files: cap on the number of files in the zip.
        max_total_bytes: cap on the total uncompressed size.
        max_image_pixels: cap on one image's width × height (decompression bombs).
        image_size: side of the square the images are resized to, 8 to 256.

    Returns:
        `(dataset, report)`; `report.notes` says in plain words what was left out.

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
    data = bytes(data)
    declared_entries = _declared_entry_count(data)
    if declared_entries is not None and declared_entries > max_files + _MAX_FOLDER_ENTRIES:
        raise ValueError(
            f"The zip holds {declared_entries:,} files and folders; the limit is "
            f"{max_files:,} files. Upload fewer images."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        all_infos = archive.infolist()
    except Exception:  # noqa: BLE001 - whatever zipfile raises on hostile bytes
        raise ValueError(
            "The upload is not a zip file, or it was cut off while uploading. " + _REMAKE_ZIP
        ) from None

    with archive:
        for info in all_infos:
            _check_zip_member(info)
        infos = [info for info in all_infos if not info.is_dir()]
        encrypted = [info.filename for info in infos if info.flag_bits & _ZIP_FLAG_ENCRYPTED]
        if encrypted:
            raise ValueError(
                f"The zip is password-protected ({len(encrypted):,} encrypted files, such as "
                f"{encrypted[0]!r}) and cannot be read here; upload a zip without a password."
            )
        if len(infos) > max_files:
            raise ValueError(
                f"The zip holds {len(infos):,} files; the limit is {max_files:,}. "
                "Upload fewer images."
            )
        declared = sum(info.file_size for info in infos)
        if declared > max_total_bytes:
            raise ValueError(
                f"The zip says it unpacks to {_size(declared)}; the limit is "
                f"{_size(max_total_bytes)}. Upload fewer or smaller images."
            )
        budget = {"left": max_total_bytes}

        def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
            def read() -> bytes:
                with archive.open(info) as member:
                    content = member.read(min(info.file_size, budget["left"]) + 1)
                if len(content) > info.file_size or len(content) > budget["left"]:
                    raise ValueError(
                        f"The file {info.filename!r} in the zip unpacks to more than it says "
                        "(a sign of a zip bomb); the zip was refused."
                    )
                budget["left"] -= len(content)
                return content

            return read

        entries: dict[tuple[str, ...], _Entry] = {}
        repeated: list[str] = []
        for info in infos:  # a repeated name keeps its last copy, as unzipping would
            parts = _member_parts(info)
            if parts in entries:
                repeated.append("/".join(parts))
            entries[parts] = _Entry(parts, info.file_size, reader(info))
        return _build_folder_dataset(
            list(entries.values()),
            name=name,
            image_size=image_size,
            max_image_pixels=max_image_pixels,
            folders=[_member_parts(info) for info in all_infos if info.is_dir()],
            repeated=repeated,
        )


def _declared_entry_count(data: bytes) -> int | None:
    """How many entries the zip's end record announces, read without parsing its directory
    (None when there is no end record, or the count is in a Zip64 record)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or len(data) < end + 22:
        return None
    count = struct.unpack_from("<H", data, end + 10)[0]
    return None if count == 0xFFFF else count


def _member_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """The member's path as parts; a name without the UTF-8 flag that is valid UTF-8 is
    read as UTF-8 (many tools write UTF-8 without setting the flag)."""
    filename = info.filename
    if not info.flag_bits & _ZIP_FLAG_UTF8:
        with contextlib.suppress(UnicodeError):  # else really the old code page
            filename = filename.encode("cp437").decode("utf-8")
    return tuple(part for part in filename.replace("\\", "/").split("/") if part not in ("", "."))


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
        raise ValueError(
            f"The zip was refused: the name {filename!r} is an absolute path, which could "
            f"write anywhere when unpacked. {_REMAKE_ZIP}"
        )
    if ".." in parts:
        raise ValueError(
            f"The zip was refused: the name {filename!r} points outside the zip's folder "
            f"(..), which could overwrite other files when unpacked. {_REMAKE_ZIP}"
        )
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ValueError(
            f"The zip was refused: {filename!r} is a symbolic link to another file, not an "
            f"image. {_REMAKE_ZIP}"
        )


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
    folders: list[tuple[str, ...]] = []
    total = 0
    for directory, subdirectories, filenames in os.walk(folder, followlinks=False):
        subdirectories[:] = sorted(
            d for d in subdirectories if not os.path.islink(os.path.join(directory, d))
        )
        folders.extend((Path(directory) / d).relative_to(folder).parts for d in subdirectories)
        for filename in sorted(filenames):
            file_path = Path(directory) / filename
            if file_path.is_symlink() or not file_path.is_file():
                continue
            size = file_path.stat().st_size
            total += size
            entries.append(_Entry(file_path.relative_to(folder).parts, size, file_path.read_bytes))
            if len(entries) > max_files:
                raise ValueError(f"The folder holds more than {max_files:,} files.")
            if total > max_total_bytes:
                raise ValueError(f"The folder holds more than {_size(max_total_bytes)} of files.")
    return _build_folder_dataset(
        entries,
        name=name or folder.name,
        image_size=image_size,
        max_image_pixels=max_image_pixels,
        folders=folders,
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
    entries: Iterable[_Entry],
    *,
    name: str,
    image_size: int,
    max_image_pixels: int,
    folders: Iterable[tuple[str, ...]] = (),
    repeated: Iterable[str] = (),
) -> tuple[ImageDataset, ZipReport]:
    entries = [entry for entry in entries if entry.parts and not _is_ignored(entry.parts)]
    folders = [parts for parts in folders if parts and not _is_ignored((*parts, ""))]
    # A zip made by compressing one folder wraps everything in that folder: unwrap it.
    while (
        entries
        and all(len(e.parts) >= 2 for e in entries)
        and len({e.parts[0] for e in entries}) == 1
        and any(len(e.parts) > 2 for e in entries)
    ):
        wrapper = entries[0].parts[0]
        entries = [_Entry(e.parts[1:], e.size, e.read) for e in entries]
        folders = [f[1:] for f in folders if len(f) > 1 and f[0] == wrapper]

    # For each kind of skipped file: (path, reason) pairs.
    skipped: dict[str, list[tuple[str, str]]] = {"non_image": [], "unreadable": [], "outside": []}
    by_class: dict[str, list[np.ndarray]] = {}
    sizes: list[tuple[int, int]] = []
    for entry in sorted(entries, key=lambda e: e.parts):
        path = "/".join(entry.parts)
        if Path(entry.parts[-1]).suffix.lower() not in IMAGE_EXTENSIONS:
            skipped["non_image"].append((path, "not an image file"))
            continue
        if len(entry.parts) < 2:
            skipped["outside"].append((path, "not inside a class folder"))
            continue
        try:
            content = entry.read()
        except NotImplementedError:  # Deflate64, PPMd, ...: zipfile reads only the usual ones
            skipped["unreadable"].append((path, "packed in a way this app cannot unpack"))
            continue
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error):
            skipped["unreadable"].append((path, "damaged inside the zip"))
            continue
        image, reason = _decode_image(content, max_image_pixels)
        if image is None:
            skipped["unreadable"].append((path, reason))
            continue
        sizes.append(image.shape[:2])
        # Resize right away so thousands of large photos never sit in memory at once.
        by_class.setdefault(entry.parts[0], []).append(resize_and_pad(image, image_size))

    class_names = tuple(sorted(by_class))
    repeated = sorted(set(repeated))
    tops = {f[0] for f in folders} | {e.parts[0] for e in entries if len(e.parts) > 1}
    notes = _notes(skipped, repeated, sorted(tops - set(class_names)))
    images = sum(map(len, by_class.values()))
    summary = f"Found {_count(images, 'image')} in {_count(len(class_names), 'class folder')}"
    if len(class_names) < 2:
        found = f" ({class_names[0]!r})" if class_names else ""
        raise ValueError(
            f"{summary}{found}. A data set needs at least 2 class folders with at least 2 "
            "images each, e.g. cats/1.jpg, cats/2.jpg, dogs/1.jpg, dogs/2.jpg."
            + "".join(f" {note}" for note in notes)
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
        skipped_non_images=len(skipped["non_image"]),
        skipped_unreadable=len(skipped["unreadable"]),
        skipped_outside_classes=len(skipped["outside"]),
        skipped_examples=tuple(
            f"{path}: {reason}" for pairs in skipped.values() for path, reason in pairs
        )[:10],
        image_size=image_size,
        original_sizes=(min(heights), min(widths), max(heights), max(widths)),
        skipped_duplicates=len(repeated),
        notes=notes,
    )
    dataset = ImageDataset(
        name=name,
        class_names=class_names,
        x_train=x,
        y_train=y,
        x_test=np.empty((0, *x.shape[1:]), dtype=np.uint8),
        y_test=np.empty(0, dtype=np.int64),
        source=f"image folders ({len(y)} images, resized to {image_size}×{image_size})",
        note=" ".join(notes),
    )
    return dataset, report


def _size(num_bytes: int) -> str:
    """A size in plain words.

    >>> _size(4_294_968_888), _size(50_000)
    ('4,295 MB', '50 kB')
    """
    return f"{num_bytes / 1e6:,.0f} MB" if num_bytes >= 1e6 else f"{num_bytes / 1e3:,.0f} kB"


def _count(number: int, noun: str) -> str:
    """``3 images``, ``1 image``.

    >>> _count(1, "class folder"), _count(2_000, "image")
    ('1 class folder', '2,000 images')
    """
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _examples(items: list[str], shown: int = 3) -> str:
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more:,} more" if more > 0 else "")


def _notes(skipped: dict[str, list[tuple[str, str]]], repeated: list[str], empty: list[str]):
    """One plain sentence per kind of thing left out, naming a few of them."""
    notes = []
    if skipped["non_image"]:
        items = [path for path, _ in skipped["non_image"]]
        verb = "is not an image" if len(items) == 1 else "are not images"
        notes.append(f"Skipped {_count(len(items), 'file')} that {verb}: {_examples(items)}.")
    if skipped["unreadable"]:
        items = [f"{path} ({reason})" for path, reason in skipped["unreadable"]]
        notes.append(
            f"Skipped {_count(len(items), 'image')} that could not be read: {_examples(items)}."
        )
    if skipped["outside"]:
        items = [path for path, _ in skipped["outside"]]
        notes.append(
            f"Skipped {_count(len(items), 'image')} outside a class folder (put every image in "
            f"its class's folder): {_examples(items)}."
        )
    if repeated:
        notes.append(
            f"{_count(len(repeated), 'name')} appear more than once in the zip; the last copy "
            f"of each was used: {_examples(repeated)}."
        )
    if empty:
        names = _examples([repr(folder) for folder in empty])
        notes.append(f"Left out {_count(len(empty), 'folder')} holding no images: {names}.")
    return tuple(notes)


def _decode_image(content: bytes, max_image_pixels: int) -> tuple[np.ndarray | None, str]:
    """Decode like an uploaded image, to uint8 `(H, W)` or `(H, W, 3)` RGB; None and a reason
    (its first sentence) when the file cannot be used."""
    try:
        decoded = decode_image(content, max_pixels=max_image_pixels)
    except ImageDecodeError as error:
        reason = str(error).split(". ")[0].rstrip(".")
        return None, reason[:1].lower() + reason[1:]
    return np.clip(decoded.pixels + 0.5, 0, 255).astype(np.uint8), ""
