"""Chapter 1's GPU cell: a tanh RNN (seqlib.RNN, H=128) on the adding problem at longer lengths.

Writes chapters/results/01_rnn/gpu_adding.json ({"adding": [{"T", "test MSE", "baseline MSE",
"epochs"}, ...]}), the record chapters/01_rnn.ipynb shows. The chapter's cell uses 100 epochs of
20,000 sequences; the default here is 30 epochs, sized so every runs/gpu/ script together fits
in about ten minutes on one H100 (the epochs are in the record).
"""
from __future__ import annotations

import sys
import time

import torch

import seqlib
from seqlib.data import adding_splits
from seqlib.book.records import results_dir

from ._common import device, finish, parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser("ch01_rnn_adding", __doc__)
    p.add_argument("--lengths", nargs="+", type=int, default=[50, 100, 200])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--train", type=int, default=20000)
    p.add_argument("--clip", type=float, default=1.0)
    args = p.parse_args(argv)
    args.prog = "ch01_rnn_adding"
    if args.dry_run:
        args.lengths, args.epochs, args.train = [5], 1, 256
    dev, t0 = device(args), time.perf_counter()
    mse = torch.nn.functional.mse_loss
    rows = []
    for T in args.lengths:
        data = adding_splits(T, n_train=args.train, n_val=2000, n_test=2000, seed=args.seed)
        seqlib.seed_everything(args.seed)
        model = seqlib.LastStepRegressor("rnn", 2, 128)
        seqlib.fit(model, data.train, val=data.val, loss_fn=mse, epochs=args.epochs, lr=1e-3, clip=args.clip,
                   batch_size=256, device=dev, desc=f"GPU RNN, T={T}")
        test_mse, _ = seqlib.evaluate(model, data.test, mse)
        rows.append({"T": T, "test MSE": test_mse, "baseline MSE": data.baseline, "epochs": args.epochs})
    return finish(args, results_dir("01_rnn") / "gpu_adding.json",
                  {"adding": rows, "train": args.train, "hidden": 128, "seed": args.seed}, argv, t0)


if __name__ == "__main__":
    main()
