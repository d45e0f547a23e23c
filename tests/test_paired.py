import time

import pytest

from seqlib.perf.paired import free_cores, shuffled_rounds
from seqlib.perf.timing import ratios


def test_shuffled_rounds_shape_order_and_ratio():
    fns = {"slow": lambda: time.sleep(0.004), "fast": lambda: time.sleep(0.001),
           "fast again": lambda: time.sleep(0.001)}
    res = shuffled_rounds(fns, threads=1, rounds=6, seed=1, min_run_time=0.01)
    assert set(res["times"]) == set(fns)
    assert all(len(t["rounds_ms"]) == 6 for t in res["times"].values())
    assert len({tuple(o) for o in res["orders"]}) > 1  # the order changes between rounds
    assert all(sorted(o) == sorted(fns) for o in res["orders"])
    r = ratios(res, "slow", "fast")
    assert len(r) == 6 and sorted(r)[3] > 1.5  # 4 ms against 1 ms (median round)
    same = sorted(ratios(res, "fast", "fast again"))[3]  # A against A: about 1
    assert 1 / 1.5 < same < 1.5


def test_shuffled_rounds_is_seeded_and_checks_input():
    fns = {k: (lambda: None) for k in "abcd"}
    a = shuffled_rounds(fns, threads=1, rounds=3, seed=7, min_run_time=0.001)["orders"]
    b = shuffled_rounds(fns, threads=1, rounds=3, seed=7, min_run_time=0.001)["orders"]
    assert a == b
    with pytest.raises(ValueError, match="rounds >= 1"):
        shuffled_rounds(fns, threads=1, rounds=0)
    with pytest.raises(ValueError, match="at least one"):
        shuffled_rounds({}, threads=1)


def test_free_cores_is_between_zero_and_the_core_count(monkeypatch):
    import os
    n = os.cpu_count() or 1
    assert 0 <= free_cores() <= n
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 1.0, 1.0))  # only the caller busy
    assert free_cores() == n
    assert free_cores(own=0) == n - 1
    monkeypatch.setattr(os, "getloadavg", lambda: (n + 5.0, 0.0, 0.0))  # a busy machine
    assert free_cores() == 0
