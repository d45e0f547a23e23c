"""runs/char_lm.py (dry run, record, interrupt + resume), CharLM's GRU variant, and the Kneser-Ney
n-gram baseline (seqlib.data.chartext.KneserNey) against a naive implementation."""
import math
import os
import signal
from collections import Counter

import pytest
import torch

from runs import char_lm
from seqlib.book import records
from seqlib.data.chartext import KneserNey, char_text
from seqlib.train.lm import CharLM, generate, stream_loss

TEXT = ("the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat; "
        "then the cat ran. ") * 3 + "xyz q"


def _naive_kn(text, V, n, d):
    """Interpolated Kneser-Ney written out with Counters over strings (the textbook recursion)."""
    grams = {k: Counter(text[i:i + k] for i in range(len(text) - k + 1)) for k in range(1, n + 1)}
    cont = {k: Counter(g[1:] for g in grams[k + 1]) for k in range(1, n)}  # distinct left neighbours

    def p(ctx, c, k):
        if k == 0:
            return 1.0 / V
        table = grams[n] if k == n else cont[k]
        h = ctx[len(ctx) - (k - 1):] if k > 1 else ""
        follow = {g: v for g, v in table.items() if g[:-1] == h}
        s = sum(follow.values())
        if s == 0:
            return p(ctx, c, k - 1)
        return (max(follow.get(h + c, 0) - d[k - 1], 0) + d[k - 1] * len(follow) * p(ctx, c, k - 1)) / s

    return lambda ctx, c: p(ctx, c, n)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_kneser_ney_sums_to_one_and_matches_a_naive_implementation(n):
    vocab = sorted(set(TEXT)) + ["#"]  # '#' never occurs in the text
    stoi = {ch: k for k, ch in enumerate(vocab)}
    ids = torch.tensor([stoi[ch] for ch in TEXT])
    kn = KneserNey(ids, len(vocab), n)
    naive = _naive_kn(TEXT, len(vocab), n, [o[2] for o in kn.orders])
    for ctx in ["the c"[-(n - 1):] if n > 1 else "", "on a "[5 - (n - 1):], "##q#"[4 - (n - 1):], "zzzz"[:n - 1]]:
        p = kn.probs([stoi[ch] for ch in ctx])
        assert abs(float(p.sum()) - 1) < 1e-12 and (p > 0).all(), (ctx, float(p.sum()))
        want = torch.tensor([naive(ctx, ch) for ch in vocab], dtype=torch.float64)
        torch.testing.assert_close(p, want, rtol=1e-12, atol=1e-15)
    # the loss is the mean negative log-probability of each character after its n-1 predecessors
    grams = ids.unfold(0, n, 1)
    assert kn.loss(ids) == pytest.approx(-float(kn.prob(grams).log().mean()))


def test_kneser_ney_beats_add_alpha_and_checks_its_input():
    corpus = char_text(seed=0, docs=[TEXT[i:i + 60] for i in range(0, len(TEXT), 60)] * 2, min_count=1)
    assert corpus.kneser_ney_loss("val", 3) < corpus.ngram_loss("val", 3, 1.0)
    with pytest.raises(ValueError, match="KneserNey: expected n in 1..6"):
        KneserNey(corpus.ids["train"], corpus.vocab_size, 7)
    with pytest.raises(ValueError, match="KneserNey.probs: expected a context of 2 ids"):
        corpus.kneser_ney(3).probs([1])


def test_charlm_gru_variant():
    torch.manual_seed(0)
    m = CharLM(11, 4, 6, kind="gru")
    assert isinstance(m.rnn, torch.nn.GRU)
    logits, state = m.run(torch.randint(0, 11, (2, 5)))
    assert logits.shape == (2, 5, 11) and state.shape == (1, 2, 6)
    assert math.isfinite(stream_loss(m, torch.randint(0, 11, (200,)), streams=4, chunk=7))
    assert generate(m, torch.tensor([1, 2]), 5, 0.8).shape == (5,)
    with pytest.raises(ValueError, match="CharLM: expected kind"):
        CharLM(11, 4, 6, kind="transformer")
    with pytest.raises(ValueError, match="no output tanh"):
        CharLM(11, 4, 6, output_tanh=False, kind="gru")


