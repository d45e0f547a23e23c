"""Labelled texts to padded id tensors: tokenising, a vocabulary built on the training split only,
and the split container the text-classification loaders return.

Shape legend: N texts, T longest text in the split (tokens, after truncation to max_len).
"""
from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import torch

from seqlib.tokens import PAD, UNK  # noqa: E402
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize_words(text: str) -> list[str]:
    """Lower-cased words, numbers and single punctuation marks: "Don't stop." -> ["don't", 'stop', '.']."""
    return _WORD.findall(text.lower())


def tokenize_chars(text: str) -> list[str]:
    return list(text)


TOKENIZERS = {"word": tokenize_words, "char": tokenize_chars}


def build_vocab(token_lists, min_count: int = 1, max_size: int | None = None) -> list[str]:
    """'<pad>', '<unk>', then tokens seen at least min_count times, most frequent first (ties by token)."""
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    if max_size is not None:
        kept = kept[: max(max_size - 2, 0)]
    return ["<pad>", "<unk>"] + kept


def encode(token_lists, vocab: list[str], max_len: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Ids (N, T) padded with 0 and lengths (N,); unknown tokens -> 1; texts cut to max_len tokens.
    An empty text becomes a single '<unk>' so that every length is at least 1."""
    index = {t: i for i, t in enumerate(vocab)}
    rows = [[index.get(t, UNK) for t in tokens][:max_len] or [UNK] for tokens in token_lists]
    if not rows:
        raise ValueError("textdata: expected at least one text to encode")
    lengths = torch.tensor([len(r) for r in rows])
    X = torch.full((len(rows), int(lengths.max())), PAD, dtype=torch.long)  # (N, T)
    for i, r in enumerate(rows):
        X[i, : len(r)] = torch.tensor(r)
    return X, lengths


def stratified_split(items: list[tuple[str, int]], val_frac: float, test_frac: float, seed: int,
                     who: str) -> dict[str, list[tuple[str, int]]]:
    """Per label, a seeded shuffle cut into test, val, train (in that order); each split reshuffled."""
    if not 0 <= val_frac < 1 or not 0 <= test_frac < 1 or val_frac + test_frac >= 1:
        raise ValueError(f"{who}: expected val_frac and test_frac in [0, 1) summing below 1, got {val_frac} and {test_frac}")
    rng = random.Random(seed)
    by_label: dict[int, list[str]] = defaultdict(list)
    for text, label in items:
        by_label[label].append(text)
    out: dict[str, list[tuple[str, int]]] = {"train": [], "val": [], "test": []}
    for label in sorted(by_label):
        texts = by_label[label][:]
        rng.shuffle(texts)
        n_test, n_val = round(len(texts) * test_frac), round(len(texts) * val_frac)
        out["test"] += [(t, label) for t in texts[:n_test]]
        out["val"] += [(t, label) for t in texts[n_test:n_test + n_val]]
        out["train"] += [(t, label) for t in texts[n_test + n_val:]]
    for split in out.values():
        rng.shuffle(split)
    return out


@dataclass
class TextData:
    """Padded ids, lengths and labels per split, plus the vocabulary (from train only) and classes."""

    train: tuple  # (X (N, T) long, lengths (N,) long, y (N,) long)
    val: tuple
    test: tuple
    vocab: list  # index -> token; 0 '<pad>', 1 '<unk>'
    classes: list  # index -> label name
    source: str  # where the texts came from and how they were split
    texts: dict = field(repr=False)  # split -> list of the raw texts, aligned with the tensors
    tokenizer: str = "word"
    max_len: int | None = None

    def encode(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Ids (N, T) and lengths (N,) of new texts with this vocabulary and tokenizer."""
        return encode([TOKENIZERS[self.tokenizer](t) for t in texts], self.vocab, self.max_len)

    def describe(self) -> str:
        sizes = ", ".join(f"{k} {len(getattr(self, k)[2])}" for k in ("train", "val", "test"))
        return (f"{self.source}: {len(self.classes)} classes; {sizes}; vocabulary {len(self.vocab)} "
                f"{self.tokenizer} tokens (from train)" + (f"; texts cut to {self.max_len} tokens" if self.max_len else ""))


def make_text_data(splits: dict[str, list[tuple[str, int]]], classes: list[str], source: str,
                   tokenizer: str = "word", min_count: int = 1, max_vocab: int | None = None,
                   max_len: int | None = None) -> TextData:
    """Tokenises each split, builds the vocabulary on splits['train'] only and encodes all three."""
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"textdata: expected tokenizer in {sorted(TOKENIZERS)}, got {tokenizer!r}")
    for name in ("train", "val", "test"):
        if not splits.get(name):
            raise ValueError(f"textdata: the {name} split of {source} is empty")
    tok = TOKENIZERS[tokenizer]
    tokens = {s: [tok(t) for t, _ in items] for s, items in splits.items()}
    vocab = build_vocab(tokens["train"], min_count, max_vocab)
    tensors = {}
    for s, items in splits.items():
        X, lengths = encode(tokens[s], vocab, max_len)
        tensors[s] = (X, lengths, torch.tensor([lab for _, lab in items]))
    return TextData(tensors["train"], tensors["val"], tensors["test"], vocab, list(classes), source,
                    {s: [t for t, _ in items] for s, items in splits.items()}, tokenizer, max_len)
