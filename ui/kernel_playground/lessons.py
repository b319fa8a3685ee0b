"""The Kernel Playground's lesson tabs: translation equivariance, kernel comparison, and noise
and sharpening. Each takes the page's image and kernel and draws pictures through
``ui.widgets.image_view.show_image``; every number comes from ``core``."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from core.base.numbers import readable
from core.imaging.images import to_grayscale
from core.ops import filtering
from core.ops.convolution import conv2d
from core.ops.kernel_analysis import equivariance
from core.ops.kernels import PRESETS, gradient_magnitude
from core.ops.kernels import kernel as preset
from ui.widgets import page_link
from ui.widgets.image_view import show_image


def grey(image: np.ndarray) -> np.ndarray:
    """A colour image in grey; a grey one as it is."""
    return to_grayscale(image) if image.ndim == 3 else image


def show_row(pictures: list[tuple[np.ndarray, str, str]], **options) -> None:
    """Pictures side by side, one column each, given as ``(values, caption, mapping)``.

    ``options`` go to every ``show_image`` call (``colorbar``, ``details``).
    """
    for column, (values, caption, mapping) in zip(st.columns(len(pictures)), pictures, strict=True):
        show_image(values, caption=caption, mapping=mapping, container=column, **options)


@st.fragment
def shift_test(image, kernel, strides) -> None:
    """Translation equivariance: conv(shift(x)) against shift(conv(x))."""
    st.markdown(
        "Moving the picture and then filtering gives the same result as filtering and then "
        "moving the output — a kernel treats every position alike. With a stride above 1 this "
        "only holds for shifts that are whole multiples of the stride."
    )
    a, b = st.columns(2)
    dy = a.slider(
        "Shift down (rows)",
        -16,
        16,
        key="kernel.shift_rows",
        help="Moves the image down (negative: up), wrapping around the edge.",
    )
    dx = b.slider(
        "Shift right (columns)",
        -16,
        16,
        key="kernel.shift_cols",
        help="Moves the image right (negative: left), wrapping around.",
    )
    gray = grey(image)
    try:
        check = equivariance(gray, kernel, (dy, dx), strides=strides)
    except ValueError as error:
        st.error(f"{error} Use a smaller stride.")
        return
    show_row(
        [
            (check.conv_of_shifted, "Filter the shifted image", "auto"),
            (check.shifted_conv, "Shift the filtered image", "auto"),
            (check.difference, "Difference", "diverging"),
        ]
    )
    if check.is_equivariant:
        st.success(
            f"Identical: the largest difference is {readable(check.max_abs_difference, 255)}."
        )
    else:
        reason = (
            f" A shift of ({dy}, {dx}) is not a whole number of strides {tuple(strides)}, so "
            "the outputs are sampled at different places."
            if not check.output_shift_exact
            else ""
        )
        st.warning(
            f"Not identical: the largest difference is {readable(check.max_abs_difference)}."
            + reason
        )
    st.caption("The image wraps around (circular shift and border) so that edges do not interfere.")
    page_link.sync()  # a fragment: its changes go into the address now


def compare_kernels(image, kernel, options, mapping) -> None:
    """Sobel gradient magnitude in one click, and two kernels side by side."""
    gray = grey(image)
    if st.toggle(
        "Sobel gradient magnitude √(Gx² + Gy²)",
        key="kernel.sobel_magnitude",
        help="Combine the horizontal and vertical Sobel responses into one edge strength that "
        "ignores the edge's direction.",
    ):
        gx = conv2d(gray, preset("sobel_right"), **options)
        gy = conv2d(gray, preset("sobel_bottom"), **options)
        show_row(
            [
                (gx, "Gx (Sobel x)", "diverging"),
                (gy, "Gy (Sobel y)", "diverging"),
                (gradient_magnitude(gx, gy), "√(Gx² + Gy²)", "minmax"),
            ]
        )
    other = st.selectbox(
        "Compare with",
        list(PRESETS),
        index=list(PRESETS).index("box_blur"),
        format_func=lambda k: PRESETS[k].name,
        key="kernel.compare",
        help="A second kernel applied to the same image with the same settings.",
    )
    columns = st.columns(2)
    try:
        show_image(
            conv2d(gray, kernel, **options),
            caption="Your kernel",
            mapping=mapping,
            container=columns[0],
        )
        show_image(
            conv2d(gray, preset(other), **options),
            caption=PRESETS[other].name,
            mapping=mapping,
            container=columns[1],
        )
    except ValueError as error:
        st.error(f"{error}")


@st.cache_data(max_entries=8, show_spinner=False)
def _noise_demo_cached(name, _gray, kind: str, amount: float, size: int):
    """``noise_demo`` for images known by name (bundled photos, patterns), shared by users."""
    return noise_demo(_gray, kind, amount, size)


def noise_demo(gray, kind: str, amount: float, size: int):
    """Noisy image, the three filters' results, their errors and the noisy image's error."""
    if kind == "gaussian":
        noisy = filtering.add_gaussian_noise(gray, amount, seed=0)
    else:
        noisy = filtering.add_salt_and_pepper(gray, amount, seed=0)
    filtered = {
        "Mean": filtering.mean_filter(noisy, size),
        "Gaussian": filtering.gaussian_filter(noisy, size, size / 4),
        "Median": filtering.median_filter(noisy, size),
    }
    errors = {label: filtering.mean_squared_error(f, gray) for label, f in filtered.items()}
    return noisy, filtered, errors, filtering.mean_squared_error(noisy, gray)


NOISE_DEFAULTS = {
    "kernel.noise_var": 100,
    "kernel.noise_fraction": 0.1,
    "kernel.noise_size": 3,
    "kernel.unsharp_amount": 1.0,
    "kernel.unsharp_sigma": 2.0,
}
"""The noise tab's starting values (kept in session state, where a link can set them)."""


