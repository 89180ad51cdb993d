"""Real sentence vectors for the index benchmarks: the shared corpus cut into short sentences, encoded once with
``minilm-onnx-int8`` (384-d, unit rows) and cached under ``bench-data/`` in parts, so a long encode can stop and
resume and a benchmark can use however many rows exist.

    python benchmarks/make_corpus.py bench-data/corpus.txt
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/sentence_vectors.py --n 1000000     # resumable; Ctrl-C is fine

Sentences: each corpus line (one dictionary entry, gloss or verse, lower-cased, letters only) cut into windows
of at most 8 words starting every 6 words, windows under 4 words dropped, exact duplicates dropped, in corpus order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "bench-data" / "corpus.txt"
CACHE = ROOT / "bench-data" / "sentences-minilm-int8"
PART = 20_000
WINDOW, STRIDE, MIN_WORDS = 8, 6, 4
ENCODER = "minilm-onnx-int8"


def sentences(corpus: Path = CORPUS) -> Iterator[str]:
    seen: set[int] = set()
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            words = line.split()
            for s in range(0, max(len(words) - WINDOW + STRIDE, 1), STRIDE):
                chunk = words[s:s + WINDOW]
                if len(chunk) < MIN_WORDS:
                    continue
                text = " ".join(chunk)
                h = hash(text)
                if h in seen:
                    continue
                seen.add(h)
                yield text


def parts(cache: Path = CACHE) -> list[Path]:
    return sorted(cache.glob("part-*.npy"))


def load(n: int | None = None, cache: Path = CACHE) -> np.ndarray:
    """The first ``n`` cached vectors (all when None) as one float32 array; InputError-like SystemExit if fewer."""
    files = parts(cache)
    have = len(files) * PART
    if not files:
        raise SystemExit(f"no cached sentence vectors in {cache}; run benchmarks/sentence_vectors.py first")
    want = have if n is None else n
    if want > have:
        raise SystemExit(f"only {have:,} sentence vectors are cached in {cache}, {want:,} asked; run "
                         f"benchmarks/sentence_vectors.py --n {want} to encode the rest")
    out = np.empty((want, 384), np.float32)
    at = 0
    for f in files:
        if at >= want:
            break
        block = np.load(f, mmap_mode="r")
        take = min(len(block), want - at)
        out[at:at + take] = block[:take]
        at += take
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="encode until this many vectors are cached")
    ap.add_argument("--batch-size", type=int, default=128)
    args = ap.parse_args(argv)
    if not CORPUS.is_file():
        raise SystemExit(f"{CORPUS} missing: python benchmarks/make_corpus.py {CORPUS}")
    import embedlab

    CACHE.mkdir(parents=True, exist_ok=True)
    done = len(parts())
    enc = embedlab.encoder(ENCODER)
    (CACHE / "meta.json").write_text(json.dumps({"encoder": enc.name, "fingerprint": enc.fingerprint,
                                                 "window": WINDOW, "stride": STRIDE, "min_words": MIN_WORDS, "part": PART}))
    buf: list[str] = []
    part = 0
    t0 = time.time()
    for text in sentences():
        buf.append(text)
        if len(buf) < PART:
            continue
        if part >= done:
            if part * PART >= args.n:
                break
            vecs = enc.encode(buf, batch_size=args.batch_size, normalize=True)
            tmp = CACHE / f".part-{part:05d}.npy"
            np.save(tmp, vecs.astype(np.float32))
            os.replace(tmp, CACHE / f"part-{part:05d}.npy")
            rate = (part + 1 - done) * PART / (time.time() - t0)
            print(f"part {part}: {(part + 1) * PART:,} vectors cached ({rate:,.0f}/s)", flush=True)
        part += 1
        buf = []
    print(f"{len(parts()) * PART:,} vectors cached in {CACHE}", file=sys.stderr)


if __name__ == "__main__":
    main()
