"""What every runs/gpu/ script shares: the --dry-run switch, the device, saving the record."""
from __future__ import annotations

import argparse
import time

import torch

from seqlib.device import seed_everything
from seqlib.book.records import save_gpu_record


def parser(prog: str, doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m runs.gpu.{prog}", description=doc.strip().splitlines()[0])
    p.add_argument("--dry-run", action="store_true",
                   help="tiny sizes on the CPU, to check the code; writes no record")
    p.add_argument("--seed", type=int, default=0)
    return p


def device(args) -> torch.device:
    """CUDA for a real run (refused without it: GPU records come only from GPU runs); CPU for --dry-run."""
    if args.dry_run:
        torch.set_num_threads(1)
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise SystemExit(f"{args.prog}: needs a CUDA device (use --dry-run to check the code on a CPU)")
    seed_everything(args.seed)
    return torch.device("cuda")


def finish(args, path, values: dict, argv, t0: float) -> dict | None:
    """Saves the record (real runs only) with the exact command and wall time; prints a summary."""
    wall = time.perf_counter() - t0
    command = f"python -m runs.gpu.{args.prog} " + " ".join(argv)
    if args.dry_run:
        print(f"[dry run] {args.prog}: {wall:.1f}s; would write {path}; values keys: {sorted(values)}")
        return None
    rec = save_gpu_record(path, values, command=command, wall_s=wall)
    print(f"{args.prog}: wrote {path} in {wall:.0f}s on {rec['device']}")
    return rec
