"""Frames: long sequences read by the network as shorter sequences of overlapping frames.

A per-sequence model of a long univariate record learns poorly step by step (hundreds of steps
of one number each, few training sequences) and slowly.  Grouped into frames, as a short-time
Fourier transform or a speech front end groups samples, the network reads ``ceil(T / s)`` steps,
step ``j`` holding input steps ``[j*s, j*s + 2*s)`` (half-overlapping frames of ``2*s`` steps,
flattened step by step).  The measured effect is in ``benchmarks/ACCURACY.md``.
"""

import math

import numpy as np

from ..kernels.windows import gather_frames

#: ``frame_stride="auto"`` picks the stride that leaves at most this many network steps.
FRAME_TARGET_STEPS = 64


def auto_frame_stride(n_time, target_steps=None):
    """The stride of ``frame_stride="auto"`` for sequences of up to `n_time` steps.

    Parameters
    ----------
    n_time : int
    target_steps : int, optional
        Most network steps wanted (default :data:`FRAME_TARGET_STEPS`, read at call time).

    Returns
    -------
    int
        ``ceil(n_time / target_steps)`` (1, no frames, for sequences of at most `target_steps`
        steps).

    Examples
    --------
    >>> auto_frame_stride(64), auto_frame_stride(65), auto_frame_stride(1460)
    (1, 2, 23)
    """
    if target_steps is None:
        target_steps = FRAME_TARGET_STEPS
    return max(1, math.ceil(int(n_time) / target_steps))


def framed_n_features(n_features, stride):
    """Values per network step: ``2 * stride * n_features`` (``n_features`` for stride 1)."""
    return n_features if stride == 1 else 2 * stride * n_features


def framed_lengths(lengths, stride):
    """Number of frames of sequences of `lengths` steps: ``ceil(lengths / stride)``."""
    return -(-np.asarray(lengths, dtype=np.int64) // stride)


def frame_sequences(values, lengths, stride):
    """Half-overlapping frames of NaN-padded sequences.

    Parameters
    ----------
    values : ndarray (n_samples, n_time, n_features)
        Sequences, NaN after each one's length (as :class:`~seqlstm.data.SequenceData` holds
        them), already scaled.
    lengths : ndarray of int (n_samples,)
        Valid steps of each sequence.
    stride : int
        Steps between frame starts; each frame holds ``2 * stride`` steps.  1 returns `values`
        unchanged (no frames).

    Returns
    -------
    framed : ndarray (n_samples, ceil(n_time / stride), 2 * stride * n_features)
        Frame ``j`` of a sequence is its steps ``j*stride .. j*stride + 2*stride - 1`` in time
        order, each step's features together (``framed[i, j, m*F + f] = values[i, j*stride + m,
        f]``); steps past the sequence's end read as 0 (the mean of standardized input); frames
        starting past the end are NaN (padding).  A new array, built by the compiled gather
        :func:`~seqlstm.kernels.windows.gather_frames` that also builds the minibatches of
        ``fit`` (:class:`~seqlstm.data.batches.SequenceBatches`).
    lengths : ndarray of int64 (n_samples,)
        ``ceil(lengths / stride)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1.], [2.], [3.], [np.nan]]])
    >>> framed, n = frame_sequences(x, np.array([3]), 2)
    >>> framed
    array([[[1., 2., 3., 0.],
            [3., 0., 0., 0.]]])
    >>> n
    array([2])
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if stride == 1:
        return values, lengths
    values = np.ascontiguousarray(values)
    n, n_time, n_features = values.shape
    framed = np.empty((n, -(-n_time // stride), framed_n_features(n_features, stride)),
                      values.dtype)
    # the gather that builds the sequence estimators' minibatches, here over every sequence
    gather_frames(values, lengths, np.arange(n, dtype=np.int64), stride, framed)
    return framed, framed_lengths(lengths, stride)


def framed_data(data, values, lengths, stride):
    """`data` (a :class:`~seqlstm.data.SequenceData`) with the frames as its time axis.

    `values` and `lengths` are the frames (:func:`frame_sequences`); a labeled input's time
    coordinate keeps the label of each frame's first step, so per-step outputs on the frames
    (hidden states, gates) are labeled by when each frame starts.  A time dim without
    coordinates (as :func:`~seqlstm.datasets.make_adding` gives) stays without them.
    """
    import dataclasses

    coords = data.coords
    if coords is not None and data.time_dim is not None:
        coords = coords.isel({data.time_dim: slice(None, None, stride)}, missing_dims="ignore")
    return dataclasses.replace(data, values=values, lengths=lengths, coords=coords)
