"""Chrono initialisation's effect on the temporal order problem; writes ``benchmarks/CHRONO.md``.

Temporal order (Hochreiter & Schmidhuber 1997, experiment 6a: two relevant symbols X/Y among
distractors, four classes) at T = 100, 200, 500: an ``LSTMClassifier`` (hidden 64, Adam at a
constant 1e-3, batch 32, pinned to ``readout="last"`` and ``frame_stride=1``: the head reads the
final state alone and the network reads every step, so the lag to bridge is the whole sequence
whatever the estimator's defaults) trained epoch by epoch with ``partial_fit`` until 99% of a
validation set is solved or ``--max-epochs``, with chrono initialisation (``chrono_t_max=T``)
and with the default initialisation (forget-gate bias 1).  A sequence counts as solved under
the paper's criterion: every output's absolute error (probability against the one-hot class)
below 0.3.
The adding problem's table (the same comparison) comes from the demo
(``python -m seqlstm demo --init chrono|default``, see README) and
``benchmarks/bench_accuracy.py``.

Run::

    python benchmarks/bench_chrono.py [--lengths 100 200 500] [--max-epochs 10] [--quick]

The CPU and the load are written beside the figures; times are training wall-clock seconds.
"""

import argparse
import os
import pathlib
import time
import warnings

import numpy as np
from _machine import commit as _commit
from _machine import machine as _machine_line

from seqlstm import LSTMClassifier
from seqlstm.datasets import make_temporal_order

HERE = pathlib.Path(__file__).resolve().parent


def solved(model, X, y):
    """Share of sequences whose every output is within 0.3 of the one-hot class."""
    proba = np.asarray(model.predict_proba(X))
    onehot = (np.asarray(y)[:, None] == model.classes_[None, :]).astype(float)
    return float(np.mean(np.abs(proba - onehot).max(axis=1) < 0.3))


def run(length, init, n_train, n_val, n_test, max_epochs, hidden, seed=0):
    X, y = make_temporal_order(n_train, length, random_state=seed)
    X_val, y_val = make_temporal_order(n_val, length, random_state=seed + 500)
    X_test, y_test = make_temporal_order(n_test, length, random_state=seed + 1000)
    params = dict(hidden_size=hidden, learning_rate_init=1e-3, batch_size=32, random_state=seed,
                  chrono_t_max=length if init == "chrono" else None)
    # pinned, not the defaults: constant rate, the final state alone (the task's definition:
    # the class must be carried to the end), step by step
    params.update(learning_rate="constant", readout="last", frame_stride=1)
    model = LSTMClassifier(**params)
    seconds = 0.0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        model.partial_fit(X, y, classes=["XX", "XY", "YX", "YY"])
        seconds += time.perf_counter() - start
        val = solved(model, X_val, y_val)
        print(f"T={length} {init:>7} epoch {epoch:>2}: loss {model.loss_:.4f}, validation "
              f"solved {val:6.1%} ({seconds:.0f} s)", flush=True)
        if val >= 0.99:
            break
    return {"length": length, "init": init, "epochs": epoch, "seconds": seconds,
            "solved": solved(model, X_test, y_test)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", nargs="+", type=int, default=[100, 200, 500])
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="tiny run: checks the script")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "CHRONO.md")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    sizes = (dict(n_train=60, n_val=20, n_test=20, max_epochs=1, hidden=4) if args.quick else
             dict(n_train=args.n_train, n_val=1000, n_test=2560, max_epochs=args.max_epochs,
                  hidden=args.hidden))
    load_start, commit = os.getloadavg()[0], _commit("; ")
    rows = [run(length, init, **sizes) for length in args.lengths
            for init in ("chrono", "default")]
    lines = ["# Chrono initialisation: temporal order problem", "",
             f"Machine: {_machine_line(load=False)}; load average {load_start:.1f} at the start, "
             f"{os.getloadavg()[0]:.1f} at the end{commit}.  Training seconds include "
             "Numba's compilation in the first row when the cache is cold.", "",
             f"Command: `python benchmarks/bench_chrono.py --lengths "
             f"{' '.join(map(str, args.lengths))} --max-epochs {sizes['max_epochs']}`"
             f"{' --quick' if args.quick else ''}; {sizes['n_train']} training sequences, "
             f"hidden {sizes['hidden']}, Adam 1e-3 constant, batch 32, `readout=\"last\"` (the "
             f"final state alone), `frame_stride=1` (step by step), seed 0; training stops "
             f"when 99% of {sizes['n_val']} validation sequences are solved.", "",
             f"| T | init | solved ({sizes['n_test']} test sequences, all outputs within 0.3) | "
             "epochs | training s |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['length']} | {r['init']} | {r['solved']:.1%} | {r['epochs']} | "
                     f"{r['seconds']:.0f} |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-len(rows) - 2:]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
