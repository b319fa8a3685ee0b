"""The Kernel Playground's link: every control of the page, in the address.

The query names and text forms of the first lecture links stay (``img``, ``k``,
``preset``, ``s``, ``pad``, ``p``, ``mode``, ``d``, ``flip``, ``map``, ``bias``, ``relu``,
``px``, ``shift``, ``size``, ``color``); the generator sliders, the open tab, the colour
slice weights and the lesson tabs' controls join them, and ``in``: an input patch that
Inspect's "explain one unit" sends (``ui.kernel_playground.share.linked_patch``). ``LINK`` is a
``ui.widgets.page_link.PageLink``: the page calls ``LINK.start()`` before drawing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import streamlit as st

from core.imaging.synthetic_images import SYNTHETIC_IMAGES
from core.ops.kernels import PRESETS
from core.ops.kernels import kernel as preset_kernel
from ui.kernel_playground import kernel_editor
from ui.kernel_playground.link_state import (
    COLOR_CHOICES,
    MAPPING_CHOICES,
    MAX_ABS_KERNEL_VALUE,
    MAX_DILATION,
    MAX_EXPLICIT_PADDING,
    MAX_KERNEL_SIZE,
    MAX_STRIDE,
    MODE_CHOICES,
    PADDING_CHOICES,
    PATCH_KEY,
    PlaygroundState,
    decode_kernel,
    decode_patch,
    encode_patch,
)
from ui.kernel_playground.tabs import TAB_NAMES
from ui.widgets.image_input import SYNTHETIC_SIZES, photo_names, set_image
from ui.widgets.link_params import LinkField, choice, flag, ints, number
from ui.widgets.link_params import matrix as matrix_field
from ui.widgets.page_link import PageLink

PREFIX = "kernel"


MAX_SHIFT = 16  # the shift test's sliders


MAX_PIXEL = 100_000  # an output row or column; the step-by-step pulls it inside the output


TAB_SLUGS = ("step", "frequency", "separable", "shift", "compare", "noise", "share")


_TAB_BY_SLUG = dict(zip(TAB_SLUGS, TAB_NAMES, strict=True))


_PENDING_PRESET = "kernel.link_preset"  # the preset read from a link, until the kernel is put


DEFAULT = PlaygroundState()


def image_names() -> tuple[str, ...]:
    """Every image a link may name: "photo:<file>" and "synthetic:<key>"."""
    photos = tuple(f"photo:{name}" for name in photo_names())
    return photos + tuple(f"synthetic:{key}" for key in SYNTHETIC_IMAGES)


def _get_image(state: Mapping) -> str:
    source = state.get("kernel.source", "photo")
    if source == "synthetic":
        return f"synthetic:{state.get('kernel.synthetic', 'step_edge')}"
    if source == "photo":
        return f"photo:{state.get('kernel.photo', DEFAULT.image.partition(':')[2])}"
    return DEFAULT.image  # uploads and camera shots stay private


def _parse_image(text: str) -> str:
    text = text.strip()
    if text not in image_names():
        raise ValueError("is not a sample photo or a test pattern of this page")
    return text


def _parse_tab(text: str) -> str:
    slug = text.strip().lower()
    if slug not in _TAB_BY_SLUG:
        raise ValueError(f"must be one of {', '.join(TAB_SLUGS)}")
    return _TAB_BY_SLUG[slug]


def _format_tab(label: str) -> str:
    return TAB_SLUGS[TAB_NAMES.index(label)] if label in TAB_NAMES else TAB_SLUGS[0]


def _put_preset(option: str) -> None:
    st.session_state[_PENDING_PRESET] = option


def _put_kernel(values) -> None:
    """Set the kernel and its preset together (the preset was put just before)."""
    option = st.session_state.pop(_PENDING_PRESET, DEFAULT.preset)
    values = np.asarray(values, dtype=np.float64)
    given = not np.array_equal(values, DEFAULT.kernel_array())
    if not given and option in PRESETS:
        values = preset_kernel(option)  # "preset=box" alone: that preset's kernel
    elif not given and option in kernel_editor.GENERATORS:
        values = kernel_editor.generated(PREFIX, option)
    elif given and option == DEFAULT.preset:
        option = kernel_editor.CUSTOM  # edited values that the default preset does not have
    kernel_editor.set_kernel(PREFIX, values, option)


def _get_kernel(state: Mapping) -> np.ndarray:
    return state.get("kernel.last_good", DEFAULT.kernel_array())


def _put_image(name: str) -> None:
    set_image(PREFIX, name)


def _fields() -> list[LinkField]:
    return [
        LinkField("img", DEFAULT.image, "text", parse=_parse_image, get=_get_image, put=_put_image),
        # a unit's input patch sent from Inspect: the input instead of the picked image
        LinkField("in", (), "text", (PATCH_KEY,), parse=decode_patch, format=encode_patch),
        choice("size", "kernel.synthetic_size", 32, SYNTHETIC_SIZES),
        choice("color", "kernel.color", DEFAULT.color, COLOR_CHOICES),
        number("wr", "kernel.weight_r", 1.0, low=-10.0, high=10.0),
        number("wg", "kernel.weight_g", 1.0, low=-10.0, high=10.0),
        number("wb", "kernel.weight_b", 1.0, low=-10.0, high=10.0),
        # the generator's sliders come before the kernel they make
        number("gsize", "kernel.size", 5, low=1, high=MAX_KERNEL_SIZE),
        number("sigma", "kernel.sigma", 1.0, low=0.2, high=5.0),
        number("theta", "kernel.theta", 0, low=0, high=180),
        number("lambda", "kernel.wavelength", 4.0, low=2.0, high=16.0),
        number("gsigma", "kernel.gabor_sigma", 2.0, low=0.5, high=6.0),
        LinkField(
            "preset",
            DEFAULT.preset,
            "choice",
            choices=tuple(kernel_editor.preset_options()),
            get=lambda state: state.get("kernel.preset", DEFAULT.preset),
            put=_put_preset,
        ),
        replace(  # cells as typed in the grid: fractions such as 1/9 too
            matrix_field(
                "k",
                DEFAULT.kernel_array(),
                get=_get_kernel,
                put=_put_kernel,
                max_shape=(MAX_KERNEL_SIZE, MAX_KERNEL_SIZE),
                limit=MAX_ABS_KERNEL_VALUE,
            ),
            parse=decode_kernel,
        ),
        ints("s", ("kernel.stride_rows", "kernel.stride_cols"), (1, 1), low=1, high=MAX_STRIDE),
        choice("pad", "kernel.padding", DEFAULT.padding, PADDING_CHOICES),
        ints("p", ("kernel.pad_rows", "kernel.pad_cols"), (1, 1), low=0, high=MAX_EXPLICIT_PADDING),
        choice("mode", "kernel.mode", DEFAULT.mode, MODE_CHOICES),
        ints(
            "d", ("kernel.dilation_rows", "kernel.dilation_cols"), (1, 1), low=1, high=MAX_DILATION
        ),
        flag("flip", "kernel.flip"),
        choice("map", "kernel.mapping", DEFAULT.mapping, MAPPING_CHOICES),
        number("bias", "kernel.bias", 0.0, low=-1000.0, high=1000.0),
        flag("relu", "kernel.relu"),
        LinkField(
            "tab", TAB_NAMES[0], "choice", ("kernel.tab",), parse=_parse_tab, format=_format_tab
        ),
        ints("px", ("kernel.row", "kernel.col"), (0, 0), low=0, high=MAX_PIXEL),
        choice("ch", "kernel.explain_channel", 0, (0, 1, 2)),
        ints(
            "shift",
            ("kernel.shift_rows", "kernel.shift_cols"),
            (3, 5),
            low=-MAX_SHIFT,
            high=MAX_SHIFT,
        ),
        flag("mag", "kernel.sobel_magnitude"),
        choice("cmp", "kernel.compare", "sobel_right", tuple(PRESETS)),
        choice("noise", "kernel.noise_kind", "gaussian", ("gaussian", "salt_pepper")),
        number("nvar", "kernel.noise_var", 100, low=0, high=2500),
        number("nfrac", "kernel.noise_fraction", 0.1, low=0.0, high=0.5),
        choice("nsize", "kernel.noise_size", 3, (3, 5, 7, 9)),
        number("amount", "kernel.unsharp_amount", 1.0, low=0.0, high=3.0),
        number("usigma", "kernel.unsharp_sigma", 2.0, low=0.5, high=5.0),
    ]


CSS_KEYS = {
    "img": ("kernel.source", "kernel.photo", "kernel.synthetic", "kernel.upload", "kernel.camera"),
    "preset": ("kernel.preset_choice.*",),
    "k": ("kernel.grid", "kernel.rows.*", "kernel.cols.*", "kernel.button.*"),
    "wr": ("kernel.weight_r",),
}


LINK = PageLink(PREFIX, _fields(), css_keys=CSS_KEYS)


def widget_defaults() -> dict[str, object]:
    """Each plain widget's default, for the entries Streamlit forgot (back from another page)."""
    defaults: dict[str, object] = {}
    for item in LINK.fields:
        if item.put is None and item.get is None:
            parts = item.default if item.kind == "ints" else (item.default,)
            defaults.update(zip(item.keys, parts, strict=True))
    return defaults
