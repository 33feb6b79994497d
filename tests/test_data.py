"""Tests for seqlstm.data: labeled input/output, padding, validation, dask."""

import re

import numpy as np
import pytest
import xarray as xr

from seqlstm.data import (
    SequenceData,
    apply_lazily,
    is_dask,
    predict_lazily,
    to_labels,
    to_sequences,
    to_targets,
    wrap_features,
    wrap_labels,
    wrap_output,
)
from seqlstm.data.sequences import chunk_sequences

RNG = np.random.default_rng(0)


def make_dataarray(n_member=2, n_station=3, n_time=5, n_feature=2):
    """A (member, station, time, feature) DataArray with coords, aux coords and attrs."""
    values = RNG.normal(size=(n_member, n_station, n_time, n_feature))
    values[1, 2, 3:, :] = np.nan  # padding: sequence (member 1, station 2) has length 3
    return xr.DataArray(
        values,
        dims=("member", "station", "time", "feature"),
        coords={
            "station": ["s2", "s0", "s1"][:n_station],
            "lat": ("station", np.arange(n_station) * 10.0),
            "time": np.arange(n_time) * 6,
            "feature": ["u", "v"][:n_feature],
            "units": ("feature", ["m/s", "m/s"][:n_feature]),
            "height": 10.0,
        },
        attrs={"source": "test"},
        name="wind",
    )


# --- NumPy input -----------------------------------------------------------------------------


def test_numpy_3d_round_trip():
    X = RNG.normal(size=(4, 6, 3))
    data = to_sequences(X)
    assert isinstance(data, SequenceData)
    assert data.kind == "numpy"
    np.testing.assert_array_equal(data.values, X)
    assert data.values.flags.c_contiguous and data.values.dtype == np.float64
    assert not np.shares_memory(data.values, X)
    np.testing.assert_array_equal(data.lengths, [6, 6, 6, 6])
    assert data.lengths.dtype == np.int64
    assert data.feature_names is None
    out = RNG.normal(size=(4, 2))
    assert wrap_output(out, data, per_step=False) is out
    np.testing.assert_array_equal(wrap_features(data.values, data), X)


def test_numpy_2d_is_length_one_sequences():
    X = RNG.normal(size=(5, 3))
    data = to_sequences(X, input_2d="features")
    assert data.values.shape == (5, 1, 3)
    np.testing.assert_array_equal(data.lengths, np.ones(5))
    np.testing.assert_array_equal(wrap_features(data.values, data), X)


def test_numpy_2d_is_refused_without_a_reading():
    # (n_samples, n_time) univariate series and (n_samples, n_features) single steps look
    # alike: nothing is guessed, the message shows both reshapes and the option
    X = RNG.normal(size=(5, 30))
    for kwargs in ({}, {"input_2d": None}):
        with pytest.raises(ValueError) as info:
            to_sequences(X, arg="Xtrain", **kwargs)
        message = str(info.value)
        assert message.startswith("Xtrain: ")
        assert "shape (5, 30)" in message
        assert "Xtrain[:, :, None]" in message and "Xtrain[:, None, :]" in message
        assert "(5, 30, 1)" in message and "(5, 1, 30)" in message
        assert "input_2d='series'" in message and "input_2d='features'" in message
    with pytest.raises(ValueError, match=r"input_2d: expected None, 'series' or 'features'; "
                                         r"found 'time'"):
        to_sequences(X, input_2d="time")


def test_numpy_2d_as_series_equals_explicit_reshape():
    X = RNG.normal(size=(4, 7))
    X[1, 5:] = np.nan  # padding at the end of a series
    data = to_sequences(X, input_2d="series")
    explicit = to_sequences(X[:, :, None])
    np.testing.assert_array_equal(data.values, explicit.values)
    np.testing.assert_array_equal(data.lengths, [7, 5, 7, 7])
    assert data.feature_names is None
    back = wrap_features(data.values, data)  # transformers give the input's own shape back
    assert back.shape == X.shape
    np.testing.assert_array_equal(back, X)
    features = to_sequences(X[:, :5], input_2d="features")
    np.testing.assert_array_equal(features.values, to_sequences(X[:, None, :5]).values)
    # 3-D input and lists of sequences are explicit: the option does not change them
    X3 = RNG.normal(size=(2, 3, 2))
    for reading in (None, "series", "features"):
        np.testing.assert_array_equal(to_sequences(X3, input_2d=reading).values, X3)
        assert to_sequences([X3[0], X3[1, :2]], input_2d=reading).values.shape == (2, 3, 2)


