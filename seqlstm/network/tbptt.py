"""Gradients through the stack with full or truncated backpropagation through time.

TBPTT(k1, k2) (Williams & Peng 1990): every ``k1`` steps the errors of the last ``k1`` steps are
propagated back ``k2`` steps, with the state carried over the whole sequence.  One forward pass
without stored activations records the states entering each window; each window is then run
again from its recorded state, with activations, and backpropagated.
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
    checkpoints = list(range(k1 - 1, T, k1))
    if not checkpoints or checkpoints[-1] != T - 1:
        checkpoints.append(T - 1)
    windows = []
    previous = -1
    for tc in checkpoints:
        windows.append((max(0, tc - k2 + 1), previous + 1, tc))
        previous = tc
    return windows


def stack_gradient(stack, xs, lens, dout_fn, tbptt, grads, dropout_masks=None, need_dx=True,
                   h0s=None, c0s=None):
    """Accumulate into ``grads`` (per sub-batch named views) the gradient of ``stack`` given
    the top-layer output gradients ``dout_fn(tops, layers)`` (a tuple per sub-batch); the
    head's gradient is ``dout_fn``'s business.

    Parameters
    ----------
    stack : Stack
    xs, lens : tuple
        Per sub-batch time-major inputs and lengths.
    dout_fn : callable
    tbptt : None or (k1, k2)
        From :func:`parse_tbptt`; full BPTT when None or when both cover the sequence.
    grads : tuple of dict
    dropout_masks : list of tuple, optional
        Per layer but the last, per sub-batch masks of the layer's outputs.
    need_dx : bool
    h0s, c0s : tuple of ndarray, optional
        Per sub-batch initial states (constants); full BPTT only.

    Returns
    -------
    tuple of ndarray or None
        Per sub-batch dX (time-major), or None when ``need_dx`` is false.
    """
    T = xs[0].shape[0]
    if tbptt is None or (tbptt[0] >= T and tbptt[1] >= T):
        layers, tops = stack.forward(xs, lens, store=True, h0s=h0s, c0s=c0s,
                                     dropout_masks=dropout_masks)
        attach_masks(layers, dropout_masks)
        douts = dout_fn(tops, layers)
        dxs = stack.backward(layers, lens, douts, grads, need_dx=need_dx)
        return dxs if need_dx else None
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
    # full pass without stored activations, recording only the window boundary states
    if stack.D == 2:
        layers, tops = stack.forward(xs, lens, store=False, rec=(fwd, rev),
                                     dropout_masks=dropout_masks)
    else:
        layers, tops = stack.forward_segmented(xs, lens, min(k2, T), fwd, dropout_masks)
    douts_all = dout_fn(tops, layers)
    dx_all = tuple(np.zeros(x.shape, stack.dtype) for x in xs) if need_dx else None
    D, L, H = stack.D, stack.L, stack.H
    for w0, s0, tc in windows:
        n = tc - w0 + 1
        h0s, c0s = [], []
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
            h0s.append(h0)
            c0s.append(c0)
        xw = tuple(np.ascontiguousarray(x[w0:tc + 1]) for x in xs)
        lw = tuple(np.clip(ln - w0, 0, n).astype(np.int64) for ln in lens)
        masks_w = (None if dropout_masks is None
                   else [tuple(np.ascontiguousarray(m[w0:tc + 1]) for m in mk)
                         for mk in dropout_masks])
        wl, _ = stack.forward(xw, lw, store=True, h0s=tuple(h0s), c0s=tuple(c0s),
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
