"""Timing that survives scrutiny: warm-up, synchronisation on CUDA, repeats, the median."""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def time_ms(fn: Callable[[], object], repeats: int = 10, warmup: int = 2,
            device: torch.device | str | None = None) -> dict:
    """Median, min and max milliseconds of `fn()` over `repeats` runs after `warmup` runs.

    On CUDA, times with events around each call (work is asynchronous; a host clock alone would
    time the launch, not the work).
    """
    if repeats < 1:
        raise ValueError(f"time_ms: expected repeats >= 1, got {repeats}")
    device = torch.device(device) if device is not None else None
    cuda = device is not None and device.type == "cuda"
    for _ in range(warmup):
        fn()
    if cuda:
        torch.cuda.synchronize(device)
    samples = []
    for _ in range(repeats):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize(device)
            samples.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "max_ms": max(samples),
            "repeats": repeats}
