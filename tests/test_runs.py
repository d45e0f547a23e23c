"""The long-run machinery: resume reproduces the uninterrupted run exactly, checkpoints are written
atomically, records carry their provenance; PairBatches trims and buckets without losing data."""
import json
import os
import signal

import pytest
import torch

from runs import _runner
from seqlib.book import records
from seqlib.tokens import PAD
from seqlib.data.pairs import PairBatches, make_pair_data, trim_batch


class TinyJob:
    """A small regression trained with shuffled batches, dropout (global RNG) and best-on-val state."""

    def __init__(self, fail_at=None, interrupt_at=None):
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Dropout(0.2),
                                         torch.nn.Linear(8, 1))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-2)
        g = torch.Generator().manual_seed(1)
        self.X, self.y = torch.randn(40, 3, generator=g), torch.randn(40, 1, generator=g)
        self.gen = torch.Generator().manual_seed(2)
        self.order, self.curve, self.best = None, [], None
        self.steps_per_epoch = 5
        self.fail_at, self.interrupt_at, self.calls = fail_at, interrupt_at, 0

    def start_epoch(self, epoch):
        self.order = torch.randperm(40, generator=self.gen).split(8)

    def train_step(self, epoch, i):
        self.calls += 1
        step = epoch * self.steps_per_epoch + i + 1
        if self.fail_at is not None and step == self.fail_at:
            raise RuntimeError("simulated crash")
        idx = self.order[i]
        self.opt.zero_grad()
        loss = torch.nn.functional.mse_loss(self.model(self.X[idx]), self.y[idx])
        loss.backward()
        self.opt.step()
        if self.interrupt_at is not None and step == self.interrupt_at:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C would: the loop stops after this step
        return loss.item()

    def evaluate(self, epoch, i, global_step):
        with torch.no_grad():
            v = torch.nn.functional.mse_loss(self.model.eval()(self.X), self.y).item()
        self.model.train()
        self.curve.append((global_step, v))
        if self.best is None or v < self.best[1]:
            self.best = (global_step, v)

    def finished(self):
        return False

    def finalize(self):
        return {}

    def state_dict(self):
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "gen": self.gen.get_state(),
                "order": self.order, "curve": self.curve, "best": self.best}

    def load_state_dict(self, s):
        self.model.load_state_dict(s["model"])
        self.opt.load_state_dict(s["opt"])
        self.gen.set_state(s["gen"])
        self.order, self.curve, self.best = s["order"], s["curve"], s["best"]

    def record(self):
        return {"curve": self.curve, "best": self.best}, {"units": ["seed 0"], "best_val": [self.best[1]]}


def _run(job, tmp_path, **kw):
    return _runner.run(job, epochs=4, checkpoint=tmp_path / "ckpt.pt", record=tmp_path / "rec.json",
                       name="tiny", progress=False, evals_per_epoch=2, **kw)


def _weights(job):
    return {k: v.clone() for k, v in job.model.state_dict().items()}


def test_resume_after_crash_reproduces_the_uninterrupted_run(tmp_path):
    ref = TinyJob()
    _run(ref, tmp_path / "ref")
    crashed = TinyJob(fail_at=13)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run(crashed, tmp_path / "b", checkpoint_every_steps=3)  # last checkpoint: step 12
    state = torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)
    assert state["loop"]["global_step"] == 12
    assert json.loads((tmp_path / "b" / "rec.json").read_text())["status"] == "running"
    resumed = TinyJob()
    out = _run(resumed, tmp_path / "b", checkpoint_every_steps=3)
    assert resumed.calls == 20 - 12  # it continued, it did not start over
    for k, v in _weights(ref).items():
        torch.testing.assert_close(resumed.model.state_dict()[k], v, rtol=0, atol=0)
    assert resumed.curve == ref.curve and resumed.best == ref.best
    assert out["global_step"] == 20
    rec = records.load_run_record(tmp_path / "b" / "rec.json")
    assert rec["status"] == "done" and rec["provenance"]["resumed_at_steps"] == [12]


