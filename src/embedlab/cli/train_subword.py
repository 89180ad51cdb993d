"""`embedlab train textbook | fasttext | bpe` and `embedlab oov MODEL WORD` (vectors for any string)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, cast

import typer
from rich.table import Table

from .._params import check_int
from ..errors import InputError
from ..io import save_word2vec
from ..persist import atomic_folder
from ..train.bpe import BPETokenizer
from ..train.corpus import LineCorpus
from ..train.subword import FastText
from ..train.textbook import Arch, TextbookWord2Vec
from .app import app, console, emit_json, threads_option
from .train import check_out, stopped_by_ctrl_c, train_app

_WORD = re.compile(r"\w+(?:'\w+)*")


def _words(line: str) -> list[str]:
    """Letters/digits runs (punctuation dropped): "The cat sat." -> ["The", "cat", "sat"]."""
    return _WORD.findall(line)


def _subwords(spec: str) -> tuple[int, int]:
    try:
        lo, hi = (int(x) for x in spec.split(","))
    except ValueError:
        raise InputError(f"--subwords takes MIN,MAX character n-gram lengths such as 3,6 (or 0,0 for none), "
                         f"got {spec!r}") from None
    return lo, hi


@train_app.command("textbook")
def textbook(
    corpus: Path = typer.Argument(..., help="small text file (one sentence per line); punctuation is dropped"),
    arch: str = typer.Option("cbow", help="cbow or skipgram"),
    dim: int = typer.Option(10, help="vector size d"),
    window: int = typer.Option(2, help="context words on each side"),
    lr: float = typer.Option(0.05, help="SGD learning rate"),
    epochs: int = typer.Option(100, help="passes over the corpus"),
    min_count: int = typer.Option(1, help="ignore words seen fewer times"),
    seed: int = typer.Option(0, help="random seed"),
    keep_case: bool = typer.Option(False, "--keep-case", help="do not lower-case the text"),
    predict: str | None = typer.Option(None, help="context words (space-separated): print the likeliest centre words"),
    context: str | None = typer.Option(None, help="a centre word: print its likeliest context words"),
    topn: int = typer.Option(5, help="how many predictions to print"),
    out: Path | None = typer.Option(None, "-o", "--out", help="folder for vectors.txt (rows of W, word2vec format)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace OUT if it exists"),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """The textbook full-softmax CBOW / Skip-gram (numpy, for small vocabularies): train, then predict."""
    if out is not None:
        check_out(out, overwrite)  # before training, not after it
    check_int(topn, "--topn", low=1)
    # check_params() below refuses an arch other than cbow / skipgram
    model = TextbookWord2Vec(cast(Arch, arch), dim=dim, window=window, lr=lr, epochs=epochs, seed=seed,
                             min_count=min_count, progress=not as_json)
    model.check_params()  # bad options fail before the corpus is read
    lines = LineCorpus(corpus, lowercase=not keep_case, tokenizer=_words)
    sentences = list(lines)
    t0 = time.perf_counter()
    with stopped_by_ctrl_c(out, "textbook"):
        model.fit(sentences)
    result: dict[str, Any] = {"arch": arch, "vocab_size": len(model.vocab_), "dim": dim, "epochs": epochs,
                              "seconds": round(time.perf_counter() - t0, 3), "loss_first": model.loss_history_[0],
                              "loss_last": model.loss_history_[-1]}
    norm = (lambda s: s) if keep_case else str.lower
    if predict:
        result["predict"] = [{"word": w, "p": p} for w, p in model.predict(_words(norm(predict)), k=topn)]
    if context:
        result["context"] = [{"word": w, "p": p} for w, p in model.predict_context(norm(context.strip()), k=topn)]
    if out is not None:
        with atomic_folder(check_out(out, overwrite)) as tmp:
            save_word2vec(model.wv, tmp / "vectors.txt", binary=False)
        result["vectors"] = str(out / "vectors.txt")
    if as_json:
        emit_json(result)
        return
    console.print(f"textbook {arch}: {result['vocab_size']} words x {dim} dims, loss {result['loss_first']:.4f} -> "
                  f"{result['loss_last']:.4f} in {result['seconds']:.2f} s")
    for key, title in (("predict", f"centre words for '{predict}'"), ("context", f"context words of '{context}'")):
        if key in result:
            console.print(f"{title}: " + ", ".join(f"{r['word']} ({r['p']:.3f})" for r in result[key]))
    if "vectors" in result:
        console.print(f"vectors: {result['vectors']}")


@train_app.command("fasttext")
def fasttext(
    corpus: Path = typer.Argument(..., help="text file (one sentence per line) or folder of text files"),
    out: Path = typer.Option(..., "-o", "--out", help="output folder: model files + vectors.txt (word2vec format)"),
    subwords: str = typer.Option("3,6", help="MIN,MAX character n-gram lengths (0,0 = plain word vectors)"),
    buckets: int = typer.Option(2_000_000, help="hash buckets for n-grams (only used ones get a row)"),
    dim: int = typer.Option(100, help="vector size"),
    window: int = typer.Option(5, help="maximum context window (each side)"),
    negative: int = typer.Option(5, help="negative samples per pair"),
    min_count: int = typer.Option(5, help="ignore words seen fewer times"),
    epochs: int = typer.Option(5, help="passes over the corpus"),
    lr: float = typer.Option(0.05, help="initial learning rate (falls linearly to 0)"),
    sample: float = typer.Option(1e-4, help="subsampling threshold for frequent words (0 = off)"),
    max_memory_gb: float = typer.Option(8.0, help="refuse to train above this much memory"),
    workers: int = typer.Option(2, help="training threads"),
    seed: int = typer.Option(1, help="random seed (1 worker: bit-identical results)"),
    lowercase: bool = typer.Option(False, "--lowercase", help="lower-case the corpus and queries"),
    tokenizer: Path | None = typer.Option(None, help="a BPE tokenizer folder (`embedlab train bpe`) to split lines"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace OUT if it exists"),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Train fastText-style subword vectors; any string then gets a vector (`embedlab oov OUT WORD`)."""
    model = FastText(dim=dim, window=window, negative=negative, min_count=min_count, subwords=_subwords(subwords),
                     buckets=buckets, epochs=epochs, lr=lr, sample=sample, lowercase=lowercase,
                     max_memory_gb=max_memory_gb, workers=workers, seed=seed, progress=not as_json)
    model.check_params()  # bad options fail before anything is read or written
    check_out(out, overwrite)
    tok = None
    if tokenizer is not None:
        tok = BPETokenizer.load(tokenizer)
    lines = LineCorpus(corpus, lowercase=lowercase, tokenizer=tok)
    t0 = time.perf_counter()
    with stopped_by_ctrl_c(out, "fasttext"), atomic_folder(out) as tmp:  # OUT appears whole, or not at all
        model.fit(lines)
        model.write_files(tmp)
        save_word2vec(model.wv, tmp / "vectors.txt", binary=False)
    secs = time.perf_counter() - t0
    summary = {"out": str(out), "vectors": str(out / "vectors.txt"), "vocab_size": len(model.vocab_), "dim": dim,
               "ngram_rows": int(len(model.ngram_buckets_)), "corpus_tokens": model.vocab_.raw_tokens,
               "epochs": epochs, "seconds": round(secs, 3), "loss_history": model.loss_history_}
    if as_json:
        emit_json(summary)
        return
    console.print(f"trained fastText on {summary['corpus_tokens']:,} tokens: {summary['vocab_size']:,} words + "
                  f"{summary['ngram_rows']:,} n-gram rows x {dim} dims in {secs:.1f} s; loss by epoch "
                  + ", ".join(f"{x:.4f}" for x in model.loss_history_))
    console.print(f"model: {out}/fasttext.json; vectors: {summary['vectors']}; try `embedlab oov {out} WORD`")


