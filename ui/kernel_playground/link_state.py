"""The Kernel Playground's full setup as a URL query string, and back.

A lecturer builds a demo (image, kernel values, stride, padding, ...) and
shares a link; opening it restores exactly that setup. ``encode_state`` turns
a ``PlaygroundState`` into a flat ``{name: text}`` dict for ``st.query_params``;
``decode_state`` reads such a dict back, checking every field on its own: a
garbled field falls back to its default and adds a message saying what was
wrong, while the fields that parse are kept.

Kernel cells typed by a person go through ``parse_kernel_cell`` (numbers,
``1/9``-style fractions), which refuses text, blanks, NaN, infinities and
absurd magnitudes with a message naming the cell.

Pure Python and numpy: nothing here imports Streamlit.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

import numpy as np

from core.ops.output_size import BORDER_MODES as MODE_CHOICES
from core.ops.output_size import PADDING_CHOICES

MAX_KERNEL_SIZE = 15


MAX_ABS_KERNEL_VALUE = 1e6


MAX_STRIDE = 16


MAX_DILATION = 8


MAX_EXPLICIT_PADDING = 32


MAX_SHIFT = 32


SYNTHETIC_SIZES = (8, 16, 32, 64, 128, 256)


COLOR_CHOICES = ("grayscale", "per_channel", "summed")


MAPPING_CHOICES = ("auto", "diverging", "abs", "clip", "minmax")


MAX_PATCH_SIDE = 15  # an input patch travels in a link: at most 15×15 numbers


PATCH_KEY = "kernel.patch"  # the input patch a link loaded, as rows of floats; () for none


_FRACTION = re.compile(r"^\s*([+-]?[0-9.eE+-]+)\s*/\s*([+-]?[0-9.eE+-]+)\s*$")


# Pasted or typed look-alikes: minus signs and dashes, the fraction slash of "½", "÷".
_LOOK_ALIKES = str.maketrans(
    {"\u2212": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "⁄": "/", "÷": "/"}
)


_DECIMAL_COMMA = re.compile(r"^[+-]?[0-9]*,[0-9]+$")


def _cell_float(text: str, raw: str) -> float:
    """``text`` (a number, no fraction) as a float; what a person typed is ``raw``."""
    try:
        value = float(text)
    except ValueError:
        if _DECIMAL_COMMA.match(text):
            hint = text.replace(",", ".")
            message = f"'{raw}' is not a number: write decimals with a dot, e.g. {hint}"
            raise ValueError(message) from None
        raise ValueError(f"'{raw}' is not a number (use e.g. 2, -0.5 or 1/9)") from None
    if math.isinf(value) and "inf" not in text.lower():  # 1e999: too large, not "infinite"
        raise ValueError(f"'{raw}' is too large: keep |value| <= {MAX_ABS_KERNEL_VALUE:g}")
    return value


def parse_kernel_cell(text) -> float:
    """Read one kernel cell: a finite number or a fraction like ``1/9``, |value| <= 1e6.

    Full-width digits (``１２``), other scripts' digits, ``½`` and a pasted minus sign
    (``−1``) read as a person means them; a decimal comma gets a hint to use a dot.

    Raises:
        ValueError: with a message a person can act on.

    >>> parse_kernel_cell("1/16"), parse_kernel_cell(" -2 "), parse_kernel_cell(3)
    (0.0625, -2.0, 3.0)
    >>> parse_kernel_cell("１２"), parse_kernel_cell("½"), parse_kernel_cell("−1")
    (12.0, 0.5, -1.0)
    """
    if text is None or (isinstance(text, float) and math.isnan(text)) or str(text).strip() == "":
        raise ValueError("is empty: type a number (0 for no weight)")
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a number")
    if isinstance(text, int | float | np.integer | np.floating):
        value, shown, infinite = float(text), f"{float(text):g}", True
    else:
        raw = str(text).strip()
        if len(raw) > 40:
            raise ValueError(f"'{raw[:20]}…' is too long for a number (use e.g. 2, -0.5 or 1/9)")
        normal = unicodedata.normalize("NFKC", raw).translate(_LOOK_ALIKES)
        shown, infinite = f"'{raw}'", "inf" in normal.lower()
        match = _FRACTION.match(normal)
        if match:
            numerator = _cell_float(match.group(1), raw)
            denominator = _cell_float(match.group(2), raw)
            if denominator == 0:
                raise ValueError(f"'{raw}' divides by zero")
            value = numerator / denominator
        else:
            value = _cell_float(normal, raw)
    if math.isnan(value):
        raise ValueError("is NaN (not a number): type a finite value")
    if math.isinf(value) and infinite:
        raise ValueError("is infinite: type a finite value")
    if not abs(value) <= MAX_ABS_KERNEL_VALUE:
        raise ValueError(f"{shown} is too large: keep |value| <= {MAX_ABS_KERNEL_VALUE:g}")
    return value


def check_kernel(kernel) -> np.ndarray:
    """Return ``kernel`` as float64 (kh, kw) after checking size and values.

    >>> check_kernel([[1, 2]]).shape
    (1, 2)
    """
    array = np.asarray(kernel, dtype=np.float64)
    if (
        array.ndim != 2
        or not (1 <= array.shape[0] <= MAX_KERNEL_SIZE)
        or not (1 <= array.shape[1] <= MAX_KERNEL_SIZE)
    ):
        raise ValueError(
            f"The kernel must be 2-D, from 1×1 to {MAX_KERNEL_SIZE}×{MAX_KERNEL_SIZE}. "
            f"Received: shape {array.shape}"
        )
    if not np.isfinite(array).all() or np.abs(array).max() > MAX_ABS_KERNEL_VALUE:
        raise ValueError(
            f"Every kernel value must be a finite number with |value| <= {MAX_ABS_KERNEL_VALUE:g}."
        )
    return array


def _default_kernel() -> tuple[tuple[float, ...], ...]:
    return ((-1.0, -2.0, -1.0), (0.0, 0.0, 0.0), (1.0, 2.0, 1.0))


@dataclass(frozen=True)
class PlaygroundState:
    """Everything that defines what the Kernel Playground shows.

    ``image`` is "photo:<file name>" or "synthetic:<key>"; an uploaded or
    camera image cannot travel in a link. ``kernel`` is a tuple of rows.
    """

    image: str = "photo:camera.png"
    synthetic_size: int = 32
    color: str = "grayscale"
    kernel: tuple[tuple[float, ...], ...] = field(default_factory=_default_kernel)
    preset: str = "sobel_bottom"
    strides: tuple[int, int] = (1, 1)
    padding: str = "same"
    explicit_padding: tuple[int, int] = (1, 1)
    mode: str = "constant"
    dilation: tuple[int, int] = (1, 1)
    flip: bool = False
    mapping: str = "auto"
    bias: float = 0.0
    relu: bool = False
    pixel: tuple[int, int] = (0, 0)
    shift: tuple[int, int] = (3, 5)

    def kernel_array(self) -> np.ndarray:
        return np.array(self.kernel, dtype=np.float64)


# query key ↔ field name; short keys keep a shared link readable.
_KEYS = {
    "image": "img",
    "synthetic_size": "size",
    "color": "color",
    "kernel": "k",
    "preset": "preset",
    "strides": "s",
    "padding": "pad",
    "explicit_padding": "p",
    "mode": "mode",
    "dilation": "d",
    "flip": "flip",
    "mapping": "map",
    "bias": "bias",
    "relu": "relu",
    "pixel": "px",
    "shift": "shift",
}


def _format_number(value: float, digits: int = 10) -> str:
    text = format(float(value), f".{digits}g")
    return "0" if text == "-0" else text


def encode_kernel(kernel) -> str:
    """Rows separated by ';', cells by ','.

    >>> encode_kernel([[1, 0.5], [-2, 0]])
    '1,0.5;-2,0'
    """
    return ";".join(",".join(_format_number(v) for v in row) for row in np.asarray(kernel))


def decode_kernel(text: str) -> np.ndarray:
    """Inverse of ``encode_kernel``; every cell goes through ``parse_kernel_cell``.

    >>> decode_kernel("1,2;3,4").tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    rows = [row.split(",") for row in str(text).strip().strip(";").split(";")]
    if len({len(row) for row in rows}) != 1:
        raise ValueError("its rows have different lengths")
    values = []
    for r, row in enumerate(rows):
        cells = []
        for c, cell in enumerate(row):
            try:
                cells.append(parse_kernel_cell(cell))
            except ValueError as error:
                raise ValueError(f"cell (row {r + 1}, column {c + 1}) {error}") from None
        values.append(cells)
    return check_kernel(values)


