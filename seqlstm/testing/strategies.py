"""Hypothesis strategies for recurrent-network inputs and configurations.

- :func:`sequences`: NumPy arrays ``(sample, time, feature)`` with NaN padding of random lengths
  at the end of each sequence and elements up to extreme magnitudes;
- :func:`labeled_sequences`: :class:`xarray.DataArray` versions with random dim names,
  coordinates and attributes;
- :func:`network_configs` and :func:`networks`: random small network configurations (cell,
  layers, direction, hidden size, dtype, head, TBPTT) and networks built from them.

This module imports hypothesis, which is only a test dependency of seqlstm: import it from
tests, not from library code.
"""

import string

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..network import CELLS, RecurrentNetwork

__all__ = [
    "MAX_MAGNITUDE",
    "sequences",
    "padded_sequences",
    "labeled_sequences",
    "network_configs",
    "networks",
    "build_network",
]

#: Largest input magnitude the stability battery promises finite results for, by dtype.
MAX_MAGNITUDE = {"float32": 1e6, "float64": 1e100}

_NAME_CHARS = string.ascii_lowercase + "_"


def _as_strategy(value):
    return value if isinstance(value, st.SearchStrategy) else st.just(value)


@st.composite
def padded_sequences(draw, n_samples=st.integers(1, 4), n_time=st.integers(1, 8),
                     n_features=st.integers(1, 3), max_magnitude=None, dtype="float64",
                     min_length=1, pad=True):
    """Draw sequences with NaN padding, returned with their lengths.

    Parameters
    ----------
    n_samples, n_time, n_features : int or SearchStrategy of int
        Shape of the array ``(sample, time, feature)``.
    max_magnitude : float, SearchStrategy of float or None
        Elements are finite floats of the given dtype with ``|x| <= max_magnitude``; default
        :data:`MAX_MAGNITUDE` of the dtype (1e6 for float32, 1e100 for float64).  Hypothesis
        favours the boundaries, so extreme values are drawn often.
    dtype : {"float32", "float64"}, default "float64"
        Element dtype of the returned array.
    min_length : int, default 1
        Smallest valid length of a sequence (0 allows sequences that are all padding).
    pad : bool, default True
        Draw a random valid length for every sequence and fill the rest with NaN; when False
        every sequence has length ``n_time``.

    Returns
    -------
    SearchStrategy of tuple
        ``(X, lengths)``: ``X`` of shape (sample, time, feature), NaN at every step
        ``t >= lengths[sample]``; ``lengths`` int64 of shape (sample,), at least one sequence
        of full length ``n_time`` so that the time axis is never all padding.
    """
    dtype = np.dtype(dtype).name
    B = draw(_as_strategy(n_samples))
    T = draw(_as_strategy(n_time))
    n_in = draw(_as_strategy(n_features))
    mag = draw(_as_strategy(MAX_MAGNITUDE[dtype] if max_magnitude is None else max_magnitude))
    width = 32 if dtype == "float32" else 64
    elements = st.floats(-mag, mag, allow_nan=False, allow_infinity=False, width=width)
    X = draw(hnp.arrays(dtype, (B, T, n_in), elements=elements))
    if pad:
        lo = min(max(int(min_length), 0), T)
        lengths = np.array(draw(st.lists(st.integers(lo, T), min_size=B, max_size=B)),
                           dtype=np.int64)
        lengths[draw(st.integers(0, B - 1))] = T
    else:
        lengths = np.full(B, T, np.int64)
    X[np.arange(T)[None, :] >= lengths[:, None]] = np.nan
    return X, lengths


