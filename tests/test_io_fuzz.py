"""Seeded fuzzing of every vectors reader (issue 16 §1): a few hundred mutations of valid files — truncations,
flipped, replaced, inserted and deleted bytes, lying headers and sidecars — per format. Each must load as
finite float32 Vectors or raise an embedlab error, within a time bound, and never ask for more memory than
the file could need: the mutations run in a child process whose address space is capped (``RLIMIT_AS``), so a
huge allocation is a MemoryError there, which fails this test like any other non-embedlab exception.

Run by hand with ``python tests/test_io_fuzz.py FOLDER`` to see the summary.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import struct
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

SEED = 16
PER_FORMAT = 300  # mutations per format (8 formats): about 3 s in all
HEADROOM = 1 << 30  # address space allowed above what the child holds after its imports
LOAD_SECONDS = 3.0  # per load; a load is a few milliseconds
KEYS = ["the", "café", "日本語", "x.y", "a", "b", "z9"]
DIM = 5
INTERESTING = b"\x00\n\r\t -.e9\x80\xff\"'[{,"
LIES = [0, 1, 2, 5, 7, 9, 255, 10**8, 2**31, 2**40, 10**20, -1]
FORMATS = ("word2vec-text", "word2vec-binary", "glove-text", "npy", "safetensors", "sidecar", "projector",
           "word2vec-vocab")


def _matrix() -> np.ndarray:
    m = np.random.default_rng(SEED).standard_normal((len(KEYS), DIM)).astype(np.float32)
    m[0, 0] = 0.0  # zero bytes in binary rows, as real files have
    return m


def _byte_mutation(raw: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    b = bytearray(raw)
    kind = int(rng.integers(5))
    pos = int(rng.integers(max(1, len(b))))
    if kind == 0:
        return f"cut@{pos}", bytes(b[:pos])
    if kind == 1:
        for _ in range(int(rng.integers(1, 5))):
            b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
        return "flip", bytes(b)
    if kind == 2:
        b[pos : pos + 1] = INTERESTING[int(rng.integers(len(INTERESTING)))].to_bytes(1, "little")
        return f"set@{pos}", bytes(b)
    if kind == 3:
        return f"insert@{pos}", bytes(b[:pos]) + rng.bytes(int(rng.integers(1, 9))) + bytes(b[pos:])
    return f"delete@{pos}", bytes(b[:pos]) + bytes(b[pos + int(rng.integers(1, 9)) :])


def _lie(rng: np.random.Generator) -> int:
    return LIES[int(rng.integers(len(LIES)))]


def _npy(header: str, data: bytes) -> bytes:
    raw = header.encode("latin-1")
    raw += b" " * ((-(10 + len(raw) + 1)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(raw)) + raw + data


def _cases(fmt: str, folder: Path, rng: np.random.Generator):
    """Yield ``(label, {file name: bytes})`` mutations of one valid file set of ``fmt``."""
    from embedlab import Vectors
    from embedlab.io import save_npy, save_projector, save_safetensors, save_word2vec

    v = Vectors(KEYS, _matrix())
    src = folder / f"valid-{fmt}"
    src.mkdir()
    if fmt in ("word2vec-text", "word2vec-binary", "glove-text"):
        raw = save_word2vec(v, src / "v", binary=fmt == "word2vec-binary").read_bytes()
        if fmt == "glove-text":
            raw = raw[raw.index(b"\n") + 1 :]
        files = {"v": raw}
    elif fmt == "word2vec-vocab":  # gensim's fvocab: the C tool's "word count" lines beside the vectors
        for i, key in enumerate(KEYS):
            v.set_vecattr(key, "count", 100 - i)
        v.save_word2vec_format(src / "v", fvocab=src / "v.vocab")
        files = {"v": (src / "v").read_bytes(), "v.vocab": (src / "v.vocab").read_bytes()}
    elif fmt in ("npy", "sidecar"):
        save_npy(v, src / "v.npy")
        files = {"v.npy": (src / "v.npy").read_bytes(), "v.npy.json": (src / "v.npy.json").read_bytes()}
    elif fmt == "safetensors":
        save_safetensors(v, src / "v.safetensors")
        files = {n: (src / n).read_bytes() for n in ("v.safetensors", "v.safetensors.json")}
    else:
        save_projector(v, src, metadata={"label": [str(i % 3) for i in range(len(KEYS))]})
        files = {n: (src / n).read_bytes() for n in ("vectors.tsv", "metadata.tsv")}
    yield "valid", files
    names = sorted(files)
    for i in range(PER_FORMAT - 1):
        out = dict(files)
        if i % 3 == 0:  # a structured lie about sizes, shapes or names
            label, out = _structured_lie(fmt, files, rng)
        else:
            name = names[int(rng.integers(len(names)))] if fmt not in ("sidecar", "word2vec-vocab") else names[-1]
            label, out[name] = _byte_mutation(files[name], rng)
            label = f"{name}:{label}"
        yield label, out


def _structured_lie(fmt: str, files: dict[str, bytes], rng: np.random.Generator) -> tuple[str, dict[str, bytes]]:
    out = dict(files)
    if fmt in ("word2vec-text", "word2vec-binary"):
        n, d = _lie(rng), _lie(rng)
        raw = files["v"]
        out["v"] = f"{n} {d}".encode() + raw[raw.index(b"\n") :]
        return f"header {n} {d}", out
    if fmt == "glove-text":
        out["v"] = f"{_lie(rng)} {_lie(rng)}\n".encode() + files["v"]
        return "header added", out
    if fmt == "word2vec-vocab":
        lines = files["v.vocab"].split(b"\n")
        j = int(rng.integers(len(lines) - 1))
        bad = [f"{_lie(rng)}", f"{_lie(rng) * 10**19}", "1.5", "x 1 2", "\xff 1", "-"][int(rng.integers(6))]
        lines[j] = lines[j].split(b" ")[0] + b" " + bad.encode("latin-1")
        out["v.vocab"] = b"\n".join(lines)
        return f"vocab line {j + 1} count {bad!r}", out
    if fmt == "npy":
        descr = ["<f4", "<f8", "<i8", "|O", ">f4", "<f2", "|b1", "<c8", "V8", "<U3"][int(rng.integers(10))]
        shape = tuple(_lie(rng) for _ in range(int(rng.integers(0, 4))))
        fortran = bool(rng.integers(2))
        header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
        data = files["v.npy"][128:]
        out["v.npy"] = _npy(header, data[: int(rng.integers(len(data) + 1))] if rng.integers(3) == 0 else data)
        return f"npy header {header}", out
    if fmt == "safetensors":
        raw = files["v.safetensors"]
        (size,) = struct.unpack("<Q", raw[:8])
        header, data = json.loads(raw[8 : 8 + size]), raw[8 + size :]
        values = [None, [0], [_lie(rng)], ["0", "35"], [_lie(rng), _lie(rng)], [7, _lie(rng)], True, 1.5, {}]
        field = ["shape", "data_offsets", "dtype"][int(rng.integers(3))]
        header["vectors"][field] = values[int(rng.integers(len(values)))] if field != "dtype" else "F16"
        blob = json.dumps(header).encode()
        head = struct.pack("<Q", _lie(rng) % (1 << 64)) if rng.integers(4) == 0 else struct.pack("<Q", len(blob))
        out["v.safetensors"] = head + blob + data
        return f"safetensors {field}={header['vectors'][field]!r}", out
    if fmt == "sidecar":
        doc = json.loads(files["v.npy.json"])
        values = [None, 7, -1, "x", [], ["a"], ["a", 1], KEYS[:-1], KEYS + ["q"], {"a": 1}, True, "../x",
                  "/etc/hostname", "keys.txt", 2**70, 1.5, KEYS[:1] * len(KEYS)]
        field = ["keys", "count", "dim", "format", "format_version", "keys_file"][int(rng.integers(6))]
        value = values[int(rng.integers(len(values)))]
        doc[field] = value
        if field == "keys_file" and rng.integers(2):
            doc.pop("keys")
        out["v.npy.json"] = json.dumps(doc).encode()
        out["keys.txt"] = "\n".join(KEYS).encode()
        return f"sidecar {field}={value!r}", out
    rows = files["vectors.tsv"].split(b"\n")  # projector: a row of another width
    j = int(rng.integers(len(rows) - 1))
    cells = rows[j].split(b"\t")
    width = int(rng.choice([w for w in range(1, DIM + 3) if w != DIM]))
    rows[j] = b"\t".join((cells + [b"1", b"2"])[:width])
    out["vectors.tsv"] = b"\n".join(rows)
    return f"projector row {j + 1} with {width} cells", out


def _load(fmt: str, folder: Path, i: int):
    from embedlab.io import load_npy, load_projector, load_safetensors, load_vectors, load_word2vec

    mmap = bool(i % 2)
    if fmt == "word2vec-vocab":
        import warnings

        from embedlab import Vectors

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # keys the vocabulary file lacks: a warning, not an error
            return Vectors.load_word2vec_format(folder / "v", fvocab=folder / "v.vocab")
    if fmt in ("word2vec-text", "word2vec-binary", "glove-text"):
        if i % 3 == 0:
            return load_word2vec(folder / "v", binary=fmt == "word2vec-binary")
        return load_vectors(folder / "v")
    if fmt in ("npy", "sidecar"):
        return load_npy(folder / "v.npy", mmap=mmap) if i % 3 else load_vectors(folder / "v.npy", mmap=mmap)
    if fmt == "safetensors":
        return load_safetensors(folder / "v.safetensors", mmap=mmap)
    return load_projector(folder, with_metadata=bool(i % 2))


class _Slow(BaseException):
    """Raised by the alarm when one load runs past its time bound (a BaseException: no reader swallows it)."""


def _alarm(signum, frame):
    raise _Slow()


def run(folder: Path) -> dict:
    """Every mutation of every format; returns counts and the failures (label, what happened)."""
    from embedlab import Vectors
    from embedlab.errors import EmbedlabError

    signal.signal(signal.SIGALRM, _alarm)
    summary: dict = {"loaded": {}, "refused": {}, "failures": [], "slowest": 0.0}
    for k, fmt in enumerate(FORMATS):
        rng = np.random.default_rng([SEED, k])
        loaded = refused = 0
        for i, (label, files) in enumerate(_cases(fmt, folder, rng)):
            case = folder / f"{fmt}-{i}"
            case.mkdir()
            for name, data in files.items():
                (case / name).write_bytes(data)
            where = f"{fmt} #{i} ({label})"
            t0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, LOAD_SECONDS)
            try:
                got = _load(fmt, case, i)
                signal.setitimer(signal.ITIMER_REAL, 0)
                v = got[0] if isinstance(got, tuple) else got
                m = np.asarray(v.matrix)
                if not (isinstance(v, Vectors) and m.dtype == np.float32 and m.shape == (len(v.keys), v.dim)
                        and np.isfinite(m).all()):
                    summary["failures"].append(f"{where}: loaded an inconsistent or non-finite table {m.shape}")
                loaded += 1
                del got, v, m
            except EmbedlabError:
                signal.setitimer(signal.ITIMER_REAL, 0)
                refused += 1
            except _Slow:
                summary["failures"].append(f"{where}: still loading after {LOAD_SECONDS} s")
            except BaseException as exc:  # MemoryError included: an allocation the file could not justify
                signal.setitimer(signal.ITIMER_REAL, 0)
                tb = traceback.extract_tb(exc.__traceback__)[-1]
                summary["failures"].append(f"{where}: {type(exc).__name__}: {str(exc)[:160]} "
                                           f"(at {Path(tb.filename).name}:{tb.lineno})")
            summary["slowest"] = max(summary["slowest"], time.perf_counter() - t0)
        summary["loaded"][fmt], summary["refused"][fmt] = loaded, refused
    return summary


def _cap_memory() -> int:
    """Cap this process's address space at what it holds now plus HEADROOM; returns the cap in bytes."""
    with open("/proc/self/status") as fh:
        vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    cap = vm + HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    return cap


def test_every_reader_survives_seeded_mutations(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, __file__, str(tmp_path)], capture_output=True, text=True, timeout=180,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["failures"] == [], "\n".join(summary["failures"][:40])
    assert summary["cap_bytes"] > 0 and summary["slowest"] < LOAD_SECONDS
    for fmt in FORMATS:  # the mutations exercised both outcomes of every reader
        assert summary["loaded"][fmt] >= 1 and summary["refused"][fmt] >= PER_FORMAT // 3, (fmt, summary)
    assert sum(summary["loaded"].values()) + sum(summary["refused"].values()) == len(FORMATS) * PER_FORMAT


if __name__ == "__main__":
    import safetensors.numpy  # noqa: F401

    import embedlab.io  # noqa: F401  (imports first: the cap covers the loads, not the libraries)

    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    cap = _cap_memory()
    try:  # the cap must be real: an allocation beyond it fails here as it would inside a reader
        np.empty(2 * HEADROOM, dtype=np.uint8)
        cap = 0
    except MemoryError:
        pass
    result = run(target)
    result["cap_bytes"] = cap
    print(json.dumps(result, ensure_ascii=False))
