"""``FineTuner`` and ``finetune(...)``: the whole fine-tuning loop, pairs in and an Encoder back.

Pairs in, a split, optional hard negatives, base metrics, training (adapter or full), metrics after, the saved
folder — and the Encoder back.

    >>> enc = finetune("pairs.jsonl", "use-multilingual", method="adapter", output="my-adapter")
    >>> enc.metrics["validation"]["adapted"]["recall@1"], enc.name        # the folder's absolute path
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ... import config
from ..._params import check_float
from ..._progress import progress_bar
from ...encoders import Encoder
from ...encoders import encoder as build
from ...encoders.adapted import AdaptedEncoder, FullFinetunedEncoder
from ...errors import InputError, LanguageWarning, caller_level
from ...formats import finetuned as saved
from ...persist import atomic_folder, check_output_folder
from ..base import Trainer, save_folder
from .adapter import AdapterData, AdapterSettings, DivergedError, choose_reg
from .cache import base_vectors
from .evaluate import PairSplit, general_sets, index_pairs, score_vectors
from .pairs import Pair, Pairs, as_pairs, read_pairs, split_pairs

__all__ = ["FineTuner", "finetune"]

METHODS = ("adapter", "full")
ADAPTER_DEFAULTS = {"epochs": 10, "batch_size": 64, "lr": 1e-3}
FULL_DEFAULTS = {"epochs": 1, "batch_size": 32, "lr": 2e-5}
#: Fewer optimizer steps than this barely move a full model (its learning rate warms up over the first 10 %).
FEW_STEPS = 20


def _load_pairs(pairs: Any, positives: Any) -> Pairs:
    if isinstance(pairs, Pairs):
        return pairs
    if isinstance(pairs, (str, Path)):
        return read_pairs(pairs, positives)
    return as_pairs(list(pairs))


def _base(encoder: Any) -> Encoder:
    enc = encoder if isinstance(encoder, Encoder) else build(str(encoder))
    if "text" not in enc.modalities:
        raise InputError(f"encoder {enc.name!r} does not encode text (modalities {list(enc.modalities)}); "
                         "fine-tuning learns from text pairs: pick a text encoder")
    return enc


@contextlib.contextmanager
def _own_sets(own: bool) -> Iterator[None]:
    """Keep LanguageWarning out while embedlab's own retention sets are encoded (when ``own``).

    Those (``general`` given by name, e.g. the Korean names-ko-en) are texts the user never gave; the caller's own
    sets (a dict) still warn.
    """
    with warnings.catch_warnings():
        if own:
            warnings.simplefilter("ignore", LanguageWarning)
        yield


def _check_method_options(method: str, **given: Any) -> None:
    """Refuse options of the other method instead of ignoring them silently.

    Raises
    ------
    InputError
        Naming the options (and their CLI flags) that apply to the other method only.
    """
    defaults = {"loss": "auto", "adapter": "residual", "rank": None, "apply_to": "both", "reg": 0.01,
                "backend": "auto"}
    other = ("loss",) if method == "adapter" else ("adapter", "rank", "apply_to", "reg", "backend")
    odd = [n for n in other if given[n] != defaults[n]]
    if odd:
        flags = ", ".join(f"{n} (--{n.replace('_', '-')})" for n in odd)
        verb, other_method = "applies" if len(odd) == 1 else "apply", "full" if method == "adapter" else "adapter"
        raise InputError(f"{flags} {verb} to method='{other_method}' only; this run is method='{method}'",
                         cli=f"{', '.join('--' + n.replace('_', '-') for n in odd)} {verb} to --method "
                             f"{other_method} only; this run is --method {method}")


def _output(output: str | Path | None, base_name: str, method: str, overwrite: bool) -> Path:
    if output is None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        output = config.home() / "finetuned" / f"{Path(base_name).name}-{method}-{stamp}"
    return check_output_folder(Path(output).expanduser().resolve(), overwrite=overwrite)  # before training


def _split_vectors(enc: Encoder, split: PairSplit, batch_size: int, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    return (base_vectors(enc, split.queries, "query", batch_size=batch_size, progress=progress),
            base_vectors(enc, split.docs, "document", batch_size=batch_size, progress=progress))


def vectors_per_set(sets: dict[str, PairSplit], encode: Callable[[PairSplit], tuple[np.ndarray, np.ndarray]],
                    what: str, progress: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``encode(split)`` of each evaluation set in turn, under a bar that names the set being encoded.

    The validation split and the built-in general sets (500 pairs each) take minutes on a slow machine.

    Parameters
    ----------
    sets : dict of str to PairSplit
        The sets by name, in the order they are encoded.
    encode : callable
        ``encode(split)`` -> (query vectors, document vectors), two float32 arrays (its own bars may show inside).
    what : str
        The bar's title (``"finetune: evaluating the base model"``).
    progress : bool
        Show the bar (stderr; plain lines where it is not a terminal).

    Returns
    -------
    dict of str to tuple of numpy.ndarray
        ``encode(split)`` of each set, by name.
    """
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with progress_bar(len(sets), what, "set", progress) as bar:
        for name, split in sets.items():
            bar.set_postfix_str(f"{name}: {len(split.queries):,} queries, {len(split.docs):,} documents")
            out[name] = encode(split)
            bar.update(1)
    return out


