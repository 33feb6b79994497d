"""Forward and backward kernels of one recurrent layer direction, for every cell type.

Arrays are time-major and C-contiguous: ``x`` is ``(T, B, I)``.  One call runs the whole time
loop of one layer direction for a (sub-)batch in compiled code:

1. the input projection of all steps is one matrix product (inference, which stores no
   activations, computes it for ``PROJECTION_STEPS`` steps at a time into a small buffer:
   one step, so that a step's products have the same shapes whatever the length of the call);
2. inside the time loop only the recurrent product ``h @ W_hh.T`` and the fused gate
   arithmetic run, in buffers allocated once before the loop;
3. (backward) the weight gradients are matrix products over all steps after the loop.

The skeletons are serial; ``RecurrentNetwork`` splits a batch into sub-batches and the entry
points run one skeleton per sub-batch on Numba's threads (data parallelism with a fixed split, so
results are bit-identical whatever the thread count).

Cells share one skeleton and are selected by an integer code (``CELL_CODES``).  The entry points
``FORWARD[cell]`` and ``BACKWARD[cell]`` call the skeleton with the code as a compile-time
constant, so Numba prunes the other cells' branches and compiles only the cell in use (functions
passed as arguments would make the kernels uncacheable).

Padding: steps ``t >= lengths[b]`` leave the state unchanged, output 0 (the caller turns this
into NaN for users), and receive no gradient.  The reverse direction processes ``t = T-1 .. 0``,
so its padded steps come first and it effectively starts at each sample's last valid step.

State slots: ``hs``/``cs`` record the state before processing step ``s`` (``s = 0..T``, in
processing order) at slot ``rec_slot[s]`` when that is ``>= 0``.  For training the caller records
every state in natural time order (forward: slot ``s``; reverse: slot ``T - s``), so the state
*before* time ``t`` is ``hs[t + reverse]`` and the state *after* it is ``hs[t + 1 - reverse]``.
"""

import numpy as np
from numba import prange, types
from numba.extending import overload
from numba.np.linalg import ensure_blas

from ..cells import CELLS
from ._jit import OVERLOAD_OPTIONS, jit
from .activations import sigmoid, tanh
# the tunables, documented in config.py (PROJECTION_STEPS re-exported for the tests)
from .config import PRODUCT_BLOCK, PROJECTION_STEPS, SMALL_PRODUCT  # noqa: F401

#: Cell codes (``seqlstm.cells``), module-level ints that the skeletons compare with their
#: literal cell code.
LSTM, PEEPHOLE, CIFG, GRU, RNN = (CELLS[name].code
                                  for name in ("lstm", "peephole", "cifg", "gru", "rnn"))
#: Cell name -> code.
CELL_CODES = {cell.name: cell.code for cell in CELLS.values()}
#: Number of gate blocks (rows of W_ih / W_hh in units of H) per cell.
GATE_BLOCKS = {cell.name: cell.n_gates for cell in CELLS.values()}
#: Cells that carry a cell state ``c`` besides ``h``.
HAS_CELL_STATE = {cell.name: cell.has_cell_state for cell in CELLS.values()}
#: Codes of the cells that carry a cell state.
_CELL_STATE_CODES = tuple(cell.code for cell in CELLS.values() if cell.has_cell_state)


def _xxgemm(dtype):
    """Numba's BLAS gateway (the one ``np.dot`` uses), which takes leading dimensions."""
    return types.ExternalFunction("numba_xxgemm", types.intc(
        types.char, types.char, types.char, types.intp, types.intp, types.intp,
        types.CPointer(dtype), types.CPointer(dtype), types.intp, types.CPointer(dtype),
        types.intp, types.CPointer(dtype), types.CPointer(dtype), types.intp))


_GEMM = {types.float32: (_xxgemm(types.float32), ord("s")),
         types.float64: (_xxgemm(types.float64), ord("d"))}


def gemm(a, b, c, scal):
    """``c = scal[0] * a @ b + scal[1] * c`` for 2-D row-major views with unit inner stride
    (``c`` may be a block of columns of a wider array, which ``np.dot`` does not accept)."""
    raise NotImplementedError("gemm is compiled into the kernels")


