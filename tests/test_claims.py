import json
import math

import pytest
import torch

from seqlib.book import claims
from seqlib.book.claims import CONTRADICTED, HELD, INCONCLUSIVE, Claim, Rule, interval, judge
from seqlib.perf.timing import benchmark, compare, ratios
from seqlib.device import machine_info


def _claim(**rule):
    return Claim("x.y", "words", "where", "00_test", "a value", Rule(**rule))


def test_t_interval_matches_known_quantiles():
    assert claims._t_quantile(0.975, 2) == pytest.approx(4.303, abs=1e-3)
    assert claims._t_quantile(0.975, 9) == pytest.approx(2.262, abs=1e-3)
    m, lo, hi = interval([1.0, 2.0, 3.0])
    assert m == 2.0 and lo == pytest.approx(2 - 4.303 / math.sqrt(3), abs=1e-3)


def test_one_sided_rule_three_outcomes():
    c = _claim(better="higher", threshold=1.0)
    assert judge(c, [1.2, 1.3, 1.25], source={}).verdict == HELD
    assert judge(c, [0.7, 0.8, 0.75], source={}).verdict == CONTRADICTED
    assert judge(c, [0.8, 1.3, 1.0], source={}).verdict == INCONCLUSIVE
    lower = _claim(better="lower", threshold=1.0)
    assert judge(lower, [0.7, 0.8, 0.75], source={}).verdict == HELD


def test_too_few_values_is_inconclusive_whatever_they_say():
    c = _claim(better="higher", threshold=1.0)
    assert judge(c, [5.0, 5.1], source={}).verdict == INCONCLUSIVE
    assert judge(c, [5.0], source={}).verdict == INCONCLUSIVE


def test_within_rule_and_log_scale():
    c = _claim(within=0.05, center=2.0)
    assert judge(c, [2.0, 2.0, 2.0], source={}).verdict == HELD
    assert judge(c, [1.5, 1.52, 1.51], source={}).verdict == CONTRADICTED
    r = judge(_claim(better="higher", threshold=1.0, log=True), [2.0, 2.2, 1.9], source={})
    assert r.verdict == HELD and r.mean == pytest.approx((2.0 * 2.2 * 1.9) ** (1 / 3))


def test_nonfinite_evidence_is_inconclusive():
    c = _claim(better="lower", threshold=1.0)
    assert judge(c, [0.1, float("nan"), 0.1], source={}).verdict == INCONCLUSIVE


def test_bad_rules_and_inputs_name_the_module():
    with pytest.raises(ValueError, match="claims.Rule"):
        Rule(better="up", threshold=1)
    with pytest.raises(ValueError, match="claims.Rule"):
        Rule(better="higher", threshold=1, within=1)
    with pytest.raises(ValueError, match="claims.judge"):
        judge(_claim(better="higher", threshold=1), [1, 2], units=["a"], source={})
    with pytest.raises(ValueError, match="claims.judge"):
        judge(_claim(better="higher", threshold=1), [1, 2, 3], regime="moon", source={})


def test_catalogue_is_well_formed_and_every_id_unique():
    cat = claims.load_catalogue()
    assert len(cat) >= 30
    for c in cat.values():
        assert c.chapter and c.words and c.measurement and c.rule.min_n >= 2


def test_record_requires_every_claim_of_the_chapter(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("")
    (tmp_path / "chapters" / "claims").mkdir(parents=True)
    (tmp_path / "chapters" / "claims" / "00_t.yml").write_text(
        "- id: a.b\n  words: w\n  where: s\n  measurement: m\n  rule: {better: lower, threshold: 1}\n"
        "- id: a.c\n  words: w\n  where: s\n  measurement: m\n  rule: {within: 1}\n")
    monkeypatch.chdir(tmp_path)
    cat = claims.load_catalogue("00_t")
    v = judge("a.b", [0.1, 0.2, 0.1], catalogue=cat, units=["seed 0", "seed 1", "seed 2"])
    with pytest.raises(ValueError, match="no verdict for"):
        claims.record("00_t", [v])
    w = judge("a.c", [0.0, 0.1, -0.1], catalogue=cat)
    path = claims.record("00_t", [v, w])
    doc = json.loads(path.read_text())
    assert [d["verdict"] for d in doc["verdicts"]] == [HELD, HELD]
    assert {d["id"] for d in claims.load_verdicts("00_t")} == {"a.b", "a.c"}
    assert claims.primary([{"regime": "page"}, {"regime": "long"}])["regime"] == "long"


def test_benchmark_reports_median_iqr_threads_and_machine():
    x = torch.randn(64, 64)
    r = benchmark(lambda: x @ x, threads=1, min_run_time=0.05)
    assert r["threads"] == 1 and r["median_ms"] > 0 and r["iqr_ms"] >= 0 and r["n"] >= 1
    assert r["machine"]["cpu"] and r["machine"]["isa"]
    before = torch.get_num_threads()
    benchmark(lambda: x @ x, threads=1, number=2, repeats=3)
    assert torch.get_num_threads() == before  # the thread count is restored
    with pytest.raises(ValueError, match="timing.benchmark"):
        benchmark(lambda: None, threads=0)


def test_compare_gives_paired_round_ratios():
    x = torch.randn(32, 32)
    res = compare({"a": lambda: x @ x, "b": lambda: (x @ x) @ x}, threads=1, rounds=3, min_run_time=0.02)
    rs = ratios(res, "b", "a")
    assert len(rs) == 3 and all(r > 0 for r in rs)
    assert "cpu" in machine_info()
