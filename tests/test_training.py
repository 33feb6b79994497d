"""Tests of seqlstm.training: the fit loop's semantics, divergence handling and interrupts."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from seqlstm.network import RecurrentNetwork
from seqlstm.training import (
    LearningRateSchedule,
    TrainingSettings,
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


def test_settings_object_and_keyword_options_train_alike():
    """``run_epochs`` takes a :class:`TrainingSettings`; keyword options build one or replace
    some of its fields; an unknown option is a TypeError."""
    X, y = problem()
    a, sa = setup()
    run(a, sa, X, y, max_epochs=3, learning_rate="cosine")
    b, sb = setup()
    settings = TrainingSettings(loss="mse", max_epochs=1, max_iter=100, batch_size=8,
                                learning_rate="cosine")
    run_epochs(b, sb, X, y, settings, max_epochs=3)
    np.testing.assert_array_equal(a.params, b.params)
    assert sa.learning_rate_curve == sb.learning_rate_curve and sb.n_iter == 3
    assert settings.max_epochs == 1                       # the caller's settings unchanged
    with pytest.raises(TypeError, match="max_epoch"):
        run_epochs(b, sb, X, y, settings, max_epoch=3)


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
    assert resolve_batch_size("auto", 10) == 10
    assert [resolve_batch_size("auto", n) for n in (20, 543, 544, 700, 1023, 1024, 10**6)] == [
        16, 16, 17, 21, 31, 32, 32]
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


# ---------------------------------------------------------------------------- schedules


def test_cosine_schedule_hand_computed():
    # lr_t = 0.1 * 0.5 * (1 + cos(pi t / 4)): cos(pi/4) = 0.70710678, cos(3 pi/4) = -0.70710678
    s = LearningRateSchedule("cosine", 0.1, total_steps=4)
    expected = [0.1, 0.0853553390593, 0.05, 0.0146446609407, 0.0, 0.0]
    assert [s.rate(t) for t in range(6)] == pytest.approx(expected, abs=1e-12)


def test_warmup_then_constant_or_cosine_hand_computed():
    s = LearningRateSchedule("constant", 0.1, total_steps=10, warmup_steps=4)
    assert [s.rate(t) for t in range(6)] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1])
    # Warm-up 2 of 6 steps, then the cosine over the remaining 4.
    s = LearningRateSchedule("cosine", 0.1, total_steps=6, warmup_steps=2)
    assert [s.rate(t) for t in range(7)] == pytest.approx(
        [0.05, 0.1, 0.1, 0.0853553390593, 0.05, 0.0146446609407, 0.0], abs=1e-12)


def _record_step_rates(state):
    """Record the optimiser's learning rate at every update."""
    rates = []
    update = state.optimizer.update_params

    def recording(params, grads):
        rates.append(state.optimizer.learning_rate)
        return update(params, grads)

    state.optimizer.update_params = recording
    return rates


def test_run_epochs_sets_every_step_rate_from_the_schedule():
    X, y = problem()  # 32 samples, batch 8: 4 steps per epoch
    net, state = setup(lr=0.01)
    rates = _record_step_rates(state)
    with _no_warning(ConvergenceWarning):  # the planned end is no failure to converge
        run(net, state, X, y, max_epochs=3, max_iter=3, learning_rate="cosine", warmup=1)
    # 4 warm-up steps, then a cosine over the remaining 8 steps.
    warm = [0.01 * (t + 1) / 4 for t in range(4)]
    cosine = [0.01 * 0.5 * (1 + np.cos(np.pi * t / 8)) for t in range(8)]
    assert rates == pytest.approx(warm + cosine, rel=1e-12)
    # The curve holds the rate at the end of each epoch (that of the next step).
    assert state.learning_rate_curve == pytest.approx([0.01, 0.005, 0.0], abs=1e-15)
    assert state.stop_reason == "schedule_end" and state.n_iter == 3


def test_cosine_turns_off_the_training_loss_convergence_test():
    X, y = problem()
    net, state = setup(lr=1e-12)  # no progress: a constant rate would stop after 5 epochs
    with _no_warning(ConvergenceWarning):
        run(net, state, X, y, max_epochs=9, max_iter=9, tol=1e-2, n_iter_no_change=3,
            learning_rate="cosine")
    assert state.n_iter == 9 and state.stop_reason == "schedule_end"


