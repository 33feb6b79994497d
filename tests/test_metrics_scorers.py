"""seqlstm.metrics._scorers (get_scorer, SCORERS): the scorers in scikit-learn's model
selection, their signs, and bad input."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import KFold, cross_val_score

from seqlstm import metrics


def test_scorers_in_scikit_learn():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 2))
    y = X @ np.array([1.0, -2.0]) + 3.0 + rng.normal(scale=0.1, size=60)
    cv = KFold(3)
    nse = cross_val_score(LinearRegression(), X, y, cv=cv, scoring=metrics.get_scorer("nse"))
    r2 = cross_val_score(LinearRegression(), X, y, cv=cv, scoring="r2")
    np.testing.assert_allclose(nse, r2)
    neg = cross_val_score(LinearRegression(), X, y, cv=cv,
                          scoring=metrics.get_scorer("neg_rmse"))
    np.testing.assert_allclose(
        neg, cross_val_score(LinearRegression(), X, y, cv=cv,
                             scoring="neg_root_mean_squared_error"))
    assert np.all(neg < 0)
    # directly on a fitted dummy: the training mean scores NSE 0, its losses come out negated
    dummy = DummyRegressor().fit(X, y)
    assert metrics.get_scorer("nse")(dummy, X, y) == pytest.approx(0.0, abs=1e-12)
    assert metrics.get_scorer("neg_mae")(dummy, X, y) == pytest.approx(
        -mean_absolute_error(y, np.full_like(y, y.mean())))
    # multi-output: per-output scores averaged, as scikit-learn's default
    Y2 = np.column_stack([y, 2 * y + rng.normal(size=60)])
    lin = LinearRegression().fit(X, Y2)
    assert metrics.get_scorer("nse")(lin, X, Y2) == pytest.approx(r2_score(Y2, lin.predict(X)))
    assert metrics.get_scorer("kge")(lin, X, Y2) == pytest.approx(
        np.mean(metrics.kge(Y2, lin.predict(X), axis=0)))
    signs = {name: metrics.SCORERS[name]._sign for name in metrics.SCORERS}
    assert signs == {"neg_mse": -1, "neg_rmse": -1, "neg_mae": -1, "nse": 1, "kge": 1}


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match=r"name must be one of"):
        metrics.get_scorer("r2")


# --------------------------------------------------------------------------------------------
# per-step estimators: the output axis is the target variable; samples and steps are pooled,
# as LSTMRegressor.score pools them, and the scorer gives score's number
# --------------------------------------------------------------------------------------------

PER_STEP = dict(return_sequences=True, hidden_size=4, max_iter=3, learning_rate_init=0.02,
                random_state=0)


def _record(n=1, T=40, outputs=None, seed=0):
    """``n`` records of ``T`` steps, 2 features; per-step targets (n, T) or (n, T, outputs),
    the last sample padded (n > 1) and one observation missing."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 2))
    y = np.cumsum(X[:, :, 0], axis=1) * 0.3 + X[:, :, 1]
    if outputs is not None:
        y = np.stack([y * (k + 1) + k for k in range(outputs)], axis=-1)
    if n > 1:
        X[-1, -5:] = np.nan
        y[-1, -5:] = np.nan
    y[0, 7] = np.nan   # a missing observation inside a sequence
    return X, y


def _pooled_nse(y, p):
    """NSE over every observed (sample, step) point of a single-output target, by hand."""
    keep = ~np.isnan(y) & ~np.isnan(p)
    y, p = y[keep], p[keep]
    return 1.0 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)


def test_per_step_scores_of_one_record_are_finite_and_pooled_over_time():
    from seqlstm import LSTMRegressor

    X, y = _record(n=1)
    model = LSTMRegressor(**PER_STEP).fit(X, y)
    pred = model.predict(X)
    assert pred.shape == y.shape == (1, 40)
    expected = _pooled_nse(y, pred)
    nse = metrics.get_scorer("nse")(model, X, y)
    assert np.isfinite(nse)
    assert nse == pytest.approx(expected, rel=1e-12)
    assert nse == model.score(X, y)
    keep = ~np.isnan(y)
    assert metrics.get_scorer("kge")(model, X, y) == pytest.approx(
        metrics.kge(y[keep], pred[keep]), rel=1e-12)
    assert metrics.get_scorer("neg_rmse")(model, X, y) == pytest.approx(
        -np.sqrt(np.mean((y[keep] - pred[keep]) ** 2)), rel=1e-12)


