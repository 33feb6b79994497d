"""The fit loop: minibatches, optimiser steps, schedules, early stopping, divergence, progress.

:func:`run_epochs` trains a :class:`~seqlstm.network.RecurrentNetwork` in place for a number of
epochs, as a :class:`TrainingSettings` says, with scikit-learn's ``MLPRegressor`` semantics for
``tol``, ``n_iter_no_change``, ``early_stopping`` and the history (``loss_curve``,
``best_loss``, ``validation_scores``, ``best_validation_score``, ``n_iter``, ``t``), plus
learning-rate schedules (:class:`LearningRateSchedule`), per-sample weights, a validation loss
and the reason training stopped.  All state that must survive between calls (``partial_fit``,
``warm_start``), the history included, lives in a :class:`TrainingState`, whose
:meth:`TrainingState.history` gives the history as scikit-learn's fitted attributes.  Every
estimator (sequence estimators and forecaster) trains through this one loop and never loops
over data itself; the arithmetic is done by the network and the optimiser.

=================  ===========================================================================
_loop.py           :func:`run_epochs`, the epoch loop
_settings.py       :class:`TrainingSettings`, :func:`make_optimizer`, :func:`resolve_batch_size`
_schedules.py      :class:`LearningRateSchedule` (warm-up, constant, plateau, cosine)
_monitor.py        epoch bookkeeping, early stopping, best weights, rollback, progress bar
_stream.py         an epoch in minibatches; stateful TBPTT windows along long sequences
_state.py          :class:`TrainingState` and its history as fitted attributes
=================  ===========================================================================

Robustness
----------
- A non-finite batch loss or gradient rolls the weights and the optimiser back to the end of the
  last completed epoch, halves the learning rate and repeats the epoch; a second failure stops
  training with a :class:`~sklearn.exceptions.ConvergenceWarning` (the model keeps the last good
  weights and stays usable).
- ``KeyboardInterrupt`` stops training cleanly: the weights are those of the best validation
  epoch (with early stopping) or of the last completed epoch, and a warning says so.

The output transforms (:func:`softmax`, :func:`gaussian_moments`) live in
:mod:`seqlstm.network.outputs` and the network builders (:func:`network_config`,
:func:`build_network`) in :mod:`seqlstm.network.builders`; they are re-exported here for the
imports that name this module.
"""

from ..network.builders import build_network, network_config
from ..network.outputs import gaussian_moments, softmax
from ._loop import batched_loss, in_batches, run_epochs
from ._schedules import SCHEDULES, LearningRateSchedule
from ._settings import (
    AUTO_BATCH_MAX,
    AUTO_BATCH_MIN,
    TrainingSettings,
    make_optimizer,
    resolve_batch_size,
)
from ._state import TrainingState

__all__ = [
    "TrainingState",
    "TrainingSettings",
    "LearningRateSchedule",
    "SCHEDULES",
    "make_optimizer",
    "run_epochs",
    "batched_loss",
    "in_batches",
    "resolve_batch_size",
    "AUTO_BATCH_MIN",
    "AUTO_BATCH_MAX",
    "softmax",
    "gaussian_moments",
    "network_config",
    "build_network",
]
