"""Labeled input and output: the only seqlstm module that knows xarray.

Estimators never look at dims or coordinates themselves.  They call

- :func:`to_sequences` on ``X`` to get a :class:`SequenceData`: a fresh C-contiguous float array
  ``(n_samples, n_time, n_features)``, the length of every NaN-padded sequence, the feature names
  and everything needed to label outputs like the input;
- :func:`to_targets` (regression) or :func:`to_labels` (classification) on ``y``, aligned with
  ``X``'s samples;
- :func:`wrap_output` / :func:`wrap_labels` / :func:`wrap_features` to give predictions the
  input's type, sample coordinates, time coordinate and attributes;
- :func:`is_dask` / :func:`apply_lazily` to predict lazily on dask-backed input.

Conventions
-----------
NumPy input is ``(sample, time, feature)`` (``(sample, feature)`` means sequences of length one)
and gives NumPy output.  A DataArray needs a time dim and a feature dim (names are parameters);
every other dim is a sample dim, and several sample dims are stacked into one, in C order.  A
Dataset's data variables are the features.  Padding is NaN at the end of a sequence: whole time
steps where every feature is NaN.  NaN or inf anywhere else is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.utils.validation import column_or_1d

__all__ = [
    "SequenceData",
    "Targets",
    "to_sequences",
    "to_targets",
    "to_labels",
    "wrap_output",
    "wrap_labels",
    "wrap_features",
    "is_dask",
    "apply_lazily",
    "lazy_feature_info",
    "write_netcdf",
    "read_netcdf",
]

_NUMERIC_KINDS = "biuf"  # bool, signed and unsigned int, float


class _DtypeError(TypeError, ValueError):
    """Non-numeric data: a TypeError, and a ValueError as scikit-learn's checks expect."""


@dataclass
class SequenceData:
    """Validated sequences plus what is needed to label outputs like the input.

    Attributes
    ----------
    values : ndarray of shape (n_samples, n_time, n_features)
        A new C-contiguous float array (never a view of the user's data), NaN at padded steps.
    lengths : ndarray of int64, shape (n_samples,)
        Number of valid (non-padded) time steps of each sequence.
    feature_names : ndarray of str (object dtype) or None
        Feature names from the feature coordinate, a Dataset's variable names or a DataFrame's
        columns; None when there are none.
    kind : {"numpy", "dataarray", "dataset"}
        Type of the input.
    ndim : int
        Number of dims of NumPy input (2 or 3; 3 for a list of sequences).
    dims : tuple of str
        Dims of labeled input, in the input's order (feature dim last for a Dataset).
    sample_dims : tuple of str
        The sample dims of labeled input (empty: one unlabeled sample).  Several are stacked in
        C order into the first axis of `values`.
    sample_shape : tuple of int
        Sizes of `sample_dims`.
    time_dim : str or None
        Time dim of labeled input; None if the input had none (sequences of length one).
    feature_dim : str or None
        Feature dim of labeled input.
    coords : xarray.Dataset or None
        The input's coordinates (sample, time and feature coordinates, scalar coordinates).
    attrs : dict
        The input's attributes.
    name : hashable or None
        The input DataArray's name.
    """

    values: np.ndarray
    lengths: np.ndarray
    feature_names: np.ndarray | None = None
    kind: str = "numpy"
    ndim: int = 3
    dims: tuple = ()
    sample_dims: tuple = ()
    sample_shape: tuple = ()
    time_dim: str | None = None
    feature_dim: str | None = None
    coords: Any = None
    attrs: dict = field(default_factory=dict)
    name: Hashable | None = None

    @property
    def n_samples(self):
        """int: Number of sequences."""
        return self.values.shape[0]

    @property
    def n_time(self):
        """int: Length of the (padded) time axis."""
        return self.values.shape[1]

    @property
    def n_features(self):
        """int: Number of features."""
        return self.values.shape[2]


class Targets(NamedTuple):
    """Regression targets returned by :func:`to_targets`.

    Attributes
    ----------
    values : ndarray of shape (n_samples, n_outputs) or (n_samples, n_time, n_outputs)
        New C-contiguous float array.
    names : ndarray of str (object dtype) or None
        Output names from ``y``'s output coordinate or Dataset variables, else None.
    """

    values: np.ndarray
    names: np.ndarray | None


