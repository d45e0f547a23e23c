"""Timing candidates for chapter 9 and runs/gpu/scan_speed.py: a minGRU layer evaluated by each
scan method beside `torch.nn.GRU` and a Transformer encoder layer, and their critical paths.

The rounds, their random order, the load gating, the free cores and the per-round ratios are
`seqlib.perf.timing`'s (`paired`, `compare`, `ratios`, `free_cores`, `skip_reason`): this module
only builds what is timed."""
from __future__ import annotations

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


# --------------------------------------------------------------------------- the verdict's closures


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
