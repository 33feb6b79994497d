"""Fit an LSTM to labeled time series and get labeled predictions back.

A scientist's typical case: a DataArray ``(station, time, variable)`` of daily observations,
a target per station-day, a model that learns from the preceding days.  Input and output stay
xarray objects with their coordinates; the model is saved to a netCDF file and loaded again.

Run::

    python examples/forecast_dataarray.py
"""

import numpy as np
import pandas as pd
import xarray as xr

import seqlstm

# Synthetic daily data at 40 stations: temperature and a humidity proxy; the target is the
# 3-day running mean of temperature plus a humidity effect (a short memory to learn).
rng = np.random.default_rng(0)
time = pd.date_range("2024-01-01", periods=60, freq="D")
stations = [f"ST{i:02d}" for i in range(40)]
temp = (10 + 5 * np.sin(np.arange(60) / 9.0 + rng.uniform(0, 6, (40, 1)))
        + rng.normal(0, 1, (40, 60)))
hum = rng.uniform(0, 1, (40, 60))
X = xr.DataArray(
    np.stack([temp, hum], axis=-1),
    dims=("station", "time", "variable"),
    coords={"station": stations, "time": time, "variable": ["temp", "humidity"]},
    attrs={"source": "synthetic example"},
)
target = (X.sel(variable="temp").rolling(time=3, min_periods=1).mean()
          + 2 * X.sel(variable="humidity"))
target.name = "comfort_index"

train, test = X.isel(station=slice(0, 30)), X.isel(station=slice(30, None))
model = seqlstm.LSTMRegressor(
    hidden_size=16, return_sequences=True, max_iter=60, learning_rate_init=1e-2,
    feature_dim="variable", random_state=0,
)
model.fit(train, target.isel(station=slice(0, 30)))

pred = model.predict(test)  # a DataArray (station, time) with the test stations' coordinates
print(pred)
print("R² on held-out stations:", round(model.score(test, target.isel(station=slice(30, None))), 3))

model.save("comfort_model.nc")
again = seqlstm.load("comfort_model.nc")
assert (again.predict(test) == pred).all()
print("saved and reloaded: comfort_model.nc")
