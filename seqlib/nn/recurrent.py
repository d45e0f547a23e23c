"""The layer runner shared by every recurrent network in `seqlib`.

A recurrent *cell* maps one input step and the previous state to the next state. This module
runs a cell over time, over stacked layers and over two directions, and accepts everything
`torch.nn.RNN`/`LSTM`/`GRU` accept: batched or unbatched tensors, `batch_first`, a
`PackedSequence` of mixed lengths, and an optional initial state. `seqlib.nn.rnn`, `seqlib.nn.lstm` and
`seqlib.nn.gru` only supply the cell function and the number of gates.

Shape legend (used in every shape comment below):
    B batch, T time, I input features, H hidden size, L layers, D directions (1 or 2),
    G gates per cell (1 for RNN, 3 for GRU, 4 for LSTM), S state tensors (1, or 2 for LSTM).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

State = tuple  # a tuple of S tensors, each (B, H); element 0 is the hidden state h


def _init_uniform(module: nn.Module) -> None:
    k = 1.0 / math.sqrt(module.hidden_size)  # torch's init: U(-1/sqrt(H), 1/sqrt(H)) for every tensor
    for p in module.parameters():
        nn.init.uniform_(p, -k, k)


def _check_positive_int(module: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{module}: expected {name} to be a positive integer, got {value!r}")


class RecurrentCellBase(nn.Module):
    """Parameters and input checks shared by RNNCell, LSTMCell and GRUCell (one time step)."""

    num_gates = 1
    num_states = 1  # 2 for LSTM: (h, c)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        _check_positive_int(name, "input_size", input_size)
        _check_positive_int(name, "hidden_size", hidden_size)
        kw = {"device": device, "dtype": dtype}
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        G, H = self.num_gates, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G * H, input_size, **kw))  # (G*H, I)
        self.weight_hh = nn.Parameter(torch.empty(G * H, H, **kw))  # (G*H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G * H, **kw))  # (G*H,)
            self.bias_hh = nn.Parameter(torch.empty(G * H, **kw))  # (G*H,)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_uniform(self)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"

    def _prepare(self, input: torch.Tensor, hx) -> tuple[torch.Tensor, State, bool]:
        """Checks input and state; returns input (B, I), state tuple of (B, H), and batchedness."""
        name = type(self).__name__
        _check_float_input(name, input, self.weight_ih)
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: expected input of 1 (unbatched) or 2 (batched) dimensions, "
                             f"got {input.dim()} with shape {tuple(input.shape)}")
        if input.size(-1) != self.input_size:
            raise ValueError(f"{name}: expected input of size {self.input_size} in its last dimension, "
                             f"got {input.size(-1)}")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)  # (B, I)
        B = x.size(0)
        if hx is None:
            zeros = x.new_zeros(B, self.hidden_size)
            return x, tuple(zeros for _ in range(self.num_states)), batched
        states = _as_state_tuple(name, hx, self.num_states)
        want = (B, self.hidden_size) if batched else (self.hidden_size,)
        out = []
        for label, s in zip(("h", "c"), states):
            if tuple(s.shape) != want:
                raise ValueError(f"{name}: expected {label} of shape {want}, got {tuple(s.shape)}")
            out.append(s if batched else s.unsqueeze(0))
        return x, tuple(out), batched

    def _finish(self, state: State, batched: bool):
        state = state if batched else tuple(s.squeeze(0) for s in state)
        return state if self.num_states > 1 else state[0]


def _check_float_input(name: str, input, weight: torch.Tensor) -> None:
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{name}: expected input to be a torch.Tensor or PackedSequence, "
                        f"got {type(input).__name__}")
    if not input.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point input tensor, got {input.dtype} "
                        f"(token ids need an nn.Embedding first)")
    if input.dtype != weight.dtype:
        raise TypeError(f"{name}: input dtype {input.dtype} does not match the parameters' dtype "
                        f"{weight.dtype}; convert one of them (e.g. module.to(torch.float64))")


def _as_state_tuple(name: str, hx, num_states: int) -> State:
    if num_states == 1:
        if not isinstance(hx, torch.Tensor):
            raise TypeError(f"{name}: expected hx to be a Tensor, got {type(hx).__name__}")
        return (hx,)
    if isinstance(hx, torch.Tensor) or not isinstance(hx, (tuple, list)) or len(hx) != num_states:
        got = "a single Tensor" if isinstance(hx, torch.Tensor) else repr(type(hx).__name__)
        raise TypeError(f"{name}: expected hx to be a tuple (h0, c0) of two Tensors, got {got}")
    return tuple(hx)


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Reverses each sequence of a time-major batch within its own length; padding stays in place.

    x: (T, B, F); lengths: (B,) or None (all sequences full length, a plain flip).
    """
    if lengths is None:
        return x.flip(0)
    T = x.size(0)
    t = torch.arange(T, device=x.device).unsqueeze(1)  # (T, 1)
    n = lengths.to(x.device).unsqueeze(0)  # (1, B)
    idx = torch.where(t < n, n - 1 - t, t)  # (T, B): step t reads step len-1-t of the same sequence
    return x.gather(0, idx.unsqueeze(2).expand_as(x))  # (T, B, F)


