"""Accuracy benchmark on real data: defaults chosen by cross-validation on the TRAINING splits,
then scored once on the test splits; writes ``benchmarks/ACCURACY.md``.

Selection (``--cv``), on training data only.  The current defaults and every candidate in
``VARIANTS`` (plus ``chrono_t_max`` set to the number of network steps the longest training
sequence takes, issue 19's proposed ``"auto"``, reported but not eligible) are fitted on the five
UCR/UEA development sets in ``../shared/data/ucr`` (GunPoint, ArrowHead, OSULeaf, ACSF1,
PickupGestureWiimoteZ with its true variable lengths: NaN padding at the end of a series is read
as padding) and on a short multivariate generated set (temporal order, three relevant symbols,
8 classes, 8 channels, 30-33 steps, 300 training sequences).  Each set's TRAINING split is cut
by ``StratifiedKFold(n_splits=3, shuffle=True, random_state=0)``; fold ``k`` trains one model
with ``random_state=k`` on the other two folds and scores its accuracy on fold ``k``.  Every
class of every set has at least 5 training members, so every fold trains on and validates every
class (were a class to have fewer members than folds, scikit-learn would leave it out of some
validation folds and a validation sample of a class missing from its training folds would count
as an error).  All candidates see the same folds and seeds (a paired comparison).

Selection rule (fixed before the run): the score of a candidate is its CV accuracy averaged
over the folds and then over the five UCR sets.  A candidate replaces the current defaults only
if its score exceeds the defaults' by more than ``MARGIN`` (0.01: with 3 folds the fold-to-fold
spread of one set is several points) and its CV accuracy on the generated multivariate set is
no more than ``MARGIN`` below the defaults' (a default must also serve short multivariate
sets); among several such candidates the highest score wins.  Otherwise the defaults stay.

Test (every run with set names, default all five): the chosen settings (the defaults, or the
winning candidate's settings if one won) are scored once on the official test splits: single
models from 5 seeds (mean ± std of test accuracy, fit time) and seed ensembles (probabilities
of 3 members averaged, as ``seqlstm.SeedEnsemble`` does), 2 ensembles from disjoint seed
triples (seeds 0-5), beside the published 1-NN Euclidean, 1-NN DTW, MLP, FCN and LSTM-FCN
accuracies from the data's README.  Only ``hidden_size`` is set, once for all sets
(``--hidden``, default 64).

Adding problem (Hochreiter & Schmidhuber 1997, experiment 4), ``--adding 100 200 500``: the
command-line demo's runs, LSTM and RNN, with and without chrono initialisation: share of 2560
fresh test sequences solved (|error| < 0.04) and wall time.  Without ``--adding`` the previous
report's adding section is kept as it was, with its commit label.

Run::

    python benchmarks/bench_accuracy.py --cv [--jobs 2]   # selection on train, then test once
    python benchmarks/bench_accuracy.py [--data ../shared/data/ucr] [--sets GunPoint ...]
                                        [--adding 100 200 500] [--quick]

The CPU, the load at the start and the commit are written beside the figures; times are
wall-clock.
"""

import argparse
import json
import os
import pathlib
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, TimeoutError, as_completed

import numpy as np
from _machine import commit, machine

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


#: A short multivariate, variable-length problem for the default candidates (the data
#: README's advice: defaults must also serve short multivariate sets): the temporal order
#: problem with three relevant symbols (8 classes, 8 one-hot channels, 30-33 steps), 300
#: training and 1000 test sequences.
GENERATED = "TemporalOrder3 T=30 (generated)"
COMPARED = SETS + (GENERATED,)

#: Folds of each training split; fold k's model has random_state=k.
N_FOLDS = 3
#: The selection rule's margin (module docstring).
MARGIN = 0.01
DEFAULTS = "defaults"
#: Marker for chrono_t_max = the network steps of the longest training sequence (issue 19).
NETWORK_STEPS = "network steps"
CHRONO_AUTO = "chrono_t_max = network steps (issue 19's 'auto'; not eligible)"


def load_set(folder, name):
    if name == GENERATED:
        from seqlstm.datasets import make_temporal_order

        X, y = make_temporal_order(1300, length=30, n_relevant=3, random_state=0)
        X, y = X.values, y.values
        return X[:300], y[:300], X[300:], y[300:]
    d = np.load(folder / f"{name}.npz", allow_pickle=False)
    return d["X_train"], d["y_train"], d["X_test"], d["y_test"]


