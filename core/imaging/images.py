"""Reading user images safely and showing float arrays honestly.

Decoding: uploaded bytes or a path become a float32 array with values on the
0–255 scale, (H, W) grayscale or (H, W, 3) RGB. The header is read first
(Pillow) so a decompression bomb is refused before any pixels are decoded;
EXIF orientation is applied, alpha dropped, 16-bit scaled and CMYK converted,
and every such change is reported in ``DecodedImage.notes`` for the page.

Display: a convolution's output is signed and unbounded, so turning it into a
picture is a choice — clip to 0–255, absolute value, stretch min–max, or a
signed diverging colour scale centred on zero. ``to_display`` makes that
choice explicit and returns the range it used, so the UI can say which one is
on screen.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from core.base.checks import as_choice, check_choice, check_int, received

DEFAULT_MAX_PIXELS = 25_000_000


COLOR_MODES = ("grayscale", "rgb")


# ITU-R BT.601 luma, the weights OpenCV's COLOR_RGB2GRAY uses.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)
LUMA_WEIGHTS.setflags(write=False)


DISPLAY_MAPPINGS = ("clip", "abs", "minmax", "diverging")


class ImageDecodeError(ValueError):
    """The bytes are not an image ConvScope can use; the message says why and what to do."""


@dataclass(frozen=True)
class DecodedImage:
    """Pixels (float32, 0–255) plus what was done to them on the way in."""

    pixels: np.ndarray
    format: str
    original_size: tuple[int, int]  # (width, height) as stored
    notes: tuple[str, ...] = ()


# What the uploaders offer; Pillow reads only these (never, say, EPS, which would start
# Ghostscript on the upload). Pillow's JPEG reader also opens MPO, some phones' JPEGs.
PILLOW_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")


# First bytes of those formats: a file that starts like one but does not open is damaged.
_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"BM", b"GIF8", b"II*\x00", b"MM\x00*", b"RIFF")


_DAMAGED = (
    "The image could not be decoded: the file looks damaged or cut short. "
    "Try saving it again as PNG or JPEG."
)


def _read_header(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise ImageDecodeError("The file is empty. Choose an image file (PNG, JPEG, ...).")
    try:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # we apply our own, clearer limit below
        try:
            image = Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)
        finally:
            Image.MAX_IMAGE_PIXELS = previous
    except UnidentifiedImageError:
        if data.startswith(_SIGNATURES):
            raise ImageDecodeError(_DAMAGED) from None
        raise ImageDecodeError(
            "This file is not an image format ConvScope can read. "
            "Upload a PNG, JPEG, BMP, GIF, TIFF or WebP image."
        ) from None
    except Exception:  # noqa: BLE001 - any failure to parse hostile bytes is "damaged"
        raise ImageDecodeError(_DAMAGED) from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageDecodeError(
            f"The image is {width}×{height} = {width * height / 1e6:.1f} megapixels, over the "
            f"limit of {max_pixels / 1e6:g} megapixels. Downscale it before uploading."
        )
    if image.format in ("JPEG", "MPO") and not _jpeg_complete(data):
        raise ImageDecodeError(_DAMAGED)
    return image


def _jpeg_complete(data: bytes) -> bool:
    """Whether a JPEG's last scan is followed by its end marker (else it was cut short).

    Inside compressed data a 0xFF byte is always followed by 0x00, so these two-byte
    markers cannot appear by chance; a decoder would fill the missing part with grey.
    """
    return data.rfind(b"\xff\xd9") > data.rfind(b"\xff\xda")


def _stretch(pixels: np.ndarray, notes: list[str], kind: str) -> np.ndarray:
    """Integers or floats of any range on the 0–255 scale, saying how (NaN and inf → 0)."""
    # float64 while stretching: int32 and float64 values may not fit float32's range.
    pixels = _finite(pixels.astype(np.float32 if pixels.dtype == np.float32 else np.float64), notes)
    low, high = float(pixels.min()), float(pixels.max())
    if kind == "float" and low >= 0.0 and high <= 1.0:
        notes.append("Floating-point image: values 0–1 scaled to 0–255.")
        return (pixels * 255.0).astype(np.float32)
    if kind == "integer" and low >= 0.0 and high <= 255.0:
        return pixels.astype(np.float32)
    name = "floating-point" if kind == "float" else kind
    notes.append(
        f"The {name} values run from {low:,.6g} to {high:,.6g}; they are stretched"
        " to 0–255 (lowest black, highest white)."
    )
    span = high - low
    if not span > 0:
        return np.zeros(pixels.shape, np.float32)
    return ((pixels - low) * (255.0 / span)).astype(np.float32)


def _note_alpha(alpha: np.ndarray, opaque: float, notes: list[str]) -> None:
    """Say the alpha channel was dropped, unless every pixel was fully opaque anyway."""
    if alpha.size and float(alpha.min()) < opaque:
        notes.append("Transparency (alpha channel) dropped.")


def _pillow_to_array(image: Image.Image, notes: list[str]) -> np.ndarray:
    """Fallback decoder for what OpenCV does not read (CMYK, palette GIFs, animations)."""
    if image.mode in ("I;16", "I;16B", "I;16L"):
        notes.append("16-bit image scaled to 0–255.")
        return (np.asarray(image, dtype=np.float64) / 65535.0 * 255.0).astype(np.float32)
    if image.mode in ("I", "F"):
        return _stretch(np.asarray(image), notes, "integer" if image.mode == "I" else "float")
    if image.mode == "CMYK":
        notes.append("CMYK image converted to RGB.")
    gray = image.mode in ("L", "1", "LA", "La")
    if image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info:
        _note_alpha(np.asarray(image.convert("RGBA").getchannel("A")), 255, notes)
    return np.asarray(image.convert("L" if gray else "RGB"), dtype=np.float32)


def _finite(pixels: np.ndarray, notes: list[str]) -> np.ndarray:
    """``pixels`` with NaN and ±infinity set to 0, and a note saying how many there were."""
    bad = ~np.isfinite(pixels)
    if not bad.any():
        return pixels
    nan = int(np.isnan(pixels).sum())
    count = int(bad.sum())
    what = {0: "infinite", count: "NaN (not a number)"}.get(nan, "NaN or infinite (not numbers)")
    verb = "value was" if count == 1 else "values were"
    notes.append(f"{count:,} {verb} {what} and {'is' if count == 1 else 'are'} shown as 0.")
    return np.where(bad, 0, pixels).astype(pixels.dtype, copy=False)


def _opencv_to_array(data: bytes, gray: bool, notes: list[str]) -> np.ndarray | None:
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        decoded = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error:
        return None
    if decoded is None or decoded.size == 0:
        return None
    channels = decoded.shape[2] if decoded.ndim == 3 else 1
    if channels in (2, 4):
        full = 1.0 if decoded.dtype.kind == "f" else np.iinfo(decoded.dtype).max
        _note_alpha(decoded[:, :, -1], full, notes)
    if gray or channels in (1, 2):
        decoded = decoded[:, :, 0] if decoded.ndim == 3 else decoded
    elif decoded.dtype in (np.uint8, np.uint16, np.float32):  # OpenCV's BGR → RGB, fast
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGB if channels == 4 else cv2.COLOR_BGR2RGB)
    else:
        decoded = decoded[:, :, 2::-1]
    if decoded.dtype == np.uint16:
        notes.append("16-bit image scaled to 0–255.")
        pixels = decoded.astype(np.float32)
        pixels *= 255.0 / 65535.0
    elif decoded.dtype == np.uint8:
        pixels = decoded.astype(np.float32)
    elif decoded.dtype.kind in "fiu":
        pixels = _stretch(decoded, notes, "float" if decoded.dtype.kind == "f" else "integer")
    else:
        return None
    return np.ascontiguousarray(pixels)


def _exif_transpose(
    pixels: np.ndarray, image: Image.Image, data: bytes, notes: list[str]
) -> np.ndarray:
    # Pillow looks for a PNG's EXIF after the pixels by decoding them all a second time;
    # a PNG without an eXIf chunk has no orientation to apply.
    if image.format == "PNG" and b"eXIf" not in data:
        return pixels
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # a damaged EXIF block must not stop the image from loading
        return pixels
    steps = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 1)[::-1],
        8: lambda a: np.rot90(a, 1),
    }
    if orientation in steps:
        notes.append("Rotated upright using the photo's EXIF orientation.")
        return np.ascontiguousarray(steps[orientation](pixels))
    return pixels


def decode_image(
    data: bytes, *, color_mode: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> DecodedImage:
    """Decode image bytes into float32 pixels on the 0–255 scale.

    Args:
        data: the file's bytes (PNG, JPEG, BMP, GIF, TIFF, WebP, ...).
        color_mode: None keeps the image as stored (grayscale or RGB),
            "rgb" or "grayscale" converts.
        max_pixels: refuse images with more pixels than this (checked from the
            header, before decoding).

    Returns:
        DecodedImage with ``pixels`` (H, W) or (H, W, 3).

    Raises:
        ImageDecodeError: empty, not an image, corrupt, or too large.

    >>> ok, png = cv2.imencode(".png", np.full((2, 3), 7, np.uint8))
    >>> decode_image(png.tobytes()).pixels.shape
    (2, 3)
    """
    color_mode = check_choice(color_mode, "color_mode", (None, *COLOR_MODES))
    max_pixels = check_int(max_pixels, "max_pixels", minimum=1)
    data = bytes(data)
    image = _read_header(data, max_pixels)
    notes: list[str] = []
    try:
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            notes.append(f"Animated or multi-page image: the first of its {frames} frames is used.")
        pixels = None
        if image.mode != "CMYK" and frames == 1:
            gray = image.mode in ("L", "LA", "La", "1", "I;16", "I;16B", "I;16L")
            pixels = _opencv_to_array(data, gray, notes)
        if pixels is None:
            image.seek(0)
            pixels = _pillow_to_array(image, notes)
    except Exception:  # noqa: BLE001 - whatever the decoders raise on hostile bytes
        raise ImageDecodeError(_DAMAGED) from None
    pixels = _exif_transpose(pixels, image, data, notes)
    if color_mode == "grayscale":
        pixels = to_grayscale(pixels)
    elif color_mode == "rgb" and pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return DecodedImage(
        pixels=pixels.astype(np.float32, copy=False),
        format=image.format or "unknown",
        original_size=image.size,
        notes=tuple(dict.fromkeys(notes)),
    )


def load_image(
    path: str | os.PathLike, *, color_mode: str | None = None, max_pixels=DEFAULT_MAX_PIXELS
) -> DecodedImage:
    """``decode_image`` for a file on disk.

    >>> from core.base.paths import SAMPLE_IMAGES_DIR
    >>> load_image(SAMPLE_IMAGES_DIR / "camera.png", color_mode="rgb").pixels.shape
    (512, 512, 3)
    """
    with open(path, "rb") as file:
        return decode_image(file.read(), color_mode=color_mode, max_pixels=max_pixels)


def to_grayscale(pixels: np.ndarray) -> np.ndarray:
    """Luma Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as OpenCV); grayscale passes through.

    >>> to_grayscale(np.array([[[255.0, 0.0, 0.0]]])).round(2)
    array([[76.24]], dtype=float32)
    """
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        return pixels.astype(np.float32)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"`pixels` must be (H, W) or (H, W, 3). {received('pixels', pixels)}")
    return pixels.astype(np.float32) @ LUMA_WEIGHTS


def downscale(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink so the longer side is at most ``max_side`` (area interpolation); never enlarge.

    Big photos make every later step slow; a page shrinks them once, on the way in.

    >>> downscale(np.zeros((100, 50), np.float32), 20).shape
    (20, 10)
    """
    max_side = check_int(max_side, "max_side", minimum=1)
    height, width = pixels.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return pixels
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class DisplayImage:
    """An 8-bit picture of a float array and the value range it shows.

    ``pixels`` is uint8 (H, W) grey, (H, W, 3) RGB, or — when ``palette``
    (256, 3) is given, for the signed colour scale — (H, W) palette indices:
    one byte per pixel keeps the PNG small and fast to write. ``rgb`` gives
    (H, W, 3) in every case.
    """

    pixels: np.ndarray
    mapping: str
    vmin: float
    vmax: float
    description: str
    palette: np.ndarray | None = None

    @property
    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB, whatever form ``pixels`` takes."""
        if self.palette is not None:
            return self.palette[self.pixels]
        if self.pixels.ndim == 2:
            return np.repeat(self.pixels[:, :, None], 3, axis=2)
        return self.pixels


# Blue → white → red, sampled from a perceptually even diverging scale (like ColorBrewer RdBu).
_DIVERGING_STOPS = np.array(
    [
        [5, 48, 97],
        [33, 102, 172],
        [67, 147, 195],
        [146, 197, 222],
        [209, 229, 240],
        [247, 247, 247],
        [253, 219, 199],
        [244, 165, 130],
        [214, 96, 77],
        [178, 24, 43],
        [103, 0, 31],
    ],
    dtype=np.float64,
)


def diverging_colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [−1, 1] to uint8 RGB: blue for negative, white for 0, red for positive.

    >>> diverging_colormap(np.array([-1.0, 0.0, 1.0])).tolist()
    [[5, 48, 97], [247, 247, 247], [103, 0, 31]]
    """
    positions = (np.clip(values, -1.0, 1.0) + 1.0) / 2.0 * (len(_DIVERGING_STOPS) - 1)
    lower = np.floor(positions).astype(int).clip(0, len(_DIVERGING_STOPS) - 2)
    fraction = (positions - lower)[..., None]
    colors = _DIVERGING_STOPS[lower] * (1 - fraction) + _DIVERGING_STOPS[lower + 1] * fraction
    return np.round(colors).astype(np.uint8)


