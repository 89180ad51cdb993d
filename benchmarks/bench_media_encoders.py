"""Throughput of the image and audio encoders, each beside the raw library call it wraps.

* EfficientNet-Lite0: images/s for 224x224 inputs at batch 16 and 32 — embedlab's ``encode`` (validation,
  PIL preprocessing, normalisation) vs the bare network forward on a ready tensor.
* Audio: seconds of audio processed per second — embedlab ``mfcc`` vs a plain librosa MFCC-mean pipeline,
  ``resemblyzer`` vs the package's own ``preprocess_wav`` + ``embed_utterance``, ``aisfx`` vs the package's
  own librosa spectrogram + ``model_get_embedding`` path.
* wav2vec2: a TINY RANDOMLY INITIALISED ``transformers.Wav2Vec2Model`` (wav2vec2-base's 7-layer conv feature
  encoder layout, so 50 frames/s, but 32-d, 2 transformer layers) saved to a temp folder, since no wav2vec2
  weights ship in a package. It measures the pipeline around the model (decode, resample, normalise, forward,
  mean-pool) vs the Hugging Face way (``librosa.load`` + ``Wav2Vec2FeatureExtractor`` + forward), NOT the speed
  of wav2vec2-base, whose 95M-parameter forward would dominate both sides.

Runs are interleaved (ours, reference, ours, ...) and the median of ``--repeats`` is reported.

    .venv/bin/python benchmarks/bench_media_encoders.py --repeats 3 --out benchmarks/results/media_encoders.md
    .venv/bin/python benchmarks/bench_media_encoders.py --only wav2vec2 --out benchmarks/results/media_encoders.md

``--only`` runs some groups and, with ``--out``, merges their rows into the existing table (replacing rows of
the same encoder, keeping the others) and records which command produced which rows.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _interleaved(fns: dict, repeats: int) -> dict[str, float]:
    for fn in fns.values():  # warm-up (lazy imports, first-call allocations)
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: float(np.median(v)) for k, v in times.items()}


def bench_images(repeats: int) -> list[tuple]:
    import torch

    import embedlab

    enc = embedlab.encoder("efficientnet-lite0")
    model = enc.model
    rng = np.random.default_rng(0)
    rows = []
    for batch in (16, 32):
        images = [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(batch)]
        x = torch.from_numpy(enc.preprocess(images))

        def raw(x=x):
            with torch.inference_mode():
                model._avg_pooling(model.extract_features(x)).flatten(1)

        t = _interleaved({"embedlab": lambda images=images, batch=batch: enc.encode(images, batch_size=batch),
                          "raw": raw}, repeats)
        rows.append(("efficientnet-lite0 features", f"batch {batch}", batch / t["embedlab"], batch / t["raw"],
                     "images/s", "bare network forward on a ready tensor"))
    return rows


def _make_audio(tmp: Path) -> list[Path]:
    """Four ~5 s clips: two espeak-ng voices (or, without espeak-ng, numpy chirps) at 22,050 Hz."""
    import soundfile as sf

    text = ("Embedding models turn sounds into vectors so that similar recordings lie close together, "
            "and a search engine can find them again.")
    paths = []
    for i, voice in enumerate(("en-us", "en-gb+f3", "en-us+m3", "en-gb+f4")):
        p = tmp / f"clip{i}.wav"
        if shutil.which("espeak-ng"):
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(p), text], check=True, capture_output=True)
        else:
            t = np.arange(5 * 22050) / 22050
            sf.write(p, (0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t * (1 + t))).astype(np.float32), 22050)
        paths.append(p)
    return paths


def bench_audio(repeats: int) -> list[tuple]:
    import soundfile as sf

    import embedlab
    from embedlab.encoders.media import load_audio

    rows = []
    with tempfile.TemporaryDirectory() as d:
        paths = _make_audio(Path(d))
        seconds = sum(sf.info(str(p)).duration for p in paths)

        # mfcc vs a minimal librosa pipeline (load, resample, MFCC, mean over time)
        import librosa

        mfcc = embedlab.encoder("mfcc")

        def librosa_mfcc():
            for p in paths:
                y = load_audio(p, 16000)
                librosa.feature.mfcc(y=y, sr=16000, n_mfcc=20, n_fft=512, hop_length=160).mean(axis=1)

        t = _interleaved({"embedlab": lambda: mfcc.encode(paths), "ref": librosa_mfcc}, repeats)
        rows.append(("mfcc (248-d)", f"{len(paths)} clips", seconds / t["embedlab"], seconds / t["ref"],
                     "audio s/s", "librosa MFCC means only (no deltas, no log-mel stats)"))

        try:
            import resemblyzer
        except ImportError:
            resemblyzer = None
        if resemblyzer is not None:
            res = embedlab.encoder("resemblyzer")

            def resemblyzer_own():
                for p in paths:
                    res.model.embed_utterance(resemblyzer.preprocess_wav(p))

            t = _interleaved({"embedlab": lambda: res.encode(paths), "ref": resemblyzer_own}, repeats)
            rows.append(("resemblyzer (256-d)", f"{len(paths)} clips", seconds / t["embedlab"], seconds / t["ref"],
                         "audio s/s", "resemblyzer.preprocess_wav + VoiceEncoder.embed_utterance"))

        try:
            import aisfx.inference as ai_inf
            from aisfx.preprocessing import spectrogram_normalize
            from aisfx.spectrogram import spectrogram_librosa
        except ImportError:
            ai_inf = None
        if ai_inf is not None:
            sfx = embedlab.encoder("aisfx")

            def aisfx_own():
                for p in paths:
                    spec = spectrogram_librosa.compute_spectrogram(str(p), sr=44100, block_size=2048, hop_size=1024,
                                                                   n_mels=96, f_min=0.0, f_max=22050.0)
                    spec = spectrogram_normalize(spec.T)
                    ai_inf.model_get_embedding(spec, 0.5, False, _AisfxNet(sfx.model), "cpu").mean(0)

            t = _interleaved({"embedlab": lambda: sfx.encode(paths), "ref": aisfx_own}, repeats)
            rows.append(("aisfx (512-d)", f"{len(paths)} clips", seconds / t["embedlab"], seconds / t["ref"],
                         "audio s/s", "aisfx librosa spectrogram + model_get_embedding"))
    return rows


TINY_W2V2 = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                 conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
W2V2_NAME = "wav2vec2 (TINY RANDOM model, 32-d)"


def bench_wav2vec2(repeats: int) -> list[tuple]:
    """embedlab's wav2vec2 pipeline vs librosa.load + Wav2Vec2FeatureExtractor + forward, on a tiny random model."""
    import librosa
    import soundfile as sf
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    from embedlab.encoders.audio import Wav2Vec2Encoder

    with tempfile.TemporaryDirectory() as d:
        torch.manual_seed(0)
        Wav2Vec2Model(Wav2Vec2Config(**TINY_W2V2)).eval().save_pretrained(Path(d) / "w2v")
        enc = Wav2Vec2Encoder(Path(d) / "w2v")
        model = Wav2Vec2Model.from_pretrained(Path(d) / "w2v").eval()
        extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                             do_normalize=True, return_attention_mask=False)
        paths = _make_audio(Path(d))
        seconds = sum(sf.info(str(p)).duration for p in paths)

        def hf_way():
            out = []
            for p in paths:
                y, _ = librosa.load(p, sr=16000)
                x = extractor(y, sampling_rate=16000, return_tensors="pt").input_values
                with torch.inference_mode():
                    out.append(model(x).last_hidden_state[0].mean(0).numpy())
            return np.stack(out)

        ours, ref = enc.encode(paths, normalize=False), hf_way()
        cos = float(np.mean(np.sum(ours * ref, 1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))))
        print(f"wav2vec2 tiny: mean cosine embedlab vs HF way {cos:.6f}", flush=True)
        t = _interleaved({"embedlab": lambda: enc.encode(paths), "ref": hf_way}, repeats)
        params = sum(p.numel() for p in model.parameters())
        return [(W2V2_NAME, f"{len(paths)} clips", seconds / t["embedlab"], seconds / t["ref"], "audio s/s",
                 f"librosa.load + Wav2Vec2FeatureExtractor + Wav2Vec2Model forward, same {params / 1e3:.0f}k-param "
                 f"random model (mean cosine {cos:.4f}); pipeline overhead, not wav2vec2-base speed")]