# ---------------------------------------------------------------------------------------------
# Input


def to_sequences(
    X, *, time_dim="time", feature_dim="feature", arg="X", dtype=np.float64, allow_nan=False
):
    """Validate sequence input and convert it to a float array with lengths.

    Parameters
    ----------
    X : array-like, list of 2-D arrays, xarray.DataArray or xarray.Dataset
        - array-like of shape (n_samples, n_time, n_features), or (n_samples, n_features) for
          sequences of length one (features are always the last axis);
        - list or tuple of arrays of shape (n_time_i, n_features): sequences of different
          lengths, NaN-padded at the end;
        - DataArray with dims `time_dim` and `feature_dim`; every other dim is a sample dim
          (none: one sample; several: stacked in C order).  Without `time_dim` but with at
          least one sample dim, each sample is a sequence of length one;
        - Dataset: its data variables are the features.
    time_dim, feature_dim : str, default "time", "feature"
        Names of the time and feature dims of labeled input.
    arg : str, default "X"
        Argument name used in error messages.
    dtype : numpy dtype, default float64
        Floating dtype of the returned values.
    allow_nan : bool, default False
        Accept NaN anywhere (for NaN-aware transformers); inf is still rejected and lengths still
        count the trailing all-NaN steps as padding.

    Returns
    -------
    SequenceData
        The values (a new array, the user's object is never modified), lengths and labels.

    Raises
    ------
    TypeError
        If the data are not numeric (strings, complex, datetimes; the exception is also a
        ValueError, as scikit-learn's estimator checks expect), sparse, or an object array holding
        non-numbers such as dicts.
    ValueError
        If a dim is missing, the shape is wrong or empty, an object array holds strings that are
        not numbers, or NaN/inf occur outside padding.  Messages follow scikit-learn's wording
        where scikit-learn's estimator checks look for it.
    """
    if isinstance(X, xr.Dataset):
        if feature_dim in X.dims:
            raise ValueError(
                f"{arg}: a Dataset's data variables become the feature dim "
                f"{feature_dim!r} (feature_dim), but the Dataset already has a dim with that "
                f"name; found dims {tuple(X.dims)}."
            )
        if not X.data_vars:
            raise ValueError(f"{arg}: expected a Dataset with data variables, found none.")
        da = X.to_dataarray(dim=feature_dim)
        dims = tuple(d for d in da.dims if d != feature_dim) + (feature_dim,)
        data = _from_dataarray(da.transpose(*dims), time_dim, feature_dim, arg, dtype, allow_nan)
        data.kind, data.attrs, data.name = "dataset", dict(X.attrs), None
        return data
    if isinstance(X, xr.DataArray):
        return _from_dataarray(X, time_dim, feature_dim, arg, dtype, allow_nan)
    return _from_array(X, arg, dtype, allow_nan)


def _from_array(X, arg, dtype, allow_nan):
    """NumPy-like input (including lists of sequences and DataFrames)."""
    if hasattr(X, "toarray"):  # scipy.sparse: densifying could exhaust memory
        raise TypeError(
            f"{arg}: sparse input is not supported; expected a dense array, found {type(X)}."
        )
    if isinstance(X, (list, tuple)) and len(X) > 0 and all(np.ndim(x) == 2 for x in X):
        return _from_list(X, arg, dtype, allow_nan)
    feature_names = _dataframe_columns(X)
    try:
        array = np.asarray(X)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(
            f"{arg}: could not convert to an array ({exc}). Sequences of different lengths must "
            f"be given as a list of 2-D arrays of shape (n_time, n_features)."
        ) from None
    if array.ndim not in (2, 3):
        hint = (
            " Reshape your data either using array.reshape(-1, 1) if your data has a single "
            "feature or array.reshape(1, -1) if it contains a single sample."
        )
        raise ValueError(
            f"{arg}: expected a 2-D array (n_samples, n_features) or a 3-D array (n_samples, "
            f"n_time, n_features); found ndim={array.ndim} with shape {array.shape}."
            + (hint if array.ndim < 2 else "")
        )
    ndim = array.ndim
    values = _as_float(array, arg, dtype)
    if ndim == 2:
        values = values[:, np.newaxis, :]
    data = SequenceData(values, None, feature_names, ndim=ndim)
    return _finish(data, arg, allow_nan, array.shape)


