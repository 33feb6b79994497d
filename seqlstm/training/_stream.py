"""Streaming the data through the optimiser: one epoch in minibatches, and the stateful
TBPTT(k1, k2) windows along time of a minibatch of long sequences."""

from __future__ import annotations

import math

import numpy as np

from ..network import tbptt_windows

__all__ = ["one_epoch", "stream_batch", "steps_per_epoch"]


def steps_per_epoch(n_samples, n_time, batch_size, stream):
    """Optimiser steps of one epoch: one per minibatch, times the TBPTT windows with `stream`."""
    steps = -(-n_samples // batch_size)
    if stream is not None:          # one optimiser step per TBPTT window
        steps *= len(tbptt_windows(n_time, *stream))
    return steps


def one_epoch(network, state, X, y, order, loss, batch_size, tbptt, dropout, sample_weight,
              weight_total, stream=None):
    """One pass over the data in minibatches of `order`, one optimiser step per minibatch
    (per TBPTT window with `stream`).

    Parameters
    ----------
    network : RecurrentNetwork
    state : TrainingState
        Its optimiser, generator and schedule (``state.schedule``) are used and advanced.
    X, y : ndarray or indexable
        Inputs and targets, indexed by arrays of sample indices.
    order : ndarray of int
        The samples in the order of this epoch.
    loss : str
    batch_size : int
    tbptt : None or (k1, k2)
    dropout : float
    sample_weight : ndarray or None
    weight_total : float or None
        ``sample_weight.sum()``.
    stream : None or (k1, k2)
        Train each minibatch along time with the state carried (:func:`stream_batch`).

    Returns
    -------
    float or None
        The (weighted) mean loss, or None at the first non-finite loss or gradient.
    """
    schedule = state.schedule
    total = 0.0
    n = len(order)
    if stream is not None:
        count = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            w = None if sample_weight is None else sample_weight[idx]
            part = stream_batch(network, state, X[idx], y[idx], w, loss, stream, dropout)
            if part is None:
                return None
            total += part[0]
            count += part[1]
        return total / count if count else 0.0
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        w = None if sample_weight is None else sample_weight[idx]
        value, grad = network.loss_and_grad(
            X[idx], y[idx], loss=loss, tbptt=tbptt, dropout=dropout, random_state=state.rng,
            sample_weight=w,
        )
        if not math.isfinite(value) or not np.isfinite(grad).all():
            return None
        mass = len(idx) if w is None else float(np.sum(w))
        if mass > 0:
            state.optimizer.learning_rate = schedule.rate()
            state.optimizer.update_params(network.params, grad)
        schedule.advance()
        total += value * mass
    return total / (n if weight_total is None else weight_total)


def stream_batch(network, state, X, y, w, loss, tbptt, dropout):
    """Train a minibatch of sequences along time, carrying the state between windows.

    The windows are the engine's TBPTT(k1, k2) windows (:func:`seqlstm.network.tbptt_windows`):
    window ``(w0, s0, tc)`` scores the targets of steps ``s0..tc`` (every ``k1`` steps and the
    last) and its gradient flows back to ``w0 = max(0, tc - k2 + 1)``, starting from the state
    before ``w0`` as a constant; one optimiser step per window.  The state before the next
    window's start is the current window's there, with the weights before the step: returned
    by the pass that computes the window's gradient (``loss_and_grad(...,
    return_state_at=...)``: bit for bit a forward pass's state for a minibatch of several
    records, to float rounding for one record), so no other pass runs.  Two cases take a
    forward pass without stored activations instead: a window with nothing to score (no
    gradient pass), and dropout in a stack of several layers, where the gradient pass runs
    with dropout masks while the carried state is the one without them (as it always was:
    the state the record has at prediction).  With the weights held
    fixed, the windows' gradients add up to the engine's TBPTT gradient of the whole
    sequences.  A window whose observed targets (any target column, at valid steps) have no
    weight makes no step.

    Returns
    -------
    (float, float) or None
        Sum over windows of the window loss times its weight
        (:meth:`~seqlstm.network.RecurrentNetwork.loss_weight`: the sample weights summed over
        its observed targets), and the sum of those weights, so that their ratio is the
        weighted mean over every scored target; None at the first non-finite loss or
        gradient.
    """
    schedule = state.schedule
    windows = tbptt_windows(X.shape[1], *tbptt)
    masked = bool(dropout) and network.num_layers > 1     # the gradient pass has dropout
    carried = None
    total = count = 0.0
    for i, (w0, s0, tc) in enumerate(windows):
        yw = np.array(y[:, w0:tc + 1], dtype=np.float64)
        yw[:, :s0 - w0] = np.nan                    # steps scored by earlier windows
        mass = network.loss_weight(X[:, w0:tc + 1], yw, loss=loss, sample_weight=w)
        # steps to the next window's start, when the state must be carried there
        nxt = (windows[i + 1][0] - w0
               if i + 1 < len(windows) and windows[i + 1][0] > w0 else None)
        state_at = None if masked else nxt
        if mass > 0:
            value, grad, *returned = network.loss_and_grad(
                X[:, w0:tc + 1], yw, loss=loss, dropout=dropout, random_state=state.rng,
                sample_weight=w, initial_state=carried, return_state_at=state_at)
            if not math.isfinite(value) or not np.isfinite(grad).all():
                return None
            if state_at is not None:
                carried = returned[0]
                nxt = None
        if nxt is not None:
            _, carried = network.forward(X[:, w0:w0 + nxt], initial_state=carried,
                                         return_state=True)
        if mass > 0:
            state.optimizer.learning_rate = schedule.rate()
            state.optimizer.update_params(network.params, grad)
            total += value * mass
            count += mass
        schedule.advance()
    return total, count
