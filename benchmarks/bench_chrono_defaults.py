"""Should ``chrono_t_max="auto"`` be the estimators' default?  (issue 19)

The adding problem (Hochreiter & Schmidhuber 1997, experiment 4; ``make_adding``: 10,000
training sequences, 2,560 fresh test sequences, solved when ``|error| < 0.04``) fitted with
``LSTMRegressor(hidden_size=64, max_iter=30, frame_stride=1, readout="last", random_state=0)``
and the estimator's other defaults, once per configuration:

- ``lstm-none``: ``cell="lstm"``, ``chrono_t_max=None`` (the default before issue 19);
- ``lstm-auto``: ``cell="lstm"``, ``chrono_t_max="auto"`` (the longest training sequence's
  number of network steps);
- ``rnn``: ``cell="rnn"`` (no chrono; "auto" means None for it).

``--task temporal`` runs the temporal order problem (experiment 6a; ``make_temporal_order``,
``LSTMClassifier`` with the same settings; solved when every class probability is within 0.3 of
the one-hot class) instead.  The readout is the last state so that the task measures memory
(the mean over steps gives every step a short path to the output).

Run::

    python benchmarks/bench_chrono_defaults.py [--task adding|temporal] [--lengths 100 200]
        [--configs lstm-none lstm-auto rnn] [--max-iter 30] [--n-train 10000] [--n-test 2560]

``--task ucr-cv`` instead cross-validates ``LSTMClassifier(hidden_size=64)`` at its other
defaults with the settings named by ``--ucr-configs`` (:data:`UCR_CONFIGS`: ``chrono_t_max``
None, "auto", the narrower variants of :func:`chrono_variant`, each also with
``readout="last"``) inside the training splits of the five UCR development sets (the folds and
data of ``bench_accuracy.py --cv``, fold k's model seeded ``k + --seed-offset``; ``--sets`` adds
or picks sets, e.g. the generated one; the test splits are not read).

Each run prints one Markdown table row (task, T, configuration, fitted ``chrono_t_max_``,
test share solved, epochs, stop reason, training seconds); the CPU and the load at the start
are printed first.  The figures are recorded in ``benchmarks/CHRONO_DEFAULTS.md``.
"""

import argparse
import contextlib
import functools
import time
import warnings

import numpy as np
from _machine import machine as _machine_line

from seqlstm import LSTMClassifier, LSTMRegressor
from seqlstm.datasets import adding_accuracy, make_adding, make_temporal_order

CONFIGS = {
    "lstm-none": dict(cell="lstm", chrono_t_max=None),
    "lstm-auto": dict(cell="lstm", chrono_t_max="auto"),
    "lstm-mixed": dict(cell="lstm", chrono_t_max="auto", _variant=(0.5, "uniform")),
    "lstm-log": dict(cell="lstm", chrono_t_max="auto", _variant=(1.0, "log")),
    "rnn": dict(cell="rnn", chrono_t_max=None),
}

#: ucr-cv settings (beside LSTMClassifier(hidden_size=64)'s defaults) by name.  "none" is the
#: default before issue 19 (the "default" rows of CHRONO_DEFAULTS.md's second pass, measured
#: when it was the default); "default" is whatever the estimator's defaults are when run.
UCR_CONFIGS = {
    "none": dict(chrono_t_max=None),
    "default": dict(),
    "auto": dict(chrono_t_max="auto"),
    "mixed": dict(chrono_t_max="auto", _variant=(0.5, "uniform")),
    "log": dict(chrono_t_max="auto", _variant=(1.0, "log")),
    "quarter": dict(chrono_t_max="auto", _variant=(0.25, "uniform")),
    "last": dict(readout="last", chrono_t_max=None),
    "last-auto": dict(readout="last", chrono_t_max="auto"),
    "last-mixed": dict(readout="last", chrono_t_max="auto", _variant=(0.5, "uniform")),
    "last-log": dict(readout="last", chrono_t_max="auto", _variant=(1.0, "log")),
}


@contextlib.contextmanager
def chrono_variant(variant):
    """Within the block the estimators' chrono initialisation is ``apply_chrono(...,
    fraction, spread)`` for ``variant = (fraction, spread)`` (None: unchanged): the narrower
    variants screened for issue 19 (not estimator values), e.g. ``(0.5, "uniform")`` chrono on
    half of each layer direction's units, the others at the default init ("mixed"), or
    ``(1.0, "log")`` time scales log-uniform up to ``T_max`` ("log")."""
    if variant is None:
        yield
        return
    from seqlstm._init import apply_chrono
    from seqlstm.estimators import _base

    fraction, spread = variant
    _base.apply_chrono = functools.partial(apply_chrono, fraction=fraction, spread=spread)
    try:
        yield
    finally:
        _base.apply_chrono = apply_chrono


def temporal_solved(model, X, y):
    """Share of sequences whose every class probability is within 0.3 of the one-hot class."""
    proba = np.asarray(model.predict_proba(X))
    onehot = (np.asarray(y)[:, None] == model.classes_[None, :]).astype(float)
    return float(np.mean(np.abs(proba - onehot).max(axis=1) < 0.3))


