"""Forecast benchmark: seqlstm at its defaults side by side with statsforecast and NeuralForecast
on the development series, plus Mackey-Glass and the memory of fitting on long records; writes
``benchmarks/FORECAST.md``.

Parts (``--parts``, all by default):

- ``side`` -- every series and panel in ``../shared/data/forecast`` (Airline, Lynx, ElecEquip,
  Nile, Uschange, Macro) with the split and horizon stated in that folder's README, in one run:

  * seqlstm's :class:`~seqlstm.LSTMForecaster` at its defaults; nothing is set per set except
    what the data dictate: ``horizon``, and ``lookback`` by :func:`lookback_rule` (left to the
    estimator when its default is ``"auto"``).  ``--seeds`` seeds (5), reported as mean and
    range, and a ``SeedEnsemble`` of as many members when the checked-out code can wrap the
    forecaster (a printed note otherwise).  Panels (Uschange, Macro) are one global model over
    their series.  Only the public API is used (``fit``, ``predict``, ``predict_interval``).
  * statsforecast's Naive, SeasonalNaive, RandomWalkWithDrift, AutoETS, AutoTheta, AutoARIMA
    (season length from the data's frequency), one model per series;
  * NeuralForecast's ``LSTM`` at its defaults with the same input size, on the CPU, with its
    default ``random_seed`` (1) and ``--nf-seeds - 1`` more.

  Multi-step sets are forecast ``horizon`` steps from one origin (the end of the training
  part); Lynx and Nile one step ahead at each test year with the actuals revealed, every model
  fitted once on the training part (statsforecast's ``forward``; the drift with its fitted
  slope).  Scores per series: RMSE, MAE, MASE (M4: the test MAE over the in-sample MAE of the
  seasonal-naive forecast on the training part, season 1 for yearly data), sMAPE (panels),
  averaged over a panel's series; the 80% interval coverage of seqlstm when it has a
  probabilistic loss (a row "seqlstm quantile": the defaults with ``loss="quantile"``, levels
  0.1, 0.5, 0.9, 5 seeds, its median the point forecast; not ranked); fit seconds
  (statsforecast: all series of a set; seqlstm and NeuralForecast: one fit of the set).  The
  statsforecast figures are checked against the data README's, and the issue's targets are
  computed from the figures as pass/fail lines.
- ``mg`` -- Mackey-Glass (tau = 17): train on 2000 steps, test on the next 1000; one Gaussian
  forecaster per lead (1, 10, 50) with horizon = lead; RMSE at that lead against persistence's,
  and the coverage of the 80% intervals.
- ``memory`` -- peak resident memory and traced allocations of ``LSTMForecaster.fit``
  (lookback 365, horizon 7, one epoch, windows every 50 steps) and of a stateful
  ``LSTMRegressor.fit`` (``tbptt=(50, 100)``) on one record of 10^4, 10^5 and 10^6 steps, each
  in a fresh process, beside the process's memory just before ``fit``.

The peers are benchmark-only dependencies (``pip install -e ".[bench]"``, torch installed first)
and are imported here lazily; ``--skip-peers`` runs seqlstm alone.

Run::

    python benchmarks/bench_forecast.py [--data ../shared/data/forecast] [--sets Nile ...]
        [--seeds 5] [--nf-seeds 3] [--parts side mg memory] [--skip-peers] [--quick]

``--quick`` checks the script in about a minute (Nile and Uschange, one seed, few epochs and
steps: NOT the defaults) and prints the report instead of writing it.  Times are wall-clock
on this machine; the CPU, the load at start and end and the commit are written beside the
figures.  A part not re-run keeps its rows from the cache file, or else its section of the
earlier report as it was, with its machine label.
"""

import argparse
import json
import logging
import os
import pathlib
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from _machine import commit as _commit
from _machine import machine as _machine

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
PARTS = ("side", "mg", "memory")
PEERS = ("statsforecast", "neuralforecast")


# ---------------------------------------------------------------------------- the settings
def lookback_rule(season, horizon):
    """The lookback given to seqlstm, and as ``input_size`` to NeuralForecast's LSTM.

    None when seqlstm's default lookback is ``"auto"`` (the estimator then chooses; the peer
    gets the lookback it chose), else ``max(8, 2 * season, 2 * horizon)``.  Change this one
    function to change the rule for every set.
    """
    from seqlstm import LSTMForecaster

    if LSTMForecaster().get_params()["lookback"] == "auto":
        return None
    return _fixed_lookback(season, horizon)


def _fixed_lookback(season, horizon):
    return max(8, 2 * season, 2 * horizon)


def seqlstm_params(task, quick=False):
    """seqlstm's parameters for `task`: the defaults but for what the data dictate."""
    params = {"horizon": task.horizon}
    lookback = lookback_rule(task.season, task.horizon)
    if lookback is not None:
        params["lookback"] = lookback
    if quick:
        params["max_iter"] = 5
    return params


# ---------------------------------------------------------------------------- the data
@dataclass
class Task:
    """One development set: its series on one time axis, the split, the horizon."""
    name: str
    values: np.ndarray        # (n_series, n_time)
    time: pd.DatetimeIndex
    ids: list
    n_train: int
    horizon: int               # 1 for one-step-ahead sets
    season: int
    rolling: bool              # one step ahead at every test step, actuals revealed
    freq: str

    @property
    def panel(self):
        return len(self.ids) > 1

    @property
    def n_test(self):
        return self.values.shape[1] - self.n_train

    @property
    def train(self):
        return self.values[:, :self.n_train]

    @property
    def test(self):
        return self.values[:, self.n_train:]