def test_dataframe_read_as_series_has_no_feature_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"2020": [1.0, 2.0], "2021": [3.0, 4.0], "2022": [5.0, 6.0]})
    data = to_sequences(df, input_2d="series")
    assert data.values.shape == (2, 3, 1)
    assert data.feature_names is None  # the columns are time steps, not features
    with pytest.raises(ValueError, match="input_2d"):
        to_sequences(df)


def test_dataarrays_name_their_dims_whatever_input_2d():
    da = make_dataarray()
    for reading in ("series", "features"):
        np.testing.assert_array_equal(to_sequences(da, input_2d=reading).values,
                                      to_sequences(da).values)
    # a (sample, time) DataArray without a feature dim is refused as documented, with the fix
    series = da.isel(member=0, feature=0, drop=True)
    assert series.dims == ("station", "time")
    for reading in (None, "series", "features"):
        with pytest.raises(ValueError, match=r"X: expected a DataArray with a time dim named "
                                             r"'time' \(time_dim\) and a feature dim named "
                                             r"'feature' \(feature_dim\); found dims "
                                             r"\('station', 'time'\).*expand_dims"):
            to_sequences(series, input_2d=reading)
    fixed = to_sequences(series.expand_dims("feature", axis=-1))
    np.testing.assert_array_equal(fixed.values[:, :, 0], series.values)
    # a (sample, feature) DataArray is sequences of length one (no time dim), as documented
    steps = da.isel(member=0, time=0, drop=True)
    data = to_sequences(steps, input_2d="series")
    assert data.values.shape == (3, 1, 2) and data.time_dim is None


def test_list_of_sequences_is_padded():
    seqs = [RNG.normal(size=(n, 2)) for n in (3, 7, 1)]
    data = to_sequences(seqs)
    assert data.values.shape == (3, 7, 2)
    np.testing.assert_array_equal(data.lengths, [3, 7, 1])
    for i, s in enumerate(seqs):
        np.testing.assert_array_equal(data.values[i, : len(s)], s)
        assert np.isnan(data.values[i, len(s):]).all()


def test_nested_list_is_an_array():
    data = to_sequences([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])
    assert data.values.shape == (2, 2, 2)


@pytest.mark.parametrize("dtype", [bool, np.int32, np.float32])
def test_bool_and_int_converted(dtype):
    X = np.ones((2, 3, 1), dtype=dtype)
    data = to_sequences(X, dtype=np.float32)
    assert data.values.dtype == np.float32


def test_dataframe_columns_become_feature_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    data = to_sequences(df, input_2d="features")
    assert data.values.shape == (2, 1, 2)
    assert list(data.feature_names) == ["a", "b"]


def test_padding_lengths():
    X = RNG.normal(size=(3, 5, 2))
    X[0, 4:] = np.nan
    X[1, 1:] = np.nan
    data = to_sequences(X)
    np.testing.assert_array_equal(data.lengths, [4, 1, 5])
    assert np.isnan(data.values[0, 4:]).all()


# --- DataArray / Dataset input ---------------------------------------------------------------


def test_dataarray_one_sample_dim():
    da = make_dataarray().isel(member=0, drop=True).transpose("time", "station", "feature")
    data = to_sequences(da)
    assert data.kind == "dataarray"
    assert data.sample_dims == ("station",) and data.time_dim == "time"
    np.testing.assert_array_equal(data.values, da.transpose("station", "time", "feature").values)
    assert list(data.feature_names) == ["u", "v"]

    out = wrap_output(RNG.normal(size=(3, 1)), data, per_step=False, output_names=["speed"])
    assert out.dims == ("station", "output")
    assert list(out["station"].values) == ["s2", "s0", "s1"]
    np.testing.assert_array_equal(out["lat"].values, da["lat"].values)
    assert list(out["output"].values) == ["speed"]
    assert out.attrs == {"source": "test"} and out.name == "wind"
    assert "time" not in out.coords and "units" not in out.coords

    # per-step output keeps the input's dim order with the output dim in place of the features
    out = wrap_output(RNG.normal(size=(3, 5, 4)), data, per_step=True)
    assert out.dims == ("time", "station", "output")
    np.testing.assert_array_equal(out["time"].values, da["time"].values)
    assert "output" not in out.coords

    assert wrap_features(data.values, data).identical(da)


