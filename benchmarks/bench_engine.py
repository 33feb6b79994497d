"""Side-by-side benchmark of seqlstm's recurrent engine against PyTorch CPU.

Run from the repository root (PyTorch must be installed: ``pip install torch==2.13.0``)::

    python benchmarks/bench_engine.py                 # all configs and dtypes, writes RESULTS.md
    python benchmarks/bench_engine.py --configs A B --repeats 10 --no-write
    python benchmarks/bench_engine.py --dtypes float64 --configs A --no-compile --no-write

For each dtype (float32 and float64; PyTorch's model and inputs in the same dtype) and config
it times, in one process and interleaved (ours, theirs, ours, ...): inference (forward of the
LSTM layer alone, per-step outputs in (sample, time, hidden) as PyTorch's ``lstm(x)`` with
``batch_first=True``) and one training step (forward, backward, Adam update, MSE on a linear head
of the last hidden state), with ``torch.set_num_threads`` equal to seqlstm's thread count. It
reports, one table per dtype, medians in ms, speed ratios (PyTorch time / seqlstm time, > 1
means seqlstm is faster) beside the targets of the engine issue, seqlstm's GFLOP/s, the
machine's measured GEMM rate in each dtype, and the time of the first forward+backward in a
fresh process with a cold and with a warm Numba cache, per dtype.
This is a measurement, not a test: it asserts nothing.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time

import numba
import numpy as np

CONFIGS = {
    "A": (32, 50, 4, 32),
    "B": (64, 100, 8, 64),
    "C": (128, 365, 32, 256),
    "D": (256, 365, 32, 256),
}
#: Seconds between blocks of calls, longer than OpenMP workers spin after a parallel region.
PAUSE = 0.02
DTYPES = ("float32", "float64")
#: (training ratio, inference ratio) per dtype and config, from the targets of the engine issue
#: (issue 21): float32 training >= 3 / 1.5 / 1.5 and inference >= 2 / 1.5 / 1.2 at A / B / C;
#: float64 training and inference >= 2 at A, B and C.  The issue names no target for D: float32
#: D keeps the targets it had before (C's), float64 D has none (None, printed as "n/a").
TARGETS = {
    "float32": {"A": (3.0, 2.0), "B": (1.5, 1.5), "C": (1.5, 1.2), "D": (1.5, 1.2)},
    "float64": {"A": (2.0, 2.0), "B": (2.0, 2.0), "C": (2.0, 2.0), "D": (None, None)},
}
#: C's float32 training step as a share of the machine's float32 GEMM rate (issue 21)
GEMM_SHARE_TARGET = 75
#: first forward+backward of one cell and dtype in a fresh process, seconds (issue 21)
COLD_TARGET, WARM_TARGET = 10, 0.3


def machine_description():
    """CPU model, core count and library versions, as one line each."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import torch

    from seqlstm._threads import get_num_threads

    return [
        f"CPU: {cpu}; {os.cpu_count()} logical cores; seqlstm threads {get_num_threads()}",
        f"Python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)",
    ]


def flops_train(B, T, I, H):
    """Multiply-adds x2 of one LSTM training step (forward, backward; head ignored)."""
    fwd = 2 * T * B * 4 * H * (I + H)
    return 3 * fwd


def flops_inference(B, T, I, H):
    """Multiply-adds x2 of the forward pass."""
    return 2 * T * B * 4 * H * (I + H)


def gemm_rate(n_threads, dtype="float32", size=2048, repeats=5):
    """Best GEMM rate in `dtype` in GFLOP/s: PyTorch's matmul and SciPy's BLAS with the rows
    split over Numba's threads, single-threaded BLAS in each (the path the kernels use); the
    larger is the machine's rate."""
    import torch

    from seqlstm._threads import kernel_threads, single_threaded_blas
    from seqlstm.kernels._jit import jit

    @jit(parallel=True)
    def split_gemm(a, b, out, n_parts):
        rows = a.shape[0] // n_parts
        for k in numba.prange(n_parts):
            np.dot(a[k * rows:(k + 1) * rows], b, out[k * rows:(k + 1) * rows])

    a = np.random.default_rng(0).standard_normal((size, size)).astype(dtype)
    b = np.random.default_rng(1).standard_normal((size, size)).astype(dtype)
    out = np.empty((size, size), dtype)
    flops = 2.0 * size ** 3
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    best_t = best_n = np.inf
    with single_threaded_blas(), kernel_threads():
        split_gemm(a, b, out, n_threads)
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(ta, tb)
        best_t = min(best_t, time.perf_counter() - t0)
        with single_threaded_blas(), kernel_threads():
            t0 = time.perf_counter()
            split_gemm(a, b, out, n_threads)
            best_n = min(best_n, time.perf_counter() - t0)
    return flops / best_t / 1e9, flops / best_n / 1e9


