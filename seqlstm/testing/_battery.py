"""check_stability: run the property battery on a user's network or fitted estimator."""

import warnings
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from .._threads import numba_threads
from . import properties as P
from .strategies import MAX_MAGNITUDE, sequences

__all__ = ["PropertyResult", "StabilityReport", "StabilityError", "check_stability"]

_LIMITS = {"moderate": 100.0, "scaled": 2.0}
#: Properties that fit or save estimators: run on at most this many examples.
_EXPENSIVE = {"refit_determinism": 2, "save_load_roundtrip": 2}


@dataclass
class PropertyResult:
    """One row of a :class:`StabilityReport`.

    Parameters
    ----------
    name : str
        Property name (a function of :mod:`seqlstm.testing.properties`).
    examples : int
        Number of inputs tried.
    worst : float
        Worst value seen (NaN when no example ran).
    passed : bool or None
        None when the property does not apply to the model.
    threshold : str
        What ``worst`` is compared with.
    detail : str
        Why it failed or does not apply; empty otherwise.
    counterexample : ndarray or None
        The first input on which the property failed.
    """

    name: str
    examples: int
    worst: float
    passed: object
    threshold: str
    detail: str = ""
    counterexample: object = field(default=None, repr=False)

    @property
    def status(self):
        """The outcome as text: "pass", "FAIL" or "n/a"."""
        return {True: "pass", False: "FAIL", None: "n/a"}[self.passed]


class StabilityError(AssertionError):
    """Raised by ``check_stability(..., raise_on_failure=True)`` when a property fails."""


class StabilityReport:
    """Result of :func:`check_stability`: a table of property, examples tried, worst value
    seen and outcome.

    Parameters
    ----------
    results : iterable of PropertyResult
        The rows, one per property.
    model : str, default ""
        ``repr`` of the checked model (abbreviated).

    Attributes
    ----------
    results : list of PropertyResult
        The rows, one per property.
    model : str
        ``repr`` of the checked model (abbreviated).
    passed : bool
        True when no property failed (properties that do not apply do not count).
    """

    def __init__(self, results, model=""):
        self.results = list(results)
        self.model = model

    @property
    def passed(self):
        """Whether no property failed (properties that do not apply do not count)."""
        return all(r.passed is not False for r in self.results)

    @property
    def failures(self):
        """The failed properties, a list of :class:`PropertyResult`."""
        return [r for r in self.results if r.passed is False]

    def __getitem__(self, name):
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def __iter__(self):
        return iter(self.results)

    def __len__(self):
        return len(self.results)

    def __bool__(self):
        return self.passed

    def to_dict(self):
        """Return the table by column.

        Returns
        -------
        dict of str -> list
            ``property``, ``examples``, ``worst``, ``passed`` and ``threshold``;
            ``pandas.DataFrame(report.to_dict())`` is the table.
        """
        return {"property": [r.name for r in self.results],
                "examples": [r.examples for r in self.results],
                "worst": [r.worst for r in self.results],
                "passed": [r.passed for r in self.results],
                "threshold": [r.threshold for r in self.results]}

    def __str__(self):
        n_fail = len(self.failures)
        n_na = sum(r.passed is None for r in self.results)
        n_pass = len(self.results) - n_fail - n_na
        head = (f"Stability report for {self.model}\n"
                f"{'PASSED' if self.passed else 'FAILED'}: {n_pass} passed, {n_fail} failed, "
                f"{n_na} not applicable")
        w = max([len("property")] + [len(r.name) for r in self.results])
        lines = [head, f"{'property':<{w}}  examples  {'worst':>10}  result  threshold"]
        for r in self.results:
            worst = "-" if np.isnan(r.worst) else f"{r.worst:10.3g}"
            lines.append(f"{r.name:<{w}}  {r.examples:8d}  {worst:>10}  {r.status:<6}  "
                         f"{r.threshold}")
        for r in self.results:
            if r.detail and r.passed is not True:
                lines.append(f"  {r.name}: {r.detail}")
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):  # pragma: no cover - notebook display
        return "<pre>" + str(self).replace("&", "&amp;").replace("<", "&lt;") + "</pre>"


class _Failed(Exception):
    pass


def _trim(X):
    valid = ~np.isnan(X).all(axis=2)
    T = int(np.max(np.where(valid.any(axis=1), X.shape[1] - np.argmax(valid[:, ::-1], axis=1),
                            0)))
    return X[:, :max(T, 1)]


