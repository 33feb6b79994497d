"""Parameter layout and initialisation: names and shapes (PyTorch's), positions in the flat
vector, named views, the kernels' per-layer parameter tuples, and the initial values."""

from collections import OrderedDict

import numpy as np

from ..cells import CELLS

#: Parameter name suffix of each direction (PyTorch's).
SUFFIXES = ("", "_reverse")


def layer_names(cell, k, d):
    """Names of the parameters of layer ``k``, direction ``d``: ``(weight_ih, weight_hh,
    bias_ih, bias_hh, extra)``, ``extra`` the peephole's name or None."""
    s = SUFFIXES[d]
    extra = tuple(f"{prefix}_l{k}{s}" for prefix, _ in CELLS[cell].extra_params)
    return (f"weight_ih_l{k}{s}", f"weight_hh_l{k}{s}", f"bias_ih_l{k}{s}", f"bias_hh_l{k}{s}",
            extra[0] if extra else None)


def param_shapes(cell, input_size, hidden_size, num_layers, num_directions, output_size,
                 readout_width=1):
    """Parameter name -> shape, in flat-vector order.

    Returns
    -------
    OrderedDict of str -> tuple
    """
    H = hidden_size
    spec = CELLS[cell]
    G = spec.n_gates * H
    features_out = H * num_directions
    shapes = OrderedDict()
    for k in range(num_layers):
        n_in = input_size if k == 0 else features_out
        for d in range(num_directions):
            w_ih, w_hh, b_ih, b_hh, _ = layer_names(cell, k, d)
            shapes[w_ih] = (G, n_in)
            shapes[w_hh] = (G, H)
            shapes[b_ih] = (G,)
            shapes[b_hh] = (G,)
            for prefix, rows in spec.extra_params:
                shapes[f"{prefix}_l{k}{SUFFIXES[d]}"] = (rows, H)
    if output_size is not None:
        shapes["head_weight"] = (output_size, features_out * readout_width)
        shapes["head_bias"] = (output_size,)
    return shapes


def flat_layout(shapes):
    """``[(name, start, stop, shape), ...]`` of each parameter in the flat vector, and its
    size."""
    layout = []
    offset = 0
    for name, shape in shapes.items():
        size = int(np.prod(shape))
        layout.append((name, offset, offset + size, shape))
        offset += size
    return layout, offset


def named_views(flat, layout):
    """Views of a flat vector laid out by ``layout``, keyed by parameter name."""
    return OrderedDict((name, flat[start:stop].reshape(shape))
                       for name, start, stop, shape in layout)


def layer_tuples(views, cell, num_layers, num_directions, dtype):
    """Per (layer, direction), the kernels' parameter tuple ``(w_ih, w_hh, b_ih, b_hh, peep)``
    of views into the flat vector (a zero ``peep`` for cells without peepholes)."""
    no_peep = np.zeros((3, 1), dtype)
    tuples = {}
    for k in range(num_layers):
        for d in range(num_directions):
            *names, extra = layer_names(cell, k, d)
            tuples[k, d] = tuple(views[n] for n in names) + (
                no_peep if extra is None else views[extra],)
    return tuples


def initial_values(shapes, cell, hidden_size, random_state=None):
    """Initial values of every parameter: Glorot-uniform input (and head) weights, orthogonal
    recurrent weights per gate block, zero biases except the cell's gate biases
    (``seqlstm.cells``), zero peepholes.

    Returns
    -------
    dict of str -> ndarray (float64)
    """
    rng = np.random.default_rng(random_state)
    H = hidden_size
    spec = CELLS[cell]
    values = {}
    for name, shape in shapes.items():
        if name.startswith("weight_ih") or name == "head_weight":
            fan_out = H if name.startswith("weight_ih") else shape[0]
            limit = np.sqrt(6.0 / (shape[1] + fan_out))
            values[name] = rng.uniform(-limit, limit, size=shape)
        elif name.startswith("weight_hh"):
            blocks = []
            for _ in range(spec.n_gates):
                q, r = np.linalg.qr(rng.standard_normal((H, H)))
                blocks.append(q * np.sign(np.diag(r)))
            values[name] = np.concatenate(blocks, axis=0)
        elif name.startswith("bias_ih"):
            b = np.zeros(shape)
            for block, value in spec.gate_biases:
                b[block * H:(block + 1) * H] = value
            values[name] = b
        else:
            values[name] = np.zeros(shape)
    return values
