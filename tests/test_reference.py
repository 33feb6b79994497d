"""The NumPy reference (tests/reference.py) is itself right.

Checked against central finite differences (every cell, 1-2 layers, uni/bidirectional, with and
without padding, truncated BPTT, the three losses) and against PyTorch's nn.LSTM / nn.GRU /
nn.RNN in float64 (outputs, final states, every parameter gradient and the input gradient).
"""

import numpy as np
import pytest

import reference as ref

B, T, I, H = 3, 5, 3, 4
#: unsorted, with a full-length sample and an empty one
LENGTHS = np.array([3, 5, 0])
EPS = 1e-6
FD_TOL = 1e-6
TORCH_TOL = 1e-10


def rel_err(a, b):
    """max|a - b| / max(max|b|, tiny)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), np.finfo(np.float64).tiny)


def valid_mask(lengths, B_=B, T_=T):
    lengths = np.full(B_, T_) if lengths is None else np.asarray(lengths)
    return np.arange(T_)[None, :] < lengths[:, None]


def make_problem(cell, num_layers, bidirectional, padded, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    D = 2 if bidirectional else 1
    shapes = ref.param_shapes(I, H, num_layers, cell, bidirectional)
    params = ref.random_params(shapes, rng, scale=scale)
    X = rng.normal(size=(B, T, I))
    G = rng.normal(size=(B, T, H * D))
    lengths = LENGTHS.copy() if padded else None
    pad = ~valid_mask(lengths)
    X[pad] = np.nan  # padded inputs must never be read
    G[pad] = np.nan  # padded grad_outputs must be ignored
    cfg = dict(cell=cell, num_layers=num_layers, bidirectional=bidirectional, hidden_size=H,
               lengths=lengths)
    return params, X, G, cfg


def masked_dot(G, out, lengths):
    """sum(G * out) over valid steps; NaN-safe (padded entries are excluded, not zeroed)."""
    valid = valid_mask(lengths, G.shape[0], G.shape[1])
    return float(np.sum(G[valid] * out[valid]))


def fd_grad(f, arr, eps=EPS):
    """Central finite differences of the scalar f() w.r.t. every entry of ``arr`` (in place)."""
    grad = np.zeros(arr.shape)
    for idx in np.ndindex(arr.shape):
        orig = arr[idx]
        arr[idx] = orig + eps
        f_plus = f()
        arr[idx] = orig - eps
        f_minus = f()
        arr[idx] = orig
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def check_against_fd(f, params, X, grads, dX, tol=FD_TOL):
    errors = {}
    for name in grads:
        errors[name] = rel_err(grads[name], fd_grad(f, params[name]))
    if X is not None:
        errors["X"] = rel_err(dX, fd_grad(f, X))
    bad = {name: err for name, err in errors.items() if not err <= tol}
    assert not bad, bad


# --------------------------------------------------------------------------------------------
# basic structure
# --------------------------------------------------------------------------------------------


def test_param_shapes_order_and_sizes():
    shapes = ref.param_shapes(3, 4, 2, "peephole", True, output_size=5)
    names = list(shapes)
    assert names[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "peephole_l0"]
    assert names[5:10] == ["weight_ih_l0_reverse", "weight_hh_l0_reverse",
                           "bias_ih_l0_reverse", "bias_hh_l0_reverse", "peephole_l0_reverse"]
    assert names[10] == "weight_ih_l1" and names[-2:] == ["head_weight", "head_bias"]
    assert shapes["weight_ih_l0"] == (16, 3)
    assert shapes["weight_ih_l1_reverse"] == (16, 8)
    assert shapes["peephole_l1"] == (3, 4)
    assert shapes["head_weight"] == (5, 8)
    assert ref.param_shapes(3, 4, 1, "cifg", False)["weight_hh_l0"] == (12, 4)
    assert ref.param_shapes(3, 4, 1, "gru", False)["bias_ih_l0"] == (12,)
    assert ref.param_shapes(3, 4, 1, "rnn", False)["weight_ih_l0"] == (4, 3)
    assert "head_weight" not in ref.param_shapes(3, 4, 1, "rnn", False)
    p = ref.random_params(shapes, 0)
    assert list(p) == names and all(p[n].dtype == np.float64 for n in names)
    assert all(np.all(np.abs(p[n]) <= 0.5) for n in names)


def test_tbptt_windows():
    assert ref.tbptt_windows(5, (2, 3)) == [(0, 0, 1), (1, 2, 3), (2, 4, 4)]
    assert ref.tbptt_windows(5, 3) == [(0, 0, 2), (2, 3, 4)]
    assert ref.tbptt_windows(5, (1, 1)) == [(t, t, t) for t in range(5)]
    assert ref.tbptt_windows(5, 5) == [(0, 0, 4)]
    assert ref.tbptt_windows(5, (7, 9)) == [(0, 0, 4)]
    with pytest.raises(ValueError):
        ref.normalize_tbptt((3, 2))
    with pytest.raises(ValueError):
        ref.normalize_tbptt(0)


@pytest.mark.parametrize("cell", ref.CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_semantics(cell, bidirectional):
    params, X, _, cfg = make_problem(cell, 2, bidirectional, padded=True, seed=3)
    D = 2 if bidirectional else 1
    rng = np.random.default_rng(5)
    state_shape = (2 * D, B, H)
    init = {"h": rng.normal(size=state_shape)}
    if ref.has_cell_state(cell):
        init["c"] = rng.normal(size=state_shape)
    out, final = ref.forward(params, X, initial_state=init, **cfg)
    valid = valid_mask(LENGTHS)
    assert out.shape == (B, T, H * D)
    assert np.all(np.isnan(out[~valid])) and np.all(np.isfinite(out[valid]))
    assert set(final) == set(init)
    # padded input values are never read
    X_other = np.where(np.isnan(X), 1e300, X)
    out2, final2 = ref.forward(params, X_other, initial_state=init, **cfg)
    np.testing.assert_array_equal(out, out2)
    for key in final:
        np.testing.assert_array_equal(final[key], final2[key])
    # each sample equals the same sample run alone, truncated to its length
    for b, L in enumerate(LENGTHS):
        sub_init = {key: value[:, b:b + 1] for key, value in init.items()}
        if L == 0:  # nothing happens: the final state is the initial state
            for key in final:
                np.testing.assert_array_equal(final[key][:, b], init[key][:, b])
            continue
        sub_cfg = dict(cfg, lengths=None)
        out_b, final_b = ref.forward(params, X[b:b + 1, :L], initial_state=sub_init, **sub_cfg)
        np.testing.assert_allclose(out[b, :L], out_b[0], rtol=0, atol=1e-14)
        for key in final:
            np.testing.assert_allclose(final[key][:, b], final_b[key][:, 0], rtol=0, atol=1e-14)
    # summary = the last layer's final hidden states (forward, reverse), zeros for L = 0
    out0, final0 = ref.forward(params, X, **cfg)
    feat = ref.summary(out0, LENGTHS, H, bidirectional)
    expected = np.concatenate([final0["h"][-D + d] for d in range(D)], axis=1)
    np.testing.assert_array_equal(feat, expected)
    assert np.all(feat[LENGTHS == 0] == 0)


def test_head():
    rng = np.random.default_rng(0)
    params = {"head_weight": rng.normal(size=(2, 8)), "head_bias": rng.normal(size=2)}
    feats = rng.normal(size=(3, 5, 8))
    y = ref.head(params, feats)
    np.testing.assert_allclose(
        y[1, 2], params["head_weight"] @ feats[1, 2] + params["head_bias"], rtol=1e-14)


# --------------------------------------------------------------------------------------------
# full BPTT vs finite differences
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("padded", [False, True], ids=["full", "padded"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", ref.CELLS)
def test_vjp_matches_finite_differences(cell, num_layers, bidirectional, padded):
    params, X, G, cfg = make_problem(cell, num_layers, bidirectional, padded)
    grads, dX = ref.vjp(params, X, G, **cfg)
    assert list(grads) == list(ref.param_shapes(I, H, num_layers, cell, bidirectional))
    assert dX.shape == X.shape and np.all(dX[~valid_mask(cfg["lengths"])] == 0)

    def f():
        return masked_dot(G, ref.forward(params, X, **cfg)[0], cfg["lengths"])

    check_against_fd(f, params, X, grads, dX)


@pytest.mark.parametrize("cell", ["peephole", "gru"])
def test_vjp_with_initial_state_matches_finite_differences(cell):
    params, X, G, cfg = make_problem(cell, 2, True, padded=True, seed=7)
    rng = np.random.default_rng(8)
    init = {"h": rng.normal(size=(4, B, H))}
    if ref.has_cell_state(cell):
        init["c"] = rng.normal(size=(4, B, H))
    grads, dX = ref.vjp(params, X, G, initial_state=init, **cfg)

    def f():
        return masked_dot(G, ref.forward(params, X, initial_state=init, **cfg)[0],
                          cfg["lengths"])

    check_against_fd(f, params, X, grads, dX)


# --------------------------------------------------------------------------------------------
# truncated BPTT
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("tbptt", [T, (T, T), (T + 1, T + 3), 2 * T])
def test_tbptt_with_long_windows_is_full_bptt(cell, bidirectional, tbptt):
    params, X, G, cfg = make_problem(cell, 2, bidirectional, padded=True, seed=11)
    full, dX_full = ref.vjp(params, X, G, **cfg)
    trunc, dX_trunc = ref.vjp(params, X, G, tbptt=tbptt, **cfg)
    assert list(trunc) == list(full)
    for name in full:
        assert rel_err(trunc[name], full[name]) <= 1e-12, name
    assert rel_err(dX_trunc, dX_full) <= 1e-12


def single_layer_params(params, k):
    """Layer k's parameters renamed as the only layer of a one-layer stack."""
    suffix = f"_l{k}"
    return {name.replace(suffix, "_l0"): value for name, value in params.items()
            if name.endswith(suffix) or name.endswith(suffix + "_reverse")}


