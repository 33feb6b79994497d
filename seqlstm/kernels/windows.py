"""Forecasting windows gathered by index from whole records, never materialised all at once.

A forecaster's data stay as records: ``data`` of shape ``(series, time, n_vars)`` (C-contiguous,
float32 or float64; one row per series, NaN where a value is missing) and ``static`` of shape
``(series, n_static)`` (per-series attributes, possibly ``n_static = 0``).  Three int64 column
index arrays pick the variables of ``data``: ``target_cols`` (the forecast variables, whose past
is also an input), ``past_cols`` (past covariates, known up to the issue time) and
``future_cols`` (future covariates, known ahead, e.g. calendar or forcing forecasts).

A window is a pair ``(series s, start t0)`` with lookback ``L`` and horizon ``Hz``: the lookback
steps are ``t0 .. t0 + L - 1`` (the forecast is issued after step ``t0 + L - 1``) and the
horizon steps ``t0 + L .. t0 + L + Hz - 1`` (lead ``k + 1`` at horizon step ``k``).

Layout written by :func:`gather_windows` for window ``b = (s, t0)`` (buffers passed in, nothing
is allocated):

``x`` : ``(batch, L, n_in)``, ``n_in = n_targets + n_past + n_future + n_static``
    the encoder sequence; at lookback step ``j`` (time ``t = t0 + j``), in this order::

        x[b, j] = [data[s, t, target_cols], data[s, t, past_cols],
                   data[s, t, future_cols], static[s, :]]

    (the static attributes repeated at every step).
``y`` : ``(batch, Hz, n_targets)``
    the targets over the horizon, ``y[b, k] = data[s, t0 + L + k, target_cols]``, NaN kept
    (missing targets drop out of the loss).
``f`` : ``(batch, Hz, n_future)``
    the future covariates over the horizon, ``f[b, k] = data[s, t0 + L + k, future_cols]``:
    the inputs a direct multi-step head (or a decoder) reads for the steps it forecasts.

Horizon steps at or past the end of the record (``t0 + L + k >= time``, a forecast issued near
the end of a record) are written as NaN in ``y`` and ``f``; the caller supplies future
covariates there.  A window may start before the record (``t0 < 0``, start padding of a series
shorter than the lookback): its lookback steps before time 0 are written as NaN (the static
attributes are still written); at least its last lookback step must lie in the record
(``-L < t0 <= time - L``).

:func:`valid_windows` lists the windows a training epoch draws from: those that fit in the
record whole (``t0 + L + Hz <= time``) and whose inputs have no NaN (targets, past and future
covariates over the lookback, future covariates over the horizon, the static attributes); NaN
targets in the horizon are allowed.  A series given a padding start ``first >= 0`` gets the
windows ``first - L + 1 <= t0 <= time - L - Hz`` instead (they may start before the record) and
its lookback steps before ``first`` are padding, not checked.  It runs in O(time × columns) per
series with running counts of NaN rows, whatever the lookback.  Infinite values are not its
business: the data module rejects them before.

Both kernels are serial: a gather is a memory copy of ``batch × (L + Hz)`` rows, far cheaper
than the network's forward pass over the same batch.
"""

import numpy as np

from ._jit import jit


