"""Images a person might upload to an image page (Pixels & Channels, Kernel Playground, ...).

Every file is built here at test time, small (a few hundred kilobytes at most), with
Pillow, numpy and OpenCV. Each goes through ``core.imaging.images.decode_image``, the
decoder behind every image uploader; ``tests/corpus/test_images.py`` checks the outcome.

Every entry carries an extension the uploaders offer (PNG, JPEG, BMP, GIF, TIFF, WebP, in
any case): a file with another extension never reaches the app, the uploader itself
refuses it in the browser ("... files are not allowed"). What such files hold is
covered by renaming them (an SVG, an EPS, a zip or a text file named .png).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import cv2
import numpy as np
from PIL import Image

from tests.corpus import Entry


def _pillow(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _opencv(extension: str, pixels: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(extension, pixels)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {extension}")
    return buffer.tobytes()


def _gradient(height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth RGB picture (uint8), different in each channel."""
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack(
        [cols * 255 // max(1, width - 1), rows * 255 // max(1, height - 1), (rows + cols) % 256],
        axis=2,
    ).astype(np.uint8)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width × height`` 8-bit grayscale pixels and holds one row."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = zlib.compress(b"\x00" * (1 + min(width, 1000)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", row)
        + _png_chunk(b"IEND", b"")
    )


