"""Scaling benchmark (issue 20, item 6): memory and speed of ``fit`` in memory and from a store,
and prediction throughput on a dask LocalCluster.

Data: float32 sequences x 400 steps x 64 features (102,400 bytes per sequence), standard normal
(seeded), target ``y`` = mean of feature 0 over time.  Model: ``LSTMRegressor(hidden_size=16,
batch_size=256, max_iter=1)`` (frames "auto"), ``random_state=0``.

(a) in-memory ``fit`` on NumPy data of each size in ``--inmem-gb`` (GB = 1e9 bytes): RSS just
    before ``fit`` (the process, its compiled kernels and the data), peak RSS
    (``resource.getrusage(...).ru_maxrss``), the wall time of the one-epoch fit (it includes
    the checks and the scaling statistics passes) and the time of one more epoch (a two-epoch
    fit's time minus the one-epoch fit's, both in the same process).
(b) out-of-core ``fit`` on a zarr store of ``--store-gb`` GB written by this script into a
    temporary directory (chunks of ``--chunk`` sequences; removed at the end, also on error),
    opened with ``xarray.open_zarr``: peak RSS, the one-epoch fit's wall time (including the
    check pass and the two statistics passes over the store) and one more epoch's, against an
    in-memory fit on the first ``--subset-gb`` GB of the same store, loaded with ``.values``.
    Speed is compared per sequence (sequences per second of fit).
(c) prediction of the same store (a model fitted on 512 of its sequences) on a LocalCluster of 1
    and 2 single-threaded worker processes (``memory_limit=--worker-memory`` each, smaller than
    the store), against in-process prediction of the same dask-backed input with dask's
    synchronous scheduler (one thread, like one worker) and its threaded scheduler.  Workers
    warm up (kernels from Numba's cache) on a small input first; the figure is the best of
    ``--repeats`` computes.

Every measurement runs in a fresh subprocess, so each peak RSS is that measurement's own.  The
machine line, the load average before and after, the commit and the date are printed and
written with the figures to ``benchmarks/SCALE.md``.  Times mean something only on a quiet
machine; memory figures hold under load.

Run (the defaults are the issue's sizes: 0.25-2 GB in memory, a 4 GB store needing ~3.5 GiB
of free disk in the temporary directory; about 8 minutes on a quiet 2-core machine)::

    python benchmarks/bench_scale.py [--inmem-gb 0.25 0.5 1 2] [--store-gb 4] [--subset-gb 0.5]
                                     [--predict-gb 2] [--worker-memory 1GiB] [--tmpdir DIR]
                                     [--parts abc] [--out benchmarks/SCALE.md]

``--parts b`` runs only the out-of-core part (b) (it writes the store, fits from it and the
in-memory subset, removes the store) and prints its figures; a subset of the parts writes a
file only when ``--out`` is given (the full run writes ``benchmarks/SCALE.md``).
"""

import argparse
import datetime
import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

N_TIME, N_FEAT = 400, 64
SEQ_BYTES = N_TIME * N_FEAT * 4
MODEL = dict(hidden_size=16, batch_size=256, max_iter=1, random_state=0)


def n_seq(gb):
    return max(1, int(round(gb * 1e9 / SEQ_BYTES)))


def rss_gib():
    """Current RSS of this process (GiB), from /proc."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2 ** 20
    return float("nan")


def peak_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20   # kB on Linux


def make_numpy(n, seed=0):
    """Float32 data built block by block (no float64 copy of the whole)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = np.empty((n, N_TIME, N_FEAT), dtype=np.float32)
    for s in range(0, n, 500):
        X[s:s + 500] = rng.standard_normal((min(500, n - s), N_TIME, N_FEAT), dtype=np.float32)
    y = X[:, :, 0].mean(axis=1)
    return X, y


def warm_up():
    """One tiny fit so the kernels are loaded (from Numba's cache) before measuring."""
    from seqlstm import LSTMRegressor

    X, y = make_numpy(300, seed=1)
    LSTMRegressor(**MODEL).fit(X, y)


