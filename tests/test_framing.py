"""Tests of seqlstm.data.framing: frames against a plain loop, lengths, the "auto" stride."""

import numpy as np
import pytest

from seqlstm.data.framing import auto_frame_stride, frame_sequences, framed_lengths


def reference_frames(values, lengths, stride):
    """Frames written for clarity: frame j of sequence i holds steps j*s .. j*s + 2s - 1."""
    n, T, F = values.shape
    n_frames = -(-T // stride)
    out = np.full((n, n_frames, 2 * stride * F), np.nan)
    for i in range(n):
        for j in range(-(-lengths[i] // stride)):
            for m in range(2 * stride):
                t = j * stride + m
                for f in range(F):
                    out[i, j, m * F + f] = values[i, t, f] if t < lengths[i] else 0.0
    return out


@pytest.mark.parametrize("stride", [2, 3, 5])
@pytest.mark.parametrize("n_features", [1, 3])
def test_frames_equal_the_plain_loop(stride, n_features):
    rng = np.random.default_rng(stride * 10 + n_features)
    T = 17
    lengths = np.array([17, 16, 15, 10, 3, 1, 0, 6])
    values = rng.normal(size=(len(lengths), T, n_features))
    values[np.arange(T) >= lengths[:, None]] = np.nan
    framed, out_lengths = frame_sequences(values, lengths, stride)
    np.testing.assert_array_equal(framed, reference_frames(values, lengths, stride))
    np.testing.assert_array_equal(out_lengths, -(-lengths // stride))
    np.testing.assert_array_equal(out_lengths, framed_lengths(lengths, stride))
    assert framed.flags.c_contiguous and framed.dtype == values.dtype
    assert not np.shares_memory(framed, values)
    # the padding is whole NaN steps after each sequence's frames, nothing else is NaN
    valid = np.arange(framed.shape[1]) < out_lengths[:, None]
    assert not np.isnan(framed[valid]).any() and np.isnan(framed[~valid]).all()


@pytest.mark.parametrize("T, stride", [(1, 2), (2, 2), (3, 5)])
def test_sequences_of_one_frame(T, stride):
    # no longer than one stride: a single frame (a model that reads frames predicting on
    # short sequences); the frames are still a new, writable array with NaN padding
    rng = np.random.default_rng(T)
    lengths = np.array([T, 1, 0])
    values = rng.normal(size=(3, T, 2))
    values[np.arange(T) >= lengths[:, None]] = np.nan
    framed, out_lengths = frame_sequences(values, lengths, stride)
    np.testing.assert_array_equal(framed, reference_frames(values, lengths, stride))
    np.testing.assert_array_equal(out_lengths, [1, 1, 0])
    assert framed.flags.writeable and framed.flags.c_contiguous
    assert not np.shares_memory(framed, values)


def test_stride_one_is_the_input_and_float32_is_kept():
    values = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    framed, lengths = frame_sequences(values, np.array([3, 3]), 1)
    assert framed is values and list(lengths) == [3, 3]
    framed, _ = frame_sequences(values, np.array([3, 2]), 2)
    assert framed.dtype == np.float32 and framed.shape == (2, 2, 8)


def test_auto_stride():
    assert [auto_frame_stride(t) for t in (1, 64, 65, 128, 129, 150, 1460)] == [
        1, 1, 2, 2, 3, 3, 23]
    assert auto_frame_stride(100, target_steps=10) == 10


def test_framed_data_keeps_the_time_labels_of_frame_starts_and_needs_none():
    """Labeled input: the time coordinate keeps each frame's first step; a time dim without a
    coordinate (as make_adding's) stays without one."""
    import xarray as xr

    from seqlstm.data import to_sequences
    from seqlstm.data.framing import framed_data

    values = np.arange(2 * 7 * 1, dtype=float).reshape(2, 7, 1)
    labeled = xr.DataArray(values, dims=("sample", "time", "feature"),
                           coords={"time": np.arange(7) * 10, "feature": ["x"]})
    for X, time_coord in ((labeled, [0, 30, 60]), (labeled.drop_vars("time"), None)):
        data = to_sequences(X)
        framed, lengths = frame_sequences(data.values, data.lengths, 3)
        out = framed_data(data, framed, lengths, 3)
        assert out.values is framed and list(out.lengths) == [3, 3]
        if time_coord is None:
            assert "time" not in out.coords and list(out.coords["feature"].values) == ["x"]
        else:
            assert list(out.coords["time"].values) == time_coord
