import pytest
import torch

import seqlib

# (seqlib class, torch twin, extra constructor kwargs)
FAMILIES = {
    "rnn_tanh": (seqlib.RNN, torch.nn.RNN, {}),
    "rnn_relu": (seqlib.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (seqlib.LSTM, torch.nn.LSTM, {}),
    "gru": (seqlib.GRU, torch.nn.GRU, {}),
}
CELLS = {
    "rnn_tanh": (seqlib.RNNCell, torch.nn.RNNCell, {}),
    "rnn_relu": (seqlib.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
    "lstm": (seqlib.LSTMCell, torch.nn.LSTMCell, {}),
    "gru": (seqlib.GRUCell, torch.nn.GRUCell, {}),
}


@pytest.fixture(params=sorted(FAMILIES))
def family(request):
    return FAMILIES[request.param]


@pytest.fixture(params=sorted(CELLS))
def cell_family(request):
    return CELLS[request.param]
