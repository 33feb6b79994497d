"""The linear head: ``y = x @ W.T + b`` over rows, and its backward pass (serial, GIL released;
``RecurrentNetwork`` runs sub-batches on its threads)."""

import numpy as np

from ._jit import jit


@jit
def dense_forward(x, w, b, out):
    """Write ``x @ w.T + b`` into ``out``.

    Parameters
    ----------
    x : ndarray, shape (N, F)
    w : ndarray, shape (O, F)
    b : ndarray, shape (O,)
    out : ndarray, shape (N, O)
    """
    np.dot(x, w.T, out)
    for r in range(x.shape[0]):
        for j in range(w.shape[0]):
            out[r, j] += b[j]


@jit
def dense_backward(x, w, dy, dx, dw, db):
    """Backward pass of ``dense_forward``.

    ``dx`` (N, F) is overwritten with ``dy @ w``; ``dw`` (O, F) and ``db`` (O,) are accumulated.
    """
    np.dot(dy, w, dx)
    tmp = np.empty(dw.shape, dtype=dw.dtype)
    np.dot(dy.T, x, tmp)
    dw += tmp
    for r in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            db[j] += dy[r, j]
