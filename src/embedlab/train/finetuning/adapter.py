"""A linear adapter on top of a frozen encoder's vectors, trained with the in-batch-negatives contrastive loss.

The adapter is one matrix ``M`` applied to the base encoder's unit vectors (``v -> normalise(v @ M)``): ``linear``
learns ``M`` itself (initialised to the identity), ``residual`` learns ``M = I + D``, and ``rank=r`` makes the
residual low-rank (``D = A @ B``, ``A`` d×r, ``B`` r×d, LoRA-style). A penalty ``reg * |M - I|²`` pulls the map
toward the identity, so what the base encoder knew is kept unless the data pay for changing it. ``apply_to``
chooses whether queries and documents both pass through it ("both") or only queries ("queries": documents keep
their base vectors, so a collection needs no re-indexing).

Every epoch is scored on the validation split (and on a general-domain set when given); the epoch kept is the
best on validation among those that keep the general-domain recall@1 within ``max_general_drop`` of the base
(epoch 0, the identity, always qualifies, so the adapter is never worse than the base on validation).

Training runs on torch when it is installed (autograd, ``torch.optim.Adam``) and otherwise on numpy with the
hand-written gradient of ``loss.py`` (float64) and the same Adam update; both start from the same seeded weights
and see the same batches, so they agree to float32 precision. Torch runs on one thread here: the products are small,
and more threads only add synchronisation.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import InputError, NonFiniteError
from .loss import matryoshka_info_nce

__all__ = ["AdapterSettings", "AdapterData", "AdapterFit", "fit_adapter", "adapter_matrix", "DivergedError"]


class DivergedError(NonFiniteError):
    """Training produced a NaN/inf loss; the message says where the last good weights were kept."""


@dataclass(frozen=True)
class AdapterSettings:
    """What to train: the map (``kind``, ``rank``, ``apply_to``), the loss (``scale`` = 1/temperature,
    ``matryoshka_dims``) and the optimisation (``epochs``, ``batch_size``, ``lr``, ``reg``, ``seed``)."""

    kind: str = "residual"
    rank: int | None = None
    apply_to: str = "both"
    scale: float = 20.0
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    reg: float = 0.01
    seed: int = 0
    matryoshka_dims: tuple[int, ...] = ()
    max_general_drop: float = 0.02
    backend: str = "auto"

    def check(self, dim: int) -> None:
        if self.kind not in ("linear", "residual"):
            raise InputError(f"adapter kind must be 'linear' or 'residual', got {self.kind!r}")
        if self.rank is not None and (self.kind != "residual" or not 1 <= self.rank < dim):
            raise InputError(f"rank={self.rank}: a low-rank adapter is residual with 1 <= rank < {dim}")
        if self.apply_to not in ("both", "queries"):
            raise InputError(f"apply_to must be 'both' or 'queries', got {self.apply_to!r}")
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2:
            raise InputError("batch_size must be >= 2: in-batch negatives need other pairs in the batch")
        if not (self.lr > 0 and self.scale > 0 and self.reg >= 0):
            raise InputError("lr and scale must be > 0 and reg >= 0")
        if self.backend not in ("auto", "torch", "numpy"):
            raise InputError(f"backend must be auto, torch or numpy, got {self.backend!r}")


@dataclass
class AdapterData:
    """Base vectors and which rows pair up. ``queries``/``docs``: unit base vectors (queries encoded in the query
    role, documents in the document role); ``q``/``p``: the query and positive row of each training pair;
    ``negs``: each pair's negative rows (possibly none); ``val``/``general``: (query vectors, document vectors,
    index of each query's relevant document) for scoring (``general``: a list of such sets)."""

    queries: np.ndarray
    docs: np.ndarray
    q: np.ndarray
    p: np.ndarray
    negs: list[list[int]]
    val: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    general: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)


