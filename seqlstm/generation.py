"""Generation: new sequences from a model trained for next-step prediction.

A model trained with ``return_sequences=True`` to predict step ``t + 1`` from steps ``.. t``
generates by feeding each prediction back as the next input, carrying the network's state from
step to step (:meth:`~seqlstm.network.RecurrentNetwork.forward` with ``initial_state`` and
``return_state``), so each new step costs one step of the network:

- :class:`~seqlstm.LSTMRegressor` (continuous series; inputs and outputs are the same
  variables): the next value is the Gaussian head's mean plus ``temperature`` × its standard
  deviation × a standard normal draw (``temperature=0``: the mean), or the prediction of an
  "mse" model;
- :class:`~seqlstm.LSTMClassifier` (categorical sequences, e.g. characters; inputs are one-hot
  codes of ``classes_`` in their order): the next symbol is drawn from ``softmax(logits /
  temperature)`` (``temperature=0``: the most probable one).

The step loop is Python around the compiled step (each step's sampling needs the previous
step's output); a step of a small network costs tens of microseconds.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import xarray as xr
from sklearn.utils.validation import check_is_fitted, check_random_state

from .network.outputs import gaussian_moments, softmax

__all__ = ["generate"]


def generate(estimator, n_steps, prime=None, temperature=1.0, random_state=None):
    """Generate `n_steps` new steps from a fitted next-step model.

    Parameters
    ----------
    estimator : LSTMRegressor or LSTMClassifier
        Fitted with ``return_sequences=True``, unidirectional; a regressor's outputs are its
        input variables, a classifier's inputs are one-hot codes of its classes.
    n_steps : int
        Steps to generate (>= 1).
    prime : array-like, optional
        The sequence the generation continues: values ``(time, feature)`` (or ``(time,)`` for
        one feature) for a regressor, a sequence of class labels (e.g. a string of characters
        for character classes) for a classifier.  Default: one step at the features' mean
        (regressor) or one symbol drawn uniformly from the classes (classifier).
    temperature : float, default 1.0
        >= 0; scales the randomness (see the module docstring); 0 is deterministic.
    random_state : None, int or numpy.random.RandomState
        Source of the draws.

    Returns
    -------
    xarray.DataArray
        Regressor: ``(time, feature)`` of the generated values (feature names of the fit);
        classifier: ``(time,)`` of labels.  ``time`` counts the generated steps from 0 and the
        attribute ``prime_length`` gives the primed steps.
    """
    check_is_fitted(estimator)
    if isinstance(n_steps, bool) or not isinstance(n_steps, Integral) or n_steps < 1:
        raise ValueError(f"n_steps: expected an integer >= 1; found {n_steps!r}.")
    if isinstance(temperature, bool) or not isinstance(temperature, Real) or not temperature >= 0:
        raise ValueError(f"temperature: expected a number >= 0; found {temperature!r}.")
    if not estimator.return_sequences or estimator.bidirectional:
        raise ValueError(
            "estimator: expected a model fitted for next-step prediction "
            "(return_sequences=True, bidirectional=False); found "
            f"return_sequences={estimator.return_sequences}, "
            f"bidirectional={estimator.bidirectional}.")
    rng = check_random_state(random_state)
    if hasattr(estimator, "classes_"):
        return _generate_symbols(estimator, int(n_steps), prime, float(temperature), rng)
    return _generate_values(estimator, int(n_steps), prime, float(temperature), rng)


def _scaled(estimator, values):
    values = np.asarray(values, dtype=np.float64)
    if estimator.x_mean_ is not None:
        values = (values - estimator.x_mean_) / estimator.x_scale_
    return np.ascontiguousarray(values, dtype=estimator.dtype_)


def _run(estimator, first, n_steps, next_value):
    """Feed `first` (scaled ``(T0, F)``), then each ``next_value(raw)`` back, carrying state.

    ``next_value(raw)`` maps the network's last raw output ``(n_out,)`` to ``(value, scaled
    next input)``; returns the values.
    """
    net = estimator.network_
    out, state = net.forward(first[None], return_state=True)
    values = []
    for i in range(n_steps):
        value, x = next_value(np.asarray(out[0, -1], dtype=np.float64))
        values.append(value)
        if i + 1 < n_steps:
            out, state = net.forward(x[None, None, :], initial_state=state, return_state=True)
    return values


def _generate_values(est, n_steps, prime, temperature, rng):
    n_features = est.n_features_in_
    if est.n_outputs_ != n_features:
        raise ValueError(
            f"estimator: expected a next-step model whose outputs are its inputs; found "
            f"{n_features} input features and {est.n_outputs_} outputs.")
    if prime is None:
        prime = np.zeros((1, n_features)) if est.x_mean_ is None else est.x_mean_[None, :]
    prime = np.asarray(prime, dtype=np.float64)
    if prime.ndim == 1 and n_features == 1:
        prime = prime[:, None]
    if prime.ndim != 2 or prime.shape[1] != n_features or prime.shape[0] < 1:
        raise ValueError(f"prime: expected values of shape (time, {n_features}); found "
                         f"{prime.shape}.")
    if not np.isfinite(prime).all():
        raise ValueError("prime: expected finite values; found NaN or inf.")
    gaussian = est.loss == "gaussian"

    def next_value(raw):
        if gaussian:
            mean, std = gaussian_moments(raw, n_features)
        else:
            mean, std = raw, None
        if est.y_mean_ is not None:
            mean = mean * est.y_scale_ + est.y_mean_
            std = None if std is None else std * est.y_scale_
        value = mean if std is None or temperature == 0 else (
            mean + temperature * std * rng.standard_normal(n_features))
        return value, _scaled(est, value)

    values = np.asarray(_run(est, _scaled(est, prime), n_steps, next_value))
    names = getattr(est, "feature_names_in_", None)
    coords = {"time": np.arange(n_steps)}
    if names is not None:
        coords["feature"] = list(names)
    return xr.DataArray(values, dims=("time", "feature"), coords=coords, name="generated",
                        attrs={"prime_length": int(prime.shape[0])})


def _generate_symbols(est, n_steps, prime, temperature, rng):
    classes = est.classes_
    n_classes = len(classes)
    if est.n_features_in_ != n_classes:
        raise ValueError(
            f"estimator: expected a next-step classifier whose inputs are one-hot codes of its "
            f"{n_classes} classes; found {est.n_features_in_} input features.")
    index = {c: i for i, c in enumerate(classes.tolist())}
    if prime is None:
        codes = [int(rng.randint(n_classes))]
    else:
        symbols = list(prime)
        unknown = [s for s in symbols if s not in index]
        if unknown or not symbols:
            raise ValueError(f"prime: expected a non-empty sequence of labels from classes_; "
                             f"found {unknown[:5] if unknown else 'an empty one'}.")
        codes = [index[s] for s in symbols]
    eye = np.eye(n_classes)

    def next_value(raw):
        if temperature == 0:
            code = int(np.argmax(raw))
        else:
            p = softmax(raw / temperature)
            code = int(rng.choice(n_classes, p=p / p.sum()))
        return code, _scaled(est, eye[code])

    drawn = _run(est, _scaled(est, eye[codes]), n_steps, next_value)
    return xr.DataArray(classes[np.asarray(drawn)], dims=("time",),
                        coords={"time": np.arange(n_steps)}, name="generated",
                        attrs={"prime_length": len(codes)})
