"""seqlib.perf.timing: the protocol (random order, rounds of at least min_calls calls, load
gating, budget, multi-thread skip) and the statistic (median of paired ratios, bootstrap
interval, equivalence band). The timed functions spin on the wall clock, so their true ratio is
known whatever else runs on the machine."""
import math
import random
import time

import pytest

from seqlib.perf import timing


def spin(seconds):
    def f():
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
    return f


QUIET = dict(max_load=math.inf)  # the test machine may be busy: no gating unless a test asks


class FakeClock:
    """A clock the timed functions advance: each call takes its nominal time times a lognormal
    factor (sigma 0.1), and one call in 200 is hit by a burst of load (3x): a shared machine."""

    def __init__(self, seed=0):
        self.now, self.rng = 0.0, random.Random(seed)

    def __call__(self):
        return self.now

    def fn(self, seconds):
        def f():
            burst = 3.0 if self.rng.random() < 0.005 else 1.0
            self.now += seconds * burst * math.exp(self.rng.gauss(0, 0.05))
        return f


@pytest.mark.parametrize("seed", range(8))
def test_a_known_2x_ratio_is_recovered(monkeypatch, seed):
    clock = FakeClock(seed)
    monkeypatch.setattr(timing, "_clock", clock)
    res = timing.compare({"slow": clock.fn(0.002), "fast": clock.fn(0.001)}, threads=1,
                         rounds=10, min_run_time=0.0, min_calls=10, seed=seed, **QUIET)
    d = timing.describe_ratio(timing.ratios(res, "slow", "fast"), a="slow", b="fast")
    assert d["lo"] < 2.0 < d["hi"] and d["hi"] / d["lo"] < 1.6, d
    assert d["words"] == "slow slower"
    d = timing.describe_ratio(timing.ratios(res, "fast", "slow"), a="fast")
    assert d["words"] == "fast faster" and d["lo"] < 0.5 < d["hi"]


@pytest.mark.parametrize("seed", range(8))
def test_a_vs_a_is_about_the_same_and_never_faster(monkeypatch, seed):
    clock = FakeClock(seed)
    monkeypatch.setattr(timing, "_clock", clock)
    f = clock.fn(0.001)
    res = timing.compare({"a": f, "a again": f}, threads=1, rounds=10, min_run_time=0.0,
                         min_calls=10, seed=seed, **QUIET)
    d = timing.describe_ratio(timing.ratios(res, "a", "a again"))
    assert d["words"] == "about the same", d
    assert 0.9 <= d["lo"] <= 1.0 <= d["hi"] <= 1.1


def test_a_2x_ratio_on_the_real_clock():
    """The same on the wall clock (loose bounds: the machine may be busy)."""
    res = timing.compare({"slow": spin(0.004), "fast": spin(0.002)}, threads=1, rounds=10,
                         min_run_time=0.0, min_calls=10, **QUIET)
    d = timing.describe_ratio(timing.ratios(res, "slow", "fast"), a="slow")
    assert 1.4 < d["median"] < 2.8, d


def test_rounds_are_random_order_and_at_least_min_calls():
    res = timing.compare({k: spin(0.0002) for k in "abcd"}, threads=1, rounds=10,
                         min_run_time=0.0, min_calls=10, seed=3, **QUIET)
    assert res["rounds"] == 10 and len(res["order"]) == 10
    assert all(sorted(o) == list("abcd") for o in res["order"])
    assert len({tuple(o) for o in res["order"]}) > 1  # not a fixed order
    assert all(t["calls"] == 10 for t in res["times"].values())
    assert all(len(t["rounds_ms"]) == 10 for t in res["times"].values())
    # min_run_time sets the calls when it asks for more than min_calls (default 1)
    res = timing.compare({"a": spin(0.001)}, threads=1, rounds=1, min_run_time=0.05, **QUIET)
    assert 2 <= res["times"]["a"]["calls"] <= 50  # ceil(0.05 s / the call time), >= 1 ms


def test_loaded_rounds_are_dropped_and_counted(monkeypatch):
    loads = iter([0.1, 9.0, 0.2, 9.0, 9.0] + [0.1] * 20)
    monkeypatch.setattr(timing, "_load1", lambda: next(loads))
    res = timing.compare({"a": spin(0.0001), "b": spin(0.0001)}, threads=1, rounds=5,
                         min_run_time=0.0, max_load=2.0, strict=True)
    assert res["dropped"] == 3 and res["dropped_loads"] == [9.0, 9.0, 9.0]
    assert res["rounds"] == 5 and res["valid"] and all(x <= 2 for x in res["loads"])


def test_under_constant_load_strict_keeps_nothing_and_lenient_fills_flagged(monkeypatch):
    monkeypatch.setattr(timing, "_load1", lambda: 9.0)
    fns = {"a": spin(0.0001), "b": spin(0.0001)}
    res = timing.compare(fns, threads=1, rounds=4, min_run_time=0.0, max_load=2.0, strict=True)
    assert res["rounds"] == 0 and res["dropped"] == 8 and not res["valid"]
    assert res["times"]["a"]["rounds_ms"] == [] and math.isnan(res["times"]["a"]["median_ms"])
    res = timing.compare(fns, threads=1, rounds=4, min_run_time=0.0, max_load=2.0)
    assert res["rounds"] == 4 and len(res["under_load"]) == 4 and not res["valid"]
    assert res["dropped"] == 1  # the one extra round taken, and not used
    assert "flagged" in timing.protocol_text(res)
    res = timing.compare(fns, threads=1, rounds=10, min_run_time=0.0, max_load=2.0, strict=True,
                         give_up_after=3)
    assert res["gave_up"] and res["dropped"] == 3 and "busy" in timing.protocol_text(res)


