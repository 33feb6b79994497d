"""The linear head: ``y = x @ W.T + b`` over rows, and its backward pass (serial, GIL released;
``RecurrentNetwork`` runs sub-batches on its threads)."""

import numpy as np

from ._jit import jit


@jit
def dense_forward(x, w, b, out, block):
    """Write ``x @ w.T + b`` into ``out``.

    A row's result does not depend on how many rows the call holds, only on ``block``: with
    more than 4 outputs the rows go to BLAS in products of ``block`` rows (the last may be
    shorter), because OpenBLAS computes a row in another order depending on the row count of
    the product and the row's place in it (its micro-kernels treat the rows left over after
    full register blocks apart).  The per-step head passes one step's rows per block, so a
    record predicted in pieces gets the same bits as predicted whole.

    Parameters
    ----------
    x : ndarray, shape (N, F)
    w : ndarray, shape (O, F)
    b : ndarray, shape (O,)
    out : ndarray, shape (N, O)
    block : int
        Rows per BLAS product (``N`` for one product).
    """
    N, F = x.shape
    O = w.shape[0]
    if O > 4:
        for r0 in range(0, N, block):
            r1 = min(N, r0 + block)
            np.dot(x[r0:r1], w.T, out[r0:r1])
        for r in range(N):
            for j in range(O):
                out[r, j] += b[j]
        return
    # up to 4 outputs: dot products over contiguous rows (a BLAS product with one output
    # column took 40 us against 14 us for 3200 rows of 64 features)
    for r in range(N):
        for j in range(O):
            acc = x.dtype.type(0.0)
            for k in range(F):
                acc += x[r, k] * w[j, k]
            out[r, j] = acc + b[j]


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
