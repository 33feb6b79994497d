"""Choose LSTMForecaster's default ``decoder`` and ``window_norm`` by rolling-origin validation
inside the training periods of the development series; writes ``benchmarks/FORECAST_DEFAULTS.md``.

Protocol (the test periods are never read: every series is cut at the end of its customary
training part before anything else happens):

- Development series of ``../shared/data/forecast`` (README there): Airline (monthly, 24 steps),
  Lynx (yearly, log10, one step), ElecEquip (monthly, 18 steps), Nile (yearly, one step),
  Uschange (5 quarterly series, one global model, 8 steps) and Macro (12 quarterly series of very
  different scales, one global model, 8 steps), each with its README horizon.
- Candidates: ``decoder/window_norm[/scaling]`` (``scaling`` "global" unless "series" is
  written): by default ``per_step`` with ``window_norm`` in {"last", "seasonal"} and
  ``scaling`` in {"global", "series"}, and ``direct/seasonal`` (``--candidates`` takes others,
  e.g. ``per_step/None`` or ``direct/robust``); ``lookback = max(8, 2 * season, 2 * horizon)``,
  ``horizon`` = the set's horizon, ``season_length`` = the set's season (what a datetime time
  coordinate gives, :func:`seqlstm.data.records.infer_season_length`: the records go in as NumPy
  here), everything else at the forecaster's CURRENT defaults (training included; ``n_jobs=1``:
  the same results, and one thread is far faster on busy cores: 25x at a load of 13 on 2
  cores).
- Origins: several cut points inside the training part (three listed per set; the last two by
  default: ``--origins 3`` for all).  At each origin a model is fitted on the steps before it;
  multi-step sets forecast the ``horizon`` steps after it from its end (``forecast``); one-step
  sets forecast each step of a block after it with the actual values before that step revealed
  (``predict``, lead 1), as the test protocol does.
- Metric: MASE per series, the validation MAE over the in-sample MAE of the seasonal naive
  forecast on the fitted part (season 12 monthly, 4 quarterly, 1 yearly); averaged over the
  series and origins of a set, per seed; seeds 0 .. n-1, reported as mean and range.  Seeds run
  in the outer loop (every set and candidate for seed 0, then seed 1, ...), each score is
  appended to ``--raw`` (JSON) as it comes, and the table uses the seeds finished for EVERY
  cell, so a run stopped early (``--report-only`` writes the table from ``--raw``) still
  compares the candidates on the same seeds.
- Choice: the lowest mean rank over the six sets (rank of each candidate's seed-mean MASE per
  set; equal means share their mean rank), ties broken by the geometric mean of the seed-mean
  MASE over the sets.  Two stages when the first is close (as on 2026-12-07): every candidate
  on seeds 0-4, then the four of lowest mean rank on seeds 5-9 too (``--first-seed 5``; the
  scores of both stages in one ``--raw`` file), the choice made by the same rule over the
  four on all ten seeds.

Run (with ``nice``; it reports its own time, machine and load)::

    nice python benchmarks/select_forecast_defaults.py [--data FOLDER] [--seeds 3] [--quick]
"""

import argparse
import json
import os
import pathlib
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from _machine import commit as _commit
from _machine import machine as _machine

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent / ".." / "shared" / "data" / "forecast"
#: The candidates: (decoder, window_norm, scaling[, extra settings "key=value;..."]).
CANDIDATES = (("per_step", "last", "global"), ("per_step", "seasonal", "global"),
              ("per_step", "last", "series"), ("per_step", "seasonal", "series"),
              ("direct", "seasonal", "global"))


def label(candidate):
    """``decoder/window_norm[/scaling][+key=value;...]`` as the table and ``--candidates``
    write it (the scaling only when it is not "global", extra settings only if any)."""
    text = f"{candidate[0]}/{candidate[1]}"
    if candidate[2] != "global":
        text = f"{text}/{candidate[2]}"
    return text + (f"+{candidate[3]}" if len(candidate) > 3 and candidate[3] else "")


def parse(text):
    """A candidate from :func:`label`'s text."""
    text, _, extra = text.partition("+")
    decoder, norm, *scaling = text.split("/")
    cand = (decoder, None if norm == "None" else norm, scaling[0] if scaling else "global")
    return cand + ((extra,) if extra else ())


def settings(extra):
    """The keyword arguments of a candidate's extra settings ``"key=value;..."`` (values read
    as Python literals: ``alpha=1e-3;hidden_size=16``)."""
    import ast

    return {k: ast.literal_eval(v) for k, v in (item.split("=") for item in extra.split(";"))}


