"""Receptive-field arithmetic for stacked convolutions and pooling (core.ops.receptive_field)."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.ops.receptive_field import (
    PADDINGS,
    InputRegion,
    LayerGeometry,
    clip_region,
    input_receptive_field,
    input_region,
    next_receptive_field,
    receptive_field,
    receptive_fields,
)

CONV3 = LayerGeometry("conv3", kernel_size=3)
POOL2 = LayerGeometry("pool2", kernel_size=2, strides=2)


@pytest.mark.parametrize(("count", "size"), [(1, 3), (2, 5), (3, 7), (4, 9)])
def test_stacked_3x3_convolutions_grow_by_two(count, size):
    assert receptive_field([CONV3] * count, input_size=(28, 28)).size == (size, size)


def test_conv_pool_conv_sees_eight_pixels():
    field = receptive_field([CONV3, POOL2, CONV3], input_size=(28, 28))
    assert field.size == (8, 8)
    assert field.jump == (2, 2)


def test_mnist_cnn_a_sizes_and_jumps():
    same = LayerGeometry("conv", kernel_size=3, padding="same")
    fields = receptive_fields([same, POOL2, same, POOL2], input_size=(28, 28))
    assert [f.size[0] for f in fields] == [1, 3, 4, 8, 10]
    assert [f.jump[0] for f in fields] == [1, 1, 2, 2, 4]
    assert [f.output_size for f in fields] == [(28, 28), (28, 28), (14, 14), (14, 14), (7, 7)]


def test_valid_conv_unit_zero_starts_at_the_corner():
    field = receptive_field([CONV3, CONV3], input_size=(10, 10))
    region = input_region(field, 0, 0)
    assert (region.top, region.left, region.bottom, region.right) == (0, 0, 5, 5)
    last = input_region(field, 5, 5)
    assert (last.bottom, last.right) == (10, 10)


def test_same_padding_region_is_clipped_at_the_border():
    same = LayerGeometry("conv", kernel_size=3, padding="same")
    field = receptive_field([same, same], input_size=(8, 8))
    full = input_region(field, 0, 0)
    assert (full.top, full.left, full.bottom, full.right) == (-2, -2, 3, 3)
    clipped = input_region(field, 0, 0, input_size=(8, 8))
    assert (clipped.top, clipped.left, clipped.height, clipped.width) == (0, 0, 3, 3)
    assert clipped.full_size == (5, 5)


def test_pooled_unit_covers_its_window():
    field = receptive_field([POOL2], input_size=(4, 4))
    region = input_region(field, 1, 1)
    assert (region.top, region.left, region.bottom, region.right) == (2, 2, 4, 4)


def test_dilation_and_stride():
    dilated = LayerGeometry("d", kernel_size=3, dilation_rate=2)
    assert receptive_field([dilated], input_size=(16, 16)).size == (5, 5)
    strided = LayerGeometry("s", kernel_size=3, strides=2)
    field = receptive_field([strided, CONV3], input_size=(16, 16))
    assert field.size == (7, 7)
    assert field.output_size == (5, 5)


def test_same_padding_with_stride_matches_tensorflow_output_size():
    strided = LayerGeometry("s", kernel_size=3, strides=2, padding="same")
    assert receptive_field([strided], input_size=(7, 7)).output_size == (4, 4)


def test_rectangular_kernels_are_per_axis():
    wide = LayerGeometry("wide", kernel_size=(1, 5))
    assert receptive_field([wide, CONV3], input_size=(10, 10)).size == (3, 7)


def test_shrinking_below_one_is_refused_naming_the_layer():
    with pytest.raises(ValueError, match="'conv3'"):
        receptive_field([CONV3] * 3, input_size=(5, 5))


def test_one_step_from_the_input_pads_same_with_the_smaller_half_first():
    strided = LayerGeometry("s", kernel_size=3, strides=2, padding="same")
    step = next_receptive_field(input_receptive_field((7, 7)), strided)
    # 7 rows, stride 2: 4 outputs, 2 rows of padding, 1 on top, so unit 0 is centred on row 0.
    assert (step.layer, step.size, step.jump, step.output_size) == ("s", (3, 3), (2, 2), (4, 4))
    assert step.start == (0.0, 0.0)
    after = next_receptive_field(step, CONV3)
    assert (after.size, after.jump, after.start, after.output_size) == (
        (7, 7),
        (2, 2),
        (2.0, 2.0),
        (2, 2),
    )


def test_one_step_dilates_each_axis_on_its_own():
    tall = LayerGeometry("tall", kernel_size=(3, 1), dilation_rate=(2, 1))
    step = next_receptive_field(input_receptive_field((10, 10)), tall)
    assert (step.size, step.start, step.output_size) == ((5, 1), (2.0, 0.0), (6, 10))


def test_receptive_fields_chain_the_single_steps():
    layers = [CONV3, POOL2, LayerGeometry("same", kernel_size=3, padding="same")]
    chained = [input_receptive_field((12, 12))]
    for layer in layers:
        chained.append(next_receptive_field(chained[-1], layer))
    assert receptive_fields(layers, input_size=(12, 12)) == chained


def test_a_step_that_shrinks_below_one_is_refused_naming_the_layer():
    with pytest.raises(ValueError, match="'conv3' shrinks the feature map below 1×1"):
        next_receptive_field(input_receptive_field((2, 2)), CONV3)
    with pytest.raises(TypeError, match="LayerGeometry"):
        next_receptive_field(input_receptive_field((2, 2)), (3, 1, "valid"))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="padding"):
        LayerGeometry("x", padding="full")
    with pytest.raises(ValueError, match="kernel_size"):
        LayerGeometry("x", kernel_size=0)
    field = receptive_field([CONV3], input_size=(5, 5))
    with pytest.raises(ValueError, match="row"):
        input_region(field, 3, 0)


def test_clip_region():
    region = clip_region(InputRegion(-1, 2, 3, 9, (4, 7)), input_size=(5, 6))
    assert (region.top, region.left, region.bottom, region.right) == (0, 2, 3, 6)


# An independent reference: follow, index by index, which input positions one output unit
# reads through every layer (one axis; the axes are independent), skipping padding.
def _dependency_bounds(layers, size, unit):
    lengths, paddings = [size], []
    for kernel, stride, dilation, padding in layers:
        effective = dilation * (kernel - 1) + 1
        n = lengths[-1]
        if padding == "valid":
            out, before = (n - effective) // stride + 1, 0
        else:
            out = -(-n // stride)
            before = max((out - 1) * stride + effective - n, 0) // 2
        lengths.append(out)
        paddings.append(before)
    positions = {unit}
    for (kernel, stride, dilation, _), before, n in zip(
        reversed(layers), reversed(paddings), reversed(lengths[:-1]), strict=True
    ):
        positions = {o * stride - before + j * dilation for o in positions for j in range(kernel)}
        positions = {p for p in positions if 0 <= p < n}
    return (min(positions), max(positions) + 1) if positions else None


layer_strategy = st.tuples(
    st.integers(1, 4), st.integers(1, 2), st.integers(1, 2), st.sampled_from(PADDINGS)
)


@settings(max_examples=150, deadline=None)
@given(st.lists(layer_strategy, min_size=1, max_size=4), st.integers(12, 24), st.data())
def test_region_matches_an_index_by_index_reference(layers, size, data):
    geometries = [
        LayerGeometry("layer", kernel_size=k, strides=s, dilation_rate=d, padding=p)
        for k, s, d, p in layers
    ]
    try:
        field = receptive_field(geometries, input_size=(size, size))
    except ValueError:
        return  # the stack does not fit this input; refusing it is tested above
    unit = data.draw(st.integers(0, field.output_size[0] - 1))
    region = input_region(field, unit, unit, input_size=(size, size))
    bounds = _dependency_bounds(layers, size, unit)
    assume(bounds is not None)  # a unit that reads only padding depends on no pixel at all
    low, high = bounds
    # The arithmetic window contains every pixel the unit reads ...
    assert region.top <= low and high <= region.bottom
    # ... and is exact when no layer pads (padding only ever hides pixels).
    if all(padding == "valid" for *_, padding in layers):
        assert (region.top, region.bottom) == (low, high)
        assert region.height == field.size[0]


def test_agrees_with_the_model_summary_for_every_preset():
    from core.nets.presets import PRESETS, preset
    from core.nets.summary import summarize

    for name in PRESETS:
        spec = preset(name)
        summary = summarize(spec)
        geometries, expected = [], []
        for layer, row in zip(spec.layers, summary.layers, strict=True):
            if layer.type not in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
                if layer.type in ("Flatten", "GlobalAveragePooling2D", "Dense"):
                    break
                continue
            window = layer.kernel_size if layer.type == "Conv2D" else layer.pool_size
            geometries.append(LayerGeometry(layer.name, window, layer.strides, layer.padding))
            expected.append(row.receptive_field_hw)
        fields = receptive_fields(geometries, input_size=spec.input_shape[:2])
        assert [field.size for field in fields[1:]] == expected, name
