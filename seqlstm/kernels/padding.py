"""Input preparation in one pass: (sample, time, feature) to time-major, with padding found,
checked and zeroed.

A sequence shorter than the array is padded at its end with steps whose features are all NaN
(or its length is given).  Doing the transpose, the length search, the finiteness check and the
zeroing of padded steps in one compiled pass replaces a handful of NumPy passes and temporary
arrays, which cost more than the recurrent kernels themselves on small batches.
"""

import numpy as np

from ._jit import jit


@jit
def time_major_padded(X, lengths_given, lengths, x):
    """Copy ``X`` (B, T, F) into time-major ``x`` (T, B, F), zero at padded steps.

    Parameters
    ----------
    X : ndarray, shape (B, T, F)
        The input, already of the network's dtype.
    lengths_given : bool
        ``lengths`` holds each sequence's length; otherwise it receives them: a sequence ends
        after its last step with any non-NaN feature (0 when every step is all-NaN).
    lengths : ndarray of int64, shape (B,)
    x : ndarray, shape (T, B, F)
        Receives the copy.

    Returns
    -------
    tuple of int
        ``(t, b, f)`` of the first non-finite value inside a sequence, in (time, sample,
        feature) order, or ``(-1, -1, -1)`` when there is none.
    """
    B, T, F = X.shape
    if not lengths_given:
        for b in range(B):
            n = 0
            for t in range(T - 1, -1, -1):
                for f in range(F):
                    if not np.isnan(X[b, t, f]):
                        n = t + 1
                        break
                if n:
                    break
            lengths[b] = n
    zero = x.dtype.type(0.0)
    # copy, with a running sum of v * 0 that is NaN once any value is NaN or infinite (the
    # house fast-math flags keep NaN semantics): a vectorisable check; the search for the
    # first offending value runs only when there is one
    check = zero
    for t in range(T):
        for b in range(B):
            if t < lengths[b]:
                for f in range(F):
                    v = X[b, t, f]
                    x[t, b, f] = v
                    check += v * zero
            else:
                for f in range(F):
                    x[t, b, f] = zero
    if np.isfinite(check):
        return -1, -1, -1
    for t in range(T):
        for b in range(B):
            if t < lengths[b]:
                for f in range(F):
                    if not np.isfinite(X[b, t, f]):
                        return t, b, f
    return -1, -1, -1
