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
        assert c.chapter and c.words and c.measurement and c.kind in claims.KINDS
        if c.kind != "exact":
            assert c.control and c.about and c.rule.min_n >= 2, c.id


def test_record_requires_every_claim_of_the_chapter(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("")
    (tmp_path / "chapters" / "claims").mkdir(parents=True)
    (tmp_path / "chapters" / "claims" / "00_t.yml").write_text(
        "- id: a.b\n  kind: exact\n  words: w\n  where: s\n  measurement: m\n"
        "  rule: {better: lower, threshold: 1}\n"
        "- id: a.c\n  kind: exact\n  words: w\n  where: s\n  measurement: m\n  rule: {within: 1}\n")
    monkeypatch.chdir(tmp_path)
    cat = claims.load_catalogue("00_t")
    v = judge("a.b", [0.1, 0.2, 0.1], catalogue=cat, units=["seed 0", "seed 1", "seed 2"])
    with pytest.raises(ValueError, match="no verdict for"):
        claims.record("00_t", [v])
    w = judge("a.c", [0.0, 0.1, -0.1], catalogue=cat)
    path = claims.record("00_t", [v, w], parameters={"SEED": 0}, defaults={"SEED": 0})
    assert path == claims.results_path("00_t")
    # another parameter set writes apart from the book's evidence
    other = claims.record("00_t", [v, w], parameters={"SEED": 1}, defaults={"SEED": 0})
    assert other == claims.results_path("00_t", local=True) and other != path
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


def _full(kind="empirical", **rule):
    return Claim("x.y", "words", "where", "00_test", "a value", Rule(**rule), kind=kind,
                 about="a regime", control="a control", requires={})


def test_exact_claims_have_no_interval_and_one_counterexample_refutes():
    c = _full("exact", better="lower", threshold=1.0, min_n=1)
    v = judge(c, [0.75, 0.75], source={})
    assert v.verdict == HELD and "exact" in v.interval_text() and "[" not in v.interval_text()
    assert judge(c, [0.75, 1.3], source={}).verdict == CONTRADICTED
    with pytest.raises(ValueError, match="takes no control"):
        judge(c, [0.75], control=[2.0], source={})


def test_control_that_passes_the_rule_makes_the_test_invalid():
    c = _full(better="higher", threshold=0.0)
    good = judge(c, [0.3, 0.35, 0.32], control=[0.01, -0.02, 0.0], source={})
    assert good.verdict == HELD and good.valid and good.control["verdict"] != HELD
    claims.check([good])
    bad = judge(c, [0.3, 0.35, 0.32], control=[0.3, 0.31, 0.29], source={})
    assert not bad.valid and bad.status == claims.INVALID
    with pytest.raises(AssertionError, match="invalid test"):
        claims.check([bad])
    missing = judge(c, [0.3, 0.35, 0.32], source={})
    assert missing.verdict == HELD and missing.status == claims.NO_CONTROL  # a measurement, no test
    with pytest.raises(AssertionError, match="no control"):
        claims.check([missing])


def test_a_model_that_did_not_learn_decides_nothing():
    c = _full(better="higher", threshold=0.0)
    learned = [claims.Learned("LSTM", 0.9, 0.5), claims.Learned("RNN", 0.51, 0.5, margin=0.05)]
    v = judge(c, [0.3, 0.35, 0.32], control=[0.0, 0.01, -0.01], learned=learned, source={})
    assert v.verdict == claims.NOT_LEARNED
    loss = claims.Learned("LM", 2.0, 2.5, better="lower", margin=0.1)
    assert loss.ok and not claims.Learned("LM", 2.45, 2.5, better="lower", margin=0.1).ok


def test_regime_status_and_timing_bootstrap():
    c = Claim("x.t", "faster", "where", "00_test", "ratio per round", Rule(better="higher", threshold=1.1,
              log=True, min_n=10), kind="timing", about="at scale", control="A against A",
              requires={"device": "cuda", "threads": 2})
    ratios = [1.5, 1.6, 1.4, 1.55, 1.45, 1.5, 1.62, 1.38, 1.5, 1.52, 9.0]  # one outlier round
    v = judge(c, ratios, control=[1.0, 0.98, 1.02, 1.01, 0.99, 1.0, 1.0, 1.03, 0.97, 1.0],
              measured={"device": "cpu", "threads": 1}, source={})
    assert v.verdict == HELD and v.mean == pytest.approx(1.5)
    assert v.hi < 2.0  # the median's interval ignores the outlier round
    assert v.status == claims.NOT_TESTED and "1 thread" in v.regime_text()
    w = judge(c, ratios, control=[1.0] * 10, measured={"device": "cuda", "threads": 2}, source={})
    assert w.status == HELD
    same = judge(c, [1.0, 1.02, 0.98, 1.01, 0.99, 1.0, 1.0, 1.01, 0.99, 1.0], control=[1.0] * 10,
                 measured={"device": "cuda", "threads": 2}, source={})
    assert "about the same" in same.interval_text() and same.verdict == CONTRADICTED
    assert claims.meets({"threads": 4, "scale": "long"}, {"threads": 2, "scale": "long"})
    assert not claims.meets({"threads": 1}, {"threads": 2})


def test_median_interval_covers_a_known_ratio():
    import random
    rng = random.Random(1)
    hits = 0
    for trial in range(40):
        vals = [1.3 * math.exp(rng.gauss(0, 0.1)) for _ in range(15)]
        m, lo, hi = claims.median_interval(vals, seed=trial)
        hits += lo <= 1.3 <= hi
    assert hits >= 33  # a 95% interval covers the true median in most trials


def test_timing_verdicts_keep_the_previous_run(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("")
    (tmp_path / "chapters" / "claims").mkdir(parents=True)
    (tmp_path / "chapters" / "claims" / "00_t.yml").write_text(
        "- id: a.t\n  kind: timing\n  words: w\n  where: s\n  about: a\n  control: c\n"
        "  measurement: m\n  rule: {better: higher, threshold: 1.1}\n")
    monkeypatch.chdir(tmp_path)
    cat = claims.load_catalogue("00_t")
    fast, slow = [1.5] * 6 + [1.6] * 6, [0.9] * 6 + [0.95] * 6
    v1 = judge("a.t", fast, catalogue=cat, control=[1.0] * 12, measured={"threads": 1})
    claims.record("00_t", [v1])
    v2 = judge("a.t", slow, catalogue=cat, control=[1.0] * 12, measured={"threads": 1})
    claims.record("00_t", [v2])
    d = claims.load_verdicts("00_t")[0]
    assert d["previous"]["verdict"] == HELD and d["verdict"] == CONTRADICTED
    assert d["status"] == claims.UNSTABLE


def test_forest_plot_draws_one_row_per_claim():
    c = _full(better="higher", threshold=0.0)
    vs = [judge(c, [0.3, 0.35, 0.32], control=[0.0, 0.01, -0.01], source={}),
          judge(_full("exact", better="lower", threshold=1, min_n=1), [0.75], source={})]
    fig = claims.forest(vs, title="t")
    assert len(fig.axes) == 2


def test_a_skipped_measurement_reads_as_not_measured():
    c = _full(better="higher", threshold=0.0)
    v = judge(c, [float("nan")], control=[float("nan")], source={})
    assert v.verdict == claims.INCONCLUSIVE and v.interval_text() == "not measured on this run"


def test_amendments_file_is_well_formed():
    import yaml

    from seqlib.book.records import repo_root

    entries = yaml.safe_load((repo_root() / "chapters" / "claims" / "amendments.yml").read_text())
    catalogue = claims.load_catalogue()
    for a in entries:
        assert {"id", "date", "before", "why", "verdict_before"} <= set(a), a.get("id")
        assert a["id"] in catalogue, f"amendments.yml: {a['id']} is not in the catalogue"
        assert isinstance(a["before"], dict) and a["before"], a["id"]
