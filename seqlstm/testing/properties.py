"""Numerical-stability properties of recurrent networks.

Every property is a function ``prop(model, X, **options) -> (ok, worst)``:

- ``model`` is a :class:`~seqlstm.RecurrentNetwork` or a fitted estimator (anything with a
  ``network_`` attribute; the estimator itself is only needed by :func:`refit_determinism` and
  :func:`save_load_roundtrip`);
- ``X`` is an array ``(sample, time, feature)``, NaN-padded at the end of each sequence.  For
  an estimator, the properties of :data:`ESTIMATOR_PROPERTIES` (which fit, predict or save it)
  take ``X`` as the estimator does; every other property is about ``model.network_`` and takes
  ``X`` as the network reads it, ``seqlstm.inspect.network_input(model, X)[0]`` (standardized
  with the fitted statistics and, when ``frame_stride_ > 1``, in frames of
  ``2 * frame_stride_`` steps: time is then counted in network steps, one per frame);
- ``ok`` is a bool and ``worst`` the worst value seen (a float, larger is worse; what it
  measures is in each property's docstring and in :data:`PROPERTIES`).

A property that does not apply to a model (causality of a bidirectional network, cell-state
growth of a GRU, a save/load round trip of a bare network) raises :class:`NotApplicable`.

The functions are meant both for hypothesis tests::

    @given(sequences(n_features=3))
    def test_finite(X):
        ok, worst = finite_outputs(net, X)
        assert ok, worst

and for :func:`seqlstm.testing.check_stability`, which draws the inputs itself.
"""

import os
import tempfile
import warnings

import numpy as np

from .. import _threads
from ..cells import CELLS

__all__ = [
    "NotApplicable",
    "PROPERTIES",
    "ESTIMATOR_PROPERTIES",
    "TOLERANCES",
    "DTYPE_AGREEMENT_TOL",
    "get_network",
    "network_like",
    "finite_outputs",
    "bounded_hidden_state",
    "bounded_gates",
    "cell_state_growth",
    "gradient_finite_differences",
    "tbptt_equals_full",
    "permutation_equivariance",
    "batch_consistency",
    "causality",
    "padding_invariance",
    "dtype_agreement",
    "thread_agreement",
    "refit_determinism",
    "save_load_roundtrip",
]

#: Tolerance of the structural comparisons (permutation, batch, causality, padding, TBPTT),
#: relative to ``max(1, largest magnitude compared)``, by compute dtype.  Mathematically the
#: compared quantities are equal; only summation order may differ.
TOLERANCES = {"float32": 1e-5, "float64": 1e-12}
#: Stated agreement of float32 with float64 on well-scaled inputs (``|x| <= 2``): the largest
#: absolute difference of the outputs, relative to ``max(1, max |output|)``.
DTYPE_AGREEMENT_TOL = 1e-4
#: Largest relative error of a gradient entry against central finite differences (float64).
FD_TOL = 1e-5
#: Per cell, whether each gate block is a sigmoid (else a tanh), from ``seqlstm.cells``.
_SIGMOID_GATES = {cell.name: tuple(act == "sigmoid" for act in cell.activations)
                  for cell in CELLS.values()}


class NotApplicable(ValueError):
    """Raised by a property that does not apply to the given model."""


# --------------------------------------------------------------------------- helpers
def get_network(model):
    """The :class:`~seqlstm.RecurrentNetwork` of a network or a fitted estimator.

    Parameters
    ----------
    model : RecurrentNetwork or estimator with a ``network_`` attribute
        The network, or the estimator whose network is returned.

    Returns
    -------
    RecurrentNetwork
        The network (a headless per-step view when its head reads a per-sequence summary).
    """
    net = getattr(model, "network_", None)
    if net is not None:
        return _per_step_view(net)
    if all(hasattr(model, a) for a in ("forward", "vjp", "params", "cell")):
        return _per_step_view(model)
    raise TypeError(f"model must be a RecurrentNetwork or a fitted estimator with a network_ "
                    f"attribute, got {type(model).__name__}")