def _from_list(X, arg, dtype, allow_nan):
    """List of (n_time_i, n_features) arrays, NaN-padded at the end."""
    arrays = [_as_float(np.asarray(x), arg, dtype) for x in X]
    n_features = {a.shape[1] for a in arrays}
    if len(n_features) > 1:
        raise ValueError(
            f"{arg}: expected sequences with the same number of features; found "
            f"{sorted(n_features)} features."
        )
    n_time = max(a.shape[0] for a in arrays)
    values = np.full((len(arrays), n_time, n_features.pop()), np.nan, dtype=dtype)
    for i, a in enumerate(arrays):
        values[i, : a.shape[0]] = a
    return _finish(SequenceData(values, None), arg, allow_nan, values.shape)


def _from_dataarray(da, time_dim, feature_dim, arg, dtype, allow_nan):
    has_time = time_dim in da.dims
    sample_dims = tuple(d for d in da.dims if d not in (time_dim, feature_dim))
    if feature_dim not in da.dims or not (has_time or sample_dims):
        raise ValueError(
            f"{arg}: expected a DataArray with a time dim named {time_dim!r} (time_dim) and a "
            f"feature dim named {feature_dim!r} (feature_dim); found dims {tuple(da.dims)}. "
            f"Pass time_dim=... and feature_dim=... to name yours."
        )
    _check_dtype(da.dtype, arg)
    sample_shape = tuple(da.sizes[d] for d in sample_dims)
    n_time = da.sizes[time_dim] if has_time else 1
    _check_not_empty((np.prod(sample_shape), n_time, da.sizes[feature_dim]), da.shape, arg)
    # Every other dim is a sample dim: stack them (C order) into one, or add one if there is none.
    stacked = (
        da.stack({"__sample__": sample_dims}, create_index=False)
        if sample_dims
        else da.expand_dims("__sample__")
    )
    if not has_time:
        stacked = stacked.expand_dims(time_dim)
    stacked = stacked.transpose("__sample__", time_dim, feature_dim)
    values = _as_float(stacked.values, arg, dtype)
    feature_names = None
    if feature_dim in da.coords:
        feature_names = np.asarray([str(v) for v in da[feature_dim].values], dtype=object)
    data = SequenceData(
        values,
        None,
        feature_names,
        kind="dataarray",
        dims=tuple(da.dims),
        sample_dims=sample_dims,
        sample_shape=sample_shape,
        time_dim=time_dim if has_time else None,
        feature_dim=feature_dim,
        coords=da.coords.to_dataset(),
        attrs=dict(da.attrs),
        name=da.name,
    )
    return _finish(data, arg, allow_nan, da.shape)


def _dataframe_columns(X):
    """Column names of a pandas DataFrame with string columns, as scikit-learn does."""
    columns = getattr(X, "columns", None)
    if columns is None or not all(isinstance(c, str) for c in columns):
        return None
    return np.asarray(list(columns), dtype=object)


def _check_dtype(dt, arg):
    if dt.kind not in _NUMERIC_KINDS + "O":
        complex_hint = "Complex data not supported; " if dt.kind == "c" else ""
        raise _DtypeError(
            f"{arg}: {complex_hint}expected numeric data (bool, int or float); found dtype {dt}."
        )


def _as_float(array, arg, dtype):
    """A new C-contiguous float copy of `array` after a dtype check."""
    _check_dtype(array.dtype, arg)
    try:
        return np.array(array, dtype=dtype, order="C", copy=True)
    except (TypeError, ValueError) as exc:  # object arrays holding strings, dicts, None...
        raise type(exc)(
            f"{arg}: expected numeric data; found dtype {array.dtype} that cannot be converted "
            f"to {np.dtype(dtype)} ({exc})."
        ) from None


