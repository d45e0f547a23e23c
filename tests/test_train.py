"""The training loop: learning, held-out evaluation, clipping, Ctrl-C, atomic checkpoints, resume."""
import pytest
import torch
from torch import nn

import seqlib
from seqlib.train.loop import History, fit, load_checkpoint


def _data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=g)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]])
    return X, y


def test_fit_learns_and_reports_val():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    h = fit(model, _data(), val=_data(64, 1), loss_fn=nn.functional.mse_loss, epochs=20, lr=0.05,
            progress=False)
    assert h.epochs_done == 20 and len(h.train_loss) == 20 and len(h.val_loss) == 20
    assert h.val_loss[-1] < 0.01 * h.val_loss[0]
    assert len(h.grad_norm) == len(h.step_loss) == 20 * 4


def test_clipping_bounds_the_update():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    X, y = _data()
    h = fit(model, (X, 1000 * y), loss_fn=nn.functional.mse_loss, epochs=1, lr=0.0, clip=1.0,
            progress=False)
    assert max(h.grad_norm) > 1.0  # the recorded norm is the norm before clipping
    grads = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert grads.norm() <= 1.0 + 1e-5  # what the optimizer saw was clipped


def test_divergence_stops_the_run():
    model = nn.Linear(3, 1)
    X, y = _data()
    h = fit(model, (X, y * float("inf")), loss_fn=nn.functional.mse_loss, epochs=3, progress=False)
    assert h.diverged and h.epochs_done == 0


class _InterruptAfter(nn.Module):
    def __init__(self, steps):
        super().__init__()
        self.lin, self.steps, self.calls = nn.Linear(3, 1), steps, 0

    def forward(self, x):
        self.calls += 1
        if self.calls > self.steps:
            raise KeyboardInterrupt
        return self.lin(x)


def test_ctrl_c_keeps_history():
    model = _InterruptAfter(steps=6)  # 4 steps per epoch: interrupted in the second epoch
    h = fit(model, _data(), loss_fn=nn.functional.mse_loss, epochs=5, progress=False)
    assert h.interrupted and h.epochs_done == 1 and len(h.step_loss) == 6


def test_checkpoint_resume_matches_uninterrupted(tmp_path):
    def run(epochs, ckpt):
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        h = fit(model, _data(), loss_fn=nn.functional.mse_loss, epochs=epochs, optimizer=opt,
                checkpoint=ckpt, progress=False)
        return model, h

    full, h_full = run(6, None)
    ckpt = tmp_path / "run.pt"
    run(3, ckpt)  # "interrupted" after 3 epochs, checkpoint on disk
    assert not list(tmp_path.glob("*.tmp")), "the temporary file is renamed away"
    resumed, h_res = run(6, ckpt)  # a fresh model, resumed from the checkpoint
    assert h_res.epochs_done == 6 and len(h_res.train_loss) == 6
    torch.testing.assert_close(resumed.weight, full.weight)
    assert h_res.train_loss == pytest.approx(h_full.train_loss)
    h_loaded, _ = load_checkpoint(ckpt, nn.Linear(3, 1))
    assert isinstance(h_loaded, History) and h_loaded.epochs_done == 6


def test_bad_data_is_named():
    with pytest.raises(ValueError, match="train.fit: every tensor of train needs the same first dimension"):
        fit(nn.Linear(3, 1), (torch.zeros(4, 3), torch.zeros(5, 1)), loss_fn=nn.functional.mse_loss,
            epochs=1, progress=False)


def test_accuracy():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    assert float(seqlib.accuracy(logits, torch.tensor([0, 1, 1]))) == pytest.approx(2 / 3)


def test_progress_follows_tqdm_disable(monkeypatch):
    from seqlib.train.loop import _show_progress
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert _show_progress(None) is False and _show_progress(True) is True
    monkeypatch.delenv("TQDM_DISABLE")
    assert _show_progress(None) is True and _show_progress(False) is False


def test_progress_bar_honours_tqdm_disable(monkeypatch):
    from seqlib.train.loop import progress_bar

    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert progress_bar(range(3)).disable
    monkeypatch.setenv("TQDM_DISABLE", "")
    assert not progress_bar(range(3)).disable
