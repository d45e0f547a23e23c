"""The book's one timing helper: `torch.utils.benchmark`, threads pinned, machine recorded.

Every timing in the book goes through this module.

* :func:`benchmark` times one function on a pinned thread count (``blocked_autorange`` or a fixed
  count) and reports the **median** with its **interquartile range** and the machine
  (:func:`seqlib.device.machine_info`).
* :func:`compare` times several functions in **rounds**. In each round every function runs once,
  in a **random order** (seeded), for a fixed count of calls filling at least ``min_run_time``
  seconds and at least ``min_calls`` calls (so a round lasts at least ``min_calls`` times the
  call's time); the per-round times of two functions are **paired** (:func:`ratios`). A round
  taken while the one-minute load average exceeds the cores (``max_load``, + 0.5) is **dropped and
  counted**, and the rounds stop at a **time budget** (``budget_s``). A function may have its own
  thread count (``threads={name: n}``), so that one round holds the 1- and the 2-thread runs.
* :func:`paired` is the protocol for a claim (issue 19): at least 10 clean rounds, at least 10
  calls each, strict load gating, and the multi-thread measurement **skipped** (with a reason to
  print) when fewer cores are free than it asks for (:func:`skip_reason`): beside a busy core, a
  2-thread timing measures the other process, and takes many times as long.
* :func:`median_interval` is the statistic: the median of the paired log-ratios and a percentile
  bootstrap interval for it; :func:`describe_ratio` puts it into words with the equivalence band
  (0.9-1.1: "about the same").

`seqlib.perf` sits below `seqlib.book`: the bootstrap lives here, and `seqlib.book.claims` judges
a claim from the values this module returns.
"""
from __future__ import annotations

import math
import os
import random
import statistics
import time
from typing import Callable, Mapping, Sequence

import torch
from torch.utils import benchmark as tbench

from seqlib.device import machine_info, use_threads

EQUIVALENCE_BAND = (0.9, 1.1)  # a ratio whose whole interval lies inside reads "about the same"
MIN_ROUNDS = 10                # the claim protocol: at least 10 clean rounds ...
MIN_CALLS = 10                 # ... each at least 10 times the call's time
_clock = time.perf_counter     # the clock of compare's rounds and budget (tests replace it)