def first_call_seconds(cache_dir, dtype="float32"):
    """Seconds from import to the end of the first forward+backward in a fresh process."""
    code = textwrap.dedent(f"""
        import time
        t0 = time.perf_counter()
        import numpy as np
        from seqlstm import RecurrentNetwork
        net = RecurrentNetwork(4, 8, output_size=1, dtype="{dtype}", random_state=0)
        X = np.random.default_rng(0).standard_normal((8, 10, 4))
        net.loss_and_grad(X, np.zeros((8, 1)))
        print(time.perf_counter() - t0)
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return float(res.stdout.strip().splitlines()[-1])


def ours_problem(name, dtype="float32"):
    """Data of a config in `dtype` and seqlstm's training step and inference on it, with the
    network's parameters and kernels in that dtype.

    Returns
    -------
    X, y : ndarray
    train, infer : callable
    """
    from seqlstm import Adam, RecurrentNetwork

    B, T, I, H = CONFIGS[name]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((B, T, I)).astype(dtype)
    y = rng.standard_normal((B, 1)).astype(dtype)
    net = RecurrentNetwork(I, H, output_size=1, dtype=dtype, random_state=0)
    opt = Adam(1e-3)
    # inference compares the LSTM layer alone, as PyTorch's ``lstm(x)``: per-step outputs
    # (sample, time, hidden), no head
    layer = RecurrentNetwork(I, H, dtype=dtype, random_state=0)

    def train():
        _, g = net.loss_and_grad(X, y)
        opt.update_params(net.params, g)

    return X, y, train, lambda: layer.forward(X)


def bench_config(name, repeats, n_threads, dtype="float32"):
    """Side-by-side medians (ms), ratios and seqlstm's GFLOP/s of one config in `dtype`, both
    libraries' models and inputs in that dtype."""
    import torch

    B, T, I, H = CONFIGS[name]
    X, y, ours_train, ours_inf = ours_problem(name, dtype)

    torch.manual_seed(0)
    tdtype = getattr(torch, dtype)
    lstm = torch.nn.LSTM(I, H, batch_first=True).to(tdtype)
    head = torch.nn.Linear(H, 1).to(tdtype)
    topt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), 1e-3)
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def torch_train():
        topt.zero_grad()
        out, _ = lstm(xt)
        loss = ((head(out[:, -1]) - yt) ** 2).mean()
        loss.backward()
        topt.step()

    def torch_inf():
        with torch.no_grad():
            lstm(xt)

    times = {k: [] for k in ("ours_train", "torch_train", "ours_inf", "torch_inf")}
    funcs = {"ours_train": ours_train, "torch_train": torch_train, "ours_inf": ours_inf,
             "torch_inf": torch_inf}
    for f in funcs.values():      # warm up (compilation, allocator, oneDNN primitives)
        f()
        f()
    # rounds of short blocks, alternating between the two libraries, so drift affects both
    # alike; each block starts after a pause and an untimed call, because both libraries'
    # OpenMP workers keep spinning for a while after a parallel region (PITFALLS.md) and would
    # otherwise take the cores from the other library's next block
    inner = 5 if B * T * H < 1e6 else 1
    for _ in range(repeats):
        for k, f in funcs.items():
            time.sleep(PAUSE)
            f()
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            times[k].append((time.perf_counter() - t0) / inner)
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    return dict(
        name=name, dtype=dtype, shape=(B, T, I, H), **med,
        train_ratio=med["torch_train"] / med["ours_train"],
        inf_ratio=med["torch_inf"] / med["ours_inf"],
        train_gflops=flops_train(B, T, I, H) / med["ours_train"] / 1e6,
        inf_gflops=flops_inference(B, T, I, H) / med["ours_inf"] / 1e6,
    )


def ours_alone(name, repeats, dtype="float32"):
    """Medians (ms) of seqlstm's training step and inference in `dtype` with no PyTorch in the
    process."""
    _, _, train, infer = ours_problem(name, dtype)
    result = {}
    for key, f in (("train", train), ("inf", infer)):
        f()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        result[key] = float(np.median(ts)) * 1e3
    return result