def encode_patch(patch) -> str:
    """An input patch as link text: rows by ';', cells by ',', 9 significant digits.

    Nine digits bring a float32 value (a layer's input) back exactly; "" is no patch.

    >>> encode_patch([[0.5, -1e-05], [3, 0]])
    '0.5,-1e-05;3,0'
    >>> encode_patch(())
    ''
    """
    rows = np.asarray(patch, dtype=np.float64)
    if rows.size == 0:
        return ""
    return ";".join(",".join(_format_number(v, digits=9) for v in row) for row in rows)


def decode_patch(text: str) -> tuple[tuple[float, ...], ...]:
    """Inverse of ``encode_patch``: 1×1 to 15×15 finite numbers, as a tuple of rows.

    >>> decode_patch("0.5,-1e-05;3,0")
    ((0.5, -1e-05), (3.0, 0.0))
    >>> decode_patch("1,2;3")
    Traceback (most recent call last):
    ValueError: has rows of different lengths
    """
    rows = [row.split(",") for row in str(text).strip().strip(";").split(";")]
    if len({len(row) for row in rows}) != 1:
        raise ValueError("has rows of different lengths")
    if len(rows) > MAX_PATCH_SIDE or len(rows[0]) > MAX_PATCH_SIDE:
        raise ValueError(f"must be at most {MAX_PATCH_SIDE}×{MAX_PATCH_SIDE} numbers")
    values = np.array([[float(cell) for cell in row] for row in rows], dtype=np.float64)
    if not np.isfinite(values).all() or np.abs(values).max() > MAX_ABS_KERNEL_VALUE:
        raise ValueError(f"must hold finite numbers with |value| <= {MAX_ABS_KERNEL_VALUE:g}")
    return tuple(tuple(float(v) for v in row) for row in values)


