"""Timing the LSTM implementations of `seqlib.nn.lstm_fast` against `torch.nn.LSTM` (chapter 7,
benchmarks/rnn_speed.py, runs/gpu/lstm_speed.py)."""
from __future__ import annotations

import copy
import statistics

import torch

from seqlib.nn.lstm import LSTM
from seqlib.nn.lstm_fast import cuda_graphed
from seqlib.perf.timing import compare, ratios


# --- measuring -----------------------------------------------------------------------------------

SIZES = {"cpu": dict(B=32, T=64, I=128, H=256), "h100": dict(B=64, T=256, I=256, H=512),
         "tiny": dict(B=2, T=3, I=3, H=4)}


def _lstm_twins(I, H, device, impls):
    torch.manual_seed(0)
    ref = torch.nn.LSTM(I, H).to(device)
    models = {}
    for impl in impls:
        m = LSTM(I, H, impl=impl).to(device)
        m.load_state_dict(ref.state_dict())
        models[impl] = m
    models["torch.nn.LSTM"] = ref
    return models


def lstm_timing_fns(model, x):
    """Two closures over ``model`` and input x (T, B, I): "fwd" runs the forward under no_grad,
    "fwd_bwd" the forward and the backward of out.sum() + h.sum() + c.sum() (x requires grad)."""
    xg = x.detach().clone().requires_grad_()

    def fwd():
        with torch.no_grad():
            model(x)

    def fwd_bwd():
        out, (h, c) = model(xg)
        (out.sum() + h.sum() + c.sum()).backward()

    return {"fwd": fwd, "fwd_bwd": fwd_bwd}


def benchmark_lstm(size: dict, device="cpu", *, threads: int = 1, rounds: int = 5,
                   min_run_time: float = 0.1, impls=("loop", "hoisted", "fast"),
                   graphed: bool | None = None) -> list[dict]:
    """Times seqlib.LSTM's impls and torch.nn.LSTM at one size (benchmarks/rnn_speed.py's core).

    Everything goes through `seqlib.perf.timing.compare` on ``threads`` threads: the forward (under
    no_grad) and the forward + backward of every implementation take turns for ``rounds`` rounds,
    so a burst of load on a shared machine falls on all of them; each round is the median of a
    `blocked_autorange` of ``min_run_time`` seconds. On CUDA (or with ``graphed``) a row
    "fast+graph" times impl="fast" captured with `cuda_graphed` (forward + backward only).

    Rows: impl, B, T, I, H, threads, and for kind in fwd, fwd_bwd: <kind>_ms (median over
    rounds), <kind>_iqr_ms, <kind>_rounds_ms, <kind>_ratio (median of the per-round ratios to
    torch.nn.LSTM, paired by round) and <kind>_ratios (those ratios).
    """
    device, impls = torch.device(device), list(impls)
    B, T, I, H = size["B"], size["T"], size["I"], size["H"]
    models = _lstm_twins(I, H, device, impls)
    torch.manual_seed(1)
    x = torch.randn(T, B, I, device=device)
    fns = {}
    for name, m in models.items():
        for kind, fn in lstm_timing_fns(m, x).items():
            fns[(name, kind)] = fn
    if graphed is None:
        graphed = device.type == "cuda" and "fast" in impls
    if graphed:  # make_graphed_callables replaces a module's forward: graph a copy, keep "fast" eager
        xg = x.clone().requires_grad_()
        g = cuda_graphed(copy.deepcopy(models["fast"]), xg)

        def graph_fwd_bwd():  # a graphed callable always records autograd: timed as trained only
            out, (h, c) = g(xg)
            (out.sum() + h.sum() + c.sum()).backward()

        fns[("fast+graph", "fwd_bwd")] = graph_fwd_bwd
    res = compare({f"{n} {k}": f for (n, k), f in fns.items()}, threads=threads, rounds=rounds,
                  min_run_time=min_run_time, device=device)
    names = list(dict.fromkeys(n for n, _ in fns))
    rows = []
    for name in names:
        row = {"impl": name, "B": B, "T": T, "I": I, "H": H, "threads": threads}
        for kind in ("fwd", "fwd_bwd"):
            key = f"{name} {kind}"
            if key not in res["times"]:
                continue
            t = res["times"][key]
            r = ratios(res, key, f"torch.nn.LSTM {kind}")
            row.update({f"{kind}_ms": t["median_ms"], f"{kind}_iqr_ms": t["iqr_ms"],
                        f"{kind}_rounds_ms": t["rounds_ms"], f"{kind}_ratio": statistics.median(r),
                        f"{kind}_ratios": r})
        rows.append(row)
    return rows


def count_ops(fn) -> int:
    """How many ATen operators `fn()` dispatches, forward and backward (each is at least one kernel
    launch on a GPU and one pass over its operands' memory)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.n += 1
            return func(*args, **(kwargs or {}))

    with Count():
        fn()
    return Count.n
