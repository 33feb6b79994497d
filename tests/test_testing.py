"""Tests of seqlstm.testing: strategies, every stability property (passing on the real network
and failing on a deliberately broken one), and the check_stability battery and report."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

import reference
from seqlstm import LSTMRegressor, RecurrentNetwork
from seqlstm._threads import numba_threads
from seqlstm.data import to_sequences
from seqlstm.testing import (PROFILES, StabilityError, StabilityReport, check_stability,
                             load_profile)
from seqlstm.testing import properties as P
from seqlstm.testing.strategies import (MAX_MAGNITUDE, build_network, labeled_sequences,
                                        network_configs, padded_sequences, sequences)

CELLS = ("lstm", "peephole", "cifg", "gru", "rnn")


@pytest.fixture(autouse=True)
def one_numba_thread():
    """Run with one Numba thread: results are identical (checked by thread_agreement) and
    small calls are far cheaper when another process occupies the second core."""
    with numba_threads(1):
        yield


def _X(seed=0, B=3, T=6, n_in=2, scale=1.0, lengths=None):
    rng = np.random.default_rng(seed)
    X = scale * rng.standard_normal((B, T, n_in))
    if lengths is not None:
        X[np.arange(T)[None, :] >= np.asarray(lengths)[:, None]] = np.nan
    return X


def configs_and_inputs(max_magnitude=None, **kwargs):
    """A network configuration and matching padded input."""
    @st.composite
    def strat(draw):
        config = draw(network_configs(**kwargs))
        mag = (MAX_MAGNITUDE[config["dtype"]] if max_magnitude is None else max_magnitude)
        X = draw(sequences(n_features=config["input_size"], max_magnitude=mag))
        return config, X
    return strat()


# ------------------------------------------------------------------------- broken networks
class ReferenceNetwork(RecurrentNetwork):
    """forward/vjp/trace computed by the plain NumPy reference (single layer, no head), with a
    replaceable sigmoid: the harness for broken activation functions."""

    @staticmethod
    def sigmoid(z):
        return expit(z)

    def _kw(self):
        return dict(cell=self.cell, num_layers=self.num_layers,
                    bidirectional=self.bidirectional, hidden_size=self.hidden_size)

    def _params(self):
        return {k: v.astype(np.float64) for k, v in self.named_parameters().items()}

    def _call(self, fn, *args, **kwargs):
        old = reference.sigmoid
        reference.sigmoid = self.sigmoid
        try:
            with np.errstate(all="ignore"):
                return fn(*args, **kwargs)
        finally:
            reference.sigmoid = old

    @staticmethod
    def _lengths(X, lengths):
        return P._valid(X)[1] if lengths is None else lengths

    def forward(self, X, lengths=None, **_):
        X = np.asarray(X, np.float64)
        out, _ = self._call(reference.forward, self._params(), X,
                            lengths=self._lengths(X, lengths), **self._kw())
        return out

    def forward_last(self, X, lengths=None):
        X = np.asarray(X, np.float64)
        _, lengths = P._valid(X) if lengths is None else (None, lengths)
        return reference.summary(self.forward(X), lengths, self.hidden_size, self.bidirectional)

    def vjp(self, X, grad_outputs, lengths=None, tbptt=None):
        X = np.asarray(X, np.float64)
        return self._call(reference.vjp, self._params(), X,
                          np.asarray(grad_outputs, np.float64),
                          lengths=self._lengths(X, lengths), tbptt=tbptt, **self._kw())

    def flatten_grads(self, grads):
        return np.concatenate([np.ravel(grads[n]) for n in self.shapes])

    def trace(self, X, lengths=None):
        assert self.num_layers == 1 and not self.bidirectional
        X = np.asarray(X, np.float64)
        mask, _ = P._valid(X)
        B, T, _ = X.shape
        H = self.hidden_size
        p = {k[:-3]: v for k, v in self._params().items()}     # strip "_l0"
        keys = {"lstm": "ifgo", "peephole": "ifgo", "cifg": "igo", "gru": "rzn", "rnn": "h"}
        blocks = keys[self.cell]
        h_all = np.full((B, T, H), np.nan)
        c_all = np.full((B, T, H), np.nan)
        gates = np.full((B, T, len(blocks), H), np.nan)
        for b in range(B):
            h, c = np.zeros(H), np.zeros(H)
            for t in range(T):
                if not mask[b, t]:
                    continue
                h, c_new, cache = self._call(reference.cell_forward, self.cell, p, X[b, t], h, c)
                c = c_new if c_new is not None else c
                h_all[b, t], c_all[b, t] = h, c
                gates[b, t] = [cache[k] for k in blocks]
        entry = {"layer": 0, "direction": 0, "h": h_all, "gates": gates}
        if self.has_cell_state:
            entry["c"] = c_all
        return [entry]


class UnstableSigmoid(ReferenceNetwork):
    """sigmoid(z) = e^z / (1 + e^z): inf / inf = NaN for large z."""

    @staticmethod
    def sigmoid(z):
        e = np.exp(z)
        return e / (1.0 + e)


class OvershootingSigmoid(ReferenceNetwork):
    """A mis-scaled sigmoid with range [0, 1.5]."""

    @staticmethod
    def sigmoid(z):
        return 1.5 * expit(z)


class DroppedMask(RecurrentNetwork):
    """Treats NaN padding as zeros (the padding mask is dropped)."""

    def forward(self, X, lengths=None, **kw):
        return super().forward(np.nan_to_num(np.asarray(X, np.float64)), **kw)

    def forward_last(self, X, lengths=None):
        return super().forward_last(np.nan_to_num(np.asarray(X, np.float64)))

    def vjp(self, X, grad_outputs, lengths=None, tbptt=None):
        return super().vjp(np.nan_to_num(np.asarray(X, np.float64)),
                           np.nan_to_num(grad_outputs), tbptt=tbptt)


class WrongGradientSign(RecurrentNetwork):
    """The recurrent weight gradient has the wrong sign."""

    def vjp(self, X, grad_outputs, lengths=None, tbptt=None):
        grads, dX = super().vjp(X, grad_outputs, lengths, tbptt)
        grads["weight_hh_l0"] = -grads["weight_hh_l0"]
        return grads, dX


class NonCausal(RecurrentNetwork):
    """Adds each sequence's time mean to every step (looks into the future)."""

    def forward(self, X, lengths=None, **kw):
        X = np.asarray(X, np.float64)
        return super().forward(X + 0.5 * np.nanmean(X, axis=1, keepdims=True), lengths, **kw)


