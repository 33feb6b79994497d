"""seqlstm.metrics: hand-computed values, scikit-learn where they overlap, NaN handling, xarray
reductions over named dims, scorers and bad input."""

import math
import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, stats
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import KFold, cross_val_score

from seqlstm import metrics

# a tiny case worked by hand: y_true = [1, 2, 3], y_pred = [1.5, 2, 2] (a 4th pair has NaN)
Y = np.array([1.0, 2.0, 3.0, 4.0])
P = np.array([1.5, 2.0, 2.0, np.nan])


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


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


def test_gaussian_scores_by_hand(no_warnings):
    y = np.array([0.0, 1.0, 2.0, 3.0])
    mean = np.zeros(4)
    std = np.ones(4)
    z80 = stats.norm.ppf(0.9)     # 1.2816: 0 and 1 inside, 2 and 3 outside
    assert metrics.gaussian_coverage(y, mean, std, 0.8) == 0.5
    lower, upper = metrics.gaussian_interval(mean, std, 0.8)
    np.testing.assert_allclose(upper, z80)
    np.testing.assert_allclose(lower, -z80)
    assert metrics.interval_coverage(y, lower, upper) == 0.5
    assert metrics.interval_coverage(y, y - 1, y) == 1.0           # bounds are included
    # CRPS of N(0, s^2) at its mean: s * (sqrt(2) - 1) / sqrt(pi)
    c0 = (math.sqrt(2) - 1) / math.sqrt(math.pi)
    assert metrics.crps_gaussian(0.0, 0.0, 1.0) == pytest.approx(c0)
    assert metrics.crps_gaussian([0.0, 5.0], [0.0, 5.0], [1.0, 3.0]) == pytest.approx(2 * c0)
    # std 0: the absolute error (the limit)
    assert metrics.crps_gaussian([1.0, 2.0], [0.0, 0.0], [0.0, 0.0]) == 1.5


@pytest.mark.parametrize("y, mu, sigma", [(0.3, 0.0, 1.0), (-2.0, 1.0, 0.5), (10.0, 9.0, 4.0)])
def test_crps_against_its_integral_definition(y, mu, sigma):
    # CRPS(F, y) = integral of (F(x) - 1{x >= y})^2 dx
    def sq(x):
        return (stats.norm.cdf(x, mu, sigma) - (x >= y)) ** 2

    lo, hi = mu - 12 * sigma, mu + 12 * sigma
    value = integrate.quad(sq, lo, y)[0] + integrate.quad(sq, y, hi)[0]
    assert metrics.crps_gaussian(y, mu, sigma) == pytest.approx(value, rel=1e-7)


def test_crps_against_scoringrules():
    sr = pytest.importorskip("scoringrules")
    rng = np.random.default_rng(0)
    y, mu = rng.normal(size=(2, 50))
    sigma = rng.uniform(0.1, 3.0, size=50)
    expected = sr.crps_normal(y, mu, sigma)
    np.testing.assert_allclose(metrics.crps_gaussian(y, mu, sigma, axis=()), expected,
                               rtol=1e-12)


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
    rng = np.random.default_rng(2)
    y = rng.normal(size=(4, 30))
    p = y + rng.normal(scale=0.3, size=y.shape)
    s = rng.uniform(0.5, 1.5, size=y.shape)
    y[0, 3] = p[1, 5] = p[2, 0] = s[3, 7] = np.nan
    p[0, 3] = 1e300   # paired with a NaN observation: must never be read into a score
    for b in range(4):
        keep = ~np.isnan(y[b]) & ~np.isnan(p[b])
        yb, pb = y[b][keep], p[b][keep]
        assert metrics.mse(y, p, axis=1)[b] == pytest.approx(mean_squared_error(yb, pb))
        assert metrics.nse(y, p, axis=1)[b] == pytest.approx(r2_score(yb, pb))
        assert metrics.kge(y, p, axis=1)[b] == pytest.approx(metrics.kge(yb, pb))
        keep3 = keep & ~np.isnan(s[b])
        assert metrics.crps_gaussian(y, p, s, axis=1)[b] == pytest.approx(
            metrics.crps_gaussian(y[b][keep3], p[b][keep3], s[b][keep3]))
    assert np.isfinite(metrics.rmse(y, p))
    # nothing left, or an undefined efficiency: NaN, without warnings
    nan = np.full(3, np.nan)
    for f in (metrics.mse, metrics.rmse, metrics.mae, metrics.nse, metrics.kge):
        assert np.isnan(f(nan, np.ones(3)))
    assert np.isnan(metrics.nse(np.ones(3), np.arange(3.0)))       # constant observations
    assert np.isnan(metrics.kge(np.arange(3.0), np.ones(3)))       # constant forecast
    assert np.isnan(metrics.skill(np.arange(3.0), np.ones(3), np.arange(3.0)))  # perfect ref


def _stations():
    rng = np.random.default_rng(3)
    obs = rng.normal(size=(3, 20)) + np.arange(3)[:, None]
    sim = obs + rng.normal(scale=0.4, size=obs.shape)
    coords = {"station": ["a", "b", "c"], "time": np.arange(20)}
    attrs = {"units": "m3 s-1"}
    return (xr.DataArray(obs, dims=("station", "time"), coords=coords, attrs=attrs),
            xr.DataArray(sim, dims=("station", "time"), coords=coords, attrs=attrs))


