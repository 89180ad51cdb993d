"""Masked-language-model pretraining from scratch (BERT: Devlin, Chang, Lee & Toutanova 2019).

A WordPiece vocabulary is learned on the corpus with HF ``tokenizers``; a small ``transformers.BertForMaskedLM``
(2-4 layers, hidden 128-256) then learns to predict hidden tokens: each step, ``DataCollatorForLanguageModeling``
picks 15 % of the tokens, replaces 80 % of those with ``[MASK]``, 10 % with a random token and keeps 10 %
(dynamic masking: a new draw every time a sequence is seen, as in RoBERTa). The corpus is streamed: lines are
tokenised in chunks and packed into ``max_length``-token sequences ([CLS] ... [SEP]) through a seeded shuffle
buffer, never loaded whole.

    >>> from embedlab.train.mlm import MaskedLMTrainer
    >>> trainer = MaskedLMTrainer(hidden=128, layers=2, max_steps=2000, seed=0).fit("corpus.txt", "mlm-out")
    >>> from embedlab.encoders.mlm import MLMEncoder
    >>> MLMEncoder("mlm-out").fill_mask("the cat sat on the [MASK]")

Reproducible and resumable: the weights start from ``seed``; the masks and dropout of step ``s`` are drawn from
generators seeded by ``(seed, s)``; batches depend only on ``(seed, epoch)``. Every ``checkpoint_every`` steps,
and when interrupted (Ctrl-C, or a ``KeyboardInterrupt`` from ``on_step``), the model, AdamW moments and scheduler
go to ``OUT/checkpoint/`` (safetensors + JSON, no pickle); ``fit(..., resume=True)`` replays the batch stream to
that step and continues, giving the same weights as an uninterrupted run (same machine and thread count).

Output folder (a Hugging Face BERT folder plus embedlab's manifest, written last):
``config.json``, ``model.safetensors`` (BertForMaskedLM), ``tokenizer.json`` (+ tokenizer_config.json),
``token_counts.npy`` (int64 counts per token id in the training text: the unigram baseline), ``mlm.json``
(format ``embedlab.mlm`` v1: parameters, steps, loss history, held-out metrics).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import os
import signal
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import config
from .._hf import quiet_transformers
from .._params import check_bool, check_float, check_int
from .._progress import progress_bar
from .._threads import cpu_count
from ..encoders.mlm import MLMEncoder
from ..errors import CorruptFileError, InputError, require
from ..formats import mlm as mlm_folder
from ..formats.mlm import CHECKPOINT, FORMAT, FORMAT_VERSION, MANIFEST, checkpoint_step, read_manifest
from ..persist import atomic_folder, nearest_existing, read_json, write_json_atomic
from ..vectors import Vectors
from .base import Trainer, save_folder

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# Parameters that change the result; a resumed run must match them.
_RESULT_PARAMS = ("vocab_size", "layers", "hidden", "heads", "max_length", "batch_size", "lr", "warmup",
                  "weight_decay", "epochs", "max_steps", "mask_prob", "lowercase", "min_frequency",
                  "shuffle_buffer", "holdout_every", "holdout_max", "seed")


def _fewer_steps(saved: Any, new: Any) -> bool:
    """Whether a resumed run's ``max_steps`` (``new``) stops no later than the checkpoint's (``saved``).

    Such a resume is allowed: the learning rate then decays to zero at the new end.
    """
    return isinstance(new, int) and (saved is None or isinstance(saved, int) and new <= saved)


def _lines(corpus: str | os.PathLike[str] | Iterable[str]) -> Iterator[str]:
    """Non-empty stripped text lines of a path (file or folder, via LineCorpus) or an iterable of strings.

    Raises
    ------
    InputError
        For a corpus that is neither a path nor an iterable of strings, a line that is not a string, or an
        unreadable file.
    """
    if isinstance(corpus, (str, os.PathLike)):
        from .corpus import LineCorpus

        source: Iterable[str] = LineCorpus(corpus).lines()
    elif isinstance(corpus, bytes) or not isinstance(corpus, Iterable):
        raise InputError("corpus must be a path (text file or folder) or a list of text lines")
    else:
        source = corpus
    for n, line in enumerate(source):
        if not isinstance(line, str):
            raise InputError(f"line {n} of the corpus is {type(line).__name__}; each line must be a string")
        line = line.strip()
        if line:
            yield line


def _check_out(out: Path) -> None:
    """Refuse, in one line, an ``out`` that cannot be the output folder.

    It must not be a file, and its nearest existing ancestor must be a writable folder (missing folders between are
    created later).

    Raises
    ------
    InputError
        Saying what is wrong and what to choose instead.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; the output must name a folder")
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK):
            raise InputError(f"the output folder {out} is not writable; choose a writable location")
        return
    parent = nearest_existing(Path(os.path.abspath(out)))
    if not parent.is_dir():
        raise InputError(f"cannot create the output folder {out}: {parent} is not a folder; choose another output "
                         "folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot create the output folder {out}: {parent} is not writable; choose a writable "
                         "location")


