"""Forecast benchmark: skill and fit time on Mackey-Glass, Airline and Lynx, and the memory of
fitting on long records; writes ``benchmarks/FORECAST.md``.

- Mackey-Glass (tau = 17): train on 2000 steps, test on the next 1000; one Gaussian forecaster
  per lead (1, 10, 50) with horizon = lead; RMSE at that lead against persistence's, and the
  coverage of the 80% intervals.
- Airline (24 months from 1958-12, log passengers, lookback 24 and 36) and Lynx (log10, one
  step, 1921-1934, lookback 6, 12 and 24 at full batch, and lookback 6 with minibatches of 16)
  against their published classical baselines, several seeds, through the functions of
  ``examples/forecast_classic.py``.
- Memory: peak resident memory and traced allocations of ``LSTMForecaster.fit`` (lookback 365,
  horizon 7, one epoch, windows every 50 steps) and of a stateful ``LSTMRegressor.fit``
  (``tbptt=(50, 100)``) on one record of 10^4, 10^5 and 10^6 steps, each in a fresh process,
  beside the process's memory just before ``fit``.

Run::

    python benchmarks/bench_forecast.py [--data ../shared/data/forecast] [--seeds 3] [--quick]

Times are wall-clock on this machine; the CPU and the load are written beside the figures.
"""

import argparse
import importlib.util
import json
import pathlib
import subprocess
import sys
import time
import warnings

import numpy as np
from _machine import machine as _machine

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


def classic(folder, seeds, quick):
    module = _classic()
    rows = []
    runs = [("Airline", module.airline, 300, {"lookback": 24}),
            ("Airline", module.airline, 300, {"lookback": 36})]
    runs += [("Lynx", module.lynx, 200, {"lookback": lb}) for lb in (6, 12, 24)]
    runs += [("Lynx", module.lynx, 300, {"lookback": 6, "full_batch": False})]
    for name, run, epochs, kwargs in (runs[:1] + runs[2:3] if quick else runs):
        epochs = 2 if quick else epochs
        start = time.perf_counter()
        scores = [run(folder, seed, epochs, **kwargs) for seed in range(seeds)]
        rows.append({"series": name, **kwargs, "epochs": epochs, "rmse": scores,
                     "seconds": (time.perf_counter() - start) / seeds})
        print(rows[-1], flush=True)
    return rows


_MEMORY_CHILD = """
import json, resource, sys, time, tracemalloc, warnings
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
tracemalloc.start()
start = time.perf_counter()
model.fit(y)
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"steps": n, "windows": model.n_windows_, "before_mib": before / 1024,
                  "peak_mib": peak / 1024, "traced_mib": traced / 2**20,
                  "data_mib": y.nbytes / 2**20, "seconds": seconds}))
"""


_STATEFUL_CHILD = """
import json, resource, sys, time, tracemalloc, warnings
import numpy as np
from seqlstm import LSTMRegressor
warnings.simplefilter("ignore")
n = int(sys.argv[1])
rng = np.random.default_rng(0)
X = rng.standard_normal((1, n, 4)).astype(np.float32)
y = np.cumsum(X[:, :, :1], axis=1) * 0.01
model = LSTMRegressor(hidden_size=32, return_sequences=True, tbptt=(50, 100), max_iter=1,
                      random_state=0)
model.fit(X[:, :1000], y[:, :1000])   # compile and warm up outside the measurement
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
start = time.perf_counter()
model.fit(X, y)
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"steps": n, "windows": n // 50, "before_mib": before / 1024,
                  "peak_mib": peak / 1024, "traced_mib": traced / 2**20,
                  "data_mib": (X.nbytes + y.nbytes) / 2**20, "seconds": seconds,
                  "model": "stateful"}))
"""


def memory(lengths):
    rows = []
    for child in (_MEMORY_CHILD, _STATEFUL_CHILD):
        for n in lengths:
            out = subprocess.run([sys.executable, "-c", child, str(n)], check=True,
                                 capture_output=True, text=True, cwd=ROOT)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    return rows


