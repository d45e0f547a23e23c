"""seqlib.train.lm (CharLM, tbptt_step, train_stream, stream_loss, generate),
seqlib.nn.lstm.NoTanhLSTM, CharText.ngram_loss."""
import itertools
import math

import pytest
import torch
from torch import nn
from torch.testing import assert_close

import seqlib
from seqlib.train.lm import (CharLM, generate, next_char_loss, stream_loss, tbptt_step,
                             train_stream, window_loss)
from seqlib.data.chartext import char_text
from seqlib.nn.lstm import NoTanhLSTM, lstm_cell_no_tanh, lstm_gates


def _manual_no_tanh(lstm, x):  # x (B, T, I) -> (B, T, H), written out step by step
    w = (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    h = c = x.new_zeros(x.size(0), lstm.hidden_size)
    outs = []
    for t in range(x.size(1)):
        i, f, g, o = lstm_gates(x[:, t], h, *w)
        c = f * c + i * g
        h = o * c
        outs.append(h)
    return torch.stack(outs, 1)


@pytest.mark.parametrize("impl", ["loop", "hoisted"])
def test_no_tanh_lstm_is_h_equals_o_times_c(impl):
    torch.manual_seed(0)
    m = NoTanhLSTM(3, 5, batch_first=True, impl=impl).double()
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    out, (h_n, _) = m(x)
    assert_close(out, _manual_no_tanh(m, x))
    assert_close(h_n[0], out[:, -1])


def test_no_tanh_lstm_same_init_as_lstm_and_differs_only_by_the_tanh():
    torch.manual_seed(1)
    a = NoTanhLSTM(3, 4, num_layers=2)
    torch.manual_seed(1)
    b = nn.LSTM(3, 4, num_layers=2)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb
        assert_close(pa, pb)
    x = torch.randn(5, 2, 3)
    assert not torch.allclose(a(x)[0], b(x)[0])


def test_no_tanh_cell_gradcheck_and_errors():
    torch.manual_seed(2)
    args = [torch.randn(2, 3, dtype=torch.float64, requires_grad=True),
            (torch.randn(2, 4, dtype=torch.float64, requires_grad=True),
             torch.randn(2, 4, dtype=torch.float64, requires_grad=True)),
            torch.randn(16, 3, dtype=torch.float64, requires_grad=True),
            torch.randn(16, 4, dtype=torch.float64, requires_grad=True)]
    f = lambda x, h, c, wi, wh: lstm_cell_no_tanh(x, (h, c), wi, wh)
    assert torch.autograd.gradcheck(f, (args[0], *args[1], args[2], args[3]))
    with pytest.raises(ValueError, match="NoTanhLSTM: expected impl"):
        NoTanhLSTM(3, 4, impl="fast")


def test_charlm_shapes_state_and_ablation_pair():
    torch.manual_seed(3)
    a = CharLM(11, 5, 7, num_layers=2)
    torch.manual_seed(3)
    b = CharLM(11, 5, 7, num_layers=2, output_tanh=False)
    assert isinstance(a.rnn, nn.LSTM) and isinstance(b.rnn, NoTanhLSTM)
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert na == nb
        assert_close(pa, pb)
    x = torch.randint(0, 11, (3, 9))
    logits, (h, c) = a.run(x)
    assert logits.shape == (3, 9, 11) and h.shape == c.shape == (2, 3, 7)
    # running in two pieces with the state carried equals one run
    l1, s = a.run(x[:, :4])
    l2, _ = a.run(x[:, 4:], s)
    assert_close(torch.cat([l1, l2], 1), logits)
    with pytest.raises(ValueError, match="CharLM: expected character ids"):
        a(torch.randn(3, 9))
    with pytest.raises(ValueError, match="CharLM: expected hidden_size"):
        CharLM(11, 5, 0)


def test_stream_loss_matches_one_pass_and_ignores_chunking():
    torch.manual_seed(4)
    m = CharLM(9, 4, 6)
    ids = torch.randint(0, 9, (203,))
    streams = 4
    n = 203 // streams
    x = ids[: n * streams].view(streams, n)
    with torch.no_grad():
        want = float(next_char_loss(m(x[:, :-1]), x[:, 1:]))
    assert math.isclose(stream_loss(m, ids, streams=streams, chunk=7), want, rel_tol=1e-5)
    assert math.isclose(stream_loss(m, ids, streams=streams, chunk=1000), want, rel_tol=1e-5)
    with pytest.raises(ValueError, match="stream_loss: expected a 1-D long"):
        stream_loss(m, ids.float())


def test_generate_is_seeded_greedy_at_zero_and_checks_input():
    torch.manual_seed(5)
    m = CharLM(9, 4, 6)
    prompt = torch.tensor([1, 2, 3])
    a, b = generate(m, prompt, 20, 1.0, seed=7), generate(m, prompt, 20, 1.0, seed=7)
    assert a.shape == (20,) and torch.equal(a, b) and int(a.max()) < 9
    greedy = generate(m, prompt, 10, 0.0)
    ids = prompt.clone()  # greedy by hand: re-read everything, take the arg-max
    for _ in range(10):
        with torch.no_grad():
            ids = torch.cat([ids, m(ids.view(1, -1))[0, -1].argmax().view(1)])
    assert torch.equal(greedy, ids[3:])
    assert torch.equal(generate(m, prompt, 10, 1e-4, seed=3), greedy)  # tiny T -> arg-max
    with pytest.raises(ValueError, match="generate: expected a temperature"):
        generate(m, prompt, 5, -1.0)
    with pytest.raises(ValueError, match="generate: expected a non-empty"):
        generate(m, torch.tensor([], dtype=torch.long), 5)


DOCS = [f"Document number {k}. It has words, and a period." for k in range(40)]


def test_ngram_loss_counts_and_orders():
    ct = char_text(seed=0, docs=DOCS)
    V = ct.vocab_size
    # bigram by hand with plain counting
    tr, te = ct.ids["train"].tolist(), ct.ids["val"].tolist()
    pair, ctx = {}, {}
    for a, b in itertools.pairwise(tr):
        pair[(a, b)] = pair.get((a, b), 0) + 1
        ctx[a] = ctx.get(a, 0) + 1
    want = -sum(math.log((pair.get((a, b), 0) + 0.5) / (ctx.get(a, 0) + 0.5 * V))
                for a, b in itertools.pairwise(te)) / (len(te) - 1)
    assert math.isclose(ct.ngram_loss("val", 2, 0.5), want, rel_tol=1e-9)
    # on this repetitive text, more context helps
    assert ct.ngram_loss("val", 3, 0.01) < ct.ngram_loss("val", 2, 0.01) < ct.ngram_loss("val", 1, 0.01)
    with pytest.raises(ValueError, match="ngram_loss: expected n"):
        ct.ngram_loss("val", 0)


def test_gate_trace_follows_the_no_tanh_ablation():
    torch.manual_seed(6)
    m = NoTanhLSTM(3, 5, batch_first=True).double()
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    out, (_, c_n) = m(x)
    tr = seqlib.lstm_gate_trace(m, x)
    assert_close(tr["h"], out)
    assert_close(tr["c"][:, -1], c_n[0])
    assert_close(tr["h"], tr["o"] * tr["c"])


def test_ngram_loss_limit_scores_a_prefix():
    ct = char_text(seed=0, docs=DOCS)
    full = ct.ngram_loss("val", 2, 0.1)
    assert ct.ngram_loss("val", 2, 0.1, limit=None) == full
    assert ct.ngram_loss("val", 2, 0.1, limit=len(ct.ids["val"])) == full
    short = ct.ngram_loss("val", 2, 0.1, limit=30)
    assert math.isfinite(short) and short != full
    with pytest.raises(ValueError, match="ngram_loss: expected alpha"):
        ct.ngram_loss("val", 2, 0.0)


def test_window_loss_reads_each_window_from_a_zero_state():
    torch.manual_seed(0)
    m = CharLM(7, 4, 5)
    ids = torch.randint(0, 7, (35,))  # 3 windows of 11 (10 predicted each), 2 left out
    got = window_loss(m, ids, 10, batch=2)  # batching does not change it
    total = 0.0
    for k in range(3):
        w = ids[k * 11:(k + 1) * 11]
        total += float(nn.functional.cross_entropy(m(w[None, :-1])[0], w[1:], reduction="sum"))
    assert got == pytest.approx(total / 30, rel=1e-6)
    # a change in one window leaves the others' losses alone: no state crosses a window edge
    other = ids.clone()
    other[:11] = (other[:11] + 1) % 7
    tail = lambda x: window_loss(m, x[11:33], 10)
    assert tail(ids) == tail(other)
    with pytest.raises(ValueError, match="window_loss: expected length"):
        window_loss(m, ids, 0)
    with pytest.raises(ValueError, match="too few"):
        window_loss(m, ids[:5], 10)


def test_charlm_rnn_kind_shapes_state_and_errors():
    torch.manual_seed(7)
    m = CharLM(11, 5, 7, num_layers=2, kind="rnn")
    assert isinstance(m.rnn, nn.RNN) and m.rnn.nonlinearity == "tanh" and m.kind == "rnn"
    x = torch.randint(0, 11, (3, 9))
    logits, h = m.run(x)
    assert logits.shape == (3, 9, 11) and h.shape == (2, 3, 7)  # the state is h alone
    l1, s = m.run(x[:, :4])
    l2, _ = m.run(x[:, 4:], s)
    assert_close(torch.cat([l1, l2], 1), logits)
    assert math.isfinite(stream_loss(m, torch.randint(0, 11, (120,)), streams=3, chunk=5))
    with pytest.raises(ValueError, match="CharLM: output_tanh=False is an LSTM ablation; kind 'rnn'"):
        CharLM(11, 5, 7, output_tanh=False, kind="rnn")
    with pytest.raises(ValueError, match="CharLM: expected kind 'lstm', 'gru' or 'rnn', got 'elman'"):
        CharLM(11, 5, 7, kind="elman")


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_tbptt_step_gradient_stops_at_the_window_start(kind):
    torch.manual_seed(8)
    m = CharLM(6, 3, 5, kind=kind).double()
    chunk = torch.randint(0, 6, (2, 5))  # (B, k + 1)
    # a state that still hangs on a graph: the previous window's computation, stood in by h0
    h0 = torch.randn(1, 2, 5, dtype=torch.float64, requires_grad=True)
    state = torch.tanh(2 * h0) if kind == "rnn" else (torch.tanh(2 * h0), 3 * h0)
    opt = torch.optim.SGD(m.parameters(), lr=0.0)  # no change: the gradients stay to compare
    loss, new = tbptt_step(m, opt, chunk, state, clip=None)
    assert h0.grad is None  # nothing reached the previous window
    for s in (new,) if kind == "rnn" else new:
        assert s.grad_fn is None and not s.requires_grad
    got = [p.grad.clone() for p in m.parameters()]
    # the same window from the state with its graph cut, differentiated by hand
    m.zero_grad()
    cut = state.detach() if kind == "rnn" else tuple(t.detach() for t in state)
    logits, _ = m.run(chunk[:, :-1], cut)
    want_loss = next_char_loss(logits, chunk[:, 1:])
    want_loss.backward()
    assert loss == pytest.approx(want_loss.item())
    for g, p in zip(got, m.parameters()):
        assert_close(g, p.grad)
    # ... which is not what full backpropagation into the earlier window gives
    m.zero_grad()
    full = next_char_loss(m.run(chunk[:, :-1], state)[0], chunk[:, 1:])
    full.backward()
    assert h0.grad is not None and h0.grad.abs().sum() > 0


def test_train_stream_carries_the_state_and_detaches_it_at_each_window():
    torch.manual_seed(9)
    N, k, streams = 203, 4, 3
    m = CharLM(N, 3, 6, kind="rnn")
    ids = torch.arange(N)  # every id once: a window's position in the text is its content
    seen, run = [], m.run

    def spy(x, state=None):  # records what each window is fed
        logits, new = run(x, state)
        seen.append((x.clone(), state, new.detach().clone()))
        return logits, new

    m.run = spy
    hist = train_stream(m, ids, k=k, streams=streams, passes=2, lr=1e-3, seed=0)
    length = (N - k) // streams
    per_pass = (length - 1) // k
    assert hist["updates"] == len(seen) == len(hist["loss"]) == 2 * per_pass
    assert hist["chars"][-1] == 2 * per_pass * streams * k and not hist["diverged"]
    for j, (x, state, _) in enumerate(seen):
        assert x.shape == (streams, k)
        assert torch.equal(x[:, 1:] - x[:, :-1], torch.ones(streams, k - 1, dtype=torch.long))
        assert torch.equal(x[1:, 0] - x[:-1, 0], torch.full((streams - 1,), length))  # side by side
        if j % per_pass == 0:
            assert state is None  # each pass starts from a zero state
        else:  # carried from the window before, which it continues, with its graph cut
            assert torch.equal(x[:, 0], seen[j - 1][0][:, -1] + 1)
            assert state.grad_fn is None and not state.requires_grad
            assert torch.equal(state, seen[j - 1][2])


def test_train_stream_learns_a_repetitive_text_and_reports_a_curve():
    torch.manual_seed(10)
    pattern = torch.tensor([0, 1, 2, 0, 1, 3, 0, 2, 4])  # the next id depends on up to 2 back
    ids, held_out = pattern.repeat(60), pattern.repeat(8)
    m = CharLM(5, 4, 16, kind="rnn")
    hist = train_stream(m, ids, k=9, streams=4, steps=80, lr=2e-2, seed=1, eval_ids=held_out,
                        eval_every=20, eval_streams=2)
    ev = hist["eval"]
    assert [e["updates"] for e in ev] == [0, 20, 40, 60, 80]
    assert [e["chars"] for e in ev] == [0, 20 * 36, 40 * 36, 60 * 36, 80 * 36]
    assert ev[0]["loss"] > 1.2 and ev[-1]["loss"] < 0.25 * ev[0]["loss"], ev
    assert ev[-1]["loss"] == pytest.approx(stream_loss(m, held_out, streams=2))


def test_train_stream_and_tbptt_step_reject_bad_input():
    m = CharLM(5, 3, 4, kind="rnn")
    ids = torch.randint(0, 5, (100,))
    with pytest.raises(ValueError, match="train_stream: expected a 1-D long tensor"):
        train_stream(m, ids.float(), k=4, streams=2, steps=1)
    with pytest.raises(ValueError, match="train_stream: expected the window k"):
        train_stream(m, ids, k=0, streams=2, steps=1)
    with pytest.raises(ValueError, match="train_stream: expected streams"):
        train_stream(m, ids, k=4, streams=1.5, steps=1)
    with pytest.raises(ValueError, match="train_stream: expected exactly one of steps and passes"):
        train_stream(m, ids, k=4, streams=2, steps=1, passes=1)
    with pytest.raises(ValueError, match="train_stream: expected passes"):
        train_stream(m, ids, k=4, streams=2, passes=0)
    with pytest.raises(ValueError, match="train_stream: 100 characters are too few"):
        train_stream(m, ids, k=30, streams=4, steps=1)
    with pytest.raises(ValueError, match="train_stream: expected eval_ids"):
        train_stream(m, ids, k=4, streams=2, steps=1, eval_ids=ids.view(10, 10))
    with pytest.raises(ValueError, match="tbptt_step: expected a window of ids"):
        tbptt_step(m, torch.optim.SGD(m.parameters(), lr=0.1), ids[:1].view(1, 1))