def _fingerprint(corpus: Any) -> tuple[Any, dict[str, Any]]:
    """The corpus to train on, and its fingerprint (so a resumed run can check it is the same corpus).

    A path: its bytes and SHA-256 (of the file; of each file's relative path, size and SHA-256 for a folder). An
    iterable of lines: read once into a list of the non-empty stripped lines (it may be one-shot), its line count
    and the SHA-256 of those lines.

    Raises
    ------
    InputError
        For a missing path, an empty folder, a binary or unreadable file, or a line that is not a string.
    """
    if isinstance(corpus, (str, os.PathLike)):
        from .corpus import LineCorpus

        lc = LineCorpus(corpus)  # InputError for a missing path, an empty folder, a binary file
        total = 0
        folder = hashlib.sha256()
        one = ""
        for f in lc.files:
            h = hashlib.sha256()
            try:
                with open(f, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        h.update(chunk)
                        total += len(chunk)
            except OSError as exc:
                raise InputError(f"cannot read corpus file {f} ({exc.strerror or exc})") from None
            one = h.hexdigest()
            rel = f.relative_to(lc.path).as_posix() if lc.path.is_dir() else f.name
            folder.update(f"{rel}\0{f.stat().st_size}\0{one}\n".encode())
        digest = one if lc.path.is_file() else folder.hexdigest()
        return corpus, {"path": str(corpus), "files": len(lc.files), "bytes": total, "sha256": digest}
    lines = []
    h = hashlib.sha256()
    for line in _lines(corpus):
        lines.append(line)
        h.update(line.encode("utf-8", "surrogatepass") + b"\n")
    return lines, {"path": None, "lines": len(lines), "sha256": h.hexdigest()}


def _describe(fp: dict[str, Any]) -> str:
    if fp.get("path") is not None:
        files = f", {fp['files']} files" if fp.get("files", 1) != 1 else ""
        return f"{fp['path']} ({fp.get('bytes', 0):,} bytes{files}, sha256 {str(fp.get('sha256'))[:12]})"
    return f"a list of {fp.get('lines', 0):,} lines (sha256 {str(fp.get('sha256'))[:12]})"


def _check_same_corpus(out: Path, saved: Any, fp: dict[str, Any]) -> None:
    """Refuse a resume on another corpus: the checkpoint's fingerprint ``saved`` must match ``fp``.

    Checkpoints written before fingerprints were recorded (``saved`` not a dict) are not checked.

    Raises
    ------
    InputError
        Naming both corpora.
    """
    if not isinstance(saved, dict):
        return
    keys = ("bytes", "sha256") if fp.get("path") is not None else ("lines", "sha256")
    same = (saved.get("path") is None) == (fp.get("path") is None) and all(saved.get(k) == fp[k] for k in keys)
    if not same:
        raise InputError(f"the checkpoint in {out} was made on another corpus: {_describe(saved)}, not "
                         f"{_describe(fp)}; resume with the corpus it was trained on, start over with --overwrite, "
                         "or choose another output folder")


class MaskedLMTrainer(Trainer):
    """Train a small BERT with masked-language modelling on a text corpus (Devlin et al. 2019; see the module).

    The model is ``transformers.BertForMaskedLM``, the masking ``DataCollatorForLanguageModeling`` (80/10/10), the
    vocabulary WordPiece. All parameters are checked by ``check_params`` before any text is read. Learned:
    ``output_`` (the output folder, ``formats.mlm``) and ``summary_`` (what its ``mlm.json`` holds).

    Parameters
    ----------
    vocab_size : int, default 8000
        WordPiece tokens (>= 16), exactly: a corpus that yields fewer is refused.
    layers : int, default 2
        Transformer layers, in [1, 24].
    hidden : int, default 128
        Hidden width (>= 8, a multiple of ``heads``); the feed-forward layer is 4 x hidden.
    heads : int, default 2
        Attention heads (>= 1).
    max_length : int, default 64
        Tokens per training sequence, [CLS] and [SEP] included, in [8, 512]; also the encoder's limit.
    batch_size : int, default 32
        Sequences per step (>= 1).
    lr : float, default 2e-3
        Peak AdamW learning rate (> 0). On the shared corpus, 1,500 steps of the default model reached held-out
        perplexity 0.56x the unigram baseline's at 2e-3, against 0.68x at 5e-4.
    warmup : float, default 0.05
        Share of the steps, in [0, 1), warming up linearly; then linear decay to 0.
    weight_decay : float, default 0.01
        AdamW's decoupled weight decay (>= 0), not applied to biases and LayerNorm weights.
    epochs : int, default 1
        Passes over the training lines (>= 1).
    max_steps : int or None, default None
        Stop after this many steps (>= 1); None: after ``epochs``.
    mask_prob : float, default 0.15
        Share of the tokens masked, in (0, 1) (80 % become [MASK], 10 % a random token, 10 % stay).
    lowercase : bool, default True
        Lower-case the text (BERT's uncased normaliser).
    min_frequency : int, default 2
        Minimum count (>= 1) of a merge. Checked and recorded with the run, but the vocabulary learner
        (SentencePiece BPE, see ``_train_tokenizer``) does not use it.
    shuffle_buffer : int, default 1000
        Sequences (>= 1) in the seeded shuffle buffer.
    holdout_every : int, default 100
        Keep every ``holdout_every``-th line out of training (0: none; 1 is refused, it would hold out every line).
    holdout_max : int, default 1000
        Score at most this many held-out lines (>= 0) at the end.
    checkpoint_every : int, default 500
        Steps between checkpoints (>= 1) in ``OUT/checkpoint/``.
    seed : int, default 0
        Seed, in [0, 2**31 - 1], of the weights, the batches and the masks.
    threads : int or None, default None
        Torch threads (>= 1) while training (the process's setting is restored after); None: torch's setting,
        at most the CPUs this process may use.
    progress : bool, default True
        Show a progress bar with the running loss.
    on_step : callable or None, default None
        ``on_step(step, loss)``, called after every step; raising ``KeyboardInterrupt`` in it stops training with a
        checkpoint, like Ctrl-C.
    """

    def __init__(self, vocab_size: int = 8000, layers: int = 2, hidden: int = 128, heads: int = 2,
                 max_length: int = 64, batch_size: int = 32, lr: float = 2e-3, warmup: float = 0.05,
                 weight_decay: float = 0.01, epochs: int = 1, max_steps: int | None = None, mask_prob: float = 0.15,
                 lowercase: bool = True, min_frequency: int = 2, shuffle_buffer: int = 1000,
                 holdout_every: int = 100, holdout_max: int = 1000, checkpoint_every: int = 500, seed: int = 0,
                 threads: int | None = None, progress: bool = True,
                 on_step: Callable[[int, float], None] | None = None) -> None:
        self.vocab_size, self.layers, self.hidden, self.heads = vocab_size, layers, hidden, heads
        self.max_length, self.batch_size, self.lr, self.warmup = max_length, batch_size, lr, warmup
        self.weight_decay, self.epochs, self.max_steps, self.mask_prob = weight_decay, epochs, max_steps, mask_prob
        self.lowercase, self.min_frequency, self.shuffle_buffer = lowercase, min_frequency, shuffle_buffer
        self.holdout_every, self.holdout_max, self.checkpoint_every = holdout_every, holdout_max, checkpoint_every
        self.seed, self.threads, self.progress, self.on_step = seed, threads, progress, on_step

    # ------------------------------------------------------------------ checks
    def check_params(self) -> None:
        """Refuse unusable parameters before any text is read.

        Raises
        ------
        InputError
            Naming the first unusable parameter, its allowed range and the value given.
        """
        self._result_params()

    def _result_params(self) -> dict[str, Any]:
        """The parameters that shape the result, checked.

        Raises
        ------
        InputError
            Naming the first unusable parameter.
        """
        p: dict[str, Any] = {
            "vocab_size": check_int(self.vocab_size, "vocab_size", low=16, hint="WordPiece pieces to learn"),
            "layers": check_int(self.layers, "layers", 1, 24),
            "hidden": check_int(self.hidden, "hidden", low=8),
            "heads": check_int(self.heads, "heads", low=1),
            "max_length": check_int(self.max_length, "max_length", 8, 512, hint="tokens per training sequence"),
            "batch_size": check_int(self.batch_size, "batch_size", low=1),
            "lr": check_float(self.lr, "lr", low=0, low_open=True),
            "warmup": check_float(self.warmup, "warmup", 0, 1, high_open=True, hint="share of steps warming up"),
            "weight_decay": check_float(self.weight_decay, "weight_decay", low=0),
            "epochs": check_int(self.epochs, "epochs", low=1),
            "max_steps": check_int(self.max_steps, "max_steps", low=1, none=True),
            "mask_prob": check_float(self.mask_prob, "mask_prob", 0, 1, low_open=True, high_open=True),
            "lowercase": check_bool(self.lowercase, "lowercase"),
            "min_frequency": check_int(self.min_frequency, "min_frequency", low=1),
            "shuffle_buffer": check_int(self.shuffle_buffer, "shuffle_buffer", low=1),
            "holdout_every": check_int(self.holdout_every, "holdout_every", low=0, hint="0 keeps every line"),
            "holdout_max": check_int(self.holdout_max, "holdout_max", low=0),
            "seed": check_int(self.seed, "seed", 0, 2**31 - 1),
        }
        if p["hidden"] % p["heads"]:
            raise InputError(f"hidden={p['hidden']} must be a multiple of heads={p['heads']}")
        if p["holdout_every"] == 1:
            raise InputError("holdout_every=1 would hold out every line; use 0 (none) or >= 2")
        check_int(self.checkpoint_every, "checkpoint_every", low=1)
        check_int(self.threads, "threads", low=1, none=True)
        check_bool(self.progress, "progress")
        if self.on_step is not None and not callable(self.on_step):
            raise InputError("on_step must be a function (step, loss) or None")
        return p

    # ------------------------------------------------------------------ results
    @property
    def is_fitted(self) -> bool:
        """Whether ``fit`` finished (``summary_`` and ``output_`` are set).

        Returns
        -------
        bool
            True when ``output_`` exists.
        """
        return hasattr(self, "output_")

    @property
    def wv(self) -> Vectors:
        """The learned input token embeddings, read from the output folder without torch.

        Returns
        -------
        Vectors
            WordPiece tokens by id and a float32 ``(vocab_size, hidden)`` matrix.

        Raises
        ------
        InputError
            When not trained yet.
        CorruptFileError
            When the output folder was damaged since.
        """
        self.require_fitted("use")
        return Vectors(*mlm_folder.read_token_embeddings(self.output_))

    def to_encoder(self) -> MLMEncoder:
        """The contextual token encoder of the trained folder.

        Returns
        -------
        MLMEncoder
            ``encoders.mlm.MLMEncoder`` over ``output_``: ``encode`` (mean-pooled, float32 ``(n, hidden)``),
            ``token_vectors`` and ``fill_mask``.

        Raises
        ------
        InputError
            When not trained yet.
        """
        self.require_fitted("use")
        return MLMEncoder(self.output_)

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Copy the finished output folder to ``folder``, whole (temp folder + rename).

        The training output itself is already saved where ``fit`` wrote it; saving to that same folder does nothing.

        Parameters
        ----------
        folder : path-like
            The destination folder (an earlier embedlab output there is replaced whole; a file or a folder of other files is refused, see ``base.save_folder``).

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
            for item in Path(self.output_).iterdir():
                if item.is_file():
                    shutil.copy2(item, tmp / item.name)
        return folder

    # ------------------------------------------------------------------ data
    def _split(self, corpus: Any) -> tuple[Callable[[], Iterator[str]], list[str]]:
        """(a function giving the training lines afresh, the held-out lines)."""
        k, cap = self.holdout_every, self.holdout_max
        if not isinstance(corpus, (str, os.PathLike)):
            corpus = list(_lines(corpus))  # an iterable may be one-shot: keep the lines

        def _train() -> Iterator[str]:
            for i, line in enumerate(_lines(corpus)):
                if not (k and i % k == k - 1):
                    yield line

        held = [line for i, line in enumerate(_lines(corpus)) if k and i % k == k - 1][:cap] if k and cap else []
        return _train, held

    def _blocks(self, tok: Any, lines: Iterable[str]) -> Iterator[list[int]]:
        """Token ids packed into [CLS] + (max_length - 2) ids + [SEP]; the last, shorter block is kept."""
        cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        size = self.max_length - 2
        buf: list[int] = []
        chunk: list[str] = []

        def _flush() -> Iterator[list[int]]:
            for enc in tok.encode_batch(chunk, add_special_tokens=False):
                buf.extend(enc.ids)
            chunk.clear()
            while len(buf) >= size:
                yield [cls_id, *buf[:size], sep_id]
                del buf[:size]

        for line in lines:
            chunk.append(line)
            if len(chunk) >= 512:
                yield from _flush()
        yield from _flush()
        if buf:
            yield [cls_id, *buf, sep_id]

    def _batches(self, tok: Any, train: Callable[[], Iterator[str]], epoch: int) -> Iterator[list[list[int]]]:
        """The epoch's batches: blocks through a shuffle buffer seeded by (seed, epoch)."""
        rng = np.random.default_rng([self.seed, epoch])
        pool: list[list[int]] = []
        batch: list[list[int]] = []
        for block in self._blocks(tok, train()):
            pool.append(block)
            if len(pool) >= self.shuffle_buffer:
                batch.append(pool.pop(int(rng.integers(len(pool)))))
                if len(batch) == self.batch_size:
                    yield batch
                    batch = []
        order = rng.permutation(len(pool))
        for i in order:
            batch.append(pool[int(i)])
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    # ------------------------------------------------------------------ tokenizer
    def _train_tokenizer(self, train: Callable[[], Iterator[str]], out: Path) -> Any:
        """Learn the WordPiece vocabulary and save the fast tokenizer into ``out``.

        The pieces are learned by SentencePiece's BPE (seeded and deterministic) on the text as BERT's normaliser and
        pre-tokeniser see it; word-initial pieces become WordPiece tokens, word-internal ones ``##`` tokens, and every
        character gets both forms. HF ``tokenizers``' own WordPiece trainer is not used for learning: its ids, and for
        large vocabularies (2 of 8,000 here) its pieces, change from run to run (hash-map order), which would break
        same-seed reproducibility. ``tokenizers`` does all the tokenising.
        """
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

        norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                          lowercase=self.lowercase)
        pre = pre_tokenizers.BertPreTokenizer()

        def _words() -> Iterator[str]:
            for line in train():
                ws = [w for w, _ in pre.pre_tokenize_str(norm.normalize_str(line))]
                for i in range(0, len(ws), 200):
                    yield " ".join(ws[i:i + 200])

        vocab = _learn_pieces(_words(), self.vocab_size, self.seed)
        tok = Tokenizer(models.WordPiece(vocab={p: i for i, p in enumerate(vocab)}, unk_token="[UNK]"))
        tok.normalizer = norm
        tok.pre_tokenizer = pre
        tok.decoder = decoders.WordPiece()
        cls_id, sep_id = vocab.index("[CLS]"), vocab.index("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
        from transformers import BertTokenizer  # the fast (``tokenizers``) one from Transformers 5

        fast = BertTokenizer(tokenizer_object=tok, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                             cls_token="[CLS]", mask_token="[MASK]", do_lower_case=self.lowercase,
                             model_max_length=self.max_length)
        with quiet_transformers():
            fast.save_pretrained(str(out))
        return tok

    # ------------------------------------------------------------------ training
    def fit(self, corpus: str | os.PathLike[str] | Iterable[str], out: str | os.PathLike[str] | None = None,
            resume: bool = False) -> MaskedLMTrainer:
        """Train on ``corpus`` into the folder ``out`` (checkpoints go there as training runs).

        Parameters
        ----------
        corpus : path-like or iterable of str
            A UTF-8 text file, a folder of them, or a list of lines (empty lines are skipped).
        out : path-like, optional
            The output folder (``formats.mlm``); must be new or empty unless resuming. Default: a new folder
            ``<embedlab home>/mlm/mlm-<date>-<time>``.
        resume : bool, default False
            Continue from ``out/checkpoint`` (parameters and corpus must match; no checkpoint is an error).

        Returns
        -------
        MaskedLMTrainer
            ``self``, with ``summary_`` (what ``out/mlm.json`` holds: steps, loss history, held-out masked accuracy and
            perplexity beside the unigram baseline's, ``corpus`` the corpus's fingerprint, ``note`` a line when
            ``max_steps`` is more than ``epochs`` allow, also given as a warning) and ``output_`` (the folder).

        Raises
        ------
        InputError
            Bad parameters, an output folder that cannot be created, an empty or tiny corpus (less than one
            sequence), a corpus smaller than the vocabulary, ``out`` holding another run, nothing to resume, or a
            resume without ``out``.
        CorruptFileError
            When the checkpoint to resume is damaged.
        MissingDependencyError
            When torch or transformers is not installed.
        KeyboardInterrupt
            On Ctrl-C (or from ``on_step``), after the checkpoint is written.
        """
        params = self._result_params()
        require("torch", "text", "masked-language-model training")
        require("transformers", "text", "masked-language-model training")
        if out is None:
            if resume:
                raise InputError("resume=True needs out, the output folder of the interrupted run")
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            out = config.home() / "mlm" / f"mlm-{stamp}"
        out = Path(out)
        _check_out(out)  # before any text is read
        ckpt = out / CHECKPOINT
        state = None
        if ckpt.is_dir():
            if not resume:
                raise InputError(f"{out} holds the checkpoint of an interrupted run; resume it (resume=True, "
                                 "--resume), start over with --overwrite, or choose another output folder")
            state = read_json(ckpt / "trainer_state.json", f"the checkpoint is damaged; delete {ckpt} to start over")
            if not isinstance(state, dict) or not isinstance(state.get("params"), dict):
                raise CorruptFileError(f"{ckpt}/trainer_state.json is damaged; delete {ckpt} to start over")
            changed = [k for k in _RESULT_PARAMS if state["params"].get(k) != params[k]
                       and not (k == "max_steps" and _fewer_steps(state["params"].get(k), params[k]))]
            if "max_steps" in changed:
                raise InputError(f"the checkpoint in {out} was made to train up to {state['params'].get('max_steps')} "
                                 "steps; resume with that many or fewer (--max-steps), start over with --overwrite, "
                                 "or choose another output folder")
            if changed:
                raise InputError(f"the checkpoint in {out} was made with other parameters ({', '.join(changed)}); "
                                 "resume with the same options, start over with --overwrite, or choose another "
                                 "output folder")
        elif (out / MANIFEST).is_file():
            what = f"nothing to resume in {out}: its training finished" if resume else f"{out} is not empty: it " \
                "holds a finished model"
            raise InputError(f"{what}; choose another output folder, or replace it with --overwrite (in Python: "
                             "delete the folder first)")
        elif resume:
            why = "the folder does not exist" if not out.exists() else f"it holds no checkpoint ({ckpt})"
            raise InputError(f"nothing to resume in {out}: {why}; run without --resume to start training")
        elif out.exists() and any(out.iterdir()):
            raise InputError(f"{out} already exists and is not empty; choose another output folder")
        created = not out.exists()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the output folder {out} ({exc.strerror or exc}); choose a writable "
                             "location") from None
        try:
            corpus, fingerprint = _fingerprint(corpus)
            if state is not None:
                _check_same_corpus(out, state.get("corpus"), fingerprint)
            self.summary_ = self._fit(corpus, out, params, state, fingerprint)
            self.output_ = out
            return self
        except BaseException:
            if created and not (out / CHECKPOINT).is_dir():  # nothing to resume: leave no half-written folder
                import shutil

                shutil.rmtree(out, ignore_errors=True)
            raise

    def _fit(self, corpus: Any, out: Path, params: dict[str, Any], state: dict[str, Any] | None,
             fingerprint: dict[str, Any]) -> dict[str, Any]:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads or min(threads, cpu_count()))
        try:
            return self._run(corpus, out, params, state, fingerprint)
        finally:
            torch.set_num_threads(threads)  # the process's setting, as it was

    def _run(self, corpus: Any, out: Path, params: dict[str, Any], state: dict[str, Any] | None,
             fingerprint: dict[str, Any]) -> dict[str, Any]:
        ckpt = out / CHECKPOINT
        train, held = self._split(corpus)
        if state is not None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(out / "tokenizer.json"))
        else:
            tok = self._train_tokenizer(train, out)
        counts, n_blocks = self._count(tok, train)
        steps_per_epoch = math.ceil(n_blocks / self.batch_size)
        total = steps_per_epoch * self.epochs
        note = None
        if self.max_steps is not None and self.max_steps > total:
            note = (f"training stops after {total} steps ({self.epochs} epoch{'s' if self.epochs > 1 else ''} of "
                    f"{steps_per_epoch} step{'s' if steps_per_epoch > 1 else ''}), before max_steps={self.max_steps}; "
                    f"raise --epochs to train up to {self.max_steps} steps")
            warnings.warn(note, stacklevel=4)
        if self.max_steps is not None:
            total = min(total, self.max_steps)
        model, collator, opt, sched = self._build(tok, total)
        step = 0
        losses: list[float] = []
        if state is not None:
            step, losses = self._restore(ckpt, state, model, opt, sched)
            if step >= total and self.max_steps is not None:  # resumed with a smaller --max-steps, already reached
                past = (f"the checkpoint is at step {step}, " + ("past" if step > total else "at")
                        + f" the last step asked for ({self.max_steps}, --max-steps): training stops there without "
                        "another step")
                warnings.warn(past, stacklevel=4)
                note = past if note is None else f"{note}; {past}"
                total = step
        self._train_loop(tok, train, model, collator, opt, sched, step, losses, total, steps_per_epoch, out, params,
                         fingerprint)
        metrics = evaluate_mlm(model, tok, held, counts, self.max_length, seed=self.seed) if held else None
        with quiet_transformers():
            model.save_pretrained(str(out), safe_serialization=True)
        mlm_folder.write_token_counts(out, counts)
        summary = mlm_folder.write_manifest(  # last: its presence marks a complete folder
            out, params=params, vocab_size=tok.get_vocab_size(), steps=total, steps_per_epoch=steps_per_epoch,
            sequences_per_epoch=n_blocks, training_tokens=int(counts.sum()), heldout_lines=len(held),
            heldout=metrics, corpus=fingerprint, note=note, loss_first=losses[0],
            loss_last=float(np.mean(losses[-50:])), loss_history=losses)
        import shutil

        shutil.rmtree(ckpt, ignore_errors=True)
        return summary

    def _count(self, tok: Any, train: Callable[[], Iterator[str]]) -> tuple[np.ndarray, int]:
        counts = np.zeros(tok.get_vocab_size(), dtype=np.int64)
        n_blocks = 0
        specials = [tok.token_to_id(s) for s in ("[CLS]", "[SEP]")]
        for block in self._blocks(tok, train()):
            counts += np.bincount(block, minlength=len(counts))
            n_blocks += 1
        counts[specials] = 0
        if n_blocks == 0 or counts.sum() < self.max_length - 2:
            raise InputError(f"the corpus is too small: {int(counts.sum())} tokens, less than one training sequence "
                             f"of max_length={self.max_length}; give more text or lower --max-length")
        return counts, n_blocks

    def _build(self, tok: Any, total: int) -> tuple[Any, Any, Any, Any]:
        import torch
        from transformers import (
            BertConfig,
            BertForMaskedLM,
            BertTokenizer,
            DataCollatorForLanguageModeling,
            get_linear_schedule_with_warmup,
        )

        config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=self.hidden,
                            num_hidden_layers=self.layers, num_attention_heads=self.heads,
                            intermediate_size=4 * self.hidden, max_position_embeddings=self.max_length,
                            pad_token_id=tok.token_to_id("[PAD]"))
        torch.manual_seed(self.seed)
        model = BertForMaskedLM(config)
        fast = BertTokenizer(tokenizer_object=tok, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                             cls_token="[CLS]", mask_token="[MASK]")
        collator = DataCollatorForLanguageModeling(fast, mlm=True, mlm_probability=self.mask_prob,
                                                   mask_replace_prob=0.8, random_replace_prob=0.1)
        decay = [p for n, p in model.named_parameters() if not n.endswith("bias") and "LayerNorm" not in n]
        no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=self.lr)
        # transformers leaves this function unannotated: its result is a torch LambdaLR
        sched = get_linear_schedule_with_warmup(opt, int(self.warmup * total), total)  # type: ignore[no-untyped-call]
        return model, collator, opt, sched

    def _train_loop(self, tok: Any, train: Callable[[], Iterator[str]], model: Any, collator: Any, opt: Any,
                    sched: Any, step: int, losses: list[float], total: int, steps_per_epoch: int, out: Path,
                    params: dict[str, Any], fingerprint: dict[str, Any]) -> None:
        import torch

        stop = _InterruptFlag()
        bar = progress_bar(total, "mlm", "step", bool(self.progress), initial=step)
        try:
            with stop:
                while step < total:
                    epoch, skip = divmod(step, steps_per_epoch)
                    for i, blocks in enumerate(self._batches(tok, train, epoch)):
                        if i < skip:
                            continue  # replaying the stream up to a resumed step
                        if step >= total:
                            break
                        seeds = np.random.SeedSequence([self.seed, step]).generate_state(2)
                        collator.generator = torch.Generator().manual_seed(int(seeds[0]))
                        batch = collator([{"input_ids": b, "special_tokens_mask": [1] + [0] * (len(b) - 2) + [1]}
                                          for b in blocks])
                        torch.manual_seed(int(seeds[1]))  # dropout
                        model.train()
                        loss = masked_loss(model, batch)
                        loss.backward()
                        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                        opt.step()
                        sched.step()
                        opt.zero_grad(set_to_none=True)
                        step += 1
                        losses.append(float(loss.detach()))
                        bar.update(1)
                        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", refresh=False)
                        if self.on_step is not None:
                            self.on_step(step, losses[-1])
                        if stop.requested:
                            raise KeyboardInterrupt
                        if step % self.checkpoint_every == 0 and step < total:
                            self._save(out, model, opt, sched, step, losses, params, fingerprint)
        except KeyboardInterrupt:
            self._save(out, model, opt, sched, step, losses, params, fingerprint)
            raise
        finally:
            bar.close()

    # ------------------------------------------------------------------ checkpoints
    def _save(self, out: Path, model: Any, opt: Any, sched: Any, step: int, losses: list[float],
              params: dict[str, Any], fingerprint: dict[str, Any]) -> None:
        """Write OUT/checkpoint whole (a temp folder renamed into place): weights, AdamW state, step, losses."""
        from safetensors.torch import save_file, save_model

        with atomic_folder(out / CHECKPOINT) as tmp:
            save_model(model, str(tmp / "model.safetensors"))
            sd = opt.state_dict()
            tensors = {f"{i}.{k}": v.contiguous() for i, s in sd["state"].items() for k, v in s.items()}
            save_file(tensors, str(tmp / "optimizer.safetensors"))
            groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
            write_json_atomic(tmp / "trainer_state.json", {
                "format": FORMAT + ".checkpoint", "format_version": FORMAT_VERSION, "step": step, "params": params,
                "corpus": fingerprint, "losses": losses, "param_groups": groups, "scheduler": sched.state_dict()})

    def _restore(self, ckpt: Path, state: dict[str, Any], model: Any, opt: Any, sched: Any
                 ) -> tuple[int, list[float]]:
        from safetensors.torch import load_file, load_model

        load_model(model, str(ckpt / "model.safetensors"))
        tensors = load_file(str(ckpt / "optimizer.safetensors"))
        per: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            i, name = key.split(".", 1)
            per.setdefault(int(i), {})[name] = value
        opt.load_state_dict({"state": per, "param_groups": state["param_groups"]})
        sched.load_state_dict(state["scheduler"])
        return int(state["step"]), [float(x) for x in state["losses"]]


