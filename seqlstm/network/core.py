"""RecurrentNetwork: a stack of recurrent layers with a flat parameter vector.

The network owns the parameters (one flat vector with named views, PyTorch's names and layouts)
and drives the Numba kernels layer by layer and direction by direction, through the modules of
this package: ``layout`` (parameter names, shapes, initial values), ``workspace`` (work arrays,
sub-batches), ``inputs`` (checks), ``stack`` (forward and backward layer stacks), ``tbptt``
(full and truncated BPTT), ``objective`` (targets, head, losses) and ``torch_interop``.  It knows
nothing of xarray or estimators: inputs are NumPy arrays ``(sample, time, feature)``.
"""

import threading
from collections import OrderedDict

import numpy as np

from .._threads import computing
from ..cells import CELLS, get_cell
from . import inputs, layout, objective, torch_interop
from .stack import Stack, final_states, readout
from .tbptt import parse_tbptt, stack_gradient
from .workspace import Workspace, split, split_lengths, sum_parts

#: Constructor arguments saved by :meth:`RecurrentNetwork.config`.
_CONFIG_KEYS = ("input_size", "hidden_size", "num_layers", "cell", "bidirectional",
                "output_size", "dtype", "readout")
#: How a sequence is summarised for per-sequence outputs (``forward_last`` and per-sequence
#: targets): the final states, or the final states and the mean output over valid steps.
READOUTS = ("last", "last+mean")