def test_partial_fit_cosine_spans_max_iter_calls():
    X, y = problem()
    net, state = setup(lr=0.01)
    for _ in range(5):
        run(net, state, X, y, max_epochs=1, max_iter=4, incremental=True,
            learning_rate="cosine", learning_rate_init=0.01)
    expected = [0.01 * 0.5 * (1 + np.cos(np.pi * e / 4)) for e in (1, 2, 3, 4)] + [0.0]
    assert state.learning_rate_curve == pytest.approx(expected, abs=1e-15)
    assert state.stop_reason == "epochs"


def test_plateau_schedule_reduces_after_exactly_patience_epochs():
    s = LearningRateSchedule("plateau", 1.0, total_steps=100, patience=3, factor=0.5)
    rates = []
    for loss in [1.0, 0.5, 0.6, 0.7, 0.5, 0.4, 0.45, 0.41, 0.4, 0.4]:
        s.end_epoch(loss)
        rates.append(s.rate())
    # 0.6, 0.7, 0.5 do not improve on 0.5: reduced after the third; 0.4 improves; then three
    # epochs without improvement on 0.4 again.
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_plateau_in_the_fit_loop_monitors_the_validation_loss():
    X, y = problem()
    net, state = setup(lr=0.01)
    losses = iter([1.0, 0.5, 0.6, 0.7, 0.5, 0.4, 0.45])
    rates = _record_step_rates(state)
    run(net, state, X, y, max_epochs=7, learning_rate="plateau", plateau_patience=3,
        plateau_factor=0.5, tol=0.0, val_loss_fn=lambda: next(losses), monitor=None)
    assert state.learning_rate_curve == pytest.approx([0.01] * 4 + [0.005] * 3)
    assert rates == pytest.approx([0.01] * 20 + [0.005] * 8)  # 4 steps per epoch
    assert state.validation_loss_curve == [1.0, 0.5, 0.6, 0.7, 0.5, 0.4, 0.45]
    assert state.stop_reason == "epochs" and state.best_validation_loss == 0.4


def test_plateau_without_validation_monitors_the_training_loss():
    X, y = problem()
    net, state = setup(lr=1e-12)  # the training loss does not improve by tol
    run(net, state, X, y, max_epochs=5, learning_rate="plateau", plateau_patience=2,
        plateau_factor=0.5, tol=1e-2, n_iter_no_change=50)
    assert state.learning_rate_curve == pytest.approx([1e-12, 1e-12, 5e-13, 5e-13, 2.5e-13])


def test_unknown_schedule_names_learning_rate():
    with pytest.raises(ValueError, match="learning_rate: expected one of 'constant', "
                                         "'plateau', 'cosine'; found 'linear'"):
        LearningRateSchedule("linear", 0.1, total_steps=10)
    X, y = problem()
    net, state = setup()
    with pytest.raises(ValueError, match="learning_rate: .*found 'step'"):
        run(net, state, X, y, learning_rate="step")