@jit
def gather_windows(data, static, series, starts, lookback, horizon, target_cols, past_cols,
                   future_cols, x, y, f):
    """Copy the windows ``(series[b], starts[b])`` of the records into ``x``, ``y``, ``f``.

    Parameters
    ----------
    data : ndarray, shape (n_series, n_time, n_vars)
        The records, C-contiguous, of the buffers' dtype.
    static : ndarray, shape (n_series, n_static)
        Static attributes per series.
    series, starts : ndarray of int64, shape (batch,)
        Window ``b`` is series ``series[b]``, lookback steps ``starts[b] .. starts[b] +
        lookback - 1`` (steps before 0 are written as NaN).
    lookback, horizon : int
        ``L >= 1`` and ``Hz >= 0``.
    target_cols, past_cols, future_cols : ndarray of int64
        Columns of ``data`` (each in ``0 .. n_vars - 1``).
    x : ndarray, shape (batch, lookback, n_targets + n_past + n_future + n_static)
    y : ndarray, shape (batch, horizon, n_targets)
    f : ndarray, shape (batch, horizon, n_future)
        Receive the windows (layout in the module docstring).  The caller checks the shapes.

    Returns
    -------
    int
        -1, or the first ``b`` whose series is out of range or whose lookback has no step in
        the record or reaches past it (``starts[b] <= -lookback`` or ``starts[b] + lookback >
        n_time``); the buffers are then written only for the windows before it.
    """
    n_series, n_time, _ = data.shape
    nt = target_cols.shape[0]
    npc = past_cols.shape[0]
    nf = future_cols.shape[0]
    ns = static.shape[1]
    o_past = nt
    o_fut = nt + npc
    o_stat = nt + npc + nf
    nan = y.dtype.type(np.nan)
    for b in range(series.shape[0]):
        s = series[b]
        t0 = starts[b]
        if s < 0 or s >= n_series or t0 <= -lookback or t0 + lookback > n_time:
            return b
        for j in range(lookback):
            xb = x[b, j]
            if t0 + j < 0:                      # start padding: before the record
                for c in range(o_stat):
                    xb[c] = nan
                for c in range(ns):
                    xb[o_stat + c] = static[s, c]
                continue
            row = data[s, t0 + j]
            for c in range(nt):
                xb[c] = row[target_cols[c]]
            for c in range(npc):
                xb[o_past + c] = row[past_cols[c]]
            for c in range(nf):
                xb[o_fut + c] = row[future_cols[c]]
            for c in range(ns):
                xb[o_stat + c] = static[s, c]
        for k in range(horizon):
            t = t0 + lookback + k
            if t < n_time:
                row = data[s, t]
                for c in range(nt):
                    y[b, k, c] = row[target_cols[c]]
                for c in range(nf):
                    f[b, k, c] = row[future_cols[c]]
            else:
                for c in range(nt):
                    y[b, k, c] = nan
                for c in range(nf):
                    f[b, k, c] = nan
    return -1


@jit
def valid_windows(data, static, lookback, horizon, target_cols, past_cols, future_cols, first):
    """List the windows that fit in their record and have no NaN input.

    Window ``(s, t0)`` is valid when ``t0 + lookback + horizon <= n_time`` and none of these is
    NaN: the target, past- and future-covariate columns at the lookback steps, the future
    covariates at the horizon steps, the series' static attributes.  NaN targets in the horizon
    are allowed.  O(n_time × columns) per series: a prefix count of rows with a NaN input.

    A series with ``first[s] >= 0`` is start-padded: its windows start at ``t0 >= first[s] -
    lookback + 1`` (possibly before the record) and its lookback steps before ``first[s]`` are
    not checked (the caller marks them as padding); ``first[s] < 0``: windows start at 0.

    Parameters
    ----------
    data : ndarray, shape (n_series, n_time, n_vars)
    static : ndarray, shape (n_series, n_static)
    lookback, horizon : int
        ``L >= 1`` and ``Hz >= 0``.
    target_cols, past_cols, future_cols : ndarray of int64
        Columns of ``data`` (each in ``0 .. n_vars - 1``; the caller checks).
    first : ndarray of int64, shape (n_series,)
        The padding start of each series (``first[s] <= n_time - 1``), or -1: not padded.

    Returns
    -------
    series, starts : ndarray of int64, shape (n_valid,)
        The valid windows, by series then start.
    skipped : ndarray of int64, shape (n_series,)
        Per series, the windows that fit in the record but have a NaN input (0 for a record
        shorter than ``lookback + horizon``, which has no window at all unless padded).
    """
    n_series, n_time, _ = data.shape
    last = n_time - lookback - horizon              # the last start whose horizon fits
    low = 0                                         # the lowest start of any series
    for s in range(n_series):
        if first[s] >= 0:
            low = min(low, first[s] - lookback + 1)
    n_win = max(last - low + 1, 0)
    nt = target_cols.shape[0]
    npc = past_cols.shape[0]
    nf = future_cols.shape[0]
    ns = static.shape[1]
    # prefix counts: bad_in[t] rows among 0..t-1 with a NaN lookback input, bad_fut[t] with a
    # NaN future covariate (the horizon's inputs)
    bad_in = np.zeros(n_time + 1, np.int64)
    bad_fut = np.zeros(n_time + 1, np.int64)
    ok = np.zeros((n_series, n_win), np.bool_)     # ok[s, i]: start low + i
    skipped = np.zeros(n_series, np.int64)
    total = 0
    for s in range(n_series):
        pad = first[s] >= 0
        lo = first[s] - lookback + 1 if pad else 0
        static_ok = True
        for c in range(ns):
            if np.isnan(static[s, c]):
                static_ok = False
        for t in range(n_time):
            row = data[s, t]
            fut = False
            for c in range(nf):
                if np.isnan(row[future_cols[c]]):
                    fut = True
            inp = fut
            for c in range(nt):
                if np.isnan(row[target_cols[c]]):
                    inp = True
            for c in range(npc):
                if np.isnan(row[past_cols[c]]):
                    inp = True
            bad_in[t + 1] = bad_in[t] + (1 if inp else 0)
            bad_fut[t + 1] = bad_fut[t] + (1 if fut else 0)
        for t0 in range(lo, last + 1):
            e = t0 + lookback
            b0 = max(t0, first[s]) if pad else t0     # padding steps are not checked
            good = (static_ok and bad_in[e] == bad_in[b0]
                    and bad_fut[e + horizon] == bad_fut[e])
            ok[s, t0 - low] = good
            if good:
                total += 1
            else:
                skipped[s] += 1
    series = np.empty(total, np.int64)
    starts = np.empty(total, np.int64)
    i = 0
    for s in range(n_series):
        for k in range(n_win):
            if ok[s, k]:
                series[i] = s
                starts[i] = low + k
                i += 1
    return series, starts, skipped