class RecurrentNetwork:
    """A stack of recurrent layers (optionally bidirectional) with an optional linear head.

    Parameters
    ----------
    input_size : int
        Number of input features.
    hidden_size : int
        Number of hidden units per layer and direction.
    num_layers : int, default 1
        Number of stacked layers; layer k > 0 reads the previous layer's outputs.
    cell : {"lstm", "peephole", "cifg", "gru", "rnn"}, default "lstm"
        The cell of every layer (``seqlstm.cells`` lists their gates).
    bidirectional : bool, default False
        Whether each layer also runs backward in time (outputs of both directions side by side).
    output_size : int or None, default None
        Size of a linear head applied to the outputs (``head_weight``, ``head_bias``).
    dtype : {"float32", "float64"}, default "float32"
        The compute dtype of the parameters and every kernel.
    random_state : None, int or numpy Generator
        Seed of the initialisation (see the notes).
    readout : {"last", "last+mean"}, default "last"
        The per-sequence summary read by :meth:`forward_last` and by per-sequence targets:
        the top layer's final states, or those and the mean of its outputs over each
        sequence's valid steps side by side (the head then reads twice as many features).

    Attributes
    ----------
    params : ndarray
        All parameters in one flat vector; ``named_parameters()`` gives writable views.
    shapes : OrderedDict
        Parameter name -> shape, in flat-vector order.

    Notes
    -----
    Initialisation: Glorot-uniform input weights and orthogonal recurrent weights per gate
    block, zero biases except forget-gate bias 1 (for ``"cifg"``, whose forget gate is
    ``1 - i``, the input-gate bias is -1), zero peepholes.

    Inputs ``X`` are ``(sample, time, feature)``.  A sequence shorter than ``T`` is given by
    ``lengths`` or by NaN padding at its end (a step whose features are all NaN); padded steps
    leave the state unchanged, produce NaN outputs and receive no gradient.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, cell="lstm", bidirectional=False,
                 output_size=None, dtype="float32", random_state=None, readout="last"):
        self.input_size = inputs.check_positive_int(input_size, "input_size")
        self.hidden_size = inputs.check_positive_int(hidden_size, "hidden_size")
        self.num_layers = inputs.check_positive_int(num_layers, "num_layers")
        get_cell(cell)
        self.cell = cell
        self.bidirectional = bool(bidirectional)
        self.output_size = (None if output_size is None
                            else inputs.check_positive_int(output_size, "output_size"))
        if str(np.dtype(dtype)) not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = np.dtype(dtype)
        if readout not in READOUTS:
            raise ValueError(f"readout: expected one of {READOUTS}; found {readout!r}.")
        self.readout = readout
        self._lock = threading.Lock()
        self._ws = Workspace(self.dtype)
        self.shapes = layout.param_shapes(cell, self.input_size, self.hidden_size,
                                          self.num_layers, self.num_directions, self.output_size,
                                          2 if readout == "last+mean" else 1)
        self._layout, size = layout.flat_layout(self.shapes)
        self.params = np.zeros(size, self.dtype)
        self._set_views()
        self.init_params(random_state)

    def config(self):
        """Return the constructor arguments as a dict of plain Python values.

        The parameters are excluded; :meth:`from_config` builds the network again.

        Returns
        -------
        dict
            ``input_size``, ``hidden_size``, ``num_layers``, ``cell``, ``bidirectional``,
            ``output_size``, ``dtype`` and ``readout``.
        """
        return {"input_size": int(self.input_size), "hidden_size": int(self.hidden_size),
                "num_layers": int(self.num_layers), "cell": str(self.cell),
                "bidirectional": bool(self.bidirectional),
                "output_size": None if self.output_size is None else int(self.output_size),
                "dtype": self.dtype.name, "readout": self.readout}

    @classmethod
    def from_config(cls, config, params=None):
        """Build a network from :meth:`config`'s dict.

        Parameters
        ----------
        config : dict
            The constructor arguments (other keys are ignored).
        params : array-like, optional
            The flat parameter vector; default: initialised from ``random_state=0``.

        Returns
        -------
        RecurrentNetwork
        """
        net = cls(**{k: config[k] for k in _CONFIG_KEYS if k in config}, random_state=0)
        if params is not None:
            net.set_flat(np.asarray(params, dtype=net.dtype))
        return net

    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("_lock", "_ws", "_views", "_layer_tuples", "_stack"):  # see __setstate__
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("readout", "last")       # pickled before readouts existed
        self._lock = threading.Lock()
        self._ws = Workspace(self.dtype)
        # the views must point into this object's own flat vector
        self._set_views()

    # ------------------------------------------------------------------ parameters
    @property
    def num_directions(self):
        """1, or 2 when bidirectional."""
        return 2 if self.bidirectional else 1

    @property
    def has_cell_state(self):
        """Whether the cell carries a cell state ``c`` besides ``h``."""
        return CELLS[self.cell].has_cell_state

    @property
    def features_out(self):
        """Size of the last layer's per-step output (hidden_size * directions)."""
        return self.hidden_size * self.num_directions

    @property
    def n_params(self):
        """Total number of parameters."""
        return self.params.size

    def _set_views(self):
        """Named views of ``params`` and the layer stack over them."""
        self._views = layout.named_views(self.params, self._layout)
        self._layer_tuples = layout.layer_tuples(self._views, self.cell, self.num_layers,
                                                 self.num_directions, self.dtype)
        self._stack = Stack(self.cell, self.hidden_size, self.num_layers, self.num_directions,
                            self.dtype, self._layer_tuples, self._ws)

    def named_parameters(self):
        """Writable views of the flat vector, keyed by parameter name.

        Returns
        -------
        OrderedDict of str -> ndarray
            Views into ``params`` named like PyTorch's parameters, in flat-vector order.
        """
        return OrderedDict(self._views)

    def init_params(self, random_state=None):
        """(Re)initialise every parameter in place; the notes of the class give the scheme.

        Parameters
        ----------
        random_state : None, int or numpy Generator
            Seed of the initialisation.

        Returns
        -------
        RecurrentNetwork
            The network itself.
        """
        values = layout.initial_values(self.shapes, self.cell, self.hidden_size, random_state)
        for name, view in self._views.items():
            view[...] = values[name]
        return self

    def get_flat(self):
        """Return a copy of the flat parameter vector.

        Returns
        -------
        ndarray of shape (n_params,)
            A copy: changing it leaves the network unchanged.
        """
        return self.params.copy()

    def set_flat(self, values):
        """Copy `values` into the flat parameter vector.

        Parameters
        ----------
        values : array-like of shape (n_params,)
            The new parameters (cast to the network's dtype; the shape is checked).

        Returns
        -------
        RecurrentNetwork
            The network itself.
        """
        values = np.asarray(values)
        if values.shape != self.params.shape:
            raise ValueError(f"values must have shape {self.params.shape}, got {values.shape}")
        self.params[:] = values
        return self

    def flatten_grads(self, grads):
        """Pack a dict of gradients keyed like the parameters into one flat vector.

        Parameters
        ----------
        grads : dict of str -> ndarray
            Gradients keyed by parameter name, shaped like the parameters.

        Returns
        -------
        ndarray of shape (n_params,)
            In the flat vector's order.
        """
        return np.concatenate([np.asarray(grads[n], self.dtype).ravel() for n in self.shapes])

    # ------------------------------------------------------------------ plumbing
    def _chunks(self, B):
        """Fixed split of the batch into sub-batches (run concurrently by the kernels)."""
        return self._ws.chunks(B)

    def _prepare(self, X, lengths=None, mask=True):
        return inputs.prepare(X, lengths, self.input_size, self.dtype, mask)

    def _head(self):
        return (None if self.output_size is None
                else (self._views["head_weight"], self._views["head_bias"]))

    def _zero_grads(self):
        """A zero gradient vector laid out like ``params``, and its named views."""
        flat = np.zeros(self.params.size, self.dtype)
        return flat, layout.named_views(flat, self._layout)

    def _grad_outputs(self, grad_outputs, mask):
        T, B = mask.shape
        n_out = self.features_out if self.output_size is None else self.output_size
        return inputs.grad_outputs(grad_outputs, (B, T, n_out), mask, self.dtype)

    def _computing(self):
        """Kernel calls and their workspaces: the network's lock (concurrent callers do not
        share workspaces), single-threaded BLAS inside the kernels, and seqlstm's thread count
        for Numba's threads (``seqlstm._threads.computing``)."""
        return computing(self._lock)

    # ------------------------------------------------------------------ public API
    def forward(self, X, lengths=None, initial_state=None, return_state=False):
        """Per-step outputs of the network.

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
            NaN steps at the end of a sequence are padding (unless ``lengths`` is given).
        lengths : array of int, shape (sample,), optional
            Valid steps of each sequence (default: read from the NaN padding).
        initial_state : ndarray or tuple of ndarray, optional
            ``h0`` (or ``(h0, c0)`` for LSTM-type cells), each
            ``(num_layers * directions, sample, hidden_size)`` as in PyTorch; zeros by default.
        return_state : bool, default False
            Also return the final state (``h_n`` or ``(h_n, c_n)``), taken at each sequence's
            last valid step (the reverse direction's after processing step 0).

        Returns
        -------
        outputs : ndarray, shape (sample, time, hidden_size * directions) or (..., output_size)
            NaN at padded steps.
        state : ndarray or tuple, only if ``return_state``
            The final state, ``h_n`` or ``(h_n, c_n)``, shaped like ``initial_state``.
        """
        x, lengths, _ = self._prepare(X, lengths, mask=False)
        T, B, _ = x.shape
        state_shape = (self.num_layers * self.num_directions, B, self.hidden_size)
        h0, c0 = inputs.initial_state(initial_state, state_shape, self.cell,
                                      self.has_cell_state, self.dtype)
        headless = self.output_size is None
        self._check_per_step_head(headless)
        out = np.empty((B, T, self.features_out if headless else self.output_size), self.dtype)
        chunks = self._chunks(B)
        with self._computing():
            layers, tops = self._stack.forward(
                split(x, chunks), split_lengths(lengths, chunks), store=False,
                h0s=None if h0 is None else split(h0, chunks),
                c0s=None if c0 is None else split(c0, chunks),
                top_out=tuple(out[b0:b1] for b0, b1 in chunks) if headless else None)
            if not headless:
                for c, (b0, b1) in enumerate(chunks):
                    out[b0:b1] = np.swapaxes(objective.apply_head(tops[c], self._head()), 0, 1)
        if lengths.min() < T:
            out[np.arange(T)[None, :] >= lengths[:, None]] = np.nan
        if not return_state:
            return out
        hn, cn = final_states(layers, chunks, state_shape, self.dtype)
        return (out, (hn, cn)) if self.has_cell_state else (out, hn)

    def _check_state_at(self, return_state_at, T):
        """``return_state_at`` as an int in ``[0, T]`` (or None), for unidirectional networks."""
        if return_state_at is None:
            return None
        if self.bidirectional:
            raise ValueError("return_state_at: expected a unidirectional network (the reverse "
                             "direction's state at a step depends on the steps after it); "
                             "found bidirectional=True.")
        if (isinstance(return_state_at, (bool, np.bool_))
                or not isinstance(return_state_at, (int, np.integer))
                or not 0 <= return_state_at <= T):
            raise ValueError(f"return_state_at: expected an integer number of steps in "
                             f"[0, {T}] (the time length of X); found {return_state_at!r}.")
        return int(return_state_at)

    def _check_per_step_head(self, headless):
        if not headless and self.readout != "last":
            raise ValueError(
                f"readout: per-step outputs through the head need readout='last' (the head "
                f"reads {2 * self.features_out} features per sequence); found "
                f"readout={self.readout!r}.")

    def forward_last(self, X, lengths=None):
        """One output per sequence: the forward direction's state at the last valid step and
        (bidirectional) the reverse direction's state after reading the whole sequence, through
        the head when there is one.

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
            NaN steps at the end of a sequence are padding (unless ``lengths`` is given).
        lengths : array-like of int, shape (sample,), optional
            Valid steps of each sequence (default: read from the NaN padding).

        Returns
        -------
        ndarray, shape (sample, hidden_size * directions) or (sample, output_size)
            Twice the width without a head when ``readout="last+mean"``.
        """
        x, lengths, _ = self._prepare(X, lengths, mask=False)
        B = x.shape[1]
        width = self.features_out * (2 if self.readout == "last+mean" else 1)
        n_out = width if self.output_size is None else self.output_size
        out = np.empty((B, n_out), self.dtype)
        chunks = self._chunks(B)
        lens = split_lengths(lengths, chunks)
        with self._computing():
            layers, tops = self._stack.forward(split(x, chunks), lens, store=False)
            for c, (b0, b1) in enumerate(chunks):
                out[b0:b1] = objective.apply_head(
                    readout(layers, c, tops[c], lens[c], self.readout), self._head())
        return out

    def vjp(self, X, grad_outputs, lengths=None, tbptt=None):
        """Vector-Jacobian product of ``forward``.

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
            NaN steps at the end of a sequence are padding (unless ``lengths`` is given).
        grad_outputs : array-like, shape like ``forward(X)``
            Gradient with respect to the per-step outputs; ignored at padded steps.
        lengths : array of int, optional
            Valid steps of each sequence (default: read from the NaN padding).
        tbptt : None, int or (k1, k2)
            Truncated BPTT (Williams & Peng): every ``k1`` steps the errors of the last ``k1``
            steps are propagated back ``k2`` steps, with the state carried over the whole
            sequence.  ``None`` is full BPTT.  Unidirectional networks hold the activations of
            one window of ``k2`` steps at a time (besides ``grad_outputs``, the input and the
            returned input gradient); see :meth:`loss_and_grad`.

        Returns
        -------
        param_grads : OrderedDict
            Keyed exactly like ``named_parameters()``.
        input_grad : ndarray, shape like ``X``
            Zero at padded steps.
        """
        tbptt = parse_tbptt(tbptt)
        x, lengths, mask = self._prepare(X, lengths)
        T, B, _ = x.shape
        chunks = self._chunks(B)
        gs = split(self._grad_outputs(grad_outputs, mask), chunks)
        dX = np.empty((B, T, self.input_size), self.dtype)
        parts = [self._zero_grads() for _ in chunks]
        grads = tuple(views for _, views in parts)
        dout_fn = _GivenGradients(gs, self._head(), grads, self._ws)
        with self._computing():
            dxs, _ = stack_gradient(self._stack, split(x, chunks),
                                    split_lengths(lengths, chunks), dout_fn, tbptt, grads)
            for dx, (b0, b1) in zip(dxs, chunks):
                dX[b0:b1] = np.swapaxes(dx, 0, 1)
        flat = sum_parts([flat for flat, _ in parts])
        return layout.named_views(flat, self._layout), dX

    def loss_and_grad(self, X, y, loss="mse", lengths=None, tbptt=None, sample_weight=None,
                      dropout=0.0, random_state=None, initial_state=None,
                      return_state_at=None):
        """Loss and its gradient with respect to the flat parameter vector.

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
            NaN steps at the end of a sequence are padding (unless ``lengths`` is given).
        y : ndarray
            One target per sequence, ``(sample, n_targets)`` (``(sample,)`` of class indices for
            ``"cross_entropy"``), scored on the output of ``forward_last``; or one per step,
            ``(sample, time, n_targets)`` (``(sample, time)`` for ``"cross_entropy"``), scored
            on ``forward``.  NaN marks a missing target.
        loss : {"mse", "mae", "gaussian", "quantile", "cross_entropy"} or QuantileLoss
            Weighted means over observed targets: squared error; absolute error; Gaussian
            negative log-likelihood with the head giving means then raw variances
            (``var = softplus(raw) + MIN_VARIANCE``, 1e-6); the pinball loss averaged over
            quantile levels (:class:`~seqlstm.network.objective.QuantileLoss`; "quantile"
            alone: levels 0.1, 0.5, 0.9), the head giving one block of raw outputs per level
            made non-crossing (``q_0 = raw_0``, ``q_k = q_{k-1} + softplus(raw_k)``); softmax
            cross-entropy on the head's logits.
        lengths : array of int, optional
            Valid steps of each sequence (default: read from the NaN padding).
        tbptt : None, int or (k1, k2)
            Truncated BPTT as in :meth:`vjp`; ``None`` is full BPTT.  Unidirectional networks
            run the windows in time order, each from the state the previous one stored, so
            the memory held besides copies of the data (the time-major input, the targets as
            float64, their weights and masks of valid steps) is that of one window of ``k2``
            steps, whatever the time length: per-step targets are scored window by window;
            per-sequence targets first take one forward pass that keeps only the final states
            (and, for ``readout="last+mean"``, the sum of the outputs).  Bidirectional networks
            hold the top outputs and their gradients of every step (see
            :mod:`seqlstm.network.tbptt`).
        sample_weight : array of float, shape (sample,), optional
            Weight of each sequence in the loss's weighted mean (default: all 1).
        dropout : float, default 0.0
            Inverted dropout on the outputs of every layer but the last (its masks span the
            whole sequence).
        random_state : None, int or Generator
            Source of the dropout masks.
        initial_state : ndarray or tuple of ndarray, optional
            The state before the first step, as in :meth:`forward` (a constant: no gradient
            flows into it); with full BPTT only (``tbptt`` None or covering the sequence).  Used
            to carry the state along a long record window by window.
        return_state_at : int, optional
            Also return the state after this many steps (0 to the time length; unidirectional
            networks), as ``forward(X[:, :k], initial_state=..., return_state=True)`` would:
            each sequence's state at its last valid step up to there.  It is taken from the
            pass that computes the gradient, so a caller carrying the state along a record
            window by window needs no other forward pass.  With full BPTT it is
            :meth:`forward`'s state bit for bit for a batch of several sequences (the same
            kernels on the same steps in the same order; the input projection of every step is
            one product here and one per step there, whose rows BLAS computes alike); for a
            batch of one sequence the two agree to float rounding only (the per-step product
            has a single row, which BLAS may compute with another kernel and summation order:
            seen with OpenBLAS 0.3.31 on AVX2, float32 and float64); with truncated BPTT it
            comes from the window holding step ``k``.  With ``dropout`` it is the state of the
            pass with the dropout masks, as in the gradient.

        Returns
        -------
        loss : float
            The weighted mean loss over the scored targets.
        flat_grad : ndarray, shape (n_params,)
            Its gradient with respect to the flat parameter vector.
        state : ndarray or tuple of ndarray, only with ``return_state_at``
            ``h`` (or ``(h, c)`` for cells with a cell state), each
            ``(num_layers, sample, hidden_size)``.

        Notes
        -----
        The loss is a weighted mean over every scored target; its normaliser (the weight of
        all of them, :meth:`loss_weight`) is known before any step is run, so under truncated
        BPTT each window adds its targets' part of the mean and of the gradient, and the
        parts add up to the loss and gradient of the whole batch.  The result is that of
        scoring every step at once up to float rounding (the sums are grouped by window), and
        is the same bit for bit at any thread count.
        """
        objective.resolve_loss(loss)
        if self.output_size is None:
            raise ValueError("loss_and_grad needs a network with a head (output_size)")
        tbptt = parse_tbptt(tbptt)
        x, lengths, mask = self._prepare(X, lengths)
        T, B, _ = x.shape
        h0, c0 = inputs.initial_state(initial_state, (self.num_layers * self.num_directions, B,
                                                      self.hidden_size),
                                      self.cell, self.has_cell_state, self.dtype)
        if h0 is not None and tbptt is not None and (tbptt[0] < T or tbptt[1] < T):
            raise ValueError(f"initial_state: expected full BPTT (tbptt=None) with an initial "
                             f"state; found tbptt={tbptt} for {T} steps.")
        state_at = self._check_state_at(return_state_at, T)
        y, per_step = objective.check_targets(y, loss, B, T, self.output_size)
        if per_step:
            self._check_per_step_head(False)
        w = objective.check_weights(sample_weight, B)
        masks = objective.dropout_masks(dropout, self.num_layers, (T, B, self.features_out),
                                        self.dtype, random_state)
        chunks = self._chunks(B)
        lens = split_lengths(lengths, chunks)
        parts = [self._zero_grads() for _ in chunks]
        grads = tuple(views for _, views in parts)
        target = objective.Objective(loss, y, per_step, w, mask, chunks, lens, self._head(),
                                     grads, self.hidden_size, self.bidirectional, self._ws,
                                     self.readout)
        with self._computing():
            _, states = stack_gradient(
                self._stack, split(x, chunks), lens, target, tbptt, grads,
                dropout_masks=None if masks is None else [split(m, chunks) for m in masks],
                need_dx=False, h0s=None if h0 is None else split(h0, chunks),
                c0s=None if c0 is None else split(c0, chunks), state_at=state_at)
        value, flat = target.value(), sum_parts([flat for flat, _ in parts])
        if state_at is None:
            return value, flat
        state = _gather_states(states, chunks, (self.num_layers, B, self.hidden_size),
                               self.dtype)
        return value, flat, (state if self.has_cell_state else state[0])

    def loss_weight(self, X, y, loss="mse", lengths=None, sample_weight=None):
        """The weight :meth:`loss_and_grad`'s loss is a mean over: the sum of the sample
        weights over the observed targets (at valid steps, for per-step targets).

        ``loss * loss_weight`` is the weighted sum of the losses of the single targets, so
        losses of several batches (or windows along time) combine into their weighted mean as
        ``sum(loss_i * weight_i) / sum(weight_i)``; a zero weight means nothing is scored.

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
            As in :meth:`loss_and_grad`.
        y : array-like
            As in :meth:`loss_and_grad`.
        loss : str, default "mse"
            As in :meth:`loss_and_grad`.
        lengths : array-like of int, shape (sample,), optional
            As in :meth:`loss_and_grad`.
        sample_weight : array-like, shape (sample,), optional
            As in :meth:`loss_and_grad`.

        Returns
        -------
        float
            The sum of the sample weights over the scored targets.
        """
        objective.resolve_loss(loss)
        _, _, mask = self._prepare(X, lengths)
        T, B = mask.shape
        y, per_step = objective.check_targets(y, loss, B, T, self.output_size)
        w = objective.check_weights(sample_weight, B)
        return float(objective.scored_targets(y, per_step, w, mask)[1])

    def loss(self, X, y, loss="mse", lengths=None, sample_weight=None, initial_state=None):
        """Return the loss alone (no gradient).

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
            As in :meth:`loss_and_grad`.
        y : array-like
            As in :meth:`loss_and_grad`.
        loss : str, default "mse"
            As in :meth:`loss_and_grad`.
        lengths : array-like of int, shape (sample,), optional
            As in :meth:`loss_and_grad`.
        sample_weight : array-like, shape (sample,), optional
            As in :meth:`loss_and_grad`.
        initial_state : ndarray or tuple of ndarray, optional
            As in :meth:`loss_and_grad`.

        Returns
        -------
        float
            The loss :meth:`loss_and_grad` returns with its gradient.
        """
        value, _ = self.loss_and_grad(X, y, loss=loss, lengths=lengths,
                                      sample_weight=sample_weight, initial_state=initial_state)
        return value

    def trace(self, X, lengths=None):
        """Internal activity of every layer and direction, for inspection.

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
            NaN steps at the end of a sequence are padding (unless ``lengths`` is given).
        lengths : array-like of int, shape (sample,), optional
            Valid steps of each sequence (default: read from the NaN padding).

        Returns
        -------
        list of dict
            One per (layer, direction) in PyTorch's order, with ``layer``, ``direction`` and
            arrays in (sample, time, ...) order, NaN at padded steps: ``h`` (hidden state
            after the step), ``c`` (cell state, cells with one), ``gates`` (activated gates,
            shape (sample, time, n_gate_blocks, hidden_size), blocks in the cell's order).
        """
        x, lengths, mask = self._prepare(X, lengths)
        with self._computing():    # one sub-batch: the whole batch
            layers, _ = self._stack.forward((x,), (lengths,), store=True, tag="trace")
            result = self._stack.trace(layers, mask)
            self._ws.drop("trace")
        return result

    def hidden_state_grads(self, X, grad_outputs, lengths=None):
        """Gradient with respect to every layer's hidden state at every step (full BPTT).

        Parameters
        ----------
        X : array-like, shape (sample, time, feature)
            NaN steps at the end of a sequence are padding (unless ``lengths`` is given).
        grad_outputs : array-like, shape like ``forward(X)``
            The gradient of the scalar with respect to the outputs.
        lengths : array-like of int, shape (sample,), optional
            Valid steps of each sequence (default: read from the NaN padding).

        Returns
        -------
        list of tuple
            ``((layer, direction), dh)`` with ``dh`` of shape (sample, time, hidden_size): the
            total derivative of ``sum(grad_outputs * outputs)`` with respect to ``h_t``
            (0 at padded steps).
        """
        x, lengths, mask = self._prepare(X, lengths)
        g = self._grad_outputs(grad_outputs, mask)
        collected = []
        with self._computing():    # one sub-batch: the whole batch
            layers, tops = self._stack.forward((x,), (lengths,), store=True, tag="trace")
            _, grads = self._zero_grads()
            head = self._head()
            dout = (g if head is None else objective.head_backward(
                tops[0], g, head[0], grads["head_weight"], grads["head_bias"]))
            self._stack.backward(layers, (lengths,), (np.ascontiguousarray(dout),), (grads,),
                                 collected, tag="trace")
            self._ws.drop("trace")
        return sorted(((kd, np.swapaxes(a[0], 0, 1).copy()) for kd, a in collected),
                      key=lambda e: e[0])

    # ------------------------------------------------------------------ PyTorch exchange
    @classmethod
    def from_torch(cls, module):
        """Build a network with the weights of a ``torch.nn.LSTM``, ``GRU`` or ``RNN``.

        Any ``num_layers``, ``bidirectional`` and ``batch_first`` (inputs here are always
        ``(sample, time, feature)``); float32 or float64 weights.  ``proj_size`` and the ReLU
        RNN are not supported.

        Parameters
        ----------
        module : torch.nn.LSTM, torch.nn.GRU or torch.nn.RNN
            The PyTorch layer whose weights are copied.

        Returns
        -------
        RecurrentNetwork
        """
        return torch_interop.from_torch(cls, module)

    def to_torch_state_dict(self):
        """Return the recurrent weights as a PyTorch ``state_dict``.

        Returns
        -------
        OrderedDict of str -> torch.Tensor
            For an ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN`` with the same sizes (the head is
            excluded).
        """
        return torch_interop.to_torch_state_dict(self.cell, self._views)

    def __repr__(self):
        return (f"RecurrentNetwork(input_size={self.input_size}, hidden_size={self.hidden_size}, "
                f"num_layers={self.num_layers}, cell={self.cell!r}, "
                f"bidirectional={self.bidirectional}, output_size={self.output_size}, "
                f"dtype={self.dtype.name!r})")


