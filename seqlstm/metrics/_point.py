"""Point forecast scores: errors (MSE, RMSE, MAE), efficiencies (NSE, KGE) and skill against a
reference (a given forecast, persistence, climatology).  See :mod:`seqlstm.metrics` for the
conventions (argument order, reductions, missing values)."""

from __future__ import annotations

import numbers

import numpy as np
import xarray as xr

from ._core import (_as_float, _check_kinds, _doc, _expand, _is_xarray, _mask, _mmean, _msum,
                    _numpy_axis, _reduce)

__all__ = ["mse", "rmse", "mae", "nse", "kge", "skill", "persistence", "skill_persistence",
           "skill_climatology"]

# --------------------------------------------------------------------------------------------
# NumPy kernels: float64 arrays of one shape, reduced over a tuple of axes
# --------------------------------------------------------------------------------------------


def _mse_np(y_true, y_pred, axis, weight=None):
    keep, y_true, y_pred = _mask(y_true, y_pred, weight=weight)
    return _mmean((y_true - y_pred) ** 2, keep, axis)


def _rmse_np(y_true, y_pred, axis, weight=None):
    return np.sqrt(_mse_np(y_true, y_pred, axis, weight))


def _mae_np(y_true, y_pred, axis, weight=None):
    keep, y_true, y_pred = _mask(y_true, y_pred, weight=weight)
    return _mmean(np.abs(y_true - y_pred), keep, axis)


def _nse_np(y_true, y_pred, axis, weight=None):
    keep, y_true, y_pred = _mask(y_true, y_pred, weight=weight)
    mean_obs = _expand(_mmean(y_true, keep, axis), axis)
    sse = _msum((y_true - y_pred) ** 2, keep, axis)
    sst = _msum((y_true - mean_obs) ** 2, keep, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), np.nan)


def _kge_np(y_true, y_pred, axis, weight=None):
    keep, y_true, y_pred = _mask(y_true, y_pred, weight=weight)
    count = np.sum(keep, axis=axis)
    mu_o = _mmean(y_true, keep, axis, count)
    mu_s = _mmean(y_pred, keep, axis, count)
    do = y_true - _expand(mu_o, axis)
    ds = y_pred - _expand(mu_s, axis)
    var_o = _mmean(do * do, keep, axis, count)
    var_s = _mmean(ds * ds, keep, axis, count)
    cov = _mmean(do * ds, keep, axis, count)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (var_o > 0) & (var_s > 0) & (mu_o != 0)
        r = cov / np.sqrt(np.where(ok, var_o * var_s, 1.0))
        alpha = np.sqrt(var_s / np.where(ok, var_o, 1.0))
        beta = mu_s / np.where(ok, mu_o, 1.0)
        value = 1.0 - np.sqrt((r - 1.0) ** 2 + (alpha - 1.0) ** 2 + (beta - 1.0) ** 2)
    return np.where(ok, value, np.nan)


def _skill_np(y_true, y_pred, y_ref, axis):
    keep, y_true, y_pred, y_ref = _mask(y_true, y_pred, y_ref)
    count = np.sum(keep, axis=axis)
    mse_model = _mmean((y_true - y_pred) ** 2, keep, axis, count)
    mse_ref = _mmean((y_true - y_ref) ** 2, keep, axis, count)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mse_ref > 0, 1.0 - mse_model / np.where(mse_ref > 0, mse_ref, 1.0),
                        np.nan)


# --------------------------------------------------------------------------------------------
# public scores
# --------------------------------------------------------------------------------------------


@_doc
def mse(y_true, y_pred, *, axis=None, dim=None):
    """Mean squared error, skipping NaN pairs.

    Parameters
    ----------
    y_true, y_pred : ndarray or DataArray
        Observed and forecast values.
    {reduce}

    Returns
    -------
    float64 or ndarray or DataArray
        ``mean((y_true - y_pred)**2)`` over the pairs with neither value NaN.
    """
    return _reduce(_mse_np, "mse", {"y_true": y_true, "y_pred": y_pred}, axis, dim)


@_doc
def rmse(y_true, y_pred, *, axis=None, dim=None):
    """Root mean squared error, skipping NaN pairs.

    Parameters
    ----------
    y_true, y_pred : ndarray or DataArray
        Observed and forecast values.
    {reduce}

    Returns
    -------
    float64 or ndarray or DataArray
        ``sqrt(mean((y_true - y_pred)**2))`` over the pairs with neither value NaN.
    """
    return _reduce(_rmse_np, "rmse", {"y_true": y_true, "y_pred": y_pred}, axis, dim)


