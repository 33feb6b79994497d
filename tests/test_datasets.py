"""Tests for seqlstm.datasets: the classic long-time-lag tasks and Mackey-Glass."""

import itertools
import re
from collections import defaultdict

import numpy as np
import pytest
import xarray as xr

from seqlstm.data import to_sequences, to_targets
from seqlstm.datasets import (
    REBER_SYMBOLS,
    TEMPORAL_ORDER_SYMBOLS,
    adding_accuracy,
    make_adding,
    make_embedded_reber,
    make_mackey_glass,
    make_temporal_order,
    reber_correct,
)


def lengths_of(X):
    return to_sequences(X).lengths


# --- Adding problem ------------------------------------------------------------------------


@pytest.mark.parametrize("length", [11, 30, 100])
def test_adding_rules(length):
    X, y = make_adding(500, length=length, random_state=0)
    assert X.dims == ("sample", "time", "feature") and y.dims == ("sample",)
    assert list(X["feature"].values) == ["value", "marker"]
    lengths = lengths_of(X)  # also checks that NaN occurs only as trailing padding
    assert lengths.min() >= length and lengths.max() <= length + length // 10
    assert X.sizes["time"] == lengths.max()
    assert len(np.unique(lengths)) > 1 or length < 20

    values, markers = X.sel(feature="value").values, X.sel(feature="marker").values
    for i, n in enumerate(lengths):
        v, m = values[i, :n], markers[i, :n]
        assert np.isnan(values[i, n:]).all() and np.isnan(markers[i, n:]).all()
        assert np.all((v >= -1) & (v <= 1))
        assert set(np.unique(m)) <= {-1.0, 0.0, 1.0}
        marked = np.flatnonzero(m == 1.0)
        assert len(marked) == 2  # exactly two pairs marked
        # X1 among the first ten pairs, X2 among the first T/2 - 1 pairs other than X1's
        assert any(a < 10 and b - (b > a) < length // 2 - 1
                   for a, b in (marked, marked[::-1]))
        assert m[n - 1] == -1.0  # last marker
        if marked[0] == 0:  # first pair marked: its value is 0, no leading -1
            assert v[0] == 0.0 and np.count_nonzero(m == -1.0) == 1
        else:
            assert m[0] == -1.0 and np.count_nonzero(m == -1.0) == 2
        # target recomputed from X
        assert y.values[i] == pytest.approx(0.5 + v[marked].sum() / 4.0, abs=1e-15)
    assert np.all((y.values >= 0.0) & (y.values <= 1.0))


def test_adding_x1_and_x2_distribution():
    X, _ = make_adding(4000, length=40, random_state=1)
    marked = [np.flatnonzero(m == 1.0) for m in X.sel(feature="marker").values]
    assert any(k[0] == 0 for k in marked)  # the first pair does get marked sometimes
    # some X2 lie beyond the first ten pairs, none beyond the first T/2 - 1 unmarked pairs
    assert max(k[1] for k in marked) == 19


def test_adding_deterministic_and_valid_for_estimators():
    X1, y1 = make_adding(20, random_state=3)
    X2, y2 = make_adding(20, random_state=3)
    xr.testing.assert_identical(X1, X2)
    xr.testing.assert_identical(y1, y2)
    assert not make_adding(20, random_state=4)[1].equals(y1)
    data = to_sequences(X1)
    assert to_targets(y1, data, per_step=False).values.shape == (20, 1)


def test_adding_errors():
    with pytest.raises(ValueError, match="length: expected an integer >= 11"):
        make_adding(3, length=10)
    with pytest.raises(ValueError, match="n_samples"):
        make_adding(0)


def test_adding_accuracy():
    y_true = np.array([0.5, 0.2, 0.9, 0.1])
    assert adding_accuracy(y_true, y_true) == 1.0
    assert adding_accuracy(y_true, y_true + [0.0, 0.039, 0.041, -0.05]) == 0.5
    _, y = make_adding(10, random_state=0)
    assert adding_accuracy(y, y.values[:, None] + 0.01) == 1.0
    assert adding_accuracy(y, np.full(10, 0.5)) < 1.0
    with pytest.raises(ValueError, match="expected 4 values"):
        adding_accuracy(y_true, y_true[:3])


