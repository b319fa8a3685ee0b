"""ui.kernel_playground.kernel_properties: the frequency-response and separability tabs."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.ops.kernels import kernel
from ui.kernel_playground.kernel_properties import KIND_EXPLANATIONS, singular_values_text


def test_negligible_singular_values_print_as_zero():
    assert singular_values_text(np.array([3.0, 2e-12, 0.0])) == "3, 0, 0"
    assert singular_values_text(np.array([2.0, 0.5])) == "2, 0.5"
    assert singular_values_text(np.array([0.0, 0.0])) == "0, 0"


def properties_script(values):
    from ui.kernel_playground.kernel_properties import show_frequency_response, show_separability

    show_frequency_response(values)
    show_separability(values)


def open_properties(values) -> AppTest:
    at = AppTest.from_function(properties_script, args=(np.asarray(values, float),))
    at.run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize(
    ("name", "kind"),
    [("box_blur", "low-pass"), ("sobel_bottom", "band-pass"), ("identity", "all-pass")],
)
def test_the_frequency_tab_names_the_kind_of_filter(name, kind):
    at = open_properties(kernel(name))
    text = at.markdown[0].value
    assert text.startswith(f"**{kind.capitalize()}:** {KIND_EXPLANATIONS[kind]}")
    assert "|sum of the kernel|" in text
    assert at.get("plotly_chart")


def test_a_separable_kernel_shows_its_column_and_row():
    at = open_properties(kernel("sobel_bottom"))
    (success,) = at.success
    assert (
        "rank 1" in success.value
        and "6 multiply-adds per output pixel instead of 9" in success.value
    )
    tables = [h.proto.body for h in at.get("html")]
    assert any("Column" in t for t in tables) and any("Row" in t for t in tables)


def test_a_rank_2_kernel_is_not_separable():
    at = open_properties(kernel("laplacian"))
    assert any(i.value.startswith("Not separable: rank 2.") for i in at.info)
    assert any(c.value.startswith("Singular values (SVD): ") for c in at.caption)


def test_an_all_zero_kernel_has_nothing_to_separate():
    at = open_properties(np.zeros((3, 3)))
    assert any("all-zero kernel" in i.value for i in at.info)
    assert at.markdown[0].value.startswith("**Zero:**")
