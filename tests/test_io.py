"""Tests of seqlstm.io: netCDF model files."""

import json
import os
import pickle

import numpy as np
import pytest
import xarray as xr
from sklearn.exceptions import NotFittedError

import seqlstm.io
from _files import write_back
from seqlstm.estimators import LSTMClassifier, LSTMRegressor
from seqlstm.io import FORMAT_VERSION, load, save

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def data(n=20, T=6, seed=0):
    rng = np.random.default_rng(seed)
    X = xr.DataArray(rng.normal(size=(n, T, 2)), dims=("sample", "time", "feature"),
                     coords={"feature": ["u", "v"]})
    X[::4, -2:] = np.nan
    y = X.sel(feature="u").sum("time")
    return X, y


@pytest.mark.parametrize("params", [
    dict(),
    dict(cell="gru", bidirectional=True, num_layers=2, dtype="float64", tbptt=(2, 4)),
    dict(loss="gaussian", standardize=False, early_stopping=True, validation_fraction=0.25),
    dict(early_stopping="loss", learning_rate="plateau", warmup=1, validation_split="time"),
])
def test_regressor_round_trip_bit_identical(tmp_path, params):
    X, y = data()
    model = LSTMRegressor(hidden_size=3, max_iter=2, random_state=0, **params).fit(X, y)
    path = tmp_path / "model.nc"
    model.save(path)
    loaded = load(path)
    assert type(loaded) is LSTMRegressor
    assert loaded.get_params() == model.get_params()
    xr.testing.assert_identical(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.network_.params, model.network_.params)
    assert loaded.network_.params.dtype == model.network_.params.dtype
    for attr in ("n_features_in_", "n_outputs_", "n_iter_", "t_", "loss_", "loss_curve_",
                 "best_loss_", "validation_scores_", "best_validation_score_",
                 "validation_loss_curve_", "best_validation_loss_", "learning_rate_curve_",
                 "stop_reason_"):
        assert getattr(loaded, attr) == getattr(model, attr), attr
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    if params.get("loss") == "gaussian":
        for a, b in zip(loaded.predict(X, return_std=True), model.predict(X, return_std=True)):
            xr.testing.assert_identical(a, b)
    # A loaded model keeps training (partial_fit excludes early stopping, as in MLPRegressor).
    loaded.set_params(early_stopping=False).partial_fit(X, y)
    assert loaded.n_iter_ == model.n_iter_ + 1
    assert len(loaded.loss_curve_) == len(model.loss_curve_) + 1


def test_file_written_before_schedules_and_stop_reasons_still_loads(tmp_path):
    X, y = data()
    model = LSTMRegressor(hidden_size=3, max_iter=2, learning_rate="constant",
                          random_state=0).fit(X, y)
    path = tmp_path / "model.nc"
    model.save(path)
    # Rewrite the file as the first version of format 1 wrote it: without the later
    # hyperparameters, the learning-rate curve, the validation loss and the stop reason.
    variables, attrs, _ = seqlstm.io.read_netcdf(path)
    assert "learning_rate_curve" in variables and "hp_learning_rate" in attrs
    del variables["learning_rate_curve"]
    for key in ("learning_rate", "warmup", "plateau_patience", "plateau_factor",
                "validation_split"):
        del attrs[f"hp_{key}"]
    fitted = json.loads(attrs["fitted_json"])
    del fitted["best_validation_loss_"], fitted["stop_reason_"]
    attrs["fitted_json"] = json.dumps(fitted)
    attrs["sha256"] = seqlstm.io._checksum(variables)
    old = tmp_path / "old.nc"
    write_back(old, variables, attrs, path)
    loaded = load(old)
    xr.testing.assert_identical(loaded.predict(X), model.predict(X))
    assert loaded.learning_rate == "constant" and loaded.validation_split == "random"
    assert loaded.stop_reason_ is None and loaded.validation_loss_curve_ is None
    assert len(loaded.learning_rate_curve_) == 2 and np.isnan(loaded.learning_rate_curve_).all()
    assert loaded.loss_curve_ == model.loss_curve_
    loaded.partial_fit(X, y)  # and it keeps training
    assert loaded.n_iter_ == 3 and loaded.learning_rate_curve_[-1] == model.learning_rate_init


