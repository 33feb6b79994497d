"""RecurrentNetwork: a stack of recurrent layers with a flat parameter vector.

The network owns the parameters (one flat vector with named views, PyTorch's names and layouts)
and drives the Numba kernels layer by layer and direction by direction.  It knows nothing of
xarray or estimators: inputs are NumPy arrays ``(sample, time, feature)``.
"""

import threading
from collections import OrderedDict

import numpy as np

from ._threads import computing, serial_kernels, work_units
from .kernels import dense as _dense
from .kernels import losses as _losses
from .kernels import padding as _padding
from .cells import CELL_NAMES, from_torch_name, get_cell
from .cells import CELLS as CELLS_BY_NAME
from .kernels import recurrent as _rec

CELLS = CELL_NAMES
LOSSES = ("mse", "gaussian", "cross_entropy")
#: Smallest variance of the Gaussian head.
MIN_VARIANCE = 1e-6


def _check_positive_int(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def parse_tbptt(tbptt):
    """Normalise ``tbptt`` to ``None`` or a tuple ``(k1, k2)`` with ``k2 >= k1 >= 1``.

    Parameters
    ----------
    tbptt : None, int or tuple of two ints

    Returns
    -------
    None or tuple of int
    """
    if tbptt is None:
        return None
    if isinstance(tbptt, (int, np.integer)) and not isinstance(tbptt, (bool, np.bool_)):
        k1 = k2 = tbptt
    else:
        try:
            k1, k2 = tbptt
        except (TypeError, ValueError):
            raise ValueError(
                f"tbptt must be None, an int k or a pair (k1, k2), got {tbptt!r}") from None
    k1 = _check_positive_int(k1, "tbptt k1")
    k2 = _check_positive_int(k2, "tbptt k2")
    if k2 < k1:
        raise ValueError(f"tbptt=(k1, k2) needs k2 >= k1, got k1={k1}, k2={k2}")
    return k1, k2


def tbptt_windows(T, k1, k2):
    """Windows of TBPTT(k1, k2) over ``T`` steps.

    Returns
    -------
    list of tuple
        ``(w0, s0, tc)``: the window runs over steps ``w0..tc`` and injects the errors of steps
        ``s0..tc``; checkpoints every ``k1`` steps and at the last step.
    """
    checkpoints = list(range(k1 - 1, T, k1))
    if not checkpoints or checkpoints[-1] != T - 1:
        checkpoints.append(T - 1)
    windows = []
    previous = -1
    for tc in checkpoints:
        windows.append((max(0, tc - k2 + 1), previous + 1, tc))
        previous = tc
    return windows


class RecurrentNetwork:
    """A stack of recurrent layers (optionally bidirectional) with an optional linear head.

    Parameters
    ----------
    input_size : int
        Number of input features.
    hidden_size : int
        Number of hidden units per layer and direction.
    num_layers : int, default 1
    cell : {"lstm", "peephole", "cifg", "gru", "rnn"}, default "lstm"
    bidirectional : bool, default False
    output_size : int or None, default None
        Size of a linear head applied to the outputs (``head_weight``, ``head_bias``).
    dtype : {"float32", "float64"}, default "float32"
    random_state : None, int or numpy Generator
        Seed of the initialisation: Glorot-uniform input weights and orthogonal recurrent
        weights per gate block, zero biases except forget-gate bias 1 (for ``"cifg"``, whose
        forget gate is ``1 - i``, the input-gate bias is -1), zero peepholes.

    Attributes
    ----------
    params : ndarray
        All parameters in one flat vector; ``named_parameters()`` gives writable views.
    shapes : OrderedDict
        Parameter name -> shape, in flat-vector order.

    Notes
    -----
    Inputs ``X`` are ``(sample, time, feature)``.  A sequence shorter than ``T`` is given by
    ``lengths`` or by NaN padding at its end (a step whose features are all NaN); padded steps
    leave the state unchanged, produce NaN outputs and receive no gradient.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, cell="lstm", bidirectional=False,
                 output_size=None, dtype="float32", random_state=None):
        self.input_size = _check_positive_int(input_size, "input_size")
        self.hidden_size = _check_positive_int(hidden_size, "hidden_size")
        self.num_layers = _check_positive_int(num_layers, "num_layers")
        get_cell(cell)
        self.cell = cell
        self.bidirectional = bool(bidirectional)
        self.output_size = (None if output_size is None
                            else _check_positive_int(output_size, "output_size"))
        if str(np.dtype(dtype)) not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = np.dtype(dtype)
        self._lock = threading.Lock()
        self._ws = {}
        self.shapes = self._param_shapes()
        self._layout = []               # (name, start, stop, shape) of each parameter
        offset = 0
        for name, shape in self.shapes.items():
            size = int(np.prod(shape))
            self._layout.append((name, offset, offset + size, shape))
            offset += size
        self.params = np.zeros(offset, self.dtype)
        self._set_views()
        self.init_params(random_state)

    # ------------------------------------------------------------------ workspaces
    def _buf(self, key, shape, zero=False):
        """A reusable work array for ``key`` (keys name the sub-batch, so threads never share
        one): large activations are not allocated and page-faulted again at every call.
        Never returned to users."""
        a = self._ws.get(key)
        if a is None or a.shape != shape:
            a = self._ws[key] = np.empty(shape, self.dtype)
        if zero:
            a.fill(0)
        return a

    def _bufs(self, key, shapes, zero=False):
        """One reusable work array per sub-batch (``shapes``: one shape each), as a tuple; one
        dictionary lookup per tuple.  ``zero``: filled with zeros when allocated, for arrays the
        kernels only read (zero initial states)."""
        hit = self._ws.get(key)
        if hit is None or hit[0] != shapes:
            arrays = tuple((np.zeros if zero else np.empty)(shape, self.dtype) for shape in shapes)
            hit = self._ws[key] = (shapes, arrays)
        return hit[1]

    def _no_slots(self, T):
        """``rec_slot`` recording no state, for ``T`` steps (read only by the kernels)."""
        a = self._ws.get(("no_slots", T))
        if a is None:
            a = self._ws["no_slots", T] = np.full(T + 1, -1, np.int64)
        return a

    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("_lock", "_views", "_layer_tuples"):     # rebuilt by __setstate__
            state.pop(key, None)
        state["_ws"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()
        # the views must point into this object's own flat vector
        self._set_views()

    # ------------------------------------------------------------------ parameters
    @property
    def num_directions(self):
        """1, or 2 when bidirectional."""
        return 2 if self.bidirectional else 1

    @property
    def _spec(self):
        """The cell's facts (``seqlstm.cells``)."""
        return CELLS_BY_NAME[self.cell]

    @property
    def has_cell_state(self):
        """Whether the cell carries a cell state ``c`` besides ``h``."""
        return self._spec.has_cell_state

    @property
    def features_out(self):
        """Size of the last layer's per-step output (hidden_size * directions)."""
        return self.hidden_size * self.num_directions

    @property
    def n_params(self):
        """Total number of parameters."""
        return self.params.size

    def _suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def _param_shapes(self):
        H = self.hidden_size
        G = self._spec.n_gates * H
        shapes = OrderedDict()
        for k in range(self.num_layers):
            n_in = self.input_size if k == 0 else self.features_out
            for s in self._suffixes():
                shapes[f"weight_ih_l{k}{s}"] = (G, n_in)
                shapes[f"weight_hh_l{k}{s}"] = (G, H)
                shapes[f"bias_ih_l{k}{s}"] = (G,)
                shapes[f"bias_hh_l{k}{s}"] = (G,)
                for prefix, rows in self._spec.extra_params:
                    shapes[f"{prefix}_l{k}{s}"] = (rows, H)
        if self.output_size is not None:
            shapes["head_weight"] = (self.output_size, self.features_out)
            shapes["head_bias"] = (self.output_size,)
        return shapes

    def _set_views(self):
        """Named views of ``params`` and, per (layer, direction), the kernels' parameter tuple
        ``(w_ih, w_hh, b_ih, b_hh, peep)`` (a zero ``peep`` for cells without peepholes)."""
        v = self._views = self._named_views(self.params)
        no_peep = np.zeros((3, 1), self.dtype)
        self._layer_tuples = {}
        for k in range(self.num_layers):
            for d, s in enumerate(self._suffixes()):
                self._layer_tuples[k, d] = (
                    v[f"weight_ih_l{k}{s}"], v[f"weight_hh_l{k}{s}"], v[f"bias_ih_l{k}{s}"],
                    v[f"bias_hh_l{k}{s}"], v.get(f"peephole_l{k}{s}", no_peep))

    def _named_views(self, flat):
        """Views of a flat vector laid out like ``params``, keyed by parameter name."""
        return OrderedDict((name, flat[start:stop].reshape(shape))
                           for name, start, stop, shape in self._layout)

    def named_parameters(self):
        """Writable views of the flat vector, keyed by parameter name.

        Returns
        -------
        OrderedDict of str -> ndarray
        """
        return OrderedDict(self._views)

    def init_params(self, random_state=None):
        """(Re)initialise every parameter in place; see the class docstring for the scheme."""
        rng = np.random.default_rng(random_state)
        H = self.hidden_size
        nb = self._spec.n_gates
        values = {}
        for name, shape in self.shapes.items():
            if name.startswith("weight_ih") or name == "head_weight":
                fan_out = H if name.startswith("weight_ih") else shape[0]
                rows = H if name.startswith("weight_ih") else shape[0]
                limit = np.sqrt(6.0 / (shape[1] + fan_out))
                w = rng.uniform(-limit, limit, size=shape)
                values[name] = w
                assert w.shape[0] % rows == 0
            elif name.startswith("weight_hh"):
                blocks = []
                for _ in range(nb):
                    q, r = np.linalg.qr(rng.standard_normal((H, H)))
                    blocks.append(q * np.sign(np.diag(r)))
                values[name] = np.concatenate(blocks, axis=0)
            elif name.startswith("bias_ih"):
                b = np.zeros(shape)
                for block, value in self._spec.gate_biases:
                    b[block * H:(block + 1) * H] = value
                values[name] = b
            else:
                values[name] = np.zeros(shape)
        for name, view in self._views.items():
            view[...] = values[name]
        return self

    def get_flat(self):
        """A copy of the flat parameter vector."""
        return self.params.copy()

    def set_flat(self, values):
        """Copy ``values`` into the flat parameter vector (shape and finiteness checked)."""
        values = np.asarray(values)
        if values.shape != self.params.shape:
            raise ValueError(f"values must have shape {self.params.shape}, got {values.shape}")
        self.params[:] = values
        return self

    def flatten_grads(self, grads):
        """Pack a dict of gradients keyed like the parameters into one flat vector."""
        return np.concatenate([np.asarray(grads[n], self.dtype).ravel() for n in self.shapes])

    def _layer_params(self, k, d):
        return self._layer_tuples[k, d]

    # ------------------------------------------------------------------ input handling
    def _prepare(self, X, lengths=None, mask=True):
        """Validate ``X`` (sample, time, feature), return time-major zero-padded copy, lengths
        and the (time, sample) mask of valid steps (None unless ``mask``)."""
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError(f"X must be 3-D (sample, time, feature), got {X.ndim}-D "
                             f"shape {X.shape}")
        if X.dtype.kind not in "iuf":            # real numbers (not bool, complex, object)
            raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
        B, T, n_in = X.shape
        if n_in != self.input_size:
            raise ValueError(f"X has {n_in} features, but the network expects "
                             f"{self.input_size} (input_size)")
        if B == 0 or T == 0:
            raise ValueError(f"X must have at least one sample and one time step, got {X.shape}")
        if lengths is not None:
            lengths = np.asarray(lengths)
            if lengths.shape != (B,) or not np.issubdtype(lengths.dtype, np.integer):
                raise ValueError(f"lengths must be an integer array of shape ({B},), got "
                                 f"shape {lengths.shape} dtype {lengths.dtype}")
            if lengths.min() < 0 or lengths.max() > T:
                raise ValueError(f"lengths must lie in [0, {T}], got range "
                                 f"[{lengths.min()}, {lengths.max()}]")
            given, lengths = True, lengths.astype(np.int64)
        else:
            given, lengths = False, np.empty(B, np.int64)
        x = np.empty((T, B, n_in), self.dtype)
        t, b, f = _padding.time_major_padded(np.ascontiguousarray(X, dtype=self.dtype), given,
                                             lengths, x)
        if t >= 0:
            raise ValueError(f"X has a non-finite value ({X[b, t, f]}) at sample {b}, time {t}, "
                             f"feature {f} inside the sequence (only whole steps of NaN at the "
                             "end of a sequence are padding)")
        valid = np.arange(T)[:, None] < lengths[None, :] if mask else None     # (T, B)
        return x, lengths, valid

    def _chunks(self, B):
        """Fixed split of the batch into sub-batches (run concurrently by the kernels)."""
        hit = self._ws.get("chunks")
        if hit is None or hit[0] != B:
            n = work_units(B, 8)
            hit = self._ws["chunks"] = (B, tuple(((k * B) // n, ((k + 1) * B) // n)
                                                 for k in range(n)))
        return hit[1]

    @staticmethod
    def _split(a, chunks):
        """Contiguous per-sub-batch copies of ``a`` along its axis 1 (samples)."""
        return tuple(np.ascontiguousarray(a[:, b0:b1]) for b0, b1 in chunks)

    @staticmethod
    def _lens(lengths, chunks):
        """Per-sub-batch views of the sequence lengths."""
        return tuple(lengths[b0:b1] for b0, b1 in chunks)

    def _kernel(self, backward=False):
        """The cell's forward (or backward) entry point: all sub-batches on Numba's threads, or
        one after the other in a fork()ed child."""
        if serial_kernels():
            table = _rec.BACKWARD_SERIAL if backward else _rec.FORWARD_SERIAL
        else:
            table = _rec.BACKWARD if backward else _rec.FORWARD
        return table[self.cell]

    def _computing(self):
        """Kernel calls and their workspaces: the network's lock (concurrent callers do not
        share workspaces), single-threaded BLAS inside the kernels, and seqlstm's thread count
        for Numba's threads (``seqlstm._threads.computing``)."""
        return computing(self._lock)

    # ------------------------------------------------------------------ the stack
    # Every per-sample quantity is a tuple with one array per sub-batch: each kernel call covers
    # all sub-batches at once, on Numba's threads.
    def _forward_stack(self, xs, lens, store, h0s=None, c0s=None, rec=None, dropout_masks=None,
                       tag="full", top_out=None):
        """Run all layers on the sub-batches ``xs`` (tuple of (T, b, I)).

        ``dropout_masks`` is a list over layers but the last of per-sub-batch tuples.
        ``top_out`` (per sub-batch, (b, T, H*D), batch-major) receives the top layer's outputs
        directly.  Returns (layers, top outputs)."""
        T = xs[0].shape[0]
        bs = [x.shape[1] for x in xs]
        H = self.hidden_size
        D = self.num_directions
        fwd = self._kernel()
        G = self._spec.n_gates * H
        dt = self.dtype
        dummy = self._bufs("dummy", ((1, 1, 1),) * len(bs))
        zeros = self._bufs("zeros", tuple((b, H) for b in bs), zero=True)   # read only
        layers = []
        inp = xs
        for k in range(self.num_layers):
            top_bm = top_out is not None and k == self.num_layers - 1
            outs = (top_out if top_bm else
                    self._bufs((tag, "out", k), tuple((T, b, H * D) for b in bs)))
            dirs = []
            for d in range(D):
                w_ih, w_hh, b_ih, b_hh, peep = self._layer_params(k, d)
                idx = k * D + d
                his = zeros if h0s is None else tuple(h[idx] for h in h0s)
                cis = zeros if c0s is None else tuple(c0[idx] for c0 in c0s)
                # gate activations of every step for a backward pass, else a buffer for the
                # input projection of a few steps at a time
                n_acts = T if store else min(T, _rec.PROJECTION_STEPS)
                acts = self._bufs((tag, "acts", k, d), tuple((n_acts, b, G) for b in bs))
                aux = (self._bufs((tag, "aux", k, d), tuple((T, b, H) for b in bs))
                       if self.cell == "gru" else dummy)
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
                    hs = self._bufs((tag, "hs", k, d), tuple((n_slots, b, H) for b in bs))
                    cs = (self._bufs((tag, "cs", k, d), tuple((n_slots, b, H) for b in bs))
                          if self.has_cell_state else dummy)
                else:
                    rec_slot = self._no_slots(T)
                    hs = cs = dummy
                hn = tuple(np.empty((b, H), dt) for b in bs)
                cn = tuple(np.empty((b, H), dt) for b in bs)
                fwd(d == 1, inp, w_ih, w_hh, b_ih, b_hh, peep, his, cis, lens,
                    acts, aux, outs, d * H, top_bm, rec_slot, hs, cs, hn, cn)
                dirs.append(dict(acts=acts, aux=aux, hs=hs, cs=cs, hn=hn, cn=cn))
            layers.append(dict(x=inp, dirs=dirs))
            if dropout_masks is not None and k < self.num_layers - 1:
                outs = tuple(np.multiply(o, m, out=self._buf((c, tag, "drop", k), o.shape))
                             for c, (o, m) in enumerate(zip(outs, dropout_masks[k])))
            inp = outs
        return layers, inp

    def _backward_stack(self, layers, lens, douts, grads, hidden_grads=None, tag="bwd",
                        need_dx=True):
        """Backpropagate ``douts`` (per sub-batch (T, b, H*D)) through the stored stack into
        ``grads`` (per sub-batch named views); returns the per-sub-batch dX (T, b, I)
        (meaningless when ``need_dx`` is false).

        When ``hidden_grads`` is a list, the gradient with respect to every layer's and
        direction's hidden state at every step, per sub-batch (T, b, H), is appended to it."""
        H = self.hidden_size
        D = self.num_directions
        bwd = self._kernel(backward=True)
        T = douts[0].shape[0]
        dt = self.dtype
        record = hidden_grads is not None
        for k in range(self.num_layers - 1, -1, -1):
            lay = layers[k]
            dxs = tuple(self._buf((c, tag, "dx", k), x.shape, zero=need_dx or k > 0)
                        for c, x in enumerate(lay["x"]))
            for d in range(D):
                s = ("", "_reverse")[d]
                w_ih, w_hh, b_ih, b_hh, peep = self._layer_params(k, d)
                cd = lay["dirs"][d]
                dgh = (tuple(self._buf((c, tag, "dgh"), a.shape) for c, a in enumerate(cd["acts"]))
                       if self.cell == "gru" else cd["acts"])
                dpeep = tuple(g.get(f"peephole_l{k}{s}", np.zeros((3, 1), dt)) for g in grads)
                dhs = tuple(np.zeros((T, x.shape[1], H) if record else (1, 1, 1), dt)
                            for x in lay["x"])
                if record:
                    hidden_grads.append(((k, d), dhs))
                bwd(d == 1, lay["x"], w_ih, w_hh, b_hh, peep, lens, cd["acts"],
                    cd["aux"], cd["hs"], cd["cs"], douts, d * H, dgh, dxs,
                    tuple(g[f"weight_ih_l{k}{s}"] for g in grads),
                    tuple(g[f"weight_hh_l{k}{s}"] for g in grads),
                    tuple(g[f"bias_ih_l{k}{s}"] for g in grads),
                    tuple(g[f"bias_hh_l{k}{s}"] for g in grads), dpeep, need_dx or k > 0, record,
                    dhs)
            douts = dxs
            if k > 0 and lay.get("mask_in") is not None:
                douts = tuple(dd * m for dd, m in zip(douts, lay["mask_in"]))
        return douts

    def _zero_grads(self):
        """A zero gradient vector laid out like ``params``, and its named views."""
        flat = np.zeros(self.params.size, self.dtype)
        return flat, self._named_views(flat)

    def _full_grad(self, xs, lens, dout_fn, tbptt, grads, dropout_masks=None, need_dx=True):
        """Accumulate into ``grads`` (per sub-batch named views, from ``_zero_grads``) the
        gradient given the top-layer output gradients ``dout_fn(tops, layers)`` (a tuple per
        sub-batch); the head's gradient is ``dout_fn``'s business.  Returns the per-sub-batch
        dX (time-major), or None when ``need_dx`` is false."""
        T = xs[0].shape[0]
        if tbptt is None or (tbptt[0] >= T and tbptt[1] >= T):
            layers, tops = self._forward_stack(xs, lens, store=True, dropout_masks=dropout_masks)
            self._attach_masks(layers, dropout_masks)
            douts = dout_fn(tops, layers)
            dxs = self._backward_stack(layers, lens, douts, grads, need_dx=need_dx)
            return dxs if need_dx else None
        k1, k2 = tbptt
        windows = tbptt_windows(T, k1, k2)
        starts = sorted({w0 for w0, _, _ in windows})
        ends = sorted({tc for _, _, tc in windows})
        fwd = np.full(T + 1, -1, np.int64)
        rev = np.full(T + 1, -1, np.int64)
        for i, w0 in enumerate(starts):
            fwd[w0] = i
        for i, tc in enumerate(ends):
            rev[T - 1 - tc] = i
        # full pass without stored activations, recording only the window boundary states
        if self.bidirectional:
            layers, tops = self._forward_stack(xs, lens, store=False, rec=(fwd, rev),
                                               dropout_masks=dropout_masks)
        else:
            layers, tops = self._segmented_forward(xs, lens, min(k2, T), fwd, dropout_masks)
        douts_all = dout_fn(tops, layers)
        dx_all = tuple(np.zeros(x.shape, self.dtype) for x in xs) if need_dx else None
        D = self.num_directions
        L = self.num_layers
        H = self.hidden_size
        for w0, s0, tc in windows:
            n = tc - w0 + 1
            h0s, c0s = [], []
            for c, x in enumerate(xs):
                h0 = np.empty((L * D, x.shape[1], H), self.dtype)
                c0 = np.zeros((L * D, x.shape[1], H), self.dtype)
                for k in range(L):
                    for d in range(D):
                        cd = layers[k]["dirs"][d]
                        slot = fwd[w0] if d == 0 else rev[T - 1 - tc]
                        h0[k * D + d] = cd["hs"][c][slot]
                        if self.has_cell_state:
                            c0[k * D + d] = cd["cs"][c][slot]
                h0s.append(h0)
                c0s.append(c0)
            xw = tuple(np.ascontiguousarray(x[w0:tc + 1]) for x in xs)
            lw = tuple(np.clip(ln - w0, 0, n).astype(np.int64) for ln in lens)
            masks_w = (None if dropout_masks is None
                       else [tuple(np.ascontiguousarray(m[w0:tc + 1]) for m in mk)
                             for mk in dropout_masks])
            wl, _ = self._forward_stack(xw, lw, store=True, h0s=tuple(h0s), c0s=tuple(c0s),
                                        dropout_masks=masks_w, tag="window")
            self._attach_masks(wl, masks_w)
            dws = []
            for dd in douts_all:
                dw = np.zeros((n, dd.shape[1], self.features_out), self.dtype)
                dw[s0 - w0:] = dd[s0:tc + 1]
                dws.append(dw)
            dxw = self._backward_stack(wl, lw, tuple(dws), grads, need_dx=need_dx)
            if need_dx:
                for c in range(len(xs)):
                    dx_all[c][w0:tc + 1] += dxw[c]
        return dx_all

    def _segmented_forward(self, xs, lens, seg, rec_slot, dropout_masks):
        """Forward pass of a unidirectional stack in segments of ``seg`` steps, all layers per
        segment, carrying the states: the gate activations held at any time are O(seg), not
        O(T).  Records the states before the steps marked in ``rec_slot``; returns the same
        ``(layers, tops)`` structure as ``_forward_stack`` (without activations)."""
        T = xs[0].shape[0]
        bs = [x.shape[1] for x in xs]
        H = self.hidden_size
        L = self.num_layers
        fwd = self._kernel()
        G = self._spec.n_gates * H
        dt = self.dtype
        n_slots = max(1, int(rec_slot.max()) + 1)
        dummy = tuple(np.zeros((1, 1, 1), dt) for _ in xs)
        hs = [tuple(np.empty((n_slots, b, H), dt) for b in bs) for _ in range(L)]
        cs = [tuple(np.empty((n_slots, b, H), dt) for b in bs) if self.has_cell_state else dummy
              for _ in range(L)]
        hn = [tuple(np.zeros((b, H), dt) for b in bs) for _ in range(L)]
        cn = [tuple(np.zeros((b, H), dt) for b in bs) for _ in range(L)]
        tops = tuple(np.empty((T, b, H), dt) for b in bs)
        aux = (tuple(self._buf((c, "seg", "aux"), (seg, b, H)) for c, b in enumerate(bs))
               if self.cell == "gru" else dummy)
        for s0 in range(0, T, seg):
            s1 = min(T, s0 + seg)
            n = s1 - s0
            inp = tuple(np.ascontiguousarray(x[s0:s1]) for x in xs)
            ls = tuple(np.clip(ln - s0, 0, n).astype(np.int64) for ln in lens)
            local = np.ascontiguousarray(rec_slot[s0:s1 + 1])
            aux_n = tuple(a[:n] for a in aux) if self.cell == "gru" else dummy
            for k in range(L):
                w_ih, w_hh, b_ih, b_hh, peep = self._layer_params(k, 0)
                acts = tuple(self._buf((c, "seg", "acts"), (min(n, _rec.PROJECTION_STEPS), b, G))
                             for c, b in enumerate(bs))
                outs = tuple(self._buf((c, "seg", "out", k), (seg, b, H))[:n]
                             for c, b in enumerate(bs))
                h_new = tuple(np.empty((b, H), dt) for b in bs)
                c_new = tuple(np.empty((b, H), dt) for b in bs)
                fwd(False, inp, w_ih, w_hh, b_ih, b_hh, peep, hn[k], cn[k], ls,
                    acts, aux_n, outs, 0, False, local, hs[k], cs[k], h_new, c_new)
                hn[k], cn[k] = h_new, c_new
                if dropout_masks is not None and k < L - 1:
                    outs = tuple(o * m[s0:s1] for o, m in zip(outs, dropout_masks[k]))
                inp = outs
            for top, o in zip(tops, inp):
                top[s0:s1] = o
        layers = [dict(x=None, dirs=[dict(hs=hs[k], cs=cs[k], hn=hn[k], cn=cn[k])])
                  for k in range(L)]
        return layers, tops

    @staticmethod
    def _attach_masks(layers, masks):
        if masks is None:
            return
        for k in range(1, len(layers)):
            layers[k]["mask_in"] = masks[k - 1]

    @staticmethod
    def _sum_grads(parts):
        """Add per-sub-batch flat gradient vectors in their fixed order."""
        total = parts[0]
        for part in parts[1:]:
            total += part
        return total

    # ------------------------------------------------------------------ public API
    def forward(self, X, lengths=None, initial_state=None, return_state=False):
        """Per-step outputs of the network.

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
            NaN steps at the end of a sequence are padding (unless ``lengths`` is given).
        lengths : array of int, shape (sample,), optional
        initial_state : ndarray or tuple of ndarray, optional
            ``h0`` (or ``(h0, c0)`` for LSTM-type cells), each
            ``(num_layers * directions, sample, hidden_size)`` as in PyTorch; zeros by default.
        return_state : bool, default False
            Also return the final state (``h_n`` or ``(h_n, c_n)``), taken at each sequence's
            last valid step (the reverse direction's after processing step 0).

        Returns
        -------
        outputs : ndarray, shape (sample, time, hidden_size * directions) or (..., output_size)
            NaN at padded steps.
        state : ndarray or tuple, only if ``return_state``
        """
        x, lengths, _ = self._prepare(X, lengths, mask=False)
        T, B, _ = x.shape
        h0, c0 = self._initial_state(initial_state, B)
        headless = self.output_size is None
        out = np.empty((B, T, self.features_out if headless else self.output_size), self.dtype)
        chunks = self._chunks(B)
        with self._computing():
            layers, tops = self._forward_stack(
                self._split(x, chunks), self._lens(lengths, chunks), store=False,
                h0s=None if h0 is None else self._split(h0, chunks),
                c0s=None if c0 is None else self._split(c0, chunks),
                top_out=tuple(out[b0:b1] for b0, b1 in chunks) if headless else None)
            if not headless:
                for c, (b0, b1) in enumerate(chunks):
                    out[b0:b1] = np.swapaxes(self._apply_head(tops[c]), 0, 1)
        if lengths.min() < T:
            out[np.arange(T)[None, :] >= lengths[:, None]] = np.nan
        if not return_state:
            return out
        n_state = self.num_layers * self.num_directions
        hn = np.empty((n_state, B, self.hidden_size), self.dtype)
        cn = np.empty_like(hn)
        for c, (b0, b1) in enumerate(chunks):
            i = 0
            for lay in layers:
                for cd in lay["dirs"]:
                    hn[i, b0:b1] = cd["hn"][c]
                    cn[i, b0:b1] = cd["cn"][c]
                    i += 1
        return (out, (hn, cn)) if self.has_cell_state else (out, hn)

    def forward_last(self, X, lengths=None):
        """One output per sequence: the forward direction's state at the last valid step and
        (bidirectional) the reverse direction's state after reading the whole sequence, through
        the head when there is one.

        Returns
        -------
        ndarray, shape (sample, hidden_size * directions) or (sample, output_size)
        """
        x, lengths, _ = self._prepare(X, lengths)
        B = x.shape[1]
        n_out = self.features_out if self.output_size is None else self.output_size
        out = np.empty((B, n_out), self.dtype)

        chunks = self._chunks(B)
        with self._computing():
            layers, _ = self._forward_stack(self._split(x, chunks), self._lens(lengths, chunks),
                                            store=False)
            for c, (b0, b1) in enumerate(chunks):
                out[b0:b1] = self._apply_head(self._summary(layers, c))
        return out

    @staticmethod
    def _summary(layers, c):
        """Final states of the top layer's directions, side by side, for sub-batch ``c``."""
        return np.ascontiguousarray(np.concatenate([cd["hn"][c] for cd in layers[-1]["dirs"]],
                                                   axis=1))

    def _apply_head(self, feats):
        if self.output_size is None:
            return feats
        w, b = self._views["head_weight"], self._views["head_bias"]
        shape = feats.shape
        f2 = np.ascontiguousarray(feats.reshape(-1, shape[-1]))
        out = np.empty((f2.shape[0], self.output_size), self.dtype)
        _dense.dense_forward(f2, w, b, out)
        return out.reshape(shape[:-1] + (self.output_size,))

    def _head_backward(self, feats, dy, grads):
        shape = feats.shape
        f2 = np.ascontiguousarray(feats.reshape(-1, shape[-1]))
        dy2 = np.ascontiguousarray(dy.reshape(-1, self.output_size), dtype=self.dtype)
        df = np.empty_like(f2)
        _dense.dense_backward(f2, self._views["head_weight"], dy2, df, grads["head_weight"],
                              grads["head_bias"])
        return df.reshape(shape)

    def _initial_state(self, initial_state, B):
        if initial_state is None:
            return None, None
        n = self.num_layers * self.num_directions
        shape = (n, B, self.hidden_size)
        if self.has_cell_state:
            if not (isinstance(initial_state, (tuple, list)) and len(initial_state) == 2):
                raise ValueError("initial_state must be a pair (h0, c0) for cell "
                                 f"{self.cell!r}")
            h0, c0 = initial_state
        else:
            h0, c0 = initial_state, None
        h0 = np.ascontiguousarray(h0, self.dtype)
        if h0.shape != shape:
            raise ValueError(f"initial_state h0 must have shape {shape}, got {h0.shape}")
        if c0 is not None:
            c0 = np.ascontiguousarray(c0, self.dtype)
            if c0.shape != shape:
                raise ValueError(f"initial_state c0 must have shape {shape}, got {c0.shape}")
        return h0, c0

    def _grad_outputs(self, grad_outputs, B, T, mask):
        n_out = self.features_out if self.output_size is None else self.output_size
        g = np.asarray(grad_outputs)
        if g.shape != (B, T, n_out):
            raise ValueError(f"grad_outputs must have shape {(B, T, n_out)}, got {g.shape}")
        return np.where(mask[:, :, None], np.swapaxes(g, 0, 1), 0).astype(self.dtype)

    def vjp(self, X, grad_outputs, lengths=None, tbptt=None):
        """Vector-Jacobian product of ``forward``.

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
        grad_outputs : array-like, shape like ``forward(X)``
            Gradient with respect to the per-step outputs; ignored at padded steps.
        lengths : array of int, optional
        tbptt : None, int or (k1, k2)
            Truncated BPTT (Williams & Peng): every ``k1`` steps the errors of the last ``k1``
            steps are propagated back ``k2`` steps, with the state carried over the whole
            sequence.  ``None`` is full BPTT.

        Returns
        -------
        param_grads : OrderedDict
            Keyed exactly like ``named_parameters()``.
        input_grad : ndarray, shape like ``X``
            Zero at padded steps.
        """
        tbptt = parse_tbptt(tbptt)
        x, lengths, mask = self._prepare(X, lengths)
        T, B, _ = x.shape
        g = self._grad_outputs(grad_outputs, B, T, mask)
        dX = np.empty((B, T, self.input_size), self.dtype)

        chunks = self._chunks(B)
        gs = self._split(g, chunks)
        parts = [self._zero_grads() for _ in chunks]
        grads = tuple(views for _, views in parts)

        def dout_fn(tops, layers):
            if self.output_size is None:
                return gs
            return tuple(self._head_backward(top, gk, gr) for top, gk, gr in zip(tops, gs, grads))

        with self._computing():
            dxs = self._full_grad(self._split(x, chunks), self._lens(lengths, chunks), dout_fn,
                                  tbptt, grads)
            for dx, (b0, b1) in zip(dxs, chunks):
                dX[b0:b1] = np.swapaxes(dx, 0, 1)
        return self._named_views(self._sum_grads([flat for flat, _ in parts])), dX

    def loss_and_grad(self, X, y, loss="mse", lengths=None, tbptt=None, sample_weight=None,
                      dropout=0.0, random_state=None):
        """Loss and its gradient with respect to the flat parameter vector.

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
        y : ndarray
            One target per sequence, ``(sample, n_targets)`` (``(sample,)`` of class indices for
            ``"cross_entropy"``), scored on the output of ``forward_last``; or one per step,
            ``(sample, time, n_targets)`` (``(sample, time)`` for ``"cross_entropy"``), scored
            on ``forward``.  NaN marks a missing target.
        loss : {"mse", "gaussian", "cross_entropy"}
            Weighted means over observed targets: squared error; Gaussian negative
            log-likelihood with the head giving means then raw variances
            (``var = softplus(raw) + 1e-6``); softmax cross-entropy on the head's logits.
        lengths : array of int, optional
        tbptt : None, int or (k1, k2)
        sample_weight : array of float, shape (sample,), optional
        dropout : float, default 0.0
            Inverted dropout on the outputs of every layer but the last.
        random_state : None, int or Generator
            Source of the dropout masks.

        Returns
        -------
        loss : float
        flat_grad : ndarray, shape (n_params,)
        """
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if self.output_size is None:
            raise ValueError("loss_and_grad needs a network with a head (output_size)")
        tbptt = parse_tbptt(tbptt)
        x, lengths, mask = self._prepare(X, lengths)
        T, B, _ = x.shape
        y = np.asarray(y, dtype=np.float64)
        per_step = y.ndim == (2 if loss == "cross_entropy" else 3)
        expected = self.output_size // (2 if loss == "gaussian" else 1)
        if loss == "gaussian" and self.output_size % 2:
            raise ValueError("loss='gaussian' needs an even output_size (means, variances)")
        if loss == "cross_entropy":
            ok = y.shape in ((B,), (B, T))
            y = y[..., None]
        else:
            ok = y.shape in ((B, expected), (B, T, expected))
        if not ok:
            raise ValueError(f"y has shape {y.shape}, expected (sample, [time,] targets) "
                             f"matching {B} samples, {T} steps, {expected} targets")
        w = np.ones(B) if sample_weight is None else np.asarray(sample_weight, np.float64)
        if w.shape != (B,):
            raise ValueError(f"sample_weight must have shape ({B},), got {w.shape}")
        masks = None
        if dropout and self.num_layers > 1:
            if not 0.0 <= dropout < 1.0:
                raise ValueError(f"dropout must be in [0, 1), got {dropout}")
            rng = np.random.default_rng(random_state)
            keep = 1.0 - dropout
            masks = [((rng.random((T, B, self.features_out)) < keep) / keep).astype(self.dtype)
                     for _ in range(self.num_layers - 1)]
        if per_step:                         # time-major targets, masked at padded steps
            yt = np.swapaxes(y, 0, 1).copy()
            yt[~mask] = np.nan
            norm = _losses.observed_weight(yt.reshape(T * B, -1), np.tile(w, T))
        else:
            yt = y
            norm = _losses.observed_weight(y, w)
        fn = {"mse": _losses.mse, "gaussian": _losses.gaussian_nll,
              "cross_entropy": _losses.cross_entropy}[loss]
        H = self.hidden_size
        O = self.output_size

        chunks = self._chunks(B)
        lens = self._lens(lengths, chunks)
        parts = [self._zero_grads() for _ in chunks]
        grads = tuple(views for _, views in parts)
        part_losses = [0.0] * len(chunks)

        def chunk_dout(c, top, layers):
            """Head, loss and the top layer's output gradient of sub-batch ``c``."""
            b0, b1 = chunks[c]
            lk, wk = lens[c], w[b0:b1]
            if per_step:
                feats = top
                y2 = np.ascontiguousarray(yt[:, b0:b1]).reshape(T * (b1 - b0), -1)
                w2 = np.tile(wk, T)
            else:
                feats = self._summary(layers, c)
                y2 = np.ascontiguousarray(yt[b0:b1])
                w2 = wk
            pred = self._apply_head(feats)
            p2 = pred.reshape(-1, O)
            grad = np.empty_like(p2)
            if loss == "gaussian":
                part_losses[c] = fn(p2, y2, w2, grad, norm, MIN_VARIANCE)
            else:
                part_losses[c] = fn(p2, y2, w2, grad, norm)
            dfeats = self._head_backward(feats, grad.reshape(pred.shape), grads[c])
            if per_step:
                return dfeats
            dout = self._buf((c, "dout"), (T, b1 - b0, self.features_out), zero=True)
            idx = np.nonzero(lk > 0)[0]
            dout[lk[idx] - 1, idx, :H] = dfeats[idx, :H]
            if self.bidirectional:
                dout[0, idx, H:] = dfeats[idx, H:]
            return dout

        with self._computing():
            self._full_grad(self._split(x, chunks), lens,
                            lambda tops, layers: tuple(chunk_dout(c, top, layers)
                                                       for c, top in enumerate(tops)),
                            tbptt, grads,
                            dropout_masks=(None if masks is None
                                           else [self._split(m, chunks) for m in masks]),
                            need_dx=False)
        value = 0.0
        for part_loss in part_losses:
            value += part_loss
        return float(value), self._sum_grads([flat for flat, _ in parts])

    def loss(self, X, y, loss="mse", lengths=None, sample_weight=None):
        """The loss alone (no gradient); see ``loss_and_grad``."""
        value, _ = self.loss_and_grad(X, y, loss=loss, lengths=lengths,
                                      sample_weight=sample_weight)
        return value

    def trace(self, X, lengths=None):
        """Internal activity of every layer and direction, for inspection.

        Returns
        -------
        list of dict
            One per (layer, direction) in PyTorch's order, with ``layer``, ``direction`` and
            arrays in (sample, time, ...) order, NaN at padded steps: ``h`` (hidden state
            after the step), ``c`` (cell state, cells with one), ``gates`` (activated gates,
            shape (sample, time, n_gate_blocks, hidden_size), blocks in the cell's order).
        """
        x, lengths, mask = self._prepare(X, lengths)
        T, B, _ = x.shape
        H = self.hidden_size
        nb = self._spec.n_gates
        with self._computing():    # one sub-batch: the whole batch
            layers, _ = self._forward_stack((x,), (lengths,), store=True, tag="trace")
            result = []
            pad = ~mask.T                                                   # (B, T)
            for k, lay in enumerate(layers):
                for d, c in enumerate(lay["dirs"]):
                    after = slice(0, T) if d == 1 else slice(1, T + 1)
                    entry = {"layer": k, "direction": d}
                    entry["h"] = np.swapaxes(c["hs"][0][after], 0, 1).copy()
                    if self.has_cell_state:
                        entry["c"] = np.swapaxes(c["cs"][0][after], 0, 1).copy()
                    entry["gates"] = np.swapaxes(c["acts"][0], 0, 1).reshape(B, T, nb, H).copy()
                    for a in entry.values():
                        if isinstance(a, np.ndarray):
                            a[pad] = np.nan
                    result.append(entry)
            self._ws = {k: v for k, v in self._ws.items() if k[1] != "trace"}
        return result

    def hidden_state_grads(self, X, grad_outputs, lengths=None):
        """Gradient with respect to every layer's hidden state at every step (full BPTT).

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
        grad_outputs : array-like, shape like ``forward(X)``

        Returns
        -------
        list of tuple
            ``((layer, direction), dh)`` with ``dh`` of shape (sample, time, hidden_size): the
            total derivative of ``sum(grad_outputs * outputs)`` with respect to ``h_t``
            (0 at padded steps).
        """
        x, lengths, mask = self._prepare(X, lengths)
        T, B, _ = x.shape
        g = self._grad_outputs(grad_outputs, B, T, mask)
        collected = []
        with self._computing():    # one sub-batch: the whole batch
            layers, tops = self._forward_stack((x,), (lengths,), store=True, tag="trace")
            _, grads = self._zero_grads()
            dout = g if self.output_size is None else self._head_backward(tops[0], g, grads)
            self._backward_stack(layers, (lengths,), (np.ascontiguousarray(dout),), (grads,),
                                 collected, tag="trace")
            self._ws = {k: v for k, v in self._ws.items() if k[1] != "trace"}
        return sorted(((kd, np.swapaxes(a[0], 0, 1).copy()) for kd, a in collected),
                      key=lambda e: e[0])

    # ------------------------------------------------------------------ PyTorch exchange
    @classmethod
    def from_torch(cls, module):
        """Build a network with the weights of a ``torch.nn.LSTM``, ``GRU`` or ``RNN``.

        Any ``num_layers``, ``bidirectional`` and ``batch_first`` (inputs here are always
        ``(sample, time, feature)``); float32 or float64 weights.  ``proj_size`` and the ReLU
        RNN are not supported.

        Parameters
        ----------
        module : torch.nn.LSTM, torch.nn.GRU or torch.nn.RNN

        Returns
        -------
        RecurrentNetwork
        """
        kind = type(module).__name__
        spec = from_torch_name(kind)
        if spec is None:
            raise TypeError(f"module must be torch.nn.LSTM, GRU or RNN, got {kind}")
        if getattr(module, "proj_size", 0):
            raise ValueError("LSTM with proj_size > 0 is not supported")
        if kind == "RNN" and module.nonlinearity != "tanh":
            raise ValueError(f"only the tanh RNN is supported, got {module.nonlinearity!r}")
        state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
        dtype = next(iter(state.values())).dtype
        net = cls(module.input_size, module.hidden_size, module.num_layers, spec.name,
                  module.bidirectional, dtype=str(dtype) if str(dtype) == "float64" else "float32")
        for name, view in net._views.items():
            if name in state:
                view[...] = state[name]
            else:                      # bias=False modules: zero biases
                view[...] = 0
        return net

    def to_torch_state_dict(self):
        """The recurrent weights as a PyTorch ``state_dict`` (OrderedDict of tensors) for
        ``nn.LSTM``/``GRU``/``RNN`` with the same sizes (head excluded)."""
        if self._spec.torch_name is None:
            raise ValueError(f"cell {self.cell!r} has no PyTorch equivalent")
        import torch

        return OrderedDict((n, torch.from_numpy(v.copy())) for n, v in self._views.items()
                           if not n.startswith("head_"))

    def __repr__(self):
        return (f"RecurrentNetwork(input_size={self.input_size}, hidden_size={self.hidden_size}, "
                f"num_layers={self.num_layers}, cell={self.cell!r}, "
                f"bidirectional={self.bidirectional}, output_size={self.output_size}, "
                f"dtype={self.dtype.name!r})")
