"""Output sizes of a convolution or pooling window: padding names, explicit padding, dilation.

The single place for the rule out = floor((in + pad_before + pad_after - effective_kernel) /
strides) + 1, for Keras' meaning of "valid" and "same", and for the names of the padding and
border-filling options every page offers.

>>> output_size(10, 3, strides=2)
4
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.base.checks import (
    PaddingPairs,
    as_choice,
    as_pair,
    check_int,
    is_int,
    received,
)

# Keras' padding names (Conv2D, pooling, Conv2DTranspose).
PADDINGS = ("valid", "same")


# The names ``conv2d`` accepts: Keras' two and "full" (k̂ − 1 on each side).
PADDING_NAMES = (*PADDINGS, "full")


# What a page's padding picker offers: a name, or "explicit" numbers typed in.
PADDING_CHOICES = (*PADDING_NAMES, "explicit")


# How the padding is filled, numpy.pad's names.
BORDER_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


AXIS_NAMES = ("rows", "columns")


def effective_kernel_size(kernel_size: int, dilation_rate: int = 1) -> int:
    """Size of a kernel after dilation: k̂ = k + (k − 1)(d − 1).

    >>> effective_kernel_size(3, 2)
    5
    """
    return kernel_size + (kernel_size - 1) * (dilation_rate - 1)


def axis_padding(
    padding, input_size: int, kernel_size: int, strides: int, axis: int
) -> tuple[int, int]:
    """(before, after) padding along one axis for any accepted ``padding`` form.

    ``kernel_size`` is the effective (dilated) size; ``axis`` picks the entry of a per-axis
    padding (0 = rows, 1 = columns).

    >>> axis_padding("same", 6, 3, 2, 0)
    (0, 1)
    """
    if isinstance(padding, str):
        name = as_choice(padding, "padding", PADDING_NAMES)
        if name == "valid":
            return (0, 0)
        if name == "full":
            return (kernel_size - 1, kernel_size - 1)
        # TensorFlow "SAME": keep ceil(n / s) outputs, extra row/column at the bottom/right.
        out = math.ceil(input_size / strides)
        total = max((out - 1) * strides + kernel_size - input_size, 0)
        return (total // 2, total - total // 2)
    return normalize_explicit_padding(padding)[axis]


def normalize_explicit_padding(padding) -> PaddingPairs:
    """Turn an int, ``(rows, cols)`` or ``((top, bottom), (left, right))`` into pairs.

    Raises:
        TypeError: not an int or a (nested) pair of ints.
        ValueError: the wrong number of entries, or a negative one.

    >>> normalize_explicit_padding(1)
    ((1, 1), (1, 1))
    >>> normalize_explicit_padding((1, 2))
    ((1, 1), (2, 2))
    """
    message = (
        "`padding` must be 'valid', 'same', 'full', an int, (pad_rows, pad_cols) or "
        f"((top, bottom), (left, right)), all >= 0. {received('padding', padding)}"
    )
    if is_int(padding):
        pairs = ((padding, padding), (padding, padding))
    else:
        try:
            items = tuple(padding)
            if all(is_int(v) for v in items):
                pairs = tuple((v, v) for v in items)
            else:
                pairs = tuple(tuple(p) for p in items)
        except TypeError:
            raise TypeError(message) from None
        if not all(is_int(v) for p in pairs for v in p):
            raise TypeError(message)
        if len(pairs) != 2 or not all(len(p) == 2 for p in pairs):
            raise ValueError(message)
    if min(min(p) for p in pairs) < 0:
        raise ValueError(message)
    return tuple((int(a), int(b)) for a, b in pairs)  # type: ignore[return-value]


def one_axis_padding(padding) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit padding for a single axis, an int or (before, after), as both-axis pairs.

    >>> one_axis_padding((0, 2))
    ((0, 2), (0, 2))
    """
    message = (
        "`padding` for one axis must be 'valid', 'same', 'full', an int >= 0 or "
        f"(before, after). {received('padding', padding)}"
    )
    try:
        before, after = as_pair(padding, "padding", minimum=0)
    except TypeError:
        raise TypeError(message) from None
    except ValueError:
        raise ValueError(message) from None
    return ((before, after), (before, after))


