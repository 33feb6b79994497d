"""Tests of seqlstm.estimators: scikit-learn conformance, inputs/outputs, bad input, training."""

import copy
import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
import xarray as xr
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from _dask import computed
from seqlstm import network as network_module
from seqlstm.estimators import _base
from seqlstm.estimators import LSTMClassifier, LSTMRegressor
from seqlstm.preprocessing import SequenceScaler
from seqlstm.training import TrainingState, build_network, network_config

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = dict(hidden_size=4, max_iter=3, random_state=0)


def expected_failed_checks(estimator):
    """Checks expected to fail, with the reason (kept by the estimators)."""
    return estimator._expected_failed_checks()


# scikit-learn's checks feed 2-D (n_samples, n_features) data: that is input_2d="features"
@parametrize_with_checks(
    [
        LSTMRegressor(hidden_size=8, max_iter=30, learning_rate_init=0.02, random_state=0,
                      input_2d="features"),
        LSTMClassifier(hidden_size=8, max_iter=30, learning_rate_init=0.02, random_state=0,
                       input_2d="features"),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_three_d_array_tag():
    from sklearn.utils import get_tags

    for est in (LSTMRegressor(), LSTMClassifier()):
        tags = get_tags(est)
        assert tags.input_tags.three_d_array and tags.input_tags.two_d_array


# ---------------------------------------------------------------------------- data helpers


def sequences(n=24, T=6, F=3, seed=0, ragged=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, F))
    if ragged:
        X[::3, T - 2:] = np.nan  # every third sequence is shorter
    y = np.nansum(X[:, :, 0], axis=1)
    return X, y


def labeled(n=12, T=5, F=2, seed=0):
    rng = np.random.default_rng(seed)
    X = xr.DataArray(
        rng.normal(size=(3, n // 3, T, F)),
        dims=("site", "member", "time", "feature"),
        coords={"site": ["a", "b", "c"], "member": np.arange(n // 3) * 10,
                "time": np.arange(T) * 2.0, "feature": ["temp", "rain"]},
        attrs={"units": "K", "source": "test"},
        name="obs",
    )
    y = (X.sel(feature="temp").sum("time") + 0.5 * X.sel(feature="rain").isel(time=-1))
    y.name = "target"
    return X, y


# ---------------------------------------------------------------------------- numpy usage


def test_regressor_numpy_many_to_one_shapes_and_dtype():
    X, y = sequences()
    model = LSTMRegressor(**SMALL).fit(X, y)
    pred = model.predict(X)
    assert pred.shape == (24,) and pred.dtype == np.float64
    assert model.n_features_in_ == 3 and model.n_outputs_ == 1
    assert len(model.loss_curve_) == model.n_iter_ == 3
    assert model.t_ == 3 * 24
    assert model.best_loss_ == min(model.loss_curve_)
    assert model.validation_scores_ is None and model.best_validation_score_ is None
    Y = np.stack([y, -y], axis=1)
    assert LSTMRegressor(**SMALL).fit(X, Y).predict(X).shape == (24, 2)


def test_list_of_ragged_sequences_equals_padded_array():
    X, y = sequences()
    lengths = (~np.isnan(X).all(axis=2)).sum(axis=1)
    as_list = [X[i, : lengths[i]] for i in range(len(X))]
    a = LSTMRegressor(**SMALL).fit(X, y)
    b = LSTMRegressor(**SMALL).fit(as_list, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(as_list))


def test_two_d_input_is_length_one_sequences():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    y = X @ np.array([1.0, -1.0, 0.5, 0.0])
    model = LSTMRegressor(input_2d="features", **SMALL).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), model.predict(X[:, None, :]))


def two_d(n=30, T=12, seed=1):
    """(n_samples, n_time) univariate series, as most users hold them, with a label."""
    X = np.random.default_rng(seed).normal(size=(n, T))
    return X, X[:, -3:].sum(axis=1)


@pytest.mark.parametrize("cls", [LSTMRegressor, LSTMClassifier])
def test_two_d_input_refused_at_defaults(cls):
    X, y = two_d()
    y = y if cls is LSTMRegressor else np.where(y > 0, "up", "down")
    model = cls(**SMALL)
    with pytest.raises(ValueError) as info:
        model.fit(X, y)
    message = str(info.value)
    assert message.startswith("X: ") and "shape (30, 12)" in message
    assert "X[:, :, None]" in message and "X[:, None, :]" in message
    assert "input_2d='series'" in message and "input_2d='features'" in message
    assert not hasattr(model, "network_") and not hasattr(model, "n_features_in_")
    # predict with 2-D follows the fitted setting: a model fitted on 3-D at the defaults
    # refuses 2-D too
    model.fit(X[:, :, None], y)
    with pytest.raises(ValueError, match=re.escape("X[:, :, None]")):
        model.predict(X)
    with pytest.raises(ValueError, match=re.escape("X[:, None, :]")):
        model.score(X, y)
    with pytest.raises(ValueError, match=re.escape("X[:, :, None]")):
        LSTMRegressor(**SMALL).fit(X[:, :, None], X).partial_fit(X, X[:, :1])


@pytest.mark.parametrize("cls", [LSTMRegressor, LSTMClassifier])
@pytest.mark.parametrize("reading, reshape", [
    ("series", lambda X: X[:, :, None]), ("features", lambda X: X[:, None, :])])
def test_input_2d_equals_the_explicit_reshape(cls, reading, reshape):
    X, y = two_d()
    y = y if cls is LSTMRegressor else np.where(y > 0, "up", "down")
    a = cls(input_2d=reading, **SMALL).fit(X, y)
    b = cls(**SMALL).fit(reshape(X), y)  # the same random_state: bit-identical models
    np.testing.assert_array_equal(a.network_.params, b.network_.params)
    assert a.n_features_in_ == b.n_features_in_ == (1 if reading == "series" else 12)
    X_new = two_d(n=7, seed=2)[0]
    # predict with 2-D input follows the fitted setting
    np.testing.assert_array_equal(a.predict(X_new), b.predict(reshape(X_new)))
    np.testing.assert_array_equal(a.predict(X_new), a.predict(reshape(X_new)))
    if cls is LSTMClassifier:
        np.testing.assert_array_equal(a.predict_proba(X_new), b.predict_proba(reshape(X_new)))
    assert a.score(X, y) == b.score(reshape(X), y)


def test_input_2d_series_per_step_and_padding():
    X, _ = two_d(n=20, T=10)
    X[::4, 8:] = np.nan  # shorter series, NaN-padded at the end
    y = np.cumsum(np.nan_to_num(X), axis=1)  # one target per step: (n_samples, n_time)
    y[np.isnan(X)] = np.nan
    a = LSTMRegressor(input_2d="series", return_sequences=True, **SMALL).fit(X, y)
    b = LSTMRegressor(return_sequences=True, **SMALL).fit(X[:, :, None], y)
    pred = a.predict(X)
    assert pred.shape == (20, 10)
    np.testing.assert_array_equal(pred, b.predict(X[:, :, None]))
    assert np.isnan(pred[::4, 8:]).all() and not np.isnan(pred[1]).any()


def test_input_2d_is_checked_and_kept_by_clone_and_grid_search():
    X, y = two_d()
    with pytest.raises(ValueError, match="input_2d"):
        LSTMRegressor(input_2d="time", **SMALL).fit(X, y)
    model = LSTMRegressor(input_2d="series", **SMALL)
    assert clone(model).get_params()["input_2d"] == "series"
    search = GridSearchCV(model, {"hidden_size": [2, 3]}, cv=2).fit(X, y)
    assert search.best_estimator_.n_features_in_ == 1


def test_pickles_from_before_input_2d_read_2d_as_they_did():
    X = np.random.default_rng(1).normal(size=(30, 4))
    y = X @ np.array([1.0, -1.0, 0.5, 0.0])
    model = LSTMRegressor(input_2d="features", **SMALL).fit(X, y)
    state = model.__getstate__()
    del state["input_2d"]
    old = LSTMRegressor.__new__(LSTMRegressor)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    assert old.input_2d == "features"
    np.testing.assert_array_equal(old.predict(X), model.predict(X))


def test_input_2d_does_not_touch_labeled_input():
    X, y = labeled()
    for reading in ("series", "features"):
        a = LSTMRegressor(input_2d=reading, **SMALL).fit(X, y)
        b = LSTMRegressor(**SMALL).fit(X, y)
        xr.testing.assert_identical(a.predict(X), b.predict(X))
    # a (sample, time) DataArray has no feature dim: refused as documented, whatever input_2d
    series = X.isel(site=0, feature=0, drop=True)
    with pytest.raises(ValueError, match=r"X: expected a DataArray .*feature dim named "
                                         r"'feature'.*expand_dims"):
        LSTMRegressor(input_2d="series", **SMALL).fit(series, y.isel(site=0, drop=True))


def test_standardize_stats_and_units():
    X, y = sequences()
    X = X * 100 + 5
    y = y * 1000 - 3
    model = LSTMRegressor(hidden_size=8, max_iter=40, learning_rate_init=0.02,
                          random_state=0).fit(X, y)
    np.testing.assert_allclose(model.x_mean_, np.nanmean(X.reshape(-1, 3), axis=0))
    np.testing.assert_allclose(model.y_mean_, [y.mean()])
    np.testing.assert_allclose(model.y_scale_, [y.std()])
    pred = model.predict(X)
    assert abs(pred.mean() - y.mean()) < 0.5 * y.std()  # user units, not standardized
    raw = LSTMRegressor(standardize=False, **SMALL).fit(X, y)
    assert raw.x_mean_ is None and raw.y_mean_ is None


def test_gaussian_std_in_the_targets_units():
    """The predicted standard deviation is in the user's units: targets 10 * y + 3 (and
    0.1 * y - 5 for a second output) give the same standardized problem, so the same training up
    to rounding, and means 10 * m + 3 with standard deviations 10 * s."""
    X, y = sequences()
    Y = np.column_stack([y, np.nansum(X[:, :, 1], axis=1)])
    scale, offset = np.array([10.0, 0.1]), np.array([3.0, -5.0])
    kwargs = dict(loss="gaussian", hidden_size=4, max_iter=5, dtype="float64", random_state=0)
    mean, std = LSTMRegressor(**kwargs).fit(X, Y).predict(X, return_std=True)
    mean2, std2 = LSTMRegressor(**kwargs).fit(X, Y * scale + offset).predict(
        X, return_std=True)
    assert mean.shape == std.shape == (24, 2) and np.all(std > 0)
    np.testing.assert_allclose(std2, std * scale, rtol=1e-9)
    np.testing.assert_allclose(mean2, mean * scale + offset, rtol=1e-9, atol=1e-9)


def test_gaussian_loss_return_std():
    X, y = sequences()
    model = LSTMRegressor(loss="gaussian", **SMALL).fit(X, y)
    mean, std = model.predict(X, return_std=True)
    assert mean.shape == std.shape == (24,)
    assert np.all(std > 0)
    np.testing.assert_array_equal(mean, model.predict(X))
    with pytest.raises(ValueError, match="return_std.*loss='gaussian'.*squared_error"):
        LSTMRegressor(**SMALL).fit(X, y).predict(X, return_std=True)


def test_many_to_many_with_nan_targets():
    X, _ = sequences(n=30, T=8)
    y = np.cumsum(np.nan_to_num(X[:, :, 0]), axis=1)
    y[np.isnan(X).all(axis=2)] = np.nan  # nothing at padded steps
    y[1::4, 2] = np.nan  # missing observations
    y_copy = y.copy()
    model = LSTMRegressor(return_sequences=True, hidden_size=8, max_iter=30,
                          learning_rate_init=0.02, random_state=0).fit(X, y)
    np.testing.assert_array_equal(y, y_copy)
    assert np.isfinite(model.loss_curve_).all()
    pred = model.predict(X)
    assert pred.shape == (30, 8)
    padded = np.isnan(X).all(axis=2)
    assert np.isnan(pred[padded]).all() and np.isfinite(pred[~padded]).all()
    assert model.score(X, y) > 0.3
    # The missing targets do not matter: any value there would be masked; all-NaN is an error.
    with pytest.raises(ValueError, match="y: expected at least one observed target"):
        LSTMRegressor(return_sequences=True, **SMALL).fit(X, np.full_like(y, np.nan))


def test_classifier_string_labels_and_proba():
    X, y = sequences()
    labels = np.where(y > 0, "up", "down")
    clf = LSTMClassifier(hidden_size=8, max_iter=40, learning_rate_init=0.02,
                         random_state=0).fit(X, labels)
    assert list(clf.classes_) == ["down", "up"]
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, labels) > 0.7


def test_classifier_per_step_labels_with_missing():
    X, _ = sequences(n=30, T=6)
    labels = np.where(np.nan_to_num(X[:, :, 0]) > 0, "hi", "lo").astype(object)
    labels[np.isnan(X).all(axis=2)] = None
    labels[0, 1] = None
    clf = LSTMClassifier(return_sequences=True, hidden_size=8, max_iter=30,
                         learning_rate_init=0.02, random_state=0).fit(X, labels)
    pred = clf.predict(X)
    assert pred.shape == (30, 6)
    padded = np.isnan(X).all(axis=2)
    assert all(v is None for v in pred[padded])
    assert set(pred[~padded]) <= {"hi", "lo"}
    assert clf.predict_proba(X).shape == (30, 6, 2)
    assert clf.score(X, labels) > 0.8


# ---------------------------------------------------------------------------- xarray


def test_dataarray_in_dataarray_out_with_coords_and_attrs():
    X, y = labeled()
    model = LSTMRegressor(**SMALL).fit(X, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["temp", "rain"])
    pred = model.predict(X)
    assert isinstance(pred, xr.DataArray)
    assert pred.dims == ("site", "member")
    assert list(pred.site.values) == ["a", "b", "c"]
    np.testing.assert_array_equal(pred.member.values, X.member.values)
    assert pred.attrs == X.attrs and pred.name == "target"
    # NumPy input gives the same numbers.
    flat = X.transpose("site", "member", "time", "feature").values.reshape(12, 5, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_array_equal(model.predict(flat), pred.values.reshape(-1))


def test_per_step_output_has_time_coordinate_and_output_names():
    X, _ = labeled()
    y = xr.concat([X.sel(feature="temp").cumsum("time"), X.sel(feature="rain")],
                  dim="quantity").assign_coords(quantity=["cum", "rain"])
    model = LSTMRegressor(return_sequences=True, **SMALL).fit(X, y)
    pred = model.predict(X)
    assert set(pred.dims) == {"site", "member", "time", "output"}
    np.testing.assert_array_equal(pred.time.values, X.time.values)
    assert list(pred.output.values) == ["cum", "rain"]


def test_dataset_input_features_are_variables():
    X, y = labeled()
    ds = X.to_dataset(dim="feature")
    model = LSTMRegressor(**SMALL).fit(ds, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["temp", "rain"])
    pred = model.predict(ds)
    assert pred.dims == ("site", "member")
    np.testing.assert_array_equal(pred.values, LSTMRegressor(**SMALL).fit(X, y).predict(X).values)


def test_custom_dim_names():
    X, y = labeled()
    X2 = X.rename(time="step", feature="var")
    model = LSTMRegressor(time_dim="step", feature_dim="var", **SMALL).fit(X2, y)
    np.testing.assert_array_equal(model.predict(X2).values,
                                  LSTMRegressor(**SMALL).fit(X, y).predict(X).values)


def test_classifier_xarray_output():
    X, y = labeled()
    labels = xr.where(y > 0, "pos", "neg")
    clf = LSTMClassifier(**SMALL).fit(X, labels)
    pred = clf.predict(X)
    assert pred.dims == ("site", "member")
    proba = clf.predict_proba(X)
    assert proba.dims == ("site", "member", "class")
    assert list(proba["class"].values) == ["neg", "pos"]


def test_dask_input_gives_lazy_equal_result():
    pytest.importorskip("dask")
    X, y = labeled()
    model = LSTMRegressor(**SMALL).fit(X, y)
    lazy = model.predict(X.chunk({"site": 1}))
    assert lazy.chunks is not None  # not computed yet
    xr.testing.assert_identical(lazy.compute(), model.predict(X))
    labels = xr.where(y > 0, 1, 0)
    clf = LSTMClassifier(**SMALL).fit(X, labels)
    np.testing.assert_array_equal(clf.predict_proba(X.chunk({"site": 1})).values,
                                  clf.predict_proba(X).values)
    lazy_labels = clf.predict(X.chunk({"site": 1}))
    assert lazy_labels.chunks is not None
    np.testing.assert_array_equal(lazy_labels.values, clf.predict(X).values)
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing"):
        model.predict(X.isel(feature=[0]).chunk({"site": 1}))
    with pytest.raises(ValueError, match="X has 1 features, but LSTMRegressor is expecting 2"):
        with pytest.warns(UserWarning, match="X does not have valid feature names"):
            model.predict(X.isel(feature=[0]).drop_vars("feature").chunk({"site": 1}))


# ---------------------------------------------------------------------------- bad input


def test_hyperparameters_validated_at_fit_not_init():
    X, y = sequences()
    cases = [
        (dict(hidden_size=-4), r"'hidden_size' parameter of LSTMRegressor must be an int in the "
                               r"range \[1, inf\)\. Got -4"),
        (dict(cell="lsmt"), r"'cell' parameter of LSTMRegressor must be a str among .*Got 'lsmt'"),
        (dict(validation_fraction=0.0), r"'validation_fraction' parameter .* range \(0(\.0)?, "
                                        r"1(\.0)?\)\. Got 0\.0"),
        (dict(validation_fraction=1.5), r"'validation_fraction' .*Got 1\.5"),
        (dict(tbptt=(5, 2)), r"tbptt: expected .*k2 >= k1.*found \(5, 2\)"),
    ]
    for params, match in cases:
        model = LSTMRegressor(**params)  # never raises in __init__
        assert model.get_params()[next(iter(params))] == next(iter(params.values()))
        with pytest.raises(ValueError, match=match):
            model.fit(X, y)


def test_predict_before_fit():
    X, _ = sequences()
    for est in (LSTMRegressor(), LSTMClassifier()):
        with pytest.raises(NotFittedError):
            est.predict(X)
    with pytest.raises(NotFittedError):
        LSTMClassifier().predict_proba(X)


@pytest.mark.parametrize("kind", ["1d", "4d"])
def test_wrong_ndim(kind):
    X, y = sequences()
    bad = X[:, 0, 0] if kind == "1d" else X[..., None]
    with pytest.raises(ValueError, match=r"X: expected a 2-D array .* found ndim=[14]"):
        LSTMRegressor(**SMALL).fit(bad, y)


def test_sample_count_mismatch_empty_and_zero_length():
    X, y = sequences()
    with pytest.raises(ValueError, match="y: found 23 samples, but X has 24 samples"):
        LSTMRegressor(**SMALL).fit(X, y[:-1])
    with pytest.raises(ValueError, match=r"X: found array with 0 sample\(s\)"):
        LSTMRegressor(**SMALL).fit(X[:0], y[:0])
    bad = X.copy()
    bad[2] = np.nan
    with pytest.raises(ValueError, match="X: expected sequences of length >= 1; found sample 2"):
        LSTMRegressor(**SMALL).fit(bad, y)
    with pytest.raises(ValueError, match=r"X: found array with 0 time step\(s\)"):
        LSTMRegressor(**SMALL).fit(X[:, :0], y)


def test_non_numeric_input():
    X, y = sequences()
    with pytest.raises(TypeError, match="X: expected numeric data"):
        LSTMRegressor(**SMALL).fit(X.astype(str), y)
    obj = np.empty(X.shape, dtype=object)
    obj[...] = "a"
    with pytest.raises(ValueError, match="X: expected numeric data; found dtype object"):
        LSTMRegressor(**SMALL).fit(obj, y)
    with pytest.raises(TypeError, match="y: expected numeric data"):
        LSTMRegressor(**SMALL).fit(X, y.astype(str).astype("U40") + "x")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_y_many_to_one(value):
    X, y = sequences()
    y = y.copy()
    y[5] = value
    with pytest.raises(ValueError, match=f"y: expected finite values; found {value} at sample 5"):
        LSTMRegressor(**SMALL).fit(X, y)


def test_nan_inside_sequence():
    X, y = sequences()
    X = X.copy()
    X[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="X: expected finite values; found nan at sample 1, "
                                         "time step 2, feature 0 inside the sequence"):
        LSTMRegressor(**SMALL).fit(X, y)


def test_unknown_dims_and_feature_coordinate_mismatch():
    X, y = labeled()
    with pytest.raises(ValueError, match=r"time dim named 'step' \(time_dim\).*found dims"):
        LSTMRegressor(time_dim="step", **SMALL).fit(X, y)
    with pytest.raises(ValueError, match=r"feature dim named 'var' \(feature_dim\)"):
        LSTMRegressor(feature_dim="var", **SMALL).fit(X, y)
    model = LSTMRegressor(**SMALL).fit(X, y)
    renamed = X.assign_coords(feature=["temp", "wind"])
    msg = ("The feature names should match those that were passed during fit.\n"
           "Feature names unseen at fit time:\n- wind\n"
           "Feature names seen at fit time, yet now missing:\n- rain\n")
    with pytest.raises(ValueError, match=re.escape(msg)):
        model.predict(renamed)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        model.predict(X.isel(feature=[1, 0]))
    with pytest.raises(ValueError, match="X has 3 features, but LSTMRegressor is expecting 2 "
                                         "features as input."):
        with pytest.warns(UserWarning, match="X does not have valid feature names"):
            model.predict(xr.concat([X, X.isel(feature=[0])], "feature").drop_vars("feature"))


def test_user_arrays_never_modified():
    X, y = sequences()
    X0, y0 = X.copy(), y.copy()
    Xd, yd = labeled()
    Xd0, yd0 = Xd.copy(deep=True), yd.copy(deep=True)
    model = LSTMRegressor(**SMALL).fit(X, y)
    model.predict(X)
    model.score(X, y)
    model.partial_fit(X, y)
    LSTMRegressor(**SMALL).fit(Xd, yd).predict(Xd)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    xr.testing.assert_identical(Xd, Xd0)
    xr.testing.assert_identical(yd, yd0)


def test_classifier_bad_labels():
    X, y = sequences()
    with pytest.raises(ValueError, match="Unknown label type"):
        LSTMClassifier(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match=r"y: expected at least 2 classes; found 1 class"):
        LSTMClassifier(**SMALL).fit(X, np.zeros(len(X), int))
    clf = LSTMClassifier(**SMALL).partial_fit(X, (y > 0).astype(int), classes=[0, 1, 2])
    assert list(clf.classes_) == [0, 1, 2]
    with pytest.raises(ValueError, match=r"y: expected labels among classes_ \[0, 1, 2\]; "
                                         r"found \[5\]"):
        clf.partial_fit(X, np.full(len(X), 5))


# ---------------------------------------------------------------------------- scikit-learn tools


def test_pipeline_gridsearch_clone_cross_val_score():
    X, y = sequences(n=30)
    pipe = make_pipeline(SequenceScaler(), LSTMRegressor(standardize=False, **SMALL))
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (30,)
    grid = GridSearchCV(LSTMRegressor(**SMALL), {"hidden_size": [2, 4]}, cv=2).fit(X, y)
    # the search's scores are the candidates' cross-validated scores, and it keeps the best
    by_hand = {h: cross_val_score(LSTMRegressor(**{**SMALL, "hidden_size": h}), X, y, cv=2)
               for h in (2, 4)}
    for i, h in enumerate(grid.cv_results_["param_hidden_size"]):
        for k in range(2):
            assert grid.cv_results_[f"split{k}_test_score"][i] == by_hand[h][k]
        assert grid.cv_results_["mean_test_score"][i] == pytest.approx(by_hand[h].mean(),
                                                                       rel=1e-12)
    assert by_hand[2].mean() != by_hand[4].mean()
    assert grid.best_params_ == {"hidden_size": max(by_hand, key=lambda h: by_hand[h].mean())}
    refit = LSTMRegressor(**{**SMALL, **grid.best_params_}).fit(X, y)
    np.testing.assert_array_equal(grid.predict(X), refit.predict(X))
    scores = cross_val_score(LSTMClassifier(**SMALL), X, y > 0, cv=3)
    assert scores.shape == (3,) and np.all((0 <= scores) & (scores <= 1))
    fitted = LSTMRegressor(**SMALL).fit(X, y)
    fresh = clone(fitted)
    assert not hasattr(fresh, "network_") and fresh.get_params() == fitted.get_params()


def test_pickle_and_joblib_round_trip(tmp_path):
    X, y = sequences()
    model = LSTMRegressor(**SMALL).fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    # The unpickled network still trains (its named views share the flat vector).
    before = again.network_.get_flat()
    again.partial_fit(X, y)
    assert not np.array_equal(before, again.network_.get_flat())
    assert not np.array_equal(again.predict(X), model.predict(X))
    joblib.dump(model, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").predict(X), model.predict(X))


# ---------------------------------------------------------------------------- training behaviour


def test_same_seed_bit_identical_whatever_n_jobs(monkeypatch):
    from seqlstm import _threads

    monkeypatch.setattr(_threads, "MAX_UNITS", 4)    # sub-batches as on a 4-core machine
    X, y = sequences(n=40)
    previous = _threads.get_num_threads()
    a = LSTMRegressor(n_jobs=1, **SMALL).fit(X, y)
    b = LSTMRegressor(n_jobs=3, **SMALL).fit(X, y)
    assert _threads.get_num_threads() == previous
    np.testing.assert_array_equal(a.network_.params, b.network_.params)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    c = LSTMRegressor(hidden_size=4, max_iter=3, random_state=1).fit(X, y)
    assert not np.array_equal(a.network_.params, c.network_.params)


def test_partial_fit_and_warm_start():
    X, y = sequences()
    model = LSTMRegressor(**SMALL)
    model.partial_fit(X, y)
    assert model.n_iter_ == 1 and model.t_ == 24
    model.partial_fit(X, y)
    assert model.n_iter_ == 2 and len(model.loss_curve_) == 2
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        LSTMRegressor(early_stopping=True, **SMALL).partial_fit(X, y)

    warm = LSTMRegressor(warm_start=True, **SMALL).fit(X, y)
    first = warm.network_.get_flat()
    warm.fit(X, y)
    assert warm.n_iter_ == 6 and len(warm.loss_curve_) == 6
    cold = LSTMRegressor(**SMALL).fit(X, y)
    np.testing.assert_array_equal(cold.network_.params, first)  # cold refit starts over
    cold.fit(X, y)
    np.testing.assert_array_equal(cold.network_.params, first)
    assert cold.n_iter_ == 3
    warm.set_params(hidden_size=5)
    with pytest.raises(ValueError, match="architecture parameters changed"):
        warm.fit(X, y)


def test_early_stopping_attributes_and_best_weights(monkeypatch):
    """With early stopping the fitted weights are, bit for bit, those of the epoch with the best
    validation score (not the last epoch's), and the model predicts with them."""
    X, y = sequences(n=60)
    epochs = []             # per validation score (one per epoch): the weights it was computed on
    scaled_score = LSTMRegressor._scaled_score

    def recording(self, X_val, y_val, weights=None):
        epochs.append((self.network_.get_flat(), X_val, y_val, weights))
        return scaled_score(self, X_val, y_val, weights)

    monkeypatch.setattr(LSTMRegressor, "_scaled_score", recording)
    model = LSTMRegressor(early_stopping=True, validation_fraction=0.2, n_iter_no_change=2,
                          hidden_size=4, max_iter=15, learning_rate="constant",
                          learning_rate_init=0.05, random_state=0).fit(X, y)
    monkeypatch.undo()
    assert model.best_loss_ is None
    assert len(model.validation_scores_) == model.n_iter_ == len(epochs)
    assert model.best_validation_score_ == max(model.validation_scores_)
    # it stopped on the validation score, epochs after the best one (so restoring matters)
    assert model.stop_reason_ == "early_stopping"
    best = int(np.argmax(model.validation_scores_))
    assert best < model.n_iter_ - 1
    best_weights, X_val, y_val, w_val = epochs[best]
    assert not np.array_equal(best_weights, epochs[-1][0])
    np.testing.assert_array_equal(model.network_.get_flat(), best_weights)
    # predictions come from those weights: the fitted model scores the validation set exactly
    # as the best epoch did, and predicts as a network holding the best epoch's weights
    assert model._scaled_score(X_val, y_val, w_val) == model.best_validation_score_
    last = pickle.loads(pickle.dumps(model))
    last.network_.set_flat(epochs[-1][0])
    assert not np.array_equal(last.predict(X), model.predict(X))
    last.network_.set_flat(best_weights)
    np.testing.assert_array_equal(last.predict(X), model.predict(X))


def test_non_finite_loss_rolls_back_and_halves_learning_rate(monkeypatch):
    X, y = sequences()
    original = network_module.RecurrentNetwork.loss_and_grad
    calls = {"n": 0}

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        value, grad = original(self, *args, **kwargs)
        return (float("nan"), grad) if calls["n"] == 2 else (value, grad)

    monkeypatch.setattr(network_module.RecurrentNetwork, "loss_and_grad", flaky)
    with pytest.warns(RuntimeWarning, match="halved the learning rate"):
        model = LSTMRegressor(batch_size=8, learning_rate="constant", learning_rate_init=1e-3,
                              **SMALL).fit(X, y)
    assert model.n_iter_ == 3
    assert model._state.optimizer.learning_rate == pytest.approx(5e-4)
    assert model.learning_rate_curve_ == pytest.approx([5e-4] * 3)  # it failed in epoch 1
    assert np.isfinite(model.predict(X)).all()


def test_second_divergence_stops_with_convergence_warning(monkeypatch):
    X, y = sequences()

    def broken(self, *args, **kwargs):
        return float("inf"), np.zeros(self.n_params, self.dtype)

    model = LSTMRegressor(**SMALL)
    monkeypatch.setattr(network_module.RecurrentNetwork, "loss_and_grad", broken)
    with pytest.warns(ConvergenceWarning, match="diverged twice"):
        model.fit(X, y)
    assert model.n_iter_ == 0
    monkeypatch.undo()
    initial = build_network(network_config(model.network_)).init_params(model._seeds_[0])
    model._apply_chrono(initial)      # the initialisation includes the default chrono biases
    assert model.chrono_t_max_ is not None
    np.testing.assert_array_equal(model.network_.params, initial.params)  # last good weights
    assert np.isfinite(model.predict(X)).all()


def test_verbose_progress_bar(capsys):
    X, y = sequences()
    LSTMRegressor(verbose=1, **SMALL).fit(X, y)
    err = capsys.readouterr().err
    assert "epoch" in err and "loss=" in err and "lr=" in err


def test_inspect_and_gradient_flow_methods_use_the_scaled_input():
    X, y = sequences()
    model = LSTMRegressor(**SMALL).fit(X * 100.0 + 5.0, y)
    ds = model.inspect(X * 100.0 + 5.0)
    values, _, _ = model._network_input(X * 100.0 + 5.0)
    # the network sees standardized features, not the raw ones
    assert abs(np.nanmean(values)) < 1.0 and np.nanstd(values) < 2.0
    direct = model.network_.trace(values)
    np.testing.assert_allclose(ds["hidden"].isel(layer=0).values, direct[0]["h"], rtol=1e-6)
    flow = model.gradient_flow(X * 100.0 + 5.0)
    assert "lag" in flow.dims and np.all(np.isfinite(flow.values[~np.isnan(flow.values)]))


# ---------------------------------------------------------------------------- issue 11


def test_training_defaults():
    # the classifier's rate was chosen by CV on the UCR training splits (benchmarks/ACCURACY.md)
    assert LSTMRegressor().get_params()["learning_rate_init"] == 3e-3
    assert LSTMClassifier().get_params()["learning_rate_init"] == 1e-2
    for est in (LSTMRegressor(), LSTMClassifier()):
        params = est.get_params()
        assert params["batch_size"] == "auto"
        assert params["learning_rate"] == "cosine" and params["max_iter"] == 200
        assert params["warmup"] == 0 and params["early_stopping"] is False
        assert params["validation_split"] == "random"


def test_cosine_default_runs_its_length_and_reports_schedule_end():
    X, y = sequences(n=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the planned end is no failure
        model = LSTMRegressor(hidden_size=4, max_iter=4, random_state=0).fit(X, y)
    assert model.stop_reason_ == "schedule_end" and model.n_iter_ == 4
    # 40 samples, batch 32: 2 steps per epoch, 8 in all; the rate of the next step per epoch.
    expected = [3e-3 * 0.5 * (1 + np.cos(np.pi * t / 8)) for t in (2, 4, 6, 8)]
    assert model.learning_rate_curve_ == pytest.approx(expected, abs=1e-15)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(4\)"):
        model = LSTMRegressor(hidden_size=4, max_iter=4, learning_rate="constant",
                              random_state=0).fit(X, y)
    assert model.stop_reason_ == "max_iter" and model.learning_rate_curve_ == [3e-3] * 4


def test_unknown_schedule_name_is_an_error_naming_learning_rate():
    X, y = sequences()
    with pytest.raises(ValueError, match=r"'learning_rate' parameter of LSTMRegressor must be a "
                                         r"str among .*Got 'linear'"):
        LSTMRegressor(learning_rate="linear", **SMALL).fit(X, y)


def _repeat(X, y, w):
    return np.repeat(X, w, axis=0), np.repeat(y, w, axis=0)


@pytest.mark.parametrize("cls", [LSTMRegressor, LSTMClassifier])
def test_integer_weights_equal_repeated_samples(cls):
    X, y = sequences(n=12, ragged=False)
    if cls is LSTMClassifier:
        y = np.where(y > 0, "a", "b")
    w = np.array([1, 2, 0, 3, 1, 1, 2, 0, 1, 3, 2, 1])  # 17 repeated: one batch either way
    params = dict(hidden_size=4, max_iter=5, dtype="float64", shuffle=False, random_state=0)
    weighted = cls(**params, batch_size=12).fit(X, y, sample_weight=w)
    repeated = cls(**params, batch_size=17).fit(*_repeat(X, y, w))
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-12)
    method = "predict_proba" if cls is LSTMClassifier else "predict"
    np.testing.assert_allclose(getattr(weighted, method)(X), getattr(repeated, method)(X),
                               rtol=1e-10)
    if cls is LSTMRegressor:  # weighted scaling statistics
        np.testing.assert_allclose(weighted.x_mean_, repeated.x_mean_, rtol=1e-12)
        np.testing.assert_allclose(weighted.y_scale_, repeated.y_scale_, rtol=1e-12)


def test_zero_weight_equals_leaving_the_sample_out_per_step_too():
    X, _ = sequences(n=16, T=6)
    y = np.cumsum(np.nan_to_num(X[:, :, 0]), axis=1)
    y[np.isnan(X).all(axis=2)] = np.nan
    w = np.ones(16)
    w[[2, 5, 11]] = 0
    params = dict(hidden_size=4, max_iter=4, dtype="float64", return_sequences=True,
                  shuffle=False, random_state=0)
    weighted = LSTMRegressor(**params).fit(X, y, sample_weight=w)
    kept = LSTMRegressor(**params).fit(X[w > 0], y[w > 0])
    np.testing.assert_allclose(weighted.loss_curve_, kept.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(weighted.predict(X), kept.predict(X), rtol=1e-10)
    # partial_fit takes weights too
    again = LSTMRegressor(**params).partial_fit(X, y, sample_weight=w)
    assert again.n_iter_ == 1


def test_float64_estimators_pass_sklearns_sample_weight_equivalence_check():
    from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data

    # one minibatch holds all samples (at most 27 in the check): weights then equal repeats;
    # the check's 2-D data are (n_samples, n_features)
    for est in (LSTMRegressor(hidden_size=8, max_iter=30, learning_rate_init=0.02,
                              dtype="float64", random_state=0, batch_size=32,
                              input_2d="features"),
                LSTMClassifier(hidden_size=8, max_iter=30, learning_rate_init=0.02,
                               dtype="float64", random_state=0, batch_size=32,
                               input_2d="features")):
        check_sample_weight_equivalence_on_dense_data(type(est).__name__, est)


def test_bad_sample_weight():
    X, y = sequences()
    cases = [
        (-np.ones(24), "Negative values in data passed to sample_weight"),
        (np.ones(23), r"sample_weight.shape == \(23,\), expected \(24,\)"),
        (np.ones((24, 2)), "sample_weight: Sample weights must be 1D array or scalar"),
        (np.zeros(24), "sample_weight: .*at least one non-zero"),
    ]
    for w, match in cases:
        with pytest.raises(ValueError, match=match):
            LSTMRegressor(**SMALL).fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="Negative values in data passed to sample_weight"):
        LSTMRegressor(**SMALL).partial_fit(X, y, sample_weight=-np.ones(24))
    labels = (y > 0).astype(int)
    with pytest.raises(ValueError, match=r"sample_weight: expected a positive weight on samples "
                                         r"of at least 2 classes; found 1 class"):
        LSTMClassifier(**SMALL).fit(X, labels, sample_weight=labels)


def test_validation_data_early_stopping_on_loss_keeps_the_best_epoch():
    X, y = sequences(n=60)
    X_val, y_val = sequences(n=20, seed=1)
    # (chrono_t_max=None: the plain initialisation, whose run stops early within max_iter)
    model = LSTMRegressor(early_stopping="loss", n_iter_no_change=2, tol=0.0, hidden_size=4,
                          max_iter=15, learning_rate_init=0.05, random_state=0,
                          chrono_t_max=None)
    model.fit(X, y, validation_data=(X_val, y_val))
    assert model.t_ == 60 * model.n_iter_  # no sample held out
    curve = model.validation_loss_curve_
    assert len(curve) == len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_loss_ == min(curve) and model.best_loss_ is None
    # The kept weights are the best validation loss epoch's (R² is the same in scaled units).
    best = int(np.argmin(curve))
    assert model.score(X_val, y_val) == pytest.approx(model.validation_scores_[best], rel=1e-6)
    assert model.stop_reason_ == "early_stopping" and model.n_iter_ == best + 1 + 3


def test_validation_data_without_early_stopping_is_recorded():
    X, y = sequences(n=30)
    X_val, y_val = sequences(n=10, seed=1)
    model = LSTMClassifier(**SMALL).fit(X, y > 0, validation_data=(X_val, y_val > 0))
    assert model.n_iter_ == 3 and model.t_ == 90 and model.stop_reason_ == "schedule_end"
    assert len(model.validation_scores_) == len(model.validation_loss_curve_) == 3
    assert model.validation_scores_[-1] == model.score(X_val, y_val > 0)
    assert model.best_loss_ == min(model.loss_curve_)


def test_bad_validation_data():
    X, y = sequences()
    with pytest.raises(ValueError, match=r"validation_data: X has 2 features, but LSTMRegressor "
                                         r"is expecting 3 features"):
        LSTMRegressor(**SMALL).fit(X, y, validation_data=(X[:, :, :2], y))
    with pytest.raises(ValueError, match=r"validation_data: expected a pair \(X_val, y_val\) or "
                                         r"a triple .*found ndarray"):
        LSTMRegressor(**SMALL).fit(X, y, validation_data=X)
    with pytest.raises(ValueError, match="validation_data: y: found 5 samples, but X has 24"):
        LSTMRegressor(**SMALL).fit(X, y, validation_data=(X, y[:5]))
    with pytest.raises(ValueError, match="validation_data: Negative values in data passed to "
                                         "sample_weight_val"):
        LSTMRegressor(**SMALL).fit(X, y, validation_data=(X, y, -np.ones(24)))
    with pytest.raises(ValueError, match=r"validation_data: y: expected labels among classes_"):
        LSTMClassifier(**SMALL).fit(X, y > 0, validation_data=(X, np.full(24, 3)))


def test_time_split_holds_out_the_last_samples_in_order():
    X, y = sequences(n=40)
    model = LSTMRegressor(early_stopping=True, validation_split="time", validation_fraction=0.25,
                          hidden_size=4, max_iter=6, learning_rate_init=0.05,
                          random_state=0).fit(X, y)
    # the last 10 validate, the 6 - 1 = 5 before them are purged, 25 train
    assert model.t_ == 25 * model.n_iter_
    # The restored best epoch's validation score is the score on the last 10 samples.
    assert model.score(X[30:], y[30:]) == pytest.approx(model.best_validation_score_, rel=1e-6)
    with pytest.raises(ValueError, match=r"'validation_split' parameter .*Got 'last'"):
        LSTMRegressor(early_stopping=True, validation_split="last", **SMALL).fit(X, y)


def _windows(record, length):
    """Windows of `length` steps cut at stride 1, in order, from one record (time, feature)."""
    steps = np.arange(len(record) - length + 1)[:, None] + np.arange(length)
    return record[steps]


def test_time_split_purges_the_windows_that_share_steps_with_the_validation_windows(
        monkeypatch):
    L = 6
    record = np.random.default_rng(0).normal(size=(60, 2))
    record[:, 1] = np.arange(60)            # the second feature is the time step itself
    X = _windows(record, L)                 # 55 windows: window i covers steps i .. i + L - 1
    y = X[:, -1, 0] + X[:, 0, 0]
    seen = {}

    def spy_train(network, state, X, y, **kwargs):
        seen["train"] = np.array(X)
        return real_run_epochs(network, state, X, y, **kwargs)

    def spy_validation(self, X_val, y_val, w_val):
        seen["val"] = np.array(X_val)
        return real_validation(self, X_val, y_val, w_val)

    real_run_epochs, real_validation = _base.run_epochs, LSTMRegressor._validation_functions
    monkeypatch.setattr(_base, "run_epochs", spy_train)
    monkeypatch.setattr(LSTMRegressor, "_validation_functions", spy_validation)
    LSTMRegressor(early_stopping=True, validation_split="time", validation_fraction=0.2,
                  standardize=False, dtype="float64", **SMALL).fit(X, y)
    train_steps, val_steps = seen["train"][:, :, 1], seen["val"][:, :, 1]
    # the validation block is the last ceil(0.2 * 55) = 11 windows, in order
    np.testing.assert_array_equal(val_steps, X[44:, :, 1])
    # no training window shares a time step with a validation window ...
    assert not np.intersect1d(train_steps, val_steps).size
    # ... and only the L - 1 = 5 windows that would are dropped
    np.testing.assert_array_equal(train_steps, X[:44 - (L - 1), :, 1])

    # too few samples for the validation block, the purged windows and a training set
    with pytest.raises(ValueError, match=r"validation_split='time': expected more than "
                                         r"ceil\(0.5 \* 10\) \+ 6 - 1 = 10 samples"):
        LSTMRegressor(early_stopping=True, validation_split="time", validation_fraction=0.5,
                      **SMALL).fit(X[:10], y[:10])


def _fitted_state(model):
    """Everything a fit leaves on `model`, comparable with np.testing.assert_equal: the network
    by its configuration and parameters (bit for bit), the training state by its history,
    optimiser moments and generator state, every other attribute deep-copied."""
    state = {}
    for name, value in vars(model).items():
        if isinstance(value, network_module.RecurrentNetwork):
            state[name] = ("network", value.config(), value.get_flat())
        elif isinstance(value, TrainingState):
            state[name] = ("training state", value.history(),
                           copy.deepcopy(vars(value.optimizer) if value.optimizer else None),
                           None if value.rng is None else value.rng.bit_generator.state)
        else:
            state[name] = copy.deepcopy(value)
    return state


def _fail_after_training(monkeypatch):
    """Make every fit fail after its epochs ran (as an error in training would)."""
    real = _base.run_epochs

    def train_then_fail(network, state, *args, **kwargs):
        real(network, state, *args, **kwargs)
        raise RuntimeError("training failed")

    monkeypatch.setattr(_base, "run_epochs", train_then_fail)


@pytest.mark.parametrize("cls", [LSTMRegressor, LSTMClassifier])
@pytest.mark.parametrize("failure", ["sample_weight", "validation_data", "training",
                                     "warm_start training", "partial_fit training",
                                     "partial_fit sample_weight"])
def test_a_failing_fit_leaves_the_previous_model_as_it_was(cls, failure, monkeypatch):
    X, y = labeled()                                   # named features temp, rain; 12 samples
    y = y if cls is LSTMRegressor else xr.where(y > 0, "up", "down")
    rng = np.random.default_rng(5)
    X2 = rng.normal(size=(12, 7, 3))                   # other features, unnamed
    y2 = (rng.normal(size=(12, 2)) if cls is LSTMRegressor     # two outputs instead of one
          else rng.choice(np.array([0, 1, 2]), size=12))      # other classes
    model = cls(warm_start=failure == "warm_start training", **SMALL)
    if failure.startswith("partial_fit"):
        model.partial_fit(X, y)
    else:
        model.fit(X, y)
    before, predicted = _fitted_state(model), model.predict(X)
    if failure == "sample_weight":
        with pytest.raises(ValueError, match="sample_weight"):
            model.fit(X2, y2, sample_weight=-np.ones(12))
    elif failure == "validation_data":
        with pytest.raises(ValueError, match="validation_data"):
            model.fit(X2, y2, validation_data=(X2[:, :, :2], y2))
    elif failure == "partial_fit sample_weight":
        with pytest.raises(ValueError, match="sample_weight"):
            model.partial_fit(X, y, sample_weight=-np.ones(12))
    else:
        _fail_after_training(monkeypatch)
        with pytest.raises(RuntimeError, match="training failed"):
            if failure == "training":
                model.fit(X2, y2)
            elif failure == "warm_start training":
                model.fit(X, y)
            else:
                model.partial_fit(X, y)
    np.testing.assert_equal(_fitted_state(model), before)
    xr.testing.assert_identical(model.predict(X), predicted)


@pytest.mark.parametrize("split", ["time", "random"])
def test_scaling_statistics_come_from_the_training_samples_only(split):
    X, y = sequences(n=40)                      # ragged, 6 steps
    params = dict(early_stopping=True, validation_split=split, validation_fraction=0.25,
                  **SMALL)
    model = LSTMRegressor(**params).fit(X, y)
    if split == "time":       # the last 10 validate; the 6 - 1 = 5 before them are dropped
        train = np.arange(25)
    else:                     # seeded by random_state, as train_test_split draws it
        train, _ = train_test_split(np.arange(40), test_size=0.25,
                                    random_state=model._seeds_[2])
    np.testing.assert_allclose(model.x_mean_, np.nanmean(X[train].reshape(-1, 3), axis=0),
                               rtol=1e-12)
    np.testing.assert_allclose(model.x_scale_, np.nanstd(X[train].reshape(-1, 3), axis=0),
                               rtol=1e-12)
    np.testing.assert_allclose(model.y_mean_, [y[train].mean()], rtol=1e-12)
    np.testing.assert_allclose(model.y_scale_, [y[train].std()], rtol=1e-12)
    # samples the model does not train on (validation, purged) do not move the scaling
    others = np.setdiff1d(np.arange(40), train)
    X_far, y_far = X.copy(), y.copy()
    X_far[others] *= 1000
    y_far[others] *= 1000
    far = LSTMRegressor(**params).fit(X_far, y_far)
    for name in ("x_mean_", "x_scale_", "y_mean_", "y_scale_"):
        np.testing.assert_array_equal(getattr(far, name), getattr(model, name))
    clf = LSTMClassifier(**params).fit(X_far, y > 0)
    if split == "time":
        np.testing.assert_array_equal(clf.x_mean_, model.x_mean_)
        np.testing.assert_array_equal(clf.x_scale_, model.x_scale_)


def test_per_step_target_statistics_leave_out_padded_and_spin_up_steps():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(8, 12, 2))
    X[::2, 9:] = np.nan                         # padding
    y = 3 * rng.normal(size=(8, 12)) + 1
    y[::2, 9:] = 1e3                            # values at padded steps: not observations
    y[1, 5] = np.nan                            # a missing observation
    model = LSTMRegressor(return_sequences=True, spinup=3, **SMALL).fit(X, y)
    counted = y.copy()
    counted[np.isnan(X).all(axis=2)] = np.nan
    counted[:, :3] = np.nan
    np.testing.assert_allclose(model.y_mean_, [np.nanmean(counted)], rtol=1e-12)
    np.testing.assert_allclose(model.y_scale_, [np.nanstd(counted)], rtol=1e-12)
    # so spinup=3 trains exactly like a fit whose first 3 targets are missing, standardized too
    masked = LSTMRegressor(return_sequences=True, **SMALL).fit(X, counted)
    np.testing.assert_array_equal(model.network_.get_flat(), masked.network_.get_flat())


def test_classifier_validation_accuracy_counts_only_valid_steps():
    rng = np.random.default_rng(3)

    def data(n):
        X = rng.normal(size=(n, 8, 2))
        X[::2, 5:] = np.nan                     # padding
        y = (np.nan_to_num(X[:, :, 0]) > 0).astype(int)
        y[np.isnan(X).all(axis=2)] = 0          # labels at padded steps: not observations
        return X, y

    X, y = data(20)
    X_val, y_val = data(10)
    model = LSTMClassifier(return_sequences=True, **SMALL).fit(
        X, y, validation_data=(X_val, y_val))
    valid = ~np.isnan(X_val).all(axis=2)
    expected = np.mean(model.predict(X_val)[valid] == y_val[valid])
    assert model.validation_scores_[-1] == pytest.approx(expected, rel=1e-12)


def test_stop_reason_early_stopping_and_partial_fit():
    X, y = sequences(n=40)
    model = LSTMRegressor(early_stopping="score", n_iter_no_change=1, tol=10.0, hidden_size=4,
                          max_iter=20, random_state=0).fit(X, y)
    assert model.stop_reason_ == "early_stopping" and model.n_iter_ == 3
    assert LSTMRegressor(**SMALL).partial_fit(X, y).stop_reason_ == "epochs"
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping='loss'"):
        LSTMRegressor(early_stopping="loss", **SMALL).partial_fit(X, y)


# ---------------------------------------------------------------- long records: state and spinup
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_predict_in_pieces_equals_whole(cell):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 300, 3))                   # two long records
    y = np.cumsum(X[:, :, :1], axis=1) * 0.1
    model = LSTMRegressor(hidden_size=8, num_layers=2, cell=cell, return_sequences=True,
                          max_iter=2, random_state=0).fit(X, y)
    whole = model.predict(X)
    pieces, state = [], None
    for a, b in ((0, 40), (40, 41), (41, 300)):
        out, state = model.predict(X[:, a:b], initial_state=state, return_state=True)
        pieces.append(out)
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1), whole)
    mean, std, _ = LSTMRegressor(hidden_size=4, return_sequences=True, loss="gaussian",
                                 max_iter=1, random_state=0).fit(X, y).predict(
        X, return_std=True, return_state=True)
    assert mean.shape == std.shape == (2, 300, 1)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_predict_in_pieces_equals_whole_wide_layers_and_head():
    # 32 hidden units and 6 outputs: products wide enough that OpenBLAS computes a row in
    # another way depending on how many rows share the call (also with AVX-512), so the pieces
    # equal the whole only if every step's products have the same shapes in both
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 100, 3))
    y = np.cumsum(X[:, :, :1], axis=1) * 0.1 + np.arange(6) * 0.1
    model = LSTMRegressor(hidden_size=32, num_layers=2, return_sequences=True, max_iter=1,
                          random_state=0).fit(X, y)
    whole = model.predict(X)
    assert whole.shape == (2, 100, 6)
    pieces, state = [], None
    for a, b in ((0, 13), (13, 14), (14, 40), (40, 100)):
        out, state = model.predict(X[:, a:b], initial_state=state, return_state=True)
        pieces.append(out)
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1), whole)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_spinup_leaves_the_first_steps_out_of_loss_and_score():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((6, 40, 2))
    y = np.cumsum(X[:, :, 0], axis=1)
    params = dict(hidden_size=6, return_sequences=True, max_iter=3, random_state=0,
                  dtype="float64", standardize=False)
    spun = LSTMRegressor(spinup=10, **params).fit(X, y)
    masked_y = y.copy()
    masked_y[:, :10] = np.nan
    masked = LSTMRegressor(**params).fit(X, masked_y)
    np.testing.assert_array_equal(spun.network_.get_flat(), masked.network_.get_flat())
    assert spun.score(X, y) == masked.score(X, masked_y)
    assert spun.score(X, y) != LSTMRegressor(**params).fit(X, masked_y).set_params(
        spinup=0).score(X, y)


