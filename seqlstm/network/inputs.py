"""Checks and conversions of the arrays users hand to a network: sizes, ``X`` and
``lengths``, initial states, output gradients."""

import numpy as np

from ..kernels import padding as _padding


def check_positive_int(value, name):
    """``value`` as an int; ValueError naming ``name`` unless it is a positive integer."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def prepare(X, lengths, input_size, dtype, mask=True):
    """Validate ``X`` (sample, time, feature) and ``lengths``.

    Returns
    -------
    x : ndarray (time, sample, feature)
        Time-major copy in ``dtype``, zeros at padded steps.
    lengths : ndarray of int64 (sample,)
        Given, or found from the NaN padding.
    valid : ndarray of bool (time, sample) or None
        The mask of valid steps (None unless ``mask``).
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"X must be 3-D (sample, time, feature), got {X.ndim}-D "
                         f"shape {X.shape}")
    if X.dtype.kind not in "iuf":            # real numbers (not bool, complex, object)
        raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
    B, T, n_in = X.shape
    if n_in != input_size:
        raise ValueError(f"X has {n_in} features, but the network expects "
                         f"{input_size} (input_size)")
    if B == 0 or T == 0:
        raise ValueError(f"X must have at least one sample and one time step, got {X.shape}")
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (B,) or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(f"lengths must be an integer array of shape ({B},), got "
                             f"shape {lengths.shape} dtype {lengths.dtype}")
        if lengths.min() < 0 or lengths.max() > T:
            raise ValueError(f"lengths must lie in [0, {T}], got range "
                             f"[{lengths.min()}, {lengths.max()}]")
        given, lengths = True, lengths.astype(np.int64)
    else:
        given, lengths = False, np.empty(B, np.int64)
    x = np.empty((T, B, n_in), dtype)
    t, b, f = _padding.time_major_padded(np.ascontiguousarray(X, dtype=dtype), given,
                                         lengths, x)
    if t >= 0:
        raise ValueError(f"X has a non-finite value ({X[b, t, f]}) at sample {b}, time {t}, "
                         f"feature {f} inside the sequence (only whole steps of NaN at the "
                         "end of a sequence are padding)")
    valid = np.arange(T)[:, None] < lengths[None, :] if mask else None     # (T, B)
    return x, lengths, valid


def initial_state(initial_state, shape, cell, has_cell_state, dtype):
    """``(h0, c0)`` from a user's ``initial_state`` (``h0``, or ``(h0, c0)`` for cells with a
    cell state), each checked to be ``shape``; ``(None, None)`` for zeros."""
    if initial_state is None:
        return None, None
    if has_cell_state:
        if not (isinstance(initial_state, (tuple, list)) and len(initial_state) == 2):
            raise ValueError("initial_state must be a pair (h0, c0) for cell "
                             f"{cell!r}")
        h0, c0 = initial_state
    else:
        h0, c0 = initial_state, None
    h0 = np.ascontiguousarray(h0, dtype)
    if h0.shape != shape:
        raise ValueError(f"initial_state h0 must have shape {shape}, got {h0.shape}")
    if c0 is not None:
        c0 = np.ascontiguousarray(c0, dtype)
        if c0.shape != shape:
            raise ValueError(f"initial_state c0 must have shape {shape}, got {c0.shape}")
    return h0, c0


def grad_outputs(grad_outputs, shape, mask, dtype):
    """Time-major copy of a user's output gradient (``shape`` = (sample, time, outputs)),
    zero at padded steps (``mask``, (time, sample))."""
    g = np.asarray(grad_outputs)
    if g.shape != shape:
        raise ValueError(f"grad_outputs must have shape {shape}, got {g.shape}")
    return np.where(mask[:, :, None], np.swapaxes(g, 0, 1), 0).astype(dtype)
