"""Command line: ``python -m seqlstm demo`` and ``python -m seqlstm precompile``.

The demo reproduces the central claim of Hochreiter & Schmidhuber (1997) on the adding problem
(experiment 4): an LSTM learns to add two values marked anywhere in a sequence of T >= 100 steps,
while a vanilla RNN trained the same way stays near chance.  For each length it trains an
:class:`~seqlstm.LSTMRegressor` with ``cell="lstm"`` (chrono-initialised gate biases, Tallec &
Ollivier 2018) epoch by epoch until it solves 99% of a validation set (or a maximum number of
epochs), trains one with ``cell="rnn"`` for as many epochs on the same data, and prints the
fraction of fresh test sequences predicted with absolute error < 0.04 (the paper's criterion).
A plot is saved when matplotlib is installed.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

#: The measured recipe: Adam at a constant 1e-3 on minibatches of 32 (larger batches or learning
#: rates left the LSTM at chance for 30 epochs at T = 100, see PITFALLS.md).
DEFAULTS = dict(n_train=10000, n_val=2560, n_test=2560, max_epochs=20, hidden_size=64,
                learning_rate=1e-3, batch_size=32, target=0.99, init="chrono")
PRESETS = {
    "default": dict(lengths=(100,)),
    "quick": dict(lengths=(12, 20), n_train=200, n_val=100, n_test=100, max_epochs=2,
                  hidden_size=4, learning_rate=1e-2),
}


def _model(cell, length, hidden_size, learning_rate, batch_size, init, seed, n_jobs):
    from .estimators import LSTMRegressor

    # the 1997 setup: the network reads one step at a time (no frames) and the output is read
    # from the state at the sequence's end (readout "last"); the rate is constant while the
    # demo trains epoch by epoch
    return LSTMRegressor(hidden_size=hidden_size, cell=cell, learning_rate_init=learning_rate,
                         learning_rate="constant", readout="last", frame_stride=1,
                         batch_size=batch_size,
                         random_state=seed, n_jobs=n_jobs,
                         chrono_t_max=length if (init == "chrono" and cell != "rnn") else None)


def _train(model, X, y, X_val, y_val, epochs, target, label, out):
    """``partial_fit`` one epoch at a time (Adam's state carries over); stops once ``target``
    of the validation set is solved when ``target`` is not None.  Returns (epochs, seconds)."""
    from .datasets import adding_accuracy

    seconds = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X, y)
        seconds += time.perf_counter() - start
        solved = adding_accuracy(y_val, model.predict(X_val))
        print(f"    {label} epoch {epoch:>2d}: training loss {model.loss_:.4f}, "
              f"validation solved {solved:6.1%}  ({seconds:.1f} s)", file=out, flush=True)
        if target is not None and solved >= target:
            break
    return epoch, seconds


def run_demo(lengths, n_train=10000, n_val=2560, n_test=2560, max_epochs=20, hidden_size=64,
             learning_rate=1e-3, batch_size=32, seed=0, init="chrono", target=0.99,
             n_jobs=None, out=None):
    """Train an LSTM and a vanilla RNN on the adding problem for each length.

    Parameters
    ----------
    lengths : sequence of int
        Minimal sequence lengths T (each >= 11).
    n_train, n_val, n_test : int
        Training, validation and (fresh) test sequences per length.
    max_epochs : int
        Most epochs of the LSTM; the RNN gets as many epochs as the LSTM used.
    hidden_size : int
        Hidden units of both models.
    learning_rate : float
        Adam's ``learning_rate_init`` (constant).
    batch_size : int
        Minibatch size.
    seed : int
        Seed of the data and of the models.
    init : {"chrono", "default"}
        The LSTM's gate biases: chrono initialisation with ``chrono_t_max=T``, or the default
        (forget-gate bias 1).
    target : float
        Share of the validation set to solve before the LSTM stops training.
    n_jobs : int or None
        Threads.
    out : file, optional
        Where progress and the table are printed (default: sys.stdout).

    Returns
    -------
    list of dict
        One row per length: ``length``, ``epochs``, ``lstm``, ``rnn`` (fractions of the test
        set solved), ``lstm_seconds``, ``rnn_seconds`` (training time).
    """
    from .datasets import adding_accuracy, make_adding

    if init not in ("chrono", "default"):
        raise ValueError(f"init: expected 'chrono' or 'default'; found {init!r}.")
    out = sys.stdout if out is None else out
    print("Adding problem (Hochreiter & Schmidhuber 1997, exp. 4): LSTM vs vanilla RNN.",
          file=out)
    print(f"{n_train} training sequences; hidden {hidden_size}, Adam lr {learning_rate} "
          f"(constant), batch {batch_size}, LSTM init {init!r}; the LSTM trains until "
          f"{target:.0%} of {n_val} validation sequences are solved (|error| < 0.04) or "
          f"{max_epochs} epochs, the RNN as many epochs.", file=out, flush=True)
    rows = []
    for i, length in enumerate(lengths):
        X, y = make_adding(n_train, length, random_state=seed + i)
        X_val, y_val = make_adding(n_val, length, random_state=seed + 500 + i)
        X_test, y_test = make_adding(n_test, length, random_state=seed + 1000 + i)
        print(f"T = {length}:", file=out, flush=True)
        row = {"length": int(length)}
        lstm = _model("lstm", length, hidden_size, learning_rate, batch_size, init, seed, n_jobs)
        row["epochs"], row["lstm_seconds"] = _train(lstm, X, y, X_val, y_val, max_epochs,
                                                    target, "LSTM", out)
        rnn = _model("rnn", length, hidden_size, learning_rate, batch_size, init, seed, n_jobs)
        _, row["rnn_seconds"] = _train(rnn, X, y, X_val, y_val, row["epochs"], None, "RNN ",
                                       out)
        row["lstm"] = adding_accuracy(y_test, lstm.predict(X_test))
        row["rnn"] = adding_accuracy(y_test, rnn.predict(X_test))
        rows.append(row)
    print(f"\nFraction of {n_test} fresh test sequences solved (|error| < 0.04):", file=out)
    print(f"{'length T':>9} {'LSTM':>7} {'RNN':>7} {'epochs':>7} {'LSTM [s]':>9} "
          f"{'RNN [s]':>8}", file=out)
    for row in rows:
        print(f"{row['length']:>9d} {row['lstm']:>7.1%} {row['rnn']:>7.1%} {row['epochs']:>7d} "
              f"{row['lstm_seconds']:>9.1f} {row['rnn_seconds']:>8.1f}", file=out, flush=True)
    return rows


def run_demo_rows(lengths, quick=False, inits=("chrono", "default"), seed=0, n_jobs=None,
                  out=None):
    """The demo's runs for each LSTM initialisation (used by ``benchmarks/bench_accuracy.py``).

    Parameters
    ----------
    lengths : sequence of int
        Minimal sequence lengths T.
    quick : bool, default False
        The ``--quick`` sizes (a smoke run) instead of the demo's.
    inits : sequence of {"chrono", "default"}
        LSTM initialisations to run.
    seed, n_jobs, out
        As in :func:`run_demo`.

    Returns
    -------
    list of dict
        :func:`run_demo`'s rows with ``init`` and ``seconds`` (LSTM plus RNN training time).
    """
    settings = {**DEFAULTS, **(PRESETS["quick"] if quick else {})}
    settings.pop("lengths", None)
    rows = []
    for init in inits:
        settings["init"] = init
        for row in run_demo(lengths, seed=seed, n_jobs=n_jobs, out=out, **settings):
            rows.append({**row, "init": init, "seconds": row["lstm_seconds"] + row["rnn_seconds"]})
    return rows


def plot_rows(rows, path):
    """Save a plot of the demo's table; returns False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    lengths = [r["length"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(lengths, [r["lstm"] for r in rows], "o-", label="LSTM")
    ax.plot(lengths, [r["rnn"] for r in rows], "s--", label="vanilla RNN")
    ax.set_xlabel("minimal sequence length T")
    ax.set_ylabel("fraction with |error| < 0.04")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Adding problem")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv=None):
    """Entry point of ``python -m seqlstm``."""
    parser = argparse.ArgumentParser(prog="python -m seqlstm",
                                     description="seqlstm command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="LSTM vs vanilla RNN on the adding problem.",
                          description=__doc__.split("\n\n")[1])
    demo.add_argument("--quick", action="store_true",
                      help="tiny sizes (a smoke test, seconds; the numbers mean nothing)")
    demo.add_argument("--lengths", type=int, nargs="+",
                      help="minimal sequence lengths T (default 100; e.g. --lengths 200 500)")
    demo.add_argument("--init", choices=("chrono", "default"), default=None,
                      help="LSTM gate-bias initialisation (default chrono, with T_max = T)")
    demo.add_argument("--n-train", type=int, help="training sequences per length")
    demo.add_argument("--n-val", type=int, help="validation sequences per length")
    demo.add_argument("--n-test", type=int, help="fresh test sequences (default 2560)")
    demo.add_argument("--max-epochs", type=int, help="most training epochs of the LSTM")
    demo.add_argument("--hidden-size", type=int, help="hidden units")
    demo.add_argument("--learning-rate", type=float, help="Adam's constant learning rate")
    demo.add_argument("--batch-size", type=int, help="minibatch size")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--n-jobs", type=int, default=None)
    demo.add_argument("--plot", default="seqlstm_demo.png",
                      help="plot file (saved when matplotlib is installed)")
    pre = sub.add_parser("precompile", help="compile the kernels ahead of time",
                         description="Compile (or load from Numba's cache) every kernel the "
                         "estimators use, so that later processes start warm (Docker images, "
                         "cluster workers).  About 20 s per cell type and dtype on 2 cores.")
    pre.add_argument("--cells", nargs="+", default=None,
                     help="cell types (default all: lstm peephole cifg gru rnn)")
    pre.add_argument("--dtypes", nargs="+", default=None,
                     help="dtypes (default both: float32 float64)")
    args = parser.parse_args(argv)
    if args.command == "precompile":
        from ._precompile import precompile

        seconds = precompile(cells=args.cells, dtypes=args.dtypes, verbose=True)
        print(f"total {sum(seconds.values()):.1f} s")
        return 0

    settings = {**DEFAULTS, **PRESETS["quick" if args.quick else "default"]}
    for key in ("lengths", "init", "n_train", "n_val", "n_test", "max_epochs", "hidden_size",
                "learning_rate", "batch_size"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    start = time.perf_counter()
    rows = run_demo(seed=args.seed, n_jobs=args.n_jobs, **settings)
    print(f"total {time.perf_counter() - start:.0f} s (a first run includes ~30 s of one-off "
          "Numba compilation)")
    if plot_rows(rows, args.plot):
        print(f"plot saved to {args.plot}")
    else:
        print("matplotlib not installed: no plot (pip install seqlstm[plot])")
    return 0


if __name__ == "__main__":
    sys.exit(main())