def test_state_and_spinup_errors():
    X = np.random.default_rng(0).standard_normal((4, 10, 2))
    # (one epoch of the default "cosine" is its planned end: no ConvergenceWarning to expect)
    model = LSTMRegressor(hidden_size=4, max_iter=1, random_state=0).fit(X, X[:, -1, 0])
    with pytest.raises(ValueError, match="initial_state/return_state: expected a model with "
                                         "return_sequences=True"):
        model.predict(X, return_state=True)
    with pytest.raises(ValueError, match="spinup: expected 0 for a model without "
                                         "return_sequences; found 3"):
        LSTMRegressor(hidden_size=4, max_iter=1, spinup=3).fit(X, X[:, -1, 0])
    with pytest.raises(ValueError, match="spinup"):
        LSTMRegressor(spinup=-1).fit(X, X[:, -1, 0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_readout_last_plus_mean_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((20, 9, 2))
    X[3, 6:] = np.nan
    y = np.nanmean(X[:, :, 0], axis=1)
    model = LSTMRegressor(hidden_size=4, max_iter=3, readout="last+mean",
                          random_state=0).fit(X, y)
    assert model.network_.readout == "last+mean"
    assert model.predict(X).shape == (20,)
    model.save(tmp_path / "m.nc")
    from seqlstm import load

    np.testing.assert_array_equal(load(tmp_path / "m.nc").predict(X), model.predict(X))
    with pytest.raises(ValueError, match="readout"):
        LSTMRegressor(readout="first").fit(X, y)


# ---------------------------------------------------------------------------- frames


@pytest.mark.parametrize("cls", [LSTMRegressor, LSTMClassifier])
def test_frame_stride_equals_a_model_fitted_on_frames(cls):
    """frame_stride=s fits and predicts exactly as frame_stride=1 on the framed sequences."""
    from seqlstm.data import frame_sequences

    X, y = sequences(n=20, T=13, F=2)
    if cls is LSTMClassifier:
        y = np.where(y > 0, "a", "b")
    lengths = (~np.isnan(X).all(axis=2)).sum(axis=1)
    framed, _ = frame_sequences(X, lengths, 3)
    params = dict(hidden_size=4, max_iter=3, random_state=0, standardize=False,
                  dtype="float64")
    a = cls(frame_stride=3, **params).fit(X, y)
    b = cls(frame_stride=1, **params).fit(framed, y)
    assert a.frame_stride_ == 3 and b.frame_stride_ == 1 and a.n_features_in_ == 2
    assert a.network_.input_size == b.network_.input_size == 12
    np.testing.assert_array_equal(a.network_.get_flat(), b.network_.get_flat())
    method = "predict_proba" if cls is LSTMClassifier else "predict"
    np.testing.assert_array_equal(getattr(a, method)(X), getattr(b, method)(framed))


def test_frame_stride_auto():
    X, y = sequences(n=8, T=64, ragged=False)
    assert LSTMRegressor(**SMALL).fit(X, y).frame_stride_ == 1
    X, y = sequences(n=8, T=200)  # the longest training sequence sets the stride
    model = LSTMRegressor(**SMALL).fit(X, y)
    assert model.frame_stride_ == 4 and model.network_.input_size == 3 * 8
    assert model.predict(X[:, :50]).shape == (8,)  # shorter sequences predict as well
    y_steps = np.nancumsum(X[:, :, 0], axis=1)
    y_steps[np.isnan(X[:, :, 0])] = np.nan
    assert LSTMRegressor(return_sequences=True, **SMALL).fit(X, y_steps).frame_stride_ == 1


def test_frame_stride_with_per_step_outputs_is_an_error():
    X, y = sequences(n=8, T=6, ragged=False)
    y = np.cumsum(X[:, :, 0], axis=1)
    with pytest.raises(ValueError, match="frame_stride: expected 'auto' or 1 with "
                                         "return_sequences=True.*found 2"):
        LSTMRegressor(return_sequences=True, frame_stride=2, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="frame_stride"):
        LSTMRegressor(frame_stride=0, **SMALL).fit(X, y[:, -1])


def test_frames_survive_saving_and_inspect_labels_frame_starts(tmp_path):
    from seqlstm import load

    X, y = labeled(n=12, T=9)
    model = LSTMRegressor(frame_stride=4, **SMALL).fit(X, y)
    model.save(tmp_path / "m.nc")
    loaded = load(tmp_path / "m.nc")
    assert loaded.frame_stride_ == 4
    np.testing.assert_array_equal(loaded.predict(X).values, model.predict(X).values)
    ds = model.inspect(X)
    assert ds.sizes["time"] == 3
    np.testing.assert_array_equal(ds["time"].values, X["time"].values[::4])
    # a model from before frames (no stride in its state) reads steps one by one
    state = model._to_state()
    del state["frame_stride"]
    state["params"]["frame_stride"] = 1
    assert type(model)._from_state(state).frame_stride_ == 1


def test_frames_in_lazy_prediction():
    da = pytest.importorskip("dask.array")
    X, y = sequences(n=20, T=150)
    model = LSTMClassifier(**SMALL).fit(X, np.where(y > 0, "a", "b"))
    assert model.frame_stride_ == 3
    lazy = xr.DataArray(da.from_array(X, chunks=(7, 150, 3)), dims=("sample", "time", "feature"))
    proba = model.predict_proba(lazy)
    assert isinstance(proba.data, da.Array)
    got = proba.values
    # each chunk gives the bits of predicting its samples in memory
    for b0 in (0, 7, 14):
        np.testing.assert_array_equal(got[b0:b0 + 7], model.predict_proba(X[b0:b0 + 7]))
    # and the whole array to float32 rounding: a sample predicted in a batch of another size
    # goes through BLAS products of another row count (README, "Reproducibility")
    np.testing.assert_allclose(got, model.predict_proba(X), rtol=1e-6, atol=1e-7)


def test_pickles_from_before_frames_read_every_step():
    X, y = sequences(n=12, T=80)
    model = LSTMRegressor(frame_stride=1, **SMALL).fit(X, y)
    state = model.__getstate__()
    for key in ("frame_stride", "frame_stride_"):
        del state[key]
    state["_architecture_"] = state["_architecture_"][:-1]
    old = LSTMRegressor.__new__(LSTMRegressor)
    old.__setstate__(state)
    assert old.frame_stride == 1 and old.frame_stride_ == 1
    np.testing.assert_array_equal(old.predict(X), model.predict(X))
    old.partial_fit(X, y)  # the architecture check accepts it


# ---------------------------------------------------------------------- dask: chunks, clusters


def _per_step_model(n=9, T=30, F=2, seed=0):
    """A per-step regressor and ragged records: 0-2 reach the last 10 steps; 5 ends at step 8;
    7 ends at step 20 exactly (a chunk boundary)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, F))
    for i, end in ((0, 27), (1, 25), (5, 8), (7, 20)):
        X[i, end:] = np.nan
    y = np.nancumsum(X[:, :, 0], axis=1)
    y[np.isnan(X[:, :, 0])] = np.nan
    model = LSTMRegressor(return_sequences=True, **SMALL).fit(X, y)
    da = xr.DataArray(X, dims=("sample", "time", "feature"), coords={"time": np.arange(T)})
    return model, da


@pytest.mark.parametrize("on_cluster", [False, True])
def test_dask_time_chunks_carry_the_state(on_cluster, request):
    pytest.importorskip("dask")
    client = request.getfixturevalue("dask_client") if on_cluster else None
    model, X = _per_step_model()
    lazy = model.predict(X.chunk({"sample": 3, "time": 10}))
    assert lazy.chunks == ((3, 3, 3), (10, 10, 10))      # time chunks kept: a chain per chunk
    got = computed(lazy, client)
    # each sample chunk: the bits of predicting those records whole in memory
    for s in (slice(0, 3), slice(3, 6), slice(6, 9)):
        xr.testing.assert_identical(got.isel(sample=s), model.predict(X.isel(sample=s)))
    # and of predicting the pieces in memory, each from the previous one's state (records
    # 0-2 have valid steps in every piece)
    state, pieces = None, []
    for t in (slice(0, 10), slice(10, 20), slice(20, 30)):
        out, state = model.predict(X.values[:3, t], initial_state=state, return_state=True)
        pieces.append(out)
    np.testing.assert_array_equal(got.values[:3], np.concatenate(pieces, axis=1))


@pytest.mark.parametrize("on_cluster", [False, True])
def test_dask_sample_chunks_equal_the_chunks_in_memory(on_cluster, request):
    pytest.importorskip("dask")
    client = request.getfixturevalue("dask_client") if on_cluster else None
    X, y = sequences(n=20, T=12)
    labels = np.where(y > 0, "a", "b")
    clf = LSTMClassifier(**SMALL).fit(X, labels)
    lazy = xr.DataArray(X, dims=("sample", "time", "feature")).chunk({"sample": 7, "time": 5})
    proba = computed(clf.predict_proba(lazy), client)
    got = computed(clf.predict(lazy), client)
    for b0 in (0, 7, 14):
        np.testing.assert_array_equal(proba.values[b0:b0 + 7], clf.predict_proba(X[b0:b0 + 7]))
        np.testing.assert_array_equal(got.values[b0:b0 + 7], clf.predict(X[b0:b0 + 7]))
    # Dataset input: its variables are the features
    Xl, yl = labeled()
    model = LSTMRegressor(**SMALL).fit(Xl, yl)
    ds = Xl.to_dataset(dim="feature")
    lazy = model.predict(ds.chunk({"site": 1}))
    out = computed(lazy, client)
    for i in range(3):
        xr.testing.assert_identical(out.isel(site=[i]), model.predict(ds.isel(site=[i])))


@pytest.mark.parametrize("on_cluster", [False, True])
def test_dask_gridded_field(on_cluster, request):
    """A (time, lat, lon) field: every grid cell a record, the output on the same grid."""
    pytest.importorskip("dask")
    client = request.getfixturevalue("dask_client") if on_cluster else None
    rng = np.random.default_rng(1)
    ds = xr.Dataset(
        {v: (("time", "lat", "lon"), rng.normal(size=(24, 3, 5))) for v in ("t2m", "tp")},
        coords={"time": np.arange(24), "lat": [50.0, 51.0, 52.0],
                "lon": [0.0, 1.0, 2.0, 3.0, 4.0]},
        attrs={"source": "test"})
    y = ds["t2m"].cumsum("time").rename("runoff")
    model = LSTMRegressor(return_sequences=True, **SMALL).fit(ds, y)
    lazy = model.predict(ds.chunk({"time": 8, "lat": 2, "lon": 3}))
    assert lazy.dims == ("time", "lat", "lon")
    assert lazy.chunks == ((8, 8, 8), (2, 1), (3, 2))
    got = computed(lazy, client)
    xr.testing.assert_identical(got, model.predict(ds))
    for lat, lon in ((slice(0, 2), slice(0, 3)), (slice(2, 3), slice(3, 5))):
        block = ds.isel(lat=lat, lon=lon)
        xr.testing.assert_identical(got.isel(lat=lat, lon=lon), model.predict(block))


@pytest.mark.parametrize("on_cluster", [False, True])
def test_dask_nan_inside_a_sequence_names_the_sample(on_cluster, request):
    pytest.importorskip("dask")
    client = request.getfixturevalue("dask_client") if on_cluster else None
    model, X = _per_step_model()
    bad = X.copy()
    bad[7, 4, 1] = np.nan                         # sample 7: third sample chunk, first piece
    with pytest.raises(ValueError) as eager:
        model.predict(bad)
    # sample chunks of whole records: the in-memory message, naming sample 7
    assert "at sample 7, time step 4, feature 1 inside the sequence (length 20)" \
        in str(eager.value)
    with pytest.raises(ValueError, match=re.escape(str(eager.value))):
        computed(model.predict(bad.chunk({"sample": 3})), client)
    # pieces along time: sample and step of the whole array, the length known so far
    with pytest.raises(ValueError, match=re.escape(
            "X: expected finite values; found nan at sample 7, time step 4, feature 1 inside "
            "the sequence (length at least 10)")):
        computed(model.predict(bad.chunk({"sample": 3, "time": 10})), client)
    # padding that ends, then values again in a later piece (record 5 ends at step 8)
    bad = X.copy()
    bad[5, 25] = 1.0
    with pytest.raises(ValueError) as eager:
        model.predict(bad)
    assert "at sample 5, time step 8, feature 0 inside the sequence" in str(eager.value)
    with pytest.raises(ValueError, match=re.escape(
            "found nan at sample 5, time step 8, feature 0 inside the sequence (length at "
            "least 26)")):
        computed(model.predict(bad.chunk({"sample": 3, "time": 10})), client)
    # a record with no valid step at all
    bad = X.copy()
    bad[4] = np.nan
    with pytest.raises(ValueError) as eager:
        model.predict(bad)
    with pytest.raises(ValueError, match=re.escape(str(eager.value))):
        computed(model.predict(bad.chunk({"sample": 3, "time": 10})), client)


def test_dask_graph_holds_the_model_once():
    """The model is one key that every task names, never serialised into each task (a worker
    would receive it with every chunk)."""
    pytest.importorskip("dask")
    import cloudpickle

    X, y = labeled()
    model = LSTMRegressor(hidden_size=48, max_iter=1, random_state=0).fit(X, y)
    model_bytes = len(pickle.dumps(model))
    assert model_bytes > 40_000
    for chunks in ({"site": 1, "member": 1}, {"site": 1, "member": 2}):
        lazy = model.predict(X.chunk(chunks))
        graph = dict(lazy.__dask_graph__())
        assert len(graph) >= 12
        sizes = [len(cloudpickle.dumps(task)) for task in graph.values()]
        assert sum(sizes) < 1.5 * model_bytes
        assert sum(size > model_bytes / 2 for size in sizes) == 1


def _kernel_threads_here():
    """On a worker: Numba's thread count inside a kernel call, and whether OS threads were
    started by predicting (Numba's OpenMP pool)."""
    import os

    import numba

    from seqlstm._threads import kernel_threads

    with kernel_threads():
        inside = numba.get_num_threads()
    X, y = sequences(n=64, T=6)
    model = LSTMRegressor(n_jobs=-1, **SMALL).fit(X, y)
    before = len(os.listdir("/proc/self/task"))
    model.predict(X)
    return inside, len(os.listdir("/proc/self/task")) - before


def test_dask_workers_run_kernels_on_their_own_thread(dask_client):
    workers = sorted(dask_client.scheduler_info()["workers"])
    futures = [dask_client.submit(_kernel_threads_here, workers=[w], pure=False)
               for w in workers]
    for inside, started in dask_client.gather(futures):
        assert inside == 1 and started == 0
    from seqlstm._threads import MAX_UNITS, kernel_threads
    import numba

    with kernel_threads():                  # outside a worker: seqlstm's own setting
        assert numba.get_num_threads() == min(MAX_UNITS, numba.config.NUMBA_NUM_THREADS)


def test_dask_grid_search_on_the_cluster_equals_local(dask_client):
    X, y = sequences(n=16)
    grid = {"hidden_size": [2, 4]}
    local = GridSearchCV(LSTMRegressor(**SMALL), grid, cv=2).fit(X, y)
    from distributed import get_task_stream

    with dask_client.as_current(), joblib.parallel_backend("dask"), \
            get_task_stream(dask_client) as stream:
        remote = GridSearchCV(LSTMRegressor(**SMALL), grid, cv=2).fit(X, y)
    assert len(stream.data) >= 4                                      # on the workers
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))


def test_dask_worker_killed_during_prediction(dask_client):
    """A worker process is killed right after the graph is submitted: the scheduler reruns
    its tasks (and the model key it held) on the other worker and the nanny's restarted one,
    and the results are still exact."""
    import os
    import signal

    model, X = _per_step_model()
    # each sample chunk (one record) has the bits of that record predicted in memory (another
    # batch than the whole array, equal to it only to float rounding: README, Reproducibility)
    expected = xr.concat([model.predict(X.isel(sample=[i])) for i in range(X.sizes["sample"])],
                         dim="sample")
    lazy = model.predict(X.chunk({"sample": 1, "time": 3}))     # 9 chains of 10 pieces
    victim = sorted(dask_client.scheduler_info()["workers"])[0]
    pid = dask_client.run(os.getpid, workers=[victim])[victim]
    future = dask_client.compute(lazy)
    os.kill(pid, signal.SIGKILL)
    xr.testing.assert_identical(future.result(timeout=120), expected)


def test_dask_multithreaded_worker_gives_each_thread_a_model_copy():
    """A worker with two threads: each thread predicts with its own copy of the model (tasks
    of one model run side by side), with the bits of one model."""
    distributed = pytest.importorskip("distributed")
    from seqlstm.data import lazy as lazy_module

    model, X = _per_step_model()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        with client.as_current():
            got = model.predict(X.chunk({"sample": 1, "time": 10})).compute()
        # each one-record chunk: the bits of that record predicted in memory
        xr.testing.assert_identical(
            got, xr.concat([model.predict(X.isel(sample=[i]))
                            for i in range(X.sizes["sample"])], dim="sample"))

        def own_copy(m):
            return lazy_module._for_this_thread(m) is not m

        assert client.submit(own_copy, model, pure=False).result()
    assert lazy_module._for_this_thread(model) is model      # outside a worker: the model


# ---------------------------------------------------------------- fit holds the data once
def _padded_sequences(n, T, F, dtype, seed=0):
    """`n` sequences of up to `T` steps, some NaN-padded at the end, and a target each."""
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, T, F)) * 3 + 1).astype(dtype)
    lengths = rng.integers(T // 3, T + 1, size=n)
    lengths[0] = T
    for i, length in enumerate(lengths):
        X[i, length:] = np.nan
    y = np.nanmean(X[:, :, 0], axis=1).astype(np.float64)
    return X, y


def _record_training_batches(monkeypatch):
    """The (X, y) minibatches training hands to ``loss_and_grad`` (copies), in order; the
    validation loss (which calls it without a random generator) is not recorded."""
    seen = []
    original = network_module.RecurrentNetwork.loss_and_grad

    def recording(self, X, y, *args, **kwargs):
        if "random_state" in kwargs:
            seen.append((np.array(X, copy=True), np.array(y, copy=True)))
        return original(self, X, y, *args, **kwargs)

    monkeypatch.setattr(network_module.RecurrentNetwork, "loss_and_grad", recording)
    return seen


def _framed_as_before(est, X):
    """The network input of the whole of `X` as fit built it before it gathered minibatches:
    a float64 copy, standardised with the fitted statistics, cut into frames by
    ``frame_sequences`` as it was then written, cast to the compute dtype."""
    from numpy.lib.stride_tricks import sliding_window_view

    from seqlstm.data import to_sequences

    data = to_sequences(X)
    values = (data.values - est.x_mean_) / est.x_scale_
    stride, lengths = est.frame_stride_, data.lengths
    if stride > 1:   # frame_sequences as it was written before (NumPy's sliding windows)
        n, n_time, n_features = values.shape
        n_frames = -(-n_time // stride)
        padded = np.zeros((n, (n_frames + 1) * stride, n_features))
        padded[:, :n_time] = values
        padded[np.arange(padded.shape[1]) >= lengths[:, np.newaxis]] = 0.0
        windows = sliding_window_view(padded, 2 * stride, axis=1)[:, ::stride][:, :n_frames]
        values = np.array(windows.transpose(0, 1, 3, 2), order="C").reshape(
            n, n_frames, 2 * stride * n_features)
        values[np.arange(n_frames) >= -(-lengths[:, np.newaxis] // stride)] = np.nan
    return np.ascontiguousarray(values, dtype=est.dtype_)


@pytest.mark.parametrize("frame_stride", ["auto", 1])
@pytest.mark.parametrize("validation", [None, "fraction", "data"])
@pytest.mark.parametrize("input_dtype", [np.float32, np.float64])
def test_fit_minibatches_equal_the_framed_copy_bit_for_bit(monkeypatch, frame_stride, validation,
                                                           input_dtype):
    """Every training minibatch is, bit for bit and in the same order, the rows of the
    standardised framed copy of the training set that fit built before it gathered minibatches
    from one copy (:func:`_framed_as_before`), drawn in the order of the training state's
    generator (one permutation per epoch); the targets likewise; the scaling statistics are
    those of the training samples computed whole (several features: NumPy sums them in the
    same order).  Frames on (stride 3 for 150 steps) and off, NaN-padded sequences of several
    lengths (frames past the end NaN, steps past it 0), float32 and float64 input, a held-out
    validation fraction and given validation data."""
    from seqlstm.preprocessing import scaling_statistics

    X, y = _padded_sequences(70, 150, 3, input_dtype)
    seen = _record_training_batches(monkeypatch)
    kwargs = dict(hidden_size=4, max_iter=2, batch_size=16, random_state=3, tol=0.0,
                  frame_stride=frame_stride, learning_rate="constant")
    fit_kwargs = {}
    if validation == "fraction":
        kwargs.update(early_stopping=True, n_iter_no_change=5)
    if validation == "data":
        X_val, y_val = _padded_sequences(20, 150, 3, input_dtype, seed=1)
        fit_kwargs["validation_data"] = (X_val, y_val)
    est = LSTMRegressor(**kwargs).fit(X, y, **fit_kwargs)
    assert est.frame_stride_ == (3 if frame_stride == "auto" else 1)

    rows = np.arange(len(X))
    if validation == "fraction":
        rows = train_test_split(rows, test_size=est.validation_fraction,
                                random_state=est._seeds_[2])[0]
    from seqlstm.data import to_sequences
    data = to_sequences(X)
    mean, scale = scaling_statistics(data.values[rows], data.lengths[rows])
    assert np.array_equal(est.x_mean_, mean) and np.array_equal(est.x_scale_, scale)
    X_train = _framed_as_before(est, X)[rows]
    y_train = ((y - est.y_mean_) / est.y_scale_)[rows][:, None]
    rng = np.random.default_rng(est._seeds_[1])
    expected = []
    for _ in range(2):
        order = rng.permutation(len(rows))
        expected += [order[b:b + 16] for b in range(0, len(rows), 16)]
    assert len(seen) == len(expected)
    for (xb, yb), idx in zip(seen, expected):
        assert xb.dtype == X_train.dtype and xb.shape == X_train[idx].shape
        assert np.array_equal(xb, X_train[idx], equal_nan=True)
        assert np.array_equal(yb, y_train[idx], equal_nan=True)


# Run in a fresh process: tracemalloc counts the allocations of every thread (see
# tests/test_network.py).  argv: frame_stride, validation ("none", "fraction" or "data").
_FIT_MEMORY = """
import gc, sys, tracemalloc
import numpy as np
from seqlstm import LSTMRegressor

stride = sys.argv[1] if sys.argv[1] == "auto" else int(sys.argv[1])
validation = sys.argv[2]
rng = np.random.default_rng(0)
kwargs = dict(hidden_size=4, batch_size=32, max_iter=1, frame_stride=stride, random_state=0,
              early_stopping=validation == "fraction")


def data(n):
    X = rng.standard_normal((n, 120, 16), dtype=np.float32)
    return X, X[:, :, 0].mean(axis=1)


def fit(X, y, fit_kwargs):
    LSTMRegressor(**kwargs).fit(X, y, **fit_kwargs)


X, y = data(40)
fit(X, y, {"validation_data": (X, y)} if validation == "data" else {})   # compiled
X, y = data(2000)
fit_kwargs, nbytes = {}, X.nbytes
if validation == "data":
    X_val, y_val = data(500)
    fit_kwargs, nbytes = {"validation_data": (X_val, y_val)}, nbytes + X_val.nbytes
gc.collect()
spare = [tuple(range(n)) for n in range(1, 33) for _ in range(2000)]
del spare
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
fit(X, y, fit_kwargs)
peak = tracemalloc.get_traced_memory()[1] - base
tracemalloc.stop()
print(peak, nbytes)
"""


@pytest.mark.parametrize("frame_stride", ["auto", 1])
@pytest.mark.parametrize("validation", ["none", "fraction", "data"])
def test_fit_memory_is_the_data_once_plus_work_arrays(frame_stride, validation):
    """The NumPy allocations of one epoch of ``fit`` on 2,000 float32 sequences of 120 steps
    and 16 features (15.4 MB; with ``validation_data`` 500 more) peak at no more than 1.5
    times the data plus 4 MB, frames on (stride 2) and off, with a held-out validation
    fraction and with given validation data.  The one standardised copy is 1 times the data;
    the rest are work arrays that do not grow with the number of sequences: the temporaries
    of the checks, statistics and scaling, a few arrays of one chunk of
    ``seqlstm.data.batches.CHUNK_BYTES`` (4 MB of float64; 8.5 MB at the peak, measured), or
    the minibatch arrays (32 sequences of 60 frames of 64 float32 values, 0.5 MB, in the
    gather's buffer and about four times in the network's pass).  Before, fit held a float64
    copy, a standardised float64 copy and the framed copy: 5.4 times the data here (10 and 6
    times at the issue's 5,000 x 400 x 64).  Measured in a fresh process."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _FIT_MEMORY, str(frame_stride), validation],
                         capture_output=True, text=True, check=True, timeout=600)
    peak, nbytes = (int(v) for v in out.stdout.split())
    assert peak <= 1.5 * nbytes + 4e6, (peak / nbytes, peak, nbytes)


def test_validation_in_minibatches_equals_one_pass_to_rounding():
    """Validation data go through the network minibatch by minibatch (37 sequences in
    batches of 8): the recorded score and loss are those of one pass over the whole validation
    set, to float64 rounding (the sums are grouped by batch)."""
    X, y = _padded_sequences(60, 150, 3, np.float64)
    X_val, y_val = _padded_sequences(37, 150, 3, np.float64, seed=1)
    est = LSTMRegressor(hidden_size=4, max_iter=1, batch_size=8, random_state=0,
                        dtype="float64").fit(X, y, validation_data=(X_val, y_val))
    values, _ = est._network_values(est._validate_X(X_val, reset=False))
    scaled = ((y_val - est.y_mean_) / est.y_scale_)[:, None]
    assert est.validation_scores_[0] == pytest.approx(est._scaled_score(values, scaled),
                                                      rel=1e-12)
    assert est.validation_loss_curve_[0] == pytest.approx(
        est.network_.loss(values, scaled, loss="mse"), rel=1e-12)


def test_default_lstm_bridges_a_lag_the_old_default_and_the_rnn_do_not():
    """Issue 19: at the default initialisation (chrono over the training sequences' network
    steps) an LSTM read through its last state, every step read, learns the temporal order
    problem at T = 120 (relevant symbols at steps 12-24 and 60-72, read out at 120-132) in 10
    short epochs; the plain initialisation (forget-gate bias 1, the default before) and the
    vanilla RNN, trained alike, stay at chance (4 classes: 0.25).  Measured with model seeds 0,
    1 and 2: 1.000 / 0.24-0.26 / 0.23-0.24."""
    from seqlstm.datasets import make_temporal_order

    X, y = make_temporal_order(256, 120, random_state=0)
    X_test, y_test = make_temporal_order(500, 120, random_state=1)

    def accuracy(**params):
        model = LSTMClassifier(hidden_size=16, max_iter=10, readout="last", frame_stride=1,
                               random_state=0, **params).fit(X, y)
        return float(np.mean(np.asarray(model.predict(X_test)) == np.asarray(y_test)))

    assert LSTMClassifier().chrono_t_max == "auto"
    assert accuracy() >= 0.95                       # the defaults
    assert accuracy(chrono_t_max=None) <= 0.5       # the plain initialisation
    assert accuracy(cell="rnn") <= 0.5
