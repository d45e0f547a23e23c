"""Claims as data: the outline's words, a kind, the regime the words are about, a measurement, a
rule fixed before the run, a control the rule must judge the other way, and a verdict.

The catalogue (``chapters/claims/<chapter>.yml``, written before any run; fields documented in
``chapters/claims/README.md``) holds one entry per claim. Each has a **kind**:

* ``exact`` - identities, parameter and FLOP counts, critical-path lengths. Computed, asserted in
  the chapter's checks cell, shown as "exact": no seeds, no interval. The rule is applied to every
  value (one per configuration): *held* if all pass, *contradicted* if any fails (a general
  statement is refuted by one counterexample; the chapter shows where it flips).
* ``empirical`` - evidence over seeds. Mean and Student-t 95% interval (on the log scale for
  ratios); the rule is applied to the interval.
* ``timing`` - evidence over timing rounds: per-round paired ratios, their median and a bootstrap
  95% interval (``seqlib.perf.timing`` takes the rounds: random order, load gating). An interval
  inside the equivalence band (0.9-1.1 by default) reads "about the same".

Rules (:class:`Rule`): ``better: higher, threshold: t`` is *held* if the whole interval lies above
t, *contradicted* if it lies wholly below, else *inconclusive at this budget*; ``better: lower``
mirrors it; ``within: m`` (around ``center``) is *held* inside [c - m, c + m], *contradicted* wholly
outside.

Three further checks make a verdict one a skeptic can accept:

* **Control.** Every empirical and timing claim names a control in the catalogue: a configuration
  for which the claim is known to be false (no attention, the short lag, the unclipped run,
  chance). The chapter measures it with the same code and passes its values to :func:`judge`; the
  same rule must not say *held* for it. If it does, the test is **invalid** (it could not have come
  out the other way): the verdict says so and :func:`check` fails in the checks cell.
* **Learning first.** A verdict that rests on trained models passes each model's score and its
  baseline (:class:`Learned`); if one did not beat its baseline by the margin, the verdict is
  *inconclusive: did not learn at this budget*.
* **Regime.** The entry's ``about`` says what regime the outline's words are about, and its
  ``requires`` which measured fields that regime needs (``device: cuda``, ``threads: 2``,
  ``scale: long``...). Each verdict records the regime it was measured in (``measured``: device,
  threads, sizes, steps, seeds). Where the measured regime does not meet ``requires``, the verdict
  is shown as a measurement of that regime and the claim's **status** is *not tested where the
  outline means it*.

:func:`record` writes a chapter's verdicts to ``chapters/results/claims/<chapter>.json`` (a run
with non-default parameters writes to ``chapters/results/claims/local/`` instead, unless
``SEQLIB_RECORD=1``); timing verdicts keep the previous independent run beside the new one, and
one that differs between the two is *unstable on this machine*. Every verdict carries the hash of
its catalogue entry; :func:`amendments` lists, from git, each change to an entry made after its
first recorded evidence, with the verdict recorded under the earlier entry.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import statistics
import subprocess
from pathlib import Path
from typing import Iterable, Sequence

from seqlib.book.records import _commit, repo_root
from seqlib.io import atomic_write_text

HELD, CONTRADICTED, INCONCLUSIVE = "held", "contradicted", "inconclusive at this budget"
NOT_LEARNED = "inconclusive: did not learn at this budget"
NOT_TESTED = "not tested where the outline means it"
INVALID = "invalid test: the control passes the rule"
UNSTABLE = "unstable on this machine"
NO_CONTROL = "no control run: not yet a test"
VERDICT_WORDS = (HELD, CONTRADICTED, INCONCLUSIVE, NOT_LEARNED)
KINDS = ("exact", "empirical", "timing")
REGIMES = {
    "page": "this page's run",
    "long": "a recorded long run",
    "gpu": "a recorded GPU run",
}
EQUIVALENCE_BAND = (0.9, 1.1)


@dataclasses.dataclass(frozen=True)
class Rule:
    """A decision rule on the 95% interval of the evidence (see the module docstring)."""
    better: str | None = None          # "higher" or "lower" (one-sided rules)
    threshold: float | None = None
    within: float | None = None        # two-sided: |mean - center| <= within
    center: float = 0.0
    log: bool = False                  # interval on log(values), for ratios (values > 0)
    min_n: int = 3
    level: float = 0.95

    def __post_init__(self):
        one_sided = self.better is not None
        if one_sided == (self.within is not None):
            raise ValueError("claims.Rule: expected either better (higher/lower) with a threshold, "
                             f"or within (with an optional center); got better={self.better!r}, "
                             f"within={self.within!r}")
        if one_sided and (self.better not in ("higher", "lower") or self.threshold is None):
            raise ValueError("claims.Rule: expected better in {'higher', 'lower'} and a threshold, "
                             f"got better={self.better!r}, threshold={self.threshold!r}")
        if self.within is not None and self.within <= 0:
            raise ValueError(f"claims.Rule: expected within > 0, got {self.within}")
        if self.min_n < 1:
            raise ValueError(f"claims.Rule: expected min_n >= 1, got {self.min_n}")

    def decide(self, lo: float, hi: float, n: int) -> str:
        if n < self.min_n or not (math.isfinite(lo) and math.isfinite(hi)):
            return INCONCLUSIVE
        if self.better == "higher":
            return HELD if lo > self.threshold else CONTRADICTED if hi < self.threshold else INCONCLUSIVE
        if self.better == "lower":
            return HELD if hi < self.threshold else CONTRADICTED if lo > self.threshold else INCONCLUSIVE
        a, b = self.center - self.within, self.center + self.within
        if a <= lo and hi <= b:
            return HELD
        return CONTRADICTED if hi < a or lo > b else INCONCLUSIVE

    def passes(self, value: float) -> bool:
        """Whether one exact value satisfies the rule."""
        if self.better == "higher":
            return value > self.threshold
        if self.better == "lower":
            return value < self.threshold
        return abs(value - self.center) <= self.within

    def describe(self, kind: str = "empirical") -> str:
        what = {"exact": "every exact value", "timing": "the whole 95% interval of the median ratio"}
        subj = what.get(kind, "the whole 95% interval")
        if self.better is not None:
            side = "above" if self.better == "higher" else "below"
            if kind == "exact":
                return f"held if {subj} lies {side} {self.threshold:g}; contradicted if any does not"
            other = "below" if self.better == "higher" else "above"
            return (f"held if {subj} lies {side} {self.threshold:g}; contradicted if it lies "
                    f"wholly {other}; else inconclusive (n >= {self.min_n})")
        if kind == "exact":
            return f"held if {subj} lies within {self.center:g} ± {self.within:g}"
        return (f"held if {subj} lies within {self.center:g} ± {self.within:g}; contradicted if it "
                f"lies wholly outside; else inconclusive (n >= {self.min_n})")


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim, as the catalogue states it before any run."""
    id: str
    words: str          # the outline's words, quoted (or the book's own claim)
    where: str          # where the outline says it (section or table row)
    chapter: str        # the chapter that measures it, e.g. "03_gru"
    measurement: str    # what one value of evidence is
    rule: Rule
    kind: str = "empirical"
    about: str = ""     # the regime the words are about, in words
    requires: dict = dataclasses.field(default_factory=dict)  # measured fields that regime needs
    control: str = ""   # the configuration the rule must judge the other way
    origin: str = "outline"  # "outline" or "book" (the book's own claims)
    unit: str = ""

    @property
    def entry_hash(self) -> str:
        """Hash of what decides the verdict (kind, measurement, rule): pre-registration."""
        return _entry_hash({"kind": self.kind, "measurement": self.measurement,
                            "rule": dataclasses.asdict(self.rule)})


