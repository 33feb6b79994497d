"""Tests of seqlstm.ensemble: SeedEnsemble."""

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sklearn.base import BaseEstimator, RegressorMixin, clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_random_state

import seqlstm
import seqlstm.io
from _files import write_back
from seqlstm import LSTMClassifier, LSTMRegressor, SeedEnsemble, load

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL = dict(hidden_size=4, max_iter=3, learning_rate_init=0.02)


def sequences(n=30, T=6, seed=0, labeled=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 2))
    X[::5, -2:] = np.nan
    y = np.nansum(X[:, :, 0], axis=1)
    if labeled:
        X = xr.DataArray(X, dims=("station", "time", "feature"),
                         coords={"station": np.arange(100, 100 + n), "feature": ["a", "b"]},
                         attrs={"units": "m"})
        y = xr.DataArray(y, dims=("station",), coords={"station": X.station}, name="total")
    return X, y


def labels(y):
    return np.where(np.asarray(y) > 0, "wet", "dry")


def test_is_an_estimator_of_the_wrapped_kind_and_exported():
    assert "SeedEnsemble" in seqlstm.__all__ and seqlstm.SeedEnsemble is SeedEnsemble
    reg = SeedEnsemble(LSTMRegressor(**SMALL), n_estimators=2, random_state=0)
    clf = SeedEnsemble(LSTMClassifier(**SMALL), n_estimators=2, random_state=0)
    assert is_regressor(reg) and not is_classifier(reg)
    assert is_classifier(clf) and not is_regressor(clf)
    assert hasattr(clf, "predict_proba") and not hasattr(reg, "predict_proba")
    params = reg.get_params(deep=True)
    assert params["n_estimators"] == 2 and params["estimator__hidden_size"] == 4
    reg.set_params(estimator__hidden_size=5, n_estimators=3)
    assert reg.estimator.hidden_size == 5 and reg.n_estimators == 3
    X, y = sequences()
    reg.fit(X, y)
    copy = clone(reg)
    assert not hasattr(copy, "estimators_")
    assert copy.get_params(deep=False)["n_estimators"] == 3
    assert copy.estimator is not reg.estimator and copy.estimator.hidden_size == 5


def test_members_are_clones_with_drawn_seeds():
    X, y = sequences()
    ens = SeedEnsemble(LSTMRegressor(random_state=99, **SMALL), n_estimators=3,
                       random_state=7, n_jobs=1).fit(X, y)
    expected = check_random_state(7).randint(0, np.iinfo(np.int32).max, size=3)
    np.testing.assert_array_equal(ens.seeds_, expected)
    assert [m.random_state for m in ens.estimators_] == [int(s) for s in expected]
    assert all(m.n_jobs == 1 and m.hidden_size == 4 for m in ens.estimators_)
    assert ens.estimator.random_state == 99 and not hasattr(ens.estimator, "network_")
    single = LSTMRegressor(random_state=int(expected[1]), n_jobs=1, **SMALL).fit(X, y)
    np.testing.assert_array_equal(ens.estimators_[1].network_.params, single.network_.params)
    assert ens.n_features_in_ == 2
    # n_jobs=None keeps the template's
    ens = SeedEnsemble(LSTMRegressor(n_jobs=2, **SMALL), n_estimators=1).fit(X, y)
    assert ens.estimators_[0].n_jobs == 2


def test_bit_identical_at_one_and_two_threads():
    from seqlstm._threads import numba_threads

    X, y = sequences(n=40)
    fits = []
    for n in (1, 2):
        with numba_threads(n):
            fits.append(SeedEnsemble(LSTMClassifier(**SMALL), n_estimators=3, random_state=0)
                        .fit(X, labels(y)))
    fits.append(SeedEnsemble(LSTMClassifier(**SMALL), n_estimators=3, random_state=0,
                             n_jobs=2).fit(X, labels(y)))
    a = fits[0]
    for b in fits[1:]:
        for ma, mb in zip(a.estimators_, b.estimators_):
            np.testing.assert_array_equal(ma.network_.params, mb.network_.params)
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    other = SeedEnsemble(LSTMClassifier(**SMALL), n_estimators=3, random_state=1).fit(X, labels(y))
    assert not np.array_equal(a.predict_proba(X), other.predict_proba(X))


