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

from numbers import Integral

import numpy as np

from .cells import CELLS

__all__ = ["CHRONO_CELLS", "chrono_bias", "apply_chrono", "check_chrono"]

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


def chrono_bias(hidden_size, t_max, rng=None):
    """Chrono gate biases of one layer direction.

    Parameters
    ----------
    hidden_size : int
        Number of units ``H``.
    t_max : int
        Longest time lag (in steps) the layer should be able to remember, >= 2.
    rng : None, int or numpy.random.Generator
        Source of the draw (``numpy.random.default_rng(rng)``).

    Returns
    -------
    b_i, b_f : ndarray of float64, shape (hidden_size,)
        ``b_f = log(u)`` with ``u ~ U(1, t_max - 1)`` drawn by one call
        ``rng.uniform(1, t_max - 1, hidden_size)``, so ``b_f`` lies in
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
    rng = np.random.default_rng(rng)
    b_f = np.log(rng.uniform(1.0, t_max - 1.0, int(hidden_size)))
    return -b_f, b_f


def apply_chrono(network, t_max, random_state=None):
    """Chrono-initialise the gate biases of every layer and direction of ``network``, in place.

    Only the input- and forget-gate slices of ``bias_ih_l*`` and ``bias_hh_l*`` change; every
    other parameter is left as it is.  The layers are drawn one after the other in the order of
    ``network.named_parameters()`` from one generator.

    Parameters
    ----------
    network : RecurrentNetwork
        With ``cell`` in ``("lstm", "peephole", "cifg")``.
    t_max : int
        Longest time lag to remember, >= 2 (e.g. the sequence length).
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    network
        The same network.

    Raises
    ------
    ValueError
        If `t_max` is not an int >= 2 or the network's cell has no forget gate.
    """
    cell = getattr(network, "cell", None)
    check_chrono(t_max, cell, name="t_max")
    blocks, forget = CHRONO_CELLS[cell]
    rng = np.random.default_rng(random_state)
    params = network.named_parameters()
    for name, b_ih in params.items():
        if not name.startswith("bias_ih_l"):
            continue
        b_hh = params["bias_hh_l" + name[len("bias_ih_l"):]]
        H = b_ih.shape[0] // blocks
        b_i, b_f = chrono_bias(H, t_max, rng)
        b_ih[:H] = b_i
        b_hh[:H] = 0
        if forget is not None:
            f = slice(forget * H, (forget + 1) * H)
            b_ih[f] = b_f
            b_hh[f] = 0
    return network
