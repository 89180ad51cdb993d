"""`embedlab encode` (items -> vectors.npy) and `embedlab encoders` (what is installed)."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from ..encoders import DEFAULT_ENCODER, ROLES, available, spec, truncation_report
from ..encoders import encoder as get_encoder
from ..errors import InputError
from ..io import save_npy
from ..persist import atomic_file, nearest_existing, storage_errors
from ..vectors import Vectors
from .app import app, console, emit_json, threads_option

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aiff", ".aif"}


def collect_inputs(inputs: list[str], modalities: tuple[str, ...]) -> tuple[list[str | Path], list[str]]:
    """(items, keys) from CLI arguments: '-' reads stdin lines, image/audio files become paths when the encoder
    takes that modality, other existing files are read as one text each, anything else is literal text."""
    items: list[str | Path] = []
    keys: list[str] = []
    for arg in inputs:
        if arg == "-":
            for line in sys.stdin.read().splitlines():
                if line.strip():
                    items.append(line)
                    keys.append(line)
            continue
        path = Path(arg)
        try:
            is_file = path.is_file()
        except OSError:  # a long literal text is too long to be a file name
            is_file = False
        if is_file:
            suffix = path.suffix.lower()
            if suffix in IMAGE_SUFFIXES or suffix in AUDIO_SUFFIXES:
                kind = "image" if suffix in IMAGE_SUFFIXES else "audio"
                if kind not in modalities:
                    raise InputError(f"{arg} is an {kind} file but this encoder takes {', '.join(modalities)}; "
                                     f"choose an encoder for {kind} (see `embedlab encoders`)")
                items.append(path)
            else:
                if "text" not in modalities:
                    raise InputError(f"{arg} looks like a text file but this encoder takes {', '.join(modalities)}")
                try:
                    items.append(path.read_text(encoding="utf-8"))
                except UnicodeDecodeError:
                    raise InputError(f"{arg} is not UTF-8 text; convert it or pass a supported media file") from None
            keys.append(arg)
        else:
            if "text" not in modalities:
                raise InputError(f"{arg!r} is not an existing file, and this encoder takes "
                                 f"{', '.join(modalities)}, not text")
            items.append(arg)
            keys.append(arg)
    if not items:
        raise InputError("nothing to encode: pass texts, files, or '-' to read lines from stdin")
    return items, _unique(keys)


def _unique(keys: list[str]) -> list[str]:
    """Repeated keys get ' #2', ' #3' ... so the sidecar's keys stay unique."""
    seen: dict[str, int] = {}
    out = []
    for k in keys:
        seen[k] = seen.get(k, 0) + 1
        out.append(k if seen[k] == 1 else f"{k} #{seen[k]}")
    return out


def check_output_file(output: Path) -> None:
    """InputError, before any work, when the output file cannot be created: it is a folder, or a file stands
    where one of its parent folders would be."""
    if output.is_dir():
        raise InputError(f"{output} is a folder; -o must name a .npy file")
    parent = nearest_existing(output)
    if not parent.is_dir():
        raise InputError(f"{parent} is a file, so {output} cannot be created in it; choose another -o")