def _csv(folder, name, **kw):
    return pd.read_csv(folder / f"{name}.csv", **kw)


def load_sets(folder):
    """The development sets CUT AT THE END OF THEIR TRAINING PARTS.

    Returns
    -------
    list of dict
        ``name``, ``values`` ``(n_series, n_train)``, ``season``, ``horizon``, ``origins``
        (numbers of steps fitted on), ``block`` (validation steps after an origin; the horizon
        for multi-step sets).
    """
    airline = _csv(folder, "Airline")["Passengers"].to_numpy(float)[:120]      # 1949-1958
    lynx = np.log10(_csv(folder, "Lynx", index_col=0).iloc[:, 0].to_numpy(float))[:100]
    elec = _csv(folder, "ElecEquip").iloc[:, 1].to_numpy(float)[:-18]          # to 2014-11
    nile = _csv(folder, "Nile")["volume"].to_numpy(float)[:80]                 # 1871-1950
    uschange = _csv(folder, "Uschange", index_col=0).iloc[:, 1:].to_numpy(float).T[:, :-8]
    macro = _csv(folder, "Macro").iloc[:, 1:].to_numpy(float).T[:, :-8]
    sets = [
        # name, values, season, horizon, block, origins (steps before each origin)
        ("Airline", airline[None], 12, 24, 24, (84, 90, 96)),
        ("Lynx", lynx[None], 1, 1, 14, (58, 72, 86)),
        ("ElecEquip", elec[None], 12, 18, 18, (185, 203, 221)),
        ("Nile", nile[None], 1, 1, 20, (40, 50, 60)),
        ("Uschange", uschange, 4, 8, 8, (155, 163, 171)),
        ("Macro", macro, 4, 8, 8, (171, 179, 187)),
    ]
    out = []
    for name, values, season, horizon, block, origins in sets:
        assert max(origins) + block <= values.shape[1], name       # inside the training part
        out.append(dict(name=name, values=values, season=season, horizon=horizon, block=block,
                        origins=origins))
    return out


def mase(actual, forecast, fitted, season):
    """MASE per series: MAE of `forecast` over the in-sample seasonal-naive MAE of `fitted`.

    Parameters
    ----------
    actual, forecast : ndarray, shape (n_series, n_steps)
    fitted : ndarray, shape (n_series, n_fitted)
    """
    scale = np.mean(np.abs(fitted[:, season:] - fitted[:, :-season]), axis=1)
    return np.mean(np.abs(actual - forecast), axis=1) / scale


def baselines(spec):
    """Mean MASE of naive, seasonal naive and drift over the series and origins of one set, by
    the candidates' protocol (multi-step: from the origin; one-step: each step of the block with
    the actuals before it revealed; drift: the line through the first and last value fitted)."""
    values, h, block, m = spec["values"], spec["horizon"], spec["block"], spec["season"]
    scores = {"naive": [], "seasonal naive": [], "drift": []}
    for origin in spec["origins"]:
        fitted, actual = values[:, :origin], values[:, origin:origin + block]
        if h > 1:
            k = np.arange(block)
            naive = np.repeat(fitted[:, -1:], block, axis=1)
            seasonal = fitted[:, origin - m + k % m]
            slope = (fitted[:, -1] - fitted[:, 0]) / (origin - 1)
            drift = fitted[:, -1:] + slope[:, None] * (k + 1)
        else:
            steps = np.arange(origin, origin + block)
            naive = seasonal = values[:, steps - 1]
            drift = values[:, steps - 1] + (values[:, steps - 1] - values[:, :1]) / (steps - 1)
        for name, forecast in zip(scores, (naive, seasonal, drift)):
            scores[name].append(mase(actual, forecast, fitted, m))
    return {name: float(np.mean(v)) for name, v in scores.items()}


def validate(spec, candidate, seed, epochs=None):
    """Mean MASE over the series and origins of one set, for one candidate and seed."""
    from seqlstm import LSTMForecaster

    decoder, window_norm, scaling = candidate[:3]
    extra = settings(candidate[3]) if len(candidate) > 3 else {}
    return _validate(spec, decoder, window_norm, scaling, seed, epochs, LSTMForecaster, extra)


