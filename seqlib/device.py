"""Where to run and how to make a run repeatable."""
from __future__ import annotations

import contextlib
import functools
import os
import platform
import random
import re

import numpy as np
import torch


def get_device(prefer: str | None = None) -> torch.device:
    """CUDA when it is available (or `prefer`, e.g. 'cpu'), else the CPU."""
    if prefer is not None:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe_device(device: torch.device | str | None = None) -> str:
    """One line for chapter output, e.g. 'cpu (2 threads, x86_64), torch 2.13.0'."""
    device = torch.device(device) if device is not None else get_device()
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return f"cuda: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}"
    return f"cpu ({torch.get_num_threads()} threads, {platform.machine()}), torch {torch.__version__}"


def seed_everything(seed: int) -> None:
    """Seeds Python's, NumPy's and torch's generators (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)


@contextlib.contextmanager
def use_threads(n: int):
    """Runs the block with torch on ``n`` CPU threads, then restores the previous count."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"use_threads: expected a thread count >= 1, got {n!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)


def set_threads(n: int | None = 1) -> int:
    """Sets torch's CPU thread count for the rest of a chapter and returns it.

    The book's models are small: a (B, H) x (H, 4H) product with H = 64 is microseconds of work,
    so a second thread buys little and, on a machine whose other core is busy, costs many-fold
    (threads wait on each other at every step). Chapters therefore call ``set_threads(1)`` (the
    default) for training; a timing cell pins its own count through `seqlib.perf.timing.benchmark`.
    ``None`` keeps torch's default (all cores).
    """
    if n is None:
        return torch.get_num_threads()
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_threads: expected a thread count >= 1 or None, got {n!r}")
    torch.set_num_threads(n)
    return n


# --- where a measurement ran ---------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=None)
def _builds() -> dict:
    cfg = torch.__config__.show()
    out = {}
    for key, pat in (("onednn", r"MKL-DNN v([\w.]+)|oneDNN v([\w.]+)"),
                     ("mkl", r"Intel\(R\) (?:oneAPI )?Math Kernel Library Version ([\w.]+)"),
                     ("openmp", r"OpenMP (\d+)")):
        m = re.search(pat, cfg)
        out[key] = next((g for g in m.groups() if g), None) if m else None
    return out


def machine_info(device: torch.device | str | None = None) -> dict:
    """Where a measurement ran: CPU model, instruction set, torch threads, cores, torch and
    oneDNN/MKL builds, and the GPU's name when `device` is CUDA."""
    info = {
        "cpu": _cpu_model(),
        "isa": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        **_builds(),
    }
    device = torch.device(device) if device is not None else None
    if device is not None and device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def describe_machine(info: dict | None = None) -> str:
    """One line: 'Intel Xeon ... (AVX2), 1 of 2 cores, torch 2.13.0, oneDNN 3.x'."""
    i = info or machine_info()
    s = f"{i['cpu']} ({i['isa']}), {i['threads']} torch thread(s) of {i['cores']} cores, torch {i['torch']}"
    if i.get("onednn"):
        s += f", oneDNN {i['onednn']}"
    if i.get("gpu"):
        s = f"{i['gpu']} (CUDA {i.get('cuda')}); host {s}"
    return s
