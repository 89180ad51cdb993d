"""Collection commands that read sources and query them: `index` (with --sync and --dry-run) and `search`, plus the
helpers every collection command shares (the --where parser, opening a collection by name, the progress bar).

The other collection commands: `collection_admin.py` (list, info, get, delete, drop, check) and
`collection_transfer.py` (export, import); all are thin layers over embedlab.store, embedlab.ingest and
embedlab.passages."""

from __future__ import annotations

import json
import shlex
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from .._progress import ProgressLines, clock_text, is_terminal
from .._progress import progress_bar as shared_bar
from ..encoders import encoder as build_encoder
from ..encoders.registry import spec
from ..errors import (
    CollectionNotFoundError,
    EncoderMismatchError,
    IncompleteCollectionWarning,
    InputError,
    cli_words,
    did_you_mean,
    require,
)
from ..index import make_index
from ..index.plan import constants, constants_path, estimate
from ..ingest import read_sources
from ..passages import (
    file_roots,
    hit_texts,
    index_records,
    plan_records,
    search_documents,
    with_page_spans,
    with_subfolders,
)
from ..scale import RayEngine, check_address
from ..search import searcher
from ..store import Collection
from ..store.filters import parse
from ..store.loads import cli_command
from .app import app, console, emit_json, err_console, threads_option
from .where_hints import where_hints

WHERE_HELP = ("key=value or a JSON filter such as '{\"year\": {\"$gte\": 2020}}' (repeatable: all must hold, "
              "except that a key given twice matches either value); folder=X also matches X's subfolders, page=N "
              "also an item spanning page N (page <= N <= page_end).")


