"""Forecast benchmark: skill and fit time on Mackey-Glass, Airline and Lynx, and the memory of
fitting on long records; writes ``benchmarks/FORECAST.md``.

- Mackey-Glass (tau = 17): train on 2000 steps, test on the next 1000; one Gaussian forecaster
  per lead (1, 10, 50) with horizon = lead; RMSE at that lead against persistence's, and the
  coverage of the 80% intervals.
- Airline (24 months from 1958-12) and Lynx (log10, one step, 1921-1934) against their
  published classical baselines, through ``examples/forecast_classic.py``: the per-series
  settings (log, lookback, full batch, epochs) chosen by rolling-origin validation inside the
  training period, then the test period scored once for the chosen settings, several seeds.
- Memory: peak resident memory and traced allocations of ``LSTMForecaster.fit`` (lookback 365,
  horizon 7, one epoch, windows every 50 steps) and of a stateful ``LSTMRegressor.fit``
  (``tbptt=(50, 100)``) on one record of 10^4, 10^5 and 10^6 steps, each in a fresh process,
  beside the process's memory just before ``fit``.

Run::

    python benchmarks/bench_forecast.py [--data ../shared/data/forecast] [--seeds 3] [--quick]

Times are wall-clock on this machine; the CPU and the load are written beside the figures.
A part not re-run keeps its rows from the cache file, or else its section of the earlier report
as it was, with its machine label.
"""

import argparse
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import time
import warnings

import numpy as np
from _machine import commit as _commit
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
    """``examples/forecast_classic.py``'s protocol: settings chosen by rolling-origin validation
    inside each training period, then the test period scored once."""
    rows = _classic().evaluate(folder, seeds, quick)
    for r in rows:
        print(r, flush=True)
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


MG_HEADING = "## Mackey-Glass"
CLASSIC_HEADING = "## Classic series"
MEMORY_HEADING = "## Memory of fit"


def _earlier(path):
    """The sections (heading prefix -> lines) and machine entries of an earlier report."""
    if not path.exists():
        return {}, {}
    lines = path.read_text().splitlines()
    sections = {}
    for heading in (MG_HEADING, CLASSIC_HEADING, MEMORY_HEADING):
        starts = [i for i, line in enumerate(lines) if line.startswith(heading)]
        if starts:
            end = next((i for i in range(starts[0] + 1, len(lines))
                        if lines[i].startswith("## ")), len(lines))
            section = lines[starts[0]:end]
            while section and not section[-1].strip():
                section.pop()
            sections[heading] = section
    prefix = "Machines (per part): "
    line = next((x for x in lines if x.startswith(prefix)), "")
    machines = dict(e.split(": ", 1) for e in line[len(prefix):].rstrip(".").split("; ")
                    if ": " in e)
    return sections, machines


def write_report(path, machine, mg, cl, mem, baselines, kept=None):
    kept = kept or {}
    where = "; ".join(f"{part}: {m}" for part, m in machine.items())
    lines = ["# Forecast benchmark", "", f"Machines (per part): {where}.", "",
             "Command: `python benchmarks/bench_forecast.py` (wall-clock times).", ""]
    if not mg and MG_HEADING in kept:
        lines += kept[MG_HEADING]
        mg_lines = []
    else:
        mg_lines = [
             "## Mackey-Glass (tau = 17), train 2000 / test 1000 steps", "",
             "Gaussian forecaster, lookback 50, hidden 32, batch 32, lr 3e-3, time-ordered early "
             "stopping; one model per lead with horizon = lead.", "",
             "| lead | RMSE | persistence RMSE | ratio | 80% interval coverage | epochs | fit s |",
             "|---|---|---|---|---|---|---|"]
    lines += mg_lines
    for r in mg:
        lines.append(f"| {r['lead']} | {r['rmse']:.4f} | {r['persistence']:.4f} | "
                     f"{r['rmse'] / r['persistence']:.3f} | {r['coverage80']:.3f} | "
                     f"{r['epochs']} | {r['seconds']:.1f} |")
    lines += ["", "## Classic series (customary splits; baselines from the data's README)", ""]
    if cl and "chosen" in cl[0]:
        module = _classic()
        lines += [
            "Settings of `examples/forecast_classic.py`: Airline with `window_norm=\"last\"`, "
            "horizon 12 (24 months recursively), hidden 32, minibatches of 16 at lr 3e-3; Lynx "
            "on log10 (the task's scale), horizon 1, hidden 32.", "",
            "How the settings were chosen: by rolling-origin validation inside the training "
            "period, never the test period.  Airline candidates (log or raw passengers, "
            "lookback 12/24/36, 100 or 300 epochs) are fitted on the months up to "
            f"{', '.join(module.AIRLINE_ORIGINS)} and forecast the 24 months after each; Lynx "
            "candidates (lookback 6/12/24, full batch at lr 1e-3 or minibatches of 16 at lr "
            "3e-3, 100 or 300 epochs) are fitted on the years up to "
            f"{', '.join(map(str, module.LYNX_ORIGINS))} and forecast the 14 years after each "
            "one step ahead; seeds "
            f"{', '.join(map(str, module.VALIDATION_SEEDS))} at every origin.  The lowest mean "
            "validation RMSE chooses; the chosen settings are then fitted on the whole "
            "training part and the test period is scored once.", "",
            "| series | chosen settings | test RMSE mean ± std (seeds) | fit s per seed | "
            "baselines |", "|---|---|---|---|---|"]
        for r in cl:
            base = "; ".join(f"{k} {v}" for k, v in baselines[r["name"]].items())
            t = np.asarray(r["test"])
            settings = ", ".join(f"{k} {v}" for k, v in r["chosen"].items())
            lines.append(f"| {r['name']} | {settings} | {t.mean():.3f} ± {t.std():.3f} "
                         f"({', '.join(f'{v:.3f}' for v in t)}) | {r['seconds']:.1f} | {base} |")
        lines += ["", "Validation RMSE (training period, mean over origins and seeds) of every "
                  "candidate:", "", "| series | settings | validation RMSE |", "|---|---|---|"]
        for r in cl:
            for settings, score in r["validation"]:
                mark = " (chosen)" if settings == r["chosen"] else ""
                text = ", ".join(f"{k} {v}" for k, v in settings.items())
                lines.append(f"| {r['name']} | {text}{mark} | {score:.3f} |")
    if not mem and MEMORY_HEADING in kept:
        lines += [""] + kept[MEMORY_HEADING]
        path.write_text("\n".join(lines).rstrip("\n") + "\n")
        return
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
    threads = os.environ.get("NUMBA_NUM_THREADS")
    machine = (_machine() + (f", {threads} Numba thread(s)" if threads else "")
               + _commit())
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
    # parts neither re-run nor cached: their section of the earlier report, with its label
    sections, machines = _earlier(args.out)
    kept = {}
    for part, heading in (("mg", MG_HEADING), ("memory", MEMORY_HEADING)):
        if part not in rows and heading in sections:
            kept[heading] = sections[heading]
            if part in machines:
                rows["machine"][part] = machines[part]
    rows["machine"] = dict(sorted(rows["machine"].items(),
                                  key=lambda kv: ["mg", "classic", "memory"].index(kv[0])
                                  if kv[0] in ("mg", "classic", "memory") else 3))
    write_report(args.out, rows["machine"], rows.get("mg", []), rows.get("classic", []),
                 rows.get("memory", []), _classic().BASELINES, kept)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