def time_split(name, repeats, dtype="float32"):
    """Where seqlstm's training step in `dtype` spends its time, on one thread so that the parts
    add up.

    Returns
    -------
    dict
        Medians in ms: ``step`` (one thread), ``fwd`` and ``bwd`` (the recurrent kernels),
        ``rest`` (input preparation, head, loss, gradient bookkeeping, Python), ``step2`` (the
        default thread count) and ``products``: the recurrent products ``h @ W_hh.T`` of all
        steps of one sub-batch alone, with single-threaded BLAS as the kernels call it -- a
        floor for the forward pass, whatever the gate arithmetic costs.
    """
    from seqlstm._threads import numba_threads, single_threaded_blas
    from seqlstm.kernels import recurrent as rec
    from seqlstm.kernels._jit import jit

    _, _, train, _ = ours_problem(name, dtype)
    spent = {"fwd": 0.0, "bwd": 0.0}

    def timed(func, key):
        def wrapper(*args):
            t0 = time.perf_counter()
            func(*args)
            spent[key] += time.perf_counter() - t0
        return wrapper

    saved = rec.FORWARD["lstm"], rec.BACKWARD["lstm"]
    rec.FORWARD["lstm"], rec.BACKWARD["lstm"] = timed(saved[0], "fwd"), timed(saved[1], "bwd")
    rows = []
    try:
        with numba_threads(1):
            train()
            for _ in range(repeats):
                spent["fwd"] = spent["bwd"] = 0.0
                t0 = time.perf_counter()
                train()
                rows.append((time.perf_counter() - t0, spent["fwd"], spent["bwd"]))
    finally:
        rec.FORWARD["lstm"], rec.BACKWARD["lstm"] = saved
    step, fwd, bwd = (float(np.median(c)) * 1e3 for c in zip(*rows))
    train()
    step2 = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        train()
        step2.append(time.perf_counter() - t0)

    @jit
    def products(h, w, w_blocks, g, n, small, scal):
        for _ in range(n):          # in the kernels' form (``recurrent.step_product``)
            rec.step_product(h, w, w_blocks, g, scal, small)

    B, T, _, H = CONFIGS[name]
    b = B // 2
    h = np.random.default_rng(0).standard_normal((b, H)).astype(dtype)
    w = np.random.default_rng(1).standard_normal((4 * H, H)).astype(dtype)
    w_blocks = rec.transposed_blocks(w, rec.PRODUCT_BLOCK)
    small = b * H * 4 * H <= rec.SMALL_PRODUCT
    g = np.empty((b, 4 * H), dtype)
    scal = np.array([1.0, 0.0], dtype)
    prod = []
    with single_threaded_blas():
        products(h, w, w_blocks, g, 1, small, scal)
        for _ in range(repeats):
            t0 = time.perf_counter()
            products(h, w, w_blocks, g, T, small, scal)
            prod.append(time.perf_counter() - t0)
    return dict(step=step, fwd=fwd, bwd=bwd, rest=step - fwd - bwd,
                step2=float(np.median(step2)) * 1e3, products=float(np.median(prod)) * 1e3)


def target_text(target, unit=""):
    """">= target" (with `unit`), or "n/a" where the issue sets no target."""
    return "n/a" if target is None else f">= {target}{unit}"


