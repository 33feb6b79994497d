"""The one house JIT decorator for every seqlstm kernel.

All kernels are compiled with ``cache=True`` (a warm start costs a fraction of a second
instead of tens of seconds of compilation), ``error_model="numpy"`` (a float division does not
stop a loop from vectorising) and a fastmath flag set that keeps NaN and inf semantics, so masks
and divergence checks still work.  Numba freezes globals at compile time, so values that vary
between calls are passed as arguments; the few constants compiled in (the cell codes of
``seqlstm.cells`` and the product tunables of ``kernels/config.py``) are read from module
globals, and changing a tunable needs a cache clear (see ``kernels/config.py``).

Numba's on-disk cache is not invalidated when a function *called* by a kernel changes in another
file (numba#1833), so kernels that call each other live in one module.  Nor is it invalidated when
the options below change: clear the ``__pycache__`` directories after editing them.

The fast-math flags leave out ``reassoc``, so LLVM may not reorder floating-point operations.  A
kernel carries its own (weak) copy of each helper that LLVM did not inline, optimised a second
time inside the kernel's module; a process that compiled the helper binds the kernel's calls to
the helper's own code, a process that loads the kernel from the cache to that copy.  With
``reassoc`` the second optimisation reordered products, so the gradients of a fresh compile and
of a cache load differed in the last bits (cifg float32 up to 1.5e-8; lstm, peephole, cifg
float64 up to 2.8e-17 at H=32); without it every cell in both dtypes gives the same bits
(``tests/test_recurrent.py``).  Measured cost on the LSTM engine benchmark (configs A and B,
float32 and float64, one thread, AMD EPYC with AVX-512, under load): none beyond the noise
(minima within +-3 %), and no change in the cold compile time (~19 s): reassociation bought
nothing measurable.

A compilation is a user-visible cost (about 20 s per cell type and dtype on a 2-core machine), so
the first kernel compiled in a process says so once, on the ``seqlstm`` logger at WARNING level
(shown on stderr when the program configured no logging): what is compiled, that it is one-off,
about how long, and where the cache lives.  Kernels loaded from the cache say nothing.
``seqlstm.precompile`` compiles ahead of time (Docker images, cluster workers).
"""

import logging

import numba
from numba.core import event as _event

#: Logger of the compile notice.
LOGGER = logging.getLogger("seqlstm")

#: LLVM fast-math flags that allow contraction (fused multiply-add) but keep ``isnan``/``isinf``
#: and do not allow reassociation (see the module docstring).
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn"})
#: The same options for functions compiled through ``numba.extending.overload`` (the skeletons
#: specialised on a literal cell code); caching is the caller's.
OVERLOAD_OPTIONS = dict(nogil=True, error_model="numpy", fastmath=set(FASTMATH))


def jit(func=None, *, parallel=False):
    """Compile a kernel with the house options (use as ``@jit`` or ``@jit(parallel=True)``).

    Kernels are serial, except the thin entry points that run one serial kernel per sub-batch
    in a ``prange`` loop (``parallel=True``): one compiled call, on Numba's threads, covers
    the whole batch.

    Returns
    -------
    callable
        The decorated function (or a decorator when called without a function).
    """
    options = dict(cache=True, nogil=True, error_model="numpy", fastmath=set(FASTMATH))
    if parallel:
        options["parallel"] = True
    if func is not None:
        return numba.njit(**options)(func)
    return numba.njit(**options)


class _CompileNotice(_event.Listener):
    """Say once per process that seqlstm kernels are being compiled (not loaded from the cache).

    Numba raises its ``numba:compile`` event only when a signature is neither compiled in this
    process nor found in the on-disk cache, so the notice appears exactly when a user waits.
    """

    def __init__(self):
        self.said = False

    def on_start(self, event):
        if self.said:
            return
        dispatcher = event.data.get("dispatcher")
        func = getattr(dispatcher, "py_func", None)
        module = getattr(func, "__module__", "") or ""
        if not module.startswith("seqlstm."):
            return
        self.said = True
        try:
            where = dispatcher.stats.cache_path
        except AttributeError:  # pragma: no cover - every house kernel has a cache
            where = "Numba's cache directory"
        LOGGER.warning(
            "seqlstm: compiling Numba kernels (first use of %s.%s with these argument types). "
            "This is one-off: about 20 s per cell type and dtype on a 2-core machine; the "
            "compiled code is cached in %s and later runs load it in under a second. "
            "`python -m seqlstm precompile` compiles ahead of time.",
            module, func.__name__, where)

    def on_end(self, event):
        pass


COMPILE_NOTICE = _CompileNotice()
_event.register("numba:compile", COMPILE_NOTICE)
