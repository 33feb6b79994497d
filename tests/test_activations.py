"""Overflow-free sigmoid/tanh used inside the kernels, checked against the exact functions."""

import numpy as np
import pytest
from scipy.special import expit

from seqlstm.kernels._jit import jit
from seqlstm.kernels.activations import sigmoid, tanh


@jit
def _apply(x, out_s, out_t):
    for i in range(x.size):
        out_s[i] = sigmoid(x[i])
        out_t[i] = tanh(x[i])


def run(x):
    s = np.empty_like(x)
    t = np.empty_like(x)
    _apply(x, s, t)
    return s, t


def test_float32_forms_are_accurate():
    x = np.linspace(-30, 30, 200001).astype(np.float32)
    s, t = run(x)
    exact_s = expit(x.astype(np.float64))
    exact_t = np.tanh(x.astype(np.float64))
    assert s.dtype == np.float32 and t.dtype == np.float32
    assert np.abs(t - exact_t).max() <= 4e-7          # a few float32 ulps of 1
    assert np.abs(s - exact_s).max() <= 4e-7
    small = np.abs(x) < 1
    assert (np.abs(t - exact_t)[small] / np.abs(exact_t[small]).clip(1e-30)).max() <= 1e-6


def test_float64_forms_are_exact_to_rounding():
    x = np.linspace(-700, 700, 100001)
    s, t = run(x)
    assert np.allclose(s, expit(x), rtol=1e-15, atol=0)
    assert np.allclose(t, np.tanh(x), rtol=1e-15, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_overflow_at_extremes(dtype):
    info = np.finfo(dtype)
    x = np.array([-np.inf, -info.max, -1e30 if dtype == np.float64 else -1e30, 0.0,
                  info.max, np.inf], dtype=dtype)
    with np.errstate(all="raise"):
        s, t = run(x)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(t))
    assert np.all((s >= 0) & (s <= 1)) and np.all((t >= -1) & (t <= 1))
    tol = 4e-7 if dtype == np.float32 else 1e-300   # the float32 form's absolute accuracy
    assert s[0] <= tol and s[-1] >= 1 - tol
    assert t[0] <= -1 + 1e-6 and t[-1] >= 1 - 1e-6


def test_nan_propagates():
    s, t = run(np.array([np.nan], np.float64))
    assert np.isnan(s[0]) and np.isnan(t[0])
