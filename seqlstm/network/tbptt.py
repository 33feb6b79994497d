"""Gradients through the stack with full or truncated backpropagation through time.

TBPTT(k1, k2) (Williams & Peng 1990): every ``k1`` steps the errors of the last ``k1`` steps are
propagated back ``k2`` steps, with the state carried over the whole sequence
(:func:`tbptt_windows`: window ``(w0, s0, tc)`` runs over steps ``w0..tc`` and injects the
errors of steps ``s0..tc``).

Unidirectional stacks (:func:`_streamed`) take the windows in time order: each is run forward
with stored activations from the state entering it, its top outputs scored for its own steps,
and backpropagated; the state entering the next window (which starts inside this one or right
after it, as ``k2 >= k1``) is read from this window's stored states.  Memory: the activations
of one window, O(k2) whatever the time length ``T``; nothing per step of the whole sequence
is kept besides the caller's copies of the data.  Per-step targets need no other pass;
per-sequence targets read through a readout first take one forward pass keeping only the
final states and the sum of the top outputs (O(1) per step).

Bidirectional stacks (:func:`_recorded`): the reverse direction's state entering a window
comes from the end of the sequence, so one forward pass over the whole sequence without stored
activations records the states entering each window, and the top outputs of every step are
kept with their gradients: O(T) memory, ``2 * hidden_size`` values per sample and step (twice
that for the gradient).  Each window is then run again from its recorded states and
backpropagated.

Both compute the same truncated gradient, which equals the one of the NumPy reference
(``tests/reference.py``) to float rounding: the summation orders differ (each window's input
projection is one product over its steps, the loss and the head's gradient are added window
by window).  Any one path gives the same bits at any thread count.
"""

import numpy as np

from .inputs import check_positive_int
from .stack import attach_masks


def parse_tbptt(tbptt):
    """Normalise ``tbptt`` to ``None`` or a tuple ``(k1, k2)`` with ``k2 >= k1 >= 1``.

    Parameters
    ----------
    tbptt : None, int or tuple of two ints

    Returns
    -------
    None or tuple of int
    """
    if tbptt is None:
        return None
    if isinstance(tbptt, (int, np.integer)) and not isinstance(tbptt, (bool, np.bool_)):
        k1 = k2 = tbptt
    else:
        try:
            k1, k2 = tbptt
        except (TypeError, ValueError):
            raise ValueError(
                f"tbptt must be None, an int k or a pair (k1, k2), got {tbptt!r}") from None
    k1 = check_positive_int(k1, "tbptt k1")
    k2 = check_positive_int(k2, "tbptt k2")
    if k2 < k1:
        raise ValueError(f"tbptt=(k1, k2) needs k2 >= k1, got k1={k1}, k2={k2}")
    return k1, k2


def tbptt_windows(T, k1, k2):
    """Windows of TBPTT(k1, k2) over ``T`` steps.

    Returns
    -------
    list of tuple
        ``(w0, s0, tc)``: the window runs over steps ``w0..tc`` and injects the errors of steps
        ``s0..tc``; checkpoints every ``k1`` steps and at the last step.
    """
    return list(iter_windows(T, k1, k2))


def iter_windows(T, k1, k2):
    """The windows of :func:`tbptt_windows` one at a time (O(1) memory)."""
    previous = -1
    while previous < T - 1:
        tc = min(previous + k1, T - 1)
        yield max(0, tc - k2 + 1), previous + 1, tc
        previous = tc