def test_early_stopping_on_validation_loss_restores_best_weights():
    X, y = problem()
    net, state = setup()
    losses = iter([0.9, 0.5, 0.6, 0.55, 0.7, 0.4])
    scores = iter([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    seen = []

    def val_loss_fn():
        seen.append(net.get_flat())
        return next(losses)

    run(net, state, X, y, max_epochs=6, score_fn=lambda: next(scores), val_loss_fn=val_loss_fn,
        monitor="loss", n_iter_no_change=2, tol=0.0)
    # 0.6, 0.55, 0.7 do not improve on 0.5: stop after the third (count 3 > 2).
    assert state.validation_loss_curve == [0.9, 0.5, 0.6, 0.55, 0.7]
    assert state.validation_scores == [0.1, 0.2, 0.3, 0.4, 0.5]  # recorded, not monitored
    assert state.stop_reason == "early_stopping" and state.best_validation_loss == 0.5
    np.testing.assert_array_equal(net.params, seen[1])
    history = state.history()
    assert history["best_loss_"] is None and history["best_validation_loss_"] == 0.5
    assert history["stop_reason_"] == "early_stopping"


def test_validation_recorded_without_early_stopping():
    X, y = problem()
    net, state = setup()
    run(net, state, X, y, max_epochs=3, score_fn=lambda: 0.0, val_loss_fn=lambda: 1.0,
        monitor=None, n_iter_no_change=1)
    history = state.history()
    assert history["validation_scores_"] == [0.0] * 3
    assert history["validation_loss_curve_"] == [1.0] * 3
    assert history["best_loss_"] == min(history["loss_curve_"])
    assert state.stop_reason == "epochs"


def test_epoch_loss_is_the_weighted_mean_with_sample_weight():
    X, y = problem(n=20)
    w = np.arange(20) % 4 * 0.5
    net, _ = setup()
    before = net.get_flat()
    state = TrainingState(make_optimizer("sgd", 1e-12, 0.0, 0.0, None),
                          np.random.default_rng(0))
    run(net, state, X, y, max_epochs=1, batch_size=7, shuffle=False, sample_weight=w)
    probe = build_network(network_config(net), before)
    expected = sum(probe.loss(X[s:s + 7], y[s:s + 7], sample_weight=w[s:s + 7]) * w[s:s + 7].sum()
                   for s in (0, 7, 14)) / w.sum()
    assert state.loss == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="sample_weight: expected a positive weight"):
        run(net, state, X, y, sample_weight=np.zeros(20))


def test_a_batch_of_zero_weights_makes_no_step():
    X, y = problem(n=16)
    net, state = setup()
    rates = _record_step_rates(state)
    w = np.r_[np.zeros(8), np.ones(8)]
    run(net, state, X, y, max_epochs=2, batch_size=8, shuffle=False, sample_weight=w)
    assert len(rates) == 2  # one step per epoch: the first batch has no weight


def test_rollback_also_restores_the_schedule():
    X, y = problem()
    net, state = setup(lr=0.01)
    run(net, state, X, y, max_epochs=1)
    _flaky(net, fail_at={2})
    rates = _record_step_rates(state)
    with pytest.warns(RuntimeWarning, match="halved the learning rate"):
        run(net, state, X, y, max_epochs=2, max_iter=3, learning_rate="cosine",
            learning_rate_init=0.01)
    cosine = [0.01 * 0.5 * (1 + np.cos(np.pi * t / 8)) for t in range(8)]
    # The failed attempt made 1 step; the repeated epoch restarts at step 0 at half the rate.
    assert rates == pytest.approx(cosine[:1] + [r / 2 for r in cosine], rel=1e-12)


# ---------------------------------------------------------------- stateful training along time
class _Recorder:
    """An optimiser that records the gradients it is given and never moves the weights."""

    learning_rate = 0.0
    alpha = 0.0

    def __init__(self):
        self.grads = []

    def update_params(self, params, grads):
        self.grads.append(grads.copy())


@pytest.mark.parametrize("tbptt", [(5, 5), (4, 9), (3, 4)])
def test_stream_windows_sum_to_the_engines_tbptt_gradient(tbptt):
    from seqlstm.network import tbptt_windows
    from seqlstm.training import LearningRateSchedule, TrainingState
    from seqlstm.training._stream import stream_batch as _stream_batch

    rng = np.random.default_rng(0)
    net = RecurrentNetwork(2, 4, num_layers=2, output_size=1, dtype="float64", random_state=0)
    X = rng.standard_normal((2, 23, 2))
    y = rng.standard_normal((2, 23, 1))
    y[1, 7] = np.nan
    state = TrainingState(_Recorder(), rng)
    state.schedule = LearningRateSchedule("constant", 1.0, total_steps=10)
    total, count = _stream_batch(net, state, X, y, None, "mse", tbptt, 0.0)
    assert count == 2 * 23 - 1
    # unmoved weights: the windows' gradients, weighted by their observed targets, add up to
    # the engine's TBPTT(k1, k2) gradient of the whole record (a mean over all targets)
    counts = [np.sum(~np.isnan(y[:, s0:tc + 1, 0])) for _, s0, tc in tbptt_windows(23, *tbptt)]
    streamed = sum(g * c for g, c in zip(state.optimizer.grads, counts)) / count
    value, engine = net.loss_and_grad(X, y, tbptt=tbptt)
    np.testing.assert_allclose(streamed, engine, rtol=1e-10, atol=1e-13)
    assert total / count == pytest.approx(value, rel=1e-12)


def _two_target_record():
    """Three samples of 15 steps and two targets: the first target is missing over the whole
    second TBPTT(5, 5) window while the second is observed; the last sample is padded for its
    last 3 steps, where targets are given but not scored."""
    rng = np.random.default_rng(3)
    net = RecurrentNetwork(2, 4, output_size=2, dtype="float64", random_state=0)
    X = rng.standard_normal((3, 15, 2))
    X[2, 12:] = np.nan
    y = rng.standard_normal((3, 15, 2))
    y[:, 5:10, 0] = np.nan
    y[0, 11, 1] = np.nan
    return net, X, y


def test_stream_window_with_only_a_later_target_observed_trains():
    from seqlstm.training._stream import stream_batch as _stream_batch

    net, X, y = _two_target_record()
    state = TrainingState(_Recorder(), np.random.default_rng(0))
    state.schedule = LearningRateSchedule("constant", 1.0, total_steps=10)
    _stream_batch(net, state, X, y, None, "mse", (5, 5), 0.0)
    assert len(state.optimizer.grads) == 3        # the second window trains on target 2
    _, carried = net.forward(X[:, :5], return_state=True)
    yw = y[:, 5:10]
    value, grad = net.loss_and_grad(X[:, 5:10], yw, initial_state=carried)
    assert value > 0 and np.abs(grad).max() > 0
    np.testing.assert_array_equal(state.optimizer.grads[1], grad)


@pytest.mark.parametrize("weights", [None, [1.0, 3.0, 0.5]])
def test_stream_epoch_loss_is_the_weighted_mean_over_observed_targets(weights):
    """Unmoved weights: the streamed epoch loss (minibatches of 2 and 1 samples) is the
    engine's weighted mean over every observed target at a valid step, and the windows'
    gradients weighted by their target weight add up to the engine's TBPTT gradient."""
    from seqlstm.network import tbptt_windows
    from seqlstm.training._stream import stream_batch as _stream_batch

    net, X, y = _two_target_record()
    w = None if weights is None else np.asarray(weights)
    state = TrainingState(_Recorder(), np.random.default_rng(0))
    run_epochs(net, state, X, y, loss="mse", max_epochs=1, max_iter=10, batch_size=2,
               shuffle=False, tbptt=(5, 5), stateful=True, sample_weight=w)
    value, engine = net.loss_and_grad(X, y, tbptt=(5, 5), sample_weight=w)
    assert state.loss_curve[0] == pytest.approx(value, rel=1e-12)
    # by hand: each window's engine loss times its weight over observed, valid targets
    total = mass = 0.0
    for rows in ([0, 1], [2]):
        carried = None
        wr = np.ones(len(rows)) if w is None else w[rows]
        for w0, s0, tc in tbptt_windows(15, 5, 5):
            yw = y[rows, w0:tc + 1].copy()
            yw[:, :s0 - w0] = np.nan
            valid = ~np.isnan(X[rows, w0:tc + 1, 0])
            m = float(np.sum(wr[:, None, None] * (~np.isnan(yw) & valid[..., None])))
            total += net.loss(X[rows, w0:tc + 1], yw, sample_weight=wr,
                              initial_state=carried) * m
            mass += m
            _, carried = net.forward(X[rows, w0:tc + 1], initial_state=carried,
                                     return_state=True)
    assert total / mass == pytest.approx(value, rel=1e-12)
    state = TrainingState(_Recorder(), np.random.default_rng(0))
    state.schedule = LearningRateSchedule("constant", 1.0, total_steps=10)
    total, mass = _stream_batch(net, state, X, y, w, "mse", (5, 5), 0.0)
    assert total / mass == pytest.approx(value, rel=1e-12)
    masses = []
    for w0, s0, tc in tbptt_windows(15, 5, 5):
        valid = ~np.isnan(X[:, s0:tc + 1, 0])
        obs = ~np.isnan(y[:, s0:tc + 1]) & valid[..., None]
        masses.append(float(np.sum((np.ones(3) if w is None else w)[:, None, None] * obs)))
    assert sum(masses) == pytest.approx(mass, rel=1e-12)
    streamed = sum(g * m for g, m in zip(state.optimizer.grads, masses)) / mass
    np.testing.assert_allclose(streamed, engine, rtol=1e-10, atol=1e-13)


def _stream_batch_by_a_forward_pass(network, state, X, y, w, loss, tbptt, dropout):
    """The stateful windows as they were trained before the engine returned the state at a
    step: the state entering the next window from a separate forward pass (no dropout) with
    the weights before the step."""
    import math

    from seqlstm.network import tbptt_windows

    schedule = state.schedule
    windows = tbptt_windows(X.shape[1], *tbptt)
    carried = None
    total = count = 0.0
    for i, (w0, s0, tc) in enumerate(windows):
        yw = np.array(y[:, w0:tc + 1], dtype=np.float64)
        yw[:, :s0 - w0] = np.nan
        mass = network.loss_weight(X[:, w0:tc + 1], yw, loss=loss, sample_weight=w)
        if mass > 0:
            value, grad = network.loss_and_grad(
                X[:, w0:tc + 1], yw, loss=loss, dropout=dropout, random_state=state.rng,
                sample_weight=w, initial_state=carried)
            if not math.isfinite(value) or not np.isfinite(grad).all():
                return None
        if i + 1 < len(windows) and windows[i + 1][0] > w0:
            _, carried = network.forward(X[:, w0:windows[i + 1][0]], initial_state=carried,
                                         return_state=True)
        if mass > 0:
            state.optimizer.learning_rate = schedule.rate()
            state.optimizer.update_params(network.params, grad)
            total += value * mass
            count += mass
        schedule.advance()
    return total, count


@pytest.mark.parametrize("cell,num_layers,dropout,tbptt", [
    ("lstm", 1, 0.0, (4, 9)), ("gru", 2, 0.0, (5, 5)), ("lstm", 2, 0.3, (3, 7)),
    ("lstm", 1, 0.5, (6, 6))])
def test_stateful_training_is_bit_identical_to_carrying_by_a_forward_pass(
        cell, num_layers, dropout, tbptt, monkeypatch):
    """Stateful TBPTT training (three epochs, shuffled minibatches, sample weights, padded
    records, a window with no observed target) gives the weights, losses and curves of the
    route that computed the state carried to the next window by a separate forward pass, bit
    for bit, with minibatches of several records (one record: see the next test)."""
    from seqlstm.training import _stream

    rng = np.random.default_rng(4)
    X = rng.standard_normal((6, 31, 2)).astype(np.float32)
    X[1, 22:] = np.nan                            # ends inside a window
    X[3, 6:] = np.nan                             # ends inside the first window
    y = rng.standard_normal((6, 31, 1))
    y[:, 9:16] = np.nan                           # windows without an observed target
    w = rng.uniform(0.5, 2.0, 6)
    runs = []
    for old in (False, True):
        net = RecurrentNetwork(2, 4, num_layers, cell, output_size=1, random_state=0)
        state = TrainingState(make_optimizer("adam", 1e-2, 0.9, 0.0, 1.0),
                              np.random.default_rng(0))
        with monkeypatch.context() as m:
            if old:
                m.setattr(_stream, "stream_batch", _stream_batch_by_a_forward_pass)
            run(net, state, X, y, max_epochs=3, batch_size=3, tbptt=tbptt, stateful=True,
                dropout=dropout, sample_weight=w)
        runs.append((net.get_flat(), state.loss_curve, state.t))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1] and runs[0][2] == runs[1][2]
    assert not np.array_equal(runs[0][0], RecurrentNetwork(2, 4, num_layers, cell, output_size=1,
                                                           random_state=0).params)


