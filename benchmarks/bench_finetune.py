"""Fine-tuning measured before and after (issue 13): adapters and full fine-tunes on held-out data built at run time.

1. **Cross-lingual software domain.** The machine's gettext ko/en message pairs (``data_sources/gettext_pairs.py``)
   split *by catalogue*: training pairs (≤ 2,000) from some packages, test pairs from the others (Korean → English
   among every English message of the test catalogues, ≥ 5,000 candidates). ``use-multilingual`` before vs after
   an adapter: a naive linear one (InfoNCE, no regularisation, last epoch) and ours (residual map pulled toward
   the identity, epoch and strength chosen on a validation split of the training catalogues under a general-domain
   guard). General-domain retention: Korean → English names from the ``iso-codes`` catalogues (half guards the
   choice, the other half — never seen in training or selection — is reported) and English news (first sentence →
   rest, gensim's ``lee_background.cor``).
2. **English domain set** built from WordNet (``/usr/share/wordnet/data.noun``): a noun's gloss → its headwords,
   split by synset. ``minilm`` zero-shot vs adapter vs full fine-tune vs full fine-tune + mined hard negatives.
3. **Side by side with the reference**: the same full fine-tune (data, MultipleNegativesRankingLoss, batch, epochs,
   seed, threads) through a plain sentence-transformers script; quality and training wall time.

    .venv/bin/python benchmarks/bench_finetune.py                 # all three parts, writes results
    .venv/bin/python benchmarks/bench_finetune.py --part gettext  # one part (gettext | wordnet)

Base vectors are cached under ``--work-dir`` (an embedlab home), so a re-run skips the base encoding.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import LOAD_NOTE, print_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORDNET = Path("/usr/share/wordnet/data.noun")


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def adapted(vecs: np.ndarray, enc, role: str) -> np.ndarray:
    """An adapter's vectors computed from cached base vectors (what enc.encode_* would give, without re-encoding)."""
    if role == "document" and enc.apply_to == "queries":
        return vecs
    return unit(vecs @ enc.matrix)


# ------------------------------------------------------------------------------------------------ part 1: gettext
def gettext_split(seed: int, max_train: int, min_test: int):
    from embedlab.data_sources.gettext_pairs import load_gettext_pairs
    from embedlab.train.finetuning.pairs import Pair

    pairs, _ = load_gettext_pairs("ko")
    by_cat: dict[str, list] = {}
    for p in pairs:
        if not p.domain.startswith("iso_"):
            by_cat.setdefault(p.domain, []).append(p)
    cats = sorted(by_cat)
    random.Random(seed).shuffle(cats)
    test_cats, train_cats, n_test = [], [], 0
    for c in cats:
        if n_test < min_test:
            test_cats.append(c)
            n_test += len(by_cat[c])
        else:
            train_cats.append(c)
    train_all = [Pair(p.ko, p.en) for c in train_cats for p in by_cat[c]]
    random.Random(seed).shuffle(train_all)
    test = [Pair(p.ko, p.en) for c in test_cats for p in by_cat[c]]
    return train_all[:max_train], test, sorted(train_cats), sorted(test_cats)


def iso_halves(seed: int):
    from embedlab.train.finetuning.evaluate import _iso_name_pairs

    names = _iso_name_pairs(2000, seed)
    rng = random.Random(seed)
    rng.shuffle(names)
    half = len(names) // 2
    return names[:half], names[half:]


