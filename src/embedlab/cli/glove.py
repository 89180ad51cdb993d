"""`embedlab train glove CORPUS -o DIR`: GloVe vectors (Pennington et al. 2014) from a streamed corpus."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from ..io import save_word2vec
from ..persist import atomic_folder
from ..train.corpus import LineCorpus
from ..train.glove import GloVe
from .app import console, emit_json, threads_option
from .train import check_out, stopped_by_ctrl_c, train_app


@train_app.command("glove")
def glove(
    corpus: Path = typer.Argument(..., help="text file (one sentence per line) or folder of text files"),
    out: Path = typer.Option(..., "-o", "--out", help="output folder: model files + vectors.txt (W + W̃, word2vec format)"),
    dim: int = typer.Option(100, help="vector size"),
    window: int = typer.Option(10, help="context words on each side (within a line)"),
    min_count: int = typer.Option(5, help="ignore words seen fewer times"),
    max_vocab_size: int | None = typer.Option(None, help="keep only this many most frequent words"),
    x_max: float = typer.Option(100.0, help="count at which a cell's weight reaches 1 (10 suits corpora of a few "
                                            "million words)"),
    alpha: float = typer.Option(0.75, help="exponent of the weighting function f(x) = (x / x_max) ** alpha"),
    lr: float = typer.Option(0.05, help="AdaGrad's initial learning rate"),
    epochs: int = typer.Option(25, help="passes over the co-occurrence cells"),
    distance_weighting: bool = typer.Option(True, "--distance-weighting/--no-distance-weighting",
                                            help="a pair d words apart counts 1/d (default) or 1"),
    max_memory: str | None = typer.Option(None, help="memory for counting tables, and then training, e.g. 2GB "
                                                     "(default: 1 GiB for counting)"),
    workers: int = typer.Option(2, help="counting and training threads"),
    seed: int = typer.Option(1, help="random seed (1 worker: bit-identical results)"),
    lowercase: bool = typer.Option(False, "--lowercase", help="lower-case the corpus while reading"),
    binary: bool = typer.Option(False, "--binary", help="write vectors.bin (binary word2vec) instead of vectors.txt"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace OUT if it exists"),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Train GloVe: count co-occurrences (bounded memory), fit them with AdaGrad; OUT gets the model and its vectors."""
    model = GloVe(dim=dim, window=window, min_count=min_count, max_vocab_size=max_vocab_size, x_max=x_max, alpha=alpha,
                  lr=lr, epochs=epochs, distance_weighting=distance_weighting, workers=workers, seed=seed,
                  max_memory=max_memory, progress=not as_json)
    model.check_params()  # bad options fail before anything is read or written
    lines = LineCorpus(corpus, lowercase=lowercase)
    vec_name = "vectors.bin" if binary else "vectors.txt"
    t0 = time.perf_counter()
    with stopped_by_ctrl_c(out, "glove"), atomic_folder(check_out(out, overwrite)) as tmp:  # whole, or not at all
        model.fit(lines, tmp_dir=tmp)
        model.write_files(tmp)
        save_word2vec(model.wv, tmp / vec_name, binary=binary)
    summary = {"out": str(out), "vectors": str(out / vec_name), "vocab_size": len(model.vocab_), "dim": dim,
               "corpus_tokens": model.vocab_.raw_tokens, "cooccurrence_cells": model.cooccurrence_nnz_,
               "epochs": epochs, "seconds": round(time.perf_counter() - t0, 3),
               "train_seconds": round(model.train_seconds_, 3), "loss_history": model.loss_history_}
    if as_json:
        emit_json(summary)
        return
    console.print(f"trained GloVe on {summary['corpus_tokens']:,} tokens: {summary['vocab_size']:,} words x {dim} dims, "
                  f"{summary['cooccurrence_cells']:,} co-occurrence cells, in {summary['seconds']:.1f} s; loss by epoch "
                  f"{', '.join(f'{x:.4f}' for x in model.loss_history_)}")
    console.print(f"model: {out}/glove.json; vectors: {summary['vectors']}; try `embedlab evaluate {out}`")
