"""Tests of seqlstm._threads: the libgomp spin count set while Numba loads its threading layer."""

import os
import subprocess
import sys
import textwrap

import numba
import pytest

from seqlstm import _threads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def fresh_layer(monkeypatch):
    """``_load_threading_layer`` as in a process whose layer is not loaded yet, with Numba's
    loader replaced by a recorder of the environment it sees."""
    seen = []
    monkeypatch.setattr(_threads, "_layer_loaded", False)
    monkeypatch.setattr(numba, "get_num_threads",
                        lambda: seen.append((os.environ.get("GOMP_SPINCOUNT"),
                                             os.environ.get("OMP_WAIT_POLICY"))) or 1)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    return seen


def test_spin_count_set_only_while_the_layer_loads(fresh_layer):
    assert _threads._load_threading_layer() is True
    assert fresh_layer == [(_threads.SPIN_COUNT, None)]
    assert "GOMP_SPINCOUNT" not in os.environ          # the environment is left as it was
    assert _threads._layer_loaded
    assert _threads._load_threading_layer() is False   # once per process
    assert len(fresh_layer) == 1


@pytest.mark.parametrize("name, value", [("GOMP_SPINCOUNT", "5000"),
                                         ("OMP_WAIT_POLICY", "active")])
def test_user_setting_is_never_overwritten(fresh_layer, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert _threads._load_threading_layer() is False
    spin, policy = fresh_layer[0]
    assert (spin, policy) == (("5000", None) if name == "GOMP_SPINCOUNT" else (None, "active"))
    assert os.environ[name] == value
    assert ("OMP_WAIT_POLICY" if name == "GOMP_SPINCOUNT" else "GOMP_SPINCOUNT") not in os.environ


def test_spin_count_none_leaves_libgomp_default(fresh_layer, monkeypatch):
    monkeypatch.setattr(_threads, "SPIN_COUNT", None)
    assert _threads._load_threading_layer() is False
    assert fresh_layer == [(None, None)]


def test_environment_restored_when_loading_fails(monkeypatch):
    monkeypatch.setattr(_threads, "_layer_loaded", False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)

    def fail():
        raise RuntimeError("no threading layer")

    monkeypatch.setattr(numba, "get_num_threads", fail)
    with pytest.raises(RuntimeError, match="no threading layer"):
        _threads._load_threading_layer()
    assert "GOMP_SPINCOUNT" not in os.environ
    assert not _threads._layer_loaded


_SCRIPT = textwrap.dedent("""
    import ctypes, os, sys
    import numpy as np
    import numba
    from seqlstm import RecurrentNetwork
    from seqlstm._threads import numba_threads
    net = RecurrentNetwork(3, 4, output_size=1, random_state=0)
    X = np.random.default_rng(0).standard_normal((20, 5, 3)).astype("float32")
    y = np.random.default_rng(1).standard_normal((20, 1))
    for n in (2, 1):
        with numba_threads(n):
            loss, grad = net.loss_and_grad(X, y)
            print("RESULT", n, net.forward_last(X).tobytes().hex(), grad.tobytes().hex())
    if numba.threading_layer() != "omp":
        print("LAYER", numba.threading_layer())
        sys.exit(0)
    print("ENV", os.environ.get("GOMP_SPINCOUNT"), flush=True)
    path = next(line.split()[-1] for line in open("/proc/self/maps")
                if "/libgomp.so" in line)
    ctypes.CDLL(path).omp_display_env(1)      # libgomp's settings, on stderr
""")


def _run(env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.update(env_extra, PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    if "LAYER" in done.stdout:
        pytest.skip(f"Numba's threading layer is not omp ({done.stdout.strip()})")
    return done.stdout, done.stderr


def _results(out):
    """The outputs and gradients the script printed, by thread count."""
    return {line.split()[1]: line.split()[2:] for line in out.splitlines()
            if line.startswith("RESULT")}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_libgomp_of_a_fresh_process_uses_the_spin_count():
    out, err = _run({})
    assert "ENV None" in out                     # not left in the environment
    assert f"GOMP_SPINCOUNT = '{_threads.SPIN_COUNT}'" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_libgomp_of_a_fresh_process_keeps_the_users_spin_count():
    out, err = _run({"GOMP_SPINCOUNT": "300000"})
    assert "ENV 300000" in out
    assert "GOMP_SPINCOUNT = '300000'" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_results_identical_whatever_the_spin_count_and_thread_count():
    ours = _results(_run({})[0])
    users = _results(_run({"GOMP_SPINCOUNT": "300000"})[0])
    assert set(ours) == {"1", "2"}
    assert ours["1"] == ours["2"] == users["1"] == users["2"]