def _entry_hash(d: dict) -> str:
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def _catalogue_dir() -> Path:
    """The book's catalogue (`chapters/claims`), or, outside the book's folder, the copy that ships
    in the wheel as `seqlib/book/catalogue`."""
    d = repo_root() / "chapters" / "claims"
    if d.is_dir():
        return d
    import importlib.resources
    return Path(str(importlib.resources.files("seqlib.book") / "catalogue"))


def _claim_from_entry(d: dict, chapter: str, source: str) -> Claim:
    missing = {"id", "words", "where", "measurement", "rule", "kind"} - set(d)
    if missing:
        raise ValueError(f"claims: {source}: claim {d.get('id', '?')} lacks {sorted(missing)}")
    if d["kind"] not in KINDS:
        raise ValueError(f"claims: {source}: claim {d['id']}: expected kind in {KINDS}, "
                         f"got {d['kind']!r}")
    if d["kind"] != "exact" and not d.get("control"):
        raise ValueError(f"claims: {source}: {d['kind']} claim {d['id']} names no control "
                         "(a configuration its rule must judge the other way)")
    if d["kind"] != "exact" and not d.get("about"):
        raise ValueError(f"claims: {source}: {d['kind']} claim {d['id']} does not say what "
                         "regime its words are about (`about`)")
    origin = d.get("origin", "outline")
    if origin not in ("outline", "book"):
        raise ValueError(f"claims: {source}: claim {d['id']}: origin must be outline or book")
    rule = dict(d["rule"])
    if d["kind"] == "exact":
        rule.setdefault("min_n", 1)
    elif d["kind"] == "timing":
        rule.setdefault("min_n", 10)
        rule.setdefault("log", True)
    return Claim(id=d["id"], words=d["words"], where=d["where"], chapter=d.get("chapter", chapter),
                 measurement=d["measurement"], rule=Rule(**rule), kind=d["kind"],
                 about=d.get("about", ""), requires=dict(d.get("requires") or {}),
                 control=d.get("control", ""), origin=origin, unit=d.get("unit", ""))


