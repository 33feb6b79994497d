"""Overflow-free sigmoid/tanh used inside the kernels, checked against the exact functions."""

import numba
import numpy as np
import pytest
from scipy.special import expit

from seqlstm.kernels._jit import OVERLOAD_OPTIONS
from seqlstm.kernels.activations import exp_nonpositive, sigmoid, tanh

# The kernels' options without the on-disk cache: a cached helper here would not be recompiled
# when activations.py changes (numba#1833) and would go on testing the old forms.
jit = numba.njit(**OVERLOAD_OPTIONS)


@jit
def _apply(x, out_s, out_t):
    for i in range(x.size):
        out_s[i] = sigmoid(x[i])
        out_t[i] = tanh(x[i])


@jit
def _apply_exp(x, out):
    for i in range(x.size):
        out[i] = exp_nonpositive(x[i])


def run_exp(x):
    out = np.empty_like(x)
    _apply_exp(x, out)
    return out


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


_TINY = np.logspace(-300, -8, 2001)
#: Dense over the whole range where the float64 results change, finer where the forms switch
#: (tanh's polynomial below |x| = 0.625), tiny values and signed zeros.
_GRID64 = np.concatenate([np.linspace(-800, 800, 400001), np.linspace(-2, 2, 200001),
                          _TINY, -_TINY, [0.0, -0.0, 5e-324, -5e-324, 1e-310, -1e-310]])


def _exact(x):
    """exp(-|x|), the logistic and tanh of float64 ``x`` to far better than float64 rounding."""
    if np.finfo(np.longdouble).nmant >= 63:       # x87 extended (or quad): 11+ extra bits
        xl = x.astype(np.longdouble)
        return np.exp(-np.abs(xl)), 1 / (1 + np.exp(-xl)), np.tanh(xl)
    mpmath = pytest.importorskip("mpmath")      # pragma: no cover - platforms without it
    mpmath.mp.prec = 80
    cols = [(mpmath.exp(-abs(mpmath.mpf(v))), 1 / (1 + mpmath.exp(-mpmath.mpf(v))),
             mpmath.tanh(mpmath.mpf(v))) for v in x]
    return tuple(np.array([float(c[k]) for c in cols]) for k in range(3))


def _ulps(got, exact):
    """|got - exact| in units of the float64 spacing at the exact value (subnormals included)."""
    rounded = np.asarray(exact, np.float64)
    err = np.abs(got.astype(exact.dtype) - exact) / np.spacing(np.abs(rounded)).astype(exact.dtype)
    return err.astype(np.float64)


def test_float64_forms_within_4_ulp():
    x = _GRID64 if np.finfo(np.longdouble).nmant >= 63 else _GRID64[::97]
    e_exact, s_exact, t_exact = _exact(x)
    s, t = run(x)
    e = run_exp(-np.abs(x))
    # Measured on x86-64 (AVX-512, FMA): exp 0.97, sigmoid 2.03, tanh 1.40 ulp.
    assert _ulps(e, e_exact).max() <= 4
    assert _ulps(s, s_exact).max() <= 4
    assert _ulps(t, t_exact).max() <= 4             # relative, also near 0
    assert np.array_equal(t[np.abs(x) < 1e-8], x[np.abs(x) < 1e-8])
    assert np.signbit(t[x == 0]).tolist() == np.signbit(x[x == 0]).tolist()


def test_float64_saturation_is_exact():
    big = np.array([40.0, 100.0, 709.0, 710.0, 745.5, 746.0, 800.0, 1e308, np.inf])
    s, t = run(np.concatenate([big, -big]))
    n = big.size
    assert np.all(s[:n] == 1.0) and np.all(t[:n] == 1.0) and np.all(t[n:] == -1.0)
    assert np.all(s[n:][big >= 746] == 0.0) and np.all(run_exp(-big[big >= 746]) == 0.0)
    assert run_exp(np.array([0.0]))[0] == 1.0
    # The last subnormals are rounded, not flushed: exp(-745) is the smallest subnormal.
    assert run_exp(np.array([-745.0]))[0] == 5e-324 and run(np.array([-745.0]))[0][0] == 5e-324


def test_float64_exp_propagates_nan():
    assert np.isnan(run_exp(np.array([np.nan]))[0])