def test_dataarray_two_sample_dims_stacked_and_unstacked():
    da = make_dataarray()
    data = to_sequences(da)
    assert data.sample_dims == ("member", "station") and data.sample_shape == (2, 3)
    assert data.values.shape == (6, 5, 2)
    # stacked in C order: sample k = (member k // 3, station k % 3)
    stacked = da.stack(sample=("member", "station")).transpose("sample", "time", "feature")
    np.testing.assert_array_equal(data.values, stacked.values)
    np.testing.assert_array_equal(data.lengths, [5, 5, 5, 5, 5, 3])

    per_sample = np.nansum(data.values, axis=1)
    out = wrap_output(per_sample, data, per_step=False, output_names=["a", "b"])
    assert out.dims == ("member", "station", "output")
    xr.testing.assert_equal(
        out.drop_vars("output").rename(output="feature"),
        da.sum("time").drop_vars(["feature", "units"]),
    )
    assert "member" not in out.coords  # no coordinate invented for a coordinate-less dim
    assert out["lat"].dims == ("station",)
    assert out.attrs == da.attrs and float(out["height"]) == 10.0

    labels = wrap_labels(np.array(list("abcdef")), data, per_step=False)
    assert labels.dims == ("member", "station") and labels.values[1, 2] == "f"
    labels = wrap_labels(np.zeros((6, 5), dtype=int), data, per_step=True)
    assert labels.dims == ("member", "station", "time")

    assert wrap_features(data.values, data).identical(da)


def test_duplicate_sample_labels_round_trip():
    da = make_dataarray().assign_coords(station=["a", "a", "b"])
    data = to_sequences(da)
    out = wrap_output(np.zeros((6, 1)), data, per_step=False)
    assert list(out["station"].values) == ["a", "a", "b"]


def test_dataarray_without_sample_dims_is_one_sample():
    da = make_dataarray().isel(member=0, station=0, drop=True)
    data = to_sequences(da)
    assert data.values.shape == (1, 5, 2) and data.sample_dims == ()
    out = wrap_output(np.ones((1, 3)), data, per_step=False)
    assert out.dims == ("output",)
    assert wrap_features(data.values, data).identical(da)


def test_dataarray_without_time_dim_is_length_one():
    da = make_dataarray().isel(time=0, drop=True)
    data = to_sequences(da)
    assert data.values.shape == (6, 1, 2) and data.time_dim is None
    out = wrap_output(np.ones((6, 1, 3)), data, per_step=True)
    assert out.dims == ("member", "station", "output")
    assert wrap_features(data.values, data).identical(da)


def test_custom_dim_names():
    da = make_dataarray().rename(time="date", feature="variable")
    data = to_sequences(da, time_dim="date", feature_dim="variable")
    assert data.values.shape == (6, 5, 2)
    with pytest.raises(ValueError, match=r"X: .*'time' \(time_dim\).*found dims"):
        to_sequences(da)


def test_dataset_variables_are_features():
    da = make_dataarray().drop_vars("units")
    ds = da.to_dataset(dim="feature")
    ds.attrs = {"title": "ds"}
    data = to_sequences(ds)
    assert data.kind == "dataset"
    assert list(data.feature_names) == ["u", "v"]
    np.testing.assert_array_equal(data.values, to_sequences(da).values)
    out = wrap_output(np.ones((6, 5, 1)), data, per_step=True, output_names=["w"])
    assert out.dims == ("member", "station", "time", "output")
    assert out.attrs == {"title": "ds"}
    assert wrap_features(data.values, data).identical(ds)


# --- User data is never modified -------------------------------------------------------------


def test_user_data_unchanged():
    X = RNG.normal(size=(3, 4, 2))
    X[0, 2:] = np.nan
    X_copy = X.copy()
    data = to_sequences(X)
    data.values[...] = 0.0
    np.testing.assert_array_equal(X, X_copy)

    da = make_dataarray()
    da_copy = da.copy(deep=True)
    data = to_sequences(da)
    data.values[...] = 0.0
    wrap_output(data.values, data, per_step=True)
    xr.testing.assert_identical(da, da_copy)

    ds = da.drop_vars("units").to_dataset(dim="feature")
    ds_copy = ds.copy(deep=True)
    to_sequences(ds).values[...] = 0.0
    xr.testing.assert_identical(ds, ds_copy)

    seqs = [np.ones((2, 1)), np.ones((3, 1))]
    to_sequences(seqs).values[...] = 5.0
    assert all((s == 1.0).all() for s in seqs)

    X32 = np.ones((2, 2, 2), dtype=np.float32)
    assert not np.shares_memory(to_sequences(X32, dtype=np.float32).values, X32)


