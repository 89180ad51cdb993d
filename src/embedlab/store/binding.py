"""What binds a collection to its encoder: the description its manifest keeps, the check that an encoder offered
later is the same one, and the widths a Matryoshka prefix may take."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..encoders import DEFAULT_ENCODER, Encoder
from ..encoders import encoder as build
from ..errors import DimensionError, EncoderMismatchError, InputError
from ..metrics import check_metric

__all__ = ["check_encoder", "described_encoder", "encoder_doc", "matryoshka_dim", "resolve_encoder"]


def resolve_encoder(encoder: str | Encoder | None) -> Encoder:
    """The Encoder for a name (registered name, alias or model folder), an Encoder, or None (the default).

    Parameters
    ----------
    encoder : str, Encoder or None
        What a caller passed as ``encoder``.

    Returns
    -------
    Encoder

    Raises
    ------
    InputError
        For anything else, or a name no encoder is registered under.
    """
    if isinstance(encoder, Encoder):
        return encoder
    if encoder is not None and not isinstance(encoder, str):
        raise InputError(f"encoder must be a name or an Encoder, got {type(encoder).__name__}")
    return build(encoder or DEFAULT_ENCODER)


def encoder_doc(enc: Encoder) -> dict[str, Any]:
    """The manifest's description of an encoder: ``{"name", "dim", "metric", "fingerprint"}``."""
    return {"name": enc.name, "dim": int(enc.dim), "metric": enc.metric, "fingerprint": enc.fingerprint}


def described_encoder(doc: dict[str, Any], dim: int | None, metric: str | None) -> dict[str, Any]:
    """A checked encoder description for the manifest, from a description such as ``info()["encoder"]``.

    Parameters
    ----------
    doc : dict
        ``{"name", "dim", "metric", "fingerprint"}`` and optionally ``"source_dim"`` (a Matryoshka prefix).
    dim : int or None
        The width asked for; must equal ``doc["dim"]`` when given.
    metric : str or None
        The metric asked for; default the description's, else cosine.

    Returns
    -------
    dict
        ``{"name", "dim", "metric", "fingerprint"}`` (+ ``"source_dim"`` when it differs from ``dim``).

    Raises
    ------
    InputError
        For a missing or bad ``dim``, non-string name/fingerprint, a bad ``source_dim`` or metric.
    DimensionError
        When ``dim`` differs from the description's.
    """
    d = doc.get("dim")
    if isinstance(d, bool) or not isinstance(d, int) or d <= 0:
        raise InputError(f"the encoder description needs a positive integer 'dim', got {d!r}")
    if dim is not None and int(dim) != d:
        raise DimensionError(f"dim={dim} but the encoder description says {d}")
    name, fp = doc.get("name"), doc.get("fingerprint")
    if not (name is None or isinstance(name, str)) or not (fp is None or isinstance(fp, str)):
        raise InputError("the encoder description's 'name' and 'fingerprint' must be strings or null")
    out = {"name": name, "dim": d, "metric": check_metric(metric or doc.get("metric") or "cosine"),
           "fingerprint": fp}
    src = doc.get("source_dim")
    if src is not None:  # a Matryoshka prefix of a wider encoder
        if isinstance(src, bool) or not isinstance(src, int) or src < d:
            raise InputError(f"the encoder description's 'source_dim' must be an integer >= dim ({d}), got {src!r}")
        if src != d:
            out["source_dim"] = src
    return out


def check_encoder(manifest: dict[str, Any], enc: Encoder) -> None:
    """Refuse an encoder other than the one a collection was built with.

    Parameters
    ----------
    manifest : dict
        The collection's manifest (its ``encoder`` description).
    enc : Encoder
        The encoder offered.

    Raises
    ------
    EncoderMismatchError
        For a vectors-only collection, or another name, width or fingerprint; the message says how to re-embed.
    """
    want = manifest["encoder"]
    name = manifest.get("name", "?")
    if not want.get("name"):
        raise EncoderMismatchError(
            f"collection {name!r} is vectors-only ({want['dim']}-d) but encoder {enc.name!r} was given; open it "
            "without an encoder and pass vectors="
        )
    if enc.name != want["name"] or int(enc.dim) != int(want.get("source_dim") or want["dim"]) or (
        want.get("fingerprint") and enc.fingerprint != want["fingerprint"]
    ):
        raise EncoderMismatchError(
            f"collection {name!r} was built with encoder {want['name']!r} ({want['dim']}-d, fingerprint "
            f"{want.get('fingerprint')}) but was opened with {enc.name!r} ({enc.dim}-d, fingerprint "
            f"{enc.fingerprint}); open it with the original encoder, or re-embed its stored contents with the new one: "
            f"embedlab reindex {name} --encoder {enc.name}"
        )


def matryoshka_dim(enc: Encoder, dim: Any, force: bool) -> int:
    """The collection width for a Matryoshka prefix of an encoder's vectors.

    Parameters
    ----------
    enc : Encoder
        The encoder; its ``matryoshka_dims`` (when it has them) are the widths it was trained to give.
    dim : int
        The width asked for (positive, at most ``enc.dim``).
    force : bool
        Accept any narrower width, trained for or not.

    Returns
    -------
    int
        ``dim``, checked.

    Raises
    ------
    InputError
        For a non-positive ``dim``, or a width the encoder was not trained for without ``force``.
    DimensionError
        For a ``dim`` wider than the encoder's vectors.
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or int(dim) <= 0:
        raise InputError(f"dim must be a positive integer, got {dim!r}")
    dim = int(dim)
    if dim > enc.dim:
        what = f"is larger than encoder {enc.name!r}'s {enc.dim}-d vectors; a Matryoshka prefix can only be narrower"
        raise DimensionError(f"dim={dim} {what}: pick a dim below {enc.dim}, or drop dim",
                             cli=f"--dim {dim} {what}: pick a --dim below {enc.dim}, or leave --dim out")
    trained = enc.matryoshka_dims  # the widths it was trained to give (fine-tuned, adapters); None when not
    if force or (trained and dim in trained):
        return dim
    if not trained:
        what = (f"encoder {enc.name!r} was not trained for Matryoshka truncation, so its first {dim} dimensions "
                f"are not a {dim}-d embedding on their own (search quality may drop sharply)")
        raise InputError(f"{what}; drop dim to keep all {enc.dim}, or pass force=True (CLI --force) to truncate "
                         "anyway", cli=f"{what}; leave out --dim to keep all {enc.dim}, or pass --force to truncate "
                                       "anyway")
    widths = ", ".join(str(int(d)) for d in trained)
    what = f"encoder {enc.name!r} was trained for Matryoshka widths {widths}, not {dim}; pick one of them, or pass"
    raise InputError(f"{what} force=True (CLI --force) to truncate to another width anyway",
                     cli=f"{what} --force to truncate to another width anyway")
