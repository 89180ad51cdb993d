"""`embedlab train ...` (trainers) and `embedlab evaluate OUT` (analogy and word-similarity scores).

Other trainer modules add their subcommands to ``train_app`` (``from .train import train_app``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from .._params import check_int
from ..errors import InputError
from ..evaluate import evaluate_analogies, evaluate_word_pairs
from ..io import load_vectors, save_word2vec
from ..persist import atomic_folder, holds_embedlab_output
from ..train.corpus import LineCorpus
from ..train.word2vec import Word2Vec
from ..vectors import Vectors
from .app import App, app, console, emit_json, err_console, threads_option

train_app = App(help="Learn vectors from data (Word2Vec; more trainers below).", no_args_is_help=True)
app.add_typer(train_app, name="train")


def check_out(out: Path, overwrite: bool) -> Path:
    """Check, before any work, that the output folder OUT may be written (as a whole, by ``atomic_folder``): it does
    not exist, is an empty folder (``mkdir out`` first is fine), or ``overwrite`` is set."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; -o must name a folder")
    if out.is_dir() and not overwrite and any(out.iterdir()):
        raise InputError(f"{out} already exists and is not empty; pass --overwrite to replace it or choose another "
                         "-o folder")
    if out.is_dir() and overwrite and any(out.iterdir()) and not holds_embedlab_output(out):
        raise InputError(f"{out} holds files that no embedlab command wrote (it has no embedlab manifest), so "
                         "--overwrite does not replace it; choose another -o folder")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"the parent folder of {out} does not exist; create {parent} first")
    return out


@contextmanager
def stopped_by_ctrl_c(out: Path | None, command: str) -> Iterator[None]:
    """Ctrl-C while ``embedlab train COMMAND`` runs: one line saying that OUT was not written and how to go on (the
    trainers of this module keep no checkpoint), then exit 130 as ``index`` and ``train mlm`` do."""
    try:
        yield
    except KeyboardInterrupt:
        where = "nothing was written" if out is None else f"nothing was written to {out} (it is as it was)"
        err_console.print(f"interrupted: {where}; `embedlab train {command}` keeps no checkpoint, so run the same "
                          "command again to train from the start", highlight=False, markup=False)
        raise typer.Exit(130) from None


