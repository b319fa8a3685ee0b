"""core.data.image_folders: zips and server folders of class folders, and every safety case."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import numpy as np
import pytest

from core.data import image_folders
from core.data.image_folders import load_image_folder, load_image_folder_zip
from core.imaging.images import resize_and_pad
from tests.core.data.fakes import (
    make_zip,
    mark_encrypted,
    pets,
    png,
)


def test_zip_of_class_folders_loads_resized_images():
    dataset, report = load_image_folder_zip(make_zip(pets()), image_size=32)
    assert dataset.class_names == ("cats", "dogs")
    assert dataset.x_train.shape == (5, 32, 32, 3)
    assert dataset.y_train.tolist() == [0, 0, 0, 1, 1]
    assert dataset.x_test.shape == (0, 32, 32, 3)
    assert report.class_counts == (3, 2)
    assert report.original_sizes == (8, 8, 30, 20)


def test_zip_pads_images_to_keep_their_aspect_ratio():
    files = {
        "a/1.png": png(8, 16, value=255),
        "a/2.png": png(8, 16),
        "b/1.png": png(),
        "b/2.png": png(),
    }
    dataset, _ = load_image_folder_zip(make_zip(files), image_size=16)
    image = dataset.x_train[0]
    assert image[:4].max() == 0 and image[12:].max() == 0  # black bars above and below
    assert image[4:12].min() == 255


def test_zip_of_grayscale_images_stays_grayscale():
    files = {f"{c}/{i}.png": png(color=False) for c in "ab" for i in range(2)}
    dataset, _ = load_image_folder_zip(make_zip(files), image_size=16)
    assert dataset.x_train.shape == (4, 16, 16)


def test_zip_unwraps_a_single_enclosing_folder_and_ignores_macos_clutter():
    files = {f"pets/{name}": content for name, content in pets().items()}
    files["__MACOSX/pets/cats/._1.png"] = b"resource fork"
    files["pets/.DS_Store"] = b"finder"
    dataset, report = load_image_folder_zip(make_zip(files), image_size=16)
    assert dataset.class_names == ("cats", "dogs")
    assert report.num_skipped == 0


@pytest.mark.parametrize("name", ["../evil.png", "cats/../../evil.png"])
def test_zip_refuses_path_traversal(name):
    with pytest.raises(ValueError, match="points outside the zip's folder"):
        load_image_folder_zip(make_zip(pets({name: png()})))


@pytest.mark.parametrize("name", ["/etc/evil.png", "C:/evil.png"])
def test_zip_refuses_absolute_paths(name):
    with pytest.raises(ValueError, match="absolute path"):
        load_image_folder_zip(make_zip(pets({name: png()})))


def test_zip_refuses_symbolic_links():
    buffer = io.BytesIO(make_zip(pets()))
    with zipfile.ZipFile(buffer, "a") as archive:
        link = zipfile.ZipInfo("cats/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(ValueError, match="symbolic link"):
        load_image_folder_zip(buffer.getvalue())


def test_zip_refuses_too_many_files():
    with pytest.raises(ValueError, match="holds 5 files; the limit is 4"):
        load_image_folder_zip(make_zip(pets()), max_files=4)


def test_zip_refuses_too_many_uncompressed_bytes():
    files = pets({"dogs/big.png": b"\0" * 1_000_000})  # compresses to almost nothing
    with pytest.raises(ValueError, match="says it unpacks to 1 MB; the limit is 500 kB"):
        load_image_folder_zip(make_zip(files), max_total_bytes=500_000)


def _understate_size(data: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size of `name` in both zip headers, as a zip bomb would."""
    patched, encoded = bytearray(data), name.encode()
    for signature, size_offset, length_offset, name_offset in (
        (b"PK\x01\x02", 24, 28, 46),  # central directory
        (b"PK\x03\x04", 22, 26, 30),  # local header
    ):
        start = patched.find(signature)
        while start != -1:
            length = int.from_bytes(
                patched[start + length_offset : start + length_offset + 2], "little"
            )
            if patched[start + name_offset : start + name_offset + length] == encoded:
                patched[start + size_offset : start + size_offset + 4] = size.to_bytes(4, "little")
            start = patched.find(signature, start + 4)
    return bytes(patched)


def test_zip_entry_with_an_understated_size_is_skipped_as_damaged():
    data = _understate_size(make_zip(pets({"dogs/c.png": png(40, 40)})), "dogs/c.png", 10)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo("dogs/c.png").file_size == 10
    dataset, report = load_image_folder_zip(data, image_size=16)
    assert report.skipped_unreadable == 1
    assert len(dataset.x_train) == 5


