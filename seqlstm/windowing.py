"""Forecasting windows as network minibatches: the forecaster's door to the window kernels.

A :class:`WindowSet` holds the (scaled) records and a list of windows ``(series, start)``; its
:meth:`WindowSet.batch` gathers a minibatch of windows by index with
:func:`seqlstm.kernels.windows.gather_windows` (memory grows with batch × window, never with
record × lookback) and lays them out as one network sequence of ``lookback + horizon`` steps:

- at a lookback step: ``[targets, past covariates, future covariates, static, 0]``;
- at a horizon step: ``[0 (targets unknown), 0 (past covariates unknown), future covariates,
  static, 1]`` — the last feature flags the steps the network forecasts;
- with ``mask_nan``: NaN inputs are set to 0 (the scaled mean) and one indicator feature per
  time-varying input column (1 where the value was NaN) is appended;
- with ``window_norm``: each window is normalised by statistics of its own lookback
  (:func:`window_statistics`), ``(value - loc) / scale``, and forecasts are taken back with
  :func:`restore`; NaN inputs (with ``mask_nan``) are then set to 0, the window's location.
- start padding (``pad_before``): a series shorter than the lookback (:func:`padding_starts`)
  has windows that start before its first observed target, even before the record.  Their
  lookback steps before ``pad_before[s]`` are padding: with ``mask_nan`` their variables are
  NaN inputs masked like any other (zeros and indicators; values observed there are kept); with
  ``pad_zero`` (windows without NaN masking) they are left out of the window statistics and
  their variables set to 0 after the normalisation (the window's location), and with ``pad_flag``
  one more input feature, after the forecast-step flag, is 1 at the padding steps.

The per-step targets are NaN over the lookback and the horizon's targets after it, so a per-step
loss counts the forecast steps only.

A direct (multi-output) network (``direct=True``) forecasts every lead at once from its state at
the end of the sequence it reads: its targets are the horizon's, flattened lead-major to
``(batch, horizon * n_targets)`` (column ``lead * n_targets + target``), and it reads the
``lookback + horizon`` steps above (``read_horizon=True``, for future covariates) or the lookback
steps alone (``read_horizon=False``; the layout's feature columns are kept, the forecast-step flag
then always 0).  :meth:`WindowSet.batch` gives the same per-step layout either way (what the
normalisation and the scores read); ``inputs`` and ``targets`` give what the network reads and is
scored on.

Window normalisation
--------------------
The records arrive standardised per variable with the fit data's statistics (the global
scaling); a window is then normalised per time-varying input column (targets, past covariates,
future covariates) with a location and a scale computed from its LOOKBACK steps only, NaN
ignored.  The horizon's targets and future covariates use the same location and scale (the
future covariates' own lookback statistics), so nothing after the issue time sets them.

- ``None``: the global scaling only (location 0, scale 1).
- ``"last"``: the targets relative to their last observed lookback value (scale 1); covariates
  are left at the global scaling.  A model of changes rather than levels.
- ``"seasonal"``: as ``"last"`` over the lookback, and each lead's target relative to the
  seasonal naive forecast of that lead: the lookback value one season before it (lead ``k + 1``
  at lookback step ``L - m + (k mod m)``, season ``m``), for the targets flagged seasonal
  (``seasonal``, :func:`seasonal_targets`); other targets, a missing (or padding) reference
  value, a season of 1 or one longer than the lookback use the last value as ``"last"`` does.
  A network whose output is 0 then forecasts seasonal naive, as one under ``"last"`` forecasts
  persistence; its locations vary by lead (``loc`` of shape ``(batch, horizon, n_targets)``).
- ``"standard"``: mean and standard deviation of each column's lookback.
- ``"robust"``: median and the median absolute deviation scaled to standard-deviation units
  (``1.4826 * MAD``, equal to the standard deviation for Gaussian values).  The MAD rather than
  the interquartile range: it resists up to half the lookback being outliers (the IQR a
  quarter), and it is NeuralForecast's robust scaler.  Where it is 0 (more than half the
  lookback equal, e.g. intermittent series) the standard deviation is used.

Degenerate windows, in the globally scaled units: a column with no observed lookback value has
location 0 (the global mean); a scale of 0 (a constant column, a single observation) becomes 1
(the global standard deviation: the window has no spread of its own to go by); every scale is at
least :data:`SCALE_FLOOR` (1e-4 of the global standard deviation), so no window divides by
(nearly) zero.  Because the location and scale of ``a * x + b`` (``a > 0``) are ``a * loc + b``
and ``a * scale``, the normalised windows do not depend on the global scaling except through
these fallbacks: the global step conditions the numbers (and sets the fallbacks' units).
"""

