"""Compile the kernels ahead of time: ``seqlstm.precompile`` and ``python -m seqlstm precompile``.

Numba compiles a kernel the first time it meets a new combination of argument types (cell type,
dtype, array layouts) and caches the machine code on disk.  A Docker image or a cluster worker
that runs :func:`precompile` once at build time starts every later process with a warm cache:
the first fit or prediction then loads kernels instead of compiling them.

:func:`precompile` runs tiny fits and predictions through the public estimators, so it compiles
what those calls compile and nothing is listed by hand that could drift from the code: the
sequence regressor at its defaults (frames, mean-and-last readout) and one sequence at a time,
per-step targets trained along time (stateful truncated BPTT), a bidirectional stacked
regressor, the classifier, and the forecaster with its Gaussian head (windows, forecasts).
The kernels are specialised on the number of sub-batches a batch is split into (1 up to the
machine's core count, at least 8 samples each; see ``seqlstm._threads.work_units``), so the tiny
fits use batches split into one sub-batch and into the most the machine allows; batch sizes that
split into a number in between compile that variant on first use.  The cache is Numba's: under
``NUMBA_CACHE_DIR`` when that variable is set (e.g. a Docker layer), else next to the package's
sources when they are writable, else in the user's cache directory.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .cells import CELL_NAMES

__all__ = ["precompile"]

_DTYPES = ("float32", "float64")


def _names(value, allowed, arg):
    """`value` (None, a name or a sequence of names) as a tuple of names from `allowed`."""
    if value is None:
        return tuple(allowed)
    names = (value,) if isinstance(value, str) else tuple(value)
    bad = [n for n in names if n not in allowed]
    if not names or bad:
        raise ValueError(f"{arg}: expected names from {list(allowed)}; found "
                         f"{bad if bad else 'none'}.")
    return names


def _exercise(cell, dtype):
    """Tiny fits and predictions of every estimator path for one cell type and dtype."""
    from sklearn.exceptions import ConvergenceWarning

    from ._threads import MAX_UNITS
    from .estimators import LSTMClassifier, LSTMForecaster, LSTMRegressor

    rng = np.random.default_rng(0)
    full = 8 * MAX_UNITS        # a batch split into the most sub-batches; then one of 4 samples
    X = rng.standard_normal((full + 4, 24, 2))
    y = rng.standard_normal(full + 4)
    common = dict(cell=cell, dtype=dtype, hidden_size=4, max_iter=1, batch_size=full,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for params in (dict(), dict(frame_stride=1, readout="last"),
                       dict(bidirectional=True, num_layers=2)):
            LSTMRegressor(**common, **params).fit(X, y).predict(X)
        steps = LSTMRegressor(**common, return_sequences=True, frame_stride=1, tbptt=(6, 12))
        steps.fit(X, X[:, :, :1]).predict(X)
        LSTMClassifier(**common).fit(X, (y > 0).astype(int)).predict_proba(X)
        record = rng.standard_normal((2, full + 40, 2))
        fc = LSTMForecaster(lookback=8, horizon=2, loss="gaussian", **common).fit(record)
        fc.predict(record)
        fc.forecast(record, 4)


def precompile(cells=None, dtypes=None, verbose=False):
    """Compile (or load from the cache) every kernel the estimators use for these cells and dtypes.

    Parameters
    ----------
    cells : str or sequence of str, optional
        Cell types, from ``"lstm"``, ``"peephole"``, ``"cifg"``, ``"gru"``, ``"rnn"``; default
        all of them.
    dtypes : str or sequence of str, optional
        ``"float32"`` and/or ``"float64"``; default both.
    verbose : bool, default False
        Print one line per cell and dtype with the seconds it took.

    Returns
    -------
    dict
        Seconds per ``(cell, dtype)``: compilation time on a cold cache, a fraction of a second
        when the cache was already warm.

    Examples
    --------
    >>> import seqlstm
    >>> seconds = seqlstm.precompile(cells="rnn", dtypes="float64")  # doctest: +SKIP
    """
    cells = _names(cells, CELL_NAMES, "cells")
    dtypes = _names(dtypes, _DTYPES, "dtypes")
    seconds = {}
    for cell in cells:
        for dtype in dtypes:
            start = time.perf_counter()
            _exercise(cell, dtype)
            seconds[(cell, dtype)] = time.perf_counter() - start
            if verbose:
                print(f"{cell:>9} {dtype}: {seconds[(cell, dtype)]:.1f} s", flush=True)
    return seconds
