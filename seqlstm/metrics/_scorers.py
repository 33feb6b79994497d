"""scikit-learn scorers of the point scores (:func:`get_scorer`, ``SCORERS``)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import make_scorer

from ._core import _as_float
from ._point import kge, mae, mse, nse, rmse

__all__ = ["get_scorer", "SCORERS"]


def _per_output(func):
    """A ``(y_true, y_pred)`` metric for scikit-learn: 1-D input is reduced whole; otherwise
    every axis but the last (samples, and time for per-step outputs) is reduced and the
    per-output scores are averaged uniformly (scikit-learn's ``multioutput="uniform_average"``).
    """
    def metric(y_true, y_pred):
        y_true = _as_float("y_true", y_true)
        y_pred = _as_float("y_pred", y_pred)
        if y_true.shape != y_pred.shape and y_true.size == y_pred.size:
            y_pred = y_pred.reshape(y_true.shape)  # (n,) against (n, 1)
        if y_true.ndim <= 1:
            return float(func(y_true, y_pred))
        return float(np.mean(func(y_true, y_pred, axis=tuple(range(y_true.ndim - 1)))))

    metric.__name__ = func.__name__
    metric.__doc__ = _per_output.__doc__
    return metric


#: Name -> scikit-learn scorer (``make_scorer`` objects; losses are negated, as scikit-learn's
#: ``neg_*`` scorers).  Persistence skill needs the time order and the lead and is the
#: forecaster's own ``score``; CRPS and coverage need a predicted spread, which ``predict`` does
#: not return.
SCORERS = {
    "neg_mse": make_scorer(_per_output(mse), greater_is_better=False),
    "neg_rmse": make_scorer(_per_output(rmse), greater_is_better=False),
    "neg_mae": make_scorer(_per_output(mae), greater_is_better=False),
    "nse": make_scorer(_per_output(nse), greater_is_better=True),
    "kge": make_scorer(_per_output(kge), greater_is_better=True),
}


def get_scorer(name):
    """A scikit-learn scorer by name, for ``cross_val_score(..., scoring=get_scorer("nse"))``.

    Parameters
    ----------
    name : str
        One of ``"neg_mse"``, ``"neg_rmse"``, ``"neg_mae"`` (losses, negated so that greater is
        better, like scikit-learn's ``neg_*`` scorers), ``"nse"``, ``"kge"``.

    Returns
    -------
    sklearn.metrics._scorer._Scorer
        Calls ``estimator.predict(X)`` and scores it against ``y``; 2-D (and 3-D per-step)
        targets are scored per output (the last axis) and averaged.
    """
    try:
        return SCORERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"name must be one of {sorted(SCORERS)}; found {name!r}") from None
