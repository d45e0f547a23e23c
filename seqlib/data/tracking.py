"""Generated tasks that need a content-dependent memory: selective copying and running parity.

*Selective copying* (Gu & Dao 2023): ``n_copy`` symbols stand at random positions among ``T``
blanks; after a delimiter the model must output them in order. Unlike the copy-memory task of
`seqlib.data.tasks`, the positions change from example to example, so a memory that only delays
its input by a fixed lag cannot solve it.

*Running parity*: a stream of ``T`` bits; the target at step t is the parity (XOR) of bits 1..t.
It is the simplest *state-tracking* task: the next state depends on the input *and* the previous
state in a way no positive combination of past inputs expresses (Merrill et al. 2024,
Grazzi et al. 2024).

Targets are class ids with -100 (`torch.nn.functional.cross_entropy`'s ``ignore_index``) where
nothing is asked. Splits are fixed by a seed per split, as in `seqlib.data.tasks`.

Shape legend: N examples, T stream length, K symbols to copy.
"""
from __future__ import annotations

import math

import torch

from .tasks import Split, _SPLIT_OFFSETS, _check

from seqlib.tokens import IGNORE  # noqa: E402  (-100: cross_entropy's default ignore_index)


def selective_copy(n: int, T: int, seed: int = 0, n_symbols: int = 8, n_copy: int = 4):
    """Selective copying: X (N, T + 1 + K) long, y (N, T + 1 + K) long.

    Tokens: 0 blank, 1..n_symbols symbols, n_symbols + 1 the delimiter. The first T steps hold K
    symbols at K random distinct positions (in order of position), blanks elsewhere; then the
    delimiter and K blanks, at which y holds the K symbols in order (elsewhere -100).
    A memoryless guess gets accuracy 1/n_symbols on the answer steps, cross-entropy ln(n_symbols).
    """
    _check("selective_copy", n, T, 1)
    if not isinstance(n_copy, int) or not 1 <= n_copy <= T:
        raise ValueError(f"selective_copy: expected 1 <= n_copy <= T = {T}, got {n_copy!r}")
    g = torch.Generator().manual_seed(seed)
    K = n_copy
    symbols = torch.randint(1, n_symbols + 1, (n, K), generator=g)  # (N, K)
    pos = torch.rand(n, T, generator=g).argsort(dim=1)[:, :K].sort(dim=1).values  # (N, K) sorted
    X = torch.zeros(n, T + 1 + K, dtype=torch.long)
    X.scatter_(1, pos, symbols)  # the symbols at their positions, in order
    X[:, T] = n_symbols + 1  # the delimiter: "now repeat them"
    y = torch.full((n, T + 1 + K), IGNORE, dtype=torch.long)
    y[:, T + 1:] = symbols
    return X, y


def running_parity(n: int, T: int, seed: int = 0):
    """Running parity: X (N, T) long bits in {0, 1}, y (N, T) long, y[:, t] = x_1 xor ... xor x_t.
    Guessing gives accuracy 1/2 at every step."""
    _check("running_parity", n, T, 1)
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(0, 2, (n, T), generator=g)  # (N, T)
    y = X.cumsum(dim=1) % 2  # (N, T)
    return X, y


def _splits(make, sizes, seed):
    return tuple(make(n, seed + _SPLIT_OFFSETS[name])
                 for name, n in zip(("train", "val", "test"), sizes))


def selective_copy_splits(T: int, n_train: int = 4000, n_val: int = 500, n_test: int = 500,
                          seed: int = 0, n_symbols: int = 8, n_copy: int = 4) -> Split:
    """Fixed selective-copying splits; the baseline is the memoryless cross-entropy ln(n_symbols)
    per answer step."""
    train, val, test = _splits(lambda n, s: selective_copy(n, T, s, n_symbols, n_copy),
                               (n_train, n_val, n_test), seed)
    return Split(train, val, test, math.log(n_symbols),
                 f"selective copying T={T} ({n_copy} of {n_symbols} symbols): train {n_train}, "
                 f"val {n_val}, test {n_test} (seed {seed}); memoryless baseline "
                 f"{math.log(n_symbols):.4f} nats per answer step, accuracy {1 / n_symbols:.3f}")


def parity_splits(T: int, n_train: int = 4000, n_val: int = 500, n_test: int = 500,
                  seed: int = 0) -> Split:
    """Fixed running-parity splits; the baseline is ln 2 nats per step (accuracy 1/2)."""
    train, val, test = _splits(lambda n, s: running_parity(n, T, s), (n_train, n_val, n_test), seed)
    return Split(train, val, test, math.log(2),
                 f"running parity T={T}: train {n_train}, val {n_val}, test {n_test} (seed {seed}); "
                 f"guessing baseline {math.log(2):.4f} nats per step, accuracy 0.5")
