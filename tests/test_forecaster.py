"""LSTMForecaster: learning, coordinates, recursion, files, threads, errors."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score

import seqlstm
from _dask import computed
from _files import write_back
from seqlstm import LSTMForecaster
from seqlstm._threads import numba_threads

FAST = dict(hidden_size=8, max_iter=3, batch_size=16, random_state=0)


def _sine(n=300, period=20, noise=0.05, seed=0):
    t = np.arange(n)
    return np.sin(2 * np.pi * t / period) + noise * np.random.default_rng(seed).standard_normal(n)


def _stations(n_time=120):
    """Two stations, daily, a forcing known ahead, a past covariate and a static attribute."""
    rng = np.random.default_rng(1)
    time = pd.date_range("2001-01-01", periods=n_time, freq="D")
    rain = rng.gamma(1.0, 1.0, (2, n_time))
    temp = np.sin(np.arange(n_time) / 10.0)[None, :] + np.zeros((2, 1))
    area = np.array([1.0, 2.0])
    flow = np.zeros((2, n_time))
    for t in range(1, n_time):
        flow[:, t] = 0.8 * flow[:, t - 1] + 0.3 * area * rain[:, t]
    return xr.Dataset(
        {"flow": (("station", "time"), flow), "rain": (("station", "time"), rain),
         "temp": (("station", "time"), temp), "area": ("station", area)},
        coords={"station": ["a", "b"], "time": time}, attrs={"title": "synthetic"})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_learns_a_sine_better_than_persistence():
    y = _sine(400)
    model = LSTMForecaster(lookback=20, horizon=3, hidden_size=16, max_iter=30,
                           learning_rate_init=1e-2, random_state=0).fit(y[:300])
    assert model.score(y[300:]) > 0.5
    assert model.n_windows_ == 300 - 20 - 3 + 1 and model.n_skipped_windows_ == 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_coordinates_written_out_datetime_two_series():
    ds = _stations()
    model = LSTMForecaster(lookback=5, horizon=2, target="flow", future_covariates="rain",
                           **FAST).fit(ds)
    assert model.target_names_ == ["flow"] and model.future_covariate_names_ == ["rain"]
    assert model.past_covariate_names_ == ["temp"] and model.static_names_ == ["area"]
    part = ds.isel(time=slice(0, 8))
    pred = model.predict(part)
    assert pred.dims == ("station", "time", "lead") and pred.name == "flow"
    assert pred.attrs == {"title": "synthetic"}
    np.testing.assert_array_equal(pred["station"], ["a", "b"])
    # issue times: those with a full lookback, 2001-01-05 .. 2001-01-08
    np.testing.assert_array_equal(pred["time"], pd.date_range("2001-01-05", periods=4).values)
    np.testing.assert_array_equal(pred["lead"], [1, 2])
    expected_valid = [["2001-01-06", "2001-01-07"], ["2001-01-07", "2001-01-08"],
                      ["2001-01-08", "2001-01-09"], ["2001-01-09", "2001-01-10"]]
    np.testing.assert_array_equal(pred["valid_time"].values,
                                  np.array(expected_valid, dtype="datetime64[ns]"))
    # the forecasts need the future covariate over the horizon: known for issue times whose
    # horizon is in the record (01-05 and 01-06), NaN after
    assert np.isfinite(pred.values[:, :2]).all() and np.isnan(pred.values[:, 2:]).all()
    # every forecast equals the one computed on its window alone, to float32 rounding (the
    # window is predicted in a batch of another size: BLAS products of another row count; README,
    # "Reproducibility"), and bit for bit when the batch is the same
    alone = model.predict(ds.isel(time=slice(1, 8)))
    np.testing.assert_allclose(alone.sel(time="2001-01-06").values,
                               pred.sel(time="2001-01-06").values, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(model.predict(part).values, pred.values)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_coordinates_numeric_time_and_numpy_shapes():
    y = _sine(60)
    da = xr.DataArray(y, dims="time", coords={"time": 0.5 * np.arange(60)}, name="level")
    model = LSTMForecaster(lookback=4, horizon=3, **FAST).fit(da)
    pred = model.predict(da)
    np.testing.assert_array_equal(pred["time"], 0.5 * np.arange(3, 60))
    np.testing.assert_array_equal(pred["valid_time"].values[-1], [30.0, 30.5, 31.0])
    fc = model.forecast(da, 5)
    np.testing.assert_array_equal(fc["time"], [30.0, 30.5, 31.0, 31.5, 32.0])
    # NumPy: (time,) -> (issue, lead); (series, time, var) -> (series, issue, lead, target)
    out = model.predict(y)
    assert out.shape == (57, 3)
    np.testing.assert_array_equal(out, pred.values)
    assert model.predict(y[None, :, None]).shape == (1, 57, 3, 1)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_forecast_recursion_equals_feeding_back_by_hand():
    y = _sine(100)
    model = LSTMForecaster(lookback=10, horizon=3, **FAST).fit(y)
    six = model.forecast(y, 6)
    first = model.predict(y)[-1]                     # issued at the last time: leads 1..3
    np.testing.assert_array_equal(six[:3], first)
    extended = np.concatenate([y, first]).astype(np.float64)
    second = model.predict(extended)[-1]
    np.testing.assert_allclose(six[3:], second, rtol=1e-6, atol=1e-6)  # float32 round trip
    assert model.forecast(y, 2).shape == (2,)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_future_covariates_in_forecast():
    ds = _stations()
    model = LSTMForecaster(lookback=5, horizon=2, target="flow", future_covariates="rain",
                           **FAST).fit(ds.drop_vars("temp"))
    past = ds.drop_vars("temp").isel(time=slice(0, 100))
    ahead = ds[["rain"]].isel(time=slice(100, 104))
    out = model.forecast(past, 4, future_covariates=ahead)
    assert out.dims == ("station", "time")
    np.testing.assert_array_equal(out["time"], ds["time"].values[100:104])
    # the forecast of the first block equals predict's at the record's last issue time
    pred = model.predict(ds.drop_vars("temp").isel(time=slice(0, 102)))
    np.testing.assert_array_equal(out.values[:, :2], pred.isel(time=-3).values)
    with pytest.raises(ValueError, match="future_covariates: expected values for the 4 "
                                         "forecast steps; found 3"):
        model.forecast(past, 4, future_covariates=ahead.isel(time=slice(0, 3)))
    with pytest.raises(ValueError, match=r"future_covariates: expected values of \['rain'\]"):
        model.forecast(past, 4)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_gaussian_intervals_and_file_round_trip(tmp_path):
    ds = _stations()
    model = LSTMForecaster(lookback=6, horizon=2, target="flow", future_covariates=["rain"],
                           loss="gaussian", **FAST).fit(ds)
    out = model.predict(ds)
    assert isinstance(out, xr.Dataset) and set(out.data_vars) == {"mean", "std"}
    assert (out["std"].fillna(1) > 0).all()
    lower, upper = model.predict_interval(ds, coverage=0.8)
    np.testing.assert_allclose((upper - out["mean"]).fillna(0),
                               (1.2815515655446004 * out["std"]).fillna(0), rtol=1e-12)
    path = tmp_path / "forecaster.nc"
    model.save(path)
    loaded = seqlstm.load(path)
    assert isinstance(loaded, LSTMForecaster)
    assert loaded.static_names_ == ["area"] and loaded.future_covariate_names_ == ["rain"]
    assert loaded.past_covariate_names_ == ["temp"]
    xr.testing.assert_identical(loaded.predict(ds), out)
    np.testing.assert_array_equal(loaded.loss_curve_, model.loss_curve_)
    with pytest.raises(ValueError, match="predict_interval: expected a forecaster fitted with "
                                         "loss='gaussian'"):
        LSTMForecaster(lookback=6, **FAST).fit(ds, ).predict_interval(ds)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_gaps_skipped_or_masked():
    y = _sine(80)
    y[30] = np.nan
    model = LSTMForecaster(lookback=5, horizon=2, **FAST).fit(y)
    # windows whose lookback holds time 30: starts 26..30 (5 windows)
    assert model.n_windows_ == 80 - 5 - 2 + 1 - 5 and model.n_skipped_windows_ == 5
    pred = model.predict(y)
    assert np.isnan(pred[30 - 4:30 - 4 + 5]).all() and np.isfinite(pred[:26]).all()
    masked = LSTMForecaster(lookback=5, horizon=2, nan_inputs="mask", **FAST).fit(y)
    assert masked.n_skipped_windows_ == 0 and np.isfinite(masked.predict(y)).all()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bit_identical_at_one_and_two_threads():
    ds = _stations()
    outs = []
    for n in (1, 2):
        with numba_threads(n):
            m = LSTMForecaster(lookback=5, horizon=2, target="flow", batch_size=64,
                               hidden_size=8, max_iter=2, random_state=3).fit(ds)
            outs.append(m.predict(ds).values)
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_and_clone():
    y = np.stack([_sine(120, seed=s) for s in range(4)])[:, :, None]   # 4 series
    search = GridSearchCV(LSTMForecaster(**FAST), {"lookback": [4, 8]}, cv=2).fit(y)
    # the search's scores are the candidates' cross-validated scores, and it keeps the best
    by_hand = {n: cross_val_score(LSTMForecaster(**FAST, lookback=n), y, cv=2) for n in (4, 8)}
    for i, n in enumerate(search.cv_results_["param_lookback"]):
        for k in range(2):
            assert search.cv_results_[f"split{k}_test_score"][i] == by_hand[n][k]
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(by_hand[n].mean(),
                                                                         rel=1e-12)
    assert by_hand[4].mean() != by_hand[8].mean()
    assert search.best_params_ == {"lookback": max(by_hand, key=lambda n: by_hand[n].mean())}
    np.testing.assert_array_equal(
        search.predict(y), LSTMForecaster(**FAST, **search.best_params_).fit(y).predict(y))
    assert clone(search.best_estimator_).get_params()["lookback"] == search.best_params_[
        "lookback"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_score_on_a_fold_scores_the_forecasts_valid_in_it():
    """score(fold) of a record wrapped along time: every forecast (each lead) whose valid time
    lies in the fold, issued with the steps before the fold as inputs; no forecast valid before
    the fold is scored, and nothing after it is read.  float64: the fold's forecasts come from
    a shorter record (another batch of windows) than ``predict(y[:90])``'s, which agree to float
    rounding only (README, Reproducibility: ~1e-7 relative in float32 on AVX2 BLAS)."""
    from seqlstm.model_selection import along_time

    y = _sine(100)
    model = LSTMForecaster(lookback=8, horizon=3, **{**FAST, "dtype": "float64"}).fit(y[:70])
    fold = along_time(y)[75:90]
    mean = model.predict(y[:90])                  # (issue, lead); issue times 7 .. 89
    truth, pred, last = [], [], []
    for i, issue in enumerate(range(7, 90)):
        for lead in (1, 2, 3):
            if 75 <= issue + lead < 90:
                truth.append(y[issue + lead])
                pred.append(mean[i, lead - 1])
                last.append(y[issue])
    truth, pred, last = map(np.array, (truth, pred, last))
    assert truth.size == 15 * 3
    skill = 1 - np.sum((pred - truth) ** 2) / np.sum((last - truth) ** 2)
    assert model.score(fold) == pytest.approx(skill, rel=1e-12)
    # the steps after the fold are not read: another future gives the same score
    changed = y.copy()
    changed[90:] = 100.0
    assert model.score(along_time(changed)[75:90]) == model.score(fold)
    # the fold's steps alone are a shorter record: fewer forecasts, issued inside it only
    assert model.score(y[75:90]) != model.score(fold)
    # a fold at the record's start has no history: the record cut there, scored as a record
    assert model.score(along_time(y)[:30]) == model.score(y[:30])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_gaussian_std_in_the_data_units():
    """The forecast standard deviation is in the data's units: a record 10 * y + 3 gives the
    same standardized problem, so the same training up to rounding, and forecasts 10 * m + 3
    with standard deviations 10 * s."""
    y = _sine(120)
    kwargs = dict(lookback=8, horizon=2, loss="gaussian", dtype="float64", **FAST)
    mean, std = LSTMForecaster(**kwargs).fit(y).predict(y)
    mean2, std2 = LSTMForecaster(**kwargs).fit(10 * y + 3).predict(10 * y + 3)
    assert mean.shape == std.shape == (120 - 8 + 1, 2)
    ok = np.isfinite(mean)
    assert ok.sum() > 100 and np.all(std[ok] > 0)
    np.testing.assert_allclose(std2[ok], 10 * std[ok], rtol=1e-9)
    np.testing.assert_allclose(mean2[ok], 10 * mean[ok] + 3, rtol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_early_stopping_time_ordered(monkeypatch):
    """Early stopping holds out the last windows of each series, after a purge gap: every
    validation target comes after every training target; the fitted weights are, bit for bit,
    those of the epoch with the best validation score."""
    from seqlstm.estimators import _base, _forecaster

    made, trained, epochs = [], [], []
    window_set, run_epochs = LSTMForecaster._window_set, _base.run_epochs
    window_skill = _forecaster._window_skill

    def recording_window_set(self, *args, **kwargs):
        made.append(window_set(self, *args, **kwargs))
        return made[-1]

    def recording_run_epochs(net, state, inputs, targets, *args, **kwargs):
        trained.extend(w for w in made if w.inputs is inputs)
        return run_epochs(net, state, inputs, targets, *args, **kwargs)

    def recording_window_skill(net, windows, loss, nt):
        epochs.append((net.get_flat(), windows))
        return window_skill(net, windows, loss, nt)

    monkeypatch.setattr(LSTMForecaster, "_window_set", recording_window_set)
    monkeypatch.setattr(_base, "run_epochs", recording_run_epochs)
    monkeypatch.setattr(_forecaster, "_window_skill", recording_window_skill)
    y = np.stack([_sine(150, seed=s) for s in range(2)])[:, :, None]   # 2 series
    lookback, horizon = 10, 3
    model = LSTMForecaster(lookback=lookback, horizon=horizon, early_stopping=True,
                           validation_fraction=0.2, n_iter_no_change=2, tol=0.0,
                           hidden_size=8, max_iter=40, batch_size=16, learning_rate="constant",
                           learning_rate_init=0.05, random_state=0).fit(y)
    monkeypatch.undo()

    # the windows: training ones first in time, then a gap, then the validation ones
    (train,) = trained
    val = {id(w): w for _, w in epochs}
    assert len(val) == 1
    (val,) = val.values()
    per_series = 150 - lookback - horizon + 1
    n_val = int(np.ceil(0.2 * per_series))
    for s in range(2):
        t_starts = np.sort(train.starts[train.series == s])
        v_starts = np.sort(val.starts[val.series == s])
        np.testing.assert_array_equal(v_starts, np.arange(per_series - n_val, per_series))
        # a window starting at t has its targets at t + lookback .. t + lookback + horizon - 1:
        # the last training target is before the first validation target, and only the
        # windows whose targets would reach into the validation part are left out
        assert t_starts.max() + lookback + horizon - 1 < v_starts.min() + lookback
        np.testing.assert_array_equal(t_starts, np.arange(v_starts.min() - horizon + 1))
    assert model.n_windows_ == 2 * per_series

    # the weights: those of the best validation epoch, which is not the last one
    assert len(model.validation_scores_) == model.n_iter_ == len(epochs)
    # it stopped early, on the validation score: n_iter_no_change + 1 epochs without a better
    # one (tol=0) after the best
    assert model.n_iter_ < 40
    best = int(np.argmax(model.validation_scores_))
    assert best == model.n_iter_ - 1 - (model.n_iter_no_change + 1)
    assert model.best_validation_score_ == model.validation_scores_[best]
    assert not np.array_equal(epochs[best][0], epochs[-1][0])
    np.testing.assert_array_equal(model.network_.get_flat(), epochs[best][0])
    assert window_skill(model.network_, val, model.loss, 1) == model.best_validation_score_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_early_stopping_scales_with_the_training_part_only():
    y = _sine(200)
    params = dict(lookback=10, horizon=2, early_stopping=True, validation_fraction=0.2, **FAST)
    model = LSTMForecaster(**params).fit(y)
    # 189 windows, the last ceil(0.2 * 189) = 38 held out: the first starts at 151, its
    # targets at 161; the training part is the steps before
    np.testing.assert_allclose(model.x_mean_, [y[:161].mean()], rtol=1e-12)
    np.testing.assert_allclose(model.x_scale_, [y[:161].std()], rtol=1e-12)
    far = y.copy()
    far[161:] *= 1000
    other = LSTMForecaster(**params).fit(far)
    np.testing.assert_array_equal(other.x_mean_, model.x_mean_)
    np.testing.assert_array_equal(other.x_scale_, model.x_scale_)
    # two series of different lengths (NaN at the end of one): each has its own cut
    two = np.full((2, 200, 1), np.nan)
    two[0, :, 0], two[1, :150, 0] = y, 2 * y[:150] + 1
    both = LSTMForecaster(**params).fit(two)
    # series 1: windows need a lookback without NaN (their horizon may hold NaN targets):
    # starts 0 .. 140, 141 windows, the last 29 held out, the first at 112, targets from 122
    part = np.concatenate([y[:161], 2 * y[:122] + 1])
    np.testing.assert_allclose(both.x_mean_, [part.mean()], rtol=1e-12)
    np.testing.assert_allclose(both.x_scale_, [part.std()], rtol=1e-12)


def test_failed_fit_keeps_the_previous_model():
    y = _sine(60)
    model = LSTMForecaster(lookback=5, **FAST).fit(y)
    before = model.predict(y)
    model.set_params(lookback=100, start_padding=False)   # padded, such a record would fit
    with pytest.raises(ValueError, match="lookback: expected lookback \\+ horizon = 101 steps "
                                         "at most the record length; found a record of 60"):
        model.fit(y)
    model.set_params(lookback=5)
    np.testing.assert_array_equal(model.predict(y), before)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bad_input():
    ds = _stations()
    with pytest.raises(ValueError, match="target: expected names of time-varying variables"):
        LSTMForecaster(target="snow", **FAST).fit(ds)
    with pytest.raises(ValueError, match="future_covariates: expected names of time-varying"):
        LSTMForecaster(target="flow", future_covariates="wind", **FAST).fit(ds)
    with pytest.raises(ValueError, match="target: expected variables that are not future"):
        LSTMForecaster(target="flow", future_covariates="flow", **FAST).fit(ds)
    with pytest.raises(ValueError, match="y: expected None"):
        LSTMForecaster(**FAST).fit(ds, np.zeros(3))
    bad_time = ds.assign_coords(time=ds["time"].values[::-1])
    with pytest.raises(ValueError, match="data: expected a strictly increasing time coordinate"):
        LSTMForecaster(target="flow", **FAST).fit(bad_time)
    y = _sine(50)
    model = LSTMForecaster(lookback=5, **FAST).fit(y)
    for steps in (0, -1, 1.5):
        with pytest.raises(ValueError, match="steps: expected an integer >= 1"):
            model.forecast(y, steps)
    with pytest.raises(ValueError, match="lookback: expected lookback = 5 steps at most"):
        model.predict(y[:3])
    with pytest.raises(ValueError, match="data: expected the variables seen in fit"):
        model.predict(np.zeros((50, 2)))
    past = LSTMForecaster(lookback=5, horizon=2, target="flow", **FAST).fit(ds)
    with pytest.raises(ValueError, match="steps: expected at most horizon = 2 steps for a model "
                                         r"with past covariates \['rain', 'temp'\]"):
        past.forecast(ds, 3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_quantile_forecasts_layout_non_crossing_and_intervals(tmp_path):
    """loss="quantile": a last `quantile` axis (NumPy) / dim (xarray) in the order of the
    levels, increasing along it; the intervals are two of the quantiles; the model file keeps
    the levels."""
    y = _sine(120)
    da = xr.DataArray(y, dims="time", coords={"time": np.arange(120.0)}, name="level")
    model = LSTMForecaster(lookback=8, horizon=2, loss="quantile", early_stopping=True,
                           **FAST).fit(da)
    out = model.predict(da)
    assert out.dims == ("time", "lead", "quantile") and out.name == "level"
    np.testing.assert_array_equal(out["quantile"], [0.1, 0.5, 0.9])
    assert (out.diff("quantile") >= 0).all() and np.isfinite(out.values).all()
    np.testing.assert_array_equal(model.predict(y), out.values)          # NumPy: last axis
    assert model.predict(y[None, :, None]).shape == (1, 113, 2, 1, 3)
    lower, upper = model.predict_interval(da, coverage=0.8)
    xr.testing.assert_identical(lower, out.isel(quantile=0, drop=True))
    xr.testing.assert_identical(upper, out.isel(quantile=2, drop=True))
    with pytest.raises(ValueError, match=r"coverage: expected a coverage whose bounds are among "
                                         r"the quantiles \(0.1, 0.5, 0.9\); found 0.5, which "
                                         r"needs the levels 0.25 and 0.75"):
        model.predict_interval(da, coverage=0.5)
    # score and forecast read the median
    from seqlstm.metrics import skill

    padded = np.concatenate([y, [np.nan, np.nan]])
    truth = np.stack([padded[8 + k:8 + k + 113] for k in range(2)], 1)   # (issue, lead)
    last = np.broadcast_to(y[7:, None], truth.shape)                     # persistence
    assert model.score(da) == pytest.approx(skill(truth, out.values[..., 1], last), rel=1e-12)
    path = tmp_path / "quantile.nc"
    model.save(path)
    loaded = seqlstm.load(path)
    assert loaded.get_params()["quantiles"] == (0.1, 0.5, 0.9)
    xr.testing.assert_identical(loaded.predict(da), out)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("levels,weights", [((0.1, 0.5, 0.9), (0.0, 1.0, 0.0)),
                                            ((0.25, 0.75), (0.5, 0.5)),
                                            ((0.6, 0.8), (1.0, 0.0))])
def test_quantile_forecast_feeds_back_the_median(levels, weights):
    """forecast() past the horizon feeds back the median: the 0.5 level, else interpolated
    linearly between the levels around 0.5, else the nearest level."""
    y = _sine(100)
    model = LSTMForecaster(lookback=10, horizon=3, loss="quantile", quantiles=levels,
                           **FAST).fit(y)
    six = model.forecast(y, 6)
    # issued at the last time, (lead, level): the same single window, bit for bit (float32
    # rounding of the direct head depends on the batch, so not the whole record's predict)
    first = model.predict(y[-10:])[-1]
    np.testing.assert_array_equal(six[:3], first)
    np.testing.assert_allclose(model.predict(y)[-1], first, rtol=1e-5, atol=1e-6)
    median = first @ np.asarray(weights)
    second = model.predict(np.concatenate([y, median]))[-1]
    np.testing.assert_allclose(six[3:], second, rtol=1e-6, atol=1e-6)  # float32 round trip
    assert np.all(np.diff(six, axis=-1) >= 0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("loss", ["mae", "quantile"])
def test_quantiles_and_mae_forecasts_in_the_data_units(loss):
    """Every quantile (and the MAE point forecast) is a location: a record 10 * y + 3 gives
    10 * q + 3 (the same standardized problem)."""
    y = _sine(120)
    kwargs = dict(lookback=8, horizon=2, loss=loss, dtype="float64", **FAST)
    q = LSTMForecaster(**kwargs).fit(y).predict(y)
    q2 = LSTMForecaster(**kwargs).fit(10 * y + 3).predict(10 * y + 3)
    assert q.shape == ((113, 2, 3) if loss == "quantile" else (113, 2))
    np.testing.assert_allclose(q2, 10 * q + 3, rtol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_mae_is_not_mse():
    y = _sine(80)
    mse = LSTMForecaster(lookback=5, **FAST).fit(y)
    mae = LSTMForecaster(lookback=5, loss="mae", **FAST).fit(y)
    assert mae.network_.output_size == mse.network_.output_size == 1
    assert not np.array_equal(mae.predict(y), mse.predict(y))
    with pytest.raises(ValueError, match="predict_interval: expected a forecaster fitted with "
                                         "loss='gaussian' or 'quantile'; found loss='mae'"):
        mae.predict_interval(y)


@pytest.mark.parametrize("bad", [(0.9, 0.1), (0.5, 0.5), (0.0, 0.5), (0.5, 1.0), ()])
def test_bad_quantiles_name_the_parameter(bad):
    y = _sine(60)
    with pytest.raises(ValueError, match="quantiles: expected a non-empty, strictly increasing "
                                         "sequence of levels in the open interval"):
        LSTMForecaster(lookback=5, loss="quantile", quantiles=bad, **FAST).fit(y)


class _NormalisedLast:
    """A stand-in network whose output at every step is each window's normalised last lookback
    target value (as the network reads it): a forecaster with it must give persistence in the
    user's units whatever the window normalisation, if the normalisation is inverted right."""

    def __init__(self, lookback, n_targets, horizon=1):
        self.lookback, self.n_targets, self.horizon = lookback, n_targets, horizon

    def forward(self, x):
        last = x[:, self.lookback - 1:self.lookback, :self.n_targets]
        return np.repeat(last, x.shape[1], axis=1)

    def forward_last(self, x):
        """A direct network's outputs: every lead's, lead-major."""
        return np.tile(x[:, self.lookback - 1, :self.n_targets], self.horizon)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_window_norm_last_masked_nan_last_value_uses_the_last_observed():
    """With nan_inputs="mask" and window_norm="last", a window whose last lookback value is NaN
    is taken relative to the last OBSERVED value of its lookback (not to 0, the global mean),
    and a lookback with no observed value relative to the global mean."""
    y = 5.0 + _sine(60)
    y[40] = np.nan
    y[50:55] = np.nan
    L = 4
    model = LSTMForecaster(lookback=L, nan_inputs="mask", window_norm="last", dtype="float64",
                           **FAST).fit(y)
    model.network_ = _NormalisedLast(L, 1)
    pred = model.predict(y)[:, 0]                    # issue times L - 1 .. 59
    issue = np.arange(L - 1, 60)
    observed = np.where(np.isnan(y), -np.inf, np.arange(60))
    last_seen = np.maximum.accumulate(observed)[issue]          # last observed step <= issue
    in_lookback = last_seen > issue - L
    expected = np.where(in_lookback, y[np.maximum(last_seen, 0).astype(int)], model.x_mean_[0])
    assert not in_lookback.all() and (np.isnan(y[issue]) & in_lookback).any()
    np.testing.assert_allclose(pred, expected, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_window_norm_last_file_written_before_the_nan_rule_keeps_its_rule(tmp_path):
    """A model file written before the NaN-aware "last" rule (no ``window_nan_rule`` among its
    extra values) loads with the rule it was trained with: reference 0 (the global mean) where
    the last lookback value is NaN."""
    import json

    y = 5.0 + _sine(60)
    y[40] = np.nan
    model = LSTMForecaster(lookback=4, nan_inputs="mask", window_norm="last", dtype="float64",
                           **FAST).fit(y)
    path = tmp_path / "model.nc"
    model.save(path)
    variables, attrs, _ = seqlstm.io.read_netcdf(path)
    extra = json.loads(attrs["extra_json"])
    del extra["window_nan_rule"]
    attrs["extra_json"] = json.dumps(extra)
    old = tmp_path / "old.nc"
    write_back(old, variables, attrs, path)
    new, older = seqlstm.load(path), seqlstm.load(old)
    np.testing.assert_array_equal(new.predict(y), model.predict(y))
    for m in (new, older):
        m.network_ = _NormalisedLast(4, 1)
    # issue time 40 (index 37): its last value is NaN
    assert new.predict(y)[37, 0] == pytest.approx(y[39], rel=1e-12)
    assert older.predict(y)[37, 0] == pytest.approx(model.x_mean_[0], rel=1e-12)
    np.testing.assert_array_equal(np.delete(older.predict(y), 37), np.delete(new.predict(y), 37))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("window_norm", [None, "last", "seasonal", "standard", "robust"])
@pytest.mark.parametrize("decoder", ["per_step", "direct"])
def test_normalised_last_value_gives_persistence_in_the_users_units(window_norm, decoder):
    """A network whose output is the window's normalised last value: `predict` and the
    recursive `forecast` (its means fed back) give persistence in the user's units, so the
    window normalisation and the global scaling are both undone exactly (for a direct
    network, at every lead of its one output)."""
    y = 50.0 + 0.3 * np.arange(80) + 4 * _sine(80)              # leaves the fitted range
    L = 6
    model = LSTMForecaster(lookback=L, horizon=2, window_norm=window_norm, dtype="float64",
                           decoder=decoder, **FAST).fit(y[:60])
    model.network_ = _NormalisedLast(L, 1, horizon=2)
    pred = model.predict(y)                                      # (issue, lead)
    np.testing.assert_allclose(pred, np.repeat(y[L - 1:, None], 2, axis=1), rtol=1e-12)
    np.testing.assert_allclose(model.forecast(y, 5), np.full(5, y[-1]), rtol=1e-12)


class _Zero:
    """A stand-in network whose every output is 0: under window_norm="seasonal" a forecaster
    with it forecasts seasonal naive for seasonal targets (persistence for the others)."""

    def __init__(self, n_outputs):
        self.n_outputs = n_outputs

    def forward(self, x):
        return np.zeros(x.shape[:2] + (self.n_outputs,))

    def forward_last(self, x):
        return np.zeros((x.shape[0], self.n_outputs))


def _seasonal_record(n, period=4, seed=0):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return 20.0 + 0.1 * t + 3 * np.sin(2 * np.pi * t / period) + 0.1 * rng.standard_normal(n)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("decoder", ["per_step", "direct"])
def test_seasonal_norm_with_zero_output_forecasts_seasonal_naive(decoder, tmp_path):
    """window_norm="seasonal" on a seasonal record: the target is flagged seasonal, and a
    network whose output is 0 gives seasonal naive in the user's units, in `predict` (every
    lead of every issue time) and in `forecast` beyond the horizon (its forecasts fed back:
    the last season repeated); a model file keeps the flags and the forecasts bit for bit.
    A record without the season is not flagged (persistence)."""
    m, L, Hz = 4, 8, 3
    y = _seasonal_record(80, m)
    model = LSTMForecaster(lookback=L, horizon=Hz, window_norm="seasonal", season_length=m,
                           decoder=decoder, dtype="float64", **FAST).fit(y[:60])
    np.testing.assert_array_equal(model.seasonal_targets_, [True])
    path = tmp_path / "seasonal.nc"
    model.save(path)
    loaded = seqlstm.load(path)
    np.testing.assert_array_equal(loaded.seasonal_targets_, [True])
    np.testing.assert_array_equal(loaded.predict(y), model.predict(y))
    model.network_ = _Zero(Hz if decoder == "direct" else 1)
    pred = model.predict(y)                                           # (issue, lead)
    issue = np.arange(L - 1, 80)
    expected = y[issue[:, None] - m + 1 + np.arange(Hz)[None, :] % m]
    np.testing.assert_allclose(pred, expected, rtol=1e-12)
    np.testing.assert_allclose(model.forecast(y, 10), y[80 - m + np.arange(10) % m],
                               rtol=1e-12)
    walk = 20 + np.cumsum(np.random.default_rng(1).standard_normal(80))
    plain = LSTMForecaster(lookback=L, horizon=Hz, window_norm="seasonal", season_length=m,
                           decoder=decoder, dtype="float64", **FAST).fit(walk)
    np.testing.assert_array_equal(plain.seasonal_targets_, [False])
    plain.network_ = _Zero(Hz if decoder == "direct" else 1)
    np.testing.assert_allclose(plain.predict(walk), np.repeat(walk[L - 1:, None], Hz, axis=1),
                               rtol=1e-12)
    assert LSTMForecaster(lookback=L, window_norm="last", **FAST).fit(y).seasonal_targets_ is None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_seasonal_norm_quantiles_follow_the_data():
    """Quantile forecasts under "seasonal" (a location per lead, a level axis after it): fit on
    y and on 10 * y + 3 gives 10 * q + 3, non-crossing."""
    y = _seasonal_record(100)
    kwargs = dict(lookback=8, horizon=3, loss="quantile", window_norm="seasonal",
                  season_length=4, dtype="float64", **FAST)
    q = LSTMForecaster(**kwargs).fit(y).predict(y)
    q2 = LSTMForecaster(**kwargs).fit(10 * y + 3).predict(10 * y + 3)
    assert q.shape == (93, 3, 3) and np.all(np.diff(q, axis=-1) >= 0)
    np.testing.assert_allclose(q2, 10 * q + 3, rtol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("window_norm", ["last", "seasonal", "standard", "robust"])
def test_gaussian_spread_scales_with_the_data_for_every_window_norm(window_norm):
    """Fit on y and on 10 * y + 3: the same normalised problem, so forecasts 10 * m + 3 and
    standard deviations 10 * s (float rounding), intervals following ("seasonal": a season of
    4, found in y)."""
    y = 0.05 * np.arange(120) + _sine(120, period=4)
    kwargs = dict(lookback=8, horizon=2, loss="gaussian", window_norm=window_norm,
                  season_length=4, dtype="float64", **FAST)
    a = LSTMForecaster(**kwargs).fit(y)
    b = LSTMForecaster(**kwargs).fit(10 * y + 3)
    if window_norm == "seasonal":
        assert a.seasonal_targets_.all() and b.seasonal_targets_.all()
    mean, std = a.predict(y)
    mean2, std2 = b.predict(10 * y + 3)
    assert np.all(std > 0) and np.isfinite(mean).all()
    np.testing.assert_allclose(std2, 10 * std, rtol=1e-9)
    np.testing.assert_allclose(mean2, 10 * mean + 3, rtol=1e-9)
    lo, hi = a.predict_interval(y)
    lo2, hi2 = b.predict_interval(10 * y + 3)
    np.testing.assert_allclose(hi2 - lo2, 10 * (hi - lo), rtol=1e-9)
    np.testing.assert_allclose(b.forecast(10 * y + 3, 4)[1], 10 * a.forecast(y, 4)[1],
                               rtol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("window_norm", ["standard", "robust"])
def test_constant_windows_give_finite_forecasts(window_norm):
    y = _sine(60)
    y[20:45] = 1.5                                              # constant lookbacks
    model = LSTMForecaster(lookback=6, window_norm=window_norm, **FAST).fit(y)
    assert np.isfinite(model.predict(y)).all() and np.isfinite(model.loss_curve_).all()
    flat = LSTMForecaster(lookback=6, window_norm=window_norm, **FAST).fit(np.full(40, 2.0))
    assert np.isfinite(flat.predict(np.full(40, 2.0))).all()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# the defaults (window_norm='last'; 'cosine' from 3e-3, the training shared with
# LSTMRegressor) pass; at a constant 1e-3 they gave RMSE 0.1361 against 0.1347
@pytest.mark.parametrize("settings", [{}, {"window_norm": "standard"}],
                         ids=["defaults", "standard"])
def test_trend_and_season_beats_seasonal_naive_with_drift(settings):
    """The issue's synthetic record: y = 0.05 t + sin(2 pi t / 12) + 0.1 eps, 300 training
    steps, one-step forecasts of the next 100, the forecaster at its defaults (one thread: the
    same results, faster on busy cores), and with window_norm="standard"."""
    t = np.arange(400)
    y = 0.05 * t + np.sin(2 * np.pi * t / 12) + 0.1 * np.random.default_rng(0).standard_normal(400)
    model = LSTMForecaster(random_state=0, n_jobs=1, **settings).fit(y[:300])
    L = model.lookback
    pred = model.predict(y[:399])[300 - L:, 0]                   # issued at 299 .. 398
    truth = y[300:]
    drift = (y[299] - y[0]) / 299
    naive = y[300 - 12:400 - 12] + 12 * drift                    # seasonal naive with drift
    rmse = np.sqrt(np.mean((pred - truth) ** 2))
    rmse_naive = np.sqrt(np.mean((naive - truth) ** 2))
    assert rmse < rmse_naive, (rmse, rmse_naive)


@pytest.mark.parametrize("evaluate", [0, 1], ids=["score", "loss"])
def test_validation_evaluation_memory_does_not_grow_with_the_validation_windows(
        evaluate, monkeypatch):
    """Early stopping's validation score and loss run the windows through the network in
    chunks of ``_PREDICT_CHUNK``: the peak memory of one evaluation is about the same for 400
    and for 3200 validation windows."""
    import tracemalloc

    from seqlstm.estimators import _forecaster
    from seqlstm.network import RecurrentNetwork
    from seqlstm.windowing import WindowSet

    monkeypatch.setattr(_forecaster, "_PREDICT_CHUNK", 100)
    lookback, horizon = 16, 2
    cols = (np.array([0]), np.zeros(0, np.int64), np.zeros(0, np.int64))
    net = RecurrentNetwork(WindowSet.n_inputs(1, 0, 0, 0, False), 32, output_size=1,
                           random_state=0)
    peaks = []
    for n in (400, 3200):
        data = np.sin(np.arange(n + lookback + horizon) / 5.0)[None, :, None].astype(np.float32)
        windows = WindowSet(data, np.zeros((1, 0), np.float32), np.zeros(n, np.int64),
                            np.arange(n, dtype=np.int64), lookback, horizon, cols, False, None)
        function = _forecaster._validation_functions(net, windows, "mse", 1)[evaluate]
        function()                                # compiled and workspaces made
        tracemalloc.start()
        value = function()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert np.isfinite(value)
    # 3200 windows in one pass would need 8 times the arrays of 400
    assert peaks[1] < 1.5 * peaks[0], peaks


def _monthly_like(n, freq, n_series=1, seed=0):
    time = pd.date_range("2000-01-01", periods=n, freq=freq)
    values = np.stack([_sine(n, period=12, seed=seed + s) for s in range(n_series)])
    return xr.DataArray(values, dims=("series", "time"), coords={"time": time}, name="y")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("freq, horizon, season, lookback", [
    ("MS", 2, 12, 24),       # max(8, 2 * 12, 3 * 2)
    ("QS", 8, 4, 24),        # max(8, 2 * 4, 3 * 8)
    ("D", 1, 7, 14),         # max(8, 2 * 7, 3 * 1)
    ("h", 3, 24, 48),
    ("YS", 1, 1, 8),
])
def test_lookback_auto_from_the_time_coordinate(freq, horizon, season, lookback):
    da = _monthly_like(80, freq)
    model = LSTMForecaster(lookback="auto", horizon=horizon, **FAST).fit(da)
    assert model.season_length_ == season and model.lookback_ == lookback
    assert model.lookback == "auto"                       # the parameter is left as given
    assert model.predict(da).sizes["time"] == 80 - lookback + 1
    # a given season_length wins over the coordinate's
    given = LSTMForecaster(lookback="auto", horizon=horizon, season_length=10, **FAST).fit(da)
    assert given.season_length_ == 10 and given.lookback_ == max(8, 20, 3 * horizon)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_lookback_auto_integer_time_and_capped_by_the_data(tmp_path):
    y = _sine(100)
    model = LSTMForecaster(lookback="auto", horizon=2, **FAST).fit(y)
    assert model.season_length_ == 1 and model.lookback_ == 8
    assert LSTMForecaster(lookback="auto", season_length=20, **FAST).fit(y).lookback_ == 40
    # a record shorter than the rule: the longest series' observed span minus the horizon
    short = np.full((2, 30, 1), np.nan)
    short[0, 5:25, 0] = y[:20]                            # observed span 20 (of 30 steps)
    short[1, :12, 0] = y[:12]
    capped = LSTMForecaster(lookback="auto", horizon=4, season_length=12, **FAST).fit(short)
    assert capped.lookback_ == 20 - 4
    # the fitted values go through the model file; predict reads the fitted lookback
    path = tmp_path / "auto.nc"
    model.save(path)
    loaded = seqlstm.load(path)
    assert loaded.lookback == "auto" and loaded.lookback_ == 8 and loaded.season_length_ == 1
    np.testing.assert_array_equal(loaded.predict(y), model.predict(y))
    assert model.predict(y).shape == (100 - 8 + 1, 2)


def _ragged_panel():
    """Five monthly stations of different starts, ends and scales (10 ** s), NaN-padded on a
    shared datetime coordinate, with a static attribute."""
    time = pd.date_range("2000-01-01", periods=60, freq="MS")
    values = np.full((5, 60), np.nan)
    spans = [(0, 60), (10, 60), (0, 45), (52, 60), (59, 60)]     # station 4: one observation
    for s, (a, b) in enumerate(spans):
        values[s, a:b] = 10.0 ** s * (2 + _sine(b - a, period=12, seed=s))
    return xr.Dataset({"y": (("station", "time"), values),
                       "elevation": ("station", [1.0, 2.0, 3.0, 4.0, 5.0])},
                      coords={"station": list("abcde"), "time": time})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("nan_inputs", ["skip", "mask"])
def test_ragged_panel_trains_and_forecasts_every_series(nan_inputs):
    ds = _ragged_panel()
    model = LSTMForecaster(lookback=12, horizon=2, nan_inputs=nan_inputs, **FAST).fit(ds)
    # a: 47 whole windows; b: 37 from its start; c: 34 with their lookback before its end (the
    # horizon's NaN targets drop out of the loss); d (8 steps) is shorter than lookback +
    # horizon: padded windows from 12 - 1 steps before its first value (52) up to the last
    # whose horizon fits (46): 6; e (one value) has none; with masks a, b, c have 47 each
    windows = {"skip": 47 + 37 + 34 + 6, "mask": 3 * 47 + 6}
    assert model.n_windows_ == windows[nan_inputs]
    np.testing.assert_array_equal(model.padded_series(ds), [False, False, False, True, True])
    # with early stopping too (e, without windows, first: the padding starts stay per series)
    part = ds.isel(station=[4, 0, 3])
    stopped = LSTMForecaster(lookback=12, horizon=2, nan_inputs=nan_inputs,
                             early_stopping=True, **FAST).fit(part)
    assert np.isfinite(stopped.forecast(part, 2).values).all()
    if nan_inputs == "skip":   # station c ended before the record: its last lookback is NaN
        with pytest.raises(ValueError, match=r"found NaN in series \['c'\]"):
            model.forecast(ds, 3)
        ds = ds.drop_sel(station="c")
    out = model.forecast(ds, 3)
    assert out.dims == ("station", "time") and np.isfinite(out.values).all()
    # a series without any observation is refused, by name
    empty = ds.copy(deep=True)
    empty["y"][1] = np.nan
    with pytest.raises(ValueError, match=r"data: expected at least one observed target in "
                                         r"every series; found none in series \['b'\]"):
        model.forecast(empty, 3)
    with pytest.raises(ValueError, match=r"found none in series \['b'\]"):
        clone(model).fit(empty)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("nan_inputs", ["skip", "mask"])
def test_series_shorter_than_the_lookback_is_forecast_with_masked_padding(nan_inputs):
    y = _sine(200)
    model = LSTMForecaster(lookback=20, horizon=2, nan_inputs=nan_inputs, dtype="float64",
                           **FAST).fit(y)
    # fitted on a long record, it has no padding input (the network of a model without
    # padding, same initialisation): padding steps are zeros there, still masked as below
    assert model.padding_input_ is False
    short = y[:6]
    out = model.forecast(short, 4)
    assert out.shape == (4,) and np.isfinite(out).all()
    assert model.padded_series(short).tolist() == [True]
    # the padding is masked: the same forecast whether the missing history lies before the
    # record or is NaN inside it, whatever a past covariate would hold there
    inside = np.concatenate([np.full(30, np.nan), short])
    np.testing.assert_array_equal(model.forecast(inside, 4), out)
    # and not the forecast of the same record with zeros for the missing history
    assert not np.allclose(model.forecast(np.concatenate([np.zeros(14), short]), 4), out)
    # without start padding the short record is refused, as before
    with pytest.raises(ValueError, match="lookback: expected lookback = 20 steps at most"):
        clone(model).set_params(start_padding=False).fit(y).forecast(short, 4)
    # a whole record shorter than lookback + horizon still trains (padded windows)
    few = LSTMForecaster(lookback=20, horizon=2, nan_inputs=nan_inputs, **FAST).fit(y[:9])
    assert few.n_windows_ == 9 - 2                       # starts -19 .. -13
    assert few.padding_input_ is (nan_inputs == "skip")  # NaN masks need no indicator
    assert np.isfinite(few.forecast(y[:9], 2)).all()
    inside = np.concatenate([np.full(30, np.nan), short])
    np.testing.assert_array_equal(few.forecast(inside, 4), few.forecast(short, 4))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_series_scaling_makes_each_series_forecast_in_its_own_units():
    """With scaling="series" a series and 1000 times it plus 5000 are the same standardized
    problem: their forecasts are the same up to that map; with global scaling they are not."""
    y = _sine(120)
    panel = np.stack([y, 1000 * y + 5000])[:, :, None]
    kwargs = dict(lookback=8, horizon=2, dtype="float64", **FAST)
    model = LSTMForecaster(scaling="series", **kwargs).fit(panel)
    out = model.forecast(panel, 5)
    np.testing.assert_allclose(out[1], 1000 * out[0] + 5000, rtol=1e-9)
    pred = model.predict(panel)
    np.testing.assert_allclose(pred[1], 1000 * pred[0] + 5000, rtol=1e-9)
    pooled = LSTMForecaster(scaling="global", **kwargs).fit(panel).forecast(panel, 5)
    assert not np.allclose(pooled[1], 1000 * pooled[0] + 5000, rtol=1e-3)
    # each series is scored by itself: the same skill for both
    per = model.score_series(panel)
    assert per.shape == (2,)
    np.testing.assert_allclose(per[1], per[0], rtol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_score_series_labels_and_agreement_with_score():
    ds = _stations()
    model = LSTMForecaster(lookback=5, horizon=2, target="flow", **FAST).fit(ds)
    per = model.score_series(ds)
    assert per.dims == ("station",) and per.name == "skill"
    np.testing.assert_array_equal(per["station"], ["a", "b"])
    for s in ("a", "b"):   # a station's score is score() on that station alone
        one = ds.sel(station=[s])
        assert per.sel(station=s).item() == pytest.approx(model.score(one), rel=1e-6)
    y = _sine(80)
    single = LSTMForecaster(lookback=5, **FAST).fit(y)
    np.testing.assert_array_equal(single.score_series(y[None, :, None]), [single.score(y)])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_time_step_checked_and_used_for_a_one_step_record():
    y = _sine(60)
    da = xr.DataArray(y, dims="time", coords={"time": 0.5 * np.arange(60)}, name="level")
    model = LSTMForecaster(lookback=4, horizon=2, **FAST).fit(da)
    assert model.time_step_ == 0.5
    # a record of one step (start-padded) cannot tell its step: the fitted one stamps it
    out = model.forecast(da.isel(time=[10]), 3)
    np.testing.assert_array_equal(out["time"], [5.5, 6.0, 6.5])
    other = da.assign_coords(time=np.arange(60.0))
    with pytest.raises(ValueError, match="data: expected the time step seen in fit, 0.5; found "
                                         "a record with step 1"):
        model.predict(other)
    with pytest.raises(ValueError, match="expected the time step seen in fit"):
        model.forecast(other, 2)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("params", [dict(scaling="series", nan_inputs="mask"),
                                    dict(early_stopping=True, validation_fraction=0.2)])
def test_fit_memory_grows_with_the_data_not_with_the_windows(params):
    """200 series x 2,000 steps (3.2 MB of float64): the fit's traced peak stays a few times
    the data, far below the windows materialised (393,400 windows x 33 steps x 3 inputs in
    float32: 156 MB), early stopping's validation windows included."""
    import tracemalloc

    rng = np.random.default_rng(0)
    data = np.cumsum(rng.standard_normal((200, 2000, 1)), axis=1)
    model = LSTMForecaster(lookback=32, horizon=1, hidden_size=4, max_iter=1, batch_size=256,
                           window_stride=500, random_state=0, **params)
    model.fit(data[:2])                             # compile and warm up outside the trace
    tracemalloc.start()
    try:
        model.fit(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert model.n_windows_ == 200 * 4                # starts 0, 500, 1000, 1500 per series
    assert peak < 8 * data.nbytes, f"peak {peak / 1e6:.1f} MB for {data.nbytes / 1e6:.1f} MB"


def test_validation_skill_runs_in_bounded_chunks():
    """Early stopping's validation score gathers and runs its windows in chunks: 60,000
    windows (materialised: 60,000 x 33 steps x 3 inputs in float32, 24 MB, plus the network's
    activations) are scored within a few MB."""
    import tracemalloc

    from seqlstm.estimators import _forecaster

    rng = np.random.default_rng(0)
    data = np.ascontiguousarray(rng.standard_normal((30, 2032, 1)), dtype=np.float32)
    series = np.repeat(np.arange(30), 2000)
    starts = np.tile(np.arange(2000), 30)
    cols = (np.array([0]), np.array([], np.int64), np.array([], np.int64))
    windows = seqlstm.windowing.WindowSet(data, np.zeros((30, 0), np.float32), series, starts,
                                          32, 1, cols, False, None)
    net = seqlstm.RecurrentNetwork(input_size=2, hidden_size=4, output_size=1,
                                   dtype="float32", random_state=0)
    small = seqlstm.windowing.WindowSet(data, np.zeros((30, 0), np.float32), series[:600],
                                        starts[:600], 32, 1, cols, False, None)
    _forecaster._window_skill(net, small, "mse", 1)              # compile outside the trace
    tracemalloc.start()
    try:
        score = _forecaster._window_skill(net, windows, "mse", 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.isfinite(score)
    assert peak < 8e6, f"peak {peak / 1e6:.1f} MB"


# ---------------------------------------------------------------- decoder="direct"
def _loss_outputs(loss):
    return {"mse": 1, "mae": 1, "gaussian": 2, "quantile": 3}[loss]


def _shapes(out):
    return [a.shape for a in (out if isinstance(out, tuple) else (out,))]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("loss", ["mse", "mae", "gaussian", "quantile"])
def test_direct_decoder_shapes_for_every_loss(loss):
    """A direct network has ``horizon * n_targets * outputs per target`` outputs read from the
    last state of the lookback; predict, forecast (recursion past the horizon), intervals and
    scores have the per-step decoder's shapes; quantiles stay non-crossing at every lead."""
    y = np.stack([_sine(120), _sine(120, period=7, seed=1)], axis=1)     # two targets
    kwargs = dict(lookback=8, horizon=3, loss=loss, **FAST)
    direct = LSTMForecaster(**kwargs).fit(y)
    step = LSTMForecaster(decoder="per_step", **kwargs).fit(y)
    assert direct.decoder == "direct"                    # the default since 2026-12-07
    assert direct.network_.output_size == 3 * 2 * _loss_outputs(loss)
    assert step.network_.output_size == 2 * _loss_outputs(loss)
    assert direct.chrono_t_max_ is None
    assert _shapes(direct.predict(y)) == _shapes(step.predict(y))
    assert _shapes(direct.forecast(y, 7)) == _shapes(step.forecast(y, 7))
    out = direct.predict(y)
    for a in (out if isinstance(out, tuple) else (out,)):
        assert np.isfinite(a).all()
    if loss == "quantile":
        assert (np.diff(out, axis=-1) >= 0).all()
    if loss in ("gaussian", "quantile"):
        lower, upper = direct.predict_interval(y, coverage=0.8)
        assert lower.shape == upper.shape == (113, 3, 2) and (lower <= upper).all()
    assert np.isfinite(direct.score(y)) and direct.score_series(y).shape == (1,)
    # score_series scores the point forecasts (a quantile model's median), as score does
    for model in (direct, step):
        assert model.score_series(y)[0] == pytest.approx(model.score(y), rel=1e-12)
    # the leads differ: one output per lead, not one value repeated
    point = out[0] if isinstance(out, tuple) else out
    point = point[..., 1] if loss == "quantile" else point
    assert not np.allclose(point[:, 0], point[:, 2])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_direct_decoder_recursion_equals_feeding_back_by_hand():
    y = _sine(100)
    model = LSTMForecaster(lookback=10, horizon=3, decoder="direct", dtype="float64",
                           **FAST).fit(y)
    six = model.forecast(y, 6)
    # the same single window as forecast's first block (a batch of one: the same bits; predict
    # over the whole record batches every window, equal to float rounding only)
    first = model.predict(y[-10:])[-1]
    np.testing.assert_array_equal(six[:3], first)
    np.testing.assert_allclose(model.predict(y)[-1], first, rtol=1e-12)
    second = model.predict(np.concatenate([y, first]))[-1]
    np.testing.assert_allclose(six[3:], second, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_direct_decoder_reads_the_lookback_alone_without_future_covariates():
    """Without future covariates a direct network's forecast depends on the lookback only
    (it reads no horizon step); with them it reads the horizon steps and their covariates."""
    y = _sine(100)
    model = LSTMForecaster(lookback=10, horizon=3, decoder="direct", **FAST).fit(y)
    windows = model._window_set(np.zeros((1, 20, 1), np.float32), np.zeros((1, 0), np.float32),
                                np.zeros(1, np.int64), np.zeros(1, np.int64))
    assert windows.steps == 10 and windows.inputs[[0]].shape[1] == 10
    assert windows.targets[[0]].shape == (1, 3)
    ds = _stations()
    cov = LSTMForecaster(lookback=5, horizon=2, target="flow", future_covariates="rain",
                         decoder="direct", **FAST).fit(ds.drop_vars("temp"))
    past = ds.drop_vars("temp").isel(time=slice(0, 100))
    rain = ds[["rain"]].isel(time=slice(100, 102))
    a = cov.forecast(past, 2, future_covariates=rain)
    b = cov.forecast(past, 2, future_covariates=rain.copy(data={"rain": 2 * rain["rain"]}))
    assert not np.allclose(a.values, b.values)           # the covariates of the leads count
    # the first block equals predict's at the record's last issue time
    pred = cov.predict(ds.drop_vars("temp").isel(time=slice(0, 102)))
    np.testing.assert_array_equal(a.values, pred.isel(time=-3).values)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("window_norm", [None, "last", "standard", "robust"])
def test_direct_decoder_gaussian_spread_scales_with_the_data(window_norm):
    """The window normalisation is undone at every lead of a direct head: fit on y and on
    10 * y + 3, means 10 * m + 3 and standard deviations 10 * s."""
    y = 0.05 * np.arange(120) + _sine(120)
    kwargs = dict(lookback=8, horizon=3, loss="gaussian", window_norm=window_norm,
                  decoder="direct", dtype="float64", **FAST)
    if window_norm is None:          # the global scaling follows the data too
        kwargs["scaling"] = "series"
    a = LSTMForecaster(**kwargs).fit(y)
    b = LSTMForecaster(**kwargs).fit(10 * y + 3)
    if window_norm == "seasonal":
        assert a.seasonal_targets_.all() and b.seasonal_targets_.all()
    mean, std = a.predict(y)
    mean2, std2 = b.predict(10 * y + 3)
    np.testing.assert_allclose(std2, 10 * std, rtol=1e-9)
    np.testing.assert_allclose(mean2, 10 * mean + 3, rtol=1e-9)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_direct_decoder_learns_a_season_beyond_seasonal_naive():
    """A season of 12 with its harmonic, forecast 12 steps at once from a lookback of 24 by a
    direct head trained 200 epochs (NumPy input: no season given, so the windows are located
    at their last value): over the held-out period (every lead of every forecast with an
    observation) more accurate than seasonal naive.  (At the forecaster's default of 50
    epochs, chosen on the real development series, it is not, on this record: 2026-12-08.)"""
    t = np.arange(360)
    y = (np.sin(2 * np.pi * t / 12) + 0.5 * np.sin(2 * np.pi * t / 6 + 1)
         + 0.1 * np.random.default_rng(0).standard_normal(360))
    L, H = 24, 12
    model = LSTMForecaster(lookback=L, horizon=H, decoder="direct", hidden_size=16,
                           max_iter=200, random_state=0, n_jobs=1).fit(y[:240])
    n = 120 - H + 1                                      # issued at 239 .. 347
    pred = model.predict(y[240 - L:])[:n]
    truth = np.stack([y[240 + k:240 + k + n] for k in range(H)], axis=1)
    naive = np.stack([y[228 + k:228 + k + n] for k in range(H)], axis=1)   # a season back
    rmse = np.sqrt(np.mean((pred - truth) ** 2))
    rmse_naive = np.sqrt(np.mean((naive - truth) ** 2))
    assert rmse < rmse_naive, (rmse, rmse_naive)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("loss", ["gaussian", "quantile"])
def test_direct_decoder_panel_static_and_file_round_trip(tmp_path, loss):
    """A ragged panel with a static attribute, future and past covariates: a direct model
    trains, and its file gives bit-identical predictions, intervals and forecasts."""
    ds = _stations()
    model = LSTMForecaster(lookback=6, horizon=3, target="flow", future_covariates=["rain"],
                           loss=loss, decoder="direct", early_stopping=True, **FAST).fit(ds)
    path = tmp_path / "direct.nc"
    model.save(path)
    loaded = seqlstm.load(path)
    assert loaded.decoder == "direct"
    xr.testing.assert_identical(loaded.predict(ds), model.predict(ds))
    for a, b in zip(loaded.predict_interval(ds), model.predict_interval(ds)):
        xr.testing.assert_identical(a, b)
    past = ds.isel(time=slice(0, 100))
    rain = ds[["rain"]].isel(time=slice(100, 103))
    xr.testing.assert_identical(loaded.forecast(past, 3, future_covariates=rain),
                                model.forecast(past, 3, future_covariates=rain))
    assert loaded.score(ds) == model.score(ds)
    panel = _ragged_panel()
    ragged = LSTMForecaster(lookback=12, horizon=2, loss=loss, decoder="direct",
                            **FAST).fit(panel)
    out = ragged.forecast(panel.drop_sel(station="c"), 3)
    values = out["mean"] if loss == "gaussian" else out
    assert np.isfinite(values.values).all()


def test_bad_decoder_names_the_parameter():
    with pytest.raises(ValueError, match="decoder"):
        LSTMForecaster(decoder="mimo").fit(_sine(60))


# ---------------------------------------------------------------------- dask: lazy predict
# (last in the module: the LocalCluster fixture lives until the module's end, and its client's
# event-loop thread allocates, which the tracemalloc tests above would count)


def _panel(n_series=6, n_time=50, seed=0):
    """Stations of a sine with noise: variables y and x, station labels, attrs."""
    rng = np.random.default_rng(seed)
    values = (np.sin(np.arange(n_time) / 3.0)[None, :, None]
              + 0.1 * rng.standard_normal((n_series, n_time, 2)))
    return xr.DataArray(values, dims=("station", "time", "feature"),
                        coords={"station": [f"s{i}" for i in range(n_series)],
                                "time": np.arange(n_time), "feature": ["y", "x"]},
                        attrs={"units": "m"})


@pytest.mark.parametrize("on_cluster", [False, True])
def test_dask_predict_is_lazy_and_each_chunk_equals_it_in_memory(
        on_cluster, request, monkeypatch):
    """Dask-backed records chunked along stations and time: predict builds a graph and runs
    nothing until computed; each chunk of stations gives the bits of predicting those stations
    in memory (point, Gaussian and quantile forecasts), time chunks merged."""
    pytest.importorskip("dask")
    client = request.getfixturevalue("dask_client") if on_cluster else None
    data = _panel()
    calls = []
    issued = LSTMForecaster._issued
    monkeypatch.setattr(LSTMForecaster, "_issued",
                        lambda self, rec: calls.append(rec.n_series) or issued(self, rec))
    for loss in ("mse", "gaussian", "quantile"):
        model = LSTMForecaster(lookback=5, horizon=2, loss=loss, target="y", hidden_size=4,
                               max_iter=2, random_state=0).fit(data)
        calls.clear()
        lazy = model.predict(data.chunk({"station": 2, "time": 20}))
        assert calls == []                                  # nothing computed yet
        parts = lazy.data_vars.values() if isinstance(lazy, xr.Dataset) else [lazy]
        for part in parts:
            assert part.chunks[:2] == ((2, 2, 2), (46,))    # one chunk of issue times
        got = computed(lazy, client)
        if not on_cluster:
            assert calls == [2, 2, 2]                       # one call per chunk of stations
        for s in (slice(0, 2), slice(2, 4), slice(4, 6)):
            xr.testing.assert_identical(got.isel(station=s),
                                        model.predict(data.isel(station=s)))
    # the intervals read the lazy forecasts (the quantile model's)
    lower, upper = model.predict_interval(data.chunk({"station": 3}))
    assert lower.chunks is not None
    for a, b in zip((lower, upper), model.predict_interval(data)):
        xr.testing.assert_identical(computed(a, client), b)


@pytest.mark.parametrize("on_cluster", [False, True])
def test_dask_predict_gridded_dataset(on_cluster, request):
    """A Dataset on a (lat, lon) grid chunked along both, two targets and a static attribute:
    the forecasts on the same grid, each block the bits of predicting it in memory."""
    pytest.importorskip("dask")
    client = request.getfixturevalue("dask_client") if on_cluster else None
    rng = np.random.default_rng(1)
    grid = (3, 4)
    wave = np.sin(np.arange(40) / 3.0)
    ds = xr.Dataset(
        {"t2m": (("lat", "lon", "time"), wave + 0.1 * rng.standard_normal(grid + (40,))),
         "rain": (("lat", "lon", "time"), rng.gamma(1.0, 1.0, grid + (40,))),
         "elevation": (("lat", "lon"), rng.uniform(0, 900, grid))},
        coords={"lat": [10.0, 11.0, 12.0], "lon": [0.0, 1.0, 2.0, 3.0],
                "time": np.arange(40)})
    model = LSTMForecaster(lookback=4, horizon=3, hidden_size=4, max_iter=2,
                           random_state=0).fit(ds)
    lazy = model.predict(ds.chunk({"lat": 2, "lon": 3, "time": 15}))
    assert lazy.dims == ("lat", "lon", "time", "lead", "variable")
    assert lazy.chunks[:2] == ((2, 1), (3, 1))
    got = computed(lazy, client)
    for la in (slice(0, 2), slice(2, 3)):
        for lo in (slice(0, 3), slice(3, 4)):
            xr.testing.assert_identical(got.isel(lat=la, lon=lo),
                                        model.predict(ds.isel(lat=la, lon=lo)))


def test_dask_predict_graph_holds_the_model_once():
    """The forecaster is one key of the graph that every task names, never serialised into
    each task; a Gaussian forecast's mean and std share it."""
    pytest.importorskip("dask")
    import pickle

    import cloudpickle

    data = _panel(n_series=8)
    model = LSTMForecaster(lookback=5, horizon=2, loss="gaussian", target="y", hidden_size=48,
                           max_iter=1, random_state=0).fit(data)
    model_bytes = len(pickle.dumps(model))
    assert model_bytes > 40_000
    lazy = model.predict(data.chunk({"station": 1}))
    graph = dict(lazy.__dask_graph__())
    assert len(graph) >= 24
    sizes = [len(cloudpickle.dumps(task)) for task in graph.values()]
    assert sum(sizes) < 1.5 * model_bytes
    assert sum(size > model_bytes / 2 for size in sizes) == 1


def test_dask_predict_checks_labels_now_and_values_whencomputed():
    """Labels (variables, time step, record length) are checked by predict, as in memory;
    values (inf, NaN in a static attribute) when their chunk is computed, with the in-memory
    error."""
    pytest.importorskip("dask")
    import re

    data = _panel()
    model = LSTMForecaster(lookback=5, target="y", hidden_size=4, max_iter=1,
                           random_state=0).fit(data)
    for bad in (data.sel(feature=["y"]), data.isel(time=slice(0, 4)),
                data.assign_coords(time=np.arange(50) * 2)):
        with pytest.raises(ValueError) as eager:
            model.predict(bad)
        with pytest.raises(ValueError, match=re.escape(str(eager.value))):
            model.predict(bad.chunk({"station": 2}))
    bad = data.copy(data=data.values.copy())
    bad[4, 30, 1] = np.inf
    with pytest.raises(ValueError) as eager:
        model.predict(bad)
    lazy = model.predict(bad.chunk({"station": 2}))
    with pytest.raises(ValueError, match=re.escape(str(eager.value))):
        lazy.compute()
    lazy.isel(station=slice(0, 4)).compute()            # the other chunks are fine
    ds = data.to_dataset(dim="feature").assign(height=("station", [1.0, np.nan] + [2.0] * 4))
    model = LSTMForecaster(lookback=5, target="y", hidden_size=4, max_iter=1,
                           random_state=0).fit(ds.fillna(0.0))
    with pytest.raises(ValueError) as eager:
        model.predict(ds)
    with pytest.raises(ValueError, match=re.escape(str(eager.value))):
        model.predict(ds.chunk({"station": 3})).compute()


# ---------------------------------------------------------------------- dask: lazy forecast
def _stations_with_height(n_series=5, n_time=40, seed=2):
    """Stations with a target y, a forcing x known ahead and a static height."""
    data = _panel(n_series, n_time, seed).to_dataset(dim="feature")
    return data.assign(height=("station", np.linspace(1.0, 3.0, n_series)))


@pytest.mark.parametrize("on_cluster", [False, True])
def test_dask_forecast_is_lazy_and_each_chunk_equals_it_in_memory(
        on_cluster, request, monkeypatch):
    """Dask-backed records chunked along stations and time: forecast builds a graph and runs
    nothing until computed; each chunk of stations gives the bits of forecasting those
    stations in memory (point, Gaussian and quantile models, recursively past the horizon)."""
    pytest.importorskip("dask")
    client = request.getfixturevalue("dask_client") if on_cluster else None
    data = _panel().sel(feature=["y"])
    calls = []
    recursive = LSTMForecaster._recursive
    monkeypatch.setattr(LSTMForecaster, "_recursive",
                        lambda self, rec, *a, **k: calls.append(rec.n_series)
                        or recursive(self, rec, *a, **k))
    for loss in ("mse", "gaussian", "quantile"):
        model = LSTMForecaster(lookback=5, horizon=2, loss=loss, hidden_size=4, max_iter=2,
                               random_state=0).fit(data)
        calls.clear()
        lazy = model.forecast(data.chunk({"station": 2, "time": 20}), 5)
        assert calls == []                                  # nothing computed yet
        parts = lazy.data_vars.values() if isinstance(lazy, xr.Dataset) else [lazy]
        for part in parts:
            assert part.chunks[:2] == ((2, 2, 2), (5,))
        got = computed(lazy, client)
        if not on_cluster:
            assert calls == [2, 2, 2]                       # one call per chunk of stations
        xr.testing.assert_allclose(got, model.forecast(data, 5))
        for s in (slice(0, 2), slice(2, 4), slice(4, 6)):
            xr.testing.assert_identical(got.isel(station=s),
                                        model.forecast(data.isel(station=s), 5))


@pytest.mark.parametrize("on_cluster", [False, True])
def test_dask_forecast_panel_with_static_and_future_covariates(on_cluster, request):
    """A Dataset with a static attribute and a future covariate: future values given as a
    dask-backed Dataset chunked otherwise, as an in-memory Dataset or as NumPy, are sliced
    with each chunk of stations; each chunk the bits of forecasting it in memory."""
    pytest.importorskip("dask")
    client = request.getfixturevalue("dask_client") if on_cluster else None
    ds = _stations_with_height()
    model = LSTMForecaster(lookback=5, horizon=2, target="y", future_covariates=["x"],
                           hidden_size=4, max_iter=2, random_state=0).fit(ds)
    future = xr.Dataset({"x": (("station", "time"),
                               np.random.default_rng(3).standard_normal((5, 6)))},
                        coords={"station": ds.station})
    for given in (future.chunk({"station": 3, "time": 2}), future, future["x"].values[..., None]):
        lazy = model.forecast(ds.chunk({"station": 2}), 4, future_covariates=given)
        assert lazy.chunks[0] == (2, 2, 1)
        got = computed(lazy, client)
        for s in (slice(0, 2), slice(2, 4), slice(4, 5)):
            own = (given.isel(station=s) if isinstance(given, xr.Dataset) else given[s])
            xr.testing.assert_identical(
                got.isel(station=s),
                model.forecast(ds.isel(station=s), 4, future_covariates=own))
    one = future.isel(station=[0])            # one series' values: every station's
    xr.testing.assert_identical(
        model.forecast(ds.chunk({"station": 2}), 4, future_covariates=one.chunk()).compute(),
        model.forecast(ds, 4, future_covariates=one))


def test_dask_forecast_checks_labels_now_and_values_whencomputed():
    """Labels (steps, variables, future covariates' names and shape) are checked by forecast,
    with the in-memory errors; values (inf in the future covariates) when computed."""
    pytest.importorskip("dask")
    import re

    ds = _stations_with_height()
    model = LSTMForecaster(lookback=5, horizon=2, target="y", future_covariates=["x"],
                           hidden_size=4, max_iter=1, random_state=0).fit(ds)
    future = xr.Dataset({"x": (("station", "time"), np.zeros((5, 6)))})
    for data, steps, fut in ((ds, 0, future), (ds.drop_vars("height"), 2, future),
                             (ds, 2, None), (ds, 2, future.rename(x="z")),
                             (ds, 8, future), (ds, 2, future.isel(station=[0, 1]))):
        with pytest.raises(ValueError) as eager:
            model.forecast(data, steps, future_covariates=fut)
        with pytest.raises(ValueError, match=re.escape(str(eager.value))):
            model.forecast(data.chunk({"station": 2}), steps,
                           future_covariates=None if fut is None else fut.chunk())
    bad = future.copy(deep=True)
    bad["x"][3, 1] = np.inf
    with pytest.raises(ValueError) as eager:
        model.forecast(ds, 2, future_covariates=bad)
    lazy = model.forecast(ds.chunk({"station": 2}), 2, future_covariates=bad.chunk())
    with pytest.raises(ValueError, match=re.escape(str(eager.value))):
        lazy.compute()
    lazy.isel(station=slice(0, 2)).compute()           # the other chunks are fine
    with pytest.raises(ValueError, match=re.escape(str(eager.value))):   # in-memory data
        model.forecast(ds, 2, future_covariates=bad.chunk())


@pytest.mark.parametrize("on_cluster", [False, True])
def test_dask_forecast_error_in_a_chunk_names_the_series_of_the_whole_input(
        on_cluster, request):
    """NaN in a series' last lookback (nan_inputs='skip') or a series without any observed
    target: the error raised inside a chunk names the series by its label (one labelled
    sample dim) or its position on the whole grid, as the in-memory error does."""
    pytest.importorskip("dask")
    import re

    client = request.getfixturevalue("dask_client") if on_cluster else None
    data = _panel().sel(feature=["y"])
    model = LSTMForecaster(lookback=5, horizon=2, hidden_size=4, max_iter=1,
                           random_state=0).fit(data)
    bad = data.copy(data=data.values.copy())
    bad[4, 47, 0] = np.nan                                   # station s4 (second chunk)
    with pytest.raises(ValueError, match=r"\['s4'\]") as eager:
        model.forecast(bad, 3)
    with pytest.raises(ValueError, match=re.escape(str(eager.value))):
        computed(model.forecast(bad.chunk({"station": 3}), 3), client)
    # a (lat, lon) grid: positions on the whole grid, not in the chunk
    grid = xr.DataArray(np.sin(np.arange(40) / 3.0) + np.zeros((3, 4, 40)),
                        dims=("lat", "lon", "time"), name="t2m",
                        coords={"lat": [10.0, 11.0, 12.0], "lon": [0.0, 1.0, 2.0, 3.0]})
    padded = LSTMForecaster(lookback=5, horizon=2, start_padding=True, hidden_size=4,
                            max_iter=1, random_state=0).fit(grid)
    lazy = padded.forecast(grid.chunk({"lat": 2, "lon": 3}), 3)
    assert lazy.dims == ("lat", "lon", "time")
    xr.testing.assert_identical(computed(lazy, client), padded.forecast(grid, 3))
    hole = grid.copy(data=grid.values.copy())
    hole[2, 3] = np.nan                                      # no observed target at (2, 3)
    with pytest.raises(ValueError, match=re.escape("(2, 3)")) as eager:
        padded.forecast(hole, 3)
    with pytest.raises(ValueError, match=re.escape(str(eager.value))):
        computed(padded.forecast(hole.chunk({"lat": 2, "lon": 3}), 3), client)


def test_dask_forecast_graph_holds_the_model_once():
    """The forecaster is one key of the forecast's graph that every task names; a Gaussian
    forecast's mean and std share it."""
    pytest.importorskip("dask")
    import pickle

    import cloudpickle

    data = _panel(n_series=8).sel(feature=["y"])
    model = LSTMForecaster(lookback=5, horizon=2, loss="gaussian", hidden_size=48,
                           max_iter=1, random_state=0).fit(data)
    model_bytes = len(pickle.dumps(model))
    assert model_bytes > 40_000
    lazy = model.forecast(data.chunk({"station": 1}), 4)
    graph = dict(lazy.__dask_graph__())
    assert len(graph) >= 24
    sizes = [len(cloudpickle.dumps(task)) for task in graph.values()]
    assert sum(sizes) < 1.5 * model_bytes
    assert sum(size > model_bytes / 2 for size in sizes) == 1