def test_sample_weight_reaches_every_member():
    X, y = sequences()
    w = np.random.default_rng(3).integers(0, 4, size=30)
    w[:2] = [0, 3]
    ens = SeedEnsemble(LSTMRegressor(**SMALL), n_estimators=3, random_state=0)
    ens.fit(X, y, sample_weight=w)
    for member, seed in zip(ens.estimators_, ens.seeds_):
        direct = LSTMRegressor(random_state=int(seed), **SMALL).fit(X, y, sample_weight=w)
        np.testing.assert_array_equal(member.network_.params, direct.network_.params)
        assert member.loss_curve_ == direct.loss_curve_
    unweighted = SeedEnsemble(LSTMRegressor(**SMALL), n_estimators=3, random_state=0).fit(X, y)
    assert not np.array_equal(unweighted.estimators_[0].network_.params,
                              ens.estimators_[0].network_.params)
    # classifiers and estimators outside seqlstm take them too
    ens = SeedEnsemble(LSTMClassifier(**SMALL), n_estimators=2, random_state=0)
    ens.fit(X, labels(y), sample_weight=w)
    direct = LSTMClassifier(random_state=int(ens.seeds_[1]), **SMALL)
    direct.fit(X, labels(y), sample_weight=w)
    np.testing.assert_array_equal(ens.estimators_[1].network_.params, direct.network_.params)
    tree = SeedEnsemble(DecisionTreeRegressor(max_features=1), n_estimators=2, random_state=0)
    tree.fit(X[:, 0], y, sample_weight=w)
    direct = DecisionTreeRegressor(max_features=1, random_state=int(tree.seeds_[0]))
    direct.fit(X[:, 0], y, sample_weight=w)
    np.testing.assert_array_equal(tree.estimators_[0].predict(X[:, 0]), direct.predict(X[:, 0]))


def test_validation_data_reaches_every_member():
    X, y = sequences()
    X_val, y_val = sequences(n=12, seed=1)
    w_val = np.arange(12) % 3
    for validation_data in [(X_val, y_val), (X_val, y_val, w_val)]:
        ens = SeedEnsemble(LSTMRegressor(**SMALL), n_estimators=2, random_state=0)
        ens.fit(X, y, validation_data=validation_data)
        for member, seed in zip(ens.estimators_, ens.seeds_):
            direct = LSTMRegressor(random_state=int(seed), **SMALL)
            direct.fit(X, y, validation_data=validation_data)
            assert len(member.validation_scores_) == 3
            assert member.validation_scores_ == direct.validation_scores_
            assert member.validation_loss_curve_ == direct.validation_loss_curve_
            np.testing.assert_array_equal(member.network_.params, direct.network_.params)
    assert ens.estimators_[0].validation_scores_ != ens.estimators_[1].validation_scores_
    # early stopping on it: each member keeps its best weights, as a direct fit does
    template = LSTMClassifier(early_stopping=True, n_iter_no_change=1, **SMALL)
    ens = SeedEnsemble(template, n_estimators=2, random_state=0)
    ens.fit(X, labels(y), sample_weight=np.arange(30) % 2 + 1,
            validation_data=(X_val, labels(y_val)))
    direct = clone(template).set_params(random_state=int(ens.seeds_[1]))
    direct.fit(X, labels(y), sample_weight=np.arange(30) % 2 + 1,
               validation_data=(X_val, labels(y_val)))
    assert ens.estimators_[1].validation_scores_ == direct.validation_scores_
    np.testing.assert_array_equal(ens.estimators_[1].network_.params, direct.network_.params)


