"""seqlstm.model_selection: the rolling-origin splitter, records wrapped along time, and
scikit-learn's searches splitting Datasets, DataArrays and NumPy records along time."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV, KFold, TimeSeriesSplit, cross_val_score
from sklearn.utils import _safe_indexing

from seqlstm import LSTMForecaster, metrics
from seqlstm.model_selection import AlongTime, RollingOrigin, along_time

# float64: a fold's forecasts come from another batch of windows than the hand computations'
# predict calls, which the project promises equal to float rounding only (README,
# Reproducibility: ~1e-7 relative in float32 under AVX2 BLAS, ~1e-16 in float64)
FAST = dict(hidden_size=8, max_iter=3, batch_size=16, random_state=0, dtype="float64")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _folds(cv, n_time):
    return [(tr.tolist(), te.tolist()) for tr, te in cv.split(along_time(np.zeros(n_time)))]


def _sines(n_series=2, n_time=80, seed=0):
    """(series, time) sines of different phases with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_time)
    return np.stack([np.sin(2 * np.pi * t / 12 + k) + 0.05 * rng.standard_normal(n_time)
                     for k in range(n_series)])


# ------------------------------------------------------------------ the splitter
def test_expanding_folds_as_documented():
    assert _folds(RollingOrigin(n_splits=3, test_size=4, gap=2), 20) == [
        (list(range(0, 6)), [8, 9, 10, 11]),
        (list(range(0, 10)), [12, 13, 14, 15]),
        (list(range(0, 14)), [16, 17, 18, 19])]
    # step_length: origins 2 steps apart, overlapping test folds; default test_size T // 4
    assert _folds(RollingOrigin(n_splits=2, test_size=3, step_length=2), 10) == [
        (list(range(0, 5)), [5, 6, 7]), (list(range(0, 7)), [7, 8, 9])]
    assert _folds(RollingOrigin(n_splits=3), 13) == [
        (list(range(0, 4)), [4, 5, 6]), (list(range(0, 7)), [7, 8, 9]),
        (list(range(0, 10)), [10, 11, 12])]
    assert RollingOrigin(n_splits=4).get_n_splits() == 4


def test_sliding_folds_as_documented():
    # default window_length: the first fold's training steps, kept for every fold
    assert _folds(RollingOrigin(n_splits=3, test_size=2, gap=1, window="sliding"), 12) == [
        ([0, 1, 2, 3, 4], [6, 7]), ([2, 3, 4, 5, 6], [8, 9]), ([4, 5, 6, 7, 8], [10, 11])]
    assert _folds(RollingOrigin(n_splits=2, test_size=2, window="sliding", window_length=3),
                  12) == [([5, 6, 7], [8, 9]), ([7, 8, 9], [10, 11])]


@given(n_time=st.integers(2, 60), n_splits=st.integers(1, 6), test_size=st.integers(1, 10),
       gap=st.integers(0, 5), step=st.one_of(st.none(), st.integers(1, 8)),
       sliding=st.booleans(), length=st.one_of(st.none(), st.integers(1, 30)))
def test_folds_never_test_before_train(n_time, n_splits, test_size, gap, step, sliding, length):
    """Every fold: training steps all before its test steps, exactly `gap` steps between them,
    `test_size` consecutive test steps; `n_splits` folds in time order, the last one ending at
    the record's end; sliding folds all of one length."""
    cv = RollingOrigin(n_splits, test_size=test_size, gap=gap, step_length=step,
                       window="sliding" if sliding else "expanding",
                       window_length=length if sliding else None)
    record = along_time(np.zeros(n_time))
    step = test_size if step is None else step
    room = n_time - test_size - (n_splits - 1) * step - gap    # training steps of fold 0
    if room < 1 or (sliding and length is not None and length > room):
        with pytest.raises(ValueError, match="^(X|window_length): "):
            list(cv.split(record))
        return
    folds = list(cv.split(record))
    assert len(folds) == n_splits == cv.get_n_splits(record)
    for k, (train, test) in enumerate(folds):
        assert train.dtype == test.dtype == np.int64
        assert np.array_equal(train, np.arange(train[0], train[-1] + 1))
        assert np.array_equal(test, np.arange(test[0], test[0] + test_size))
        assert train[-1] < test[0] and test[0] - train[-1] - 1 == gap
        assert test[0] == n_time - test_size - (n_splits - 1 - k) * step
        if sliding:
            assert train.size == (room if length is None else length)
        else:
            assert train[0] == 0
    assert folds[-1][1][-1] == n_time - 1


