"""Fast paths for `seqlib.LSTM`: the same equations, organised the way cuDNN organises them.

`seqlib.LSTM(..., impl=...)` selects one; parameters, state_dict and results are the same:

* ``"loop"`` (default, `seqlib.nn.recurrent`): the cell, step by step, autograd recording every op.
* ``"hoisted"``: the input projection W_ih x_t + b_ih does not depend on the recurrence, so the
  runner computes it for all T steps in ONE GEMM before the loop (`lstm_step` is what is left
  per step). T small GEMMs become one large one; the loop still records ~10 autograd nodes a step.
* ``"fast"`` (`LSTMFunction`): hoisted, plus a hand-written backward. Per step, forward and
  backward run only the recurrent GEMM and the pointwise gate math, in place, into buffers
  allocated once for all T steps; autograd sees ONE node per layer and direction, and the weight
  gradients become one GEMM each over all T steps after the backward loop.
* ``"cpp"`` (`LSTMCppFunction`): ``"fast"`` with the time loop itself in C++ (`csrc/lstm_loop.cpp`,
  compiled on first use with `torch.utils.cpp_extension` and cached): per step one ATen GEMM and
  one fused pass over the gates, forward and backward, so no Python runs per step. Where no
  compiler or ninja is found, `cpp_extension()` says why and impl="cpp" raises with that reason.
* on CUDA, `cuda_graphed` captures the whole forward and backward of a module (every kernel of
  the T-step loop) once and replays it with one launch.

What none of them removes: step t needs h_{t-1}, so every implementation, cuDNN included, runs T
dependent steps one after the other. (Hoisting the input GEMM out of the loop and batching the
weight-gradient GEMMs over all steps are among the optimisations of Appleyard et al. 2016;
keeping W_hh on chip across steps, cuDNN's "persistent" kernels, is Diamos et al. 2016.)

Shape legend: T time, B batch, I input features, H hidden size, 4H the gates i, f, g, o.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

IMPLS = ("loop", "hoisted", "fast", "cpp")


def check_impl(module: str, impl) -> str:
    if impl not in IMPLS:
        raise ValueError(f"{module}: expected impl to be one of {IMPLS}, got {impl!r}")
    return impl


def lstm_step(xw, state, w_hh, b_hh=None):
    """One LSTM step given the hoisted input projection xw = W_ih x_t + b_ih, (B, 4H)."""
    h, c = state
    gates = xw + F.linear(h, w_hh, b_hh)  # (B, 4H) + (B, H) @ (H, 4H) -> (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)  # 4 x (B, H)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    h = o * torch.tanh(c)
    return h, c


def _save_and_return(ctx, saved: tuple, has_bias: bool):
    """The forward's end, shared by both loops: save what the backward needs and return every
    h_t, and h_n, c_n after step last[b] of each sequence (the final step when last is None)."""
    x, hs, cs, last = saved[0], saved[4], saved[5], saved[7]
    ctx.save_for_backward(*saved)
    ctx.has_bias = has_bias
    ctx.set_materialize_grads(False)
    T = x.size(0)
    if last is None:
        return hs[1:], hs[T].clone(), cs[T].clone()
    batch = torch.arange(x.size(1), device=x.device)
    return hs[1:], hs[last + 1, batch], cs[last + 1, batch]


def _incoming(dhs, dh_n, dc_n, last, like):
    """dL/dh_t from the outputs (zeros when none) with dL/dh_n added at each sequence's last step,
    and dL/dc_t from outside ((T, B, H) when sequences end at different steps, else None)."""
    dhs = torch.zeros_like(like) if dhs is None else dhs  # (T, B, H)
    dcs = None
    if last is not None:
        batch = torch.arange(like.size(1), device=like.device)
        if dh_n is not None:
            dhs = dhs.index_put((last, batch), dh_n, accumulate=True)  # a new tensor
        if dc_n is not None:
            dcs = torch.zeros_like(like)
            dcs[last, batch] = dc_n
    return dhs, dcs


def _weight_grads(ctx, dG, x, w_ih, hs, dh0, dc0):
    """The backward's end, shared by both loops: with the pre-activation gradients dG (T, B, 4H)
    of every step, the input and weight gradients are one GEMM each over all T steps."""
    T, B, I = x.shape
    H = hs.size(-1)
    dG2 = dG.view(T * B, 4 * H)
    dx = dw_ih = dw_hh = db = None
    if ctx.needs_input_grad[0]:
        dx = (dG2 @ w_ih).view(T, B, I)  # (T*B, 4H) @ (4H, I) -> (T*B, I)
    if ctx.needs_input_grad[3]:
        dw_ih = dG2.t() @ x.reshape(T * B, I)  # (4H, T*B) @ (T*B, I) -> (4H, I)
    if ctx.needs_input_grad[4]:
        dw_hh = dG2.t() @ hs[:-1].reshape(T * B, H)  # (4H, T*B) @ (T*B, H) -> (4H, H)
    if ctx.has_bias and ctx.needs_input_grad[5]:
        db = dG2.sum(0)  # (4H,)
    return dx, dh0, dc0, dw_ih, dw_hh, db, None


class LSTMFunction(torch.autograd.Function):
    """One LSTM layer and direction over T steps with a hand-written backward.

    apply(x (T, B, I), h0 (B, H), c0 (B, H), w_ih (4H, I), w_hh (4H, H), b (4H,) or None, last)
    -> hs (T, B, H) every step's h_t; h_n, c_n (B, H) the state after step last[b] of sequence b
    (last: (B,) long, or None for the final step T-1). b is b_ih + b_hh.
    First-order gradients only (no double backward).
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b, last=None):
        T, B, I = x.shape
        H = w_hh.size(1)
        x2 = x.reshape(T * B, I)
        # the hoisted input projection, one GEMM: (T*B, I) @ (I, 4H) -> (T*B, 4H)
        gates = torch.addmm(b, x2, w_ih.t()) if b is not None else x2 @ w_ih.t()
        gates = gates.view(T, B, 4 * H)  # pre-activations; overwritten in place by the activations
        hs = x.new_empty(T + 1, B, H)  # hs[0] = h0, hs[t+1] = h_t
        cs = x.new_empty(T + 1, B, H)
        tcs = x.new_empty(T, B, H)  # tanh(c_t), kept for the backward
        hs[0], cs[0] = h0, c0
        w_hh_t = w_hh.t()  # (H, 4H)
        G, IF, Gg, O = gates.unbind(0), gates[..., :2 * H].unbind(0), gates[..., 2 * H:3 * H].unbind(0), \
            gates[..., 3 * H:].unbind(0)
        I_, F_ = gates[..., :H].unbind(0), gates[..., H:2 * H].unbind(0)
        Hs, Cs, TCs = hs.unbind(0), cs.unbind(0), tcs.unbind(0)
        for t in range(T):
            torch.addmm(G[t], Hs[t], w_hh_t, out=G[t])  # (B, 4H) += (B, H) @ (H, 4H): the one dependent GEMM
            IF[t].sigmoid_()
            Gg[t].tanh_()
            O[t].sigmoid_()
            torch.mul(F_[t], Cs[t], out=Cs[t + 1])  # c_t = f * c_{t-1} + i * g
            Cs[t + 1].addcmul_(I_[t], Gg[t])
            torch.tanh(Cs[t + 1], out=TCs[t])
            torch.mul(O[t], TCs[t], out=Hs[t + 1])  # h_t = o * tanh(c_t)
        return _save_and_return(ctx, (x, w_ih, w_hh, gates, hs, cs, tcs, last), b is not None)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dhs, dh_n, dc_n):
        x, w_ih, w_hh, gates, hs, cs, tcs, last = ctx.saved_tensors
        T, B, _ = x.shape
        H = w_hh.size(1)
        i, f, g, o = gates.chunk(4, dim=2)  # 4 x (T, B, H), activations
        dhs, dcs = _incoming(dhs, dh_n, dc_n, last, tcs)  # (T, B, H), (T, B, H) or None
        # Everything that does not depend on the incoming gradient, for all T at once:
        # d pre-activation = (dc * P) for i, f, g and (dh * Q) for o; dc receives dh * A through h.
        P = x.new_empty(T, B, 3, H)
        torch.mul(g, i * (1 - i), out=P[:, :, 0])
        torch.mul(cs[:-1], f * (1 - f), out=P[:, :, 1])
        torch.mul(i, 1 - g * g, out=P[:, :, 2])
        Q = tcs * o * (1 - o)  # (T, B, H)
        A = o * (1 - tcs * tcs)  # (T, B, H)
        dG = x.new_empty(T, B, 4 * H)  # d pre-activations of all gates
        dG3 = dG[..., :3 * H].unflatten(2, (3, H)).unbind(0)  # T x (B, 3, H) views
        dGo, Pt, Qt, At, Ft = dG[..., 3 * H:].unbind(0), P.unbind(0), Q.unbind(0), A.unbind(0), f.unbind(0)
        dGt, dHs = dG.unbind(0), dhs.unbind(0)
        dCs = dcs.unbind(0) if dcs is not None else None
        dh = dHs[T - 1]  # dL/dh_t, all paths
        if last is None and dh_n is not None:
            dh = dh + dh_n
        if dCs is not None:
            dc = dCs[T - 1].clone()
        else:  # dL/dc_t from c_{t+1}
            dc = dc_n.clone() if dc_n is not None and last is None else torch.zeros_like(dh)
        for t in range(T - 1, -1, -1):
            dc.addcmul_(dh, At[t])  # through h_t = o * tanh(c_t)
            torch.mul(Pt[t], dc.unsqueeze(1), out=dG3[t])  # (B, 3, H) * (B, 1, H): di, df, dg
            torch.mul(Qt[t], dh, out=dGo[t])  # do
            dc = dc * Ft[t]  # to c_{t-1}
            if t > 0:
                dh = torch.addmm(dHs[t - 1], dGt[t], w_hh)  # (B, 4H) @ (4H, H) -> (B, H), plus dL/dy_{t-1}
                if dCs is not None:
                    dc.add_(dCs[t - 1])
            else:  # dL/dh0, one GEMM that h0 without requires_grad does not need
                dh = dGt[0] @ w_hh if ctx.needs_input_grad[1] else None
        return _weight_grads(ctx, dG, x, w_ih, hs, dh, dc)


