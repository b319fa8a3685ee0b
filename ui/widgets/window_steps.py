"""What the window-stepping pages share: Convolution Arithmetic and Pooling.

Both slide a window over a small matrix one output position at a time: they
offer the slides' worked examples, refuse a stride below 1, show the window on
the (padded) input and the output written so far, and end with the whole
result as a table. Session keys are the caller's (e.g. "arith.example",
"pool.load").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import streamlit as st

from core.ops.arithmetic import ConvGeometry
from ui.widgets.matrix_editor import resize_matrix, set_matrix
from ui.widgets.matrix_view import CELL_PX, format_value, show_matrix
from ui.widgets.presentation import example_key
from ui.widgets.stepper import step_through

AXIS_NAMES = ("row", "column")


INPUT_SIZE_KEYS = ("in_rows", "in_cols")


def stride_problem(strides: tuple[int, int]) -> str | None:
    """What is wrong with ``strides`` (a stride below 1 never moves the window), or ``None``.

    >>> stride_problem((1, 0))
    'The column stride is 0: the window would never move. Set it to 1 or more.'
    >>> stride_problem((2, 3)) is None
    True
    """
    for axis, stride in zip(AXIS_NAMES, strides, strict=True):
        if stride < 1:
            return (
                f"The {axis} stride is {stride}: the window would never move. Set it to 1 or more."
            )
    return None


def axis_rules(relationships, labels: tuple[str, str]) -> list[tuple[str, object]]:
    """``(label, relationship)`` per axis, or one for both when the axes' rules and numbers
    are the same (a square input and window): the page says it once.

    >>> axis_rules(["r", "r"], ("Rows (height)", "Columns (width)"))
    [('Rows and columns (height and width)', 'r')]
    >>> axis_rules(["r", "r"], ("Rows", "Columns"))
    [('Rows and columns', 'r')]
    >>> axis_rules(["r", "c"], ("Rows", "Columns"))
    [('Rows', 'r'), ('Columns', 'c')]
    """
    first, second = relationships
    if first == second:
        (row, *row_note), (col, *col_note) = (label.split(" (", 1) for label in labels)
        note = f" ({row_note[0][:-1]} and {col_note[0]}" if row_note and col_note else ""
        return [(f"{row} and {col.lower()}{note}", first)]
    return list(zip(labels, relationships, strict=True))


def _shape_from_inputs(prefix: str, size_keys: tuple[str, str]) -> tuple[int, int]:
    state = st.session_state
    return int(state[f"{prefix}.{size_keys[0]}"]), int(state[f"{prefix}.{size_keys[1]}"])


def resize_from_inputs(
    matrix_key: str, prefix: str, size_keys: tuple[str, str] = INPUT_SIZE_KEYS
) -> None:
    """Callback of a size input: resize the stored matrix to ``f"{prefix}.in_rows"`` × …_cols.

    The top-left values stay, new cells are 0, and the page no longer shows a
    worked example as loaded (``f"{prefix}.loaded"``).
    """
    shape = _shape_from_inputs(prefix, size_keys)
    resize_matrix(matrix_key, shape, np.zeros((1, 1)))
    st.session_state[f"{prefix}.loaded"] = None


def randomize_input(matrix_key: str, prefix: str) -> None:
    """Callback: fill the stored input with random whole numbers from 0 to 9, at its size."""
    shape = _shape_from_inputs(prefix, INPUT_SIZE_KEYS)
    set_matrix(matrix_key, np.random.default_rng().integers(0, 10, shape))
    st.session_state[f"{prefix}.loaded"] = None


def size_inputs(
    columns,
    matrix_key: str,
    prefix: str,
    *,
    labels: tuple[str, str],
    helps: tuple[str, str],
    maximum: int,
    size_keys: tuple[str, str] = INPUT_SIZE_KEYS,
) -> None:
    """A rows and a columns input (``f"{prefix}.{size_key}"``) that resize the stored matrix."""
    for column, label, size_key, tip in zip(columns, labels, size_keys, helps, strict=True):
        column.number_input(
            label,
            1,
            maximum,
            key=f"{prefix}.{size_key}",
            on_change=resize_from_inputs,
            args=(matrix_key, prefix, size_keys),
            help=tip,
        )


def random_input_button(matrix_key: str, prefix: str, *, container=None) -> None:
    """The button that fills the input with random digits (key ``f"{prefix}.random"``)."""
    (container if container is not None else st).button(
        "Random input 0–9",
        key=f"{prefix}.random",
        on_click=randomize_input,
        args=(matrix_key, prefix),
        help="Fill the input with random whole numbers from 0 to 9.",
    )


def table(values: np.ndarray) -> pd.DataFrame:
    """A matrix as a DataFrame with string column names (what ``st.dataframe`` shows).

    >>> table(np.array([[1.0, 2.0]])).columns.tolist()
    ['0', '1']
    """
    values = np.asarray(values)
    return pd.DataFrame(values, columns=[str(c) for c in range(values.shape[1])])


def show_table(values: np.ndarray) -> None:
    """A result matrix as a read-only table with its row numbers."""
    st.dataframe(table(values), hide_index=False)


def padded_axis_labels(padded_shape: tuple[int, int], pads) -> dict[str, list[int]]:
    """Tick labels that number the input's own cells from 0; padding cells get −1, −2, …

    >>> padded_axis_labels((3, 4), ((1, 1), (0, 2)))
    {'row_labels': [-1, 0, 1], 'col_labels': [0, 1, 2, 3]}
    """
    (top, _), (left, _) = pads
    return {
        "row_labels": [r - top for r in range(padded_shape[0])],
        "col_labels": [c - left for c in range(padded_shape[1])],
    }


def progressive_output(
    output: np.ndarray, step: int, *, hide_current: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The output written so far (reading order): values with NaN not yet written, and texts.

    With ``hide_current`` the current cell is NaN too and its text is "?".

    >>> values, text = progressive_output(np.array([[1.0, 2.0], [3.0, 4.0]]), 1)
    >>> text.tolist()
    [['1', '2'], ['', '']]
    """
    flat_index = np.arange(output.size).reshape(output.shape)
    values = np.where(flat_index <= step, output, np.nan)
    text = np.where(flat_index <= step, np.vectorize(format_value, otypes=[object])(output), "")
    if hide_current:
        values = values.copy()
        values[np.unravel_index(step, output.shape)] = np.nan
        text[np.unravel_index(step, output.shape)] = "?"
    return values, text.astype(object)


