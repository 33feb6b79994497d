"""NaN-aware per-feature scaling of sequence data.

:class:`SequenceScaler` is scikit-learn's ``StandardScaler`` for sequences: it takes 3-D input
``(n_samples, n_time, n_features)`` (or 2-D ``(n_samples, n_features)``, DataArrays and
Datasets, through :func:`seqlstm.data.to_sequences`), computes each feature's statistics over all
samples and valid time steps, ignores NaN (padding, missing values) and returns its output in the
input's own form.  :func:`nan_mean_std` is the statistic itself and :func:`scaling_statistics`
the fitted centre and scale, which the estimators use to scale internally.
"""

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._validation import check_features, record_feature_names
from .data import to_sequences, wrap_features
from .data.batches import sample_chunks
from .data.chunked import RowReader

__all__ = ["SequenceScaler", "nan_mean_std", "scaling_statistics"]


def nan_mean_std(values, lengths=None, sample_weight=None, rows=None):
    """Per-feature mean and standard deviation over samples and valid time steps.

    Parameters
    ----------
    values : array-like of shape (n_samples, n_time, n_features) or (n_samples, n_features)
        Data; NaN entries are ignored.  A :class:`seqlstm.data.chunked.RowReader` of a dask
        array is not computed whole: each of its chunks is computed once per pass (the same
        bits as the computed array gives).
    lengths : array-like of int of shape (n_samples,), optional
        Sequence lengths: time steps ``t >= lengths[i]`` of sample ``i`` are ignored whatever
        they hold.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weight of every value of a sample (an integer weight counts like that many
        copies of the sample).
    rows : array-like of int, optional
        Use only these samples, in this order (default: all), as ``values[rows]`` would (with
        `lengths` and `sample_weight` indexed alike), without copying them all.

    Returns
    -------
    mean, std : ndarray of float64, shape (n_features,)
        Mean and population standard deviation (``ddof=0``, as ``StandardScaler``) of each
        feature; NaN for a feature without any valid value.

    Notes
    -----
    The data are read in chunks of samples (:func:`seqlstm.data.batches.sample_chunks`), in
    float64, so the temporaries are one chunk's whatever the data's size.  The sums run over
    samples and steps in order, each chunk's rows added to the running sum (NumPy adds the rows
    of a 2-D array one after the other along axis 0), which is the sum over the whole array bit
    for bit with several features; with one feature NumPy sums pairwise within a chunk, so
    data larger than a chunk may differ in the last bits from a sum over the whole array.
    """
    if not isinstance(values, RowReader):  # a dask array's rows, read chunk by chunk
        values = np.asarray(values)
    if values.ndim == 2:
        values = values[:, np.newaxis, :]
    n_time, n_features = values.shape[1:]
    rows = np.arange(len(values)) if rows is None else np.asarray(rows)
    lengths = None if lengths is None else np.asarray(lengths)
    weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

    def chunks():
        """(values, valid, weight) of each chunk of `rows`, in float64."""
        for s0, s1 in sample_chunks(len(rows), n_time * n_features):
            r = rows[s0:s1]
            part = np.asarray(values[r], dtype=np.float64)
            valid = ~np.isnan(part)
            if lengths is not None:
                valid &= (np.arange(n_time) < lengths[r][:, np.newaxis])[:, :, np.newaxis]
            w = None
            if weight is not None:
                w = weight[r][:, np.newaxis, np.newaxis]
                valid &= w > 0
            yield part, valid, w

    if weight is not None:
        count = mean_sum = None
        for part, valid, w in chunks():
            count = _running_sum(count, np.where(valid, w, 0.0))
            mean_sum = _running_sum(mean_sum, np.where(valid, w * part, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = mean_sum / count
            var = None
            for part, valid, w in chunks():
                var = _running_sum(var, np.where(valid, w * (part - mean) ** 2, 0.0))
            var = var / count
        return mean, np.sqrt(var)
    count = mean_sum = None
    for part, valid, _ in chunks():
        count = _running_sum(count, valid)
        mean_sum = _running_sum(mean_sum, np.where(valid, part, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):  # features without any valid value
        mean = mean_sum / count
        var = None
        for part, valid, _ in chunks():
            var = _running_sum(var, np.where(valid, part - mean, 0.0) ** 2)
        var = var / count
    return mean, np.sqrt(var)


def _running_sum(total, part):
    """``total`` plus the sum of ``part`` over its first two axes, added row after row (the
    order of a sum over the whole array, see :func:`nan_mean_std`); ``total`` None: none yet."""
    part = part.reshape(-1, part.shape[-1])
    if total is None:
        return part.sum(axis=0)
    return np.concatenate([total[np.newaxis], part]).sum(axis=0)


def scaling_statistics(values, lengths=None, sample_weight=None, rows=None):
    """Centre and scale for standardizing each feature, as :class:`SequenceScaler` fits them.

    Parameters
    ----------
    values, lengths, sample_weight, rows
        As in :func:`nan_mean_std`.

    Returns
    -------
    mean : ndarray of float64, shape (n_features,)
        The mean, 0 for a feature without any valid value.
    scale : ndarray of float64, shape (n_features,)
        The standard deviation, 1 for a constant feature or one without any valid value.
    """
    mean, std = nan_mean_std(values, lengths, sample_weight, rows)
    return (np.where(np.isnan(mean), 0.0, mean),
            np.where((std > 0) & np.isfinite(std), std, 1.0))


class SequenceScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standardize each feature of sequence data, ignoring NaN.

    Each feature is centred by its mean and divided by its standard deviation, both computed over
    all samples and all valid time steps of the training data (NaN values, such as the padding
    of sequences of different lengths, are ignored).  NaN stays NaN.

    Parameters
    ----------
    with_mean : bool, default True
        Subtract the mean.
    with_std : bool, default True
        Divide by the standard deviation.
    time_dim : str, default "time"
        Name of the time dim of labeled input.
    feature_dim : str, default "feature"
        Name of the feature dim of labeled input.

    Attributes
    ----------
    mean_ : ndarray of shape (`n_features_in_`,)
        Mean of each feature (0 for a feature without any valid value).  Computed even when
        ``with_mean=False`` (then not applied).
    scale_ : ndarray of shape (`n_features_in_`,) or None
        Standard deviation of each feature, with 0 (constant feature) or no valid value replaced
        by 1.  None when ``with_std=False``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str of shape (`n_features_in_`,)
        Feature names seen during fit (feature coordinate of a DataArray, variables of a Dataset,
        columns of a DataFrame).  Defined only when the input had names.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : The same for 2-D data.
    nan_mean_std : The statistics alone.

    Notes
    -----
    Input is validated by :func:`seqlstm.data.to_sequences` with NaN allowed anywhere; inf is
    rejected.  The output has the input's form: a NumPy array of the input's shape (a list of
    sequences gives the NaN-padded 3-D array), a DataArray or Dataset with the input's dims,
    coordinates and attrs.  float32 input stays float32, anything else gives float64.  Dask-backed
    input is computed.

    Examples
    --------
    >>> import numpy as np
    >>> from seqlstm.preprocessing import SequenceScaler
    >>> X = np.array([[[1.0], [3.0]], [[5.0], [np.nan]]])
    >>> scaler = SequenceScaler().fit(X)
    >>> scaler.mean_, scaler.scale_.round(3)
    (array([3.]), array([1.633]))
    >>> scaler.transform(X)[:, :, 0].round(3)
    array([[-1.225,  0.   ],
           [ 1.225,    nan]])
    """

    def __init__(self, *, with_mean=True, with_std=True, time_dim="time", feature_dim="feature"):
        self.with_mean = with_mean
        self.with_std = with_std
        self.time_dim = time_dim
        self.feature_dim = feature_dim

    def fit(self, X, y=None):
        """Compute the per-feature mean and standard deviation.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences ``(n_samples, n_time, n_features)`` or ``(n_samples, n_features)``; see
            :func:`seqlstm.data.to_sequences`.
        y : None
            Ignored.

        Returns
        -------
        SequenceScaler
            The fitted estimator.
            The fitted scaler.
        """
        data = self._validate(X, reset=True)
        self.mean_, scale = scaling_statistics(data.values, data.lengths)
        self.scale_ = scale if self.with_std else None
        return self

    def transform(self, X):
        """Standardize `X`.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Sequences with the features seen during fit.

        Returns
        -------
        ndarray, DataArray or Dataset
            Scaled data in the input's form; NaN unchanged.
        """
        check_is_fitted(self)
        data = self._validate(X, reset=False)
        values = data.values  # a new array: safe to modify in place
        if self.with_mean:
            values -= self.mean_
        if self.with_std:
            values /= self.scale_
        return wrap_features(values, data)

    def inverse_transform(self, X):
        """Undo the scaling.

        Parameters
        ----------
        X : array-like, list of 2-D arrays, DataArray or Dataset
            Scaled sequences.

        Returns
        -------
        ndarray, DataArray or Dataset
            Data in original units, in the input's form; NaN unchanged.
        """
        check_is_fitted(self)
        data = self._validate(X, reset=False)
        values = data.values
        if self.with_std:
            values *= self.scale_
        if self.with_mean:
            values += self.mean_
        return wrap_features(values, data)

    def _validate(self, X, *, reset):
        """Convert `X`, set (``reset``) or check the number of features and feature names."""
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        data = to_sequences(  # 2-D is (n_samples, n_features), as for StandardScaler
            X, time_dim=self.time_dim, feature_dim=self.feature_dim, dtype=dtype, allow_nan=True,
            input_2d="features",
        )
        if reset:
            record_feature_names(self, data)
        else:
            check_features(self, data.n_features, data.feature_names)
        return data

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
