"""Property-based numerical-stability testing for seqlstm networks and estimators.

Importing this package needs hypothesis (a test dependency); ``import seqlstm`` alone does not.

Public API
----------
check_stability        run the battery on a network or fitted estimator -> StabilityReport
StabilityReport        printable table (property, examples, worst value, passed); ``.passed``
StabilityError         raised by ``check_stability(..., raise_on_failure=True)``
properties             the properties, each ``prop(model, X, ...) -> (ok, worst)``
strategies             hypothesis strategies: sequences, labeled_sequences, network_configs, ...
register_profiles      (re)register the hypothesis profiles (see :data:`PROFILES`)
load_profile           load one of them (``settings.load_profile``)

Hypothesis profiles
-------------------
Every profile has ``deadline=None`` (the first call of a kernel compiles it).

"seqlstm-ci" (short name "ci")
    100 examples per test, derandomized, for continuous integration: every run tries the same
    cases, so a red run is a real defect that reruns and reproduces anywhere, never bad luck.
"seqlstm-nightly" ("nightly")
    1000 examples per test, random: each run explores new cases (a nightly or pre-release
    run); a failure prints its ``@reproduce_failure`` blob and is kept in hypothesis's example
    database (``.hypothesis/``) and replayed first by the next run.
"seqlstm-thorough" ("thorough")
    300 examples per test, random, for users who want more confidence in their own tests.

They are registered when this package is imported but never loaded unless asked::

    from seqlstm.testing import load_profile
    load_profile("nightly")

seqlstm's own test suite loads "seqlstm-ci" unless the environment variable
``HYPOTHESIS_PROFILE`` names another (``HYPOTHESIS_PROFILE=nightly python -m pytest``).
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
    "seqlstm-ci": dict(max_examples=100, deadline=None, derandomize=True,
                       suppress_health_check=_SLOW),
    "seqlstm-nightly": dict(max_examples=1000, deadline=None, derandomize=False,
                            print_blob=True, suppress_health_check=_SLOW),
    "seqlstm-thorough": dict(max_examples=300, deadline=None, suppress_health_check=_SLOW),
}


def register_profiles():
    """Register the hypothesis profiles of :data:`PROFILES`.  Registering does not load a
    profile."""
    for name, kwargs in PROFILES.items():
        settings.register_profile(name, **kwargs)


def load_profile(name="seqlstm-ci"):
    """Load a seqlstm hypothesis profile for the rest of the session.

    Parameters
    ----------
    name : {"seqlstm-ci", "seqlstm-nightly", "seqlstm-thorough"}
        Or the short name without "seqlstm-" ("ci", "nightly", "thorough").
    """
    full = name if name in PROFILES else f"seqlstm-{name}"
    if full not in PROFILES:
        raise ValueError(f"name: expected one of {list(PROFILES)} or the same without "
                         f"'seqlstm-'; found {name!r}.")
    name = full
    register_profiles()
    settings.load_profile(name)


register_profiles()