def write_report(path, machine, mg, cl, mem, baselines):
    where = "; ".join(f"{part}: {m}" for part, m in machine.items())
    lines = ["# Forecast benchmark", "", f"Machines (per part): {where}.", "",
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
              "Settings of `examples/forecast_classic.py`: Airline on log passengers, "
              "`window_norm=\"last\"`, horizon 12 (24 months recursively), hidden 32, batch "
              "16, lr 3e-3; Lynx on log10, horizon 1, hidden 32, full batch (one Adam step per "
              "epoch) at lr 1e-3 — `full_batch False` is minibatches of 16 at lr 3e-3, which "
              "overfits the 94 training windows.  Longer lookbacks leave fewer windows "
              "(Lynx: 100 - lookback) and do worse.", "",
              "| series | settings | RMSE mean ± std (seeds) | fit s per seed | baselines |",
              "|---|---|---|---|---|"]
    for r in cl:
        settings = ", ".join(f"{k} {v}" for k, v in r.items()
                             if k not in ("series", "rmse", "seconds"))
        base = "; ".join(f"{k} {v}" for k, v in baselines[r["series"]].items())
        s = np.asarray(r["rmse"])
        lines.append(f"| {r['series']} | {settings} | {s.mean():.3f} ± {s.std():.3f} "
                     f"({', '.join(f'{v:.3f}' for v in s)}) | {r['seconds']:.1f} | {base} |")
    lines += ["", "## Memory of fit on one long record", "",
              "Lookback 365, horizon 7, window stride 50, hidden 16, batch 64, one epoch, after a "
              "warm-up fit that compiles the kernels.  Peak resident memory of the process "
              "(ru_maxrss: a high-water mark that includes Numba's compilation, hence equal "
              "before and after when fit stays below it) and the peak of the memory allocated "
              "during fit as traced by tracemalloc (NumPy arrays: the scaled record copy, "
              "window lists, minibatch buffers, network workspaces).", "",
              "Stateful regressor: `LSTMRegressor(return_sequences=True, tbptt=(50, 100), "
              "hidden_size=32)`, one record of 4 inputs and a per-step target, one epoch "
              "(one optimiser step per 50 steps, the state carried along the record).", "",
              "| model | record steps | data MiB | windows | RSS before fit MiB | RSS peak MiB | "
              "allocated during fit, peak MiB | fit s |",
              "|---|---|---|---|---|---|---|---|"]
    for r in mem:
        lines.append(f"| {r.get('model', 'forecaster')} | {r['steps']:,} | "
                     f"{r.get('data_mib', float('nan')):.1f} | "
                     f"{r['windows']:,} | {r['before_mib']:.0f} | {r['peak_mib']:.0f} | "
                     f"{r.get('traced_mib', float('nan')):.1f} | {r['seconds']:.1f} |")
    path.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path,
                        default=ROOT / ".." / "shared" / "data" / "forecast")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "FORECAST.md")
    parser.add_argument("--parts", nargs="*", default=["mg", "classic", "memory"],
                        choices=["mg", "classic", "memory"])
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    machine = _machine()
    print(machine, flush=True)
    # each part's rows are kept in a cache file so that one part can be re-run (--parts)
    cache = HERE / "forecast_rows.json"
    rows = json.loads(cache.read_text()) if cache.exists() and not args.quick else {}
    if "mg" in args.parts:
        rows["mg"] = (mackey_glass([1], epochs=2, n_train=300, n_test=100) if args.quick
                      else mackey_glass([1, 10, 50], epochs=60))
    if "classic" in args.parts:
        rows["classic"] = classic(args.data, 1 if args.quick else args.seeds, args.quick)
    if "memory" in args.parts:
        rows["memory"] = memory([10_000] if args.quick else [10_000, 100_000, 1_000_000])
    rows.setdefault("machine", {})
    for part in args.parts:
        rows["machine"][part] = machine
    if not args.quick:
        cache.write_text(json.dumps(rows))
    write_report(args.out, rows["machine"], rows.get("mg", []), rows.get("classic", []),
                 rows.get("memory", []), _classic().BASELINES)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
