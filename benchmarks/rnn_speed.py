"""Times seqlib.LSTM's implementations against torch.nn.LSTM, forward and forward+backward.

    python benchmarks/rnn_speed.py                 # CPU, the issue's CPU size
    python benchmarks/rnn_speed.py --device cuda   # adds the H100 size (B=64, T=256, I=256, H=512)

Prints a table of milliseconds (median of --repeats after --warmup runs; seqlib.timing.time_ms,
which synchronises CUDA with events) and the ratio to torch.nn.LSTM (cuDNN on CUDA, torch's own
kernels on CPU), and writes it as JSON with provenance (device, torch, date, commit, command) to
benchmarks/results/rnn_speed_<device>_<date>.json. On CUDA a row "fast+graph" times impl="fast"
captured with seqlib.fast.cuda_graphed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

import torch

import seqlib
from seqlib.fast import SIZES, benchmark_lstm
from seqlib.provenance import _commit, atomic_write_text

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--sizes", default=None, help="comma list of " + ", ".join(SIZES) +
                   " (default: cpu on CPU, cpu,h100 on CUDA)")
    p.add_argument("--impls", default="loop,hoisted,fast")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3, help="round-robin rounds over the implementations")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    p.add_argument("--out", default=None, help="JSON path (default benchmarks/results/...)")
    args = p.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = (args.sizes or ("cpu,h100" if device.type == "cuda" else "cpu")).split(",")
    impls = args.impls.split(",")
    rows = []
    for s in sizes:
        rows += benchmark_lstm(SIZES[s], device, args.repeats, args.warmup, impls, args.rounds)
    print(f"{seqlib.describe_device(device)}; median over {args.rounds} round(s) of the median of "
          f"{args.repeats} runs after {args.warmup} warm-up runs (min: fastest single run)")
    print(f"{'impl':>14} {'B':>4} {'T':>4} {'I':>4} {'H':>4} {'fwd ms':>9} {'min':>8} {'ratio':>6} "
          f"{'fwd+bwd ms':>11} {'min':>8} {'ratio':>6}")
    for r in rows:
        f = (f"{r['fwd_ms']:9.2f} {r['fwd_min_ms']:8.2f} {r['fwd_ratio']:6.2f}" if "fwd_ms" in r
             else f"{'-':>9} {'-':>8} {'-':>6}")
        print(f"{r['impl']:>14} {r['B']:4d} {r['T']:4d} {r['I']:4d} {r['H']:4d} {f} "
              f"{r['fwd_bwd_ms']:11.2f} {r['fwd_bwd_min_ms']:8.2f} {r['fwd_bwd_ratio']:6.2f}")
    now = dt.datetime.now(dt.timezone.utc)
    record = {
        "device": (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"),
        "device_type": device.type,
        "torch": torch.__version__,
        "date": now.isoformat(timespec="seconds"),
        "commit": _commit(),
        "command": "python " + " ".join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])),
        "repeats": args.repeats, "warmup": args.warmup, "rounds": args.rounds,
        "statistic": "median over rounds of the per-round median (ms); ratio = impl / torch.nn.LSTM",
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "rows": rows,
    }
    out = Path(args.out) if args.out else (Path(__file__).resolve().parent / "results" /
                                           f"rnn_speed_{device.type}_{now.strftime('%Y%m%dT%H%M%S')}.json")
    atomic_write_text(out, json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")
    return record


if __name__ == "__main__":
    main()
