"""The Kernel Playground's lesson tabs: step by step, equivariance, kernel comparison, noise and
sharpening, and the clickable output that picks a pixel."""

from __future__ import annotations

from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.imaging.images import (
    to_grayscale,
)
from core.imaging.synthetic_images import SYNTHETIC_IMAGES
from ui.widgets.image_view import cell_px, compact_format, show_image
from ui.widgets.matrix_html import matrices_row, matrix_table


def show_explanation(patch: np.ndarray, kernel: np.ndarray, products: np.ndarray, padding_mask):
    """Input patch × kernel (as applied) = element-wise products, as three coloured tables.

    HTML rather than Plotly: these numbers change on every kernel edit, and three
    Plotly heatmaps cost the browser about 40 ms per update.
    """
    fmt = compact_format(np.concatenate([patch.ravel(), kernel.ravel(), products.ravel()]))
    cell = cell_px(kernel.shape)
    halo = padding_mask if padding_mask.any() else None
    tables = [
        matrix_table(patch, title="Input patch", fmt=fmt, halo=halo, cell_px=cell, indices=True),
        matrix_table(kernel, title="Kernel", fmt=fmt, cell_px=cell, indices=True),
        matrix_table(products, title="Products", fmt=fmt, cell_px=cell, indices=True),
    ]
    st.html(matrices_row(tables, operators=["×", "="]))


SYNTHETIC_KEYS = tuple(SYNTHETIC_IMAGES)


@st.cache_data(max_entries=16, show_spinner=False)
def _grayscale_cached(name: str, _pixels: np.ndarray) -> np.ndarray:
    return to_grayscale(_pixels)


def grayscale(choice) -> np.ndarray:
    """The chosen image in grey (cached per image; uploads are never shared between users)."""
    if choice.pixels.ndim == 2:
        return choice.pixels
    if not choice.shareable:
        return to_grayscale(choice.pixels)
    return _grayscale_cached(choice.name, choice.pixels)


def channel_weight_inputs(prefix: str) -> np.ndarray:
    """Three numbers scaling the kernel's R, G and B slices."""
    st.caption("Weight of each channel's slice (the grid's kernel times this number):")
    columns = st.columns(3)
    weights = [
        column.number_input(
            name,
            -10.0,
            10.0,
            value=1.0,
            step=0.5,
            key=f"{prefix}.weight_{name[0].lower()}",
            help=f"Multiplies the kernel's slice for the {name.lower()} channel. A CNN learns a "
            "different slice per channel; 0 ignores that channel.",
        )
        for column, name in zip(columns, ("Red", "Green", "Blue"), strict=True)
    ]
    return np.array(weights, dtype=np.float64)


def show_size_arithmetic(sizes) -> None:
    """The output-size formula with this run's numbers, and warnings when the stride misfits."""
    lines = []
    for axis_name, info in zip(("Rows", "Columns"), sizes, strict=True):
        k_text = str(info.kernel_size)
        if info.dilation_rate > 1:
            k_text = (
                f"k̂ = {info.kernel_size} + ({info.kernel_size} − 1)·({info.dilation_rate} − 1) "
                f"= {info.effective_kernel_size}"
            )
        lines.append(
            f"**{axis_name}:** ⌊({info.input_size} + {info.pad_before} + {info.pad_after} − "
            f"{info.effective_kernel_size}) / {info.stride}⌋ + 1 = **{info.size}**"
            + (f" (dilated kernel: {k_text})" if info.dilation_rate > 1 else "")
        )
    st.markdown(
        "Output size = ⌊(input + padding before + padding after − kernel) / stride⌋ + 1  \n"
        + "  \n".join(lines)
    )
    for axis_name, info in zip(("rows", "columns"), sizes, strict=True):
        padded = info.input_size + info.pad_before + info.pad_after
        if info.stride > padded:
            st.warning(
                f"The stride along the {axis_name} ({info.stride}) is larger than the padded "
                f"image ({padded}): the kernel fits only once. Use a smaller stride."
            )
        elif not info.exact:
            st.warning(
                f"The stride does not fit the {axis_name} exactly: ({info.numerator}) / "
                f"{info.stride} + 1 = {info.fractional_size:g}, rounded down to {info.size}. The "
                f"last {info.unreached} {axis_name} are never covered. Change the stride or the "
                "padding to make it fit."
            )


CLICKABLE_MAX_CELLS = 64 * 64


def _on_output_click() -> None:
    points = st.session_state["kernel.output_click"].selection.get("points", [])
    if points:
        st.session_state["kernel.row"] = int(points[0]["y"])
        st.session_state["kernel.col"] = int(points[0]["x"])