@pytest.mark.parametrize("dtype,rel", [("float64", 1e-12), ("float32", 1e-4)])
def test_stateful_training_on_one_record_equals_carrying_by_a_forward_pass_to_rounding(
        dtype, rel, monkeypatch):
    """A minibatch of one record: the state returned by the gradient pass differs from a
    forward pass's in the last bits (the input projection of a single row is one product of
    every step's rows there and a one-row product per step in the forward pass, which BLAS
    may compute in another summation order: seen with OpenBLAS 0.3.31 on AVX2), so the
    weights equal those of the route with a separate forward pass to float rounding."""
    from seqlstm.training import _stream

    rng = np.random.default_rng(5)
    X = rng.standard_normal((1, 60, 16)).astype(dtype)
    y = rng.standard_normal((1, 60, 1))
    runs = []
    for old in (False, True):
        net = RecurrentNetwork(16, 8, 2, output_size=1, dtype=dtype, random_state=0)
        state = TrainingState(make_optimizer("adam", 1e-3, 0.9, 0.0, 1.0),
                              np.random.default_rng(0))
        with monkeypatch.context() as m:
            if old:
                m.setattr(_stream, "stream_batch", _stream_batch_by_a_forward_pass)
            run(net, state, X, y, max_epochs=2, batch_size=1, tbptt=(5, 10), stateful=True)
        runs.append((net.get_flat(), state.loss_curve))
    start = RecurrentNetwork(16, 8, 2, output_size=1, dtype=dtype, random_state=0).params
    moved = np.abs(runs[1][0] - start).max()
    assert moved > 1e-3
    assert np.abs(runs[0][0] - runs[1][0]).max() <= rel * moved
    assert runs[0][1] == pytest.approx(runs[1][1], rel=rel)


