"""The textbook (Cho et al. 2014) GRU cell against a naive formula, torch's variant, gradcheck."""
import pytest
import torch
from torch.testing import assert_close

from seqlib.nn.gru_textbook import TextbookGRUCell, gru_cell_textbook

I, H, B = 3, 4, 5


def _naive(x, h, cell):
    W_ir, W_iz, W_in = cell.weight_ih.chunk(3)
    W_hr, W_hz, W_hn = cell.weight_hh.chunk(3)
    b_ir, b_iz, b_in = cell.bias_ih.chunk(3)
    b_hr, b_hz, b_hn = cell.bias_hh.chunk(3)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    return (1 - z) * n + z * h


def _cells():
    torch.manual_seed(0)
    ours = TextbookGRUCell(I, H).double()
    theirs = torch.nn.GRUCell(I, H).double()
    ours.load_state_dict(theirs.state_dict())  # same parameter names and shapes
    return ours, theirs


def test_matches_naive_formula():
    cell, _ = _cells()
    x, h = torch.randn(B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    assert_close(cell(x, h), _naive(x, h, cell))
    assert_close(cell(x[0], h[0]), _naive(x[:1], h[:1], cell)[0])  # unbatched


def test_differs_from_torch_variant_but_agrees_when_reset_is_open():
    ours, theirs = _cells()
    x, h = torch.randn(B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    assert (ours(x, h) - theirs(x, h)).abs().max() > 1e-3  # the place of r matters
    with torch.no_grad():  # r = 1 and b_hn = 0: r*(W h + b) == W (r*h) + b
        for c in (ours, theirs):
            c.bias_ih[:H].fill_(50.0)
            c.bias_hh[2 * H:].zero_()
    assert_close(ours(x, h), theirs(x, h))


def test_no_bias():
    torch.manual_seed(1)
    cell = TextbookGRUCell(I, H, bias=False).double()
    x, h = torch.randn(B, I, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64)
    out = gru_cell_textbook(x, h, cell.weight_ih, cell.weight_hh)
    assert_close(cell(x, h), out)
    assert out.shape == (B, H)


def test_gradcheck():
    cell, _ = _cells()
    names = [n for n, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in cell.parameters())
    x = torch.randn(2, I, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, H, dtype=torch.float64, requires_grad=True)
    fn = lambda x, h, *p: torch.func.functional_call(cell, dict(zip(names, p)), (x, h))
    assert torch.autograd.gradcheck(fn, (x, h) + params)


def test_bad_input_named():
    cell = TextbookGRUCell(I, H)
    with pytest.raises(ValueError, match="TextbookGRUCell: expected input of size 3"):
        cell(torch.randn(B, I + 1))