def boundary_states(params, X, cfg, w0, t_c):
    """The window's initial state, built independently of the reference's TBPTT code from
    public one-layer forward passes, layer by layer.

    Layer k's full-sequence input is the zero-padded output of layer k-1 (computed by one-layer
    runs).  Its forward direction's state after step w0-1 is the final forward state of a run
    on the prefix input[:, :w0]; its reverse direction's state after processing t_c+1 is the
    final reverse state of a run on the suffix input[:, t_c+1:].
    """
    num_layers, cell = cfg["num_layers"], cfg["cell"]
    D = 2 if cfg["bidirectional"] else 1
    Bx, Tx, _ = X.shape
    L = np.full(Bx, Tx) if cfg["lengths"] is None else cfg["lengths"]
    keys = ("h", "c") if ref.has_cell_state(cell) else ("h",)
    state = {key: np.zeros((num_layers * D, Bx, H)) for key in keys}
    one_layer = dict(cfg, num_layers=1)
    layer_input = X
    for k in range(num_layers):
        p = single_layer_params(params, k)
        if w0 > 0:
            _, prefix = ref.forward(p, layer_input[:, :w0],
                                    **dict(one_layer, lengths=np.minimum(L, w0)))
            for key in keys:
                state[key][k * D] = prefix[key][0]
        if D == 2 and t_c < Tx - 1:
            _, suffix = ref.forward(p, layer_input[:, t_c + 1:],
                                    **dict(one_layer, lengths=np.clip(L - t_c - 1, 0, None)))
            for key in keys:
                state[key][k * D + 1] = suffix[key][1]
        out, _ = ref.forward(p, layer_input, **dict(one_layer, lengths=L))
        layer_input = np.where(valid_mask(L, Bx, Tx)[..., None], out, 0.0)
    return state


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell,num_layers,tbptt", [
    ("lstm", 2, (2, 3)),
    ("lstm", 2, (3, 3)),
    ("peephole", 1, (1, 2)),
    ("gru", 2, (2, 3)),
    ("cifg", 2, 2),
    ("rnn", 2, (1, 3)),
])
def test_tbptt_matches_finite_differences_of_window_sum(cell, num_layers, tbptt,
                                                        bidirectional):
    params, X, G, cfg = make_problem(cell, num_layers, bidirectional, padded=True, seed=21)
    L = cfg["lengths"]
    grads, dX = ref.vjp(params, X, G, tbptt=tbptt, **cfg)
    assert np.all(dX[~valid_mask(L)] == 0)

    windows = []
    for w0, s0, t_c in ref.tbptt_windows(T, tbptt):
        state = boundary_states(params, X, cfg, w0, t_c)  # fixed, at the unperturbed point
        G_window = np.where(valid_mask(L)[..., None], G, 0.0)[:, w0:t_c + 1].copy()
        G_window[:, :s0 - w0] = 0.0  # inject errors at S = [s0, t_c] only
        windows.append((w0, t_c, state, G_window, np.clip(L - w0, 0, t_c - w0 + 1)))

    def window_sum():
        total = 0.0
        for w0, t_c, state, G_window, lengths in windows:
            out, _ = ref.forward(params, X[:, w0:t_c + 1], initial_state=state,
                                 **dict(cfg, lengths=lengths))
            total += masked_dot(G_window, out, lengths)
        return total

    # the window sub-problems reproduce the full-sequence activations
    out_full, _ = ref.forward(params, X, **cfg)
    for w0, t_c, state, _, lengths in windows:
        out, _ = ref.forward(params, X[:, w0:t_c + 1], initial_state=state,
                             **dict(cfg, lengths=lengths))
        np.testing.assert_allclose(out, out_full[:, w0:t_c + 1], rtol=0, atol=1e-14)

    check_against_fd(window_sum, params, X, grads, dX)

    # and truncation does change the gradient
    full, _ = ref.vjp(params, X, G, **cfg)
    assert max(rel_err(grads[n], full[n]) for n in full) > 1e-6


