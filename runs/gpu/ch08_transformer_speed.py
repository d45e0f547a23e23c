"""Chapter 8's GPU experiment: the same tokens as many short or a few long sequences, for an
LSTM layer and a Transformer encoder layer of the same width, on CUDA.

Writes chapters/results/08_transformers/gpu_speed.json: {"rows": [{"layer", "T", "B",
"GFLOP", "ms", "iqr_ms", "GFLOP/s"}], "width", "heads", "tokens"}, the record chapter 8 shows
beside its CPU run. FLOPs are counted (FlopCounterMode, on the meta device) on seqlib's twin of
each layer, which does the same arithmetic in plain products; times are torch.nn's layers
(cuDNN LSTM, fused attention), forward + backward, the median of seqlib.perf.timing.benchmark's
blocks (CUDA-synchronised).
"""
from __future__ import annotations

import sys
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import seqlib
from seqlib.book.records import results_dir
from seqlib.perf.timing import benchmark

from ._common import device, finish, parser


def layers(lib, width, heads, dev):
    torch.manual_seed(0)
    return {"LSTM": lib.LSTM(width, width, batch_first=True).to(dev),
            "encoder layer": lib.TransformerEncoderLayer(width, heads, 2 * width, 0.0,
                                                         batch_first=True).to(dev)}


def fwd_bwd(model, x):
    def step():
        out = model(x)
        (out[0] if isinstance(out, tuple) else out).sum().backward()
    return step


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser("ch08_transformer_speed", __doc__)
    p.add_argument("--shapes", nargs="+", default=["16x4096", "256x256", "4096x16"],
                   help="TxB shapes with the same T*B")
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    args = p.parse_args(argv)
    args.prog = "ch08_transformer_speed"
    if args.dry_run:
        args.shapes = ["4x16", "16x4"]
    dev, t0 = device(args), time.perf_counter()
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes]
    timed = layers(nn, args.width, args.heads, dev)
    counted = layers(seqlib, args.width, args.heads, "meta")  # FLOPs without memory
    rows = []
    for T, B in shapes:
        for name in timed:
            with FlopCounterMode(display=False) as fc:
                fwd_bwd(counted[name], torch.randn(B, T, args.width, device="meta"))()
            r = benchmark(fwd_bwd(timed[name], torch.randn(B, T, args.width, device=dev)),
                          threads=1, min_run_time=0.2 if not args.dry_run else 0.01, device=dev)
            gflop = fc.get_total_flops() / 1e9
            rows.append({"layer": name, "T": T, "B": B, "GFLOP": gflop, "ms": r["median_ms"],
                         "iqr_ms": r["iqr_ms"], "GFLOP/s": gflop / r["median_ms"] * 1e3})
            print(rows[-1], flush=True)
    return finish(args, results_dir("08_transformers") / "gpu_speed.json",
                  {"rows": rows, "width": args.width, "heads": args.heads,
                   "tokens": shapes[0][0] * shapes[0][1]}, argv, t0)


if __name__ == "__main__":
    main()
