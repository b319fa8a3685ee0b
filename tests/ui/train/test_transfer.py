"""ui.train.transfer: the transfer-learning choice, with and without the ImageNet weights cached."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

BASE_PARAMS = 2_257_984  # keras.applications.MobileNetV2(include_top=False)


def weights_file(size: int) -> str:
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5"


@pytest.fixture()
def keras_home(tmp_path, monkeypatch) -> Path:
    """An empty Keras cache: no weights until a test puts them there."""
    home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def cache_weights(keras_home: Path, size: int) -> Path:
    path = keras_home / "models" / weights_file(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def transfer_script(input_shape, num_classes):
    import streamlit as st

    from ui.train.transfer import transfer_choice

    st.session_state["result"] = transfer_choice(input_shape, num_classes)


def open_choice(input_shape=(96, 96, 3), num_classes=2) -> AppTest:
    at = AppTest.from_function(transfer_script, args=(input_shape, num_classes))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_without_cached_weights_it_names_the_missing_file_and_starts_from_random(keras_home):
    at = open_choice()
    [warning] = [w.value for w in at.warning]
    assert f"`{weights_file(96)}` is missing from `{keras_home / 'models'}`" in warning
    assert "storage.googleapis.com" in warning  # where to get it
    assert at.radio(key="train.transfer_weights").value == "random"
    assert at.session_state["result"] == {"transfer": "MobileNetV2", "weights": None}


def test_asking_for_missing_imagenet_weights_returns_nothing_and_says_what_to_do(keras_home):
    at = open_choice()
    at.radio(key="train.transfer_weights").set_value("imagenet").run()
    assert not at.exception
    assert [i.value for i in at.info] == [
        "Put the weights file in place (see above) or choose random weights to start."
    ]
    assert at.session_state["result"] is None


def test_with_cached_weights_it_starts_from_imagenet(keras_home):
    path = cache_weights(keras_home, 96)
    at = open_choice()
    assert not at.warning
    assert at.success[0].value == f"The ImageNet weights are in the Keras cache: `{path}`."
    assert at.radio(key="train.transfer_weights").value == "imagenet"
    assert at.session_state["result"] == {"transfer": "MobileNetV2", "weights": "imagenet"}


def test_sizes_without_their_own_weights_use_the_224_file(keras_home):
    cache_weights(keras_home, 96)  # the wrong file for 64×64
    at = open_choice((64, 64, 3), 2)
    assert weights_file(224) in at.warning[0].value
    cache_weights(keras_home, 224)
    assert open_choice((64, 64, 3), 2).success


def test_the_table_counts_a_frozen_base_and_a_trained_head(keras_home):
    at = open_choice((96, 96, 3), 5)
    table = at.dataframe[0].value
    base = table[table["Type"] == "MobileNetV2 (frozen)"].iloc[0]
    assert base["Output shape"] == "3 × 3 × 1280"  # 96 / 32
    assert base["Parameters"] == BASE_PARAMS and base["Trainable"] == 0
    assert table["Trainable"].sum() == 1281 * 5
    assert metrics(at) == {
        "Parameters": f"{BASE_PARAMS + 1281 * 5:,}",
        "Trained parameters": f"{1281 * 5:,}",
        "Input": "96 × 96 × 3",
    }
    assert "5 outputs" in at.caption[0].value


@pytest.mark.parametrize(
    ("input_shape", "shape_text"),
    [((28, 28, 1), "28×28×1"), ((28, 28, 3), "28×28×3"), ((64, 64, 1), "64×64×1")],
)
def test_grey_or_small_images_are_refused_before_anything_else(keras_home, input_shape, shape_text):
    at = open_choice(input_shape, 10)
    [error] = [e.value for e in at.error]
    assert f"this data gives {shape_text}" in error
    assert "RGB" in error and "32" in error
    assert at.session_state["result"] is None
    assert not at.radio and not at.dataframe and not at.metric
