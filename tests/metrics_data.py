"""Shared data of the seqlstm.metrics tests (test_metrics_*.py): a tiny case worked by hand,
three stations of a labeled record, and a fixture that turns warnings into errors."""

import warnings

import numpy as np
import pytest
import xarray as xr

# a tiny case worked by hand: y_true = [1, 2, 3], y_pred = [1.5, 2, 2] (a 4th pair has NaN)
Y = np.array([1.0, 2.0, 3.0, 4.0])
P = np.array([1.5, 2.0, 2.0, np.nan])


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def stations():
    """Observed and simulated values of three stations over 20 steps, as DataArrays."""
    rng = np.random.default_rng(3)
    obs = rng.normal(size=(3, 20)) + np.arange(3)[:, None]
    sim = obs + rng.normal(scale=0.4, size=obs.shape)
    coords = {"station": ["a", "b", "c"], "time": np.arange(20)}
    attrs = {"units": "m3 s-1"}
    return (xr.DataArray(obs, dims=("station", "time"), coords=coords, attrs=attrs),
            xr.DataArray(sim, dims=("station", "time"), coords=coords, attrs=attrs))


def nan_case():
    """Four rows of observations, forecasts and standard deviations, with NaN in each kind
    and a huge forecast paired with a NaN observation."""
    rng = np.random.default_rng(2)
    y = rng.normal(size=(4, 30))
    p = y + rng.normal(scale=0.3, size=y.shape)
    s = rng.uniform(0.5, 1.5, size=y.shape)
    y[0, 3] = p[1, 5] = p[2, 0] = s[3, 7] = np.nan
    p[0, 3] = 1e300   # paired with a NaN observation: must never be read into a score
    return y, p, s
