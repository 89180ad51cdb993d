"""`embedlab tour`: the end-to-end demonstration the README's first command runs.

Offline, core install only (numpy, no torch), a few seconds: (1) index ~20 bundled English documents with the
multilingual encoder, (2) search them with Korean and English queries, (3) GloVe word arithmetic, (4) cosine vs
Euclidean vs dot product on unit and raw vectors. ``--json`` prints the same results as one JSON object.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from .. import metrics
from ..encoders import encoder as build
from ..errors import EncoderMismatchError
from ..ingest import Record
from ..io import load_glove
from ..passages import index_records, search_documents
from ..store import Collection
from .app import app, console, emit_json

COLLECTION = "tour"
QUERIES: list[tuple[str, str, str]] = [  # (query, language, what it means)
    ("빠른 운송 수단", "ko", "fast means of transport"),
    ("차량", "ko", "vehicle"),
    ("a sweet tropical fruit", "en", ""),
    ("an animal that purrs", "en", ""),
]
EXPRESSIONS = ["king - man + woman", "paris - france + italy"]
WORD_QUERY = "cat"
WORD_CANDIDATES = ["dog", "kitten", "pet", "mouse", "tiger", "car"]
SENTENCE_QUERY = "a fast train"
SENTENCE_CANDIDATES = {  # label -> sentence
    "bullet train": "the bullet train is very fast",
    "high-speed rail": "high-speed rail",
    "slow boat": "a slow boat",
    "fruit": "ripe bananas and mangoes",
    "long history text": "the history of the city is long and the people of the region have lived there for many "
                         "centuries, and they still tell stories about the old days, the wars, the kings and the "
                         "harvests of the past",
}


def tour_documents() -> list[dict[str, str]]:
    """The bundled sample: ~20 short English documents about fruits, animals and vehicles."""
    text = resources.files("embedlab.data").joinpath("tour_documents.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ----------------------------------------------------------------------------- the four parts
def index_part(root: Path | None) -> tuple[Collection, dict[str, Any]]:
    """Index the sample into the collection ``tour`` (``root=None``: the embedlab home)."""
    t0 = time.perf_counter()
    enc = build("use-multilingual")
    try:
        col = Collection.open_or_create(COLLECTION, enc, root=root)
    except EncoderMismatchError:  # an old tour collection from another encoder: it is ours to rebuild
        Collection.drop(COLLECTION, root=root)
        col = Collection.create(COLLECTION, enc, root=root)
    docs = tour_documents()
    records = [Record(d["id"], d["text"], {"category": d["category"]}, f"tour_documents.jsonl:line {i}")
               for i, d in enumerate(docs, 1)]
    counts = index_records(col, records)
    wanted = {d["id"] for d in docs}
    counts["removed"] += col.delete([i for i in col.ids() if i not in wanted]) if set(col.ids()) - wanted else 0
    counts.update(collection=COLLECTION, path=str(col.path), encoder=enc.name, dim=enc.dim, count=col.count(),
                  seconds=round(time.perf_counter() - t0, 2))
    return col, counts


def search_part(col: Collection, k: int = 3) -> list[dict[str, Any]]:
    """Each query's top-k documents (cross-lingual: Korean queries, English documents)."""
    texts = {d["id"]: d["text"] for d in tour_documents()}
    out = []
    for query, lang, meaning in QUERIES:
        hits = search_documents(col, query, k=k)
        out.append({"query": query, "language": lang, "meaning": meaning,
                    "hits": [{"id": h.id, "score": round(h.score, 4), "metadata": h.metadata,
                              "text": texts.get(h.id, "")} for h in hits]})
    return out


def arithmetic_part(topn: int = 3) -> dict[str, Any]:
    """Word vector arithmetic on pretrained GloVe 6B-50d (3CosAdd; the query words are excluded)."""
    t0 = time.perf_counter()
    glove = load_glove()
    rows = [{"expression": e, "answers": [{"word": w, "score": round(s, 4)} for w, s in glove.arithmetic(e, k=topn)]}
            for e in EXPRESSIONS]
    return {"vectors": "GloVe 6B-50d", "words": len(glove), "dim": glove.dim, "results": rows,
            "seconds": round(time.perf_counter() - t0, 2)}


