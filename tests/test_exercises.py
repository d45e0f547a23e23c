"""seqlib.book.exercises: correct answers pass, typical mistakes fail with a message naming the mistake."""
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import seqlib
from seqlib.book.exercises import check_gru_cell, check_lstm_cell, check_rnn_cell


# ---- correct answers, in every accepted form

def test_correct_functions_pass(capsys):
    check_rnn_cell(lambda x, h, wi, wh, bi, bh: torch.tanh(x @ wi.T + bi + h @ wh.T + bh))
    check_lstm_cell(seqlib.nn.lstm.lstm_cell)
    check_gru_cell(seqlib.nn.gru.gru_cell)
    out = capsys.readouterr().out
    for name in ("RNN cell", "LSTM cell", "GRU cell"):
        assert f"{name} check passed" in out
    assert "batched" in out and "unbatched" in out and "weight_hh" in out


@pytest.mark.parametrize("cls, check", [(nn.RNNCell, check_rnn_cell), (nn.LSTMCell, check_lstm_cell),
                                        (nn.GRUCell, check_gru_cell), (seqlib.GRUCell, check_gru_cell)])
def test_modules_and_classes_pass(cls, check, capsys):
    check(cls(3, 6))  # a module: its own sizes are used
    check(cls)  # a class: built as cls(5, 4)
    check(cls(3, 6, bias=False))
    assert capsys.readouterr().out.count("check passed") == 3


def test_check_does_not_change_the_module():
    cell = nn.GRUCell(3, 4)
    before = {k: v.clone() for k, v in cell.state_dict().items()}
    check_gru_cell(cell)
    for k, v in cell.state_dict().items():
        assert torch.equal(v, before[k])


# ---- typical mistakes, each caught and named

def _fails(check, candidate, *patterns):
    with pytest.raises(AssertionError) as e:
        check(candidate)
    msg = str(e.value)
    for p in patterns:
        assert re.search(p, msg), f"{p!r} not in:\n{msg}"
    return msg


def test_lstm_gate_order_ifog():
    def ifog(x, state, wi, wh, bi, bh):
        h, c = state
        i, f, o, g = (x @ wi.T + bi + h @ wh.T + bh).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    _fails(check_lstm_cell, ifog, r"LSTM cell check FAILED", r"order i, f, o, g", r"i, f, g, o")


def test_lstm_sigmoid_candidate_and_missing_tanh():
    def sig_g(x, state, wi, wh, bi, bh):
        h, c = state
        i, f, g, o = torch.sigmoid(x @ wi.T + bi + h @ wh.T + bh).chunk(4, dim=-1)  # sigmoid on all 4
        c = f * c + i * g
        return o * torch.tanh(c), c
    _fails(check_lstm_cell, sig_g, r"sigmoid on the candidate g")

    def no_tanh(x, state, wi, wh, bi, bh):
        h, c = seqlib.nn.lstm.lstm_cell(x, state, wi, wh, bi, bh)
        o = torch.sigmoid((x @ wi.T + bi + state[0] @ wh.T + bh).chunk(4, dim=-1)[3])
        return o * c, c
    _fails(check_lstm_cell, no_tanh, r"h' = o \* c', missing the tanh")


def test_gru_reset_inside_matmul():
    class ChoGRU(nn.Module):  # the paper's form, with torch's parameter names
        def __init__(self, I, H):
            super().__init__()
            self.weight_ih, self.weight_hh = nn.Parameter(torch.randn(3 * H, I)), nn.Parameter(torch.randn(3 * H, H))
            self.bias_ih, self.bias_hh = nn.Parameter(torch.randn(3 * H)), nn.Parameter(torch.randn(3 * H))

        def forward(self, x, h):
            i_r, i_z, i_n = F.linear(x, self.weight_ih, self.bias_ih).chunk(3, -1)
            w_r, w_z, w_n = self.weight_hh.chunk(3)
            b_r, b_z, b_n = self.bias_hh.chunk(3)
            r, z = torch.sigmoid(i_r + h @ w_r.T + b_r), torch.sigmoid(i_z + h @ w_z.T + b_z)
            n = torch.tanh(i_n + (r * h) @ w_n.T + b_n)
            return (1 - z) * n + z * h
    _fails(check_gru_cell, ChoGRU(3, 4), r"r applied inside the matmul", r"Cho et al")


