"""The linear-head kernels against NumPy."""

import numpy as np
import pytest

from seqlstm.kernels.dense import dense_backward, dense_forward


@pytest.mark.parametrize("n_out", [1, 3, 4, 5, 9])   # dot products up to 4 outputs, BLAS above
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_forward_backward_match_numpy(n_out, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 5)).astype(dtype)
    w = rng.standard_normal((n_out, 5)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype)
    dy = rng.standard_normal((37, n_out)).astype(dtype)
    x64, w64, b64, dy64 = (a.astype(np.float64) for a in (x, w, b, dy))
    tol = 1e-14 if dtype == np.float64 else 1e-6
    out = np.empty((37, n_out), dtype)
    dense_forward(x, w, b, out)
    assert np.allclose(out, x64 @ w64.T + b64, rtol=tol, atol=tol)
    dx = np.empty_like(x)
    dw = np.ones_like(w)             # accumulated into
    db = np.ones_like(b)
    dense_backward(x, w, dy, dx, dw, db)
    assert np.allclose(dx, dy64 @ w64, rtol=tol, atol=tol)
    assert np.allclose(dw, 1 + dy64.T @ x64, rtol=tol, atol=10 * tol)
    assert np.allclose(db, 1 + dy64.sum(0), rtol=tol, atol=10 * tol)
