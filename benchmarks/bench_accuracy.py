"""Accuracy benchmark on real data at the estimators' DEFAULTS; writes ``benchmarks/ACCURACY.md``.

Classification: the five UCR/UEA development sets in ``../shared/data/ucr`` (GunPoint,
ArrowHead, OSULeaf, ACSF1, PickupGestureWiimoteZ with its true variable lengths: NaN padding at
the end of a series is read as padding), official train/test splits.  ``LSTMClassifier`` runs at
its defaults; only ``hidden_size`` is set, once for all sets (``--hidden``, default 64).  For each
set: single models from 5 seeds (mean ± std of test accuracy, fit time) and seed ensembles
(probabilities of 3 members averaged, as ``seqlstm.SeedEnsemble`` does), 2 ensembles from
disjoint seed triples (seeds 0-5), beside the published 1-NN Euclidean, 1-NN DTW, MLP, FCN and
LSTM-FCN accuracies from the data's README.

Adding problem (Hochreiter & Schmidhuber 1997, experiment 4): the command-line demo's runs at
T = 100, 200, 500 (``--adding``), LSTM and RNN, with and without chrono initialisation: share of
2560 fresh test sequences solved (|error| < 0.04) and wall time.

Run::

    python benchmarks/bench_accuracy.py [--data ../shared/data/ucr] [--sets GunPoint ...]
                                        [--adding 100 200 500] [--quick]

The CPU and the load at the start are written beside the figures; times are wall-clock.
"""

import argparse
import json
import pathlib
import time
import warnings

import numpy as np
from _machine import machine

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
SETS = ("GunPoint", "ArrowHead", "PickupGestureWiimoteZ", "OSULeaf", "ACSF1")
#: Published test accuracies (../shared/data/README.md).
PUBLISHED = {
    "GunPoint": {"1-NN ED": .913, "1-NN DTW": .907, "MLP": .928, "FCN": 1.000, "LSTM-FCN": 1.000},
    "ArrowHead": {"1-NN ED": .800, "1-NN DTW": .703, "MLP": .784, "FCN": .843, "LSTM-FCN": .897},
    "OSULeaf": {"1-NN ED": .521, "1-NN DTW": .591, "MLP": .560, "FCN": .979, "LSTM-FCN": .984},
    "ACSF1": {"1-NN ED": .540, "1-NN DTW": .640, "MLP": .558, "FCN": .898, "LSTM-FCN": None},
    "PickupGestureWiimoteZ": {"1-NN ED": .560, "1-NN DTW": .660, "MLP": .604, "FCN": .744,
                              "LSTM-FCN": None},
}
SIMPLE = ("1-NN ED", "1-NN DTW", "MLP")
COMPARED = SETS + ("TemporalOrder3 T=30 (generated)",)


#: A short multivariate, variable-length problem for the default candidates (the data
#: README's advice: defaults must also serve short multivariate sets): the temporal order
#: problem with three relevant symbols (8 classes, 8 one-hot channels, 30-33 steps), 300
#: training and 1000 test sequences.
GENERATED = "TemporalOrder3 T=30 (generated)"


def load_set(folder, name):
    if name == GENERATED:
        from seqlstm.datasets import make_temporal_order

        X, y = make_temporal_order(1300, length=30, n_relevant=3, random_state=0)
        X, y = X.values, y.values
        return X[:300], y[:300], X[300:], y[300:]
    d = np.load(folder / f"{name}.npz", allow_pickle=False)
    return d["X_train"], d["y_train"], d["X_test"], d["y_test"]


#: Settings compared with the defaults (``--compare``), each changing one thing or going back
#: to an earlier state: no frames; the former automatic batch size min(32, n); the defaults
#: before frames and the new batch size (both); frames aiming at 32 or 128 steps instead of 64;
#: the final state as the only readout; a constant rate; a 3x higher rate; the defaults the
#: issue started from (minibatches of min(200, n), constant 1e-3, stop when the training loss
#: stalls, final state, no frames).
VARIANTS = {
    "no frames (frame_stride=1)": dict(frame_stride=1),
    "batch 32": dict(batch_size=32),
    "no frames, batch 32 (last session's defaults)": dict(frame_stride=1, batch_size=32),
    "frames: at most 32 steps": dict(frame_target_steps=32),
    "frames: at most 128 steps": dict(frame_target_steps=128),
    "readout 'last'": dict(readout="last"),
    "constant 3e-3": dict(learning_rate="constant"),
    "cosine from 1e-2": dict(learning_rate_init=1e-2),
    "issue's starting defaults": dict(batch_size=200, learning_rate_init=1e-3,
                                      learning_rate="constant", readout="last",
                                      frame_stride=1),
}


