"""The two rewritings of a convolution the arithmetic page shows: transposed convolution
step by step, and a convolution written as one matrix product."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.base.checks import PaddingPairs, Pair, as_choice, as_pair, as_real_array, received
from core.ops.arithmetic import (
    ConvGeometry,
    Relationship,
    conv_geometry,
    keras_transpose_rule,
    transposed_relationship,
)
from core.ops.convolution import conv2d
from core.ops.output_size import PADDINGS, axis_padding, conv_padding
from core.ops.transposed import conv2d_transpose, convolution_matrix, stretch_input

MATRIX_MAX_CELLS = 36  # inputs up to 6×6 get an explicit convolution matrix


def _adjoint_pads(
    input_size: int, output_length: int, kernel_size: int, strides: int, forward_before: int
) -> tuple[int, int]:
    """(before, after) padding of the stretched input so a unit-stride 'valid' correlation
    with the flipped kernel has ``output_length`` cells. Negative means crop."""
    stretched = (input_size - 1) * strides + 1
    before = kernel_size - 1 - forward_before
    after = output_length + kernel_size - 1 - stretched - before
    return before, after


def _pad_or_crop(array: np.ndarray, pads) -> np.ndarray:
    widths = [(max(b, 0), max(a, 0)) for b, a in pads]
    padded = np.pad(array, widths)
    crops = tuple(
        slice(max(-b, 0), padded.shape[axis] - max(-a, 0)) for axis, (b, a) in enumerate(pads)
    )
    return padded[crops]


@dataclass(frozen=True)
class TransposedBreakdown:
    """A transposed convolution rebuilt as a direct one, step by step.

    ``stretched`` has s − 1 zeros between input cells, ``padded`` adds
    ``pads`` (k − p − 1 before; the rest after, output padding included) as
    zeros, and ``output`` is the unit-stride 'valid' correlation of ``padded``
    with ``flipped_kernel``. ``reference`` is ``core.conv2d_transpose`` of the
    same input: the two agree. ``forward_pads`` is the padding p of the
    convolution this one transposes.
    """

    image: np.ndarray
    kernel: np.ndarray
    strides: Pair
    padding: str
    output_padding: Pair | None
    stretched: np.ndarray
    pads: PaddingPairs
    padded: np.ndarray
    flipped_kernel: np.ndarray
    output: np.ndarray
    reference: np.ndarray
    forward_pads: PaddingPairs
    relationships: tuple[Relationship, Relationship]
    keras_rules: tuple[tuple[str, str, int], tuple[str, str, int]]

    @property
    def inserted_zeros(self) -> np.ndarray:
        """Bool mask on ``padded``: zeros that are not input cells (padding and stretching)."""
        mask = np.ones(self.padded.shape, dtype=bool)
        rows = np.arange(self.image.shape[0]) * self.strides[0] + max(self.pads[0][0], 0)
        cols = np.arange(self.image.shape[1]) * self.strides[1] + max(self.pads[1][0], 0)
        rows = rows[(rows >= 0) & (rows < mask.shape[0])]
        cols = cols[(cols >= 0) & (cols < mask.shape[1])]
        mask[np.ix_(rows, cols)] = False
        return mask

    def geometry(self) -> ConvGeometry:
        """Window geometry of the equivalent direct convolution (unit strides)."""
        return conv_geometry(self.padded.shape, self.kernel.shape, strides=1, padding="valid")


def transposed_breakdown(
    image, kernel, *, strides=1, padding: str = "valid", output_padding=None
) -> TransposedBreakdown:
    """Rebuild Keras' ``Conv2DTranspose`` (``core.conv2d_transpose``) as a direct convolution.

    Args:
        image: (H, W) input of the transposed convolution.
        kernel: (kh, kw).
        strides: int or (rows, cols) >= 1.
        padding: "valid" or "same" (Keras' names).
        output_padding: None or int / (rows, cols), each < the stride.

    Raises:
        ValueError / TypeError: as ``conv2d_transpose``, which computes the reference and
            refuses the "same" + ``output_padding`` combinations that Keras and TensorFlow
            refuse (no convolution of the output rebuilds the input size).

    >>> b = transposed_breakdown([[1, 2], [3, 4]], np.ones((3, 3)), strides=2)
    >>> b.stretched.shape, b.pads, b.output.shape, bool(np.allclose(b.output, b.reference))
    ((3, 3), ((2, 2), (2, 2)), (5, 5), True)
    """
    reference = conv2d_transpose(
        image, kernel, strides=strides, padding=padding, output_padding=output_padding
    )
    image = as_real_array(image, "image", ndims=(2,)).astype(np.float64)
    kernel = as_real_array(kernel, "kernel", ndims=(2,)).astype(np.float64)
    strides = as_pair(strides, "strides")
    padding = as_choice(padding, "padding", PADDINGS)
    out_pad = (
        None if output_padding is None else as_pair(output_padding, "output_padding", minimum=0)
    )
    stretched = stretch_input(image, strides)
    pads, forward_pads, relationships, rules = [], [], [], []
    for axis in (0, 1):
        length = reference.shape[axis]
        k, s = kernel.shape[axis], strides[axis]
        forward = axis_padding(padding, length, k, s, axis)
        forward_pads.append(forward)
        pads.append(_adjoint_pads(image.shape[axis], length, k, s, forward[0]))
        relationships.append(
            transposed_relationship(image.shape[axis], k, s, forward[0], forward[1], length)
        )
        rules.append(
            keras_transpose_rule(
                image.shape[axis], k, s, padding, None if out_pad is None else out_pad[axis]
            )
        )
    padded = _pad_or_crop(stretched, pads)
    flipped = kernel[::-1, ::-1].copy()
    output = conv2d(padded, flipped)
    return TransposedBreakdown(
        image=image,
        kernel=kernel,
        strides=strides,
        padding=padding,
        output_padding=out_pad,
        stretched=stretched,
        pads=(tuple(pads[0]), tuple(pads[1])),
        padded=padded,
        flipped_kernel=flipped,
        output=output,
        reference=reference,
        forward_pads=(forward_pads[0], forward_pads[1]),
        relationships=(relationships[0], relationships[1]),
        keras_rules=(rules[0], rules[1]),
    )


@dataclass(frozen=True)
class MatrixForm:
    """Convolution as a matrix product: ``output.ravel() == C @ image.ravel()``.

    ``transposed`` is ``Cᵀ @ output.ravel()`` reshaped to the input shape: the
    transposed convolution of the output, which ``direct_transposed`` rebuilds
    by stretching, padding by k − p − 1 and correlating with the flipped kernel.
    ``keras_output_padding`` is the ``output_padding`` that makes
    ``core.conv2d_transpose`` give the same result (None when Keras' "valid" /
    "same" cannot express this padding).
    """

    matrix: np.ndarray
    output: np.ndarray
    transposed: np.ndarray
    direct_transposed: np.ndarray
    keras_padding: str | None
    keras_output_padding: Pair | None


def matrix_form(
    image, kernel, *, strides=1, padding="valid", dilation_rate=1, flip_kernel: bool = False
) -> MatrixForm:
    """The sparse matrix C of a zero-padded convolution and its transpose at work.

    Inputs up to 6×6 (36 cells) only: the matrix has one column per input cell
    and one row per output cell.

    Raises:
        ValueError: the input has more than 36 cells, or the settings are invalid.

    >>> m = matrix_form(np.arange(9.0).reshape(3, 3), np.ones((2, 2)))
    >>> m.matrix.shape, m.output.tolist()
    ((4, 9), [[8.0, 12.0], [20.0, 24.0]])
    """
    image = as_real_array(image, "image", ndims=(2,)).astype(np.float64)
    kernel = as_real_array(kernel, "kernel", ndims=(2,)).astype(np.float64)
    if image.size > MATRIX_MAX_CELLS:
        raise ValueError(
            f"`image` must have at most {MATRIX_MAX_CELLS} cells (6×6) for the matrix view; "
            f"make the input smaller. {received('image', image)}"
        )
    applied = kernel[::-1, ::-1] if flip_kernel else kernel
    geometry = conv_geometry(
        image.shape, kernel.shape, strides=strides, padding=padding, dilation_rate=dilation_rate
    )
    matrix = convolution_matrix(
        image.shape, applied, strides=strides, padding=padding, dilation_rate=dilation_rate
    )
    output = (matrix @ image.ravel()).reshape(geometry.output_shape)
    transposed = (matrix.T @ output.ravel()).reshape(image.shape)
    dilated = np.zeros(geometry.effective_kernel_size)
    dilated[:: geometry.dilation_rate[0], :: geometry.dilation_rate[1]] = applied
    stretched = stretch_input(output, geometry.strides)
    pads = [
        _adjoint_pads(
            geometry.output_shape[axis],
            image.shape[axis],
            geometry.effective_kernel_size[axis],
            geometry.strides[axis],
            geometry.pads[axis][0],
        )
        for axis in (0, 1)
    ]
    direct = conv2d(_pad_or_crop(stretched, pads), dilated[::-1, ::-1])
    keras_padding, keras_output_padding = _keras_equivalent(image.shape, kernel.shape, geometry)
    return MatrixForm(matrix, output, transposed, direct, keras_padding, keras_output_padding)


def _keras_equivalent(input_shape, kernel_size, geometry: ConvGeometry):
    """Keras ``Conv2DTranspose`` (padding, output_padding) that maps the output back
    to ``input_shape`` with the same crop as this convolution's padding, or (None, None)."""
    if geometry.dilation_rate != (1, 1):
        return None, None
    same_pads = conv_padding(input_shape, kernel_size, strides=geometry.strides, padding="same")
    if geometry.pads == ((0, 0), (0, 0)):
        name = "valid"
    elif geometry.pads == same_pads:
        name = "same"  # e.g. explicit padding 1 around a 3×3 kernel at stride 1
    else:
        return None, None
    output_padding = []
    for axis in (0, 1):
        i, k, s = geometry.output_shape[axis], kernel_size[axis], geometry.strides[axis]
        p = k // 2 if name == "same" else 0
        a = input_shape[axis] - ((i - 1) * s + k - 2 * p)
        if not 0 <= a < s:
            return None, None
        output_padding.append(a)
    return name, (output_padding[0], output_padding[1])