def _validate(spec, decoder, window_norm, scaling, seed, epochs, LSTMForecaster, extra=None):
    values, h, block = spec["values"], spec["horizon"], spec["block"]
    lookback = max(8, 2 * spec["season"], 2 * h)
    scores = []
    for origin in spec["origins"]:
        fitted = values[:, :origin]
        # n_jobs=1: one thread is faster on busy cores, and results do not depend on it
        kwargs = dict(lookback=lookback, horizon=h, decoder=decoder, window_norm=window_norm,
                      scaling=scaling, season_length=spec["season"], random_state=seed,
                      n_jobs=1)
        kwargs.update(extra or {})
        if epochs is not None:
            kwargs["max_iter"] = epochs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # ConvergenceWarning at max_iter
            model = LSTMForecaster(**kwargs).fit(fitted[:, :, None])
        actual = values[:, origin:origin + block]
        if h > 1:                         # from the origin, h steps at once
            forecast = model.forecast(fitted[:, :, None], h)[..., 0]
        else:                             # one step at a time, the actual past revealed
            pred = model.predict(values[:, :origin + block - 1, None])[..., 0, 0]
            forecast = pred[:, origin - 1 - (lookback - 1):]
        assert forecast.shape == actual.shape, (spec["name"], forecast.shape, actual.shape)
        scores.append(mase(actual, forecast, fitted, spec["season"]))
    return float(np.mean(scores))


def run(folder, seeds, candidates, n_origins=None, quick=False, raw=None, first_seed=0):
    """Score every (seed, set, candidate), seeds ``first_seed .. first_seed + seeds - 1``
    outermost; append each score to `raw`."""
    sets = load_sets(folder)
    if n_origins is not None:                   # the last `n_origins` of each set
        sets = [dict(s, origins=s["origins"][-n_origins:]) for s in sets]
    epochs = None
    if quick:
        sets = [dict(s, origins=s["origins"][-1:]) for s in sets]
        epochs = 2
    results = {}           # (set, candidate) -> list over seeds
    for seed in range(first_seed, first_seed + seeds):
        for spec in sets:
            for cand in candidates:
                start = time.perf_counter()
                score = validate(spec, cand, seed, epochs)
                results.setdefault((spec["name"], cand), []).append(score)
                print(f"{spec['name']:9} {label(cand):16} seed {seed}: MASE {score:.3f} "
                      f"({time.perf_counter() - start:.1f} s, load "
                      f"{os.getloadavg()[0]:.1f})", flush=True)
                if raw is not None:
                    _save_raw(raw, results)
    return sets, results


def _save_raw(path, results):
    path.write_text(json.dumps({f"{k[0]}|{label(k[1])}": v for k, v in results.items()}))


def _load_raw(path):
    return {(k.split("|")[0], parse(k.split("|")[1])): v
            for k, v in json.loads(path.read_text()).items()}


def common_seeds(sets, results, candidates):
    """`results` cut to the seeds finished for every set and candidate (seeds 0 .. n-1)."""
    n = min(len(results.get((s["name"], c), [])) for s in sets for c in candidates)
    if n == 0:
        raise ValueError("no seed was scored for every set and candidate")
    return {(s["name"], c): results[(s["name"], c)][:n] for s in sets for c in candidates}, n


def choose(sets, results, candidates):
    """Mean rank per candidate over the sets and the geometric mean of the seed-mean MASE."""
    names = [s["name"] for s in sets]
    means = np.array([[np.mean(results[(n, c)]) for c in candidates] for n in names])
    ranks = rankdata(means, axis=1)              # ties (equal means) share their mean rank
    mean_rank = ranks.mean(axis=0)
    geo = np.exp(np.log(means).mean(axis=0))
    best = min(range(len(candidates)), key=lambda i: (mean_rank[i], geo[i]))
    return candidates[best], mean_rank, geo, ranks