def _input_strategy(dtype, n_features, X, kind):
    """Inputs of `n_features` features: random sequences and/or random subsets of `X`
    (trimmed to their longest), at the magnitudes of `kind`."""
    limit = MAX_MAGNITUDE[str(dtype)] if kind == "extreme" else _LIMITS[kind]
    random = sequences(n_samples=st.integers(1, 4), n_time=st.integers(1, 10),
                       n_features=n_features, max_magnitude=limit)
    if X is None:
        return random
    B = X.shape[0]

    @st.composite
    def from_data(draw):
        k = draw(st.integers(1, min(4, B)))
        idx = draw(st.lists(st.integers(0, B - 1), min_size=k, max_size=k, unique=True))
        Xs = _trim(X[idx])
        amax = P._maxabs(Xs)
        if amax == 0:
            return Xs
        if kind == "extreme":
            target = draw(st.one_of(st.none(), st.sampled_from([1e3, limit]),
                                    st.floats(1.0, limit)))
            return Xs if target is None else Xs * (target / amax)
        return Xs * (limit / amax) if amax > limit else Xs

    if kind == "extreme":
        return st.one_of(from_data(), random)
    return from_data()


def _short_repr(model):
    text = repr(model).replace("\n", " ")
    return text if len(text) <= 200 else text[:197] + "..."


def check_stability(model, X=None, *, max_examples=10, random_state=0, properties=None,
                    raise_on_failure=False, n_jobs=1, loader=None, time_dim=None,
                    feature_dim=None):
    """Run the numerical-stability battery on a network or a fitted estimator.

    Each property of :mod:`seqlstm.testing.properties` is run by hypothesis on up to
    ``max_examples`` inputs: sequences drawn at random (NaN-padded, up to 1e6 in float32 and
    1e100 in float64 for the finiteness and boundedness properties) and, when ``X`` is given,
    random subsets of the user's sequences (rescaled to the magnitudes each property needs).
    Failing examples are not shrunk.

    On a fitted estimator, the network's properties (all but ``refit_determinism`` and
    ``save_load_roundtrip``) are checked on ``model.network_`` with the input the estimator
    gives it: ``X`` prepared by the estimator's own code
    (:func:`seqlstm.inspect.network_input`), standardized with the fitted statistics and, for
    a model that reads frames (``frame_stride_ > 1``, the default ``frame_stride="auto"`` on
    sequences longer than 64 steps), grouped into frames of ``2 * frame_stride_`` steps, NaN
    after each sequence's last frame.  Time is then counted in network steps, one per frame:
    ``causality`` checks that the output after frame ``j`` does not depend on later frames (it
    does see input steps up to ``j * frame_stride_ + 2 * frame_stride_ - 1``, the end of frame
    ``j``), ``padding_invariance`` appends NaN frames and runs each sequence alone on its own
    frames, ``tbptt_equals_full`` truncates in frames, ``cell_state_growth`` counts frames.
    The random draws are arrays of the network's input width (any input, not only one cut
    into frames).  ``refit_determinism`` and ``save_load_roundtrip`` fit and predict with the
    estimator on its own input, subsets of the sequences of ``X`` (random draws of
    ``n_features_in_`` features without ``X``).

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        An estimator needs a ``network_`` attribute and ``predict``; ``save`` and
        :func:`seqlstm.load` enable the save/load round trip, ``get_params``/``set_params``/
        ``fit`` the refit determinism (two fits with ``max_iter`` capped at 2, on the model's
        own predictions as targets).  The other properties run on ``model.network_`` with the
        input the estimator prepares for it (its ``_network_input``: scaling, frames) when it
        has that method, else with ``X`` itself.
    X : array-like or xarray.DataArray/Dataset, optional
        The user's sequences ``(sample, time, feature)``, read as the model reads them: labeled
        input with the estimator's ``time_dim`` and ``feature_dim`` (as in
        :func:`seqlstm.data.to_sequences`), a 2-D array as its ``input_2d`` says (a bare
        network, which has no such setting, refuses 2-D input).
    max_examples : int, default 10
        Examples per property (the fitting/saving properties try at most 2).
    random_state : int, default 0
        Seed of hypothesis and of the random choices inside the properties: the same seed
        gives the same report.
    properties : sequence of str, optional
        Names of the properties to run (default all of
        :data:`seqlstm.testing.properties.PROPERTIES`).
    raise_on_failure : bool, default False
        Raise :class:`StabilityError` (an AssertionError, for use in pytest) with the report
        when a property fails.
    n_jobs : int or None, default 1
        Threads while the battery runs (results do not depend on it; the
        thread-agreement property compares 1 and 2 threads itself).  None leaves the setting.
    loader : callable, optional
        ``path -> estimator`` for the round trip; default :func:`seqlstm.load`.
    time_dim, feature_dim : str, optional
        Dim names of labeled ``X``; default the estimator's ``time_dim`` and ``feature_dim``
        (else "time" and "feature").

    Returns
    -------
    StabilityReport
        Printable table; ``report.passed`` is True when no property failed.

    Examples
    --------
    >>> from seqlstm import RecurrentNetwork
    >>> from seqlstm.testing import check_stability
    >>> report = check_stability(RecurrentNetwork(2, 4, cell="gru", random_state=0),
    ...                          max_examples=3)                   # doctest: +SKIP
    >>> report.passed                                              # doctest: +SKIP
    True
    """
    net = P.get_network(model)
    names = list(P.PROPERTIES) if properties is None else list(properties)
    unknown = [n for n in names if n not in P.PROPERTIES]
    if unknown:
        raise ValueError(f"properties: unknown names {unknown}; choose from "
                         f"{list(P.PROPERTIES)}")
    if not isinstance(max_examples, (int, np.integer)) or max_examples < 1:
        raise ValueError(f"max_examples must be a positive integer, got {max_examples!r}")
    X_model = X_net = None
    if X is not None:
        from ..data import to_sequences

        # the model's own reading of X: its dims and its reading of 2-D arrays
        time_dim = time_dim or getattr(model, "time_dim", None) or "time"
        feature_dim = feature_dim or getattr(model, "feature_dim", None) or "feature"
        X_model = to_sequences(X, time_dim=time_dim, feature_dim=feature_dim,
                               input_2d=getattr(model, "input_2d", None)).values
        X_net = _network_values(model, net, X_model)
    results = []
    with numba_threads(n_jobs), warnings.catch_warnings():
        # the battery feeds the estimator the values of labeled X: not the user's doing
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        for i, name in enumerate(names):
            results.append(_run_property(name, model, net, X_model, X_net, max_examples,
                                         int(random_state) + 7919 * i, loader))
    report = StabilityReport(results, _short_repr(model))
    if raise_on_failure and not report.passed:
        raise StabilityError("\n" + str(report))
    return report