def load_catalogue(chapter: str | None = None, folder: Path | None = None) -> dict[str, Claim]:
    """Claims by id from ``chapters/claims/*.yml`` (one chapter's file, or all)."""
    import yaml

    folder = Path(folder) if folder is not None else _catalogue_dir()
    files = [folder / f"{chapter}.yml"] if chapter else sorted(folder.glob("[0-9]*.yml"))
    out: dict[str, Claim] = {}
    for f in files:
        if not f.exists():
            raise FileNotFoundError(f"claims: no catalogue {f} (expected chapters/claims/<chapter>.yml)")
        for d in yaml.safe_load(f.read_text()) or []:
            if d.get("id") in out:
                raise ValueError(f"claims: claim id {d['id']!r} is defined twice ({f.name})")
            out[d["id"]] = _claim_from_entry(d, f.stem, f.name)
    return out


# --- statistics -----------------------------------------------------------------------------------

def _t_quantile(p: float, df: int) -> float:
    """Student's t quantile by bisection on its CDF (Simpson's rule on the density)."""
    if df <= 0:
        return math.inf
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    dens = lambda t: c * (1 + t * t / df) ** (-(df + 1) / 2)

    def cdf(x, n=2000):
        h = x / n
        s = dens(0) + dens(x) + sum((4 if k % 2 else 2) * dens(k * h) for k in range(1, n))
        return 0.5 + s * h / 3

    lo, hi = 0.0, 1e3
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return (lo + hi) / 2


def interval(values: Sequence[float], level: float = 0.95, log: bool = False) -> tuple[float, float, float]:
    """(mean, lo, hi): the mean of ``values`` and its Student-t interval; with ``log`` the
    geometric mean and the interval computed on log(values). One value: (v, -inf, inf)."""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("claims.interval: expected at least one value, got none")
    if any(not math.isfinite(v) for v in vals):
        return (float("nan"), -math.inf, math.inf)
    if log:
        if min(vals) <= 0:
            raise ValueError(f"claims.interval: log scale needs values > 0, got {min(vals)}")
        m, lo, hi = interval([math.log(v) for v in vals], level)
        return (math.exp(m), math.exp(lo) if math.isfinite(lo) else 0.0, math.exp(hi))
    n, m = len(vals), statistics.fmean(vals)
    if n < 2:
        return (m, -math.inf, math.inf)
    half = _t_quantile(0.5 + level / 2, n - 1) * statistics.stdev(vals) / math.sqrt(n)
    return (m, m - half, m + half)


def median_interval(values: Sequence[float], level: float = 0.95, log: bool = True,
                    n_boot: int = 4000, seed: int = 0) -> tuple[float, float, float]:
    """(median, lo, hi): the median of ``values`` (per-round paired ratios) and a percentile
    bootstrap interval for it, computed on log(values) when ``log``. Deterministic (``seed``).
    The statistic is `seqlib.perf.timing.median_interval` (the book's one bootstrap of timing
    ratios); a claim adds two rules: no values is an error, and a non-finite value (a timing
    that was not run) gives (nan, -inf, inf)."""
    from seqlib.perf import timing  # perf sits below book: book may import it

    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("claims.median_interval: expected at least one value, got none")
    if any(not math.isfinite(v) for v in vals):
        return (float("nan"), -math.inf, math.inf)
    if log and min(vals) <= 0:
        raise ValueError(f"claims.median_interval: log scale needs values > 0, got {min(vals)}")
    return timing.median_interval(vals, level=level, log=log, n_boot=n_boot, seed=seed)


def _summarise(claim: Claim, values: list[float]) -> tuple[float, float, float, str]:
    """(centre, lo, hi, rule's verdict) for a kind."""
    r = claim.rule
    if claim.kind == "exact":
        lo, hi = min(values), max(values)
        centre = values[0] if len(set(values)) == 1 else statistics.median(values)
        ok = [r.passes(v) for v in values]
        word = HELD if all(ok) else CONTRADICTED
        return centre, lo, hi, word
    if claim.kind == "timing":
        m, lo, hi = median_interval(values, r.level, r.log)
    else:
        m, lo, hi = interval(values, r.level, r.log)
    return m, lo, hi, r.decide(lo, hi, len(values))


# --- verdicts ---------------------------------------------------------------------------------------

