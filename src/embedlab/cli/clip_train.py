"""`embedlab train clip FOLDER --captions captions.csv -o DIR` (projection heads over frozen towers, symmetric
InfoNCE) and `embedlab train clip-example FOLDER` (the handwritten-digits example with English and Korean
captions)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..train.clip import train_clip as run
from ..train.clip_data import make_digits_example, read_captions
from ..train.clip_heads import ContrastiveHeads
from .app import console, emit_json, threads_option
from .train import check_out, train_app


@train_app.command("clip")
def train_clip(
    folder: Path = typer.Argument(..., help="folder of images (the captions' image paths are relative to it)"),
    captions: Path = typer.Option(..., "--captions", help="CSV with columns image,caption (several rows per image "
                                  "for several captions)"),
    out: Path = typer.Option(..., "-o", "--out", help="output folder: the joint text+image encoder"),
    dim: int = typer.Option(128, help="dimension of the joint space"),
    epochs: int = typer.Option(60, help="passes over the images"),
    batch_size: int = typer.Option(256, help="images per InfoNCE batch (the negatives of each pair)"),
    lr: float = typer.Option(1e-3, help="AdamW learning rate"),
    holdout: float = typer.Option(0.2, help="share of the images held out to score retrieval (0: none)"),
    text_encoder: str = typer.Option("use-multilingual", help="frozen text tower"),
    image_encoder: str = typer.Option("efficientnet-lite0", help="frozen image tower"),
    allow_uncaptioned: bool = typer.Option(False, "--allow-uncaptioned",
                                           help="train on the captioned images when some in FOLDER have no caption"),
    seed: int = typer.Option(0, help="random seed (split, initial heads, batches)"),
    threads: int = threads_option(),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace OUT if it exists"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Train a small CLIP (Radford et al. 2021): two linear heads over frozen towers, tower features cached; OUT
    loads as a ("text", "image") encoder for collections and search."""
    heads = ContrastiveHeads(dim=dim, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, threads=threads,
                             progress=not as_json)
    heads.check_params()
    check_out(out, overwrite)
    data = read_captions(folder, captions, allow_uncaptioned)  # bad captions fail before any model loads
    summary = run(None, None, out, data=data, holdout=holdout, text_encoder=text_encoder,
                  image_encoder=image_encoder, heads=heads, progress=not as_json)
    if as_json:
        emit_json({k: v for k, v in summary.items() if k not in ("loss_history", "heldout_images")} | {"out": str(out)})
        return
    h = summary["heldout"]
    console.print(f"trained {summary['dim']}-d heads on {summary['train']['images']} images / "
                  f"{summary['train']['captions']} captions; loss {summary['loss_history'][0]:.3f} -> "
                  f"{summary['loss_history'][-1]:.3f}" if summary["loss_history"] else "no epochs run")
    if h:
        console.print(f"held-out text -> image ({h['images']} images, {h['trained']['queries']} captions): P@1 "
                      f"{h['trained']['p@1']:.3f} (untrained heads {h['untrained']['p@1']:.3f}), P@10 "
                      f"{h['trained']['p@10']:.3f} ({h['untrained']['p@10']:.3f})")
    console.print(f"encoder folder: {out}")


@train_app.command("clip-example")
def clip_example(
    folder: Path = typer.Argument(..., help="folder to create with the images and captions.csv"),
    limit: int | None = typer.Option(None, help="only the first N of the 1,797 digits"),
    seed: int = typer.Option(0, help="random seed for the caption templates"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace FOLDER if it exists"),
) -> None:
    """Write scikit-learn's handwritten digits as PNG images with generated English and Korean captions, ready
    for `embedlab train clip FOLDER --captions FOLDER/captions.csv -o OUT`."""
    check_out(folder, overwrite)
    csv_path = make_digits_example(folder, limit=limit, seed=seed)
    console.print(f"wrote the digits example: {csv_path}; next: embedlab train clip {folder} --captions {csv_path} "
                  f"-o joint-digits")
