"""Tests of seqlstm._init: chrono initialisation of the gate biases."""

import json
import pickle

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone

import seqlstm.io
from _files import write_back
from seqlstm import RecurrentNetwork
from seqlstm._init import apply_chrono, chrono_bias, chrono_units
from seqlstm.estimators import LSTMClassifier, LSTMRegressor
from seqlstm.io import load

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_chrono_bias_exact_values_from_one_uniform_draw():
    b_i, b_f = chrono_bias(7, 100, np.random.default_rng(3))
    expected = np.log(np.random.default_rng(3).uniform(1.0, 99.0, 7))
    np.testing.assert_array_equal(b_f, expected)
    np.testing.assert_array_equal(b_i, -b_f)
    assert b_f.dtype == np.float64 and b_f.shape == (7,)
    # an int seed is a generator seed
    np.testing.assert_array_equal(chrono_bias(7, 100, 3)[1], expected)


@pytest.mark.parametrize("t_max", [2, 3, 10, 1000])
def test_chrono_bias_range_and_distribution(t_max):
    _, b_f = chrono_bias(20000, t_max, 0)
    assert b_f.min() >= 0.0 and b_f.max() <= np.log(t_max - 1)
    if t_max > 2:
        # exp(b_f) ~ U(1, t_max - 1): Kolmogorov-Smirnov against the stated law
        result = stats.kstest(np.exp(b_f), stats.uniform(1, t_max - 2).cdf)
        assert result.pvalue > 1e-3
        # and not uniform in log space (b_f ~ U(0, log(t_max - 1)), a plausible slip)
        wrong = stats.kstest(b_f, stats.uniform(0, np.log(t_max - 1)).cdf)
        assert wrong.pvalue < 1e-6
    else:
        np.testing.assert_array_equal(b_f, 0.0)


def expected_chrono(net, t_max, seed):
    """(b_i, b_f) per bias_ih name, drawn in parameter order from one generator."""
    rng = np.random.default_rng(seed)
    return {name: chrono_bias(net.hidden_size, t_max, rng)
            for name in net.named_parameters() if name.startswith("bias_ih")}