@_doc
def mae(y_true, y_pred, *, axis=None, dim=None):
    """Mean absolute error, skipping NaN pairs.

    Parameters
    ----------
    y_true, y_pred : ndarray or DataArray
        Observed and forecast values.
    {reduce}

    Returns
    -------
    float64 or ndarray or DataArray
        ``mean(|y_true - y_pred|)`` over the pairs with neither value NaN.
    """
    return _reduce(_mae_np, "mae", {"y_true": y_true, "y_pred": y_pred}, axis, dim)


@_doc
def nse(y_true, y_pred, *, axis=None, dim=None):
    """Nash–Sutcliffe efficiency (Nash & Sutcliffe 1970), skipping NaN pairs.

    ``NSE = 1 - sum((y_true - y_pred)**2) / sum((y_true - mean(y_true))**2)``, with the sums and
    the observed mean over the pairs with neither value NaN.  It is scikit-learn's R²
    (``r2_score``) of those pairs, and the skill against the observed mean of the evaluation
    period (:func:`skill_climatology` with ``climatology=None``).  1 is a perfect forecast, 0
    is as good as the observed mean, and it is unbounded below.

    Parameters
    ----------
    y_true, y_pred : ndarray or DataArray
        Observed and forecast values.
    {reduce}

    Returns
    -------
    float64 or ndarray or DataArray
        NaN where the observed values are constant (the efficiency is undefined; scikit-learn's
        ``r2_score`` returns 1 or 0 there instead) or where no pair remains.

    Examples
    --------
    >>> from seqlstm.metrics import nse
    >>> float(nse([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.0, float("nan")]))  # 1 - 1.25 / 2
    0.375
    """
    return _reduce(_nse_np, "nse", {"y_true": y_true, "y_pred": y_pred}, axis, dim)


@_doc
def kge(y_true, y_pred, *, axis=None, dim=None):
    """Kling–Gupta efficiency in its original form (Gupta et al. 2009), skipping NaN pairs.

    ``KGE = 1 - sqrt((r - 1)**2 + (alpha - 1)**2 + (beta - 1)**2)`` with ``r`` the Pearson
    correlation of forecast and observation, ``alpha = std(y_pred) / std(y_true)`` (the ratio of
    standard deviations; the 2012 form of Kling et al. uses the ratio of coefficients of
    variation instead) and ``beta = mean(y_pred) / mean(y_true)``, all over the pairs with
    neither value NaN.  1 is a perfect forecast and it is unbounded below.  A constant forecast
    (such as the observed mean) has no correlation: its KGE is NaN here, not the
    ``1 - sqrt(2)`` that taking ``r = 0`` would give (Knoben et al. 2019).

    Parameters
    ----------
    y_true, y_pred : ndarray or DataArray
        Observed and forecast values.
    {reduce}

    Returns
    -------
    float64 or ndarray or DataArray
        NaN where it is undefined: constant observations or forecasts (no correlation), an
        observed mean of 0, or no remaining pair.

    References
    ----------
    Gupta, H. V., Kling, H., Yilmaz, K. K. and Martinez, G. F. (2009). Decomposition of the mean
    squared error and NSE performance criteria: implications for improving hydrological
    modelling. Journal of Hydrology 377, 80-91.
    """
    return _reduce(_kge_np, "kge", {"y_true": y_true, "y_pred": y_pred}, axis, dim)


@_doc
def skill(y_true, y_pred, y_ref, *, axis=None, dim=None):
    """Mean-squared-error skill score of a forecast against a reference forecast.

    ``skill = 1 - MSE(y_pred) / MSE(y_ref)``, both MSEs over the same points: those where none of
    ``y_true``, ``y_pred``, ``y_ref`` is NaN.  1 is perfect, 0 is as good as the reference,
    negative is worse.

    Parameters
    ----------
    y_true, y_pred, y_ref : ndarray or DataArray
        Observed values, the forecast and the reference forecast, all for the same valid times.
    {reduce}

    Returns
    -------
    float64 or ndarray or DataArray
        NaN where the reference is perfect (``MSE(y_ref) == 0``) or no point remains.
    """
    return _reduce(_skill_np, "skill", {"y_true": y_true, "y_pred": y_pred, "y_ref": y_ref},
                   axis, dim)


def _check_lead(lead):
    if isinstance(lead, bool) or not isinstance(lead, numbers.Integral) or lead < 1:
        raise ValueError(f"lead must be an integer >= 1 (steps); found {lead!r}")
    return int(lead)