def run_gettext(args, rows: list[str], record: dict) -> None:
    import embedlab
    from embedlab.train.finetuning import finetune, split_pairs
    from embedlab.train.finetuning.cache import base_vectors
    from embedlab.train.finetuning.evaluate import general_sets, index_pairs, score_vectors

    train, test, train_cats, test_cats = gettext_split(args.seed, args.max_train, args.min_test)
    guard, report_names = iso_halves(args.seed)
    news = general_sets(["news-en"]).get("news-en", [])
    print(f"gettext: {len(train)} training pairs from {len(train_cats)} catalogues; {len(test)} test pairs from "
          f"{len(test_cats)} catalogues ({', '.join(test_cats)}); general: {len(report_names)} names, {len(news)} news")
    enc = embedlab.encoder("use-multilingual")
    t0 = time.perf_counter()
    sets = {"test": index_pairs(test), "names (held out)": index_pairs(report_names)}
    if news:
        sets["news-en"] = index_pairs(news)
    vecs = {k: (base_vectors(enc, s.queries, "query", progress=True), base_vectors(enc, s.docs, "document",
                                                                                    progress=True))
            for k, s in sets.items()}
    print(f"  base vectors ready in {time.perf_counter() - t0:.1f} s")
    tr, val = split_pairs(train, 0.1, args.seed)

    def evaluate(label: str, enc_a, seconds: float | None) -> dict:
        out = {}
        for k, s in sets.items():
            qv, dv = vecs[k]
            if enc_a is not None:
                qv, dv = adapted(qv, enc_a, "query"), adapted(dv, enc_a, "document")
            out[k] = score_vectors(qv, dv, s.relevant)
        record.setdefault("gettext", {})[label] = {**out, "seconds": seconds}
        return out

    base = evaluate("use-multilingual (base)", None, None)
    variants = [
        ("adapter, naive (linear, reg 0, last epoch, no guard)",
         dict(adapter="linear", reg=0.0, max_general_drop=1.0, epochs=10, general=None, select_last=True)),
        ("adapter, ours (residual on queries, reg chosen on validation, general guard)",
         dict(adapter="residual", apply_to="queries", batch_size=256, lr=3e-3, reg=[0.001, 0.01], epochs=12,
              general={"names (guard)": guard})),
        ("adapter, ours + 2 mined hard negatives per pair",
         dict(adapter="residual", apply_to="queries", batch_size=256, lr=3e-3, reg=[0.001, 0.01], epochs=12,
              hard_negatives=2, general={"names (guard)": guard})),
    ]
    if args.ceiling:  # roughly how far this adapter family goes on these 1,800 pairs: chosen on the test set
        for kind, to in (("linear", "both"), ("residual", "queries")):
            variants.append((f"ceiling, {kind} on {to}: epoch and reg chosen on the test set itself (by MRR; not "
                             "a method)",
                             dict(adapter=kind, apply_to=to, batch_size=128, lr=1e-3, reg=[0.0, 0.001, 0.01],
                                  epochs=15, general=None, max_general_drop=1.0, validation=test)))
    for label, kw in variants:
        select_last = kw.pop("select_last", False)
        kw.setdefault("validation", val)
        out_dir = Path(args.work_dir) / "out" / "-".join(label.split(",")[:2]).replace(" ", "-").replace("(", "")[:40]
        t = time.perf_counter()
        if select_last:  # the naive baseline: whatever the last epoch gives (no validation choice)
            from embedlab.train.finetuning import adapter as adapter_mod

            original = adapter_mod._Chooser.see

            def last_epoch(self, epoch, params, _orig=original):
                _orig(self, epoch, params)
                self.best = (float(epoch), epoch, {k: v.copy() for k, v in params.items()})

            adapter_mod._Chooser.see = last_epoch
            try:
                enc_a = finetune(tr, enc, method="adapter", output=out_dir, overwrite=True, seed=args.seed, **kw)
            finally:
                adapter_mod._Chooser.see = original
        else:
            enc_a = finetune(tr, enc, method="adapter", output=out_dir, overwrite=True, seed=args.seed, **kw)
        secs = time.perf_counter() - t
        res = evaluate(label, enc_a, round(secs, 1))
        p = enc_a.manifest["params"]
        record["gettext"][label]["chosen"] = {"epoch": enc_a.manifest["chosen_epoch"], "reg": p.get("reg"),
                                              "backend": p.get("backend")}
        print(f"  {label}: test R@1 {base['test']['recall@1']:.3f} -> {res['test']['recall@1']:.3f}; names R@1 "
              f"{base['names (held out)']['recall@1']:.3f} -> {res['names (held out)']['recall@1']:.3f} "
              f"({secs:.1f} s, epoch {enc_a.manifest['chosen_epoch']}, reg {p.get('reg')})")
    rows.append("### Cross-lingual software domain (gettext ko→en, split by catalogue)\n")
    rows.append(f"{len(tr)} training + {len(val)} validation pairs from {len(train_cats)} catalogues; test: "
                f"{len(sets['test'].queries)} Korean queries among {len(sets['test'].docs)} English messages of "
                f"{len(test_cats)} other catalogues ({', '.join(test_cats)}). General domain: "
                f"{len(sets['names (held out)'].queries)} iso-codes names ko→en never used in training or selection"
                + (f", {len(sets['news-en'].queries)} English news first sentence → rest" if news else "") + ".\n")
    head = "| encoder | test R@1 | test R@10 | test MRR | test nDCG@10 | names R@1 | news R@1 | train s |"
    rows += [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, r in record["gettext"].items():
        news_r = f"{r['news-en']['recall@1']:.3f}" if "news-en" in r else "-"
        rows.append(f"| {label} | {r['test']['recall@1']:.3f} | {r['test']['recall@10']:.3f} | "
                    f"{r['test']['mrr']:.3f} | {r['test']['ndcg@10']:.3f} | {r['names (held out)']['recall@1']:.3f} "
                    f"| {news_r} | {r['seconds'] if r['seconds'] is not None else '-'} |")
    rows.append("")


# ------------------------------------------------------------------------------------------------ part 2: wordnet
def wordnet_pairs(seed: int, n_train: int, n_test: int):
    from embedlab.train.finetuning.pairs import Pair

    out = []
    seen_q: set[str] = set()
    seen_d: set[str] = set()
    for line in WORDNET.read_text("utf-8", errors="replace").splitlines():
        if line.startswith("  ") or "|" not in line:
            continue
        head, gloss = line.split("|", 1)
        f = head.split()
        n = int(f[3], 16)
        words = [f[4 + 2 * i].replace("_", " ") for i in range(n)]
        words = [w.split("(")[0] for w in words]
        definition = gloss.split('; "')[0].strip().strip(";").strip()
        doc = ", ".join(dict.fromkeys(words))
        if len(definition.split()) < 4 or definition in seen_q or doc in seen_d:
            continue
        seen_q.add(definition)
        seen_d.add(doc)
        out.append(Pair(definition, doc))
    rng = random.Random(seed)
    rng.shuffle(out)
    return out[:n_train], out[n_train:n_train + n_test]


def reference_full(model_folder: Path, pairs, epochs: int, batch_size: int, lr: float, seed: int):
    """The plain sentence-transformers script: what a user would write by hand."""
    import tempfile

    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.trainer import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.training_args import (
        BatchSamplers,
        SentenceTransformerTrainingArguments,
    )

    t = time.perf_counter()
    model = SentenceTransformer(str(model_folder), device="cpu", local_files_only=True)
    data = Dataset.from_dict({"anchor": [p.query for p in pairs], "positive": [p.positive for p in pairs]})
    with tempfile.TemporaryDirectory() as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp, num_train_epochs=epochs, per_device_train_batch_size=batch_size, learning_rate=lr,
            warmup_steps=0.1, seed=seed, data_seed=seed, batch_sampler=BatchSamplers.NO_DUPLICATES,
            save_strategy="no", logging_steps=1, report_to="none", use_cpu=True, disable_tqdm=True,
            dataloader_num_workers=0)
        SentenceTransformerTrainer(model=model, args=args, train_dataset=data,
                                   loss=losses.MultipleNegativesRankingLoss(model, scale=20.0)).train()
        secs = time.perf_counter() - t
    return model, secs


