"""Which language does a name come from? Character-level names from Faker's per-locale lists.

Faker ships, per locale, the first names and surnames its fake-data generators draw from. We take
the union of both lists for each of a dozen-plus Latin-script locales, normalise to Unicode NFC,
and label each name with its locale. A name that appears in more than one locale's list ("Martin"
is French, German, Swedish, ...) has no single right answer, so it is dropped from every locale:
`NamesData.dropped` says how many. Splits are stratified by locale and fixed by the seed; the
character vocabulary is built from the training split only (index 0 pads, 1 is unknown).

Shape legend: N names, T longest name in the split (characters).
"""
from __future__ import annotations

import importlib
import random
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import torch

LOCALES = ("cs_CZ", "da_DK", "de_DE", "en_US", "es_ES", "fi_FI", "fr_FR", "hu_HU", "it_IT",
           "nl_NL", "pt_BR", "ro_RO", "sv_SE", "tr_TR")
from seqlib.tokens import PAD, UNK  # noqa: E402
from ._sources import source  # noqa: E402


def _names_of(locale: str) -> set[str]:
    source("faker")  # Faker: the `data` extra
    try:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    except ModuleNotFoundError as e:
        raise ValueError(f"names: Faker has no person provider for locale {locale!r}") from e
    names: set[str] = set()
    for attr in ("first_names", "first_names_male", "first_names_female", "last_names"):
        for name in getattr(provider, attr, ()):  # tuples, lists or weighted OrderedDicts
            name = unicodedata.normalize("NFC", str(name)).strip()
            if name:
                names.add(name)
    return names


def raw_names(locales=LOCALES) -> tuple[dict[str, list[str]], int]:
    """{locale: sorted names unique to that locale}, and how many cross-locale names were dropped."""
    per = {loc: _names_of(loc) for loc in locales}
    counts = Counter(n for names in per.values() for n in names)
    shared = {n for n, c in counts.items() if c > 1}
    return {loc: sorted(names - shared) for loc, names in per.items()}, len(shared)


@dataclass
class NamesData:
    """Padded character ids, lengths and locale labels for each split, plus the vocabulary."""

    train: tuple  # (X (N, T) long, lengths (N,) long, y (N,) long)
    val: tuple
    test: tuple
    vocab: list  # index -> character; 0 '<pad>', 1 '<unk>'
    classes: list  # index -> locale
    dropped: int  # names listed under several locales, removed from all
    names: dict = field(repr=False)  # split -> list of the names as strings

    def encode(self, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Ids (N, T) and lengths (N,) of new names with this vocabulary (unknown characters -> 1)."""
        return _encode(names, {c: i for i, c in enumerate(self.vocab)})

    def describe(self) -> str:
        sizes = ", ".join(f"{k} {len(getattr(self, k)[2])}" for k in ("train", "val", "test"))
        return (f"names of {len(self.classes)} locales: {sizes}; {len(self.vocab)} characters "
                f"(from train); {self.dropped} names shared by several locales dropped")


def _encode(names: list[str], index: dict[str, int]) -> tuple[torch.Tensor, torch.Tensor]:
    if not names:
        raise ValueError("names: expected at least one name to encode")
    lengths = torch.tensor([len(n) for n in names])
    if int(lengths.min()) == 0:
        raise ValueError("names: cannot encode an empty name")
    X = torch.full((len(names), int(lengths.max())), PAD, dtype=torch.long)  # (N, T)
    for i, name in enumerate(names):
        X[i, : len(name)] = torch.tensor([index.get(c, UNK) for c in name])
    return X, lengths


def load_names(locales=LOCALES, val_frac: float = 0.1, test_frac: float = 0.1, seed: int = 0,
               max_per_locale: int | None = None) -> NamesData:
    """Fixed, stratified train/val/test splits of the names task (see the module docstring).

    max_per_locale caps each locale (a seeded sample) to keep classes comparable in size.
    """
    if not 0 < val_frac < 1 or not 0 < test_frac < 1 or val_frac + test_frac >= 1:
        raise ValueError(f"names: expected val_frac and test_frac in (0, 1) summing below 1, "
                         f"got {val_frac} and {test_frac}")
    per, dropped = raw_names(locales)
    rng = random.Random(seed)
    split_names: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for label, loc in enumerate(locales):
        names = per[loc][:]
        rng.shuffle(names)
        if max_per_locale is not None:
            names = names[:max_per_locale]
        n_val, n_test = round(len(names) * val_frac), round(len(names) * test_frac)
        split_names["test"] += [(n, label) for n in names[:n_test]]
        split_names["val"] += [(n, label) for n in names[n_test:n_test + n_val]]
        split_names["train"] += [(n, label) for n in names[n_test + n_val:]]
    for items in split_names.values():
        rng.shuffle(items)
    chars = sorted({c for n, _ in split_names["train"] for c in n})
    vocab = ["<pad>", "<unk>"] + chars
    index = {c: i for i, c in enumerate(vocab)}
    tensors = {}
    for split, items in split_names.items():
        X, lengths = _encode([n for n, _ in items], index)
        tensors[split] = (X, lengths, torch.tensor([lab for _, lab in items]))
    return NamesData(tensors["train"], tensors["val"], tensors["test"], vocab, list(locales), dropped,
                     {s: [n for n, _ in items] for s, items in split_names.items()})