def test_zip_skips_and_counts_non_images():
    files = pets({"cats/readme.txt": b"hello", "notes.md": b"# notes"})
    dataset, report = load_image_folder_zip(make_zip(files), image_size=16)
    assert report.skipped_non_images == 2
    assert len(dataset.x_train) == 5
    assert any("readme.txt" in example for example in report.skipped_examples)


def test_zip_skips_and_counts_images_outside_class_folders():
    _, report = load_image_folder_zip(make_zip(pets({"loose.png": png()})), image_size=16)
    assert report.skipped_outside_classes == 1


def test_zip_skips_and_counts_corrupt_images():
    files = pets({"dogs/broken.png": png()[:30], "dogs/garbage.jpg": b"\xff\xd8 not a jpeg"})
    dataset, report = load_image_folder_zip(make_zip(files), image_size=16)
    assert report.skipped_unreadable == 2
    assert dataset.y_train.tolist().count(1) == 2


def test_zip_skips_images_over_the_pixel_cap():
    files = pets({"dogs/huge.png": png(40, 40)})
    _, report = load_image_folder_zip(make_zip(files), max_image_pixels=1000, image_size=16)
    assert report.skipped_unreadable == 1
    assert (
        "40×40 = 0.0 megapixels, over the limit of 0.001 megapixels" in report.skipped_examples[0]
    )


def test_zip_needs_two_classes():
    files = {"cats/1.png": png(), "cats/2.png": png()}
    with pytest.raises(ValueError, match="at least 2 class folders"):
        load_image_folder_zip(make_zip(files))


def test_zip_needs_two_images_per_class():
    files = {"cats/1.png": png(), "cats/2.png": png(), "dogs/1.png": png()}
    with pytest.raises(ValueError, match="these have fewer: 'dogs'"):
        load_image_folder_zip(make_zip(files))


def test_zip_refuses_bytes_that_are_not_a_zip():
    with pytest.raises(ValueError, match="not a zip file, or it was cut off"):
        load_image_folder_zip(b"PK but not really")


def test_zip_refuses_a_password_protected_zip_before_reading_members(monkeypatch):
    data = mark_encrypted(make_zip(pets()))
    with zipfile.ZipFile(io.BytesIO(data)) as archive, pytest.raises(RuntimeError):
        archive.read("cats/1.png")  # what reading it would raise
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: pytest.fail("read a member"))
    with pytest.raises(ValueError, match="password-protected.*upload a zip without a password"):
        load_image_folder_zip(data)


def test_image_folder_under_the_root_loads(image_root):
    dataset, report = load_image_folder("pets", data_root=image_root, image_size=16)
    assert dataset.name == "pets"
    assert report.class_names == ("cats", "dogs")
    assert len(dataset.x_train) == 5


def test_image_folder_outside_the_root_is_refused(image_root, tmp_path):
    (tmp_path / "elsewhere" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="must be inside the data root"):
        load_image_folder(tmp_path / "elsewhere", data_root=image_root)


def test_image_folder_refuses_dot_dot_escapes(image_root):
    with pytest.raises(ValueError, match="must be inside the data root"):
        load_image_folder("pets/../..", data_root=image_root)


def test_image_folder_refuses_a_symlink_that_leaves_the_root(image_root, tmp_path):
    outside = tmp_path / "outside"
    (outside / "a").mkdir(parents=True)
    os.symlink(outside, image_root / "sneaky")
    with pytest.raises(ValueError, match="must be inside the data root"):
        load_image_folder("sneaky", data_root=image_root)


def test_image_folder_skips_symlinked_files(image_root, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(png())
    os.symlink(secret, image_root / "pets" / "dogs" / "secret.png")
    dataset, _ = load_image_folder("pets", data_root=image_root, image_size=16)
    assert len(dataset.x_train) == 5


def test_image_folder_needs_a_configured_root(image_root):
    with pytest.raises(ValueError, match=image_folders.IMAGE_ROOT_ENV):
        load_image_folder(image_root / "pets", data_root=None)


def test_image_folder_reads_the_shared_cats_and_dogs(shared_data):
    dataset, report = load_image_folder("cats_vs_dogs/train", data_root=shared_data, image_size=64)
    assert report.class_names == ("cats", "dogs")
    assert report.class_counts == (1000, 1000)
    assert dataset.x_train.shape == (2000, 64, 64, 3)


def test_list_image_folders_offers_real_folders_only(image_root, tmp_path):
    (image_root / "notes.txt").write_text("not a folder")
    os.symlink(tmp_path, image_root / "link")
    assert image_folders.list_image_folders(image_root) == ["pets"]


def test_configured_image_root_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(image_folders.IMAGE_ROOT_ENV, str(tmp_path))
    assert image_folders.configured_image_root() == tmp_path
    monkeypatch.delenv(image_folders.IMAGE_ROOT_ENV)
    assert image_folders.configured_image_root() is None


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"max_files": 0}, ValueError, r"^`max_files` must be >= 1\. Received: max_files=0\.$"),
        ({"max_total_bytes": 1.5}, TypeError, r"^`max_total_bytes` must be an integer\."),
        ({"max_image_pixels": 0}, ValueError, r"^`max_image_pixels` must be >= 1\."),
        (
            {"image_size": 4},
            ValueError,
            r"^`image_size` must be between 8 and 256\. Received: image_size=4\.$",
        ),
        ({"image_size": 512}, ValueError, r"`image_size` must be between 8 and 256"),
    ],
)
def test_limits_are_checked_before_anything_is_read(arguments, error, message):
    with pytest.raises(error, match=message):
        load_image_folder_zip(make_zip(pets()), **arguments)
    with pytest.raises(error, match=message):
        load_image_folder("anywhere", data_root=None, **arguments)