def report(sets, results, seeds, seconds, label_, quick, candidates):
    chosen, mean_rank, geo, _ = choose(sets, results, candidates)
    head = "| set (horizon, lookback, origins) | " + " | ".join(
        f"`{label(c)}`" for c in candidates) + " |"
    lines = [
        "# Choosing `LSTMForecaster`'s default `decoder`, `window_norm` and `scaling`",
        "",
        "Written by `benchmarks/select_forecast_defaults.py` (protocol in its docstring): "
        "rolling-origin validation INSIDE the training parts of the development series of "
        "`../shared/data/forecast` (their test periods are cut off before anything is read), "
        "`lookback = max(8, 2 * season, 2 * horizon)`, the set's horizon and season "
        "(`season_length`), everything else at "
        f"the forecaster's current defaults; {seeds} seeds per candidate (0 .. {seeds - 1}).  "
        "MASE (validation MAE over the in-sample seasonal-naive MAE; season 12 monthly, 4 "
        "quarterly, 1 yearly) averaged over the series and origins of a set; each cell is the "
        "mean over the seeds and, in brackets, their range (lower is better; bold: the best of "
        "the row).",
        "",
        f"Machine: {label_}; {seconds / 60:.1f} min in all (other processes were running: "
        "times are not comparable)." + (" QUICK RUN (2 epochs, one origin): not a result."
                                        if quick else ""),
        "",
        head,
        "|" + "---|" * (len(candidates) + 1),
    ]
    for i, spec in enumerate(sets):
        lookback = max(8, 2 * spec["season"], 2 * spec["horizon"])
        cells = []
        row_best = min(np.mean(results[(spec["name"], c)]) for c in candidates)
        for c in candidates:
            r = results[(spec["name"], c)]
            text = f"{np.mean(r):.3f} ({min(r):.3f}–{max(r):.3f})"
            cells.append(f"**{text}**" if np.mean(r) == row_best else text)
        origins = ", ".join(str(o) for o in spec["origins"])
        lines.append(f"| {spec['name']} ({spec['horizon']}, {lookback}, fit on {origins} "
                     f"steps) | " + " | ".join(cells) + " |")
    lines.append("| mean rank over the sets | " + " | ".join(f"{r:.2f}" for r in mean_rank)
                 + " |")
    lines.append("| geometric mean of the MASE | " + " | ".join(f"{g:.3f}" for g in geo)
                 + " |")
    lines += ["", "The simple forecasts on the same origins (MASE, the same protocol):", "",
              "| set | naive | seasonal naive | drift |", "|---|---|---|---|"]
    for spec in sets:
        b = baselines(spec)
        lines.append(f"| {spec['name']} | {b['naive']:.3f} | {b['seasonal naive']:.3f} | "
                     f"{b['drift']:.3f} |")
    lines += ["", f"Chosen (lowest mean rank over the sets, ties by the geometric mean): "
              f"`decoder={chosen[0]!r}, window_norm={chosen[1]!r}, scaling={chosen[2]!r}`"
              + (f" with `{chosen[3]}`." if len(chosen) > 3 else "."),
              ""]
    return "\n".join(lines), chosen


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the first seed (a second stage adds seeds to a first's)")
    parser.add_argument("--origins", type=int, default=2,
                        help="origins per set (the last ones of each set's list of 3)")
    parser.add_argument("--candidates", default=None,
                        help="comma-separated decoder/window_norm[/scaling] to score (None "
                             "as 'None'), e.g. per_step/last,direct/robust/series; the "
                             "default: "
                             + ",".join(label(c) for c in CANDIDATES))
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs, one origin, one seed: checks the script runs")
    parser.add_argument("--raw", type=pathlib.Path, default=None,
                        help="JSON file the scores are appended to as they come")
    parser.add_argument("--report-only", action="store_true",
                        help="write the table from --raw (the seeds finished for every cell) "
                             "without fitting anything")
    parser.add_argument("--seconds", type=float, default=None,
                        help="with --report-only: the run's duration, for the table")
    parser.add_argument("--machine", default=None,
                        help="with --report-only: the run's machine line, for the table")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "FORECAST_DEFAULTS.md")
    args = parser.parse_args(argv)
    if not (args.data / "Airline.csv").exists():
        print(f"data folder not found: {args.data}; nothing to do.")
        return 1
    candidates = CANDIDATES
    if args.candidates:
        candidates = tuple(parse(c) for c in args.candidates.split(","))
    if args.report_only:
        sets = load_sets(args.data)
        if args.origins is not None:
            sets = [dict(s, origins=s["origins"][-args.origins:]) for s in sets]
        results, seeds = common_seeds(sets, _load_raw(args.raw), candidates)
        text, _ = report(sets, results, seeds, args.seconds or float("nan"),
                         args.machine or _machine() + _commit(), False, candidates)
        print(text)
        args.out.write_text(text)
        return 0
    seeds = 1 if args.quick else args.seeds
    label_ = _machine() + _commit()
    start = time.perf_counter()
    sets, results = run(args.data, seeds, candidates, args.origins, args.quick, args.raw,
                        args.first_seed)
    text, chosen = report(sets, results, seeds, time.perf_counter() - start, label_,
                          args.quick, candidates)
    print(text)
    if not args.quick:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
