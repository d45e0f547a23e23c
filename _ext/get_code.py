"""Adds a "Run this chapter" note under the title of every chapter page.

A reader who downloads a chapter's notebook (the download button) needs `seqlib`, the book's
package, to run it. Rather than repeat the same cell in every notebook, this Sphinx extension
inserts one note after the first heading of each numbered chapter (docnames ``chapters/NN_*``).
"""
from __future__ import annotations

import re

from docutils import nodes

TEXT = ("Run this chapter yourself: the download button at the top of the page gives its "
        "notebook (.ipynb). It imports seqlib, the book's package: install it from the book's "
        "folder with ``pip install -e .`` (after torch and ``requirements.txt``), or from a wheel "
        "built with ``make dist``. The first code cell, tagged ``parameters``, holds the "
        "chapter's knobs for papermill. Setup has the details.")


def _insert(app, doctree):
    docname = app.env.docname
    if not re.match(r"chapters/\d\d_", docname):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    title = next(iter(section.findall(nodes.title)), None)
    note = nodes.note()
    para = nodes.paragraph()
    for k, part in enumerate(TEXT.split("``")):
        para += nodes.literal(part, part) if k % 2 else nodes.Text(part)
    note += para
    index = section.index(title) + 1 if title is not None else 0
    section.insert(index, note)


def setup(app):
    app.connect("doctree-read", _insert)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
