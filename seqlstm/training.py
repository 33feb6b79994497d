"""The fit loop: minibatches, optimiser steps, early stopping, divergence handling, progress.

:func:`run_epochs` trains a :class:`~seqlstm.network.RecurrentNetwork` in place for a number of
epochs with scikit-learn's ``MLPRegressor`` semantics for ``tol``, ``n_iter_no_change``,
``early_stopping`` and the history (``loss_curve``, ``best_loss``, ``validation_scores``,
``best_validation_score``, ``n_iter``, ``t``).  All state that must survive between calls
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

from .network import MIN_VARIANCE, RecurrentNetwork
from .network.objective import softplus
from .optim import SGD, Adam

__all__ = [
    "TrainingState",
    "make_optimizer",
    "run_epochs",
    "resolve_batch_size",
    "softmax",
    "gaussian_moments",
    "network_config",
    "build_network",
]


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
    validation_scores : list of float
        Validation score of every completed epoch (early stopping only).
    best_loss : float
        Smallest training loss seen (``inf`` before the first epoch).
    best_validation_score : float
        Largest validation score seen (``-inf`` before the first epoch).
    best_params : ndarray or None
        Copy of the weights at the best validation score.
    no_improvement_count : int
        Consecutive epochs without improvement by more than ``tol``.
    n_iter : int
        Number of completed epochs.
    t : int
        Number of training samples seen.
    early_stopping : bool
        Whether the last call scored a validation set (the history then has validation scores
        and no best loss, as in ``MLPRegressor``).
    stop_reason : str or None
        Why the last call stopped: "converged", "max_iter", "diverged", "interrupted", "epochs"
        (it ran the epochs it was asked for).
    """

    def __init__(self, optimizer, rng):
        self.optimizer = optimizer
        self.rng = rng
        self.loss = None
        self.loss_curve = []
        self.validation_scores = []
        self.best_loss = np.inf
        self.best_validation_score = -np.inf
        self.best_params = None
        self.no_improvement_count = 0
        self.n_iter = 0
        self.t = 0
        self.early_stopping = False
        self.stop_reason = None

    #: The fitted attributes that :meth:`history` gives, in scikit-learn's names.
    HISTORY = ("loss_", "loss_curve_", "best_loss_", "validation_scores_",
               "best_validation_score_", "n_iter_", "t_")

    def history(self):
        """The history as ``MLPRegressor``'s fitted attributes.

        Returns
        -------
        dict
            :attr:`HISTORY` -> value: ``loss_``, ``loss_curve_`` (a new list), ``n_iter_``,
            ``t_``; with early stopping ``validation_scores_`` (a new list),
            ``best_validation_score_`` (None before the first epoch) and ``best_loss_`` None;
            without it ``best_loss_`` (None before the first epoch) and the validation entries
            None.
        """
        history = {"loss_": self.loss, "loss_curve_": list(self.loss_curve),
                   "n_iter_": self.n_iter, "t_": self.t}
        if self.early_stopping:
            history["best_loss_"] = None
            history["validation_scores_"] = list(self.validation_scores)
            history["best_validation_score_"] = (None if not self.validation_scores
                                                 else self.best_validation_score)
        else:
            history["best_loss_"] = None if not self.loss_curve else self.best_loss
            history["validation_scores_"] = None
            history["best_validation_score_"] = None
        return history

    @classmethod
    def from_history(cls, history):
        """A state holding a saved :meth:`history`, without optimiser or generator.

        Training continues from it after the caller sets ``optimizer`` and ``rng``; the
        improvement counter and the best weights start afresh.

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
        state.early_stopping = history["validation_scores_"] is not None
        if history["best_loss_"] is not None:
            state.best_loss = history["best_loss_"]
        if state.early_stopping:
            state.validation_scores = list(history["validation_scores_"])
        if history["best_validation_score_"] is not None:
            state.best_validation_score = history["best_validation_score_"]
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


def resolve_batch_size(batch_size, n_samples):
    """``"auto"`` -> ``min(200, n_samples)``; an int is clipped to ``n_samples`` (with a warning
    when it was larger), as in ``MLPRegressor``.

    Returns
    -------
    int
    """
    if isinstance(batch_size, str):
        return min(200, n_samples)
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
    incremental=False,
    verbose=0,
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
        ``state.n_iter`` reaches it without convergence, as in ``MLPRegressor``.
    batch_size : int
    shuffle : bool, default True
        Shuffle the samples at every epoch (with ``state.rng``).
    tol : float, default 1e-4
    n_iter_no_change : int, default 10
        Training stops when the loss (or, with `score_fn`, the validation score) has not improved
        by at least `tol` for more than `n_iter_no_change` consecutive epochs.
    tbptt : None, int or (k1, k2)
    dropout : float, default 0.0
    score_fn : callable, optional
        ``score_fn()`` returns the validation score of the current weights (higher is better).
        Given: early stopping; the best weights are restored at the end.
    incremental : bool, default False
        ``partial_fit``: no convergence test.
    verbose : int, default 0
        Show a tqdm progress bar over epochs with the loss and validation score.

    Returns
    -------
    TrainingState
        `state`, with ``stop_reason`` set.
    """
    n_samples = X.shape[0]
    early_stopping = state.early_stopping = score_fn is not None
    good_params = network.get_flat()
    good_optimizer = copy.deepcopy(state.optimizer)
    failures = 0
    state.stop_reason = "epochs"
    bar = _progress(verbose, max_epochs)
    epoch = 0
    try:
        while epoch < max_epochs:
            order = state.rng.permutation(n_samples) if shuffle else np.arange(n_samples)
            epoch_loss = _one_epoch(network, state, X, y, order, loss, batch_size, tbptt, dropout)
            if epoch_loss is None:  # non-finite loss or gradient
                failures += 1
                network.set_flat(good_params)
                state.optimizer = copy.deepcopy(good_optimizer)
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
                state.optimizer.learning_rate /= 2
                good_optimizer = copy.deepcopy(state.optimizer)
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
            if early_stopping:
                score = float(score_fn())
                state.validation_scores.append(score)
                if score < state.best_validation_score + tol:
                    state.no_improvement_count += 1
                else:
                    state.no_improvement_count = 0
                if score > state.best_validation_score:
                    state.best_validation_score = score
                    state.best_params = network.get_flat()
            else:
                if state.loss > state.best_loss - tol:
                    state.no_improvement_count += 1
                else:
                    state.no_improvement_count = 0
                if state.loss < state.best_loss:
                    state.best_loss = state.loss
            good_params = network.get_flat()
            good_optimizer = copy.deepcopy(state.optimizer)
            _update_bar(bar, state, early_stopping)
            if not incremental and state.no_improvement_count > n_iter_no_change:
                state.stop_reason = "converged"
                if verbose:
                    what = "Validation score" if early_stopping else "Training loss"
                    bar.write(f"{what} did not improve more than tol={tol:f} for "
                              f"{n_iter_no_change} consecutive epochs. Stopping.")
                break
            if state.n_iter == max_iter:
                state.stop_reason = "max_iter"
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the "
                    "optimization hasn't converged yet.",
                    ConvergenceWarning,
                )
                break
    except KeyboardInterrupt:
        network.set_flat(good_params)
        state.optimizer = good_optimizer
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


def _one_epoch(network, state, X, y, order, loss, batch_size, tbptt, dropout):
    """One pass over the data; the mean loss, or None at the first non-finite batch."""
    total = 0.0
    n = len(order)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        value, grad = network.loss_and_grad(
            X[idx], y[idx], loss=loss, tbptt=tbptt, dropout=dropout, random_state=state.rng
        )
        if not math.isfinite(value) or not np.isfinite(grad).all():
            return None
        state.optimizer.update_params(network.params, grad)
        total += value * len(idx)
    return total / n


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


def _update_bar(bar, state, early_stopping):
    postfix = {"loss": f"{state.loss:.4g}"}
    if early_stopping:
        postfix["val_score"] = f"{state.validation_scores[-1]:.4g}"
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
