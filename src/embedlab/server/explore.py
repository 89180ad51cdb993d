"""Open anything embedlab holds in the projector: ``embedlab explore SOURCE`` and ``embedlab.explore(obj)``.

A source is a collection name (in the embedlab home), a vectors file of any supported format or a training folder
(served as a vectors set), a TensorBoard projector folder or file (``tensors.tsv`` or ``vectors.tsv`` with
``metadata.tsv``) or an embedlab Parquet export (each loaded into a vectors-only collection in a temporary home, so
its metadata colours and filters the map), an open ``Collection`` (local backend) or a ``Vectors``.

    >>> view = embedlab.explore("tour")       # a running server; in Jupyter the cell shows the projector inline
    >>> view.url                               # 'http://127.0.0.1:PORT/projector#source=collection:tour'
"""

from __future__ import annotations

import re
import shutil
import tempfile
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import config
from ..errors import InputError
from ..io import load_projector, load_vectors
from ..store import Collection
from ..store.parquet import import_parquet
from ..vectors import Vectors
from .app import create_app
from .background import BackgroundServer


@dataclass
class Prepared:
    """What to serve for a source: the home, the vectors sets, the page's ``source=`` and a temporary folder to
    delete when done (None when nothing was copied)."""

    home: Path
    vectors_sets: dict[str, Vectors]
    source: str
    temporary: Path | None = None


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "vectors"
    return slug if slug[0].isalnum() else "v" + slug


def _typed(values: list[str]) -> list[Any]:
    """A TSV column as numbers when every non-empty value is one, else as text."""
    try:
        return [float(v) if v.strip() else None for v in values]
    except ValueError:
        return list(values)


def _tensorboard(folder: Path, name: str) -> Prepared:
    tmp = Path(tempfile.mkdtemp(prefix="embedlab-explore-"))
    data = tmp / "tsv"
    data.mkdir()
    src = folder / "tensors.tsv" if (folder / "tensors.tsv").is_file() else folder / "vectors.tsv"
    shutil.copyfile(src, data / "vectors.tsv")
    if (folder / "metadata.tsv").is_file():
        shutil.copyfile(folder / "metadata.tsv", data / "metadata.tsv")
    vectors, meta = load_projector(data, with_metadata=True)
    columns = {k: _typed(v) for k, v in meta.items()}
    metadata = [{k: col[i] for k, col in columns.items() if col[i] is not None} for i in range(len(vectors))]
    with Collection.create(name, dim=vectors.dim, root=tmp / "collections") as col:
        col.add(list(vectors.keys), vectors=vectors.matrix, metadata=metadata)
    return Prepared(tmp, {}, f"collection:{name}", tmp)


def prepare(source: str | Path | Collection | Vectors, home: str | Path | None = None) -> Prepared:
    """Work out how to serve ``source`` (see the module docstring).

    Parameters
    ----------
    source : str, path, Collection or Vectors
        What to open.
    home : str or path, optional
        The embedlab home whose collections a name refers to (default ``config.home()``).

    Returns
    -------
    Prepared
        The home and vectors sets for ``create_app`` and the page's ``source=`` value.

    Raises
    ------
    InputError
        When ``source`` is neither an existing file or folder nor a collection in the home (the message lists
        the collections), or a Collection on a database backend.
    """
    if isinstance(source, Vectors):
        tmp = Path(tempfile.mkdtemp(prefix="embedlab-explore-"))
        return Prepared(tmp, {"vectors": source}, "vectors:vectors", tmp)
    if isinstance(source, Collection):
        folder = source.path
        if folder is None:
            raise InputError(f"collection {source.name!r} lives in a database; `embedlab serve` with that backend "
                             "serves it")
        return Prepared(folder.parent.parent, {}, f"collection:{source.name}")
    base = Path(home).expanduser() if home is not None else config.home()
    names = Collection.names(base / "collections")
    if isinstance(source, str) and source in names and "/" not in source and "\\" not in source:
        return Prepared(base, {}, f"collection:{source}")  # a name first, even beside a folder of that name
    path = Path(source).expanduser()
    if path.is_file() and path.name in ("tensors.tsv", "vectors.tsv", "metadata.tsv"):
        path = path.parent
    if path.is_dir() and ((path / "tensors.tsv").is_file() or (path / "vectors.tsv").is_file()):
        return _tensorboard(path, _slug(path.name))
    if path.is_file() and path.suffix == ".parquet":
        tmp = Path(tempfile.mkdtemp(prefix="embedlab-explore-"))
        name = _slug(path.stem)
        import_parquet(path, name, root=tmp / "collections")
        return Prepared(tmp, {}, f"collection:{name}", tmp)
    if path.exists():
        name = _slug(path.stem if path.is_file() else path.name)
        tmp = Path(tempfile.mkdtemp(prefix="embedlab-explore-"))
        return Prepared(tmp, {name: load_vectors(path, mmap=True)}, f"vectors:{name}", tmp)
    raise InputError(f"no collection, file or folder named {str(source)!r}; collections in {base}: "
                     f"{', '.join(names) or 'none'} (a vectors file, training folder, TensorBoard folder or Parquet "
                     "export is given by its path)")


def page_url(base: str, source: str) -> str:
    """The projector's address for ``source`` (``kind:name``) on a server at ``base``.

    Parameters
    ----------
    base : str
        ``http://HOST:PORT``.
    source : str
        ``collection:NAME`` or ``vectors:NAME``.

    Returns
    -------
    str
        ``{base}/projector#source=...``.
    """
    return f"{base}/projector#source={quote(source, safe='')}"


class Explorer:
    """A projector served from this process; shows inline in Jupyter (an iframe) and stops with ``stop()``."""

    def __init__(self, prepared: Prepared, server: BackgroundServer, height: int = 650) -> None:
        self.prepared, self.server, self.height = prepared, server, height
        self.url = page_url(server.url, prepared.source)

    def _repr_html_(self) -> str:
        return (f'<iframe src="{self.url}" width="100%" height="{self.height}" style="border:1px solid #ddd" '
                'title="embedlab projector"></iframe>')

    def __repr__(self) -> str:
        return f"Explorer({self.url!r})"

    def stop(self) -> None:
        """Stop the server and delete the temporary home (if one was made)."""
        self.server.stop()
        if self.prepared.temporary is not None:
            shutil.rmtree(self.prepared.temporary, ignore_errors=True)


def explore(source: str | Path | Collection | Vectors, *, home: str | Path | None = None, port: int = 0,
            open_browser: bool = False) -> Explorer:
    """Serve ``source`` in the projector from a background thread of this process.

    Parameters
    ----------
    source : str, path, Collection or Vectors
        A collection name, a vectors file or training folder, a TensorBoard folder, a Parquet export, an open
        local Collection or a Vectors.
    home : str or path, optional
        The embedlab home a collection name refers to (default ``config.home()``).
    port : int
        TCP port on 127.0.0.1 (0: a free one).
    open_browser : bool
        Also open the page in the default web browser.

    Returns
    -------
    Explorer
        ``url``, ``stop()``; in Jupyter it displays the projector inline.

    Raises
    ------
    InputError
        For a source that is not there (see ``prepare``).
    """
    prepared = prepare(source, home)
    app = create_app(prepared.home, vectors_sets=dict(prepared.vectors_sets))
    server = BackgroundServer(app, port=port).start()
    view = Explorer(prepared, server)
    if open_browser:
        webbrowser.open(view.url)
    return view