def test_stateful_training_runs_no_separate_forward_pass(monkeypatch):
    """The state carried to the next window comes from the pass that computes the window's
    gradient (``loss_and_grad(..., return_state_at=...)``): no forward pass runs, except for
    a window with nothing to score (no gradient pass) and under dropout, whose carried state
    is the one without dropout masks."""
    from seqlstm.training import _stream

    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 40, 2)).astype(np.float32)
    y = rng.standard_normal((3, 40, 1))
    calls = []

    def counted(self, *args, **kwargs):
        calls.append(args[0].shape[1])
        return original(self, *args, **kwargs)

    original = RecurrentNetwork.forward
    monkeypatch.setattr(RecurrentNetwork, "forward", counted)

    def train(y, num_layers=1, dropout=0.0):
        net, state = setup()
        if num_layers > 1:
            net = RecurrentNetwork(2, 4, num_layers, output_size=1, random_state=0)
        state.schedule = LearningRateSchedule("constant", 1e-2, total_steps=100)
        calls.clear()
        _stream.stream_batch(net, state, X, y, None, "mse", (5, 10), dropout)
        return list(calls)

    assert train(y) == []
    assert train(y, num_layers=2) == []
    assert len(train(y, num_layers=2, dropout=0.3)) == 6     # each window the next one starts after
    assert train(y, dropout=0.3) == []            # one layer: dropout has no masks
    y_gap = y.copy()
    y_gap[:, 15:20] = np.nan                      # the window of steps 10..19 scores nothing
    assert train(y_gap) == [5]                    # its state: steps 10..14


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_stateful_fit_learns_a_lag_on_one_long_record():
    from seqlstm import LSTMRegressor

    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 4000, 1))
    y = np.zeros_like(x)
    y[:, 3:] = x[:, :-3]                             # the input 3 steps ago
    model = LSTMRegressor(hidden_size=16, return_sequences=True, tbptt=(20, 40), max_iter=4,
                          learning_rate_init=1e-2, random_state=0).fit(x, y)
    assert model.t_ == 4                              # one record per epoch
    assert model.score(x, y) > 0.9


