"""seqlib: from-scratch PyTorch implementations of the architectures in *Neural Architectures for NLP*.

The package is grouped by who reads it:

* ``seqlib.nn``: the architectures a student reads (torch only);
* ``seqlib.data``: offline data (sources imported on first use);
* ``seqlib.train``: training loops, metrics and the experiments the chapters run;
* ``seqlib.perf``: timing, the roofline and the speed suites;
* ``seqlib.book``: the book's machinery (claims, records, diagrams, exercises, widgets, display).

``import seqlib`` loads the models, the training loop and the device helpers; ``seqlib.book`` and
``seqlib.perf`` are imported on first use (so matplotlib, IPython and ipywidgets are not).
"""
import importlib

from seqlib.device import describe_device, get_device, seed_everything
from seqlib.nn.attention import AdditiveAttention
from seqlib.nn.bidirectional import FlipPaddedBiLSTM, LengthAwareBiLSTM, PackedTagger
from seqlib.nn.gru import GRU, GRUCell
from seqlib.nn.heads import (AttentionPoolingClassifier, LastStepRegressor, SequenceClassifier, TokenTagger,
                             count_parameters, make_recurrent)
from seqlib.nn.lstm import LSTM, LSTMCell, init_forget_bias, lstm_gate_trace, lstm_gates
from seqlib.nn.rnn import RNN, RNNCell
from seqlib.nn.scan import MinGRU, MinLSTM
from seqlib.nn.seq2seq import Seq2Seq
from seqlib.nn.textcnn import TextCNN
from seqlib.nn.transformer import (MultiheadAttention, SinusoidalPositionalEncoding, TransformerClassifier,
                                   TransformerEncoderLayer, TransformerRegressor, TransformerTagger)
from seqlib.train.loop import History, accuracy, evaluate, fit

__version__ = "0.1.0"

_LAZY = ("book", "perf", "data")


def __getattr__(name):  # PEP 562: `seqlib.book.claims` after a plain `import seqlib`
    if name in _LAZY:
        return importlib.import_module(f"seqlib.{name}")
    raise AttributeError(f"module 'seqlib' has no attribute {name!r}")


__all__ = [
    "init_forget_bias", "lstm_gate_trace", "lstm_gates",
    "RNN", "RNNCell", "LSTM", "LSTMCell", "GRU", "GRUCell",
    "AttentionPoolingClassifier", "LastStepRegressor", "SequenceClassifier", "TokenTagger", "count_parameters",
    "make_recurrent", "TextCNN",
    "History", "fit", "evaluate", "accuracy",
    "get_device", "describe_device", "seed_everything",
    "MultiheadAttention", "TransformerEncoderLayer", "SinusoidalPositionalEncoding",
    "TransformerClassifier", "TransformerTagger", "TransformerRegressor",
    "AdditiveAttention", "Seq2Seq",
    "FlipPaddedBiLSTM", "LengthAwareBiLSTM", "PackedTagger",
    "MinGRU", "MinLSTM",
]
