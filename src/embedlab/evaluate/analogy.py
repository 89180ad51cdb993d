"""Word-analogy accuracy ("a is to b as c is to ?") following gensim's ``evaluate_word_analogies`` protocol.

Only the first ``restrict_vocab`` rows are candidates and only questions whose four words are all among them
are evaluated (the others are skipped and counted: ``coverage``). With ``case_insensitive`` words are compared
upper-cased and each upper-cased word takes the vector of its most frequent case variant, as gensim does.
The questions are answered in batches (one matrix product per batch), so the 19,544 Google questions on 30k
words take seconds, and every answer is the same as gensim's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._progress import progress_bar
from ..arithmetic import METHODS
from ..errors import CorruptFileError, InputError
from .datasets import test_file

if TYPE_CHECKING:
    from ..vectors import Vectors

__all__ = ["SectionScore", "AnalogyResult", "evaluate_analogies", "read_analogies", "vocab_map"]

_BATCH = 512
_TOP = 5  # gensim looks at the 5 best answers and takes the first that is not a question word


@dataclass(frozen=True)
class SectionScore:
    """Correct answers among the evaluated (in-vocabulary) questions of one section."""

    correct: int
    evaluated: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.evaluated if self.evaluated else 0.0


@dataclass
class AnalogyResult:
    """Overall and per-section analogy accuracy; ``coverage`` = evaluated / total_questions."""

    accuracy: float
    correct: int
    total_questions: int
    evaluated: int
    coverage: float
    sections: dict[str, SectionScore] = field(default_factory=dict)
    semantic: SectionScore | None = None
    syntactic: SectionScore | None = None
    method: str = "3cosadd"
    restrict_vocab: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sections"] = {k: {**asdict(v), "accuracy": v.accuracy} for k, v in self.sections.items()}
        for part in ("semantic", "syntactic"):
            if d[part] is not None:
                d[part]["accuracy"] = getattr(self, part).accuracy
        return d

    def __str__(self) -> str:
        lines = [f"analogy accuracy {self.accuracy:.4f} ({self.correct}/{self.evaluated}), "
                 f"coverage {self.coverage:.3f} of {self.total_questions} questions"]
        lines += [f"  {k}: {v.accuracy:.4f} ({v.correct}/{v.evaluated})" for k, v in self.sections.items()]
        return "\n".join(lines)


def _resolve(path: str | Path | None, default: str) -> Path:
    if path is None:
        return test_file(default)
    p = Path(path)
    if p.is_file():
        return p
    if isinstance(path, str) and not any(c in path for c in "/\\"):
        return test_file(path)
    raise FileNotFoundError(f"no benchmark file at {p}")


def _same(word: str) -> str:
    return word


def _word_key(case_insensitive: bool) -> Callable[[str], str]:
    """How words are compared: upper-cased with ``case_insensitive`` (gensim's protocol), else as written."""
    return str.upper if case_insensitive else _same


def vocab_map(vectors: Vectors, restrict_vocab: int | None, case_insensitive: bool) -> tuple[dict[str, int], int]:
    """Word → row over the first ``restrict_vocab`` rows; upper-cased words map to their first occurrence."""
    n = len(vectors) if restrict_vocab is None else min(int(restrict_vocab), len(vectors))
    keys = vectors.keys[:n]
    if case_insensitive:
        ok: dict[str, int] = {}
        for i in range(n - 1, -1, -1):
            ok[keys[i].upper()] = i
        return ok, n
    return {k: i for i, k in enumerate(keys)}, n


def read_analogies(path: str | Path) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """Sections of an analogy file: ``[(name, [(a, b, c, expected), ...]), ...]`` (lines not of 4 words skipped)."""
    path = Path(path)
    sections: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.startswith(": "):
                sections.append((line.lstrip(": ").strip(), []))
                continue
            words = line.split()
            if len(words) != 4:
                continue
            if not sections:
                raise CorruptFileError(f"{path}: line {line_no} comes before any ': section' header line")
            sections[-1][1].append((words[0], words[1], words[2], words[3]))
    return sections


def evaluate_analogies(
    vectors: Vectors,
    path: str | Path | None = None,
    restrict_vocab: int | None = 30000,
    case_insensitive: bool = True,
    method: str = "3cosadd",
    progress: bool = False,
) -> AnalogyResult:
    """Accuracy on an analogy file (default: Google's ``questions-words.txt``), gensim's protocol."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    file = _resolve(path, "questions-words")
    ok, n = vocab_map(vectors, restrict_vocab, case_insensitive)
    if n == 0:
        raise InputError("no vectors to evaluate (restrict_vocab=0 or empty Vectors)")
    sections = read_analogies(file)
    norm = _word_key(case_insensitive)
    rows: list[tuple[int, int, int, int]] = []
    words: list[tuple[str, str, str, str]] = []
    owner: list[int] = []
    total = 0
    for s, (_, questions) in enumerate(sections):
        for q in questions:
            total += 1
            a, b, c, e = (norm(w) for w in q)
            if a in ok and b in ok and c in ok and e in ok:
                rows.append((ok[a], ok[b], ok[c], ok[e]))
                words.append((a, b, c, e))
                owner.append(s)
    hits = _answer(vectors, np.asarray(rows, dtype=np.int64).reshape(-1, 4), words, n, method, norm, progress)
    correct_by = np.zeros(len(sections), dtype=np.int64)
    evaluated_by = np.zeros(len(sections), dtype=np.int64)
    np.add.at(evaluated_by, np.asarray(owner, dtype=np.int64), 1)
    np.add.at(correct_by, np.asarray(owner, dtype=np.int64), hits.astype(np.int64))
    by_name: dict[str, SectionScore] = {}
    for s, (name, _) in enumerate(sections):
        prev = by_name.get(name, SectionScore(0, 0))
        by_name[name] = SectionScore(prev.correct + int(correct_by[s]), prev.evaluated + int(evaluated_by[s]))
    sem = [v for k, v in by_name.items() if not k.startswith("gram")]
    syn = [v for k, v in by_name.items() if k.startswith("gram")]
    google = bool(syn) and bool(sem)
    correct, evaluated = int(hits.sum()), len(rows)
    return AnalogyResult(
        accuracy=correct / evaluated if evaluated else 0.0,
        correct=correct,
        total_questions=total,
        evaluated=evaluated,
        coverage=evaluated / total if total else 0.0,
        sections=by_name,
        semantic=SectionScore(sum(v.correct for v in sem), sum(v.evaluated for v in sem)) if google else None,
        syntactic=SectionScore(sum(v.correct for v in syn), sum(v.evaluated for v in syn)) if google else None,
        method=method,
        restrict_vocab=restrict_vocab,
    )


def _answer(vectors: Vectors, rows: np.ndarray, words: list[tuple[str, str, str, str]], n: int, method: str,
            norm: Callable[[str], str], progress: bool) -> np.ndarray:
    """For each question row (a, b, c, expected) whether the best non-question candidate is ``expected``."""
    unit = vectors.unit_matrix()[:n]
    keys = vectors.keys
    hits = np.zeros(len(rows), dtype=bool)
    top = min(_TOP, n)
    with progress_bar(len(rows), "analogies", "question", progress) as bar:
        for start in range(0, len(rows), _BATCH):
            r = rows[start : start + _BATCH]
            ua, ub, uc = unit[r[:, 0]], unit[r[:, 1]], unit[r[:, 2]]
            if method == "3cosadd":
                q = (ub + uc - ua) / np.float32(3.0)
                qn = np.sqrt(np.einsum("ij,ij->i", q, q))
                qn[qn == 0] = 1.0
                scores = (q / qn[:, None]) @ unit.T
            else:
                scores = (1.0 + ub @ unit.T) / 2.0
                scores *= (1.0 + uc @ unit.T) / 2.0
                scores /= (1.0 + ua @ unit.T) / 2.0 + np.float32(1e-6)
            local = np.arange(len(r))
            for j in range(3):  # question words never answer (gensim drops them by row)
                scores[local, r[:, j]] = -np.inf
            cand = top_k_rows(scores, top)
            for i, row in enumerate(cand.tolist()):
                a, b, c, e = words[start + i]
                predicted = None
                for j in row:
                    predicted = norm(keys[j])
                    if predicted not in (a, b, c):
                        break
                hits[start + i] = predicted == e
            bar.update(len(r))
    return hits


def top_k_rows(scores: np.ndarray, k: int, block: int = 128) -> np.ndarray:
    """Column indices of the ``k`` largest values of each row, best first, shape (rows, k).

    Faster than ``argpartition`` on wide rows: the k-th largest block maximum bounds the k-th largest value
    from below, so only the few values above it are sorted.
    """
    rows, n = scores.shape
    k = min(k, n)
    if n <= 4 * block or k * 4 > n // block:
        cand = np.argpartition(scores, n - k, axis=1)[:, n - k :] if k < n else np.tile(np.arange(n), (rows, 1))
        order = np.argsort(-np.take_along_axis(scores, cand, axis=1), axis=1, kind="stable")
        return np.take_along_axis(cand, order, axis=1)
    bmax = np.maximum.reduceat(scores, np.arange(0, n, block), axis=1)
    nb = bmax.shape[1]
    thr = np.partition(bmax, nb - k, axis=1)[:, nb - k]
    flat = np.flatnonzero(scores >= thr[:, None])  # much faster than 2-D nonzero
    r, c = np.divmod(flat, n)
    v = scores.reshape(-1)[flat]
    order = np.lexsort((c, -v, r))  # by row, then score descending, then column
    r, c = r[order], c[order]
    first = np.searchsorted(r, np.arange(rows))
    pick = first[:, None] + np.arange(k)[None, :]
    return c[pick]
