"""Threads under load: the default thread count against ``n_jobs=1``, on a quiet machine, beside
one competing CPU-bound process, and with two fits in two processes at once (issue 21, item 3).

Two configurations of ``LSTMRegressor(frame_stride=1)``, float32:

- ``small``: the issue's, 512 sequences x 100 steps x 8 features, ``hidden_size=64``,
  ``batch_size=32``, ``max_iter=3``;
- ``large``: 128 sequences x 365 steps x 32 features, ``hidden_size=256``, ``batch_size=128``,
  ``max_iter=1`` (one batch of configuration C of the engine benchmark).

Settings: ``default`` (``n_jobs=None``: the machine's cores), ``n_jobs=1``, and (scenarios i and
ii, small configuration) ``default, spin 300000``: the default thread count with
``GOMP_SPINCOUNT=300000``, libgomp's own spin count, i.e. the behaviour before seqlstm set its
own (see ``seqlstm/_threads.py``).

Scenarios: (i) quiet: nothing else run by the benchmark; (ii) one competing CPU-bound process
(a Python busy loop) for the whole measurement; (iii) two fits in two processes at once: two
worker processes started together with the same setting, settings taken in turn.

Each worker process fits once per setting to warm up (kernels from Numba's cache), then fits
alternately setting by setting; a figure is the minimum (and median) over the fits of the
fit's wall time and of the CPU time of the whole process (user + system, every thread, from
``resource.getrusage``).  Spinning threads show as CPU time well above the 1-thread CPU time.
The machine's description, the load average before and after and the commit are printed and
written with the figures to ``benchmarks/THREADS.md``.  Wall-clock figures mean something only
on a quiet machine: check the load line.

Run::

    python benchmarks/bench_threads.py [--repeats 3] [--out benchmarks/THREADS.md]

About 3 minutes on a quiet 2-core machine.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _machine import commit, machine  # noqa: E402

CONFIGS = {
    "small": dict(n=512, T=100, I=8, model=dict(hidden_size=64, batch_size=32, max_iter=3)),
    "large": dict(n=128, T=365, I=32, model=dict(hidden_size=256, batch_size=128, max_iter=1)),
}
OLD_SPIN = "300000"
LAYERS = set()      # Numba threading layers the workers ran on


# ------------------------------------------------------------------------------------ worker
def worker(config, settings, repeats):
    """Fit ``config`` once per setting (warm-up), then ``repeats`` times per setting in turn;
    print one JSON line per measured fit."""
    import resource

    import numpy as np

    from seqlstm import LSTMRegressor

    c = CONFIGS[config]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((c["n"], c["T"], c["I"])).astype(np.float32)
    y = X[:, -5:, 0].sum(axis=1)

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def fit(setting):
        n_jobs = None if setting == "default" else int(setting)
        model = LSTMRegressor(frame_stride=1, random_state=0, n_jobs=n_jobs, **c["model"])
        c0, t0 = cpu(), time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - t0, cpu() - c0

    for s in settings:
        fit(s)
    import numba

    print(json.dumps(dict(layer=numba.threading_layer())), flush=True)
    for _ in range(repeats):
        for s in settings:
            wall, cpu_time = fit(s)
            print(json.dumps(dict(setting=s, wall=wall, cpu=cpu_time)), flush=True)


# ------------------------------------------------------------------------------------ driver
def _env(spin=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if spin is not None:
        env["GOMP_SPINCOUNT"] = spin
    return env


def _start(config, settings, repeats, spin=None):
    return subprocess.Popen([sys.executable, __file__, "--worker", config, ",".join(settings),
                             str(repeats)], env=_env(spin), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _collect(proc, label=None):
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed:\n{err}")
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    LAYERS.update(r["layer"] for r in rows if "layer" in r)
    rows = [r for r in rows if "setting" in r]
    if label is not None:
        for r in rows:
            r["setting"] = label
    return rows


def _busy():
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def _summary(rows):
    by = {}
    for r in rows:
        by.setdefault(r["setting"], []).append(r)
    return {s: dict(n=len(v), wall=min(r["wall"] for r in v),
                    wall_med=statistics.median(r["wall"] for r in v),
                    cpu=min(r["cpu"] for r in v)) for s, v in by.items()}


def single_process(config, repeats, old_spin):
    """Default and n_jobs=1 alternately in one process (and the old spin in another)."""
    rows = _collect(_start(config, ["default", "1"], repeats))
    if old_spin:
        rows += _collect(_start(config, ["default"], repeats, spin=OLD_SPIN),
                         label=f"default, spin {OLD_SPIN}")
    return _summary(rows)


def two_processes(config, repeats, rounds=2):
    """Two workers at once with the same setting; settings in turn, ``rounds`` times."""
    rows = []
    for _ in range(rounds):
        for s in ("default", "1"):
            procs = [_start(config, [s], repeats) for _ in range(2)]
            for p in procs:
                rows += _collect(p)
    return _summary(rows)


def _fmt(summary):
    lines = []
    base = summary.get("1")
    for s, v in summary.items():
        label = "n_jobs=1" if s == "1" else s
        ratio = f"{v['wall'] / base['wall']:.2f}" if base else ""
        ratio_med = f"{v['wall_med'] / base['wall_med']:.2f}" if base else ""
        lines.append(f"| {label} | {v['wall']:.3f} | {v['wall_med']:.3f} | {v['cpu']:.3f} | "
                     f"{ratio} | {ratio_med} | {v['n']} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "THREADS.md"))
    parser.add_argument("--note", default="", help="a line written under the machine line "
                        "(e.g. that the machine was shared)")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        config, settings, repeats = args.worker
        worker(config, settings.split(","), int(repeats))
        return

    import numba

    start = time.perf_counter()
    load0 = os.getloadavg()
    head = [f"Machine: {machine(load=False)}; {numba.config.NUMBA_NUM_THREADS} Numba threads, "
            f"numba {numba.__version__}{commit()}",
            f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average "
            f"(1, 5, 15 min) before: {load0[0]:.2f}, {load0[1]:.2f}, {load0[2]:.2f}"]
    if args.note:
        head.append(args.note)
    for line in head:
        print(line, flush=True)
    sections = []
    scenarios = [("(i) quiet", None), ("(ii) one competing CPU-bound process", "busy"),
                 ("(iii) two fits in two processes at once", "two")]
    for title, kind in scenarios:
        for config in CONFIGS:
            busy = _busy() if kind == "busy" else None
            try:
                if kind == "two":
                    summary = two_processes(config, max(2, args.repeats - 1))
                else:
                    summary = single_process(config, args.repeats, old_spin=config == "small")
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
            lines = [f"### {title}, {config}", "",
                     "| setting | wall min (s) | wall median (s) | CPU min (s) | "
                     "min / n_jobs=1 | median / n_jobs=1 | fits |",
                     "|---|---|---|---|---|---|---|"] + _fmt(summary)
            print("\n".join(lines) + "\n", flush=True)
            sections.append("\n".join(lines))
    load1 = os.getloadavg()
    tail = (f"Load average after: {load1[0]:.2f}, {load1[1]:.2f}, {load1[2]:.2f}; "
            f"Numba threading layer of the workers: {', '.join(sorted(LAYERS))}; "
            f"benchmark took {time.perf_counter() - start:.0f} s.")
    print(tail)
    text = "\n\n".join([
        "# Threads under load: default thread count against n_jobs=1",
        "Written by `benchmarks/bench_threads.py` (its docstring says what is measured). "
        "Minimum (and median) over alternating fits; CPU time is the whole process's user + "
        "system time over one fit (all threads); the ratios compare minimum and median wall "
        "times. "
        "Configurations: small = 512 x 100 x 8, hidden 64, batch 32, 3 epochs; large = "
        "128 x 365 x 32, hidden 256, batch 128, 1 epoch; float32.",
        "\n".join(head), *sections, tail]) + "\n"
    pathlib.Path(args.out).write_text(text)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
