"""`embedlab train mlm CORPUS -o DIR` (BERT-style masked-language-model pretraining) and
`embedlab fill-mask DIR "the cat sat on the [MASK]"`."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from ..encoders.mlm import MLMEncoder
from ..errors import InputError
from ..formats.mlm import CHECKPOINT, MANIFEST, checkpoint_step
from ..train.mlm import MaskedLMTrainer, summary_line
from .app import app, console, emit_json, err_console, threads_option
from .train import train_app


@train_app.command("mlm")
def train_mlm(
    corpus: Path = typer.Argument(..., help="text file (one sentence or paragraph per line) or folder of text files"),
    out: Path = typer.Option(..., "-o", "--out", help="output folder: a BERT model folder + mlm.json"),
    vocab_size: int = typer.Option(8000, help="WordPiece vocabulary size (learned on the corpus)"),
    layers: int = typer.Option(2, help="transformer layers"),
    hidden: int = typer.Option(128, help="hidden size (feed-forward: 4x)"),
    heads: int = typer.Option(2, help="attention heads (must divide --hidden)"),
    max_length: int = typer.Option(64, help="tokens per training sequence (and the encoder's limit)"),
    batch_size: int = typer.Option(32, help="sequences per step"),
    lr: float = typer.Option(2e-3, help="peak AdamW learning rate (linear warm-up, then linear decay)"),
    warmup: float = typer.Option(0.05, help="share of the steps spent warming up"),
    epochs: int = typer.Option(1, help="passes over the corpus"),
    max_steps: int | None = typer.Option(None, help="stop after this many steps (caps --epochs)"),
    mask_prob: float = typer.Option(0.15, help="share of tokens to predict (80% [MASK], 10% random, 10% kept)"),
    keep_case: bool = typer.Option(False, "--keep-case", help="do not lower-case the text"),
    holdout_every: int = typer.Option(100, help="hold out every N-th line for the final scores (0: none)"),
    checkpoint_every: int = typer.Option(500, help="write OUT/checkpoint every N steps"),
    threads: int = threads_option(),
    seed: int = typer.Option(0, help="random seed (weights, masks, dropout, shuffling)"),
    resume: bool = typer.Option(False, "--resume", help="continue the interrupted run in OUT from its checkpoint"),
    overwrite: bool = typer.Option(False, "--overwrite", help="delete OUT first if it exists"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Pretrain a small BERT from scratch with dynamic masking (Devlin et al. 2019); Ctrl-C checkpoints, --resume
    continues. OUT loads as a contextual token encoder and answers `embedlab fill-mask OUT "... [MASK] ..."`."""
    trainer = MaskedLMTrainer(vocab_size=vocab_size, layers=layers, hidden=hidden, heads=heads,
                              max_length=max_length, batch_size=batch_size, lr=lr, warmup=warmup, epochs=epochs,
                              max_steps=max_steps, mask_prob=mask_prob, lowercase=not keep_case,
                              holdout_every=holdout_every, checkpoint_every=checkpoint_every, seed=seed,
                              threads=threads, progress=not as_json)
    trainer.check_params()  # bad options fail before anything is read or written
    if not corpus.exists():
        raise InputError(f"corpus not found: {corpus}; pass a text file or a folder of text files")
    if overwrite and resume:
        raise InputError("--overwrite deletes the checkpoint that --resume needs; pass one of them")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; -o must name a folder")
    if overwrite and out.exists():
        if any(out.iterdir()) and not ((out / MANIFEST).is_file() or (out / CHECKPOINT).is_dir()):
            raise InputError(f"{out} is not an `embedlab train mlm` folder; --overwrite only replaces those")
        shutil.rmtree(out)
    try:
        summary = trainer.fit(corpus, out, resume=resume).summary_
    except KeyboardInterrupt:
        step = checkpoint_step(out)
        if step is None:
            err_console.print("interrupted before the first checkpoint; nothing was saved — run the command again",
                              highlight=False, markup=False)
        else:
            err_console.print(f"interrupted: the checkpoint in {out / 'checkpoint'} holds step {step}; continue "
                              "with the same command and --resume", highlight=False, markup=False)
        raise typer.Exit(130) from None
    if as_json:
        emit_json({k: v for k, v in summary.items() if k != "loss_history"} | {"out": str(out)})
        return
    console.print(f"trained a masked language model: {summary_line(summary)}")
    console.print(f"model: {out}; try `embedlab fill-mask {out} \"the cat sat on the [MASK]\"`")


@app.command("fill-mask")
def fill_mask(
    model: Path = typer.Argument(..., help="folder written by `embedlab train mlm`"),
    text: str = typer.Argument(..., help='text with one or more [MASK] tokens, e.g. "the cat sat on the [MASK]"'),
    top_k: int = typer.Option(5, "--top-k", "-k", help="candidates per [MASK]"),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """The likeliest tokens for each [MASK] in TEXT, with their probabilities."""
    result = MLMEncoder(model).fill_mask(text, top_k=top_k)
    if as_json:
        emit_json({"text": text, "masks": [[{"token": t, "p": p} for t, p in row] for row in result]})
        return
    for i, row in enumerate(result):
        console.print(f"[MASK] {i + 1}: " + ", ".join(f"{t} ({p:.3f})" for t, p in row), highlight=False,
                      markup=False)
