"""Losses and their gradients with respect to the model outputs.

Every loss is a weighted mean over the *observed* target elements: a NaN target is missing and
contributes neither to the loss nor to the normaliser.  ``w`` holds one weight per row.  The
normaliser ``norm`` (the sum of the weights of all observed elements of the whole batch,
``observed_weight``) is passed in, so that sub-batches processed separately add up to the
batch's loss and gradient.  The gradient is written into ``grad`` (rows with no observed target
get 0); the loss contribution is returned as a float64.  Sums run in a fixed serial order.
"""

import math

import numpy as np

from ._jit import jit


@jit
def observed_weight(y, w):
    """Sum of the row weights ``w`` over the observed (non-NaN) elements of ``y`` (N, O).

    Row ``r`` weighs ``w[r % len(w)]``: per-step targets ``(T * B, O)`` (time-major rows) take
    the ``B`` sample weights without repeating them ``T`` times."""
    norm = 0.0
    n = w.shape[0]
    for r in range(y.shape[0]):
        for j in range(y.shape[1]):
            if not math.isnan(y[r, j]):
                norm += w[r % n]
    return norm


@jit
def mse(pred, y, w, grad, norm):
    """Mean squared error ``sum(w (p - y)^2) / sum(w)`` over observed elements.

    Parameters
    ----------
    pred, y, grad : ndarray, shape (N, O)
    w : ndarray, shape (N,)
    norm : float
        Normaliser (see module docstring).

    Returns
    -------
    float
    """
    N, O = y.shape
    total = 0.0
    for r in range(N):
        for j in range(O):
            if math.isnan(y[r, j]):
                continue
            d = float(pred[r, j]) - float(y[r, j])
            total += w[r] * d * d
    if norm <= 0.0:
        grad[:] = 0
        return 0.0
    for r in range(N):
        for j in range(O):
            if math.isnan(y[r, j]):
                grad[r, j] = 0
            else:
                grad[r, j] = 2.0 * w[r] * (float(pred[r, j]) - float(y[r, j])) / norm
    return total / norm


@jit
def _softplus(x):
    if x > 0.0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@jit
def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@jit
def gaussian_nll(pred, y, w, grad, norm, min_var):
    """Gaussian negative log-likelihood without the constant.

    ``pred`` holds ``O`` means then ``O`` raw variances; ``var = softplus(raw) + min_var``;
    loss ``sum(w * 0.5 * (log var + (y - mean)^2 / var)) / sum(w)``.

    Parameters
    ----------
    pred, grad : ndarray, shape (N, 2 * O)
    y : ndarray, shape (N, O)
    w : ndarray, shape (N,)
    norm : float
    min_var : float
    """
    N, O = y.shape
    total = 0.0
    grad[:] = 0
    if norm <= 0.0:
        return 0.0
    for r in range(N):
        for j in range(O):
            if math.isnan(y[r, j]):
                continue
            mu = float(pred[r, j])
            raw = float(pred[r, O + j])
            var = _softplus(raw) + min_var
            d = float(y[r, j]) - mu
            total += w[r] * 0.5 * (math.log(var) + d * d / var)
            grad[r, j] = -w[r] * d / var / norm
            dvar = 0.5 * (1.0 / var - d * d / (var * var))
            grad[r, O + j] = w[r] * dvar * _sigmoid(raw) / norm
    return total / norm


@jit
def cross_entropy(logits, y, w, grad, norm):
    """Softmax cross-entropy ``sum(w * -log softmax(z)[y]) / sum(w)``.

    Parameters
    ----------
    logits, grad : ndarray, shape (N, K)
    y : ndarray, shape (N, 1)
        Class indices stored as floats; NaN is missing.
    w : ndarray, shape (N,)
    norm : float
    """
    N, K = logits.shape
    total = 0.0
    grad[:] = 0
    if norm <= 0.0:
        return 0.0
    for r in range(N):
        if math.isnan(y[r, 0]):
            continue
        c = int(y[r, 0])
        m = -np.inf
        for j in range(K):
            m = max(m, float(logits[r, j]))
        s = 0.0
        for j in range(K):
            s += math.exp(float(logits[r, j]) - m)
        lse = m + math.log(s)
        total += w[r] * (lse - float(logits[r, c]))
        for j in range(K):
            p = math.exp(float(logits[r, j]) - lse)
            grad[r, j] = w[r] * (p - (1.0 if j == c else 0.0)) / norm
    return total / norm
