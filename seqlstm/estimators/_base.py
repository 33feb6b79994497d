"""The estimators' shared base: it orchestrates and holds no numerical loops.

A fit validates ``X`` (:mod:`seqlstm.data`, :mod:`seqlstm._validation`), encodes and scales the
targets (the subclass's hooks), holds out a validation part if asked, scales ``X`` with
statistics of the training samples from :func:`seqlstm.preprocessing.scaling_statistics`, builds
the :class:`~seqlstm.network.RecurrentNetwork` once, and hands it to
:func:`seqlstm.training.run_epochs` with a :class:`~seqlstm.training.TrainingState`, which keeps
the history; the fitted history attributes are read from that state.  All of it runs on a
working copy of the estimator, whose fitted state the estimator adopts only when the fit
succeeded.  Predictions are wrapped in the input's form by :mod:`seqlstm.data`.
:meth:`_BaseLSTM._to_state` and :meth:`_BaseLSTM._from_state` are the only door
:mod:`seqlstm.io` uses.
"""

from __future__ import annotations

import copy
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, check_random_state

from .. import data as _data
from .._init import CHRONO_CELLS, apply_chrono, check_chrono
from .._threads import numba_threads
from .._validation import check_features, record_feature_names
from ..data.batches import SequenceBatches, scaled_copy
from ..data.chunked import ChunkedBatches, RowReader, chunk_split, chunked_sequences
from ..data.lazy import is_dask
from ..data.framing import (auto_frame_stride, frame_sequences, framed_lengths,
                            framed_n_features)
from ..data.sequences import INPUT_2D
from ..io import ModelFile
from ..network import CELLS, READOUTS, RecurrentNetwork, parse_tbptt
from ..preprocessing import scaling_statistics
from ..training import (
    SCHEDULES,
    TrainingSettings,
    TrainingState,
    batched_loss,
    in_batches,
    make_optimizer,
    resolve_batch_size,
    run_epochs,
)

_SEED_MAX = np.iinfo(np.int32).max
_CHRONO_STREAM = 1  # chrono biases: default_rng((first seed, 1)), apart from the weights' draw


def _tbptt_constraint():
    return [None, Interval(Integral, 1, None, closed="left"), tuple, list]


