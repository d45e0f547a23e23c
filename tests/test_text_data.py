"""Text-classification loaders: folder of files, docstring topics, marker-order task."""
import pytest
import torch

from seqlib.data.docstrings import Docstring
from seqlib.data.order import marker_order, marker_order_splits
from seqlib.data.text_folder import load_text_folder
from seqlib.data.textdata import build_vocab, encode, tokenize_words
from seqlib.data.topics import load_docstring_topics, topic_packages


def _write(root, split, label, name, text):
    folder = root / split / label
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


@pytest.fixture
def folder(tmp_path):
    for i in range(10):
        _write(tmp_path, "train", "pos", f"{i}.txt", f"good great movie {i}")
        _write(tmp_path, "train", "neg", f"{i}.txt", f"bad awful film {i}")
    _write(tmp_path, "train", "neg", "notes.md", "ignored: not a .txt")
    _write(tmp_path, "test", "pos", "a.txt", "Great, unseenword!")
    _write(tmp_path, "test", "neg", "b.txt", "awful")
    return tmp_path


def test_tokenize_and_vocab():
    assert tokenize_words("Don't stop, 2 times.") == ["don't", "stop", ",", "2", "times", "."]
    vocab = build_vocab([["b", "a", "b"], ["c", "a", "b"]], min_count=2)
    assert vocab == ["<pad>", "<unk>", "b", "a"]
    X, lengths = encode([["a", "z"], [], ["b"] * 5], vocab, max_len=3)
    assert X.tolist() == [[3, 1, 0], [1, 0, 0], [2, 2, 2]] and lengths.tolist() == [2, 1, 3]


def test_text_folder(folder):
    d = load_text_folder(folder, val_frac=0.2, seed=3)
    assert d.classes == ["neg", "pos"]
    assert [len(s[2]) for s in (d.train, d.val, d.test)] == [16, 4, 2]
    assert sorted(d.val[2].tolist()) == [0, 0, 1, 1]  # stratified
    assert set(d.texts["train"]).isdisjoint(d.texts["val"])
    # vocabulary from train only: the test's unknown word maps to <unk>
    assert "unseenword" not in d.vocab and "great" in d.vocab
    i = d.texts["test"].index("Great, unseenword!")
    assert d.test[0][i, : d.test[1][i]].tolist() == [d.vocab.index("great"), 1, 1, 1]  # , unseenword ! unseen
    assert d.test[2][i] == d.classes.index("pos")
    for X, lengths, y in (d.train, d.val, d.test):  # ids line up with the texts
        assert X.dtype == torch.long and X.shape[0] == len(lengths) == len(y)
    again = load_text_folder(folder, val_frac=0.2, seed=3)
    assert torch.equal(again.train[0], d.train[0]) and again.texts == d.texts
    assert "train 16, val 4, test 2" in d.describe()
    chars = load_text_folder(folder, tokenizer="char", max_len=5)
    assert chars.train[0].shape[1] == 5


def test_text_folder_uses_val_folder_and_checks_labels(folder):
    _write(folder, "val", "pos", "v.txt", "good")
    d = load_text_folder(folder)
    assert len(d.val[2]) == 1 and len(d.train[2]) == 20
    _write(folder, "test", "meh", "c.txt", "so so")
    with pytest.raises(ValueError, match=r"^text_folder: .* has labels \['meh'\] that the training split does not have"):
        load_text_folder(folder)
    with pytest.raises(FileNotFoundError, match=r"^text_folder: expected a folder"):
        load_text_folder(folder / "nowhere")


def _records():
    recs = []
    for p, n in (("alpha", 30), ("beta", 20), ("_private", 50), ("gamma", 10)):
        recs += [Docstring(p, f"{p}.f{i}", f"{p} function number {i} does things") for i in range(n)]
    recs.append(Docstring("alpha", "alpha.dup", "shared text"))
    recs.append(Docstring("beta", "beta.dup", "shared text"))
    recs.append(Docstring("alpha", "alpha.dup2", "alpha function number 0 does things"))  # repeat
    return recs


def test_topics_on_synthetic_records():
    recs = _records()
    assert topic_packages(recs, 2) == ["alpha", "beta"]  # _private excluded although largest
    d = load_docstring_topics(n_packages=3, records=recs, min_count=1)
    assert d.classes == ["alpha", "beta", "gamma"]
    all_texts = d.texts["train"] + d.texts["val"] + d.texts["test"]
    assert len(all_texts) == len(set(all_texts)) == 60  # deduplicated, shared text dropped
    assert "shared text" not in all_texts
    assert sorted(d.test[2].tolist()).count(0) == 3  # 10% of alpha's 30
    test_only = {w for t in d.texts["test"] for w in tokenize_words(t)} - {w for t in d.texts["train"] for w in tokenize_words(t)}
    assert test_only and not test_only & set(d.vocab)  # vocabulary from train only
    with pytest.raises(ValueError, match=r"^topics: expected n_packages between 2 and 3"):
        load_docstring_topics(n_packages=5, records=recs)


def test_topics_on_the_stdlib():
    d = load_docstring_topics(n_packages=4)
    assert len(d.classes) == 4 and not any(c.startswith("_") for c in d.classes)
    sizes = [len(s[2]) for s in (d.train, d.val, d.test)]
    assert sizes[0] > 4 * sizes[2] > 0
    assert d.train[0].shape[1] <= 64


def test_marker_order():
    X, lengths, y = marker_order(500, 30, min_gap=6, n_filler=5, seed=1)
    A, B = 6, 7
    pa = (X == A).int().argmax(1)
    pb = (X == B).int().argmax(1)
    assert ((X == A).sum(1) == 1).all() and ((X == B).sum(1) == 1).all()
    assert torch.equal(y, (pa < pb).long())
    assert ((pa - pb).abs() >= 6).all()
    assert (torch.minimum(pa, pb) >= 6).all() and (torch.maximum(pa, pb) <= 30 - 1 - 6).all()
    assert 0.4 < y.float().mean() < 0.6 and (lengths == 30).all() and X.min() >= 1
    s = marker_order_splits(T=30, min_gap=6, n_train=50, n_val=20, n_test=20, seed=2)
    assert not torch.equal(s.train[0][:20], s.val[0])
    assert torch.equal(marker_order_splits(T=30, min_gap=6, n_train=50, seed=2).train[0], s.train[0])
    with pytest.raises(ValueError, match=r"^marker_order: T=10 is too short"):
        marker_order(5, 10, min_gap=6)
