"""Overflow-free sigmoid and tanh, specialised by dtype at compile time, in forms LLVM vectorises.

``math.tanh``/``math.exp`` called element by element cannot be vectorised (no vector math
library is assumed) and made the gate loops several times slower.

float32 uses a clamped rational approximation of tanh (the form used by Eigen and XNNPACK,
accurate to a few float32 ulps); ``sigmoid(x) = 0.5 + 0.5 * tanh(x / 2)``.

float64 builds both from ``exp_nonpositive``, an exp of arguments <= 0 written without branches
or library calls: Cody-Waite reduction ``x = k ln2 + r`` (|r| <= ln2/2, ln 2 split in two as in
fdlibm), a degree-13 Taylor polynomial for ``exp(r)``, and ``2**k`` built from the exponent bits
(``k`` read from the mantissa of ``x / ln2 + 1.5 * 2**52``, the power assembled by an LLVM
bitcast, in two halves so that subnormal results round once, correctly).  ``sigmoid(x) =
(1 or e) / (1 + e)`` with ``e = exp(-|x|)``; ``tanh`` uses Cephes' rational form
``x + x z P(z) / Q(z)`` for ``|x| < 0.625`` (no cancellation near 0) and
``1 - 2e / (1 + e)`` with ``e = exp(-2|x|)`` beyond, the sign copied from ``x``.  Only
exponentials of non-positive arguments are taken, so nothing overflows: the results saturate
to exactly 0/1 (sigmoid) and -1/1 (tanh), +-inf give the limits, NaN propagates, and
``tanh(-0.0) = -0.0``.  Measured against extended-precision references over [-800, 800], tiny
values (1e-300..1e-8) and signed zeros (``tests/test_activations.py``, x86-64 with FMA): at most
0.97 ulp for exp, 2.03 ulp for sigmoid and 1.40 ulp for tanh (relative, also near 0); against
``math.exp``/``math.tanh`` themselves at most 1 and 2 ulp.  Applied element by element
to a 4096-element array (AVX-512, under load) sigmoid took 1.0 ns and tanh 1.5 ns per element
against 5.1 and 10.4 ns with the library functions; ``RecurrentNetwork.forward`` in float64 went
from 10.0x / 8.9x / 3.8x the float32 time to 2.4x / 2.4x / 2.0x at (batch, T, inputs, hidden) =
(32, 50, 4, 32) / (64, 100, 8, 64) / (128, 365, 32, 256), and ``loss_and_grad`` from 5.2x / 4.6x
to 1.9x / 2.3x at the first two (one thread, minima of many repeats, shared 2-core machine under
load: ratios only).

These are plain Python functions with Numba overloads: call them from kernels only.  Numba's
cache is not invalidated when this file changes (numba#1833); the kernel modules import it, so
clear ``__pycache__`` after editing it (and any cached function of the tests that calls them).
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from ._jit import FASTMATH

_JIT_OPTIONS = {"fastmath": set(FASTMATH), "error_model": "numpy"}

# Eigen's generic_fast_tanh_float coefficients (odd numerator degree 13, even denominator 6).
_CLAMP = np.float32(7.90531110763549805)
_A1 = np.float32(4.89352455891786e-03)
_A3 = np.float32(6.37261928875436e-04)
_A5 = np.float32(1.48572235717979e-05)
_A7 = np.float32(5.12229709037114e-08)
_A9 = np.float32(-8.60467152213735e-11)
_A11 = np.float32(2.00018790482477e-13)
_A13 = np.float32(-2.76076847742355e-16)
_B0 = np.float32(4.89352518554385e-03)
_B2 = np.float32(2.26843463243900e-03)
_B4 = np.float32(1.18534705686654e-04)
_B6 = np.float32(1.19825839466702e-06)
_HALF32 = np.float32(0.5)


def tanh(x):
    """Hyperbolic tangent (dispatched by dtype inside Numba kernels)."""
    return math.tanh(x)


def sigmoid(x):
    """Logistic sigmoid (dispatched by dtype inside Numba kernels)."""
    return 0.5 + 0.5 * math.tanh(0.5 * x)


def _tanh32(x):
    x = min(max(x, -_CLAMP), _CLAMP)
    x2 = x * x
    p = x2 * _A13 + _A11
    p = p * x2 + _A9
    p = p * x2 + _A7
    p = p * x2 + _A5
    p = p * x2 + _A3
    p = p * x2 + _A1
    p = p * x
    q = x2 * _B6 + _B4
    q = q * x2 + _B2
    q = q * x2 + _B0
    return p / q


@overload(tanh, jit_options=_JIT_OPTIONS)
def _tanh_overload(x):
    if x == types.float32:
        return _tanh32
    return _tanh64


def _sigmoid32(x):
    return _HALF32 + _HALF32 * tanh(_HALF32 * x)


@overload(sigmoid, jit_options=_JIT_OPTIONS)
def _sigmoid_overload(x):
    if x == types.float32:
        return _sigmoid32
    return _sigmoid64


# ---------------------------------------------------------------------------------------------
# float64: exp of a non-positive argument, built from operations LLVM vectorises.

@intrinsic
def _bits_of(typingctx, x):
    """The bits of a float64 as an int64 (an LLVM bitcast, no conversion)."""
    if x != types.float64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _float_of(typingctx, i):
    """The float64 whose bits are the int64 ``i`` (an LLVM bitcast, no conversion)."""
    if i != types.int64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


_LOG2E = 1.4426950408889634
#: 1.5 * 2**52: adding it rounds to an integer held in the low bits of the mantissa.
_SHIFTER = 6755399441055744.0
_SHIFTER_BITS = 0x4338000000000000
#: ln 2 split as in fdlibm: ``k * _LN2_HI`` is exact for |k| < 2**20.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
#: exp(-746) rounds to 0; clamping there keeps the exponent arithmetic in range.
_EXP_LO = -746.0
# Taylor coefficients 1/n!, n = 2..13 (|r| <= ln2/2: truncation error < 1e-17 relative).
_E2 = 1.0 / 2
_E3 = 1.0 / 6
_E4 = 1.0 / 24
_E5 = 1.0 / 120
_E6 = 1.0 / 720
_E7 = 1.0 / 5040
_E8 = 1.0 / 40320
_E9 = 1.0 / 362880
_E10 = 1.0 / 3628800
_E11 = 1.0 / 39916800
_E12 = 1.0 / 479001600
_E13 = 1.0 / 6227020800


def _exp_nonpos64(x):
    """exp(x) for x <= 0 (or NaN), branch-free: subnormal results and 0 below -745.2 are exact
    to rounding, NaN propagates."""
    y = max(x, _EXP_LO)                     # Python's max keeps a NaN first argument
    t = y * _LOG2E + _SHIFTER
    kf = t - _SHIFTER                       # round(y / ln 2), an integer in [-1076, 0]
    r = (y - kf * _LN2_HI) - kf * _LN2_LO   # |r| <= ln2/2 (Cody-Waite)
    p = r * _E13 + _E12
    p = p * r + _E11
    p = p * r + _E10
    p = p * r + _E9
    p = p * r + _E8
    p = p * r + _E7
    p = p * r + _E6
    p = p * r + _E5
    p = p * r + _E4
    p = p * r + _E3
    p = p * r + _E2
    p = 1.0 + (r + r * r * p)
    k = _bits_of(t) - _SHIFTER_BITS         # the same integer, from the mantissa bits
    k1 = k >> 1                             # 2**k as two normal powers of two, so that
    k2 = k - k1                             # results below 2**-1022 round once, correctly
    return p * _float_of((k1 + 1023) << 52) * _float_of((k2 + 1023) << 52)


# tanh(x) = x + x z P(z) / Q(z), z = x^2, for |x| < 0.625 (Cephes tanh.c).
_TANH_CUT = 0.625
_TP0 = -9.64399179425052238628e-1
_TP1 = -9.92877231001918586564e1
_TP2 = -1.61468768441708447952e3
_TQ1 = 1.12811678491632931402e2
_TQ2 = 2.23548839060100448583e3
_TQ3 = 4.84406305325125486048e3


def exp_nonpositive(x):
    """exp(x) for x <= 0 (dispatched by dtype inside Numba kernels; float64 is branch-free)."""
    return math.exp(x)


@overload(exp_nonpositive, jit_options=_JIT_OPTIONS)
def _exp_nonpositive_overload(x):
    if x == types.float64:
        return _exp_nonpos64
    return lambda x: math.exp(x)


def _tanh64(x):
    a = abs(x)
    e = exp_nonpositive(-2.0 * a)
    big = 1.0 - 2.0 * e / (1.0 + e)         # tanh(a) = (1 - e) / (1 + e), e = exp(-2a)
    z = a * a
    p = (_TP0 * z + _TP1) * z + _TP2
    q = ((z + _TQ1) * z + _TQ2) * z + _TQ3
    small = a + a * z * (p / q)
    return math.copysign(small if a < _TANH_CUT else big, x)


def _sigmoid64(x):
    e = exp_nonpositive(-abs(x))            # in [0, 1]: nothing overflows
    return (1.0 if x >= 0.0 else e) / (1.0 + e)