# --- Temporal order ------------------------------------------------------------------------


@pytest.mark.parametrize("n_relevant, positions", [(2, [(10, 20), (50, 60)]),
                                                   (3, [(10, 20), (33, 43), (66, 76)])])
def test_temporal_order(n_relevant, positions):
    X, y = make_temporal_order(300, length=100, n_relevant=n_relevant, random_state=0)
    assert X.dims == ("sample", "time", "feature")
    assert list(X["feature"].values) == TEMPORAL_ORDER_SYMBOLS
    lengths = lengths_of(X)
    assert lengths.min() >= 100 and lengths.max() <= 110
    classes = {"".join(p) for p in itertools.product("XY", repeat=n_relevant)}
    assert set(y.values) == classes  # all 2**n_relevant classes occur
    for i, n in enumerate(lengths):
        onehot = X.values[i, :n]
        assert np.all(onehot.sum(axis=1) == 1.0) and set(np.unique(onehot)) == {0.0, 1.0}
        string = "".join(np.array(TEMPORAL_ORDER_SYMBOLS)[onehot.argmax(axis=1)])
        assert string[0] == "E" and string[-1] == "B"
        assert re.fullmatch(r"E[abcdXY]*B", string)
        relevant = [t for t, s in enumerate(string) if s in "XY"]
        assert len(relevant) == n_relevant
        for t, (low, high) in zip(relevant, positions):
            assert low <= t <= high
        assert y.values[i] == "".join(string[t] for t in relevant)


def test_temporal_order_deterministic_and_errors():
    a = make_temporal_order(10, length=30, random_state=5)
    b = make_temporal_order(10, length=30, random_state=5)
    xr.testing.assert_identical(a[0], b[0])
    xr.testing.assert_identical(a[1], b[1])
    with pytest.raises(ValueError, match="n_relevant: expected 2 or 3"):
        make_temporal_order(3, n_relevant=4)


# --- Embedded Reber grammar ----------------------------------------------------------------

# The Reber grammar as a regular expression, derived independently of the generator's graph.
_REBER_RE = r"B(?:(?:TS*X|PT*VP)(?:XT*VP)*(?:S|XT*VV)|PT*VV)E"
_EMBEDDED_RE = re.compile(rf"B(?:T{_REBER_RE}T|P{_REBER_RE}P)E")


def test_embedded_reber_strings_valid():
    X, y = make_embedded_reber(200, random_state=0)
    assert X.dims == ("sample", "time", "feature") and y.dims == ("sample", "time", "symbol")
    assert list(X["feature"].values) == REBER_SYMBOLS == list(y["symbol"].values)
    lengths = lengths_of(X)
    strings = X["string"].values
    assert len(set(strings)) > 20
    assert {s[1] for s in strings} == {"T", "P"}
    for i, (string, n) in enumerate(zip(strings, lengths)):
        assert _EMBEDDED_RE.fullmatch(string), string
        assert n == len(string) - 1  # the final E is not an input
        decoded = "".join(np.array(REBER_SYMBOLS)[X.values[i, :n].argmax(axis=1)])
        assert decoded == string[:-1]
        assert np.all(X.values[i, :n].sum(axis=1) == 1.0)
        assert np.isnan(X.values[i, n:]).all() and np.isnan(y.values[i, n:]).all()
        # the long dependency: the second-to-last target is the second symbol only
        assert y.values[i, n - 2].tolist() == [float(s == string[1]) for s in REBER_SYMBOLS]