class Noisy(RecurrentNetwork):
    """Adds unseeded noise to the outputs."""

    def forward(self, X, lengths=None, **kw):
        out = super().forward(X, lengths, **kw)
        return out + 1e-6 * np.random.default_rng().standard_normal(out.shape)


class UnseededInit(RecurrentNetwork):
    """Ignores random_state when initialising."""

    def init_params(self, random_state=None):
        return super().init_params(None)


class SampleIndexed(RecurrentNetwork):
    """Output depends on the sample's position in the batch."""

    def forward(self, X, lengths=None, **kw):
        X = np.asarray(X, np.float64)
        return super().forward(X + 0.1 * np.arange(X.shape[0])[:, None, None], lengths, **kw)


class BatchNormalised(RecurrentNetwork):
    """Centres the input over the batch: permutation-equivariant, but batch-dependent."""

    def forward(self, X, lengths=None, **kw):
        X = np.asarray(X, np.float64)
        return super().forward(X - np.nanmean(X, axis=0, keepdims=True), lengths, **kw)

    def forward_last(self, X, lengths=None):
        X = np.asarray(X, np.float64)
        return super().forward_last(X - np.nanmean(X, axis=0, keepdims=True), lengths)


class IgnoresK2(RecurrentNetwork):
    """TBPTT that truncates after k1 steps whatever k2 is."""

    def vjp(self, X, grad_outputs, lengths=None, tbptt=None):
        if tbptt is not None:
            k1 = tbptt if np.ndim(tbptt) == 0 else tbptt[0]
            tbptt = (k1, k1)
        return super().vjp(X, grad_outputs, lengths, tbptt)


