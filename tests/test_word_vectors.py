"""seqlib.train.word_vectors: counts against a naive loop, PPMI against its formula, SVD vectors
that put words with the same contexts together; seqlib.data.package_docstrings' exclusion."""
import math

import torch

from seqlib.train.word_vectors import cooccurrence, count_vocab, lookup, ppmi, svd_vectors

DOCS = [["the", "cat", "sat", "on", "the", "mat"], ["a", "dog", "sat", "on", "a", "log"],
        ["the", "dog", "ran"], ["x"]]


def test_counts_match_a_naive_loop():
    words = count_vocab(DOCS, 6)
    contexts = count_vocab(DOCS, 4)
    got = cooccurrence(DOCS, words, contexts, window=2)
    ref = torch.zeros(len(words), len(contexts), dtype=torch.float64)
    for doc in DOCS:
        for i, w in enumerate(doc):
            for j, c in enumerate(doc):
                if i != j and abs(i - j) <= 2 and w in words and c in contexts:
                    ref[words.index(w), contexts.index(c)] += 1
    torch.testing.assert_close(got, ref)
    assert got.sum() > 0


def test_count_vocab_orders_by_frequency_then_token():
    assert count_vocab(DOCS, 3) == ["the", "a", "dog"]
    assert count_vocab(DOCS, 100, min_count=2) == ["the", "a", "dog", "on", "sat"]


def test_ppmi_formula():
    counts = torch.tensor([[4.0, 0.0, 1.0], [1.0, 2.0, 2.0]], dtype=torch.float64)
    got = ppmi(counts, alpha=1.0)
    total = counts.sum()
    for i in range(2):
        for j in range(3):
            if counts[i, j] == 0:
                assert got[i, j] == 0
                continue
            pmi = math.log(counts[i, j] * total / (counts[i].sum() * counts[:, j].sum()))
            assert abs(float(got[i, j]) - max(pmi, 0.0)) < 1e-12
    assert (got >= 0).all()


def test_svd_vectors_group_words_that_share_contexts():
    # 'cat' and 'dog' appear in the same contexts, 'red' and 'blue' in others
    docs = []
    for _ in range(50):
        docs += [["the", "cat", "eats"], ["the", "dog", "eats"], ["a", "red", "car"],
                 ["a", "blue", "car"]]
    words = count_vocab(docs, 20)
    vec = svd_vectors(ppmi(cooccurrence(docs, words, words, window=1)), dim=6)
    assert vec.shape == (len(words), 6)
    v = torch.nn.functional.normalize(vec, dim=1)
    cos = lambda a, b: float(v[words.index(a)] @ v[words.index(b)])
    assert cos("cat", "dog") > 0.99 and cos("red", "blue") > 0.99
    assert cos("cat", "red") < 0.5
    torch.testing.assert_close(vec, svd_vectors(ppmi(cooccurrence(docs, words, words, 1)), 6))


def test_lookup():
    vectors = torch.arange(6, dtype=torch.float32).view(3, 2)
    table, found = lookup(["<pad>", "b", "zz", "a"], ["a", "b", "c"], vectors,
                          generator=torch.Generator().manual_seed(0))
    assert found == 2 and table.shape == (4, 2)
    assert torch.equal(table[0], torch.zeros(2))
    assert torch.equal(table[1], vectors[1]) and torch.equal(table[3], vectors[0])


def test_package_docstrings_excludes_given_texts(tmp_path):
    from seqlib.data.package_docstrings import package_docstrings

    pkg = tmp_path / "pkg"
    (pkg / "tests").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""A module docstring that is long enough to keep it."""\n'
                                     'def f():\n    """A copy of   a held-out   text, long enough."""\n')
    (pkg / "tests" / "t.py").write_text('"""Tests are skipped even when long enough to keep."""\n')
    got = package_docstrings(root=tmp_path, exclude=["A copy of a held-out text, long enough."])
    assert [d.text for d in got] == ["A module docstring that is long enough to keep it."]
    assert got[0].package == "pkg"
