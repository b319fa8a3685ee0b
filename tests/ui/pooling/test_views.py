"""ui.pooling.views: the photo lessons (repeated pooling, translation, global pooling)."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging.pooling_lessons import feature_map
from core.ops.kernels import PRESETS
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.pooling.views import PHOTO_SIDE, photo, picture, pooled_input, side_by_side


def test_photos_are_shrunk_to_the_lesson_size_as_floats():
    pixels = photo("chelsea.png")
    assert max(pixels.shape[:2]) == PHOTO_SIDE and pixels.ndim == 3
    assert pixels.dtype == np.float64


def test_the_pooled_map_is_the_photo_or_its_relu_feature_map():
    pixels = photo("camera.png")
    assert pooled_input(pixels, None) is pixels
    kernel = PRESETS["laplacian"].values
    mapped = pooled_input(pixels, kernel)
    np.testing.assert_array_equal(mapped, feature_map(pixels, kernel))
    assert mapped.min() >= 0


def test_pictures_stretch_feature_maps_and_keep_colour_photos():
    feature = np.array([[0.0, 2.0], [4.0, 8.0]])
    assert picture(feature)[:, :, 0].tolist() == [[0, 64], [128, 255]]
    colour = np.full((2, 2, 3), 100.0)
    assert (picture(colour) == 100).all()


def test_side_by_side_keeps_relative_sizes_bottom_aligned_on_white():
    big = np.zeros((2, 2, 3), np.uint8)
    small = np.full((1, 1, 3), 9, np.uint8)
    canvas = side_by_side([big, small], scale=3, gap=1)
    assert canvas.shape == (6, 6 + 1 + 3, 3)
    assert (canvas[:, :6] == 0).all() and (canvas[:, 6] == 255).all()
    assert (canvas[3:, 7:] == 9).all() and (canvas[:3, 7:] == 255).all()


def lesson_script(lesson, matrix):
    from ui.pooling import views

    if lesson == "repeated":
        views.repeated_pooling_lesson()
    elif lesson == "translation":
        views.translation_lesson()
    else:
        views.global_pooling_lesson(matrix)


def open_lesson(lesson: str, matrix=None) -> AppTest:
    at = AppTest.from_function(lesson_script, args=(lesson, matrix)).run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_repeated_pooling_prints_every_size():
    at = open_lesson("repeated")
    assert at.caption[0].value.startswith(
        "input: **192×192** → pooled 1×: **96×96** → pooled 2×: **48×48** → pooled 3×: **24×24**"
    )
    at.slider(key="pool.img.size").set_value(4)
    at.slider(key="pool.img.times").set_value(2).run()
    assert at.caption[0].value.startswith("input: **192×192** → pooled 1×: **48×48** → pooled 2×")
    assert len(at.image) == 1  # one picture, so the sizes stay in proportion


def test_pooling_the_photo_itself():
    at = open_lesson("repeated")
    at.radio(key="pool.img.kind").set_value("Photo").run()
    assert "Pooling the photo camera.png" in at.markdown[0].value
    assert at.selectbox(key="pool.img.kernel").disabled


def test_three_4x4_poolings_keep_one_value_in_4096():
    at = open_lesson("repeated")
    at.slider(key="pool.img.size").set_value(4)
    at.slider(key="pool.img.times").set_value(3).run()
    assert "→ pooled 2×: **12×12** → pooled 3×: **3×3**." in at.caption[0].value


def test_translation_shows_pooling_changing_less_than_convolution():
    at = open_lesson("translation")
    metrics = {m.label: float(m.value.rstrip("%")) for m in at.metric}
    assert (
        metrics["Max-pooled map (2×2) changed by"] < metrics["Stride-1 convolution map changed by"]
    )
    at.slider(key="pool.shift.px").set_value(0).run()
    assert {m.value for m in at.metric} == {"0%", "100%"}
    assert [c.value.split(" (")[0] for c in at.caption] == [
        "conv, before",
        "conv, after",
        "pooled, before",
        "pooled, after",
    ]


def test_the_translation_lesson_draws_its_chart_pictures_and_numbers():
    at = open_lesson("translation")
    assert len(at.get("plotly_chart")) == 1 and len(at.get("image")) == 4
    assert len(at.metric) == 3


@pytest.mark.parametrize("matrix", [None, np.array([[1.0, 32.0], [0.0, 4.0]])])
def test_global_pooling_gives_one_number_per_map(matrix):
    at = open_lesson("global", matrix)
    table = at.dataframe[0].value
    assert list(table["channel"][:3]) == ["R", "G", "B"] and len(table) == 7
    assert (table["global max"] == table["pool2d, window = whole map (max)"]).all()
    small = [m.value for m in at.markdown if m.value.startswith("On the small matrix")]
    if matrix is None:
        assert small == []
    else:
        assert small == [
            "On the small matrix of the first tab: global max = **32**, global average = **9.25**."
        ]
