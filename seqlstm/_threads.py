"""Threads and BLAS settings shared by the compute paths.

seqlstm parallelises over samples: ``RecurrentNetwork`` splits a batch into a fixed number of
sub-batches (a function of the batch size and the machine's core count, never of the current
thread count, so results are bit-identical at any thread count), and each kernel entry point
runs the serial per-sub-batch kernels in one ``prange`` loop on Numba's threads.  One compiled
call covers the whole batch: no Python thread hand-off and no GIL between sub-batches (a
Python thread pool measured 0.29 ms against 0.22 ms for the same two sub-batch kernels at
batch 32, and 0.49 ms against 0.23 ms right after PyTorch calls, whose own threads delay the
wake-up of Python threads).

BLAS inside the kernels (SciPy's OpenBLAS, which Numba's ``np.dot`` calls) must then run
single-threaded, or its threads fight Numba's (a forward pass went from 5 ms to 1 s).
``single_threaded_blas`` sets it through OpenBLAS's own entry points (microseconds; threadpoolctl
is only used once, to find the library) and restores the previous count afterwards, so the
user's session is left as it was.  ``kernel_threads`` does the same for Numba's thread count.

Numba's threads wait without spinning for long.  Numba's usual threading layer here is GNU
OpenMP (libgomp), whose idle threads spin-wait for 300,000 rounds (milliseconds) after
every parallel region before they sleep.  A training step runs two regions (forward, backward)
per layer with a millisecond or two of serial Python work between them, so at small batches the
second thread never sleeps: it burns a whole core, twice the CPU time of one thread, and on a
busy machine it takes the core from the process's own main thread or from other work (a 2-thread
fit was 5-25x slower than a 1-thread fit under heavy load).  ``GOMP_SPINCOUNT=1000`` (libgomp's
own value when threads outnumber cores) lets them sleep after microseconds.  On the shared
2-core EPYC (load average 6-9 from other work), a 2-thread fit of the issue's configuration
(512 x 100 x 8, hidden 64, batch 32) then took the CPU time of a 1-thread fit (0.35-0.38 s
against 0.34-0.38 s) and no more wall time (median 0.71-1.00x ``n_jobs=1``, quiet or beside a
busy process or beside a second fit), where libgomp's default spin took twice the CPU time
(0.76-0.80 s) and, beside a busy process, 1.5x the wall time; ``benchmarks/THREADS.md`` has
the figures.  libgomp reads its settings once, when it is loaded,
so seqlstm sets ``GOMP_SPINCOUNT`` (``SPIN_COUNT``) in the environment only while Numba loads
its threading layer (at the first kernel call, see ``_load_threading_layer``) and removes it
again: the process's environment and child processes never see the variable.  It does nothing
when the user set ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` (their choice is kept:
``GOMP_SPINCOUNT=300000`` restores libgomp's default), when Numba's threading layer was already
loaded (by other Numba code) or is not "omp", or when the libgomp Numba binds was already
loaded and initialised (by another library linking the same file).  Other libgomp users: a
PyTorch imported *before* seqlstm's first kernel call keeps its own libgomp copy with its own
settings (two copies are loaded, checked in ``/proc/self/maps``); a PyTorch imported *after*
it binds the libgomp already loaded and shares its spin count.

Where the time of a 2-thread fit goes: one parallel region per layer and direction per kernel
call (a training step of a one-layer network: one forward, one backward region; 96 regions for
the issue's 3-epoch fit of 512 sequences in batches of 32), never one per time step; kernels
take about three quarters of the fit, serial Python and NumPy work (optimiser, loss, batching)
the rest, during which the old spin count kept the second thread busy.  The sub-batches are the
same at 1 and 2 threads (2 x 16 samples at batch 32 on 2 cores), so their product efficiency
does not differ between ``n_jobs=1`` and the default.  Rejected: Numba's "workqueue" layer (no
spinning, but ~100 us per region, not thread-safe so concurrent callers take turns through
``_launch_lock``, and the layer is process-wide, not seqlstm's to choose); one sub-batch when
batch x hidden is small (on a quiet AVX-512 EPYC the default was 1.75x *faster* than
``n_jobs=1`` at batch 32, hidden 64: 0.19 against 0.33 s); a thread count adapted to the load
(``os.getloadavg`` is a one-minute mean that counts the process's own threads; with the short
spin, 2 threads were no slower than 1 beside a busy process and with two fits at once, see
``benchmarks/THREADS.md``).  ``n_jobs=1`` stays the user's choice for a machine known to be busy.

A task running on a ``dask.distributed`` worker runs its kernels on one thread, the worker
thread that runs it, whatever ``set_num_threads`` or ``n_jobs`` say: dask's threads (workers
x threads per worker, which the user sizes to the cores) already share the cores, so Numba
threads x workers never exceed them, and Numba's thread pool is never started in a worker
(no idle pool threads spinning on a core another worker needs).  Results do not change: the
split into sub-batches never depends on the thread count.
"""

