"""LSTMForecaster: forecasting along long records, many series, covariates and static attributes.

The forecaster reads whole records (:mod:`seqlstm.data.records`), scales each variable, lists
the windows a fit draws from and gathers each minibatch by index (:mod:`seqlstm.windowing`): the
record is never cut into ``record × lookback`` copies.  One network reads ``lookback + horizon``
steps and forecasts every horizon step from its per-step head, or (``decoder="direct"``) every lead
at once from its final state; training runs through the same
path as the sequence estimators' (:class:`~seqlstm.estimators._base._Trained`: working copy,
settings, schedule, early stopping, history, into :func:`seqlstm.training.run_epochs`).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from numbers import Integral, Real

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state

from .._threads import numba_threads
from ..data.lazy import is_dask, lazy_records, map_sample_blocks
from ..data.records import (
    check_values,
    future_times,
    infer_season_length,
    select_columns,
    to_records,
)
from ..io import ModelFile
from ..model_selection import AlongTime
from ..network import RecurrentNetwork
from ..network.objective import (
    DEFAULT_QUANTILES,
    QuantileLoss,
    check_quantiles,
    outputs_per_target,
    quantile_outputs,
    resolve_loss,
)
from ..network.outputs import gaussian_moments
from ..training import TrainingState, batched_loss
from ..windowing import (
    WindowSet,
    list_windows,
    padding_starts,
    restore,
    seasonal_targets,
    time_split,
)
from ._base import (
    _SEED_MAX,
    NETWORK_AND_TRAINING_CONSTRAINTS,
    SCHEDULE_AND_STOPPING_CONSTRAINTS,
    _fitted_chrono,
    _Trained,
)

__all__ = ["LSTMForecaster"]

_PREDICT_CHUNK = 512  # windows per forward pass in predict and validation: bounds memory


class LSTMForecaster(_Trained, ModelFile, BaseEstimator):
    """LSTM forecaster of one or many series, with covariates, static attributes and intervals.

    Parameters
    ----------
    lookback : int or "auto", default 32
        Steps of history each forecast reads.  "auto": ``max(8, 2 * season_length_,
        3 * horizon)``, capped by the data at the longest series' observed span (first to
        last observed target) minus `horizon`, at least 1.  The value used is ``lookback_``.
    horizon : int, default 1
        Steps forecast at once (leads ``1 .. horizon``); :meth:`forecast` goes further
        recursively.
    decoder : {"per_step", "direct"}, default "direct"
        How the horizon is forecast.  "per_step": the network reads the lookback, then one
        step per lead (its future covariates, static attributes and a forecast-step flag; the
        targets unknown), and its head gives each lead's forecast from its state at that lead's
        step, so the state must carry a pattern such as a season through the horizon's steps.
        "direct" (multi-output, as NeuralForecast's ``LSTM``): the head reads the network's
        state at the end of the sequence once and gives every lead at once (``horizon *
        n_targets`` outputs, times the loss's outputs per target: Gaussian mean and spread,
        the quantile levels, non-crossing), the readout of :class:`~seqlstm.LSTMRegressor`'s
        ``readout="last"``.  Without future covariates a direct network reads the lookback
        steps alone and forecasts from its state at the issue time; with future covariates it
        reads the horizon steps too (their covariates, static attributes and the flag, as
        "per_step" does) and forecasts from its state after the last lead, so the covariates
        of every lead reach every forecast.  Window normalisation, losses, intervals and
        :meth:`forecast`'s recursion beyond the horizon work alike in both.  The default,
        "direct", was chosen with `window_norm` by rolling-origin validation inside the
        development series' training periods (``benchmarks/FORECAST_DEFAULTS.md``: with
        "seasonal" first on five of six sets against "per_step").  Model files written before
        this parameter existed load as "per_step".
    season_length : int, optional
        The seasonal period in steps (12 for monthly data with a yearly cycle).  None: inferred
        from a datetime time coordinate's step (hourly 24, daily 7, weekly 52, monthly 12,
        quarterly 4, yearly or other 1; see :func:`seqlstm.data.records.infer_season_length`);
        1 for integer time.  Used by ``lookback="auto"``; the value used is
        ``season_length_``.
    target : str, int or list, optional
        The variable(s) to forecast (names; column numbers for NumPy input).  Default: every
        time-varying variable that is not a future covariate.  Other time-varying variables are
        past covariates (known up to the issue time).
    future_covariates : str or list, optional
        Variables known ahead (calendar, forcing forecasts): they enter the forecast steps too,
        and :meth:`forecast` needs their future values.
    nan_inputs : {"skip", "mask"}, default "skip"
        Windows whose inputs have NaN are skipped (counted in ``n_skipped_windows_``), or, with
        "mask", kept with NaN set to the variable's mean (to the window's location with
        `window_norm`) and an indicator feature per variable.
        NaN targets are always left out of the loss; NaN is never turned into a number silently.
    window_norm : {None, "last", "seasonal", "standard", "robust"}, default "seasonal"
        Normalise every window by its own lookback, after the global standardisation (Notes):
        per time-varying input column (targets, past and future covariates), with a location
        and a scale from the lookback steps only, NaN ignored; the horizon's targets (and
        future covariates) with the same location and scale; forecasts (means, standard
        deviations, intervals) are taken back to the user's units.  None: the global
        standardisation only.  "last": the targets relative to their last observed lookback
        value (scale 1; covariates as they are): a model of changes.  "standard": the
        lookback's mean and standard deviation.  "seasonal": as "last", but each lead's
        target relative to the seasonal naive forecast (the lookback value one season before
        that lead), for the targets whose training data have the season
        (``seasonal_targets_``: the lag-`season_length_` autocorrelation of the first
        differences positive and significant at 90% in at least half the series, see
        :func:`seqlstm.windowing.seasonal_targets`); the other targets, and every target when
        ``season_length_`` is 1 or longer than the lookback, as "last" (NumPy input and
        integer time have no season unless `season_length` is given).  A network output of 0
        forecasts seasonal naive.  "robust": its median and ``1.4826 * MAD``
        (the standard deviation where the MAD is 0).  Records that leave the fitted range
        (trends, level shifts) or series of very different scales in one model need one of
        the last three.  Degenerate windows (constant, nothing observed) and the scale floor:
        :mod:`seqlstm.windowing`.  The default, "seasonal", was chosen with `decoder` by
        rolling-origin validation inside the development series' training periods at the
        current training defaults (``benchmarks/FORECAST_DEFAULTS.md``: against "last" it
        cut the validation MASE of the two monthly series by a quarter; on the panel of
        series of very different scales ``scaling="series"``, "robust" and "standard" did
        better, as "last" and "seasonal" do not rescale).
    window_stride : int, default 1
        Use every ``window_stride``-th window start for training (long records).
    start_padding : bool, default True
        Series too short for a whole window (fewer than ``lookback + horizon`` steps from their
        first observed target to the end of the record in fit, fewer than ``lookback`` in
        :meth:`forecast` and :meth:`predict`) are still trained on and forecast: their windows
        start up to ``lookback - 1`` steps before their first observed target (before the
        record, if need be), and those lookback steps are padding, masked: with
        ``nan_inputs="mask"`` they are NaN inputs (zeros and indicators; values observed there
        are kept); with "skip" their inputs are 0 and one more input feature flags them
        (``padding_input_``: only if the fit padded a series).  A
        series is trained on if it has at least ``horizon + 1`` steps from its first observed
        target.  Series with whole windows are not padded.  Only a series without any observed
        target is refused (fit and forecast name it).  False: records shorter than the lookback
        (plus the horizon, to fit) are refused.  Padded forecasts rest on less history: compare
        :meth:`padded_series` before trusting them.
    scaling : {"global", "series"}, default "global"
        How the time-varying variables are standardised before the network.  "global": per
        variable with the statistics of the fit data, all series pooled (``x_mean_``,
        ``x_scale_``; with `early_stopping`, of its training part).  "series": each series by
        its own mean and standard deviation per variable, so series of very different scales
        share one model: in fit over its (training) steps, in :meth:`forecast` over the history
        given (like NeuralForecast's per-series ``local_scaler_type``).  In :meth:`predict` and
        :meth:`score` the statistics are those of the records given, so a forecast there
        depends on the whole record passed (its later steps included), not on its window
        alone: score a held-out period with :meth:`forecast` from its history, or with
        "global".  A spread of zero (or a single value) scales by 1; a variable never observed
        in a series is left unscaled (mean 0, scale 1: it is NaN throughout).
    loss : {"mse", "mae", "gaussian", "quantile"}, default "mse"
        "mse", "mae": a point forecast per lead (squared or absolute error; "mae" forecasts
        the median).  "gaussian": a mean and a standard deviation per lead (Gaussian negative
        log-likelihood); :meth:`predict` then returns both, :meth:`predict_interval` the
        central intervals.  "quantile": the `quantiles` of every lead (pinball loss averaged
        over the levels), non-crossing by construction (the head gives the lowest quantile and
        the softplus of each gap to the next); :meth:`predict` returns them along a
        ``quantile`` dim (a last axis for NumPy).
    quantiles : sequence of float, default (0.1, 0.5, 0.9)
        The levels of ``loss="quantile"``: strictly increasing, in (0, 1); read only with
        that loss.  The point forecast of a quantile model (what :meth:`score` scores and
        :meth:`forecast` feeds back) is the median: the 0.5 quantile, interpolated linearly
        between the two levels around 0.5 when 0.5 is not a level (the nearest level when 0.5
        lies outside them).
    hidden_size : int, default 32
        Hidden units per layer, as in :class:`~seqlstm.LSTMRegressor`.
    num_layers : int, default 1
        Stacked recurrent layers.
    cell : {"lstm", "peephole", "cifg", "gru", "rnn"}, default "lstm"
        The recurrent cell.
    dropout : float, default 0.0
        Dropout on the outputs of every layer but the last, as in
        :class:`~seqlstm.LSTMRegressor`.
    solver : {"adam", "sgd"}, default "adam"
        The optimiser.
    learning_rate : {"constant", "plateau", "cosine"}, default "cosine"
        The schedule, as in :class:`~seqlstm.LSTMRegressor`, through the same training code:
        "cosine" decays to 0 over `max_iter` epochs (no training-loss convergence test,
        ``stop_reason_`` "schedule_end"); "plateau" watches the validation loss when there is
        validation data, else the training loss.
    learning_rate_init : float, default 3e-3
        Base learning rate: :class:`~seqlstm.LSTMRegressor`'s, as the forecaster is a
        regressor (of its "mse" and "gaussian" losses too); the forecasting examples' settings,
        chosen by rolling-origin validation inside the training periods
        (benchmarks/FORECAST.md), trained minibatches at 3e-3 too.
    warmup : int, default 0
        Epochs of linear warm-up of the learning rate.
    plateau_patience : int, default 5
        Epochs without improvement before "plateau" lowers the rate.
    plateau_factor : float, default 0.5
        What "plateau" multiplies the rate by.
    momentum : float, default 0.9
        Momentum of ``solver="sgd"``.
    alpha : float, default 0.0
        L2 penalty on the weights.
    clip_norm : float or None, default 1.0
        Largest norm of a gradient step (None: no clipping).
    batch_size : int or "auto", default "auto"
        Windows per minibatch; "auto" as in :class:`~seqlstm.LSTMRegressor` over the number
        of training windows.
    max_iter : int, default 50
        Most epochs (the length of the "cosine" schedule).  The default, fewer than
        :class:`~seqlstm.LSTMRegressor`'s 200, was chosen by rolling-origin validation inside
        the development series' training periods among 50, 100 and 200 epochs, hidden sizes,
        L2 penalties and base rates (``benchmarks/FORECAST_DEFAULTS.md``, stage 3: first on
        three of six sets, better than 200 on five; the panel of series of very different
        scales did better with 200).
    tol : float, default 1e-4
        Smallest improvement that counts, for the stopping tests.
    shuffle : bool, default True
        Shuffle the training windows at every epoch.
    early_stopping : bool or {"score", "loss"}, default False
        Stop when the validation quantity has not improved by `tol` for more than
        `n_iter_no_change` epochs, and keep the weights of its best epoch: "score" (or True)
        the skill against persistence, ``1 - MSE / MSE(persistence)`` over the validation
        windows' leads and targets; "loss" the validation loss (the training loss's measure).
        The validation windows are those of ``validation_data`` given to :meth:`fit`, else the
        LAST ``validation_fraction`` of each series' windows, held out after a purge
        (time-ordered; the training windows' targets end before the held-out targets begin,
        :func:`~seqlstm.windowing.time_split`); the scaling statistics then come from the
        training part only: each series' steps before its first held-out target.  The
        validation windows are evaluated in chunks of a few hundred, so memory does not grow
        with their number.
    validation_fraction : float, default 0.1
        Share of each series' windows held out for early stopping when no
        ``validation_data`` is given to :meth:`fit`.
    n_iter_no_change : int, default 10
        Epochs without improvement before a stopping test stops the fit.
    random_state : None, int or numpy.random.RandomState, default None
        Seeds the initialisation, the shuffling and dropout.
    verbose : int, default 0
        Show a progress bar over epochs.
    dtype : {"float32", "float64"}, default "float32"
        The network's compute dtype.
    time_dim : str, default "time"
        Name of the time dim of xarray input.
    feature_dim : str, default "feature"
        Name of a DataArray's variable dim.
    n_jobs : int or None, default None
        Threads of the kernels (None: all cores; see :class:`~seqlstm.LSTMRegressor`).
    chrono_t_max : None, int >= 2 or "auto", default None
        Chrono initialisation of the gate biases (LSTM-family cells), as in
        :class:`~seqlstm.LSTMRegressor`; "auto" is the network's steps per window,
        ``lookback + horizon`` (``lookback`` for a direct `decoder` without future
        covariates).

    Attributes
    ----------
    network_ : RecurrentNetwork
    lookback_ : int
        The lookback used (`lookback`, or the "auto" rule's value).
    start_padding_ : bool
        `start_padding` as fitted.
    padding_input_ : bool
        Whether the network reads a padding indicator: a fit with ``nan_inputs="skip"`` that
        padded some series.  A model fitted on long series only has none (its inputs, hence its
        initialisation, are those of a model without padding): it still forecasts a short
        series, its padding steps set to 0 (the scaled mean) without an indicator, a model that
        never saw padding — :meth:`padded_series` tells which forecasts those are.
    time_step_ : float or None
        The step of a regular numeric time coordinate in fit (None for datetime or irregular
        time).  Records given later must have the same step (else ValueError), and a
        forecast from a one-step record is stamped with it.
    season_length_ : int or None
        The seasonal period used (`season_length` or the inferred one; None for a model file
        written before the parameter existed).
    seasonal_targets_ : ndarray of bool or None
        With ``window_norm="seasonal"``, which targets are forecast relative to the seasonal
        naive forecast (decided on the fit data, its training part with `early_stopping`);
        else None.
    variable_names_ : list of str
        The time-varying variables seen in fit.
    static_names_ : list of str
    target_names_, past_covariate_names_, future_covariate_names_ : list of str
    n_windows_ : int
        Training windows (before the validation split).
    n_skipped_windows_ : int
        Windows left out because an input was NaN.
    chrono_t_max_ : int or None
        The chrono ``T_max`` the network was initialised with ("auto" resolved).
    loss_curve_, validation_scores_, validation_loss_curve_, learning_rate_curve_, n_iter_, \
loss_, best_loss_, best_validation_score_, best_validation_loss_, stop_reason_, t_
        The training history, as in :class:`~seqlstm.LSTMRegressor` (``validation_scores_``
        and ``validation_loss_curve_`` with validation windows, else None).

    Notes
    -----
    The network reads ``lookback + horizon`` steps: at lookback steps the targets, past and
    future covariates and static attributes; at horizon steps the future covariates and static
    attributes with a flag; the per-step head at each horizon step gives that lead's forecast
    (layout in :mod:`seqlstm.windowing`).  With ``decoder="direct"`` the head reads the final
    state once and gives every lead (the lookback steps alone are read when there are no future
    covariates).  Inputs are standardised per variable with statistics
    of the fit data (with `early_stopping`, of its training part; NaN ignored).

    The global standardisation comes first, then `window_norm`.  A window's location and
    scale follow any affine change ``a * x + b`` (``a > 0``) of the data, so the normalised
    windows do not depend on the global step: it only conditions the numbers and sets the
    units of the fallbacks (a constant window's scale is the variable's global standard
    deviation, a window with nothing observed is located at its global mean).

    There is no RevIN option ("revin": instance normalisation followed by a learnable
    per-variable affine ``gamma * z + beta``, undone at the output): that affine is absorbed
    exactly by the network.  At the input, ``W (gamma * z + beta) + b = (W diag(gamma)) z +
    (W beta + b)``: the first layer's input weights and bias with other values (where the
    input is a placeholder 0 rather than a normalised value, at the horizon steps and masked
    NaN, the difference ``W beta`` is absorbed by the weights of the horizon flag and of the
    NaN indicators, which are 1 exactly there; dropout never acts on the inputs).  At the
    output, ``(V h + c - beta) / gamma`` is the head's weights and bias with other values.
    The functions the model can represent are the same; only the parameterisation (the
    optimiser's path, the effect of `alpha`) differs.  (RevIN defines no inverse for a
    standard deviation; dividing it by ``gamma`` would rescale the variance link, not add a
    capacity.)
    """

    _parameter_constraints: dict = {
        "lookback": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "decoder": [StrOptions({"per_step", "direct"})],
        "season_length": [None, Interval(Integral, 1, None, closed="left")],
        "target": [None, str, Integral, list, tuple],
        "future_covariates": [None, str, list, tuple],
        "nan_inputs": [StrOptions({"skip", "mask"})],
        "window_norm": [None, StrOptions({"last", "seasonal", "standard", "robust"})],
        "window_stride": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions({"mse", "mae", "gaussian", "quantile"})],
        "quantiles": ["array-like"],
        "start_padding": ["boolean"],
        "scaling": [StrOptions({"global", "series"})],
        **NETWORK_AND_TRAINING_CONSTRAINTS,
        **SCHEDULE_AND_STOPPING_CONSTRAINTS,
    }

    def __init__(self, lookback=32, horizon=1, *, decoder="direct", season_length=None,
                 target=None,
                 future_covariates=None, nan_inputs="skip", window_norm="seasonal",
                 window_stride=1,
                 start_padding=True, scaling="global", loss="mse",
                 quantiles=DEFAULT_QUANTILES, hidden_size=32, num_layers=1, cell="lstm",
                 dropout=0.0, solver="adam", learning_rate="cosine", learning_rate_init=3e-3,
                 warmup=0, plateau_patience=5, plateau_factor=0.5, momentum=0.9, alpha=0.0,
                 clip_norm=1.0,
                 batch_size="auto", max_iter=50, tol=1e-4, shuffle=True, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, random_state=None, verbose=0,
                 dtype="float32", time_dim="time", feature_dim="feature", n_jobs=None,
                 chrono_t_max=None):
        self.lookback = lookback
        self.horizon = horizon
        self.decoder = decoder
        self.season_length = season_length
        self.target = target
        self.future_covariates = future_covariates
        self.nan_inputs = nan_inputs
        self.window_norm = window_norm
        self.window_stride = window_stride
        self.start_padding = start_padding
        self.scaling = scaling
        self.loss = loss
        self.quantiles = quantiles
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.dropout = dropout
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
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.time_dim = time_dim
        self.feature_dim = feature_dim
        self.n_jobs = n_jobs
        self.chrono_t_max = chrono_t_max

    # ------------------------------------------------------------------ data
    def _records(self, data, arg="data"):
        if isinstance(data, AlongTime):   # a fold of a search: its own steps
            data = self._fold_data(data, data.start, data.stop, arg)
        return to_records(data, time_dim=self.time_dim, feature_dim=self.feature_dim, arg=arg)

    def _fold_data(self, fold, first, stop, arg="data"):
        """The user's data of a :class:`~seqlstm.model_selection.AlongTime` fold cut to the
        record's steps ``[first, stop)``, once its time dim is checked to be ours."""
        if isinstance(fold.data, (xr.Dataset, xr.DataArray)) and fold.time_dim != self.time_dim:
            raise ValueError(f"{arg}: expected a record wrapped along the forecaster's time_dim "
                             f"{self.time_dim!r}; found along_time(..., "
                             f"time_dim={fold.time_dim!r}).")
        return fold.cut(first, stop)

    def _columns(self, names):
        """Target, past-covariate and future-covariate columns of `names` from the params."""
        fc = select_columns(names, self.future_covariates, "future_covariates")
        rest = [i for i in range(len(names)) if i not in set(fc.tolist())]
        tc = select_columns(names, self.target, "target", default=rest)
        if len(tc) == 0:
            raise ValueError(f"target: expected at least one variable to forecast; found none "
                             f"(variables {names}, future covariates {self.future_covariates}).")
        clash = sorted(set(tc.tolist()) & set(fc.tolist()))
        if clash:
            raise ValueError(f"target: expected variables that are not future covariates; found "
                             f"{[names[i] for i in clash]} in both.")
        used = set(tc.tolist()) | set(fc.tolist())
        pc = np.asarray([i for i in range(len(names)) if i not in used], dtype=np.int64)
        return tc, pc, fc

    def _check_length(self, n_time, with_horizon, lookback):
        """A record must hold the lookback (and, to fit, the horizon after it)."""
        need, what = ((lookback + self.horizon, "lookback + horizon") if with_horizon
                      else (lookback, "lookback"))
        if need > n_time:
            raise ValueError(
                f"lookback: expected {what} = {need} steps at most the record length; found a "
                f"record of {n_time} steps (lookback={lookback}, horizon={self.horizon}).")

    def _lookback_rule(self, rec, cols):
        """The lookback and season length a fit on `rec` uses (see the class docstring)."""
        season = (infer_season_length(rec.time) if self.season_length is None
                  else int(self.season_length))
        if self.lookback != "auto":
            return int(self.lookback), season
        observed = ~np.isnan(rec.values[:, :, cols[0]]).all(axis=2)       # (series, time)
        seen = observed.any(axis=1)
        first = np.argmax(observed, axis=1)
        last = rec.n_time - 1 - np.argmax(observed[:, ::-1], axis=1)
        span = int((last - first + 1)[seen].max()) if seen.any() else rec.n_time
        rule = max(8, 2 * season, 3 * self.horizon)
        return max(1, min(rule, span - self.horizon)), season

    def _check_fitted_records(self, rec, arg="data", fitted=None):
        """`rec` has the variables seen in fit (or of `fitted`, a fit in progress)."""
        if fitted is None:
            check_is_fitted(self)
        f = self if fitted is None else fitted
        step = _time_step(rec.time) if rec.time_given else None   # NumPy: no time to check
        if (step is not None and f.time_step_ is not None
                and not np.isclose(step, f.time_step_)):
            raise ValueError(
                f"{arg}: expected the time step seen in fit, {f.time_step_:g}; found a "
                f"record with step {step:g} (a model of other steps).")
        if rec.kind == "numpy":      # unnamed: the number of variables must match
            same = len(rec.var_names) == len(f.variable_names_) and not f.static_names_
        else:
            same = (rec.var_names == f.variable_names_
                    and rec.static_names == f.static_names_)
        if not same:
            raise ValueError(
                f"{arg}: expected the variables seen in fit, time-varying "
                f"{f.variable_names_} and static {f.static_names_}; found "
                f"{rec.var_names} and {rec.static_names}.")

    def _series_statistics(self, rec, values=None):
        """Mean and scale ``(n_series, n_vars)`` each series of `rec` is standardised with:
        the fitted global statistics, or (``scaling="series"``) each series' own over
        `values` (default ``rec.values``)."""
        S = rec.n_series
        if self.scaling == "global":
            return (np.broadcast_to(self.x_mean_, (S, self.x_mean_.size)),
                    np.broadcast_to(self.x_scale_, (S, self.x_scale_.size)))
        return _per_series_statistics(rec.values if values is None else values)

    def _scaled(self, rec, fitted=None, stats=None):
        """The records and static attributes scaled with the fitted (or `fitted`) statistics,
        or with per-series `stats` ``(mean, scale)``, in the compute dtype."""
        f = self if fitted is None else fitted
        if stats is None:
            stats = (f.x_mean_[None], f.x_scale_[None])
        mean, scale = stats
        data = np.ascontiguousarray((rec.values - mean[:, None, :]) / scale[:, None, :],
                                    dtype=f.dtype_)
        static = np.ascontiguousarray((rec.static - f.static_mean_) / f.static_scale_,
                                      dtype=f.dtype_)
        return data, static

    def _window_set(self, data, static, series, starts, cols=None, lookback=None,
                    pad_before=None, padding_input=None, fitted=None):
        """Windows of scaled records; `padding_input`: whether the network reads a padding
        indicator (default: the fitted ``padding_input_``); `fitted`: the fit in progress
        whose ``season_length_`` and ``seasonal_targets_`` to use (default: this model's)."""
        f = self if fitted is None else fitted
        padding_input = self.padding_input_ if padding_input is None else padding_input
        mask = self.nan_inputs == "mask"
        # cols given: a fit (today's NaN rule); else the fitted model's (an older file's rule)
        legacy = cols is None and getattr(self, "_legacy_nan", False)
        cols = self._cols if cols is None else cols
        direct = self.decoder == "direct"
        return WindowSet(data, static, series, starts,
                         self.lookback_ if lookback is None else lookback, self.horizon,
                         cols, mask, self.window_norm,
                         season=f.season_length_ or 1, seasonal=f.seasonal_targets_,
                         legacy_nan=legacy,
                         pad_before=pad_before, pad_flag=padding_input, pad_zero=not mask,
                         # a direct network reads the horizon steps only for future covariates
                         direct=direct, read_horizon=not direct or len(cols[2]) > 0)

    def padded_series(self, data):
        """Which series' forecasts from the end of `data` rest on start padding.

        Parameters
        ----------
        data : ndarray, DataArray or Dataset
            Records as given to :meth:`forecast`.

        Returns
        -------
        ndarray of bool, shape (n_series,)
            True for a series with fewer than ``lookback_`` steps from its first observed
            target to the end of the record (its :meth:`forecast` reads padding).
        """
        rec = self._records(data)
        self._check_fitted_records(rec)
        return padding_starts(rec.values, self._cols[0], self.lookback_) >= 0

    def _loss_spec(self):
        """The training loss as the network takes it (:class:`QuantileLoss` for quantiles)."""
        return QuantileLoss(self.quantiles) if self.loss == "quantile" else self.loss

    # ------------------------------------------------------------------ fit
    def fit(self, data, y=None, *, validation_data=None):
        """Fit on the records in `data`.

        Parameters
        ----------
        data : ndarray, xarray.DataArray or xarray.Dataset
            See :mod:`seqlstm.data.records` for the accepted layouts.
        y : None
            Unused: the targets are variables of `data` (``target``).
        validation_data : ndarray, xarray.DataArray or xarray.Dataset, optional
            Records to validate on instead of holding out windows of `data`: a later period of
            the same series or other series, given like `data` with its variables.  Every
            window of theirs (without NaN inputs, unless ``nan_inputs="mask"``) validates; they
            are scaled with the statistics of `data`.  With `early_stopping` they decide when
            to stop and which weights to keep; without, the validation score and loss are only
            recorded (``validation_scores_``, ``validation_loss_curve_``).

        Returns
        -------
        self
            On failure the estimator keeps its previous fitted state (if any).
        """
        return self._fit(data, y, validation_data=validation_data)

    def _fit_in_place(self, data, y=None, *, incremental=False, validation_data=None):
        """The fit itself, run by :meth:`_fit` on its working copy (``incremental`` is
        always False: the forecaster has no ``partial_fit``)."""
        self._validate_params()
        self._check_chrono()
        check_quantiles(self.quantiles)
        loss = self._loss_spec()
        if y is not None:
            raise ValueError("y: expected None (the forecaster takes its targets from data, "
                             f"see target=...); found {type(y).__name__}.")
        rec = self._records(data)
        fitted = _Fitted()
        fitted.variable_names_, fitted.static_names_ = rec.var_names, rec.static_names
        fitted._cols = self._columns(rec.var_names)
        fitted.lookback_, fitted.season_length_ = self._lookback_rule(rec, fitted._cols)
        L = fitted.lookback_
        first = None
        fitted.start_padding_ = bool(self.start_padding)
        fitted.padding_input_ = False
        if self.start_padding:
            first = _padding_starts(rec, fitted._cols[0], L + self.horizon)
            # a padding indicator input when this fit pads (masked NaN inputs need none)
            fitted.padding_input_ = bool((first >= 0).any()) and self.nan_inputs != "mask"
        else:
            self._check_length(rec.n_time, with_horizon=True, lookback=L)
        mask = self.nan_inputs == "mask"
        # the windows depend only on where the record has NaN: listed before any scaling
        series, starts, skipped = list_windows(np.ascontiguousarray(rec.values),
                                               np.ascontiguousarray(rec.static), L,
                                               self.horizon, fitted._cols, mask, first)
        keep = starts % self.window_stride == 0
        series, starts = series[keep], starts[keep]
        if series.size == 0:
            raise ValueError(
                f"data: expected at least one window of lookback + horizon = "
                f"{L + self.horizon} steps without NaN inputs; found none "
                f"({int(skipped.sum())} windows skipped for NaN). Shorten lookback or use "
                f"nan_inputs='mask'.")
        fitted.n_windows_ = int(series.size)
        fitted.n_skipped_windows_ = int(skipped.sum())
        values = rec.values
        monitor = self._monitor()
        if monitor is not None and validation_data is None:
            train, val = time_split(series, starts, self.validation_fraction, self.horizon)
            if train.size == 0 or val.size == 0:
                raise ValueError(
                    f"early_stopping: expected enough windows for a training part and a "
                    f"validation fraction of {self.validation_fraction}; found "
                    f"{series.size} windows.")
            # the scaling statistics come from each series' steps before its first held-out
            # target (the held-out windows' lookbacks are training targets too)
            end = np.full(rec.n_series, rec.n_time)
            held, first_held = np.unique(series[val], return_index=True)
            end[held] = starts[val][first_held] + L
            values = np.where((np.arange(rec.n_time) < end[:, None])[..., None], values, np.nan)
        fitted.x_mean_, fitted.x_scale_ = _statistics(values.reshape(-1, len(rec.var_names)),
                                                      rec.var_names, "data")
        fitted.seasonal_targets_ = (seasonal_targets(values, fitted._cols[0],
                                                     fitted.season_length_)
                                    if self.window_norm == "seasonal" else None)
        fitted.static_mean_, fitted.static_scale_ = _statistics(rec.static, rec.static_names,
                                                                "data")
        fitted.dtype_ = np.dtype(self.dtype)
        fitted.time_step_ = _time_step(rec.time) if rec.time_given else None
        fit_stats = None
        if self.scaling == "series":
            fit_stats = _per_series_statistics(values)
        data_s, static_s = self._scaled(rec, fitted, fit_stats)
        rs = check_random_state(self.random_state)
        fitted._seeds_ = tuple(int(s) for s in rs.randint(0, _SEED_MAX, size=3))
        nt, npc, nf = (len(c) for c in fitted._cols)
        net = RecurrentNetwork(
            input_size=WindowSet.n_inputs(nt, npc, nf, len(rec.static_names), mask,
                                          fitted.padding_input_),
            hidden_size=self.hidden_size, num_layers=self.num_layers, cell=self.cell,
            # direct: every lead's outputs from one state, lead-major (WindowSet's targets)
            output_size=(self.horizon if self.decoder == "direct" else 1) * nt
            * outputs_per_target(loss), dtype=self.dtype,
            random_state=fitted._seeds_[0])
        val_set = None
        if validation_data is not None:
            val_set = self._validation_windows(validation_data, fitted)
        elif monitor is not None:
            val_set = self._window_set(data_s, static_s, series[val], starts[val],
                                       fitted._cols, L, first, fitted.padding_input_, fitted)
            series, starts = series[train], starts[train]

        windows = self._window_set(data_s, static_s, series, starts, fitted._cols, L, first,
                                   fitted.padding_input_, fitted)
        fitted.network_ = net
        fitted.chrono_t_max_ = self._chrono_steps(windows.steps)
        fitted._state = None              # no warm start: a new training state
        fitted._legacy_nan = False
        self.__dict__.update(vars(fitted))  # (on the working copy of _fit)
        self._apply_chrono(net)
        validation = (None if val_set is None
                      else partial(_validation_functions, net, val_set, loss, nt))
        self._train(windows.inputs, windows.targets,
                    self._settings(loss, len(windows), monitor=monitor),
                    validation=validation)
        return self

    def _validation_windows(self, validation_data, fitted):
        """The windows of `validation_data`, scaled with the statistics of the fit in
        progress `fitted` (with ``scaling="series"``, each series by its own, as
        :meth:`predict` scales)."""
        rec = self._records(validation_data, arg="validation_data")
        self._check_fitted_records(rec, arg="validation_data", fitted=fitted)
        L = fitted.lookback_
        try:
            self._check_length(rec.n_time, with_horizon=True, lookback=L)
        except ValueError as exc:
            raise ValueError(f"validation_data: {exc}") from None
        stats = _per_series_statistics(rec.values) if self.scaling == "series" else None
        data_s, static_s = self._scaled(rec, fitted, stats)
        series, starts, skipped = list_windows(data_s, static_s, L, self.horizon,
                                               fitted._cols, self.nan_inputs == "mask")
        if series.size == 0:
            raise ValueError(
                f"validation_data: expected at least one window of lookback + horizon = "
                f"{L + self.horizon} steps without NaN inputs; found none "
                f"({int(skipped.sum())} windows skipped for NaN).")
        return self._window_set(data_s, static_s, series, starts, fitted._cols, L,
                                padding_input=fitted.padding_input_, fitted=fitted)

    # ------------------------------------------------------------------ prediction
    def _value_shape(self):
        """The trailing shape of one forecast value: ``(n_targets,)``, and
        ``(n_targets, n_levels)`` for quantiles."""
        nt = len(self._cols[0])
        return (nt, len(self.quantiles)) if self.loss == "quantile" else (nt,)

    def _forecast_windows(self, windows, stats):
        """Forecasts of every window's horizon, in the data's units (`stats`: the series'
        ``(mean, scale)``, as :meth:`_series_statistics` gives them).

        Returns
        -------
        center : ndarray, shape (n_windows, horizon, n_targets[, n_levels])
            Point forecasts, Gaussian means, or quantiles (last axis).
        std : ndarray or None
            Gaussian standard deviations; None for the other losses.
        """
        nt = len(self._cols[0])
        tc = self._cols[0]
        n = len(windows)
        center = np.empty((n, self.horizon) + self._value_shape())
        std = np.empty((n, self.horizon, nt)) if self.loss == "gaussian" else None
        with numba_threads(self.n_jobs):
            for b0 in range(0, n, _PREDICT_CHUNK):
                idx = np.arange(b0, min(b0 + _PREDICT_CHUNK, n))
                c, s = _horizon_outputs(self.network_, windows, idx, self._loss_spec(), nt)
                s_idx = windows.series[idx]           # the global standardisation undone
                scale = stats[1][s_idx][:, tc]
                center[idx] = restore(c, stats[0][s_idx][:, tc], scale)
                if std is not None:
                    std[idx] = restore(s, None, scale)
        return center, std

    def _point(self, center):
        """Point forecasts from :meth:`_forecast_windows`' ``center`` (the median of
        quantiles, see `quantiles`)."""
        return _point(center, self._loss_spec())

    def _issued(self, rec):
        """Forecasts issued at every time of `rec` with a full lookback.

        Returns
        -------
        center : ndarray, shape (n_series, n_issue, horizon, n_targets[, n_levels])
            As :meth:`_forecast_windows`'; NaN where the window's inputs have NaN.
        std : ndarray or None
        """
        self._check_fitted_records(rec)
        self._check_length(rec.n_time, with_horizon=False, lookback=self.lookback_)
        stats = self._series_statistics(rec)
        data, static = self._scaled(rec, stats=stats)
        L, Hz = self.lookback_, self.horizon
        n_issue = rec.n_time - L + 1
        first = (padding_starts(rec.values, self._cols[0], L) if self.start_padding_
                 else None)
        if self.nan_inputs == "mask":
            series, starts, _ = list_windows(data, static, L, 0, self._cols, True, first)
        else:
            reach = Hz if len(self._cols[2]) else 0   # future covariates over the horizon
            series, starts, _ = list_windows(data, static, L, reach, self._cols, False, first)
        issued = starts >= 0                          # issue times with a lookback in the record
        series, starts = series[issued], starts[issued]
        windows = self._window_set(data, static, series, starts, pad_before=first)
        m, s = self._forecast_windows(windows, stats)
        center = np.full((rec.n_series, n_issue, Hz) + self._value_shape(), np.nan)
        center[series, starts] = m
        std = None
        if s is not None:
            std = np.full((rec.n_series, n_issue, Hz, len(self._cols[0])), np.nan)
            std[series, starts] = s
        return center, std

    def predict(self, data):
        """Forecast leads ``1 .. horizon`` from every issue time with a full lookback.

        Parameters
        ----------
        data : ndarray, DataArray or Dataset
            Records with the variables seen in fit.  Dask-backed (xarray) input gives a lazy,
            dask-backed result, computed chunk by chunk of series when asked for (on the
            current ``dask.distributed`` client, else dask's default scheduler): the model is
            one key of the task graph, each chunk along the sample dims is predicted
            independently (its forecasts are those of that chunk predicted in memory, bit for
            bit), and on a worker a task runs its kernels on one thread.  Chunks along time
            are merged: a task holds its series' whole records (the windows, and per-series
            scaling, read all of them), so chunk along the sample dims to bound a task's
            memory.  Values are checked when their chunk is computed.  A bare dask array (no
            labels) is loaded into memory (by :meth:`forecast` too).

        Returns
        -------
        DataArray, Dataset, ndarray or tuple
            With xarray input, a DataArray ``(*sample_dims, time, lead[, variable])`` named after
            the target, with the issue times as ``time``, ``lead`` = 1 .. horizon and a
            ``valid_time`` coordinate ``(time, lead)``; with ``loss="gaussian"`` a Dataset of
            ``mean`` and ``std``; with ``loss="quantile"`` a last dim ``quantile`` (coordinate:
            the levels).  NumPy input: an array ``([series,] issue, lead[, target])`` (the
            series axis for 3-D input, the target axis unless the input was 1-D), for
            "gaussian" the tuple ``(mean, std)``, for "quantile" one more last axis, the
            levels in the order of `quantiles`.  Forecasts whose window has NaN inputs are
            NaN.
        """
        if isinstance(data, (xr.DataArray, xr.Dataset)) and is_dask(data):
            return self._predict_lazily(data)
        rec = self._records(data)
        mean, std = self._issued(rec)
        return self._wrap(rec, mean, std, lead=True)

    def _predict_lazily(self, data):
        """:meth:`predict` of dask-backed records: :func:`_issued_block` on each chunk of
        series, labelled as in memory."""
        check_is_fitted(self)
        template, values, static = lazy_records(data, time_dim=self.time_dim,
                                                feature_dim=self.feature_dim)
        self._check_fitted_records(template)
        self._check_length(template.n_time, with_horizon=False, lookback=self.lookback_)
        issue = (template.n_time - self.lookback_ + 1, self.horizon)
        outputs = [issue + self._value_shape()]
        if self.loss == "gaussian":
            outputs.append(issue + (len(self._cols[0]),))
        job = _LazyForecast(self, dataclasses.replace(template, sample_shape=(),
                                                      sample_coords={}, attrs={}))
        out = map_sample_blocks(job, _issued_block,
                                [values] + ([] if static is None else [static]),
                                n_sample_dims=len(template.sample_dims), outputs=outputs,
                                name="seqlstm-forecast")
        return self._wrap(template, out[0], out[1] if len(out) > 1 else None, lead=True,
                          shaped=True)

    def predict_interval(self, data, coverage=0.8):
        """Central forecast intervals of a Gaussian or a quantile forecaster.

        Parameters
        ----------
        data : ndarray, DataArray or Dataset
            Records with the variables seen in fit.
        coverage : float, default 0.8
            Probability inside each interval, in (0, 1).  A quantile forecaster needs the
            levels ``(1 - coverage) / 2`` and ``(1 + coverage) / 2`` among its `quantiles`.

        Returns
        -------
        lower, upper
            Like :meth:`predict`'s mean (Gaussian: ``mean -/+ z std``; quantiles: the two
            quantiles, without the ``quantile`` dim).
        """
        check_is_fitted(self)
        self._check_interval(coverage)
        return self._interval(self.predict(data), coverage)

    def _check_interval(self, coverage):
        """ValueError unless intervals of `coverage` can be read from this model's forecasts;
        the indices of the bounds' levels for quantiles."""
        if self.loss not in ("gaussian", "quantile"):
            raise ValueError("predict_interval: expected a forecaster fitted with "
                             f"loss='gaussian' or 'quantile'; found loss={self.loss!r}.")
        if isinstance(coverage, bool) or not (isinstance(coverage, Real) and 0 < coverage < 1):
            raise ValueError(f"coverage: expected a number in (0, 1); found {coverage!r}.")
        if self.loss == "gaussian":
            return None
        levels = np.asarray(self.quantiles, dtype=np.float64)
        bounds = (0.5 - 0.5 * coverage, 0.5 + 0.5 * coverage)
        idx = [np.flatnonzero(np.isclose(levels, b, rtol=0.0, atol=1e-9)) for b in bounds]
        if not all(i.size for i in idx):
            raise ValueError(
                f"coverage: expected a coverage whose bounds are among the quantiles "
                f"{tuple(self.quantiles)}; found {coverage!r}, which needs the levels "
                f"{bounds[0]:.6g} and {bounds[1]:.6g}.")
        return int(idx[0][0]), int(idx[1][0])

    def _interval(self, out, coverage):
        """Intervals of `coverage` from :meth:`predict`-like output `out` (a Gaussian's
        ``(mean, std)`` or Dataset; quantiles along the last axis / ``quantile`` dim)."""
        from ..metrics import gaussian_interval

        idx = self._check_interval(coverage)
        if idx is None:
            mean, std = (out["mean"], out["std"]) if isinstance(out, xr.Dataset) else out
            return gaussian_interval(mean, std, coverage)
        if isinstance(out, xr.DataArray):
            return tuple(out.isel(quantile=i, drop=True) for i in idx)
        return tuple(out[..., i] for i in idx)

    def forecast(self, data, steps, future_covariates=None):
        """Forecast `steps` steps past the end of every record, recursively past `horizon`.

        Blocks of `horizon` steps are forecast one after the other, each block's point
        forecast (the mean; the median of a quantile model, see `quantiles`) fed back as the
        targets' past for the next.

        Parameters
        ----------
        data : ndarray, DataArray or Dataset
            Records with the variables seen in fit; the forecasts start after their last step.
            Dask-backed (xarray) input gives a lazy, dask-backed result, as :meth:`predict`
            does: computed chunk by chunk of series when asked for (on the current
            ``dask.distributed`` client, else dask's default scheduler), the model one key of
            the task graph, each chunk along the sample dims forecast independently (its
            forecasts are those of that chunk forecast in memory, bit for bit; chunks along
            time are merged), one Numba thread per task on a worker.  Labels (variables,
            record length, `steps`, the future covariates' names and shape) are checked now;
            values when their chunk is computed, and an error then names the series by its
            label or position in the whole input.  A bare dask array (no labels) is loaded
            into memory.
        steps : int
            Steps to forecast (>= 1).  Beyond `horizon` the model needs no past covariates.
        future_covariates : ndarray, DataArray or Dataset, optional
            Values of the future covariates for the `steps` forecast steps (required when the
            model has future covariates): NumPy ``([series,] steps, n_future)`` or labeled
            data with the same names and sample dims as `data`, matched to the series by
            position (one series' values serve every series).  With dask-backed `data` they
            may be dask-backed too; each chunk of series reads its own series' values.

        Returns
        -------
        DataArray, Dataset, ndarray or tuple
            Like :meth:`predict` without the ``lead`` dim; ``time`` is extended with the
            record's own frequency (NaN/NaT when it cannot be told).  With "gaussian", the std
            of a later block is conditional on the earlier blocks' means; with "quantile", the
            quantiles of a later block are conditional on the earlier blocks' medians.
        """
        check_is_fitted(self)
        if isinstance(data, (xr.DataArray, xr.Dataset)) and is_dask(data):
            return self._forecast_lazily(data, steps, future_covariates)
        rec = self._records(data)
        center, std = self._recursive(rec, steps, future_covariates)
        return self._wrap(rec, center, std, lead=False)

    def _forecast_lazily(self, data, steps, future_covariates):
        """:meth:`forecast` of dask-backed records: :func:`_recursive_block` on each chunk of
        series (told the chunk's places in the whole input, for its messages), labelled as
        in memory."""
        import dask.array as da

        template, values, static = lazy_records(data, time_dim=self.time_dim,
                                                feature_dim=self.feature_dim)
        steps = self._check_recursion(template, steps, future_covariates)
        arrays = [values] + ([] if static is None else [static])
        labelled = False
        if len(self._cols[2]):
            n = int(np.prod(template.sample_shape))
            future = da.asarray(self._future_raw(future_covariates, n, steps, lazy=True))
            future = da.broadcast_to(future, (n,) + future.shape[1:])
            arrays.append(future.reshape(template.sample_shape + future.shape[1:]))
            labelled = isinstance(future_covariates, (xr.DataArray, xr.Dataset))
        outputs = [(steps,) + self._value_shape()]
        if self.loss == "gaussian":
            outputs.append((steps, len(self._cols[0])))
        job = _LazyForecast(self, template, steps=steps, check_future=labelled)
        out = map_sample_blocks(job, _recursive_block, arrays,
                                n_sample_dims=len(template.sample_dims), outputs=outputs,
                                name="seqlstm-recursive", with_ids=True)
        return self._wrap(template, out[0], out[1] if len(out) > 1 else None, lead=False,
                          shaped=True)

    def _check_recursion(self, rec, steps, future_covariates):
        """The checks of :meth:`forecast` that read labels only (`rec` may hold no series):
        `steps` (returned as an int), the variables, the record's length and the past and
        future covariates' needs."""
        if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 1:
            raise ValueError(f"steps: expected an integer >= 1; found {steps!r}.")
        steps = int(steps)
        self._check_fitted_records(rec)
        if not self.start_padding_:
            self._check_length(rec.n_time, with_horizon=False, lookback=self.lookback_)
        tc, pc, fc = self._cols
        if len(pc) and steps > self.horizon:
            raise ValueError(
                f"steps: expected at most horizon = {self.horizon} steps for a model with past "
                f"covariates {[self.variable_names_[i] for i in pc]} (their future is unknown); "
                f"found {steps}.")
        if not len(fc) and future_covariates is not None:
            raise ValueError("future_covariates: expected None for a model without future "
                             "covariates; found values.")
        return steps

    def _recursive(self, rec, steps, future_covariates, labels=None):
        """:meth:`forecast`'s values before labelling: ``(center, std)`` as
        :meth:`_forecast_windows` gives them, ``(n_series, steps, ...)``.  `labels`: how
        messages name series ``idx`` of `rec` (default :func:`_series_labels` of `rec`; a
        chunk of a lazy forecast names them in the whole input)."""
        check_is_fitted(self)
        steps = self._check_recursion(rec, steps, future_covariates)
        labels = partial(_series_labels, rec) if labels is None else labels
        first = None
        if self.start_padding_:
            first = _padding_starts(rec, self._cols[0], self.lookback_, labels)
        tc, pc, fc = self._cols
        stats = self._series_statistics(rec)
        data, static = self._scaled(rec, stats=stats)
        S, T, L, Hz = rec.n_series, rec.n_time, self.lookback_, self.horizon
        # room for whole blocks; the future covariates after the last step asked for are never
        # read by a forecast that is returned (the network is causal), so they are 0 (the mean)
        padded = -(-steps // Hz) * Hz
        ext = np.full((S, T + padded, data.shape[2]), np.nan, self.dtype_)
        ext[:, :T] = data
        if len(fc):
            ext[:, T:, fc] = 0
            ext[:, T:T + steps, fc] = self._future_values(future_covariates, rec, steps, stats)
        inputs = np.concatenate([tc, pc, fc])
        lookback = np.arange(max(T - L, 0), T)
        read = lookback[None, :] >= (0 if first is None else first[:, None])   # not padding
        gaps = (np.isnan(ext[:, lookback][..., inputs]).any(axis=2) & read).any(axis=1)
        if self.nan_inputs == "skip" and gaps.any():
            raise ValueError(
                f"data: expected the last lookback = {L} steps of every series without NaN "
                f"inputs (nan_inputs='skip'); found NaN in series "
                f"{labels(np.flatnonzero(gaps)[:10])}.")
        series = np.arange(S, dtype=np.int64)
        center = np.empty((S, steps) + self._value_shape())
        std = np.empty((S, steps, len(tc))) if self.loss == "gaussian" else None
        for b in range(0, steps, Hz):
            n = min(Hz, steps - b)
            windows = self._window_set(ext, static, series, np.full(S, T + b - L, np.int64),
                                       pad_before=first)
            m, s = self._forecast_windows(windows, stats)
            center[:, b:b + n] = m[:, :n]
            if std is not None:
                std[:, b:b + n] = s[:, :n]
            point = self._point(m[:, :n])
            ext[:, T + b:T + b + n, tc] = ((point - stats[0][:, None, tc])
                                           / stats[1][:, None, tc])
        return center, std

    def _future_values(self, values, rec, steps, stats):
        """Scaled future covariates ``(n_series, steps, n_future)`` from the user's values
        (`stats`: the series' ``(mean, scale)``)."""
        fc = self._cols[2]
        arr = np.asarray(self._future_raw(values, rec.n_series, steps))[:, :steps]
        if np.isnan(arr).any() and self.nan_inputs == "skip":
            raise ValueError("future_covariates: expected no NaN (nan_inputs='skip'); found NaN.")
        arr = np.broadcast_to(arr, (rec.n_series, steps, len(fc)))
        return (arr - stats[0][:, None, fc]) / stats[1][:, None, fc]

    def _future_raw(self, values, n_series, steps, lazy=False):
        """The user's future covariates ``(1 or n_series, >= steps, n_future)`` in the data's
        units, their names and shape checked; with `lazy`, dask-backed labelled values give a
        dask array, their values neither read nor checked (else they are loaded and checked
        as :func:`~seqlstm.data.records.to_records` checks them)."""
        fc = self._cols[2]
        names = [self.variable_names_[i] for i in fc]
        if values is None:
            raise ValueError(f"future_covariates: expected values of {names} for the {steps} "
                             "forecast steps; found None.")
        if isinstance(values, (xr.Dataset, xr.DataArray)):
            if lazy and is_dask(values):
                fut, arr, _ = lazy_records(values, time_dim=self.time_dim,
                                           feature_dim=self.feature_dim,
                                           arg="future_covariates")
                arr = arr.reshape((-1,) + arr.shape[-2:])
            else:
                fut = self._records(values, arg="future_covariates")
                arr = fut.values
            try:
                cols = select_columns(fut.var_names, names, "future_covariates")
            except ValueError:
                raise ValueError(f"future_covariates: expected the variables {names}; found "
                                 f"{fut.var_names}.") from None
            arr = arr[:, :, cols]
        else:
            arr = np.asarray(values, dtype=np.float64)
            if arr.ndim == 1 and len(fc) == 1:
                arr = arr[:, None]
            if arr.ndim == 2:
                arr = arr[None]
        if arr.ndim != 3 or arr.shape[0] not in (1, n_series) or arr.shape[2] != len(fc):
            raise ValueError(
                f"future_covariates: expected values of shape ({n_series}, >= {steps}, "
                f"{len(fc)}) (series, step, covariate); found {tuple(arr.shape)}.")
        if arr.shape[1] < steps:
            raise ValueError(f"future_covariates: expected values for the {steps} forecast steps; "
                             f"found {arr.shape[1]}.")
        return arr

    def score(self, data, y=None):
        """Skill against persistence, ``1 - MSE(forecast) / MSE(persistence)``, over every
        issued forecast, lead and target with an observation (higher is better; 0 is
        persistence).

        Parameters
        ----------
        data : ndarray, DataArray, Dataset or AlongTime
            A fold of :func:`seqlstm.model_selection.along_time` (a test fold of a search)
            scores exactly the forecasts whose valid time lies in the fold, every lead, with
            the ``lookback + horizon - 1`` steps before it read as inputs, never scored (or,
            for ``along_time(..., issue="origin")``, the forecasts issued at the step before
            the fold for each of its steps).
        y : None
            Unused.

        Returns
        -------
        float
            For a quantile model, of the median (see `quantiles`).
        """
        return self._skill(data)

    def _skill(self, data, model=None):
        """:meth:`score` of the forecasts of `model` (default this forecaster; a
        :class:`~seqlstm.SeedEnsemble` of forecasters scores its combined forecasts)."""
        from ..metrics import skill

        truth, mean, last = self._scored(data, model)
        return float(skill(truth, mean, last))

    def _score_arrays(self, X, y=None, model=None):
        """The observations and forecasts :meth:`score` scores, for seqlstm's scorers
        (:func:`seqlstm.metrics.get_scorer`): ``(forecast, lead, target)`` arrays, a row per
        (series, issue time), NaN where nothing is scored, and ``per_step=True`` (the leads
        pooled like time steps); `model` as in :meth:`_scored`."""
        if y is not None:
            raise ValueError("y: expected None (the forecaster takes its targets from data, "
                             f"see target=...); found {type(y).__name__}.")
        truth, mean, _ = self._scored(X, model)
        shape = (-1,) + truth.shape[2:]
        return truth.reshape(shape), mean.reshape(shape), True

    def _scored(self, data, model=None):
        """Observations, point forecasts and persistence of every forecast scored on `data`.

        `model` (default this forecaster) gives the forecasts: anything with ``_centers(rec)``
        (:meth:`_issued`'s centers) and ``forecast``, e.g. a :class:`~seqlstm.SeedEnsemble` of
        forecasters with this one as its first member.

        On a record: every issued forecast.  On an :class:`AlongTime` fold: the record is cut
        to the ``lookback + horizon - 1`` steps before the fold (fewer at the record's start)
        and the fold's steps; observations whose valid time is before the fold are set to NaN,
        so only the forecasts valid in the fold count (however long the lookback).  On a fold
        with ``issue="origin"``: see :meth:`_scored_from_origin`.

        Returns
        -------
        truth, mean, last : ndarray, shape (n_series, n_issue, horizon, n_targets)
            NaN where a forecast is not scored (no observation, not issued, outside the fold).
        """
        first = 0   # the position of the first scored valid time in the record read
        if isinstance(data, AlongTime):
            check_is_fitted(self)
            if data.issue == "origin":
                return self._scored_from_origin(data, model)
            lo = max(0, data.start - (self.lookback_ + self.horizon - 1))
            first = data.start - lo
            data = self._fold_data(data, lo, data.stop)
        rec = self._records(data)
        mean = self._point((self if model is None else model)._centers(rec))
        truth, last = _observed(rec.values[:, :, self._cols[0]], self.lookback_, self.horizon)
        if first:
            valid = (np.arange(self.lookback_ - 1, rec.n_time)[:, None]
                     + np.arange(1, self.horizon + 1)[None, :])
            truth = np.where((valid >= first)[None, :, :, None], truth, np.nan)
        return truth, mean, np.broadcast_to(last, truth.shape)

    def _centers(self, rec):
        """:meth:`_issued`'s centers (what :meth:`_scored` scores through :meth:`_point`)."""
        return self._issued(rec)[0]

    def _scored_from_origin(self, fold, model=None):
        """Observations, forecasts and persistence of the forecasts issued at a fold's origin
        (the step before it) for each of its steps: :meth:`forecast` from the ``lookback``
        steps before the fold, with the fold's own future covariates.

        Returns
        -------
        truth, mean, last : ndarray, shape (n_series, 1, n_steps, n_targets)
        """
        L = self.lookback_
        if fold.start < L:
            raise ValueError(
                f"data: expected lookback = {L} steps before a fold scored from its origin "
                f"(issue='origin'); found a fold starting at step {fold.start}.")
        tc, _, fc = self._cols
        past = self._fold_data(fold, fold.start - L, fold.start)
        ahead = self._records(self._fold_data(fold, fold.start, fold.stop))
        out = (self if model is None else model).forecast(
            past, len(fold), future_covariates=ahead.values[:, :, fc] if len(fc) else None)
        out = out[0] if isinstance(out, tuple) else out
        out = out["mean"] if isinstance(out, xr.Dataset) else out
        shape = (ahead.n_series, 1, len(fold), len(tc))
        # quantile models: the levels are the last axis / dim; their point forecast is scored
        mean = self._point(np.asarray(out, dtype=np.float64)).reshape(shape)
        truth = ahead.values[:, None][..., tc]
        last = self._records(past).values[:, None, -1:][..., tc]
        return truth, mean, np.broadcast_to(last, shape)

    def score_series(self, data):
        """:meth:`score` of each series: its skill against persistence over its issued
        forecasts, leads and targets with an observation.

        Parameters
        ----------
        data : ndarray, DataArray or Dataset
            Records with the variables seen in fit; each series is scored on the forecasts
            issued on it (as :meth:`score` scores them all).

        Returns
        -------
        ndarray or DataArray
            NumPy input: ``(n_series,)``.  Labeled input: a DataArray named "skill" over the
            sample dims, with their coordinates (the series' labels).  NaN for a series without
            a scored point or whose persistence is perfect.
        """
        from ..metrics import skill

        rec = self._records(data)
        mean = self._point(self._issued(rec)[0])       # a quantile model's median
        truth, last = _observed(rec.values[:, :, self._cols[0]], self.lookback_, self.horizon)
        per = np.asarray(skill(truth, mean, np.broadcast_to(last, truth.shape),
                               axis=(1, 2, 3)), dtype=np.float64).reshape(rec.n_series)
        if rec.kind == "numpy":
            return per
        return xr.DataArray(per.reshape(rec.sample_shape), dims=rec.sample_dims,
                            coords=dict(rec.sample_coords), name="skill")

    # ------------------------------------------------------------------ labels
    def _wrap(self, rec, mean, std, lead, shaped=False):
        """Give forecasts ``(series, time[, lead], target[, quantile])`` the input's form;
        `shaped`: they have the sample dims instead of the series axis (lazy forecasts of
        labeled input, ``(*sample_shape, time[, lead], target[, quantile])``)."""
        names = [self.variable_names_[i] for i in self._cols[0]]
        target_axis = 3 if lead else 2      # of (series, time[, lead], target[, quantile])
        if shaped:
            target_axis += len(rec.sample_shape) - 1
        if rec.kind == "numpy":
            def shape(a):
                a = np.take(a, 0, axis=target_axis) if rec.ndim == 1 else a
                return a if rec.ndim == 3 else a[0]
            return shape(mean) if std is None else (shape(mean), shape(std))
        if lead:
            times = rec.time[self.lookback_ - 1:]
            extended = np.concatenate([rec.time, future_times(rec.time, self.horizon,
                                                              self.time_step_)])
            issue = np.arange(self.lookback_ - 1, rec.n_time)
            valid = extended[issue[:, None] + np.arange(1, self.horizon + 1)[None, :]]
        else:
            n_steps = mean.shape[len(rec.sample_shape) if shaped else 1]
            times = future_times(rec.time, n_steps, self.time_step_)
        dims = list(rec.sample_dims) + [rec.time_dim] + (["lead"] if lead else [])
        coords = dict(rec.sample_coords)
        coords[rec.time_dim] = times
        if lead:
            coords["lead"] = np.arange(1, self.horizon + 1)
            coords["valid_time"] = ((rec.time_dim, "lead"), valid)
        if len(names) > 1:
            dims.append("variable")
            coords["variable"] = names

        def da(values, name):
            own_dims, own_coords = list(dims), dict(coords)
            if values.ndim > target_axis + 1:
                own_dims.append("quantile")
                own_coords["quantile"] = np.asarray(self.quantiles, dtype=np.float64)
            if len(names) == 1:
                values = (values[(slice(None),) * target_axis + (0,)] if shaped
                          else np.take(values, 0, axis=target_axis))
            if not shaped:
                values = values.reshape(rec.sample_shape + values.shape[1:])
            out = xr.DataArray(values, dims=own_dims, coords=own_coords, name=name,
                               attrs=dict(rec.attrs))
            out.name = name          # not a dask array's own name (lazy forecasts)
            return out

        name = names[0] if len(names) == 1 else None
        if std is None:
            return da(mean, name)
        return xr.Dataset({"mean": da(mean, "mean"), "std": da(std, "std")},
                          attrs=dict(rec.attrs))

    # ------------------------------------------------------------------ files
    def _to_state(self):
        """The fitted forecaster as plain values, for :func:`seqlstm.io.save`."""
        check_is_fitted(self)
        return {
            "estimator": type(self).__name__,
            "params": self.get_params(deep=False),
            "network": self.network_,
            "seeds": self._seeds_,
            "history": self._state.history(),
            "n_features_in": len(self.variable_names_),
            "feature_names_in": None,
            "n_outputs": len(self._cols[0]),
            "x_mean": self.x_mean_,
            "x_scale": self.x_scale_,
            "chrono_t_max": self.chrono_t_max_,
            "extra": {
                "variable_names": list(self.variable_names_),
                "static_names": list(self.static_names_),
                "columns": [c.tolist() for c in self._cols],
                "static_mean": self.static_mean_.tolist(),
                "static_scale": self.static_scale_.tolist(),
                "n_windows": self.n_windows_,
                "n_skipped_windows": self.n_skipped_windows_,
                "time_step": self.time_step_,
                # marks files whose "last" windows follow the NaN-aware rule (see WindowSet)
                "window_nan_rule": "observed",
                "lookback": self.lookback_,
                "season_length": self.season_length_,
                "seasonal_targets": (None if self.seasonal_targets_ is None
                                     else self.seasonal_targets_.tolist()),
                "start_padding": self.start_padding_,
                "padding_input": self.padding_input_,
            },
        }

    @classmethod
    def _from_state(cls, state):
        """A fitted forecaster from :meth:`_to_state`'s values (as :func:`seqlstm.io.load`
        reads them)."""
        est = cls(**state["params"])
        extra = state["extra"]
        est.network_ = state["network"]
        est.dtype_ = np.dtype(est.network_.dtype)
        est._seeds_ = tuple(int(s) for s in state["seeds"])
        est._state = TrainingState.from_history(state["history"])
        # files before chrono: the parameter's value (None) is the one the network had
        est.chrono_t_max_ = _fitted_chrono(state.get("chrono_t_max", est.chrono_t_max))
        est.x_mean_ = np.asarray(state["x_mean"], dtype=np.float64)
        est.x_scale_ = np.asarray(state["x_scale"], dtype=np.float64)
        est.variable_names_ = list(extra["variable_names"])
        est.static_names_ = list(extra["static_names"])
        est._cols = tuple(np.asarray(c, dtype=np.int64) for c in extra["columns"])
        est.static_mean_ = np.asarray(extra["static_mean"], dtype=np.float64)
        est.static_scale_ = np.asarray(extra["static_scale"], dtype=np.float64)
        est.n_windows_ = int(extra["n_windows"])
        est.n_skipped_windows_ = int(extra["n_skipped_windows"])
        est.time_step_ = extra["time_step"]
        est._legacy_nan = extra.get("window_nan_rule") != "observed"
        # files written before lookback="auto" hold an integer lookback: the one used
        est.lookback_ = int(extra.get("lookback", est.lookback))
        est.season_length_ = extra.get("season_length")
        seasonal = extra.get("seasonal_targets")        # files before "seasonal": None
        est.seasonal_targets_ = None if seasonal is None else np.asarray(seasonal, dtype=bool)
        est.start_padding_ = bool(extra.get("start_padding", False))   # files before padding
        est.padding_input_ = bool(extra.get("padding_input", False))
        return est

    # names of the columns, for users
    @property
    def target_names_(self):
        """The forecast variables (`target`), in the order of the outputs."""
        check_is_fitted(self)
        return [self.variable_names_[i] for i in self._cols[0]]

    @property
    def past_covariate_names_(self):
        """The past covariates: time-varying inputs that are neither targets nor future
        covariates."""
        check_is_fitted(self)
        return [self.variable_names_[i] for i in self._cols[1]]

    @property
    def future_covariate_names_(self):
        """The future covariates (`future_covariates`), known over the horizon."""
        check_is_fitted(self)
        return [self.variable_names_[i] for i in self._cols[2]]


class _Fitted:
    """The fitted attributes of a fit in progress (copied onto the estimator on success)."""


@dataclasses.dataclass(eq=False)
class _LazyForecast:
    """What every task of a lazy :meth:`LSTMForecaster.predict` or
    :meth:`~LSTMForecaster.forecast` reads, one key of the graph: the fitted forecaster, the
    records' labels, and forecast's `steps` and whether its future covariates came as labelled
    data (checked for inf, as :func:`~seqlstm.data.records.to_records` checks them)."""

    model: LSTMForecaster
    template: object
    steps: int = 0
    check_future: bool = False


def _block_records(job, values, static):
    """The records of one chunk of series (``values`` ``(*lead, time, vars)``, ``static``
    ``(*lead, n_static)`` or None), their values checked as in memory."""
    lead = values.shape[:-2]
    n = int(np.prod(lead))
    rec = dataclasses.replace(
        job.template, values=np.ascontiguousarray(values.reshape((n,) + values.shape[-2:])),
        static=(np.zeros((n, 0)) if static is None
                else np.ascontiguousarray(static.reshape(n, -1))),
        sample_shape=lead, sample_coords={}, attrs={})
    check_values(rec, "data")
    return rec


def _issued_block(job, values, static=None):
    """The forecasts of one chunk of series, as :meth:`LSTMForecaster.predict` makes them in
    memory: each output ``(*lead, issue, lead, targets[, levels])``."""
    lead = values.shape[:-2]
    out = [a for a in job.model._issued(_block_records(job, values, static)) if a is not None]
    return tuple(a.reshape(lead + a.shape[1:]) for a in out)


def _recursive_block(job, ids, values, *rest):
    """The forecasts of one chunk of series (`ids`: their indices in the whole input;
    `rest`: the static attributes if the records have some, then the future covariates
    ``(*lead, >= steps, n_future)`` if the model reads some), as
    :meth:`LSTMForecaster.forecast` makes them in memory: each output
    ``(*lead, steps, targets[, levels])``; messages name the series in the whole input."""
    lead = values.shape[:-2]
    rest = list(rest)
    static = rest.pop(0) if job.template.static_names else None
    future = rest.pop(0) if rest else None
    if future is not None:
        future = future.reshape((-1,) + future.shape[-2:])
    rec = _block_records(job, values, static)
    if future is not None and job.check_future:
        check_values(dataclasses.replace(rec, values=future, static=np.zeros((len(future), 0)),
                                         static_names=[]), "future_covariates")
    out = job.model._recursive(rec, job.steps, future,
                               labels=lambda idx: _series_labels(job.template, ids[idx]))
    return tuple(a.reshape(lead + a.shape[1:]) for a in out if a is not None)


def _statistics(values, names, arg):
    """NaN-aware mean and scale per column (scale 1 where the spread is zero)."""
    if values.shape[1] == 0:
        return np.zeros(0), np.ones(0)
    count = np.sum(~np.isnan(values), axis=0)
    if (count == 0).any():
        empty = [n for n, c in zip(names, count) if c == 0]
        raise ValueError(f"{arg}: expected observed values of every variable; found only NaN "
                         f"in {empty}.")
    mean = np.nanmean(values, axis=0)
    scale = np.nanstd(values, axis=0)
    scale[~(scale > 0)] = 1.0
    return mean, scale


def _padding_starts(rec, target_cols, need, labels=None):
    """:func:`~seqlstm.windowing.padding_starts` of `rec`, refusing a series without any
    observed target (named by its labels when it has them; `labels`: how to name series
    ``idx``, default :func:`_series_labels` of `rec`)."""
    observed = np.zeros(rec.values.shape[:2], bool)
    for c in target_cols:
        observed |= ~np.isnan(rec.values[:, :, c])
    empty = np.flatnonzero(~observed.any(axis=1))
    if empty.size:
        raise ValueError(f"data: expected at least one observed target in every series; found "
                         f"none in series "
                         f"{(labels or partial(_series_labels, rec))(empty[:10])}.")
    return padding_starts(rec.values, target_cols, need)


def _series_labels(rec, idx):
    """Labels of series `idx` of `rec`: their sample coordinates, else their positions."""
    if len(rec.sample_dims) == 1 and rec.sample_dims[0] in rec.sample_coords:
        return [rec.sample_coords[rec.sample_dims[0]][1][i].item() for i in idx]
    if rec.sample_dims:
        return [tuple(int(v) for v in np.unravel_index(i, rec.sample_shape)) for i in idx]
    return [int(i) for i in idx]


def _per_series_statistics(values):
    """NaN-aware mean and scale per series and variable of ``(n_series, n_time, n_vars)``
    records: scale 1 where the spread is zero; mean 0 and scale 1 where nothing is observed."""
    import warnings

    with warnings.catch_warnings():       # a variable never observed in a series: NaN, below
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=1)
        scale = np.nanstd(values, axis=1)
    mean[np.isnan(mean)] = 0.0
    scale[~(scale > 0)] = 1.0
    return mean, scale


