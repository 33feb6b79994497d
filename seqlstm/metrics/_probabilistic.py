"""Probabilistic forecast scores of Gaussian forecasts (CRPS), of quantile forecasts (pinball
loss) and of intervals (coverage).  See :mod:`seqlstm.metrics` for the conventions (argument
order, reductions, missing values)."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import ndtr, ndtri

from ._core import _as_float, _dims_tuple, _doc, _is_xarray, _mask, _mmean, _numpy_axis, _reduce

__all__ = ["crps_gaussian", "pinball_loss", "gaussian_interval", "interval_coverage",
           "gaussian_coverage"]

_SQRT_PI_INV = 1.0 / np.sqrt(np.pi)
_SQRT_2PI_INV = 1.0 / np.sqrt(2.0 * np.pi)

# --------------------------------------------------------------------------------------------
# NumPy kernels
# --------------------------------------------------------------------------------------------


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


def _pinball_np(y_true, y_quantiles, axis, levels):
    """Mean pinball loss; the levels run along the last axis of both (equal-shape) arrays."""
    keep, y_true, y_quantiles = _mask(y_true, y_quantiles)
    u = y_true - y_quantiles
    return _mmean(np.maximum(levels * u, (levels - 1.0) * u), keep, axis)


def _coverage_np(y_true, lower, upper, axis):
    keep, y_true, lower, upper = _mask(y_true, lower, upper)
    inside = (lower <= y_true) & (y_true <= upper)
    return _mmean(inside.astype(np.float64), keep, axis)


def _gaussian_coverage_np(y_true, mean, std, axis, z):
    keep, y_true, mean, std = _mask(y_true, mean, std)
    inside = np.abs(y_true - mean) <= z * std
    return _mmean(inside.astype(np.float64), keep, axis)


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


# --------------------------------------------------------------------------------------------
# public scores
# --------------------------------------------------------------------------------------------


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
        The mean CRPS, in the units of the observations (lower is better).

    References
    ----------
    Gneiting, T., Raftery, A. E., Westveld, A. H. and Goldman, T. (2005). Calibrated
    probabilistic forecasting using ensemble model output statistics and minimum CRPS
    estimation. Monthly Weather Review 133, 1098-1118.
    """
    _check_std(std)
    return _reduce(_crps_np, "crps", {"y_true": y_true, "mean": mean, "std": std}, axis, dim)


@_doc
def pinball_loss(y_true, y_quantiles, quantiles=None, *, axis=None, dim=None):
    """Mean pinball (quantile) loss of quantile forecasts, averaged over their levels.

    ``rho_tau(u) = max(tau u, (tau - 1) u)`` with ``u = y - q_tau``, averaged over the levels
    ``tau`` and the points (scikit-learn's ``mean_pinball_loss`` of one level, averaged over
    the levels).  Lower is better; it has the units of ``y_true``; for the single level 0.5 it
    is half the mean absolute error.  A (point, level) pair whose observation or quantile is
    NaN is skipped.

    Parameters
    ----------
    y_true : ndarray or DataArray
        Observed values.
    y_quantiles : ndarray or DataArray
        The forecast quantiles: NumPy, ``y_true``'s shape plus a last axis of levels (as
        :meth:`LSTMForecaster.predict <seqlstm.LSTMForecaster.predict>` gives them);
        DataArray, ``y_true``'s dims plus a ``quantile`` dim.
    quantiles : sequence of float, optional
        The levels, in (0, 1), in the order of the last axis / ``quantile`` dim; required for
        NumPy input, by default the ``quantile`` coordinate of a DataArray.
    {reduce}
        The levels are always averaged over (``axis`` and ``dim`` name the other axes / dims).

    Returns
    -------
    float64 or ndarray or DataArray
        The mean pinball loss (lower is better).
    """
    if _is_xarray(y_quantiles) and _is_xarray(y_true):
        if "quantile" not in y_quantiles.dims or "quantile" in y_true.dims:
            raise ValueError(f"y_quantiles: expected a 'quantile' dim that y_true lacks; found "
                             f"dims {y_quantiles.dims} and {y_true.dims}.")
        if quantiles is None:
            if "quantile" not in y_quantiles.coords:
                raise ValueError("quantiles: expected the levels, given or as the 'quantile' "
                                 "coordinate of y_quantiles; found neither.")
            quantiles = y_quantiles["quantile"].values
        levels = _check_levels(quantiles, y_quantiles.sizes["quantile"])
        available = [d for d in dict.fromkeys(y_true.dims + y_quantiles.dims) if d != "quantile"]
        dims = list(_dims_tuple(dim, available)) + ["quantile"]
        return _reduce(_pinball_np, "pinball_loss",
                       {"y_true": y_true, "y_quantiles": y_quantiles}, None, dims,
                       levels=levels)
    if _is_xarray(y_quantiles) or _is_xarray(y_true):
        return _reduce(_pinball_np, "pinball_loss",            # the mixed-kinds TypeError
                       {"y_true": y_true, "y_quantiles": y_quantiles}, axis, dim)
    if dim is not None:
        return _reduce(_pinball_np, "pinball_loss", {"y_true": y_true}, None, dim)  # TypeError
    y_true = _as_float("y_true", y_true)
    y_quantiles = _as_float("y_quantiles", y_quantiles)
    if quantiles is None:
        raise ValueError("quantiles: expected the levels of y_quantiles' last axis for NumPy "
                         "input; found None.")
    if y_quantiles.shape[:-1] != y_true.shape or y_quantiles.ndim != y_true.ndim + 1:
        raise ValueError(f"y_quantiles has shape {y_quantiles.shape} but y_true has shape "
                         f"{y_true.shape}: expected y_true's shape plus a last axis of levels")
    levels = _check_levels(quantiles, y_quantiles.shape[-1])
    axes = _numpy_axis(axis, y_true.ndim) + (y_true.ndim,)
    return _reduce(_pinball_np, "pinball_loss",
                   {"y_true": np.broadcast_to(y_true[..., None], y_quantiles.shape),
                    "y_quantiles": y_quantiles}, axes, None, levels=levels)


def _check_levels(quantiles, n):
    levels = np.asarray(quantiles, dtype=np.float64)
    if levels.shape != (n,) or not np.all((levels > 0) & (levels < 1)):
        raise ValueError(f"quantiles: expected {n} levels in the open interval (0, 1), one per "
                         f"quantile of y_quantiles; found {quantiles!r}.")
    return levels


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
    lower : ndarray or DataArray
        ``mean - z * std`` with ``z`` the ``(1 + coverage) / 2`` quantile of the standard
        normal distribution (1.2816 for 0.8), i.e. the ``(1 - coverage) / 2`` quantile of the
        forecast.
    upper : ndarray or DataArray
        ``mean + z * std``, the ``(1 + coverage) / 2`` quantile of the forecast.
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
