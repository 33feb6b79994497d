"""Generation from next-step models: feeding back by hand, sampling, labels, errors."""

import warnings

import numpy as np
import pytest

from seqlstm import LSTMClassifier, LSTMRegressor

FAST = dict(hidden_size=16, max_iter=5, learning_rate_init=1e-2, return_sequences=True,
            random_state=0, dtype="float64")


def _next_step(series, length):
    """Sequences of `length` steps and their next-step targets from a long series."""
    starts = np.arange(0, len(series) - length - 1, 3)
    X = np.stack([series[s:s + length] for s in starts])
    y = np.stack([series[s + 1:s + length + 1] for s in starts])
    return X, y


@pytest.fixture(scope="module")
def regressors():
    t = np.arange(400)
    series = np.stack([np.sin(t / 5.0), np.cos(t / 5.0)], axis=1)
    X, y = _next_step(series, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mse = LSTMRegressor(**FAST).fit(X, y)
        gauss = LSTMRegressor(loss="gaussian", **FAST).fit(X, y)
    return series, mse, gauss


def test_deterministic_generation_equals_feeding_back_by_hand(regressors):
    series, mse, gauss = regressors
    prime = series[:10]
    for model in (mse, gauss):
        out = model.generate(4, prime=prime, temperature=0)
        assert out.dims == ("time", "feature") and out.attrs["prime_length"] == 10
        seq = prime.copy()
        for i in range(4):
            nxt = model.predict(seq[None])[0, -1]       # the mean for the Gaussian head
            np.testing.assert_allclose(out.values[i], nxt, rtol=1e-9, atol=1e-12)
            seq = np.concatenate([seq, nxt[None]])


def test_gaussian_sampling_reproducible_and_scaled_by_temperature(regressors):
    series, _, gauss = regressors
    a = gauss.generate(6, prime=series[:10], random_state=1)
    b = gauss.generate(6, prime=series[:10], random_state=1)
    np.testing.assert_array_equal(a.values, b.values)
    mean = gauss.generate(1, prime=series[:10], temperature=0).values[0]
    # one step: mean + temperature * std * z with z from the same generator
    _, std = gauss.predict(series[None, :10], return_std=True)
    z = np.random.RandomState(2).standard_normal(2)
    got = gauss.generate(1, prime=series[:10], temperature=0.5, random_state=2).values[0]
    np.testing.assert_allclose(got, mean + 0.5 * std[0, -1] * z, rtol=1e-9)


def test_character_level_generation_learns_a_text():
    text = "the river rises after rain. " * 12
    chars = np.array(list(text))
    length = 20
    starts = np.arange(0, len(chars) - length - 1, 2)
    classes = sorted(set(text))
    eye = np.eye(len(classes))
    codes = np.searchsorted(classes, chars)
    X = np.stack([eye[codes[s:s + length]] for s in starts])
    y = np.stack([chars[s + 1:s + length + 1] for s in starts])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LSTMClassifier(hidden_size=32, max_iter=40, learning_rate_init=1e-2,
                               return_sequences=True, standardize=False, random_state=0,
                               batch_size=32).fit(X, y)
    out = model.generate(23, prime="the river ", temperature=0)
    assert "".join(out.values) == "rises after rain. the r"
    sampled = model.generate(30, prime="the", temperature=1.0, random_state=0)
    assert sampled.dims == ("time",) and len(sampled) == 30
    np.testing.assert_array_equal(
        sampled.values, model.generate(30, prime="the", temperature=1.0, random_state=0).values)
    with pytest.raises(ValueError, match="prime: expected a non-empty sequence of labels"):
        model.generate(3, prime="xyz")


def test_bad_input(regressors):
    series, mse, _ = regressors
    with pytest.raises(ValueError, match="n_steps: expected an integer >= 1"):
        mse.generate(0)
    with pytest.raises(ValueError, match="temperature: expected a number >= 0"):
        mse.generate(2, temperature=-1)
    with pytest.raises(ValueError, match=r"prime: expected values of shape \(time, 2\)"):
        mse.generate(2, prime=np.zeros((3, 3)))
    X = np.random.default_rng(0).standard_normal((8, 5, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        many_to_one = LSTMRegressor(hidden_size=4, max_iter=1, random_state=0).fit(X, X[:, -1])
        other = LSTMRegressor(hidden_size=4, max_iter=1, return_sequences=True,
                              random_state=0).fit(X, X[:, :, :1])
    with pytest.raises(ValueError, match="estimator: expected a model fitted for next-step"):
        many_to_one.generate(2)
    with pytest.raises(ValueError, match="estimator: expected a next-step model whose outputs"):
        other.generate(2)
