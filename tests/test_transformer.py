"""seqlib.MultiheadAttention / TransformerEncoderLayer against torch.nn's twins (float64, outputs and
gradients), state dicts both ways, masks, positional encoding, heads and error messages."""
import math

import pytest
import torch
from torch import nn

import seqlib
from seqlib.nn.transformer import (MultiheadAttention, SinusoidalPositionalEncoding, TransformerClassifier,
                                   TransformerEncoderLayer, TransformerRegressor, TransformerTagger)

D64 = torch.float64


def _grads(module):
    return {n: p.grad.clone() for n, p in module.named_parameters()}


def _pair_mha(E=8, N=2, batch_first=False, bias=True):
    torch.manual_seed(0)
    ours = MultiheadAttention(E, N, batch_first=batch_first, bias=bias, dtype=D64)
    ref = nn.MultiheadAttention(E, N, batch_first=batch_first, bias=bias, dtype=D64)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("average", [True, False])
def test_mha_parity_outputs_weights_grads(batch_first, average):
    ours, ref = _pair_mha(batch_first=batch_first)
    B, L, S, E = 3, 4, 5, 8
    shape_q, shape_k = ((B, L, E), (B, S, E)) if batch_first else ((L, B, E), (S, B, E))
    q = torch.randn(*shape_q, dtype=D64, requires_grad=True)
    k = torch.randn(*shape_k, dtype=D64, requires_grad=True)
    v = torch.randn(*shape_k, dtype=D64, requires_grad=True)
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])
    causalish = torch.ones(L, S, dtype=torch.bool).triu(2)
    outs = []
    for m in (ours, ref):
        for t in (q, k, v):
            t.grad = None
        m.zero_grad()
        out, w = m(q, k, v, key_padding_mask=pad, attn_mask=causalish, average_attn_weights=average)
        (out.sin().sum() + (w * torch.arange(w.numel(), dtype=D64).view_as(w)).sum()).backward()
        outs.append((out, w, q.grad.clone(), k.grad.clone(), v.grad.clone(), _grads(m)))
    for a, b in zip(outs[0][:5], outs[1][:5]):
        torch.testing.assert_close(a, b)
    for name, g in outs[1][5].items():
        torch.testing.assert_close(outs[0][5][name], g, msg=name)


def test_mha_float_masks_and_3d_mask_and_no_bias():
    ours, ref = _pair_mha(E=6, N=3, batch_first=True, bias=False)
    assert ours.in_proj_bias is None and ours.out_proj.bias is None
    x = torch.randn(2, 4, 6, dtype=D64)
    attn = torch.randn(2 * 3, 4, 4, dtype=D64)  # per batch row and head, additive
    pad = torch.tensor([[0.0, 0.0, 0.0, -1e9], [0.0, -0.5, 0.0, 0.0]], dtype=D64)
    a, wa = ours(x, x, x, key_padding_mask=pad, attn_mask=attn)
    b, wb = ref(x, x, x, key_padding_mask=pad, attn_mask=attn)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(wa, wb)


def test_mha_unbatched_and_need_weights_false():
    ours, ref = _pair_mha()
    x = torch.randn(5, 8, dtype=D64)
    pad = torch.tensor([False, False, True, False, True])
    a, wa = ours(x, x, x, key_padding_mask=pad)
    b, wb = ref(x, x, x, key_padding_mask=pad)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(wa, wb)
    assert wa.shape == (5, 5)
    out, w = ours(x, x, x, need_weights=False)
    assert w is None and out.shape == (5, 8)


