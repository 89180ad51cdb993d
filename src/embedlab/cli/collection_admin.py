"""Collection commands that look after what is stored: `list`, `info`, `get`, `delete`, `compact`, `drop` and
`check`.

Every one works on the current backend (the global --backend option, else $EMBEDLAB_DATABASE_URL, else the local
folders under the embedlab home) and fails with one line and exit code 2 on an unknown collection or id, a bad
--where filter, or a drop nobody confirmed.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from .. import config
from ..errors import CollectionNotFoundError, EmbedlabError, IncompleteCollectionWarning, InputError, UnknownKeyError
from ..passages import passages_of, with_page_spans, with_subfolders
from ..store import Collection, Item
from ..store.pg.connection import safe_url
from .app import app, console, emit_json, err_console
from .collections import WHERE_HELP, open_collection, parse_where, shown_metadata
from .where_hints import where_hints


@contextmanager
def quiet_incomplete() -> Iterator[None]:
    """Hide the warning that opening an incomplete collection gives, for commands that report it themselves."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteCollectionWarning)
        yield

CONTENT_WIDTH = 200  # characters of an item's content shown by `get` (--json has all of it)


def where_collections_live() -> str:
    """The current backend's place, for titles: the collections folder, or the database URL without password."""
    url = config.backend()
    if url and url != "local":
        return safe_url(url)
    return str(config.collections_dir())


def collection_rows() -> list[dict[str, Any]]:
    """One row per collection of the current backend (``Collection.statuses()``): name, status, count,
    encoder, index, dim. A load that stopped before it completed is ``incomplete`` (with ``what``, ``since`` and
    the commands that ``resume`` it or ``remove`` the collection), one still running ``loading``; a collection
    that cannot be opened is ``damaged`` (a corrupt file) or ``unavailable`` (e.g. written by a newer embedlab),
    with its ``error``, so one bad collection never hides the others."""
    return Collection.statuses()


def _print_listing(rows: list[dict[str, Any]]) -> None:
    place = where_collections_live()
    if not rows:
        console.print(f"no collections in {escape(place)} yet; make one with: embedlab index NAME PATH...",
                      highlight=False)
        return
    table = Table(title=f"collections in {escape(place)}", title_justify="left")
    columns = ["name", "count", "encoder", "index", "dim", "status"]  # status: ok, loading, incomplete, damaged...
    for col_name in columns:
        table.add_column(col_name, justify="right" if col_name in ("count", "dim") else "left")
    for r in rows:
        status = {"ok": "ok", "loading": "[yellow]loading[/]", "incomplete": "[yellow]incomplete[/]"}.get(
            r["status"], f"[red]{r['status']}[/]")
        if r["status"] in ("damaged", "unavailable"):
            cells = [escape(r["name"]), "", "", "", ""]
        else:
            cells = [escape(r["name"]), str(r["count"]), escape(str(r["encoder"] or "-")), r["index"], str(r["dim"])]
        table.add_row(*cells, status)
    console.print(table)
    for r in rows:
        if r["status"] == "incomplete":
            console.print(f"[yellow]{escape(r['name'])}[/]: incomplete: {escape(str(r['what']))} stopped before it "
                          f"completed (started {r['since']}); resume: {escape(str(r['resume']))}; remove: "
                          f"{escape(str(r['remove']))}", highlight=False)
        elif r["status"] == "loading":
            console.print(f"[yellow]{escape(r['name'])}[/]: loading: {escape(str(r['what']))} is running (since "
                          f"{r['since']})", highlight=False)
        elif r["status"] != "ok":
            console.print(f"[red]{escape(r['name'])}[/]: {escape(r['error'])} (run: embedlab check {r['name']})",
                          highlight=False)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help='Print only a JSON list of {"name", "status", '
                                       '"count", "encoder", "index", "dim"} (+ "error" when damaged or unavailable; '
                                       '+ "what", "since", "resume", "remove" when incomplete or loading).')) -> None:
    """List the collections with their sizes; an interrupted load is listed as incomplete with the commands that
    resume it or remove it, and damaged ones with their status and error."""
    rows = collection_rows()
    if as_json:
        emit_json(rows)
    else:
        _print_listing(rows)


