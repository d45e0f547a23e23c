"""Sequence metrics: edit distance, phoneme (token) error rate, word (sequence) error rate.

A prediction is compared with every accepted reference (a word may have several pronunciations)
and scored against the closest one.
"""
from __future__ import annotations


def edit_distance(a, b) -> int:
    """Levenshtein distance between two sequences (insertions, deletions, substitutions cost 1)."""
    a, b = list(a), list(b)
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def _check(predictions, references) -> None:
    if len(predictions) != len(references) or not predictions:
        raise ValueError(f"metrics: expected as many predictions as reference lists (and at least one), "
                         f"got {len(predictions)} and {len(references)}")
    if any(len(refs) == 0 for refs in references):
        raise ValueError("metrics: every example needs at least one reference")


def closest_reference(prediction, refs) -> tuple[int, list]:
    """(edit distance, reference) of the reference closest to prediction (the shorter on ties)."""
    return min(((edit_distance(prediction, r), r) for r in refs), key=lambda dr: (dr[0], len(dr[1])))


def token_error_rate(predictions, references) -> float:
    """Sum of edit distances to the closest reference / sum of those references' lengths (PER)."""
    _check(predictions, references)
    errors = total = 0
    for p, refs in zip(predictions, references):
        d, r = closest_reference(p, refs)
        errors, total = errors + d, total + len(r)
    return errors / max(total, 1)


def sequence_error_rate(predictions, references) -> float:
    """Fraction of predictions that match none of their references exactly (WER for G2P)."""
    _check(predictions, references)
    return sum(list(p) not in [list(r) for r in refs] for p, refs in zip(predictions, references)) / len(predictions)


phoneme_error_rate = token_error_rate
word_error_rate = sequence_error_rate
