"""scikit-learn classification of sequences: :class:`LSTMClassifier`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .. import data as _data
from ..network.outputs import softmax
from ._base import _BaseLSTM

__all__ = ["LSTMClassifier"]


class LSTMClassifier(ClassifierMixin, _BaseLSTM):
    """Recurrent (LSTM, GRU, RNN) classification of sequences, with scikit-learn's API.

    The parameters are those of :class:`LSTMRegressor` without ``loss`` (the loss is softmax
    cross-entropy), except that ``learning_rate_init`` defaults to 1e-2.  With
    ``return_sequences=True`` there is one label per time step and a missing label (None or NaN)
    is left out of the loss; predictions at padded steps are NaN (numeric classes) or None.  The
    validation score is the accuracy, the validation loss the cross-entropy, and a random
    validation split is stratified (many-to-one).

    Parameters
    ----------
    hidden_size : int, default 32
        As in :class:`LSTMRegressor`.
    num_layers : int, default 1
        As in :class:`LSTMRegressor`.
    cell : {"lstm", "peephole", "cifg", "gru", "rnn"}, default "lstm"
        As in :class:`LSTMRegressor`.
    bidirectional : bool, default False
        As in :class:`LSTMRegressor`.
    return_sequences : bool, default False
        As in :class:`LSTMRegressor`.
    dropout : float in [0, 1), default 0.0
        As in :class:`LSTMRegressor`.
    tbptt : None, int or (k1, k2), default None
        As in :class:`LSTMRegressor`.
    solver : {"adam", "sgd"}, default "adam"
        As in :class:`LSTMRegressor`.
    learning_rate : {"cosine", "constant", "plateau"}, default "cosine"
        As in :class:`LSTMRegressor`.
    learning_rate_init : float, default 1e-2
        Initial learning rate: chosen over 3e-3 by cross-validation inside the training
        splits of the UCR development sets (benchmarks/ACCURACY.md).
    warmup : int, default 0
        As in :class:`LSTMRegressor`.
    plateau_patience : int, default 5
        As in :class:`LSTMRegressor`.
    plateau_factor : float in (0, 1), default 0.5
        As in :class:`LSTMRegressor`.
    momentum : float, default 0.9
        As in :class:`LSTMRegressor`.
    alpha : float, default 0.0
        As in :class:`LSTMRegressor`.
    clip_norm : float or None, default 1.0
        As in :class:`LSTMRegressor`.
    batch_size : int or "auto", default "auto"
        As in :class:`LSTMRegressor`.
    max_iter : int, default 200
        As in :class:`LSTMRegressor`.
    tol : float, default 1e-4
        As in :class:`LSTMRegressor`.
    shuffle : bool, default True
        As in :class:`LSTMRegressor`.
    early_stopping : bool or {"score", "loss"}, default False
        As in :class:`LSTMRegressor`.
    validation_fraction : float in (0, 1), default 0.1
        As in :class:`LSTMRegressor`.
    validation_split : {"random", "time"}, default "random"
        As in :class:`LSTMRegressor`.
    n_iter_no_change : int, default 10
        As in :class:`LSTMRegressor`.
    random_state : None, int or RandomState, default None
        As in :class:`LSTMRegressor`.
    warm_start : bool, default False
        As in :class:`LSTMRegressor`.
    verbose : int, default 0
        As in :class:`LSTMRegressor`.
    standardize : bool, default True
        As in :class:`LSTMRegressor`.
    dtype : {"float32", "float64"}, default "float32"
        As in :class:`LSTMRegressor`.
    time_dim : str, default "time"
        As in :class:`LSTMRegressor`.
    feature_dim : str, default "feature"
        As in :class:`LSTMRegressor`.
    input_2d : {None, "series", "features"}, default None
        As in :class:`LSTMRegressor`.
    n_jobs : int or None, default None
        As in :class:`LSTMRegressor`.
    chrono_t_max : int >= 2, "auto" or None, default "auto"
        As in :class:`LSTMRegressor`.
    readout : {"last+mean", "last"}, default "last+mean"
        As in :class:`LSTMRegressor`.
    frame_stride : int >= 1 or "auto", default "auto"
        As in :class:`LSTMRegressor`.

    Attributes
    ----------
    classes_ : ndarray
        The class labels (any type scikit-learn accepts).
    n_outputs_ : int
        Number of network outputs (logits), one per class.
    network_, n_features_in_, feature_names_in_, loss_, loss_curve_, best_loss_, \
