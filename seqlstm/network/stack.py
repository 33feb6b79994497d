"""The layer stack: forward and backward passes over every layer and direction.

Every per-sample quantity is a tuple with one array per sub-batch: each kernel call covers all
sub-batches at once, on Numba's threads (or one after the other in a fork()ed child, where GNU
OpenMP cannot start threads again).
"""

import numpy as np

from .._threads import serial_kernels
from ..cells import CELLS
from ..kernels import config as _config
from ..kernels import recurrent as _rec
from .layout import layer_names


def kernel(cell, backward=False):
    """The cell's forward (or backward) entry point: all sub-batches on Numba's threads, or
    one after the other in a fork()ed child."""
    if serial_kernels():
        table = _rec.BACKWARD_SERIAL if backward else _rec.FORWARD_SERIAL
    else:
        table = _rec.BACKWARD if backward else _rec.FORWARD
    return table[cell]


class Stack:
    """Forward and backward passes of a stack of recurrent layers.

    Parameters
    ----------
    cell : str
    hidden_size, num_layers, num_directions : int
    dtype : numpy dtype
    layer_params : dict
        (layer, direction) -> the kernels' parameter tuple (``layout.layer_tuples``).
    ws : Workspace
        Work arrays, reused between calls.
    """

    def __init__(self, cell, hidden_size, num_layers, num_directions, dtype, layer_params, ws):
        self.cell = cell
        self.spec = CELLS[cell]
        self.gru = cell == "gru"            # the GRU's kernels take an extra work array
        self.G = self.spec.n_gates * hidden_size
        self.H = hidden_size
        self.L = num_layers
        self.D = num_directions
        self.dtype = dtype
        self.params = layer_params
        self.ws = ws

    def forward(self, xs, lens, store, h0s=None, c0s=None, rec=None, dropout_masks=None,
                tag="full", top_out=None):
        """Run all layers on the sub-batches ``xs`` (tuple of (T, b, I)).

        ``store``: keep every step's activations and states (for a backward pass); else
        ``rec``, when given, is the pair of ``rec_slot`` arrays (forward, reverse) of the states
        to record.  ``dropout_masks`` is a list over layers but the last of per-sub-batch
        tuples.  ``top_out`` (per sub-batch, (b, T, H*D), batch-major) receives the top
        layer's outputs directly.  Returns (layers, top outputs)."""
        T = xs[0].shape[0]
        bs = [x.shape[1] for x in xs]
        H, D, G, gru, dt, ws = self.H, self.D, self.G, self.gru, self.dtype, self.ws
        fwd = kernel(self.cell)
        dummy = ws.bufs("dummy", ((1, 1, 1),) * len(bs))
        zeros = ws.bufs("zeros", tuple((b, H) for b in bs), zero=True)   # read only
        layers = []
        inp = xs
        for k in range(self.L):
            top_bm = top_out is not None and k == self.L - 1
            outs = (top_out if top_bm else
                    ws.bufs((tag, "out", k), tuple((T, b, H * D) for b in bs)))
            dirs = []
            for d in range(D):
                w_ih, w_hh, b_ih, b_hh, peep = self.params[k, d]
                idx = k * D + d
                his = zeros if h0s is None else tuple(h[idx] for h in h0s)
                cis = zeros if c0s is None else tuple(c0[idx] for c0 in c0s)
                # gate activations of every step for a backward pass, else a buffer for the
                # input projection of a few steps at a time
                n_acts = T if store else min(T, _config.PROJECTION_STEPS)
                acts = ws.bufs((tag, "acts", k, d), tuple((n_acts, b, G) for b in bs))
                aux = (ws.bufs((tag, "aux", k, d), tuple((T, b, H) for b in bs))
                       if gru else dummy)
                if store:           # every state, in natural time order
                    rec_slot = (np.arange(T, -1, -1) if d == 1 else np.arange(T + 1))
                    n_slots = T + 1
                elif rec is not None:   # only the states entering TBPTT windows
                    rec_slot = rec[d]
                    n_slots = max(1, int(rec_slot.max()) + 1)
                else:
                    rec_slot, n_slots = None, 0
                if n_slots:
                    rec_slot = rec_slot.astype(np.int64)
                    hs = ws.bufs((tag, "hs", k, d), tuple((n_slots, b, H) for b in bs))
                    cs = (ws.bufs((tag, "cs", k, d), tuple((n_slots, b, H) for b in bs))
                          if self.spec.has_cell_state else dummy)
                else:
                    rec_slot = ws.no_slots(T)
                    hs = cs = dummy
                hn = tuple(np.empty((b, H), dt) for b in bs)
                cn = tuple(np.empty((b, H), dt) for b in bs)
                fwd(d == 1, inp, w_ih, w_hh, b_ih, b_hh, peep, his, cis, lens,
                    acts, aux, outs, d * H, top_bm, rec_slot, hs, cs, hn, cn)
                dirs.append(dict(acts=acts, aux=aux, hs=hs, cs=cs, hn=hn, cn=cn))
            layers.append(dict(x=inp, dirs=dirs))
            if dropout_masks is not None and k < self.L - 1:
                outs = tuple(np.multiply(o, m, out=ws.buf((c, tag, "drop", k), o.shape))
                             for c, (o, m) in enumerate(zip(outs, dropout_masks[k])))
            inp = outs
        return layers, inp

    def backward(self, layers, lens, douts, grads, hidden_grads=None, tag="bwd", need_dx=True):
        """Backpropagate ``douts`` (per sub-batch (T, b, H*D)) through the stored stack into
        ``grads`` (per sub-batch named views); returns the per-sub-batch dX (T, b, I)
        (meaningless when ``need_dx`` is false).

        When ``hidden_grads`` is a list, the gradient with respect to every layer's and
        direction's hidden state at every step, per sub-batch (T, b, H), is appended to it."""
        H, D, ws = self.H, self.D, self.ws
        bwd = kernel(self.cell, backward=True)
        T = douts[0].shape[0]
        dt = self.dtype
        record = hidden_grads is not None
        for k in range(self.L - 1, -1, -1):
            lay = layers[k]
            dxs = tuple(ws.buf((c, tag, "dx", k), x.shape, zero=need_dx or k > 0)
                        for c, x in enumerate(lay["x"]))
            for d in range(D):
                n_ih, n_hh, nb_ih, nb_hh, n_peep = layer_names(self.cell, k, d)
                w_ih, w_hh, b_ih, b_hh, peep = self.params[k, d]
                cd = lay["dirs"][d]
                dgh = (tuple(ws.buf((c, tag, "dgh"), a.shape) for c, a in enumerate(cd["acts"]))
                       if self.gru else cd["acts"])
                dpeep = tuple(g.get(n_peep, np.zeros((3, 1), dt)) for g in grads)
                dhs = tuple(np.zeros((T, x.shape[1], H) if record else (1, 1, 1), dt)
                            for x in lay["x"])
                if record:
                    hidden_grads.append(((k, d), dhs))
                bwd(d == 1, lay["x"], w_ih, w_hh, b_hh, peep, lens, cd["acts"],
                    cd["aux"], cd["hs"], cd["cs"], douts, d * H, dgh, dxs,
                    tuple(g[n_ih] for g in grads), tuple(g[n_hh] for g in grads),
                    tuple(g[nb_ih] for g in grads), tuple(g[nb_hh] for g in grads), dpeep,
                    need_dx or k > 0, record, dhs)
            douts = dxs
            if k > 0 and lay.get("mask_in") is not None:
                douts = tuple(dd * m for dd, m in zip(douts, lay["mask_in"]))
        return douts

    def forward_summary(self, xs, lens, seg, dropout_masks=None, h0s=None, c0s=None,
                        top_sum=False):
        """Forward pass of a unidirectional stack in segments of ``seg`` steps, all layers per
        segment, carrying the states and storing nothing per step: the memory held is O(seg),
        not O(T).  For per-sequence targets read through a readout under truncated BPTT.

        Parameters
        ----------
        xs, lens : tuple
            Per sub-batch time-major inputs and lengths.
        seg : int
        dropout_masks : list of tuple, optional
            Per layer but the last, per sub-batch masks (time-major, all ``T`` steps).
        h0s, c0s : tuple of ndarray, optional
            Per sub-batch initial states ``(L, b, H)``; zeros by default.
        top_sum : bool
            Also sum the top layer's outputs over the steps (in float64, one segment at a
            time; padded steps output 0).

        Returns
        -------
        layers : list of dict
            Per layer ``dirs[0]`` with the final states ``hn``, ``cn`` (as :meth:`forward`).
        sums : tuple of ndarray (b, H) float64, or None
        """
        T = xs[0].shape[0]
        bs = [x.shape[1] for x in xs]
        H, L, G, gru, dt, ws = self.H, self.L, self.G, self.gru, self.dtype, self.ws
        fwd = kernel(self.cell)
        dummy = ws.bufs("dummy", ((1, 1, 1),) * len(bs))
        zeros = ws.bufs("zeros", tuple((b, H) for b in bs), zero=True)   # read only
        hn = [zeros if h0s is None else tuple(np.ascontiguousarray(h[k]) for h in h0s)
              for k in range(L)]
        cn = [zeros if c0s is None else tuple(np.ascontiguousarray(c[k]) for c in c0s)
              for k in range(L)]
        sums = tuple(np.zeros((b, H)) for b in bs) if top_sum else None
        for s0 in range(0, T, seg):
            s1 = min(T, s0 + seg)
            n = s1 - s0
            inp = tuple(x[s0:s1] for x in xs)
            ls = tuple(np.clip(ln - s0, 0, n).astype(np.int64) for ln in lens)
            aux = (tuple(ws.buf((c, "seg", "aux"), (seg, b, H))[:n] for c, b in enumerate(bs))
                   if gru else dummy)
            for k in range(L):
                w_ih, w_hh, b_ih, b_hh, peep = self.params[k, 0]
                acts = tuple(ws.buf((c, "seg", "acts"), (min(n, _config.PROJECTION_STEPS), b, G))
                             for c, b in enumerate(bs))
                outs = tuple(ws.buf((c, "seg", "out", k), (seg, b, H))[:n]
                             for c, b in enumerate(bs))
                h_new = tuple(np.empty((b, H), dt) for b in bs)
                c_new = tuple(np.empty((b, H), dt) for b in bs)
                fwd(False, inp, w_ih, w_hh, b_ih, b_hh, peep, hn[k], cn[k], ls,
                    acts, aux, outs, 0, False, ws.no_slots(n), dummy, dummy, h_new, c_new)
                hn[k], cn[k] = h_new, c_new
                if dropout_masks is not None and k < L - 1:
                    outs = tuple(o * m[s0:s1] for o, m in zip(outs, dropout_masks[k]))
                inp = outs
            if top_sum:
                for total, o in zip(sums, inp):
                    total += o.sum(axis=0, dtype=np.float64)
        layers = [dict(x=None, dirs=[dict(hn=hn[k], cn=cn[k])]) for k in range(L)]
        return layers, sums

    def states_at(self, layers, slot):
        """Copies of every layer's (forward direction's) recorded state at ``slot`` of a
        stored pass (the state before the pass's step ``slot``, i.e. after ``slot`` steps),
        per sub-batch ``(h, c)`` each ``(L, b, H)`` (``c`` None for cells without one)."""
        n = len(layers[0]["dirs"][0]["hs"])
        result = []
        for c in range(n):
            h = np.stack([lay["dirs"][0]["hs"][c][slot] for lay in layers])
            cs = (np.stack([lay["dirs"][0]["cs"][c][slot] for lay in layers])
                  if self.spec.has_cell_state else None)
            result.append((h, cs))
        return result

    def trace(self, layers, mask):
        """States and gate activations of a stored pass over one sub-batch (``forward`` with
        ``store``), per layer and direction, batch-major, NaN where ``mask`` (time, sample) is
        false; see :meth:`~seqlstm.RecurrentNetwork.trace`."""
        T, B = mask.shape
        pad = ~mask.T                                                   # (B, T)
        result = []
        for k, lay in enumerate(layers):
            for d, c in enumerate(lay["dirs"]):
                after = slice(0, T) if d == 1 else slice(1, T + 1)
                entry = {"layer": k, "direction": d}
                entry["h"] = np.swapaxes(c["hs"][0][after], 0, 1).copy()
                if self.spec.has_cell_state:
                    entry["c"] = np.swapaxes(c["cs"][0][after], 0, 1).copy()
                entry["gates"] = (np.swapaxes(c["acts"][0], 0, 1)
                                  .reshape(B, T, self.spec.n_gates, self.H).copy())
                for a in entry.values():
                    if isinstance(a, np.ndarray):
                        a[pad] = np.nan
                result.append(entry)
        return result


