"""ui.architectures.about: what is special, and the button that trains a network here."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.nets.gallery import GALLERY, gallery_entry
from ui.architectures.about import train_label


def test_train_labels_name_the_data():
    assert train_label(gallery_entry("resnet20")) == "Train this on CIFAR-10"
    assert train_label(gallery_entry("mnist_cnn_b")) == "Train this on MNIST"
    assert train_label(gallery_entry("dogs_vs_cats_cnn")) == "Train this on your own photos"
    assert [entry.key for entry in GALLERY if train_label(entry) is None] == [
        "alexnet",
        "vgg16",
        "googlenet",
        "resnet18",
    ]


def about_script(key):
    import streamlit as st

    from core.nets.gallery import gallery_entry, network
    from core.nets.summary import summarize
    from ui.architectures.about import show_about, train_button

    entry = gallery_entry(key)
    show_about(entry)
    if train_button(entry, summarize(network(key))):
        st.write("clicked")


def open_about(key) -> AppTest:
    at = AppTest.from_function(about_script, args=(key,)).run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_small_network_gets_a_button_with_a_tooltip():
    at = open_about("lenet5")
    button = at.button(key="arch.train")
    assert button.label == "Train this on MNIST" and "LeNet-5" in button.help
    button.click().run()
    assert at.markdown[-1].value == "clicked"


def test_a_big_network_says_why_it_does_not_train_here():
    at = open_about("vgg16")
    assert not at.button
    assert any("Too big to train here: 138.4 million parameters" in c.value for c in at.caption)
    assert at.caption[0].value == "Simonyan & Zisserman, 2014"
    assert "Only 3×3 convolutions" in at.markdown[0].value


def test_what_is_left_out_is_said():
    at = open_about("resnet20")
    assert any(c.value.startswith("**Here:** The paper pads the shortcut") for c in at.caption)
