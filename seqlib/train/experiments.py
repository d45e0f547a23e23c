"""Small, repeatable experiments that chapters run at CPU size and GPU cells run at full size.

Each function builds a model from `seqlib.nn.heads`, trains it with `seqlib.fit`, selects the epoch
on the validation split (the weights of the best validation epoch are restored) and only then
measures the test split once.

Shape legend: B batch, T time, N examples, C classes.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from seqlib.nn.lstm import init_forget_bias
from seqlib.nn.heads import LastStepRegressor, SequenceClassifier, count_parameters
from seqlib.train.loop import History, _show_progress, accuracy, evaluate, fit


def _fit_select(model, train, val, *, loss_fn, metric, mode, epochs, **fit_kwargs) -> tuple[History, int]:
    """fit() one epoch at a time, keeping the weights of the best validation epoch (1-based)."""
    best, best_state, best_epoch, history = None, None, 0, None
    score = (lambda h: h.val_metric[-1]) if mode == "max" else (lambda h: h.val_loss[-1])
    optimizer = fit_kwargs.pop("optimizer", None) or torch.optim.Adam(model.parameters(), lr=fit_kwargs.pop("lr", 1e-3))
    seed = fit_kwargs.pop("seed", 0)
    bar = tqdm(range(epochs), desc=fit_kwargs.pop("desc", None),
               disable=not _show_progress(fit_kwargs.pop("progress", None)))  # honours TQDM_DISABLE
    for epoch in bar:
        h = fit(model, train, val=val, loss_fn=loss_fn, metric=metric, epochs=1, optimizer=optimizer,
                seed=seed + epoch, progress=False, **fit_kwargs)
        if history is None:
            history = h
        else:
            for key in ("train_loss", "val_loss", "val_metric", "step_loss", "grad_norm"):
                getattr(history, key).extend(getattr(h, key))
            history.seconds += h.seconds
            history.epochs_done += h.epochs_done
        if h.interrupted or h.diverged:
            history.interrupted, history.diverged = h.interrupted, h.diverged
            break
        s = score(h)
        if best is None or (s > best if mode == "max" else s < best):
            best, best_epoch = s, epoch + 1
            best_state = copy.deepcopy(model.state_dict())
        bar.set_postfix(val=f"{s:.4f}", best_epoch=best_epoch)
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history, best_epoch


def train_classifier(kind: str, data, *, hidden_size: int, embed_dim: int = 32, epochs: int = 10,
                     lr: float = 3e-3, batch_size: int = 128, clip: float | None = 1.0, seed: int = 0,
                     impl: str = "seqlib", device=None, progress: bool | None = None) -> dict:
    """Trains a `SequenceClassifier` on a `seqlib.data.names.NamesData`-like object (.train, .val,
    .test as (X (N, T), lengths (N,), y (N,)); .vocab, .classes). Selects the epoch by validation
    accuracy, then evaluates test once. Returns kind, hidden, params, best_epoch, val_acc, test_acc,
    history, model and test predictions (N,)."""
    torch.manual_seed(seed)
    model = SequenceClassifier(kind, len(data.vocab), embed_dim, hidden_size, len(data.classes), impl=impl)
    if device is not None:
        model.to(device)
    history, best_epoch = _fit_select(model, data.train, data.val, loss_fn=F.cross_entropy, metric=accuracy,
                                      mode="max", epochs=epochs, lr=lr, batch_size=batch_size, clip=clip,
                                      seed=seed, progress=progress, desc=f"{kind} H={hidden_size}")
    _, test_acc = evaluate(model, data.test, F.cross_entropy, accuracy)
    model.eval()
    with torch.no_grad():
        dev = next(model.parameters()).device
        pred = model(data.test[0].to(dev), data.test[1]).argmax(-1).cpu()  # (N, C) -> (N,)
    return {"kind": kind, "hidden": hidden_size, "params": count_parameters(model), "best_epoch": best_epoch,
            "val_acc": history.val_metric[best_epoch - 1] if best_epoch else float("nan"), "test_acc": test_acc,
            "history": history, "model": model, "pred": pred}


def train_adding(kind: str, split, *, hidden_size: int, epochs: int = 10, lr: float = 3e-3,
                 batch_size: int = 50, clip: float | None = 1.0, seed: int = 0, impl: str = "seqlib",
                 forget_bias: float | None = 1.0, device=None, progress: bool | None = None) -> dict:
    """Trains a `LastStepRegressor` on an adding-problem `Split` (see `seqlib.data.adding_splits`),
    selects the epoch by validation MSE and evaluates test once. An LSTM's forget-gate bias is set
    to `forget_bias` (None: leave torch's initialisation). Returns kind, hidden, params, best_epoch,
    val_mse, test_mse, history and model."""
    torch.manual_seed(seed)
    model = LastStepRegressor(kind, split.train[0].size(-1), hidden_size, impl=impl)
    if kind == "lstm" and forget_bias is not None:
        init_forget_bias(model.rnn, forget_bias)
    if device is not None:
        model.to(device)
    history, best_epoch = _fit_select(model, split.train, split.val, loss_fn=F.mse_loss, metric=None,
                                      mode="min", epochs=epochs, lr=lr, batch_size=batch_size, clip=clip,
                                      seed=seed, progress=progress, desc=f"{kind} T={split.train[0].size(1)}")
    test_mse, _ = evaluate(model, split.test, F.mse_loss)
    return {"kind": kind, "hidden": hidden_size, "params": count_parameters(model), "best_epoch": best_epoch,
            "val_mse": history.val_loss[best_epoch - 1] if best_epoch else float("nan"), "test_mse": test_mse,
            "history": history, "model": model}
