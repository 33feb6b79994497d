"""Overflow-free sigmoid and tanh, specialised by dtype at compile time.

float32 uses a clamped rational approximation of tanh (the form used by Eigen and XNNPACK,
accurate to a few float32 ulps) that LLVM can vectorise; ``math.tanh``/``math.exp`` called element
by element cannot be vectorised and made inference several times slower.  float64 uses the exact
library functions so that the kernels agree with the NumPy reference to ~1e-15.

``sigmoid(x) = 0.5 + 0.5 * tanh(x / 2)`` never overflows for any finite or infinite ``x``.

These are plain Python functions with Numba overloads: call them from kernels only.  Numba's
cache is not invalidated when this file changes (numba#1833); the kernel modules import it, so
clear ``__pycache__`` after editing it.
"""

import math

import numpy as np
from numba import types
from numba.extending import overload

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
    return lambda x: math.tanh(x)


def _sigmoid32(x):
    return _HALF32 + _HALF32 * tanh(_HALF32 * x)


def _sigmoid64(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@overload(sigmoid, jit_options=_JIT_OPTIONS)
def _sigmoid_overload(x):
    if x == types.float32:
        return _sigmoid32
    return _sigmoid64
