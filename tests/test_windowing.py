"""WindowSet (minibatches of forecasting windows) and the time-ordered split, on hand-built
records where every expected value is written out."""

import numpy as np
import pytest

from seqlstm.windowing import WindowSet, list_windows, padding_starts, time_split

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
    x, y, ref, last = ws.batch(np.array([0, 1]))
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
    np.testing.assert_array_equal(ref, 0)
    np.testing.assert_array_equal(last[:, 0], [103, 1])
    # the indexable views give the same arrays
    np.testing.assert_array_equal(ws.inputs[np.array([0, 1])], x)
    np.testing.assert_array_equal(ws.targets[np.array([1])], y[1:])
    assert ws.inputs.shape == (2,)


def test_window_norm_last_and_mask():
    data, static, cols = _records()
    data[0, 1, 1] = NAN                                  # a gap in the past covariate
    ws = WindowSet(data, static, np.array([0]), np.array([0]), 2, 1, cols, True, "last")
    x, y, ref, last = ws.batch(np.array([0]))
    # features [y - ref, p, f, static, flag, isnan(y), isnan(p), isnan(f)], ref = y[1] = 1
    np.testing.assert_array_equal(x[0], [[-1, 10, 20, 7, 0, 0, 0, 0],
                                         [0, 0, 21, 7, 0, 0, 1, 0],
                                         [0, 0, 22, 7, 1, 0, 0, 0]])
    np.testing.assert_array_equal(y[0, :, 0], [NAN, NAN, 1])       # 2 - ref
    np.testing.assert_array_equal(ref, [[1]])
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
    x, y, ref, last = ws.batch(np.array([0]))
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
    x, _, _, _ = ws.batch(np.array([0]))
    # features [y, p, f, static, flag, isnan(y), isnan(p), isnan(f)]
    np.testing.assert_array_equal(x[0], [[0, 0, 0, 8, 0, 1, 1, 1],
                                         [0, 110, 120, 8, 0, 1, 0, 0],
                                         [0, 111, 121, 8, 0, 1, 0, 0],
                                         [0, 0, 122, 8, 1, 0, 0, 0]])