def test_bad_fit_arguments_name_the_argument_and_keep_the_ensemble():
    X, y = sequences()
    ens = SeedEnsemble(LSTMRegressor(**SMALL), n_estimators=2, random_state=0).fit(X, y)
    before = [m.network_.params.copy() for m in ens.estimators_]
    for bad in (np.ones(3), -np.ones(30), np.zeros(30), np.full(30, np.nan)):
        with pytest.raises(ValueError, match="sample_weight"):
            ens.fit(X, y, sample_weight=bad)
    with pytest.raises(ValueError, match="validation_data"):
        ens.fit(X, y, validation_data=(X,))
    with pytest.raises(ValueError, match="validation_data"):
        ens.fit(X, y, validation_data=(X[:, :, :1], y))
    with pytest.raises(ValueError, match="sample_weight_val"):
        ens.fit(X, y, validation_data=(X, y, -np.ones(30)))
    for m, p in zip(ens.estimators_, before):
        np.testing.assert_array_equal(m.network_.params, p)
    tree = SeedEnsemble(DecisionTreeRegressor(), n_estimators=2, random_state=0)
    with pytest.raises(ValueError, match="validation_data: expected an estimator whose fit"):
        tree.fit(X[:, 0], y, validation_data=(X[:, 0], y))
    assert not hasattr(tree, "estimators_")


def test_classifier_mean_probabilities_sum_to_one_and_argmax():
    X, y = sequences()
    ens = SeedEnsemble(LSTMClassifier(**SMALL), n_estimators=3, random_state=0).fit(X, labels(y))
    proba = ens.predict_proba(X)
    members = [m.predict_proba(X) for m in ens.estimators_]
    np.testing.assert_allclose(proba, sum(members) / 3, rtol=0, atol=1e-15)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ens.classes_, ["dry", "wet"])
    np.testing.assert_array_equal(ens.predict(X), ens.classes_[proba.argmax(axis=1)])
    assert ens.score(X, labels(y)) == np.mean(ens.predict(X) == labels(y))


def test_classifier_labeled_per_step_keeps_the_members_form():
    X, y = sequences(labeled=True)
    steps = xr.where(X.sel(feature="a") > 0, "up", "down").where(X.sel(feature="a").notnull())
    ens = SeedEnsemble(LSTMClassifier(return_sequences=True, **SMALL), n_estimators=2,
                       random_state=0).fit(X, steps)
    proba = ens.predict_proba(X)
    member = ens.estimators_[0].predict_proba(X)
    assert isinstance(proba, xr.DataArray)
    assert proba.dims == member.dims and proba.attrs == member.attrs
    xr.testing.assert_identical(proba.coords.to_dataset(), member.coords.to_dataset())
    padded = np.isnan(proba.values).any(axis=-1)
    np.testing.assert_array_equal(padded, np.isnan(X.values).all(axis=-1))
    np.testing.assert_allclose(proba.values.sum(axis=-1)[~padded], 1.0, rtol=0, atol=1e-12)
    pred = ens.predict(X)
    first = ens.estimators_[0].predict(X)
    assert pred.dims == first.dims and pred.dtype == first.dtype
    assert pd.isna(pred.values[padded]).all() and pd.isna(first.values[padded]).all()
    assert set(pred.values[~padded]) <= {"up", "down"}


