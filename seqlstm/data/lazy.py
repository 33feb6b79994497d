"""The dask path: predict lazily, chunk by chunk, on dask-backed input.

:func:`is_dask` tells dask-backed input apart, :func:`lazy_feature_info` reads its feature
names and count without computing it, :func:`predict_lazily` builds the task graph of a
fitted model's predictions and :func:`apply_lazily` maps a plain NumPy function over the
sample chunks.  For the forecaster, :func:`lazy_records` reads long records' labels without
computing their values and :func:`map_sample_blocks` maps a model over their chunks of
samples (outputs of any shape, whole along the other dims; optionally telling each task where
its samples sit in the whole array, for its messages).

The graph is computed wherever dask computes: on the current ``dask.distributed`` client when
there is one (``Client(...)``, ``client.as_current()``), else on dask's default scheduler (the
threaded one for arrays).  The model is ONE key of the graph, which every task names: a worker
receives it once, however many chunks it predicts (a function closing over the model would be
serialised into every task).  Chunks along the sample dims are predicted independently; a
per-step model that can carry its state (``stateful``) predicts records chunked along time as
a chain of tasks per sample chunk, each piece starting from the state the previous piece ended
with.  Each chunk is validated like in-memory input, and an error names the sample (its index
in the whole array, C order over the sample dims) and time step of the whole array.

On a ``dask.distributed`` worker a task runs its kernels on one thread, the dask thread that
runs it (see :mod:`seqlstm._threads`); a worker with several threads gives each thread its own
copy of the model (a model's work arrays serve one call at a time).
"""

from __future__ import annotations

import copy
import itertools
import operator
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .. import _threads
from . import records as _records
from .sequences import all_nan_message, chunk_sequences

