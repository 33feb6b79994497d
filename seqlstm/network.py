"""RecurrentNetwork: a stack of recurrent layers with a flat parameter vector.

The network owns the parameters (one flat vector with named views, PyTorch's names and layouts)
and drives the Numba kernels layer by layer and direction by direction.  It knows nothing of
xarray or estimators: inputs are NumPy arrays ``(sample, time, feature)``.
"""

from collections import OrderedDict

import threading

import numpy as np

from ._threads import run_parallel, single_threaded_blas, work_units
from .kernels import dense as _dense
from .kernels import losses as _losses
from .kernels import padding as _padding
from .kernels import recurrent as _rec

CELLS = tuple(_rec.CELL_CODES)
LOSSES = ("mse", "gaussian", "cross_entropy")
#: Smallest variance of the Gaussian head.
MIN_VARIANCE = 1e-6
_TORCH_CELLS = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}


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
        if cell not in _rec.CELL_CODES:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
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
        self.params = np.zeros(sum(int(np.prod(s)) for s in self.shapes.values()), self.dtype)
        self._views = self._named_views(self.params)
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

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_lock", None)
        state["_ws"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()
        # the views must point into this object's own flat vector
        self._views = self._named_views(self.params)

    # ------------------------------------------------------------------ parameters
    @property
    def num_directions(self):
        """1, or 2 when bidirectional."""
        return 2 if self.bidirectional else 1

    @property
    def has_cell_state(self):
        """Whether the cell carries a cell state ``c`` besides ``h``."""
        return _rec.HAS_CELL_STATE[self.cell]

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
        G = _rec.GATE_BLOCKS[self.cell] * H
        shapes = OrderedDict()
        for k in range(self.num_layers):
            n_in = self.input_size if k == 0 else self.features_out
            for s in self._suffixes():
                shapes[f"weight_ih_l{k}{s}"] = (G, n_in)
                shapes[f"weight_hh_l{k}{s}"] = (G, H)
                shapes[f"bias_ih_l{k}{s}"] = (G,)
                shapes[f"bias_hh_l{k}{s}"] = (G,)
                if self.cell == "peephole":
                    shapes[f"peephole_l{k}{s}"] = (3, H)
        if self.output_size is not None:
            shapes["head_weight"] = (self.output_size, self.features_out)
            shapes["head_bias"] = (self.output_size,)
        return shapes

    def _named_views(self, flat):
        """Views of a flat vector laid out like ``params``, keyed by parameter name."""
        views = OrderedDict()
        offset = 0
        for name, shape in self.shapes.items():
            size = int(np.prod(shape))
            views[name] = flat[offset:offset + size].reshape(shape)
            offset += size
        return views

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
        nb = _rec.GATE_BLOCKS[self.cell]
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
                if self.cell in ("lstm", "peephole"):
                    b[H:2 * H] = 1.0
                elif self.cell == "cifg":
                    b[:H] = -1.0
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
        s = ("", "_reverse")[d]
        v = self._views
        if self.cell == "peephole":
            peep = v[f"peephole_l{k}{s}"]
        else:
            peep = np.zeros((3, 1), self.dtype)
        return (v[f"weight_ih_l{k}{s}"], v[f"weight_hh_l{k}{s}"], v[f"bias_ih_l{k}{s}"],
                v[f"bias_hh_l{k}{s}"], peep)

    # ------------------------------------------------------------------ input handling
    def _prepare(self, X, lengths=None):
        """Validate ``X`` (sample, time, feature), return time-major zero-padded copy, lengths."""
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError(f"X must be 3-D (sample, time, feature), got {X.ndim}-D "
                             f"shape {X.shape}")
        if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
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
        mask = np.arange(T)[:, None] < lengths[None, :]               # (T, B)
        return x, lengths, mask

    def _chunks(self, B):
        """Fixed split of the batch into sub-batches run on separate threads."""
        n = work_units(B, 8)
        return [((k * B) // n, ((k + 1) * B) // n) for k in range(n)]

    def _run(self, func, B):
        """Run ``func(k, b0, b1)`` for every sub-batch (threads, single-threaded BLAS, and the
        network's lock so concurrent callers do not share workspaces)."""
        chunks = self._chunks(B)
        with self._lock, single_threaded_blas():
            return run_parallel(lambda k: func(k, *chunks[k]), len(chunks))

    # ------------------------------------------------------------------ the stack
    def _forward_stack(self, x, lengths, store, h0=None, c0=None, rec=None, dropout_masks=None,
                       tag=(0, "full")):
        """Run all layers on one (sub-)batch.  Returns (layers, top output)."""
        T, B, _ = x.shape
        H = self.hidden_size
        D = self.num_directions
        fwd = _rec.FORWARD[self.cell]
        G = _rec.GATE_BLOCKS[self.cell] * H
        layers = []
        inp = x
        dummy3 = np.zeros((1, 1, 1), self.dtype)
        for k in range(self.num_layers):
            out = self._buf(tag + ("out", k), (T, B, H * D))
            dirs = []
            for d in range(D):
                w_ih, w_hh, b_ih, b_hh, peep = self._layer_params(k, d)
                idx = k * D + d
                hi = np.zeros((B, H), self.dtype) if h0 is None else h0[idx]
                ci = np.zeros((B, H), self.dtype) if c0 is None else c0[idx]
                acts = self._buf(tag + ("acts", k, d), (T, B, G))
                aux = self._buf(tag + ("aux", k, d), (T, B, H)) if self.cell == "gru" else dummy3
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
                    hs = self._buf(tag + ("hs", k, d), (n_slots, B, H))
                    cs = (self._buf(tag + ("cs", k, d), (n_slots, B, H)) if self.has_cell_state
                          else dummy3)
                else:
                    rec_slot = np.full(T + 1, -1, np.int64)
                    hs = cs = dummy3
                hn = np.empty((B, H), self.dtype)
                cn = np.empty((B, H), self.dtype)
                fwd(d == 1, inp, w_ih, w_hh, b_ih, b_hh, peep, hi, ci, lengths, acts, aux, out,
                    d * H, rec_slot, hs, cs, hn, cn)
                dirs.append(dict(acts=acts, aux=aux, hs=hs, cs=cs, hn=hn, cn=cn))
            layers.append(dict(x=inp, dirs=dirs))
            if dropout_masks is not None and k < self.num_layers - 1:
                out = np.multiply(out, dropout_masks[k], out=self._buf(tag + ("drop", k),
                                                                       out.shape))
            inp = out
        return layers, inp

    def _backward_stack(self, layers, lengths, dout, grads, hidden_grads=None, tag=(0,),
                        need_dx=True):
        """Backpropagate ``dout`` (T, B, H*D) through the stored stack; returns dX (T, B, I)
        (meaningless when ``need_dx`` is false).

        When ``hidden_grads`` is a list, the gradient with respect to every layer's and
        direction's hidden state at every step, (T, B, H) each, is appended to it."""
        H = self.hidden_size
        D = self.num_directions
        bwd = _rec.BACKWARD[self.cell]
        T, B, _ = dout.shape
        for k in range(self.num_layers - 1, -1, -1):
            lay = layers[k]
            dx = self._buf(tag + ("dx", k), lay["x"].shape, zero=need_dx or k > 0)
            for d in range(D):
                s = ("", "_reverse")[d]
                w_ih, w_hh, b_ih, b_hh, peep = self._layer_params(k, d)
                c = lay["dirs"][d]
                dgh = (self._buf(tag + ("dgh",), c["acts"].shape) if self.cell == "gru"
                       else c["acts"])
                dpeep = grads.get(f"peephole_l{k}{s}", np.zeros((3, 1), self.dtype))
                record = hidden_grads is not None
                dhs = np.zeros((T, B, H) if record else (1, 1, 1), self.dtype)
                if record:
                    hidden_grads.append(((k, d), dhs))
                bwd(d == 1, lay["x"], w_ih, w_hh, b_hh, peep, lengths, c["acts"], c["aux"],
                    c["hs"], c["cs"], dout, d * H, dgh, dx, grads[f"weight_ih_l{k}{s}"],
                    grads[f"weight_hh_l{k}{s}"], grads[f"bias_ih_l{k}{s}"],
                    grads[f"bias_hh_l{k}{s}"], dpeep, need_dx or k > 0, record, dhs)
            dout = dx
            if k > 0 and lay.get("mask_in") is not None:
                dout = dout * lay["mask_in"]
        return dout

    def _zero_grads(self):
        """A zero gradient vector laid out like ``params``, and its named views."""
        flat = np.zeros(self.params.size, self.dtype)
        return flat, self._named_views(flat)

    def _full_grad(self, x, lengths, dout_fn, tbptt, grads, dropout_masks=None, unit=0,
                   need_dx=True):
        """Accumulate into ``grads`` (named views, from ``_zero_grads``) the gradient of one
        (sub-)batch given the top-layer output gradient ``dout_fn(top, layers)``; the head's
        gradient is ``dout_fn``'s business.  Returns dX (time-major), or None when ``need_dx``
        is false."""
        T, B, _ = x.shape
        if tbptt is None or (tbptt[0] >= T and tbptt[1] >= T):
            layers, top = self._forward_stack(x, lengths, store=True,
                                              dropout_masks=dropout_masks, tag=(unit, "full"))
            self._attach_masks(layers, dropout_masks)
            dout = dout_fn(top, layers)
            dx = self._backward_stack(layers, lengths, dout, grads, tag=(unit,),
                                      need_dx=need_dx)
            return dx if need_dx else None
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
            layers, top = self._forward_stack(x, lengths, store=False, rec=(fwd, rev),
                                              dropout_masks=dropout_masks, tag=(unit, "full"))
        else:
            layers, top = self._segmented_forward(x, lengths, min(k2, T), fwd, dropout_masks,
                                                     unit)
        dout_all = dout_fn(top, layers)
        dx_all = np.zeros(x.shape, self.dtype) if need_dx else None
        D = self.num_directions
        L = self.num_layers
        for w0, s0, tc in windows:
            n = tc - w0 + 1
            h0 = np.empty((L * D, B, self.hidden_size), self.dtype)
            c0 = np.zeros((L * D, B, self.hidden_size), self.dtype)
            for k in range(L):
                for d in range(D):
                    c = layers[k]["dirs"][d]
                    slot = fwd[w0] if d == 0 else rev[T - 1 - tc]
                    h0[k * D + d] = c["hs"][slot]
                    if self.has_cell_state:
                        c0[k * D + d] = c["cs"][slot]
            xw = np.ascontiguousarray(x[w0:tc + 1])
            lw = np.clip(lengths - w0, 0, n).astype(np.int64)
            masks_w = (None if dropout_masks is None
                       else [np.ascontiguousarray(m[w0:tc + 1]) for m in dropout_masks])
            wl, _ = self._forward_stack(xw, lw, store=True, h0=h0, c0=c0, dropout_masks=masks_w,
                                        tag=(unit, "window"))
            self._attach_masks(wl, masks_w)
            dw = np.zeros((n, B, self.features_out), self.dtype)
            dw[s0 - w0:] = dout_all[s0:tc + 1]
            dxw = self._backward_stack(wl, lw, dw, grads, tag=(unit,), need_dx=need_dx)
            if need_dx:
                dx_all[w0:tc + 1] += dxw
        return dx_all

    def _segmented_forward(self, x, lengths, seg, rec_slot, dropout_masks, unit):
        """Forward pass of a unidirectional stack in segments of ``seg`` steps, all layers per
        segment, carrying the states: the gate activations held at any time are O(seg), not
        O(T).  Records the states before the steps marked in ``rec_slot``; returns the same
        ``(layers, top)`` structure as ``_forward_stack`` (without activations)."""
        T, B, _ = x.shape
        H = self.hidden_size
        L = self.num_layers
        fwd = _rec.FORWARD[self.cell]
        G = _rec.GATE_BLOCKS[self.cell] * H
        n_slots = max(1, int(rec_slot.max()) + 1)
        dummy3 = np.zeros((1, 1, 1), self.dtype)
        hs = [np.empty((n_slots, B, H), self.dtype) for _ in range(L)]
        cs = [np.empty((n_slots, B, H), self.dtype) if self.has_cell_state else dummy3
              for _ in range(L)]
        hn = [np.zeros((B, H), self.dtype) for _ in range(L)]
        cn = [np.zeros((B, H), self.dtype) for _ in range(L)]
        top = np.empty((T, B, H), self.dtype)
        aux = self._buf((unit, "seg", "aux"), (seg, B, H)) if self.cell == "gru" else dummy3
        for s0 in range(0, T, seg):
            s1 = min(T, s0 + seg)
            n = s1 - s0
            inp = np.ascontiguousarray(x[s0:s1])
            ls = np.clip(lengths - s0, 0, n).astype(np.int64)
            local = np.ascontiguousarray(rec_slot[s0:s1 + 1])
            for k in range(L):
                w_ih, w_hh, b_ih, b_hh, peep = self._layer_params(k, 0)
                acts = self._buf((unit, "seg", "acts"), (seg, B, G))[:n]
                out = self._buf((unit, "seg", "out", k), (seg, B, H))[:n]
                h_new = np.empty((B, H), self.dtype)
                c_new = np.empty((B, H), self.dtype)
                fwd(False, inp, w_ih, w_hh, b_ih, b_hh, peep, hn[k], cn[k], ls, acts, aux[:n],
                    out, 0, local, hs[k], cs[k], h_new, c_new)
                hn[k], cn[k] = h_new, c_new
                if dropout_masks is not None and k < L - 1:
                    out = out * dropout_masks[k][s0:s1]
                inp = out
            top[s0:s1] = inp
        layers = [dict(x=None, dirs=[dict(hs=hs[k], cs=cs[k], hn=hn[k], cn=cn[k])])
                  for k in range(L)]
        return layers, top

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
        x, lengths, mask = self._prepare(X, lengths)
        T, B, _ = x.shape
        h0, c0 = self._initial_state(initial_state, B)
        n_out = self.features_out if self.output_size is None else self.output_size
        out = np.empty((B, T, n_out), self.dtype)
        n_state = self.num_layers * self.num_directions
        hn = np.empty((n_state, B, self.hidden_size), self.dtype)
        cn = np.empty_like(hn)

        def run(k, b0, b1):
            layers, top = self._forward_stack(
                np.ascontiguousarray(x[:, b0:b1]), lengths[b0:b1], store=False,
                h0=None if h0 is None else np.ascontiguousarray(h0[:, b0:b1]),
                c0=None if c0 is None else np.ascontiguousarray(c0[:, b0:b1]), tag=(k, "full"))
            out[b0:b1] = np.swapaxes(self._apply_head(top), 0, 1)
            i = 0
            for lay in layers:
                for c in lay["dirs"]:
                    hn[i, b0:b1] = c["hn"]
                    cn[i, b0:b1] = c["cn"]
                    i += 1

        self._run(run, B)
        out[~mask.T] = np.nan
        if not return_state:
            return out
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

        def run(k, b0, b1):
            layers, _ = self._forward_stack(np.ascontiguousarray(x[:, b0:b1]), lengths[b0:b1],
                                            store=False, tag=(k, "full"))
            out[b0:b1] = self._apply_head(self._summary(layers))

        self._run(run, B)
        return out

    def _summary(self, layers):
        return np.ascontiguousarray(np.concatenate([c["hn"] for c in layers[-1]["dirs"]], axis=1))

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

        def run(k, b0, b1):
            gk = np.ascontiguousarray(g[:, b0:b1])
            flat, grads = self._zero_grads()

            def dout_fn(top, layers):
                if self.output_size is None:
                    return gk
                return self._head_backward(top, gk, grads)

            dx = self._full_grad(np.ascontiguousarray(x[:, b0:b1]), lengths[b0:b1], dout_fn,
                                 tbptt, grads, unit=k)
            dX[b0:b1] = np.swapaxes(dx, 0, 1)
            return flat

        return self._named_views(self._sum_grads(self._run(run, B))), dX

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

        def run(k, b0, b1):
            flat, grads = self._zero_grads()
            lk = lengths[b0:b1]
            wk = w[b0:b1]
            part = {}

            def dout_fn(top, layers):
                if per_step:
                    feats = top
                    y2 = np.ascontiguousarray(yt[:, b0:b1]).reshape(T * (b1 - b0), -1)
                    w2 = np.tile(wk, T)
                else:
                    feats = self._summary(layers)
                    y2 = np.ascontiguousarray(yt[b0:b1])
                    w2 = wk
                pred = self._apply_head(feats)
                p2 = pred.reshape(-1, O)
                grad = np.empty_like(p2)
                if loss == "gaussian":
                    part["loss"] = fn(p2, y2, w2, grad, norm, MIN_VARIANCE)
                else:
                    part["loss"] = fn(p2, y2, w2, grad, norm)
                dfeats = self._head_backward(feats, grad.reshape(pred.shape), grads)
                if per_step:
                    return dfeats
                dout = self._buf((k, "dout"), (T, b1 - b0, self.features_out), zero=True)
                idx = np.nonzero(lk > 0)[0]
                dout[lk[idx] - 1, idx, :H] = dfeats[idx, :H]
                if self.bidirectional:
                    dout[0, idx, H:] = dfeats[idx, H:]
                return dout

            masks_k = None if masks is None else [np.ascontiguousarray(m[:, b0:b1])
                                                  for m in masks]
            self._full_grad(np.ascontiguousarray(x[:, b0:b1]), lk, dout_fn, tbptt, grads,
                            dropout_masks=masks_k, unit=k, need_dx=False)
            return part["loss"], flat

        parts = self._run(run, B)
        value = 0.0
        for part_loss, _ in parts:
            value += part_loss
        return float(value), self._sum_grads([g for _, g in parts])

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
        nb = _rec.GATE_BLOCKS[self.cell]
        with self._lock, single_threaded_blas():
            layers, _ = self._forward_stack(x, lengths, store=True, tag=("trace",))
            result = []
            pad = ~mask.T                                                   # (B, T)
            for k, lay in enumerate(layers):
                for d, c in enumerate(lay["dirs"]):
                    after = slice(0, T) if d == 1 else slice(1, T + 1)
                    entry = {"layer": k, "direction": d}
                    entry["h"] = np.swapaxes(c["hs"][after], 0, 1).copy()
                    if self.has_cell_state:
                        entry["c"] = np.swapaxes(c["cs"][after], 0, 1).copy()
                    entry["gates"] = np.swapaxes(c["acts"], 0, 1).reshape(B, T, nb, H).copy()
                    for a in entry.values():
                        if isinstance(a, np.ndarray):
                            a[pad] = np.nan
                    result.append(entry)
            self._ws = {k: v for k, v in self._ws.items() if k[0] != "trace"}
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
        with self._lock, single_threaded_blas():
            layers, top = self._forward_stack(x, lengths, store=True, tag=("trace",))
            _, grads = self._zero_grads()
            dout = g if self.output_size is None else self._head_backward(top, g, grads)
            self._backward_stack(layers, lengths, np.ascontiguousarray(dout), grads, collected,
                                 tag=("trace",))
            self._ws = {k: v for k, v in self._ws.items() if k[0] != "trace"}
        return sorted(((kd, np.swapaxes(a, 0, 1).copy()) for kd, a in collected),
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
        if kind not in _TORCH_CELLS:
            raise TypeError(f"module must be torch.nn.LSTM, GRU or RNN, got {kind}")
        if getattr(module, "proj_size", 0):
            raise ValueError("LSTM with proj_size > 0 is not supported")
        if kind == "RNN" and module.nonlinearity != "tanh":
            raise ValueError(f"only the tanh RNN is supported, got {module.nonlinearity!r}")
        state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
        dtype = next(iter(state.values())).dtype
        net = cls(module.input_size, module.hidden_size, module.num_layers, _TORCH_CELLS[kind],
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
        if self.cell not in ("lstm", "gru", "rnn"):
            raise ValueError(f"cell {self.cell!r} has no PyTorch equivalent")
        import torch

        return OrderedDict((n, torch.from_numpy(v.copy())) for n, v in self._views.items()
                           if not n.startswith("head_"))

    def __repr__(self):
        return (f"RecurrentNetwork(input_size={self.input_size}, hidden_size={self.hidden_size}, "
                f"num_layers={self.num_layers}, cell={self.cell!r}, "
                f"bidirectional={self.bidirectional}, output_size={self.output_size}, "
                f"dtype={self.dtype.name!r})")