def fit_times(cls, X, y):
    """Wall time of a one-epoch fit, and the time of one more epoch: a two-epoch fit's time
    minus the one-epoch fit's (the checks and statistics passes cancel out)."""
    t0 = time.perf_counter()
    cls(**MODEL).fit(X, y)
    t1 = time.perf_counter()
    cls(**{**MODEL, "max_iter": 2}).fit(X, y)
    t2 = time.perf_counter()
    return t1 - t0, (t2 - t1) - (t1 - t0)


# ------------------------------------------------------------------------------------ children

def child_inmem(args):
    import numpy as np  # noqa: F401
    from seqlstm import LSTMRegressor

    warm_up()
    if args["store"]:
        import xarray as xr

        ds = xr.open_zarr(args["store"])
        n = min(args["n"], ds.sizes["sample"])
        X = ds["X"][:n].values
        y = ds["y"][:n].values
        ds.close()
    else:
        n = args["n"]
        X, y = make_numpy(n)
    before = rss_gib()
    seconds, epoch = fit_times(LSTMRegressor, X, y)
    return dict(n=n, data_gib=X.nbytes / 2 ** 30, rss_before=before, peak=peak_gib(),
                seconds=seconds, epoch=epoch)


def child_write(args):
    import dask.array as da
    import xarray as xr

    n, chunk = args["n"], args["chunk"]
    rs = da.random.default_rng(0)
    X = rs.standard_normal((n, N_TIME, N_FEAT), chunks=(chunk, N_TIME, N_FEAT),
                           dtype="float32")
    y = X[:, :, 0].mean(axis=1)
    ds = xr.Dataset({"X": (("sample", "time", "feature"), X), "y": (("sample",), y)})
    t0 = time.perf_counter()
    ds.to_zarr(args["store"], mode="w")
    return dict(n=n, seconds=time.perf_counter() - t0, peak=peak_gib(),
                disk_gib=sum(p.stat().st_size for p in pathlib.Path(args["store"]).rglob("*")
                             if p.is_file()) / 2 ** 30)


def child_ooc(args):
    import xarray as xr
    from seqlstm import LSTMRegressor

    warm_up()
    ds = xr.open_zarr(args["store"])
    before = rss_gib()
    seconds, epoch = fit_times(LSTMRegressor, ds["X"], ds["y"])
    return dict(n=ds.sizes["sample"], data_gib=ds["X"].nbytes / 2 ** 30, rss_before=before,
                peak=peak_gib(), seconds=seconds, epoch=epoch)


def child_predict(args):
    import dask
    import numpy as np
    import xarray as xr
    from seqlstm import LSTMRegressor

    ds = xr.open_zarr(args["store"])
    n = min(args["n"], ds.sizes["sample"])
    model = LSTMRegressor(**MODEL).fit(ds["X"][:512].values, ds["y"][:512].values)
    X = ds["X"][:n]
    small = ds["X"][:8].values
    out = dict(n=n, data_gib=X.nbytes / 2 ** 30)

    def best(run):
        times = []
        for _ in range(args["repeats"]):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        return min(times)

    mode = args["mode"]
    if args.get("n_jobs"):
        model.set_params(n_jobs=args["n_jobs"])
    if mode in ("synchronous", "threads"):
        model.predict(small)
        with dask.config.set(scheduler=mode):
            out["seconds"] = best(lambda: model.predict(X).compute())
    else:
        from dask.distributed import Client, LocalCluster

        def warm(m, x):
            return float(np.asarray(m.predict(x)).sum())

        with LocalCluster(n_workers=args["workers"], threads_per_worker=1, processes=True,
                          memory_limit=args["worker_memory"], dashboard_address=None) as cl, \
                Client(cl) as client:
            client.run(warm, model, small)
            # one untimed compute: the graph machinery and the workers' caches warm
            model.predict(X[:args["workers"] * 2 * args["chunk"]]).compute()
            out["seconds"] = best(lambda: model.predict(X).compute())
            mem = client.run(lambda dask_worker: dask_worker.monitor.get_process_memory())
            out["worker_rss_gib_end"] = [v / 2 ** 30 for v in mem.values()]
    out["seq_per_s"] = n / out["seconds"]
    return out