# --- Errors ----------------------------------------------------------------------------------


def test_missing_feature_dim():
    da = make_dataarray().rename(feature="var")
    with pytest.raises(ValueError, match=r"X: .*'feature' \(feature_dim\).*found dims \('member'"):
        to_sequences(da)


def test_one_dimensional_dataarray_has_no_time():
    da = make_dataarray().isel(member=0, station=0, time=0, drop=True)
    with pytest.raises(ValueError, match=r"time_dim"):
        to_sequences(da)


@pytest.mark.parametrize("shape", [(3,), (2, 2, 2, 2)])
def test_wrong_ndim(shape):
    match = rf"Xtrain: expected a 2-D .* 3-D .*found ndim={len(shape)}"
    with pytest.raises(ValueError, match=match):
        to_sequences(np.ones(shape), arg="Xtrain")


@pytest.mark.parametrize("shape", [(0, 3, 2), (2, 0, 2), (2, 3, 0), (0, 2)])
def test_empty(shape):
    with pytest.raises(ValueError, match=r"X: found array with 0 .*expected at least one sample"):
        to_sequences(np.ones(shape), input_2d="features" if len(shape) == 2 else None)
    with pytest.raises(ValueError, match=r"found array with 0"):
        to_sequences(xr.DataArray(np.ones(shape + (1,) * (3 - len(shape))),
                                  dims=("sample", "time", "feature")))


def test_one_dimensional_numpy_hint():
    with pytest.raises(ValueError, match=r"found ndim=1.*Reshape your data"):
        to_sequences(np.ones(3))


def test_sparse_rejected():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match=r"X: sparse input is not supported"):
        to_sequences(sparse.csr_matrix(np.eye(3)))


@pytest.mark.parametrize(
    "X", [np.array([[["a"]]]), np.ones((2, 2, 2), dtype=complex), np.zeros((2, 2), "M8[s]")]
)
def test_non_numeric_dtype(X):
    match = rf"X: .*expected numeric .*found dtype {re.escape(str(X.dtype))}"
    with pytest.raises(TypeError, match=match):
        to_sequences(X)
    with pytest.raises(TypeError, match="expected numeric"):
        to_sequences(xr.DataArray(X[:, :, None] if X.ndim == 2 else X,
                                  dims=("sample", "time", "feature")))


def test_object_dtype():
    assert to_sequences(np.array([[1, 2.5]], dtype=object),
                        input_2d="features").values.dtype == np.float64
    with pytest.raises(ValueError, match=r"X: expected numeric data; found dtype object"):
        to_sequences(np.array([[1, "x"]], dtype=object))
    with pytest.raises(TypeError, match=r"X: expected numeric data; found dtype object"):
        to_sequences(np.array([[1, {"a": 1}]], dtype=object))


def test_complex_is_type_and_value_error():
    for exc in (TypeError, ValueError):
        with pytest.raises(exc, match="Complex data not supported"):
            to_sequences(np.ones((2, 2), dtype=complex))


def test_ragged_nested_list():
    with pytest.raises(ValueError, match="list of 2-D arrays"):
        to_sequences([[1.0, 2.0], [3.0]])


def test_list_with_different_feature_counts():
    with pytest.raises(ValueError, match=r"same number of features; found \[1, 2\]"):
        to_sequences([np.ones((2, 1)), np.ones((2, 2))])


def test_nan_inside_sequence():
    X = np.ones((3, 5, 2))
    X[1, 2, 0] = np.nan  # one feature missing
    with pytest.raises(ValueError, match=r"X: .*found nan at sample 1, time step 2, feature 0"):
        to_sequences(X)


def test_nan_step_followed_by_valid_steps():
    X = np.ones((3, 5, 2))
    X[2, 1, :] = np.nan
    X[2, 3, :] = np.nan
    X[2, 4, :] = np.nan  # padding after a valid step 2: first offending step is 1
    with pytest.raises(ValueError, match=r"found nan at sample 2, time step 1.*padding"):
        to_sequences(X)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_inf_anywhere(value):
    X = np.ones((3, 5, 2))
    X[0, 4, :] = np.nan
    X[2, 4, 1] = value
    with pytest.raises(ValueError, match=rf"found {value} at sample 2, time step 4, feature 1"):
        to_sequences(X)