def _gather_states(states, chunks, shape, dtype):
    """``(h, c)`` of shape ``shape`` (layers, B, H) from per-sub-batch ``(h, c)`` pairs
    (:meth:`~seqlstm.network.stack.Stack.states_at`); ``c`` None for cells without one."""
    h = np.empty(shape, dtype)
    c = None if states[0][1] is None else np.empty(shape, dtype)
    for (hk, ck), (b0, b1) in zip(states, chunks):
        h[:, b0:b1] = hk
        if c is not None:
            c[:, b0:b1] = ck
    return h, c


class _GivenGradients:
    """The top-layer output gradient function of :meth:`RecurrentNetwork.vjp` for
    :func:`~seqlstm.network.tbptt.stack_gradient`: the user's gradients with respect to the
    outputs ``gs`` (per sub-batch, time-major), through the head's backward when there is one
    (accumulating the head's gradient into ``grads``)."""

    per_step = True

    def __init__(self, gs, head, grads, ws):
        self.gs, self.head, self.grads, self.ws = gs, head, grads, ws

    def _through_head(self, c, top, g):
        gr = self.grads[c]
        return objective.head_backward(top, g, self.head[0], gr["head_weight"], gr["head_bias"])

    def __call__(self, tops, layers):
        if self.head is None:
            return self.gs
        return tuple(self._through_head(c, top, g)
                     for c, (top, g) in enumerate(zip(tops, self.gs)))

    def window(self, tops, w0, s0, tc):
        """The gradients of the window of steps ``w0..tc`` (top outputs ``tops``), zero
        before ``s0``."""
        douts = []
        for c, (top, g) in enumerate(zip(tops, self.gs)):
            dout = self.ws.buf((c, "window dout"), top.shape, zero=True)
            gw = g[s0:tc + 1]
            dout[s0 - w0:] = (gw if self.head is None
                              else self._through_head(c, top[s0 - w0:], gw))
            douts.append(dout)
        return tuple(douts)
