"""The bibliography parses, and every key a page cites is in it (a broken entry fails `make book`
only after every chapter has run; this fails in seconds)."""
import re
from pathlib import Path

import pytest

pybtex = pytest.importorskip("pybtex.database")

ROOT = Path(__file__).resolve().parents[1]


def test_every_cited_key_is_in_the_bibliography():
    db = pybtex.parse_file(str(ROOT / "references.bib"))
    keys = set(db.entries)
    cited = set()
    for page in [*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("chapters/*.md")]:
        for group in re.findall(r"\{cite(?::[tp])?\}`([^`]+)`", page.read_text()):
            cited |= {k.strip() for k in group.split(",")}
    assert cited, "no citation found: the pattern no longer matches the pages"
    assert cited <= keys, f"cited but not in references.bib: {sorted(cited - keys)}"
