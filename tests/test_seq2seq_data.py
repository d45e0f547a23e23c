import datetime as dt

import pytest
import torch

from seqlib.data.dates import load_dates, render, LOCALES, CLDR_FORMATS, PATTERNS
from seqlib.data.g2p import load_g2p, pronunciations
from seqlib.tokens import BOS, EOS, PAD
from seqlib.train.metrics import edit_distance, phoneme_error_rate, word_error_rate


@pytest.fixture(scope="module")
def dates():
    return load_dates(n_dates=300, per_date=3, seed=1)


def test_dates_splits_are_disjoint_in_dates_and_targets_are_iso(dates):
    per_split = {s: {r[0] for r in dates.references[s]} for s in ("train", "val", "test")}
    assert not per_split["train"] & per_split["test"]
    assert not per_split["train"] & per_split["val"]
    assert not per_split["val"] & per_split["test"]
    assert len(per_split["test"]) == 30 and len(per_split["train"]) == 240
    for src, refs in zip(dates.sources["test"][:20], dates.references["test"][:20]):
        d = dt.date.fromisoformat(refs[0])
        assert src in {render(d, loc, f) for loc in LOCALES for f in CLDR_FORMATS + PATTERNS}


def test_dates_have_no_ambiguous_source(dates):
    seen = {}
    for split in ("train", "val", "test"):
        for src, refs in zip(dates.sources[split], dates.references[split]):
            assert seen.setdefault(src, refs[0]) == refs[0]
            d = dt.date.fromisoformat(refs[0])
            if d.day <= 12 and d.day != d.month:  # the swapped date never renders the same string
                swap = d.replace(month=d.day, day=d.month)
                assert src not in {render(swap, loc, f) for loc in LOCALES for f in CLDR_FORMATS + PATTERNS}


def test_dates_tensors_and_determinism(dates):
    X, lengths, tgt_in, tgt_out = dates.train
    assert X.dtype == torch.long and tgt_in[:, 0].eq(BOS).all() and tgt_out[:, 10].eq(EOS).all()
    assert (X[torch.arange(X.size(1)) >= lengths.unsqueeze(1)] == PAD).all()
    assert ["".join(t) for t in dates.decode(tgt_out[:5])] == [r[0] for r in dates.references["train"][:5]]
    again = load_dates(n_dates=300, per_date=3, seed=1)
    assert again.sources == dates.sources
    assert load_dates(n_dates=300, per_date=3, seed=2).sources != dates.sources


def test_dates_errors():
    with pytest.raises(ValueError, match="less than 100 years"):
        load_dates(start=dt.date(1900, 1, 1), end=dt.date(2049, 1, 1))
    with pytest.raises(ValueError, match="val_frac"):
        load_dates(val_frac=0.6, test_frac=0.5)


@pytest.fixture(scope="module")
def g2p():
    return load_g2p(max_train=300, max_val=50, max_test=100)


def test_g2p_split_by_word_with_all_pronunciations(g2p):
    train, test = set(g2p.sources["train"]), set(g2p.sources["test"])
    assert not train & test and not train & set(g2p.sources["val"])
    assert len(test) == 100
    assert all(not any(ch.isdigit() for p in refs for ph in p for ch in ph) for refs in g2p.references["test"])
    prons = pronunciations()
    assert prons["tomato"] == [["T", "AH", "M", "EY", "T", "OW"], ["T", "AH", "M", "AA", "T", "OW"]]
    assert any(ch.isdigit() for ph in pronunciations(stress=True)["tomato"][0] for ch in ph)
    # the held-out words do not depend on the subset sizes
    assert test <= set(load_g2p(max_test=None, max_train=10, max_val=10).sources["test"])


def test_edit_distance_and_rates():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([], ["A", "B"]) == 2
    assert edit_distance(["A", "B"], ["A", "B"]) == 0
    refs = [[["T", "AH", "M", "EY", "T", "OW"], ["T", "AH", "M", "AA", "T", "OW"]], [["K", "AE", "T"]]]
    preds = [["T", "AH", "M", "AA", "T", "OW"], ["K", "AH", "T"]]
    assert word_error_rate(preds, refs) == 0.5  # the second listed pronunciation counts as correct
    assert phoneme_error_rate(preds, refs) == pytest.approx(1 / 9)
    with pytest.raises(ValueError, match="metrics: expected as many"):
        word_error_rate(preds, refs[:1])
