"""The one-pass input preparation kernel against a plain NumPy formulation."""

import numpy as np
import pytest

from seqlstm.kernels.padding import time_major_padded


def numpy_prepare(X, lengths=None):
    """Plain NumPy: lengths from trailing all-NaN steps, first non-finite value inside a
    sequence in (time, sample, feature) order, time-major copy zeroed at padded steps."""
    B, T, _ = X.shape
    x = np.swapaxes(X, 0, 1).copy()
    if lengths is None:
        valid = ~np.isnan(x).all(axis=2)                          # (T, B)
        lengths = np.where(valid.any(axis=0), T - np.argmax(valid[::-1], axis=0), 0)
    mask = np.arange(T)[:, None] < np.asarray(lengths)[None, :]
    bad = np.argwhere(~np.isfinite(x) & mask[:, :, None])
    first = tuple(int(v) for v in bad[0]) if len(bad) else (-1, -1, -1)
    x[~mask] = 0
    return x, np.asarray(lengths, np.int64), first


def run_kernel(X, lengths=None):
    B, T, F = X.shape
    given = lengths is not None
    lens = np.array(lengths, np.int64) if given else np.full(B, -7, np.int64)
    x = np.full((T, B, F), 99.0, X.dtype)
    first = time_major_padded(X, given, lens, x)
    return x, lens, tuple(first)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed", range(5))
def test_matches_numpy_with_nan_padding(dtype, seed):
    rng = np.random.default_rng(seed)
    B, T, F = 7, 9, 3
    X = rng.standard_normal((B, T, F)).astype(dtype)
    for b, n in enumerate(rng.integers(0, T + 1, B)):
        X[b, n:] = np.nan
    X[0, 2, 1] = np.nan          # a partly-NaN step inside a sequence: not padding, an error
    X[1, 3, :] = np.nan          # an all-NaN step followed by valid ones: not padding either
    X[1, 4, 0] = 1.0
    x_ref, len_ref, first_ref = numpy_prepare(X)
    x, lens, first = run_kernel(X)
    np.testing.assert_array_equal(lens, len_ref)
    assert first == first_ref
    np.testing.assert_array_equal(x, x_ref)     # NaN compare equal here; padded steps are 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_given_lengths_and_non_finite_values(dtype):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((4, 6, 2)).astype(dtype)
    X[2, 5, 1] = np.inf          # beyond the given length: padding, ignored and zeroed
    X[3, 1, 0] = -np.inf         # inside: the first bad value
    X[1, 4, 1] = np.nan          # inside, later in time
    lengths = [6, 5, 3, 2]
    x_ref, _, first_ref = numpy_prepare(X, lengths)
    x, lens, first = run_kernel(X, lengths)
    np.testing.assert_array_equal(lens, lengths)          # given lengths are not touched
    assert first == first_ref == (1, 3, 0)
    np.testing.assert_array_equal(x, x_ref)


def test_all_nan_sequence_has_length_zero():
    X = np.full((2, 3, 2), np.nan)
    X[1, 0, 0] = 0.5
    x, lens, first = run_kernel(X)
    np.testing.assert_array_equal(lens, [0, 1])
    assert first == (0, 1, 1)     # the partly-NaN first step of sample 1 is inside it
    assert np.all(x[:, 0] == 0) and x[0, 1, 0] == 0.5 and np.all(x[1:, 1] == 0)
