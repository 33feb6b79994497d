"""Optimisers as fused in-place updates of the flat parameter vector.

Like scikit-learn's ``neural_network`` optimisers, each is a small class with
``update_params(params, grads)``; the update itself is one compiled loop over the vector.
Gradient clipping by global norm and the L2 penalty are applied inside the same pass.
"""

import math

import numpy as np

from .kernels._jit import jit


@jit
def _global_norm(g):
    s = 0.0
    for i in range(g.size):
        s += float(g[i]) * float(g[i])
    return math.sqrt(s)


@jit
def _adam_step(p, g, m, v, lr, beta1, beta2, eps, t, alpha, scale):
    b1t = 1.0 - beta1 ** t
    b2t = 1.0 - beta2 ** t
    step = lr * math.sqrt(b2t) / b1t
    for i in range(p.size):
        gi = float(g[i]) * scale + alpha * float(p[i])
        mi = beta1 * float(m[i]) + (1.0 - beta1) * gi
        vi = beta2 * float(v[i]) + (1.0 - beta2) * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] -= step * mi / (math.sqrt(vi) + eps)


@jit
def _sgd_step(p, g, vel, lr, momentum, nesterov, alpha, scale):
    for i in range(p.size):
        gi = float(g[i]) * scale + alpha * float(p[i])
        vi = momentum * float(vel[i]) - lr * gi
        vel[i] = vi
        if nesterov:
            p[i] += momentum * vi - lr * gi
        else:
            p[i] += vi


def clip_scale(grads, clip_norm):
    """Factor that scales ``grads`` to global norm at most ``clip_norm`` (1.0 if no clipping).

    Returns
    -------
    scale : float
    norm : float
        The gradient's global norm before clipping.
    """
    norm = _global_norm(grads)
    if clip_norm is None or not math.isfinite(norm) or norm <= clip_norm:
        return 1.0, norm
    return clip_norm / norm, norm


class _Optimizer:
    def __init__(self, learning_rate=1e-3, alpha=0.0, clip_norm=None):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if clip_norm is not None and not clip_norm > 0:
            raise ValueError(f"clip_norm must be None or > 0, got {clip_norm}")
        self.learning_rate = float(learning_rate)
        self.alpha = float(alpha)
        self.clip_norm = clip_norm

    def update_params(self, params, grads):
        """Update `params` in place from `grads`.

        Parameters
        ----------
        params : ndarray, 1-D
            The flat parameter vector, updated in place.
        grads : ndarray, 1-D
            Its gradient, of the same size and dtype.
        """
        if params.shape != grads.shape or params.ndim != 1:
            raise ValueError(f"params and grads must be 1-D of one shape, got {params.shape} "
                             f"and {grads.shape}")
        scale, _ = clip_scale(grads, self.clip_norm)
        self._step(params, grads, scale)


class Adam(_Optimizer):
    """Adam (Kingma & Ba 2015) with L2 penalty ``alpha`` and global-norm clipping.

    Parameters
    ----------
    learning_rate : float, default 1e-3
        Step size.
    beta_1, beta_2 : float, default 0.9, 0.999
        Decay rates of the first and second moment estimates.
    epsilon : float, default 1e-8
        Added to the square root of the second moment estimate (numerical stability).
    alpha : float, default 0.0
        L2 penalty: ``alpha * params`` is added to the gradient.
    clip_norm : float or None, default None
        Gradients are scaled down to this global norm (before the penalty is added).
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-8, alpha=0.0,
                 clip_norm=None):
        super().__init__(learning_rate, alpha, clip_norm)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.t = 0
        self.m = self.v = None

    def _step(self, params, grads, scale):
        if self.m is None or self.m.shape != params.shape:
            self.m = np.zeros_like(params)
            self.v = np.zeros_like(params)
        self.t += 1
        _adam_step(params, grads, self.m, self.v, self.learning_rate, self.beta_1, self.beta_2,
                   self.epsilon, self.t, self.alpha, scale)


class SGD(_Optimizer):
    """Stochastic gradient descent with (Nesterov) momentum, L2 penalty and clipping.

    Parameters
    ----------
    learning_rate : float, default 1e-3
        Step size.
    momentum : float, default 0.9
        Momentum of the velocity (0: plain gradient descent).
    nesterov : bool, default False
        Whether to use Nesterov's momentum.
    alpha : float, default 0.0
        L2 penalty: ``alpha * params`` is added to the gradient.
    clip_norm : float or None, default None
        Gradients are scaled down to this global norm (before the penalty is added).
    """

    def __init__(self, learning_rate=1e-3, momentum=0.9, nesterov=False, alpha=0.0,
                 clip_norm=None):
        super().__init__(learning_rate, alpha, clip_norm)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocity = None

    def _step(self, params, grads, scale):
        if self.velocity is None or self.velocity.shape != params.shape:
            self.velocity = np.zeros_like(params)
        _sgd_step(params, grads, self.velocity, self.learning_rate, self.momentum,
                  self.nesterov, self.alpha, scale)