def load_train(folder, name):
    """The training split alone (what selection may see)."""
    X, y, _, _ = load_set(folder, name)
    return X, y


#: Candidates compared with the defaults by CV, each changing one thing or going back to an
#: earlier state: no frames; the former automatic batch size min(32, n); the defaults before
#: frames and the new batch size (both); frames aiming at 32 or 128 steps instead of 64; the
#: final state as the only readout; a constant rate; a 3x higher rate; the defaults the issue
#: started from (minibatches of min(200, n), constant 1e-3, final state, no frames).
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
#: Reported beside the candidates, never chosen here (issue 19 decides it).
REPORTED_ONLY = {CHRONO_AUTO: dict(chrono_t_max=NETWORK_STEPS)}


def sequence_lengths(X):
    """True lengths of NaN-end-padded sequences (steps up to the last with a value)."""
    valid = ~np.all(np.isnan(X), axis=2)
    return X.shape[1] - np.argmax(valid[:, ::-1], axis=1)


def network_steps(X, target_steps=None):
    """Network steps the longest sequence of `X` takes under ``frame_stride="auto"``."""
    from seqlstm.data import framing

    t_max = int(sequence_lengths(X).max())
    stride = framing.auto_frame_stride(t_max, target_steps)
    return int(framing.framed_lengths([t_max], stride)[0])


def fit_model(X, y, hidden, seed, max_iter=None, **settings):
    """An ``LSTMClassifier`` fitted on (X, y) with `settings` beside its defaults.

    ``frame_target_steps`` sets the module constant ``frame_stride="auto"`` reads (restored
    after); ``chrono_t_max=NETWORK_STEPS`` is computed from `X` (frames counted).
    """
    from seqlstm import LSTMClassifier
    from seqlstm.data import framing

    settings = dict(settings)
    target = settings.pop("frame_target_steps", framing.FRAME_TARGET_STEPS)
    if settings.get("chrono_t_max") == NETWORK_STEPS:
        settings["chrono_t_max"] = max(2, network_steps(X, target))
    params = {"hidden_size": hidden, "random_state": seed, **settings}
    if max_iter is not None:
        params["max_iter"] = max_iter
    saved = framing.FRAME_TARGET_STEPS
    framing.FRAME_TARGET_STEPS = target
    try:
        start = time.perf_counter()
        model = LSTMClassifier(**params).fit(X, y)
        return model, time.perf_counter() - start
    finally:
        framing.FRAME_TARGET_STEPS = saved


def accuracy(model, X, y, proba=None):
    proba = model.predict_proba(X) if proba is None else proba
    return float(np.mean(model.classes_[proba.argmax(axis=1)] == y))


def cv_fold(folder, name, fold, hidden, n_folds=N_FOLDS, max_iter=None, **settings):
    """Accuracy on fold `fold` of one set's training split (stratified k-fold) of a model
    (``random_state=fold``) fitted on the other folds, and its fit seconds."""
    from sklearn.model_selection import StratifiedKFold

    X, y = load_train(folder, name)
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=0)
    fit_idx, val_idx = list(folds.split(np.zeros(len(y)), y))[fold]
    model, seconds = fit_model(X[fit_idx], y[fit_idx], hidden, seed=fold, max_iter=max_iter,
                               **settings)
    return accuracy(model, X[val_idx], y[val_idx]), seconds


def selection_score(by_set):
    """Mean over the five UCR sets of the mean fold accuracy."""
    return float(np.mean([np.mean(by_set[name]["folds"]) for name in SETS]))


def choose(cv):
    """The selection rule of the module docstring: returns the chosen candidate's name."""
    base = cv[DEFAULTS]
    base_score = selection_score(base)
    base_generated = np.mean(base[GENERATED]["folds"])
    best, best_score = DEFAULTS, base_score
    for name in VARIANTS:
        if name not in cv:
            continue
        score = selection_score(cv[name])
        if (score > base_score + MARGIN
                and np.mean(cv[name][GENERATED]["folds"]) >= base_generated - MARGIN
                and score > best_score):
            best, best_score = name, score
    return best


