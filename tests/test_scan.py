"""seqlib.nn.scan: three evaluations of h_t = a_t h_{t-1} + b_t agree (outputs, gradients, initial
state, padding), gradcheck, minGRU / minLSTM against a naive per-step loop written here, errors."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.testing import assert_close

import seqlib
from seqlib.tokens import IGNORE
from seqlib.data.tracking import parity_splits, running_parity, selective_copy
from seqlib.nn.scan import METHODS, MinGRU, MinLSTM, linear_recurrence, scan_chunked, scan_log, scan_loop

B, T, H, I = 3, 11, 4, 5
DT = torch.float64


def _coeffs(seed=0, T=T, signed_b=True):
    g = torch.Generator().manual_seed(seed)
    k = torch.randn(B, T, H, generator=g, dtype=DT)
    a = torch.sigmoid(k)  # (0, 1), as a forget gate
    b = torch.randn(B, T, H, generator=g, dtype=DT) if signed_b else torch.rand(B, T, H, generator=g, dtype=DT)
    h0 = torch.randn(B, H, generator=g, dtype=DT)
    return a, b, h0


def _naive(a, b, h0):
    # the recurrence written out with indexing, the slow way, as a reference
    h = torch.zeros(a.size(0), a.size(2), dtype=a.dtype) if h0 is None else h0
    out = torch.empty_like(a)
    for t in range(a.size(1)):
        h = a[:, t] * h + b[:, t]
        out[:, t] = h
    return out


EVALS = {
    "loop": lambda a, b, h0: scan_loop(a, b, h0),
    "log": lambda a, b, h0: scan_log(a, b, h0),
    "chunked-log-c3": lambda a, b, h0: scan_chunked(a, b, h0, chunk=3),
    "chunked-loop-c4": lambda a, b, h0: scan_chunked(a, b, h0, chunk=4, inner="loop"),
    "chunked-default": lambda a, b, h0: scan_chunked(a, b, h0),
    "chunked-c1": lambda a, b, h0: scan_chunked(a, b, h0, chunk=1),
    "chunked-cT": lambda a, b, h0: scan_chunked(a, b, h0, chunk=T),
    "chunked-c>T": lambda a, b, h0: scan_chunked(a, b, h0, chunk=2 * T),
}


@pytest.mark.parametrize("name", sorted(EVALS))
@pytest.mark.parametrize("with_h0", [False, True])
def test_evaluations_agree_outputs_and_gradients(name, with_h0):
    a, b, h0 = _coeffs()
    h0 = h0 if with_h0 else None
    leaves = [t.clone().requires_grad_() for t in (a, b) + ((h0,) if with_h0 else ())]
    ref_leaves = [t.clone().requires_grad_() for t in leaves]
    out = EVALS[name](*leaves, *([] if with_h0 else [None]))
    ref = _naive(*ref_leaves, *([] if with_h0 else [None]))
    assert_close(out, ref)
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(3), dtype=DT)
    grads = torch.autograd.grad((out * w).sum(), leaves)
    ref_grads = torch.autograd.grad((ref * w).sum(), ref_leaves)
    for u, v in zip(grads, ref_grads):
        assert_close(u, v)


def test_initial_state_is_not_dropped():
    # the known bug: a parallel form that ignores h0 agrees with the loop only when h0 = 0
    a, b, h0 = _coeffs()
    for f in EVALS.values():
        assert not torch.allclose(f(a, b, h0), f(a, b, None))
        assert_close(f(a, b, h0) - f(a, b, None), _naive(a, torch.zeros_like(b), h0))


@pytest.mark.parametrize("method", METHODS)
def test_padding_via_lengths(method):
    a, b, h0 = _coeffs(signed_b=True)
    lengths = torch.tensor([T, 4, 1])
    out, h_n = linear_recurrence(a, b, h0, lengths=lengths, method=method, chunk=3)
    for i, n in enumerate(lengths.tolist()):  # each sequence alone, unpadded
        ref = _naive(a[i:i + 1, :n], b[i:i + 1, :n], h0[i:i + 1])
        assert_close(out[i, :n], ref[0])
        assert_close(h_n[i], ref[0, -1])
        assert torch.all(out[i, n:] == 0)
    # gradients reach padded steps not at all
    a2, b2 = a.clone().requires_grad_(), b.clone().requires_grad_()
    out, h_n = linear_recurrence(a2, b2, h0, lengths=lengths, method=method, chunk=3)
    ga, gb = torch.autograd.grad(out.sum() + h_n.sum(), (a2, b2))
    assert torch.all(ga[1, 4:] == 0) and torch.all(gb[2, 1:] == 0)


def test_log_scan_precision_with_long_sequences_and_small_gates():
    # a* = cumsum(log a) reaches about -T * 4.6 here; the log form stays accurate in float64
    g = torch.Generator().manual_seed(1)
    a = torch.full((1, 2000, 2), 0.01, dtype=DT)
    b = torch.randn(1, 2000, 2, generator=g, dtype=DT)
    assert_close(scan_log(a, b), scan_loop(a, b))
    assert_close(scan_chunked(a, b, chunk=50), scan_loop(a, b))


def test_gradcheck_small():
    a, b, h0 = _coeffs()
    a, b = (t[:2, :5, :2].clone().requires_grad_() for t in (a, b))
    h0 = h0[:2, :2].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b, h: scan_log(a, b, h), (a, b, h0))
    assert torch.autograd.gradcheck(lambda a, b, h: scan_chunked(a, b, h, chunk=2), (a, b, h0))
    assert torch.autograd.gradcheck(
        lambda a, b, h: scan_chunked(a, b, h, chunk=2, inner="loop"), (a, b, h0))
    assert torch.autograd.gradcheck(lambda a, b, h: scan_loop(a, b, h), (a, b, h0))


def _graph_ops(t):
    seen, stack, names = set(), [t.grad_fn], []
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        names.append(type(fn).__name__)
        stack += [f for f, _ in fn.next_functions]
    return names


def test_loop_uses_unbind_not_indexing():
    # indexing a[:, t] in the loop would give T SelectBackward nodes, each writing a gradient the
    # size of the whole (B, T, H) tensor in the backward: O(T^2) memory traffic
    a, b, _ = _coeffs()
    names = _graph_ops(scan_loop(a.requires_grad_(), b))
    assert names.count("UnbindBackward0") == 1
    assert "SelectBackward0" not in names and "SliceBackward0" not in names


# --------------------------------------------------------------------------- layers


def naive_min_gru(x, w, bias, h):
    # x (B, T, I), w (2H, I), h (B, H): the minGRU equations one step at a time
    Hd = h.size(1)
    outs = []
    for t in range(x.size(1)):
        z = torch.sigmoid(x[:, t] @ w[:Hd].T + bias[:Hd])
        h_tilde = x[:, t] @ w[Hd:].T + bias[Hd:]
        h = (1 - z) * h + z * h_tilde
        outs.append(h)
    return torch.stack(outs, 1), h


def naive_min_lstm(x, w, bias, h):
    Hd = h.size(1)
    outs = []
    for t in range(x.size(1)):
        f = torch.sigmoid(x[:, t] @ w[:Hd].T + bias[:Hd])
        i = torch.sigmoid(x[:, t] @ w[Hd:2 * Hd].T + bias[Hd:2 * Hd])
        h_tilde = x[:, t] @ w[2 * Hd:].T + bias[2 * Hd:]
        h = f / (f + i) * h + i / (f + i) * h_tilde
        outs.append(h)
    return torch.stack(outs, 1), h


NAIVE = {MinGRU: naive_min_gru, MinLSTM: naive_min_lstm}


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_layers_against_naive_loop(cls, method, batch_first):
    torch.manual_seed(0)
    model = cls(I, H, num_layers=2, batch_first=batch_first, method=method, chunk=3).double()
    x = torch.randn(B, T, I, dtype=DT)
    h0 = torch.randn(2, B, H, dtype=DT)
    xa, ha = x.clone().requires_grad_(), h0.clone().requires_grad_()
    out, h_n = model(xa if batch_first else xa.transpose(0, 1), ha)
    out = out if batch_first else out.transpose(0, 1)
    xb, hb = x.clone().requires_grad_(), h0.clone().requires_grad_()
    ref, finals, inp = None, [], xb
    for layer in range(2):
        inp, last = NAIVE[cls](inp, getattr(model, f"weight_ih_l{layer}"),
                               getattr(model, f"bias_ih_l{layer}"), hb[layer])
        finals.append(last)
    ref = inp
    assert_close(out, ref)
    assert_close(h_n, torch.stack(finals))
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(5), dtype=DT)
    params = list(model.parameters())
    g1 = torch.autograd.grad((out * w).sum() + h_n.sum(), [xa, ha] + params)
    g2 = torch.autograd.grad((ref * w).sum() + torch.stack(finals).sum(), [xb, hb] + params)
    for u, v in zip(g1, g2):
        assert_close(u, v)


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
def test_layers_padding_packed_and_unbatched(cls):
    torch.manual_seed(0)
    model = cls(I, H, batch_first=True, method="log").double()
    x = torch.randn(B, T, I, dtype=DT)
    lengths = torch.tensor([6, T, 2])
    out, h_n = model(x, lengths=lengths)
    for i, n in enumerate(lengths.tolist()):
        o, h = model(x[i, :n])  # unbatched (T, I)
        assert_close(out[i, :n], o)
        assert_close(h_n[:, i], h)
        assert torch.all(out[i, n:] == 0)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    p_out, p_h = model(packed)
    assert_close(pad_packed_sequence(p_out, batch_first=True)[0], out[:, : int(lengths.max())])
    assert_close(p_h, h_n)


def test_methods_share_parameters_and_switch():
    torch.manual_seed(0)
    model = MinGRU(I, H).double()
    x = torch.randn(T, B, I, dtype=DT)
    outs = []
    for m in METHODS:
        model.method = m
        outs.append(model(x)[0])
    assert_close(outs[0], outs[1])
    assert_close(outs[0], outs[2])
    assert [n for n, _ in model.named_parameters()] == ["weight_ih_l0", "bias_ih_l0"]
    assert sum(p.numel() for p in model.parameters()) == 2 * H * (I + 1)
    assert sum(p.numel() for p in MinLSTM(I, H).parameters()) == 3 * H * (I + 1)


def test_float32_log_scan_close_to_loop():
    torch.manual_seed(0)
    model = MinGRU(I, 16, batch_first=True)
    x = torch.randn(4, 512, I)
    ref = model(x)[0]
    model.method = "log"
    assert_close(model(x)[0], ref, rtol=1e-4, atol=1e-4)


def test_models_accept_min_layers():
    names_like = seqlib.SequenceClassifier("mingru", 10, 4, 6, 3)
    x = torch.randint(1, 10, (5, 7))
    lengths = torch.tensor([7, 3, 5, 1, 2])
    assert names_like(x, lengths).shape == (5, 3)
    tagger = seqlib.TokenTagger("minlstm", 10, 4, 6, 3, num_layers=2)
    assert tagger(x).shape == (5, 7, 3)
    reg = seqlib.LastStepRegressor("mingru", 2, 6)
    assert reg(torch.randn(5, 9, 2)).shape == (5, 1)


# --------------------------------------------------------------------------- errors


def test_errors_name_the_module():
    a, b, h0 = _coeffs()
    with pytest.raises(ValueError, match="scan_log: the log-space scan needs a > 0"):
        scan_log(-a, b)
    with pytest.raises(ValueError, match=r"scan_loop: expected a and b of the same shape"):
        scan_loop(a, b[:, :3])
    with pytest.raises(ValueError, match=r"scan_chunked: expected h0 of shape \(B, H\)"):
        scan_chunked(a, b, h0[:1])
    with pytest.raises(ValueError, match="scan_chunked: expected chunk to be a positive integer"):
        scan_chunked(a, b, chunk=0)
    with pytest.raises(ValueError, match="linear_recurrence: expected method in"):
        linear_recurrence(a, b, method="fft")
    with pytest.raises(ValueError, match=r"linear_recurrence: expected every length in \[1, 11\]"):
        linear_recurrence(a, b, lengths=torch.tensor([0, 3, 4]))
    model = MinGRU(I, H)
    with pytest.raises(ValueError, match="MinGRU: expected input of size 5 in its last dimension, got 6"):
        model(torch.randn(T, B, 6))
    with pytest.raises(ValueError, match=r"MinGRU: expected hx \(the initial state\) of shape \(1, 3, 4\)"):
        model(torch.randn(T, B, I), torch.randn(B, H))
    with pytest.raises(ValueError, match="MinGRU: expected input of 2 \\(unbatched\\) or 3"):
        model(torch.randn(T))
    with pytest.raises(TypeError, match="MinLSTM: expected a floating-point input"):
        MinLSTM(I, H)(torch.ones(T, B, I, dtype=torch.long))
    with pytest.raises(ValueError, match="MinLSTM: expected method in"):
        MinLSTM(I, H, method="parallel")
    with pytest.raises(ValueError, match="MinGRU: expected lengths of shape"):
        model(torch.randn(T, B, I), lengths=torch.tensor([3, 4]))
    with pytest.raises(ValueError, match="MinGRU: bidirectional=True is not supported"):
        MinGRU(I, H, bidirectional=True)
    with pytest.raises(ValueError, match="MinGRU: expected hidden_size to be a positive integer"):
        MinGRU(I, 0)


# --------------------------------------------------------------------------- tasks


def test_selective_copy_structure():
    X, y = selective_copy(50, 20, seed=0, n_symbols=8, n_copy=4)
    assert X.shape == y.shape == (50, 25)
    assert torch.all(X[:, 20] == 9)
    assert torch.all((X[:, :20] > 0).sum(1) == 4)
    for i in range(50):
        row = X[i, :20]
        assert torch.equal(row[row > 0], y[i, 21:])
    assert torch.all(y[:, :21] == IGNORE)
    X2, _ = selective_copy(50, 20, seed=0, n_symbols=8, n_copy=4)
    assert torch.equal(X, X2)
    with pytest.raises(ValueError, match="selective_copy: expected 1 <= n_copy"):
        selective_copy(5, 3, n_copy=4)


def test_running_parity_and_splits():
    X, y = running_parity(20, 9, seed=1)
    assert torch.equal(y[:, -1], X.sum(1) % 2)
    assert torch.equal(y[:, 0], X[:, 0])
    s = parity_splits(8, n_train=30, n_val=10, n_test=10, seed=0)
    assert not torch.equal(s.train[0][:10], s.test[0])
    assert math.isclose(s.baseline, math.log(2))
    assert F.cross_entropy(torch.zeros(30 * 8, 2), s.train[1].reshape(-1)).item() == pytest.approx(math.log(2))


def test_gpu_script_dry_run_on_cpu():
    from runs.gpu.scan_speed import main

    values = main(["--dry-run"])
    assert [r["T"] for r in values["rows"]] == values["lengths"]
    assert len(values["parallel_over_loop_at_ref_T"]) == values["rounds"]
    assert all(r > 0 for r in values["parallel_over_loop_at_ref_T"])


# --------------------------------------------------------------------------- MinGRUBlock, BlockTagger


def _naive_block(block, x):
    # the block's equations written out: pre-norm minGRU + residual, pre-norm MLP + residual
    rnn = block.rnn
    w, b = rnn.weight_ih_l0, rnn.bias_ih_l0
    xn = F.layer_norm(x, (block.size,), block.norm1.weight, block.norm1.bias, block.norm1.eps)
    k, h_tilde = (xn @ w.T + b).chunk(2, dim=-1)
    z = torch.sigmoid(k)
    h = torch.zeros(x.size(0), block.size, dtype=x.dtype)
    outs = []
    for t in range(x.size(1)):
        h = (1 - z[:, t]) * h + z[:, t] * h_tilde[:, t]
        outs.append(h)
    u = x + torch.stack(outs, dim=1)
    un = F.layer_norm(u, (block.size,), block.norm2.weight, block.norm2.bias, block.norm2.eps)
    lin1, lin2 = block.mlp[0], block.mlp[2]
    return u + F.linear(F.gelu(F.linear(un, lin1.weight, lin1.bias)), lin2.weight, lin2.bias)


@pytest.mark.parametrize("method", METHODS)
def test_mingru_block_matches_its_equations(method):
    from seqlib.nn.scan import MinGRUBlock

    torch.manual_seed(0)
    block = MinGRUBlock(6, expansion=3, method=method, chunk=4).double()
    with torch.no_grad():  # non-trivial norms, so that a forgotten LayerNorm parameter shows
        for p in (block.norm1.weight, block.norm2.weight, block.norm1.bias, block.norm2.bias):
            p.uniform_(0.5, 1.5)
    x = torch.randn(2, 13, 6, dtype=DT)
    assert_close(block(x), _naive_block(block, x))


def test_mingru_block_is_residual_and_gradchecks():
    from seqlib.nn.scan import MinGRUBlock

    torch.manual_seed(1)
    block = MinGRUBlock(3, method="log").double()
    with torch.no_grad():  # zero the branches' last maps: the block is the identity
        block.rnn.weight_ih_l0[3:].zero_()
        block.rnn.bias_ih_l0[3:].zero_()
        block.mlp[2].weight.zero_()
        block.mlp[2].bias.zero_()
    x = torch.randn(2, 5, 3, dtype=DT, requires_grad=True)
    assert_close(block(x), x)
    torch.manual_seed(2)
    block = MinGRUBlock(3, method="log").double()
    assert torch.autograd.gradcheck(block, (x,))


def test_block_tagger_shapes_params_and_errors():
    from seqlib.nn.heads import BlockTagger
    from seqlib.nn.scan import MinGRUBlock

    model = BlockTagger(2, 5, 2, num_blocks=3)
    x = torch.randint(0, 2, (4, 16))
    assert model(x).shape == (4, 16, 2)
    D = 5  # embedding, 3 blocks (2 norms, minGRU 2D(D+1), MLP D->2D->D), final norm, head
    block = 2 * 2 * D + 2 * D * (D + 1) + (D * 2 * D + 2 * D) + (2 * D * D + D)
    assert seqlib.count_parameters(model) == 2 * D + 3 * block + 2 * D + (D * 2 + 2)
    with pytest.raises(ValueError, match="BlockTagger: expected num_blocks"):
        BlockTagger(2, 5, 2, num_blocks=0)
    with pytest.raises(ValueError, match=r"MinGRUBlock: expected input \(B, T, 5\)"):
        MinGRUBlock(5)(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="MinGRUBlock: expected size"):
        MinGRUBlock(0)


def test_block_regressor_reads_the_last_step_only_through_the_past():
    from seqlib.nn.heads import BlockRegressor

    torch.manual_seed(0)
    model = BlockRegressor(2, 6, output_size=3, num_blocks=2)
    x = torch.randn(4, 9, 2)
    assert model(x).shape == (4, 3)
    y = x.clone()
    y[:, :4] += 1.0  # an early step changes the prediction (the state carries it) ...
    assert not torch.allclose(model(x), model(y))
    longer = torch.cat([x, torch.randn(4, 1, 2)], dim=1)  # ... and the prediction is the last step's
    assert not torch.allclose(model(x), model(longer))
    with pytest.raises(ValueError, match="BlockRegressor: expected num_blocks"):
        BlockRegressor(2, 5, num_blocks=0)
