"""Disk size of a passages index: each passage's text stored once (as its content) vs twice (content + metadata).

Indexes the README tour's 20 documents and a folder of long Markdown files (the repository's own docs by default)
into a fresh local collection each, as ``embedlab index`` does (``passages.index_records``), and prints the bytes
on disk (every file under the collection's folder), the stored metadata JSON and contents, and whether any
metadata still holds a ``text`` field. Run it once with this tree and once with an older tree on ``PYTHONPATH``
to compare (the numbers of BENCHMARKS.md)::

    nice -n 19 .venv/bin/python benchmarks/bench_text_once.py
    PYTHONPATH=/path/to/older/src nice -n 19 .venv/bin/python benchmarks/bench_text_once.py
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from _common import print_settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILES = ("README.md", "CHANGELOG.md", "BENCHMARKS.md", "CONTRIBUTING.md", "docs/postgres.md")


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(name: str, records: list, encoder: str, home: Path) -> dict[str, object]:
    import embedlab
    from embedlab.passages import index_records
    from embedlab.store import Collection

    t = time.perf_counter()
    with Collection.create(name, encoder, root=home) as col:
        counts = index_records(col, records)
        col.compact()
        meta = content = with_text = 0
        for rows in col.export_rows():
            meta += sum(len(m.encode("utf-8")) for m in rows.metadata)
            content += sum(len((c or "").encode("utf-8")) for c in rows.contents)
            with_text += sum('"text"' in m for m in rows.metadata)
        assert col.path is not None
        out = {"collection": name, "embedlab": str(Path(embedlab.__file__).parents[1]), "items": col.count(),
               "split": counts["split"], "disk_bytes": _bytes(col.path), "metadata_bytes": meta,
               "content_bytes": content, "items_with_metadata_text": with_text,
               "seconds": round(time.perf_counter() - t, 1)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoder", default="use-multilingual", help="Encoder name (default: the tour's).")
    ap.add_argument("--files", nargs="*", default=list(DEFAULT_FILES), help="Files (relative to the repository) "
                    "indexed as the folder.")
    args = ap.parse_args()
    print_settings("text stored once: disk size of a passages index")
    from embedlab.cli.tour import tour_documents
    from embedlab.ingest import Record, read_sources

    with tempfile.TemporaryDirectory() as tmp:
        home, folder = Path(tmp) / "collections", Path(tmp) / "notes"
        folder.mkdir()
        for f in args.files:
            shutil.copyfile(ROOT / f, folder / Path(f).name)
        tour = [Record(d["id"], d["text"], {"category": d["category"]}, f"tour_documents.jsonl:line {i}")
                for i, d in enumerate(tour_documents(), 1)]
        for name, records in (("tour", tour), ("folder", read_sources(folder).records)):
            print(json.dumps(measure(name, records, args.encoder, home)), flush=True)


if __name__ == "__main__":
    main()
