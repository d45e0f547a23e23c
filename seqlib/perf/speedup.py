"""The second-thread speedup, built on :mod:`seqlib.perf.timing`.

:func:`thread_speedup` is one symmetric statistic for every architecture: time at 1 thread /
time at 2 threads of the same call, paired by round. A layer whose work can be shared out gets
close to 2; one whose steps wait on each other stays near 1. The rounds, their random order,
the load gating and the skip when two cores are not free are :func:`seqlib.perf.timing.paired`'s
(the 1- and the 2-thread runs of every function in the same round, ``threads={name: n}``); with
fewer than two free cores it measures nothing and says why (:func:`seqlib.perf.timing.skip_reason`).
"""
from __future__ import annotations

from typing import Callable

from seqlib.perf import timing


def thread_speedup(fns: dict[str, Callable[[], object]], *, n_rounds: int = timing.MIN_ROUNDS,
                   min_run_time: float = 0.05, seed: int = 0, free: float | None = None) -> dict:
    """Second-thread speedup of each function: time at 1 thread / time at 2 threads, per round.

    Measured with :func:`seqlib.perf.timing.paired` (each function at 1 and at 2 threads in the
    same rounds, ``"<name> @1"`` and ``"<name> @2"``), only when two cores are free (``free``:
    measured by :func:`seqlib.perf.timing.free_cores` when None). Returns ``{"speedup": {name:
    [per-round ratios]}, "ms": {job: [ms per round]}, "kept", "dropped", "skipped": None or the
    reason, "result": the paired result}``."""
    jobs, threads = {}, {}
    for k, f in fns.items():
        for n in (1, 2):
            jobs[f"{k} @{n}"], threads[f"{k} @{n}"] = f, n
    r = timing.paired(jobs, threads=threads, rounds=n_rounds, min_run_time=min_run_time,
                      seed=seed, free=free)
    sp = {k: timing.ratios(r, f"{k} @1", f"{k} @2") for k in fns}
    skipped = r["skipped"]
    if skipped is None and r["rounds"] == 0:
        skipped = (f"every round ran with the load average above {r['max_load']:g} "
                   f"({r['dropped']} dropped)")
    return {"speedup": sp, "ms": {k: t["rounds_ms"] for k, t in r["times"].items()},
            "kept": r["rounds"], "dropped": r["dropped"], "skipped": skipped, "result": r}
