"""Timing candidates for chapter 9 and runs/gpu/scan_speed.py: a minGRU layer evaluated by each
scan method beside `torch.nn.GRU` and a Transformer encoder layer."""
from __future__ import annotations

import os
import time

import torch
from torch import nn

from seqlib.nn.scan import MinGRU


# --------------------------------------------------------------------------- timing candidates


def speed_candidates(B: int, T: int, H: int, device=None, heads: int = 4, chunk: int | None = None,
                     seed: int = 0) -> dict:
    """Forward + backward closures of layers of width H on one input (B, T, H), for
    `seqlib.perf.timing.compare`: a minGRU layer evaluated by each method ('loop', 'log',
    'chunked', 'chunked, loop inside'), `torch.nn.GRU` and a `torch.nn.TransformerEncoderLayer`
    (``heads`` heads, feed-forward 2H, no dropout, no mask). Used by chapter 9 and
    runs/gpu/scan_speed.py."""
    torch.manual_seed(seed)
    x = torch.randn(B, T, H, device=device)  # (B, T, H)
    mingru = MinGRU(H, H, batch_first=True, chunk=chunk).to(device)
    layers = {
        "nn.GRU": nn.GRU(H, H, batch_first=True).to(device),
        "encoder layer": nn.TransformerEncoderLayer(H, heads, 2 * H, 0.0, batch_first=True).to(device),
    }

    def min_fn(method, inner="log"):
        def step():
            mingru.method, mingru.inner = method, inner  # one set of weights for every method
            mingru(x)[0].sum().backward()
        return step

    def layer_fn(m):
        def step():
            out = m(x)
            (out[0] if isinstance(out, tuple) else out).sum().backward()
        return step

    fns = {"minGRU loop": min_fn("loop"), "minGRU log-space scan": min_fn("log"),
           "minGRU chunked scan": min_fn("chunked"),
           "minGRU chunked, loop inside": min_fn("chunked", "loop")}
    fns.update({k: layer_fn(m) for k, m in layers.items()})
    return fns


PARALLEL = ("minGRU log-space scan", "minGRU chunked scan", "minGRU chunked, loop inside")


def parallel_over_loop(times: dict) -> list[float]:
    """Per timing round: the fastest parallel evaluation's time / the loop's, from the
    ``times`` of a `seqlib.perf.timing.compare` result over :func:`speed_candidates` (or a record's
    per-round milliseconds, {name: [ms per round]})."""
    ms = {k: (v["rounds_ms"] if isinstance(v, dict) else v) for k, v in times.items()}
    loop = ms["minGRU loop"]
    return [min(ms[k][r] for k in PARALLEL) / loop[r] for r in range(len(loop))]


# --------------------------------------------------------------------------- rounds under load


def _busy_jiffies() -> tuple[float, float] | None:
    """(busy, total) CPU jiffies of the whole machine from /proc/stat (None where absent)."""
    try:
        with open("/proc/stat") as f:
            vals = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0.0)  # idle + iowait
    return sum(vals[:8]) - idle, sum(vals[:8])


def _self_cpu() -> float:
    return sum(os.times()[:2])  # user + system seconds of this process, all its threads


class LoadProbe:
    """Cores kept busy by *other* processes between :meth:`start` and :meth:`stop`: the machine's
    busy time (/proc/stat) minus this process's own CPU time, over the wall time. Unlike the load
    average it does not count this process (which keeps a core busy while a chapter runs) and does
    not lag by a minute. Where /proc/stat is absent it falls back to the load average minus one
    (this process)."""

    def start(self) -> "LoadProbe":
        self._t, self._self, self._jiffies = time.perf_counter(), _self_cpu(), _busy_jiffies()
        return self

    def stop(self) -> float:
        wall = time.perf_counter() - self._t
        now = _busy_jiffies()
        if self._jiffies is None or now is None or wall <= 0:
            return max(0.0, os.getloadavg()[0] - 1.0)
        hz = os.sysconf("SC_CLK_TCK")
        busy = (now[0] - self._jiffies[0]) / hz  # seconds of CPU used on the machine
        return max(0.0, (busy - (_self_cpu() - self._self)) / wall)


def free_cores(seconds: float = 1.0) -> dict:
    """How many cores are free now: the core count minus the cores other processes keep busy,
    measured over ``seconds`` while this process waits (:class:`LoadProbe`), beside the
    one-minute load average (which also counts this process)."""
    probe = LoadProbe().start()
    time.sleep(seconds)
    others = probe.stop()
    cores = os.cpu_count() or 1
    return {"cores": cores, "others_busy": others, "free": max(0.0, cores - others),
            "loadavg": os.getloadavg()[0]}


