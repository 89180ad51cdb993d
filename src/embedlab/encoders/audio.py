"""Audio encoders: MFCC/log-mel statistics, speaker vectors, sound-event vectors and wav2vec 2.0.

Hand-crafted MFCC/log-mel statistics, speaker vectors (Resemblyzer), sound-event vectors (aiSFX) and a
user-supplied wav2vec 2.0 model.

Items: a path to a wav/flac/ogg file, or an ``(array, sample_rate)`` tuple. Audio is mixed down to mono and
resampled (soxr) to each model's rate. Every item is encoded on its own, so results never depend on batch size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._compat import renamed
from ..errors import CorruptFileError, ModelNotFoundError
from .base import Encoder, package_fingerprint
from .media import as_items, check_audio, load_audio
from .registry import EncoderSpec, register


class AudioEncoder(Encoder):
    """Shared parts of the audio encoders: validation, loading at ``sample_rate``, one item at a time.

    Items are sound file paths or ``(array, sample_rate)`` tuples; each is mixed down to mono, resampled to
    ``sample_rate`` Hz and embedded on its own (``_embed``), so results never depend on the batch size.
    """

    modalities = ("audio",)
    metric = "cosine"
    sample_rate = 16000

    def encode(self, items: Any, batch_size: int = 16, progress: bool = False, normalize: bool = True) -> np.ndarray:
        """Encode sounds into float32 ``(n, dim)`` rows.

        Parameters
        ----------
        items : object
            A list of paths / ``(array, sample_rate)`` tuples, or one of them.
        batch_size : int, default 16
            Items per batch (each is embedded on its own).
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows.

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per sound.

        Raises
        ------
        InputError
            For an empty list or an item that is not readable audio (naming its position).
        CorruptFileError
            For a sound file that cannot be decoded.
        NonFiniteError
            When the model produced NaN or infinity.
        """
        return super().encode(as_items(items), batch_size=batch_size, progress=progress, normalize=normalize)

    def _check_item(self, index: int, item: Any) -> Any:
        return check_audio(index, item)

    def _encode_batch(self, items: list[Any]) -> np.ndarray:
        return np.stack([self._embed(load_audio(it, self.sample_rate)) for it in items]).astype(np.float32)

    def _embed(self, wav: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class MFCCEncoder(AudioEncoder):
    """The classic baseline: statistics over time of MFCCs and log-mel band energies (248-d by default).

    The mean and standard deviation over time of MFCCs (c1..c``n_mfcc``; c0, the loudness, is left out), their
    deltas and delta-deltas, and log-mel band energies (mean centred across bands, so the vector describes
    spectral shape rather than volume). dB-valued statistics are divided by 10 so that no block dominates the
    cosine. Output dim = 6 * n_mfcc + 2 * n_mels. 16 kHz, 512-sample FFT, 10 ms hop (librosa).

    Parameters
    ----------
    n_mfcc : int, default 20
        MFCCs kept (c1 .. c``n_mfcc``).
    n_mels : int, default 64
        Mel bands.

    Raises
    ------
    ImportError
        When librosa is not installed.
    """

    name = "mfcc"
    dim = 248  # with the default n_mfcc=20, n_mels=64
    sample_rate = 16000

    def __init__(self, n_mfcc: int = 20, n_mels: int = 64) -> None:
        import librosa  # noqa: F401  (fail early if missing)

        self.n_mfcc, self.n_mels = int(n_mfcc), int(n_mels)
        self.dim = 6 * self.n_mfcc + 2 * self.n_mels

    def _embed(self, wav: np.ndarray) -> np.ndarray:
        import librosa

        n_fft = 512
        if len(wav) < n_fft:
            wav = np.pad(wav, (0, n_fft - len(wav)))
        mel = librosa.feature.melspectrogram(y=wav, sr=self.sample_rate, n_fft=n_fft, hop_length=160,
                                             n_mels=self.n_mels, fmax=self.sample_rate / 2)
        logmel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
        mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=self.n_mfcc + 1)[1:]
        frames = mfcc.shape[1]
        width = min(9, frames if frames % 2 else frames - 1)
        if width >= 3:
            d1 = librosa.feature.delta(mfcc, width=width)
            d2 = librosa.feature.delta(mfcc, order=2, width=width)
        else:  # too short for deltas (under ~30 ms)
            d1 = d2 = np.zeros_like(mfcc)
        shape = logmel.mean(axis=1)
        return np.concatenate([
            mfcc.mean(axis=1) / 10, mfcc.std(axis=1) / 10,
            d1.mean(axis=1), d1.std(axis=1), d2.mean(axis=1), d2.std(axis=1),
            (shape - shape.mean()) / 10, logmel.std(axis=1) / 10,
        ]).astype(np.float32)

    def _fingerprint_source(self) -> str:
        from importlib import metadata

        return f"librosa=={metadata.version('librosa')}:mfcc{self.n_mfcc}-mel{self.n_mels}-v1"

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus ``sample_rate`` (Hz).

        Returns
        -------
        dict
            ``Encoder.info()``'s keys (``name``, ``dim`` ... ``languages``) and ``sample_rate``.
        """
        return {**super().info(), "sample_rate": self.sample_rate}


