"""Sequence input: validate ``X`` and convert it to a float array with lengths and labels.

:func:`to_sequences` turns a NumPy array, a list of sequences, a DataArray or a Dataset into a
:class:`SequenceData`: a fresh C-contiguous float array ``(n_samples, n_time, n_features)``, the
length of every NaN-padded sequence, the feature names and the input's labels (dims,
coordinates, attrs) that :mod:`seqlstm.data.wrapping` uses to label outputs like the input.

A 2-D NumPy array is ambiguous: ``(n_samples, n_time)`` univariate series (how most users hold
them) and ``(n_samples, n_features)`` single steps look alike.  It is read only through an
explicit ``input_2d`` ("series" or "features"); without one it is refused with a message that
shows both reshapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable

import numpy as np
import xarray as xr

from .batches import sample_chunks

__all__ = ["SequenceData", "to_sequences", "INPUT_2D"]

_NUMERIC_KINDS = "biuf"  # bool, signed and unsigned int, float

#: The readings of a 2-D NumPy array (``input_2d``): "series", ``(n_samples, n_time)``
#: univariate series (as ``X[:, :, None]``); "features", ``(n_samples, n_features)``
#: sequences of one step (as ``X[:, None, :]``).  None refuses 2-D input.
INPUT_2D = ("series", "features")


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
    input_2d : {"series", "features"} or None
        How 2-D NumPy input was read (None for any other input).
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
    input_2d: str | None = None
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


def to_sequences(
    X, *, time_dim="time", feature_dim="feature", arg="X", dtype=np.float64, allow_nan=False,
    input_2d=None, copy=True, lazy=False,
):
    """Validate sequence input and convert it to a float array with lengths.

    Parameters
    ----------
    X : array-like, list of 2-D arrays, xarray.DataArray or xarray.Dataset
        - array-like of shape (n_samples, n_time, n_features) (features are always the last
          axis), or 2-D as `input_2d` says;
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
    input_2d : {None, "series", "features"}, default None
        How a 2-D array-like (NumPy array, nested list, DataFrame) is read: "series" as
        ``(n_samples, n_time)`` univariate series, the same as ``X[:, :, None]`` (trailing NaN
        is padding; a DataFrame's columns are time steps, so they give no feature names);
        "features" as ``(n_samples, n_features)`` sequences of one step, the same as
        ``X[:, None, :]``.  None refuses 2-D input (a ValueError that shows both reshapes): the
        two layouts look alike and are never guessed.  Other input is not affected (labeled
        input names its dims).
    copy : bool, default True
        False: float32 or float64 data are not copied when NumPy can give them as an array
        ``(n_samples, n_time, n_features)`` without a copy (a view of the user's array, which
        the caller must only read, or the array a dask-backed input computes to); their own
        dtype is then kept (`dtype` applies to the other data).  ``fit`` reads the data so,
        to write its one standardised copy (:func:`seqlstm.data.batches.scaled_copy`).
    lazy : bool, default False
        True: a DataArray or Dataset keeps its (dask) data lazy: ``values`` is the dask array
        ``(n_samples, n_time, n_features)`` (stacked and transposed lazily, in its own float
        dtype or cast lazily to `dtype`) and ``lengths`` is None; nothing is checked or
        computed (:func:`seqlstm.data.chunked.chunked_sequences` checks it chunk by chunk).

    Returns
    -------
    SequenceData
        The values (a new array unless ``copy=False``; the user's object is never modified),
        lengths and labels.

    Raises
    ------
    TypeError
        If the data are not numeric (strings, complex, datetimes; the exception is also a
        ValueError, as scikit-learn's estimator checks expect), sparse, or an object array holding
        non-numbers such as dicts.
    ValueError
        If a dim is missing, the shape is wrong or empty, 2-D input comes without `input_2d`,
        an object array holds strings that are not numbers, or NaN/inf occur outside padding.
        Messages follow scikit-learn's wording where scikit-learn's estimator checks look for
        it.
    """
    if input_2d is not None and input_2d not in INPUT_2D:
        raise ValueError(
            f"input_2d: expected None, 'series' or 'features'; found {input_2d!r}."
        )
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
        data = _from_dataarray(da.transpose(*dims), time_dim, feature_dim, arg, dtype, allow_nan,
                               copy, lazy)
        data.kind, data.attrs, data.name = "dataset", dict(X.attrs), None
        return data
    if isinstance(X, xr.DataArray):
        return _from_dataarray(X, time_dim, feature_dim, arg, dtype, allow_nan, copy, lazy)
    return _from_array(X, arg, dtype, allow_nan, input_2d, copy)


def _from_array(X, arg, dtype, allow_nan, input_2d=None, copy=True):
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
    values = _as_float(array, arg, dtype, copy)
    if ndim == 2:
        if input_2d is None:
            raise ValueError(_ambiguous_2d_message(arg, array.shape))
        if input_2d == "series":
            values, feature_names = values[:, :, np.newaxis], None  # columns are time steps
        else:
            values = values[:, np.newaxis, :]
    data = SequenceData(values, None, feature_names, ndim=ndim,
                        input_2d=input_2d if ndim == 2 else None)
    return _finish(data, arg, allow_nan, array.shape)


def _ambiguous_2d_message(arg, shape):
    """Why 2-D input is refused, with both reshapes and the option that reads it."""
    n, m = shape
    return (
        f"{arg}: expected a 3-D array (n_samples, n_time, n_features), or a 2-D array with "
        f"input_2d set to say how to read it; found a 2-D array of shape {shape} and "
        f"input_2d=None. 2-D input is ambiguous and is not guessed: for {n} univariate series "
        f"of {m} time steps pass {arg}[:, :, None] (shape {(n, m, 1)}) or set "
        f"input_2d='series'; for {n} sequences of one time step with {m} features pass "
        f"{arg}[:, None, :] (shape {(n, 1, m)}) or set input_2d='features'."
    )


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


def _from_dataarray(da, time_dim, feature_dim, arg, dtype, allow_nan, copy=True, lazy=False):
    has_time = time_dim in da.dims
    sample_dims = tuple(d for d in da.dims if d not in (time_dim, feature_dim))
    if feature_dim not in da.dims or not (has_time or sample_dims):
        raise ValueError(
            f"{arg}: expected a DataArray with a time dim named {time_dim!r} (time_dim) and a "
            f"feature dim named {feature_dim!r} (feature_dim); found dims {tuple(da.dims)}. "
            f"Pass time_dim=... and feature_dim=... to name yours"
            + (f", or add a feature dim to a single variable with "
               f"{arg}.expand_dims({feature_dim!r}, axis=-1)."
               if feature_dim not in da.dims and has_time else ".")
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
    if lazy:
        values = stacked.data
        if values.dtype not in (np.float32, np.float64):
            values = values.astype(dtype)
    else:
        values = _as_float(stacked.values, arg, dtype, copy)
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
    return data if lazy else _finish(data, arg, allow_nan, da.shape)


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


def _as_float(array, arg, dtype, copy=True):
    """A new C-contiguous float copy of `array` after a dtype check (without `copy`, float32
    and float64 arrays as they are)."""
    _check_dtype(array.dtype, arg)
    if not copy and array.dtype in (np.float32, np.float64):
        return array
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


def _finish(data, arg, allow_nan, shape, *, sample_ids=None, step_offset=0, piece=False,
            ended_at=None):
    """Check the shape, compute the lengths and reject NaN/inf outside the padding.

    ``sample_ids``, ``step_offset``, ``piece`` and ``ended_at`` are for a chunk of a larger
    array (see :func:`chunk_sequences`): errors name the sample and time step in the whole
    array, and a ``piece`` of a record chunked along time may hold samples with no valid
    step."""
    values = data.values
    _check_not_empty(values.shape, shape, arg)
    n_time = values.shape[1]
    # over chunks of samples: the temporaries (masks of the values' size) stay bounded
    chunks = sample_chunks(len(values), n_time * values.shape[2])
    valid_step = np.concatenate([~np.isnan(values[s0:s1]).all(axis=2)
                                 for s0, s1 in chunks])  # (n_samples, n_time)
    has_valid = valid_step.any(axis=1)
    last_valid = n_time - 1 - np.argmax(valid_step[:, ::-1], axis=1)
    data.lengths = np.where(has_valid, last_valid + 1, 0).astype(np.int64)
    del valid_step
    ids = np.arange(len(values)) if sample_ids is None else sample_ids
    if ended_at is not None:     # all-NaN steps from ended_at on, then valid steps here
        resumed = (data.lengths > 0) & (ended_at < step_offset)
        if resumed.any():
            i = int(np.argmax(resumed))
            raise ValueError(nonfinite_message(arg, np.nan, ids[i], ended_at[i], 0,
                                               f"at least {step_offset + data.lengths[i]}"))

    for s0, s1 in chunks:  # the first bad value in C order
        part = values[s0:s1]
        inside = np.arange(n_time) < data.lengths[s0:s1, np.newaxis]  # (chunk, n_time)
        bad = np.isinf(part) if allow_nan else ~np.isfinite(part) & inside[:, :, np.newaxis]
        if bad.any():
            i, t, f = np.argwhere(bad)[0]
            i += s0
            length = (f"at least {step_offset + data.lengths[i]}" if piece
                      else str(data.lengths[i]))
            raise ValueError(nonfinite_message(arg, values[i, t, f], ids[i], step_offset + t,
                                               f, length))
    if not allow_nan and not piece and not has_valid.all():
        i = int(np.argmin(has_valid))
        raise ValueError(all_nan_message(arg, ids[i]))
    return data


def nonfinite_message(arg, found, sample, step, feature, length):
    """The error for a NaN or inf at (`sample`, `step`, `feature`) of a sequence of `length`
    (a number, or text such as "at least 12"); NaN is only allowed as padding."""
    where = "" if np.isinf(found) else (
        f" inside the sequence (length {length}); NaN is only allowed as padding: "
        f"time steps where all features are NaN, at the end of a sequence"
    )
    return (f"{arg}: expected finite values; found {found} at sample {sample}, time step "
            f"{step}, feature {feature}{where}.")


def all_nan_message(arg, sample):
    """The error for a sequence with no valid step."""
    return f"{arg}: expected sequences of length >= 1; found sample {sample} with all values NaN."


def chunk_sequences(values, *, arg="X", sample_ids=None, step_offset=0, piece=False,
                    ended_at=None):
    """Validate one chunk ``(n_samples, n_time, n_features)`` of a larger (dask) array.

    Checked as :func:`to_sequences` checks NumPy input, with errors naming the sample (its
    index in the whole array, C order over the sample dims) and time step of the whole array.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_time, n_features)
    arg : str, default "X"
    sample_ids : ndarray of int, optional
        Index in the whole array of each of the chunk's samples (default: 0, 1, ...).
    step_offset : int, default 0
        Time step of the whole array where the chunk starts.
    piece : bool, default False
        The chunk is a piece of longer records (chunked along time): samples with no valid
        step are allowed (their record ended before, or starts after), and a NaN inside a
        sequence reports a lower bound of its length.
    ended_at : ndarray of int, optional
        For a piece: the step of the whole array after each record's last valid step in the
        pieces before (0: none).  A record with valid steps in this piece that had ended
        before it has NaN inside the sequence, at that step.

    Returns
    -------
    SequenceData
    """
    data = SequenceData(_as_float(values, arg, np.float64), None)
    return _finish(data, arg, False, values.shape, sample_ids=sample_ids,
                   step_offset=step_offset, piece=piece, ended_at=ended_at)