def test_the_budget_stops_the_rounds(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing, "_clock", clock)
    res = timing.compare({"a": clock.fn(0.01)}, threads=1, rounds=50, min_run_time=0.0,
                         min_calls=2, budget_s=0.2, **QUIET)
    assert res["budget_hit"] and 5 <= res["rounds"] <= 12 and clock.now < 0.3
    assert "budget" in timing.protocol_text(res)


def test_per_function_thread_counts():
    import torch

    seen = {}

    def probe(k):
        def f():
            seen[k] = torch.get_num_threads()
        return f
    res = timing.compare({"one": probe("one"), "two": probe("two")}, threads={"one": 1, "two": 2},
                         rounds=1, min_run_time=0.0, **QUIET)
    assert seen == {"one": 1, "two": 2} and res["times"]["two"]["threads"] == 2
    with pytest.raises(ValueError, match="expected threads >= 1 for 'x'"):
        timing.compare({"x": probe("x")}, threads={"y": 1}, rounds=1)


def test_multi_thread_skip_under_simulated_load(monkeypatch):
    monkeypatch.setattr(timing, "cores", lambda: 2)
    assert timing.skip_reason(1, free=0.0) is None  # one thread always runs
    assert timing.skip_reason(2, free=1.9) is None
    why = timing.skip_reason(2, free=1.0)
    assert why.startswith("skipped: 2 threads") and "1.0 of 2 cores free" in why
    assert "more than" not in why and timing.skip_reason(4, free=4.0).startswith("skipped")
    called = []
    res = timing.paired({"a": lambda: called.append(1)}, threads=2, free=0.8)
    assert res["skipped"] == why.replace("1.0", "0.8") and called == [] and res["rounds"] == 0
    assert timing.protocol_text(res) == res["skipped"]
    # the load-average estimate, where /proc/stat cannot be read: own thread counted as 1
    monkeypatch.setattr(timing, "_cpu_times", lambda: None)
    monkeypatch.setattr(timing, "_load1", lambda: 2.0)  # this process + one busy core
    assert timing.free_cores() == 1.0 and timing.skip_reason(2) is not None
    monkeypatch.setattr(timing, "_load1", lambda: 1.0)  # this process alone
    assert timing.free_cores() == 2.0 and timing.skip_reason(2) is None


def test_paired_insists_on_the_protocol():
    with pytest.raises(ValueError, match="rounds >= 10"):
        timing.paired({"a": spin(0)}, threads=1, rounds=5)
    with pytest.raises(ValueError, match="min_calls >= 10"):
        timing.paired({"a": spin(0)}, threads=1, min_calls=2)
    res = timing.paired({"a": spin(0.0001), "b": spin(0.0001)}, threads=1, min_run_time=0.0,
                        **QUIET)
    assert res["skipped"] is None and res["rounds"] == 10
    assert all(t["calls"] >= 10 for t in res["times"].values())


def test_median_interval_and_words():
    rng = random.Random(0)
    vals = [2.0 * math.exp(rng.gauss(0, 0.05)) for _ in range(31)]
    m, lo, hi = timing.median_interval(vals)
    assert lo < 2.0 < hi and 1.9 < m < 2.1 and hi / lo < 1.2
    assert timing.median_interval(vals) == timing.median_interval(vals)  # deterministic
    m, lo, hi = timing.median_interval([])
    assert math.isnan(m) and lo == 0.0 and hi == math.inf
    assert timing.median_interval([1.5])[0] == pytest.approx(1.5)
    with pytest.raises(ValueError, match="log scale needs values > 0"):
        timing.median_interval([1.0, -1.0])
    assert timing.describe_ratio([1.0] * 9)["words"] == "undecided"  # too few rounds
    assert timing.describe_ratio([1.0, 1.02, 0.98] * 4)["words"] == "about the same"
    assert timing.describe_ratio([0.5, 1.5] * 6)["words"] == "undecided"  # wide: no word
    assert timing.describe_ratio([1.3] * 12, a="x")["words"] == "x slower"


def test_median_interval_matches_the_claims_one():
    """seqlib.book.claims judges timing claims with its own bootstrap: the two agree."""
    from seqlib.book import claims

    vals = [1.1, 0.9, 1.3, 1.2, 1.05, 0.97, 1.4, 1.15, 1.0, 1.25]
    assert timing.median_interval(vals) == pytest.approx(claims.median_interval(vals))


def test_existing_api_still_works():
    r = timing.benchmark(spin(0.0005), threads=1, number=2, repeats=3)
    assert r["n"] == 3 and r["threads"] == 1 and r["median_ms"] >= 0.5
    r = timing.time_ms(spin(0.0005), repeats=3, threads=1)
    assert r["repeats"] == 3 and r["max_ms"] >= r["median_ms"]
    res = timing.compare({"a": spin(0.0002), "b": spin(0.0001)}, threads=1, rounds=3)
    assert set(res["times"]) == {"a", "b"} and res["threads"] == 1 and "machine" in res
    assert len(res["times"]["a"]["rounds_ms"]) == 3  # always `rounds` values unless strict
    assert len(timing.ratios(res, "a", "b")) == 3
    with pytest.raises(ValueError, match="expected rounds >= 1"):
        timing.compare({"a": spin(0)}, threads=1, rounds=0)
