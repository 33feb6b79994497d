"""Records for forecasting: layouts, names, static attributes, time checks, future times."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from seqlstm.data.records import (
    align_ends,
    future_times,
    infer_season_length,
    select_columns,
    to_records,
)


def test_numpy_layouts():
    r = to_records(np.arange(5.0))
    assert r.values.shape == (1, 5, 1) and r.var_names == ["x0"] and r.ndim == 1
    r = to_records(np.zeros((5, 2)))
    assert r.values.shape == (1, 5, 2) and r.var_names == ["x0", "x1"]
    r = to_records(np.zeros((3, 5, 2)))
    assert r.values.shape == (3, 5, 2) and r.sample_shape == (3,)
    np.testing.assert_array_equal(r.time, np.arange(5))
    with pytest.raises(ValueError, match="data: expected a NumPy array"):
        to_records(np.zeros((1, 2, 3, 4)))


def test_dataset_with_static_and_two_series():
    time = pd.date_range("2000-01-01", periods=4, freq="D")
    ds = xr.Dataset(
        {"q": (("station", "time"), [[1.0, 2, 3, 4], [5, 6, 7, 8]]),
         "rain": ("time", [0.0, 1, 0, 2]),                      # shared by both stations
         "area": ("station", [10.0, 20.0])},
        coords={"station": ["a", "b"], "time": time}, attrs={"source": "test"})
    r = to_records(ds)
    assert r.var_names == ["q", "rain"] and r.static_names == ["area"]
    np.testing.assert_array_equal(r.values[:, :, 0], [[1, 2, 3, 4], [5, 6, 7, 8]])
    np.testing.assert_array_equal(r.values[:, :, 1], [[0, 1, 0, 2], [0, 1, 0, 2]])
    np.testing.assert_array_equal(r.static, [[10], [20]])
    assert r.sample_dims == ("station",) and r.attrs == {"source": "test"}
    np.testing.assert_array_equal(r.sample_coords["station"][1], ["a", "b"])
    np.testing.assert_array_equal(r.time, time.values)


def test_dataarray_variables_from_feature_coordinate():
    da = xr.DataArray(np.zeros((2, 4, 3)), dims=("site", "time", "feature"),
                      coords={"feature": ["a", "b", "c"]})
    r = to_records(da)
    assert r.var_names == ["a", "b", "c"] and r.values.shape == (2, 4, 3)
    r = to_records(xr.DataArray(np.zeros(4), dims="time", name="flow"))
    assert r.var_names == ["flow"]
    with pytest.raises(ValueError, match="data: expected a time dim named 'time'"):
        to_records(xr.DataArray(np.zeros(4), dims="t"))


@pytest.mark.parametrize("time, what", [([0, 1, 1, 2], "duplicated"), ([0, 2, 1, 3], "decreasing")])
def test_time_must_increase_strictly(time, what):
    da = xr.DataArray(np.zeros(4), dims="time", coords={"time": time})
    with pytest.raises(ValueError, match=f"strictly increasing time coordinate 'time'; found a "
                                         f"{what}"):
        to_records(da)


def test_bad_values():
    with pytest.raises(ValueError, match="finite values or NaN"):
        to_records(np.array([1.0, np.inf]))
    ds = xr.Dataset({"q": (("s", "time"), np.zeros((2, 3))), "area": ("s", [1.0, np.nan])})
    with pytest.raises(ValueError, match=r"static attributes without NaN; found NaN in \['area'\]"):
        to_records(ds)
    with pytest.raises(ValueError, match="numeric values"):
        to_records(np.array(["a", "b"]))


def test_select_columns():
    names = ["q", "rain", "temp"]
    np.testing.assert_array_equal(select_columns(names, ["temp", "q"], "target"), [2, 0])
    np.testing.assert_array_equal(select_columns(names, 1, "target"), [1])
    np.testing.assert_array_equal(select_columns(names, None, "target", default=[0]), [0])
    with pytest.raises(ValueError, match=r"target: expected names of time-varying variables "
                                         r"in \['q', 'rain', 'temp'\]; found 'snow'"):
        select_columns(names, "snow", "target")
    with pytest.raises(ValueError, match="future_covariates: expected each variable once"):
        select_columns(names, ["q", "q"], "future_covariates")


def test_future_times():
    np.testing.assert_array_equal(future_times(np.array([0.0, 0.5, 1.0]), 2), [1.5, 2.0])
    daily = pd.date_range("2000-01-30", periods=3, freq="D").values
    np.testing.assert_array_equal(future_times(daily, 2),
                                  pd.date_range("2000-02-02", periods=2, freq="D").values)
    monthly = pd.date_range("1958-09-01", periods=4, freq="MS").values   # uneven day counts
    np.testing.assert_array_equal(future_times(monthly, 2),
                                  pd.to_datetime(["1959-01-01", "1959-02-01"]).values)
    assert np.isnan(future_times(np.array([0.0, 1.0, 3.0]), 2)).all()
    # one time: the step given (a forecaster's time_step_), else unknown
    np.testing.assert_array_equal(future_times(np.array([4.0]), 2, step=0.5), [4.5, 5.0])
    assert np.isnan(future_times(np.array([4.0]), 2)).all()


@pytest.mark.parametrize("freq, period", [("h", 24), ("D", 7), ("W", 52), ("MS", 12), ("ME", 12),
                                          ("QS", 4), ("QE", 4), ("YS", 1), ("2D", 1)])
def test_infer_season_length_from_datetime_steps(freq, period):
    time = pd.date_range("1999-11-01", periods=30, freq=freq).values
    assert infer_season_length(time) == period


def test_infer_season_length_integer_time_and_gaps():
    assert infer_season_length(np.arange(50)) == 1              # integer time: not told
    assert infer_season_length(np.array([0.0, 0.5, 1.0])) == 1
    assert infer_season_length(pd.date_range("2000", periods=1, freq="MS").values) == 1
    # a monthly record with one month missing still reads as monthly (median step)
    monthly = pd.date_range("2000-01-01", periods=24, freq="MS").delete(5).values
    assert infer_season_length(monthly) == 12


def test_align_ends_moves_each_series_to_the_end():
    nan = np.nan
    values = np.array([[1.0, 2, 3, nan, nan],
                       [nan, 4, nan, 5, nan],
                       [6, 7, 8, 9, 10],
                       [nan, nan, nan, nan, nan]])
    np.testing.assert_array_equal(align_ends(values), [[nan, nan, 1, 2, 3],
                                                       [nan, nan, 4, nan, 5],
                                                       [6, 7, 8, 9, 10],
                                                       [nan, nan, nan, nan, nan]])
    three = np.stack([values, 10 * values], axis=-1)
    three[0, 3, 1] = 99.0                  # one variable observed a step later: the end
    got = align_ends(three)
    np.testing.assert_array_equal(got[0, :, 1], [nan, 10, 20, 30, 99])
    np.testing.assert_array_equal(got[0, :, 0], [nan, 1, 2, 3, nan])
    assert np.isnan(values[0, 3])          # the input is left as it was
    with pytest.raises(ValueError, match="values: expected an array"):
        align_ends(np.zeros(3))
