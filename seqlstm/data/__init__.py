"""Labeled input and output: where estimators meet NumPy arrays, DataArrays and Datasets.

Estimators never look at dims or coordinates themselves.  They call

- :func:`to_sequences` on ``X`` (:mod:`.sequences`) to get a :class:`SequenceData`: a fresh
  C-contiguous float array ``(n_samples, n_time, n_features)``, the length of every NaN-padded
  sequence, the feature names and everything needed to label outputs like the input;
- :func:`to_targets` (regression) or :func:`to_labels` (classification) on ``y``
  (:mod:`.targets`), aligned with ``X``'s samples;
- :func:`wrap_output` / :func:`wrap_labels` / :func:`wrap_features` (:mod:`.wrapping`) to give
  predictions the input's type, sample coordinates, time coordinate and attributes;
- :func:`frame_sequences` (:mod:`.framing`) to group long sequences into half-overlapping
  frames, the network's steps when ``frame_stride > 1``;
- :func:`~.batches.scaled_copy` and :class:`~.batches.SequenceBatches` (:mod:`.batches`) in
  ``fit``: one standardised copy of the data, and minibatches (frames included) gathered from
  it by index into a reused buffer;
- :func:`is_dask` / :func:`predict_lazily` / :func:`apply_lazily` / :func:`lazy_feature_info`
  (:mod:`.lazy`) to predict lazily on dask-backed input.

Conventions
-----------
NumPy input is ``(sample, time, feature)`` and gives NumPy output.  A 2-D array is read only
as the caller's ``input_2d`` says: "series", ``(sample, time)`` univariate series, or
"features", ``(sample, feature)`` sequences of length one; without it, it is refused (never
guessed).  A DataArray needs a time dim and a feature dim (names are parameters);
every other dim is a sample dim, and several sample dims are stacked into one, in C order.  A
Dataset's data variables are the features.  Padding is NaN at the end of a sequence: whole time
steps where every feature is NaN.  NaN or inf anywhere else is an error.

``write_netcdf`` and ``read_netcdf`` now live in :mod:`seqlstm.io`; they are still reachable
here.
"""

from .._validation import record_feature_names  # noqa: F401 (former home)
from .framing import frame_sequences, framed_data
from .lazy import apply_lazily, is_dask, lazy_feature_info, predict_lazily
from .sequences import SequenceData, to_sequences
from .targets import Targets, to_labels, to_targets
from .wrapping import _wrap  # noqa: F401 (used by seqlstm.inspect)
from .wrapping import wrap_features, wrap_labels, wrap_output

__all__ = [
    "SequenceData",
    "frame_sequences",
    "framed_data",
    "Targets",
    "to_sequences",
    "to_targets",
    "to_labels",
    "wrap_output",
    "wrap_labels",
    "wrap_features",
    "is_dask",
    "apply_lazily",
    "predict_lazily",
    "lazy_feature_info",
    "write_netcdf",
    "read_netcdf",
]

# Kept importable from here for code written against the former single-module seqlstm.data.
_MOVED_TO_IO = ("write_netcdf", "read_netcdf")


def __getattr__(name):
    if name in _MOVED_TO_IO:
        from .. import io

        return getattr(io, name)
    raise AttributeError(f"module 'seqlstm.data' has no attribute {name!r}")
