"""Chapter 5's GPU cell: TextCNN vs GRU (seqlib and torch.nn) inference and training-step time per
batch on the names task's models, at growing input lengths.

Writes chapters/results/05_textcnn/gpu_time_per_batch.json ({"batch", "times": {"<model>, T=<T>":
{"inference_ms", "train_step_ms"}}}), the record chapters/05_textcnn.ipynb shows. Models as the
chapter builds them (embedding 32, filter widths 2-5 with 64 filters, GRU hidden 64).
"""
from __future__ import annotations

import sys
import time

import torch
import torch.nn.functional as F

import seqlib
from seqlib.data.names import load_names
from seqlib.book.records import results_dir
from seqlib.perf.timing import time_ms

from ._common import device, finish, parser

NUM_FILTERS, HIDDEN, CHAR_EMBED, CHAR_SIZES = 64, 64, 32, (2, 3, 4, 5)


def factories(V, C):
    return {"TextCNN": lambda: seqlib.TextCNN(V, CHAR_EMBED, NUM_FILTERS, CHAR_SIZES, C, dropout=0.3),
            "GRU (seqlib)": lambda: seqlib.SequenceClassifier("gru", V, CHAR_EMBED, HIDDEN, C),
            "GRU (torch.nn)": lambda: seqlib.SequenceClassifier("gru", V, CHAR_EMBED, HIDDEN, C, impl="torch")}


def step_fn(model, batch):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    *inputs, y = batch

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(*inputs), y).backward()
        opt.step()
    return step


def infer_fn(model, batch):
    *inputs, _ = batch

    def infer():
        with torch.no_grad():
            model(*inputs)
    return infer


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = parser("ch05_textcnn_speed", __doc__)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lengths", nargs="+", type=int, default=[64, 256, 1024])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    args.prog = "ch05_textcnn_speed"
    if args.dry_run:
        args.batch, args.lengths, args.repeats = 4, [8], 1
    dev, t0 = device(args), time.perf_counter()
    names = load_names(seed=0)
    V, C = len(names.vocab), len(names.classes)
    fs, times = factories(V, C), {}
    for T in args.lengths:
        g = torch.Generator().manual_seed(args.seed)
        batch = tuple(t.to(dev) for t in (torch.randint(2, V, (args.batch, T), generator=g),
                                          torch.full((args.batch,), T), torch.zeros(args.batch, dtype=torch.long)))
        for name, make in fs.items():
            seqlib.seed_everything(args.seed)
            m = make().to(dev).eval()
            inf = time_ms(infer_fn(m, batch), repeats=args.repeats, warmup=2, device=dev)["median_ms"]
            m.train()
            tr = time_ms(step_fn(m, batch), repeats=args.repeats, warmup=2, device=dev)["median_ms"]
            times[f"{name}, T={T}"] = {"inference_ms": inf, "train_step_ms": tr}
    return finish(args, results_dir("05_textcnn") / "gpu_time_per_batch.json",
                  {"batch": args.batch, "times": times}, argv, t0)


if __name__ == "__main__":
    main()