# ---------------------------------------------------------------------------------------------
# The estimators share this training: the same schedules, stopping and curves in the sequence
# estimators and the forecaster (the tests below run on each).

ESTIMATORS = ["regressor", "classifier", "forecaster"]
_LOOKBACK = 5


def _series(n=60, seed=0):
    t = np.arange(n)
    return np.sin(t / 3.0) + 0.1 * np.random.default_rng(seed).standard_normal(n)


def _model_and_data(kind, record, **params):
    """A small estimator of `kind` and its fit data from `record`: the forecaster reads the
    record (lookback 5, horizon 1); the sequence estimators the same windows of 5 steps with
    the next value (its sign for the classifier) as the target, so every kind has
    ``len(record) - 5`` training samples."""
    from seqlstm import LSTMClassifier, LSTMForecaster, LSTMRegressor

    params = dict(dict(hidden_size=4, random_state=0), **params)
    if kind == "forecaster":
        return LSTMForecaster(lookback=_LOOKBACK, horizon=1, **params), (record,)
    starts = np.arange(len(record) - _LOOKBACK)
    X = record[starts[:, None] + np.arange(_LOOKBACK)][..., None]
    y = record[starts + _LOOKBACK]
    if kind == "classifier":
        return LSTMClassifier(**params), (X, (y > 0).astype(int))
    return LSTMRegressor(**params), (X, y)


