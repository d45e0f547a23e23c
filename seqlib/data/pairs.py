"""Source/target pairs for the encoder-decoder tasks (dates, grapheme-to-phoneme): vocabularies,
padding and a container for fixed splits.

Conventions (those of `seqlib.nn.seq2seq`): source ids 0 pad, 1 unknown; target ids 0 pad, 1 BOS,
2 EOS, 3 unknown. A target sequence y_1..y_n becomes tgt_in = BOS y_1..y_n and
tgt_out = y_1..y_n EOS (teacher forcing). Vocabularies come from the training split only.

Shape legend: N examples, T longest source, U longest target + 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

SRC_SPECIALS = ["<pad>", "<unk>"]
TGT_SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
from seqlib.tokens import BOS, EOS, PAD, SRC_UNK, TGT_UNK  # noqa: E402  (the layout above)


def build_vocab(sequences, specials) -> list:
    """specials + the sorted set of tokens in `sequences` (each a string or a list of tokens)."""
    return list(specials) + sorted({tok for seq in sequences for tok in seq} - set(specials))


def decode_targets(ids: torch.Tensor, tgt_vocab: list) -> list[list[str]]:
    """Target tokens of each row of ids (N, U'), up to (not including) the first EOS, padding
    skipped."""
    out = []
    for row in ids.tolist():
        toks = []
        for i in row:
            if i == EOS:
                break
            if i != PAD:
                toks.append(tgt_vocab[i])
        out.append(toks)
    return out


def encode_sources(sequences, vocab: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Ids (N, T) padded with 0 and lengths (N,); unknown tokens -> 1."""
    if not sequences or min(len(s) for s in sequences) == 0:
        raise ValueError("pairs: expected a non-empty list of non-empty source sequences")
    index = {t: i for i, t in enumerate(vocab)}
    lengths = torch.tensor([len(s) for s in sequences])
    X = torch.full((len(sequences), int(lengths.max())), PAD, dtype=torch.long)  # (N, T)
    for i, s in enumerate(sequences):
        X[i, : len(s)] = torch.tensor([index.get(t, SRC_UNK) for t in s])
    return X, lengths


def encode_targets(sequences, vocab: list) -> tuple[torch.Tensor, torch.Tensor]:
    """tgt_in (N, U) = BOS y..., tgt_out (N, U) = y... EOS, padded with 0; unknown tokens -> 3."""
    index = {t: i for i, t in enumerate(vocab)}
    U = max(len(s) for s in sequences) + 1
    tgt_in = torch.full((len(sequences), U), PAD, dtype=torch.long)  # (N, U)
    tgt_out = torch.full((len(sequences), U), PAD, dtype=torch.long)  # (N, U)
    for i, s in enumerate(sequences):
        ids = [index.get(t, TGT_UNK) for t in s]
        tgt_in[i, : len(ids) + 1] = torch.tensor([BOS] + ids)
        tgt_out[i, : len(ids) + 1] = torch.tensor(ids + [EOS])
    return tgt_in, tgt_out


@dataclass
class PairData:
    """Tensors (src (N, T), src_lengths (N,), tgt_in (N, U), tgt_out (N, U)) for each split, the
    vocabularies, the strings, and for each example every reference the task accepts."""

    name: str
    train: tuple
    val: tuple
    test: tuple
    src_vocab: list
    tgt_vocab: list
    sources: dict = field(repr=False)  # split -> list of source sequences
    references: dict = field(repr=False)  # split -> list of lists of accepted target sequences
    notes: str = ""

    def encode(self, sources) -> tuple[torch.Tensor, torch.Tensor]:
        """Source ids (N, T) and lengths (N,) of new inputs with this vocabulary."""
        return encode_sources(sources, self.src_vocab)

    def decode(self, ids: torch.Tensor) -> list[list[str]]:
        """Target tokens of each row of ids (N, U'), up to (not including) the first EOS."""
        return decode_targets(ids, self.tgt_vocab)

    def describe(self) -> str:
        sizes = ", ".join(f"{k} {len(getattr(self, k)[0])}" for k in ("train", "val", "test"))
        return (f"{self.name}: {sizes} examples; {len(self.src_vocab)} source and {len(self.tgt_vocab)} "
                f"target symbols (from train){'; ' + self.notes if self.notes else ''}")


def make_pair_data(name: str, splits: dict, notes: str = "") -> PairData:
    """splits: split -> list of (source, accepted targets, training targets). The first accepted
    target is the one in the tensors (for training and teacher-forced validation)."""
    train_src = [s for s, _, _ in splits["train"]]
    train_tgt = [t for _, refs, _ in splits["train"] for t in refs]
    src_vocab = build_vocab(train_src, SRC_SPECIALS)
    tgt_vocab = build_vocab(train_tgt, TGT_SPECIALS)
    tensors, sources, references = {}, {}, {}
    for split, items in splits.items():
        srcs = [s for s, _, tgts in items for _ in tgts]  # one row per training target
        tgts = [t for _, _, tgts in items for t in tgts]
        X, lengths = encode_sources(srcs, src_vocab)
        tensors[split] = (X, lengths, *encode_targets(tgts, tgt_vocab))
        sources[split] = [s for s, _, _ in items]
        references[split] = [refs for _, refs, _ in items]
    return PairData(name, tensors["train"], tensors["val"], tensors["test"], src_vocab, tgt_vocab,
                    sources, references, notes)


def trim_batch(src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor,
               tgt_out: torch.Tensor) -> tuple:
    """Cuts a batch's padding down to its own longest source and target.

    Tensors made by `make_pair_data` are padded to the longest word of the whole split (28 phones
    in CMUdict, where the mean is about 6): a decoder that loops over U steps would spend most of
    them on padding. Trimming leaves every real token and the loss unchanged (PAD is ignored).
    Shapes: (B, T), (B,), (B, U), (B, U) -> (B, T'), (B,), (B, U'), (B, U') with T' <= T, U' <= U.
    """
    T = int(src_lengths.max())
    U = int((tgt_out != PAD).sum(1).max())  # BOS y.. and y.. EOS have the same length
    return src[:, :T], src_lengths, tgt_in[:, :U], tgt_out[:, :U]


class PairBatches:
    """Mini-batches of a split (src, src_lengths, tgt_in, tgt_out), each trimmed to its own
    lengths (`trim_batch`), and with `bucket=True` made of examples of similar length.

    Bucketing: the shuffled examples are cut into pools of `pool` batches; each pool is sorted by
    (target length, source length) and cut into batches; the order of all batches is shuffled.
    Every example appears once per pass, batches stay random in order and content, and a batch
    pads only to lengths close to its own. Each pass over the object (an epoch) draws a new order
    from its generator (seeded by `seed`), so `seqlib.fit(model, PairBatches(data.train, 64), ...)`
    reshuffles every epoch. `batches(generator)` returns one epoch's index tensors (for runs that
    save the order in a checkpoint). With `shuffle=False` the order is fixed (evaluation).
    """

    def __init__(self, data: tuple, batch_size: int, shuffle: bool = True, bucket: bool = True,
                 seed: int = 0, pool: int = 50):
        if not isinstance(data, (tuple, list)) or len(data) != 4:
            raise TypeError("PairBatches: expected a split tuple (src, src_lengths, tgt_in, tgt_out)")
        if batch_size < 1 or pool < 1:
            raise ValueError(f"PairBatches: expected batch_size >= 1 and pool >= 1, got {batch_size}, {pool}")
        self.data, self.batch_size, self.shuffle, self.bucket, self.pool = tuple(data), batch_size, shuffle, bucket, pool
        self.generator = torch.Generator().manual_seed(seed)
        self._tgt_len = (self.data[3] != PAD).sum(1)  # (N,)

    def __len__(self) -> int:
        return math.ceil(len(self.data[0]) / self.batch_size)

    def batches(self, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """One epoch's batches as index tensors."""
        n, B = len(self.data[0]), self.batch_size
        g = generator or self.generator
        order = torch.randperm(n, generator=g) if self.shuffle else torch.arange(n)
        if not self.bucket:
            return list(order.split(B))
        out = []
        for chunk in order.split(B * self.pool):
            key = self._tgt_len[chunk] * 1000 + self.data[1][chunk]  # (target, source) length
            chunk = chunk[torch.argsort(key, stable=True)]
            out.extend(chunk.split(B))
        if self.shuffle:
            out = [out[i] for i in torch.randperm(len(out), generator=g).tolist()]
        return out

    def batch(self, idx: torch.Tensor) -> tuple:
        return trim_batch(*(t[idx] for t in self.data))

    def __iter__(self):
        for idx in self.batches():
            yield self.batch(idx)
