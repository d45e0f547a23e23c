"""seqlib.train.g2p_eval (aligner, baseline, twins, agreement measures), the Transformer decoder
control and the timing closures of seqlib.train.seq2seq, and the committed per-word record."""
import json
from pathlib import Path

import torch

from seqlib.nn.seq2seq import Seq2Seq, TransformerDecoderModel
from seqlib.train import g2p_eval as ge
from seqlib.train.seq2seq import train_step_fn, transformer_greedy_steps

ROOT = Path(__file__).resolve().parents[1]

PAIRS = [("cat", ["K", "AE", "T"]), ("bat", ["B", "AE", "T"]), ("tab", ["T", "AE", "B"]),
         ("cab", ["K", "AE", "B"]), ("that", ["DH", "AE", "T"]), ("bath", ["B", "AE", "TH"]),
         ("taxe", ["T", "AE", "K", "S"]), ("act", ["AE", "K", "T"])] * 3


def _naive_best(al, word, phones):
    """Brute force over every monotonic alignment: the best score."""
    import itertools
    best = None
    for a in itertools.combinations_with_replacement(range(len(word)), len(phones)):
        s = sum(al.logp[al.li[word[i]], al.pi[p]] for i, p in zip(a, phones))
        best = s if best is None else max(best, s)
    return best


def test_aligner_is_monotonic_and_optimal():
    al = ge.MonotonicAligner(PAIRS)
    for w, ps in PAIRS[:8]:
        a = al.align(w, ps)
        assert len(a) == len(ps) and a == sorted(a) and 0 <= a[0] and a[-1] < len(w)
        score = sum(al.logp[al.li[w[i]], al.pi[p]] for i, p in zip(a, ps))
        assert abs(score - _naive_best(al, w, ps)) < 1e-9
    assert al.align("that", ["DH", "AE", "T"])[1:] == [2, 3]  # 'a' -> AE, final 't' -> T
    assert al.align("cat", []) == []


def test_letter_baseline_and_twins():
    al = ge.MonotonicAligner(PAIRS)
    base = ge.letter_baseline(al, PAIRS)
    assert base("cab") == ["K", "AE", "B"]
    train = {"spouts", "dog's", "boxes", "cat"}
    assert ge.has_twin("spout", train) and ge.has_twin("dog", train) and ge.has_twin("box", train)
    assert ge.has_twin("cats", train) and not ge.has_twin("cat", {"cat"})
    assert not ge.has_twin("bird", train)


def test_agreement_measures_and_controls():
    aligned = [[0, 2, 2], [0, 1]]  # word 0: the diagonal of (3 phones, 3 letters) is [0, 1, 2]
    m = [3, 2]
    assert ge.diagonal(3, 3) == [0, 1, 2]
    position_only = [ge.diagonal(len(a), k) for a, k in zip(aligned, m)]
    assert ge.off_diagonal_agreement(position_only, aligned, m) == [0.0]  # wrong by construction
    assert ge.off_diagonal_agreement(aligned, aligned, m) == [1.0]
    assert ge.exact_agreement(aligned, aligned) == 1.0
    assert abs(ge.exact_agreement(position_only, aligned) - 4 / 5) < 1e-12


def test_word_errors_marked_and_intervals():
    assert ge.word_errors(["K", "AE", "T"], [["K", "AH", "T"], ["K", "AE", "T"]]) == (0, 0, 3)
    assert ge.word_errors(["K", "T"], [["K", "AE", "T"]]) == (1, 1, 3)
    assert ge.marked(["K", "AH", "T", "S"], [["K", "AE", "T"]]) == "K [AH>AE] T [-S]"
    assert abs(ge.binomial_halfwidth(0.31, 6246) - 0.01147) < 1e-4
    lo, hi = ge.paired_bootstrap([1, 1, 0, 1] * 50, [0, 1, 0, 0] * 50)
    assert lo < 0.5 < hi
    assert ge.sample_words(list("abcdef"), 3, seed=0) == ge.sample_words(list("abcdef"), 3, seed=0)
    assert len(ge.sample_words(list("abcdef"), 3)) == 3


def test_transformer_decoder_is_causal_and_timing_closures_run():
    torch.manual_seed(0)
    tf = TransformerDecoderModel(10, 12, embed_dim=16, hidden_size=8, layers=1, heads=2).eval()
    X, L = torch.randint(3, 10, (2, 5)), torch.tensor([5, 3])
    y = torch.randint(3, 12, (2, 6))
    a, b = tf(X, L, y), tf(X, L, torch.cat([y[:, :4], torch.randint(3, 12, (2, 2))], 1))
    torch.testing.assert_close(a[:, :4], b[:, :4])  # later tokens never change earlier logits
    assert a.shape == (2, 6, 12)
    assert transformer_greedy_steps(tf, X, L, 4).shape == (2, 4)
    rnn = Seq2Seq(10, 12, 8, 8, impl="torch")
    for m in (rnn, tf):
        step = train_step_fn(m, X, L, 5)
        step()
        assert any(p.grad is not None for p in m.parameters())


def test_committed_eval_record_is_complete():
    path = ROOT / "chapters" / "results" / "06_attention" / "g2p_eval.json"
    rec = json.loads(path.read_text())
    v = rec["values"]
    u = ge.unpack(v)
    n = v["words_evaluated"]
    assert n >= 2000 and len(u["words"]) == len(u["references"]) == len(u["twin"]) == n
    for name in ("g2p_attention", "g2p_fixed_context"):
        assert len(u["models"][name]["greedy"]) == len(u["models"][name]["beam"]) == n
    att = u["models"]["g2p_attention"]
    assert all(len(a) == len(g) == len(r) for a, g, r in zip(att["argmax"], att["greedy"], u["aligned"]))
    assert rec["provenance"]["split_fingerprint"] == v["split"] and rec["status"] == "done"


def test_g2p_eval_dry_run_writes_a_complete_record_outside_the_book(capsys):
    from runs import g2p_eval

    before = sorted((ROOT / "chapters" / "results" / "06_attention").iterdir())
    path = g2p_eval.main(["--dry-run"])
    assert sorted((ROOT / "chapters" / "results" / "06_attention").iterdir()) == before
    rec = json.loads(Path(path).read_text())
    u = ge.unpack(rec["values"])
    assert len(u["words"]) == 60 and rec["provenance"]["command"].endswith("--dry-run")
    assert path.parent != ROOT / "chapters" / "results" / "06_attention"
