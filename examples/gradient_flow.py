"""The vanishing gradient made visible
===================================

The vanishing gradient made visible: a vanilla RNN against an LSTM on the adding problem.

Trains a small tanh RNN and a small LSTM on the adding problem (Hochreiter & Schmidhuber 1997,
experiment 4) with the same budget, then plots (or prints) the norm of the loss gradient with
respect to the input at each lag before the prediction.  The RNN's curve falls off
exponentially with the lag; the LSTM's stays orders of magnitude higher, which is what lets it
learn the long time lag at all.

Run::

    python examples/gradient_flow.py            # prints the curves; plots if matplotlib exists
    python examples/gradient_flow.py --steps 2500 --length 60
    python examples/gradient_flow.py --quick    # a tiny run in seconds (as in CI)
"""

import argparse

import numpy as np

from seqlstm import Adam, RecurrentNetwork
from seqlstm.datasets import adding_accuracy, make_adding
from seqlstm.inspect import gradient_flow


def train(cell, length=52, hidden_size=32, steps=1500, batch_size=32, learning_rate=3e-3,
          random_state=0):
    """Train ``cell`` on fresh adding-problem batches with Adam; return the network.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru", ...}
    length : int
        Minimal sequence length of the adding problem.
    hidden_size, steps, batch_size : int
    learning_rate : float
    random_state : int

    Returns
    -------
    RecurrentNetwork
    """
    net = RecurrentNetwork(2, hidden_size, cell=cell, output_size=1, random_state=random_state)
    opt = Adam(learning_rate=learning_rate)
    rng = np.random.RandomState(random_state)
    for _ in range(steps):
        X, y = make_adding(batch_size, length=length, random_state=rng)
        _, grad = net.loss_and_grad(X.values, y.values[:, None])
        opt.update_params(net.params, grad)
    return net


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--length", type=int, default=52)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run (length 12, 20 steps, 4 units, 32 test sequences): "
                             "checks the script works; the curves are meaningless")
    args = parser.parse_args(argv)
    n_test = 256
    if args.quick:
        args.length, args.steps, args.hidden, n_test = 12, 20, 4, 32

    X_test, y_test = make_adding(n_test, length=args.length, random_state=12345)
    curves = {}
    for cell in ("rnn", "lstm"):
        net = train(cell, args.length, args.hidden, args.steps)
        pred = net.forward_last(X_test.values)[:, 0]
        mse = float(np.mean((pred - y_test.values) ** 2))
        acc = adding_accuracy(y_test.values, pred)
        flow = gradient_flow(net, X_test, y_test.values[:, None])
        curves[cell] = flow.sel(wrt="input")
        print(f"{cell:>4}: test MSE {mse:.4f} (predicting the mean gives "
              f"{np.var(y_test.values):.4f}), accuracy {acc:.2f}")
    print("\n lag   |dL/dx| RNN    |dL/dx| LSTM   LSTM/RNN")
    for lag in (0, 1, 2, 5, 10, 20, 30, 40, 50):
        if lag >= curves["rnn"].sizes["lag"]:
            break
        r, m = float(curves["rnn"].sel(lag=lag)), float(curves["lstm"].sel(lag=lag))
        print(f"{lag:4d}   {r:12.3e}   {m:12.3e}   {m / r:10.3g}")
    if args.no_plot:
        return curves
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: no plot)")
        return curves
    fig, ax = plt.subplots(figsize=(6, 4))
    for cell, curve in curves.items():
        ax.semilogy(curve["lag"], curve, label=cell.upper())
    ax.set_xlabel("lag before the prediction (steps)")
    ax.set_ylabel("mean |dL/dx_t|")
    ax.set_title("Gradient flow on the adding problem")
    ax.legend()
    fig.tight_layout()
    fig.savefig("gradient_flow.png", dpi=120)
    print("\nsaved gradient_flow.png")
    return curves


if __name__ == "__main__":
    main()
