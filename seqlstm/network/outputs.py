"""Output transforms: the head's raw outputs as class probabilities or Gaussian moments."""

from __future__ import annotations

import numpy as np

from .objective import MIN_VARIANCE, softplus

__all__ = ["softmax", "gaussian_moments"]


def softmax(logits):
    """Softmax over the last axis, computed without overflow (NaN rows stay NaN).

    Parameters
    ----------
    logits : ndarray

    Returns
    -------
    ndarray of float64
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def gaussian_moments(raw, n_outputs):
    """Mean and standard deviation from the Gaussian head's raw outputs.

    Parameters
    ----------
    raw : ndarray of shape (..., 2 * n_outputs)
        Means, then raw variances (``var = softplus(raw) + MIN_VARIANCE``).
    n_outputs : int

    Returns
    -------
    mean, std : ndarray of float64 of shape (..., n_outputs)
    """
    raw = np.asarray(raw, dtype=np.float64)
    mean = raw[..., :n_outputs]
    return mean, np.sqrt(softplus(raw[..., n_outputs:]) + MIN_VARIANCE)