def test_gru_swapped_update_gate():
    def swapped(x, h, wi, wh, bi, bh):
        i_r, i_z, i_n = (x @ wi.T + bi).chunk(3, -1)
        h_r, h_z, h_n = (h @ wh.T + bh).chunk(3, -1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return z * n + (1 - z) * h
    _fails(check_gru_cell, swapped, r"z and 1 - z swapped")


def test_missing_bias():
    _fails(check_rnn_cell, lambda x, h, wi, wh, bi, bh: torch.tanh(x @ wi.T + bi + h @ wh.T),
           r"missing the recurrent bias b_hh")
    _fails(check_gru_cell, lambda x, h, wi, wh, bi, bh: seqlib.nn.gru.gru_cell(x, h, wi, wh, None, None),
           r"without biases")


def test_rnn_wrong_nonlinearity():
    _fails(check_rnn_cell, lambda x, h, wi, wh, bi, bh: torch.sigmoid(x @ wi.T + bi + h @ wh.T + bh),
           r"sigmoid\(\.\.\.\) instead of tanh")


def test_output_shape_unbatched():
    def keeps_batch_dim(x, h, wi, wh, bi, bh):  # fine batched, wrong unbatched
        return torch.tanh(x.reshape(-1, x.shape[-1]) @ wi.T + bi + h.reshape(-1, h.shape[-1]) @ wh.T + bh)
    _fails(check_rnn_cell, keeps_batch_dim, r"output shape: h' has shape \(1, 4\), expected \(4,\)",
           r"unbatched")


def test_untransposed_weight_raises_with_hint():
    _fails(check_rnn_cell, lambda x, h, wi, wh, bi, bh: torch.tanh(x @ wi + bi + h @ wh + bh),
           r"your code raised RuntimeError", r"x @ w_ih.T")


def test_lstm_returns_only_h():
    _fails(check_lstm_cell, lambda x, s, *p: seqlib.nn.lstm.lstm_cell(x, s, *p)[0], r"expected a tuple \(h', c'\)")


def test_detached_state_breaks_the_gradient():
    def detached(x, h, wi, wh, bi, bh):
        return seqlib.nn.gru.gru_cell(x, h.detach(), wi, wh, bi, bh)
    _fails(check_gru_cell, detached, r"outputs match but the gradients do not", r"h: no gradient")


def test_unknown_mistake_falls_back_to_probes():
    def wrong_recurrence(x, h, wi, wh, bi, bh):  # W_hh applied to h twice: only the recurrent part is wrong
        return seqlib.nn.rnn.rnn_cell(x, h @ wh.T, wi, wh, bi, bh)
    _fails(check_rnn_cell, wrong_recurrence, r"previous state is zero")


def test_module_with_wrong_parameter_names():
    class Named(nn.Module):
        def __init__(self):
            super().__init__()
            self.W = nn.Linear(3, 4)
    _fails(check_rnn_cell, Named(), r"parameters \['W.bias', 'W.weight'\]", r"weight_ih")


def test_a_new_check_plugs_in_through_exercise_spec(capsys):
    """How a later check (attention, TextCNN) is written: a spec with trials, reference, mistakes."""
    from seqlib.book.exercises import ExerciseSpec, Mistake, Trial, run_check

    def trials():
        g = torch.Generator().manual_seed(0)
        return [Trial({"scores": torch.randn(2, 3, 4, generator=g)}, {}, f"case {k}") for k in range(2)]
    spec = ExerciseSpec(
        title="Attention weights", reference_name="torch.softmax(scores, -1)", trials=trials,
        reference=lambda t: (torch.softmax(t.inputs["scores"], -1),),
        call=lambda fn, t: fn(t.inputs["scores"]), normalise=lambda raw, t: (raw,), output_names=("weights",),
        mistakes=[Mistake("a softmax over the queries (dim=-2) instead of the keys (dim=-1).",
                          lambda t: (torch.softmax(t.inputs["scores"], -2),))])
    run_check(spec, lambda s: s.softmax(-1))
    assert "Attention weights check passed" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"softmax over the queries"):
        run_check(spec, lambda s: s.softmax(1))