@dataclasses.dataclass
class Learned:
    """A model a verdict rests on, with its score and its baseline's (e.g. chance, a trigram).

    ``better``: "higher" (accuracy) or "lower" (loss, error rate). The model learned if it beat
    the baseline by more than ``margin`` (in the score's units; for "lower", score < baseline -
    margin)."""
    model: str
    score: float
    baseline: float
    better: str = "higher"
    margin: float = 0.0

    def __post_init__(self):
        if self.better not in ("higher", "lower"):
            raise ValueError(f"claims.Learned: expected better in {{'higher', 'lower'}}, got {self.better!r}")

    @property
    def ok(self) -> bool:
        if not (math.isfinite(self.score) and math.isfinite(self.baseline)):
            return False
        if self.better == "higher":
            return self.score > self.baseline + self.margin
        return self.score < self.baseline - self.margin


def _measured_default() -> dict:
    import torch

    return {"device": "cuda" if torch.cuda.is_available() else "cpu", "threads": torch.get_num_threads()}


def meets(measured: dict, requires: dict) -> bool:
    """Whether a measured regime meets what a claim's regime requires: numbers are minimums,
    strings must match (``any`` matches anything), lists are the allowed values."""
    for k, want in requires.items():
        have = measured.get(k)
        if want == "any":
            continue
        if have is None:
            return False
        if isinstance(want, bool) or isinstance(want, str):
            if have != want:
                return False
        elif isinstance(want, (int, float)):
            if not isinstance(have, (int, float)) or have < want:
                return False
        elif isinstance(want, (list, tuple)):
            if have not in want:
                return False
    return True


@dataclasses.dataclass
class Verdict:
    """A claim judged on one run's evidence, with its control, learning check and regime."""
    claim: Claim
    values: list[float]
    units: list[str]
    regime: str                      # where the evidence comes from: page, long, gpu
    setting: str
    mean: float                      # mean (empirical), median (timing), the value (exact)
    lo: float
    hi: float
    verdict: str                     # the rule's word, or NOT_LEARNED
    source: dict
    measured: dict = dataclasses.field(default_factory=dict)
    control: dict | None = None      # {values, mean, lo, hi, verdict, what}
    learned: list = dataclasses.field(default_factory=list)
    previous: dict | None = None     # the previous independent run (timing claims)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def valid(self) -> bool:
        """False when the control passes the claim's rule (the test could not fail)."""
        return self.control is None or self.control["verdict"] != HELD

    @property
    def where_meant(self) -> bool:
        return meets(self.measured, self.claim.requires)

    @property
    def status(self) -> str:
        """The claim's status where the outline means it."""
        if self.verdict == NOT_LEARNED:
            return NOT_LEARNED  # decides nothing, whatever its control gave
        if not self.valid:
            return INVALID
        if self.claim.kind != "exact" and self.control is None:
            return NO_CONTROL
        if not self.where_meant:
            return NOT_TESTED
        if self.previous is not None and self.previous.get("verdict") != self.verdict:
            return UNSTABLE
        return self.verdict

    def interval_text(self, fmt: str = ".3g") -> str:
        if self.claim.kind == "exact":
            if self.lo == self.hi:
                return f"{self.mean:{fmt}} (exact)"
            return f"{self.lo:{fmt}} to {self.hi:{fmt}} over {self.n} configurations (exact)"
        what = "median of " if self.claim.kind == "timing" else ""
        if not any(math.isfinite(v) for v in self.values):
            return "not measured on this run"  # e.g. a timing skipped (too few free cores)
        if not math.isfinite(self.lo) or not math.isfinite(self.hi):
            return f"{what}{self.mean:{fmt}} (n = {self.n}, no interval)"
        band = ""
        if self.claim.kind == "timing" and EQUIVALENCE_BAND[0] <= self.lo and self.hi <= EQUIVALENCE_BAND[1]:
            band = ", about the same"
        return f"{what}{self.mean:{fmt}} [{self.lo:{fmt}}, {self.hi:{fmt}}] (n = {self.n}{band})"

    def regime_text(self) -> str:
        """The measured regime as a badge: 'page · cpu · 1 thread · B=32, T=64'."""
        m = dict(self.measured)
        parts = [self.regime]
        if m.get("device"):
            parts.append(str(m.pop("device")))
        if m.get("threads") is not None:
            t = m.pop("threads")
            parts.append(f"{t} thread{'s' if t != 1 else ''}")
        parts += [f"{k} {v}" for k, v in m.items()]
        return " · ".join(parts)

    def sentence(self, fmt: str = ".3g") -> str:
        """One line for a page: the claim, the evidence and the verdict."""
        s = (f"“{self.claim.words}” ({self.claim.where}): {self.claim.measurement} = "
             f"{self.interval_text(fmt)} {self.claim.unit}".rstrip()
             + f"; rule: {self.claim.rule.describe(self.claim.kind)}. **Verdict: {self.verdict}** "
             f"({REGIMES[self.regime]}; {self.regime_text()}; {self.setting}).")
        if self.status != self.verdict:
            s += f" Status where the outline means it: **{self.status}**."
        return s

    def line(self, fmt: str = ".3g"):
        """One line where a chapter judges a claim (verdict, key number, regime), the details
        (the outline's words, rule, control, learning check, source) in a dropdown below."""
        from IPython.display import Markdown

        head = (f"**`{self.claim.id}`: {self.verdict}** · {self.interval_text(fmt)} "
                f"{self.claim.unit}".rstrip() + f" · *{self.regime_text()}*")
        if self.status != self.verdict:
            head += f" · where the outline means it: **{self.status}**"
        rows = [f"- **Claim**: “{self.claim.words}” ({self.claim.where}); about: "
                f"{self.claim.about or 'any regime'}.",
                f"- **Measurement**: {self.claim.measurement}; {self.setting}.",
                f"- **Rule** (fixed before the run): {self.claim.rule.describe(self.claim.kind)}."]
        if self.control is not None:
            c = self.control
            rows.append(f"- **Control** ({c['what']}): {_fmt_interval(c, fmt)} → "
                        f"{c['verdict']}" + ("" if self.valid else " — **the test is invalid**"))
        for L in self.learned:
            rows.append(f"- **Learned?** {L.model}: {L.score:{fmt}} vs baseline {L.baseline:{fmt}} "
                        f"({'yes' if L.ok else 'no'})")
        if self.previous is not None:
            rows.append(f"- **Previous independent run**: {self.previous.get('verdict')} "
                        f"({self.previous.get('interval', '')})")
        body = "\n".join(rows)
        return Markdown(f"{head}\n\n:::{{dropdown}} Evidence for `{self.claim.id}`\n{body}\n:::\n")

    def to_dict(self) -> dict:
        fin = lambda x: x if isinstance(x, (int, float)) and math.isfinite(x) else None
        return {"id": self.claim.id, "kind": self.claim.kind, "origin": self.claim.origin,
                "words": self.claim.words, "where": self.claim.where,
                "chapter": self.claim.chapter, "measurement": self.claim.measurement,
                "rule": dataclasses.asdict(self.claim.rule),
                "rule_text": self.claim.rule.describe(self.claim.kind),
                "entry_hash": self.claim.entry_hash, "about": self.claim.about,
                "requires": self.claim.requires,
                "unit": self.claim.unit, "values": self.values, "units": self.units,
                "regime": self.regime, "measured": self.measured, "regime_text": self.regime_text(),
                "setting": self.setting, "mean": fin(self.mean), "lo": fin(self.lo),
                "hi": fin(self.hi), "interval": self.interval_text(), "n": self.n,
                "verdict": self.verdict, "status": self.status, "valid": self.valid,
                "control": self.control,
                "learned": [dict(dataclasses.asdict(L), ok=L.ok) for L in self.learned],
                "previous": self.previous, "source": self.source}