def test_zero_length_sequence():
    X = np.ones((3, 5, 2))
    X[1] = np.nan
    with pytest.raises(ValueError, match=r"X: .*length >= 1; found sample 1 with all values NaN"):
        to_sequences(X)


def test_allow_nan():
    X = np.ones((2, 4, 2))
    X[0, 1, 0] = np.nan
    X[1] = np.nan
    data = to_sequences(X, allow_nan=True)
    np.testing.assert_array_equal(data.lengths, [4, 0])
    X[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="found inf"):
        to_sequences(X, allow_nan=True)


def test_dataset_with_feature_dim_already():
    ds = xr.Dataset({"a": (("time", "feature"), np.ones((2, 2)))})
    with pytest.raises(ValueError, match=r"already has a dim"):
        to_sequences(ds)


# --- Targets and labels ----------------------------------------------------------------------


def test_targets_numpy():
    data = to_sequences(np.ones((4, 3, 2)))
    y = np.arange(4.0)
    t = to_targets(y, data, per_step=False)
    assert t.values.shape == (4, 1) and t.names is None
    assert not np.shares_memory(t.values, y)
    assert to_targets(np.ones((4, 2), dtype=int), data, per_step=False).values.shape == (4, 2)
    assert to_targets(np.ones((4, 3)), data, per_step=True).values.shape == (4, 3, 1)
    assert to_targets(np.ones((4, 3, 2)), data, per_step=True).values.dtype == np.float64


def test_targets_errors():
    data = to_sequences(np.ones((4, 3, 2)))
    with pytest.raises(ValueError, match=r"y: found 5 samples, but X has 4 samples"):
        to_targets(np.ones(5), data, per_step=False)
    with pytest.raises(ValueError, match=r"y: found 2 time steps, but X has 3 time steps"):
        to_targets(np.ones((4, 2)), data, per_step=True)
    with pytest.raises(ValueError, match=r"y: expected shape .*found ndim=3"):
        to_targets(np.ones((4, 3, 1)), data, per_step=False)
    y = np.ones(4)
    y[2] = np.nan
    with pytest.raises(ValueError, match=r"y: expected finite values; found nan at sample 2"):
        to_targets(y, data, per_step=False)
    y = np.ones((4, 3))
    y[1, 2] = np.nan
    assert np.isnan(to_targets(y, data, per_step=True).values[1, 2, 0])  # missing observation
    with pytest.raises(ValueError, match=r"found nan at sample 1, time step 2, output 0"):
        to_targets(y, data, per_step=True, allow_nan=False)
    y[0, 1] = np.inf
    with pytest.raises(ValueError, match=r"found inf at sample 0, time step 1"):
        to_targets(y, data, per_step=True)
    with pytest.raises(TypeError, match=r"y: expected numeric"):
        to_targets(np.array(["a"] * 4), data, per_step=False)


def test_targets_dataarray_aligned_by_name_and_label():
    da = make_dataarray()
    data = to_sequences(da)
    target = da.isel(feature=0, time=0, drop=True)  # (member, station)
    # another dim order and another station order: aligned by name and by label
    y = target.transpose("station", "member").sortby("station")
    y = y.expand_dims(target=["speed"], axis=0)
    t = to_targets(y, data, per_step=False)
    assert t.values.shape == (6, 1)
    np.testing.assert_array_equal(t.values[:, 0], target.values.ravel())
    assert list(t.names) == ["speed"]

    # per step; a Dataset's variables are the outputs
    ds = da.drop_vars("units").to_dataset(dim="feature")
    t = to_targets(ds, data, per_step=True)
    assert t.values.shape == (6, 5, 2) and list(t.names) == ["u", "v"]
    np.testing.assert_array_equal(t.values, data.values)


def test_targets_dataarray_errors():
    da = make_dataarray()
    data = to_sequences(da)
    y = da.isel(feature=0, time=0, drop=True)
    with pytest.raises(ValueError, match=r"missing \('member',\)"):
        to_targets(y.isel(member=0, drop=True), data, per_step=False)
    with pytest.raises(ValueError, match=r"found 2 entries along 'station', but X has 3"):
        to_targets(y.isel(station=[0, 1]), data, per_step=False)
    with pytest.raises(ValueError, match=r"labels of dim 'station' do not match"):
        to_targets(y.assign_coords(station=["x", "y", "z"]), data, per_step=False)
    with pytest.raises(ValueError, match=r"time dim 'time', but per_step=False"):
        to_targets(da.isel(feature=0), data, per_step=False)
    with pytest.raises(ValueError, match=r"at most one dim"):
        to_targets(y.expand_dims(a=2, b=2), data, per_step=False)


