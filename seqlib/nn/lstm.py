"""Long short-term memory: `LSTMCell` (one step) and `LSTM` (the layer runner over time).

Shape legend: B batch, T time, I input features, H hidden size, L layers, D directions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from seqlib.nn import lstm_fast as fast
from seqlib.nn.recurrent import RecurrentBase, RecurrentCellBase


def lstm_gates(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """The four gate activations of one LSTM step, in torch's order i, f, g, o.

    x (B, I), h (B, H) -> four (B, H): i, f, o are sigmoids in (0, 1); g, the candidate,
    is a tanh in (-1, 1).
    """
    # (B, I) @ (I, 4H) + (B, H) @ (H, 4H) -> (B, 4H)
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, dim=-1)  # 4 x (B, H)
    return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)


def lstm_cell(x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step, gates in torch's order i, f, g, o. x (B, I), h and c (B, H)."""
    h, c = state
    i, f, g, o = lstm_gates(x, h, w_ih, w_hh, b_ih, b_hh)  # 4 x (B, H)
    c = f * c + i * g  # the cell state: dc_t/dc_{t-1} = f (elementwise)
    h = o * torch.tanh(c)
    return h, c


class LSTMCell(RecurrentCellBase):
    r"""One LSTM step, drop-in for `torch.nn.LSTMCell`.

    .. math::
        i = \sigma(W_{ii} x + b_{ii} + W_{hi} h + b_{hi}),\quad
        f = \sigma(W_{if} x + b_{if} + W_{hf} h + b_{hf}),\\
        g = \tanh(W_{ig} x + b_{ig} + W_{hg} h + b_{hg}),\quad
        o = \sigma(W_{io} x + b_{io} + W_{ho} h + b_{ho}),\\
        c' = f \odot c + i \odot g,\qquad h' = o \odot \tanh(c')

    Args:
        input_size: I.  hidden_size: H.  bias: default True.
    Shapes:
        input (B, I) or (I,); hx a tuple (h, c) of (B, H) or (H,), zeros if omitted;
        returns (h', c').
    Parameters: weight_ih (4H, I), weight_hh (4H, H), bias_ih (4H,), bias_hh (4H,), rows in the
        gate order i, f, g, o.
    """

    num_gates = 4
    num_states = 2

    def forward(self, input: torch.Tensor, hx=None):
        x, state, batched = self._prepare(input, hx)
        state = lstm_cell(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return self._finish(state, batched)


class LSTM(RecurrentBase):
    r"""Multi-layer LSTM, from scratch, drop-in for `torch.nn.LSTM` (without `proj_size`).

    Each layer runs `LSTMCell`'s equations over time (gate order i, f, g, o); a layer above the
    first reads the layer below's outputs (both directions concatenated when bidirectional), with
    dropout between layers in training mode.

    Args:
        input_size: I.  hidden_size: H.  num_layers: L (default 1).  bias: default True.
        batch_first: (B, T, ...) instead of (T, B, ...) (default False).
        dropout: between layers (default 0).  bidirectional: default False.
        impl: how the layers run, same parameters and results (see `seqlib.nn.lstm_fast`): "loop"
            (default, the cell step by step), "hoisted" (input projection for all steps in one
            GEMM), "fast" (hoisted, in-place gate math and a hand-written backward), "cpp"
            ("fast" with its time loops compiled in C++; needs g++ and ninja).
    Inputs: input, (h0, c0)
        input (T, B, I), (B, T, I) with batch_first, (T, I) unbatched, or a PackedSequence.
        h0, c0 (L*D, B, H) or (L*D, H) unbatched; zeros if omitted. A single Tensor is an error.
    Outputs: output, (h_n, c_n)
        output (T, B, D*H) (or as the input is laid out); h_n, c_n (L*D, B, H).
    Parameters: weight_ih_l{k}[_reverse] (4H, I or D*H), weight_hh_l{k}[_reverse] (4H, H),
        bias_ih_l{k}[_reverse] (4H,), bias_hh_l{k}[_reverse] (4H,), as in torch.nn.LSTM.
    """

    num_gates = 4
    num_states = 2

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None, impl: str = "loop"):
        if proj_size:
            raise NotImplementedError("LSTM: proj_size is not supported by seqlib.LSTM; use torch.nn.LSTM")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device, dtype)
        self.impl = fast.check_impl("LSTM", impl)

    def cell(self, x, state, w_ih, w_hh, b_ih, b_hh):
        return lstm_cell(x, state, w_ih, w_hh, b_ih, b_hh)

    def step(self, xw, state, w_hh, b_hh):
        return fast.lstm_step(xw, state, w_hh, b_hh)

    def _run_direction(self, seq, state, weights, lengths):
        impl = fast.check_impl("LSTM", self.impl)
        if impl in ("fast", "cpp"):
            return fast.lstm_direction_fast(seq, state, weights, lengths, cpp=impl == "cpp")
        return super()._run_direction(seq, state, weights, lengths)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.impl == "loop" else s + f", impl={self.impl!r}"

