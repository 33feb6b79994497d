"""seqlstm.metrics._scorers (get_scorer, SCORERS): the scorers in scikit-learn's model
selection, their signs, and bad input."""

import numpy as np
import pytest
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
