"""Labeled time series in, labeled predictions out
===============================================

Fit an LSTM to labeled time series and get labeled predictions back.

A scientist's typical case: a DataArray ``(station, time, variable)`` of daily observations,
a target per station-day, a model that learns from the preceding days.  Input and output stay
xarray objects with their coordinates; the model is saved to a netCDF file and loaded again.

Run::

    python examples/forecast_dataarray.py
    python examples/forecast_dataarray.py --quick     # a tiny run in seconds (as in CI)
"""

import argparse

import numpy as np
import pandas as pd
import xarray as xr

import seqlstm


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run (10 stations, 20 days, 3 epochs): checks the script "
                             "works; the fit is meaningless")
    args = parser.parse_args(argv)
    n_stations, n_days, max_iter = (10, 20, 3) if args.quick else (40, 60, 60)
    n_train = 3 * n_stations // 4

    # Synthetic daily data: temperature and a humidity proxy; the target is the 3-day running
    # mean of temperature plus a humidity effect (a short memory to learn).
    rng = np.random.default_rng(0)
    time = pd.date_range("2024-01-01", periods=n_days, freq="D")
    stations = [f"ST{i:02d}" for i in range(n_stations)]
    temp = (10 + 5 * np.sin(np.arange(n_days) / 9.0 + rng.uniform(0, 6, (n_stations, 1)))
            + rng.normal(0, 1, (n_stations, n_days)))
    hum = rng.uniform(0, 1, (n_stations, n_days))
    X = xr.DataArray(
        np.stack([temp, hum], axis=-1),
        dims=("station", "time", "variable"),
        coords={"station": stations, "time": time, "variable": ["temp", "humidity"]},
        attrs={"source": "synthetic example"},
    )
    target = (X.sel(variable="temp").rolling(time=3, min_periods=1).mean()
              + 2 * X.sel(variable="humidity"))
    target.name = "comfort_index"

    train, test = X.isel(station=slice(0, n_train)), X.isel(station=slice(n_train, None))
    model = seqlstm.LSTMRegressor(
        hidden_size=16, return_sequences=True, max_iter=max_iter, learning_rate_init=1e-2,
        feature_dim="variable", random_state=0,
    )
    model.fit(train, target.isel(station=slice(0, n_train)))

    pred = model.predict(test)  # a DataArray (station, time) with the test stations' coordinates
    print(pred)
    score = model.score(test, target.isel(station=slice(n_train, None)))
    print("R² on held-out stations:", round(score, 3))

    model.save("comfort_model.nc")
    again = seqlstm.load("comfort_model.nc")
    assert (again.predict(test) == pred).all()
    print("saved and reloaded: comfort_model.nc")

    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return pred
    station = str(test["station"][0].values)        # the first held-out station, labeled
    observed = target.sel(station=station)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(observed["time"], observed, "k", lw=1.2, label="comfort index (observed)")
    ax.plot(pred["time"], pred.sel(station=station), "C0", lw=1.2, label="LSTM (held out)")
    ax.set_title(f"Held-out station {station}: R\u00b2 over all held-out stations {score:.2f}")
    ax.set_ylabel(target.name)
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig("comfort_forecast.png", dpi=100)
    return pred


if __name__ == "__main__":
    main()
