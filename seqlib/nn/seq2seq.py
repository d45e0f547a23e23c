"""Recurrent encoder-decoder (Cho et al. 2014; Sutskever et al. 2014), with or without additive
attention (Bahdanau et al. 2014); teacher forcing, batched greedy decoding and beam search.

Token conventions (shared with `seqlib.data.pairs`): source id 0 pads; target ids 0 pad, 1 begin
(BOS), 2 end (EOS). Padding never reaches the model's decisions: the encoder reads a packed
sequence, attention gives padded source positions a weight of exactly 0, and the loss ignores
padded target positions.

Shape legend: B batch, T source length, U target length, V target vocabulary, E embedding size,
H decoder hidden size, M encoder output size (D*H_enc, D directions), A attention size, K beam.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlib.io import atomic_torch_save
from seqlib.tokens import BOS, EOS, PAD

from seqlib.nn.attention import AdditiveAttention
from seqlib.nn.gru import GRUCell
from seqlib.nn.lstm import LSTMCell
from seqlib.nn.heads import make_recurrent

CELLS = {("gru", "seqlib"): GRUCell, ("lstm", "seqlib"): LSTMCell,
         ("gru", "torch"): nn.GRUCell, ("lstm", "torch"): nn.LSTMCell}


@dataclass
class Memory:
    """What the decoder reads from the encoder, for B (or B*K in beam search) sources."""

    outputs: torch.Tensor  # (B, T, M) encoder outputs, 0 past each source's end
    mask: torch.Tensor  # (B, T) bool, True = padding
    final: torch.Tensor  # (B, M) final states of both directions: the fixed context
    keys: torch.Tensor | None  # (B, T, A) projected keys for attention, or None

    def index(self, idx: torch.Tensor) -> "Memory":
        return Memory(self.outputs[idx], self.mask[idx], self.final[idx],
                      None if self.keys is None else self.keys[idx])


class Encoder(nn.Module):
    """Embeds source ids and reads them with a (bi)directional seqlib recurrent layer, packed.

    Shapes: src (B, T) long, lengths (B,) -> outputs (B, T, M), final (B, M), mask (B, T) bool.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, kind: str = "gru",
                 bidirectional: bool = True, impl: str = "seqlib", dropout: float = 0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.drop = nn.Dropout(dropout)  # on the embedded letters (training only)
        self.rnn = make_recurrent(kind, embed_dim, hidden_size, impl=impl, bidirectional=bidirectional)
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def forward(self, src: torch.Tensor, lengths: torch.Tensor):
        if src.dtype != torch.long or src.dim() != 2:
            raise ValueError(f"Encoder: expected source ids (B, T) of dtype torch.long, got {src.dtype} "
                             f"{tuple(src.shape)}")
        if lengths.shape != (src.size(0),) or int(lengths.min()) < 1 or int(lengths.max()) > src.size(1):
            raise ValueError(f"Encoder: expected lengths (B,) = ({src.size(0)},) between 1 and T = {src.size(1)}, "
                             f"got {lengths.tolist() if lengths.numel() < 10 else tuple(lengths.shape)}")
        T = src.size(1)
        packed = pack_padded_sequence(self.drop(self.embed(src)), lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)  # (B, T, M)
        h_n = state[0] if isinstance(state, tuple) else state  # (D, B, H)
        final = torch.cat(list(h_n), dim=-1)  # D x (B, H) -> (B, M)
        mask = torch.arange(T, device=src.device).unsqueeze(0) >= lengths.to(src.device).unsqueeze(1)  # (B, T)
        return out, final, mask


