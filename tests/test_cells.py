"""seqlib cells against torch.nn cells, gradcheck, and initialisation."""
import pytest
import torch
from torch.testing import assert_close

I, H, B = 3, 4, 5


def _pair(cell_family, bias=True):
    ours_cls, torch_cls, extra = cell_family
    torch.manual_seed(0)
    theirs = torch_cls(I, H, bias=bias, **extra).double()
    ours = ours_cls(I, H, bias=bias, **extra).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _is_lstm(cell):
    return type(cell).__name__ == "LSTMCell"


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_cell_parity(cell_family, bias, batched):
    ours, theirs = _pair(cell_family, bias)
    x = torch.randn(*((B, I) if batched else (I,)), dtype=torch.float64)
    hshape = (B, H) if batched else (H,)
    hx = (torch.randn(hshape, dtype=torch.float64), torch.randn(hshape, dtype=torch.float64)) \
        if _is_lstm(ours) else torch.randn(hshape, dtype=torch.float64)
    for a, b in zip(torch.atleast_1d(ours(x, hx)) if not _is_lstm(ours) else ours(x, hx),
                    torch.atleast_1d(theirs(x, hx)) if not _is_lstm(ours) else theirs(x, hx)):
        assert_close(a, b)
    # no state given: zeros
    out_o, out_t = ours(x), theirs(x)
    assert_close(out_o, out_t)


def test_cell_gradcheck(cell_family):
    ours, _ = _pair(cell_family)
    x = torch.randn(2, I, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, H, dtype=torch.float64, requires_grad=True)
    if _is_lstm(ours):
        c = torch.randn(2, H, dtype=torch.float64, requires_grad=True)
        fn = lambda x, h, c, *p: torch.cat(torch.func.functional_call(ours, dict(zip(names, p)), (x, (h, c))))
        inputs = (x, h, c)
    else:
        fn = lambda x, h, *p: torch.func.functional_call(ours, dict(zip(names, p)), (x, h))
        inputs = (x, h)
    names = [n for n, _ in ours.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in ours.parameters())
    assert torch.autograd.gradcheck(fn, inputs + params)


def test_initialisation_range(cell_family):
    ours_cls, _, extra = cell_family
    cell = ours_cls(10, 64, **extra)
    bound = 1 / 64 ** 0.5
    for p in cell.parameters():
        assert p.abs().max() <= bound
        assert p.std() > bound / 3  # not all zeros: U(-k, k) has std k/sqrt(3)