def encode_state(state: PlaygroundState) -> dict[str, str]:
    """The state as ``{query key: text}``, only the fields that differ from the defaults.

    >>> encode_state(PlaygroundState(strides=(1, 2)))
    {'s': '1,2'}
    """
    default = PlaygroundState()
    encoded = {}
    for item in fields(PlaygroundState):
        value = getattr(state, item.name)
        if value == getattr(default, item.name):
            continue
        key = _KEYS[item.name]
        if item.name == "kernel":
            encoded[key] = encode_kernel(value)
        elif isinstance(value, bool):
            encoded[key] = "1" if value else "0"
        elif isinstance(value, tuple):
            encoded[key] = ",".join(str(int(v)) for v in value)
        elif isinstance(value, float):
            encoded[key] = _format_number(value)
        else:
            encoded[key] = str(value)
    return encoded


def _int_in(text: str, low: int, high: int) -> int:
    value = int(text.strip())
    if not low <= value <= high:
        raise ValueError(f"must be between {low} and {high}")
    return value


def _pair(low: int, high: int):
    def parse(text: str) -> tuple[int, int]:
        parts = text.split(",")
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2:
            raise ValueError("must be one or two whole numbers separated by a comma")
        return (_int_in(parts[0], low, high), _int_in(parts[1], low, high))

    return parse


