"""Forward and backward kernels of one recurrent layer direction, for every cell type.

Arrays are time-major and C-contiguous: ``x`` is ``(T, B, I)``.  One call runs the whole time
loop of one layer direction for a (sub-)batch in compiled code:

1. the input projection of all steps is one matrix product;
2. inside the time loop only the recurrent product ``h @ W_hh.T`` and the fused gate
   arithmetic run, in buffers allocated once before the loop;
3. (backward) the weight gradients are matrix products over all steps after the loop.

The kernels are serial and release the GIL: ``RecurrentNetwork`` splits a batch into
sub-batches and runs them on its own threads (data parallelism with a fixed split, so results are
bit-identical whatever the thread count).

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
from numba import literally

from ._jit import jit
from .activations import sigmoid, tanh

LSTM, PEEPHOLE, CIFG, GRU, RNN = 0, 1, 2, 3, 4
CELL_CODES = {"lstm": LSTM, "peephole": PEEPHOLE, "cifg": CIFG, "gru": GRU, "rnn": RNN}
#: Number of gate blocks (rows of W_ih / W_hh in units of H) per cell.
GATE_BLOCKS = {"lstm": 4, "peephole": 4, "cifg": 3, "gru": 3, "rnn": 1}
#: Cells that carry a cell state ``c`` besides ``h``.
HAS_CELL_STATE = {"lstm": True, "peephole": True, "cifg": True, "gru": False, "rnn": False}


# ----------------------------------------------------------------------------- forward steps
@jit
def _lstm_fwd_rows(peep_on, t, B, H, lengths, acts, gbuf, hbuf, cbuf, peep, out, col):
    zero = acts.dtype.type(0.0)
    for b in range(B):
        r = b
        if t >= lengths[b]:
            for j in range(H):
                out[t, b, col + j] = zero
            continue
        a = acts[t, b]
        g = gbuf[r]
        h = hbuf[r]
        c = cbuf[r]
        for j in range(H):
            zi = a[j] + g[j]
            zf = a[H + j] + g[H + j]
            zg = a[2 * H + j] + g[2 * H + j]
            zo = a[3 * H + j] + g[3 * H + j]
            cp = c[j]
            if peep_on:
                zi += peep[0, j] * cp
                zf += peep[1, j] * cp
            ig = sigmoid(zi)
            fg = sigmoid(zf)
            gg = tanh(zg)
            cn = fg * cp + ig * gg
            if peep_on:
                zo += peep[2, j] * cn
            og = sigmoid(zo)
            hn = og * tanh(cn)
            a[j] = ig
            a[H + j] = fg
            a[2 * H + j] = gg
            a[3 * H + j] = og
            c[j] = cn
            h[j] = hn
            out[t, b, col + j] = hn


@jit
def _cifg_fwd_rows(t, B, H, lengths, acts, gbuf, hbuf, cbuf, out, col):
    one = acts.dtype.type(1.0)
    zero = acts.dtype.type(0.0)
    for b in range(B):
        r = b
        if t >= lengths[b]:
            for j in range(H):
                out[t, b, col + j] = zero
            continue
        a = acts[t, b]
        g = gbuf[r]
        h = hbuf[r]
        c = cbuf[r]
        for j in range(H):
            ig = sigmoid(a[j] + g[j])
            gg = tanh(a[H + j] + g[H + j])
            og = sigmoid(a[2 * H + j] + g[2 * H + j])
            cn = (one - ig) * c[j] + ig * gg
            hn = og * tanh(cn)
            a[j] = ig
            a[H + j] = gg
            a[2 * H + j] = og
            c[j] = cn
            h[j] = hn
            out[t, b, col + j] = hn


@jit
def _gru_fwd_rows(t, B, H, lengths, acts, aux, gbuf, hbuf, b_hh, out, col):
    one = acts.dtype.type(1.0)
    zero = acts.dtype.type(0.0)
    for b in range(B):
        r = b
        if t >= lengths[b]:
            for j in range(H):
                out[t, b, col + j] = zero
            continue
        a = acts[t, b]
        g = gbuf[r]
        h = hbuf[r]
        ax = aux[t, b]
        for j in range(H):
            rg = sigmoid(a[j] + g[j])
            zg = sigmoid(a[H + j] + g[H + j])
            ghn = g[2 * H + j] + b_hh[2 * H + j]
            ng = tanh(a[2 * H + j] + rg * ghn)
            hn = (one - zg) * ng + zg * h[j]
            a[j] = rg
            a[H + j] = zg
            a[2 * H + j] = ng
            ax[j] = ghn
            h[j] = hn
            out[t, b, col + j] = hn


@jit
def _rnn_fwd_rows(t, B, H, lengths, acts, gbuf, hbuf, out, col):
    zero = acts.dtype.type(0.0)
    for b in range(B):
        r = b
        if t >= lengths[b]:
            for j in range(H):
                out[t, b, col + j] = zero
            continue
        a = acts[t, b]
        g = gbuf[r]
        h = hbuf[r]
        for j in range(H):
            hn = tanh(a[j] + g[j])
            a[j] = hn
            h[j] = hn
            out[t, b, col + j] = hn


@jit
def layer_forward(cell, reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux,
                  out, col, rec_slot, hs, cs, hn, cn):
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
    acts : ndarray, shape (T, B, G)
        Workspace; holds the activated gates on return.
    aux : ndarray, shape (T, B, H) for GRU
        Receives ``W_hn h + b_hn`` per step (GRU only).
    out : ndarray, shape (T, B, H_out)
        Receives this direction's outputs in columns ``col:col+H`` (0 at padded steps).
    rec_slot : ndarray of int64, shape (T + 1,)
        Slot in ``hs``/``cs`` where the state before processing step ``s`` is stored, or -1.
    hs, cs : ndarray, shape (n_slots, B, H)
        Recorded states.
    hn, cn : ndarray, shape (B, H)
        Receive the final states.
    """
    literally(cell)   # specialise on the cell code (see the per-cell entry points below)
    T, B, I = x.shape
    G, H = w_hh.shape
    dt = x.dtype
    has_c = cell == LSTM or cell == PEEPHOLE or cell == CIFG
    # input projection of all steps, bias folded in (GRU keeps b_hn inside the reset product)
    a2 = acts.reshape(T * B, G)
    np.dot(x.reshape(T * B, I), w_ih.T, a2)
    bias = np.empty(G, dtype=dt)
    for j in range(G):
        bias[j] = b_ih[j] + b_hh[j]
    if cell == GRU:
        for j in range(2 * H, 3 * H):
            bias[j] = b_ih[j]
    for r in range(T * B):
        for j in range(G):
            a2[r, j] += bias[j]
    # the recurrence
    hbuf = np.empty((B, H), dtype=dt)
    cbuf = np.zeros((B, H), dtype=dt)
    gbuf = np.empty((B, G), dtype=dt)
    hbuf[:] = h0
    if has_c:
        cbuf[:] = c0
    for s in range(T):
        slot = rec_slot[s]
        if slot >= 0:
            hs[slot] = hbuf
            if has_c:
                cs[slot] = cbuf
        t = T - 1 - s if reverse else s
        np.dot(hbuf, w_hh.T, gbuf)
        if cell == LSTM:
            _lstm_fwd_rows(False, t, B, H, lengths, acts, gbuf, hbuf, cbuf, peep, out, col)
        elif cell == PEEPHOLE:
            _lstm_fwd_rows(True, t, B, H, lengths, acts, gbuf, hbuf, cbuf, peep, out, col)
        elif cell == CIFG:
            _cifg_fwd_rows(t, B, H, lengths, acts, gbuf, hbuf, cbuf, out, col)
        elif cell == GRU:
            _gru_fwd_rows(t, B, H, lengths, acts, aux, gbuf, hbuf, b_hh, out, col)
        else:
            _rnn_fwd_rows(t, B, H, lengths, acts, gbuf, hbuf, out, col)
    slot = rec_slot[T]
    if slot >= 0:
        hs[slot] = hbuf
        if has_c:
            cs[slot] = cbuf
    hn[:] = hbuf
    if has_c:
        cn[:] = cbuf


