"""A small CLIP's parts: two projection heads trained with the symmetric InfoNCE loss over frozen towers
(Radford et al. 2021, "Learning Transferable Visual Models From Natural Language Supervision"; the heads-only,
locked-tower setting of LiT, Zhai et al. 2022), the cached tower features they learn from, and text -> image
retrieval scores. ``train/clip.py`` joins them into the ``CLIPTrainer``.

The image tower (default ``efficientnet-lite0``, 1,280-d) and the text tower (default ``use-multilingual``, 512-d,
16 languages) stay frozen: their unit-length features are computed once and cached on disk, keyed by each tower's
fingerprint and the item's content. Only a linear map per tower (to ``dim``) and CLIP's temperature are learned,
so training takes seconds on a CPU.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._params import Params, check_float, check_int
from .._progress import progress_bar
from ..encoders.media import looks_like_image_path
from ..errors import InputError, require
from ..persist import atomic_file, read_npy
from .clip_data import CaptionedImages

__all__ = ["ContrastiveHeads", "caption_queries", "info_nce", "item_key", "retrieval_scores", "tower_features"]


def item_key(item: Any) -> str:
    """A content key for the feature cache: the text itself, or the SHA-256 of an image file's bytes / array."""
    if isinstance(item, str) and not looks_like_image_path(item):
        return "t:" + hashlib.sha256(item.encode("utf-8")).hexdigest()
    if isinstance(item, (str, Path)):
        return "f:" + hashlib.sha256(Path(item).read_bytes()).hexdigest()
    arr = np.ascontiguousarray(np.asarray(item))
    return "a:" + hashlib.sha256(str((arr.shape, arr.dtype)).encode() + arr.tobytes()).hexdigest()


def tower_features(encoder: Any, items: Sequence[Any], cache: str | os.PathLike[str] | None = None,
                   batch_size: int = 32, progress: bool = False) -> np.ndarray:
    """Unit-length float32 ``(len(items), encoder.dim)`` features of a frozen tower, each distinct item encoded once.

    With ``cache`` (a folder), features are stored under ``cache/<fingerprint hash>/`` (``keys.txt`` +
    ``vectors.npy``) and only items never seen by this exact tower are encoded."""
    keys = [item_key(it) for it in items]
    known: dict[str, np.ndarray] = {}
    store = None
    if cache is not None:
        store = Path(cache) / hashlib.sha256(encoder.fingerprint.encode()).hexdigest()[:16]
        if (store / "keys.txt").is_file() and (store / "vectors.npy").is_file():
            old_keys = (store / "keys.txt").read_text("utf-8").split()
            vecs = read_npy(store / "vectors.npy", "it is a cache; delete it", np.float32, (len(old_keys), encoder.dim))
            known = dict(zip(old_keys, vecs, strict=True))
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k not in known:
            first.setdefault(k, i)
    todo = list(first.items())  # each new item once, in order of first appearance
    if todo:
        new = encoder.encode([items[i] for _, i in todo], batch_size=batch_size, progress=progress, normalize=True)
        known.update({k: v for (k, _), v in zip(todo, new, strict=True)})
        if store is not None:
            try:
                store.mkdir(parents=True, exist_ok=True)
                all_keys = list(known)
                with atomic_file(store / "vectors.npy") as fh:
                    np.save(fh, np.stack([known[k] for k in all_keys]).astype(np.float32), allow_pickle=False)
                with atomic_file(store / "keys.txt", "w", encoding="utf-8") as fh:
                    fh.write("\n".join(all_keys) + "\n")
            except OSError:
                pass  # a read-only or full cache only costs recomputation
    return np.stack([known[k] for k in keys]).astype(np.float32)


# ---------------------------------------------------------------------------------------------- the heads
def info_nce(logits: Any) -> Any:
    """CLIP's symmetric InfoNCE: mean of the cross-entropies of rows (text -> image) and columns (image -> text),
    with the matching pairs on the diagonal of the ``(b, b)`` similarity logits (torch)."""
    import torch

    target = torch.arange(logits.shape[0])
    return (torch.nn.functional.cross_entropy(logits, target) + torch.nn.functional.cross_entropy(logits.T, target)) / 2


