"""The one training loop (`seqlib.train.loop.run`, which `fit` and every long run in runs/ use):
an interrupted run resumes identically, and its checkpoints go through the one atomic writer."""
from __future__ import annotations

import os
import signal

import pytest
import torch
from torch import nn

from seqlib.train import loop
from seqlib.train.loop import fit


def _data(n=48, seed=1):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=g)
    return X, X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(n, 1, generator=g)


class _Net(nn.Module):
    """Dropout draws from the global RNG, so an exact resume must restore it too. `stop_at`: the
    forward call at which a Ctrl-C arrives (SIGINT, as from a terminal or a notebook's interrupt)."""

    def __init__(self, stop_at=None, raise_at=None):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 1))
        self.stop_at, self.raise_at, self.calls = stop_at, raise_at, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls == self.raise_at:
                raise KeyboardInterrupt  # inside a step: that step is lost, the last checkpoint stands
            if self.calls == self.stop_at:
                os.kill(os.getpid(), signal.SIGINT)
        return self.body(x)


def _fit(model, checkpoint=None, epochs=4):
    train, val = _data(), _data(24, seed=2)
    return fit(model, train, val=val, loss_fn=nn.functional.mse_loss, epochs=epochs, batch_size=10,
               clip=1.0, checkpoint=checkpoint, progress=False)  # 5 steps per epoch


def _same(a: nn.Module, b: nn.Module, ha, hb):
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0, msg=k)
    for field in ("train_loss", "val_loss", "step_loss", "grad_norm"):
        assert getattr(ha, field) == getattr(hb, field), field
    assert ha.epochs_done == hb.epochs_done


@pytest.mark.parametrize("stop_at", [7, 10])  # inside the second epoch; at its last step
def test_ctrl_c_then_the_same_call_resumes_identically(tmp_path, stop_at):
    ref = _Net()
    h_ref = _fit(ref)
    ckpt = tmp_path / "fit.pt"
    stopped = _Net(stop_at=stop_at)
    h = _fit(stopped, ckpt)
    assert h.interrupted and len(h.step_loss) == stop_at  # the step in flight finished, then it stopped
    assert torch.load(ckpt, weights_only=False)["loop"]["global_step"] == stop_at
    resumed = _Net()  # a fresh process would start from fresh weights
    h_res = _fit(resumed, ckpt)
    assert not h_res.interrupted and resumed.calls == 20 - stop_at  # continued, did not start over
    _same(resumed, ref, h_res, h_ref)


def test_an_exception_inside_a_step_keeps_the_last_checkpoint_and_resumes_identically(tmp_path):
    ref = _Net()
    h_ref = _fit(ref)
    ckpt = tmp_path / "fit.pt"
    h = _fit(_Net(raise_at=13), ckpt)  # step 13 is half done: the epoch-2 checkpoint (step 10) stands
    assert h.interrupted and h.epochs_done == 2
    assert torch.load(ckpt, weights_only=False)["loop"]["global_step"] == 10
    resumed = _Net()
    h_res = _fit(resumed, ckpt)
    _same(resumed, ref, h_res, h_ref)


def test_more_epochs_extend_a_finished_run(tmp_path):
    ref = _Net()
    h_ref = _fit(ref, epochs=4)
    ckpt = tmp_path / "fit.pt"
    _fit(_Net(), ckpt, epochs=2)
    again = _Net()
    h_again = _fit(again, ckpt, epochs=2)  # finished: nothing trains, the weights come back
    assert again.calls == 0 and h_again.epochs_done == 2
    resumed = _Net()
    h_res = _fit(resumed, ckpt, epochs=4)
    _same(resumed, ref, h_res, h_ref)


def test_checkpoints_go_through_the_atomic_writer(tmp_path, monkeypatch):
    ckpt = tmp_path / "fit.pt"
    _fit(_Net(), ckpt, epochs=1)
    before = torch.load(ckpt, weights_only=False)["loop"]["global_step"]
    writes = []
    real = loop.atomic_torch_save
    monkeypatch.setattr(loop, "atomic_torch_save", lambda obj, path: writes.append(path) or real(obj, path))

    def broken_save(obj, f):  # the disk fills up halfway through the next checkpoint
        with open(f, "wb") as fh:
            fh.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        _fit(_Net(), ckpt, epochs=2)
    monkeypatch.undo()
    assert writes == [ckpt]
    assert torch.load(ckpt, weights_only=False)["loop"]["global_step"] == before  # the old one, whole
    assert [p.name for p in tmp_path.iterdir()] == ["fit.pt"]  # no temporary file left behind


def test_iterables_of_batches_train_one_epoch_per_pass():
    X, y = _data()
    batches = [(X[i:i + 16], y[i:i + 16]) for i in range(0, 48, 16)]

    def unsized():  # a generator's length is unknown: the epoch ends when it does
        yield from batches

    class Loader:  # a DataLoader's shape: sized, iterable
        def __len__(self):
            return len(batches)

        def __iter__(self):
            return iter(batches)

    class Stream:
        def __iter__(self):
            return unsized()

    for data in (Loader(), Stream()):
        h = fit(_Net(), data, val=_data(24, 2), loss_fn=nn.functional.mse_loss, epochs=2, progress=False)
        assert len(h.step_loss) == 6 and len(h.train_loss) == len(h.val_loss) == 2 and h.epochs_done == 2


def test_run_rejects_an_unknown_interrupt_mode():
    with pytest.raises(ValueError, match="on_interrupt must be 'exit' or 'return'"):
        loop.run(object(), epochs=1, on_interrupt="ignore")
