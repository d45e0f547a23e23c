"""Claims as data: the course outline's words, a measurement, a rule fixed before the run, and a
verdict from evidence over seeds.

A **claim** (:class:`Claim`) is read from the catalogue ``chapters/claims/<chapter>.yml``, written
before any run: an ``id``, the outline's ``words`` and ``where`` they stand, the ``chapter`` that
measures it, the ``measurement`` (what one value of evidence is) and the decision ``rule``.

**Evidence** is a list of values, one per unit (a seed; a seed and a length), from one
**regime**: ``page`` (this page's own run on this machine, at the chapter's budget), ``long``
(a recorded long run, see ``runs/``) or ``gpu`` (a recorded GPU run). :func:`judge` summarises it
with a 95% interval for the mean (Student's t; on the log scale for ratios) and applies the rule:

* ``better: higher, threshold: t`` - *held* if the whole interval lies above t, *contradicted*
  if the whole interval lies below t, otherwise *inconclusive at this budget*;
* ``better: lower`` - the mirror image;
* ``within: m`` (and ``center: c``, default 0) - *held* if the interval lies inside
  [c - m, c + m], *contradicted* if it lies entirely outside, otherwise inconclusive.

Fewer than ``min_n`` values (default 3) is always inconclusive. A chapter calls :func:`record`
to write its verdicts to ``chapters/results/claims/<chapter>.json``; the book's summary pages read
them with :func:`load_verdicts`, so one question has one answer everywhere.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import statistics
from pathlib import Path
from typing import Iterable, Sequence


from seqlib.book.records import _commit, repo_root
from seqlib.io import atomic_write_text

HELD, CONTRADICTED, INCONCLUSIVE = "held", "contradicted", "inconclusive at this budget"
REGIMES = {
    "page": "this page's run (CPU, the chapter's budget)",
    "long": "a recorded long run",
    "gpu": "a recorded GPU run",
}


@dataclasses.dataclass(frozen=True)
class Rule:
    """A decision rule on the 95% interval of the evidence's mean (see the module docstring)."""
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
        if self.min_n < 2:
            raise ValueError(f"claims.Rule: expected min_n >= 2, got {self.min_n}")

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

    def describe(self) -> str:
        if self.better is not None:
            side = "above" if self.better == "higher" else "below"
            other = "below" if self.better == "higher" else "above"
            return (f"held if the whole 95% interval lies {side} {self.threshold:g}; contradicted "
                    f"if it lies wholly {other}; else inconclusive (n >= {self.min_n})")
        return (f"held if the whole 95% interval lies within {self.center:g} ± {self.within:g}; "
                f"contradicted if it lies wholly outside; else inconclusive (n >= {self.min_n})")


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of the course outline, as the catalogue states it before any run."""
    id: str
    words: str          # the outline's words, quoted
    where: str          # where the outline says it (section or table row)
    chapter: str        # the chapter that measures it, e.g. "03_gru"
    measurement: str    # what one value of evidence is
    rule: Rule
    unit: str = ""      # unit of a value, for display


def _catalogue_dir() -> Path:
    return repo_root() / "chapters" / "claims"


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
            missing = {"id", "words", "where", "measurement", "rule"} - set(d)
            if missing:
                raise ValueError(f"claims: {f.name}: claim {d.get('id', '?')} lacks {sorted(missing)}")
            if d["id"] in out:
                raise ValueError(f"claims: claim id {d['id']!r} is defined twice ({f.name})")
            out[d["id"]] = Claim(id=d["id"], words=d["words"], where=d["where"],
                                 chapter=d.get("chapter", f.stem), measurement=d["measurement"],
                                 rule=Rule(**d["rule"]), unit=d.get("unit", ""))
    return out


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


@dataclasses.dataclass
class Verdict:
    """A claim judged on one regime's evidence."""
    claim: Claim
    values: list[float]
    units: list[str]
    regime: str
    setting: str
    mean: float
    lo: float
    hi: float
    verdict: str
    source: dict

    @property
    def n(self) -> int:
        return len(self.values)

    def interval_text(self, fmt: str = ".3g") -> str:
        if not math.isfinite(self.lo) or not math.isfinite(self.hi):
            return f"{self.mean:{fmt}} (n = {self.n}, no interval)"
        return f"{self.mean:{fmt}} [{self.lo:{fmt}}, {self.hi:{fmt}}] (n = {self.n})"

    def sentence(self, fmt: str = ".3g") -> str:
        """One line for a page: the claim, the evidence and the verdict."""
        return (f"“{self.claim.words}” ({self.claim.where}): {self.claim.measurement} = "
                f"{self.interval_text(fmt)} {self.claim.unit}".rstrip()
                + f"; rule: {self.claim.rule.describe()}. **Verdict: {self.verdict}** "
                f"({REGIMES[self.regime]}; {self.setting}).")

    def to_dict(self) -> dict:
        return {"id": self.claim.id, "words": self.claim.words, "where": self.claim.where,
                "chapter": self.claim.chapter, "measurement": self.claim.measurement,
                "rule": dataclasses.asdict(self.claim.rule), "rule_text": self.claim.rule.describe(),
                "unit": self.claim.unit, "values": self.values, "units": self.units,
                "regime": self.regime, "setting": self.setting, "mean": self.mean,
                "lo": self.lo if math.isfinite(self.lo) else None,
                "hi": self.hi if math.isfinite(self.hi) else None,
                "n": self.n, "verdict": self.verdict, "source": self.source}


