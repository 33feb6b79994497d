"""Seed ensembles: several copies of one estimator trained from different seeds.

:class:`SeedEnsemble` wraps an :class:`~seqlstm.LSTMRegressor`, an
:class:`~seqlstm.LSTMClassifier` or an :class:`~seqlstm.LSTMForecaster`.  Other scikit-learn
estimators with a ``random_state`` parameter fit and predict too, given what combining them
needs: a classifier needs ``predict_proba``, a regressor with ``loss="gaussian"`` needs
``predict(X, return_std=True)`` (``fit`` raises a ``TypeError`` otherwise); dask-backed input
and saving need seqlstm's estimators.  It is itself a scikit-learn estimator: ``clone``,
``get_params`` (``estimator__hidden_size``...), pipelines and searches work, and it
behaves as a classifier or a regressor after the estimator it wraps.

- Classifier: the members' probabilities are averaged (``predict_proba``); ``predict`` is the
  class of highest mean probability.
- Regressor with ``loss="gaussian"``: the members' Gaussians are combined into their uniform
  mixture (Lakshminarayanan, Pritzel & Blundell 2017, "Simple and scalable predictive
  uncertainty estimation using deep ensembles"): mean ``mu = mean_m mu_m`` and variance
  ``mean_m (sigma_m^2 + mu_m^2) - mu^2``, computed as ``mean_m sigma_m^2 + mean_m (mu_m -
  mu)^2`` (the same number, never negative), so it is at least the members' mean variance.
- Regressor with squared error: the mean of the members' predictions; ``return_std=True``
  gives their spread (population standard deviation across members).
- Forecaster (``fit(data)`` without ``y``): the members' forecasts combined in the same way at
  every issue time and lead: point forecasts ("mse", "mae") averaged; Gaussian heads as their
  uniform mixture (as above); quantiles averaged level by level (Vincentization: the mean of
  the members' quantile functions, non-crossing because each member's is).  ``predict``,
  ``predict_interval`` (for "gaussian" the mixture's ``mean -/+ z std``, for quantiles two of
  the averaged quantiles), ``forecast`` (every member runs its own recursion, feeding back
  its own point forecasts; the ensemble combines the trajectories) and ``score`` (skill of the
  combined point forecast, the median of the averaged quantiles for "quantile") return what
  the forecaster's methods return.

Predictions have the members' form: NumPy in, NumPy out; xarray in, the same labeled DataArray
(coordinates, attributes, name) out.  Members are combined in a fixed order, so the same
``random_state`` gives bit-identical results at any thread count.
"""

from __future__ import annotations

import inspect
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (check_is_fitted, check_random_state,
                                      has_fit_parameter)

from .io import ModelFile

__all__ = ["SeedEnsemble"]

_SEED_MAX = np.iinfo(np.int32).max


def _is_classifier_ensemble(ens):
    return is_classifier(ens.estimator)


def _is_forecaster(estimator):
    from .estimators._forecaster import LSTMForecaster

    return isinstance(estimator, LSTMForecaster)


def _is_forecaster_ensemble(ens):
    return _is_forecaster(ens.estimator)


def _values(out):
    """The NumPy values of a member's output (NumPy or DataArray)."""
    return np.asarray(getattr(out, "values", out), dtype=np.float64)


def _like(template, values):
    """``values`` in the form of a member's output ``template`` (DataArray or ndarray)."""
    if hasattr(template, "dims"):
        return template.copy(data=values)
    return values