class HalfPrecision(RecurrentNetwork):
    """The float32 network rounds its outputs through float16."""

    def forward(self, X, lengths=None, **kw):
        out = super().forward(X, lengths, **kw)
        return out.astype(np.float16).astype(out.dtype) if self.dtype == np.float32 else out


# ------------------------------------------------------------------------- strategies
@given(padded_sequences(dtype="float32"))
def test_padded_sequences_padding_and_magnitude(pair):
    X, lengths = pair
    assert X.dtype == np.float32
    mask, found = P._valid(X.astype(np.float64))
    np.testing.assert_array_equal(found, lengths)
    assert lengths.max() == X.shape[1] and lengths.min() >= 1
    assert np.all(np.isnan(X[~mask])) and np.all(np.isfinite(X[mask]))
    assert np.abs(X[mask]).max() <= MAX_MAGNITUDE["float32"]


def test_sequences_reach_extreme_magnitudes():
    seen = []

    @settings(max_examples=30, derandomize=True)
    @given(sequences(dtype="float64"))
    def collect(X):
        seen.append(np.nanmax(np.abs(X)))
    collect()
    assert max(seen) >= 1e50


@given(labeled_sequences())
def test_labeled_sequences_are_valid_seqlstm_input(da):
    tdim, fdim = da.dims[-2:]
    data = to_sequences(da, time_dim=tdim, feature_dim=fdim)
    assert data.sample_dims == da.dims[:-2]
    assert data.n_features == da.sizes[fdim] and data.n_time == da.sizes[tdim]
    assert data.lengths.max() == da.sizes[tdim]
    assert len(set(da.dims)) == da.ndim


@given(network_configs(tbptt=st.one_of(st.none(), st.integers(1, 5))))
def test_network_configs_build(config):
    net = build_network(config)
    assert net.cell == config["cell"] and str(net.dtype) == config["dtype"]
    assert config["tbptt"] is None or config["tbptt"] >= 1


# ------------------------------------------------------------------------- properties hold
@given(configs_and_inputs())
def test_finite_outputs_hold(case):
    config, X = case
    ok, worst = P.finite_outputs(build_network(config), X, random_state=0)
    assert ok, worst


@given(configs_and_inputs())
def test_bounded_states_and_gates_hold(case):
    config, X = case
    net = build_network(config)
    ok, worst = P.bounded_hidden_state(net, X)
    assert ok and worst <= 1.0, worst
    ok, worst = P.bounded_gates(net, X)
    assert ok and worst == 0.0, worst
    if net.has_cell_state:
        ok, worst = P.cell_state_growth(net, X)
        assert ok, worst
    else:
        with pytest.raises(P.NotApplicable):
            P.cell_state_growth(net, X)


@given(configs_and_inputs(max_magnitude=2.0, dtype="float64"))
def test_gradient_finite_differences_hold(case):
    config, X = case
    ok, worst = P.gradient_finite_differences(build_network(config), X, random_state=1)
    assert ok, worst


@given(configs_and_inputs(max_magnitude=100.0))
def test_tbptt_permutation_batch_padding_hold(case):
    config, X = case
    net = build_network(config)
    for prop in (P.tbptt_equals_full, P.permutation_equivariance, P.padding_invariance):
        ok, worst = prop(net, X, random_state=2)
        assert ok, (prop.__name__, worst)
    ok, worst = P.batch_consistency(net, X)
    assert ok, worst


@given(configs_and_inputs(max_magnitude=100.0, bidirectional=False))
def test_causality_holds(case):
    config, X = case
    ok, worst = P.causality(build_network(config), X, random_state=3)
    assert ok, worst


def test_causality_not_applicable_to_bidirectional():
    net = RecurrentNetwork(2, 3, bidirectional=True, random_state=0)
    with pytest.raises(P.NotApplicable):
        P.causality(net, _X())


@given(configs_and_inputs(max_magnitude=2.0))
def test_dtype_agreement_holds(case):
    config, X = case
    ok, worst = P.dtype_agreement(build_network(config), X)
    assert ok, worst


