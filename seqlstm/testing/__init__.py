"""Property-based numerical-stability testing for seqlstm networks and estimators.

Importing this package needs hypothesis (a test dependency); ``import seqlstm`` alone does not.

Public API
----------
check_stability        run the battery on a network or fitted estimator -> StabilityReport
StabilityReport        printable table (property, examples, worst value, passed); ``.passed``
StabilityError         raised by ``check_stability(..., raise_on_failure=True)``
properties             the properties, each ``prop(model, X, ...) -> (ok, worst)``
strategies             hypothesis strategies: sequences, labeled_sequences, network_configs, ...
register_profiles      (re)register the hypothesis profiles "seqlstm-ci" and "seqlstm-thorough"
load_profile           load one of them (``settings.load_profile``)

Hypothesis profiles
-------------------
Both profiles have ``deadline=None`` (the first call of a kernel compiles it).
"seqlstm-ci": 10 examples per test, derandomized, for continuous integration.
"seqlstm-thorough": 300 examples per test, for users who want more confidence.
They are registered when this package is imported but never loaded unless asked::

    from seqlstm.testing import load_profile
    load_profile("seqlstm-thorough")
"""

from hypothesis import HealthCheck, settings

from . import properties, strategies
from ._battery import PropertyResult, StabilityError, StabilityReport, check_stability
from .properties import PROPERTIES, NotApplicable

__all__ = [
    "check_stability",
    "StabilityReport",
    "StabilityError",
    "PropertyResult",
    "PROPERTIES",
    "NotApplicable",
    "properties",
    "strategies",
    "PROFILES",
    "register_profiles",
    "load_profile",
]

_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
#: Settings of the hypothesis profiles registered by :func:`register_profiles`.
PROFILES = {
    "seqlstm-ci": dict(max_examples=10, deadline=None, derandomize=True,
                       suppress_health_check=_SLOW),
    "seqlstm-thorough": dict(max_examples=300, deadline=None, suppress_health_check=_SLOW),
}


def register_profiles():
    """Register the hypothesis profiles "seqlstm-ci" and "seqlstm-thorough" (see
    :data:`PROFILES`).  Registering does not load a profile."""
    for name, kwargs in PROFILES.items():
        settings.register_profile(name, **kwargs)


def load_profile(name="seqlstm-ci"):
    """Load a seqlstm hypothesis profile for the rest of the session.

    Parameters
    ----------
    name : {"seqlstm-ci", "seqlstm-thorough"}
    """
    if name not in PROFILES:
        raise ValueError(f"name must be one of {list(PROFILES)}, got {name!r}")
    register_profiles()
    settings.load_profile(name)


register_profiles()
