"""seqlib: from-scratch PyTorch implementations of the architectures in *Neural Architectures for NLP*."""
from .attention import AdditiveAttention
from .bidirectional import FlipPaddedBiLSTM, LengthAwareBiLSTM, PackedTagger
from .device import describe_device, get_device, seed_everything
from .gru import GRU, GRUCell
from .lstm import LSTM, LSTMCell
from .lstm import init_forget_bias, lstm_gate_trace, lstm_gates
from .models import (AttentionPoolingClassifier, LastStepRegressor, SequenceClassifier, TokenTagger,
                     count_parameters, make_recurrent)
from .rnn import RNN, RNNCell
from .seq2seq import Seq2Seq
from .textcnn import TextCNN
from .train import History, accuracy, evaluate, fit
from . import exercises  # seqlib.exercises.check_gru_cell(...) after a plain `import seqlib`
from . import diagrams  # seqlib.diagrams.lstm_cell() after a plain `import seqlib`
from .transformer import (MultiheadAttention, SinusoidalPositionalEncoding, TransformerClassifier,
                          TransformerEncoderLayer, TransformerRegressor, TransformerTagger)

__version__ = "0.1.0"

__all__ = [
    "init_forget_bias", "lstm_gate_trace", "lstm_gates",
    "RNN", "RNNCell", "LSTM", "LSTMCell", "GRU", "GRUCell",
    "AttentionPoolingClassifier", "LastStepRegressor", "SequenceClassifier", "TokenTagger", "count_parameters", "make_recurrent",
    "TextCNN",
    "History", "fit", "evaluate", "accuracy",
    "get_device", "describe_device", "seed_everything",
    "MultiheadAttention", "TransformerEncoderLayer", "SinusoidalPositionalEncoding",
    "TransformerClassifier", "TransformerTagger", "TransformerRegressor",
    "AdditiveAttention", "Seq2Seq",
    "FlipPaddedBiLSTM", "LengthAwareBiLSTM", "PackedTagger",
]
