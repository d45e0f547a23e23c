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


    def kneser_ney(self, n: int = 5, discount: float | None = None) -> "KneserNey":
        """An interpolated Kneser-Ney n-gram model counted on the training split (see `KneserNey`)."""
        return KneserNey(self.ids["train"], self.vocab_size, n, discount)

    def kneser_ney_loss(self, split: str = "val", n: int = 5, discount: float | None = None,
                        limit: int | None = None) -> float:
        """Cross-entropy in nats/char on `split` of `kneser_ney(n, discount)`; like `ngram_loss`,
        the first n-1 characters are not scored and `limit` scores only the first `limit`."""
        return self.kneser_ney(n, discount).loss(self._split(split)[:limit])


class KneserNey:
    r"""Interpolated Kneser-Ney smoothing of character n-grams (Chen & Goodman 1999, eq. 17).

    For a context h of k-1 characters and its shortening h' (the first character dropped),

    .. math::
        p_k(c \mid h) = \frac{\max(N_k(hc) - D_k, 0) + D_k\, T_k(h)\, p_{k-1}(c \mid h')}{\sum_{c'} N_k(hc')},
        \qquad p_0(c) = 1 / V,

    where T_k(h) is the number of characters c with N_k(hc) > 0. The highest order (k = n) counts
    N_n = the n-gram's count in the training text; every lower order counts N_k(g) = the number
    of distinct characters seen before g (its continuation count). A context never seen at order
    k falls back to p_{k-1}. So each p_k sums to 1 over the V characters, and every character has
    a probability of at least D_1 T_1 / (V sum N_1) > 0. D_k defaults to Ney's estimate
    n1 / (n1 + 2 n2) from the order's counts of counts (n1 k-grams counted once, n2 twice).

    Args:
        train_ids: (N,) long, the training text's ids.  vocab_size: V.  n: the order (1..6).
        discount: one D for every order, or None for Ney's estimate per order.
    """

    def __init__(self, train_ids: torch.Tensor, vocab_size: int, n: int = 5,
                 discount: float | None = None):
        if not isinstance(n, int) or not 1 <= n <= 6:  # V^6 codes still fit in an int64 for V < 1400
            raise ValueError(f"KneserNey: expected n in 1..6, got {n!r}")
        if discount is not None and not 0 < discount < 1:
            raise ValueError(f"KneserNey: expected a discount in (0, 1) or None, got {discount!r}")
        if train_ids.dim() != 1 or len(train_ids) < n:
            raise ValueError(f"KneserNey: expected 1-D training ids of length >= n = {n}, "
                             f"got shape {tuple(train_ids.shape)}")
        self.V, self.n = vocab_size, n
        V = vocab_size
        grams = {}  # order k -> (sorted unique codes, their counts): the k-grams of the text
        for k in range(1, n + 1):
            code = torch.zeros(len(train_ids) - k + 1, dtype=torch.long)
            for j in range(k):
                code = code * V + train_ids[j:len(train_ids) - k + 1 + j]
            grams[k] = torch.unique(code, return_counts=True)
        self.orders = []  # per order k = 1..n: (codes, counts N_k, D_k, context codes, sum N_k, T_k)
        for k in range(1, n + 1):
            if k == n:
                codes, counts = grams[k]
            else:  # continuation counts: distinct (k+1)-grams ending in each k-gram
                codes, counts = torch.unique(grams[k + 1][0] % V ** k, return_counts=True)
            counts = counts.double()
            n1, n2 = float((counts == 1).sum()), float((counts == 2).sum())
            d = discount if discount is not None else (n1 / (n1 + 2 * n2) if n1 > 0 else 0.5)
            ctx, inverse = torch.unique(codes // V, return_inverse=True)  # contexts, sorted
            total = torch.zeros(len(ctx), dtype=torch.float64).index_add_(0, inverse, counts)
            types = torch.bincount(inverse, minlength=len(ctx)).double()
            self.orders.append((codes, counts, d, ctx, total, types))

    @staticmethod
    def _lookup(keys, values, query):  # values[key == query], 0 where the key is absent
        idx = torch.searchsorted(keys, query).clamp(max=len(keys) - 1)
        return torch.where(keys[idx] == query, values[idx], torch.zeros((), dtype=values.dtype))

    def prob(self, grams: torch.Tensor) -> torch.Tensor:
        """p(last character | the n-1 before it) for each row of grams (M, n) long -> (M,) float64."""
        if grams.dim() != 2 or grams.size(1) != self.n:
            raise ValueError(f"KneserNey.prob: expected n-grams (M, {self.n}), got {tuple(grams.shape)}")
        p = torch.full((len(grams),), 1.0 / self.V, dtype=torch.float64)  # p_0: uniform
        for k, (codes, counts, d, ctx, total, types) in enumerate(self.orders, start=1):
            q = torch.zeros(len(grams), dtype=torch.long)
            for j in range(self.n - k, self.n):  # the last k characters as one code
                q = q * self.V + grams[:, j]
            s = self._lookup(ctx, total, q // self.V)  # (M,) sum over c of N_k(h c)
            t = self._lookup(ctx, types, q // self.V)
            c = self._lookup(codes, counts, q)
            seen = s > 0
            p = torch.where(seen, ((c - d).clamp(min=0) + d * t * p) / s.clamp(min=1), p)
        return p

    def probs(self, context) -> torch.Tensor:
        """The distribution (V,) float64 over the next character after `context` (n-1 ids)."""
        context = torch.as_tensor(context, dtype=torch.long).reshape(-1)
        if len(context) != self.n - 1:
            raise ValueError(f"KneserNey.probs: expected a context of {self.n - 1} ids, got {len(context)}")
        grams = torch.cat([context.expand(self.V, -1), torch.arange(self.V).unsqueeze(1)], 1)  # (V, n)
        return self.prob(grams)

    def loss(self, ids: torch.Tensor) -> float:
        """Cross-entropy in nats/char on a text ids (N,); its first n-1 characters are not scored."""
        if ids.dim() != 1 or len(ids) < self.n:
            raise ValueError(f"KneserNey.loss: expected 1-D ids longer than n - 1 = {self.n - 1}")
        grams = ids.unfold(0, self.n, 1)  # (N - n + 1, n)
        return float(-self.prob(grams).log().mean())


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
