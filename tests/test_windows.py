"""Forecasting-window kernels: a hand-written case with every window written out, the plain
NumPy reference (tests/reference.py) on random records, bounds, cost and allocation."""


import numpy as np
import pytest

import reference as ref
from seqlstm.kernels.windows import gather_windows, valid_windows

nan = np.nan


def _cols(*c):
    return np.array(c, np.int64)


def _buffers(batch, lookback, horizon, nt, npc, nf, ns, dtype, fill=-999.0):
    return (np.full((batch, lookback, nt + npc + nf + ns), fill, dtype),
            np.full((batch, horizon, nt), fill, dtype),
            np.full((batch, horizon, nf), fill, dtype))


def _gather(data, static, series, starts, lookback, horizon, tc, pc, fc):
    x, y, f = _buffers(len(series), lookback, horizon, len(tc), len(pc), len(fc),
                       static.shape[1], data.dtype)
    bad = gather_windows(data, static, np.asarray(series, np.int64),
                         np.asarray(starts, np.int64), lookback, horizon, tc, pc, fc, x, y, f)
    return bad, x, y, f


# ---------------------------------------------------------------------------------------------
# the hand-written case: two series of 6 steps, variables stored as [c, q, p] with q the target,
# p a past covariate, c a future covariate; one static attribute (area); lookback 2, horizon 2
# ---------------------------------------------------------------------------------------------

Q = [[1, 2, 3, 4, 5, 6], [-1, -2, -3, nan, -5, -6]]
P = [[10, 20, 30, 40, 50, 60], [-10, -20, -30, -40, -50, -60]]
C = [[100, 200, 300, 400, 500, nan], [-100, -200, -300, -400, -500, -600]]
AREA = [[7.0], [9.0]]
TC, PC, FC = _cols(1), _cols(2), _cols(0)
NOPAD = np.full(2, -1, np.int64)                       # no series start-padded


