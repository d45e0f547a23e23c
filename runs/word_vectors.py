"""Word vectors for chapter 5 (Kim's CNN-static / non-static): PPMI + SVD on the docstrings of the
installed third-party packages, a corpus disjoint from the standard-library docstrings that the
chapter's topic task classifies (every docstring whose text equals a standard-library docstring is
dropped, so no held-out text of the task is read). Deterministic; a few minutes on one CPU core.

    python -m runs.word_vectors            # writes chapters/results/05_textcnn/word_vectors.{pt,json}

The .pt holds {"words": [...], "vectors": (N, DIM) float16}; the .json is its record
(seqlib.book.records) with the installed packages and their versions, the corpus size, the
parameters and the .pt's sha256.
"""
from __future__ import annotations

import argparse
import hashlib
import time
from collections import Counter

from seqlib.book.records import provenance, results_dir, save_run_record
from seqlib.data.docstrings import stdlib_docstrings
from seqlib.data.package_docstrings import (collapse_space, installed_packages,
                                           package_docstrings)
from seqlib.data.textdata import tokenize_words
from seqlib.io import atomic_torch_save
from seqlib.train.word_vectors import cooccurrence, count_vocab, ppmi, svd_vectors


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", type=int, default=10000, help="target words kept (most frequent)")
    ap.add_argument("--contexts", type=int, default=10000, help="context words kept")
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--alpha", type=float, default=0.75)
    ap.add_argument("--out", default=str(results_dir("05_textcnn") / "word_vectors"))
    args = ap.parse_args(argv)
    t0 = time.time()
    prov = provenance("cpu")
    held = [d.text for d in stdlib_docstrings()]  # every text the topic task could use
    every = package_docstrings()
    banned = {collapse_space(t) for t in held}
    docs = [d for d in every if collapse_space(d.text) not in banned]  # = exclude=held
    n_dropped = len(every) - len(docs)  # copies of standard-library docstrings
    tokens = [tokenize_words(d.text) for d in docs]
    n_tokens = sum(map(len, tokens))
    words = count_vocab(tokens, args.words)
    contexts = words[: args.contexts]
    counts = cooccurrence(tokens, words, contexts, window=args.window)
    vectors = svd_vectors(ppmi(counts, alpha=args.alpha), args.dim, seed=0).float()
    pt = f"{args.out}.pt"
    atomic_torch_save({"words": words, "vectors": vectors.half()}, pt)
    sha = hashlib.sha256(open(pt, "rb").read()).hexdigest()
    prov["wall_s"] = round(time.time() - t0, 1)
    values = {
        "method": "PPMI (context smoothing alpha) + truncated SVD, vectors U S^(1/2)",
        "corpus": "docstrings of installed third-party packages (site-packages; tests and "
                  "vendored code skipped), texts equal to a standard-library docstring dropped",
        "documents": len(docs), "tokens": n_tokens, "dropped_as_stdlib_copies": n_dropped,
        "documents_by_package": dict(Counter(d.package for d in docs).most_common()),
        "words": len(words), "contexts": len(contexts), "window": args.window,
        "dim": args.dim, "alpha": args.alpha, "file": pt.rsplit("/", 1)[-1], "sha256": sha,
        "installed_packages": installed_packages(),
    }
    save_run_record(f"{args.out}.json", values, name="word_vectors", prov=prov)
    print(f"{len(docs)} docstrings, {n_tokens:,} tokens -> {len(words)} x {args.dim} vectors "
          f"in {prov['wall_s']:.0f} s; {pt}")
    return values


if __name__ == "__main__":
    main()
