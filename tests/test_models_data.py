"""Task heads and the names loader."""
import pytest
import torch

import seqlib
from seqlib.data.names import LOCALES, load_names, raw_names


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_classifier_ignores_padding_and_matches_torch_twin(kind, bidirectional):
    torch.manual_seed(0)
    ours = seqlib.SequenceClassifier(kind, 20, 5, 6, 3, bidirectional=bidirectional).double()
    theirs = seqlib.SequenceClassifier(kind, 20, 5, 6, 3, bidirectional=bidirectional, impl="torch").double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randint(2, 20, (4, 7))
    lengths = torch.tensor([7, 3, 5, 1])
    for i, n in enumerate(lengths):
        x[i, n:] = 0
    out = ours(x, lengths)
    torch.testing.assert_close(out, theirs(x, lengths))
    x_noise = x.clone()
    x_noise[1, 3:] = 5  # garbage past the end of sequence 1
    torch.testing.assert_close(ours(x_noise, lengths), out)


def test_names_splits_are_disjoint_and_fixed():
    a, b = load_names(seed=0), load_names(seed=0)
    assert torch.equal(a.train[0], b.train[0]) and a.classes == list(LOCALES)
    tr, va, te = (set(a.names[s]) for s in ("train", "val", "test"))
    assert not (tr & va) and not (tr & te) and not (va & te)
    per, dropped = raw_names()
    assert dropped > 0
    seen = [n for names in per.values() for n in names]
    assert len(seen) == len(set(seen)), "no name keeps two labels"
    assert sorted(set(a.train[2].tolist())) == list(range(len(LOCALES)))
    X, lengths = a.encode(["Zyx\u00e9"])
    assert X.shape == (1, 4) and lengths.tolist() == [4]


def test_names_errors():
    with pytest.raises(ValueError, match="names: Faker has no person provider for locale 'xx_XX'"):
        load_names(locales=("en_US", "xx_XX"))
    with pytest.raises(ValueError, match="names: expected val_frac and test_frac"):
        load_names(val_frac=0.6, test_frac=0.5)
