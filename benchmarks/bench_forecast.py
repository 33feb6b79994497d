"""Forecast benchmark: skill and fit time on Mackey-Glass, Airline and Lynx, and the memory of
fitting on long records; writes ``benchmarks/FORECAST.md``.

- Mackey-Glass (tau = 17): train on 2000 steps, test on the next 1000; one Gaussian forecaster
  per lead (1, 10, 50) with horizon = lead; RMSE at that lead against persistence's, and the
  coverage of the 80% intervals.
- Airline (24 months from 1958-12) and Lynx (log10, one step, 1921-1934) against their
  published classical baselines, several seeds, through the functions of
  ``examples/forecast_classic.py``; Lynx also with lookback 6, 12 and 24.
- Memory: peak resident memory of ``LSTMForecaster.fit`` (lookback 365, horizon 7, one epoch,
  windows every 50 steps) on one record of 10^4, 10^5 and 10^6 steps, each in a fresh process,
  beside the process's memory just before ``fit`` (data in memory, modules imported).

Run::

    python benchmarks/bench_forecast.py [--data ../shared/data/forecast] [--seeds 3] [--quick]

Times are wall-clock on this machine; the CPU and the load are written beside the figures.
"""

import argparse
import importlib.util
import json
import os
import pathlib
import platform
import subprocess
import sys
import time
import warnings

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def _classic():
    spec = importlib.util.spec_from_file_location("forecast_classic",
                                                  ROOT / "examples" / "forecast_classic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mackey_glass(leads, epochs, n_train=2000, n_test=1000):
    from seqlstm import LSTMForecaster, metrics
    from seqlstm.datasets import make_mackey_glass

    s = make_mackey_glass(length=200 + n_train + n_test, random_state=0)
    s = s.isel(sample=0, feature=0, time=slice(200, None))
    train, test = s.isel(time=slice(0, n_train)), s.isel(time=slice(n_train, None))
    rows = []
    for lead in leads:
        start = time.perf_counter()
        model = LSTMForecaster(lookback=50, horizon=lead, loss="gaussian", hidden_size=32,
                               max_iter=epochs, batch_size=32, learning_rate_init=3e-3,
                               early_stopping=True, random_state=0).fit(train)
        seconds = time.perf_counter() - start
        out = model.predict(test).sel(lead=lead)
        valid = out["valid_time"].values
        ok = np.isin(valid, test["time"].values)
        obs = test.sel(time=valid[ok]).values
        mean, std = out["mean"].values[ok], out["std"].values[ok]
        persistence = test.sel(time=out["time"].values[ok]).values
        rows.append({"lead": lead, "rmse": float(metrics.rmse(obs, mean)),
                     "persistence": float(metrics.rmse(obs, persistence)),
                     "coverage80": float(metrics.gaussian_coverage(obs, mean, std, 0.8)),
                     "epochs": model.n_iter_, "seconds": seconds})
        print(rows[-1], flush=True)
    return rows


def classic(folder, seeds, epochs):
    module = _classic()
    rows = []
    for name, run, kwargs in (("Airline", module.airline, {}),
                              ("Lynx", module.lynx, {"lookback": 6}),
                              ("Lynx", module.lynx, {"lookback": 12}),
                              ("Lynx", module.lynx, {"lookback": 24})):
        start = time.perf_counter()
        scores = [run(folder, seed, epochs, **kwargs) for seed in range(seeds)]
        rows.append({"series": name, **kwargs, "rmse": scores,
                     "seconds": (time.perf_counter() - start) / seeds})
        print(rows[-1], flush=True)
    return rows


_MEMORY_CHILD = """
import json, resource, sys, time, warnings
import numpy as np
from seqlstm import LSTMForecaster
warnings.simplefilter("ignore")
n = int(sys.argv[1])
t = np.arange(n)
y = np.sin(2 * np.pi * t / 365.25) + 0.1 * np.random.default_rng(0).standard_normal(n)
model = LSTMForecaster(lookback=365, horizon=7, window_stride=50, hidden_size=16, max_iter=1,
                       batch_size=64, random_state=0)
model.fit(y[:1000])                  # compile and warm up outside the measurement
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
model.fit(y)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"steps": n, "windows": model.n_windows_, "before_mib": before / 1024,
                  "peak_mib": peak / 1024, "seconds": seconds}))
"""


def memory(lengths):
    rows = []
    for n in lengths:
        out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(n)], check=True,
                             capture_output=True, text=True, cwd=ROOT)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    return rows


def _machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start"


def write_report(path, machine, mg, cl, mem, baselines):
    lines = ["# Forecast benchmark", "", f"Machine: {machine}.", "",
             "Command: `python benchmarks/bench_forecast.py` (wall-clock times).", "",
             "## Mackey-Glass (tau = 17), train 2000 / test 1000 steps", "",
             "Gaussian forecaster, lookback 50, hidden 32, batch 32, lr 3e-3, time-ordered early "
             "stopping; one model per lead with horizon = lead.", "",
             "| lead | RMSE | persistence RMSE | ratio | 80% interval coverage | epochs | fit s |",
             "|---|---|---|---|---|---|---|"]
    for r in mg:
        lines.append(f"| {r['lead']} | {r['rmse']:.4f} | {r['persistence']:.4f} | "
                     f"{r['rmse'] / r['persistence']:.3f} | {r['coverage80']:.3f} | "
                     f"{r['epochs']} | {r['seconds']:.1f} |")
    lines += ["", "## Classic series (customary splits; baselines from the data's README)", "",
              "| series | settings | RMSE mean ± std (seeds) | fit s per seed | baselines |",
              "|---|---|---|---|---|"]
    for r in cl:
        settings = ", ".join(f"{k} {v}" for k, v in r.items()
                             if k not in ("series", "rmse", "seconds")) or "as the example"
        base = "; ".join(f"{k} {v}" for k, v in baselines[r["series"]].items())
        s = np.asarray(r["rmse"])
        lines.append(f"| {r['series']} | {settings} | {s.mean():.3f} ± {s.std():.3f} "
                     f"({', '.join(f'{v:.3f}' for v in s)}) | {r['seconds']:.1f} | {base} |")
    lines += ["", "## Memory of fit on one long record", "",
              "Lookback 365, horizon 7, window stride 50, hidden 16, batch 64, one epoch; peak "
              "resident memory of the process (ru_maxrss), after a warm-up fit.", "",
              "| record steps | windows | before fit MiB | peak MiB | fit s |",
              "|---|---|---|---|---|"]
    for r in mem:
        lines.append(f"| {r['steps']:,} | {r['windows']:,} | {r['before_mib']:.0f} | "
                     f"{r['peak_mib']:.0f} | {r['seconds']:.1f} |")
    path.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path,
                        default=ROOT / ".." / "shared" / "data" / "forecast")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "FORECAST.md")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    machine = _machine()
    print(machine, flush=True)
    if args.quick:
        mg = mackey_glass([1], epochs=2, n_train=300, n_test=100)
        cl = classic(args.data, 1, 2)
        mem = memory([10_000])
    else:
        mg = mackey_glass([1, 10, 50], epochs=60)
        cl = classic(args.data, args.seeds, 300)
        mem = memory([10_000, 100_000, 1_000_000])
    write_report(args.out, machine, mg, cl, mem, _classic().BASELINES)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