@app.command()
def info(
    name: str | None = typer.Argument(None, help="Collection name (none: list all collections, as `list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON."),
) -> None:
    """Describe one collection, or list all collections with their sizes."""
    if name is None:
        list_(as_json)
        return
    with open_collection(name, readonly=True) as col:
        data = col.info()
    # this command's own handle is read-only; what a user wants to know is whether the collection can be written
    if data.get("backend") == "local" and isinstance(data.get("location"), str):
        data["readonly"] = not os.access(data["location"], os.W_OK)
    else:
        data.pop("readonly", None)
    if as_json:
        emit_json(data)
        return
    table = Table(title=f"collection {name}", show_header=False, title_justify="left")
    for key, val in data.items():
        if isinstance(val, dict):
            val = ", ".join(f"{k}={v}" for k, v in val.items() if v not in (None, {}))
        table.add_row(key, escape(str(val)))
    console.print(table)


def _item_json(item: Item, vectors: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id, "metadata": item.metadata, "source": item.source, "content": item.content}
    if vectors:
        out["vector"] = item.vector.tolist()
    return out


def _unknown(col: Collection, ids: list[str]) -> UnknownKeyError:
    """The error for ids a collection does not hold, pointing at the passages of documents split into them."""
    parts = passages_of(col, ids)
    hint = "".join(f"; {d!r} is a long document stored as {len(p)} passages ({p[0]} … {p[-1]})"
                   for d, p in list(parts.items())[:3])
    return UnknownKeyError(f"{len(ids)} id(s) not in collection {col.name!r}: {ids[:5]}{hint} (list its ids with: "
                           f"embedlab ids {col.name})")


@app.command()
def get(
    name: str = typer.Argument(..., help="Collection name."),
    ids: list[str] = typer.Argument(..., help="Ids of the items to show."),
    vectors: bool = typer.Option(False, "--vectors", help="Include each item's vector."),
    as_json: bool = typer.Option(False, "--json", help='Print only a JSON list of {"id", "metadata", "source", '
                                 '"content"} (+ "vector" with --vectors), in the order asked.'),
) -> None:
    """Show stored items by id: metadata, source and content (the text that was encoded)."""
    ids = list(dict.fromkeys(ids))  # each once, in the order first asked
    with open_collection(name, readonly=True) as col:
        try:
            items = col.get(ids)
        except UnknownKeyError:
            found = {it.id for it in col.get(ids, missing="skip")}
            raise _unknown(col, [i for i in ids if i not in found]) from None
    if as_json:
        emit_json([_item_json(it, vectors) for it in items])
        return
    table = Table(title=f"{name}: {len(items)} item(s)", title_justify="left")
    table.add_column("id", style="bold")
    table.add_column("source", style="dim", overflow="fold")
    table.add_column("metadata", overflow="fold")
    table.add_column("content", overflow="fold")
    if vectors:
        table.add_column("vector", overflow="fold")
    for it in items:
        meta = ", ".join(f"{k}={v}" for k, v in shown_metadata(it.metadata, it.content))
        content = " ".join((it.content or "").split())
        if len(content) > CONTENT_WIDTH:
            content = content[:CONTENT_WIDTH - 1] + "…"
        row = [escape(it.id), escape(it.source or ""), escape(meta), escape(content)]
        if vectors:
            head = ", ".join(f"{x:.4f}" for x in it.vector[:4])
            row.append(escape(f"[{head}{', …' if len(it.vector) > 4 else ''}] ({len(it.vector)}-d)"))
        table.add_row(*row)
    console.print(table)