#: Parameter constraints shared by every estimator that trains a network: its shape, the
#: optimiser, minibatches, the stopping rule's numbers, seeds, dtype, dims and threads.
NETWORK_AND_TRAINING_CONSTRAINTS = {
    "hidden_size": [Interval(Integral, 1, None, closed="left")],
    "num_layers": [Interval(Integral, 1, None, closed="left")],
    "cell": [StrOptions(set(CELLS))],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "solver": [StrOptions({"adam", "sgd"})],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "clip_norm": [None, Interval(Real, 0, None, closed="neither")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "shuffle": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "dtype": [StrOptions({"float32", "float64"})],
    "time_dim": [str],
    "feature_dim": [str],
    "n_jobs": [None, Integral],
}


#: Parameter constraints of the schedule, early stopping and chrono initialisation, shared by
#: every estimator that trains through :class:`_Trained` (sequence estimators and forecaster).
SCHEDULE_AND_STOPPING_CONSTRAINTS = {
    "learning_rate": [StrOptions(set(SCHEDULES))],
    "warmup": [Interval(Integral, 0, None, closed="left")],
    "plateau_patience": [Interval(Integral, 1, None, closed="left")],
    "plateau_factor": [Interval(Real, 0, 1, closed="neither")],
    "early_stopping": ["boolean", StrOptions({"score", "loss"})],
    "chrono_t_max": [None, StrOptions({"auto"}), Interval(Integral, 2, None, closed="left")],
}


class _History:
    """A read-only fitted attribute taken from the estimator's training state's history."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, estimator, owner=None):
        if estimator is None:
            return self
        state = estimator.__dict__.get("_state")
        if state is None:
            raise AttributeError(
                f"{type(estimator).__name__!r} object has no attribute {self.name!r}")
        return state.history()[self.name]

    def __set__(self, estimator, value):
        raise AttributeError(f"{self.name} is read from the training history; it cannot be set.")


def _fitted_chrono(value):
    """A stored ``chrono_t_max_`` as an int or None ("auto" cannot be stored unresolved)."""
    return None if value is None or isinstance(value, str) else int(value)


class _Trained:
    """The training every estimator shares: sequence estimators and forecaster alike.

    A fit runs on a working copy (:meth:`_fit`, :meth:`_working_copy`) whose fitted state the
    estimator adopts only when the whole fit succeeded; :meth:`_train` hands the network to
    :func:`seqlstm.training.run_epochs` with the estimator's schedule, stopping rule and
    minibatch settings (:meth:`_settings`) and a :class:`~seqlstm.training.TrainingState`
    (:meth:`_training_state`), whose history gives the fitted history attributes
    (:class:`_History`).  Chrono initialisation (:meth:`_chrono_steps`, :meth:`_apply_chrono`)
    is shared too.  The subclass defines ``_fit_in_place`` (the fit itself) and has the
    parameters of :data:`NETWORK_AND_TRAINING_CONSTRAINTS` and
    :data:`SCHEDULE_AND_STOPPING_CONSTRAINTS`.
    """

    loss_ = _History()
    loss_curve_ = _History()
    best_loss_ = _History()
    validation_scores_ = _History()
    best_validation_score_ = _History()
    validation_loss_curve_ = _History()
    best_validation_loss_ = _History()
    learning_rate_curve_ = _History()
    n_iter_ = _History()
    t_ = _History()
    stop_reason_ = _History()

    def __sklearn_is_fitted__(self):
        return hasattr(self, "network_")

    def _fit(self, *args, incremental=False, **kwargs):
        """Fit on a working copy (:meth:`_working_copy`) and adopt its fitted state only when
        the whole fit succeeded: a fit that fails, on its input or in training, leaves the
        previous model exactly as it was."""
        continuing = self.__sklearn_is_fitted__() and bool(
            getattr(self, "warm_start", False) or incremental)
        work = self._working_copy(continuing)
        work._fit_in_place(*args, incremental=incremental, **kwargs)
        for name in set(vars(self)) - set(vars(work)):  # removed by the fit (feature names)
            del self.__dict__[name]
        self.__dict__.update(vars(work))
        return self

    def _working_copy(self, continuing):
        """A new estimator with these parameters and this fitted state for a fit to build on.

        A fit replaces fitted attributes rather than changing them, except the network's
        weights and the training state that a warm start or ``partial_fit`` continues: with
        `continuing` these two are copied.
        """
        work = type(self).__new__(type(self))
        work.__dict__.update(vars(self))
        if continuing:  # (a network deep-copies with its views into its own flat vector)
            work.network_ = copy.deepcopy(self.network_)
            work._state = copy.deepcopy(self._state)
        return work

    def _check_chrono(self):
        """`chrono_t_max` fits the cell ("auto" is resolved at fit)."""
        if not (isinstance(self.chrono_t_max, str) and self.chrono_t_max == "auto"):
            check_chrono(self.chrono_t_max, self.cell)

    def _chrono_steps(self, steps):
        """The fitted chrono ``T_max`` (``chrono_t_max_``) for training sequences of at most
        `steps` network steps: "auto" is `steps` for the LSTM-family cells (None, no chrono,
        for the others or sequences of one network step); otherwise the parameter."""
        if not (isinstance(self.chrono_t_max, str) and self.chrono_t_max == "auto"):
            return None if self.chrono_t_max is None else int(self.chrono_t_max)
        if self.cell not in CHRONO_CELLS:
            return None
        steps = int(steps)
        return steps if steps >= 2 else None

    def _apply_chrono(self, network):
        """Chrono gate biases for ``chrono_t_max_`` (if set), drawn from their own stream,
        derived from the first seed."""
        if self.chrono_t_max_ is not None:
            apply_chrono(network, self.chrono_t_max_, (self._seeds_[0], _CHRONO_STREAM))

    def _monitor(self):
        """What early stopping watches: None, "score" (True or "score") or "loss"."""
        return {False: None, True: "score", "score": "score", "loss": "loss"}[
            self.early_stopping if isinstance(self.early_stopping, str)
            else bool(self.early_stopping)]

    def _training_state(self, fresh_optimizer):
        """The training state this fit continues, with its optimiser and generator ready.

        A new state at the first fit; a loaded model's history-only state gets a fresh optimiser
        and generator; a warm start keeps the history and generator with a fresh optimiser;
        ``partial_fit`` keeps everything.
        """
        state = getattr(self, "_state", None)
        if state is None:
            state = self._state = TrainingState(None, None)
        if state.rng is None:
            state.rng = np.random.default_rng(self._seeds_[1])
            fresh_optimizer = True
        if fresh_optimizer:
            state.optimizer = make_optimizer(self.solver, self.learning_rate_init,
                                             self.momentum, self.alpha, self.clip_norm)
        return state

    def _settings(self, loss, n_samples, *, incremental=False, monitor=None, tbptt=None,
                  stateful=False):
        """The :class:`~seqlstm.training.TrainingSettings` of this estimator's parameters for
        `n_samples` training samples (windows, for the forecaster)."""
        return TrainingSettings(
            loss=loss,
            max_epochs=1 if incremental else self.max_iter,
            max_iter=self.max_iter,
            batch_size=resolve_batch_size(self.batch_size, n_samples),
            shuffle=self.shuffle,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            tbptt=tbptt,
            stateful=stateful,
            dropout=self.dropout,
            monitor=monitor,
            learning_rate=self.learning_rate,
            learning_rate_init=self.learning_rate_init,
            warmup=self.warmup,
            plateau_patience=self.plateau_patience,
            plateau_factor=self.plateau_factor,
            incremental=incremental,
            verbose=self.verbose,
        )

    def _train(self, X, y, settings, *, fresh_optimizer=True, validation=None,
               sample_weight=None):
        """Train ``network_`` on `X`, `y` with `settings` through
        :func:`seqlstm.training.run_epochs`, in the estimator's Numba threads.

        Parameters
        ----------
        X, y : ndarray or indexable
            As :func:`~seqlstm.training.run_epochs` takes them.
        settings : TrainingSettings
        fresh_optimizer : bool, default True
            See :meth:`_training_state`.
        validation : callable, optional
            Called (inside the threads' context) to give ``(score_fn, val_loss_fn)``.
        sample_weight : ndarray, optional
        """
        with numba_threads(self.n_jobs):
            state = self._training_state(fresh_optimizer=fresh_optimizer)
            score_fn, val_loss_fn = (None, None) if validation is None else validation()
            run_epochs(self.network_, state, X, y, settings=settings, score_fn=score_fn,
                       val_loss_fn=val_loss_fn, sample_weight=sample_weight)


class _BaseLSTM(_Trained, ModelFile, BaseEstimator):
    """Shared fit/predict machinery; see :class:`LSTMRegressor` for the parameters.

    Subclasses give the loss and the targets' handling: ``_network_loss``,
    ``_network_outputs``, ``_encode_y``, ``_init_targets``, ``_scaled_targets``,
    ``_scaled_score``, ``_stratify`` and ``_target_state`` / ``_set_target_state``.
    """

    _parameter_constraints: dict = {
        **NETWORK_AND_TRAINING_CONSTRAINTS,
        "bidirectional": ["boolean"],
        "return_sequences": ["boolean"],
        "tbptt": _tbptt_constraint(),
        **SCHEDULE_AND_STOPPING_CONSTRAINTS,
        "validation_split": [StrOptions({"random", "time"})],
        "warm_start": ["boolean"],
        "standardize": ["boolean"],
        "readout": [StrOptions(set(READOUTS))],
        "frame_stride": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "input_2d": [None, StrOptions(set(INPUT_2D))],
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
        learning_rate="cosine",
        learning_rate_init=1e-2,
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
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.return_sequences = return_sequences
        self.dropout = dropout
        self.tbptt = tbptt
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.warmup = warmup
        self.plateau_patience = plateau_patience
        self.plateau_factor = plateau_factor
        self.momentum = momentum
        self.alpha = alpha
        self.clip_norm = clip_norm
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_split = validation_split
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.standardize = standardize
        self.dtype = dtype
        self.time_dim = time_dim
        self.feature_dim = feature_dim
        self.input_2d = input_2d
        self.n_jobs = n_jobs
        self.chrono_t_max = chrono_t_max
        self.readout = readout
        self.frame_stride = frame_stride

    # ------------------------------------------------------------------ tags and state
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        return tags

    def _expected_failed_checks(self):
        """scikit-learn checks this estimator is known to fail, with the reason."""
        failed = {}
        if str(self.dtype) == "float32":
            failed["check_methods_sample_order_invariance"] = (
                "in float32, BLAS rounds a row of a matrix product differently depending on its "
                "position in the batch (OpenBLAS uses other micro-kernels for the last rows), so "
                "predictions of a permuted batch differ by ~1e-7 relative, above the check's "
                "rtol=1e-7; with dtype='float64' the check passes")
        one_batch = self.batch_size != "auto" and self.batch_size >= 27
        if str(self.dtype) == "float32" or not one_batch:
            failed["check_sample_weight_equivalence_on_dense_data"] = (
                "minibatch training: with batch_size='auto' (16) the check's 27 repeated samples "
                "form two minibatches and its 15 weighted ones one, so the steps differ (as for "
                "scikit-learn's SGD estimators); in float32 the weighted mean over 15 samples "
                "and the plain mean over 27 also round differently (~1e-7 relative after 30 "
                "epochs); with one minibatch (batch_size >= 27) and dtype='float64' the check "
                "passes")
        return failed

    def __getstate__(self):
        # The network's named parameters are views of its flat vector; pickle rebuilds them
        # as separate copies, so store the configuration and the flat vector instead.
        state = dict(super().__getstate__())  # object.__getstate__ returns __dict__ itself
        net = state.pop("network_", None)
        if net is not None:
            state["_network_pickle"] = (net.config(), net.get_flat())
        return state

    def __setstate__(self, state):
        state = dict(state)
        packed = state.pop("_network_pickle", None)
        # pickles from before input_2d read 2-D X as (n_samples, n_features): keep that
        state.setdefault("input_2d", "features")
        # pickles from before frames read every step: fill what they lack with that
        if "frame_stride" not in state:
            state["frame_stride"] = 1
            if "_architecture_" in state:
                state["_architecture_"] = tuple(state["_architecture_"]) + (1,)
            if packed is not None or "network_" in state:
                state["frame_stride_"] = 1
        # pickles from before "auto": the network was initialised with the parameter's value
        if "chrono_t_max_" not in state and (packed is not None or "network_" in state):
            state["chrono_t_max_"] = _fitted_chrono(state.get("chrono_t_max"))
        super().__setstate__(state)
        if packed is not None:
            self.network_ = RecurrentNetwork.from_config(*packed)

    # ------------------------------------------------------------------ validation
    def _check_hyperparameters(self):
        self._validate_params()
        self._check_chrono()
        if self.return_sequences and self.frame_stride not in ("auto", 1):
            raise ValueError(
                "frame_stride: expected 'auto' or 1 with return_sequences=True (per-step outputs "
                f"need per-step inputs); found {self.frame_stride!r}.")
        try:
            tbptt = parse_tbptt(self.tbptt)
        except ValueError as exc:
            raise ValueError(
                f"tbptt: expected None, an int k >= 1 or a pair (k1, k2) with k2 >= k1 >= 1; "
                f"found {self.tbptt!r} ({exc})."
            ) from None
        return tbptt

    def _resolve_frame_stride(self, data):
        """The fitted stride: "auto" gives frames only to per-sequence models of sequences
        longer than :data:`~seqlstm.data.framing.FRAME_TARGET_STEPS` steps."""
        if self.frame_stride != "auto":
            return int(self.frame_stride)
        if self.return_sequences:
            return 1
        return auto_frame_stride(int(np.max(data.lengths)))

    def _resolve_chrono_t_max(self, lengths):
        """The fitted chrono ``T_max`` (``chrono_t_max_``) for training sequences of `lengths`
        steps, read in frames of ``frame_stride_``: "auto" is the number of network steps of
        the longest one, ``ceil(max(lengths) / frame_stride_)``, for the LSTM-family cells
        (None, no chrono, for the others or sequences of one network step)."""
        return self._chrono_steps(np.max(framed_lengths(lengths, self.frame_stride_)))

    def _validate_X(self, X, *, reset, copy=True):
        """`X` checked and read as a :class:`~seqlstm.data.SequenceData`; ``copy=False``:
        float data may be the user's array itself, only read (see
        :func:`~seqlstm.data.to_sequences`), and dask-backed data stay lazy, checked chunk by
        chunk (:func:`~seqlstm.data.chunked.chunked_sequences`: ``fit`` streams them)."""
        if not copy and is_dask(X):
            data = chunked_sequences(X, time_dim=self.time_dim, feature_dim=self.feature_dim)
        else:
            data = _data.to_sequences(X, time_dim=self.time_dim, feature_dim=self.feature_dim,
                                      input_2d=self.input_2d, copy=copy)
        if data.kind != "numpy" and data.time_dim is None and len(data.sample_dims) > 1:
            raise ValueError(
                f"X: expected a time dim named {self.time_dim!r} (time_dim); found dims "
                f"{data.dims}. Pass time_dim=... to name yours (only a (sample, feature) "
                f"DataArray is read as sequences of length one)."
            )
        if reset:
            record_feature_names(self, data)
        else:
            check_features(self, data.n_features, data.feature_names)
        return data

    def _network_values(self, data):
        """``(values, lengths)`` as the network reads the sequences: scaled with the fitted
        statistics, in the compute dtype (a new array, :meth:`_scaled_copy`), grouped into
        frames when ``frame_stride_ > 1`` (:func:`~seqlstm.data.framing.frame_sequences`)."""
        return frame_sequences(self._scaled_copy(data), data.lengths, self.frame_stride_)

    def _scaled_copy(self, data):
        """The sequences' values standardised with the fitted statistics, in the compute
        dtype: a new C-contiguous array (:func:`~seqlstm.data.batches.scaled_copy`)."""
        return scaled_copy(data.values, self.x_mean_, self.x_scale_, self.dtype_)

    def _batches(self, data, batch_size, values=None, rows=None):
        """The minibatch source of `data` for training or validation: the network's input
        gathered by index from the standardised copy `values` (made from `data` when None),
        rows `rows` (default all), frames included
        (:class:`~seqlstm.data.batches.SequenceBatches`); `batch_size` is the size of the
        batches it is evaluated in.  Dask-backed `data` are read through a bounded buffer of
        chunks instead (:class:`~seqlstm.data.chunked.ChunkedBatches`)."""
        if is_dask(data.values):
            return ChunkedBatches(data.values, data.lengths, self.frame_stride_, self.x_mean_,
                                  self.x_scale_, self.dtype_, rows, batch_size=batch_size)
        if values is None:
            values = self._scaled_copy(data)
        return SequenceBatches(values, data.lengths, self.frame_stride_, rows,
                               batch_size=batch_size)

    def _network_input(self, X):
        """``(values, lengths, data)`` as the fitted network sees ``X`` (validated, scaled,
        framed); used by :mod:`seqlstm.inspect`.  With frames, ``data``'s time axis is the
        frames', labeled with each frame's first time step."""
        check_is_fitted(self)
        data = self._validate_X(X, reset=False)
        values, lengths = self._network_values(data)
        if self.frame_stride_ > 1:
            data = _data.framed_data(data, values, lengths, self.frame_stride_)
        return values, lengths, data

    def inspect(self, X):
        """Hidden states, cell states and gate activations of the fitted network on ``X``,
        with saturation fractions; see :func:`seqlstm.inspect.inspect`.

        Parameters
        ----------
        X : array-like or xarray.DataArray, shape (sample, time, feature)
            Sequences read as the model reads them in ``predict``.

        Returns
        -------
        xarray.Dataset
            The traces; see :func:`seqlstm.inspect.inspect`.
        """
        from ..inspect import inspect

        return inspect(self, X)

    def gradient_flow(self, X):
        """Norm of the gradient of the final output with respect to the input and to every
        layer's hidden state, by lag before the last step; see
        :func:`seqlstm.inspect.gradient_flow` (which also takes targets, in the network's
        standardized units).

        Parameters
        ----------
        X : array-like or xarray.DataArray, shape (sample, time, feature)
            Sequences read as the model reads them in ``predict``.

        Returns
        -------
        xarray.DataArray
            Gradient norms over ``(wrt, lag)``; see :func:`seqlstm.inspect.gradient_flow`.
        """
        from ..inspect import gradient_flow

        return gradient_flow(self, X)

    def generate(self, n_steps, prime=None, temperature=1.0, random_state=None):
        """Generate new steps from a model fitted for next-step prediction (outputs at step t
        predict the input at t + 1); see :func:`seqlstm.generation.generate`.

        Parameters
        ----------
        n_steps : int
            Number of new steps.
        prime : array-like, optional
            Values ``(time, feature)`` (regressor) or labels (classifier) to continue.
        temperature : float, default 1.0
            >= 0; scales the randomness of the draws; 0 is deterministic.
        random_state : None, int or numpy.random.RandomState
            Source of the draws.

        Returns
        -------
        xarray.DataArray
            The generated steps; see :func:`seqlstm.generation.generate`.
        """
        from ..generation import generate

        return generate(self, n_steps, prime=prime, temperature=temperature,
                        random_state=random_state)

    # ------------------------------------------------------------------ fitting
    def _architecture(self):
        return (self.hidden_size, self.num_layers, self.cell, bool(self.bidirectional),
                bool(self.return_sequences), self.dtype, self._loss_name_of_params(),
                self.readout, self.frame_stride)

    def _loss_name_of_params(self):
        return self._loss_name

    def _fit_in_place(self, X, y, *, incremental, classes=None, sample_weight=None,
                      validation_data=None):
        """The fit itself, run by :meth:`_fit` on its working copy."""
        tbptt = self._check_hyperparameters()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        if incremental and self.early_stopping:
            raise ValueError(f"partial_fit does not support early_stopping="
                             f"{self.early_stopping!r}; expected early_stopping=False.")
        first = not self.__sklearn_is_fitted__() or not (self.warm_start or incremental)
        if not first and self._architecture_ != self._architecture():
            raise ValueError(
                "warm_start/partial_fit: the architecture parameters changed since the last "
                f"fit; expected {self._architecture_}, found {self._architecture()}. Set "
                "warm_start=False to fit a new model."
            )
        data = self._validate_X(X, reset=first, copy=False)   # read, never changed
        targets = self._encode_y(y, data, bool(self.return_sequences), first, classes)
        weights = self._checked_sample_weight(sample_weight, data)
        if weights is not None and not incremental:
            self._check_weighted_targets(targets, weights)
        validation = None
        if validation_data is not None:
            validation = self._validation_input(validation_data, classes)
        monitor = self._monitor()
        if first:
            rs = check_random_state(self.random_state)
            self._seeds_ = tuple(int(s) for s in rs.randint(0, _SEED_MAX, size=3))
        split = None
        chunked = is_dask(data.values)   # dask-backed: streamed, never computed whole
        if monitor is not None and validation is None:  # hold out validation_fraction
            if chunked and self.validation_split == "random":   # whole chunks
                split = chunk_split(data.values, self.validation_fraction, self._seeds_[2])
            else:
                split = self._validation_split(targets, data.n_time)
        if first:  # the scaling statistics come from the training samples only
            self._init_model(data, targets, weights, rows=None if split is None else split[0])
        settings = self._settings(
            self._network_loss(), data.n_samples if split is None else len(split[0]),
            incremental=incremental, monitor=monitor, tbptt=tbptt,
            # per-step unidirectional models train long records window by window
            stateful=bool(self.return_sequences) and not self.bidirectional)
        # The data are held once: ONE standardised copy, from which every minibatch (frames
        # included) is gathered into a reused buffer; a held-out part reads other rows of it.
        # Dask-backed data are never computed whole: minibatches stream through a buffer of
        # chunks (ChunkedBatches, standardised as they are loaded).
        values = None if chunked else self._scaled_copy(data)
        if not chunked:
            data.values = None    # the raw values are read no more
        y_train = self._scaled_targets(targets)
        X_train = self._batches(data, settings.batch_size, values)
        functions = None   # the validation score and loss, made inside the threads' context
        if validation is not None:
            vdata, vtargets, w_val = validation
            X_val, y_val = self._batches(vdata, settings.batch_size), self._scaled_targets(vtargets)
            if isinstance(vdata.values, np.ndarray):
                vdata.values = None
            functions = partial(self._validation_functions, X_val, y_val, w_val)
        elif split is not None:
            train, val = split
            X_train = self._batches(data, settings.batch_size, values, rows=train)
            X_val = self._batches(data, settings.batch_size, values, rows=val)
            y_val, y_train = y_train[val], y_train[train]
            w_val = None if weights is None else weights[val]
            weights = None if weights is None else weights[train]
            functions = partial(self._validation_functions, X_val, y_val, w_val)
        self._train(X_train, y_train, settings, fresh_optimizer=first or not incremental,
                    validation=functions, sample_weight=weights)
        return self

    def _checked_sample_weight(self, sample_weight, data, name="sample_weight"):
        """`sample_weight` as float64 of shape (n_samples,), or None (scikit-learn's checks:
        finite, non-negative, not all zero)."""
        if sample_weight is None:
            return None
        try:
            return _check_sample_weight(sample_weight, data.values, dtype=np.float64,
                                        ensure_non_negative=True)
        except ValueError as exc:
            message = str(exc)
            if "sample_weight" not in message:
                message = f"{name}: {message}"
            message = message.replace("`sample_weight`", name).replace("sample_weight", name)
            raise ValueError(message) from None

    def _check_weighted_targets(self, targets, weights):
        """Subclass hook: reject targets that weighting leaves unusable."""

    def _validation_input(self, validation_data, classes):
        """``validation_data`` checked like the training data: (data, targets, weights)."""
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data: expected a pair (X_val, y_val) or a triple (X_val, y_val, "
                f"sample_weight_val); found {type(validation_data).__name__}"
                + (f" of length {len(validation_data)}"
                   if isinstance(validation_data, (tuple, list)) else "") + "."
            )
        X_val, y_val = validation_data[0], validation_data[1]
        w_val = validation_data[2] if len(validation_data) == 3 else None
        try:
            vdata = self._validate_X(X_val, reset=False, copy=False)
            vtargets = self._encode_y(y_val, vdata, bool(self.return_sequences), False, classes)
            weights = self._checked_sample_weight(w_val, vdata, name="sample_weight_val")
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"validation_data: {exc}") from None
        return vdata, vtargets, weights

    def _validation_functions(self, X_val, y_val, w_val):
        """The validation score and loss of the current weights, as functions; `X_val` (a
        :class:`~seqlstm.data.batches.SequenceBatches`) goes through the network in its
        minibatches (:meth:`_raw`, :func:`~seqlstm.training.batched_loss`)."""
        loss = self._network_loss()

        def score_fn():
            return self._scaled_score(X_val, y_val, w_val)

        def val_loss_fn():
            batches = ((X_val[i], y_val[i], None if w_val is None else w_val[i])
                       for i in in_batches(X_val.shape[0], X_val.batch_size))
            return batched_loss(self.network_, batches, loss)

        return score_fn, val_loss_fn

    def _init_model(self, data, targets, weights=None, rows=None):
        """Scaling statistics and a new network, initialised from the first seed.

        The statistics come from the samples `rows` (indices; None: all), the training samples
        when a validation part is held out, so that validation data never sets the scaling.
        """
        self.dtype_ = np.dtype(self.dtype)
        if self.standardize:   # read chunk by chunk from the rows, never copied whole
            values = RowReader(data.values) if is_dask(data.values) else data.values
            self.x_mean_, self.x_scale_ = scaling_statistics(values, data.lengths, weights,
                                                             rows=rows)
        else:
            self.x_mean_ = self.x_scale_ = None
        rows = slice(None) if rows is None else rows
        weights = None if weights is None else weights[rows]
        lengths = data.lengths[rows]
        self._init_targets(targets[rows], lengths, weights)
        self.frame_stride_ = self._resolve_frame_stride(data)
        self.network_ = RecurrentNetwork(
            input_size=framed_n_features(data.n_features, self.frame_stride_),
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            cell=self.cell,
            bidirectional=self.bidirectional,
            output_size=self._network_outputs(),
            dtype=self.dtype,
            random_state=self._seeds_[0],
            # the head reads a summary of each sequence only without return_sequences
            readout="last" if self.return_sequences else self.readout,
        )
        self.chrono_t_max_ = self._resolve_chrono_t_max(lengths)
        self._apply_chrono(self.network_)
        self._architecture_ = self._architecture()
        self._state = None

    def _validation_split(self, y, n_time):
        """Indices ``(train, val)`` of the samples to train on and to validate on.

        ``validation_split="random"``: ``ceil(validation_fraction * n_samples)`` samples drawn
        at random (seeded by `random_state`; stratified for classes) validate, the others
        train.  ``"time"``: the last ``n_val = ceil(validation_fraction * n_samples)`` samples,
        in their given order, validate; the ``n_time - 1`` samples before them are purged
        (used for neither), and the samples before those train.  For windows of ``n_time``
        steps cut in order at stride 1 from one record (window ``i`` holding steps ``i`` to
        ``i + n_time - 1``), the purge is exactly what keeps every training window's steps
        before the first validation window's first step: no time step is in both parts (at a
        stride ``s > 1`` it purges about ``s`` times more than needed).

        Parameters
        ----------
        y : ndarray
            The encoded targets, one row per sample.
        n_time : int
            The sequences' (padded) length in time steps, ``X.shape[1]``.

        Returns
        -------
        train, val : ndarray of int
        """
        n = len(y)
        fraction = self.validation_fraction
        n_val = int(np.ceil(fraction * n))
        if self.validation_split == "time":
            gap = n_time - 1
            if n - n_val - gap < 1:
                raise ValueError(
                    f"validation_split='time': expected more than ceil({fraction} * {n}) + "
                    f"{n_time} - 1 = {n_val + gap} samples (the validation block, the "
                    f"{gap} samples purged before it and at least one training sample); found "
                    f"{n} samples of {n_time} steps. Lower validation_fraction, pass "
                    f"validation_data, or cut more windows.")
            return np.arange(n - n_val - gap), np.arange(n - n_val, n)
        if n < 2 or n_val >= n:
            raise ValueError(
                f"early_stopping: expected enough samples for a validation fraction of "
                f"{fraction} and a training set; found {n} samples."
            )
        return train_test_split(np.arange(n), test_size=fraction, random_state=self._seeds_[2],
                                stratify=self._stratify(y))

    def _stratify(self, y):
        return None

    # ------------------------------------------------------------------ prediction
    def _raw(self, values, lengths=None, initial_state=None, return_state=False):
        """Network outputs (float64) for scaled sequences: (n, out) or (n, T, out); with
        `return_state` also the final state (see :meth:`_check_state_use`).  `values` may be
        a :class:`~seqlstm.data.batches.SequenceBatches` (validation during fit): it goes
        through the network in its minibatches of ``batch_size``."""
        if isinstance(values, (SequenceBatches, ChunkedBatches)):
            with numba_threads(self.n_jobs):
                return np.concatenate([self._raw(values[idx])
                                       for idx in in_batches(len(values), values.batch_size)])
        with numba_threads(self.n_jobs):
            if initial_state is not None or return_state:
                out, state = self.network_.forward(values, lengths, initial_state=initial_state,
                                                   return_state=True)
                out = np.asarray(out, dtype=np.float64)
                return (out, state) if return_state else out
            if self.return_sequences:
                out = self.network_.forward(values, lengths)
            else:
                out = self.network_.forward_last(values, lengths)
        return np.asarray(out, dtype=np.float64)

    def _check_state_use(self, initial_state, return_state):
        """State carried between calls needs a per-step, unidirectional model: then predicting
        a record in consecutive pieces equals predicting it whole."""
        if (initial_state is not None or return_state) and (
                not self.return_sequences or self.bidirectional):
            raise ValueError(
                "initial_state/return_state: expected a model with return_sequences=True and "
                f"bidirectional=False; found return_sequences={self.return_sequences}, "
                f"bidirectional={self.bidirectional}.")

    def _lazy(self, func, X, n_outputs, output_dim, output_names, dtype, model=None,
              stateful=None):
        """Predict lazily on dask-backed input (checks features eagerly).

        ``func(model, data, initial_state, return_state)`` is a module-level function that
        predicts one chunk (see :func:`seqlstm.data.predict_lazily`); ``model`` (default the
        estimator) is the graph's single model key.  Records chunked along time are
        predicted piece by piece with the state carried when the model can carry it
        (``stateful``, default: per-step and unidirectional), else rechunked to whole
        records."""
        names, n_features = _data.lazy_feature_info(X, self.feature_dim)
        check_features(self, n_features, names)
        if stateful is None:
            stateful = bool(self.return_sequences) and not self.bidirectional
        return _data.predict_lazily(
            self if model is None else model, func, X, time_dim=self.time_dim,
            feature_dim=self.feature_dim, per_step=bool(self.return_sequences),
            n_outputs=n_outputs, output_dim=output_dim, output_names=output_names,
            dtype=dtype, stateful=stateful,
        )

    # ------------------------------------------------------------------ files
    def _to_state(self):
        """The fitted estimator as plain values, for :func:`seqlstm.io.save`.

        Returns
        -------
        dict
            ``estimator`` (class name), ``params`` (``get_params(deep=False)``), ``network``
            (the :class:`~seqlstm.network.RecurrentNetwork`), ``seeds``, ``history``
            (:meth:`~seqlstm.training.TrainingState.history`), ``n_features_in``,
            ``feature_names_in`` (or None), ``n_outputs``, ``x_mean`` and ``x_scale`` (or
            None), and the subclass's target entries (see ``_target_state``).

        Raises
        ------
        sklearn.exceptions.NotFittedError
        """
        check_is_fitted(self)
        return {
            "estimator": type(self).__name__,
            "params": self.get_params(deep=False),
            "network": self.network_,
            "seeds": self._seeds_,
            "history": self._state.history(),
            "n_features_in": self.n_features_in_,
            "feature_names_in": getattr(self, "feature_names_in_", None),
            "n_outputs": self.n_outputs_,
            "x_mean": self.x_mean_,
            "x_scale": self.x_scale_,
            "frame_stride": self.frame_stride_,
            "chrono_t_max": self.chrono_t_max_,
            **self._target_state(),
        }

    @classmethod
    def _from_state(cls, state):
        """A fitted estimator from :meth:`_to_state`'s values (as :func:`seqlstm.io.load`
        reads them); it predicts like the saved one and keeps training from its history."""
        est = cls(**state["params"])
        est.network_ = state["network"]
        est.n_features_in_ = int(state["n_features_in"])
        if state["feature_names_in"] is not None:
            est.feature_names_in_ = state["feature_names_in"]
        est.n_outputs_ = int(state["n_outputs"])
        est.dtype_ = np.dtype(est.network_.dtype)
        est._seeds_ = tuple(int(s) for s in state["seeds"])
        est._state = TrainingState.from_history(state["history"])
        est.x_mean_, est.x_scale_ = state["x_mean"], state["x_scale"]
        est.frame_stride_ = int(state.get("frame_stride", 1))  # files before frames: 1
        est.chrono_t_max_ = _fitted_chrono(state.get("chrono_t_max", est.chrono_t_max))
        est._set_target_state(state)
        est._architecture_ = est._architecture()
        return est
