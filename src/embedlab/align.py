"""Aligning two vector spaces: orthogonal Procrustes from a seed dictionary, iterative refinement, CSLS retrieval.

    >>> from embedlab import align
    >>> a = align.Alignment(refine=1).fit(src, tgt, "shared")       # or [("chien", "dog"), ...] or a pairs file
    >>> a.translate(["king"], k=5)                                    # {'king': ['king', 'queen', ...]}
    >>> a.transform(src).save("aligned.txt")                          # src mapped into tgt's space
    >>> a.evaluate(test_pairs)                                        # P@1 / P@10, nearest neighbour and CSLS

Two word spaces trained apart (two seeds, two corpora, two languages) differ by roughly a rotation. Given pairs
(x_i, y_i) of a seed dictionary, ``procrustes`` finds the orthogonal W minimising ||X W - Y||_F: W = U V^T from
the SVD U S V^T of X^T Y (Schönemann 1966; used for word translation by Xing et al. 2015 and Smith et al. 2017).
An orthogonal map keeps distances and angles inside the source space. ``refine`` rounds rebuild the dictionary
from mutual CSLS nearest neighbours among the most frequent words, plus the seed pairs, and solve again
(Conneau et al. 2018, "Word Translation Without Parallel Data", section 3.3).

Retrieval by plain nearest neighbour suffers from hubness: a few target vectors are nearest to many queries.
CSLS (cross-domain similarity local scaling, Conneau et al. 2018) ranks by 2 cos(Wx, y) - r_T(Wx) - r_S(y),
where r_T(Wx) is the mean cosine of Wx to its ``csls_k`` nearest targets and r_S(y) the mean cosine of y to its
``csls_k`` nearest mapped sources, so hubs are penalised.

Vectors are preprocessed the same way for fitting and retrieval (``normalize``): ``"unit"`` (default) scales rows
to length 1, ``"center"`` also subtracts the space's mean and rescales (Artetxe et al. 2018), ``"none"`` keeps
them. With different dimensions the map is semi-orthogonal (orthonormal columns or rows, the same SVD solution).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from ._params import Params, check_bool, check_choice, check_float, check_int
from ._progress import stage_bars
from .errors import DimensionError, InputError
from .vectors import Vectors

__all__ = ["Alignment", "procrustes", "read_dictionary", "resolve_dictionary", "shared_words", "split_dictionary",
           "nearest", "precision_at_k", "NORMALIZE"]

NORMALIZE = ("unit", "center", "none")
#: ``report(stage, done, total)``: rows of one stage's blocked products done so far (stages: the hubness terms of
#: CSLS over the candidates and over the queries, then the ranking; each named after the step it serves)
Report = Callable[[str, int, int], None]
_BLOCK_FLOATS = 1 << 24  # similarity scores held at once (64 MB of float32), whatever the candidate count


def _rows_per_block(columns: int) -> int:
    return max(1, _BLOCK_FLOATS // max(columns, 1))


def procrustes(X: np.ndarray, Y: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """The orthogonal (n, ds) x (ds, dt) -> (n, dt) map W minimising ||X W - Y||_F (Schönemann 1966).

    ``X`` (n, ds) and ``Y`` (n, dt) hold the vectors of n dictionary pairs, row by row. Returns W as float32
    (ds, dt): orthogonal when ds == dt, with orthonormal columns (ds > dt) or rows (ds < dt) otherwise. Computed
    in float64 from the SVD of X^T Y. InputError when the row counts differ, and when X^T Y has rank below
    min(ds, dt) (singular values under ``tol`` times the largest): then the pairs do not determine the map (too
    few pairs, repeated or zero vectors), and any completion would be a guess. ``tol`` only catches numerically
    exact deficiency: two real spaces can be nearly uncorrelated along some axis (two Word2Vec models of 100
    dims trained on halves of a corpus: smallest singular value 1.6e-6 of the largest), which is no error.
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise InputError(f"procrustes needs X (n, ds) and Y (n, dt) with one row per pair, got {X.shape} and {Y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        raise InputError("the dictionary vectors contain NaN or infinity; clean the vectors first")
    M = X.T @ Y
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    rank = int((s > tol * s[0]).sum()) if s.size and s[0] > 0 else 0
    need = min(M.shape)
    if rank < need:
        raise InputError(f"the dictionary determines only {rank} of {need} dimensions of the map (singular values of "
                         f"X^T Y: {rank} above {tol:g} x the largest, from {X.shape[0]} pairs); give at least {need} "
                         "pairs of distinct, non-zero vectors that span the space")
    return (U @ Vt).astype(np.float32)


# --- dictionaries ---------------------------------------------------------------------------------------------
def read_dictionary(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """(source word, target word) pairs from a text file: two whitespace-separated words per line (MUSE's format);
    blank lines and lines starting with ``#`` are skipped; a word may have several lines (several translations).
    InputError naming the line for anything else, or for a file without pairs."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no dictionary file at {path}; pass a file of 'source target' lines or 'shared'")
    pairs = []
    with open(path, encoding="utf-8", errors="strict") as fh:
        try:
            for n, line in enumerate(fh, 1):
                parts = line.split()
                if not parts or parts[0].startswith("#"):
                    continue
                if len(parts) != 2:
                    raise InputError(f"{path}:{n}: expected two words (source target), got {line.strip()[:60]!r}")
                pairs.append((parts[0], parts[1]))
        except UnicodeDecodeError as exc:
            raise InputError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); convert it first") from None
    if not pairs:
        raise InputError(f"{path} holds no word pairs; write one 'source target' pair per line")
    return pairs


def shared_words(src: Vectors, tgt: Vectors) -> list[tuple[str, str]]:
    """(w, w) for every key of ``src`` that ``tgt`` also has, in ``src``'s order (most frequent first for trained
    vectors): the seed dictionary of two spaces over one language."""
    return [(w, w) for w in src.keys if w in tgt.key_to_index]


def split_dictionary(pairs: Sequence[tuple[str, str]], test: float | int = 0.2,
                     seed: int = 0) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, test) pairs with no source word in both: ``test`` is a fraction in (0, 1) or a count of source
    words, drawn at random with ``seed``. Order within each part follows ``pairs``."""
    check_int(seed, "seed", low=0)
    sources = list(dict.fromkeys(s for s, _ in pairs))
    if isinstance(test, float):
        n = int(round(check_float(test, "test", low=0, high=1, low_open=True, high_open=True) * len(sources)))
    else:
        n = check_int(test, "test", low=1, hint="a count of source words, or a fraction in (0, 1)")
    if not 0 < n < len(sources):
        raise InputError(f"cannot hold out {n} of {len(sources)} source words; leave some for training")
    held = set(np.asarray(sources, dtype=object)[np.random.default_rng(seed).permutation(len(sources))[:n]].tolist())
    return [p for p in pairs if p[0] not in held], [p for p in pairs if p[0] in held]


def resolve_dictionary(src: Vectors, tgt: Vectors, dictionary: str | os.PathLike[str] | Iterable[tuple[str, str]]
                       ) -> tuple[list[tuple[str, str]], int]:
    """(pairs whose two words both have vectors, how many pairs were given) for ``dictionary`` = ``"shared"``, a
    pairs file or pairs. InputError when no pair is usable, naming how many source and target words were found."""
    if isinstance(dictionary, str) and dictionary == "shared":
        pairs = shared_words(src, tgt)
        if not pairs:
            raise InputError(f"the two spaces share no word (0 found among {len(src):,} source and {len(tgt):,} target "
                             "keys); pass a dictionary of pairs instead of 'shared'")
        return pairs, len(pairs)
    if isinstance(dictionary, (str, os.PathLike)):
        dictionary = read_dictionary(dictionary)
    given = list(dictionary)
    for p in given:
        if not (isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(w, str) for w in p)):
            raise InputError(f"a dictionary is 'shared', a pairs file or (source, target) string pairs; got {p!r:.60}")
    pairs = [(s, t) for s, t in given if s in src.key_to_index and t in tgt.key_to_index]
    if not pairs:
        n_src = sum(s in src.key_to_index for s, _ in given)
        n_tgt = sum(t in tgt.key_to_index for _, t in given)
        raise InputError(f"no dictionary pair has both words in the two spaces: 0 of {len(given):,} pairs found "
                         f"({n_src:,} source words are in SRC, {n_tgt:,} target words in TGT); check the direction "
                         "(source first), the case of the words, or the files")
    return pairs, len(given)


