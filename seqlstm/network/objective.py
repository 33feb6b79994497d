"""The training objective: targets and weights, the linear head, the losses, and the output
gradient they send into the top of the stack."""

import numpy as np

from ..kernels import dense as _dense
from ..kernels import losses as _losses
from .stack import readout

LOSSES = ("mse", "mae", "gaussian", "quantile", "cross_entropy")
#: Smallest variance of the Gaussian head.
MIN_VARIANCE = 1e-6
#: Quantile levels of ``loss="quantile"`` when none are given.
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
_LOSS_KERNELS = {"mse": _losses.mse, "mae": _losses.mae, "gaussian": _losses.gaussian_nll,
                 "quantile": _losses.quantile_loss, "cross_entropy": _losses.cross_entropy}


def check_quantiles(quantiles, arg="quantiles"):
    """`quantiles` as a tuple of floats, checked: at least one level, each in (0, 1), strictly
    increasing.

    Raises
    ------
    ValueError
        Naming `arg`, what was expected and what was found.
    """
    try:
        levels = np.asarray(quantiles, dtype=np.float64)
    except (TypeError, ValueError):
        levels = None
    if (levels is None or levels.ndim != 1 or levels.size == 0 or isinstance(quantiles, str)
            or not np.all((levels > 0) & (levels < 1)) or np.any(np.diff(levels) <= 0)):
        raise ValueError(f"{arg}: expected a non-empty, strictly increasing sequence of levels "
                         f"in the open interval (0, 1); found {quantiles!r}.")
    return tuple(float(v) for v in levels)


class QuantileLoss:
    """``loss="quantile"`` at given levels: the pinball loss averaged over `quantiles`, on
    non-crossing quantiles (:func:`seqlstm.kernels.losses.quantile_loss`).  The head gives
    ``len(quantiles)`` blocks of one raw output per target; the plain string ``"quantile"``
    means :data:`DEFAULT_QUANTILES`.

    Parameters
    ----------
    quantiles : sequence of float, default DEFAULT_QUANTILES
        Strictly increasing levels in (0, 1).
    """

    name = "quantile"

    def __init__(self, quantiles=DEFAULT_QUANTILES):
        self.quantiles = check_quantiles(quantiles)

    def __eq__(self, other):
        return isinstance(other, QuantileLoss) and other.quantiles == self.quantiles

    def __hash__(self):
        return hash(self.quantiles)

    def __repr__(self):
        return f"QuantileLoss({self.quantiles!r})"


def resolve_loss(loss):
    """The name of `loss` (a name in :data:`LOSSES` or a :class:`QuantileLoss`) and its
    quantile levels (float64 array; None for the other losses).

    Raises
    ------
    ValueError
        For anything else.
    """
    if isinstance(loss, QuantileLoss):
        return loss.name, np.asarray(loss.quantiles, dtype=np.float64)
    if isinstance(loss, str) and loss in LOSSES:
        if loss == "quantile":
            return loss, np.asarray(DEFAULT_QUANTILES, dtype=np.float64)
        return loss, None
    raise ValueError(f"loss must be one of {LOSSES} or a QuantileLoss, got {loss!r}")


def outputs_per_target(loss):
    """Head outputs per target of `loss`: 2 for "gaussian" (mean, raw variance), the number of
    levels for quantiles, else 1 (class logits are not per target)."""
    name, levels = resolve_loss(loss)
    if name == "gaussian":
        return 2
    return 1 if levels is None else len(levels)


