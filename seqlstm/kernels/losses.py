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


@jit
def mae(pred, y, w, grad, norm):
    """Mean absolute error ``sum(w |p - y|) / sum(w)`` over observed elements.

    Not differentiable where ``p == y``: the subgradient used there is 0 (``w sign(p - y) /
    norm`` with ``sign(0) = 0``, as PyTorch's ``L1Loss``).

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
    grad[:] = 0
    if norm <= 0.0:
        return 0.0
    for r in range(N):
        for j in range(O):
            if math.isnan(y[r, j]):
                continue
            d = float(pred[r, j]) - float(y[r, j])
            total += w[r] * abs(d)
            if d > 0.0:
                grad[r, j] = w[r] / norm
            elif d < 0.0:
                grad[r, j] = -w[r] / norm
    return total / norm


@jit
def pinball(q, y, w, grad, norm, levels):
    """Pinball (quantile) loss averaged over the quantile levels.

    ``q`` holds ``K = len(levels)`` blocks of ``O`` columns, block ``k`` the quantile of level
    ``levels[k]`` of each target; the loss is ``sum(w * mean_k rho_k(y - q_k)) / sum(w)`` with
    ``rho_k(u) = max(levels[k] u, (levels[k] - 1) u) = 0.5 |u| + (levels[k] - 0.5) u``.  At
    ``u == 0`` the subgradient is that of the second form with ``sign(0) = 0`` (as for
    :func:`mae`): ``d rho_k / du = levels[k] - 0.5`` (``torch.maximum`` splits the tie the same
    way); level 0.5 gives half the absolute error.

    Parameters
    ----------
    q, grad : ndarray, shape (N, K * O)
    y : ndarray, shape (N, O)
    w : ndarray, shape (N,)
    norm : float
    levels : ndarray of float64, shape (K,)

    Returns
    -------
    float
    """
    N, O = y.shape
    K = levels.shape[0]
    total = 0.0
    grad[:] = 0
    if norm <= 0.0:
        return 0.0
    for r in range(N):
        for j in range(O):
            if math.isnan(y[r, j]):
                continue
            part = 0.0
            for k in range(K):
                u = float(y[r, j]) - float(q[r, k * O + j])
                tau = levels[k]
                part += 0.5 * abs(u) + (tau - 0.5) * u
                slope = tau - 0.5
                if u > 0.0:
                    slope += 0.5
                elif u < 0.0:
                    slope -= 0.5
                grad[r, k * O + j] = -w[r] * slope / (K * norm)
            total += w[r] * part / K
    return total / norm


@jit
def monotone_quantiles(raw, n_levels, out):
    """Non-crossing quantiles from a head's raw outputs: ``q_0 = raw_0`` and
    ``q_k = q_{k-1} + softplus(raw_k)``, per target (blocks of ``O`` columns as in
    :func:`pinball`), so ``q_0 <= q_1 <= ...`` whatever the raw outputs.

    Parameters
    ----------
    raw, out : ndarray, shape (N, n_levels * O)
    n_levels : int
    """
    N = raw.shape[0]
    O = raw.shape[1] // n_levels
    for r in range(N):
        for j in range(O):
            acc = float(raw[r, j])
            out[r, j] = acc
            for k in range(1, n_levels):
                acc += _softplus(float(raw[r, k * O + j]))
                out[r, k * O + j] = acc


@jit
def monotone_quantiles_backward(raw, n_levels, gq, graw):
    """Gradient through :func:`monotone_quantiles`: with ``G_k = sum_{m >= k} gq_m``,
    ``graw_0 = G_0`` and ``graw_k = G_k sigmoid(raw_k)`` (``softplus' = sigmoid``).

    Parameters
    ----------
    raw, gq, graw : ndarray, shape (N, n_levels * O)
        Raw outputs, gradient with respect to the quantiles, gradient with respect to the raw
        outputs (written).
    n_levels : int
    """
    N = raw.shape[0]
    O = raw.shape[1] // n_levels
    for r in range(N):
        for j in range(O):
            acc = 0.0
            for k in range(n_levels - 1, 0, -1):
                acc += float(gq[r, k * O + j])
                graw[r, k * O + j] = acc * _sigmoid(float(raw[r, k * O + j]))
            graw[r, j] = acc + float(gq[r, j])


@jit
def quantile_loss(pred, y, w, grad, norm, levels):
    """:func:`pinball` loss of the non-crossing quantiles :func:`monotone_quantiles` makes of
    the head's raw outputs ``pred`` (N, K * O); ``grad`` is with respect to ``pred`` (the
    chain rule through the transform, :func:`monotone_quantiles_backward`)."""
    K = levels.shape[0]
    q = np.empty(pred.shape, np.float64)
    monotone_quantiles(pred, K, q)
    gq = np.empty(pred.shape, np.float64)
    value = pinball(q, y, w, gq, norm, levels)
    graw = np.empty(pred.shape, np.float64)
    monotone_quantiles_backward(pred, K, gq, graw)
    for r in range(pred.shape[0]):
        for c in range(pred.shape[1]):
            grad[r, c] = graw[r, c]
    return value
