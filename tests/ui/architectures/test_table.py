"""ui.architectures.table: numbers for people, the headline figures and the layer table."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from core.nets.gallery import gallery_entry, network
from core.nets.summary import summarize
from ui.architectures.table import headline_caption, headline_numbers, human_count, layer_frame


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1_000, "1.0 k"),
        (225_792, "225.8 k"),
        (1_234_567, "1.2 M"),
        (15_470_264_320, "15.5 G"),
        (-2_000, "-2.0 k"),
    ],
)
def test_human_count(value, text):
    assert human_count(value) == text


def test_the_layer_table_puts_the_numbers_first():
    frame = layer_frame(summarize(network("resnet18")))
    assert list(frame.columns) == [
        "#",
        "Layer",
        "Output shape",
        "Parameters",
        "Multiply-adds",
        "Receptive field",
        "Type",
        "Settings",
        "Inputs",
    ]
    first = frame.iloc[0]
    assert (first["Layer"], first["Parameters"], first["Multiply-adds"]) == (
        "conv1_conv",
        9_408,
        "118.0 M",
    )
    assert frame.iloc[-1]["Receptive field"] == "whole input"


def test_a_chain_has_no_inputs_column():
    assert "Inputs" not in layer_frame(summarize(network("vgg16"))).columns


def test_vgg16_headline_states_the_conv_base():
    numbers = headline_numbers(summarize(network("vgg16")), gallery_entry("vgg16"))
    assert [(label, value) for label, value, _ in numbers] == [
        ("Parameters", "138,357,544"),
        ("Convolutional base", "14,714,688"),
        ("Multiply-adds per image", "15.5 G"),
    ]
    assert all(help_text for _, _, help_text in numbers)


def test_resnet18_headline_gives_the_trainable_count_too():
    numbers = headline_numbers(summarize(network("resnet18")), gallery_entry("resnet18"))
    assert numbers[1][:2] == ("Trainable", "11,689,512")
    assert "9,600 moving means and variances" in numbers[1][2]


def test_a_network_without_batch_norm_has_two_figures():
    numbers = headline_numbers(summarize(network("lenet5")), gallery_entry("lenet5"))
    assert [label for label, _, _ in numbers] == ["Parameters", "Multiply-adds per image"]


def test_the_caption_gives_layers_input_and_classes():
    assert headline_caption(summarize(network("alexnet"))) == (
        "14 Keras layers · input 227×227×3 · 1,000 classes out"
    )


def table_script(key):
    from core.nets.gallery import gallery_entry, network
    from core.nets.summary import summarize
    from ui.architectures.table import show_headline, show_layer_table

    summary = summarize(network(key))
    show_headline(summary, gallery_entry(key))
    show_layer_table(summary)


def test_the_widgets_show_metrics_and_a_table():
    at = AppTest.from_function(table_script, args=("googlenet",)).run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    headline, table = at.html[0].value, at.html[1].value  # no metrics: one block
    labels = re.findall(r'class="lab"[^>]*>([^<]*)</div><div class="val">([^<]*)<', headline)
    assert labels == [("Parameters", "6,998,552"), ("Multiply-adds per image", "1.6 G")]
    assert not at.metric
    assert '<div class="cs-headline-facts">82 Keras layers' in headline
    assert table.count("<tr>") == 1 + 82  # a plain table: no data grid for the browser to load
    assert not at.dataframe
