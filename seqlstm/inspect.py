"""Looking inside a recurrent network: gate and state traces, saturation, gradient flow.

- :func:`inspect` returns the hidden state, the cell state and every gate's activation at every
  step as an :class:`xarray.Dataset` over ``(sample, time, layer, [direction,] unit)`` labeled
  like the input, with per-unit saturation fractions of the sigmoid gates (the share of valid
  steps a gate is below 0.1 or above 0.9, as in Karpathy, Johnson & Fei-Fei 2015,
  "Visualizing and Understanding Recurrent Networks").
- :func:`gradient_flow` returns the norm of the gradient of the loss (or of the final output)
  with respect to the input and to each layer's hidden state at each lag before the
  prediction: the vanishing gradient made visible.

Both accept a :class:`~seqlstm.RecurrentNetwork` or a fitted estimator (any object with a
``network_`` attribute).  An estimator that transforms its input before the network (scaling)
can provide ``_network_input(X)`` returning ``(values, lengths, SequenceData)`` (see
:func:`network_input`).  This module imports xarray only inside its functions (it returns
labeled objects, but importing it stays cheap).
"""

import numpy as np

from .cells import CELLS
from .data import to_sequences
from .network.objective import DEFAULT_QUANTILES, LOSSES, QuantileLoss, check_targets, \
    loss_gradient

__all__ = ["inspect", "gradient_flow", "network_input", "GATE_NAMES", "SATURATION_THRESHOLDS"]

#: Variable names of each cell's gate blocks, in the kernels' order (``seqlstm.cells``; the
#: vanilla RNN's one block is its hidden state, reported as ``hidden``).
GATE_NAMES = {cell.name: tuple(g for g in cell.gates if g != "hidden")
              for cell in CELLS.values()}
_TANH_BLOCKS = {gate for cell in CELLS.values()
                for gate, act in zip(cell.gates, cell.activations) if act == "tanh"}
#: A sigmoid gate is left-saturated below the first value and right-saturated above the second.
SATURATION_THRESHOLDS = (0.1, 0.9)


def _network(model):
    net = getattr(model, "network_", None)
    if net is not None:
        return net
    if hasattr(model, "trace") and hasattr(model, "vjp"):
        return model
    raise TypeError(f"expected a RecurrentNetwork or a fitted estimator with a network_ "
                    f"attribute, got {type(model).__name__}")


def network_input(model, X, time_dim=None, feature_dim=None):
    """The network's input for ``X``: values, lengths and the labels of ``X``.

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator
        An estimator's ``_network_input(X)`` is used when it has one; otherwise ``X`` is read
        with :func:`seqlstm.data.to_sequences` (dims from the estimator's ``time_dim`` and
        ``feature_dim`` attributes when present).
    X : array-like, xarray.DataArray or xarray.Dataset
        Sequences as the model reads them for prediction.
    time_dim, feature_dim : str, optional
        Dim names of labeled ``X`` (default the model's, else "time" and "feature").

    Returns
    -------
    values : ndarray (sample, time, feature)
        The network's input (scaled and framed as the model does).
    lengths : ndarray of int64 (sample,)
        Valid network steps of each sequence.
    data : SequenceData
        The labels of ``X`` (dims, coordinates) to wrap results with.
    """
    hook = getattr(model, "_network_input", None)
    if hook is not None:
        return hook(X)
    time_dim = time_dim or getattr(model, "time_dim", None) or "time"
    feature_dim = feature_dim or getattr(model, "feature_dim", None) or "feature"
    data = to_sequences(X, time_dim=time_dim, feature_dim=feature_dim)
    return data.values, data.lengths, data


def _wrap_steps(values, data, extra_dims, name):
    """Per-step values (sample, time, *extra) as a DataArray labeled like the input."""
    import xarray as xr

    from .data import _wrap

    if data.kind == "numpy":
        return xr.DataArray(values, dims=("sample", "time") + tuple(extra_dims), name=name)
    da = _wrap(values, data, True, tuple(extra_dims), name)
    da.attrs = {}
    return da


