"""``method="full"``: fine-tune every weight of a torch sentence encoder with sentence-transformers' own Trainer.

We do not re-implement what sentence-transformers does well: its ``SentenceTransformerTrainer`` runs the loop and
its losses do the maths — ``MultipleNegativesRankingLoss`` (in-batch negatives, plus mined hard negatives as extra
columns), ``CachedMultipleNegativesRankingLoss`` (GradCache: a large effective batch in small memory),
``CoSENTLoss`` for pairs with a similarity score, and ``MatryoshkaLoss`` around any of them when Matryoshka widths
are given. What this module adds is the data set layout, a divergence guard (a NaN/inf loss stops training; the
last good weights — those of the last finished epoch — are kept in ``checkpoint/``) and the loss history.

Works for ``minilm``, the ``bert-tokens`` family (a Hugging Face BERT folder gets mean pooling) and any local
sentence-transformers folder: any encoder exposing its model ``folder``.
"""

from __future__ import annotations

import copy
import importlib
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._progress import progress_bar
from ...errors import InputError, MissingDependencyError, ModelNotFoundError
from .pairs import Pair

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

__all__ = ["FullSettings", "FullFit", "train_full", "model_folder"]

LOSSES = ("auto", "mnrl", "cached-mnrl", "cosent")


@dataclass(frozen=True)
class FullSettings:
    """Trainer settings; ``loss="auto"``: CoSENT when every pair has a score, else multiple-negatives ranking."""

    epochs: int = 1
    batch_size: int = 32
    lr: float = 2e-5
    seed: int = 0
    loss: str = "auto"
    scale: float = 20.0
    mini_batch_size: int = 32
    matryoshka_dims: tuple[int, ...] = ()
    warmup_ratio: float = 0.1


@dataclass
class FullFit:
    model: Any
    losses: list[float] = field(default_factory=list)
    diverged: str | None = None
    loss_name: str = ""
    seconds: float = 0.0  # the whole call: model load, data set, training


def model_folder(enc: Any) -> Path:
    """The local model folder of a torch encoder (SBERT or BERT), or InputError saying to use the adapter."""
    folder = enc.transformers_folder()
    if folder is None or not (Path(folder) / "config.json").is_file():
        raise InputError(f"method='full' fine-tunes a torch transformer encoder (minilm, the bert-tokens family or a "
                         f"local sentence-transformers folder); {enc.name!r} is not one — use method='adapter', which "
                         "works on every text encoder")
    return Path(folder)


def _imports() -> Any:
    try:
        import datasets  # noqa: F401
        from sentence_transformers import SentenceTransformer  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("method='full' needs sentence-transformers, datasets and accelerate: "
                                     "pip install 'embedlab[text]'") from exc
    import sentence_transformers as st

    return st


def _dataset(pairs: Sequence[Pair], loss: str, seed: int) -> Any:
    from datasets import Dataset

    if loss == "cosent":
        return Dataset.from_dict({"sentence1": [p.query for p in pairs], "sentence2": [p.positive for p in pairs],
                                  "score": [float(p.score if p.score is not None else 1.0) for p in pairs]})
    cols: dict[str, list[str]] = {"anchor": [p.query for p in pairs], "positive": [p.positive for p in pairs]}
    k = max((len(p.negatives) for p in pairs), default=0)
    if k:
        rng = np.random.default_rng(seed)
        others = [p.positive for p in pairs]
        for j in range(k):
            col = []
            for p in pairs:
                if j < len(p.negatives):
                    col.append(p.negatives[j])
                else:  # pad with another pair's positive (an in-batch-like easy negative)
                    pick = others[int(rng.integers(len(others)))]
                    col.append(pick if pick != p.positive else others[(others.index(pick) + 1) % len(others)])
            cols[f"negative_{j + 1}"] = col
    return Dataset.from_dict(cols)


def _losses() -> Any:
    """sentence-transformers' ``losses`` module (moved under ``sentence_transformer`` in version 6)."""
    try:
        return importlib.import_module("sentence_transformers.sentence_transformer.losses")
    except ImportError:  # pragma: no cover - sentence-transformers < 6
        return importlib.import_module("sentence_transformers.losses")


def _loss(st: Any, model: Any, name: str, s: FullSettings) -> Any:
    losses = _losses()
    if name == "cosent":
        base = losses.CoSENTLoss(model)
    elif name == "cached-mnrl":
        base = losses.CachedMultipleNegativesRankingLoss(model, scale=s.scale, mini_batch_size=s.mini_batch_size)
    else:
        base = losses.MultipleNegativesRankingLoss(model, scale=s.scale)
    if s.matryoshka_dims:
        return losses.MatryoshkaLoss(model, base, matryoshka_dims=list(s.matryoshka_dims))
    return base


def _warmup(ratio: float) -> dict[str, Any]:
    """The warm-up share of the steps: ``warmup_steps`` as a float from Transformers 5 (``warmup_ratio`` before)."""
    import transformers

    if int(transformers.__version__.split(".")[0]) >= 5:
        return {"warmup_steps": float(ratio)}
    return {"warmup_ratio": ratio}


