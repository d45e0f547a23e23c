"""Times seqlib.LSTM's implementations against torch.nn.LSTM, forward and forward+backward.

    python benchmarks/rnn_speed.py                    # CPU, B=32 T=64 I=128 H=256, 1 and 2 threads
    python benchmarks/rnn_speed.py --threads 1        # one thread count
    python benchmarks/rnn_speed.py --device cuda      # adds the GPU size (B=64, T=256, I=256, H=512)

All timing goes through `seqlib.perf.timing.paired` (via `seqlib.perf.lstm_speed.benchmark_lstm`),
the book's protocol for a timing claim: the implementations take turns in a random order for
--rounds (>= 10) rounds, each function at least 10 calls and --min-run-time seconds per round;
a round taken while the load average exceeds the cores is dropped and counted; a multi-thread
run is skipped, with the reason, when the cores are busy. The table shows the median over rounds
with its interquartile range and the median of the per-round ratios to torch.nn.LSTM (oneDNN's
fused LSTM on the CPU, cuDNN on CUDA) with its bootstrap 95% interval; a row "torch.nn.LSTM
(copy)" (the same weights) is the A-vs-A calibration. Every row is sanity-checked
(`lstm_speed.sanity`: forward + backward slower than forward, 2 threads not far slower than 1):
a failed row is marked INVALID, and the JSON keeps its problems. The JSON written to benchmarks/results/rnn_speed_<device>_<date>.json holds every round,
the machine (`seqlib.device.machine_info`), the load average before and after, the counted FLOPs
and the provenance (date, commit, command). On CUDA a row "fast+graph" times impl="fast" captured
with seqlib.nn.lstm_fast.cuda_graphed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

import torch

from seqlib.perf.lstm_speed import SIZES, benchmark_lstm, sanity
from seqlib.perf.timing import describe_ratio, protocol_text
from seqlib.book.records import _commit
from seqlib.io import atomic_write_text
from seqlib.perf.roofline import lstm_flops
from seqlib.device import describe_machine, machine_info


def _load():
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--sizes", default=None, help="comma list of " + ", ".join(SIZES) +
                   " (default: cpu on CPU, cpu,h100 on CUDA)")
    p.add_argument("--impls", default="loop,hoisted,fast,cpp",
                   help="cpp is left out, with the reason, where it cannot be compiled")
    p.add_argument("--rounds", type=int, default=10, help="timing rounds (at least 10)")
    p.add_argument("--min-run-time", type=float, default=0.2,
                   help="seconds per function and round (and at least 10 calls)")
    p.add_argument("--budget", type=float, default=300.0, help="seconds at most per timing")
    p.add_argument("--threads", default="1,2", help="comma list of torch thread counts")
    p.add_argument("--out", default=None, help="JSON path (default benchmarks/results/...)")
    args = p.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    sizes = (args.sizes or ("cpu,h100" if device.type == "cuda" else "cpu")).split(",")
    threads = [int(t) for t in args.threads.split(",")]
    impls = args.impls.split(",")
    if "cpp" in impls:
        from seqlib.nn.lstm_fast import cpp_extension
        mod, why = cpp_extension()
        if mod is None:
            print(f"impl cpp left out: {why}")
            impls.remove("cpp")
    load_before = _load()
    rows, protocol = [], {}
    for s in sizes:
        for n in threads:
            info = {}
            for r in benchmark_lstm(SIZES[s], device, threads=n, rounds=args.rounds,
                                    min_run_time=args.min_run_time, impls=impls, protocol=True,
                                    twin=True, budget_s=args.budget, timing=info):
                B, T, I, H = r["B"], r["T"], r["I"], r["H"]
                r["gflop_fwd"] = lstm_flops(B, T, I, H, backward=False) / 1e9
                r["gflop_fwd_bwd"] = lstm_flops(B, T, I, H) / 1e9
                r["fwd_bwd_interval"] = describe_ratio(r.get("fwd_bwd_ratios", []))
                rows.append(r)
            protocol[f"{s}, {n} threads"] = {k: info.get(k) for k in (
                "rounds", "rounds_asked", "dropped", "dropped_loads", "loads", "skipped",
                "budget_hit", "gave_up", "max_load", "elapsed_s")}
            print(f"{s}, {n} thread(s): {protocol_text(info)}")
    problems = sanity(rows)
    load_after = _load()
    print(f"{describe_machine(machine_info(device))}; load average before {load_before}, "
          f"after {load_after}")
    print("median over the clean rounds, IQR over rounds, ratio = median of per-round ratios to "
          "torch.nn.LSTM [bootstrap 95% interval]")
    print(f"{'impl':>20} {'thr':>3} {'B':>4} {'T':>4} {'I':>4} {'H':>4} {'fwd ms':>9} {'IQR':>7} "
          f"{'ratio':>6} {'fwd+bwd ms':>11} {'IQR':>7} {'ratio':>6} {'GFLOP/s':>8} interval")
    for r in rows:
        if "fwd_bwd_ms" not in r:
            continue
        f = (f"{r['fwd_ms']:9.2f} {r['fwd_iqr_ms']:7.2f} {r['fwd_ratio']:6.2f}" if "fwd_ms" in r
             else f"{'-':>9} {'-':>7} {'-':>6}")
        rate = r["gflop_fwd_bwd"] / r["fwd_bwd_ms"] * 1e3
        iv = r["fwd_bwd_interval"]
        flag = "" if r["valid"] else "  INVALID: " + "; ".join(r["problems"])
        print(f"{r['impl']:>20} {r['threads']:3d} {r['B']:4d} {r['T']:4d} {r['I']:4d} {r['H']:4d} "
              f"{f} {r['fwd_bwd_ms']:11.2f} {r['fwd_bwd_iqr_ms']:7.2f} {r['fwd_bwd_ratio']:6.2f} "
              f"{rate:8.1f} [{iv['lo']:.2f}, {iv['hi']:.2f}] {iv['words']}{flag}")
    now = dt.datetime.now(dt.timezone.utc)
    record = {
        "device": describe_machine(machine_info(device)),
        "device_type": device.type,
        "machine": machine_info(device),
        "torch": torch.__version__,
        "date": now.isoformat(timespec="seconds"),
        "commit": _commit(),
        "command": "python " + " ".join([sys.argv[0]] + (argv if argv is not None else sys.argv[1:])),
        "rounds": args.rounds, "min_run_time": args.min_run_time, "threads": threads,
        "statistic": ("seqlib.perf.timing.paired: random order per round, >= 10 calls per "
                      "function and round, load-gated rounds dropped; ms = median over the clean "
                      "rounds, IQR over rounds; ratio = median over rounds of the per-round ratio "
                      "impl / torch.nn.LSTM, with a bootstrap 95% interval"),
        "protocol": protocol, "sanity_problems": problems,
        "valid": not problems,
        "load_average_before": load_before, "load_average_after": load_after,
        "cpu_count": os.cpu_count(),
        "rows": rows,
    }
    out = Path(args.out) if args.out else (Path(__file__).resolve().parent / "results" /
                                           f"rnn_speed_{device.type}_{now.strftime('%Y%m%dT%H%M%S')}.json")
    atomic_write_text(out, json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")
    return record


if __name__ == "__main__":
    main()
