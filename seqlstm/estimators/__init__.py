"""scikit-learn estimators: :class:`LSTMRegressor`, :class:`LSTMClassifier` and
:class:`LSTMForecaster`.

The estimators validate input with :mod:`seqlstm.data`, scale it, build a
:class:`~seqlstm.network.RecurrentNetwork` and train it with :mod:`seqlstm.training`; they
contain no numerical loops.  Predictions come back in the input's form: NumPy in, NumPy out;
xarray in, a labeled ``DataArray`` out; dask-backed xarray in, a lazy ``DataArray`` out.

The shared orchestration is in ``_base.py``, each estimator in its own module.
"""

from ._classifier import LSTMClassifier
from ._forecaster import LSTMForecaster
from ._regressor import LSTMRegressor

__all__ = ["LSTMRegressor", "LSTMClassifier", "LSTMForecaster"]
