"""Tests of ``python -m seqlstm``."""

import subprocess
import sys

import pytest

from seqlstm.__main__ import main, plot_rows, run_demo, run_demo_rows


def test_demo_quick_prints_progress_and_table(capsys, tmp_path):
    assert main(["demo", "--quick", "--plot", str(tmp_path / "demo.png")]) == 0
    out = capsys.readouterr().out
    assert "length T" in out and "LSTM" in out and "RNN" in out
    assert "LSTM epoch  1" in out and "RNN  epoch  1" in out and "validation solved" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["12"], ["20"])]
    assert [r[0] for r in rows] == ["12", "20"]
    for r in rows:
        assert r[1].endswith("%") and r[2].endswith("%") and 1 <= int(r[3]) <= 2
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "no plot" in out
        assert not (tmp_path / "demo.png").exists()
    else:
        assert (tmp_path / "demo.png").exists()


@pytest.mark.parametrize("init", ["chrono", "default"])
def test_run_demo_returns_fractions_and_stops_at_target(init):
    import io

    out = io.StringIO()
    kwargs = dict(n_train=40, n_val=20, n_test=30, max_epochs=3, hidden_size=3,
                  learning_rate=1e-2, batch_size=20, seed=0, init=init, out=out)
    rows = run_demo([11], target=0.99, **kwargs)
    assert len(rows) == 1 and rows[0]["length"] == 11
    assert 0.0 <= rows[0]["lstm"] <= 1.0 and 0.0 <= rows[0]["rnn"] <= 1.0
    assert rows[0]["epochs"] == 3          # a 3-unit LSTM does not solve 99% in 3 epochs
    assert out.getvalue().count("\n    RNN  epoch") == 3
    # a target that the first epoch reaches stops the LSTM, and the RNN gets as many epochs
    out = io.StringIO()
    rows = run_demo([11], target=0.0, **{**kwargs, "out": out})
    assert rows[0]["epochs"] == 1
    assert out.getvalue().count("\n    LSTM epoch") == 1
    assert out.getvalue().count("\n    RNN  epoch") == 1


def test_run_demo_rows_one_row_per_init_and_length():
    import io

    rows = run_demo_rows([11, 12], quick=True, out=io.StringIO())
    assert [(r["init"], r["length"]) for r in rows] == [("chrono", 11), ("chrono", 12),
                                                        ("default", 11), ("default", 12)]
    for r in rows:
        assert r["seconds"] == r["lstm_seconds"] + r["rnn_seconds"]
        assert 1 <= r["epochs"] <= 2 and 0 <= r["lstm"] <= 1 and 0 <= r["rnn"] <= 1


def test_run_demo_bad_init():
    with pytest.raises(ValueError, match="init: expected 'chrono' or 'default'"):
        run_demo([11], init="glorot")


def test_demo_uses_the_lstm_with_chrono_and_the_rnn_without(monkeypatch):
    import io

    import seqlstm.__main__ as cli

    made = []
    real = cli._model

    def spy(*args):
        model = real(*args)
        made.append(model)
        return model

    monkeypatch.setattr(cli, "_model", spy)
    run_demo([13], n_train=20, n_val=10, n_test=10, max_epochs=1, hidden_size=2,
             batch_size=10, out=io.StringIO())
    lstm, rnn = made
    assert (lstm.cell, lstm.chrono_t_max) == ("lstm", 13)
    assert (rnn.cell, rnn.chrono_t_max) == ("rnn", None)
    for m in made:
        # both train epoch by epoch with partial_fit at a constant rate of 1e-3
        assert m.learning_rate_init == 1e-3 and m.batch_size == 10
        assert m.get_params()["learning_rate"] == "constant"


def test_plot_rows_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    assert plot_rows([{"length": 12, "lstm": 1.0, "rnn": 0.5}], tmp_path / "x.png") is False


def test_command_line_usage_errors():
    result = subprocess.run([sys.executable, "-m", "seqlstm"], capture_output=True, text=True)
    assert result.returncode == 2 and "demo" in result.stderr
    with pytest.raises(SystemExit):
        main(["demo", "--epochs", "many"])


def test_precompile_command_passes_its_arguments(monkeypatch, capsys):
    import seqlstm._precompile as pre

    seen = {}

    def fake(cells=None, dtypes=None, verbose=False):
        seen.update(cells=cells, dtypes=dtypes, verbose=verbose)
        return {("rnn", "float64"): 1.5}

    monkeypatch.setattr(pre, "precompile", fake)
    assert main(["precompile", "--cells", "rnn", "gru", "--dtypes", "float64"]) == 0
    assert seen == dict(cells=["rnn", "gru"], dtypes=["float64"], verbose=True)
    assert "total 1.5 s" in capsys.readouterr().out


def test_precompile_command_names_a_bad_cell():
    with pytest.raises(ValueError, match="cells"):
        main(["precompile", "--cells", "bogus"])
