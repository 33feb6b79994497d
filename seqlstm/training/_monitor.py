"""Watching a fit: the epoch's bookkeeping, early stopping, best weights, rollback, progress.

:class:`Monitor` records every completed epoch in the :class:`~seqlstm.training.TrainingState`
(loss, validation score and loss, bests, the improvement counter, the best weights) and says
when and why training stops; :class:`Rollback` keeps the end of the last completed epoch for a
non-finite loss or an interrupt to return to; :func:`progress` is the optional tqdm bar.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

__all__ = ["Monitor", "Rollback", "progress", "update_bar", "penalty"]


class Monitor:
    """The per-epoch bookkeeping and the stopping rule of one call of the fit loop.

    Parameters
    ----------
    state : TrainingState
        Updated in place: its ``early_stopping``, ``scored`` and ``loss_validated`` flags are
        set here for this call.
    settings : TrainingSettings
    score_fn, val_loss_fn : callable or None
        The validation score (higher is better) and loss of the current weights.

    Attributes
    ----------
    monitor : {None, "score", "loss"}
        The validation quantity early stopping watches (None: none).
    early_stopping : bool
    """

    def __init__(self, state, settings, score_fn, val_loss_fn):
        monitor = settings.monitor
        if monitor == "auto":
            monitor = "score" if score_fn is not None else None
        if monitor not in (None, "score", "loss") or (monitor == "loss" and val_loss_fn is None):
            raise ValueError(f"monitor: expected 'auto', None, 'score' (with score_fn) or 'loss' "
                             f"(with val_loss_fn); found {monitor!r}.")
        self.state, self.settings = state, settings
        self.score_fn, self.val_loss_fn = score_fn, val_loss_fn
        self.monitor = monitor
        self.early_stopping = state.early_stopping = monitor is not None
        state.scored = score_fn is not None
        state.loss_validated = val_loss_fn is not None

    def end_epoch(self, network, loss, n_samples):
        """Record a completed epoch of mean training loss `loss` (the L2 penalty included).

        Returns
        -------
        float
            The quantity a "plateau" schedule watches: the validation loss when one is
            tracked, else the training loss.
        """
        state, tol = self.state, self.settings.tol
        state.n_iter += 1
        state.t += n_samples
        state.loss = loss
        state.loss_curve.append(state.loss)
        loss_improved = not state.loss > state.best_loss - tol
        state.best_loss = min(state.best_loss, state.loss)
        val_loss = score = None
        if self.score_fn is not None:
            score = float(self.score_fn())
            state.validation_scores.append(score)
        if self.val_loss_fn is not None:
            val_loss = float(self.val_loss_fn())
            state.validation_loss_curve.append(val_loss)
        if self.early_stopping:
            if self.monitor == "score":
                improved = not score < state.best_validation_score + tol
                best = score > state.best_validation_score
            else:
                improved = val_loss <= state.best_validation_loss - tol  # NaN: no
                best = val_loss < state.best_validation_loss
            state.no_improvement_count = 0 if improved else state.no_improvement_count + 1
            if best:
                state.best_params = network.get_flat()
        else:
            state.no_improvement_count = 0 if loss_improved else state.no_improvement_count + 1
        if score is not None:
            state.best_validation_score = max(state.best_validation_score, score)
        if val_loss is not None and val_loss < state.best_validation_loss:
            state.best_validation_loss = val_loss
        return state.loss if val_loss is None else val_loss

    def stop(self, epoch, bar):
        """Whether to stop after completed epoch `epoch` of this call; sets ``stop_reason``.

        Stops when the monitored quantity (the validation quantity with early stopping, else
        the training loss, except with "cosine") has not improved for more than
        ``n_iter_no_change`` epochs, when "cosine" ran its planned epochs, or at ``max_iter``
        (with a :class:`~sklearn.exceptions.ConvergenceWarning`); never in ``partial_fit``
        except at ``max_iter``.
        """
        state, s = self.state, self.settings
        cosine = state.schedule.name == "cosine"
        loss_test = not s.incremental and not cosine
        if not s.incremental and state.no_improvement_count > s.n_iter_no_change and (
                self.early_stopping or loss_test):
            state.stop_reason = "early_stopping" if self.early_stopping else "converged"
            if s.verbose:
                what = ("Validation " + self.monitor) if self.early_stopping else "Training loss"
                bar.write(f"{what} did not improve more than tol={s.tol:f} for "
                          f"{s.n_iter_no_change} consecutive epochs. Stopping.")
            return True
        if cosine and not s.incremental and epoch == s.max_epochs:
            state.stop_reason = "schedule_end"
            return True
        if state.n_iter == s.max_iter and not cosine:
            state.stop_reason = "max_iter"
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({s.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
            )
            return True
        return False

    def keep_best(self, network):
        """With early stopping, set the weights of the best validation epoch (if any)."""
        if self.early_stopping and self.state.best_params is not None:
            network.set_flat(self.state.best_params)


class Rollback:
    """The weights, optimiser and schedule at the end of the last completed epoch.

    A non-finite loss or gradient returns to them, halves the learning rate and repeats the
    epoch (:meth:`diverged`); a second failure stops training.  An interrupt returns to them
    too (:meth:`interrupted`).
    """

    def __init__(self, network, state):
        self.network, self.state = network, state
        self.failures = 0
        self.commit()

    def commit(self):
        """Keep the current weights, optimiser and schedule as the ones to return to."""
        self.saved = (self.network.get_flat(), copy.deepcopy(self.state.optimizer),
                      copy.deepcopy(self.state.schedule))

    def restore(self):
        params, optimizer, schedule = self.saved
        self.network.set_flat(params)
        self.state.optimizer = copy.deepcopy(optimizer)
        self.state.schedule = copy.deepcopy(schedule)

    def diverged(self):
        """Handle a non-finite epoch: roll back; halve the rate and go on (True) or, at the
        second failure, stop with ``stop_reason`` "diverged" (False)."""
        state = self.state
        self.failures += 1
        self.restore()
        if self.failures >= 2:
            state.stop_reason = "diverged"
            warnings.warn(
                "Training diverged twice (non-finite loss or gradient) even after "
                f"halving the learning rate; stopped after {state.n_iter} epochs with "
                "the last finite weights. Lower learning_rate_init, lower clip_norm or "
                "standardize the data.",
                ConvergenceWarning,
            )
            return False
        state.schedule.scale /= 2
        state.optimizer.learning_rate = state.schedule.rate()
        self.commit()
        warnings.warn(
            "Non-finite loss or gradient: rolled back to the weights of the last "
            "completed epoch and halved the learning rate to "
            f"{state.optimizer.learning_rate:g}.",
            RuntimeWarning,
        )
        return True

    def interrupted(self, early_stopping):
        """Handle ``KeyboardInterrupt``: back to the last completed epoch, with a warning."""
        state = self.state
        self.restore()
        state.stop_reason = "interrupted"
        kept = ("the best validation epoch" if early_stopping and state.best_params is not None
                else "the last completed epoch")
        warnings.warn(
            f"Training interrupted (KeyboardInterrupt) after {state.n_iter} epochs; keeping "
            f"the weights of {kept}.",
            UserWarning,
        )


def penalty(network, optimizer):
    """The L2 term ``alpha / 2 * ||w||^2`` that the optimiser's ``alpha`` gradient belongs to."""
    if not optimizer.alpha:
        return 0.0
    p = network.params.astype(np.float64)
    return 0.5 * optimizer.alpha * float(p @ p)


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix(self, **kwargs):
        pass

    def write(self, s):
        pass

    def close(self):
        pass


def progress(verbose, total):
    """A tqdm bar over `total` epochs when `verbose`, else an object that does nothing."""
    if not verbose:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="epoch", desc="fit", leave=True)


def update_bar(bar, state):
    """Show the last epoch's loss, learning rate and validation figures on `bar`."""
    postfix = {"loss": f"{state.loss:.4g}", "lr": f"{state.learning_rate_curve[-1]:.3g}"}
    if state.scored:
        postfix["val_score"] = f"{state.validation_scores[-1]:.4g}"
    if state.loss_validated:
        postfix["val_loss"] = f"{state.validation_loss_curve[-1]:.4g}"
    bar.set_postfix(**postfix)
    bar.update(1)
