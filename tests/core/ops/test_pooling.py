"""core.ops.pooling against the SEEDS examples, a naive reference and its gradient definition."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ops.pooling import (
    global_pool,
    max_pool_argmax,
    pool2d,
    pool2d_gradient,
    pool_output_shape,
)

SEED_MATRIX = [[10, 12, 3, 4], [6, 8, 4, 5], [22, 12, 10, 7], [0, 9, 32, 4]]


def naive_pool(x, pool_size, strides, padding, method):
    """Loop reference; 'same' windows simply skip cells outside the input."""
    x = np.asarray(x, dtype=float)
    rows, cols = x.shape[:2]
    if padding == "same":
        out_rows, out_cols = -(-rows // strides[0]), -(-cols // strides[1])
        pad_top = max((out_rows - 1) * strides[0] + pool_size[0] - rows, 0) // 2
        pad_left = max((out_cols - 1) * strides[1] + pool_size[1] - cols, 0) // 2
    else:
        out_rows = (rows - pool_size[0]) // strides[0] + 1
        out_cols = (cols - pool_size[1]) // strides[1] + 1
        pad_top = pad_left = 0
    out = np.zeros((out_rows, out_cols) + x.shape[2:])
    for r in range(out_rows):
        for c in range(out_cols):
            top, left = r * strides[0] - pad_top, c * strides[1] - pad_left
            window = x[max(top, 0) : top + pool_size[0], max(left, 0) : left + pool_size[1]]
            out[r, c] = window.max(axis=(0, 1)) if method == "max" else window.mean(axis=(0, 1))
    return out


def test_seed_max_pool_2x2_stride_2():
    np.testing.assert_array_equal(pool2d(SEED_MATRIX), [[12, 5], [22, 32]])


def test_seed_max_pool_2x2_stride_1():
    np.testing.assert_array_equal(
        pool2d(SEED_MATRIX, strides=1), [[12, 12, 5], [22, 12, 10], [22, 32, 32]]
    )


def test_seed_second_max_pool_example():
    np.testing.assert_array_equal(
        pool2d([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]), [[6, 8], [3, 4]]
    )


def test_average_pool_of_seed_matrix():
    np.testing.assert_array_equal(pool2d(SEED_MATRIX, method="average"), [[9, 4], [10.75, 13.25]])


@settings(max_examples=80, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    channels=st.sampled_from([None, 2]),
    pool_size=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.sampled_from(["valid", "same"]),
    method=st.sampled_from(["max", "average"]),
    seed=st.integers(0, 2**16),
)
def test_matches_naive_reference(shape, channels, pool_size, strides, padding, method, seed):
    x = np.random.default_rng(seed).normal(size=shape if channels is None else shape + (channels,))
    too_big = padding == "valid" and (pool_size[0] > shape[0] or pool_size[1] > shape[1])
    if too_big:
        with pytest.raises(ValueError, match="pooling window"):
            pool2d(x, pool_size=pool_size, strides=strides, padding=padding, method=method)
        return
    result = pool2d(x, pool_size=pool_size, strides=strides, padding=padding, method=method)
    np.testing.assert_allclose(result, naive_pool(x, pool_size, strides, padding, method))
    assert result.shape[:2] == pool_output_shape(
        shape, pool_size=pool_size, strides=strides, padding=padding
    )


def test_same_padding_cells_never_win_and_are_not_averaged():
    x = -np.ones((3, 3))  # padding would be 0 > −1 if it could win
    np.testing.assert_array_equal(pool2d(x, padding="same"), -np.ones((2, 2)))
    np.testing.assert_array_equal(pool2d(x, padding="same", method="average"), -np.ones((2, 2)))


def test_argmax_points_at_the_winners():
    winners = max_pool_argmax(SEED_MATRIX)
    x = np.asarray(SEED_MATRIX)
    np.testing.assert_array_equal(x[winners[..., 0], winners[..., 1]], pool2d(SEED_MATRIX))
    assert winners[1, 1].tolist() == [3, 2]  # 32


def test_argmax_ties_go_to_first_in_reading_order():
    assert max_pool_argmax(np.ones((2, 2)))[0, 0].tolist() == [0, 0]


def test_argmax_with_channels_and_same_padding():
    x = np.random.default_rng(0).normal(size=(5, 5, 3))
    winners = max_pool_argmax(x, padding="same")
    pooled = pool2d(x, padding="same")
    for c in range(3):
        picked = x[winners[:, :, c, 0], winners[:, :, c, 1], c]
        np.testing.assert_array_equal(picked, pooled[:, :, c])


def numeric_gradient(x, upstream, **options):
    """Finite differences of sum(upstream * pool(x)) — an independent reference."""
    x = np.asarray(x, dtype=float)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        bumped = x.copy()
        bumped[index] += 1e-6
        delta = pool2d(bumped, **options) - pool2d(x, **options)
        gradient[index] = np.sum(upstream * delta) / 1e-6
    return gradient


@pytest.mark.parametrize("method", ["max", "average"])
@pytest.mark.parametrize(("strides", "padding"), [(None, "valid"), (1, "valid"), (2, "same")])
def test_gradient_matches_finite_differences(method, strides, padding):
    rng = np.random.default_rng(1)
    x = rng.permutation(25).reshape(5, 5).astype(float)  # distinct values: no ties
    options = dict(strides=strides, padding=padding, method=method)
    upstream = rng.normal(size=pool2d(x, **options).shape)
    np.testing.assert_allclose(
        pool2d_gradient(x, upstream, **options),
        numeric_gradient(x, upstream, **options),
        atol=1e-4,
    )


def test_max_gradient_goes_only_to_the_winner():
    gradient = pool2d_gradient(SEED_MATRIX, np.ones((2, 2)))
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 3] = expected[2, 0] = expected[3, 2] = 1
    np.testing.assert_array_equal(gradient, expected)


def test_gradient_rejects_wrong_upstream_shape():
    with pytest.raises(ValueError, match=r"pooled shape \(2, 2\)"):
        pool2d_gradient(SEED_MATRIX, np.ones((3, 3)))


def test_global_pooling_is_the_limit_case():
    x = np.random.default_rng(0).normal(size=(6, 6, 2))
    np.testing.assert_allclose(global_pool(x), pool2d(x, pool_size=6, method="average")[0, 0])
    np.testing.assert_allclose(global_pool(x, method="max"), pool2d(x, pool_size=6)[0, 0])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(pool_size=0), ValueError, "`pool_size` must be >= 1. Received: pool_size=0"),
        (dict(strides=0), ValueError, "`strides` must be >= 1"),
        (dict(pool_size=5), ValueError, r"window \(5×5\) is larger than the input \(4×4\)"),
        (dict(method="median"), ValueError, "`method` must be one of 'max', 'average'"),
        (dict(padding="full"), ValueError, "`padding` must be one of 'valid', 'same'"),
        (dict(pool_size="2"), TypeError, "`pool_size` must be an int or a pair"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        pool2d(SEED_MATRIX, **kwargs)
