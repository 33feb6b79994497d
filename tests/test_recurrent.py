"""Tests of seqlstm.kernels.recurrent that the network tests do not cover: the kernels give the
same bits whether they were compiled in the process or loaded from Numba's on-disk cache."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import seqlstm

CELLS = ("lstm", "peephole", "cifg", "gru", "rnn")

# Every cell in both dtypes at two sizes (one compiled kernel per cell and dtype: the same types)
# whose loss and gradients are saved; H=8 runs the gate loops' short vector and scalar tails,
# H=32 their main vector loops.  The fresh run compiles ten kernel sets (~2.5 min of the test).
_SCRIPT = """
import sys
import numpy as np
from seqlstm.network.core import RecurrentNetwork

out = sys.argv[1]
for cell in {cells!r}:
    for dtype in ("float32", "float64"):
        for H in (8, 32):
            rng = np.random.default_rng(0)
            net = RecurrentNetwork(3, H, cell=cell, output_size=2, dtype=dtype, random_state=0)
            X = rng.standard_normal((16, 7, 3)).astype(dtype)
            y = rng.standard_normal((16, 2)).astype(dtype)
            loss, grad = net.loss_and_grad(X, y)
            np.save(f"{{out}}/{{cell}}_{{dtype}}_{{H}}.npy", np.append(grad, loss))
""".format(cells=CELLS)


def _run(tmp_path, name):
    out = tmp_path / name
    out.mkdir()
    root = str(Path(seqlstm.__file__).resolve().parents[1])
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba_cache"), NUMBA_DEBUG_CACHE="1",
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", _SCRIPT, str(out)], env=env, cwd=root,
                            capture_output=True, text=True, check=True)
    return out, result.stdout


def test_gradients_identical_after_a_cache_load(tmp_path):
    # regression: a kernel compiled in the process called its helpers' own code, a kernel
    # loaded from the cache its re-optimised weak copies of them; with fast-math reassociation
    # the second optimisation reordered products, and the cifg float32 and the lstm, peephole
    # and cifg float64 gradients differed in the last bits between a first run and later ones
    fresh, _ = _run(tmp_path, "fresh")
    cached, log = _run(tmp_path, "cached")
    loaded = [line for line in log.splitlines() if "data loaded" in line]
    for cell in CELLS:
        assert any(f"_backward_{cell}" in line for line in loaded), (cell, log)
    differ = []
    for path in sorted(fresh.iterdir()):
        a, b = np.load(path), np.load(cached / path.name)
        if a.tobytes() != b.tobytes():
            differ.append((path.stem, float(np.abs(a - b).max())))
    assert len(list(fresh.iterdir())) == 2 * 2 * len(CELLS)
    assert not differ, differ
