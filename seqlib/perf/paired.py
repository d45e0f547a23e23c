"""Paired timing rounds in random order, built on :func:`seqlib.perf.timing.compare`.

`timing.compare` times its functions in a fixed order within every round; a steady drift (a
cache warmed by the one before, a burst of load that starts mid-round) then falls on the same
function every time and can make two copies of one model look different. :func:`shuffled_rounds`
runs ``rounds`` one-round comparisons, each in a fresh random order (seeded), and returns the
result in `compare`'s shape, so :func:`seqlib.perf.timing.ratios` reads it unchanged. Timing
two copies of one function (A against A) in the same rounds gives the control a timing claim
needs: its ratios must come out about 1.

:func:`free_cores` says how many cores are free for the caller (the one-minute load average,
less the caller's own thread, against the core count), so a page can skip a 2-thread measurement
on a busy machine and say why.
"""
from __future__ import annotations

import os
import random
import statistics
from typing import Callable

from seqlib.perf.timing import _q, compare


def shuffled_rounds(fns: dict[str, Callable[[], object]], *, threads: int, rounds: int = 10,
                    seed: int = 0, min_run_time: float = 0.05, device=None) -> dict:
    """Times each of ``fns`` once per round, in a random order per round (``seed``), for
    ``rounds`` rounds; returns ``{"times": {name: {rounds_ms, median_ms, iqr_ms}}, "threads",
    "rounds", "machine", "orders"}`` like :func:`seqlib.perf.timing.compare`."""
    if rounds < 1:
        raise ValueError(f"paired.shuffled_rounds: expected rounds >= 1, got {rounds}")
    if not fns:
        raise ValueError("paired.shuffled_rounds: expected at least one function to time")
    rng = random.Random(seed)
    per = {k: [] for k in fns}
    orders, machine = [], None
    for _ in range(rounds):
        names = list(fns)
        rng.shuffle(names)
        orders.append(names)
        res = compare({k: fns[k] for k in names}, threads=threads, rounds=1,
                      min_run_time=min_run_time, device=device)
        machine = res["machine"]
        for k in names:
            per[k].append(res["times"][k]["rounds_ms"][0])
    out = {k: {"rounds_ms": v, "median_ms": statistics.median(v),
               "iqr_ms": _q(v, 0.75) - _q(v, 0.25)} for k, v in per.items()}
    return {"times": out, "threads": threads, "rounds": rounds, "machine": machine,
            "orders": orders}


def free_cores(own: float = 1.0) -> float:
    """Cores free for the caller: the core count minus the one-minute load average, not
    counting ``own`` (the caller's own busy thread, which the load average includes: a notebook
    that has just been training adds about 1)."""
    n = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # no load average on this platform: assume busy
        return 0.0
    return min(float(n), max(0.0, n - max(0.0, load - own)))
