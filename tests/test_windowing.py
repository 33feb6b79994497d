"""WindowSet (minibatches of forecasting windows) and the time-ordered split, on hand-built
records where every expected value is written out."""

import numpy as np
import pytest

from seqlstm.windowing import WindowSet, list_windows, time_split

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