# --------------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------------


def make_targets(loss, many_to_one, rng, O=2, K=3):
    if loss == "cross_entropy":
        shape = (B,) if many_to_one else (B, T)
        y = rng.integers(0, K, size=shape).astype(np.float64)
        output_size = K
    else:
        shape = (B, O) if many_to_one else (B, T, O)
        y = rng.normal(size=shape)
        output_size = 2 * O if loss == "gaussian" else O
    if not many_to_one:
        y[rng.random(size=y.shape) < 0.25] = np.nan  # missing targets
    return y, output_size


@pytest.mark.parametrize("many_to_one", [True, False], ids=["many_to_one", "per_step"])
@pytest.mark.parametrize("loss,cell,bidirectional", [
    ("mse", "lstm", True),
    ("gaussian", "gru", True),
    ("cross_entropy", "peephole", False),
    ("cross_entropy", "cifg", True),
])
def test_loss_and_grad_matches_finite_differences(loss, cell, bidirectional, many_to_one):
    rng = np.random.default_rng(31)
    D = 2 if bidirectional else 1
    params, X, _, cfg = make_problem(cell, 1, bidirectional, padded=True, seed=32)
    y, output_size = make_targets(loss, many_to_one, rng)
    params["head_weight"] = rng.uniform(-0.5, 0.5, size=(output_size, H * D))
    params["head_bias"] = rng.uniform(-0.5, 0.5, size=output_size)
    w = np.array([0.5, 2.0, 1.5])
    kw = dict(cfg, loss=loss, output_size=output_size, sample_weight=w)
    value, grads = ref.loss_and_grad(params, X, y, **kw)
    assert np.isfinite(value)
    assert list(grads) == list(ref.param_shapes(I, H, 1, cell, bidirectional, output_size))

    def f():
        return ref.loss_and_grad(params, X, y, **kw)[0]

    check_against_fd(f, params, None, grads, None)