CHILDREN = dict(inmem=child_inmem, write=child_write, ooc=child_ooc, predict=child_predict)


def run_child(kind, **args):
    cmd = [sys.executable, __file__, "--child", kind, json.dumps(args)]
    print(f"  [{time.strftime('%H:%M:%S')}] {kind} {args}", flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return dict(error=proc.stderr.strip().splitlines()[-1] if proc.stderr.strip()
                    else f"exit {proc.returncode}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"    -> {res}", flush=True)
    return res


# ---------------------------------------------------------------------------------------- main

PREDICT_RUNS = (("synchronous", 0, 1), ("synchronous", 0, None), ("threads", 0, None),
                ("cluster", 1, None), ("cluster", 2, None))


def verdict(ok):
    return "PASS" if ok else "FAIL"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inmem-gb", type=float, nargs="*", default=[0.25, 0.5, 1.0, 2.0])
    p.add_argument("--store-gb", type=float, default=4.0)
    p.add_argument("--subset-gb", type=float, default=0.5)
    p.add_argument("--predict-gb", type=float, default=2.0)
    p.add_argument("--chunk", type=int, default=250, help="sequences per store chunk")
    p.add_argument("--worker-memory", default="1GiB")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--tmpdir", default=None)
    p.add_argument("--parts", default="abc",
                   help="which parts to run (e.g. 'b'); a subset only prints its figures "
                        "unless --out is given")
    p.add_argument("--out", default=None, help="default benchmarks/SCALE.md (all parts)")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.out is None and set("abc") <= set(a.parts):
        a.out = str(HERE / "SCALE.md")
    if a.child:
        print(json.dumps(CHILDREN[a.child[0]](json.loads(a.child[1]))))
        return

    from _machine import commit, machine
    from seqlstm.data.chunked import BUFFER_BYTES

    load0 = os.getloadavg()
    head = (f"Machine: {machine()}; {commit('')}; "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(head, flush=True)
    lines = ["# Scaling: memory and speed of fit in memory and from a store, distributed "
             "prediction", "", "Written by `benchmarks/bench_scale.py` (issue 20, item 6); "
             "see its docstring for the method.", "",
             f"`python benchmarks/bench_scale.py {' '.join(sys.argv[1:])}`".replace(" `", "`"),
             "", head, ""]

    # (a) ------------------------------------------------------------------------------------
    A = []
    for gb in (a.inmem_gb if "a" in a.parts else []):
        A.append((gb, run_child("inmem", n=n_seq(gb), store=None)))
    if "a" in a.parts:
        lines += ["## (a) In-memory fit against the data size", "",
                  "`LSTMRegressor(hidden_size=16, batch_size=256, max_iter=1)`, frames \"auto\", "
                  "float32 NumPy data. Times: the whole one-epoch `fit` (checks and statistics "
                  "included), and one more epoch (2-epoch fit − 1-epoch fit). Target: peak ≤ "
                  "1.5 × data + the model's work arrays.", "",
                  "| data (GB) | sequences | data (GiB) | RSS before fit | peak RSS | peak − "
                  "before | (peak − before) / data | s, 1-epoch fit | s, one more epoch | "
                  "sequences/s (one more epoch) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
    for gb, r in A:
        if "error" in r:
            lines.append(f"| {gb} | {n_seq(gb)} | — | error: {r['error']} |||||")
            continue
        extra = r["peak"] - r["rss_before"]
        lines.append(f"| {gb} | {r['n']} | {r['data_gib']:.2f} | {r['rss_before']:.2f} GiB | "
                     f"{r['peak']:.2f} GiB | {extra:.2f} GiB | {extra / r['data_gib']:.2f} | "
                     f"{r['seconds']:.1f} | {r['epoch']:.1f} | {r['n'] / r['epoch']:.0f} |")
    lines.append("")

    # (b), (c) ------------------------------------------------------------------------------
    tmp = tempfile.mkdtemp(prefix="seqlstm_scale_", dir=a.tmpdir)
    store = os.path.join(tmp, "store.zarr")
    try:
        n_store = n_seq(max(a.store_gb if "b" in a.parts else 0,
                            a.predict_gb if "c" in a.parts else 0))
        W = run_child("write", n=n_store, chunk=a.chunk, store=store)
        if "error" in W:
            raise RuntimeError(f"writing the store failed: {W['error']}")
        O = S = {"error": "not run (--parts)"}
        if "b" in a.parts:
            O = run_child("ooc", store=store)
            S = run_child("inmem", n=n_seq(a.subset_gb), store=store)
        P = {key: {"error": "not run (--parts)"} for key in PREDICT_RUNS}
        for mode, workers, n_jobs in (PREDICT_RUNS if "c" in a.parts else ()):
            P[(mode, workers, n_jobs)] = run_child(
                "predict", store=store, n=n_seq(a.predict_gb), n_jobs=n_jobs, mode=mode,
                workers=workers, chunk=a.chunk, worker_memory=a.worker_memory,
                repeats=a.repeats)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"  removed {tmp}", flush=True)

    lines_b = ["## (b) Out-of-core fit from a zarr store", "",
               f"Store: {W['n']} sequences ({W['n'] * SEQ_BYTES / 1e9:.2f} GB of float32 X; "
               f"{W['disk_gib']:.2f} GiB on disk, zarr default compression), chunks of "
               f"{a.chunk} sequences ({a.chunk * SEQ_BYTES / 2 ** 20:.0f} MiB), written in "
               f"{W['seconds']:.0f} s, opened with `xarray.open_zarr`; `BUFFER_BYTES` default "
               f"({BUFFER_BYTES / 2 ** 20:.0f} MiB). The in-memory fit reads the store's first "
               "sequences with `.values`.",
               ""]
    if a.store_gb < 4:
        lines_b += [f"Not the issue's ≥ 4 GB store: {a.store_gb} GB so that the run finishes in "
                    "the time this run had. For 4 GB: `python benchmarks/bench_scale.py` (the "
                    "default `--store-gb 4`; about 3.5 GiB of free disk in the temporary "
                    "directory, `--tmpdir` to choose it).", ""]
    lines_b += ["| fit | sequences | data (GiB) | RSS before fit | peak RSS | s, 1-epoch fit "
                "| s, one more epoch | sequences/s (one more epoch) | sequences/s (1-epoch fit) |",
                "|---|---|---|---|---|---|---|---|---|"]
    for name, r in (("out-of-core (`open_zarr`)", O), ("in memory (subset)", S)):
        if "error" in r:
            lines_b.append(f"| {name} | error: {r['error']} ||||||")
        else:
            lines_b.append(f"| {name} | {r['n']} | {r['data_gib']:.2f} | "
                           f"{r['rss_before']:.2f} GiB | {r['peak']:.2f} GiB | "
                           f"{r['seconds']:.1f} | {r['epoch']:.1f} | {r['n'] / r['epoch']:.0f} | "
                           f"{r['n'] / r['seconds']:.0f} |")
    ratio = None
    if "error" not in O and "error" not in S:
        ratio = (O["n"] / O["epoch"]) / (S["n"] / S["epoch"])
        ratio1 = (O["n"] / O["seconds"]) / (S["n"] / S["seconds"])
        lines_b += ["", f"Out-of-core speed per sequence = {ratio:.2f} × the in-memory fit's per "
                    f"epoch (one more epoch), {ratio1:.2f} × for the whole one-epoch fit (the "
                    "out-of-core fit reads the store three more times: checks, mean, centred "
                    "squares)."]
    lines_b.append("")
    if "b" in a.parts:
        lines += lines_b

    lines_c = ["## (c) Prediction throughput on dask-backed input", "",
               f"`model.predict(X).compute()` on {P[('threads', 0, None)].get('n', '?')} "
               "sequences of "
               f"the store ({n_seq(a.predict_gb) * SEQ_BYTES / 1e9:.2f} GB; chunks of {a.chunk} "
               f"sequences); LocalCluster workers single-threaded processes with "
               f"`memory_limit={a.worker_memory}` each (less than the data). Best of "
               f"{a.repeats}.", "",
               "| where | seconds | sequences/s | worker RSS at end (GiB) |", "|---|---|---|---|"]
    names = {("synchronous", 0, 1): "in process, synchronous scheduler, `n_jobs=1` (1 thread)",
             ("synchronous", 0, None): "in process, synchronous scheduler, `n_jobs=None` "
                                       "(Numba's threads: 2 cores)",
             ("threads", 0, None): "in process, threaded scheduler, `n_jobs=None`",
             ("cluster", 1, None): "LocalCluster, 1 worker × 1 thread",
             ("cluster", 2, None): "LocalCluster, 2 workers × 1 thread"}
    for key, name in names.items():
        r = P[key]
        if "error" in r:
            lines_c.append(f"| {name} | error: {r['error']} |||")
        else:
            w = ", ".join(f"{v:.2f}" for v in r.get("worker_rss_gib_end", [])) or "—"
            lines_c.append(f"| {name} | {r['seconds']:.1f} | {r['seq_per_s']:.0f} | {w} |")
    lines_c.append("")
    if "c" in a.parts:
        lines += lines_c

    # targets ---------------------------------------------------------------------------------
    lines += ["## Against the issue's targets", ""]
    ok_a = [r for _, r in A if "error" not in r]
    if len(ok_a) >= 2:
        import numpy as np

        d = np.array([r["data_gib"] for r in ok_a])
        g = np.array([r["peak"] - r["rss_before"] for r in ok_a])
        slope, work = np.polyfit(d, g, 1)
        lines.append(f"- In-memory `fit` peaks at ≤ 1.5 × the data it is given + work arrays "
                     f"(the issue's 6-10× today are NumPy allocations during fit, the input "
                     f"not counted): the fit's growth over the RSS before it (which holds the "
                     f"process and the input), fitted as work + slope × data over the sizes, is "
                     f"{slope:.2f} × data + {work:.2f} GiB: **{verdict(slope <= 1.5)}**. "
                     f"Counting the caller's input too, the process holds "
                     f"{1 + slope:.2f} × data + {work:.2f} GiB + the interpreter and kernels. "
                     f"Frames \"auto\" only; frames off not measured by this script.")
    if "error" not in O:
        lines.append(f"- Out-of-core peak RSS ≤ 1 GB: {O['peak']:.2f} GiB "
                     f"({O['peak'] * 2 ** 30 / 1e9:.2f} GB) "
                     f"**{verdict(O['peak'] * 2 ** 30 <= 1e9)}**; on a "
                     f"{O['n'] * SEQ_BYTES / 1e9:.2f} GB store (the ≥ 4 GB size "
                     f"{'measured' if a.store_gb >= 4 else 'NOT measured'}).")
    if ratio is not None:
        lines.append(f"- Out-of-core speed ≥ 70% of in-memory per epoch (per sequence): "
                     f"{100 * ratio:.0f}% **{verdict(ratio >= 0.7)}**.")
    c1, c2, sy = P[("cluster", 1, None)], P[("cluster", 2, None)], P[("synchronous", 0, 1)]
    if "error" not in c1 and "error" not in c2:
        sp = c2["seq_per_s"] / c1["seq_per_s"]
        lines.append(f"- 2 workers ≥ 1.6 × 1 worker: {sp:.2f}× **{verdict(sp >= 1.6)}** "
                     f"(2 cores, load {load0[0]:.1f} at start).")
    if "error" not in c1 and "error" not in sy:
        ov = sy["seq_per_s"] / c1["seq_per_s"] - 1
        lines.append(f"- Overhead at 1 worker vs in-process (synchronous, `n_jobs=1`: one "
                     f"thread, as on the worker) ≤ 15%: "
                     f"{100 * ov:+.0f}% **{verdict(ov <= 0.15)}**.")
    load1 = os.getloadavg()
    lines += ["", f"Load average (1, 5, 15 min) before: {load0[0]:.2f}, {load0[1]:.2f}, "
              f"{load0[2]:.2f}; after: {load1[0]:.2f}, {load1[1]:.2f}, {load1[2]:.2f}.", ""]
    text = "\n".join(lines)
    print(text)
    if a.out:
        pathlib.Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
