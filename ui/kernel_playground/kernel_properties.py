"""Two tabs about the kernel itself: its frequency response and whether it is separable.

The numbers come from ``core.ops.kernel_analysis``; these functions only say
what they mean.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.base.numbers import readable
from core.ops.kernel_analysis import frequency_response, separability
from ui.widgets.image_view import frequency_figure, show_small_matrix

KIND_EXPLANATIONS = {
    "all-pass": "every frequency passes unchanged: the kernel only moves or copies the image.",
    "low-pass": "slow changes pass, fine detail is weakened: a blur.",
    "high-pass": "flat areas vanish and the finest detail is strongest: an edge detector.",
    "band-pass": "flat areas vanish and so does the very finest pattern; in between passes: an "
    "edge detector that also smooths, like Sobel.",
    "high-boost": "everything passes and fine detail is amplified: a sharpening kernel.",
    "band-boost": "everything passes, middle frequencies are amplified most.",
    "zero": "the kernel is all zeros: nothing passes.",
}


def singular_values_text(singular_values: np.ndarray) -> str:
    """The singular values, with those negligible next to the largest written as 0.

    >>> singular_values_text(np.array([4.0, 1e-15, 0.25]))
    '4, 0, 0.25'
    """
    largest = float(np.max(singular_values, initial=0.0))
    return ", ".join("0" if v <= 1e-12 * largest else readable(v) for v in singular_values)


def show_frequency_response(values: np.ndarray) -> None:
    """Heatmap of |DFT| of the kernel with a sentence saying what kind of filter it is."""
    response = frequency_response(values)
    left, right = st.columns([1, 1])
    left.plotly_chart(
        frequency_figure(response), width="content", theme=None, key="kernel.frequency_chart"
    )
    right.markdown(
        f"**{response.kind.capitalize()}:** {KIND_EXPLANATIONS[response.kind]}\n\n"
        "- gain at zero frequency (flat areas) = |sum of the kernel| = "
        f"{readable(response.dc_gain, response.peak_gain)}\n"
        f"- largest gain = {readable(response.peak_gain)}\n"
        "- gain at the finest patterns (the border) = "
        f"{readable(response.highest_frequency_gain, response.peak_gain)}"
    )
    right.caption(
        "Any image is a sum of waves. This map shows how strongly the kernel passes a wave of "
        "each frequency: the centre is a flat area, the border the finest stripes a pixel grid "
        "can hold. It is the magnitude of the kernel's Fourier transform (kernel zero-padded to "
        "64×64); flipping the kernel does not change it."
    )


def show_separability(values: np.ndarray) -> None:
    """Rank-1 test with the column ⊗ row factors and the multiply-adds saved."""
    result = separability(values)
    if result.is_separable and result.rank == 1:
        st.success(
            f"Separable: the kernel is a column times a row (rank 1). Two 1-D passes cost "
            f"{result.separable_multiply_adds} multiply-adds per output pixel instead of "
            f"{result.direct_multiply_adds}: {readable(result.saving, digits=2)}× fewer."
        )
        column, row = st.columns([1, 3])
        with column:
            show_small_matrix(result.column[:, None], title="Column")
        with row:
            show_small_matrix(result.row[None, :], title="Row")
    elif result.rank == 0:
        st.info("An all-zero kernel: nothing to separate.")
    else:
        st.info(
            f"Not separable: rank {result.rank}. It needs all {result.direct_multiply_adds} "
            "multiply-adds per output pixel (or a sum of several column ⊗ row pairs)."
        )
    st.caption(
        f"Singular values (SVD): {singular_values_text(result.singular_values)}. A kernel is "
        "separable when only the first is non-zero; then sliding the column down and the row "
        "across gives the same output."
    )
