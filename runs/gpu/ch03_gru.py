"""Chapter 3's GPU cells: LSTM and GRU layer speed (seqlib vs cuDNN), and both on the adding
problem at T = 600 (torch layers, equal hidden size, forget-gate bias 1).

Writes chapters/results/03_gru/gpu_speed.json ({"batch", "T", "input", "hidden",
"<lstm|gru>_<seqlib|torch>_ms"}) and chapters/results/03_gru/gpu_adding_T600.json ({"T", "n_train",
"hidden", "epochs", "batch", "lr", "clip", "lstm_forget_bias", "impl", "baseline", "lstm": {...},
"gru": {...}}), the records chapters/03_gru.ipynb shows. The adding run uses 5 epochs of 50,000
sequences by default (the chapter's cell: 10), to fit the ten-minute budget of all GPU scripts.
"""
from __future__ import annotations

import sys
import time

import torch

import seqlib
from seqlib.data import adding_splits
from seqlib.train.experiments import train_adding
from seqlib.book.records import results_dir
from seqlib.perf.timing import time_ms

from ._common import device, finish, parser


def fwd_bwd(model, x):
    def step():
        model.zero_grad(set_to_none=True)
        out, _ = model(x)
        out.sum().backward()
    return step


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser("ch03_gru", __doc__)
    p.add_argument("--time-size", nargs=4, type=int, default=[64, 50, 32, 128], metavar=("B", "T", "I", "H"))
    p.add_argument("--T", type=int, default=600)
    p.add_argument("--train", type=int, default=50000)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=32)
    args = p.parse_args(argv)
    args.prog = "ch03_gru"
    if args.dry_run:
        args.time_size, args.T, args.train, args.hidden, args.epochs = [4, 5, 3, 8], 10, 64, 8, 1
    dev, t0 = device(args), time.perf_counter()
    B, T, I, H = args.time_size
    x = torch.randn(B, T, I, device=dev)
    speed = {"batch": B, "T": T, "input": I, "hidden": H}
    for kind in ("lstm", "gru"):
        for impl in ("seqlib", "torch"):
            layer = seqlib.make_recurrent(kind, I, H, impl=impl).to(dev)
            speed[f"{kind}_{impl}_ms"] = time_ms(fwd_bwd(layer, x), repeats=20, warmup=3, device=dev)["median_ms"]
    finish(args, results_dir("03_gru") / "gpu_speed.json", speed, argv, t0)

    t1 = time.perf_counter()
    big = adding_splits(args.T, n_train=args.train, n_val=1000, n_test=1000, seed=args.seed)
    values = {"T": args.T, "n_train": args.train, "hidden": args.hidden, "epochs": args.epochs,
              "batch": args.batch, "lr": 2e-3, "clip": 1.0, "lstm_forget_bias": 1.0, "impl": "torch (cuDNN)",
              "baseline": big.baseline}
    for kind in ("lstm", "gru"):
        r = train_adding(kind, big, hidden_size=args.hidden, epochs=args.epochs, lr=2e-3, batch_size=args.batch,
                         seed=args.seed, impl="torch", forget_bias=1.0, device=dev)
        values[kind] = {"params": r["params"], "best_epoch": r["best_epoch"], "test_mse": r["test_mse"],
                        "val_mse": r["history"].val_loss}
    return finish(args, results_dir("03_gru") / "gpu_adding_T600.json", values, argv, t1)


if __name__ == "__main__":
    main()