# --- preprocessing and retrieval ------------------------------------------------------------------------------
def _unit(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return (m / n).astype(np.float32, copy=False)


def _prepare(m: np.ndarray, normalize: str, mean: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows as the map sees them, and the mean used by "center" (computed here when ``mean`` is None)."""
    m = np.asarray(m, dtype=np.float32)
    if normalize == "none":
        return m, None
    m = _unit(m)
    if normalize == "unit":
        return m, None
    mean = m.mean(axis=0) if mean is None else mean
    return _unit(m - mean), mean


def _topk_mean(a: np.ndarray, b: np.ndarray, k: int, report: Report | None = None, stage: str = "") -> np.ndarray:
    """For each row of ``a``: the mean of its ``k`` largest dot products with the rows of ``b`` (blocked)."""
    k = min(k, b.shape[0])
    out = np.empty(a.shape[0], np.float32)
    step = _rows_per_block(b.shape[0])
    for s in range(0, a.shape[0], step):
        sims = a[s:s + step] @ b.T
        out[s:s + step] = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:].mean(axis=1)
        if report:
            report(stage, min(s + step, a.shape[0]), a.shape[0])
    return out


def nearest(queries: np.ndarray, candidates: np.ndarray, k: int = 10, method: str = "csls", csls_k: int = 10,
            sources: np.ndarray | None = None, report: Report | None = None, stage: str = "nearest") -> np.ndarray:
    """Indices (q, k) of the best ``candidates`` rows for each query row, best first.

    Rows should be unit length (scores are dot products, i.e. cosines). ``method="nn"`` ranks by cosine;
    ``"csls"`` by 2 cos(x, y) - r_T(x) - r_S(y) (Conneau et al. 2018), where r_S(y) averages y's ``csls_k`` best
    cosines to ``sources`` (all mapped source rows; default: the queries themselves). ``report(stage, done,
    total)`` hears of every block of rows: ``"<stage>: CSLS hubness of candidates"`` (r_S, over the candidate
    rows: the long one when ``sources`` is a whole vocabulary), ``"<stage>: CSLS hubness of queries"`` (r_T)
    and ``"<stage>: ranking"`` (over the query rows).
    """
    check_choice(method, "method", ("nn", "csls"), "retrieval method")
    k = check_int(k, "k", low=1)
    csls_k = check_int(csls_k, "csls_k", low=1, hint="neighbours averaged for the hubness penalty; 10 in the paper")
    q, c = np.asarray(queries, np.float32), np.asarray(candidates, np.float32)
    if q.shape[1] != c.shape[1]:
        raise DimensionError(f"queries have dimension {q.shape[1]} but candidates {c.shape[1]}")
    k = min(k, c.shape[0])
    if method == "csls":
        r_src = _topk_mean(c, q if sources is None else np.asarray(sources, np.float32), csls_k, report,
                           f"{stage}: CSLS hubness of candidates")
        r_tgt = _topk_mean(q, c, csls_k, report, f"{stage}: CSLS hubness of queries")
    out = np.empty((q.shape[0], k), np.int64)
    step = _rows_per_block(c.shape[0])
    for s in range(0, q.shape[0], step):
        sims = q[s:s + step] @ c.T
        if method == "csls":
            sims = 2 * sims - r_tgt[s:s + step, None] - r_src[None, :]
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
        out[s:s + step] = np.take_along_axis(top, order, axis=1)
        if report:
            report(f"{stage}: ranking", min(s + step, q.shape[0]), q.shape[0])
    return out


def precision_at_k(mapped: Vectors, target: Vectors, pairs: Iterable[tuple[str, str]], ks: Sequence[int] = (1, 10),
                   method: str = "csls", csls_k: int = 10, restrict: int | None = None, report: Report | None = None,
                   stage: str = "evaluate") -> dict[str, float | int | str]:
    """P@k of word translation: the share of source words (of ``pairs`` with both words present) whose top-k
    target words, among the first ``restrict`` rows of ``target``, hold one of their gold translations.

    ``mapped`` and ``target`` are in one space (``Alignment.transform`` / ``Alignment.target``). Returns
    ``{"p@1": ..., "p@10": ..., "queries": n, "method": method}``. InputError when no pair is usable.
    ``report`` and ``stage``: as for ``nearest``.
    """
    ks = [check_int(k, "k", low=1) for k in ks]
    n = len(target) if restrict is None else min(check_int(restrict, "restrict", low=1), len(target))
    gold: dict[str, set[int]] = {}
    for s, t in pairs:
        j = target.key_to_index.get(t)
        if s in mapped.key_to_index and j is not None and j < n:
            gold.setdefault(s, set()).add(j)
    if not gold:
        raise InputError("no test pair has its source word in the mapped vectors and its target word among the "
                         "candidates; check the pairs and restrict")
    words = list(gold)
    tmat = _unit(np.asarray(target.matrix[:n], np.float32))
    smat = _unit(np.asarray(mapped.matrix[: (n if restrict is not None else len(mapped))], np.float32))
    q = _unit(np.asarray(mapped.matrix[[mapped.key_to_index[w] for w in words]], np.float32))
    top = nearest(q, tmat, max(ks), method, csls_k, sources=smat, report=report, stage=stage)
    hits = np.array([[bool(gold[w].intersection(row[:k].tolist())) for k in ks] for w, row in zip(words, top, strict=True)])
    return {**{f"p@{k}": float(hits[:, i].mean()) for i, k in enumerate(ks)}, "queries": len(words), "method": method}


# --- the alignment ----------------------------------------------------------------------------------------------
class Alignment(Params):
    """An orthogonal map from a source space onto a target space (scikit-style: ``fit`` learns ``W_``).

    ``refine`` rounds of dictionary induction (mutual CSLS neighbours among the ``refine_vocab`` most frequent
    words of each side, added to the seed pairs). Learned: ``W_`` (ds, dt) float32, ``pairs_`` (the seed pairs
    found in both spaces), ``pairs_given_``, ``refined_pairs_`` (pairs of the last round), ``src_mean_`` /
    ``tgt_mean_`` (for ``normalize="center"``). ``progress`` shows a bar (rows/s, time left) for each stage of
    the refinement rounds and of ``evaluate`` / ``translate`` on a terminal's stderr.
    """

    def __init__(self, normalize: str = "unit", refine: int = 0, refine_vocab: int = 20000, csls_k: int = 10,
                 progress: bool = True) -> None:
        self.normalize, self.refine, self.refine_vocab, self.csls_k = normalize, refine, refine_vocab, csls_k
        self.progress = progress

    def check_params(self) -> None:
        """Refuse unusable parameters before any vector is read.

        Raises
        ------
        InputError
            Naming the first unusable parameter, its allowed range and the value given.
        """
        check_choice(self.normalize, "normalize", NORMALIZE)
        check_int(self.refine, "refine", low=0, hint="rounds of dictionary refinement; 0 for plain Procrustes")
        check_int(self.refine_vocab, "refine_vocab", low=2, hint="most frequent words searched when refining")
        check_int(self.csls_k, "csls_k", low=1, hint="neighbours averaged for the hubness penalty; 10 in the paper")
        check_bool(self.progress, "progress")

    def fit(self, src: Vectors, tgt: Vectors, dictionary: str | os.PathLike[str] | Iterable[tuple[str, str]] = "shared"
            ) -> Alignment:
        """Learn the map from ``src`` onto ``tgt``; ``dictionary`` is ``"shared"`` (identical words), a pairs file
        or (source, target) pairs. Returns self. InputError when no pair has both words (naming how many of each
        side were found) or the pairs do not determine the map."""
        self.check_params()
        if not isinstance(src, Vectors) or not isinstance(tgt, Vectors):
            raise InputError("fit takes two embedlab.Vectors (source, target); load files with embedlab.load_vectors")
        pairs, self.pairs_given_ = resolve_dictionary(src, tgt, dictionary)
        self.pairs_ = pairs
        self.src_dim_, self.tgt_dim_ = src.dim, tgt.dim
        S, self.src_mean_ = _prepare(src.matrix, self.normalize)
        T, self.tgt_mean_ = _prepare(tgt.matrix, self.normalize)
        si = np.fromiter((src.key_to_index[s] for s, _ in pairs), np.int64, len(pairs))
        ti = np.fromiter((tgt.key_to_index[t] for _, t in pairs), np.int64, len(pairs))
        self.W_ = procrustes(S[si], T[ti])
        self.refined_pairs_ = len(pairs)
        rounds = int(self.refine)
        with stage_bars("row", bool(self.progress)) as report:
            for r in range(rounds):
                self._refine_round(S, T, si, ti, report, f"refine {r + 1}/{rounds}")
        return self

    def _refine_round(self, S: np.ndarray, T: np.ndarray, si: np.ndarray, ti: np.ndarray, report: Report,
                      stage: str) -> None:
        """One round: mutual CSLS neighbours among the most frequent words, plus the seed pairs; solve again."""
        ns, nt = min(len(S), self.refine_vocab), min(len(T), self.refine_vocab)
        ms, tt = _unit(S[:ns] @ self.W_), _unit(T[:nt])
        fwd = nearest(ms, tt, 1, "csls", self.csls_k, report=report, stage=f"{stage}, source -> target")[:, 0]
        back = nearest(tt, ms, 1, "csls", self.csls_k, report=report, stage=f"{stage}, target -> source")[:, 0]
        mutual = np.flatnonzero(back[fwd] == np.arange(ns))
        new = {(int(a), int(b)) for a, b in zip(si, ti, strict=True)} | {(int(a), int(fwd[a])) for a in mutual}
        ia, ib = (np.array(x, np.int64) for x in zip(*sorted(new), strict=True))
        self.W_ = procrustes(S[ia], T[ib])
        self.refined_pairs_ = len(new)

    def _require_fit(self) -> None:
        if not hasattr(self, "W_"):
            raise InputError("the alignment is not fitted yet; call fit(src, tgt, dictionary) first")

    def transform(self, vectors: Vectors) -> Vectors:
        """Vectors of the source space (the one fitted or any with its dimension) mapped into the target space
        (preprocessed as fitted, then times ``W_``). DimensionError for another dimension."""
        self._require_fit()
        if vectors.dim != self.src_dim_:
            raise DimensionError(f"the map takes {self.src_dim_}-d source vectors, got {vectors.dim}-d")
        m, _ = _prepare(vectors.matrix, self.normalize, self.src_mean_)
        return Vectors(vectors.keys, m @ self.W_)

    def target(self, vectors: Vectors) -> Vectors:
        """Target vectors preprocessed as fitted: what ``transform``'s output is compared with (for ``"unit"``
        and ``"none"`` the cosines are those of the vectors themselves)."""
        self._require_fit()
        if vectors.dim != self.tgt_dim_:
            raise DimensionError(f"the target space is {self.tgt_dim_}-d, got {vectors.dim}-d")
        m, _ = _prepare(vectors.matrix, self.normalize, self.tgt_mean_)
        return Vectors(vectors.keys, m)

    def evaluate(self, src: Vectors, tgt: Vectors, pairs: Iterable[tuple[str, str]], ks: Sequence[int] = (1, 10),
                 restrict: int | None = None, before: bool = False) -> dict[str, dict[str, float | int | str]]:
        """P@k of translating ``pairs`` (held-out!) by nearest neighbour and by CSLS: ``{"nn": {...}, "csls": {...}}``;
        ``before=True`` adds ``"before_nn"`` / ``"before_csls"``: the same with no map (equal dimensions only)."""
        pairs = list(pairs)
        spaces = {"": (self.transform(src), self.target(tgt))}
        if before and src.dim == tgt.dim:
            spaces["before_"] = (Vectors(src.keys, _prepare(src.matrix, self.normalize, self.src_mean_)[0]), spaces[""][1])
        with stage_bars("row", bool(self.progress)) as report:
            return {f"{tag}{m}": precision_at_k(mapped, target, pairs, ks, m, int(self.csls_k), restrict, report,
                                                f"evaluate {tag}{m}")
                    for tag, (mapped, target) in spaces.items() for m in ("nn", "csls")}

    def translate(self, src: Vectors, tgt: Vectors, words: Iterable[str], k: int = 5, method: str = "csls",
                  restrict: int | None = None) -> dict[str, list[str]]:
        """The ``k`` best target words for each source word (UnknownKeyError for a word ``src`` lacks)."""
        words = list(words)
        n = len(tgt) if restrict is None else min(check_int(restrict, "restrict", low=1), len(tgt))
        mapped, target = self.transform(src), self.target(tgt)
        q = _unit(mapped.matrix[[mapped.index(w) for w in words]])
        with stage_bars("row", bool(self.progress)) as report:
            top = nearest(q, _unit(target.matrix[:n]), k, method, int(self.csls_k), sources=_unit(mapped.matrix[:n]),
                          report=report, stage="translate")
        return {w: [tgt.keys[j] for j in row] for w, row in zip(words, top.tolist(), strict=True)}

    def __repr__(self) -> str:
        state = f", W={self.W_.shape}, pairs={len(self.pairs_)}" if hasattr(self, "W_") else ""
        return f"Alignment(normalize={self.normalize!r}, refine={self.refine}{state})"
