"""core.nets.specs: layer and model specs, normalised and checked like Keras, and as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.base.paths import PROJECT_ROOT
from core.nets.presets import preset
from core.nets.specs import (
    LayerSpec,
    ModelSpec,
    add,
    average_pooling2d,
    concatenate,
    conv2d,
    dense,
    dropout,
    flatten,
    max_pooling2d,
    spec_from_dict,
    spec_to_dict,
)
from tests.core.nets.stacks import BRANCHED_IDS, BRANCHED_SPECS, SPEC_IDS, SPECS

ROOT = PROJECT_ROOT


def test_layer_spec_normalises_arguments_like_keras():
    layer = LayerSpec(type="conv2d", filters=4, kernel_size=3, padding="SAME")
    assert (layer.type, layer.kernel_size, layer.strides, layer.padding, layer.activation) == (
        "Conv2D",
        (3, 3),
        (1, 1),
        "same",
        "linear",
    )


def test_pooling_strides_default_to_the_pool_size():
    assert max_pooling2d(3).strides == (3, 3)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: conv2d(8, 3, strides=0), r"^`strides` must be >= 1\. Received: strides=0\.$"),
        (lambda: conv2d(0), "Received: filters=0"),
        (lambda: conv2d(8, padding="full"), "Received: padding='full'"),
        (lambda: dense(10, "swish"), "Received: activation='swish'"),
        (lambda: dropout(1.0), "Received: rate=1.0"),
        (
            lambda: LayerSpec("Dense", units=4, kernel_size=3),
            "`kernel_size` does not apply to Dense",
        ),
        (lambda: LayerSpec("Conv3D"), "Received: type='Conv3D'"),
        (lambda: dense(4, name="bad name"), "Received: name='bad name'"),
    ],
)
def test_layer_spec_validation_names_the_argument(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_model_spec_names_layers_like_keras():
    spec = ModelSpec(
        "m", (28, 28, 1), (conv2d(4), conv2d(4), max_pooling2d(), flatten(), dense(2, "softmax"))
    )
    assert [layer.name for layer in spec.layers] == [
        "conv2d",
        "conv2d_1",
        "max_pooling2d",
        "flatten",
        "dense",
    ]


def test_model_spec_refuses_duplicate_layer_names():
    with pytest.raises(ValueError, match=r"Received: duplicates=\['x'\]\.$"):
        ModelSpec("m", (8, 8, 1), (flatten(name="x"), dense(2, "softmax", name="x")))


def test_model_spec_validates_the_input_shape():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(28, 28\)"):
        ModelSpec("m", (28, 28), (flatten(), dense(2, "softmax")))


@pytest.mark.parametrize(("label", "spec"), SPECS, ids=SPEC_IDS)
def test_spec_json_round_trip(label, spec):
    assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec


def test_spec_from_dict_refuses_unknown_layer_keys():
    data = spec_to_dict(preset("mlp"))
    data["layers"][0]["kernel_initializer"] = "zeros"
    with pytest.raises(ValueError, match="Layer 1 must be a dict"):
        spec_from_dict(data)


def test_spec_from_dict_refuses_another_format():
    with pytest.raises(ValueError, match="Received: format='keras'"):
        spec_from_dict({"format": "keras", "name": "m", "input_shape": [1, 1, 1], "layers": []})


def test_specs_summaries_and_code_never_import_tensorflow(tmp_path):
    code = """
import sys
from core.nets import keras_code, presets, specs, summary, transfer
for name in presets.PRESETS:
    spec = presets.preset(name, input_shape=(32, 32, 3), num_classes=5)
    summary.summarize(spec)
    keras_code.to_keras_code(spec)
    specs.spec_from_dict(specs.spec_to_dict(spec))