def _sine_record(n=80):
    return np.sin(np.arange(n) / 3.0) + 0.1 * np.random.default_rng(0).standard_normal(n)


def test_forecaster_round_trip_keeps_schedule_stopping_and_chrono(tmp_path):
    from seqlstm import LSTMForecaster

    y = _sine_record()
    model = LSTMForecaster(lookback=6, horizon=2, decoder="per_step", hidden_size=4,
                           max_iter=6, batch_size=16, learning_rate="plateau", warmup=1,
                           plateau_patience=1, plateau_factor=0.25, chrono_t_max="auto",
                           early_stopping="loss",
                           n_iter_no_change=2, random_state=0).fit(y)
    path = tmp_path / "forecaster.nc"
    model.save(path)
    loaded = load(path)
    assert loaded.get_params() == model.get_params()
    assert loaded.chrono_t_max_ == model.chrono_t_max_ == 8      # lookback + horizon
    for attr in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
                 "validation_loss_curve_", "best_validation_loss_", "learning_rate_curve_",
                 "stop_reason_", "n_iter_", "t_"):
        assert getattr(loaded, attr) == getattr(model, attr), attr
    assert loaded.validation_loss_curve_ is not None and loaded.stop_reason_ is not None
    np.testing.assert_array_equal(loaded.predict(y), model.predict(y))


def test_forecaster_file_written_before_shared_training_refits_as_it_was_trained(tmp_path):
    """A forecaster file from before the shared training (no ``learning_rate``, ``warmup``,
    ``plateau_*``, ``chrono_t_max`` attributes nor a fitted chrono) loads with a constant
    rate, no chrono, and refits exactly as that forecaster trained (its constant rate)."""
    from seqlstm import LSTMForecaster

    y = _sine_record()
    params = dict(lookback=6, horizon=2, hidden_size=4, max_iter=3, batch_size=16,
                  learning_rate_init=1e-3, random_state=0)
    model = LSTMForecaster(learning_rate="constant", **params).fit(y)
    path = tmp_path / "forecaster.nc"
    model.save(path)
    variables, attrs, _ = seqlstm.io.read_netcdf(path)
    for key in ("learning_rate", "warmup", "plateau_patience", "plateau_factor",
                "chrono_t_max"):
        del attrs[f"hp_{key}"]
    fitted = json.loads(attrs["fitted_json"])
    del fitted["chrono_t_max"]
    attrs["fitted_json"] = json.dumps(fitted)
    old = tmp_path / "old.nc"
    write_back(old, variables, attrs, path)
    loaded = load(old)
    assert loaded.learning_rate == "constant" and loaded.warmup == 0
    assert loaded.chrono_t_max is None and loaded.chrono_t_max_ is None
    np.testing.assert_array_equal(loaded.predict(y), model.predict(y))
    refit = loaded.fit(y)
    np.testing.assert_array_equal(refit.network_.get_flat(), model.network_.get_flat())
    assert refit.learning_rate_curve_ == [1e-3] * 3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_forecaster_file_written_before_quantiles_still_loads(tmp_path):
    """A forecaster file from before ``quantiles`` existed (its loss "mse" or "gaussian")
    loads with the default levels, which such a model never reads, and forecasts as before."""
    from seqlstm import LSTMForecaster

    y = np.sin(np.arange(60) / 3.0)
    model = LSTMForecaster(lookback=5, horizon=2, loss="gaussian", hidden_size=3, max_iter=2,
                           random_state=0).fit(y)
    path, old = tmp_path / "model.nc", tmp_path / "old.nc"
    model.save(path)
    variables, attrs, _ = seqlstm.io.read_netcdf(path)
    assert json.loads(attrs.pop("hp_quantiles")) == [0.1, 0.5, 0.9]
    write_back(old, variables, attrs, path)
    loaded = load(old)
    for a, b in zip(loaded.predict(y), model.predict(y)):
        np.testing.assert_array_equal(a, b)
    assert loaded.quantiles == (0.1, 0.5, 0.9) and loaded.loss == "gaussian"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_array_params_are_stored_as_json_lists(tmp_path):
    """Quantile levels given as a NumPy array (or a tuple of NumPy floats) are saved as a JSON
    list and come back as a tuple of floats; the forecasts are the same bits."""
    from seqlstm import LSTMForecaster

    y = np.sin(np.arange(60) / 3.0)
    for levels in (np.array([0.25, 0.5, 0.75]), tuple(np.array([0.25, 0.5, 0.75]))):
        model = LSTMForecaster(lookback=5, loss="quantile", quantiles=levels, hidden_size=3,
                               max_iter=2, random_state=0).fit(y)
        model.save(tmp_path / "q.nc")
        loaded = load(tmp_path / "q.nc")
        assert loaded.quantiles == (0.25, 0.5, 0.75)
        assert all(type(v) is float for v in loaded.quantiles)
        np.testing.assert_array_equal(loaded.predict(y), model.predict(y))


