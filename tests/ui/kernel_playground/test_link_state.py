"""ui.kernel_playground.link_state: cell parsing and the URL round trip, with garbled links."""

import math

import numpy as np
import pytest

from core.base.paths import PROJECT_ROOT
from ui.kernel_playground.link_state import (
    PlaygroundState,
    check_kernel,
    decode_kernel,
    decode_state,
    encode_kernel,
    encode_state,
    parse_kernel_cell,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2", 2.0),
        (" -0.5 ", -0.5),
        ("1/9", 1 / 9),
        ("-1 / 16", -1 / 16),
        ("1e-3", 0.001),
        ("−3", -3.0),
        ("–3", -3.0),
        ("１２", 12.0),
        ("１／９", 1 / 9),
        ("½", 0.5),
        ("1e-999", 0.0),
        (4, 4.0),
        (2.5, 2.5),
    ],
)
def test_parse_good_cells(text, value):
    assert parse_kernel_cell(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "not a number"),
        ("", "empty"),
        (None, "empty"),
        ("nan", "NaN"),
        (float("nan"), "empty"),
        ("inf", "infinite"),
        ("-inf", "infinite"),
        ("1e300", "too large"),
        ("1e999", "'1e999' is too large"),
        ("1e300/1e-300", "too large"),
        ("9" * 100, "too long"),
        ("1,5", "with a dot, e.g. 1.5"),
        ("3 4", "not a number"),
        ("1/0", "divides by zero"),
        (True, "not a number"),
    ],
)
def test_parse_bad_cells(text, message):
    with pytest.raises(ValueError, match=message):
        parse_kernel_cell(text)


def test_check_kernel_limits():
    with pytest.raises(ValueError, match="15×15"):
        check_kernel(np.zeros((16, 3)))
    with pytest.raises(ValueError, match="finite"):
        check_kernel([[1.0, math.inf]])


def test_kernel_text_round_trip_keeps_precision():
    kernel = np.array([[1 / 9, -2.0], [0.0, 1e-7]])
    np.testing.assert_allclose(decode_kernel(encode_kernel(kernel)), kernel, rtol=1e-9)


def test_decode_kernel_names_the_bad_cell():
    with pytest.raises(ValueError, match="row 2, column 1"):
        decode_kernel("1,2;x,4")
    with pytest.raises(ValueError, match="different lengths"):
        decode_kernel("1,2;3")


def test_default_state_encodes_to_nothing():
    assert encode_state(PlaygroundState()) == {}
    assert decode_state({}).state == PlaygroundState()


def test_full_round_trip():
    state = PlaygroundState(
        image="synthetic:checkerboard",
        synthetic_size=64,
        color="summed",
        kernel=((0.0, 1.0), (2.5, -1 / 3)),
        preset="custom",
        strides=(1, 2),
        padding="explicit",
        explicit_padding=(2, 0),
        mode="reflect",
        dilation=(2, 1),
        flip=True,
        mapping="minmax",
        bias=-12.5,
        relu=True,
        pixel=(3, 4),
        shift=(-2, 7),
    )
    params = encode_state(state)
    assert all(isinstance(v, str) for v in params.values())
    decoded = decode_state(params)
    assert decoded.messages == ()
    assert decoded.state.kernel[1][1] == pytest.approx(-1 / 3)
    assert decoded.state == state or np.allclose(decoded.state.kernel, state.kernel)
    assert decoded.state.strides == (1, 2) and decoded.state.flip and decoded.state.relu


def test_list_values_use_the_last_one():
    assert decode_state({"s": ["3", "2"]}).state.strides == (2, 2)


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"s": "0"}, "strides", "between 1 and 16"),
        ({"s": "a,b"}, "strides", "not a number"),
        ({"pad": "sideways"}, "padding", "must be one of"),
        ({"k": "1,2;3"}, "kernel", "different lengths"),
        ({"k": "1,x;3,4"}, "kernel", "not a number"),
        ({"k": "1,inf"}, "kernel", "infinite"),
        ({"flip": "maybe"}, "flip", "1 or 0"),
        ({"size": "33"}, "synthetic size", "must be one of"),
        ({"bias": "nan"}, "bias", "finite"),
        ({"d": "1,2,3"}, "dilation", "one or two"),
    ],
)
def test_garbled_fields_fall_back_with_a_message(params, field, fragment):
    decoded = decode_state(params)
    assert len(decoded.messages) == 1
    message = decoded.messages[0]
    assert f"The link's {field}" in message and fragment in message and "using" in message
    assert decoded.state == PlaygroundState()


def test_good_fields_survive_next_to_bad_ones():
    decoded = decode_state({"s": "2", "mode": "banana", "flip": "1"})
    assert decoded.state.strides == (2, 2) and decoded.state.flip
    assert decoded.state.mode == "constant" and len(decoded.messages) == 1


def test_allowed_names_are_checked():
    decoded = decode_state({"img": "photo:evil.png"}, image_names=("photo:camera.png",))
    assert decoded.state.image == "photo:camera.png" and "image" in decoded.messages[0]


def test_kernel_without_preset_becomes_custom():
    assert decode_state({"k": "1,1;1,1"}).state.preset == "custom"


def test_huge_garbage_is_shortened_in_the_message():
    decoded = decode_state({"k": "x" * 5000})
    assert len(decoded.messages[0]) < 300


def test_widget_values_round_trip():
    from ui.kernel_playground.link_state import state_from_widgets, widget_values

    state = PlaygroundState(
        image="synthetic:disk",
        kernel=((1.0, 2.0),),
        preset="custom",
        strides=(2, 3),
        padding="explicit",
        explicit_padding=(0, 4),
        flip=True,
        bias=1.5,
        pixel=(5, 6),
    )
    session = widget_values(state)
    assert session["kernel.stride_rows"] == 2 and session["kernel.pad_cols"] == 4
    rebuilt = state_from_widgets(
        session, image=state.image, kernel=[[1.0, 2.0]], preset="custom", synthetic_size=32
    )
    assert rebuilt == state


def test_state_from_widgets_fills_missing_entries_with_defaults():
    from ui.kernel_playground.link_state import state_from_widgets

    rebuilt = state_from_widgets({}, image="photo:camera.png", kernel=[[0.0]], preset="custom")
    assert rebuilt.padding == PlaygroundState().padding and rebuilt.strides == (1, 1)


def test_these_modules_never_load_tensorflow_and_core_never_loads_streamlit():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import core.ops.histogram, core.ops.filtering, core.ops.kernel_analysis\n"
        "import core.imaging.synthetic_images\n"
        "import ui.kernel_playground.link_state\n"
        "assert 'streamlit' not in sys.modules, 'core imported streamlit'\n"
        "import ui.widgets.image_input, ui.widgets.image_view, ui.kernel_playground.kernel_editor\n"
        "loaded = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    root = PROJECT_ROOT
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