@pytest.mark.parametrize("outputs", [None, 2])
def test_per_step_scorer_pools_samples_and_steps_per_output(outputs):
    from seqlstm import LSTMRegressor

    X, y = _record(n=6, T=12, outputs=outputs, seed=1)
    model = LSTMRegressor(**PER_STEP).fit(X, y)
    pred = model.predict(X)
    assert np.isnan(pred[-1, -5:]).all()        # padded steps are predicted as missing
    if outputs is None:
        expected = _pooled_nse(y, pred)
    else:
        expected = np.mean([_pooled_nse(y[..., k], pred[..., k]) for k in range(outputs)])
    assert metrics.get_scorer("nse")(model, X, y) == pytest.approx(expected, rel=1e-12)
    assert metrics.get_scorer("nse")(model, X, y) == model.score(X, y)


def test_scorer_and_score_agree_with_weights_spinup_labels_and_pipelines():
    import xarray as xr
    from sklearn.pipeline import make_pipeline

    from seqlstm import LSTMRegressor
    from seqlstm.preprocessing import SequenceScaler

    X, y = _record(n=6, T=12, seed=2)
    w = np.arange(1.0, 7.0)
    scorer = metrics.get_scorer("nse")
    model = LSTMRegressor(spinup=3, **PER_STEP).fit(X, y)
    assert scorer(model, X, y) == model.score(X, y)
    assert scorer(model, X, y, sample_weight=w) == model.score(X, y, sample_weight=w)
    # by hand: steps after the spin-up, each weighted by its sample's weight
    pred = model.predict(X)
    keep = ~np.isnan(y) & ~np.isnan(pred)
    keep[:, :3] = False
    ww = np.broadcast_to(w[:, None], y.shape)[keep]
    assert model.score(X, y, sample_weight=w) == pytest.approx(
        r2_score(y[keep], pred[keep], sample_weight=ww), rel=1e-12)
    assert model.score(X, y) == pytest.approx(r2_score(y[keep], pred[keep]), rel=1e-12)
    # labeled input with the target's dims in another order: matched by name
    Xl = xr.DataArray(X, dims=("station", "time", "feature"))
    yl = xr.DataArray(y, dims=("station", "time")).transpose("time", "station")
    labeled = LSTMRegressor(**PER_STEP).fit(Xl, yl)
    assert scorer(labeled, Xl, yl) == labeled.score(Xl, yl)
    # a pipeline ending in a per-step regressor
    pipe = make_pipeline(SequenceScaler(), LSTMRegressor(**PER_STEP)).fit(X, y)
    assert scorer(pipe, X, y) == pipe.score(X, y)
    assert np.isfinite(pipe.score(X, y))


def test_per_sequence_estimator_scores_unchanged():
    from seqlstm import LSTMRegressor

    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 6, 2))
    y = X[:, :, 0].sum(axis=1)
    model = LSTMRegressor(hidden_size=4, max_iter=3, random_state=0).fit(X, y)
    assert metrics.get_scorer("nse")(model, X, y) == model.score(X, y)
    assert model.score(X, y) == pytest.approx(r2_score(y, model.predict(X)), rel=1e-12)
    Y2 = np.column_stack([y, -y])
    model2 = LSTMRegressor(hidden_size=4, max_iter=3, random_state=0).fit(X, Y2)
    assert metrics.get_scorer("nse")(model2, X, Y2) == pytest.approx(
        r2_score(Y2, model2.predict(X)), rel=1e-12)


class _Fixed(RegressorMixin, BaseEstimator):
    """A fitted "estimator" whose predict returns given values, whatever X."""

    def __init__(self, values=None):
        self.values = values

    def fit(self, X, y):
        return self

    def predict(self, X):
        return self.values


