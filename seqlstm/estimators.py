"""scikit-learn estimators: :class:`LSTMRegressor` and :class:`LSTMClassifier`.

The estimators validate input with :mod:`seqlstm.data`, scale it, build a
:class:`~seqlstm.network.RecurrentNetwork` and train it with :mod:`seqlstm.training`; they
contain no numerical loops.  Predictions come back in the input's form: NumPy in, NumPy out;
xarray in, a labeled ``DataArray`` out; dask-backed xarray in, a lazy ``DataArray`` out.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state

from . import data as _data
from ._threads import numba_threads
from .network import CELLS, parse_tbptt
from .preprocessing import nan_mean_std
from .training import (
    TrainingState,
    build_network,
    gaussian_moments,
    make_optimizer,
    network_config,
    resolve_batch_size,
    run_epochs,
    softmax,
)

__all__ = ["LSTMRegressor", "LSTMClassifier"]

_SEED_MAX = np.iinfo(np.int32).max


def _tbptt_constraint():
    return [None, Interval(Integral, 1, None, closed="left"), tuple, list]


class _BaseLSTM(BaseEstimator):
    """Shared fit/predict machinery; see :class:`LSTMRegressor` for the parameters."""

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "cell": [StrOptions(set(CELLS))],
        "bidirectional": ["boolean"],
        "return_sequences": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "tbptt": _tbptt_constraint(),
        "solver": [StrOptions({"adam", "sgd"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "clip_norm": [None, Interval(Real, 0, None, closed="neither")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "standardize": ["boolean"],
        "dtype": [StrOptions({"float32", "float64"})],
        "time_dim": [str],
        "feature_dim": [str],
        "n_jobs": [None, Integral],
    }

    # Set by subclasses.
    _loss_name = None

    def __init__(
        self,
        *,
        hidden_size=32,
        num_layers=1,
        cell="lstm",
        bidirectional=False,
        return_sequences=False,
        dropout=0.0,
        tbptt=None,
        solver="adam",
        learning_rate_init=1e-3,
        momentum=0.9,
        alpha=0.0,
        clip_norm=1.0,
        batch_size="auto",
        max_iter=200,
        tol=1e-4,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        random_state=None,
        warm_start=False,
        verbose=0,
        standardize=True,
        dtype="float32",
        time_dim="time",
        feature_dim="feature",
        n_jobs=None,
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.return_sequences = return_sequences
        self.dropout = dropout
        self.tbptt = tbptt
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.alpha = alpha
        self.clip_norm = clip_norm
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.standardize = standardize
        self.dtype = dtype
        self.time_dim = time_dim
        self.feature_dim = feature_dim
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ tags and state
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "network_")

    def _expected_failed_checks(self):
        """scikit-learn checks this estimator is known to fail, with the reason."""
        failed = {}
        if str(self.dtype) == "float32":
            failed["check_methods_sample_order_invariance"] = (
                "in float32, BLAS rounds a row of a matrix product differently depending on its "
                "position in the batch (OpenBLAS uses other micro-kernels for the last rows), so "
                "predictions of a permuted batch differ by ~1e-7 relative, above the check's "
                "rtol=1e-7; with dtype='float64' the check passes")
        return failed

    def __getstate__(self):
        # The network's named parameters are views of its flat vector; pickle rebuilds them
        # as separate copies, so store the configuration and the flat vector instead.
        state = dict(super().__getstate__())  # object.__getstate__ returns __dict__ itself
        net = state.pop("network_", None)
        if net is not None:
            state["_network_pickle"] = (network_config(net), net.get_flat())
        return state

    def __setstate__(self, state):
        state = dict(state)
        packed = state.pop("_network_pickle", None)
        super().__setstate__(state)
        if packed is not None:
            self.network_ = build_network(*packed)

    # ------------------------------------------------------------------ validation
    def _check_hyperparameters(self):
        self._validate_params()
        try:
            tbptt = parse_tbptt(self.tbptt)
        except ValueError as exc:
            raise ValueError(
                f"tbptt: expected None, an int k >= 1 or a pair (k1, k2) with k2 >= k1 >= 1; "
                f"found {self.tbptt!r} ({exc})."
            ) from None
        return tbptt

    def _validate_X(self, X, *, reset):
        data = _data.to_sequences(X, time_dim=self.time_dim, feature_dim=self.feature_dim)
        if data.kind != "numpy" and data.time_dim is None and len(data.sample_dims) > 1:
            raise ValueError(
                f"X: expected a time dim named {self.time_dim!r} (time_dim); found dims "
                f"{data.dims}. Pass time_dim=... to name yours (only a (sample, feature) "
                f"DataArray is read as sequences of length one)."
            )
        if reset:
            _data.record_feature_names(self, data)
            return data
        self._check_features(data.n_features, data.feature_names)
        return data

    def _check_features(self, n_features, names):
        """scikit-learn's checks and messages for the feature count and names."""
        cls = type(self).__name__
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is not None and names is None:
            warnings.warn(f"X does not have valid feature names, but {cls} was fitted with "
                          f"feature names")
        elif fitted is None and names is not None:
            warnings.warn(f"X has feature names, but {cls} was fitted without feature names")
        elif fitted is not None and (len(fitted) != len(names) or np.any(fitted != names)):
            message = "The feature names should match those that were passed during fit.\n"
            unexpected = sorted(set(names) - set(fitted))
            missing = sorted(set(fitted) - set(names))

            def listing(values):
                lines = [f"- {v}\n" for v in values[:5]]
                return "".join(lines) + ("- ...\n" if len(values) > 5 else "")

            if unexpected:
                message += "Feature names unseen at fit time:\n" + listing(unexpected)
            if missing:
                message += "Feature names seen at fit time, yet now missing:\n" + listing(missing)
            if not unexpected and not missing:
                message += "Feature names must be in the same order as they were in fit.\n"
            raise ValueError(message)
        if n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {cls} is expecting {self.n_features_in_} "
                f"features as input."
            )

    def _scaled_X(self, data):
        """The sequences scaled with the fitted statistics, in the compute dtype (a new array)."""
        values = data.values
        if self.x_mean_ is not None:
            values = (values - self.x_mean_) / self.x_scale_
        return np.ascontiguousarray(values, dtype=self.dtype_)

    def _network_input(self, X):
        """``(values, lengths, data)`` as the fitted network sees ``X`` (validated, scaled);
        used by :mod:`seqlstm.inspect`."""
        check_is_fitted(self)
        data = self._validate_X(X, reset=False)
        return self._scaled_X(data), data.lengths, data

    def inspect(self, X):
        """Hidden states, cell states and gate activations of the fitted network on ``X``,
        with saturation fractions; see :func:`seqlstm.inspect.inspect`.

        Returns
        -------
        xarray.Dataset
        """
        from .inspect import inspect

        return inspect(self, X)

    def gradient_flow(self, X):
        """Norm of the gradient of the final output with respect to the input and to every
        layer's hidden state, by lag before the last step; see
        :func:`seqlstm.inspect.gradient_flow` (which also takes targets, in the network's
        standardized units).

        Returns
        -------
        xarray.DataArray
        """
        from .inspect import gradient_flow

        return gradient_flow(self, X)

    # ------------------------------------------------------------------ fitting
    def _architecture(self):
        return (self.hidden_size, self.num_layers, self.cell, bool(self.bidirectional),
                bool(self.return_sequences), self.dtype, self._loss_name_of_params())

    def _loss_name_of_params(self):
        return self._loss_name

    def _fit(self, X, y, *, incremental, classes=None):
        tbptt = self._check_hyperparameters()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True; expected "
                             "early_stopping=False, found True.")
        first = not self.__sklearn_is_fitted__() or not (self.warm_start or incremental)
        if not first and self._architecture_ != self._architecture():
            raise ValueError(
                "warm_start/partial_fit: the architecture parameters changed since the last "
                f"fit; expected {self._architecture_}, found {self._architecture()}. Set "
                "warm_start=False to fit a new model."
            )
        data = self._validate_X(X, reset=first)
        per_step = bool(self.return_sequences)
        targets = self._encode_y(y, data, per_step, first, classes)
        if first:
            self._init_model(data, targets)
        X_train = self._scaled_X(data)
        y_train = self._scaled_targets(targets)

        with numba_threads(self.n_jobs):
            state = getattr(self, "_state", None)
            if first or state is None:
                state = TrainingState(self._new_optimizer(), np.random.default_rng(self._seeds_[1]))
                if not first:  # a loaded model: continue its history
                    self._restore_history(state)
                self._state = state
            elif not incremental:  # warm start: fresh optimiser, history continues
                state.optimizer = self._new_optimizer()
            score_fn = None
            if self.early_stopping:
                X_train, y_train, score_fn = self._validation_split(X_train, y_train, state)
            batch_size = resolve_batch_size(self.batch_size, X_train.shape[0])
            run_epochs(
                self.network_,
                state,
                X_train,
                y_train,
                loss=self._network_loss(),
                max_epochs=1 if incremental else self.max_iter,
                max_iter=self.max_iter,
                batch_size=batch_size,
                shuffle=self.shuffle,
                tol=self.tol,
                n_iter_no_change=self.n_iter_no_change,
                tbptt=tbptt,
                dropout=self.dropout,
                score_fn=score_fn,
                incremental=incremental,
                verbose=self.verbose,
            )
        self._publish(state)
        return self

    def _init_model(self, data, targets):
        rs = check_random_state(self.random_state)
        self._seeds_ = tuple(int(s) for s in rs.randint(0, _SEED_MAX, size=3))
        self.dtype_ = np.dtype(self.dtype)
        if self.standardize:
            mean, std = nan_mean_std(data.values, data.lengths)
            self.x_mean_ = np.where(np.isnan(mean), 0.0, mean)
            self.x_scale_ = np.where((std > 0) & np.isfinite(std), std, 1.0)
        else:
            self.x_mean_ = self.x_scale_ = None
        self._init_targets(targets)
        self.network_ = build_network({
            "input_size": data.n_features,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "cell": self.cell,
            "bidirectional": self.bidirectional,
            "output_size": self._network_outputs(),
            "dtype": self.dtype,
        })
        self.network_.init_params(self._seeds_[0])
        self._architecture_ = self._architecture()
        self._state = None

    def _new_optimizer(self):
        return make_optimizer(self.solver, self.learning_rate_init, self.momentum, self.alpha,
                              self.clip_norm)

    def _validation_split(self, X, y, state):
        n = X.shape[0]
        n_val = int(np.ceil(self.validation_fraction * n))
        if n < 2 or n_val >= n:
            raise ValueError(
                f"early_stopping: expected enough samples for a validation fraction of "
                f"{self.validation_fraction} and a training set; found {n} samples."
            )
        stratify = self._stratify(y)
        train, val = train_test_split(
            np.arange(n), test_size=self.validation_fraction, random_state=self._seeds_[2],
            stratify=stratify,
        )
        X_val, y_val = X[val], y[val]

        def score_fn():
            return self._scaled_score(X_val, y_val)

        return X[train], y[train], score_fn

    def _stratify(self, y):
        return None

    def _restore_history(self, state):
        state.n_iter, state.t, state.loss = self.n_iter_, self.t_, self.loss_
        state.loss_curve = list(self.loss_curve_)
        if self.best_loss_ is not None:
            state.best_loss = self.best_loss_
        if self.validation_scores_ is not None:
            state.validation_scores = list(self.validation_scores_)
        if self.best_validation_score_ is not None:
            state.best_validation_score = self.best_validation_score_

    def _publish(self, state):
        """Copy the training history to scikit-learn's fitted attributes."""
        self.loss_ = state.loss
        self.loss_curve_ = list(state.loss_curve)
        self.n_iter_ = state.n_iter
        self.t_ = state.t
        if self.early_stopping:
            self.best_loss_ = None
            self.validation_scores_ = list(state.validation_scores)
            self.best_validation_score_ = (None if not state.validation_scores
                                           else state.best_validation_score)
        else:
            self.best_loss_ = None if not state.loss_curve else state.best_loss
            self.validation_scores_ = None
            self.best_validation_score_ = None

    # ------------------------------------------------------------------ prediction
    def _raw(self, data_or_values, lengths=None):
        """Network outputs (float64) for scaled sequences: (n, out) or (n, T, out)."""
        values = data_or_values
        with numba_threads(self.n_jobs):
            if self.return_sequences:
                out = self.network_.forward(values, lengths)
            else:
                out = self.network_.forward_last(values, lengths)
        return np.asarray(out, dtype=np.float64)

    def _lazy(self, func, X, n_outputs, output_dim, output_names, dtype):
        """Predict lazily on dask-backed input (checks features eagerly)."""
        names, n_features = _data.lazy_feature_info(X, self.feature_dim)
        self._check_features(n_features, names)

        def chunk(values):
            lead = values.shape[:-2]
            flat = values.reshape((-1,) + values.shape[-2:])
            out = np.asarray(func(flat))
            return out.reshape(lead + out.shape[1:])

        return _data.apply_lazily(
            chunk, X, time_dim=self.time_dim, feature_dim=self.feature_dim,
            per_step=bool(self.return_sequences), n_outputs=n_outputs, output_dim=output_dim,
            output_names=output_names, dtype=dtype,
        )

    def save(self, path):
        """Save the fitted model as a netCDF file (see :func:`seqlstm.io.save`).

        Parameters
        ----------
        path : str or os.PathLike
            Destination; written atomically.

        Returns
        -------
        self
        """
        from .io import save

        save(self, path)
        return self


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
        BPTT.
    solver : {"adam", "sgd"}, default "adam"
    learning_rate_init : float, default 1e-3
    momentum : float, default 0.9
        Momentum of "sgd".
    alpha : float, default 0.0
        L2 penalty.
    clip_norm : float or None, default 1.0
        Gradients are clipped to this global norm.
    batch_size : int or "auto", default "auto"
        ``min(200, n_samples)`` for "auto".
    max_iter : int, default 200
        Maximum number of epochs.
    tol : float, default 1e-4
        Improvement below which an epoch counts as no improvement.
    shuffle : bool, default True
        Shuffle the samples at every epoch.
    early_stopping : bool, default False
        Hold out `validation_fraction` of the samples, stop when the validation score (R²)
        stops improving and restore the best weights.
    validation_fraction : float in (0, 1), default 0.1
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
        (NaN-aware, over samples and valid time steps) with statistics learned at fit; the
        predictions are in the units of `y`.
    dtype : {"float32", "float64"}, default "float32"
        Compute dtype of the network.
    time_dim, feature_dim : str, default "time", "feature"
        Dims of labeled input.
    n_jobs : int or None, default None
        Number of threads (None: Numba's current setting; -1: all).

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
        Validation R² of every epoch; None without early stopping.
    best_validation_score_ : float or None
        Best validation R²; None without early stopping.
    n_iter_ : int
        Number of epochs run.
    t_ : int
        Number of training samples seen.
    x_mean_, x_scale_ : ndarray of shape (n_features_in_,) or None
        Input scaling statistics (None without `standardize`).
    y_mean_, y_scale_ : ndarray of shape (n_outputs_,) or None
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
        learning_rate_init=1e-3,
        momentum=0.9,
        alpha=0.0,
        clip_norm=1.0,
        batch_size="auto",
        max_iter=200,
        tol=1e-4,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        random_state=None,
        warm_start=False,
        verbose=0,
        standardize=True,
        dtype="float32",
        time_dim="time",
        feature_dim="feature",
        n_jobs=None,
    ):
        super().__init__(
            hidden_size=hidden_size, num_layers=num_layers, cell=cell,
            bidirectional=bidirectional, return_sequences=return_sequences, dropout=dropout,
            tbptt=tbptt, solver=solver, learning_rate_init=learning_rate_init,
            momentum=momentum, alpha=alpha, clip_norm=clip_norm, batch_size=batch_size,
            max_iter=max_iter, tol=tol, shuffle=shuffle, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
            random_state=random_state, warm_start=warm_start, verbose=verbose,
            standardize=standardize, dtype=dtype, time_dim=time_dim, feature_dim=feature_dim,
            n_jobs=n_jobs,
        )
        self.loss = loss

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

    def _init_targets(self, targets):
        if self.standardize:
            flat = targets.reshape(-1, 1, targets.shape[-1])
            mean, std = nan_mean_std(flat)
            self.y_mean_ = np.where(np.isnan(mean), 0.0, mean)
            self.y_scale_ = np.where((std > 0) & np.isfinite(std), std, 1.0)
        else:
            self.y_mean_ = self.y_scale_ = None

    def _scaled_targets(self, targets):
        if self.y_mean_ is not None:
            targets = (targets - self.y_mean_) / self.y_scale_
        return np.ascontiguousarray(targets, dtype=np.float64)

    def _scaled_score(self, X, y):
        pred = self._raw(X)[..., : self.n_outputs_]
        return _masked_r2(y, pred)

    # -------------------------------------------------------------- public API
    def fit(self, X, y):
        """Fit the model to sequences `X` and targets `y`.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences ``(n_samples, n_time, n_features)`` (or ``(n_samples, n_features)`` for
            sequences of length one), NaN-padded at the end; see
            :func:`seqlstm.data.to_sequences`.
        y : array-like, DataArray or Dataset
            ``(n_samples,)`` or ``(n_samples, n_outputs)``; with ``return_sequences``
            ``(n_samples, n_time[, n_outputs])`` where NaN marks a missing observation.

        Returns
        -------
        self : LSTMRegressor
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y):
        """Train for one epoch on `X`, `y` (initialising the model at the first call).

        Parameters
        ----------
        X, y
            As in :meth:`fit`.

        Returns
        -------
        self : LSTMRegressor
        """
        return self._fit(X, y, incremental=True)

    def predict(self, X, return_std=False):
        """Predict targets, in the units of `y`.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences with the features seen at fit.  Dask-backed xarray input gives a lazy
            result.
        return_std : bool, default False
            Also return the predicted standard deviation (``loss="gaussian"`` only).

        Returns
        -------
        y_pred : ndarray or DataArray
            ``(n_samples[, n_outputs])``, or ``(n_samples, n_time[, n_outputs])`` with
            ``return_sequences`` (NaN at padded steps); the output axis is dropped when `y` was
            given without one.  Labeled input gives a DataArray with the input's sample
            coordinates (and time coordinate), attrs, and an ``output`` dim.
        y_std : ndarray or DataArray, only with `return_std`
        """
        check_is_fitted(self)
        if return_std and self.loss != "gaussian":
            raise ValueError(
                f"return_std: expected loss='gaussian' for return_std=True; found "
                f"loss={self.loss!r}."
            )
        O = self.n_outputs_
        names = None if self._output_names is None else list(self._output_names)
        if _data.is_dask(X):
            parts = []
            for which in ((0, 1) if return_std else (0,)):
                out = self._lazy(lambda v, w=which: self._predict_values(
                    _data.to_sequences(v, dtype=np.float64))[w], X, O, "output", names,
                    np.float64)
                if self._target_name is not None:
                    out.name = self._target_name
                parts.append(self._squeeze(out, labeled=True))
            return tuple(parts) if return_std else parts[0]
        data = self._validate_X(X, reset=False)
        mean, std = self._predict_values(data)
        per_step = bool(self.return_sequences)
        wrap = [
            self._squeeze(_data.wrap_output(v, data, per_step=per_step, output_names=names,
                                            name=self._target_name),
                          labeled=data.kind != "numpy")
            for v in ((mean, std) if return_std else (mean,))
        ]
        return tuple(wrap) if return_std else wrap[0]

    def _predict_values(self, data):
        raw = self._raw(self._scaled_X(data), data.lengths)
        if self.loss == "gaussian":
            mean, std = gaussian_moments(raw, self.n_outputs_)
        else:
            mean, std = raw, None
        if self.y_mean_ is not None:
            mean = mean * self.y_scale_ + self.y_mean_
            std = None if std is None else std * self.y_scale_
        return mean, std

    def _squeeze(self, out, labeled):
        if not self._y_1d:
            return out
        return out.squeeze("output", drop=True) if labeled else out[..., 0]

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R² of the predictions.

        With ``return_sequences`` the score is over all observed (non-NaN, non-padded) time
        steps.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
        y : array-like, DataArray or Dataset
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        check_is_fitted(self)
        data = self._validate_X(X, reset=False)
        per_step = bool(self.return_sequences)
        y_true = _data.to_targets(y, data, per_step=per_step).values
        y_pred, _ = self._predict_values(data)
        if not per_step:
            return float(r2_score(y_true, y_pred, sample_weight=sample_weight))
        w = None
        if sample_weight is not None:
            w = np.broadcast_to(np.asarray(sample_weight, float)[:, None], y_true.shape[:2])
        return _masked_r2(y_true, y_pred, w)


class LSTMClassifier(ClassifierMixin, _BaseLSTM):
    """Recurrent (LSTM, GRU, RNN) classification of sequences, with scikit-learn's API.

    Parameters are those of :class:`LSTMRegressor` without ``loss`` (the loss is softmax
    cross-entropy).  With ``return_sequences=True`` there is one label per time step and a
    missing label (None or NaN) is left out of the loss; predictions at padded steps are NaN
    (numeric classes) or None.  With early stopping the validation score is the accuracy and
    the split is stratified (many-to-one).

    Attributes
    ----------
    classes_ : ndarray
        The class labels (any type scikit-learn accepts).
    n_outputs_ : int
        Number of network outputs (logits), one per class.
    network_, n_features_in_, feature_names_in_, loss_, loss_curve_, best_loss_, \
