"""Per-word evaluation of the two recorded G2P models (attention and fixed context) on the book's
fixed held-out split: greedy and beam-search predictions, per-word errors, the attention
model's most-attended letter at every greedy step, and a reference alignment.

    python -m runs.g2p_eval              # all held-out words (resumes if a checkpoint exists)
    python -m runs.g2p_eval --words 2000 # a fixed seeded subset (documented in the record)
    python -m runs.g2p_eval --dry-run    # 60 words, writes only to a temp folder

Reads chapters/results/06_attention/g2p_attention_best.pt and g2p_fixed_context_best.pt (made by
`python -m runs.g2p`), or the files `--attention-file` and `--fixed-file` name there. The split is `seqlib.data.load_g2p(seed=0)`, the one those models were
chosen on (validation) and tested on; the record checks the split fingerprint against theirs.

Besides the models' outputs the record holds, per held-out word: whether the training words
hold a plural or possessive twin of it (`seqlib.train.g2p_eval.has_twin`); the prediction of a
letter-by-letter baseline; and, for the attention model's greedy output, the letter a monotonic
hard-EM aligner trained on training words gives each predicted phone
(`seqlib.train.g2p_eval.MonotonicAligner`): the reference an attention map is read against.

Compact storage: the phones of an output are one character each (the record's `alphabet`; the
space-separated phones are recovered with `decode_phones`), and letter positions one base-36
digit each. Per-word lists are '|'-joined strings.

Writes chapters/results/06_attention/g2p_eval.json (a `seqlib.book.records` record).
Checkpoint: runs/checkpoints/g2p_eval.pt (per chunk of words; not committed).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from seqlib.book.records import provenance, results_dir, save_run_record, split_fingerprint
from seqlib.data.g2p import load_g2p
from seqlib.data.pairs import encode_sources
from seqlib.device import set_threads
from seqlib.io import atomic_torch_save
from seqlib.nn.seq2seq import load_seq2seq
from seqlib.tokens import EOS, PAD
from seqlib.train.g2p_eval import MonotonicAligner, has_twin, letter_baseline, sample_words

CHAPTER = "06_attention"
MODELS = ("g2p_attention", "g2p_fixed_context")
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _phones_to_str(ids, vocab, alphabet) -> str:
    out = []
    for i in ids:
        if i == EOS:
            break
        if i != PAD:
            out.append(alphabet[vocab[i]])
    return "".join(out)


def decode_phones(s: str, alphabet: dict) -> list[str]:
    """The phones of a stored output string (alphabet: phone -> character, as in the record)."""
    back = {c: p for p, c in alphabet.items()}
    return [back[c] for c in s]


def evaluate_chunk(model, info, words, beam: int, alphabet) -> dict:
    """Greedy (with the most-attended letter per step) and beam outputs of a chunk of words."""
    X, L = encode_sources(words, info["src_vocab"])
    ids, w = model.greedy(X, L, max_len=30, return_weights=True)
    greedy = [_phones_to_str(r, info["tgt_vocab"], alphabet) for r in ids.tolist()]
    out = {"greedy": greedy}
    if w is not None:  # (B, U', T): the argmax letter of each step that wrote a phone
        arg = w.argmax(-1).tolist()
        out["argmax"] = ["".join(DIGITS[a] for a in arg[b][: len(g)]) for b, g in enumerate(greedy)]
    bids = model.beam_search(X, L, beam, max_len=30)
    out["beam"] = [_phones_to_str(r, info["tgt_vocab"], alphabet) for r in bids.tolist()]
    return out


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m runs.g2p_eval", description=__doc__.split("\n")[0])
    p.add_argument("--words", type=int, default=None, help="a fixed seeded subset of held-out words")
    p.add_argument("--beam", type=int, default=4)
    p.add_argument("--chunk", type=int, default=500)
    p.add_argument("--align-train", type=int, default=30000,
                   help="training words the aligner and the letter baseline learn from")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--attention-file", default="g2p_attention_best.pt",
                   help="the attention model's save_seq2seq file in chapters/results/06_attention/")
    p.add_argument("--fixed-file", default="g2p_fixed_context_best.pt",
                   help="the fixed-context model's file there")
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    a = parse(argv)
    set_threads(a.threads)
    torch.manual_seed(0)
    t0 = time.time()
    src = results_dir(CHAPTER)
    if a.dry_run:
        out_dir = Path(tempfile.mkdtemp(prefix="g2p_eval_dry_"))
        ckpt, a.words, a.align_train = out_dir / "ckpt.pt", 60, 500
    else:
        out_dir = src
        ckpt = Path(__file__).resolve().parent / "checkpoints" / "g2p_eval.pt"
    record_path = out_dir / "g2p_eval.json"
    data = load_g2p(seed=0)
    test_all = data.sources["test"]
    fp = split_fingerprint(test_all)
    refs_of = dict(zip(test_all, data.references["test"]))
    words = test_all if a.words is None else sample_words(test_all, a.words, seed=0)
    models, files = {}, dict(zip(MODELS, (a.attention_file, a.fixed_file)))
    for name in MODELS:  # the two roles, whichever run's file fills each
        model, info = load_seq2seq(src / files[name])
        if info["meta"].get("split") not in (None, fp):
            raise RuntimeError(f"g2p_eval: {name} was tested on split {info['meta'].get('split')}, "
                               f"this split is {fp}")
        models[name] = (model, info)
    phones = [p for p in models[MODELS[0]][1]["tgt_vocab"] if not p.startswith("<")]
    alphabet = {p: chr(ord("A") + i) if i < 26 else chr(ord("a") + i - 26) for i, p in enumerate(phones)}

    state = torch.load(ckpt, weights_only=False) if ckpt.exists() and not a.fresh else None
    if state is None or state["words"] != words or state.get("files", files) != files:
        state = {"words": words, "files": files, "done": 0, "out": {n: {} for n in MODELS}}
    chunks = range(state["done"], len(words), a.chunk)
    for start in chunks:
        part = words[start:start + a.chunk]
        for name, (model, info) in models.items():
            for k, v in evaluate_chunk(model, info, part, a.beam, alphabet).items():
                state["out"][name].setdefault(k, []).extend(v)
        state["done"] = start + len(part)
        atomic_torch_save(state, ckpt)
        print(f"[{time.strftime('%H:%M:%S')}] {state['done']}/{len(words)} words", flush=True)

    # the reference alignment and the letter-by-letter baseline, from training words only
    train_pairs = sorted({(w, tuple(r[0])) for w, r in zip(data.sources["train"],
                                                             data.references["train"])})
    train_words = {w for w, _ in train_pairs}
    import random
    sub = random.Random(0).sample(train_pairs, min(a.align_train, len(train_pairs)))
    aligner = MonotonicAligner([(w, list(p)) for w, p in sub])
    baseline = letter_baseline(aligner, [(w, list(p)) for w, p in sub])
    att = state["out"]["g2p_attention"]
    back = {c: p for p, c in alphabet.items()}
    aligned = ["".join(DIGITS[i] for i in aligner.align(w, [back[c] for c in g]))
               for w, g in zip(words, att["greedy"])]

    def enc(ps):
        return "".join(alphabet.get(p, "?") for p in ps)

    values = {
        "task": "CMUdict G2P, stress removed, any listed pronunciation correct",
        "split": fp,
        "words_evaluated": len(words),
        "subset": ("all held-out words" if a.words is None or a.words >= len(test_all) else
                   f"a fixed subset: seqlib.train.g2p_eval.sample_words(test words, {a.words}, seed=0)"),
        "beam": a.beam,
        "alphabet": alphabet,
        "digits": "letter positions are base-36 digits (0 = first letter)",
        "words": "|".join(words),
        "references": "|".join("/".join(enc(r) for r in refs_of[w]) for w in words),
        "twin_in_train": "".join("1" if has_twin(w, train_words) else "0" for w in words),
        "letter_baseline": "|".join(enc(baseline(w)) for w in words),
        "aligner": {"what": "hard-EM monotonic phone-to-letter aligner (3 rounds, add-0.1), "
                            f"{len(sub)} training words (seeded sample)",
                    "attention_greedy_aligned": "|".join(aligned)},
        "models": {},
    }
    for name, (model, info) in models.items():
        o = state["out"][name]
        values["models"][name] = {
            "file": files[name], "config": info["config"],
            "chosen_at": {k: info["meta"].get(k) for k in ("epoch", "val_WER", "val_PER")},
            "greedy": "|".join(o["greedy"]), "beam": "|".join(o["beam"]),
            **({"attention_argmax_greedy": "|".join(o["argmax"])} if "argmax" in o else {}),
        }
    prov = provenance("cpu", command="python -m runs.g2p_eval " + " ".join(argv),
                      wall_s=time.time() - t0, split_fingerprint=fp)
    save_run_record(record_path, values, name="g2p_eval", prov=prov)
    print(f"g2p_eval: {len(words)} words, {time.time() - t0:.0f} s; record {record_path}")
    return record_path


if __name__ == "__main__":
    main()
