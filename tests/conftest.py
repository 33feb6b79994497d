"""Shared pytest configuration.

Loads seqlstm's hypothesis profile for CI ("seqlstm-ci": few examples, derandomized,
``deadline=None`` because the first call of a kernel compiles).  Set
``SEQLSTM_HYPOTHESIS_PROFILE=seqlstm-thorough`` for a longer run.
"""

import os

try:
    from seqlstm.testing import load_profile
except ImportError:  # hypothesis not installed: the tests that need it skip themselves
    pass
else:
    load_profile(os.environ.get("SEQLSTM_HYPOTHESIS_PROFILE", "seqlstm-ci"))
