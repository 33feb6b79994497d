"""seqlstm.metrics._point (mse, rmse, mae, nse, kge, skill, persistence): hand-computed values,
scikit-learn where they overlap, NaN handling, xarray reductions over named dims, bad input."""

import math

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from metrics_data import P, Y, nan_case, no_warnings, stations  # noqa: F401 (a fixture)
from seqlstm import metrics


def test_hand_computed_values(no_warnings):
    # errors 0.5, 0, 1 (the NaN pair skipped)
    assert metrics.mse(Y, P) == pytest.approx(1.25 / 3)
    assert metrics.rmse(Y, P) == pytest.approx(math.sqrt(1.25 / 3))
    assert metrics.mae(Y, P) == pytest.approx(0.5)
    # observed mean 2 over the kept pairs: SST = 2, SSE = 1.25
    assert metrics.nse(Y, P) == pytest.approx(1 - 1.25 / 2)
    # KGE 2009: r = sqrt(3)/2, alpha = std_s / std_o = sqrt(1/12), beta = (11/6) / 2
    r, alpha, beta = math.sqrt(3) / 2, math.sqrt(1 / 12), 11 / 12
    expected = 1 - math.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2)
    assert metrics.kge(Y, P) == pytest.approx(expected)


def test_persistence_and_skill_by_hand(no_warnings):
    # lead 1: persistence for valid times 1, 2 is y[0], y[1] = 1, 2 (t=0 has none, t=3 NaN
    # forecast): model errors 0, 1 -> MSE 0.5; persistence errors 1, 1 -> MSE 1
    np.testing.assert_array_equal(metrics.persistence(Y, 1), [np.nan, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(metrics.persistence(Y, 5), [np.nan] * 4)
    assert metrics.skill_persistence(Y, P, 1) == pytest.approx(0.5)
    # lead 2: only valid time 2 (ref y[0] = 1, error 2; model error 1): 1 - 1/4
    assert metrics.skill_persistence(Y, P, 2) == pytest.approx(0.75)
    # an explicit reference: 1 - MSE(P) / MSE(ref) over points where all three are present
    ref = np.array([2.0, np.nan, 1.0, 0.0])   # pairs 0, 2: model 0.25, 1; ref 1, 4
    assert metrics.skill(Y, P, ref) == pytest.approx(1 - 1.25 / 5)
    # climatology given (the mean of a training period, 2.5): ref errors 1.5, 0.5, 0.5
    assert metrics.skill_climatology(Y, P, 2.5) == pytest.approx(1 - (1.25 / 3) / (2.75 / 3))
    # default climatology: the observed mean of the evaluation period, i.e. NSE
    assert metrics.skill_climatology(Y, P) == metrics.nse(Y, P)


def test_agreement_with_scikit_learn():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(40, 3))
    p = y + rng.normal(scale=0.5, size=(40, 3))
    assert metrics.mse(y, p) == pytest.approx(mean_squared_error(y.ravel(), p.ravel()))
    assert metrics.mae(y, p) == pytest.approx(mean_absolute_error(y.ravel(), p.ravel()))
    assert metrics.nse(y, p) == pytest.approx(r2_score(y.ravel(), p.ravel()))
    raw = dict(multioutput="raw_values")
    np.testing.assert_allclose(metrics.mse(y, p, axis=0), mean_squared_error(y, p, **raw))
    np.testing.assert_allclose(metrics.rmse(y, p, axis=0),
                               np.sqrt(mean_squared_error(y, p, **raw)))
    np.testing.assert_allclose(metrics.mae(y, p, axis=0), mean_absolute_error(y, p, **raw))
    np.testing.assert_allclose(metrics.nse(y, p, axis=0), r2_score(y, p, **raw))


def test_nan_pairs_are_skipped(no_warnings):
    y, p, _ = nan_case()
    for b in range(4):
        keep = ~np.isnan(y[b]) & ~np.isnan(p[b])
        yb, pb = y[b][keep], p[b][keep]
        assert metrics.mse(y, p, axis=1)[b] == pytest.approx(mean_squared_error(yb, pb))
        assert metrics.nse(y, p, axis=1)[b] == pytest.approx(r2_score(yb, pb))
        assert metrics.kge(y, p, axis=1)[b] == pytest.approx(metrics.kge(yb, pb))
    assert np.isfinite(metrics.rmse(y, p))
    # nothing left, or an undefined efficiency: NaN, without warnings
    nan = np.full(3, np.nan)
    for f in (metrics.mse, metrics.rmse, metrics.mae, metrics.nse, metrics.kge):
        assert np.isnan(f(nan, np.ones(3)))
    assert np.isnan(metrics.nse(np.ones(3), np.arange(3.0)))       # constant observations
    assert np.isnan(metrics.kge(np.arange(3.0), np.ones(3)))       # constant forecast
    assert np.isnan(metrics.skill(np.arange(3.0), np.ones(3), np.arange(3.0)))  # perfect ref


@pytest.mark.parametrize("name", ["mse", "rmse", "mae", "nse", "kge"])
def test_xarray_reduces_named_dim_keeping_the_rest(name):
    obs, sim = stations()
    f = getattr(metrics, name)
    out = f(obs, sim, dim="time")
    assert out.dims == ("station",)
    assert out.name == name
    assert out.attrs == {}
    assert list(out["station"].values) == ["a", "b", "c"]
    np.testing.assert_allclose(out.values, f(obs.values, sim.values, axis=1))
    # dims matched by name, not position
    np.testing.assert_allclose(f(obs, sim.transpose("time", "station"), dim="time"), out)
    np.testing.assert_allclose(f(obs, sim, dim="station"), f(obs.values, sim.values, axis=0))
    # all dims, or a list of them: a 0-d DataArray
    whole = f(obs, sim)
    assert whole.dims == ()
    assert float(whole) == pytest.approx(f(obs.values, sim.values))
    assert float(f(obs, sim, dim=["time", "station"])) == pytest.approx(float(whole))


def test_xarray_skill_and_persistence():
    obs, sim = stations()
    np.testing.assert_array_equal(metrics.persistence(obs, 2).values,
                                  metrics.persistence(obs.values, 2, time_axis=1))
    np.testing.assert_allclose(
        metrics.skill_persistence(obs, sim, 2, dim="time"),
        metrics.skill_persistence(obs.values, sim.values, 2, time_axis=1, axis=1))
    # per-station climatology from another period, broadcast along time
    clim = obs.isel(time=slice(0, 5)).mean("time")
    np.testing.assert_allclose(
        metrics.skill_climatology(obs, sim, clim, dim="time"),
        metrics.skill_climatology(obs.values, sim.values, clim.values[:, None], axis=1))
    np.testing.assert_allclose(metrics.skill_climatology(obs, sim, dim="time"),
                               metrics.nse(obs, sim, dim="time"))


def test_bad_input_names_the_argument():
    obs, sim = stations()
    with pytest.raises(ValueError, match=r"y_pred has shape \(3,\) but y_true has shape \(4,\)"):
        metrics.rmse(Y, P[:3])
    with pytest.raises(ValueError, match=r"time_dim='t' not found"):
        metrics.skill_persistence(obs, sim, 1, time_dim="t")
    with pytest.raises(ValueError, match=r"lead must be an integer >= 1"):
        metrics.skill_persistence(Y, Y, 0)
    with pytest.raises(ValueError, match=r"time_axis is required"):
        metrics.skill_persistence(obs.values, sim.values, 1)
    with pytest.raises(ValueError, match=r"climatology of shape \(2,\) does not broadcast"):
        metrics.skill_climatology(Y, Y, np.ones(2))