GROUPS = {"images": bench_images, "audio": bench_audio, "wav2vec2": bench_wav2vec2}


def _merge(old: str, new_rows: list[str], note: str) -> str:
    """Put ``new_rows`` into the table of an existing results file: a row whose encoder (first cell) matches
    is replaced, others are appended after the table's last row; ``note`` is added at the end of the file
    (replacing an earlier note about the same rows)."""
    lines = old.rstrip("\n").split("\n")
    table = [i for i, line in enumerate(lines) if line.startswith("| ")]
    if not table:
        raise SystemExit("the --out file has no table to merge into; run without --only first")
    key = {r.split("|")[1].strip(): r for r in new_rows}
    for i in table:
        name = lines[i].split("|")[1].strip()
        if name in key:
            lines[i] = key.pop(name)
    last = max(i for i, line in enumerate(lines) if line.startswith("| "))
    lines[last + 1:last + 1] = list(key.values())
    text = "\n".join(lines)
    stale = "\n\n" + note.split(": from a separate run")[0] + ": from a separate run"
    while stale in text:  # an earlier note about the same rows: replaced by this run's
        start = text.index(stale)
        end = text.find("\n", start + 2)
        text = text[:start] + (text[end:] if end != -1 else "")
    return text + "\n\n" + note + "\n"


