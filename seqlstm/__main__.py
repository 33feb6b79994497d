"""Command line: ``python -m seqlstm demo``.

The demo reproduces, in small, the central claim of Hochreiter & Schmidhuber (1997): on the
adding problem (experiment 4) an LSTM learns a dependency across the whole sequence that a
vanilla RNN trained the same way does not, and the gap grows with the sequence length.  For each
length it trains an :class:`~seqlstm.LSTMRegressor` with ``cell="lstm"`` and one with
``cell="rnn"`` on the same data, and prints the fraction of fresh test sequences predicted with
absolute error < 0.04 (the paper's criterion).  A plot is saved when matplotlib is installed.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

PRESETS = {
    # lengths, training sequences, epochs, hidden units
    "default": ((12, 25, 50), 3000, 300, 32),
    "quick": ((12, 20), 200, 2, 4),
}


def run_demo(lengths, n_train, n_test, epochs, hidden_size, learning_rate, batch_size, seed,
             n_jobs=None, out=None):
    """Train an LSTM and a vanilla RNN on the adding problem for each length.

    Parameters
    ----------
    lengths : sequence of int
        Minimal sequence lengths T (each >= 11).
    n_train, n_test : int
        Number of training and (fresh) test sequences per length.
    epochs : int
        Training epochs (``max_iter``) of each model.
    hidden_size : int
        Hidden units of both models.
    learning_rate : float
        Adam's ``learning_rate_init``.
    batch_size : int
        Minibatch size.
    seed : int
        Seed of the data and of the models.
    n_jobs : int or None
        Threads.
    out : file, optional
        Where the table is printed (default: sys.stdout).

    Returns
    -------
    list of dict
        One row per length: ``length``, ``lstm``, ``rnn`` (fractions correct), ``seconds``.
    """
    from .datasets import adding_accuracy, make_adding
    from .estimators import LSTMRegressor

    out = sys.stdout if out is None else out
    print("Adding problem (Hochreiter & Schmidhuber 1997, exp. 4): fraction of "
          f"{n_test} test sequences with |error| < 0.04", file=out)
    print(f"{n_train} training sequences, {epochs} epochs, {hidden_size} hidden units, "
          f"Adam lr={learning_rate}, batch {batch_size}", file=out)
    print(f"{'length T':>9} {'LSTM':>7} {'RNN':>7} {'time [s]':>9}", file=out, flush=True)
    rows = []
    for i, length in enumerate(lengths):
        start = time.perf_counter()
        X, y = make_adding(n_train, length, random_state=seed + i)
        X_test, y_test = make_adding(n_test, length, random_state=seed + 1000 + i)
        row = {"length": int(length)}
        for cell in ("lstm", "rnn"):
            model = LSTMRegressor(
                hidden_size=hidden_size, cell=cell, max_iter=epochs,
                learning_rate_init=learning_rate, batch_size=batch_size, random_state=seed,
                n_iter_no_change=epochs, n_jobs=n_jobs,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, y)
            row[cell] = adding_accuracy(y_test, model.predict(X_test))
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
        print(f"{length:>9d} {row['lstm']:>7.1%} {row['rnn']:>7.1%} {row['seconds']:>9.1f}",
              file=out, flush=True)
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
    demo.add_argument("--lengths", type=int, nargs="+", help="minimal sequence lengths T")
    demo.add_argument("--n-train", type=int, help="training sequences per length")
    demo.add_argument("--n-test", type=int, default=None, help="test sequences (default 2560)")
    demo.add_argument("--epochs", type=int, help="training epochs per model")
    demo.add_argument("--hidden-size", type=int, help="hidden units")
    demo.add_argument("--learning-rate", type=float, default=2e-2)
    demo.add_argument("--batch-size", type=int, default=50)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--n-jobs", type=int, default=None)
    demo.add_argument("--plot", default="seqlstm_demo.png",
                      help="plot file (saved when matplotlib is installed)")
    args = parser.parse_args(argv)

    preset = PRESETS["quick" if args.quick else "default"]
    lengths = args.lengths or preset[0]
    n_train = args.n_train or preset[1]
    epochs = args.epochs or preset[2]
    hidden = args.hidden_size or preset[3]
    n_test = args.n_test or (100 if args.quick else 2560)
    start = time.perf_counter()
    rows = run_demo(lengths, n_train, n_test, epochs, hidden, args.learning_rate,
                    args.batch_size, args.seed, n_jobs=args.n_jobs)
    print(f"total {time.perf_counter() - start:.0f} s (first run includes ~30 s of "
          "one-off Numba compilation)")
    if plot_rows(rows, args.plot):
        print(f"plot saved to {args.plot}")
    else:
        print("matplotlib not installed: no plot (pip install seqlstm[plot])")
    return 0


if __name__ == "__main__":
    sys.exit(main())