__all__ = ["is_dask", "apply_lazily", "predict_lazily", "lazy_feature_info", "lazy_records",
           "map_sample_blocks"]


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
    """Apply a NumPy function lazily, chunk by chunk over the samples.

    The result is a dask-backed DataArray computed only when asked for; each chunk of samples
    is computed separately (see :func:`predict_lazily`, which this calls with `func` as the
    graph's one shared object).  The time and feature dims are rechunked to one chunk each if
    needed (which may cost memory for very long series).

    Parameters
    ----------
    func : callable
        ``func(values)`` takes a NumPy array of shape (..., n_time, n_features) with any number of
        leading sample dims (NaN-padded like the input, not validated) and returns an array of
        shape (..., n_outputs), or (..., n_time, n_outputs) for ``per_step``.
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
    return _map(func, _call_on_values, X, time_dim=time_dim, feature_dim=feature_dim,
                per_step=per_step, n_outputs=n_outputs, output_dim=output_dim,
                output_names=output_names, dtype=dtype, validate=False, stateful=False,
                arg="X")


def predict_lazily(
    model,
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
    stateful=False,
    arg="X",
):
    """A fitted model's predictions on dask-backed input, as a lazy result.

    Parameters
    ----------
    model : object
        The fitted model: one key of the task graph (sent to each worker once).
    func : callable
        ``func(model, data, initial_state, return_state)``, a module-level function (it is
        named by every task, so it must pickle small): `data` is a chunk's
        :class:`~seqlstm.data.SequenceData` ``(n, n_time, n_features)`` (validated, float64);
        returns the outputs ``(n, n_outputs)`` or ``(n, n_time, n_outputs)``, and with
        `return_state` the pair (outputs, the state after each sequence's last valid step).
    X : xarray.DataArray, xarray.Dataset or dask array
        Dask-backed input, as in :func:`apply_lazily`.
    time_dim, feature_dim, per_step, n_outputs, output_dim, output_names, dtype
        As in :func:`apply_lazily`.
    stateful : bool, default False
        `func` carries the state (a per-step, unidirectional model): time chunks are kept and
        predicted in order, each from the previous one's state, which gives the predictions of
        the whole records.  Otherwise the time dim is rechunked to one chunk.
    arg : str, default "X"
        Argument name in error messages.

    Returns
    -------
    xarray.DataArray or dask array
        Lazy outputs with the input's sample dims (and time dim for ``per_step``), their
        coordinates and the input's attrs.

    Raises
    ------
    ValueError
        At compute time, for a chunk with NaN or inf inside a sequence (naming the sample and
        time step of the whole array) or a sequence with no valid step.
    """
    return _map(model, func, X, time_dim=time_dim, feature_dim=feature_dim, per_step=per_step,
                n_outputs=n_outputs, output_dim=output_dim, output_names=output_names,
                dtype=dtype, validate=True, stateful=stateful and per_step, arg=arg)


def _call_on_values(func, values, initial_state=None, return_state=False):
    return func(values)


def _map(obj, func, X, *, time_dim, feature_dim, per_step, n_outputs, output_dim,
         output_names, dtype, validate, stateful, arg):
    if not isinstance(X, (xr.DataArray, xr.Dataset)):
        if np.ndim(X) != 3:
            raise ValueError(
                f"{arg}: expected a 3-D dask array (n_samples, n_time, n_features); found "
                f"ndim={np.ndim(X)}."
            )
        out = _map(obj, func, xr.DataArray(X, dims=("sample", time_dim, feature_dim)),
                   time_dim=time_dim, feature_dim=feature_dim, per_step=per_step,
                   n_outputs=n_outputs, output_dim=output_dim, output_names=None, dtype=dtype,
                   validate=validate, stateful=stateful, arg=arg)
        return out.data
    if isinstance(X, xr.Dataset):      # the variables are the features, last (as in memory)
        X = X.to_dataarray(dim=feature_dim)
        X = X.transpose(*[d for d in X.dims if d != feature_dim], feature_dim)
    if time_dim not in X.dims or feature_dim not in X.dims:
        raise ValueError(
            f"{arg}: expected a DataArray with a time dim named {time_dim!r} (time_dim) and a "
            f"feature dim named {feature_dim!r} (feature_dim); found dims {tuple(X.dims)}."
        )
    X = X.chunk({feature_dim: -1} if stateful else {time_dim: -1, feature_dim: -1})
    out_core = [time_dim, output_dim] if per_step else [output_dim]

    def graph(array):   # (*sample dims, time, feature), the core dims moved last by xarray
        return _graph(obj, func, array, per_step=per_step, n_outputs=n_outputs, dtype=dtype,
                      validate=validate, stateful=stateful, arg=arg)

    out = xr.apply_ufunc(
        graph,
        X,
        input_core_dims=[[time_dim, feature_dim]],
        output_core_dims=[out_core],
        exclude_dims={feature_dim} if output_dim == feature_dim else set(),
        dask="allowed",
        keep_attrs=True,
    )
    # the input's dim order, the output dim where the feature dim was (as in memory)
    order = [output_dim if d == feature_dim else d for d in X.dims]
    out = out.transpose(*[d for d in order if d in out.dims],
                        *[d for d in out.dims if d not in order])
    if output_names is not None:
        out = out.assign_coords({output_dim: list(output_names)})
    return out


@dataclass(frozen=True)
class _Block:
    """Where a task's chunk sits in the whole array, and what to call on it (one small object
    per task: a plain class, since dask would read a tuple starting with a function as a
    task)."""

    func: object
    origin: tuple          # first index along each sample dim
    sample_shape: tuple    # sizes of the sample dims of the whole array
    t0: int                # first time step (pieces of records chunked along time)
    last: bool             # the last piece along time
    validate: bool
    arg: str


def _graph(obj, func, array, *, per_step, n_outputs, dtype, validate, stateful, arg):
    """The dask array of the outputs: one task per chunk (a chain along time when
    `stateful`), every task naming `obj` by its single key."""
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    nd = array.ndim - 2
    stateful = stateful and len(array.chunks[nd]) > 1     # one time chunk: whole records
    if not stateful and len(array.chunks[nd]) > 1:
        array = array.rechunk({nd: -1})
    if len(array.chunks[nd + 1]) > 1:
        array = array.rechunk({nd + 1: -1})
    obj_key = "seqlstm-model-" + tokenize(obj)
    token = tokenize(obj_key, func, array.name, per_step, n_outputs, np.dtype(dtype).str,
                     validate, stateful, arg)
    name, step = "seqlstm-predict-" + token, "seqlstm-piece-" + token
    sample_chunks, time_chunks = array.chunks[:nd], array.chunks[nd]
    starts = [np.cumsum((0,) + c[:-1]) for c in sample_chunks]
    t_starts = np.cumsum((0,) + time_chunks[:-1])
    sample_shape = tuple(int(s) for s in array.shape[:nd])
    dsk = {obj_key: obj}
    for b in itertools.product(*(range(len(c)) for c in sample_chunks)):
        origin = tuple(int(starts[d][i]) for d, i in enumerate(b))
        if stateful:
            previous = None
            for j, t0 in enumerate(t_starts):
                where = _Block(func, origin, sample_shape, int(t0), j == len(t_starts) - 1,
                               True, arg)
                dsk[(step,) + b + (j,)] = (_run_piece, obj_key, (array.name,) + b + (j, 0),
                                           previous, where)
                dsk[(name,) + b + (j, 0)] = (operator.getitem, (step,) + b + (j,), 0)
                previous = (step,) + b + (j,)
        else:
            where = _Block(func, origin, sample_shape, 0, True, validate, arg)
            dsk[(name,) + b + ((0, 0) if per_step else (0,))] = (
                _run_block, obj_key, (array.name,) + b + (0, 0), where)
    chunks = tuple(sample_chunks) + ((time_chunks,) if per_step else ()) + ((n_outputs,),)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[array])
    return da.Array(graph, name, chunks, meta=np.empty((0,) * len(chunks), dtype=dtype))


def _sample_ids(lead, where):
    """Index in the whole array (C order over the sample dims) of a chunk's samples."""
    if not lead:
        return np.zeros(1, dtype=np.int64)
    local = np.indices(lead).reshape(len(lead), -1)
    return np.ravel_multi_index(tuple(local + np.asarray(where.origin)[:, None]),
                                where.sample_shape)


