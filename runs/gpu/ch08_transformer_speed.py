"""Chapter 8's GPU cell: forward and forward+backward time of an LSTM layer and a Transformer
encoder layer (torch and seqlib) at growing sequence length.

Writes chapters/results/08_transformers/gpu_speed.json ({"Ts", "batch", "width", "speed": {model:
{"fwd": [ms per T], "fwdbwd": [...]}}}), the record chapters/08_transformers.ipynb shows. Sizes as
the chapter's (batch 8, width 64, 4 heads, feed-forward 2 x width; T = 64 ... 4096); each time is
the fastest of the repeats.
"""
from __future__ import annotations

import sys
import time

import torch
from torch import nn

import seqlib
from seqlib.provenance import results_dir
from seqlib.timing import time_ms

from ._common import device, finish, parser


def make_speed_models(width, heads):
    ff = 2 * width  # matches the LSTM's parameter count
    return {
        "torch LSTM": nn.LSTM(width, width, batch_first=True),
        "seqlib LSTM": seqlib.LSTM(width, width, batch_first=True),
        "torch Transformer layer": nn.TransformerEncoderLayer(width, heads, ff, 0.0, batch_first=True),
        "seqlib Transformer layer": seqlib.TransformerEncoderLayer(width, heads, ff, 0.0, batch_first=True),
    }


def speed_sweep(Ts, batch, width, heads, dev, repeats, seed=0):
    torch.manual_seed(seed)
    models = {k: m.to(dev) for k, m in make_speed_models(width, heads).items()}
    res = {k: {"fwd": [], "fwdbwd": []} for k in models}
    for T in Ts:
        x = torch.randn(batch, T, width, device=dev)
        for name, m in models.items():
            def fwd(m=m, x=x):
                with torch.no_grad():
                    return m(x)

            def fwdbwd(m=m, x=x):
                out = m(x)
                (out[0] if isinstance(out, tuple) else out).sum().backward()

            res[name]["fwd"].append(time_ms(fwd, repeats=repeats, warmup=1, device=dev)["min_ms"])
            res[name]["fwdbwd"].append(time_ms(fwdbwd, repeats=repeats, warmup=1, device=dev)["min_ms"])
    return res, {k: seqlib.count_parameters(m) for k, m in models.items()}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser("ch08_transformer_speed", __doc__)
    p.add_argument("--Ts", nargs="+", type=int, default=[64, 256, 1024, 4096])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args(argv)
    args.prog = "ch08_transformer_speed"
    if args.dry_run:
        args.Ts, args.repeats = [8, 16], 1
    dev, t0 = device(args), time.perf_counter()
    speed, params = speed_sweep(args.Ts, args.batch, args.width, args.heads, dev, args.repeats, args.seed)
    return finish(args, results_dir("08_transformers") / "gpu_speed.json",
                  {"Ts": args.Ts, "batch": args.batch, "width": args.width, "heads": args.heads,
                   "speed": speed, "parameters": params}, argv, t0)


if __name__ == "__main__":
    main()