class ResemblyzerEncoder(AudioEncoder):
    """Speaker vectors (256-d) from the ``resemblyzer`` package: who is speaking, largely whatever is said.

    d-vectors of an LSTM trained with the GE2E loss (Wan et al. 2018), at 16 kHz. Silences are trimmed with WebRTC
    voice activity detection; a silent clip still gets a vector.

    Parameters
    ----------
    trim_silence : bool, default True
        Cut long silences before embedding (clips that would get shorter than 0.1 s are kept whole).

    Raises
    ------
    ModelNotFoundError
        When ``resemblyzer`` (or ``webrtcvad-wheels``) or its weights are missing.
    """

    name = "resemblyzer"
    dim = 256
    sample_rate = 16000

    def __init__(self, trim_silence: bool = True) -> None:
        try:
            import resemblyzer
            from resemblyzer import VoiceEncoder
        except ImportError as exc:
            raise ModelNotFoundError(
                "resemblyzer needs 'resemblyzer==0.1.4' (pip install --no-deps resemblyzer==0.1.4) and "
                f"'webrtcvad-wheels'; import failed: {exc}"
            ) from exc
        self._weights = Path(resemblyzer.__file__).parent / "pretrained.pt"
        if not self._weights.is_file():
            raise ModelNotFoundError(f"{self._weights} is missing; reinstall resemblyzer==0.1.4")
        self.trim_silence = trim_silence
        self.model = VoiceEncoder("cpu", verbose=False, weights_fpath=self._weights)

    def _embed(self, wav: np.ndarray) -> np.ndarray:
        from resemblyzer import audio

        if not np.any(wav):  # silence: volume normalisation would divide by zero
            return self.model.embed_utterance(np.zeros(max(len(wav), 1600), dtype=np.float32))
        wav = audio.normalize_volume(wav, -30, increase_only=True)
        if self.trim_silence and len(wav) >= 16000 * 0.03:
            trimmed = audio.trim_long_silences(wav)
            wav = trimmed if len(trimmed) >= 1600 else wav  # keep very short or silent clips whole
        return self.model.embed_utterance(wav.astype(np.float32))

    def _fingerprint_source(self) -> str:
        return package_fingerprint("resemblyzer", self._weights)


