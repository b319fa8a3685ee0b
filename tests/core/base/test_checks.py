"""core.base.checks: TypeError for a wrong type, ValueError for a bad value, Keras' messages."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.base.checks import (
    as_choice,
    as_int_tuple,
    as_integer_array,
    as_pair,
    as_real_array,
    check_all_finite,
    check_bool,
    check_choice,
    check_instance,
    check_int,
    check_real,
    check_string,
    describe,
    is_int,
    is_real,
    received,
)

NOT_NUMBERS = [None, "3", [3], (3,), b"3", object()]


def ends_with_received(message: str, name: str) -> bool:
    return re.search(rf"Received: {re.escape(name)}=.+\.$", message) is not None


# --------------------------------------------------------------------------- messages


def test_received_echoes_the_name_and_the_repr():
    assert received("padding", "half") == "Received: padding='half'."
    assert received("strides", (1, 0)) == "Received: strides=(1, 0)."


def test_describe_gives_arrays_by_shape_and_dtype():
    assert describe(np.zeros((2, 3), np.float32)) == "ndarray(shape=(2, 3), dtype=float32)"


@given(st.text(min_size=100, max_size=300))
def test_describe_shortens_long_values(text):
    short = describe(text)
    assert len(short) <= 80
    assert short.endswith("...")


@given(st.text(max_size=60))
def test_describe_keeps_short_values_whole(text):
    assert describe(text) == repr(text) or len(repr(text)) > 80


# --------------------------------------------------------------------------- predicates


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, True), (np.int32(3), True), (np.uint8(3), True), (True, False), (np.True_, False)]
    + [(3.0, False), ("3", False), (None, False)],
)
def test_is_int(value, expected):
    assert is_int(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, True), (0.5, True), (np.float32(0.5), True), (float("nan"), True)]
    + [(False, False), ("0.5", False), (None, False), (1j, False)],
)
def test_is_real(value, expected):
    assert is_real(value) is expected


# --------------------------------------------------------------------------- check_int


@given(st.integers(-1000, 1000))
def test_check_int_returns_every_int_in_range_as_a_python_int(value):
    result = check_int(np.int64(value), "count", minimum=-1000, maximum=1000)
    assert result == value and type(result) is int


@pytest.mark.parametrize("value", [1.0, 2.5, True, False, *NOT_NUMBERS])
def test_check_int_refuses_other_types_with_type_error(value):
    with pytest.raises(TypeError, match=r"^`count` must be an integer\. Received: count=") as error:
        check_int(value, "count", minimum=0)
    assert ends_with_received(str(error.value), "count")


@pytest.mark.parametrize(
    ("value", "bounds", "message"),
    [
        (0, {"minimum": 1}, "`strides` must be >= 1. Received: strides=0."),
        (17, {"maximum": 16}, "`strides` must be <= 16. Received: strides=17."),
        (
            0,
            {"minimum": 1, "maximum": 99},
            "`strides` must be between 1 and 99. Received: strides=0.",
        ),
        (
            100,
            {"minimum": 1, "maximum": 99},
            "`strides` must be between 1 and 99. Received: strides=100.",
        ),
    ],
)
def test_check_int_out_of_range_is_a_value_error_with_keras_message(value, bounds, message):
    with pytest.raises(ValueError) as error:
        check_int(value, "strides", **bounds)
    assert str(error.value) == message


def test_check_int_edges_are_inclusive_and_no_bounds_means_any():
    assert check_int(1, "n", minimum=1, maximum=1) == 1
    assert check_int(-(10**20), "n") == -(10**20)


# --------------------------------------------------------------------------- check_real


@given(st.floats(0.0, 1.0, exclude_max=True))
def test_check_real_accepts_the_half_open_interval(value):
    assert check_real(value, "rate", minimum=0.0, maximum=1.0, open_max=True) == value


@pytest.mark.parametrize("value", [True, *NOT_NUMBERS])
def test_check_real_refuses_non_numbers_with_type_error(value):
    with pytest.raises(TypeError, match=r"^`sigma` must be a number\. Received: sigma="):
        check_real(value, "sigma")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -np.inf])
def test_check_real_refuses_nan_and_infinity_with_value_error(value):
    with pytest.raises(ValueError, match=r"^`sigma` must be a finite number\. Received: sigma="):
        check_real(value, "sigma")


@pytest.mark.parametrize(
    ("value", "bounds", "text"),
    [
        (0, {"minimum": 0, "open_min": True}, "must be > 0"),
        (-0.5, {"minimum": 0}, "must be >= 0"),
        (2, {"maximum": 1}, "must be <= 1"),
        (1, {"maximum": 1, "open_max": True}, "must be < 1"),
        (1.0, {"minimum": 0, "maximum": 1, "open_max": True}, "must be in [0, 1)"),
        (0.0, {"minimum": 0, "maximum": 0.5, "open_min": True}, "must be in (0, 0.5]"),
        (11.0, {"minimum": 0, "maximum": 10}, "must be in [0, 10]"),
    ],
)
def test_check_real_open_and_closed_ends(value, bounds, text):
    with pytest.raises(ValueError) as error:
        check_real(value, "x", **bounds)
    assert str(error.value) == f"`x` {text}. Received: x={value!r}."


def test_check_real_returns_a_float():
    result = check_real(np.int64(2), "x", minimum=0)
    assert result == 2.0 and type(result) is float


# --------------------------------------------------------------------------- bool, choices


def test_check_bool_accepts_python_and_numpy_bools():
    assert check_bool(True, "flag") is True
    assert check_bool(np.False_, "flag") is False


@pytest.mark.parametrize("value", [0, 1, "True", None, 1.0])
def test_check_bool_refuses_lookalikes_with_type_error(value):
    with pytest.raises(TypeError, match=r"^`flag` must be True or False\. Received: flag="):
        check_bool(value, "flag")


def test_check_choice_is_exact_and_allows_none():
    assert check_choice("mnist", "name", ("mnist", "cifar10")) == "mnist"
    assert check_choice(None, "weights", ("imagenet", None)) is None


def test_check_choice_wrong_value_is_value_error_listing_the_choices():
    with pytest.raises(ValueError) as error:
        check_choice("MNIST", "name", ("mnist", "cifar10"))
    assert str(error.value) == "`name` must be one of 'mnist', 'cifar10'. Received: name='MNIST'."


@pytest.mark.parametrize("value", [3, ["mnist"], None])
def test_check_choice_wrong_type_is_type_error(value):
    with pytest.raises(TypeError, match="`name` must be one of 'mnist', 'cifar10'"):
        check_choice(value, "name", ("mnist", "cifar10"))


@given(st.sampled_from(["valid", "same", "full"]), st.lists(st.booleans(), min_size=5, max_size=5))
def test_as_choice_ignores_case_and_returns_the_canonical_spelling(choice, upper):
    mixed = "".join(
        c.upper() if u else c for c, u in zip(choice, upper[: len(choice)], strict=True)
    )
    assert as_choice(mixed, "padding", ("valid", "same", "full")) == choice
    assert as_choice(choice.upper(), "type", ("Valid", "Same", "Full")) == choice.title()


def test_as_choice_errors():
    with pytest.raises(
        ValueError, match=r"^`padding` must be one of 'valid', 'same'\. Received: padding='half'\.$"
    ):
        as_choice("half", "padding", ("valid", "same"))
    with pytest.raises(TypeError, match=r"Received: padding=1\.$"):
        as_choice(1, "padding", ("valid", "same"))


def test_check_instance_names_the_expected_type_with_its_article():
    assert check_instance((1,), "layers", (tuple, list)) == (1,)
    with pytest.raises(
        TypeError, match=r"^`layers` must be a tuple or list\. Received: layers=3\.$"
    ):
        check_instance(3, "layers", (tuple, list))
    with pytest.raises(TypeError, match=r"^`x` must be an int\."):
        check_instance("3", "x", int)
    with pytest.raises(TypeError, match=r"^`x` must be a numpy array\. Received: x=\[1\]\.$"):
        check_instance([1], "x", np.ndarray, "a numpy array")


def test_check_string_with_and_without_a_pattern():
    pattern = re.compile(r"[a-z]+")
    assert check_string("abc", "name") == "abc"
    assert check_string("abc", "name", pattern=pattern) == "abc"
    with pytest.raises(ValueError, match=r"^`name` must be lower case\. Received: name='abc1'\.$"):
        check_string("abc1", "name", pattern=pattern, expected="lower case")
    with pytest.raises(TypeError, match=r"^`name` must be a string\. Received: name=None\.$"):
        check_string(None, "name")


# --------------------------------------------------------------------------- tuples and pairs


@given(st.integers(1, 50), st.integers(1, 50))
def test_as_pair_takes_an_int_or_a_pair(rows, cols):
    assert as_pair(rows, "kernel_size") == (rows, rows)
    assert as_pair([rows, cols], "kernel_size") == (rows, cols)
    assert as_pair(np.array([rows, cols]), "kernel_size") == (rows, cols)


@pytest.mark.parametrize("value", [1.5, "22", (1.0, 2), (True, 1), None, True])
def test_as_pair_wrong_types_are_type_errors(value):
    with pytest.raises(TypeError, match=r"^`strides` must be an int or a pair of ints\. Received"):
        as_pair(value, "strides")


@pytest.mark.parametrize("value", [(1, 2, 3), (1,), ()])
def test_as_pair_wrong_lengths_are_value_errors(value):
    with pytest.raises(ValueError, match="`strides` must be an int or a pair of ints"):
        as_pair(value, "strides")


def test_as_pair_minimum():
    with pytest.raises(ValueError) as error:
        as_pair((2, 0), "strides")
    assert str(error.value) == "`strides` must be >= 1. Received: strides=(2, 0)."
    assert as_pair((0, 3), "output_padding", minimum=0) == (0, 3)
    assert as_pair((-2, 3), "shift", minimum=None) == (-2, 3)


def test_as_int_tuple():
    assert as_int_tuple(np.array([28, 28, 1]), "input_shape", length=3) == (28, 28, 1)
    with pytest.raises(ValueError, match=r"must hold 3 ints\. Received: input_shape=\(28, 28\)\.$"):
        as_int_tuple((28, 28), "input_shape", length=3)
    with pytest.raises(ValueError, match=r"values must be >= 1\. Received"):
        as_int_tuple((28, 0, 1), "input_shape", length=3)
    with pytest.raises(TypeError, match=r"must hold 3 ints, each >= 1\. Received"):
        as_int_tuple((28, 28.0, 1), "input_shape", length=3)
    with pytest.raises(TypeError):
        as_int_tuple(28, "input_shape", length=3)
    with pytest.raises(TypeError):
        as_int_tuple("abc", "input_shape", length=3)


# --------------------------------------------------------------------------- arrays


def test_as_real_array_accepts_every_real_dtype():
    for dtype in (bool, np.uint8, np.int16, np.float32, np.float64):
        assert as_real_array(np.ones((2, 2), dtype), "image", ndims=(2,)).dtype == dtype


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (np.array([["a"]]), TypeError, "`image` must hold real numbers."),
        (np.array([[1j]]), TypeError, "`image` must hold real numbers."),
        (np.ones(3), ValueError, "`image` must have 2 or 3 dimensions."),
        (np.ones((0, 3)), ValueError, "`image` must not be empty."),
        (np.array([[np.nan]]), ValueError, "`image` contains NaN or infinite values"),
        (np.array([[-np.inf]]), ValueError, "`image` contains NaN or infinite values"),
    ],
)
def test_as_real_array_errors(value, error, text):
    with pytest.raises(error) as raised:
        as_real_array(value, "image", ndims=(2, 3))
    assert str(raised.value).startswith(text)
    assert str(raised.value).endswith(f"Received: image={describe(value)}.")


def test_as_real_array_can_leave_the_finiteness_check_to_the_caller():
    array = as_real_array([[np.nan]], "image", ndims=(2,), check_finite=False)
    assert np.isnan(array).all()
    with pytest.raises(ValueError, match="`image` contains NaN"):
        check_all_finite(array, "image")
    check_all_finite(np.array([1, 2]), "image")  # integers are always finite


def test_as_integer_array():
    assert as_integer_array(np.empty(0, np.int64), "y", ndims=(1,), minimum=0).size == 0
    with pytest.raises(TypeError, match="`y` must hold integers"):
        as_integer_array([0.0, 1.0], "y", ndims=(1,))
    with pytest.raises(ValueError, match="`y` must have 1 dimensions"):
        as_integer_array([[0]], "y", ndims=(1,))
    with pytest.raises(ValueError, match=r"`y` values must be >= 0; the smallest is -3"):
        as_integer_array([1, -3], "y", ndims=(1,), minimum=0)