@pytest.mark.parametrize("cell", ["lstm", "peephole", "cifg"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_apply_chrono_writes_only_the_gate_bias_slices(cell, dtype):
    H, t_max = 5, 50
    kwargs = dict(input_size=3, hidden_size=H, num_layers=2, cell=cell, bidirectional=True,
                  output_size=2, dtype=dtype, random_state=0)
    net = RecurrentNetwork(**kwargs)
    for name, view in net.named_parameters().items():
        if name.startswith("bias_hh"):
            view[...] = 0.5          # nonzero, so that zeroing the chrono slices shows
    before = {k: v.copy() for k, v in net.named_parameters().items()}
    assert apply_chrono(net, t_max, 11) is net
    expected = expected_chrono(net, t_max, 11)
    assert len(expected) == 4        # 2 layers x 2 directions
    after = net.named_parameters()
    changed = slice(0, H) if cell == "cifg" else slice(0, 2 * H)
    for name, value in after.items():
        if name.startswith("bias_ih"):
            b_i, b_f = expected[name]
            hh = after[name.replace("bias_ih", "bias_hh")]
            np.testing.assert_array_equal(value[:H], b_i.astype(dtype))
            if cell == "cifg":       # f = 1 - sigmoid(z_i) = sigmoid(-z_i): bias -b_f on i
                np.testing.assert_array_equal(-value[:H], b_f.astype(dtype))
            else:
                np.testing.assert_array_equal(value[H:2 * H], b_f.astype(dtype))
            # the gate sees bias_ih + bias_hh: the chrono value itself
            np.testing.assert_array_equal(hh[changed], 0.0)
            np.testing.assert_array_equal((value + hh)[changed], value[changed])
            np.testing.assert_array_equal(value[changed.stop:], before[name][changed.stop:])
            np.testing.assert_array_equal(hh[changed.stop:], 0.5)
        elif not name.startswith("bias_hh"):
            np.testing.assert_array_equal(value, before[name])    # weights, peepholes, head
    # the flat vector is what changed (the views are views)
    assert not np.array_equal(net.params, np.concatenate([v.ravel() for v in before.values()]))


def test_apply_chrono_forget_gate_memory_in_range():
    net = apply_chrono(RecurrentNetwork(2, 64, random_state=0), 100, 0)
    b = net.named_parameters()["bias_ih_l0"]
    b_f = b[64:128].astype(np.float64)
    assert (b_f >= 0).all() and (b_f <= np.log(99) + 1e-6).all()
    np.testing.assert_array_equal(b[:64], -b[64:128])
    # characteristic forget time 1 / (1 - sigmoid(b_f)) = 1 + exp(b_f) lies in [2, t_max]
    memory = 1 + np.exp(b_f)
    assert memory.min() >= 2 - 1e-5 and memory.max() <= 100 + 1e-3


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_apply_chrono_rejects_cells_without_forget_gate(cell):
    net = RecurrentNetwork(2, 3, cell=cell, random_state=0)
    before = net.get_flat()
    with pytest.raises(ValueError, match=f"t_max: .*LSTM-family.*cell='{cell}'"):
        apply_chrono(net, 10, 0)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("t_max", [1, 0, -5, 2.5, 10.0, True, "10", None])
def test_bad_t_max(t_max):
    net = RecurrentNetwork(2, 3, random_state=0)
    with pytest.raises(ValueError, match="t_max: expected an int >= 2"):
        apply_chrono(net, t_max, 0)
    if t_max is not None:
        with pytest.raises(ValueError, match="t_max: expected an int >= 2"):
            chrono_bias(3, t_max, 0)


@pytest.mark.parametrize("hidden_size", [0, -1, 2.0, None])
def test_bad_hidden_size(hidden_size):
    with pytest.raises(ValueError, match="hidden_size: expected a positive int"):
        chrono_bias(hidden_size, 10, 0)


# ---------------------------------------------------------------------------------------------
# estimators


def adding_like(n=24, T=9, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 2))
    return X, X[:, :, 0].sum(axis=1)


def initial_network(monkeypatch, model, X, y):
    """The network ``model.fit`` builds, before any training step."""
    import seqlstm.estimators._base as base

    monkeypatch.setattr(base, "run_epochs", lambda *args, **kwargs: None)
    model._fit(X, y, incremental=False)
    return model.network_


@pytest.mark.parametrize("cell", ["lstm", "peephole", "cifg"])
def test_estimator_applies_chrono_deterministically(monkeypatch, cell):
    X, y = adding_like()
    nets = [initial_network(monkeypatch, LSTMRegressor(hidden_size=4, cell=cell, random_state=rs,
                                                       chrono_t_max=30), X, y)
            for rs in (0, 0, 1)]
    np.testing.assert_array_equal(nets[0].params, nets[1].params)
    assert not np.array_equal(nets[0].params, nets[2].params)
    plain = initial_network(monkeypatch, LSTMRegressor(hidden_size=4, cell=cell, random_state=0),
                            X, y)
    # chrono = the plain initialisation with the gate bias slices rewritten
    H = 4
    b = nets[0].named_parameters()["bias_ih_l0"]
    f = b[:H] if cell == "cifg" else b[H:2 * H]
    assert (np.abs(f) <= np.log(29) + 1e-6).all()
    np.testing.assert_array_equal(nets[0].named_parameters()["bias_hh_l0"][:2 * H], 0)
    for name, value in nets[0].named_parameters().items():
        if not name.startswith("bias_"):
            np.testing.assert_array_equal(value, plain.named_parameters()[name])
    assert not np.array_equal(nets[0].named_parameters()["bias_ih_l0"],
                              plain.named_parameters()["bias_ih_l0"])


def test_estimator_chrono_values_follow_the_first_seed(monkeypatch):
    X, y = adding_like()
    model = LSTMRegressor(hidden_size=4, random_state=5, chrono_t_max=30)
    net = initial_network(monkeypatch, model, X, y)
    seed = model._seeds_[0]
    expected = apply_chrono(RecurrentNetwork(2, 4, output_size=1, random_state=seed,
                                             readout=model.readout), 30,
                            (seed, 1))
    np.testing.assert_array_equal(net.params, expected.params)


@pytest.mark.parametrize("Est", [LSTMRegressor, LSTMClassifier])
@pytest.mark.parametrize("bad", [1, 0, 2.5, "100"])
def test_estimator_bad_chrono_t_max(Est, bad):
    X, y = adding_like()
    model = Est(hidden_size=3, max_iter=1, chrono_t_max=bad)
    with pytest.raises(ValueError, match="chrono_t_max"):
        model.fit(X, y > 0 if Est is LSTMClassifier else y)
    assert not hasattr(model, "network_")


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_estimator_chrono_needs_lstm_family_cell(cell):
    X, y = adding_like()
    model = LSTMRegressor(hidden_size=3, max_iter=1, cell=cell, chrono_t_max=20)
    with pytest.raises(ValueError, match=f"chrono_t_max: .*cell='{cell}'"):
        model.fit(X, y)
    assert not hasattr(model, "network_")
    LSTMRegressor(hidden_size=3, max_iter=1, cell=cell, chrono_t_max=None).fit(X, y)


def test_estimator_round_trip_keeps_chrono_t_max(tmp_path):
    X, y = adding_like()
    model = LSTMRegressor(hidden_size=3, max_iter=2, random_state=0, chrono_t_max=9).fit(X, y)
    assert clone(model).chrono_t_max == 9
    assert model.get_params()["chrono_t_max"] == 9
    model.save(tmp_path / "m.nc")
    loaded = load(tmp_path / "m.nc")
    assert loaded.chrono_t_max == 9 and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.network_.params, model.network_.params)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # a refit of the loaded model starts from the same chrono initialisation
    np.testing.assert_array_equal(clone(loaded).fit(X, y).network_.params,
                                  model.network_.params)


