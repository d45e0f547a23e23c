"""Additive (Bahdanau) attention: a query scores every key with a one-hidden-layer MLP.

Shape legend: B batch, T keys (source positions), Dq query size, Dk key size, A attention hidden size.
"""
from __future__ import annotations

import torch
from torch import nn


class AdditiveAttention(nn.Module):
    r"""Additive attention of Bahdanau et al. (2014).

    .. math::
        e_t = v^\top \tanh(W_q q + W_k k_t + b),\qquad
        \alpha_t = \frac{\exp e_t}{\sum_{t' \text{ real}} \exp e_{t'}},\qquad
        c = \sum_t \alpha_t k_t

    Padded keys (``key_padding_mask`` True, as in `torch.nn.MultiheadAttention`) get a weight of
    exactly 0 and the weights of the real keys sum to 1. A row with no real key has no
    distribution to return, so it raises a ValueError instead of returning NaN.

    Args:
        query_size: Dq.  key_size: Dk.  hidden_size: A, the width of the scoring MLP.
    Shapes:
        query (B, Dq); keys (B, T, Dk); key_padding_mask (B, T) bool or None;
        returns context (B, Dk) and weights (B, T).
    The keys' projection W_k k_t does not depend on the query: `project_keys(keys)` computes it
    once per source, and `forward(..., projected_keys=...)` reuses it at every decoder step.
    """

    def __init__(self, query_size: int, key_size: int, hidden_size: int):
        super().__init__()
        for name, value in (("query_size", query_size), ("key_size", key_size), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"AdditiveAttention: expected {name} to be a positive integer, got {value!r}")
        self.query_size, self.key_size, self.hidden_size = query_size, key_size, hidden_size
        self.query_proj = nn.Linear(query_size, hidden_size, bias=False)  # W_q
        self.key_proj = nn.Linear(key_size, hidden_size, bias=True)  # W_k and b
        self.v = nn.Linear(hidden_size, 1, bias=False)  # v

    def extra_repr(self) -> str:
        return f"query_size={self.query_size}, key_size={self.key_size}, hidden_size={self.hidden_size}"

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        """W_k k_t + b for every key: (B, T, Dk) -> (B, T, A)."""
        self._check_keys(keys)
        return self.key_proj(keys)  # (B, T, Dk) @ (Dk, A) -> (B, T, A)

    def _check_keys(self, keys: torch.Tensor) -> None:
        if not isinstance(keys, torch.Tensor) or keys.dim() != 3:
            shape = tuple(keys.shape) if isinstance(keys, torch.Tensor) else type(keys).__name__
            raise ValueError(f"AdditiveAttention: expected keys of shape (B, T, {self.key_size}), got {shape}")
        if keys.size(-1) != self.key_size:
            raise ValueError(f"AdditiveAttention: expected keys of size {self.key_size} in their last "
                             f"dimension, got {keys.size(-1)}")
        if keys.size(1) == 0:
            raise ValueError("AdditiveAttention: got 0 keys; expected at least one")

    def forward(self, query: torch.Tensor, keys: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                projected_keys: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_keys(keys)
        B, T, _ = keys.shape
        if not isinstance(query, torch.Tensor) or query.dim() != 2 or query.size(0) != B:
            shape = tuple(query.shape) if isinstance(query, torch.Tensor) else type(query).__name__
            raise ValueError(f"AdditiveAttention: expected query of shape ({B}, {self.query_size}), got {shape}")
        if query.size(1) != self.query_size:
            raise ValueError(f"AdditiveAttention: expected query of size {self.query_size} in its last "
                             f"dimension, got {query.size(1)}")
        if key_padding_mask is not None:
            if key_padding_mask.dtype != torch.bool or tuple(key_padding_mask.shape) != (B, T):
                raise ValueError(f"AdditiveAttention: expected key_padding_mask of dtype torch.bool and shape "
                                 f"{(B, T)} (True = padding), got {key_padding_mask.dtype} "
                                 f"{tuple(key_padding_mask.shape)}")
            if bool(key_padding_mask.all(dim=1).any()):
                rows = key_padding_mask.all(dim=1).nonzero().flatten().tolist()
                raise ValueError(f"AdditiveAttention: rows {rows} of key_padding_mask mask every key; "
                                 f"each row needs at least one real (False) position")
        if projected_keys is None:
            projected_keys = self.key_proj(keys)  # (B, T, Dk) @ (Dk, A) -> (B, T, A)
        q = self.query_proj(query).unsqueeze(1)  # (B, Dq) @ (Dq, A) -> (B, 1, A)
        scores = self.v(torch.tanh(projected_keys + q)).squeeze(-1)  # (B, T, A) @ (A, 1) -> (B, T)
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask, float("-inf"))  # exp(-inf) = 0 exactly
        weights = torch.softmax(scores, dim=-1)  # (B, T)
        context = torch.bmm(weights.unsqueeze(1), keys).squeeze(1)  # (B, 1, T) @ (B, T, Dk) -> (B, Dk)
        return context, weights
