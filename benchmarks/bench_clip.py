"""A small CLIP on offline data: scikit-learn's 1,797 handwritten digits with generated English and Korean captions.

Two linear heads (1,280-d EfficientNet-Lite0 features and 512-d multilingual USE features -> 128-d) are trained
with the symmetric InfoNCE loss on 80 % of the images (`embedlab train clip`, seed 0); the other 20 % are the
held-out gallery. Reported, text -> image on that gallery (a caption's relevant images are the held-out images it
was written for, i.e. every image of its digit):
  * P@1, P@10 and MRR for the trained heads, the untrained (initial random) heads and ConSE (no training: images
    as probability-weighted USE vectors of their ImageNet labels, Norouzi et al. 2014), per caption language;
  * the same for caption phrasings never seen in training ("a photo of the number seven", "숫자 칠 사진");
  * zero-shot classification of the held-out images among the ten digits' captions (English / Korean).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_clip.py --out benchmarks/results/clip.md
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _common import LOAD_NOTE, md_table, print_settings  # noqa: E402

import embedlab  # noqa: E402
from embedlab.train.clip import train_clip  # noqa: E402
from embedlab.train.clip_data import DIGIT_WORDS, KOREAN_DIGITS, make_digits_example, read_captions  # noqa: E402
from embedlab.train.clip_heads import ContrastiveHeads, caption_queries, retrieval_scores, tower_features  # noqa: E402

UNSEEN_EN = "a photo of the number {w}"
UNSEEN_KO = "숫자 {k} 사진"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def label_of(path: str | Path) -> int:
    from sklearn.datasets import load_digits

    return int(load_digits().target[int(Path(path).stem.split("_")[1])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="bench-data/clip-digits", help="where the example images are written")
    ap.add_argument("--cache", default="bench-data/tower-cache", help="tower feature cache")
    ap.add_argument("--work", default="bench-data/clip-out", help="output folder of the trained heads")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    info = print_settings("small CLIP: heads over frozen towers on the digits example")
    data_dir = Path(args.data)
    if not (data_dir / "captions.csv").is_file():
        make_digits_example(data_dir, seed=0)
    data = read_captions(data_dir, data_dir / "captions.csv")
    t0 = time.perf_counter()
    summary = train_clip(None, None, args.work, data=data, cache=args.cache, progress=True,
                         heads=ContrastiveHeads(dim=args.dim, epochs=args.epochs, seed=0, threads=args.threads))
    total_s = time.perf_counter() - t0
    held = [Path(p) for p in summary["heldout_images"]]
    labels = np.array([label_of(p) for p in held])
    text_enc, image_enc = embedlab.encoder("use-multilingual"), embedlab.encoder("efficientnet-lite0")
    t1 = time.perf_counter()
    img_feats = tower_features(image_enc, held, args.cache)
    cached_s = time.perf_counter() - t1
    test = data.subset(np.array([data.images.index(p.resolve()) for p in held]))
    queries, relevant = caption_queries(test)
    lang = ["ko" if HANGUL.search(q) else "en" for q in queries]
    unseen = [UNSEEN_EN.format(w=DIGIT_WORDS[d]) for d in range(10)] + [UNSEEN_KO.format(k=KOREAN_DIGITS[d])
                                                                          for d in range(10)]
    unseen_rel = [set(np.flatnonzero(labels == d % 10)) for d in range(20)]
    # held-out images by digit, each prompt: used for zero-shot classification
    from embedlab.encoders.conse import ConSEEncoder
    from embedlab.encoders.joint import JointEncoder

    joint = JointEncoder(args.work)
    conse = ConSEEncoder()
    t2 = time.perf_counter()
    conse_img = conse.embed_probabilities(image_enc.predict_proba(held))
    conse_s = time.perf_counter() - t2
    heads_img = img_feats @ joint.image_head

    def init_heads(x: np.ndarray, which: str) -> np.ndarray:
        h = ContrastiveHeads(dim=args.dim, epochs=0, seed=0).fit(
            np.zeros((2, image_enc.dim), np.float32), np.zeros((2, text_enc.dim), np.float32), np.array([0, 1]))
        return x @ (h.init_text_head_ if which == "text" else h.init_image_head_)

    systems = {
        "trained heads": (lambda q: tower_features(text_enc, q, args.cache) @ joint.text_head, heads_img),
        "untrained heads": (lambda q: init_heads(tower_features(text_enc, q, args.cache), "text"),
                            init_heads(img_feats, "image")),
        "ConSE (no training)": (lambda q: conse.text.encode(q), conse_img),
    }
    rows, zs_rows = [], []
    for name, (text_fn, img_vecs) in systems.items():
        row = [name]
        for which in ("en", "ko"):
            sel = [i for i, l_ in enumerate(lang) if l_ == which]
            s = retrieval_scores(text_fn([queries[i] for i in sel]), img_vecs, [relevant[i] for i in sel])
            row += [f"{s['p@1']:.3f}", f"{s['p@10']:.3f}", f"{s['mrr']:.3f}"]
        s = retrieval_scores(text_fn(unseen), img_vecs, unseen_rel)
        row += [f"{s['p@1']:.3f}", f"{s['p@10']:.3f}"]
        rows.append(row)
        zs = [name]
        for prompts in ([UNSEEN_EN.format(w=w) for w in DIGIT_WORDS], [UNSEEN_KO.format(k=k) for k in KOREAN_DIGITS]):
            t = text_fn(prompts)
            t = t / np.linalg.norm(t, axis=1, keepdims=True)
            v = img_vecs / np.linalg.norm(img_vecs, axis=1, keepdims=True)
            zs.append(f"{float(((v @ t.T).argmax(1) == labels).mean()):.3f}")
        zs_rows.append(zs)
        print(name, row[1:], zs[1:], flush=True)
    h = summary["heldout"]
    table = md_table(["system", "EN P@1", "EN P@10", "EN MRR", "KO P@1", "KO P@10", "KO MRR",
                      "unseen phrasing P@1", "unseen P@10"], rows)
    zs_table = md_table(["system", "zero-shot accuracy, English prompts", "Korean prompts"], zs_rows)
    cmd = "OMP_NUM_THREADS=1 .venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv)
    report = "\n\n".join([
        "# A small CLIP: projection heads over frozen towers (digits, English + Korean captions)",
        f"Command: `{cmd}`  \nDate: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; settings: "
        + ", ".join(f"{k}={v}" for k, v in info.items()) + f"; torch threads {args.threads}. {LOAD_NOTE}",
        f"Data: {len(data.images)} images, {len(data.captions)} captions (one English, one Korean per image, from "
        f"three templates each). Trained on {summary['train']['images']} images / {summary['train']['captions']} "
        f"captions, {args.epochs} epochs, dim {args.dim}, seed 0; held out: {h['images']} images, "
        f"{len(queries)} distinct captions as queries (chance P@1 ≈ 0.10). Loss "
        f"{summary['loss_history'][0]:.3f} → {summary['loss_history'][-1]:.3f}; learned 1/temperature "
        f"{summary['logit_scale']:.1f}.",
        f"Time: the whole `train_clip` call {total_s:.1f} s (tower features from the cache when present); held-out "
        f"image features again from the cache {cached_s:.2f} s; ConSE's image pass over the held-out images "
        f"{conse_s:.1f} s.",
        "Text → image retrieval on the held-out gallery:", table,
        "Zero-shot classification of the held-out images (unseen phrasing, ten prompts):", zs_table])
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
