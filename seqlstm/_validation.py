"""Feature-count and feature-name checks shared by the estimators and the transformers.

At fit, :func:`record_feature_names` sets ``n_features_in_`` and ``feature_names_in_`` from the
validated input; afterwards :func:`check_features` compares new input with them, with
scikit-learn's own messages and order (names first, then count), as scikit-learn's estimator
checks expect.
"""

import warnings

import numpy as np

__all__ = ["record_feature_names", "check_features"]


def record_feature_names(estimator, data):
    """Set ``n_features_in_`` and ``feature_names_in_`` (or remove a stale one) on a fitting
    estimator from ``data`` (a :class:`~seqlstm.data.SequenceData`), as scikit-learn does."""
    estimator.n_features_in_ = data.n_features
    if data.feature_names is not None:
        estimator.feature_names_in_ = data.feature_names
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_


def check_features(estimator, n_features, names):
    """Check input with `n_features` features named `names` against a fitted `estimator`.

    Parameters
    ----------
    estimator : fitted estimator
        Has ``n_features_in_`` and, when fitted with names, ``feature_names_in_``.
    n_features : int
        Number of features of the new input.
    names : ndarray of str or None
        Feature names of the new input.

    Warns
    -----
    UserWarning
        When only one of the fit input and the new input had feature names.

    Raises
    ------
    ValueError
        When the names differ (unseen, missing or reordered) or the count differs.
    """
    cls = type(estimator).__name__
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None and names is None:
        warnings.warn(f"X does not have valid feature names, but {cls} was fitted with "
                      f"feature names")
    elif fitted is None and names is not None:
        warnings.warn(f"X has feature names, but {cls} was fitted without feature names")
    elif fitted is not None and (len(fitted) != len(names) or np.any(fitted != names)):
        raise ValueError(_names_mismatch(fitted, names))
    if n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {cls} is expecting {estimator.n_features_in_} "
            f"features as input."
        )


def _names_mismatch(fitted, names):
    """scikit-learn's message for feature names that differ from those seen at fit."""
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
    return message