_CPP: tuple | None = None  # (module or None, reason or None), once per process


def cpp_extension():
    """The compiled time loop: (module, None), or (None, why it is not available). Compiled on
    the first call with `torch.utils.cpp_extension.load` (g++ and ninja; cached on disk by torch,
    so later processes only load it)."""
    global _CPP
    if _CPP is None:
        try:
            from pathlib import Path

            from torch.utils.cpp_extension import load, verify_ninja_availability

            verify_ninja_availability()
            src = Path(__file__).resolve().parent / "csrc" / "lstm_loop.cpp"
            mod = load(name="seqlib_lstm_loop", sources=[str(src)],
                       extra_cflags=["-O3", "-march=native"],
                       verbose=False)
            _CPP = (mod, None)
        except Exception as e:  # no compiler, no ninja, no headers: say which
            first = (str(e).strip().splitlines() or [""])[0][:200]
            _CPP = (None, f"no compiled time loop here ({type(e).__name__}: {first})")
    return _CPP


def _cpp():
    mod, why = cpp_extension()
    if mod is None:
        raise RuntimeError(f"LSTM: impl='cpp' needs the compiled time loop: {why}")
    return mod


class LSTMCppFunction(torch.autograd.Function):
    """`LSTMFunction` with both time loops in C++ (`csrc/lstm_loop.cpp`): the same arguments,
    results and gradients. The hoisted input GEMM and the weight-gradient GEMMs stay one call each
    (they are not per step)."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b, last=None):
        T, B, I = x.shape
        H = w_hh.size(1)
        x2 = x.reshape(T * B, I)
        # the hoisted input projection, one GEMM: (T*B, I) @ (I, 4H) -> (T*B, 4H)
        gates = torch.addmm(b, x2, w_ih.t()) if b is not None else x2 @ w_ih.t()
        gates = gates.view(T, B, 4 * H).contiguous()  # overwritten in C++ with the activations
        hs, cs, tcs = _cpp().forward_loop(gates, h0, c0, w_hh.contiguous())  # (T+1, B, H) x2, (T, B, H)
        return _save_and_return(ctx, (x, w_ih, w_hh, gates, hs, cs, tcs, last), b is not None)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dhs, dh_n, dc_n):
        x, w_ih, w_hh, gates, hs, cs, tcs, last = ctx.saved_tensors
        T = x.size(0)
        dhs, dcs = _incoming(dhs, dh_n, dc_n, last, tcs)
        dhs = dhs.contiguous()
        dh = dhs[T - 1]
        if last is None and dh_n is not None:
            dh = dh + dh_n
        if dcs is not None:
            dc = dcs[T - 1]
        else:
            dc = dc_n if dc_n is not None and last is None else torch.zeros_like(dh)
        dG, dh0, dc0 = _cpp().backward_loop(gates, cs, tcs, dhs, dcs, dh, dc, w_hh.contiguous(),
                                            bool(ctx.needs_input_grad[1]))
        return _weight_grads(ctx, dG, x, w_ih, hs, dh0 if ctx.needs_input_grad[1] else None, dc0)


def lstm_direction_fast(seq, state, weights, lengths=None, cpp: bool = False):
    """Drop-in for `RecurrentBase._run_direction` with `LSTMFunction` (or, with ``cpp``,
    `LSTMCppFunction`): seq (T, B, I) -> (T, B, H), (h, c).

    With lengths (packed input), steps past a sequence's end only compute values nobody reads: the
    outputs there are zeroed and the final state is taken at each sequence's last step, so their
    gradient is zero, as in torch.nn.
    """
    w_ih, w_hh, b_ih, b_hh = weights
    b = None if b_ih is None else b_ih + b_hh  # autograd hands both biases the same gradient
    last = None if lengths is None else (lengths - 1).to(seq.device)  # (B,)
    fn = LSTMCppFunction if cpp else LSTMFunction
    hs, h_n, c_n = fn.apply(seq, state[0], state[1], w_ih, w_hh, b, last)  # (T, B, H), 2 x (B, H)
    if lengths is None:
        return hs, (h_n, c_n)
    T = hs.size(0)
    mask = (torch.arange(T, device=hs.device).unsqueeze(1) < lengths.to(hs.device)).unsqueeze(2)  # (T, B, 1)
    return hs * mask, (h_n, c_n)


def cuda_graphed(module, sample_input):
    """`module` (e.g. a seqlib.LSTM with impl="fast") captured as CUDA graphs, forward and backward.

    Calls must pass a tensor of sample_input's shape, dtype and requires_grad (and no hx): the
    graph replays the captured kernels on fixed buffers with one launch, removing the per-kernel
    launch cost of the T-step loop. CUDA only; see torch.cuda.make_graphed_callables.
    """
    if not (isinstance(sample_input, torch.Tensor) and sample_input.is_cuda):
        raise ValueError("cuda_graphed: expected a CUDA tensor as sample_input (CUDA graphs need a GPU)")
    return torch.cuda.make_graphed_callables(module, (sample_input,))
