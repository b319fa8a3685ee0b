"""Questions a page can check: the right answer comes from the same code the page uses.

A lecturer asks the room a question about what the current page shows; each builder here
takes the page's numbers and returns a ``core.jobs.rooms.Question`` whose answer is
computed by ``core.ops`` (output sizes, max-pooling winners, one output pixel's dot
product) or taken from the page's own prediction.

>>> output_size_question((7, 7), (3, 3), strides=2).answer
'3'
"""

from __future__ import annotations

import numpy as np

from core.base.checks import as_real_array, check_bool, check_instance, check_int, check_real
from core.jobs.rooms import MAX_CHOICES, Question, format_answer
from core.ops.arithmetic import conv_geometry
from core.ops.pixel_explanation import explain_pixel
from core.ops.pooling import max_pool_argmax

# The largest output size a student may type.
MAX_SIZE_ANSWER = 100_000


# Pixel values: answers are counted to two decimals.
PIXEL_DECIMALS = 2


# A pixel answer counts as right within this share of the value (and at least 0.05).
PIXEL_RELATIVE_TOLERANCE = 0.01


PIXEL_MIN_TOLERANCE = 0.05


# When a network has more classes than this, the choices are the most likely ones.
CLASS_CHOICES = 10


_ROW_WORDS = {2: ("top", "bottom"), 3: ("top", "middle", "bottom")}


_COL_WORDS = {2: ("left", "right"), 3: ("left", "centre", "right")}


def _padding_words(padding) -> str:
    if isinstance(padding, str):
        return f"padding '{padding}'"
    return f"padding {padding}"


def _pair_words(pair) -> str:
    return f"{pair[0]} × {pair[1]}" if pair[0] != pair[1] else f"{pair[0]}"


def output_size_question(
    input_shape, kernel_size, *, strides=1, padding="valid", dilation_rate=1
) -> Question:
    """How many rows (and columns) the output of a convolution has.

    Args:
        input_shape, kernel_size: (rows, cols) or an int.
        strides, padding, dilation_rate: as ``core.ops.arithmetic.conv_geometry``.

    Raises:
        ValueError: settings for which no output can be computed (the message says why).

    >>> question = output_size_question((5, 8), (3, 3), padding="same", strides=2)
    >>> question.prompt.splitlines()[-1], question.answer
    ('How many rows does the output have?', '3')
    """
    geometry = conv_geometry(
        input_shape, kernel_size, strides=strides, padding=padding, dilation_rate=dilation_rate
    )
    rows, cols = geometry.output_shape
    settings = (
        f"Input {geometry.input_shape[0]} × {geometry.input_shape[1]}, "
        f"kernel {geometry.kernel_size[0]} × {geometry.kernel_size[1]}, "
        f"stride {_pair_words(geometry.strides)}, {_padding_words(padding)}, "
        f"dilation {_pair_words(geometry.dilation_rate)}."
    )
    info = geometry.axes[0]
    if rows == cols:
        ask = "The output is square. How many rows (and columns) does it have?"
    else:
        ask = "How many rows does the output have?"
    kernel = f"{info.effective_kernel_size}"
    explanation = (
        f"⌊({info.input_size} + {info.pad_before} + {info.pad_after} − {kernel}) / "
        f"{info.strides}⌋ + 1 = {rows}: the output is {rows} × {cols}."
    )
    return Question.number(
        f"{settings}\n{ask}",
        rows,
        minimum=0,
        maximum=MAX_SIZE_ANSWER,
        explanation=explanation,
    )


def window_cell_label(row: int, col: int, window: tuple[int, int]) -> str:
    """A cell of a pooling window in words: "top left", "middle centre", "row 4, column 1".

    >>> window_cell_label(0, 1, (2, 2)), window_cell_label(1, 1, (3, 3))
    ('top right', 'centre')
    >>> window_cell_label(3, 0, (4, 1))
    'row 4'
    """
    rows, cols = window
    row_word = "" if rows == 1 else _ROW_WORDS.get(rows, ())
    col_word = "" if cols == 1 else _COL_WORDS.get(cols, ())
    row_text = row_word[row] if row_word else ("" if rows == 1 else f"row {row + 1}")
    col_text = col_word[col] if col_word else ("" if cols == 1 else f"column {col + 1}")
    if row_text == "middle" and col_text == "centre":
        return "centre"
    joiner = ", " if row_text.startswith("row") or col_text.startswith("column") else " "
    return joiner.join(text for text in (row_text, col_text) if text)


