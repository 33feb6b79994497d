"""One long record trained with truncated BPTT
===========================================

Train on one long record with truncated BPTT, carrying the state along the whole record.

A synthetic daily river record (rain and temperature driving a slow groundwater store and a
fast runoff store; decades of daily steps) is one sequence.  ``LSTMRegressor(return_sequences=
True, tbptt=(k1, k2))`` trains along it window by window: one optimiser step per ``k1`` days,
gradients through ``k2`` days, the state carried from window to window, so memory grows with
``k2``, not with the record.  ``spinup`` leaves the first year out of the loss and the score.
The held-out last part is predicted starting from the state at the end of the training part
(``initial_state`` / ``return_state``), exactly as if the whole record were predicted at once.

Run::

    python examples/long_record_tbptt.py
    python examples/long_record_tbptt.py --quick     # a tiny run in seconds (as in CI)
"""

import argparse
import time

import numpy as np

from seqlstm import LSTMRegressor, metrics


def make_record(n_days, seed=0):
    """Daily rain, temperature (inputs) and flow (target) of one catchment."""
    rng = np.random.default_rng(seed)
    day = np.arange(n_days)
    temp = 10 + 8 * np.sin(2 * np.pi * day / 365.25) + rng.normal(0, 2, n_days)
    rain = np.where(rng.random(n_days) < 0.3, rng.gamma(0.8, 8.0, n_days), 0.0)
    fast = slow = 0.0
    flow = np.empty(n_days)
    for t in range(n_days):
        evap = max(temp[t], 0.0) * 0.05
        fast = 0.7 * fast + 0.6 * rain[t]
        slow = 0.98 * slow + 0.4 * rain[t] - evap * (slow > evap)
        flow[t] = 0.3 * fast + 0.02 * slow
    X = np.stack([rain, temp], axis=-1)[None]          # (1 record, time, 2 inputs)
    return X, flow[None, :, None]                      # (1 record, time, 1 target)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run (3000 days, 1 epoch): checks the script works")
    args = parser.parse_args(argv)
    n_days, epochs = (3000, 1) if args.quick else (40 * 365, 15)
    X, y = make_record(n_days)
    cut = int(0.8 * n_days)

    model = LSTMRegressor(hidden_size=32, return_sequences=True, tbptt=(50, 100), spinup=365,
                          max_iter=epochs, learning_rate_init=3e-3, random_state=0)
    start = time.perf_counter()
    model.fit(X[:, :cut], y[:, :cut])
    print(f"fit on one record of {cut} days: {model.n_iter_} epochs of "
          f"{-(-cut // 50)} optimiser steps, {time.perf_counter() - start:.1f} s")

    train_pred, state = model.predict(X[:, :cut], return_state=True)
    test_pred = model.predict(X[:, cut:], initial_state=state)      # continues the state
    whole = model.predict(X)
    assert np.array_equal(np.concatenate([train_pred, test_pred], axis=1), whole)
    print("predicting in two pieces equals predicting the whole record: True")
    nse_train = float(metrics.nse(y[0, 365:cut, 0], train_pred[0, 365:, 0]))
    nse_test = float(metrics.nse(y[0, cut:, 0], test_pred[0, :, 0]))
    print(f"Nash-Sutcliffe efficiency: training part {nse_train:.3f}, held-out part "
          f"{nse_test:.3f}")

    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    days = np.arange(cut, min(n_days, cut + 730))
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(days, y[0, days, 0], "k", lw=1, label="flow")
    ax.plot(days, test_pred[0, days - cut, 0], "C0", lw=1, label="LSTM (state carried)")
    ax.set_xlabel("day")
    ax.legend()
    fig.tight_layout()
    fig.savefig("long_record.png", dpi=100)


if __name__ == "__main__":
    main()