@overload(gemm, jit_options=OVERLOAD_OPTIONS)
def _gemm_typed(a, b, c, scal):
    ensure_blas()
    fn, kind = _GEMM[a.dtype]
    no_trans = ord("N")

    def impl(a, b, c, scal):
        M, K = a.shape
        N = c.shape[1]
        size = a.itemsize
        # row-major C = A B is column-major C^T = B^T A^T: BLAS sees b first
        fn(kind, no_trans, no_trans, N, M, K, scal.ctypes, b.ctypes, b.strides[0] // size,
           a.ctypes, a.strides[0] // size, scal[1:].ctypes, c.ctypes, c.strides[0] // size)

    return impl


@jit
def transposed_blocks(w, width):
    """``w.T`` (``w`` is (G, H)) cut into blocks of ``width`` columns, each (H, width)
    C-contiguous, one after the other in a flat array (the last block may be narrower)."""
    G, H = w.shape
    flat = np.empty(G * H, dtype=w.dtype)
    for c0 in range(0, G, width):
        n = min(width, G - c0)
        blk = flat[c0 * H:(c0 + n) * H].reshape(H, n)
        for j in range(H):
            for i in range(n):
                blk[j, i] = w[c0 + i, j]
    return flat


@jit
def _copy2(dst, src):
    """``dst[:] = src`` for 2-D arrays of one shape, as a loop: slice assignment between arrays
    makes Numba compile its shape-mismatch error message (string formatting), which was ~5 s of
    a cold first call."""
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            dst[i, j] = src[i, j]


@jit
def step_product(h, w_hh, w_blocks, g, scal, small):
    """``g = h @ W_hh.T``, the forward's per-step recurrent product, in the form chosen by size:
    small, by blocks of ``PRODUCT_BLOCK`` gates from ``w_blocks = transposed_blocks(w_hh,
    PRODUCT_BLOCK)`` (``scal = [1, 0]``); large, one product with ``W_hh`` transposed."""
    if small:
        G, H = w_hh.shape
        for c0 in range(0, G, PRODUCT_BLOCK):
            c1 = min(G, c0 + PRODUCT_BLOCK)
            gemm(h, w_blocks[c0 * H:c1 * H].reshape(H, c1 - c0), g[:, c0:c1], scal)
    else:
        np.dot(h, w_hh.T, g)


@jit
def step_product_backward(dg, w_hh, w_hh_t, dh, scal, small):
    """``dh = dg @ W_hh``, the backward's per-step recurrent product, in the form chosen by
    size: small, by blocks of ``PRODUCT_BLOCK`` rows of ``W_hh`` accumulated by BLAS (``scal =
    [1, 1, 0]``: alpha, beta = ``scal[1:]`` = (1, 0) for the first block, then ``scal`` = (1, 1));
    large, with ``w_hh_t = W_hh^T`` contiguous."""
    if small:
        G = w_hh.shape[0]
        for c0 in range(0, G, PRODUCT_BLOCK):
            c1 = min(G, c0 + PRODUCT_BLOCK)
            gemm(dg[:, c0:c1], w_hh[c0:c1], dh, scal[1:] if c0 == 0 else scal)
    else:
        np.dot(dg, w_hh_t.T, dh)


def _cell_code(cell):
    """The cell code of a skeleton call, which must be a compile-time constant."""
    if not isinstance(cell, types.IntegerLiteral):
        raise TypeError(f"the cell code must be a literal integer, got {cell}")
    return cell.literal_value


# ----------------------------------------------------------------------------- forward steps
# Row functions index 4-D views (time, sample, gate block, unit) with loop variables only: an
# index like ``H + j`` makes Numba emit a negative-index check per element (no vectorisation),
# and per-row slice views cost two atomic reference-count operations each.  Each gate has its own
# simple loop, which LLVM vectorises.
@jit
def _lstm_fwd_rows(peep_on, t, ta, B, H, lengths, a4, bias2, g3, hbuf, cbuf, peep):
    for b in range(B):
        if t >= lengths[b]:
            continue                  # padded: the state is left as it is
        if peep_on:
            for j in range(H):
                a4[ta, b, 0, j] = sigmoid(a4[ta, b, 0, j] + bias2[0, j] + g3[b, 0, j]
                                          + peep[0, j] * cbuf[b, j])
            for j in range(H):
                a4[ta, b, 1, j] = sigmoid(a4[ta, b, 1, j] + bias2[1, j] + g3[b, 1, j]
                                          + peep[1, j] * cbuf[b, j])
        else:
            for j in range(H):
                a4[ta, b, 0, j] = sigmoid(a4[ta, b, 0, j] + bias2[0, j] + g3[b, 0, j])
            for j in range(H):
                a4[ta, b, 1, j] = sigmoid(a4[ta, b, 1, j] + bias2[1, j] + g3[b, 1, j])
        for j in range(H):
            a4[ta, b, 2, j] = tanh(a4[ta, b, 2, j] + bias2[2, j] + g3[b, 2, j])
        for j in range(H):
            cbuf[b, j] = a4[ta, b, 1, j] * cbuf[b, j] + a4[ta, b, 0, j] * a4[ta, b, 2, j]
        if peep_on:
            for j in range(H):
                a4[ta, b, 3, j] = sigmoid(a4[ta, b, 3, j] + bias2[3, j] + g3[b, 3, j]
                                          + peep[2, j] * cbuf[b, j])
        else:
            for j in range(H):
                a4[ta, b, 3, j] = sigmoid(a4[ta, b, 3, j] + bias2[3, j] + g3[b, 3, j])
        for j in range(H):
            hbuf[b, j] = a4[ta, b, 3, j] * tanh(cbuf[b, j])


@jit
def _cifg_fwd_rows(t, ta, B, H, lengths, a4, bias2, g3, hbuf, cbuf):
    one = a4.dtype.type(1.0)
    for b in range(B):
        if t >= lengths[b]:
            continue                  # padded: the state is left as it is
        for j in range(H):
            a4[ta, b, 0, j] = sigmoid(a4[ta, b, 0, j] + bias2[0, j] + g3[b, 0, j])
        for j in range(H):
            a4[ta, b, 1, j] = tanh(a4[ta, b, 1, j] + bias2[1, j] + g3[b, 1, j])
        for j in range(H):
            a4[ta, b, 2, j] = sigmoid(a4[ta, b, 2, j] + bias2[2, j] + g3[b, 2, j])
        for j in range(H):
            ig = a4[ta, b, 0, j]
            cbuf[b, j] = (one - ig) * cbuf[b, j] + ig * a4[ta, b, 1, j]
        for j in range(H):
            hbuf[b, j] = a4[ta, b, 2, j] * tanh(cbuf[b, j])


@jit
def _gru_fwd_rows(t, ta, B, H, lengths, a4, bias2, aux, g3, hbuf, bn):
    one = a4.dtype.type(1.0)
    for b in range(B):
        if t >= lengths[b]:
            continue                  # padded: the state is left as it is
        for j in range(H):
            a4[ta, b, 0, j] = sigmoid(a4[ta, b, 0, j] + bias2[0, j] + g3[b, 0, j])
        for j in range(H):
            a4[ta, b, 1, j] = sigmoid(a4[ta, b, 1, j] + bias2[1, j] + g3[b, 1, j])
        for j in range(H):
            aux[t, b, j] = g3[b, 2, j] + bn[j]
        for j in range(H):
            a4[ta, b, 2, j] = tanh(a4[ta, b, 2, j] + bias2[2, j] + a4[ta, b, 0, j] * aux[t, b, j])
        for j in range(H):
            zg = a4[ta, b, 1, j]
            hbuf[b, j] = (one - zg) * a4[ta, b, 2, j] + zg * hbuf[b, j]


@jit
def _rnn_fwd_rows(t, ta, B, H, lengths, a4, bias2, g3, hbuf):
    for b in range(B):
        if t >= lengths[b]:
            continue                  # padded: the state is left as it is
        for j in range(H):
            a4[ta, b, 0, j] = tanh(a4[ta, b, 0, j] + bias2[0, j] + g3[b, 0, j])
        for j in range(H):
            hbuf[b, j] = a4[ta, b, 0, j]


def layer_forward(cell, reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux,
                  out, col, out_bm, rec_slot, hs, cs, hn, cn):
    """Run one direction of one layer over all time steps.

    Parameters
    ----------
    cell : int
        Cell code from ``CELL_CODES``.
    reverse : bool
        Process ``t = T-1 .. 0``.
    x : ndarray, shape (T, B, I)
        Layer input; finite everywhere (zeros at padded steps).
    w_ih, w_hh : ndarray, shapes (G, I) and (G, H)
        Input and recurrent weights (PyTorch layout, gate blocks stacked by rows).
    b_ih, b_hh : ndarray, shape (G,)
    peep : ndarray, shape (3, H)
        Peephole weights (read only for the peephole cell).
    h0, c0 : ndarray, shape (B, H)
        Initial states (``c0`` read only for cells with a cell state).
    lengths : ndarray of int64, shape (B,)
    acts : ndarray, shape (T, B, G) or (P, B, G) with P < T
        Workspace.  With T steps it holds the activated gates of every step on return (for the
        backward pass); with fewer it is a buffer for P steps at a time (inference).
    aux : ndarray, shape (T, B, H) for GRU
        Receives ``W_hn h + b_hn`` per step (GRU only).
    out : ndarray, shape (T, B, H_out), or (B, T, H_out) when ``out_bm``
        Receives this direction's outputs in columns ``col:col+H`` (0 at padded steps).
    out_bm : bool
        ``out`` is batch-major: the top layer of an inference writes straight into the
        (sample, time, feature) array returned to the user, saving a transposing copy.
    rec_slot : ndarray of int64, shape (T + 1,)
        Slot in ``hs``/``cs`` where the state before processing step ``s`` is stored, or -1.
    hs, cs : ndarray, shape (n_slots, B, H)
        Recorded states.
    hn, cn : ndarray, shape (B, H)
        Receive the final states.
    """
    raise NotImplementedError("layer_forward is compiled into the per-cell entry points FORWARD")


@overload(layer_forward, prefer_literal=True, jit_options=OVERLOAD_OPTIONS)
def _layer_forward_typed(cell, reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux,
                         out, col, out_bm, rec_slot, hs, cs, hn, cn):
    """Compile ``layer_forward`` for the literal cell code: the other cells' branches are
    pruned before typing, so only the cell in use is compiled."""
    code = _cell_code(cell)
    has_c = code in _CELL_STATE_CODES

    def impl(cell, reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux,
             out, col, out_bm, rec_slot, hs, cs, hn, cn):
        T, B, I = x.shape
        G, H = w_hh.shape
        dt = x.dtype
        # the input projection: one product over all steps into the full ``acts`` (training),
        # or, when ``acts`` is a buffer of P < T steps (inference), a product over the next P
        # steps each time the recurrence reaches them, read back from cache by the gate loops.
        # The bias is added in the gate loops of each step (a separate pass over all steps cost
        # ~4% of the forward); GRU keeps b_hn inside the reset product
        w_ih_t = np.ascontiguousarray(w_ih.T)
        nb = acts.shape[0]
        ring = nb < T
        P = nb if ring else T
        small = B * H * G <= SMALL_PRODUCT
        # the small no-transpose form multiplies by blocks of W_hh^T held contiguously
        w_blocks = transposed_blocks(w_hh, PRODUCT_BLOCK) if small else np.empty(0, dtype=dt)
        scal = np.zeros(2, dtype=dt)          # BLAS's alpha = 1 and beta = 0
        scal[0] = 1.0
        bias = np.empty(G, dtype=dt)
        for j in range(G):
            bias[j] = b_ih[j] + b_hh[j]
        if code == GRU:
            for j in range(2 * H, 3 * H):
                bias[j] = b_ih[j]
        # the recurrence
        hbuf = np.empty((B, H), dtype=dt)
        cbuf = np.zeros((B, H), dtype=dt)
        gbuf = np.empty((B, G), dtype=dt)
        NG = G // H
        a4 = acts.reshape(nb, B, NG, H)
        g3 = gbuf.reshape(B, NG, H)
        bias2 = bias.reshape(NG, H)
        if out_bm:
            o4 = out.reshape(B, T, out.shape[2] // H, H)
        else:
            o4 = out.reshape(T, B, out.shape[2] // H, H)
        d = col // H
        zero = dt.type(0.0)
        bn = b_hh[G - H:]
        _copy2(hbuf, h0)
        if has_c:
            _copy2(cbuf, c0)
        t_lo = 0
        for s in range(T):
            slot = rec_slot[s]
            if slot >= 0:
                _copy2(hs[slot], hbuf)
                if has_c:
                    _copy2(cs[slot], cbuf)
            t = T - 1 - s if reverse else s
            if s % P == 0:                # input projection of the next P (or all) steps
                n = min(P, T - s)
                t_lo = T - s - n if reverse else s
                dst = 0 if ring else t_lo
                np.dot(x[t_lo:t_lo + n].reshape(n * B, I), w_ih_t,
                       acts[dst:dst + n].reshape(n * B, G))
            ta = t - t_lo if ring else t  # slot of step t in acts
            step_product(hbuf, w_hh, w_blocks, gbuf, scal, small)
            if code == LSTM:
                _lstm_fwd_rows(False, t, ta, B, H, lengths, a4, bias2, g3, hbuf, cbuf, peep)
            elif code == PEEPHOLE:
                _lstm_fwd_rows(True, t, ta, B, H, lengths, a4, bias2, g3, hbuf, cbuf, peep)
            elif code == CIFG:
                _cifg_fwd_rows(t, ta, B, H, lengths, a4, bias2, g3, hbuf, cbuf)
            elif code == GRU:
                _gru_fwd_rows(t, ta, B, H, lengths, a4, bias2, aux, g3, hbuf, bn)
            else:
                _rnn_fwd_rows(t, ta, B, H, lengths, a4, bias2, g3, hbuf)
            for b in range(B):            # the outputs: the new state, 0 at padded steps
                valid = t < lengths[b]
                if out_bm:
                    for j in range(H):
                        o4[b, t, d, j] = hbuf[b, j] if valid else zero
                else:
                    for j in range(H):
                        o4[t, b, d, j] = hbuf[b, j] if valid else zero
        slot = rec_slot[T]
        if slot >= 0:
            _copy2(hs[slot], hbuf)
            if has_c:
                _copy2(cs[slot], cbuf)
        _copy2(hn, hbuf)
        if has_c:
            _copy2(cn, cbuf)

    return impl


# ---------------------------------------------------------------------------- backward steps
# As in the forward, every gate has its own short loop over units touching few arrays (a loop
# over many arrays needs more run-time alias checks than LLVM emits, and stays scalar).
@jit
def _padded_step_bwd(t, b, NG, H, a4):
    """A padded step: no gate gradient (the caller passes the state gradient through)."""
    zero = a4.dtype.type(0.0)
    for k in range(NG):
        for j in range(H):
            a4[t, b, k, j] = zero


@jit
def _lstm_bwd_rows(peep_on, t, B, H, lengths, a4, cprev, cnew, peep, do4, d, dh, dc, tmp):
    one = a4.dtype.type(1.0)
    for b in range(B):
        if t >= lengths[b]:
            _padded_step_bwd(t, b, 4, H, a4)
            continue
        for j in range(H):
            tmp[0, j] = tanh(cnew[b, j])
        for j in range(H):                       # dL/dh_t
            tmp[1, j] = do4[t, b, d, j] + dh[b, j]
        for j in range(H):                       # dL/dc_t (dc holds the part from step t+1)
            og = a4[t, b, 3, j]
            dc[b, j] = tmp[1, j] * og * (one - tmp[0, j] * tmp[0, j]) + dc[b, j]
        for j in range(H):                       # output gate
            og = a4[t, b, 3, j]
            a4[t, b, 3, j] = tmp[1, j] * tmp[0, j] * og * (one - og)
        if peep_on:
            for j in range(H):
                dc[b, j] += a4[t, b, 3, j] * peep[2, j]
        for j in range(H):
            tmp[0, j] = a4[t, b, 2, j]           # g, before its slot is overwritten
        for j in range(H):                       # candidate
            ig = a4[t, b, 0, j]
            a4[t, b, 2, j] = dc[b, j] * ig * (one - tmp[0, j] * tmp[0, j])
        for j in range(H):                       # input gate
            ig = a4[t, b, 0, j]
            a4[t, b, 0, j] = dc[b, j] * tmp[0, j] * ig * (one - ig)
        for j in range(H):                       # forget gate, and dL/dc_{t-1}
            fg = a4[t, b, 1, j]
            a4[t, b, 1, j] = dc[b, j] * cprev[b, j] * fg * (one - fg)
            dc[b, j] *= fg
        if peep_on:
            for j in range(H):
                dc[b, j] += a4[t, b, 0, j] * peep[0, j] + a4[t, b, 1, j] * peep[1, j]


@jit
def _cifg_bwd_rows(t, B, H, lengths, a4, cprev, cnew, do4, d, dh, dc, tmp):
    one = a4.dtype.type(1.0)
    for b in range(B):
        if t >= lengths[b]:
            _padded_step_bwd(t, b, 3, H, a4)
            continue
        for j in range(H):
            tmp[0, j] = tanh(cnew[b, j])
        for j in range(H):
            tmp[1, j] = do4[t, b, d, j] + dh[b, j]
        for j in range(H):
            og = a4[t, b, 2, j]
            dc[b, j] = tmp[1, j] * og * (one - tmp[0, j] * tmp[0, j]) + dc[b, j]
        for j in range(H):
            og = a4[t, b, 2, j]
            a4[t, b, 2, j] = tmp[1, j] * tmp[0, j] * og * (one - og)
        for j in range(H):
            tmp[0, j] = a4[t, b, 1, j]           # g
        for j in range(H):                       # candidate
            ig = a4[t, b, 0, j]
            a4[t, b, 1, j] = dc[b, j] * ig * (one - tmp[0, j] * tmp[0, j])
        for j in range(H):                       # input gate (forget gate 1 - i), dL/dc_{t-1}
            ig = a4[t, b, 0, j]
            a4[t, b, 0, j] = dc[b, j] * (tmp[0, j] - cprev[b, j]) * ig * (one - ig)
            dc[b, j] *= one - ig


@jit
def _gru_bwd_rows(t, B, H, lengths, a4, aux, dgh4, hprev, do4, d, dh, dhd, tmp):
    one = a4.dtype.type(1.0)
    for b in range(B):
        if t >= lengths[b]:
            _padded_step_bwd(t, b, 3, H, a4)
            _padded_step_bwd(t, b, 3, H, dgh4)
            for j in range(H):
                dhd[b, j] = dh[b, j]
            continue
        for j in range(H):                       # dL/dh_t
            tmp[0, j] = do4[t, b, d, j] + dh[b, j]
        for j in range(H):
            tmp[1, j] = a4[t, b, 2, j]           # n, before its slot is overwritten
        for j in range(H):                       # candidate
            zg = a4[t, b, 1, j]
            a4[t, b, 2, j] = tmp[0, j] * (one - zg) * (one - tmp[1, j] * tmp[1, j])
        for j in range(H):                       # update gate, and the direct path to h_{t-1}
            zg = a4[t, b, 1, j]
            dhd[b, j] = tmp[0, j] * zg
            a4[t, b, 1, j] = tmp[0, j] * (hprev[b, j] - tmp[1, j]) * zg * (one - zg)
        for j in range(H):                       # reset gate
            rg = a4[t, b, 0, j]
            a4[t, b, 0, j] = a4[t, b, 2, j] * aux[t, b, j] * rg * (one - rg)
            dgh4[t, b, 2, j] = a4[t, b, 2, j] * rg
        for j in range(H):
            dgh4[t, b, 0, j] = a4[t, b, 0, j]
        for j in range(H):
            dgh4[t, b, 1, j] = a4[t, b, 1, j]


@jit
def _rnn_bwd_rows(t, B, H, lengths, a4, do4, d, dh):
    one = a4.dtype.type(1.0)
    for b in range(B):
        if t >= lengths[b]:
            _padded_step_bwd(t, b, 1, H, a4)
            continue
        for j in range(H):
            hn = a4[t, b, 0, j]
            a4[t, b, 0, j] = (do4[t, b, d, j] + dh[b, j]) * (one - hn * hn)


def layer_backward(cell, reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout,
                   col, dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx, record_dh, dhs):
    """Backpropagate through one direction of one layer (after ``layer_forward`` in training
    mode, i.e. with every state recorded in natural time order).

    ``acts`` is overwritten with the gradients of the gate pre-activations on the input side;
    ``dgh`` receives those on the recurrent side (for every cell but GRU pass ``acts`` itself).
    ``dx`` (T, B, I), ``dw_ih``, ``dw_hh``, ``db_ih``, ``db_hh`` and ``dpeep`` are ACCUMULATED
    into (``+=``), so windows and directions can add up their contributions.

    Parameters
    ----------
    dout : ndarray, shape (T, B, H_out)
        Gradient with respect to this layer's outputs; columns ``col:col+H`` are this
        direction's.  Values at padded steps are ignored.
    need_dx : bool
        Compute the input gradient (the bottom layer of a training step does not need it:
        skipping it saves a product as large as the input projection).
    record_dh : bool
        Write the total gradient with respect to each step's hidden state into ``dhs``
        (T, B, H) (0 at padded steps), for gradient-flow inspection.
    Other parameters are as in ``layer_forward``.
    """
    raise NotImplementedError("layer_backward is compiled into the per-cell entry points BACKWARD")


@overload(layer_backward, prefer_literal=True, jit_options=OVERLOAD_OPTIONS)
def _layer_backward_typed(cell, reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs,
                          dout, col, dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx,
                          record_dh, dhs):
    """Compile ``layer_backward`` for the literal cell code: the other cells' branches are
    pruned before typing, so only the cell in use is compiled."""
    code = _cell_code(cell)

    def impl(cell, reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout,
             col, dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx, record_dh, dhs):
        T, B, I = x.shape
        G, H = w_hh.shape
        dt = x.dtype
        # dh: gradient w.r.t. the state entering the step being processed; the recurrent product
        # writes the next one into dh_next, and the two swap (no copy, no add for most cells)
        dh = np.zeros((B, H), dtype=dt)
        dh_next = np.empty((B, H), dtype=dt)
        dc = np.zeros((B, H), dtype=dt)
        dhd = np.empty((B, H), dtype=dt)
        tmp = np.empty((2, H), dtype=dt)
        small = B * H * G <= SMALL_PRODUCT
        # the large form multiplies by (W_hh^T contiguous)^T; the small one by W_hh itself
        w_hh_t = np.empty((0, 0), dtype=dt) if small else np.ascontiguousarray(w_hh.T)
        scal = np.ones(3, dtype=dt)           # BLAS's alpha, beta: (1, 0), then (1, 1)
        scal[2] = 0.0
        NG = G // H
        a4 = acts.reshape(T, B, NG, H)
        dgh4 = dgh.reshape(T, B, NG, H)
        do4 = dout.reshape(T, B, dout.shape[2] // H, H)
        d = col // H
        for s in range(T - 1, -1, -1):
            t = T - 1 - s if reverse else s
            ib = t + 1 if reverse else t      # slot of the state before time t
            ia = t if reverse else t + 1      # slot of the state after time t
            if record_dh:
                for b in range(B):
                    for j in range(H):
                        dhs[t, b, j] = dout[t, b, col + j] + dh[b, j] if t < lengths[b] else 0.0
            if code == LSTM:
                _lstm_bwd_rows(False, t, B, H, lengths, a4, cs[ib], cs[ia], peep, do4, d, dh, dc,
                               tmp)
            elif code == PEEPHOLE:
                _lstm_bwd_rows(True, t, B, H, lengths, a4, cs[ib], cs[ia], peep, do4, d, dh, dc,
                               tmp)
            elif code == CIFG:
                _cifg_bwd_rows(t, B, H, lengths, a4, cs[ib], cs[ia], do4, d, dh, dc, tmp)
            elif code == GRU:
                _gru_bwd_rows(t, B, H, lengths, a4, aux, dgh4, hs[ib], do4, d, dh, dhd, tmp)
            else:
                _rnn_bwd_rows(t, B, H, lengths, a4, do4, d, dh)
            step_product_backward(dgh[t], w_hh, w_hh_t, dh_next, scal, small)
            if code == GRU:                   # plus the direct path (pass-through when padded)
                for b in range(B):
                    for j in range(H):
                        dh_next[b, j] += dhd[b, j]
            else:                             # padded: no gate gradient, dh passes through
                for b in range(B):
                    if t >= lengths[b]:
                        for j in range(H):
                            dh_next[b, j] = dh[b, j]
            dh, dh_next = dh_next, dh

        # weight and input gradients: products over all steps
        rv = 1 if reverse else 0
        gi2 = acts.reshape(T * B, G)
        gh2 = dgh.reshape(T * B, G)
        x2 = x.reshape(T * B, I)
        hp2 = hs[rv:T + rv].reshape(T * B, H)     # the state entering each step
        if code == GRU:       # different gate gradients on the input and the recurrent side
            tmp_ih = np.empty((G, I), dtype=dt)
            np.dot(gi2.T, x2, tmp_ih)
            dw_ih += tmp_ih
            tmp_hh = np.empty((G, H), dtype=dt)
            np.dot(gh2.T, hp2, tmp_hh)
            dw_hh += tmp_hh
        else:                 # one product gates^T [x | h_prev]: a thin product alone is slow
            z = np.empty((T * B, I + H), dtype=dt)
            for r in range(T * B):
                for j in range(I):
                    z[r, j] = x2[r, j]
                for j in range(H):
                    z[r, I + j] = hp2[r, j]
            tmp_w = np.empty((G, I + H), dtype=dt)
            np.dot(gi2.T, z, tmp_w)
            for g in range(G):
                for j in range(I):
                    dw_ih[g, j] += tmp_w[g, j]
                for j in range(H):
                    dw_hh[g, j] += tmp_w[g, I + j]
        if need_dx:
            tmp_x = np.empty((T * B, I), dtype=dt)
            np.dot(gi2, w_ih, tmp_x)
            dx2 = dx.reshape(T * B, I)
            for r in range(T * B):
                for j in range(I):
                    dx2[r, j] += tmp_x[r, j]
        gsum = np.zeros(G, dtype=dt)
        for r in range(T * B):
            for j in range(G):
                gsum[j] += gi2[r, j]
        for j in range(G):
            db_ih[j] += gsum[j]
        if code == GRU:
            gsum[:] = 0
            for r in range(T * B):
                for j in range(G):
                    gsum[j] += gh2[r, j]
        for j in range(G):    # (other cells: the same gate gradients on both sides)
            db_hh[j] += gsum[j]
        if code == PEEPHOLE:
            for t in range(T):
                ib = t + rv
                ia = t + 1 - rv
                for b in range(B):
                    for j in range(H):
                        dpeep[0, j] += acts[t, b, j] * cs[ib, b, j]
                        dpeep[1, j] += acts[t, b, H + j] * cs[ib, b, j]
                        dpeep[2, j] += acts[t, b, 3 * H + j] * cs[ia, b, j]

    return impl


# ------------------------------------------------------------------ per-cell entry points
# The skeletons are ``numba.extending.overload``s specialised on a literal cell code: the entry
# points below pass the code as a constant, the other cells' branches are pruned before typing,
# and a user pays the compile time of one cell only.  (With ``numba.literally`` instead, Numba
# first typed the skeleton with a plain int, compiling every cell's gate loops, before retrying
# with the literal.)
#
# The entry points take TUPLES of per-sub-batch arrays (inputs, states, workspaces, gradient
# accumulators; weights and ``col``/``rec_slot`` are shared) and run one serial kernel per
# sub-batch in a ``prange`` loop: the whole batch is one compiled call on Numba's threads,
# with no Python thread hand-off and no GIL between sub-batches.  BLAS inside must be
# single-threaded (``seqlstm._threads.single_threaded_blas``).  The split into sub-batches is
# fixed by the caller, so results do not depend on the thread count.  The ``_serial`` twins run
# the same kernels in a plain loop without starting Numba's threads (a fork()ed child of a
# process that used GNU OpenMP is killed when it starts them); they compile only when needed.
@jit(parallel=True)
def _forward_lstm(reverse, xs, w_ih, w_hh, b_ih, b_hh, peep, h0s, c0s, lengths, acts, aux, outs,
                  col, out_bm, rec_slot, hs, cs, hn, cn):
    for k in prange(len(xs)):
        layer_forward(LSTM, reverse, xs[k], w_ih, w_hh, b_ih, b_hh, peep, h0s[k], c0s[k],
                      lengths[k], acts[k], aux[k], outs[k], col, out_bm, rec_slot, hs[k], cs[k],
                      hn[k], cn[k])


@jit
def _forward_lstm_serial(reverse, xs, w_ih, w_hh, b_ih, b_hh, peep, h0s, c0s, lengths, acts, aux,
                         outs, col, out_bm, rec_slot, hs, cs, hn, cn):
    for k in range(len(xs)):
        layer_forward(LSTM, reverse, xs[k], w_ih, w_hh, b_ih, b_hh, peep, h0s[k], c0s[k],
                      lengths[k], acts[k], aux[k], outs[k], col, out_bm, rec_slot, hs[k], cs[k],
                      hn[k], cn[k])


@jit(parallel=True)
def _forward_peephole(reverse, xs, w_ih, w_hh, b_ih, b_hh, peep, h0s, c0s, lengths, acts, aux,
                      outs, col, out_bm, rec_slot, hs, cs, hn, cn):
    for k in prange(len(xs)):
        layer_forward(PEEPHOLE, reverse, xs[k], w_ih, w_hh, b_ih, b_hh, peep, h0s[k], c0s[k],
                      lengths[k], acts[k], aux[k], outs[k], col, out_bm, rec_slot, hs[k], cs[k],
                      hn[k], cn[k])


@jit
def _forward_peephole_serial(reverse, xs, w_ih, w_hh, b_ih, b_hh, peep, h0s, c0s, lengths, acts,
                             aux, outs, col, out_bm, rec_slot, hs, cs, hn, cn):
    for k in range(len(xs)):
        layer_forward(PEEPHOLE, reverse, xs[k], w_ih, w_hh, b_ih, b_hh, peep, h0s[k], c0s[k],
                      lengths[k], acts[k], aux[k], outs[k], col, out_bm, rec_slot, hs[k], cs[k],
                      hn[k], cn[k])


@jit(parallel=True)
def _forward_cifg(reverse, xs, w_ih, w_hh, b_ih, b_hh, peep, h0s, c0s, lengths, acts, aux, outs,
                  col, out_bm, rec_slot, hs, cs, hn, cn):
    for k in prange(len(xs)):
        layer_forward(CIFG, reverse, xs[k], w_ih, w_hh, b_ih, b_hh, peep, h0s[k], c0s[k],
                      lengths[k], acts[k], aux[k], outs[k], col, out_bm, rec_slot, hs[k], cs[k],
                      hn[k], cn[k])


@jit
def _forward_cifg_serial(reverse, xs, w_ih, w_hh, b_ih, b_hh, peep, h0s, c0s, lengths, acts, aux,
                         outs, col, out_bm, rec_slot, hs, cs, hn, cn):
    for k in range(len(xs)):
        layer_forward(CIFG, reverse, xs[k], w_ih, w_hh, b_ih, b_hh, peep, h0s[k], c0s[k],
                      lengths[k], acts[k], aux[k], outs[k], col, out_bm, rec_slot, hs[k], cs[k],
                      hn[k], cn[k])


@jit(parallel=True)
def _forward_gru(reverse, xs, w_ih, w_hh, b_ih, b_hh, peep, h0s, c0s, lengths, acts, aux, outs,
                 col, out_bm, rec_slot, hs, cs, hn, cn):
    for k in prange(len(xs)):
        layer_forward(GRU, reverse, xs[k], w_ih, w_hh, b_ih, b_hh, peep, h0s[k], c0s[k],
                      lengths[k], acts[k], aux[k], outs[k], col, out_bm, rec_slot, hs[k], cs[k],
                      hn[k], cn[k])


@jit
def _forward_gru_serial(reverse, xs, w_ih, w_hh, b_ih, b_hh, peep, h0s, c0s, lengths, acts, aux,
                        outs, col, out_bm, rec_slot, hs, cs, hn, cn):
    for k in range(len(xs)):
        layer_forward(GRU, reverse, xs[k], w_ih, w_hh, b_ih, b_hh, peep, h0s[k], c0s[k],
                      lengths[k], acts[k], aux[k], outs[k], col, out_bm, rec_slot, hs[k], cs[k],
                      hn[k], cn[k])


@jit(parallel=True)
def _forward_rnn(reverse, xs, w_ih, w_hh, b_ih, b_hh, peep, h0s, c0s, lengths, acts, aux, outs,
                 col, out_bm, rec_slot, hs, cs, hn, cn):
    for k in prange(len(xs)):
        layer_forward(RNN, reverse, xs[k], w_ih, w_hh, b_ih, b_hh, peep, h0s[k], c0s[k],
                      lengths[k], acts[k], aux[k], outs[k], col, out_bm, rec_slot, hs[k], cs[k],
                      hn[k], cn[k])


@jit
def _forward_rnn_serial(reverse, xs, w_ih, w_hh, b_ih, b_hh, peep, h0s, c0s, lengths, acts, aux,
                        outs, col, out_bm, rec_slot, hs, cs, hn, cn):
    for k in range(len(xs)):
        layer_forward(RNN, reverse, xs[k], w_ih, w_hh, b_ih, b_hh, peep, h0s[k], c0s[k],
                      lengths[k], acts[k], aux[k], outs[k], col, out_bm, rec_slot, hs[k], cs[k],
                      hn[k], cn[k])


@jit(parallel=True)
def _backward_lstm(reverse, xs, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, douts, col,
                   dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx, record_dh, dhs):
    for k in prange(len(xs)):
        layer_backward(LSTM, reverse, xs[k], w_ih, w_hh, b_hh, peep, lengths[k], acts[k], aux[k],
                       hs[k], cs[k], douts[k], col, dgh[k], dx[k], dw_ih[k], dw_hh[k], db_ih[k],
                       db_hh[k], dpeep[k], need_dx, record_dh, dhs[k])


@jit
def _backward_lstm_serial(reverse, xs, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, douts,
                          col, dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx, record_dh, dhs):
    for k in range(len(xs)):
        layer_backward(LSTM, reverse, xs[k], w_ih, w_hh, b_hh, peep, lengths[k], acts[k], aux[k],
                       hs[k], cs[k], douts[k], col, dgh[k], dx[k], dw_ih[k], dw_hh[k], db_ih[k],
                       db_hh[k], dpeep[k], need_dx, record_dh, dhs[k])


@jit(parallel=True)
def _backward_peephole(reverse, xs, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, douts, col,
                       dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx, record_dh, dhs):
    for k in prange(len(xs)):
        layer_backward(PEEPHOLE, reverse, xs[k], w_ih, w_hh, b_hh, peep, lengths[k], acts[k],
                       aux[k], hs[k], cs[k], douts[k], col, dgh[k], dx[k], dw_ih[k], dw_hh[k],
                       db_ih[k], db_hh[k], dpeep[k], need_dx, record_dh, dhs[k])


@jit
def _backward_peephole_serial(reverse, xs, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs,
                              douts, col, dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx,
                              record_dh, dhs):
    for k in range(len(xs)):
        layer_backward(PEEPHOLE, reverse, xs[k], w_ih, w_hh, b_hh, peep, lengths[k], acts[k],
                       aux[k], hs[k], cs[k], douts[k], col, dgh[k], dx[k], dw_ih[k], dw_hh[k],
                       db_ih[k], db_hh[k], dpeep[k], need_dx, record_dh, dhs[k])


@jit(parallel=True)
def _backward_cifg(reverse, xs, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, douts, col,
                   dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx, record_dh, dhs):
    for k in prange(len(xs)):
        layer_backward(CIFG, reverse, xs[k], w_ih, w_hh, b_hh, peep, lengths[k], acts[k], aux[k],
                       hs[k], cs[k], douts[k], col, dgh[k], dx[k], dw_ih[k], dw_hh[k], db_ih[k],
                       db_hh[k], dpeep[k], need_dx, record_dh, dhs[k])


@jit
def _backward_cifg_serial(reverse, xs, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, douts,
                          col, dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx, record_dh, dhs):
    for k in range(len(xs)):
        layer_backward(CIFG, reverse, xs[k], w_ih, w_hh, b_hh, peep, lengths[k], acts[k], aux[k],
                       hs[k], cs[k], douts[k], col, dgh[k], dx[k], dw_ih[k], dw_hh[k], db_ih[k],
                       db_hh[k], dpeep[k], need_dx, record_dh, dhs[k])


@jit(parallel=True)
def _backward_gru(reverse, xs, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, douts, col, dgh,
                  dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx, record_dh, dhs):
    for k in prange(len(xs)):
        layer_backward(GRU, reverse, xs[k], w_ih, w_hh, b_hh, peep, lengths[k], acts[k], aux[k],
                       hs[k], cs[k], douts[k], col, dgh[k], dx[k], dw_ih[k], dw_hh[k], db_ih[k],
                       db_hh[k], dpeep[k], need_dx, record_dh, dhs[k])


@jit
def _backward_gru_serial(reverse, xs, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, douts,
                         col, dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx, record_dh, dhs):
    for k in range(len(xs)):
        layer_backward(GRU, reverse, xs[k], w_ih, w_hh, b_hh, peep, lengths[k], acts[k], aux[k],
                       hs[k], cs[k], douts[k], col, dgh[k], dx[k], dw_ih[k], dw_hh[k], db_ih[k],
                       db_hh[k], dpeep[k], need_dx, record_dh, dhs[k])


@jit(parallel=True)
def _backward_rnn(reverse, xs, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, douts, col, dgh,
                  dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx, record_dh, dhs):
    for k in prange(len(xs)):
        layer_backward(RNN, reverse, xs[k], w_ih, w_hh, b_hh, peep, lengths[k], acts[k], aux[k],
                       hs[k], cs[k], douts[k], col, dgh[k], dx[k], dw_ih[k], dw_hh[k], db_ih[k],
                       db_hh[k], dpeep[k], need_dx, record_dh, dhs[k])


@jit
def _backward_rnn_serial(reverse, xs, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, douts,
                         col, dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, need_dx, record_dh, dhs):
    for k in range(len(xs)):
        layer_backward(RNN, reverse, xs[k], w_ih, w_hh, b_hh, peep, lengths[k], acts[k], aux[k],
                       hs[k], cs[k], douts[k], col, dgh[k], dx[k], dw_ih[k], dw_hh[k], db_ih[k],
                       db_hh[k], dpeep[k], need_dx, record_dh, dhs[k])


#: ``FORWARD[cell](reverse, xs, ...)``: ``layer_forward`` with the cell fixed, over a tuple
#: of sub-batches on Numba's threads.
FORWARD = {"lstm": _forward_lstm, "peephole": _forward_peephole, "cifg": _forward_cifg,
           "gru": _forward_gru, "rnn": _forward_rnn}
#: ``BACKWARD[cell](reverse, xs, ...)``: ``layer_backward`` likewise.
BACKWARD = {"lstm": _backward_lstm, "peephole": _backward_peephole, "cifg": _backward_cifg,
            "gru": _backward_gru, "rnn": _backward_rnn}
#: The same, one sub-batch after the other in the calling thread.
FORWARD_SERIAL = {"lstm": _forward_lstm_serial, "peephole": _forward_peephole_serial,
                  "cifg": _forward_cifg_serial, "gru": _forward_gru_serial,
                  "rnn": _forward_rnn_serial}
BACKWARD_SERIAL = {"lstm": _backward_lstm_serial, "peephole": _backward_peephole_serial,
                   "cifg": _backward_cifg_serial, "gru": _backward_gru_serial,
                   "rnn": _backward_rnn_serial}
