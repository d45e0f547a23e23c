r"""Linear recurrences and the layers built on them: minGRU and minLSTM.

A recurrence that is *linear in the state*,

.. math::
    h_t = a_t \odot h_{t-1} + b_t, \qquad t = 1, \dots, T,

with coefficients :math:`a_t, b_t` computed from the inputs alone, can be evaluated in three ways
that give the same numbers:

* :func:`scan_loop` - the recurrence as written, :math:`T` steps one after another;
* :func:`scan_log` - all steps at once in log space (Heinsen 2023):
  :math:`h_t = A_t \,(h_0 + \sum_{s \le t} b_s / A_s)` with :math:`A_t = \prod_{r \le t} a_r`,
  computed as ``exp(a* + logcumsumexp(log b - a*))``, ``a* = cumsum(log a)``; ``b`` of either
  sign is split into its positive and negative parts, so only ``a > 0`` is required;
* :func:`scan_chunked` - the sequence cut into chunks of length :math:`C`: every chunk is scanned
  from a zero state (all chunks at once), the :math:`T/C` chunk-end states are carried across
  chunks by the recurrence itself, and one elementwise correction adds each chunk's incoming
  state.

:func:`linear_recurrence` picks one of them and handles padded batches (``lengths``).
:class:`MinGRU` and :class:`MinLSTM` (Feng et al. 2024) are drop-in-shaped recurrent layers whose
gates depend on :math:`x_t` only, so that their recurrence is of this form.

Shape legend: B batch, T time, I input features, H hidden (state) size, L layers,
C chunk length, N chunks, G gates per layer (2 for minGRU, 3 for minLSTM).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

METHODS = ("loop", "log", "chunked")


# --------------------------------------------------------------------------- the recurrence


def _check_coefficients(who: str, a, b, h0, log_a=None) -> None:
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"{who}: expected {name} to be a floating-point tensor, "
                            f"got {getattr(t, 'dtype', type(t).__name__)}")
    if a.dim() != 3 or a.shape != b.shape:
        raise ValueError(f"{who}: expected a and b of the same shape (B, T, H), got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if a.size(1) == 0:
        raise ValueError(f"{who}: got a sequence of length 0; expected at least one time step")
    if h0 is not None and (not isinstance(h0, torch.Tensor)
                           or h0.shape != (a.size(0), a.size(2))):
        got = tuple(h0.shape) if isinstance(h0, torch.Tensor) else type(h0).__name__
        raise ValueError(f"{who}: expected h0 of shape (B, H) = {(a.size(0), a.size(2))}, got {got}")
    if log_a is not None and log_a.shape != a.shape:
        raise ValueError(f"{who}: expected log_a of a's shape {tuple(a.shape)}, "
                         f"got {tuple(log_a.shape)}")


def scan_loop(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """The recurrence as written: T dependent steps. a, b (B, T, H), h0 (B, H) -> h (B, T, H)."""
    _check_coefficients("scan_loop", a, b, h0)
    h = h0 if h0 is not None else a.new_zeros(a.size(0), a.size(2))  # (B, H)
    out = []
    # unbind, not a[:, t]: the backward of T index operations would write T full-size gradients
    for a_t, b_t in zip(a.unbind(1), b.unbind(1)):  # (B, H) each
        h = a_t * h + b_t
        out.append(h)
    return torch.stack(out, dim=1)  # T x (B, H) -> (B, T, H)


def _log_parts(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # log of the positive and of the negative part of x, floored at the dtype's smallest normal
    # number so that the logs stay finite (a floored entry contributes ~1e-308 or ~1e-38)
    tiny = torch.finfo(x.dtype).tiny
    return x.clamp(min=tiny).log(), (-x).clamp(min=tiny).log()


def scan_log(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None,
             log_a: torch.Tensor | None = None) -> torch.Tensor:
    """All T steps at once in log space (Heinsen 2023). Needs a > 0; b and h0 may have any sign.

    ``log_a`` (B, T, H), when given, is used instead of ``log(a)`` (a layer computes it from its
    gate logits without rounding a to 0). a, b (B, T, H), h0 (B, H) -> h (B, T, H).
    """
    _check_coefficients("scan_log", a, b, h0, log_a)
    if log_a is None:
        if bool((a <= 0).any()):
            raise ValueError("scan_log: the log-space scan needs a > 0 everywhere "
                             "(use scan_loop or scan_chunked(inner='loop') otherwise)")
        log_a = a.log()
    a_star = torch.cumsum(log_a, dim=1)  # (B, T, H): log A_t = log(a_1 ... a_t)
    if h0 is not None:  # h0 is step 0, with A_0 = 1
        b = torch.cat([h0.unsqueeze(1), b], dim=1)  # (B, 1 + T, H)
        a_star = F.pad(a_star, (0, 0, 1, 0))  # (B, 1 + T, H), log A_0 = 0
    log_pos, log_neg = _log_parts(b)  # (B, T', H) each
    h = (torch.exp(a_star + torch.logcumsumexp(log_pos - a_star, dim=1))
         - torch.exp(a_star + torch.logcumsumexp(log_neg - a_star, dim=1)))  # (B, T', H)
    return h[:, 1:] if h0 is not None else h


def scan_chunked(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None,
                 chunk: int | None = None, inner: str = "log",
                 log_a: torch.Tensor | None = None) -> torch.Tensor:
    """A scan inside chunks of length ``chunk`` (default ceil(sqrt(T))), all chunks at once, and
    the recurrence across the T/chunk chunk ends. ``inner`` is 'log' (:func:`scan_log`, needs
    a > 0) or 'loop' (:func:`scan_loop`: chunk + T/chunk dependent steps in all, any a).
    a, b (B, T, H), h0 (B, H) -> h (B, T, H)."""
    _check_coefficients("scan_chunked", a, b, h0, log_a)
    if inner not in ("log", "loop"):
        raise ValueError(f"scan_chunked: expected inner 'log' or 'loop', got {inner!r}")
    B, T, H = a.shape
    C = chunk if chunk is not None else math.ceil(math.sqrt(T))
    if isinstance(C, bool) or not isinstance(C, int) or C < 1:
        raise ValueError(f"scan_chunked: expected chunk to be a positive integer, got {chunk!r}")
    C = min(C, T)
    N = math.ceil(T / C)
    pad = N * C - T
    if inner == "log" and log_a is None:
        if bool((a <= 0).any()):
            raise ValueError("scan_chunked: inner='log' needs a > 0 everywhere (use inner='loop')")
        log_a = a.log()
    if pad:  # padded steps: a = 1, b = 0 (the state passes through unchanged)
        a = F.pad(a, (0, 0, 0, pad), value=1.0)  # (B, N*C, H)
        b = F.pad(b, (0, 0, 0, pad))
        log_a = F.pad(log_a, (0, 0, 0, pad)) if log_a is not None else None
    a_c, b_c = a.reshape(B * N, C, H), b.reshape(B * N, C, H)  # (B, N*C, H) -> (B*N, C, H)
    if inner == "log":
        la = log_a.reshape(B * N, C, H)
        local = scan_log(a_c, b_c, log_a=la)  # (B*N, C, H): each chunk from a zero state
        decay = torch.exp(torch.cumsum(la, dim=1))  # (B*N, C, H): a_1 ... a_c inside the chunk
    else:
        local = scan_loop(a_c, b_c)
        decay = torch.cumprod(a_c, dim=1)
    local, decay = local.view(B, N, C, H), decay.view(B, N, C, H)
    # across chunks: the state at each chunk's end, h_end(n) = decay_end(n) h_end(n-1) + local_end(n)
    ends = scan_loop(decay[:, :, -1], local[:, :, -1], h0)  # (B, N, H)
    first = h0.unsqueeze(1) if h0 is not None else ends.new_zeros(B, 1, H)  # (B, 1, H)
    starts = torch.cat([first, ends[:, :-1]], dim=1)  # (B, N, H): the state entering chunk n
    h = local + decay * starts.unsqueeze(2)  # (B, N, C, H) + (B, N, C, H) * (B, N, 1, H)
    return h.reshape(B, N * C, H)[:, :T]  # (B, T, H)


def _check_lengths(who: str, lengths, B: int, T: int) -> torch.Tensor:
    if not isinstance(lengths, torch.Tensor) or lengths.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"{who}: expected lengths as an integer tensor of shape (B,), "
                        f"got {getattr(lengths, 'dtype', type(lengths).__name__)}")
    if lengths.shape != (B,):
        raise ValueError(f"{who}: expected lengths of shape ({B},), got {tuple(lengths.shape)}")
    if int(lengths.min()) < 1 or int(lengths.max()) > T:
        raise ValueError(f"{who}: expected every length in [1, {T}], got values in "
                         f"[{int(lengths.min())}, {int(lengths.max())}]")
    return lengths


def linear_recurrence(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, *,
                      lengths: torch.Tensor | None = None, method: str = "loop",
                      chunk: int | None = None, inner: str | None = None,
                      log_a: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """h_t = a_t * h_{t-1} + b_t evaluated by ``method`` ('loop', 'log' or 'chunked'; for
    'chunked', ``chunk`` and ``inner`` as in :func:`scan_chunked`, ``inner`` defaulting to 'log'
    when a > 0 and to 'loop' otherwise).

    With ``lengths`` (B,), sequence i has ``lengths[i]`` real steps: beyond them the state is
    carried unchanged (a = 1, b = 0) and the outputs are 0, as `pad_packed_sequence` pads.
    Returns the outputs (B, T, H) and the final state h_n (B, H) (each sequence's last real step).
    """
    if method not in METHODS:
        raise ValueError(f"linear_recurrence: expected method in {METHODS}, got {method!r}")
    _check_coefficients("linear_recurrence", a, b, h0, log_a)
    mask = None
    if lengths is not None:
        B, T, _ = a.shape
        lengths = _check_lengths("linear_recurrence", lengths, B, T)
        steps = torch.arange(T, device=a.device)
        mask = (steps.unsqueeze(0) < lengths.to(a.device).unsqueeze(1)).unsqueeze(2)  # (B, T, 1)
        a = torch.where(mask, a, torch.ones_like(a))
        b = torch.where(mask, b, torch.zeros_like(b))
        log_a = torch.where(mask, log_a, torch.zeros_like(log_a)) if log_a is not None else None
    if method == "loop":
        h = scan_loop(a, b, h0)
    elif method == "log":
        h = scan_log(a, b, h0, log_a=log_a)
    else:
        if inner is None:
            inner = "log" if log_a is not None or bool((a > 0).all()) else "loop"
        h = scan_chunked(a, b, h0, chunk=chunk, inner=inner, log_a=log_a)
    h_n = h[:, -1]  # (B, H): padded steps carried the last real state to the end
    if mask is not None:
        h = h * mask  # (B, T, H) * (B, T, 1): zeros on padding
    return h, h_n


# --------------------------------------------------------------------------- the layers


class _LinearRecurrentLayer(nn.Module):
    """Parameters, input handling and layer stacking shared by MinGRU and MinLSTM."""

    num_gates = 2

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, method: str = "loop", chunk: int | None = None,
                 inner: str = "log", bidirectional: bool = False, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name}: expected {what} to be a positive integer, got {v!r}")
        if bidirectional:
            raise ValueError(f"{name}: bidirectional=True is not supported (one direction only)")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, False
        self.method, self.chunk, self.inner = method, chunk, inner
        self._check_method()
        kw = {"device": device, "dtype": dtype}
        G, H = self.num_gates, hidden_size
        for layer in range(num_layers):
            I = input_size if layer == 0 else H
            setattr(self, f"weight_ih_l{layer}", nn.Parameter(torch.empty(G * H, I, **kw)))
            if bias:
                setattr(self, f"bias_ih_l{layer}", nn.Parameter(torch.empty(G * H, **kw)))
            else:
                self.register_parameter(f"bias_ih_l{layer}", None)
        self.reset_parameters()

    def _check_method(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"{type(self).__name__}: expected method in {METHODS}, "
                             f"got {self.method!r}")
        if self.inner not in ("log", "loop"):
            raise ValueError(f"{type(self).__name__}: expected inner 'log' or 'loop', "
                             f"got {self.inner!r}")

    def reset_parameters(self) -> None:
        k = 1.0 / math.sqrt(self.hidden_size)  # torch's recurrent init: U(-1/sqrt(H), 1/sqrt(H))
        for p in self.parameters():
            nn.init.uniform_(p, -k, k)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.batch_first:
            s += ", batch_first=True"
        return s + f", method={self.method!r}"

    def coefficients(self, gates: torch.Tensor):
        """(a, b, log a), each (B, T, H), from the gate pre-activations (B, T, G*H)."""
        raise NotImplementedError

    def forward(self, input, hx: torch.Tensor | None = None, lengths: torch.Tensor | None = None):
        """input (T, B, I), (B, T, I) with batch_first, (T, I) unbatched, or a PackedSequence;
        hx: the initial state h0 (L, B, H) ((L, H) unbatched), zeros if None; lengths (B,):
        real steps per sequence (not with a PackedSequence). Returns (output, h_n) as
        `torch.nn.GRU` does: output (T, B, H) / (B, T, H) / PackedSequence, h_n (L, B, H)."""
        name = type(self).__name__
        self._check_method()
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise ValueError(f"{name}: a PackedSequence carries its lengths; got lengths too")
            x, lengths = pad_packed_sequence(input, batch_first=True)  # (B, T, I), (B,)
            batched = True
        else:
            if not isinstance(input, torch.Tensor):
                raise TypeError(f"{name}: expected input to be a torch.Tensor or PackedSequence, "
                                f"got {type(input).__name__}")
            if input.dim() not in (2, 3):
                raise ValueError(f"{name}: expected input of 2 (unbatched) or 3 (batched) "
                                 f"dimensions, got {input.dim()} with shape {tuple(input.shape)}")
            batched = input.dim() == 3
            if not batched:  # (T, I), whatever batch_first says, as in torch.nn.GRU
                x = input.unsqueeze(0)  # (1, T, I)
            else:
                x = input if self.batch_first else input.transpose(0, 1)  # (B, T, I)
        w = self.weight_ih_l0
        if not x.is_floating_point() or x.dtype != w.dtype:
            raise TypeError(f"{name}: expected a floating-point input of the parameters' dtype "
                            f"{w.dtype}, got {x.dtype}")
        if x.size(-1) != self.input_size:
            raise ValueError(f"{name}: expected input of size {self.input_size} in its last "
                             f"dimension, got {x.size(-1)}")
        B, T, _ = x.shape
        if T == 0 or B == 0:
            raise ValueError(f"{name}: expected at least one sequence of at least one step, "
                             f"got input of shape {tuple(x.shape)}")
        if lengths is not None:
            lengths = _check_lengths(name, lengths, B, T)
        L, H = self.num_layers, self.hidden_size
        if hx is not None:
            want = (L, B, H) if batched else (L, H)
            if not isinstance(hx, torch.Tensor) or tuple(hx.shape) != want:
                got = tuple(hx.shape) if isinstance(hx, torch.Tensor) else type(hx).__name__
                raise ValueError(f"{name}: expected hx (the initial state) of shape {want} "
                                 f"(num_layers, B, H), got {got}")
            if hx.dtype != x.dtype:
                raise TypeError(f"{name}: expected hx of dtype {x.dtype}, got {hx.dtype}")
            hx = hx if batched else hx.unsqueeze(1)  # (L, B, H)
        finals = []
        for layer in range(L):
            w_ih = getattr(self, f"weight_ih_l{layer}")
            b_ih = getattr(self, f"bias_ih_l{layer}")
            gates = F.linear(x, w_ih, b_ih)  # (B, T, I) @ (I, G*H) -> (B, T, G*H): all steps at once
            a, b, log_a = self.coefficients(gates)  # (B, T, H) each
            x, h_n = linear_recurrence(a, b, hx[layer] if hx is not None else None,
                                       lengths=lengths, method=self.method, chunk=self.chunk,
                                       inner=self.inner, log_a=log_a)  # (B, T, H), (B, H)
            finals.append(h_n)
        h_n = torch.stack(finals)  # (L, B, H)
        if packed:
            out = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            return out, h_n
        if not batched:
            return x.squeeze(0), h_n.squeeze(1)  # (T, H), (L, H)
        return (x if self.batch_first else x.transpose(0, 1)), h_n  # (B, T, H) or (T, B, H)


class MinGRU(_LinearRecurrentLayer):
    r"""The minimal GRU (Feng et al. 2024): a GRU whose gate and candidate see only :math:`x_t`.

    .. math::
        z_t = \sigma(W_z x_t + b_z),\qquad \tilde h_t = W_h x_t + b_h,\qquad
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    so :math:`h_t = a_t \odot h_{t-1} + b_t` with :math:`a_t = 1 - z_t = \sigma(-(W_z x_t + b_z))`
    and :math:`b_t = z_t \odot \tilde h_t`; layer :math:`l > 0` reads layer :math:`l-1`'s outputs.

    Args:
        input_size, hidden_size, num_layers, bias, batch_first: as in `torch.nn.GRU`.
        method: how the recurrence is evaluated, 'loop', 'log' or 'chunked' (see the module); all
            give the same outputs and gradients up to rounding.
        chunk: the chunk length of method='chunked' (default ceil(sqrt(T))).
        inner: how method='chunked' scans inside a chunk, 'log' (default) or 'loop'.

    Parameters: ``weight_ih_l{k}`` (2H, I or H) stacks :math:`W_z; W_h`; ``bias_ih_l{k}`` (2H,).

    Shapes: input (T, B, I) ((B, T, I) with batch_first; (T, I) unbatched; or a PackedSequence),
    hx (L, B, H) -> output (T, B, H), h_n (L, B, H). ``lengths`` (B,) marks padding in a tensor input.
    """

    num_gates = 2

    def coefficients(self, gates):
        k, h_tilde = gates.chunk(2, dim=-1)  # (B, T, H) each: z's logits and the candidate
        return torch.sigmoid(-k), torch.sigmoid(k) * h_tilde, F.logsigmoid(-k)  # 1 - z, z h~, log(1 - z)


class MinLSTM(_LinearRecurrentLayer):
    r"""The minimal LSTM (Feng et al. 2024): forget and input gates from :math:`x_t` only,
    normalised to sum to 1, and no output gate or cell state.

    .. math::
        f_t = \sigma(W_f x_t + b_f),\quad i_t = \sigma(W_i x_t + b_i),\quad
        \tilde h_t = W_h x_t + b_h,\quad
        h_t = \frac{f_t}{f_t + i_t} \odot h_{t-1} + \frac{i_t}{f_t + i_t} \odot \tilde h_t

    Args, parameters and shapes as :class:`MinGRU`, with ``weight_ih_l{k}`` (3H, I or H)
    stacking :math:`W_f; W_i; W_h`.
    """

    num_gates = 3

    def coefficients(self, gates):
        kf, ki, h_tilde = gates.chunk(3, dim=-1)  # (B, T, H) each
        log_f, log_i = F.logsigmoid(kf), F.logsigmoid(ki)
        log_norm = torch.logaddexp(log_f, log_i)  # log(f + i)
        log_a = log_f - log_norm  # log(f / (f + i))
        return log_a.exp(), (log_i - log_norm).exp() * h_tilde, log_a


class MinGRUBlock(nn.Module):
    r"""A residual block around one minGRU layer, the unit Feng et al. (2024) stack in their
    language models: a pre-norm minGRU with a residual, then a pre-norm two-layer MLP with a
    residual.

    .. math::
        u_t = x_t + \mathrm{minGRU}(\mathrm{LN}_1(x))_t,\qquad
        y_t = u_t + W_2\,\mathrm{GELU}(W_1\,\mathrm{LN}_2(u_t) + c_1) + c_2

    The recurrence stays linear in :math:`h` inside each block; the MLP and the residual put a
    nonlinearity *between* the recurrences, which is what stacking adds.

    Args:
        size: D, the width of the residual stream and of the minGRU's state.
        expansion: the MLP's hidden width is ``expansion * D`` (default 2).
        method, chunk, inner: how the minGRU evaluates its recurrence (see :class:`MinGRU`).

    Shapes: x (B, T, D) -> (B, T, D); ``lengths`` (B,) as in :class:`MinGRU`.
    """

    def __init__(self, size: int, expansion: int = 2, method: str = "loop", chunk: int | None = None,
                 inner: str = "log"):
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise ValueError(f"MinGRUBlock: expected size to be a positive integer, got {size!r}")
        if isinstance(expansion, bool) or not isinstance(expansion, int) or expansion <= 0:
            raise ValueError(f"MinGRUBlock: expected expansion to be a positive integer, "
                             f"got {expansion!r}")
        self.size = size
        self.norm1, self.norm2 = nn.LayerNorm(size), nn.LayerNorm(size)
        self.rnn = MinGRU(size, size, batch_first=True, method=method, chunk=chunk, inner=inner)
        self.mlp = nn.Sequential(nn.Linear(size, expansion * size), nn.GELU(),
                                 nn.Linear(expansion * size, size))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.size(-1) != self.size:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"MinGRUBlock: expected input (B, T, {self.size}), got {got}")
        u = x + self.rnn(self.norm1(x), lengths=lengths)[0]  # (B, T, D): the recurrence, residual
        return u + self.mlp(self.norm2(u))  # (B, T, D) -> (B, T, 2D) -> (B, T, D), residual