import ctypes
import os
import sys
import threading
from contextlib import contextmanager

import numba

_lock = threading.Lock()
_launch_lock = threading.Lock()
_blas = None
_forked_child = False
#: Cores of the machine: the most sub-batches a batch is split into.
MAX_UNITS = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                else (os.cpu_count() or 1))
_n_threads = MAX_UNITS


def _find_scipy_openblas():
    """Return (get, set) ctypes functions for SciPy's OpenBLAS, or None when not found."""
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS, which Numba's np.dot calls)
    from threadpoolctl import threadpool_info

    for info in threadpool_info():
        path = info.get("filepath", "")
        if info.get("internal_api") != "openblas" or "scipy.libs" not in path.replace("\\", "/"):
            continue
        lib = ctypes.CDLL(path)
        for prefix in ("scipy_", ""):
            for suffix in ("", "64_"):
                get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    set_.argtypes = [ctypes.c_int]
                    return get, set_
    return None


def _entry_points():
    global _blas
    if _blas is None:
        with _lock:
            if _blas is None:
                _blas = _find_scipy_openblas() or False
    return _blas


class single_threaded_blas:
    """Run the enclosed kernel calls with SciPy's OpenBLAS limited to one thread.

    A plain class rather than a generator-based context manager: it is entered around every
    kernel call, where a generator frame's few microseconds show on small batches."""

    __slots__ = ("_previous",)

    def __enter__(self):
        funcs = _entry_points()
        self._previous = 1
        if funcs:
            self._previous = funcs[0]()
            if self._previous != 1:
                funcs[1](1)
        return self

    def __exit__(self, *exc):
        if self._previous != 1:
            _blas[1](self._previous)
        return False


def get_num_threads():
    """Number of threads seqlstm's compute paths use (default: the machine's cores)."""
    return _n_threads


def _mark_forked_child():
    global _forked_child
    _forked_child = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_mark_forked_child)


def serial_kernels():
    """Whether the kernels must run their sub-batches in a plain loop instead of on Numba's
    threads: in a ``fork()``ed child, where GNU OpenMP (Numba's usual threading layer) kills
    the process when a parent that used it forked (multiprocessing's "fork" start method)."""
    return _forked_child


#: The libgomp spin count (``GOMP_SPINCOUNT``) Numba's threading layer is loaded with, unless
#: the user set ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` (see the module docstring); None: leave
#: libgomp's default.
SPIN_COUNT = "1000"
_layer_loaded = False


def _load_threading_layer():
    """Load Numba's threading layer (once per process) with ``GOMP_SPINCOUNT=SPIN_COUNT`` in the
    environment unless the user set ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY``; the environment is
    restored afterwards.  Returns whether seqlstm set the spin count for the load."""
    global _layer_loaded
    if _layer_loaded:
        return False
    with _lock:
        if _layer_loaded:
            return False
        ours = (SPIN_COUNT is not None and "GOMP_SPINCOUNT" not in os.environ
                and "OMP_WAIT_POLICY" not in os.environ)
        if ours:
            os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
        try:
            numba.get_num_threads()     # loads the layer: libgomp reads its environment now
        finally:
            if ours:
                os.environ.pop("GOMP_SPINCOUNT", None)
        _layer_loaded = True
        return ours