def run_set(folder, name, hidden, n_singles=5, n_pool=6, member=3, max_iter=None, **settings):
    from seqlstm import LSTMClassifier

    from seqlstm.data import framing

    X, y, Xt, yt = load_set(folder, name)
    # "frame_target_steps": the most network steps frame_stride="auto" aims for (a module
    # constant, not an estimator parameter)
    framing.FRAME_TARGET_STEPS = settings.pop("frame_target_steps", 64)
    probas, singles, seconds = [], [], []
    for seed in range(n_pool):
        params = {"hidden_size": hidden, "random_state": seed, **settings}
        if max_iter is not None:
            params["max_iter"] = max_iter
        start = time.perf_counter()
        model = LSTMClassifier(**params).fit(X, y)
        seconds.append(time.perf_counter() - start)
        p = model.predict_proba(Xt)
        probas.append(p)
        acc = float(np.mean(model.classes_[p.argmax(axis=1)] == yt))
        singles.append(acc)
        print(f"{name} seed {seed}: {acc:.3f} ({seconds[-1]:.0f} s)", flush=True)
    ensembles = []
    for start in range(0, n_pool - member + 1, member):
        p = np.mean(probas[start:start + member], axis=0)
        ensembles.append(float(np.mean(model.classes_[p.argmax(axis=1)] == yt)))
    return {"set": name, "singles": singles[:n_singles], "ensembles": ensembles,
            "seconds": float(np.mean(seconds)), "n_train": len(X), "length": X.shape[1]}


def run_adding(lengths, quick):
    """The demo's runs at each length, LSTM and RNN, chrono and default initialisation."""
    from seqlstm.__main__ import run_demo_rows

    return run_demo_rows(lengths, quick=quick)


