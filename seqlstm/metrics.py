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
:func:`gaussian_interval`    central interval of a Gaussian forecast at a coverage level
:func:`interval_coverage`    fraction of observations inside given intervals
:func:`gaussian_coverage`    coverage of the central intervals of Gaussian forecasts
:func:`get_scorer`           scikit-learn scorers: ``"neg_rmse"``, ``"neg_mse"``,
                             ``"neg_mae"``, ``"nse"``, ``"kge"``
==========================  ==============================================================

CRPS is the closed form of Gneiting et al. (2005) through ``scipy.special``; it is tested against
``scoringrules.crps_normal`` when scoringrules is installed.  scoringrules needs only NumPy and
SciPy, but when Numba is present (always, for seqlstm) it compiles its gufuncs at every import:
``import scoringrules`` took 13-14 s here, for a formula of three lines.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterable

import numpy as np
import xarray as xr
from numpy.lib.array_utils import normalize_axis_tuple
from scipy.special import ndtr, ndtri
from sklearn.metrics import make_scorer

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
    "gaussian_interval",
    "interval_coverage",
    "gaussian_coverage",
    "get_scorer",
    "SCORERS",
]

_SQRT_PI_INV = 1.0 / np.sqrt(np.pi)
_SQRT_2PI_INV = 1.0 / np.sqrt(2.0 * np.pi)


# --------------------------------------------------------------------------------------------
# NumPy kernels: float64 arrays of one shape, reduced over a tuple of axes
# --------------------------------------------------------------------------------------------


def _mask(*arrays):
    """True where none of ``arrays`` is NaN, and the arrays with 0 at the other points (so that
    a value paired with a NaN never enters any arithmetic, not even to overflow)."""
    keep = ~np.isnan(arrays[0])
    for a in arrays[1:]:
        keep = keep & ~np.isnan(a)
    return (keep,) + tuple(np.where(keep, a, 0.0) for a in arrays)


def _msum(values, keep, axis):
    """Sum of ``values`` over ``axis`` where ``keep`` (skipped points contribute 0)."""
    return np.sum(np.where(keep, values, 0.0), axis=axis)


def _mmean(values, keep, axis, count=None):
    """Mean of ``values`` over ``axis`` where ``keep``; NaN where nothing is kept."""
    if count is None:
        count = np.sum(keep, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _msum(values, keep, axis) / np.where(count > 0, count, np.nan)


def _expand(reduced, axis):
    """``reduced`` with the reduced axes put back as length 1 (to broadcast against input)."""
    return np.expand_dims(reduced, axis) if axis else reduced


def _mse_np(y_true, y_pred, axis):
    keep, y_true, y_pred = _mask(y_true, y_pred)
    return _mmean((y_true - y_pred) ** 2, keep, axis)


def _rmse_np(y_true, y_pred, axis):
    return np.sqrt(_mse_np(y_true, y_pred, axis))


def _mae_np(y_true, y_pred, axis):
    keep, y_true, y_pred = _mask(y_true, y_pred)
    return _mmean(np.abs(y_true - y_pred), keep, axis)


def _nse_np(y_true, y_pred, axis):
    keep, y_true, y_pred = _mask(y_true, y_pred)
    mean_obs = _expand(_mmean(y_true, keep, axis), axis)
    sse = _msum((y_true - y_pred) ** 2, keep, axis)
    sst = _msum((y_true - mean_obs) ** 2, keep, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), np.nan)


def _kge_np(y_true, y_pred, axis):
    keep, y_true, y_pred = _mask(y_true, y_pred)
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


def _crps_points(y_true, mean, std):
    """Pointwise CRPS of N(mean, std²) at ``y_true``; ``std == 0`` gives ``|y - mean|``."""
    positive = std > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        w = (y_true - mean) / np.where(positive, std, 1.0)
        gauss = std * (w * (2.0 * ndtr(w) - 1.0) + 2.0 * _SQRT_2PI_INV * np.exp(-0.5 * w * w)
                       - _SQRT_PI_INV)
    return np.where(positive, gauss, np.abs(y_true - mean))


def _crps_np(y_true, mean, std, axis):
    keep, y_true, mean, std = _mask(y_true, mean, std)
    return _mmean(_crps_points(y_true, mean, std), keep, axis)


def _coverage_np(y_true, lower, upper, axis):
    keep, y_true, lower, upper = _mask(y_true, lower, upper)
    inside = (lower <= y_true) & (y_true <= upper)
    return _mmean(inside.astype(np.float64), keep, axis)


def _gaussian_coverage_np(y_true, mean, std, axis, z):
    keep, y_true, mean, std = _mask(y_true, mean, std)
    inside = np.abs(y_true - mean) <= z * std
    return _mmean(inside.astype(np.float64), keep, axis)


