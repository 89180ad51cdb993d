"""Static distillation of a sentence encoder (Model2Vec, Tulkens & van Dongen 2024).

``DistillationTrainer`` and ``distill`` do:

1. Every token of the teacher's vocabulary is passed through the teacher alone (``Encoder.token_vocabulary``:
   SentencePiece for ``use-multilingual``, WordPiece for MiniLM and fine-tuned folders); optionally the frequent
   words of a corpus that the tokenizer splits are added as whole words, each embedded from its pieces.
2. PCA to ``dim`` (centred, signs fixed so the largest score of each component is positive).
3. SIF weighting (Arora et al. 2017), ``w = a / (a + p)``, with the probability ``p`` of each token estimated by
   Zipf's law from its rank in the vocabulary (Model2Vec's choice; the rows are in frequency order).
4. Optionally the refinement that Model2Vec calls Tokenlearn (``train/refine.py``): fit the vectors to the
   teacher's sentence vectors over a corpus, closed-form ridge regression; the report says what it added.

The result is a folder (``formats.static``) that ``encoders/static.py`` loads with numpy and the tokenizer only.

    >>> enc = distill("use-multilingual", "use-static/", refine=["text one", "text two", ...])
    >>> embedlab.encoder("use-static/").encode(["빠른 기차"])
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import warnings
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._params import check_float, check_int
from .._progress import progress_bar
from ..data_sources.gettext_pairs import MessagePair, load_gettext_pairs
from ..encoders import Encoder
from ..encoders import encoder as build
from ..encoders.static import StaticEncoder
from ..errors import EmbedlabError, InputError
from ..formats import static as static_folder
from ..formats.static import StaticFolder
from ..persist import check_output_folder
from ..vectors import Vectors
from .base import Trainer, save_folder
from .refine import refine as run_refinement

__all__ = ["DISTILLABLE", "DistillationTrainer", "build_registered", "distill", "gettext_corpus", "held_out_domain"]

#: What can be distilled, for messages (any encoder whose ``token_vocabulary()`` is not None can).
MIN_REFINE = 10  # texts a refinement needs: fewer hold none out (refine.py), so nothing could check it
DISTILLABLE = ("use-multilingual", "minilm", "minilm-onnx", "minilm-onnx-int8",
               "a sentence-transformers folder (BERT/WordPiece, e.g. `embedlab finetune --method full` output)")
_WORD = re.compile(r"\w+")
REFINE_PAIRS = 10_000  # gettext pairs (20,000 texts) the registered model and `--refine gettext` refine on
CHUNK = 4096  # tokens per saved piece of work (an interrupted distillation resumes from the last one)


def held_out_domain(domain: str, share: int = 5) -> bool:
    """Whether a gettext catalogue is held out of refinement (for evaluation): 1 in ``share`` by CRC32 of its name.

    Parameters
    ----------
    domain : str
        The catalogue's name (``MessagePair.domain``).
    share : int, default 5
        One catalogue in ``share`` is held out.

    Returns
    -------
    bool
        True for a held-out catalogue.
    """
    return zlib.crc32(domain.encode("utf-8")) % share == 0


def gettext_corpus(locale: str = "ko", held_out: bool = False, limit: int = 40_000,
                   seed: int = 0) -> tuple[list[str], list[MessagePair]]:
    """Texts for refinement from the gettext catalogues installed here: both sides of each message pair.

    Parameters
    ----------
    locale : str, default "ko"
        The translation's locale.
    held_out : bool, default False
        False: pairs of catalogues *not* held out (``held_out_domain``), for refinement; True: the held-out ones,
        for evaluation.
    limit : int, default 40000
        At most this many pairs (a seeded sample).
    seed : int, default 0
        The sample's seed.

    Returns
    -------
    texts : list of str
        English and translated messages.
    pairs : list of MessagePair
        The pairs they came from.

    Raises
    ------
    InputError
        When no catalogues are installed.
    """
    found, _ = load_gettext_pairs(locale)
    pairs = [p for p in found if held_out_domain(p.domain) == held_out]
    if len(pairs) > limit:
        keep = np.sort(np.random.default_rng(seed).permutation(len(pairs))[:limit])
        pairs = [pairs[i] for i in keep]
    return [t for p in pairs for t in (p.en, p.ko)], pairs


def _teacher(teacher: Any) -> Encoder:
    enc = teacher if isinstance(teacher, Encoder) else build(str(teacher))
    if enc.modalities != ("text",):
        raise InputError(f"teacher {enc.name!r} is not a text encoder (modalities {list(enc.modalities)}); "
                         f"static distillation needs a text encoder with an accessible vocabulary: "
                         f"{', '.join(DISTILLABLE)}")
    return enc


def _texts(data: Any, what: str) -> list[str]:
    """A corpus as a list of non-empty lines: a path to a UTF-8 text file (one text per line) or strings.

    Raises
    ------
    InputError
        For a missing or unreadable file, something else than text, or no text at all.
    """
    if isinstance(data, (str, os.PathLike)):
        path = Path(data).expanduser()
        try:
            raw = path.read_text("utf-8")
        except FileNotFoundError:
            raise InputError(f"{what} {path} does not exist") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{what} {path} is not UTF-8 text (byte offset {exc.start})") from None
        except OSError as exc:
            raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None
        lines = raw.splitlines()
    elif isinstance(data, Iterable):
        lines = list(data)
        if not all(isinstance(t, str) for t in lines):
            raise InputError(f"{what} must be a text file path or a list of strings")
    else:
        raise InputError(f"{what} must be a text file path or a list of strings, got {type(data).__name__}")
    out = [t.strip() for t in lines if t.strip()]
    if not out:
        raise InputError(f"{what} holds no text; give one text per line")
    return out


class DistillationTrainer(Trainer):
    """Distil a text encoder into static token vectors (Model2Vec), optionally refined on a corpus (Tokenlearn).

    See the module docstring for the method. ``fit(data)`` takes the refinement corpus (a text file path or a list
    of strings; None: no refinement); the result is ``.wv`` (token -> vector), ``.to_encoder()`` (a
    ``StaticEncoder``) and ``.save(folder)``.

    Parameters
    ----------
    teacher : str or Encoder, default "use-multilingual"
        The encoder to distil: a name, a model folder path, or an Encoder whose ``token_vocabulary()`` is not None.
    dim : int, default 256
        PCA dimension (at most the teacher's).
    sif_coefficient : float, default 1e-4
        SIF's ``a`` in ``a / (a + p)``; 0 turns the weighting off.
    vocab_from : str, path or list of str, optional
        A corpus whose frequent words the tokenizer splits into pieces are added as whole words.
    max_words : int, default 20000
        At most this many added words (the most frequent).
    min_count : int, default 3
        An added word occurs at least this often in ``vocab_from``.
    max_tokens : int, optional
        Distil only the first ``max_tokens`` token ids (the most frequent, for SentencePiece); the others are
        not counted when encoding. None: the whole vocabulary.
    max_refine : int, default 40000
        At most this many refinement sentences (a seeded sample).
    holdout : float, default 0.1
        Share of refinement sentences held out to choose the ridge strength and to report on.
    batch_size : int, default 64
        Texts per teacher call when embedding the refinement corpus.
    seed : int, default 0
        Seeds the refinement sample and split.
    progress : bool, default True
        Show progress bars.
    work_dir : str or path, optional
        Where the token vectors are kept in pieces while they are computed, so an interrupted distillation
        resumes; None: nothing is kept.
    """

    def __init__(self, teacher: Any = "use-multilingual", dim: int = 256, sif_coefficient: float = 1e-4,
                 vocab_from: Any = None, max_words: int = 20000, min_count: int = 3, max_tokens: int | None = None,
                 max_refine: int = 40000,
                 holdout: float = 0.1, batch_size: int = 64, seed: int = 0, progress: bool = True,
                 work_dir: str | os.PathLike[str] | None = None) -> None:
        self.teacher, self.dim, self.sif_coefficient = teacher, dim, sif_coefficient
        self.vocab_from, self.max_words, self.min_count = vocab_from, max_words, min_count
        self.max_tokens = max_tokens
        self.max_refine, self.holdout, self.batch_size = max_refine, holdout, batch_size
        self.seed, self.progress, self.work_dir = seed, progress, work_dir

    def check_params(self) -> None:
        """Refuse unusable parameters before any work.

        Raises
        ------
        InputError
            Naming the first bad parameter.
        """
        check_int(self.dim, "dim", low=1)
        check_float(self.sif_coefficient, "sif_coefficient", low=0.0, high=1.0, high_open=True)
        check_int(self.max_words, "max_words", low=0)
        check_int(self.min_count, "min_count", low=1)
        check_int(self.max_tokens, "max_tokens", low=1, none=True)
        check_int(self.max_refine, "max_refine", low=10)
        check_float(self.holdout, "holdout", low=0.0, high=0.5, high_open=True)
        check_int(self.batch_size, "batch_size", low=1)
        check_int(self.seed, "seed", low=0)
        if not isinstance(self.teacher, (str, os.PathLike, Encoder)):
            raise InputError(f"teacher must be an encoder name, a model folder path or an Encoder, got "
                             f"{type(self.teacher).__name__}")

    @property
    def is_fitted(self) -> bool:
        """Whether ``fit`` has produced the vectors.

        Returns
        -------
        bool
            True once ``embeddings_`` exists.
        """
        return hasattr(self, "embeddings_")

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any = None, /) -> DistillationTrainer:
        """Distil the teacher; refine on ``data`` when given.

        Parameters
        ----------
        data : str, path, list of str or None
            The refinement corpus (one text per line), or None for plain distillation.

        Returns
        -------
        DistillationTrainer
            ``self``, with ``embeddings_`` ((rows, dim) float32), ``tokens_``, ``words_``, ``special_ids_``,
            ``summary_`` (timings, explained variance, the refinement report) and ``teacher_``.

        Raises
        ------
        InputError
            For bad parameters, a teacher that is not a text encoder or has no accessible vocabulary (the message
            names those that can be distilled), or an empty corpus.
        """
        self.check_params()
        started = time.perf_counter()
        teacher = _teacher(self.teacher)
        vocab = teacher.token_vocabulary()
        if vocab is None:
            raise InputError(f"teacher {teacher.name!r} has no accessible token vocabulary, so it cannot be distilled "
                             f"into static vectors; encoders that can: {', '.join(DISTILLABLE)}")
        refine_texts = _texts(data, "the refinement corpus") if data is not None else None
        n_tok = len(vocab.tokens)
        special = sorted(i for i in vocab.special_ids if 0 <= i < n_tok)
        limit = n_tok if self.max_tokens is None else min(int(self.max_tokens), n_tok)
        skeleton = StaticFolder({"vocab_size": n_tok}, np.zeros((n_tok, 1), np.float16), vocab.kind,
                                Path(vocab.tokenizer_file), vocab.lowercase, [], frozenset(special))
        tokenize = StaticEncoder.from_folder_data(skeleton, "tokenizer", "none").token_ids
        token_vecs = self._token_vectors(teacher, vocab.embed_ids, n_tok, [*special, *range(limit, n_tok)])
        t_tokens = time.perf_counter() - started
        words = self._words(tokenize, vocab.lowercase, set(vocab.tokens)) if self.vocab_from is not None else []
        word_vecs = (vocab.embed_ids(tokenize(words)) if words
                     else np.zeros((0, token_vecs.shape[1]), np.float32))
        raw = np.vstack([token_vecs, word_vecs]).astype(np.float32)
        counted = np.ones(len(raw), dtype=bool)
        counted[special] = False
        counted[limit:n_tok] = False
        dim = min(int(self.dim), raw.shape[1], int(counted.sum()))
        narrower = None
        if dim < int(self.dim):  # PCA cannot add dimensions: say so rather than hand back another width
            why = (f"the teacher's vectors have {raw.shape[1]}" if dim == raw.shape[1]
                   else f"only {int(counted.sum())} token vectors were embedded")
            narrower = (f"asked for {self.dim} dimensions, but {why} (PCA cannot add dimensions): the static "
                        f"vectors have {dim}")
            warnings.warn(narrower, stacklevel=2)
        mean, comps, explained = _pca(raw[counted], dim)
        reduced = ((raw - mean) @ comps.T).astype(np.float32)
        reduced[~counted] = 0.0
        weights = _sif_weights(counted, float(self.sif_coefficient))
        vectors = reduced * weights[:, None].astype(np.float32)
        summary: dict[str, Any] = {
            "tokens_embedded": int(counted[:n_tok].sum()), "words_added": len(words), "dim": dim,
            "explained_variance": round(float(explained), 4), "seconds_token_vectors": round(t_tokens, 1)}
        if narrower is not None:
            summary["note"] = narrower
        if refine_texts is not None and len(refine_texts) < MIN_REFINE:
            skipped = (f"not refined: the refinement corpus has {len(refine_texts)} text(s), and refining needs at "
                       f"least {MIN_REFINE} (some are held out to choose the regularisation and to check that the "
                       "result moves closer to the teacher)")
            warnings.warn(skipped, stacklevel=2)
            summary["refinement"] = {"skipped": skipped, "sentences": {"train": 0, "held_out": 0}}
            refine_texts = None
        if refine_texts is not None:
            texts = refine_texts
            if len(texts) > self.max_refine:
                keep = np.sort(np.random.default_rng(self.seed).permutation(len(texts))[: self.max_refine])
                texts = [texts[i] for i in keep]
            t0 = time.perf_counter()
            targets = teacher.encode(texts, batch_size=self.batch_size, progress=self.progress)
            projected = ((targets - mean) @ comps.T).astype(np.float32)
            with_words = StaticFolder({"vocab_size": n_tok}, np.zeros((len(raw), 1), np.float16), vocab.kind,
                                      Path(vocab.tokenizer_file), vocab.lowercase, words, frozenset(special))
            rows = StaticEncoder.from_folder_data(with_words, "tokenizer", "none").token_ids(texts)
            result = run_refinement(vectors, counted, rows, projected, holdout=float(self.holdout), seed=self.seed)
            vectors = result.vectors
            summary["refinement"] = {**result.report, "seconds": round(time.perf_counter() - t0, 1)}
        summary["seconds"] = round(time.perf_counter() - started, 1)
        self.embeddings_ = vectors
        self.tokens_ = list(vocab.tokens)
        self.words_ = words
        self.special_ids_ = special
        self.token_limit_ = limit
        self.teacher_ = {"name": teacher.name, "dim": int(teacher.dim), "fingerprint": teacher.fingerprint}
        self.tokenizer_ = (vocab.kind, Path(vocab.tokenizer_file), bool(vocab.lowercase))
        self.summary_ = summary
        return self

    def _token_vectors(self, teacher: Encoder, embed_ids: Any, n_tok: int, special: list[int]) -> np.ndarray:
        """Every counted token through the teacher, in chunks kept in ``work_dir`` (resumable).

        Raises
        ------
        InputError
            When the teacher has no token to distil.
        """
        skip = set(special)
        ids = [i for i in range(n_tok) if i not in skip]
        work = Path(self.work_dir) if self.work_dir is not None else None
        key = hashlib.sha256(f"{teacher.fingerprint}|{n_tok}|{CHUNK}|{len(ids)}".encode()).hexdigest()[:16]
        if work is not None:
            work.mkdir(parents=True, exist_ok=True)
            stamp = work / "work.json"
            if not stamp.is_file() or json.loads(stamp.read_text("utf-8")).get("key") != key:
                for f in work.glob("chunk-*.npy"):
                    f.unlink()
                stamp.write_text(json.dumps({"key": key, "teacher": teacher.name}), "utf-8")
        out: np.ndarray | None = None
        with progress_bar(len(ids), f"distill[{teacher.name}]: tokens", "token", enabled=self.progress) as bar:
            for c, start in enumerate(range(0, len(ids), CHUNK)):
                chunk = ids[start:start + CHUNK]
                path = work / f"chunk-{c:05d}.npy" if work is not None else None
                vecs: np.ndarray | None = None
                if path is not None and path.is_file():
                    try:
                        vecs = np.load(path, allow_pickle=False)
                    except (OSError, ValueError):
                        vecs = None
                    if vecs is not None and vecs.shape[0] != len(chunk):
                        vecs = None
                if vecs is None:
                    vecs = np.asarray(embed_ids([[i] for i in chunk]), dtype=np.float32)
                    if path is not None:
                        tmp = path.with_name(f".{path.name}.tmp.npy")
                        np.save(tmp, vecs, allow_pickle=False)
                        os.replace(tmp, path)
                if out is None:
                    out = np.zeros((n_tok, vecs.shape[1]), dtype=np.float32)
                out[chunk] = vecs
                bar.update(len(chunk))
        if out is None:
            raise InputError(f"teacher {teacher.name!r} has no tokens to distil")
        return out

    def _words(self, tokenize: Any, lowercase: bool, known: set[str]) -> list[str]:
        """The frequent words of ``vocab_from`` that the tokenizer splits into two or more pieces."""
        if not self.max_words:
            return []
        counts: Counter[str] = Counter()
        for line in _texts(self.vocab_from, "vocab_from corpus"):
            counts.update(_WORD.findall(line.lower() if lowercase else line))
        frequent = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                    if c >= self.min_count and w not in known]
        out: list[str] = []
        for start in range(0, len(frequent), 4096):
            block = frequent[start:start + 4096]
            for w, ids in zip(block, tokenize(block), strict=True):
                if len(ids) >= 2:
                    out.append(w)
                    if len(out) >= self.max_words:
                        return out
        return out

    # ------------------------------------------------------------------ results
    def folder_data(self) -> StaticFolder:
        """The distilled encoder as ``formats.static`` data (what ``save`` writes and ``to_encoder`` loads).

        Returns
        -------
        StaticFolder
            float16 embeddings, the teacher's tokenizer file, the added words.

        Raises
        ------
        InputError
            When not fitted.
        """
        self.require_fitted("use the result")
        kind, tok_file, lower = self.tokenizer_
        skip = frozenset([*self.special_ids_, *range(self.token_limit_, len(self.tokens_))])
        return StaticFolder({"vocab_size": len(self.tokens_)}, self.embeddings_.astype(np.float16), kind, tok_file,
                            lower, list(self.words_), skip)

    @property
    def wv(self) -> Vectors:
        """Token (and added word) -> static vector, special tokens left out.

        Returns
        -------
        Vectors
            float32 ``(tokens + words - specials, dim)``; the rows as stored (float16-rounded).

        Raises
        ------
        InputError
            When not fitted.
        """
        self.require_fitted("use the vectors")
        skip = set(self.special_ids_) | set(range(self.token_limit_, len(self.tokens_)))
        keys, rows, seen = [], [], set()
        for i, key in enumerate([*self.tokens_, *self.words_]):
            if i in skip or not key or key in seen:
                continue
            seen.add(key)
            keys.append(key)
            rows.append(i)
        return Vectors(keys, self.embeddings_.astype(np.float16).astype(np.float32)[rows])

    def to_encoder(self) -> StaticEncoder:
        """The distilled encoder, in memory (the same vectors ``save`` writes).

        Returns
        -------
        StaticEncoder
            Named ``static:<teacher>``.

        Raises
        ------
        InputError
            When not fitted.
        """
        data = self.folder_data()
        fp = hashlib.sha256(np.ascontiguousarray(data.embeddings).tobytes()).hexdigest()[:16]
        return StaticEncoder.from_folder_data(data, f"static:{self.teacher_['name']}", f"memory:{fp}")

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the static encoder folder whole (``formats.static``); it loads with ``embedlab.encoder(folder)``.

        Parameters
        ----------
        folder : path-like
            The output folder (an earlier embedlab output there is replaced whole; a file or a folder of other files is refused, see ``base.save_folder``).

        Returns
        -------
        Path
            ``folder``.

        Raises
        ------
        InputError
            When not fitted.
        StorageFullError, ReadOnlyStorageError
            When the disk is full or cannot be written.
        """
        data = self.folder_data()
        folder = Path(folder)
        with save_folder(folder) as tmp:
            static_folder.write(
                tmp, data.embeddings, data.tokenizer_kind, data.tokenizer_file, len(self.tokens_), data.words,
                tokenizer_lowercase=data.lowercase, special_ids=list(self.special_ids_),
                token_limit=int(self.token_limit_), teacher=self.teacher_,
                params={k: v for k, v in self.get_params().items() if k in (
                    "dim", "sif_coefficient", "max_words", "min_count", "max_tokens", "max_refine", "holdout",
                    "seed")},
                summary=self.summary_)
        return folder


def _pca(x: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean, components (dim, d), explained variance ratio) of ``x``, signs fixed (deterministic output).

    Each component's sign makes its largest-magnitude score positive.
    """
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=0)
    centred = x64 - mean
    cov = centred.T @ centred / max(len(x64) - 1, 1)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    vals, vecs = np.clip(vals[order], 0, None), vecs[:, order]
    comps = vecs[:, :dim].T
    scores = centred @ comps.T
    signs = np.sign(scores[np.argmax(np.abs(scores), axis=0), np.arange(dim)])
    signs[signs == 0] = 1.0
    comps = comps * signs[:, None]
    total = float(vals.sum())
    return mean.astype(np.float32), comps.astype(np.float32), float(vals[:dim].sum() / total) if total else 1.0


def _sif_weights(counted: np.ndarray, a: float) -> np.ndarray:
    """SIF weights ``a / (a + p)``, ``p`` from Zipf's law over the counted rows in order (Model2Vec's estimate).

    Row order is frequency order; 1 everywhere when ``a`` is 0, 0 for rows not counted.
    """
    w = np.zeros(len(counted), dtype=np.float64)
    n = int(counted.sum())
    if a == 0:
        w[counted] = 1.0
        return w
    inv_rank = 1.0 / np.arange(2, n + 2, dtype=np.float64)
    p = inv_rank / inv_rank.sum()
    w[counted] = a / (a + p)
    return w


def _output(output: str | os.PathLike[str], overwrite: bool) -> Path:
    return check_output_folder(Path(output).expanduser().resolve(), overwrite=overwrite)


def distill(teacher: Any, output: str | os.PathLike[str], *, dim: int = 256, vocab_from: Any = None,
            refine: Any = None, max_words: int = 20000, sif_coefficient: float = 1e-4, seed: int = 0,
            overwrite: bool = False, progress: bool = True) -> StaticEncoder:
    """Distil ``teacher`` into a static encoder folder at ``output`` and load it (``embedlab distill``).

    The output is checked before any work; token vectors are kept in pieces beside it while they are computed
    (``.<output name>.distill-work``), so an interrupted run resumes where it stopped when run again; the folder
    itself appears whole or not at all.

    Parameters
    ----------
    teacher : str or Encoder
        The encoder to distil (a name, a model folder path, or an Encoder).
    output : path-like
        The output folder (new or empty, unless ``overwrite``).
    dim : int, default 256
        PCA dimension.
    vocab_from : str, path or list of str, optional
        A corpus whose frequent split words are added whole.
    refine : str, path or list of str, optional
        A corpus to refine on (Tokenlearn); ``"gettext"`` takes the installed Korean gettext catalogues, except
        the catalogues held out for evaluation (``held_out_domain``).
    max_words : int, default 20000
        At most this many added words.
    sif_coefficient : float, default 1e-4
        SIF's ``a`` (0: no weighting).
    seed : int, default 0
        Seeds the refinement sample and split.
    overwrite : bool, default False
        Replace a non-empty ``output``.
    progress : bool, default True
        Show progress bars.

    Returns
    -------
    StaticEncoder
        Loaded from ``output``.

    Raises
    ------
    InputError
        For an output that exists (without ``overwrite``) or cannot be written, a teacher that cannot be distilled,
        bad parameters or an empty corpus; all before the distillation starts.
    """
    out = _output(output, overwrite)
    corpus = refine
    if isinstance(refine, str) and refine == "gettext":
        corpus, _ = gettext_corpus("ko", held_out=False, limit=REFINE_PAIRS)
    work = out.with_name(f".{out.name}.distill-work")
    trainer = DistillationTrainer(teacher, dim=dim, sif_coefficient=sif_coefficient, vocab_from=vocab_from,
                                  max_words=max_words, seed=seed, progress=progress, work_dir=work)
    trainer.check_params()
    trainer.fit(corpus)
    trainer.save(out)
    shutil.rmtree(work, ignore_errors=True)
    return StaticEncoder(out)


def build_registered(name: str, recipe: dict[str, Any], folder: Path) -> None:
    """Build a registered static encoder (``encoders.static.REGISTERED``) into ``folder``.

    The on-demand builder that ``embedlab`` installs in ``encoders.static``.

    Parameters
    ----------
    name : str
        The registered name.
    recipe : dict
        ``teacher``, ``dim`` and ``refine`` (``"gettext-ko"``: the installed Korean catalogues, except those held
        out for evaluation; refinement is skipped where none are installed).
    folder : Path
        Where to write it.

    Raises
    ------
    EmbedlabError
        When the teacher cannot be built or distilled.
    """
    corpus: Sequence[str] | None = None
    if recipe.get("refine") == "gettext-ko":
        try:
            corpus, _ = gettext_corpus("ko", held_out=False, limit=REFINE_PAIRS)
        except EmbedlabError:
            corpus = None
    trainer = DistillationTrainer(recipe["teacher"], dim=int(recipe["dim"]), progress=True,
                                  work_dir=folder.with_name(f".{folder.name}.distill-work"))
    trainer.fit(corpus)
    trainer.save(folder)
    shutil.rmtree(folder.with_name(f".{folder.name}.distill-work"), ignore_errors=True)
    del name
