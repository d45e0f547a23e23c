"""TextCNN against a naive loop written here; shapes; padding masking; short sequences; errors."""
import pytest
import torch

import seqlib
from seqlib.nn.textcnn import TextCNN


def naive_textcnn(model: TextCNN, x: torch.Tensor, lengths=None) -> torch.Tensor:
    """Kim (2014) by the definition, one sequence, filter and window at a time (eval mode)."""
    E = model.embed.weight
    rows = []
    for b in range(x.shape[0]):
        L = int(lengths[b]) if lengths is not None else x.shape[1]
        seq = [E[int(i)] for i in x[b, :L]]
        feats = []
        for k, conv in zip(model.filter_sizes, model.convs):
            padded = seq + [torch.zeros_like(E[0])] * max(k - len(seq), 0)  # too short: zero vectors
            for j in range(conv.out_channels):
                best = None
                for t in range(len(padded) - k + 1):
                    s = conv.bias[j]
                    for i in range(k):
                        s = s + torch.dot(conv.weight[j, :, i], padded[t + i])
                    c = torch.relu(s)
                    best = c if best is None else torch.maximum(best, c)
                feats.append(best)
        z = torch.stack(feats)
        rows.append(model.head.weight @ z + model.head.bias)
    return torch.stack(rows)


def _model(sizes=(2, 3, 4), **kw):
    torch.manual_seed(0)
    return TextCNN(11, 5, 3, sizes, 4, **kw).double().eval()


def _batch():
    torch.manual_seed(1)
    x = torch.randint(1, 11, (4, 7))
    lengths = torch.tensor([7, 3, 5, 2])  # 3 and 2 are shorter than the widest filter (4)
    for i, n in enumerate(lengths):
        x[i, n:] = 0
    return x, lengths


def test_matches_naive_loop_outputs_and_grads():
    model = _model()
    x, lengths = _batch()
    out = model(x, lengths)
    assert out.shape == (4, 4)
    ref_model = _model()
    ref = naive_textcnn(ref_model, x, lengths)
    torch.testing.assert_close(out, ref)
    out.square().sum().backward()
    ref.square().sum().backward()
    for (name, p), q in zip(model.named_parameters(), ref_model.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=f"gradient of {name}")


def test_without_lengths_every_position_is_real():
    model = _model()
    x = torch.randint(0, 11, (3, 6))
    torch.testing.assert_close(model(x), naive_textcnn(model, x))


def test_padding_is_masked_before_pooling():
    model = _model()
    x, lengths = _batch()
    out = model(x, lengths)
    garbage = x.clone()
    for i, n in enumerate(lengths):
        garbage[i, n:] = 7  # real tokens past the end must not change anything
    torch.testing.assert_close(model(garbage, lengths), out)
    wider = torch.cat([x, torch.zeros(4, 5, dtype=torch.long)], dim=1)  # more padding
    torch.testing.assert_close(model(wider, lengths), out)
    for i, n in enumerate(lengths):  # each sequence alone, unpadded
        torch.testing.assert_close(model(x[i:i + 1, :n]), out[i:i + 1])
    # and the mask matters: without lengths the padded windows do change the logits here
    assert not torch.allclose(model(garbage), out)


def test_short_batch_is_padded_to_widest_filter():
    model = _model(sizes=(2, 5))
    x = torch.randint(1, 11, (2, 3))  # T=3 < 5
    out = model(x)
    assert out.shape == (2, 4)
    torch.testing.assert_close(out, naive_textcnn(model, x))
    maps = model.feature_maps(x, torch.tensor([3, 1]))
    assert [tuple(m.shape) for m in maps] == [(2, 3, 4), (2, 3, 1)]
    assert torch.isinf(maps[0][1, :, 1:]).all() and torch.isfinite(maps[0][1, :, 0]).all()
    assert torch.isfinite(maps[1]).all()


def test_gradcheck_through_embeddings():
    model = _model()
    x, lengths = _batch()

    def f(weight):
        return torch.func.functional_call(model, {"embed.weight": weight}, (x, lengths))

    assert torch.autograd.gradcheck(f, (model.embed.weight.detach().clone().requires_grad_(),))


def test_trains_with_fit_like_sequence_classifier():
    torch.manual_seed(0)
    x = torch.randint(2, 10, (64, 8))
    y = (x == 5).any(1).long()  # is there a 5: one filter suffices
    lengths = torch.full((64,), 8)
    model = TextCNN(10, 8, 8, (2, 3), 2, dropout=0.0)
    hist = seqlib.fit(model, (x, lengths, y), val=(x, lengths, y), loss_fn=torch.nn.functional.cross_entropy,
                      metric=seqlib.accuracy, epochs=12, lr=3e-2, progress=False)
    assert hist.val_metric[-1] > 0.9


def test_dropout_only_in_training():
    model = _model(dropout=0.5)
    x, lengths = _batch()
    torch.testing.assert_close(model(x, lengths), model(x, lengths))
    model.train()
    torch.manual_seed(0)
    a = model(x, lengths)
    assert not torch.allclose(a, model(x, lengths))


def test_errors():
    model = TextCNN(10, 4, 2, (2, 3), 3)
    with pytest.raises(TypeError, match=r"^TextCNN: expected token ids of dtype torch.long, got torch.float32"):
        model(torch.ones(2, 5))
    with pytest.raises(ValueError, match=r"^TextCNN: expected token ids in \[0, 10\), got 10"):
        model(torch.tensor([[1, 10, 2]]))
    with pytest.raises(ValueError, match=r"^TextCNN: expected token ids in \[0, 10\), got -1"):
        model(torch.tensor([[1, -1, 2]]))
    with pytest.raises(ValueError, match=r"^TextCNN: expected token ids of shape \(B, T\), got \(5,\)"):
        model(torch.ones(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"^TextCNN: expected a non-empty batch"):
        model(torch.ones(2, 0, dtype=torch.long))
    with pytest.raises(TypeError, match=r"^TextCNN: expected token ids as a torch.Tensor"):
        model([[1, 2, 3]])
    x = torch.ones(2, 5, dtype=torch.long)
    with pytest.raises(ValueError, match=r"^TextCNN: expected every length in \[1, 5\]"):
        model(x, torch.tensor([5, 0]))
    with pytest.raises(ValueError, match=r"^TextCNN: expected every length in \[1, 5\]"):
        model(x, torch.tensor([6, 1]))
    with pytest.raises(ValueError, match=r"^TextCNN: expected lengths of shape \(2,\)"):
        model(x, torch.tensor([5]))
    with pytest.raises(TypeError, match=r"^TextCNN: expected lengths as an integer"):
        model(x, torch.tensor([5.0, 1.0]))
    with pytest.raises(ValueError, match=r"^TextCNN: expected at least one filter size"):
        TextCNN(10, 4, 2, (), 3)
    with pytest.raises(ValueError, match=r"^TextCNN: expected every filter size to be a positive integer, got 0"):
        TextCNN(10, 4, 2, (2, 0), 3)
    with pytest.raises(ValueError, match=r"^TextCNN: expected padding_idx in \[0, 10\), got 10"):
        TextCNN(10, 4, 2, (2,), 3, padding_idx=10)
    with pytest.raises(ValueError, match=r"^TextCNN: expected dropout to be a number in \[0, 1\]"):
        TextCNN(10, 4, 2, (2,), 3, dropout=2)
