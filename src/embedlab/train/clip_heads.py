"""A small CLIP: two projection heads trained with the symmetric InfoNCE loss over frozen towers
(Radford et al. 2021, "Learning Transferable Visual Models From Natural Language Supervision"; the heads-only,
locked-tower setting of LiT, Zhai et al. 2022).

The image tower (default ``efficientnet-lite0``, 1,280-d) and the text tower (default ``use-multilingual``, 512-d,
16 languages) stay frozen: their unit-length features are computed once and cached on disk, keyed by each tower's
fingerprint and the item's content. Only a linear map per tower (to ``dim``) and CLIP's temperature are learned,
so training takes seconds on a CPU. The output folder loads as a joint ``("text", "image")`` Encoder
(``encoders/joint.py``): a Korean or English caption and the images it describes land near each other.

    >>> summary = train_clip("photos/", "captions.csv", "joint-out", dim=128, epochs=60, seed=0)
    >>> from embedlab.encoders.joint import JointEncoder
    >>> JointEncoder("joint-out").encode(["손으로 쓴 숫자 칠", Path("photos/7.png")])

Captions file: CSV with a header and columns ``image`` (a path relative to the folder) and ``caption``; an image
may have several rows (several captions). An optional ``label`` column only changes how held-out retrieval is
scored: a caption then describes every held-out image with the same label, not just the ones it was written for. ``make_digits_example`` writes a worked example: scikit-learn's
handwritten digits as PNG files with generated English and Korean captions.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._params import check_float, check_int
from ..errors import InputError, require
from ..persist import atomic_file, atomic_folder, read_npy, versioned, write_json_atomic

FORMAT = "embedlab.joint"
FORMAT_VERSION = 1
MANIFEST = "joint.json"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


# ---------------------------------------------------------------------------------------------- data
@dataclass
class CaptionedImages:
    """Images and captions: ``captions[i]`` describes ``images[image_of[i]]`` (int64 (n_captions,)); optional
    ``labels`` (one per image) say which images are interchangeable for scoring retrieval (e.g. the digit)."""

    images: list[Any]
    captions: list[str]
    image_of: np.ndarray
    labels: list[str] | None = None

    def subset(self, keep: np.ndarray) -> CaptionedImages:
        """The images whose indices are in ``keep`` (sorted), with their captions."""
        keep = np.sort(np.asarray(keep, dtype=np.int64))
        new = {int(old): i for i, old in enumerate(keep)}
        rows = [i for i, j in enumerate(self.image_of) if int(j) in new]
        return CaptionedImages([self.images[int(k)] for k in keep], [self.captions[i] for i in rows],
                               np.array([new[int(self.image_of[i])] for i in rows], dtype=np.int64),
                               None if self.labels is None else [self.labels[int(k)] for k in keep])


def read_captions(folder: str | os.PathLike, captions_csv: str | os.PathLike,
                  allow_uncaptioned: bool = False) -> CaptionedImages:
    """Read ``captions_csv`` (columns ``image``, ``caption``, optionally ``label``) against the images in ``folder``.

    InputError, naming counts and the first offenders: a missing or empty file, missing columns, empty captions,
    rows naming images that do not exist (or lie outside ``folder``), and — unless ``allow_uncaptioned`` — images
    in ``folder`` that no row captions (the counts do not match)."""
    folder, path = Path(folder), Path(captions_csv)
    if not folder.is_dir():
        raise InputError(f"image folder {folder} does not exist; pass the folder the captions' image paths are in")
    if not path.is_file():
        raise InputError(f"captions file {path} does not exist; pass a CSV with columns image,caption")
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
            columns = set(rows[0]) if rows else set()
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read {path} as UTF-8 CSV ({exc})") from None
    if not rows:
        raise InputError(f"{path} holds no captions (empty data); give one row per (image, caption) pair")
    if not {"image", "caption"} <= columns:
        raise InputError(f"{path} needs the columns image and caption; it has {', '.join(sorted(columns)) or 'none'}")
    root = folder.resolve()
    index: dict[Path, int] = {}
    images: list[Path] = []
    captions: list[str] = []
    image_of: list[int] = []
    labels: list[str] = []
    missing: list[str] = []
    empty: list[int] = []
    clash: list[str] = []
    for n, row in enumerate(rows, start=2):  # line numbers as an editor shows them (line 1 is the header)
        name, caption = (row.get("image") or "").strip(), (row.get("caption") or "").strip()
        if not caption:
            empty.append(n)
            continue
        file = (folder / name).resolve()
        if not name or not file.is_relative_to(root) or not file.is_file():
            missing.append(name or f"(blank, line {n})")
            continue
        label = (row.get("label") or "").strip()
        if file not in index:
            index[file] = len(images)
            images.append(file)
            labels.append(label)
        elif labels[index[file]] != label:
            clash.append(name)
        captions.append(caption)
        image_of.append(index[file])
    if missing:
        raise InputError(f"{len(missing)} caption row(s) name images missing from {folder}: "
                         f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; fix the paths (relative to "
                         "the folder) or remove those rows")
    if empty:
        raise InputError(f"{len(empty)} row(s) of {path} have an empty caption (lines {', '.join(map(str, empty[:5]))}"
                         f"{' ...' if len(empty) > 5 else ''}); give every image a caption or drop the row")
    if clash:
        raise InputError(f"{len(clash)} image(s) have rows with different labels (e.g. {clash[0]}); an image has "
                         "one label")
    on_disk = sorted(p.resolve() for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    uncaptioned = [p for p in on_disk if p not in index]
    if uncaptioned and not allow_uncaptioned:
        raise InputError(f"mismatched counts: {folder} holds {len(on_disk)} images but the captions cover "
                         f"{len(images)} ({len(uncaptioned)} uncaptioned, e.g. {uncaptioned[0].name}); caption them "
                         "or pass allow_uncaptioned=True (--allow-uncaptioned) to train on the captioned ones")
    return CaptionedImages(images, captions, np.array(image_of, dtype=np.int64),
                           labels if "label" in columns else None)


def check_pairs(images: Sequence[Any], captions: Sequence[str]) -> CaptionedImages:
    """One caption per image, as two equally long lists (InputError when the counts differ or a list is empty)."""
    if isinstance(captions, str) or isinstance(images, (str, bytes)):
        raise InputError("images and captions must be lists (one caption per image)")
    if len(images) != len(captions):
        raise InputError(f"mismatched counts: {len(images)} images but {len(captions)} captions; pass one caption "
                         "per image")
    if not images:
        raise InputError("no images and captions (empty data); pass at least two pairs")
    return CaptionedImages(list(images), [str(c) for c in captions], np.arange(len(images), dtype=np.int64))


# ---------------------------------------------------------------------------------------------- features
def item_key(item: Any) -> str:
    """A content key for the feature cache: the text itself, or the SHA-256 of an image file's bytes / array."""
    if isinstance(item, str) and not looks_like_image(item):
        return "t:" + hashlib.sha256(item.encode("utf-8")).hexdigest()
    if isinstance(item, (str, Path)):
        return "f:" + hashlib.sha256(Path(item).read_bytes()).hexdigest()
    arr = np.ascontiguousarray(np.asarray(item))
    return "a:" + hashlib.sha256(str((arr.shape, arr.dtype)).encode() + arr.tobytes()).hexdigest()


