"""Bad input fails early with a message naming the module and what it expected."""
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import seqlib


@pytest.mark.parametrize("cls", [seqlib.RNN, seqlib.LSTM, seqlib.GRU])
def test_layer_errors(cls):
    name = cls.__name__
    m = cls(5, 4, num_layers=2)
    with pytest.raises(ValueError, match=rf"^{name}: expected input of size 5 in its last dimension, got 6"):
        m(torch.randn(7, 2, 6))
    with pytest.raises(ValueError, match=rf"^{name}: expected input of 2 \(unbatched\) or 3 \(batched\) dimensions, got 4"):
        m(torch.randn(1, 7, 2, 5))
    with pytest.raises(TypeError, match=rf"^{name}: expected a floating-point input tensor, got torch.int64"):
        m(torch.ones(7, 2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=rf"^{name}: got a sequence of length 0"):
        m(torch.randn(0, 2, 5))
    with pytest.raises(TypeError, match=rf"^{name}: input dtype torch.float64 does not match"):
        m(torch.randn(7, 2, 5, dtype=torch.float64))
    with pytest.raises(TypeError, match=rf"^{name}: expected input to be a torch.Tensor"):
        m([[1.0] * 5])
    bad = torch.randn(1, 2, 4)  # num_layers is 2
    hx = (bad, bad) if cls is seqlib.LSTM else bad
    with pytest.raises(ValueError, match=rf"^{name}: expected h0 of shape \(2, 2, 4\)"):
        m(torch.randn(7, 2, 5), hx)
    wrong_batch = torch.randn(2, 3, 4)
    hx = (wrong_batch, wrong_batch) if cls is seqlib.LSTM else wrong_batch
    with pytest.raises(ValueError, match=rf"^{name}: expected h0 of shape \(2, 2, 4\)"):
        m(torch.randn(7, 2, 5), hx)
    # unbatched input with a batched state
    h3 = torch.randn(2, 1, 4)
    with pytest.raises(ValueError, match=rf"^{name}: expected h0 of shape \(2, 4\)"):
        m(torch.randn(7, 5), (h3, h3) if cls is seqlib.LSTM else h3)


def test_lstm_needs_a_pair():
    m = seqlib.LSTM(5, 4)
    with pytest.raises(TypeError, match=r"^LSTM: expected hx to be a tuple \(h0, c0\) of two Tensors, got a single Tensor"):
        m(torch.randn(7, 2, 5), torch.zeros(1, 2, 4))
    with pytest.raises(TypeError, match=r"^LSTMCell: expected hx to be a tuple \(h0, c0\)"):
        seqlib.LSTMCell(5, 4)(torch.randn(2, 5), torch.zeros(2, 4))


def test_packed_feature_size_checked():
    m = seqlib.GRU(5, 4)
    p = pack_padded_sequence(torch.randn(3, 2, 6), torch.tensor([3, 2]))
    with pytest.raises(ValueError, match=r"^GRU: expected input of size 5"):
        m(p)


@pytest.mark.parametrize("cls", [seqlib.RNNCell, seqlib.LSTMCell, seqlib.GRUCell])
def test_cell_errors(cls):
    name = cls.__name__
    c = cls(5, 4)
    with pytest.raises(ValueError, match=rf"^{name}: expected input of size 5 in its last dimension, got 3"):
        c(torch.randn(2, 3))
    with pytest.raises(ValueError, match=rf"^{name}: expected input of 1 \(unbatched\) or 2 \(batched\) dimensions, got 3"):
        c(torch.randn(1, 2, 5))
    with pytest.raises(TypeError, match=rf"^{name}: expected a floating-point input tensor"):
        c(torch.ones(2, 5, dtype=torch.int32))
    h = torch.zeros(3, 4)
    with pytest.raises(ValueError, match=rf"^{name}: expected h of shape \(2, 4\), got \(3, 4\)"):
        c(torch.randn(2, 5), (h, h) if cls is seqlib.LSTMCell else h)


def test_constructor_errors():
    with pytest.raises(ValueError, match=r"^RNN: expected nonlinearity 'tanh' or 'relu', got 'sigmoid'"):
        seqlib.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"^LSTM: expected hidden_size to be a positive integer, got 0"):
        seqlib.LSTM(3, 0)
    with pytest.raises(ValueError, match=r"^GRU: expected dropout to be a number in \[0, 1\], got 1.5"):
        seqlib.GRU(3, 4, dropout=1.5)
    with pytest.raises(NotImplementedError, match=r"^LSTM: proj_size"):
        seqlib.LSTM(3, 4, proj_size=2)
