"""The in-batch-negatives contrastive loss (InfoNCE / multiple-negatives ranking) with its gradient, in numpy.

Row i of ``q`` should score column i of ``d`` above every other column (the other rows' positives and any extra
negatives appended after them): ``loss = mean_i [logsumexp_j(s * cos(q_i, d_j)) - s * cos(q_i, d_i)]`` with ``s``
the scale (1 / temperature). ``mask`` removes columns that must not count as negatives for a row (the same text
as its positive, seen twice in one batch). Torch computes the same through autograd (``adapter.py``); this
hand-written gradient is the fallback without torch and is checked against finite differences in the tests.

    >>> loss, dq, dd = info_nce(q, d, scale=20.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["info_nce", "matryoshka_info_nce"]


def _unit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x / norms, norms


def _unit_backward(grad_unit: np.ndarray, unit: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """Gradient through x -> x / |x|: (g - u (u . g)) / |x|."""
    return (grad_unit - unit * np.sum(unit * grad_unit, axis=1, keepdims=True)) / norms


def info_nce(q: np.ndarray, d: np.ndarray, scale: float = 20.0, mask: np.ndarray | None = None
             ) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss and its gradients with respect to ``q`` (B, m) and ``d`` (N >= B, m), both unnormalised;
    ``mask`` (B, N) True where a column is excluded for that row (never the diagonal)."""
    b = q.shape[0]
    qu, qn = _unit(q.astype(np.float64))
    du, dn = _unit(d.astype(np.float64))
    logits = scale * (qu @ du.T)
    if mask is not None:
        logits = np.where(mask, -1e9, logits)
    top = logits.max(axis=1, keepdims=True)
    ex = np.exp(logits - top)
    z = ex.sum(axis=1, keepdims=True)
    rows = np.arange(b)
    loss = float(np.mean(np.log(z[:, 0]) + top[:, 0] - logits[rows, rows]))
    g = ex / z
    g[rows, rows] -= 1.0
    g /= b  # d loss / d logits
    g_qu = scale * (g @ du)
    g_du = scale * (g.T @ qu)
    return loss, _unit_backward(g_qu, qu, qn), _unit_backward(g_du, du, dn)


def matryoshka_info_nce(q: np.ndarray, d: np.ndarray, scale: float, dims: tuple[int, ...] | None,
                        mask: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """``info_nce`` summed over the prefixes ``q[:, :m]`` for each width ``m`` in ``dims`` (the full width when
    ``dims`` is empty), as MatryoshkaLoss does (equal weights)."""
    widths = dims or (q.shape[1],)
    total = 0.0
    gq = np.zeros(q.shape, np.float64)
    gd = np.zeros(d.shape, np.float64)
    for m in widths:
        loss, a, b = info_nce(q[:, :m], d[:, :m], scale, mask)
        total += loss
        gq[:, :m] += a
        gd[:, :m] += b
    return total, gq, gd
