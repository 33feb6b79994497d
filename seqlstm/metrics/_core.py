"""The machinery every score of :mod:`seqlstm.metrics` shares: NaN-skipping masked sums and
means over a tuple of axes (the NumPy layer), and the input handling that applies a NumPy kernel
to NumPy arrays (reduced over ``axis``) or to DataArrays (aligned exactly, reduced over named
``dim`` through :func:`xarray.apply_ufunc`)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np
import xarray as xr
from numpy.lib.array_utils import normalize_axis_tuple

# --------------------------------------------------------------------------------------------
# NumPy layer: float64 arrays of one shape, reduced over a tuple of axes
# --------------------------------------------------------------------------------------------


def _mask(*arrays, weight=None):
    """Where none of ``arrays`` is NaN, and the arrays with 0 at the other points (so that a
    value paired with a NaN never enters any arithmetic, not even to overflow).

    The first result, ``keep``, is boolean; with ``weight`` (non-negative, broadcast against the
    arrays) it is the weight of every point, 0 where a value is NaN, and the sums and means of
    :func:`_msum` and :func:`_mmean` are weighted by it (a zero weight skips the point)."""
    keep = ~np.isnan(arrays[0])
    for a in arrays[1:]:
        keep = keep & ~np.isnan(a)
    arrays = tuple(np.where(keep, a, 0.0) for a in arrays)
    if weight is not None:
        keep = np.where(keep, weight, 0.0)
    return (keep,) + arrays


def _msum(values, keep, axis):
    """Sum of ``values`` over ``axis`` where ``keep`` (skipped points contribute 0), weighted
    when ``keep`` holds weights."""
    if keep.dtype == bool:
        return np.sum(np.where(keep, values, 0.0), axis=axis)
    return np.sum(np.where(keep > 0, values, 0.0) * keep, axis=axis)


def _mmean(values, keep, axis, count=None):
    """Mean of ``values`` over ``axis`` where ``keep`` (weighted when ``keep`` holds weights);
    NaN where nothing is kept."""
    if count is None:
        count = np.sum(keep, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _msum(values, keep, axis) / np.where(count > 0, count, np.nan)


def _expand(reduced, axis):
    """``reduced`` with the reduced axes put back as length 1 (to broadcast against input)."""
    return np.expand_dims(reduced, axis) if axis else reduced


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


_REDUCE_DOC = """axis : int or tuple of int, optional
        NumPy input: the axes to reduce (default all).
    dim : str or sequence of str, optional
        DataArray input: the dims to reduce (default all); the others are kept."""


def _doc(func):
    func.__doc__ = func.__doc__.replace("{reduce}", _REDUCE_DOC)
    return func
