"""Word vectors from co-occurrence counts: positive PMI and a truncated SVD (Levy & Goldberg 2014).

Skip-gram with negative sampling (word2vec, Mikolov et al. 2013) implicitly factorises a shifted
PMI matrix of words and their contexts; doing it explicitly is deterministic and takes seconds:

    #(w, c)   = how often c occurs within `window` tokens of w (both directions)
    PMI(w, c) = log( #(w, c) * Z / (#(w) * #_a(c)) ),   #_a(c) = #(c)^a / sum_c' #(c')^a * sum #(.)
    PPMI      = max(PMI, 0)                              (a = 0.75: word2vec's smoothing of contexts)
    PPMI ~ U S V^T (rank k)  ->  vectors = U S^(1/2)     (one row per word)

Shapes: N words kept as targets (the most frequent), M context words (the most frequent M),
k dimensions.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import torch


def count_vocab(token_lists, max_words: int, min_count: int = 1) -> list[str]:
    """The `max_words` most frequent tokens seen at least `min_count` times (ties by token)."""
    counts = Counter(t for toks in token_lists for t in toks)
    ranked = sorted((c, w) for w, c in counts.items() if c >= min_count)
    ranked.sort(key=lambda cw: (-cw[0], cw[1]))
    return [w for _, w in ranked[:max_words]]


def cooccurrence(token_lists, words: list[str], contexts: list[str], window: int = 5) -> torch.Tensor:
    """#(w, c): counts of context c within `window` tokens of w, inside each token list only.

    Returns (N, M) float64. Tokens outside `words` / `contexts` keep their place (distances are
    those of the text) but are not counted."""
    if window < 1:
        raise ValueError(f"word_vectors: expected window >= 1, got {window}")
    wi = {w: i for i, w in enumerate(words)}
    ci = {c: i for i, c in enumerate(contexts)}
    N, M = len(words), len(contexts)
    sep = [None] * window  # lists are separated by `window` gaps: no pair crosses two lists
    stream = [t for toks in token_lists for t in (*toks, *sep)]
    w_ids = np.array([wi.get(t, -1) if t is not None else -1 for t in stream], dtype=np.int64)
    c_ids = np.array([ci.get(t, -1) if t is not None else -1 for t in stream], dtype=np.int64)
    counts = np.zeros(N * M, dtype=np.float64)
    for d in range(1, window + 1):
        for a, b in ((w_ids[:-d], c_ids[d:]), (w_ids[d:], c_ids[:-d])):  # c after w, c before w
            keep = (a >= 0) & (b >= 0)
            counts += np.bincount(a[keep] * M + b[keep], minlength=N * M)
    return torch.from_numpy(counts.reshape(N, M))


def ppmi(counts: torch.Tensor, alpha: float = 0.75) -> torch.Tensor:
    """Positive PMI of a (N, M) count matrix, with the context counts raised to `alpha`."""
    total = counts.sum()
    if total <= 0:
        raise ValueError("word_vectors: the co-occurrence matrix is all zeros")
    p_w = counts.sum(1, keepdim=True) / total  # (N, 1)
    c = counts.sum(0, keepdim=True) ** alpha  # (1, M)
    p_c = c / c.sum()
    with torch.no_grad():
        pmi = torch.log(counts / total) - torch.log(p_w) - torch.log(p_c)  # (N, M), -inf where 0
    return pmi.clamp(min=0).nan_to_num(0.0)


def svd_vectors(matrix: torch.Tensor, dim: int, seed: int = 0) -> torch.Tensor:
    """U_k S_k^(1/2) of a rank-`dim` SVD of `matrix` (N, M) -> (N, dim); signs fixed so that
    each column's largest-magnitude entry is positive (the SVD is unique up to sign)."""
    if not 0 < dim <= min(matrix.shape):
        raise ValueError(f"word_vectors: expected 0 < dim <= {min(matrix.shape)}, got {dim}")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
    U, S, _ = torch.svd_lowrank(matrix, q=min(dim + 20, min(matrix.shape)), niter=6)
    U, S = U[:, :dim], S[:dim]
    vec = U * S.sqrt()  # (N, dim)
    sign = torch.sign(vec.gather(0, vec.abs().argmax(0, keepdim=True)))  # (1, dim)
    return vec * sign


def lookup(vocab: list[str], words: list[str], vectors: torch.Tensor, generator=None,
           scale: float | None = None) -> tuple[torch.Tensor, int]:
    """An embedding table for `vocab` (V, k): pretrained rows where a word has a vector, random
    N(0, scale^2) rows elsewhere (index 0, the padding, is 0). `scale` defaults to the std of the
    pretrained vectors. Returns the table and how many words of `vocab` were found."""
    index = {w: i for i, w in enumerate(words)}
    scale = float(vectors.std()) if scale is None else scale
    table = torch.randn(len(vocab), vectors.shape[1], generator=generator) * scale  # (V, k)
    found = 0
    for i, w in enumerate(vocab):
        if w in index:
            table[i] = vectors[index[w]]
            found += 1
    table[0] = 0.0
    return table, found
