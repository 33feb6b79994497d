"""What a call of the fit loop is told: :class:`TrainingSettings`, the optimiser, the batch
size."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..optim import SGD, Adam

__all__ = ["TrainingSettings", "make_optimizer", "resolve_batch_size", "AUTO_BATCH_MIN",
           "AUTO_BATCH_MAX"]


@dataclass(frozen=True)
class TrainingSettings:
    """The settings of one call of :func:`~seqlstm.training.run_epochs`.

    Parameters
    ----------
    loss : {"mse", "gaussian", "cross_entropy"}
    max_epochs : int
        Epochs to run in this call (1 for ``partial_fit``).
    max_iter : int
        The estimator's ``max_iter``: a :class:`~sklearn.exceptions.ConvergenceWarning` is
        issued when the state's ``n_iter`` reaches it without convergence, as in
        ``MLPRegressor`` (not with "cosine", whose planned end is no failure to converge).
        ``partial_fit``'s "cosine" decays over `max_iter` calls.
    batch_size : int
    shuffle : bool, default True
        Shuffle the samples at every epoch (with the state's generator).
    tol : float, default 1e-4
    n_iter_no_change : int, default 10
        Training stops when the training loss (or, with `monitor`, the validation quantity) has
        not improved by at least `tol` for more than `n_iter_no_change` consecutive epochs.
        With "cosine" the training-loss test is off: the schedule sets the run's length.
    tbptt : None, int or (k1, k2), default None
        Truncated BPTT: with `stateful`, see there; otherwise each minibatch's gradient is the
        engine's TBPTT(k1, k2) gradient of whole sequences (one optimiser step per minibatch).
    stateful : bool, default False
        With ``tbptt=(k1, k2)`` and per-step targets: each minibatch of sequences (e.g. long
        records) is trained along time window by window, carrying the state
        (:func:`~seqlstm.training._stream.stream_batch`): one optimiser step per ``k1`` steps,
        gradients through ``k2`` steps, memory O(batch × k2) besides the data.  The epoch loss
        is then the weighted mean over every scored target (each window's loss weighted by
        :meth:`~seqlstm.network.RecurrentNetwork.loss_weight`).
    dropout : float, default 0.0
    monitor : {"auto", None, "score", "loss"}, default "auto"
        Early stopping on the validation score or loss (the best weights are restored at the
        end), or None (validation figures are only recorded).  "auto": "score" when a score
        function is given, else None.
    learning_rate : {"constant", "plateau", "cosine"}, default "constant"
        Schedule; see :class:`~seqlstm.training.LearningRateSchedule`.  ``fit`` starts a new one
        at every call; ``partial_fit`` keeps the one its first call started (its "cosine"
        decays over `max_iter` calls, after which the rate stays 0).
    learning_rate_init : float, optional
        The schedule's base rate; default: the optimiser's rate at the call's start.
    warmup : int, default 0
        Epochs of linear warm-up.
    plateau_patience : int, default 5
    plateau_factor : float, default 0.5
    incremental : bool, default False
        ``partial_fit``: no convergence test.
    verbose : int, default 0
        Show a tqdm progress bar over epochs with the loss, learning rate and validation
        figures.
    """

    loss: str
    max_epochs: int
    max_iter: int
    batch_size: int
    shuffle: bool = True
    tol: float = 1e-4
    n_iter_no_change: int = 10
    tbptt: object = None
    stateful: bool = False
    dropout: float = 0.0
    monitor: object = "auto"
    learning_rate: str = "constant"
    learning_rate_init: object = None
    warmup: int = 0
    plateau_patience: int = 5
    plateau_factor: float = 0.5
    incremental: bool = False
    verbose: int = 0


def make_optimizer(solver, learning_rate_init, momentum, alpha, clip_norm):
    """Build the optimiser named by `solver`.

    Parameters
    ----------
    solver : {"adam", "sgd"}
    learning_rate_init, momentum, alpha, clip_norm : float or None
        As in the estimators (``momentum`` is used by "sgd" only).

    Returns
    -------
    Adam or SGD
    """
    if solver == "adam":
        return Adam(learning_rate_init, alpha=alpha, clip_norm=clip_norm)
    if solver == "sgd":
        return SGD(learning_rate_init, momentum=momentum, alpha=alpha, clip_norm=clip_norm)
    raise ValueError(f"solver: expected 'adam' or 'sgd'; found {solver!r}.")


#: ``batch_size="auto"`` is ``min(n_samples, clip(n_samples // 32, AUTO_BATCH_MIN,
#: AUTO_BATCH_MAX))``.
AUTO_BATCH_MIN, AUTO_BATCH_MAX = 16, 32


def resolve_batch_size(batch_size, n_samples):
    """``"auto"`` -> ``n_samples // 32`` clipped to [16, 32] and to ``n_samples``: 16 up to
    543 samples, then rising to 32 from 1024 samples (at least 32 optimiser steps per epoch
    until the size reaches 32); an int is clipped to ``n_samples`` (with a warning when it was
    larger), as in ``MLPRegressor``.

    Small data sets get several optimiser steps per epoch (``MLPRegressor``'s 200 gave a set of
    67 series one step per epoch; 16, the FCN baseline's cap, scored above 32 on four of the
    five UCR development sets in cross-validation inside their training splits,
    benchmarks/ACCURACY.md), large ones keep the cheaper epochs of 32 (16 costs ~20% more
    time per epoch at 4096 sequences).

    Returns
    -------
    int

    Examples
    --------
    >>> [resolve_batch_size("auto", n) for n in (10, 36, 1000, 1500, 5000)]
    [10, 16, 31, 32, 32]
    """
    if isinstance(batch_size, str):
        return min(n_samples, int(np.clip(n_samples // 32, AUTO_BATCH_MIN, AUTO_BATCH_MAX)))
    if batch_size > n_samples:
        warnings.warn(
            f"batch_size: got {batch_size}, larger than the {n_samples} training samples; "
            f"using {n_samples}.",
            UserWarning,
        )
    return int(np.clip(batch_size, 1, n_samples))