class AiSFXEncoder(AudioEncoder):
    """General sound-event vectors (512-d) from the ``aisfx`` package: what sound it is.

    A 9-layer CNN trained across several sound-event datasets (ISMIR 2022), at 44.1 kHz. Its librosa log-mel front
    end is reimplemented here for current librosa/numpy; vectors of ~2.3 s blocks (50 % overlap) are averaged over
    the clip.

    Raises
    ------
    ModelNotFoundError
        When ``aisfx`` or its checkpoint is missing.
    CorruptFileError
        When the checkpoint cannot be read.
    """

    name = "aisfx"
    dim = 512
    sample_rate = 44100
    block_frames = 100  # ~2.3 s of 1024-sample hops

    def __init__(self) -> None:
        import torch

        try:
            import aisfx.models.cnn2d as cnn2d
        except ImportError as exc:
            raise ModelNotFoundError("aisfx needs 'aisfx==0.1.2' (pip install --no-deps aisfx==0.1.2)") from exc
        self._weights = Path(cnn2d.__file__).parent / "checkpoint.pth"
        if not self._weights.is_file():
            raise ModelNotFoundError(f"{self._weights} is missing; reinstall aisfx==0.1.2")
        try:  # the checkpoint is a pickled (state_dict, {dataset: (index, classes)}) tuple from the package
            weights, ds_dict = torch.load(self._weights, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise CorruptFileError(f"cannot read the aisfx checkpoint {self._weights}: {exc}") from exc
        net = cnn2d.CrossNet(cnn2d.EmbeddingNet("max", 3, 1, 64), ds_dict, "cpu")
        net.load_state_dict(weights)
        self.model = net.embedding_net.eval()  # the classifier heads are not needed for embeddings

    def spectrogram(self, wav: np.ndarray) -> np.ndarray:
        """The network's log-mel input, as aisfx's librosa front end computes it, min-max scaled as in the paper.

        Parameters
        ----------
        wav : numpy.ndarray of shape (samples,)
            Mono float32 samples at 44.1 kHz (peak-normalised here).

        Returns
        -------
        numpy.ndarray of shape (frames, 96)
            float32, one row per 1024-sample hop, 96 mel bands.
        """
        import librosa

        peak = float(np.max(np.abs(wav))) if len(wav) else 0.0
        wav = wav / (peak if peak > 0 else 1.0)
        if len(wav) < 2048:
            wav = np.pad(wav, (0, 2048 - len(wav)))
        spec = librosa.feature.melspectrogram(y=wav, sr=self.sample_rate, n_fft=2048, win_length=2048,
                                              hop_length=1024, n_mels=96, norm=1.0, fmin=0.0, fmax=22050.0,
                                              htk=True, power=2.0)
        spec = np.log10(spec * 10000.0 + 1.0)
        return (spec.T / 9.457798957824707).astype(np.float32)

    def _embed(self, wav: np.ndarray) -> np.ndarray:
        import torch

        spec = self.spectrogram(wav)
        size, hop = self.block_frames, self.block_frames // 2
        n_blocks = max(1, int(np.ceil((len(spec) - size) / hop + 1)) if len(spec) > size else 1)
        padded = np.zeros(((n_blocks - 1) * hop + size, spec.shape[1]), dtype=np.float32)
        padded[:len(spec)] = spec
        blocks = np.stack([padded[i * hop:i * hop + size] for i in range(n_blocks)])
        with torch.inference_mode():
            emb = self.model(torch.from_numpy(blocks)).numpy()
        return emb.mean(axis=0)

    def _fingerprint_source(self) -> str:
        return package_fingerprint("aisfx", self._weights)


class Wav2Vec2Encoder(AudioEncoder):
    """A wav2vec 2.0 model (Baevski et al. 2020) from a local Hugging Face folder, at 16 kHz.

    The vector is the mean of the last hidden states over time (768-d for a base model; the folder's
    ``hidden_size``). Each utterance is normalised to zero mean and unit variance when the folder's
    ``preprocessor_config.json`` says so (as ``Wav2Vec2FeatureExtractor`` does).

    Parameters
    ----------
    path : str or path-like
        A ``Wav2Vec2Model`` folder (``config.json`` + ``model.safetensors`` or ``pytorch_model.bin``); required,
        no wav2vec2 weights ship with embedlab.

    Raises
    ------
    ModelNotFoundError
        When ``path`` is None or lacks ``config.json`` or weights.
    CorruptFileError
        When transformers cannot load the folder.
    """

    name = "wav2vec2"
    dim = 768  # a base model; the loaded config decides
    sample_rate = 16000

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            raise ModelNotFoundError(
                "wav2vec2 needs a local model: embedlab.encoder('wav2vec2', path='folder/') with a Hugging Face "
                "Wav2Vec2Model folder (config.json + model.safetensors); no wav2vec2 weights ship with embedlab"
            )
        self.path = Path(path).expanduser()
        if not (self.path / "config.json").is_file():
            raise ModelNotFoundError(f"no wav2vec2 model at {self.path}: config.json not found")
        weights = [self.path / f for f in ("model.safetensors", "pytorch_model.bin") if (self.path / f).is_file()]
        if not weights:
            raise ModelNotFoundError(f"{self.path} has config.json but no model.safetensors or pytorch_model.bin")
        self._weights = weights[0]
        from transformers import Wav2Vec2Model

        try:
            model: Any = Wav2Vec2Model.from_pretrained(str(self.path), local_files_only=True)
            self.model = model.eval()
        except (OSError, ValueError, RuntimeError) as exc:
            raise CorruptFileError(f"cannot load a Wav2Vec2Model from {self.path}: {exc}") from exc
        self.dim = int(self.model.config.hidden_size)
        self.do_normalize = self._read_do_normalize()
        cfg = self.model.config
        self._min_samples = int(np.prod(cfg.conv_stride)) + int(cfg.conv_kernel[0])

    def _read_do_normalize(self) -> bool:
        import json

        pre = self.path / "preprocessor_config.json"
        if pre.is_file():
            return bool(json.loads(pre.read_text()).get("do_normalize", True))
        return True

    def _embed(self, wav: np.ndarray) -> np.ndarray:
        import torch

        if len(wav) < self._min_samples:
            wav = np.pad(wav, (0, self._min_samples - len(wav)))
        if self.do_normalize:  # what Wav2Vec2FeatureExtractor does: zero mean, unit variance per utterance
            wav = (wav - wav.mean()) / np.sqrt(wav.var() + 1e-7)
        with torch.inference_mode():
            hidden = self.model(torch.from_numpy(wav.astype(np.float32))[None]).last_hidden_state
        return hidden[0].mean(dim=0).numpy()

    def _fingerprint_source(self) -> str:
        return package_fingerprint("transformers", self._weights)

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus the model folder's ``path``.

        Returns
        -------
        dict
            ``Encoder.info()``'s keys (``name``, ``dim`` ... ``languages``) and ``path``.
        """
        return {**super().info(), "path": str(self.path)}


for _cls, _req, _extra, _desc in (
    (MFCCEncoder, ("librosa", "soundfile"), "audio", "MFCC + deltas + log-mel statistics (librosa), 248-d baseline"),
    (ResemblyzerEncoder, ("resemblyzer", "webrtcvad", "torch", "librosa", "soundfile"), "audio",
     "Resemblyzer speaker vectors (who is speaking), 256-d"),
    (AiSFXEncoder, ("aisfx", "torch", "librosa", "soundfile"), "audio", "aiSFX sound-event vectors (what sound), 512-d"),
    (Wav2Vec2Encoder, ("transformers", "torch", "soundfile"), "audio,text",
     "wav2vec 2.0 from your own local folder (a Hugging Face Wav2Vec2Model), mean-pooled hidden states (768-d for "
     "base)"),
):
    register(EncoderSpec(name=_cls.name, factory=_cls, dim=_cls.dim, modalities=("audio",), requires=_req,
                         extra=_extra, description=_desc))


_RENAMED = {"MFCC": "MFCCEncoder", "Resemblyzer": "ResemblyzerEncoder", "AiSFX": "AiSFXEncoder", "Wav2Vec2": "Wav2Vec2Encoder"}  # CONTRIBUTING.md, "Names"


def __getattr__(name: str) -> object:
    return renamed(__name__, _RENAMED, globals(), name)
