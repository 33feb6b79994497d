"""Every script in examples/ runs at the tiny size of its ``--quick`` flag, as a user runs it
(``python examples/<name>.py --quick``, here in-process through runpy so that the kernels
compiled by the other tests are reused), with matplotlib's non-interactive Agg backend and a
temporary working directory, where the scripts write their figures and files.  Each example's
key printed figures must be there and finite (a quick run's figures are meaningless, but a NaN,
a missing line or an empty table is a broken example)."""

import importlib.util
import math
import pathlib
import re
import runpy
import sys

import pytest

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
ROOT = pathlib.Path(__file__).parents[1]
#: forecast_classic's data: the development data beside the repository (CI lays a read-only copy
#: of shared/ beside its checkout).
CLASSIC_DATA = ROOT / ".." / "shared" / "data" / "forecast"
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
#: What each example writes into its working directory (a figure only with matplotlib).
WRITES = {
    "forecast_dataarray.py": ["comfort_model.nc"] + (["comfort_forecast.png"]
                                                     if HAS_MATPLOTLIB else []),
    "gradient_flow.py": ["gradient_flow.png"] if HAS_MATPLOTLIB else [],
    "forecast_mackey_glass.py": ["mackey_glass_forecast.png"] if HAS_MATPLOTLIB else [],
    "forecast_stations.py": ["stations_forecast.png"] if HAS_MATPLOTLIB else [],
    "generate_text.py": ["text_gates.png"] if HAS_MATPLOTLIB else [],
    "long_record_tbptt.py": ["long_record.png"] if HAS_MATPLOTLIB else [],
    "forecast_classic.py": ["classic_series.png"] if HAS_MATPLOTLIB else [],
}
#: A printed number; nan and inf match too, and then fail the finiteness check.
_NUM = r"(-?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf))"
#: The lines each example must print, as regular expressions over its whole output (multiline);
#: every number a pattern captures must be finite.
PRINTS = {
    "forecast_classic.py": [
        rf"^ *validation RMSE {_NUM}: airline \{{", rf"^ *validation RMSE {_NUM}: lynx \{{",
        r"^ *Airline: validation RMSE \(training period, rolling origins\) per candidate:$",
        r"^ *Lynx: validation RMSE \(training period, rolling origins\) per candidate:$",
        r"^ +chosen: \{", r"^ *series +test RMSE \(chosen settings\)",
        rf"^Airline +{_NUM} ± +{_NUM} +{_NUM} +seasonal naive",
        rf"^Lynx +{_NUM} ± +{_NUM} +{_NUM} +persistence", rf"^ +seeds: {_NUM}$"],
    "forecast_dataarray.py": [
        r"<xarray\.DataArray", rf"^R² on held-out stations: {_NUM}$",
        r"^saved and reloaded: comfort_model\.nc$"],
    "forecast_mackey_glass.py": [
        rf"^fit: {_NUM} windows, {_NUM} epochs, {_NUM} s$",
        rf"^lead \d+: RMSE {_NUM}, persistence {_NUM} \(ratio {_NUM}\); 80% intervals cover "
        rf"{_NUM}%$"],
    "forecast_stations.py": [
        rf"; {_NUM} training windows$",
        # two header lines, then a row per station (3 in the quick run): 3 leads / 3 days
        r"^Nash-Sutcliffe efficiency on the held-out days \(station x lead\):\n.*\n.*"
        + rf"\nS0\d +{_NUM} +{_NUM} +{_NUM}" * 3 + "$",
        r"^forecast of the 3 days after \d{4}-\d\d-\d\d\n.*\n.*"
        + rf"\nS0\d +{_NUM} +{_NUM} +{_NUM}" * 3 + "$"],
    "generate_text.py": [
        rf"^{_NUM} characters, {_NUM} sequences of 40; fit {_NUM} s, training accuracy {_NUM}$",
        r"^temperature 0\.0: the river .", r"^temperature 1\.0: the river .",
        r"^temperature 2\.0: the river ."],
    "gradient_flow.py": [
        rf"^ +rnn: test MSE {_NUM} \(predicting the mean gives {_NUM}\), accuracy {_NUM}$",
        rf"^lstm: test MSE {_NUM} \(predicting the mean gives {_NUM}\), accuracy {_NUM}$",
        rf"^ +0 +{_NUM} +{_NUM} +{_NUM}$", rf"^ +10 +{_NUM} +{_NUM} +{_NUM}$"],
    "long_record_tbptt.py": [
        rf"^fit on one record of 2400 days: 1 epochs of 48 optimiser steps, {_NUM} s$",
        r"^predicting in two pieces equals predicting the whole record: True$",
        rf"^Nash-Sutcliffe efficiency: training part {_NUM}, held-out part {_NUM}$"],
}


def check_prints(name, out):
    """Assert that `out` holds every line of ``PRINTS[name]`` with finite numbers."""
    for pattern in PRINTS[name]:
        found = re.search(pattern, out, flags=re.MULTILINE)
        assert found, f"{name} did not print a line matching {pattern!r}; it printed:\n{out}"
        for number in found.groups():
            assert math.isfinite(float(number)), (
                f"{name} printed a non-finite figure in {found.group(0)!r}")


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
    assert path.name in PRINTS and path.name in WRITES, f"{path.name}: add what it prints/writes"
    argv = [path.name, "--quick"]
    if path.name == "forecast_classic.py":
        if not (CLASSIC_DATA / "Airline.csv").exists():
            pytest.skip(f"forecast_classic reads Airline.csv and Lynx.csv from {CLASSIC_DATA}, "
                        "which is absent (shared/ is not beside this checkout)")
        argv += ["--data", str(CLASSIC_DATA)]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(path), run_name="__main__")
    check_prints(path.name, capsys.readouterr().out)
    for name in WRITES[path.name]:
        assert (workdir / name).stat().st_size > 0, f"{path.name} did not write {name}"


def test_check_prints_refuses_missing_and_non_finite_figures():
    good = "R² on held-out stations: 0.25"
    lines = "<xarray.DataArray\nsaved and reloaded: comfort_model.nc\n"
    check_prints("forecast_dataarray.py", lines + good)
    with pytest.raises(AssertionError, match="non-finite"):
        check_prints("forecast_dataarray.py", lines + "R² on held-out stations: nan")
    with pytest.raises(AssertionError, match="did not print"):
        check_prints("forecast_dataarray.py", lines)
