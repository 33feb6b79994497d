"""Tests of seqlstm.kernels.recurrent that the network tests do not cover: the kernels give the
same bits whether they were compiled in the process or loaded from Numba's on-disk cache."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import seqlstm

# One float32 cifg network at two sizes (one compiled kernel: the same types) whose gradients are
# saved; H=8 runs the gate loops' short vector and scalar tails, H=32 their main vector loops.
_SCRIPT = """
import sys
import numpy as np
from seqlstm.network.core import RecurrentNetwork

out = sys.argv[1]
for H, B in ((8, 6), (32, 16)):
    rng = np.random.default_rng(0)
    net = RecurrentNetwork(3, H, cell="cifg", output_size=2, dtype="float32", random_state=0)
    X = rng.standard_normal((B, 7, 3)).astype("float32")
    y = rng.standard_normal((B, 2)).astype("float32")
    loss, grad = net.loss_and_grad(X, y)
    np.save(f"{out}/grad_{H}.npy", grad)
"""


def _run(tmp_path, name):
    out = tmp_path / name
    out.mkdir()
    root = str(Path(seqlstm.__file__).resolve().parents[1])
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba_cache"), NUMBA_DEBUG_CACHE="1",
               PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", _SCRIPT, str(out)], env=env, cwd=root,
                            capture_output=True, text=True, check=True)
    return out, result.stdout


def test_cifg_float32_gradients_identical_after_a_cache_load(tmp_path):
    # regression: a kernel compiled in the process called its helper's own code, a kernel
    # loaded from the cache its re-optimised copy, and fast-math reassociation made the cifg
    # float32 gradients differ in the last bits between a first run and the later ones
    fresh, _ = _run(tmp_path, "fresh")
    cached, log = _run(tmp_path, "cached")
    loaded = [line for line in log.splitlines() if "data loaded" in line]
    assert any("_backward_cifg" in line for line in loaded), log
    for H in (8, 32):
        a = np.load(fresh / f"grad_{H}.npy")
        b = np.load(cached / f"grad_{H}.npy")
        assert a.tobytes() == b.tobytes(), (H, np.abs(a - b).max())
