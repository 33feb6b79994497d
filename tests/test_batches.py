"""Tests of seqlstm.data.batches: the one standardised copy and the minibatches gathered from
it, against the whole-array computations they replace."""

import numpy as np
import pytest

import reference as ref
from seqlstm.data import batches
from seqlstm.data.batches import SequenceBatches, sample_chunks, scaled_copy


def _padded(n=30, T=23, F=3, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal((n, T, F)) * 5 + 2).astype(dtype)
    lengths = rng.integers(1, T + 1, size=n)
    lengths[0] = T
    values[np.arange(T) >= lengths[:, None]] = np.nan
    return values, lengths


def test_sample_chunks_cover_the_samples_in_order(monkeypatch):
    monkeypatch.setattr(batches, "CHUNK_BYTES", 800)     # 100 float64: 3 samples of 30
    assert sample_chunks(7, 30) == [(0, 3), (3, 6), (6, 7)]
    assert sample_chunks(2, 1000) == [(0, 1), (1, 2)]    # a sample larger than a chunk
    assert sample_chunks(0, 10) == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("input_dtype", [np.float32, np.float64])
def test_scaled_copy_is_the_whole_array_formula_bit_for_bit(monkeypatch, dtype, input_dtype):
    """Chunk by chunk (here chunks of 2 samples) the copy equals ``(values - mean) / scale``
    computed over the whole array in float64 and rounded to the dtype; the input is not
    changed; without statistics it is a cast."""
    monkeypatch.setattr(batches, "CHUNK_BYTES", 8 * 2 * 23 * 3)
    values, _ = _padded(dtype=input_dtype)
    before = values.copy()
    mean, scale = np.array([0.3, -1.7, 2.0]), np.array([3.1, 0.7, 5.0])
    out = scaled_copy(values, mean, scale, dtype)
    expected = np.ascontiguousarray((values.astype(np.float64) - mean) / scale, dtype=dtype)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == dtype and out.flags.c_contiguous
    np.testing.assert_array_equal(values, before)
    np.testing.assert_array_equal(scaled_copy(values, None, None, dtype),
                                  values.astype(dtype))
    # a non-contiguous view is read as it is
    view = values.transpose(1, 0, 2).transpose(1, 0, 2)[:, ::2]
    np.testing.assert_array_equal(scaled_copy(view, mean, scale, dtype), expected[:, ::2])
    # into a slice of a larger buffer (as the chunked source fills its block): the same bits,
    # the rest of the buffer untouched; a wrong shape or dtype is refused
    block = np.full((len(values) + 3,) + values.shape[1:], 7.0, dtype)
    written = scaled_copy(values, mean, scale, dtype, out=block[2:2 + len(values)])
    assert np.shares_memory(written, block)
    np.testing.assert_array_equal(block[2:2 + len(values)], expected)
    assert np.all(block[:2] == 7.0) and np.all(block[2 + len(values):] == 7.0)
    with pytest.raises(ValueError, match="out"):
        scaled_copy(values, mean, scale, dtype, out=block[:len(values) - 1])
    other = np.float64 if dtype == np.float32 else np.float32
    with pytest.raises(ValueError, match="out"):
        scaled_copy(values, mean, scale, dtype, out=np.empty(values.shape, other))


@pytest.mark.parametrize("stride", [1, 3])
def test_batches_are_rows_of_the_framed_copy_in_a_reused_buffer(stride):
    values, lengths = _padded()
    rows = np.array([5, 3, 29, 0, 11, 7, 8], np.int64)
    source = SequenceBatches(values, lengths, stride, rows=rows, batch_size=3)
    framed = ref.frames(values, lengths, stride)
    assert source.shape == (7,) + framed.shape[1:] and len(source) == 7
    assert source.dtype == np.float32 and source.batch_size == 3
    first = source[np.array([0, 1, 2])]
    np.testing.assert_array_equal(first, framed[rows[:3]])
    second = source[np.array([6, 4])]               # shorter: a view of the same buffer
    np.testing.assert_array_equal(second, framed[rows[[6, 4]]])
    assert np.shares_memory(first, second) and second.flags.c_contiguous
    whole = SequenceBatches(values, lengths, stride)
    assert whole.batch_size == 30
    np.testing.assert_array_equal(whole[np.arange(30)], framed)
    # as an array: every row, in a new array
    np.testing.assert_array_equal(np.asarray(source), framed[rows])
    assert not np.shares_memory(np.asarray(source), first)


def test_batches_bad_positions_and_values():
    values, lengths = _padded()
    source = SequenceBatches(values, lengths, 2, rows=np.arange(4))
    with pytest.raises(IndexError, match="out of range"):
        source[np.array([1, 4])]
    with pytest.raises(IndexError, match="int positions"):
        source[np.array([0.5])]
    with pytest.raises(ValueError, match="C-contiguous"):
        SequenceBatches(values[:, ::2], lengths, 2)
