"""Out-of-core training input: minibatches streamed from dask-backed sequences, chunk by chunk.

``fit`` on dask-backed input (a DataArray or Dataset opened from zarr/netCDF with chunks,
``xarray.open_mfdataset``, or a 3-D dask array) never computes the whole input:

- :func:`chunked_sequences` reads it lazily and checks it (NaN/inf, lengths) in one streaming
  pass over its sample chunks, with the errors in-memory input gives (samples numbered in the
  whole array);
- the scaling statistics are :func:`seqlstm.preprocessing.scaling_statistics` read from the
  dask array through a :class:`RowReader` (two passes: mean, then centred squares, each
  computing every chunk once), the same bits as in memory;
- :class:`ChunkedBatches` gives the minibatches: each epoch it visits the sample chunks in a
  random order, loads a group of at most ``buffer_chunks`` of them at a time into a buffer
  (standardised by :func:`~seqlstm.data.batches.scaled_copy`, the same bits as the in-memory
  copy), shuffles the rows within the group and gathers the minibatches, frames included, from
  the buffer (:func:`~seqlstm.kernels.windows.gather_frames`).

The buffer's size is the trade-off between memory and shuffling quality: a minibatch draws its
rows from the chunks of one group only (two at a group's end), so a small buffer of large
chunks gives minibatches correlated by chunk (e.g. neighbouring stations or years).  Chunks that
mix the data well (or many small chunks) shuffle better at the same memory.  When the buffer
holds every chunk, the whole set is loaded once and each epoch's order is
``rng.permutation(n_samples)``, exactly the in-memory fit's: the weights are bit-identical to
fitting the computed array.

Why not xbatcher: its ``BatchGenerator`` yields xarray batches sliced along dims in a fixed
order (shuffling them is an open pull request, xarray-contrib/xbatcher#170, whose thread notes
that a torchdata shuffle buffer over a zarr store is very slow); fit needs rows gathered by
index, frames included, into a reused NumPy buffer, in the in-memory order when the data fit,
which is a few lines over dask's own chunks (``values.chunks``) and no new dependency.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..kernels.windows import gather_frames
from .batches import minibatch_buffer, scaled_copy
from .framing import framed_n_features
from .sequences import SequenceData, _check_dtype, _check_not_empty, chunk_sequences, to_sequences

__all__ = ["BUFFER_BYTES", "ChunkedBatches", "RowReader", "chunk_ranges", "chunk_split",
           "chunked_sequences"]

#: Bytes of standardised values (in the compute dtype) the training buffer of
#: :class:`ChunkedBatches` holds by default: ``buffer_chunks = max(1, BUFFER_BYTES // bytes of
#: the largest sample chunk)``; read when ``fit`` builds its source (set
#: ``seqlstm.data.chunked.BUFFER_BYTES`` before ``fit`` to change it).
#:
#: 64 MiB, for a fit from a store to stay within 1 GB of RSS: on a 4 GB zarr store (chunks of
#: 24 MiB, minibatches of 256 sequences in frames of 7 steps, ``benchmarks/SCALE.md``) a
#: one-epoch fit peaked at 0.93 GB with 64 MiB, 1.01 GB with 128 MiB and 1.11 GB with 256 MiB.
#: The buffer is only part of that memory (see :class:`ChunkedBatches`, Notes).  The trade-off
#: is shuffling: a minibatch draws its rows from the ``buffer_chunks`` chunks of one group
#: (2 of those chunks at 64 MiB, 10 at 256 MiB), so a small buffer gives minibatches more
#: correlated by chunk.  Raise it when memory allows, or write the store with smaller chunks,
#: which mix better in the same bytes.
BUFFER_BYTES = 2 ** 26


def chunk_ranges(values):
    """The ``(start, stop)`` sample ranges of a dask array's chunks along its first axis."""
    stops = np.cumsum(values.chunks[0])
    return [(int(a), int(b)) for a, b in zip(np.r_[0, stops[:-1]], stops) if b > a]


