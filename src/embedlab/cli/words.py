"""`embedlab similar A B` (how close two texts or words are) and `embedlab analogy king - man + woman`."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import typer
from rich.table import Table

from .. import metrics
from .._params import check_int
from ..arithmetic import Method, format_expression, parse_expression
from ..encoders import encoder as get_encoder
from ..errors import InputError, UnknownKeyError
from ..formats import fasttext_model
from ..io import NAMED_VECTORS, load_vectors
from ..io.glove import load_glove
from ..train.subword import FastText
from ..vectors import Vectors
from .app import app, console, emit_json, threads_option

VECTORS_HELP = ("word2vec (.txt/.bin), .npy, .safetensors or projector file, or the -o folder of "
                "`embedlab train word2vec|fasttext|glove|textbook`")


def open_vectors(path: Path | None) -> tuple[Vectors, str]:
    """(vectors, display name) for a command's ``--vectors`` option, the one loader every such command uses:
    GloVe 6B-50d when not given, a name of ``embedlab.io.NAMED_VECTORS`` (``glove-6b-50d``, ``wefe-googlenews``
    ...), a vectors file or a training folder (``embedlab.io.load_vectors``)."""
    if path is None:
        return load_glove(), "glove-6b-50d"
    if not path.exists():
        if str(path) in NAMED_VECTORS:
            return load_vectors(str(path), mmap=True), str(path)
        raise InputError(f"no vectors file or folder at {path}; pass a {VECTORS_HELP}, or one of "
                         f"{', '.join(NAMED_VECTORS)}")
    return load_vectors(path, mmap=True), path.name


def _subword_vector(model: FastText, word: str, notes: list[str]) -> np.ndarray:
    """``word``'s vector in a fastText model: its own for a known word; else built from its known character
    n-grams, with a line in ``notes`` saying so (UnknownKeyError when it shares none with the vocabulary)."""
    key = word.lower() if model.lowercase else word
    if key in model.vocab_:
        return model.vector(word)
    n = int(len(model.ngram_rows(key)))
    if n == 0:
        raise UnknownKeyError(f"{word!r} is not in the vocabulary and shares no character n-gram with it, so it "
                              "has no vector")
    notes.append(f"{word!r} is not in the vocabulary: its vector was built from {n} known character n-grams")
    return model.vector(word)


def _load(path: Path | None) -> Vectors:
    return open_vectors(path)[0]


@app.command()
def similar(
    a: str = typer.Argument(..., help="first text (or key with --vectors)"),
    b: str = typer.Argument(..., help="second text (or key with --vectors)"),
    vectors: Path | None = typer.Option(None, "--vectors", "-v", help="compare two keys of these vectors: a "
                                                                        + VECTORS_HELP),
    encoder: str = typer.Option("use-multilingual", "--encoder", "-e", help="encoder for the two texts"),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Cosine similarity, dot product and Euclidean distance between two texts (or two keys of --vectors)."""
    notes: list[str] = []
    if vectors is not None and fasttext_model.recognises(vectors):  # any string gets a vector from its n-grams
        va, vb = (_subword_vector(FastText.load(vectors, mmap=True), w, notes) for w in (a, b))
        source = str(vectors)
    elif vectors is not None:
        table = _load(vectors)
        va, vb = np.asarray(table[a], np.float32), np.asarray(table[b], np.float32)
        source = str(vectors)
    else:
        enc = get_encoder(encoder)
        m = enc.encode([a, b], normalize=False)
        va, vb = m[0], m[1]
        source = enc.name
    out: dict[str, object] = {"a": a, "b": b, "cosine": metrics.cosine(va, vb), "dot": metrics.dot(va, vb),
           "euclidean": metrics.euclidean(va, vb)}
    if notes:
        out["notes"] = notes
    if as_json:
        emit_json(out)
        return
    console.print(f"[bold]{a}[/] vs [bold]{b}[/] ({source})", highlight=False)
    for note in notes:
        console.print(f"[dim]{note}[/]", highlight=False)
    console.print(f"cosine {out['cosine']:.4f}   dot {out['dot']:.4f}   euclidean {out['euclidean']:.4f}")


@app.command()
def analogy(
    expression: list[str] = typer.Argument(..., help="an expression such as: king - man + woman "
                                                     "(quote keys with spaces: '\"new york\" - usa + uk')"),
    vectors: Path | None = typer.Option(None, "--vectors", "-v", help="a " + VECTORS_HELP + " (default: GloVe 6B-50d)"),
    n: int = typer.Option(5, "-n", "--top", help="how many answers"),
    method: str = typer.Option("3cosadd", "--method", help="3cosadd (vector offset) or 3cosmul (Levy & Goldberg)"),
    restrict_vocab: int | None = typer.Option(None, "--restrict-vocab", help="search only the N most frequent keys"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Vector arithmetic on word vectors: the keys nearest to king - man + woman.

    Put spaces around a minus sign (a bare '-' is an ordinary argument) or write the expression as one argument: 'king-man+woman'.
    """
    if n < 1:
        raise InputError(f"-n must be at least 1, got {n}")
    check_int(restrict_vocab, "--restrict-vocab", low=1, none=True, hint="leave it out to search every key")
    text = " ".join(expression)
    parse_expression(text)  # fail fast on a malformed expression, before loading vectors
    table = _load(vectors)
    positive, negative = parse_expression(text, vocab=table.key_to_index)  # keeps keys like e-mail whole
    results = table.most_similar(positive=positive, negative=negative, topn=n,
                                 method=cast(Method, method),  # most_similar refuses any other name
                                 restrict_vocab=restrict_vocab)
    canonical = format_expression(positive, negative)
    if as_json:
        emit_json({"expression": canonical, "results": [{"key": k, "score": s} for k, s in results]})
        return
    view = Table(title=canonical, show_edge=False)
    view.add_column("#", justify="right")
    view.add_column("key")
    view.add_column("score", justify="right")
    for i, (k, s) in enumerate(results, 1):
        view.add_row(str(i), k, f"{s:.4f}")
    console.print(view)