def test_ctrl_c_checkpoints_the_current_step_and_resume_is_exact(tmp_path):
    ref = TinyJob()
    _run(ref, tmp_path / "ref")
    with pytest.raises(SystemExit) as stop:
        _run(TinyJob(interrupt_at=7), tmp_path / "b")
    assert stop.value.code == 130
    assert torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)["loop"]["global_step"] == 7
    assert records.load_run_record(tmp_path / "b" / "rec.json")["status"] == "interrupted"
    resumed = TinyJob()
    _run(resumed, tmp_path / "b")
    assert resumed.calls == 13
    for k, v in _weights(ref).items():
        torch.testing.assert_close(resumed.model.state_dict()[k], v, rtol=0, atol=0)
    assert resumed.curve == ref.curve


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    _runner.atomic_torch_save({"a": torch.ones(2)}, path)

    def broken_save(obj, f):
        with open(f, "wb") as fh:
            fh.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        _runner.atomic_torch_save({"a": torch.zeros(2)}, path)
    monkeypatch.undo()
    torch.testing.assert_close(torch.load(path, weights_only=True)["a"], torch.ones(2))  # old one intact
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # no temporary file left behind


def test_record_provenance_fields(tmp_path):
    fp = records.split_fingerprint(["b", "a", "c"])
    assert fp == records.split_fingerprint(["c", "b", "a"]) != records.split_fingerprint(["a", "b"])
    rec = records.save_run_record(tmp_path / "r.json", {"wer": 0.3}, evidence={"wer": [0.3]},
                                  command="python -m runs.x --y", wall_s=12.3, split_fingerprint=fp)
    loaded = records.load_run_record(tmp_path / "r.json")
    assert loaded == json.loads(json.dumps(rec))
    p = loaded["provenance"]
    for key in ("device", "cpu", "threads", "cores", "torch", "date", "commit", "command", "wall_s",
                "split_fingerprint", "machine"):
        assert p[key] is not None, key
    assert p["command"] == "python -m runs.x --y" and p["threads"] == torch.get_num_threads()
    assert p["torch"] == torch.__version__ and "(3 ids)" in p["split_fingerprint"]
    label = records.describe_run_record(loaded)
    assert p["cpu"] in label and "python -m runs.x --y" in label and fp in label
    assert records.load_run_record(tmp_path / "missing.json") is None
    assert "No record" in records.describe_run_record(None)
    assert "No GPU record yet" in records.describe_record(None)
    assert loaded["kind"] == "run"  # a CPU run is never labelled as a GPU record
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            records.save_run_record(tmp_path / "g.json", {}, require_cuda=True)
        assert not (tmp_path / "g.json").exists()