def default_repeats(name, repeats):
    """`repeats` if given, else 30 for the small configs A and B and 7 for C and D."""
    return repeats or (30 if name in "AB" else 7)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES),
                        help="dtypes to time, each against PyTorch in the same dtype "
                             "(default: float32 and float64)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repetitions per config (default 30 for A/B, 7 for C/D)")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the cold/warm first-call measurement")
    parser.add_argument("--ours-only", action="store_true",
                        help="print seqlstm's own medians as JSON (no PyTorch imported)")
    args = parser.parse_args(argv)
    import json

    if args.ours_only:
        out = {}
        for dtype in args.dtypes:
            out[dtype] = {}
            for n in args.configs:
                reps = default_repeats(n, args.repeats)
                out[dtype][n] = dict(ours_alone(n, reps, dtype),
                                     split=time_split(n, reps, dtype))
        print(json.dumps(out))
        return

    import torch

    from seqlstm._threads import get_num_threads

    n_threads = get_num_threads()
    torch.set_num_threads(n_threads)
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    say("# seqlstm engine benchmark")
    say()
    say(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
        f"`python benchmarks/bench_engine.py {' '.join(argv or sys.argv[1:])}`.")
    say()
    for line in machine_description():
        say(f"- {line}")
    say()
    say("One table per dtype, both libraries' models and inputs in that dtype (seqlstm's "
        "`RecurrentNetwork(dtype=...)`, PyTorch's modules `.to(torch.float64)` for float64); "
        "ratio = PyTorch time / seqlstm time (> 1: seqlstm faster); medians over "
        "rounds that alternate short blocks of calls of each library, in one process, each "
        f"block after a {1000 * PAUSE:.0f} ms pause and an untimed call (so that neither "
        "library's spinning OpenMP workers take the cores from the other's block).  Inference: "
        "the LSTM layer alone, per-step outputs (sample, time, hidden) in both libraries; "
        "training step: forward, backward, Adam update, MSE on a linear head of the last "
        "hidden state.  Targets from the engine issue (none set for float64 at D).")
    results = {}
    for dtype in args.dtypes:
        say()
        say(f"## {dtype}")
        say()
        say("| config (B, T, I, H) | train seqlstm ms | train torch ms | train ratio (target) | "
            "train GFLOP/s | infer seqlstm ms | infer torch ms | infer ratio (target) |")
        say("|---|---|---|---|---|---|---|---|")
        for name in args.configs:
            r = bench_config(name, default_repeats(name, args.repeats), n_threads, dtype)
            results[dtype, name] = r
            tt, ti = TARGETS[dtype][name]
            say(f"| {name} {r['shape']} | {r['ours_train']:.2f} | {r['torch_train']:.2f} | "
                f"{r['train_ratio']:.2f} ({target_text(tt)}) | {r['train_gflops']:.1f} | "
                f"{r['ours_inf']:.2f} | {r['torch_inf']:.2f} | "
                f"{r['inf_ratio']:.2f} ({target_text(ti)}) |")
    say()
    say("For context, seqlstm alone in a fresh process with no PyTorch loaded (medians of "
        "single calls; the ratios above are the side-by-side ones):")
    say()
    command = [sys.executable, os.path.abspath(__file__), "--ours-only",
               "--configs", *args.configs, "--dtypes", *args.dtypes]
    if args.repeats:
        command += ["--repeats", str(args.repeats)]
    alone = json.loads(subprocess.run(command, capture_output=True, text=True, check=True)
                       .stdout.strip().splitlines()[-1])
    say("| dtype | config | train seqlstm alone ms | infer seqlstm alone ms |")
    say("|---|---|---|---|")
    for dtype, by_name in alone.items():
        for name, r in by_name.items():
            say(f"| {dtype} | {name} | {r['train']:.2f} | {r['inf']:.2f} |")
    say()
    say("Where seqlstm's training step spends its time (same fresh process, no PyTorch): on one "
        "thread, so the parts add up, the recurrent forward and backward kernels and the rest "
        "(input preparation, head, loss, gradient bookkeeping, Python); then the step with "
        f"{n_threads} threads.  Last columns: the per-step recurrent products `h @ W_hh.T` of one "
        "sub-batch alone (single-threaded BLAS, as in the kernels) -- a floor for the forward "
        "pass whatever the gates cost -- and PyTorch's inference time (same dtype) divided by "
        "it, the highest inference ratio the per-step products of OpenBLAS allow.")
    say()
    say(f"| dtype | config | 1 thread: step ms | recurrent forward ms | recurrent backward ms "
        f"| rest ms | {n_threads} threads: step ms | products of one sub-batch ms | inference "
        "ratio ceiling |")
    say("|---|---|---|---|---|---|---|---|---|")
    for dtype, by_name in alone.items():
        for name, r in by_name.items():
            sp = r["split"]
            say(f"| {dtype} | {name} | {sp['step']:.2f} | {sp['fwd']:.2f} | {sp['bwd']:.2f} | "
                f"{sp['rest']:.2f} | {sp['step2']:.2f} | {sp['products']:.2f} | "
                f"{results[dtype, name]['torch_inf'] / sp['products']:.2f} |")
    say()
    for dtype in args.dtypes:
        g_torch, g_numba = gemm_rate(n_threads, dtype)
        g = max(g_torch, g_numba)
        say(f"Machine {dtype} GEMM rate (2048^3, {n_threads} threads): {g:.1f} GFLOP/s "
            f"(PyTorch matmul {g_torch:.1f}, SciPy BLAS split over Numba threads "
            f"{g_numba:.1f}).")
        if (dtype, "C") in results:
            r = results[dtype, "C"]
            target = GEMM_SHARE_TARGET if dtype == "float32" else None  # the issue's is float32's
            say(f"Training step at C, {dtype}: {r['train_gflops']:.1f} GFLOP/s = "
                f"{100 * r['train_gflops'] / g:.0f}% of the {dtype} GEMM rate "
                f"(target {target_text(target, '%')}).")
    if not args.no_compile:
        say()
        for dtype in args.dtypes:
            with tempfile.TemporaryDirectory() as cache:
                cold = first_call_seconds(cache, dtype)
                warm = first_call_seconds(cache, dtype)
            say(f"First forward+backward in a fresh process, {dtype}: cold cache {cold:.1f} s "
                f"(target <= {COLD_TARGET} s), warm cache {warm:.2f} s "
                f"(target <= {WARM_TARGET} s).")
    if not args.no_write:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
        with open(path, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
