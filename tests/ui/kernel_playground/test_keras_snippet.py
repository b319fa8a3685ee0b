"""ui.kernel_playground.keras_snippet: the share tab's Keras code follows every setting."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from core.nets.kernel_code import kernel_keras_code
from ui.kernel_playground.keras_snippet import PLACEHOLDER_PATH, page_keras_code
from ui.widgets.image_input import ImageChoice

KERNEL = np.array([[1.0, 0.0, -1.0], [2.0, 0.5, -2.0]])


def photo(channels: int = 3) -> ImageChoice:
    shape = (20, 30, 3) if channels == 3 else (20, 30)
    return ImageChoice(np.zeros(shape, np.float32), "photo:camera.png", "camera.png", (), True)


def test_every_widget_reaches_the_code():
    session = {
        "kernel.stride_rows": 2,
        "kernel.stride_cols": 3,
        "kernel.padding": "explicit",
        "kernel.pad_rows": 1,
        "kernel.pad_cols": 4,
        "kernel.mode": "reflect",
        "kernel.dilation_rows": 2,
        "kernel.dilation_cols": 1,
        "kernel.flip": True,
        "kernel.bias": -1.5,
        "kernel.relu": True,
        "kernel.color": "summed",
        "kernel.weight_r": 0.5,
        "kernel.weight_g": 0.0,
        "kernel.weight_b": -2.0,
    }
    expected = kernel_keras_code(
        KERNEL,
        (20, 30),
        strides=(2, 3),
        padding=((1, 1), (4, 4)),
        mode="reflect",
        dilation_rate=(2, 1),
        flip_kernel=True,
        bias=-1.5,
        activation="relu",
        color="summed",
        channel_weights=(0.5, 0.0, -2.0),
        input_channels=3,
        image_path="camera.png",
    )
    assert page_keras_code(KERNEL, photo(), session) == expected


def test_the_defaults_are_the_pages_defaults():
    code = page_keras_code(KERNEL, photo(), {})
    assert 'padding="same"' in code and "0.299, 0.587, 0.114" in code  # grey, "same"
    assert "strides" not in code and "activation" not in code and "[::-1" not in code


def test_a_grey_picture_is_grey_whatever_the_hidden_colour_radio_says():
    code = page_keras_code(KERNEL, photo(channels=1), {"kernel.color": "per_channel"})
    assert 'color_mode="grayscale"' in code and "DepthwiseConv2D" not in code


def test_a_picture_without_a_file_says_where_to_save_it():
    pattern = ImageChoice(np.zeros((8, 8), np.float32), "synthetic:impulse", "impulse", (), True)
    code = page_keras_code(KERNEL, pattern, {})
    assert code.startswith(f"# Save the page's input picture as {PLACEHOLDER_PATH}")
    assert f'load_img("{PLACEHOLDER_PATH}"' in code


def share_tab(session: dict):
    import numpy as np
    import streamlit as st

    from ui.kernel_playground.share import share_and_download
    from ui.widgets.image_input import ImageChoice

    for key, value in session.items():
        st.session_state[key] = value
    choice = ImageChoice(
        np.zeros((9, 9, 3), np.float32), "photo:camera.png", "camera.png", (), True
    )
    share_and_download({}, choice, np.zeros((9, 9)), "auto", np.array([[0.5, 1.0]]))


def keras_code_shown(session: dict) -> str:
    at = AppTest.from_function(share_tab, args=(session,), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return next(
        block.value for block in at.code if "import keras" in block.value or "Keras" in block.value
    )


def test_the_share_tab_shows_the_pages_keras_code():
    code = keras_code_shown({"kernel.color": "per_channel", "kernel.dilation_rows": 3})
    assert "layers.DepthwiseConv2D(kernel_size=(1, 2)" in code
    assert "dilation_rate=(3, 1)" in code
    assert 'load_img("camera.png")' in code


def test_settings_that_cannot_be_written_give_a_note_not_a_traceback():
    code = keras_code_shown({"kernel.mode": "mirror"})
    assert code.startswith("# These settings cannot be written as Keras code")