def run_set(folder, name, hidden, n_singles=5, n_pool=6, member=3, max_iter=None, **settings):
    """Test accuracy of single models (seeds 0..n_singles-1) and seed ensembles."""
    X, y, Xt, yt = load_set(folder, name)
    probas, singles, seconds = [], [], []
    for seed in range(n_pool):
        model, s = fit_model(X, y, hidden, seed, max_iter=max_iter, **settings)
        seconds.append(s)
        p = model.predict_proba(Xt)
        probas.append(p)
        singles.append(accuracy(model, Xt, yt, p))
        print(f"{name} seed {seed}: {singles[-1]:.3f} ({seconds[-1]:.0f} s)", flush=True)
    ensembles = []
    for start in range(0, n_pool - member + 1, member):
        p = np.mean(probas[start:start + member], axis=0)
        ensembles.append(accuracy(model, Xt, yt, p))
    return {"set": name, "singles": singles[:n_singles], "ensembles": ensembles,
            "seconds": float(np.mean(seconds)), "n_train": len(X), "length": X.shape[1]}


def run_adding(lengths, quick):
    """The demo's runs at each length, LSTM and RNN, chrono and default initialisation."""
    from seqlstm.__main__ import run_demo_rows

    return run_demo_rows(lengths, quick=quick)


