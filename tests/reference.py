"""Plain NumPy (float64) reference implementation of seqlstm's recurrent networks.

This module is the numerical oracle that the Numba kernels are tested against.  It is written
for clarity, not speed: explicit Python loops over samples and time steps, NumPy vector
operations only over the hidden units, and every backward pass is a hand-written loop that
mirrors its forward loop step by step (no autodiff, no finite differences).  It does not import
seqlstm.  Its own correctness is established in ``tests/test_reference.py`` against central
finite differences and against PyTorch.

Conventions
-----------
* Parameters are a dict ``name -> float64 ndarray`` with PyTorch's names and layouts; see
  :func:`param_shapes`.  For layer ``k`` and direction suffix ``s`` (``""`` forward,
  ``"_reverse"`` backward direction): ``weight_ih_l{k}{s}`` (G, I_k), ``weight_hh_l{k}{s}``
  (G, H), ``bias_ih_l{k}{s}`` (G,), ``bias_hh_l{k}{s}`` (G,), and for ``"peephole"``
  ``peephole_l{k}{s}`` (3, H) with rows p_i, p_f, p_o.  Optional linear head ``head_weight``
  (O, H*D), ``head_bias`` (O,).
* Gate blocks (row order): lstm/peephole ``i, f, g, o`` (G = 4H); cifg ``i, g, o`` (G = 3H,
  f = 1 - i); gru ``r, z, n`` (G = 3H, PyTorch's form); rnn (G = H, tanh).
* ``X`` is ``(B, T, I)`` (sample, time, feature).  ``lengths`` (B,) with ``0 <= L <= T``;
  steps ``t >= L`` are padding: the state is carried unchanged, the output is NaN, the input
  there is never read (it may be NaN), and it receives no gradient (dX is 0 there).
* Forward direction processes ``t = 0 .. T-1``; the reverse direction processes
  ``t = T-1 .. 0`` and its padded steps come first and leave its initial state unchanged.
* States use PyTorch's layout ``(num_layers * D, B, H)`` with index ``layer * D + direction``;
  ``"c"`` only for the lstm family (lstm, peephole, cifg).
* Between stacked layers, padded positions feed zeros (never NaN) into the next layer.
"""

from collections import OrderedDict

import numpy as np
from scipy.special import expit as sigmoid  # exact, never overflows

CELLS = ("lstm", "peephole", "cifg", "gru", "rnn")
LOSSES = ("mse", "mae", "gaussian", "quantile", "cross_entropy")
#: Levels of the "quantile" loss (seqlstm's default).
QUANTILES = (0.1, 0.5, 0.9)
#: Number of gate blocks (rows of W_ih / W_hh in units of H) per cell.
GATE_BLOCKS = {"lstm": 4, "peephole": 4, "cifg": 3, "gru": 3, "rnn": 1}
#: Cells that carry a cell state ``c`` in addition to ``h``.
CELL_STATE_CELLS = ("lstm", "peephole", "cifg")
#: Variance floor of the Gaussian head: var = softplus(raw) + VAR_FLOOR.
VAR_FLOOR = 1e-6

_RECURRENT_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "peephole")
_HEAD_KEYS = ("head_weight", "head_bias")


# --------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------


def has_cell_state(cell):
    """True for the lstm family (lstm, peephole, cifg), which carries a cell state ``c``."""
    _check_cell(cell)
    return cell in CELL_STATE_CELLS


def _check_cell(cell):
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, found {cell!r}")


def _suffix(direction):
    return "" if direction == 0 else "_reverse"


def _num_directions(bidirectional):
    return 2 if bidirectional else 1


def param_shapes(input_size, hidden_size, num_layers, cell, bidirectional, output_size=None):
    """Ordered dict ``name -> shape`` of every parameter.

    Order: for each layer, for each direction (forward then reverse): weight_ih, weight_hh,
    bias_ih, bias_hh, [peephole]; then head_weight, head_bias if ``output_size`` is given.
    """
    _check_cell(cell)
    H = int(hidden_size)
    D = _num_directions(bidirectional)
    G = GATE_BLOCKS[cell] * H
    shapes = OrderedDict()
    for k in range(int(num_layers)):
        I_k = int(input_size) if k == 0 else H * D
        for d in range(D):
            s = f"_l{k}{_suffix(d)}"
            shapes["weight_ih" + s] = (G, I_k)
            shapes["weight_hh" + s] = (G, H)
            shapes["bias_ih" + s] = (G,)
            shapes["bias_hh" + s] = (G,)
            if cell == "peephole":
                shapes["peephole" + s] = (3, H)
    if output_size is not None:
        shapes["head_weight"] = (int(output_size), H * D)
        shapes["head_bias"] = (int(output_size),)
    return shapes


def random_params(shapes, rng, scale=0.5):
    """Float64 parameters drawn uniformly from ``[-scale, scale]``, in the order of ``shapes``.

    ``rng`` is a ``numpy.random.Generator`` or anything ``numpy.random.default_rng`` accepts.
    """
    rng = np.random.default_rng(rng)
    return OrderedDict(
        (name, rng.uniform(-scale, scale, size=shape)) for name, shape in shapes.items()
    )