class RecurrentBase(nn.Module):
    """Stacked, optionally bidirectional recurrent network; subclasses supply `cell`.

    Holds the parameters with torch's names and shapes (`weight_ih_l0`, `bias_hh_l1_reverse`, ...)
    and runs the cell over time, layers and directions. See `seqlib.RNN` for the user-facing docs.
    """

    num_gates = 1
    num_states = 1
    impl = "loop"  # "hoisted": one GEMM for every step's input projection, then `step` (if defined)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        _check_positive_int(name, "input_size", input_size)
        _check_positive_int(name, "hidden_size", hidden_size)
        _check_positive_int(name, "num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: expected dropout to be a number in [0, 1], got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        D, G, H = (2 if bidirectional else 1), self.num_gates, hidden_size
        kw = {"device": device, "dtype": dtype}
        self._param_names: list[list[str]] = []  # [layer * D + direction] -> names of its 2 or 4 tensors
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else D * H
            for direction in range(D):
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                setattr(self, names[0], nn.Parameter(torch.empty(G * H, layer_in, **kw)))  # (G*H, I or D*H)
                setattr(self, names[1], nn.Parameter(torch.empty(G * H, H, **kw)))  # (G*H, H)
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    setattr(self, names[2], nn.Parameter(torch.empty(G * H, **kw)))  # (G*H,)
                    setattr(self, names[3], nn.Parameter(torch.empty(G * H, **kw)))  # (G*H,)
                self._param_names.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_uniform(self)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for attr, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, attr) != default:
                s += f", {attr}={getattr(self, attr)}"
        return s

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def weights(self, layer: int, direction: int) -> tuple:
        """(w_ih, w_hh, b_ih, b_hh) of one layer and direction; the biases are None if bias=False."""
        names = self._param_names[layer * self.num_directions + direction]
        ws = [getattr(self, n) for n in names]
        return tuple(ws) if self.bias else (ws[0], ws[1], None, None)

    def cell(self, x: torch.Tensor, state: State, w_ih, w_hh, b_ih, b_hh) -> State:
        """One time step: x (B, I_layer), state tuple of (B, H) -> new state tuple of (B, H)."""
        raise NotImplementedError

    def step(self, xw: torch.Tensor, state: State, w_hh, b_hh) -> State:
        """One time step given the hoisted input projection xw = W_ih x + b_ih (B, G*H); for impl="hoisted"."""
        raise NotImplementedError(f"{type(self).__name__}: impl='hoisted' needs a `step` method")

    # --- the runner -------------------------------------------------------------------------------

    def forward(self, input, hx=None):
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        if packed:
            _check_float_input(name, input.data, self.weight_ih_l0)
            x, lengths = pad_packed_sequence(input)  # (T, B, I) in the caller's batch order; (B,)
            batched = True
        else:
            _check_float_input(name, input, self.weight_ih_l0)
            if input.dim() not in (2, 3):
                raise ValueError(f"{name}: expected input of 2 (unbatched) or 3 (batched) dimensions, "
                                 f"got {input.dim()} with shape {tuple(input.shape)}")
            batched, lengths = input.dim() == 3, None
            if not batched:
                x = input.unsqueeze(1)  # (T, I) -> (T, 1, I)
            else:
                x = input.transpose(0, 1) if self.batch_first else input  # (T, B, I)
        if x.size(-1) != self.input_size:
            raise ValueError(f"{name}: expected input of size {self.input_size} in its last dimension, "
                             f"got {x.size(-1)}")
        if x.size(0) == 0:
            raise ValueError(f"{name}: got a sequence of length 0; expected at least one time step")
        if x.size(1) == 0:
            raise ValueError(f"{name}: got a batch of size 0; expected at least one sequence")
        state0 = self._initial_state(hx, x, batched)  # S tensors, each (L*D, B, H)

        D = self.num_directions
        layer_input = x
        finals: list[list[torch.Tensor]] = [[] for _ in range(self.num_states)]
        for layer in range(self.num_layers):
            outs = []
            for direction in range(D):
                idx = layer * D + direction
                state = tuple(s[idx] for s in state0)  # S x (B, H)
                seq = layer_input if direction == 0 else reverse_padded(layer_input, lengths)
                out, state = self._run_direction(seq, state, self.weights(layer, direction), lengths)
                outs.append(out if direction == 0 else reverse_padded(out, lengths))
                for k, s in enumerate(state):
                    finals[k].append(s)
            layer_input = torch.cat(outs, dim=2) if D == 2 else outs[0]  # (T, B, D*H)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output = layer_input  # (T, B, D*H)
        final = tuple(torch.stack(f) for f in finals)  # S x (L*D, B, H)

        if packed:
            output = _repack(output, input)
        elif not batched:
            output, final = output.squeeze(1), tuple(f.squeeze(1) for f in final)  # (T, D*H), (L*D, H)
        elif self.batch_first:
            output = output.transpose(0, 1)  # (B, T, D*H)
        return output, (final if self.num_states > 1 else final[0])

    def _initial_state(self, hx, x: torch.Tensor, batched: bool) -> State:
        name = type(self).__name__
        LD, B, H = self.num_layers * self.num_directions, x.size(1), self.hidden_size
        if hx is None:
            zeros = x.new_zeros(LD, B, H)
            return tuple(zeros for _ in range(self.num_states))
        states = _as_state_tuple(name, hx, self.num_states)
        want = (LD, B, H) if batched else (LD, H)
        out = []
        for label, s in zip(("h0", "c0"), states):
            if not isinstance(s, torch.Tensor):
                raise TypeError(f"{name}: expected {label} to be a Tensor, got {type(s).__name__}")
            if tuple(s.shape) != want:
                kind = "batched" if batched else "unbatched"
                raise ValueError(f"{name}: expected {label} of shape {want} (num_layers*num_directions, "
                                 f"{'batch, ' if batched else ''}hidden_size) for {kind} input, "
                                 f"got {tuple(s.shape)}")
            if s.dtype != x.dtype:
                raise TypeError(f"{name}: expected {label} of dtype {x.dtype}, got {s.dtype}")
            out.append(s if batched else s.unsqueeze(1))  # (L*D, B, H)
        return tuple(out)

    def _run_direction(self, seq: torch.Tensor, state: State, weights: tuple,
                       lengths: torch.Tensor | None) -> tuple[torch.Tensor, State]:
        """Runs the cell over seq (T, B, I_layer) from state; returns (T, B, H) and the final state.

        With lengths, a sequence's state stops changing after its last step and its outputs past
        its end are 0, which is what `torch.nn` returns for a PackedSequence.
        """
        T = seq.size(0)
        mask = None
        if lengths is not None:
            t = torch.arange(T).unsqueeze(1)  # (T, 1)
            mask = (t < lengths.unsqueeze(0)).to(seq.device).unsqueeze(2)  # (T, B, 1)
        if self.impl == "hoisted":
            w_ih, w_hh, b_ih, b_hh = weights
            xw = F.linear(seq, w_ih, b_ih)  # (T, B, I) @ (I, G*H) -> (T, B, G*H): all steps, one GEMM
            xws = xw.unbind(0)  # T x (B, G*H); unbind, not xw[t]: the backward of T selects would
            step = lambda t, state: self.step(xws[t], state, w_hh, b_hh)  # write T full-size zero grads
        else:
            xs = seq.unbind(0)  # T x (B, I)
            step = lambda t, state: self.cell(xs[t], state, *weights)
        outputs = []
        for t in range(T):
            new = step(t, state)  # S x (B, H)
            if mask is not None:
                m = mask[t]  # (B, 1)
                new = tuple(torch.where(m, n, s) for n, s in zip(new, state))
                outputs.append(new[0] * m)  # zero past the end, as torch does
            else:
                outputs.append(new[0])
            state = new
        return torch.stack(outputs), state  # (T, B, H)


def _repack(output: torch.Tensor, like: PackedSequence) -> PackedSequence:
    """Packs a time-major output (T, B, F) in the caller's batch order the way `like` is packed."""
    if like.sorted_indices is not None:
        output = output.index_select(1, like.sorted_indices.to(output.device))  # longest first
    steps = [output[t, :n] for t, n in enumerate(like.batch_sizes.tolist())]  # each (B_t, F)
    return PackedSequence(torch.cat(steps), like.batch_sizes, like.sorted_indices, like.unsorted_indices)
