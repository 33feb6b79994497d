"""scikit-learn regression of sequences: :class:`LSTMRegressor`."""

from __future__ import annotations

import functools
from numbers import Integral

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .. import data as _data
from ..metrics._scorers import nse_outputs
from ..preprocessing import scaling_statistics
from ..network.outputs import gaussian_moments
from ._base import _BaseLSTM

__all__ = ["LSTMRegressor"]


class LSTMRegressor(RegressorMixin, _BaseLSTM):
    """Recurrent (LSTM, GRU, RNN) regression of sequences, with scikit-learn's API.

    Parameters
    ----------
    hidden_size : int, default 32
        Hidden units per layer and direction.
    num_layers : int, default 1
        Number of stacked recurrent layers.
    cell : {"lstm", "peephole", "cifg", "gru", "rnn"}, default "lstm"
        Recurrent cell; "rnn" is the vanilla tanh RNN.
    bidirectional : bool, default False
        Also read every sequence backwards.
    return_sequences : bool, default False
        False: one target per sequence (many-to-one, read at each sequence's last valid step).
        True: one target per time step (many-to-many); NaN targets are missing observations
        and do not enter the loss.
    loss : {"squared_error", "gaussian"}, default "squared_error"
        "gaussian": a mean and a variance head trained by Gaussian negative log-likelihood;
        ``predict(X, return_std=True)`` also returns the predicted standard deviation.
    dropout : float in [0, 1), default 0.0
        Dropout between stacked layers.
    tbptt : None, int or (k1, k2), default None
        Truncated backpropagation through time (Williams & Peng's TBPTT(k1, k2)); None is full
        BPTT.  With ``return_sequences=True`` (unidirectional) the sequences, e.g. one or a few
        long records of 10^5-10^6 steps, are trained along time window by window with the
        state carried from window to window: one optimiser step per ``k1`` steps, gradients
        through ``k2`` steps, memory growing with ``k2``, not with the record.  Otherwise each
        minibatch's gradient is the TBPTT gradient of its whole sequences (a bidirectional
        network then holds its top outputs and their gradients at every step: memory grows
        with the sequence length).
    solver : {"adam", "sgd"}, default "adam"
    learning_rate : {"cosine", "constant", "plateau"}, default "cosine"
        Learning-rate schedule (``learning_rate_curve_`` records it, the progress bar shows
        it).  With ``T = max_iter * steps_per_epoch`` optimiser steps planned and ``t`` the
        step (from 0):

        - "cosine": ``learning_rate_init * 0.5 * (1 + cos(pi * t / T))``, decaying to 0 over
          the `max_iter` epochs.  The schedule sets the run's length, so the training-loss
          convergence test (`tol`, `n_iter_no_change`) is off and the planned end is no
          ``ConvergenceWarning`` (``stop_reason_`` "schedule_end"); validation-based
          `early_stopping` still applies.  The default because the noisy minibatch training
          loss of small data stopped runs far too early (23 epochs at train accuracy .56 on a
          36-series set) while a decay over a fixed length trained well.
        - "constant": ``learning_rate_init`` throughout.
        - "plateau": ``learning_rate_init``, multiplied by `plateau_factor` whenever the
          validation loss (with a validation set; else the training loss) has not improved by
          more than `tol` for `plateau_patience` consecutive epochs.

        After a non-finite loss the rate is halved on top of the schedule.
    learning_rate_init : float, default 3e-3
        Base learning rate.  :class:`LSTMClassifier` defaults to 1e-2, which beat 3e-3 in
        cross-validation inside the training splits of the UCR development sets
        (benchmarks/ACCURACY.md); the regressor's default was not compared there.
    warmup : int, default 0
        Epochs of linear warm-up before the schedule: step ``t < W`` (``W = warmup *
        steps_per_epoch``) uses ``learning_rate_init * (t + 1) / W``; "cosine" then decays
        over the remaining ``T - W`` steps.
    plateau_patience : int, default 5
        Epochs without improvement before "plateau" reduces the rate.
    plateau_factor : float in (0, 1), default 0.5
        Factor of each "plateau" reduction.
    momentum : float, default 0.9
        Momentum of "sgd".
    alpha : float, default 0.0
        L2 penalty.
    clip_norm : float or None, default 1.0
        Gradients are clipped to this global norm.
    batch_size : int or "auto", default "auto"
        For "auto", ``n_samples // 32`` clipped to [16, 32] (16 up to 543 samples, 32 from
        1024; never more than `n_samples`): small data sets get many optimiser steps per
        epoch (``MLPRegressor``'s ``min(200, n_samples)`` gave a set of 67 series one step
        per epoch; in cross-validation inside the training splits of the UCR development sets
        16 scored above 32 on four of the five, benchmarks/ACCURACY.md), large ones the
        cheaper epochs of 32 (16 costs ~20% more time per epoch at 4096 sequences).
    max_iter : int, default 200
        Maximum number of epochs (with "cosine", the planned number).
    tol : float, default 1e-4
        Improvement below which an epoch counts as no improvement.
    shuffle : bool, default True
        Shuffle the samples at every epoch.
    early_stopping : bool or {"score", "loss"}, default False
        Stop when the validation quantity has not improved by `tol` for more than
        `n_iter_no_change` epochs, and restore the weights of its best epoch: "score" (or
        True) the validation score (R²), "loss" the validation loss (the training loss's
        measure, smoother on small validation sets).  The validation set is
        ``validation_data`` given to :meth:`fit`, else `validation_fraction` of the samples
        held out as `validation_split` says.
    validation_fraction : float in (0, 1), default 0.1
        Share of the samples held out for validation with `early_stopping` (and no
        ``validation_data``).
    validation_split : {"random", "time"}, default "random"
        How `validation_fraction` is held out: "random" (seeded by `random_state`), or "time"
        for windows cut in order from one record: the LAST ``n_val =
        ceil(validation_fraction * n_samples)`` samples in their given order validate, the
        ``L - 1`` samples before them (``L = X.shape[1]``, the sequences' padded length) are
        purged, used for neither training nor validation, and the first ``n_samples - n_val -
        (L - 1)`` train (at least one, else a ValueError).  For windows of ``L`` steps cut at
        stride 1 (window ``i`` holds steps ``i .. i + L - 1``), this is exactly the purge that
        leaves no time step in both a training and a validation window, so the validation
        windows come after the training windows instead of overlapping them (and with targets
        at most one step past their window, such as next-step values, no target is in both
        parts).
    n_iter_no_change : int, default 10
        Stop after more than this many epochs without improvement by `tol`.
    random_state : None, int or RandomState, default None
        Seeds initialisation, shuffling, dropout and the validation split.  The same seed
        and data give bit-identical weights whatever `n_jobs`.
    warm_start : bool, default False
        Continue from the previous fit's weights (and history).
    verbose : int, default 0
        Show a progress bar over epochs.
    standardize : bool, default True
        Scale each feature of `X` and each output of `y` to zero mean and unit variance
        (NaN-aware, over samples and valid time steps) with statistics learned at fit from the
        training samples only (not from `validation_data` or the held-out
        `validation_fraction`); per-step targets count only the steps the loss counts (not
        padded or ``spinup`` steps).  The predictions are in the units of `y`.
    dtype : {"float32", "float64"}, default "float32"
        Compute dtype of the network.
    time_dim, feature_dim : str, default "time", "feature"
        Dims of labeled input.
    input_2d : {None, "series", "features"}, default None
        How a 2-D NumPy ``X`` is read (at fit and predict alike): "series" as
        ``(n_samples, n_time)`` univariate series, exactly as ``X[:, :, None]``; "features" as
        ``(n_samples, n_features)`` sequences of one step, exactly as ``X[:, None, :]`` (what
        scikit-learn's tools mean by 2-D data).  None refuses 2-D ``X`` with a ValueError that
        shows both reshapes: the two layouts look alike and are never guessed.  3-D arrays,
        lists of sequences and labeled input (which names its dims) are not affected.
    n_jobs : int or None, default None
        Number of threads (None: Numba's current setting; -1: all).
    chrono_t_max : int >= 2, "auto" or None, default "auto"
        Chrono initialisation (Tallec & Ollivier 2018) of the LSTM-family cells' gate biases:
        forget-gate biases ``b_f ~ log U(1, chrono_t_max - 1)`` and input-gate biases
        ``-b_f``, so that the units' memory time scales spread up to about `chrono_t_max`
        network steps; set it to the longest lag the model must bridge, counted in the steps
        the network reads: the sequence length ``T`` step by step, but about ``T / s``
        (``ceil(T / s)``) with frames of stride ``s`` (`frame_stride`; "auto" reads sequences
        longer than 64 steps in frames, fitted as ``frame_stride_``).  "auto": the number of
        network steps of the longest training sequence, ``ceil(T_max / frame_stride_)``
        (the held-out validation part not counted), for "lstm", "peephole" and "cifg"; for
        "gru" and "rnn", which have no forget gate, and for sequences of one step, "auto" means
        None (their initialisation is unchanged).  None: the plain initialisation (forget-gate
        bias 1, a memory of about 4 steps per unit; the default before issue 19, kept by model
        files written then).  An int is not available for "gru" and "rnn".  The value used is
        fitted as ``chrono_t_max_``.  "auto" is the default because it lets the last state
        carry a lag across the whole training sequence (adding problem read through the last
        state, T = 100 and 500: 100% against 15-16%, chance, with None) without costing
        accuracy on the UCR development sets at the other defaults (cross-validated over three
        seed sets: ahead on four, 0.6 points behind on GunPoint; benchmarks/CHRONO_DEFAULTS.md).
    readout : {"last+mean", "last"}, default "last+mean"
        Without ``return_sequences``: what the head reads of each sequence, the final state
        and the mean of the top layer's outputs over the sequence's valid steps, or the final
        state alone.  The mean gives every step a short gradient path to the output; in
        cross-validation inside the training splits of the UCR development sets (classifier,
        rate 3e-3) it averaged 0.723 against 0.689 for "last", ahead on three of the five
        sets (benchmarks/ACCURACY.md).
    frame_stride : int >= 1 or "auto", default "auto"
        Without ``return_sequences``: the network reads each sequence as half-overlapping
        frames, step ``j`` holding input steps ``[j*s, j*s + 2*s)`` of all features
        (``s = frame_stride``; 1: step by step), so ``ceil(T / s)`` steps of ``2*s*n_features``
        values (steps past a sequence's end read as the mean).  "auto" gives per-sequence
        models ``s = ceil(T_max / 64)`` (``T_max`` the longest training sequence; 1 up to 64
        steps) and per-step models 1; fitted as ``frame_stride_``.  In cross-validation inside
        the training splits of the UCR development sets (classifier, rate 3e-3) frames scored
        4-20 points above step-by-step reading on four of the five and 11 below it on
        ArrowHead (benchmarks/ACCURACY.md); set 1 to read every step, e.g. when a single
        step's value matters at a lag (the adding problem).
    spinup : int, default 0
        With ``return_sequences``: the first ``spinup`` steps of every sequence are left out
        of the loss, the validation score and :meth:`score` (the state spins up from zeros over
        them), e.g. the first year of a long hydrological record.

    Attributes
    ----------
    network_ : RecurrentNetwork
        The trained network.
    n_features_in_ : int
        Number of features.
    feature_names_in_ : ndarray of str
        Feature names of labeled input (feature coordinate, Dataset variables, DataFrame
        columns); only defined when the input had names.
    n_outputs_ : int
        Number of targets.
    loss_ : float
        Training loss of the last epoch (on the standardized scale when `standardize`).
    loss_curve_ : list of float
        Training loss of every epoch.
    best_loss_ : float or None
        Smallest training loss; None with early stopping.
    validation_scores_ : list of float or None
        Validation R² of every epoch; None without a validation set.
    best_validation_score_ : float or None
        Best validation R²; None without a validation set.
    validation_loss_curve_ : list of float or None
        Validation loss of every epoch (the training loss's measure, without the L2 term);
        None without a validation set.
    best_validation_loss_ : float or None
        Smallest validation loss; None without a validation set.
    learning_rate_curve_ : list of float
        Learning rate at the end of every epoch (the rate of the next step, after any
        reduction on plateau; 0 at the end of a "cosine" run).
    n_iter_ : int
        Number of epochs run.
    t_ : int
        Number of training samples seen.
    stop_reason_ : str
        Why the last fit stopped: "schedule_end" ("cosine" ran its planned epochs),
        "max_iter", "converged" (training loss), "early_stopping" (validation), "diverged",
        "interrupted", or "epochs" (``partial_fit``, or a warm start that ran its epochs).
    x_mean_, x_scale_ : ndarray of shape (`n_features_in_`,) or None
        Input scaling statistics (None without `standardize`).
    frame_stride_ : int
        The frame stride the network reads the sequences with (`frame_stride` resolved).
    chrono_t_max_ : int or None
        The chrono ``T_max`` the network was initialised with (`chrono_t_max` resolved; None:
        no chrono initialisation).
    y_mean_, y_scale_ : ndarray of shape (`n_outputs_`,) or None
        Target scaling statistics (None without `standardize`).

    Examples
    --------
    >>> from seqlstm import LSTMRegressor
    >>> from seqlstm.datasets import make_adding
    >>> X, y = make_adding(64, length=12, random_state=0)
    >>> model = LSTMRegressor(hidden_size=8, max_iter=2, random_state=0).fit(X, y)
    >>> model.predict(X).dims
    ('sample',)
    """

    _parameter_constraints = {
        **_BaseLSTM._parameter_constraints,
        "loss": [StrOptions({"squared_error", "gaussian"})],
        "spinup": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        hidden_size=32,
        num_layers=1,
        cell="lstm",
        bidirectional=False,
        return_sequences=False,
        loss="squared_error",
        dropout=0.0,
        tbptt=None,
        solver="adam",
        learning_rate="cosine",
        learning_rate_init=3e-3,
        warmup=0,
        plateau_patience=5,
        plateau_factor=0.5,
        momentum=0.9,
        alpha=0.0,
        clip_norm=1.0,
        batch_size="auto",
        max_iter=200,
        tol=1e-4,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        validation_split="random",
        n_iter_no_change=10,
        random_state=None,
        warm_start=False,
        verbose=0,
        standardize=True,
        dtype="float32",
        time_dim="time",
        feature_dim="feature",
        input_2d=None,
        n_jobs=None,
        chrono_t_max="auto",
        readout="last+mean",
        frame_stride="auto",
        spinup=0,
    ):
        super().__init__(
            hidden_size=hidden_size, num_layers=num_layers, cell=cell,
            bidirectional=bidirectional, return_sequences=return_sequences, dropout=dropout,
            tbptt=tbptt, solver=solver, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, warmup=warmup,
            plateau_patience=plateau_patience, plateau_factor=plateau_factor,
            momentum=momentum, alpha=alpha, clip_norm=clip_norm, batch_size=batch_size,
            max_iter=max_iter, tol=tol, shuffle=shuffle, early_stopping=early_stopping,
            validation_fraction=validation_fraction, validation_split=validation_split,
            n_iter_no_change=n_iter_no_change,
            random_state=random_state, warm_start=warm_start, verbose=verbose,
            standardize=standardize, dtype=dtype, time_dim=time_dim, feature_dim=feature_dim,
            input_2d=input_2d, n_jobs=n_jobs, chrono_t_max=chrono_t_max, readout=readout,
            frame_stride=frame_stride,
        )
        self.loss = loss
        self.spinup = spinup

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _loss_name_of_params(self):
        return self.loss

    def _network_loss(self):
        return "gaussian" if self.loss == "gaussian" else "mse"

    def _network_outputs(self):
        return self.n_outputs_ * (2 if self.loss == "gaussian" else 1)

    # -------------------------------------------------------------- targets
    def _encode_y(self, y, data, per_step, first, classes):
        targets = _data.to_targets(y, data, per_step=per_step)
        if first:
            self._y_1d = not _has_output_axis(y, data, per_step)
            self.n_outputs_ = targets.values.shape[-1]
            self._output_names = targets.names
            self._target_name = getattr(y, "name", None) if hasattr(y, "dims") else None
        elif targets.values.shape[-1] != self.n_outputs_:
            raise ValueError(
                f"y: expected {self.n_outputs_} outputs as in the previous fit; found "
                f"{targets.values.shape[-1]}."
            )
        if per_step and np.isnan(targets.values).all():
            raise ValueError("y: expected at least one observed target; found only NaN.")
        return targets.values

    def _init_targets(self, targets, lengths, weights=None):
        """Target scaling statistics: per step, each observed (sample, step) target within the
        sequence's length and after the spin-up is one observation, weighted by its sample's
        weight; padded and spin-up steps are left out, as from the loss."""
        if not self.standardize:
            self.y_mean_ = self.y_scale_ = None
        elif targets.ndim == 3:
            observed = self._spun_up(np.array(targets, dtype=np.float64))
            self.y_mean_, self.y_scale_ = scaling_statistics(observed, lengths, weights)
        else:
            self.y_mean_, self.y_scale_ = scaling_statistics(targets, sample_weight=weights)

    def _target_state(self):
        return {"y_mean": self.y_mean_, "y_scale": self.y_scale_, "y_1d": self._y_1d,
                "target_name": self._target_name, "output_names": self._output_names}

    def _set_target_state(self, state):
        self.y_mean_, self.y_scale_ = state["y_mean"], state["y_scale"]
        self._y_1d = bool(state["y_1d"])
        self._target_name = state["target_name"]
        self._output_names = state["output_names"]

    def _scaled_targets(self, targets):
        if self.y_mean_ is not None:
            targets = (targets - self.y_mean_) / self.y_scale_
        return self._spun_up(np.array(targets, dtype=np.float64, order="C"))

    def _spun_up(self, targets):
        """Per-step targets with the first ``spinup`` steps missing (NaN), in place."""
        if self.spinup:
            if not self.return_sequences:
                raise ValueError(f"spinup: expected 0 for a model without return_sequences; "
                                 f"found {self.spinup}.")
            targets[:, :self.spinup] = np.nan
        return targets

    def _scaled_score(self, X, y, weights=None):
        pred = self._raw(X)[..., : self.n_outputs_]
        return nse_outputs(y, pred, per_step=y.ndim == 3, sample_weight=weights)

    # -------------------------------------------------------------- public API
    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Fit the model to sequences `X` and targets `y`.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences ``(n_samples, n_time, n_features)``, NaN-padded at the end (2-D arrays
            as `input_2d` says); see :func:`seqlstm.data.to_sequences`.
            Dask-backed `X` (e.g. ``xr.open_zarr``) is streamed from its store, never
            computed whole, through a buffer of sample chunks
            (:mod:`seqlstm.data.chunked`, ``BUFFER_BYTES``); see the README's
            "Scaling out".
        y : array-like, DataArray or Dataset
            ``(n_samples,)`` or ``(n_samples, n_outputs)``; with ``return_sequences``
            ``(n_samples, n_time[, n_outputs])`` where NaN marks a missing observation.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each sample (with ``return_sequences``, of each of its
            steps), as in scikit-learn: an integer weight counts like that many copies of the
            sample and a zero weight like leaving it out (exactly so with one minibatch; with
            several, each minibatch's loss is its weighted mean).  The scaling statistics and
            the validation score and loss are weighted too.
        validation_data : (X_val, y_val) or (X_val, y_val, sample_weight_val), optional
            Validation set in the form of `X` and `y`, used instead of holding out
            `validation_fraction`: its score and loss are recorded every epoch
            (``validation_scores_``, ``validation_loss_curve_``), "plateau" monitors its loss,
            and with `early_stopping` it decides when to stop and which weights to keep.

        Returns
        -------
        LSTMRegressor
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight,
                         validation_data=validation_data)

    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on `X`, `y` (initialising the model at the first call).

        With ``learning_rate="cosine"`` the rate decays over `max_iter` calls (then stays 0);
        use "constant" for open-ended streaming.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences, as in :meth:`fit`.
        y : array-like, DataArray or Dataset
            Targets, as in :meth:`fit`.
        sample_weight : array-like of shape (n_samples,), optional
            As in :meth:`fit`.

        Returns
        -------
        LSTMRegressor
            The fitted estimator.
        """
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def predict(self, X, return_std=False, *, initial_state=None, return_state=False):
        """Predict targets, in the units of `y`.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences with the features seen at fit.  Dask-backed xarray input gives a lazy
            result.
        return_std : bool, default False
            Also return the predicted standard deviation (``loss="gaussian"`` only).
        initial_state : ndarray or tuple of ndarray, optional
            The network's state to start from (``return_sequences=True``, unidirectional
            models): ``h0`` or ``(h0, c0)`` for LSTM-type cells, each ``(num_layers, n_samples,
            hidden_size)`` as returned with `return_state`.  Default: zeros.
        return_state : bool, default False
            Also return the state after each sequence's last valid step, to continue a long
            record piece by piece: predicting consecutive pieces, each from the previous
            piece's state, gives bit for bit the predictions of the whole record, on AVX2 and
            AVX-512 alike (every step's products have the same shapes either way).

        Returns
        -------
        y_pred : ndarray or DataArray
            ``(n_samples[, n_outputs])``, or ``(n_samples, n_time[, n_outputs])`` with
            ``return_sequences`` (NaN at padded steps); the output axis is dropped when `y` was
            given without one.  Labeled input gives a DataArray with the input's sample
            coordinates (and time coordinate), attrs, and an ``output`` dim.
        y_std : ndarray or DataArray, only with `return_std`
            The predicted standard deviation (``loss="gaussian"``), shaped like ``y_pred``.
        state : ndarray or tuple of ndarray, only with `return_state`
            The final state, to pass as ``initial_state`` to the next piece of the record.
        """
        check_is_fitted(self)
        self._check_state_use(initial_state, return_state)
        if return_std and self.loss != "gaussian":
            raise ValueError(
                f"return_std: expected loss='gaussian' for return_std=True; found "
                f"loss={self.loss!r}."
            )
        O = self.n_outputs_
        names = None if self._output_names is None else list(self._output_names)
        if _data.is_dask(X):
            if initial_state is not None or return_state:
                raise ValueError("initial_state/return_state: expected in-memory input; found "
                                 "dask-backed X (compute the pieces one by one).")
            parts = []
            for which in ((0, 1) if return_std else (0,)):
                out = self._lazy(functools.partial(_lazy_moment, which=which), X, O, "output",
                                 names, np.float64)
                if self._target_name is not None:
                    out.name = self._target_name
                parts.append(self._squeeze(out, labeled=True))
            return tuple(parts) if return_std else parts[0]
        data = self._validate_X(X, reset=False)
        mean, std, state = self._predict_values(data, initial_state, return_state)
        per_step = bool(self.return_sequences)
        wrap = [
            self._squeeze(_data.wrap_output(v, data, per_step=per_step, output_names=names,
                                            name=self._target_name),
                          labeled=data.kind != "numpy")
            for v in ((mean, std) if return_std else (mean,))
        ]
        if return_state:
            wrap.append(state)
        return tuple(wrap) if len(wrap) > 1 else wrap[0]

    def _predict_values(self, data, initial_state=None, return_state=False):
        raw = self._raw(*self._network_values(data), initial_state, return_state)
        state = None
        if return_state:
            raw, state = raw
        if self.loss == "gaussian":
            mean, std = gaussian_moments(raw, self.n_outputs_)
        else:
            mean, std = raw, None
        if self.y_mean_ is not None:
            mean = mean * self.y_scale_ + self.y_mean_
            std = None if std is None else std * self.y_scale_
        return mean, std, state

    def _squeeze(self, out, labeled):
        if not self._y_1d:
            return out
        return out.squeeze("output", drop=True) if labeled else out[..., 0]

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R² (Nash–Sutcliffe efficiency) of the predictions.

        Computed per target over its observed points, then averaged over the targets: the
        samples, and with ``return_sequences`` all their observed (non-NaN, non-padded,
        past `spinup`) time steps pooled, so that one long record has one score.  It is
        what the scorer ``seqlstm.metrics.get_scorer("nse")`` gives for the same data (one code
        path); NaN where a target's observed values are constant.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences, as in :meth:`fit`.
        y : array-like, DataArray or Dataset
            True targets, as in :meth:`fit`.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each sample (with ``return_sequences``, of each of its steps).

        Returns
        -------
        float
            R², averaged over the targets.
        """
        y_true, y_pred, per_step = self._score_arrays(X, y)
        return nse_outputs(y_true, y_pred, per_step=per_step, sample_weight=sample_weight)

    def _score_arrays(self, X, y):
        """Targets, predictions and whether they are per step, for scoring: ``y`` read as
        :meth:`fit` reads it (with its spin-up steps missing) and the predictions, both of
        shape ``(n_samples[, n_time], n_outputs)``."""
        check_is_fitted(self)
        data = self._validate_X(X, reset=False)
        y_true = self._scoring_targets(y, data)
        return y_true, self._predict_values(data)[0], bool(self.return_sequences)

    def _scoring_targets(self, y, data):
        """``y`` as the float64 targets of the validated sequences ``data``, spin-up missing."""
        per_step = bool(self.return_sequences)
        return self._spun_up(np.array(_data.to_targets(y, data, per_step=per_step).values,
                                      dtype=np.float64))


def _lazy_moment(model, data, initial_state=None, return_state=False, *, which=0):
    """One chunk's predicted mean (`which` 0) or standard deviation (1), for the lazy path
    (:meth:`LSTMRegressor._lazy`); with `return_state` also the state after the chunk."""
    out = model._predict_values(data, initial_state, return_state)
    return (out[which], out[2]) if return_state else out[which]


def _has_output_axis(y, data, per_step):
    """Whether regression targets were given with an output axis (else predictions drop it)."""
    if hasattr(y, "data_vars"):  # Dataset: its variables are the outputs
        return True
    if hasattr(y, "dims") and data.kind != "numpy":
        core = set(data.sample_dims)
        if per_step and data.time_dim is not None:
            core.add(data.time_dim)
        return any(d not in core for d in y.dims)
    return np.asarray(y).ndim == 2 + per_step