def _learn_pieces(texts: Iterator[str], vocab_size: int, seed: int) -> list[str]:
    """Exactly ``vocab_size`` WordPiece tokens, deterministic.

    The specials, both forms of every character, then SentencePiece BPE merges in the order they were learned.

    Raises
    ------
    InputError
        For no text, or a corpus that yields fewer pieces than ``vocab_size``.
    """
    import io
    import sys

    spm = require("sentencepiece", "text", "masked-language-model training")
    first = next(texts, None)
    if first is None:
        raise InputError("the corpus holds no text to learn a vocabulary from; give a text file with sentences")

    def _all_texts() -> Iterator[str]:
        yield first
        yield from texts

    spm.set_random_generator_seed(seed + 1)  # sentencepiece reads 0 as "unseeded"
    proto = io.BytesIO()
    kwargs = dict(sentence_iterator=_all_texts(), model_writer=proto, model_type="bpe",
                  vocab_size=vocab_size + 64, hard_vocab_limit=False, character_coverage=1.0, byte_fallback=False,
                  normalization_rule_name="identity", bos_id=-1, eos_id=-1, unk_id=0, num_threads=1,
                  max_sentence_length=1 << 16, input_sentence_size=2_000_000, shuffle_input_sentence=True,
                  minloglevel=2)
    try:
        if hasattr(sys.stderr, "fileno") and _has_fileno(sys.stderr):
            with open(os.devnull, "w") as devnull:
                spm.SentencePieceTrainer.train(logstream=devnull, **kwargs)
        else:
            spm.SentencePieceTrainer.train(**kwargs)
    except RuntimeError as exc:
        raise InputError(f"learning the vocabulary failed: {str(exc).strip()}; raise vocab_size (it must hold "
                         "two forms of every character) or give more text") from None
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(proto.getvalue())
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size()) if not sp.is_unknown(i)
              and not sp.is_control(i) and not sp.is_byte(i) and not sp.is_unused(i)]
    chars = sorted({p for p in pieces if len(p) == 1 and p != "\u2581"}
                   | {p[1] for p in pieces if len(p) == 2 and p[0] == "\u2581"})
    vocab = list(SPECIALS) + [t for c in chars for t in (c, "##" + c)]
    seen = set(vocab)
    for p in pieces:
        if p == "\u2581" or len(p.lstrip("\u2581")) < 2:
            continue
        t = p[1:] if p.startswith("\u2581") else "##" + p
        if t not in seen:
            seen.add(t)
            vocab.append(t)
    if len(vocab) <= len(SPECIALS):
        raise InputError("the corpus holds no text to learn a vocabulary from; give a text file with sentences")
    if len(vocab) < vocab_size:
        raise InputError(f"the corpus is smaller than the vocabulary: it yields only {len(vocab)} WordPiece pieces, "
                         f"fewer than vocab_size={vocab_size}; lower --vocab-size to at most {len(vocab)} or give "
                         "more text")
    return vocab[:vocab_size]


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
        return True
    except (AttributeError, OSError, ValueError):
        return False


