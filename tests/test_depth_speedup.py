"""seqlib.perf.depth (critical paths from the autograd graph) and seqlib.perf.speedup (random-order,
load-gated rounds and the second-thread speedup)."""
import os

import pytest
import torch

import seqlib
from seqlib.perf import speedup
from seqlib.perf.depth import autograd_depth


def test_depth_of_a_chain_and_of_branches():
    x = torch.randn(3, requires_grad=True)
    assert autograd_depth(x) == 0  # a leaf
    y = x
    for _ in range(5):
        y = y * 2  # five operations in a row
    assert autograd_depth(y) == 5
    z = (x * 2) + (x * 3).sin().cos()  # the longest branch: mul, sin, cos, then add
    assert autograd_depth(z) == 4
    with torch.no_grad():
        assert autograd_depth(x * 2) == 0
    with pytest.raises(TypeError, match="autograd_depth: expected a tensor"):
        autograd_depth([1.0])


def test_depth_recurrent_grows_with_T_attention_does_not():
    torch.manual_seed(0)
    E = 8
    lstm = seqlib.LSTM(E, E, batch_first=True)
    enc = seqlib.TransformerEncoderLayer(E, 2, 16, 0.0, batch_first=True)
    d = {T: (autograd_depth(lstm(torch.randn(2, T, E, requires_grad=True))[0]),
             autograd_depth(enc(torch.randn(2, T, E, requires_grad=True)))) for T in (4, 8, 16)}
    step = d[8][0] - d[4][0]
    assert step > 0 and d[16][0] - d[8][0] == 2 * step  # O(T): a fixed number per step
    assert d[4][1] == d[8][1] == d[16][1] > 0  # O(1)


def test_depth_walks_deep_graphs_without_recursion():
    x = torch.randn(2, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1
    assert autograd_depth(y) == 5000


def test_free_cores_counts_own_load(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 1.0, 1.0))
    assert speedup.free_cores() == 2  # only this process
    monkeypatch.setattr(os, "getloadavg", lambda: (3.5, 1.0, 1.0))
    assert speedup.free_cores() == -0.5


def test_rounds_random_order_busy_rounds_left_out(monkeypatch):
    calls = []
    fns = {k: ((lambda k=k: calls.append(k)), 1) for k in "abc"}
    monkeypatch.setattr(speedup, "benchmark", lambda fn, threads, min_run_time: (fn(), {"median_ms": 2.0})[1])
    loads = iter([1.0, 1.0, 9.0, 9.0, 1.0, 1.0, 1.0, 1.0] * 3)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (next(loads), 0, 0))
    r = speedup.rounds(fns, n_rounds=3, seed=1)
    assert len(r["ms"]["a"]) == 3 and r["busy"].count(True) == r["dropped"] >= 1
    assert len(speedup.paired(r, "a", "b")) == r["kept"] == 3 - r["dropped"]
    assert len(speedup.paired(r, "a", "b", keep_busy=True)) == 3
    orders = [tuple(calls[i:i + 3]) for i in range(0, 9, 3)]
    assert all(sorted(o) == ["a", "b", "c"] for o in orders)
    with pytest.raises(ValueError, match="speedup.rounds"):
        speedup.rounds(fns, n_rounds=0)


def test_thread_speedup_skips_without_two_free_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (3.0, 3.0, 3.0))
    out = speedup.thread_speedup({"f": lambda: None}, n_rounds=2)
    assert out["speedup"] == {"f": []} and "fewer than 2 cores free" in out["skipped"]


def test_thread_speedup_pairs_one_and_two_threads(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    monkeypatch.setattr(speedup, "benchmark",
                        lambda fn, threads, min_run_time: {"median_ms": 4.0 / threads})
    out = speedup.thread_speedup({"f": lambda: None}, n_rounds=3)
    assert out["skipped"] is None and out["speedup"]["f"] == [2.0, 2.0, 2.0]