def run_wordnet(args, rows: list[str], record: dict) -> None:
    import embedlab
    from embedlab.train.finetuning import finetune, split_pairs
    from embedlab.train.finetuning.cache import base_vectors
    from embedlab.train.finetuning.evaluate import index_pairs, score_vectors
    from embedlab.train.finetuning.full import FullSettings, train_full

    if not WORDNET.is_file():
        print("wordnet: /usr/share/wordnet/data.noun not installed (Debian wordnet-base); part skipped")
        return
    train, test = wordnet_pairs(args.seed, args.wn_train, args.n_test)
    tr, val = split_pairs(train, 0.1, args.seed)
    base = embedlab.encoder("minilm")
    split = index_pairs(test)
    print(f"wordnet: {len(tr)} training + {len(val)} validation pairs; test {len(split.queries)} glosses among "
          f"{len(split.docs)} headword lists")
    out: dict[str, dict] = {}

    def score_enc(enc, label, secs):
        qv = getattr(enc, "encode_queries", enc.encode)(split.queries, batch_size=64)
        dv = getattr(enc, "encode_documents", enc.encode)(split.docs, batch_size=64)
        out[label] = {**score_vectors(qv, dv, split.relevant), "seconds": secs}
        print(f"  {label}: nDCG@10 {out[label]['ndcg@10']:.3f} R@1 {out[label]['recall@1']:.3f} ({secs} s)")

    if args.side_only:
        run_side_by_side(args, base, tr, split, rows, record)
        return
    qv0 = base_vectors(base, split.queries, "query", progress=True)
    dv0 = base_vectors(base, split.docs, "document", progress=True)
    out["minilm zero-shot"] = {**score_vectors(qv0, dv0, split.relevant), "seconds": None}
    print(f"  zero-shot: nDCG@10 {out['minilm zero-shot']['ndcg@10']:.3f}")
    work = Path(args.work_dir) / "out"
    t = time.perf_counter()
    enc_a = finetune(tr, base, method="adapter", validation=val, output=work / "wn-adapter", overwrite=True,
                     reg=[0.003, 0.01, 0.03], epochs=10, seed=args.seed, general=("news-en",))
    secs = round(time.perf_counter() - t, 1)
    out["minilm + adapter"] = {**score_vectors(adapted(qv0, enc_a, "query"), adapted(dv0, enc_a, "document"),
                                               split.relevant), "seconds": secs}
    print(f"  adapter: nDCG@10 {out['minilm + adapter']['ndcg@10']:.3f} ({secs} s)")
    fs = dict(epochs=args.full_epochs, batch_size=args.full_batch, lr=args.full_lr, seed=args.seed)
    t = time.perf_counter()
    enc_f = finetune(tr, base, method="full", validation=val, output=work / "wn-full", overwrite=True,
                     general=("news-en",), **fs)
    score_enc(enc_f, "minilm full fine-tune (MNRL)", round(time.perf_counter() - t, 1))
    t = time.perf_counter()
    enc_h = finetune(tr, base, method="full", validation=val, output=work / "wn-full-hn", overwrite=True,
                     hard_negatives=1, general=("news-en",), **fs)
    score_enc(enc_h, "minilm full fine-tune + 1 hard negative", round(time.perf_counter() - t, 1))
    record["wordnet_hard_negatives"] = enc_h.manifest["data"].get("hard_negatives")
    # side by side: our wrapper's training call vs the plain script, same data/loss/batch/epochs/seed/threads
    side: dict[str, list] = {"ours": [], "reference": []}
    for _ in range(args.repeats if args.side_by_side else 0):
        fit = train_full(base.folder, tr, FullSettings(**fs))
        side["ours"].append(fit.seconds)
        ours_model = fit.model
        ref_model, ref_secs = reference_full(base.folder, tr, **fs)
        side["reference"].append(ref_secs)
        print(f"  side by side: ours {fit.seconds:.1f} s, reference {ref_secs:.1f} s", flush=True)
    for label, model in ((("side by side: embedlab train_full", ours_model),
                          ("side by side: plain sentence-transformers script", ref_model)) if side["ours"] else ()):
        qv = model.encode(split.queries, batch_size=64, normalize_embeddings=True)
        dv = model.encode(split.docs, batch_size=64, normalize_embeddings=True)
        key = "ours" if "embedlab" in label else "reference"
        out[label] = {**score_vectors(qv, dv, split.relevant), "seconds": round(float(np.median(side[key])), 1)}
    ratio = float(np.median(side["reference"]) / np.median(side["ours"])) if side["ours"] else float("nan")
    record["wordnet"] = out
    record["side_by_side_speed_ratio"] = ratio
    print(f"  side by side: speed ratio {ratio:.2f} (reference time / ours)")
    rows.append("### English domain set (WordNet noun gloss → headwords, split by synset)\n")
    rows.append(f"{len(tr)} training + {len(val)} validation pairs; test: {len(split.queries)} glosses among "
                f"{len(split.docs)} headword lists. Full fine-tunes: {fs['epochs']} epoch(s), batch {fs['batch_size']}, "
                f"lr {fs['lr']}, MultipleNegativesRankingLoss (scale 20), seed {fs['seed']}.\n")
    rows += ["| encoder | R@1 | R@10 | MRR | nDCG@10 | Δ nDCG@10 vs zero-shot | s |", "|---|---:|---:|---:|---:|---:|---:|"]
    z = out["minilm zero-shot"]["ndcg@10"]
    for label, r in out.items():
        rows.append(f"| {label} | {r['recall@1']:.3f} | {r['recall@10']:.3f} | {r['mrr']:.3f} | {r['ndcg@10']:.3f} | "
                    f"{r['ndcg@10'] - z:+.3f} | {r['seconds'] if r['seconds'] is not None else '-'} |")
    hn = record.get("wordnet_hard_negatives") or {}
    rows.append(f"\nHard negatives mined with the base encoder (ranks 3–30, margin 0.05): {hn.get('mined')} mined, "
                f"{hn.get('rejected_by_margin')} rejected by the margin. Side by side ({args.repeats} run(s), "
                f"median, model load + data set + training each): embedlab's `train_full` {np.median(side['ours']):.1f} s vs the "
                f"plain script {np.median(side['reference']):.1f} s — speed ratio "
                f"{ratio:.2f}× (reference time / ours).\n")