class ContrastiveHeads(Params):
    """Linear projection heads ``image_head_`` (di, dim) and ``text_head_`` (dt, dim) and a learned temperature,
    trained on frozen tower features with ``info_nce`` (Adam, full passes of image-unique batches: each epoch every
    image appears once, with one of its captions drawn by the seeded generator, so no batch holds a false
    negative of the same image). ``init`` heads are seeded Gaussian (std 1/sqrt(fan-in)); ``temperature`` starts
    at CLIP's 0.07 and its inverse is capped at 100. Learned: ``loss_history_`` (per epoch), ``logit_scale_``.
    """

    def __init__(self, dim: int = 128, epochs: int = 60, batch_size: int = 256, lr: float = 1e-3,
                 weight_decay: float = 1e-4, temperature: float = 0.07, seed: int = 0, threads: int | None = None,
                 progress: bool = False) -> None:
        self.dim, self.epochs, self.batch_size, self.lr = dim, epochs, batch_size, lr
        self.weight_decay, self.temperature, self.seed = weight_decay, temperature, seed
        self.threads, self.progress = threads, progress

    def check_params(self) -> None:
        """Refuse unusable parameters before any work.

        Raises
        ------
        InputError
            Naming the first unusable parameter, its allowed range and the value given.
        """
        self.checked_params()

    def checked_params(self) -> dict[str, Any]:
        """The parameters that shape the heads, checked (InputError naming the first bad one)."""
        return {"dim": check_int(self.dim, "dim", low=1), "epochs": check_int(self.epochs, "epochs", low=0),
                "batch_size": check_int(self.batch_size, "batch_size", low=2, hint="InfoNCE needs negatives"),
                "lr": check_float(self.lr, "lr", low=0, low_open=True),
                "weight_decay": check_float(self.weight_decay, "weight_decay", low=0),
                "temperature": check_float(self.temperature, "temperature", 0.01, 10, hint="CLIP starts at 0.07"),
                "seed": check_int(self.seed, "seed", 0, 2**31 - 1)}

    def fit(self, image_features: np.ndarray, text_features: np.ndarray, image_of: np.ndarray) -> ContrastiveHeads:
        """``image_features`` (n_images, di), ``text_features`` (n_captions, dt), ``image_of`` (n_captions,) the
        image each caption describes. InputError for fewer than two images or inconsistent shapes."""
        torch = require("torch", "image", "training CLIP heads")
        p = self.checked_params()
        img = np.asarray(image_features, dtype=np.float32)
        txt = np.asarray(text_features, dtype=np.float32)
        image_of = np.asarray(image_of, dtype=np.int64)
        if img.ndim != 2 or txt.ndim != 2 or len(txt) != len(image_of):
            raise InputError(f"feature shapes do not fit: images {img.shape}, captions {txt.shape}, "
                             f"{len(image_of)} caption->image links")
        if len(img) < 2:
            raise InputError(f"{len(img)} image(s): contrastive training needs at least two (a pair and a negative)")
        if len(image_of) and (image_of.min() < 0 or image_of.max() >= len(img)):
            raise InputError("image_of holds an index outside the images")
        owners = [np.flatnonzero(image_of == i) for i in range(len(img))]
        if any(len(o) == 0 for o in owners):
            raise InputError(f"{sum(len(o) == 0 for o in owners)} image(s) have no caption; every image needs one")
        threads = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            self._fit(torch, p, img, txt, owners)
        finally:
            torch.set_num_threads(threads)
        return self

    def _fit(self, torch: Any, p: dict[str, Any], img: np.ndarray, txt: np.ndarray, owners: list[np.ndarray]) -> None:
        rng = np.random.default_rng(p["seed"])
        init = np.random.default_rng([p["seed"], 1])
        wi = torch.tensor(init.normal(0, img.shape[1] ** -0.5, (img.shape[1], p["dim"])), dtype=torch.float32,
                          requires_grad=True)
        wt = torch.tensor(init.normal(0, txt.shape[1] ** -0.5, (txt.shape[1], p["dim"])), dtype=torch.float32,
                          requires_grad=True)
        scale = torch.tensor(float(np.log(1 / p["temperature"])), requires_grad=True)
        self.init_image_head_, self.init_text_head_ = wi.detach().numpy().copy(), wt.detach().numpy().copy()
        opt = torch.optim.AdamW([wi, wt, scale], lr=p["lr"], weight_decay=p["weight_decay"])
        ti, tt = torch.from_numpy(img), torch.from_numpy(txt)
        self.loss_history_: list[float] = []
        epochs = int(p["epochs"])
        with progress_bar(epochs * len(img), "clip heads", "image", bool(self.progress)) as bar:
            for e in range(epochs):
                bar.set_postfix_str(f"epoch {e + 1}/{epochs}", refresh=False)
                order = rng.permutation(len(img))
                pick = np.array([o[rng.integers(len(o))] for o in owners])
                total = 0.0
                for s in range(0, len(order), p["batch_size"]):
                    b = order[s:s + p["batch_size"]]
                    bar.update(len(b))  # every minibatch: the bar moves within an epoch
                    if len(b) < 2:
                        continue
                    zi = torch.nn.functional.normalize(ti[b] @ wi, dim=1)
                    zt = torch.nn.functional.normalize(tt[pick[b]] @ wt, dim=1)
                    loss = info_nce(scale.exp().clamp(max=100.0) * zt @ zi.T)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(b)
                self.loss_history_.append(total / len(order))
        self.image_head_ = wi.detach().numpy().astype(np.float32)
        self.text_head_ = wt.detach().numpy().astype(np.float32)
        self.logit_scale_ = float(min(np.exp(float(scale.detach())), 100.0))