def _fit(kind, record=None, validation=None, **params):
    model, data = _model_and_data(kind, _series() if record is None else record, **params)
    if validation is None:
        return model.fit(*data)
    _, vdata = _model_and_data(kind, validation)
    return model.fit(*data, validation_data=vdata[0] if kind == "forecaster" else vdata)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize("schedule", [dict(learning_rate="constant"),
                                      dict(learning_rate="cosine", warmup=2),
                                      dict()])           # the default: "cosine"
def test_estimators_follow_the_same_schedule(kind, schedule):
    """``learning_rate_curve_`` is the schedule's rate after every epoch, with the steps per
    epoch of ``batch_size="auto"`` over the training samples; "cosine" ends its planned run
    ("schedule_end"), "constant" at ``max_iter``."""
    lr, max_iter = 0.01, 6
    model = _fit(kind, learning_rate_init=lr, max_iter=max_iter, **schedule)
    n_train = len(_series()) - _LOOKBACK
    steps = -(-n_train // resolve_batch_size("auto", n_train))
    expected = LearningRateSchedule(schedule.get("learning_rate", "cosine"), lr,
                                    total_steps=max_iter * steps,
                                    warmup_steps=schedule.get("warmup", 0) * steps)
    assert model.n_iter_ == max_iter and model.t_ == max_iter * n_train
    assert model.learning_rate_curve_ == [expected.rate(e * steps)
                                          for e in range(1, max_iter + 1)]
    assert model.stop_reason_ == ("max_iter" if expected.name == "constant" else "schedule_end")
    assert model.validation_scores_ is None and model.validation_loss_curve_ is None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize("early_stopping", [False, "loss"])
def test_estimators_reduce_the_rate_on_plateau_alike(kind, early_stopping):
    """"plateau" watches the validation loss (with validation) or the training loss: with a
    `tol` no epoch beats, every epoch after the first reduces the rate by the factor."""
    params = dict(learning_rate="plateau", plateau_patience=1, plateau_factor=0.5,
                  learning_rate_init=0.01, tol=1e3, max_iter=4, n_iter_no_change=10,
                  early_stopping=early_stopping)
    if kind != "forecaster":
        params["validation_split"] = "time"
    model = _fit(kind, **params)
    assert model.learning_rate_curve_ == [0.01, 0.005, 0.0025, 0.00125]
    assert (model.validation_loss_curve_ is None) == (not early_stopping)


@pytest.mark.parametrize("kind, early_stopping", [
    (kind, mode) for kind in ESTIMATORS for mode in (True, "score", "loss")
    # the classifier's score, accuracy, ties from epoch to epoch; a tie counts as an
    # improvement at tol=0 (as in MLPClassifier), so the stopping epoch is not tied to the best
    if kind != "classifier" or mode == "loss"])
def test_estimators_stop_early_alike(kind, early_stopping):
    """Early stopping on a time split: both validation curves are recorded every epoch, the
    watched one ("score": the score, True alike; "loss": the loss) decides, training stops
    ``n_iter_no_change + 1`` epochs after its best epoch and there is no best training loss."""
    params = dict(learning_rate="constant", learning_rate_init=0.05, max_iter=60, tol=0.0,
                  n_iter_no_change=1, early_stopping=early_stopping, validation_fraction=0.2)
    if kind != "forecaster":
        params["validation_split"] = "time"
    model = _fit(kind, **params)
    assert model.stop_reason_ == "early_stopping"
    assert len(model.validation_scores_) == len(model.validation_loss_curve_) == model.n_iter_
    assert model.best_loss_ is None
    if early_stopping == "loss":
        best = int(np.argmin(model.validation_loss_curve_))
        assert model.best_validation_loss_ == model.validation_loss_curve_[best]
    else:
        best = int(np.argmax(model.validation_scores_))
        assert model.best_validation_score_ == model.validation_scores_[best]
    assert best == model.n_iter_ - 1 - (model.n_iter_no_change + 1)


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_estimators_record_given_validation_data_alike(kind):
    """``validation_data`` (a later period) is scored every epoch without early stopping (the
    whole fit data trains), and decides with it."""
    record = _series(90)
    model = _fit(kind, record[:60], validation=record[60:], max_iter=3)
    assert model.stop_reason_ == "schedule_end" and model.t_ == 3 * (60 - _LOOKBACK)
    assert len(model.validation_scores_) == len(model.validation_loss_curve_) == 3
    assert model.best_loss_ == min(model.loss_curve_)
    stopped = _fit(kind, record[:60], validation=record[60:], max_iter=3, early_stopping="loss")
    assert stopped.t_ == 3 * (60 - _LOOKBACK) and stopped.best_loss_ is None
    assert stopped.best_validation_loss_ == min(stopped.validation_loss_curve_)


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_estimators_resolve_chrono_auto_to_their_network_steps(kind):
    model = _fit(kind, chrono_t_max="auto", max_iter=1)
    steps = _LOOKBACK      # the forecaster's default direct decoder reads the lookback alone
    assert model.chrono_t_max_ == steps
    explicit = _fit(kind, chrono_t_max=steps, max_iter=1)
    np.testing.assert_array_equal(model.network_.get_flat(), explicit.network_.get_flat())
    # the default: "auto" for the sequence estimators (issue 19), None for the forecaster
    assert _fit(kind, max_iter=1).chrono_t_max_ == (None if kind == "forecaster" else steps)
    assert _fit(kind, chrono_t_max=None, max_iter=1).chrono_t_max_ is None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize("failure", ["training", "validation_data"])
def test_a_failing_fit_leaves_every_estimator_as_it_was(kind, failure, monkeypatch):
    """A fit that fails in training or on its validation data leaves the previous model, its
    weights, history and parameters untouched (the shared working-copy fit)."""
    from seqlstm.estimators import _base

    model = _fit(kind, max_iter=2)
    weights, history = model.network_.get_flat(), model._state.history()
    model.set_params(max_iter=3, hidden_size=5)
    _, data = _model_and_data(kind, _series(80, seed=1))
    if failure == "training":
        real = _base.run_epochs

        def train_then_fail(*args, **kwargs):
            real(*args, **kwargs)
            raise RuntimeError("training failed")

        monkeypatch.setattr(_base, "run_epochs", train_then_fail)
        with pytest.raises(RuntimeError, match="training failed"):
            model.fit(*data)
    else:
        bad = np.stack([_series(30)] * 2, axis=-1)     # two variables instead of one
        bad = bad if kind == "forecaster" else (bad[None].repeat(3, axis=0), np.zeros(3))
        with pytest.raises(ValueError, match="validation_data"):
            model.fit(*data, validation_data=bad)
    np.testing.assert_array_equal(model.network_.get_flat(), weights)
    assert model.network_.hidden_size == 4
    assert model._state.history() == history


def test_estimators_share_the_training_defaults():
    """The forecaster's training parameters default to LSTMRegressor's (the classifier's
    ``learning_rate_init`` of 1e-2 was chosen on classification sets), but for
    ``chrono_t_max``: "auto" for the sequence estimators (issue 19, measured on sequence tasks),
    None for the forecaster (not measured on forecasting); and ``max_iter``: 50 epochs for the
    forecaster, 200 for the sequence estimators (each chosen by validation on its own tasks,
    benchmarks/FORECAST_DEFAULTS.md and ACCURACY.md)."""
    from seqlstm import LSTMForecaster, LSTMRegressor

    regressor, forecaster = LSTMRegressor().get_params(), LSTMForecaster().get_params()
    shared = ("solver", "learning_rate", "learning_rate_init", "warmup", "plateau_patience",
              "plateau_factor", "momentum", "alpha", "clip_norm", "batch_size", "tol",
              "shuffle", "early_stopping", "validation_fraction", "n_iter_no_change", "dropout",
              "hidden_size", "num_layers", "cell", "dtype")
    assert {k: forecaster[k] for k in shared} == {k: regressor[k] for k in shared}
    assert (regressor["chrono_t_max"], forecaster["chrono_t_max"]) == ("auto", None)
    assert (regressor["max_iter"], forecaster["max_iter"]) == (200, 50)