def test_labels():
    data = to_sequences(np.ones((3, 4, 1)))
    labels = to_labels(["a", "b", "a"], data, per_step=False)
    assert labels.shape == (3,) and labels.dtype.kind == "U"
    with pytest.warns(Warning, match="column-vector"):
        assert to_labels(np.array([[1], [2], [3]]), data, per_step=False).shape == (3,)
    with pytest.raises(ValueError, match=(r"y: expected a label for every sample; found none "
                                          r"at sample 1")):
        to_labels(np.array(["a", None, "b"], dtype=object), data, per_step=False)
    with pytest.raises(ValueError, match=r"y: found 2 samples, but X has 3"):
        to_labels([1, 2], data, per_step=False)
    with pytest.raises(ValueError, match=r"shape \(n_samples,\) with per_step=False"):
        to_labels(np.ones((3, 2)), data, per_step=False)
    step = np.array([["a", "b", None, None]] * 3, dtype=object)
    labels = to_labels(step, data, per_step=True)
    assert labels.shape == (3, 4) and labels[0, 2] is None
    with pytest.raises(ValueError, match=r"y: found 3 time steps, but X has 4"):
        to_labels(np.ones((3, 3)), data, per_step=True)


def test_labels_dataarray():
    da = make_dataarray()
    data = to_sequences(da)
    y = xr.DataArray(np.array(list("abcdef")).reshape(3, 2), dims=("station", "member"),
                     coords={"station": ["s2", "s0", "s1"]})
    np.testing.assert_array_equal(to_labels(y, data, per_step=False), list("acebdf"))
    with pytest.raises(ValueError, match="extra dims"):
        to_labels(y.expand_dims(k=2), data, per_step=False)


def test_wrap_output_rejects_clashing_output_dim():
    data = to_sequences(make_dataarray())
    with pytest.raises(ValueError, match="output_dim"):
        wrap_output(np.ones((6, 1)), data, per_step=False, output_dim="station")


# --- Dask --------------------------------------------------------------------------------------


def sum_over_time(values):
    """Dummy model: NaN-aware sum over time, for any leading sample dims."""
    return np.nansum(values, axis=-2)


def test_dask_lazy_equals_eager():
    pytest.importorskip("dask.array")
    da = make_dataarray()
    lazy_input = da.chunk({"member": 1, "time": 2})  # time must be rechunked to one chunk
    assert is_dask(lazy_input) and not is_dask(da) and not is_dask(da.values)

    out = apply_lazily(sum_over_time, lazy_input, per_step=False, n_outputs=2,
                       output_names=["a", "b"])
    assert is_dask(out)
    assert out.dims == ("member", "station", "output")
    assert out.chunks[0] == (1, 1)

    data = to_sequences(da)
    eager = wrap_output(sum_over_time(data.values), data, per_step=False, output_names=["a", "b"])
    xr.testing.assert_allclose(out.compute(), eager)
    assert out.attrs == da.attrs

    cumsum = lambda v: np.cumsum(v, axis=-2)[..., :1]  # noqa: E731
    out = apply_lazily(cumsum, lazy_input, per_step=True, n_outputs=1)
    assert out.dims == ("member", "station", "time", "output")
    expected = wrap_output(cumsum(data.values), data, per_step=True)
    xr.testing.assert_allclose(out.compute(), expected)


def test_dask_bare_array_and_dataset():
    dask_array = pytest.importorskip("dask.array")
    X = RNG.normal(size=(4, 3, 2))
    lazy = dask_array.from_array(X, chunks=(2, 3, 2))
    out = apply_lazily(sum_over_time, lazy, per_step=False, n_outputs=2)
    assert is_dask(out)
    np.testing.assert_allclose(out.compute(), X.sum(1))

    ds = make_dataarray().drop_vars("units").to_dataset(dim="feature").chunk({"member": 1})
    out = apply_lazily(sum_over_time, ds, per_step=False, n_outputs=2)
    np.testing.assert_allclose(out.compute().values, np.nansum(to_sequences(ds).values, 1)
                               .reshape(2, 3, 2))