def test_scorers_refuse_predictions_of_another_shape():
    rng = np.random.default_rng(6)
    y = rng.normal(size=(5, 30))
    X = np.zeros((5, 1))
    for name in metrics.SCORERS:
        with pytest.raises(ValueError, match=r"y_pred: expected shape \(5, 30\).*found "
                                             r"\(30, 5\)"):
            metrics.get_scorer(name)(_Fixed(y.T.copy()), X, y)
        with pytest.raises(ValueError, match=r"y_pred: expected shape \(5, 30\).*found "
                                             r"\(150,\)"):
            metrics.get_scorer(name)(_Fixed(y.ravel()), X, y)
    # one output with and without its axis: the same values, no other reading
    y1 = y[:, 0]
    p1 = y1 + rng.normal(scale=0.1, size=5)
    scorer = metrics.get_scorer("nse")
    assert scorer(_Fixed(p1[:, None]), X, y1) == scorer(_Fixed(p1), X, y1) == pytest.approx(
        r2_score(y1, p1), rel=1e-12)
    with pytest.raises(ValueError, match=r"sample_weight: expected shape \(5,\).*; found \(3,\)"):
        scorer(_Fixed(p1), X, y1, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"sample_weight: expected finite values >= 0"):
        scorer(_Fixed(p1), X, y1, sample_weight=-np.ones(5))


def test_scorers_weight_samples_as_scikit_learn():
    from sklearn.metrics import mean_squared_error

    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 2))
    Y2 = np.column_stack([X @ [1.0, 2.0], X @ [-1.0, 0.5]]) + rng.normal(size=(40, 2))
    w = rng.uniform(0.0, 3.0, size=40)
    w[:5] = 0.0                    # a zero weight leaves the sample out
    for y in (Y2[:, 0], Y2):
        lin = LinearRegression().fit(X, y)
        p = lin.predict(X)
        score = {name: metrics.get_scorer(name)(lin, X, y, sample_weight=w)
                 for name in metrics.SCORERS}
        assert score["nse"] == pytest.approx(r2_score(y, p, sample_weight=w), rel=1e-12)
        assert score["neg_mse"] == pytest.approx(-mean_squared_error(y, p, sample_weight=w),
                                                 rel=1e-12)
        assert score["neg_mae"] == pytest.approx(-mean_absolute_error(y, p, sample_weight=w),
                                                 rel=1e-12)
        assert score["neg_rmse"] == pytest.approx(-np.mean(np.sqrt(mean_squared_error(
            y, p, sample_weight=w, multioutput="raw_values"))), rel=1e-12)
        # integer weights count like copies of the sample
        reps = np.repeat(np.arange(40), np.arange(40) % 3)
        kge = metrics.get_scorer("kge")
        assert kge(lin, X, y, sample_weight=np.arange(40) % 3) == pytest.approx(
            kge(lin, X[reps], y[reps]), rel=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_scorers_of_a_forecaster_score_its_issued_forecasts():
    """A forecaster takes no y: the scorers score the forecasts its own score scores (every
    issue time and lead with an observation), pooled per target."""
    from seqlstm import LSTMForecaster

    t = np.arange(80)
    y = np.column_stack([np.sin(t / 3.0), np.cos(t / 5.0)])
    model = LSTMForecaster(lookback=5, horizon=2, hidden_size=4, max_iter=2,
                           random_state=0).fit(y[:60])
    mean = model.predict(y)                        # (issue, lead, target), issues 4 .. 79
    truth = np.full_like(mean, np.nan)
    for lead in (1, 2):
        truth[:80 - 4 - lead, lead - 1] = y[4 + lead:]
    ok = ~np.isnan(truth[..., 0])
    rmse = np.mean([np.sqrt(np.mean((mean[..., j][ok] - truth[..., j][ok]) ** 2))
                    for j in range(2)])
    assert metrics.get_scorer("neg_rmse")(model, y) == pytest.approx(-rmse, rel=1e-12)
    assert metrics.get_scorer("nse")(model, y, None) == pytest.approx(
        np.mean([r2_score(truth[..., j][ok], mean[..., j][ok]) for j in range(2)]), rel=1e-12)
    with pytest.raises(ValueError, match="^y: expected None"):
        metrics.get_scorer("nse")(model, y, y)
