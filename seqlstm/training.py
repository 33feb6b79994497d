"""The fit loop: minibatches, optimiser steps, early stopping, divergence handling, progress.

:func:`run_epochs` trains a :class:`~seqlstm.network.RecurrentNetwork` in place for a number of
epochs with scikit-learn's ``MLPRegressor`` semantics for ``tol``, ``n_iter_no_change``,
``early_stopping`` and the history (``loss_curve``, ``best_loss``, ``validation_scores``,
``best_validation_score``, ``n_iter``, ``t``), plus learning-rate schedules
(:class:`LearningRateSchedule`), per-sample weights, a validation loss and the reason training
stopped.  All state that must survive between calls
(``partial_fit``, ``warm_start``), the history included, lives in a :class:`TrainingState`, whose
:meth:`TrainingState.history` gives the history as scikit-learn's fitted attributes.  Estimators
call this module and never loop over data themselves; the arithmetic is done by the network and
the optimiser.

Robustness
----------
- A non-finite batch loss or gradient rolls the weights and the optimiser back to the end of the
  last completed epoch, halves the learning rate and repeats the epoch; a second failure stops
  training with a :class:`~sklearn.exceptions.ConvergenceWarning` (the model keeps the last good
  weights and stays usable).
- ``KeyboardInterrupt`` stops training cleanly: the weights are those of the best validation
  epoch (with early stopping) or of the last completed epoch, and a warning says so.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .network import MIN_VARIANCE, RecurrentNetwork, parse_tbptt, tbptt_windows
from .network.objective import softplus
from .optim import SGD, Adam

__all__ = [
    "TrainingState",
    "LearningRateSchedule",
    "SCHEDULES",
    "make_optimizer",
    "run_epochs",
    "resolve_batch_size",
    "softmax",
    "gaussian_moments",
    "network_config",
    "build_network",
]


#: Names of the learning-rate schedules (the estimators' ``learning_rate`` parameter).
SCHEDULES = ("constant", "plateau", "cosine")


class LearningRateSchedule:
    """The learning rate of every optimiser step: warm-up, then constant, plateau or cosine.

    Pure bookkeeping, no data: the fit loop asks :meth:`rate` before each step, calls
    :meth:`advance` after it and :meth:`end_epoch` after each epoch.  With ``W`` warm-up steps,
    ``T`` planned steps and ``t`` the number of steps taken (from 0), the rate of step ``t`` is

    - ``t < W`` (warm-up): ``lr * (t + 1) / W``, rising linearly from ``lr / W`` to ``lr``;
    - "constant" and "plateau": ``lr``;
    - "cosine": ``lr * 0.5 * (1 + cos(pi * u))`` with ``u = min(t - W, T - W) / (T - W)``, which
      is ``lr * 0.5 * (1 + cos(pi * t / T))`` without warm-up and reaches 0 at ``t = T``,

    where ``lr = learning_rate_init * scale``.  ``scale`` starts at 1; "plateau" multiplies it
    by `factor` once the monitored loss has not improved by more than `tol` for `patience`
    consecutive epochs (then counts afresh), and the fit loop halves it after a non-finite
    loss.

    Parameters
    ----------
    name : {"constant", "plateau", "cosine"}
    learning_rate_init : float
    total_steps : int
        Planned optimiser steps ``T`` (the cosine's length).
    warmup_steps : int, default 0
    patience : int, default 5
    factor : float, default 0.5
    tol : float, default 0.0

    Attributes
    ----------
    step : int
        Steps taken.
    scale : float
    best : float
        Smallest monitored loss seen ("plateau").
    bad_epochs : int
        Consecutive epochs without improvement since the last reduction ("plateau").
    """

    def __init__(self, name, learning_rate_init, *, total_steps, warmup_steps=0, patience=5,
                 factor=0.5, tol=0.0):
        if name not in SCHEDULES:
            raise ValueError(
                f"learning_rate: expected one of {', '.join(map(repr, SCHEDULES))}; "
                f"found {name!r}.")
        self.name = name
        self.learning_rate_init = float(learning_rate_init)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.patience = int(patience)
        self.factor = float(factor)
        self.tol = float(tol)
        self.step = 0
        self.scale = 1.0
        self.best = math.inf
        self.bad_epochs = 0

    def rate(self, step=None):
        """The learning rate of step `step` (default: the next step).

        Returns
        -------
        float
        """
        t = self.step if step is None else int(step)
        lr = self.learning_rate_init * self.scale
        W = self.warmup_steps
        if t < W:
            return lr * (t + 1) / W
        if self.name == "cosine":
            span = self.total_steps - W
            u = 1.0 if span <= 0 else min(t - W, span) / span
            return lr * 0.5 * (1.0 + math.cos(math.pi * u))
        return lr

    def advance(self):
        """Count one optimiser step."""
        self.step += 1

    def end_epoch(self, monitored):
        """Record an epoch's monitored loss; "plateau" reduces the rate when it stalls.

        Parameters
        ----------
        monitored : float
            The validation loss, or the training loss without a validation set.

        Returns
        -------
        bool
            Whether the rate was reduced.
        """
        if self.name != "plateau":
            return False
        if monitored < self.best - self.tol:  # NaN never improves
            self.best = float(monitored)
            self.bad_epochs = 0
            return False
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.scale *= self.factor
            self.bad_epochs = 0
            return True
        return False


class TrainingState:
    """Everything the fit loop carries between epochs and between calls.

    Parameters
    ----------
    optimizer : Adam, SGD or None
        The optimiser (its moments persist across ``partial_fit`` calls); None in a state
        restored by :meth:`from_history`, until training continues.
    rng : numpy.random.Generator or None
        Source of shuffling and dropout masks; None like `optimizer`.

    Attributes
    ----------
    loss : float or None
        Mean training loss of the last completed epoch.
    loss_curve : list of float
        Mean training loss of every completed epoch.
    learning_rate_curve : list of float
        Learning rate at the end of every completed epoch (the rate of the next step, after a
        reduction on plateau); NaN for epochs of a model saved before it was recorded.
    validation_scores : list of float
        Validation score of every completed epoch (when a score is tracked).
    validation_loss_curve : list of float
        Validation loss of every completed epoch (when a validation loss is tracked).
    best_loss : float
        Smallest training loss seen (``inf`` before the first epoch).
    best_validation_score : float
        Largest validation score seen (``-inf`` before the first epoch).
    best_validation_loss : float
        Smallest validation loss seen (``inf`` before the first epoch).
    best_params : ndarray or None
        Copy of the weights at the best monitored validation epoch.
    no_improvement_count : int
        Consecutive epochs without improvement by more than ``tol``.
    n_iter : int
        Number of completed epochs.
    t : int
        Number of training samples seen.
    early_stopping : bool
        Whether the last call stopped on a validation quantity (the history then has no best
        loss, as in ``MLPRegressor``).
    scored, loss_validated : bool
        Whether the last call tracked a validation score / a validation loss (the history has
        ``validation_scores_`` / ``validation_loss_curve_`` only then).
    schedule : LearningRateSchedule or None
        The schedule of the last call.
    stop_reason : str or None
        Why the last call stopped: "converged" (training loss), "early_stopping" (validation),
        "max_iter", "schedule_end" (a "cosine" schedule ran its planned length), "diverged",
        "interrupted", "epochs" (it ran the epochs it was asked for).
    """

    def __init__(self, optimizer, rng):
        self.optimizer = optimizer
        self.rng = rng
        self.loss = None
        self.loss_curve = []
        self.learning_rate_curve = []
        self.validation_scores = []
        self.validation_loss_curve = []
        self.best_loss = np.inf
        self.best_validation_score = -np.inf
        self.best_validation_loss = np.inf
        self.best_params = None
        self.no_improvement_count = 0
        self.n_iter = 0
        self.t = 0
        self.early_stopping = False
        self.scored = False
        self.loss_validated = False
        self.schedule = None
        self.stop_reason = None

    #: The fitted attributes that :meth:`history` gives, in scikit-learn's names.
    HISTORY = ("loss_", "loss_curve_", "best_loss_", "validation_scores_",
               "best_validation_score_", "validation_loss_curve_", "best_validation_loss_",
               "learning_rate_curve_", "n_iter_", "t_", "stop_reason_")

    def history(self):
        """The history as ``MLPRegressor``'s fitted attributes, and a few more.

        Returns
        -------
        dict
            :attr:`HISTORY` -> value: ``loss_``, ``loss_curve_`` and ``learning_rate_curve_``
            (new lists), ``n_iter_``, ``t_``, ``stop_reason_``; ``best_loss_`` (None with
            early stopping or before the first epoch); ``validation_scores_`` (a new list) and
            ``best_validation_score_`` (None before the first epoch) when a validation score
            was tracked, else None; ``validation_loss_curve_`` and ``best_validation_loss_``
            likewise for the validation loss.
        """
        history = {"loss_": self.loss, "loss_curve_": list(self.loss_curve),
                   "learning_rate_curve_": list(self.learning_rate_curve),
                   "n_iter_": self.n_iter, "t_": self.t, "stop_reason_": self.stop_reason,
                   "best_loss_": (None if self.early_stopping or not self.loss_curve
                                  else self.best_loss),
                   "validation_scores_": None, "best_validation_score_": None,
                   "validation_loss_curve_": None, "best_validation_loss_": None}
        if self.scored:
            history["validation_scores_"] = list(self.validation_scores)
            history["best_validation_score_"] = (None if not self.validation_scores
                                                 else self.best_validation_score)
        if self.loss_validated:
            history["validation_loss_curve_"] = list(self.validation_loss_curve)
            history["best_validation_loss_"] = (None if not self.validation_loss_curve
                                                else self.best_validation_loss)
        return history

    @classmethod
    def from_history(cls, history):
        """A state holding a saved :meth:`history`, without optimiser or generator.

        Training continues from it after the caller sets ``optimizer`` and ``rng``; the
        improvement counter and the best weights start afresh.  Entries added after a file was
        written may be missing: no ``learning_rate_curve_`` gives NaN per epoch, no
        ``stop_reason_`` None, no validation loss None.

        Parameters
        ----------
        history : dict
            As returned by :meth:`history`.

        Returns
        -------
        TrainingState
        """
        state = cls(None, None)
        state.loss = history["loss_"]
        state.loss_curve = list(history["loss_curve_"])
        state.n_iter, state.t = history["n_iter_"], history["t_"]
        rates = history.get("learning_rate_curve_")
        state.learning_rate_curve = (list(rates) if rates is not None
                                     else [math.nan] * len(state.loss_curve))
        state.stop_reason = history.get("stop_reason_")
        scores = history["validation_scores_"]
        losses = history.get("validation_loss_curve_")
        state.scored, state.loss_validated = scores is not None, losses is not None
        validated = state.scored or state.loss_validated
        state.early_stopping = history["best_loss_"] is None and validated
        if history["best_loss_"] is not None:
            state.best_loss = history["best_loss_"]
        if state.scored:
            state.validation_scores = list(scores)
        if state.loss_validated:
            state.validation_loss_curve = list(losses)
        if history["best_validation_score_"] is not None:
            state.best_validation_score = history["best_validation_score_"]
        if history.get("best_validation_loss_") is not None:
            state.best_validation_loss = history["best_validation_loss_"]
        return state


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


def run_epochs(
    network,
    state,
    X,
    y,
    *,
    loss,
    max_epochs,
    max_iter,
    batch_size,
    shuffle=True,
    tol=1e-4,
    n_iter_no_change=10,
    tbptt=None,
    dropout=0.0,
    score_fn=None,
    val_loss_fn=None,
    monitor="auto",
    learning_rate="constant",
    learning_rate_init=None,
    warmup=0,
    plateau_patience=5,
    plateau_factor=0.5,
    sample_weight=None,
    incremental=False,
    verbose=0,
    stateful=False,
):
    """Train `network` in place for up to `max_epochs` epochs.

    Parameters
    ----------
    network : RecurrentNetwork
        Network with a head; its ``params`` are updated in place.
    state : TrainingState
        Optimiser, random generator and history; updated in place.
    X : ndarray of shape (n_samples, n_time, n_features)
        Training sequences in the network's dtype, NaN-padded at the end.
    y : ndarray
        Targets as :meth:`RecurrentNetwork.loss_and_grad` takes them.
    loss : {"mse", "gaussian", "cross_entropy"}
    max_epochs : int
        Epochs to run in this call (1 for ``partial_fit``).
    max_iter : int
        The estimator's ``max_iter``: a :class:`ConvergenceWarning` is issued when
        ``state.n_iter`` reaches it without convergence, as in ``MLPRegressor`` (not with
        "cosine", whose planned end is no failure to converge).  ``partial_fit``'s "cosine"
        decays over `max_iter` calls.
    batch_size : int
    shuffle : bool, default True
        Shuffle the samples at every epoch (with ``state.rng``).
    tol : float, default 1e-4
    n_iter_no_change : int, default 10
        Training stops when the training loss (or, with `monitor`, the validation quantity) has
        not improved by at least `tol` for more than `n_iter_no_change` consecutive epochs.
        With "cosine" the training-loss test is off: the schedule sets the run's length.
    tbptt : None, int or (k1, k2)
        Truncated BPTT: with `stateful`, see there; otherwise each minibatch's gradient is the
        engine's TBPTT(k1, k2) gradient of whole sequences (one optimiser step per minibatch).
    dropout : float, default 0.0
    score_fn : callable, optional
        ``score_fn()`` returns the validation score of the current weights (higher is better);
        recorded every epoch.
    val_loss_fn : callable, optional
        ``val_loss_fn()`` returns the validation loss of the current weights; recorded every
        epoch and monitored by "plateau" instead of the training loss.
    monitor : {"auto", None, "score", "loss"}, default "auto"
        Early stopping on the validation score or loss (the best weights are restored at the
        end), or None (validation figures are only recorded).  "auto": "score" when `score_fn`
        is given, else None.
    learning_rate : {"constant", "plateau", "cosine"}, default "constant"
        Schedule; see :class:`LearningRateSchedule`.  ``fit`` starts a new one at every call;
        ``partial_fit`` keeps the one its first call started (its "cosine" decays over
        `max_iter` calls, after which the rate stays 0).
    learning_rate_init : float, optional
        The schedule's base rate; default: the optimiser's rate at the call's start.
    warmup : int, default 0
        Epochs of linear warm-up.
    plateau_patience : int, default 5
    plateau_factor : float, default 0.5
    sample_weight : ndarray of shape (n_samples,), optional
        Non-negative weights: each minibatch's loss is the weighted mean of its samples'
        losses, and the epoch loss the weighted mean over all samples.  A minibatch whose
        weights are all zero makes no optimiser step.
    incremental : bool, default False
        ``partial_fit``: no convergence test.
    verbose : int, default 0
        Show a tqdm progress bar over epochs with the loss, learning rate and validation
        figures.
    stateful : bool, default False
        With ``tbptt=(k1, k2)`` and per-step targets: each minibatch of sequences (e.g. long
        records) is trained along time window by window, carrying the state (see
        :func:`_stream_batch`): one optimiser step per ``k1`` steps, gradients through ``k2``
        steps, memory O(batch × k2) besides the data.  The epoch loss is then the weighted
        mean over every scored target (each window's loss weighted by
        :meth:`~seqlstm.network.RecurrentNetwork.loss_weight`).

    Returns
    -------
    TrainingState
        `state`, with ``stop_reason`` set.
    """
    n_samples = X.shape[0]
    if monitor == "auto":
        monitor = "score" if score_fn is not None else None
    if monitor not in (None, "score", "loss") or (monitor == "loss" and val_loss_fn is None):
        raise ValueError(f"monitor: expected 'auto', None, 'score' (with score_fn) or 'loss' "
                         f"(with val_loss_fn); found {monitor!r}.")
    early_stopping = state.early_stopping = monitor is not None
    state.scored = score_fn is not None
    state.loss_validated = val_loss_fn is not None
    tbptt = parse_tbptt(tbptt)
    stream = tbptt if stateful and tbptt is not None else None
    steps = -(-n_samples // batch_size)
    if stream is not None:          # one optimiser step per TBPTT window
        steps *= len(tbptt_windows(X.shape[1], *stream))
    schedule = _schedule(state, learning_rate, learning_rate_init, max_epochs, max_iter, steps,
                         warmup, plateau_patience, plateau_factor, tol, incremental)
    weight_total = None if sample_weight is None else float(np.sum(sample_weight))
    if weight_total is not None and not weight_total > 0:
        raise ValueError("sample_weight: expected a positive weight on at least one training "
                         "sample; found only zero weights.")
    loss_test = not incremental and schedule.name != "cosine"
    good = _snapshot(network, state)
    failures = 0
    state.stop_reason = "epochs"
    bar = _progress(verbose, max_epochs)
    epoch = 0
    try:
        while epoch < max_epochs:
            order = state.rng.permutation(n_samples) if shuffle else np.arange(n_samples)
            epoch_loss = _one_epoch(network, state, X, y, order, loss, batch_size, tbptt, dropout,
                                    sample_weight, weight_total, stream)
            if epoch_loss is None:  # non-finite loss or gradient
                failures += 1
                _restore(network, state, good)
                schedule = state.schedule
                if failures >= 2:
                    state.stop_reason = "diverged"
                    warnings.warn(
                        "Training diverged twice (non-finite loss or gradient) even after "
                        f"halving the learning rate; stopped after {state.n_iter} epochs with "
                        "the last finite weights. Lower learning_rate_init, lower clip_norm or "
                        "standardize the data.",
                        ConvergenceWarning,
                    )
                    break
                schedule.scale /= 2
                state.optimizer.learning_rate = schedule.rate()
                good = _snapshot(network, state)
                warnings.warn(
                    "Non-finite loss or gradient: rolled back to the weights of the last "
                    "completed epoch and halved the learning rate to "
                    f"{state.optimizer.learning_rate:g}.",
                    RuntimeWarning,
                )
                continue
            epoch += 1
            state.n_iter += 1
            state.t += n_samples
            state.loss = epoch_loss + _penalty(network, state.optimizer)
            state.loss_curve.append(state.loss)
            loss_improved = not state.loss > state.best_loss - tol
            state.best_loss = min(state.best_loss, state.loss)
            val_loss = None
            if score_fn is not None:
                score = float(score_fn())
                state.validation_scores.append(score)
            if val_loss_fn is not None:
                val_loss = float(val_loss_fn())
                state.validation_loss_curve.append(val_loss)
            if early_stopping:
                if monitor == "score":
                    improved = not score < state.best_validation_score + tol
                    best = score > state.best_validation_score
                else:
                    improved = val_loss <= state.best_validation_loss - tol  # NaN: no
                    best = val_loss < state.best_validation_loss
                state.no_improvement_count = 0 if improved else state.no_improvement_count + 1
                if best:
                    state.best_params = network.get_flat()
            else:
                state.no_improvement_count = (0 if loss_improved
                                              else state.no_improvement_count + 1)
            if score_fn is not None:
                state.best_validation_score = max(state.best_validation_score, score)
            if val_loss is not None and val_loss < state.best_validation_loss:
                state.best_validation_loss = val_loss
            schedule.end_epoch(state.loss if val_loss is None else val_loss)
            state.optimizer.learning_rate = schedule.rate()
            state.learning_rate_curve.append(state.optimizer.learning_rate)
            good = _snapshot(network, state)
            _update_bar(bar, state)
            if not incremental and state.no_improvement_count > n_iter_no_change and (
                    early_stopping or loss_test):
                state.stop_reason = "early_stopping" if early_stopping else "converged"
                if verbose:
                    what = ("Validation " + monitor) if early_stopping else "Training loss"
                    bar.write(f"{what} did not improve more than tol={tol:f} for "
                              f"{n_iter_no_change} consecutive epochs. Stopping.")
                break
            if schedule.name == "cosine" and not incremental and epoch == max_epochs:
                state.stop_reason = "schedule_end"
                break
            if state.n_iter == max_iter and schedule.name != "cosine":
                state.stop_reason = "max_iter"
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the "
                    "optimization hasn't converged yet.",
                    ConvergenceWarning,
                )
                break
    except KeyboardInterrupt:
        _restore(network, state, good)
        state.stop_reason = "interrupted"
        kept = ("the best validation epoch" if early_stopping and state.best_params is not None
                else "the last completed epoch")
        warnings.warn(
            f"Training interrupted (KeyboardInterrupt) after {state.n_iter} epochs; keeping "
            f"the weights of {kept}.",
            UserWarning,
        )
    finally:
        bar.close()
    if early_stopping and state.best_params is not None:
        network.set_flat(state.best_params)
    return state


def _schedule(state, name, learning_rate_init, max_epochs, max_iter, steps, warmup, patience,
              factor, tol, incremental):
    """The call's schedule: a new one per ``fit`` (over its `max_epochs`); ``partial_fit``
    keeps the one its first call started (over `max_iter` calls) while the settings stay."""
    if learning_rate_init is None:
        learning_rate_init = state.optimizer.learning_rate
    settings = (name, learning_rate_init, warmup, patience, factor, max_iter, "partial_fit")
    previous = state.schedule
    if incremental and previous is not None and getattr(previous, "settings", None) == settings:
        return previous
    schedule = LearningRateSchedule(
        name, learning_rate_init, total_steps=(max_iter if incremental else max_epochs) * steps,
        warmup_steps=warmup * steps, patience=patience, factor=factor, tol=tol)
    schedule.settings = settings if incremental else None
    state.schedule = schedule
    return schedule


def _snapshot(network, state):
    """What a rollback restores: weights, optimiser and schedule at the end of an epoch."""
    return network.get_flat(), copy.deepcopy(state.optimizer), copy.deepcopy(state.schedule)


def _restore(network, state, snapshot):
    params, optimizer, schedule = snapshot
    network.set_flat(params)
    state.optimizer = copy.deepcopy(optimizer)
    state.schedule = copy.deepcopy(schedule)


def _one_epoch(network, state, X, y, order, loss, batch_size, tbptt, dropout, sample_weight,
               weight_total, stream=None):
    """One pass over the data; the (weighted) mean loss, or None at the first non-finite
    batch."""
    schedule = state.schedule
    total = 0.0
    n = len(order)
    if stream is not None:
        count = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            w = None if sample_weight is None else sample_weight[idx]
            part = _stream_batch(network, state, X[idx], y[idx], w, loss, stream, dropout)
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


def _stream_batch(network, state, X, y, w, loss, tbptt, dropout):
    """Train a minibatch of sequences along time, carrying the state between windows.

    The windows are the engine's TBPTT(k1, k2) windows (:func:`seqlstm.network.tbptt_windows`):
    window ``(w0, s0, tc)`` scores the targets of steps ``s0..tc`` (every ``k1`` steps and the
    last) and its gradient flows back to ``w0 = max(0, tc - k2 + 1)``, starting from the state
    before ``w0`` as a constant; one optimiser step per window.  The state before the next
    window's start is computed from the current window's with the weights before the step (a
    forward pass without stored activations).  With the weights held fixed, the windows'
    gradients add up to the engine's TBPTT gradient of the whole sequences.  A window whose
    observed targets (any target column, at valid steps) have no weight makes no step.

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
    carried = None
    total = count = 0.0
    for i, (w0, s0, tc) in enumerate(windows):
        yw = np.array(y[:, w0:tc + 1], dtype=np.float64)
        yw[:, :s0 - w0] = np.nan                    # steps scored by earlier windows
        mass = network.loss_weight(X[:, w0:tc + 1], yw, loss=loss, sample_weight=w)
        if mass > 0:
            value, grad = network.loss_and_grad(
                X[:, w0:tc + 1], yw, loss=loss, dropout=dropout, random_state=state.rng,
                sample_weight=w, initial_state=carried)
            if not math.isfinite(value) or not np.isfinite(grad).all():
                return None
        if i + 1 < len(windows) and windows[i + 1][0] > w0:
            _, carried = network.forward(X[:, w0:windows[i + 1][0]], initial_state=carried,
                                         return_state=True)
        if mass > 0:
            state.optimizer.learning_rate = schedule.rate()
            state.optimizer.update_params(network.params, grad)
            total += value * mass
            count += mass
        schedule.advance()
    return total, count


def _penalty(network, optimizer):
    """The L2 term ``alpha / 2 * ||w||^2`` that the optimiser's ``alpha`` gradient belongs to."""
    if not optimizer.alpha:
        return 0.0
    p = network.params.astype(np.float64)
    return 0.5 * optimizer.alpha * float(p @ p)


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix(self, **kwargs):
        pass

    def write(self, s):
        pass

    def close(self):
        pass


def _progress(verbose, total):
    if not verbose:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="epoch", desc="fit", leave=True)