def test_file_without_chrono_attribute_loads_with_default(tmp_path):
    X, y = adding_like()
    model = LSTMClassifier(hidden_size=3, max_iter=1, random_state=0).fit(X, y > 0)
    path = tmp_path / "old.nc"
    model.save(path)
    variables, attrs, _ = seqlstm.io.read_netcdf(path)
    del attrs["hp_chrono_t_max"]     # as written before the parameter existed
    write_back(path, variables, attrs, path)
    loaded = load(path)
    assert loaded.chrono_t_max is None
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


# ---------------------------------------------------------------------------------------------
# chrono_t_max="auto": the number of network steps of the longest training sequence


def ragged_like(n=24, T=10, seed=0):
    """Sequences of 4 to `T` steps (NaN after the end), the longest `T` steps."""
    X, y = adding_like(n, T, seed)
    lengths = np.random.default_rng(seed + 1).integers(4, T + 1, n)
    lengths[3] = T
    for k, length in enumerate(lengths):
        X[k, length:] = np.nan
    return X, np.array([X[k, :length, 0].sum() for k, length in enumerate(lengths)])


@pytest.mark.parametrize("cell", ["lstm", "peephole", "cifg"])
@pytest.mark.parametrize("stride, steps", [(1, 10), (3, 4), (4, 3)])
def test_estimator_chrono_auto_is_the_network_steps(monkeypatch, cell, stride, steps):
    X, y = ragged_like(T=10)
    params = dict(hidden_size=4, cell=cell, random_state=3, frame_stride=stride)
    auto = LSTMRegressor(chrono_t_max="auto", **params)
    net = initial_network(monkeypatch, auto, X, y)
    assert auto.chrono_t_max_ == steps and auto.frame_stride_ == stride
    assert auto.chrono_t_max == "auto"      # the parameter is left as the user gave it
    explicit = LSTMRegressor(chrono_t_max=steps, **params)
    expected = initial_network(monkeypatch, explicit, X, y)
    assert explicit.chrono_t_max_ == steps
    np.testing.assert_array_equal(net.params, expected.params)   # bit for bit
    plain = initial_network(monkeypatch, LSTMRegressor(chrono_t_max=None, **params), X, y)
    assert not np.array_equal(net.params, plain.params)