# --------------------------------------------------------------------------------------------
# input handling: NumPy or xarray, one reduction
# --------------------------------------------------------------------------------------------


def _is_xarray(values):
    return isinstance(values, xr.DataArray)


def _check_kinds(named):
    """All array arguments DataArrays, or none (numbers are allowed where said)."""
    kinds = {name: _is_xarray(v) for name, v in named.items()}
    if any(kinds.values()) and not all(kinds.values()):
        first = next(iter(named))
        xs = [n for n, k in kinds.items() if k]
        others = [f"{n} ({type(named[n]).__name__})" for n, k in kinds.items() if not k]
        raise TypeError(
            f"{', '.join(xs)} {'is a DataArray' if len(xs) == 1 else 'are DataArrays'} but "
            f"{', '.join(others)} {'is' if len(others) == 1 else 'are'} not: pass every array "
            f"argument (starting with {first}) as a DataArray, or all as NumPy arrays")
    return any(kinds.values())


def _as_float(name, values):
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers; found {type(values).__name__} "
                        f"({exc})") from None
    return arr


def _numpy_axis(axis, ndim, name="axis"):
    if axis is None:
        return tuple(range(ndim))
    try:
        return normalize_axis_tuple(axis, ndim)
    except np.exceptions.AxisError as exc:
        raise ValueError(f"{name}={axis!r} is out of range for arrays of {ndim} dimensions "
                         f"({exc})") from None
    except TypeError:
        raise TypeError(f"{name} must be an int, a tuple of ints or None; found "
                        f"{axis!r}") from None


def _dims_tuple(dim, available, name="dim"):
    if dim is None:
        return tuple(available)
    if isinstance(dim, Hashable) and not isinstance(dim, tuple):
        dims = (dim,)
    elif isinstance(dim, Iterable):
        dims = tuple(dim)
    else:
        raise TypeError(f"{name} must be a dim name, a list of names or None; found {dim!r}")
    missing = [d for d in dims if d not in available]
    if missing:
        raise ValueError(f"{name}={dim!r}: {', '.join(repr(d) for d in missing)} not found; "
                         f"the inputs have dims {tuple(available)!r}")
    if len(set(dims)) != len(dims):
        raise ValueError(f"{name}={dim!r} repeats a dim")
    return dims


def _reduce(kernel, score, named, axis, dim, **kwargs):
    """Apply ``kernel(*arrays, axis=tuple, **kwargs)`` to NumPy or xarray arguments.

    Parameters
    ----------
    kernel : callable
        A NumPy kernel of this module.
    score : str
        The name of the score (names the xarray result).
    named : dict
        Argument name -> value, in the kernel's order; the first is the observed values.
    axis, dim
        The reduction (``axis`` for NumPy, ``dim`` for xarray; the other must be None).
    **kwargs
        Passed to the kernel.
    """
    if _check_kinds(named):
        if axis is not None:
            raise TypeError(f"axis={axis!r} is for NumPy input; the inputs are DataArrays: "
                            "reduce over named dims with dim=")
        arrays = xr.align(*named.values(), join="exact", copy=False)
        arrays = xr.broadcast(*arrays)
        dims = _dims_tuple(dim, arrays[0].dims)
        axes = tuple(range(-len(dims), 0))

        def func(*values):
            values = [np.asarray(v, dtype=np.float64) for v in values]
            return kernel(*values, axis=axes, **kwargs)

        # dask: the reduced dims must be one chunk each; kept dims may be chunked
        out = xr.apply_ufunc(
            func, *arrays,
            input_core_dims=[list(dims)] * len(arrays),
            keep_attrs=False,
            dask="parallelized",
            output_dtypes=[np.float64],
        )
        return out.rename(score)
    if dim is not None:
        raise TypeError(f"dim={dim!r} is for DataArray input; the inputs are NumPy arrays: "
                        "reduce over axes with axis=")
    arrays = [_as_float(n, v) for n, v in named.items()]
    names = list(named)
    for n, a in zip(names[1:], arrays[1:]):
        if a.shape != arrays[0].shape:
            raise ValueError(f"{n} has shape {a.shape} but {names[0]} has shape "
                             f"{arrays[0].shape}: they must be equal")
    axes = _numpy_axis(axis, arrays[0].ndim)
    out = kernel(*arrays, axis=axes, **kwargs)
    return np.float64(out) if np.ndim(out) == 0 else out


def _check_coverage(coverage):
    if isinstance(coverage, bool) or not isinstance(coverage, numbers.Real) \
            or not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be a number in the open interval (0, 1); found "
                         f"{coverage!r}")
    return float(coverage)