def _as_older_writer(path, out, prefixes=("",)):
    """Rewrite the model file `path` to `out` as the writer before frames (b72a382) did: no
    ``hp_frame_stride`` (nor ``template_hp_frame_stride``) attribute and no ``frame_stride``
    in ``fitted_json``; the checksum recomputed as that writer computed it."""
    variables, attrs, _ = seqlstm.io.read_netcdf(path)
    found = 0
    for key in list(attrs):
        if key.endswith("hp_frame_stride"):
            del attrs[key]
            found += 1
        elif key.endswith("fitted_json"):
            fitted = json.loads(attrs[key])
            del fitted["frame_stride"]
            attrs[key] = json.dumps(fitted)
            found += 1
    assert found >= 2  # the current writer stores both: this rewrite removes something real
    numeric = {k: v for k, v in variables.items() if not k.endswith(
        ("feature_names_in", "output_names"))}
    attrs["sha256"] = seqlstm.io._checksum(numeric)
    write_back(out, variables, attrs, path)


@pytest.mark.parametrize("ensemble", [False, True])
def test_file_written_before_frames_reads_every_step(tmp_path, ensemble):
    """A file from before frames (no frame_stride anywhere) is a model that read every step:
    it loads with frame_stride=1, as its pickle does, not with today's default "auto"."""
    from sklearn.base import clone

    from seqlstm import SeedEnsemble

    X, y = data(n=12, T=80)  # longer than 64 steps: "auto" would read frames
    model = LSTMRegressor(hidden_size=3, max_iter=1, random_state=0, frame_stride=1)
    if ensemble:
        model = SeedEnsemble(model, n_estimators=2, random_state=0)
    model.fit(X, y)
    model.save(tmp_path / "model.nc")
    _as_older_writer(tmp_path / "model.nc", tmp_path / "old.nc")
    loaded = load(tmp_path / "old.nc")
    params = {k: v for k, v in model.get_params().items() if k != "estimator"}
    assert {k: v for k, v in loaded.get_params().items() if k != "estimator"} == params
    members = loaded.estimators_ if ensemble else [loaded]
    for member in members:
        assert member.frame_stride == 1 and member.frame_stride_ == 1
        assert member.network_.input_size == 2
    xr.testing.assert_identical(loaded.predict(X), model.predict(X))
    refit = clone(loaded).fit(X, y)  # refitting the loaded model trains as the old one did
    xr.testing.assert_identical(refit.predict(X), model.predict(X))


