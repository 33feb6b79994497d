"""WindowSet (minibatches of forecasting windows) and the time-ordered split, on hand-built
records where every expected value is written out."""

import numpy as np
import pytest

from seqlstm.windowing import (
    MAD_TO_STD,
    SCALE_FLOOR,
    WINDOW_NORMS,
    WindowSet,
    list_windows,
    padding_starts,
    restore,
    seasonal_targets,
    time_split,
)

NAN = np.nan


def _records():
    # two series, 6 steps, variables [y, p, f] (target, past covariate, future covariate),
    # one static attribute
    data = np.empty((2, 6, 3))
    for s in range(2):
        for t in range(6):
            data[s, t] = [100 * s + t, 100 * s + 10 + t, 100 * s + 20 + t]
    static = np.array([[7.0], [8.0]])
    cols = (np.array([0]), np.array([1]), np.array([2]))
    return data, static, cols


def test_batch_layout_written_out():
    data, static, cols = _records()
    ws = WindowSet(data, static, np.array([1, 0]), np.array([2, 0]), 2, 2, cols, False, None)
    x, y, loc, scale, last = ws.batch(np.array([0, 1]))
    # window (series 1, start 2): lookback times 2, 3; horizon times 4, 5
    # features [y, p, f, static, flag]
    np.testing.assert_array_equal(x[0], [[102, 112, 122, 8, 0],
                                         [103, 113, 123, 8, 0],
                                         [0, 0, 124, 8, 1],
                                         [0, 0, 125, 8, 1]])
    np.testing.assert_array_equal(y[0, :, 0], [NAN, NAN, 104, 105])
    np.testing.assert_array_equal(x[1], [[0, 10, 20, 7, 0],
                                         [1, 11, 21, 7, 0],
                                         [0, 0, 22, 7, 1],
                                         [0, 0, 23, 7, 1]])
    np.testing.assert_array_equal(y[1, :, 0], [NAN, NAN, 2, 3])
    np.testing.assert_array_equal(loc, 0)
    np.testing.assert_array_equal(scale, 1)
    np.testing.assert_array_equal(last[:, 0], [103, 1])
    # the indexable views give the same arrays
    np.testing.assert_array_equal(ws.inputs[np.array([0, 1])], x)
    np.testing.assert_array_equal(ws.targets[np.array([1])], y[1:])
    assert ws.inputs.shape == (2,)


def test_direct_network_batch_written_out():
    """A direct network's targets are the horizon's, lead-major; it reads the lookback alone
    (read_horizon=False) or the whole window; batch() keeps the per-step layout."""
    data, static, cols = _records()
    data = np.concatenate([data, data[:, :, :1] + 50], axis=2)     # a second target
    cols = (np.array([0, 3]), cols[1], cols[2])
    args = (data, static, np.array([1, 0]), np.array([2, 0]), 2, 2, cols, False, "last")
    ws = WindowSet(*args, direct=True, read_horizon=False)
    full = WindowSet(*args)
    idx = np.array([0, 1])
    assert ws.steps == 2 and full.steps == 4
    np.testing.assert_array_equal(ws.batch(idx)[0], full.batch(idx)[0])
    np.testing.assert_array_equal(ws.inputs[idx], full.inputs[idx][:, :2])
    # window (series 1, start 2): targets at times 4, 5 relative to time 3's (last)
    np.testing.assert_array_equal(ws.targets[idx], [[1, 1, 2, 2], [1, 1, 2, 2]])
    both = WindowSet(*args, direct=True)
    np.testing.assert_array_equal(both.inputs[idx], full.inputs[idx])
    np.testing.assert_array_equal(both.targets[idx], ws.targets[idx])
    with pytest.raises(ValueError, match="read_horizon: expected True for a per-step network"):
        WindowSet(*args, read_horizon=False)


def test_window_norm_last_and_mask():
    data, static, cols = _records()
    data[0, 1, 1] = NAN                                  # a gap in the past covariate
    ws = WindowSet(data, static, np.array([0]), np.array([0]), 2, 1, cols, True, "last")
    x, y, ref, scale, last = ws.batch(np.array([0]))
    # features [y - ref, p, f, static, flag, isnan(y), isnan(p), isnan(f)], ref = y[1] = 1
    np.testing.assert_array_equal(x[0], [[-1, 10, 20, 7, 0, 0, 0, 0],
                                         [0, 0, 21, 7, 0, 0, 1, 0],
                                         [0, 0, 22, 7, 1, 0, 0, 0]])
    np.testing.assert_array_equal(y[0, :, 0], [NAN, NAN, 1])       # 2 - ref
    np.testing.assert_array_equal(ref, [[1]])
    np.testing.assert_array_equal(scale, [[1]])
    assert WindowSet.n_inputs(1, 1, 1, 1, True) == 8