def sequences(n_samples=st.integers(1, 4), n_time=st.integers(1, 8), n_features=st.integers(1, 3),
              max_magnitude=None, dtype="float64", min_length=1, pad=True):
    """Draw arrays ``(sample, time, feature)`` with NaN padding at the end of each sequence.

    The arrays of :func:`padded_sequences` without the lengths (a step of all-NaN features at
    the end of a sequence is padding).

    Parameters
    ----------
    n_samples, n_time, n_features : int or SearchStrategy of int
        Shape of the array ``(sample, time, feature)``.
    max_magnitude : float, SearchStrategy of float or None
        Largest ``|x|``; default :data:`MAX_MAGNITUDE` of the dtype.
    dtype : {"float32", "float64"}, default "float64"
        Element dtype of the returned array.
    min_length : int, default 1
        Smallest valid length of a sequence (0 allows sequences that are all padding).
    pad : bool, default True
        Draw a random valid length for every sequence; when False every sequence has length
        ``n_time``.

    Returns
    -------
    SearchStrategy of ndarray
        Arrays ``(sample, time, feature)``.

    Examples
    --------
    >>> from hypothesis import given
    >>> from seqlstm.testing.strategies import sequences
    >>> @given(sequences(n_features=2, max_magnitude=10.0))
    ... def test_shape(X):
    ...     assert X.shape[2] == 2
    """
    return padded_sequences(n_samples, n_time, n_features, max_magnitude, dtype, min_length,
                            pad).map(lambda pair: pair[0])


def _names(n, exclude=()):
    name = st.text(_NAME_CHARS, min_size=1, max_size=8).filter(
        lambda s: s not in exclude and not s.startswith("__"))
    return st.lists(name, min_size=n, max_size=n, unique=True)


_attr_values = st.one_of(st.text(string.printable, max_size=12),
                         st.integers(-1000, 1000),
                         st.floats(-1e6, 1e6, allow_nan=False))


@st.composite
def labeled_sequences(draw, n_sample_dims=st.integers(1, 2), n_time=st.integers(1, 8),
                      n_features=st.integers(1, 3), max_magnitude=10.0, dtype="float64",
                      min_length=1, time_dim=None, feature_dim=None):
    """Labeled sequences: a DataArray with random dim names, coordinates and attributes.

    Parameters
    ----------
    n_sample_dims : int or SearchStrategy of int
        Number of sample dims (each of size 1 to 3); seqlstm stacks several into one.
    n_time, n_features : int or SearchStrategy of int
        Number of time steps and of features.
    max_magnitude : float or SearchStrategy of float, default 10.0
        Bound of the element magnitudes (see :func:`padded_sequences`).
    dtype : {"float32", "float64"}
        Element dtype.
    min_length : int, default 1
        Smallest valid length of a sequence (its later steps are NaN padding).
    time_dim, feature_dim : str or None
        Names of the time and feature dims; random when None.

    Returns
    -------
    SearchStrategy of xarray.DataArray
        Dims ``(*sample_dims, time_dim, feature_dim)`` in this order, so ``da.dims[-2]`` and
        ``da.dims[-1]`` name the time and feature dims to pass as ``time_dim=`` and
        ``feature_dim=``.  Sample dims have integer or string coordinates (or none), the time
        dim a datetime or float coordinate, the feature dim string labels; ``attrs`` and
        ``name`` are random.
    """
    import xarray as xr

    k = draw(_as_strategy(n_sample_dims))
    fixed = tuple(n for n in (time_dim, feature_dim) if n is not None)
    names = draw(_names(k + 2, exclude=fixed))
    tdim = time_dim if time_dim is not None else names[k]
    fdim = feature_dim if feature_dim is not None else names[k + 1]
    sample_dims = [n for n in names[:k] if n not in (tdim, fdim)][:k]
    sizes = draw(st.lists(st.integers(1, 3), min_size=len(sample_dims),
                          max_size=len(sample_dims)))
    B = int(np.prod(sizes)) if sizes else 1
    X, _ = draw(padded_sequences(B, n_time, n_features, max_magnitude, dtype, min_length))
    T, n_in = X.shape[1:]
    values = X.reshape(tuple(sizes) + (T, n_in))
    coords = {}
    for dim, size in zip(sample_dims, sizes):
        kind = draw(st.sampled_from(["none", "int", "str"]))
        if kind == "int":
            coords[dim] = draw(st.lists(st.integers(-10**6, 10**6), min_size=size,
                                        max_size=size, unique=True))
        elif kind == "str":
            coords[dim] = draw(_names(size))
    if draw(st.booleans()):
        start = draw(st.integers(0, 20000))
        coords[tdim] = (np.datetime64("1970-01-01", "D") + start
                        + np.arange(T).astype("timedelta64[D]"))
    else:
        coords[tdim] = np.cumsum(draw(hnp.arrays("float64", T, elements=st.floats(0.1, 10))))
    coords[fdim] = draw(_names(n_in))
    attrs = draw(st.dictionaries(st.text(_NAME_CHARS, min_size=1, max_size=6), _attr_values,
                                 max_size=3))
    name = draw(st.one_of(st.none(), st.text(_NAME_CHARS, min_size=1, max_size=6)))
    return xr.DataArray(values, dims=tuple(sample_dims) + (tdim, fdim), coords=coords,
                        attrs=attrs, name=name)