def load_model(folder: Path) -> Any:
    _imports()
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot load the model in {folder} ({exc}); check its weights files") from None


def train_full(base_folder: Path, pairs: Sequence[Pair], s: FullSettings, *, progress: bool = False,
               on_step: Callable[[int, float], None] | None = None) -> FullFit:
    """Fine-tune the model in ``base_folder`` on ``pairs``; the returned model holds the final weights, or the
    last good ones when a NaN/inf loss stopped training (``diverged`` says where)."""
    if s.loss not in LOSSES:
        raise InputError(f"loss must be one of {', '.join(LOSSES)}, got {s.loss!r}")
    st = _imports()
    from sentence_transformers.sentence_transformer.trainer import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.training_args import (
        BatchSamplers,
        SentenceTransformerTrainingArguments,
    )
    from transformers import TrainerCallback

    started = time.perf_counter()
    model = load_model(base_folder)
    dim_of = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = int(dim_of())
    too_wide = [m for m in s.matryoshka_dims if m > dim or m < 1]
    if too_wide:
        raise InputError(f"Matryoshka widths {too_wide} are outside 1..{dim}, the model's dimension")
    loss_name = s.loss
    if loss_name == "auto":
        loss_name = "cosent" if all(p.score is not None for p in pairs) else "mnrl"
    if loss_name == "cosent" and any(p.score is None for p in pairs):
        raise InputError("the CoSENT loss needs a 'score' on every pair")
    data = _dataset(pairs, loss_name, s.seed)
    loss = _loss(st, model, loss_name, s)
    fit = FullFit(model, loss_name=loss_name)
    kept: dict[str, Any] = {"good": None, "step": 0}

    def finite_weights() -> bool:
        return all(bool(p.isfinite().all()) for p in model.parameters())

    class Guard(TrainerCallback):
        """Stops at the first non-finite loss or gradient norm (logged every step: ``logging_steps=1``) and keeps
        the weights of the last finished epoch whose parameters are all finite."""

        def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                   logs: dict[str, float] | None = None, **kw: Any) -> None:
            value = (logs or {}).get("loss")
            if value is None:
                return
            value = float(value)
            grad = (logs or {}).get("grad_norm")
            kept["step"] = int(state.global_step)
            if not math.isfinite(value) or (grad is not None and not math.isfinite(float(grad))):
                what = f"loss became {value}" if not math.isfinite(value) else f"gradient norm became {grad}"
                fit.diverged = f"{what} at step {state.global_step}"
                control.should_training_stop = True
                return
            fit.losses.append(value)
            if on_step:
                on_step(int(state.global_step), value)

        def on_epoch_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                         **kw: Any) -> None:
            if fit.diverged is not None:
                return
            if not finite_weights():  # a finite loss can still leave NaN weights behind (an overflowing step)
                fit.diverged = f"weights became non-finite by the end of epoch {round(state.epoch or 0)}"
                control.should_training_stop = True
                return
            kept["good"] = copy.deepcopy(model.state_dict())

    class Bar(TrainerCallback):
        """Our bar (steps/s, time left, the last loss) in place of the Trainer's, whose ``on_log`` prints every
        log dict (``{'loss': ...}``, logged every step for the guard) on stdout between the bar's lines."""

        bar: Any = None

        def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                           **kw: Any) -> None:
            self.bar = progress_bar(int(state.max_steps), "finetune[full]", "step", progress)

        def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                        **kw: Any) -> None:
            self.bar.update(1)

        def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                   logs: dict[str, float] | None = None, **kw: Any) -> None:
            if (logs or {}).get("loss") is not None:
                self.bar.set_postfix_str(f"loss {float((logs or {})['loss']):.4f}", refresh=False)

        def close(self) -> None:
            if self.bar is not None:
                self.bar.close()

    with tempfile.TemporaryDirectory(prefix="embedlab-finetune-") as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp, num_train_epochs=s.epochs, per_device_train_batch_size=s.batch_size,
            learning_rate=s.lr, **_warmup(s.warmup_ratio), seed=s.seed, data_seed=s.seed,
            batch_sampler=BatchSamplers.BATCH_SAMPLER if loss_name == "cosent" else BatchSamplers.NO_DUPLICATES,
            save_strategy="no", eval_strategy="no", report_to="none", use_cpu=True,
            logging_steps=1,  # the guard reads every step's loss and gradient norm
            disable_tqdm=True, dataloader_num_workers=0, log_level="error",  # our bar: Bar
            logging_nan_inf_filter=False)  # the Trainer's default hides a NaN loss from the logs (and our guard)
        bar = Bar()
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss,
                                             callbacks=[Guard(), bar])
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        for printer in (PrinterCallback, ProgressCallback):  # both print every log dict on stdout: Bar shows it
            trainer.remove_callback(printer)
        try:
            trainer.train()
        finally:
            bar.close()
    if fit.diverged is None and not finite_weights():
        fit.diverged = f"weights became non-finite by step {kept['step']}"
    fit.seconds = time.perf_counter() - started
    if fit.diverged is not None and kept["good"] is not None:
        model.load_state_dict(kept["good"])
    elif fit.diverged is not None:
        fit.model = None  # no finished epoch: nothing good to keep
    return fit