def looks_like_image(item: Any) -> bool:
    return isinstance(item, Path) or (isinstance(item, str) and Path(item).suffix.lower() in IMAGE_SUFFIXES
                                      and os.path.isfile(item))


def tower_features(encoder: Any, items: Sequence[Any], cache: str | os.PathLike | None = None,
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


class ContrastiveHeads:
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

    def check_params(self) -> dict[str, Any]:
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
        p = self.check_params()
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
        from tqdm.auto import tqdm

        for _ in tqdm(range(p["epochs"]), desc="clip heads", unit="epoch", disable=not self.progress):
            order = rng.permutation(len(img))
            pick = np.array([o[rng.integers(len(o))] for o in owners])
            total = 0.0
            for s in range(0, len(order), p["batch_size"]):
                b = order[s:s + p["batch_size"]]
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


# ---------------------------------------------------------------------------------------------- the command
def train_clip(folder: str | os.PathLike | None, captions: str | os.PathLike | None, out: str | os.PathLike,
               data: CaptionedImages | None = None, holdout: float = 0.2, text_encoder: str = "use-multilingual",
               image_encoder: str = "efficientnet-lite0", cache: str | os.PathLike | None = None,
               allow_uncaptioned: bool = False, heads: ContrastiveHeads | None = None,
               progress: bool = False) -> dict[str, Any]:
    """Read captioned images (``folder`` + ``captions`` CSV, or ``data``), hold out a seeded ``holdout`` share of
    the images, train ``heads`` on the rest and write the joint encoder folder ``out`` (whole, atomically).

    Returns the summary stored in ``out/joint.json``, including held-out text -> image retrieval for the trained
    and the untrained (initial random) heads. ``cache`` defaults to ``<embedlab home>/cache/towers``."""
    from .. import config
    from ..encoders.registry import encoder as build

    heads = heads or ContrastiveHeads()
    p = heads.check_params()
    check_float(holdout, "holdout", 0, 1, high_open=True, hint="the share of images kept out of training")
    if data is None:
        if folder is None or captions is None:
            raise InputError("pass an image folder and a captions CSV (or data=CaptionedImages)")
        data = read_captions(folder, captions, allow_uncaptioned)
    n = len(data.images)
    n_test = int(round(n * holdout))
    if n - n_test < 2 or (holdout > 0 and n_test < 2):
        raise InputError(f"{n} captioned image(s) are too few: training needs two and the held-out share two more; "
                         "add images or lower holdout")
    perm = np.random.default_rng([p["seed"], 7]).permutation(n)
    train, test = data.subset(perm[n_test:]), data.subset(perm[:n_test])
    cache = Path(config.home()) / "cache" / "towers" if cache is None else Path(cache)
    text_enc, image_enc = build(text_encoder), build(image_encoder)
    feats = {}
    for name, part in (("train", train), ("test", test)):
        if part.images:
            feats[name] = (tower_features(image_enc, part.images, cache, progress=progress),
                           tower_features(text_enc, part.captions, cache, progress=progress))
    heads.fit(feats["train"][0], feats["train"][1], train.image_of)
    evaluation = None
    if test.images:
        queries, relevant = caption_queries(test)
        img_t, _ = feats["test"]
        txt_q = tower_features(text_enc, queries, cache)
        evaluation = {
            "trained": retrieval_scores(txt_q @ heads.text_head_, img_t @ heads.image_head_, relevant),
            "untrained": retrieval_scores(txt_q @ heads.init_text_head_, img_t @ heads.init_image_head_, relevant),
            "images": len(test.images), "captions": len(test.captions)}
    summary = versioned(
        FORMAT, FORMAT_VERSION, dim=p["dim"], params=p, logit_scale=heads.logit_scale_,
        text_encoder={"name": text_enc.name, "dim": text_enc.dim, "fingerprint": text_enc.fingerprint},
        image_encoder={"name": image_enc.name, "dim": image_enc.dim, "fingerprint": image_enc.fingerprint},
        train={"images": len(train.images), "captions": len(train.captions)}, heldout=evaluation,
        heldout_images=[str(x) for x in test.images], loss_history=heads.loss_history_)
    with atomic_folder(out) as tmp:
        for name, arr in (("text_head.npy", heads.text_head_), ("image_head.npy", heads.image_head_)):
            with atomic_file(tmp / name) as fh:
                np.save(fh, np.ascontiguousarray(arr, dtype=np.float32), allow_pickle=False)
        write_json_atomic(tmp / MANIFEST, summary)
    return summary


# ---------------------------------------------------------------------------------------------- the example
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
KOREAN_DIGITS = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
KOREAN_NATIVE = ("영", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉")
TEMPLATES_EN = ("a handwritten digit {w}", "the number {w} written by hand", "a scanned handwritten {n}")
TEMPLATES_KO = ("손으로 쓴 숫자 {k}", "숫자 {n}의 손글씨", "손글씨로 쓴 {nat}")


def digit_captions(digit: int, rng: np.random.Generator) -> tuple[str, str]:
    """One English and one Korean caption for ``digit`` (templates drawn by ``rng``)."""
    fill = {"w": DIGIT_WORDS[digit], "n": str(digit), "k": KOREAN_DIGITS[digit], "nat": KOREAN_NATIVE[digit]}
    return (TEMPLATES_EN[rng.integers(len(TEMPLATES_EN))].format(**fill),
            TEMPLATES_KO[rng.integers(len(TEMPLATES_KO))].format(**fill))


def make_digits_example(folder: str | os.PathLike, limit: int | None = None, seed: int = 0) -> Path:
    """Write scikit-learn's handwritten digits (8 x 8, upsampled to 64 x 64 RGB PNG) into ``folder`` with
    ``captions.csv``: two generated captions per image, one English, one Korean, and the digit as ``label`` (used
    only to score retrieval). Returns the CSV's path."""
    from PIL import Image
    from sklearn.datasets import load_digits

    limit = check_int(limit, "limit", low=2, none=True)
    digits = load_digits()
    n = len(digits.images) if limit is None else min(limit, len(digits.images))
    rng = np.random.default_rng(seed)
    with atomic_folder(folder) as tmp:
        rows = []
        for i in range(n):
            pixels = (255 - digits.images[i] * 255 / 16).astype(np.uint8)   # dark ink on white paper
            big = np.kron(pixels, np.ones((8, 8), dtype=np.uint8))
            name = f"digit_{i:04d}.png"
            Image.fromarray(np.stack([big] * 3, axis=-1)).save(tmp / name)
            rows += [(name, c, int(digits.target[i])) for c in digit_captions(int(digits.target[i]), rng)]
        with open(tmp / "captions.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["image", "caption", "label"])
            w.writerows(rows)
    return Path(folder) / "captions.csv"


__all__ = ["CaptionedImages", "ContrastiveHeads", "caption_queries", "check_pairs", "info_nce",
           "make_digits_example", "read_captions", "retrieval_scores", "tower_features", "train_clip"]
