"""Fused optimisers against straightforward NumPy implementations."""

import numpy as np
import pytest

from seqlstm.optim import SGD, Adam, clip_scale


def numpy_adam(p, grads, lr, b1, b2, eps, alpha):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        g = g + alpha * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh = m / (1 - b1 ** t)
        vh = v / (1 - b2 ** t)
        p = p - lr * mh / (np.sqrt(vh) + eps * np.sqrt(1 - b2 ** t) / np.sqrt(1 - b2 ** t))
    return p


def test_adam_matches_numpy():
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(50)
    grads = [rng.standard_normal(50) for _ in range(5)]
    opt = Adam(learning_rate=0.01, alpha=1e-3)
    p = p0.copy()
    for g in grads:
        opt.update_params(p, g)
    # our form puts the bias correction into the step size (as in Kingma & Ba, sec. 2):
    # p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
    q = p0.copy()
    m = np.zeros(50)
    v = np.zeros(50)
    for t, g in enumerate(grads, 1):
        g = g + 1e-3 * q
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        q = q - 0.01 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-8)
    assert np.allclose(p, q, rtol=1e-13, atol=1e-15)


def test_sgd_momentum_and_nesterov_match_numpy():
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal(20)
    grads = [rng.standard_normal(20) for _ in range(4)]
    for nesterov in (False, True):
        opt = SGD(learning_rate=0.1, momentum=0.9, nesterov=nesterov)
        p = p0.copy()
        for g in grads:
            opt.update_params(p, g)
        q = p0.copy()
        vel = np.zeros(20)
        for g in grads:
            vel = 0.9 * vel - 0.1 * g
            q = q + (0.9 * vel - 0.1 * g if nesterov else vel)
        assert np.allclose(p, q, rtol=1e-14, atol=1e-15)


def test_clipping_scales_to_global_norm():
    g = np.full(4, 3.0)                       # norm 6
    scale, norm = clip_scale(g, 1.5)
    assert norm == pytest.approx(6.0) and scale == pytest.approx(0.25)
    assert clip_scale(g, 10.0) == (1.0, pytest.approx(6.0))
    opt = SGD(learning_rate=1.0, momentum=0.0, clip_norm=1.5)
    p = np.zeros(4)
    opt.update_params(p, g)
    assert np.linalg.norm(p) == pytest.approx(1.5)


def test_float32_updates_stay_float32_and_in_place():
    p = np.ones(10, np.float32)
    view = p[:]
    Adam().update_params(p, np.ones(10, np.float32))
    assert p.dtype == np.float32 and np.all(view < 1)


@pytest.mark.parametrize("kwargs,match", [
    (dict(learning_rate=0), "learning_rate"), (dict(alpha=-1), "alpha"),
    (dict(clip_norm=0), "clip_norm")])
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adam(**kwargs)
    with pytest.raises(ValueError, match="momentum"):
        SGD(momentum=1.0)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="1-D of one shape"):
        Adam().update_params(np.zeros(3), np.zeros(4))