def test_gaussian_regressor_mixture_mean_and_variance():
    X, y = sequences(labeled=True)
    ens = SeedEnsemble(LSTMRegressor(loss="gaussian", **SMALL), n_estimators=4,
                       random_state=0).fit(X, y)
    mean, std = ens.predict(X, return_std=True)
    mus, sigmas = zip(*(m.predict(X, return_std=True) for m in ens.estimators_))
    mus = np.array([m.values for m in mus])
    sigmas = np.array([s.values for s in sigmas])
    # Lakshminarayanan et al. 2017
    np.testing.assert_allclose(mean.values, mus.mean(axis=0), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(std.values ** 2, (sigmas ** 2 + mus ** 2).mean(axis=0)
                               - mus.mean(axis=0) ** 2, rtol=1e-9, atol=1e-9)
    assert (std.values ** 2 >= (sigmas ** 2).mean(axis=0)).all()
    assert ((std.values ** 2 - (sigmas ** 2).mean(axis=0)) > 0).any()   # members disagree
    # the members' labeled form
    member = ens.estimators_[0].predict(X)
    for out in (mean, std, ens.predict(X)):
        assert isinstance(out, xr.DataArray) and out.dims == ("station",)
        assert out.name == member.name == "total"
        np.testing.assert_array_equal(out.station, X.station)
    xr.testing.assert_identical(ens.predict(X), mean)
    assert np.isfinite(ens.score(X, y))


def test_squared_error_regressor_mean_and_spread():
    X, y = sequences()
    ens = SeedEnsemble(LSTMRegressor(**SMALL), n_estimators=3, random_state=0).fit(X, y)
    preds = np.array([m.predict(X) for m in ens.estimators_])
    mean, spread = ens.predict(X, return_std=True)
    assert isinstance(mean, np.ndarray) and mean.shape == (30,)
    np.testing.assert_allclose(mean, preds.mean(axis=0), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(spread, preds.std(axis=0), rtol=1e-9, atol=1e-12)
    from sklearn.metrics import r2_score

    assert ens.score(X, y) == pytest.approx(r2_score(y, mean))


def test_regressor_ensemble_scores_through_the_regressors_path():
    # per-step targets with a padded sequence and a missing observation: pooled over samples
    # and steps, as LSTMRegressor.score
    rng = np.random.default_rng(3)
    X = rng.normal(size=(8, 10, 2))
    y = np.cumsum(X[:, :, 0], axis=1)
    X[-1, -3:] = y[-1, -3:] = np.nan
    y[0, 4] = np.nan
    w = rng.uniform(0.5, 2.0, size=8)
    one = SeedEnsemble(LSTMRegressor(return_sequences=True, **SMALL), n_estimators=1,
                       random_state=0).fit(X, y)
    member = one.estimators_[0]
    assert np.isfinite(one.score(X, y))
    assert one.score(X, y) == member.score(X, y)
    assert one.score(X, y, sample_weight=w) == member.score(X, y, sample_weight=w)
    assert seqlstm.metrics.get_scorer("nse")(one, X, y) == one.score(X, y)
    two = SeedEnsemble(LSTMRegressor(return_sequences=True, **SMALL), n_estimators=2,
                       random_state=0).fit(X, y)
    pred = two.predict(X)
    keep = ~np.isnan(y)
    from sklearn.metrics import r2_score

    assert two.score(X, y) == pytest.approx(r2_score(y[keep], pred[keep]), rel=1e-12)
    # per-sequence targets
    X, y = sequences()
    one = SeedEnsemble(LSTMRegressor(**SMALL), n_estimators=1, random_state=0).fit(X, y)
    assert one.score(X, y) == one.estimators_[0].score(X, y)
    assert seqlstm.metrics.get_scorer("nse")(one, X, y) == one.score(X, y)


@pytest.mark.parametrize("kind", ["classifier", "gaussian"])
def test_netcdf_round_trip_bit_identical(tmp_path, kind):
    X, y = sequences(labeled=True)
    if kind == "classifier":
        est, target = LSTMClassifier(chrono_t_max=6, **SMALL), labels(y)
    else:
        est, target = LSTMRegressor(loss="gaussian", cell="gru", **SMALL), y
    ens = SeedEnsemble(est, n_estimators=3, random_state=0).fit(X, target)
    path = tmp_path / "ens.nc"
    ens.save(path)
    loaded = load(path)
    assert type(loaded) is SeedEnsemble
    params, expected = loaded.get_params(), ens.get_params()
    assert type(params.pop("estimator")) is type(expected.pop("estimator"))
    assert params == expected and loaded.estimator.get_params() == est.get_params()
    np.testing.assert_array_equal(loaded.seeds_, ens.seeds_)
    for a, b in zip(loaded.estimators_, ens.estimators_):
        assert type(a) is type(b) and a.get_params() == b.get_params()
        np.testing.assert_array_equal(a.network_.params, b.network_.params)
        assert a.loss_curve_ == b.loss_curve_
    np.testing.assert_array_equal(loaded.feature_names_in_, ens.feature_names_in_)
    if kind == "classifier":
        xr.testing.assert_identical(loaded.predict_proba(X), ens.predict_proba(X))
        xr.testing.assert_identical(loaded.predict(X), ens.predict(X))
        np.testing.assert_array_equal(loaded.classes_, ens.classes_)
    else:
        for a, b in zip(loaded.predict(X, return_std=True), ens.predict(X, return_std=True)):
            xr.testing.assert_identical(a, b)
    # one file, readable by other netCDF tools
    with xr.open_dataset(path, engine="scipy") as ds:
        assert ds.attrs["estimator"] == "SeedEnsemble" and ds.attrs["n_members"] == 3
        assert ds.attrs["m2_estimator"] == type(est).__name__
        assert "m0_weight_ih_l0" in ds and "m2_head_weight" in ds


def test_corrupted_ensemble_file(tmp_path):
    X, y = sequences()
    ens = SeedEnsemble(LSTMRegressor(**SMALL), n_estimators=2, random_state=0).fit(X, y)
    path = tmp_path / "ens.nc"
    ens.save(path)
    variables, attrs, _ = seqlstm.io.read_netcdf(path)
    variables["m1_weight_hh_l0"] = variables["m1_weight_hh_l0"] * 2
    write_back(path, variables, attrs, path)
    with pytest.raises(ValueError, match="checksum"):
        load(path)
    del attrs["m1_estimator"]
    write_back(path, variables, attrs, path)
    with pytest.raises(ValueError):
        load(path)


def test_cross_val_score_uses_the_wrapped_kind():
    X, y = sequences(n=24)
    scores = cross_val_score(SeedEnsemble(LSTMClassifier(**SMALL), n_estimators=2,
                                          random_state=0), X, labels(y), cv=2)
    assert scores.shape == (2,) and ((0 <= scores) & (scores <= 1)).all()


def test_two_d_input_follows_the_members_input_2d(tmp_path):
    X = np.random.default_rng(3).normal(size=(20, 8))  # (n_samples, n_time) series
    y = X[:, -2:].sum(axis=1)
    with pytest.raises(ValueError, match=re.escape("X[:, :, None]")):
        SeedEnsemble(LSTMRegressor(**SMALL), n_estimators=2, random_state=0).fit(X, y)
    a = SeedEnsemble(LSTMRegressor(input_2d="series", **SMALL), n_estimators=2,
                     random_state=0).fit(X, y)
    b = SeedEnsemble(LSTMRegressor(**SMALL), n_estimators=2, random_state=0).fit(X[:, :, None], y)
    assert a.n_features_in_ == 1
    np.testing.assert_array_equal(a.predict(X), b.predict(X[:, :, None]))
    a.save(tmp_path / "ens.nc")
    loaded = load(tmp_path / "ens.nc")
    assert loaded.estimator.input_2d == "series"
    assert all(m.input_2d == "series" for m in loaded.estimators_)
    np.testing.assert_array_equal(loaded.predict(X), a.predict(X))


def test_bad_input():
    X, y = sequences()
    with pytest.raises(ValueError, match="n_estimators"):
        SeedEnsemble(LSTMRegressor(**SMALL), n_estimators=0).fit(X, y)
    with pytest.raises(ValueError, match="estimator"):
        SeedEnsemble("LSTMRegressor").fit(X, y)
    with pytest.raises(ValueError, match="n_jobs"):
        SeedEnsemble(LSTMRegressor(**SMALL), n_jobs="two").fit(X, y)
    from sklearn.linear_model import LinearRegression

    with pytest.raises(ValueError, match="estimator: expected an estimator with a random_state"):
        SeedEnsemble(LinearRegression()).fit(X[:, 0], y)
    ens = SeedEnsemble(LSTMClassifier(**SMALL), n_estimators=2, random_state=0)
    with pytest.raises(NotFittedError):
        ens.predict(X)
    with pytest.raises(NotFittedError):
        ens.predict_proba(X)
    with pytest.raises(NotFittedError):
        ens.save("never.nc")
    ens.fit(X, labels(y))
    with pytest.raises(ValueError, match="return_std"):
        ens.predict(X, return_std=True)
    with pytest.raises(ValueError, match="features"):
        ens.predict(X[:, :, :1])
    with pytest.raises(ValueError, match="y: expected shape"):
        ens.score(X, labels(y)[:5])
    with pytest.raises(ValueError, match="sample_weight"):
        ens.score(X, labels(y), sample_weight=np.ones(3))
    # a failing fit leaves the fitted ensemble as it was
    before = [m.network_.params.copy() for m in ens.estimators_]
    with pytest.raises(ValueError):
        ens.fit(X, np.full(30, "only one class"))
    for m, p in zip(ens.estimators_, before):
        np.testing.assert_array_equal(m.network_.params, p)
    assert list(ens.classes_) == ["dry", "wet"]


def test_generic_estimators_fit_but_only_seqlstm_ones_save(tmp_path):
    rng = np.random.default_rng(0)
    X2, y2 = rng.normal(size=(20, 3)), rng.normal(size=20)
    ens = SeedEnsemble(DecisionTreeRegressor(max_features=1), n_estimators=3,
                       random_state=0).fit(X2, y2)
    preds = np.array([m.predict(X2) for m in ens.estimators_])
    np.testing.assert_allclose(ens.predict(X2), preds.mean(axis=0), rtol=1e-13, atol=1e-13)
    with pytest.raises(TypeError, match="estimator"):
        ens.save(tmp_path / "tree.nc")
    assert not (tmp_path / "tree.nc").exists()


class _MeanRegressor(RegressorMixin, BaseEstimator):
    """A regressor with a random_state and nothing else seqlstm's have (no n_features_in_)."""

    def __init__(self, random_state=None, loss="squared_error"):
        self.random_state = random_state
        self.loss = loss

    def fit(self, X, y):
        self.mean_ = float(np.mean(y)) + check_random_state(self.random_state).normal()
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def test_estimators_without_n_features_in_fit_and_predict():
    rng = np.random.default_rng(0)
    X2, y2 = rng.normal(size=(20, 3)), rng.normal(size=20)
    ens = SeedEnsemble(_MeanRegressor(), n_estimators=3, random_state=0).fit(X2, y2)
    assert not hasattr(ens, "n_features_in_")
    means = [m.mean_ for m in ens.estimators_]
    np.testing.assert_allclose(ens.predict(X2), np.mean(means), rtol=1e-13)
    _, std = ens.predict(X2, return_std=True)
    np.testing.assert_allclose(std, np.std(means), rtol=1e-12)


def test_estimators_it_cannot_combine_are_refused_at_fit():
    """A classifier without predict_proba, a Gaussian regressor without return_std: a clear
    TypeError before any member is fitted, the ensemble left as it was."""
    from sklearn.linear_model import RidgeClassifier

    rng = np.random.default_rng(0)
    X2, y2 = rng.normal(size=(20, 3)), rng.normal(size=20)
    ens = SeedEnsemble(RidgeClassifier(), n_estimators=2, random_state=0)
    with pytest.raises(TypeError, match="estimator: expected a classifier with predict_proba.*"
                                        "found RidgeClassifier"):
        ens.fit(X2, y2 > 0)
    assert not hasattr(ens, "estimators_")
    ens = SeedEnsemble(_MeanRegressor(), n_estimators=2, random_state=0).fit(X2, y2)
    fitted = list(ens.estimators_)
    with pytest.raises(TypeError, match="estimator: expected.*predict.*return_std.*"
                                        "found _MeanRegressor"):
        ens.set_params(estimator=_MeanRegressor(loss="gaussian")).fit(X2, y2)
    assert ens.estimators_ == fitted


def test_dask_input_gives_lazy_equal_results():
    pytest.importorskip("dask")
    X, y = sequences(labeled=True)
    lazy_X = X.chunk({"station": 7})
    reg = SeedEnsemble(LSTMRegressor(loss="gaussian", **SMALL), n_estimators=2,
                       random_state=0).fit(X, y)
    for lazy, eager in zip(reg.predict(lazy_X, return_std=True), reg.predict(X, return_std=True)):
        assert lazy.chunks is not None          # not computed yet
        assert lazy.name == eager.name and lazy.attrs == eager.attrs
        np.testing.assert_allclose(lazy.values, eager.values, rtol=1e-12, atol=1e-12)
    clf = SeedEnsemble(LSTMClassifier(**SMALL), n_estimators=2, random_state=0).fit(X, labels(y))
    lazy = clf.predict_proba(lazy_X)
    assert lazy.chunks is not None
    np.testing.assert_allclose(lazy.values, clf.predict_proba(X).values, rtol=0, atol=1e-12)
    lazy_labels = clf.predict(lazy_X)
    assert lazy_labels.chunks is not None
    np.testing.assert_array_equal(lazy_labels.values, clf.predict(X).values)


# scikit-learn's checks feed 2-D (n_samples, n_features) data: that is input_2d="features"
@parametrize_with_checks(
    [
        SeedEnsemble(LSTMRegressor(hidden_size=8, max_iter=30, learning_rate_init=0.02,
                                   input_2d="features"),
                     n_estimators=2, random_state=0),
        SeedEnsemble(LSTMClassifier(hidden_size=8, max_iter=30, learning_rate_init=0.02,
                                    input_2d="features"),
                     n_estimators=2, random_state=0),
    ],
    expected_failed_checks=lambda est: est._expected_failed_checks(),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --------------------------------------------------------------------------- forecasters
def _record(n=80, seed=0):
    t = np.arange(n)
    noise = 0.1 * np.random.default_rng(seed).standard_normal(n)
    return xr.DataArray(np.sin(2 * np.pi * t / 12) + noise, dims="time",
                        coords={"time": pd.date_range("2000-01", periods=n, freq="MS")},
                        name="level", attrs={"units": "m"})


FORECASTER = dict(lookback=6, horizon=2, hidden_size=4, max_iter=2, batch_size=16)


@pytest.mark.parametrize("loss", ["mse", "mae", "gaussian", "quantile"])
def test_forecaster_members_combined(loss):
    """SeedEnsemble(LSTMForecaster): fit(data) without y; each member is the forecaster fitted
    alone with its seed; point forecasts averaged, Gaussians as their mixture, quantiles
    averaged level by level (still non-crossing); predict_interval, forecast and score on the
    combined forecasts."""
    from seqlstm import LSTMForecaster
    from seqlstm.metrics import skill

    da = _record()
    est = LSTMForecaster(loss=loss, **FORECASTER)
    ens = SeedEnsemble(est, n_estimators=3, random_state=0).fit(da)
    alone = [LSTMForecaster(loss=loss, random_state=int(s), **FORECASTER).fit(da)
             for s in ens.seeds_]
    for member, single in zip(ens.estimators_, alone):
        np.testing.assert_array_equal(member.network_.params, single.network_.params)
    outs = [m.predict(da) for m in alone]
    got = ens.predict(da)
    if loss == "gaussian":
        mus = np.stack([o["mean"].values for o in outs])
        var = np.stack([o["std"].values for o in outs]) ** 2
        xr.testing.assert_identical(got["mean"], got["mean"].copy(data=mus.mean(0)))
        np.testing.assert_allclose(got["std"].values,
                                   np.sqrt((var + mus ** 2).mean(0) - mus.mean(0) ** 2),
                                   rtol=1e-9)
        point = got["mean"].values
    else:
        stack = np.stack([o.values for o in outs])
        np.testing.assert_allclose(got.values, stack.mean(0), rtol=1e-15, atol=1e-15)
        assert got.dims == outs[0].dims and got.attrs == {"units": "m"}
        point = got.values
        if loss == "quantile":
            assert (got.diff("quantile") >= 0).all()
            point = got.values[..., 1]
    if loss in ("gaussian", "quantile"):
        lower, upper = ens.predict_interval(da, coverage=0.8)
        expected = alone[0]._interval(got, 0.8)
        xr.testing.assert_identical(lower, expected[0])
        xr.testing.assert_identical(upper, expected[1])
        assert (lower <= upper).all()
    else:
        with pytest.raises(ValueError, match="predict_interval: expected a forecaster fitted"):
            ens.predict_interval(da)
    # forecast: every member's own recursion, combined
    fc = ens.forecast(da, 5)
    members_fc = [m.forecast(da, 5) for m in alone]
    center = (lambda o: o["mean"]) if loss == "gaussian" else (lambda o: o)
    np.testing.assert_allclose(center(fc).values,
                               np.mean([center(o).values for o in members_fc], axis=0),
                               rtol=1e-14, atol=1e-15)
    assert center(fc).dims == center(members_fc[0]).dims
    # score: skill of the combined point forecasts against persistence
    y = da.values
    padded = np.concatenate([y, [np.nan, np.nan]])
    truth = np.stack([padded[6 + k:6 + k + 75] for k in range(2)], 1)
    last = np.broadcast_to(y[5:, None], truth.shape)
    assert ens.score(da) == pytest.approx(skill(truth, point, last), rel=1e-12)
    one = SeedEnsemble(est, n_estimators=1, random_state=0).fit(da)
    assert one.score(da) == one.estimators_[0].score(da)


@pytest.mark.parametrize("loss", ["gaussian", "quantile"])
@pytest.mark.parametrize("decoder", ["per_step", "direct"])
def test_forecaster_ensemble_one_file_bit_identical(tmp_path, loss, decoder):
    from seqlstm import LSTMForecaster

    da = _record()
    ens = SeedEnsemble(LSTMForecaster(loss=loss, quantiles=(0.1, 0.25, 0.5, 0.75, 0.9),
                                      decoder=decoder, **FORECASTER),
                       n_estimators=2, random_state=1).fit(da)
    path = tmp_path / "forecasters.nc"
    ens.save(path)
    loaded = load(path)
    assert type(loaded) is SeedEnsemble and type(loaded.estimator) is LSTMForecaster
    assert loaded.estimator.get_params() == ens.estimator.get_params()
    xr.testing.assert_identical(loaded.predict(da), ens.predict(da))
    xr.testing.assert_identical(loaded.forecast(da, 3), ens.forecast(da, 3))
    for a, b in zip(loaded.predict_interval(da, 0.5), ens.predict_interval(da, 0.5)):
        xr.testing.assert_identical(a, b)
    assert loaded.score(da) == ens.score(da)
    with xr.open_dataset(path, engine="scipy") as ds:
        assert ds.attrs["n_members"] == 2 and ds.attrs["m1_estimator"] == "LSTMForecaster"


def test_forecaster_ensemble_bad_arguments():
    from seqlstm import LSTMForecaster

    da = _record()
    ens = SeedEnsemble(LSTMForecaster(loss="gaussian", **FORECASTER), n_estimators=2,
                       random_state=0)
    with pytest.raises(ValueError, match="sample_weight: expected an estimator whose fit takes"):
        ens.fit(da, sample_weight=np.ones(80))
    assert not hasattr(ens, "estimators_")
    ens.fit(da)
    with pytest.raises(ValueError, match="return_std: expected False for a forecaster ensemble"):
        ens.predict(da, return_std=True)
    with pytest.raises(ValueError, match="sample_weight: expected None for a forecaster"):
        ens.score(da, sample_weight=np.ones(80))
    assert not hasattr(SeedEnsemble(LSTMRegressor()), "forecast")
    assert not hasattr(SeedEnsemble(LSTMRegressor()), "predict_interval")


@pytest.mark.parametrize("issue", ["rolling", "origin"])
def test_forecaster_ensemble_scores_folds_like_a_member(issue):
    """On a seqlstm.model_selection fold (and through seqlstm's scorers) an ensemble of one
    member scores as that member, and a larger one scores its combined forecasts."""
    from seqlstm import LSTMForecaster
    from seqlstm.metrics import get_scorer
    from seqlstm.model_selection import along_time

    da = _record()
    fold = along_time(da, issue=issue)[60:70]
    est = LSTMForecaster(loss="quantile", **FORECASTER)
    one = SeedEnsemble(est, n_estimators=1, random_state=0).fit(da)
    member = one.estimators_[0]
    assert one.score(fold) == member.score(fold)
    rmse = get_scorer("neg_rmse")
    assert rmse(one, fold) == rmse(member, fold)
    two = SeedEnsemble(est, n_estimators=2, random_state=0).fit(da)
    assert two.score(fold) != two.estimators_[0].score(fold)
    assert np.isfinite(rmse(two, fold))


def test_members_fitted_on_dask_workers_equal_the_local_fit(dask_client):
    """Under joblib's dask backend the members are fitted on the cluster's workers,
    bit-identical to the local fit (the minibatch split does not depend on threads)."""
    import joblib

    X, y = sequences()
    local = SeedEnsemble(LSTMClassifier(**SMALL), n_estimators=3, random_state=0).fit(
        X, labels(y))
    from distributed import get_task_stream

    with dask_client.as_current(), joblib.parallel_backend("dask"), \
            get_task_stream(dask_client) as stream:
        remote = SeedEnsemble(LSTMClassifier(**SMALL), n_estimators=3, random_state=0).fit(
            X, labels(y))
    assert any("_fit_member" in str(task["key"]) for task in stream.data)   # on the workers
    np.testing.assert_array_equal(remote.seeds_, local.seeds_)
    for a, b in zip(remote.estimators_, local.estimators_):
        np.testing.assert_array_equal(a.network_.params, b.network_.params)
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))
