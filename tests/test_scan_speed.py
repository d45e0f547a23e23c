"""seqlib.perf.scan_speed: candidates, the A-vs-A control closures, critical paths."""

import pytest
import torch

from seqlib.perf.scan_speed import PARALLEL, loop_control_candidates, parallel_over_loop


def test_loop_control_candidates_are_the_same_loop():
    fns = loop_control_candidates(2, 8, 4, "minGRU chunked, loop inside")
    assert list(fns) == ["minGRU loop", "minGRU loop (again)", "minGRU chunked, loop inside"]
    assert fns["minGRU loop"] is not fns["minGRU loop (again)"]
    with pytest.raises(ValueError, match="loop_control_candidates: expected parallel"):
        loop_control_candidates(2, 8, 4, "nn.GRU")


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
