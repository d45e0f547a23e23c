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


def unpack(values: dict) -> dict:
    """The per-word lists of a `runs.g2p_eval` record's values: words, references (lists of
    phone lists), twin flags, the letter baseline's outputs, and per model its greedy and beam
    outputs (phone lists), and for the attention model the most-attended letter of each greedy
    step and the reference aligner's letter of each of those phones."""
    back = {c: p for p, c in values["alphabet"].items()}
    phones = lambda s: [back[c] for c in s]  # noqa: E731
    digits = lambda s: [int(c, 36) for c in s]  # noqa: E731
    out = {
        "words": values["words"].split("|"),
        "references": [[phones(r) for r in rs.split("/")] for rs in values["references"].split("|")],
        "twin": [c == "1" for c in values["twin_in_train"]],
        "letter_baseline": [phones(s) for s in values["letter_baseline"].split("|")],
        "aligned": [digits(s) for s in values["aligner"]["attention_greedy_aligned"].split("|")],
        "models": {},
    }
    for name, m in values["models"].items():
        out["models"][name] = {k: [phones(s) for s in m[k].split("|")] for k in ("greedy", "beam")}
        if "attention_argmax_greedy" in m:
            out["models"][name]["argmax"] = [digits(s) for s in m["attention_argmax_greedy"].split("|")]
    return out


def off_diagonal_agreement(attended, aligned, n_letters) -> list[float]:
    """Per word with at least one step whose reference letter (`aligned`) is not the
    position-only letter (`diagonal`): the fraction of those steps whose `attended` letter is the
    reference letter. attended, aligned: per word, a letter index per output phone."""
    out = []
    for att, ref, m in zip(attended, aligned, n_letters):
        pos = diagonal(len(ref), m) if ref else []
        steps = [(a, r) for a, r, p in zip(att, ref, pos) if r != p]
        if steps:
            out.append(sum(a == r for a, r in steps) / len(steps))
    return out


def exact_agreement(attended, aligned) -> float:
    """Pooled over all steps: the fraction whose attended letter is the reference letter."""
    hits = sum(a == r for att, ref in zip(attended, aligned) for a, r in zip(att, ref))
    return hits / max(sum(len(ref) for ref in aligned), 1)


class Vocabs:
    """The source and target vocabularies of a saved model, with `PairData`'s encode/decode, so
    `seqlib.train.seq2seq.decode` and `sequence_logprob` run on a loaded model's own vocabularies."""

    def __init__(self, src_vocab: list, tgt_vocab: list):
        self.src_vocab, self.tgt_vocab = list(src_vocab), list(tgt_vocab)

    def encode(self, sources):
        from seqlib.data.pairs import encode_sources
        return encode_sources(sources, self.src_vocab)

    def decode(self, ids):
        from seqlib.data.pairs import decode_targets
        return decode_targets(ids, self.tgt_vocab)


def marked(pred, refs) -> str:
    """The prediction with its errors against the closest reference called out: a wrong phone as
    [PRED>REF], a missing one as [+REF], an extra one as [-PRED]; a right one plain."""
    import difflib
    _, ref = closest_reference(pred, refs)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=pred, b=ref, autojunk=False).get_opcodes():
        if op == "equal":
            out += pred[i1:i2]
        elif op == "replace":
            out.append("[" + " ".join(pred[i1:i2]) + ">" + " ".join(ref[j1:j2]) + "]")
        elif op == "delete":
            out.append("[-" + " ".join(pred[i1:i2]) + "]")
        else:
            out.append("[+" + " ".join(ref[j1:j2]) + "]")
    return " ".join(out)
