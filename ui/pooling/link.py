"""The Pooling page's link: the small-matrix lesson (example, input, window, stride,
padding, method, backpropagation, step), the open tab and the other lessons' controls
(see ``ui.widgets.page_link``). The defaults are the first worked example."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.imaging.pooling_lessons import MAX_SHIFT
from core.imaging.seed_examples import POOL_EXAMPLES
from core.ops.kernels import PRESETS
from core.ops.output_size import PADDINGS
from core.ops.pooling import POOLING_METHODS
from ui.pooling.controls import INPUT_KEY
from ui.pooling.views import LESSON_DEFAULTS
from ui.widgets.image_input import photo_names
from ui.widgets.link_fields import example_link, matrix_link, step_link, tab_link
from ui.widgets.link_params import choice, flag, ints, number
from ui.widgets.page_link import PageLink

TAB_NAMES = ("Small matrix", "Pooling a photo", "Translation invariance", "Global pooling")


TAB_SLUGS = ("matrix", "photo", "shift", "global")


FIRST = next(iter(POOL_EXAMPLES))


EXAMPLE = POOL_EXAMPLES[FIRST]


def example_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """What ``ex=`` brings: the worked example's input and settings (as Load does)."""
    key = values.get("ex")
    if key not in POOL_EXAMPLES:
        return {}
    example = POOL_EXAMPLES[key]
    return {
        "pick": key,
        "in": example.image,
        "size": tuple(example.pool_size),
        "s": tuple(example.strides),
        "pad": example.padding,
        "method": example.method,
        "step": 0,
    }


def _source(prefix: str, name: str) -> list:
    """The photo / feature-map picker of a lesson (``ui.pooling.views.image_source``)."""
    return [
        choice(f"{name}photo", f"{prefix}.photo", "camera.png", photo_names()),
        choice(f"{name}kind", f"{prefix}.kind", "Feature map", ("Feature map", "Photo")),
        choice(f"{name}kernel", f"{prefix}.kernel", "laplacian", tuple(PRESETS)),
    ]


LINK = PageLink(
    "pool",
    [
        tab_link("tab", "pool.tab", TAB_NAMES, TAB_SLUGS),
        example_link("ex", "pool.loaded", FIRST, tuple(POOL_EXAMPLES)),
        choice("pick", "pool.example", FIRST, tuple(POOL_EXAMPLES)),
        matrix_link("in", INPUT_KEY, EXAMPLE.image, size_keys=("pool.in_rows", "pool.in_cols")),
        ints("size", ("pool.size_rows", "pool.size_cols"), EXAMPLE.pool_size, low=1, high=5),
        ints("s", ("pool.stride_rows", "pool.stride_cols"), EXAMPLE.strides, low=0, high=5),
        choice("pad", "pool.padding", EXAMPLE.padding, PADDINGS),
        choice("method", "pool.method", EXAMPLE.method, POOLING_METHODS),
        flag("bp", "pool.backprop"),
        step_link("step", "pool.stepper"),
        *_source("pool.img", "img"),
        number("times", "pool.img.times", LESSON_DEFAULTS["pool.img.times"], low=1, high=3),
        number("imgsize", "pool.img.size", LESSON_DEFAULTS["pool.img.size"], low=2, high=4),
        choice("imgmethod", "pool.img.method", POOLING_METHODS[0], POOLING_METHODS),
        *_source("pool.shift", "shift"),
        number("shift", "pool.shift.px", LESSON_DEFAULTS["pool.shift.px"], low=0, high=MAX_SHIFT),
        number("shiftsize", "pool.shift.size", LESSON_DEFAULTS["pool.shift.size"], low=2, high=4),
        choice("globalphoto", "pool.global.photo", "chelsea.png", photo_names()),
    ],
    css_keys={
        "ex": ("pool.examples", "pool.example", "pool.load"),
        "pick": ("pool.example",),
        "in": ("pool.in_rows", "pool.in_cols", "pool.random", "pool.input.editor.*"),
        "step": ("pool.stepper.*",),
    },
    expand=example_values,
)
