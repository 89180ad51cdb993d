"""gensim's return shapes for ``Vectors.evaluate_word_analogies`` / ``Vectors.evaluate_word_pairs``.

Code written against gensim's ``KeyedVectors`` unpacks these as it always did:

    >>> score, sections = vectors.evaluate_word_analogies("questions-words")
    >>> sections[-1]["section"], len(sections[-1]["correct"])      # ('Total accuracy', 7431)
    >>> pearson, spearman, oov_ratio = vectors.evaluate_word_pairs("wordsim353")   # oov_ratio in percent

The answers come from the same batched code as ``evaluate_analogies`` / ``evaluate_word_pairs`` (one matrix
product per batch of questions), so the numbers equal gensim's and the reports'; only the packaging differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from .analogy import _answer, _resolve, _word_key, read_analogies, vocab_map
from .similarity import pair_scores

if TYPE_CHECKING:
    from ..vectors import Vectors

__all__ = ["word_analogies", "word_pairs", "SIMILARITY_FUNCTIONS"]

SIMILARITY_FUNCTIONS = {"most_similar": "3cosadd", "most_similar_cosmul": "3cosmul"}


def word_analogies(vectors: Vectors, analogies: str | Path, restrict_vocab: int | None = 300000,
                   case_insensitive: bool = True, dummy4unknown: bool = False,
                   similarity_function: str = "most_similar", progress: bool = False) -> tuple[float, list[dict[str, Any]]]:
    """``(score, sections)`` exactly as gensim 4.4's ``KeyedVectors.evaluate_word_analogies`` returns them.

    One dict per ``: section`` header in file order, ``{"section": name, "correct": [(a, b, c, expected), ...],
    "incorrect": [...]}`` (words upper-cased with ``case_insensitive``), then ``"Total accuracy"``. Questions with
    a word outside the first ``restrict_vocab`` rows are skipped, or counted incorrect with ``dummy4unknown``.
    """
    if similarity_function not in SIMILARITY_FUNCTIONS:
        raise InputError(f"unknown similarity_function {similarity_function!r}; choose one of "
                         f"{', '.join(SIMILARITY_FUNCTIONS)}")
    method = SIMILARITY_FUNCTIONS[similarity_function]
    ok, n = vocab_map(vectors, restrict_vocab, case_insensitive)
    if n == 0:
        raise InputError("no vectors to evaluate (restrict_vocab=0 or empty Vectors)")
    norm = _word_key(case_insensitive)
    sections = read_analogies(_resolve(analogies, "questions-words"))
    rows: list[tuple[int, int, int, int]] = []
    words: list[tuple[str, str, str, str]] = []
    slots: list[tuple[int, int]] = []  # (section, position in it) of each evaluated question
    out: list[dict[str, Any]] = []
    marks: list[list[tuple[tuple[str, str, str, str], bool | None]]] = []
    for s, (name, questions) in enumerate(sections):
        out.append({"section": name, "correct": [], "incorrect": []})
        marks.append([])
        for q in questions:
            a, b, c, e = (norm(w) for w in q)
            if a in ok and b in ok and c in ok and e in ok:
                rows.append((ok[a], ok[b], ok[c], ok[e]))
                words.append((a, b, c, e))
                slots.append((s, len(marks[s])))
                marks[s].append(((a, b, c, e), None))
            elif dummy4unknown:
                marks[s].append(((a, b, c, e), False))
    hits = _answer(vectors, np.asarray(rows, dtype=np.int64).reshape(-1, 4), words, n, method, norm, progress)
    for (s, j), hit in zip(slots, hits.tolist(), strict=True):
        marks[s][j] = (marks[s][j][0], bool(hit))
    for section, marked in zip(out, marks, strict=True):
        for quad, hit in marked:
            section["correct" if hit else "incorrect"].append(quad)
    correct = [q for sec in out for q in sec["correct"]]
    incorrect = [q for sec in out for q in sec["incorrect"]]
    out.append({"section": "Total accuracy", "correct": correct, "incorrect": incorrect})
    answered = len(correct) + len(incorrect)
    return (len(correct) / answered if answered else 0.0), out


def word_pairs(vectors: Vectors, pairs: str | Path, delimiter: str = "\t", encoding: str = "utf8",
               restrict_vocab: int | None = 300000, case_insensitive: bool = True,
               dummy4unknown: bool = False) -> tuple[Any, Any, float]:
    """``(pearson, spearman, oov_ratio)`` as gensim 4.4's ``KeyedVectors.evaluate_word_pairs``: scipy's
    ``pearsonr`` and ``spearmanr`` results (index 0 the coefficient, 1 the p-value) and the percentage of pairs
    with an unknown word (of all valid pairs; with ``dummy4unknown`` those pairs count with similarity 0)."""
    from scipy import stats

    gold, model, oov, file = pair_scores(vectors, pairs, restrict_vocab=restrict_vocab,
                                         case_insensitive=case_insensitive, delimiter=delimiter, encoding=encoding,
                                         dummy4unknown=dummy4unknown)
    if not len(gold):
        raise InputError(f"no valid similarity judgement in {file}: the format is wrong or every pair has an "
                         "unknown word")
    spearman = stats.spearmanr(gold, model)
    pearson = stats.pearsonr(gold, model)
    oov_ratio = 100.0 * oov / (len(gold) if dummy4unknown else len(gold) + oov)
    return pearson, spearman, oov_ratio