def _fmt_interval(d: dict, fmt: str = ".3g") -> str:
    lo, hi = d.get("lo"), d.get("hi")
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{d['mean']:{fmt}} (n = {len(d['values'])})"
    if lo == hi:
        return f"{d['mean']:{fmt}}"
    return f"{d['mean']:{fmt}} [{lo:{fmt}}, {hi:{fmt}}] (n = {len(d['values'])})"


def page_source(**extra) -> dict:
    """Provenance of a page run: device, torch, date, commit, command and the machine."""
    import torch

    from seqlib.device import describe_machine, machine_info

    info = machine_info()
    return {"device": describe_machine(info), "torch": torch.__version__,
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "commit": _commit(), "command": "a chapter notebook, executed top to bottom",
            "machine": info, **extra}


def judge(claim: Claim | str, values: Iterable[float], *, units: Iterable[str] | None = None,
          regime: str = "page", setting: str = "", source: dict | None = None,
          catalogue: dict[str, Claim] | None = None, measured: dict | None = None,
          control: Iterable[float] | None = None, control_what: str | None = None,
          learned: Sequence[Learned] = ()) -> Verdict:
    """Applies ``claim``'s rule to ``values`` (one per unit: a seed, a round, a configuration).

    ``measured``: the regime the values were measured in (device, threads, sizes, steps, seeds;
    a timing claim must give the thread count it timed). ``control``: the control's values,
    measured with the same code (every empirical and timing claim needs one: :func:`check`
    fails without it).
    ``learned``: the models the verdict rests on, against their baselines."""
    if isinstance(claim, str):
        cat = catalogue if catalogue is not None else load_catalogue()
        if claim not in cat:
            raise KeyError(f"claims.judge: no claim {claim!r} in the catalogue (chapters/claims/*.yml)")
        claim = cat[claim]
    if regime not in REGIMES:
        raise ValueError(f"claims.judge: expected regime in {sorted(REGIMES)}, got {regime!r}")
    values = [float(v) for v in values]
    if not values:
        raise ValueError(f"claims.judge: claim {claim.id}: expected at least one value, got none")
    units = [str(u) for u in units] if units is not None else [f"run {i}" for i in range(len(values))]
    if len(units) != len(values):
        raise ValueError(f"claims.judge: claim {claim.id}: {len(values)} values but {len(units)} units")
    if claim.kind == "exact" and control is not None:
        raise ValueError(f"claims.judge: exact claim {claim.id} takes no control")
    m = {**_measured_default(), **(measured or {})}
    if claim.kind == "timing" and "threads" not in (measured or {}):
        m["threads"] = None  # unknown: check() fails (a timing verdict must say what it timed)
    mean, lo, hi, word = _summarise(claim, values)
    learned = list(learned)
    if any(not L.ok for L in learned):
        word = NOT_LEARNED
    ctl = None
    if control is not None:
        cv = [float(v) for v in control]
        if not cv:
            raise ValueError(f"claims.judge: claim {claim.id}: the control has no values")
        cm, clo, chi, cword = _summarise(claim, cv)
        ctl = {"what": control_what or claim.control, "values": cv, "mean": cm, "lo": clo,
               "hi": chi, "verdict": cword}
    return Verdict(claim, values, units, regime, setting, mean, lo, hi, word,
                   source if source is not None else page_source(), m, ctl, learned)