def _run_block(obj, values, where):
    """One chunk of samples (whole records)."""
    obj = _for_this_thread(obj)
    if not where.validate:
        return where.func(obj, values)
    lead = values.shape[:-2]
    data = chunk_sequences(values.reshape((-1,) + values.shape[-2:]), arg=where.arg,
                           sample_ids=_sample_ids(lead, where))
    out = np.asarray(where.func(obj, data, None, False))
    return out.reshape(lead + out.shape[1:])


def _run_piece(obj, values, previous, where):
    """One piece along time of a chunk of records: the outputs, and what the next piece
    starts from (the state, and the step after each record's last valid step so far)."""
    obj = _for_this_thread(obj)
    lead = values.shape[:-2]
    ids = _sample_ids(lead, where)
    state, end = (None, np.zeros(len(ids), np.int64)) if previous is None else previous[1]
    data = chunk_sequences(values.reshape((-1,) + values.shape[-2:]), arg=where.arg,
                           sample_ids=ids, step_offset=where.t0, piece=True, ended_at=end)
    end = np.where(data.lengths > 0, where.t0 + data.lengths, end)
    if where.last and (end == 0).any():
        raise ValueError(all_nan_message(where.arg, ids[int(np.argmax(end == 0))]))
    out, state = where.func(obj, data, state, True)
    out = np.asarray(out)
    return out.reshape(lead + out.shape[1:]), (state, end)


