"""Tests of ``python -m seqlstm``."""

import subprocess
import sys

import pytest

from seqlstm.__main__ import main, plot_rows, run_demo


def test_demo_quick_prints_table(capsys, tmp_path):
    assert main(["demo", "--quick", "--plot", str(tmp_path / "demo.png")]) == 0
    out = capsys.readouterr().out
    assert "length T" in out and "LSTM" in out and "RNN" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["12"], ["20"])]
    assert [r[0] for r in rows] == ["12", "20"]
    for r in rows:
        assert r[1].endswith("%") and r[2].endswith("%")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "no plot" in out
        assert not (tmp_path / "demo.png").exists()
    else:
        assert (tmp_path / "demo.png").exists()


def test_run_demo_returns_fractions():
    import io

    rows = run_demo([11], n_train=40, n_test=30, epochs=1, hidden_size=3, learning_rate=1e-2,
                    batch_size=20, seed=0, out=io.StringIO())
    assert len(rows) == 1 and rows[0]["length"] == 11
    assert 0.0 <= rows[0]["lstm"] <= 1.0 and 0.0 <= rows[0]["rnn"] <= 1.0


def test_plot_rows_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    assert plot_rows([{"length": 12, "lstm": 1.0, "rnn": 0.5}], tmp_path / "x.png") is False


def test_command_line_usage_errors():
    result = subprocess.run([sys.executable, "-m", "seqlstm"], capture_output=True, text=True)
    assert result.returncode == 2 and "demo" in result.stderr
    with pytest.raises(SystemExit):
        main(["demo", "--epochs", "many"])
