"""seqlib.perf.scan_speed: candidates, the A-vs-A control closures, load-gated paired rounds."""
import os

import pytest
import torch

from seqlib.perf.scan_speed import (PARALLEL, LoadProbe, free_cores, loop_control_candidates,
                                    paired_rounds, parallel_over_loop, ratio_per_round)


def test_loop_control_candidates_are_the_same_loop():
    fns = loop_control_candidates(2, 8, 4, "minGRU chunked, loop inside")
    assert list(fns) == ["minGRU loop", "minGRU loop (again)", "minGRU chunked, loop inside"]
    assert fns["minGRU loop"] is not fns["minGRU loop (again)"]
    with pytest.raises(ValueError, match="loop_control_candidates: expected parallel"):
        loop_control_candidates(2, 8, 4, "nn.GRU")


def test_paired_rounds_random_order_pairs_and_counts(monkeypatch):
    calls = []

    def fake_benchmark(fn, *, threads, min_run_time):
        calls.append(fn())
        return {"median_ms": {"a": 2.0, "b": 1.0, "c": 4.0}[calls[-1]]}

    import seqlib.perf.timing as timing
    monkeypatch.setattr(timing, "benchmark", fake_benchmark)
    fns = {k: (lambda k=k: k) for k in "abc"}
    r = paired_rounds(fns, threads=1, rounds=12, min_run_time=0.0, seed=3, max_others=1e9)
    assert r["rounds"] == 12 and r["dropped"] == 0 and r["stopped"] is None
    assert ratio_per_round(r, "a", "b") == [2.0] * 12
    orders = {tuple(calls[i:i + 3]) for i in range(0, 36, 3)}
    assert len(orders) > 1  # the order changes between rounds
    first = list(calls)
    calls.clear()
    paired_rounds(fns, threads=1, rounds=12, min_run_time=0.0, seed=3, max_others=1e9)
    assert calls == first  # the order is fixed by the seed
    # every round under "load" (max_others < 0): all dropped, the budget stops it and says so
    r3 = paired_rounds(fns, threads=1, rounds=5, min_run_time=0.0, max_others=-1.0, budget_s=0.05)
    assert r3["rounds"] == 0 and r3["dropped"] >= 1 and "budget" in r3["stopped"]
    with pytest.raises(ValueError, match="paired_rounds: expected rounds >= 1"):
        paired_rounds(fns, threads=1, rounds=0, min_run_time=0.0)


def test_load_probe_does_not_count_this_process():
    probe = LoadProbe().start()
    x = torch.randn(200, 200)
    for _ in range(200):  # keep this process busy: its own CPU time is subtracted
        x = torch.tanh(x @ x.T / 200)
    others = probe.stop()
    assert 0.0 <= others <= (os.cpu_count() or 1)
    f = free_cores(0.05)
    assert f["cores"] == (os.cpu_count() or 1) and f["free"] == max(0.0, f["cores"] - f["others_busy"])


def test_parallel_over_loop_takes_the_fastest_per_round():
    times = {"minGRU loop": [10.0, 10.0], **{k: [20.0, 20.0] for k in PARALLEL}}
    times[PARALLEL[1]] = [5.0, 20.0]
    assert parallel_over_loop(times) == [0.5, 2.0]


def test_autograd_depth_counts_the_longest_chain():
    from seqlib.perf.scan_speed import autograd_depth

    x = torch.randn(3, requires_grad=True)
    y = x
    for _ in range(5):
        y = y * 2  # 5 MulBackward nodes in a chain
    assert autograd_depth(y) == 5 + 1  # + AccumulateGrad of the leaf
    z = y + x.exp()  # a short side branch does not lengthen the longest chain
    assert autograd_depth(z) == 5 + 2
    with pytest.raises(ValueError, match="autograd_depth: expected an output"):
        autograd_depth(torch.randn(3))


def test_critical_paths_loop_linear_in_T_scan_constant():
    from seqlib.perf.scan_speed import critical_paths

    d64, d256 = critical_paths(64), critical_paths(256)
    assert d256["loop"] - d64["loop"] >= 192  # at least one node per extra step
    assert d256["log-space scan"] == d64["log-space scan"]  # no node per step
    assert d256["chunked, loop inside"] < d256["loop"] / 4  # C + T/C = 32 steps, not 256
