"""Two classic real series against their classical baselines: Airline (24 months ahead) and
Lynx (one year ahead, log10).

Reads ``Airline.csv`` and ``Lynx.csv`` from a data folder (default ``../shared/data/forecast``
beside the repository; the files come from the classic texts, see that folder's README), fits an
:class:`~seqlstm.LSTMForecaster` on the customary training part with a few seeds, and prints its
RMSE beside the published baselines' on the customary test part:

- Airline: train 1949-1958, forecast the 24 months of 1959-1960 from the end of 1958
  (recursively, 12 months at a time) on log passengers; the series trends, so
  ``window_norm="last"``.
- Lynx: log10 of the trappings, train 1821-1920, one-step-ahead forecasts of 1921-1934.

Run::

    python examples/forecast_classic.py [--data FOLDER] [--seeds N]
    python examples/forecast_classic.py --quick     # a tiny run in seconds (as in CI)
"""

import argparse
import pathlib
import time

import numpy as np
import pandas as pd
import xarray as xr

from seqlstm import LSTMForecaster, metrics

DEFAULT_DATA = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "forecast"
BASELINES = {
    "Airline": {"seasonal naive": 76.99, "log-SARIMA(0,1,1)(0,1,1)12": 43.19,
                "Holt-Winters (mult. season)": 32.49},
    "Lynx": {"persistence": 0.262, "AR(2)": 0.133, "AR(11)": 0.153},
}


def airline(folder, seed, epochs, lookback=24):
    """24-month RMSE from the end of 1958: log passengers (the seasonal swing grows with the
    level, as in the log-SARIMA airline model), windows relative to their last value."""
    frame = pd.read_csv(folder / "Airline.csv")
    series = xr.DataArray(frame["Passengers"].to_numpy(float), dims="time", name="passengers",
                          coords={"time": pd.to_datetime(frame["Date"]).values})
    train = np.log(series.sel(time=slice(None, "1958-12")))
    test = series.sel(time=slice("1959-01", None))
    model = LSTMForecaster(lookback=lookback, horizon=12, window_norm="last", hidden_size=32,
                           max_iter=epochs, batch_size=16, learning_rate_init=3e-3,
                           random_state=seed).fit(train)
    forecast = np.exp(model.forecast(train, 24))
    np.testing.assert_array_equal(forecast["time"].values, test["time"].values)
    return float(metrics.rmse(test.values, forecast.values))


def lynx(folder, seed, epochs, lookback=6, full_batch=True):
    """One-step RMSE of log10 trappings 1921-1934.  94 training windows: full-batch Adam at
    1e-3 (one step per epoch) keeps the fit short of memorising them; with minibatches of 16 at
    3e-3 the same network overfits (see benchmarks/FORECAST.md)."""
    frame = pd.read_csv(folder / "Lynx.csv", index_col=0)
    series = xr.DataArray(np.log10(frame.iloc[:, 0].to_numpy(float)), dims="time",
                          coords={"time": frame.index.to_numpy()}, name="log10_lynx")
    train = series.sel(time=slice(None, 1920))
    settings = (dict(batch_size=128, learning_rate_init=1e-3) if full_batch
                else dict(batch_size=16, learning_rate_init=3e-3))
    model = LSTMForecaster(lookback=lookback, horizon=1, hidden_size=32, max_iter=epochs,
                           random_state=seed, **settings).fit(train)
    pred = model.predict(series).sel(lead=1)        # issued every year with a full lookback
    issued = pred.sel(time=slice(1920, 1933))       # forecasts of 1921 .. 1934
    observed = series.sel(time=issued["valid_time"].values).values
    return float(metrics.rmse(observed, issued.values))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA,
                        help="folder with Airline.csv and Lynx.csv")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per series")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run (one seed, 2 epochs): checks the script works")
    args = parser.parse_args(argv)
    if not (args.data / "Airline.csv").exists():
        print(f"data folder not found: {args.data} (pass --data FOLDER with Airline.csv and "
              "Lynx.csv); nothing to do.")
        return
    seeds = 1 if args.quick else args.seeds
    rows = []
    for name, run, epochs in (("Airline", airline, 300), ("Lynx", lynx, 200)):
        epochs = 2 if args.quick else epochs
        start = time.perf_counter()
        scores = [run(args.data, seed, epochs) for seed in range(seeds)]
        seconds = (time.perf_counter() - start) / seeds
        rows.append((name, np.mean(scores), np.std(scores), seconds, scores))
    print(f"{'series':8} {'LSTMForecaster RMSE':>24} {'fit s':>6}  baselines (RMSE)")
    for name, mean, std, seconds, scores in rows:
        base = ", ".join(f"{k} {v}" for k, v in BASELINES[name].items())
        print(f"{name:8} {mean:14.3f} ± {std:6.3f} {seconds:7.1f}  {base}")
        print(f"{'':8} seeds: {', '.join(f'{s:.3f}' for s in scores)}")

    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(5, 3))
    names = [r[0] for r in rows]
    ratios = [r[1] / min(BASELINES[r[0]].values()) for r in rows]
    ax.bar(names, ratios)
    ax.axhline(1.0, color="k", lw=1)
    ax.set_ylabel("RMSE / best classical baseline")
    fig.tight_layout()
    fig.savefig("classic_series.png", dpi=100)


if __name__ == "__main__":
    main()
