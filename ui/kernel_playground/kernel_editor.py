"""The editable kernel: presets, generators, a grid of cells and one-click transformations.

``kernel_editor`` draws the controls under a key prefix (e.g. "kernel") and
returns a ``KernelChoice`` with the kernel to use. The grid is one text box
per weight, so fractions such as ``1/9`` work and a typo can be caught: a bad
cell (text, blank, NaN, ±inf, an absurd magnitude) is outlined in red and
named in a message, and the last good kernel stays in use until it is fixed.

State (all under the prefix): ``.values`` the kernel the grid starts from,
``.version`` a counter that gives the grid's cells (and the size inputs) fresh
keys whenever a button or preset replaces its contents, ``.last_good`` the
kernel in use, ``.preset`` the selection ("custom" once a cell is edited) and
``.preset_version`` the counter behind the kernel choice's key (see ``preset_key``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.base.numbers import readable
from core.ops.kernels import (
    PRESETS,
    box_kernel,
    gabor_kernel,
    gaussian_kernel,
    kernel,
    laplacian_of_gaussian_kernel,
)
from ui.kernel_playground.link_state import MAX_KERNEL_SIZE, check_kernel, parse_kernel_cell
from ui.widgets.closed_tabs import folded_popover
from ui.widgets.page_link import locked
from ui.widgets.short_choice import choose_one

CUSTOM = "custom"


GRID_CELL_PX = 64  # width of one cell of the grid
GRID_CELL_PX_NARROW = 44  # for kernels wider than 5
GRID_CELL_MIN_PX = 44  # cells shrink down to this before the grid scrolls sideways
WIDEST_GRID_SHOWN = 5  # columns that fit the kernel column at 1280 px and 150 %; wider ones scroll


GENERATORS = {
    "gen:gaussian": "Gaussian (choose size and σ)",
    "gen:box": "Box / mean (choose size)",
    "gen:gabor": "Gabor (choose θ, λ, σ)",
    "gen:log": "Laplacian of Gaussian (choose size and σ)",
}


GENERATOR_DESCRIPTIONS = {
    "gen:gaussian": "A bell-shaped weighted mean: σ sets how far the blur reaches.",
    "gen:box": "Every neighbour counts equally: a plain average over a square.",
    "gen:gabor": "A striped wave under a bell: it answers edges and textures at angle θ with "
    "stripes λ pixels apart — much like the first layer of a trained CNN.",
    "gen:log": "Blur, then second derivative: a blob and edge detector whose scale is σ.",
}


@dataclass(frozen=True)
class KernelChoice:
    """The kernel to use and where it came from."""

    values: np.ndarray
    preset: str
    description: str
    errors: tuple[str, ...] = ()


def preset_options() -> list[str]:
    return [CUSTOM, *PRESETS, *GENERATORS]


def option_label(option: str) -> str:
    if option == CUSTOM:
        return "Custom (your own values)"
    if option in PRESETS:
        return PRESETS[option].name
    return GENERATORS[option]


def _keys(prefix: str) -> dict[str, str]:
    names = (
        "values",
        "version",
        "last_good",
        "preset",
        "preset_version",
        "size",
        "sigma",
        "theta",
        "wavelength",
        "gabor_sigma",
        "message",
    )
    return {name: f"{prefix}.{name}" for name in names}


def grid_key(prefix: str) -> str:
    """Session key of the current grid (changes whenever the grid is replaced)."""
    return f"{prefix}.grid.{st.session_state.get(f'{prefix}.version', 0)}"


def preset_key(prefix: str) -> str:
    """Session key of the kernel choice on screen.

    The page never overwrites this widget's value; it gives the choice a
    fresh key instead (an edited cell makes the choice "custom", a button loads
    a kernel). An overwritten value can come back stale from a browser that
    has not drawn the change yet, in the same message as the user's next
    edit, and would then read as a choice: the preset would be loaded again
    over the user's values. The selection itself lives in ``{prefix}.preset``.
    """
    return f"{prefix}.preset_choice.{st.session_state.get(f'{prefix}.preset_version', 0)}"


def size_key(prefix: str, axis: str) -> str:
    """Session key of the "rows" or "cols" input on screen: fresh with every new kernel."""
    return f"{prefix}.{axis}.{st.session_state.get(f'{prefix}.version', 0)}"


def _select_preset(prefix: str, option: str) -> None:
    state = st.session_state
    state[f"{prefix}.preset"] = option
    state[f"{prefix}.preset_version"] = state.get(f"{prefix}.preset_version", 0) + 1


def set_kernel(prefix: str, values, preset: str = CUSTOM) -> None:
    """Replace the kernel (e.g. from a shared link or a button). Call before the widgets draw."""
    keys = _keys(prefix)
    values = check_kernel(values).copy()
    state = st.session_state
    state[keys["values"]] = values
    state[keys["last_good"]] = values
    state[keys["version"]] = state.get(keys["version"], 0) + 1
    _select_preset(prefix, preset if preset in preset_options() else CUSTOM)
    state.pop(keys["message"], None)


def current_kernel(prefix: str) -> np.ndarray:
    """The kernel in use: the last good one."""
    return st.session_state[f"{prefix}.last_good"]


def generated(prefix: str, option: str) -> np.ndarray:
    """The kernel generator ``option`` makes with its sliders' values (or their defaults)."""
    keys = _keys(prefix)
    state = st.session_state
    size = int(state.get(keys["size"], 5))
    sigma = float(state.get(keys["sigma"], 1.0))
    if option == "gen:gaussian":
        return gaussian_kernel(size, sigma)
    if option == "gen:box":
        return box_kernel(size)
    if option == "gen:log":
        return laplacian_of_gaussian_kernel(size, sigma)
    return gabor_kernel(
        size,
        theta=math.radians(float(state.get(keys["theta"], 0.0))),
        wavelength=float(state.get(keys["wavelength"], 4.0)),
        sigma=float(state.get(keys["gabor_sigma"], 2.0)),
    )