@pytest.mark.parametrize("reading", [None, "series", "features"])
def test_input_2d_round_trips(tmp_path, reading):
    X2 = np.random.default_rng(4).normal(size=(16, 5))
    y = X2.sum(axis=1)
    X = X2[:, :, None] if reading != "features" else X2[:, None, :]
    model = LSTMRegressor(hidden_size=3, max_iter=2, random_state=0, input_2d=reading)
    model.fit(X2 if reading else X, y)
    model.save(tmp_path / "m.nc")
    loaded = load(tmp_path / "m.nc")
    assert loaded.input_2d == reading
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if reading is None:
        with pytest.raises(ValueError, match="input_2d"):
            loaded.predict(X2)
    else:
        np.testing.assert_array_equal(loaded.predict(X2), model.predict(X2))


def test_file_written_before_input_2d_reads_2d_as_it_did(tmp_path):
    # models saved before input_2d read 2-D X as (n_samples, n_features): they keep doing so
    X = np.random.default_rng(5).normal(size=(16, 4))
    y = X @ [1.0, -1.0, 0.5, 0.0]
    model = LSTMRegressor(hidden_size=3, max_iter=2, random_state=0,
                          input_2d="features").fit(X, y)
    model.save(tmp_path / "model.nc")
    variables, attrs, _ = seqlstm.io.read_netcdf(tmp_path / "model.nc")
    del attrs["hp_input_2d"]
    old = tmp_path / "old.nc"
    write_back(old, variables, attrs, tmp_path / "model.nc")
    loaded = load(old)
    assert loaded.input_2d == "features"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X[:, None, :]))


@pytest.mark.parametrize("labels", [["cat", "dog"], [3, 7], [False, True], [-1.0, 2.0]])
def test_classifier_round_trip_keeps_class_types(tmp_path, labels):
    X, y = data()
    target = np.where(y.values > 0, labels[1], labels[0])
    model = LSTMClassifier(hidden_size=3, max_iter=2, random_state=0).fit(X.values, target)
    save(model, tmp_path / "clf.nc")
    loaded = load(tmp_path / "clf.nc")
    assert loaded.classes_.dtype == model.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.predict_proba(X.values), model.predict_proba(X.values))
    np.testing.assert_array_equal(loaded.predict(X.values), model.predict(X.values))


def test_file_is_plain_netcdf_readable_by_other_tools(tmp_path):
    X, y = data()
    model = LSTMRegressor(hidden_size=3, max_iter=2, random_state=0).fit(X, y)
    model.save(tmp_path / "m.nc")
    with xr.open_dataset(tmp_path / "m.nc", engine="scipy") as ds:
        assert ds.attrs["seqlstm_format_version"] == FORMAT_VERSION
        assert ds.attrs["estimator"] == "LSTMRegressor"
        assert ds.attrs["hp_hidden_size"] == "3"
        np.testing.assert_array_equal(ds["weight_ih_l0"].values,
                                      model.network_.named_parameters()["weight_ih_l0"])
        np.testing.assert_array_equal(ds["x_mean"].values, model.x_mean_)
    from scipy.io import netcdf_file

    with netcdf_file(tmp_path / "m.nc", "r", mmap=False) as f:
        assert "head_weight" in f.variables


def test_no_pickle_is_ever_used(tmp_path, monkeypatch):
    X, y = data()
    model = LSTMRegressor(hidden_size=3, max_iter=1, random_state=0).fit(X, y)

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "dumps", forbidden)
    monkeypatch.setattr(pickle, "dump", forbidden)
    model.save(tmp_path / "m.nc")
    load(tmp_path / "m.nc")
    with open(tmp_path / "m.nc", "rb") as f:
        assert f.read(3) == b"CDF"


def test_atomic_write_leaves_old_file_and_no_temporaries(tmp_path, monkeypatch):
    X, y = data()
    model = LSTMRegressor(hidden_size=3, max_iter=1, random_state=0).fit(X, y)
    path = tmp_path / "m.nc"
    model.save(path)
    before = path.read_bytes()
    real = seqlstm.io.write_netcdf

    def failing(tmp, variables, attrs):
        real(tmp, variables, attrs)
        with open(tmp, "r+b") as f:  # a half-written file...
            f.truncate(100)
        raise OSError("disk full")  # ...then the failure

    monkeypatch.setattr(seqlstm.io, "write_netcdf", failing)
    other = LSTMRegressor(hidden_size=3, max_iter=1, random_state=1).fit(X, y)
    with pytest.raises(OSError, match="disk full"):
        other.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.nc"]
    monkeypatch.undo()
    other.save(path)
    assert path.read_bytes() != before
    assert os.listdir(tmp_path) == ["m.nc"]


