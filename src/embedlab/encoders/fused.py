"""Fused encoders: several encoders' L2-normalised vectors, weighted and concatenated, under one name.

Any encoder name that joins members with ``+`` is a fused encoder, usable wherever a name is (collections,
``--encoder``, the server, ``--engine ray``); a member may carry a weight after ``*``::

    embedlab.encoder("use-multilingual+e5-small-multilingual")            # equal weights
    embedlab.encoder("use-multilingual*0.7+e5-small-multilingual*0.3")   # weighted

Each member's unit vector is scaled by ``sqrt(w_i / sum(w))`` before concatenation, so the fused vector has unit
length and **the fused cosine is the weighted mean of the members' cosines** (score-level fusion, as in
ensemble retrieval; for the same reason the weights need not sum to 1). Queries and documents are embedded in each
member's own role (E5's ``query:`` / ``passage:``). Members must encode the same modalities; a member given by a
path cannot contain ``+`` or ``*``. The canonical name (what ``name`` holds, and what a collection records) lists
the members by their registered names with weights other than 1 written as ``*w``.
"""

from __future__ import annotations

import hashlib
import math
import re
from functools import partial
from typing import Any

import numpy as np

from ..errors import InputError
from .base import Encoder
from .registry import EncoderSpec, encoder, register_resolver, spec

__all__ = ["FusedEncoder", "parse_fused", "resolve"]

_WEIGHT = re.compile(r"^(?P<name>.+?)\s*\*\s*(?P<weight>[^*]+)$")


def parse_fused(name: str) -> list[tuple[str, float]]:
    """The members and weights of a fused name (``"a*0.7+b*0.3"``), members as written.

    Parameters
    ----------
    name : str
        Members joined by ``+``, each optionally followed by ``*weight``.

    Returns
    -------
    list of (str, float)
        ``(member, weight)`` pairs in order; weight 1.0 when not given.

    Raises
    ------
    InputError
        For fewer than two members, an empty member, a weight that is not a positive finite number, or the same
        member twice.
    """
    parts = [p.strip() for p in name.split("+")]
    if len(parts) < 2 or not all(parts):
        raise InputError(f"a fused encoder name joins two or more encoder names with '+', e.g. "
                         f"'use-multilingual+e5-small-multilingual' (weights: 'a*0.7+b*0.3'); got {name!r}")
    out: list[tuple[str, float]] = []
    for part in parts:
        m = _WEIGHT.match(part)
        member, weight = (m.group("name").strip(), m.group("weight").strip()) if m else (part, "1")
        try:
            w = float(weight)
        except ValueError:
            raise InputError(f"the weight of {member!r} in {name!r} must be a number, got {weight!r}") from None
        if not math.isfinite(w) or w <= 0:
            raise InputError(f"the weight of {member!r} in {name!r} must be a positive number, got {weight}")
        out.append((member, w))
    return out


def _canonical(members: list[tuple[str, float]]) -> str:
    return "+".join(n if w == 1.0 else f"{n}*{w:g}" for n, w in members)


def resolve(name: str) -> EncoderSpec | None:
    """The registry's resolver for fused names: a spec when ``name`` holds ``+``, else None.

    Members are checked without being built: each must be a known encoder (name, alias or folder), and all must
    encode the same modalities.

    Parameters
    ----------
    name : str
        An encoder name.

    Returns
    -------
    EncoderSpec or None
        Named by the canonical fused name; None when ``name`` has no ``+``.

    Raises
    ------
    InputError
        For a malformed fused name, an unknown member (naming it), members of different modalities, or a member
        that is itself fused.
    """
    if "+" not in name:
        return None
    members = parse_fused(name)
    specs = []
    for member, _ in members:
        try:
            specs.append(spec(member))
        except InputError as exc:
            raise InputError(f"unknown member {member!r} of the fused encoder {name!r}: {exc}") from None
    mods = {s.modalities for s in specs}
    if len(mods) > 1:
        listed = ", ".join(f"{s.name} ({'/'.join(s.modalities)})" for s in specs)
        raise InputError(f"the members of a fused encoder must encode the same modalities; got {listed}")
    canonical = [(s.name, w) for s, (_, w) in zip(specs, members, strict=True)]
    if len({n for n, _ in canonical}) != len(canonical):
        raise InputError(f"{name!r} names the same encoder twice; give each member once (with a weight)")
    requires = tuple(dict.fromkeys(m for s in specs for m in s.requires))
    extras = [e for s in specs for e in s.extras()]
    return EncoderSpec(name=_canonical(canonical), factory=partial(FusedEncoder, canonical),
                       dim=sum(s.dim for s in specs) if all(s.dim for s in specs) else 0,
                       modalities=specs[0].modalities, requires=requires,
                       extra=",".join(dict.fromkeys(extras)) or "core",
                       description="fused: " + " + ".join(f"{s.name} x{w:g}" for s, (_, w) in
                                                          zip(specs, members, strict=True)))


