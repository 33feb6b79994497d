"""The epoch loop: :func:`run_epochs`."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..network import parse_tbptt
from ._monitor import Monitor, Rollback, penalty, progress, update_bar
from ._schedules import start_schedule
from ._settings import TrainingSettings
from ._stream import one_epoch, steps_per_epoch

__all__ = ["run_epochs", "in_batches", "batched_loss"]


def run_epochs(network, state, X, y, settings=None, *, score_fn=None, val_loss_fn=None,
               sample_weight=None, **options):
    """Train `network` in place for up to ``settings.max_epochs`` epochs.

    Parameters
    ----------
    network : RecurrentNetwork
        Network with a head; its ``params`` are updated in place.
    state : TrainingState
        Optimiser, random generator and history; updated in place.
    X : ndarray of shape (n_samples, n_time, n_features) or indexable
        Training sequences in the network's dtype, NaN-padded at the end (or any object that
        gives such minibatches for arrays of sample indices and has ``shape[0]``, such as
        :class:`~seqlstm.windowing.WindowSet`'s ``inputs``).  With ``shuffle`` an `X` that
        has ``epoch_order(rng)`` gives each epoch's order of positions itself.
    y : ndarray or indexable
        Targets as :meth:`RecurrentNetwork.loss_and_grad` takes them, indexed like `X`.
    settings : TrainingSettings, optional
        How to train.  Keyword `options` are :class:`TrainingSettings` fields: they build the
        settings (without `settings`) or replace some of them.
    score_fn : callable, optional
        ``score_fn()`` returns the validation score of the current weights (higher is better);
        recorded every epoch.
    val_loss_fn : callable, optional
        ``val_loss_fn()`` returns the validation loss of the current weights; recorded every
        epoch and monitored by "plateau" instead of the training loss.
    sample_weight : ndarray of shape (n_samples,), optional
        Non-negative weights: each minibatch's loss is the weighted mean of its samples'
        losses, and the epoch loss the weighted mean over all samples.  A minibatch whose
        weights are all zero makes no optimiser step.

    Returns
    -------
    TrainingState
        `state`, with ``stop_reason`` set: "converged" (training loss), "early_stopping"
        (validation), "max_iter", "schedule_end" (a "cosine" schedule ran its planned
        length), "diverged", "interrupted" or "epochs" (it ran the epochs it was asked for).

    Notes
    -----
    A non-finite loss or gradient rolls back to the end of the last completed epoch, halves the
    rate and repeats the epoch; a second one stops training (:class:`Rollback`).
    ``KeyboardInterrupt`` stops cleanly with the weights of the last completed epoch.  With
    early stopping the weights of the best validation epoch are restored at the end.
    """
    s = (TrainingSettings(**options) if settings is None
         else dataclasses.replace(settings, **options))
    n_samples = X.shape[0]
    monitor = Monitor(state, s, score_fn, val_loss_fn)
    tbptt = parse_tbptt(s.tbptt)
    stream = tbptt if s.stateful and tbptt is not None else None
    steps = steps_per_epoch(n_samples, X.shape[1] if stream else None, s.batch_size, stream)
    start_schedule(state, s, steps)
    weight_total = _weight_total(sample_weight)
    rollback = Rollback(network, state)
    state.stop_reason = "epochs"
    bar = progress(s.verbose, s.max_epochs)
    epoch = 0
    try:
        while epoch < s.max_epochs:
            order = _epoch_order(X, state.rng, s.shuffle, n_samples)
            loss = one_epoch(network, state, X, y, order, s.loss, s.batch_size, tbptt, s.dropout,
                             sample_weight, weight_total, stream)
            if loss is None:  # non-finite loss or gradient: rolled back
                if rollback.diverged():
                    continue
                break
            epoch += 1
            watched = monitor.end_epoch(network, loss + penalty(network, state.optimizer),
                                        n_samples)
            state.schedule.end_epoch(watched)
            state.optimizer.learning_rate = state.schedule.rate()
            state.learning_rate_curve.append(state.optimizer.learning_rate)
            rollback.commit()
            update_bar(bar, state)
            if monitor.stop(epoch, bar):
                break
    except KeyboardInterrupt:
        rollback.interrupted(monitor.early_stopping)
    finally:
        bar.close()
    monitor.keep_best(network)
    return state


def _epoch_order(X, rng, shuffle, n_samples):
    """The order an epoch visits the samples: ``rng.permutation(n_samples)`` (or in order
    without `shuffle`), unless `X` draws it itself with ``X.epoch_order(rng)`` (a source that
    reads its samples chunk by chunk, :class:`seqlstm.data.chunked.ChunkedBatches`)."""
    if not shuffle:
        return np.arange(n_samples)
    draw = getattr(X, "epoch_order", None)
    return rng.permutation(n_samples) if draw is None else draw(rng)


def _weight_total(sample_weight):
    """``sum(sample_weight)`` (None without weights); a ValueError when no weight is positive."""
    if sample_weight is None:
        return None
    total = float(np.sum(sample_weight))
    if not total > 0:
        raise ValueError("sample_weight: expected a positive weight on at least one training "
                         "sample; found only zero weights.")
    return total


def in_batches(n, batch_size):
    """Position arrays of consecutive batches of `batch_size` (the last one shorter) over `n`
    rows: how data are evaluated batch by batch.

    Examples
    --------
    >>> [idx.tolist() for idx in in_batches(5, 2)]
    [[0, 1], [2, 3], [4]]
    """
    return [np.arange(b0, min(b0 + batch_size, n)) for b0 in range(0, n, batch_size)]


def batched_loss(network, batches, loss):
    """The network's loss over `batches` of data: the validation loss without holding the
    network's arrays for all the data at once.

    Parameters
    ----------
    network : RecurrentNetwork
    batches : iterable of tuple
        ``(X, y, sample_weight)`` per batch, as :meth:`~seqlstm.network.RecurrentNetwork.loss`
        takes them (`sample_weight` may be None), e.g. from :func:`in_batches`.
    loss : str

    Returns
    -------
    float
        The mean over every scored target, each batch's loss weighted by
        :meth:`~seqlstm.network.RecurrentNetwork.loss_weight`; it equals the loss of one pass
        over all the data up to float rounding (the sums are grouped by batch, and float32
        products may round differently in batches of another size).  NaN when no target is
        scored.
    """
    total = weight = 0.0
    for xb, yb, wb in batches:
        w = network.loss_weight(xb, yb, loss=loss, sample_weight=wb)
        if w > 0:
            total += network.loss(xb, yb, loss=loss, sample_weight=wb) * w
            weight += w
    return total / weight if weight > 0 else float("nan")