# ---------------------------------------------------------------------------- backward steps
@jit
def _lstm_bwd_rows(peep_on, t, B, H, lengths, acts, cprev, cnew, peep, dout, col,
                   dh, dc, dhd):
    one = acts.dtype.type(1.0)
    zero = acts.dtype.type(0.0)
    for b in range(B):
        r = b
        a = acts[t, b]
        if t >= lengths[b]:
            for j in range(4 * H):
                a[j] = zero
            for j in range(H):
                dhd[r, j] = dh[r, j]
            continue
        cp = cprev[b]
        cn = cnew[b]
        for j in range(H):
            ig = a[j]
            fg = a[H + j]
            gg = a[2 * H + j]
            og = a[3 * H + j]
            tc = tanh(cn[j])
            dht = dout[t, b, col + j] + dh[r, j]
            dzo = dht * tc * og * (one - og)
            dct = dht * og * (one - tc * tc) + dc[r, j]
            if peep_on:
                dct += dzo * peep[2, j]
            dzi = dct * gg * ig * (one - ig)
            dzf = dct * cp[j] * fg * (one - fg)
            dzg = dct * ig * (one - gg * gg)
            dcp = dct * fg
            if peep_on:
                dcp += dzi * peep[0, j] + dzf * peep[1, j]
            dc[r, j] = dcp
            dhd[r, j] = zero
            a[j] = dzi
            a[H + j] = dzf
            a[2 * H + j] = dzg
            a[3 * H + j] = dzo