validation_scores_, best_validation_score_, n_iter_, t_, x_mean_, x_scale_
        As in :class:`LSTMRegressor`.

    Examples
    --------
    >>> import numpy as np
    >>> from seqlstm import LSTMClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 5, 2))
    >>> y = np.where(X[:, 0, 0] > 0, "up", "down")
    >>> clf = LSTMClassifier(hidden_size=4, max_iter=2, random_state=0).fit(X, y)
    >>> clf.classes_
    array(['down', 'up'], dtype='<U4')
    """

    _loss_name = "cross_entropy"

    def _network_loss(self):
        return "cross_entropy"

    def _network_outputs(self):
        return len(self.classes_)

    # -------------------------------------------------------------- targets
    def _encode_y(self, y, data, per_step, first, classes):
        labels = _data.to_labels(y, data, per_step=per_step)
        missing = pd.isna(labels)
        observed = labels[~missing]
        if observed.size == 0:
            raise ValueError("y: expected at least one label; found only missing labels.")
        check_classification_targets(observed)
        if first:
            known = np.unique(observed if classes is None else np.asarray(classes))
            if len(known) < 2:
                raise ValueError(
                    f"y: expected at least 2 classes; found 1 class ({known[0]!r})."
                )
            self.classes_ = known
            self.n_outputs_ = len(known)
        unknown = np.setdiff1d(np.unique(observed), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y: expected labels among classes_ {self.classes_.tolist()}; found "
                f"{unknown.tolist()}."
            )
        codes = np.full(labels.shape, np.nan)
        codes[~missing] = np.searchsorted(self.classes_, observed)
        return codes

    def _init_targets(self, targets):
        pass

    def _scaled_targets(self, targets):
        return targets

    def _stratify(self, y):
        if self.return_sequences:
            return None
        _, counts = np.unique(y, return_counts=True)
        return y if counts.min() >= 2 else None

    def _scaled_score(self, X, y):
        proba = self._raw(X)
        pred = np.argmax(np.nan_to_num(proba, nan=-np.inf), axis=-1).astype(float)
        mask = ~np.isnan(y)
        return float(accuracy_score(y[mask], pred[mask]))

    # -------------------------------------------------------------- public API
    def fit(self, X, y):
        """Fit the classifier.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences; see :meth:`LSTMRegressor.fit`.
        y : array-like or DataArray
            Labels ``(n_samples,)``, or ``(n_samples, n_time)`` with ``return_sequences``
            (None/NaN: missing).

        Returns
        -------
        self : LSTMClassifier
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """Train for one epoch (initialising the model at the first call).

        Parameters
        ----------
        X, y
            As in :meth:`fit`.
        classes : array-like, optional
            All classes, needed at the first call when `y` does not hold them all.

        Returns
        -------
        self : LSTMClassifier
        """
        return self._fit(X, y, incremental=True, classes=classes)

    def _proba(self, data):
        return softmax(self._raw(self._scaled_X(data), data.lengths))

    def _labels(self, proba):
        padded = np.isnan(proba).any(axis=-1)
        idx = np.argmax(np.where(np.isnan(proba), -np.inf, proba), axis=-1)
        labels = self.classes_[idx]
        if padded.any():
            if labels.dtype.kind == "f":
                labels[padded] = np.nan
            else:
                labels = labels.astype(object)
                labels[padded] = None
        return labels

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Dask-backed xarray input gives a lazy result.

        Returns
        -------
        ndarray or DataArray
            ``(n_samples, n_classes)`` or ``(n_samples, n_time, n_classes)`` (NaN at padded
            steps); labeled input gives a DataArray with a ``class`` dim labeled by
            ``classes_`` (as strings).
        """
        check_is_fitted(self)
        names = [str(c) for c in self.classes_]
        if _data.is_dask(X):
            return self._lazy(lambda v: self._proba(_data.to_sequences(v)), X,
                              len(self.classes_), "class", names, np.float64)
        data = self._validate_X(X, reset=False)
        return _data.wrap_output(self._proba(data), data, per_step=bool(self.return_sequences),
                                 output_names=names, output_dim="class")

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Dask-backed xarray input gives a lazy result.

        Returns
        -------
        ndarray or DataArray
            ``(n_samples,)`` or ``(n_samples, n_time)`` of labels from ``classes_``.
        """
        check_is_fitted(self)
        if _data.is_dask(X):
            dtype = object if self.return_sequences and self.classes_.dtype.kind != "f" else \
                self.classes_.dtype
            out = self._lazy(lambda v: self._labels(self._proba(_data.to_sequences(v)))[..., None],
                             X, 1, "output", None, dtype)
            return out.squeeze("output", drop=True)
        data = self._validate_X(X, reset=False)
        return _data.wrap_labels(self._labels(self._proba(data)), data,
                                 per_step=bool(self.return_sequences))

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (over observed, non-padded steps with ``return_sequences``).

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
        y : array-like or DataArray
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        check_is_fitted(self)
        data = self._validate_X(X, reset=False)
        per_step = bool(self.return_sequences)
        y_true = _data.to_labels(y, data, per_step=per_step)
        y_pred = self._labels(self._proba(data))
        w = None if sample_weight is None else np.asarray(sample_weight, float)
        if per_step:
            mask = ~pd.isna(y_true) & ~pd.isna(y_pred)
            if w is not None:
                w = np.broadcast_to(w[:, None], y_true.shape)[mask]
            y_true, y_pred = y_true[mask], y_pred[mask]
        return float(accuracy_score(y_true, y_pred, sample_weight=w))


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


def _masked_r2(y_true, y_pred, weights=None):
    """R² over the rows (samples or sample-steps) whose targets and predictions are all finite."""
    O = y_true.shape[-1]
    t = y_true.reshape(-1, O)
    p = y_pred.reshape(-1, O)
    mask = np.isfinite(t).all(axis=1) & np.isfinite(p).all(axis=1)
    w = None if weights is None else np.asarray(weights).reshape(-1)[mask]
    if mask.sum() < 2:
        return float("nan")
    return float(r2_score(t[mask], p[mask], sample_weight=w))
