"""Long records for forecasting: validate ``data`` and convert it to whole records with labels.

:func:`to_records` turns a NumPy array, a DataArray or a Dataset into a :class:`Records`: the
time-varying variables of every series as one float array ``(n_series, n_time, n_vars)`` (NaN
where a value is missing, never filled), the static attributes of every series ``(n_series,
n_static)``, the variable names, the time coordinate and the labels needed to wrap forecasts
like the input.  :func:`future_times` extends a time coordinate with the record's own frequency.

Conventions
-----------
- NumPy: ``(time,)`` is one variable of one series, ``(time, variable)`` one series, ``(series,
  time, variable)`` several; the variables are named ``"x0"``, ``"x1"``...
- DataArray: a time dim (``time_dim``) and optionally a variable dim (``feature_dim``, its
  coordinate gives the names; without it the array is one variable named after the array); every
  other dim is a sample dim (one series per sample, several sample dims stacked in C order).
- Dataset: data variables with the time dim are time-varying; those without it are static
  attributes of each series (their dims must be sample dims), fed at every step.
- The time coordinate must be strictly increasing (no duplicates).

Panels (many series of different lengths and start times) are one array NaN-padded to a shared
time axis: position ``t`` is the same time in every series, a series that starts later has NaN
before its first value and one that ends earlier NaN after its last (nothing is shifted or
filled).  A datetime coordinate aligns series on the calendar.  Series with integer time whose
ENDS coincide (e.g. yearly series of different lengths, all ending at the forecast origin, as in
the M competitions) but were stored NaN-padded at the end must be aligned by their ends first:
:func:`align_ends` moves each series' values to the end of the axis (NaN before), so that a
forecast from the end of the array starts after every series' last value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

__all__ = ["Records", "to_records", "future_times", "select_columns", "infer_season_length",
           "align_ends"]


@dataclass
class Records:
    """Validated records plus the labels to wrap forecasts like the input.

    Attributes
    ----------
    values : ndarray of float64, shape (n_series, n_time, n_vars)
        A new C-contiguous array of the time-varying variables, NaN where missing.
    var_names : list of str
        Names of the time-varying variables (columns of `values`).
    static : ndarray of float64, shape (n_series, n_static)
        Static attributes per series.
    static_names : list of str
    time : ndarray, shape (n_time,)
        The time coordinate (datetime64 or numeric; ``arange(n_time)`` when there is none).
    kind : {"numpy", "dataarray", "dataset"}
    ndim : int
        Number of dims of NumPy input.
    time_dim : str
    sample_dims : tuple of str
        Sample dims of labeled input (empty: one series).
    sample_shape : tuple of int
    sample_coords : dict
        Coordinates of the sample dims (name -> (dims, values)).
    attrs : dict
    time_given : bool
        Whether the input had a time coordinate (False: `time` is ``arange(n_time)``).
    """

    values: np.ndarray
    var_names: list
    static: np.ndarray
    static_names: list
    time: np.ndarray
    kind: str
    ndim: int = 3
    time_dim: str = "time"
    sample_dims: tuple = ()
    sample_shape: tuple = ()
    sample_coords: dict = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)
    time_given: bool = True

    @property
    def n_series(self):
        return self.values.shape[0]

    @property
    def n_time(self):
        return self.values.shape[1]


def to_records(data, *, time_dim="time", feature_dim="feature", arg="data"):
    """Validate forecasting input and convert it to a :class:`Records`.

    Parameters
    ----------
    data : ndarray, xarray.DataArray or xarray.Dataset
        See the module docstring.
    time_dim, feature_dim : str
        Names of the time dim and of a DataArray's variable dim.
    arg : str
        The argument's name, for error messages.

    Returns
    -------
    Records

    Raises
    ------
    ValueError
        Missing time dim, non-numeric or infinite values, an empty record, a non-increasing or
        duplicated time coordinate, NaN in a static attribute.
    """
    if isinstance(data, xr.Dataset):
        rec = _from_dataset(data, time_dim, arg)
    elif isinstance(data, xr.DataArray):
        rec = _from_dataarray(data, time_dim, feature_dim, arg)
    else:
        rec = _from_numpy(data, arg)
    check_shape(rec.values.shape, arg)
    check_values(rec, arg)
    _check_time(rec.time, rec.time_dim, arg)
    return rec


def check_shape(shape, arg):
    """ValueError unless records of `shape` hold something.

    Parameters
    ----------
    shape : tuple of int
        ``(n_series, n_time, n_vars)``.
    arg : str
        The argument's name, for the message.
    """
    if 0 in shape:
        raise ValueError(f"{arg}: expected at least one series, one time step and one "
                         f"time-varying variable; found values of shape {tuple(shape)}.")


def check_values(rec, arg):
    """ValueError for inf in the values of `rec` or NaN in its static attributes.

    The checks of :func:`to_records` on values, for records built chunk by chunk too.

    Parameters
    ----------
    rec : Records
    arg : str
        The argument's name, for the message.
    """
    if np.isinf(rec.values).any() or np.isinf(rec.static).any():
        raise ValueError(f"{arg}: expected finite values or NaN (missing); found inf.")
    bad = np.isnan(rec.static).any(axis=0)
    if bad.any():
        names = [n for n, b in zip(rec.static_names, bad) if b]
        raise ValueError(f"{arg}: expected static attributes without NaN; found NaN in {names}.")


def check_numeric(dtype, arg, what):
    """ValueError unless `dtype` is numeric (bool, integer or float).

    Parameters
    ----------
    dtype : numpy dtype
    arg : str
        The argument's name, for the message.
    what : str
        What has that dtype (e.g. "variable 'flow'"), for the message.
    """
    if np.dtype(dtype).kind not in "biuf":
        raise ValueError(f"{arg}: expected numeric values; found dtype {dtype} in {what}.")


def _float(values, arg, what):
    values = np.asarray(values)
    check_numeric(values.dtype, arg, what)
    return np.array(values, dtype=np.float64, order="C")  # always a copy


def _from_numpy(data, arg):
    values = _float(data, arg, "the array")
    ndim = values.ndim
    if ndim == 1:
        values = values[None, :, None]
    elif ndim == 2:
        values = values[None]
    elif ndim != 3:
        raise ValueError(f"{arg}: expected a NumPy array (time,), (time, variable) or (series, "
                         f"time, variable); found {ndim} dims {values.shape}.")
    names = [f"x{i}" for i in range(values.shape[2])]
    return Records(np.ascontiguousarray(values), names, np.zeros((values.shape[0], 0)), [],
                   np.arange(values.shape[1]), "numpy", ndim=ndim,
                   sample_shape=() if ndim < 3 else (values.shape[0],), time_given=False)


def _require_time(obj, time_dim, arg):
    if time_dim not in obj.dims:
        raise ValueError(f"{arg}: expected a time dim named {time_dim!r} (time_dim); found dims "
                         f"{tuple(obj.dims)}.")


def _time_coord(obj, time_dim):
    if time_dim in obj.coords:
        return np.asarray(obj[time_dim].values)
    return np.arange(obj.sizes[time_dim])


def _sample_info(obj, sample_dims):
    coords = {}
    for name, coord in obj.coords.items():
        if set(coord.dims) and set(coord.dims) <= set(sample_dims):
            coords[name] = (coord.dims, np.asarray(coord.values))
    return tuple(obj.sizes[d] for d in sample_dims), coords


def dataarray_layout(da, time_dim, feature_dim):
    """A DataArray's variable names (its `feature_dim` labels, or its name), trailing dims
    (``(time_dim, feature_dim)`` or ``(time_dim,)``) and sample dims (the others, in order).

    Parameters
    ----------
    da : xarray.DataArray
    time_dim, feature_dim : str

    Returns
    -------
    names : list of str
    tail, sample_dims : tuple of str
    """
    if feature_dim in da.dims:
        names = ([str(v) for v in da[feature_dim].values] if feature_dim in da.coords
                 else [f"{feature_dim}{i}" for i in range(da.sizes[feature_dim])])
        tail = (time_dim, feature_dim)
    else:
        names = [str(da.name) if da.name is not None else "y"]
        tail = (time_dim,)
    return names, tail, tuple(d for d in da.dims if d not in tail)


def _from_dataarray(da, time_dim, feature_dim, arg):
    _require_time(da, time_dim, arg)
    names, tail, sample_dims = dataarray_layout(da, time_dim, feature_dim)
    arr = _float(da.transpose(*sample_dims, *tail).values, arg, f"DataArray {da.name!r}")
    shape, coords = _sample_info(da, sample_dims)
    values = arr.reshape((int(np.prod(shape)), da.sizes[time_dim], len(names)))
    return Records(np.ascontiguousarray(values), names, np.zeros((values.shape[0], 0)), [],
                   _time_coord(da, time_dim), "dataarray", time_dim=time_dim,
                   sample_dims=sample_dims, sample_shape=shape, sample_coords=coords,
                   attrs=dict(da.attrs), time_given=time_dim in da.coords)


def dataset_layout(ds, time_dim, arg):
    """A Dataset's time-varying variables, static variables (without `time_dim`) and sample
    dims (the time-varying variables' other dims, in order of appearance).

    Parameters
    ----------
    ds : xarray.Dataset
    time_dim : str
    arg : str
        The argument's name, for errors.

    Returns
    -------
    varying, static : list of hashable
    sample_dims : tuple of str

    Raises
    ------
    ValueError
        When `time_dim` is missing or a static variable has a dim that is not a sample dim.
    """
    _require_time(ds, time_dim, arg)
    varying = [n for n in ds.data_vars if time_dim in ds[n].dims]
    static = [n for n in ds.data_vars if time_dim not in ds[n].dims]
    sample_dims = []
    for n in varying:
        sample_dims += [d for d in ds[n].dims if d != time_dim and d not in sample_dims]
    sample_dims = tuple(sample_dims)
    for n in static:
        extra = [d for d in ds[n].dims if d not in sample_dims]
        if extra:
            raise ValueError(
                f"{arg}: expected static variables (without {time_dim!r}) to have only sample "
                f"dims {sample_dims}; found {n!r} with dims {ds[n].dims}.")
    return varying, static, sample_dims


def _from_dataset(ds, time_dim, arg):
    varying, static, sample_dims = dataset_layout(ds, time_dim, arg)
    shape, coords = _sample_info(ds, sample_dims)
    n_series = int(np.prod(shape))
    T = ds.sizes[time_dim]
    values = np.empty((n_series, T, len(varying)))
    for i, n in enumerate(varying):
        da = ds[n].broadcast_like(ds[list(varying)]).transpose(*sample_dims, time_dim)
        values[:, :, i] = _float(da.values, arg, f"variable {n!r}").reshape(n_series, T)
    stat = np.empty((n_series, len(static)))
    for i, n in enumerate(static):
        da = ds[n]
        for d in sample_dims:
            if d not in da.dims:
                da = da.expand_dims({d: ds.sizes[d]})
        stat[:, i] = _float(da.transpose(*sample_dims).values, arg,
                            f"variable {n!r}").reshape(n_series)
    return Records(values, [str(n) for n in varying], stat, [str(n) for n in static],
                   _time_coord(ds, time_dim), "dataset", time_dim=time_dim,
                   sample_dims=sample_dims, sample_shape=shape, sample_coords=coords,
                   attrs=dict(ds.attrs), time_given=time_dim in ds.coords)


def _check_time(time, time_dim, arg):
    if time.size < 2:
        return
    if time.dtype.kind not in "iufM":
        raise ValueError(f"{arg}: expected a numeric or datetime time coordinate {time_dim!r}; "
                         f"found dtype {time.dtype}.")
    step = np.diff(time)
    bad = np.flatnonzero(~(step > step.dtype.type(0)))
    if bad.size:
        i = int(bad[0])
        what = "duplicated" if time[i] == time[i + 1] else "decreasing"
        raise ValueError(
            f"{arg}: expected a strictly increasing time coordinate {time_dim!r}; found a "
            f"{what} value at positions {i} and {i + 1} ({time[i]} then {time[i + 1]}).")


def select_columns(names, wanted, arg, default=None):
    """Column indices of `wanted` in `names`.

    Parameters
    ----------
    names : list of str
        The time-varying variables.
    wanted : None, str, int or list of str/int
        Names (or, for NumPy input, column numbers); None gives `default`.
    arg : str
        The parameter's name, for errors.
    default : list of int, optional

    Returns
    -------
    ndarray of int64
    """
    if wanted is None:
        return np.asarray([] if default is None else default, dtype=np.int64)
    if isinstance(wanted, (str, int, np.integer)):
        wanted = [wanted]
    cols = []
    for w in wanted:
        if isinstance(w, (int, np.integer)) and not isinstance(w, bool):
            ok = 0 <= w < len(names)
            col = int(w)
        else:
            ok = str(w) in names
            col = names.index(str(w)) if ok else -1
        if not ok:
            raise ValueError(f"{arg}: expected names of time-varying variables in {names}; "
                             f"found {w!r}.")
        if col in cols:
            raise ValueError(f"{arg}: expected each variable once; found {w!r} twice.")
        cols.append(col)
    return np.asarray(cols, dtype=np.int64)


def future_times(time, steps, step=None):
    """The `steps` times after a time coordinate, with the record's own frequency.

    Parameters
    ----------
    time : ndarray, shape (n_time,)
        Strictly increasing numeric or datetime64 times.
    steps : int
    step : float, optional
        The step of a numeric coordinate when the record cannot tell it (one time): a
        forecaster's ``time_step_``.  Not used for datetime coordinates or longer records.

    Returns
    -------
    ndarray, shape (steps,)
        Numeric or datetime64 times; NaN (NaT) when the frequency cannot be told (fewer than two
        times without `step`, or irregular spacing that pandas cannot name as a calendar
        frequency).
    """
    import pandas as pd

    if time.dtype.kind == "M":
        missing = np.full(steps, np.datetime64("NaT"), dtype=time.dtype)
        if time.size < 2:
            return missing
        step = np.diff(time)
        if (step == step[0]).all():
            return time[-1] + step[0] * np.arange(1, steps + 1)
        with warnings.catch_warnings():   # pandas 3 warns that it will return an offset
            warnings.simplefilter("ignore")
            freq = pd.infer_freq(pd.DatetimeIndex(time)) if time.size >= 3 else None
        if freq is None:
            return missing
        return pd.date_range(time[-1], periods=steps + 1, freq=freq)[1:].values.astype(
            time.dtype)
    if time.size == 1 and step is not None:
        return time[-1] + step * np.arange(1, steps + 1)
    if time.size < 2:
        return np.full(steps, np.nan)
    step = np.diff(time)
    if not np.allclose(step, step[0]):
        return np.full(steps, np.nan)
    return time[-1] + step[0] * np.arange(1, steps + 1)


#: Seasonal period by the time step of a datetime coordinate: (smallest step, largest step,
#: period), steps in seconds.  Months are 28-31 days, quarters 89-92, years 365-366.
_SEASONS = ((3600, 3600, 24), (86400, 86400, 7), (7 * 86400, 7 * 86400, 52),
            (28 * 86400, 31 * 86400, 12), (89 * 86400, 92 * 86400, 4),
            (365 * 86400, 366 * 86400, 1))


def infer_season_length(time):
    """The seasonal period of a record from its time coordinate's frequency.

    Parameters
    ----------
    time : ndarray, shape (n_time,)
        Strictly increasing numeric or datetime64 times.

    Returns
    -------
    int
        For a datetime coordinate whose median step is an hour: 24; a day: 7; a week: 52; a
        month (28-31 days): 12; a quarter (89-92 days): 4; a year or anything else: 1.  A
        numeric (integer) time coordinate, or fewer than two times: 1 (no season can be told;
        give ``season_length`` yourself).
    """
    if time.dtype.kind != "M" or time.size < 2:
        return 1
    step = np.median(np.diff(time).astype("timedelta64[s]").astype(np.float64))
    for low, high, period in _SEASONS:
        if low <= step <= high:
            return period
    return 1


def align_ends(values):
    """Series aligned by their ends: each series' steps moved to the end of the time axis.

    Parameters
    ----------
    values : array_like, shape (n_series, n_time) or (n_series, n_time, n_vars)
        Series NaN-padded to a common length (anywhere: before, after, or both).

    Returns
    -------
    ndarray of float64, same shape
        A new array in which series ``s``'s steps up to its last observed one (a step with any
        variable observed) end at ``n_time - 1``: the NaN after its last value move before its
        first.  Values and the gaps between them are unchanged; a series without any value
        stays NaN.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim not in (2, 3):
        raise ValueError(f"values: expected an array (series, time) or (series, time, "
                         f"variable); found {arr.ndim} dims {arr.shape}.")
    out = np.full_like(arr, np.nan)
    observed = ~np.isnan(arr) if arr.ndim == 2 else ~np.isnan(arr).all(axis=2)
    n_time = arr.shape[1]
    last = n_time - 1 - np.argmax(observed[:, ::-1], axis=1)
    for s in np.flatnonzero(observed.any(axis=1)):
        shift = n_time - 1 - last[s]
        out[s, shift:] = arr[s, :n_time - shift]
    return out
