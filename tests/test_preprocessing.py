"""Tests for seqlstm.preprocessing: SequenceScaler and nan_mean_std."""

import numpy as np
import pytest
import xarray as xr
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from seqlstm.preprocessing import SequenceScaler, nan_mean_std


def padded_data(seed=0, n_samples=6, n_time=8, n_features=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=[1.0, -2.0, 10.0][:n_features], scale=[0.5, 2.0, 3.0][:n_features],
                   size=(n_samples, n_time, n_features))
    X[0, 5:] = np.nan  # padding
    X[3, 2:] = np.nan
    X[4, 1, 2] = np.nan  # a missing value
    return X


def manual_mean_std(X):
    flat = X.reshape(-1, X.shape[-1])
    means, stds = [], []
    for column in flat.T:
        valid = column[~np.isnan(column)]
        means.append(sum(valid) / len(valid))
        stds.append(np.sqrt(sum((valid - means[-1]) ** 2) / len(valid)))
    return np.array(means), np.array(stds)


def test_nan_mean_std_matches_manual():
    X = padded_data()
    mean, std = nan_mean_std(X)
    expected_mean, expected_std = manual_mean_std(X)
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(std, expected_std, rtol=1e-12)
    # 2-D input and lengths that exclude steps whatever they hold
    np.testing.assert_allclose(nan_mean_std(X[:, 0])[0], np.nanmean(X[:, 0], axis=0))
    Z = np.where(np.isnan(X), 0.0, X)
    Z[4, 1, 2] = np.nan
    lengths = [5, 8, 8, 2, 8, 8]
    np.testing.assert_allclose(nan_mean_std(Z, lengths)[0], expected_mean, rtol=1e-12)


def test_nan_mean_std_without_valid_values():
    X = np.full((2, 3, 2), np.nan)
    X[:, :, 0] = 1.0
    mean, std = nan_mean_std(X)
    assert mean[0] == 1.0 and std[0] == 0.0
    assert np.isnan(mean[1]) and np.isnan(std[1])


def test_scaler_matches_manual_computation():
    X = padded_data()
    scaler = SequenceScaler().fit(X)
    mean, std = manual_mean_std(X)
    np.testing.assert_allclose(scaler.mean_, mean, rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_, std, rtol=1e-12)
    assert scaler.n_features_in_ == 3
    assert not hasattr(scaler, "feature_names_in_")
    Xt = scaler.transform(X)
    np.testing.assert_allclose(Xt, (X - mean) / std, rtol=1e-12)
    # scaled data have mean 0 and std 1 over the valid values
    np.testing.assert_allclose(nan_mean_std(Xt)[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(nan_mean_std(Xt)[1], 1.0, rtol=1e-12)


def test_nan_untouched_and_input_unchanged():
    X = padded_data()
    X_copy = X.copy()
    Xt = SequenceScaler().fit_transform(X)
    np.testing.assert_array_equal(np.isnan(Xt), np.isnan(X))
    np.testing.assert_array_equal(X, X_copy)


def test_inverse_round_trip():
    X = padded_data()
    scaler = SequenceScaler().fit(X)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-12)


@pytest.mark.parametrize("with_mean, with_std", [(True, False), (False, True), (False, False)])
def test_with_mean_with_std(with_mean, with_std):
    X = padded_data()
    scaler = SequenceScaler(with_mean=with_mean, with_std=with_std).fit(X)
    mean, std = manual_mean_std(X)
    expected = (X - (mean if with_mean else 0.0)) / (std if with_std else 1.0)
    np.testing.assert_allclose(scaler.transform(X), expected, rtol=1e-12)
    assert (scaler.scale_ is None) == (not with_std)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-12)


def test_constant_feature_scale_is_one():
    X = np.ones((3, 4, 2))
    X[:, :, 1] = np.arange(4)
    scaler = SequenceScaler().fit(X)
    assert scaler.scale_[0] == 1.0
    np.testing.assert_array_equal(scaler.transform(X)[:, :, 0], 0.0)


def test_two_d_input_matches_standard_scaler():
    X = np.random.default_rng(1).normal(size=(20, 4))
    ours = SequenceScaler().fit(X)
    theirs = StandardScaler().fit(X)
    np.testing.assert_allclose(ours.mean_, theirs.mean_)
    np.testing.assert_allclose(ours.scale_, theirs.scale_)
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X))


def test_float32_preserved():
    X = padded_data().astype(np.float32)
    assert SequenceScaler().fit_transform(X).dtype == np.float32
    assert SequenceScaler().fit_transform(np.ones((2, 3, 1), dtype=int)).dtype == np.float64


def test_feature_count_mismatch_message():
    scaler = SequenceScaler().fit(np.ones((2, 3, 5)))
    msg = "X has 3 features, but SequenceScaler is expecting 5 features as input."
    with pytest.raises(ValueError, match=msg):
        scaler.transform(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match=msg):
        scaler.inverse_transform(np.ones((2, 3)))


def test_not_fitted():
    with pytest.raises(NotFittedError):
        SequenceScaler().transform(np.ones((2, 3, 1)))


