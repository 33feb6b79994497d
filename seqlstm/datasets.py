"""Classic long-time-lag tasks and a chaotic series, generated as labeled DataArrays.

The tasks of Hochreiter & Schmidhuber (1997), "Long short-term memory", Neural Computation 9(8),
that showed what an LSTM can do and a plain RNN cannot:

- :func:`make_adding`: the adding problem (experiment 4), scored by :func:`adding_accuracy`;
- :func:`make_temporal_order`: the temporal order problem (experiment 6);
- :func:`make_embedded_reber`: next-symbol prediction on the embedded Reber grammar
  (experiment 1), scored by :func:`reber_correct`;

and :func:`make_mackey_glass`, the Mackey-Glass delay differential equation, a standard chaotic
series for forecasting.

Every generator takes ``random_state`` (None, an int or a ``numpy.random.RandomState``, as in
scikit-learn) and returns DataArrays with dims ``("sample", "time", "feature")``, the dim names
that seqlstm's estimators expect by default.  Sequences of different lengths are NaN-padded at
the end.
"""

import numpy as np
import xarray as xr
from sklearn.utils import check_random_state

__all__ = [
    "make_adding",
    "adding_accuracy",
    "make_temporal_order",
    "TEMPORAL_ORDER_SYMBOLS",
    "make_embedded_reber",
    "reber_correct",
    "REBER_SYMBOLS",
    "make_mackey_glass",
]

_DIMS = ("sample", "time", "feature")


def _check_int(name, value, minimum):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}; found {value!r}.")


def _pad(values, lengths):
    """Set time steps ``t >= lengths[i]`` of ``values`` (n_samples, n_time, ...) to NaN."""
    padding = np.arange(values.shape[1]) >= np.asarray(lengths)[:, np.newaxis]
    values[padding] = np.nan
    return values


# ---------------------------------------------------------------------------------------------
# Adding problem