def map_sample_blocks(obj, func, arrays, *, n_sample_dims, outputs, name="seqlstm-blocks",
                      with_ids=False):
    """Lazy outputs of ``func(obj, *blocks)`` computed block by block of samples.

    Like :func:`predict_lazily` for outputs of any shape: `obj` (a fitted model) is ONE key of
    the graph, which every task names; each chunk along the sample dims is one task, which
    receives every array's block for its samples whole along the other dims (those are
    rechunked to one chunk) and runs on a ``dask.distributed`` worker on one thread (with its
    thread's own copy of `obj` on a worker with several threads).

    Parameters
    ----------
    obj : object
        The graph's shared object.
    func : callable
        A module-level function ``func(obj, *blocks)`` (``func(obj, ids, *blocks)`` with
        `with_ids`) returning a tuple of NumPy arrays, the i-th of shape
        ``lead + outputs[i]`` (``lead``: the blocks' sample shape).
    arrays : sequence of dask arrays
        Whose first `n_sample_dims` dims are the sample dims, of the same sizes; the first
        array's chunks along them are every array's.
    n_sample_dims : int
    outputs : sequence of tuple of int
        The trailing shape of each output (float64).
    name : str
        Prefix of the tasks' keys.
    with_ids : bool, default False
        Pass `func` the index in the whole array (C order over the sample dims) of each of
        the block's samples, an int64 array of ``prod(lead)`` (for messages naming a sample
        of the whole input).

    Returns
    -------
    tuple of dask arrays
        Shapes ``sample_shape + outputs[i]``, chunked along the sample dims like the first
        array.
    """
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    nd = n_sample_dims
    lead_chunks = arrays[0].chunks[:nd]
    arrays = [a.rechunk({**{d: lead_chunks[d] for d in range(nd)},
                         **{d: -1 for d in range(nd, a.ndim)}}) for a in arrays]
    obj_key = "seqlstm-model-" + tokenize(obj)
    token = tokenize(obj_key, func, [a.name for a in arrays], [tuple(o) for o in outputs],
                     with_ids)
    step = f"{name}-{token}"
    names = [f"{name}-{i}-{token}" for i in range(len(outputs))]
    dsk = {obj_key: obj}
    blocks = list(itertools.product(*(range(len(c)) for c in lead_chunks)))
    starts = [np.cumsum((0,) + c[:-1]) for c in lead_chunks]
    sample_shape = tuple(int(s) for s in arrays[0].shape[:nd])
    for b in blocks:
        origin = tuple(int(starts[d][i]) for d, i in enumerate(b))
        call = _Call(func, origin if with_ids else None, sample_shape)
        dsk[(step,) + b] = (_run_blocks, obj_key, call,
                            *[(a.name,) + b + (0,) * (a.ndim - nd) for a in arrays])
    # the tasks' tuples of outputs as an array of objects, which each output picks from
    steps = da.Array(HighLevelGraph.from_collections(step, dsk, dependencies=arrays), step,
                     lead_chunks, meta=np.empty((0,) * nd, dtype=object))
    result = []
    for i, trailing in enumerate(outputs):
        layer = {(names[i],) + b + (0,) * len(trailing): (operator.getitem, (step,) + b, i)
                 for b in blocks}
        chunks = tuple(lead_chunks) + tuple((int(n),) for n in trailing)
        result.append(da.Array(
            HighLevelGraph.from_collections(names[i], layer, dependencies=[steps]), names[i],
            chunks, meta=np.empty((0,) * len(chunks), dtype=np.float64)))
    return tuple(result)


@dataclass(frozen=True)
class _Call:
    """What a task of :func:`map_sample_blocks` calls, and where its block sits in the whole
    array (`origin` None: `func` is not told)."""

    func: object
    origin: tuple | None   # first index along each sample dim
    sample_shape: tuple    # sizes of the sample dims of the whole array


def _run_blocks(obj, call, *blocks):
    """One task of :func:`map_sample_blocks`."""
    obj = _for_this_thread(obj)
    if call.origin is None:
        return tuple(call.func(obj, *blocks))
    ids = _sample_ids(blocks[0].shape[:len(call.sample_shape)], call)
    return tuple(call.func(obj, ids, *blocks))