@dataclass
class AdapterFit:
    """The result: the chosen ``params`` and their ``matrix``, the per-step ``losses``, per-epoch ``scores``
    (``{"epoch", "val_mrr", "val_recall@1", "general<i>_recall@1"}``), the ``chosen_epoch``, the ``backend`` used,
    and ``diverged`` (a message) when a NaN/inf loss stopped training."""

    params: dict[str, np.ndarray]
    matrix: np.ndarray
    losses: list[float] = field(default_factory=list)
    scores: list[dict[str, float]] = field(default_factory=list)
    chosen_epoch: int = 0
    backend: str = "numpy"
    diverged: str | None = None


def init_params(dim: int, s: AdapterSettings) -> dict[str, np.ndarray]:
    """Seeded starting weights: the identity map in every variant."""
    if s.kind == "linear":
        return {"W": np.eye(dim)}
    if s.rank is None:
        return {"D": np.zeros((dim, dim))}
    rng = np.random.default_rng(s.seed)
    return {"A": rng.normal(0.0, 1.0 / math.sqrt(dim), (dim, s.rank)), "B": np.zeros((s.rank, dim))}


def adapter_matrix(params: dict[str, Any]) -> Any:
    """``M`` from the parameters (numpy arrays or torch tensors alike)."""
    if "W" in params:
        return params["W"]
    if "D" in params:
        d = params["D"]
        return d + _eye_like(d)
    a, b = params["A"], params["B"]
    prod = a @ b
    return prod + _eye_like(prod)