def paired_rounds(fns: dict, *, threads: int, rounds: int, min_run_time: float, seed: int = 0,
                  budget_s: float | None = None, max_others: float | None = None) -> dict:
    """Times each of ``fns`` once per round with `seqlib.perf.timing.benchmark`, in a random order
    within each round (seeded), for ``rounds`` clean rounds. A round during which other processes
    kept more than ``max_others`` cores busy (default: the cores this timing does not use, plus
    half a core) is dropped and counted; with ``budget_s``, timing stops when the budget is spent
    and says so. Returns ``{"times": {name: {"rounds_ms", "median_ms"}}, "threads", "rounds"
    (kept), "dropped", "stopped" (None or why), "others_busy" (per kept round)}``, with
    ``times`` shaped as `seqlib.perf.timing.compare`'s, so that per-round ratios pair up."""
    import random
    import statistics

    from seqlib.perf.timing import benchmark

    if rounds < 1:
        raise ValueError(f"paired_rounds: expected rounds >= 1, got {rounds}")
    cores = os.cpu_count() or 1
    limit = (cores - threads + 0.5) if max_others is None else max_others
    rng = random.Random(seed)
    names = list(fns)
    per = {k: [] for k in names}
    kept_load, dropped, stopped = [], 0, None
    t0 = time.perf_counter()
    while len(kept_load) < rounds:
        if budget_s is not None and time.perf_counter() - t0 > budget_s:
            stopped = (f"time budget of {budget_s:g} s spent after {len(kept_load)} clean rounds "
                       f"({dropped} dropped under load)")
            break
        order = rng.sample(names, len(names))
        probe = LoadProbe().start()
        ms = {k: benchmark(fns[k], threads=threads, min_run_time=min_run_time)["median_ms"]
              for k in order}
        others = probe.stop()
        if others > limit:
            dropped += 1
            continue
        kept_load.append(others)
        for k in names:
            per[k].append(ms[k])
    times = {k: {"rounds_ms": v, "median_ms": statistics.median(v) if v else float("nan")}
             for k, v in per.items()}
    return {"times": times, "threads": threads, "rounds": len(kept_load), "dropped": dropped,
            "stopped": stopped, "others_busy": kept_load}


def ratio_per_round(result: dict, a: str, b: str) -> list[float]:
    """Per-round time ratios a / b from :func:`paired_rounds` (or `timing.compare`)."""
    ta, tb = result["times"][a]["rounds_ms"], result["times"][b]["rounds_ms"]
    return [x / y for x, y in zip(ta, tb)]


def loop_control_candidates(B: int, T: int, H: int, parallel: str, seed: int = 0) -> dict:
    """The closures a verdict times: the minGRU loop, the same loop again (the A-vs-A control:
    a ratio the rule must not call a difference) and one parallel evaluation ``parallel`` (a
    name of :data:`PARALLEL`), all from :func:`speed_candidates` on one input."""
    if parallel not in PARALLEL:
        raise ValueError(f"loop_control_candidates: expected parallel in {PARALLEL}, got {parallel!r}")
    fns = speed_candidates(B, T, H, seed=seed)
    again = speed_candidates(B, T, H, seed=seed)["minGRU loop"]  # same weights, its own closure
    return {"minGRU loop": fns["minGRU loop"], "minGRU loop (again)": again,
            parallel: fns[parallel]}


# --------------------------------------------------------------------------- critical path


def autograd_depth(output: torch.Tensor) -> int:
    """The longest chain of dependent operations behind ``output``: the number of nodes on the
    longest path of its autograd graph (each node one operator call; leaves not counted). An
    operator that loops inside its kernel (torch's CPU ``cumsum``) counts as one node: this is
    the critical path a tree-scan kernel could reach, not what a sequential kernel runs."""
    root = output.grad_fn
    if root is None:
        raise ValueError("autograd_depth: expected an output computed with autograd (grad_fn set)")
    order, seen, stack = [], set(), [(root, False)]
    while stack:  # iterative post-order: a T-step loop makes graphs too deep for recursion
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((n, False) for n, _ in node.next_functions if n is not None and n not in seen)
    depth: dict = {}
    for node in order:  # children come before their parents
        depth[node] = 1 + max((depth.get(n, 0) for n, _ in node.next_functions if n is not None),
                              default=0)
    return depth[root]


def critical_paths(T: int, H: int = 4, B: int = 2, seed: int = 0) -> dict:
    """Autograd depth of one minGRU layer's forward at length T by each evaluation:
    {'loop', 'log-space scan', 'chunked scan', 'chunked, loop inside'} -> nodes."""
    torch.manual_seed(seed)
    layer = MinGRU(H, H, batch_first=True)
    x = torch.randn(B, T, H, requires_grad=True)  # (B, T, H)
    out = {}
    for name, method, inner in (("loop", "loop", "log"), ("log-space scan", "log", "log"),
                                ("chunked scan", "chunked", "log"),
                                ("chunked, loop inside", "chunked", "loop")):
        layer.method, layer.inner = method, inner
        out[name] = autograd_depth(layer(x)[0].sum())
    return out
