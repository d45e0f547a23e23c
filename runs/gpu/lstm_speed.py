"""Chapter 7's GPU experiment: the ladder (loop, hoisted, fast), fast + CUDA graph and cuDNN.

    python -m runs.gpu.lstm_speed              # on a CUDA machine: writes the record
    python -m runs.gpu.lstm_speed --dry-run    # tiny size, wherever it runs; writes nothing

At B=64 T=256 I=256 H=512 (seqlib.perf.lstm_speed.SIZES["h100"]), forward and forward + backward of
seqlib.LSTM(impl=...) and torch.nn.LSTM (cuDNN), timed with `seqlib.perf.timing.compare` through
`seqlib.perf.lstm_speed.benchmark_lstm` (rounds taking turns; median of each round; ratios to cuDNN paired
by round). The book's GPU target is fast + CUDA graph within 1.5x of cuDNN. On CUDA it writes
chapters/results/07_fast_rnn/gpu_lstm_speed.json with `seqlib.book.records.save_gpu_record`
({"size", "rounds", "rows", "target_ratio"}), the record chapters/07_fast_rnn.ipynb shows.
"""
from __future__ import annotations

import argparse
import sys

import torch

from seqlib.perf.lstm_speed import SIZES, benchmark_lstm
from seqlib.book.records import results_dir, save_gpu_record
from seqlib.perf.roofline import lstm_flops

RECORD = "gpu_lstm_speed.json"
TARGET_RATIO = 1.5  # fast + CUDA graph / cuDNN, forward + backward


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(prog="python -m runs.gpu.lstm_speed", description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="tiny size; no record written")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--min-run-time", type=float, default=0.2)
    args = p.parse_args(argv)
    cuda = torch.cuda.is_available()
    if not args.dry_run and not cuda:
        raise SystemExit("runs.gpu.lstm_speed: no CUDA device; GPU records come only from GPU runs "
                         "(--dry-run runs a tiny size on the CPU)")
    device = torch.device("cuda" if cuda else "cpu")
    size = SIZES["tiny"] if args.dry_run else SIZES["h100"]
    rounds, mrt = (2, 0.01) if args.dry_run else (args.rounds, args.min_run_time)
    rows = benchmark_lstm(size, device, threads=1, rounds=rounds, min_run_time=mrt,
                          impls=("loop", "hoisted", "fast"))
    for r in rows:
        r["gflop_fwd_bwd"] = lstm_flops(r["B"], r["T"], r["I"], r["H"]) / 1e9
    print(f"{device}: B={size['B']} T={size['T']} I={size['I']} H={size['H']}, {rounds} rounds")
    for r in rows:
        fwd = f"{r['fwd_ms']:9.2f} ms ({r['fwd_ratio']:5.2f}x)" if "fwd_ms" in r else f"{'-':>20}"
        print(f"{r['impl']:>14} fwd {fwd}  fwd+bwd {r['fwd_bwd_ms']:9.2f} ms "
              f"({r['fwd_bwd_ratio']:5.2f}x cuDNN)")
    values = {"size": size, "rounds": rounds, "min_run_time": mrt, "rows": rows,
              "target_ratio": TARGET_RATIO}
    if cuda and not args.dry_run:
        path = results_dir("07_fast_rnn") / RECORD
        save_gpu_record(path, values, command="python -m runs.gpu.lstm_speed " + " ".join(argv))
        print(f"wrote {path}")
    return values


if __name__ == "__main__":
    main()
