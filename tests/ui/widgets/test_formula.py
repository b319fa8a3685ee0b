"""The formulas drawn as HTML say what the LaTeX said: every output-size rule the app can
show converts completely, and its numbers, read back, still compute the output size."""

from __future__ import annotations

import itertools
import math
import re

import pytest

from core.ops.arithmetic import (
    conv_relationship,
    keras_transpose_rule,
    pool_relationship,
    transposed_relationship,
)
from core.ops.output_size import describe_output_size
from ui.widgets.formula import formula_html


def conv_and_pool_rules():
    for size, kernel, strides, (before, after), dilation in itertools.product(
        (5, 6, 10), (2, 3), (1, 2, 3), ((0, 0), (1, 1), (2, 2), (0, 1)), (1, 2)
    ):
        try:
            info = describe_output_size(
                size, kernel, strides=strides, padding=(before, after), dilation_rate=dilation
            )
        except ValueError:
            continue  # nothing fits
        yield conv_relationship(info)
        if dilation == 1 and before == after == 0:
            yield pool_relationship(info)
            same = describe_output_size(size, kernel, strides=strides, padding="same")
            yield pool_relationship(same, padding_name="same")


def transposed_rules():
    for size, kernel, strides, (before, after), extra in itertools.product(
        (2, 4), (2, 3), (1, 2), ((0, 0), (1, 1), (0, 1)), (0, 1)
    ):
        out = strides * (size - 1) + kernel - before - after + extra
        if out > 0:
            yield transposed_relationship(size, kernel, strides, before, after, out)


RULES = [*conv_and_pool_rules(), *transposed_rules()]
KERAS_RULES = [
    keras_transpose_rule(size, kernel, strides, padding, output_padding)
    for size, kernel, strides, padding, output_padding in itertools.product(
        (2, 4), (3,), (2,), ("valid", "same"), (None, 1)
    )
]


def label(block: str) -> str:
    (text,) = re.findall(r'aria-label="([^"]*)"', block)
    return text.replace("&amp;", "&")


def evaluate(side: str) -> float:
    """One side of an equation as the page writes it, computed with Python."""
    python = side.strip().replace("−", "-").replace("·", "*")
    python = re.sub(r"⌊(.*?)⌋", r"math.floor(\1)", python)
    python = re.sub(r"⌈(.*?)⌉", r"math.ceil(\1)", python)
    python = re.sub(r"(\d|\))\s*\(", r"\1*(", python)  # 2(5 - 1): a product
    return eval(python, {"math": math, "max": max})  # noqa: S307 (our own formulas)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.number}-{r.substituted}")
def test_every_rule_converts_completely_and_its_numbers_still_compute_the_size(rule):
    block = formula_html(rule.formula, rule.substituted)
    assert "\\" not in block and "{" not in block and "}" not in block
    formula, substituted = label(block).split("; ")
    assert formula.startswith(("o = ", "o′ = "))
    sides = substituted.split(" = ")
    assert int(sides[-1]) == rule.result
    for side in sides[:-1]:
        assert evaluate(side) == pytest.approx(rule.result)


@pytest.mark.parametrize("rule", KERAS_RULES, ids=lambda r: r[1])
def test_keras_transposed_rules_convert_and_compute_too(rule):
    formula, substituted, size = rule
    block = formula_html(formula + r" \quad\Rightarrow\quad " + substituted)
    assert "\\" not in block and "{" not in block
    shown = label(block)
    assert "⇒" in shown
    assert evaluate(shown.split("⇒")[1].split(" = ")[0]) == size


def test_a_fraction_is_drawn_over_a_rule_with_italic_variables():
    block = formula_html(r"o = \left\lfloor \frac{i - k}{s} \right\rfloor + 1")
    bare = re.sub(r' style="[^"]*"', "", block)
    fraction = "<span><span><i>i</i> − <i>k</i></span><span><i>s</i></span></span>"
    assert f"<span>⌊</span>{fraction}<span>⌋</span>" in bare
    assert "border-bottom" in block  # the fraction's rule
    assert label(block) == "o = ⌊(i − k) / s⌋ + 1"


def test_words_stay_upright_and_a_line_break_separates_lines():
    block = formula_html(
        r"o' = (i' - 1) s + k - 2p + \text{output\_padding}", r"o' = i' s + \max(k - s, 0)"
    )
    assert "output_padding" in block and "<i>max" not in block and "<i>a</i>" not in block
    assert block.count("<div>") == 2
    assert label(block) == "o′ = (i′ − 1) s + k − 2p + output_padding; o′ = i′ s + max(k − s, 0)"
