"""Any folder of labelled text files, in the layout IMDb (aclImdb) and 20 Newsgroups (bydate) use:

    root/train/<label>/*.txt
    root/test/<label>/*.txt
    root/val/<label>/*.txt      (optional)

so a reader can run the text-classification chapter on their own data. The classes are the label
folders of the training split (sorted). Without a `val` folder, a stratified, seeded `val_frac` of
the training files becomes the validation split; the test folder is never touched for training or
model selection. The vocabulary is built from the training split only.
"""
from __future__ import annotations

import random
from pathlib import Path

from .textdata import TextData, make_text_data, stratified_split


def _read_split(folder: Path, classes: list[str] | None, pattern: str) -> tuple[list[tuple[str, str]], list[str]]:
    if not folder.is_dir():
        raise FileNotFoundError(f"text_folder: expected a folder {folder}")
    labels = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not labels:
        raise ValueError(f"text_folder: expected label folders in {folder}, found none")
    if classes is not None and set(labels) - set(classes):
        raise ValueError(f"text_folder: {folder} has labels {sorted(set(labels) - set(classes))} "
                         f"that the training split does not have")
    items = []
    for label in labels:
        for path in sorted((folder / label).glob(pattern)):
            items.append((path.read_text(encoding="utf-8", errors="replace"), label))
    if not items:
        raise ValueError(f"text_folder: found no {pattern} files under {folder}")
    return items, labels


def load_text_folder(root, tokenizer: str = "word", val_frac: float = 0.1, seed: int = 0,
                     min_count: int = 1, max_vocab: int | None = None, max_len: int | None = 400,
                     pattern: str = "*.txt", train: str = "train", test: str = "test",
                     val: str = "val") -> TextData:
    """Reads root/{train,test[,val]}/<label>/*.txt into ready tensors (see the module docstring).

    Args:
        tokenizer: 'word' (lower-cased words and punctuation) or 'char'.
        val_frac: share of each training label held out for validation when root has no `val` folder.
        min_count, max_vocab: keep training tokens seen at least min_count times, at most max_vocab ids.
        max_len: cut every text to its first max_len tokens (None: keep all).
    """
    root = Path(root)
    train_items, classes = _read_split(root / train, None, pattern)
    index = {c: i for i, c in enumerate(classes)}
    test_items, _ = _read_split(root / test, classes, pattern)
    if (root / val).is_dir():
        val_items, _ = _read_split(root / val, classes, pattern)
        rng = random.Random(seed)
        splits = {"train": [(t, index[lab]) for t, lab in train_items],
                  "val": [(t, index[lab]) for t, lab in val_items]}
        rng.shuffle(splits["train"])
        how = f"the {val} folder"
    else:
        splits = stratified_split([(t, index[lab]) for t, lab in train_items], val_frac, 0.0, seed, "text_folder")
        how = f"{val_frac:.0%} of each training label (seed {seed})"
    splits["test"] = [(t, index[lab]) for t, lab in test_items]
    return make_text_data(splits, classes, f"text folder {root} (validation: {how})", tokenizer,
                          min_count, max_vocab, max_len)