def _hand_data(dtype):
    return (np.ascontiguousarray(np.stack([C, Q, P], axis=-1), dtype=dtype),
            np.array(AREA, dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hand_written_windows(dtype):
    data, static = _hand_data(dtype)
    assert data.shape == (2, 6, 3)
    series, starts, skipped = valid_windows(data, static, 2, 2, TC, PC, FC, NOPAD)
    # series 0: start 2 has the NaN future covariate c[5] in its horizon;
    # series 1: starts 0 and 1 have the NaN target q[3] in their horizon (allowed), start 2
    # has it in its lookback (skipped)
    np.testing.assert_array_equal(series, [0, 0, 1, 1])
    np.testing.assert_array_equal(starts, [0, 1, 0, 1])
    np.testing.assert_array_equal(skipped, [1, 1])
    # the valid windows, and one issued near the end of series 0 (horizon past the record)
    bad, x, y, f = _gather(data, static, [0, 0, 1, 1, 0], [0, 1, 0, 1, 3], 2, 2, TC, PC, FC)
    assert bad == -1
    # rows: [q, p, c, area] at the lookback steps
    expected_x = [
        [[1, 10, 100, 7], [2, 20, 200, 7]],
        [[2, 20, 200, 7], [3, 30, 300, 7]],
        [[-1, -10, -100, 9], [-2, -20, -200, 9]],
        [[-2, -20, -200, 9], [-3, -30, -300, 9]],
        [[4, 40, 400, 7], [5, 50, 500, 7]],
    ]
    expected_y = [[[3], [4]], [[4], [5]], [[-3], [nan]], [[nan], [-5]], [[6], [nan]]]
    expected_f = [[[300], [400]], [[400], [500]], [[-300], [-400]], [[-400], [-500]],
                  [[nan], [nan]]]
    np.testing.assert_array_equal(x, np.array(expected_x, dtype))
    np.testing.assert_array_equal(y, np.array(expected_y, dtype))
    np.testing.assert_array_equal(f, np.array(expected_f, dtype))
    assert x.dtype == y.dtype == f.dtype == dtype


def test_hand_written_static_nan_and_short_records():
    data, static = _hand_data(np.float64)
    static[1, 0] = nan
    series, starts, skipped = valid_windows(data, static, 2, 2, TC, PC, FC, NOPAD)
    np.testing.assert_array_equal(series, [0, 0])
    np.testing.assert_array_equal(starts, [0, 1])
    np.testing.assert_array_equal(skipped, [1, 3])
    # horizon 0: windows up to the end of the record; the future covariate c[5] of series 0
    # is now a lookback input of start 4, and q[3] of series 1 one of starts 2 and 3
    data, static = _hand_data(np.float64)
    series, starts, skipped = valid_windows(data, static, 2, 0, TC, PC, FC, NOPAD)
    np.testing.assert_array_equal(series, [0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(starts, [0, 1, 2, 3, 0, 1, 4])
    np.testing.assert_array_equal(skipped, [1, 2])
    # a record shorter than lookback + horizon has no window, and none is "skipped"
    series, starts, skipped = valid_windows(data, static, 4, 3, TC, PC, FC, NOPAD)
    assert series.size == starts.size == 0
    np.testing.assert_array_equal(skipped, [0, 0])


def test_hand_written_start_padding():
    data, static = _hand_data(np.float64)
    # series 1 padded from step 4 (lookback 3, horizon 1): starts 2 (steps 2, 3 are padding and
    # not checked, q[3] is NaN there) and ... up to 6 - 3 - 1 = 2; series 0 padded from step 0:
    # starts -2 .. 2, start 2 has the NaN future covariate c[5] in its horizon
    first = np.array([0, 4], np.int64)
    series, starts, skipped = valid_windows(data, static, 3, 1, TC, PC, FC, first)
    np.testing.assert_array_equal(series, [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(starts, [-2, -1, 0, 1, 2])
    np.testing.assert_array_equal(skipped, [1, 0])
    # a window starting before the record: NaN variables there, the static attribute kept
    bad, x, y, f = _gather(data, static, [0], [-2], 3, 1, TC, PC, FC)
    assert bad == -1
    np.testing.assert_array_equal(x[0], [[nan, nan, nan, 7], [nan, nan, nan, 7],
                                         [1, 10, 100, 7]])
    np.testing.assert_array_equal(y[0], [[2]])
    np.testing.assert_array_equal(f[0], [[200]])


def test_out_of_range_windows_are_reported():
    data, static = _hand_data(np.float64)
    for series, starts, first_bad in [([0, 2], [0, 0], 1), ([1, 0, 0], [0, 5, 0], 1),
                                      ([-1], [0], 0), ([0, 0], [4, -2], 1)]:
        bad, x, _, _ = _gather(data, static, series, starts, 2, 2, TC, PC, FC)
        assert bad == first_bad
        np.testing.assert_array_equal(x[:first_bad], ref.gather_windows(
            data, static, series[:first_bad], starts[:first_bad], 2, 2, TC, PC, FC)[0])


# ---------------------------------------------------------------------------------------------
# against the plain NumPy reference
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_against_reference(seed):
    rng = np.random.default_rng(seed)
    dtype = (np.float32, np.float64)[seed % 2]
    n_series, n_time, n_vars = rng.integers(1, 4), rng.integers(1, 40), rng.integers(1, 5)
    n_static = rng.integers(0, 3)
    data = rng.normal(size=(n_series, n_time, n_vars)).astype(dtype)
    data[rng.random(data.shape) < rng.choice([0.0, 0.02, 0.1])] = nan
    static = rng.normal(size=(n_series, n_static)).astype(dtype)
    if n_static and seed % 3 == 0:
        static[0, 0] = nan
    tc = rng.integers(0, n_vars, size=rng.integers(1, 3))
    pc = rng.integers(0, n_vars, size=rng.integers(0, 3))
    fc = rng.integers(0, n_vars, size=rng.integers(0, 3))
    lookback, horizon = int(rng.integers(1, 8)), int(rng.integers(0, 5))

    # some series start-padded (from a step in the record), the others not
    first = np.where(rng.random(n_series) < 0.5, rng.integers(0, n_time, n_series), -1)
    got = valid_windows(data, static, lookback, horizon, tc, pc, fc, first)
    want = ref.valid_windows(data, static, lookback, horizon, tc, pc, fc, first)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
        assert g.dtype == np.int64

    # any windows whose lookback fits, NaN inputs and horizons past the end included
    batch = int(rng.integers(0, 20))
    if n_time >= lookback:
        series = rng.integers(0, n_series, size=batch)
        starts = rng.integers(1 - lookback, n_time - lookback + 1, size=batch)   # padded too
    else:
        series = starts = np.zeros(0, np.int64)
    bad, x, y, f = _gather(data, static, series, starts, lookback, horizon, tc, pc, fc)
    assert bad == -1
    want = ref.gather_windows(data, static, series, starts, lookback, horizon, tc, pc, fc)
    for g, w in zip((x, y, f), want):
        np.testing.assert_array_equal(g, w)


# ---------------------------------------------------------------------------------------------
# cost and memory
# ---------------------------------------------------------------------------------------------


def test_valid_windows_at_a_long_lookback():
    # every window of lookback 20000 covers one of the NaN rows placed every 997 steps
    rng = np.random.default_rng(0)
    data = rng.normal(size=(1, 200_000, 3))
    data[0, ::997, 1] = nan
    static = np.zeros((1, 0))
    c = _cols(0, 1, 2)
    series, starts, skipped = valid_windows(data, static, 20_000, 1, c, c[:0], c[:0],
                                            NOPAD[:1])
    assert series.size == 0 and skipped[0] == 200_000 - 20_000 - 1 + 1
    series, starts, skipped = valid_windows(data, static, 2, 1, c, c[:0], c[:0], NOPAD[:1])
    ok = ~np.isnan(data[0, :, 1])
    expected = np.nonzero(ok[:-2] & ok[1:-1])[0]      # lookback rows t0, t0 + 1 finite
    np.testing.assert_array_equal(starts, expected)
    assert skipped[0] == 200_000 - 2 - 1 + 1 - expected.size


def test_gather_allocates_nothing_per_window():
    from numba.core.runtime import _nrt_python as nrt
    from numba.core.runtime import rtsys

    data, static = _hand_data(np.float64)

    def allocations(batch):
        series = np.arange(batch, dtype=np.int64) % 2
        starts = np.arange(batch, dtype=np.int64) % 5
        x, y, f = _buffers(batch, 2, 2, 1, 1, 1, 1, np.float64)
        args = (data, static, series, starts, 2, 2, TC, PC, FC, x, y, f)
        assert gather_windows(*args) == -1                        # compiled before counting
        nrt.memsys_enable_stats()
        try:
            before = rtsys.get_allocation_stats().alloc
            assert gather_windows(*args) == -1
            return rtsys.get_allocation_stats().alloc - before
        finally:
            nrt.memsys_disable_stats()

    # what is counted is the call's wrapping of its 10 array arguments, nothing per window
    one = allocations(1)
    assert one <= 10
    assert allocations(500) == one


# ---------------------------------------------------------------------------------------------
# gather_frames: the sequence estimators' minibatches
# ---------------------------------------------------------------------------------------------

def _padded(rng, n, T, F, dtype):
    lengths = rng.integers(0, T + 1, size=n)
    lengths[0] = T
    values = rng.standard_normal((n, T, F)).astype(dtype)
    values[np.arange(T) >= lengths[:, None]] = nan
    return values, lengths.astype(np.int64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride", [1, 2, 3, 7])
def test_gather_frames_against_reference(dtype, stride):
    """Rows picked in any order (repeated too) are the reference's frames of those rows, bit
    for bit: steps past a sequence's length 0, frames past it NaN, stride 1 the values with
    their NaN padding; a buffer written before is fully overwritten."""
    rng = np.random.default_rng(stride)
    values, lengths = _padded(rng, 9, 20, 3, dtype)
    rows = np.array([4, 0, 8, 4, 2, 7, 1], np.int64)
    expected = ref.frames(values, lengths, stride)[rows]
    from seqlstm.kernels.windows import gather_frames
    out = np.full(expected.shape, -999.0, dtype)
    gather_frames(values, lengths, rows, stride, out)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == dtype


def test_gather_frames_allocates_nothing():
    import tracemalloc

    from seqlstm.kernels.windows import gather_frames
    rng = np.random.default_rng(0)
    values, lengths = _padded(rng, 50, 40, 4, np.float32)
    rows = np.arange(50, dtype=np.int64)[::-1].copy()
    out = np.empty((50, 10, 32), np.float32)
    gather_frames(values, lengths, rows, 4, out)
    tracemalloc.start()
    gather_frames(values, lengths, rows, 4, out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2000, peak