def show_window_on_input(
    padded: np.ndarray,
    geometry: ConvGeometry,
    *,
    window: np.ndarray,
    halo: np.ndarray,
    key: str,
    **options,
) -> None:
    """The (padded) input with the window outlined, padding tinted, cells numbered as the input.

    ``options`` go to ``show_matrix`` (``text``, ``winner``, ``shade``, ``cell_px``, …).
    """
    show_matrix(
        padded,
        title="Input" + (" (padded)" if halo.any() else ""),
        highlight=window,
        halo=halo if halo.any() else None,
        key=key,
        **padded_axis_labels(padded.shape, geometry.pads),
        **options,
    )


def show_output_so_far(
    output: np.ndarray,
    step: int,
    *,
    key: str,
    hide_current: bool = False,
    cell_px: int = CELL_PX,
) -> None:
    """The output matrix filled up to ``step``, the current cell outlined."""
    values, text = progressive_output(output, step, hide_current=hide_current)
    current = np.zeros(output.shape, dtype=bool)
    current[np.unravel_index(step, output.shape)] = True
    show_matrix(
        values,
        title=f"Output {output.shape[0]}×{output.shape[1]}",
        winner=current,
        text=text,
        zmin=float(output.min()),
        zmax=float(output.max()),
        cell_px=cell_px,
        key=key,
    )


