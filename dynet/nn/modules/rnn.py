"""Recurrent layers as torch.nn: RNN, LSTM, GRU and the single-step cells.

Parameters carry torch's names, shapes, order and initialisation, so a torch state_dict
loads unchanged. Every layer runs in packed layout (see dynet.ops.rnn): a padded batch is
a packed one whose steps all have B rows. Per layer and direction: one Linear node for the
input projection of every time step, one recurrence node (ops.rnn) for the time loop.
"""
import math
import numbers
import warnings

from ... import creation
from ...ops import functions as _F
from ...ops import rnn as _rnn
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _run_layer(mode, x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0, batch_sizes, reverse):
    """One direction of one layer over packed rows x (N, in): (output, h_n[, c_n])."""
    N, B = x.shape[0], batch_sizes[0]
    if mode == "GRU":
        gx = F.linear(x, w_ih, b_ih)
        H = w_hh.shape[1]
        return _rnn.split_outputs(_rnn.GRULayer.apply(gx, w_hh, b_hh, h0, batch_sizes,
                                                      reverse), N, B, H)
    # LSTM and RNN add both biases to the input projection: one add of two small vectors
    bias = None if b_ih is None else b_ih + b_hh
    gx = F.linear(x, w_ih, bias)
    if mode == "LSTM":
        H, P = w_hh.shape[0] // 4, w_hh.shape[1]
        flat = _rnn.LSTMLayer.apply(gx, w_hh, h0, c0, w_hr, batch_sizes, reverse)
        return _rnn.split_outputs(flat, N, B, P, H)
    H = w_hh.shape[1]
    flat = _rnn.RNNLayer.apply(gx, w_hh, h0, batch_sizes, reverse, mode == "RNN_RELU")
    return _rnn.split_outputs(flat, N, B, H)


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrence behind RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1
                or isinstance(dropout, bool)):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        for name, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                shapes = [(gate_size, layer_input_size), (gate_size, real_hidden_size)]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    shapes += [(gate_size,), (gate_size,)]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    shapes.append((proj_size, hidden_size))
                    names.append("weight_hr_l{}{}")
                suffix = "_reverse" if direction == 1 else ""
                names = [n.format(layer, suffix) for n in names]
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(creation.empty(shape, **factory_kwargs)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """A no-op kept for PyTorch scripts (torch compacts cuDNN weights here)."""

    @property
    def _flat_weights(self):
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _layer_params(self, k):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of layer-direction k (None where absent)."""
        layer, direction = divmod(k, 2 if self.bidirectional else 1)
        suffix = "_reverse" if direction == 1 else ""

        def get(name):
            return getattr(self, f"{name}_l{layer}{suffix}", None)
        return (get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"),
                get("weight_hr"))

    def _name(self):
        return "RNN" if self.mode.startswith("RNN") else self.mode

    def _expected_hidden_size(self, batch):
        d = 2 if self.bidirectional else 1
        return (self.num_layers * d, batch, self.proj_size or self.hidden_size)

    def _check_input(self, data, packed):
        w = self._flat_weights[0]
        if data.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({data.dtype}) does not match weight dtype "
                             f"({w.dtype}). Convert input: input.to({w.dtype}), or convert "
                             f"model: model.to({data.dtype})")
        expected = 2 if packed else 3
        if data.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {data.dim()}")
        if self.input_size != data.shape[-1]:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {data.shape[-1]}")

    @staticmethod
    def _check_hidden(hx, expected, msg="Expected hidden size {}, got {}"):
        if tuple(hx.shape) != expected:
            raise RuntimeError(msg.format(expected, list(hx.shape)))

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        sorted_indices = unsorted_indices = None
        if packed:
            data, batch_sizes_t, sorted_indices, unsorted_indices = input
            batch_sizes = tuple(int(b) for b in batch_sizes_t.tolist())
            batched = True
        else:
            if input.dim() not in (2, 3):
                tail = " tensor instead" if self._name() == "RNN" else " instead"
                raise ValueError(f"{self._name()}: Expected input to be 2D or 3D, got "
                                 f"{input.dim()}D{tail}")
            batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            if not batched:
                input = input.unsqueeze(batch_dim)
            data = input.transpose(0, 1) if self.batch_first else input
            T, B = data.shape[0], data.shape[1]
            if T == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
            batch_sizes = (B,) * T
        hx = self._prepare_hidden(hx, data, packed, batched, batch_sizes, sorted_indices)
        self._check_input(data, packed)
        if not packed:
            data = data.reshape(T * B, data.shape[2])
        out, h_n, c_n = self._run(data, hx, batch_sizes)
        if packed:
            hidden = (h_n, c_n) if is_lstm else h_n
            return PackedSequence(out, batch_sizes_t, sorted_indices, unsorted_indices), \
                self._permute(hidden, unsorted_indices)
        out = out.reshape(T, B, out.shape[1])
        if self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(batch_dim)
            h_n = h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        return out, ((h_n, c_n) if is_lstm else h_n)

    def _prepare_hidden(self, hx, data, packed, batched, batch_sizes, sorted_indices):
        """Checks hx as torch does, adds the batch axis of unbatched input, sorts packed."""
        if hx is None:
            return None
        is_lstm = self.mode == "LSTM"
        if not packed:
            dims = (hx[0].dim(), hx[1].dim()) if is_lstm else (hx.dim(),)
            want = 3 if batched else 2
            if any(d != want for d in dims):
                kind = "batched 3-D" if batched else "unbatched 2-D"
                if is_lstm:
                    raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D "
                                       f"but got ({dims[0]}-D, {dims[1]}-D) tensors")
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                                   f"{dims[0]}-D tensor")
            if not batched:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1)) if is_lstm else hx.unsqueeze(1)
        expected = self._expected_hidden_size(batch_sizes[0])
        if is_lstm:
            self._check_hidden(hx[0], expected, "Expected hidden[0] size {}, got {}")
            self._check_hidden(hx[1], expected[:2] + (self.hidden_size,),
                               "Expected hidden[1] size {}, got {}")
        else:
            self._check_hidden(hx, expected)
        return self._permute(hx, sorted_indices)

    @staticmethod
    def _permute(hidden, indices):
        if indices is None:
            return hidden
        if isinstance(hidden, tuple):
            return tuple(h.index_select(1, indices) for h in hidden)
        return hidden.index_select(1, indices)

    def _run(self, x, hx, batch_sizes):
        """All layers over packed rows x: (output (N, D * P), h_n, c_n or None)."""
        is_lstm = self.mode == "LSTM"
        h0 = c0 = None
        if hx is not None:
            h0, c0 = hx if is_lstm else (hx, None)
        d_count = 2 if self.bidirectional else 1
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(d_count):
                k = layer * d_count + direction
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_params(k)
                res = _run_layer(self.mode, x, w_ih, w_hh, b_ih, b_hh, w_hr,
                                 None if h0 is None else h0[k],
                                 None if c0 is None else c0[k], batch_sizes, direction == 1)
                outs.append(res[0])
                hs.append(res[1])
                if is_lstm:
                    cs.append(res[2])
            x = outs[0] if d_count == 1 else _F.cat(outs, dim=1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        return x, _F.stack(hs), (_F.stack(cs) if is_lstm else None)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh|relu(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.__dict__["nonlinearity"] = args[3]
            args = args[:3] + args[4:]
        else:
            self.__dict__["nonlinearity"] = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory, gates [i, f, g, o]; proj_size > 0 projects h to proj_size."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit, gates [r, z, n]."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    """weight_ih (chunks*H, in), weight_hh (chunks*H, H), bias_ih, bias_hh (chunks*H)."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(creation.empty((num_chunks * hidden_size, input_size),
                                                  **factory_kwargs))
        self.weight_hh = Parameter(creation.empty((num_chunks * hidden_size, hidden_size),
                                                  **factory_kwargs))
        if bias:
            self.bias_ih = Parameter(creation.empty(num_chunks * hidden_size, **factory_kwargs))
            self.bias_hh = Parameter(creation.empty(num_chunks * hidden_size, **factory_kwargs))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _batched(self, input, states):  # noqa: A002
        """Checks dims as torch; returns (input, states) with a batch axis, and is_batched."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        for idx, s in enumerate(states):
            if s is not None and s.dim() not in (1, 2):
                what = f"hx[{idx}]" if name == "LSTMCell" else "hidden"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {s.dim()}D "
                                 "instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
            states = [None if s is None else s.unsqueeze(0) for s in states]
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        for k, s in enumerate(states):
            if s is None:
                continue
            if s.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match "
                                   f"hidden{k} batch size {s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got "
                                   f"{s.shape[1]}, expected {self.hidden_size}")
        return input, states, batched

    def _step(self, mode, input, h0, c0=None):  # noqa: A002
        return _run_layer(mode, input, self.weight_ih, self.weight_hh, self.bias_ih,
                          self.bias_hh, None, h0, c0, (input.shape[0],), False)


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = tanh|relu(x W_ih^T + b_ih + h W_hh^T + b_hh)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002
        input, (hx,), batched = self._batched(input, [hx])
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        h = self._step(mode, input, hx)[0]
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: (h', c') from x and (h, c)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):  # noqa: A002
        states = [None, None] if hx is None else list(hx)
        input, (h0, c0), batched = self._batched(input, states)
        h, _, c = self._step("LSTM", input, h0, c0)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: h' from x and h."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):  # noqa: A002
        input, (hx,), batched = self._batched(input, [hx])
        h = self._step("GRU", input, hx)[0]
        return h if batched else h.squeeze(0)
