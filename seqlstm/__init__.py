"""seqlstm: Numba-accelerated LSTM toolkit for scientific time series.

Public API
----------
RecurrentNetwork   layer stack (lstm, peephole, cifg, gru, rnn) with exact and truncated BPTT
Adam, SGD          fused optimisers on the flat parameter vector
LSTMRegressor      scikit-learn regressor of sequences (many-to-one/many, Gaussian head, xarray)
LSTMClassifier     scikit-learn classifier of sequences (per-sequence or per-step labels)
LSTMForecaster     forecaster along long records: many series, covariates, static attributes,
                   multi-step and recursive forecasts, Gaussian intervals
SeedEnsemble       members from different seeds: mean probabilities / Gaussian mixture
SequenceScaler     NaN-aware per-feature standardization of 3-D sequence data
save, load         fitted estimators to/from plain netCDF files (no pickle)
precompile         compile the kernels ahead of time (Docker images, cluster workers)
seqlstm.metrics    forecast scores (RMSE, MAE, NSE, KGE, skill, CRPS, coverage) and scorers
seqlstm.model_selection
                   RollingOrigin splitter and along_time: scikit-learn searches along time
seqlstm.inspect    gate/state traces and gradient flow over lags, as xarray
seqlstm.testing    hypothesis strategies and the numerical-stability battery (needs hypothesis)
"""

import importlib

from .network import RecurrentNetwork
from .optim import SGD, Adam

# scikit-learn and xarray are imported on first use of these names, so that the engine alone
# (RecurrentNetwork) starts in a fraction of a second
_LAZY = {"LSTMRegressor": "estimators", "LSTMClassifier": "estimators",
         "LSTMForecaster": "estimators", "save": "io",
         "load": "io", "SequenceScaler": "preprocessing", "SeedEnsemble": "ensemble",
         "precompile": "_precompile"}

__all__ = ["RecurrentNetwork", "Adam", "SGD", "LSTMRegressor", "LSTMClassifier", "LSTMForecaster",
           "SeedEnsemble", "SequenceScaler", "save", "load", "precompile"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seqlstm' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