def _q(samples: list[float], p: float) -> float:
    s = sorted(samples)
    k = (len(s) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


# --- the machine's load ---------------------------------------------------------------------------

def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _load1() -> float | None:
    """The one-minute load average (None where the system has none). Tests replace this."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def default_max_load() -> float:
    """The load average above which a round is dropped: the cores, plus 0.5 (a quiet machine
    running this process's threads on every core averages just above the core count)."""
    return cores() + 0.5


def _cpu_times() -> tuple[float, float] | None:
    try:
        with open("/proc/stat") as f:
            v = [float(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = v[3] + (v[4] if len(v) > 4 else 0.0)  # idle + iowait
    return idle, sum(v[:8])


def free_cores(window: float = 0.25) -> float:
    """How many of the machine's cores are idle: measured from /proc/stat over ``window`` seconds
    while this process sleeps (so its own threads do not count), else estimated from the load
    average, counting one running thread as this process's own."""
    n = cores()
    a = _cpu_times()
    if a is not None:
        time.sleep(window)
        b = _cpu_times()
        if b is not None and b[1] > a[1]:
            total = os.cpu_count() or n
            idle = total * (b[0] - a[0]) / (b[1] - a[1])
            return max(0.0, min(float(n), idle))
    load = _load1()
    if load is None:
        return float(n)
    return max(0.0, n - max(0.0, load - 1.0))


def skip_reason(threads: int, free: float | None = None, tolerance: float = 0.5) -> str | None:
    """Why a ``threads``-thread measurement should not run now, or None if it may. It is skipped
    when fewer than ``threads - tolerance`` cores are free (``free``: measured by
    :func:`free_cores` when not given) or the machine has fewer cores than ``threads``."""
    n = cores()
    if threads > n:
        return f"skipped: {threads} threads asked for, this process may use {n} core(s)"
    if threads <= 1:
        return None
    free = free_cores() if free is None else free
    if free < threads - tolerance:
        return (f"skipped: {threads} threads asked for, {free:.1f} of {n} cores free (something "
                f"else is running); a {threads}-thread timing beside a busy core measures the "
                "contention, not the code, and takes many times as long")
    return None


# --- one function ---------------------------------------------------------------------------------

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


# --- several functions, in rounds -------------------------------------------------------------------

def _sync(device):
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _seconds_per_call(fn: Callable[[], object], number: int, device) -> float:
    """``number`` calls of ``fn`` timed with `time.perf_counter` (synchronised on CUDA): seconds
    per call. (`torch.utils.benchmark.Timer.timeit` adds two warm-up calls to every block.)"""
    _sync(device)
    t = _clock()
    for _ in range(number):
        fn()
    _sync(device)
    return (_clock() - t) / number


def compare(fns: dict[str, Callable[[], object]], *, threads: int | Mapping[str, int],
            rounds: int = 5, min_run_time: float = 0.1,
            device: torch.device | str | None = None, min_calls: int = 1, seed: int = 0,
            max_load: float | None = None, budget_s: float | None = 120.0,
            strict: bool = False, extra_rounds: int | None = None,
            give_up_after: int | None = None) -> dict:
    """Times each of ``fns`` in ``rounds`` rounds and returns per name the ms per call of each
    round (``rounds_ms``), their median and IQR, and the machine. The per-round values of two
    names give paired ratios: ``ratios(result, "a", "b")``.

    Protocol: every function gets a warm-up call and one timed call (its call time t0); a round
    then runs every function once, in a random order (``random.Random(seed)``), for
    max(``min_calls``, ceil(``min_run_time`` / t0)) calls on its pinned thread count, timed with
    `time.perf_counter` (synchronised on CUDA). ``threads`` is one count for all, or
    a count per name. A round that ends while the one-minute load average exceeds ``max_load``
    (default: the cores + 0.5, :func:`default_max_load`) is dropped and counted, and another is
    taken, up to ``extra_rounds`` more (default: ``rounds`` when ``strict``, else 1, so that a
    caller's cost stays about what it asked for) and while the time spent is under ``budget_s`` (None: no budget).

    ``give_up_after``: stop when that many rounds in a row were dropped and none was clean yet
    (a machine busy for minutes: the load average moves on a one-minute scale, so more tries
    only spend the budget); ``gave_up`` says so.

    When fewer than ``rounds`` clean rounds were taken, ``strict=True`` returns only the clean
    ones (possibly none); otherwise the least loaded dropped rounds fill the missing places, in
    the order taken, are listed in ``under_load`` and ``valid`` is False, so that a caller that
    needs ``rounds`` values gets them and can say that they were taken under load.

    Returns: times {name: rounds_ms, median_ms, iqr_ms, calls, threads}, threads, rounds (values
    per name), machine, and the protocol's bookkeeping: order (per round), loads (per value),
    dropped (rounds dropped for load), dropped_loads, under_load, max_load, budget_s,
    budget_hit, elapsed_s, valid.
    """
    if rounds < 1:
        raise ValueError(f"timing.compare: expected rounds >= 1, got {rounds}")
    if min_calls < 1:
        raise ValueError(f"timing.compare: expected min_calls >= 1, got {min_calls}")
    if not fns:
        raise ValueError("timing.compare: expected at least one function, got none")
    names = list(fns)
    thr = {k: threads for k in names} if isinstance(threads, int) else dict(threads)
    for k in names:
        if not isinstance(thr.get(k), int) or thr[k] < 1:
            raise ValueError(f"timing.compare: expected threads >= 1 for {k!r}, got {thr.get(k)!r}")
    max_load = default_max_load() if max_load is None else float(max_load)
    start = _clock()
    calls = {}
    for k in names:  # warm-up and call time
        with use_threads(thr[k]):
            fns[k]()
            t0 = max(_seconds_per_call(fns[k], 1, device), 1e-7)
        calls[k] = max(min_calls, math.ceil(min_run_time / t0))
    rng = random.Random(seed)
    clean, loaded = [], []  # (index, order, {name: ms}, load)
    budget_hit = gave_up = False
    extra = (rounds if strict else 1) if extra_rounds is None else extra_rounds
    for i in range(rounds + extra):
        if len(clean) >= rounds:
            break
        if budget_s is not None and i > 0 and _clock() - start > budget_s:
            budget_hit = True
            break
        order = names[:]
        rng.shuffle(order)
        got = {}
        for k in order:
            with use_threads(thr[k]):
                got[k] = _seconds_per_call(fns[k], calls[k], device) * 1e3
        load = _load1()
        entry = (i, order, got, load)
        (loaded if load is not None and load > max_load else clean).append(entry)
        if give_up_after is not None and not clean and len(loaded) >= give_up_after:
            gave_up = True
            break
    kept = list(clean)
    under = []
    if len(kept) < rounds and not strict and loaded:
        fill = sorted(loaded, key=lambda e: e[3])[: rounds - len(kept)]
        under = [e[0] for e in fill]
        kept = sorted(kept + fill, key=lambda e: e[0])
    per = {k: [e[2][k] for e in kept] for k in names}
    out = {k: {"rounds_ms": v, "median_ms": statistics.median(v) if v else float("nan"),
               "iqr_ms": _q(v, 0.75) - _q(v, 0.25) if v else float("nan"),
               "calls": calls[k], "threads": thr[k]} for k, v in per.items()}
    dropped = [e for e in loaded if e[0] not in under]
    return {"times": out, "threads": threads if isinstance(threads, int) else thr,
            "rounds": len(kept), "rounds_asked": rounds, "machine": machine_info(device),
            "order": [e[1] for e in kept], "loads": [e[3] for e in kept],
            "dropped": len(dropped), "dropped_loads": [e[3] for e in dropped],
            "under_load": under, "max_load": max_load, "budget_s": budget_s,
            "budget_hit": budget_hit, "gave_up": gave_up, "elapsed_s": _clock() - start,
            "valid": len(clean) >= rounds and not under, "min_calls": min_calls, "seed": seed}


def ratios(result: dict, a: str, b: str) -> list[float]:
    """Per-round time ratios a / b from a :func:`compare` result (paired by round)."""
    ta, tb = result["times"][a]["rounds_ms"], result["times"][b]["rounds_ms"]
    return [x / y for x, y in zip(ta, tb)]


def paired(fns: dict[str, Callable[[], object]], *, threads: int | Mapping[str, int],
           rounds: int = MIN_ROUNDS, min_run_time: float = 0.05, min_calls: int = MIN_CALLS,
           device: torch.device | str | None = None, seed: int = 0,
           max_load: float | None = None, budget_s: float | None = 120.0,
           free: float | None = None, give_up_after: int | None = 3) -> dict:
    """The claim protocol: :func:`compare` with at least :data:`MIN_ROUNDS` rounds of at least
    :data:`MIN_CALLS` calls, strict load gating (dropped rounds are not used), and a skip when a
    function asks for more threads than there are free cores (``free``: measured when None).

    Returns compare's result with ``skipped`` (None, or the reason to print; then ``times`` has
    no rounds and nothing was run). Strict gating gives up after ``give_up_after`` loaded rounds
    without a clean one (see :func:`compare`)."""
    if rounds < MIN_ROUNDS:
        raise ValueError(f"timing.paired: expected rounds >= {MIN_ROUNDS}, got {rounds}")
    if min_calls < MIN_CALLS:
        raise ValueError(f"timing.paired: expected min_calls >= {MIN_CALLS}, got {min_calls}")
    most = threads if isinstance(threads, int) else max(threads.values())
    reason = skip_reason(most, free)
    if reason is not None:
        thr = {k: threads for k in fns} if isinstance(threads, int) else dict(threads)
        return {"times": {k: {"rounds_ms": [], "median_ms": float("nan"), "iqr_ms": float("nan"),
                              "calls": 0, "threads": thr[k]} for k in fns},
                "threads": threads, "rounds": 0, "rounds_asked": rounds,
                "machine": machine_info(device), "order": [], "loads": [], "dropped": 0,
                "dropped_loads": [], "under_load": [], "max_load": max_load, "budget_s": budget_s,
                "budget_hit": False, "gave_up": False, "elapsed_s": 0.0, "valid": False,
                "min_calls": min_calls, "seed": seed, "skipped": reason}
    res = compare(fns, threads=threads, rounds=rounds, min_run_time=min_run_time, device=device,
                  min_calls=min_calls, seed=seed, max_load=max_load, budget_s=budget_s,
                  strict=True, give_up_after=give_up_after)
    res["skipped"] = None
    return res


def protocol_text(result: dict) -> str:
    """One line for a page: rounds kept of those asked, dropped for load, budget, calls."""
    if result.get("skipped"):
        return result["skipped"]
    calls = sorted({t["calls"] for t in result["times"].values()})
    s = (f"{result['rounds']} of {result['rounds_asked']} rounds kept (random order, "
         f"{calls[0]}-{calls[-1]} calls per function and round), {result['dropped']} dropped "
         f"for load above {result['max_load']:g}")
    if result.get("under_load"):
        s += f", {len(result['under_load'])} taken under load kept to fill (flagged)"
    if result.get("budget_hit"):
        s += f"; stopped at the {result['budget_s']:g} s budget"
    if result.get("gave_up"):
        s += "; stopped: every round so far was taken under load (the machine is busy)"
    return s


# --- the statistic ------------------------------------------------------------------------------

def median_interval(values: Sequence[float], level: float = 0.95, log: bool = True,
                    n_boot: int = 4000, seed: int = 0) -> tuple[float, float, float]:
    """(median, lo, hi): the median of ``values`` (per-round paired ratios) and a percentile
    bootstrap interval for it, computed on log(values) when ``log``. Deterministic (``seed``).
    No values or a non-finite one: (nan, 0 or -inf, inf); one value: (v, 0 or -inf, inf)."""
    vals = [float(v) for v in values]
    unbounded = (float("nan"), 0.0 if log else -math.inf, math.inf)
    if not vals or any(not math.isfinite(v) for v in vals):
        return unbounded
    if log and min(vals) <= 0:
        raise ValueError(f"timing.median_interval: log scale needs values > 0, got {min(vals)}")
    xs = [math.log(v) for v in vals] if log else vals
    f = math.exp if log else (lambda v: v)
    m = statistics.median(xs)
    if len(xs) < 2:
        return (f(m), unbounded[1], unbounded[2])
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(n_boot))
    a = (1 - level) / 2
    lo, hi = meds[int(a * (n_boot - 1))], meds[int(math.ceil((1 - a) * (n_boot - 1)))]
    return (f(m), f(lo), f(hi))


def describe_ratio(values: Sequence[float], band: tuple[float, float] = EQUIVALENCE_BAND,
                   level: float = 0.95, a: str = "A", b: str = "B") -> dict:
    """The median of per-round time ratios a / b, its bootstrap interval and the words for it:
    "about the same" (the interval inside ``band``), "A faster" (wholly below the band's lower
    end), "A slower" (wholly above its upper end), or "undecided" (anything else, or fewer than
    :data:`MIN_ROUNDS` values)."""
    m, lo, hi = median_interval(values, level)
    n = len(values)
    if n < MIN_ROUNDS or not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0:
        words = "undecided"
    elif band[0] <= lo and hi <= band[1]:
        words = "about the same"
    elif hi < band[0]:
        words = f"{a} faster"
    elif lo > band[1]:
        words = f"{a} slower"
    else:
        words = "undecided"
    return {"median": m, "lo": lo, "hi": hi, "n": n, "words": words, "band": band}


# --- a fixed count ------------------------------------------------------------------------------

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
