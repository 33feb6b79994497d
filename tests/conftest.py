"""Shared pytest configuration.

hypothesis is a test dependency (the ``test`` extra of pyproject.toml), like pytest itself: the
suite needs it and fails at once, with the install command, when it is missing.  This loads
seqlstm's hypothesis profile for CI ("seqlstm-ci": few examples, derandomized,
``deadline=None`` because the first call of a kernel compiles).  Set
``SEQLSTM_HYPOTHESIS_PROFILE=seqlstm-thorough`` for a longer run.
"""

import os

try:
    from seqlstm.testing import load_profile
except ModuleNotFoundError as exc:
    if exc.name != "hypothesis":
        raise
    raise ImportError("seqlstm's tests need hypothesis: pip install -e '.[test]'") from exc

load_profile(os.environ.get("SEQLSTM_HYPOTHESIS_PROFILE", "seqlstm-ci"))