def lstm_cell_no_tanh(x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """`lstm_cell` without the second tanh: h = o * c (an ablation). x (B, I), h (B, H)

    With the tanh, |h| < 1 whatever the cell holds; without it, h is as large as c,
    which can grow by up to 1 per step while the forget gate stays open.
    """
    h, c = state
    i, f, g, o = lstm_gates(x, h, w_ih, w_hh, b_ih, b_hh)  # 4 x (B, H)
    c = f * c + i * g
    return o * c, c


class NoTanhLSTM(LSTM):
    r"""`seqlib.LSTM` with :math:`h = o \odot c`, not :math:`o \odot \tanh(c)`.

    An ablation for the question "why the second tanh?": the same parameters, names,
    shapes and initialisation as `seqlib.LSTM` (and `torch.nn.LSTM`), so a seed gives
    both the same start. Args, inputs and outputs as `seqlib.LSTM`; impl "loop" or
    "hoisted" (the default: one GEMM for all steps' input projections), not "fast"
    (whose backward is the standard LSTM's).
    """

    def __init__(self, *args, impl: str = "hoisted", **kwargs):
        if impl == "fast":
            raise ValueError("NoTanhLSTM: expected impl 'loop' or 'hoisted'; 'fast' "
                             "has the standard LSTM's hand-written backward")
        super().__init__(*args, impl=impl, **kwargs)

    def cell(self, x, state, w_ih, w_hh, b_ih, b_hh):
        return lstm_cell_no_tanh(x, state, w_ih, w_hh, b_ih, b_hh)

    def step(self, xw, state, w_hh, b_hh):
        h, c = state
        gates = xw + F.linear(h, w_hh, b_hh)  # (B, 4H) + (B, H) @ (H, 4H) -> (B, 4H)
        i, f, g, o = gates.chunk(4, dim=-1)  # 4 x (B, H)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * c, c


def _lstm_modules(module) -> list:
    """The LSTM-like modules under `module` (itself included): seqlib or torch.nn LSTM/LSTMCell."""
    kinds = (LSTM, LSTMCell, torch.nn.LSTM, torch.nn.LSTMCell)  # NoTanhLSTM is an LSTM
    return [m for m in module.modules() if isinstance(m, kinds)]


@torch.no_grad()
def init_forget_bias(module: torch.nn.Module, value: float = 1.0) -> torch.nn.Module:
    """Sets each forget-gate bias of the LSTMs in `module`: b_if + b_hf = `value`.

    The forget gate's rows are the second quarter, [H, 2H), of each bias vector (gate
    order i, f, g, o). `bias_ih` gets `value` there and `bias_hh` gets 0, so the gate
    starts near sigmoid(value) (Gers et al. 2000; Jozefowicz et al. 2015 recommend 1).
    Works on seqlib and torch.nn LSTMs and LSTMCells, and on any module holding them.
    Returns `module`.
    """
    lstms = _lstm_modules(module)
    if not lstms:
        raise ValueError(f"init_forget_bias: expected an LSTM or LSTMCell (or a module "
                         f"holding one), got {type(module).__name__} without any")
    for m in lstms:
        H = m.hidden_size
        names = [n for n, _ in m.named_parameters(recurse=False)
                 if n.startswith("bias_")]
        if not names:
            raise ValueError(f"init_forget_bias: {type(m).__name__} was built with "
                             f"bias=False; it has no forget bias")
        for n in names:
            p = getattr(m, n)  # (4H,)
            p[H:2 * H] = value if n.startswith("bias_ih") else 0.0
    return module


@torch.no_grad()
def lstm_gate_trace(lstm: LSTM, input: torch.Tensor) -> dict:
    """Runs a one-layer, one-direction LSTM over `input`: every step's gates and states.

    Works for `seqlib.LSTM`, `torch.nn.LSTM` (same parameter names) and the ablation
    `NoTanhLSTM` (h = o * c). input (B, T, I) with batch_first, else (T, B, I).
    Returns a dict of tensors (B, T, H), batch first whatever the module's layout:
    'i', 'f', 'g', 'o', 'c', 'h', computed with `lstm_gates`, which the cell runs.
    """
    if lstm.num_layers != 1 or lstm.bidirectional:
        raise ValueError("lstm_gate_trace: expected a one-layer, one-direction LSTM, "
                         f"got num_layers={lstm.num_layers}, "
                         f"bidirectional={lstm.bidirectional}")
    if not isinstance(input, torch.Tensor) or input.dim() != 3:
        is_tensor = isinstance(input, torch.Tensor)
        got = tuple(input.shape) if is_tensor else type(input).__name__
        raise ValueError(f"lstm_gate_trace: expected a batched input tensor of 3 "
                         f"dimensions, got {got}")
    x = input if lstm.batch_first else input.transpose(0, 1)  # (B, T, I)
    bias = lambda name: getattr(lstm, name) if lstm.bias else None
    w = (lstm.weight_ih_l0, lstm.weight_hh_l0, bias("bias_ih_l0"), bias("bias_hh_l0"))
    squash = (lambda c: c) if isinstance(lstm, NoTanhLSTM) else torch.tanh
    B, T = x.shape[:2]
    h = c = x.new_zeros(B, lstm.hidden_size)  # (B, H)
    trace = {k: [] for k in "ifgoch"}
    for t in range(T):
        i, f, g, o = lstm_gates(x[:, t], h, *w)  # 4 x (B, H)
        c = f * c + i * g
        h = o * squash(c)
        for k, v in zip("ifgoch", (i, f, g, o, c, h)):
            trace[k].append(v)
    return {k: torch.stack(v, dim=1) for k, v in trace.items()}  # each (B, T, H)