def _pm(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def write_report(path, info, rows, adding, hidden, compare=None):
    where = "; ".join(f"{part}: {m}" for part, m in info.items())
    lines = ["# Accuracy benchmark (defaults)", "", f"Machines (per part): {where}.", "",
             f"Command: `python benchmarks/bench_accuracy.py` — `LSTMClassifier(hidden_size="
             f"{hidden})` at its other defaults on every set (no per-set setting); "
             "`--compare` adds the default candidates.", "",
             "Times are wall-clock seconds and comparable only between runs on a quiet machine "
             "(load < 0.5 at start): with other jobs on the 2 cores, Numba's two threads wait "
             "on each other and the same fit can take several times longer (3 to 60 s for one "
             "TemporalOrder3 fit in the run below).  Accuracies do not depend on the load.", "",
             "## UCR/UEA development sets (test accuracy)", "",
             "Single: 5 seeds (0-4), mean ± std.  Ensemble: 2 seed ensembles of 3 members "
             "(seeds 0-2 and 3-5; averaged probabilities), mean ± std.  ✓/✗: the single "
             "models' mean at or above every simple baseline (1-NN ED, 1-NN DTW, MLP).", "",
             "| set | n train × T | single | ensemble | fit s | 1-NN ED | 1-NN DTW | MLP | FCN | "
             "LSTM-FCN | ≥ simple baselines |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pub = PUBLISHED[r["set"]]
        best_simple = max(pub[k] for k in SIMPLE)
        ok = "✓" if np.mean(r["singles"]) >= best_simple else "✗"
        cols = " | ".join("–" if pub[k] is None else f"{pub[k]:.3f}"
                          for k in ("1-NN ED", "1-NN DTW", "MLP", "FCN", "LSTM-FCN"))
        lines.append(f"| {r['set']} | {r['n_train']} × {r['length']} | {_pm(r['singles'])} | "
                     f"{_pm(r['ensembles'])} | {r['seconds']:.0f} | {cols} | {ok} |")
    lines += ["", "Per seed:", ""]
    for r in rows:
        lines.append(f"- {r['set']}: singles {', '.join(f'{v:.3f}' for v in r['singles'])}; "
                     f"ensembles {', '.join(f'{v:.3f}' for v in r['ensembles'])}")
    if compare:
        lines += ["", "## Default candidates (single models, 5 seeds, test accuracy)", "",
                  "The defaults against the alternatives in `VARIANTS` on the five real "
                  "sets and a short multivariate generated one (temporal order, three "
                  "relevant symbols, 8 classes, 8 channels, 30-33 steps, 300 training / 1000 "
                  "test sequences), same hidden size and seeds.", "",
                  "| settings | " + " | ".join(compare["defaults"]) + " |",
                  "|---|" + "---|" * len(compare["defaults"])]
        for variant, by_set in compare.items():
            lines.append(f"| {variant} | " + " | ".join(_pm(v) for v in by_set.values()) + " |")
    if adding:
        lines += ["", "## Adding problem (1997 criterion: |error| < 0.04 on 2560 fresh test "
                  "sequences)", "", "| T | init | LSTM solved | RNN solved | epochs | s |",
                  "|---|---|---|---|---|---|"]
        for a in adding:
            lines.append(f"| {a['length']} | {a['init']} | {a['lstm']:.1%} | {a['rnn']:.1%} | "
                         f"{a.get('epochs', '')} | {a['seconds']:.0f} |")
        lines += ["", "The demo's recipe (`python -m seqlstm demo`): hidden 64, batch 32, "
                  "constant lr 1e-3, 10000 training sequences; the LSTM trains epoch by epoch "
                  "until 99% of 2560 validation sequences are solved or 20 epochs, the RNN "
                  "as many epochs; s = LSTM + RNN training time."]
    path.write_text("\n".join(lines) + "\n")


def _commit():
    """", commit <short hash>" of the code measured (parts of the report may differ)."""
    import subprocess

    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f", commit {sha}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path,
                        default=ROOT / ".." / "shared" / "data" / "ucr")
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--adding", nargs="*", type=int, default=[100, 200, 500])
    parser.add_argument("--compare", action="store_true",
                        help="also run the settings in VARIANTS on every set")
    parser.add_argument("--quick", action="store_true", help="tiny run: checks the script")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "ACCURACY.md")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    info = machine() + _commit()
    print(info, flush=True)
    # rows are kept per part in a cache file, so that a part can be re-run alone
    # (e.g. --sets with no name re-runs only the adding problem)
    cache = HERE / "accuracy_rows.json"
    rows = (json.loads(cache.read_text()) if cache.exists() and not args.quick
            else {"ucr": {}, "adding": [], "machine": {}})
    for name in args.sets:
        if args.quick:
            row = run_set(args.data, name, 4, n_singles=2, n_pool=2, member=2, max_iter=1)
        else:
            row = run_set(args.data, name, args.hidden)
        rows["ucr"][name] = row
        rows["machine"][name] = info
        if not args.quick:
            cache.write_text(json.dumps(rows))
    if args.adding:
        rows["adding"] = run_adding(args.adding, args.quick)
        rows["machine"]["adding"] = info
        if not args.quick:
            cache.write_text(json.dumps(rows))
    if args.compare:
        compare = {"defaults": {r: rows["ucr"][r]["singles"] for r in SETS if r in rows["ucr"]}}
        size = (dict(hidden=4, n_singles=2, n_pool=2, member=2, max_iter=1) if args.quick
                else dict(hidden=args.hidden, n_pool=5, member=5))
        compare["defaults"][GENERATED] = run_set(args.data, GENERATED, **size)["singles"]
        for variant, settings in VARIANTS.items():
            compare[variant] = {}
            for name in COMPARED:
                row = run_set(args.data, name, **size, **settings)
                compare[variant][name] = row["singles"]
        rows["compare"] = compare
        rows["machine"]["compare"] = info
        if not args.quick:
            cache.write_text(json.dumps(rows))
    ucr = [rows["ucr"][name] for name in SETS if name in rows["ucr"]]
    write_report(args.out, rows["machine"], ucr, rows["adding"], args.hidden,
                 rows.get("compare"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
