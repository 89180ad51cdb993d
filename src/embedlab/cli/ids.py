"""`embedlab ids`: a collection's ids, one per line (paged with --offset / --limit, or all of them streamed, so
``embedlab ids notes | head`` works), or one JSON page."""

from __future__ import annotations

import sys

import typer

from ..errors import InputError
from ..passages import with_page_spans, with_subfolders
from .app import app, emit_json, err_console
from .collections import WHERE_HELP, open_collection, parse_where
from .where_hints import where_hints

_CHUNK = 4096  # ids written per write call


@app.command()
def ids(
    name: str = typer.Argument(..., help="Collection name."),
    where: list[str] | None = typer.Option(None, "--where", metavar="FILTER", help="Only the ids of items matching "
                                           "this metadata filter: " + WHERE_HELP),
    offset: int = typer.Option(0, "--offset", help="Skip this many ids first."),
    limit: int | None = typer.Option(None, "--limit", help="At most this many ids (default: all of them)."),
    as_json: bool = typer.Option(False, "--json", help='Print only JSON: {"collection", "count", "offset", '
                                 '"limit", "ids"} (count: all matching ids, not only this page).'),
) -> None:
    """List a collection's ids, one per line, in the order they were last written (an updated item moves last);
    a document split into passages lists its passages (ID#0, ID#1, ...). Pipes end early without an error
    (``embedlab ids notes | head``). A --where key=value that matches nothing names on stderr the stored values
    it may have meant (``hint: no item has file = a.txt; did you mean notes/a.txt?``), as search does."""
    if offset < 0:
        raise InputError(f"--offset must be 0 or more, got {offset}")
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be 1 or more, got {limit} (leave it out for all ids)")
    flt = parse_where(where)
    with open_collection(name, readonly=True) as col:
        every = col.ids(with_page_spans(col, with_subfolders(col, flt)))  # folder=drafts: drafts/old too; page=3: 1-3
        hints = where_hints(col, flt) if not every and flt is not None else []
    for line in hints:  # on stderr: stdout is the ids (or JSON) a pipe reads
        err_console.print(f"hint: {line}", highlight=False, markup=False)
    page = every[offset:] if limit is None else every[offset:offset + limit]
    if as_json:
        emit_json({"collection": name, "count": len(every), "offset": offset, "limit": limit, "ids": page})
        return
    out = sys.stdout
    for start in range(0, len(page), _CHUNK):
        out.write("".join(f"{i}\n" for i in page[start:start + _CHUNK]))
    out.flush()