def _choice(choices: tuple[str, ...]):
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return parse


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be 1 or 0")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_ABS_KERNEL_VALUE:
        raise ValueError(f"must be a finite number with |value| <= {MAX_ABS_KERNEL_VALUE:g}")
    return value


def _synthetic_size(text: str) -> int:
    value = int(text)
    if value not in SYNTHETIC_SIZES:
        raise ValueError(f"must be one of {', '.join(map(str, SYNTHETIC_SIZES))}")
    return value


def _kernel(text: str) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in decode_kernel(text))


@dataclass(frozen=True)
class DecodedState:
    """A state read from a link, and one message per field that had to fall back."""

    state: PlaygroundState
    messages: tuple[str, ...]


def decode_state(
    params: Mapping[str, str | list[str]],
    *,
    image_names: tuple[str, ...] | None = None,
    preset_names: tuple[str, ...] | None = None,
) -> DecodedState:
    """Read a state from query parameters; bad fields fall back to defaults with a message.

    Unknown keys are ignored (other tools add their own). ``image_names`` and
    ``preset_names``, when given, list the accepted ``image`` and ``preset``
    values.

    >>> decoded = decode_state({"s": "2", "pad": "sideways"})
    >>> decoded.state.strides, decoded.state.padding
    ((2, 2), 'same')
    >>> decoded.messages
    ("The link's padding 'sideways' must be one of valid, same, full, explicit; using 'same'.",)
    """
    parsers = {
        "image": (lambda t: _choice(image_names)(t) if image_names else t.strip()),
        "synthetic_size": _synthetic_size,
        "color": _choice(COLOR_CHOICES),
        "kernel": _kernel,
        "preset": (lambda t: _choice(preset_names)(t) if preset_names else t.strip()),
        "strides": _pair(1, MAX_STRIDE),
        "padding": _choice(PADDING_CHOICES),
        "explicit_padding": _pair(0, MAX_EXPLICIT_PADDING),
        "mode": _choice(MODE_CHOICES),
        "dilation": _pair(1, MAX_DILATION),
        "flip": _boolean,
        "mapping": _choice(MAPPING_CHOICES),
        "bias": _finite,
        "relu": _boolean,
        "pixel": _pair(0, 100_000),
        "shift": _pair(-MAX_SHIFT, MAX_SHIFT),
    }
    default = PlaygroundState()
    values = {}
    messages = []
    for name, parse in parsers.items():
        key = _KEYS[name]
        if key not in params:
            continue
        raw = params[key]
        if isinstance(raw, list | tuple):
            raw = raw[-1] if raw else ""
        raw = str(raw)
        try:
            values[name] = parse(raw)
        except (ValueError, TypeError) as error:
            reason = str(error) or "could not be read"
            if len(reason) > 120:
                reason = reason[:117] + "..."
            if reason.startswith(("invalid literal", "could not convert")):
                reason = "is not a number"
            shown = raw if len(raw) <= 40 else raw[:37] + "..."
            fallback = getattr(default, name)
            fallback_text = (
                encode_kernel(fallback)
                if name == "kernel"
                else ",".join(map(str, fallback))
                if isinstance(fallback, tuple)
                else str(fallback)
            )
            messages.append(
                f"The link's {name.replace('_', ' ')} '{shown}' {reason}; using '{fallback_text}'."
            )
    state = replace(default, **values)
    if "kernel" in values and "preset" not in values:
        state = replace(state, preset="custom")
    return DecodedState(state=state, messages=tuple(messages))