def _map(vecs: np.ndarray, matrix: np.ndarray | None) -> np.ndarray:
    if matrix is None:
        return vecs
    out = vecs @ matrix
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _metrics(qv: np.ndarray, dv: np.ndarray, split: PairSplit, dims: Sequence[int]) -> dict[str, Any]:
    out: dict[str, Any] = score_vectors(qv, dv, split.relevant)
    if dims:
        out["per_dim"] = {str(d): score_vectors(qv, dv, split.relevant, dim=d) for d in dims}
    return out


def _regs(reg: Any) -> list[float]:
    """The adapter's regularisation strengths to try: one number >= 0, or a non-empty list or tuple of them.

    Raises
    ------
    InputError
        For an empty list, or a value that is not a finite number >= 0.
    """
    values = list(reg) if isinstance(reg, (list, tuple)) else [reg]
    if not values:
        raise InputError("reg must be a number >= 0 or a non-empty list of them")
    return [check_float(r, "reg", low=0, hint="the adapter's pull toward the identity; a list tries each")
            for r in values]


def _check_dims(matryoshka: Any, dim: int) -> tuple[int, ...]:
    if matryoshka is None or matryoshka == "" or matryoshka == ():
        return ()
    if isinstance(matryoshka, str):
        try:
            dims = [int(x) for x in matryoshka.replace(" ", "").split(",") if x]
        except ValueError:
            raise InputError(f"Matryoshka widths must be integers separated by commas, got {matryoshka!r}") from None
    else:
        dims = [int(x) for x in matryoshka]
    bad = [d for d in dims if d < 1 or d > dim]
    if bad:
        raise InputError(f"Matryoshka widths {bad} are outside 1..{dim}: the encoder gives {dim}-d vectors, so a "
                         f"prefix can be at most {dim} wide")
    return tuple(sorted(set(dims), reverse=True))


