"""Timing the LSTM implementations of `seqlib.nn.lstm_fast` against `torch.nn.LSTM` (chapter 7,
benchmarks/rnn_speed.py, runs/gpu/lstm_speed.py)."""
from __future__ import annotations

import copy
import statistics

import torch

from seqlib.nn.lstm import LSTM
from seqlib.nn.lstm_fast import cuda_graphed
from seqlib.perf.timing import compare, paired, ratios


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
                   graphed: bool | None = None, protocol: bool = False, twin: bool = False,
                   budget_s: float | None = 120.0, seed: int = 0, timing: dict | None = None,
                   max_load: float | None = None) -> list[dict]:
    """Times seqlib.LSTM's impls and torch.nn.LSTM at one size (benchmarks/rnn_speed.py's core).

    Everything goes through `seqlib.perf.timing.compare` on ``threads`` threads: the forward (under
    no_grad) and the forward + backward of every implementation take turns for ``rounds`` rounds,
    so a burst of load on a shared machine falls on all of them; each round is the median of a
    `blocked_autorange` of ``min_run_time`` seconds. On CUDA (or with ``graphed``) a row
    "fast+graph" times impl="fast" captured with `cuda_graphed` (forward + backward only).

    Rows: impl, B, T, I, H, threads, and for kind in fwd, fwd_bwd: <kind>_ms (median over
    rounds), <kind>_iqr_ms, <kind>_rounds_ms, <kind>_ratio (median of the per-round ratios to
    torch.nn.LSTM, paired by round) and <kind>_ratios (those ratios).

    ``protocol=True`` times through `seqlib.perf.timing.paired` instead (the claim protocol: at
    least 10 rounds of at least 10 calls in random order, load-gated rounds dropped, the
    multi-thread run skipped when the cores are busy); ``twin=True`` adds a row
    "torch.nn.LSTM (copy)", a second `torch.nn.LSTM` with the same weights, timed forward +
    backward: its ratio to torch.nn.LSTM is an A-vs-A calibration that should read "about the
    same". ``timing``, if given a dict, receives the timing result (rounds kept, dropped,
    skipped). ``max_load``: the load above which a round is dropped (default: the cores + 0.5).
    Rows with no clean rounds have NaN times and ratios.
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
    if twin:
        copy_ = copy.deepcopy(models["torch.nn.LSTM"])
        fns[("torch.nn.LSTM (copy)", "fwd_bwd")] = lstm_timing_fns(copy_, x)["fwd_bwd"]
    named = {f"{n} {k}": f for (n, k), f in fns.items()}
    if protocol:
        res = paired(named, threads=threads, rounds=max(rounds, 10), min_run_time=min_run_time,
                     device=device, budget_s=budget_s, seed=seed, max_load=max_load)
    else:
        res = compare(named, threads=threads, rounds=rounds, min_run_time=min_run_time,
                      device=device, budget_s=budget_s, seed=seed, max_load=max_load)
    if timing is not None:
        timing.update(res)
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
                        f"{kind}_rounds_ms": t["rounds_ms"],
                        f"{kind}_ratio": statistics.median(r) if r else float("nan"),
                        f"{kind}_ratios": r})
        rows.append(row)
    return rows


def sanity(rows: list[dict], far: float = 1.5) -> list[str]:
    """Checks every timing row of `benchmark_lstm` (rows of several thread counts together) and
    marks each with ``valid`` and ``problems``; returns all problems. A row fails when its
    forward + backward is not slower than its forward alone (the backward does more work than the
    forward), or when its time at more threads is more than ``far`` times its time at one thread
    (the threads waited on something else). A failed row is not a result."""
    problems = []
    one = {(r["impl"], r["B"], r["T"], r["I"], r["H"]): r for r in rows if r["threads"] == 1}
    for r in rows:
        bad = []
        f, fb = r.get("fwd_ms"), r.get("fwd_bwd_ms")
        if f is not None and fb is not None and fb == fb and f == f and fb <= f:
            bad.append(f"forward + backward ({fb:.3g} ms) not slower than forward ({f:.3g} ms)")
        base = one.get((r["impl"], r["B"], r["T"], r["I"], r["H"]))
        if r["threads"] > 1 and base is not None:
            for kind in ("fwd", "fwd_bwd"):
                a, b = base.get(f"{kind}_ms"), r.get(f"{kind}_ms")
                if a is not None and b is not None and a == a and b == b and b > far * a:
                    bad.append(f"{kind} at {r['threads']} threads ({b:.3g} ms) far slower than at "
                               f"1 ({a:.3g} ms)")
        r["valid"], r["problems"] = not bad, bad
        problems += [f"{r['impl']} ({r['threads']} threads): {p}" for p in bad]
    return problems


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
