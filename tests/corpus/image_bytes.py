"""The bytes of the image corpus (``tests/corpus/images.py``): small files built on demand.

Hostile ones are written field by field (PNG chunks, GIF descriptors) so that a header
can claim what the pixels are not.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import cv2
import numpy as np
from PIL import Image


def pillow(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def opencv(extension: str, pixels: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(extension, pixels)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {extension}")
    return buffer.tobytes()


def gradient(height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth RGB picture (uint8), different in each channel."""
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack(
        [cols * 255 // max(1, width - 1), rows * 255 // max(1, height - 1), (rows + cols) % 256],
        axis=2,
    ).astype(np.uint8)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width × height`` 8-bit grayscale pixels and holds one row."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = zlib.compress(b"\x00" * (1 + min(width, 1000)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", row)
        + png_chunk(b"IEND", b"")
    )


def png_bomb(side: int = 10_000) -> bytes:
    """A real ``side × side`` all-black grayscale PNG: about 100 kB that decodes to 100 MB."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", body)
        + png_chunk(b"IEND", b"")
    )


def gif_header_bomb() -> bytes:
    """A 1×1 GIF whose screen and image descriptor are patched to claim 65535×65535 pixels."""
    data = bytearray(pillow(Image.new("L", (1, 1)), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    descriptor = data.index(b"\x2c", 13)  # the image descriptor follows the colour table
    data[descriptor + 5 : descriptor + 9] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def png_text_bomb() -> bytes:
    """A small PNG with a compressed comment that would unpack to 50 MB of zeros."""
    data = png()
    comment = png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"\0" * 50_000_000, 9))
    return data[:33] + comment + data[33:]  # after the 33-byte signature and header


def png() -> bytes:
    return opencv(".png", gradient()[:, :, ::-1])


def jpeg() -> bytes:
    return opencv(".jpg", gradient()[:, :, ::-1])


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def zip_named_png() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.png", png())
    return buffer.getvalue()


def sixteen_bit_gray() -> bytes:
    rows, cols = np.mgrid[0:32, 0:40]
    return opencv(".png", ((rows * 40 + cols) * 50).astype(np.uint16))


def forty_eight_bit(extension: str) -> bytes:
    return opencv(extension, gradient().astype(np.uint16) * 257)


def float_tiff(*special: float, scale: float = 1.0) -> bytes:
    rows, cols = np.mgrid[0:16, 0:20]
    pixels = (rows * 20 + cols).astype(np.float32) / 319.0 * scale
    for index, value in enumerate(special):
        pixels[index, index] = value
    return opencv(".tiff", pixels)


def palette_with_transparency() -> bytes:
    image = Image.fromarray(gradient()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return pillow(image, "PNG", transparency=0)


def rgba(alpha: int | None) -> bytes:
    rgb = gradient()
    if alpha is None:  # a gradient of transparency
        alpha_channel = np.tile(np.linspace(0, 255, rgb.shape[1]).astype(np.uint8), (48, 1))
    else:
        alpha_channel = np.full(rgb.shape[:2], alpha, np.uint8)
    return pillow(Image.fromarray(np.dstack([rgb, alpha_channel]), "RGBA"), "PNG")


def gray_alpha() -> bytes:
    gray = Image.fromarray(gradient()[:, :, 0])
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1)))
    return pillow(Image.merge("LA", (gray, alpha)), "PNG")


def frames(count: int = 3) -> list[Image.Image]:
    return [
        Image.new("RGB", (24, 16), (80 * index, 40, 200 - 60 * index)) for index in range(count)
    ]


def animated(fmt: str) -> bytes:
    first, *rest = frames()
    return pillow(first, fmt, save_all=True, append_images=rest, duration=100, loop=0)


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    return pillow(Image.fromarray(gradient(30, 50)), "JPEG", exif=exif.tobytes(), quality=95)


def svg() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48">'
        b'<rect width="64" height="48" fill="red"/></svg>'
    )


def eps() -> bytes:
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 48\nnewpath 0 0 moveto showpage\n"


def zero_width_png() -> bytes:
    header = struct.pack(">IIBBBBB", 0, 48, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )


def corrupt_png_data() -> bytes:
    data = bytearray(png())
    start = data.index(b"IDAT") + 4
    data[start + 10 : start + 60] = bytes(range(50))  # garbage in the compressed pixels
    return bytes(data)


def cmyk_jpeg() -> bytes:
    return pillow(Image.fromarray(gradient()).convert("CMYK"), "JPEG", quality=95)


def multi_page_tiff() -> bytes:
    first, *rest = frames(2)
    return pillow(first, "TIFF", save_all=True, append_images=rest)


def int32_tiff() -> bytes:
    rows, cols = np.mgrid[0:16, 0:20]
    return pillow(Image.fromarray((rows * cols * 1000).astype(np.int32), "I"), "TIFF")