def parse_where(pairs: list[str] | None) -> dict[str, Any] | None:
    """``--where`` values → one Collection ``where`` dict (checked by the same parser as Python and HTTP).

    Each value is either a JSON filter object (``'{"year": {"$gte": 2020}}'``, any operator of
    ``embedlab.store.filters``) or ``key=value``. In ``key=value`` a value that reads as a JSON number, bool or
    null also matches metadata stored with that type (CSV cells are strings, JSONL keeps types), so
    ``year=2020`` finds both ``"2020"`` and ``2020``; repeating a key means OR. All values must hold (AND).
    """
    if not pairs:
        return None
    values: dict[str, list[Any]] = {}
    objects: list[dict[str, Any]] = []
    for pair in pairs:
        if pair.lstrip().startswith("{"):
            try:
                obj = json.loads(pair)
            except ValueError as exc:
                raise InputError(f"--where {pair!r} is not valid JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise InputError(f"--where {pair!r} must be a JSON object")
            objects.append(obj)
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--where takes key=value or a JSON filter, got {pair!r} (e.g. --where lang=ko or "
                             """--where '{"year": {"$gte": 2020}}')""")
        alts: list[Any] = [value]
        try:
            typed = json.loads(value)
        except ValueError:
            typed = value
        if typed is None or isinstance(typed, (bool, int, float)):
            alts.append(typed)
        values.setdefault(key.strip(), []).extend(alts)
    plain = {k: (v[0] if len(v) == 1 else {"$in": v}) for k, v in values.items()}
    parts = ([plain] if plain else []) + objects
    where = parts[0] if len(parts) == 1 else {"$and": parts}
    parse(where)  # checked now, so a bad filter fails before any model loads
    return where


def open_collection(name: str, readonly: bool = False) -> Collection:
    """The collection ``name`` on the current backend; CollectionNotFoundError lists the existing ones."""
    try:
        return Collection.open(name, readonly=readonly)
    except CollectionNotFoundError as exc:
        have = Collection.names()
        guess = did_you_mean(name, have)
        raise CollectionNotFoundError(
            f"no collection named {name!r} (existing: {', '.join(have) if have else 'none yet'}); "
            f"{guess + ' Or make' if guess else 'make'} it with: embedlab index {name} PATH..."
        ) from exc


@app.command()
def index(
    name: str = typer.Argument(..., help="Collection name (created if it does not exist)."),
    paths: list[Path] = typer.Argument(..., help="Folders, text files, documents (PDF, HTML, Word .docx, EPUB: "
                                       "pip install 'embedlab\\[documents]'), CSV/TSV or JSONL files."),
    encoder: str | None = typer.Option(None, "--encoder", "-e", help="Encoder for a new collection (default: use-multilingual)."),
    text_column: str | None = typer.Option(None, "--text-column", help="CSV/JSONL column to embed (default: text)."),
    id_column: str | None = typer.Option(None, "--id-column", help="CSV/JSONL column with ids (default: id, else row numbers)."),
    index_kind: str = typer.Option("exact", "--index", help="Index of a new collection: exact, hnsw or ivf (data "
                                   "beyond RAM: inverted lists on disk)."),
    precision: str | None = typer.Option(None, "--precision", help="Codes the index keeps: float32 (default), "
                                         "float16, int8 or binary (compressed codes are re-ranked with the float32 "
                                         "vectors, which stay on disk)."),
    rescore: int | None = typer.Option(None, "--rescore", help="Re-rank RESCORE x k candidates with the float32 "
                                       "vectors (compressed precisions; default 1 for float16, 4 for int8/binary)."),
    dim: int | None = typer.Option(None, "--dim", help="Keep only the first DIM dimensions (Matryoshka), "
                                   "re-normalised; for encoders trained for it (see --force)."),
    force: bool = typer.Option(False, "--force", help="Truncate to --dim even if the encoder was not trained for "
                               "Matryoshka truncation."),
    nlist: int | None = typer.Option(None, "--nlist", help="IVF: number of inverted lists (default 1024)."),
    nprobe: int | None = typer.Option(None, "--nprobe", help="IVF: lists scanned per query (default 16; saved)."),
    pq: int | None = typer.Option(None, "--pq", help="IVF: product-quantise into PQ sub-vectors of 8 bits (must "
                                  "divide the dimension; re-ranked like --precision)."),
    M: int | None = typer.Option(None, "--M", help="HNSW: links per node (default 32)."),
    ef_search: int | None = typer.Option(None, "--ef-search", help="HNSW: default search beam (default 128)."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Split texts longer than this into passages (default: the encoder's limit)."),
    overlap: int | None = typer.Option(None, "--overlap", help="Tokens shared by consecutive passages (default: 15%)."),
    encoding: str = typer.Option("utf-8", "--encoding", help="Text encoding of the input files (e.g. cp949)."),
    encoding_errors: str = typer.Option("strict", "--encoding-errors", help="strict, or replace to substitute undecodable bytes."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first file that cannot be read (default: skip "
                                "it, list it with the reason, and index the rest)."),
    engine: str = typer.Option("local", "--engine", help="local (encode in this process) or ray (encode on a Ray "
                               "cluster: pip install 'embedlab\\[scale]')."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address (e.g. auto or "
                                          "ray://head:10001); default: start a local one."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="With --engine ray: Ray actors, each with its "
                                       "own copy of the encoder (default 2)."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="With --engine ray: items per Ray task "
                                          "(default 64)."),
    sync: bool = typer.Option(False, "--sync", help="Also remove the items that came from these paths but are no "
                              "longer there (deleted files, rows or passages); items from other paths are kept, and "
                              "so are those of files that still exist but could not be read this time. Paths are "
                              "compared resolved, so notes/, ./ from inside it and /abs/notes are the same folder."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show which ids would be added, updated and removed; "
                                 "write nothing (no collection is created)."),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="Print only a JSON summary."),
) -> None:
    """Read files into a collection: new items are added, changed ones updated, unchanged ones skipped
    (--sync: and the items of files that are gone removed).

    Folders are read recursively: text (.txt, .md), documents (PDF text per page, HTML main text, Word .docx,
    EPUB; told by content, not only by extension), and images or audio for encoders that take them. A file's id
    is its path relative to the folder given (a/readme.txt), so files of one name in different subfolders
    coexist; a file given by itself gets the id its folder's indexing gives it when the collection tells (it
    holds the file, or files indexed from a folder above it: notes/sub/a.md is sub/a.md after notes/), else its
    name; long documents are split into passages (ID#N) that keep their page and heading in metadata. Files
    whose content repeats one read before are left out and counted; a scanned PDF without a text layer, an
    encrypted or damaged file is skipped with the reason (--strict: stops).

    An item stored under another id for a file read now (its stem, as older versions named files: readme; or its
    path from another folder indexed: a.txt, then notes/a.txt) is re-keyed to the file's id with its vector when
    the content is unchanged (counted as renamed), else replaced; the old id never stays beside the new one. A
    file whose id the collection holds for another file that still exists is left out and named (--strict:
    stops before writing anything).

    Each item's source is stored as its file's resolved absolute path (a table row's: path:line N), so the
    same folder indexed or synced from anywhere (notes/, . from inside it, /home/me/notes) is the same source.
    Collections made by older versions stored sources relative to the folder the command ran in, which was
    not recorded; such a source is rewritten to its resolved path (counted as migrated, not updated) when the
    same item read now comes from a file whose path ends with it, or when it names an existing file under the
    paths given here (tried relative to the current folder, to each path and to the folders above it). With
    --sync, a relative source that matches no file is never removed on a guess: it is kept and counted as
    unresolved (delete such items with embedlab delete NAME ID...)."""
    if index_kind not in ("exact", "hnsw", "ivf"):
        raise InputError(f"--index must be exact, hnsw or ivf, got {index_kind!r}")
    settings = index_options(index_kind, precision, rescore, nlist=nlist, nprobe=nprobe, m=pq, M=M,
                             ef_search=ef_search)
    if engine not in ("local", "ray"):
        raise InputError(f"--engine must be local or ray, got {engine!r}")
    ray_only = [flag for flag, value in (("--address", address), ("--workers", workers),
                                         ("--batch-size", batch_size)) if value is not None]
    if engine != "ray" and ray_only:
        raise InputError(f"{', '.join(ray_only)} appl{'ies' if len(ray_only) == 1 else 'y'} to --engine ray only "
                         "(this process encodes with --engine local); add --engine ray, or leave "
                         f"{'it' if len(ray_only) == 1 else 'them'} out")
    runner = None
    if engine == "ray":
        require("ray", "scale", "--engine ray")  # before any model loads
        if address is not None:  # one short TCP connect, dry run too: not Ray's 30 s of retries and tracebacks
            address = check_address(address)
        runner = RayEngine(address=address, workers=2 if workers is None else workers,
                           batch_size=64 if batch_size is None else batch_size)
    try:
        col = Collection.open(name, readonly=dry_run)
    except CollectionNotFoundError:
        col = None
    try:
        built_with = col.info()["encoder"].get("name") if col is not None else None
        if col is not None and encoder is not None and spec(encoder).name != built_with:  # before loading a model
            raise EncoderMismatchError(
                f"collection {name!r} was built with encoder {built_with!r}, not {spec(encoder).name!r}; leave out "
                "--encoder to add to it, or index into a new collection name"
            )
        if col is not None and index_kind != "exact" and col.index_kind != index_kind:
            raise InputError(f"collection {name!r} already uses the {col.index_kind!r} index; --index applies only "
                             f"when creating a collection (embedlab reindex {name} --index {index_kind} rebuilds it)")
        if col is not None and (settings or dim is not None):
            given = {k: v for k, v in settings.items() if col.index_params.get(k) != v}
            if given or (dim is not None and dim != col.dim):
                what = ", ".join(f"{k}={v}" for k, v in given.items()) or f"dim={dim}"
                raise InputError(f"collection {name!r} already exists with other settings ({what} differs); index "
                                 f"options apply only when creating a collection (embedlab reindex {name} ... "
                                 "changes its index; a new --dim needs a new collection)")
        enc = col.encoder if col is not None else build_encoder(encoder or "use-multilingual")
        if enc is None:  # a vectors-only collection (made with dim=, or imported from Parquet): nothing reads files
            raise InputError(f"collection {name!r} is vectors-only (no encoder), so it cannot index files; index them "
                             "into a new collection name, or add vectors with Collection.add(ids, vectors=...)")
        roots = file_roots(col, paths) if col is not None else None  # a file alone: keyed as its folder keys it
        records = read_sources(paths, modalities=enc.modalities, text_column=text_column, id_column=id_column,
                               encoding=encoding, errors=encoding_errors, strict=strict, progress=not as_json,
                               roots=roots)
    except BaseException as exc:
        if col is not None:
            col.close()
        if isinstance(exc, KeyboardInterrupt):  # Ctrl-C while loading the model or reading: nothing written yet
            err_console.print(f"interrupted before anything was written to {name!r} (it is as it was); run the "
                              "same command again to index", highlight=False, markup=False)
            raise typer.Exit(130) from None
        raise
    synced = list(paths) if sync else None
    duplicates = [src for src, _ in records.duplicates]
    skipped = [cli_words(s) for s in records.skipped]  # in CLI words, as errors are
    read = {"skipped": skipped,
            "duplicates": [{"source": s, "same_as": o} for s, o in records.duplicates],
            "notes": records.notes, "pages": records.pages}
    if dry_run:
        with col if col is not None else nullcontext():
            plan = plan_records(col, records.records, encoder=enc, max_tokens=max_tokens, overlap=overlap,
                                sync=synced, duplicates=duplicates, strict=strict)
            now = col.count() if col is not None else 0
        plan.update(collection=name, exists=col is not None, count=now + plan["added"] - plan["removed"], **read)
        if as_json:
            emit_json(plan)
        else:
            _print_plan(name, plan)
        return
    created = col is None
    # a first index is a load: marked incomplete (from the commit that creates the collection) until it completes;
    # running the same command again resumes it (unchanged items are skipped) and completes it
    resume = load_command(name, paths, text_column, id_column, sync)
    if col is None:
        col = Collection.create(name, enc, index=index_kind, index_params=settings, dim=dim, force=force,
                                loading={"resume": resume, "what": f"a first index of {len(paths)} path(s)"})
        print_estimate(index_kind, settings, col.dim, col.metric, len(records.records), as_json)
    loading = col.bulk(resume=resume) if created or (col.incomplete or {}).get("resume") == resume else nullcontext()
    before = 0 if created else col.count()
    try:
        with col, progress_bar("indexing", as_json) as step, loading:
            result = index_records(col, records.records, max_tokens=max_tokens, overlap=overlap, progress=step,
                                   skipped=step.skip,
                                   sync=synced, engine=runner, duplicates=duplicates, strict=strict)
            result.update(dry_run=False, collection=name, count=col.count(), **read)
            untrained = untrained_note(col.index_kind, col.index_params, col.dim, col.metric, result["count"])
            if untrained:
                result["note"] = untrained
    except BaseException as exc:
        empty = False
        if created:  # do not leave an empty collection behind a failed first run
            with warnings.catch_warnings():  # it is incomplete, and about to go if empty
                warnings.simplefilter("ignore", IncompleteCollectionWarning)
                with Collection.open(name) as again:
                    empty = again.count() == 0
            if empty:
                Collection.drop(name)
        if isinstance(exc, KeyboardInterrupt):  # Ctrl-C: say what is stored and how to go on, then exit 130
            err_console.print(interrupted_line(name, created and empty, before), highlight=False, markup=False)
            raise typer.Exit(130) from None
        raise
    if as_json:
        emit_json(result)
        return
    split = (f"; {result['split']} long document(s) split into passages of at most {result['max_tokens']} "
             f"{result['unit']} (overlap {result['overlap']}): {result['passages']} item(s)") if result["split"] else ""
    pages = f" ({result['pages']:,} PDF page(s))" if result["pages"] else ""
    console.print(f"[bold]{name}[/]: {result['documents']} document(s) read{pages}{split}")
    console.print(
        f"  [green]{result['added']} added[/], [yellow]{result['updated']} updated[/], {result['unchanged']} unchanged"
        + (f", [red]{result['removed']} removed[/]" if result["removed"] else "")
        + f"; the collection now holds {result['count']} item(s)"
    )
    _print_skipped(skipped, result["kept"])
    _print_read_notes(result)
    _print_legacy(name, result["migrated"], result["unresolved"], dry_run=False, renamed=result["renamed"])
    if untrained:
        console.print(f"[yellow]note:[/] {untrained}", highlight=False)


def interrupted_line(name: str, dropped: bool, before: int) -> str:
    """What an interrupted ``index`` says: what its commits stored, the collection's state, how to go on."""
    again = "run the same command again to continue: stored items are skipped, not encoded again"
    if dropped:
        return (f"interrupted before any item was committed; collection {name!r} was not created (run the same "
                "command again to start over)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteCollectionWarning)
        with Collection.open(name, readonly=True) as col:
            count, mark = col.count(), col.incomplete
    state = ("marked incomplete until a run completes (embedlab list shows it so)" if mark else
             "complete: every commit is whole")
    return (f"interrupted: {count - before:,} item(s) added by this run; collection {name!r} holds {count:,} "
            f"item(s) and is {state}; {again}")


def load_command(name: str, paths: list[Path], text_column: str | None, id_column: str | None, sync: bool) -> str:
    """The command that runs (and resumes) an index of ``paths`` into ``name`` on the current backend."""
    args = ["index", name, *(str(p.resolve()) for p in paths)]
    args += [*(["--text-column", text_column] if text_column else []),
             *(["--id-column", id_column] if id_column else []), *(["--sync"] if sync else [])]
    return cli_command(shlex.join(args))


def untrained_note(kind: str, params: dict[str, Any], dim: int, metric: str, count: int) -> str | None:
    """What to tell a user whose IVF index is still too small to train (its rows are then searched exactly)."""
    if kind != "ivf":
        return None
    need = make_index(kind, dim, metric, **params).train_min()
    if count >= need:
        return None
    return (f"the IVF index trains itself once the collection holds {need:,} items; until then its {count:,} item(s) are searched exactly. Fewer lists (--nlist, about "
            f"4·sqrt(n)) train sooner; a collection this size is served as well by --index exact or hnsw")


def index_options(kind: str, precision: str | None, rescore: int | None, **params: Any) -> dict[str, Any]:
    """The index settings the CLI options give (None = not given, the kind's defaults apply); options for another
    kind are refused so a typo never goes unnoticed."""
    own = {"hnsw": ("M", "ef_search"), "ivf": ("nlist", "nprobe", "m")}.get(kind, ())
    wrong = [k for k, v in params.items() if v is not None and k not in own]
    if wrong:
        flag = {"m": "--pq", "M": "--M", "ef_search": "--ef-search"}
        raise InputError(f"{', '.join(flag.get(k, '--' + k) for k in wrong)} do(es) not apply to a {kind} index")
    out = {k: v for k, v in params.items() if v is not None}
    if precision is not None and precision != "float32":
        out["precision"] = precision
    if rescore is not None:
        out["rescore"] = rescore
    return out


def print_estimate(kind: str, params: dict[str, Any], dim: int, metric: str, count: int, quiet: bool,
                   min_seconds: float = 3.0) -> None:
    """Before a build: ``embedlab plan``'s estimate for a ``kind`` index with ``params`` over ``count`` items,
    printed when the build is predicted to take more than ``min_seconds`` (the constants are measured once per
    machine)."""
    if quiet or count < 20_000 or kind == "exact" and params.get("precision", "float32") == "float32":
        return  # small builds take seconds, float32 exact search builds nothing: not worth measuring the machine
    if not constants_path().is_file():
        console.print("[dim]plan: measuring this machine once for build estimates (about 20 s)…[/]")
    est = estimate(count, dim, kind, metric=metric, consts=constants(), **params)
    if est.build_s >= min_seconds:
        console.print(f"[dim]plan: {kind} {est.precision} index over {count:,} item(s): build ~{est.build_s:,.0f} s, "
                      f"resident ~{est.resident_bytes / 2**20:,.0f} MiB, on disk ~{est.disk_bytes / 2**20:,.0f} MiB, "
                      f"{1000 * est.query_s:,.1f} ms a query[/]", highlight=False)


def _print_plan(name: str, plan: dict[str, Any], limit: int = 20) -> None:
    """The text form of an index --dry-run: the counts, then the ids (up to ``limit`` of each kind)."""
    split = (f"; {plan['split']} long document(s) would be split into {plan['passages']} item(s)"
             if plan["split"] else "")
    console.print(f"[bold]{name}[/] (dry run: nothing written): {plan['documents']} document(s) read{split}")
    console.print(f"  would add [green]{plan['added']}[/], update [yellow]{plan['updated']}[/], remove "
                  f"[red]{plan['removed']}[/]; {plan['unchanged']} unchanged; the collection would hold "
                  f"{plan['count']} item(s)" + ("" if plan["exists"] else " (it would be created)"))
    for kind, mark in (("added", "[green]+[/]"), ("updated", "[yellow]~[/]"), ("removed", "[red]-[/]")):
        ids = plan["ids"][kind]
        for id_ in ids[:limit]:
            console.print(f"  {mark} {escape(id_)}", highlight=False)
        if len(ids) > limit:
            console.print(f"  … and {len(ids) - limit} more {kind} (--json lists them all)")
    _print_skipped(plan["skipped"], plan["kept"])
    _print_read_notes(plan)
    _print_legacy(name, plan["migrated"], plan["unresolved"], dry_run=True, renamed=plan["renamed"])


def _print_read_notes(result: dict[str, Any], limit: int = 10) -> None:
    """Duplicates left out, files left out for an id another file holds, and the readers' notes."""
    dups = result["duplicates"]
    if dups:
        console.print(f"[yellow]note:[/] {len(dups)} file(s) left out: their content repeats a file read before",
                      highlight=False)
        for d in dups[:limit]:
            console.print(f"  [dim]duplicate:[/] {escape(d['source'])} (same as {escape(d['same_as'])})",
                          highlight=False)
        if len(dups) > limit:
            console.print(f"  … and {len(dups) - limit} more (--json lists them all)")
    for c in result["collisions"]:
        console.print(f"[yellow]left out:[/] {escape(c['source'])}: its id {escape(c['id'])!s} is held by "
                      f"{escape(c['held_by'])}, another file that still exists; index the folder above both (the "
                      "ids then include the subfolder) or into another collection", highlight=False)
    for note in result["notes"]:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)


def _print_legacy(name: str, migrated: int, unresolved: int, dry_run: bool, renamed: int = 0) -> None:
    """Notes on what an older embedlab stored: relative sources rewritten to resolved paths or kept unmatched,
    file-stem ids re-keyed to path ids."""
    if renamed:
        verb = "would be re-keyed" if dry_run else "were re-keyed"
        console.print(f"[yellow]note:[/] {renamed} item(s) stored under another id for the same file (a file-stem id "
                      "of an older embedlab, or the file's path from another folder indexed before) "
                      f"{verb} to their path in the folder given now, keeping their vectors; files whose content "
                      "changed since are re-encoded under the new id and their old id removed; index the same "
                      "folder each time to keep ids stable", highlight=False)
    if migrated:
        verb = "would be rewritten" if dry_run else "were rewritten"
        console.print(f"[yellow]note:[/] the relative sources of {migrated} item(s), stored by an older embedlab, "
                      f"{verb} to resolved paths (counted as unchanged when nothing else changed)", highlight=False)
    if unresolved:
        console.print(f"[yellow]note:[/] --sync kept {unresolved} item(s) whose relative sources (stored by an "
                      "older embedlab, relative to a folder it did not record) match no file under these paths; "
                      f"index their folder again to rewrite them, or remove them with embedlab delete {name} "
                      "ID... (--json --dry-run lists them)", highlight=False)


def _print_skipped(skipped: list[str], kept: int) -> None:
    if skipped:
        console.print(f"[yellow]warning:[/] {len(skipped)} source(s) skipped (--strict makes this an error):",
                      highlight=False)
    for s in skipped:
        console.print(f"  [yellow]skipped:[/] {escape(s)}", highlight=False)
    if kept:
        console.print(f"[yellow]note:[/] --sync kept {kept} item(s) whose files still exist but were not read this "
                      "time (see the skipped sources)", highlight=False)


@app.command()
def search(
    name: str = typer.Argument(..., help="Collection name."),
    query: str = typer.Argument(..., help="What to look for (any language the encoder reads)."),
    k: int = typer.Option(5, "--top-k", "-k", help="How many documents to return."),
    where: list[str] | None = typer.Option(None, "--where", metavar="FILTER", help="Metadata filter: " + WHERE_HELP),
    mode: str = typer.Option("vector", "--mode", help="vector, keyword (BM25, Korean-aware) or hybrid (both, "
                             "fused by reciprocal rank)."),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help='Print only a JSON list of {"id", "score", "text", '
                                 '"metadata", "source"} (the columns of the table; text: the whole text of the item '
                                 'or passage found).'),
) -> None:
    """Search a collection; long documents split into passages are reported once, by their best passage."""
    if k < 1:
        raise InputError(f"-k must be >= 1, got {k}")
    with open_collection(name) as col:  # the same path as the HTTP search route's
        flt = with_page_spans(col, with_subfolders(col, parse_where(where)))  # folder=drafts: drafts/old; page=3: 1-3
        hits = search_documents(col, query, k=k, where=flt, search=searcher(col, mode))
        texts = hit_texts(col, hits)  # stored once, as each item's content
        hints = where_hints(col, parse_where(where)) if not hits and where else []
    if as_json:
        emit_json([{"id": h.id, "score": h.score, "text": t, "metadata": h.metadata, "source": h.source}
                   for h, t in zip(hits, texts, strict=True)])
        for line in hints:  # stdout stays JSON
            err_console.print(f"hint: {line}", highlight=False, markup=False)
        return
    if not hits:
        console.print("[yellow]no results[/]" + (" (nothing matches the --where filter)" if where else ""))
        for line in hints:
            console.print(f"hint: {line}", highlight=False, markup=False)
        return
    table = Table(title=f"{name}: {query}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("id", style="bold", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("text", overflow="fold", ratio=3)
    table.add_column("metadata", overflow="fold", ratio=2)
    table.add_column("source", style="dim", overflow="ellipsis", no_wrap=True, max_width=40)
    for i, (h, full) in enumerate(zip(hits, texts, strict=True), 1):
        text = " ".join((full or "").split())
        text = text if len(text) <= TEXT_SHOWN else text[:TEXT_SHOWN - 1] + "…"  # the whole text: --json
        meta = ", ".join(f"{key}={' '.join(str(val).split())}" for key, val in shown_metadata(h.metadata, full))
        table.add_row(str(i), h.id, f"{h.score:.3f}", text, meta, " ".join(str(h.source or "").split()))
    console.print(table)


TEXT_SHOWN = 160  # characters of a hit's text in the search table


def shown_metadata(metadata: dict[str, Any], text: str | None) -> list[tuple[str, Any]]:
    """The metadata fields a table shows beside an item's text: all of them but a ``text`` field that repeats
    the text (a collection written by an earlier version kept it there too); a ``text`` field of the user's own
    that differs is shown.

    Parameters
    ----------
    metadata : dict
        The item's metadata.
    text : str or None
        The item's text (``Collection.texts``).

    Returns
    -------
    list of (str, object)
        ``(key, value)`` pairs in the metadata's order.
    """
    return [(k, v) for k, v in metadata.items() if not (k == "text" and v == text)]


@contextmanager
def progress_bar(what: str, quiet: bool, clock: Callable[[], float] = time.monotonic) -> Iterator[Step]:
    """A progress bar with items/s, the time elapsed and an estimate of the time left; yields ``step(done,
    total)`` (a ``Step``). It is ``_progress.progress_bar``'s, as every other bar of a command (``index``'s
    reading bar, an encoder's load): a tqdm bar on stderr when stderr is a terminal, plain lines
    (``_progress.ProgressLines``) when it is not (a log file, a pipe); ``quiet`` (``--json``) shows nothing.
    The rate and time left shown are ``Rate``'s (from the first report, items found stored left out). Plain
    lines end with ``"what: N/T items, done in H:MM:SS"``, or ``"stopped after"`` when the block raised.

    Parameters
    ----------
    what : str
        The bar's label (``"indexing"``).
    quiet : bool
        Show nothing (``--json``).
    clock : callable
        Seconds as a float (a test passes its own).

    Yields
    ------
    Step
        ``step(done, total)`` moves the bar; ``step.skip(n)`` counts items found stored.
    """
    lines = None if quiet or is_terminal() else ProgressLines(what, "item", clock=clock)
    with shared_bar(None, what, "item", enabled=not quiet and lines is None, bar_format=BAR_FORMAT) as bar:
        step = Step(bar, Rate(clock), lines)
        stopped = True  # unless the block finishes: Ctrl-C or an error is "stopped after", not "done in"
        try:
            yield step
            stopped = False
        finally:
            if lines is not None:
                lines.close(step.done, step.total, stopped=stopped)


#: tqdm's layout without its own elapsed time, rate and time left: the postfix carries ``Rate``'s
#: ("indexing:  40%|███▋     | 1,024/2,560, 512 items/s, 0:00:02 elapsed, about 0:00:03 left").
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}"


class Step:
    """``step(done, total)`` of ``progress_bar``: moves the bar (or writes a line when one is due);
    ``step.skip(n)`` first for items found stored already, which the rate and estimate leave out."""

    def __init__(self, bar: Any, rate: Rate, lines: ProgressLines | None) -> None:
        self.bar, self.rate, self.lines = bar, rate, lines
        self.done, self.total = 0, 0

    def skip(self, n: int) -> None:
        """``n`` items (int >= 0) about to be reported done were found stored: not work of this run."""
        self.rate.skip(n)
        if self.lines is not None:
            self.lines.skip(n)

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self.lines is not None:
            self.lines.update(done, total)
            return
        if self.bar.disable:  # --json
            return
        rate = self.rate.text(done)
        self.bar.total = total
        self.bar.set_postfix_str(", ".join(x for x in (rate, self.rate.timing(done, total)) if x), refresh=False)
        self.bar.update(done - self.bar.n)


class Rate:
    """Items/s since the first report (not since the bar opened: reading and splitting come first), as text; ""
    until a second report has measured something. Items reported through ``skip(n)`` (found stored by an
    interrupted run: written, not encoded) are left out, as the items done at the first report are."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock, self.base, self.skipped = clock, 0, 0
        self.start: float | None = None
        self.now: float | None = None

    def skip(self, n: int) -> None:
        """Leave ``n`` (int >= 0) more items out of the rate: reported done, but not work of this run."""
        self.skipped += int(n)

    def per_s(self, done: int) -> float | None:
        """Items/s of this run's work after ``done`` items, at the last ``text`` call (None: not measured)."""
        work = done - self.base - self.skipped
        if self.start is None or self.now is None or self.now <= self.start or work <= 0:
            return None
        return work / (self.now - self.start)

    def text(self, done: int) -> str:
        """The rate after ``done`` items, e.g. ``"1,234 items/s"``."""
        self.now = now = self.clock()
        if self.start is None:
            self.start, self.base = now, done - self.skipped
            return ""
        rate = self.per_s(done)
        return "" if rate is None else f"{rate:,.0f} items/s"

    def timing(self, done: int, total: int) -> str:
        """The time since the first report and, once a rate is measured, the time left at that rate, e.g.
        ``"0:00:47 elapsed, about 0:03:20 left"`` (as of the last ``text`` call; "" before any)."""
        if self.start is None or self.now is None:
            return ""
        rate = self.per_s(done)
        left = "" if rate is None or not total else f", about {clock_text(max(0, total - done) / rate)} left"
        return f"{clock_text(self.now - self.start)} elapsed{left}"


