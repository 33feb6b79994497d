"""seqlstm.metrics._probabilistic (crps_gaussian, pinball_loss, gaussian_interval,
interval_coverage, gaussian_coverage): hand-computed values, the integral definition,
scoringrules and scikit-learn, NaN handling, xarray reductions, bad input."""

import math

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, stats

from metrics_data import P, Y, nan_case, no_warnings, stations  # noqa: F401 (a fixture)
from seqlstm import metrics


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


def test_nan_points_are_skipped(no_warnings):
    y, p, s = nan_case()
    for b in range(4):
        keep3 = ~np.isnan(y[b]) & ~np.isnan(p[b]) & ~np.isnan(s[b])
        assert metrics.crps_gaussian(y, p, s, axis=1)[b] == pytest.approx(
            metrics.crps_gaussian(y[b][keep3], p[b][keep3], s[b][keep3]))


def test_xarray_gaussian_scores():
    obs, sim = stations()
    std = xr.full_like(sim, 0.5)
    np.testing.assert_allclose(
        metrics.crps_gaussian(obs, sim, std, dim="time"),
        metrics.crps_gaussian(obs.values, sim.values, std.values, axis=1))
    np.testing.assert_allclose(
        metrics.gaussian_coverage(obs, sim, std, 0.9, dim="time"),
        metrics.gaussian_coverage(obs.values, sim.values, std.values, 0.9, axis=1))


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match=r"std has shape"):
        metrics.crps_gaussian(Y, P, np.ones(2))
    for bad in (0.0, 1.0, 1.5, -0.2, True, "0.8"):
        with pytest.raises(ValueError, match=r"coverage must be a number in the open interval"):
            metrics.gaussian_coverage(Y, Y, np.ones(4), bad)
        with pytest.raises(ValueError, match=r"coverage must be"):
            metrics.gaussian_interval(Y, np.ones(4), bad)
    with pytest.raises(ValueError, match=r"std must be >= 0"):
        metrics.crps_gaussian(Y, Y, -np.ones(4))


def test_pinball_loss_against_scikit_learn_and_by_hand(no_warnings):
    from sklearn.metrics import mean_pinball_loss

    rng = np.random.default_rng(0)
    y = rng.standard_normal((4, 5))
    q = np.sort(rng.standard_normal((4, 5, 3)), axis=-1)
    levels = (0.1, 0.5, 0.9)
    expect = np.mean([mean_pinball_loss(y.ravel(), q[..., k].ravel(), alpha=a)
                      for k, a in enumerate(levels)])
    assert metrics.pinball_loss(y, q, levels) == pytest.approx(expect, rel=1e-14)
    per_row = metrics.pinball_loss(y, q, levels, axis=1)
    assert per_row.shape == (4,)
    np.testing.assert_allclose(per_row, [metrics.pinball_loss(y[b], q[b], levels)
                                         for b in range(4)], rtol=1e-14)
    # the median alone: half the absolute error
    assert metrics.pinball_loss([1.0, -2.0], [[0.0], [0.0]], [0.5]) == 0.75
    # by hand: y = 0, q = 1 at level 0.2 costs 0.8; q = -1 costs 0.2
    assert metrics.pinball_loss(0.0, [1.0, -1.0], [0.2, 0.2]) == pytest.approx(0.5)
    # NaN pairs are skipped, one level at a time
    q[0, 0, 1] = np.nan
    y[1, 2] = np.nan
    full = metrics.pinball_loss(y, q, levels, axis=1)
    # row 0: 14 of the 15 (point, level) pairs, each its scikit-learn loss of one pair
    pairs = [mean_pinball_loss([y[0, i]], [q[0, i, k]], alpha=a)
             for i in range(5) for k, a in enumerate(levels) if (i, k) != (0, 1)]
    assert full[0] == pytest.approx(np.mean(pairs), rel=1e-13)
    # row 1: the point with a missing observation drops out at every level
    assert full[1] == pytest.approx(metrics.pinball_loss(np.delete(y[1], 2),
                                                         np.delete(q[1], 2, axis=0), levels),
                                    rel=1e-14)


def test_xarray_pinball_loss_reads_the_quantile_coordinate():
    obs, sim = stations()
    q = xr.concat([sim - 0.5, sim, sim + 0.5], dim="quantile").assign_coords(
        quantile=[0.1, 0.5, 0.9]).transpose("quantile", ...)
    got = metrics.pinball_loss(obs, q, dim="time")
    assert got.name == "pinball_loss" and got.dims == ("station",)
    np.testing.assert_allclose(
        got, metrics.pinball_loss(obs.values, np.moveaxis(q.values, 0, -1), (0.1, 0.5, 0.9),
                                  axis=1))
    assert float(metrics.pinball_loss(obs, q)) == pytest.approx(
        metrics.pinball_loss(obs.values, np.moveaxis(q.values, 0, -1), (0.1, 0.5, 0.9)))


def test_pinball_loss_bad_input_names_the_argument():
    y = np.zeros(3)
    with pytest.raises(ValueError, match="quantiles: expected the levels"):
        metrics.pinball_loss(y, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="quantiles: expected 2 levels in the open interval"):
        metrics.pinball_loss(y, np.zeros((3, 2)), [0.1, 1.0])
    with pytest.raises(ValueError, match="y_quantiles has shape"):
        metrics.pinball_loss(y, np.zeros((3,)), [0.5])
    with pytest.raises(ValueError, match="y_quantiles: expected a 'quantile' dim"):
        metrics.pinball_loss(xr.DataArray(y), xr.DataArray(y))
