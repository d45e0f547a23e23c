"""Spelled-out number lists -> digits: a generated task whose output grows with its input.

A source is a list of ``k`` numbers (``k`` from 1 to `max_count`), each between 0 and
`max_value`, written out in English words and separated by commas, one token per word:
``forty two , nineteen , three`` -> ``42 19 3`` (target: one token per number, its digits).
With the default ``max_value=99`` an input of ``k`` numbers is about 2.8k tokens long and its
output k tokens of about 6.6 bits each, so what the decoder has to know about the source grows
with the length of the source (unlike dates, whose ISO form is always 10 characters).

Splits are fixed by the seed and disjoint in sources: the test set is drawn first, validation
next without any test source, training last without any test or validation source. ``k`` is
uniform, so every length from a few tokens to about ``4 * max_count`` tokens is about equally
frequent.
"""
from __future__ import annotations

import random

from .pairs import PairData, make_pair_data

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SEP = ","


def spell(n: int) -> list[str]:
    """English words of 0 <= n <= 999_999, one token per word: 742 -> ['seven', 'hundred',
    'forty', 'two']; 3008 -> ['three', 'thousand', 'eight']."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 999_999:
        raise ValueError(f"numbers.spell: expected an int between 0 and 999999, got {n!r}")
    if n < 20:
        return [ONES[n]]
    if n < 100:
        return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [ONES[n // 100], "hundred"] + (spell(n % 100) if n % 100 else [])
    return spell(n // 1000) + ["thousand"] + (spell(n % 1000) if n % 1000 else [])


def render(values) -> tuple[list[str], list[str]]:
    """(source tokens, target tokens) of a list of numbers: one target token per number."""
    src: list[str] = []
    for i, v in enumerate(values):
        src += ([SEP] if i else []) + spell(v)
    return src, [str(v) for v in values]


def load_numbers(n_train: int = 8000, n_val: int = 500, n_test: int = 1000, max_count: int = 16,
                 max_value: int = 99, seed: int = 0) -> PairData:
    """Fixed, source-disjoint splits of the number-list task (see the module docstring)."""
    for name, v in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test),
                    ("max_count", max_count)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"numbers.load_numbers: expected {name} to be a positive int, got {v!r}")
    if not 0 < max_value <= 999_999:
        raise ValueError(f"numbers.load_numbers: expected 0 < max_value <= 999999, got {max_value}")
    rng = random.Random(seed)
    seen: set[tuple] = set()
    splits = {}
    for split, n in (("test", n_test), ("val", n_val), ("train", n_train)):
        items, tries = [], 0
        while len(items) < n:
            tries += 1
            if tries > 50 * n + 1000:
                raise ValueError(f"numbers.load_numbers: cannot draw {n} distinct {split} sources "
                                 f"(max_count={max_count}, max_value={max_value}); ask for fewer")
            k = rng.randint(1, max_count)
            values = tuple(rng.randint(0, max_value) for _ in range(k))
            if values in seen:
                continue
            seen.add(values)
            src, tgt = render(values)
            items.append((src, [tgt], [tgt]))
        splits[split] = items
    lens = [len(s) for s, _, _ in splits["test"]]
    notes = (f"1-{max_count} numbers of 0-{max_value} per source, sources disjoint across splits; "
             f"test inputs {min(lens)}-{max(lens)} tokens")
    return make_pair_data("number lists", splits, notes)
