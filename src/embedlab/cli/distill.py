"""`embedlab distill --teacher NAME|PATH -o DIR` (static distillation, Model2Vec-style) and `embedlab int8 PATH`
(int8 ONNX export of a BERT model folder, checked against the float model); thin layers over
embedlab.train.distill and embedlab.encoders.onnx_int8."""

from __future__ import annotations

from pathlib import Path

import typer

from ..encoders.onnx_int8 import export_int8, int8_target
from ..train.distill import distill as run_distill
from .app import app, console, emit_json, threads_option


@app.command()
def distill(
    teacher: str = typer.Option("use-multilingual", "--teacher", "-t", help="Encoder to distil: use-multilingual, "
                                "minilm, minilm-onnx, or a sentence-transformers / `finetune --method full` folder."),
    out: Path = typer.Option(..., "-o", "--out", help="Output folder (new or empty): loads with --encoder OUT."),
    dim: int = typer.Option(256, "--dim", help="PCA dimension of the static vectors."),
    vocab_from: Path | None = typer.Option(None, "--vocab-from", help="Corpus (one text per line) whose frequent "
                                           "words the tokenizer splits are added as whole words."),
    refine: str | None = typer.Option(None, "--refine", help="Corpus (one text per line) to fit the vectors to the "
                                      "teacher's sentence vectors (Tokenlearn-style), or 'gettext' for the installed "
                                      "Korean catalogues (those held out for evaluation excluded)."),
    max_words: int = typer.Option(20000, "--max-words", help="At most this many added words."),
    seed: int = typer.Option(0, "--seed", help="Seed of the refinement sample and split."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output folder."),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON (the summary)."),
) -> None:
    """Distil a text encoder into static token vectors (no network at encode time: numpy + the tokenizer)."""
    enc = run_distill(teacher, out, dim=dim, vocab_from=vocab_from, refine=refine, max_words=max_words, seed=seed,
                      overwrite=overwrite, progress=not as_json)
    m = enc.manifest
    summary = {"out": enc.name, "teacher": m["teacher"]["name"], "dim": enc.dim, "vocab_size": m["vocab_size"],
               "words": m["words"], "summary": m.get("summary", {})}
    if as_json:
        emit_json(summary)
        return
    s = summary["summary"]
    console.print(f"distilled {summary['teacher']} into {enc.dim}-d static vectors: {s.get('tokens_embedded')} "
                  f"tokens + {summary['words']} words, explained variance {s.get('explained_variance')}, "
                  f"{s.get('seconds')} s")
    ref = s.get("refinement")
    if ref and "skipped" in ref:
        console.print(ref["skipped"], highlight=False)
    elif ref:
        cos = ref["held_out_cosine"]
        console.print(f"refinement on {ref['sentences']['train']} sentences: held-out cosine to the teacher "
                      f"{cos['before']} -> {cos['after']} ({ref['rows_moved']} token vectors moved)")
    console.print(f"saved: {enc.name}; use it with --encoder {enc.name}")


@app.command()
def int8(
    folder: str = typer.Argument(..., help="A BERT model folder (config.json, model.safetensors, tokenizer.json), "
                                 "or minilm for the packaged all-MiniLM-L6-v2 (as --encoder int8:minilm)."),
    min_cosine: float = typer.Option(0.98, "--min-cosine", help="Refuse the export below this probe cosine."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Export again even when a checked export is cached."),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON (the check record)."),
) -> None:
    """Export a model folder to ONNX with dynamic int8 matmuls (cached beside it) and check it against the float
    model; then use it as --encoder int8:FOLDER."""
    target = int8_target(folder)  # minilm (a registered name) or a folder, as int8:NAME takes them
    record = export_int8(target, min_cosine=min_cosine, rebuild=rebuild)
    if as_json:
        emit_json(record)
        return
    console.print(f"int8 export of {folder}: cosine to the float model min {record['cosine_min']:.4f}, mean "
                  f"{record['cosine_mean']:.4f} on {record['probes']} probe sentences (>= {min_cosine}: ok)")
    console.print(f"saved: {record['int8_path']}; use it with --encoder int8:"
                  f"{folder if target is None else target.resolve()}")