@jit
def _cifg_bwd_rows(t, B, H, lengths, acts, cprev, cnew, dout, col, dh, dc, dhd):
    one = acts.dtype.type(1.0)
    zero = acts.dtype.type(0.0)
    for b in range(B):
        r = b
        a = acts[t, b]
        if t >= lengths[b]:
            for j in range(3 * H):
                a[j] = zero
            for j in range(H):
                dhd[r, j] = dh[r, j]
            continue
        cp = cprev[b]
        cn = cnew[b]
        for j in range(H):
            ig = a[j]
            gg = a[H + j]
            og = a[2 * H + j]
            tc = tanh(cn[j])
            dht = dout[t, b, col + j] + dh[r, j]
            dzo = dht * tc * og * (one - og)
            dct = dht * og * (one - tc * tc) + dc[r, j]
            dzi = dct * (gg - cp[j]) * ig * (one - ig)
            dzg = dct * ig * (one - gg * gg)
            dc[r, j] = dct * (one - ig)
            dhd[r, j] = zero
            a[j] = dzi
            a[H + j] = dzg
            a[2 * H + j] = dzo


@jit
def _gru_bwd_rows(t, B, H, lengths, acts, aux, dgh, hprev, dout, col, dh, dhd):
    one = acts.dtype.type(1.0)
    zero = acts.dtype.type(0.0)
    for b in range(B):
        r = b
        a = acts[t, b]
        d2 = dgh[t, b]
        if t >= lengths[b]:
            for j in range(3 * H):
                a[j] = zero
                d2[j] = zero
            for j in range(H):
                dhd[r, j] = dh[r, j]
            continue
        hp = hprev[b]
        ax = aux[t, b]
        for j in range(H):
            rg = a[j]
            zg = a[H + j]
            ng = a[2 * H + j]
            dht = dout[t, b, col + j] + dh[r, j]
            dnp = dht * (one - zg) * (one - ng * ng)
            dzz = dht * (hp[j] - ng) * zg * (one - zg)
            dzr = dnp * ax[j] * rg * (one - rg)
            dhd[r, j] = dht * zg
            a[j] = dzr
            a[H + j] = dzz
            a[2 * H + j] = dnp
            d2[j] = dzr
            d2[H + j] = dzz
            d2[2 * H + j] = dnp * rg


@jit
def _rnn_bwd_rows(t, B, H, lengths, acts, dout, col, dh, dhd):
    one = acts.dtype.type(1.0)
    zero = acts.dtype.type(0.0)
    for b in range(B):
        r = b
        a = acts[t, b]
        if t >= lengths[b]:
            for j in range(H):
                a[j] = zero
                dhd[r, j] = dh[r, j]
            continue
        for j in range(H):
            hn = a[j]
            a[j] = (dout[t, b, col + j] + dh[r, j]) * (one - hn * hn)
            dhd[r, j] = zero


