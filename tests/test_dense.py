"""The linear-head kernels against NumPy."""

import numpy as np
import pytest

from seqlstm.kernels.dense import dense_backward, dense_forward


@pytest.mark.parametrize("block", [37, 5])
@pytest.mark.parametrize("n_out", [1, 3, 4, 5, 9])   # dot products up to 4 outputs, BLAS above
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_forward_backward_match_numpy(n_out, dtype, block):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 5)).astype(dtype)
    w = rng.standard_normal((n_out, 5)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype)
    dy = rng.standard_normal((37, n_out)).astype(dtype)
    x64, w64, b64, dy64 = (a.astype(np.float64) for a in (x, w, b, dy))
    tol = 1e-14 if dtype == np.float64 else 1e-6
    out = np.empty((37, n_out), dtype)
    dense_forward(x, w, b, out, block)
    assert np.allclose(out, x64 @ w64.T + b64, rtol=tol, atol=tol)
    dx = np.empty_like(x)
    dw = np.ones_like(w)             # accumulated into
    db = np.ones_like(b)
    dense_backward(x, w, dy, dx, dw, db)
    assert np.allclose(dx, dy64 @ w64, rtol=tol, atol=tol)
    assert np.allclose(dw, 1 + dy64.T @ x64, rtol=tol, atol=10 * tol)
    assert np.allclose(db, 1 + dy64.sum(0), rtol=tol, atol=10 * tol)


@pytest.mark.parametrize("n_out", [3, 9, 40])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_forward_row_bits_depend_on_the_block_only(n_out, dtype):
    # a block of rows computed inside a call of many blocks or alone: the same bits (OpenBLAS
    # alone gives other last bits for a row in a product of another row count)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8 * 13, 48)).astype(dtype)
    w = rng.standard_normal((n_out, 48)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype)
    whole = np.empty((8 * 13, n_out), dtype)
    dense_forward(x, w, b, whole, 8)
    for r0 in (0, 8, 96):
        alone = np.empty((8, n_out), dtype)
        dense_forward(x[r0:r0 + 8], w, b, alone, 8)
        np.testing.assert_array_equal(alone, whole[r0:r0 + 8])
