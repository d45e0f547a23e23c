"""Chapter 6's GPU cell: the attention encoder-decoder on the full CMUdict G2P split.

Trains `Seq2Seq(attention=True)` (torch layers, hidden 256, embedding 64) on every training word,
with batches trimmed to their own lengths and bucketed by length (`PairBatches`), keeps the epoch
with the lowest greedy WER on the validation slice, and decodes the held-out words once with beam
search. Writes chapters/results/06_attention/gpu_g2p_full.json ({"test_PER", "test_WER",
"test_words", "train_words", "best_epoch", "val_WER_by_epoch", "hidden", "embed", "beam",
"parameters", "epochs", "batch"}), the record chapters/06_attention.ipynb shows. Default 12 epochs
(the chapter's cell: 30) to fit the ten-minute budget of all GPU scripts.
"""
from __future__ import annotations

import copy
import sys
import time

import torch

import seqlib
from seqlib.data.g2p import load_g2p
from seqlib.data.pairs import PairBatches
from seqlib.train.metrics import phoneme_error_rate, word_error_rate
from seqlib.book.records import results_dir
from seqlib.book.records import split_fingerprint
from seqlib.nn.seq2seq import Seq2Seq, seq2seq_loss

from ._common import device, finish, parser


def decode(model, data, split, dev, beam=1, chunk=1024):
    X, L = data.encode(data.sources[split])
    model.eval()
    pred = []
    for i in range(0, len(X), chunk):
        x, n = X[i:i + chunk].to(dev), L[i:i + chunk].to(dev)
        out = model.greedy(x, n, max_len=30) if beam == 1 else model.beam_search(x, n, beam, max_len=30)
        pred += data.decode(out.cpu())
    model.train()
    return pred


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser("ch06_g2p_full", __doc__)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--beam", type=int, default=4)
    args = p.parse_args(argv)
    args.prog = "ch06_g2p_full"
    caps = {}
    if args.dry_run:
        args.hidden, args.embed, args.epochs, args.batch = 16, 8, 1, 64
        caps = {"max_train": 300, "max_val": 40, "max_test": 40}
    dev, t0 = device(args), time.perf_counter()
    full = load_g2p(seed=args.seed, **caps)
    seqlib.seed_everything(args.seed)
    model = Seq2Seq(len(full.src_vocab), len(full.tgt_vocab), args.embed, args.hidden, attention=True,
                    impl="torch").to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    batches = PairBatches(full.train, args.batch, seed=args.seed)
    best, best_state, val_wer = float("inf"), None, []
    for epoch in range(args.epochs):
        seqlib.fit(model, batches, loss_fn=seq2seq_loss, epochs=1, optimizer=opt, clip=1.0, device=dev,
                   desc=f"g2p full, epoch {epoch + 1}")
        val_wer.append(word_error_rate(decode(model, full, "val", dev), full.references["val"]))
        if val_wer[-1] < best:
            best, best_state = val_wer[-1], copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    pred = decode(model, full, "test", dev, beam=args.beam)
    values = {"test_PER": phoneme_error_rate(pred, full.references["test"]),
              "test_WER": word_error_rate(pred, full.references["test"]),
              "test_words": len(pred), "train_words": len(full.sources["train"]),
              "best_epoch": val_wer.index(min(val_wer)) + 1, "val_WER_by_epoch": val_wer,
              "hidden": args.hidden, "embed": args.embed, "beam": args.beam, "epochs": args.epochs,
              "batch": args.batch, "parameters": seqlib.count_parameters(model),
              "split": split_fingerprint(full.sources["test"])}
    return finish(args, results_dir("06_attention") / "gpu_g2p_full.json", values, argv, t0)


if __name__ == "__main__":
    main()