# Index 127 is exactly zero, 0 and 254 are ∓ the limit (255 repeats the end).
_DIVERGING_PALETTE = diverging_colormap(np.append(np.linspace(-1.0, 1.0, 255), 1.0))


def finite_range(values: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of the finite values, or None when there are none.

    One pass each for min and max in the common case; only when NaN or ±inf
    make an end non-finite are the finite values picked out.

    >>> finite_range(np.array([1.0, np.nan, -2.0]))
    (-2.0, 1.0)
    """
    values = np.asarray(values)
    if values.size == 0:
        return None
    low, high = float(values.min()), float(values.max())
    if np.isfinite(low) and np.isfinite(high):
        return low, high
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if finite.size else None


def to_display(values, *, mapping: str = "clip") -> DisplayImage:
    """Turn a float array (H, W) or (H, W, 3) into an 8-bit picture, saying how.

    Mappings:
        "clip": values below 0 show black, above 255 white; the rest as they are.
        "abs": |x|, then clipped to 0–255 — edges of both signs look bright.
        "minmax": the smallest value shows black, the largest white.
        "diverging": a colour scale symmetric about 0 (blue negative, white 0,
            red positive), ±max|x| at the ends; a colour input is shown by its
            luma.

    NaN shows as 0 and ±inf as the finite extremes. Built on OpenCV's
    saturating conversions: a 512×512 colour map takes a few milliseconds.

    >>> to_display(np.array([[-140.0, 300.0]]), mapping="clip").rgb[0, :, 0].tolist()
    [0, 255]
    """
    mapping = as_choice(mapping, "mapping", DISPLAY_MAPPINGS)
    values = np.asarray(values)
    if values.ndim not in (2, 3) or (values.ndim == 3 and values.shape[2] != 3):
        raise ValueError(f"`values` must be (H, W) or (H, W, 3). {received('values', values)}")
    low, high = finite_range(values) or (0.0, 0.0)
    if values.size and not (np.isfinite(values.min()) and np.isfinite(values.max())):
        values = np.nan_to_num(values, nan=0.0, posinf=high, neginf=low)
    values = values.astype(np.float32, copy=False)
    if mapping == "clip":
        return DisplayImage(
            np.clip(values + 0.5, 0, 255.5).astype(np.uint8),
            mapping,
            0.0,
            255.0,
            "Values clipped to 0–255: negatives show as black, values above 255 as white.",
        )
    if mapping == "abs":
        return DisplayImage(
            cv2.convertScaleAbs(values),
            mapping,
            0.0,
            255.0,
            "Absolute value |x|, clipped to 0–255: strong responses of either sign look bright.",
        )
    if mapping == "minmax":
        span = high - low
        alpha = 255.0 / span if span > 0 else 0.0
        return DisplayImage(
            cv2.convertScaleAbs(values, alpha=alpha, beta=-low * alpha),
            mapping,
            low,
            high,
            f"Stretched min–max: {low:.4g} shows black, {high:.4g} white.",
        )
    gray = to_grayscale(values) if values.ndim == 3 else values
    limit = float(np.abs(gray).max()) or 1.0
    # −limit → 0, 0 → 127, +limit → 254; |gray| <= limit keeps the result non-negative.
    indices = cv2.convertScaleAbs(gray, alpha=127.0 / limit, beta=127.0)
    description = f"Signed colour scale: blue negative, white zero, red positive (±{limit:.4g})."
    if values.ndim == 3:
        description += " Colour outputs are shown by their brightness (luma)."
    return DisplayImage(indices, mapping, -limit, limit, description, _DIVERGING_PALETTE)


def encode_png(rgb_or_gray: np.ndarray) -> bytes:
    """PNG bytes of a uint8 (H, W) or (H, W, 3) RGB array: small and lossless, for the page.

    >>> encode_png(np.zeros((2, 2), np.uint8))[:4]
    b'\\x89PNG'
    """
    array = np.asarray(rgb_or_gray)
    if array.dtype != np.uint8:
        raise TypeError(f"`rgb_or_gray` must be uint8. {received('rgb_or_gray', array)}")
    if array.ndim == 3:
        array = array[:, :, ::-1]
    ok, buffer = cv2.imencode(".png", array)
    if not ok:
        raise ValueError("The array could not be encoded as PNG.")
    return buffer.tobytes()


def resize_and_pad(pixels: np.ndarray, size: int, *, fill: float = 0.0) -> np.ndarray:
    """Fit an image into a ``size``×``size`` square: keep the aspect ratio, centre, pad.

    This is how photos of different shapes become one network input shape
    without stretching (the dogs-vs-cats tutorial does it at 64×64). Shrinking
    uses area interpolation, enlarging bilinear. uint8 pixels stay uint8 (a
    data set of thousands of photos stays small); anything else becomes float32.

    >>> resize_and_pad(np.ones((10, 20), np.float32), 8).shape
    (8, 8)
    """
    size = check_int(size, "size", minimum=1)
    pixels = np.asarray(pixels)
    dtype = np.uint8 if pixels.dtype == np.uint8 else np.float32
    pixels = pixels.astype(dtype, copy=False)
    height, width = pixels.shape[:2]
    new_h, new_w, top, left = fit_in_square(height, width, size)
    shrinking = new_h * new_w < height * width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized = cv2.resize(pixels, (new_w, new_h), interpolation=interpolation)
    if resized.ndim < pixels.ndim:
        resized = resized[:, :, None]
    canvas = np.full((size, size) + pixels.shape[2:], fill, dtype=dtype)
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas


def fit_in_square(height: int, width: int, size: int) -> tuple[int, int, int, int]:
    """Where an image lands when it is fitted into a ``size``×``size`` square, centred.

    Returns ``(new_height, new_width, top, left)``: the longer side becomes ``size``, the
    other keeps the aspect ratio (at least 1 pixel), and the padding is split evenly with
    the odd pixel at the bottom or right.

    >>> fit_in_square(10, 20, 8)
    (4, 8, 2, 0)
    """
    scale = size / max(height, width)
    new_height, new_width = max(1, round(height * scale)), max(1, round(width * scale))
    return new_height, new_width, (size - new_height) // 2, (size - new_width) // 2