def _eye_like(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return np.eye(x.shape[0], dtype=x.dtype)
    import torch

    return torch.eye(x.shape[0], dtype=x.dtype)


def _param_grads(params: dict[str, np.ndarray], dm: np.ndarray) -> dict[str, np.ndarray]:
    if "W" in params:
        return {"W": dm}
    if "D" in params:
        return {"D": dm}
    return {"A": dm @ params["B"].T, "B": params["A"].T @ dm}


def _batches(n: int, data: AdapterData, s: AdapterSettings, epoch: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(pair rows, negative doc rows) of each batch of one epoch; seeded by (seed, epoch), identical for both
    backends. A batch of one pair is dropped (it has no in-batch negative)."""
    rng = np.random.default_rng([s.seed, epoch])
    order = rng.permutation(n)
    out = []
    for start in range(0, n, s.batch_size):
        rows = order[start:start + s.batch_size]
        if len(rows) < 2:
            continue
        negs = [data.negs[r][int(rng.integers(len(data.negs[r])))] for r in rows if data.negs[r]]
        out.append((rows, np.asarray(negs, dtype=np.int64)))
    return out


def _mask(p_rows: np.ndarray, cols: np.ndarray) -> np.ndarray | None:
    """True where a column is the same document as a row's positive but not its own diagonal entry."""
    same = p_rows[:, None] == cols[None, :]
    np.fill_diagonal(same[:, :len(p_rows)], False)
    return same if same.any() else None


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def score(matrix: np.ndarray | None, split: tuple[np.ndarray, np.ndarray, np.ndarray], apply_to: str
          ) -> dict[str, float]:
    """MRR and recall@1 of ``split`` (query vectors, document vectors, relevant row) through ``matrix`` (None:
    the base vectors): a quick exact scoring used to choose the epoch."""
    qv, dv, rel = split
    if matrix is not None:
        qv = _unit(qv @ matrix)
        if apply_to == "both":
            dv = _unit(dv @ matrix)
    sims = qv @ dv.T
    target = sims[np.arange(len(rel)), rel]
    rank = 1 + (sims > target[:, None]).sum(axis=1)
    return {"mrr": float(np.mean(1.0 / rank)), "recall@1": float(np.mean(rank == 1))}


def fit_adapter(data: AdapterData, settings: AdapterSettings,
                on_step: Callable[[int, float], None] | None = None) -> AdapterFit:
    """Train the adapter (see the module docstring); ``on_step(step, loss)`` is called after every step."""
    dim = data.queries.shape[1]
    settings.check(dim)
    for m in settings.matryoshka_dims:
        if not 1 <= m <= dim:
            raise InputError(f"Matryoshka width {m} is outside 1..{dim} (the encoder's dimension)")
    if len(data.q) < 2:
        raise InputError("adapter training needs at least 2 training pairs")
    backend = settings.backend
    if backend == "auto":
        backend = "torch" if importlib.util.find_spec("torch") is not None else "numpy"
    run = _run_torch if backend == "torch" else _run_numpy
    return run(data, settings, on_step)


class _Chooser:
    """Keeps the best epoch: highest validation MRR among epochs whose general-domain recall@1 stays within
    ``max_general_drop`` of the base's."""

    def __init__(self, data: AdapterData, s: AdapterSettings, params: dict[str, np.ndarray]) -> None:
        self.data, self.s = data, s
        self.scores: list[dict[str, float]] = []
        self.base_general = [score(None, g, s.apply_to)["recall@1"] for g in data.general]
        self.best: tuple[float, int, dict[str, np.ndarray]] | None = None
        self.see(0, params)

    def see(self, epoch: int, params: dict[str, np.ndarray]) -> None:
        m = np.asarray(adapter_matrix(params), dtype=np.float32)
        row: dict[str, float] = {"epoch": epoch}
        val = score(m, self.data.val, self.s.apply_to) if self.data.val else None
        if val:
            row.update({"val_mrr": val["mrr"], "val_recall@1": val["recall@1"]})
        ok = True
        for i, (split, base) in enumerate(zip(self.data.general, self.base_general, strict=True)):
            g = score(m, split, self.s.apply_to)["recall@1"]
            row[f"general{i}_recall@1"] = g
            ok = ok and g >= base - self.s.max_general_drop - 1e-12
        self.scores.append(row)
        key = val["mrr"] if val else float(epoch)  # without validation: the last epoch
        if ok and (self.best is None or key > self.best[0] + 1e-12):
            self.best = (key, epoch, {k: v.copy() for k, v in params.items()})

    def result(self, losses: list[float], backend: str, diverged: str | None) -> AdapterFit:
        assert self.best is not None
        _, epoch, params = self.best
        params = {k: v.astype(np.float32) for k, v in params.items()}
        return AdapterFit(params, np.asarray(adapter_matrix(params), np.float32), losses, self.scores, epoch,
                          backend, diverged)


def _regulariser(m: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    diff = m - np.eye(m.shape[0])
    return reg * float(np.sum(diff * diff)), 2.0 * reg * diff


def numpy_step_loss(params: dict[str, np.ndarray], data: AdapterData, rows: np.ndarray, neg_rows: np.ndarray,
                    s: AdapterSettings) -> tuple[float, dict[str, np.ndarray]]:
    """One batch's loss and parameter gradients (numpy)."""
    m = adapter_matrix(params)
    xq = data.queries[data.q[rows]].astype(np.float64)
    cols = np.concatenate([data.p[rows], neg_rows]).astype(np.int64)
    xd = data.docs[cols].astype(np.float64)
    yd = xd @ m if s.apply_to == "both" else xd
    loss, gq, gd = matryoshka_info_nce(xq @ m, yd, s.scale, s.matryoshka_dims or None, _mask(data.p[rows], cols))
    dm = xq.T @ gq
    if s.apply_to == "both":
        dm += xd.T @ gd
    r_loss, r_grad = _regulariser(m, s.reg)
    return loss + r_loss, _param_grads(params, dm + r_grad)


def _run_numpy(data: AdapterData, s: AdapterSettings, on_step: Callable[[int, float], None] | None) -> AdapterFit:
    params = init_params(data.queries.shape[1], s)
    chooser = _Chooser(data, s, params)
    mom = {k: np.zeros_like(v) for k, v in params.items()}
    vel = {k: np.zeros_like(v) for k, v in params.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    losses: list[float] = []
    step = 0
    for epoch in range(1, s.epochs + 1):
        for rows, neg_rows in _batches(len(data.q), data, s, epoch):
            loss, grads = numpy_step_loss(params, data, rows, neg_rows, s)
            if not math.isfinite(loss) or not all(np.isfinite(g).all() for g in grads.values()):
                return chooser.result(losses, "numpy", f"loss became {loss} at epoch {epoch}, step {step + 1}")
            step += 1
            for k, g in grads.items():
                mom[k] = b1 * mom[k] + (1 - b1) * g
                vel[k] = b2 * vel[k] + (1 - b2) * g * g
                params[k] -= s.lr * (mom[k] / (1 - b1 ** step)) / (np.sqrt(vel[k] / (1 - b2 ** step)) + eps)
            losses.append(loss)
            if on_step:
                on_step(step, loss)
        chooser.see(epoch, params)
    return chooser.result(losses, "numpy", None)


def torch_step_loss(torch: Any, params: dict[str, Any], data: AdapterData, rows: np.ndarray, neg_rows: np.ndarray,
                    s: AdapterSettings, tq: Any, td: Any) -> Any:
    """One batch's loss as a torch scalar (autograd computes the gradient)."""
    f = torch.nn.functional
    m = adapter_matrix(params)
    cols = np.concatenate([data.p[rows], neg_rows]).astype(np.int64)
    xq = tq[torch.from_numpy(data.q[rows].astype(np.int64))]
    xd = td[torch.from_numpy(cols)]
    yq = xq @ m
    yd = xd @ m if s.apply_to == "both" else xd
    mask = _mask(data.p[rows], cols)
    target = torch.arange(len(rows))
    total = 0.0
    for width in (s.matryoshka_dims or (yq.shape[1],)):
        logits = s.scale * (f.normalize(yq[:, :width], dim=1, eps=1e-12) @ f.normalize(yd[:, :width], dim=1,
                                                                                        eps=1e-12).T)
        if mask is not None:
            logits = logits.masked_fill(torch.from_numpy(mask), -1e9)
        total = total + f.cross_entropy(logits, target)
    diff = m - torch.eye(m.shape[0], dtype=m.dtype)
    return total + s.reg * (diff * diff).sum()


def _run_torch(data: AdapterData, s: AdapterSettings, on_step: Callable[[int, float], None] | None) -> AdapterFit:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small products: one thread is fastest (and spares a shared machine)
    try:
        return _torch_loop(torch, data, s, on_step)
    finally:
        torch.set_num_threads(threads)


def _torch_loop(torch: Any, data: AdapterData, s: AdapterSettings,
                on_step: Callable[[int, float], None] | None) -> AdapterFit:
    init = init_params(data.queries.shape[1], s)
    params = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in init.items()}
    tq = torch.from_numpy(np.ascontiguousarray(data.queries, dtype=np.float32))
    td = torch.from_numpy(np.ascontiguousarray(data.docs, dtype=np.float32))
    opt = torch.optim.Adam(list(params.values()), lr=s.lr, betas=(0.9, 0.999), eps=1e-8)
    chooser = _Chooser(data, s, init)
    losses: list[float] = []
    step = 0

    def snapshot() -> dict[str, np.ndarray]:
        return {k: v.detach().numpy().copy() for k, v in params.items()}

    for epoch in range(1, s.epochs + 1):
        for rows, neg_rows in _batches(len(data.q), data, s, epoch):
            opt.zero_grad()
            loss_t = torch_step_loss(torch, params, data, rows, neg_rows, s, tq, td)
            loss = float(loss_t.detach())
            if not math.isfinite(loss):
                return chooser.result(losses, "torch", f"loss became {loss} at epoch {epoch}, step {step + 1}")
            loss_t.backward()
            opt.step()
            step += 1
            losses.append(loss)
            if on_step:
                on_step(step, loss)
        chooser.see(epoch, snapshot())
    return chooser.result(losses, "torch", None)


def choose_reg(data: AdapterData, settings: AdapterSettings, regs: Sequence[float],
               on_step: Callable[[int, float], None] | None = None) -> tuple[AdapterFit, float]:
    """Fit one adapter per regularisation strength and keep the best by the same rule as epochs."""
    from dataclasses import replace

    best: tuple[tuple[bool, float], AdapterFit, float] | None = None
    for reg in regs:
        fit = fit_adapter(data, replace(settings, reg=float(reg)), on_step)
        row = fit.scores[fit.chosen_epoch]
        key = (fit.diverged is None, row.get("val_mrr", 0.0))
        if best is None or key > best[0]:
            best = (key, fit, float(reg))
    assert best is not None
    return best[1], best[2]
