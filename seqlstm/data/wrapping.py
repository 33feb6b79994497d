"""Outputs in the input's form: NumPy in, NumPy out; labeled in, a labeled ``DataArray`` out.

The functions here take a :class:`~seqlstm.data.SequenceData` (what ``X`` looked like) and give
predictions, labels or transformed features the input's type, sample dims (unstacked again),
time coordinate and attrs.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["wrap_output", "wrap_labels", "wrap_features"]


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
        NumPy input: `values` (2-D input gets its shape back: the feature axis is dropped for
        ``input_2d="series"``, the time axis for "features"; a list of sequences gives the
        padded 3-D array).  DataArray input: a DataArray like the input.
        Dataset input: a Dataset with the input's data variables.
    """
    if data.kind == "numpy":
        if data.ndim == 2:
            return values[:, :, 0] if data.input_2d == "series" else values[:, 0, :]
        return values
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
