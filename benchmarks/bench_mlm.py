"""Masked-language-model pretraining on the shared corpus: a few minutes of CPU, measured against a unigram model.

`embedlab train mlm` (a 2-layer, 128-d BERT, WordPiece 8,000, sequences of 64, batches of 32, one torch thread)
runs for ``--max-steps`` steps on the shared corpus (GCIDE + WordNet glosses + KJV Bible, ~5M tokens); every
100th line is held out. Reported:
  * held-out masked-token accuracy and perplexity (15 % masked, 80/10/10, seeded) vs the unigram-frequency
    baseline (always the most frequent token; add-one smoothed training frequencies);
  * training time, steps/s, tokens seen;
  * word senses: contextual vectors of "bank" in money vs river sentences (and two more words), mean cosine
    within a sense vs across senses, and leave-one-out nearest-centroid sense accuracy — for our model and, as a
    reference, the pretrained MiniLM BERT (`bert-tokens`); a static word vector would give 1.0 everywhere;
  * fill-mask examples.

    python benchmarks/make_corpus.py bench-data/corpus.txt   # once
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_mlm.py --out benchmarks/results/mlm.md
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _common import LOAD_NOTE, md_table, print_settings  # noqa: E402

import embedlab  # noqa: E402,F401
from embedlab.train.mlm import MaskedLMTrainer  # noqa: E402

SENSES = {
    "bank": {
        "money": ["he deposited the money in the bank", "the bank lent him money at interest",
                  "she opened an account at the bank", "the bank paid interest on the deposit",
                  "the merchant borrowed gold from the bank", "the bank refused to lend him money"],
        "river": ["they sat on the bank of the river", "the boat drifted to the bank of the stream",
                  "reeds grew along the bank of the river", "the water rose over the bank",
                  "he fished from the grassy bank", "the flood washed away the bank of the river"],
    },
    "spring": {
        "season": ["the flowers bloom in the spring", "in the spring the birds return",
                   "the rains of spring and autumn", "they sowed the seed in the spring",
                   "the lambs are born in the spring", "winter ended and spring came"],
        "water": ["they drank from the spring of water", "the spring flowed out of the rock",
                  "a fountain or spring of fresh water", "the well and the spring were dry",
                  "water from the spring in the valley", "the spring of the river in the hills"],
    },
    "light": {
        "brightness": ["the light of the sun", "god said let there be light", "the lamp gave a dim light",
                       "the light shone in the darkness", "a candle gives light to the house",
                       "the light of the moon at night"],
        "weight": ["the burden is light", "a light load for the horse", "the cloth was light and thin",
                   "a light rain fell", "he carried a light basket", "light as a feather"],
    },
}
FILL = ["in the beginning god created the heaven and the [MASK]", "the [MASK] is a place where money is kept",
        "the cat sat on the [MASK]", "a small [MASK] of water", "and god said let there be [MASK]"]


def senses(enc) -> dict[str, dict[str, float]]:
    """Within / across cosine and leave-one-out sense accuracy per word."""
    out = {}
    for word, groups in SENSES.items():
        vecs, lab = [], []
        for g, sents in enumerate(groups.values()):
            for s in sents:
                v = enc.word_vector(s, word)
                vecs.append(v / np.linalg.norm(v))
                lab.append(g)
        m, lab = np.stack(vecs), np.array(lab)
        cos = m @ m.T
        same = lab[:, None] == lab[None, :]
        off = ~np.eye(len(lab), dtype=bool)
        hits = 0
        for i in range(len(lab)):
            cents = [m[(lab == g) & (np.arange(len(lab)) != i)].mean(0) for g in (0, 1)]
            hits += int(np.argmax([m[i] @ c for c in cents]) == lab[i])
        out[word] = {"within": float(cos[same & off].mean()), "across": float(cos[~same].mean()),
                     "loo_accuracy": hits / len(lab)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="bench-data/corpus.txt")
    ap.add_argument("--work", default="bench-data/mlm-out")
    ap.add_argument("--max-steps", type=int, default=1500)
    ap.add_argument("--epochs", type=int, default=1, help="passes over the corpus, capped by --max-steps")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    info = print_settings("masked-language-model pretraining on the shared corpus")
    shutil.rmtree(args.work, ignore_errors=True)
    trainer = MaskedLMTrainer(vocab_size=8000, layers=args.layers, hidden=args.hidden, heads=2, max_length=64,
                              batch_size=32, lr=args.lr, epochs=args.epochs, max_steps=args.max_steps,
                              threads=args.threads, seed=0, checkpoint_every=500)
    t0 = time.perf_counter()
    steps_t: list[float] = []
    trainer.on_step = lambda step, loss: steps_t.append(time.perf_counter())
    summary = trainer.fit(args.corpus, args.work).summary_
    total_s = time.perf_counter() - t0
    train_s = steps_t[-1] - steps_t[0]
    h = summary["heldout"]
    print(f"held-out: {h}", flush=True)
    from embedlab.encoders.mlm import MLMEncoder

    ours = MLMEncoder(args.work)
    sense_rows = {"ours": senses(ours)}
    try:
        sense_rows["MiniLM (pretrained, reference)"] = senses(embedlab.encoder("bert-tokens"))
    except Exception as exc:  # noqa: BLE001 - the reference is optional
        print(f"bert-tokens unavailable: {exc}")
    fills = [(t, ours.fill_mask(t, top_k=5)[0]) for t in FILL]
    cmd = (f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')} .venv/bin/python "
           + " ".join(shlex.quote(a) for a in sys.argv))
    p = summary["params"]
    report = "\n\n".join([
        "# Masked-language-model pretraining (shared corpus)",
        f"Command: `{cmd}`  \nDate: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; settings: "
        + ", ".join(f"{k}={v}" for k, v in info.items()) + f"; torch threads {args.threads}. {LOAD_NOTE}",
        f"Model: BERT, {p['layers']} layers, hidden {p['hidden']}, {p['heads']} heads, WordPiece "
        f"{summary['vocab_size']:,}, sequences of {p['max_length']}, batches of {p['batch_size']}, AdamW "
        f"{p['lr']} (5 % warm-up, linear decay), seed {p['seed']}. Corpus: {summary['training_tokens']:,} training "
        f"tokens in {summary['sequences_per_epoch']:,} sequences ({summary['steps_per_epoch']:,} steps per epoch); "
        f"{summary['heldout_lines']:,} held-out lines. Trained {summary['steps']:,} steps "
        f"({summary['steps'] * p['batch_size'] * p['max_length']:,} token positions, "
        f"{summary['steps'] / summary['steps_per_epoch']:.2f} epochs) in {train_s:.0f} s "
        f"({summary['steps'] / max(train_s, 1e-9):.2f} steps/s); the whole command {total_s:.0f} s (vocabulary, "
        f"counting pass, held-out scoring included). Loss {summary['loss_first']:.3f} → {summary['loss_last']:.3f} "
        f"(mean of the last 50 steps).",
        md_table(["held-out (masked positions)", "ours", "unigram baseline", "ratio"], [
            ["masked-token accuracy", f"{h['accuracy']:.4f}", f"{h['unigram_accuracy']:.4f}",
             f"{h['accuracy'] / h['unigram_accuracy']:.2f}×"],
            ["perplexity", f"{h['perplexity']:.1f}", f"{h['unigram_perplexity']:.1f}",
             f"{h['perplexity'] / h['unigram_perplexity']:.2f}×"],
            ["masked tokens scored", str(h["masked_tokens"]), "", ""]]),
        "Word senses — mean cosine of the word's contextual vectors within a sense and across senses (6 + 6 "
        "sentences each), and leave-one-out nearest-centroid sense accuracy:",
        md_table(["model", "word", "within-sense cosine", "across-sense cosine", "gap", "sense accuracy (LOO)"],
                 [[m, w, f"{r['within']:.3f}", f"{r['across']:.3f}", f"{r['within'] - r['across']:+.3f}",
                   f"{r['loo_accuracy']:.2f}"] for m, rows in sense_rows.items() for w, r in rows.items()]),
        "Fill-mask (`embedlab fill-mask`), top 5:",
        md_table(["text", "top 5 (probability)"],
                 [[f"`{t}`", ", ".join(f"{tok} ({pr:.2f})" for tok, pr in row)] for t, row in fills])])
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
