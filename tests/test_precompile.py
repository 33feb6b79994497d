"""seqlstm.precompile and the one-off compile notice (seqlstm/_precompile.py, kernels/_jit.py).

The pair of fresh processes below shares an empty Numba cache: the first precompiles one cell and
dtype (and must say once that it compiles), the second runs the estimators' usual calls and must
compile nothing (counted with Numba's own compile events) and say nothing.
"""

import os
import subprocess
import sys
import textwrap

import pytest

import seqlstm
from seqlstm._precompile import precompile

NOTICE = "seqlstm: compiling Numba kernels"

# counts the compilations of seqlstm kernels in this process (printed at exit)
_COUNT = textwrap.dedent("""
    import atexit
    import numpy as np
    from numba.core import event

    compiled = []

    class Count(event.Listener):
        def on_start(self, ev):
            f = getattr(ev.data.get("dispatcher"), "py_func", None)
            if f is not None and f.__module__.startswith("seqlstm."):
                compiled.append(f.__qualname__)

        def on_end(self, ev):
            pass

    event.register("numba:compile", Count())
    atexit.register(lambda: print("COMPILED", len(compiled), sorted(set(compiled))))
    import seqlstm
""")
# calls a user makes
_USER = _COUNT + textwrap.dedent("""
    from seqlstm._threads import MAX_UNITS

    # batches split into the most sub-batches and into one (precompile's two variants)
    rng = np.random.default_rng(1)
    n = 8 * MAX_UNITS
    X, y = rng.standard_normal((n, 50, 3)), rng.standard_normal(n)
    common = dict(cell="rnn", dtype="float64", hidden_size=5, max_iter=2, random_state=1)
    seqlstm.LSTMRegressor(**common).fit(X, y).predict(X)
    seqlstm.LSTMClassifier(**common).fit(X, y > 0).predict_proba(X)
    record = rng.standard_normal((3, 90, 2))
    fc = seqlstm.LSTMForecaster(lookback=10, horizon=3, loss="gaussian", **common).fit(record)
    fc.forecast(record, 7)
""")


def _run(code, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=900, check=True)


def test_precompile_fills_the_cache_and_says_once_that_it_compiles(tmp_path):
    first = _run(_COUNT + "seqlstm.precompile(cells='rnn', dtypes='float64')", tmp_path)
    assert "COMPILED 0 " not in first.stdout and "COMPILED" in first.stdout  # the count works
    assert first.stderr.count(NOTICE) == 1, first.stderr
    assert "one-off" in first.stderr and str(tmp_path) in first.stderr
    second = _run(_USER, tmp_path)
    assert "COMPILED 0 " in second.stdout, second.stdout
    assert NOTICE not in second.stderr


@pytest.mark.parametrize("kwargs, arg", [(dict(cells="lstmx"), "cells"),
                                         (dict(cells=[]), "cells"),
                                         (dict(dtypes=["float16"]), "dtypes")])
def test_precompile_names_a_bad_argument(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        precompile(**kwargs)


def test_precompile_is_public():
    assert "precompile" in seqlstm.__all__
    assert seqlstm.precompile is precompile