def _check_not_empty(sizes, shape, arg):
    """``sizes`` is (n_samples, n_time, n_features), ``shape`` the input's shape."""
    for size, what in zip(sizes, ("sample(s)", "time step(s)", "feature(s)")):
        if size == 0:  # scikit-learn's wording
            raise ValueError(
                f"{arg}: found array with 0 {what} (shape={shape}) while a minimum of 1 is "
                f"required; expected at least one sample, time step and feature."
            )


def _finish(data, arg, allow_nan, shape):
    """Check the shape, compute the lengths and reject NaN/inf outside the padding."""
    values = data.values
    _check_not_empty(values.shape, shape, arg)
    n_time = values.shape[1]
    valid_step = ~np.isnan(values).all(axis=2)  # (n_samples, n_time)
    has_valid = valid_step.any(axis=1)
    last_valid = n_time - 1 - np.argmax(valid_step[:, ::-1], axis=1)
    data.lengths = np.where(has_valid, last_valid + 1, 0).astype(np.int64)

    inside = np.arange(n_time) < data.lengths[:, np.newaxis]  # (n_samples, n_time)
    bad = np.isinf(values) if allow_nan else ~np.isfinite(values) & inside[:, :, np.newaxis]
    if bad.any():
        i, t, f = np.argwhere(bad)[0]
        found = values[i, t, f]
        where = "" if np.isinf(found) else (
            f" inside the sequence (length {data.lengths[i]}); NaN is only allowed as padding: "
            f"time steps where all features are NaN, at the end of a sequence"
        )
        raise ValueError(
            f"{arg}: expected finite values; found {found} at sample {i}, time step {t}, "
            f"feature {f}{where}."
        )
    if not allow_nan and not has_valid.all():
        i = int(np.argmin(has_valid))
        raise ValueError(
            f"{arg}: expected sequences of length >= 1; found sample {i} with all values NaN."
        )
    return data


# ---------------------------------------------------------------------------------------------
# Targets


def to_targets(y, data, *, per_step, arg="y", dtype=np.float64, allow_nan=None):
    """Validate regression targets and align them with the sequences of ``X``.

    Parameters
    ----------
    y : array-like, xarray.DataArray or xarray.Dataset
        NumPy-like: shape (n_samples,) or (n_samples, n_outputs) for ``per_step=False``;
        (n_samples, n_time) or (n_samples, n_time, n_outputs) for ``per_step=True``.
        DataArray: must have ``X``'s sample dims (matched by name; labels in another order are
        reordered), the time dim when ``per_step`` and at most one more dim, the output dim,
        whose coordinate gives the output names.  Dataset: its data variables are the outputs.
    data : SequenceData
        The result of :func:`to_sequences` on ``X``.
    per_step : bool
        Whether there is one target per time step (sequence labelling, forecasting) or one per
        sequence.
    arg : str, default "y"
        Argument name used in error messages.
    dtype : numpy dtype, default float64
        Floating dtype of the returned values.
    allow_nan : bool or None, default None
        Whether NaN (a missing observation) is accepted.  None means ``per_step``.  inf is never
        accepted.

    Returns
    -------
    Targets
        Named tuple ``(values, names)``: a new float array of shape (n_samples, n_outputs) or
        (n_samples, n_time, n_outputs), and the output names or None.

    Raises
    ------
    TypeError
        If ``y`` is not numeric.
    ValueError
        If the shape or the sample count does not match ``X``, or NaN/inf are found.
    """
    names = None
    if isinstance(y, xr.Dataset):
        names = np.asarray([str(v) for v in y.data_vars], dtype=object)
        output_dim = _unused_name(y, "variable")
        y = y.to_dataarray(dim=output_dim)
        y = y.transpose(..., output_dim)
    if isinstance(y, xr.DataArray) and data.kind != "numpy":
        labeled = y
        y, output_dims = _align_labeled(labeled, data, per_step, arg)
        if len(output_dims) > 1:
            raise ValueError(
                f"{arg}: expected at most one dim besides the sample and time dims of X "
                f"{data.sample_dims + (data.time_dim,)}; found {output_dims}."
            )
        if output_dims and names is None and output_dims[0] in labeled.coords:
            names = np.asarray([str(v) for v in labeled[output_dims[0]].values], dtype=object)
    array = np.asarray(y)
    expected = 2 + per_step
    if array.ndim == expected - 1:
        array = array[..., np.newaxis]
    if array.ndim != expected:
        shapes = "(n_samples, n_time[, n_outputs])" if per_step else "(n_samples[, n_outputs])"
        raise ValueError(
            f"{arg}: expected shape {shapes} with per_step={per_step}; found ndim={array.ndim} "
            f"with shape {array.shape}."
        )
    _check_shape(array, data, per_step, arg)
    values = _as_float(array, arg, dtype)
    if 0 in values.shape:
        raise ValueError(f"{arg}: expected at least one output; found shape {values.shape}.")
    allow_nan = per_step if allow_nan is None else allow_nan
    bad = np.isinf(values) if allow_nan else ~np.isfinite(values)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        axes = ("sample", "time step", "output") if per_step else ("sample", "output")
        where = ", ".join(f"{axis} {i}" for axis, i in zip(axes, index))
        raise ValueError(f"{arg}: expected finite values; found {values[index]} at {where}.")
    return Targets(values, names)