def _update_bar(bar, state):
    postfix = {"loss": f"{state.loss:.4g}", "lr": f"{state.learning_rate_curve[-1]:.3g}"}
    if state.scored:
        postfix["val_score"] = f"{state.validation_scores[-1]:.4g}"
    if state.loss_validated:
        postfix["val_loss"] = f"{state.validation_loss_curve[-1]:.4g}"
    bar.set_postfix(**postfix)
    bar.update(1)


# ---------------------------------------------------------------------------------------------
# Output transforms and network (re)construction


def softmax(logits):
    """Softmax over the last axis, computed without overflow (NaN rows stay NaN).

    Parameters
    ----------
    logits : ndarray

    Returns
    -------
    ndarray of float64
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def gaussian_moments(raw, n_outputs):
    """Mean and standard deviation from the Gaussian head's raw outputs.

    Parameters
    ----------
    raw : ndarray of shape (..., 2 * n_outputs)
        Means, then raw variances (``var = softplus(raw) + MIN_VARIANCE``).
    n_outputs : int

    Returns
    -------
    mean, std : ndarray of float64 of shape (..., n_outputs)
    """
    raw = np.asarray(raw, dtype=np.float64)
    mean = raw[..., :n_outputs]
    return mean, np.sqrt(softplus(raw[..., n_outputs:]) + MIN_VARIANCE)


def network_config(network):
    """The constructor arguments of `network`, as a dict of plain Python values
    (:meth:`RecurrentNetwork.config <seqlstm.network.RecurrentNetwork.config>`)."""
    return network.config()


def build_network(config, params=None):
    """Rebuild a network from :func:`network_config` and optionally its flat parameters
    (:meth:`RecurrentNetwork.from_config <seqlstm.network.RecurrentNetwork.from_config>`).

    Parameters
    ----------
    config : dict
    params : ndarray of shape (n_params,), optional

    Returns
    -------
    RecurrentNetwork
    """
    return RecurrentNetwork.from_config(config, params)
