"""runs/gpu/lstm_speed.py: the dry run works on the CPU and writes nothing; a real run needs CUDA."""
import pytest
import torch

from runs.gpu import lstm_speed


def test_dry_run_times_the_ladder_and_writes_no_record(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    values = lstm_speed.main(["--dry-run"])
    assert [r["impl"] for r in values["rows"]][-1] == "torch.nn.LSTM"
    assert {"loop", "hoisted", "fast"} <= {r["impl"] for r in values["rows"]}
    assert all(r["fwd_bwd_ms"] > 0 for r in values["rows"])
    assert not list(tmp_path.rglob("*.json"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without CUDA")
def test_real_run_refuses_without_cuda():
    with pytest.raises(SystemExit, match="no CUDA device"):
        lstm_speed.main([])