def test_loss_values_by_hand():
    """The three losses on a tiny explicit example, including weights and missing targets."""
    pred = np.array([[1.0, -2.0], [0.5, 3.0]])
    y = np.array([[0.0, np.nan], [1.0, 1.0]])
    obs = ~np.isnan(y)
    w = np.array([2.0, 1.0])
    value, _ = ref.loss_and_dpred("mse", pred, y, obs, w)
    assert np.isclose(value, (2 * 1.0 + 0.25 + 4.0) / 4.0, rtol=1e-15)
    # gaussian, one target per position: pred = (mean, raw variance)
    yg = np.array([[0.0], [2.0]])
    value, _ = ref.loss_and_dpred("gaussian", pred, yg, np.ones_like(yg, bool), w)
    var = np.log1p(np.exp(pred[:, 1])) + 1e-6
    nll = 0.5 * (np.log(var) + (yg[:, 0] - pred[:, 0]) ** 2 / var)
    assert np.isclose(value, np.sum(w * nll) / 3.0, rtol=1e-14)
    # cross entropy with a huge logit (stable log-softmax)
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    yc = np.array([1.0, 2.0])
    value, _ = ref.loss_and_dpred("cross_entropy", logits, yc, np.ones(2, bool), w)
    assert np.isclose(value, (2 * 1000.0 + np.log(3.0)) / 3.0, rtol=1e-14)
    assert np.isclose(ref.softplus(800.0), 800.0) and ref.softplus(-800.0) >= 0


