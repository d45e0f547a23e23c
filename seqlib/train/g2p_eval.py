"""Per-word evaluation of grapheme-to-phoneme models: a monotonic letter-phone aligner (the
reference an attention map is read against), a letter-by-letter baseline, plural/possessive
twins, per-word errors and the test set's sampling uncertainty.

The aligner is hard EM over monotonic one-letter-per-phone alignments: each phone j of n is
aligned to a letter a_j of m with a_1 <= a_2 <= ... <= a_n (a letter may make several phones,
"x" -> K S, or none, a silent "e"), maximising sum_j log p(phone_j | letter_{a_j}). The table
p(phone | letter) starts from the diagonal alignment and is re-estimated from the best
alignments a few times, on training words only.

Shape legend: n phones, m letters.
"""
from __future__ import annotations

import math
import random
from collections import Counter, defaultdict

import numpy as np

from seqlib.train.metrics import closest_reference


def diagonal(n: int, m: int) -> list[int]:
    """The position-only alignment: phone i of n reads letter floor((i + 1/2) m / n) of m."""
    return [math.floor((i + 0.5) * m / n) for i in range(n)]


class MonotonicAligner:
    """Hard-EM monotonic aligner of phones to letters (see the module docstring).

    Args:
        pairs: (word, phones) training pairs.  iterations: EM rounds.  smoothing: add-k counts.
    """

    def __init__(self, pairs, iterations: int = 3, smoothing: float = 0.1):
        self.letters = sorted({c for w, _ in pairs for c in w})
        self.phones = sorted({p for _, ps in pairs for p in ps})
        self.li = {c: i for i, c in enumerate(self.letters)}
        self.pi = {p: i for i, p in enumerate(self.phones)}
        self.smoothing = smoothing
        counts = np.full((len(self.letters), len(self.phones)), smoothing)
        for w, ps in pairs:  # start: the diagonal alignment
            for j, a in enumerate(diagonal(len(ps), len(w))):
                counts[self.li[w[a]], self.pi[ps[j]]] += 1
        self._set(counts)
        for _ in range(iterations):
            counts = np.full_like(counts, smoothing)
            for w, ps in pairs:
                for j, a in enumerate(self.align(w, ps)):
                    counts[self.li[w[a]], self.pi[ps[j]]] += 1
            self._set(counts)

    def _set(self, counts):
        self.logp = np.log(counts / counts.sum(1, keepdims=True))  # (letters, phones)

    def align(self, word: str, phones) -> list[int]:
        """Letter index of each phone: the best monotonic alignment (Viterbi), (n,)."""
        m, n = len(word), len(phones)
        if n == 0:
            return []
        unk = math.log(1e-6)
        s = np.array([[self.logp[self.li[c], self.pi[p]] if c in self.li and p in self.pi else unk
                       for p in phones] for c in word])  # (m, n)
        best = np.empty((n, m))
        back = np.zeros((n, m), dtype=int)
        best[0] = s[:, 0]
        for j in range(1, n):
            run = np.maximum.accumulate(best[j - 1])  # max over letters k <= i
            arg = np.zeros(m, dtype=int)
            for i in range(1, m):  # argmax of the running max
                arg[i] = i if best[j - 1, i] >= run[i - 1] else arg[i - 1]
            best[j] = run + s[:, j]
            back[j] = arg
        a = [int(best[-1].argmax())]
        for j in range(n - 1, 0, -1):
            a.append(int(back[j, a[-1]]))
        return a[::-1]


def letter_baseline(aligner: MonotonicAligner, pairs):
    """A trivial predictor from the aligner's training alignments: each letter writes the phone
    string it most often made (possibly nothing). Returns predict(word) -> list of phones."""
    made = defaultdict(Counter)
    for w, ps in pairs:
        a = aligner.align(w, ps)
        groups = [[] for _ in w]
        for j, i in enumerate(a):
            groups[i].append(ps[j])
        for c, g in zip(w, groups):
            made[c][tuple(g)] += 1
    table = {c: list(cnt.most_common(1)[0][0]) for c, cnt in made.items()}

    def predict(word: str) -> list[str]:
        return [p for c in word for p in table.get(c, [])]

    return predict


def has_twin(word: str, train_words) -> bool:
    """Whether the training words hold a plural or possessive form of `word` or its stem
    (word+s, word+es, word+'s, word+s'; or word minus one of those endings)."""
    forms = {word + "s", word + "es", word + "'s", word + "s'"}
    for end in ("'s", "s'", "es", "s"):
        if word.endswith(end) and len(word) > len(end) + 1:
            stem = word[: -len(end)]
            forms |= {stem, stem + "s", stem + "'s", stem + "es"}
    forms.discard(word)
    return any(f in train_words for f in forms)


def word_errors(pred, refs) -> tuple[int, int, int]:
    """(wrong: 0/1, edits to the closest reference, that reference's length) for one word."""
    d, r = closest_reference(pred, refs)
    return int(d > 0), d, len(r)


def binomial_halfwidth(p: float, n: int, z: float = 1.96) -> float:
    """Half-width of the normal-approximation 95% interval of a rate p measured on n words."""
    return z * math.sqrt(p * (1 - p) / n)


def paired_bootstrap(a, b, rounds: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of mean(a - b) over words, resampling words (paired)."""
    d = np.asarray(a, float) - np.asarray(b, float)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), (rounds, len(d)))].mean(1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def sample_words(words, n: int, seed: int = 0) -> list[str]:
    """A fixed, seeded subset of `words` (all of them when n >= len(words)), order kept."""
    if n >= len(words):
        return list(words)
    keep = set(random.Random(seed).sample(list(words), n))
    return [w for w in words if w in keep]