def test_zip_data_must_be_bytes():
    with pytest.raises(TypeError, match=r"^`data` must be a bytes or bytearray or memoryview\."):
        load_image_folder_zip("cats.zip")
    dataset, _ = load_image_folder_zip(bytearray(make_zip(pets())), image_size=16)
    assert len(dataset.x_train) == 5


def test_zip_images_are_resized_like_resize_and_pad_on_the_decoded_image():
    files = pets({"dogs/c.png": png(30, 10, value=77)})
    dataset, report = load_image_folder_zip(make_zip(files), image_size=20)
    index = dataset.y_train.tolist().index(1) + 2  # dogs/a, dogs/b, dogs/c in name order
    expected = resize_and_pad(np.full((30, 10, 3), 77, np.uint8), 20)
    np.testing.assert_array_equal(dataset.x_train[index], expected)
    assert report.image_size == 20 and report.num_skipped == 0


def test_resolve_under_root_messages_end_with_the_received_path(tmp_path):
    with pytest.raises(
        ValueError, match=r"^`path` does not exist under .*\. Received: path='nope'\.$"
    ):
        image_folders.resolve_under_root("nope", data_root=tmp_path)
    with pytest.raises(ValueError, match=r"^`data_root` must be an existing folder\."):
        image_folders.resolve_under_root("nope", data_root=tmp_path / "missing")


def test_zip_report_counts_every_skipped_file():
    report = image_folders.ZipReport(
        2, ("a", "b"), (1, 1), skipped_non_images=1, skipped_unreadable=2, skipped_outside_classes=3
    )
    assert report.num_skipped == 6


def test_zip_images_are_decoded_like_uploads_exif_rotation_included():
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90° clockwise to view
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 30, 30)).save(buffer, "JPEG", exif=exif.tobytes())
    files = {f"{label}/{i}.jpg": buffer.getvalue() for label in ("a", "b") for i in range(2)}
    files["b/anim.gif"] = _gif()
    _, report = load_image_folder_zip(make_zip(files), image_size=16)
    assert report.num_skipped == 0 and report.class_counts == (2, 3)
    assert report.original_sizes == (8, 8, 20, 10)  # upright: 20 high, 10 wide


def _gif() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    frames = [Image.new("RGB", (8, 8), (0, 0, 255)), Image.new("RGB", (8, 8), (0, 255, 0))]
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def test_zip_with_too_many_entries_is_refused_from_its_end_record(monkeypatch):
    data = make_zip({f"{'ab'[i % 2]}/{i}.png": b"x" for i in range(30)})
    monkeypatch.setattr(image_folders, "_MAX_FOLDER_ENTRIES", 5)
    monkeypatch.setattr(zipfile.ZipFile, "__init__", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(ValueError, match="holds 30 files and folders; the limit is 20 files"):
        load_image_folder_zip(data, max_files=20)


def test_server_folder_names_a_folder_without_images(image_root):
    (image_root / "pets" / "birds").mkdir()
    (image_root / "pets" / "birds" / "notes.txt").write_text("no birds yet")
    _, report = load_image_folder("pets", data_root=image_root, image_size=16)
    assert report.notes == (
        "Skipped 1 file that is not an image: birds/notes.txt.",
        "Left out 1 folder holding no images: 'birds'.",
    )


def test_zip_names_a_folder_of_non_images_without_a_folder_entry():
    files = pets({"docs/readme.txt": b"about my pets"})
    dataset, report = load_image_folder_zip(make_zip(files), image_size=16)
    assert report.notes == (
        "Skipped 1 file that is not an image: docs/readme.txt.",
        "Left out 1 folder holding no images: 'docs'.",
    )
    assert dataset.note == " ".join(report.notes)