def _pairs(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    items = []
    for i in range(n):
        ls, lt = int(torch.randint(1, 12, (1,), generator=g)), int(torch.randint(1, 15, (1,), generator=g))
        src = "".join("abcde"[int(j)] for j in torch.randint(0, 5, (ls,), generator=g))
        tgt = ["P" + str(int(j)) for j in torch.randint(0, 6, (lt,), generator=g)]
        items.append((src, [tgt], [tgt]))
    items.append(("abcdeabcdeabcdeabcde", [["P1"] * 30], [["P1"] * 30]))  # one long outlier
    return make_pair_data("toy", {"train": items, "val": items[:5], "test": items[:5]})


def test_pair_batches_trim_bucket_and_cover_every_example_once():
    data = _pairs()
    full = data.train
    pb = PairBatches(full, 16, seed=0)
    assert len(pb) == -(-len(full[0]) // 16)
    seen, pad_full, pad_trim = [], 0, 0
    for idx in pb.batches():
        src, L, ti, to = pb.batch(idx)
        seen += idx.tolist()
        assert src.size(1) == int(L.max()) and to.size(1) == int((to != PAD).sum(1).max())
        torch.testing.assert_close(src, full[0][idx][:, :src.size(1)])
        assert (full[0][idx][:, src.size(1):] == PAD).all() and (full[3][idx][:, to.size(1):] == PAD).all()
        torch.testing.assert_close(ti, full[2][idx][:, :to.size(1)])
        pad_full += int((full[3][idx] == PAD).sum())
        pad_trim += int((to == PAD).sum())
    assert sorted(seen) == list(range(len(full[0])))
    assert pad_trim < pad_full / 4  # bucketing + trimming removes most padding
    a, b = [x.tolist() for x in PairBatches(full, 16, seed=3).batches()], [x.tolist() for x in pb.batches()]
    assert a != b  # each pass (and seed) draws a new order
    fixed = PairBatches(full, 16, shuffle=False, bucket=False)
    assert torch.cat(fixed.batches()).tolist() == list(range(len(full[0])))
    with pytest.raises(TypeError, match="PairBatches"):
        PairBatches(full[:2], 16)


def test_trimmed_batches_give_the_same_loss_as_padded_ones():
    from seqlib.nn.seq2seq import Seq2Seq, seq2seq_loss
    data = _pairs(40)
    torch.manual_seed(0)
    model = Seq2Seq(len(data.src_vocab), len(data.tgt_vocab), 8, 12, impl="torch").double()
    idx = torch.arange(10)
    padded = tuple(t[idx] for t in data.train)
    trimmed = trim_batch(*padded)
    assert trimmed[2].size(1) < padded[2].size(1)
    l_pad = seq2seq_loss(model(*padded[:3]), padded[3])
    l_trim = seq2seq_loss(model(*trimmed[:3]), trimmed[3])
    torch.testing.assert_close(l_pad, l_trim)


def test_gpu_records_discovers_every_gpu_script_and_dry_runs_write_nothing(tmp_path, monkeypatch):
    import importlib

    from runs import gpu_records
    names = gpu_records.discover()
    for n in ("ch01_rnn_adding", "ch02_lstm_adding", "ch03_gru", "ch04_birnn_hyphenation", "ch05_textcnn_speed",
              "ch06_g2p_full", "ch08_transformer_speed"):
        assert n in names
        assert callable(importlib.import_module(f"runs.gpu.{n}").main)
    assert not any(n.startswith("_") for n in names)
    saved = []
    monkeypatch.setattr("seqlib.book.records.save_gpu_record", lambda *a, **k: saved.append(a))
    assert gpu_records.main(["--dry-run", "--only", "ch08_transformer_speed"]) == 0
    assert saved == []
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match="no CUDA device"):
            gpu_records.main(["--only", "ch08_transformer_speed"])


def test_save_and_load_seq2seq_round_trip(tmp_path):
    from seqlib.nn.seq2seq import Seq2Seq, load_seq2seq, save_seq2seq
    data = _pairs(30)
    config = {"src_vocab": len(data.src_vocab), "tgt_vocab": len(data.tgt_vocab), "embed_dim": 8,
              "hidden_size": 12, "attention": True, "kind": "gru", "impl": "torch"}
    torch.manual_seed(0)
    model = Seq2Seq(**config).eval()
    save_seq2seq(tmp_path / "m.pt", model, config, data.src_vocab, data.tgt_vocab, meta={"val_WER": 0.5})
    loaded, info = load_seq2seq(tmp_path / "m.pt")
    X, L = data.encode(data.sources["train"][:5])
    torch.testing.assert_close(loaded.greedy(X, L), model.greedy(X, L))
    assert info["src_vocab"] == data.src_vocab and info["meta"]["val_WER"] == 0.5


def test_seq2seq_dropout_acts_only_in_training_and_round_trips(tmp_path):
    from seqlib.nn.seq2seq import Seq2Seq, load_seq2seq, save_seq2seq
    data = _pairs(30)
    config = {"src_vocab": len(data.src_vocab), "tgt_vocab": len(data.tgt_vocab), "embed_dim": 8,
              "hidden_size": 12, "attention": True, "kind": "gru", "impl": "torch", "dropout": 0.5}
    torch.manual_seed(0)
    model = Seq2Seq(**config)
    plain = Seq2Seq(**{**config, "dropout": 0.0})
    plain.load_state_dict(model.state_dict())  # dropout adds no parameters
    X, L = data.encode(data.sources["train"][:5])
    y = torch.ones(5, 4, dtype=torch.long)
    model.eval(), plain.eval()
    torch.testing.assert_close(model(X, L, y), plain(X, L, y))  # off in eval mode
    model.train()
    assert not torch.allclose(model(X, L, y), plain(X, L, y))  # on while training
    save_seq2seq(tmp_path / "m.pt", model, config, data.src_vocab, data.tgt_vocab)
    loaded, info = load_seq2seq(tmp_path / "m.pt")
    assert info["config"]["dropout"] == 0.5 and loaded.drop.p == 0.5
    for bad in (1.0, -0.1, True, "0.2"):
        with pytest.raises(ValueError, match="Seq2Seq: expected dropout"):
            Seq2Seq(**{**config, "dropout": bad})


RESULTS = records.repo_root() / "chapters" / "results"
RUN_RECORDS = sorted(p for p in RESULTS.glob("*/*.json") if p.parent.name != "claims"
                     and (json.loads(p.read_text()) or {}).get("kind") == "run")


def test_committed_run_records_are_finished():
    """A committed run record is a result the book shows: it must say "done", never "running"
    (a running record may lag its model file, and nothing it shows is final)."""
    assert RUN_RECORDS, f"no run records under {RESULTS}"
    for path in RUN_RECORDS:
        rec = records.load_run_record(path)
        assert rec["status"] == "done", f"{path.relative_to(RESULTS)}: status {rec['status']!r}"


@pytest.mark.parametrize("name", ["g2p_attention", "g2p_attention_cont", "g2p_attention_h256",
                                  "g2p_fixed_context"])
def test_committed_g2p_model_matches_its_record(name):
    from seqlib.nn.seq2seq import load_seq2seq
    folder = RESULTS / "06_attention"
    rec = records.load_run_record(folder / f"{name}.json")
    assert rec is not None, f"no record {name}.json: the chapter loads it"
    model_file = folder / rec["values"]["best_model_file"]
    assert model_file.exists(), f"{name}: the record names {model_file.name}, which is not committed"
    assert rec["status"] == "done"
    model, info = load_seq2seq(model_file)
    assert info["meta"]["split"] == rec["provenance"]["split_fingerprint"]
    assert sum(p.numel() for p in model.parameters()) == rec["values"]["model"]["parameters"]
    assert info["meta"]["val_WER"] == pytest.approx(rec["values"]["best_val"]["val_WER"])
    assert model_file.stat().st_size < 8e6  # the largest, H = 256, is 6.6 MB


def test_steps_to_solve_models_are_matched_in_parameters():
    import types

    from runs.steps_to_solve import MODELS, build, width_of
    from seqlib.nn.heads import count_parameters

    args = types.SimpleNamespace(hidden=32, copy_len=5)
    for task in ("adding", "copy"):
        target = count_parameters(build(task, "lstm", 32, 1, 5))
        for name, (kind, _) in MODELS.items():
            n = count_parameters(build(task, kind, width_of(task, name, args), 1, 5))
            assert abs(n - target) / target < 0.06, (task, name, n, target)


def test_steps_to_solve_runs_reads_the_parts_as_one(tmp_path, monkeypatch):
    from seqlib.book import records as rec

    monkeypatch.setattr(rec, "results_dir", lambda chapter: tmp_path)

    def part(name, lengths, models, cells):
        settings = {"lengths": lengths, "models": models, "cap": 100, "lr": 0.01}
        summary = [{"task": c["task"], "T": c["T"], "model": c["model"], "seeds": 1} for c in cells]
        rec.save_run_record(tmp_path / f"{name}.json", {"settings": settings, "cells": cells,
                                                        "summary": summary},
                            name=name, status="done", command="test")

    assert rec.steps_to_solve_runs()["records"] == []
    part("steps_to_solve", [10, 30], ["rnn", "gru"], [{"task": "adding", "T": 10, "model": "rnn", "seed": 0, "steps": 50}])
    part("steps_to_solve_long", [200], ["gru", "transformer"],
         [{"task": "copy", "T": 200, "model": "transformer", "seed": 0, "steps": None}])
    out = rec.steps_to_solve_runs()
    assert len(out["records"]) == 2 and len(out["cells"]) == 2 and len(out["summary"]) == 2
    assert out["lengths"] == [10, 30, 200] and out["models"] == ["rnn", "gru", "transformer"]
    assert out["cap"] == 100


def test_steps_to_solve_runs_pools_the_seeds_of_parts_and_refuses_a_cell_twice(tmp_path, monkeypatch):
    from seqlib.book import records as rec

    monkeypatch.setattr(rec, "results_dir", lambda chapter: tmp_path)

    def part(name, seeds, steps):
        cells = [{"task": "copy", "T": 100, "model": "gru", "seed": s, "steps": st}
                 for s, st in zip(seeds, steps)]
        rec.save_run_record(tmp_path / f"{name}.json",
                            {"settings": {"lengths": [100], "models": ["gru"], "cap": 300},
                             "cells": cells, "summary": rec.summarize_steps_to_solve(cells, 300)},
                            name=name, status="done", command="test")

    part("steps_to_solve_copy100b", [0, 1, 2], [100, None, 200])
    part("steps_to_solve_copy100_s34", [3, 4], [None, None])
    (row,) = rec.steps_to_solve_runs()["summary"]
    assert (row["seeds"], row["solved"]) == (5, 2)
    assert row["median_censored"] and row["median_steps"] is None  # 2 of 5 solved: no median
    part("steps_to_solve_copy100_s34", [3, 4], [100, 100])
    (row,) = rec.steps_to_solve_runs()["summary"]
    assert (row["solved"], row["median_steps"], row["min_steps"], row["max_steps"]) == (4, 100, 100, None)
    part("steps_to_solve_copy100_s34", [2, 3], [100, 100])  # seed 2 is already in another part
    with pytest.raises(ValueError, match="steps_to_solve_runs: cell"):
        rec.steps_to_solve_runs()


def test_parity_stacked_dry_run_writes_a_finished_record(monkeypatch):
    from runs import parity_stacked
    from seqlib.nn.heads import count_parameters

    cells = parity_stacked.main(["--dry-run"])
    assert {c["model"] for c in cells} == set(parity_stacked.MODELS)
    assert all(len(c["per_step_accuracy"]) == 16 and 0 <= c["last_step"] <= 1 for c in cells)
    w = parity_stacked.widths(32)  # every model near the GRU's parameter count
    n = {m: count_parameters(parity_stacked.build(m, w[m])) for m in parity_stacked.MODELS}
    assert all(abs(v - n["gru"]) / n["gru"] < 0.08 for v in n.values()), n  # integer widths


def test_g2p_dry_run_continues_from_saved_weights_and_refuses_a_mismatch(tmp_path):
    from runs import g2p

    g2p.main(["--dry-run", "--name", "first", "--out-dir", str(tmp_path)])
    saved = tmp_path / "first_best.pt"
    out = g2p.main(["--dry-run", "--name", "second", "--init-from", str(saved), "--stop-patience", "1",
                    "--out-dir", str(tmp_path)])
    init = out["values"]["training"]["initialised_from"]
    assert init["file"] == "first_best.pt" and len(init["sha256"]) == 16
    assert "1 evaluations without a better val WER" in out["values"]["training"]["stop"]
    best = out["values"]["best_val"]  # the starting weights were a candidate
    assert best["val_WER"] <= init["meta"]["val_WER"]
    assert (tmp_path / out["values"]["best_model_file"]).exists()
    t = out["values"]["test"]["beam4"]
    pw = t["per_word"]
    assert len(pw["edits"]) == len(pw["ref_len"]) == t["test_words"]
    assert abs(sum(e > 0 for e in pw["edits"]) / t["test_words"] - t["test_WER"]) < 1e-12
    assert abs(sum(pw["edits"]) / sum(pw["ref_len"]) - t["test_PER"]) < 1e-12
    with pytest.raises(FileNotFoundError, match="runs.g2p: --init-from"):
        g2p.main(["--dry-run", "--init-from", str(tmp_path / "missing.pt"), "--out-dir", str(tmp_path)])
    with pytest.raises(ValueError, match="runs.g2p: --init-from expected a model with this run's config"):
        g2p.main(["--dry-run", "--no-attention", "--init-from", str(saved), "--out-dir", str(tmp_path)])