def test_truncated_corrupted_and_foreign_files(tmp_path):
    X, y = data()
    model = LSTMRegressor(hidden_size=3, max_iter=1, random_state=0).fit(X, y)
    path = tmp_path / "m.nc"
    model.save(path)
    raw = path.read_bytes()

    truncated = tmp_path / "truncated.nc"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated, corrupted or of another format"):
        load(truncated)

    # Flip one byte inside the stored weights (netCDF3 stores big-endian values).
    weights = model.network_.named_parameters()["weight_hh_l0"]
    offset = raw.find(np.asarray(weights, dtype=">f4").tobytes())
    assert offset > 0
    flipped = bytearray(raw)
    flipped[offset + 5] ^= 0x40
    corrupted = tmp_path / "corrupted.nc"
    corrupted.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="do not match their checksum; .* is corrupted"):
        load(corrupted)
    # Likewise inside the scaling statistics.
    offset = raw.find(np.asarray(model.x_scale_, dtype=">f8").tobytes())
    flipped = bytearray(raw)
    flipped[offset + 3] ^= 0x01
    corrupted.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="checksum"):
        load(corrupted)

    text = tmp_path / "notes.nc"
    text.write_text("just some text\n")
    with pytest.raises(ValueError, match="cannot be read as netCDF"):
        load(text)

    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"t2m": ("time", np.arange(3.0))}).to_netcdf(foreign, engine="scipy")
    with pytest.raises(ValueError, match="not a seqlstm model"):
        load(foreign)

    newer = tmp_path / "newer.nc"
    with xr.open_dataset(path, engine="scipy") as ds:
        ds = ds.load()
    ds.attrs["seqlstm_format_version"] = FORMAT_VERSION + 1
    ds.to_netcdf(newer, engine="scipy")
    with pytest.raises(ValueError, match=f"format version <= {FORMAT_VERSION}; found"):
        load(newer)

    with pytest.raises(FileNotFoundError, match="no such model file"):
        load(tmp_path / "missing.nc")


def test_weights_changed_with_a_netcdf_tool_fail_the_checksum(tmp_path):
    X, y = data()
    model = LSTMRegressor(hidden_size=3, max_iter=1, random_state=0).fit(X, y)
    path = tmp_path / "m.nc"
    model.save(path)
    with xr.open_dataset(path, engine="scipy") as ds:
        ds = ds.load()
    ds["head_bias"] = ds["head_bias"] + 1
    ds.to_netcdf(tmp_path / "edited.nc", engine="scipy")
    with pytest.raises(ValueError, match="checksum"):
        load(tmp_path / "edited.nc")


def test_save_errors(tmp_path):
    with pytest.raises(NotFittedError):
        LSTMRegressor().save(tmp_path / "m.nc")
    with pytest.raises(TypeError, match="estimator: expected a seqlstm estimator"):
        save(object(), tmp_path / "m.nc")
    assert os.listdir(tmp_path) == []