def _model_values(rec):  # everything but wall-clock times
    return {name: {k: v for k, v in m.items() if k not in ("wall_s", "steps_per_s")}
            for name, m in rec["values"]["models"].items()}


def test_dry_run_writes_a_well_formed_record(tmp_path):
    rec = char_lm.main(["--dry-run", "--out", str(tmp_path)])
    assert rec == records.load_run_record(tmp_path / "char_lm.json") and rec["status"] == "done"
    v = rec["values"]
    assert set(v["baselines"]) == {"unigram", "bigram", "trigram", "5-gram KN"}
    assert all(math.isfinite(b["val_bits"]) and math.isfinite(b["test_bits"]) for b in v["baselines"].values())
    assert set(v["models"]) == set(char_lm.MODELS)
    gru, lstm = v["models"]["gru"], v["models"]["lstm"]
    assert abs(gru["parameters"] - lstm["parameters"]) <= 0.02 * lstm["parameters"]
    for name, m in v["models"].items():
        assert m["status"] == "done" and m["curve"] and m["stopped_by"], name
        assert m["best_val"]["val_bits"] == min(p["val_bits"] for p in m["curve"])
        assert math.isfinite(m["test_bits"]) and m["test_bits"] > 0
        assert set(m["samples"]) == {"0.5", "0.8", "1.0"} and all(m["samples"].values())
        assert rec["evidence"][f"{name} test_bits"] == [m["test_bits"]]
    p = rec["provenance"]
    assert p["python"] and p["data_sources"] and p["split_fingerprint"] and p["threads"] == 1
    assert p["command"].startswith("python -m runs.char_lm --dry-run")


def test_interrupt_and_resume_reproduce_the_uninterrupted_run(tmp_path, monkeypatch):
    ref = char_lm.main(["--dry-run", "--out", str(tmp_path / "ref")])
    step = char_lm.CharLMJob.train_step
    calls = Counter()

    def interrupting(self, epoch, i):
        calls[self.name] += 1
        out = step(self, epoch, i)
        if self.name == "gru" and calls["gru"] == 150:  # inside its first epoch, between evaluations
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C would: the loop stops after this step
        return out

    monkeypatch.setattr(char_lm.CharLMJob, "train_step", interrupting)
    with pytest.raises(SystemExit) as stop:
        char_lm.main(["--dry-run", "--out", str(tmp_path / "b")])
    assert stop.value.code == 130
    part = records.load_run_record(tmp_path / "b" / "char_lm.json")
    assert part["status"] == "interrupted" and part["values"]["models"]["gru"]["status"] == "running"
    assert part["values"]["models"]["lstm"]["status"] == "done"
    calls.clear()
    monkeypatch.setattr(char_lm.CharLMJob, "train_step", lambda self, e, i: calls.update([self.name]) or step(self, e, i))
    rec = char_lm.main(["--dry-run", "--out", str(tmp_path / "b")])
    assert calls["lstm"] == 0  # finished before the interrupt: not retrained
    assert calls["gru"] == ref["values"]["models"]["gru"]["global_step"] - 150  # resumed, not restarted
    assert rec["status"] == "done"
    assert _model_values(rec) == _model_values(ref)


def test_a_blown_up_model_stops_as_diverged():
    corpus = char_lm.dry_corpus()
    args = char_lm.parse(["--dry-run"])
    args.hidden, args.embed, args.batch, args.window, args.eval_streams, args.sample_chars = 8, 4, 2, 8, 2, 5
    job = char_lm.CharLMJob("lstm", corpus, args)
    job.evaluate(0, 1, 1)
    assert not job.diverged and not job.finished() and job.best["at"] is not None
    with torch.no_grad():
        job.model.head.weight.mul_(1e4)  # confident and wrong: far above log2 V bits/char
    job.evaluate(0, 2, 2)
    assert job.diverged and job.finished() and job.curve[-1]["val_bits"] > 2 * job.uniform_bits
    assert job.best["at"]["step"] == 1  # the blown-up evaluation is never the chosen one
