"""Rolling-origin validation along time for records: :class:`RollingOrigin` and :func:`along_time`.

A forecaster's settings are chosen by fitting it on the past and scoring it on what follows,
at several origins inside the training period (Tashman 2000, "rolling-origin evaluation"), never
on the test period.  scikit-learn's searches do that with a splitter::

    from sklearn.model_selection import GridSearchCV, cross_val_score
    from seqlstm import LSTMForecaster
    from seqlstm.model_selection import RollingOrigin, along_time

    cv = RollingOrigin(n_splits=3, test_size=12)
    search = GridSearchCV(LSTMForecaster(horizon=1), {"lookback": [12, 24, 36]}, cv=cv)
    search.fit(along_time(train))          # train: Dataset, DataArray or NumPy record

Why the record is wrapped
-------------------------
scikit-learn cuts ``X`` into folds with ``sklearn.utils._safe_indexing`` along its FIRST axis
and counts samples with ``_num_samples``: on a Dataset that count is the number of variables, a
DataArray is cut along its first dim whatever it is, and a ``(series, time, variable)`` array
along the series.  A splitter only yields positions; it cannot change how ``X`` is cut.
:func:`along_time` therefore gives scikit-learn an object whose one axis is time: its length is
the number of time steps (``time_dim`` of xarray input; axis 0 of NumPy ``(time,)`` and
``(time, variable)``, axis 1 of ``(series, time, variable)``), and indexing it with a run of
positions gives an :class:`AlongTime` fold, the same record restricted to those steps.  The
user's object is never copied or changed: a fold holds it and its ``[start, stop)``.
:meth:`RollingOrigin.split` refuses an unwrapped record (a TypeError saying how to wrap it), so
a search can never silently split the series or the variables instead of time.

What a fold means to the forecaster
-----------------------------------
- ``fit(fold)``, ``predict(fold)`` and ``forecast(fold)`` read the fold's steps only, as if the
  record were cut there: a training fold is exactly the data the model learns from.
- ``score(fold)`` and seqlstm's scorers (:func:`seqlstm.metrics.get_scorer`) score exactly the
  forecasts whose VALID time (issue time + lead) lies in the fold.  By default
  (``along_time(..., issue="rolling")``) these are the forecasts of every lead
  ``1 .. horizon`` and every issue time with a full lookback; the observations before the fold
  are read as inputs (history), never scored.  This is rolling-origin evaluation without
  refitting inside the test period (observations revealed as they come, the model fixed), and
  on a whole record it is what ``score`` has always computed.  A forecast issued before the
  fold whose lead reaches into it is scored too: its inputs are all observed before its issue
  time and the model was fitted on targets before the fold.  The history given is the
  forecaster's own ``lookback + horizon - 1`` steps (all there is near the record's start), so
  a search over ``lookback`` scores every candidate on the same valid times and leads: in a
  search the training fold before a test fold holds at least ``lookback + horizon`` steps
  (``fit`` requires them), so every forecast valid in the test fold is issued.  (A fold that
  starts at the record's first step, as an expanding training fold scored with
  ``return_train_score=True``, has no history and is scored as the record cut there.)  Nothing
  after the fold's last step is read.  Forecasts of an issue time whose window has missing
  inputs are not issued and not scored, as on a whole record.
- With ``along_time(..., issue="origin")`` the scored forecasts are those issued at the fold's
  origin, the step before its first step, one per step of the fold (leads ``1 .. test_size``,
  recursively past ``horizon`` as :meth:`~seqlstm.LSTMForecaster.forecast`; future covariates
  from the fold's own steps, which are known ahead by definition): the task of a benchmark that
  forecasts h steps from the end of its training part, with ``test_size = h``.  The origin's
  lookback must lie in the record and, with ``nan_inputs="skip"``, be free of NaN inputs; a
  model with past covariates cannot go past its horizon (``forecast``'s errors).  The steps of
  a ``gap`` before the fold are observed history in both modes.
- Only :class:`~seqlstm.LSTMForecaster` reads folds; a pipeline's transformers or another
  estimator would receive the :class:`AlongTime` object itself.

The splitter
------------
:class:`RollingOrigin` places ``n_splits`` test folds of ``test_size`` steps at the END of the
record, ``step_length`` steps apart (the last one ends at the last step, as
:class:`sklearn.model_selection.TimeSeriesSplit`); each training fold ends ``gap`` steps before
its test fold starts and begins at the record's start (``window="expanding"``) or
``window_length`` steps before its end (``window="sliding"``).  The names follow scikit-learn's
``TimeSeriesSplit`` (``n_splits``, ``test_size``, ``gap``) and sktime's window splitters
(``step_length``, ``window_length``).  Folds are never shuffled, and no test step comes before
a training step.  scikit-learn's own ``TimeSeriesSplit`` also works on a wrapped record (its
folds are runs of steps); a splitter whose training folds are not one run of steps (``KFold``)
is refused by the fold indexing.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import xarray as xr
from sklearn.model_selection import BaseCrossValidator

__all__ = ["RollingOrigin", "AlongTime", "along_time"]


class AlongTime:
    """A record seen by scikit-learn as a sequence of time steps (see the module docstring).

    Made by :func:`along_time`; indexing it with a run of positions gives another
    ``AlongTime`` on the same data.

    Parameters
    ----------
    data : ndarray, DataArray or Dataset
        The user's record, as given (never copied or changed).
    time_dim : str
        The time dim of xarray data (ignored for NumPy data, whose time axis its rank tells).
    start, stop : int
        The fold's steps ``[start, stop)`` along the record's time axis.
    issue : {"rolling", "origin"}, default "rolling"
        Which forecasts a forecaster's ``score`` scores on the fold (see :func:`along_time`).

    Attributes
    ----------
    data, time_dim, start, stop, issue
        The parameters.
    shape : tuple
        ``(stop - start,)``: scikit-learn counts time steps as samples.
    """

    def __init__(self, data, time_dim, start, stop, issue="rolling"):
        self.data = data
        self.time_dim = time_dim
        self.start = int(start)
        self.stop = int(stop)
        self.issue = issue

    @property
    def shape(self):
        """``(stop - start,)``: the fold's number of time steps, which scikit-learn counts as
        samples."""
        return (self.stop - self.start,)

    def __len__(self):
        return self.stop - self.start

    def __repr__(self):
        return (f"AlongTime({type(self.data).__name__}, time_dim={self.time_dim!r}, "
                f"steps {self.start}..{self.stop - 1}, issue={self.issue!r})")

    def __getitem__(self, key):
        """The fold of the steps `key` (a run of positions within this fold, relative to it).

        Parameters
        ----------
        key : slice, array of int or array of bool
            Consecutive increasing positions (a slice of step 1, integer positions, or a
            boolean mask over the fold's steps).  ``(key, ...)`` as scikit-learn passes it is
            accepted.

        Returns
        -------
        AlongTime
        """
        if isinstance(key, tuple) and len(key) == 2 and key[1] is Ellipsis:
            key = key[0]
        n = len(self)
        if isinstance(key, slice):
            pos = np.arange(n)[key]
        else:
            pos = np.asarray(key)
            if pos.dtype == bool:
                if pos.shape != (n,):
                    raise ValueError(f"key: expected a boolean mask of {n} steps; found shape "
                                     f"{pos.shape}.")
                pos = np.flatnonzero(pos)
            elif pos.ndim != 1 or pos.dtype.kind not in "iu":
                raise TypeError(f"key: expected a slice or a 1-D array of integer positions or "
                                f"booleans along time; found {pos.dtype} of shape {pos.shape}.")
        if pos.size == 0:
            raise ValueError("key: expected at least one time step; found none.")
        if pos[0] < 0 or pos[-1] >= n:
            raise ValueError(f"key: expected positions in [0, {n}); found {pos[0]} .. "
                             f"{pos[-1]}.")
        if not np.array_equal(pos, pos[0] + np.arange(pos.size)):
            raise ValueError(
                "key: expected consecutive increasing time steps (a fold along time is one run "
                f"of steps; use a splitter along time such as RollingOrigin); found positions "
                f"{_brief(pos)}.")
        return AlongTime(self.data, self.time_dim, self.start + pos[0],
                         self.start + pos[-1] + 1, self.issue)

    def cut(self, first, stop):
        """The user's data cut to the record's steps ``[first, stop)`` (positions in the whole
        record, not in the fold): a Dataset/DataArray through ``isel`` along ``time_dim``, a
        NumPy array through a basic slice of its time axis (a view).

        Parameters
        ----------
        first, stop : int
            ``0 <= first < stop <= n_time``, the record's length.

        Returns
        -------
        ndarray, DataArray or Dataset
            The user's data restricted to those steps.
        """
        n_time = _n_time(self.data, self.time_dim)
        if not 0 <= first < stop <= n_time:
            raise ValueError(f"first, stop: expected 0 <= first < stop <= {n_time}; found "
                             f"{first}, {stop}.")
        if isinstance(self.data, (xr.Dataset, xr.DataArray)):
            return self.data.isel({self.time_dim: slice(first, stop)})
        if self.data.ndim == 3:
            return self.data[:, first:stop]
        return self.data[first:stop]

    def steps(self):
        """The user's data cut to this fold's steps (what ``fit`` and ``predict`` read).

        Returns
        -------
        ndarray, DataArray or Dataset
            :meth:`cut` of ``[start, stop)``.
        """
        return self.cut(self.start, self.stop)


def along_time(data, time_dim="time", *, issue="rolling"):
    """Wrap a record so that scikit-learn's searches split it along time.

    Parameters
    ----------
    data : ndarray, xarray.DataArray or xarray.Dataset
        A record as :class:`~seqlstm.LSTMForecaster` reads it: NumPy ``(time,)``,
        ``(time, variable)`` or ``(series, time, variable)``; a DataArray or Dataset with a
        dim `time_dim` in any position.  It is held as given, not copied.
    time_dim : str, default "time"
        The time dim of xarray data (the forecaster's ``time_dim``).
    issue : {"rolling", "origin"}, default "rolling"
        The forecasts a forecaster's ``score`` (and seqlstm's scorers) score on a test fold:
        "rolling", every forecast whose valid time lies in the fold, each lead
        ``1 .. horizon``, issued at any step with the steps before it observed (rolling-origin
        evaluation inside the fold, the model fixed); "origin", the forecasts issued at the
        fold's origin (the step before its first) for each of its steps, recursively past the
        horizon as :meth:`~seqlstm.LSTMForecaster.forecast` does (the evaluation of a
        benchmark that forecasts h steps from the end of its training part).

    Returns
    -------
    AlongTime
        Of length the number of time steps; give it to ``GridSearchCV.fit`` or
        ``cross_val_score`` with ``cv=RollingOrigin(...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from seqlstm.model_selection import RollingOrigin, along_time
    >>> record = along_time(np.zeros((2, 10, 1)))          # 2 series, 10 steps, 1 variable
    >>> len(record)
    10
    >>> [(train.tolist(), test.tolist())
    ...  for train, test in RollingOrigin(n_splits=2, test_size=2, gap=1).split(record)]
    [([0, 1, 2, 3, 4], [6, 7]), ([0, 1, 2, 3, 4, 5, 6], [8, 9])]
    """
    if isinstance(data, AlongTime):
        raise TypeError(f"data: expected a record to wrap; found {data!r}, already wrapped.")
    if not isinstance(data, (xr.Dataset, xr.DataArray)):
        data = np.asarray(data)
    if not isinstance(time_dim, str):
        raise TypeError(f"time_dim: expected a str; found {type(time_dim).__name__}.")
    if issue not in ("rolling", "origin"):
        raise ValueError(f"issue: expected 'rolling' or 'origin'; found {issue!r}.")
    return AlongTime(data, time_dim, 0, _n_time(data, time_dim), issue)


def _n_time(data, time_dim):
    """The number of time steps of a record (checked: time dim present, NumPy rank 1-3)."""
    if isinstance(data, (xr.Dataset, xr.DataArray)):
        if time_dim not in data.dims:
            raise ValueError(f"data: expected a time dim named {time_dim!r} (time_dim); found "
                             f"dims {tuple(data.dims)}.")
        return int(data.sizes[time_dim])
    if data.ndim not in (1, 2, 3):
        raise ValueError(f"data: expected a NumPy array (time,), (time, variable) or (series, "
                         f"time, variable); found {data.ndim} dims {data.shape}.")
    return int(data.shape[1] if data.ndim == 3 else data.shape[0])


def _brief(pos):
    """A short text of positions for an error message."""
    return str(pos.tolist()) if pos.size <= 8 else f"{pos[:4].tolist()} ... {pos[-4:].tolist()}"


class RollingOrigin(BaseCrossValidator):
    """Rolling-origin splitter along time: expanding or sliding training windows, a gap, test
    folds of a fixed number of steps at the end of the record.

    The k-th of ``n_splits`` folds (k = 0 .. n_splits - 1) on a record of T steps::

        test  = [s_k, s_k + test_size)       s_k = T - test_size - (n_splits - 1 - k) * step_length
        train = [0, s_k - gap)                               window="expanding"
              = [s_k - gap - window_length, s_k - gap)       window="sliding"

    so the last test fold ends at the record's last step, every training step comes before
    every test step of its fold, and ``gap`` steps between them are neither trained on nor
    scored (a forecaster reads them as inputs: they are observed before the test period).

    Parameters
    ----------
    n_splits : int, default 5
        Number of origins (folds), >= 1.
    test_size : int, optional
        Steps in each test fold, >= 1.  Default: ``T // (n_splits + 1)``, as scikit-learn's
        ``TimeSeriesSplit``.
    gap : int, default 0
        Steps left out between a training fold's end and its test fold's start.
    step_length : int, optional
        Steps between consecutive origins, >= 1.  Default: `test_size` (the test folds adjoin).
    window : {"expanding", "sliding"}, default "expanding"
        Training from the record's start, or from `window_length` steps before the origin.
    window_length : int, optional
        Training steps of every fold with ``window="sliding"`` (default: those of the first
        fold, so that every fold trains on as many steps); must be None with "expanding".

    Notes
    -----
    Use it on a record wrapped by :func:`along_time`; see :mod:`seqlstm.model_selection` for
    how a forecaster fits and scores the folds.  Fold positions are NumPy int64 arrays of
    consecutive steps, never shuffled.

    Examples
    --------
    >>> import numpy as np
    >>> from seqlstm.model_selection import RollingOrigin, along_time
    >>> cv = RollingOrigin(n_splits=2, test_size=3, window="sliding", window_length=4)
    >>> [(train.tolist(), test.tolist()) for train, test in cv.split(along_time(np.zeros(12)))]
    [([2, 3, 4, 5], [6, 7, 8]), ([5, 6, 7, 8], [9, 10, 11])]
    """

    def __init__(self, n_splits=5, *, test_size=None, gap=0, step_length=None,
                 window="expanding", window_length=None):
        self.n_splits = n_splits
        self.test_size = test_size
        self.gap = gap
        self.step_length = step_length
        self.window = window
        self.window_length = window_length

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of folds, `n_splits`.

        Parameters
        ----------
        X, y, groups : object, optional
            Unused (scikit-learn's splitter interface).

        Returns
        -------
        int
            `n_splits`.
        """
        _check_int(self.n_splits, "n_splits", 1)
        return int(self.n_splits)

    def split(self, X, y=None, groups=None):
        """Training and test positions along time of every fold, in time order.

        Parameters
        ----------
        X : AlongTime
            The record wrapped by :func:`along_time`.
        y, groups : None
            Unused (a forecaster's targets are variables of the record).

        Yields
        ------
        train, test : ndarray of int64
            Consecutive time steps of the fold's training and test parts.
        """
        if not isinstance(X, AlongTime):
            raise TypeError(
                "X: expected a record wrapped by seqlstm.model_selection.along_time(X, "
                "time_dim=...) so that scikit-learn splits it along time (it cuts X along its "
                f"first axis otherwise); found {type(X).__name__}.")
        for (train0, train1), (test0, test1) in self._folds(len(X)):
            yield (np.arange(train0, train1, dtype=np.int64),
                   np.arange(test0, test1, dtype=np.int64))

    def _folds(self, n_time):
        """``[(train_start, train_stop), (test_start, test_stop)]`` of every fold of a record
        of `n_time` steps (the settings checked against it)."""
        n = self.get_n_splits()
        if self.test_size is None:
            size = n_time // (n + 1)
            if size < 1:
                raise ValueError(
                    f"n_splits: expected at most {n_time - 1} folds with the default "
                    f"test_size = T // (n_splits + 1) on a record of T = {n_time} steps; found "
                    f"n_splits={n}.")
        else:
            size = _check_int(self.test_size, "test_size", 1)
        gap = _check_int(self.gap, "gap", 0)
        step = size if self.step_length is None else _check_int(self.step_length,
                                                                "step_length", 1)
        if self.window not in ("expanding", "sliding"):
            raise ValueError(f"window: expected 'expanding' or 'sliding'; found "
                             f"{self.window!r}.")
        first_end = n_time - size - (n - 1) * step - gap      # the first training fold's stop
        if first_end < 1:
            raise ValueError(
                f"X: expected a record of more than gap + test_size + (n_splits - 1) * "
                f"step_length = {gap} + {size} + {n - 1} * {step} = "
                f"{gap + size + (n - 1) * step} steps (at least one training step before the "
                f"first fold; n_splits={n}, test_size={size}, gap={gap}, step_length={step}); "
                f"found {n_time} steps.")
        length = None
        if self.window == "sliding":
            if self.window_length is None:
                length = first_end
            else:
                length = _check_int(self.window_length, "window_length", 1)
                if length > first_end:
                    raise ValueError(
                        f"window_length: expected at most {first_end} steps (the training "
                        f"steps before the first fold of a record of {n_time} steps with "
                        f"n_splits={n}, test_size={size}, gap={gap}, step_length={step}); "
                        f"found {length}.")
        elif self.window_length is not None:
            raise ValueError(f"window_length: expected None with window='expanding' (set "
                             f"window='sliding' for a fixed training length); found "
                             f"{self.window_length!r}.")
        folds = []
        for k in range(n):
            test0 = n_time - size - (n - 1 - k) * step
            end = test0 - gap
            folds.append(((0 if length is None else end - length, end), (test0, test0 + size)))
        return folds


def _check_int(value, name, low):
    """`value` as an int >= `low`, or a TypeError/ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name}: expected an integer >= {low}; found {value!r}.")
    if value < low:
        raise ValueError(f"{name}: expected an integer >= {low}; found {value}.")
    return int(value)