def chunked_sequences(X, *, time_dim="time", feature_dim="feature", arg="X"):
    """Dask-backed sequence input as a :class:`~seqlstm.data.sequences.SequenceData` whose
    ``values`` stay a lazy dask array ``(n_samples, n_time, n_features)``.

    Every sample chunk is computed once, checked as in-memory input is checked
    (:func:`~seqlstm.data.sequences.chunk_sequences`) and dropped: only the lengths are kept.

    Parameters
    ----------
    X : xarray.DataArray, xarray.Dataset or dask array
        Dask-backed sequences (a bare dask array must be 3-D).
    time_dim, feature_dim, arg : str

    Returns
    -------
    SequenceData
    """
    if isinstance(X, (xr.DataArray, xr.Dataset)):
        data = to_sequences(X, time_dim=time_dim, feature_dim=feature_dim, arg=arg,
                            copy=False, lazy=True)
    else:
        import dask.array as da

        values = da.asarray(X)
        if values.ndim != 3:
            raise ValueError(f"{arg}: expected a 3-D dask array (n_samples, n_time, "
                             f"n_features); found shape {values.shape}.")
        _check_dtype(values.dtype, arg)
        if values.dtype not in (np.float32, np.float64):
            values = values.astype(np.float64)
        data = SequenceData(values, None)
    _check_not_empty(data.values.shape, data.values.shape, arg)
    lengths = []
    for s0, s1 in chunk_ranges(data.values):
        block = np.asarray(data.values[s0:s1])
        lengths.append(chunk_sequences(block, arg=arg, sample_ids=np.arange(s0, s1)).lengths)
        del block
    data.lengths = np.concatenate(lengths)
    return data


class RowReader:
    """Rows of a dask array read one whole sample chunk at a time: ``reader[rows]`` for
    increasing int `rows` computes each chunk that holds them once, keeping the last one, so a
    pass over increasing rows reads every chunk once (a compressed zarr chunk is decompressed
    whole however few of its rows are asked for).  What
    :func:`seqlstm.preprocessing.nan_mean_std` reads the scaling statistics through.

    Parameters
    ----------
    values : dask array
    """

    def __init__(self, values):
        self.values = values
        self.shape, self.ndim = values.shape, values.ndim
        self._bounds = np.cumsum(values.chunks[0])
        self._chunk = self._block = None

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        rows = np.asarray(rows)
        if rows.ndim != 1 or np.any(np.diff(rows) <= 0):
            raise IndexError("RowReader: expected increasing int rows")
        chunk_of = np.searchsorted(self._bounds, rows, side="right")
        out = np.empty((len(rows),) + self.shape[1:], self.values.dtype)
        breaks = np.flatnonzero(np.diff(chunk_of)) + 1
        for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(rows)]):
            if b > a:
                k = int(chunk_of[a])
                start = int(self._bounds[k - 1]) if k else 0
                if self._chunk != k:
                    self._block = self._chunk = None
                    self._block = np.asarray(self.values[start:int(self._bounds[k])])
                    self._chunk = k
                out[a:b] = self._block[rows[a:b] - start]
        return out


def chunk_split(values, fraction, random_state):
    """Samples ``(train, val)`` of a held-out set of whole sample chunks: ``ceil(fraction *
    n_chunks)`` chunks drawn at random validate, the others train (both sorted).

    Raises
    ------
    ValueError
        With fewer than two chunks.
    """
    ranges = chunk_ranges(values)
    n_val = int(np.ceil(fraction * len(ranges)))
    if len(ranges) < 2 or n_val >= len(ranges):
        raise ValueError(
            f"early_stopping: dask-backed X holds out whole sample chunks for validation; "
            f"expected enough chunks for a validation fraction of {fraction} and a training "
            f"set; found {len(ranges)} chunk(s). Rechunk X along its samples or pass "
            f"validation_data.")
    picked = np.zeros(len(ranges), bool)
    picked[np.random.RandomState(random_state).permutation(len(ranges))[:n_val]] = True
    rows = [np.arange(a, b) for a, b in ranges]
    return (np.concatenate([r for r, p in zip(rows, picked) if not p]),
            np.concatenate([r for r, p in zip(rows, picked) if p]))


