"""Gate-bias initialisations for long time lags (pure NumPy).

Chrono initialisation (Tallec & Ollivier 2018, "Can recurrent neural networks warp time?",
ICLR): an LSTM whose forget gate is open by ``sigma(b_f)`` keeps a memory for about
``1 + exp(b_f)`` steps, so forget-gate biases drawn as ``b_f ~ log U(1, T_max - 1)`` spread the
units' characteristic time scales over ``[1, T_max]``; the input gate is tied to it,
``b_i = -b_f``, so a long-memory unit writes little.

The functions here only read and write a network's public parameter views
(``network.named_parameters()``) in PyTorch's layout: gate blocks ``i, f, g, o`` of
``bias_ih_l{k}`` / ``bias_hh_l{k}`` (``_reverse`` for the backward direction).  The chrono value
goes into ``bias_ih`` and the matching ``bias_hh`` slice is set to zero, so that their sum (the
bias the gate sees) is the chrono value.  For ``"cifg"`` the forget gate is ``f = 1 - i =
sigma(-z_i)`` (blocks ``i, g, o``), so the forget bias ``b_f`` is obtained with an input-gate bias
of ``-b_f``.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .cells import CELLS

__all__ = ["CHRONO_CELLS", "chrono_bias", "apply_chrono", "check_chrono", "chrono_units"]

#: Spreads of the time scales :func:`chrono_bias` draws.  The estimators use "uniform" on every
#: unit; ``fraction < 1`` and "log" are the narrower variants measured against it for issue 19
#: (``benchmarks/CHRONO_DEFAULTS.md``), kept for such comparisons.
_SPREADS = ("uniform", "log")

#: Cells chrono initialisation applies to -> (number of gate blocks, forget-gate block or None).
#: ``None``: no forget gate of its own (``"cifg"``: ``f = 1 - i``).
#: The LSTM family (the cells with a cell state), from ``seqlstm.cells``.
CHRONO_CELLS = {cell.name: (cell.n_gates, cell.gates.index("forget_gate")
                            if "forget_gate" in cell.gates else None)
                for cell in CELLS.values() if cell.has_cell_state}


def _check_t_max(t_max, name="t_max"):
    if isinstance(t_max, (bool, np.bool_)) or not isinstance(t_max, Integral) or t_max < 2:
        raise ValueError(f"{name}: expected an int >= 2 (the longest time lag to remember, in "
                         f"steps); found {t_max!r}.")
    return int(t_max)


def check_chrono(t_max, cell, name="chrono_t_max"):
    """Check that chrono initialisation with ``t_max`` can be applied to ``cell``.

    Parameters
    ----------
    t_max : int or None
        None means no chrono initialisation (always valid).
    cell : str
        The recurrent cell.
    name : str, default "chrono_t_max"
        The argument named in the error.

    Raises
    ------
    ValueError
        If `t_max` is not an int >= 2, or `cell` has no forget gate.
    """
    if t_max is None:
        return
    _check_t_max(t_max, name)
    if cell not in CHRONO_CELLS:
        raise ValueError(
            f"{name}: chrono initialisation sets forget/input gate biases and needs an "
            f"LSTM-family cell {tuple(CHRONO_CELLS)}; found cell={cell!r} with "
            f"{name}={t_max!r}. Use {name}=None for this cell."
        )


def chrono_bias(hidden_size, t_max, rng=None, spread="uniform"):
    """Chrono gate biases of one layer direction.

    Parameters
    ----------
    hidden_size : int
        Number of units ``H``.
    t_max : int
        Longest time lag (in steps) the layer should be able to remember, >= 2.
    rng : None, int or numpy.random.Generator
        Source of the draw (``numpy.random.default_rng(rng)``).
    spread : {"uniform", "log"}, default "uniform"
        How the time scales ``exp(b_f)`` spread over ``[1, t_max - 1]``: "uniform" (Tallec &
        Ollivier), so most units remember for about ``t_max / 2`` steps, or "log" (uniform in
        log space, ``b_f ~ U(0, log(t_max - 1))``), as many units per factor of time scale.

    Returns
    -------
    b_i, b_f : ndarray of float64, shape (hidden_size,)
        "uniform": ``b_f = log(u)`` with ``u ~ U(1, t_max - 1)`` drawn by one call
        ``rng.uniform(1, t_max - 1, hidden_size)``; "log": ``b_f`` drawn by one call
        ``rng.uniform(0, log(t_max - 1), hidden_size)``.  Either way ``b_f`` lies in
        ``[0, log(t_max - 1)]``; ``b_i = -b_f``.

    Examples
    --------
    >>> b_i, b_f = chrono_bias(3, 100, rng=0)
    >>> bool(((b_f >= 0) & (b_f <= np.log(99))).all()), bool((b_i == -b_f).all())
    (True, True)
    """
    if (isinstance(hidden_size, (bool, np.bool_)) or not isinstance(hidden_size, Integral)
            or hidden_size < 1):
        raise ValueError(f"hidden_size: expected a positive int; found {hidden_size!r}.")
    t_max = _check_t_max(t_max)
    if spread not in _SPREADS:
        raise ValueError(f"spread: expected one of {_SPREADS}; found {spread!r}.")
    rng = np.random.default_rng(rng)
    if spread == "uniform":
        b_f = np.log(rng.uniform(1.0, t_max - 1.0, int(hidden_size)))
    else:
        b_f = rng.uniform(0.0, np.log(t_max - 1.0), int(hidden_size))
    return -b_f, b_f


def chrono_units(hidden_size, fraction):
    """How many units of a layer direction get chrono biases (the first ones).

    Parameters
    ----------
    hidden_size : int
        Units of the layer direction.
    fraction : float in (0, 1]
        Share of them that get chrono biases.

    Returns
    -------
    int
        ``ceil(fraction * hidden_size)``, at least 1.

    Raises
    ------
    ValueError
        If `fraction` is not a number in (0, 1].

    Examples
    --------
    >>> chrono_units(64, 0.5), chrono_units(5, 0.5), chrono_units(1, 0.5), chrono_units(7, 1.0)
    (32, 3, 1, 7)
    """
    if (isinstance(fraction, (bool, np.bool_)) or not isinstance(fraction, Real)
            or not 0.0 < fraction <= 1.0):
        raise ValueError(f"fraction: expected a number in (0, 1]; found {fraction!r}.")
    return max(1, int(np.ceil(fraction * int(hidden_size) - 1e-9)))


def apply_chrono(network, t_max, random_state=None, fraction=1.0, spread="uniform"):
    """Chrono-initialise the gate biases of every layer and direction of ``network``, in place.

    Only the input- and forget-gate slices of ``bias_ih_l*`` and ``bias_hh_l*`` of the chrono
    units change; every other parameter is left as it is.  The layers are drawn one after the
    other in the order of ``network.named_parameters()`` from one generator
    (``chrono_bias(k, t_max, rng, spread)`` per layer direction, ``k`` its chrono units).

    Parameters
    ----------
    network : RecurrentNetwork
        With ``cell`` in ``("lstm", "peephole", "cifg")``.
    t_max : int
        Longest time lag to remember, >= 2 (e.g. the sequence length).
    random_state : None, int or numpy.random.Generator
    fraction : float in (0, 1], default 1.0
        Share of each layer direction's units that get chrono biases: the first
        ``chrono_units(H, fraction)`` units; the others keep the biases they have (the
        network's initialisation: forget-gate bias 1), so short time scales stay.
    spread : {"uniform", "log"}, default "uniform"
        As in :func:`chrono_bias`.

    Returns
    -------
    network
        The same network.

    Raises
    ------
    ValueError
        If `t_max` is not an int >= 2, the network's cell has no forget gate, or `fraction` or
        `spread` is not one of the values above.
    """
    cell = getattr(network, "cell", None)
    check_chrono(t_max, cell, name="t_max")
    if spread not in _SPREADS:
        raise ValueError(f"spread: expected one of {_SPREADS}; found {spread!r}.")
    blocks, forget = CHRONO_CELLS[cell]
    rng = np.random.default_rng(random_state)
    params = network.named_parameters()
    for name, b_ih in params.items():
        if not name.startswith("bias_ih_l"):
            continue
        b_hh = params["bias_hh_l" + name[len("bias_ih_l"):]]
        H = b_ih.shape[0] // blocks
        k = chrono_units(H, fraction)
        b_i, b_f = chrono_bias(k, t_max, rng, spread)
        b_ih[:k] = b_i
        b_hh[:k] = 0
        if forget is not None:
            f = slice(forget * H, forget * H + k)
            b_ih[f] = b_f
            b_hh[f] = 0
    return network