def test_embedded_reber_targets_are_the_observed_next_symbols():
    """The target after a prefix is the set of symbols that follow that prefix in the data."""
    X, y = make_embedded_reber(3000, random_state=1)
    observed, targets, counts = defaultdict(set), {}, defaultdict(int)
    for i, string in enumerate(X["string"].values):
        for t in range(len(string) - 1):
            prefix = string[: t + 1]
            observed[prefix].add(string[t + 1])
            counts[prefix] += 1
            allowed = {s for s, flag in zip(REBER_SYMBOLS, y.values[i, t]) if flag == 1.0}
            assert targets.setdefault(prefix, allowed) == allowed  # a function of the prefix
    frequent = [p for p in counts if counts[p] >= 30]
    assert len(frequent) > 50
    for prefix in observed:
        assert observed[prefix] <= targets[prefix]
    for prefix in frequent:  # every allowed symbol shows up after a frequent prefix
        assert observed[prefix] == targets[prefix], prefix


def test_embedded_reber_deterministic():
    a, b = make_embedded_reber(5, random_state=7), make_embedded_reber(5, random_state=7)
    xr.testing.assert_identical(a[0], b[0])
    xr.testing.assert_identical(a[1], b[1])
    data = to_sequences(a[0])
    assert to_targets(a[1], data, per_step=True).names.tolist() == REBER_SYMBOLS


def test_reber_correct():
    _, y = make_embedded_reber(6, random_state=1)
    perfect = y.fillna(0.0)
    assert reber_correct(y, perfect).all()
    assert reber_correct(y, perfect * 0.6 + 0.2).all()  # only the ranking matters
    wrong = perfect.values.copy()
    wrong[2, 0] = 0.0  # nothing predicted after the first B of string 2
    np.testing.assert_array_equal(reber_correct(y, wrong), [True, True, False, True, True, True])
    tie = perfect.values.copy()
    tie[4, 3, :] = 0.5
    assert not reber_correct(y, tie)[4]
    with pytest.raises(ValueError, match="shape of y_true"):
        reber_correct(y, perfect.values[:, :-1])


# --- Mackey-Glass --------------------------------------------------------------------------


def test_mackey_glass_bounded_and_chaotic():
    X = make_mackey_glass(n_samples=3, length=1000, random_state=0)
    assert X.dims == ("sample", "time", "feature") and X.shape == (3, 1000, 1)
    assert list(X["feature"].values) == ["x"]
    np.testing.assert_array_equal(X["time"].values, np.arange(1000.0))
    x = X.values[:, :, 0]
    assert np.isfinite(x).all() and x.min() > 0.2 and x.max() < 1.5
    late = x[:, 300:]
    assert np.all(late.std(axis=1) > 0.15)  # keeps oscillating, not a fixed point or decay
    # irregular: the peaks do not repeat with one amplitude
    peaks = late[:, 1:-1][(late[:, 1:-1] > late[:, :-2]) & (late[:, 1:-1] > late[:, 2:])]
    assert peaks.std() > 0.02
    # sensitive to initial conditions: different samples decorrelate
    assert abs(np.corrcoef(late[0], late[1])[0, 1]) < 0.5


def test_mackey_glass_matches_fine_euler():
    X = make_mackey_glass(n_samples=2, length=41, random_state=2)
    x0 = X.values[:, 0, 0]  # the constant initial history
    h, delay = 0.001, 17000
    x = np.empty((delay + 40000 + 1, 2))
    x[: delay + 1] = x0
    for k in range(delay, delay + 40000):
        lagged = x[k - delay]
        x[k + 1] = x[k] + h * (0.2 * lagged / (1 + lagged**10) - 0.1 * x[k])
    np.testing.assert_allclose(X.values[:, :, 0], x[delay::1000].T, atol=2e-3)


def test_mackey_glass_stable_regime_and_determinism():
    x = make_mackey_glass(length=400, tau=1.0, random_state=0).values.ravel()
    assert x[-1] == pytest.approx(1.0, abs=1e-3)  # fixed point x* = (beta/gamma - 1)**(1/n)
    a = make_mackey_glass(2, length=50, dt=2.5, random_state=9)
    b = make_mackey_glass(2, length=50, dt=2.5, random_state=9)
    xr.testing.assert_identical(a, b)
    np.testing.assert_allclose(a["time"].values, np.arange(50) * 2.5)
    with pytest.raises(ValueError, match="tau, dt"):
        make_mackey_glass(tau=0)