def inspect(model, X, *, time_dim=None, feature_dim=None):
    """Hidden states, cell states and gate activations at every step, with saturation.

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator (with ``network_``)
        The network, or an estimator whose network is inspected.
    X : array-like (sample, time, feature), xarray.DataArray or xarray.Dataset
        NaN-padded sequences, as for prediction.
    time_dim, feature_dim : str, optional
        Dim names of labeled ``X``.

    Returns
    -------
    xarray.Dataset
        Per-step variables with dims ``(*sample dims, time, layer, [direction,] unit)`` (the
        input's sample and time dims and coordinates; ``("sample", "time", ...)`` for NumPy
        input; ``direction`` = ["forward", "reverse"] only for bidirectional networks), NaN at
        padded steps:

        - ``hidden``: the hidden state ``h_t`` after each step;
        - ``cell``: the cell state ``c_t`` (lstm, peephole, cifg);
        - one variable per gate: ``input_gate``, ``forget_gate``, ``candidate``,
          ``output_gate`` (lstm, peephole); ``input_gate``, ``candidate``, ``output_gate`` and
          the derived ``forget_gate = 1 - input_gate`` (cifg); ``reset_gate``,
          ``update_gate``, ``candidate`` (gru); none for the rnn, whose only activation is
          ``hidden``.

        and for every sigmoid gate ``<gate>_saturation`` with dims
        ``(side, layer, [direction,] unit)``, ``side`` = ["low", "high"]: the fraction of all
        valid steps (over samples and time) at which the gate is below 0.1 ("low") or above
        0.9 ("high").  Attributes give the cell and the thresholds.

    Examples
    --------
    >>> import numpy as np
    >>> from seqlstm import RecurrentNetwork
    >>> from seqlstm.inspect import inspect
    >>> net = RecurrentNetwork(2, 3, cell="lstm", random_state=0)
    >>> ds = inspect(net, np.zeros((4, 5, 2)))
    >>> ds["forget_gate"].dims
    ('sample', 'time', 'layer', 'unit')
    """
    import xarray as xr

    net = _network(model)
    values, lengths, data = network_input(model, X, time_dim, feature_dim)
    traces = net.trace(values, lengths=np.asarray(lengths, dtype=np.int64))
    L, D, H = net.num_layers, net.num_directions, net.hidden_size
    B, T = values.shape[:2]
    bidir = D == 2
    extra = ("layer", "direction", "unit") if bidir else ("layer", "unit")

    def stack(get):
        out = np.empty((B, T, L, D, H), dtype=net.dtype)
        for tr in traces:
            out[:, :, tr["layer"], tr["direction"], :] = get(tr)
        return out if bidir else out[:, :, :, 0, :]

    per_step = {"hidden": stack(lambda tr: tr["h"])}
    if net.has_cell_state:
        per_step["cell"] = stack(lambda tr: tr["c"])
    names = GATE_NAMES[net.cell]
    for j, gate in enumerate(names):
        per_step[gate] = stack(lambda tr, j=j: tr["gates"][:, :, j, :])
    if net.cell == "cifg":
        per_step["forget_gate"] = (1 - per_step["input_gate"]).astype(net.dtype)
    descriptions = {
        "hidden": "hidden state h_t after the step",
        "cell": "cell state c_t after the step",
        "input_gate": "input gate i_t (sigmoid)",
        "forget_gate": ("forget gate f_t = 1 - i_t (derived, coupled gates)"
                        if net.cell == "cifg" else "forget gate f_t (sigmoid)"),
        "candidate": "candidate activation (tanh)",
        "output_gate": "output gate o_t (sigmoid)",
        "reset_gate": "reset gate r_t (sigmoid)",
        "update_gate": "update gate z_t (sigmoid)",
    }
    variables = {}
    for name, arr in per_step.items():
        da = _wrap_steps(arr, data, extra, name)
        da.attrs = {"description": descriptions[name]}
        variables[name] = da
    low, high = SATURATION_THRESHOLDS
    valid = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
    n_valid = max(int(valid.sum()), 1)
    sat_dims = ("side",) + extra[:-1] + ("unit",)
    for name, arr in per_step.items():
        if name in ("hidden", "cell") or name in _TANH_BLOCKS:
            continue
        a = arr[valid]                                    # (n_valid, layer, [dir,] unit)
        frac = np.stack([(a < low).sum(axis=0), (a > high).sum(axis=0)]) / n_valid
        variables[f"{name}_saturation"] = xr.DataArray(
            frac, dims=sat_dims,
            attrs={"description": f"fraction of valid steps with {name} < {low} (low) or "
                                  f"> {high} (high)"})
    coords = {"layer": np.arange(L), "unit": np.arange(H), "side": ["low", "high"]}
    if bidir:
        coords["direction"] = ["forward", "reverse"]
    ds = xr.Dataset(variables).assign_coords(coords)
    ds.attrs = {"cell": net.cell, "num_layers": L, "hidden_size": H,
                "bidirectional": int(bidir), "saturation_low": low, "saturation_high": high}
    return ds


