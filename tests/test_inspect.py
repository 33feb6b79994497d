"""Tests of seqlstm.inspect: traces as a labeled Dataset, saturation fractions, gradient flow."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqlstm import Adam, RecurrentNetwork
from seqlstm._threads import numba_threads
from seqlstm.datasets import adding_accuracy, make_adding
from seqlstm.inspect import GATE_NAMES, gradient_flow, inspect
from seqlstm.testing.strategies import labeled_sequences


@pytest.fixture(autouse=True)
def one_numba_thread():
    with numba_threads(1):
        yield


def _X(seed=0, B=3, T=7, n_in=2, lengths=None, scale=1.0):
    rng = np.random.default_rng(seed)
    X = scale * rng.standard_normal((B, T, n_in))
    if lengths is not None:
        X[np.arange(T)[None, :] >= np.asarray(lengths)[:, None]] = np.nan
    return X


class Wrapper:
    """Anything with a fitted ``network_`` is accepted."""

    def __init__(self, net):
        self.network_ = net


@pytest.mark.parametrize("cell", ["lstm", "peephole", "cifg", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_inspect_matches_trace(cell, bidirectional):
    net = RecurrentNetwork(2, 3, num_layers=2, cell=cell, bidirectional=bidirectional,
                           output_size=1, random_state=0)
    X = _X(lengths=[7, 4, 1])
    ds = inspect(net, X)
    expected_gates = set(GATE_NAMES[cell]) | ({"forget_gate"} if cell == "cifg" else set())
    per_step = {"hidden"} | ({"cell"} if net.has_cell_state else set()) | expected_gates
    assert per_step <= set(ds.data_vars)
    dims = (("sample", "time", "layer", "direction", "unit") if bidirectional
            else ("sample", "time", "layer", "unit"))
    for name in per_step:
        assert ds[name].dims == dims
    for tr in net.trace(X):
        sel = {"layer": tr["layer"]}
        if bidirectional:
            sel["direction"] = ["forward", "reverse"][tr["direction"]]
        np.testing.assert_array_equal(ds["hidden"].sel(sel).values, tr["h"])
        if net.has_cell_state:
            np.testing.assert_array_equal(ds["cell"].sel(sel).values, tr["c"])
        for j, gate in enumerate(GATE_NAMES[cell]):
            np.testing.assert_array_equal(ds[gate].sel(sel).values, tr["gates"][:, :, j])
    assert np.all(np.isnan(ds["hidden"].values[2, 1:])) and not np.any(
        np.isnan(ds["hidden"].values[0]))
    if cell == "cifg":
        np.testing.assert_allclose(ds["forget_gate"], 1 - ds["input_gate"])


def test_saturation_fractions_counted_over_valid_steps():
    net = RecurrentNetwork(2, 4, cell="lstm", random_state=1)
    X = _X(B=4, T=9, lengths=[9, 5, 2, 9], scale=3.0)
    ds = inspect(net, X)
    f = ds["forget_gate"].values[:, :, 0, :]                   # (sample, time, unit)
    valid = ~np.isnan(f[:, :, 0])
    n = valid.sum()
    assert n == 9 + 5 + 2 + 9
    low = (f[valid] < 0.1).sum(axis=0) / n
    high = (f[valid] > 0.9).sum(axis=0) / n
    np.testing.assert_allclose(ds["forget_gate_saturation"].sel(side="low", layer=0), low)
    np.testing.assert_allclose(ds["forget_gate_saturation"].sel(side="high", layer=0), high)
    assert "candidate_saturation" not in ds and ds.attrs["saturation_high"] == 0.9
    # a saturated network: big inputs and weights push the gates to 0 or 1
    net.params[:] *= 20
    sat = inspect(net, X)["input_gate_saturation"].sum("side")
    assert float(sat.mean()) > 0.8


@given(labeled_sequences(n_features=2, max_magnitude=5.0))
def test_inspect_keeps_the_input_labels(da):
    tdim, fdim = da.dims[-2:]
    net = RecurrentNetwork(2, 3, cell="gru", random_state=0)
    ds = inspect(Wrapper(net), da, time_dim=tdim, feature_dim=fdim)
    sample_dims = da.dims[:-2]
    assert ds["hidden"].dims == sample_dims + (tdim, "layer", "unit")
    for d in sample_dims + (tdim,):
        if d in da.coords:
            assert ds[d].equals(da[d])
    values = da.transpose(*sample_dims, tdim, fdim).values.reshape(-1, da.sizes[tdim], 2)
    np.testing.assert_array_equal(
        ds["hidden"].values.reshape(-1, da.sizes[tdim], 1, 3)[:, :, 0],
        net.trace(values)[0]["h"])


def test_inspect_estimator_hook_and_errors():
    net = RecurrentNetwork(2, 3, random_state=0)
    X = _X()

    class Scaled(Wrapper):
        def _network_input(self, X):
            from seqlstm.data import to_sequences

            data = to_sequences(X)
            return data.values * 2.0, data.lengths, data

    np.testing.assert_array_equal(inspect(Scaled(net), X)["hidden"].values[:, :, 0],
                                  net.trace(2.0 * X)[0]["h"])
    with pytest.raises(TypeError, match="network_"):
        inspect(object(), X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_inspect_and_gradient_flow_of_a_framed_model_on_unlabeled_time():
    """make_adding's time dim has no coordinate; a model reading frames inspects it, with the
    frames as the time axis (still without a coordinate)."""
    from seqlstm import LSTMRegressor

    X, y = make_adding(8, length=60, random_state=0)
    assert "time" not in X.coords and X.sizes["time"] > 64
    model = LSTMRegressor(hidden_size=3, max_iter=1, random_state=0).fit(X, y)
    assert model.frame_stride_ == 2
    n_frames = -(-X.sizes["time"] // 2)
    ds = inspect(model, X)
    assert ds.sizes["time"] == n_frames and "time" not in ds.coords
    values, _, _ = model._network_input(X)
    np.testing.assert_array_equal(ds["hidden"].values[:, :, 0],
                                  model.network_.trace(values)[0]["h"])
    assert model.inspect(X).identical(ds)
    flow = gradient_flow(model, X, y)
    assert flow.sizes["lag"] == n_frames and np.isfinite(flow.sel(lag=0)).all()


# --------------------------------------------------------------------------- gradient flow
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_gradient_flow_matches_vjp_without_target(cell):
    net = RecurrentNetwork(2, 3, cell=cell, dtype="float64", random_state=0)
    lengths = np.array([7, 5, 3])
    X = _X(lengths=lengths)
    flow = gradient_flow(net, X)
    assert flow.dims == ("wrt", "lag") and list(flow.wrt.values) == ["input", "hidden_l0"]
    assert flow.sizes["lag"] == 7
    G = np.zeros((3, 7, 3))
    G[np.arange(3), lengths - 1] = 1.0                          # d(sum of final output)
    _, dX = net.vjp(X, G)
    norms = np.linalg.norm(dX, axis=2)
    for lag in range(7):
        rows = [b for b in range(3) if lengths[b] - 1 - lag >= 0]
        expect = np.mean([norms[b, lengths[b] - 1 - lag] for b in rows])
        assert float(flow.sel(wrt="input", lag=lag)) == pytest.approx(expect, rel=1e-12)
    # lag 0 of the hidden state: dL/dh_last = ones -> norm sqrt(H)
    assert float(flow.sel(wrt="hidden_l0", lag=0)) == pytest.approx(np.sqrt(3))


def test_gradient_flow_with_loss_equals_finite_differences():
    net = RecurrentNetwork(2, 3, num_layers=2, cell="lstm", bidirectional=True, output_size=2,
                           dtype="float64", random_state=3)
    X = _X(B=1, T=5)
    y = np.array([[0.3, -0.2]])
    flow = gradient_flow(net, X, y, loss="mse")
    assert list(flow.wrt.values) == ["input", "hidden_l0", "hidden_l0_reverse", "hidden_l1",
                                     "hidden_l1_reverse"]

    def loss(Xp):
        return float(np.sum((net.forward_last(Xp) - y) ** 2))

    eps = 1e-6
    fd = np.zeros((5, 2))
    for t in range(5):
        for f in range(2):
            Xp = X.copy()
            Xp[0, t, f] += eps
            up = loss(Xp)
            Xp[0, t, f] -= 2 * eps
            fd[t, f] = (up - loss(Xp)) / (2 * eps)
    expect = np.linalg.norm(fd, axis=1)[::-1]                   # by lag
    np.testing.assert_allclose(flow.sel(wrt="input").values, expect, rtol=1e-5, atol=1e-10)


def test_gradient_flow_losses_and_estimator():
    net = RecurrentNetwork(2, 3, cell="gru", output_size=4, dtype="float64", random_state=0)
    X = _X(lengths=[7, 6, 2])

    class Classifier(Wrapper):
        classes_ = np.array(["a", "b", "c", "d"])

    flow = gradient_flow(Classifier(net), X, np.array(["b", "d", "a"]))
    assert flow.attrs["loss"] == "cross_entropy"
    assert np.all(np.isfinite(flow.values))
    g = gradient_flow(net, X, np.zeros((3, 2)), loss="gaussian")
    assert g.attrs["loss"] == "gaussian" and np.all(np.isfinite(g.values))
    # mae and quantiles (at the model's levels, by default 0.1, 0.5, 0.9): the training loss
    y4 = np.random.default_rng(1).standard_normal((3, 4))
    mae = gradient_flow(net, X, y4, loss="mae")
    assert mae.attrs["loss"] == "mae" and np.all(np.isfinite(mae.values))
    assert not np.allclose(mae.values, gradient_flow(net, X, y4, loss="mse").values)
    net4 = RecurrentNetwork(2, 3, cell="gru", output_size=4, dtype="float64", random_state=0)

    class Quantiles(Wrapper):
        loss, quantiles = "quantile", (0.2, 0.4, 0.6, 0.8)

    q = gradient_flow(Quantiles(net4), X, np.zeros((3, 1)))
    assert q.attrs["loss"] == "quantile" and np.all(np.isfinite(q.values))
    with pytest.raises(ValueError, match="multiple of 3"):
        gradient_flow(net, X, np.zeros((3, 1)), loss="quantile")
    with pytest.raises(ValueError, match="loss"):
        gradient_flow(net, X, np.zeros((3, 4)), loss="hinge")


@st.composite
def _small_case(draw):
    cell = draw(st.sampled_from(["lstm", "peephole", "cifg", "gru", "rnn"]))
    T = draw(st.integers(1, 6))
    lengths = draw(st.lists(st.integers(1, T), min_size=1, max_size=3))
    lengths[0] = T
    return cell, T, np.array(lengths)


@given(_small_case())
def test_gradient_flow_shape_and_nan_beyond_reach(case):
    cell, T, lengths = case
    net = RecurrentNetwork(2, 2, cell=cell, output_size=1, random_state=0)
    X = _X(B=len(lengths), T=T, lengths=lengths)
    flow = gradient_flow(net, X, np.zeros(len(lengths)))
    assert flow.sizes["lag"] == T
    assert np.all(np.isfinite(flow.values)) and np.all(flow.values >= 0)


def _train(cell, steps=1500, hidden_size=32, length=52, learning_rate=3e-3):
    net = RecurrentNetwork(2, hidden_size, cell=cell, output_size=1, random_state=0)
    opt = Adam(learning_rate=learning_rate)
    rng = np.random.RandomState(0)
    for _ in range(steps):
        X, y = make_adding(32, length=length, random_state=rng)
        _, grad = net.loss_and_grad(X.values, y.values[:, None])
        opt.update_params(net.params, grad)
    return net


def test_gradient_flow_lstm_keeps_long_lags_that_rnn_loses():
    """The example's experiment on a tiny trained pair (same data, steps, size, optimiser).

    Measured on the development machine: the LSTM solves the task (test accuracy ~0.99 at
    |error| < 0.04) and its input gradient at lag 50 (~2.5e-3) is within a factor ~3 of lag
    0, while the RNN's falls ~1000x to ~1e-5: a ratio of ~280 at lag 50."""
    X, y = make_adding(256, length=52, random_state=12345)
    flows, accuracy = {}, {}
    for cell in ("rnn", "lstm"):
        net = _train(cell)
        accuracy[cell] = adding_accuracy(y.values, net.forward_last(X.values)[:, 0])
        flows[cell] = gradient_flow(net, X, y.values[:, None]).sel(wrt="input")
    rnn, lstm = flows["rnn"], flows["lstm"]
    assert accuracy["lstm"] > 0.8 > accuracy["rnn"]
    assert float(lstm.sel(lag=50)) > 100 * float(rnn.sel(lag=50))
    # the RNN's gradient vanishes with the lag, the LSTM's does not
    assert float(rnn.sel(lag=50)) < 1e-2 * float(rnn.sel(lag=0))
    assert float(lstm.sel(lag=50)) > 0.1 * float(lstm.sel(lag=0))