class SeedEnsemble(ModelFile, BaseEstimator):
    """Members cloned from one estimator with different seeds; averaged predictions.

    Parameters
    ----------
    estimator : estimator
        The unfitted template, e.g. ``LSTMClassifier(hidden_size=32)`` or
        ``LSTMForecaster(lookback=24, loss="quantile")``; it needs a ``random_state``
        parameter, ``predict_proba`` if it is a classifier, and ``predict(X,
        return_std=True)`` if it is a regressor with ``loss="gaussian"``.  Its own
        ``random_state`` is replaced in every member.
    n_estimators : int, default 5
        Number of members.
    random_state : None, int or RandomState, default None
        Draws the members' seeds (``n_estimators`` integers); the same value gives
        bit-identical members.
    n_jobs : int or None, default None
        Threads of every member (its ``n_jobs``); None keeps the template's setting.  The
        members are fitted one after the other, each on these threads: fitting them at the
        same time on a thread pool, one thread each, was measured no faster on a busy 2-core
        machine and 0-12% faster on an idle one, while it multiplies peak memory.  On
        cores busy with other processes, ``n_jobs=1`` was several times faster than two
        threads per member while Numba's OpenMP threads spun between parallel regions
        (libgomp's default); seqlstm now shortens that spin (see ``seqlstm._threads``), and
        ``n_jobs=1`` remains the choice on a machine known to be busy.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members.
    seeds_ : ndarray of int
        The members' ``random_state``.
    classes_ : ndarray
        Class labels (classifier ensembles).
    n_features_in_ : int
        Number of features seen at fit (when the members have it).
    feature_names_in_ : ndarray of str
        Feature names of labeled input (when the members have them).

    Examples
    --------
    >>> import numpy as np
    >>> from seqlstm import LSTMClassifier, SeedEnsemble
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 5, 2))
    >>> y = np.where(X[:, 0, 0] > 0, "up", "down")
    >>> ens = SeedEnsemble(LSTMClassifier(hidden_size=4, max_iter=2), n_estimators=3,
    ...                    random_state=0).fit(X, y)
    >>> ens.predict_proba(X).shape, ens.classes_
    ((40, 2), array(['down', 'up'], dtype='<U4'))
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict", "get_params", "set_params"])],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [None, Integral],
    }

    def __init__(self, estimator, n_estimators=5, random_state=None, n_jobs=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.estimator_type = inner.estimator_type
        tags.input_tags = inner.input_tags
        tags.target_tags = inner.target_tags
        if inner.classifier_tags is not None:
            tags.classifier_tags = inner.classifier_tags
        if inner.regressor_tags is not None:
            tags.regressor_tags = inner.regressor_tags
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimators_")

    def _expected_failed_checks(self):
        inner = getattr(self.estimator, "_expected_failed_checks", None)
        return inner() if inner is not None else {}

    # ------------------------------------------------------------------ fitting
    def _members(self):
        self._validate_params()
        params = self.estimator.get_params(deep=False)
        if "random_state" not in params:
            raise ValueError(
                f"estimator: expected an estimator with a random_state parameter; found "
                f"{type(self.estimator).__name__}, which has none.")
        self._check_combinable()
        seeds = check_random_state(self.random_state).randint(0, _SEED_MAX,
                                                              size=self.n_estimators)
        members = []
        for seed in seeds:
            member = clone(self.estimator).set_params(random_state=int(seed))
            if self.n_jobs is not None and "n_jobs" in params:
                member.set_params(n_jobs=self.n_jobs)
            members.append(member)
        return members, seeds

    def _check_combinable(self):
        """TypeError before any fitting when the members' predictions cannot be combined."""
        name = type(self.estimator).__name__
        if is_classifier(self.estimator):
            if not hasattr(self.estimator, "predict_proba"):
                raise TypeError(
                    f"estimator: expected a classifier with predict_proba (the ensemble "
                    f"averages the members' probabilities); found {name}, which has none.")
        elif (getattr(self.estimator, "loss", None) == "gaussian"
              and not _is_forecaster(self.estimator)):
            if "return_std" not in inspect.signature(self.estimator.predict).parameters:
                raise TypeError(
                    f"estimator: expected a loss='gaussian' regressor whose predict takes "
                    f"return_std (the ensemble combines the members' Gaussians); found "
                    f"{name}, whose predict does not.")

    def fit(self, X, y=None, sample_weight=None, validation_data=None):
        """Fit every member on `X`, `y`, one after the other (see `n_jobs`).

        Inside ``joblib.parallel_backend(...)`` the members are fitted by that backend instead:
        with ``parallel_backend("dask")`` and a ``dask.distributed`` client, on the cluster's
        workers, bit-identical to fitting them here.

        `sample_weight` and `validation_data` are passed on unchanged to every member's
        ``fit`` (and only when given, so wrapped estimators without them still fit); the
        members check them.  A member that fails leaves the ensemble as it was before the call.

        Parameters
        ----------
        X : array-like, DataArray or Dataset
            As the wrapped estimator's ``fit`` takes it (a forecaster: the records).
        y : array-like, DataArray or None, default None
            As the wrapped estimator's ``fit`` takes it (a forecaster: None).
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each sample, as the wrapped estimator's ``fit`` takes it (seqlstm's:
            non-negative; an integer weight counts like that many copies of the sample).
        validation_data : (X_val, y_val) or (X_val, y_val, sample_weight_val), optional
            Validation set of seqlstm members (see :meth:`LSTMRegressor.fit`): every member
            records its score and loss on it (``validation_scores_``,
            ``validation_loss_curve_``) and, with ``early_stopping``, stops on it.

        Returns
        -------
        SeedEnsemble
            This ensemble, fitted.
        """
        members, seeds = self._members()
        fit_params = self._fit_params(sample_weight=sample_weight,
                                      validation_data=validation_data)
        members = Parallel(n_jobs=None)(
            delayed(_fit_member)(member, X, y, fit_params) for member in members)
        self._set_members(members, seeds)
        return self

    def _fit_params(self, **params):
        """The given (not None) fit arguments, checked to be ones the members' ``fit`` takes."""
        given = {name: value for name, value in params.items() if value is not None}
        for name in given:
            if not has_fit_parameter(self.estimator, name):
                raise ValueError(
                    f"{name}: expected an estimator whose fit takes {name}; found "
                    f"{type(self.estimator).__name__}, whose fit does not.")
        return given

    def _set_members(self, members, seeds):
        first = members[0]
        self.estimators_ = list(members)
        self.seeds_ = np.asarray(seeds, dtype=np.int64)
        for name in ("classes_", "feature_names_in_", "n_features_in_"):
            if hasattr(first, name):
                setattr(self, name, getattr(first, name))
            elif hasattr(self, name):
                delattr(self, name)

    # ------------------------------------------------------------------ classifier
    @available_if(_is_classifier_ensemble)
    def predict_proba(self, X):
        """Mean of the members' class probabilities.

        Parameters
        ----------
        X
            As the members' ``predict_proba`` takes it.

        Returns
        -------
        ndarray or DataArray
            In the members' form (NaN at padded steps of per-step problems).
        """
        check_is_fitted(self)
        outs = [m.predict_proba(X) for m in self.estimators_]
        return _combine(outs, _mean)

    def _labels(self, proba):
        """Labels of the highest mean probability; missing (NaN/None) at padded steps."""
        from .estimators._classifier import most_probable

        return most_probable(proba, self.classes_)

    # ------------------------------------------------------------------ both
    def predict(self, X, return_std=False):
        """Ensemble prediction, in the members' form.

        Parameters
        ----------
        X : array-like, DataArray or Dataset
            As the members' ``predict`` takes it.
        return_std : bool, default False
            Regressors only: also return the standard deviation: of the Gaussian mixture for
            ``loss="gaussian"`` members, of the members' predictions (their spread) otherwise.

        Returns
        -------
        y_pred : ndarray or DataArray
            Classifier: the class of highest mean probability; regressor: the mean;
            forecaster: the combined forecasts in the form of
            :meth:`LSTMForecaster.predict <seqlstm.LSTMForecaster.predict>` (Gaussian
            forecasters give their std there, so `return_std` must be False).
        y_std : ndarray or DataArray, only with `return_std`
            The standard deviation described at `return_std`.
        """
        check_is_fitted(self)
        if _is_forecaster(self.estimator):
            if return_std:
                raise ValueError("return_std: expected False for a forecaster ensemble; found "
                                 "True (a loss='gaussian' forecaster's predict gives the std).")
            return self._forecasts(X, lambda member, rec: member._issued(rec), lead=True)
        if is_classifier(self):
            if return_std:
                raise ValueError("return_std: expected False for a classifier ensemble; "
                                 "found True (use predict_proba).")
            if _is_dask(X):
                return self._lazy_labels(X)
            labels = self.estimators_[0].predict(X)
            return _like(labels, self._labels(_values(self.predict_proba(X))))
        mean, std = self._moments(X, return_std)
        return (mean, std) if return_std else mean

    # ------------------------------------------------------------------ forecaster
    def _combined(self, rec, values):
        """The members' forecasts on records `rec` combined: ``values(member, rec)`` gives a
        member's ``(center, std)`` (:meth:`LSTMForecaster._forecast_windows`' layout); the
        centers (point forecasts, means or quantiles) are averaged, the stds combined into the
        mixture's."""
        outs = [values(member, rec) for member in self.estimators_]
        centers = [center for center, _ in outs]
        if outs[0][1] is None:
            return _mean(centers), None
        return _mean(centers), _mixture_std(centers, [std for _, std in outs])

    def _centers(self, rec):
        """The combined centers of the members' forecasts issued on records `rec` (what
        :meth:`LSTMForecaster._scored <seqlstm.LSTMForecaster.score>` scores)."""
        return self._combined(rec, lambda member, r: member._issued(r))[0]

    def _forecasts(self, data, values, lead):
        """:meth:`_combined` forecasts on `data`, in the members' form."""
        first = self.estimators_[0]
        rec = first._records(data)
        center, std = self._combined(rec, values)
        return first._wrap(rec, center, std, lead=lead)

    @available_if(_is_forecaster_ensemble)
    def forecast(self, data, steps, future_covariates=None):
        """The members' recursive forecasts (:meth:`LSTMForecaster.forecast
        <seqlstm.LSTMForecaster.forecast>`), each member feeding back its own point forecasts,
        combined step by step; arguments and result as there."""
        check_is_fitted(self)
        return self._forecasts(
            data, lambda member, rec: member._recursive(rec, steps, future_covariates),
            lead=False)

    @available_if(_is_forecaster_ensemble)
    def predict_interval(self, data, coverage=0.8):
        """Central intervals of the combined forecasts, as
        :meth:`LSTMForecaster.predict_interval <seqlstm.LSTMForecaster.predict_interval>`:
        for "gaussian" ``mean -/+ z std`` of the mixture's mean and std, for "quantile" two
        of the averaged quantiles."""
        check_is_fitted(self)
        first = self.estimators_[0]
        first._check_interval(coverage)
        return first._interval(self.predict(data), coverage)

    def _lazy_labels(self, X):
        """Labels of dask-backed input, lazily, through the first member's lazy path."""
        first = self.estimators_[0]
        if not hasattr(first, "_lazy"):
            raise ValueError(f"X: dask-backed input needs seqlstm members; found "
                             f"{type(first).__name__}.")

        per_step = bool(getattr(first, "return_sequences", False))
        dtype = object if per_step and self.classes_.dtype.kind != "f" else self.classes_.dtype
        return first._lazy(_lazy_ensemble_labels, X, 1, "output", None, dtype, model=self,
                           stateful=False).squeeze("output", drop=True)

    def _moments(self, X, return_std):
        gaussian = getattr(self.estimators_[0], "loss", None) == "gaussian"
        if gaussian:
            outs = [m.predict(X, return_std=True) for m in self.estimators_]
            mus, sigmas = [o[0] for o in outs], [o[1] for o in outs]
        else:
            mus, sigmas = [m.predict(X) for m in self.estimators_], None
        mean = _combine(mus, _mean)
        if not return_std:
            return mean, None
        if gaussian:
            std = _combine(mus + sigmas, lambda a: _mixture_std(a[:len(mus)], a[len(mus):]))
        else:
            std = _combine(mus, lambda a: _mixture_std(a, None))
        return mean, std

    def score(self, X, y=None, sample_weight=None):
        """Accuracy (classifier), R² (regressor) or skill against persistence (forecaster) of
        the ensemble's predictions.

        Regressor ensembles of seqlstm members score as :meth:`LSTMRegressor.score` does, on
        the same code path (``y`` read as the members read it; per target, samples and, with
        ``return_sequences``, their observed steps pooled; NaN targets, padded and spin-up
        steps skipped), so an ensemble of one member scores exactly as that member.  Other
        regressors' predictions are scored per sample.  Classifier ensembles: the accuracy over
        the entries where both the label and the prediction are present.  Forecaster
        ensembles score as :meth:`LSTMForecaster.score <seqlstm.LSTMForecaster.score>` does,
        on the combined point forecasts (`y` unused).

        Parameters
        ----------
        X : array-like, DataArray or Dataset
            In the form the members take.
        y : array-like, DataArray or None
            In the form the members take (None for forecasters).
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each sample in the score (not for forecasters).

        Returns
        -------
        float
            The score described above (higher is better).
        """
        if _is_forecaster(self.estimator):
            check_is_fitted(self)
            if sample_weight is not None:
                raise ValueError("sample_weight: expected None for a forecaster ensemble (the "
                                 "forecaster's score takes none); found weights.")
            return self.estimators_[0]._skill(X, model=self)
        if not is_classifier(self):
            from .metrics._scorers import nse_outputs

            if self._has_score_arrays():
                y_true, y_pred, per_step = self._score_arrays(X, y)
            else:
                y_true, y_pred, per_step = y, self.predict(X), False
            return nse_outputs(y_true, y_pred, per_step=per_step, sample_weight=sample_weight)
        pred = self.predict(X)
        y_true = np.asarray(getattr(y, "values", y))
        y_pred = np.asarray(getattr(pred, "values", pred))
        if y_true.shape != y_pred.shape:
            raise ValueError(f"y: expected shape {y_pred.shape} like the predictions; found "
                             f"{y_true.shape}.")
        n = y_true.shape[0]
        w = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        if w is not None and w.shape != (n,):
            raise ValueError(f"sample_weight: expected shape ({n},); found {w.shape}.")
        if w is not None:
            w = np.broadcast_to(w.reshape((n,) + (1,) * (y_true.ndim - 1)), y_true.shape)
        import pandas as pd

        mask = ~(pd.isna(y_true) | pd.isna(y_pred))
        return float(accuracy_score(y_true[mask], y_pred[mask],
                                    sample_weight=None if w is None else w[mask]))

    def _has_score_arrays(self):
        return not is_classifier(self) and hasattr(self.estimator, "_score_arrays")

    @available_if(_has_score_arrays)
    def _score_arrays(self, X, y):
        """Targets, ensemble predictions and whether they are per step, for scoring (the
        scorers of :mod:`seqlstm.metrics` and :meth:`score`): ``y`` read by the first member as
        its ``score`` reads it, and the mean of the members' predictions (the mean
        :meth:`predict` returns), both ``(n_samples[, n_time], n_outputs)``."""
        check_is_fitted(self)
        first = self.estimators_[0]
        if _is_forecaster(self.estimator):
            return first._score_arrays(X, y, model=self)
        data = first._validate_X(X, reset=False)
        y_true = first._scoring_targets(y, data)
        y_pred = _mean([m._predict_values(data)[0] for m in self.estimators_])
        return y_true, y_pred, bool(first.return_sequences)

    # ------------------------------------------------------------------ files
    def _to_state(self):
        """The fitted ensemble as plain values, for :func:`seqlstm.io.save`: ``estimator``
        (class name), ``params`` (this ensemble's own, without the template), ``template``
        (the wrapped estimator's class name and ``get_params(deep=False)``), ``seeds`` and
        ``members`` (each member's ``_to_state()``)."""
        check_is_fitted(self)
        params = self.get_params(deep=False)
        template = params.pop("estimator")
        if not hasattr(template, "_to_state"):
            raise TypeError(f"estimator: expected a seqlstm estimator to save an ensemble; "
                            f"found {type(template).__name__}.")
        return {
            "estimator": type(self).__name__,
            "params": params,
            "template": (type(template).__name__, template.get_params(deep=False)),
            "seeds": self.seeds_,
            "members": [m._to_state() for m in self.estimators_],
        }

    @classmethod
    def _from_state(cls, state):
        """A fitted ensemble from :meth:`_to_state`'s values as :func:`seqlstm.io.load` gives
        them back: ``template`` as the unfitted wrapped estimator and ``members`` as fitted
        estimators."""
        ens = cls(estimator=state["template"], **state["params"])
        ens._set_members(list(state["members"]), state["seeds"])
        return ens