@train_app.command("bpe")
def bpe(
    corpus: Path = typer.Argument(..., help="text file (one sentence per line) or folder of text files"),
    out: Path = typer.Option(..., "-o", "--out", help="output folder: tokenizer.json + spm.model"),
    vocab_size: int = typer.Option(8000, "--vocab-size", help="number of pieces (an upper bound on small corpora)"),
    model_type: str = typer.Option("bpe", help="bpe or unigram"),
    character_coverage: float = typer.Option(0.9995, help="share of characters kept as pieces (rest: bytes)"),
    byte_fallback: bool = typer.Option(True, "--byte-fallback/--no-byte-fallback", help="unseen characters as bytes"),
    lowercase: bool = typer.Option(False, "--lowercase", help="fold case while training and tokenizing"),
    max_sentences: int | None = typer.Option(None, help="train on this many sampled lines of a large corpus"),
    seed: int = typer.Option(0, help="random seed (sampling)"),
    example: str | None = typer.Option(None, help="a text to show split into pieces"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace OUT if it exists"),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Train a BPE (SentencePiece) subword tokenizer, usable as `embedlab train fasttext --tokenizer OUT`."""
    check_out(out, overwrite)
    t0 = time.perf_counter()
    tok = BPETokenizer(vocab_size=vocab_size, model_type=model_type, character_coverage=character_coverage,
                       byte_fallback=byte_fallback, lowercase=lowercase, max_sentences=max_sentences, seed=seed)
    with stopped_by_ctrl_c(out, "bpe"):
        tok.fit(corpus)
        tok.save(out)  # atomic: OUT appears whole, or not at all
    summary: dict[str, Any] = {"out": str(out), "pieces": len(tok), "model_type": model_type,
                               "seconds": round(time.perf_counter() - t0, 3)}
    if example:
        summary["example"] = tok(example)
    if as_json:
        emit_json(summary)
        return
    console.print(f"trained {model_type} tokenizer: {len(tok):,} pieces in {summary['seconds']:.1f} s -> {out}")
    if example:
        console.print(f"{example!r} -> {' '.join(summary['example'])}", highlight=False)


@app.command()
def oov(
    model: Path = typer.Argument(..., help="a fastText model folder from `embedlab train fasttext`"),
    word: str = typer.Argument(..., help="any string: a known word, a misspelling, an unseen form"),
    topn: int = typer.Option(10, help="how many neighbours"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Nearest known words to any string's subword vector (misspellings and unseen words included)."""
    check_int(topn, "--topn", low=1)  # before the model is read
    ft = FastText.load(model, mmap=True)
    key = word.lower() if ft.lowercase else word
    known = key in ft.vocab_
    ngrams = int(len(ft.ngram_rows(key)))
    neighbours = ft.most_similar(word, topn=topn)
    if as_json:
        emit_json({"word": word, "in_vocabulary": known, "known_ngrams": ngrams,
                   "neighbours": [{"word": w, "score": s} for w, s in neighbours]})
        return
    table = Table(title=f"{word!r}: {'in the vocabulary' if known else 'not in the vocabulary'}, "
                        f"{ngrams} known n-grams")
    table.add_column("#", justify="right")
    table.add_column("word")
    table.add_column("cosine", justify="right")
    for i, (w, s) in enumerate(neighbours, 1):
        table.add_row(str(i), w, f"{s:.4f}")
    console.print(table)