def quantile_outputs(raw, n_outputs, n_levels):
    """Non-crossing quantiles from the quantile head's raw outputs.

    Parameters
    ----------
    raw : ndarray of shape (..., n_levels * n_outputs)
        Blocks of `n_outputs` raw values, one block per level (as the loss reads them).
    n_outputs, n_levels : int

    Returns
    -------
    ndarray of float64 of shape (..., n_outputs, n_levels)
        Increasing along the last axis (:func:`seqlstm.kernels.losses.monotone_quantiles`).
    """
    raw = np.asarray(raw, dtype=np.float64)
    flat = np.ascontiguousarray(raw.reshape(-1, raw.shape[-1]))
    q = np.empty_like(flat)
    _losses.monotone_quantiles(flat, n_levels, q)
    q = q.reshape(raw.shape[:-1] + (n_levels, n_outputs))
    return np.swapaxes(q, -1, -2)


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
    name, levels = resolve_loss(loss)
    grad = np.empty_like(pred)
    if name == "gaussian":
        return _LOSS_KERNELS[name](pred, y, w, grad, norm, MIN_VARIANCE), grad
    if name == "quantile":
        return _LOSS_KERNELS[name](pred, y, w, grad, norm, levels), grad
    return _LOSS_KERNELS[name](pred, y, w, grad, norm), grad


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
    heads = outputs_per_target(loss)
    loss, _ = resolve_loss(loss)
    per_step = y.ndim == (2 if loss == "cross_entropy" else 3)
    expected = output_size // heads
    if output_size % heads:
        raise ValueError(f"loss={loss!r} needs an output_size that is a multiple of {heads} "
                         f"(outputs per target); found {output_size}")
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
    return yt, _losses.observed_weight(yt.reshape(T * B, -1), w)


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
    gradient with respect to the top layer's outputs.  Under unidirectional truncated BPTT the
    same is done window by window (:meth:`window`; per-sequence targets after
    :meth:`summarise`): the loss is a weighted mean whose normaliser (the weight of every
    scored target) is known before any window, so the windows' parts add up to it.

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
        if self.per_step:
            return self._steps(c, top, 0, self.T)
        dfeats = self._sequence(c, readout(layers, c, top, self.lens[c], self.readout))
        dout = self.ws.buf((c, "dout"), (self.T,) + top.shape[1:], zero=True)
        self._sequence_dout(c, dfeats, dout, 0, 0)
        return dout

    def window(self, tops, w0, s0, tc):
        """The gradients with respect to the top outputs ``tops`` (per sub-batch, steps
        ``w0..tc``) of the loss of the targets of steps ``s0..tc`` (zero before ``s0``); the
        loss's part and the head's gradient are accumulated.  Per-sequence targets need
        :meth:`summarise` first."""
        douts = []
        for c, top in enumerate(tops):
            dout = self.ws.buf((c, "window dout"), top.shape, zero=True)
            if self.per_step:
                dout[s0 - w0:] = self._steps(c, top[s0 - w0:], s0, tc + 1)
            else:
                self._sequence_dout(c, self.dfeats[c], dout, w0, s0)
            douts.append(dout)
        return tuple(douts)

    def summarise(self, layers, sums):
        """Loss and head gradient of per-sequence targets from a forward pass's final states
        (``layers``) and the sums of its top outputs over the steps (``sums``, per sub-batch,
        for ``readout="last+mean"``); keeps the readout's gradient for :meth:`window`."""
        self.dfeats = [self._sequence(c, readout(layers, c, None, self.lens[c], self.readout,
                                                 None if sums is None else sums[c]))
                       for c in range(len(self.chunks))]

    def _steps(self, c, feats, t0, t1):
        """Per-step targets of steps ``t0..t1-1`` scored on ``feats`` (their top outputs):
        adds the loss's part, accumulates the head's gradient, returns the gradient with
        respect to ``feats``."""
        b0, b1 = self.chunks[c]
        y2 = np.ascontiguousarray(self.yt[t0:t1, b0:b1]).reshape((t1 - t0) * (b1 - b0), -1)
        w2 = np.tile(self.w[b0:b1], t1 - t0)
        return self._score(c, feats, y2, w2)

    def _sequence(self, c, feats):
        """Per-sequence targets scored on the readout ``feats``; returns its gradient."""
        b0, b1 = self.chunks[c]
        return self._score(c, feats, np.ascontiguousarray(self.yt[b0:b1]), self.w[b0:b1])

    def _score(self, c, feats, y2, w2):
        pred = apply_head(feats, self.head)
        part, grad = loss_gradient(self.loss, pred.reshape(-1, pred.shape[-1]), y2, w2,
                                   self.norm)
        self.losses[c] += part
        g = self.grads[c]
        return head_backward(feats, grad.reshape(pred.shape), self.head[0], g["head_weight"],
                             g["head_bias"])

    def _sequence_dout(self, c, dfeats, dout, w0, s0):
        """Write into ``dout`` (zeros; the top outputs of steps ``w0..``) the gradient of the
        readout reaching steps ``s0..`` (the mean's at every valid step, the final states' at
        the last valid step; the reverse direction's at step 0)."""
        H = self.H
        F = 2 * H if self.bidirectional else H
        lk = self.lens[c]
        n = dout.shape[0]
        if self.readout == "last+mean":       # the mean's gradient reaches every valid step
            dmean = dfeats[:, F:] / np.maximum(lk, 1)[:, None]
            valid = np.arange(s0, w0 + n)[:, None] < lk[None, :]
            dout[s0 - w0:] = np.where(valid[..., None], dmean[None, :, :], 0)
        idx = np.nonzero((lk > s0) & (lk <= w0 + n))[0]
        dout[lk[idx] - 1 - w0, idx, :H] += dfeats[idx, :H]
        if self.bidirectional and s0 == 0:
            idx = np.nonzero(lk > 0)[0]
            dout[0, idx, H:F] += dfeats[idx, H:F]

    def value(self):
        """The batch's loss: the sub-batches' parts added in their fixed order."""
        value = 0.0
        for part in self.losses:
            value += part
        return float(value)