def _plot(path: Path, losses: list[float], scores: list[dict[str, float]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if losses:
        ax.plot(np.arange(1, len(losses) + 1), losses, lw=1, label="training loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    val = [(r["epoch"], r["val_mrr"]) for r in scores if "val_mrr" in r]
    if val and losses:
        per_epoch = max(1, len(losses) // max(1, max(e for e, _ in val)))
        ax2 = ax.twinx()
        ax2.plot([e * per_epoch for e, _ in val], [v for _, v in val], "o-", color="tab:orange",
                 label="validation MRR")
        ax2.set_ylabel("validation MRR")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


class FineTuner(Trainer):
    """Fine-tune a text encoder on query/positive pairs: contrastive, InfoNCE over in-batch negatives.

    The loss is InfoNCE (van den Oord et al. 2018), the multiple-negatives ranking loss of Henderson et al. 2017.
    ``method="adapter"`` trains a linear map on the frozen encoder's (disk-cached) vectors (any text encoder);
    ``method="full"`` fine-tunes every weight of a torch sentence encoder with sentence-transformers'
    ``SentenceTransformerTrainer`` and losses. Metrics before and after (recall@1/@10, MRR@100, nDCG@1/@10, in
    [0, 1]), on validation and on the ``general`` retention sets, go into ``finetune.json`` and the encoder's
    ``metrics``. The result is saved in ``output`` as training ends (``formats.finetuned``). Learned: ``encoder_``
    (the fine-tuned Encoder: ``AdaptedEncoder`` or ``FullFinetunedEncoder``) and ``output_`` (its folder).

    Parameters
    ----------
    encoder : str or Encoder, default "use-multilingual"
        The base text encoder (a name, a path, or an Encoder).
    method : {"adapter", "full"}, default "adapter"
        What to train (see above).
    output : path-like or None, default None
        The output folder (new or empty, unless ``overwrite``); None: ``<embedlab home>/finetuned/<base>-<method>-
        <date>-<time>``.
    val_fraction : float, default 0.1
        Share of the pairs held out for validation when ``fit`` gets no ``validation`` (a seeded split in which
        no text appears on both sides).
    seed : int, default 0
        Seed of the split, the initial weights and the batches.
    epochs : int or None, default None
        Passes over the training pairs (>= 1); None: 10 for the adapter, 1 for full.
    batch_size : int or None, default None
        Pairs per batch (>= 2: the other pairs are the negatives); None: 64 for the adapter, 32 for full.
    lr : float or None, default None
        Adam's learning rate (> 0); None: 1e-3 for the adapter, 2e-5 for full.
    hard_negatives : int, default 0
        Negatives (>= 0) mined per training pair with the base encoder (``mining.mine_hard_negatives``).
    mining_corpus : None, Collection or iterable of str, default None
        Where negatives come from: None, the training positives; an open Collection (its stored texts); or texts.
    mining_ranks : tuple of (int, int), default (3, 30)
        The base encoder's ranks (1-based, 1 <= min <= max) between which candidates are taken.
    mining_margin : float, default 0.05
        A candidate scoring within this cosine margin of the positive is likely an unlabelled positive: rejected.
    matryoshka : str, sequence of int or None, default None
        Widths (e.g. ``"384,256,128,64"``, each in 1..dim) whose prefixes are trained too (Kusupati et al. 2022).
    loss : {"auto", "mnrl", "cached-mnrl", "cosent"}, default "auto"
        Full method: multiple-negatives ranking, its GradCache version, or CoSENT for pairs with a score; "auto":
        CoSENT when every pair has a score, else mnrl.
    scale : float, default 20.0
        Inverse temperature of the InfoNCE logits (cosine x scale).
    adapter : {"residual", "linear"}, default "residual"
        Adapter method: learn M = I + D, or M itself (initialised to the identity).
    rank : int or None, default None
        Adapter method: a low-rank residual D = A B of this rank (1 <= rank < dim; LoRA-style); None: full rank.
    apply_to : {"both", "queries"}, default "both"
        Adapter method: map queries and documents, or queries only (documents keep their base vectors, so a
        collection needs no re-indexing).
    reg : float or sequence of float, default 0.01
        Adapter method: the pull toward the identity, reg * |M - I|² (>= 0); a list tries each and keeps the best
        on validation.
    general : sequence of str, dict or None, default ("names-ko-en", "news-en")
        Retention sets: names of built-in ones (those installed), a ``{name: pairs}`` dict, or None.
    max_general_drop : float, default 0.02
        Adapter method: the epoch and ``reg`` are chosen among those that keep every general set's recall@1 within
        this much of the base's.
    backend : {"auto", "torch", "numpy"}, default "auto"
        Adapter method: where it trains ("auto": torch when installed).
    overwrite : bool, default False
        Allow a non-empty ``output`` (replaced).
    progress : bool, default False
        Show progress bars.
    """

    def __init__(self, encoder: Any = "use-multilingual", method: str = "adapter", output: str | Path | None = None,
                 val_fraction: float = 0.1, seed: int = 0, epochs: int | None = None, batch_size: int | None = None,
                 lr: float | None = None, hard_negatives: int = 0, mining_corpus: Any = None,
                 mining_ranks: tuple[int, int] = (3, 30), mining_margin: float = 0.05, matryoshka: Any = None,
                 loss: str = "auto", scale: float = 20.0, adapter: str = "residual", rank: int | None = None,
                 apply_to: str = "both", reg: float | Sequence[float] = 0.01,
                 general: Any = ("names-ko-en", "news-en"), max_general_drop: float = 0.02, backend: str = "auto",
                 overwrite: bool = False, progress: bool = False) -> None:
        self.encoder, self.method, self.output, self.val_fraction, self.seed = encoder, method, output, val_fraction, seed
        self.epochs, self.batch_size, self.lr, self.hard_negatives = epochs, batch_size, lr, hard_negatives
        self.mining_corpus, self.mining_ranks, self.mining_margin = mining_corpus, mining_ranks, mining_margin
        self.matryoshka, self.loss, self.scale, self.adapter, self.rank = matryoshka, loss, scale, adapter, rank
        self.apply_to, self.reg, self.general, self.max_general_drop = apply_to, reg, general, max_general_drop
        self.backend, self.overwrite, self.progress = backend, overwrite, progress

    def _settings(self) -> tuple[int, int, float]:
        """The (epochs, batch_size, lr) with the method's defaults, checked.

        Raises
        ------
        InputError
            For an unknown method, or a value out of range.
        """
        method = self.method
        if method not in METHODS:
            raise InputError(f"method must be 'adapter' or 'full', got {method!r}")
        defaults = ADAPTER_DEFAULTS if method == "adapter" else FULL_DEFAULTS
        epochs = int(self.epochs if self.epochs is not None else defaults["epochs"])
        batch_size = int(self.batch_size if self.batch_size is not None else defaults["batch_size"])
        lr = float(self.lr if self.lr is not None else defaults["lr"])
        for name, value, ok, rule in (("epochs", epochs, epochs >= 1, ">= 1"),
                                      ("batch_size", batch_size, batch_size >= 2, ">= 2 (in-batch negatives need "
                                                                                  "other pairs)"),
                                      ("lr", lr, lr > 0, "> 0")):
            if not ok:
                raise InputError(f"{name} (--{name.replace('_', '-')}) must be {rule}, got {value}")
        return epochs, batch_size, lr

    def check_params(self) -> None:
        """Refuse unusable options before any pair is read or model loaded.

        Raises
        ------
        InputError
            An unknown method, epochs/batch_size/lr out of range, a ``reg`` that is not a number >= 0 (or a list of
            them), options of the other method, negative ``hard_negatives``.
        """
        self._settings()
        _regs(self.reg)
        _check_method_options(self.method, loss=self.loss, adapter=self.adapter, rank=self.rank,
                              apply_to=self.apply_to, reg=self.reg, backend=self.backend)
        if self.hard_negatives < 0:
            raise InputError(f"hard_negatives must be >= 0, got {self.hard_negatives}")

    @property
    def is_fitted(self) -> bool:
        """Whether ``fit`` produced a fine-tuned encoder.

        Returns
        -------
        bool
            True when ``encoder_`` exists.
        """
        return hasattr(self, "encoder_")

    def fit(self, pairs: Any, positives: str | Path | None = None,
            validation: Sequence[Pair] | None = None) -> FineTuner:
        """Fine-tune on ``pairs`` and save the result in ``output``.

        Parameters
        ----------
        pairs : path-like, Pairs or sequence
            A JSONL/CSV/TSV path, a queries file with ``positives`` as the aligned positives file, a ``Pairs``, or a
            list of pairs (``Pair``, ``(query, positive)`` tuples or dicts).
        positives : path-like, optional
            The positives file aligned with a queries file.
        validation : sequence of Pair, optional
            Validation pairs (default: a seeded ``val_fraction`` of ``pairs``; no text may be in both).

        Returns
        -------
        FineTuner
            ``self``, with ``encoder_`` (the fine-tuned Encoder, ``metrics`` before/after) and ``output_``.

        Raises
        ------
        InputError
            Bad pairs or options, a text in both training and validation pairs, an encoder without text (or not a
            torch transformer for ``method="full"``), an output folder that is not empty (without ``overwrite``) or not
            writable.
        DivergedError
            When the loss became NaN (the last good weights are saved first, and the message says where).
        MissingDependencyError
            When ``method="full"`` lacks sentence-transformers, datasets or accelerate.
        """
        self.check_params()
        method, seed, scale, reg = self.method, self.seed, self.scale, self.reg
        epochs, batch_size, lr = self._settings()
        hard_negatives, progress = self.hard_negatives, self.progress
        found = _load_pairs(pairs, positives)
        base = _base(self.encoder)
        dims = _check_dims(self.matryoshka, int(base.dim))
        regs = _regs(reg)
        if method == "full":
            from .full import model_folder

            model_folder(base)  # refuse a non-torch encoder before any work
        out = _output(self.output, base.name, method, self.overwrite)
        val_fraction, general = self.val_fraction, self.general
        if validation is not None:
            train, val = list(found.pairs), as_pairs(list(validation)).pairs
            shared = {t for p in val for t in (p.query, p.positive)} & {t for p in train for t in (p.query, p.positive)}
            if shared:
                raise InputError(f"{len(shared)} text(s) appear in both the training and the validation pairs")
        else:
            train, val = split_pairs(found.pairs, val_fraction, seed)
        started = time.perf_counter()
        mined: dict[str, int] | None = None
        if hard_negatives:
            from .mining import mine_hard_negatives

            train, mined = mine_hard_negatives(train, base, hard_negatives, corpus=self.mining_corpus,
                                               min_rank=self.mining_ranks[0], max_rank=self.mining_ranks[1],
                                               margin=self.mining_margin, progress=progress)
        val_split = index_pairs(val)
        if isinstance(general, dict):  # name -> pairs: the caller's own retention sets
            gen = {name: index_pairs(as_pairs(list(ps)).pairs) for name, ps in general.items()}
        else:
            gen = {name: index_pairs(ps) for name, ps in (general_sets(general).items() if general else [])}
        bs = 64
        own_general = not isinstance(general, dict)

        def _base_vectors(split: Any) -> Any:
            """The base model's (queries, documents) vectors of one split."""
            if split is val_split:
                return _split_vectors(base, split, bs, progress)
            with _own_sets(own_general):  # embedlab's own retention sets: no language warning about them
                return _split_vectors(base, split, bs, progress)

        got = vectors_per_set({"validation": val_split, **{f"general: {n}": s for n, s in gen.items()}},
                              _base_vectors, f"finetune: evaluating {Path(base.name).name}", progress)
        val_vecs = got["validation"]
        gen_vecs = {name: got[f"general: {name}"] for name in gen}
        before = {"validation": _metrics(*val_vecs, val_split, dims),
                  "general": {n: score_vectors(*gen_vecs[n], s.relevant) for n, s in gen.items()}}
        params: dict[str, Any] = {"method": method, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                                  "hard_negatives": hard_negatives, "matryoshka_dims": list(dims), "seed": seed,
                                  "val_fraction": val_fraction if validation is None else None, "scale": scale}
        data_doc: dict[str, Any] = {**found.report(), "train": len(train), "validation": len(val),
                                    "general_sets": {n: len(s.queries) for n, s in gen.items()}}
        if mined is not None:
            data_doc["hard_negatives"] = mined
        base_doc = {"name": base.name, "fingerprint": base.fingerprint, "dim": int(base.dim),
                    "languages": None if base.languages is None else list(base.languages)}
        common = {"base": base_doc, "base_asymmetric": bool(base.asymmetric), "params": params,
                  "data": data_doc, "seed": seed,
                  "matryoshka_dims": list(dims), "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
        self.output_ = out
        self.encoder_: AdaptedEncoder | FullFinetunedEncoder
        if method == "adapter":
            self.encoder_ = _adapter(base, train, val_split, val_vecs, gen, gen_vecs, before, common, out, dims, regs,
                                     AdapterSettings(kind=self.adapter, rank=self.rank, apply_to=self.apply_to,
                                                     scale=scale, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                                                     matryoshka_dims=dims, max_general_drop=self.max_general_drop,
                                                     backend=self.backend),
                                     progress, started)
        else:
            self.encoder_ = _full(base, train, val_split, gen, before, common, out, dims, self.loss, scale, epochs,
                                  batch_size, lr, seed, progress, started, val_vecs[0],
                                  not isinstance(general, dict))
        return self

    def to_encoder(self) -> Encoder:
        """The fine-tuned Encoder.

        Returns
        -------
        Encoder
            An ``AdaptedEncoder`` or ``FullFinetunedEncoder``: text -> float32 ``(n, dim)``; its ``name`` is the output
            folder's absolute path, its ``metrics`` the before/after scores.

        Raises
        ------
        InputError
            When not trained yet.
        """
        self.require_fitted("use")
        return self.encoder_

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Copy the saved output folder to ``folder``, whole (the result is already saved in ``output``).

        Parameters
        ----------
        folder : path-like
            The destination (an earlier embedlab output there is replaced whole; a file or a folder of other files is refused, see ``base.save_folder``); ``output`` itself is left as it is.

        Returns
        -------
        Path
            ``folder``.

        Raises
        ------
        InputError
            When not trained yet.
        StorageFullError, ReadOnlyStorageError
            When the disk is full or cannot be written.
        """
        import shutil

        self.require_fitted("save")
        folder = Path(folder)
        if folder.resolve() == Path(self.output_).resolve():
            return folder
        with save_folder(folder) as tmp:
            shutil.copytree(self.output_, tmp, dirs_exist_ok=True)
        return folder


def finetune(pairs: Any, encoder: Any = "use-multilingual", *, positives: str | Path | None = None,
             validation: Sequence[Pair] | None = None, **options: Any) -> AdaptedEncoder | FullFinetunedEncoder:
    """Fine-tune ``encoder`` on ``pairs`` and return the adapted Encoder, saved in ``options["output"]``.

    ``FineTuner(encoder, **options).fit(pairs, positives, validation).encoder_``.

    Parameters
    ----------
    pairs : path-like, Pairs or sequence
        As for ``FineTuner.fit``.
    encoder : str or Encoder, default "use-multilingual"
        The base text encoder.
    positives : path-like, optional
        The positives file aligned with a queries file.
    validation : sequence of Pair, optional
        Validation pairs (default: a seeded share of ``pairs``).
    **options
        ``FineTuner``'s parameters: ``method``, ``output``, ``epochs``, ``hard_negatives``, ``matryoshka`` …

    Returns
    -------
    AdaptedEncoder or FullFinetunedEncoder
        The fine-tuned encoder (``metrics`` holds the scores before and after).

    Raises
    ------
    InputError
        Bad pairs or options (an unknown option is named with the valid ones).
    DivergedError
        When the loss became NaN (the last good weights are saved first, and the message says where).
    """
    valid = FineTuner.param_names()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise InputError(f"finetune() got unknown option(s) {', '.join(unknown)}; it takes {', '.join(valid)}")
    return FineTuner(encoder, **options).fit(pairs, positives=positives, validation=validation).encoder_


def _adapter(base: Encoder, train: list[Pair], val_split: PairSplit, val_vecs: tuple[np.ndarray, np.ndarray],
             gen: dict[str, PairSplit], gen_vecs: dict[str, tuple[np.ndarray, np.ndarray]], before: dict[str, Any],
             common: dict[str, Any], out: Path, dims: tuple[int, ...], regs: list[float], settings: AdapterSettings,
             progress: bool, started: float) -> AdaptedEncoder:
    queries = list(dict.fromkeys(p.query for p in train))
    docs = list(dict.fromkeys([p.positive for p in train] + [n for p in train for n in p.negatives]))
    q_row, d_row = {t: i for i, t in enumerate(queries)}, {t: i for i, t in enumerate(docs)}
    qv = base_vectors(base, queries, "query", progress=progress)
    dv = base_vectors(base, docs, "document", progress=progress)
    data = AdapterData(qv, dv, np.asarray([q_row[p.query] for p in train]),
                       np.asarray([d_row[p.positive] for p in train]),
                       [[d_row[n] for n in p.negatives] for p in train],
                       # validation ranks among every known document (validation + training ones), so that the
                       # choice of epoch and strength is made on a pool hard enough to tell them apart
                       val=(val_vecs[0], np.vstack([val_vecs[1], dv]), val_split.first_relevant()),
                       general=[(v[0], v[1], gen[n].first_relevant()) for n, v in gen_vecs.items()])
    steps = len(regs) * settings.epochs * max(1, -(-len(train) // settings.batch_size))
    with progress_bar(steps, "finetune[adapter]", "step", progress) as bar:
        def on_step(step: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix_str(f"loss {loss:.4f}")

        fit, chosen_reg = choose_reg(data, settings, regs, on_step)
    seconds = time.perf_counter() - started
    m = fit.matrix
    apply_docs = settings.apply_to == "both"
    after = {"validation": _metrics(_map(val_vecs[0], m), _map(val_vecs[1], m if apply_docs else None), val_split,
                                    dims),
             "general": {n: score_vectors(_map(v[0], m), _map(v[1], m if apply_docs else None), gen[n].relevant)
                         for n, v in gen_vecs.items()}}
    common["params"].update(adapter=settings.kind, rank=settings.rank, apply_to=settings.apply_to,
                            reg=chosen_reg, regs_tried=regs, backend=fit.backend,
                            max_general_drop=settings.max_general_drop)
    with atomic_folder(out) as tmp:
        record = saved.save_matrix(tmp, m)
        saved.write_manifest(tmp, method="adapter", dim=int(m.shape[1]), weights=record,
                             adapter={"kind": settings.kind, "rank": settings.rank, "apply_to": settings.apply_to},
                             metrics={"before": before, "after": after}, epochs_scored=fit.scores,
                             chosen_epoch=fit.chosen_epoch, seconds=round(seconds, 2), diverged=fit.diverged,
                             loss_history=[round(x, 5) for x in fit.losses], **common)
        _plot(tmp / "loss.png", fit.losses, fit.scores, f"adapter on {Path(base.name).name}")
    if fit.chosen_epoch == 0 and not fit.diverged:
        warnings.warn(f"no epoch improved on {Path(base.name).name} over the validation split, so the saved adapter "
                      f"is the identity map (the base encoder's vectors); more or harder pairs, hard negatives, a "
                      f"larger --lr or more --epochs may help", stacklevel=2)
    if fit.diverged:
        raise DivergedError(f"training diverged ({fit.diverged}); the last good weights (epoch {fit.chosen_epoch}) "
                            f"are saved in {out} — retry with a lower --lr or a higher --reg")
    return AdaptedEncoder(out)


def _full(base: Encoder, train: list[Pair], val_split: PairSplit, gen: dict[str, PairSplit], before: dict[str, Any],
          common: dict[str, Any], out: Path, dims: tuple[int, ...], loss: str, scale: float, epochs: int,
          batch_size: int, lr: float, seed: int, progress: bool, started: float,
          before_queries: np.ndarray, own_general: bool) -> FullFinetunedEncoder:
    from .full import FullSettings, model_folder, train_full

    settings = FullSettings(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, loss=loss, scale=scale,
                            matryoshka_dims=dims)
    per_epoch = -(-len(train) // batch_size)
    steps = epochs * per_epoch
    more = f"more training pairs (hundreds), or more epochs (--epochs {-(-FEW_STEPS // per_epoch)} or more)"
    if steps < FEW_STEPS:
        warnings.warn(f"only {steps} training step(s) ({len(train)} training pair(s) in batches of {batch_size}, "
                      f"{epochs} epoch(s)): too few to change {Path(base.name).name} much (at least {FEW_STEPS} "
                      f"are needed); give {more}", stacklevel=caller_level())
    fit = train_full(model_folder(base), train, settings, progress=progress)
    seconds = time.perf_counter() - started
    if fit.model is None:
        raise DivergedError(f"training diverged ({fit.diverged}) before the first epoch finished, so there are no "
                            "good weights to keep; retry with a lower --lr")
    common["params"].update(loss=fit.loss_name)
    with atomic_folder(out) as tmp:
        fit.model.save(str(tmp))
        saved.write_manifest(tmp, method="full", dim=int(before_dim(fit.model)), metrics={"before": before},
                             seconds=round(seconds, 2), diverged=fit.diverged,
                             loss_history=[round(x, 5) for x in fit.losses], **common)
        _plot(tmp / "loss.png", fit.losses, [], f"full fine-tune of {Path(base.name).name}")
    enc = FullFinetunedEncoder(out)
    def _after_vectors(split: Any) -> tuple[np.ndarray, np.ndarray]:
        """The fine-tuned model's (queries, documents) vectors of one split."""
        with _own_sets(own_general and split is not val_split):
            return (enc.encode_queries(split.queries, progress=progress),
                    enc.encode_documents(split.docs, progress=progress))

    got = vectors_per_set({"validation": val_split, **{f"general: {n}": s for n, s in gen.items()}},
                          _after_vectors, "finetune: evaluating the fine-tuned model", progress)
    after: dict[str, Any] = {"validation": _metrics(*got["validation"], val_split, dims),
                             "general": {n: score_vectors(*got[f"general: {n}"], s.relevant) for n, s in gen.items()}}
    after_queries = got["validation"][0]
    if before_queries.shape == after_queries.shape and np.allclose(before_queries, after_queries, rtol=0,
                                                                   atol=1e-6):
        warnings.warn(f"the fine-tuned model gives the same vectors as {Path(base.name).name} (its weights did "
                      f"not move in {steps} training step(s)), so it is no better than the base; give {more}",
                      stacklevel=caller_level())
    doc = saved.read_manifest(out)
    doc.pop("format", None)
    doc.pop("format_version", None)
    doc["metrics"]["after"] = after
    saved.write_manifest(out, **doc)
    enc.manifest = saved.read_manifest(out)
    if fit.diverged:
        raise DivergedError(f"training diverged ({fit.diverged}); the last good weights (the last finished epoch) "
                            f"are saved in {out} — retry with a lower --lr")
    return enc


def before_dim(model: Any) -> int:
    """The output width of a sentence-transformers model (whichever method its version names).

    Parameters
    ----------
    model : sentence_transformers.SentenceTransformer
        The model.

    Returns
    -------
    int
        Its embedding dimension.
    """
    dim_of = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(dim_of())
