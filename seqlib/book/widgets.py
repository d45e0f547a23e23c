"""Interactive explorers for the chapters (ipywidgets), each with a static twin for the site.

The book's convention: one cell draws the static figure (what the built site shows); the next
cell, tagged ``remove-output``, holds the live widget for readers who run the notebook.

`g2p_explorer` lets a reader type any word (in the dictionary or not) and see a trained
grapheme-to-phoneme `Seq2Seq`'s phonemes and its attention matrix; `plot_g2p_attention` draws
the same picture for a list of words.
"""
from __future__ import annotations

import re

import torch

from seqlib.tokens import EOS, PAD
from seqlib.data.pairs import encode_sources
from seqlib.nn.seq2seq import Seq2Seq

WORD = re.compile(r"^[a-z][a-z']*$")


def g2p_predict(model: Seq2Seq, src_vocab: list, tgt_vocab: list, word: str,
                max_len: int = 30) -> tuple[list[str], torch.Tensor]:
    """(phonemes, attention weights (phonemes + EOS, letters)) of `word`, greedy decoding."""
    word = word.strip().lower()
    if not WORD.match(word):
        raise ValueError(f"widgets.g2p_predict: expected a word of letters a-z (and apostrophes), "
                         f"got {word!r}")
    X, L = encode_sources([word], src_vocab)
    ids, weights = model.eval().greedy(X, L, max_len=max_len, return_weights=True)
    phones = []
    for i in ids[0].tolist():
        if i in (EOS, PAD):
            break
        phones.append(tgt_vocab[i])
    return phones, weights[0, : len(phones) + 1, : len(word)]  # (U + 1, T)


def draw_attention(ax, word: str, phones: list[str], weights: torch.Tensor) -> None:
    """One heatmap: rows the output phonemes and EOS, columns the letters, grey = alpha."""
    ax.imshow(weights.numpy(), cmap="Greys", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(word)), list(word), fontsize=8)
    ax.set_yticks(range(len(phones) + 1), phones + ["</s>"], fontsize=7)
    ax.set_title(f"{word}: {' '.join(phones)}", fontsize=8)


def plot_g2p_attention(model: Seq2Seq, src_vocab: list, tgt_vocab: list, words,
                       title: str = "", figsize=None):
    """A row of attention heatmaps, one per word; returns the Figure."""
    import matplotlib.pyplot as plt

    words = list(words)
    if not words:
        raise ValueError("widgets.plot_g2p_attention: expected at least one word")
    fig, axes = plt.subplots(1, len(words), figsize=figsize or (2.6 * len(words), 3.2),
                             squeeze=False)
    for ax, w in zip(axes[0], words):
        phones, weights = g2p_predict(model, src_vocab, tgt_vocab, w)
        draw_attention(ax, w.strip().lower(), phones, weights)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def g2p_explorer(model: Seq2Seq, src_vocab: list, tgt_vocab: list, word: str = "blorptastic",
                 dictionary: dict | None = None):
    """A text box: type a word, see the predicted phonemes, the attention matrix and, when
    `dictionary` ({word: pronunciations}) lists the word, its dictionary pronunciations.

    Returns the widget (an `ipywidgets.interactive`): as a cell's last value Jupyter shows it,
    and nothing else (`interact` would also leave its function's repr as the cell's value)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(word: str):
        word = word.strip().lower()
        if not WORD.match(word):
            print("type a word of letters a-z (and apostrophes)")
            return
        phones, weights = g2p_predict(model, src_vocab, tgt_vocab, word)
        known = (dictionary or {}).get(word)
        print("predicted:", " ".join(phones))
        print("dictionary:", " | ".join(" ".join(p) for p in known) if known else "not listed")
        fig, ax = plt.subplots(figsize=(max(3.0, 0.35 * len(word) + 1.5), 3.4))
        draw_attention(ax, word, phones, weights)
        fig.tight_layout()
        plt.show()

    return widgets.interactive(show, word=widgets.Text(value=word, description="word",
                                                       continuous_update=False))
