"""Chapter 4's GPU cell: unidirectional vs bidirectional 2-layer LSTM taggers (equal parameters)
on hyphenation of every word (`load_hyphenation(n_words=None)`), epoch chosen on validation.

Writes chapters/results/04_birnn/gpu_hyphenation.json ({"n_words", "unidirectional": {"hidden",
"parameters", "epoch", "test_letter_acc", "test_word_acc"}, "bidirectional": {...}}), the record
chapters/04_birnn.ipynb shows. Defaults: the chapter's (hidden 128 per direction, 15 epochs,
batch 256, lr 3e-3).
"""
from __future__ import annotations

import copy
import math
import sys
import time

import torch

import seqlib
from seqlib.nn.bidirectional import PackedTagger
from seqlib.train.tagging import masked_cross_entropy, tagging_scores
from seqlib.data.hyphenation import load_hyphenation
from seqlib.train.metrics import hidden_size_for_budget
from seqlib.book.records import results_dir

from ._common import device, finish, parser


def train_select(model, train, val, epochs, lr, batch_size, seed, dev, desc):
    """One epoch at a time with seqlib.fit; keeps the weights of the best validation word accuracy."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    best, best_state, best_epoch = -math.inf, None, 0
    for epoch in range(epochs):
        seqlib.fit(model, train, loss_fn=masked_cross_entropy, epochs=1, optimizer=opt, batch_size=batch_size,
                   seed=seed * 1000 + epoch, device=dev, desc=f"{desc} epoch {epoch + 1}")
        s = tagging_scores(model, *val)["sequence_acc"]
        if s > best:
            best, best_state, best_epoch = s, copy.deepcopy(model.state_dict()), epoch + 1
    model.load_state_dict(best_state)
    return best_epoch


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser("ch04_birnn_hyphenation", __doc__)
    p.add_argument("--n-words", type=int, default=None, help="default: every word")
    p.add_argument("--hidden-bi", type=int, default=128)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch", type=int, default=256)
    args = p.parse_args(argv)
    args.prog = "ch04_birnn_hyphenation"
    if args.dry_run:
        args.n_words, args.hidden_bi, args.epochs = 300, 8, 1
    dev, t0 = device(args), time.perf_counter()
    big = load_hyphenation(n_words=args.n_words, seed=args.seed)
    V = len(big.vocab)
    make_bi = lambda h: PackedTagger("lstm", V, 32, h, 2, bidirectional=True, impl="torch")
    make_uni = lambda h: PackedTagger("lstm", V, 32, h, 2, impl="torch")
    h_uni = hidden_size_for_budget(make_uni, seqlib.count_parameters(make_bi(args.hidden_bi)))
    values = {"n_words": len(big.words["train"]) + len(big.words["val"]) + len(big.words["test"]),
              "epochs": args.epochs, "batch": args.batch, "lr": 3e-3}
    for name, make, h in (("unidirectional", make_uni, h_uni), ("bidirectional", make_bi, args.hidden_bi)):
        seqlib.seed_everything(args.seed)
        m = make(h).to(dev)
        ep = train_select(m, big.train, big.val, args.epochs, 3e-3, args.batch, args.seed, dev, name)
        t = tagging_scores(m, *big.test)
        values[name] = {"hidden": h, "parameters": seqlib.count_parameters(m), "epoch": ep,
                        "test_letter_acc": t["position_acc"], "test_word_acc": t["sequence_acc"]}
    return finish(args, results_dir("04_birnn") / "gpu_hyphenation.json", values, argv, t0)


if __name__ == "__main__":
    main()
