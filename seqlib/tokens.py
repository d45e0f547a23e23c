"""Special token ids and the padding label, defined once for the whole package.

Two vocabulary layouts are used in the book:

* a single vocabulary (text classification, tagging, character models): ``PAD`` 0, ``UNK`` 1;
  hyphenation adds ``BOUNDARY`` 2 as its first ordinary label;
* a source/target pair (sequence to sequence, `seqlib.data.pairs`): source ids ``PAD`` 0,
  ``SRC_UNK`` 1; target ids ``PAD`` 0, ``BOS`` 1, ``EOS`` 2, ``TGT_UNK`` 3.

``IGNORE`` (-100, `torch.nn.functional.cross_entropy`'s default ``ignore_index``) is the label at
padded positions, so a loss never counts them.
"""
PAD = 0
UNK = 1
BOUNDARY = 2
BOS, EOS = 1, 2
SRC_UNK, TGT_UNK = UNK, 3
IGNORE = -100

__all__ = ["PAD", "UNK", "BOUNDARY", "BOS", "EOS", "SRC_UNK", "TGT_UNK", "IGNORE"]
