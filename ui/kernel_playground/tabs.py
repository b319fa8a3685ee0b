"""The Kernel Playground's analysis tabs under the output; only the open one runs.

``show_tabs`` takes what the page computed (the image as convolved, the
kernel as applied, the output) and hands each tab the part it needs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from ui.kernel_playground import kernel_properties, lessons, share, step_by_step
from ui.kernel_playground.controls import Sliding
from ui.kernel_playground.kernel_editor import KernelChoice
from ui.widgets.image_input import ImageChoice

TAB_NAMES = [
    "Step by step",
    "Frequency response",
    "Separable?",
    "Shift test",
    "Compare kernels",
    "Noise & sharpening",
    "Share & download",
]


def show_tabs(
    choice: ImageChoice,
    image: np.ndarray,
    chosen: KernelChoice,
    weights: np.ndarray,
    output: np.ndarray,
    sliding: Sliding,
    mapping: str,
    link_params: dict[str, str],
) -> None:
    """The analysis tabs (``TAB_NAMES``, key "kernel.tab"); only the open one runs.

    ``image`` is what the kernel slid over (grey or colour), ``weights`` the
    kernel as applied (with a slice per channel in the summed colour mode) and
    ``chosen.values`` the grid's 2-D kernel.
    """
    options = sliding.conv_options()
    kernel = chosen.values
    sections: list[Callable[[], None]] = [
        lambda: step_by_step.step_by_step(
            image,
            weights,
            output,
            options,
            bias=sliding.bias,
            relu=sliding.relu,
            image_key=(choice.name, image.shape) if choice.shareable else None,
        ),
        lambda: kernel_properties.show_frequency_response(kernel),
        lambda: kernel_properties.show_separability(kernel),
        lambda: lessons.shift_test(image, kernel, sliding.strides),
        lambda: lessons.compare_kernels(image, kernel, options, mapping),
        lambda: lessons.noise_and_sharpening(
            choice.pixels, choice.name, shareable=choice.shareable
        ),
        lambda: share.share_and_download(link_params, choice, output, mapping, kernel),
    ]
    tabs = st.tabs(TAB_NAMES, key="kernel.tab", on_change="rerun")
    for tab, section in zip(tabs, sections, strict=True):
        if tab.open:
            with tab:
                section()