def check(verdicts: Sequence[Verdict]) -> None:
    """For the checks cell: every empirical and timing verdict has a control judged the other
    way (not *held*; a verdict already *did not learn* is exempt: it decides nothing), and every
    timing verdict says how many threads it timed."""
    bad = []
    for v in verdicts:
        if v.claim.kind != "exact" and v.control is None:
            bad.append(f"{v.claim.id}: no control ({v.claim.control})")
        elif v.claim.kind == "timing" and v.measured.get("threads") is None:
            bad.append(f"{v.claim.id}: timing verdict without the thread count it timed (measured=)")
        elif not v.valid and v.verdict != NOT_LEARNED:  # a model that did not learn decides nothing
            bad.append(f"{v.claim.id}: invalid test, the control ({v.control['what']}) passes the "
                       f"rule ({v.control['verdict']})")
    if bad:
        raise AssertionError("claims.check: " + "; ".join(bad))


# --- recording --------------------------------------------------------------------------------------

def results_path(chapter: str, local: bool = False) -> Path:
    folder = repo_root() / "chapters" / "results" / "claims"
    return (folder / "local" / f"{chapter}.json") if local else folder / f"{chapter}.json"


def record(chapter: str, verdicts: Sequence[Verdict], *, parameters: dict | None = None,
           defaults: dict | None = None) -> Path:
    """Writes a chapter's verdicts to chapters/results/claims/<chapter>.json, replacing what the
    chapter wrote before (a timing verdict keeps the previous run's verdict beside it). Every
    verdict must be about one of the chapter's claims, and every claim in the chapter's
    catalogue must get at least one verdict.

    With ``defaults`` (the parameters cell's values before papermill's injection) and
    ``parameters`` differing from them, the evidence goes to chapters/results/claims/local/
    (not committed) unless the environment sets SEQLIB_RECORD=1: a run at other parameters does
    not overwrite the book's evidence."""
    cat = load_catalogue(chapter)
    ids = {v.claim.id for v in verdicts}
    foreign = sorted(i for i in ids if i not in cat)
    if foreign:
        raise ValueError(f"claims.record: {chapter} recorded claims of another chapter: {foreign}")
    missing = sorted(set(cat) - ids)
    if missing:
        raise ValueError(f"claims.record: {chapter} gave no verdict for {missing}")
    params = parameters or {}
    local = defaults is not None and any(_jsonable(params.get(k, v)) != _jsonable(v)
                                         for k, v in defaults.items())
    if os.environ.get("SEQLIB_RECORD") == "1":
        local = False
    path = results_path(chapter, local)
    written = page_source(command=f"chapters/{chapter}.ipynb executed top to bottom "
                                  f"(make test, make book or papermill) with {params}")
    old = {}
    if path.exists():
        try:
            prev_doc = json.loads(path.read_text())
            for d in prev_doc.get("verdicts", []):
                if d.get("kind") == "timing":
                    old[(d["id"], d.get("regime"), d.get("setting"))] = (d, prev_doc.get("written", {}))
        except (json.JSONDecodeError, KeyError):
            old = {}
    out = []
    for v in verdicts:
        if v.claim.kind == "timing" and v.previous is None:
            hit = old.get((v.claim.id, v.regime, v.setting))
            if hit is not None:
                d, w = hit
                v.previous = {"verdict": d.get("verdict"), "interval": d.get("interval", ""),
                              "date": w.get("date"), "commit": w.get("commit"),
                              "values": d.get("values")}
        out.append(v.to_dict())
    doc = {"chapter": chapter, "written": written, "parameters": params, "verdicts": out}
    atomic_write_text(path, json.dumps(doc, indent=1, default=_json_default) + "\n")
    return path