def stack_gradient(stack, xs, lens, dout_fn, tbptt, grads, dropout_masks=None, need_dx=True,
                   h0s=None, c0s=None, state_at=None):
    """Accumulate into ``grads`` (per sub-batch named views) the gradient of ``stack`` given
    the top-layer output gradients from ``dout_fn``; the head's gradient is ``dout_fn``'s
    business.

    Parameters
    ----------
    stack : Stack
    xs, lens : tuple
        Per sub-batch time-major inputs and lengths.
    dout_fn : callable
        ``dout_fn(tops, layers)`` gives the gradients (a tuple per sub-batch) of a whole pass's
        top outputs (full BPTT; bidirectional TBPTT).  Unidirectional TBPTT reads instead
        ``dout_fn.window(tops, w0, s0, tc)``: the gradients of one window's top outputs (steps
        ``w0..tc``, zero before ``s0``); when ``dout_fn.per_step`` is false (targets read
        through a per-sequence readout) it first calls ``dout_fn.summarise(layers, sums)``
        with the final states and the sums of the top outputs of a forward pass.
    tbptt : None or (k1, k2)
        From :func:`parse_tbptt`; full BPTT when None or when both cover the sequence.
    grads : tuple of dict
    dropout_masks : list of tuple, optional
        Per layer but the last, per sub-batch masks of the layer's outputs.
    need_dx : bool
    h0s, c0s : tuple of ndarray, optional
        Per sub-batch initial states ``(L * D, b, H)`` (constants: no gradient).
    state_at : int, optional
        Also return every layer's state after ``state_at`` steps (unidirectional stacks),
        taken from the pass that computes the gradient.

    Returns
    -------
    dxs : tuple of ndarray or None
        Per sub-batch dX (time-major), or None when ``need_dx`` is false.
    states : list of (h, c) or None
        Per sub-batch states after ``state_at`` steps (:meth:`Stack.states_at`), or None.
    """
    T = xs[0].shape[0]
    if tbptt is None or (tbptt[0] >= T and tbptt[1] >= T):
        layers, tops = stack.forward(xs, lens, store=True, h0s=h0s, c0s=c0s,
                                     dropout_masks=dropout_masks)
        states = None if state_at is None else stack.states_at(layers, state_at)
        attach_masks(layers, dropout_masks)
        douts = dout_fn(tops, layers)
        dxs = stack.backward(layers, lens, douts, grads, need_dx=need_dx)
        return (dxs if need_dx else None), states
    if stack.D == 1:
        return _streamed(stack, xs, lens, dout_fn, tbptt, grads, dropout_masks, need_dx,
                         h0s, c0s, state_at)
    return _recorded(stack, xs, lens, dout_fn, tbptt, grads, dropout_masks, need_dx,
                     h0s, c0s), None


def _window_inputs(xs, lens, dropout_masks, w0, tc):
    """Inputs, lengths and dropout masks of the window of steps ``w0..tc`` (views)."""
    n = tc - w0 + 1
    xw = tuple(x[w0:tc + 1] for x in xs)
    lw = tuple(np.clip(ln - w0, 0, n).astype(np.int64) for ln in lens)
    masks_w = (None if dropout_masks is None
               else [tuple(m[w0:tc + 1] for m in mk) for mk in dropout_masks])
    return xw, lw, masks_w


def _streamed(stack, xs, lens, dout_fn, tbptt, grads, dropout_masks, need_dx, h0s, c0s,
              state_at):
    """TBPTT(k1, k2) of a unidirectional stack in O(k2) memory whatever ``T``.

    The windows are taken in time order, each run forward with stored activations from the
    state entering it, its output gradients computed for its own steps
    (``dout_fn.window``) and backpropagated.  The state entering the next window (which starts
    inside this one, or right after it, since ``k2 >= k1``) is read from this window's stored
    states: no pass over the whole sequence stores anything per step, and per-step targets
    need no other forward pass.  Per-sequence targets first take one forward pass that keeps
    only the final states and the sums of the top outputs (:meth:`Stack.forward_summary`).
    """
    T = xs[0].shape[0]
    k1, k2 = tbptt
    if not dout_fn.per_step:
        dout_fn.summarise(*stack.forward_summary(xs, lens, min(k2, T), dropout_masks, h0s, c0s,
                                                 top_sum=True))
    dx_all = tuple(np.zeros(x.shape, stack.dtype) for x in xs) if need_dx else None
    states = None
    windows = iter_windows(T, k1, k2)
    upcoming = next(windows)
    while upcoming is not None:
        w0, s0, tc = upcoming
        upcoming = next(windows, None)
        xw, lw, masks_w = _window_inputs(xs, lens, dropout_masks, w0, tc)
        wl, tops = stack.forward(xw, lw, store=True, h0s=h0s, c0s=c0s,
                                 dropout_masks=masks_w, tag="window")
        attach_masks(wl, masks_w)
        if states is None and state_at is not None and w0 <= state_at <= tc + 1:
            states = stack.states_at(wl, state_at - w0)
        if upcoming is not None:        # the state entering the next window, copied out of
            nxt = stack.states_at(wl, upcoming[0] - w0)     # buffers the next one reuses
            h0s = tuple(h for h, _ in nxt)
            c0s = tuple(c for _, c in nxt) if stack.spec.has_cell_state else None
        douts = dout_fn.window(tops, w0, s0, tc)
        dxw = stack.backward(wl, lw, douts, grads, need_dx=need_dx)
        if need_dx:
            for c in range(len(xs)):
                dx_all[c][w0:tc + 1] += dxw[c]
    return dx_all, states


