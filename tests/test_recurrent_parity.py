"""seqlib.RNN / LSTM / GRU against their torch.nn twins: outputs, final states and every gradient."""
import itertools

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.testing import assert_close

I, H, B, T = 3, 4, 3, 5
CONFIGS = [
    dict(num_layers=L, bidirectional=bi, batch_first=bf, bias=bias)
    for L, bi, bf, bias in itertools.product([1, 2], [False, True], [False, True], [True, False])
    if not (bf and not bias)  # keep the grid small: batch_first is orthogonal to bias
]


def _twins(family, **cfg):
    ours_cls, torch_cls, extra = family
    torch.manual_seed(0)
    theirs = torch_cls(I, H, **extra, **cfg).double()
    ours = ours_cls(I, H, **extra, **cfg).double()
    ours.load_state_dict(theirs.state_dict())  # names and shapes match, or this raises
    return ours, theirs


def _is_lstm(m):
    return isinstance(m, torch.nn.LSTM) or type(m).__name__ == "LSTM"


def _state(m, L, D, batch, seed=1):
    g = torch.Generator().manual_seed(seed)
    shape = (L * D, batch, H) if batch else (L * D, H)
    h = torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
    if _is_lstm(m):
        return (h, torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True))
    return h


def _flat(x):
    if isinstance(x, torch.nn.utils.rnn.PackedSequence):
        return [x.data]
    if isinstance(x, tuple):
        return list(x)
    return [x]


def _compare(ours, theirs, inp_ours, inp_theirs, hx_ours=None, hx_theirs=None):
    out_o, st_o = ours(inp_ours, hx_ours)
    out_t, st_t = theirs(inp_theirs, hx_theirs)
    for a, b in zip(_flat(out_o) + _flat(st_o), _flat(out_t) + _flat(st_t)):
        assert_close(a, b)
    # one scalar through every output, then compare all gradients
    g = torch.Generator().manual_seed(7)
    loss_o = sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum() for t in _flat(out_o) + _flat(st_o))
    g = torch.Generator().manual_seed(7)
    loss_t = sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype)).sum() for t in _flat(out_t) + _flat(st_t))
    leaves_o = [x for x in _flat(inp_ours) + _flat(() if hx_ours is None else hx_ours) if x.requires_grad] + list(ours.parameters())
    leaves_t = [x for x in _flat(inp_theirs) + _flat(() if hx_theirs is None else hx_theirs) if x.requires_grad] + list(theirs.parameters())
    for a, b in zip(torch.autograd.grad(loss_o, leaves_o), torch.autograd.grad(loss_t, leaves_t)):
        assert_close(a, b)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_batched_parity_with_initial_state(family, cfg):
    ours, theirs = _twins(family, **cfg)
    shape = (B, T, I) if cfg["batch_first"] else (T, B, I)
    x1 = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    D = 2 if cfg["bidirectional"] else 1
    hx1 = _state(ours, cfg["num_layers"], D, B)
    hx2 = tuple(h.detach().clone().requires_grad_() for h in hx1) if isinstance(hx1, tuple) \
        else hx1.detach().clone().requires_grad_()
    _compare(ours, theirs, x1, x2, hx1, hx2)


def test_default_state_and_state_dict_both_ways(family):
    ours, theirs = _twins(family, num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())  # and back
    x = torch.randn(T, B, I, dtype=torch.float64)
    _compare(ours, theirs, x, x.clone())


@pytest.mark.parametrize("bidirectional", [False, True])
def test_unbatched_parity(family, bidirectional):
    ours, theirs = _twins(family, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(T, I, dtype=torch.float64)
    D = 2 if bidirectional else 1
    hx = _state(ours, 2, D, batch=None)
    hx2 = tuple(h.detach().clone().requires_grad_() for h in hx) if isinstance(hx, tuple) \
        else hx.detach().clone().requires_grad_()
    _compare(ours, theirs, x, x.clone(), hx, hx2)


@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_sequence_parity(family, bidirectional, enforce_sorted):
    ours, theirs = _twins(family, num_layers=2, bidirectional=bidirectional)
    lengths = torch.tensor([5, 3, 3, 1]) if enforce_sorted else torch.tensor([2, 5, 1, 4])
    x = torch.randn(T, len(lengths), I, dtype=torch.float64)
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    p1 = pack_padded_sequence(x1, lengths, enforce_sorted=enforce_sorted)
    p2 = pack_padded_sequence(x2, lengths, enforce_sorted=enforce_sorted)
    D = 2 if bidirectional else 1
    hx = _state(ours, 2, D, len(lengths))
    hx2 = tuple(h.detach().clone().requires_grad_() for h in hx) if isinstance(hx, tuple) \
        else hx.detach().clone().requires_grad_()
    _compare(ours, theirs, p1, p2, hx, hx2)
    out, _ = ours(p1, hx)
    padded, lens = pad_packed_sequence(out)
    assert torch.equal(lens, lengths)
    assert padded.shape == (T, len(lengths), D * H)


def test_dropout_between_layers(family):
    ours, theirs = _twins(family, num_layers=2, dropout=0.5)
    x = torch.randn(T, B, I, dtype=torch.float64)
    ours.eval(), theirs.eval()
    _compare(ours, theirs, x, x.clone())  # eval mode: dropout off, identical
    ours.train()
    torch.manual_seed(0)
    a, _ = ours(x)
    torch.manual_seed(1)
    b, _ = ours(x)
    assert not torch.allclose(a, b), "dropout=0.5 in training mode should make two runs differ"
    single, _ = _twins(family, num_layers=1, dropout=0.5)
    single.train()
    assert torch.allclose(single(x)[0], single(x)[0]), "one layer: dropout is never applied"


def test_float32_default_close_to_torch(family):
    ours_cls, torch_cls, extra = family
    torch.manual_seed(0)
    theirs = torch_cls(I, H, **extra)
    ours = ours_cls(I, H, **extra)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(T, B, I)
    assert_close(ours(x)[0], theirs(x)[0], rtol=1e-5, atol=1e-6)
