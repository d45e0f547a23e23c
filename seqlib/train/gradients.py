"""Measuring how gradients flow back through time.

Shape legend: B batch, T time, I input features, H hidden size.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from seqlib.nn.rnn import RNNCell


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


@torch.no_grad()
def set_spectral_norm(weight: torch.Tensor, sigma: float) -> torch.Tensor:
    """Rescales a matrix in place so its largest singular value (its 2-norm) is `sigma`."""
    if weight.dim() != 2:
        raise ValueError(f"set_spectral_norm: expected a matrix, got shape {tuple(weight.shape)}")
    current = torch.linalg.matrix_norm(weight.double(), ord=2)
    if current == 0:
        raise ValueError("set_spectral_norm: the matrix is zero; cannot rescale it")
    weight.mul_(sigma / current.item())
    return weight


def spectral_norm(weight: torch.Tensor) -> float:
    """The largest singular value sigma_max of a matrix (its operator 2-norm)."""
    return torch.linalg.matrix_norm(weight.detach().double(), ord=2).item()


def random_rnn_gradient_profile(scale: float, *, by: str = "sigma", T: int = 100,
                                hidden: int = 64, batch: int = 16, seed: int = 0) -> dict:
    """||dL/dh_t|| against distance for a fresh tanh `seqlib.RNNCell` (float64).

    W_hh is a Gaussian matrix (entries N(0, 1/H)) rescaled so that its largest singular value
    (``by="sigma"``) or its spectral radius (``by="rho"``) equals `scale`; inputs are N(0, 1),
    one feature, `batch` sequences of length `T`; the loss is on h_T only (see
    :func:`hidden_gradient_norms`). Returns ``norms`` (T,) indexed by distance from the loss
    (index 0 is h_T), and the matrix's ``sigma`` and ``rho`` after rescaling.
    """
    if by not in ("sigma", "rho"):
        raise ValueError(f"random_rnn_gradient_profile: expected by='sigma' or 'rho', got {by!r}")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the cell's W_ih and biases
    cell = RNNCell(1, hidden).double()  # float64: the smallest norms underflow float32
    w = torch.randn(hidden, hidden, generator=g, dtype=torch.float64) / hidden ** 0.5
    (set_spectral_norm if by == "sigma" else set_spectral_radius)(w, scale)
    with torch.no_grad():
        cell.weight_hh.copy_(w)
    x = torch.randn(T, batch, 1, generator=g, dtype=torch.float64)  # (T, B, I)
    norms = hidden_gradient_norms(cell, x).flip(0)  # index k = distance from the loss
    return {"norms": norms, "sigma": spectral_norm(w), "rho": spectral_radius(w)}


def masked_product_norms(weight: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """||D_k W ... D_1 W||_2 for k = 1..K, where D_k = diag(masks[k-1]) (masks (K, H)).

    The Jacobian of a step of h_t = phi(W h_{t-1} + ...) is diag(phi'(.)) W; with phi = ReLU the
    slopes are 0/1 masks. A product of such factors can grow even when rho(W) < 1 if W is not
    normal (Pascanu et al. 2013): the bound that matters is sigma_max(W), not rho(W).
    Returns (K,) float64 norms.
    """
    if weight.dim() != 2 or weight.size(0) != weight.size(1):
        raise ValueError("masked_product_norms: expected a square matrix, "
                         f"got shape {tuple(weight.shape)}")
    if masks.dim() != 2 or masks.size(1) != weight.size(0):
        raise ValueError(f"masked_product_norms: expected masks of shape (K, {weight.size(0)}), "
                         f"got {tuple(masks.shape)}")
    w = weight.double()
    prod = torch.eye(w.size(0), dtype=torch.float64)
    out = []
    for m in masks.double():
        prod = (m[:, None] * w) @ prod  # diag(m) W @ (H, H) -> (H, H)
        out.append(torch.linalg.matrix_norm(prod, ord=2))
    return torch.stack(out)


class _LinearCell(nn.Module):
    """h' = W_ih x + W_hh h: an RNN step without the tanh (for the norm-preserving control)."""

    def __init__(self, w_ih: torch.Tensor, w_hh: torch.Tensor):
        super().__init__()
        self.hidden_size = w_hh.size(0)
        self.w_ih, self.w_hh = w_ih, w_hh

    def forward(self, x, h):
        return x @ self.w_ih.T + h @ self.w_hh.T  # (B, I) @ (I, H) + (B, H) @ (H, H) -> (B, H)


def orthogonal_linear_gradient_profile(*, T: int = 100, hidden: int = 64, batch: int = 16,
                                       seed: int = 0) -> dict:
    """||dL/dh_t|| against distance for a *linear* RNN whose W_hh is a random orthogonal matrix
    (sigma_max = rho = 1), with the inputs, loss and float64 of
    :func:`random_rnn_gradient_profile`. Every step's Jacobian is the orthogonal W_hh, which
    preserves norms, so the gradient can neither vanish nor explode: the control for claims
    that a norm below (or above) 1 makes it vanish (or explode). Same return value."""
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(hidden, hidden, generator=g, dtype=torch.float64))
    w_hh = q * torch.sign(torch.diagonal(r))  # (H, H), Haar-distributed orthogonal
    w_ih = torch.randn(hidden, 1, generator=g, dtype=torch.float64)
    x = torch.randn(T, batch, 1, generator=g, dtype=torch.float64)  # (T, B, I)
    norms = hidden_gradient_norms(_LinearCell(w_ih, w_hh), x).flip(0)
    return {"norms": norms, "sigma": spectral_norm(w_hh), "rho": spectral_radius(w_hh)}


