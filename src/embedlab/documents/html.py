"""HTML pages: the main text without navigation boilerplate, the title, and sections by heading (beautifulsoup4
with lxml).

What is left out: scripts, styles, forms' controls, ``<nav>``, ``<aside>``, the page's own ``<header>`` and
``<footer>`` (those of an article stay), elements whose ARIA role or class/id names navigation, menus, sidebars,
cookie banners or sharing, and lists/blocks that are mostly links. When the page marks its main content
(``<main>``, ``role="main"``, a single ``<article>``) only that is read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import require
from .charset import decode_html
from .model import Document, NoTextError, Section, clean_lines

_DROP_TAGS = ["script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed", "nav",
              "aside", "button", "select", "input", "textarea", "dialog", "menu", "head"]
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar", "toolbar",
               "dialog", "alertdialog"}
_BOILER = re.compile(r"(?:^|[-_])(?:nav|navbar|navigation|menu|breadcrumbs?|sidebar|footer|cookies?|consent|"
                     r"share|sharing|social|advert|advertisement|ads|skip-link|skiplink|pagination)(?:$|[-_])", re.I)
_BLOCKS = ["p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "pre", "blockquote", "section", "article",
           "main", "header", "footer", "figcaption", "figure", "address", "hr", "br", "td", "th", "caption",
           "details", "summary", "body"]
_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
_MARK = "\x01"  # starts a heading's line in the flattened text


def read_html(path: Path, encoding: str | None = None, errors: str = "strict") -> Document:
    """Read an HTML file's main text, title and headings.

    Parameters
    ----------
    path : Path
        The file.
    encoding : str or None
        An encoding to try when the page declares none and is not UTF-8 (``--encoding``); else it is detected.
    errors : str
        ``"strict"``, or ``"replace"`` to substitute bytes that fit no encoding.

    Returns
    -------
    Document
        Sections by heading; a note when the encoding was guessed.

    Raises
    ------
    UnreadableFileError
        When the bytes decode in no encoding.
    NoTextError
        When the page has no main text.
    MissingDependencyError
        Without beautifulsoup4 (``pip install 'embedlab[documents]'``).
    """
    text, note = decode_html(path.read_bytes(), str(path), encoding, errors)
    title, sections = extract(text)
    if not sections:
        raise NoTextError(f"{path} has no text outside navigation and page furniture; leave it out")
    return Document("html", sections, title=title, notes=[note] if note else [])


def extract(markup: str | bytes, main_only: bool = True) -> tuple[str | None, list[Section]]:
    """The title and the sections (split at headings) of an HTML page's main text.

    Parameters
    ----------
    markup : str or bytes
        The page (bytes are decoded by the parser from the page's own declaration).
    main_only : bool
        Remove navigation boilerplate and keep the marked main content (see the module's docstring); False keeps
        all of the body's text (an EPUB chapter).

    Returns
    -------
    tuple of (str or None, list of Section)
        The title (``<title>``, ``og:title`` or the first ``<h1>``) and the sections, each headed by the heading
        it follows (the first may have none).
    """
    bs4 = require("bs4", "documents", "reading HTML files")
    soup = bs4.BeautifulSoup(markup, _parser())
    title = _title(soup)
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    root = soup.body or soup
    if main_only:
        _drop_boilerplate(soup)
        root = _main(soup) or root
        _drop_link_lists(root)
    for h in root.find_all(_HEADINGS):
        words = " ".join(h.get_text(" ").split())
        h.replace_with(bs4.NavigableString(f"\n{_MARK}{words}\n" if words else "\n"))
    for br in root.find_all("br"):
        br.replace_with(bs4.NavigableString("\n"))
    for block in root.find_all(_BLOCKS):
        block.append(bs4.NavigableString("\n"))
    sections = _sections(root.get_text(""))
    if title is None:
        title = next((s.heading for s in sections if s.heading), None)
    return title, sections


def _parser() -> str:
    try:
        import lxml  # noqa: F401
    except ImportError:  # pragma: no cover - lxml comes with the documents extra
        return "html.parser"
    return "lxml"


def _title(soup: Any) -> str | None:
    for text in (soup.title.get_text(" ") if soup.title else "",
                 (soup.find("meta", attrs={"property": "og:title"}) or {}).get("content", ""),
                 soup.h1.get_text(" ") if soup.h1 else ""):
        words = " ".join(str(text or "").split())
        if words:
            return words
    return None


def _drop_boilerplate(soup: Any) -> None:
    for el in soup.find_all(True):
        if getattr(el, "decomposed", False) or el.name in ("html", "body", "main", "article"):
            continue
        attrs = el.attrs or {}
        role = str(attrs.get("role", "")).lower()
        names = " ".join([*(attrs.get("class") or []), str(attrs.get("id", ""))])
        hidden = "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true"
        page_level = el.name in ("header", "footer") and el.find_parent(["article", "main"]) is None
        named = bool(names.strip()) and any(_BOILER.search(n) for n in names.split())
        if hidden or role in _DROP_ROLES or page_level or named and el.find(["main", "article"]) is None:
            el.decompose()


def _main(soup: Any) -> Any:
    main = soup.find("main") or soup.find(attrs={"role": "main"})
    if main is not None:
        return main
    articles = soup.find_all("article")
    return articles[0] if len(articles) == 1 else None


def _drop_link_lists(root: Any) -> None:
    """Remove lists and blocks made mostly of links (menus, related links, tag clouds)."""
    for el in root.find_all(["ul", "ol", "div", "table", "section", "p"]):
        if getattr(el, "decomposed", False) or (el.name != "ul" and el.find(_HEADINGS) is not None):
            continue
        links = el.find_all("a")
        if len(links) < 3:
            continue
        total = len("".join(el.get_text("").split()))
        linked = sum(len("".join(a.get_text("").split())) for a in links)
        if total and linked >= 0.7 * total:
            el.decompose()


def _sections(flat: str) -> list[Section]:
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []

    def close() -> None:
        text = clean_lines("\n".join(lines))
        if text:
            sections.append(Section(text, None, heading))

    for line in flat.splitlines():
        if line.startswith(_MARK):
            close()
            heading = line[1:].strip() or None
            lines = [heading] if heading else []
        else:
            lines.append(line)
    close()
    return sections