@st.fragment
def noise_and_sharpening(pixels, name: str, *, shareable: bool = True) -> None:
    """The seeds' filtering demos: denoise with mean / Gaussian / median, then unsharp masking."""
    for key, value in NOISE_DEFAULTS.items():
        st.session_state.setdefault(key, value)
    gray = grey(pixels)
    a, b, c = st.columns(3)
    kind = a.radio(
        "Noise",
        ["gaussian", "salt_pepper"],
        key="kernel.noise_kind",
        format_func={"gaussian": "Gaussian", "salt_pepper": "Salt and pepper"}.get,
        help="Gaussian: every pixel nudged by a random amount. Salt and pepper: a few pixels "
        "set to pure black or white.",
    )
    if kind == "gaussian":
        amount = b.slider(
            "Noise variance",
            0,
            2500,
            step=25,
            key="kernel.noise_var",
            help="Spread of the noise in grey levels squared (100 means a typical nudge of ±10).",
        )
    else:
        amount = b.slider(
            "Fraction of pixels hit",
            0.0,
            0.5,
            step=0.01,
            key="kernel.noise_fraction",
            help="Share of pixels turned black or white.",
        )
    size = c.select_slider(
        "Filter size",
        [3, 5, 7, 9],
        key="kernel.noise_size",
        help="Width of the square neighbourhood each filter looks at.",
    )
    # Uploads are never cached: another user's upload may carry the same file name.
    compute = partial(_noise_demo_cached, name) if shareable else noise_demo
    noisy, filtered, errors, noisy_error = compute(gray, kind, float(amount), size)
    show_row(
        [(noisy, f"Noisy (error {noisy_error:.0f})", "auto")]
        + [
            (result, f"{label} filter (error {errors[label]:.0f})", "auto")
            for label, result in filtered.items()
        ],
        colorbar=False,
        details=False,
    )
    st.caption(
        "Shown in grey, clipped to 0–255. "
        "Error = mean squared difference from the clean image (lower is better). The median "
        "filter is not a convolution: it sorts the neighbourhood and keeps the middle value, "
        "which no weighted sum can do — that is why it removes salt and pepper so well."
    )
    st.markdown(
        "**Unsharp masking:** sharpened = original + amount × (original − blurred). The detail "
        "image is signed (blue negative, red positive); the others are clipped to 0–255."
    )
    a, b = st.columns(2)
    amount = a.slider(
        "Amount",
        0.0,
        3.0,
        step=0.1,
        key="kernel.unsharp_amount",
        help="How much of the fine detail to add back.",
    )
    sigma = b.slider(
        "Blur σ",
        0.5,
        5.0,
        step=0.5,
        key="kernel.unsharp_sigma",
        help="How wide the blur is: larger σ sharpens coarser detail.",
    )
    size = min(31, 2 * int(np.ceil(3 * sigma)) + 1)
    blurred, detail, sharpened = filtering.unsharp_mask(
        gray, amount=amount, kernel_size=size, sigma=sigma
    )
    show_row(
        [
            (gray, "Original", "clip"),
            (blurred, "Blurred", "clip"),
            (detail, "Detail = original − blurred", "diverging"),
            (sharpened, "Sharpened", "clip"),
        ],
        colorbar=False,
        details=False,
    )
    page_link.sync()  # a fragment: its changes go into the address now
