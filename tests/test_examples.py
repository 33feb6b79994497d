"""Every script in examples/ runs at the tiny size of its ``--quick`` flag, as a user runs it
(``python examples/<name>.py --quick``, here in-process through runpy so that the kernels
compiled by the other tests are reused), with matplotlib's non-interactive Agg backend and a
temporary working directory, where the scripts write their figures and files."""

import importlib.util
import pathlib
import runpy
import sys

import pytest

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
ROOT = pathlib.Path(__file__).parents[1]
HAS_SHARED_DATA = (ROOT / ".." / "shared" / "data" / "forecast" / "Airline.csv").exists()
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
#: What each example writes into its working directory (a figure only with matplotlib).
WRITES = {
    "forecast_dataarray.py": ["comfort_model.nc"],
    "gradient_flow.py": ["gradient_flow.png"] if HAS_MATPLOTLIB else [],
    "forecast_mackey_glass.py": ["mackey_glass_forecast.png"] if HAS_MATPLOTLIB else [],
    "forecast_stations.py": ["stations_forecast.png"] if HAS_MATPLOTLIB else [],
    # reads the development data beside the repository when it is there
    "generate_text.py": [],
    "long_record_tbptt.py": ["long_record.png"] if HAS_MATPLOTLIB else [],
    "forecast_classic.py": ["classic_series.png"] if HAS_MATPLOTLIB and HAS_SHARED_DATA else [],
}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A temporary working directory; matplotlib, when installed, on its Agg backend."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if HAS_MATPLOTLIB:
        import matplotlib

        matplotlib.use("Agg")       # the backend of this test process from now on
    yield tmp_path
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def test_examples_found():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_quick(path, workdir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [path.name, "--quick"])
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out
    for name in WRITES.get(path.name, []):
        assert (workdir / name).stat().st_size > 0, f"{path.name} did not write {name}"