from __future__ import annotations

import warnings

import numpy as np

from .kernels.windows import gather_windows, valid_windows

__all__ = ["WINDOW_NORMS", "WindowSet", "list_windows", "padding_starts", "restore",
           "seasonal_targets", "time_split", "window_statistics"]

#: The window normalisations :class:`WindowSet` knows.
WINDOW_NORMS = (None, "last", "seasonal", "standard", "robust")
#: The smallest window scale, in globally scaled units (a fraction of the variable's global
#: standard deviation).
SCALE_FLOOR = 1e-4
#: The MAD of Gaussian values times this is their standard deviation (1 / Phi^-1(3/4)).
MAD_TO_STD = 1.482602218505602


def window_statistics(lookback, how, n_targets):
    """Location and scale of every column of a batch of lookbacks.

    Parameters
    ----------
    lookback : ndarray, shape (batch, lookback, n_columns)
        The windows' lookback values (targets first, then covariates), globally scaled; NaN
        where missing.
    how : {"last", "seasonal", "standard", "robust"}
        See the module docstring (``"seasonal"``'s lookback statistics are ``"last"``'s).
    n_targets : int
        The first `n_targets` columns are targets (``"last"`` normalises only those).

    Returns
    -------
    loc, scale : ndarray of float64, shape (batch, n_columns)
        ``scale >= SCALE_FLOOR``; location 0 for a column with no observed value.
    """
    lookback = np.asarray(lookback, dtype=np.float64)
    B, L, n = lookback.shape
    seen = ~np.isnan(lookback)
    count = seen.sum(axis=1)
    loc = np.zeros((B, n))
    scale = np.ones((B, n))
    if how in ("last", "seasonal"):
        # the last observed value of each target; 0 (the global mean) if none
        t = lookback[:, :, :n_targets]
        pos = L - 1 - np.argmax(seen[:, ::-1, :n_targets], axis=1)
        last = np.take_along_axis(t, pos[:, None, :], axis=1)[:, 0]
        loc[:, :n_targets] = np.where(count[:, :n_targets] > 0, last, 0.0)
        return loc, scale
    if how not in ("standard", "robust"):
        raise ValueError(f"window_norm: expected one of {WINDOW_NORMS}; found {how!r}.")
    any_seen = count > 0
    filled = np.where(seen, lookback, 0.0)
    mean = filled.sum(axis=1) / np.maximum(count, 1)
    dev = np.where(seen, lookback - mean[:, None, :], 0.0)
    std = np.sqrt((dev * dev).sum(axis=1) / np.maximum(count, 1))
    if how == "standard":
        loc, spread = mean, std
    else:
        median = _nanmedian(lookback, seen)
        spread = MAD_TO_STD * _nanmedian(np.abs(lookback - median[:, None, :]), seen)
        spread = np.where(spread > 0, spread, std)
        loc = median
    loc = np.where(any_seen, loc, 0.0)
    scale = np.where(spread > 0, spread, 1.0)
    return loc, np.maximum(scale, SCALE_FLOOR)