validation_scores_, best_validation_score_, validation_loss_curve_, best_validation_loss_, \
learning_rate_curve_, n_iter_, t_, stop_reason_, x_mean_, x_scale_, frame_stride_, \
chrono_t_max_
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

    def _init_targets(self, targets, lengths, weights=None):
        pass

    def _check_weighted_targets(self, targets, weights):
        codes = targets.reshape(len(targets), -1)
        weighted = np.unique(codes[weights > 0][~np.isnan(codes[weights > 0])])
        if len(weighted) < 2:
            raise ValueError(
                f"sample_weight: expected a positive weight on samples of at least 2 classes; "
                f"found {len(weighted)} class(es) "
                f"({[self.classes_[int(c)] for c in weighted]!r}).")

    def _target_state(self):
        return {"classes": self.classes_}

    def _set_target_state(self, state):
        self.classes_ = state["classes"]

    def _scaled_targets(self, targets):
        return targets

    def _stratify(self, y):
        if self.return_sequences:
            return None
        _, counts = np.unique(y, return_counts=True)
        return y if counts.min() >= 2 else None

    def _scaled_score(self, X, y, weights=None):
        """Accuracy over the observed labels at valid steps (padded steps have NaN outputs
        and do not count, whatever label they hold)."""
        logits = self._raw(X)
        padded = np.isnan(logits).any(axis=-1)
        pred = np.argmax(np.where(padded[..., None], 0.0, logits), axis=-1).astype(float)
        mask = ~np.isnan(y) & ~padded
        if weights is not None:
            weights = np.broadcast_to(weights.reshape((-1,) + (1,) * (y.ndim - 1)), y.shape)[mask]
        return float(accuracy_score(y[mask], pred[mask], sample_weight=weights))

    # -------------------------------------------------------------- public API
    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Fit the classifier.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences; see :meth:`LSTMRegressor.fit`.
            Dask-backed `X` (e.g. ``xr.open_zarr``) is streamed from its store, never
            computed whole, through a buffer of sample chunks
            (:mod:`seqlstm.data.chunked`, ``BUFFER_BYTES``); see the README's
            "Scaling out".
        y : array-like or DataArray
            Labels ``(n_samples,)``, or ``(n_samples, n_time)`` with ``return_sequences``
            (None/NaN: missing).
        sample_weight : array-like of shape (n_samples,), optional
            As in :meth:`LSTMRegressor.fit`; at least two classes need a positive weight.
        validation_data : (X_val, y_val) or (X_val, y_val, sample_weight_val), optional
            As in :meth:`LSTMRegressor.fit` (the score is the accuracy).

        Returns
        -------
        LSTMClassifier
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False, sample_weight=sample_weight,
                         validation_data=validation_data)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch (initialising the model at the first call).

        With ``learning_rate="cosine"`` the rate decays over `max_iter` calls (then stays 0);
        use "constant" for open-ended streaming.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences, as in :meth:`fit`.
        y : array-like or DataArray
            Labels, as in :meth:`fit`.
        classes : array-like, optional
            All classes, needed at the first call when `y` does not hold them all.
        sample_weight : array-like of shape (n_samples,), optional
            As in :meth:`fit`.

        Returns
        -------
        LSTMClassifier
            The fitted estimator.
        """
        return self._fit(X, y, incremental=True, classes=classes, sample_weight=sample_weight)

    def _proba(self, data, initial_state=None, return_state=False):
        raw = self._raw(*self._network_values(data), initial_state, return_state)
        if return_state:
            return softmax(raw[0]), raw[1]
        return softmax(raw)

    def _labels(self, proba):
        return most_probable(proba, self.classes_)

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
            return self._lazy(_lazy_proba, X, len(self.classes_), "class", names, np.float64)
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
            out = self._lazy(_lazy_labels, X, 1, "output", None, dtype)
            return out.squeeze("output", drop=True)
        data = self._validate_X(X, reset=False)
        return _data.wrap_labels(self._labels(self._proba(data)), data,
                                 per_step=bool(self.return_sequences))

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (over observed, non-padded steps with ``return_sequences``).

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences, as in :meth:`fit`.
        y : array-like or DataArray
            True labels, as in :meth:`fit`.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each sample.

        Returns
        -------
        float
            The accuracy (weighted with `sample_weight`).
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


def most_probable(proba, classes):
    """The labels of the highest probabilities; missing (NaN, or None for non-float labels) at
    padded steps (rows of NaN).

    Parameters
    ----------
    proba : ndarray, shape (..., n_classes)
    classes : ndarray, shape (n_classes,)

    Returns
    -------
    ndarray, shape proba.shape[:-1]
    """
    padded = np.isnan(proba).any(axis=-1)
    labels = classes[np.argmax(np.where(np.isnan(proba), -np.inf, proba), axis=-1)]
    if padded.any():
        if labels.dtype.kind == "f":
            labels[padded] = np.nan
        else:
            labels = labels.astype(object)
            labels[padded] = None
    return labels


def _lazy_proba(model, data, initial_state=None, return_state=False):
    """One chunk's class probabilities, for the lazy path (:meth:`LSTMClassifier._lazy`)."""
    return model._proba(data, initial_state, return_state)


def _lazy_labels(model, data, initial_state=None, return_state=False):
    """One chunk's labels ``(..., 1)``, for the lazy path."""
    out = model._proba(data, initial_state, return_state)
    proba, state = out if return_state else (out, None)
    labels = model._labels(proba)[..., None]
    return (labels, state) if return_state else labels
