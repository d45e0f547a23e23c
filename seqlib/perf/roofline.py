"""How far from the machine's limit: counted FLOPs, measured peak and bandwidth, bytes per step.

A **roofline** bounds the rate of a computation by two numbers of the machine: its peak
arithmetic rate (measured here as the rate of one large GEMM on the same threads, `peak_gflops`)
and its memory bandwidth (one large copy, `bandwidth_gbs`). A kernel that does F FLOPs while
moving Q bytes (arithmetic intensity F / Q) cannot run faster than min(peak, bandwidth * F / Q).

For an LSTM layer the FLOPs are those of its GEMMs (`lstm_flops`, which `count_flops` checks with
`torch.utils.flop_counter.FlopCounterMode`; the elementwise gate math adds O(B H) per step, which
the counter does not count and which is small beside the O(B H^2) products). `lstm_step_bytes`
is the traffic of one step if nothing stays in cache between steps: W_hh read once in the
forward and once in the backward, plus the step's activations. A persistent kernel (Diamos et
al. 2016) keeps W_hh on chip across steps and removes the first term.

Shape legend: B batch, T time, I input features, H hidden size.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from seqlib.perf.timing import benchmark


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of the matrix products `fn()` dispatches (forward and, if it runs one, backward),
    as `torch.utils.flop_counter.FlopCounterMode` counts them (2 per multiply-add)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def lstm_flops(B: int, T: int, I: int, H: int, backward: bool = True,
               input_grad: bool = True) -> int:
    """GEMM FLOPs of one LSTM layer and direction over T steps (2 per multiply-add).

    Forward: W_ih x_t and W_hh h_{t-1} for every step, 2 T B 4H (I + H). Backward, with h0 not
    requiring a gradient: dx (if ``input_grad``) and dW_ih, 2 T B 4H I each; dh_{t-1} for steps
    t = 1..T-1, 2 (T-1) B 4H H; dW_hh, 2 T B 4H H.
    """
    for name, v in (("B", B), ("T", T), ("I", I), ("H", H)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"roofline.lstm_flops: expected {name} >= 1 (an int), got {v!r}")
    G = 4 * H
    fwd = 2 * T * B * G * (I + H)
    if not backward:
        return fwd
    bwd = 2 * T * B * G * I * (2 if input_grad else 1) + 2 * (T - 1) * B * G * H + 2 * T * B * G * H
    return fwd + bwd


def lstm_step_bytes(B: int, I: int, H: int, bytes_per_value: int = 4) -> dict:
    """Bytes one time step moves if nothing stays in cache from the step before (float32).

    Forward: W_hh (4H x H), h_{t-1} (B x H), the gates read and written (2 x B x 4H), c_{t-1} read
    and c_t, tanh(c_t), h_t written (4 x B x H). Backward: W_hh again, dz_t written and read
    (2 x B x 4H), and about six (B x H) tensors (dh, dc, the saved activations).
    Returns weights, activations, total (bytes, forward + backward) and the share of W_hh.
    """
    w = 2 * 4 * H * H * bytes_per_value
    act = (B * H + 2 * B * 4 * H + 4 * B * H + 2 * B * 4 * H + 6 * B * H) * bytes_per_value
    return {"weights": w, "activations": act, "total": w + act, "weight_share": w / (w + act)}


def peak_gflops(threads: int, n: int = 1536, min_run_time: float = 0.5) -> dict:
    """The machine's practical peak: the rate of one n x n x n float32 GEMM (2 n^3 FLOPs) on
    ``threads`` threads, through `seqlib.perf.timing.benchmark`. Returns gflops, median_ms, iqr_ms."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    r = benchmark(lambda: a @ b, threads=threads, min_run_time=min_run_time)
    return {"gflops": 2 * n**3 / r["median_ms"] / 1e6, "median_ms": r["median_ms"],
            "iqr_ms": r["iqr_ms"], "n": n, "threads": threads, "machine": r["machine"]}


def bandwidth_gbs(threads: int, mbytes: int = 128, min_run_time: float = 0.5) -> dict:
    """Memory bandwidth: one copy of an ``mbytes`` MB float32 tensor (read + write = 2x bytes)
    on ``threads`` threads, through `seqlib.perf.timing.benchmark`. Returns gbs, median_ms, iqr_ms."""
    n = mbytes * 2**20 // 4
    src, dst = torch.randn(n), torch.empty(n)
    r = benchmark(lambda: dst.copy_(src), threads=threads, min_run_time=min_run_time)
    return {"gbs": 2 * n * 4 / r["median_ms"] / 1e6, "median_ms": r["median_ms"],
            "iqr_ms": r["iqr_ms"], "mbytes": mbytes, "threads": threads}


def roof(intensity: float, peak: float, bandwidth: float) -> float:
    """The roofline: the highest GFLOP/s at ``intensity`` FLOP/byte, min(peak, bandwidth * AI)."""
    return min(peak, bandwidth * intensity)


def profile_ops(fn: Callable[[], object], threads: int, top: int = 8, runs: int = 3) -> list[dict]:
    """Where ``fn()``'s CPU time goes: `torch.profiler` over ``runs`` calls (after one warm-up)
    on ``threads`` threads; rows of operator, calls per run, self ms per run and share of the
    total, the ``top`` operators by self time, then one row "(all other operators)"."""
    from torch.profiler import ProfilerActivity, profile

    from seqlib.device import use_threads

    with use_threads(threads):
        fn()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(runs):
                fn()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    rows = [{"operator": e.key, "calls per run": e.count / runs,
             "self ms per run": e.self_cpu_time_total / 1e3 / runs,
             "share": e.self_cpu_time_total / total} for e in events[:top]]
    rest = sum(e.self_cpu_time_total for e in events[top:])
    rows.append({"operator": "(all other operators)",
                 "calls per run": sum(e.count for e in events[top:]) / runs,
                 "self ms per run": rest / 1e3 / runs, "share": rest / total})
    return rows
