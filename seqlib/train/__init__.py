"""Training and measuring models: the loop (`fit`, `evaluate`), metrics, the experiments the
chapters run (adding problem, classifiers, sequence-to-sequence, tagging, language models,
truncated BPTT) and gradient probes. Imports `seqlib.nn` and `seqlib.data`, never `seqlib.book`."""
from seqlib.train.loop import History, accuracy, evaluate, fit

__all__ = ["History", "accuracy", "evaluate", "fit"]