transfer.imagenet_weights_cached()
print(sorted(k for k in sys.modules if k.split(".")[0] in ("tensorflow", "keras")))
"""
    environment = {**os.environ, "KERAS_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: conv2d("8"), r"^`filters` must be an integer\. Received: filters='8'\.$"),
        (lambda: conv2d(8, 1.5), r"^`kernel_size` must be an int or a pair of ints\."),
        (lambda: conv2d(8, padding=1), r"^`padding` must be one of 'valid', 'same'\."),
        (lambda: dense(10, 3), r"^`activation` must be one of 'relu', 'softmax'"),
        (lambda: dropout("0.5"), r"^`rate` must be a number\. Received: rate='0\.5'\.$"),
        (lambda: LayerSpec(None), r"^`type` must be one of 'Conv2D', 'MaxPooling2D'"),
        (lambda: dense(4, name=3), r"^`name` must be a string\. Received: name=3\.$"),
        (lambda: ModelSpec("m", (8, 8, 1), flatten()), r"^`layers` must be a tuple or list\."),
        (
            lambda: ModelSpec("m", (8, 8, 1), (flatten(), {})),
            r"^`layers\[1\]` must be a LayerSpec\.",
        ),
        (lambda: ModelSpec("m", (8, 8.0, 1), (flatten(),)), r"^`input_shape` must hold 3 ints"),
        (lambda: spec_to_dict({"name": "m"}), r"^`spec` must be a ModelSpec\."),
        (lambda: spec_from_dict([]), r"^`data` must be a dict\. Received: data=\[\]\.$"),
    ],
)
def test_wrong_types_raise_type_error_naming_the_argument(factory, message):
    with pytest.raises(TypeError, match=message):
        factory()


def test_layer_names_follow_keras_rules():
    assert dense(2, name="a" * 64).name == "a" * 64
    assert dense(2, name="_head.v2-final").name == "_head.v2-final"
    for bad in ("a" * 65, "2nd", "head\n", ""):
        with pytest.raises(ValueError, match="must be a name that starts with a letter"):
            dense(2, name=bad)


def test_model_spec_needs_at_least_one_layer():
    with pytest.raises(ValueError, match=r"^`layers` must not be empty\. Received: layers=\(\)\.$"):
        ModelSpec("m", (8, 8, 1), ())


def test_the_two_pooling_helpers_differ_only_in_the_type():
    maximum = max_pooling2d((2, 3), strides=1, padding="same", name="p")
    average = average_pooling2d((2, 3), strides=1, padding="same", name="p")
    assert (maximum.type, average.type) == ("MaxPooling2D", "AveragePooling2D")
    fields = ("pool_size", "strides", "padding", "name")
    assert [getattr(maximum, f) for f in fields] == [getattr(average, f) for f in fields]
    assert [getattr(maximum, f) for f in fields] == [(2, 3), (1, 1), "same", "p"]


def test_spec_from_dict_names_what_is_wrong():
    with pytest.raises(ValueError, match=r"lacks the keys \['layers'\]"):
        spec_from_dict({"name": "m", "input_shape": [1, 1, 1]})
    with pytest.raises(TypeError, match=r"^`data\['layers'\]` must be a list or tuple\."):
        spec_from_dict({"name": "m", "input_shape": [1, 1, 1], "layers": "dense"})
    with pytest.raises(ValueError, match=r"Received: data\['layers'\]\[0\]=\{'units': 2\}\.$"):
        spec_from_dict({"name": "m", "input_shape": [1, 1, 1], "layers": [{"units": 2}]})


# ---------------------------------------------------------------------------
# Branches and merges
# ---------------------------------------------------------------------------


def _branched(*layers) -> ModelSpec:
    return ModelSpec("branched", (8, 8, 3), (*layers, flatten(), dense(2, "softmax")))


def test_inputs_are_normalised_to_a_tuple_and_default_to_the_layer_before():
    assert conv2d(4, inputs="stem").inputs == ("stem",)
    assert add(["a", "b"]).inputs == ("a", "b")
    spec = _branched(conv2d(4, name="a"), conv2d(4, inputs="input", name="b"), add(["a", "b"]))
    assert spec.layer_inputs[:4] == (("input",), ("input",), ("a", "b"), ("add",))
    assert spec.has_branches


def test_a_chain_that_names_its_inputs_is_still_a_chain():
    spec = _branched(conv2d(4, inputs="input", name="a"), conv2d(4, inputs="a"))
    assert not spec.has_branches


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: LayerSpec("Add"), r"^`inputs` of an Add layer must name the 2 or more layers"),
        (lambda: add(["a"]), r"must name 2 or more layers\. Received: inputs=\['a'\]\.$"),
        (lambda: concatenate(("a",)), r"Received: inputs=\('a',\)\.$"),
        (lambda: conv2d(4, inputs=("a", "b")), r"must name exactly 1 layer \(only Add and"),
        (lambda: conv2d(4, inputs="two words"), r"Received: inputs='two words'\.$"),
        (lambda: concatenate(["a", "b"], axis=0), r"must not be 0, the batch axis"),
        (lambda: concatenate(["a", "b"], axis=4), r"^`axis` must be between -1 and 3\."),
        (lambda: max_pooling2d(2).__class__("MaxPooling2D", use_bias=False), "does not apply"),
        (lambda: LayerSpec("Add", inputs=("a", "b"), axis=1), "`axis` does not apply to Add"),
    ],
)
def test_branch_arguments_are_validated_like_keras(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: conv2d(4, inputs=3), r"^`inputs` must be a layer name or a tuple of names\."),
        (lambda: conv2d(4, use_bias=1), r"^`use_bias` must be True or False\. Received: use_b"),
        (lambda: concatenate(["a", "b"], axis="c"), r"^`axis` must be an integer\."),
        (lambda: LayerSpec("Activation"), r"^`activation` must be one of 'relu'"),
    ],
)
def test_branch_arguments_of_the_wrong_type_raise_type_error(factory, message):
    with pytest.raises(TypeError, match=message):
        factory()


def test_inputs_must_name_earlier_layers():
    with pytest.raises(ValueError, match=r"^Layer 2 \(add\) reads \['nowhere'\], which is not"):
        _branched(conv2d(4, name="a"), add(["a", "nowhere"]))
    with pytest.raises(ValueError, match=r"Layer 1 \(a\) reads \['b'\].*Received: inputs=\('b',\)"):
        _branched(conv2d(4, inputs="b", name="a"), conv2d(4, name="b"))


def test_every_layer_but_the_last_must_feed_a_later_one():
    with pytest.raises(ValueError, match=r"Received: unused=\['dead_end'\]\.$"):
        _branched(conv2d(4, name="a"), conv2d(4, name="dead_end"), conv2d(4, inputs="a"))


def test_no_layer_may_take_the_name_of_the_input():
    with pytest.raises(ValueError, match=r"^Layer 1 must not be named 'input'"):
        ModelSpec("m", (8, 8, 1), (flatten(name="input"), dense(2, "softmax")))


def test_automatic_names_can_be_named_as_inputs():
    spec = _branched(conv2d(4), conv2d(4, inputs="input"), add(["conv2d", "conv2d_1"]))
    assert spec.layers[2].inputs == ("conv2d", "conv2d_1")


def test_chain_json_stays_as_it_was():
    """Saved runs and models hold this format: new fields must not appear in old specs."""
    data = spec_to_dict(preset("mnist_cnn_a"))
    assert data["layers"][0] == {
        "type": "Conv2D",
        "filters": 32,
        "kernel_size": [3, 3],
        "strides": [1, 1],
        "padding": "same",
        "activation": "relu",
        "name": "conv2d",
    }
    assert all(
        set(layer)
        <= {
            "type",
            "filters",
            "units",
            "kernel_size",
            "strides",
            "padding",
            "pool_size",
            "activation",
            "rate",
            "name",
        }
        for layer in data["layers"]
    )


def test_json_written_before_branches_still_loads():
    old = {
        "format": "convscope.model_spec",
        "version": 1,
        "name": "mlp",
        "input_shape": [28, 28, 1],
        "layers": [
            {"type": "Flatten", "name": "flatten"},
            {"type": "Dense", "units": 512, "activation": "relu", "name": "dense"},
            {"type": "Dense", "units": 512, "activation": "relu", "name": "dense_1"},
            {"type": "Dense", "units": 10, "activation": "softmax", "name": "dense_2"},
        ],
    }
    assert spec_from_dict(old) == preset("mlp")


@pytest.mark.parametrize(("label", "spec"), BRANCHED_SPECS, ids=BRANCHED_IDS)
def test_branched_spec_json_round_trip(label, spec):
    data = json.loads(json.dumps(spec_to_dict(spec)))
    assert spec_from_dict(data) == spec
    assert any("inputs" in layer for layer in data["layers"])


def test_use_bias_false_is_kept_in_json_and_true_left_out():
    spec = _branched(conv2d(4, use_bias=False, name="a"))
    layers = spec_to_dict(spec)["layers"]
    assert layers[0]["use_bias"] is False
    assert "use_bias" not in layers[2]