def to_labels(y, data, *, per_step, arg="y"):
    """Validate class labels and align them with the sequences of ``X``.

    Parameters
    ----------
    y : array-like or xarray.DataArray
        Labels of any dtype (strings, ints...): shape (n_samples,) for ``per_step=False``
        (a column vector (n_samples, 1) is accepted with scikit-learn's DataConversionWarning),
        (n_samples, n_time) for ``per_step=True``.  A DataArray must have ``X``'s sample dims
        (and time dim when ``per_step``) and no other dim.
    data : SequenceData
        The result of :func:`to_sequences` on ``X``.
    per_step : bool
        Whether there is one label per time step or one per sequence.
    arg : str, default "y"
        Argument name used in error messages.

    Returns
    -------
    ndarray of shape (n_samples,) or (n_samples, n_time)
        The labels, dtype unchanged.  With ``per_step``, None or NaN marks a missing label.

    Raises
    ------
    ValueError
        If the shape or the sample count does not match ``X``, or a label is missing when
        ``per_step`` is False.
    """
    if isinstance(y, xr.DataArray) and data.kind != "numpy":
        y, extra = _align_labeled(y, data, per_step, arg)
        if extra:
            raise ValueError(
                f"{arg}: expected labels with only the sample (and time) dims of X; found the "
                f"extra dims {extra}."
            )
    if per_step:
        labels = np.array(y, copy=True)
        if labels.ndim == 3 and labels.shape[2] == 1:
            labels = labels[:, :, 0]
        if labels.ndim != 2:
            raise ValueError(
                f"{arg}: expected labels of shape (n_samples, n_time) with per_step=True; found "
                f"ndim={labels.ndim} with shape {labels.shape}."
            )
    else:
        try:
            labels = np.array(column_or_1d(y, warn=True), copy=True)
        except ValueError:
            shape = np.shape(y)
            raise ValueError(
                f"{arg}: expected labels of shape (n_samples,) with per_step=False; found "
                f"ndim={len(shape)} with shape {shape}."
            ) from None
        if pd.isna(labels).any():
            i = int(np.argmax(pd.isna(labels)))
            raise ValueError(f"{arg}: expected a label for every sample; found none at sample {i}.")
    _check_shape(labels, data, per_step, arg)
    return labels


def _check_shape(array, data, per_step, arg):
    if array.shape[0] != data.n_samples:
        raise ValueError(
            f"{arg}: found {array.shape[0]} samples, but X has {data.n_samples} samples."
        )
    if per_step and array.shape[1] != data.n_time:
        raise ValueError(
            f"{arg}: found {array.shape[1]} time steps, but X has {data.n_time} time steps."
        )