def weight_gradient_by_distance(scale: float, *, by: str = "sigma", T: int = 100,
                                hidden: int = 64, batch: int = 16, seed: int = 0) -> dict:
    """dL/dW_hh split into its terms, one per step, for the cell and inputs of
    :func:`random_rnn_gradient_profile` (same arguments, same matrix and inputs).

    W_hh is used at every step, so its gradient is a sum over steps,
    dL/dW_hh = sum_t delta_t h_{t-1}^T with delta_t = dL/dh_t * (1 - h_t^2) the gradient at the
    step's pre-activation (summed over the batch). Returns ``terms`` (T,): the Frobenius norm of
    each step's term, indexed by distance from the loss (index 0 is the last step), ``sum`` (the
    sum of the terms) and ``autograd`` (W_hh's gradient from backward), equal up to round-off."""
    if by not in ("sigma", "rho"):
        raise ValueError(f"weight_gradient_by_distance: expected by='sigma' or 'rho', got {by!r}")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the cell's W_ih and biases, as in random_rnn_gradient_profile
    cell = RNNCell(1, hidden).double()
    w = torch.randn(hidden, hidden, generator=g, dtype=torch.float64) / hidden ** 0.5
    (set_spectral_norm if by == "sigma" else set_spectral_radius)(w, scale)
    with torch.no_grad():
        cell.weight_hh.copy_(w)
    x = torch.randn(T, batch, 1, generator=g, dtype=torch.float64)  # (T, B, I)
    h = x.new_zeros(batch, hidden)  # (B, H), h_0
    states = [h]
    for t in range(T):
        h = cell(x[t], h)  # (B, H)
        h.retain_grad()
        states.append(h)
    h.sum(dim=1).pow(2).mean().backward()  # the loss of hidden_gradient_norms
    terms = []
    for t in range(1, T + 1):
        delta = states[t].grad * (1 - states[t].detach() ** 2)  # (B, H), dL/d(pre-activation)
        terms.append(delta.T @ states[t - 1].detach())  # (H, B) @ (B, H) -> (H, H)
    terms = torch.stack(terms)  # (T, H, H), index t-1 = step t
    return {"terms": terms.flatten(1).norm(dim=1).flip(0), "sum": terms.sum(0),
            "autograd": cell.weight_hh.grad.detach().clone()}