class ChunkedBatches:
    """Minibatches of (framed, standardised) sequences read from a dask array through a
    bounded buffer of sample chunks.

    Parameters
    ----------
    values : dask array of shape (n_samples, n_time, n_features)
        The raw (unscaled) sequences, NaN-padded at the end; read, never changed.
    lengths : ndarray of int, shape (n_samples,)
    stride : int
        Frame stride (1: no frames).
    mean, scale : ndarray of float64 or None
        Standardisation statistics (None: none).
    dtype : numpy dtype
        The network's dtype.
    rows : ndarray of int, optional
        Sorted samples this source holds (default all): a held-out part and the training part
        read the same array.
    batch_size : int, optional
        How many rows to gather at a time when the whole source is evaluated.
    buffer_bytes : int, optional
        Bytes of standardised values the buffer holds (default :data:`BUFFER_BYTES`); it holds
        ``buffer_chunks = max(1, buffer_bytes // bytes of the largest chunk)`` chunks.

    Notes
    -----
    Memory: one group of ``buffer_chunks`` standardised chunks, one raw chunk being read
    (standardised straight into the group's block through float64 pieces of
    :data:`~seqlstm.data.batches.CHUNK_BYTES`) and one minibatch.  Besides this source, a fit
    holds the network's work arrays (for ``loss_and_grad``: about three minibatches, its
    time-major copy of the minibatch and the per-thread pieces of it) and what the store's
    reader keeps: zarr holds the compressed and the decoded chunk while it reads one (about
    3 chunks, in its I/O threads), and glibc's allocator keeps up to about two chunks of
    that freed memory per such thread for reuse (its per-thread arenas; ``malloc_trim`` does
    not return it).  Measured on a 4 GB zarr store with chunks of 24 MiB, minibatches of
    256 x 58 frames x 896 inputs (51 MiB, float32) and a buffer of 256 MiB (10 chunks):
    over the 0.42 GiB of the process before ``fit``, the block 244 MiB, the minibatch
    51 MiB, the network's work arrays 154 MiB at their peak and the allocator's kept memory
    about 190-240 MiB.  Setting ``MALLOC_TRIM_THRESHOLD_=65536`` in the environment before
    Python starts (what dask.distributed does for its workers) returns that memory to the
    system, at the cost of more page faults (the statistics passes ran several times
    slower in one measurement).  ``source[idx]``
    reads the groups of the epoch's plan (:meth:`epoch_order`; without it, consecutive chunks
    in groups of ``buffer_chunks``), loading a group when a minibatch reaches it: rows in an
    arbitrary order are read correctly but may load groups many times.
    """

    def __init__(self, values, lengths, stride, mean, scale, dtype, rows=None, batch_size=None,
                 buffer_bytes=None):
        self.values = values
        self.lengths = np.ascontiguousarray(lengths, dtype=np.int64)
        self.stride = int(stride)
        self.mean, self.scale, self._dtype = mean, scale, np.dtype(dtype)
        n_all, n_time, n_features = values.shape
        self.rows = (np.arange(n_all, dtype=np.int64) if rows is None
                     else np.ascontiguousarray(rows, dtype=np.int64))
        if np.any(np.diff(self.rows) <= 0):
            raise ValueError("rows: expected increasing sample indices")
        self.shape = (len(self.rows), -(-n_time // self.stride),
                      framed_n_features(n_features, self.stride))
        self.batch_size = max(1, len(self.rows) if batch_size is None else int(batch_size))
        # pieces: the rows of each store chunk, as position ranges [start, stop)
        bounds = [b for _, b in chunk_ranges(values)]
        cut = np.searchsorted(self.rows, bounds)
        starts = np.r_[0, cut[:-1]]
        keep = cut > starts
        self._starts, self._stops = starts[keep], cut[keep]
        sizes = self._stops - self._starts
        per_row = n_time * n_features * self._dtype.itemsize
        budget = BUFFER_BYTES if buffer_bytes is None else int(buffer_bytes)
        self.buffer_chunks = max(1, budget // max(1, int(sizes.max()) * per_row))
        self._buffer = self._block = self._block_key = None
        n = len(self._starts)
        self._set_groups([np.arange(g, min(g + self.buffer_chunks, n))
                          for g in range(0, n, self.buffer_chunks)])

    @property
    def dtype(self):
        """numpy dtype: The minibatches' dtype."""
        return self._dtype

    def __len__(self):
        return self.shape[0]

    def _set_groups(self, groups):
        self._groups = [tuple(int(k) for k in g) for g in groups]
        self._group_of = np.empty(len(self.rows), np.int64)
        self._local = np.empty(len(self.rows), np.int64)
        for gi, g in enumerate(self._groups):
            offset = 0
            for k in g:
                a, b = self._starts[k], self._stops[k]
                self._group_of[a:b] = gi
                self._local[a:b] = offset + np.arange(b - a)
                offset += b - a

    def epoch_order(self, rng):
        """The positions in the order an epoch visits them, drawn from `rng`.

        When the buffer holds every chunk: ``rng.permutation(n)`` (the in-memory order).
        Otherwise the chunks in a random order, taken ``buffer_chunks`` at a time, each
        group's rows shuffled among themselves.
        """
        n_pieces = len(self._starts)
        if self.buffer_chunks >= n_pieces:
            self._set_groups([np.arange(n_pieces)])
            return rng.permutation(len(self.rows))
        perm = rng.permutation(n_pieces)
        groups = [perm[i:i + self.buffer_chunks] for i in range(0, n_pieces, self.buffer_chunks)]
        self._set_groups(groups)
        order = []
        for g in groups:
            pos = np.concatenate([np.arange(self._starts[k], self._stops[k]) for k in g])
            order.append(pos[rng.permutation(len(pos))])
        return np.concatenate(order)

    def _load(self, gi):
        """Read and standardise group `gi` into the block (freeing the previous one first)."""
        key = self._groups[gi]
        if self._block_key == key:
            return
        self._block = self._block_key = None
        size = sum(int(self._stops[k] - self._starts[k]) for k in key)
        block = np.empty((size,) + self.values.shape[1:], self._dtype)
        offset, block_rows = 0, []
        for k in key:
            r = self.rows[self._starts[k]:self._stops[k]]
            r0, r1 = int(r[0]), int(r[-1]) + 1
            try:
                raw = np.asarray(self.values[r0:r1] if r1 - r0 == len(r) else self.values[r])
            except Exception as exc:
                raise RuntimeError(
                    f"X: could not read samples {r0} to {r1 - 1} of the dask-backed input "
                    f"during fit ({type(exc).__name__}: {exc}).") from exc
            scaled_copy(raw, self.mean, self.scale, self._dtype, out=block[offset:offset + len(r)])
            del raw
            block_rows.append(r)
            offset += len(r)
        self._block_lengths = self.lengths[np.concatenate(block_rows)]
        self._block, self._block_key = block, key

    def __getitem__(self, idx):
        idx, out = minibatch_buffer(self, idx)
        n = len(idx)
        groups = self._group_of[idx]
        breaks = np.flatnonzero(np.diff(groups)) + 1
        for a, b in zip(np.r_[0, breaks], np.r_[breaks, n]):
            if b > a:
                self._load(groups[a])
                gather_frames(self._block, self._block_lengths, self._local[idx[a:b]],
                              self.stride, out[a:b])
        return out