def example_label(title: str, index: int) -> str:
    """A worked example's short button label: its number in the slides, else its place.

    >>> example_label("4b · Bottom Sobel with strides (1, 2)", 4), example_label("Max pool", 1)
    ('4b', '2')
    """
    number, dot, _ = title.partition(" · ")
    return number if dot and len(number) <= 3 else str(index + 1)


def example_labels(titles: list[str]) -> list[str]:
    """Every example's button label, all different: a number given twice gets letters.

    >>> example_labels(["1 · A", "4 · B", "4 · C", "5 · D"])
    ['1', '4a', '4b', '5']
    """
    labels = [example_label(title, index) for index, title in enumerate(titles)]
    taken = {label for label in labels if labels.count(label) == 1}
    unique = []
    for label in labels:
        if labels.count(label) > 1:
            label = next(label + c for c in "abcdefghijklmnopqrstuvwxyz" if label + c not in taken)
            taken.add(label)
        unique.append(label)
    return unique


def _pick_and_load(prefix: str, load: Callable[[str], None], key: str) -> None:
    st.session_state[f"{prefix}.example"] = key  # the list shows what the button loaded
    load(key)


def list_key(prefix: str) -> str:
    """Session key of the popover that holds the list of examples (tests open it by it).

    >>> list_key("arith")
    'arith.all_examples'
    """
    return f"{prefix}.all_examples"


def example_picker(
    prefix: str,
    examples: Mapping,
    load: Callable[[str], None],
    *,
    select_help: str = "",
    button_help: str = "",
    label: str = "Worked example",
    with_list: bool = True,
) -> None:
    """Worked examples one click away: a button each, and a list that loads what is picked.

    The buttons' keys are ``presentation.example_key(prefix, key)`` (the keys 1–9 press
    them); the list is ``f"{prefix}.example"`` and ``f"{prefix}.load"`` loads its example
    again (after edits). Both sit in a popover at the end of the row of buttons
    (``list_key``): a list drawn on the page costs the browser more on a first visit than
    all the buttons together (bench/page_load.py), and the popover builds it only when
    opened. ``examples`` maps keys to objects with a ``title``; ``load(key)`` runs as a
    callback, before the widgets are drawn again. Without the list (``with_list=False``: a
    page whose state is not one example, as the Kernel Playground's) ``label`` leads the
    row of buttons.
    """
    titles = [example.title for example in examples.values()]
    with st.container(
        horizontal=True, key=f"{prefix}.examples", vertical_alignment="center", gap="small"
    ):
        if not with_list:
            st.markdown(f"**{label}**", width="content")
        for index, (key, short) in enumerate(zip(examples, example_labels(titles), strict=True)):
            title = titles[index]
            st.button(
                short,
                key=example_key(prefix, key),
                on_click=_pick_and_load,
                args=(prefix, load, key),
                help=f"Load {title}. Key: {index + 1}." if index < 9 else f"Load {title}.",
            )
        if not with_list:
            return
        with st.popover(
            f"All {label.lower()}s",
            icon=":material/list:",
            key=list_key(prefix),
            help=f"Every {label.lower()} by its title: pick one to load it.",
        ):
            st.selectbox(
                label,
                list(examples),
                format_func=lambda key: examples[key].title,
                key=f"{prefix}.example",
                on_change=lambda: load(st.session_state[f"{prefix}.example"]),
                help=select_help,
                width=420,
            )
            st.button(
                "Load again",
                key=f"{prefix}.load",
                on_click=lambda: load(st.session_state[f"{prefix}.example"]),
                help=button_help,
            )


def step_through_outputs(
    key: str,
    num_steps: int,
    render: Callable[[int], None],
    *,
    help: str,  # noqa: A002
) -> None:
    """``step_through`` over the output positions, captioned "Position i of n"."""
    step_through(
        key,
        num_steps,
        render,
        label="Output position",
        help=help,
        format_step=lambda step: f"Position {step + 1} of {num_steps}",
    )