def lazy_records(data, *, time_dim="time", feature_dim="feature", arg="data"):
    """Forecasting records of dask-backed xarray input, without computing their values.

    The labels are read (and checked) as :func:`~seqlstm.data.records.to_records` reads them;
    the values stay dask arrays with the sample dims first, for :func:`map_sample_blocks`.
    Each block's values are checked as ``to_records`` checks them by
    :func:`~seqlstm.data.records.check_values`, when the block is computed.

    Parameters
    ----------
    data : xarray.DataArray or xarray.Dataset
        Dask-backed records (the conventions of :mod:`seqlstm.data.records`).
    time_dim, feature_dim, arg : str
        As in ``to_records``.

    Returns
    -------
    template : Records
        Every label of the records (names, time, sample dims, shape and coordinates, attrs),
        with values and static attributes of no series.
    values : dask array, shape (*sample_shape, n_time, n_vars)
        The time-varying variables as float64.
    static : dask array of shape (*sample_shape, n_static), or None
        The static attributes (None without any).
    """
    import dask.array as da

    _records._require_time(data, time_dim, arg)
    if isinstance(data, xr.Dataset):
        varying, fixed, sample_dims = _records.dataset_layout(data, time_dim, arg)
        columns = []
        for n in varying:
            _records.check_numeric(data[n].dtype, arg, f"variable {n!r}")
            v = data[n].broadcast_like(data[list(varying)]).transpose(*sample_dims, time_dim)
            columns.append(da.asarray(v.data).astype(np.float64))
        statics = []
        for n in fixed:
            _records.check_numeric(data[n].dtype, arg, f"variable {n!r}")
            v = data[n]
            for d in sample_dims:
                if d not in v.dims:
                    v = v.expand_dims({d: data.sizes[d]})
            statics.append(da.asarray(v.transpose(*sample_dims).data).astype(np.float64))
        names, static_names = [str(n) for n in varying], [str(n) for n in fixed]
        kind = "dataset"
        values = da.stack(columns, axis=-1) if columns else None
        static = da.stack(statics, axis=-1) if statics else None
    else:
        names, tail, sample_dims = _records.dataarray_layout(data, time_dim, feature_dim)
        _records.check_numeric(data.dtype, arg, f"DataArray {data.name!r}")
        values = da.asarray(data.transpose(*sample_dims, *tail).data).astype(np.float64)
        if len(tail) == 1:
            values = values[..., None]
        static, static_names, kind = None, [], "dataarray"
    shape, coords = _records._sample_info(data, sample_dims)
    n_time = data.sizes[time_dim]
    _records.check_shape((int(np.prod(shape)), n_time, len(names)), arg)
    template = _records.Records(
        np.empty((0, n_time, len(names))), names, np.empty((0, len(static_names))),
        static_names, _records._time_coord(data, time_dim), kind, time_dim=time_dim,
        sample_dims=sample_dims, sample_shape=shape, sample_coords=coords,
        attrs=dict(data.attrs), time_given=time_dim in data.coords)
    _records._check_time(template.time, time_dim, arg)
    return template, values, static


_copies = threading.local()


def _for_this_thread(obj):
    """`obj`, or on a ``dask.distributed`` worker with several threads this thread's own deep
    copy of it (made once per thread and object): tasks of one model then run side by side
    instead of waiting for the model's work arrays."""
    n = _threads.dask_worker_threads()
    if n is None or n == 1:
        return obj
    table = getattr(_copies, "table", None)
    if table is None:
        table = _copies.table = weakref.WeakKeyDictionary()
    try:
        own = table.get(obj)
        if own is None:
            own = table[obj] = copy.deepcopy(obj)
    except TypeError:          # not weakly referenceable: share it
        return obj
    return own


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
