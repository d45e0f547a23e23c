"""Date normalisation: a date written by Babel in one of many locales and formats -> ISO yyyy-mm-dd.

Each date between `start` and `end` is written in the locales of `LOCALES` with the CLDR formats
full, long, medium and short plus the custom patterns of `PATTERNS` ("mardi 24 novembre 2026",
"24.11.26", "November 24, 2026" -> "2026-11-24"). Some renderings name several dates: "3/4/26"
is 4 March in en_US (M/d/yy) and 3 April in es_ES (d/M/yy). Such a string has no single right
answer, so it is removed from the task (`notes` says how many). Two-digit years are read in the
window of the default range 1950-2049 (50..99 -> 19xx, 00..49 -> 20xx), so they stay unique.

Splits are by DATE, fixed by the seed: a test date never appears, in any rendering, in training
or validation. Each date contributes `per_date` renderings drawn (seeded) from its unambiguous ones.
Inputs and outputs are characters.
"""
from __future__ import annotations

import datetime as dt
import random

from ._sources import source
from .pairs import PairData, make_pair_data

LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "nl_NL", "pt_BR", "sv_SE", "fi_FI",
           "pl_PL", "cs_CZ", "tr_TR", "da_DK")
CLDR_FORMATS = ("full", "long", "medium", "short")
PATTERNS = ("d MMM y", "EEE, d MMM y", "dd.MM.y", "MMMM d, y", "d.M.yy", "y/M/d")


def _patterns(locales, formats) -> list:
    """[(locale, format, compiled pattern)] for every combination (compiled once: 2x faster)."""
    babel, dates = source("babel"), source("babel.dates")  # Babel: the `data` extra
    out = []
    for loc in locales:
        locale = babel.Locale.parse(loc)
        for f in formats:
            pattern = dates.get_date_format(f, locale=locale) if f in CLDR_FORMATS else dates.parse_pattern(f)
            out.append((loc, f, locale, pattern))
    return out


def render(date: dt.date, locale: str, fmt: str) -> str:
    """One rendering of date, e.g. render(date(2026, 11, 24), 'fr_FR', 'full') -> 'mardi 24 novembre 2026'."""
    return source("babel.dates").format_date(date, fmt, locale=locale)


def load_dates(n_dates: int = 3000, per_date: int = 3, val_frac: float = 0.1, test_frac: float = 0.1,
               seed: int = 0, start: dt.date = dt.date(1950, 1, 1), end: dt.date = dt.date(2049, 12, 31),
               locales=LOCALES, formats=CLDR_FORMATS + PATTERNS) -> PairData:
    """Fixed train/val/test splits of the dates task, disjoint in dates (see the module docstring).

    n_dates: how many distinct dates (drawn by the seed from start..end); per_date: renderings of
    each, drawn (seeded) from its (locale, format) combinations, distinct and unambiguous.
    """
    if not 0 < val_frac < 1 or not 0 < test_frac < 1 or val_frac + test_frac >= 1:
        raise ValueError(f"dates: expected val_frac and test_frac in (0, 1) summing below 1, got {val_frac}, {test_frac}")
    if end.year - start.year >= 100:
        raise ValueError(f"dates: two-digit years ('24.11.26') are unique only within a century; expected "
                         f"a range of less than 100 years, got {start.year}..{end.year}")
    span = (end - start).days + 1
    if not 0 < n_dates <= span:
        raise ValueError(f"dates: expected 1 <= n_dates <= {span} (days from {start} to {end}), got {n_dates}")
    rng = random.Random(seed)
    dates = [start + dt.timedelta(days=d) for d in rng.sample(range(span), n_dates)]
    patterns = _patterns(locales, formats)
    n_test, n_val = round(n_dates * test_frac), round(n_dates * val_frac)
    split_dates = {"test": dates[:n_test], "val": dates[n_test:n_test + n_val], "train": dates[n_test + n_val:]}
    splits, rejected = {}, 0
    for split, ds in split_dates.items():
        items = []
        for d in ds:
            # Within one century two dates render alike only when one is the other with day and
            # month swapped ("3/4/26": 4 March in en_US, 3 April in es_ES), and only in an all-digit
            # rendering (a month name or a weekday tells them apart).
            swap = d.replace(month=d.day, day=d.month) if d.day <= 12 and d.day != d.month else None
            swapped: set | None = None
            chosen: list[str] = []
            for loc, f, locale, pattern in rng.sample(patterns, len(patterns)):
                text = pattern.apply(d, locale)
                if text in chosen:
                    continue
                if swap is not None and not any(c.isalpha() for c in text):
                    if swapped is None:
                        swapped = {p.apply(swap, lc) for _, _, lc, p in patterns}
                    if text in swapped:
                        rejected += 1
                        continue
                chosen.append(text)
                if len(chosen) == per_date:
                    break
            iso = d.isoformat()
            items += [(text, [iso], [iso]) for text in chosen]
        rng.shuffle(items)
        splits[split] = items
    return make_pair_data("dates", splits, notes=f"split by date ({len(split_dates['train'])}/"
                          f"{len(split_dates['val'])}/{len(split_dates['test'])} dates, disjoint); "
                          f"{rejected} renderings skipped as ambiguous (day/month swap)")