def _recorded(stack, xs, lens, dout_fn, tbptt, grads, dropout_masks, need_dx, h0s, c0s):
    """TBPTT(k1, k2) of a bidirectional stack: the reverse direction's state entering a
    window comes from the end of the sequence, so one forward pass over the whole sequence
    without stored activations records the states entering each window (O(T / k1) states) and
    the top outputs of every step, whose gradients ``dout_fn`` gives at once (O(T)); each
    window is then run again from its recorded states, with activations, and
    backpropagated."""
    T = xs[0].shape[0]
    k1, k2 = tbptt
    windows = tbptt_windows(T, k1, k2)
    starts = sorted({w0 for w0, _, _ in windows})
    ends = sorted({tc for _, _, tc in windows})
    fwd = np.full(T + 1, -1, np.int64)
    rev = np.full(T + 1, -1, np.int64)
    for i, w0 in enumerate(starts):
        fwd[w0] = i
    for i, tc in enumerate(ends):
        rev[T - 1 - tc] = i
    layers, tops = stack.forward(xs, lens, store=False, rec=(fwd, rev), h0s=h0s, c0s=c0s,
                                 dropout_masks=dropout_masks)
    douts_all = dout_fn(tops, layers)
    dx_all = tuple(np.zeros(x.shape, stack.dtype) for x in xs) if need_dx else None
    D, L, H = stack.D, stack.L, stack.H
    for w0, s0, tc in windows:
        n = tc - w0 + 1
        h0w, c0w = [], []
        for c, x in enumerate(xs):
            h0 = np.empty((L * D, x.shape[1], H), stack.dtype)
            c0 = np.zeros((L * D, x.shape[1], H), stack.dtype)
            for k in range(L):
                for d in range(D):
                    cd = layers[k]["dirs"][d]
                    slot = fwd[w0] if d == 0 else rev[T - 1 - tc]
                    h0[k * D + d] = cd["hs"][c][slot]
                    if stack.spec.has_cell_state:
                        c0[k * D + d] = cd["cs"][c][slot]
            h0w.append(h0)
            c0w.append(c0)
        xw, lw, masks_w = _window_inputs(xs, lens, dropout_masks, w0, tc)
        wl, _ = stack.forward(xw, lw, store=True, h0s=tuple(h0w), c0s=tuple(c0w),
                              dropout_masks=masks_w, tag="window")
        attach_masks(wl, masks_w)
        dws = []
        for dd in douts_all:
            dw = np.zeros((n, dd.shape[1], H * D), stack.dtype)
            dw[s0 - w0:] = dd[s0:tc + 1]
            dws.append(dw)
        dxw = stack.backward(wl, lw, tuple(dws), grads, need_dx=need_dx)
        if need_dx:
            for c in range(len(xs)):
                dx_all[c][w0:tc + 1] += dxw[c]
    return dx_all