def run_side_by_side(args, base, tr, split, rows: list[str], record: dict) -> None:
    """Only the side by side, in ABBA order (ours, reference, reference, ours, ...) after importing every module
    both sides use, so neither pays the first import of the trainer stack."""
    import datasets  # noqa: F401
    from sentence_transformers.sentence_transformer.trainer import SentenceTransformerTrainer  # noqa: F401

    from embedlab.train.finetuning.evaluate import score_vectors
    from embedlab.train.finetuning.full import FullSettings, train_full

    fs = dict(epochs=args.full_epochs, batch_size=args.full_batch, lr=args.full_lr, seed=args.seed)
    side: dict[str, list[float]] = {"ours": [], "reference": []}
    models = {}
    for r in range(args.repeats):
        for who in (("ours", "reference") if r % 2 == 0 else ("reference", "ours")):
            if who == "ours":
                fit = train_full(base.folder, tr, FullSettings(**fs))
                secs, models[who] = fit.seconds, fit.model
            else:
                models[who], secs = reference_full(base.folder, tr, **fs)
            side[who].append(secs)
            print(f"  repeat {r + 1}: {who} {secs:.1f} s", flush=True)
    quality = {}
    for who, model in models.items():
        qv = model.encode(split.queries, batch_size=64, normalize_embeddings=True)
        dv = model.encode(split.docs, batch_size=64, normalize_embeddings=True)
        quality[who] = score_vectors(qv, dv, split.relevant)
    ratio = float(np.median(side["reference"]) / np.median(side["ours"]))
    record["side_by_side"] = {"seconds": side, "quality": quality, "speed_ratio": ratio, **fs}
    rows.append("### Side by side with a plain sentence-transformers script\n")
    rows.append(f"{len(tr)} WordNet pairs, {fs}, MultipleNegativesRankingLoss (scale 20), no-duplicates batches, "
                f"{args.repeats} runs each in ABBA order after warm imports; model load + data set + training.\n")
    rows += ["| run | seconds (each) | median | R@1 | nDCG@10 |", "|---|---|---:|---:|---:|"]
    for who, label in (("ours", "embedlab `train_full`"), ("reference", "plain script")):
        rows.append(f"| {label} | {', '.join(f'{x:.1f}' for x in side[who])} | {np.median(side[who]):.1f} | "
                    f"{quality[who]['recall@1']:.3f} | {quality[who]['ndcg@10']:.3f} |")
    rows.append(f"\nSpeed ratio (reference / ours, medians): {ratio:.2f}×.\n")
    print(f"  speed ratio {ratio:.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["all", "gettext", "wordnet"], default="all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-train", type=int, default=2000, help="training pairs (gettext; wordnet: --wn-train)")
    ap.add_argument("--min-test", type=int, default=5000)
    ap.add_argument("--n-test", type=int, default=500)
    ap.add_argument("--wn-train", type=int, default=3000)
    ap.add_argument("--full-epochs", type=int, default=2)
    ap.add_argument("--full-batch", type=int, default=32)
    ap.add_argument("--full-lr", type=float, default=1e-4)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--ceiling", action="store_true", help="gettext: also two adapters whose epoch and reg are "
                    "chosen on the test set's MRR (how far the family goes; not a method)")
    ap.add_argument("--side-only", action="store_true", help="wordnet: only the side by side (ABBA, warm imports)")
    ap.add_argument("--no-side-by-side", dest="side_by_side", action="store_false",
                    help="skip the plain sentence-transformers comparison")
    ap.add_argument("--work-dir", default=str(ROOT / "bench-data" / "finetune"))
    ap.add_argument("--results", default=str(ROOT / "benchmarks" / "results" / "finetune.md"))
    args = ap.parse_args()
    os.environ["EMBEDLAB_HOME"] = str(Path(args.work_dir) / "home")
    settings = print_settings("fine-tuning before/after")
    rows: list[str] = []
    record: dict = {"settings": settings}
    if args.part in ("all", "gettext"):
        run_gettext(args, rows, record)
    if args.part in ("all", "wordnet"):
        run_wordnet(args, rows, record)
    cmd = (f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')} .venv/bin/python "
           + " ".join(shlex.quote(a) for a in sys.argv))
    text = ("# Fine-tuning: before and after\n\n" + f"Command: `{cmd}`\n\n" + f"Settings: {json.dumps(settings)}\n\n"
            + LOAD_NOTE + "\n\n" + "\n".join(rows) + "\n")
    Path(args.results).write_text(text, encoding="utf-8")
    Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    (Path(args.work_dir) / f"record-{args.part}.json").write_text(json.dumps(record, indent=1, default=str))
    print(text)


if __name__ == "__main__":
    main()