def pool_winner_question(x, position, *, pool_size=2, strides=None, padding="valid") -> Question:
    """Which cell of one max-pooling window wins (holds the maximum).

    Args:
        x: (H, W) real array, the map being pooled.
        position: (row, col) of the output cell whose window is asked about.
        pool_size, strides, padding: as ``core.ops.pooling.pool2d``.

    Raises:
        ValueError: a window that cannot be pooled, or that covers a single input cell.

    >>> x = [[10, 12, 3, 4], [6, 8, 4, 5], [22, 12, 10, 7], [0, 9, 32, 4]]
    >>> question = pool_winner_question(x, (1, 0))
    >>> question.choices, question.answer
    (('top left', 'top right', 'bottom left', 'bottom right'), 'top left')
    """
    x = as_real_array(x, "x", ndims=(2,)).astype(np.float64)
    winners = max_pool_argmax(x, pool_size=pool_size, strides=strides, padding=padding)
    out_row = check_int(position[0], "row", minimum=0, maximum=winners.shape[0] - 1)
    out_col = check_int(position[1], "col", minimum=0, maximum=winners.shape[1] - 1)
    step = pool_size if strides is None else strides
    geometry = conv_geometry(x.shape, pool_size, strides=step, padding=padding)
    (top, _), (left, _) = geometry.pads
    tap_rows, tap_cols = geometry.taps(out_row, out_col)
    window = geometry.kernel_size
    choices, cells = [], []
    for i, padded_row in enumerate(tap_rows):
        for j, padded_col in enumerate(tap_cols):
            row, col = int(padded_row) - top, int(padded_col) - left
            if 0 <= row < x.shape[0] and 0 <= col < x.shape[1]:
                choices.append(window_cell_label(i, j, window))
                cells.append((row, col))
    if len(cells) < 2:
        raise ValueError("This window covers a single input cell: pick another window.")
    winner = tuple(int(v) for v in winners[out_row, out_col])
    answer = choices[cells.index(winner)]
    rows = sorted({row for row, _ in cells})
    cols = sorted({col for _, col in cells})
    best = float(x[winner])
    ties = sum(float(x[cell]) == best for cell in cells) > 1
    prompt = (
        f"Max pooling {window[0]} × {window[1]}, stride {_pair_words(geometry.strides)}, "
        f"padding '{padding}'. The window of output row {out_row}, column {out_col} covers "
        f"input rows {rows[0]}–{rows[-1]} and columns {cols[0]}–{cols[-1]}.\n"
        "Which cell of the window wins (holds the maximum)?"
    )
    if ties:
        prompt += " A tie goes to the first cell in reading order."
    explanation = (
        f"The maximum is {format_answer(best, 4)}, at input row {winner[0]}, "
        f"column {winner[1]}: the window's {answer} cell."
    )
    return Question.choice(prompt, choices, answer, explanation=explanation)


def pixel_tolerance(value: float) -> float:
    """How far a typed pixel value may be from the right one: 1% of it, at least 0.05.

    >>> pixel_tolerance(4.0), pixel_tolerance(-250.0)
    (0.05, 2.5)
    """
    return max(PIXEL_MIN_TOLERANCE, PIXEL_RELATIVE_TOLERANCE * abs(float(value)))


def pixel_value_question(
    image, kernel, row: int, col: int, *, bias: float = 0.0, relu: bool = False, **options
) -> Question:
    """The value of one output pixel: the dot product of its patch and the kernel.

    Args:
        image: (H, W) grey image; kernel: (kh, kw).
        row, col: the output pixel.
        bias: added after the dot product; relu: then max(0, ·).
        **options: ``conv2d``'s options (strides, padding, mode, cval, dilation_rate,
            flip_kernel).

    >>> image = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    >>> question = pixel_value_question(image, [[1, 1], [1, 1]], 0, 0, bias=0.5)
    >>> question.answer, question.is_correct("2.52"), question.is_correct("2.6")
    ('2.5', True, False)
    """
    image = as_real_array(image, "image", ndims=(2,))
    bias = check_real(bias, "bias")
    relu = check_bool(relu, "relu")
    detail = explain_pixel(image, kernel, row, col, **options)
    total = float(detail.total)
    value = total + bias
    if relu:
        value = max(value, 0.0)
    tolerance = pixel_tolerance(value)
    kh, kw = detail.kernel.shape[:2]
    steps = f"The dot product of the {kh} × {kw} patch and the kernel is "
    steps += format_answer(total, PIXEL_DECIMALS)
    if bias:
        steps += f"; plus the bias {format_answer(bias, 4)}"
    if relu:
        steps += "; after ReLU"
    prompt = (
        f"What is the value of output pixel row {detail.row}, column {detail.col}?\n"
        f"Answers within ±{format_answer(tolerance, PIXEL_DECIMALS)} count as right."
    )
    return Question.number(
        prompt,
        value,
        tolerance=tolerance,
        decimals=PIXEL_DECIMALS,
        explanation=f"{steps}: {format_answer(value, PIXEL_DECIMALS)}.",
    )


def predicted_class_question(probabilities, class_names) -> Question:
    """Which class the network will pick for the image on screen (its largest probability).

    With more than ``CLASS_CHOICES`` classes, the choices are the most likely ones in
    the order of ``class_names``.

    >>> question = predicted_class_question([0.1, 0.7, 0.2], ["cat", "dog", "bird"])
    >>> question.choices, question.answer
    (('cat', 'dog', 'bird'), 'dog')
    """
    probabilities = as_real_array(probabilities, "probabilities", ndims=(1,)).astype(np.float64)
    names = [str(name) for name in check_instance(list(class_names), "class_names", list)]
    if len(names) != len(probabilities) or len(names) < 2:
        raise ValueError(
            f"`class_names` must name each of the {len(probabilities)} classes (at least 2)."
        )
    if len(set(names)) != len(names):
        names = [f"{name} (class {index})" for index, name in enumerate(names)]
    predicted = int(np.argmax(probabilities))
    shown = range(len(names))
    if len(names) > min(CLASS_CHOICES, MAX_CHOICES):
        shown = sorted(np.argsort(-probabilities, kind="stable")[:CLASS_CHOICES].tolist())
    choices = [names[index] for index in shown]
    explanation = (
        f"The network gives {names[predicted]} the largest probability: "
        f"{probabilities[predicted]:.0%}."
    )
    return Question.choice(
        "Which class will the network pick for this image?",
        choices,
        names[predicted],
        explanation=explanation,
    )
