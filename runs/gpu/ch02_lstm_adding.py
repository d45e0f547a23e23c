"""Chapter 2's GPU cell: an LSTM (torch layer, forget-gate bias 1, H=128) on the adding problem at
T = 600, the setting of Bai et al. (2018).

Writes chapters/results/02_lstm/gpu_adding_T600.json ({"T", "hidden", "epochs", "n_train",
"forget_bias", "test_mse", "baseline", "val_mse", "seconds", "bai2018_lstm_mse"}), the record
chapters/02_lstm.ipynb shows. Batch 64, Adam lr 1e-3, clip 1.0 as in the chapter; default 10 epochs
of 50,000 sequences (the chapter's cell: 20), to fit the ten-minute budget of all GPU scripts.
"""
from __future__ import annotations

import sys
import time

import torch.nn.functional as F

import seqlib
from seqlib.data import adding_splits
from seqlib.nn.lstm import init_forget_bias
from seqlib.book.records import results_dir

from ._common import device, finish, parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser("ch02_lstm_adding", __doc__)
    p.add_argument("--T", type=int, default=600)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--train", type=int, default=50000)
    args = p.parse_args(argv)
    args.prog = "ch02_lstm_adding"
    if args.dry_run:
        args.T, args.hidden, args.epochs, args.train = 10, 8, 1, 128
    dev, t0 = device(args), time.perf_counter()
    split = adding_splits(args.T, n_train=args.train, n_val=1000, n_test=1000, seed=args.seed)
    seqlib.seed_everything(args.seed)
    model = seqlib.LastStepRegressor("lstm", 2, args.hidden, impl="torch")
    init_forget_bias(model, 1.0)
    hist = seqlib.fit(model, split.train, val=split.val, loss_fn=F.mse_loss, epochs=args.epochs, lr=1e-3,
                      batch_size=64, clip=1.0, seed=args.seed, device=dev, desc=f"lstm adding T={args.T}")
    test_mse, _ = seqlib.evaluate(model, split.test, F.mse_loss, device=dev)
    values = {"T": args.T, "hidden": args.hidden, "epochs": args.epochs, "n_train": args.train, "forget_bias": 1.0,
              "test_mse": test_mse, "baseline": split.baseline, "val_mse": hist.val_loss,
              "seconds": time.perf_counter() - t0, "bai2018_lstm_mse": 0.164}
    return finish(args, results_dir("02_lstm") / "gpu_adding_T600.json", values, argv, t0)


if __name__ == "__main__":
    main()