def _rank(query: np.ndarray, cands: np.ndarray, names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in ("cosine", "dot", "l2"):
        s = np.asarray(metrics.scores(query, cands, metric))[0]
        order = np.argsort(-s, kind="stable")
        out[metric] = {"ranking": [names[i] for i in order], "scores": {names[i]: round(float(s[i]), 4) for i in order}}
    return out


def _same_rankings(r: dict[str, Any]) -> bool:
    """Whether cosine, dot and l2 rank the candidates alike in one ``_rank`` result."""
    return bool(r["cosine"]["ranking"] == r["dot"]["ranking"] == r["l2"]["ranking"])


def _compare(query: np.ndarray, cands: np.ndarray, names: list[str]) -> dict[str, Any]:
    raw, unit = _rank(query, cands, names), _rank(metrics.normalize(query), metrics.normalize(cands), names)
    norms = metrics.norms(np.asarray(cands, dtype=np.float32))
    return {"query_norm": round(float(np.linalg.norm(query)), 3),
            "norms": {n: round(float(v), 3) for n, v in zip(names, norms, strict=True)},
            "raw": raw, "unit": unit, "unit_identical": _same_rankings(unit),
            "raw_identical": _same_rankings(raw)}


def metrics_part(col: Collection) -> dict[str, Any]:
    """Cosine, dot and Euclidean on unit vs raw vectors: GloVe words, and sentences as sums of word vectors."""
    glove = load_glove()
    words = _compare(glove[WORD_QUERY], np.stack([glove[w] for w in WORD_CANDIDATES]), WORD_CANDIDATES)

    def bag(sentence: str) -> np.ndarray:  # a sentence vector that grows with the sentence's length
        return np.sum([glove[w] for w in re.findall(r"[a-z]+", sentence.lower()) if w in glove], axis=0)

    labels = list(SENTENCE_CANDIDATES)
    sentences = _compare(bag(SENTENCE_QUERY), np.stack([bag(s) for s in SENTENCE_CANDIDATES.values()]), labels)
    use_norms = metrics.norms(np.asarray(col.vectors().matrix, dtype=np.float32))
    return {"words": {"query": WORD_QUERY, **words},
            "sentences": {"query": SENTENCE_QUERY, "vectors": "sum of GloVe word vectors", **sentences},
            "collection_norms": {"min": round(float(use_norms.min()), 4), "max": round(float(use_norms.max()), 4)}}


def run_tour(root: Path | None = None) -> dict[str, Any]:
    """Run all four parts and return their results (what ``embedlab tour --json`` prints)."""
    t0 = time.perf_counter()
    col, indexed = index_part(root)
    with col:
        result: dict[str, Any] = {"index": indexed, "search": search_part(col), "arithmetic": arithmetic_part(),
                                  "metrics": metrics_part(col)}
    result["seconds"] = round(time.perf_counter() - t0, 2)
    return result


# ----------------------------------------------------------------------------- rendering
def _show(r: dict[str, Any]) -> None:
    ix = r["index"]
    console.rule("[bold]1. Index short documents with a multilingual sentence encoder")
    console.print(
        f"{ix['documents']} English documents about fruits, animals and vehicles -> collection [bold]{ix['collection']}[/]"
        f" ({ix['encoder']}, {ix['dim']}-d, numpy only): {ix['added']} added, {ix['updated']} updated, "
        f"{ix['unchanged']} unchanged (already indexed) in {ix['seconds']:.1f} s", highlight=False)
    console.print(f"[dim]stored in {ix['path']}[/]", highlight=False)

    console.rule("[bold]2. Search in Korean and English (one vector space for 16 languages)")
    for q in r["search"]:
        title = f"[bold]{q['query']}[/]" + (f"  ({q['meaning']})" if q["meaning"] else "")
        t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
        t.add_column("#", justify="right")
        t.add_column("document", style="bold", no_wrap=True)
        t.add_column("score", justify="right")
        t.add_column("text", no_wrap=True)
        for i, h in enumerate(q["hits"], 1):
            text = h["text"] if len(h["text"]) <= 48 else h["text"][:47] + "…"
            t.add_row(str(i), h["id"], f"{h['score']:.3f}", text)
        console.print(t)
        console.print()

    ar = r["arithmetic"]
    console.rule(f"[bold]3. Word arithmetic on pretrained {ar['vectors']} ({ar['words']:,} words, {ar['dim']}-d)")
    t = Table(show_edge=False, pad_edge=False)
    t.add_column("expression", style="bold")
    for i in range(len(ar["results"][0]["answers"])):
        t.add_column(f"answer {i + 1}")
    for row in ar["results"]:
        t.add_row(row["expression"], *(f"{a['word']} ({a['score']:.3f})" for a in row["answers"]))
    console.print(t)

    m = r["metrics"]
    console.rule("[bold]4. Cosine vs Euclidean vs dot product")
    console.print("On unit vectors ||a-b||^2 = 2 - 2 cos(a,b) and a.b = cos(a,b): all three rank the same. On raw "
                  "vectors, dot product rewards long vectors and Euclidean distance rewards short ones.")
    for key, what in (("words", f"GloVe words nearest to '{m['words']['query']}'"),
                      ("sentences", f"sentences nearest to '{m['sentences']['query']}' (sentence = sum of its "
                                    "GloVe word vectors, so longer sentences get longer vectors)")):
        d = m[key]
        t = Table(title=what, title_justify="left", show_edge=False, pad_edge=False)
        t.add_column("rank", justify="right")
        t.add_column("unit vectors:\ncosine = dot = l2")
        t.add_column("raw vectors:\ncosine")
        t.add_column("raw vectors:\ndot")
        t.add_column("raw vectors:\nl2 (-distance)")
        for i in range(len(d["norms"])):
            cells = [d["unit"]["cosine"]["ranking"][i]]
            for metric in ("cosine", "dot", "l2"):
                name = d["raw"][metric]["ranking"][i]
                cells.append(f"{name} [dim]{d['raw'][metric]['scores'][name]:.2f}[/]")
            t.add_row(str(i + 1), *cells)
        console.print(t)
        lengths = ", ".join(f"{n} {v:.1f}" for n, v in sorted(d["norms"].items(), key=lambda kv: -kv[1]))
        console.print(f"[dim]vector lengths: {lengths} (query {d['query_norm']:.1f})[/]", highlight=False)
        console.print(f"unit vectors: identical rankings = [bold]{d['unit_identical']}[/]; raw vectors: "
                      f"identical rankings = [bold]{d['raw_identical']}[/]\n", highlight=False)
    cn = m["collection_norms"]
    console.print(f"The sentence encoder's vectors are already unit length ({cn['min']:.3f}..{cn['max']:.3f}), so "
                  "for them the three metrics agree; embedlab scores are higher-is-better (l2 score = -distance).")
    console.rule()
    console.print(f"done in {r['seconds']:.1f} s. Next: [bold]embedlab search {ix['collection']} \"과일\"[/], "
                  "[bold]embedlab index NAME PATH...[/], [bold]embedlab info[/]")


@app.command()
def tour(
    temp: bool = typer.Option(False, "--temp", help="Build the tour collection in a temporary folder (deleted after)."),
    as_json: bool = typer.Option(False, "--json", help="Print only a JSON summary of the results."),
) -> None:
    """The tour (seconds, offline): multilingual semantic search, word arithmetic, how similarity metrics differ."""
    if temp:
        with tempfile.TemporaryDirectory(prefix="embedlab-tour-") as d:
            result = run_tour(Path(d))
    else:
        result = run_tour()
    if as_json:
        emit_json(result)
    else:
        _show(result)
