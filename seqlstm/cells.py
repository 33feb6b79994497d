"""The facts about each recurrent cell, in one place.

Every module that needs to know something about a cell type reads it here: the kernels (the
integer code they are specialised on, whether there is a cell state), the network (parameter
shapes, initial biases, PyTorch names), :mod:`seqlstm.inspect` (gate names) and
:mod:`seqlstm.testing` (which gates are sigmoids).  The module imports nothing but the standard
library, so the Numba kernels can read it: its values are plain ints, strings, bools and tuples.

=========  ====  ===========================================  ==========  ========  ========
cell       code  gate blocks (rows of ``W_ih``/``W_hh``)      cell state  extra     PyTorch
=========  ====  ===========================================  ==========  ========  ========
lstm       0     input, forget, candidate, output             yes                   LSTM
peephole   1     input, forget, candidate, output             yes         peephole
cifg       2     input, candidate, output (forget = 1 - i)    yes
gru        3     reset, update, candidate                     no                    GRU
rnn        4     the new hidden state                         no                    RNN
=========  ====  ===========================================  ==========  ========  ========
"""

from dataclasses import dataclass

__all__ = ["Cell", "CELLS", "CELL_NAMES", "get_cell", "from_torch_name"]


@dataclass(frozen=True)
class Cell:
    """What the rest of seqlstm needs to know about one cell type.

    Parameters
    ----------
    name : str
        The ``cell`` argument of :class:`~seqlstm.RecurrentNetwork`.
    code : int
        Compile-time constant the kernels are specialised on.
    gates : tuple of str
        Names of the gate blocks in the order they are stacked in ``W_ih``/``W_hh`` (each
        block has ``hidden_size`` rows), as used for the variables of
        :func:`seqlstm.inspect.inspect`; ``"hidden"`` for the vanilla RNN, whose one block is
        the new hidden state.
    activations : tuple of str
        ``"sigmoid"`` or ``"tanh"``, the activation of each gate block.
    has_cell_state : bool
        Whether the cell carries a cell state ``c`` besides ``h``.
    extra_params : tuple of (str, int)
        Parameters besides the weights and biases, per layer and direction, as (name prefix,
        rows); each is ``(rows, hidden_size)`` and named ``f"{prefix}_l{k}{suffix}"``.
    gate_biases : tuple of (int, float)
        (gate block, value) of the input biases initialised to a non-zero value.
    torch_name : str or None
        Name of the equivalent ``torch.nn`` module (same parameter names and layouts).
    """

    name: str
    code: int
    gates: tuple
    activations: tuple
    has_cell_state: bool
    extra_params: tuple = ()
    gate_biases: tuple = ()
    torch_name: object = None

    @property
    def n_gates(self):
        """Number of gate blocks (rows of ``W_ih``/``W_hh`` in units of ``hidden_size``)."""
        return len(self.gates)


_LSTM_GATES = ("input_gate", "forget_gate", "candidate", "output_gate")
_LSTM_ACTIVATIONS = ("sigmoid", "sigmoid", "tanh", "sigmoid")

#: Every cell, by name, in the order of their codes.  LSTM-type cells start with a forget-gate
#: bias of 1 (Gers, Schmidhuber & Cummins 2000); the CIFG, whose forget gate is ``1 - i``, with
#: an input-gate bias of -1.
CELLS = {cell.name: cell for cell in (
    Cell("lstm", 0, _LSTM_GATES, _LSTM_ACTIVATIONS, True, gate_biases=((1, 1.0),),
         torch_name="LSTM"),
    Cell("peephole", 1, _LSTM_GATES, _LSTM_ACTIVATIONS, True, extra_params=(("peephole", 3),),
         gate_biases=((1, 1.0),)),
    Cell("cifg", 2, ("input_gate", "candidate", "output_gate"), ("sigmoid", "tanh", "sigmoid"),
         True, gate_biases=((0, -1.0),)),
    Cell("gru", 3, ("reset_gate", "update_gate", "candidate"), ("sigmoid", "sigmoid", "tanh"),
         False, torch_name="GRU"),
    Cell("rnn", 4, ("hidden",), ("tanh",), False, torch_name="RNN"),
)}
#: Names of the cells, in the order of their codes.
CELL_NAMES = tuple(CELLS)


def get_cell(name):
    """The :class:`Cell` called ``name``.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    try:
        return CELLS[name]
    except KeyError:
        raise ValueError(f"cell must be one of {CELL_NAMES}, got {name!r}") from None


def from_torch_name(torch_name):
    """The :class:`Cell` equivalent to ``torch.nn.<torch_name>``, or None."""
    for cell in CELLS.values():
        if cell.torch_name == torch_name:
            return cell
    return None
