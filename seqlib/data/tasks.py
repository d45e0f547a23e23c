"""Generated long-range tasks: the adding problem and the copy-memory task.

Both are generated from a seed, so a split is fixed by (seed, sizes, T). Each split uses its own
seed derived from the base seed, so train, validation and test never share a generator stream.

Shape legend: N examples, T sequence length.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# derived seeds: base seed + offset per split
_SPLIT_OFFSETS = {"train": 0, "val": 1_000_003, "test": 2_000_003}


@dataclass
class Split:
    """A task's fixed train/val/test tensors and its trivial baseline on the test split."""

    train: tuple
    val: tuple
    test: tuple
    baseline: float  # loss of the best input-blind predictor (see each task)
    description: str

    def __repr__(self) -> str:
        return self.description


def _check(name: str, n: int, T: int, min_T: int) -> None:
    if not isinstance(n, int) or n <= 0:
        raise ValueError(f"{name}: expected a positive number of examples, got {n!r}")
    if not isinstance(T, int) or T < min_T:
        raise ValueError(f"{name}: expected T to be an integer >= {min_T}, got {T!r}")


def adding_problem(n: int, T: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem (Hochreiter & Schmidhuber 1997; the setup of Le et al. 2015, Bai et al. 2018).

    Each input step holds two features: a value drawn from U(0, 1) and a marker that is 1 at exactly
    two steps, one in the first half of the sequence and one in the second. The target is the sum
    of the two marked values. Returns X (N, T, 2) float32 and y (N, 1) float32.

    Predicting the mean, 1, for every input gives MSE Var(u1 + u2) = 2/12 ~ 0.167: the baseline.
    """
    _check("adding_problem", n, T, 2)
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(n, T, generator=g)  # (N, T)
    half = T // 2
    first = torch.randint(0, half, (n,), generator=g)  # (N,)
    second = torch.randint(half, T, (n,), generator=g)  # (N,)
    markers = torch.zeros(n, T)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = torch.stack([values, markers], dim=2)  # (N, T, 2)
    y = (values[rows, first] + values[rows, second]).unsqueeze(1)  # (N, 1)
    return X, y


ADDING_BASELINE = 2.0 / 12.0


def copy_memory(n: int, T: int, seed: int = 0, n_symbols: int = 8, copy_len: int = 10):
    """The copy-memory task (Hochreiter & Schmidhuber 1997; the setup of Arjovsky et al. 2016).

    The input is `copy_len` symbols drawn from 1..n_symbols, then T-1 blanks (0), a delimiter
    (n_symbols + 1), and `copy_len` more blanks: length T + 2*copy_len. The target is blank
    everywhere except the last `copy_len` steps, which must repeat the first `copy_len` symbols.
    Returns X (N, T + 2*copy_len) long and y (N, T + 2*copy_len) long; vocabulary n_symbols + 2.

    Baseline: output blank until the delimiter, then a uniform guess among the n_symbols symbols:
    cross-entropy copy_len * ln(n_symbols) / (T + 2*copy_len) per step, 10 ln 8 / (T + 20) in the
    standard setup (often quoted as 10 ln 8 / T, which ignores the 20 extra steps).
    """
    _check("copy_memory", n, T, 1)
    g = torch.Generator().manual_seed(seed)
    L = T + 2 * copy_len
    symbols = torch.randint(1, n_symbols + 1, (n, copy_len), generator=g)  # (N, copy_len)
    X = torch.zeros(n, L, dtype=torch.long)
    X[:, :copy_len] = symbols
    X[:, copy_len + T - 1] = n_symbols + 1  # the delimiter: "now repeat"
    y = torch.zeros(n, L, dtype=torch.long)
    y[:, -copy_len:] = symbols
    return X, y


def copy_baseline(T: int, n_symbols: int = 8, copy_len: int = 10) -> float:
    return copy_len * math.log(n_symbols) / (T + 2 * copy_len)


def _splits(make, sizes: tuple[int, int, int], seed: int):
    return tuple(make(n, seed + _SPLIT_OFFSETS[name]) for name, n in zip(("train", "val", "test"), sizes))


def adding_splits(T: int, n_train: int = 4000, n_val: int = 1000, n_test: int = 1000, seed: int = 0) -> Split:
    """Fixed adding-problem splits at length T; the baseline is the test MSE of predicting 1."""
    train, val, test = _splits(lambda n, s: adding_problem(n, T, s), (n_train, n_val, n_test), seed)
    baseline = float(((test[1] - 1.0) ** 2).mean())
    return Split(train, val, test, baseline,
                 f"adding problem T={T}: train {n_train}, val {n_val}, test {n_test} (seed {seed}); "
                 f"predict-the-mean test MSE {baseline:.4f} (theory {ADDING_BASELINE:.4f})")


def copy_splits(T: int, n_train: int = 4000, n_val: int = 500, n_test: int = 500, seed: int = 0,
                n_symbols: int = 8, copy_len: int = 10) -> Split:
    """Fixed copy-memory splits at lag T; the baseline is the memoryless cross-entropy per step."""
    train, val, test = _splits(lambda n, s: copy_memory(n, T, s, n_symbols, copy_len),
                               (n_train, n_val, n_test), seed)
    baseline = copy_baseline(T, n_symbols, copy_len)
    return Split(train, val, test, baseline,
                 f"copy memory T={T} ({n_symbols} symbols, copy {copy_len}): train {n_train}, val {n_val}, "
                 f"test {n_test} (seed {seed}); memoryless baseline {baseline:.4f} nats/step")