def persistence(y_true, lead, *, time_axis=None, time_dim="time"):
    """The persistence forecast at a lead: the value observed ``lead`` steps earlier.

    Parameters
    ----------
    y_true : ndarray or DataArray
        Observed values along time (steps assumed evenly spaced).
    lead : int
        The lead in steps, >= 1.
    time_axis : int, optional
        NumPy input: the time axis (may be omitted for 1-D input).
    time_dim : str, default "time"
        DataArray input: the time dim.

    Returns
    -------
    ndarray or DataArray
        ``ref[t] = y_true[t - lead]`` along time, NaN for the first ``lead`` steps (float64).
    """
    lead = _check_lead(lead)
    if _is_xarray(y_true):
        if time_dim not in y_true.dims:
            raise ValueError(f"time_dim={time_dim!r} not found; y_true has dims {y_true.dims!r}")
        return y_true.astype(np.float64).shift({time_dim: lead})
    values = _as_float("y_true", y_true)
    if time_axis is None:
        if values.ndim != 1:
            raise ValueError(f"time_axis is required for y_true of {values.ndim} dimensions "
                             f"(shape {values.shape})")
        time_axis = 0
    (ax,) = _numpy_axis(time_axis, values.ndim, "time_axis")
    ref = np.full_like(values, np.nan)
    n = values.shape[ax]
    if lead < n:
        dst = [slice(None)] * values.ndim
        src = [slice(None)] * values.ndim
        dst[ax] = slice(lead, None)
        src[ax] = slice(None, n - lead)
        ref[tuple(dst)] = values[tuple(src)]
    return ref


@_doc
def skill_persistence(y_true, y_pred, lead, *, time_axis=None, time_dim="time", axis=None,
                      dim=None):
    """Skill against persistence at a lead: ``1 - MSE(y_pred) / MSE(persistence)``.

    ``y_true`` and ``y_pred`` are aligned by valid time: ``y_pred[t]`` is the forecast for time
    ``t`` issued ``lead`` steps before it.  The persistence forecast for valid time ``t`` is the
    value observed at issue time, ``y_true[t - lead]`` (:func:`persistence`), so the first
    ``lead`` valid times have none and are skipped, as is every point where the observation, the
    forecast or the persisted observation is NaN; both MSEs are over the same points.

    Parameters
    ----------
    y_true, y_pred : ndarray or DataArray
        Observed values and forecasts at the same valid times.
    lead : int
        The forecasts' lead in steps (>= 1).
    time_axis : int, optional
        NumPy input: the time axis (may be omitted for 1-D input).
    time_dim : str, default "time"
        DataArray input: the time dim.
    {reduce}

    Returns
    -------
    float64 or ndarray or DataArray
        The skill score (1 is perfect, 0 no better than persistence).
    """
    if _check_kinds({"y_true": y_true, "y_pred": y_pred}):
        ref = persistence(y_true, lead, time_dim=time_dim)
    else:
        ref = persistence(y_true, lead, time_axis=time_axis)
    return _reduce(_skill_np, "skill_persistence",
                   {"y_true": y_true, "y_pred": y_pred, "y_ref": ref}, axis, dim)


@_doc
def skill_climatology(y_true, y_pred, climatology=None, *, axis=None, dim=None):
    """Skill against a climatological mean: ``1 - MSE(y_pred) / MSE(climatology)``.

    Parameters
    ----------
    y_true, y_pred : ndarray or DataArray
        Observed and forecast values.
    climatology : float, ndarray or DataArray, optional
        The reference forecast, broadcast against ``y_true``: typically the mean of the
        training (reference) period, e.g. ``y_train.mean("time")`` per station.  By default it
        is the mean of the observed values of the evaluation period itself, over the reduced
        axes or dims and the pairs used, and the skill is then exactly :func:`nse`.
    {reduce}

    Returns
    -------
    float64 or ndarray or DataArray
        The skill score (1 is perfect, 0 no better than the climatological mean).
    """
    if climatology is None:
        return _reduce(_nse_np, "skill_climatology", {"y_true": y_true, "y_pred": y_pred},
                       axis, dim)
    if _is_xarray(y_true) and not _is_xarray(climatology) and np.ndim(climatology) == 0:
        ref = xr.full_like(y_true, float(climatology), dtype=np.float64)
    elif _is_xarray(y_true) and _is_xarray(climatology):
        missing = set(climatology.dims) - set(y_true.dims)
        if missing:
            raise ValueError(f"climatology has dims {sorted(missing)!r} that y_true "
                             f"{y_true.dims!r} has not")
        ref = climatology.astype(np.float64).broadcast_like(y_true)
    elif not _is_xarray(y_true) and not _is_xarray(climatology):
        obs = _as_float("y_true", y_true)
        clim = _as_float("climatology", climatology)
        try:
            ref = np.broadcast_to(clim, obs.shape)
        except ValueError:
            raise ValueError(f"climatology of shape {clim.shape} does not broadcast against "
                             f"y_true of shape {obs.shape}") from None
    else:
        raise TypeError(f"climatology is a {type(climatology).__name__} but y_true is a "
                        f"{type(y_true).__name__}: pass a number or the same kind of array")
    return _reduce(_skill_np, "skill_climatology",
                   {"y_true": y_true, "y_pred": y_pred, "y_ref": ref}, axis, dim)
