"""Loss kernels against plain NumPy formulas and finite differences."""

import numpy as np
import pytest
from scipy.special import log_softmax, softmax

from seqlstm.kernels.losses import cross_entropy, gaussian_nll, mse, observed_weight


def _fd(f, p, eps=1e-6):
    g = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        q = p.copy()
        q[idx] += eps
        fp = f(q)
        q[idx] -= 2 * eps
        g[idx] = (fp - f(q)) / (2 * eps)
    return g


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    pred = rng.standard_normal((6, 2))
    y = rng.standard_normal((6, 2))
    y[1, 0] = np.nan
    w = rng.uniform(0.5, 2, 6)
    return pred, y, w


def test_mse_value_and_gradient(problem):
    pred, y, w = problem
    grad = np.empty_like(pred)
    norm = observed_weight(y, w)
    value = mse(pred, y, w, grad, norm)
    obs = ~np.isnan(y)
    ww = np.broadcast_to(w[:, None], y.shape)
    expect = (ww * (pred - np.nan_to_num(y)) ** 2)[obs].sum() / ww[obs].sum()
    assert value == pytest.approx(expect, rel=1e-14)
    assert grad[1, 0] == 0
    g = np.empty_like(pred)
    assert np.allclose(grad, _fd(lambda p: mse(p, y, w, g, norm), pred), rtol=1e-7, atol=1e-9)


def test_gaussian_value_and_gradient(problem):
    pred, y, w = problem
    pred = np.concatenate([pred, np.random.default_rng(1).standard_normal((6, 2)) * 3], 1)
    grad = np.empty_like(pred)
    norm = observed_weight(y, w)
    value = gaussian_nll(pred, y, w, grad, norm, 1e-6)
    var = np.logaddexp(0, pred[:, 2:]) + 1e-6
    obs = ~np.isnan(y)
    ww = np.broadcast_to(w[:, None], y.shape)
    terms = 0.5 * (np.log(var) + (np.nan_to_num(y) - pred[:, :2]) ** 2 / var)
    assert value == pytest.approx((ww * terms)[obs].sum() / ww[obs].sum(), rel=1e-13)
    g = np.empty_like(pred)
    assert np.allclose(grad, _fd(lambda p: gaussian_nll(p, y, w, g, norm, 1e-6), pred),
                       rtol=1e-6, atol=1e-8)


def test_cross_entropy_value_gradient_and_stability():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((5, 3))
    logits[0] = [1000.0, -1000.0, 0.0]             # would overflow a naive softmax
    y = np.array([0, 2, 1, np.nan, 1.0])
    w = rng.uniform(0.5, 2, 5)
    grad = np.empty_like(logits)
    value = cross_entropy(logits, y[:, None], w, grad, observed_weight(y[:, None], w))
    obs = ~np.isnan(y)
    lp = log_softmax(logits, axis=1)
    expect = -(w[obs] * lp[obs, y[obs].astype(int)]).sum() / w[obs].sum()
    assert np.isfinite(value) and value == pytest.approx(expect, rel=1e-13)
    onehot = np.eye(3)[np.nan_to_num(y).astype(int)]
    expect_grad = (w[:, None] * (softmax(logits, axis=1) - onehot)) / w[obs].sum()
    expect_grad[~obs] = 0
    assert np.allclose(grad, expect_grad, rtol=1e-12, atol=1e-15)


def test_all_missing_gives_zero_loss_and_gradient():
    pred = np.ones((2, 1))
    y = np.full((2, 1), np.nan)
    grad = np.full_like(pred, 5.0)
    assert observed_weight(y, np.ones(2)) == 0.0
    assert mse(pred, y, np.ones(2), grad, 0.0) == 0.0 and np.all(grad == 0)


def test_observed_weight_repeats_short_weights_over_the_rows():
    """Per-step targets (T * B rows, time-major) read the B sample weights of row r at
    r % B: the same sum, bit for bit, as with the weights repeated T times."""
    rng = np.random.default_rng(3)
    y = rng.standard_normal((7 * 5, 2))
    y[rng.random(y.shape) < 0.3] = np.nan
    w = rng.uniform(0.1, 3.0, 5)
    assert observed_weight(y, w) == observed_weight(y, np.tile(w, 7))
    assert observed_weight(y[:5], w) == observed_weight(y[:5], w.copy())