def _on_preset(prefix: str, key: str | None = None) -> None:
    # ``key`` is the box as drawn. Once the page has replaced it with a fresh box (after an
    # edit turned the kernel Custom), a value the old box still sends is stale: a browser
    # that had not drawn the change yet sent the old preset back. Acting on it would load
    # that preset over the user's values, so a stale box, or one whose key is gone, does
    # nothing.
    current = preset_key(prefix)
    if key is not None and key != current:
        return
    option = st.session_state.get(current)
    if option is None:
        return
    if option == CUSTOM:
        st.session_state[f"{prefix}.preset"] = CUSTOM
        return
    values = kernel(option) if option in PRESETS else generated(prefix, option)
    set_kernel(prefix, values, option)


def _on_generator_change(prefix: str) -> None:
    option = st.session_state[f"{prefix}.preset"]
    if option in GENERATORS:
        set_kernel(prefix, generated(prefix, option), option)


def _on_resize(prefix: str, axis: str, key: str) -> None:
    # ``key`` is the input as drawn: an earlier callback of the same rerun may already
    # have replaced the kernel (and so the keys) when this one runs.
    old = current_kernel(prefix)
    size = int(st.session_state[key])
    rows, cols = (size, old.shape[1]) if axis == "rows" else (old.shape[0], size)
    new = np.zeros((rows, cols))
    # Keep the centre: crop or pad evenly on both sides.
    r0, c0 = max((old.shape[0] - rows) // 2, 0), max((old.shape[1] - cols) // 2, 0)
    n0, m0 = max((rows - old.shape[0]) // 2, 0), max((cols - old.shape[1]) // 2, 0)
    h, w = min(rows, old.shape[0]), min(cols, old.shape[1])
    new[n0 : n0 + h, m0 : m0 + w] = old[r0 : r0 + h, c0 : c0 + w]
    set_kernel(prefix, new)


def _on_transform(prefix: str, action: str) -> None:
    values = current_kernel(prefix).copy()
    preset = st.session_state.get(f"{prefix}.preset", CUSTOM)
    if action == "normalise":
        total = values.sum()
        if abs(total) < 1e-12:
            st.session_state[f"{prefix}.message"] = (
                "This kernel sums to 0 (an edge detector), so it cannot be scaled to sum 1. "
                "Its output is zero on flat areas whatever you do."
            )
            return
        values = values / total
        preset = CUSTOM
    elif action == "randomise":
        rng = np.random.default_rng()
        values = np.round(rng.normal(0.0, 1.0, size=values.shape), 1)
        preset = CUSTOM
    elif action == "transpose":
        values = values.T.copy()
        preset = CUSTOM
    elif action == "rotate":
        values = values[::-1, ::-1].copy()
        preset = CUSTOM
    set_kernel(prefix, values, preset)


def cell_key(prefix: str, row: int, col: int) -> str:
    """Session key of one cell of the grid on screen (tests and the browser bench use it)."""
    return f"{grid_key(prefix)}.{row}.{col}"


def cell_text(value: float) -> str:
    """How a kernel value is written into its cell."""
    return format(float(value), ".6g")


def _on_cell_edit(prefix: str) -> None:
    # Runs before the script, so the choice is drawn showing "custom" (see preset_key).
    if st.session_state.get(f"{prefix}.preset") != CUSTOM:
        _select_preset(prefix, CUSTOM)


def _read_cell(base: np.ndarray, row: int, col: int, text) -> float:
    """A cell's value: the stored one while its text is untouched (full precision)."""
    if text == cell_text(base[row, col]):
        return float(base[row, col])
    return parse_kernel_cell(text)


def _key_class(key: str) -> str:
    """The CSS class Streamlit gives the element with this key."""
    return "st-key-" + re.sub(r"[^\w-]", "-", key)


def _grid_style(prefix: str, cell_px: int, bad_cells: list[tuple[int, int]]) -> str:
    """CSS for a compact, non-wrapping grid, with the unusable cells outlined in red."""
    grid = "." + _key_class(f"{prefix}.grid")
    bad = ", ".join(f".{_key_class(cell_key(prefix, r, c))} input" for r, c in bad_cells)
    return (
        f"<style>{grid} [data-testid='stHorizontalBlock'], {grid} .stHorizontalBlock "
        "{flex-wrap: nowrap;}"
        f"{grid} {{overflow-x: auto;}}"
        # Cells shrink from cell_px to GRID_CELL_MIN_PX so a 5-wide grid fits a narrow
        # column (a projector at 150 %) instead of clipping its last column.
        f"{grid} [data-testid='stHorizontalBlock'] > div, {grid} .stHorizontalBlock > div "
        f"{{flex: 0 1 {cell_px}px !important; width: auto !important; "
        f"min-width: {GRID_CELL_MIN_PX}px;}}"
        f"{grid} input {{text-align: center; padding: 0.25rem 0.1rem; font-size: 0.85rem;}}"
        # The buttons drawn before a cell is clicked look like the boxes they turn into.
        f"{grid} button {{width: 100%; min-width: 0; padding: 0.25rem 0.1rem; "
        "font-size: 0.85rem; font-variant-numeric: tabular-nums;}"
        + (f"{bad} {{outline: 2px solid #d33; background: #fde8e8;}}" if bad else "")
        + "</style>"
    )


def editing_key(prefix: str) -> str:
    """Session key set once a cell has been clicked: the grid is text boxes from then on."""
    return f"{prefix}.editing"


def view_cell_key(prefix: str, row: int, col: int) -> str:
    """Session key of one cell's button while the grid is shown, not edited."""
    return f"{prefix}.view.{row}.{col}"


def _start_editing(prefix: str, row: int, col: int) -> None:
    st.session_state[editing_key(prefix)] = True
    st.session_state[f"{prefix}.focus"] = (row, col)


def _kernel_buttons(prefix: str, base: np.ndarray, cell_px: int) -> None:
    """The weights as a grid of buttons; a click turns the grid into text boxes.

    Why not text boxes from the start: the first text box on a page costs a first visit
    about a fifth of a bare page (``bench/widget_cost.py``), buttons next to nothing, and
    most visitors pick kernels rather than type them. No tooltip: Streamlit builds a button
    with one twice, and the caption under the grid says what a click does.
    """
    with st.container(key=f"{prefix}.grid", gap="xxsmall"):
        for r in range(base.shape[0]):
            row = st.container(horizontal=True, gap="xxsmall")
            for c in range(base.shape[1]):
                text = cell_text(base[r, c])
                row.button(
                    "\\" + text if text.startswith("-") else text,  # "-1" is no Markdown list
                    key=view_cell_key(prefix, r, c),
                    width=cell_px,
                    disabled=locked("k"),
                    on_click=_start_editing,
                    args=(prefix, r, c),
                )


def _focus_script(prefix: str, row: int, col: int) -> str:
    """A script that puts the cursor in the clicked cell once its text box is drawn."""
    selector = f".{_key_class(cell_key(prefix, row, col))} input"
    return (
        "<script>(function tryFocus(left) {"
        f"const box = document.querySelector({selector!r});"
        "if (box) { box.focus(); box.select(); }"
        "else if (left > 0) { setTimeout(() => tryFocus(left - 1), 50); }"
        "})(40);</script>"
    )


def _kernel_grid(prefix: str, base: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """One text box per weight, in rows. Returns the values and a message per bad cell.

    Until a cell is clicked the weights are buttons (``_kernel_buttons``).

    Plain text inputs rather than ``st.data_editor``: the data editor waits
    150 ms after every edit before it tells the server (a fixed debounce in
    Streamlit's front end), which alone breaks this page's speed target.
    """
    rows, cols = base.shape
    cell_px = GRID_CELL_PX if cols <= 5 else GRID_CELL_PX_NARROW
    values = base.copy()
    errors, bad_cells = [], []
    if not st.session_state.get(editing_key(prefix)):
        _kernel_buttons(prefix, base, cell_px)
    else:
        _kernel_boxes(prefix, base, cell_px, values, errors, bad_cells)
    st.html(_grid_style(prefix, cell_px, bad_cells))
    focus = st.session_state.pop(f"{prefix}.focus", None)
    if focus is not None and not locked("k"):
        st.html(_focus_script(prefix, *focus), unsafe_allow_javascript=True)
    if cols > WIDEST_GRID_SHOWN:
        st.caption(f"{cols} columns: scroll the grid sideways to reach them all.")
    return values, errors


def _kernel_boxes(prefix, base, cell_px, values, errors, bad_cells) -> None:
    """The text boxes; fills ``values`` and names each unusable cell in ``errors``."""
    rows, cols = base.shape
    with st.container(key=f"{prefix}.grid", gap="xxsmall"):
        for r in range(rows):
            row = st.container(horizontal=True, gap="xxsmall")
            for c in range(cols):
                text = row.text_input(
                    f"Row {r}, column {c}",
                    value=cell_text(base[r, c]),
                    key=cell_key(prefix, r, c),
                    label_visibility="collapsed",
                    width=cell_px,
                    disabled=locked("k"),
                    on_change=_on_cell_edit,
                    args=(prefix,),
                )
                try:
                    values[r, c] = _read_cell(base, r, c, text)
                except ValueError as error:
                    errors.append(f"Row {r}, column {c}: {error}.")
                    bad_cells.append((r, c))


def kernel_editor(prefix: str = "kernel", *, default_preset: str = "sobel_bottom") -> KernelChoice:
    """Draw the kernel controls and return the kernel to use."""
    keys = _keys(prefix)
    state = st.session_state
    if keys["last_good"] not in state:
        set_kernel(prefix, kernel(default_preset), default_preset)
    if cell_key(prefix, 0, 0) not in state:
        # A fresh grid (first run, or back from another page, which makes Streamlit forget
        # widgets): start it from the kernel in use.
        state[keys["values"]] = state[keys["last_good"]]

    option = state[keys["preset"]]
    choose_one(
        "Kernel",
        preset_options(),
        default=option,
        format_func=option_label,
        key=preset_key(prefix),
        disabled=locked("preset") or locked("k"),
        on_change=_on_preset,
        args=(prefix, preset_key(prefix)),
        help="Start from a classic kernel or a generator with parameters; then edit any cell. "
        "Editing a cell switches the choice to Custom and keeps the values.",
    )
    if option in PRESETS:
        st.caption(PRESETS[option].description)
    elif option in GENERATORS:
        st.caption(GENERATOR_DESCRIPTIONS[option])
        _generator_controls(prefix, option)
    else:
        st.caption("Your own kernel. Type numbers or fractions such as 1/9 into the cells.")

    base = state[keys["values"]]
    values, errors = _kernel_grid(prefix, base)
    shown = values if not errors else state[keys["last_good"]]
    total = readable(shown.sum(), np.abs(shown).max(), digits=4)  # float noise shows as 0
    st.caption(
        f"Sum of the weights: {total}. Click a cell, type a number or a fraction such as 1/16 "
        "and press Enter or Tab."
    )
    if errors:
        st.error(
            "Some cells are not usable numbers, so the last good kernel stays in use:\n\n"
            + "\n".join(f"- {e}" for e in errors)
        )
    else:
        state[keys["last_good"]] = values

    tools = folded_popover(  # the size boxes are drawn from the grid's shape when it opens
        st,
        tools_label(base.shape),
        key=tools_key(prefix),
        keeps=(),
        icon=":material/tune:",
        width="stretch",
        wrap=True,  # every value stays readable in a narrow column (150 % zoom)
        help="The kernel's size and one-click changes: sum to 1, random, transpose, rotate 180°.",
    )
    if tools is not None:
        with tools:
            _size_and_transforms(prefix, base)
    message = state.pop(keys["message"], None)
    if message:
        st.warning(message)

    in_use = state[keys["last_good"]]
    preset = state[keys["preset"]]
    description = (
        PRESETS[preset].description
        if preset in PRESETS
        else GENERATOR_DESCRIPTIONS.get(preset, "Custom kernel.")
    )
    return KernelChoice(in_use.copy(), preset, description, tuple(errors))


def tools_key(prefix: str) -> str:
    """Session key of the popover with the size inputs and the transform buttons."""
    return f"{prefix}.tools"


def tools_label(shape: tuple[int, ...]) -> str:
    """The popover's label: the kernel's size and what the popover offers.

    >>> tools_label((3, 5))
    'Size 3×5 · sum → 1, transpose, rotate, random'
    """
    return f"Size {shape[0]}×{shape[1]} · sum → 1, transpose, rotate, random"


def _size_and_transforms(prefix: str, base: np.ndarray) -> None:
    """The kernel's rows and columns, then the four one-click transformations.

    In a popover, drawn only while it is open (bench/page_load.py); the size inputs are drawn
    with the kernel's size, so they need no value kept while it is shut.
    """
    size_row = st.container(horizontal=True)
    for axis, label, size in zip(("rows", "cols"), ("Rows", "Columns"), base.shape, strict=True):
        size_row.number_input(
            label,
            min_value=1,
            max_value=MAX_KERNEL_SIZE,
            value=size,
            step=1,
            key=size_key(prefix, axis),
            disabled=locked("k"),
            on_change=_on_resize,
            args=(prefix, axis, size_key(prefix, axis)),
            help=f"Kernel {label.lower()}, 1 to {MAX_KERNEL_SIZE}. Even sizes have no centre "
            "cell; growing pads with zeros around the middle, shrinking keeps the middle.",
        )

    rows = [st.container(horizontal=True, gap="xsmall") for _ in range(2)]
    for index, (action, label, tip) in enumerate(
        (
            (
                "normalise",
                "Sum → 1",
                "Divide every cell by the kernel's sum, so a flat "
                "area keeps its brightness (blurs should sum to 1).",
            ),
            (
                "randomise",
                "Random",
                "Fill the grid with random values (mean 0, "
                "spread 1): what a CNN's kernel looks like before training.",
            ),
            (
                "transpose",
                "Transpose",
                "Swap rows and columns: a horizontal edge detector becomes a vertical one.",
            ),
            (
                "rotate",
                "Rotate 180°",
                "Turn the kernel upside down and back to front: "
                "the flip that turns correlation into true convolution.",
            ),
        )
    ):
        rows[index // 2].button(
            label,
            key=f"{prefix}.button.{action}",
            help=tip,
            disabled=locked("k"),
            on_click=_on_transform,
            args=(prefix, action),
            width="stretch",
        )


def _generator_controls(prefix: str, option: str) -> None:
    keys = _keys(prefix)
    state = st.session_state
    state.setdefault(keys["size"], 5)
    state.setdefault(keys["sigma"], 1.0)
    state.setdefault(keys["theta"], 0)
    state.setdefault(keys["wavelength"], 4.0)
    state.setdefault(keys["gabor_sigma"], 2.0)
    common = {
        "on_change": _on_generator_change,
        "args": (prefix,),
        "disabled": locked("preset") or locked("k"),
    }
    columns = st.columns(2)
    columns[0].slider(
        "Size",
        1,
        MAX_KERNEL_SIZE,
        key=keys["size"],
        **common,
        help="Width and height of the generated kernel in cells.",
    )
    if option in ("gen:gaussian", "gen:log"):
        columns[1].slider(
            "σ (spread)",
            0.2,
            5.0,
            step=0.1,
            key=keys["sigma"],
            **common,
            help="Standard deviation of the bell in pixels: larger σ reaches further.",
        )
    if option == "gen:gabor":
        columns[1].slider(
            "θ (angle, degrees)",
            0,
            180,
            step=5,
            key=keys["theta"],
            **common,
            help="Direction of the stripes' travel: 0° gives vertical stripes.",
        )
        more = st.columns(2)
        more[0].slider(
            "λ (wavelength, pixels)",
            2.0,
            16.0,
            step=0.5,
            key=keys["wavelength"],
            **common,
            help="Distance between two bright stripes of the wave.",
        )
        more[1].slider(
            "σ (envelope)",
            0.5,
            6.0,
            step=0.1,
            key=keys["gabor_sigma"],
            **common,
            help="Size of the bell that fades the wave out away from the centre.",
        )
