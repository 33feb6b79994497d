"""Tests of seqlstm.training: the fit loop's semantics, divergence handling and interrupts."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from seqlstm.network import RecurrentNetwork
from seqlstm.training import (
    TrainingState,
    build_network,
    gaussian_moments,
    make_optimizer,
    network_config,
    resolve_batch_size,
    run_epochs,
    softmax,
)


def problem(n=32, T=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 2)).astype(np.float32)
    y = X[:, :, :1].sum(axis=1).astype(np.float64)
    return X, y


def setup(seed=0, lr=1e-2):
    net = RecurrentNetwork(2, 4, output_size=1, random_state=seed)
    state = TrainingState(make_optimizer("adam", lr, 0.9, 0.0, 1.0), np.random.default_rng(seed))
    return net, state


def run(net, state, X, y, **kwargs):
    options = dict(loss="mse", max_epochs=5, max_iter=100, batch_size=8)
    options.update(kwargs)
    return run_epochs(net, state, X, y, **options)


def test_history_and_counters():
    X, y = problem()
    net, state = setup()
    run(net, state, X, y, max_epochs=4)
    assert state.n_iter == 4 and state.t == 4 * 32
    assert len(state.loss_curve) == 4 and state.loss == state.loss_curve[-1]
    assert state.best_loss == min(state.loss_curve)
    assert state.loss_curve[-1] < state.loss_curve[0]
    assert state.stop_reason == "epochs"


def test_epoch_loss_is_sample_weighted_mean_of_batch_losses():
    X, y = problem(n=20)
    net, _ = setup()
    before = net.get_flat()
    # A tiny learning rate: the epoch loss is close to the loss of the initial weights.
    state = TrainingState(make_optimizer("sgd", 1e-12, 0.0, 0.0, None),
                          np.random.default_rng(0))
    run(net, state, X, y, max_epochs=1, batch_size=7, shuffle=False)
    probe = build_network(network_config(net), before)
    expected = sum(probe.loss(X[s:s + 7], y[s:s + 7]) * len(X[s:s + 7]) for s in (0, 7, 14)) / 20
    assert state.loss == pytest.approx(expected, rel=1e-6)


def test_same_rng_same_weights_and_shuffle_matters():
    X, y = problem()
    a, sa = setup()
    b, sb = setup()
    run(a, sa, X, y)
    run(b, sb, X, y)
    np.testing.assert_array_equal(a.params, b.params)
    c, sc = setup()
    run(c, sc, X, y, shuffle=False)
    assert not np.array_equal(a.params, c.params)


def test_convergence_stop_follows_mlp_semantics():
    X, y = problem()
    net, state = setup(lr=1e-12)  # no progress at all: stops after n_iter_no_change + 1 epochs
    with _no_warning(ConvergenceWarning):
        run(net, state, X, y, max_epochs=50, tol=1e-2, n_iter_no_change=3)
    assert state.stop_reason == "converged"
    assert state.n_iter == 5  # first epoch sets best_loss, then 4 > 3 epochs without improvement


class _no_warning:
    def __init__(self, category):
        self.category = category

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings(record=True)
        self._log = self._ctx.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        assert not [w for w in self._log if issubclass(w.category, self.category)]


def test_max_iter_warning():
    X, y = problem()
    net, state = setup()
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        run(net, state, X, y, max_epochs=10, max_iter=3)
    assert state.n_iter == 3 and state.stop_reason == "max_iter"


def test_incremental_never_stops_on_convergence():
    X, y = problem()
    net, state = setup(lr=1e-12)
    for _ in range(6):
        run(net, state, X, y, max_epochs=1, incremental=True, n_iter_no_change=1)
    assert state.n_iter == 6 and state.stop_reason == "epochs"


def test_early_stopping_restores_best_weights():
    X, y = problem()
    net, state = setup()
    scores = iter([0.1, 0.5, 0.2, 0.3, 0.1, 0.0, 0.0, 0.0])
    seen = []

    def score_fn():
        seen.append(net.get_flat())
        return next(scores)

    run(net, state, X, y, max_epochs=8, score_fn=score_fn, n_iter_no_change=2, tol=0.0)
    # MLP's rule: an epoch counts as no improvement when score < best + tol; stop when the
    # count exceeds n_iter_no_change (0.2, 0.3, 0.1 after the best 0.5).
    assert state.validation_scores == [0.1, 0.5, 0.2, 0.3, 0.1]
    assert state.stop_reason == "early_stopping" and state.n_iter == 5
    assert state.best_validation_score == 0.5
    np.testing.assert_array_equal(net.params, seen[1])
    assert not np.array_equal(seen[1], seen[-1])


def _flaky(net, fail_at):
    """Make ``net.loss_and_grad`` return a NaN loss at the given call numbers."""
    original = net.loss_and_grad
    calls = {"n": 0}

    def loss_and_grad(*args, **kwargs):
        calls["n"] += 1
        value, grad = original(*args, **kwargs)
        return (np.nan, grad) if calls["n"] in fail_at else (value, grad)

    net.loss_and_grad = loss_and_grad
    return calls


def test_non_finite_loss_rolls_back_halves_lr_and_repeats_epoch():
    X, y = problem()
    net, state = setup(lr=1e-2)
    run(net, state, X, y, max_epochs=1)  # one good epoch
    good = net.get_flat()
    _flaky(net, fail_at={3})  # the 3rd batch of the next epoch
    with pytest.warns(RuntimeWarning, match="halved the learning rate to 0.005"):
        run(net, state, X, y, max_epochs=2)
    assert state.optimizer.learning_rate == 5e-3
    assert state.n_iter == 3 and len(state.loss_curve) == 3  # the failed epoch was repeated
    assert np.isfinite(net.params).all() and not np.array_equal(net.params, good)


def test_second_failure_stops_with_last_good_weights():
    X, y = problem()
    net, state = setup()
    run(net, state, X, y, max_epochs=1)
    good = net.get_flat()
    _flaky(net, fail_at={2, 6})  # one failure in each of two attempts at epoch 2
    with pytest.warns(ConvergenceWarning, match="diverged twice"):
        run(net, state, X, y, max_epochs=5)
    assert state.stop_reason == "diverged" and state.n_iter == 1
    np.testing.assert_array_equal(net.params, good)


def test_keyboard_interrupt_keeps_last_completed_epoch():
    X, y = problem()
    net, state = setup()
    original = net.loss_and_grad
    calls = {"n": 0}
    snapshots = []

    def interrupting(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] % 4 == 1:
            snapshots.append(net.get_flat())  # weights at the start of every epoch
        if calls["n"] == 10:  # in the 3rd epoch (4 batches each)
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    net.loss_and_grad = interrupting
    with pytest.warns(UserWarning, match="interrupted .* after 2 epochs; keeping the weights "
                                         "of the last completed epoch"):
        run(net, state, X, y, max_epochs=5)
    assert state.stop_reason == "interrupted" and state.n_iter == 2
    np.testing.assert_array_equal(net.params, snapshots[2])


def test_keyboard_interrupt_with_early_stopping_keeps_best():
    X, y = problem()
    net, state = setup()
    seen = []
    scores = iter([0.3, 0.1])

    def score_fn():
        seen.append(net.get_flat())
        if len(seen) == 3:
            raise KeyboardInterrupt
        return next(scores)

    with pytest.warns(UserWarning, match="best validation epoch"):
        run(net, state, X, y, max_epochs=5, score_fn=score_fn)
    np.testing.assert_array_equal(net.params, seen[0])


def test_helpers():
    assert resolve_batch_size("auto", 20) == 20
    assert resolve_batch_size("auto", 500) == 32
    with pytest.warns(UserWarning, match="batch_size: got 64, larger than the 10"):
        assert resolve_batch_size(64, 10) == 10
    p = softmax(np.array([[1000.0, 0.0], [np.nan, np.nan]]))
    np.testing.assert_allclose(p[0], [1.0, 0.0])
    assert np.isnan(p[1]).all()
    mean, std = gaussian_moments(np.array([[2.0, 0.0], [1.0, 50.0]]), 1)
    np.testing.assert_allclose(mean[:, 0], [2.0, 1.0])
    np.testing.assert_allclose(std[:, 0] ** 2, [np.log(2.0) + 1e-6, 50.0 + 1e-6], rtol=1e-9)
    with pytest.raises(ValueError, match="solver: expected 'adam' or 'sgd'; found 'lbfgs'"):
        make_optimizer("lbfgs", 1e-3, 0.9, 0.0, None)
    net = RecurrentNetwork(3, 2, cell="gru", bidirectional=True, output_size=2,
                           dtype="float64", random_state=1)
    copy = build_network(network_config(net), net.get_flat())
    assert network_config(copy) == network_config(net)
    np.testing.assert_array_equal(copy.params, net.params)
    # The rebuilt network's named views share its flat vector.
    copy.params[:] = 0
    assert all(np.all(v == 0) for v in copy.named_parameters().values())