@dataclass(frozen=True)
class OutputSizeInfo:
    """The output-size arithmetic along one axis, with every term spelled out.

    ``size = floor(numerator / strides) + 1`` where
    ``numerator = input_size + pad_before + pad_after − effective_kernel_size``.
    ``exact`` is False when the stride does not fit: the last
    ``input_size + padding − covered`` rows or columns are never reached.
    """

    input_size: int
    kernel_size: int
    effective_kernel_size: int
    strides: int
    dilation_rate: int
    pad_before: int
    pad_after: int
    numerator: int
    size: int
    exact: bool
    unreached: int

    @property
    def fractional_size(self) -> float:
        """The size before flooring, e.g. 4.5 for i=10, k=3, s=2."""
        return self.numerator / self.strides + 1


def describe_output_size(
    input_size: int,
    kernel_size: int,
    *,
    strides: int = 1,
    padding="valid",
    dilation_rate: int = 1,
    axis: int | None = None,
) -> OutputSizeInfo:
    """Output size along one axis, with the terms a teacher writes on the board.

    Args:
        input_size, kernel_size: lengths along the axis, >= 1.
        strides, dilation_rate: ints >= 1.
        padding: "valid", "same", "full", an int >= 0 or ``(before, after)``.
        axis: 0 or 1 to name the rows or columns in the error message.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a size below 1, or a (dilated) kernel larger than the padded input.

    >>> info = describe_output_size(10, 3, strides=2)
    >>> info.size, info.exact, info.fractional_size
    (4, False, 4.5)
    """
    input_size = check_int(input_size, "input_size", minimum=1)
    kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
    strides = check_int(strides, "strides", minimum=1)
    dilation_rate = check_int(dilation_rate, "dilation_rate", minimum=1)
    k_eff = effective_kernel_size(kernel_size, dilation_rate)
    if not isinstance(padding, str):
        padding = one_axis_padding(padding)
    before, after = axis_padding(padding, input_size, k_eff, strides, 0)
    padded = input_size + before + after
    if padded < k_eff:
        along = "" if axis is None else f" along the {AXIS_NAMES[axis]}"
        dilated = f", dilated to {k_eff}" if k_eff != kernel_size else ""
        raise ValueError(
            f"The kernel is larger than the padded input{along}: kernel {kernel_size}{dilated} "
            f"> input {input_size} + padding {before + after} = {padded}. Make the kernel or "
            "the dilation smaller, or the input or the padding larger."
        )
    numerator = padded - k_eff
    size = numerator // strides + 1
    return OutputSizeInfo(
        input_size=input_size,
        kernel_size=kernel_size,
        effective_kernel_size=k_eff,
        strides=strides,
        dilation_rate=dilation_rate,
        pad_before=before,
        pad_after=after,
        numerator=numerator,
        size=size,
        exact=numerator % strides == 0,
        unreached=padded - ((size - 1) * strides + k_eff),
    )


def output_size(
    input_size: int,
    kernel_size: int,
    *,
    strides: int = 1,
    padding="valid",
    dilation_rate: int = 1,
) -> int:
    """Number of outputs along one axis: floor((i + 2p − k̂) / s) + 1.

    ``padding`` is "valid", "same" (TensorFlow: ceil(i / s)), "full" (k̂ − 1 on
    each side), an int, or ``(before, after)``.

    >>> output_size(12, 3, strides=2)
    5
    >>> output_size(7, 3, padding="same", strides=2)
    4
    """
    return describe_output_size(
        input_size, kernel_size, strides=strides, padding=padding, dilation_rate=dilation_rate
    ).size


def conv_padding(
    image_shape: tuple[int, int],
    kernel_size: tuple[int, int],
    *,
    strides=1,
    padding="valid",
    dilation_rate=1,
) -> PaddingPairs:
    """``((top, bottom), (left, right))`` that ``conv2d`` (or pooling) adds for these settings.

    >>> conv_padding((4, 4), (3, 3), padding="same", strides=2)
    ((0, 1), (0, 1))
    """
    strides = as_pair(strides, "strides")
    dilation_rate = as_pair(dilation_rate, "dilation_rate")
    pairs = []
    for axis in (0, 1):
        k_eff = effective_kernel_size(kernel_size[axis], dilation_rate[axis])
        pairs.append(axis_padding(padding, image_shape[axis], k_eff, strides[axis], axis))
    return tuple(pairs)  # type: ignore[return-value]
