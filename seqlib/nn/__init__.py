"""The architectures, from scratch in PyTorch: one model family per module, torch only.

recurrent (the shared time loop), rnn, lstm, lstm_fast, gru, gru_textbook, bidirectional, textcnn,
attention, seq2seq, transformer, scan (minGRU/minLSTM), heads (task heads around a recurrent core).
Modules here import torch and each other, and below them only `seqlib.device`, `seqlib.io` and
`seqlib.tokens`.
"""