def test_inf_rejected():
    X = padded_data()
    X[1, 1, 1] = np.inf
    with pytest.raises(ValueError, match=r"X: expected finite values; found inf at sample 1"):
        SequenceScaler().fit(X)


def test_dataarray_in_dataarray_out():
    X = padded_data()
    da = xr.DataArray(
        X.transpose(1, 0, 2),
        dims=("time", "station", "variable"),
        coords={"station": list("abcdef"), "variable": ["t", "p", "q"],
                "units": ("variable", ["K", "Pa", "1"])},
        attrs={"title": "obs"},
        name="obs",
    )
    scaler = SequenceScaler(feature_dim="variable").fit(da)
    assert list(scaler.feature_names_in_) == ["t", "p", "q"]
    assert list(scaler.get_feature_names_out()) == ["t", "p", "q"]
    out = scaler.transform(da)
    assert isinstance(out, xr.DataArray)
    assert out.dims == da.dims and out.attrs == da.attrs and out.name == "obs"
    xr.testing.assert_identical(out.coords.to_dataset(), da.coords.to_dataset())
    np.testing.assert_allclose(out.values, SequenceScaler().fit_transform(X).transpose(1, 0, 2))
    xr.testing.assert_allclose(scaler.inverse_transform(out), da)

    with pytest.raises(ValueError, match="feature names should match"):
        scaler.transform(da.assign_coords(variable=["q", "p", "t"]))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        scaler.transform(X)


def test_dataset_in_dataset_out():
    ds = xr.Dataset(
        {"t": (("station", "time"), padded_data()[:, :, 0]),
         "p": (("station", "time"), padded_data()[:, :, 1])},
        attrs={"title": "obs"},
    )
    scaler = SequenceScaler().fit(ds)
    assert list(scaler.feature_names_in_) == ["t", "p"]
    out = scaler.transform(ds)
    assert isinstance(out, xr.Dataset) and list(out.data_vars) == ["t", "p"]
    assert out.attrs == ds.attrs
    xr.testing.assert_allclose(scaler.inverse_transform(out), ds)


def test_pipeline_and_clone():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3)) * [1.0, 100.0, 0.01]
    y = X @ [1.0, 0.01, 100.0]
    pipe = make_pipeline(SequenceScaler(), LinearRegression()).fit(X, y)
    np.testing.assert_allclose(pipe.predict(X), y, atol=1e-8)
    assert pipe[0].n_features_in_ == 3
    cloned = clone(pipe[0])
    assert not hasattr(cloned, "mean_")
    assert cloned.get_params() == SequenceScaler().get_params()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_scikit_learn_estimator_checks():
    check_estimator(SequenceScaler())


def _whole_array_statistics(values, lengths=None, w=None):
    """nan_mean_std as it was written over the whole array (before it read chunks)."""
    values = np.asarray(values, dtype=np.float64)
    valid = ~np.isnan(values)
    if lengths is not None:
        valid &= (np.arange(values.shape[1]) < np.asarray(lengths)[:, None])[:, :, None]
    if w is not None:
        w = np.asarray(w, dtype=np.float64)[:, None, None]
        valid &= w > 0
        count = np.where(valid, w, 0.0).sum(axis=(0, 1))
        mean = np.where(valid, w * values, 0.0).sum(axis=(0, 1)) / count
        var = np.where(valid, w * (values - mean) ** 2, 0.0).sum(axis=(0, 1)) / count
        return mean, np.sqrt(var)
    count = valid.sum(axis=(0, 1))
    mean = np.where(valid, values, 0.0).sum(axis=(0, 1)) / count
    var = (np.where(valid, values - mean, 0.0) ** 2).sum(axis=(0, 1)) / count
    return mean, np.sqrt(var)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_features", [1, 4])
def test_nan_mean_std_in_chunks_and_rows_equal_the_whole_array(monkeypatch, weighted,
                                                               n_features):
    """Read in chunks of 3 samples and through `rows` (any order), the statistics are those of
    ``values[rows]`` computed whole: bit for bit with several features (NumPy adds rows in
    order, and so does the running sum), to float64 rounding with one (NumPy sums a single
    column pairwise, within a chunk)."""
    from seqlstm.data import batches

    monkeypatch.setattr(batches, "CHUNK_BYTES", 8 * 3 * 50 * n_features)
    rng = np.random.default_rng(n_features)
    values = (rng.standard_normal((40, 50, n_features)) * 10 + 1e3).astype(np.float32)
    lengths = rng.integers(1, 51, size=40)
    values[np.arange(50) >= lengths[:, None]] = np.nan
    values[3, 2, 0] = np.nan                                   # a missing value inside
    w = rng.uniform(0, 2, size=40) if weighted else None
    if weighted:
        w[5] = 0.0
    rows = rng.permutation(40)[:31]
    mean, std = nan_mean_std(values, lengths, w, rows=rows)
    expected = _whole_array_statistics(values[rows], lengths[rows],
                                       None if w is None else w[rows])
    if n_features > 1:
        np.testing.assert_array_equal(mean, expected[0])
        np.testing.assert_array_equal(std, expected[1])
    else:
        np.testing.assert_allclose(mean, expected[0], rtol=1e-14)
        np.testing.assert_allclose(std, expected[1], rtol=1e-12)
