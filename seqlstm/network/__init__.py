"""The recurrent network engine: :class:`RecurrentNetwork` and its parts.

=================  ===========================================================================
core.py            ``RecurrentNetwork``, the facade: parameters, forward / vjp / loss_and_grad,
                   traces, configuration
layout.py          parameter names and shapes (PyTorch's), the flat vector's layout, initial
                   values
workspace.py       reusable work arrays and the fixed split of a batch into sub-batches
inputs.py          checks of ``X``, ``lengths``, initial states and output gradients
stack.py           forward and backward passes over the layers and directions
tbptt.py           full and truncated BPTT (windows, ``parse_tbptt``)
objective.py       targets, weights, the linear head and the losses
outputs.py         output transforms: softmax, Gaussian moments of the head's raw outputs
builders.py        a network's configuration as plain values, and a network rebuilt from it
torch_interop.py   exchange with ``torch.nn.LSTM`` / ``GRU`` / ``RNN``
=================  ===========================================================================
"""

from ..cells import CELL_NAMES as CELLS
from .core import READOUTS, RecurrentNetwork
from .objective import DEFAULT_QUANTILES, LOSSES, MIN_VARIANCE, QuantileLoss
from .tbptt import parse_tbptt, tbptt_windows

__all__ = ["RecurrentNetwork", "CELLS", "LOSSES", "MIN_VARIANCE", "DEFAULT_QUANTILES",
           "QuantileLoss", "READOUTS", "parse_tbptt",
           "tbptt_windows"]

# pickles and reprs name the public path, not the module the class happens to live in
RecurrentNetwork.__module__ = __name__