def run(task, length, config, n_train, n_test, max_iter, hidden=64, seed=0, n_jobs=1):
    """Fit one configuration; returns ``(solved share, model, training seconds)``."""
    make = make_adding if task == "adding" else make_temporal_order
    X, y = make(n_train, length, random_state=seed)
    X_test, y_test = make(n_test, length, random_state=seed + 1000)
    cls = LSTMRegressor if task == "adding" else LSTMClassifier
    settings = dict(CONFIGS[config])
    variant = settings.pop("_variant", None)
    model = cls(hidden_size=hidden, max_iter=max_iter, frame_stride=1, readout="last",
                random_state=seed, n_jobs=n_jobs, **settings)
    start = time.perf_counter()
    with warnings.catch_warnings(), chrono_variant(variant):
        warnings.simplefilter("ignore")  # convergence warnings: the stop reason is reported
        model.fit(X, y)
    seconds = time.perf_counter() - start
    if task == "adding":
        solved = float(adding_accuracy(np.asarray(y_test), np.asarray(model.predict(X_test))))
    else:
        solved = temporal_solved(model, X_test, y_test)
    return solved, model, seconds


def cv_fold(data, name, fold, seed, **settings):
    """``bench_accuracy.cv_fold`` (same stratified folds) with the model seeded ``seed``."""
    import bench_accuracy as acc
    from sklearn.model_selection import StratifiedKFold

    X, y = acc.load_train(data, name)
    folds = StratifiedKFold(n_splits=acc.N_FOLDS, shuffle=True, random_state=0)
    fit_idx, val_idx = list(folds.split(np.zeros(len(y)), y))[fold]
    settings = dict(settings)
    with chrono_variant(settings.pop("_variant", None)):
        model, seconds = acc.fit_model(X[fit_idx], y[fit_idx], 64, seed=seed, **settings)
    return acc.accuracy(model, X[val_idx], y[val_idx]), seconds


def ucr_cv(data, jobs, names=("none", "auto"), seed_offset=0, sets=None):
    """Fold accuracies of the `names` settings (:data:`UCR_CONFIGS`) on each UCR set's training
    split (the folds of ``bench_accuracy.cv_fold``; fold k's model seeded ``k + seed_offset``,
    0 as there); prints one Markdown row per configuration."""
    from concurrent.futures import ProcessPoolExecutor

    import bench_accuracy as acc

    sets = tuple(acc.SETS if sets is None else sets)
    configs = {name: UCR_CONFIGS[name] for name in names}
    tasks = [(config, name, fold) for config in configs for name in sets
             for fold in range(acc.N_FOLDS)]
    with ProcessPoolExecutor(jobs) as pool:
        futures = [pool.submit(cv_fold, data, name, fold, fold + seed_offset, **configs[config])
                   for config, name, fold in tasks]
        results = [f.result() for f in futures]
    folds = {}
    for (config, name, _), (score, _) in zip(tasks, results):
        folds.setdefault(config, {}).setdefault(name, []).append(score)
    print("| settings | " + " | ".join(sets) + f" | mean of the {len(sets)} sets |")
    print("|---|" + "---|" * (len(sets) + 1))
    for config, by_set in folds.items():
        means = [float(np.mean(by_set[name])) for name in sets]
        cells = [f"{m:.3f} ({', '.join(f'{v:.3f}' for v in by_set[name])})"
                 for m, name in zip(means, sets)]
        print(f"| {config} {configs[config]} seeds +{seed_offset} | " + " | ".join(cells)
              + f" | {np.mean(means):.3f} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("adding", "temporal", "ucr-cv"), default="adding")
    parser.add_argument("--lengths", type=int, nargs="+", default=[100])
    parser.add_argument("--configs", nargs="+", choices=tuple(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-test", type=int, default=2_560)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--data", default=None,
                        help="ucr-cv: folder of the UCR .npz files (default: bench_accuracy's)")
    parser.add_argument("--jobs", type=int, default=2, help="ucr-cv: processes")
    parser.add_argument("--ucr-configs", nargs="+", choices=tuple(UCR_CONFIGS),
                        default=["none", "auto"], help="ucr-cv: settings")
    parser.add_argument("--sets", nargs="+", default=None,
                        help="ucr-cv: the sets (default: the five UCR sets; bench_accuracy's "
                             "COMPARED names, e.g. the generated one)")
    parser.add_argument("--seed-offset", type=int, default=0,
                        help="ucr-cv: fold k's model is seeded k + this")
    args = parser.parse_args(argv)
    print(f"# {_machine_line()}", flush=True)
    if args.task == "ucr-cv":
        import pathlib

        import bench_accuracy as acc

        default = acc.ROOT / ".." / "shared" / "data" / "ucr"
        ucr_cv(pathlib.Path(args.data) if args.data else default, args.jobs,
               args.ucr_configs, args.seed_offset, args.sets)
        return
    print("| task | T | configuration | chrono_t_max_ | solved | epochs | stop | seconds |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    for length in args.lengths:
        for config in args.configs:
            solved, model, seconds = run(args.task, length, config, args.n_train, args.n_test,
                                         args.max_iter, n_jobs=args.n_jobs)
            print(f"| {args.task} | {length} | {config} | {model.chrono_t_max_} | "
                  f"{solved:.1%} | {model.n_iter_} | {model.stop_reason_} | {seconds:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