def _takes(factory: Callable[..., Any], option: str) -> bool:
    """Whether an encoder factory accepts the keyword ``option``."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return True
    return option in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


@app.command()
def encode(
    inputs: list[str] = typer.Argument(..., help="texts, files (text files = one text each; images/audio as "
                                                 "paths), or '-' for lines from stdin"),
    encoder: str = typer.Option("use-multilingual", "--encoder", "-e", help="encoder name (see `embedlab encoders`)"),
    output: Path = typer.Option(..., "--output", "-o", help="where to write the (n, dim) float32 .npy"),
    batch_size: int = typer.Option(32, "--batch-size", help="items per batch (results do not depend on it)"),
    no_normalize: bool = typer.Option(False, "--no-normalize", help="keep raw vectors instead of unit length"),
    keys: bool = typer.Option(True, "--keys/--no-keys", help="also write <output>.json saying which row is which "
                                                             "input (the text or file name; repeats get ' #2'), so "
                                                             "embedlab.load_vectors reads the file back with keys"),
    model_path: Path | None = typer.Option(None, "--model-path", help="local model folder (required by clip; "
                                                                          "optional for minilm / bert-tokens)"),
    role: str | None = typer.Option(None, "--role", help="'query' (vectors to search with) or 'document' (vectors "
                                                         "to store and search in) for encoders that embed the two "
                                                         "differently, e.g. e5-small-multilingual; default: plain "
                                                         "encode"),
    progress: bool = typer.Option(False, "--progress", help="show a progress bar"),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Encode texts, images or audio into a .npy matrix of vectors (one row per input, in order)."""
    if output.suffix != ".npy":
        raise InputError(f"output must end in .npy, got {output.name}")
    if role is not None and role not in ROLES:
        raise InputError(f"--role must be one of {', '.join(ROLES)} (or left out for plain encode), got {role!r}")
    check_output_file(output)
    s = spec(encoder)
    if model_path is not None and not _takes(s.factory, "model_path"):
        raise InputError(f"encoder {s.name!r} takes no --model-path (it loads its own model); leave it out or "
                         "choose an encoder that reads a model folder (clip, minilm, bert-tokens)")
    items, names = collect_inputs(inputs, s.modalities)
    enc = get_encoder(encoder, **({"model_path": str(model_path)} if model_path else {}))
    with truncation_report() as report:  # this call's truncations, printed below as one line
        vectors = enc.encode_role(items, role, batch_size=batch_size, progress=progress, normalize=not no_normalize)
    truncated = report.truncated
    with storage_errors(output):
        output.parent.mkdir(parents=True, exist_ok=True)
    if keys:
        save_npy(Vectors(names, vectors), output)
    else:
        with atomic_file(output) as fh:
            np.save(fh, vectors, allow_pickle=False)
    result = {"output": str(output), "encoder": enc.name, "fingerprint": enc.fingerprint, "count": len(items),
              "dim": int(vectors.shape[1]), "normalized": not no_normalize, "truncated": truncated,
              "role": role,
              "keys": str(output) + ".json" if keys else None}
    if as_json:
        emit_json(result)
        return
    console.print(f"wrote {len(items)} x {vectors.shape[1]} vectors ({enc.name}) to {output}"
                  + (f" and keys to {result['keys']}" if keys else ""))
    if truncated:
        console.print(f"[yellow]{truncated} input(s) were truncated to {enc.max_length} tokens[/]")


@app.command("encoders")
def list_encoders(
    all_: bool = typer.Option(False, "--all", help="include encoders whose dependencies are not installed"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """List the encoders (name, modalities, dimension) without loading any model."""
    specs = available(installed_only=not all_)
    if as_json:
        emit_json([{"name": s.name, "modalities": list(s.modalities), "dim": s.dim or None,
                    "description": s.description, "aliases": list(s.aliases), "model_ids": list(s.model_ids),
                    "installed": s.installed(),
                    "extra": s.extra, "install": s.install_command(), "default": s.name == DEFAULT_ENCODER}
                   for s in specs])
        return
    t = Table(title="embedlab encoders")
    for col in ("name", "modalities", "dim", "description"):
        t.add_column(col)
    for s in specs:
        name = s.name + (" (default)" if s.name == DEFAULT_ENCODER else "")
        if s.aliases:
            name += f"\n[dim]alias: {', '.join(s.aliases)}[/]"
        if s.model_ids:
            name += f"\n[dim]model id: {escape(', '.join(s.model_ids))}[/]"
        missing = "" if s.installed() else f" [red]({escape(s.install_command())})[/]"  # escaped: [extra] is not markup
        t.add_row(name, ", ".join(s.modalities), str(s.dim) if s.dim else "model", escape(s.description) + missing)
    console.print(t)