def _nanmedian(values, seen):
    """Median over axis 1 of `values` where `seen` (0 where nothing is seen)."""
    if seen.all():
        return np.median(values, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN columns: 0, set below
        out = np.nanmedian(np.where(seen, values, np.nan), axis=1)
    return np.where(np.isnan(out), 0.0, out)


def restore(value, loc, scale):
    """Undo a normalisation of forecasts by a location and scale per window and target: the
    window normalisation (back to the globally scaled units) and the global standardisation
    (back to the data's units) alike.

    Parameters
    ----------
    value : ndarray, shape (batch, steps, n_targets[, n_levels])
        Normalised forecasts (with a last axis of quantile levels for quantile forecasts).
    loc : ndarray, shape (batch, n_targets) or (batch, steps, n_targets), or None
        The windows' locations, one per window or (``"seasonal"``) one per step; None for a
        spread (standard deviation, interval half-width).
    scale : ndarray, shape (batch, n_targets)
        The windows' scales.

    Returns
    -------
    ndarray
        ``loc + scale * value`` for locations (means, quantiles, interval ends) and
        ``scale * value`` for spreads.
    """
    index = (slice(None), None, slice(None)) + (None,) * (np.ndim(value) - 3)
    out = scale[index] * value
    if loc is None:
        return out
    if np.ndim(loc) == 3:                                  # a location per step
        return loc[(slice(None),) * 3 + (None,) * (np.ndim(value) - 3)] + out
    return loc[index] + out


#: One-sided normal quantile of :func:`seasonal_targets`' test (a 90% test, as the M4
#: competition's seasonality test).
SEASONAL_Z = 1.6448536269514722


def seasonal_targets(values, target_cols, season):
    """Which targets have a season: the test behind ``window_norm="seasonal"``.

    A series has the season when the autocorrelation of its first differences at the seasonal
    lag is positive and significant: ``r_m > z * sqrt((1 + 2 * sum_{i<m} r_i^2) / n)`` with
    ``z`` = :data:`SEASONAL_Z` (90%, one-sided; Bartlett's standard error, the test of the M4
    competition's benchmarks, here on the differences, so a trend alone does not pass), ``n``
    the observed differences, NaN left out (pairs with a NaN do not count).  A target is
    seasonal when at least half of the series with enough differences (``n >= 3 * season``)
    pass; a target with no such series, or a season of 1, is not.

    Parameters
    ----------
    values : ndarray, shape (n_series, n_time, n_vars)
        Records in any units (the test is scale-free); NaN where missing.
    target_cols : ndarray of int64
    season : int or None

    Returns
    -------
    ndarray of bool, shape (n_targets,)
    """
    out = np.zeros(len(target_cols), bool)
    m = 1 if season is None else int(season)
    if m < 2:
        return out
    for j, c in enumerate(target_cols):
        d = np.diff(np.asarray(values[:, :, c], dtype=np.float64), axis=1)   # (series, time)
        seen = ~np.isnan(d)
        n = seen.sum(axis=1)
        mean = np.where(seen, d, 0.0).sum(axis=1) / np.maximum(n, 1)
        dev = np.where(seen, d - mean[:, None], 0.0)       # NaN pairs contribute nothing
        var = np.einsum("st,st->s", dev, dev)
        tested = (n >= 3 * m) & (var > 0)
        if not tested.any():
            continue
        dev, var, n = dev[tested], var[tested], n[tested]
        r = np.stack([np.einsum("st,st->s", dev[:, k:], dev[:, :-k]) for k in range(1, m + 1)],
                     axis=1) / var[:, None]                 # (series, lag)
        passed = r[:, -1] > SEASONAL_Z * np.sqrt((1 + 2 * np.sum(r[:, :-1] ** 2, axis=1)) / n)
        out[j] = 2 * passed.sum() >= passed.size
    return out


def padding_starts(data, target_cols, need):
    """Which series are start-padded, and from where.

    A series is padded when fewer than `need` steps run from its first observed target (any
    target column) to the end of the record: a fit needs ``lookback + horizon``, a forecast
    ``lookback``.  Longer series are not padded (they have whole windows).

    Parameters
    ----------
    data : ndarray, shape (n_series, n_time, n_vars)
    target_cols : ndarray of int64
    need : int

    Returns
    -------
    first : ndarray of int64, shape (n_series,)
        The step of the first observed target of a padded series; -1 for the others and for a
        series without any observed target.
    """
    n_time = data.shape[1]
    observed = np.zeros(data.shape[:2], bool)
    for c in target_cols:                       # one column at a time: no (series, time, k) copy
        observed |= ~np.isnan(data[:, :, c])
    seen = observed.any(axis=1)
    first = np.argmax(observed, axis=1).astype(np.int64)
    return np.where(seen & (n_time - first < need), first, -1)


def list_windows(data, static, lookback, horizon, cols, mask_nan, first=None):
    """The windows a fit draws from, and the number skipped per series.

    Parameters
    ----------
    data : ndarray, shape (n_series, n_time, n_vars)
    static : ndarray, shape (n_series, n_static)
    lookback, horizon : int
    cols : tuple of 3 ndarray of int64
        Target, past-covariate and future-covariate columns.
    mask_nan : bool
        Keep windows with NaN inputs (they are masked); otherwise skip them.
    first : ndarray of int64, shape (n_series,), optional
        Padding starts (:func:`padding_starts`): a series with ``first[s] >= 0`` has the
        windows starting at ``first[s] - lookback + 1 .. n_time - lookback - horizon`` (some
        before the record), its lookback steps before ``first[s]`` padding.  None: no padding.

    Returns
    -------
    series, starts : ndarray of int64
        By series then start.
    skipped : ndarray of int64, shape (n_series,)
    """
    n_series, n_time = data.shape[:2]
    if first is None:
        first = np.full(n_series, -1, np.int64)
    first = np.ascontiguousarray(first, dtype=np.int64)
    if not mask_nan:
        return valid_windows(data, static, lookback, horizon, *cols, first)
    last = n_time - lookback - horizon
    lo = np.where(first >= 0, first - lookback + 1, 0)
    counts = np.maximum(last - lo + 1, 0)
    series = np.repeat(np.arange(n_series, dtype=np.int64), counts)
    offsets = np.arange(series.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts,
                                                                 counts)
    starts = np.repeat(lo, counts) + offsets
    return series, starts, np.zeros(n_series, np.int64)


class WindowSet:
    """Windows of records, gathered into network minibatches on demand.

    Parameters
    ----------
    data : ndarray, shape (n_series, n_time, n_vars)
        Scaled records in the network's dtype, C-contiguous.
    static : ndarray, shape (n_series, n_static)
    series, starts : ndarray of int64, shape (n_windows,)
    lookback, horizon : int
    cols : tuple of 3 ndarray of int64
        Target, past-covariate and future-covariate columns.
    mask_nan : bool
    window_norm : {None, "last", "seasonal", "standard", "robust"}
        See the module docstring.
    season : int, default 1
        The season of ``"seasonal"`` in steps.
    seasonal : array_like of bool, shape (n_targets,), optional
        Which targets ``"seasonal"`` refers to the seasonal naive forecast
        (:func:`seasonal_targets`); default none.
    legacy_nan : bool, default False
        The NaN rule of models saved before the rule above (``"last"`` with `mask_nan` only):
        NaN inputs set to the global mean before the reference is subtracted, and the
        reference 0 where the last lookback value is NaN.  Models in older files keep it.
    pad_before : ndarray of int64, shape (n_series,), optional
        Lookback steps ``t < pad_before[s]`` of series ``s`` are start padding (steps before
        the record always are).  None: only steps before the record.
    pad_flag : bool, default False
        Padding steps get zero variables and a padding indicator input (for windows without
        NaN masking); otherwise they are NaN inputs, masked with ``mask_nan``.
    pad_zero : bool, optional
        Padding steps get zero variables (default: `pad_flag`); with ``pad_zero=True,
        pad_flag=False`` without an indicator input (a network fitted without padding).
    direct : bool, default False
        The network forecasts every lead from its final state (module docstring): its targets
        are the horizon's, flattened to ``(batch, horizon * n_targets)``.
    read_horizon : bool, default True
        Whether the network reads the horizon steps after the lookback.  False (only with
        `direct`): it reads the lookback steps alone.

    Attributes
    ----------
    inputs, targets : indexable views
        ``inputs[idx]`` and ``targets[idx]`` give the network inputs ``(batch, steps,
        n_inputs)`` (``steps`` = :attr:`steps`) and targets of windows ``idx``: per-step
        ``(batch, lookback + horizon, n_targets)``, or with `direct` ``(batch, horizon *
        n_targets)`` (what :func:`seqlstm.training.run_epochs` indexes); ``shape[0]`` is the
        number of windows.
    steps : int
        Steps the network reads per window.
    """

    def __init__(self, data, static, series, starts, lookback, horizon, cols, mask_nan,
                 window_norm, season=1, seasonal=None, legacy_nan=False, pad_before=None,
                 pad_flag=False, pad_zero=None, direct=False, read_horizon=True):
        self.data, self.static = data, static
        self.series = np.ascontiguousarray(series, dtype=np.int64)
        self.starts = np.ascontiguousarray(starts, dtype=np.int64)
        self.lookback, self.horizon = int(lookback), int(horizon)
        self.cols = tuple(np.ascontiguousarray(c, dtype=np.int64) for c in cols)
        if window_norm not in WINDOW_NORMS:
            raise ValueError(f"window_norm: expected one of {WINDOW_NORMS}; found "
                             f"{window_norm!r}.")
        self.mask_nan, self.window_norm = bool(mask_nan), window_norm
        self.season = int(season)
        self.seasonal = (np.zeros(len(self.cols[0]), bool) if seasonal is None
                         else np.asarray(seasonal, dtype=bool))
        if self.seasonal.shape != (len(self.cols[0]),):
            raise ValueError(f"seasonal: expected one flag per target, {len(self.cols[0])}; "
                             f"found shape {self.seasonal.shape}.")
        self.legacy_nan = bool(legacy_nan) and self.mask_nan and window_norm == "last"
        self.pad_before = (np.zeros(data.shape[0], np.int64) if pad_before is None
                           else np.ascontiguousarray(pad_before, dtype=np.int64))
        self.pad_flag = bool(pad_flag)
        self.pad_zero = self.pad_flag if pad_zero is None else bool(pad_zero)
        self.direct, self.read_horizon = bool(direct), bool(read_horizon)
        if not (self.read_horizon or self.direct):
            raise ValueError("read_horizon: expected True for a per-step network (it forecasts "
                             "at the horizon steps); found False.")
        self.steps = self.lookback + (self.horizon if self.read_horizon else 0)
        self._cache = (None, None)
        self.inputs = _View(self, 0)
        self.targets = _View(self, 1)

    def __len__(self):
        return self.series.shape[0]

    @staticmethod
    def n_inputs(n_targets, n_past, n_future, n_static, mask_nan, pad_flag=False):
        """Width of the network's input for these column counts."""
        n_var = n_targets + n_past + n_future
        return n_var + n_static + 1 + (n_var if mask_nan else 0) + (1 if pad_flag else 0)

    def batch(self, idx):
        """Network inputs, per-step targets and the targets' normalisation of windows `idx`.

        Returns
        -------
        x : ndarray, shape (batch, lookback + horizon, n_inputs)
        y : ndarray, shape (batch, lookback + horizon, n_targets)
            NaN over the lookback; normalised like the inputs.
        loc, scale : ndarray of float64
            The targets' window location and scale (0 and 1 without ``window_norm``), shape
            ``(batch, n_targets)``; with ``"seasonal"`` the location per lead, ``(batch,
            horizon, n_targets)``: ``restore(y[:, lookback:], loc, scale)`` gives the horizon's
            targets back in globally scaled units.
        last : ndarray, shape (batch, n_targets)
            The last lookback value of each target (the persistence forecast), in scaled units.
        """
        key, value = self._cache
        if key is not None and key.shape == np.shape(idx) and np.array_equal(key, idx):
            return value
        value = self._gather(np.asarray(idx))
        self._cache = (np.array(idx, copy=True), value)
        return value

    def network_batch(self, idx):
        """What the network reads and is scored on for windows `idx`: the inputs of its
        :attr:`steps` steps, and its targets (per step, or with `direct` the horizon's
        flattened lead-major, ``(batch, horizon * n_targets)``)."""
        x, y = self.batch(idx)[:2]
        if not self.direct:
            return x, y
        return x[:, :self.steps], y[:, self.lookback:].reshape(y.shape[0], -1)

    def _gather(self, idx):
        L, Hz = self.lookback, self.horizon
        tc, pc, fc = self.cols
        nt, npc, nf = len(tc), len(pc), len(fc)
        ns = self.static.shape[1]
        B = len(idx)
        dtype = self.data.dtype
        n_var = nt + npc + nf
        win = np.empty((B, L, n_var + ns), dtype)
        yh = np.empty((B, Hz, nt), dtype)
        fh = np.empty((B, Hz, nf), dtype)
        bad = gather_windows(self.data, self.static, self.series[idx], self.starts[idx], L, Hz,
                             tc, pc, fc, win, yh, fh)
        if bad >= 0:
            raise IndexError(f"window {idx[bad]} does not lie in its record")
        x = np.zeros((B, L + Hz, self.n_inputs(nt, npc, nf, ns, self.mask_nan, self.pad_flag)),
                     dtype)
        steps = self.starts[idx][:, None] + np.arange(L)[None, :]
        padding = steps < np.maximum(self.pad_before[self.series[idx]], 0)[:, None]
        if self.pad_zero:      # left out of the window statistics; 0 once normalised, below
            win[:, :, :n_var][padding] = np.nan
        if self.pad_flag:
            x[:, :L, -1] = padding
        x[:, :L, :n_var + ns] = win
        x[:, L:, nt + npc:n_var] = fh
        x[:, L:, n_var:n_var + ns] = win[:, :1, n_var:]
        x[:, L:, n_var + ns] = 1
        last = win[:, L - 1, :nt].astype(np.float64)
        y = np.full((B, L + Hz, nt), np.nan, dtype)
        y[:, L:] = yh
        loc, scale = np.zeros((B, nt)), np.ones((B, nt))
        if self.legacy_nan:
            return self._legacy_last(x, y, win, fh, last)
        if self.window_norm is not None:
            # statistics in float64, used (and returned) as the compute dtype's values, so that
            # restore() undoes exactly what the network saw
            lo, sc = window_statistics(win[:, :, :n_var], self.window_norm, nt)
            lo, sc = lo.astype(dtype), sc.astype(dtype)
            ref = lo[:, None, :nt]
            if self.window_norm == "seasonal":
                ref = self._seasonal_reference(win[:, :, :nt], lo[:, :nt])
            x[:, :L, :n_var] -= lo[:, None, :]
            x[:, L:, nt + npc:n_var] -= lo[:, None, nt + npc:]
            y[:, L:] -= ref
            if self.window_norm not in ("last", "seasonal"):     # scale 1: nothing to divide
                x[:, :L, :n_var] /= sc[:, None, :]
                x[:, L:, nt + npc:n_var] /= sc[:, None, nt + npc:]
                y[:, L:] /= sc[:, None, :nt]
            loc, scale = lo[:, :nt].astype(np.float64), sc[:, :nt].astype(np.float64)
            if self.window_norm == "seasonal":
                loc = ref.astype(np.float64)
        if self.pad_zero:      # the padding's variables at the window's location
            x[:, :L, :n_var][padding] = 0
        if self.mask_nan:
            ind = x[:, :, n_var + ns + 1:]
            ind[:, :L] = np.isnan(win[:, :, :n_var])
            ind[:, L:, nt + npc:] = np.isnan(fh)
            np.nan_to_num(x, copy=False, nan=0.0)
            last = np.nan_to_num(last, nan=0.0)
        return x, y, loc, scale, last

    def _seasonal_reference(self, targets, last):
        """Each lead's reference under ``"seasonal"``, ``(batch, horizon, n_targets)`` in the
        compute dtype: the lookback value one season before the lead for seasonal targets
        (padding already NaN), else (and where that value is NaN) `last`, the window's
        location."""
        L, Hz, m = self.lookback, self.horizon, self.season
        ref = np.broadcast_to(last[:, None, :], (last.shape[0], Hz, last.shape[1])).copy()
        if m < 2 or m > L or not self.seasonal.any():
            return ref
        back = targets[:, L - m + np.arange(Hz) % m]                  # (batch, Hz, nt)
        use = ~np.isnan(back) & self.seasonal
        ref[use] = back[use]
        return ref

    def _legacy_last(self, x, y, win, fh, last):
        """``"last"`` with masked NaN as models saved before the NaN-aware rule were trained."""
        L, (nt, npc, nf) = self.lookback, (len(c) for c in self.cols)
        n_var, ns = nt + npc + nf, self.static.shape[1]
        ind = x[:, :, n_var + ns + 1:]
        ind[:, :L] = np.isnan(win[:, :, :n_var])
        ind[:, L:, nt + npc:] = np.isnan(fh)
        np.nan_to_num(x, copy=False, nan=0.0)
        last = np.nan_to_num(last, nan=0.0)
        ref = last.copy()
        x[:, :L, :nt] -= ref[:, None, :].astype(x.dtype)
        y[:, L:] -= ref[:, None, :].astype(x.dtype)
        return x, y, ref, np.ones_like(ref), last


class _View:
    """``inputs`` or ``targets`` of a :class:`WindowSet`, indexable like an array."""

    def __init__(self, windows, which):
        self._windows, self._which = windows, which

    @property
    def shape(self):
        return (len(self._windows),)

    def __getitem__(self, idx):
        return self._windows.network_batch(idx)[self._which]


def time_split(series, starts, fraction, horizon):
    """A time-ordered validation split of windows, per series.

    The last ``ceil(fraction * n)`` windows of each series (by start) are held out; a training
    window is kept only if its horizon ends before the first held-out window's horizon begins
    (``start + horizon <= first held-out start``), so no target is in both parts.

    Parameters
    ----------
    series, starts : ndarray of int64, shape (n_windows,)
        Windows, sorted by series then start (as :func:`list_windows` gives them).
    fraction : float
        In (0, 1).
    horizon : int

    Returns
    -------
    train, val : ndarray of int64
        Indices into `series` / `starts`.
    """
    ids, first, counts = np.unique(series, return_index=True, return_counts=True)
    n_val = np.ceil(fraction * counts).astype(np.int64)
    cut = first + counts - n_val                      # index of each series' first held-out
    pos = np.arange(series.size) - np.repeat(first, counts)
    held = pos >= np.repeat(counts - n_val, counts)
    cut_start = np.repeat(starts[np.minimum(cut, series.size - 1)], counts)
    train = np.flatnonzero(~held & (starts + horizon <= cut_start))
    return train, np.flatnonzero(held)