@jit
def gather_frames(values, lengths, rows, stride, out):
    """Copy the sequences ``rows[b]`` of `values` into ``out[b]``, grouped into frames.

    The sequence estimators' minibatches (:class:`seqlstm.data.batches.SequenceBatches`): like
    :func:`gather_windows` a gather by index from one copy of the data, here of whole sequences,
    each network step holding a frame of ``2 * stride`` steps (:mod:`seqlstm.data.framing`).

    Parameters
    ----------
    values : ndarray, shape (n_samples, n_time, n_features)
        Sequences, C-contiguous, of `out`'s dtype, NaN after each one's length.
    lengths : ndarray of int64, shape (n_samples,)
        Valid steps of each sequence.
    rows : ndarray of int64, shape (batch,)
        The sequences to gather (each in ``0 .. n_samples - 1``; the caller checks).
    stride : int
        Frame stride; 1 copies the sequences as they are (NaN padding included).
    out : ndarray, shape (batch, ceil(n_time / stride), n_features * (2 * stride if stride > 1
        else 1))
        Receives frame ``j`` of sequence ``rows[b]`` at ``out[b, j]``: its steps ``j * stride
        + m`` (``m < 2 * stride``), each step's features together (``out[b, j, m * F + f] =
        values[rows[b], j * stride + m, f]``); steps at or past the sequence's length are 0
        (the mean of standardised input) and frames starting at or past it NaN (padding),
        bit for bit what :func:`seqlstm.data.framing.frame_sequences` gives.
    """
    n_time = values.shape[1]
    F = values.shape[2]
    n_frames = out.shape[1]
    nan = out.dtype.type(np.nan)
    zero = out.dtype.type(0)
    for b in range(rows.shape[0]):
        r = rows[b]
        if stride == 1:
            for t in range(n_time):
                for f in range(F):
                    out[b, t, f] = values[r, t, f]
            continue
        length = lengths[r]
        used = (length + stride - 1) // stride
        for j in range(n_frames):
            ob = out[b, j]
            if j >= used:
                for c in range(ob.shape[0]):
                    ob[c] = nan
                continue
            for m in range(2 * stride):
                t = j * stride + m
                if t < length:
                    for f in range(F):
                        ob[m * F + f] = values[r, t, f]
                else:
                    for f in range(F):
                        ob[m * F + f] = zero
    return 0
