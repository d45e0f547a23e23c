"""lstm_gates, init_forget_bias, lstm_gate_trace (seqlib.nn.lstm) and the char-level text data."""
import pytest
import torch
from torch import nn
from torch.testing import assert_close

import seqlib
from seqlib.data.chartext import char_text
from seqlib.nn.lstm import init_forget_bias, lstm_gate_trace, lstm_gates


def test_lstm_gates_match_torch_cell_step():
    torch.manual_seed(0)
    cell = nn.LSTMCell(3, 4).double()
    x, h, c = (torch.randn(2, k, dtype=torch.float64) for k in (3, 4, 4))
    i, f, g, o = lstm_gates(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    for gate in (i, f, o):
        assert ((gate > 0) & (gate < 1)).all()
    h2, c2 = cell(x, (h, c))
    assert_close(f * c + i * g, c2)
    assert_close(o * torch.tanh(f * c + i * g), h2)


@pytest.mark.parametrize("cls", [seqlib.LSTM, nn.LSTM])
def test_gate_trace_reproduces_the_layer(cls):
    torch.manual_seed(1)
    lstm = cls(3, 5, batch_first=True).double()
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    out, (h_n, c_n) = lstm(x)
    tr = lstm_gate_trace(lstm, x)
    assert set(tr) == set("ifgoch") and tr["f"].shape == (2, 7, 5)
    assert_close(tr["h"], out)
    assert_close(tr["c"][:, -1], c_n[0])


def test_gate_trace_time_major_and_errors():
    torch.manual_seed(2)
    lstm = seqlib.LSTM(3, 4)  # (T, B, I)
    x = torch.randn(6, 2, 3)
    out, _ = lstm(x)
    assert_close(lstm_gate_trace(lstm, x)["h"], out.transpose(0, 1))
    with pytest.raises(ValueError, match="lstm_gate_trace: expected a one-layer"):
        lstm_gate_trace(seqlib.LSTM(3, 4, num_layers=2), x)
    with pytest.raises(ValueError, match="lstm_gate_trace: expected a batched input"):
        lstm_gate_trace(lstm, x[0])


@pytest.mark.parametrize("make", [lambda: seqlib.LSTM(3, 4, num_layers=2, bidirectional=True),
                                  lambda: nn.LSTM(3, 4), lambda: seqlib.LSTMCell(3, 4),
                                  lambda: nn.Sequential(nn.Linear(2, 3), nn.LSTM(3, 4))])
def test_init_forget_bias_sets_only_forget_rows(make):
    torch.manual_seed(3)
    m = make()
    before = {n: p.detach().clone() for n, p in m.named_parameters()}
    assert init_forget_bias(m, 1.5) is m
    H = 4
    changed = 0
    for n, p in m.named_parameters():
        if "bias_ih" in n or "bias_hh" in n:
            want = 1.5 if "bias_ih" in n else 0.0
            assert torch.all(p[H:2 * H] == want), n
            assert_close(p[:H], before[n][:H])
            assert_close(p[2 * H:], before[n][2 * H:])
            changed += 1
        else:
            assert_close(p, before[n])
    assert changed >= 2


def test_init_forget_bias_moves_the_gate():
    torch.manual_seed(4)
    lstm = seqlib.LSTM(2, 8, batch_first=True)
    x = torch.zeros(1, 1, 2)
    init_forget_bias(lstm, 3.0)
    f = lstm_gate_trace(lstm, x)["f"]
    assert_close(f, torch.full_like(f, float(torch.sigmoid(torch.tensor(3.0)))))


def test_init_forget_bias_errors():
    with pytest.raises(ValueError, match="init_forget_bias: expected an LSTM"):
        init_forget_bias(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="bias=False"):
        init_forget_bias(seqlib.LSTM(2, 3, bias=False))


DOCS = [f"Document number {k}. It has words, and a period." for k in range(40)] + ["Rare char: \u00e9!"]


def test_char_text_split_is_fixed_disjoint_and_complete():
    a, b = char_text(seed=0, docs=DOCS), char_text(seed=0, docs=DOCS)
    assert a.texts == b.texts
    c = char_text(seed=1, docs=DOCS)
    assert a.texts != c.texts
    all_docs = a.texts["train"] + a.texts["val"] + a.texts["test"]
    assert sorted(all_docs) == sorted(" ".join(d.split()) for d in DOCS)
    assert len(a.texts["val"]) == len(a.texts["test"]) == 5
    for split in ("train", "val", "test"):
        assert a.decode(a.ids[split]).replace("\x00", "?") == "\n".join(a.texts[split]).translate(
            {ord(ch): "?" for ch in set("\n".join(a.texts[split])) - set(a.vocab)})


def test_char_text_vocab_from_train_only_and_unknowns():
    ct = char_text(seed=0, docs=DOCS, min_count=2)
    train_chars = set("\n".join(ct.texts["train"]))
    assert set(ct.vocab[1:]) <= train_chars and ct.vocab[0] == "\x00"
    assert ct.encode("\u00e9")[0].item() == 0  # seen once at most: unknown
    assert ct.decode(ct.encode("word")) == "word"
    with pytest.raises(TypeError, match="CharText.encode"):
        ct.encode(5)


def test_char_text_windows_and_baseline():
    ct = char_text(seed=0, docs=DOCS)
    X, Y = ct.windows("val", 10)
    assert X.shape == Y.shape and X.dtype == torch.long
    assert torch.equal(X[:, 1:], Y[:, :-1])
    assert torch.equal(X.reshape(-1), ct.ids["val"][: X.numel()])  # in order, non-overlapping
    X1, _ = ct.windows("train", 10, n=7, seed=3)
    X2, _ = ct.windows("train", 10, n=7, seed=3)
    assert X1.shape == (7, 10) and torch.equal(X1, X2)
    counts = torch.bincount(ct.ids["train"], minlength=ct.vocab_size).double() + 1
    p = counts / counts.sum()
    assert abs(ct.unigram_loss("val") - float(-p.log()[ct.ids["val"]].mean())) < 1e-9
    assert ct.unigram_loss("val") < torch.log(torch.tensor(float(ct.vocab_size)))  # beats uniform
    with pytest.raises(ValueError, match="expected split"):
        ct.windows("dev", 10)
    with pytest.raises(ValueError, match="seq_len"):
        ct.windows("val", 0)
    with pytest.raises(ValueError, match="too few"):
        char_text(docs=DOCS[:2])
