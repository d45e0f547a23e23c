"""seqlib.perf.depth (critical paths from the autograd graph) and seqlib.perf.speedup (the
second-thread speedup on seqlib.perf.timing.paired)."""

import pytest
import torch

import seqlib
from seqlib.perf import speedup, timing
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


def test_thread_speedup_skips_without_two_free_cores(monkeypatch):
    monkeypatch.setattr(timing, "cores", lambda: 2)
    calls = []
    out = speedup.thread_speedup({"f": lambda: calls.append(1)}, free=1.0)
    assert out["speedup"] == {"f": []} and out["kept"] == 0 and not calls
    assert out["skipped"].startswith("skipped: 2 threads asked for")


def test_thread_speedup_pairs_one_and_two_threads(monkeypatch):
    monkeypatch.setattr(timing, "cores", lambda: 4)
    monkeypatch.setattr(timing, "_load1", lambda: 0.5)
    seen = []
    fn = lambda: seen.append(torch.get_num_threads())
    monkeypatch.setattr(timing, "_seconds_per_call",
                        lambda f, number, device: (f(), 4.0 / torch.get_num_threads())[1])
    out = speedup.thread_speedup({"f": fn}, n_rounds=10, free=4.0)
    assert out["skipped"] is None and out["kept"] == 10
    assert out["speedup"]["f"] == [2.0] * 10 and set(seen) == {1, 2}
    assert set(out["ms"]) == {"f @1", "f @2"}


def test_thread_speedup_says_when_every_round_was_loaded(monkeypatch):
    monkeypatch.setattr(timing, "cores", lambda: 4)
    monkeypatch.setattr(timing, "_load1", lambda: 9.0)
    out = speedup.thread_speedup({"f": lambda: None}, n_rounds=10, min_run_time=0.0, free=4.0)
    assert out["kept"] == 0 and out["speedup"]["f"] == [] and "load average" in out["skipped"]
