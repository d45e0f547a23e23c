"""Timing candidates for chapter 9 and runs/gpu/scan_speed.py: a minGRU layer evaluated by each
scan method beside `torch.nn.GRU` and a Transformer encoder layer."""
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
