"""Paired timing rounds in random order, load-gated, and the second-thread speedup.

:func:`rounds` times several functions (and thread counts) once per round, in a random order
each round (so that a drift or burst of load falls on all of them alike), with
:func:`seqlib.perf.timing.benchmark` (the book's one timer). A round taken while the machine is
busier than the measurement can stand is marked, left out of the evidence and counted
(:func:`free_cores`).

:func:`thread_speedup` is one symmetric statistic for every architecture: time at 1 thread /
time at 2 threads of the same call, paired by round. A layer whose work can be shared out gets
close to 2; one whose steps wait on each other stays near 1. It needs two free cores: with fewer
it measures nothing and says why.
"""
from __future__ import annotations

import os
import random
from typing import Callable

from seqlib.perf.timing import benchmark


def free_cores(own_busy: float = 1.0) -> float:
    """Cores not used by other processes: cores - (1-minute load average - ``own_busy``).

    The caller's own busy thread counts in the load average (a page that has been computing
    keeps it near 1), so ``own_busy`` of it is not counted against the machine."""
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    return cores - max(0.0, load - own_busy)


def rounds(fns: dict[str, tuple[Callable[[], object], int]], *, n_rounds: int = 10,
           min_run_time: float = 0.05, seed: int = 0, need_free: float = 1.0) -> dict:
    """Times each ``name: (fn, threads)`` once per round, in a random order each round.

    Every round runs (the cost is fixed); a round is marked busy when fewer than ``need_free``
    cores were free before or after it (:func:`free_cores`, counting up to the most threads any
    job uses as this process's own load), and :func:`paired` leaves busy
    rounds out. Returns ``{"ms": {name: [median ms of each round]}, "busy": [bool per round],
    "kept": k, "dropped": d, "loads": [...]}``.
    """
    if n_rounds < 1:
        raise ValueError(f"speedup.rounds: expected n_rounds >= 1, got {n_rounds}")
    rng = random.Random(seed)
    names = list(fns)
    ms = {k: [] for k in names}
    busy, loads = [], []
    own = max(th for _, th in fns.values())  # this process's own share of the load average
    for _ in range(n_rounds):
        order = names[:]
        rng.shuffle(order)
        before = free_cores(own)
        for k in order:
            ms[k].append(benchmark(fns[k][0], threads=fns[k][1],
                                   min_run_time=min_run_time)["median_ms"])
        busy.append(min(before, free_cores(own)) < need_free)
        loads.append(os.getloadavg()[0])
    return {"ms": ms, "busy": busy, "kept": busy.count(False), "dropped": busy.count(True),
            "loads": loads}


def paired(result: dict, a: str, b: str, keep_busy: bool = False) -> list[float]:
    """Per-round ratios a / b of a :func:`rounds` result, busy rounds left out (unless
    ``keep_busy``)."""
    return [x / y for x, y, busy in zip(result["ms"][a], result["ms"][b], result["busy"])
            if keep_busy or not busy]


def thread_speedup(fns: dict[str, Callable[[], object]], *, n_rounds: int = 10,
                   min_run_time: float = 0.05, seed: int = 0) -> dict:
    """Second-thread speedup of each function: time at 1 thread / time at 2 threads, per round.

    Measured only when two cores are free (:func:`free_cores`), before and during the rounds;
    otherwise returns no values and the reason. Returns ``{"speedup": {name: [per-round
    ratios]}, "ms": ..., "kept", "dropped", "skipped": None or the reason}``."""
    free = free_cores()
    if free < 2:
        why = (f"fewer than 2 cores free (load average {os.getloadavg()[0]:.2f} on "
               f"{os.cpu_count()} cores, {free:.2f} free): the 2-thread measurement was skipped")
        return {"speedup": {k: [] for k in fns}, "ms": {}, "kept": 0, "dropped": 0, "skipped": why}
    jobs = {}
    for k, f in fns.items():
        jobs[f"{k} @1"] = (f, 1)
        jobs[f"{k} @2"] = (f, 2)
    r = rounds(jobs, n_rounds=n_rounds, min_run_time=min_run_time, seed=seed, need_free=2.0)
    sp = {k: paired(r, f"{k} @1", f"{k} @2") for k in fns}
    skipped = None
    if r["kept"] == 0:
        skipped = f"every round ran with fewer than 2 cores free ({r['dropped']} dropped)"
    return {"speedup": sp, "ms": r["ms"], "kept": r["kept"], "dropped": r["dropped"],
            "skipped": skipped}
