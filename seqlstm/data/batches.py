"""Minibatches gathered from one standardised copy of the sequences: what ``fit`` trains on.

``fit`` keeps the data it is given about once: :func:`scaled_copy` writes ONE standardised copy
in the compute dtype (read from the user's array chunk by chunk, never changing it), and a
:class:`SequenceBatches` gathers each minibatch, frames included, from that copy into a buffer
it reuses (:func:`seqlstm.kernels.windows.gather_frames`), so no framed or padded copy of the
whole set is ever made.  A held-out validation part is the same copy read through other rows.

Work done on the whole array (validation checks, scaling statistics, the standardised copy) runs
over chunks of samples of at most :data:`CHUNK_BYTES` bytes of float64 (:func:`sample_chunks`),
so its temporaries are bounded whatever the data's size.

The batch source is an indexable (``source[idx]``, ``source.shape``) as
:func:`seqlstm.training.run_epochs` takes it; a chunked (dask, zarr) source can give the same
minibatches by the same interface, reading the chunks that hold the rows of ``idx``.
"""

from __future__ import annotations

import numpy as np

from ..kernels.windows import gather_frames
from .framing import framed_n_features

__all__ = ["CHUNK_BYTES", "SequenceBatches", "minibatch_buffer", "sample_chunks",
           "scaled_copy"]

#: Bytes of float64 per chunk of samples that whole-array work (checks, statistics, scaling)
#: processes at a time; read at call time (a sample larger than this is a chunk of its own).
CHUNK_BYTES = 2 ** 22


def sample_chunks(n_samples, values_per_sample):
    """Consecutive ranges ``(start, stop)`` of samples holding about :data:`CHUNK_BYTES` bytes
    of float64 each (at least one sample per range).

    Examples
    --------
    >>> list(sample_chunks(5, 2 ** 18))
    [(0, 2), (2, 4), (4, 5)]
    """
    step = max(1, CHUNK_BYTES // (8 * max(1, int(values_per_sample))))
    return [(s, min(s + step, n_samples)) for s in range(0, n_samples, step)]


def minibatch_buffer(source, idx):
    """Positions `idx` checked, and the first ``len(idx)`` rows of the minibatch buffer of
    `source` (its ``_buffer``, grown when a larger minibatch comes, reused otherwise).

    Parameters
    ----------
    source : SequenceBatches or ChunkedBatches
        With ``rows``, ``shape``, ``dtype`` and ``_buffer``.
    idx : array-like of int
        Positions among the source's rows (negative ones count from the end).

    Returns
    -------
    idx : ndarray of int, in ``[0, n_rows)``
    out : ndarray, shape ``(len(idx),) + source.shape[1:]``

    Raises
    ------
    IndexError
        If `idx` is not a 1-D int array or a position is out of range.
    """
    idx = np.asarray(idx)
    if idx.ndim != 1 or idx.dtype.kind not in "iu":
        raise IndexError(f"expected a 1-D array of int positions; found {idx!r}")
    n, n_rows = len(idx), len(source.rows)
    if n and (idx.min() < -n_rows or idx.max() >= n_rows):
        raise IndexError(f"positions out of range for {n_rows} rows")
    if source._buffer is None or len(source._buffer) < n:
        source._buffer = np.empty((n,) + tuple(source.shape[1:]), source.dtype)
    return idx % max(1, n_rows), source._buffer[:n]


def scaled_copy(values, mean=None, scale=None, dtype=np.float32, out=None):
    """A new C-contiguous copy of `values` in `dtype`, standardised as ``(values - mean) /
    scale`` computed in float64 (and then rounded to `dtype`), NaN kept.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_time, n_features)
        Float values (any layout); never changed.
    mean, scale : ndarray of float64, shape (n_features,), or None
        Statistics; None: no standardisation (a cast).
    dtype : numpy dtype
    out : ndarray of `dtype` and the shape of `values`, optional
        Where to write the copy (e.g. a slice of a larger buffer); default a new array.

    Returns
    -------
    ndarray of `dtype`
        `out` (or a new array), equal bit for bit to
        ``np.ascontiguousarray((values.astype(np.float64) - mean) / scale, dtype=dtype)``,
        built chunk by chunk (:func:`sample_chunks`): the float64 temporaries are one chunk's.
    """
    if out is None:
        out = np.empty(values.shape, dtype=dtype)
    elif out.shape != values.shape or out.dtype != np.dtype(dtype):
        raise ValueError(f"out: expected an array of shape {values.shape} and dtype "
                         f"{np.dtype(dtype)}; found {out.shape}, {out.dtype}.")
    for s0, s1 in sample_chunks(len(values), np.prod(values.shape[1:])):
        if mean is None:
            out[s0:s1] = values[s0:s1]
        else:
            out[s0:s1] = (np.asarray(values[s0:s1], dtype=np.float64) - mean) / scale
    return out


class SequenceBatches:
    """Minibatches of (framed) sequences gathered by index from one copy.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_time, n_features)
        The standardised copy (C-contiguous, in the network's dtype), NaN-padded at the end.
    lengths : ndarray of int, shape (n_samples,)
        Valid steps of each sequence.
    stride : int
        Frame stride (1: no frames); see :mod:`seqlstm.data.framing`.
    rows : ndarray of int, optional
        The samples of `values` this source holds, in its order (default: all): a held-out
        validation part and the training part read the same copy.
    batch_size : int, optional
        How many rows to gather at a time when the whole source is evaluated (validation
        scores and losses); default all.

    Attributes
    ----------
    shape : tuple of int
        ``(n_rows, n_frames, n_inputs)``, what the network reads: ``n_frames =
        ceil(n_time / stride)``, ``n_inputs = 2 * stride * n_features`` (``n_features`` for
        stride 1).

    Notes
    -----
    ``source[idx]`` (an int array of positions among the rows) gathers those sequences, framed
    as :func:`~seqlstm.data.framing.frame_sequences` frames them, into a buffer the source
    reuses: the array returned is valid until the next call.  Memory: one minibatch.
    """

    def __init__(self, values, lengths, stride, rows=None, batch_size=None):
        if not (isinstance(values, np.ndarray) and values.ndim == 3
                and values.flags.c_contiguous):
            raise ValueError("values: expected a C-contiguous 3-D array")
        self.values = values
        self.lengths = np.ascontiguousarray(lengths, dtype=np.int64)
        self.stride = int(stride)
        self.rows = (np.arange(len(values), dtype=np.int64) if rows is None
                     else np.ascontiguousarray(rows, dtype=np.int64))
        n, n_time, n_features = values.shape
        self.shape = (len(self.rows), -(-n_time // self.stride),
                      framed_n_features(n_features, self.stride))
        self.batch_size = max(1, len(self.rows) if batch_size is None else int(batch_size))
        self._buffer = None

    @property
    def dtype(self):
        """numpy dtype: The values' (and minibatches') dtype."""
        return self.values.dtype

    def __len__(self):
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        """All rows gathered into a new array (the whole framed set: memory of the full copy
        that fit never makes; for inspection and tests)."""
        out = np.empty(self.shape, self.dtype)
        gather_frames(self.values, self.lengths, self.rows, self.stride, out)
        return out if dtype is None else out.astype(dtype, copy=False)

    def __getitem__(self, idx):
        idx, out = minibatch_buffer(self, idx)
        gather_frames(self.values, self.lengths, self.rows[idx], self.stride, out)
        return out
