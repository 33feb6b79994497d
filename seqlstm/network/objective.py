"""The training objective: targets and weights, the linear head, the losses, and the output
gradient they send into the top of the stack."""

import numpy as np

from ..kernels import dense as _dense
from ..kernels import losses as _losses
from .stack import readout

LOSSES = ("mse", "gaussian", "cross_entropy")
#: Smallest variance of the Gaussian head.
MIN_VARIANCE = 1e-6
_LOSS_KERNELS = {"mse": _losses.mse, "gaussian": _losses.gaussian_nll,
                 "cross_entropy": _losses.cross_entropy}


def softplus(x):
    """``log(1 + exp(x))`` without overflow, elementwise (the Gaussian head's variance is
    ``softplus(raw) + MIN_VARIANCE``)."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def loss_gradient(loss, pred, y, w, norm):
    """Loss ``loss`` of predictions ``pred`` (N, outputs) for targets ``y`` (N, targets; class
    indices (N, 1) for cross-entropy), row weights ``w`` and normaliser ``norm`` (see
    ``seqlstm.kernels.losses``), and its gradient with respect to ``pred``.

    Returns
    -------
    value : float
    grad : ndarray, like ``pred``
    """
    grad = np.empty_like(pred)
    if loss == "gaussian":
        return _LOSS_KERNELS[loss](pred, y, w, grad, norm, MIN_VARIANCE), grad
    return _LOSS_KERNELS[loss](pred, y, w, grad, norm), grad


def apply_head(feats, head):
    """``feats @ W.T + b`` over the last axis, for ``head = (W, b)``; ``feats`` itself when
    ``head`` is None.  Per-step features ``(T, b, F)`` are multiplied one step (``b`` rows) at a
    time, so a step's result does not depend on how many steps the call holds."""
    if head is None:
        return feats
    w, b = head
    n_out = w.shape[0]
    shape = feats.shape
    f2 = np.ascontiguousarray(feats.reshape(-1, shape[-1]))
    out = np.empty((f2.shape[0], n_out), w.dtype)
    block = shape[-2] if len(shape) == 3 else f2.shape[0]
    _dense.dense_forward(f2, w, b, out, max(1, block))
    return out.reshape(shape[:-1] + (n_out,))


def head_backward(feats, dy, w, dw, db):
    """Backward of :func:`apply_head`: accumulates into ``dw``, ``db`` and returns the gradient
    with respect to ``feats``."""
    shape = feats.shape
    f2 = np.ascontiguousarray(feats.reshape(-1, shape[-1]))
    dy2 = np.ascontiguousarray(dy.reshape(-1, w.shape[0]), dtype=w.dtype)
    df = np.empty_like(f2)
    _dense.dense_backward(f2, w, dy2, df, dw, db)
    return df.reshape(shape)


def check_targets(y, loss, B, T, output_size):
    """``y`` as float64 (class indices get a trailing axis of 1), and whether it is per step.

    Raises
    ------
    ValueError
        When ``y`` does not match the batch, the loss and the head.
    """
    y = np.asarray(y, dtype=np.float64)
    per_step = y.ndim == (2 if loss == "cross_entropy" else 3)
    expected = output_size // (2 if loss == "gaussian" else 1)
    if loss == "gaussian" and output_size % 2:
        raise ValueError("loss='gaussian' needs an even output_size (means, variances)")
    if loss == "cross_entropy":
        ok = y.shape in ((B,), (B, T))
        y = y[..., None]
    else:
        ok = y.shape in ((B, expected), (B, T, expected))
    if not ok:
        raise ValueError(f"y has shape {y.shape}, expected (sample, [time,] targets) "
                         f"matching {B} samples, {T} steps, {expected} targets")
    return y, per_step


def check_weights(sample_weight, B):
    """Row weights: ones, or ``sample_weight`` as float64 of shape (B,)."""
    w = np.ones(B) if sample_weight is None else np.asarray(sample_weight, np.float64)
    if w.shape != (B,):
        raise ValueError(f"sample_weight must have shape ({B},), got {w.shape}")
    return w