def _align_labeled(y, data, per_step, arg):
    """Order ``y`` like X's samples; return (array of shape (n, [T,] ...), extra dims)."""
    time_dims = (data.time_dim,) if per_step and data.time_dim is not None else ()
    missing = [d for d in data.sample_dims + time_dims if d not in y.dims]
    if missing:
        raise ValueError(
            f"{arg}: expected the dims {data.sample_dims + time_dims} of X; found dims "
            f"{tuple(y.dims)} (missing {tuple(missing)})."
        )
    if not per_step and data.time_dim is not None and data.time_dim in y.dims:
        raise ValueError(
            f"{arg}: found the time dim {data.time_dim!r}, but per_step=False expects one "
            f"target per sequence."
        )
    for dim, size in zip(data.sample_dims + time_dims, data.sample_shape + (data.n_time,)):
        if y.sizes[dim] != size:
            raise ValueError(
                f"{arg}: found {y.sizes[dim]} entries along {dim!r}, but X has {size}."
            )
        if dim in y.indexes and dim in data.coords.indexes:
            y = _reorder(y, dim, data.coords.indexes[dim], arg)
    extra = tuple(d for d in y.dims if d not in data.sample_dims + time_dims)
    y = y.transpose(*data.sample_dims, *time_dims, *extra)
    array = np.asarray(y.values)
    shape = (data.n_samples,) + ((data.n_time,) if per_step else ())
    return array.reshape(shape + array.shape[len(data.sample_dims) + len(time_dims):]), extra


def _reorder(y, dim, x_index, arg):
    """Reorder ``y`` along ``dim`` to X's labels when they are the same labels in another order."""
    y_index = y.indexes[dim]
    if y_index.equals(x_index):
        return y
    if x_index.has_duplicates or y_index.has_duplicates or set(y_index) != set(x_index):
        raise ValueError(f"{arg}: the labels of dim {dim!r} do not match those of X.")
    return y.sel({dim: x_index})


def _unused_name(obj, name):
    while name in obj.dims or name in obj.variables:
        name = f"_{name}"
    return name


# ---------------------------------------------------------------------------------------------
# Output


def wrap_output(values, data, *, per_step, output_names=None, output_dim="output", name=None):
    """Give model outputs the type, sample coordinates and attributes of the input.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_outputs) or (n_samples, n_time, n_outputs)
        Model outputs in the order of ``data``'s samples.
    data : SequenceData
        The input the outputs were computed from.
    per_step : bool
        Whether `values` has a time axis.
    output_names : sequence of str, optional
        Coordinate of the output dim.
    output_dim : str, default "output"
        Name of the output dim.
    name : hashable, optional
        Name of the returned DataArray; default the input DataArray's name.

    Returns
    -------
    ndarray or xarray.DataArray
        `values` unchanged for NumPy input.  Otherwise a DataArray with the input's sample dims
        (unstacked again), the time dim and time coordinate for ``per_step``, the output dim
        where the feature dim was, the input's coordinates on those dims and its attrs.  An
        input without a time dim (sequences of length one) gives per-step outputs without one.
    """
    if data.kind == "numpy":
        return values
    if output_dim in data.sample_dims or output_dim == data.time_dim:
        raise ValueError(
            f"output_dim: {output_dim!r} is already a dim of the input; choose another name."
        )
    coords = {output_dim: list(output_names)} if output_names is not None else None
    out = _wrap(values, data, per_step, (output_dim,), name)
    return out.assign_coords(coords) if coords else out


def wrap_labels(labels, data, *, per_step, name=None):
    """Give predicted class labels the type, sample coordinates and attributes of the input.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,) or (n_samples, n_time)
        Labels in the order of ``data``'s samples.
    data : SequenceData
        The input the labels were predicted from.
    per_step : bool
        Whether `labels` has a time axis.
    name : hashable, optional
        Name of the returned DataArray; default the input DataArray's name.

    Returns
    -------
    ndarray or xarray.DataArray
        `labels` unchanged for NumPy input, else a DataArray with the input's sample dims (and
        time dim for ``per_step``), their coordinates and the input's attrs.
    """
    if data.kind == "numpy":
        return labels
    return _wrap(labels, data, per_step, (), name)


