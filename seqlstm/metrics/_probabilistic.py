"""Probabilistic forecast scores of Gaussian forecasts (CRPS) and of intervals (coverage).  See
:mod:`seqlstm.metrics` for the conventions (argument order, reductions, missing values)."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import ndtr, ndtri

from ._core import _doc, _is_xarray, _mask, _mmean, _reduce

__all__ = ["crps_gaussian", "gaussian_interval", "interval_coverage", "gaussian_coverage"]

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

