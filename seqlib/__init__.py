"""seqlib: from-scratch PyTorch implementations of the architectures in *Neural Architectures for NLP*."""
from .bidirectional import FlipPaddedBiLSTM, LengthAwareBiLSTM, PackedTagger
from .device import describe_device, get_device, seed_everything
from .gru import GRU, GRUCell
from .lstm import LSTM, LSTMCell
from .models import LastStepRegressor, SequenceClassifier, TokenTagger, count_parameters, make_recurrent
from .rnn import RNN, RNNCell
from .train import History, accuracy, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "RNN", "RNNCell", "LSTM", "LSTMCell", "GRU", "GRUCell",
    "LastStepRegressor", "SequenceClassifier", "TokenTagger", "count_parameters", "make_recurrent",
    "History", "fit", "evaluate", "accuracy",
    "get_device", "describe_device", "seed_everything",
    "FlipPaddedBiLSTM", "LengthAwareBiLSTM", "PackedTagger",
]