def _years(years):
    return pd.to_datetime([f"{int(y)}-01-01" for y in years])


def _quarters(labels):
    return pd.PeriodIndex([q.replace(" ", "") for q in labels], freq="Q").to_timestamp()


def load_tasks(folder):
    """The six development sets with the splits and horizons of the data README."""
    folder = pathlib.Path(folder)
    tasks = {}
    f = pd.read_csv(folder / "Airline.csv")
    t = pd.to_datetime(f["Date"])
    n_train = int((t <= "1958-12-01").sum())
    tasks["Airline"] = Task("Airline", f["Passengers"].to_numpy(float)[None],
                            pd.DatetimeIndex(t.to_numpy()),
                            ["Airline"], n_train, 24, 12, False, "MS")
    f = pd.read_csv(folder / "Lynx.csv", index_col=0)
    years = f.index.to_numpy()
    tasks["Lynx"] = Task("Lynx", np.log10(f.iloc[:, 0].to_numpy(float))[None], _years(years),
                         ["Lynx"], int((years <= 1920).sum()), 1, 1, True, "YS")
    f = pd.read_csv(folder / "ElecEquip.csv")
    t = pd.to_datetime(f.iloc[:, 0], format="%b-%d-%Y")
    tasks["ElecEquip"] = Task("ElecEquip", f.iloc[:, 1].to_numpy(float)[None],
                              pd.DatetimeIndex(t.to_numpy()), ["ElecEquip"], len(f) - 18, 18,
                              12, False, "MS")
    f = pd.read_csv(folder / "Nile.csv")
    years = f["year"].to_numpy()
    tasks["Nile"] = Task("Nile", f["volume"].to_numpy(float)[None], _years(years), ["Nile"],
                         int((years <= 1950).sum()), 1, 1, True, "YS")
    f = pd.read_csv(folder / "Uschange.csv", index_col=0)
    cols = [c for c in f.columns if c != "Quarter"]
    tasks["Uschange"] = Task("Uschange", f[cols].to_numpy(float).T, _quarters(f["Quarter"]),
                             cols, len(f) - 8, 8, 4, False, "QS")
    f = pd.read_csv(folder / "Macro.csv")
    cols = [c for c in f.columns if c != "quarter"]
    tasks["Macro"] = Task("Macro", f[cols].to_numpy(float).T, _quarters(f["quarter"]), cols,
                          len(f) - 8, 8, 4, False, "QS")
    return tasks


SET_NAMES = ("Airline", "Lynx", "ElecEquip", "Nile", "Uschange", "Macro")