def wrap_features(values, data):
    """Give an array shaped like the input's values the input's own form.

    For transformers (scaling, inverse scaling): the result has the type, shape, dim order,
    coordinates (feature coordinates included) and attrs of the original input.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_time, n_features)
        Array shaped like ``data.values``.
    data : SequenceData
        The input.

    Returns
    -------
    ndarray, xarray.DataArray or xarray.Dataset
        NumPy input: `values` (with the time axis dropped again for 2-D input; a list of
        sequences gives the padded 3-D array).  DataArray input: a DataArray like the input.
        Dataset input: a Dataset with the input's data variables.
    """
    if data.kind == "numpy":
        return values[:, 0, :] if data.ndim == 2 else values
    out = _wrap(values, data, True, (data.feature_dim,), data.name)
    if data.kind == "dataset":
        out = out.to_dataset(dim=data.feature_dim)
        out.attrs = dict(data.attrs)
    return out


def _wrap(values, data, per_step, extra_dims, name):
    """DataArray of `values` (n_samples, [n_time,] *extra) with the input's labels."""
    values = np.asarray(values)
    if per_step and data.time_dim is None:
        values = values[:, 0]  # the input had no time dim: do not invent one
    time_dims = (data.time_dim,) if per_step and data.time_dim is not None else ()
    dims = data.sample_dims + time_dims + extra_dims
    out = xr.DataArray(values.reshape(data.sample_shape + values.shape[1:]), dims=dims)
    # The input's dim order, with the output dim where the feature dim was.
    order = [extra_dims[0] if d == data.feature_dim and extra_dims else d for d in data.dims]
    out = out.transpose(*[d for d in order if d in dims], *[d for d in dims if d not in order])
    # Unstacking by reshape rather than DataArray.unstack keeps coordinate-less dims without
    # coordinates, keeps auxiliary coordinates as they were and allows duplicate labels.
    coords = data.coords.drop_vars(
        [k for k, v in data.coords.variables.items() if not set(v.dims) <= set(dims)]
    )
    out = out.assign_coords(coords.coords)
    out.attrs = dict(data.attrs)
    out.name = data.name if name is None else name
    return out


# ---------------------------------------------------------------------------------------------
# Dask


def is_dask(X):
    """Whether `X` is a dask collection (e.g. a DataArray or Dataset backed by dask arrays).

    Parameters
    ----------
    X : object
        Anything.

    Returns
    -------
    bool
        True if `X` implements the dask collection protocol with a task graph.
    """
    graph = getattr(X, "__dask_graph__", None)
    return callable(graph) and graph() is not None


def apply_lazily(
    func,
    X,
    *,
    time_dim="time",
    feature_dim="feature",
    per_step,
    n_outputs,
    output_dim="output",
    output_names=None,
    dtype=np.float64,
):
    """Apply a NumPy prediction function lazily, chunk by chunk over the samples.

    Uses :func:`xarray.apply_ufunc` with ``dask="parallelized"``: the result is a dask-backed
    DataArray computed only when asked for, and each chunk of samples is predicted separately.
    The time and feature dims must each be one chunk; they are rechunked here if needed (which
    may cost memory for very long series).

    Parameters
    ----------
    func : callable
        ``func(values)`` takes a NumPy array of shape (..., n_time, n_features) with any number of
        leading sample dims (NaN-padded like the input) and returns an array of shape
        (..., n_outputs), or (..., n_time, n_outputs) for ``per_step``.
    X : xarray.DataArray, xarray.Dataset or dask array
        Dask-backed input.  A Dataset's variables are the features; a bare dask array must be
        3-D (sample, time, feature) and gives a bare dask array.
    time_dim, feature_dim : str, default "time", "feature"
        Names of the time and feature dims.
    per_step : bool
        Whether `func` returns one output per time step.
    n_outputs : int
        Size of the last axis returned by `func`.
    output_dim : str, default "output"
        Name of the output dim.
    output_names : sequence of str, optional
        Coordinate of the output dim.
    dtype : numpy dtype, default float64
        Dtype returned by `func`.

    Returns
    -------
    xarray.DataArray or dask array
        Lazy outputs with the input's sample dims, coordinates and attrs (kept explicitly).
    """
    if not isinstance(X, (xr.DataArray, xr.Dataset)):
        if np.ndim(X) != 3:
            raise ValueError(
                f"X: expected a 3-D dask array (n_samples, n_time, n_features); found "
                f"ndim={np.ndim(X)}."
            )
        out = apply_lazily(
            func,
            xr.DataArray(X, dims=("sample", time_dim, feature_dim)),
            time_dim=time_dim,
            feature_dim=feature_dim,
            per_step=per_step,
            n_outputs=n_outputs,
            output_dim=output_dim,
            dtype=dtype,
        )
        return out.data
    if isinstance(X, xr.Dataset):
        X = X.to_dataarray(dim=feature_dim)
    if time_dim not in X.dims or feature_dim not in X.dims:
        raise ValueError(
            f"X: expected a DataArray with a time dim named {time_dim!r} (time_dim) and a "
            f"feature dim named {feature_dim!r} (feature_dim); found dims {tuple(X.dims)}."
        )
    X = X.chunk({time_dim: -1, feature_dim: -1})
    out_core = [time_dim, output_dim] if per_step else [output_dim]
    out = xr.apply_ufunc(
        func,
        X,
        input_core_dims=[[time_dim, feature_dim]],
        output_core_dims=[out_core],
        exclude_dims={feature_dim} if output_dim == feature_dim else set(),
        dask="parallelized",
        dask_gufunc_kwargs={"output_sizes": {output_dim: n_outputs}},
        output_dtypes=[dtype],
        keep_attrs=True,
    )
    if output_names is not None:
        out = out.assign_coords({output_dim: list(output_names)})
    return out


