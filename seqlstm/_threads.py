"""Thread control shared by the compute paths.

Kernels split work over Numba's threads and call BLAS from inside them, so the BLAS that Numba
uses (SciPy's OpenBLAS) must run single-threaded for the duration of a call: two thread pools
fighting over 2 cores made a small forward+backward 20x slower.  ``single_threaded_blas`` sets
SciPy's OpenBLAS to one thread through its own C entry points (a few microseconds; threadpoolctl
is only used once, to find the library) and restores the previous count afterwards, so the
user's session is left as it was.
"""

import ctypes
import threading
from contextlib import contextmanager

import numba

_lock = threading.Lock()
_blas = None


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


@contextmanager
def single_threaded_blas():
    """Run the enclosed kernel calls with SciPy's OpenBLAS limited to one thread."""
    funcs = _entry_points()
    if not funcs:
        yield
        return
    get, set_ = funcs
    previous = get()
    if previous != 1:
        set_(1)
    try:
        yield
    finally:
        if previous != 1:
            set_(previous)


@contextmanager
def numba_threads(n_jobs):
    """Use ``n_jobs`` Numba threads inside the block (None: leave as is; -1: all)."""
    if n_jobs is None:
        yield
        return
    n_max = numba.config.NUMBA_NUM_THREADS
    n = n_max if n_jobs == -1 else int(n_jobs)
    if n < 1 or n > n_max:
        raise ValueError(f"n_jobs must be None, -1 or an integer in [1, {n_max}], got {n_jobs!r}")
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def work_units(n, min_size):
    """Number of equal parts to split ``n`` items into: at most the machine's Numba thread
    count (a constant of the process, never the current thread count, so that results are
    bit-identical at any thread count) and parts of at least ``min_size`` items."""
    return max(1, min(numba.config.NUMBA_NUM_THREADS, n // max(1, min_size)))
