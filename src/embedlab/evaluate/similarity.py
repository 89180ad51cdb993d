"""Word-pair similarity benchmarks (WordSim-353, SimLex-999): Spearman/Pearson correlation between the
cosine of each pair and the human score, following gensim's ``evaluate_word_pairs`` protocol (pairs with a
word outside the first ``restrict_vocab`` rows are skipped and counted).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from .analogy import _resolve, _word_key, vocab_map

if TYPE_CHECKING:
    from ..vectors import Vectors

__all__ = ["PairResult", "evaluate_word_pairs", "pair_scores", "read_word_pairs"]


@dataclass
class PairResult:
    """Rank (Spearman) and linear (Pearson) correlation with human judgements.

    ``pairs`` valid lines in the file, ``evaluated`` pairs with both words known, ``oov_ratio`` the fraction
    skipped (0..1; gensim reports the same number in percent).
    """

    spearman: float
    pearson: float
    pairs: int
    evaluated: int
    oov_ratio: float
    spearman_pvalue: float = float("nan")
    pearson_pvalue: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (f"spearman {self.spearman:.4f}, pearson {self.pearson:.4f} on {self.evaluated}/{self.pairs} pairs "
                f"({100 * self.oov_ratio:.1f}% out of vocabulary)")


def read_word_pairs(path: str | Path, delimiter: str = "\t", encoding: str = "utf-8") -> list[tuple[str, str, float]]:
    """``(word1, word2, score)`` triples; ``#`` comment lines and malformed lines are skipped (as gensim does)."""
    out = []
    with open(path, encoding=encoding) as f:
        for line in f:
            if not line or line.startswith("#"):
                continue
            parts = line.split(delimiter)
            if len(parts) != 3:
                continue
            try:
                out.append((parts[0], parts[1], float(parts[2])))
            except ValueError:
                continue
    return out


def pair_scores(
    vectors: Vectors,
    path: str | Path | None = None,
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    delimiter: str = "\t",
    encoding: str = "utf-8",
    dummy4unknown: bool = False,
) -> tuple[np.ndarray, np.ndarray, int, Path]:
    """``(human scores, model cosines, pairs with an unknown word, file)`` of a word-pair file, gensim's
    protocol: pairs with a word outside the first ``restrict_vocab`` rows are left out, or scored 0 with
    ``dummy4unknown``."""
    file = _resolve(path, "wordsim353")
    ok, _ = vocab_map(vectors, restrict_vocab, case_insensitive)
    triples = read_word_pairs(file, delimiter, encoding)
    norm = _word_key(case_insensitive)
    ia: list[int] = []
    ib: list[int] = []
    gold: list[float] = []
    known: list[bool] = []
    oov = 0
    for a, b, score in triples:
        a, b = norm(a), norm(b)
        if a in ok and b in ok:
            ia.append(ok[a])
            ib.append(ok[b])
            known.append(True)
        elif dummy4unknown:
            ia.append(0)
            ib.append(0)
            known.append(False)
            oov += 1
        else:
            oov += 1
            continue
        gold.append(score)
    unit = vectors.unit_matrix()
    model = np.einsum("ij,ij->i", unit[ia], unit[ib]) if ia else np.zeros(0, np.float32)
    model[~np.asarray(known, dtype=bool)] = 0.0
    return np.asarray(gold, dtype=np.float64), model, oov, file


def evaluate_word_pairs(
    vectors: Vectors,
    path: str | Path | None = None,
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    delimiter: str = "\t",
) -> PairResult:
    """Correlate cosine similarities with human scores; ``path`` is a file or ``wordsim353``/``simlex999``."""
    from scipy import stats

    gold, model, oov, file = pair_scores(vectors, path, restrict_vocab, case_insensitive, delimiter)
    if not len(gold):
        raise InputError(f"no pair of {file} has both words in the vocabulary; check the file and restrict_vocab")
    sp = stats.spearmanr(gold, model)
    pe = stats.pearsonr(gold, model)
    pairs = len(gold) + oov
    return PairResult(
        spearman=float(sp.statistic), pearson=float(pe.statistic), pairs=pairs, evaluated=len(gold),
        oov_ratio=oov / pairs, spearman_pvalue=float(sp.pvalue), pearson_pvalue=float(pe.pvalue),
    )