_threadsafe = False


def _threadsafe_layer():
    """Whether Numba's threading layer is thread-safe ("omp" or "tbb"); fixed once chosen."""
    global _threadsafe
    if not _threadsafe:
        try:
            _threadsafe = numba.threading_layer() in ("omp", "tbb")
        except ValueError:          # no parallel region has run yet: the layer is not chosen
            return False
    return _threadsafe


class kernel_threads:
    """Run the enclosed kernel calls on ``get_num_threads()`` of Numba's threads (at most the
    size of Numba's pool), restoring the calling thread's previous setting afterwards.  With a
    threading layer that is not thread-safe (Numba's fallback "workqueue"), concurrent callers
    take turns.  A plain class, like ``single_threaded_blas``."""

    __slots__ = ("_previous", "_wanted", "_lock")

    def __enter__(self):
        if not _layer_loaded:
            _load_threading_layer()
        self._previous = numba.get_num_threads()
        self._wanted = max(1, min(_n_threads, numba.config.NUMBA_NUM_THREADS))
        if self._wanted > 1 and dask_worker_threads() is not None:
            self._wanted = 1     # a dask worker's task: its own thread only (see the module)
        if self._wanted != self._previous:
            numba.set_num_threads(self._wanted)
        self._lock = None if _threadsafe_layer() else _launch_lock
        if self._lock is not None:
            self._lock.acquire()
        return self

    def __exit__(self, *exc):
        if self._lock is not None:
            self._lock.release()
        if self._wanted != self._previous:
            numba.set_num_threads(self._previous)
        return False


class computing:
    """The settings of every kernel call, entered as one context: ``lock`` (a caller's lock,
    so that concurrent callers do not share its workspaces), then ``single_threaded_blas`` and
    ``kernel_threads``; left in reverse order."""

    __slots__ = ("_lock", "_blas", "_threads")

    def __init__(self, lock):
        self._lock = lock
        self._blas = single_threaded_blas()
        self._threads = kernel_threads()

    def __enter__(self):
        self._lock.acquire()
        try:
            self._blas.__enter__()
            try:
                self._threads.__enter__()
            except BaseException:
                self._blas.__exit__(None, None, None)
                raise
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc):
        try:
            self._threads.__exit__(*exc)
        finally:
            try:
                self._blas.__exit__(*exc)
            finally:
                self._lock.release()
        return False


def set_num_threads(n):
    """Set the number of threads seqlstm's compute paths use; returns the previous value.

    Parameters
    ----------
    n : int
        At least 1.  More threads than sub-batches are simply idle.
    """
    global _n_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of threads must be a positive integer, got {n!r}")
    previous, _n_threads = _n_threads, n
    return previous


def dask_worker_threads():
    """The number of threads of the ``dask.distributed`` worker whose task the calling thread
    is running, or None outside such a task (distributed never imported, or another
    thread)."""
    module = sys.modules.get("distributed.worker")
    if module is None:
        return None
    try:
        worker = module.get_worker()
    except ValueError:
        return None
    return int(getattr(getattr(worker, "state", worker), "nthreads", 1) or 1)


@contextmanager
def numba_threads(n_jobs):
    """Use ``n_jobs`` threads inside the block (None: leave as is; -1: all cores), restoring
    the previous setting afterwards, whatever happens."""
    if n_jobs is None:
        yield
        return
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be None, -1 or a positive integer, got {n_jobs!r}")
    previous = set_num_threads(MAX_UNITS if n_jobs == -1 else n_jobs)
    try:
        yield
    finally:
        set_num_threads(previous)


def work_units(n, min_size):
    """Number of sub-batches to split ``n`` samples into: at most ``MAX_UNITS`` (a constant of
    the machine, never the current thread count) and at least ``min_size`` samples each."""
    return max(1, min(MAX_UNITS, n // max(1, min_size)))
