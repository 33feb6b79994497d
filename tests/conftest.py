"""Shared pytest configuration.

hypothesis is a test dependency (the ``test`` extra of pyproject.toml), like pytest itself: the
suite needs it and fails at once, with the install command, when it is missing.  This loads
seqlstm's hypothesis profile for CI ("seqlstm-ci": 100 examples per test, derandomized so that
every run checks the same cases, ``deadline=None`` because the first call of a kernel
compiles).  ``HYPOTHESIS_PROFILE=nightly`` (1000 random examples per test; or "thorough", or a
full profile name) runs a longer exploration; see :mod:`seqlstm.testing`.  The older variable
``SEQLSTM_HYPOTHESIS_PROFILE`` is read when ``HYPOTHESIS_PROFILE`` is not set.
"""

import logging
import os

import pytest

try:
    from seqlstm.testing import load_profile
except ModuleNotFoundError as exc:
    if exc.name != "hypothesis":
        raise
    raise ImportError("seqlstm's tests need hypothesis: pip install -e '.[test]'") from exc

load_profile(os.environ.get("HYPOTHESIS_PROFILE")
             or os.environ.get("SEQLSTM_HYPOTHESIS_PROFILE", "seqlstm-ci"))


@pytest.fixture(scope="module")
def dask_client():
    """A ``dask.distributed`` LocalCluster of 2 single-threaded worker processes, started once
    per module that uses it and closed at the module's end (skipped without distributed): a
    client kept for the session allocates on its event-loop thread as time passes, which the
    later modules' tracemalloc measurements (which count every thread) picked up.  It is not
    made the default client: a test enters it with ``client.as_current()``, so other tests'
    dask computations stay on the threaded scheduler."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None,
                                       silence_logs=logging.CRITICAL)
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()
