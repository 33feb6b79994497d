"""seqlstm.metrics._probabilistic (crps_gaussian, gaussian_interval, interval_coverage,
gaussian_coverage): hand-computed values, the integral definition and scoringrules, NaN
handling, xarray reductions, bad input."""

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
