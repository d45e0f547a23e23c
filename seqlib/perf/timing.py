"""The book's one timing helper: `torch.utils.benchmark`, threads pinned, machine recorded.

Every timing in the book goes through :func:`benchmark`. It pins torch's thread count for the
measurement (explicitly: the caller says how many), lets `torch.utils.benchmark` choose how many
runs fill ``min_run_time`` seconds (``blocked_autorange``; on CUDA it synchronises), and reports
one statistic, the **median**, with its spread, the **interquartile range** (IQR), together with
the machine it ran on (:func:`machine_info`: CPU model, instruction set, threads, oneDNN/MKL build).

:func:`compare` times several functions taking turns (round-robin), so that a burst of load on a
shared machine falls on all of them alike, and returns per-round ratios: the evidence a claim
such as "A is faster than B" is judged on (`seqlib.book.claims`).
"""
from __future__ import annotations

import statistics
from typing import Callable

import torch
from torch.utils import benchmark as tbench

from seqlib.device import machine_info, use_threads


def _q(samples: list[float], p: float) -> float:
    s = sorted(samples)
    k = (len(s) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def benchmark(fn: Callable[[], object], *, threads: int, min_run_time: float = 0.2,
              number: int | None = None, repeats: int | None = None, label: str = "",
              device: torch.device | str | None = None) -> dict:
    """Times ``fn()`` with `torch.utils.benchmark.Timer` on ``threads`` torch threads.

    With ``number`` and ``repeats`` it runs a fixed count (``repeats`` blocks of ``number``
    calls); otherwise ``blocked_autorange(min_run_time)``. One warm-up call comes first.
    Returns median_ms, iqr_ms, q1_ms, q3_ms, min_ms, the per-block samples (ms per call),
    threads and the machine.
    """
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"timing.benchmark: expected threads >= 1 (an int), got {threads!r}")
    if repeats is not None and repeats < 1:
        raise ValueError(f"timing.benchmark: expected repeats >= 1, got {repeats}")
    with use_threads(threads):
        fn()  # warm-up: first-call allocations and kernel selection
        timer = tbench.Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads, label=label)
        if number is not None or repeats is not None:
            samples = [timer.timeit(number or 1).median for _ in range(repeats or 5)]
        else:
            m = timer.blocked_autorange(min_run_time=min_run_time)
            samples = list(m.times)
        info = machine_info(device)
    ms = [s * 1e3 for s in samples]
    return {"median_ms": statistics.median(ms), "iqr_ms": _q(ms, 0.75) - _q(ms, 0.25),
            "q1_ms": _q(ms, 0.25), "q3_ms": _q(ms, 0.75), "min_ms": min(ms), "samples_ms": ms,
            "n": len(ms), "threads": threads, "machine": info}


def compare(fns: dict[str, Callable[[], object]], *, threads: int, rounds: int = 5,
            min_run_time: float = 0.1, device: torch.device | str | None = None) -> dict:
    """Times each of ``fns`` ``rounds`` times, taking turns, and returns per name the median ms
    of each round (``rounds`` values), their median and IQR, and the machine. The per-round
    values of two names give paired ratios: ``ratios(result, "a", "b")``."""
    if rounds < 1:
        raise ValueError(f"timing.compare: expected rounds >= 1, got {rounds}")
    per = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            per[k].append(benchmark(f, threads=threads, min_run_time=min_run_time,
                                    device=device)["median_ms"])
    out = {k: {"rounds_ms": v, "median_ms": statistics.median(v),
               "iqr_ms": _q(v, 0.75) - _q(v, 0.25)} for k, v in per.items()}
    return {"times": out, "threads": threads, "rounds": rounds, "machine": machine_info(device)}


def ratios(result: dict, a: str, b: str) -> list[float]:
    """Per-round time ratios a / b from a :func:`compare` result (paired by round)."""
    ta, tb = result["times"][a]["rounds_ms"], result["times"][b]["rounds_ms"]
    return [x / y for x, y in zip(ta, tb)]


def time_ms(fn: Callable[[], object], repeats: int = 10, warmup: int = 2,
            device: torch.device | str | None = None, threads: int | None = None) -> dict:
    """A fixed count of single calls (``repeats`` after ``warmup``) through :func:`benchmark`:
    median_ms, min_ms, max_ms, iqr_ms. ``threads`` defaults to torch's current thread count."""
    if repeats < 1:
        raise ValueError(f"time_ms: expected repeats >= 1, got {repeats}")
    for _ in range(max(warmup - 1, 0)):
        fn()
    r = benchmark(fn, threads=threads or torch.get_num_threads(), number=1, repeats=repeats,
                  device=device)
    r["max_ms"] = max(r["samples_ms"])
    r["repeats"] = repeats
    return r