def _fit_member(member, X, y, fit_params):
    """One member fitted (a joblib task; on a dask worker it runs on one thread)."""
    return member.fit(X, y, **fit_params)


def _lazy_ensemble_labels(ens, data, initial_state=None, return_state=False):
    """One chunk's labels ``(..., 1)`` from the members' mean probabilities (lazy path; the
    ensemble is the graph's one model key)."""
    return ens._labels(_mean([m._proba(data) for m in ens.estimators_]))[..., None]


def _is_dask(X):
    data = getattr(X, "data", None)
    if data is None and hasattr(X, "data_vars"):
        data = next(iter(X.data_vars.values()), None)
        data = getattr(data, "data", None)
    return data is not None and type(data).__module__.startswith("dask")


def _mean(arrays):
    """Mean over members in a fixed order (the same bits at any thread count)."""
    total = arrays[0] + 0.0
    for a in arrays[1:]:
        total = total + a
    return total / len(arrays)


def _mixture_std(mus, sigmas):
    """Standard deviation of the members' uniform mixture (``sigmas`` None: point predictions,
    the spread of ``mus``): ``sqrt(mean(sigma^2) + mean((mu - mean(mu))^2))``, which equals
    ``mean(sigma^2 + mu^2) - mean(mu)^2`` and is never negative."""
    mean = _mean(mus)
    var = _mean([(mu - mean) ** 2 for mu in mus])
    if sigmas is not None:
        var = var + _mean([sigma ** 2 for sigma in sigmas])
    return var ** 0.5


def _combine(outs, formula):
    """``formula`` applied to the members' outputs, returned in the members' form.

    In-memory outputs are combined as NumPy values and put back into the first output's form
    (coordinates, attributes and name kept); lazy (dask-backed) DataArrays are combined lazily
    with xarray's arithmetic and get the first output's attributes and name.
    """
    first = outs[0]
    if not _is_dask(first):
        return _like(first, formula([_values(o) for o in outs]))
    result = formula(outs)
    result.attrs = dict(first.attrs)
    result.name = first.name
    return result
