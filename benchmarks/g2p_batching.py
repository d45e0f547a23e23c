"""How much per-batch trimming and length bucketing speed up G2P training (chapter 6's settings).

    python -m benchmarks.g2p_batching            # writes chapters/results/06_attention/g2p_batching_speed.json
    python -m benchmarks.g2p_batching --dry-run  # tiny, prints only

Three ways to feed the same model the same number of examples per step (batch 64, chapter 6's
G2P model, 4,000 training words of the fixed split):
  padded   - random batches padded to the split's longest word (the tensors as loaded; before)
  trimmed  - random batches cut to their own longest word (`seqlib.data.pairs.trim_batch`)
  bucketed - batches of similar length, trimmed (`seqlib.data.pairs.PairBatches`; after)
Each timed call is `--steps` consecutive training steps (forward, backward, Adam) over batches of
one epoch's order, so a step's time is an average over batch lengths; `seqlib.perf.timing.compare`
takes turns between the three (round-robin, one torch thread) and the per-round ratios are the
evidence. Equal batch sizes mean equal steps per epoch, so the step-time ratio is the epoch-time
ratio.
"""
from __future__ import annotations

import argparse
import sys

import torch

from seqlib.data.g2p import load_g2p
from seqlib.data.pairs import PairBatches
from seqlib.book.records import results_dir, save_run_record, split_fingerprint
from seqlib.nn.seq2seq import Seq2Seq, seq2seq_loss
from seqlib.perf.timing import compare, ratios


def stepper(model, opt, batches, steps):
    state = {"i": 0}

    def run():
        for _ in range(steps):
            src, L, ti, to = batches[state["i"] % len(batches)]
            state["i"] += 1
            opt.zero_grad(set_to_none=True)
            seq2seq_loss(model(src, L, ti), to).backward()
            opt.step()
    return run


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m benchmarks.g2p_batching")
    p.add_argument("--train", type=int, default=4000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--embed", type=int, default=16)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--steps", type=int, default=8, help="training steps per timed call")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args(argv)
    if a.dry_run:
        a.train, a.hidden, a.steps, a.rounds = 300, 16, 2, 1
    data = load_g2p(seed=0, max_train=a.train, max_val=50, max_test=50)
    g = torch.Generator().manual_seed(0)
    pb = PairBatches(data.train, a.batch, seed=0)
    order = torch.randperm(len(data.train[0]), generator=g).split(a.batch)
    feeds = {
        "padded": [tuple(t[i] for t in data.train) for i in order],
        "trimmed": [PairBatches(data.train, a.batch, bucket=False).batch(i) for i in order],
        "bucketed": [pb.batch(i) for i in pb.batches(g)],
    }
    fns = {}
    for name, batches in feeds.items():
        torch.manual_seed(0)
        model = Seq2Seq(len(data.src_vocab), len(data.tgt_vocab), a.embed, a.hidden, impl="torch")
        fns[name] = stepper(model, torch.optim.Adam(model.parameters(), 3e-3), batches, a.steps)
    res = compare(fns, threads=1, rounds=a.rounds, min_run_time=0.2 if a.dry_run else 1.0)
    dec_steps = {k: sum(b[2].size(1) for b in v) / len(v) for k, v in feeds.items()}
    values = {"settings": vars(a), "data": data.describe(),
              "ms_per_step": {k: v["median_ms"] / a.steps for k, v in res["times"].items()},
              "steps_per_s": {k: 1e3 * a.steps / v["median_ms"] for k, v in res["times"].items()},
              "mean_decoder_steps_per_batch": dec_steps,
              "speedup_bucketed_vs_padded": ratios(res, "padded", "bucketed"),
              "speedup_trimmed_vs_padded": ratios(res, "padded", "trimmed"), "timing": res}
    for k in feeds:
        print(f"{k:9s} {values['ms_per_step'][k]:7.1f} ms/step  {values['steps_per_s'][k]:6.2f} steps/s  "
              f"decoder steps/batch {dec_steps[k]:.1f}")
    print("bucketed vs padded, per round:", " ".join(f"{r:.2f}x" for r in values["speedup_bucketed_vs_padded"]))
    if not a.dry_run:
        path = results_dir("06_attention") / "g2p_batching_speed.json"
        save_run_record(path, values, evidence={"units": [f"round {i + 1}" for i in range(a.rounds)],
                                                "speedup_bucketed_vs_padded": values["speedup_bucketed_vs_padded"]},
                        name="g2p_batching_speed", command="python -m benchmarks.g2p_batching " + " ".join(argv),
                        split_fingerprint=split_fingerprint(data.sources["test"]))
        print("record:", path)
    return values


if __name__ == "__main__":
    main()
