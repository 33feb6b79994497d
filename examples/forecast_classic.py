"""Two classic series against their classical baselines
====================================================

Two classic real series against their classical baselines: Airline (24 months ahead) and
Lynx (one year ahead, log10).

Reads ``Airline.csv`` and ``Lynx.csv`` from a data folder (default ``../shared/data/forecast``
beside the repository; the files come from the classic texts, see that folder's README), fits an
:class:`~seqlstm.LSTMForecaster` on the customary training part with a few seeds, and prints its
RMSE beside the published baselines' on the customary test part:

- Airline: train 1949-1958, forecast the 24 months of 1959-1960 from the end of 1958
  (recursively, 12 months at a time, windows relative to their last value:
  ``window_norm="last"``; hidden 32, minibatches of 16, Adam at 3e-3).
- Lynx: log10 of the trappings (the scale of the task and of its baselines), train 1821-1920,
  one-step-ahead forecasts of 1921-1934 (hidden 32).

How the per-series settings were chosen: by rolling-origin validation inside the training
period; the test period is scored once, for the chosen settings, after the choice.  The
choice was made with the forecaster's defaults of that time, ``decoder="per_step"`` and
``window_norm="last"``, which the example keeps (the defaults are now ``"direct"`` and
``"seasonal"``, see ``benchmarks/FORECAST_DEFAULTS.md``).

- Airline candidates: log or raw passengers, lookback 12, 24 or 36 months, 100 or 300 epochs.
  Each is fitted on the months up to the end of 1954, of 1955 and of 1956 and forecasts the 24
  months after each origin (1955-1956, 1956-1957, 1957-1958: all inside 1949-1958).
- Lynx candidates: lookback 6, 12 or 24 years; full batch at 1e-3 (one Adam step per epoch) or
  minibatches of 16 at 3e-3; 100 or 300 epochs.  Each is fitted on the years up to 1892 and up
  to 1906 and scored on one-step forecasts of the 14 years after each origin (1893-1906,
  1907-1920: inside 1821-1920).
- Each candidate is fitted with seeds 0 and 1 at every origin; the lowest RMSE averaged over
  origins and seeds chooses.  The chosen settings are then fitted on the whole training part
  (seeds 0 .. N-1) and scored on the test period.

Run::

    python examples/forecast_classic.py [--data FOLDER] [--seeds N]
    python examples/forecast_classic.py --quick     # a tiny run in seconds (as in CI)
"""

import argparse
import itertools
import pathlib
import time

import numpy as np
import pandas as pd
import xarray as xr

from seqlstm import LSTMForecaster, metrics

try:
    _HERE = pathlib.Path(__file__).resolve().parent
except NameError:       # the docs gallery runs the script in examples/ without __file__
    _HERE = pathlib.Path.cwd()
DEFAULT_DATA = _HERE.parent / ".." / "shared" / "data" / "forecast"
BASELINES = {
    "Airline": {"seasonal naive": 76.99, "log-SARIMA(0,1,1)(0,1,1)12": 43.19,
                "Holt-Winters (mult. season)": 32.49},
    "Lynx": {"persistence": 0.262, "AR(2)": 0.133, "AR(11)": 0.153},
}
#: Candidates, validation origins (the last training step of each validation fit) and the
#: test origin (the end of the customary training part) of each series.
AIRLINE_GRID = [dict(log=log, lookback=lookback, epochs=epochs)
                for log, lookback, epochs in itertools.product((True, False), (12, 24, 36),
                                                               (100, 300))]
AIRLINE_ORIGINS = ("1954-12", "1955-12", "1956-12")
AIRLINE_TEST_ORIGIN = "1958-12"
LYNX_GRID = [dict(lookback=lookback, full_batch=full_batch, epochs=epochs)
             for lookback, full_batch, epochs in itertools.product((6, 12, 24), (True, False),
                                                                   (100, 300))]
LYNX_ORIGINS = (1892, 1906)
LYNX_TEST_ORIGIN = 1920
VALIDATION_SEEDS = (0, 1)


def load_airline(folder):
    """Monthly passengers 1949-1960 with their dates."""
    frame = pd.read_csv(folder / "Airline.csv")
    return xr.DataArray(frame["Passengers"].to_numpy(float), dims="time", name="passengers",
                        coords={"time": pd.to_datetime(frame["Date"]).values})


def load_lynx(folder):
    """log10 of the yearly trappings 1821-1934."""
    frame = pd.read_csv(folder / "Lynx.csv", index_col=0)
    return xr.DataArray(np.log10(frame.iloc[:, 0].to_numpy(float)), dims="time",
                        coords={"time": frame.index.to_numpy()}, name="log10_lynx")


def airline(series, origin, seed, log=True, lookback=24, epochs=300):
    """RMSE (passengers) of the 24 months after `origin`, forecast from the months up to it.

    With `log`, the model learns log passengers (the seasonal swing grows with the level, as in
    the log-SARIMA airline model) and its forecast is exponentiated back.
    """
    train = series.sel(time=slice(None, origin))
    actual = series.isel(time=slice(train.sizes["time"], train.sizes["time"] + 24))
    target = np.log(train) if log else train
    model = LSTMForecaster(lookback=lookback, horizon=12, window_norm="last", decoder="per_step",
                           hidden_size=32, max_iter=epochs, batch_size=16,
                           learning_rate_init=3e-3, random_state=seed).fit(target)
    forecast = model.forecast(target, 24)
    if log:
        forecast = np.exp(forecast)
    np.testing.assert_array_equal(forecast["time"].values, actual["time"].values)
    return float(metrics.rmse(actual.values, forecast.values))


