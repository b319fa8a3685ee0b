"""Zips of class folders a person might upload on the Train page ("Upload a zip of class folders").

Every archive is built here at test time and is small (at most a few hundred kilobytes),
most of them byte by byte (``zip_bytes.raw_zip``) so that names, flags, sizes and file modes can be
exactly what a hostile or odd archiver writes. Each goes through
``core.data.image_folders.load_image_folder_zip``; ``tests/corpus/test_zips.py`` checks
the outcome, and that nothing is written anywhere.
"""

from __future__ import annotations

import io
import zipfile
import zlib

import cv2
import numpy as np

from tests.corpus import Entry
from tests.corpus.zip_bytes import Member, raw_zip


def _png(seed: int, size: int = 8, color: bool = True) -> bytes:
    rng = np.random.default_rng(seed)
    shape = (size, size, 3) if color else (size, size)
    return cv2.imencode(".png", rng.integers(0, 256, shape, dtype=np.uint8))[1].tobytes()


def _pets(prefix: str = "", per_class: int = 3) -> dict[str, bytes]:
    """``cats/`` and ``dogs/`` with ``per_class`` tiny PNGs each."""
    return {
        f"{prefix}{label}/{index}.png": _png(seed=10 * number + index)
        for number, label in enumerate(("cats", "dogs"))
        for index in range(per_class)
    }


