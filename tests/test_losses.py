"""Loss kernels against plain NumPy formulas and finite differences."""

import numpy as np
import pytest
import reference as ref
from scipy.special import log_softmax, softmax

from seqlstm.kernels.losses import (
    cross_entropy,
    gaussian_nll,
    mae,
    monotone_quantiles,
    monotone_quantiles_backward,
    mse,
    observed_weight,
    pinball,
    quantile_loss,
)
from seqlstm.network.objective import (
    QuantileLoss,
    check_quantiles,
    loss_gradient,
    quantile_outputs,
)

LEVELS = np.array([0.1, 0.5, 0.9])


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
    for kernel in (mae,):
        grad[:] = 5.0
        assert kernel(pred, y, np.ones(2), grad, 0.0) == 0.0 and np.all(grad == 0)
    raw = np.ones((2, 3))
    grad = np.full_like(raw, 5.0)
    assert quantile_loss(raw, y, np.ones(2), grad, 0.0, LEVELS) == 0.0 and np.all(grad == 0)


def _mask_weights(y, w):
    obs = ~np.isnan(y)
    return obs, np.broadcast_to(w[:, None], y.shape) * obs


def test_mae_value_gradient_and_subgradient_at_zero(problem):
    pred, y, w = problem
    pred = pred.copy()
    pred[2, 1] = y[2, 1]                       # a tie: the subgradient there is 0
    grad = np.empty_like(pred)
    norm = observed_weight(y, w)
    value = mae(pred, y, w, grad, norm)
    obs, _ = _mask_weights(y, w)
    r_value, r_grad = ref.loss_and_dpred("mae", pred, y, obs, w)
    assert value == pytest.approx(r_value, rel=1e-14)
    np.testing.assert_allclose(grad, r_grad, rtol=1e-14, atol=0)
    assert grad[2, 1] == 0 and grad[1, 0] == 0
    g = np.empty_like(pred)
    away = pred.copy()
    away[2, 1] += 0.3                          # differentiable everywhere: check differences
    mae(away, y, w, grad, norm)
    np.testing.assert_allclose(grad, _fd(lambda p: mae(p, y, w, g, norm), away), rtol=1e-7,
                               atol=1e-9)


def test_pinball_value_gradient_and_subgradient_at_zero(problem):
    pred, y, w = problem
    rng = np.random.default_rng(4)
    q = np.sort(rng.standard_normal((6, 3, 2)), axis=1).reshape(6, 6)  # blocks per level
    q[3, 2] = y[3, 0]                          # a tie at level 0.5... (block 1, target 0)
    q[4, 5] = y[4, 1]                          # ... and at level 0.9 (block 2, target 1)
    grad = np.empty_like(q)
    norm = observed_weight(y, w)
    value = pinball(q, y, w, grad, norm, LEVELS)
    obs, m = _mask_weights(y, w)
    r_value, r_grad = ref.pinball(q, np.where(obs, y, 0), m / m.sum(), LEVELS)
    assert value == pytest.approx(r_value, rel=1e-14)
    np.testing.assert_allclose(grad, r_grad, rtol=1e-14, atol=0)
    # at a tie, d rho / du = tau - 0.5: d/dq = -(tau - 0.5) w / (K norm)
    assert grad[3, 2] == 0.0
    assert grad[4, 5] == pytest.approx(-(0.9 - 0.5) * w[4] / (3 * norm), rel=1e-14)
    assert np.all(grad[1, [0, 2, 4]] == 0)     # y[1, 0] is missing at every level
    # against scikit-learn's mean pinball loss (unweighted, complete targets)
    from sklearn.metrics import mean_pinball_loss

    yc = np.nan_to_num(y)
    expect = np.mean([mean_pinball_loss(yc.ravel(), q[:, 2 * k:2 * k + 2].ravel(), alpha=a)
                      for k, a in enumerate(LEVELS)])
    assert pinball(q, yc, np.ones(6), grad, 12.0, LEVELS) == pytest.approx(expect, rel=1e-13)
    # away from the ties, central differences
    q[3, 2] += 0.2
    q[4, 5] += 0.2
    pinball(q, y, w, grad, norm, LEVELS)
    g = np.empty_like(q)
    np.testing.assert_allclose(grad, _fd(lambda p: pinball(p, y, w, g, norm, LEVELS), q),
                               rtol=1e-7, atol=1e-9)


def test_monotone_quantiles_never_cross_and_their_gradient_is_exact():
    rng = np.random.default_rng(5)
    raw = rng.standard_normal((5, 6)) * 3
    raw[0, 2:] = [-800.0, 800.0, -40.0, 40.0]  # extreme raws: no overflow, still ordered
    q = np.empty_like(raw)
    monotone_quantiles(raw, 3, q)
    r_q, jac = ref.monotone_quantiles(raw, 3)
    np.testing.assert_allclose(q, r_q, rtol=1e-14, atol=0)
    blocks = q.reshape(5, 3, 2)
    assert np.all(np.diff(blocks, axis=1) >= 0) and np.all(np.isfinite(q))
    # the quantile head's transform as the estimators read it: (..., target, level)
    np.testing.assert_array_equal(quantile_outputs(raw, 2, 3), np.swapaxes(blocks, 1, 2))
    gq = rng.standard_normal(raw.shape)
    graw = np.empty_like(raw)
    monotone_quantiles_backward(raw, 3, gq, graw)
    np.testing.assert_allclose(graw, np.einsum("nk,nkl->nl", gq, jac), rtol=1e-13, atol=1e-15)
    raw[0, 2:] = [-3.0, 3.0, -1.0, 1.0]
    monotone_quantiles_backward(raw, 3, gq, graw)
    out = np.empty_like(raw)

    def f(r):
        monotone_quantiles(r, 3, out)
        return float(np.sum(out * gq))

    np.testing.assert_allclose(graw, _fd(f, raw), rtol=1e-7, atol=1e-9)


