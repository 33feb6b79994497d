"""What the fit loop carries between epochs and calls, and its history as fitted attributes.

:class:`TrainingState` holds the live parts (optimiser, random generator, schedule, best weights,
improvement counter) and the history (curves, bests, counters, stop reason);
:meth:`TrainingState.history` gives the history as scikit-learn's fitted attributes, the form
the estimators expose and :mod:`seqlstm.io` stores, and :meth:`TrainingState.from_history`
rebuilds a state from it.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TrainingState"]


class TrainingState:
    """Everything the fit loop carries between epochs and between calls.

    Two kinds of attributes: the live ones that only a running or continued fit needs
    (``optimizer``, ``rng``, ``schedule``, ``best_params``, ``no_improvement_count``), and the
    history, which :meth:`history` gives as fitted attributes and :meth:`from_history` reads
    back (the form model files store; the live parts then start afresh).

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