# ----------------------------------------------------------------------------- gradient flow
def _headless(net):
    """The recurrent stack of ``net`` without its head (same parameters)."""
    if net.output_size is None:
        return net
    twin = type(net).from_config({**net.config(), "output_size": None})
    mine = net.named_parameters()
    for name, view in twin.named_parameters().items():
        view[...] = mine[name]
    return twin


def _infer_loss(model):
    if getattr(model, "classes_", None) is not None:
        return "cross_entropy"
    loss = getattr(model, "loss", None)
    if loss in LOSSES:
        return loss
    return "mse"


def _loss_grad(loss, pred, y, model):
    """dL/dpred for the per-sequence losses summed over sequences."""
    B = pred.shape[0]
    if loss == "cross_entropy":
        y = np.asarray(y).reshape(B)
        classes = getattr(model, "classes_", None)
        idx = np.searchsorted(classes, y) if classes is not None else y.astype(np.int64)
        z = pred - pred.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(B), idx] -= 1.0
        return p
    y = np.asarray(y, dtype=np.float64).reshape(B, -1)
    if loss == "mse":
        return np.nan_to_num(2.0 * (pred - y))
    if loss in ("gaussian", "mae", "quantile"):  # the training loss's gradient, summed
        spec = (QuantileLoss(getattr(model, "quantiles", DEFAULT_QUANTILES)) if loss == "quantile"
                else loss)
        y, _ = check_targets(y, spec, B, 1, pred.shape[1])    # y matches the head
        _, grad = loss_gradient(spec, np.ascontiguousarray(pred), np.ascontiguousarray(y),
                                np.ones(B), 1.0)
        return grad
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def gradient_flow(model, X, y=None, *, loss=None, time_dim=None, feature_dim=None):
    """Norm of the gradient with respect to the input and the hidden states, by lag.

    The prediction of a sequence is made at its last valid step (lag 0); the gradient of the
    loss of that prediction with respect to the input ``x_t`` and to every layer's hidden
    state ``h_t`` (total derivative, through all later steps) is taken at every earlier step,
    its Euclidean norm computed per sequence and averaged over the sequences that reach that
    lag.  A vanilla RNN's curve falls off exponentially with the lag (the vanishing gradient);
    an LSTM's need not.

    Parameters
    ----------
    model : RecurrentNetwork or fitted estimator (with ``network_``)
        The network, or an estimator whose network is differentiated.
    X : array-like (sample, time, feature), xarray.DataArray or xarray.Dataset
        NaN-padded sequences, as for prediction.
    y : array-like, optional
        One target per sequence: ``(sample,)`` or ``(sample, n_targets)`` (class labels for
        cross-entropy).  Without ``y`` the gradient is that of the sum of the final output
        (the network's ``forward_last``, through its head when it has one).
    loss : {"mse", "mae", "gaussian", "quantile", "cross_entropy"}, optional
        Loss of each sequence's prediction (squared or absolute error summed over targets;
        Gaussian negative log-likelihood with means then raw variances; pinball loss of the
        non-crossing quantiles at the model's ``quantiles`` (default 0.1, 0.5, 0.9); softmax
        cross-entropy on logits).  Default: cross-entropy for a model with ``classes_``, the
        model's ``loss`` attribute when it names one of these, else "mse".
    time_dim, feature_dim : str, optional
        Dim names of labeled ``X``.

    Returns
    -------
    xarray.DataArray
        Named "gradient_norm", dims ``("wrt", "lag")``: ``wrt`` = "input", then
        "hidden_l{k}" (and "hidden_l{k}_reverse" for a bidirectional layer) for every layer
        ``k``; ``lag`` = 0 .. (longest sequence - 1).  Entries are the mean over sequences of
        the per-sequence gradient norm (NaN at lags no sequence reaches).

    Examples
    --------
    >>> import numpy as np
    >>> from seqlstm import RecurrentNetwork
    >>> from seqlstm.inspect import gradient_flow
    >>> net = RecurrentNetwork(1, 4, cell="rnn", random_state=0)
    >>> flow = gradient_flow(net, np.random.default_rng(0).normal(size=(8, 20, 1)))
    >>> flow.dims
    ('wrt', 'lag')
    """
    import xarray as xr

    net = _network(model)
    values, lengths, _ = network_input(model, X, time_dim, feature_dim)
    lengths = np.asarray(lengths, dtype=np.int64)
    B, T = values.shape[:2]
    H, D = net.hidden_size, net.num_directions
    stack = _headless(net)
    feats = np.asarray(stack.forward_last(values, lengths=lengths), dtype=np.float64)
    if net.output_size is not None:
        W = net.named_parameters()["head_weight"].astype(np.float64)
        b = net.named_parameters()["head_bias"].astype(np.float64)
        pred = feats @ W.T + b
    else:
        W, pred = None, feats
    if y is None:
        dpred = np.ones_like(pred)
        loss_name = "sum of the final output"
    else:
        loss_name = loss or _infer_loss(model)
        dpred = _loss_grad(loss_name, pred, y, model)
    dfeat = dpred @ W if W is not None else dpred
    G = np.zeros((B, T, H * D))
    has = lengths > 0
    rows = np.nonzero(has)[0]
    G[rows, lengths[rows] - 1, :H] = dfeat[rows, :H]
    if D == 2:
        G[rows, 0, H:] = dfeat[rows, H:]
    _, dX = stack.vjp(values, G, lengths=lengths)
    hidden = stack.hidden_state_grads(values, G, lengths=lengths)
    wrt = ["input"]
    norms = [np.linalg.norm(np.asarray(dX, np.float64), axis=2)]
    for (k, d), dh in hidden:
        wrt.append(f"hidden_l{k}" + ("_reverse" if d == 1 else ""))
        norms.append(np.linalg.norm(np.asarray(dh, np.float64), axis=2))
    n_lag = int(lengths.max()) if lengths.size else 0
    out = np.full((len(wrt), max(n_lag, 1)), np.nan)
    lag = lengths[:, None] - 1 - np.arange(T)[None, :]            # (B, T)
    ok = lag >= 0
    for w, nrm in enumerate(norms):
        sums = np.bincount(lag[ok], weights=nrm[ok], minlength=n_lag)
        counts = np.bincount(lag[ok], minlength=n_lag)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[w, :n_lag] = sums[:n_lag] / counts[:n_lag]
    return xr.DataArray(
        out[:, :max(n_lag, 1)], dims=("wrt", "lag"),
        coords={"wrt": wrt, "lag": np.arange(max(n_lag, 1))}, name="gradient_norm",
        attrs={"description": "mean over sequences of the norm of the gradient at each lag "
                              "before the prediction (lag 0 = last valid step)",
               "loss": loss_name})
