"""Out-of-core fit: dask-backed input streamed through a bounded buffer of chunks
(seqlstm.data.chunked)."""

import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
xr = pytest.importorskip("xarray")

from seqlstm import LSTMRegressor  # noqa: E402
from seqlstm.data import chunked  # noqa: E402
from seqlstm.data.chunked import ChunkedBatches, chunked_sequences  # noqa: E402


def _data(n=60, n_time=30, n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_time, n_features)).astype(np.float32)
    lengths = rng.integers(n_time // 2, n_time + 1, n)
    for i, n_valid in enumerate(lengths):
        X[i, n_valid:] = np.nan
    y = np.nanmean(X[:, :, 0], axis=1).astype(np.float64)
    return X, y


def _dataarray(values):
    return xr.DataArray(values, dims=("sample", "time", "feature"))


def _weights_equal(a, b):
    return np.array_equal(a.network_.get_flat(), b.network_.get_flat())


@pytest.mark.parametrize("stride", [1, 2])
def test_fit_on_dask_equals_in_memory_fit_when_the_buffer_holds_the_store(stride):
    """With a buffer that holds every chunk (the default, 64 MiB), a fit on a dask-backed
    DataArray (5 chunks of samples) is the in-memory fit bit for bit: the same statistics,
    the same epoch orders (rng.permutation), the same minibatches, the same weights."""
    X, y = _data()
    kwargs = dict(hidden_size=4, batch_size=8, max_iter=3, random_state=0, frame_stride=stride)
    memory = LSTMRegressor(**kwargs).fit(_dataarray(X), y)
    lazy = LSTMRegressor(**kwargs).fit(_dataarray(da.from_array(X, chunks=(12, -1, -1))), y)
    assert np.array_equal(memory.x_mean_, lazy.x_mean_)
    assert np.array_equal(memory.x_scale_, lazy.x_scale_)
    assert memory.loss_curve_ == lazy.loss_curve_
    assert _weights_equal(memory, lazy)


def test_fit_on_dask_with_a_small_buffer_visits_every_row_once_per_epoch():
    """A buffer of two chunks (of 7): each epoch visits every row once, the chunks in a random
    order, two at a time (the rows of one group contiguous in the order), and the minibatches
    hold the rows the order names, standardised as in memory."""
    X, y = _data(70)
    values = da.from_array(X, chunks=(10, -1, -1))
    data = chunked_sequences(values)
    mean, scale = np.zeros(3), np.ones(3)
    per_chunk = 10 * 30 * 3 * 4
    source = ChunkedBatches(data.values, data.lengths, 1, mean, scale, np.float32,
                            buffer_bytes=2 * per_chunk)
    assert source.buffer_chunks == 2
    rng = np.random.default_rng(0)
    order = source.epoch_order(rng)
    assert np.array_equal(np.sort(order), np.arange(70))
    groups = [set(order[g:g + 20] // 10) for g in range(0, 70, 20)]
    assert all(len(g) <= 2 for g in groups)
    batch = source[order[15:25]]     # spans two groups
    assert np.array_equal(batch, X[order[15:25]], equal_nan=True)


def test_dask_input_errors_name_the_sample_as_in_memory():
    """A NaN inside a sequence of chunk 3 is reported as in memory (its sample in the whole
    array), found by the streaming check."""
    X, y = _data()
    X[40, 2, 1] = np.nan
    with pytest.raises(ValueError) as memory:
        LSTMRegressor(max_iter=1).fit(X, y)
    with pytest.raises(ValueError) as lazy:
        LSTMRegressor(max_iter=1).fit(da.from_array(X, chunks=(12, -1, -1)), y)
    assert str(lazy.value) == str(memory.value)
    assert "sample 40" in str(lazy.value)


def test_early_stopping_on_dask_holds_out_whole_chunks():
    """validation_fraction on dask input holds out ceil(fraction * n_chunks) whole chunks;
    the fit records a validation score every epoch."""
    X, y = _data(60)
    est = LSTMRegressor(hidden_size=4, batch_size=8, max_iter=2, early_stopping=True,
                        validation_fraction=0.2, random_state=0)
    est.fit(da.from_array(X, chunks=(10, -1, -1)), y)
    assert len(est.validation_scores_) == 2
    with pytest.raises(ValueError, match="chunk"):
        est.fit(da.from_array(X, chunks=(60, -1, -1)), y)


@pytest.mark.parametrize("validation", ["time", "data"])
def test_validation_on_dask_equals_in_memory(validation):
    """validation_split="time" (the same contiguous hold-out as in memory) and dask-backed
    validation_data give the in-memory fit's scores, losses and weights bit for bit."""
    X, y = _data(60)
    X_val, y_val = _data(25, seed=1)
    kwargs = dict(hidden_size=4, batch_size=8, max_iter=2, random_state=0, early_stopping=True,
                  validation_split="time", validation_fraction=0.2)

    def fit(lazy):
        wrap = ((lambda v: da.from_array(v, chunks=(10, -1, -1))) if lazy
                else (lambda v: v))
        est = LSTMRegressor(**kwargs)
        if validation == "data":
            return est.fit(wrap(X), y, validation_data=(wrap(X_val), y_val))
        return est.fit(wrap(X), y)

    memory, lazy = fit(False), fit(True)
    assert memory.validation_scores_ == lazy.validation_scores_
    assert memory.loss_curve_ == lazy.loss_curve_
    assert _weights_equal(memory, lazy)


def test_classifier_and_partial_fit_on_dask():
    """LSTMClassifier fits dask-backed input as in memory (bit for bit), and partial_fit
    continues on it."""
    from seqlstm import LSTMClassifier

    X, y = _data(40)
    labels = (y > np.median(y)).astype(int)
    kwargs = dict(hidden_size=4, batch_size=8, max_iter=2, random_state=0)
    lazy_X = da.from_array(X, chunks=(10, -1, -1))
    memory = LSTMClassifier(**kwargs).fit(X, labels)
    lazy = LSTMClassifier(**kwargs).fit(lazy_X, labels)
    assert _weights_equal(memory, lazy)
    memory.partial_fit(X, labels)
    lazy.partial_fit(lazy_X, labels)
    assert _weights_equal(memory, lazy)


class _Flaky:
    """A chunk function that raises once it has been called `limit` times."""

    def __init__(self, X, limit):
        self.X, self.calls, self.limit = X, 0, limit

    def __call__(self, block_id):
        self.calls += 1
        if self.calls > self.limit:
            raise OSError("store went away")
        i = block_id[0]
        return self.X[10 * i:10 * i + 10]


def test_a_store_failing_mid_fit_raises_clearly_and_keeps_the_model():
    """A dask array whose chunks fail after the checks, the statistics and the first epoch's
    reads (a buffer of one chunk reloads the chunks every epoch): a RuntimeError naming the
    samples, and the previously fitted model is untouched."""
    X, y = _data(40)
    est = LSTMRegressor(hidden_size=4, batch_size=8, max_iter=3, random_state=0).fit(X, y)
    before = est.network_.get_flat().copy()
    flaky = _Flaky(X, limit=4 * 3 + 4)   # checks, mean, variance, epoch 1: 4 chunks each
    values = da.map_blocks(lambda block_id=None: flaky(block_id), dtype=np.float32,
                           chunks=((10,) * 4, (30,), (3,)))
    old = chunked.BUFFER_BYTES
    chunked.BUFFER_BYTES = 10 * 30 * 3 * 4    # one chunk
    try:
        with pytest.raises(RuntimeError, match="could not read samples .* store went away"):
            est.fit(values, y)
    finally:
        chunked.BUFFER_BYTES = old
    assert flaky.calls > 4 * 3 + 4
    assert np.array_equal(est.network_.get_flat(), before)
    assert est.n_iter_ == 3


_OOC_MEMORY = """
import gc, sys, tracemalloc
import numpy as np
import dask
import dask.array as da
from seqlstm import LSTMRegressor
from seqlstm.data import batches, chunked

dask.config.set(scheduler="synchronous")
batches.CHUNK_BYTES = 2 ** 20           # the checks' and statistics' float64 chunks: 1 MiB
T, F, c = 100, 16, 100                  # chunks of 100 sequences: 0.64 MB of float32
chunked.BUFFER_BYTES = 4 * c * T * F * 4   # a buffer of four chunks: 2.56 MB


def block(block_id=None):
    return np.random.default_rng(block_id[0]).standard_normal((c, T, F), dtype=np.float32)


def store(n):
    return da.map_blocks(block, dtype=np.float32, chunks=((c,) * (n // c), (T,), (F,)))


kwargs = dict(hidden_size=4, batch_size=32, max_iter=1, random_state=0, frame_stride=1)
LSTMRegressor(**kwargs).fit(store(200), np.zeros(200))     # compiled
for n in (1000, 6000):                  # stores of 6.4 MB and 38.4 MB
    X, y = store(n), np.arange(n, dtype=np.float64) % 7
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    LSTMRegressor(**kwargs).fit(X, y)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    print(peak, n * T * F * 4)
"""


def test_out_of_core_fit_memory_is_bounded_by_the_buffer_not_the_store():
    """One epoch on dask arrays of 6.4 MB and 38.4 MB (chunks of 0.64 MB) with a buffer of
    four chunks (2.56 MB) and ``CHUNK_BYTES`` of 1 MiB: the NumPy allocations peak below the
    buffer + 4 * CHUNK_BYTES + 2 MB (8.75 MB) for both stores, a quarter of the larger one,
    which the in-memory fit holds at least once.  The rest of the bound: the checks' and
    statistics' float64 temporaries of one ``CHUNK_BYTES`` chunk (about 3.9 MB measured), or
    while training one raw chunk and its standardised copy being loaded, their float64
    temporaries, and the minibatch arrays (7.6 MB at the peak, measured).  Measured in a fresh
    process."""
    out = subprocess.run([sys.executable, "-c", _OOC_MEMORY], capture_output=True, text=True,
                         check=True, timeout=600)
    (small, small_bytes), (peak, nbytes) = (
        [int(v) for v in line.split()] for line in out.stdout.split("\n") if line)
    bound = 2.56e6 + 4 * 2 ** 20 + 2e6
    assert small < bound and peak < bound, (small, peak, bound)
    assert peak < nbytes / 4


def test_weighted_fit_on_a_chunked_dataset_with_two_sample_dims_equals_in_memory():
    """A Dataset (variables as features, sample dims a x b, chunked along a) with
    sample_weight: the streamed fit is the in-memory fit bit for bit."""
    X, y = _data(50, n_time=20)
    w = np.random.default_rng(1).uniform(0, 2, 50)
    ds = xr.Dataset({f"v{i}": (("a", "b", "time"), X[:, :, i].reshape(5, 10, 20))
                     for i in range(3)})
    target = xr.DataArray(y.reshape(5, 10), dims=("a", "b"))
    kwargs = dict(hidden_size=4, batch_size=8, max_iter=2, random_state=0)
    memory = LSTMRegressor(**kwargs).fit(ds, target, sample_weight=w)
    lazy = LSTMRegressor(**kwargs).fit(ds.chunk({"a": 1}), target, sample_weight=w)
    assert _weights_equal(memory, lazy)


@pytest.mark.parametrize("n_features", [1, 3])
def test_statistics_read_every_chunk_once_per_pass_and_equal_in_memory(
        monkeypatch, n_features):
    """The scaling statistics through a RowReader: statistics chunks of 17 samples over store
    chunks of 25 compute each store chunk once per pass (two passes), and the mean and scale
    equal the in-memory ones bit for bit (one feature too: the same statistics chunks), for
    all rows and for a subset."""
    from seqlstm.data import batches
    from seqlstm.data.chunked import RowReader
    from seqlstm.preprocessing import scaling_statistics

    monkeypatch.setattr(batches, "CHUNK_BYTES", 17 * 8 * 30 * n_features)
    X, _ = _data(75, n_features=n_features)
    lengths = chunked_sequences(da.from_array(X, chunks=(25, -1, -1))).lengths
    calls = []

    def block(block_id=None):
        calls.append(block_id[0])
        return X[25 * block_id[0]:25 * block_id[0] + 25]

    values = da.map_blocks(block, dtype=np.float32, chunks=((25,) * 3, (30,), (n_features,)))
    for rows in (None, np.r_[0:20, 30:75]):
        calls.clear()
        lazy = scaling_statistics(RowReader(values), lengths, rows=rows)
        memory = scaling_statistics(X, lengths, rows=rows)
        assert all(np.array_equal(a, b) for a, b in zip(lazy, memory))
        assert sorted(calls) == [0, 0, 1, 1, 2, 2]


def _chunks_of(n_chunks, rows=100, n_time=100, n_features=16):
    """A dask array of `n_chunks` chunks of ``rows * n_time * n_features`` float32 values
    (640 kB by default), over a NumPy array made before any measurement."""
    X = np.random.default_rng(0).standard_normal((n_chunks * rows, n_time, n_features),
                                                 dtype=np.float32)
    return da.from_array(X, chunks=(rows, -1, -1))


def _traced_peak(fn):
    """NumPy/Python allocations of ``fn()`` at their peak, over those before it (bytes)."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_loading_a_group_standardises_each_chunk_straight_into_the_buffer(monkeypatch):
    """Loading a group of two chunks of 640 kB (float32, standardised into float32) allocates
    the group's buffer, what reading one chunk takes (measured alone: the chunk and the
    reader's own temporaries) and the float64 temporaries of one ``CHUNK_BYTES`` piece (64 kB
    here): its peak stays under buffer + one chunk's read + 4 pieces + 200 kB, which a second
    chunk-sized copy per chunk (a standardised copy then copied into the buffer) would exceed
    by 440 kB.  The buffer holds the standardised values."""
    import dask

    from seqlstm.data import batches

    monkeypatch.setattr(batches, "CHUNK_BYTES", 2 ** 16)
    values = _chunks_of(4)
    per_chunk = 100 * 100 * 16 * 4
    mean, scale = np.full(16, 0.5), np.full(16, 2.0)
    source = ChunkedBatches(values, np.full(400, 100), 1, mean, scale, np.float32,
                            buffer_bytes=2 * per_chunk)
    assert source.buffer_chunks == 2
    with dask.config.set(scheduler="synchronous"):
        source._load(0)           # the minibatch machinery and dask's code warmed up
        source._block = source._block_key = None
        read = _traced_peak(lambda: np.asarray(values[200:300]))
        peak = _traced_peak(lambda: source._load(0))
        expected = (np.asarray(values[:200], dtype=np.float64) - mean) / scale
    assert np.array_equal(source._block, expected.astype(np.float32))
    bound = 2 * per_chunk + read + 4 * 2 ** 16 + 200e3
    assert peak < bound, (peak, read, bound)


def test_statistics_passes_hold_one_store_chunk_at_a_time(monkeypatch):
    """The scaling statistics read through a RowReader over six chunks of 640 kB (3.84 MB):
    the allocations peak under what reading one chunk takes (measured alone) + 6
    ``CHUNK_BYTES`` pieces (64 kB) of float64 temporaries + 200 kB, never two chunks at once,
    and the statistics equal the in-memory ones bit for bit."""
    import dask

    from seqlstm.data import batches
    from seqlstm.data.chunked import RowReader
    from seqlstm.preprocessing import scaling_statistics

    monkeypatch.setattr(batches, "CHUNK_BYTES", 2 ** 16)
    values = _chunks_of(6)
    lengths = np.full(600, 100)
    with dask.config.set(scheduler="synchronous"):
        scaling_statistics(RowReader(values[:100]), lengths[:100])    # warmed up
        read = _traced_peak(lambda: np.asarray(values[200:300]))
        result = []
        peak = _traced_peak(lambda: result.append(scaling_statistics(RowReader(values),
                                                                     lengths)))
        memory = scaling_statistics(np.asarray(values), lengths)
    assert all(np.array_equal(a, b) for a, b in zip(result[0], memory))
    bound = read + 6 * 2 ** 16 + 200e3
    assert peak < bound, (peak, read, bound)
