"""Training a small CLIP: the ``CLIPTrainer`` (a ``Trainer``) and ``train_clip``, the function the CLI calls.

Hold out a seeded share of the images, compute (cached) frozen tower features, train the two heads with
InfoNCE (``clip_heads.ContrastiveHeads``) and score held-out text -> image retrieval for the trained and the
untrained heads. The result is a joint ``("text", "image")`` Encoder (``to_encoder()``, or the folder ``save``
writes, ``formats.joint``, loaded by path): a Korean or English caption and the images it describes land near
each other.

    >>> data = read_captions("photos/", "captions.csv")
    >>> trainer = CLIPTrainer(dim=128, epochs=60, seed=0).fit(data)
    >>> trainer.save("joint-out"); trainer.to_encoder().encode(["손으로 쓴 숫자 칠", Path("photos/7.png")])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._params import check_float
from ..config import home
from ..encoders.base import Encoder
from ..encoders.joint import JointEncoder
from ..encoders.registry import encoder as build
from ..errors import InputError
from ..formats import joint as joint_folder
from .base import Trainer, save_folder
from .clip_data import CaptionedImages, read_captions
from .clip_heads import ContrastiveHeads, caption_queries, retrieval_scores, tower_features

__all__ = ["CLIPTrainer", "train_clip"]


class CLIPTrainer(Trainer):
    """Two linear heads over frozen text and image towers, trained with CLIP's symmetric InfoNCE (Radford et al. 2021).

    The towers stay frozen (their features are computed once and cached); only the projection heads and the
    temperature learn (``clip_heads.ContrastiveHeads``). Learned: ``heads_``, ``summary_`` (what ``joint.json``
    holds: parameters, tower fingerprints, loss history and held-out retrieval for the trained and the untrained
    heads), ``text_tower_`` / ``image_tower_`` (the tower encoders).

    Parameters
    ----------
    dim : int, default 128
        Width of the joint space (>= 1).
    epochs : int, default 60
        Full passes over the training images (>= 0; 0 keeps the random initial heads).
    batch_size : int, default 256
        Images per batch (>= 2: InfoNCE needs in-batch negatives); each image appears once per epoch with one of
        its captions.
    lr : float, default 1e-3
        Adam's learning rate (> 0).
    weight_decay : float, default 1e-4
        Adam's L2 penalty on the heads (>= 0).
    temperature : float, default 0.07
        Initial softmax temperature, in [0.01, 10] (CLIP's 0.07); learned, its inverse capped at 100.
    seed : int, default 0
        Seed, in [0, 2**31 - 1], of the held-out split, the initial heads and the batches.
    holdout : float, default 0.2
        Share of the images, in [0, 1), kept out of training to score text -> image retrieval (0: none).
    text_encoder : str, default "use-multilingual"
        The frozen text tower (an encoder name or path, ``embedlab.encoder``).
    image_encoder : str, default "efficientnet-lite0"
        The frozen image tower.
    cache : path-like or None, default None
        The tower-feature cache folder; None: ``<embedlab home>/cache/towers``.
    threads : int or None, default None
        Torch threads while training the heads; None: torch's setting.
    progress : bool, default False
        Show progress bars.
    """

    def __init__(self, dim: int = 128, epochs: int = 60, batch_size: int = 256, lr: float = 1e-3,
                 weight_decay: float = 1e-4, temperature: float = 0.07, seed: int = 0, holdout: float = 0.2,
                 text_encoder: str = "use-multilingual", image_encoder: str = "efficientnet-lite0",
                 cache: str | os.PathLike[str] | None = None, threads: int | None = None,
                 progress: bool = False) -> None:
        self.dim, self.epochs, self.batch_size, self.lr = dim, epochs, batch_size, lr
        self.weight_decay, self.temperature, self.seed, self.holdout = weight_decay, temperature, seed, holdout
        self.text_encoder, self.image_encoder, self.cache = text_encoder, image_encoder, cache
        self.threads, self.progress = threads, progress

    def _heads(self) -> ContrastiveHeads:
        return ContrastiveHeads(dim=self.dim, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                                weight_decay=self.weight_decay, temperature=self.temperature, seed=self.seed,
                                threads=self.threads, progress=self.progress)

    def check_params(self) -> None:
        """Refuse unusable parameters before any image is read.

        Raises
        ------
        InputError
            Naming the first unusable parameter, its allowed range and the value given.
        """
        self._heads().check_params()
        check_float(self.holdout, "holdout", 0, 1, high_open=True, hint="the share of images kept out of training")

    @property
    def is_fitted(self) -> bool:
        """Whether ``fit`` has trained the heads.

        Returns
        -------
        bool
            True when ``summary_`` exists.
        """
        return hasattr(self, "summary_")

    def fit(self, data: CaptionedImages) -> CLIPTrainer:
        """Hold out a seeded share of ``data``'s images, train the heads on the rest, score the held-out ones.

        Parameters
        ----------
        data : CaptionedImages
            Images (paths, PIL images or arrays) and their captions (``clip_data.read_captions`` /
            ``check_pairs``).

        Returns
        -------
        CLIPTrainer
            ``self``, with ``heads_`` (image head float32 ``(d_image, dim)``, text head float32 ``(d_text, dim)``) and
            ``summary_`` (held-out precision@1, precision@10 and MRR, in [0, 1], for the trained and the untrained
            heads).

        Raises
        ------
        InputError
            Unusable parameters, too few images for training and the held-out share (two each), images without
            captions, an unknown tower.
        MissingDependencyError
            When torch or a tower's extra is not installed.
        """
        self.check_params()
        heads = self._heads()
        p = heads.checked_params()
        n = len(data.images)
        n_test = int(round(n * self.holdout))
        if n - n_test < 2 or (self.holdout > 0 and n_test < 2):
            raise InputError(f"{n} captioned image(s) are too few: training needs two and the held-out share two "
                             "more; add images or lower holdout")
        perm = np.random.default_rng([p["seed"], 7]).permutation(n)
        train, test = data.subset(perm[n_test:]), data.subset(perm[:n_test])
        cache = Path(home()) / "cache" / "towers" if self.cache is None else Path(self.cache)
        text_enc, image_enc = build(self.text_encoder), build(self.image_encoder)
        feats = {}
        for name, part in (("train", train), ("test", test)):
            if part.images:
                feats[name] = (tower_features(image_enc, part.images, cache, progress=self.progress),
                               tower_features(text_enc, part.captions, cache, progress=self.progress))
        heads.fit(feats["train"][0], feats["train"][1], train.image_of)
        evaluation = None
        if test.images:
            queries, relevant = caption_queries(test)
            img_t, _ = feats["test"]
            txt_q = tower_features(text_enc, queries, cache)
            evaluation = {
                "trained": retrieval_scores(txt_q @ heads.text_head_, img_t @ heads.image_head_, relevant),
                "untrained": retrieval_scores(txt_q @ heads.init_text_head_, img_t @ heads.init_image_head_,
                                              relevant),
                "images": len(test.images), "captions": len(test.captions)}
        self.heads_, self.text_tower_, self.image_tower_ = heads, text_enc, image_enc
        self.summary_: dict[str, Any] = {
            "dim": p["dim"], "params": p, "logit_scale": heads.logit_scale_,
            "text_encoder": {"name": text_enc.name, "dim": text_enc.dim, "fingerprint": text_enc.fingerprint},
            "image_encoder": {"name": image_enc.name, "dim": image_enc.dim, "fingerprint": image_enc.fingerprint},
            "train": {"images": len(train.images), "captions": len(train.captions)}, "heldout": evaluation,
            "heldout_images": [str(x) for x in test.images], "loss_history": heads.loss_history_}
        return self

    def _folder_data(self) -> joint_folder.JointFolder:
        return joint_folder.JointFolder(
            {"format": joint_folder.FORMAT, "format_version": joint_folder.FORMAT_VERSION, **self.summary_},
            self.heads_.text_head_, self.heads_.image_head_)

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the joint encoder folder (``formats.joint``) whole, atomically.

        Parameters
        ----------
        folder : path-like
            The output folder (an earlier embedlab output there is replaced whole; a file or a folder of other files is refused, see ``base.save_folder``).

        Returns
        -------
        Path
            ``folder``, loadable with ``embedlab.encoder(str(folder))``.

        Raises
        ------
        InputError
            When not trained yet.
        StorageFullError, ReadOnlyStorageError
            When the disk is full or cannot be written.
        """
        self.require_fitted("save")
        folder = Path(folder)
        with save_folder(folder) as tmp:
            joint_folder.write(tmp, self.heads_.text_head_, self.heads_.image_head_, **self.summary_)
        return folder

    def to_encoder(self) -> Encoder:
        """The joint text-image encoder of the trained heads (in memory; ``save`` first to load it by path).

        Returns
        -------
        Encoder
            A ``JointEncoder`` with modalities ("text", "image"): texts and images -> float32 ``(n, dim)`` in one
            space (unit rows by default; cosine).

        Raises
        ------
        InputError
            When not trained yet.
        """
        self.require_fitted("use")
        return JointEncoder(data=self._folder_data())


def train_clip(folder: str | os.PathLike[str] | None, captions: str | os.PathLike[str] | None,
               out: str | os.PathLike[str], data: CaptionedImages | None = None, holdout: float = 0.2,
               text_encoder: str = "use-multilingual", image_encoder: str = "efficientnet-lite0",
               cache: str | os.PathLike[str] | None = None, allow_uncaptioned: bool = False,
               heads: ContrastiveHeads | None = None, progress: bool = False) -> dict[str, Any]:
    """Read captioned images, train a ``CLIPTrainer`` and write the joint encoder folder ``out`` (whole, atomically).

    What ``embedlab train clip`` runs.

    Parameters
    ----------
    folder : path-like or None
        The image folder (with ``captions``), or None when ``data`` is given.
    captions : path-like or None
        The captions CSV (columns ``image``, ``caption``, optionally ``label``), or None with ``data``.
    out : path-like
        The output folder (``formats.joint``).
    data : CaptionedImages, optional
        Captioned images already read (instead of ``folder`` + ``captions``).
    holdout : float, default 0.2
        Share of the images, in [0, 1), kept out to score retrieval.
    text_encoder : str, default "use-multilingual"
        The frozen text tower.
    image_encoder : str, default "efficientnet-lite0"
        The frozen image tower.
    cache : path-like, optional
        The tower-feature cache folder (default ``<embedlab home>/cache/towers``).
    allow_uncaptioned : bool, default False
        Ignore images of ``folder`` that no caption names (otherwise an error).
    heads : ContrastiveHeads, optional
        Its parameters are the heads' (``dim``, ``epochs``, ``lr`` …); default ``ContrastiveHeads()``.
    progress : bool, default False
        Show progress bars.

    Returns
    -------
    dict
        The summary stored in ``out/joint.json``, including held-out text -> image retrieval for the trained and
        the untrained (initial random) heads.

    Raises
    ------
    InputError
        Missing images or captions, bad parameters (see ``CLIPTrainer.fit``).
    MissingDependencyError
        When torch or a tower's extra is not installed.
    StorageFullError, ReadOnlyStorageError
        When ``out`` cannot be written.
    """
    hp = (heads or ContrastiveHeads()).get_params()
    trainer = CLIPTrainer(**hp, holdout=holdout, text_encoder=text_encoder, image_encoder=image_encoder,
                          cache=cache)
    trainer.progress = progress or hp.get("progress", False)
    trainer.check_params()
    if data is None:
        if folder is None or captions is None:
            raise InputError("pass an image folder and a captions CSV (or data=CaptionedImages)")
        data = read_captions(folder, captions, allow_uncaptioned)
    trainer.fit(data).save(out)
    return {"format": joint_folder.FORMAT, "format_version": joint_folder.FORMAT_VERSION, **trainer.summary_}