def _time_step(time):
    """The record's time step as a plain value for the model file (None if irregular)."""
    if time.size < 2 or time.dtype.kind == "M":
        return None
    step = np.diff(time)
    return float(step[0]) if np.allclose(step, step[0]) else None


def _horizon_outputs(net, windows, idx, loss, nt):
    """Forecasts of windows `idx` over the horizon in globally scaled units (the window
    normalisation undone): ``(center, std)`` with ``center`` the point forecasts, Gaussian
    means or quantiles ``(n, horizon, nt[, n_levels])`` and ``std`` the Gaussian standard
    deviations (else None).

    A per-step network's head gives each lead at its horizon step (``nt`` targets per step);
    a direct one's gives every lead from its final state, ``horizon * nt`` targets lead-major
    (:class:`~seqlstm.windowing.WindowSet`), read by the same output transforms and reshaped to
    ``(n, horizon, nt)``."""
    x = windows.inputs[idx]
    _, _, loc, scale, _ = windows.batch(idx)
    if windows.direct:
        out, n_out = net.forward_last(x)[:, None, :], windows.horizon * nt
    else:
        out, n_out = net.forward(x)[:, windows.lookback:], nt
    out = np.asarray(out, dtype=np.float64)
    name, levels = resolve_loss(loss)
    std = None
    if name == "gaussian":
        center, std = gaussian_moments(out, n_out)
    elif name == "quantile":
        center = quantile_outputs(out, n_out, len(levels))
    else:
        center = out
    shape = (len(idx), windows.horizon, nt)
    center = center.reshape(shape + center.shape[3:])
    std = None if std is None else std.reshape(shape)
    return (restore(center, loc, scale),
            None if std is None else restore(std, None, scale))


