"""seqlstm: Numba-accelerated LSTM toolkit for scientific time series.

Public API
----------
RecurrentNetwork   layer stack (lstm, peephole, cifg, gru, rnn) with exact and truncated BPTT
Adam, SGD          fused optimisers on the flat parameter vector
LSTMRegressor      scikit-learn regressor of sequences (many-to-one/many, Gaussian head, xarray)
LSTMClassifier     scikit-learn classifier of sequences (per-sequence or per-step labels)
SequenceScaler     NaN-aware per-feature standardization of 3-D sequence data
save, load         fitted estimators to/from plain netCDF files (no pickle)
"""

from .network import RecurrentNetwork
from .optim import SGD, Adam
from .estimators import LSTMClassifier, LSTMRegressor
from .io import load, save
from .preprocessing import SequenceScaler

__all__ = ["RecurrentNetwork", "Adam", "SGD", "LSTMRegressor", "LSTMClassifier",
           "SequenceScaler", "save", "load"]
__version__ = "0.1.0"
