"""Learning-rate schedules: warm-up, then constant, plateau or cosine.

:class:`LearningRateSchedule` is pure bookkeeping (no data): the epoch pass asks it for the rate
of every optimiser step; :func:`start_schedule` gives a call of the fit loop its schedule (a new
one per ``fit``, the same one across ``partial_fit`` calls).
"""

from __future__ import annotations

import math

__all__ = ["SCHEDULES", "LearningRateSchedule", "start_schedule"]


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


def start_schedule(state, settings, steps):
    """The schedule of a call of the fit loop, set as ``state.schedule``.

    A new one per ``fit`` (over its ``max_epochs``); ``partial_fit`` (``settings.incremental``)
    keeps the one its first call started (over ``max_iter`` calls) while the settings stay.

    Parameters
    ----------
    state : TrainingState
        Its optimiser's rate is the base rate when ``settings.learning_rate_init`` is None.
    settings : TrainingSettings
    steps : int
        Optimiser steps per epoch.

    Returns
    -------
    LearningRateSchedule
    """
    name, learning_rate_init = settings.learning_rate, settings.learning_rate_init
    warmup, patience, factor = settings.warmup, settings.plateau_patience, settings.plateau_factor
    max_epochs, max_iter = settings.max_epochs, settings.max_iter
    incremental = settings.incremental
    tol = settings.tol
    if learning_rate_init is None:
        learning_rate_init = state.optimizer.learning_rate
    key = (name, learning_rate_init, warmup, patience, factor, max_iter, "partial_fit")
    previous = state.schedule
    if incremental and previous is not None and getattr(previous, "settings", None) == key:
        return previous
    schedule = LearningRateSchedule(
        name, learning_rate_init, total_steps=(max_iter if incremental else max_epochs) * steps,
        warmup_steps=warmup * steps, patience=patience, factor=factor, tol=tol)
    schedule.settings = key if incremental else None
    state.schedule = schedule
    return schedule