def _point(center, loss):
    """Point forecasts ``(..., targets)`` from forecasts `center`: themselves, or for
    quantiles ``(..., targets, levels)`` the median, interpolated linearly in the level between
    the levels around 0.5 (the nearest level outside their range)."""
    name, levels = resolve_loss(loss)
    if name != "quantile":
        return center
    hi = int(np.searchsorted(levels, 0.5))
    if hi < len(levels) and levels[hi] == 0.5:
        return center[..., hi]
    if hi == 0 or hi == len(levels):
        return center[..., min(hi, len(levels) - 1)]
    frac = (0.5 - levels[hi - 1]) / (levels[hi] - levels[hi - 1])
    return center[..., hi - 1] + frac * (center[..., hi] - center[..., hi - 1])


def _chunks(n):
    """Index arrays of ``_PREDICT_CHUNK`` consecutive windows out of `n`."""
    for b0 in range(0, n, _PREDICT_CHUNK):
        yield np.arange(b0, min(b0 + _PREDICT_CHUNK, n))


def _window_skill(net, windows, loss, nt):
    """Skill against persistence of `net` on `windows` (scaled units): the validation score.

    The windows go through the network in chunks of ``_PREDICT_CHUNK``: memory does not grow
    with their number."""
    err = base = 0.0
    for idx in _chunks(len(windows)):
        mean = _point(_horizon_outputs(net, windows, idx, loss, nt)[0], loss)
        _, y, loc, scale, last = windows.batch(idx)
        truth = restore(y[:, windows.lookback:], loc, scale)
        ok = ~np.isnan(truth)
        err += np.sum((mean - truth)[ok] ** 2)
        base += np.sum((np.broadcast_to(last[:, None, :], truth.shape) - truth)[ok] ** 2)
    return 1.0 - err / base if base > 0 else -err