@pytest.mark.parametrize("cv, match", [
    (RollingOrigin(3, test_size=5, gap=2), r"^X: expected a record of more than gap \+ "
                                           r"test_size .* = 17 steps .* found 17 steps"),
    (RollingOrigin(20), r"^n_splits: expected at most 16 folds .* found n_splits=20"),
    (RollingOrigin(0), r"^n_splits: expected an integer >= 1; found 0"),
    (RollingOrigin(2, test_size=0), r"^test_size: expected an integer >= 1; found 0"),
    (RollingOrigin(2, gap=-1), r"^gap: expected an integer >= 0; found -1"),
    (RollingOrigin(2, step_length=0), r"^step_length: "),
    (RollingOrigin(2, window="rolling"), r"^window: expected 'expanding' or 'sliding'"),
    (RollingOrigin(2, window_length=5), r"^window_length: expected None with window='expand"),
    (RollingOrigin(2, test_size=4, window="sliding", window_length=10),
     r"^window_length: expected at most 9 steps .* found 10"),
])
def test_impossible_settings_named(cv, match):
    with pytest.raises(ValueError, match=match):
        list(cv.split(along_time(np.zeros(17))))


def test_bad_types_and_unwrapped_records():
    with pytest.raises(TypeError, match="^test_size: expected an integer >= 1; found 2.5"):
        list(RollingOrigin(2, test_size=2.5).split(along_time(np.zeros(10))))
    with pytest.raises(TypeError, match="^gap: .* found True"):
        list(RollingOrigin(2, gap=True).split(along_time(np.zeros(10))))
    # without the wrapper, scikit-learn would cut the first axis: refused, saying what to do
    for X in (np.zeros((3, 10, 1)), xr.Dataset({"a": ("time", np.zeros(10))})):
        with pytest.raises(TypeError, match=r"^X: expected a record wrapped by "
                                            r"seqlstm.model_selection.along_time"):
            list(RollingOrigin(2).split(X))


# ------------------------------------------------------------------ records along time
def _dataset(n_time=40):
    time = pd.date_range("2000-01-01", periods=n_time, freq="D")
    flow = _sines(2, n_time)
    return xr.Dataset({"flow": (("station", "time"), flow),
                       "rain": (("time", "station"), flow.T ** 2),
                       "area": ("station", [1.0, 2.0])},
                      coords={"station": ["a", "b"], "time": time})


def test_along_time_counts_and_cuts_time_in_every_layout():
    ds = _dataset()
    da = ds["flow"].expand_dims(feature=["flow"]).transpose("feature", "station", "time")
    panel = np.arange(2 * 40 * 3.0).reshape(2, 40, 3)
    cases = [(ds, lambda d, i: d.isel(time=i)), (da, lambda d, i: d.isel(time=i)),
             (ds["flow"].T, lambda d, i: d.isel(time=i)),
             (panel, lambda d, i: d[:, i]), (panel[0], lambda d, i: d[i]),
             (panel[0, :, 0], lambda d, i: d[i])]
    idx = np.arange(5, 17)
    for data, cut in cases:
        record = along_time(data)
        assert len(record) == 40 and record.shape == (40,)
        fold = _safe_indexing(record, idx)             # as scikit-learn cuts a fold
        assert isinstance(fold, AlongTime) and fold.data is data
        assert (fold.start, fold.stop, len(fold)) == (5, 17, 12)
        expected = cut(data, idx)
        if isinstance(data, np.ndarray):
            np.testing.assert_array_equal(fold.steps(), expected)
        else:
            xr.testing.assert_identical(fold.steps(), expected)
        # a fold of a fold counts from its own start
        inner = fold[np.arange(2, 4)]
        assert (inner.start, inner.stop) == (7, 9)
        assert (fold[np.r_[[False] * 3, [True] * 9]].start, fold[3:].stop) == (8, 17)
    assert along_time(ds.rename(time="t"), time_dim="t").shape == (40,)


