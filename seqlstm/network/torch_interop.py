"""Exchange with PyTorch: a network from a ``torch.nn.LSTM``/``GRU``/``RNN`` and a
``state_dict`` for one (same parameter names and layouts; PyTorch is imported only by
:func:`to_torch_state_dict`)."""

from collections import OrderedDict

from ..cells import CELLS, from_torch_name


def from_torch(cls, module):
    """A ``cls`` network with the weights of ``module`` (see
    :meth:`~seqlstm.RecurrentNetwork.from_torch`)."""
    kind = type(module).__name__
    spec = from_torch_name(kind)
    if spec is None:
        raise TypeError(f"module must be torch.nn.LSTM, GRU or RNN, got {kind}")
    if getattr(module, "proj_size", 0):
        raise ValueError("LSTM with proj_size > 0 is not supported")
    if kind == "RNN" and module.nonlinearity != "tanh":
        raise ValueError(f"only the tanh RNN is supported, got {module.nonlinearity!r}")
    state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    dtype = next(iter(state.values())).dtype
    net = cls(module.input_size, module.hidden_size, module.num_layers, spec.name,
              module.bidirectional, dtype=str(dtype) if str(dtype) == "float64" else "float32")
    for name, view in net.named_parameters().items():
        if name in state:
            view[...] = state[name]
        else:                      # bias=False modules: zero biases
            view[...] = 0
    return net


def to_torch_state_dict(cell, views):
    """The recurrent parameters among ``views`` (name -> array) as a PyTorch ``state_dict``
    (head excluded)."""
    if CELLS[cell].torch_name is None:
        raise ValueError(f"cell {cell!r} has no PyTorch equivalent")
    import torch

    return OrderedDict((n, torch.from_numpy(v.copy())) for n, v in views.items()
                       if not n.startswith("head_"))
