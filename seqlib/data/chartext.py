"""Character-level text from real English prose: the Python standard library's docstrings.

`char_text()` splits the docstrings (see `seqlib.data.docstrings`) into train, validation and test
by *docstring*, with a seeded permutation, so no docstring is split across two sets. Whitespace
runs are collapsed to one space by default (docstrings are indented and wrapped; the line breaks
carry layout, not language), and the docstrings of one split are joined with a newline, which
therefore marks "a new docstring begins". The vocabulary is read from the training split alone:
characters seen fewer than `min_count` times there, and any character that appears only in
validation or test, map to id 0, `<unk>`.

Shape legend: N windows, T characters per window.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import torch

from .docstrings import describe as _describe_corpus
from .docstrings import stdlib_docstrings

UNK = "\x00"  # id 0; shown as '<unk>' by `CharText.describe`
SPLITS = ("train", "val", "test")


@dataclass
class CharText:
    """A fixed character-level split of the docstrings corpus, ready as id tensors.

    Attributes:
        vocab: the characters, index = id; vocab[0] is the unknown character.
        ids: split name -> 1-D long tensor of the split's characters (docstrings joined by '\\n').
        texts: split name -> list of the split's docstrings (after whitespace normalisation).
        description: what was read and how it was split.
    """

    vocab: list
    ids: dict
    texts: dict
    description: str
    stoi: dict = field(init=False, repr=False)

    def __post_init__(self):
        self.stoi = {ch: k for k, ch in enumerate(self.vocab)}

    def __repr__(self) -> str:
        return self.description

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> torch.Tensor:
        """Characters -> ids (T,) long; unknown characters -> 0."""
        if not isinstance(text, str):
            raise TypeError(f"CharText.encode: expected a str, got {type(text).__name__}")
        return torch.tensor([self.stoi.get(ch, 0) for ch in text], dtype=torch.long)

    def decode(self, ids) -> str:
        """ids (any shape that flattens to T) -> text; id 0 decodes to the unknown marker."""
        return "".join(self.vocab[int(k)] for k in torch.as_tensor(ids).reshape(-1))

    def _split(self, split: str) -> torch.Tensor:
        if split not in SPLITS:
            raise ValueError(f"CharText: expected split in {SPLITS}, got {split!r}")
        return self.ids[split]

    def windows(self, split: str, seq_len: int, n: int | None = None, seed: int = 0):
        """Next-character pairs (X, Y), each (N, seq_len) long: Y[:, t] is the character after X[:, t].

        n=None: every non-overlapping window of the split, in order (use this for evaluation).
        n given: n windows at random offsets drawn with `seed` (use this for training).
        """
        if not isinstance(seq_len, int) or seq_len < 1:
            raise ValueError(f"CharText.windows: expected seq_len to be a positive integer, got {seq_len!r}")
        data = self._split(split)
        span = seq_len + 1
        if len(data) < span:
            raise ValueError(f"CharText.windows: the {split} split has {len(data)} characters, fewer than seq_len + 1 = {span}")
        if n is None:
            count = (len(data) - 1) // seq_len
            starts = torch.arange(count) * seq_len  # (N,)
        else:
            if not isinstance(n, int) or n < 1:
                raise ValueError(f"CharText.windows: expected n to be a positive integer or None, got {n!r}")
            g = torch.Generator().manual_seed(seed)
            starts = torch.randint(0, len(data) - span + 1, (n,), generator=g)  # (N,)
        idx = starts.unsqueeze(1) + torch.arange(span).unsqueeze(0)  # (N, 1) + (1, T+1) -> (N, T+1)
        chunk = data[idx]  # (N, T+1)
        return chunk[:, :-1].contiguous(), chunk[:, 1:].contiguous()

    def unigram_loss(self, split: str = "val") -> float:
        """Cross-entropy in nats/char on `split` of the training split's character frequencies
        (add-one smoothed): the loss of a model that ignores all context. The baseline to beat."""
        data = self._split(split)
        counts = torch.bincount(self.ids["train"], minlength=self.vocab_size).double() + 1.0  # (V,)
        logp = (counts / counts.sum()).log()
        return float(-logp[data].mean())

    def ngram_loss(self, split: str = "val", n: int = 2, alpha: float = 0.1,
                   limit: int | None = None) -> float:
        """Cross-entropy in nats/char on `split` of an n-gram model counted on the training split:
        p(c | previous n-1 characters) = (count(context, c) + alpha) / (count(context) + alpha V),
        add-alpha smoothing. n = 1 is the unigram model (with add-alpha instead of add-one).
        The first n-1 characters of `split` are not scored (they have no full context); `limit`
        scores only the split's first `limit` characters."""
        if not isinstance(n, int) or not 1 <= n <= 4:
            raise ValueError(f"CharText.ngram_loss: expected n in 1..4, got {n!r}")
        if not alpha > 0:
            raise ValueError(f"CharText.ngram_loss: expected alpha > 0, got {alpha!r}")
        V = self.vocab_size

        def codes(ids):  # (N,) -> (N - n + 1,): the n-gram ending at each position, as one integer
            code = torch.zeros(len(ids) - n + 1, dtype=torch.long)
            for k in range(n):
                code = code * V + ids[k:len(ids) - n + 1 + k]
            return code

        train, data = self.ids["train"], self._split(split)[:limit]
        joint = torch.bincount(codes(train), minlength=V ** n).double()  # (V^n,) n-gram counts
        context = joint.view(-1, V).sum(1)  # (V^(n-1),) counts of each context
        c = codes(data)  # (M,)
        p = (joint[c] + alpha) / (context[c // V] + alpha * V)
        return float(-p.log().mean())


def _normalise(text: str, collapse_whitespace: bool) -> str:
    return " ".join(text.split()) if collapse_whitespace else text


def char_text(seed: int = 0, val_frac: float = 0.1, test_frac: float = 0.1, min_count: int = 5,
              collapse_whitespace: bool = True, docs: list | None = None) -> CharText:
    """The docstrings corpus as a character-level train/val/test split, fixed by `seed`.

    Args:
        seed: seeds the permutation of docstrings that assigns them to splits.
        val_frac, test_frac: fractions of docstrings for validation and test (the rest train).
        min_count: characters seen fewer times in the training split map to <unk> (id 0).
        collapse_whitespace: replace each run of whitespace by one space (default True).
        docs: the list of `Docstring`s (or strings) to split; default `stdlib_docstrings()`.
    """
    if not (0 < val_frac < 1 and 0 < test_frac < 1 and val_frac + test_frac < 1):
        raise ValueError(f"char_text: expected 0 < val_frac, test_frac and val_frac + test_frac < 1, "
                         f"got {val_frac!r} and {test_frac!r}")
    if docs is None:
        docs = stdlib_docstrings()
        source = _describe_corpus()
    else:
        source = f"{len(docs)} given documents"
    texts = [_normalise(d if isinstance(d, str) else d.text, collapse_whitespace) for d in docs]
    texts = [t for t in texts if t]
    n = len(texts)
    n_val, n_test = math.ceil(n * val_frac), math.ceil(n * test_frac)
    if n - n_val - n_test < 1:
        raise ValueError(f"char_text: {n} documents are too few to split into train/val/test")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    parts = {"val": order[:n_val], "test": order[n_val:n_val + n_test], "train": order[n_val + n_test:]}
    split_texts = {name: [texts[k] for k in sorted(parts[name])] for name in SPLITS}
    joined = {name: "\n".join(split_texts[name]) for name in SPLITS}
    counts = Counter(joined["train"])
    vocab = [UNK] + sorted(ch for ch, c in counts.items() if c >= min_count and ch != UNK)
    stoi = {ch: k for k, ch in enumerate(vocab)}
    ids = {name: torch.tensor([stoi.get(ch, 0) for ch in joined[name]], dtype=torch.long) for name in SPLITS}
    sizes = ", ".join(f"{name} {len(split_texts[name])} docs / {len(ids[name]):,} chars" for name in SPLITS)
    desc = (f"char-level text from the {source}: {sizes} (split by docstring, seed {seed}); "
            f"vocabulary {len(vocab)} characters from the training split (min count {min_count}, id 0 = <unk>)")
    return CharText(vocab, ids, split_texts, desc)