def lynx(series, origin, seed, lookback=6, full_batch=True, epochs=300, n_years=14):
    """RMSE (log10) of the one-step forecasts of the `n_years` years after `origin`, from a model
    fitted on the years up to `origin`; each forecast is issued with the observed years before
    it (one step ahead).  Full batch: Adam at 1e-3 on all windows at once (one step per
    epoch); otherwise minibatches of 16 at 3e-3."""
    train = series.sel(time=slice(None, origin))
    n_windows = train.sizes["time"] - lookback         # windows of lookback + 1 years
    settings = (dict(batch_size=n_windows, learning_rate_init=1e-3) if full_batch
                else dict(batch_size=16, learning_rate_init=3e-3))
    model = LSTMForecaster(lookback=lookback, horizon=1, hidden_size=32, max_iter=epochs,
                           window_norm="last", decoder="per_step", random_state=seed,
                           **settings).fit(train)
    period = series.sel(time=slice(None, origin + n_years))
    issued = model.predict(period).sel(lead=1).sel(time=slice(origin, origin + n_years - 1))
    observed = series.sel(time=issued["valid_time"].values).values
    if len(observed) != n_years:
        raise ValueError(f"expected {n_years} forecasts after {origin}; found {len(observed)}")
    return float(metrics.rmse(observed, issued.values))


def choose(run, series, grid, origins, seeds):
    """The settings of `grid` with the lowest validation RMSE (mean over origins and seeds).

    Returns
    -------
    chosen : dict
    table : list of (dict, float)
        Every candidate with its mean validation RMSE.
    """
    table = []
    for settings in grid:
        scores = [run(series, origin, seed, **settings) for origin in origins for seed in seeds]
        table.append((settings, float(np.mean(scores))))
        print(f"  validation RMSE {table[-1][1]:.3f}: {run.__name__} {settings}", flush=True)
    return min(table, key=lambda row: row[1])[0], table


def evaluate(folder, seeds, quick=False):
    """Choose each series' settings on its training period, then score its test period once.

    Returns
    -------
    list of dict
        Per series: ``name``, ``chosen``, ``validation`` (the candidates' table), ``test``
        (test RMSE per seed), ``seconds`` (test fit time per seed).
    """
    rows = []
    for name, run, series, grid, origins, test_origin in (
            ("Airline", airline, load_airline(folder), AIRLINE_GRID, AIRLINE_ORIGINS,
             AIRLINE_TEST_ORIGIN),
            ("Lynx", lynx, load_lynx(folder), LYNX_GRID, LYNX_ORIGINS, LYNX_TEST_ORIGIN)):
        validation_seeds = VALIDATION_SEEDS
        if quick:       # the script's path at a tiny size: two candidates of 2 epochs, one fit
            grid = [{**settings, "epochs": 2} for settings in (grid[0], grid[-1])]
            origins, validation_seeds = origins[-1:], validation_seeds[:1]
        chosen, table = choose(run, series, grid, origins, validation_seeds)
        start = time.perf_counter()
        test = [run(series, test_origin, seed, **chosen) for seed in range(seeds)]
        rows.append({"name": name, "chosen": chosen, "validation": table, "test": test,
                     "seconds": (time.perf_counter() - start) / seeds})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA,
                        help="folder with Airline.csv and Lynx.csv")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the test fits")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run (two candidates of 2 epochs, one seed): checks the "
                             "script works")
    args = parser.parse_args(argv)
    if not (args.data / "Airline.csv").exists():
        print(f"data folder not found: {args.data} (pass --data FOLDER with Airline.csv and "
              "Lynx.csv); nothing to do.")
        return
    rows = evaluate(args.data, 1 if args.quick else args.seeds, args.quick)
    for r in rows:
        print(f"{r['name']}: validation RMSE (training period, rolling origins) per candidate:")
        for settings, score in r["validation"]:
            print(f"    {settings}: {score:.3f}")
        print(f"  chosen: {r['chosen']}")
    print(f"{'series':8} {'test RMSE (chosen settings)':>30} {'fit s':>6}  baselines (RMSE)")
    for r in rows:
        base = ", ".join(f"{k} {v}" for k, v in BASELINES[r["name"]].items())
        print(f"{r['name']:8} {np.mean(r['test']):20.3f} ± {np.std(r['test']):6.3f} "
              f"{r['seconds']:7.1f}  {base}")
        print(f"{'':8} seeds: {', '.join(f'{s:.3f}' for s in r['test'])}")

    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(5, 3))
    names = [r["name"] for r in rows]
    ratios = [np.mean(r["test"]) / min(BASELINES[r["name"]].values()) for r in rows]
    ax.bar(names, ratios)
    ax.axhline(1.0, color="k", lw=1)
    ax.set_ylabel("RMSE / best classical baseline")
    fig.tight_layout()
    fig.savefig("classic_series.png", dpi=100)


if __name__ == "__main__":
    main()
