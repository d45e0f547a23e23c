"""Chapter 9 on a GPU: a minGRU layer's forward + backward by the sequential loop, the log-space
scan and the chunked scans, against `torch.nn.GRU` (cuDNN) and a `torch.nn.TransformerEncoderLayer`
of the same width, at growing sequence length T.

    python -m runs.gpu.scan_speed              # on a CUDA machine: writes the record
    python -m runs.gpu.scan_speed --dry-run    # anywhere: a tiny size on the CPU, writes nothing

The functions are `seqlib.perf.scan_speed.speed_candidates`, timed with `seqlib.perf.timing.compare` (taking
turns, `--rounds` rounds, median of each round; CUDA synchronised by torch.utils.benchmark). The
record, `chapters/results/09_linear_rnn/gpu_scan_speed.json`, is written with
`seqlib.book.records.save_gpu_record` (device, torch, CUDA, date, commit, command); it holds the
median per layer and length, every round's times, and, at `--ref-T`, the per-round ratio
(fastest parallel evaluation) / (loop) that chapter 9 judges `rnn.sequential_linear` on with
regime "gpu".
"""
from __future__ import annotations

import argparse
import sys

import torch

from seqlib.book.records import results_dir, save_gpu_record
from seqlib.perf.scan_speed import parallel_over_loop, speed_candidates
from seqlib.perf.timing import compare
from seqlib.device import machine_info

RECORD = "gpu_scan_speed.json"


def measure(lengths, batch: int, width: int, rounds: int, device, min_run_time: float) -> dict:
    rows, rounds_ms = [], {}
    for T in lengths:
        res = compare(speed_candidates(batch, T, width, device=device), threads=1, rounds=rounds,
                      min_run_time=min_run_time, device=device)
        rows.append({"T": T, **{k: v["median_ms"] for k, v in res["times"].items()}})
        rounds_ms[str(T)] = {k: v["rounds_ms"] for k, v in res["times"].items()}
        print(f"T={T}: " + ", ".join(f"{k} {v['median_ms']:.3g} ms" for k, v in res["times"].items()),
              flush=True)
    return {"rows": rows, "rounds_ms": rounds_ms}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dry-run", action="store_true", help="tiny size on the CPU; writes nothing")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 2048, 8192])
    p.add_argument("--ref-T", type=int, default=2048, help="the length the claim is judged at")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--min-run-time", type=float, default=0.1)
    args = p.parse_args(argv)
    if args.dry_run:
        device, lengths, batch, width, rounds, ref = "cpu", [8, 16], 2, 8, 3, 16
        min_run_time = 0.001
    else:
        if not torch.cuda.is_available():
            raise SystemExit("runs.gpu.scan_speed: expected a CUDA device (or --dry-run)")
        device, lengths, batch, width = "cuda", args.lengths, args.batch, args.width
        rounds, ref, min_run_time = args.rounds, args.ref_T, args.min_run_time
        if ref not in lengths:
            raise SystemExit(f"runs.gpu.scan_speed: --ref-T {ref} must be one of --lengths {lengths}")
    values = {"batch": batch, "width": width, "lengths": lengths, "rounds": rounds, "ref_T": ref,
              **measure(lengths, batch, width, rounds, device, min_run_time)}
    values["parallel_over_loop_at_ref_T"] = parallel_over_loop(values["rounds_ms"][str(ref)])
    values["machine"] = machine_info(device)
    print("fastest parallel / loop at T=%d, per round:" % ref,
          ", ".join(f"{r:.3g}" for r in values["parallel_over_loop_at_ref_T"]))
    if not args.dry_run:
        path = results_dir("09_linear_rnn") / RECORD
        save_gpu_record(path, values, command="python -m runs.gpu.scan_speed " + " ".join(argv or sys.argv[1:]))
        print("wrote", path)
    return values


if __name__ == "__main__":
    main(sys.argv[1:])