class _AisfxNet:
    """Adapter giving aisfx's ``model_get_embedding`` the ``get_embedding`` method it calls."""

    def __init__(self, net) -> None:
        self.net = net

    def get_embedding(self, x):
        return self.net(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    ap.add_argument("--only", choices=sorted(GROUPS), action="append", default=None,
                    help="run only these groups (repeatable); with --out, merge their rows into the existing file")
    args = ap.parse_args()

    import torch

    threads = (f"torch threads {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
               f"cores {os.cpu_count()}")
    print(threads, flush=True)
    groups = args.only or list(GROUPS)
    rows = [row for g in groups for row in GROUPS[g](args.repeats)]
    lines = ["| encoder | input | embedlab | reference | unit | ratio (embedlab / reference) | reference is |",
             "|---|---|---|---|---|---|---|"]
    for name, inp, ours, ref, unit, what in rows:
        lines.append(f"| {name} | {inp} | {ours:,.1f} | {ref:,.1f} | {unit} | {ours / ref:.2f} | {what} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        cmd = "OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_media_encoders.py " + " ".join(sys.argv[1:])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if args.only and args.out.is_file():
            when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
            note = (f"Row(s) {', '.join(r[0] for r in rows)}: from a separate run on {when}, `{cmd}` "
                    f"({threads}, median of {args.repeats} interleaved repeats after one warm-up, machine shared with "
                    "other work); every other row comes from the command at the top of this file.")
            args.out.write_text(_merge(args.out.read_text(), lines[2:], note))
            print(f"merged {len(rows)} row(s) into {args.out}")
            return
        args.out.write_text(
            "# Media encoders: throughput\n\n"
            f"Command: `{cmd}`\n\n"
            f"Machine: {platform.machine()}, {threads}, Python {platform.python_version()}, torch {torch.__version__}."
            " **The machine was shared with other engineers' work while this ran (load average well above the core "
            "count), so absolute numbers are low and noisy; the ratios, from interleaved runs, are the meaningful "
            f"part.** Median of {args.repeats} interleaved repeats after one warm-up.\n\n"
            f"{table}\n\n"
            "Notes: the EfficientNet ratio is the cost of embedlab's per-image validation and PIL resize/crop/"
            "normalise relative to the bare forward pass. Audio encoders process one clip at a time (so results "
            "never depend on batch size); the audio-seconds figure includes file decoding and soxr resampling. "
            "The wav2vec2 row uses a tiny randomly initialised model (no wav2vec2 weights ship in a package): it "
            "measures the pipeline around the model, not wav2vec2-base, whose forward pass would dominate.\n"
        )
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
