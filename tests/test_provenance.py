import json

import pytest
import torch

from seqlib import io
from seqlib.book import records


def test_gpu_record_refused_without_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(RuntimeError, match="save_gpu_record: no CUDA device"):
        records.save_gpu_record(tmp_path / "r.json", {"ms": 1.0})
    assert not (tmp_path / "r.json").exists()


def test_load_and_describe(tmp_path):
    assert records.load_record(tmp_path / "missing.json") is None
    assert "No GPU record yet" in records.describe_record(None)
    rec = {"device": "NVIDIA H100", "torch": "2.13.0", "date": "2026-11-24", "commit": "abc",
           "command": "papermill x", "values": {"ms": 1.5}}
    io.atomic_write_text(tmp_path / "r.json", json.dumps(rec))
    loaded = records.load_record(tmp_path / "r.json")
    assert loaded == rec and "NVIDIA H100" in records.describe_record(loaded)
