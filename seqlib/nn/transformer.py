"""Self-attention from scratch: `MultiheadAttention`, `TransformerEncoderLayer` (drop-ins for their
`torch.nn` twins), `SinusoidalPositionalEncoding`, and small task heads built on them.

Shape legend: B batch, L query length (target), S key/value length (source), T time (L = S in
self-attention), E embed size (d_model), N heads, Dh = E / N head size, F feed-forward size,
C outputs, V vocabulary.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _check_positive_int(module: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{module}: expected {name} to be a positive integer, got {value!r}")


def _check_dropout(module: str, p) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{module}: expected dropout to be a number in [0, 1], got {p!r}")


def _as_additive(module: str, name: str, mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """A bool mask (True = may not attend) becomes 0 / -inf; a float mask is added as it is."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{module}: expected {name} to be a torch.Tensor or None, got {type(mask).__name__}")
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
    if not mask.is_floating_point():
        raise TypeError(f"{module}: expected {name} of dtype torch.bool or a float dtype, got {mask.dtype}")
    return mask.to(dtype)


class MultiheadAttention(nn.Module):
    r"""Multi-head scaled dot-product attention, from scratch, drop-in for `torch.nn.MultiheadAttention`
    (with kdim = vdim = embed_dim, no add_bias_kv, no add_zero_attn).

    .. math::
        Q = X_q W_Q^\top + b_Q,\quad K = X_k W_K^\top + b_K,\quad V = X_v W_V^\top + b_V,\\
        \mathrm{head}_n = \mathrm{softmax}\!\Big(\frac{Q_n K_n^\top}{\sqrt{D_h}} + M\Big) V_n,\qquad
        \mathrm{out} = [\mathrm{head}_1; \dots; \mathrm{head}_N]\, W_O^\top + b_O

    where Q_n is the n-th block of D_h = E / N columns of Q and M is the additive mask (0 where a
    query may attend, -inf where it may not).

    Args:
        embed_dim: E.  num_heads: N (must divide E).  dropout: on the attention weights, in
        training mode (default 0).  bias: default True.  batch_first: (B, L, E) instead of (L, B, E).
    Inputs: query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights, is_causal
        query (L, B, E) ((B, L, E) with batch_first, (L, E) unbatched); key, value (S, B, E) likewise.
        key_padding_mask (B, S) (or (S,) unbatched): bool, True = padding, ignored; or float, added.
        attn_mask (L, S) or (B*N, L, S): bool, True = may not attend; or float, added.
        is_causal: a hint in torch; here it only applies a causal mask when attn_mask is None.
    Outputs: attn_output, attn_weights
        attn_output like query; attn_weights (B, L, S) averaged over heads, or (B, N, L, S) with
        average_attn_weights=False (without B when unbatched), or None when need_weights=False.
    Parameters: in_proj_weight (3E, E) = [W_Q; W_K; W_V], in_proj_bias (3E,), out_proj.weight (E, E),
        out_proj.bias (E,), as in torch.nn.MultiheadAttention.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        _check_positive_int(name, "embed_dim", embed_dim)
        _check_positive_int(name, "num_heads", num_heads)
        _check_dropout(name, dropout)
        if embed_dim % num_heads:
            raise ValueError(f"{name}: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads}); "
                             f"each head gets embed_dim / num_heads features")
        if add_bias_kv or add_zero_attn or (kdim not in (None, embed_dim)) or (vdim not in (None, embed_dim)):
            raise NotImplementedError(f"{name}: add_bias_kv, add_zero_attn and kdim/vdim != embed_dim are not "
                                      f"supported by seqlib; use torch.nn.MultiheadAttention")
        kw = {"device": device, "dtype": dtype}
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = float(dropout), batch_first
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim, **kw))  # (3E, E)
        if bias:
            self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim, **kw))  # (3E,)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias, **kw)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.in_proj_weight)  # torch's init
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
            nn.init.zeros_(self.out_proj.bias)

    def extra_repr(self) -> str:
        return f"{self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, batch_first={self.batch_first}"

    def _check(self, query, key, value):
        name = type(self).__name__
        for what, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"{name}: expected {what} to be a torch.Tensor, got {type(t).__name__}")
            if not t.is_floating_point():
                raise TypeError(f"{name}: expected a floating-point {what}, got {t.dtype}")
            if t.dim() not in (2, 3):
                raise ValueError(f"{name}: expected {what} of 2 (unbatched) or 3 (batched) dimensions, "
                                 f"got {t.dim()} with shape {tuple(t.shape)}")
            if t.size(-1) != self.embed_dim:
                raise ValueError(f"{name}: expected {what} of size {self.embed_dim} in its last dimension, "
                                 f"got {t.size(-1)}")
            if t.dim() != query.dim():
                raise ValueError(f"{name}: expected query, key and value with the same number of dimensions, "
                                 f"got {query.dim()}, {key.dim()}, {value.dim()}")
            if t.dtype != self.in_proj_weight.dtype:
                raise TypeError(f"{name}: {what} dtype {t.dtype} does not match the parameters' "
                                f"{self.in_proj_weight.dtype}")
        if key.shape != value.shape:
            raise ValueError(f"{name}: expected key and value of the same shape, got {tuple(key.shape)} "
                             f"and {tuple(value.shape)}")

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None, need_weights: bool = True,
                attn_mask: torch.Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False):
        name = type(self).__name__
        self._check(query, key, value)
        batched = query.dim() == 3
        if not batched:  # (L, E) -> (L, 1, E) or (1, L, E)
            dim = 0 if self.batch_first else 1
            query, key, value = query.unsqueeze(dim), key.unsqueeze(dim), value.unsqueeze(dim)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)  # (S,) -> (1, S)
        if not self.batch_first:  # (L, B, E) -> (B, L, E)
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        B, L, E = query.shape
        S, N, Dh = key.size(1), self.num_heads, self.head_dim
        if key.size(0) != B:
            raise ValueError(f"{name}: expected key and value with batch size {B} (the query's), got {key.size(0)}")

        # one additive mask, broadcastable to (B, N, L, S)
        mask = _as_additive(name, "attn_mask", attn_mask, query.dtype)
        if mask is None and is_causal:
            mask = torch.ones(L, S, dtype=torch.bool, device=query.device).triu(1)
            mask = _as_additive(name, "attn_mask", mask, query.dtype)
        if mask is not None:
            if mask.shape == (L, S):
                mask = mask.view(1, 1, L, S)  # same mask for every batch row and head
            elif mask.shape == (B * N, L, S):
                mask = mask.view(B, N, L, S)
            else:
                raise ValueError(f"{name}: expected attn_mask of shape ({L}, {S}) or ({B * N}, {L}, {S}), "
                                 f"got {tuple(mask.shape)}")
        pad = _as_additive(name, "key_padding_mask", key_padding_mask, query.dtype)
        if pad is not None:
            if pad.shape != (B, S):
                raise ValueError(f"{name}: expected key_padding_mask of shape ({B}, {S}), got {tuple(pad.shape)}")
            pad = pad.view(B, 1, 1, S)
            mask = pad if mask is None else mask + pad

        w_q, w_k, w_v = self.in_proj_weight.chunk(3)  # 3 x (E, E)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3) if self.in_proj_bias is not None else (None,) * 3
        q = F.linear(query, w_q, b_q).view(B, L, N, Dh).transpose(1, 2)  # (B, L, E) -> (B, N, L, Dh)
        k = F.linear(key, w_k, b_k).view(B, S, N, Dh).transpose(1, 2)  # (B, S, E) -> (B, N, S, Dh)
        v = F.linear(value, w_v, b_v).view(B, S, N, Dh).transpose(1, 2)  # (B, S, E) -> (B, N, S, Dh)

        scores = (q / math.sqrt(Dh)) @ k.transpose(-2, -1)  # -> (B, N, L, S)
        if mask is not None:
            scores = scores + mask
        att = scores.softmax(dim=-1)  # each query's weights over the S keys sum to 1
        if self.training and self.dropout > 0:
            att = F.dropout(att, self.dropout)
        y = att @ v  # (B, N, L, S) @ (B, N, S, Dh) -> (B, N, L, Dh)
        y = y.transpose(1, 2).reshape(B, L, E)  # heads side by side: (B, L, N*Dh)
        out = self.out_proj(y)  # (B, L, E)

        if not self.batch_first:
            out = out.transpose(0, 1)  # (L, B, E)
        weights = None
        if need_weights:
            weights = att.mean(dim=1) if average_attn_weights else att  # (B, L, S) or (B, N, L, S)
        if not batched:
            out = out.squeeze(0 if self.batch_first else 1)
            weights = weights.squeeze(0) if weights is not None else None
        return out, weights


class TransformerEncoderLayer(nn.Module):
    r"""One Transformer encoder layer (self-attention, then a position-wise feed-forward network,
    each with a residual connection and layer normalisation), from scratch, drop-in for
    `torch.nn.TransformerEncoderLayer`.

    Post-norm (norm_first=False, as in Vaswani et al. 2017):

    .. math::
        x \leftarrow \mathrm{LN}_1(x + \mathrm{SA}(x)),\qquad x \leftarrow \mathrm{LN}_2(x + \mathrm{FF}(x))

    Pre-norm (norm_first=True):

    .. math::
        x \leftarrow x + \mathrm{SA}(\mathrm{LN}_1(x)),\qquad x \leftarrow x + \mathrm{FF}(\mathrm{LN}_2(x))

    with FF(x) = W_2 act(W_1 x + b_1) + b_2, and dropout after the attention, inside FF and after FF
    in training mode.

    Args:
        d_model: E.  nhead: N (must divide E).  dim_feedforward: F (default 2048).  dropout: default 0.1.
        activation: 'relu' (default), 'gelu', or a callable.  layer_norm_eps: default 1e-5.
        batch_first: default False.  norm_first: default False.  bias: default True.
        residual, norm: default True; False drops the residual connections (x <- SA(x)) or the
        layer norms (LN = identity) - not in torch; for experiments that take them away.
    Inputs: src, src_mask, src_key_padding_mask, is_causal
        src (T, B, E) ((B, T, E) with batch_first, (T, E) unbatched); src_mask (T, T) or (B*N, T, T);
        src_key_padding_mask (B, T), True = padding.
    Output: like src.
    Parameters: self_attn.* (see MultiheadAttention), linear1 (F, E), linear2 (E, F), norm1, norm2,
        as in torch.nn.TransformerEncoderLayer.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None,
                 residual: bool = True, norm: bool = True):
        super().__init__()
        name = type(self).__name__
        _check_positive_int(name, "d_model", d_model)
        _check_positive_int(name, "nhead", nhead)
        _check_positive_int(name, "dim_feedforward", dim_feedforward)
        _check_dropout(name, dropout)
        if d_model % nhead:
            raise ValueError(f"{name}: d_model ({d_model}) must be divisible by nhead ({nhead}); "
                             f"each head gets d_model / nhead features")
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"{name}: expected activation 'relu', 'gelu' or a callable, got {activation!r}")
            activation = _ACTIVATIONS[activation]
        elif not callable(activation):
            raise ValueError(f"{name}: expected activation 'relu', 'gelu' or a callable, got {activation!r}")
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        ln = (lambda: nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)) if norm else nn.Identity
        self.norm1, self.norm2 = ln(), ln()
        self.residual = residual
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = activation
        self.batch_first = batch_first

    def _sa(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))  # E -> F -> E

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor | None = None,
                src_key_padding_mask: torch.Tensor | None = None, is_causal: bool = False) -> torch.Tensor:
        x = src
        r = 1.0 if self.residual else 0.0  # the residual connection, or none (an experiment's control)
        if self.norm_first:
            x = r * x + self._sa(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = r * x + self._ff(self.norm2(x))
        else:
            x = self.norm1(r * x + self._sa(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(r * x + self._ff(x))
        return x


class SinusoidalPositionalEncoding(nn.Module):
    r"""Adds the fixed sinusoidal position signal of Vaswani et al. (2017) to its input.

    .. math::
        PE_{t, 2i} = \sin(t / 10000^{2i/E}),\qquad PE_{t, 2i+1} = \cos(t / 10000^{2i/E})

    Args:
        d_model: E.  max_len: longest sequence (default 5000).  dropout: after the sum (default 0).
        batch_first: (B, T, E) instead of (T, B, E) (default False).
    Shapes: x (T, B, E) or (B, T, E) with batch_first -> the same shape.
    The table is a non-persistent buffer: it is not in the state dict.
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0, batch_first: bool = False):
        super().__init__()
        name = type(self).__name__
        _check_positive_int(name, "d_model", d_model)
        _check_positive_int(name, "max_len", max_len)
        _check_dropout(name, dropout)
        t = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)  # (T, 1)
        freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (ceil(E/2),)
        pe = torch.zeros(max_len, d_model, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(t * freq)  # (T, 1) * (E/2,) -> (T, E/2)
        pe[:, 1::2] = torch.cos(t * freq[: d_model // 2])
        self.register_buffer("pe", pe.float(), persistent=False)  # (max_len, E)
        self.dropout = nn.Dropout(dropout)
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 3:
            raise ValueError(f"{name}: expected a floating-point tensor of 3 dimensions, got "
                             f"{getattr(x, 'dtype', type(x).__name__)} with shape {tuple(getattr(x, 'shape', ()))}")
        if x.size(-1) != self.d_model:
            raise ValueError(f"{name}: expected input of size {self.d_model} in its last dimension, got {x.size(-1)}")
        T = x.size(1) if self.batch_first else x.size(0)
        if T > self.max_len:
            raise ValueError(f"{name}: sequence of length {T} is longer than max_len={self.max_len}")
        pe = self.pe[:T].to(x.dtype)  # (T, E)
        pe = pe.unsqueeze(0) if self.batch_first else pe.unsqueeze(1)  # (1, T, E) or (T, 1, E)
        return self.dropout(x + pe)


class _EncoderStack(nn.Module):
    """Input projection + sinusoidal positions + `num_layers` seqlib encoder layers, batch_first."""

    def __init__(self, d_model, nhead, num_layers, dim_feedforward, dropout, max_len, norm_first):
        super().__init__()
        self.pos = SinusoidalPositionalEncoding(d_model, max_len, batch_first=True)
        self.layers = nn.ModuleList(
            TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True,
                                    norm_first=norm_first) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()

    def encode(self, h, key_padding_mask=None, attn_mask=None):
        h = self.pos(h)  # (B, T, E)
        for layer in self.layers:
            h = layer(h, src_mask=attn_mask, src_key_padding_mask=key_padding_mask)  # (B, T, E)
        return self.norm(h)


class TransformerTagger(_EncoderStack):
    """Embeds token ids and predicts a class at every position with a Transformer encoder (no causal
    mask: every position sees the whole input, as a bidirectional tagger does).

    Shapes: x (B, T) long -> logits (B, T, C).
    """

    def __init__(self, vocab_size: int, d_model: int, nhead: int, num_layers: int, num_classes: int,
                 dim_feedforward: int | None = None, dropout: float = 0.0, max_len: int = 2048,
                 norm_first: bool = True):
        super().__init__(d_model, nhead, num_layers, dim_feedforward or 2 * d_model, dropout, max_len, norm_first)
        self.embed = nn.Embedding(vocab_size, d_model)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.long:
            raise TypeError(f"TransformerTagger: expected token ids of dtype torch.long, got {x.dtype}")
        return self.head(self.encode(self.embed(x)))  # (B, T) -> (B, T, E) -> (B, T, C)


class TransformerRegressor(_EncoderStack):
    """Projects real-valued steps to d_model, encodes them and predicts C numbers (the adding
    problem) from the last position's output (``readout="last"``, as a recurrent regressor reads
    its last state) or from the mean over time (``readout="mean"``, the default).

    A mean readout can solve the adding problem without attention (the sum over time is in the
    pooling); a last-position readout needs attention to bring the marked values to the last
    position. ``attend="self"`` masks attention to each position's own input (no token can read
    another): the control for that.

    Shapes: x (B, T, I) -> (B, C).
    """

    def __init__(self, input_size: int, d_model: int, nhead: int, num_layers: int, output_size: int = 1,
                 dim_feedforward: int | None = None, dropout: float = 0.0, max_len: int = 2048,
                 norm_first: bool = True, readout: str = "mean", attend: str = "all"):
        super().__init__(d_model, nhead, num_layers, dim_feedforward or 2 * d_model, dropout, max_len, norm_first)
        if readout not in ("mean", "last"):
            raise ValueError(f"TransformerRegressor: expected readout 'mean' or 'last', got {readout!r}")
        if attend not in ("all", "self"):
            raise ValueError(f"TransformerRegressor: expected attend 'all' or 'self', got {attend!r}")
        self.readout, self.attend = readout, attend
        self.proj = nn.Linear(input_size, d_model)
        self.head = nn.Linear(d_model, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = None
        if self.attend == "self":  # True = may not attend: everything but the diagonal
            T = x.size(1)
            mask = ~torch.eye(T, dtype=torch.bool, device=x.device)  # (T, T)
        h = self.encode(self.proj(x), attn_mask=mask)  # (B, T, I) -> (B, T, E)
        pooled = h[:, -1] if self.readout == "last" else h.mean(dim=1)  # (B, E)
        return self.head(pooled)  # (B, E) -> (B, C)


class TransformerClassifier(_EncoderStack):
    """Embeds padded token ids, encodes them with padding masked out of attention, averages the
    non-padding positions and classifies (the names task).

    Shapes: x (B, T) long, lengths (B,) -> logits (B, C).
    """

    def __init__(self, vocab_size: int, d_model: int, nhead: int, num_layers: int, num_classes: int,
                 dim_feedforward: int | None = None, dropout: float = 0.1, max_len: int = 512,
                 norm_first: bool = True, padding_idx: int = 0):
        super().__init__(d_model, nhead, num_layers, dim_feedforward or 2 * d_model, dropout, max_len, norm_first)
        self.embed = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.long:
            raise TypeError(f"TransformerClassifier: expected token ids of dtype torch.long, got {x.dtype}")
        T = int(lengths.max())
        x = x[:, :T]  # drop the columns that are padding in every row: (B, T_max) -> (B, T)
        pad = torch.arange(T, device=x.device).unsqueeze(0) >= lengths.to(x.device).unsqueeze(1)  # (B, T), True = pad
        h = self.encode(self.embed(x), key_padding_mask=pad)  # (B, T, E)
        keep = (~pad).unsqueeze(-1).to(h.dtype)  # (B, T, 1)
        pooled = (h * keep).sum(1) / keep.sum(1)  # mean over real positions: (B, E)
        return self.head(pooled)  # (B, C)