@app.command()
def delete(
    name: str = typer.Argument(..., help="Collection name."),
    ids: list[str] | None = typer.Argument(None, help="Ids of the items to delete (a document split into passages: "
                                           "all its passages)."),
    where: list[str] | None = typer.Option(None, "--where", metavar="FILTER", help="Delete every item matching this "
                                           "metadata filter: " + WHERE_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be deleted; delete nothing."),
    ignore_missing: bool = typer.Option(False, "--ignore-missing", help="Ids the collection does not hold are "
                                        "skipped (default: an error, and nothing is deleted)."),
    as_json: bool = typer.Option(False, "--json", help='Print only JSON: {"collection", "deleted", "ids", '
                                 '"count", "dry_run"}.'),
) -> None:
    """Delete items by id, or every item matching --where (one that matches nothing names the stored values a
    key=value may have meant, as search does)."""
    if bool(ids) == bool(where):
        raise InputError("pass the ids to delete or --where FILTER (exactly one of them), e.g. embedlab delete "
                         f"{name} ID... or embedlab delete {name} --where lang=ko")
    asked = parse_where(where)  # a bad filter fails before the collection is opened
    with open_collection(name, readonly=dry_run) as col:
        with col.writing() if not dry_run else nullcontext():
            flt = with_page_spans(col, with_subfolders(col, asked))  # folder=drafts: drafts/old; page=3: 1-3
            targets = col.ids(flt) if flt is not None else _resolve(col, list(ids or []), ignore_missing)
            deleted = col.delete(targets) if targets and not dry_run else 0
        count = col.count()
        hints = where_hints(col, asked) if not targets and asked is not None else []
    out = {"collection": name, "deleted": len(targets) if dry_run else deleted, "ids": targets, "count": count,
           "dry_run": dry_run}
    if as_json:
        emit_json(out)
        for line in hints:  # stdout stays JSON
            err_console.print(f"hint: {line}", highlight=False, markup=False)
        return
    what = "matches --where" if flt is not None else "was found"
    if not targets:
        console.print(f"nothing {what} in [bold]{escape(name)}[/]; nothing deleted")
        for line in hints:
            console.print(f"hint: {line}", highlight=False, markup=False)
        return
    verb = "would delete" if dry_run else "deleted"
    console.print(f"{verb} {out['deleted']} item(s) from [bold]{escape(name)}[/]"
                  + (" (dry run: nothing written)" if dry_run else f"; it now holds {count} item(s)"))
    for id_ in targets[:20]:
        console.print(f"  [red]-[/] {escape(id_)}", highlight=False)
    if len(targets) > 20:
        console.print(f"  … and {len(targets) - 20} more (--json lists them all)")


def _resolve(col: Collection, ids: list[str], ignore_missing: bool) -> list[str]:
    """The stored ids to delete for ``ids``: each id itself, or all passages of a document split into them."""
    ids = list(dict.fromkeys(ids))
    found = {it.id for it in col.get(ids, missing="skip")}
    absent = [i for i in ids if i not in found]
    parts = passages_of(col, absent) if absent else {}
    unknown = [i for i in absent if i not in parts]
    if unknown and not ignore_missing:
        raise UnknownKeyError(f"{len(unknown)} id(s) not in collection {col.name!r}: {unknown[:5]}; nothing was "
                              "deleted (check the ids with embedlab get, or pass --ignore-missing)")
    out: list[str] = []
    for i in ids:
        out.extend([i] if i in found else parts.get(i, []))
    return list(dict.fromkeys(out))


@app.command()
def compact(
    name: str = typer.Argument(..., help="Collection name."),
    as_json: bool = typer.Option(False, "--json", help='Print only JSON: {"collection", "backend", "items", '
                                 '"rows_before", "rows_after", "segments_before", "segments_after", "bytes_before", '
                                 '"bytes_after", "seconds"} (segments: null on PostgreSQL).'),
) -> None:
    """Reclaim the space of deleted and replaced items (Collection.compact).

    The local backend rewrites its segments into one without dead rows and rebuilds its index (writes also do
    this by themselves once dead rows pass a share); PostgreSQL runs VACUUM (ANALYZE) on the collection's table,
    which makes dead rows' space reusable and refreshes the planner's statistics (rows count live rows there).
    A collection on read-only media or a full disk is refused, and nothing changes."""
    with open_collection(name) as col:
        before = col.info()
        start = time.perf_counter()
        col.compact()
        seconds = time.perf_counter() - start
    with open_collection(name, readonly=True) as col:  # measured after closing: the catalogue's log folded in
        after = col.info()
    out = {"collection": name, "backend": after["backend"], "items": after["count"],
           "rows_before": before["count"] + int(before.get("deleted_rows", 0)),
           "rows_after": after["count"] + int(after.get("deleted_rows", 0)),
           "segments_before": before.get("segments"), "segments_after": after.get("segments"),
           "bytes_before": before.get("bytes"), "bytes_after": after.get("bytes"), "seconds": round(seconds, 3)}
    if as_json:
        emit_json(out)
        return
    segs = (f", {out['segments_before']} → {out['segments_after']} segment(s)"
            if out["segments_before"] is not None else "")
    size = (f", {_mib(out['bytes_before'])} → {_mib(out['bytes_after'])} on disk"
            if out["bytes_before"] is not None else "")
    if out["backend"] != "local":
        what = "VACUUM (ANALYZE)"
    elif (out["rows_before"], out["segments_before"]) != (out["rows_after"], out["segments_after"]):
        what = "rewrote the segments"
    else:
        what = "nothing to reclaim"
    console.print(f"compacted [bold]{escape(name)}[/] ({what}): {out['rows_before']:,} → {out['rows_after']:,} "
                  f"stored row(s) for {out['items']:,} item(s){segs}{size}, {seconds:.2f} s", highlight=False)


def _mib(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**20:,.2f} MiB"


def _interactive() -> bool:
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False


@app.command()
def drop(
    name: str = typer.Argument(..., help="Collection name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Drop without asking (needed when there is no terminal to "
                             "ask on, e.g. in scripts)."),
    as_json: bool = typer.Option(False, "--json", help='Print only JSON: {"dropped": NAME, "count": N}.'),
) -> None:
    """Delete a collection and everything stored for it (asks first unless --yes)."""
    try:
        with quiet_incomplete(), Collection.open(name, readonly=True) as col:
            count: int | None = col.count()
            mark = col.incomplete
    except CollectionNotFoundError:
        open_collection(name)  # raises with the existing names
        raise
    except EmbedlabError as exc:  # a damaged collection can still be dropped
        if name not in Collection.names():
            raise
        count, what = None, f"cannot be opened: {type(exc).__name__}: {exc}"
    else:
        what = f"{count} item(s)" + ("" if mark is None else f", incomplete: {mark['what']} "
                                     f"{'is running' if mark.get('running') else 'stopped before it completed'}")
    if not yes:
        if not _interactive():
            raise InputError(f"not dropping {name!r} ({what}): dropping asks for confirmation and there is no "
                             f"terminal to ask on; pass --yes to drop it (embedlab drop {name} --yes)")
        if not typer.confirm(f"drop collection {name!r} ({what}) and everything stored for it?", default=False,
                             err=True):
            console.print(f"kept {escape(name)}")
            raise typer.Exit(1)
    Collection.drop(name)
    if as_json:
        emit_json({"dropped": name, "count": count})
    else:
        console.print(f"dropped [bold]{escape(name)}[/]" + (f" ({count} item(s))" if count is not None else ""))


@app.command()
def check(
    name: str = typer.Argument(..., help="Collection name."),
    quick: bool = typer.Option(False, "--quick", help="Skip reading every vector (sizes, headers and edge "
                               "checksums are still checked)."),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON."),
) -> None:
    """Verify a collection: the catalogue's integrity, every segment's checksum, the manifest against the
    catalogue's copy, the index the collection promises, and that no load of it stopped before it completed.
    Exit status 1 when a problem is found."""
    with quiet_incomplete(), open_collection(name, readonly=True) as col:
        report = col.check(deep=not quick)
    report = {"collection": name, **report}
    if as_json:
        emit_json(report)
    elif report["ok"]:
        console.print(f"[green]ok[/]: {name}: {report['items']} item(s) in {report['segments']} segment(s)"
                      + ("" if report["deep"] else " (quick: full checksums skipped)"))
    else:
        console.print(f"[red]{len(report['problems'])} problem(s)[/] in {name}:")
        for p in report["problems"]:
            console.print(f"  {escape(p)}", highlight=False)
        mark = report.get("incomplete")
        damage = [p for p in report["problems"][0 if mark is None else 1:]
                  if "the HNSW index" not in p and not p.startswith("metadata index:")]
        if damage:  # an unfinished load, a missing index and the derived metadata index say themselves what to do
            console.print("restore the collection folder from a backup, or drop it and index the items again")
        elif any(p.startswith("metadata index:") and not p.endswith("rebuilt") for p in report["problems"]):
            console.print("the metadata index is derived data: filters stay exact (it is rebuilt from the "
                          "catalogue); the next filtered search that may write the collection replaces its files")
        if mark is not None and not mark.get("running"):
            console.print(f"resume the load: {escape(str(mark['resume']))}\nor remove the collection: "
                          f"{escape(str(mark['remove']))}", highlight=False)
    if not report["ok"]:
        raise typer.Exit(1)
