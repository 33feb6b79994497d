"""scikit-learn scorers of the point scores (:func:`get_scorer`, ``SCORERS``).

A scorer reduces a score over the samples and, for estimators with one target per time step
(``return_sequences=True``), over their steps too: every observed (sample, step) point of a
target variable is one observation, as in ``LSTMRegressor.score``, so one record of many steps
has a finite NSE.  The last axis, when there is one besides the samples (and steps), is the
target variable: the score is computed per target and the targets' scores are averaged
uniformly (scikit-learn's ``multioutput="uniform_average"``).

Which layout an estimator predicts is the estimator's to say: seqlstm's regressors (and seed
ensembles of them, and pipelines ending in either) give the scorer their targets and predictions
as arrays through ``_score_arrays(X, y)`` (the targets read as their ``fit`` reads them: matched
by dim name, spin-up steps missing) and their own ``score`` is the "nse" scorer's function on the
same arrays: one code path, one number.  ``LSTMForecaster`` gives the observations and forecasts
its ``score`` scores (leads pooled like steps; on a fold of
:func:`seqlstm.model_selection.along_time`, only the forecasts valid in the fold), with ``y``
None.  Any other estimator's ``predict(X)`` is scored against ``y`` as one target per sample.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics._scorer import _Scorer

from ._core import _as_float
from ._point import _kge_np, _mae_np, _mse_np, _nse_np, _rmse_np

__all__ = ["get_scorer", "SCORERS"]


def _rows(y_true, y_pred, per_step, sample_weight):
    """Targets and predictions as ``(rows, n_outputs)`` float64 arrays (a row is a sample, or
    a (sample, step) point when ``per_step``), and each row's weight ``(rows, 1)`` or None.

    The shapes must be equal; the only other shapes accepted are one output with and without
    its axis (``(n,)`` and ``(n, 1)``; per step ``(n, T)`` and ``(n, T, 1)``), which read the
    same.  3-D arrays are ``(n_samples, n_time, n_outputs)`` whatever ``per_step``.
    """
    y_true = _as_float("y_true", y_true)
    y_pred = _as_float("y_pred", y_pred)
    base = 2 if per_step else 1          # dims without an output axis
    if y_true.shape != y_pred.shape:
        if y_pred.ndim == base and y_pred.shape + (1,) == y_true.shape:
            y_pred = y_pred[..., np.newaxis]
        elif y_true.ndim == base and y_true.shape + (1,) == y_pred.shape:
            y_true = y_true[..., np.newaxis]
        else:
            raise ValueError(
                f"y_pred: expected shape {y_true.shape} like y_true (samples first"
                f"{', then time steps' if per_step else ''}); found {y_pred.shape}.")
    if y_true.ndim not in (base, base + 1, 3) or y_true.size == 0:
        layout = ("(n_samples, n_time[, n_outputs])" if per_step
                  else "(n_samples[, n_outputs]) or (n_samples, n_time, n_outputs)")
        raise ValueError(f"y_true: expected a non-empty array of shape {layout}; found shape "
                         f"{y_true.shape}.")
    n_outputs = y_true.shape[-1] if y_true.ndim in (base + 1, 3) else 1
    n = y_true.shape[0]
    weight = None
    if sample_weight is not None:
        w = _as_float("sample_weight", sample_weight)
        if w.shape != (n,):
            raise ValueError(f"sample_weight: expected shape ({n},) (one weight per sample); "
                             f"found {w.shape}.")
        if not np.all(np.isfinite(w) & (w >= 0)):
            raise ValueError(f"sample_weight: expected finite values >= 0; found a minimum of "
                             f"{np.min(w)!r}.")
        steps = y_true.size // (n * n_outputs)   # a sample's weight on each of its steps
        weight = np.repeat(w, steps)[:, np.newaxis]
    return y_true.reshape(-1, n_outputs), y_pred.reshape(-1, n_outputs), weight


def _per_output(kernel, name):
    """The scikit-learn form of a score kernel: ``metric(y_true, y_pred, *, per_step=False,
    sample_weight=None)``, reduced over the rows (samples, and steps when ``per_step``) per
    output, then averaged uniformly over the outputs (NaN if any output's score is)."""
    def metric(y_true, y_pred, *, per_step=False, sample_weight=None):
        t, p, w = _rows(y_true, y_pred, per_step, sample_weight)
        return float(np.mean(kernel(t, p, axis=(0,), weight=w)))

    metric.__name__ = metric.__qualname__ = name
    metric.__doc__ = _per_output.__doc__
    return metric


#: Name -> the scorers' score functions (``metric(y_true, y_pred, *, per_step, sample_weight)``).
_METRICS = {
    "neg_mse": _per_output(_mse_np, "mse"),
    "neg_rmse": _per_output(_rmse_np, "rmse"),
    "neg_mae": _per_output(_mae_np, "mae"),
    "nse": _per_output(_nse_np, "nse"),
    "kge": _per_output(_kge_np, "kge"),
}

#: NSE of targets and predictions as arrays: what ``LSTMRegressor.score`` and the "nse" scorer
#: compute (R² of the pooled observed points per target, averaged over the targets).
nse_outputs = _METRICS["nse"]


def _final_step(estimator, X):
    """The last step of a :class:`~sklearn.pipeline.Pipeline` (nested ones too) and ``X``
    through the steps before it, as ``Pipeline.score`` passes them; others: as given."""
    while hasattr(estimator, "steps") and hasattr(estimator, "_final_estimator"):
        for _, step in estimator.steps[:-1]:
            if step is not None and step != "passthrough":
                X = step.transform(X)
        estimator = estimator._final_estimator
    return estimator, X


class _OutputScorer(_Scorer):
    """``make_scorer``'s scorer, which asks the estimator how its targets are laid out.

    ``y_true`` may be left out (None): a forecaster's targets are variables of ``X``, and
    scikit-learn's searches call the scorer without ``y`` when they were fitted without it."""

    def __call__(self, estimator, X, y_true=None, *, sample_weight=None, **kwargs):
        return super().__call__(estimator, X, y_true, sample_weight=sample_weight, **kwargs)

    def _score(self, method_caller, estimator, X, y_true=None, **kwargs):
        final, Xt = _final_step(estimator, X)
        arrays = getattr(final, "_score_arrays", None)
        if arrays is not None:   # seqlstm: its own reading of y, and per-step or not
            y_true, y_pred, per_step = arrays(Xt, y_true)
        else:
            y_pred, per_step = method_caller(estimator, "predict", X), False
        return self._sign * self._score_func(y_true, y_pred, per_step=per_step,
                                             **{**self._kwargs, **kwargs})


#: Name -> scikit-learn scorer (``make_scorer``-style objects; losses are negated, as
#: scikit-learn's ``neg_*`` scorers).  Persistence skill needs the time order and the lead and
#: is the forecaster's own ``score``; CRPS and coverage need a predicted spread, which
#: ``predict`` does not return.
SCORERS = {
    name: _OutputScorer(metric, 1 if name in ("nse", "kge") else -1, {})
    for name, metric in _METRICS.items()
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
        Called as ``scorer(estimator, X, y, sample_weight=None)``.  The score is reduced over
        the samples and, for per-step estimators (``return_sequences=True``), over their time
        steps too (NaN targets, padded and spin-up steps skipped); the last axis, if any, holds
        the targets, scored one by one and averaged.  The "nse" scorer gives exactly what a
        seqlstm regressor's ``score`` gives.  Predictions of another shape than ``y`` are an
        error (only one target's ``(n,)`` against ``(n, 1)`` is accepted).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from seqlstm.metrics import get_scorer
    >>> X = np.arange(6.0).reshape(-1, 1)
    >>> y = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 6.0])
    >>> round(get_scorer("nse")(LinearRegression().fit(X, y), X, y), 4)
    0.9796
    """
    try:
        return SCORERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"name must be one of {sorted(SCORERS)}; found {name!r}") from None