def test_forecaster_file_written_before_lookback_auto_and_padding_loads_as_it_was(tmp_path):
    from seqlstm import LSTMForecaster

    y = np.sin(np.arange(60) / 3.0)
    model = LSTMForecaster(lookback=6, horizon=2, hidden_size=3, max_iter=2,
                           start_padding=False, random_state=0).fit(y)
    path = tmp_path / "model.nc"
    model.save(path)
    # Rewrite the file as the writer before lookback="auto" and start padding left it: no
    # season_length or start_padding hyperparameter, no fitted lookback, season length or
    # padding.
    variables, attrs, _ = seqlstm.io.read_netcdf(path)
    extra = json.loads(attrs["extra_json"])
    for key in ("lookback", "season_length", "start_padding"):
        del extra[key]
    del attrs["hp_season_length"], attrs["hp_start_padding"]
    attrs["extra_json"] = json.dumps(extra)
    old = tmp_path / "old.nc"
    write_back(old, variables, attrs, path)
    loaded = load(old)
    assert loaded.lookback == loaded.lookback_ == 6 and loaded.season_length_ is None
    assert loaded.start_padding is False and loaded.start_padding_ is False
    np.testing.assert_array_equal(loaded.predict(y), model.predict(y))
    with pytest.raises(ValueError, match="lookback: expected lookback = 6 steps at most"):
        loaded.forecast(y[:4], 2)                       # refused, as that model was


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_forecaster_file_written_before_decoder_loads_as_per_step(tmp_path):
    """A forecaster file from before ``decoder`` existed (no ``hp_decoder``) loads with the
    per-step decoder it was trained with, whatever the parameter's default ("direct" since
    2026-12-07), and predicts bit for bit as before."""
    from seqlstm import LSTMForecaster

    y = _sine_record()
    model = LSTMForecaster(lookback=6, horizon=2, hidden_size=3, max_iter=2, decoder="per_step",
                           window_norm="last", random_state=0).fit(y)
    path, old = tmp_path / "model.nc", tmp_path / "old.nc"
    model.save(path)
    variables, attrs, _ = seqlstm.io.read_netcdf(path)
    assert json.loads(attrs.pop("hp_decoder")) == "per_step"
    write_back(old, variables, attrs, path)
    assert LSTMForecaster().decoder == "direct"
    loaded = load(old)
    assert loaded.decoder == "per_step"
    np.testing.assert_array_equal(loaded.predict(y), model.predict(y))
    np.testing.assert_array_equal(loaded.forecast(y, 5), model.forecast(y, 5))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("loss", ["mse", "quantile"])
def test_forecaster_direct_decoder_round_trip_bit_identical(tmp_path, loss):
    from seqlstm import LSTMForecaster

    y = _sine_record(120)
    model = LSTMForecaster(lookback=8, horizon=4, decoder="direct", loss=loss, hidden_size=4,
                           max_iter=3, random_state=0).fit(y)
    path = tmp_path / "direct.nc"
    model.save(path)
    loaded = load(path)
    assert loaded.decoder == "direct" and loaded.network_.output_size == model.network_.output_size
    np.testing.assert_array_equal(loaded.predict(y), model.predict(y))
    np.testing.assert_array_equal(loaded.forecast(y, 9), model.forecast(y, 9))


@pytest.mark.parametrize("Est", [LSTMRegressor, LSTMClassifier])
def test_file_written_when_the_default_was_no_chrono_keeps_it(tmp_path, Est):
    """Issue 19 made chrono_t_max="auto" the default.  A file written before stores the value it
    was fitted with (None, the default then): it loads and refits with the plain initialisation,
    not with today's default; a file without the attribute at all does the same (older still)."""
    from sklearn.base import clone

    X, y = data()
    y = (y > 0) if Est is LSTMClassifier else y
    model = Est(hidden_size=3, max_iter=2, random_state=0, chrono_t_max=None).fit(X, y)
    assert Est().chrono_t_max == "auto" and model.chrono_t_max_ is None
    model.save(tmp_path / "model.nc")
    variables, attrs, _ = seqlstm.io.read_netcdf(tmp_path / "model.nc")
    assert json.loads(attrs["hp_chrono_t_max"]) is None      # stored, not left to the default
    loaded = load(tmp_path / "model.nc")
    assert loaded.chrono_t_max is None and loaded.chrono_t_max_ is None
    refit = clone(loaded).fit(X, y)
    np.testing.assert_array_equal(refit.network_.params, model.network_.params)
    auto = Est(hidden_size=3, max_iter=2, random_state=0).fit(X, y)   # today's default differs
    assert auto.chrono_t_max_ == 6
    assert not np.array_equal(auto.network_.params, model.network_.params)