# ---------------------------------------------------------------------------- scores
def scores(task, forecast):
    """RMSE, MAE, MASE and sMAPE of `forecast` ``(n_series, n_test)``, averaged over series."""
    y, f, train, m = task.test, np.asarray(forecast, float), task.train, task.season
    err = f - y
    scale = np.mean(np.abs(train[:, m:] - train[:, :-m]), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        smape = 200 * np.nanmean(np.abs(err) / (np.abs(y) + np.abs(f)), axis=1)
    return {"rmse": float(np.mean(np.sqrt(np.mean(err ** 2, axis=1)))),
            "mae": float(np.mean(np.mean(np.abs(err), axis=1))),
            "mase": float(np.mean(np.mean(np.abs(err), axis=1) / scale)),
            "smape": float(np.mean(smape))}


def coverage(task, lower, upper):
    y = task.test
    return float(np.mean((y >= lower) & (y <= upper)))


# ---------------------------------------------------------------------------- statsforecast
def _statsforecast_models(season):
    from statsforecast.models import (
        AutoARIMA,
        AutoETS,
        AutoTheta,
        Naive,
        RandomWalkWithDrift,
        SeasonalNaive,
    )
    return [("Naive", Naive, {}),
            ("SeasonalNaive", SeasonalNaive, {"season_length": season}),
            ("Drift", RandomWalkWithDrift, {}),
            ("AutoETS", AutoETS, {"season_length": season}),
            ("AutoTheta", AutoTheta, {"season_length": season}),
            ("AutoARIMA", AutoARIMA, {"season_length": season})]


def _one_step(model, history):
    """One-step forecast after `history` by a model fitted once (its parameters kept by
    statsforecast's ``forward``).  RandomWalkWithDrift has no ``forward``: its slope is taken
    from the revealed history at each step, as for the data README's figure (with the slope
    of the training part kept, Nile's drift RMSE is 152.97 instead of 153.8)."""
    if hasattr(model, "forward"):
        return float(model.forward(y=history, h=1)["mean"][0])
    return float(type(model)().fit(history).predict(h=1)["mean"][0])


def run_statsforecast(task):
    rows = []
    for name, cls, kw in _statsforecast_models(task.season):
        forecast = np.empty_like(task.test)
        seconds = 0.0
        for s in range(len(task.ids)):
            start = time.perf_counter()
            model = cls(**kw).fit(task.train[s])
            seconds += time.perf_counter() - start
            if task.rolling:
                forecast[s] = [_one_step(model, task.values[s, :task.n_train + j])
                               for j in range(task.n_test)]
            else:
                forecast[s] = model.predict(h=task.n_test)["mean"]
        rows.append({"method": name, "runs": [{**scores(task, forecast), "seconds": seconds}]})
        print(task.name, name, rows[-1]["runs"][0], flush=True)
    return rows


def warm_statsforecast():
    """Compile statsforecast's Numba code before anything is timed."""
    y = 10 + np.sin(np.arange(60) * np.pi / 2) + np.arange(60) * 0.1
    for _, cls, kw in _statsforecast_models(4):
        cls(**kw).fit(y).predict(h=2)


# ---------------------------------------------------------------------------- seqlstm
def _dataarray(task, upto):
    values = task.values[:, :upto]
    time_ = task.time[:upto].to_numpy()
    if task.panel:
        return xr.DataArray(values, dims=("series", "time"),
                            coords={"series": task.ids, "time": time_}, name="y")
    return xr.DataArray(values[0], dims="time", coords={"time": time_}, name="y")


def _point(out):
    """The point forecast of `predict`'s output (mean; median of quantiles)."""
    if isinstance(out, xr.Dataset):
        out = out["mean"]
    if "quantile" in out.dims:
        out = out.sel(quantile=0.5, method="nearest")
    return out


def _test_block(task, out):
    """``(n_series, n_test)`` of `predict`-shaped output: lead 1 issued before each test step
    (one-step sets), or every lead issued at the end of the training part."""
    if task.rolling:
        out = out.sel(lead=1).sel(time=task.time[task.n_train - 1:-1].to_numpy())
        dims = ("series", "time")
    else:
        out = out.isel(time=-1).sel(lead=np.arange(1, task.n_test + 1))
        dims = ("series", "lead")
    if not task.panel:
        out = out.expand_dims(series=1)
    return out.transpose(*dims).values


def _seqlstm_forecast(task, model):
    """Point forecasts and 80% intervals (None without a probabilistic loss)."""
    data = _dataarray(task, task.values.shape[1] if task.rolling else task.n_train)
    point = _test_block(task, _point(model.predict(data)))
    try:
        lower, upper = model.predict_interval(data, coverage=0.8)
    except (ValueError, AttributeError, TypeError):
        return point, None
    return point, (_test_block(task, _point(lower)), _test_block(task, _point(upper)))


def effective_lookback(model):
    """The lookback a fitted seqlstm forecaster reads (its own choice when "auto"), or None
    when the fitted model does not tell it."""
    for member in [model] + list(getattr(model, "estimators_", [])):
        for name in ("lookback_", "lookback"):
            value = getattr(member, name, None)
            if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                return int(value)
    return None


def _seqlstm_run(task, model):
    start = time.perf_counter()
    model.fit(_dataarray(task, task.n_train))
    seconds = time.perf_counter() - start
    point, interval = _seqlstm_forecast(task, model)
    run = {**scores(task, point), "seconds": seconds, "lookback": effective_lookback(model)}
    if interval is not None:
        run["coverage80"] = coverage(task, *interval)
    return run


def run_seqlstm(task, seeds, quick):
    from seqlstm import LSTMForecaster, SeedEnsemble

    params = seqlstm_params(task, quick)
    rows = [{"method": "seqlstm", "params": {k: str(v) for k, v in params.items()}, "runs": []}]
    for seed in seeds:
        rows[0]["runs"].append(_seqlstm_run(task, LSTMForecaster(**params, random_state=seed)))
        print(task.name, "seqlstm seed", seed, rows[0]["runs"][-1], flush=True)
    try:
        ens = SeedEnsemble(LSTMForecaster(**params), n_estimators=len(seeds), random_state=0)
        run = _seqlstm_run(task, ens)
    except Exception as exc:       # the checked-out code cannot wrap the forecaster yet
        note = f"SeedEnsemble(LSTMForecaster(...)) skipped: {type(exc).__name__}: {exc}"
        print(task.name, note, flush=True)
        rows.append({"method": "seqlstm ensemble", "runs": [], "note": note})
    else:
        rows.append({"method": "seqlstm ensemble", "runs": [run]})
        print(task.name, "seqlstm ensemble", run, flush=True)
    # the intervals' target needs a probabilistic loss: the defaults with loss="quantile"
    # (levels 0.1, 0.5, 0.9: the 80% interval; the point forecast is the median)
    rows.append({"method": "seqlstm quantile", "runs": []})
    for seed in seeds:
        rows[-1]["runs"].append(_seqlstm_run(
            task, LSTMForecaster(**params, loss="quantile", random_state=seed)))
        print(task.name, "seqlstm quantile seed", seed, rows[-1]["runs"][-1], flush=True)
    return rows


def warm_seqlstm():
    """Compile seqlstm's kernels before anything is timed."""
    from seqlstm import LSTMForecaster

    y = np.sin(np.arange(64) * 0.5)
    LSTMForecaster(lookback=8, horizon=2, max_iter=1).fit(y).predict(y)


# ---------------------------------------------------------------------------- NeuralForecast
def _frame(task, upto):
    return pd.DataFrame({"unique_id": np.repeat(task.ids, upto),
                         "ds": np.tile(task.time[:upto], len(task.ids)),
                         "y": task.values[:, :upto].ravel()})


def _quiet_lightning():
    for name in ("pytorch_lightning", "lightning", "lightning_fabric", "lightning.pytorch",
                 "neuralforecast"):
        logging.getLogger(name).setLevel(logging.ERROR)


def run_neuralforecast(task, input_size, seeds, quick):
    from neuralforecast import NeuralForecast
    from neuralforecast.models import LSTM

    _quiet_lightning()
    row = {"method": "NF LSTM", "params": {"h": task.horizon, "input_size": input_size},
           "runs": []}
    for seed in seeds:
        extra = {"max_steps": 5} if quick else {}
        # trainer switches only (no progress bar, summary or log files): the model is the default
        model = LSTM(h=task.horizon, input_size=input_size, random_seed=seed, accelerator="cpu",
                     enable_progress_bar=False, enable_model_summary=False, logger=False,
                     **extra)
        nf = NeuralForecast(models=[model], freq=task.freq)
        start = time.perf_counter()
        nf.fit(_frame(task, task.n_train))
        seconds = time.perf_counter() - start
        forecast = np.empty_like(task.test)
        if task.rolling:
            for j in range(task.n_test):
                out = nf.predict(df=_frame(task, task.n_train + j))
                forecast[:, j] = _nf_values(out, task)[:, 0]
        else:
            forecast[:] = _nf_values(nf.predict(), task)
        row["runs"].append({**scores(task, forecast), "seconds": seconds})
        print(task.name, "NF LSTM seed", seed, row["runs"][-1], flush=True)
    return [row]


def _nf_values(out, task):
    out = out.reset_index() if "unique_id" not in out.columns else out
    wide = out.pivot(index="unique_id", columns="ds", values="LSTM")
    return wide.loc[task.ids].to_numpy(float)


# ---------------------------------------------------------------------------- side by side
def side_by_side(tasks, seeds, nf_seeds, peers, quick, done=None):
    """Every method on every task; `peers` names the peers run; `done(rows)` is called after
    each task (saves progress)."""
    rows = {}
    if "statsforecast" in peers:
        warm_statsforecast()
    warm_seqlstm()
    for task in tasks:
        start = time.perf_counter()
        part = {"seqlstm": run_seqlstm(task, seeds, quick)}
        part["seconds_seqlstm"] = time.perf_counter() - start
        if "statsforecast" in peers:
            start = time.perf_counter()
            part["statsforecast"] = run_statsforecast(task)
            part["seconds_statsforecast"] = time.perf_counter() - start
        if "neuralforecast" in peers:
            input_size = effective_lookback_of(task, part["seqlstm"])
            start = time.perf_counter()
            part["neuralforecast"] = run_neuralforecast(task, input_size, nf_seeds, quick)
            part["seconds_neuralforecast"] = time.perf_counter() - start
        part.update(season=task.season, horizon=task.horizon, rolling=task.rolling,
                    panel=task.panel, n_series=len(task.ids), n_train=task.n_train,
                    n_test=task.n_test)
        rows[task.name] = part
        if done is not None:
            done(rows)
    return rows


def effective_lookback_of(task, seqlstm_rows):
    """NeuralForecast's input size: seqlstm's lookback (the rule's, or the one it chose)."""
    rule = lookback_rule(task.season, task.horizon)
    if rule is not None:
        return rule
    chosen = seqlstm_rows[0]["runs"][0]["lookback"] if seqlstm_rows[0]["runs"] else None
    if chosen is None:
        chosen = _fixed_lookback(task.season, task.horizon)
        print(f"{task.name}: the fitted seqlstm model does not tell its lookback; "
              f"NeuralForecast gets max(8, 2 x season, 2 x horizon) = {chosen}", flush=True)
    return chosen


# the data README's statsforecast figures (statsforecast 2.1.1), as printed there
README_FIGURES = {
    ("Airline", "SeasonalNaive", "rmse"): "76.99",
    ("Lynx", "Naive", "rmse"): "0.262",
    ("ElecEquip", "SeasonalNaive", "rmse"): "4.509",
    ("ElecEquip", "SeasonalNaive", "mase"): "0.610",
    ("ElecEquip", "AutoETS", "rmse"): "3.582", ("ElecEquip", "AutoETS", "mase"): "0.467",
    ("ElecEquip", "AutoTheta", "rmse"): "4.836", ("ElecEquip", "AutoTheta", "mase"): "0.618",
    ("ElecEquip", "AutoARIMA", "rmse"): "4.565", ("ElecEquip", "AutoARIMA", "mase"): "0.620",
    ("ElecEquip", "Naive", "rmse"): "8.093", ("ElecEquip", "Naive", "mase"): "1.012",
    ("Nile", "Naive", "rmse"): "153.1", ("Nile", "Naive", "mase"): "0.970",
    ("Nile", "Drift", "rmse"): "153.8", ("Nile", "Drift", "mase"): "0.976",
    ("Nile", "AutoETS", "rmse"): "126.6", ("Nile", "AutoETS", "mase"): "0.763",
    ("Nile", "AutoTheta", "rmse"): "127.2", ("Nile", "AutoTheta", "mase"): "0.772",
    ("Nile", "AutoARIMA", "rmse"): "136.5", ("Nile", "AutoARIMA", "mase"): "0.799",
    ("Uschange", "Naive", "mase"): "0.343", ("Uschange", "Drift", "mase"): "0.365",
    ("Uschange", "AutoETS", "mase"): "0.326", ("Uschange", "AutoTheta", "mase"): "0.349",
    ("Uschange", "AutoARIMA", "mase"): "0.321",
    ("Uschange", "Naive", "rmse"): "0.931", ("Uschange", "Drift", "rmse"): "0.944",
    ("Uschange", "AutoETS", "rmse"): "0.852", ("Uschange", "AutoTheta", "rmse"): "0.877",
    ("Uschange", "AutoARIMA", "rmse"): "0.842",
    ("Macro", "Naive", "mase"): "2.165", ("Macro", "SeasonalNaive", "mase"): "2.450",
    ("Macro", "Drift", "mase"): "2.131", ("Macro", "AutoETS", "mase"): "2.257",
    ("Macro", "AutoTheta", "mase"): "2.152", ("Macro", "AutoARIMA", "mase"): "2.307",
}

RANKED = ("AutoETS", "AutoTheta", "AutoARIMA", "NF LSTM", "seqlstm")


def _methods(part):
    """method -> its runs, in report order."""
    out = {}
    for key in ("statsforecast", "neuralforecast", "seqlstm"):
        for row in part.get(key, []):
            out[row["method"]] = row
    return out


def _mean(row, metric):
    values = [r[metric] for r in row["runs"] if metric in r]
    return float(np.mean(values)) if values else float("nan")


def readme_check(side):
    """Lines comparing our statsforecast figures with the README's, at its precision."""
    lines, differ = [], []
    for (name, method, metric), text in README_FIGURES.items():
        if name not in side or "statsforecast" not in side[name]:
            continue
        ours = _mean(_methods(side[name])[method], metric)
        decimals = len(text.split(".")[1])
        same = abs(round(ours, decimals) - float(text)) < 0.5 * 10 ** -decimals
        if not same:
            differ.append(f"{name} {method} {metric.upper()}: {ours:.{decimals + 1}f} here, "
                          f"{text} in the README")
        lines.append((name, method, metric, text, ours, same))
    return lines, differ


def targets(side):
    """The issue's targets, computed from the figures: list of (passed or None, text)."""
    names = [n for n in SET_NAMES if n in side and "statsforecast" in side[n]]
    if not names:
        return []
    out = []
    mase = {n: {m: _mean(row, "mase") for m, row in _methods(side[n]).items()} for n in names}
    for base, what in ((None, "seasonal naive (naive where there is no season)"),
                       ("Drift", "drift")):
        worse = []
        for n in names:
            ref = base or ("SeasonalNaive" if side_task_season(side[n]) > 1 else "Naive")
            if not mase[n]["seqlstm"] < mase[n][ref]:
                worse.append(f"{n} {mase[n]['seqlstm']:.3f} vs {mase[n][ref]:.3f}")
        out.append((not worse, f"seqlstm (mean of seeds) better than {what} on every set by "
                               f"MASE" + (f"; not on: {', '.join(worse)}" if worse else "")))
    ranks = {m: [] for m in RANKED}
    for n in names:
        present = [m for m in RANKED if m in mase[n] and np.isfinite(mase[n][m])]
        order = sorted(present, key=lambda m: mase[n][m])
        for i, m in enumerate(order):
            ranks[m].append(i + 1)
    mean_rank = {m: float(np.mean(v)) for m, v in ranks.items() if v}
    text = ", ".join(f"{m} {r:.2f}" for m, r in sorted(mean_rank.items(), key=lambda kv: kv[1]))
    out.append((mean_rank["seqlstm"] <= 2,
                f"seqlstm's mean MASE rank <= 2 among {', '.join(RANKED)}: {text}"))
    have_nf = [n for n in names if "NF LSTM" in mase[n] and np.isfinite(mase[n]["NF LSTM"])]
    if have_nf:
        lost = [n for n in have_nf if not mase[n]["seqlstm"] < mase[n]["NF LSTM"]]
        out.append((len(lost) <= 1, f"seqlstm more accurate (MASE) than NeuralForecast's LSTM on "
                                    f"all sets but at most one: worse on {len(lost)} of "
                                    f"{len(have_nf)}" + (f" ({', '.join(lost)})" if lost else "")))
        ratio = {n: _mean(_methods(side[n])["NF LSTM"], "seconds")
                 / _mean(_methods(side[n])["seqlstm"], "seconds") for n in have_nf}
        slow = [f"{n} {r:.1f}x" for n, r in ratio.items() if not r >= 5]
        out.append((not slow, "seqlstm's fit >= 5x faster than NeuralForecast's on every set: "
                              + ", ".join(f"{n} {r:.1f}x" for n, r in ratio.items())))
    else:
        out.append((None, "more accurate than NeuralForecast's LSTM on all sets but at most "
                          "one, with a fit >= 5x faster: not measured (NeuralForecast not run)"))
    # the defaults' intervals, else (no probabilistic loss at the defaults) loss="quantile"'s
    cov, which = {}, {}
    for n in names:
        for method in ("seqlstm", "seqlstm quantile"):
            row = _methods(side[n]).get(method)
            c = _mean(row, "coverage80") if row else float("nan")
            if np.isfinite(c):
                cov[n], which[n] = c, method
                break
    if not cov:
        out.append((None, "80% intervals cover 75-85% of test points: not measured (seqlstm at "
                          "its defaults has no probabilistic loss)"))
    else:
        bad = [f"{n} {c:.3f}" for n, c in cov.items() if not 0.75 <= c <= 0.85]
        methods = sorted(set(which.values()))
        out.append((not bad and len(cov) == len(names),
                    f"80% intervals ({', '.join(methods)}) cover 75-85% of test points on "
                    "every set (mean of seeds): " + ", ".join(f"{n} {c:.3f}"
                                                              for n, c in cov.items())))
    return out


def side_task_season(part):
    return part["season"]


# ---------------------------------------------------------------------------- Mackey-Glass
def mackey_glass(leads, epochs, n_train=2000, n_test=1000):
    from seqlstm import LSTMForecaster, metrics
    from seqlstm.datasets import make_mackey_glass

    s = make_mackey_glass(length=200 + n_train + n_test, random_state=0)
    s = s.isel(sample=0, feature=0, time=slice(200, None))
    train, test = s.isel(time=slice(0, n_train)), s.isel(time=slice(n_train, None))
    rows = []
    for lead in leads:
        start = time.perf_counter()
        model = LSTMForecaster(lookback=50, horizon=lead, loss="gaussian", hidden_size=32,
                               max_iter=epochs, batch_size=32, learning_rate_init=3e-3,
                               early_stopping=True, random_state=0).fit(train)
        seconds = time.perf_counter() - start
        out = model.predict(test).sel(lead=lead)
        valid = out["valid_time"].values
        ok = np.isin(valid, test["time"].values)
        obs = test.sel(time=valid[ok]).values
        mean, std = out["mean"].values[ok], out["std"].values[ok]
        persistence = test.sel(time=out["time"].values[ok]).values
        rows.append({"lead": lead, "rmse": float(metrics.rmse(obs, mean)),
                     "persistence": float(metrics.rmse(obs, persistence)),
                     "coverage80": float(metrics.gaussian_coverage(obs, mean, std, 0.8)),
                     "epochs": model.n_iter_, "seconds": seconds})
        print(rows[-1], flush=True)
    return rows


# ---------------------------------------------------------------------------- memory
#: The child's own peak resident memory in KiB: VmHWM of /proc/self/status (ru_maxrss is not
#: used: Linux carries it across exec, so a child of a large process reported its parent's).
_HWM = """
def hwm():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
"""

_MEMORY_CHILD = _HWM + """
import json, sys, time, tracemalloc, warnings
import numpy as np
from seqlstm import LSTMForecaster
warnings.simplefilter("ignore")
n = int(sys.argv[1])
t = np.arange(n)
y = np.sin(2 * np.pi * t / 365.25) + 0.1 * np.random.default_rng(0).standard_normal(n)
model = LSTMForecaster(lookback=365, horizon=7, window_stride=50, hidden_size=16, max_iter=1,
                       batch_size=64, random_state=0)
model.fit(y[:1000])                  # compile and warm up outside the measurement
before = hwm()
tracemalloc.start()
start = time.perf_counter()
model.fit(y)
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
peak = hwm()
print(json.dumps({"steps": n, "windows": model.n_windows_, "before_mib": before / 1024,
                  "peak_mib": peak / 1024, "traced_mib": traced / 2**20,
                  "data_mib": y.nbytes / 2**20, "seconds": seconds}))
"""


_STATEFUL_CHILD = _HWM + """
import json, sys, time, tracemalloc, warnings
import numpy as np
from seqlstm import LSTMRegressor
warnings.simplefilter("ignore")
n = int(sys.argv[1])
rng = np.random.default_rng(0)
X = rng.standard_normal((1, n, 4)).astype(np.float32)
y = np.cumsum(X[:, :, :1], axis=1) * 0.01
model = LSTMRegressor(hidden_size=32, return_sequences=True, tbptt=(50, 100), max_iter=1,
                      random_state=0)
model.fit(X[:, :1000], y[:, :1000])   # compile and warm up outside the measurement
before = hwm()
tracemalloc.start()
start = time.perf_counter()
model.fit(X, y)
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
peak = hwm()
print(json.dumps({"steps": n, "windows": n // 50, "before_mib": before / 1024,
                  "peak_mib": peak / 1024, "traced_mib": traced / 2**20,
                  "data_mib": (X.nbytes + y.nbytes) / 2**20, "seconds": seconds,
                  "model": "stateful"}))
"""


def memory(lengths):
    rows = []
    for child in (_MEMORY_CHILD, _STATEFUL_CHILD):
        for n in lengths:
            out = subprocess.run([sys.executable, "-c", child, str(n)], check=True,
                                 capture_output=True, text=True, cwd=ROOT)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    return rows


# ---------------------------------------------------------------------------- report
SIDE_HEADING = "## Side by side"
MG_HEADING = "## Mackey-Glass"
MEMORY_HEADING = "## Memory of fit"
HEADINGS = {"side": SIDE_HEADING, "mg": MG_HEADING, "memory": MEMORY_HEADING}


def _earlier(path):
    """The sections (part -> lines) and machine entries of an earlier report."""
    if path is None or not path.exists():
        return {}, {}
    lines = path.read_text().splitlines()
    sections = {}
    for part, heading in HEADINGS.items():
        starts = [i for i, line in enumerate(lines) if line.startswith(heading)]
        if starts:
            end = next((i for i in range(starts[0] + 1, len(lines))
                        if lines[i].startswith("## ")), len(lines))
            section = lines[starts[0]:end]
            while section and not section[-1].strip():
                section.pop()
            sections[part] = section
    prefix = "Machines (per part): "
    line = next((x for x in lines if x.startswith(prefix)), "")
    machines = dict(e.split(": ", 1) for e in line[len(prefix):].rstrip(".").split("; ")
                    if ": " in e)
    return sections, machines


def _spread(row, metric, fmt):
    values = [r[metric] for r in row["runs"] if metric in r]
    if not values:
        return "–"
    if len(values) == 1:
        return format(values[0], fmt)
    return (f"{format(np.mean(values), fmt)} ({format(min(values), fmt)}–"
            f"{format(max(values), fmt)})")


def side_lines(side, meta):
    lines = [f"{SIDE_HEADING}: seqlstm at its defaults, statsforecast and NeuralForecast, "
             "one run", ""]
    lines += [meta, ""] if meta else []
    lines += [
        "Splits and horizons of `../shared/data/README.md`.  seqlstm: `LSTMForecaster` with "
        "only `horizon` and `lookback` set (`lookback_rule`: "
        "max(8, 2 x season, 2 x horizon) unless the default lookback is \"auto\"), seeds "
        "mean (min–max); panels are one global model over their series.  NeuralForecast: "
        "`LSTM(h, input_size=<seqlstm's lookback>)` at its defaults on the CPU, seeds mean "
        "(min–max).  statsforecast: one model per series, season length from the frequency.  "
        "Multi-step sets: `horizon` steps from one origin; Lynx (log10) and Nile: one step "
        "ahead at each test year with the actuals revealed, every model fitted once.  "
        "MASE: M4 definition (seasonal-naive in-sample MAE of the training part; season 1 for "
        "yearly data); panels: each score averaged over the series.  Fit s: one fit of the "
        "set (statsforecast: all its series), wall clock, after a warm-up that compiles the "
        "kernels.", ""]
    for name, part in side.items():
        kind = ("one step ahead at each test step" if part["rolling"]
                else f"{part['horizon']} steps from one origin")
        panel = f", {part['n_series']} series" if part["panel"] else ""
        lines += [f"### {name}: {kind}{panel}, train {part['n_train']} / test "
                  f"{part['n_test']} steps, season {part['season']}", ""]
        smape = part["panel"]
        head = "| method | RMSE | MAE | MASE |" + (" sMAPE |" if smape else "") + \
            " 80% coverage | fit s |"
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for method, row in _methods(part).items():
            n = len(row["runs"])
            plural = "s" if n > 1 else ""
            label = method + (f" ({n} seed{plural})"
                              if method in ("seqlstm", "NF LSTM", "seqlstm quantile") else "")
            if method == "seqlstm ensemble" and n:
                label += f" ({len(_methods(part)['seqlstm']['runs'])} members)"
            if not n:
                lines.append(f"| {label} | {row.get('note', 'not run')} |" +
                             " |" * (head.count("|") - 3))
                continue
            cells = [_spread(row, m, ".4g") for m in ("rmse", "mae")]
            cells += [_spread(row, "mase", ".3f")]
            cells += [_spread(row, "smape", ".2f")] if smape else []
            cells += [_spread(row, "coverage80", ".3f"), _spread(row, "seconds", ".2f")]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        settings = _methods(part)["seqlstm"].get("params")
        if settings:
            lookback = _methods(part)["seqlstm"]["runs"][0].get("lookback")
            lines += ["", f"seqlstm set: {settings}; lookback read: {lookback}."]
        lines += [""]
    names = [n for n in side if "statsforecast" in side[n]]
    if names:
        lines += ["### MASE by set (mean of seeds) and mean rank", "",
                  "| method | " + " | ".join(names) + " | mean MASE rank |",
                  "|---|" + "---|" * (len(names) + 1)]
        mase = {n: {m: _mean(row, "mase") for m, row in _methods(side[n]).items()}
                for n in names}
        methods = list(_methods(side[names[0]]))
        for m in methods:
            rank = ""
            if m in RANKED:
                rs = []
                for n in names:
                    present = sorted((k for k in RANKED if np.isfinite(mase[n].get(k, np.nan))),
                                     key=lambda k: mase[n][k])
                    if m in present:
                        rs.append(present.index(m) + 1)
                rank = f"{np.mean(rs):.2f}" if rs else ""
            lines.append(f"| {m} | " + " | ".join(f"{mase[n].get(m, float('nan')):.3f}"
                                                  for n in names) + f" | {rank} |")
        lines += ["", "Ranks among " + ", ".join(RANKED) + " (those run; 1 best) per set, "
                  "averaged.", ""]
        lines += ["### Targets (issue 18), computed from the figures above", ""]
        for passed, text in targets(side):
            mark = "n/a" if passed is None else ("PASS" if passed else "FAIL")
            lines.append(f"- **{mark}** {text}")
        checks, differ = readme_check(side)
        lines += ["", "### statsforecast against the data README's baselines", "",
                  f"{sum(c[-1] for c in checks)} of {len(checks)} README figures reproduced at "
                  "the README's precision"
                  + ("." if not differ else "; differing: " + "; ".join(differ) + "."), ""]
    else:
        lines += ["statsforecast not run (`--skip-peers` or `--peers`): no baselines, no "
                  "targets.", ""]
    return lines


def mg_lines(mg):
    lines = ["## Mackey-Glass (tau = 17), train 2000 / test 1000 steps", "",
             "Gaussian forecaster, lookback 50, hidden 32, batch 32, lr 3e-3, time-ordered early "
             "stopping; one model per lead with horizon = lead.", "",
             "| lead | RMSE | persistence RMSE | ratio | 80% interval coverage | epochs | fit s |",
             "|---|---|---|---|---|---|---|"]
    for r in mg:
        lines.append(f"| {r['lead']} | {r['rmse']:.4f} | {r['persistence']:.4f} | "
                     f"{r['rmse'] / r['persistence']:.3f} | {r['coverage80']:.3f} | "
                     f"{r['epochs']} | {r['seconds']:.1f} |")
    return lines + [""]


def memory_lines(mem):
    lines = ["## Memory of fit on one long record", "",
             "Lookback 365, horizon 7, window stride 50, hidden 16, batch 64, one epoch, after a "
             "warm-up fit that compiles the kernels.  Peak resident memory of the process "
             "(VmHWM: a high-water mark that includes Numba's compilation, hence equal "
             "before and after when fit stays below it) and the peak of the memory allocated "
             "during fit as traced by tracemalloc (NumPy arrays: the scaled record copy, "
             "window lists, minibatch buffers, network workspaces).", "",
             "Stateful regressor: `LSTMRegressor(return_sequences=True, tbptt=(50, 100), "
             "hidden_size=32)`, one record of 4 inputs and a per-step target, one epoch "
             "(one optimiser step per 50 steps, the state carried along the record).", "",
             "| model | record steps | data MiB | windows | RSS before fit MiB | RSS peak MiB | "
             "allocated during fit, peak MiB | fit s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in mem:
        lines.append(f"| {r.get('model', 'forecaster')} | {r['steps']:,} | "
                     f"{r.get('data_mib', float('nan')):.1f} | "
                     f"{r['windows']:,} | {r['before_mib']:.0f} | {r['peak_mib']:.0f} | "
                     f"{r.get('traced_mib', float('nan')):.1f} | {r['seconds']:.1f} |")
    return lines + [""]


def report(rows, kept, label=""):
    where = "; ".join(f"{part}: {m}" for part, m in rows["machine"].items())
    lines = ["# Forecast benchmark", ""]
    lines += [label, ""] if label else []
    lines += [f"Machines (per part): {where}.", "",
              "Command: `python benchmarks/bench_forecast.py` (wall-clock times).", ""]
    makers = {"side": lambda r: side_lines(r, rows.get("side_meta", "")), "mg": mg_lines,
              "memory": memory_lines}
    for part in PARTS:
        if part in rows:
            lines += makers[part](rows[part])
        elif part in kept:
            lines += kept[part] + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _versions():
    out = []
    for name in ("seqlstm", "statsforecast", "neuralforecast", "torch", "numpy", "numba"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        out.append(f"{name} {getattr(module, '__version__', '?')}")
    return ", ".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path,
                        default=ROOT / ".." / "shared" / "data" / "forecast")
    parser.add_argument("--sets", nargs="*", default=None, choices=SET_NAMES,
                        help="default: all (--quick: Nile and Uschange)")
    parser.add_argument("--seeds", type=int, default=5, help="seqlstm seeds and ensemble size")
    parser.add_argument("--nf-seeds", type=int, default=3,
                        help="NeuralForecast seeds: its default random_seed (1) and more")
    parser.add_argument("--parts", nargs="*", default=list(PARTS), choices=PARTS)
    parser.add_argument("--skip-peers", action="store_true",
                        help="seqlstm only: no statsforecast or NeuralForecast")
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=PEERS,
                        help="the peers run (default both)")
    parser.add_argument("--quick", action="store_true",
                        help="checks the script: Nile and Uschange, 1 seed, 5 epochs / steps; "
                             "prints the report")
    parser.add_argument("--label", default="", help="a line written under the title")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="report file (default benchmarks/FORECAST.md; --quick: none)")
    args = parser.parse_args(argv)
    out = args.out if args.out is not None or args.quick else HERE / "FORECAST.md"
    warnings.simplefilter("ignore")
    threads = os.environ.get("NUMBA_NUM_THREADS")
    machine = (_machine() + (f", {threads} Numba thread(s)" if threads else "") + _commit())
    print(machine, flush=True)
    peers = [] if args.skip_peers else args.peers
    for peer in PEERS:
        if peer not in peers:
            print(f"peer skipped: {peer} is not run", flush=True)
    cache = HERE / "forecast_rows.json"
    rows = json.loads(cache.read_text()) if cache.exists() and not args.quick else {}
    rows.setdefault("machine", {})
    timing = {}
    for part in args.parts:
        start = time.perf_counter()
        if part == "side":
            sets = args.sets or (["Nile", "Uschange"] if args.quick else list(SET_NAMES))
            tasks = load_tasks(args.data)
            seeds = list(range(1 if args.quick else args.seeds))
            nf_seeds = list(range(1, 1 + (1 if args.quick else args.nf_seeds)))
            rows["side_meta"] = (f"Versions: {_versions()}.  seqlstm seeds {seeds}" + (
                f", NeuralForecast seeds {nf_seeds}." if "neuralforecast" in peers else
                ".  NeuralForecast not run in this run.") + (
                "" if "statsforecast" in peers else "  statsforecast not run in this run."))
            earlier = rows.get("side", {}) if args.sets else {}

            def save(side, earlier=earlier):
                # the sets done so far (with those of an earlier run not re-run), cached
                rows["side"] = {n: side.get(n, earlier.get(n)) for n in SET_NAMES
                                if n in side or n in earlier}
                rows["machine"]["side"] = (machine + f", load {os.getloadavg()[0]:.1f} at "
                                           f"end, {time.perf_counter() - start:.0f} s")
                if not args.quick:
                    cache.write_text(json.dumps(rows))
            side_by_side([tasks[n] for n in sets], seeds, nf_seeds, peers, args.quick, save)
        elif part == "mg":
            rows["mg"] = (mackey_glass([1], epochs=2, n_train=300, n_test=100) if args.quick
                          else mackey_glass([1, 10, 50], epochs=60))
        else:
            rows["memory"] = memory([10_000] if args.quick else [10_000, 100_000, 1_000_000])
        timing[part] = time.perf_counter() - start
        rows["machine"][part] = (machine + f", load {os.getloadavg()[0]:.1f} at end, "
                                 f"{timing[part]:.0f} s")
        print(f"part {part}: {timing[part]:.0f} s", flush=True)
    if not args.quick:
        cache.write_text(json.dumps(rows))
    # parts neither re-run nor cached: their section of the earlier report, with its label
    sections, machines = _earlier(out)
    kept = {}
    for part in PARTS:
        if part not in rows and part in sections:
            kept[part] = sections[part]
            if part in machines:
                rows["machine"][part] = machines[part]
    rows["machine"] = dict(sorted(rows["machine"].items(),
                                  key=lambda kv: PARTS.index(kv[0]) if kv[0] in PARTS else 9))
    text = report(rows, kept, args.label)
    if out is None:
        print(text)
    else:
        out.write_text(text)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
