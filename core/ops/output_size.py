"""Output sizes of a convolution or pooling window: padding names, explicit padding, dilation.

The single place for the rule out = floor((in + pad_before + pad_after - effective_kernel) /
stride) + 1 and for Keras' meaning of "valid" and "same"."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from core.base.checks import PaddingPairs, as_choice, as_pair

PADDING_NAMES = ("valid", "same", "full")


BORDER_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def effective_kernel_size(kernel_size: int, dilation_rate: int = 1) -> int:
    """Size of a kernel after dilation: k̂ = k + (k − 1)(d − 1).

    >>> effective_kernel_size(3, 2)
    5
    """
    return kernel_size + (kernel_size - 1) * (dilation_rate - 1)


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}. Received: {name}={value!r}")
    return int(value)


def axis_padding(
    padding, input_size: int, kernel_size: int, stride: int, axis: int
) -> tuple[int, int]:
    """(before, after) padding along one axis for any accepted ``padding`` form.

    ``axis`` picks the entry of a per-axis padding (0 = rows, 1 = columns).
    """
    if isinstance(padding, str):
        name = as_choice(padding, "padding", PADDING_NAMES)
        if name == "valid":
            return (0, 0)
        if name == "full":
            return (kernel_size - 1, kernel_size - 1)
        # TensorFlow "SAME": keep ceil(n / s) outputs, extra row/column at the bottom/right.
        out = math.ceil(input_size / stride)
        total = max((out - 1) * stride + kernel_size - input_size, 0)
        return (total // 2, total - total // 2)
    return normalize_explicit_padding(padding)[axis]


def normalize_explicit_padding(padding) -> PaddingPairs:
    """Turn an int, ``(rows, cols)`` or ``((top, bottom), (left, right))`` into pairs.

    >>> normalize_explicit_padding(1)
    ((1, 1), (1, 1))
    >>> normalize_explicit_padding((1, 2))
    ((1, 1), (2, 2))
    """
    message = (
        "`padding` must be 'valid', 'same', 'full', an int, (pad_rows, pad_cols) or "
        f"((top, bottom), (left, right)), all >= 0. Received: padding={padding!r}"
    )

    def is_int(v) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if is_int(padding):
        pairs = ((padding, padding), (padding, padding))
    else:
        try:
            items = tuple(padding)
        except TypeError:
            raise ValueError(message) from None
        if len(items) != 2:
            raise ValueError(message)
        if all(is_int(v) for v in items):
            pairs = ((items[0], items[0]), (items[1], items[1]))
        else:
            try:
                pairs = tuple(tuple(p) for p in items)
            except TypeError:
                raise ValueError(message) from None
            if not all(len(p) == 2 and all(is_int(v) for v in p) for p in pairs):
                raise ValueError(message)
    if min(min(p) for p in pairs) < 0:
        raise ValueError(message)
    return tuple((int(a), int(b)) for a, b in pairs)  # type: ignore[return-value]


def one_axis_padding(padding) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit padding for a single axis: an int or (before, after), as both-axis pairs."""
    items = (padding, padding) if isinstance(padding, numbers.Integral) else padding
    try:
        before, after = items
        valid = all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0
            for v in (before, after)
        )
    except (TypeError, ValueError):
        valid = False
    if isinstance(padding, bool) or not valid:
        raise ValueError(
            "`padding` for one axis must be 'valid', 'same', 'full', an int >= 0 or "
            f"(before, after). Received: padding={padding!r}"
        )
    return ((int(before), int(after)), (int(before), int(after)))


@dataclass(frozen=True)
class OutputSizeInfo:
    """The output-size arithmetic along one axis, with every term spelled out.

    ``size = floor(numerator / stride) + 1`` where
    ``numerator = input_size + pad_before + pad_after − effective_kernel_size``.
    ``exact`` is False when the stride does not fit: the last
    ``input_size + padding − covered`` rows or columns are never reached.
    """

    input_size: int
    kernel_size: int
    effective_kernel_size: int
    stride: int
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
        return self.numerator / self.stride + 1


def describe_output_size(
    input_size: int,
    kernel_size: int,
    *,
    strides: int = 1,
    padding="valid",
    dilation_rate: int = 1,
) -> OutputSizeInfo:
    """Output size along one axis, with the terms a teacher writes on the board.

    Raises:
        ValueError: when the (dilated) kernel is larger than the padded input.

    >>> info = describe_output_size(10, 3, strides=2)
    >>> info.size, info.exact, info.fractional_size
    (4, False, 4.5)
    """
    input_size = check_positive_int(input_size, "input_size")
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    strides = check_positive_int(strides, "strides")
    dilation_rate = check_positive_int(dilation_rate, "dilation_rate")
    k_eff = effective_kernel_size(kernel_size, dilation_rate)
    if not isinstance(padding, str):
        padding = one_axis_padding(padding)
    before, after = axis_padding(padding, input_size, k_eff, strides, 0)
    numerator = input_size + before + after - k_eff
    if numerator < 0:
        raise ValueError(
            f"The kernel ({kernel_size}, dilated to {k_eff}) is larger than the padded input "
            f"({input_size} + {before + after} padding = {input_size + before + after}). "
            "Use a smaller kernel or dilation, or more padding."
        )
    size = numerator // strides + 1
    covered = (size - 1) * strides + k_eff
    unreached = input_size + before + after - covered
    return OutputSizeInfo(
        input_size=input_size,
        kernel_size=kernel_size,
        effective_kernel_size=k_eff,
        stride=strides,
        dilation_rate=dilation_rate,
        pad_before=before,
        pad_after=after,
        numerator=numerator,
        size=size,
        exact=numerator % strides == 0,
        unreached=unreached,
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
    kernel_shape: tuple[int, int],
    *,
    strides=1,
    padding="valid",
    dilation_rate=1,
) -> PaddingPairs:
    """``((top, bottom), (left, right))`` that ``conv2d`` adds for these settings.

    >>> conv_padding((4, 4), (3, 3), padding="same", strides=2)
    ((0, 1), (0, 1))
    """
    strides = as_pair(strides, "strides")
    dilation_rate = as_pair(dilation_rate, "dilation_rate")
    pairs = []
    for axis in (0, 1):
        k_eff = effective_kernel_size(kernel_shape[axis], dilation_rate[axis])
        pairs.append(axis_padding(padding, image_shape[axis], k_eff, strides[axis], axis))
    return tuple(pairs)  # type: ignore[return-value]