def _pm(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def _kept_section(path, heading):
    """The lines of section `heading` (up to the next "## ") of an earlier report, or []."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    except StopIteration:
        return []
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    return lines[start:end]


ADDING_HEADING = "## Adding problem"


def _kept_machine(path, part):
    """Part `part`'s entry of an earlier report's "Machines (per part)" line, or None."""
    if not path.exists():
        return None
    prefix = "Machines (per part): "
    line = next((x for x in path.read_text().splitlines() if x.startswith(prefix)), "")
    entries = line[len(prefix):].rstrip(".").split("; ")
    return next((e[len(part) + 2:] for e in entries if e.startswith(f"{part}: ")), None)


def write_report(path, info, rows, adding, hidden, cv=None, chosen=None, kept_adding=(),
                 left_out=(), command="--cv"):
    where = "; ".join(f"{part}: {m}" for part, m in info.items())
    settings = {} if chosen in (None, DEFAULTS) else VARIANTS[chosen]
    lines = ["# Accuracy benchmark (defaults chosen by CV on the training splits)", "",
             f"Machines (per part): {where}.", "",
             f"Command: `python benchmarks/bench_accuracy.py {command}` — "
             f"`LSTMClassifier(hidden_size={hidden})` at its other defaults on every set (no "
             "per-set setting).", "",
             "Times are wall-clock seconds and comparable only between runs on a quiet machine "
             "(load < 0.5 at start): with other jobs on the 2 cores, Numba's two threads wait "
             "on each other and the same fit can take several times longer.  Accuracies do "
             "not depend on the load.", ""]
    if cv:
        names = list(cv[DEFAULTS])
        n_folds = len(cv[DEFAULTS][SETS[0]]["folds"])
        lines += [
            "## How the defaults were chosen: cross-validation inside the training splits", "",
            f"Only the training splits chose.  Each set's training split is cut by "
            f"`StratifiedKFold(n_splits={n_folds}, shuffle=True, random_state=0)`; fold k "
            "trains one model (`random_state=k`) on the other folds and scores its accuracy on "
            "fold k; every candidate sees the same folds and seeds.  Every class of every set "
            f"has at least 5 training members, so every fold trains on and validates every "
            "class.  The generated set (temporal order, three relevant symbols, 8 classes, 8 "
            "channels, 30-33 steps) is cross-validated inside its 300 training sequences.", "",
            "Rule, fixed before the run: score = CV accuracy averaged over the folds, then "
            "over the five UCR sets.  A candidate replaces the current defaults only if its "
            f"score exceeds theirs by more than {MARGIN} and its CV accuracy on the generated "
            f"multivariate set is at most {MARGIN} below theirs; among such candidates the "
            "highest score wins, otherwise the defaults stay.  The chrono row is reported only "
            "(issue 19 decides `chrono_t_max=\"auto\"`): `chrono_t_max` = the network steps "
            "the longest training sequence of the fold takes (frames counted: "
            "`ceil(T_max / s)` with `s = ceil(T_max / 64)`, e.g. 64 for ACSF1, 50 for "
            "GunPoint, 33 for the generated set).", "",
            *([f"Not finished within the run's time limit (`--cv-minutes`), hence neither "
               f"shown nor eligible: {', '.join(left_out)}.", ""] if left_out else []),
            "Earlier versions of this file compared the candidates by their TEST accuracy "
            "(`--compare`); that table is gone: the test splits choose nothing now.", "",
            f"Chosen: **{chosen}**" + ("" if chosen == DEFAULTS else
                                       f" (settings {settings})") + ".", "",
            "CV accuracy, mean ± std over the folds (single models):", "",
            "| settings | " + " | ".join(names) + " | score (mean of the 5 UCR sets) | "
            "fit s (mean) |",
            "|---|" + "---|" * (len(names) + 2)]
        for variant, by_set in cv.items():
            score = selection_score(by_set) if all(s in by_set for s in SETS) else float("nan")
            secs = np.mean([r["seconds"] for r in by_set.values()])
            mark = " (chosen)" if variant == chosen else ""
            lines.append(f"| {variant}{mark} | "
                         + " | ".join(_pm(by_set[n]["folds"]) if n in by_set else "–"
                                      for n in names)
                         + f" | {score:.3f} | {secs:.0f} |")
        lines += ["", "Per fold (folds 0, 1, 2 ...):", ""]
        for variant, by_set in cv.items():
            lines.append(f"- {variant}: " + "; ".join(
                f"{n} {', '.join(f'{v:.3f}' for v in by_set[n]['folds'])}" for n in by_set))
    lines += ["", "## UCR/UEA development sets (test accuracy of the chosen defaults, scored "
              "once)", "",
              "The test splits were scored after the choice above, for the chosen settings "
              "only" + (f" ({settings})" if settings else " (the estimator's defaults)") + ".  "
              "Single: 5 seeds (0-4), mean ± std.  Ensemble: 2 seed ensembles of 3 members "
              "(seeds 0-2 and 3-5; averaged probabilities), mean ± std.  ✓/✗: the single "
              "models' mean at or above every simple baseline (1-NN ED, 1-NN DTW, MLP).  The "
              "published baselines were not tuned on these test splits either.", "",
              "| set | n train × T | single | ensemble | fit s | 1-NN ED | 1-NN DTW | MLP | "
              "FCN | LSTM-FCN | ≥ simple baselines |",
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
    if adding:
        lines += ["", f"{ADDING_HEADING} (1997 criterion: |error| < 0.04 on 2560 fresh test "
                  "sequences)", "", "| T | init | LSTM solved | RNN solved | epochs | s |",
                  "|---|---|---|---|---|---|"]
        for a in adding:
            lines.append(f"| {a['length']} | {a['init']} | {a['lstm']:.1%} | {a['rnn']:.1%} | "
                         f"{a.get('epochs', '')} | {a['seconds']:.0f} |")
        lines += ["", "The demo's recipe (`python -m seqlstm demo`): hidden 64, batch 32, "
                  "constant lr 1e-3, 10000 training sequences; the LSTM trains epoch by epoch "
                  "until 99% of 2560 validation sequences are solved or 20 epochs, the RNN "
                  "as many epochs; s = LSTM + RNN training time."]
    elif kept_adding:
        lines += [""] + list(kept_adding)
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path,
                        default=ROOT / ".." / "shared" / "data" / "ucr")
    parser.add_argument("--sets", nargs="*", default=list(SETS),
                        help="sets whose test split is scored (none: no test part)")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--adding", nargs="*", type=int, default=[],
                        help="adding-problem lengths to re-run (none: keep the earlier rows)")
    parser.add_argument("--cv", action="store_true",
                        help="choose the defaults by CV on the training splits first")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes for the CV fits (accuracies do not depend on it)")
    parser.add_argument("--cv-minutes", type=float, default=None,
                        help="stop starting CV fits after this long; candidates left unfinished "
                             "are named in the report and not chosen")
    parser.add_argument("--quick", action="store_true", help="tiny run: checks the script")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "ACCURACY.md")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    threads = os.environ.get("NUMBA_NUM_THREADS")
    info = (machine() + (f", {threads} Numba thread(s) per process" if threads else "")
            + f", {args.jobs} process(es)" + commit())
    print(info, flush=True)
    kept_adding = _kept_section(args.out, ADDING_HEADING)
    kept_adding_machine = _kept_machine(args.out, "adding")
    # rows are kept per part in a cache file (not committed), so that a part can be re-run
    # alone (e.g. --sets with no name re-runs only the adding problem)
    cache = HERE / "accuracy_rows.json"
    rows = (json.loads(cache.read_text()) if cache.exists() and not args.quick
            else {"ucr": {}, "adding": [], "machine": {}})
    size = dict(hidden=4, max_iter=1) if args.quick else dict(hidden=args.hidden)
    if args.cv:
        n_folds = 2 if args.quick else N_FOLDS
        candidates = {DEFAULTS: {}, **VARIANTS, **REPORTED_ONLY}
        # (variant, set, fold) -> (accuracy, seconds); a run cut short resumes from the cache
        done = {}
        for entry in rows.get("cv_partial", []):
            if len(entry) == 3:         # a whole set: (variant, set, {"folds", "seconds"})
                v, n, r = entry
                done.update({(v, n, k): (a, r["seconds"]) for k, a in enumerate(r["folds"])})
            else:                       # one fold: (variant, set, fold, accuracy, seconds)
                done[tuple(entry[:3])] = tuple(entry[3:])
        tasks = [(v, n, k) for v in candidates for n in COMPARED for k in range(n_folds)
                 if (v, n, k) not in done]
        # the step-by-step (no frames) candidates are the slow ones: last, so that a deadline
        # (--cv-minutes) leaves out whole slow candidates, never the defaults
        tasks.sort(key=lambda t: candidates[t[0]].get("frame_stride") == 1)
        remaining = None if args.cv_minutes is None else 60 * args.cv_minutes

        def record(future, task):
            done[task] = future.result()
            print(f"CV {task[0]} | {task[1]} | fold {task[2]}: {done[task][0]:.3f} "
                  f"({done[task][1]:.0f} s)", flush=True)
            rows["cv_partial"] = [[*key, *value] for key, value in done.items()]
            if not args.quick:
                cache.write_text(json.dumps(rows))

        with ProcessPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(cv_fold, args.data, n, k, n_folds=n_folds, **size,
                                   **candidates[v]): (v, n, k) for v, n, k in tasks}
            try:
                for future in as_completed(futures, timeout=remaining):
                    record(future, futures[future])
            except TimeoutError:
                print("CV deadline reached: unfinished candidates are left out", flush=True)
                pool.shutdown(wait=True, cancel_futures=True)
                for future, task in futures.items():
                    if task not in done and future.done() and not future.cancelled():
                        record(future, task)
        complete = [v for v in candidates
                    if all((v, n, k) in done for n in COMPARED for k in range(n_folds))]
        if DEFAULTS not in complete:
            raise SystemExit("CV of the defaults unfinished: nothing chosen (rerun to resume)")
        cv = {v: {n: {"folds": [done[v, n, k][0] for k in range(n_folds)],
                      "seconds": float(np.mean([done[v, n, k][1] for k in range(n_folds)]))}
                  for n in COMPARED} for v in complete}
        rows["cv_left_out"] = [v for v in candidates if v not in complete]
        rows.pop("cv_partial", None)
        rows["cv"] = cv
        rows["chosen"] = choose(cv)
        rows["machine"]["CV"] = info
        rows["ucr"] = {}            # a new choice: the test rows are measured again
        print(f"chosen: {rows['chosen']}", flush=True)
    chosen = rows.get("chosen", DEFAULTS)
    settings = {} if chosen == DEFAULTS else VARIANTS[chosen]
    counts = dict(n_singles=2, n_pool=2, member=2) if args.quick else {}
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_set, args.data, name, **counts, **size, **settings): name
                   for name in args.sets}
        for future in as_completed(futures):
            rows["ucr"][futures[future]] = future.result()
            rows["machine"][futures[future]] = info
            if not args.quick:
                cache.write_text(json.dumps(rows))
    if args.adding:
        rows["adding"] = run_adding(args.adding, args.quick)
        rows["machine"]["adding"] = info
        if not args.quick:
            cache.write_text(json.dumps(rows))
    if not args.adding and kept_adding and kept_adding_machine:
        rows["machine"]["adding (kept from the earlier report)"] = kept_adding_machine
    ucr = [rows["ucr"][name] for name in SETS if name in rows["ucr"]]
    write_report(args.out, rows["machine"], ucr, rows["adding"], args.hidden,
                 rows.get("cv"), rows.get("chosen"), kept_adding, rows.get("cv_left_out", []),
                 " ".join(argv if argv is not None else sys.argv[1:]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
