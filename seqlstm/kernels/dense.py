"""The linear head: ``y = x @ W.T + b`` over rows, and its backward pass.

Rows are split into ``n_blocks`` contiguous blocks (single-threaded BLAS in each); weight
gradients are per-block partial sums reduced in a fixed order, so results do not depend on the
number of threads.
"""

import numpy as np
from numba import prange

from ._jit import jit


@jit
def _span(k, n, total):
    return (k * total) // n, ((k + 1) * total) // n


@jit(parallel=True)
def dense_forward(x, w, b, out, n_blocks):
    """Write ``x @ w.T + b`` into ``out``.

    Parameters
    ----------
    x : ndarray, shape (N, F)
    w : ndarray, shape (O, F)
    b : ndarray, shape (O,)
    out : ndarray, shape (N, O)
    n_blocks : int
    """
    N = x.shape[0]
    O = w.shape[0]
    nblk = max(1, min(n_blocks, N))
    for k in prange(nblk):
        r0, r1 = _span(k, nblk, N)
        if r1 > r0:
            np.dot(x[r0:r1], w.T, out[r0:r1])
            for r in range(r0, r1):
                for j in range(O):
                    out[r, j] += b[j]


@jit(parallel=True)
def dense_backward(x, w, dy, dx, dw, db, n_blocks):
    """Backward pass of ``dense_forward``.

    ``dx`` (N, F) is overwritten with ``dy @ w``; ``dw`` (O, F) and ``db`` (O,) are accumulated.
    """
    N, F = x.shape
    O = w.shape[0]
    nblk = max(1, min(n_blocks, N))
    pw = np.zeros((nblk, O, F), dtype=x.dtype)
    pb = np.zeros((nblk, O), dtype=x.dtype)
    for k in prange(nblk):
        r0, r1 = _span(k, nblk, N)
        if r1 > r0:
            np.dot(dy[r0:r1], w, dx[r0:r1])
            np.dot(dy[r0:r1].T, x[r0:r1], pw[k])
            for r in range(r0, r1):
                for j in range(O):
                    pb[k, j] += dy[r, j]
    for k in range(nblk):
        dw += pw[k]
        db += pb[k]