def test_loss_and_grad_tbptt():
    """Head gradients do not depend on truncation; long windows give full BPTT."""
    rng = np.random.default_rng(41)
    params, X, _, cfg = make_problem("lstm", 2, True, padded=True, seed=42)
    y, output_size = make_targets("mse", False, rng)
    params["head_weight"] = rng.uniform(-0.5, 0.5, size=(output_size, 2 * H))
    params["head_bias"] = rng.uniform(-0.5, 0.5, size=output_size)
    kw = dict(cfg, loss="mse", output_size=output_size)
    v_full, g_full = ref.loss_and_grad(params, X, y, **kw)
    v_long, g_long = ref.loss_and_grad(params, X, y, tbptt=T, **kw)
    v_short, g_short = ref.loss_and_grad(params, X, y, tbptt=(2, 3), **kw)
    assert v_full == v_long == v_short
    for name in g_full:
        assert rel_err(g_long[name], g_full[name]) <= 1e-12
    for name in ("head_weight", "head_bias"):
        np.testing.assert_array_equal(g_short[name], g_full[name])


# --------------------------------------------------------------------------------------------
# PyTorch parity
# --------------------------------------------------------------------------------------------

TORCH_CELLS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
TORCH_LENGTHS = np.array([3, 5, 1])  # pack_padded_sequence needs lengths >= 1


@pytest.mark.parametrize("packed", [False, True], ids=["dense", "packed"])
@pytest.mark.parametrize("batch_first", [True, False], ids=["batch_first", "time_first"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell", sorted(TORCH_CELLS))
def test_matches_pytorch(cell, bidirectional, batch_first, packed):
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    num_layers = 2
    D = 2 if bidirectional else 1
    rng = np.random.default_rng(51)
    params = ref.random_params(ref.param_shapes(I, H, num_layers, cell, bidirectional), rng)
    lengths = TORCH_LENGTHS if packed else None
    valid = valid_mask(lengths)
    X = rng.normal(size=(B, T, I))
    G = rng.normal(size=(B, T, H * D))
    init = {"h": rng.normal(size=(num_layers * D, B, H))}
    if ref.has_cell_state(cell):
        init["c"] = rng.normal(size=(num_layers * D, B, H))
    X_ref = np.where(valid[..., None], X, np.nan)
    cfg = dict(cell=cell, num_layers=num_layers, bidirectional=bidirectional, hidden_size=H,
               lengths=lengths)
    out, final = ref.forward(params, X_ref, initial_state=init, **cfg)
    grads, dX = ref.vjp(params, X_ref, G, initial_state=init, **cfg)

    kwargs = dict(batch_first=batch_first, bidirectional=bidirectional, dtype=torch.float64)
    if cell == "rnn":
        kwargs["nonlinearity"] = "tanh"
    module = getattr(torch.nn, TORCH_CELLS[cell])(I, H, num_layers, **kwargs)
    with torch.no_grad():
        names = [name for name, _ in module.named_parameters()]
        assert sorted(names) == sorted(params)
        for name, p in module.named_parameters():
            p.copy_(torch.from_numpy(params[name]))

    def time_major(a):
        return a if batch_first else np.ascontiguousarray(np.swapaxes(a, 0, 1))

    x_t = torch.tensor(time_major(np.where(valid[..., None], X, 0.0)), requires_grad=True)
    h0 = torch.tensor(init["h"])
    hx = (h0, torch.tensor(init["c"])) if cell == "lstm" else h0
    inp = x_t
    if packed:
        inp = pack_padded_sequence(x_t, torch.tensor(lengths), batch_first=batch_first,
                                   enforce_sorted=False)
    out_t, state_t = module(inp, hx)
    if packed:
        out_t, _ = pad_packed_sequence(out_t, batch_first=batch_first, total_length=T)
    G_t = torch.tensor(time_major(np.where(valid[..., None], G, 0.0)))
    (out_t * G_t).sum().backward()

    out_torch = time_major(out_t.detach().numpy())  # back to (B, T, H*D)
    assert rel_err(out[valid], out_torch[valid]) <= TORCH_TOL
    h_n, c_n = state_t if cell == "lstm" else (state_t, None)
    assert rel_err(final["h"], h_n.detach().numpy()) <= TORCH_TOL
    if cell == "lstm":
        assert rel_err(final["c"], c_n.detach().numpy()) <= TORCH_TOL
    for name, p in module.named_parameters():
        assert rel_err(grads[name], p.grad.numpy()) <= TORCH_TOL, name
    assert rel_err(dX, time_major(x_t.grad.numpy())) <= TORCH_TOL