@jit
def layer_backward(cell, reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout,
                   col, dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, record_dh, dhs):
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
    record_dh : bool
        Write the total gradient with respect to each step's hidden state into ``dhs``
        (T, B, H) (0 at padded steps), for gradient-flow inspection.
    Other parameters are as in ``layer_forward``.
    """
    literally(cell)
    T, B, I = x.shape
    G, H = w_hh.shape
    dt = x.dtype
    dh = np.zeros((B, H), dtype=dt)
    dc = np.zeros((B, H), dtype=dt)
    dhd = np.empty((B, H), dtype=dt)
    for s in range(T - 1, -1, -1):
        t = T - 1 - s if reverse else s
        ib = t + 1 if reverse else t      # slot of the state before time t
        ia = t if reverse else t + 1      # slot of the state after time t
        if record_dh:
            for b in range(B):
                for j in range(H):
                    dhs[t, b, j] = dout[t, b, col + j] + dh[b, j] if t < lengths[b] else 0.0
        if cell == LSTM:
            _lstm_bwd_rows(False, t, B, H, lengths, acts, cs[ib], cs[ia], peep, dout, col, dh,
                           dc, dhd)
        elif cell == PEEPHOLE:
            _lstm_bwd_rows(True, t, B, H, lengths, acts, cs[ib], cs[ia], peep, dout, col, dh,
                           dc, dhd)
        elif cell == CIFG:
            _cifg_bwd_rows(t, B, H, lengths, acts, cs[ib], cs[ia], dout, col, dh, dc, dhd)
        elif cell == GRU:
            _gru_bwd_rows(t, B, H, lengths, acts, aux, dgh, hs[ib], dout, col, dh, dhd)
        else:
            _rnn_bwd_rows(t, B, H, lengths, acts, dout, col, dh, dhd)
        np.dot(dgh[t], w_hh, dh)
        for b in range(B):
            for j in range(H):
                dh[b, j] += dhd[b, j]

    # weight and input gradients: products over all steps
    rv = 1 if reverse else 0
    gi2 = acts.reshape(T * B, G)
    gh2 = dgh.reshape(T * B, G)
    x2 = x.reshape(T * B, I)
    tmp_ih = np.empty((G, I), dtype=dt)
    np.dot(gi2.T, x2, tmp_ih)
    dw_ih += tmp_ih
    tmp_hh = np.empty((G, H), dtype=dt)
    np.dot(gh2.T, hs[rv:T + rv].reshape(T * B, H), tmp_hh)
    dw_hh += tmp_hh
    tmp_x = np.empty((T * B, I), dtype=dt)
    np.dot(gi2, w_ih, tmp_x)
    dx2 = dx.reshape(T * B, I)
    for r in range(T * B):
        for j in range(I):
            dx2[r, j] += tmp_x[r, j]
    for r in range(T * B):
        for j in range(G):
            db_ih[j] += gi2[r, j]
            db_hh[j] += gh2[r, j]
    if cell == PEEPHOLE:
        for t in range(T):
            ib = t + rv
            ia = t + 1 - rv
            for b in range(B):
                for j in range(H):
                    dpeep[0, j] += acts[t, b, j] * cs[ib, b, j]
                    dpeep[1, j] += acts[t, b, H + j] * cs[ib, b, j]
                    dpeep[2, j] += acts[t, b, 3 * H + j] * cs[ia, b, j]


# ------------------------------------------------------------------ per-cell entry points
# The skeleton asks for its cell code as a literal (``numba.literally``), so Numba prunes the
# branches of the other cells and a user pays the compile time of one cell only.  Called from
# Python with a plain int, ``literally`` would re-dispatch at every call (40 ms) and miss the
# cache; called from these jitted wrappers with a constant, it is resolved once, at compile time.
@jit
def _forward_lstm(reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux, out, col,
                  rec_slot, hs, cs, hn, cn):
    layer_forward(LSTM, reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux, out,
                  col, rec_slot, hs, cs, hn, cn)


@jit
def _forward_peephole(reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux, out,
                      col, rec_slot, hs, cs, hn, cn):
    layer_forward(PEEPHOLE, reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux,
                  out, col, rec_slot, hs, cs, hn, cn)


@jit
def _forward_cifg(reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux, out, col,
                  rec_slot, hs, cs, hn, cn):
    layer_forward(CIFG, reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux, out,
                  col, rec_slot, hs, cs, hn, cn)


@jit
def _forward_gru(reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux, out, col,
                 rec_slot, hs, cs, hn, cn):
    layer_forward(GRU, reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux, out,
                  col, rec_slot, hs, cs, hn, cn)


@jit
def _forward_rnn(reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux, out, col,
                 rec_slot, hs, cs, hn, cn):
    layer_forward(RNN, reverse, x, w_ih, w_hh, b_ih, b_hh, peep, h0, c0, lengths, acts, aux, out,
                  col, rec_slot, hs, cs, hn, cn)


@jit
def _backward_lstm(reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout, col, dgh,
                   dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, record_dh, dhs):
    layer_backward(LSTM, reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout, col,
                   dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, record_dh, dhs)


@jit
def _backward_peephole(reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout, col,
                       dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, record_dh, dhs):
    layer_backward(PEEPHOLE, reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout,
                   col, dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, record_dh, dhs)


@jit
def _backward_cifg(reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout, col, dgh,
                   dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, record_dh, dhs):
    layer_backward(CIFG, reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout, col,
                   dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, record_dh, dhs)


@jit
def _backward_gru(reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout, col, dgh,
                  dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, record_dh, dhs):
    layer_backward(GRU, reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout, col,
                   dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, record_dh, dhs)


@jit
def _backward_rnn(reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout, col, dgh,
                  dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, record_dh, dhs):
    layer_backward(RNN, reverse, x, w_ih, w_hh, b_hh, peep, lengths, acts, aux, hs, cs, dout, col,
                   dgh, dx, dw_ih, dw_hh, db_ih, db_hh, dpeep, record_dh, dhs)


#: ``FORWARD[cell](reverse, x, ...)``: ``layer_forward`` with the cell fixed.
FORWARD = {"lstm": _forward_lstm, "peephole": _forward_peephole, "cifg": _forward_cifg,
           "gru": _forward_gru, "rnn": _forward_rnn}
#: ``BACKWARD[cell](reverse, x, ...)``: ``layer_backward`` with the cell fixed.
BACKWARD = {"lstm": _backward_lstm, "peephole": _backward_peephole, "cifg": _backward_cifg,
            "gru": _backward_gru, "rnn": _backward_rnn}
