"""One global forecaster for several river stations
================================================

One global model for several river stations: rainfall forecasts known ahead, a static
attribute, daily datetime coordinates, forecasts as labeled xarray.

Synthetic stations: daily flow responds to rainfall through a linear reservoir whose size
depends on the basin area (a static attribute); temperature is a past covariate; rainfall is a
future covariate (in practice a weather forecast).  One :class:`~seqlstm.LSTMForecaster` is
trained on all stations jointly and forecasts flow 3 days ahead; the script prints the
Nash-Sutcliffe efficiency per station and lead on the held-out last 20% of the record, and the
recursive forecast of the days after the record, and saves a figure.

Run::

    python examples/forecast_stations.py
    python examples/forecast_stations.py --quick     # a tiny run in seconds (as in CI)
"""

import argparse

import numpy as np
import pandas as pd
import xarray as xr

from seqlstm import LSTMForecaster, metrics


def make_stations(n_stations, n_days, seed=0):
    """Synthetic daily flow, rain and temperature for `n_stations` basins."""
    rng = np.random.default_rng(seed)
    time = pd.date_range("2020-01-01", periods=n_days, freq="D")
    area = rng.uniform(50, 500, n_stations)                      # km2
    season = np.sin(2 * np.pi * np.arange(n_days) / 365.25)
    temp = 10 + 8 * season + rng.normal(0, 2, (n_stations, n_days))
    wet = rng.random((n_stations, n_days)) < 0.3 + 0.1 * season
    rain = np.where(wet, rng.gamma(0.8, 8.0, (n_stations, n_days)), 0.0)
    k = 0.6 + 0.35 * (area - 50) / 450                           # larger basins are slower
    storage = np.zeros(n_stations)
    flow = np.empty((n_stations, n_days))
    for t in range(n_days):
        melt = np.clip(temp[:, t] - 5, 0, None) * 0.1
        storage = k * storage + rain[:, t] + melt
        flow[:, t] = (1 - k) * storage * area / 100
    return xr.Dataset(
        {"flow": (("station", "time"), flow, {"units": "m3 s-1"}),
         "rain": (("station", "time"), rain, {"units": "mm d-1"}),
         "temp": (("station", "time"), temp, {"units": "degC"}),
         "area": ("station", area, {"units": "km2"})},
        coords={"station": [f"S{i:02d}" for i in range(n_stations)], "time": time},
        attrs={"title": "synthetic stations"})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run (3 stations, 240 days, 2 epochs): checks the script "
                             "works")
    args = parser.parse_args(argv)
    n_stations, n_days, epochs = (3, 240, 2) if args.quick else (8, 3 * 365, 30)
    ds = make_stations(n_stations, n_days)
    cut = int(0.8 * n_days)
    train, test = ds.isel(time=slice(0, cut)), ds.isel(time=slice(cut - 30, None))

    model = LSTMForecaster(lookback=30, horizon=3, target="flow", future_covariates="rain",
                           hidden_size=32, max_iter=epochs, batch_size=64,
                           learning_rate_init=3e-3, random_state=0)
    model.fit(train)
    print(f"targets {model.target_names_}, past covariates {model.past_covariate_names_}, "
          f"future covariates {model.future_covariate_names_}, static {model.static_names_}; "
          f"{model.n_windows_} training windows")

    pred = model.predict(test)                      # (station, time, lead), valid_time coord
    observed = _observed(test["flow"], pred)
    nse = metrics.nse(observed, pred, dim="time")
    print("Nash-Sutcliffe efficiency on the held-out days (station x lead):")
    print(nse.round(3).to_pandas().to_string())

    ahead = ds[["rain"]].isel(time=slice(n_days - 5, n_days))   # "forecast" rain of 5 days
    past = ds.isel(time=slice(0, n_days - 5))
    # the model has a past covariate (temperature): it forecasts at most `horizon` steps ahead
    future = model.forecast(past, 3, future_covariates=ahead)
    print("forecast of the 3 days after", str(past["time"].values[-1])[:10])
    print(future.round(2).to_pandas().to_string())

    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(9, 3.5))
    s = str(ds["station"].values[0])
    ax.plot(observed["time"], observed.sel(station=s, lead=1), "k", lw=1, label="observed")
    ax.plot(pred["time"], pred.sel(station=s, lead=1), "C0", lw=1, label="forecast, lead 1")
    ax.set_ylabel(f"flow at {s} (m3/s)")
    ax.legend()
    fig.tight_layout()
    fig.savefig("stations_forecast.png", dpi=100)


def _observed(flow, pred):
    """The observed flow at every (issue time, lead) of `pred`, labeled like it."""
    index = {t: i for i, t in enumerate(flow["time"].values)}
    valid = pred["valid_time"].values
    pos = np.vectorize(lambda t: index.get(t, -1))(valid)
    values = np.where(pos >= 0, flow.values[:, np.clip(pos, 0, None)], np.nan)
    return pred.copy(data=values)


if __name__ == "__main__":
    main()