def test_along_time_bad_input_and_bad_folds():
    record = along_time(np.zeros(10))
    with pytest.raises(ValueError, match=r"^key: expected consecutive increasing time steps"):
        record[np.array([0, 1, 3])]
    with pytest.raises(ValueError, match=r"^key: expected consecutive"):
        record[::2]
    with pytest.raises(ValueError, match=r"^key: expected positions in \[0, 10\); found 8 .. 10"):
        record[np.arange(8, 11)]
    with pytest.raises(ValueError, match="^key: expected at least one time step"):
        record[np.arange(0)]
    with pytest.raises(TypeError, match="^key: expected a slice or a 1-D array"):
        record[np.array([0.0, 1.0])]
    with pytest.raises(ValueError, match=r"^data: expected a time dim named 'time' \(time_dim\)"):
        along_time(xr.DataArray(np.zeros(5), dims="t"))
    with pytest.raises(ValueError, match=r"^data: expected a NumPy array \(time,\)"):
        along_time(np.zeros((2, 3, 4, 5)))
    with pytest.raises(TypeError, match="^data: expected a record to wrap"):
        along_time(record)
    # scikit-learn's KFold trains on both sides of its test fold: refused, not silently cut
    train, _ = list(KFold(3).split(record))[1]     # steps 0-3 and 7-9 around the test fold
    with pytest.raises(ValueError, match="^key: expected consecutive"):
        _safe_indexing(record, train)
    # TimeSeriesSplit's folds are runs of steps: they work on a wrapped record
    for train, test in TimeSeriesSplit(3, test_size=2, gap=1).split(record):
        assert _safe_indexing(record, test).start - _safe_indexing(record, train).stop == 1


# ------------------------------------------------------------------ searches along time
def _scored_by_hand(model, upto, values, test):
    """Observations, forecasts and persistence of `model` valid in the steps `test` of a
    record (`values`: its target, (series, time, 1)): forecasts issued on `upto`, the whole
    record up to the fold's end, kept where issue time + lead lies in the fold."""
    mean = np.asarray(model.predict(upto))          # (series, issue, lead[, 1])
    mean = mean[..., 0] if mean.ndim == 4 else mean
    truth, pred, last = [], [], []
    for i in range(mean.shape[1]):
        issue = model.lookback - 1 + i
        for lead in range(1, model.horizon + 1):
            if test[0] <= issue + lead <= test[-1]:
                truth.append(values[:, issue + lead, 0])
                pred.append(mean[:, i, lead - 1])
                last.append(values[:, issue, 0])
    return np.array(truth), np.array(pred), np.array(last)


def test_grid_search_on_a_dataset_splits_time():
    """The folds train on the training steps of both stations and score the forecasts valid in
    the test steps; the search's scores are those, computed by hand."""
    ds = _dataset(60)
    cv = RollingOrigin(n_splits=2, test_size=8, gap=1)
    base = LSTMForecaster(horizon=2, target="flow", **FAST)
    search = GridSearchCV(base, {"lookback": [3, 6]}, cv=cv).fit(along_time(ds))
    values = ds["flow"].transpose("station", "time").values[:, :, None]
    folds = list(cv.split(along_time(ds)))
    for i, lookback in enumerate(search.cv_results_["param_lookback"]):
        for k, (train, test) in enumerate(folds):
            model = LSTMForecaster(lookback=lookback, horizon=2, target="flow", **FAST).fit(
                ds.isel(time=train))
            truth, pred, last = _scored_by_hand(model, ds.isel(time=slice(0, test[-1] + 1)),
                                                values, test)
            assert truth.shape == (8 * 2, 2)           # every valid time and lead, 2 stations
            skill = 1 - np.sum((pred - truth) ** 2) / np.sum((last - truth) ** 2)
            assert search.cv_results_[f"split{k}_test_score"][i] == pytest.approx(skill,
                                                                                  rel=1e-9)
    # refit on the whole record
    full = LSTMForecaster(horizon=2, target="flow", **FAST, **search.best_params_).fit(ds)
    xr.testing.assert_identical(search.predict(ds), full.predict(ds))


def test_grid_search_on_a_time_first_dataarray_trains_on_the_past():
    """A DataArray (time, station): the training folds are the first steps, not stations."""
    da = xr.DataArray(_sines(2, 50).T, dims=("time", "station"), name="y")
    cv = RollingOrigin(n_splits=2, test_size=6, window="sliding")
    search = GridSearchCV(LSTMForecaster(**FAST), {"lookback": [4]}, cv=cv, refit=False)
    search.fit(along_time(da))
    for k, (train, test) in enumerate(cv.split(along_time(da))):
        model = LSTMForecaster(lookback=4, **FAST).fit(da.isel(time=train))
        truth, pred, last = _scored_by_hand(model, da.isel(time=slice(0, test[-1] + 1)),
                                            da.values.T[:, :, None], test)
        skill = 1 - np.sum((pred - truth) ** 2) / np.sum((last - truth) ** 2)
        assert search.cv_results_[f"split{k}_test_score"][0] == pytest.approx(skill, rel=1e-9)