def attach_masks(layers, masks):
    """Record on each layer the dropout mask applied to its input (read by ``backward``)."""
    if masks is None:
        return
    for k in range(1, len(layers)):
        layers[k]["mask_in"] = masks[k - 1]


def summary(layers, c):
    """Final states of the top layer's directions, side by side, for sub-batch ``c``."""
    return np.ascontiguousarray(np.concatenate([cd["hn"][c] for cd in layers[-1]["dirs"]],
                                               axis=1))


def readout(layers, c, top, lengths, how, total=None):
    """One feature vector per sequence of sub-batch ``c``: the final states (``"last"``), or
    the final states and the mean of the top layer's outputs over each sequence's valid steps
    side by side (``"last+mean"``; zero mean for an empty sequence).

    Parameters
    ----------
    layers : list
    c : int
    top : ndarray (time, sub-batch, features) or None
        The top layer's outputs (time-major); not read when ``total`` is given.
    lengths : ndarray of int64 (sub-batch,)
    how : {"last", "last+mean"}
    total : ndarray (sub-batch, features) of float64, optional
        The sum of the top layer's outputs over the valid steps, when summed already
        (:meth:`Stack.forward_summary`).

    Returns
    -------
    ndarray (sub-batch, features) or (sub-batch, 2 * features)
    """
    last = summary(layers, c)
    if how == "last":
        return last
    if total is None:
        valid = (np.arange(top.shape[0])[:, None] < lengths[None, :])[..., None]
        total = np.where(valid, top, 0).sum(axis=0, dtype=np.float64)
    mean = total / np.maximum(lengths, 1)[:, None]
    return np.ascontiguousarray(np.concatenate([last, mean.astype(last.dtype)], axis=1))


def final_states(layers, chunks, shape, dtype):
    """``(h_n, c_n)`` of every layer and direction, ``shape`` (layers * directions, B, H),
    gathered from the sub-batches."""
    hn = np.empty(shape, dtype)
    cn = np.empty_like(hn)
    for c, (b0, b1) in enumerate(chunks):
        i = 0
        for lay in layers:
            for cd in lay["dirs"]:
                hn[i, b0:b1] = cd["hn"][c]
                cn[i, b0:b1] = cd["cn"][c]
                i += 1
    return hn, cn