# ---------------------------------------------------------------------------------------------- evaluation
def retrieval_scores(text_vectors: np.ndarray, image_vectors: np.ndarray, relevant: list[set[int]],
                     k: int = 10) -> dict[str, float]:
    """Text -> image retrieval: for each query row of ``text_vectors`` (q, d), the images of ``image_vectors``
    (n, d) ranked by cosine; ``relevant[i]`` holds the image rows query i describes. Returns mean precision@1,
    precision@k (over min(k, #relevant)) and mean reciprocal rank of the first relevant image."""
    t = text_vectors / np.maximum(np.linalg.norm(text_vectors, axis=1, keepdims=True), 1e-12)
    v = image_vectors / np.maximum(np.linalg.norm(image_vectors, axis=1, keepdims=True), 1e-12)
    order = np.argsort(-(t @ v.T), axis=1, kind="stable")
    p1, pk, rr = [], [], []
    for row, rel in zip(order, relevant, strict=True):
        hits = np.isin(row, list(rel))
        p1.append(float(hits[0]))
        kk = min(k, len(rel))
        pk.append(float(hits[:kk].mean()))
        rr.append(1.0 / (1 + int(np.argmax(hits))) if hits.any() else 0.0)
    return {"p@1": float(np.mean(p1)), f"p@{k}": float(np.mean(pk)), "mrr": float(np.mean(rr)), "queries": len(rr)}


def caption_queries(data: CaptionedImages) -> tuple[list[str], list[set[int]]]:
    """Each distinct caption text once, with the images it describes: those it was written for, or, when the
    data has labels, every image sharing a label with them (a caption of a "7" describes every 7)."""
    rel: dict[str, set[int]] = {}
    for c, i in zip(data.captions, data.image_of, strict=True):
        rel.setdefault(c, set()).add(int(i))
    if data.labels is not None:
        by_label: dict[str, set[int]] = {}
        for i, lab in enumerate(data.labels):
            by_label.setdefault(lab, set()).add(i)
        rel = {c: set().union(*(by_label[data.labels[i]] for i in imgs)) for c, imgs in rel.items()}
    return list(rel), list(rel.values())