def _check_std(std):
    values = std.data if _is_xarray(std) else np.asarray(std, dtype=np.float64)
    if _is_xarray(std) and not isinstance(values, np.ndarray):
        return  # dask-backed: not computed here just to check it
    if np.any(values < 0):
        raise ValueError(f"std must be >= 0; found a minimum of {np.nanmin(values)!r}")


_REDUCE_DOC = """axis : int or tuple of int, optional
        NumPy input: the axes to reduce (default all).
    dim : str or sequence of str, optional
        DataArray input: the dims to reduce (default all); the others are kept."""


def _doc(func):
    func.__doc__ = func.__doc__.replace("{reduce}", _REDUCE_DOC)
    return func


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


@_doc
def crps_gaussian(y_true, mean, std, *, axis=None, dim=None):
    """Mean continuous ranked probability score of Gaussian forecasts ``N(mean, std**2)``.

    The closed form of Gneiting et al. (2005): with ``w = (y - mean) / std``,
    ``CRPS = std * (w * (2 Phi(w) - 1) + 2 phi(w) - 1 / sqrt(pi))``, and ``|y - mean|`` (the
    absolute error, its limit) where ``std == 0``.  Lower is better; it has the units of
    ``y_true``.  Points where any of the three values is NaN are skipped.

    Parameters
    ----------
    y_true : ndarray or DataArray
        Observed values.
    mean, std : ndarray or DataArray
        The forecast distributions' means and standard deviations (``std >= 0``; not the
        variance).
    {reduce}

    Returns
    -------
    float64 or ndarray or DataArray

    References
    ----------
    Gneiting, T., Raftery, A. E., Westveld, A. H. and Goldman, T. (2005). Calibrated
    probabilistic forecasting using ensemble model output statistics and minimum CRPS
    estimation. Monthly Weather Review 133, 1098-1118.
    """
    _check_std(std)
    return _reduce(_crps_np, "crps", {"y_true": y_true, "mean": mean, "std": std}, axis, dim)


def gaussian_interval(mean, std, coverage=0.8):
    """The central interval holding ``coverage`` of a Gaussian forecast's probability.

    Parameters
    ----------
    mean, std : ndarray or DataArray
        The forecast distributions' means and standard deviations.
    coverage : float, default 0.8
        Probability inside the interval, in the open interval (0, 1).

    Returns
    -------
    lower, upper : ndarray or DataArray
        ``mean -/+ z * std`` with ``z`` the ``(1 + coverage) / 2`` quantile of the standard
        normal distribution (1.2816 for 0.8), i.e. the ``(1 - coverage) / 2`` and
        ``(1 + coverage) / 2`` quantiles of the forecast.
    """
    z = ndtri(0.5 + 0.5 * _check_coverage(coverage))
    _check_std(std)
    return mean - z * std, mean + z * std


@_doc
def interval_coverage(y_true, lower, upper, *, axis=None, dim=None):
    """Fraction of observations inside their forecast intervals (bounds included).

    Points where the observation or either bound is NaN are skipped.

    Parameters
    ----------
    y_true : ndarray or DataArray
        Observed values.
    lower, upper : ndarray or DataArray
        The intervals' bounds.
    {reduce}

    Returns
    -------
    float64 or ndarray or DataArray
        In [0, 1]; a calibrated forecast's central intervals of coverage ``p`` score near ``p``.
    """
    return _reduce(_coverage_np, "coverage", {"y_true": y_true, "lower": lower, "upper": upper},
                   axis, dim)


@_doc
def gaussian_coverage(y_true, mean, std, coverage=0.8, *, axis=None, dim=None):
    """Empirical coverage of the central ``coverage`` intervals of Gaussian forecasts.

    The fraction of observations inside :func:`gaussian_interval` ``(mean, std, coverage)``
    (bounds included); points where any of the three values is NaN are skipped.

    Parameters
    ----------
    y_true : ndarray or DataArray
        Observed values.
    mean, std : ndarray or DataArray
        The forecast distributions' means and standard deviations.
    coverage : float, default 0.8
        The nominal coverage of the intervals, in the open interval (0, 1).
    {reduce}

    Returns
    -------
    float64 or ndarray or DataArray
        In [0, 1]; near ``coverage`` for calibrated forecasts.
    """
    z = ndtri(0.5 + 0.5 * _check_coverage(coverage))
    _check_std(std)
    return _reduce(_gaussian_coverage_np, "coverage",
                   {"y_true": y_true, "mean": mean, "std": std}, axis, dim, z=z)


# --------------------------------------------------------------------------------------------
# scikit-learn scorers
# --------------------------------------------------------------------------------------------


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