def _json_default(x):
    if isinstance(x, float):
        return x
    if hasattr(x, "item"):
        return x.item()
    return str(x)


def _jsonable(x):
    return json.loads(json.dumps(x, default=_json_default, sort_keys=True))


def load_verdicts(chapter: str | None = None) -> list[dict]:
    """Recorded verdicts (dicts, as written by :func:`record`) of one chapter or of all."""
    folder = repo_root() / "chapters" / "results" / "claims"
    files = [folder / f"{chapter}.json"] if chapter else sorted(folder.glob("*.json"))
    out = []
    for f in files:
        if f.exists():
            for d in json.loads(f.read_text())["verdicts"]:
                # records written before statuses existed: a non-exact one without a control is no test
                if "status" not in d:
                    no_ctl = d.get("kind", "empirical") != "exact" and d.get("control") is None
                    d["status"] = NO_CONTROL if no_ctl else d["verdict"]
                out.append(d)
    return out


def primary(verdicts: Sequence[dict | Verdict]) -> dict | Verdict | None:
    """The verdict that settles a claim: one measured where the outline means it first, then a
    long run's or a GPU record's over the page's (the longer budget decides)."""
    order = {"long": 0, "gpu": 1, "page": 2}

    def key(v):
        d = v.to_dict() if isinstance(v, Verdict) else v
        meant = d.get("status") != NOT_TESTED
        return (0 if meant else 1, order[d["regime"]])
    return min(verdicts, key=key) if verdicts else None


# --- amendments (pre-registration kept) --------------------------------------------------------------

def _git(*args) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, cwd=repo_root(), timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def amendments(chapter: str | None = None) -> list[dict]:
    """Changes to catalogue entries made after the entry's first recorded evidence, from git:
    per change, the claim, the commit and date, what changed (kind/measurement/rule), the earlier
    and the new entry, and the verdict recorded under the earlier entry (the last evidence
    committed before the change). Empty when git history is unavailable."""
    folder = "chapters/claims"
    chapters = [chapter] if chapter else sorted(p.stem for p in _catalogue_dir().glob("[0-9]*.yml"))
    out = []
    import yaml

    for ch in chapters:
        log = _git("log", "--reverse", "--format=%H %cI", "--", f"{folder}/{ch}.yml")
        ev_log = _git("log", "--reverse", "--format=%H %cI", "--", f"chapters/results/claims/{ch}.json")
        if log is None or ev_log is None:
            continue
        evidence = []  # (date, commit, {id: verdict dict})
        for line in ev_log.split("\n"):
            if not line.strip():
                continue
            h, date = line.split()
            txt = _git("show", f"{h}:chapters/results/claims/{ch}.json")
            try:
                vs = {d["id"]: d for d in json.loads(txt)["verdicts"]} if txt else {}
            except (json.JSONDecodeError, KeyError, TypeError):
                vs = {}
            evidence.append((date, h, vs))
        prev: dict[str, dict] = {}
        for line in log.split("\n"):
            if not line.strip():
                continue
            h, date = line.split()
            txt = _git("show", f"{h}:{folder}/{ch}.yml")
            try:
                entries = {d["id"]: d for d in (yaml.safe_load(txt) or [])} if txt else {}
            except yaml.YAMLError:
                continue
            for cid, d in entries.items():
                cur = {"kind": d.get("kind", "empirical"), "measurement": d.get("measurement"),
                       "rule": d.get("rule")}
                if cid in prev and _entry_hash(prev[cid]) != _entry_hash(cur):
                    before = [e for e in evidence if e[0] < date and cid in e[2]]
                    if before:
                        last = before[-1][2][cid]
                        changed = [k for k in ("kind", "measurement", "rule") if prev[cid].get(k) != cur.get(k)]
                        out.append({"id": cid, "chapter": ch, "commit": h[:7], "date": date,
                                    "changed": changed, "before": prev[cid], "after": cur,
                                    "first_evidence": before[0][0],
                                    "verdict_before": last.get("verdict"),
                                    "interval_before": last.get("interval") or _fmt_interval(last)
                                    if last.get("mean") is not None else ""})
                prev[cid] = cur
    return out


# --- display ----------------------------------------------------------------------------------------

_COLOURS = {HELD: "#2e7d32", CONTRADICTED: "#c62828", INCONCLUSIVE: "#9e9e9e", NOT_LEARNED: "#bdbdbd"}


def _badge(d: dict) -> str:
    return d.get("regime_text") or d["regime"]