def _layer_params(params, k, d, cell):
    """The parameters of layer ``k``, direction ``d`` as a dict keyed by kind."""
    s = f"_l{k}{_suffix(d)}"
    kinds = _RECURRENT_KINDS if cell == "peephole" else _RECURRENT_KINDS[:4]
    return {kind: params[kind + s] for kind in kinds}


def _check_params(params, input_size, hidden_size, num_layers, cell, bidirectional):
    expected = param_shapes(input_size, hidden_size, num_layers, cell, bidirectional)
    for name, shape in expected.items():
        if name not in params:
            raise ValueError(f"params is missing {name!r} (expected shape {shape})")
        found = np.shape(params[name])
        if found != shape:
            raise ValueError(f"params[{name!r}] must have shape {shape}, found {found}")
    extra = set(params) - set(expected) - set(_HEAD_KEYS)
    if extra:
        raise ValueError(f"params has unexpected entries {sorted(extra)}")


def _as_float_params(params):
    return {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}


# --------------------------------------------------------------------------------------------
# one cell step (one sample), forward and backward
# --------------------------------------------------------------------------------------------


def cell_forward(cell, p, x, h_prev, c_prev):
    """One step of one sample.  Returns ``(h, c, cache)``; ``c`` is None for gru/rnn."""
    H = h_prev.shape[0]
    if cell in CELL_STATE_CELLS:
        z = p["weight_ih"] @ x + p["bias_ih"] + p["weight_hh"] @ h_prev + p["bias_hh"]
        if cell == "cifg":
            z_i, z_g, z_o = z[0:H], z[H:2 * H], z[2 * H:3 * H]
            i = sigmoid(z_i)
            f = 1.0 - i
        else:
            z_i, z_f, z_g, z_o = z[0:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:4 * H]
            if cell == "peephole":
                z_i = z_i + p["peephole"][0] * c_prev
                z_f = z_f + p["peephole"][1] * c_prev
            i = sigmoid(z_i)
            f = sigmoid(z_f)
        g = np.tanh(z_g)
        c = f * c_prev + i * g
        if cell == "peephole":
            z_o = z_o + p["peephole"][2] * c  # the NEW cell state
        o = sigmoid(z_o)
        tanh_c = np.tanh(c)
        h = o * tanh_c
        cache = dict(x=x, h_prev=h_prev, c_prev=c_prev, i=i, f=f, g=g, o=o, c=c, tanh_c=tanh_c)
        return h, c, cache
    if cell == "gru":
        a_i = p["weight_ih"] @ x + p["bias_ih"]
        a_h = p["weight_hh"] @ h_prev + p["bias_hh"]
        r = sigmoid(a_i[0:H] + a_h[0:H])
        z = sigmoid(a_i[H:2 * H] + a_h[H:2 * H])
        a_hn = a_h[2 * H:3 * H]
        n = np.tanh(a_i[2 * H:3 * H] + r * a_hn)
        h = (1.0 - z) * n + z * h_prev
        return h, None, dict(x=x, h_prev=h_prev, r=r, z=z, n=n, a_hn=a_hn)
    if cell == "rnn":
        h = np.tanh(p["weight_ih"] @ x + p["bias_ih"] + p["weight_hh"] @ h_prev + p["bias_hh"])
        return h, None, dict(x=x, h_prev=h_prev, h=h)
    raise ValueError(f"unknown cell {cell!r}")


def cell_backward(cell, p, cache, dh, dc, grads):
    """Backward of :func:`cell_forward`.

    ``dh``, ``dc``: total gradients w.r.t. the step's outputs ``h`` and ``c`` (``dc`` None for
    gru/rnn).  Adds the parameter gradients into ``grads`` (same keys as ``p``) in place and
    returns ``(dx, dh_prev, dc_prev)``.
    """
    x, h_prev = cache["x"], cache["h_prev"]
    if cell in CELL_STATE_CELLS:
        c_prev, i, f, g, o = cache["c_prev"], cache["i"], cache["f"], cache["g"], cache["o"]
        c, tanh_c = cache["c"], cache["tanh_c"]
        # h = o * tanh(c)
        do = dh * tanh_c
        dz_o = do * o * (1.0 - o)
        dc = dc + dh * o * (1.0 - tanh_c ** 2)
        if cell == "peephole":  # z_o += p_o * c
            dc = dc + dz_o * p["peephole"][2]
            grads["peephole"][2] += dz_o * c
        # c = f * c_prev + i * g
        di = dc * g
        dg = dc * i
        df = dc * c_prev
        dc_prev = dc * f
        dz_g = dg * (1.0 - g ** 2)
        if cell == "cifg":  # f = 1 - i
            dz_i = (di - df) * i * (1.0 - i)
            dz = np.concatenate([dz_i, dz_g, dz_o])
        else:
            dz_i = di * i * (1.0 - i)
            dz_f = df * f * (1.0 - f)
            if cell == "peephole":  # z_i += p_i * c_prev, z_f += p_f * c_prev
                dc_prev = dc_prev + dz_i * p["peephole"][0] + dz_f * p["peephole"][1]
                grads["peephole"][0] += dz_i * c_prev
                grads["peephole"][1] += dz_f * c_prev
            dz = np.concatenate([dz_i, dz_f, dz_g, dz_o])
        grads["weight_ih"] += np.outer(dz, x)
        grads["weight_hh"] += np.outer(dz, h_prev)
        grads["bias_ih"] += dz
        grads["bias_hh"] += dz
        dx = p["weight_ih"].T @ dz
        dh_prev = p["weight_hh"].T @ dz
        return dx, dh_prev, dc_prev
    if cell == "gru":
        r, z, n, a_hn = cache["r"], cache["z"], cache["n"], cache["a_hn"]
        # h = (1 - z) * n + z * h_prev
        dn = dh * (1.0 - z)
        dz = dh * (h_prev - n)
        dh_prev = dh * z
        # n = tanh(a_in + r * a_hn)
        da_n = dn * (1.0 - n ** 2)
        dr = da_n * a_hn
        da_r = dr * r * (1.0 - r)
        da_z = dz * z * (1.0 - z)
        da_i = np.concatenate([da_r, da_z, da_n])      # w.r.t. W_ih x + b_ih
        da_h = np.concatenate([da_r, da_z, da_n * r])  # w.r.t. W_hh h_prev + b_hh
        grads["weight_ih"] += np.outer(da_i, x)
        grads["weight_hh"] += np.outer(da_h, h_prev)
        grads["bias_ih"] += da_i
        grads["bias_hh"] += da_h
        dx = p["weight_ih"].T @ da_i
        dh_prev = dh_prev + p["weight_hh"].T @ da_h
        return dx, dh_prev, None
    if cell == "rnn":
        da = dh * (1.0 - cache["h"] ** 2)
        grads["weight_ih"] += np.outer(da, x)
        grads["weight_hh"] += np.outer(da, h_prev)
        grads["bias_ih"] += da
        grads["bias_hh"] += da
        return p["weight_ih"].T @ da, p["weight_hh"].T @ da, None
    raise ValueError(f"unknown cell {cell!r}")