def _validation_functions(net, windows, loss, nt):
    """The validation score (:func:`_window_skill`) and loss of the current weights of `net` on
    `windows`, as functions for the fit loop.  The loss is the training loss's measure,
    evaluated in chunks of ``_PREDICT_CHUNK`` windows (:func:`~seqlstm.training.batched_loss`):
    memory does not grow with their number."""
    def val_loss():
        return batched_loss(net, (windows.network_batch(idx) + (None,)
                                  for idx in _chunks(len(windows))), loss)

    return (lambda: _window_skill(net, windows, loss, nt), val_loss)


def _observed(values, lookback, horizon):
    """Observations and persistence for every issue time and lead.

    Parameters
    ----------
    values : ndarray, shape (n_series, n_time, n_targets)

    Returns
    -------
    truth : ndarray, shape (n_series, n_issue, horizon, n_targets)
        NaN past the record's end.
    last : ndarray, shape (n_series, n_issue, 1, n_targets)
        The value at the issue time.
    """
    S, T, nt = values.shape
    padded = np.concatenate([values, np.full((S, horizon, nt), np.nan)], axis=1)
    issue = np.arange(lookback - 1, T)
    truth = padded[:, issue[:, None] + np.arange(1, horizon + 1)[None, :]]
    return truth, values[:, issue][:, :, None, :]