def test_cross_val_score_on_a_numpy_panel_with_a_scorer():
    """A (series, time, variable) panel: folds along time, RMSE of the same forecasts."""
    panel = _sines(3, 48)[:, :, None]
    cv = RollingOrigin(n_splits=2, test_size=5, gap=2)
    model = LSTMForecaster(lookback=6, horizon=3, **FAST)
    rmse = cross_val_score(model, along_time(panel), cv=cv,
                           scoring=metrics.get_scorer("neg_rmse"))
    skills = cross_val_score(model, along_time(panel), cv=cv)
    for k, (train, test) in enumerate(cv.split(along_time(panel))):
        fitted = LSTMForecaster(lookback=6, horizon=3, **FAST).fit(panel[:, train])
        truth, pred, last = _scored_by_hand(fitted, panel[:, :test[-1] + 1], panel, test)
        assert truth.shape == (5 * 3, 3)
        assert rmse[k] == pytest.approx(-np.sqrt(np.mean((pred - truth) ** 2)), rel=1e-9)
        assert skills[k] == pytest.approx(
            1 - np.sum((pred - truth) ** 2) / np.sum((last - truth) ** 2), rel=1e-9)


def test_every_lookback_scored_on_the_same_forecasts():
    """The history given to a test fold follows the forecaster's lookback: a long and a short
    lookback score forecasts of the same valid times and leads."""
    y = _sines(1, 60)[0]
    record = along_time(y)
    train, test = list(RollingOrigin(1, test_size=10).split(record))[0]
    counts = []
    for lookback in (3, 20):
        model = LSTMForecaster(lookback=lookback, horizon=2, **FAST).fit(record[train])
        truth, pred, per_step = model._score_arrays(record[test])
        assert per_step and truth.shape == pred.shape
        counts.append(int(np.sum(~np.isnan(truth) & ~np.isnan(pred))))
    assert counts == [10 * 2] * 2


def test_folds_along_another_time_dim_than_the_forecasters():
    ds = _dataset().rename(time="t")
    model = LSTMForecaster(lookback=3, target="flow", time_dim="t", **FAST)
    with pytest.raises(ValueError, match=r"^data: expected a record wrapped along the "
                                         r"forecaster's time_dim 't'; found .*time_dim='time'"):
        model.fit(along_time(ds.rename(t="time"))[:20])
    model.fit(along_time(ds, time_dim="t")[:20])
    assert model.n_windows_ == 2 * (20 - 3)


def test_issue_origin_scores_the_forecasts_issued_before_the_fold():
    """issue="origin": one forecast per test step, issued at the step before the fold
    (recursively past the horizon), future covariates from the fold; persistence from the
    origin."""
    ds = _dataset(60)
    record = along_time(ds, issue="origin")
    cv = RollingOrigin(n_splits=2, test_size=5)
    model = LSTMForecaster(lookback=6, horizon=2, target="flow", future_covariates="rain",
                           **FAST)
    scores = cross_val_score(model, record, cv=cv)
    rmse = cross_val_score(model, record, cv=cv, scoring=metrics.get_scorer("neg_rmse"))
    for k, (train, test) in enumerate(cv.split(record)):
        fitted = LSTMForecaster(lookback=6, horizon=2, target="flow", future_covariates="rain",
                                **FAST).fit(ds.isel(time=train))
        past = ds.isel(time=slice(test[0] - 6, test[0]))
        pred = fitted.forecast(past, 5, future_covariates=ds[["rain"]].isel(time=test)).values
        truth = ds["flow"].isel(time=test).values
        last = ds["flow"].isel(time=[test[0] - 1]).values
        assert scores[k] == pytest.approx(
            1 - np.sum((pred - truth) ** 2) / np.sum((last - truth) ** 2), rel=1e-9)
        assert rmse[k] == pytest.approx(-np.sqrt(np.mean((pred - truth) ** 2)), rel=1e-9)
    # the mode follows the folds; a fold without a lookback before it is an error
    assert record[10:20].issue == "origin"
    with pytest.raises(ValueError, match=r"^data: expected lookback = 6 steps before a fold "
                                         r"scored from its origin .* step 3"):
        fitted.score(record[3:20])
    with pytest.raises(ValueError, match=r"^issue: expected 'rolling' or 'origin'; found 'x'"):
        along_time(ds, issue="x")
