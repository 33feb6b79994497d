"""The one house JIT decorator for every seqlstm kernel.

All kernels are compiled with ``cache=True`` (a warm start costs a fraction of a second
instead of tens of seconds of compilation), ``error_model="numpy"`` (a float division does not
stop a loop from vectorising) and a fastmath flag set that keeps NaN and inf semantics, so masks
and divergence checks still work.  Tunables are passed as arguments, never read from globals,
because Numba freezes globals at compile time.

Numba's on-disk cache is not invalidated when a function *called* by a kernel changes in another
file (numba#1833), so kernels that call each other live in one module.
"""

import numba

#: LLVM fast-math flags that allow reassociation and contraction but keep ``isnan``/``isinf``.
FASTMATH = frozenset({"nsz", "arcp", "contract", "reassoc", "afn"})


def jit(*args, parallel=False, inline="never"):
    """Compile a kernel with the house options.

    Parameters
    ----------
    parallel : bool, default False
        Compile ``prange`` loops as parallel loops over Numba's threads.
    inline : {"never", "always"}, default "never"
        Numba-IR inlining, for tiny helpers called inside hot loops.

    Returns
    -------
    callable
        The decorated function (or a decorator when called without a function).
    """
    options = dict(
        cache=True,
        nogil=True,
        error_model="numpy",
        fastmath=set(FASTMATH),
        parallel=parallel,
        inline=inline,
    )
    if args and callable(args[0]):
        return numba.njit(**options)(args[0])
    return numba.njit(**options)