# Each field stored in one widget's session-state entry, by element for pairs.
WIDGET_KEYS: dict[str, tuple[str, ...]] = {
    "color": ("kernel.color",),
    "strides": ("kernel.stride_rows", "kernel.stride_cols"),
    "padding": ("kernel.padding",),
    "explicit_padding": ("kernel.pad_rows", "kernel.pad_cols"),
    "mode": ("kernel.mode",),
    "dilation": ("kernel.dilation_rows", "kernel.dilation_cols"),
    "flip": ("kernel.flip",),
    "mapping": ("kernel.mapping",),
    "bias": ("kernel.bias",),
    "relu": ("kernel.relu",),
    "pixel": ("kernel.row", "kernel.col"),
    "shift": ("kernel.shift_rows", "kernel.shift_cols"),
}


def widget_values(state: PlaygroundState) -> dict[str, object]:
    """The session-state entry of every Kernel Playground widget for ``state``.

    >>> widget_values(PlaygroundState(strides=(1, 2)))["kernel.stride_cols"]
    2
    """
    values: dict[str, object] = {}
    for name, keys in WIDGET_KEYS.items():
        value = getattr(state, name)
        parts = value if len(keys) == 2 else (value,)
        values.update(zip(keys, parts, strict=True))
    return values


def state_from_widgets(
    session: Mapping[str, object], *, image: str, kernel, preset: str, synthetic_size: int = 32
) -> PlaygroundState:
    """Collect a ``PlaygroundState`` from widget values; missing entries take the defaults.

    >>> state = state_from_widgets({"kernel.stride_rows": 2}, image="synthetic:impulse",
    ...                            kernel=[[1.0]], preset="custom")
    >>> state.strides, state.kernel
    ((2, 1), ((1.0,),))
    """
    default = PlaygroundState()
    defaults = widget_values(default)
    fields_ = {}
    for name, keys in WIDGET_KEYS.items():
        parts = tuple(session.get(key, defaults[key]) for key in keys)
        fields_[name] = parts if len(keys) == 2 else parts[0]
    fields_["bias"] = float(fields_["bias"])
    return replace(
        default,
        image=image,
        synthetic_size=synthetic_size,
        kernel=tuple(tuple(float(v) for v in row) for row in np.asarray(kernel)),
        preset=preset,
        **fields_,
    )


LECTURE_EXAMPLES: dict[str, tuple[str, PlaygroundState]] = {
    "example1": (
        "1 · 5×5 binary, stride 1",
        PlaygroundState(
            image="synthetic:example1",
            kernel=((1.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 1.0)),
            preset="custom",
            padding="valid",
            pixel=(0, 0),
        ),
    ),
    "example2": (
        "2 · 5×5, no flip",
        PlaygroundState(
            image="synthetic:example2",
            kernel=((0.0, 1.0, 2.0), (2.0, 2.0, 0.0), (0.0, 1.0, 2.0)),
            preset="custom",
            padding="valid",
            pixel=(0, 0),
        ),
    ),
    "example3": (
        "3 · 7×7, true convolution",
        PlaygroundState(
            image="synthetic:example3",
            kernel=((-1.0, 1.0, -1.0), (-2.0, 3.0, 1.0), (2.0, -4.0, 0.0)),
            preset="custom",
            padding="same",
            flip=True,
            pixel=(0, 0),
        ),
    ),
    "example4": (
        "4 · bottom Sobel",
        PlaygroundState(image="synthetic:example4", padding="valid", pixel=(0, 0)),
    ),
    "example4_stride": (
        "4 · strides (1, 2)",
        PlaygroundState(image="synthetic:example4", padding="valid", strides=(1, 2), pixel=(0, 0)),
    ),
    "example4_padding": (
        "4 · zero padding 1",
        PlaygroundState(
            image="synthetic:example4", padding="explicit", explicit_padding=(1, 1), pixel=(0, 0)
        ),
    ),
    "example5": (
        "5 · 10×10, stride 2",
        PlaygroundState(
            image="synthetic:example5",
            kernel=((1.0, 1.0, 1.0),) * 3,
            preset="custom",
            padding="valid",
            strides=(2, 2),
            pixel=(0, 0),
        ),
    ),
}


"""The seed texts' worked examples: (button label, setup). See SEEDS.md for the numbers."""
