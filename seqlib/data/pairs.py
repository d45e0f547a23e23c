"""Source/target pairs for the encoder-decoder tasks (dates, grapheme-to-phoneme): vocabularies,
padding and a container for fixed splits.

Conventions (those of `seqlib.seq2seq`): source ids 0 pad, 1 unknown; target ids 0 pad, 1 BOS,
2 EOS, 3 unknown. A target sequence y_1..y_n becomes tgt_in = BOS y_1..y_n and
tgt_out = y_1..y_n EOS (teacher forcing). Vocabularies come from the training split only.

Shape legend: N examples, T longest source, U longest target + 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

SRC_SPECIALS = ["<pad>", "<unk>"]
TGT_SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
PAD, BOS, EOS, SRC_UNK, TGT_UNK = 0, 1, 2, 1, 3


def build_vocab(sequences, specials) -> list:
    """specials + the sorted set of tokens in `sequences` (each a string or a list of tokens)."""
    return list(specials) + sorted({tok for seq in sequences for tok in seq} - set(specials))


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
        out = []
        for row in ids.tolist():
            toks = []
            for i in row:
                if i == EOS:
                    break
                if i != PAD:
                    toks.append(self.tgt_vocab[i])
            out.append(toks)
        return out

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
