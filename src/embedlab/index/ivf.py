"""Inverted-file search for data beyond RAM: FAISS IVF-Flat, IVF-SQ (float16 / int8) or IVF-PQ, with inverted
lists that live on disk.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, InputError
from . import _store
from ._coded import CodedIndex, faiss
from .exact import merge_topk
from .quantize import DEFAULT_RESCORE, Calibration, check_rescore, set_sq_calibration, sq_type

SEAL_BYTES = 256 << 20  # an in-RAM part with more codes than this is spilled to disk (when spill_dir is set)
DEFAULT_NPROBE = 16  # lists scanned per query unless given (at most nlist)
RECOMMENDED_PER_LIST = 39  # FAISS warns below 39 training rows per centroid
MAX_PER_LIST = 256  # and samples down to 256 per centroid itself; train_size defaults to this
MAX_FILTER_WIDEN = 8.0
COMPACT_FRACTION = 0.5  # dead/total rows above which the lists are rebuilt


class IVFIndex(CodedIndex):
    """Inverted-file index (FAISS IVF-Flat / IVF-SQ / IVF-PQ); parameters saved with it.

    ``nlist`` centroids; ``nprobe`` lists scanned per query (default; override per call with
    ``search(..., nprobe=)``); ``m`` PQ sub-quantizers (0: no PQ; must divide dim) of ``nbits`` bits;
    ``precision`` float32 (IVF-Flat), float16 or int8 (IVF-SQ); ``rescore`` for compressed codes; ``train_size``
    rows sampled (with ``seed``) to train on (default 256 × nlist); ``spill_dir`` a folder for parts spilled
    while building (see the module docstring).
    """

    kind = "ivf"
    data_file = "ivf-template.faiss"
    one_thread_query = True  # the coarse search of one query would otherwise split the centroids over threads

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
        if nprobe is None:
            nprobe = min(DEFAULT_NPROBE, nlist) if isinstance(nlist, (int, np.integer)) else DEFAULT_NPROBE
        for name, v, low in (("nlist", nlist, 1), ("nprobe", nprobe, 1), ("m", m, 0), ("nbits", nbits, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < low:
                raise InputError(f"{name} must be an integer >= {low}, got {v!r}")
        if int(nprobe) > int(nlist):
            raise InputError(f"nprobe={nprobe} exceeds nlist={nlist}: a query scans at most every list (nprobe = nlist "
                             "is an exact scan of the lists)")
        self._m = int(m)
        super().__init__(dim, metric, precision, rescore)
        if self.precision == "binary":
            raise InputError("an IVF index holds float32, float16, int8 or PQ codes, not binary; use "
                             "index='exact' or 'hnsw' with precision='binary'")
        if self._m and self.precision != "float32":
            raise InputError(f"m={m} stores product-quantised codes, which are their own compression; leave "
                             f"precision at float32 (got {self.precision!r}) or set m=0")
        if self._m and self.dim % self._m:
            divisors = [d for d in range(1, min(self.dim, 128) + 1) if self.dim % d == 0]
            raise InputError(f"m={m} must divide the dimension {self.dim} (PQ splits each vector into m equal "
                             f"sub-vectors); choose one of {divisors}")
        if int(nbits) > 16:
            raise InputError(f"nbits must be at most 16, got {nbits}")
        if train_size is not None and (isinstance(train_size, bool) or int(train_size) < 1):
            raise InputError(f"train_size must be a positive integer, got {train_size!r}")
        self.params = {"nlist": int(nlist), "nprobe": int(nprobe), "m": self._m, "nbits": int(nbits),
                       "train_size": None if train_size is None else int(train_size), "seed": int(seed)}
        if self.precision != "float32":
            self.params["precision"] = self.precision
        if self.rescore is not None:
            self.params["rescore"] = self.rescore
        self.spill_dir = Path(spill_dir) if spill_dir is not None else None
        self._params_cache: dict[int, Any] = {}
        self._template: bytes | None = None  # the trained, empty index (serialised): every new part starts from it
        self._sealed: list[tuple[Any, Path]] = []  # read-only parts mapped from disk, with their files
        self._reset()

    # ------------------------------------------------------------------ the FAISS parts
    def _check_rescore(self, rescore: Any) -> int | None:
        if getattr(self, "_m", 0) and self.precision == "float32":  # PQ codes: rescored like int8
            return check_rescore(rescore, "int8") if rescore is not None else DEFAULT_RESCORE["int8"]
        return check_rescore(rescore, self.precision)

    def _new_faiss(self) -> Any:
        if self._template is not None:
            return faiss.deserialize_index(self._template)
        fm = faiss.METRIC_L2 if self.metric == "l2" else faiss.METRIC_INNER_PRODUCT
        quantizer = faiss.IndexFlatL2(self.dim) if self.metric == "l2" else faiss.IndexFlatIP(self.dim)
        nlist = self.params["nlist"]
        if self._m:
            index = faiss.IndexIVFPQ(quantizer, self.dim, nlist, self._m, self.params["nbits"], fm)
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

    def _reset(self, keep_training: bool = False) -> None:
        if not keep_training:
            self._template = None
        self._sealed = []
        super()._reset(keep_training)

    def _ntotal(self) -> int:
        return int(self._index.ntotal) + sum(int(p.ntotal) for p, _ in self._sealed)

    def _trainable(self) -> bool:
        return True

    def _is_trained(self) -> bool:
        return self._template is not None

    def _recalibrates(self) -> bool:
        return False  # a rebuild keeps the centroids (and int8 ranges): only the lists change

    def min_train(self) -> int:
        """The fewest training rows possible: one per centroid (and 2^nbits for the PQ codebooks)."""
        need = self.params["nlist"]
        if self._m:
            need = max(need, 1 << self.params["nbits"])
        return need

    def train_min(self) -> int:
        return RECOMMENDED_PER_LIST * self.min_train()

    def _sample(self, x: np.ndarray) -> np.ndarray:
        size = self.params["train_size"] or MAX_PER_LIST * self.min_train()
        if len(x) <= size:
            return x
        rng = np.random.default_rng(self.params["seed"])
        return x[np.sort(rng.choice(len(x), size, replace=False))]

    def _train_codes(self, x: np.ndarray) -> None:
        need = self.min_train()
        if len(x) < need:
            pq = f" and 2^nbits = {1 << self.params['nbits']} for the PQ codebooks" if self._m else ""
            raise InputError(f"an IVF index with nlist={self.params['nlist']} needs at least {need} training vectors "
                             f"(one per list{pq}; {RECOMMENDED_PER_LIST * need} or more recommended), got {len(x)}; "
                             f"train on more vectors or lower nlist (about 4·sqrt(n) suits n rows)")
        x = self._sample(np.ascontiguousarray(x, dtype=np.float32))
        index = self._new_faiss() if self._template is None else self._index
        if self.precision == "int8":
            self.calibration = Calibration.fit(x, self.dim)
            set_sq_calibration(index, self.calibration)
            index.is_trained = False  # the coarse quantizer still needs its centroids
        index.train(x)
        if self.precision == "int8":
            assert self.calibration is not None
            set_sq_calibration(index, self.calibration)  # FAISS trained its own ranges too: ours win
            index.is_trained = True
        self._template = faiss.serialize_index(index)
        self._index = faiss.deserialize_index(self._template)
        self._index.nprobe = self.params["nprobe"]

    def _install_calibration(self) -> None:
        pass  # the calibration is part of the trained template

    def _add_codes(self, codes: np.ndarray, start: int) -> None:
        self._index.add_with_ids(codes, np.arange(start, start + len(codes), dtype=np.int64))
        if self.spill_dir is not None and self._index.ntotal * self._index.code_size > SEAL_BYTES:
            self._seal()

    def _seal(self) -> None:
        """Write the in-RAM part to the spill folder, map it back read-only and start an empty in-RAM part."""
        assert self.spill_dir is not None
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"part-{uuid.uuid4().hex}.faiss"
        faiss.write_index(self._index, str(path))
        self._sealed.append((self._map(path), path))
        self._index = self._new_faiss()

    def _map(self, path: Path) -> Any:
        part = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
        part.nprobe = self.params["nprobe"]
        return _no_prefetch(part)

    def memory_bytes(self) -> int:
        """Resident bytes this index needs: the in-RAM part's codes, centroids, id maps, kept float rows (mapped
        parts are read from disk as probed, not counted)."""
        out = super().memory_bytes() - self._ntotal() * self._code_bytes()
        return int(out + self._index.ntotal * self._index.code_size + self.params["nlist"] * self.dim * 4)

    def _compact_fraction(self) -> float:
        return COMPACT_FRACTION  # later than the others: a collection compacts (and rebuilds this) at 0.3 first

    def compact(self, progress: bool = False) -> None:
        """Drop removed rows. With float32 rows to read (a vector source, kept vectors) the lists are rebuilt from
        the live rows with the same centroids; otherwise every part is merged into memory, the dead entries
        removed and the positions renumbered (this needs the whole index in RAM once)."""
        if self._can_read_floats() or not self.trained:
            super().compact(progress)
            return
        live = np.flatnonzero(~self._dead)
        renumber = np.full(len(self._dead), -1, np.int64)
        renumber[live] = np.arange(len(live))
        merged = self._new_faiss()
        for part in [p for p, _ in self._sealed] + [self._index]:
            if part.ntotal:  # copied, never merge_from: that empties its source, and mapped parts are read-only
                part.copy_subset_to(merged, faiss.InvertedLists.SUBSET_TYPE_ID_RANGE, 0, len(self._dead))
        merged.remove_ids(faiss.IDSelectorBatch(np.flatnonzero(self._dead).astype(np.int64)))
        invlists = faiss.downcast_InvertedLists(merged.invlists)
        for lst in range(merged.nlist):
            size = invlists.list_size(lst)
            if size:
                view = faiss.rev_swig_ptr(invlists.get_ids(lst), size)
                view[:] = renumber[view]
        pos_ids, pend_ids, pend = self._pos_ids[live], self._pending_ids, self._pending
        self._reset(keep_training=True)
        self._index = merged
        self._track(pos_ids, 0)
        self._pending_ids, self._pending = pend_ids, pend

    def _code_bytes(self) -> int:
        return self._m * ((self.params["nbits"] + 7) // 8) if self._m else super()._code_bytes()

    # ------------------------------------------------------------------ search
    def _check_search_kw(self, kw: dict[str, Any]) -> None:
        extra = set(kw) - {"nprobe"}
        if extra:
            raise InputError(f"unknown search parameter(s) for an ivf index: {', '.join(sorted(extra))}; it "
                             "takes nprobe")
        nprobe = kw.get("nprobe")
        if nprobe is not None and (isinstance(nprobe, bool) or int(nprobe) < 1):
            raise InputError(f"nprobe must be >= 1, got {nprobe}")
        if nprobe is not None and int(nprobe) > self.params["nlist"]:
            raise InputError(f"nprobe={nprobe} exceeds nlist={self.params['nlist']}: a query scans at most every "
                             "list")

    def _filter_widen(self, n: int, m: int) -> float:
        return min(MAX_FILTER_WIDEN, float(np.sqrt(n / max(m, 1))))

    def _exact_limit(self, k: int, widen: float, **kw: Any) -> int:
        nprobe = self.params["nprobe"] if kw.get("nprobe") is None else int(kw["nprobe"])
        # an unfiltered search scans about n * nprobe / nlist rows: exact over fewer kept rows is cheaper
        return max(2000, int(len(self._sorted) * nprobe * widen / self.params["nlist"]))

    def _faiss_search(self, q: np.ndarray, k: int, sel: Any, widen: float, **kw: Any
                      ) -> tuple[np.ndarray, np.ndarray]:
        nprobe = kw.get("nprobe")
        probe = self.params["nprobe"] if nprobe is None else int(nprobe)
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
        if not self._sealed:
            parts = [self._index]
        else:
            parts = [p for p, _ in self._sealed if p.ntotal] + ([self._index] if self._index.ntotal else [])
        if len(parts) == 1:
            D, I = self._run(parts[0], q, k, params)
        else:
            got = []
            for p in parts:
                D, I = self._run(p, q, k, params)
                got.append((-D if self.metric == "l2" else D, I))
            I, D = merge_topk(got, len(q), k)
            if self.metric == "l2":
                D = -D
        if (I[0, -1] if len(I) == 1 else I[:, -1].min()) < 0:  # FAISS pads the tail with -1 when fewer qualify
            D[I < 0] = np.inf if self.metric == "l2" else -np.inf
        return D, I

    # ------------------------------------------------------------------ persistence
    def _manifest(self) -> dict[str, Any]:
        doc = super()._manifest()
        doc["parts"] = [f"ivf-part-{i}.faiss" for i in range(len(self._sealed) + 1)]
        return doc

    def _faiss_writers(self) -> dict[str, Callable[[Path], None]]:
        template = self._template if self._template is not None else faiss.serialize_index(self._new_faiss())
        def write_template(p: Path) -> None:
            p.write_bytes(bytes(template))

        out: dict[str, Callable[[Path], None]] = {self.data_file: write_template}
        for i, (_, src) in enumerate(self._sealed):
            out[f"ivf-part-{i}.faiss"] = _linker(src)
        last = len(self._sealed)
        out[f"ivf-part-{last}.faiss"] = lambda p: faiss.write_index(self._index, str(p))
        return out

    def save(self, path: str | Path) -> None:
        """Write the trained template, every part (mapped parts are hard-linked, never rewritten) and the id maps
        atomically; afterwards the mapped parts refer to the saved files."""
        writers = self._writers()
        writers.update(self._faiss_writers())
        big = {f"ivf-part-{i}.faiss" for i in range(len(self._sealed) + 1)}
        _store.write_folder(path, self._manifest(), writers, size_only=big)
        folder = Path(path)
        self._sealed = [(p, folder / f"ivf-part-{i}.faiss") for i, (p, _) in enumerate(self._sealed)]

    def _load_faiss(self, folder: Path, doc: dict[str, Any], npos: int, mmap: bool) -> None:
        template = self._read_faiss(folder, doc, self.data_file)
        if not isinstance(template, faiss.IndexIVF) or template.d != self.dim or template.ntotal:
            raise _store.corrupt(folder, f"{self.data_file} does not match index.json")
        names = doc.get("parts")
        if not isinstance(names, list) or not names:
            raise _store.corrupt(folder, "index.json lacks the list of IVF parts")
        trained = bool(template.is_trained)
        self._template = faiss.serialize_index(template) if trained else None
        self._index = template if not trained else faiss.deserialize_index(self._template)
        self._index.nprobe = self.params["nprobe"]
        sealed, total = [], 0
        for name in names:
            path = _store.member_path(folder, name)
            if mmap:
                part = _no_prefetch(self._read_faiss(folder, doc, name, faiss.IO_FLAG_MMAP, deep=False))
            else:
                part = self._read_faiss(folder, doc, name)
            if not isinstance(part, faiss.IndexIVF) or part.d != self.dim or part.nlist != self.params["nlist"]:
                raise _store.corrupt(folder, f"{name} does not match index.json")
            part.nprobe = self.params["nprobe"]
            total += int(part.ntotal)
            if part.ntotal:
                if mmap:
                    sealed.append((part, path))
                else:
                    self._merge_into_ram(part)
        if total != npos:
            raise _store.corrupt(folder, f"the IVF parts hold {total} rows, index.json says {npos}")
        self._sealed = sealed

    def _merge_into_ram(self, part: Any) -> None:
        self._index.merge_from(part, 0)

    @classmethod
    def load(cls, path: str | Path, mmap: bool = True) -> IVFIndex:
        """Read an index written by ``save``. ``mmap=True`` (default) maps the inverted lists read-only from the
        folder (searches read the probed lists from disk; size checked, full checksums skipped); ``mmap=False``
        reads them into memory after checking their checksums."""
        out = super().load(path, mmap)
        assert isinstance(out, IVFIndex)
        return out

    def close(self) -> None:
        """Unmap the parts read from disk (the index is empty afterwards)."""
        self._reset()


def _no_prefetch(part: Any) -> Any:
    """Mapped lists are read where they lie: FAISS would otherwise start 32 prefetch threads for every search
    (measured: a single query 7x slower than over lists in memory; without them, the same)."""
    lists = faiss.downcast_InvertedLists(part.invlists)
    if isinstance(lists, faiss.OnDiskInvertedLists):
        lists.prefetch_nthread = 0
    return part


def _linker(src: Path) -> Callable[[Path], None]:
    return lambda dst: _link_or_copy(src, dst)


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link an immutable part file into a new folder (a copy across file systems)."""
    if not src.is_file():
        raise CorruptFileError(f"IVF part file {src} disappeared while the index was mapped from it; rebuild the "
                               "index from its vectors")
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
