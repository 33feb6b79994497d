"""The linear-head kernels against NumPy."""

import numpy as np

from seqlstm.kernels.dense import dense_backward, dense_forward


def test_dense_forward_backward_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 5))
    w = rng.standard_normal((3, 5))
    b = rng.standard_normal(3)
    dy = rng.standard_normal((37, 3))
    out = np.empty((37, 3))
    dense_forward(x, w, b, out)
    assert np.allclose(out, x @ w.T + b, rtol=1e-14, atol=1e-14)
    dx = np.empty_like(x)
    dw = np.ones_like(w)             # accumulated into
    db = np.ones_like(b)
    dense_backward(x, w, dy, dx, dw, db)
    assert np.allclose(dx, dy @ w, rtol=1e-14, atol=1e-14)
    assert np.allclose(dw, 1 + dy.T @ x, rtol=1e-14, atol=1e-13)
    assert np.allclose(db, 1 + dy.sum(0), rtol=1e-14, atol=1e-13)