class FusedEncoder(Encoder):
    """Weighted concatenation of several encoders' unit vectors (see the module docstring).

    Parameters
    ----------
    members : list of (str or Encoder, float)
        The members and their positive weights; names are built through the registry (shared instances).

    Raises
    ------
    InputError
        For fewer than two members, a bad weight, or members of different modalities.
    """

    metric = "cosine"

    def __init__(self, members: list[tuple[Any, float]]) -> None:
        if len(members) < 2:
            raise InputError("a fused encoder needs two or more members")
        built: list[tuple[Encoder, float]] = []
        for m, w in members:
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w <= 0:
                raise InputError(f"member weights must be positive numbers, got {w!r}")
            built.append((m if isinstance(m, Encoder) else encoder(str(m)), float(w)))
        mods = {e.modalities for e, _ in built}
        if len(mods) > 1:
            raise InputError("the members of a fused encoder must encode the same modalities; got " +
                             ", ".join(f"{e.name} ({'/'.join(e.modalities)})" for e, _ in built))
        total = sum(w for _, w in built)
        self.members = built
        self._scales = [math.sqrt(w / total) for _, w in built]
        self.modalities = built[0][0].modalities
        self.dim = sum(int(e.dim) for e, _ in built)
        self.asymmetric = any(e.asymmetric for e, _ in built)
        limits = [e.max_length for e, _ in built if e.max_length is not None]
        self.max_length = min(limits) if limits else None
        self.name = _canonical([(e.name, w) for e, w in built])

    def _fused(self, role: str | None, items: list[Any]) -> np.ndarray:
        out = np.empty((len(items), self.dim), dtype=np.float32)
        at = 0
        for (enc, _), scale in zip(self.members, self._scales, strict=True):
            vecs = enc.encode_role(items, role, batch_size=max(len(items), 1), normalize=True)
            out[:, at:at + enc.dim] = vecs * scale
            at += enc.dim
        return out

    def _encode_batch(self, items: list[Any]) -> np.ndarray:
        return self._fused(None, items)

    def encode_queries(self, items: Any, batch_size: int = 64, progress: bool = False,
                       normalize: bool = True) -> np.ndarray:
        """Encode queries: each member in its query role, then fused.

        Parameters
        ----------
        items : sequence or str
            The queries; one string is one query.
        batch_size : int, default 64
            Items per call of each member.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows (they already are).

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32.

        Raises
        ------
        InputError
            For an empty list, ``batch_size < 1`` or an item a member cannot take.
        NonFiniteError
            When a member produced NaN or infinity.
        """
        return self._encode_using(partial(self._fused, "query"), items, batch_size, progress, normalize)

    def encode_documents(self, items: Any, batch_size: int = 64, progress: bool = False,
                         normalize: bool = True) -> np.ndarray:
        """Encode documents: each member in its document role, then fused.

        Parameters
        ----------
        items : sequence or str
            The documents; one string is one document.
        batch_size : int, default 64
            Items per call of each member.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows (they already are).

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32.

        Raises
        ------
        InputError
            For an empty list, ``batch_size < 1`` or an item a member cannot take.
        NonFiniteError
            When a member produced NaN or infinity.
        """
        return self._encode_using(partial(self._fused, "document"), items, batch_size, progress, normalize)

    def _check_item(self, index: int, item: Any) -> Any:
        return self.members[0][0]._check_item(index, item)

    def _fingerprint_source(self) -> str:
        parts = "|".join(f"{e.fingerprint}*{w:g}" for e, w in self.members)
        return "fused:" + hashlib.sha256(parts.encode()).hexdigest()[:16]

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus each member's name, dimension and weight.

        Returns
        -------
        dict
            Also ``kind`` (``"fused"``) and ``members`` (``[{"name", "dim", "weight"}]``).
        """
        return {**super().info(), "kind": "fused",
                "members": [{"name": e.name, "dim": int(e.dim), "weight": w} for e, w in self.members]}


register_resolver(resolve)