def test_mha_masks_invariants():
    ours, _ = _pair_mha(batch_first=True)
    x = torch.randn(2, 6, 8, dtype=D64)
    pad = torch.zeros(2, 6, dtype=torch.bool)
    pad[1, 4:] = True
    _, w = ours(x, x, x, key_padding_mask=pad, average_attn_weights=False)  # (B, N, L, S)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 2, 6, dtype=D64))
    assert w[1, :, :, 4:].abs().max() == 0  # padded keys get exactly zero weight
    _, w = ours(x, x, x, is_causal=True)
    assert w.triu(1).abs().max() == 0  # no query attends to a later key
    # changing a padded key's content changes nothing
    x2 = x.clone()
    x2[1, 5] += 10.0
    a, _ = ours(x, x, x, key_padding_mask=pad)
    b, _ = ours(x2, x2, x2, key_padding_mask=pad)
    torch.testing.assert_close(a[1, :5], b[1, :5])


def test_mha_state_dict_both_ways():
    ours = MultiheadAttention(8, 4)
    ref = nn.MultiheadAttention(8, 4)
    assert set(ours.state_dict()) == set(ref.state_dict())
    ref.load_state_dict(ours.state_dict())
    ours2 = MultiheadAttention(8, 4)
    ours2.load_state_dict(ref.state_dict())
    for n, t in ours.state_dict().items():
        assert torch.equal(ours2.state_dict()[n], t)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_parity(norm_first, activation, batch_first):
    torch.manual_seed(1)
    kw = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, activation=activation,
              batch_first=batch_first, norm_first=norm_first, dtype=D64)
    ours, ref = TransformerEncoderLayer(**kw), nn.TransformerEncoderLayer(**kw)
    assert set(ours.state_dict()) == set(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    B, T = 3, 5
    x = torch.randn(*((B, T, 8) if batch_first else (T, B, 8)), dtype=D64, requires_grad=True)
    pad = torch.tensor([[False] * 5, [False] * 2 + [True] * 3, [False] * 4 + [True]])
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    results = []
    for m in (ours, ref):
        x.grad = None
        m.zero_grad()
        y = m(x, src_mask=mask, src_key_padding_mask=pad)
        (y.cos() * torch.linspace(-1, 1, y.numel(), dtype=D64).view_as(y)).sum().backward()
        results.append((y, x.grad.clone(), _grads(m)))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])
    for name, g in results[1][2].items():
        torch.testing.assert_close(results[0][2][name], g, msg=name)


def test_encoder_layer_eval_parity_and_reverse_load():
    torch.manual_seed(2)
    ours = TransformerEncoderLayer(8, 4, 32, dropout=0.3, batch_first=True).double().eval()
    ref = nn.TransformerEncoderLayer(8, 4, 32, dropout=0.3, batch_first=True).double().eval()
    ref.load_state_dict(ours.state_dict())  # seqlib -> torch this time
    x = torch.randn(2, 7, 8, dtype=D64)
    with torch.no_grad():  # torch may take its fused fast path here; the numbers must still agree
        torch.testing.assert_close(ours(x), ref(x))
    x1 = torch.randn(7, 8, dtype=D64)  # unbatched
    torch.testing.assert_close(ours(x1), ref(x1))


def test_dropout_active_in_training_only():
    m = TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True)
    x = torch.randn(2, 5, 8)
    m.train()
    assert not torch.allclose(m(x), m(x))
    m.eval()
    torch.testing.assert_close(m(x), m(x))


def test_gradcheck_mha():
    m = MultiheadAttention(4, 2, batch_first=True, dtype=D64)
    x = torch.randn(2, 3, 4, dtype=D64, requires_grad=True)
    pad = torch.tensor([[False, False, True], [False, False, False]])
    assert torch.autograd.gradcheck(lambda t: m(t, t, t, key_padding_mask=pad)[0], (x,))


