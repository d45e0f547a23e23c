"""The adding problem under one protocol, for every recurrent model that chapters 1 and 2 compare.

Chapter 1 (the vanilla RNN) and chapter 2 (the LSTM) judge their adding-problem claims with the
same function and the same :class:`AddingProtocol`, so "the RNN fails where the LSTM succeeds"
compares models, not recipes. One run: a `LastStepRegressor` (one recurrent layer read by a
linear layer at the last step) trains for `steps` optimiser steps, each on a batch of fresh
sequences (no sequence is seen twice), with gradient clipping; nothing is selected on validation
data; the test split (another seed) is scored once, next to the predict-the-mean baseline.

Shape legend: B batch, T time, N examples.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import torch.nn.functional as F

from seqlib.data import adding_splits
from seqlib.device import seed_everything
from seqlib.nn.heads import LastStepRegressor
from seqlib.nn.lstm import init_forget_bias
from seqlib.train.loop import evaluate, fit


@dataclasses.dataclass(frozen=True)
class AddingProtocol:
    """The budget and recipe of one adding-problem run (the same for every model)."""
    hidden: int = 32
    steps: int = 1000           # optimiser steps, each on `batch` fresh training sequences
    batch: int = 64
    lr: float = 1e-2            # Adam
    clip: float | None = 1.0    # max gradient norm
    forget_bias: float = 1.0    # an LSTM's forget-gate bias at the start
    n_val: int = 500            # recorded, selects nothing
    n_test: int = 1000

    def describe(self) -> str:
        clip = "no clipping" if self.clip is None else f"clip {self.clip:g}"
        return (f"H = {self.hidden}, {self.steps} Adam steps of {self.batch} fresh sequences, "
                f"lr {self.lr:g}, {clip}, LSTM forget bias {self.forget_bias:g}, "
                f"{self.n_test} test sequences")


PROTOCOL = AddingProtocol()


def train_adding_run(kind: str, T: int, seed: int, protocol: AddingProtocol = PROTOCOL, *,
                     optimizer: Callable | None = None, init: Callable | None = None,
                     clip: float | None | str = "protocol", impl: str = "torch",
                     device=None, progress: bool | None = None) -> dict:
    """Trains one `kind` ("rnn", "lstm", "gru") on the adding problem at length `T` under
    `protocol`, with `seed` for the data, the initialisation and the batch order.

    `optimizer(params) -> torch.optim.Optimizer` replaces Adam(protocol.lr); `init(model)` runs
    after the default initialisation (e.g. to rescale W_hh); `clip` overrides protocol.clip
    (None: no clipping). ``progress``: a tqdm bar over the steps (None: unless the environment
    sets TQDM_DISABLE=1, as `seqlib.fit`). A run whose loss becomes inf or NaN stops (``diverged``); its test MSE
    is then NaN. Returns kind, T, seed, model, history, test_mse, baseline, ratio (test MSE /
    baseline) and diverged."""
    if T < 2:
        raise ValueError(f"train_adding_run: expected T >= 2, got {T}")
    if protocol.steps < 1:
        raise ValueError(f"train_adding_run: expected at least one step, got {protocol.steps}")
    split = adding_splits(T, n_train=protocol.steps * protocol.batch, n_val=protocol.n_val,
                          n_test=protocol.n_test, seed=seed)
    seed_everything(seed)
    model = LastStepRegressor(kind, split.train[0].size(-1), protocol.hidden, impl=impl)
    if kind == "lstm":
        init_forget_bias(model, protocol.forget_bias)
    if init is not None:
        init(model)
    opt = optimizer(model.parameters()) if optimizer is not None else None
    hist = fit(model, split.train, val=split.val, loss_fn=F.mse_loss, epochs=1, optimizer=opt,
               lr=protocol.lr, batch_size=protocol.batch,
               clip=protocol.clip if clip == "protocol" else clip, seed=seed, device=device,
               progress=progress, desc=f"{kind} T={T} seed {seed}")
    if hist.diverged:
        test_mse = float("nan")
    else:
        test_mse, _ = evaluate(model, split.test, F.mse_loss, device=device)
    return {"kind": kind, "T": T, "seed": seed, "model": model, "history": hist,
            "test_mse": test_mse, "baseline": split.baseline,
            "ratio": test_mse / split.baseline, "diverged": hist.diverged}


def ratio_or_baseline(run: dict) -> float:
    """A run's test MSE / baseline, with a diverged run counted as the baseline (1.0): a model
    whose weights went to inf or NaN is scored no better than predicting the mean."""
    r = run["ratio"]
    return 1.0 if run["diverged"] or r != r else float(r)