def _per_step_view(net):
    """`net`, or, when its head reads a per-sequence summary (``readout`` other than
    "last"), a headless copy of its recurrent layers: the properties are about per-step
    outputs."""
    if getattr(net, "readout", "last") == "last":
        return net
    body = type(net).from_config({**net.config(), "output_size": None, "readout": "last"})
    body.params[:] = net.params[:body.params.size]     # the head's parameters come last
    return body


def network_like(net, dtype=None, random_state=None, copy_params=True):
    """A new network of the same class and configuration, optionally in another dtype.

    Parameters
    ----------
    net : RecurrentNetwork
        The network to copy.
    dtype : str, optional
        Compute dtype of the copy (default: ``net``'s).
    random_state : optional
        Seed of the copy's initialisation (only when ``copy_params`` is False).
    copy_params : bool, default True
        Copy ``net``'s parameters (cast to ``dtype``).

    Returns
    -------
    RecurrentNetwork
        The new network.
    """
    config = net.config()
    if dtype is not None:
        config["dtype"] = dtype
    new = type(net).from_config(config)
    if copy_params:
        new.params[:] = net.params.astype(new.dtype)
    else:
        new.init_params(random_state)
    return new


def _X(X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise ValueError(f"X must be 3-D (sample, time, feature), got shape {X.shape}")
    return X


def _valid(X):
    """Mask (sample, time) of valid steps, and lengths."""
    valid_step = ~np.isnan(X).all(axis=2)
    T = X.shape[1]
    lengths = np.where(valid_step.any(axis=1), T - np.argmax(valid_step[:, ::-1], axis=1), 0)
    mask = np.arange(T)[None, :] < lengths[:, None]
    return mask, lengths


def _tol(net):
    return TOLERANCES[str(net.dtype)]


def _maxabs(a):
    a = np.asarray(a, dtype=np.float64)
    a = a[~np.isnan(a)]
    return float(np.max(np.abs(a))) if a.size else 0.0


def _compare(a, b):
    """Largest absolute difference; inf when the NaN patterns differ or a value is inf."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return np.inf
    na, nb = np.isnan(a), np.isnan(b)
    if not np.array_equal(na, nb):
        return np.inf
    if a.size == 0 or na.all():
        return 0.0
    d = np.abs(a[~na] - b[~na])
    return float(d.max()) if np.all(np.isfinite(d)) else np.inf


def _relative(diff, *arrays):
    return diff / max(1.0, *(_maxabs(a) for a in arrays))


def _rng(random_state):
    return np.random.default_rng(random_state)


def _out_size(net):
    return net.features_out if net.output_size is None else net.output_size


def _grad_outputs(net, X, rng):
    return rng.standard_normal((X.shape[0], X.shape[1], _out_size(net)))


# --------------------------------------------------------------------------- properties
def finite_outputs(model, X, random_state=None):
    """Check that outputs and gradients are finite on valid steps, however large the inputs.

    Runs ``forward``, ``forward_last`` and ``vjp`` (random output gradient).  The battery
    draws inputs up to :data:`~seqlstm.testing.strategies.MAX_MAGNITUDE` of the dtype (1e6 in
    float32, 1e100 in float64).

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.
    random_state : None, int or numpy Generator, default None
        Seed of the property's random choices.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest magnitude of any output or gradient entry; inf if one is not finite.
    """
    net = get_network(model)
    X = _X(X)
    mask, _ = _valid(X)
    rng = _rng(random_state)
    out = net.forward(X)
    last = net.forward_last(X)
    grads, dX = net.vjp(X, _grad_outputs(net, X, rng))
    parts = [out[mask], last[mask.any(axis=1)], dX[mask], net.flatten_grads(grads)]
    worst = 0.0
    for p in parts:
        p = np.asarray(p, dtype=np.float64)
        if not np.all(np.isfinite(p)):
            return False, np.inf
        worst = max(worst, _maxabs(p))
    return True, worst


def _traces(net, X):
    return net.trace(X)


def bounded_hidden_state(model, X):
    """Every hidden state satisfies ``|h| <= 1`` (all cells: lstm-type ``o * tanh(c)``,
    GRU's convex combination, RNN's tanh).

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest ``|h|`` seen (inf if not finite).
    """
    net = get_network(model)
    worst = 0.0
    for tr in _traces(net, _X(X)):
        h = tr["h"]
        if np.any(np.isinf(h)):
            return False, np.inf
        worst = max(worst, _maxabs(h))
    return bool(worst <= 1.0), worst


def bounded_gates(model, X):
    """Sigmoid gates lie in [0, 1] and tanh-type activations (LSTM candidate ``g``, GRU
    candidate ``n``, the RNN's state) in [-1, 1].

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest distance of a gate value outside its interval (0 when all are inside; inf for
        a non-finite value).
    """
    net = get_network(model)
    kinds = _SIGMOID_GATES[net.cell]
    worst = 0.0
    for tr in _traces(net, _X(X)):
        gates = tr["gates"]
        for j, is_sigmoid in enumerate(kinds):
            a = gates[:, :, j, :]
            a = a[~np.isnan(a)] if not np.all(np.isnan(a)) else np.zeros(0)
            if a.size == 0:
                continue
            if not np.all(np.isfinite(a)):
                return False, np.inf
            lo, hi = (0.0, 1.0) if is_sigmoid else (-1.0, 1.0)
            worst = max(worst, float(max(lo - a.min(), a.max() - hi, 0.0)))
    return bool(worst == 0.0), worst


def cell_state_growth(model, X):
    """The cell state grows at most linearly with time: ``|c_t| <= n_t``, where ``n_t`` is the
    number of steps the direction has processed (``c`` starts at 0 and each step adds
    ``i * g`` with ``|i * g| <= 1`` to ``f * c`` with ``0 <= f <= 1``).

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest ``|c_t| / n_t`` seen (the property holds when it is at most 1).

    Raises
    ------
    NotApplicable
        For cells without a cell state (gru, rnn).
    """
    net = get_network(model)
    if not net.has_cell_state:
        raise NotApplicable(f"cell {net.cell!r} has no cell state")
    X = _X(X)
    mask, lengths = _valid(X)
    T = X.shape[1]
    t = np.arange(T)[None, :]
    worst = 0.0
    for tr in _traces(net, X):
        steps = (t + 1) if tr["direction"] == 0 else (lengths[:, None] - t)
        steps = np.where(mask, steps, 1).astype(np.float64)
        c = np.abs(tr["c"])
        if np.any(np.isinf(c)):
            return False, np.inf
        ratio = np.where(mask[:, :, None], c / steps[:, :, None], 0.0)
        worst = max(worst, _maxabs(ratio))
    tol = 1.0 + 8 * np.finfo(net.dtype).eps
    return bool(worst <= tol), worst


def gradient_finite_differences(model, X, random_state=None, n_checks=12, eps=1e-6):
    """``vjp`` equals central finite differences, in float64.

    The network (or a float64 copy of it with the same parameters) is differentiated for
    ``L = sum(G * forward(X))`` over valid steps with a random ``G``; ``n_checks`` random
    parameters and ``n_checks`` random valid input entries are compared with
    ``(L(p + eps) - L(p - eps)) / (2 eps)``.  Use well-scaled inputs (the battery uses
    ``|x| <= 2``): finite differences are meaningless where the activations saturate.

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.
    random_state : None, int or numpy Generator, default None
        Seed of the property's random choices.
    n_checks : int, default 12
        Number of parameters and of input entries compared.
    eps : float, default 1e-6
        Step of the central differences.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest relative error ``|a - b| / max(|a|, |b|, 1e-3)``; the property holds when it
        is at most :data:`FD_TOL`.
    """
    net = network_like(get_network(model), "float64")
    X = _X(X)
    mask, _ = _valid(X)
    rng = _rng(random_state)
    G = _grad_outputs(net, X, rng)
    G[~mask] = 0.0

    def L(Xp):
        out = net.forward(Xp)
        return float(np.sum(np.where(mask[:, :, None], G * np.nan_to_num(out), 0.0)))

    grads, dX = net.vjp(X, G)
    flat = net.flatten_grads(grads)
    errors = []
    idx = rng.choice(net.n_params, size=min(n_checks, net.n_params), replace=False)
    for i in idx:
        old = net.params[i]
        net.params[i] = old + eps
        up = L(X)
        net.params[i] = old - eps
        down = L(X)
        net.params[i] = old
        errors.append((flat[i], (up - down) / (2 * eps)))
    positions = np.argwhere(np.broadcast_to(mask[:, :, None], X.shape))
    for b, t, f in positions[rng.choice(len(positions), size=min(n_checks, len(positions)),
                                        replace=False)]:
        Xp = X.copy()
        Xp[b, t, f] += eps
        up = L(Xp)
        Xp[b, t, f] -= 2 * eps
        down = L(Xp)
        errors.append((dX[b, t, f], (up - down) / (2 * eps)))
    a, e = np.array(errors).T
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        return False, np.inf
    rel = np.abs(a - e) / np.maximum(np.maximum(np.abs(a), np.abs(e)), 1e-3)
    worst = float(rel.max()) if rel.size else 0.0
    return bool(worst <= FD_TOL), worst


def tbptt_equals_full(model, X, random_state=None):
    """Truncated BPTT that reaches back to the start equals full BPTT.

    Compares ``vjp(tbptt=(k, k))`` with ``k >= T`` to ``vjp(tbptt=None)``; for unidirectional
    networks also TBPTT(k1, k2) with ``k1 < T <= k2`` (several windows, each going back to
    step 0, whose summed gradients are the full gradient exactly in exact arithmetic).

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.
    random_state : None, int or numpy Generator, default None
        Seed of the property's random choices.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest difference of any parameter or input gradient, relative to
        ``max(1, max |full gradient|)``; the property holds within :data:`TOLERANCES`.
    """
    net = get_network(model)
    X = _X(X)
    T = X.shape[1]
    G = _grad_outputs(net, X, _rng(random_state))
    g_full, dx_full = net.vjp(X, G)
    full = np.concatenate([net.flatten_grads(g_full), dx_full.ravel()])
    settings = [(T, T), (T + 1, T + 1)]
    if not net.bidirectional and T > 1:
        settings += [(1, T), (max(1, T // 2), T + 2)]
    worst = 0.0
    for k1, k2 in settings:
        g, dx = net.vjp(X, G, tbptt=(k1, k2))
        trunc = np.concatenate([net.flatten_grads(g), dx.ravel()])
        worst = max(worst, _relative(_compare(trunc, full), full))
    return bool(worst <= _tol(net)), worst


def permutation_equivariance(model, X, random_state=None):
    """Permuting the samples permutes the outputs (and the input gradients).

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.
    random_state : None, int or numpy Generator, default None
        Seed of the property's random choices.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest difference, relative to ``max(1, max |output|)``.
    """
    net = get_network(model)
    X = _X(X)
    rng = _rng(random_state)
    perm = rng.permutation(X.shape[0])
    G = _grad_outputs(net, X, rng)
    out = net.forward(X)
    out_p = net.forward(X[perm])
    _, dx = net.vjp(X, G)
    _, dx_p = net.vjp(X[perm], G[perm])
    worst = max(_relative(_compare(out_p, out[perm]), out),
                _relative(_compare(dx_p, dx[perm]), dx))
    return bool(worst <= _tol(net)), worst


def batch_consistency(model, X):
    """Running one sample at a time gives the batch's outputs.

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest difference of ``forward`` and ``forward_last``, relative to
        ``max(1, max |output|)``.
    """
    net = get_network(model)
    X = _X(X)
    out = net.forward(X)
    last = net.forward_last(X)
    worst = 0.0
    for b in range(X.shape[0]):
        worst = max(worst, _relative(_compare(net.forward(X[b:b + 1]), out[b:b + 1]), out),
                    _relative(_compare(net.forward_last(X[b:b + 1]), last[b:b + 1]), last))
    return bool(worst <= _tol(net)), worst


def causality(model, X, random_state=None):
    """For a unidirectional network, the output at step t does not depend on later inputs.

    The inputs after a random step ``t0`` are replaced by random values and the outputs up to
    ``t0`` compared.

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.
    random_state : None, int or numpy Generator, default None
        Seed of the property's random choices.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest change of an output at or before ``t0``, relative to ``max(1, max |output|)``.

    Raises
    ------
    NotApplicable
        For bidirectional networks.
    """
    net = get_network(model)
    if net.bidirectional:
        raise NotApplicable("a bidirectional network is not causal")
    X = _X(X)
    T = X.shape[1]
    if T < 2:
        return True, 0.0
    rng = _rng(random_state)
    t0 = int(rng.integers(0, T - 1))
    X2 = X.copy()
    later = X2[:, t0 + 1:]
    scale = max(1.0, _maxabs(X))
    X2[:, t0 + 1:] = np.where(np.isnan(later), np.nan,
                              scale * rng.standard_normal(later.shape))
    out = net.forward(X)
    out2 = net.forward(X2)
    worst = _relative(_compare(out2[:, :t0 + 1], out[:, :t0 + 1]), out)
    return bool(worst <= _tol(net)), worst


def padding_invariance(model, X, random_state=None):
    """NaN padding changes nothing on the valid steps.

    Three comparisons: extra NaN steps appended to every sequence; every sequence run alone
    trimmed to its own length (no padding at all); and the input gradients of the padded
    version.  Padded steps must give NaN outputs.

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.
    random_state : None, int or numpy Generator, default None
        Seed of the property's random choices.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest difference on valid steps, relative to ``max(1, max |output|)``; inf when an
        output at a padded step is not NaN.
    """
    net = get_network(model)
    X = _X(X)
    mask, lengths = _valid(X)
    rng = _rng(random_state)
    B, T, n_in = X.shape
    extra = int(rng.integers(1, 4))
    Xp = np.concatenate([X, np.full((B, extra, n_in), np.nan)], axis=1)
    out = net.forward(X)
    out_p = net.forward(Xp)
    if not np.all(np.isnan(out[~mask])) or not np.all(np.isnan(out_p[:, T:])):
        return False, np.inf
    worst = _relative(_compare(out_p[:, :T], out), out)
    worst = max(worst, _relative(_compare(net.forward_last(Xp), net.forward_last(X)), out))
    G = _grad_outputs(net, Xp, rng)
    _, dx = net.vjp(X, G[:, :T])
    _, dx_p = net.vjp(Xp, G)
    if np.any(dx_p[:, T:] != 0):
        return False, np.inf
    worst = max(worst, _relative(_compare(dx_p[:, :T], dx), dx))
    for b in range(B):
        n = int(lengths[b])
        if n == 0:
            continue
        alone = net.forward(X[b:b + 1, :n])
        worst = max(worst, _relative(_compare(alone, out[b:b + 1, :n]), out))
    return bool(worst <= _tol(net)), worst


def dtype_agreement(model, X, tol=DTYPE_AGREEMENT_TOL):
    """Check that float32 agrees with float64 (same parameters) within a stated tolerance.

    Use well-scaled inputs (the battery uses ``|x| <= 2``).

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.
    tol : float, default :data:`DTYPE_AGREEMENT_TOL` (1e-4)
        Largest allowed absolute difference of the outputs, relative to
        ``max(1, max |float64 output|)``.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest relative difference of ``forward`` outputs.
    """
    net = get_network(model)
    X = _X(X)
    out32 = network_like(net, "float32").forward(X)
    out64 = network_like(net, "float64").forward(X)
    worst = _relative(_compare(out32, out64), out64)
    return bool(worst <= tol), worst


def thread_agreement(model, X, random_state=None):
    """One and two threads give bit-identical outputs and gradients.

    The batch is repeated until it is split into several sub-batches (the unit of
    parallelism), so that two threads really run concurrently; each thread count runs a fresh
    copy of the network (the split is cached per network and batch size, so a fresh copy
    computes its own).

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or an estimator with a ``network_`` attribute (its network is checked).
    X : ndarray of shape (n_samples, n_time, n_features)
        Input sequences as the network reads them, NaN-padded at the end.
    random_state : None, int or numpy Generator, default None
        Seed of the property's random choices.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest absolute difference (the property needs exactly 0).

    Raises
    ------
    NotApplicable
        On a single-core machine (a batch is never split there).
    """
    if _threads.MAX_UNITS < 2:
        raise NotApplicable("single-core machine: batches are never split over threads")
    net = get_network(model)
    X = _X(X)
    reps = -(-16 * _threads.MAX_UNITS // X.shape[0])
    X = np.concatenate([X] * max(1, reps))
    G = _grad_outputs(net, X, _rng(random_state))
    results = []
    for n in (1, 2):
        with _threads.numba_threads(n):
            copy = network_like(net)
            g, dx = copy.vjp(X, G)
            results.append((copy.forward(X), copy.forward_last(X), copy.flatten_grads(g), dx))
    worst = max(_compare(a, b) for a, b in zip(*results))
    same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(*results))
    return bool(same), worst


def _params_diff(a, b):
    if a.shape != b.shape or a.dtype != b.dtype:
        return np.inf
    return _compare(a, b)


def refit_determinism(model, X, y=None, random_state=0, max_iter=2):
    """The same ``random_state`` gives bit-identical results.

    For a network: two re-initialisations with ``random_state`` give identical parameters,
    and two calls of ``forward``/``vjp`` identical results.  For an estimator: two clones
    fitted with ``random_state`` (and ``max_iter`` capped at ``max_iter`` when the estimator
    has that parameter) on ``(X, y)`` give identical ``network_.params`` and predictions; ``y``
    defaults to the fitted estimator's own predictions on ``X``.

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or the fitted estimator itself (fitted, predicted and saved).
    X : array-like of shape (n_samples, n_time, n_features)
        Input sequences as the estimator takes them (as the network reads them for a
        bare network), NaN-padded at the end.
    y : array-like, optional
        Targets of the two fits; default: the fitted estimator's own predictions on ``X``.
    random_state : int, default 0
        Seed of the property's random choices.
    max_iter : int, default 2
        Cap on the estimator's ``max_iter`` for the two fits.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest absolute difference (the property needs exactly 0).
    """
    X = _X(X)
    if not hasattr(model, "fit"):
        net = get_network(model)
        a = network_like(net, copy_params=False, random_state=random_state)
        b = network_like(net, copy_params=False, random_state=random_state)
        worst = _params_diff(a.params, b.params)
        same = np.array_equal(a.params, b.params)
        G = _grad_outputs(net, X, _rng(random_state))
        runs = [(net.forward(X), net.flatten_grads(net.vjp(X, G)[0])) for _ in range(2)]
        for u, v in zip(*runs):
            worst = max(worst, _compare(u, v))
            same = same and np.array_equal(u, v, equal_nan=True)
        return bool(same), worst
    from sklearn.base import clone

    if y is None:
        if not hasattr(model, "network_"):
            raise NotApplicable("refit determinism needs y or a fitted estimator")
        y = model.predict(X)
    params = {"random_state": random_state}
    if "max_iter" in model.get_params():
        params["max_iter"] = min(max_iter, model.get_params()["max_iter"])
    with warnings.catch_warnings():      # two capped fits: convergence warnings are expected
        warnings.simplefilter("ignore")
        fitted = [clone(model).set_params(**params).fit(X, y) for _ in range(2)]
    p0, p1 = (get_network(f).params for f in fitted)
    q0, q1 = (np.asarray(f.predict(X)) for f in fitted)
    worst = _params_diff(p0, p1)
    if q0.dtype.kind == "f":
        worst = max(worst, _compare(q0, q1))
    same = np.array_equal(p0, p1) and np.array_equal(q0, q1, equal_nan=q0.dtype.kind == "f")
    return bool(same), worst


def save_load_roundtrip(model, X, loader=None):
    """Saving a fitted estimator and loading it back is bit-identical.

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        The network, or the fitted estimator itself (fitted, predicted and saved).
    X : array-like of shape (n_samples, n_time, n_features)
        Input sequences as the estimator takes them (as the network reads them for a
        bare network), NaN-padded at the end.
    loader : callable, optional
        Function ``path -> estimator``; default :func:`seqlstm.load`.

    Returns
    -------
    ok : bool
        Whether the property holds.
    worst : float
        Largest absolute difference of ``network_.params`` and predictions (the property needs
        exactly 0; inf for a changed dtype or shape).

    Raises
    ------
    NotApplicable
        For a bare network (only estimators are saved).
    """
    if not hasattr(model, "save"):
        raise NotApplicable("only estimators with save() are saved")
    if loader is None:
        import seqlstm

        loader = getattr(seqlstm, "load", None)
        if loader is None:
            raise NotApplicable("seqlstm.load is not available")
    X = _X(X)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.nc")
        model.save(path)
        loaded = loader(path)
    p0, p1 = get_network(model).params, get_network(loaded).params
    q0, q1 = np.asarray(model.predict(X)), np.asarray(loaded.predict(X))
    worst = _params_diff(p0, p1)
    if q0.dtype.kind == "f" and q0.shape == q1.shape:
        worst = max(worst, _compare(q0, q1))
    same = (np.array_equal(p0, p1) and p0.dtype == p1.dtype and q0.dtype == q1.dtype
            and np.array_equal(q0, q1, equal_nan=q0.dtype.kind == "f"))
    return bool(same), worst


#: Properties that fit, predict with or save an estimator: given an estimator, they take the
#: sequences as it reads them (the others take its network's input).
ESTIMATOR_PROPERTIES = ("refit_determinism", "save_load_roundtrip")

#: name -> (function, input kind, description of the threshold), in the battery's order.
#: Input kinds: "extreme" (up to MAX_MAGNITUDE), "moderate" (|x| <= 100), "scaled" (|x| <= 2).
PROPERTIES = {
    "finite_outputs": (finite_outputs, "extreme", "max |output, gradient| finite"),
    "bounded_hidden_state": (bounded_hidden_state, "extreme", "max |h| <= 1"),
    "bounded_gates": (bounded_gates, "extreme", "distance outside [0,1]/[-1,1] == 0"),
    "cell_state_growth": (cell_state_growth, "extreme", "max |c_t| / t <= 1"),
    "gradient_finite_differences": (gradient_finite_differences, "scaled",
                                    f"rel. error <= {FD_TOL:g}"),
    "tbptt_equals_full": (tbptt_equals_full, "moderate", "rel. diff <= tol(dtype)"),
    "permutation_equivariance": (permutation_equivariance, "moderate", "rel. diff <= tol(dtype)"),
    "batch_consistency": (batch_consistency, "moderate", "rel. diff <= tol(dtype)"),
    "causality": (causality, "moderate", "rel. diff <= tol(dtype)"),
    "padding_invariance": (padding_invariance, "moderate", "rel. diff <= tol(dtype)"),
    "dtype_agreement": (dtype_agreement, "scaled", f"rel. diff <= {DTYPE_AGREEMENT_TOL:g}"),
    "thread_agreement": (thread_agreement, "moderate", "bit-identical (diff == 0)"),
    "refit_determinism": (refit_determinism, "moderate", "bit-identical (diff == 0)"),
    "save_load_roundtrip": (save_load_roundtrip, "moderate", "bit-identical (diff == 0)"),
}