@train_app.command("word2vec")
def word2vec(
    corpus: Path = typer.Argument(..., help="text file (one sentence per line) or folder of text files"),
    out: Path = typer.Option(..., "-o", "--out", help="output folder: model files + vectors.txt (word2vec format)"),
    arch: str = typer.Option("skipgram", help="skipgram or cbow"),
    dim: int = typer.Option(100, help="vector size"),
    window: int = typer.Option(5, help="maximum context window (each side)"),
    negative: int | None = typer.Option(None, help="negative samples per word (default 5; 0 with --hs)"),
    hs: bool = typer.Option(False, "--hs", help="hierarchical softmax (pure HS unless --negative is given)"),
    sample: float = typer.Option(1e-3, help="subsampling threshold for frequent words (0 = off)"),
    alpha: float | None = typer.Option(None, help="initial learning rate (default 0.025 skipgram, 0.05 cbow)"),
    min_alpha: float = typer.Option(1e-4, help="final learning rate"),
    epochs: int = typer.Option(5, help="passes over the corpus"),
    min_count: int = typer.Option(5, help="ignore words seen fewer times"),
    max_vocab_size: int | None = typer.Option(None, help="cap on distinct words while counting (word2vec.c pruning)"),
    max_memory: str | None = typer.Option(None, help="refuse to train above this much memory, e.g. 2GB"),
    workers: int = typer.Option(2, help="training threads"),
    seed: int = typer.Option(1, help="random seed (1 worker: bit-identical results)"),
    shuffle: bool = typer.Option(True, "--shuffle/--no-shuffle",
                                 help="visit the corpus in seeded random 10k-word blocks each epoch (default) or in file order"),
    lowercase: bool = typer.Option(False, "--lowercase", help="lower-case the corpus while reading"),
    binary: bool = typer.Option(False, "--binary", help="write vectors.bin (binary word2vec) instead of vectors.txt"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace OUT if it exists"),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Train Skip-gram or CBOW word vectors; OUT gets the full model and its vectors in word2vec format."""
    if negative is None:
        negative = 0 if hs else 5
    model = Word2Vec(dim=dim, window=window, arch=arch, negative=negative, hs=hs, sample=sample, min_count=min_count,
                     max_vocab_size=max_vocab_size, alpha=alpha, min_alpha=min_alpha, epochs=epochs, workers=workers,
                     seed=seed, shuffle=shuffle, max_memory=max_memory, progress=not as_json)
    model.check_params()  # bad options fail before anything is read or written
    lines = LineCorpus(corpus, lowercase=lowercase)
    vec_name = "vectors.bin" if binary else "vectors.txt"
    t0 = time.perf_counter()
    with stopped_by_ctrl_c(out, "word2vec"), atomic_folder(check_out(out, overwrite)) as tmp:  # whole, or not at all
        model.fit(lines, tmp_dir=tmp)
        model.write_files(tmp)
        save_word2vec(model.wv, tmp / vec_name, binary=binary)
    summary = {"out": str(out), "vectors": str(out / vec_name), "arch": arch, "vocab_size": len(model.vocab_),
               "dim": dim, "corpus_tokens": model.vocab_.raw_tokens, "trained_tokens_per_epoch": model.corpus_tokens_,
               "epochs": epochs, "seconds": round(time.perf_counter() - t0, 3),
               "words_per_sec": round(model.words_per_sec_), "loss_history": model.loss_history_,
               "memory_estimate_bytes": model.memory_estimate_}
    if as_json:
        emit_json(summary)
        return
    console.print(f"trained {arch} on {summary['corpus_tokens']:,} tokens: {summary['vocab_size']:,} words x {dim} dims "
                  f"in {summary['seconds']:.1f} s ({summary['words_per_sec']:,} words/s); "
                  f"loss by epoch {', '.join(f'{x:.4f}' for x in model.loss_history_)}")
    console.print(f"model: {out}/model.json; vectors: {summary['vectors']}")


def _load_for_eval(path: Path) -> Vectors:
    """A Word2Vec model folder, a folder holding vectors.txt/.bin, or any vectors file embedlab reads."""
    if not path.exists():
        raise InputError(f"{path} does not exist; pass a folder from `embedlab train` or a vectors file")
    if path.is_dir():
        if (path / "model.json").is_file():
            return Word2Vec.load(path).wv
        for name in ("vectors.txt", "vectors.bin"):
            if (path / name).is_file():
                return load_vectors(path / name)
        raise InputError(f"{path} holds neither model.json nor vectors.txt/vectors.bin")
    return load_vectors(path)


def evaluation_report(vectors: Vectors, restrict_vocab: int = 30000) -> dict[str, Any]:
    """Analogy accuracy (Google, per section, restricted, case-insensitive), WordSim-353 / SimLex-999 Spearman."""
    an = evaluate_analogies(vectors, restrict_vocab=restrict_vocab, case_insensitive=True)
    report: dict[str, Any] = {"vocab_size": len(vectors), "dim": vectors.dim, "analogy": an.to_dict(),
                              "analogy_oov_ratio": 1.0 - an.coverage}
    for name in ("wordsim353", "simlex999"):
        try:
            report[name] = evaluate_word_pairs(vectors, name).to_dict()
        except InputError:  # no pair in vocabulary: report it instead of failing
            report[name] = {"spearman": None, "pearson": None, "evaluated": 0, "oov_ratio": 1.0}
    return report


@app.command()
def evaluate(
    path: Path = typer.Argument(..., help="output folder of `embedlab train`, or a vectors file"),
    restrict_vocab: int = typer.Option(30000, help="analogies: only the most frequent words are candidates"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Score word vectors: Google analogies (per section, with coverage), WordSim-353 and SimLex-999, OOV rates."""
    check_int(restrict_vocab, "--restrict-vocab", low=1, hint="analogy candidates are the N most frequent words")
    report = evaluation_report(_load_for_eval(path), restrict_vocab)
    if as_json:
        emit_json(report)
        return
    an = report["analogy"]
    t = Table(title=f"{path}: {report['vocab_size']:,} words x {report['dim']} dims")
    for col in ("benchmark", "score", "evaluated", "coverage"):
        t.add_column(col, justify="left" if col == "benchmark" else "right")
    t.add_row(f"analogies (top {restrict_vocab:,}, case-insensitive)", f"{an['accuracy']:.4f}",
              f"{an['evaluated']}/{an['total_questions']}", f"{an['coverage']:.3f}")
    for name, sec in an["sections"].items():
        cov = sec["evaluated"]
        t.add_row(f"  {name}", f"{sec['accuracy']:.4f}", str(cov), "")
    for name, label in (("wordsim353", "WordSim-353 Spearman"), ("simlex999", "SimLex-999 Spearman")):
        r = report[name]
        score = "n/a" if r["spearman"] is None else f"{r['spearman']:.4f}"
        t.add_row(label, score, str(r["evaluated"]), f"{1 - r['oov_ratio']:.3f}")
    console.print(t)
    console.print(f"OOV rates: analogies {report['analogy_oov_ratio']:.1%}, WordSim-353 "
                  f"{report['wordsim353']['oov_ratio']:.1%}, SimLex-999 {report['simlex999']['oov_ratio']:.1%}")
