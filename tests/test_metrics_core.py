"""seqlstm.metrics._core (the reduction every score shares): dask input stays lazy, and bad
axes, dims or kinds of input are refused with the argument named."""

import numpy as np
import pytest

from metrics_data import Y, stations
from seqlstm import metrics


def test_xarray_dask_stays_lazy():
    pytest.importorskip("dask")
    obs, sim = stations()
    out = metrics.nse(obs.chunk(station=1), sim.chunk(station=1), dim="time")
    assert out.chunks is not None
    np.testing.assert_allclose(out.compute(), metrics.nse(obs, sim, dim="time"))


def test_bad_input_names_the_argument():
    obs, sim = stations()
    with pytest.raises(ValueError, match=r"dim='tim'.*'tim' not found.*\('station', 'time'\)"):
        metrics.nse(obs, sim, dim="tim")
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
