"""Where to run and how to make a run repeatable."""
from __future__ import annotations

import os
import platform
import random

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