def _network_values(model, net, X):
    """The user's sequences `X` (as the model reads them) as the model feeds them to its
    network: an estimator's own preparation (:func:`seqlstm.inspect.network_input`, its
    ``_network_input``: standardized with the fitted statistics, in frames when
    ``frame_stride_ > 1``, NaN-padded in network steps), else `X` itself; float64."""
    from ..inspect import network_input

    with warnings.catch_warnings():
        # the battery hands the estimator the values of labeled X: not the user's doing
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        values = np.asarray(network_input(model, X)[0], dtype=np.float64)
    if values.shape[2] != net.input_size:
        raise ValueError(f"X has {values.shape[2]} features, but the network expects "
                         f"{net.input_size}")
    return values


def _run_property(name, model, net, X_model, X_net, max_examples, run_seed, loader):
    func, kind, threshold = P.PROPERTIES[name]
    n_max = min(max_examples, _EXPENSIVE.get(name, max_examples))
    if name in P.ESTIMATOR_PROPERTIES:  # fit / predict: the sequences as the model reads them
        strategy = _input_strategy(net.dtype, getattr(model, "n_features_in_", net.input_size),
                                   X_model, kind)
    else:                               # the network: its own input
        strategy = _input_strategy(net.dtype, net.input_size, X_net, kind)
    state = {"n": 0, "worst": np.nan, "failure": None}

    def call(Xe, s):
        if name in ("finite_outputs", "gradient_finite_differences", "tbptt_equals_full",
                    "permutation_equivariance", "causality", "padding_invariance",
                    "thread_agreement", "refit_determinism"):
            return func(model, Xe, random_state=s)
        if name == "save_load_roundtrip":
            return func(model, Xe, loader=loader)
        return func(model, Xe)

    @settings(max_examples=n_max, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @seed(run_seed)
    @given(strategy, st.integers(0, 2**32 - 1))
    def run(Xe, s):
        if state["failure"] is not None:
            raise _Failed
        try:
            ok, worst = call(Xe, s % 2**31)
        except P.NotApplicable:
            raise
        except Exception as exc:  # a crash is a failure of the property
            ok, worst = False, np.inf
            state["error"] = f"{type(exc).__name__}: {exc}"
        state["n"] += 1
        w = float(worst)
        state["worst"] = w if np.isnan(state["worst"]) else max(state["worst"], w)
        if not ok:
            state["failure"] = Xe
            raise _Failed

    try:
        run()
    except P.NotApplicable as exc:
        return PropertyResult(name, state["n"], np.nan, None, threshold, str(exc))
    except _Failed:
        X_fail = state["failure"]
        detail = state.get("error") or (f"failed on an input of shape {X_fail.shape} with "
                                        f"max |x| = {P._maxabs(X_fail):.3g}")
        return PropertyResult(name, state["n"], state["worst"], False, threshold, detail,
                              X_fail)
    return PropertyResult(name, state["n"], state["worst"], True, threshold)