def table(verdicts: Sequence[Verdict | dict], fmt: str = ".3g", chapter_col: bool = False):
    """A compact Markdown table: claim, kind, evidence, verdict, measured regime, and the status
    where the outline means it."""
    from IPython.display import Markdown

    head = (["chapter"] if chapter_col else []) + ["claim", "kind", "evidence", "verdict",
                                                  "measured in", "where the outline means it"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in verdicts:
        d = v.to_dict() if isinstance(v, Verdict) else v
        ev = d.get("interval") or _fmt_interval(d, fmt)
        cells = ([d["chapter"]] if chapter_col else []) + [
            f"`{d['id']}`: “{d['words']}”", d.get("kind", "empirical"), ev, f"**{d['verdict']}**",
            _badge(d), d.get("status", d["verdict"])]
        rows.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return Markdown("\n".join(rows))


def forest(verdicts: Sequence[Verdict | dict], title: str | None = None):
    """A forest plot: one row per claim, its effect and interval against its rule's threshold
    (or band), coloured by verdict; exact claims as diamonds, a hollow marker when the control
    passed (invalid) or the regime is not where the outline means it. Returns the Figure."""
    from matplotlib.figure import Figure

    ds = [v.to_dict() if isinstance(v, Verdict) else v for v in verdicts]
    fig = Figure(figsize=(8, 0.42 * len(ds) + 0.9))
    if not ds:
        return fig
    axes = fig.subplots(len(ds), 1, squeeze=False)[:, 0]
    for ax, d in zip(axes, ds, strict=True):
        r = d["rule"]
        col = _COLOURS.get(d["verdict"], "#9e9e9e")
        m, lo, hi = d["mean"], d.get("lo"), d.get("hi")
        xs = [x for x in (m, lo, hi) if x is not None and math.isfinite(x)]
        ref = [r["threshold"]] if r.get("threshold") is not None else [r["center"] - r["within"],
                                                                        r["center"] + r["within"]]
        for x in ref:
            ax.axvline(x, color="k", lw=0.8, ls="--")
        if r.get("within") is not None:
            ax.axvspan(ref[0], ref[1], color="#e0e0e0", zorder=0)
        if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi) and lo != hi:
            ax.plot([lo, hi], [0, 0], color=col, lw=2.5, solid_capstyle="butt")
        hollow = not d.get("valid", True) or d.get("status") in (NOT_TESTED, NO_CONTROL)
        if m is not None and math.isfinite(m):
            ax.plot([m], [0], marker="D" if d.get("kind") == "exact" else "o", ms=6, color=col,
                    mfc="white" if hollow else col)
        span = xs + ref
        if r.get("log") and min(span) > 0:
            ax.set_xscale("log")
        lo_x, hi_x = min(span), max(span)
        pad = (hi_x - lo_x) * 0.15 or abs(hi_x) * 0.1 or 0.1
        if ax.get_xscale() == "log":
            ax.set_xlim(lo_x / 1.3, hi_x * 1.3)
        else:
            ax.set_xlim(lo_x - pad, hi_x + pad)
        ax.set_yticks([])
        ax.set_ylim(-1, 1)
        ax.tick_params(axis="x", labelsize=7, pad=1)
        for s in ("top", "right", "left"):
            ax.spines[s].set_visible(False)
        ax.set_ylabel(f"{d['id']}\n{d['verdict']}", rotation=0, ha="right", va="center", fontsize=7.5,
                      color=col)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.32, right=0.97, hspace=1.6, top=1 - 0.35 / fig.get_figheight(),
                        bottom=0.4 / fig.get_figheight())
    return fig


class Text(str):
    """A string that displays without quotes (for myst-nb ``{glue}`` in prose)."""
    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        return str(self)


def glue_text(name: str, value, fmt: str | None = None) -> None:
    """Glues ``value`` (formatted with ``fmt`` when given) under ``name``, shown without quotes:
    write ``{glue}`name``` in a Markdown cell. Numbers in prose go through here."""
    from myst_nb import glue

    glue(name, Text(format(value, fmt) if fmt else str(value)), display=False)


def glue_verdict(prefix: str, v: Verdict, fmt: str = ".3g") -> None:
    """Glues ``<prefix>_verdict``, ``_status``, ``_mean``, ``_lo``, ``_hi``, ``_n``, ``_interval``,
    ``_regime`` and ``_control`` for the page's prose, so no verdict word or number is typed."""
    glue_text(f"{prefix}_verdict", v.verdict)
    glue_text(f"{prefix}_status", v.status)
    glue_text(f"{prefix}_mean", v.mean, fmt)
    glue_text(f"{prefix}_lo", v.lo, fmt)
    glue_text(f"{prefix}_hi", v.hi, fmt)
    glue_text(f"{prefix}_n", v.n)
    glue_text(f"{prefix}_interval", v.interval_text(fmt))
    glue_text(f"{prefix}_regime", v.regime_text())
    glue_text(f"{prefix}_control", v.control["verdict"] if v.control else "no control (exact)")