def test_chunk_sequences_name_the_sample_and_step_of_the_whole_array():
    values = RNG.normal(size=(3, 5, 2))
    values[1, 1, 0] = np.nan
    with pytest.raises(ValueError, match=re.escape(
            "found nan at sample 11, time step 1, feature 0 inside the sequence (length 5)")):
        chunk_sequences(values, sample_ids=np.array([10, 11, 12]))
    with pytest.raises(ValueError, match=re.escape(
            "found nan at sample 11, time step 21, feature 0 inside the sequence (length at "
            "least 25)")):
        chunk_sequences(values, sample_ids=np.array([10, 11, 12]), step_offset=20, piece=True)
    # a piece may hold records with no valid step; the lengths are the piece's
    values = RNG.normal(size=(3, 5, 2))
    values[0] = np.nan
    values[2, 3:] = np.nan
    data = chunk_sequences(values, step_offset=5, piece=True)
    np.testing.assert_array_equal(data.lengths, [0, 5, 3])
    with pytest.raises(ValueError, match="found sample 0 with all values NaN"):
        chunk_sequences(values)
    # a record that ended in an earlier piece (at step 2) and has values again
    with pytest.raises(ValueError, match=re.escape(
            "found nan at sample 1, time step 2, feature 0 inside the sequence (length at "
            "least 10)")):
        chunk_sequences(values, step_offset=5, piece=True, ended_at=np.array([0, 2, 5]))


def test_predict_lazily_names_the_model_once():
    """The model object is one key of the graph and every task names it."""
    dask_array = pytest.importorskip("dask.array")
    cloudpickle = pytest.importorskip("cloudpickle")
    weights = RNG.normal(size=(2, 200_000))      # a large "model"
    lazy = dask_array.from_array(RNG.normal(size=(8, 4, 2)), chunks=(1, 4, 2))

    def predict(model, data, initial_state, return_state):
        return data.values.sum(axis=1) @ model[:, :3]

    out = predict_lazily(weights, predict, lazy, per_step=False, n_outputs=3)
    sizes = [len(cloudpickle.dumps(task)) for task in dict(out.__dask_graph__()).values()]
    assert len(sizes) >= 16 and sum(sizes) < 1.5 * weights.nbytes
    np.testing.assert_allclose(out.compute(), lazy.compute().sum(axis=1) @ weights[:, :3])


# --- reading without a copy, checks over chunks of samples -----------------------------------


def test_copy_false_reads_float_data_as_they_are():
    """``copy=False`` gives float32 and float64 NumPy data (and a DataArray's own array) as
    they are, never changed; other dtypes are converted to `dtype` as with a copy."""
    for dtype in (np.float32, np.float64):
        X = RNG.normal(size=(3, 4, 2)).astype(dtype)
        before = X.copy()
        data = to_sequences(X, copy=False)
        assert data.values is X and data.values.dtype == dtype
        np.testing.assert_array_equal(X, before)
        da = xr.DataArray(X, dims=("sample", "time", "feature"))
        assert np.shares_memory(to_sequences(da, copy=False).values, X)
        assert not np.shares_memory(to_sequences(X).values, X)
    ints = np.arange(24).reshape(3, 4, 2)
    data = to_sequences(ints, copy=False)
    assert data.values.dtype == np.float64 and not np.shares_memory(data.values, ints)


def test_lengths_and_errors_over_chunks_equal_the_whole_array(monkeypatch):
    """Checked in chunks of two samples, the lengths are the same and the error names the first
    bad value in C order, in a later chunk too."""
    from seqlstm.data import batches

    X = RNG.normal(size=(7, 5, 2))
    X[1, 3:] = np.nan
    X[6, 1:] = np.nan
    whole = to_sequences(X).lengths
    monkeypatch.setattr(batches, "CHUNK_BYTES", 8 * 2 * 5 * 2)
    np.testing.assert_array_equal(to_sequences(X).lengths, whole)
    np.testing.assert_array_equal(whole, [5, 3, 5, 5, 5, 5, 1])
    X[5, 2, 1] = np.inf
    X[4, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"X: expected finite values; found nan at sample 4, "
                                         r"time step 3, feature 0 inside the sequence"):
        to_sequences(X)
    X[4, 3, 0] = 1.0
    with pytest.raises(ValueError, match=r"found inf at sample 5, time step 2, feature 1"):
        to_sequences(X)
