import pytest
import torch

from seqlib.train.tbptt import (StreamTagger, detach_state, echo_stream, stream_accuracy, train_tbptt,
                                windows_with_path)


def test_echo_stream_targets_and_mask():
    x, y, mask = echo_stream(3, 20, 4, seed=1)
    assert x.shape == (3, 20, 1) and y.shape == mask.shape == (3, 20)
    bits = (x.squeeze(-1) > 0).float()
    torch.testing.assert_close(y[:, 4:], bits[:, :-4])
    assert not mask[:, :4].any() and mask[:, 4:].all()
    with pytest.raises(ValueError, match="tbptt.echo_stream: expected an integer lag"):
        echo_stream(3, 20, 0)
    with pytest.raises(ValueError, match="tbptt.echo_stream: expected n >= 1"):
        echo_stream(3, 4, 4)


def test_detached_window_gets_no_gradient_from_the_next():
    # the invariant TBPTT rests on: a loss in window 2 sends no gradient to window 1's inputs
    torch.manual_seed(0)
    for kind in ("rnn", "gru", "lstm"):
        model = StreamTagger(kind, 1, 5).double()
        x = torch.randn(2, 8, 1, dtype=torch.float64, requires_grad=True)
        _, state = model(x[:, :4])
        logits, _ = model(x[:, 4:], detach_state(state))
        logits.sum().backward()
        assert x.grad[:, :4].abs().max() == 0, kind
        assert x.grad[:, 4:].abs().max() > 0, kind
        # without the detach the same loss reaches window 1
        x.grad = None
        _, state = model(x[:, :4])
        model(x[:, 4:], state)[0].sum().backward()
        assert x.grad[:, :4].abs().max() > 0, kind


def test_windows_with_path():
    assert windows_with_path(100, 10, 10) == 0.0
    assert windows_with_path(100, 10, 12) == 0.0
    # k = 2 * lag: half of each window's steps see their input in the same window
    assert windows_with_path(1000, 20, 10) == pytest.approx(0.5, abs=0.01)


def test_train_tbptt_learns_a_short_echo():
    torch.manual_seed(0)
    x, y, mask = echo_stream(16, 300, 2, seed=0)
    model = StreamTagger("rnn", 1, 16)
    out = train_tbptt(model, x, y, mask, k=8, passes=3, lr=1e-2, seed=0)
    assert out["updates"] == 3 * 38
    xt, yt, mt = echo_stream(16, 200, 2, seed=1)
    assert stream_accuracy(model, xt, yt, mt) > 0.9  # chance is 0.5
    with pytest.raises(ValueError, match="tbptt.train_tbptt: expected a window k >= 1"):
        train_tbptt(model, x, y, mask, k=0)
