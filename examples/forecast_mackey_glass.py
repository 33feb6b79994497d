"""Forecasting a chaotic series with intervals
===========================================

Forecast the chaotic Mackey-Glass series 10 steps ahead, with 80% Gaussian intervals.

An :class:`~seqlstm.LSTMForecaster` with ``loss="gaussian"`` learns the series (tau = 17) on
its first part (the last 10% of its windows, in time order, select the epoch) and forecasts
leads 1..10 at every time of a held-out part; the script prints the RMSE at lead 10 against
persistence's and the share of held-out values inside the 80% intervals, and saves a figure of
the lead-10 forecasts with their intervals.

Run::

    python examples/forecast_mackey_glass.py
    python examples/forecast_mackey_glass.py --quick     # a tiny run in seconds (as in CI)
"""

import argparse
import time

import numpy as np

from seqlstm import LSTMForecaster, metrics
from seqlstm.datasets import make_mackey_glass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run (short series, 2 epochs): checks the script works")
    args = parser.parse_args(argv)
    n_train, n_test, epochs = (300, 200, 2) if args.quick else (2000, 1000, 60)
    lead = 10

    series = make_mackey_glass(length=200 + n_train + n_test, random_state=0)
    series = series.isel(sample=0, feature=0, time=slice(200, None))   # drop the transient
    series.name = "x"
    train, test = series.isel(time=slice(0, n_train)), series.isel(time=slice(n_train, None))

    model = LSTMForecaster(lookback=50, horizon=lead, loss="gaussian", hidden_size=32,
                           max_iter=epochs, batch_size=32, learning_rate_init=3e-3,
                           early_stopping=True, random_state=0)
    start = time.perf_counter()
    model.fit(train)
    print(f"fit: {model.n_windows_} windows, {model.n_iter_} epochs, "
          f"{time.perf_counter() - start:.1f} s")

    out = model.predict(test)                                   # Dataset(mean, std)
    at = out.sel(lead=lead)
    valid = at["valid_time"].values
    inside = np.isin(valid, test["time"].values)
    observed = test.sel(time=valid[inside]).values
    mean, std = at["mean"].values[inside], at["std"].values[inside]
    persistence = test.sel(time=at["time"].values[inside]).values
    rmse = float(metrics.rmse(observed, mean))
    rmse_persistence = float(metrics.rmse(observed, persistence))
    coverage = float(metrics.gaussian_coverage(observed, mean, std, coverage=0.8))
    print(f"lead {lead}: RMSE {rmse:.4f}, persistence {rmse_persistence:.4f} "
          f"(ratio {rmse / rmse_persistence:.3f}); 80% intervals cover {coverage:.1%}")

    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    lower, upper = metrics.gaussian_interval(mean, std, 0.8)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(valid[inside], observed, color="k", lw=1, label="observed")
    ax.plot(valid[inside], mean, color="C0", lw=1, label=f"forecast, lead {lead}")
    ax.fill_between(valid[inside], lower, upper, color="C0", alpha=0.3, label="80% interval")
    ax.set_xlabel("time")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig("mackey_glass_forecast.png", dpi=100)


if __name__ == "__main__":
    main()