def scored_targets(y, per_step, w, mask):
    """The targets as the loss reads them, and the loss's normaliser.

    Parameters
    ----------
    y : ndarray
        From :func:`check_targets`.
    per_step : bool
    w : ndarray (sample,)
        Row weights.
    mask : ndarray of bool (time, sample)
        Valid steps.

    Returns
    -------
    yt : ndarray
        Per-step targets time-major with padded steps NaN; per-sequence targets as given.
    norm : float
        The sum of the row weights over the observed (non-NaN) targets of `yt`: the losses
        are weighted means over them, so ``loss * norm`` is the weighted sum.
    """
    if not per_step:
        return y, _losses.observed_weight(y, w)
    T, B = mask.shape
    yt = np.swapaxes(y, 0, 1).copy()
    yt[~mask] = np.nan
    return yt, _losses.observed_weight(yt.reshape(T * B, -1), np.tile(w, T))


def dropout_masks(dropout, num_layers, shape, dtype, random_state):
    """Inverted-dropout masks of the outputs (``shape`` (time, sample, features)) of every
    layer but the last, or None (no dropout, or a single layer)."""
    if not (dropout and num_layers > 1):
        return None
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    rng = np.random.default_rng(random_state)
    keep = 1.0 - dropout
    return [((rng.random(shape) < keep) / keep).astype(dtype) for _ in range(num_layers - 1)]


class Objective:
    """The loss of a batch processed in sub-batches, as the top-layer output gradient function
    of :func:`~seqlstm.network.tbptt.stack_gradient`: calling it with the stack's outputs runs
    the head and the loss of every sub-batch, accumulates the head's gradient and returns the
    gradient with respect to the top layer's outputs.

    Parameters
    ----------
    loss : str
    y : ndarray
        From :func:`check_targets`.
    per_step : bool
        One target per step (scored on the top layer's outputs) or per sequence (scored on
        the final states, :func:`~seqlstm.network.stack.summary`).
    w : ndarray (sample,)
        Row weights.
    mask : ndarray of bool (time, sample)
        Valid steps.
    chunks, lens : tuple
        Sub-batches ``(b0, b1)`` and their lengths.
    head : (W, b)
        The head's weights.
    grads : tuple of dict
        Per sub-batch gradient views, receiving the head's gradient.
    hidden_size : int
    bidirectional : bool
    ws : Workspace
    """

    def __init__(self, loss, y, per_step, w, mask, chunks, lens, head, grads, hidden_size,
                 bidirectional, ws, readout="last"):
        T, B = mask.shape
        yt, self.norm = scored_targets(y, per_step, w, mask)
        self.loss, self.yt, self.per_step, self.w, self.T = loss, yt, per_step, w, T
        self.chunks, self.lens, self.head, self.grads = chunks, lens, head, grads
        self.H, self.bidirectional, self.ws = hidden_size, bidirectional, ws
        self.readout = readout
        self.losses = [0.0] * len(chunks)

    def __call__(self, tops, layers):
        return tuple(self.sub_batch(c, top, layers) for c, top in enumerate(tops))

    def sub_batch(self, c, top, layers):
        """Head, loss and the top layer's output gradient of sub-batch ``c``."""
        b0, b1 = self.chunks[c]
        T, H = self.T, self.H
        lk, wk = self.lens[c], self.w[b0:b1]
        if self.per_step:
            feats = top
            y2 = np.ascontiguousarray(self.yt[:, b0:b1]).reshape(T * (b1 - b0), -1)
            w2 = np.tile(wk, T)
        else:
            feats = readout(layers, c, top, lk, self.readout)
            y2 = np.ascontiguousarray(self.yt[b0:b1])
            w2 = wk
        pred = apply_head(feats, self.head)
        self.losses[c], grad = loss_gradient(self.loss, pred.reshape(-1, pred.shape[-1]), y2,
                                             w2, self.norm)
        g = self.grads[c]
        dfeats = head_backward(feats, grad.reshape(pred.shape), self.head[0], g["head_weight"],
                               g["head_bias"])
        if self.per_step:
            return dfeats
        F = 2 * H if self.bidirectional else H
        dout = self.ws.buf((c, "dout"), (T, b1 - b0, F), zero=True)
        if self.readout == "last+mean":       # the mean's gradient reaches every valid step
            dmean = dfeats[:, F:] / np.maximum(lk, 1)[:, None]
            valid = np.arange(T)[:, None] < lk[None, :]
            dout[...] = np.where(valid[..., None], dmean[None, :, :], 0)
        idx = np.nonzero(lk > 0)[0]
        dout[lk[idx] - 1, idx, :H] += dfeats[idx, :H]
        if self.bidirectional:
            dout[0, idx, H:F] += dfeats[idx, H:F]
        return dout

    def value(self):
        """The batch's loss: the sub-batches' parts added in their fixed order."""
        value = 0.0
        for part in self.losses:
            value += part
        return float(value)