def test_quantile_loss_through_the_transform(problem):
    pred, y, w = problem
    raw = np.random.default_rng(6).standard_normal((6, 6))
    grad = np.empty_like(raw)
    norm = observed_weight(y, w)
    value = quantile_loss(raw, y, w, grad, norm, LEVELS)
    obs, _ = _mask_weights(y, w)
    r_value, r_grad = ref.loss_and_dpred("quantile", raw, y, obs, w)
    assert value == pytest.approx(r_value, rel=1e-14)
    np.testing.assert_allclose(grad, r_grad, rtol=1e-13, atol=1e-16)
    g = np.empty_like(raw)
    np.testing.assert_allclose(
        grad, _fd(lambda p: quantile_loss(p, y, w, g, norm, LEVELS), raw), rtol=1e-7, atol=1e-9)
    # the objective's dispatch: "quantile" is the default levels, QuantileLoss any levels
    v1, g1 = loss_gradient("quantile", raw, y, w, norm)
    v2, g2 = loss_gradient(QuantileLoss((0.1, 0.5, 0.9)), raw, y, w, norm)
    assert v1 == v2 == value and np.array_equal(g1, grad) and np.array_equal(g2, grad)
    v3, _ = loss_gradient(QuantileLoss((0.2, 0.5, 0.8)), raw, y, w, norm)
    assert v3 != value


def test_mae_and_pinball_against_torch(problem):
    torch = pytest.importorskip("torch")
    pred, y, w = problem
    pred = pred.copy()
    pred[2, 1] = y[2, 1]                       # ties: torch's abs has gradient 0 there
    obs, m = _mask_weights(y, w)
    yt = torch.tensor(np.where(obs, y, 0.0))
    mt = torch.tensor(m / m.sum())
    p = torch.tensor(pred, requires_grad=True)
    expect = (torch.nn.functional.l1_loss(p, yt, reduction="none") * mt).sum()
    expect.backward()
    grad = np.empty_like(pred)
    value = mae(pred, y, w, grad, observed_weight(y, w))
    assert value == pytest.approx(expect.item(), rel=1e-13)
    np.testing.assert_allclose(grad, p.grad.numpy(), rtol=1e-13, atol=1e-16)
    # the quantile loss: torch's softplus and cumulative sum, then the pinball loss with
    # torch.maximum (whose gradient splits a tie in two: tau - 0.5, as the kernel's)
    raw = np.random.default_rng(7).standard_normal((6, 6))
    raw[3, 0] = y[3, 0]                        # first level equals its target: a tie
    r = torch.tensor(raw, requires_grad=True)
    blocks = r.reshape(6, 3, 2)
    steps = torch.cat([blocks[:, :1], torch.nn.functional.softplus(blocks[:, 1:])], dim=1)
    qt = torch.cumsum(steps, dim=1)
    tau = torch.tensor(LEVELS)[None, :, None]
    u = yt[:, None, :] - qt
    loss = (torch.maximum(tau * u, (tau - 1) * u).mean(dim=1) * mt).sum()
    loss.backward()
    grad = np.empty_like(raw)
    value = quantile_loss(raw, y, w, grad, observed_weight(y, w), LEVELS)
    assert value == pytest.approx(loss.item(), rel=1e-13)
    np.testing.assert_allclose(grad, r.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bad", [(), (0.5, 0.5), (0.9, 0.1), (0.0, 0.5), (0.5, 1.0),
                                 "0.5", [[0.1, 0.2]], (np.nan,), ("a",)])
def test_quantile_levels_are_checked(bad):
    with pytest.raises(ValueError, match="quantiles: expected a non-empty, strictly "
                                         "increasing sequence of levels"):
        check_quantiles(bad)
    assert check_quantiles(np.array([0.25, 0.75])) == (0.25, 0.75)


def test_observed_weight_repeats_short_weights_over_the_rows():
    """Per-step targets (T * B rows, time-major) read the B sample weights of row r at
    r % B: the same sum, bit for bit, as with the weights repeated T times."""
    rng = np.random.default_rng(3)
    y = rng.standard_normal((7 * 5, 2))
    y[rng.random(y.shape) < 0.3] = np.nan
    w = rng.uniform(0.1, 3.0, 5)
    assert observed_weight(y, w) == observed_weight(y, np.tile(w, 7))
    assert observed_weight(y[:5], w) == observed_weight(y[:5], w.copy())
