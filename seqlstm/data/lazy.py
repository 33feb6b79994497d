"""The dask path: predict lazily, chunk by chunk over the samples, on dask-backed input.

:func:`is_dask` tells dask-backed input apart, :func:`lazy_feature_info` reads its feature
names and count without computing it, and :func:`apply_lazily` maps a NumPy prediction function
over its sample chunks with :func:`xarray.apply_ufunc`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["is_dask", "apply_lazily", "lazy_feature_info"]


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