def test_estimator_chrono_auto_counts_frames_of_auto_stride(monkeypatch):
    X, y = adding_like(n=8, T=200)   # "auto" frames sequences longer than 64 steps
    model = LSTMRegressor(hidden_size=4, random_state=0, chrono_t_max="auto")
    net = initial_network(monkeypatch, model, X, y)
    s = model.frame_stride_
    assert s > 1 and model.chrono_t_max_ == -(-200 // s)
    expected = initial_network(monkeypatch, LSTMRegressor(hidden_size=4, random_state=0,
                                                          chrono_t_max=-(-200 // s)), X, y)
    np.testing.assert_array_equal(net.params, expected.params)


def test_estimator_chrono_auto_counts_training_sequences_only(monkeypatch):
    # the validation block (the last samples) is held out of the training sequences, so its
    # longer sequences do not set T_max
    X, y = adding_like(n=40, T=12)
    X[:20, 6:] = np.nan
    model = LSTMRegressor(hidden_size=4, random_state=0, chrono_t_max="auto",
                          early_stopping=True, validation_split="time",
                          validation_fraction=0.25, frame_stride=1)
    initial_network(monkeypatch, model, X, y)
    train, val = model._validation_split(y, X.shape[1])
    assert train.max() < 20 and val.min() >= 20
    assert model.chrono_t_max_ == 6


@pytest.mark.parametrize("Est", [LSTMRegressor, LSTMClassifier])
@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_estimator_chrono_auto_is_none_without_forget_gate(monkeypatch, Est, cell):
    X, y = ragged_like()
    y = y > 0 if Est is LSTMClassifier else y
    auto = Est(hidden_size=4, cell=cell, random_state=0, chrono_t_max="auto")
    net = initial_network(monkeypatch, auto, X, y)
    assert auto.chrono_t_max_ is None
    plain = initial_network(monkeypatch, Est(hidden_size=4, cell=cell, random_state=0,
                                             chrono_t_max=None), X, y)
    np.testing.assert_array_equal(net.params, plain.params)
    monkeypatch.undo()   # and a real fit runs
    assert Est(hidden_size=3, max_iter=1, cell=cell, chrono_t_max="auto").fit(X, y).n_iter_ == 1


def test_estimator_chrono_auto_one_step_sequences_is_none(monkeypatch):
    X, y = adding_like()
    X2 = X[:, :1, :]                 # sequences of one step, no lag to remember
    model = LSTMRegressor(hidden_size=4, random_state=0, chrono_t_max="auto")
    net = initial_network(monkeypatch, model, X2, y)
    assert model.chrono_t_max_ is None
    plain = initial_network(monkeypatch, LSTMRegressor(hidden_size=4, random_state=0), X2, y)
    np.testing.assert_array_equal(net.params, plain.params)


def test_estimator_explicit_and_none_chrono_recorded(monkeypatch):
    X, y = adding_like()
    for value in (None, 7):
        model = LSTMRegressor(hidden_size=4, random_state=0, chrono_t_max=value)
        initial_network(monkeypatch, model, X, y)
        assert model.chrono_t_max_ == value


@pytest.mark.parametrize("bad", ["Auto", "none", ""])
def test_estimator_bad_chrono_t_max_strings(bad):
    X, y = adding_like()
    model = LSTMRegressor(hidden_size=3, max_iter=1, chrono_t_max=bad)
    with pytest.raises(ValueError, match="chrono_t_max.*'auto'"):
        model.fit(X, y)
    assert not hasattr(model, "network_")


def test_estimator_round_trip_keeps_chrono_auto(tmp_path):
    X, y = ragged_like()
    model = LSTMClassifier(hidden_size=3, max_iter=2, random_state=0, chrono_t_max="auto",
                           frame_stride=3).fit(X, y > 0)
    assert model.chrono_t_max_ == 4
    model.save(tmp_path / "m.nc")
    loaded = load(tmp_path / "m.nc")
    assert loaded.chrono_t_max == "auto" and loaded.chrono_t_max_ == 4
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    refit = clone(loaded).fit(X, y > 0)
    assert refit.chrono_t_max_ == 4
    np.testing.assert_array_equal(refit.network_.params, model.network_.params)
    assert pickle.loads(pickle.dumps(model)).chrono_t_max_ == 4


@pytest.mark.parametrize("value", [None, 9])
def test_file_without_fitted_chrono_keeps_its_initialisation(tmp_path, value):
    """A file written before ``chrono_t_max_`` existed: the fitted value is the parameter's;
    without ``hp_chrono_t_max`` either, the parameter is None (how such models were made)."""
    X, y = adding_like()
    model = LSTMRegressor(hidden_size=3, max_iter=1, random_state=0, chrono_t_max=value)
    model.fit(X, y)
    path = tmp_path / "old.nc"
    model.save(path)
    variables, attrs, _ = seqlstm.io.read_netcdf(path)
    fitted = json.loads(attrs["fitted_json"])
    del fitted["chrono_t_max"]
    attrs["fitted_json"] = json.dumps(fitted)
    if value is None:
        del attrs["hp_chrono_t_max"]
    write_back(path, variables, attrs, path)
    loaded = load(path)
    assert loaded.chrono_t_max == value and loaded.chrono_t_max_ == value
    # a refit of the loaded model starts from the initialisation the file's model had
    np.testing.assert_array_equal(clone(loaded).fit(X, y).network_.params,
                                  model.network_.params)


# ---------------------------------------------------------------------------------------------
# issue 19's narrower variants (measured, not estimator values): chrono on a share of the units,
# log-uniform time scales


def test_chrono_bias_log_spread_exact_values_and_law():
    b_i, b_f = chrono_bias(7, 100, np.random.default_rng(3), spread="log")
    np.testing.assert_array_equal(b_f, np.random.default_rng(3).uniform(0.0, np.log(99.0), 7))
    np.testing.assert_array_equal(b_i, -b_f)
    _, b_f = chrono_bias(20000, 1000, 0, spread="log")
    assert b_f.min() >= 0.0 and b_f.max() <= np.log(999)
    assert stats.kstest(b_f, stats.uniform(0, np.log(999)).cdf).pvalue > 1e-3
    # not the uniform time scales of the default spread
    assert stats.kstest(np.exp(b_f), stats.uniform(1, 998).cdf).pvalue < 1e-6


@pytest.mark.parametrize("spread", ["Log", "", None, "linear"])
def test_bad_spread(spread):
    with pytest.raises(ValueError, match="spread: expected one of"):
        chrono_bias(3, 10, 0, spread=spread)
    net = RecurrentNetwork(2, 3, random_state=0)
    before = net.get_flat()
    with pytest.raises(ValueError, match="spread: expected one of"):
        apply_chrono(net, 10, 0, spread=spread)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("H, fraction, k", [(64, 0.5, 32), (5, 0.5, 3), (1, 0.5, 1),
                                            (7, 1.0, 7), (10, 0.25, 3), (4, 1, 4)])
def test_chrono_units(H, fraction, k):
    assert chrono_units(H, fraction) == k


@pytest.mark.parametrize("fraction", [0, 0.0, -0.5, 1.5, True, "0.5", None])
def test_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction: expected a number in \\(0, 1\\]"):
        chrono_units(4, fraction)
    net = RecurrentNetwork(2, 3, random_state=0)
    before = net.get_flat()
    with pytest.raises(ValueError, match="fraction"):
        apply_chrono(net, 10, 0, fraction=fraction)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("cell", ["lstm", "peephole", "cifg"])
@pytest.mark.parametrize("spread", ["uniform", "log"])
def test_apply_chrono_fraction_rewrites_only_the_first_units(cell, spread):
    H, k, t_max = 5, 3, 40
    kwargs = dict(input_size=3, hidden_size=H, num_layers=2, cell=cell, bidirectional=True,
                  output_size=2, random_state=0)
    net = RecurrentNetwork(**kwargs)
    for name, view in net.named_parameters().items():
        if name.startswith("bias_hh"):
            view[...] = 0.5
    before = {k_: v.copy() for k_, v in net.named_parameters().items()}
    apply_chrono(net, t_max, 7, fraction=0.5, spread=spread)
    rng = np.random.default_rng(7)   # one generator, k units per layer direction in order
    expected = {name: chrono_bias(k, t_max, rng, spread)
                for name in net.named_parameters() if name.startswith("bias_ih")}
    assert len(expected) == 4
    after = net.named_parameters()
    chrono_idx = list(range(k)) + ([] if cell == "cifg" else list(range(H, H + k)))
    for name, value in after.items():
        if name.startswith("bias_ih"):
            b_i, b_f = expected[name]
            hh = after[name.replace("bias_ih", "bias_hh")]
            np.testing.assert_array_equal(value[:k], b_i.astype(value.dtype))
            if cell != "cifg":
                np.testing.assert_array_equal(value[H:H + k], b_f.astype(value.dtype))
            np.testing.assert_array_equal(hh[chrono_idx], 0.0)
            rest = np.setdiff1d(np.arange(value.size), chrono_idx)
            # the other units keep the network's initialisation (forget bias 1 for lstm)
            np.testing.assert_array_equal(value[rest], before[name][rest])
            np.testing.assert_array_equal(hh[rest], 0.5)
            if cell != "cifg":
                np.testing.assert_array_equal(value[H + k:2 * H], 1.0)
        elif not name.startswith("bias_hh"):
            np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize("Est", [LSTMRegressor, LSTMClassifier])
def test_estimator_default_is_chrono_auto(monkeypatch, Est):
    """Issue 19: the default chrono-initialises the LSTM family over the network steps of the
    longest training sequence, exactly as ``chrono_t_max="auto"``; GRU and RNN keep theirs."""
    X, y = ragged_like(T=10)
    y = y > 0 if Est is LSTMClassifier else y
    assert Est().chrono_t_max == "auto"
    for cell in ("lstm", "peephole", "cifg"):
        model = Est(hidden_size=4, cell=cell, random_state=0, frame_stride=1)
        net = initial_network(monkeypatch, model, X, y)
        assert model.chrono_t_max_ == 10
        explicit = initial_network(monkeypatch, Est(hidden_size=4, cell=cell, random_state=0,
                                                    frame_stride=1, chrono_t_max=10), X, y)
        np.testing.assert_array_equal(net.params, explicit.params)
    for cell in ("gru", "rnn"):
        model = Est(hidden_size=4, cell=cell, random_state=0)
        net = initial_network(monkeypatch, model, X, y)
        assert model.chrono_t_max_ is None
        plain = initial_network(monkeypatch, Est(hidden_size=4, cell=cell, random_state=0,
                                                 chrono_t_max=None), X, y)
        np.testing.assert_array_equal(net.params, plain.params)