class _InterruptFlag:
    """While active (main thread only), the first Ctrl-C sets ``requested`` so the current step can finish.

    The step is then checkpointed; the previous handler is restored on exit.
    """

    def __init__(self) -> None:
        self.requested = False
        self._old: Any = None

    def __enter__(self) -> _InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


# ---------------------------------------------------------------------- the loss
def masked_logits(model: Any, input_ids: Any, attention_mask: Any, where: Any) -> Any:
    """Vocabulary logits of a BertForMaskedLM at the masked positions only.

    The prediction head runs on the ~15 % masked positions instead of all of them (its V-wide product is the
    largest cost of a small BERT), with the same result as slicing the full logits.

    Parameters
    ----------
    model : transformers.BertForMaskedLM
        The model.
    input_ids : torch.Tensor
        int64 ``(b, s)`` token ids.
    attention_mask : torch.Tensor
        int64 ``(b, s)``, 1 for real tokens, 0 for padding.
    where : torch.Tensor
        bool ``(b, s)``: the positions to score.

    Returns
    -------
    torch.Tensor
        float ``(n_masked, V)`` logits, ``n_masked = where.sum()``, in ``where``'s row-major order.
    """
    hidden = model.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    return model.cls(hidden[where])


def masked_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Mean cross-entropy over the masked positions (``labels != -100``): BertForMaskedLM's loss.

    Computed at the masked positions only (see ``masked_logits``).

    Parameters
    ----------
    model : transformers.BertForMaskedLM
        The model.
    batch : dict
        A collator's batch: ``input_ids``, ``attention_mask`` and ``labels`` (int64 ``(b, s)``, -100 where not
        masked).

    Returns
    -------
    torch.Tensor
        The scalar loss, in nats (>= 0), with its autograd graph.
    """
    import torch

    labels = batch["labels"]
    where = labels != -100
    logits = masked_logits(model, batch["input_ids"], batch["attention_mask"], where)
    return torch.nn.functional.cross_entropy(logits.float(), labels[where])


# ---------------------------------------------------------------------- evaluation
def evaluate_mlm(model: Any, tok: Any, lines: list[str], counts: np.ndarray, max_length: int, seed: int = 0,
                 mask_prob: float = 0.15, batch_size: int = 32) -> dict[str, float]:
    """Masked-token accuracy and perplexity on ``lines``, beside a unigram-frequency baseline.

    Perplexity is exp of the mean cross-entropy at masked positions. The baseline always answers the most frequent
    token and gives each token its add-one-smoothed frequency. Masks follow the training scheme (``mask_prob``;
    80/10/10) from a generator seeded by ``seed``, so two models see the same masks.

    Parameters
    ----------
    model : transformers.BertForMaskedLM
        The model (put in eval mode).
    tok : tokenizers.Tokenizer
        Its tokenizer.
    lines : list of str
        Held-out text lines.
    counts : numpy.ndarray
        int64 ``(vocab_size,)`` training-token counts (the baseline).
    max_length : int
        Tokens per sequence, as in training.
    seed : int, default 0
        Seed of the masks.
    mask_prob : float, default 0.15
        Share of the tokens masked, in (0, 1).
    batch_size : int, default 32
        Sequences per forward pass.

    Returns
    -------
    dict
        ``masked_tokens`` (int), ``accuracy`` and ``unigram_accuracy`` (in [0, 1]), ``perplexity`` and
        ``unigram_perplexity`` (>= 1).

    Raises
    ------
    InputError
        When ``lines`` give no sequence to score.
    """
    import torch
    from transformers import BertTokenizer, DataCollatorForLanguageModeling

    fast = BertTokenizer(tokenizer_object=tok, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                         cls_token="[CLS]", mask_token="[MASK]")
    collator = DataCollatorForLanguageModeling(fast, mlm=True, mlm_probability=mask_prob)
    collator.generator = torch.Generator().manual_seed(seed)
    packer = MaskedLMTrainer(max_length=max_length)
    blocks = list(packer._blocks(tok, lines))
    if not blocks:
        raise InputError("no held-out text to evaluate; pass some lines")
    logp_uni = np.log((counts + 1.0) / (counts.sum() + len(counts)))
    top = int(np.argmax(counts))
    nll = uni_nll = 0.0
    hits = uni_hits = n = 0
    model.eval()
    for s in range(0, len(blocks), batch_size):
        batch = collator([{"input_ids": b, "special_tokens_mask": [1] + [0] * (len(b) - 2) + [1]}
                          for b in blocks[s:s + batch_size]])
        labels = batch["labels"]
        where = labels != -100
        gold = labels[where]
        with torch.inference_mode():
            logits = masked_logits(model, batch["input_ids"], batch["attention_mask"], where)
        logp = torch.log_softmax(logits.float(), dim=-1)
        nll += float(-logp.gather(1, gold[:, None]).sum())
        hits += int((logp.argmax(-1) == gold).sum())
        g = gold.numpy()
        uni_nll += float(-logp_uni[g].sum())
        uni_hits += int((g == top).sum())
        n += len(g)
    return {"masked_tokens": n, "accuracy": hits / n, "perplexity": math.exp(nll / n),
            "unigram_accuracy": uni_hits / n, "unigram_perplexity": math.exp(uni_nll / n)}


def summary_line(summary: dict[str, Any]) -> str:
    """One human-readable line about a finished run.

    Parameters
    ----------
    summary : dict
        What ``fit`` set as ``summary_`` (or ``mlm.json`` holds).

    Returns
    -------
    str
        Steps, vocabulary, training tokens, first and last loss, and the held-out scores when there are any.

    Raises
    ------
    KeyError
        When ``summary`` lacks ``steps``, ``vocab_size``, ``training_tokens``, ``loss_first`` or ``loss_last``.
    """
    h = summary.get("heldout")
    held = (f"; held-out masked accuracy {h['accuracy']:.3f} (unigram {h['unigram_accuracy']:.3f}), perplexity "
            f"{h['perplexity']:.1f} (unigram {h['unigram_perplexity']:.1f})") if h else ""
    return (f"{summary['steps']} steps, vocabulary {summary['vocab_size']}, {summary['training_tokens']:,} training "
            f"tokens; loss {summary['loss_first']:.3f} -> {summary['loss_last']:.3f}{held}")


__all__ = ["FORMAT", "MANIFEST", "MaskedLMTrainer", "checkpoint_step", "evaluate_mlm", "read_manifest",
           "summary_line"]
