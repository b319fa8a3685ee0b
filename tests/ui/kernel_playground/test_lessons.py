"""ui.kernel_playground.lessons: equivariance, kernel comparison, noise and sharpening."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging.images import to_grayscale
from core.imaging.synthetic_images import make_synthetic
from core.ops.kernels import PRESETS, kernel
from ui.kernel_playground.lessons import grey, noise_demo


def test_grey_converts_colour_and_keeps_grey():
    colour = np.zeros((2, 2, 3))
    colour[..., 0] = 100.0
    np.testing.assert_allclose(grey(colour), to_grayscale(colour))
    plain = np.ones((2, 2))
    assert grey(plain) is plain


def test_the_median_filter_wins_on_salt_and_pepper():
    clean = make_synthetic("stripes", 64)
    noisy, filtered, errors, noisy_error = noise_demo(clean, "salt_pepper", 0.1, 3)
    assert list(filtered) == ["Mean", "Gaussian", "Median"]
    assert int((noisy != clean).sum()) > 0
    assert errors["Median"] < errors["Mean"] < noisy_error
    assert errors["Median"] == min(errors.values())


def test_every_filter_reduces_gaussian_noise():
    clean = make_synthetic("ramp", 64)
    noisy, filtered, errors, noisy_error = noise_demo(clean, "gaussian", 400.0, 5)
    assert noisy.shape == clean.shape and all(f.shape == clean.shape for f in filtered.values())
    assert max(errors.values()) < noisy_error


def row_script(count, options):
    import numpy as np

    from ui.kernel_playground.lessons import show_row

    show_row([(np.full((4, 4), 10.0 * i), f"picture {i}", "clip") for i in range(count)], **options)


def test_show_row_puts_one_captioned_picture_in_each_column():
    at = AppTest.from_function(row_script, args=(3, {"colorbar": False, "details": False}))
    at.run(timeout=30)
    assert [c for i in at.image for c in i.captions] == [f"picture {i} — 4×4" for i in range(3)]
    assert len(at.columns) == 3
    assert not [h for h in at.get("html") if "linear-gradient" in h.proto.body]


def lesson_script(lesson, image, weights, strides, options):
    import streamlit as st

    from ui.kernel_playground import lessons

    if lesson == "shift":
        lessons.shift_test(image, weights, strides)
    elif lesson == "compare":
        lessons.compare_kernels(image, weights, options, "auto")
    else:
        lessons.noise_and_sharpening(image, "synthetic:stripes", shareable=True)
    st.session_state["ran"] = lesson


def open_lesson(lesson, image=None, weights=None, strides=(1, 1), options=None) -> AppTest:
    image = make_synthetic("checkerboard", 32) if image is None else image
    weights = kernel("sobel_bottom") if weights is None else weights
    options = options or {"padding": "same", "strides": strides}
    at = AppTest.from_function(lesson_script, args=(lesson, image, weights, strides, options))
    at.run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> list[str]:
    return [c.split(" — ")[0] for image in at.image for c in image.captions]


def test_the_shift_test_is_identical_at_stride_1():
    at = open_lesson("shift")
    assert any(s.value.startswith("Identical") for s in at.success)
    assert captions(at) == ["Filter the shifted image", "Shift the filtered image", "Difference"]


def test_the_shift_test_explains_a_shift_that_misses_the_stride():
    at = open_lesson("shift", strides=(1, 2))
    at.slider(key="kernel.shift_cols").set_value(1).run()
    (warning,) = at.warning
    assert "is not a whole number of strides (1, 2)" in warning.value


def test_comparing_kernels_shows_both_and_the_sobel_magnitude():
    at = open_lesson("compare")
    assert captions(at) == ["Your kernel", PRESETS["box_blur"].name]
    at.selectbox(key="kernel.compare").set_value("laplacian").run()
    at.toggle(key="kernel.sobel_magnitude").set_value(True).run()
    shown = captions(at)
    assert shown[:3] == ["Gx (Sobel x)", "Gy (Sobel y)", "√(Gx² + Gy²)"]
    assert shown[3:] == ["Your kernel", PRESETS["laplacian"].name]


def test_comparing_reports_a_kernel_that_does_not_fit():
    tiny = np.ones((2, 2))
    at = open_lesson("compare", image=tiny, options={"padding": "valid"})
    assert at.error and not at.exception


@pytest.mark.parametrize("kind", ["gaussian", "salt_pepper"])
def test_noise_and_sharpening_shows_eight_pictures(kind):
    at = open_lesson("noise", image=make_synthetic("stripes", 32))
    at.radio(key="kernel.noise_kind").set_value(kind).run()
    shown = captions(at)
    assert shown[0].startswith("Noisy (error ") and shown[3].startswith("Median filter (error ")
    assert shown[4:] == ["Original", "Blurred", "Detail = original − blurred", "Sharpened"]
