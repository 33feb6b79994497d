"""Forecast scores on NumPy arrays and xarray DataArrays, and as scikit-learn scorers.

Every score takes the observed values first and the forecast second (scikit-learn's
``(y_true, y_pred)`` order) and reduces over some of their dimensions:

- NumPy input (``numpy.ndarray`` or anything :func:`numpy.asarray` accepts): the arrays must have
  the same shape; ``axis`` (an int, a tuple of ints, or None for all axes) names the axes to
  reduce, the others are kept.  The result is a float64 NumPy scalar or array.
- xarray input (every array argument a ``DataArray``): the arrays are aligned exactly
  (``join="exact"``: mismatched coordinates are an error) and broadcast by name; ``dim`` (a name,
  a list of names, or None for all dims) names the dims to reduce, every other dim is kept, e.g.
  ``nse(obs, sim, dim="time")`` gives one value per station.  The result is a DataArray named
  after the score, without the inputs' attributes (an efficiency has no units): ``keep_attrs``
  is passed to :func:`xarray.apply_ufunc` explicitly, no global option is touched.  Dask-backed
  input stays lazy.

Missing values: a point where any of the arrays involved (observed, forecast, and where they
enter, the reference forecast, the standard deviation or the interval bounds) is NaN is skipped,
and everything, including the observed mean of NSE and KGE, is computed on the remaining points.
A reduction over no remaining point gives NaN.  Infinite values are not skipped: they give an
infinite or NaN score.  Computation is in float64.

Scores
------
==========================  ==============================================================
:func:`mse`, :func:`rmse`    mean squared error and its square root
:func:`mae`                  mean absolute error
:func:`nse`                  Nash–Sutcliffe efficiency (1970), equal to scikit-learn's R²
:func:`kge`                  Kling–Gupta efficiency, Gupta et al. (2009) form
:func:`skill`                ``1 - MSE(forecast) / MSE(reference)`` for a given reference
:func:`skill_persistence`    skill against persistence at a given lead
:func:`skill_climatology`    skill against a climatological mean
:func:`crps_gaussian`        mean CRPS of Gaussian forecasts (closed form)
:func:`pinball_loss`         mean pinball loss of quantile forecasts, over their levels
:func:`gaussian_interval`    central interval of a Gaussian forecast at a coverage level
:func:`interval_coverage`    fraction of observations inside given intervals
:func:`gaussian_coverage`    coverage of the central intervals of Gaussian forecasts
:func:`get_scorer`           scikit-learn scorers: ``"neg_rmse"``, ``"neg_mse"``,
                             ``"neg_mae"``, ``"nse"``, ``"kge"``; per target, over the
                             samples and, for per-step estimators, their steps pooled
==========================  ==============================================================

The point scores live in ``_point.py``, the probabilistic ones in ``_probabilistic.py``, the
scorers in ``_scorers.py`` and the reduction they share in ``_core.py``; the names above are the
public surface.

CRPS is the closed form of Gneiting et al. (2005) through ``scipy.special``; it is tested against
``scoringrules.crps_normal`` when scoringrules is installed.  scoringrules needs only NumPy and
SciPy, but when Numba is present (always, for seqlstm) it compiles its gufuncs at every import:
``import scoringrules`` took 13-14 s here, for a formula of three lines.
"""

from __future__ import annotations

from ._point import kge, mae, mse, nse, persistence, rmse, skill, skill_climatology, \
    skill_persistence
from ._probabilistic import crps_gaussian, gaussian_coverage, gaussian_interval, \
    interval_coverage, pinball_loss
from ._scorers import SCORERS, get_scorer

__all__ = [
    "mse",
    "rmse",
    "mae",
    "nse",
    "kge",
    "skill",
    "persistence",
    "skill_persistence",
    "skill_climatology",
    "crps_gaussian",
    "pinball_loss",
    "gaussian_interval",
    "interval_coverage",
    "gaussian_coverage",
    "get_scorer",
    "SCORERS",
]
