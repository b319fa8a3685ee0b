"""core.nets.gallery: every network of the gallery, what it says about itself, the Train
page's list."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from core.base.paths import PROJECT_ROOT
from core.nets.famous import FAMOUS
from core.nets.gallery import GALLERY, GALLERY_KEYS, TRAIN_PRESETS, gallery_entry, network
from core.nets.presets import PRESETS
from core.nets.summary import summarize


def test_the_gallery_has_the_famous_networks_and_every_seed_network():
    assert set(GALLERY_KEYS) == set(FAMOUS) | set(PRESETS)
    assert len(GALLERY_KEYS) == len(set(GALLERY_KEYS))


@pytest.mark.parametrize("key", GALLERY_KEYS)
def test_every_entry_builds_and_says_something(key):
    entry = gallery_entry(key)
    summary = summarize(network(key))
    assert entry.title and entry.origin and entry.special
    if entry.part is not None:
        assert 0 < summary.params_up_to(entry.part[1]) < summary.total_params


@pytest.mark.parametrize("key", GALLERY_KEYS)
def test_parameter_counts_in_the_text_are_the_summarys(key):
    entry, summary = gallery_entry(key), summarize(network(key))
    text = " ".join(entry.special) + entry.left_out
    counts = {int(found.replace(",", "")) for found in re.findall(r"\d{1,3}(?:,\d{3})+", text)}
    allowed = {summary.total_params, summary.trainable_params, summary.non_trainable_params}
    if entry.part is not None:
        allowed.add(summary.params_up_to(entry.part[1]))
    # Other numbers: MNIST CNN A's count in the MLP's text, the 1,024 units of CNN C, the
    # 2,752 parameters of ResNet-20's projections (checked in test_famous).
    assert counts <= allowed | {220_234, 1_024, 2_752}, counts - allowed


def test_only_small_networks_train_here_on_a_known_source():
    trainable = {entry.key for entry in GALLERY if entry.train_on}
    assert {"alexnet", "vgg16", "googlenet", "resnet18"}.isdisjoint(trainable)
    assert {"lenet5", "tinyvgg", "resnet20", "mnist_cnn_a"} <= trainable
    assert {entry.train_on for entry in GALLERY} <= {None, "mnist", "cifar10", "zip"}
    for entry in GALLERY:
        if entry.train_on:
            assert summarize(network(entry.key)).total_params < 10_000_000, entry.key


def test_the_train_page_offers_the_presets_and_resnet20():
    assert list(TRAIN_PRESETS)[: len(PRESETS)] == list(PRESETS)
    assert list(TRAIN_PRESETS)[len(PRESETS) :] == ["resnet20"]
    assert TRAIN_PRESETS["resnet20"] == FAMOUS["resnet20"]


def test_network_adapts_any_entry_and_checks_its_key():
    assert network("resnet20", input_shape=(28, 28, 1), num_classes=3).num_classes == 3
    assert network("lenet5", num_classes=4).num_classes == 4
    with pytest.raises(ValueError, match=r"Received: key='resnet50'\.$"):
        network("resnet50")
    with pytest.raises(ValueError, match=r"Received: key='nope'\.$"):
        gallery_entry("nope")


def test_the_gallery_never_imports_tensorflow(tmp_path):
    code = """
import sys
from core.nets import gallery, keras_code, summary
for key in gallery.GALLERY_KEYS:
    spec = gallery.network(key)
    summary.summarize(spec)
    keras_code.to_keras_code(spec)
print(sorted(k for k in sys.modules if k.split(".")[0] in ("tensorflow", "keras")))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