def test_positional_encoding():
    pe = SinusoidalPositionalEncoding(6, max_len=50, batch_first=True)
    x = torch.zeros(2, 10, 6)
    y = pe(x)
    t, i = 7, 1
    assert math.isclose(float(y[0, t, 2 * i]), math.sin(t / 10000 ** (2 * i / 6)), rel_tol=1e-5)
    assert math.isclose(float(y[1, t, 2 * i + 1]), math.cos(t / 10000 ** (2 * i / 6)), rel_tol=1e-5)
    assert "pe" not in pe.state_dict()
    seq_first = SinusoidalPositionalEncoding(6, max_len=50)(torch.zeros(10, 2, 6))
    torch.testing.assert_close(seq_first.transpose(0, 1), y)
    odd = SinusoidalPositionalEncoding(5, max_len=8)(torch.zeros(8, 1, 5))
    assert torch.isfinite(odd).all()
    with pytest.raises(ValueError, match=r"^SinusoidalPositionalEncoding: sequence of length 60 is longer than max_len=50"):
        pe(torch.zeros(1, 60, 6))


def test_heads_shapes_and_padding_invariance():
    torch.manual_seed(0)
    clf = TransformerClassifier(20, 8, 2, 2, 3, dropout=0.0).eval()
    x = torch.randint(2, 20, (2, 6))
    lengths = torch.tensor([6, 3])
    out = clf(x, lengths)
    assert out.shape == (2, 3)
    x2 = x.clone()
    x2[1, 3:] = 0  # what sits in the padding must not matter
    torch.testing.assert_close(clf(x2, lengths), out)
    torch.testing.assert_close(clf(x[1:, :3], lengths[1:]), out[1:])  # nor how much padding there is
    assert TransformerTagger(10, 8, 2, 1, 10)(torch.randint(0, 10, (2, 7))).shape == (2, 7, 10)
    assert TransformerRegressor(2, 8, 2, 1)(torch.randn(3, 9, 2)).shape == (3, 1)