# the costliest property test (two thread counts and a refit per example): half the profile's
# examples (50 in CI)
@settings(max_examples=max(1, settings.default.max_examples // 2))
@given(configs_and_inputs(max_magnitude=100.0))
def test_thread_agreement_and_determinism_hold(case):
    config, X = case
    net = build_network(config)
    assert P.thread_agreement(net, X, random_state=4) == (True, 0.0)
    assert P.refit_determinism(net, X, random_state=config["random_state"]) == (True, 0.0)


# ------------------------------------------------------------------------- broken networks fail
def test_reference_harness_passes():
    """The reference-backed network with the correct sigmoid passes what its broken variants
    fail, so those failures come from the broken sigmoid alone."""
    net = ReferenceNetwork(2, 3, cell="lstm", dtype="float64", random_state=0)
    X = _X(scale=1e6, lengths=[6, 4, 2])
    assert P.finite_outputs(net, X, random_state=0)[0]
    assert P.bounded_hidden_state(net, _X(scale=10))[0]
    assert P.bounded_gates(net, _X(scale=10))[0]
    assert P.cell_state_growth(net, _X(scale=10, T=20))[0]
    real = RecurrentNetwork(2, 3, cell="lstm", dtype="float64")
    real.params[:] = net.params
    np.testing.assert_allclose(net.forward(X), real.forward(X), atol=1e-12)


@pytest.mark.parametrize("cell", ["lstm", "cifg", "gru"])
def test_unstable_sigmoid_fails_finite_outputs(cell):
    net = UnstableSigmoid(2, 3, cell=cell, dtype="float64", random_state=0)
    X = _X(scale=1e6, lengths=[6, 4, 2])
    ok, worst = P.finite_outputs(net, X, random_state=0)
    assert not ok and worst == np.inf
    real = RecurrentNetwork(2, 3, cell=cell, dtype="float64", random_state=0)
    assert P.finite_outputs(real, X, random_state=0)[0]


def test_overshooting_sigmoid_fails_bounds_and_growth():
    net = OvershootingSigmoid(2, 3, cell="lstm", dtype="float64", random_state=0)
    net.named_parameters()["bias_ih_l0"][...] = 3.0         # open every gate
    X = _X(scale=3.0, T=12)
    ok, worst = P.bounded_hidden_state(net, X)
    assert not ok and worst > 1.0
    ok, worst = P.bounded_gates(net, X)
    assert not ok and worst > 0.1
    ok, worst = P.cell_state_growth(net, X)
    assert not ok and worst > 1.0
    gru = OvershootingSigmoid(2, 3, cell="gru", dtype="float64", random_state=0)
    gru.named_parameters()["bias_ih_l0"][...] = 3.0
    assert not P.bounded_gates(gru, X)[0]


def test_dropped_mask_fails_padding_invariance():
    X = _X(lengths=[6, 3, 1])
    net = DroppedMask(2, 3, bidirectional=True, random_state=0)
    ok, worst = P.padding_invariance(net, X, random_state=0)
    assert not ok and worst == np.inf
    real = RecurrentNetwork(2, 3, bidirectional=True, random_state=0)
    assert P.padding_invariance(real, X, random_state=0)[0]


def test_wrong_gradient_sign_fails_finite_differences():
    X = _X(lengths=[6, 5, 4])
    net = WrongGradientSign(2, 3, cell="gru", dtype="float64", random_state=0)
    ok, worst = P.gradient_finite_differences(net, X, random_state=0, n_checks=40)
    assert not ok and worst > 0.5
    real = RecurrentNetwork(2, 3, cell="gru", dtype="float64", random_state=0)
    assert P.gradient_finite_differences(real, X, random_state=0, n_checks=40)[0]


def test_non_causal_forward_fails_causality():
    X = _X(T=8)
    ok, worst = P.causality(NonCausal(2, 3, random_state=0), X, random_state=0)
    assert not ok and worst > 1e-3
    assert P.causality(RecurrentNetwork(2, 3, random_state=0), X, random_state=0)[0]


def test_noise_fails_thread_agreement_and_determinism():
    X = _X()
    net = Noisy(2, 3, random_state=0)
    ok, worst = P.thread_agreement(net, X, random_state=0)
    assert not ok and worst > 0
    assert not P.refit_determinism(net, X, random_state=0)[0]


def test_unseeded_init_fails_refit_determinism():
    ok, worst = P.refit_determinism(UnseededInit(2, 3), _X(), random_state=0)
    assert not ok and worst > 0


def test_sample_dependence_fails_permutation_and_batch():
    X = _X(B=4)
    ok, worst = P.permutation_equivariance(SampleIndexed(2, 3, random_state=0), X,
                                           random_state=0)
    assert not ok and worst > 1e-3
    assert not P.batch_consistency(SampleIndexed(2, 3, random_state=0), X)[0]
    # centring over the batch is permutation-equivariant but not batch-consistent
    net = BatchNormalised(2, 3, random_state=0)
    assert P.permutation_equivariance(net, X, random_state=0)[0]
    ok, worst = P.batch_consistency(net, X)
    assert not ok and worst > 1e-3


def test_ignored_k2_fails_tbptt():
    X = _X(T=8)
    ok, worst = P.tbptt_equals_full(IgnoresK2(2, 3, random_state=0), X, random_state=0)
    assert not ok and worst > 1e-4
    assert P.tbptt_equals_full(RecurrentNetwork(2, 3, random_state=0), X, random_state=0)[0]


def test_half_precision_fails_dtype_agreement():
    X = _X(scale=2.0)
    net = HalfPrecision(2, 8, random_state=0)
    ok, worst = P.dtype_agreement(net, X)
    assert not ok and worst > P.DTYPE_AGREEMENT_TOL
    assert P.dtype_agreement(RecurrentNetwork(2, 8, random_state=0), X)[0]


# ------------------------------------------------------------------------- estimator path
class TinyEstimator:
    """Minimal estimator with the protocol check_stability uses (network_, predict, fit,
    get_params/set_params, save + a loader)."""

    dtype_on_disk = None

    def __init__(self, hidden_size=3, random_state=None, max_iter=5, cell="gru"):
        self.hidden_size, self.random_state, self.max_iter, self.cell = (
            hidden_size, random_state, max_iter, cell)

    def get_params(self, deep=True):
        return {"hidden_size": self.hidden_size, "random_state": self.random_state,
                "max_iter": self.max_iter, "cell": self.cell}

    def set_params(self, **params):
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def _seed(self):
        return self.random_state

    def fit(self, X, y):
        from seqlstm import Adam

        X = np.asarray(X, np.float64)
        self.network_ = RecurrentNetwork(X.shape[2], self.hidden_size, cell=self.cell,
                                         output_size=1, random_state=self._seed())
        opt = Adam(1e-2)
        for _ in range(self.max_iter):
            _, g = self.network_.loss_and_grad(X, np.asarray(y).reshape(-1, 1))
            opt.update_params(self.network_.params, g)
        return self

    def predict(self, X):
        return self.network_.forward_last(np.asarray(X, np.float64))[:, 0]

    def save(self, path):
        p = self.network_.params
        np.save(path, p if self.dtype_on_disk is None else p.astype(self.dtype_on_disk))
        with open(path + ".cfg", "w") as f:
            f.write(f"{self.network_.input_size} {self.hidden_size} {self.cell}")


def tiny_load(path, cls=TinyEstimator):
    with open(path + ".cfg") as f:
        n_in, H, cell = f.read().split()
    est = cls(int(H), cell=cell)
    est.network_ = RecurrentNetwork(int(n_in), int(H), cell=cell, output_size=1)
    est.network_.params[:] = np.load(path + ".npy" if not path.endswith(".npy") else path)
    return est


class LossySave(TinyEstimator):
    dtype_on_disk = np.float16


class UnseededFit(TinyEstimator):
    def _seed(self):
        return None


def _fitted(cls):
    X = _X(B=6, T=5)
    return cls(random_state=0).fit(X, np.linspace(0, 1, 6)), X


def test_estimator_protocol_properties():
    est, X = _fitted(TinyEstimator)
    assert P.save_load_roundtrip(est, X, loader=tiny_load) == (True, 0.0)
    assert P.refit_determinism(est, X, random_state=0) == (True, 0.0)
    assert P.finite_outputs(est, X, random_state=0)[0]
    with pytest.raises(P.NotApplicable):
        P.save_load_roundtrip(RecurrentNetwork(2, 3), X)


def test_lossy_save_fails_round_trip():
    est, X = _fitted(LossySave)
    ok, worst = P.save_load_roundtrip(est, X, loader=tiny_load)
    assert not ok and worst > 0


def test_unseeded_fit_fails_refit_determinism():
    est, X = _fitted(UnseededFit)
    ok, worst = P.refit_determinism(est, X, random_state=0)
    assert not ok and worst > 0


def test_check_stability_on_estimator_protocol():
    est, X = _fitted(TinyEstimator)
    report = check_stability(est, X, max_examples=3, loader=tiny_load)
    assert report.passed, report
    assert report["save_load_roundtrip"].passed is True
    assert report["save_load_roundtrip"].examples == 2
    assert report["refit_determinism"].passed is True
    bad, _ = _fitted(LossySave)
    report = check_stability(bad, X, max_examples=3, loader=tiny_load,
                             properties=["save_load_roundtrip", "finite_outputs"])
    assert not report.passed and [r.name for r in report.failures] == ["save_load_roundtrip"]


def test_check_stability_on_seqlstm_estimator():
    X = _X(B=8, T=6, lengths=[6, 6, 5, 4, 6, 3, 2, 6])
    y = np.nansum(X[:, :, 0], axis=1)
    est = LSTMRegressor(hidden_size=4, max_iter=3, random_state=0).fit(X, y)
    report = check_stability(est, X, max_examples=3)
    assert report.passed, report
    assert report["save_load_roundtrip"].passed is True
    assert report["refit_determinism"].passed is True


@pytest.mark.filterwarnings("error::UserWarning")
def test_check_stability_reads_the_estimators_dims():
    import xarray as xr

    X = _X(B=8, T=6, lengths=[6, 6, 5, 4, 6, 3, 2, 6])
    # the user's own dim names, in an order of their own
    da = xr.DataArray(X.transpose(1, 2, 0), dims=("step", "var", "station"),
                      coords={"var": ["rain", "temp"], "station": np.arange(8) * 10})
    y = xr.DataArray(X[:, 0, 0], dims="station", coords={"station": da.station})
    est = LSTMRegressor(hidden_size=4, max_iter=3, random_state=0, time_dim="step",
                        feature_dim="var").fit(da, y)
    report = check_stability(est, da, max_examples=3)
    assert report.passed, report
    # it drew from the sequences as the model reads them: the report of the (station, step,
    # var) array itself
    assert str(report) == str(check_stability(est, X, max_examples=3))
    # explicit dims still win over the model's
    names = ["finite_outputs", "padding_invariance"]
    renamed = da.rename(step="time", var="feature")
    assert str(check_stability(est, renamed, time_dim="time", feature_dim="feature",
                               max_examples=3, properties=names)) == str(
        check_stability(est, X, max_examples=3, properties=names))
    with pytest.raises(ValueError, match=r"time dim named 'step' \(time_dim\)"):
        check_stability(est, renamed, max_examples=2, properties=names)


def test_check_stability_reads_2d_input_as_the_estimator_does():
    X = _X(B=8, T=6, n_in=1)[:, :, 0]  # (n_samples, n_time) univariate series
    est = LSTMRegressor(hidden_size=4, max_iter=2, random_state=0, input_2d="series").fit(
        X, X[:, -1])
    names = ["finite_outputs", "padding_invariance", "save_load_roundtrip"]
    report = check_stability(est, X, max_examples=3, properties=names)
    assert report.passed, report
    assert str(report) == str(check_stability(est, X[:, :, None], max_examples=3,
                                              properties=names))
    with pytest.raises(ValueError, match=re.escape("X[:, :, None]")):
        check_stability(RecurrentNetwork(1, 2), X, max_examples=2)


def _recording(monkeypatch, names):
    """Wrap the properties `names` of the battery so that they record every input."""
    seen = {name: [] for name in names}
    for name in names:
        func, kind, threshold = P.PROPERTIES[name]

        def recorder(model, X, *args, _func=func, _seen=seen[name], **kwargs):
            _seen.append(np.array(X, dtype=np.float64))
            return _func(model, X, *args, **kwargs)

        monkeypatch.setitem(P.PROPERTIES, name, (recorder, kind, threshold))
    return seen


def _rows_of(Xe, X):
    """Every sequence of Xe is a sequence of X cut to Xe's length (NaN where X is NaN)."""
    T = Xe.shape[1]
    return all(any(np.array_equal(row, full[:T], equal_nan=True) for full in X) for row in Xe)


@pytest.mark.filterwarnings("error::UserWarning")
def test_check_stability_on_a_framed_estimator_at_defaults(monkeypatch):
    import xarray as xr

    from seqlstm.inspect import network_input

    # sequences of 80-100 steps in the user's units: at the default frame_stride="auto" the
    # network reads standardized frames of 2 * frame_stride_ steps
    rng = np.random.default_rng(3)
    lengths = rng.integers(80, 101, size=8)
    X = 5.0 + 10.0 * rng.standard_normal((8, 100, 2))
    X[np.arange(100)[None, :] >= lengths[:, None]] = np.nan
    y = np.nanmean(X[:, :, 0], axis=1)
    est = LSTMRegressor(hidden_size=4, max_iter=2, random_state=0).fit(X, y)
    assert est.frame_stride_ > 1 and est.network_.input_size == 2 * est.frame_stride_ * 2
    network_level = ["padding_invariance", "causality", "cell_state_growth"]
    seen = _recording(monkeypatch, network_level + ["save_load_roundtrip"])
    report = check_stability(est, X, max_examples=3)
    assert report.passed, report
    assert len(report) == len(P.PROPERTIES)
    assert all(r.examples >= 1 for r in report if r.passed is not None)
    # the network's properties ran on the network's own input (scaled, framed, padded in
    # frames); the estimator's round trip on the user's sequences
    X_net = network_input(est, X)[0].astype(np.float64)
    for name in ["padding_invariance", "causality"]:     # drawn from the data only
        assert seen[name] and all(_rows_of(Xe, X_net) for Xe in seen[name]), name
    assert all(Xe.shape[2] == est.network_.input_size for Xe in seen["cell_state_growth"])
    assert seen["save_load_roundtrip"]
    assert all(_rows_of(Xe, X) for Xe in seen["save_load_roundtrip"])
    # the same data labeled with the model's dims give the same report
    da = xr.DataArray(X, dims=("sample", "time", "feature"))
    assert str(check_stability(est, da, max_examples=3)) == str(report)
    # without X, the estimator's own properties get sequences of the model's features
    names = ["finite_outputs", "save_load_roundtrip", "refit_determinism"]
    alone = check_stability(est, max_examples=2, properties=names)
    assert alone.passed, alone
    assert all(r.examples >= 1 for r in alone)


# ------------------------------------------------------------------------- check_stability
@pytest.mark.parametrize("cell", CELLS)
def test_check_stability_every_cell(cell):
    net = RecurrentNetwork(2, 3, num_layers=2, cell=cell, bidirectional=cell == "gru",
                           output_size=1 if cell == "rnn" else None, random_state=0)
    report = check_stability(net, max_examples=5, random_state=0)
    assert report.passed, report
    assert isinstance(report, StabilityReport) and len(report) == len(P.PROPERTIES)
    applicable = [r for r in report if r.passed is not None]
    assert all(r.examples >= 1 for r in applicable)
    assert report["save_load_roundtrip"].passed is None       # a bare network is not saved
    assert (report["cell_state_growth"].passed is None) == (cell in ("gru", "rnn"))
    assert (report["causality"].passed is None) == (cell == "gru")


def test_check_stability_with_user_data_and_labels():
    from seqlstm.datasets import make_adding

    X, _ = make_adding(6, length=12, random_state=0)
    net = RecurrentNetwork(2, 4, cell="lstm", random_state=0)
    report = check_stability(net, X, max_examples=4, random_state=1)
    assert report.passed, report
    with pytest.raises(ValueError, match="features"):
        check_stability(RecurrentNetwork(3, 2), X, max_examples=2)


def test_check_stability_catches_broken_networks_and_raises():
    X = _X(lengths=[6, 4, 2])
    cases = {
        DroppedMask(2, 3, bidirectional=True, random_state=0): "padding_invariance",
        NonCausal(2, 3, random_state=0): "causality",
        WrongGradientSign(2, 3, random_state=0): "gradient_finite_differences",
        Noisy(2, 3, random_state=0): "thread_agreement",
        UnstableSigmoid(2, 3, dtype="float64", random_state=0): "finite_outputs",
        IgnoresK2(2, 3, random_state=0): "tbptt_equals_full",
    }
    for net, name in cases.items():
        report = check_stability(net, X, max_examples=5, properties=[name])
        assert not report.passed and report[name].passed is False, (name, report)
        assert report[name].counterexample is not None
        assert "FAIL" in str(report)
    with pytest.raises(StabilityError, match="thread_agreement"):
        check_stability(Noisy(2, 3, random_state=0), X, max_examples=3,
                        properties=["thread_agreement"], raise_on_failure=True)


def test_report_reads_well_and_is_reproducible():
    net = RecurrentNetwork(2, 3, cell="cifg", random_state=0)
    names = ["finite_outputs", "bounded_hidden_state", "cell_state_growth"]
    a = check_stability(net, max_examples=4, random_state=5, properties=names)
    b = check_stability(net, max_examples=4, random_state=5, properties=names)
    assert [(r.examples, r.worst) for r in a] == [(r.examples, r.worst) for r in b]
    text = str(a)
    assert text == repr(a)
    lines = text.splitlines()
    assert "PASSED" in lines[1] and "3 passed" in lines[1]
    header = lines[2].split()
    assert header[:4] == ["property", "examples", "worst", "result"]
    for name, line in zip(names, lines[3:]):
        assert line.startswith(name) and "pass" in line
    assert a.to_dict()["property"] == names
    with pytest.raises(ValueError, match="unknown"):
        check_stability(net, properties=["no_such_property"])


def test_profiles_registered_not_loaded_by_seqlstm():
    import subprocess
    import sys

    code = ("import seqlstm, sys; assert 'hypothesis' not in sys.modules; "
            "import seqlstm.testing; from hypothesis import settings; "
            "assert not settings._current_profile.startswith('seqlstm'); "
            "settings.get_profile('seqlstm-ci'); settings.get_profile('seqlstm-thorough'); "
            "settings.get_profile('seqlstm-nightly')")
    subprocess.run([sys.executable, "-c", code], check=True)
    for profile in PROFILES.values():
        assert profile["deadline"] is None
    # CI: enough examples to matter, the same ones every run; nightly: more, and new ones
    assert PROFILES["seqlstm-ci"]["max_examples"] >= 100 and PROFILES["seqlstm-ci"]["derandomize"]
    nightly = PROFILES["seqlstm-nightly"]
    assert nightly["max_examples"] > PROFILES["seqlstm-ci"]["max_examples"]
    assert not nightly["derandomize"] and nightly["print_blob"]
    assert PROFILES["seqlstm-thorough"]["max_examples"] > PROFILES["seqlstm-ci"]["max_examples"]
    with pytest.raises(ValueError, match="name: expected one of .*found 'nope'"):
        load_profile("nope")


def test_suite_loads_the_profile_named_by_hypothesis_profile():
    import os
    import pathlib
    import subprocess
    import sys

    conftest = pathlib.Path(__file__).with_name("conftest.py")
    code = ("import runpy; from hypothesis import settings; "
            f"runpy.run_path({str(conftest)!r}); "
            "print(settings._current_profile, settings.default.max_examples, "
            "settings.default.derandomize)")
    env = {k: v for k, v in os.environ.items()
           if k not in ("HYPOTHESIS_PROFILE", "SEQLSTM_HYPOTHESIS_PROFILE")}

    def loaded(**extra):
        result = subprocess.run([sys.executable, "-c", code], env={**env, **extra},
                                capture_output=True, text=True, check=True)
        return result.stdout.split()

    assert loaded() == ["seqlstm-ci", "100", "True"]
    assert loaded(HYPOTHESIS_PROFILE="nightly") == ["seqlstm-nightly", "1000", "False"]
    assert loaded(SEQLSTM_HYPOTHESIS_PROFILE="seqlstm-thorough")[0] == "seqlstm-thorough"
