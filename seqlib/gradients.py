"""Measuring how gradients flow back through time.

Shape legend: B batch, T time, I input features, H hidden size.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


@torch.no_grad()
def set_spectral_radius(weight: torch.Tensor, radius: float) -> torch.Tensor:
    """Rescales a square matrix in place so its largest |eigenvalue| is `radius`; returns it."""
    if weight.dim() != 2 or weight.size(0) != weight.size(1):
        raise ValueError(f"set_spectral_radius: expected a square matrix, got shape {tuple(weight.shape)}")
    current = torch.linalg.eigvals(weight.double()).abs().max()
    if current == 0:
        raise ValueError("set_spectral_radius: the matrix has spectral radius 0; cannot rescale it")
    weight.mul_(radius / current.item())
    return weight


def spectral_radius(weight: torch.Tensor) -> float:
    return torch.linalg.eigvals(weight.detach().double()).abs().max().item()


def hidden_gradient_norms(cell: nn.Module, x: torch.Tensor,
                          loss_fn: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """||dL/dh_t|| for every step t, for a loss on the last hidden state only.

    Runs `cell` (an RNNCell or GRUCell: h' = cell(x_t, h)) over x (T, B, I) from h_0 = 0, keeps
    every h_t, and back-propagates L = loss_fn(h_T) (default: mean over the batch of
    (sum of h_T)^2). Returns (T,): the batch-mean norm of the total derivative dL/dh_t, which
    carries the product of Jacobians dh_T/dh_t. Index -1 is the last step (distance 0).
    """
    if x.dim() != 3:
        raise ValueError(f"hidden_gradient_norms: expected x of shape (T, B, I), got {tuple(x.shape)}")
    loss_fn = loss_fn or (lambda h: h.sum(dim=1).pow(2).mean())
    h = x.new_zeros(x.size(1), cell.hidden_size).requires_grad_()  # (B, H), h_0
    states = []
    for t in range(x.size(0)):
        h = cell(x[t], h)  # (B, I), (B, H) -> (B, H)
        h.retain_grad()
        states.append(h)
    loss_fn(states[-1]).backward()
    return torch.stack([s.grad.norm(dim=1).mean() for s in states]).detach()  # (T,)