def test_errors():
    with pytest.raises(ValueError, match=r"^MultiheadAttention: embed_dim \(10\) must be divisible by num_heads \(4\)"):
        MultiheadAttention(10, 4)
    with pytest.raises(ValueError, match=r"^TransformerEncoderLayer: d_model \(10\) must be divisible by nhead \(3\)"):
        TransformerEncoderLayer(10, 3)
    with pytest.raises(ValueError, match=r"^TransformerEncoderLayer: expected activation 'relu', 'gelu'"):
        TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match=r"^MultiheadAttention: expected dropout to be a number in \[0, 1\]"):
        MultiheadAttention(8, 2, dropout=2.0)
    with pytest.raises(NotImplementedError, match=r"^MultiheadAttention: add_bias_kv"):
        MultiheadAttention(8, 2, kdim=4)
    m = MultiheadAttention(8, 2, batch_first=True)
    x = torch.randn(2, 3, 8)
    with pytest.raises(ValueError, match=r"^MultiheadAttention: expected query of size 8 in its last dimension, got 6"):
        m(torch.randn(2, 3, 6), x, x)
    with pytest.raises(TypeError, match=r"^MultiheadAttention: expected a floating-point query"):
        m(torch.ones(2, 3, 8, dtype=torch.long), x, x)
    with pytest.raises(ValueError, match=r"^MultiheadAttention: expected key_padding_mask of shape \(2, 3\), got \(2, 4\)"):
        m(x, x, x, key_padding_mask=torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"^MultiheadAttention: expected attn_mask of shape \(3, 3\) or \(4, 3, 3\)"):
        m(x, x, x, attn_mask=torch.zeros(2, 2))
    with pytest.raises(TypeError, match=r"^MultiheadAttention: expected attn_mask of dtype torch.bool or a float"):
        m(x, x, x, attn_mask=torch.zeros(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"^MultiheadAttention: expected query of 2 \(unbatched\) or 3"):
        m(torch.randn(1, 2, 3, 8), x, x)
    with pytest.raises(TypeError, match=r"^TransformerClassifier: expected token ids of dtype torch.long"):
        TransformerClassifier(10, 8, 2, 1, 3)(torch.randn(2, 4), torch.tensor([4, 2]))


def test_exported():
    for name in ("MultiheadAttention", "TransformerEncoderLayer", "SinusoidalPositionalEncoding",
                 "TransformerClassifier", "TransformerTagger", "TransformerRegressor"):
        assert hasattr(seqlib, name)


def test_attention_pooling_classifier_matches_naive_loop():
    torch.manual_seed(0)
    m = seqlib.nn.heads.AttentionPoolingClassifier("gru", 12, 5, 6, 3).double()
    x = torch.randint(1, 12, (3, 7))
    lengths = torch.tensor([7, 4, 2])
    x[1, 4:] = 0
    x[2, 2:] = 0
    out = m(x, lengths)
    for b in range(3):  # one sequence at a time, no padding at all
        n = int(lengths[b])
        h, _ = m.rnn(m.embed(x[b:b + 1, :n]))  # (1, n, H)
        e = torch.stack([m.score(h[0, t]).squeeze() for t in range(n)])
        a = torch.softmax(e, 0)
        c = sum(a[t] * h[0, t] for t in range(n))
        torch.testing.assert_close(out[b], m.head(c))
        torch.testing.assert_close(m.last_weights[b, :n], a)
        assert m.last_weights[b, n:].abs().sum() == 0
    with pytest.raises(TypeError, match=r"^AttentionPoolingClassifier: expected token ids of dtype torch.long"):
        m(x.double(), lengths)


def test_encoder_layer_without_residual_or_norm():
    """residual=False drops the identity path, norm=False the layer norms; defaults are torch's."""
    torch.manual_seed(0)
    E = 8
    x = torch.randn(2, 5, E, dtype=D64)
    full = TransformerEncoderLayer(E, 2, 16, 0.0, batch_first=True, dtype=D64)
    bare = TransformerEncoderLayer(E, 2, 16, 0.0, batch_first=True, dtype=D64, residual=False, norm=False)
    bare.load_state_dict(full.state_dict(), strict=False)  # no norm parameters in `bare`
    assert not any(n.startswith("norm") for n, _ in bare.named_parameters())
    with torch.no_grad():  # by hand: x <- SA(x), x <- FF(x)
        h = full.self_attn(x, x, x, need_weights=False)[0]
        h = full.linear2(torch.relu(full.linear1(h)))
        torch.testing.assert_close(bare(x), h)
        nf = TransformerEncoderLayer(E, 2, 16, 0.0, batch_first=True, dtype=D64, norm_first=True,
                                     residual=False, norm=False)
        nf.load_state_dict(bare.state_dict())
        torch.testing.assert_close(nf(x), h)  # without norms the two orders are the same


def test_regressor_readouts_and_self_only_attention():
    torch.manual_seed(0)
    T = 6
    x = torch.randn(3, T, 2)
    last = TransformerRegressor(2, 8, 2, 1, readout="last")
    mean = TransformerRegressor(2, 8, 2, 1)
    mean.load_state_dict(last.state_dict())
    h = last.encode(last.proj(x))  # (B, T, E)
    torch.testing.assert_close(last(x), last.head(h[:, -1]))
    torch.testing.assert_close(mean(x), mean.head(h.mean(1)))
    # attend="self": the last output depends on the last input only
    own = TransformerRegressor(2, 8, 2, 2, readout="last", attend="self")
    xi = x.clone().requires_grad_()
    own(xi).sum().backward()
    assert xi.grad[:, :-1].abs().max() == 0 and xi.grad[:, -1].abs().max() > 0
    xi.grad = None
    last(xi).sum().backward()
    assert xi.grad[:, 0].abs().max() > 0  # with attention, the first input reaches the answer
    with pytest.raises(ValueError, match="TransformerRegressor: expected readout"):
        TransformerRegressor(2, 8, 2, 1, readout="max")
    with pytest.raises(ValueError, match="TransformerRegressor: expected attend"):
        TransformerRegressor(2, 8, 2, 1, attend="none")