def test_list_windows_skips_or_keeps_gaps():
    data, static, cols = _records()
    data[0, 3, 0] = NAN
    series, starts, skipped = list_windows(data, static, 2, 1, cols, False)
    # series 0: windows 0..3 fit; those whose lookback holds time 3 (starts 2, 3) are skipped
    np.testing.assert_array_equal(series, [0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(starts, [0, 1, 0, 1, 2, 3])
    np.testing.assert_array_equal(skipped, [2, 0])
    series, starts, skipped = list_windows(data, static, 2, 1, cols, True)
    assert series.size == 8 and skipped.sum() == 0


def test_time_split_holds_out_the_last_windows_without_overlap():
    series = np.array([0] * 10 + [1] * 4)
    starts = np.concatenate([np.arange(10), np.arange(4)])
    train, val = time_split(series, starts, 0.2, 3)
    # series 0: last 2 windows (starts 8, 9) held out; training starts s with s + 3 <= 8
    # series 1: last 1 window (start 3); training starts s + 3 <= 3 -> start 0
    np.testing.assert_array_equal(val, [8, 9, 13])
    np.testing.assert_array_equal(train, [0, 1, 2, 3, 4, 5, 10])


def test_gather_out_of_range_raises():
    data, static, cols = _records()
    ws = WindowSet(data, static, np.array([0]), np.array([5]), 2, 1, cols, False, None)
    with pytest.raises(IndexError):
        ws.batch(np.array([0]))


def _batch(data, lookback, horizon, how, mask=True, starts=None):
    data = np.ascontiguousarray(data, dtype=np.float64)
    cols = (np.array([0]), np.array([1]), np.array([2]))
    if starts is None:
        starts = np.arange(data.shape[1] - lookback - horizon + 1)
    ws = WindowSet(data, np.zeros((data.shape[0], 0)), np.zeros(len(starts), np.int64),
                   np.asarray(starts), lookback, horizon, cols, mask, how)
    return ws.batch(np.arange(len(starts)))


@pytest.mark.parametrize("how", WINDOW_NORMS)
def test_window_norms_invert_exactly(how):
    """A window normalised and restored equals itself (float rounding): the horizon targets,
    and the lookback targets wherever they were observed."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((1, 40, 3)) * [3.0, 0.5, 2.0] + [10.0, -4.0, 1.0]
    data[0, 7, 0] = data[0, 20, 1] = data[0, 21, 2] = NAN
    L, Hz = 6, 3
    x, y, loc, scale, _ = _batch(data, L, Hz, how)
    starts = np.arange(40 - L - Hz + 1)
    idx = starts[:, None] + np.arange(L + Hz)[None, :]
    target = data[0, idx, 0]                                  # (window, L + Hz)
    np.testing.assert_allclose(restore(y[:, L:], loc, scale)[..., 0], target[:, L:],
                               rtol=1e-13, atol=1e-13)
    # the lookback's location: the window's ("seasonal" gives the horizon's per lead; its
    # lookback is located as "last")
    lb_loc = loc if loc.ndim == 2 else _batch(data, L, Hz, "last")[2]
    back = restore(x[:, :L, :1], lb_loc, scale)[..., 0]
    seen = ~np.isnan(target[:, :L])
    np.testing.assert_allclose(back[seen], target[:, :L][seen], rtol=1e-13, atol=1e-13)
    if how is None:
        np.testing.assert_array_equal(loc, 0)
    assert np.all(scale >= SCALE_FLOOR) and np.isfinite(x).all()


def _seasonal_batch(data, lookback, horizon, season, flags, starts):
    data = np.ascontiguousarray(data, dtype=np.float64)
    nt = len(flags)
    cols = (np.arange(nt), np.array([], np.int64), np.array([], np.int64))
    ws = WindowSet(data, np.zeros((data.shape[0], 0)), np.zeros(len(starts), np.int64),
                   np.asarray(starts), lookback, horizon, cols, False, "seasonal",
                   season=season, seasonal=flags)
    return ws.batch(np.arange(len(starts)))


def test_seasonal_reference_is_the_seasonal_naive_forecast():
    """Under "seasonal" each lead's target is taken relative to the lookback value one season
    before it (seasonal naive; leads past a season repeat the last season) for a seasonal
    target, to the last value for a target that is not flagged, and to the last value where
    the reference is NaN; the lookback is located at the last value as under "last"; restore
    gives the targets back exactly."""
    t = np.arange(30, dtype=float)
    data = np.stack([100 + t, 200 + 2 * t], axis=-1)[None]      # (1, 30, 2)
    data[0, 9, 0] = NAN                                         # a reference of window 1
    L, Hz, m = 8, 6, 4
    x, y, loc, scale, last = _seasonal_batch(data, L, Hz, m, [True, False], [0, 2])
    assert loc.shape == (2, Hz, 2)
    # window 0: lookback steps 0..7, leads at 8..13; seasonal naive: steps 4, 5, 6, 7, 4, 5
    np.testing.assert_array_equal(loc[0, :, 0], 100 + np.array([4, 5, 6, 7, 4, 5]))
    np.testing.assert_array_equal(loc[0, :, 1], 200 + 2 * 7)    # not flagged: the last value
    np.testing.assert_array_equal(y[0, L:, 0], data[0, 8:14, 0] - loc[0, :, 0])   # NaN kept
    # window 1: lookback 2..9, step 9 (the last) NaN: the last observed is step 8; reference
    # steps 6, 7, 8, 9 (NaN: the last observed value), 6, 7
    np.testing.assert_array_equal(loc[1, :, 0], 100 + np.array([6, 7, 8, 8, 6, 7]))
    np.testing.assert_array_equal(x[0, :L, 0], t[:8] - 7)                 # "last" over it
    np.testing.assert_array_equal(restore(y[:, L:], loc, scale), data[0, [range(8, 14),
                                                                          range(10, 16)]])
    np.testing.assert_array_equal(scale, 1)


@pytest.mark.parametrize("season", [1, 9])                       # none, longer than lookback
def test_seasonal_without_a_usable_season_is_last(season):
    """A season of 1, or one longer than the lookback, leaves "seasonal" equal to "last" bit
    for bit (locations repeated over the leads)."""
    rng = np.random.default_rng(1)
    data = rng.standard_normal((1, 30, 3))
    got = _batch(data, 8, 3, "last", mask=False)
    cols = (np.array([0]), np.array([1]), np.array([2]))
    ws = WindowSet(data, np.zeros((1, 0)), np.zeros(20, np.int64), np.arange(20), 8, 3, cols,
                   False, "seasonal", season=season, seasonal=[True])
    x, y, loc, scale, last = ws.batch(np.arange(20))
    np.testing.assert_array_equal(x, got[0])
    np.testing.assert_array_equal(y, got[1])
    np.testing.assert_array_equal(loc, np.repeat(got[2][:, None], 3, axis=1))


def test_seasonal_flags_must_match_the_targets():
    data = np.zeros((1, 20, 3))
    cols = (np.array([0]), np.array([1]), np.array([2]))
    with pytest.raises(ValueError, match="seasonal: expected one flag per target, 1"):
        WindowSet(data, np.zeros((1, 0)), np.zeros(1, np.int64), np.zeros(1, np.int64), 8, 3,
                  cols, False, "seasonal", season=4, seasonal=[True, False])


def test_seasonal_targets_test_the_differences():
    """The season is found in a seasonal record with a trend and noise, NaN gaps included; not
    in a trend, a random walk or white noise (a trend alone does not pass: the test reads the
    differences); series too short to test do not count; half the series tested suffice."""
    rng = np.random.default_rng(0)
    t = np.arange(240)
    season = 0.05 * t + np.sin(2 * np.pi * t / 12) + 0.2 * rng.standard_normal(240)
    walk = np.cumsum(rng.standard_normal(240))
    noise = rng.standard_normal(240)
    trend = 0.3 * t + 0.1 * rng.standard_normal(240)
    gappy = season.copy()
    gappy[50:60] = NAN
    data = np.stack([season, walk, noise, trend, gappy], axis=-1)[None]
    np.testing.assert_array_equal(seasonal_targets(data, np.arange(5), 12),
                                  [True, False, False, False, True])
    assert not seasonal_targets(data, np.arange(5), 1).any()
    assert not seasonal_targets(data, np.arange(5), None).any()
    # per target over series: two seasonal, two not -> seasonal (at least half); a short
    # seasonal series (fewer than 3 seasons of differences) is not tested
    panel = np.stack([season, season[::-1], walk, noise], axis=0)[:, :, None]
    assert seasonal_targets(panel, np.array([0]), 12)[0]
    assert not seasonal_targets(panel[1:], np.array([0]), 12)[0]
    short = np.full((2, 240, 1), NAN)
    short[0, :, 0] = walk
    short[1, :30, 0] = season[:30]
    assert not seasonal_targets(short, np.array([0]), 12)[0]


def test_standard_and_robust_statistics_written_out():
    # columns [y, p, f]; lookback 4, horizon 1; the future covariate's horizon value uses its
    # lookback statistics
    data = np.array([[[1, 0, 2], [2, 0, 4], [3, 0, 6], [10, 0, 8], [5, 0, 10]]], float)
    x, y, loc, scale, _ = _batch(data, 4, 1, "standard", mask=False)
    std_y = np.sqrt((9 + 4 + 1 + 36) / 4)                     # mean 4
    np.testing.assert_allclose(loc, [[4]])
    np.testing.assert_allclose(scale, [[std_y]])
    np.testing.assert_allclose(x[0, :4, 0], (np.array([1, 2, 3, 10]) - 4) / std_y)
    np.testing.assert_allclose(y[0, 4, 0], (5 - 4) / std_y)
    np.testing.assert_array_equal(x[0, :, 1], 0)             # constant p: (0 - 0) / 1
    std_f = np.sqrt(5.0)                                      # f = 2, 4, 6, 8: mean 5
    np.testing.assert_allclose(x[0, :, 2], (np.array([2, 4, 6, 8, 10]) - 5) / std_f)
    x, y, loc, scale, _ = _batch(data, 4, 1, "robust", mask=False)
    # median 2.5; |deviations| 1.5, .5, .5, 7.5 -> MAD 1.0
    np.testing.assert_allclose(loc, [[2.5]])
    np.testing.assert_allclose(scale, [[MAD_TO_STD]])
    np.testing.assert_allclose(y[0, 4, 0], (5 - 2.5) / MAD_TO_STD)
    # f: median 5, |deviations| 3, 1, 1, 3 -> MAD 2
    np.testing.assert_allclose(x[0, :, 2], (np.array([2, 4, 6, 8, 10]) - 5) / (2 * MAD_TO_STD))


def test_degenerate_windows_fall_back_and_stay_finite():
    L = 4
    const = np.full((1, 6, 3), 2.5)
    for how in ("standard", "robust"):
        x, y, loc, scale, _ = _batch(const, L, 1, how)
        assert np.isfinite(x).all() and np.isfinite(y[:, L:]).all()
        np.testing.assert_array_equal(loc, 2.5)
        np.testing.assert_array_equal(scale, 1.0)            # the global scale
        np.testing.assert_array_equal(x[:, :L, :3], 0)
    # robust: more than half the lookback equal (MAD 0) -> the standard deviation
    data = np.zeros((1, 5, 3))
    data[0, :4, 0] = [1, 1, 1, 5]
    _, _, loc, scale, _ = _batch(data, L, 1, "robust")
    np.testing.assert_allclose(loc, [[1]])
    np.testing.assert_allclose(scale, [[np.sqrt(3.0)]])       # std of 1, 1, 1, 5 (mean 2)
    # a tiny spread is floored
    data[0, :4, 0] = [1, 1 + 1e-9, 1, 1 - 1e-9]
    _, _, _, scale, _ = _batch(data, L, 1, "standard")
    np.testing.assert_array_equal(scale, SCALE_FLOOR)
    # NaN-aware, with the mask: statistics of the observed values; none observed -> 0 and 1
    data = np.zeros((1, 5, 3))
    data[0, :4, 0] = [1, NAN, 3, NAN]
    for how, want in (("last", 3), ("standard", 2), ("robust", 2)):
        x, _, loc, scale, _ = _batch(data, L, 1, how)
        np.testing.assert_allclose(loc, [[want]])
        assert np.isfinite(x).all()
    data[0, :4, 0] = NAN
    for how in ("last", "standard", "robust"):
        x, _, loc, scale, _ = _batch(data, L, 1, how)
        np.testing.assert_array_equal(loc, 0)
        np.testing.assert_array_equal(scale, 1)
        assert np.isfinite(x).all()


def test_unknown_window_norm_raises():
    data, static, cols = _records()
    with pytest.raises(ValueError, match="window_norm: expected one of"):
        WindowSet(data, static, np.array([0]), np.array([0]), 2, 1, cols, False, "minmax")


def test_padding_starts_and_padded_windows_listed():
    data, static, cols = _records()
    data[1, :4, 0] = NAN                       # series 1's target observed from step 4
    # a fit with lookback 3, horizon 1 needs 4 steps: series 1 has 2 from its first target
    np.testing.assert_array_equal(padding_starts(data, cols[0], 4), [-1, 4])
    np.testing.assert_array_equal(padding_starts(data, cols[0], 7), [0, 4])
    first = padding_starts(data, cols[0], 4)
    series, starts, skipped = list_windows(data, static, 3, 1, cols, True, first)
    # series 0: starts 0 .. 2; series 1: from 4 - 3 + 1 = 2 to 6 - 3 - 1 = 2
    np.testing.assert_array_equal(series, [0, 0, 0, 1])
    np.testing.assert_array_equal(starts, [0, 1, 2, 2])
    # the same windows without masking: the padding steps (NaN target) are not checked
    np.testing.assert_array_equal(list_windows(data, static, 3, 1, cols, False, first)[1],
                                  [0, 1, 2, 2])
    # a record shorter than the lookback: windows start before it; the horizon's step is the
    # record's last at most (start 3 - 4 - 1 = -2)
    short = data[:, 3:]                        # 3 steps; series 1 observed from step 1
    first = padding_starts(short, cols[0], 5)
    np.testing.assert_array_equal(first, [0, 1])
    series, starts, _ = list_windows(short, static, 4, 1, cols, True, first)
    np.testing.assert_array_equal(series, [0, 0, 1])
    np.testing.assert_array_equal(starts, [-3, -2, -2])


def test_padding_masked_with_a_flag_or_nan_indicators():
    data, static, cols = _records()
    data[1, :4, 0] = NAN                       # series 1's target observed from step 4
    first = np.array([-1, 4])
    ws = WindowSet(data, static, np.array([1]), np.array([2]), 3, 1, cols, False, None,
                   pad_before=first, pad_flag=True)
    x, y, _, _, last = ws.batch(np.array([0]))
    # steps 2, 3 are padding: variables 0 (the past and future covariates observed there too),
    # flag 1; features [y, p, f, static, forecast flag, padding flag]
    np.testing.assert_array_equal(x[0], [[0, 0, 0, 8, 0, 1],
                                         [0, 0, 0, 8, 0, 1],
                                         [104, 114, 124, 8, 0, 0],
                                         [0, 0, 125, 8, 1, 0]])
    np.testing.assert_array_equal(y[0, :, 0], [NAN, NAN, NAN, 105])
    np.testing.assert_array_equal(last, [[104]])
    assert WindowSet.n_inputs(1, 1, 1, 1, False, True) == 6
    # zeros without the indicator (a network fitted without padding)
    ws = WindowSet(data, static, np.array([1]), np.array([2]), 3, 1, cols, False, None,
                   pad_before=first, pad_zero=True)
    np.testing.assert_array_equal(ws.batch(np.array([0]))[0][0], x[0][:, :-1])
    # a window before the record, masked as NaN inputs: the covariates observed at the padding
    # steps are kept, the rest are NaN inputs (zeros, indicator 1)
    ws = WindowSet(data, static, np.array([1]), np.array([-1]), 3, 1, cols, True, None,
                   pad_before=first)
    x = ws.batch(np.array([0]))[0]
    # features [y, p, f, static, flag, isnan(y), isnan(p), isnan(f)]
    np.testing.assert_array_equal(x[0], [[0, 0, 0, 8, 0, 1, 1, 1],
                                         [0, 110, 120, 8, 0, 1, 0, 0],
                                         [0, 111, 121, 8, 0, 1, 0, 0],
                                         [0, 0, 122, 8, 1, 0, 0, 0]])


def test_padding_left_out_of_the_window_statistics():
    """Start padding with zeros (no NaN masking) and window_norm='standard': the statistics
    come from the observed lookback steps only, and the padding sits at the window's location
    (0 once normalised)."""
    data, static, cols = _records()
    data[1, :4, 0] = NAN                       # series 1's target observed from step 4
    first = np.array([-1, 4])
    ws = WindowSet(data, static, np.array([1]), np.array([2]), 3, 1, cols, False, "standard",
                   pad_before=first, pad_flag=True)
    x, y, loc, scale, last = ws.batch(np.array([0]))
    # one observed lookback step (104, p 114, f 124): location = that value, scale 1 (no
    # spread of its own), padding steps 0
    np.testing.assert_array_equal(loc, [[104]])
    np.testing.assert_array_equal(scale, [[1]])
    np.testing.assert_array_equal(x[0, :, :3], [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(x[0, :, -1], [1, 1, 0, 0])
    np.testing.assert_array_equal(restore(y[:, 3:], loc, scale)[0, :, 0], [105])