def clickable_output(values: np.ndarray, row: int, col: int) -> None:
    """The output as a heatmap: click a cell to explain it (small outputs only)."""
    rows, cols = values.shape
    cell = max(6, min(40, 420 // max(rows, cols)))
    signed = bool((values < 0).any())
    grid_rows, grid_cols = np.mgrid[0:rows, 0:cols]
    fig = go.Figure(
        go.Heatmap(
            z=values,
            colorscale="RdBu_r" if signed else "gray",
            zmid=0 if signed else None,
            text=np.vectorize(lambda v: f"{v + 0.0:.3g}")(values)
            if max(rows, cols) <= 12
            else None,
            texttemplate="%{text}" if max(rows, cols) <= 12 else None,
            hoverinfo="skip",
            showscale=False,
        )
    )
    # Heatmaps cannot be selected by clicking; an invisible marker on every cell can.
    fig.add_scatter(
        x=grid_cols.ravel(),
        y=grid_rows.ravel(),
        mode="markers",
        marker={"size": cell, "symbol": "square", "opacity": 0.01},
        hovertemplate="row %{y}, column %{x}<extra></extra>",
    )
    fig.add_shape(
        type="rect",
        x0=col - 0.5,
        x1=col + 0.5,
        y0=row - 0.5,
        y1=row + 0.5,
        line={"color": "#ff7f0e", "width": 3},
    )
    fig.update_xaxes(showgrid=False, zeroline=False, fixedrange=True, side="top")
    fig.update_yaxes(autorange="reversed", showgrid=False, zeroline=False, fixedrange=True)
    fig.update_layout(
        width=cell * cols + 60,
        height=cell * rows + 50,
        margin={"l": 40, "r": 10, "t": 30, "b": 10},
        clickmode="event+select",
        dragmode=False,
        showlegend=False,
    )
    st.caption("Click any output pixel to see how it was computed (orange frame).")
    st.plotly_chart(
        fig,
        key="kernel.output_click",
        on_select=_on_output_click,
        selection_mode="points",
        width="content",
        theme=None,
        config={"displayModeBar": False},
    )


@st.fragment
def step_by_step(image, weights, output, options, *, bias: float, relu: bool) -> None:
    """Pick one output pixel and show the dot product that produced it."""
    from core.ops.pixel_explanation import explain_pixel

    rows, cols = output.shape[:2]
    for key, limit in (("kernel.row", rows), ("kernel.col", cols)):
        if st.session_state.get(key, 0) >= limit:
            st.session_state[key] = limit - 1
    pickers = st.container(horizontal=True)
    row = pickers.number_input(
        "Output row",
        0,
        rows - 1,
        key="kernel.row",
        width=220,
        help="Which output pixel to explain: its row (0 is the top).",
    )
    col = pickers.number_input(
        "Output column",
        0,
        cols - 1,
        key="kernel.col",
        width=220,
        help="Its column (0 is the left).",
    )
    detail = explain_pixel(image, weights, int(row), int(col), **options)
    patch, kernel, products = detail.patch, detail.kernel, detail.products
    channel = None
    if patch.ndim == 3:
        channel = pickers.selectbox(
            "Channel",
            range(patch.shape[2]),
            format_func=("Red", "Green", "Blue").__getitem__,
            key="kernel.explain_channel",
            help="Colour channel whose numbers are shown.",
            width=220,
        )
        patch, products = patch[:, :, channel], products[:, :, channel]
        kernel = kernel[:, :, channel] if kernel.ndim == 3 else kernel
    if options.get("flip_kernel"):
        st.caption("The kernel below is already rotated by 180° (true convolution).")
    if rows * cols <= CLICKABLE_MAX_CELLS:
        plane = output if output.ndim == 2 else output[:, :, channel]
        clickable_output(plane, int(row), int(col))
    else:
        st.caption(
            "Pick the pixel with the row and column above. On a test pattern of up to 64×64 "
            "you can click the output instead."
        )
    show_explanation(patch, kernel, products, detail.is_padding)
    total = detail.total if np.ndim(detail.total) == 0 else detail.total[channel]
    terms = " + ".join(f"({p + 0.0:.4g})" for p in products.ravel()[:12])
    terms += " + …" if products.size > 12 else ""
    value = float(total) + bias
    final = max(value, 0.0) if relu else value
    summed = " (sum over all three channels)" if weights.ndim == 3 else ""
    st.markdown(
        f"Sum of the products{summed}: {terms} = **{float(total):.6g}**"
        + (f"; + bias {bias:g} = {value:.6g}" if bias else "")
        + (f"; ReLU → **{final:.6g}**" if relu else "")
    )
    shown = output[int(row), int(col)]
    shown = shown[channel] if np.ndim(shown) else shown
    st.caption(f"The output image holds {float(shown):.6g} at row {row}, column {col}.")
    if detail.is_padding.any():
        st.caption("Green cells with a dotted outline are padding: they lie outside the image.")


@st.fragment
def shift_test(image, kernel, strides) -> None:
    """Translation equivariance: conv(shift(x)) against shift(conv(x))."""
    from core.ops.kernel_analysis import equivariance

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
    gray = to_grayscale(image) if image.ndim == 3 else image
    try:
        check = equivariance(gray, kernel, (dy, dx), strides=strides)
    except ValueError as error:
        st.error(f"{error} Use a smaller stride.")
        return
    columns = st.columns(3)
    show_image(check.conv_of_shifted, caption="Filter the shifted image", container=columns[0])
    show_image(check.shifted_conv, caption="Shift the filtered image", container=columns[1])
    show_image(check.difference, caption="Difference", mapping="diverging", container=columns[2])
    if check.is_equivariant:
        st.success(f"Identical: the largest difference is {check.max_abs_difference:.2g}.")
    else:
        reason = (
            f" A shift of ({dy}, {dx}) is not a whole number of strides {tuple(strides)}, so "
            "the outputs are sampled at different places."
            if not check.output_shift_exact
            else ""
        )
        st.warning(
            f"Not identical: the largest difference is {check.max_abs_difference:.4g}.{reason}"
        )
    st.caption("The image wraps around (circular shift and border) so that edges do not interfere.")


def compare_kernels(image, kernel, options, mapping) -> None:
    """Sobel gradient magnitude in one click, and two kernels side by side."""
    from core.ops.convolution import conv2d
    from core.ops.kernels import PRESETS, gradient_magnitude
    from core.ops.kernels import kernel as preset

    gray = to_grayscale(image) if image.ndim == 3 else image
    if st.toggle(
        "Sobel gradient magnitude √(Gx² + Gy²)",
        key="kernel.sobel_magnitude",
        help="Combine the horizontal and vertical Sobel responses into one edge strength that "
        "ignores the edge's direction.",
    ):
        gx = conv2d(gray, preset("sobel_right"), **options)
        gy = conv2d(gray, preset("sobel_bottom"), **options)
        columns = st.columns(3)
        show_image(gx, caption="Gx (Sobel x)", mapping="diverging", container=columns[0])
        show_image(gy, caption="Gy (Sobel y)", mapping="diverging", container=columns[1])
        show_image(
            gradient_magnitude(gx, gy),
            caption="√(Gx² + Gy²)",
            mapping="minmax",
            container=columns[2],
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
    """``_noise_demo`` for images known by name (bundled photos, patterns), shared by users."""
    return _noise_demo(_gray, kind, amount, size)


def _noise_demo(gray, kind: str, amount: float, size: int):
    """Noisy image, the three filters' results, their errors and the noisy image's error."""
    from core.ops import filtering

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


@st.fragment
def noise_and_sharpening(pixels, name: str, *, shareable: bool = True) -> None:
    """The seeds' filtering demos: denoise with mean / Gaussian / median, then unsharp masking."""
    from core.ops import filtering

    gray = to_grayscale(pixels) if pixels.ndim == 3 else pixels
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
            value=100,
            step=25,
            key="kernel.noise_var",
            help="Spread of the noise in grey levels squared (100 means a typical nudge of ±10).",
        )
    else:
        amount = b.slider(
            "Fraction of pixels hit",
            0.0,
            0.5,
            value=0.1,
            step=0.01,
            key="kernel.noise_fraction",
            help="Share of pixels turned black or white.",
        )
    size = c.select_slider(
        "Filter size",
        [3, 5, 7, 9],
        value=3,
        key="kernel.noise_size",
        help="Width of the square neighbourhood each filter looks at.",
    )
    # Uploads are never cached: another user's upload may carry the same file name.
    compute = partial(_noise_demo_cached, name) if shareable else _noise_demo
    noisy, filtered, errors, noisy_error = compute(gray, kind, float(amount), size)
    columns = st.columns(4)
    show_image(
        noisy,
        caption=f"Noisy (error {noisy_error:.0f})",
        colorbar=False,
        container=columns[0],
        details=False,
    )
    for column, (label, result) in zip(columns[1:], filtered.items(), strict=True):
        show_image(
            result,
            caption=f"{label} filter (error {errors[label]:.0f})",
            colorbar=False,
            container=column,
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
        value=1.0,
        step=0.1,
        key="kernel.unsharp_amount",
        help="How much of the fine detail to add back.",
    )
    sigma = b.slider(
        "Blur σ",
        0.5,
        5.0,
        value=2.0,
        step=0.5,
        key="kernel.unsharp_sigma",
        help="How wide the blur is: larger σ sharpens coarser detail.",
    )
    size = min(31, 2 * int(np.ceil(3 * sigma)) + 1)
    blurred, detail, sharpened = filtering.unsharp_mask(gray, amount=amount, size=size, sigma=sigma)
    columns = st.columns(4)
    for column, values, label, how in (
        (columns[0], gray, "Original", "clip"),
        (columns[1], blurred, "Blurred", "clip"),
        (columns[2], detail, "Detail = original − blurred", "diverging"),
        (columns[3], sharpened, "Sharpened", "clip"),
    ):
        show_image(
            values, caption=label, mapping=how, colorbar=False, container=column, details=False
        )