@st.composite
def network_configs(draw, cells=CELLS, input_size=st.integers(1, 3), hidden_size=st.integers(1, 4),
                    num_layers=st.integers(1, 2), bidirectional=st.booleans(),
                    dtype=st.sampled_from(["float32", "float64"]),
                    output_size=st.sampled_from([None, 1, 2]), tbptt=st.none()):
    """Small random network configurations.

    Parameters
    ----------
    cells : sequence of str
        Cells to choose from (default all: lstm, peephole, cifg, gru, rnn).
    input_size, hidden_size, num_layers : int or SearchStrategy of int
        Sizes of the network, as in :class:`~seqlstm.RecurrentNetwork`.
    bidirectional : bool or SearchStrategy of bool
        Whether the layers are bidirectional.
    dtype : str or SearchStrategy of str
        Compute dtype ("float32" or "float64").
    output_size : int, None or SearchStrategy
        Size of the linear head (None: no head).
    tbptt : None, int, tuple or SearchStrategy
        Truncation used for gradients, e.g. ``st.one_of(st.none(), st.integers(1, 8))``.

    Returns
    -------
    SearchStrategy of dict
        Keyword arguments of :class:`~seqlstm.RecurrentNetwork` (``input_size``,
        ``hidden_size``, ``num_layers``, ``cell``, ``bidirectional``, ``output_size``,
        ``dtype``, ``random_state``) plus ``"tbptt"``; build with :func:`build_network`.
    """
    return {
        "input_size": draw(_as_strategy(input_size)),
        "hidden_size": draw(_as_strategy(hidden_size)),
        "num_layers": draw(_as_strategy(num_layers)),
        "cell": draw(st.sampled_from(list(cells))),
        "bidirectional": draw(_as_strategy(bidirectional)),
        "output_size": draw(_as_strategy(output_size)),
        "dtype": draw(_as_strategy(dtype)),
        "random_state": draw(st.integers(0, 2**32 - 1)),
        "tbptt": draw(_as_strategy(tbptt)),
    }


def build_network(config, cls=RecurrentNetwork):
    """Build a network from a configuration of :func:`network_configs`.

    Parameters
    ----------
    config : dict
        Keyword arguments of the network; a ``"tbptt"`` entry is ignored.
    cls : type, default RecurrentNetwork
        Network class (a subclass with the same constructor works).

    Returns
    -------
    RecurrentNetwork
        The network, initialised from the configuration's ``random_state``.
    """
    return cls(**{k: v for k, v in config.items() if k != "tbptt"})


def networks(cls=RecurrentNetwork, **kwargs):
    """Draw random small networks: :func:`network_configs` built.

    The first argument, ``cls`` (default :class:`~seqlstm.RecurrentNetwork`), is the network
    class to build (a subclass with the same constructor works).

    Parameters
    ----------
    **kwargs
        Keyword arguments of :func:`network_configs`.

    Returns
    -------
    SearchStrategy of RecurrentNetwork
        Networks with their own random initialisation.
    """
    return network_configs(**kwargs).map(lambda c: build_network(c, cls))