def lazy_feature_info(X, feature_dim="feature"):
    """Feature names and count of (possibly dask-backed) input, without computing it.

    Parameters
    ----------
    X : xarray.DataArray, xarray.Dataset or array-like
        Input to a prediction.
    feature_dim : str, default "feature"
        Name of the feature dim of a DataArray.

    Returns
    -------
    names : ndarray of str (object dtype) or None
        Feature coordinate of a DataArray or the variables of a Dataset.
    n_features : int
        Size of the feature dim (last axis for arrays).
    """
    if isinstance(X, xr.Dataset):
        names = np.asarray([str(v) for v in X.data_vars], dtype=object)
        return names, len(names)
    if isinstance(X, xr.DataArray):
        if feature_dim not in X.dims:
            raise ValueError(
                f"X: expected a DataArray with a feature dim named {feature_dim!r} "
                f"(feature_dim); found dims {tuple(X.dims)}."
            )
        names = None
        if feature_dim in X.coords:
            names = np.asarray([str(v) for v in X[feature_dim].values], dtype=object)
        return names, X.sizes[feature_dim]
    return None, int(np.shape(X)[-1])


# ---------------------------------------------------------------------------------------------
# netCDF files (used by seqlstm.io)


def write_netcdf(path, variables, attrs):
    """Write variables and global attributes to a netCDF3 file with xarray's scipy backend.

    Parameters
    ----------
    path : str or os.PathLike
        Destination (written directly; callers handle atomicity).
    variables : dict of str -> (tuple of str, ndarray)
        Variable name -> (dims, values).
    attrs : dict of str -> number, str or 1-D array
        Global attributes.
    """
    ds = xr.Dataset({name: xr.Variable(dims, values) for name, (dims, values) in
                     variables.items()}, attrs=attrs)
    encoding = {name: {"_FillValue": None} for name in variables}
    ds.to_netcdf(path, engine="scipy", format="NETCDF3_64BIT", encoding=encoding)


def read_netcdf(path):
    """Read a netCDF file fully into memory with xarray's scipy backend (no pickle).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    variables : dict of str -> ndarray
    attrs : dict
        Global attributes.
    var_attrs : dict of str -> dict
        Attributes of each variable.
    """
    with xr.open_dataset(path, engine="scipy", mask_and_scale=False, decode_times=False,
                         cache=False) as ds:
        ds = ds.load()
        variables = {name: np.asarray(ds[name].values) for name in ds.variables}
        var_attrs = {name: dict(ds[name].attrs) for name in ds.variables}
        return variables, dict(ds.attrs), var_attrs


def record_feature_names(estimator, data):
    """Set ``n_features_in_`` and ``feature_names_in_`` (or remove a stale one) on a fitting
    estimator from ``data``, as scikit-learn does."""
    estimator.n_features_in_ = data.n_features
    if data.feature_names is not None:
        estimator.feature_names_in_ = data.feature_names
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