def _png_bomb(side: int = 10_000) -> bytes:
    """A real ``side × side`` all-black grayscale PNG: about 100 kB that decodes to 100 MB."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def _gif_header_bomb() -> bytes:
    """A 1×1 GIF whose screen and image descriptor are patched to claim 65535×65535 pixels."""
    data = bytearray(_pillow(Image.new("L", (1, 1)), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    descriptor = data.index(b"\x2c", 13)  # the image descriptor follows the colour table
    data[descriptor + 5 : descriptor + 9] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def _png_text_bomb() -> bytes:
    """A small PNG with a compressed comment that would unpack to 50 MB of zeros."""
    data = _png()
    comment = _png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"\0" * 50_000_000, 9))
    return data[:33] + comment + data[33:]  # after the 33-byte signature and header


def _png() -> bytes:
    return _opencv(".png", _gradient()[:, :, ::-1])


def _jpeg() -> bytes:
    return _opencv(".jpg", _gradient()[:, :, ::-1])


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _zip_named_png() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.png", _png())
    return buffer.getvalue()


def _sixteen_bit_gray() -> bytes:
    rows, cols = np.mgrid[0:32, 0:40]
    return _opencv(".png", ((rows * 40 + cols) * 50).astype(np.uint16))


def _forty_eight_bit(extension: str) -> bytes:
    return _opencv(extension, _gradient().astype(np.uint16) * 257)


def _float_tiff(*special: float, scale: float = 1.0) -> bytes:
    rows, cols = np.mgrid[0:16, 0:20]
    pixels = (rows * 20 + cols).astype(np.float32) / 319.0 * scale
    for index, value in enumerate(special):
        pixels[index, index] = value
    return _opencv(".tiff", pixels)


def _palette_with_transparency() -> bytes:
    image = Image.fromarray(_gradient()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return _pillow(image, "PNG", transparency=0)


def _rgba(alpha: int | None) -> bytes:
    rgb = _gradient()
    if alpha is None:  # a gradient of transparency
        alpha_channel = np.tile(np.linspace(0, 255, rgb.shape[1]).astype(np.uint8), (48, 1))
    else:
        alpha_channel = np.full(rgb.shape[:2], alpha, np.uint8)
    return _pillow(Image.fromarray(np.dstack([rgb, alpha_channel]), "RGBA"), "PNG")


def _gray_alpha() -> bytes:
    gray = Image.fromarray(_gradient()[:, :, 0])
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1)))
    return _pillow(Image.merge("LA", (gray, alpha)), "PNG")


def _frames(count: int = 3) -> list[Image.Image]:
    return [
        Image.new("RGB", (24, 16), (80 * index, 40, 200 - 60 * index)) for index in range(count)
    ]


def _animated(fmt: str) -> bytes:
    first, *rest = _frames()
    return _pillow(first, fmt, save_all=True, append_images=rest, duration=100, loop=0)


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    return _pillow(Image.fromarray(_gradient(30, 50)), "JPEG", exif=exif.tobytes(), quality=95)


def _svg() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48">'
        b'<rect width="64" height="48" fill="red"/></svg>'
    )


def _eps() -> bytes:
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 48\nnewpath 0 0 moveto showpage\n"


def _zero_width_png() -> bytes:
    header = struct.pack(">IIBBBBB", 0, 48, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )


def _corrupt_png_data() -> bytes:
    data = bytearray(_png())
    start = data.index(b"IDAT") + 4
    data[start + 10 : start + 60] = bytes(range(50))  # garbage in the compressed pixels
    return bytes(data)


def _cmyk_jpeg() -> bytes:
    return _pillow(Image.fromarray(_gradient()).convert("CMYK"), "JPEG", quality=95)


def _multi_page_tiff() -> bytes:
    first, *rest = _frames(2)
    return _pillow(first, "TIFF", save_all=True, append_images=rest)


def _int32_tiff() -> bytes:
    rows, cols = np.mgrid[0:16, 0:20]
    return _pillow(Image.fromarray((rows * cols * 1000).astype(np.int32), "I"), "TIFF")


_PIXEL_LIMIT = "megapixels"  # what the size refusal says
_NOT_AN_IMAGE = "not an image format"
_DAMAGED = "damaged"


ENTRIES = [
    # The ordinary ones: a baseline for everything else.
    Entry(
        "image/png",
        "image",
        "an ordinary colour PNG",
        "accept",
        "shown as it is",
        "photo.png",
        _png,
    ),
    Entry(
        "image/jpeg",
        "image",
        "an ordinary colour JPEG",
        "accept",
        "shown as it is",
        "photo.jpg",
        _jpeg,
    ),
    Entry(
        "image/bmp-gray",
        "image",
        "a grayscale BMP",
        "accept",
        "shown as it is, in grey",
        "scan.bmp",
        lambda: _opencv(".bmp", _gradient()[:, :, 0]),
    ),
    Entry(
        "image/webp",
        "image",
        "a WebP picture",
        "accept",
        "shown as it is",
        "photo.webp",
        lambda: _pillow(Image.fromarray(_gradient()), "WEBP", lossless=True),
    ),
    # Not images at all, or broken ones.
    Entry(
        "image/empty-file",
        "image",
        "an empty file (0 bytes) named .png",
        "refuse",
        "refused: the file is empty",
        "empty.png",
        lambda: b"",
        message="empty",
    ),
    Entry(
        "image/truncated-png",
        "image",
        "a PNG cut off half-way (an interrupted download)",
        "refuse",
        "refused: the file looks damaged; save it again",
        "cut.png",
        lambda: _truncated(_png()),
        message=_DAMAGED,
    ),
    Entry(
        "image/truncated-jpeg",
        "image",
        "a JPEG cut off half-way (an interrupted download)",
        "refuse",
        "refused: the file looks damaged; save it again",
        "cut.jpg",
        lambda: _truncated(_jpeg()),
        message=_DAMAGED,
    ),
    Entry(
        "image/corrupt-png-data",
        "image",
        "a PNG whose compressed pixels are garbage",
        "refuse",
        "refused: the file looks damaged; save it again",
        "garbage.png",
        _corrupt_png_data,
        message=_DAMAGED,
    ),
    Entry(
        "image/text-named-png",
        "image",
        "a text file renamed to .png",
        "refuse",
        "refused: not an image format the app reads, with the formats it does read",
        "notes.png",
        lambda: b"These are my lecture notes, not a picture.\n" * 20,
        message=_NOT_AN_IMAGE,
    ),
    Entry(
        "image/zip-named-png",
        "image",
        "a zip archive renamed to .png",
        "refuse",
        "refused: not an image format the app reads",
        "archive.png",
        _zip_named_png,
        message=_NOT_AN_IMAGE,
    ),
    Entry(
        "image/svg",
        "image",
        "an SVG drawing (vector graphics) named .png",
        "refuse",
        "refused: not an image format the app reads; export it as PNG",
        "drawing.png",
        _svg,
        message=_NOT_AN_IMAGE,
    ),
    Entry(
        "image/eps-named-png",
        "image",
        "an EPS (PostScript) file renamed to .png",
        "refuse",
        "refused without running any PostScript interpreter: not an image format the app reads",
        "figure.png",
        _eps,
        message=_NOT_AN_IMAGE,
    ),
    Entry(
        "image/zero-width-png",
        "image",
        "a PNG whose header says it is 0 pixels wide",
        "refuse",
        "refused: the file looks damaged",
        "zero.png",
        _zero_width_png,
        message=_DAMAGED,
    ),
    # Hostile sizes.
    Entry(
        "image/header-bomb-png",
        "image",
        "a tiny PNG whose header claims 100000×100000 pixels",
        "refuse",
        "refused at once from the header: too many megapixels, downscale it",
        "huge.png",
        lambda: _png_header_only(100_000, 100_000),
        message=_PIXEL_LIMIT,
    ),
    Entry(
        "image/header-bomb-gif",
        "image",
        "a tiny GIF whose header claims 65535×65535 pixels",
        "refuse",
        "refused at once from the header: too many megapixels, downscale it",
        "huge.gif",
        _gif_header_bomb,
        message=_PIXEL_LIMIT,
    ),
    Entry(
        "image/decompression-bomb-png",
        "image",
        "a 100 kB PNG that decodes to 10000×10000 pixels (100 megapixels)",
        "refuse",
        "refused at once from the header: too many megapixels, downscale it",
        "bomb.png",
        _png_bomb,
        message=_PIXEL_LIMIT,
    ),
    Entry(
        "image/png-text-bomb",
        "image",
        "a small PNG carrying a comment that unpacks to 50 MB",
        "refuse",
        "refused at once: the file looks damaged",
        "comment.png",
        _png_text_bomb,
        message=_DAMAGED,
    ),
    # Odd shapes.
    Entry(
        "image/1x1",
        "image",
        "a 1×1 pixel PNG",
        "accept",
        "shown as it is (one pixel)",
        "dot.png",
        lambda: _opencv(".png", np.array([[[10, 200, 30]]], np.uint8)),
    ),
    Entry(
        "image/1xN-strip",
        "image",
        "a strip 1 pixel high and 5000 wide",
        "accept",
        "shown as it is (shrunk to the page's size)",
        "strip.png",
        lambda: _opencv(".png", np.tile(np.arange(5000) % 256, (1, 1)).astype(np.uint8)),
    ),
    Entry(
        "image/Nx1-strip",
        "image",
        "a strip 5000 pixels high and 1 wide",
        "accept",
        "shown as it is (shrunk to the page's size)",
        "column.png",
        lambda: _opencv(".png", (np.arange(5000) % 256).astype(np.uint8)[:, None]),
    ),
    # Unusual pixel formats.
    Entry(
        "image/16-bit-gray-png",
        "image",
        "a 16-bit grayscale PNG (scientific camera, medical scan)",
        "note",
        "shown with a note: 16-bit values scaled to 0–255",
        "scan16.png",
        _sixteen_bit_gray,
        message="16-bit",
    ),
    Entry(
        "image/48-bit-rgb-png",
        "image",
        "a 48-bit colour PNG (16 bits per channel)",
        "note",
        "shown with a note: 16-bit values scaled to 0–255",
        "photo48.png",
        lambda: _forty_eight_bit(".png"),
        message="16-bit",
    ),
    Entry(
        "image/48-bit-rgb-tiff",
        "image",
        "a 48-bit colour TIFF (16 bits per channel)",
        "note",
        "shown with a note: 16-bit values scaled to 0–255",
        "photo48.tif",
        lambda: _forty_eight_bit(".tiff"),
        message="16-bit",
    ),
    Entry(
        "image/int32-tiff",
        "image",
        "a 32-bit integer TIFF with values up to 285,000",
        "note",
        "shown with a note: values stretched from their range to 0–255",
        "counts.tif",
        _int32_tiff,
        message="stretched",
    ),
    Entry(
        "image/float-tiff",
        "image",
        "a floating-point TIFF with values from 0 to 1",
        "note",
        "shown with a note: values 0–1 scaled to 0–255",
        "float.tif",
        _float_tiff,
        message="scaled to 0–255",
    ),
    Entry(
        "image/float-tiff-wide-range",
        "image",
        "a floating-point TIFF with values from 0 to 1000",
        "note",
        "shown with a note: values stretched from their range to 0–255",
        "depth.tif",
        lambda: _float_tiff(scale=1000.0),
        message="stretched",
    ),
    Entry(
        "image/float-tiff-nan",
        "image",
        "a floating-point TIFF holding NaN (not-a-number) values",
        "note",
        "shown with a note: NaN values shown as 0",
        "nan.tif",
        lambda: _float_tiff(float("nan"), float("nan")),
        message="NaN",
    ),
    Entry(
        "image/float-tiff-inf",
        "image",
        "a floating-point TIFF holding +inf and −inf values",
        "note",
        "shown with a note: infinite values shown as 0",
        "inf.tif",
        lambda: _float_tiff(float("inf"), float("-inf")),
        message="infinite",
    ),
    Entry(
        "image/cmyk-jpeg",
        "image",
        "a CMYK JPEG (made for printing)",
        "note",
        "shown with a note: converted from CMYK to RGB",
        "print.jpg",
        _cmyk_jpeg,
        message="CMYK",
    ),
    Entry(
        "image/palette-png-transparent",
        "image",
        "a palette PNG (16 colours) with a transparent colour",
        "note",
        "shown with a note: transparency dropped",
        "icon.png",
        _palette_with_transparency,
        message="transparency",
    ),
    Entry(
        "image/gray-alpha-png",
        "image",
        "a grayscale PNG with an alpha (transparency) channel",
        "note",
        "shown in grey with a note: transparency dropped",
        "gray-alpha.png",
        _gray_alpha,
        message="transparency",
    ),
    Entry(
        "image/rgba-png",
        "image",
        "a colour PNG with partly transparent pixels",
        "note",
        "shown with a note: transparency dropped",
        "rgba.png",
        lambda: _rgba(None),
        message="transparency",
    ),
    Entry(
        "image/rgba-png-opaque",
        "image",
        "a colour PNG with an alpha channel that is fully opaque (a typical screenshot)",
        "accept",
        "shown as it is: nothing was transparent, so nothing is said",
        "screenshot.png",
        lambda: _rgba(255),
    ),
    Entry(
        "image/1-bit-png",
        "image",
        "a black-and-white (1 bit per pixel) PNG",
        "accept",
        "shown as it is, black 0 and white 255",
        "bw.png",
        lambda: _pillow(Image.fromarray(_gradient()[:, :, 0] > 128), "PNG"),
    ),
    Entry(
        "image/animated-gif",
        "image",
        "an animated GIF with 3 frames",
        "note",
        "shown with a note: the first of its 3 frames is used",
        "anim.gif",
        lambda: _animated("GIF"),
        message="first of its 3",
    ),
    Entry(
        "image/animated-png",
        "image",
        "an animated PNG (APNG) with 3 frames",
        "note",
        "shown with a note: the first of its 3 frames is used",
        "anim.png",
        lambda: _animated("PNG"),
        message="first of its 3",
    ),
    Entry(
        "image/multi-page-tiff",
        "image",
        "a TIFF holding 2 pages",
        "note",
        "shown with a note: the first of its 2 pages is used",
        "pages.tif",
        _multi_page_tiff,
        message="first of its 2",
    ),
    Entry(
        "image/exif-rotated-jpeg",
        "image",
        "a phone photo stored sideways with an EXIF 'rotate 90°' tag",
        "note",
        "shown upright with a note: rotated using the photo's EXIF orientation",
        "phone.jpg",
        _exif_rotated,
        message="rotated",
    ),
    # Names that do not match the contents.
    Entry(
        "image/uppercase-png",
        "image",
        "a PNG named with an upper-case extension (.PNG)",
        "accept",
        "shown as it is",
        "PHOTO.PNG",
        _png,
    ),
    Entry(
        "image/uppercase-jpg",
        "image",
        "a JPEG named with an upper-case extension (.JPG)",
        "accept",
        "shown as it is",
        "IMG_0001.JPG",
        _jpeg,
    ),
    Entry(
        "image/png-named-jpg",
        "image",
        "a PNG saved with a .jpg name",
        "accept",
        "shown as it is: the contents decide, not the name",
        "really-a-png.jpg",
        _png,
    ),
]
