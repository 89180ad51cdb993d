"""Inverted-file search for data beyond RAM: FAISS IVF-Flat, IVF-SQ (float16 / int8) or IVF-PQ.

The inverted file and product quantisation follow Jégou, Douze & Schmid (2011); FAISS implements them, and here
the inverted lists live on disk.

Rows are assigned to the nearest of ``nlist`` centroids (k-means, trained on a seeded sample of
``train_size`` rows); a query scans the lists of its ``nprobe`` nearest centroids. ``m > 0`` stores product-
quantised codes (``m`` sub-vectors of ``nbits`` bits: m bytes a row at nbits=8) that are re-ranked with the
float32 vectors (``rescore``); ``precision`` float16 / int8 stores scalar codes the same way.

Where the lists live: rows added go to an in-RAM part; ``save`` writes every part to the index folder and
``load`` (``mmap=True``, the default) maps the saved parts read-only, so a search reads only the lists it
probes from disk (the page cache), never the whole index. With ``spill_dir`` set, an in-RAM part that grows
past ``SEAL_BYTES`` is written there and mapped the same way while the index is still being built, so building
from a collection larger than memory keeps resident memory bounded. Saved and spilled parts are immutable;
``save`` hard-links them into the new folder (a copy across file systems).

An IVF index needs at least ``nlist`` training rows (39 × nlist is FAISS's recommended minimum). Rows added
before it is trained are kept as float32 and searched exactly; it trains itself on them once there are
``train_min()`` (or call ``train`` with a sample).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Self

import numpy as np

from ..errors import CorruptFileError, InputError
from . import codec
from .base import SearchParams
from .coded import CodedIndex
from .faiss_codes import FaissCodes
from .kernels import faiss, faiss_search, merge_topk
from .quantize import Calibration, set_sq_calibration, sq_type

SEAL_BYTES = 256 << 20  # an in-RAM part with more codes than this is spilled to disk (when spill_dir is set)
DEFAULT_NPROBE = 16  # lists scanned per query unless given (at most nlist)
RECOMMENDED_PER_LIST = 39  # FAISS warns below 39 training rows per centroid
MAX_PER_LIST = 256  # and samples down to 256 per centroid itself; train_size defaults to this
MAX_FILTER_WIDEN = 8.0
COMPACT_FRACTION = 0.5  # dead/total rows above which the lists are rebuilt


class IVFCodes(FaissCodes):
    """Inverted lists (FAISS IVF-Flat / IVF-SQ / IVF-PQ) in parts. See ``IVFIndex``.

    ``index`` is the in-RAM part new rows go to, ``sealed`` the read-only parts mapped from files (a saved
    folder's, or spilled while building), each with its file; ``template`` the trained, empty index (serialised)
    every new part starts from. FAISS's ids in every part are our positions.

    Parameters
    ----------
    dim : int
        Dimension of the float32 rows (>= 1).
    metric : str
        ``cosine``, ``dot`` or ``l2``.
    precision : str
        ``float32`` (IVF-Flat, or IVF-PQ with ``m``), ``float16`` or ``int8`` (IVF-SQ); not ``binary``.
    nlist : int
        Centroids (lists), >= 1.
    nprobe : int or None
        Default lists scanned per query, 1 to ``nlist`` (None: min(16, nlist)).
    m : int
        PQ sub-quantizers, >= 0 (0: no PQ); must divide ``dim``.
    nbits : int
        Bits per PQ sub-quantizer code, 1 to 16.
    train_size : int or None
        Rows sampled to train on, >= 1 (None: 256 × ``min_train()``).
    seed : int
        Seeds k-means, the PQ codebooks and the training sample.
    spill_dir : str or Path or None
        Where in-RAM parts of more than ``SEAL_BYTES`` are spilled while building (None: they stay in memory).

    Raises
    ------
    InputError
        A setting out of range or not an integer, nprobe above nlist, binary precision, PQ with scalar codes,
        ``m`` not dividing ``dim``, or a bad dimension or metric.
    """

    data_file = "ivf-template.faiss"
    settings = {"nprobe": "nprobe"}
    compact_fraction = COMPACT_FRACTION  # later than the others: a collection compacts (and rebuilds this) at 0.3

    def __init__(self, dim: int, metric: str, precision: str, nlist: int, nprobe: int | None, m: int, nbits: int,
                 train_size: int | None, seed: int, spill_dir: str | Path | None) -> None:
        if nprobe is None:
            nprobe = min(DEFAULT_NPROBE, nlist) if isinstance(nlist, (int, np.integer)) else DEFAULT_NPROBE
        for name, v, low in (("nlist", nlist, 1), ("nprobe", nprobe, 1), ("m", m, 0), ("nbits", nbits, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < low:
                raise InputError(f"{name} must be an integer >= {low}, got {v!r}")
        if int(nprobe) > int(nlist):
            why = "a query scans at most every list"
            raise InputError(f"nprobe={nprobe} exceeds nlist={nlist}: {why} (nprobe = nlist is an exact scan of the "
                             "lists)", cli=f"--nprobe {nprobe} exceeds --nlist {nlist}: {why} (--nprobe {nlist} is an "
                                           "exact scan of the lists)")
        super().__init__(dim, metric, precision)
        self.m = int(m)
        if self.precision == "binary":
            raise InputError("an IVF index holds float32, float16, int8 or PQ codes, not binary; use "
                             "index='exact' or 'hnsw' with precision='binary'")
        if self.m and self.precision != "float32":
            raise InputError(f"m={m} stores product-quantised codes, which are their own compression; leave "
                             f"precision at float32 (got {self.precision!r}) or set m=0")
        if self.m and self.dim % self.m:
            divisors = [d for d in range(1, min(self.dim, 128) + 1) if self.dim % d == 0]
            raise InputError(f"m={m} must divide the dimension {self.dim} (PQ splits each vector into m equal "
                             f"sub-vectors); choose one of {divisors}")
        if int(nbits) > 16:
            raise InputError(f"nbits must be at most 16, got {nbits}")
        if train_size is not None and (isinstance(train_size, bool) or int(train_size) < 1):
            raise InputError(f"train_size must be a positive integer, got {train_size!r}")
        self.params.update(nlist=int(nlist), nprobe=int(nprobe), m=self.m, nbits=int(nbits),
                           train_size=None if train_size is None else int(train_size), seed=int(seed))
        if self.m:
            self.rescore_precision = "int8"  # PQ codes are rescored like int8 (4 × k by default)
        self.spill_dir = Path(spill_dir) if spill_dir is not None else None
        self._params_cache: dict[int, Any] = {}  # one FAISS parameter object per nprobe
        self.template: bytes | None = None
        self.sealed: list[tuple[Any, Path]] = []

    # ------------------------------------------------------------------ the FAISS parts
    def new_index(self) -> Any:
        """A new, empty part: a copy of the trained template, or an untrained FAISS IVF index before training.

        Returns
        -------
        faiss.IndexIVFFlat or faiss.IndexIVFScalarQuantizer or faiss.IndexIVFPQ
            Over a flat coarse quantizer (L2 for l2, inner product otherwise), with ``nlist`` lists, the saved
            ``nprobe`` and seeded k-means.
        """
        if self.template is not None:
            return faiss.deserialize_index(self.template)
        fm = faiss.METRIC_L2 if self.metric == "l2" else faiss.METRIC_INNER_PRODUCT
        quantizer = faiss.IndexFlatL2(self.dim) if self.metric == "l2" else faiss.IndexFlatIP(self.dim)
        nlist = self.params["nlist"]
        if self.m:
            index = faiss.IndexIVFPQ(quantizer, self.dim, nlist, self.m, self.params["nbits"], fm)
            index.pq.cp.seed = self.params["seed"]
        elif self.precision == "float32":
            index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, fm)
        else:
            index = faiss.IndexIVFScalarQuantizer(quantizer, self.dim, nlist, sq_type(self.precision), fm, False)
        index.cp.seed = self.params["seed"]
        index.own_fields = True
        quantizer.this.disown()
        index.nprobe = self.params["nprobe"]
        return index

    def reset(self, keep_training: bool = False) -> None:
        """Drop every part (mapped ones are unmapped) and start an empty in-RAM part.

        Parameters
        ----------
        keep_training : bool
            Keep the trained template (centroids, int8 ranges, PQ codebooks); False forgets it.
        """
        if not keep_training:
            self.template = None
        self.sealed = []
        super().reset(keep_training)

    @property
    def ntotal(self) -> int:
        """Positions held in every part, live and dead.

        Returns
        -------
        int
            The in-RAM part's ``ntotal`` plus the sealed parts'.
        """
        return int(self.index.ntotal) + sum(int(p.ntotal) for p, _ in self.sealed)

    def add(self, codes: np.ndarray, start: int) -> None:
        """Add rows to the in-RAM part with their positions as FAISS ids; spill the part if it grew too big.

        Parameters
        ----------
        codes : np.ndarray
            ``(n, dim)`` float32 prepared rows (FAISS assigns and codes them).
        start : int
            Their first position.
        """
        self.index.add_with_ids(codes, np.arange(start, start + len(codes), dtype=np.int64))
        if self.spill_dir is not None and self.index.ntotal * self.index.code_size > SEAL_BYTES:
            self._seal()

    def _seal(self) -> None:
        """Write the in-RAM part to the spill folder, map it back read-only and start an empty in-RAM part."""
        assert self.spill_dir is not None
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"part-{uuid.uuid4().hex}.faiss"
        faiss.write_index(self.index, str(path))
        part = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
        part.nprobe = self.params["nprobe"]
        self.sealed.append((_no_prefetch(part), path))
        self.index = self.new_index()

    def code_bytes(self) -> int:
        """Bytes of one row's code in the lists.

        Returns
        -------
        int
            ``m × ceil(nbits / 8)`` for PQ codes, else the precision's (4, 2 or 1 a dimension).
        """
        return self.m * ((self.params["nbits"] + 7) // 8) if self.m else super().code_bytes()

    def memory_bytes(self) -> int:
        """The in-RAM part's codes and the centroids (mapped parts are read from disk as probed, not counted).

        Returns
        -------
        int
            ``ntotal × code_size`` of the in-RAM part + ``nlist × dim × 4``.
        """
        return int(self.index.ntotal * self.index.code_size + self.params["nlist"] * self.dim * 4)

    def drop(self, dead: np.ndarray) -> bool:
        """Merge every part into memory, remove the dead entries and renumber the positions.

        This needs the whole index in RAM once; the lists are copied (``copy_subset_to``), never moved, so mapped
        parts are left as they are.

        Parameters
        ----------
        dead : np.ndarray
            ``(ntotal,)`` bool, the positions to remove.

        Returns
        -------
        bool
            True: IVF can always drop entries from its lists.
        """
        live = np.flatnonzero(~dead)
        renumber = np.full(len(dead), -1, np.int64)
        renumber[live] = np.arange(len(live))
        merged = self.new_index()
        for part in [p for p, _ in self.sealed] + [self.index]:
            if part.ntotal:  # copied, never merge_from: that empties its source, and mapped parts are read-only
                part.copy_subset_to(merged, faiss.InvertedLists.SUBSET_TYPE_ID_RANGE, 0, len(dead))
        merged.remove_ids(faiss.IDSelectorBatch(np.flatnonzero(dead).astype(np.int64)))
        invlists = faiss.downcast_InvertedLists(merged.invlists)
        for lst in range(merged.nlist):
            size = invlists.list_size(lst)
            if size:
                view = faiss.rev_swig_ptr(invlists.get_ids(lst), size)
                view[:] = renumber[view]
        self.sealed = []
        self.index = merged
        return True

    # ------------------------------------------------------------------ training
    @property
    def needs_training(self) -> bool:
        """Whether codes can only be added after training: always, for the centroids.

        Returns
        -------
        bool
            True.
        """
        return True

    @property
    def trained(self) -> bool:
        """Whether the template is trained (centroids, and int8 ranges or PQ codebooks where used).

        Returns
        -------
        bool
            True once trained (by ``train``, or as read from a saved folder).
        """
        return self.template is not None

    @property
    def retrains_on_rebuild(self) -> bool:
        """Whether a rebuild trains again: never, the centroids (and int8 ranges) are kept.

        Returns
        -------
        bool
            False.
        """
        return False  # a rebuild keeps the centroids (and int8 ranges): only the lists change

    def min_train(self) -> int:
        """The fewest training rows possible: one per centroid (and 2^nbits for the PQ codebooks).

        Returns
        -------
        int
            ``nlist``, or ``max(nlist, 2^nbits)`` with PQ.
        """
        need = int(self.params["nlist"])
        if self.m:
            need = max(need, 1 << self.params["nbits"])
        return need

    def train_min(self) -> int:
        """Rows an untrained index waits for before it trains itself: FAISS's recommended 39 per centroid.

        Returns
        -------
        int
            ``39 × min_train()``.
        """
        return RECOMMENDED_PER_LIST * self.min_train()

    def sample(self, x: np.ndarray) -> np.ndarray:
        """The rows to train on: a seeded sample of ``train_size`` rows (default 256 × ``min_train()``).

        Parameters
        ----------
        x : np.ndarray
            ``(n, dim)`` float32 prepared rows.

        Returns
        -------
        np.ndarray
            ``x`` itself when it is no larger, else the sampled rows in their original order.
        """
        size = self.params["train_size"] or MAX_PER_LIST * self.min_train()
        if len(x) <= size:
            return x
        rng = np.random.default_rng(self.params["seed"])
        return x[np.sort(rng.choice(len(x), size, replace=False))]

    def train(self, x: np.ndarray) -> None:
        """Train the template on a sample of ``x``: k-means centroids, then int8 ranges or PQ codebooks.

        FAISS's ``IndexIVF.train`` runs k-means (``nlist`` centroids) on the coarse quantizer and, for PQ, k-means
        of 2^nbits centroids per sub-vector (Jégou et al. 2011); int8 ranges are calibrated from the sample
        first (``Calibration.fit``) and replace FAISS's own.

        Parameters
        ----------
        x : np.ndarray
            ``(n, dim)`` float32 prepared rows.

        Raises
        ------
        InputError
            Fewer rows than ``min_train()``, or (int8) rows that cannot calibrate (all identical).
        """
        need = self.min_train()
        if len(x) < need:
            pq = f" and 2^nbits = {1 << self.params['nbits']} for the PQ codebooks" if self.m else ""
            raise InputError(f"an IVF index with nlist={self.params['nlist']} needs at least {need} training vectors "
                             f"(one per list{pq}; {RECOMMENDED_PER_LIST * need} or more recommended), got {len(x)}; "
                             f"train on more vectors or lower nlist (about 4·sqrt(n) suits n rows)")
        x = self.sample(np.ascontiguousarray(x, dtype=np.float32))
        index = self.new_index() if self.template is None else self.index
        if self.precision == "int8":
            self.calibration = Calibration.fit(x, self.dim)
            set_sq_calibration(index, self.calibration)
            index.is_trained = False  # the coarse quantizer still needs its centroids
        index.train(x)
        if self.precision == "int8":
            assert self.calibration is not None
            set_sq_calibration(index, self.calibration)  # FAISS trained its own ranges too: ours win
            index.is_trained = True
        self.template = faiss.serialize_index(index)
        self.index = faiss.deserialize_index(self.template)
        self.index.nprobe = self.params["nprobe"]

    def install_calibration(self) -> None:
        """Nothing to do: the int8 ranges are part of the trained template."""
        pass  # the calibration is part of the trained template

    # ------------------------------------------------------------------ search
    def check_setting(self, field: str, name: str, value: Any) -> int:
        """A per-call ``nprobe`` as IVF uses it.

        Parameters
        ----------
        field : str
            ``nprobe``.
        name : str
            What the caller gave it as (for the error message).
        value : int
            The value given (not yet checked).

        Returns
        -------
        int
            ``int(value)``, 1 to ``nlist``.

        Raises
        ------
        InputError
            A bool, a value below 1 or above ``nlist``.
        """
        if isinstance(value, bool) or int(value) < 1:
            raise InputError(f"{name} must be >= 1, got {value}")
        if int(value) > self.params["nlist"]:
            raise InputError(f"{name}={value} exceeds nlist={self.params['nlist']}: a query scans at most every "
                             "list")
        return int(value)

    def filter_widen(self, n: int, m: int) -> float:
        """The probe widening for a filter keeping ``m`` of ``n`` rows: sqrt(n / m), at most ``MAX_FILTER_WIDEN``.

        Parameters
        ----------
        n : int
            Live rows.
        m : int
            Rows the filter keeps.

        Returns
        -------
        float
            The factor on ``nprobe``, 1 to 8.
        """
        return min(MAX_FILTER_WIDEN, float(np.sqrt(n / max(m, 1))))

    def exact_limit(self, n: int, k: int, widen: float, settings: SearchParams) -> int:
        """Kept rows up to which a filter is answered exactly: the rows a widened probe would scan.

        Parameters
        ----------
        n : int
            Live rows.
        k : int
            Candidates the search would fetch (unused: the scan's cost does not depend on it).
        widen : float
            ``filter_widen``'s factor.
        settings : SearchParams
            This call's settings (``nprobe``; None: the saved one).

        Returns
        -------
        int
            ``max(2000, n · nprobe · widen / nlist)``.
        """
        nprobe = self.params["nprobe"] if settings.nprobe is None else settings.nprobe
        # an unfiltered search scans about n * nprobe / nlist rows: exact over fewer kept rows is cheaper
        return max(2000, int(n * nprobe * widen / self.params["nlist"]))

    def search(self, q: np.ndarray, k: int, sel: Any, widen: float, settings: SearchParams
               ) -> tuple[np.ndarray, np.ndarray]:
        """The k best positions per query: the lists of the ``nprobe`` nearest centroids, scanned (FAISS).

        Each part is searched (FAISS ``IndexIVF.search``; PQ codes by asymmetric distance, Jégou et al. 2011)
        and the results merged.

        Parameters
        ----------
        q : np.ndarray
            ``(nq, dim)`` float32 prepared queries.
        k : int
            Candidates per query.
        sel : faiss.IDSelector or None
            Only the positions it accepts.
        widen : float
            The factor on ``nprobe`` (>= 1; the result is capped at ``nlist``).
        settings : SearchParams
            This call's settings (``nprobe``).

        Returns
        -------
        distances : np.ndarray
            ``(nq, k)`` float32 as FAISS reports them (inner products, or squared L2 distances for l2), best
            first; -inf (l2: +inf) where fewer than k qualify.
        positions : np.ndarray
            ``(nq, k)`` int64, -1 where fewer than k qualify.
        """
        probe = self.params["nprobe"] if settings.nprobe is None else settings.nprobe
        probe = min(self.params["nlist"], max(1, int(probe * widen)))
        if sel is None:  # one parameter object per nprobe (building one costs a good part of a fast query)
            params = self._params_cache.get(probe)
            if params is None:
                params = self._params_cache[probe] = faiss.SearchParametersIVF()
                params.nprobe = probe
        else:
            params = faiss.SearchParametersIVF()
            params.nprobe = probe
            params.sel = sel
        if not self.sealed:
            parts = [self.index]
        else:
            parts = [p for p, _ in self.sealed if p.ntotal] + ([self.index] if self.index.ntotal else [])
        if len(parts) == 1:
            D, I = faiss_search(parts[0], q, k, params)
        else:
            got = []
            for p in parts:
                D, I = faiss_search(p, q, k, params)
                got.append((-D if self.metric == "l2" else D, I))
            I, D = merge_topk(got, len(q), k)
            if self.metric == "l2":
                D = -D
        if (I[0, -1] if len(I) == 1 else I[:, -1].min()) < 0:  # FAISS pads the tail with -1 when fewer qualify
            D[I < 0] = np.inf if self.metric == "l2" else -np.inf
        return D, I

    # ------------------------------------------------------------------ persistence
    def _part_names(self) -> list[str]:
        return [f"ivf-part-{i}.faiss" for i in range(len(self.sealed) + 1)]

    def files(self) -> codec.CodeFiles:
        """The trained template and every part.

        Mapped parts are hard-linked, never rewritten; parts are recorded by size alone (their checksums would
        read them whole).

        Returns
        -------
        codec.CodeFiles
            ``ivf-template.faiss`` plus ``ivf-part-0.faiss`` ... (the sealed parts, then the in-RAM one), and
            ``parts`` (their names) for ``index.json``.
        """
        template = self.template if self.template is not None else faiss.serialize_index(self.new_index())

        def write_template(p: Path) -> None:
            """Write the serialised template.

            Parameters
            ----------
            p : Path
                The file to write.
            """
            p.write_bytes(bytes(template))

        names = self._part_names()
        writers: dict[str, codec.Writer] = {self.data_file: write_template}
        for name, (_, src) in zip(names, self.sealed, strict=False):
            writers[name] = _linker(src)
        writers[names[-1]] = codec.write_faiss(self.index)
        return codec.CodeFiles(writers, {"parts": names}, frozenset(names))

    def saved(self, folder: Path) -> None:
        """The mapped parts now refer to the saved files.

        Parameters
        ----------
        folder : Path
            The saved index folder.
        """
        self.sealed = [(p, folder / name) for (p, _), name in zip(self.sealed, self._part_names(), strict=False)]

    def read(self, folder: Path, doc: dict[str, Any], npos: int, mmap: bool) -> None:
        """Read the template and the parts.

        Parameters
        ----------
        folder : Path
            The index folder.
        doc : dict
            Its manifest (with ``parts``).
        npos : int
            The positions it holds.
        mmap : bool
            Map the parts read-only (searches read the probed lists from disk; sizes checked, checksums
            skipped); False merges them into memory after their checksums are verified.

        Raises
        ------
        CorruptFileError
            A template or part FAISS cannot read or that does not match ``index.json`` (dimension, nlist), no
            list of parts, or parts holding another number of rows (named).
        """  # noqa: DOC501 - codec.corrupt() returns the CorruptFileError raised
        template = codec.read_faiss(folder, doc, self.data_file)
        if not isinstance(template, faiss.IndexIVF) or template.d != self.dim or template.ntotal:
            raise codec.corrupt(folder, f"{self.data_file} does not match index.json")
        names = doc.get("parts")
        if not isinstance(names, list) or not names:
            raise codec.corrupt(folder, "index.json lacks the list of IVF parts")
        trained = bool(template.is_trained)
        self.template = faiss.serialize_index(template) if trained else None
        self.index = template if not trained else faiss.deserialize_index(self.template)
        self.index.nprobe = self.params["nprobe"]
        sealed, total = [], 0
        for name in names:
            path = codec.member_path(folder, name)
            if mmap:
                part = _no_prefetch(codec.read_faiss(folder, doc, name, flags=faiss.IO_FLAG_MMAP, deep=False))
            else:
                part = codec.read_faiss(folder, doc, name)
            if not isinstance(part, faiss.IndexIVF) or part.d != self.dim or part.nlist != self.params["nlist"]:
                raise codec.corrupt(folder, f"{name} does not match index.json")
            part.nprobe = self.params["nprobe"]
            total += int(part.ntotal)
            if part.ntotal:
                if mmap:
                    sealed.append((part, path))
                else:
                    self.index.merge_from(part, 0)
        if total != npos:
            raise codec.corrupt(folder, f"the IVF parts hold {total} rows, index.json says {npos}")
        self.sealed = sealed


class IVFIndex(CodedIndex[IVFCodes]):
    """Inverted-file index (FAISS IVF-Flat / IVF-SQ / IVF-PQ); parameters saved with it.

    k-means splits the space into ``nlist`` cells; each row is stored in the list of its nearest centroid, and a
    query scans the lists of its ``nprobe`` nearest centroids (the IVF of Jégou et al. 2011 [1]_, in FAISS [2]_).
    Larger ``nprobe`` trades query time for recall. With ``m > 0`` the lists hold product-quantised codes (``m``
    sub-vectors of ``nbits`` bits), re-ranked with the float32 vectors.

    Parameters
    ----------
    dim : int
        Dimension (>= 1).
    metric : str
        ``cosine``, ``dot`` or ``l2``.
    nlist : int
        Centroids (lists), >= 1 (default 1024; about 4·sqrt(n) suits n rows).
    nprobe : int, optional
        Lists scanned per query, 1 to ``nlist`` (default min(16, nlist); per call: ``search(..., nprobe=)`` or
        ``SearchParams(nprobe=)``).
    m : int
        PQ sub-quantizers (0: no PQ; must divide dim), of ``nbits`` bits each.
    nbits : int
        Bits per PQ code, 1 to 16 (default 8: m bytes a row).
    precision : str
        ``float32`` (IVF-Flat), ``float16`` or ``int8`` (IVF-SQ).
    rescore : int, optional
        Compressed codes (SQ, PQ): re-rank ``rescore × k`` candidates with the float32 vectors (>= 1; default 1
        for float16, 4 for int8 and PQ).
    train_size : int, optional
        Rows sampled (with ``seed``) to train on (default 256 × ``min_train()``: 256 × nlist, or 256 × 2^nbits
        when PQ needs more).
    seed : int
        Seeds k-means and the training sample.
    spill_dir : str or Path, optional
        A folder for parts spilled while building (see the module docstring).

    Raises
    ------
    InputError
        Settings out of range (nprobe above nlist, m not dividing dim, binary precision, PQ with SQ codes ...).

    References
    ----------
    .. [1] H. Jégou, M. Douze and C. Schmid, "Product quantization for nearest neighbor search", IEEE TPAMI
       33(1), 2011 (the inverted file with product-quantised codes, IVFADC).
    .. [2] FAISS: ``IndexIVFFlat``, ``IndexIVFScalarQuantizer``, ``IndexIVFPQ``, ``OnDiskInvertedLists``;
       J. Johnson, M. Douze and H. Jégou, "Billion-scale similarity search with GPUs", IEEE Transactions on Big
       Data, 2019.
    """

    kind = "ivf"

    def __init__(
        self,
        dim: int,
        metric: str = "cosine",
        nlist: int = 1024,
        nprobe: int | None = None,
        m: int = 0,
        nbits: int = 8,
        precision: str = "float32",
        rescore: int | None = None,
        train_size: int | None = None,
        seed: int = 0,
        spill_dir: str | Path | None = None,
    ) -> None:
        super().__init__(IVFCodes(dim, metric, precision, nlist, nprobe, m, nbits, train_size, seed, spill_dir),
                         rescore)
        if self.precision != "float32":
            self.params["precision"] = self.precision
        if self.rescore is not None:
            self.params["rescore"] = self.rescore

    @property
    def spill_dir(self) -> Path | None:
        """Where parts of more than ``SEAL_BYTES`` are spilled while building.

        Returns
        -------
        Path or None
            The folder; None: parts stay in memory.
        """
        return self._codes.spill_dir

    @spill_dir.setter
    def spill_dir(self, folder: str | Path | None) -> None:
        """Set where parts are spilled while building.

        Parameters
        ----------
        folder : str or Path or None
            The folder (created when a part is first spilled); None keeps parts in memory.
        """
        self._codes.spill_dir = Path(folder) if folder is not None else None

    def min_train(self) -> int:
        """The fewest training rows possible: one per centroid (and 2^nbits for the PQ codebooks).

        Returns
        -------
        int
            ``nlist``, or ``max(nlist, 2^nbits)`` with PQ.
        """
        return self._codes.min_train()

    @classmethod
    def load(cls, path: str | Path, mmap: bool = True) -> Self:
        """Read an index written by ``save``.

        Parameters
        ----------
        path : str or Path
            The index folder.
        mmap : bool
            True (default): map the inverted lists read-only from the folder (searches read the probed lists from
            disk; sizes checked, full checksums skipped); False: read them into memory after checking their
            checksums.

        Returns
        -------
        IVFIndex
            With its saved parameters (and trained template).

        Raises
        ------
        InputError
            No index folder there, or an index of another kind.
        CorruptFileError
            A missing, truncated or damaged file (named).
        FormatVersionError
            Written by a newer embedlab.
        """
        return super().load(path, mmap)

    def close(self) -> None:
        """Unmap the parts read from disk (the index is empty afterwards)."""
        self._reset()


def _no_prefetch(part: Any) -> Any:
    """Mapped lists are read where they lie: no prefetch threads.

    FAISS would otherwise start 32 prefetch threads for every search (measured: a single query 7x slower than over
    lists in memory; without them, the same).
    """
    lists = faiss.downcast_InvertedLists(part.invlists)
    if isinstance(lists, faiss.OnDiskInvertedLists):
        lists.prefetch_nthread = 0
    return part


def _linker(src: Path) -> codec.Writer:
    return lambda dst: _link_or_copy(src, dst)


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link an immutable part file into a new folder (a copy across file systems).

    Raises
    ------
    CorruptFileError
        The part file is gone.
    """
    if not src.is_file():
        raise CorruptFileError(f"IVF part file {src} disappeared while the index was mapped from it; rebuild the "
                               "index from its vectors")
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
