"""Convolution arithmetic: where every window sits, and which size rule applies.

The pages that teach "A guide to convolution arithmetic for deep learning"
(Dumoulin & Visin, 2016) need more than the output of ``conv2d``: the input
cells each window's taps touch (dilated taps spread out), the padding halo and
its fill for each border mode, the rows and columns that no window ever
reaches, the paper's relationship that applies with the numbers filled in,
and, for transposed convolutions, the equivalent direct convolution (stretched
input, padding k − p − 1, flipped kernel).

Everything here is pure numpy on top of ``core.ops.output_size``; nothing imports
Streamlit or TensorFlow.

Coordinates: a window's taps are given in *padded* coordinates (row 0 is the
first padding row, if any), because that is the grid a page draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.base.checks import (
    PaddingPairs,
    Pair,
    as_choice,
    as_pair,
    as_real_array,
    check_int,
    check_real,
)
from core.base.numbers import plural
from core.ops.output_size import (
    BORDER_MODES,
    OutputSizeInfo,
    conv_padding,
    describe_output_size,
)


@dataclass(frozen=True)
class ConvGeometry:
    """Where each window of a 2-D convolution (or pooling) sits on the padded input.

    Build it with ``conv_geometry``. ``axes`` holds the output-size arithmetic
    for rows and columns; output positions are numbered in reading order
    (``step`` 0 … ``num_steps`` − 1), as the step-through shows them.
    """

    input_shape: Pair
    kernel_size: Pair
    strides: Pair
    dilation_rate: Pair
    pads: PaddingPairs
    axes: tuple[OutputSizeInfo, OutputSizeInfo]

    @property
    def output_shape(self) -> Pair:
        """(rows, cols) of the output."""
        return (self.axes[0].size, self.axes[1].size)

    @property
    def padded_shape(self) -> Pair:
        """(rows, cols) of the input with its padding halo."""
        return (
            self.input_shape[0] + sum(self.pads[0]),
            self.input_shape[1] + sum(self.pads[1]),
        )

    @property
    def effective_kernel_size(self) -> Pair:
        """(rows, cols) the dilated kernel spans."""
        return (self.axes[0].effective_kernel_size, self.axes[1].effective_kernel_size)

    @property
    def num_steps(self) -> int:
        """How many window positions (output cells) there are."""
        return self.output_shape[0] * self.output_shape[1]

    def position(self, step: int) -> Pair:
        """(row, col) of the output cell written at ``step`` (reading order)."""
        step = check_int(step, "step", minimum=0, maximum=self.num_steps - 1)
        row, col = divmod(step, self.output_shape[1])
        return (row, col)

    def taps(self, row: int, col: int) -> tuple[np.ndarray, np.ndarray]:
        """Padded-grid row and column indices of the kernel taps for output (row, col)."""
        tap_rows = row * self.strides[0] + np.arange(self.kernel_size[0]) * self.dilation_rate[0]
        tap_cols = col * self.strides[1] + np.arange(self.kernel_size[1]) * self.dilation_rate[1]
        return tap_rows, tap_cols

    def window_mask(self, row: int, col: int) -> np.ndarray:
        """Bool mask on the padded grid: the cells the taps of output (row, col) touch."""
        mask = np.zeros(self.padded_shape, dtype=bool)
        tap_rows, tap_cols = self.taps(row, col)
        mask[np.ix_(tap_rows, tap_cols)] = True
        return mask

    def halo_mask(self) -> np.ndarray:
        """Bool mask on the padded grid: True on padding cells."""
        mask = np.ones(self.padded_shape, dtype=bool)
        (top, _), (left, _) = self.pads
        mask[top : top + self.input_shape[0], left : left + self.input_shape[1]] = False
        return mask

    def reached_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """Bool vectors over padded rows and columns: touched by at least one tap."""
        lines = []
        for axis in (0, 1):
            reached = np.zeros(self.padded_shape[axis], dtype=bool)
            starts = np.arange(self.output_shape[axis]) * self.strides[axis]
            offsets = np.arange(self.kernel_size[axis]) * self.dilation_rate[axis]
            reached[(starts[:, None] + offsets[None, :]).ravel()] = True
            lines.append(reached)
        return lines[0], lines[1]

    def unreached_mask(self) -> np.ndarray:
        """Bool mask on the padded grid: rows or columns that no window tap ever touches.

        Trailing lines left over when the stride does not fit, plus any lines
        that dilation gaps skip in every window.
        """
        rows, cols = self.reached_lines()
        return ~(rows[:, None] & cols[None, :])

    def input_slice(self) -> tuple[slice, slice]:
        """Slices of the padded grid that hold the original input."""
        (top, _), (left, _) = self.pads
        return (
            slice(top, top + self.input_shape[0]),
            slice(left, left + self.input_shape[1]),
        )


def conv_geometry(
    input_shape, kernel_size, *, strides=1, padding="valid", dilation_rate=1
) -> ConvGeometry:
    """The window geometry of a convolution (or pooling) with Keras' arguments.

    Args:
        input_shape: (rows, cols) of the input.
        kernel_size: (rows, cols) of the kernel or pooling window.
        strides: int or (rows, cols), >= 1.
        padding: "valid", "same" (TensorFlow's rule, extra cell bottom/right),
            "full", an int, (pad_rows, pad_cols) or ((top, bottom), (left, right)).
        dilation_rate: int or (rows, cols), >= 1.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a stride, dilation or size below 1, or a (dilated) kernel
            larger than the padded input; the message names the number to change.

    >>> g = conv_geometry((5, 5), (3, 3), strides=2)
    >>> g.output_shape, g.num_steps, g.position(3)
    ((2, 2), 4, (1, 1))
    """
    input_shape = as_pair(input_shape, "input_shape")
    kernel_size = as_pair(kernel_size, "kernel_size")
    strides = as_pair(strides, "strides")
    dilation_rate = as_pair(dilation_rate, "dilation_rate")
    pads = conv_padding(
        input_shape, kernel_size, strides=strides, padding=padding, dilation_rate=dilation_rate
    )
    axes = tuple(
        describe_output_size(
            input_shape[axis],
            kernel_size[axis],
            strides=strides[axis],
            padding=pads[axis],
            dilation_rate=dilation_rate[axis],
            axis=axis,
        )
        for axis in (0, 1)
    )
    return ConvGeometry(
        input_shape=input_shape,
        kernel_size=kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        pads=pads,
        axes=axes,
    )


def pad_input(image, pads: PaddingPairs, *, mode: str = "constant", cval: float = 0.0):
    """The padded grid a convolution slides over, filled by ``mode`` (numpy.pad's names).

    >>> pad_input([[1, 2]], ((0, 0), (1, 1)), mode="edge").tolist()
    [[1.0, 1.0, 2.0, 2.0]]
    """
    image = as_real_array(image, "image", ndims=(2,)).astype(np.float64)
    mode = as_choice(mode, "mode", BORDER_MODES)
    if mode == "constant":
        return np.pad(image, pads, mode="constant", constant_values=check_real(cval, "cval"))
    return np.pad(image, pads, mode=mode)


@dataclass(frozen=True)
class Relationship:
    """One output-size rule with its numbers filled in (LaTeX strings).

    ``number`` is the relationship's number in Dumoulin & Visin (2016), or
    None for a framework rule (TensorFlow's "same"); ``notes`` explain floors,
    uneven padding and output padding in words.
    """

    number: int | None
    name: str
    formula: str
    substituted: str
    result: int
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The heading a page shows, e.g. "Relationship 5: no zero padding, non-unit strides"."""
        prefix = f"Relationship {self.number}" if self.number else "Framework rule"
        return f"{prefix}: {self.name}"


def _fmt(x: float) -> str:
    return f"{x:g}"


def conv_relationship(info: OutputSizeInfo, *, padding_name: str | None = None) -> Relationship:
    """The paper's relationship for one axis of a convolution, numbers filled in.

    ``padding_name`` ("valid", "same", "full" or None for explicit) only adds
    notes, e.g. TensorFlow's uneven "same" split.

    >>> from core.ops.output_size import describe_output_size
    >>> r = conv_relationship(describe_output_size(10, 3, strides=2))
    >>> r.number, r.result, r.substituted.endswith(r"\\lfloor 3.5 \\rfloor + 1 = 4")
    (5, 4, True)
    """
    i, k, s, d = info.input_size, info.kernel_size, info.strides, info.dilation_rate
    before, after = info.pad_before, info.pad_after
    o = info.size
    notes: list[str] = []
    symmetric = before == after
    p = before
    pad_term = f"2 \\cdot {p}" if symmetric else f"({before} + {after})"
    if d > 1:
        number, name = 15, "dilated convolution"
        formula = r"o = \left\lfloor \frac{i + 2p - k - (k - 1)(d - 1)}{s} \right\rfloor + 1"
        inner = f"{i} + {pad_term} - {k} - ({k} - 1)({d} - 1)"
        notes.append(
            f"Dilation {d} spreads the {k} taps over k̂ = k + (k − 1)(d − 1) = "
            f"{info.effective_kernel_size} cells."
        )
    elif s == 1 and symmetric and p == 0:
        number, name = 1, "no zero padding, unit strides"
        formula = r"o = (i - k) + 1"
    elif s == 1 and symmetric and k % 2 == 1 and p == k // 2:
        number, name = 3, "half (same) padding, unit strides"
        formula = r"o = i + 2\lfloor k/2 \rfloor - (k - 1) = i"
    elif s == 1 and symmetric and p == k - 1:
        number, name = 4, "full padding, unit strides"
        formula = r"o = i + (k - 1)"
    elif s == 1:
        number, name = 2, "zero padding, unit strides"
        formula = r"o = (i - k) + 2p + 1"
    elif symmetric and p == 0:
        number, name = 5, "no zero padding, non-unit strides"
        formula = r"o = \left\lfloor \frac{i - k}{s} \right\rfloor + 1"
    else:
        number, name = 6, "zero padding, non-unit strides"
        formula = r"o = \left\lfloor \frac{i + 2p - k}{s} \right\rfloor + 1"
    if d == 1:
        inner = f"{i} - {k}" if number in (1, 5) else f"{i} + {pad_term} - {k}"
    if s == 1 and number == 1:
        substituted = f"({i} - {k}) + 1 = {o}"
    elif s == 1 and number == 2:
        substituted = f"({i} - {k}) + {pad_term} + 1 = {o}"
    elif s == 1 and number == 3:
        substituted = f"{i} + 2 \\cdot {p} - ({k} - 1) = {o}"
    elif s == 1 and number == 4:
        substituted = f"{i} + ({k} - 1) = {o}"
    elif s == 1:
        substituted = f"{inner} + 1 = {o}"
    else:
        quotient = info.numerator / s
        substituted = (
            f"\\left\\lfloor \\frac{{{inner}}}{{{s}}} \\right\\rfloor + 1 = "
            f"\\lfloor {_fmt(quotient)} \\rfloor + 1 = {o}"
        )
    if not symmetric:
        notes.append(
            f"The padding is uneven ({before} before, {after} after), so 2p becomes "
            f"{before} + {after} = {before + after}."
        )
    if padding_name == "same":
        total = before + after
        notes.append(
            f"TensorFlow/Keras 'same' keeps ceil(i / s) = ceil({i} / {s}) = {math.ceil(i / s)} "
            f"outputs. It needs max((o − 1)·s + k̂ − i, 0) = {total} padding cells in total: "
            f"{before} before and {after} after (the odd one goes to the bottom/right)."
        )
    if not info.exact:
        notes.append(
            f"i + 2p − k̂ = {info.numerator} is not a multiple of the stride {s}: "
            f"{info.numerator} / {s} = {_fmt(info.numerator / s)} is rounded down, so the "
            f"fractional size {_fmt(info.fractional_size)} becomes {o}. The last "
            f"{plural(info.unreached, 'padded line')} never "
            f"{'falls' if info.unreached == 1 else 'fall'} under a window and "
            f"{'is' if info.unreached == 1 else 'are'} shaded."
        )
    return Relationship(number, name, formula, substituted, o, tuple(notes))


def pool_relationship(info: OutputSizeInfo, *, padding_name: str = "valid") -> Relationship:
    """Relationship 7 (pooling) for one axis, or TensorFlow's "same" rule.

    >>> from core.ops.output_size import describe_output_size
    >>> pool_relationship(describe_output_size(4, 2, strides=1)).substituted
    '\\\\left\\\\lfloor \\\\frac{4 - 2}{1} \\\\right\\\\rfloor + 1 = 3'
    """
    i, k, s, o = info.input_size, info.kernel_size, info.strides, info.size
    if padding_name == "same":
        notes = (
            f"Padding 'same' adds {plural(info.pad_before, 'cell')} before and "
            f"{info.pad_after} after; "
            "padded cells never win a max and are not counted in an average.",
        )
        return Relationship(
            None,
            "TensorFlow/Keras 'same' pooling",
            r"o = \left\lceil \frac{i}{s} \right\rceil",
            f"\\left\\lceil \\frac{{{i}}}{{{s}}} \\right\\rceil = {o}",
            o,
            notes,
        )
    notes = ()
    if not info.exact:
        notes = (
            f"i − k = {info.numerator} is not a multiple of the stride {s}: the last "
            f"{plural(info.unreached, 'line')} {'is' if info.unreached == 1 else 'are'} never "
            "pooled.",
        )
    return Relationship(
        7,
        "pooling",
        r"o = \left\lfloor \frac{i - k}{s} \right\rfloor + 1",
        f"\\left\\lfloor \\frac{{{i} - {k}}}{{{s}}} \\right\\rfloor + 1 = {o}",
        o,
        notes,
    )


def transposed_relationship(
    input_size: int, kernel_size: int, strides: int, pad_before: int, pad_after: int, size: int
) -> Relationship:
    """The paper's transposed-convolution relationship (8–14) for one axis.

    ``pad_before``/``pad_after`` are the padding of the *forward* convolution
    this one transposes and ``size`` the transposed output length; the
    leftover ``a = o' − s(i' − 1) − k + 2p`` is the output padding.

    >>> transposed_relationship(2, 3, 2, 0, 0, 5).number
    12
    """
    i, k, s = input_size, kernel_size, strides
    p_total = pad_before + pad_after
    a = size - (s * (i - 1) + k - p_total)
    symmetric = pad_before == pad_after
    p = pad_before
    pad_term = f"2 \\cdot {p}" if symmetric else f"({pad_before} + {pad_after})"
    notes: list[str] = []
    if s == 1 and a == 0 and symmetric:
        if p == 0:
            number, name, formula = (
                8,
                "no zero padding, unit strides, transposed",
                r"o' = i' + (k - 1)",
            )
            substituted = f"{i} + ({k} - 1) = {size}"
        elif k % 2 == 1 and p == k // 2:
            number, name, formula = 10, "half (same) padding, transposed", r"o' = i'"
            substituted = f"{i} = {size}"
        elif p == k - 1:
            number, name, formula = 11, "full padding, transposed", r"o' = i' - (k - 1)"
            substituted = f"{i} - ({k} - 1) = {size}"
        else:
            number, name = 9, "zero padding, unit strides, transposed"
            formula = r"o' = i' + (k - 1) - 2p"
            substituted = f"{i} + ({k} - 1) - {pad_term} = {size}"
    elif a == 0 and symmetric and p == 0:
        number, name = 12, "no zero padding, non-unit strides, transposed"
        formula = r"o' = s(i' - 1) + k"
        substituted = f"{s}({i} - 1) + {k} = {size}"
    elif a == 0 and symmetric:
        number, name = 13, "zero padding, non-unit strides, transposed"
        formula = r"o' = s(i' - 1) + k - 2p"
        substituted = f"{s}({i} - 1) + {k} - {pad_term} = {size}"
    else:
        number, name = 14, "zero padding, non-unit strides, transposed, with output padding a"
        formula = r"o' = s(i' - 1) + a + k - 2p"
        substituted = f"{s}({i} - 1) + {a} + {k} - {pad_term} = {size}"
        if a:  # none when only the uneven padding leads here
            notes.append(
                f"a = {plural(a, 'extra line')} at the bottom/right: the forward convolution "
                f"of an input of size {size} would also give {i} outputs, and a picks which "
                "of those input sizes to rebuild."
            )
    if not symmetric:
        notes.append(
            f"The forward padding is uneven ({pad_before} before, {pad_after} after), so 2p "
            f"becomes {pad_before} + {pad_after}."
        )
    return Relationship(number, name, formula, substituted, size, tuple(notes))


def keras_transpose_rule(
    input_size: int, kernel_size: int, strides: int, padding: str, output_padding: int | None
) -> tuple[str, str, int]:
    """Keras' ``Conv2DTranspose`` length rule for one axis as (formula, substituted, size).

    >>> keras_transpose_rule(2, 3, 2, "valid", None)[1]
    '2 \\\\cdot 2 + \\\\max(3 - 2, 0) = 5'
    """
    i, k, s = input_size, kernel_size, strides
    if output_padding is None:
        if padding == "valid":
            size = i * s + max(k - s, 0)
            return (
                r"o' = i' s + \max(k - s, 0)",
                f"{i} \\cdot {s} + \\max({k} - {s}, 0) = {size}",
                size,
            )
        size = i * s
        return (r"o' = i' s", f"{i} \\cdot {s} = {size}", size)
    p = k // 2 if padding == "same" else 0
    size = (i - 1) * s + k - 2 * p + output_padding
    return (
        r"o' = (i' - 1) s + k - 2p + \text{output\_padding}",
        f"({i} - 1) \\cdot {s} + {k} - 2 \\cdot {p} + {output_padding} = {size}",
        size,
    )