def _zip(files: dict[str, bytes], *, directories: tuple[str, ...] = ()) -> bytes:
    """An ordinary zip written by Python's ``zipfile`` (deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for directory in directories:
            archive.writestr(zipfile.ZipInfo(directory), b"")
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _raw_pets(*extra: Member) -> bytes:
    members = [Member(name.encode(), content) for name, content in _pets().items()]
    return raw_zip([*members, *extra])


def _encrypted() -> bytes:
    return raw_zip(
        [Member(name.encode(), content, password=b"secret") for name, content in _pets().items()]
    )


def _claims_too_much() -> bytes:
    """Tiny members whose headers claim 4 GB each (what a broken or hostile tool writes)."""
    return _raw_pets(Member(b"cats/huge.png", _png(99), declared_size=0xFFFFFFF0))


def _understated_size() -> bytes:
    """A member whose headers say 100 bytes but that unpacks to 50 kB (a lying bomb)."""
    return _raw_pets(Member(b"dogs/liar.png", _png(98, size=128), declared_size=100))


def _real_bomb() -> bytes:
    """A member of 300 MB of zeros, honestly declared: about 300 kB compressed.

    A full flush makes each megabyte's deflate blocks independent of what came before,
    so one compressed megabyte repeated 300 times (and an empty final block) is valid.
    """
    chunk, crc = bytes(1 << 20), 0
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    for _ in range(300):
        crc = zlib.crc32(chunk, crc)
    packed = block * 300 + b"\x03\x00"  # an empty final block with fixed codes
    zeros = Member(b"cats/zeros.png", b"", declared_size=300 << 20, packed=(packed, crc))
    return _raw_pets(zeros)


def _many_files(count: int) -> bytes:
    tiny = _png(0, size=1)
    return _zip({f"{'cats' if index % 2 else 'dogs'}/{index}.png": tiny for index in range(count)})


def _duplicate_names() -> bytes:
    members = [Member(name.encode(), content) for name, content in _pets().items()]
    return raw_zip([*members, Member(b"cats/0.png", _png(77))])


def _backslash_names() -> bytes:
    return raw_zip(
        [Member(name.replace("/", "\\").encode(), content) for name, content in _pets().items()]
    )


def _names_in(encoding: str, flags: int = 0) -> bytes:
    """Class folders "chats_été" and "chiens", their names in ``encoding``."""
    files = {
        f"{'chats_été' if name.startswith('cats') else 'chiens'}/{name.split('/')[1]}": content
        for name, content in _pets().items()
    }
    return raw_zip(
        [Member(name.encode(encoding), content, flags) for name, content in files.items()]
    )


def _mixed_formats() -> bytes:
    files = _pets()
    files["cats/gray.png"] = _png(50, color=False)
    files["dogs/photo.jpg"] = cv2.imencode(".jpg", np.full((20, 30, 3), 90, np.uint8))[1].tobytes()
    files["dogs/deep.png"] = cv2.imencode(".png", np.full((9, 9), 40_000, np.uint16))[1].tobytes()
    files["dogs/UPPER.PNG"] = _png(51)
    return _zip(files)


def _image_bomb_inside() -> bytes:
    """The pets plus a 100 kB PNG that decodes to 10000×10000 pixels."""
    from tests.corpus.image_bytes import png_bomb

    return _zip({**_pets(), "cats/bomb.png": png_bomb()})


def _corrupt_member() -> bytes:
    """A member whose compressed bytes were damaged after the zip was written."""
    archive = bytearray(_raw_pets(Member(b"dogs/broken.png", _png(5, size=32))))
    start = archive.index(b"dogs/broken.png") + len(b"dogs/broken.png")
    archive[start + 5 : start + 25] = bytes(20)
    return bytes(archive)


_REFUSED = "refused before anything is unpacked: "


ENTRIES = [
    Entry(
        "zip/two-classes",
        "zip",
        "a zip of two class folders (cats/, dogs/) with three PNGs each",
        "accept",
        "used: 2 classes, 6 images",
        "pets.zip",
        lambda: _zip(_pets()),
    ),
    Entry(
        "zip/enclosing-folder",
        "zip",
        "the class folders inside one enclosing folder (what zipping a folder makes)",
        "accept",
        "used: the enclosing folder is looked through",
        "pets-folder.zip",
        lambda: _zip(_pets("pets/"), directories=("pets/", "pets/cats/", "pets/dogs/")),
    ),
    Entry(
        "zip/nested-two-levels",
        "zip",
        "the class folders two folders deep (photos/2024/cats/...)",
        "accept",
        "used: the enclosing folders are looked through",
        "nested.zip",
        lambda: _zip(_pets("photos/2024/")),
    ),
    Entry(
        "zip/junk-folders",
        "zip",
        "class folders plus __MACOSX/, .DS_Store, Thumbs.db and desktop.ini (a Mac's or "
        "Windows' clutter)",
        "accept",
        "used: the operating system's clutter is ignored without a word",
        "from-a-mac.zip",
        lambda: _zip(
            {
                **_pets(),
                "__MACOSX/cats/._0.png": b"\x00\x05\x16\x07resource fork",
                ".DS_Store": b"\x00\x00\x00\x01Bud1",
                "cats/.DS_Store": b"\x00\x00\x00\x01Bud1",
                "dogs/Thumbs.db": b"\xd0\xcf\x11\xe0thumbnails",
                "desktop.ini": b"[.ShellClassInfo]",
            }
        ),
    ),
    Entry(
        "zip/mixed-formats",
        "zip",
        "class folders mixing PNG, JPEG, grayscale, 16-bit and upper-case .PNG names",
        "accept",
        "used: every image is read and resized to the same square",
        "mixed.zip",
        _mixed_formats,
    ),
    Entry(
        "zip/backslash-names",
        "zip",
        "names written with backslashes (cats\\0.png), as old Windows tools do",
        "accept",
        "used: backslashes read as folder separators",
        "windows.zip",
        _backslash_names,
    ),
    Entry(
        "zip/utf8-names-without-flag",
        "zip",
        "folder names with accents in UTF-8, without the zip's UTF-8 flag (common on Linux)",
        "accept",
        "used, with the accents right (chats_été)",
        "accents.zip",
        lambda: _names_in("utf-8"),
    ),
    Entry(
        "zip/legacy-encoded-names",
        "zip",
        "folder names with accents in an old Windows code page (not UTF-8)",
        "accept",
        "used: names that are not UTF-8 are read as the zip standard's old code page",
        "cp437.zip",
        lambda: _names_in("cp437"),
    ),
    Entry(
        "zip/markdown-names",
        "zip",
        "class folders named with markdown and maths signs (*cats* and $dogs$)",
        "accept",
        "used, the names shown exactly as written (not as italics or maths)",
        "markdown.zip",
        lambda: _zip(
            {
                name.replace("cats", "*cats*").replace("dogs", "$dogs$"): content
                for name, content in _pets().items()
            }
        ),
    ),
    Entry(
        "zip/many-tiny-images",
        "zip",
        "1,000 tiny (1×1) images in two class folders",
        "accept",
        "used: 1,000 images",
        "many.zip",
        lambda: _many_files(1000),
    ),
    # Accepted, with a note of what was left out.
    Entry(
        "zip/non-images-mixed-in",
        "zip",
        "class folders with a text file, a PDF and a zip mixed in, and a README at the top",
        "note",
        "used, with a note naming the skipped files that are not images",
        "with-extras.zip",
        lambda: _zip(
            {
                **_pets(),
                "README.txt": b"my pets",
                "cats/notes.txt": b"cat notes",
                "dogs/vet.pdf": b"%PDF-1.4",
                "dogs/more.zip": _zip({"x.png": _png(1)}),
            }
        ),
        message="not images",
    ),
    Entry(
        "zip/images-outside-classes",
        "zip",
        "class folders plus loose images at the top of the zip",
        "note",
        "used, with a note that loose images outside class folders were skipped",
        "loose.zip",
        lambda: _zip({**_pets(), "loose.png": _png(3), "other.png": _png(4)}),
        message="outside a class folder",
    ),
    Entry(
        "zip/empty-class-folder",
        "zip",
        "two class folders with images and a third, empty class folder",
        "note",
        "used, with a note that the empty folder was left out",
        "empty-folder.zip",
        lambda: _zip(_pets(), directories=("birds/",)),
        message="birds",
    ),
    Entry(
        "zip/damaged-images",
        "zip",
        "class folders where two files named .png are not readable images",
        "note",
        "used, with a note naming the unreadable files",
        "damaged.zip",
        lambda: _zip({**_pets(), "cats/cut.png": _png(7)[:40], "dogs/text.png": b"not a png"}),
        message="could not be read",
    ),
    Entry(
        "zip/image-bomb-inside",
        "zip",
        "class folders plus a 100 kB PNG that would decode to 10000×10000 pixels",
        "note",
        "used, with a note that the oversized image was skipped (it is never decoded)",
        "bomb-inside.zip",
        _image_bomb_inside,
        message="could not be read",
    ),
    Entry(
        "zip/corrupt-member",
        "zip",
        "a zip where one member's compressed bytes were damaged",
        "note",
        "used, with a note that the damaged file was skipped",
        "corrupt.zip",
        _corrupt_member,
        message="could not be read",
    ),
    Entry(
        "zip/duplicate-names",
        "zip",
        "a zip holding the same name twice (cats/0.png)",
        "note",
        "used, with a note that the repeated name was read once (the last copy)",
        "duplicates.zip",
        _duplicate_names,
        message="more than once",
    ),
    Entry(
        "zip/unsupported-compression",
        "zip",
        "a member packed with Deflate64, a method some Windows tools use for large files",
        "note",
        "used, with a note that the member is packed in a way the app cannot unpack",
        "deflate64.zip",
        lambda: _raw_pets(Member(b"dogs/big.png", _png(6), deflate=False, method=9)),
        message="cannot unpack",
    ),
    # Refused, with what is wrong and what to do.
    Entry(
        "zip/path-traversal",
        "zip",
        "a member named ../../evil.png (climbs out of the folder it is unpacked into)",
        "refuse",
        _REFUSED + "a name climbs out of the zip's folder",
        "traversal.zip",
        lambda: _raw_pets(Member(b"../../evil.png", _png(1))),
        message="outside the zip",
    ),
    Entry(
        "zip/traversal-inside-a-folder",
        "zip",
        "a member named cats/../../evil.png",
        "refuse",
        _REFUSED + "a name climbs out of the zip's folder",
        "traversal2.zip",
        lambda: _raw_pets(Member(b"cats/../../evil.png", _png(1))),
        message="outside the zip",
    ),
    Entry(
        "zip/backslash-traversal",
        "zip",
        "a member named ..\\..\\evil.png (climbing out, Windows style)",
        "refuse",
        _REFUSED + "a name climbs out of the zip's folder",
        "traversal3.zip",
        lambda: _raw_pets(Member(b"..\\..\\evil.png", _png(1))),
        message="outside the zip",
    ),
    Entry(
        "zip/absolute-path",
        "zip",
        "a member with an absolute path (/tmp/evil.png)",
        "refuse",
        _REFUSED + "a name is an absolute path",
        "absolute.zip",
        lambda: _raw_pets(Member(b"/tmp/evil.png", _png(1))),
        message="absolute path",
    ),
    Entry(
        "zip/windows-absolute-path",
        "zip",
        "a member with a Windows drive path (C:\\evil.png)",
        "refuse",
        _REFUSED + "a name is an absolute path",
        "drive.zip",
        lambda: _raw_pets(Member(b"C:\\evil.png", _png(1))),
        message="absolute path",
    ),
    Entry(
        "zip/symbolic-link",
        "zip",
        "a member that is a symbolic link to /etc/passwd",
        "refuse",
        _REFUSED + "it holds a link to somewhere else",
        "link.zip",
        lambda: _raw_pets(Member(b"cats/link.png", b"/etc/passwd", deflate=False, mode=0o120777)),
        message="link",
    ),
    Entry(
        "zip/encrypted",
        "zip",
        "a password-protected zip",
        "refuse",
        _REFUSED + "password-protected; upload one without a password",
        "locked.zip",
        _encrypted,
        message="password",
    ),
    Entry(
        "zip/claims-too-much",
        "zip",
        "a small zip whose directory claims a member unpacks to 4 GB",
        "refuse",
        _REFUSED + "it says it unpacks to more than the limit",
        "claims.zip",
        _claims_too_much,
        message="unpacks to",
    ),
    Entry(
        "zip/real-bomb",
        "zip",
        "a 300 kB zip that really unpacks to 300 MB (a zip bomb)",
        "refuse",
        _REFUSED + "it unpacks to more than the limit",
        "bomb.zip",
        _real_bomb,
        message="unpacks to",
    ),
    Entry(
        "zip/understated-size",
        "zip",
        "a member that unpacks to more than its header says (a lying zip bomb)",
        "note",
        "used, with a note that the member was skipped: it is never unpacked past what it says",
        "liar.zip",
        _understated_size,
        message="could not be read",
    ),
    Entry(
        "zip/too-many-files",
        "zip",
        "6,000 tiny files (over the limit of 5,000)",
        "refuse",
        _REFUSED + "too many files, with the limit",
        "thousands.zip",
        lambda: _many_files(6000),
        message="6,000 files",
    ),
    Entry(
        "zip/one-class",
        "zip",
        "a zip with only one class folder",
        "refuse",
        "refused: a data set needs at least 2 class folders, with an example layout",
        "cats-only.zip",
        lambda: _zip({name: data for name, data in _pets().items() if name.startswith("cats")}),
        message="at least 2 class folders",
    ),
    Entry(
        "zip/class-with-one-image",
        "zip",
        "a class folder holding a single image",
        "refuse",
        "refused: every class needs at least 2 images, naming the class",
        "lonely.zip",
        lambda: _zip({**_pets(), "birds/only.png": _png(9)}),
        message="at least 2 images",
    ),
    Entry(
        "zip/only-loose-images",
        "zip",
        "images at the top of the zip with no class folders",
        "refuse",
        "refused: a data set needs class folders, with an example layout",
        "loose-only.zip",
        lambda: _zip({f"{index}.png": _png(index) for index in range(4)}),
        message="at least 2 class folders",
    ),
    Entry(
        "zip/only-empty-folders",
        "zip",
        "a zip of empty class folders",
        "refuse",
        "refused: no images found, with an example layout",
        "hollow.zip",
        lambda: _zip({}, directories=("cats/", "dogs/")),
        message="at least 2 class folders",
    ),
    Entry(
        "zip/empty-zip",
        "zip",
        "an empty zip (no members at all)",
        "refuse",
        "refused: no images found, with an example layout",
        "empty.zip",
        lambda: _zip({}),
        message="at least 2 class folders",
    ),
    Entry(
        "zip/empty-file",
        "zip",
        "an empty file (0 bytes) named .zip",
        "refuse",
        "refused: not a zip file; make one with your system's 'compress' command",
        "nothing.zip",
        lambda: b"",
        message="not a zip",
    ),
    Entry(
        "zip/not-a-zip",
        "zip",
        "a text file renamed to .zip",
        "refuse",
        "refused: not a zip file",
        "notes.zip",
        lambda: b"These are my notes, not an archive.\n" * 10,
        message="not a zip",
    ),
    Entry(
        "zip/png-named-zip",
        "zip",
        "a PNG image renamed to .zip",
        "refuse",
        "refused: not a zip file",
        "picture.zip",
        lambda: _png(1),
        message="not a zip",
    ),
    Entry(
        "zip/truncated",
        "zip",
        "a zip cut off half-way (an interrupted download)",
        "refuse",
        "refused: not a readable zip, it may have been cut off",
        "cut.zip",
        lambda: _zip(_pets())[:300],
        message="not a zip",
    ),
]
