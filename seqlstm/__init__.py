"""seqlstm: Numba-accelerated LSTM toolkit for scientific time series.

Public API
----------
RecurrentNetwork   layer stack (lstm, peephole, cifg, gru, rnn) with exact and truncated BPTT
Adam, SGD          fused optimisers on the flat parameter vector
"""

from .network import RecurrentNetwork
from .optim import SGD, Adam

__all__ = ["RecurrentNetwork", "Adam", "SGD"]
__version__ = "0.1.0"
