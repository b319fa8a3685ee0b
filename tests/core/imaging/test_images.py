"""core.imaging.images: safe decoding of real and hostile files, and honest display mappings."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from core.imaging.images import (
    COLOR_MODES,
    LUMA_WEIGHTS,
    ImageDecodeError,
    decode_image,
    diverging_colormap,
    downscale,
    encode_png,
    finite_range,
    fit_in_square,
    load_image,
    resize_and_pad,
    to_display,
    to_grayscale,
)


def pillow_bytes(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_sample_photo_decodes_as_rgb_matching_pillow(shared_data):
    path = shared_data / "sample_images" / "astronaut.png"
    decoded = load_image(path)
    assert decoded.pixels.shape == (512, 512, 3)
    assert decoded.pixels.dtype == np.float32
    np.testing.assert_array_equal(decoded.pixels, np.asarray(Image.open(path).convert("RGB")))
    assert decoded.notes == ()


def test_grayscale_photo_stays_two_dimensional(shared_data):
    decoded = load_image(shared_data / "sample_images" / "camera.png")
    assert decoded.pixels.shape == (512, 512)


def test_jpeg_decodes(shared_data):
    decoded = load_image(shared_data / "sample_images" / "rocket.jpg")
    assert decoded.pixels.shape == (427, 640, 3)
    assert decoded.format == "JPEG"


def test_color_mode_conversions():
    data = pillow_bytes(Image.new("RGB", (3, 2), (255, 0, 0)), "PNG")
    gray = decode_image(data, color_mode="grayscale").pixels
    assert gray.shape == (2, 3)
    assert gray[0, 0] == pytest.approx(0.299 * 255, abs=0.01)
    data = pillow_bytes(Image.new("L", (3, 2), 9), "PNG")
    assert decode_image(data, color_mode="rgb").pixels.shape == (2, 3, 3)


def test_sixteen_bit_png_is_scaled_to_0_255():
    pixels = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    ok, png = cv2.imencode(".png", pixels)
    decoded = decode_image(png.tobytes())
    np.testing.assert_allclose(decoded.pixels, pixels / 65535 * 255, rtol=1e-6)
    assert any("16-bit" in note for note in decoded.notes)


def test_cmyk_jpeg_is_converted_to_rgb():
    data = pillow_bytes(Image.new("CMYK", (8, 4), (0, 255, 255, 0)), "JPEG", quality=100)
    decoded = decode_image(data)
    assert decoded.pixels.shape == (4, 8, 3)
    np.testing.assert_allclose(decoded.pixels[2, 4], [255, 0, 0], atol=3)
    assert any("CMYK" in note for note in decoded.notes)


def test_alpha_channel_is_dropped_with_a_note():
    data = pillow_bytes(Image.new("RGBA", (4, 4), (10, 20, 30, 40)), "PNG")
    decoded = decode_image(data)
    np.testing.assert_array_equal(decoded.pixels[0, 0], [10, 20, 30])
    assert any("alpha" in note for note in decoded.notes)


def test_animated_gif_uses_the_first_frame_with_a_note():
    frames = [Image.new("RGB", (6, 6), color) for color in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    data = pillow_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    decoded = decode_image(data)
    assert decoded.pixels.shape == (6, 6, 3)
    assert decoded.pixels[0, 0, 0] > 200 and decoded.pixels[0, 0, 2] < 50
    assert any("first of its 3 frames" in note for note in decoded.notes)


def test_nan_and_infinite_values_of_a_float_tiff_become_0_with_a_note():
    values = np.full((4, 5), 0.5, np.float32)
    values[0, 0], values[1, 2], values[3, 4] = np.nan, np.inf, -np.inf
    decoded = decode_image(pillow_bytes(Image.fromarray(values, mode="F"), "TIFF"))
    assert np.isfinite(decoded.pixels).all()
    assert decoded.pixels[0, 0] == decoded.pixels[1, 2] == decoded.pixels[3, 4] == 0.0
    assert decoded.pixels[2, 2] == pytest.approx(127.5)
    assert "3 values were NaN or infinite (not numbers) and are shown as 0." in decoded.notes


def test_a_finite_float_tiff_gets_no_nan_note():
    decoded = decode_image(pillow_bytes(Image.fromarray(np.zeros((2, 2), np.float32)), "TIFF"))
    assert not any("NaN" in note for note in decoded.notes)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (4, 2), (255, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    decoded = decode_image(pillow_bytes(image, "JPEG", exif=exif))
    assert decoded.pixels.shape == (4, 2, 3)
    assert any("EXIF" in note for note in decoded.notes)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is a text file, not a picture", "not an image format"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image format|damaged"),
    ],
)
def test_non_images_are_refused_with_a_reason(data, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data)


def test_truncated_jpeg_is_refused_as_damaged(shared_data):
    data = (shared_data / "sample_images" / "rocket.jpg").read_bytes()[:3000]
    with pytest.raises(ImageDecodeError, match="damaged"):
        decode_image(data)


def test_decompression_bomb_is_refused_before_decoding():
    data = pillow_bytes(Image.new("L", (20000, 20000)), "PNG")  # 400 MP, a few hundred kB
    with pytest.raises(ImageDecodeError, match=r"20000×20000 = 400.0 megapixels"):
        decode_image(data)


def test_pixel_budget_is_configurable():
    data = pillow_bytes(Image.new("L", (100, 100)), "PNG")
    with pytest.raises(ImageDecodeError, match="over the limit"):
        decode_image(data, max_pixels=5000)


def test_a_jpeg_cut_after_its_header_is_refused_not_filled_with_grey():
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = pillow_bytes(Image.fromarray(noise), "JPEG", quality=90)
    assert decode_image(data).pixels.shape == (64, 64, 3)
    with pytest.raises(ImageDecodeError, match="cut short"):
        decode_image(data[:-100])  # header intact, last part of the scan missing


def test_pillow_reads_only_the_offered_formats():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n"
    with pytest.raises(ImageDecodeError, match="not an image format"):
        decode_image(eps)  # never handed to Ghostscript
    ico = pillow_bytes(Image.new("RGB", (16, 16)), "ICO")
    with pytest.raises(ImageDecodeError, match="not an image format"):
        decode_image(ico)


def test_a_damaged_header_of_a_known_format_is_called_damaged():
    data = pillow_bytes(Image.new("L", (4, 4)), "PNG")
    with pytest.raises(ImageDecodeError, match="damaged"):
        decode_image(data[:20])  # the PNG signature, then a cut header


@pytest.mark.parametrize(
    ("values", "expected", "note"),
    [
        (np.array([[0, 1000], [500, 250]], np.int32), [[0, 255], [127.5, 63.75]], "0 to 1,000"),
        (np.array([[0, 200], [100, 50]], np.int32), [[0, 200], [100, 50]], None),
        (np.array([[-2.0, 2.0], [0.0, 1.0]], np.float32), [[0, 255], [127.5, 191.25]], "-2 to 2"),
        (np.array([[0.0, 1.0], [0.5, 0.25]], np.float32), [[0, 255], [127.5, 63.75]], "0–1"),
    ],
)
def test_wide_ranges_are_stretched_and_said(values, expected, note):
    mode = "I" if values.dtype == np.int32 else "F"
    decoded = decode_image(pillow_bytes(Image.fromarray(values, mode), "TIFF"))
    np.testing.assert_allclose(decoded.pixels, expected, rtol=1e-5)
    if note is None:
        assert decoded.notes == ()
    else:
        assert any(note in text for text in decoded.notes), decoded.notes


def test_an_opaque_alpha_channel_is_dropped_without_a_note():
    data = pillow_bytes(Image.new("RGBA", (4, 4), (10, 20, 30, 255)), "PNG")
    decoded = decode_image(data)
    np.testing.assert_array_equal(decoded.pixels[0, 0], [10, 20, 30])
    assert decoded.notes == ()


def test_gray_with_alpha_stays_gray():
    image = Image.merge("LA", (Image.new("L", (5, 3), 77), Image.new("L", (5, 3), 100)))
    decoded = decode_image(pillow_bytes(image, "PNG"))
    assert decoded.pixels.shape == (3, 5)
    np.testing.assert_array_equal(decoded.pixels, 77)
    assert any("Transparency" in note for note in decoded.notes)


def test_a_multi_page_tiff_uses_its_first_page_with_a_note():
    pages = [Image.new("L", (3, 2), 10), Image.new("L", (3, 2), 200)]
    decoded = decode_image(pillow_bytes(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    np.testing.assert_array_equal(decoded.pixels, 10)
    assert any("first of its 2 frames" in note for note in decoded.notes)


def test_to_grayscale_uses_bt601_like_opencv():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3)).astype(np.float32)
    expected = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    np.testing.assert_allclose(to_grayscale(rgb), expected, atol=1e-3)


def test_downscale_never_enlarges():
    image = np.zeros((100, 50, 3), np.float32)
    assert downscale(image, 40).shape == (40, 20, 3)
    assert downscale(image, 400).shape == (100, 50, 3)


def test_resize_and_pad_keeps_aspect_ratio_and_centres():
    image = np.full((20, 40), 255, np.float32)
    square = resize_and_pad(image, 8)
    assert square.shape == (8, 8)
    np.testing.assert_array_equal(square[:2], 0)
    np.testing.assert_array_equal(square[2:6], 255)
    np.testing.assert_array_equal(square[6:], 0)
    assert resize_and_pad(np.ones((30, 10, 3), np.float32), 64).shape == (64, 64, 3)


# --------------------------------------------------------------------------- display


def test_clip_mapping_never_wraps_negative_values():
    shown = to_display(np.array([[-140.0, 0.0, 116.0, 300.0]]), mapping="clip")
    assert shown.rgb[0, :, 0].tolist() == [0, 0, 116, 255]  # −140 must not show as 116
    assert "clipped" in shown.description


def test_abs_mapping():
    shown = to_display(np.array([[-140.0, 20.0]]), mapping="abs")
    assert shown.rgb[0, :, 0].tolist() == [140, 20]


def test_minmax_mapping_reports_its_range():
    shown = to_display(np.array([[-50.0, 0.0, 50.0]]), mapping="minmax")
    assert shown.rgb[0, :, 0].tolist() == [0, 128, 255]
    assert (shown.vmin, shown.vmax) == (-50.0, 50.0)


def test_minmax_of_a_constant_image_is_black_not_nan():
    assert to_display(np.full((2, 2), 7.0), mapping="minmax").rgb.max() == 0


def test_diverging_mapping_is_symmetric_about_zero():
    shown = to_display(np.array([[-10.0, 0.0, 5.0, 10.0]]), mapping="diverging")
    left, middle, _, right = shown.rgb[0]
    assert middle.tolist() == [247, 247, 247]  # white at zero
    assert left[2] > left[0] and right[0] > right[2]  # blue negative, red positive
    assert (shown.vmin, shown.vmax) == (-10.0, 10.0)


def test_diverging_colormap_ends():
    colors = diverging_colormap(np.array([-1.0, 1.0, 5.0]))
    assert colors[0].tolist() == [5, 48, 97]
    assert colors[1].tolist() == colors[2].tolist() == [103, 0, 31]


def test_unknown_mapping_is_refused():
    with pytest.raises(ValueError, match="`mapping` must be one of"):
        to_display(np.zeros((2, 2)), mapping="log")


def test_encode_png_round_trips_rgb():
    rgb = np.random.default_rng(0).integers(0, 256, (4, 5, 3)).astype(np.uint8)
    decoded = decode_image(encode_png(rgb))
    np.testing.assert_array_equal(decoded.pixels, rgb)


# --------------------------------------------------------------------------- sizes and checks


def test_luma_weights_are_opencvs_and_read_only():
    gray = cv2.cvtColor(
        np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8), cv2.COLOR_RGB2GRAY
    )
    np.testing.assert_allclose(LUMA_WEIGHTS * 255, gray[0], atol=0.5)
    assert not LUMA_WEIGHTS.flags.writeable


@pytest.mark.parametrize(
    ("height", "width", "size", "expected"),
    [
        (10, 20, 8, (4, 8, 2, 0)),
        (20, 10, 8, (8, 4, 0, 2)),
        (5, 5, 10, (10, 10, 0, 0)),
        (1, 100, 10, (1, 10, 4, 0)),  # never thinner than a pixel
        (3, 4, 9, (7, 9, 1, 0)),  # 6.75 rounds to 7; the odd padding row goes below
    ],
)
def test_fit_in_square(height, width, size, expected):
    assert fit_in_square(height, width, size) == expected


def test_resize_and_pad_keeps_uint8_and_matches_opencv():
    image = np.random.default_rng(3).integers(0, 256, (30, 60, 3)).astype(np.uint8)
    square = resize_and_pad(image, 20)
    assert square.dtype == np.uint8
    expected = cv2.resize(image, (20, 10), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(square[5:15], expected)
    assert not square[:5].any() and not square[15:].any()
    assert resize_and_pad(image.astype(np.int16), 20).dtype == np.float32


def test_resize_and_pad_fills_with_the_given_value():
    square = resize_and_pad(np.zeros((2, 4), np.float32), 4, fill=7.0)
    assert square[0].tolist() == [7.0] * 4 and square[1].tolist() == [0.0] * 4


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: resize_and_pad(np.ones((2, 2)), 0),
            ValueError,
            r"^`size` must be >= 1\. Received: size=0\.$",
        ),
        (lambda: resize_and_pad(np.ones((2, 2)), 2.0), TypeError, r"^`size` must be an integer\."),
        (lambda: downscale(np.ones((2, 2)), 0), ValueError, r"`max_side` must be >= 1"),
        (
            lambda: decode_image(b"x", color_mode="RGB"),
            ValueError,
            r"`color_mode` must be one of None, 'grayscale', 'rgb'",
        ),
        (lambda: decode_image(b"x", color_mode=3), TypeError, r"`color_mode` must be one of"),
        (lambda: decode_image(b"x", max_pixels=0), ValueError, r"`max_pixels` must be >= 1"),
        (lambda: to_display(np.ones((2, 2)), mapping=None), TypeError, r"`mapping` must be one of"),
        (
            lambda: to_display(np.ones((2, 2, 2))),
            ValueError,
            r"^`values` must be \(H, W\) or \(H, W, 3\)\. Received: values=ndarray",
        ),
        (
            lambda: to_grayscale(np.ones((2, 2, 4))),
            ValueError,
            r"`pixels` must be \(H, W\) or \(H, W, 3\)",
        ),
        (
            lambda: encode_png(np.ones((2, 2))),
            TypeError,
            r"^`rgb_or_gray` must be uint8\. Received: rgb_or_gray=ndarray\(.*dtype=float64\)\.$",
        ),
    ],
)
def test_argument_errors_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_color_modes_are_the_ones_decode_image_converts_to():
    png = encode_png(np.full((2, 2, 3), 90, np.uint8))
    shapes = {mode: decode_image(png, color_mode=mode).pixels.shape for mode in COLOR_MODES}
    assert shapes == {"grayscale": (2, 2), "rgb": (2, 2, 3)}


def test_finite_range_ignores_nan_and_infinity():
    assert finite_range(np.array([np.inf, 2.0, -1.0, np.nan])) == (-1.0, 2.0)
    assert finite_range(np.array([np.nan])) is None
    assert finite_range(np.empty(0)) is None