# --------------------------------------------------------------------------------------------
# one direction of one layer (one sample)
# --------------------------------------------------------------------------------------------


def _processing_order(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def run_direction(cell, p, xs, length, h0, c0, reverse):
    """Run one direction of one layer over one sample.

    ``xs`` (T, I_k); steps ``t >= length`` are padding (not read, state carried).
    Returns ``(out, h, c, states, caches)``: ``out`` (T, H) with NaN at padded steps, the final
    state, ``states[t] = (h, c)`` the state after processing step ``t`` (carried at padded
    steps), and ``caches[t]`` the step's cache (None at padded steps).
    """
    T = xs.shape[0]
    H = h0.shape[0]
    out = np.full((T, H), np.nan)
    states = [None] * T
    caches = [None] * T
    h = h0.copy()
    c = None if c0 is None else c0.copy()
    for t in _processing_order(T, reverse):
        if t < length:
            h, c, caches[t] = cell_forward(cell, p, xs[t], h, c)
            out[t] = h
        states[t] = (h, c)
    return out, h, c, states, caches


def backprop_direction(cell, p, caches, dout, length, reverse, grads, input_size):
    """Backward of :func:`run_direction` given ``dout`` (T, H) (must be 0 at padded steps).

    Adds parameter gradients into ``grads`` and returns ``(dxs, dh0, dc0)``: the input gradient
    (T, I_k) (0 at padded steps) and the gradient w.r.t. the initial state.
    """
    T, H = dout.shape
    dxs = np.zeros((T, input_size))
    dh = np.zeros(H)
    dc = np.zeros(H) if cell in CELL_STATE_CELLS else None
    # walk the processing order backwards
    for t in reversed(list(_processing_order(T, reverse))):
        if t >= length:
            continue  # padded step: state was carried, its gradient passes through unchanged
        dxs[t], dh, dc = cell_backward(cell, p, caches[t], dh + dout[t], dc, grads)
    return dxs, dh, dc


# --------------------------------------------------------------------------------------------
# the layer stack
# --------------------------------------------------------------------------------------------


def _check_lengths(lengths, B, T):
    if lengths is None:
        return np.full(B, T, dtype=np.int64)
    lengths_arr = np.asarray(lengths)
    if lengths_arr.shape != (B,):
        raise ValueError(f"lengths must have shape ({B},), found {lengths_arr.shape}")
    if not np.all(lengths_arr == np.round(lengths_arr)):
        raise ValueError("lengths must be integers")
    lengths_arr = lengths_arr.astype(np.int64)
    if np.any(lengths_arr < 0) or np.any(lengths_arr > T):
        raise ValueError(f"lengths must be in [0, {T}], found {lengths_arr}")
    return lengths_arr


def _check_X(X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise ValueError(f"X must have shape (B, T, I), found {X.shape}")
    return X


def _initial_states(initial_state, cell, num_layers, D, B, H):
    """Return (h0, c0) arrays (num_layers*D, B, H); c0 None for gru/rnn."""
    shape = (num_layers * D, B, H)
    keys = ("h", "c") if cell in CELL_STATE_CELLS else ("h",)
    states = {key: np.zeros(shape) for key in keys}
    if initial_state is not None:
        extra = set(initial_state) - set(keys)
        if extra:
            raise ValueError(f"initial_state for cell {cell!r} takes keys {keys}, found {extra}")
        for key, value in initial_state.items():
            value = np.asarray(value, dtype=np.float64)
            if value.shape != shape:
                raise ValueError(f"initial_state[{key!r}] must have shape {shape}, "
                                 f"found {value.shape}")
            states[key] = value.copy()
    return states["h"], states.get("c")


def _forward_sample(params, x, length, h0, c0, cell, num_layers, D):
    """Forward of the whole stack for one sample.

    ``x`` (T, I); ``h0``, ``c0`` (num_layers*D, H) (``c0`` None for gru/rnn).
    Returns ``(top_out, layers)`` where ``top_out`` (T, H*D) has NaN at padded steps and
    ``layers[k][d]`` is a dict with the direction's ``out``, ``h``, ``c``, ``states``,
    ``caches``, its parameters ``p`` and its ``input`` (T, I_k).
    """
    T = x.shape[0]
    valid = np.arange(T) < length
    layer_input = x
    layers = []
    top_out = None
    for k in range(num_layers):
        per_direction = []
        for d in range(D):
            p = _layer_params(params, k, d, cell)
            idx = k * D + d
            out, h, c, states, caches = run_direction(
                cell, p, layer_input, length, h0[idx], None if c0 is None else c0[idx],
                reverse=(d == 1))
            per_direction.append(dict(out=out, h=h, c=c, states=states, caches=caches, p=p,
                                      input=layer_input))
        layers.append(per_direction)
        top_out = np.concatenate([entry["out"] for entry in per_direction], axis=1)
        # padded positions feed zeros (never NaN) into the next layer
        layer_input = np.where(valid[:, None], top_out, 0.0)
    return top_out, layers


def _prepare(params, X, cell, num_layers, bidirectional, hidden_size, lengths, initial_state):
    _check_cell(cell)
    X = _check_X(X)
    B, T, I = X.shape
    params = _as_float_params(params)
    _check_params(params, I, hidden_size, num_layers, cell, bidirectional)
    D = _num_directions(bidirectional)
    lengths = _check_lengths(lengths, B, T)
    h0, c0 = _initial_states(initial_state, cell, num_layers, D, B, hidden_size)
    return params, X, lengths, h0, c0, D


def _run_stack(params, X, lengths, h0, c0, cell, num_layers, D, H):
    """Forward over all samples; returns outputs (B, T, H*D), final state dict, per-sample
    layer records."""
    B, T, _ = X.shape
    outputs = np.full((B, T, H * D), np.nan)
    h_n = np.zeros((num_layers * D, B, H))
    c_n = np.zeros((num_layers * D, B, H)) if c0 is not None else None
    records = []
    for b in range(B):
        top_out, layers = _forward_sample(
            params, X[b], lengths[b], h0[:, b], None if c0 is None else c0[:, b],
            cell, num_layers, D)
        outputs[b] = top_out
        for k in range(num_layers):
            for d in range(D):
                h_n[k * D + d, b] = layers[k][d]["h"]
                if c_n is not None:
                    c_n[k * D + d, b] = layers[k][d]["c"]
        records.append(layers)
    final_state = {"h": h_n} if c_n is None else {"h": h_n, "c": c_n}
    return outputs, final_state, records


def forward(params, X, *, cell, num_layers, bidirectional, hidden_size, lengths=None,
            initial_state=None):
    """Forward pass of the recurrent stack.

    Returns ``(outputs, final_state)``: ``outputs`` (B, T, H*D) the last layer's per-step
    hidden states (forward then reverse direction along features), NaN at padded steps;
    ``final_state`` dict ``{"h": (num_layers*D, B, H)[, "c": ...]}``: the forward direction's
    state at each sample's last valid step (initial state if L = 0) and the reverse
    direction's state after processing t = 0.
    """
    params, X, lengths, h0, c0, D = _prepare(params, X, cell, num_layers, bidirectional,
                                             hidden_size, lengths, initial_state)
    outputs, final_state, _ = _run_stack(params, X, lengths, h0, c0, cell, num_layers, D,
                                         hidden_size)
    return outputs, final_state


def head(params, features):
    """Linear head on the last axis: ``features @ head_weight.T + head_bias``."""
    W = np.asarray(params["head_weight"], dtype=np.float64)
    b = np.asarray(params["head_bias"], dtype=np.float64)
    return np.asarray(features, dtype=np.float64) @ W.T + b


def summary(outputs, lengths, hidden_size, bidirectional):
    """Many-to-one feature per sample, shape (B, H*D).

    The forward direction's h at step L-1 (its last valid step) concatenated with the reverse
    direction's h at t = 0 (its final state).  For L = 0 the (zero) initial state.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    B, T, _ = outputs.shape
    H = int(hidden_size)
    D = _num_directions(bidirectional)
    lengths = _check_lengths(lengths, B, T)
    features = np.zeros((B, H * D))
    for b in range(B):
        L = lengths[b]
        if L == 0:
            continue  # zero initial state
        features[b, :H] = outputs[b, L - 1, :H]
        if D == 2:
            features[b, H:] = outputs[b, 0, H:]
    return features


# --------------------------------------------------------------------------------------------
# backward: full BPTT
# --------------------------------------------------------------------------------------------


def _zero_grads(params, cell, num_layers, D):
    names = param_shapes(1, 1, num_layers, cell, D == 2)  # only the names are used
    grads = OrderedDict()
    for name in names:
        grads[name] = np.zeros_like(params[name])
    return grads


def _grads_view(grads, k, d, cell):
    """The gradient arrays of layer k, direction d keyed by kind (views, updated in place)."""
    return _layer_params(grads, k, d, cell)


def _vjp_full(params, X, grad_outputs, lengths, h0, c0, cell, num_layers, D, H, grads, dX):
    """Full BPTT: accumulate parameter gradients into ``grads`` and input gradients into
    ``dX`` (B, T, I).  ``grad_outputs`` entries at padded steps are ignored."""
    B, T, I = X.shape
    for b in range(B):
        L = lengths[b]
        _, layers = _forward_sample(params, X[b], L, h0[:, b],
                                    None if c0 is None else c0[:, b], cell, num_layers, D)
        valid = np.arange(T) < L
        d_top = np.where(valid[:, None], grad_outputs[b], 0.0)  # NaN-safe masking
        for k in reversed(range(num_layers)):
            input_size = I if k == 0 else H * D
            d_input = np.zeros((T, input_size))
            for d in range(D):
                entry = layers[k][d]
                dxs, _, _ = backprop_direction(
                    cell, entry["p"], entry["caches"], d_top[:, d * H:(d + 1) * H], L,
                    reverse=(d == 1), grads=_grads_view(grads, k, d, cell),
                    input_size=input_size)
                d_input += dxs
            d_top = d_input  # gradient w.r.t. the layer below's outputs (0 at padded steps)
        dX[b] += d_top


def _check_grad_outputs(grad_outputs, B, T, H, D):
    grad_outputs = np.asarray(grad_outputs, dtype=np.float64)
    if grad_outputs.shape != (B, T, H * D):
        raise ValueError(f"grad_outputs must have shape {(B, T, H * D)}, "
                         f"found {grad_outputs.shape}")
    return grad_outputs


def normalize_tbptt(tbptt):
    """``None`` -> None, ``k`` -> ``(k, k)``, ``(k1, k2)`` checked ``1 <= k1 <= k2``."""
    if tbptt is None:
        return None
    if np.ndim(tbptt) == 0:
        k1 = k2 = int(tbptt)
    else:
        k1, k2 = (int(v) for v in tbptt)
    if not 1 <= k1 <= k2:
        raise ValueError(f"tbptt=(k1, k2) needs 1 <= k1 <= k2, found {tbptt!r}")
    return k1, k2


def tbptt_windows(T, tbptt):
    """The TBPTT(k1, k2) windows on a grid of T steps as a list of ``(w0, s0, t_c)``.

    Checkpoints ``t_c = k1-1, 2*k1-1, ...`` (< T) plus ``T-1`` if not already included.  The
    window is ``[w0, t_c]`` with ``w0 = max(0, t_c - k2 + 1)``; errors are injected at steps
    ``S = [s0, t_c]`` where ``s0`` is the previous checkpoint + 1 (0 for the first).
    """
    k1, k2 = normalize_tbptt(tbptt)
    checkpoints = list(range(k1 - 1, T, k1))
    if not checkpoints or checkpoints[-1] != T - 1:
        checkpoints.append(T - 1)
    windows = []
    previous = -1
    for t_c in checkpoints:
        windows.append((max(0, t_c - k2 + 1), previous + 1, t_c))
        previous = t_c
    return windows


def vjp(params, X, grad_outputs, *, cell, num_layers, bidirectional, hidden_size, lengths=None,
        tbptt=None, initial_state=None):
    """Vector-Jacobian product of :func:`forward`'s outputs.

    ``grad_outputs`` (B, T, H*D) is dL/d(outputs); entries at padded steps are ignored (may be
    NaN).  Returns ``(grads, dX)``: ``grads`` keyed exactly like the recurrent parameters (no
    head keys), ``dX`` (B, T, I) with zeros at padded steps.

    ``tbptt=None`` is full BPTT.  ``tbptt=(k1, k2)`` (or ``k`` for ``(k, k)``) is Williams &
    Peng's TBPTT(k1, k2): for every window of :func:`tbptt_windows`, the full-BPTT gradient of
    the window sub-problem, i.e. the stack run on ``X[:, w0:t_c+1]`` with local lengths
    ``clip(L - w0, 0, t_c - w0 + 1)``, each layer's forward-direction initial state the
    full-sequence forward state after step ``w0 - 1`` and each layer's reverse-direction
    initial state the full-sequence reverse state after processing ``t_c + 1`` (constants),
    and ``grad_outputs`` zeroed outside ``S``.  Gradients and dX are summed over windows.

    ``initial_state`` (an extension) is the initial state of the full sequence, as in
    :func:`forward`.
    """
    H = int(hidden_size)
    params, X, lengths, h0, c0, D = _prepare(params, X, cell, num_layers, bidirectional, H,
                                             lengths, initial_state)
    B, T, I = X.shape
    grad_outputs = _check_grad_outputs(grad_outputs, B, T, H, D)
    grads = _zero_grads(params, cell, num_layers, D)
    dX = np.zeros((B, T, I))
    tbptt = normalize_tbptt(tbptt)
    if tbptt is None:
        _vjp_full(params, X, grad_outputs, lengths, h0, c0, cell, num_layers, D, H, grads, dX)
        return grads, dX

    # the full-sequence forward pass provides the boundary states of every window
    _, _, records = _run_stack(params, X, lengths, h0, c0, cell, num_layers, D, H)
    for w0, s0, t_c in tbptt_windows(T, tbptt):
        # boundary states (constants): forward directions after step w0 - 1, reverse
        # directions after processing t_c + 1; the initial state where there is none
        wh0 = h0.copy()
        wc0 = None if c0 is None else c0.copy()
        for b in range(B):
            for k in range(num_layers):
                for d in range(D):
                    states = records[b][k][d]["states"]
                    t_boundary = w0 - 1 if d == 0 else t_c + 1
                    if 0 <= t_boundary < T:
                        wh0[k * D + d, b] = states[t_boundary][0]
                        if wc0 is not None:
                            wc0[k * D + d, b] = states[t_boundary][1]
        window_lengths = np.clip(lengths - w0, 0, t_c - w0 + 1)
        window_grad_outputs = np.zeros((B, t_c - w0 + 1, H * D))
        # inject the errors at S = [s0, t_c] only
        window_grad_outputs[:, s0 - w0:] = grad_outputs[:, s0:t_c + 1]
        window_dX = np.zeros((B, t_c - w0 + 1, I))
        _vjp_full(params, X[:, w0:t_c + 1], window_grad_outputs, window_lengths, wh0, wc0,
                  cell, num_layers, D, H, grads, window_dX)
        dX[:, w0:t_c + 1] += window_dX
    return grads, dX


# --------------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------------


def softplus(x):
    """log(1 + exp(x)) computed stably."""
    return np.logaddexp(0.0, x)


def log_softmax(logits):
    """Stable log-softmax on the last axis."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def loss_and_dpred(loss, pred, y, observed, weight):
    """Loss value and its gradient w.r.t. the head outputs ``pred``.

    Flattened positions: ``pred`` (N, K); for mse/gaussian ``y`` and ``observed`` (N, O), for
    cross_entropy ``y`` and ``observed`` (N,); ``weight`` (N,) per-position sample weight.
    Unobserved targets contribute nothing (their value may be NaN).
    """
    N = pred.shape[0]
    if loss == "cross_entropy":
        m = weight * observed                  # (N,)
        denominator = np.sum(m)
        if not denominator > 0:
            raise ValueError("no observed targets with positive weight")
        logp = log_softmax(pred)
        cls = np.where(observed, y, 0).astype(np.int64)
        nll = -logp[np.arange(N), cls]
        value = np.sum(np.where(observed, m * nll, 0.0)) / denominator
        onehot = np.zeros_like(pred)
        onehot[np.arange(N), cls] = 1.0
        dpred = (m / denominator)[:, None] * (np.exp(logp) - onehot)
        return value, dpred
    m = weight[:, None] * observed             # (N, O)
    denominator = np.sum(m)
    if not denominator > 0:
        raise ValueError("no observed targets with positive weight")
    y0 = np.where(observed, y, 0.0)
    if loss == "mse":
        diff = pred - y0
        value = np.sum(m * diff ** 2) / denominator
        return value, 2.0 * m * diff / denominator
    if loss == "gaussian":
        O = y.shape[1]
        mean, raw = pred[:, :O], pred[:, O:]
        var = softplus(raw) + VAR_FLOOR
        resid = y0 - mean
        nll = 0.5 * (np.log(var) + resid ** 2 / var)
        value = np.sum(m * nll) / denominator
        dmean = m * (-resid / var) / denominator
        dvar = m * 0.5 * (1.0 / var - resid ** 2 / var ** 2) / denominator
        draw = dvar * sigmoid(raw)             # d softplus(x) / dx = sigmoid(x)
        return value, np.concatenate([dmean, draw], axis=1)
    if loss == "mae":
        diff = pred - y0
        value = np.sum(m * np.abs(diff)) / denominator
        return value, m * np.sign(diff) / denominator      # subgradient 0 at diff == 0
    if loss == "quantile":
        q, jac = monotone_quantiles(pred, len(QUANTILES))
        value, dq = pinball(q, y0, m / denominator, QUANTILES)
        return value, np.einsum("nk,nkl->nl", dq, jac)
    raise ValueError(f"loss must be one of {LOSSES}, found {loss!r}")


def monotone_quantiles(raw, n_levels):
    """Non-crossing quantiles ``q_0 = raw_0``, ``q_k = q_{k-1} + softplus(raw_k)`` per target
    (``raw`` (N, n_levels * O), blocks of O columns per level) and the Jacobian
    ``d q / d raw`` (N, K, K) with K = n_levels * O, written out entry by entry."""
    N, K = raw.shape
    O = K // n_levels
    q = np.empty_like(raw)
    jac = np.zeros((N, K, K))
    for j in range(O):
        q[:, j] = raw[:, j]
        for k in range(1, n_levels):
            q[:, k * O + j] = q[:, (k - 1) * O + j] + softplus(raw[:, k * O + j])
        for k in range(n_levels):          # q_k = raw_0 + sum_{1 <= m <= k} softplus(raw_m)
            jac[:, k * O + j, j] = 1.0
            for m in range(1, k + 1):
                jac[:, k * O + j, m * O + j] = sigmoid(raw[:, m * O + j])
    return q, jac


def pinball(q, y, m, levels):
    """``sum(m * mean_k rho_k(y - q_k))`` with ``rho(u) = max(tau u, (tau - 1) u)`` and its
    gradient with respect to ``q`` (N, K * O); subgradient ``tau - 0.5`` at ``u == 0``
    (``0.5 |u| + (tau - 0.5) u`` with ``sign(0) = 0``).  ``m`` (N, O) are the weights (0 for a
    missing target)."""
    O = y.shape[1]
    n = len(levels)
    value = 0.0
    dq = np.zeros_like(q)
    for k, tau in enumerate(levels):
        u = y - q[:, k * O:(k + 1) * O]
        value += np.sum(m * np.maximum(tau * u, (tau - 1.0) * u)) / n
        dq[:, k * O:(k + 1) * O] = -m * (tau - 0.5 + 0.5 * np.sign(u)) / n
    return value, dq


def loss_and_grad(params, X, y, *, loss, cell, num_layers, bidirectional, hidden_size,
                  output_size, lengths=None, tbptt=None, sample_weight=None):
    """Loss of the network with its linear head, and the gradient of every parameter.

    Many-to-one (head on :func:`summary`) when ``y`` is (B, O) for mse/gaussian or (B,) for
    cross_entropy; per step when ``y`` is (B, T, O) / (B, T).  NaN targets are missing (only
    allowed per step); per-step targets at padded steps are masked too.  ``output_size`` is the
    number of head outputs (rows of ``head_weight``): O for mse, 2*O for gaussian (the target
    dimension O is also accepted for gaussian), K classes for cross_entropy.

    Losses, with w the per-sample weight broadcast to every observed target element:
    mse ``sum(w (p-y)^2) / sum(w)``; gaussian ``sum(w 0.5 (log var + (y-mean)^2/var)) /
    sum(w)`` with ``mean = out[..., :O]``, ``var = softplus(out[..., O:]) + 1e-6``;
    cross_entropy ``sum(w (-log softmax(logits)[y])) / sum(w)``.

    Returns ``(loss, grads)`` with grads for every recurrent parameter and the head.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, found {loss!r}")
    H = int(hidden_size)
    params_f, X, lengths_arr, h0, c0, D = _prepare(params, X, cell, num_layers, bidirectional,
                                                   H, lengths, None)
    B, T, _ = X.shape
    for key in _HEAD_KEYS:
        if key not in params_f:
            raise ValueError(f"params is missing {key!r}")
    W, bias = params_f["head_weight"], params_f["head_bias"]
    K = W.shape[0]
    if W.shape != (K, H * D) or bias.shape != (K,):
        raise ValueError(f"head_weight/head_bias must have shapes (K, {H * D}) and (K,), "
                         f"found {W.shape} and {bias.shape}")
    if output_size != K and not (loss == "gaussian" and 2 * output_size == K):
        raise ValueError(f"output_size={output_size} does not match head_weight rows {K}")
    y = np.asarray(y, dtype=np.float64)
    target_ndim = 1 if loss == "cross_entropy" else 2
    if y.ndim == target_ndim:
        many_to_one = True
    elif y.ndim == target_ndim + 1:
        many_to_one = False
    else:
        raise ValueError(f"y for loss {loss!r} must have {target_ndim} or {target_ndim + 1} "
                         f"dims, found shape {y.shape}")
    if y.shape[:y.ndim - (target_ndim - 1)] != ((B,) if many_to_one else (B, T)):
        raise ValueError(f"y has shape {y.shape}, incompatible with X {X.shape}")
    if loss in ("mse", "mae") and y.shape[-1] != K:
        raise ValueError(f"{loss} needs {K} targets per position, found {y.shape[-1]}")
    if loss == "quantile" and len(QUANTILES) * y.shape[-1] != K:
        raise ValueError(f"quantile needs head size {len(QUANTILES)}*O, found {K}")
    if loss == "gaussian" and 2 * y.shape[-1] != K:
        raise ValueError(f"gaussian needs head size 2*O = {2 * y.shape[-1]}, found {K}")
    if many_to_one and np.any(np.isnan(y)):
        raise ValueError("NaN (missing) targets are only allowed for per-step targets")
    if sample_weight is None:
        sample_weight = np.ones(B)
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.shape != (B,) or np.any(sample_weight < 0):
        raise ValueError(f"sample_weight must be non-negative with shape ({B},)")
    if loss == "cross_entropy":
        observed_y = y[~np.isnan(y)]
        if np.any(observed_y != np.round(observed_y)) or np.any(observed_y < 0) or \
                np.any(observed_y >= K):
            raise ValueError(f"cross_entropy targets must be class indices in [0, {K})")

    outputs, _, _ = _run_stack(params_f, X, lengths_arr, h0, c0, cell, num_layers, D, H)
    if many_to_one:
        features = summary(outputs, lengths_arr, H, bidirectional)          # (B, H*D)
        targets = y
        weight = sample_weight
        observed = ~np.isnan(targets)
    else:
        valid = np.arange(T)[None, :] < lengths_arr[:, None]                # (B, T)
        features = np.where(valid[..., None], outputs, 0.0).reshape(B * T, H * D)
        targets = y.reshape((B * T,) + y.shape[2:])
        weight = np.repeat(sample_weight, T)
        valid_flat = valid.reshape(B * T)
        observed = ~np.isnan(targets)
        observed &= valid_flat if observed.ndim == 1 else valid_flat[:, None]
    pred = features @ W.T + bias
    value, dpred = loss_and_dpred(loss, pred, targets, observed, weight)

    grad_head_weight = dpred.T @ features
    grad_head_bias = dpred.sum(axis=0)
    dfeatures = dpred @ W
    if many_to_one:
        grad_outputs = np.zeros((B, T, H * D))
        for b in range(B):
            L = lengths_arr[b]
            if L == 0:
                continue  # the feature is the constant initial state
            grad_outputs[b, L - 1, :H] += dfeatures[b, :H]
            if D == 2:
                grad_outputs[b, 0, H:] += dfeatures[b, H:]
    else:
        grad_outputs = dfeatures.reshape(B, T, H * D)
    grads, _ = vjp(params_f, X, grad_outputs, cell=cell, num_layers=num_layers,
                   bidirectional=bidirectional, hidden_size=H, lengths=lengths_arr,
                   tbptt=tbptt)
    grads["head_weight"] = grad_head_weight
    grads["head_bias"] = grad_head_bias
    return float(value), grads


# ============================================================================================
# forecasting windows (oracle for seqlstm/kernels/windows.py): independent of everything above
# ============================================================================================


def gather_windows(data, static, series, starts, lookback, horizon, target_cols, past_cols,
                   future_cols):
    """Windows ``(series[b], starts[b])`` cut out with NumPy slicing, one at a time.

    Returns ``x`` (batch, lookback, n_targets + n_past + n_future + n_static) with the lookback
    rows ``[targets, past covariates, future covariates, static]`` (NaN variables at steps
    before the record: start padding), ``y`` (batch, horizon, n_targets) and ``f`` (batch,
    horizon, n_future) over the horizon, NaN past the record's end.
    """
    data = np.asarray(data)
    static = np.asarray(static)
    n_time = data.shape[1]
    xs, ys, fs = [], [], []
    for s, t0 in zip(series, starts):
        if not (0 <= s < data.shape[0] and -lookback < t0 and t0 + lookback <= n_time):
            raise IndexError(f"window ({s}, {t0}) is outside the records")
        before = np.full((max(-t0, 0), data.shape[2]), np.nan, data.dtype)
        look = np.concatenate([before, data[s, max(t0, 0):t0 + lookback]])
        stat = np.repeat(static[s][None, :], lookback, axis=0)
        xs.append(np.concatenate([look[:, target_cols], look[:, past_cols],
                                  look[:, future_cols], stat], axis=1))
        ahead = np.full((horizon, data.shape[2]), np.nan, data.dtype)
        inside = data[s, t0 + lookback:t0 + lookback + horizon]
        ahead[:len(inside)] = inside
        ys.append(ahead[:, target_cols])
        fs.append(ahead[:, future_cols])
    n_in = len(target_cols) + len(past_cols) + len(future_cols) + static.shape[1]
    if not xs:
        return (np.zeros((0, lookback, n_in), data.dtype),
                np.zeros((0, horizon, len(target_cols)), data.dtype),
                np.zeros((0, horizon, len(future_cols)), data.dtype))
    return np.stack(xs), np.stack(ys), np.stack(fs)


def valid_windows(data, static, lookback, horizon, target_cols, past_cols, future_cols,
                  first=None):
    """Every window that fits in its record, checked for NaN inputs one by one.

    A window is kept when no input is NaN: targets, past and future covariates over the
    lookback, future covariates over the horizon, the series' static attributes (NaN targets in
    the horizon are allowed).  A series with ``first[s] >= 0`` has windows from ``first[s] -
    lookback + 1`` whose lookback steps before ``first[s]`` are not checked.  Returns
    ``(series, starts, skipped_per_series)``.
    """
    data = np.asarray(data)
    static = np.asarray(static)
    n_series, n_time, _ = data.shape
    first = np.full(n_series, -1) if first is None else first
    inputs = list(target_cols) + list(past_cols) + list(future_cols)
    series, starts = [], []
    skipped = np.zeros(n_series, np.int64)
    for s in range(n_series):
        lo = first[s] - lookback + 1 if first[s] >= 0 else 0
        for t0 in range(lo, n_time - lookback - horizon + 1):
            from_ = max(t0, first[s]) if first[s] >= 0 else t0
            look = data[s, from_:t0 + lookback][:, inputs]
            ahead = data[s, t0 + lookback:t0 + lookback + horizon][:, list(future_cols)]
            if np.isnan(look).any() or np.isnan(ahead).any() or np.isnan(static[s]).any():
                skipped[s] += 1
            else:
                series.append(s)
                starts.append(t0)
    return np.array(series, np.int64), np.array(starts, np.int64), skipped


# ============================================================================================
# frames (oracle for seqlstm/kernels/windows.py's gather_frames): independent of everything above
# ============================================================================================


def frames(values, lengths, stride):
    """Half-overlapping frames of NaN-padded sequences, one value at a time: frame ``j`` of
    sequence ``i`` holds its steps ``j*stride .. j*stride + 2*stride - 1`` (each step's features
    together), 0 at steps at or past the sequence's length, NaN for frames starting at or past
    it; stride 1 returns the values as they are."""
    values = np.asarray(values)
    if stride == 1:
        return values.copy()
    n, T, F = values.shape
    out = np.full((n, -(-T // stride), 2 * stride * F), np.nan, values.dtype)
    for i in range(n):
        for j in range(-(-int(lengths[i]) // stride)):
            for m in range(2 * stride):
                t = j * stride + m
                for f in range(F):
                    out[i, j, m * F + f] = values[i, t, f] if t < lengths[i] else 0.0
    return out