@pytest.mark.parametrize("name", ["mse", "rmse", "mae", "nse", "kge"])
def test_xarray_reduces_named_dim_keeping_the_rest(name):
    obs, sim = _stations()
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


def test_xarray_gaussian_skill_and_persistence():
    obs, sim = _stations()
    std = xr.full_like(sim, 0.5)
    np.testing.assert_allclose(
        metrics.crps_gaussian(obs, sim, std, dim="time"),
        metrics.crps_gaussian(obs.values, sim.values, std.values, axis=1))
    np.testing.assert_allclose(
        metrics.gaussian_coverage(obs, sim, std, 0.9, dim="time"),
        metrics.gaussian_coverage(obs.values, sim.values, std.values, 0.9, axis=1))
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


def test_xarray_dask_stays_lazy():
    pytest.importorskip("dask")
    obs, sim = _stations()
    out = metrics.nse(obs.chunk(station=1), sim.chunk(station=1), dim="time")
    assert out.chunks is not None
    np.testing.assert_allclose(out.compute(), metrics.nse(obs, sim, dim="time"))


def test_scorers_in_scikit_learn():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 2))
    y = X @ np.array([1.0, -2.0]) + 3.0 + rng.normal(scale=0.1, size=60)
    cv = KFold(3)
    nse = cross_val_score(LinearRegression(), X, y, cv=cv, scoring=metrics.get_scorer("nse"))
    r2 = cross_val_score(LinearRegression(), X, y, cv=cv, scoring="r2")
    np.testing.assert_allclose(nse, r2)
    neg = cross_val_score(LinearRegression(), X, y, cv=cv,
                          scoring=metrics.get_scorer("neg_rmse"))
    np.testing.assert_allclose(
        neg, cross_val_score(LinearRegression(), X, y, cv=cv,
                             scoring="neg_root_mean_squared_error"))
    assert np.all(neg < 0)
    # directly on a fitted dummy: the training mean scores NSE 0, its losses come out negated
    dummy = DummyRegressor().fit(X, y)
    assert metrics.get_scorer("nse")(dummy, X, y) == pytest.approx(0.0, abs=1e-12)
    assert metrics.get_scorer("neg_mae")(dummy, X, y) == pytest.approx(
        -mean_absolute_error(y, np.full_like(y, y.mean())))
    # multi-output: per-output scores averaged, as scikit-learn's default
    Y2 = np.column_stack([y, 2 * y + rng.normal(size=60)])
    lin = LinearRegression().fit(X, Y2)
    assert metrics.get_scorer("nse")(lin, X, Y2) == pytest.approx(r2_score(Y2, lin.predict(X)))
    assert metrics.get_scorer("kge")(lin, X, Y2) == pytest.approx(
        np.mean(metrics.kge(Y2, lin.predict(X), axis=0)))
    signs = {name: metrics.SCORERS[name]._sign for name in metrics.SCORERS}
    assert signs == {"neg_mse": -1, "neg_rmse": -1, "neg_mae": -1, "nse": 1, "kge": 1}


def test_bad_input_names_the_argument():
    obs, sim = _stations()
    with pytest.raises(ValueError, match=r"y_pred has shape \(3,\) but y_true has shape \(4,\)"):
        metrics.rmse(Y, P[:3])
    with pytest.raises(ValueError, match=r"std has shape"):
        metrics.crps_gaussian(Y, P, np.ones(2))
    with pytest.raises(ValueError, match=r"dim='tim'.*'tim' not found.*\('station', 'time'\)"):
        metrics.nse(obs, sim, dim="tim")
    with pytest.raises(ValueError, match=r"time_dim='t' not found"):
        metrics.skill_persistence(obs, sim, 1, time_dim="t")
    with pytest.raises(ValueError, match=r"axis=2 is out of range"):
        metrics.mae(Y, Y, axis=2)
    with pytest.raises(TypeError, match=r"axis=1 is for NumPy input"):
        metrics.mae(obs, sim, axis=1)
    with pytest.raises(TypeError, match=r"dim='time' is for DataArray input"):
        metrics.mae(Y, Y, dim="time")
    with pytest.raises(TypeError, match=r"y_true is a DataArray but y_pred \(ndarray\) is not"):
        metrics.mae(obs, sim.values)
    with pytest.raises(ValueError, match="cannot align|exact"):
        metrics.mae(obs, sim.assign_coords(time=sim["time"] + 1))
    for bad in (0.0, 1.0, 1.5, -0.2, True, "0.8"):
        with pytest.raises(ValueError, match=r"coverage must be a number in the open interval"):
            metrics.gaussian_coverage(Y, Y, np.ones(4), bad)
        with pytest.raises(ValueError, match=r"coverage must be"):
            metrics.gaussian_interval(Y, np.ones(4), bad)
    with pytest.raises(ValueError, match=r"std must be >= 0"):
        metrics.crps_gaussian(Y, Y, -np.ones(4))
    with pytest.raises(ValueError, match=r"lead must be an integer >= 1"):
        metrics.skill_persistence(Y, Y, 0)
    with pytest.raises(ValueError, match=r"time_axis is required"):
        metrics.skill_persistence(obs.values, sim.values, 1)
    with pytest.raises(ValueError, match=r"climatology of shape \(2,\) does not broadcast"):
        metrics.skill_climatology(Y, Y, np.ones(2))
    with pytest.raises(ValueError, match=r"name must be one of"):
        metrics.get_scorer("r2")
