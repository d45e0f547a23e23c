"""Runs every GPU experiment in runs/gpu/ and so writes every GPU record the chapters show.

    python -m runs.gpu_records             # on a CUDA machine (make gpu-records)
    python -m runs.gpu_records --dry-run   # each at tiny size on the CPU, writes nothing (make gpu-records-dry)
    python -m runs.gpu_records --only ch06_g2p_full ch08_transformer_speed

Discovers each module of the `runs.gpu` package whose name does not start with "_"; each has
`main(argv)` accepting `--dry-run`. The modules run one after another in name order; a failure is
reported and the others still run; the exit status is 1 if any failed. Together they are sized to
finish in about ten minutes on one H100 or H200.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback

import torch

from . import gpu as gpu_pkg


def discover() -> list[str]:
    """Names of the runnable modules in runs/gpu/, in order."""
    return sorted(m.name for m in pkgutil.iter_modules(gpu_pkg.__path__) if not m.name.startswith("_"))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(prog="python -m runs.gpu_records", description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU; no records written")
    p.add_argument("--only", nargs="+", default=None, help="run only these modules")
    args = p.parse_args(argv)
    names = discover()
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            raise SystemExit(f"runs.gpu_records: no module {unknown} in runs/gpu/ (have {names})")
        names = [n for n in names if n in args.only]
    if not args.dry_run and not torch.cuda.is_available():
        raise SystemExit("runs.gpu_records: no CUDA device; GPU records come only from GPU runs "
                         "(--dry-run checks the scripts on the CPU)")
    results = {}
    for name in names:
        t0 = time.perf_counter()
        print(f"=== runs.gpu.{name}{' --dry-run' if args.dry_run else ''}", flush=True)
        try:
            module = importlib.import_module(f"runs.gpu.{name}")
            module.main(["--dry-run"] if args.dry_run else [])
            results[name] = ("ok", time.perf_counter() - t0)
        except Exception:  # noqa: BLE001 - report and go on with the other experiments
            traceback.print_exc()
            results[name] = ("FAILED", time.perf_counter() - t0)
    print("\nrun                          status    seconds")
    for name, (status, s) in results.items():
        print(f"{name:28s} {status:9s} {s:7.1f}")
    print(f"total {sum(s for _, s in results.values()):.0f}s")
    return 1 if any(st != "ok" for st, _ in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