class Seq2Seq(nn.Module):
    r"""Encoder-decoder with a fixed context (`attention=False`) or additive attention.

    The encoder's outputs are :math:`h_1..h_T`; the decoder state starts at
    :math:`s_0 = \tanh(W_s h_{\text{final}})`. At output step :math:`i`, with previous token
    :math:`y_{i-1}` (the reference one under teacher forcing),

    .. math::
        c_i = \begin{cases} h_{\text{final}} & \text{no attention (the bottleneck)} \\
              \sum_t \alpha_{it} h_t,\ \alpha_i = \mathrm{AdditiveAttention}(s_{i-1}, h_{1..T})
              & \text{attention} \end{cases} \\
        s_i = \mathrm{Cell}([E y_{i-1}; c_i], s_{i-1}),\qquad
        p(y_i \mid y_{<i}, x) = \mathrm{softmax}(W_o [s_i; c_i; E y_{i-1}] + b_o)

    Both variants have the same encoder, cell and output layer; attention adds only the scoring MLP.

    Args:
        src_vocab, tgt_vocab: vocabulary sizes.  embed_dim: E.  hidden_size: H (encoder and decoder).
        attention: additive attention (True) or the fixed context (False).
        kind: 'gru' or 'lstm'.  bidirectional: encoder reads both ways (default True).
        attention_size: A (default H).  impl: 'seqlib' (from-scratch layers) or 'torch' (their twins).
        dropout: probability of zeroing an input of the encoder, of the decoder's cell and of its
            output layer while training (default 0: none); no parameters, so it is a regulariser only.
    Shapes:
        forward(src (B, T), src_lengths (B,), tgt_in (B, U)) -> logits (B, U, V) (teacher forcing);
        greedy(...) -> tokens (B, U') and, if asked, weights (B, U', T);
        beam_search(...) -> tokens (B, U'). Decoded tokens stop at EOS and are PAD after it.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int = 32, hidden_size: int = 64,
                 attention: bool = True, kind: str = "gru", bidirectional: bool = True,
                 attention_size: int | None = None, impl: str = "seqlib", dropout: float = 0.0):
        super().__init__()
        if (kind, impl) not in CELLS:
            raise ValueError(f"Seq2Seq: expected kind 'gru' or 'lstm' and impl 'seqlib' or 'torch', "
                             f"got {kind!r}, {impl!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"Seq2Seq: expected dropout a probability in [0, 1), got {dropout!r}")
        self.kind, self.tgt_vocab = kind, tgt_vocab
        self.encoder = Encoder(src_vocab, embed_dim, hidden_size, kind, bidirectional, impl, dropout)
        self.drop = nn.Dropout(dropout)
        M = self.encoder.output_size
        self.tgt_embed = nn.Embedding(tgt_vocab, embed_dim, padding_idx=PAD)
        self.bridge = nn.Linear(M, hidden_size)  # W_s
        self.attention = AdditiveAttention(hidden_size, M, attention_size or hidden_size) if attention else None
        self.cell = CELLS[(kind, impl)](embed_dim + M, hidden_size)
        self.out = nn.Linear(hidden_size + M + embed_dim, tgt_vocab)  # W_o

    # --- the pieces -------------------------------------------------------------------------------

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[Memory, tuple]:
        """Runs the encoder; returns the decoder's memory and its initial state (tuple of (B, H))."""
        outputs, final, mask = self.encoder(src, lengths)
        keys = self.attention.project_keys(outputs) if self.attention is not None else None  # (B, T, A)
        s0 = torch.tanh(self.bridge(final))  # (B, M) @ (M, H) -> (B, H)
        state = (s0, torch.zeros_like(s0)) if self.kind == "lstm" else (s0,)
        return Memory(outputs, mask, final, keys), state

    def step(self, y_prev: torch.Tensor, state: tuple, memory: Memory):
        """One decoder step: y_prev (B,) -> logits (B, V), new state, attention weights (B, T) or None."""
        emb = self.drop(self.tgt_embed(y_prev))  # (B, E); dropout only while training
        if self.attention is not None:
            context, weights = self.attention(state[0], memory.outputs, memory.mask, memory.keys)  # (B, M), (B, T)
        else:
            context, weights = memory.final, None  # the same (B, M) vector at every step
        new = self.cell(torch.cat([emb, context], dim=-1), state if self.kind == "lstm" else state[0])
        state = tuple(new) if self.kind == "lstm" else (new,)
        features = torch.cat([self.drop(torch.cat([state[0], context], dim=-1)), emb], dim=-1)
        logits = self.out(features)  # (B, H+M+E) @ (., V) -> (B, V)
        return logits, state, weights

    def _check_target(self, tgt: torch.Tensor, B: int) -> None:
        if tgt.dtype != torch.long or tgt.dim() != 2 or tgt.size(0) != B:
            raise ValueError(f"Seq2Seq: expected target ids (B, U) = ({B}, U) of dtype torch.long, "
                             f"got {tgt.dtype} {tuple(tgt.shape)}")

    # --- training (teacher forcing) ---------------------------------------------------------------

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        self._check_target(tgt_in, src.size(0))
        memory, state = self.encode(src, src_lengths)
        logits = []
        for i in range(tgt_in.size(1)):
            step_logits, state, _ = self.step(tgt_in[:, i], state, memory)  # the reference y_{i-1}
            logits.append(step_logits)
        return torch.stack(logits, dim=1)  # U x (B, V) -> (B, U, V)

    # --- decoding ---------------------------------------------------------------------------------

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, src_lengths: torch.Tensor, max_len: int = 30,
               return_weights: bool = False):
        """Batched greedy decoding: the most probable token at each step, fed back as the next input."""
        memory, state = self.encode(src, src_lengths)
        B = src.size(0)
        y = torch.full((B,), BOS, dtype=torch.long, device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        tokens, weights = [], []
        for _ in range(max_len):
            logits, state, w = self.step(y, state, memory)
            y = logits.argmax(-1).masked_fill(done, PAD)  # (B,); finished rows emit PAD
            tokens.append(y)
            if w is not None:
                weights.append(w)
            done = done | (y == EOS)
            if bool(done.all()):
                break
        tokens = torch.stack(tokens, dim=1)  # (B, U')
        if return_weights:
            return tokens, (torch.stack(weights, dim=1) if weights else None)  # (B, U', T)
        return tokens

    @torch.no_grad()
    def beam_search(self, src: torch.Tensor, src_lengths: torch.Tensor, beam_size: int = 4,
                    max_len: int = 30, length_penalty: float = 0.0) -> torch.Tensor:
        """Batched beam search: keeps the `beam_size` best prefixes of every source by total
        log-probability; a finished prefix (EOS) keeps its score and only extends with PAD. The best
        of the final beam is returned, its score divided by length**length_penalty (0: plain sum).
        """
        if beam_size < 1:
            raise ValueError(f"Seq2Seq.beam_search: expected beam_size >= 1, got {beam_size}")
        B, K, V, dev = src.size(0), beam_size, self.tgt_vocab, src.device
        memory, state = self.encode(src, src_lengths)
        rep = torch.arange(B, device=dev).repeat_interleave(K)  # (B*K,): beam b*K+k reads source b
        memory, state = memory.index(rep), tuple(s[rep] for s in state)
        scores = torch.full((B, K), float("-inf"), device=dev)
        scores[:, 0] = 0.0  # one live beam at the start, so the K beams do not duplicate it
        y = torch.full((B * K,), BOS, dtype=torch.long, device=dev)
        done = torch.zeros(B * K, dtype=torch.bool, device=dev)
        lengths = torch.zeros(B * K, device=dev)
        tokens = torch.empty(B * K, 0, dtype=torch.long, device=dev)
        pad_only = torch.full((V,), float("-inf"), device=dev)
        pad_only[PAD] = 0.0  # a finished beam extends with PAD at no cost
        for _ in range(max_len):
            logits, state, _ = self.step(y, state, memory)
            logp = torch.log_softmax(logits.float(), dim=-1)  # (B*K, V)
            logp = torch.where(done.unsqueeze(1), pad_only, logp)
            cand = (scores.view(B * K, 1) + logp).view(B, K * V)  # (B, K*V)
            scores, idx = cand.topk(K, dim=1)  # (B, K)
            beam, tok = idx // V, idx % V  # which prefix, which next token
            flat = (torch.arange(B, device=dev).unsqueeze(1) * K + beam).view(-1)  # (B*K,)
            state = tuple(s[flat] for s in state)
            y = tok.view(-1)
            lengths = lengths[flat] + (~done[flat]).float()
            done = done[flat] | (y == EOS)
            tokens = torch.cat([tokens[flat], y.unsqueeze(1)], dim=1)  # (B*K, U'+1)
            if bool(done.all()):
                break
        final = scores / lengths.view(B, K).clamp(min=1) ** length_penalty  # (B, K)
        best = final.argmax(dim=1)  # (B,)
        return tokens.view(B, K, -1)[torch.arange(B, device=dev), best]  # (B, U')


def seq2seq_loss(logits: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over real target tokens (PAD ignored). logits (B, U, V), tgt_out (B, U)."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1), ignore_index=PAD)


def token_accuracy(logits: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
    """Teacher-forced accuracy over real target tokens (a cheap validation signal)."""
    real = tgt_out != PAD
    return ((logits.argmax(-1) == tgt_out) & real).sum() / real.sum()


def save_seq2seq(path, model: Seq2Seq, config: dict, src_vocab: list, tgt_vocab: list,
                 meta: dict | None = None) -> None:
    """Saves a trained `Seq2Seq` (weights, the constructor's arguments, both vocabularies and
    `meta`) atomically to `path`; `load_seq2seq(path)` rebuilds it."""
    state = {"config": dict(config), "state_dict": model.state_dict(), "src_vocab": list(src_vocab),
             "tgt_vocab": list(tgt_vocab), "meta": dict(meta or {})}
    atomic_torch_save(state, path)


def load_seq2seq(path) -> tuple[Seq2Seq, dict]:
    """(model in eval mode, {"config", "src_vocab", "tgt_vocab", "meta"}) from `save_seq2seq`'s file."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    config = state["config"]
    model = Seq2Seq(config["src_vocab"], config["tgt_vocab"],
                    **{k: v for k, v in config.items() if k not in ("src_vocab", "tgt_vocab")})
    model.load_state_dict(state["state_dict"])
    return model.eval(), {k: state[k] for k in ("config", "src_vocab", "tgt_vocab", "meta")}


class TransformerDecoderModel(nn.Module):
    r"""A Transformer decoder over the same encoder memory: the control for "still sequential".

    Target embeddings plus learned positions go through `torch.nn.TransformerDecoder` (causal
    self-attention, cross-attention to the encoder outputs); a linear layer gives the logits.
    Under teacher forcing all U positions are computed at once (no step waits for another);
    greedy decoding still runs U steps, each over the prefix so far.

    Args:
        src_vocab, tgt_vocab, embed_dim (E = d_model), hidden_size (encoder H; memory M = 2H is
        projected to E), layers, heads, max_len (positions).
    Shapes: forward(src (B, T), src_lengths (B,), tgt_in (B, U)) -> logits (B, U, V).
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int = 64, hidden_size: int = 128,
                 layers: int = 2, heads: int = 4, max_len: int = 256):
        super().__init__()
        self.encoder = Encoder(src_vocab, embed_dim, hidden_size, "gru", True, "torch")
        self.memory_proj = nn.Linear(self.encoder.output_size, embed_dim)  # (M) -> (E)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed_dim, padding_idx=PAD)
        self.pos = nn.Embedding(max_len, embed_dim)
        layer = nn.TransformerDecoderLayer(embed_dim, heads, 4 * embed_dim, dropout=0.0, batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, layers)
        self.out = nn.Linear(embed_dim, tgt_vocab)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        outputs, _, mask = self.encoder(src, src_lengths)
        memory = self.memory_proj(outputs)  # (B, T, M) -> (B, T, E)
        U = tgt_in.size(1)
        x = self.tgt_embed(tgt_in) + self.pos(torch.arange(U, device=tgt_in.device))  # (B, U, E)
        causal = nn.Transformer.generate_square_subsequent_mask(U, device=tgt_in.device)  # (U, U)
        h = self.decoder(x, memory, tgt_mask=causal, tgt_is_causal=True, memory_key_padding_mask=mask)
        return self.out(h)  # (B, U, E) @ (E, V) -> (B, U, V)