def make_adding(n_samples, length=100, random_state=None):
    """Generate the adding problem (Hochreiter & Schmidhuber 1997, experiment 4).

    Each time step is a pair (value, marker).  Values are uniform in [-1, 1]; markers are 0
    except for exactly two pairs marked 1.0 and the first and last pairs marked -1.0.  The
    target, given at the end of the sequence, is ``0.5 + (X1 + X2) / 4`` where X1 and X2 are
    the values of the two pairs marked 1.0.  A sequence counts as correct when the absolute error
    is below 0.04 (:func:`adding_accuracy`).

    Parameters
    ----------
    n_samples : int
        Number of sequences.
    length : int, default 100
        Minimal sequence length T (at least 11).  Each sequence length is drawn uniformly among
        the integers T, ..., T + T // 10.
    random_state : None, int or numpy.random.RandomState, default None
        Seed or generator for reproducible output.

    Returns
    -------
    X : xarray.DataArray of shape (n_samples, max_length, 2)
        Dims ``("sample", "time", "feature")``, feature coordinate ``["value", "marker"]``;
        NaN after the end of each sequence.
    y : xarray.DataArray of shape (n_samples,)
        Dims ``("sample",)``: the targets, in [0, 1].

    Notes
    -----
    Following the paper: X1 is marked among the first 10 pairs, then X2 among the first
    ``T // 2 - 1`` still-unmarked pairs (so X2 may come before X1).  Interpretation of the
    paper's "X1 is set to zero if pair 1 is marked": whenever the first pair is marked (by either
    draw) its value is set to 0 and its marker is 1.0 instead of -1.0, so the target is always
    ``0.5 + (sum of the values marked 1.0) / 4``.  The last pair (index >= T - 1 >= 10) can never
    be marked, so its marker is always -1.0; this is why T must be at least 11.

    Examples
    --------
    >>> from seqlstm.datasets import make_adding
    >>> X, y = make_adding(4, length=20, random_state=0)
    >>> X.dims, y.dims
    (('sample', 'time', 'feature'), ('sample',))
    """
    _check_int("n_samples", n_samples, 1)
    _check_int("length", length, 11)
    rng = check_random_state(random_state)
    lengths = rng.randint(length, length + length // 10 + 1, size=n_samples)
    rows = np.arange(n_samples)
    values = rng.uniform(-1.0, 1.0, size=(n_samples, lengths.max()))
    first = rng.randint(10, size=n_samples)
    second = rng.randint(length // 2 - 1, size=n_samples)
    second += second >= first  # the k-th still-unmarked pair, counting from 0

    markers = np.zeros_like(values)
    markers[:, 0] = -1.0
    markers[rows, lengths - 1] = -1.0
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    values[markers[:, 0] == 1.0, 0] = 0.0  # "X1 is set to zero if pair 1 is marked"
    target = 0.5 + (values[rows, first] + values[rows, second]) / 4.0

    X = xr.DataArray(
        _pad(np.stack([values, markers], axis=-1), lengths),
        dims=_DIMS,
        coords={"feature": ["value", "marker"]},
        name="adding",
        attrs={"description": "Adding problem (Hochreiter & Schmidhuber 1997, experiment 4)",
               "min_length": length},
    )
    y = xr.DataArray(target, dims=("sample",), name="target",
                     attrs={"description": "0.5 + (X1 + X2) / 4"})
    return X, y


def adding_accuracy(y_true, y_pred, threshold=0.04):
    """Fraction of adding-problem sequences whose absolute error is below `threshold`.

    Parameters
    ----------
    y_true : array-like or DataArray of shape (n_samples,)
        Targets from :func:`make_adding`.
    y_pred : array-like or DataArray with n_samples values
        Predictions (a trailing output axis of size 1 is fine).
    threshold : float, default 0.04
        The paper's criterion.

    Returns
    -------
    float
        Fraction of correct sequences, in [0, 1].
    """
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_pred: expected {y_true.size} values like y_true; found {y_pred.size}."
        )
    return float(np.mean(np.abs(y_true - y_pred) < threshold))


# ---------------------------------------------------------------------------------------------
# Temporal order

#: Input symbols of the temporal order problem: distractors, relevant symbols, start, trigger.
TEMPORAL_ORDER_SYMBOLS = ["a", "b", "c", "d", "X", "Y", "E", "B"]


def make_temporal_order(n_samples, length=100, n_relevant=2, random_state=None):
    """Generate the temporal order problem (Hochreiter & Schmidhuber 1997, experiment 6).

    A sequence starts with the symbol E, ends with the trigger symbol B, and is otherwise made
    of random distractors a, b, c, d, except at ``n_relevant`` widely separated positions that
    hold X or Y.  The class is the order of the relevant symbols: "XX", "XY", "YX", "YY" for two
    (the paper's classes Q, R, S, U), "XXX", ..., "YYY" for three (Q, R, S, U, V, A, B, C).

    Parameters
    ----------
    n_samples : int
        Number of sequences.
    length : int, default 100
        Minimal sequence length T (at least 10).  Lengths are uniform in [T, T + T // 10].
    n_relevant : {2, 3}, default 2
        Number of relevant symbols (experiment 6a or 6b).
    random_state : None, int or numpy.random.RandomState, default None
        Seed or generator for reproducible output.

    Returns
    -------
    X : xarray.DataArray of shape (n_samples, max_length, 8)
        One-hot symbols, dims ``("sample", "time", "feature")``, feature coordinate
        ``["a", "b", "c", "d", "X", "Y", "E", "B"]``; NaN after the end of each sequence.
    y : xarray.DataArray of str, shape (n_samples,)
        The class: the relevant symbols in order, e.g. "XY".

    Notes
    -----
    The paper's positions for T = 100 (lengths 100 to 110) are t1 in [10, 20] and t2 in [50, 60]
    for two relevant symbols; t1 in [10, 20], t2 in [33, 43] and t3 in [66, 76] for three.  They
    are used as 0-based time indices (E at index 0) and scaled with T: t1 in [T//10, T//5],
    t2 in [T//2, T//2 + T//10] (two symbols), or t2 in [T//3, T//3 + T//10] and
    t3 in [2T//3, 2T//3 + T//10] (three).  The paper's criterion: solved when every output's
    absolute error at the end of the sequence is below 0.3.
    """
    _check_int("n_samples", n_samples, 1)
    _check_int("length", length, 10)
    if n_relevant not in (2, 3):
        raise ValueError(f"n_relevant: expected 2 or 3; found {n_relevant!r}.")
    rng = check_random_state(random_state)
    T = length
    if n_relevant == 2:
        ranges = [(T // 10, T // 5), (T // 2, T // 2 + T // 10)]
    else:
        ranges = [(T // 10, T // 5), (T // 3, T // 3 + T // 10),
                  (2 * T // 3, 2 * T // 3 + T // 10)]
    lengths = rng.randint(T, T + T // 10 + 1, size=n_samples)
    rows = np.arange(n_samples)
    symbols = rng.randint(4, size=(n_samples, lengths.max()))  # distractors a, b, c, d
    symbols[:, 0] = 6  # E
    symbols[rows, lengths - 1] = 7  # B, the trigger
    relevant = rng.randint(2, size=(n_samples, n_relevant))  # 0: X, 1: Y
    for k, (low, high) in enumerate(ranges):
        symbols[rows, rng.randint(low, high + 1, size=n_samples)] = 4 + relevant[:, k]
    classes = np.array(["".join("XY"[r] for r in row) for row in relevant])

    X = xr.DataArray(
        _pad(np.eye(8)[symbols], lengths),
        dims=_DIMS,
        coords={"feature": TEMPORAL_ORDER_SYMBOLS},
        name="temporal_order",
        attrs={"description": "Temporal order problem (Hochreiter & Schmidhuber 1997, "
                              f"experiment 6{'ab'[n_relevant - 2]})",
               "min_length": length},
    )
    return X, xr.DataArray(classes, dims=("sample",), name="order")


# ---------------------------------------------------------------------------------------------
# Embedded Reber grammar

#: The seven symbols of the Reber grammar, in the order of the one-hot features.
REBER_SYMBOLS = ["B", "T", "P", "S", "X", "V", "E"]

# Reber grammar: state -> [(symbol, next state)]; state 5 is the end (then comes "E").
_REBER = {
    0: [("T", 1), ("P", 2)],
    1: [("S", 1), ("X", 3)],
    2: [("T", 2), ("V", 4)],
    3: [("X", 2), ("S", 5)],
    4: [("P", 3), ("V", 5)],
}
_END = 5


def _embedded_reber_string(rng):
    """One embedded Reber string and, for each symbol, the set of symbols that may follow."""
    branch = "TP"[rng.randint(2)]
    symbols = ["B", branch, "B"]
    following = [{"T", "P"}, {"B"}, {"T", "P"}]
    state = 0
    while state != _END:
        options = _REBER[state]
        symbol, state = options[rng.randint(len(options))]
        symbols.append(symbol)
        following.append({"E"} if state == _END else {s for s, _ in _REBER[state]})
    symbols += ["E", branch, "E"]
    following += [{branch}, {"E"}, set()]
    return "".join(symbols), following


def make_embedded_reber(n_samples, random_state=None):
    """Generate embedded Reber grammar strings for next-symbol prediction.

    Hochreiter & Schmidhuber (1997), experiment 1.  An embedded Reber string is
    ``B T <Reber string> T E`` or ``B P <Reber string> P E``: predicting the second-to-last
    symbol requires remembering the second symbol across the whole inner string.

    Parameters
    ----------
    n_samples : int
        Number of strings.
    random_state : None, int or numpy.random.RandomState, default None
        Seed or generator for reproducible output.  Every choice in the grammar has
        probability 1/2.

    Returns
    -------
    X : xarray.DataArray of shape (n_samples, max_length - 1, 7)
        One-hot symbols (features ``["B", "T", "P", "S", "X", "V", "E"]``), dims
        ``("sample", "time", "feature")``: every symbol of each string except the final E, which
        has no successor; NaN after the end.  The non-index coordinate ``string`` (along
        ``sample``) holds the whole strings.
    y : xarray.DataArray of shape (n_samples, max_length - 1, 7)
        Per-step multi-hot targets, dims ``("sample", "time", "symbol")``: 1 for every symbol
        that the grammar allows next, 0 otherwise; NaN at padding.

    See Also
    --------
    reber_correct : The paper's success criterion.
    """
    _check_int("n_samples", n_samples, 1)
    rng = check_random_state(random_state)
    strings, followings = zip(*(_embedded_reber_string(rng) for _ in range(n_samples)))
    lengths = np.array([len(s) - 1 for s in strings])
    index = {s: k for k, s in enumerate(REBER_SYMBOLS)}
    inputs = np.full((n_samples, lengths.max(), 7), np.nan)
    targets = np.full_like(inputs, np.nan)
    for i, (string, following) in enumerate(zip(strings, followings)):
        inputs[i, : lengths[i]] = np.eye(7)[[index[s] for s in string[:-1]]]
        for t, allowed in enumerate(following[:-1]):
            targets[i, t] = [s in allowed for s in REBER_SYMBOLS]
    X = xr.DataArray(
        inputs,
        dims=_DIMS,
        coords={"feature": REBER_SYMBOLS, "string": ("sample", list(strings))},
        name="embedded_reber",
        attrs={"description": "Embedded Reber grammar (Hochreiter & Schmidhuber 1997, "
                              "experiment 1)"},
    )
    y = xr.DataArray(targets, dims=("sample", "time", "symbol"),
                     coords={"symbol": REBER_SYMBOLS}, name="next_symbols")
    return X, y


def reber_correct(y_true, y_pred):
    """Whether all next symbols of each string are predicted correctly.

    The criterion of Hochreiter & Schmidhuber (1997): at every step, the output units of the
    possible next symbols are the most active ones, that is, the least active of them is more
    active than every other unit.

    Parameters
    ----------
    y_true : array-like or DataArray of shape (n_samples, n_time, 7)
        Multi-hot targets from :func:`make_embedded_reber` (NaN at padding).
    y_pred : array-like or DataArray of shape (n_samples, n_time, 7)
        Predicted scores or probabilities, in the same symbol order.

    Returns
    -------
    ndarray of bool, shape (n_samples,)
        True for each string whose every symbol is predicted correctly; ``.all()`` is the
        paper's criterion for a trial, ``.mean()`` a score.
    """
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape or y_true.ndim != 3:
        raise ValueError(
            f"y_pred: expected the shape of y_true {y_true.shape} (n_samples, n_time, "
            f"n_symbols); found {y_pred.shape}."
        )
    padding = np.isnan(y_true).all(axis=-1)
    possible = y_true == 1.0
    least_possible = np.where(possible, y_pred, np.inf).min(axis=-1)
    most_other = np.where(possible, -np.inf, y_pred).max(axis=-1)
    return ((least_possible > most_other) | padding).all(axis=1)


# ---------------------------------------------------------------------------------------------
# Mackey-Glass


def make_mackey_glass(
    n_samples=1, length=1000, tau=17, beta=0.2, gamma=0.1, n=10, dt=1.0, random_state=None
):
    """Integrate the Mackey-Glass delay differential equation.

    ``dx/dt = beta * x(t - tau) / (1 + x(t - tau) ** n) - gamma * x(t)``, chaotic for
    ``tau = 17`` with the default parameters.

    Parameters
    ----------
    n_samples : int, default 1
        Number of independent series.
    length : int, default 1000
        Number of time steps returned, at times 0, dt, 2 dt, ...
    tau : float, default 17
        Delay.
    beta, gamma, n : float, default 0.2, 0.1, 10
        Equation parameters.
    dt : float, default 1.0
        Sampling interval of the returned series.
    random_state : None, int or numpy.random.RandomState, default None
        Seed or generator for the initial histories.

    Returns
    -------
    xarray.DataArray of shape (n_samples, length, 1)
        Dims ``("sample", "time", "feature")``, time coordinate ``arange(length) * dt``, feature
        coordinate ``["x"]``.

    Notes
    -----
    Each series starts from a constant history ``x(t) = x0`` for ``t <= 0`` with ``x0`` uniform
    in [0.5, 1.5], drawn per sample; no transient is discarded.  The equation is integrated by
    the classical Runge-Kutta method with an internal step ``h = dt / m <= 0.1``
    (``m = ceil(dt / 0.1)``); the delay is rounded to a whole number of internal steps and the
    delayed value at half steps is interpolated linearly.
    """
    _check_int("n_samples", n_samples, 1)
    _check_int("length", length, 1)
    if not tau > 0 or not dt > 0:
        raise ValueError(f"tau, dt: expected positive values; found tau={tau}, dt={dt}.")
    rng = check_random_state(random_state)
    substeps = int(np.ceil(dt / 0.1 - 1e-9))
    h = dt / substeps
    delay = max(1, int(round(tau / h)))
    n_steps = (length - 1) * substeps

    def rate(x, x_delayed):
        return beta * x_delayed / (1.0 + x_delayed**n) - gamma * x

    x = np.empty((delay + n_steps + 1, n_samples))  # row k is time (k - delay) * h
    x[: delay + 1] = rng.uniform(0.5, 1.5, size=n_samples)
    for k in range(delay, delay + n_steps):
        lagged, lagged_next = x[k - delay], x[k - delay + 1]
        lagged_half = 0.5 * (lagged + lagged_next)
        k1 = rate(x[k], lagged)
        k2 = rate(x[k] + 0.5 * h * k1, lagged_half)
        k3 = rate(x[k] + 0.5 * h * k2, lagged_half)
        k4 = rate(x[k] + h * k3, lagged_next)
        x[k + 1] = x[k] + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    series = x[delay::substeps].T  # (n_samples, length)
    return xr.DataArray(
        series[:, :, np.newaxis].copy(),
        dims=_DIMS,
        coords={"time": np.arange(length) * dt, "feature": ["x"]},
        name="mackey_glass",
        attrs={"description": "Mackey-Glass delay differential equation", "tau": tau,
               "beta": beta, "gamma": gamma, "n": n, "dt": dt},
    )
