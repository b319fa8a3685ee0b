"""The Convolution Arithmetic page's link: the loaded example, the input and kernel with
their sizes, every option and the stepper's position (see ``ui.widgets.page_link``).

The defaults are worked example 1, where a first visit starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.imaging.seed_examples import CONV_EXAMPLES
from core.ops.output_size import BORDER_MODES
from core.ops.output_size import PADDING_CHOICES as PADDINGS
from ui.arithmetic.controls import DEFAULT_EXAMPLE, INPUT_KEY, KERNEL_KEY, MODES
from ui.widgets.link_fields import example_link, matrix_link, step_link, tab_link
from ui.widgets.link_params import VALUE_LIMIT, choice, flag, ints, number
from ui.widgets.page_link import PageLink

EXAMPLE = CONV_EXAMPLES[DEFAULT_EXAMPLE]


def example_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """What ``ex=`` brings: the worked example's input, kernel and options (as Load does)."""
    key = values.get("ex")
    if key not in CONV_EXAMPLES:
        return {}
    example = CONV_EXAMPLES[key]
    named = isinstance(example.padding, str)
    return {
        "pick": key,
        "mode": MODES[0],
        "in": example.image,
        "k": example.kernel,
        "s": tuple(example.strides),
        "pad": example.padding if named else "explicit",
        "p": 1 if named else int(example.padding),
        "border": "constant",
        "cval": 0.0,
        "d": example.dilation_rate,
        "flip": example.flip_kernel,
        "relu": example.relu,
        "step": 0,
    }


LINK = PageLink(
    "arith",
    [
        example_link("ex", "arith.loaded", DEFAULT_EXAMPLE, tuple(CONV_EXAMPLES)),
        choice("pick", "arith.example", DEFAULT_EXAMPLE, tuple(CONV_EXAMPLES)),
        tab_link("mode", "arith.mode", MODES, ("conv", "transposed")),
        matrix_link("in", INPUT_KEY, EXAMPLE.image, size_keys=("arith.in_rows", "arith.in_cols")),
        matrix_link(
            "k",
            KERNEL_KEY,
            EXAMPLE.kernel,
            size_keys=("arith.k_rows", "arith.k_cols"),
            max_shape=(5, 5),
        ),
        ints("s", ("arith.stride_rows", "arith.stride_cols"), EXAMPLE.strides, low=0, high=5),
        number("d", "arith.dilation", 1, low=1, high=4),
        choice("pad", "arith.padding", "valid", PADDINGS),
        number("p", "arith.pad", 1, low=0, high=5),
        choice("border", "arith.border", "constant", BORDER_MODES),
        number("cval", "arith.cval", 0.0, low=-VALUE_LIMIT, high=VALUE_LIMIT),
        flag("flip", "arith.flip"),
        flag("relu", "arith.relu"),
        flag("outpad", "arith.use_output_padding"),
        ints("op", ("arith.out_pad_rows", "arith.out_pad_cols"), (0, 0), low=0, high=4),
        flag("guess", "arith.guess"),
        step_link("step", "arith.stepper"),
    ],
    css_keys={
        "ex": ("arith.examples", "arith.example", "arith.load"),
        "pick": ("arith.example",),
        "in": ("arith.in_rows", "arith.in_cols", "arith.random", "arith.input.editor.*"),
        "k": ("arith.k_rows", "arith.k_cols", "arith.kernel.editor.*"),
        "step": ("arith.stepper.*",),
    },
    expand=example_values,
)
