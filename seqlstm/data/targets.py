"""Targets: validate ``y`` and align it with the samples (and time steps) of ``X``.

:func:`to_targets` gives regression targets as a float array with the output names;
:func:`to_labels` gives class labels of any dtype, None/NaN marking a missing per-step label.
Labeled ``y`` is matched to ``X`` by dim name and reordered to ``X``'s sample labels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.utils.validation import column_or_1d

from .sequences import _as_float

__all__ = ["Targets", "to_targets", "to_labels"]


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
