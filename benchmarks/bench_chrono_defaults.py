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

``--task ucr-cv`` instead cross-validates ``LSTMClassifier(hidden_size=64, readout="last")`` at
its other defaults, with ``chrono_t_max`` None and "auto", inside the training splits of the five
UCR development sets (the folds, seeds and data of ``bench_accuracy.py --cv``; the test splits are
not read): does chrono help or cost when the last state is the only readout?

Each run prints one Markdown table row (task, T, configuration, fitted ``chrono_t_max_``,
test share solved, epochs, stop reason, training seconds); the CPU and the load at the start
are printed first.  The figures are recorded in ``benchmarks/CHRONO_DEFAULTS.md``.
"""

import argparse
import time
import warnings

import numpy as np
from _machine import machine as _machine_line

from seqlstm import LSTMClassifier, LSTMRegressor
from seqlstm.datasets import adding_accuracy, make_adding, make_temporal_order

CONFIGS = {
    "lstm-none": dict(cell="lstm", chrono_t_max=None),
    "lstm-auto": dict(cell="lstm", chrono_t_max="auto"),
    "rnn": dict(cell="rnn", chrono_t_max=None),
}


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
    model = cls(hidden_size=hidden, max_iter=max_iter, frame_stride=1, readout="last",
                random_state=seed, n_jobs=n_jobs, **CONFIGS[config])
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: the stop reason is reported
        model.fit(X, y)
    seconds = time.perf_counter() - start
    if task == "adding":
        solved = float(adding_accuracy(np.asarray(y_test), np.asarray(model.predict(X_test))))
    else:
        solved = temporal_solved(model, X_test, y_test)
    return solved, model, seconds


def ucr_cv(data, jobs):
    """Fold accuracies of readout="last" with chrono_t_max None and "auto" on each UCR set's
    training split (``bench_accuracy.cv_fold``); prints one Markdown row per configuration."""
    from concurrent.futures import ProcessPoolExecutor

    import bench_accuracy as acc

    configs = {"readout 'last', chrono_t_max=None": dict(readout="last"),
               "readout 'last', chrono_t_max=\"auto\"": dict(readout="last",
                                                             chrono_t_max="auto")}
    tasks = [(config, name, fold) for config in configs for name in acc.SETS
             for fold in range(acc.N_FOLDS)]
    with ProcessPoolExecutor(jobs) as pool:
        futures = [pool.submit(acc.cv_fold, data, name, fold, 64, **configs[config])
                   for config, name, fold in tasks]
        results = [f.result() for f in futures]
    folds = {}
    for (config, name, _), (score, _) in zip(tasks, results):
        folds.setdefault(config, {}).setdefault(name, []).append(score)
    print("| settings | " + " | ".join(acc.SETS) + " | mean of the 5 sets |")
    print("|---|" + "---|" * (len(acc.SETS) + 1))
    for config, by_set in folds.items():
        means = [float(np.mean(by_set[name])) for name in acc.SETS]
        cells = [f"{m:.3f} ({', '.join(f'{v:.3f}' for v in by_set[name])})"
                 for m, name in zip(means, acc.SETS)]
        print(f"| {config} | " + " | ".join(cells) + f" | {np.mean(means):.3f} |", flush=True)


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
    args = parser.parse_args(argv)
    print(f"# {_machine_line()}", flush=True)
    if args.task == "ucr-cv":
        import pathlib

        import bench_accuracy as acc

        default = acc.ROOT / ".." / "shared" / "data" / "ucr"
        ucr_cv(pathlib.Path(args.data) if args.data else default, args.jobs)
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