def page_source(**extra) -> dict:
    """Provenance of a page run: device, torch, date, commit, command and the machine (CPU
    model, ISA, threads, oneDNN/MKL builds)."""
    import torch

    from seqlib.device import describe_machine, machine_info

    info = machine_info()
    return {"device": describe_machine(info), "torch": torch.__version__,
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "commit": _commit(), "command": "a chapter notebook, executed top to bottom",
            "machine": info, **extra}


def judge(claim: Claim | str, values: Iterable[float], *, units: Iterable[str] | None = None,
          regime: str = "page", setting: str = "", source: dict | None = None,
          catalogue: dict[str, Claim] | None = None) -> Verdict:
    """Applies ``claim``'s rule to ``values`` (one per unit: a seed, a seed and a length, ...)."""
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
    mean, lo, hi = interval(values, claim.rule.level, claim.rule.log)
    word = claim.rule.decide(lo, hi, len(values))
    return Verdict(claim, values, units, regime, setting, mean, lo, hi, word,
                   source if source is not None else page_source())


def results_path(chapter: str) -> Path:
    return repo_root() / "chapters" / "results" / "claims" / f"{chapter}.json"


def record(chapter: str, verdicts: Sequence[Verdict], *, parameters: dict | None = None) -> Path:
    """Writes a chapter's verdicts (all regimes) to chapters/results/claims/<chapter>.json,
    replacing what the chapter wrote before. Every verdict must be about one of the chapter's
    claims, and every claim in the chapter's catalogue must get at least one verdict."""
    cat = load_catalogue(chapter)
    ids = {v.claim.id for v in verdicts}
    foreign = sorted(i for i in ids if i not in cat)
    if foreign:
        raise ValueError(f"claims.record: {chapter} recorded claims of another chapter: {foreign}")
    missing = sorted(set(cat) - ids)
    if missing:
        raise ValueError(f"claims.record: {chapter} gave no verdict for {missing}")
    written = page_source(command=f"chapters/{chapter}.ipynb executed top to bottom "
                                  f"(make test, make book or papermill) with {parameters or {}}")
    doc = {"chapter": chapter, "written": written, "parameters": parameters or {},
           "verdicts": [v.to_dict() for v in verdicts]}
    path = results_path(chapter)
    atomic_write_text(path, json.dumps(doc, indent=1, default=float) + "\n")
    return path


def load_verdicts(chapter: str | None = None) -> list[dict]:
    """Recorded verdicts (dicts, as written by :func:`record`) of one chapter or of all."""
    folder = repo_root() / "chapters" / "results" / "claims"
    files = [folder / f"{chapter}.json"] if chapter else sorted(folder.glob("*.json"))
    out = []
    for f in files:
        if f.exists():
            out += json.loads(f.read_text())["verdicts"]
    return out


def primary(verdicts: Sequence[dict | Verdict]) -> dict | Verdict | None:
    """The verdict that settles a claim: a long run's or a GPU record's over the page's (the
    longer budget decides), the page's when it is all there is."""
    order = {"long": 0, "gpu": 1, "page": 2}
    get = lambda v: v["regime"] if isinstance(v, dict) else v.regime
    return min(verdicts, key=lambda v: order[get(v)]) if verdicts else None


def table(verdicts: Sequence[Verdict | dict], fmt: str = ".3g", chapter_col: bool = False):
    """A Markdown table of verdicts: claim, measurement, evidence (interval, n), verdict, regime."""
    from IPython.display import Markdown

    rows = ["| " + ("chapter | " if chapter_col else "") + "claim (the course outline) | "
            "measurement | mean [95% interval] (n) | verdict | regime |",
            "|" + "---|" * (6 if chapter_col else 5)]
    for v in verdicts:
        d = v.to_dict() if isinstance(v, Verdict) else v
        lo, hi = d["lo"], d["hi"]
        ev = (f"{d['mean']:{fmt}} [{lo:{fmt}}, {hi:{fmt}}] ({d['n']})" if lo is not None and hi is not None
              else f"{d['mean']:{fmt}} ({d['n']}, no interval)")
        cells = ([d["chapter"]] if chapter_col else []) + [
            f"“{d['words']}” — {d['where']}", d["measurement"] + (f" ({d['unit']})" if d["unit"] else ""),
            ev, f"**{d['verdict']}**", REGIMES[d["regime"]] + (f"; {d['setting']}" if d["setting"] else "")]
        rows.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return Markdown("\n".join(rows))


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
    """Glues ``<prefix>_verdict``, ``_mean``, ``_lo``, ``_hi``, ``_n``, ``_interval`` for the
    page's prose (``{glue}`<prefix>_verdict```), so no verdict word or number is typed by hand."""
    glue_text(f"{prefix}_verdict", v.verdict)
    glue_text(f"{prefix}_mean", v.mean, fmt)
    glue_text(f"{prefix}_lo", v.lo, fmt)
    glue_text(f"{prefix}_hi", v.hi, fmt)
    glue_text(f"{prefix}_n", v.n)
    glue_text(f"{prefix}_interval", v.interval_text(fmt))
