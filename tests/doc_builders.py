"""Documents for the tests, built from code at test time (no binary fixtures): PDFs written by hand (text pages,
image-only pages), encrypted with pypdf; Word files with python-docx; EPUBs with EbookLib; HTML in several
encodings."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

WORDS = ("train station city river bread oven cat sleeps quickly north south market page report budget harbour "
         "ferry island winter summer garden library museum bridge tower").split()


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(pages: list[str | None], title: str | None = None) -> bytes:
    """A PDF with one page per entry: a text page (lines split on newlines, Helvetica), or None for a page that
    only draws an image (a scan without a text layer)."""
    objs: dict[int, bytes] = {}
    next_id = 4
    kids = []
    for text in pages:
        page_id, content_id = next_id, next_id + 1
        next_id += 2
        res = "/Font << /F1 3 0 R >>"
        if text is None:
            img_id = next_id
            next_id += 1
            w = h = 16
            data = bytes((x * 16 + y) % 256 for y in range(h) for x in range(w))
            objs[img_id] = (f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray "
                            f"/BitsPerComponent 8 /Length {len(data)} >>").encode() + b"\nstream\n" + data + \
                b"\nendstream"
            res = f"/XObject << /Im0 {img_id} 0 R >>"
            stream = b"q 400 0 0 400 100 200 cm /Im0 Do Q"
        else:
            parts = ["BT /F1 11 Tf 14 TL 72 740 Td"]
            parts += [f"({_escape(line)}) Tj T*" for line in text.split("\n")]
            parts.append("ET")
            stream = "\n".join(parts).encode("cp1252")
        objs[content_id] = f"<< /Length {len(stream)} >>".encode() + b"\nstream\n" + stream + b"\nendstream"
        objs[page_id] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << {res} >> "
                         f"/Contents {content_id} 0 R >>").encode()
        kids.append(page_id)
    objs[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objs[2] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(pages)} >>".encode()
    objs[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    info = None
    if title is not None:
        info = next_id
        objs[info] = f"<< /Title ({_escape(title)}) >>".encode("cp1252")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for i in sorted(objs):
        offsets[i] = len(out)
        out += f"{i} 0 obj\n".encode() + objs[i] + b"\nendobj\n"
    xref = len(out)
    size = max(objs) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for i in range(1, size):
        out += f"{offsets[i]:010d} 00000 n \n".encode()
    trailer = f"/Size {size} /Root 1 0 R" + (f" /Info {info} 0 R" if info else "")
    out += f"trailer\n<< {trailer} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def write_pdf(path: Path, pages: list[str | None], title: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf_bytes(pages, title))
    return path


def with_outline(path: Path, marks: list[tuple[str, int]]) -> Path:
    """Add bookmarks (title, 0-based page) to a PDF, in place."""
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(path))
    for title, page in marks:
        writer.add_outline_item(title=title, page_number=page)
    writer.write(str(path))
    return path


def encrypt_pdf(src: Path, dst: Path, user: str, owner: str = "owner", algorithm: str = "AES-128") -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(src))
    writer.encrypt(user, owner, algorithm=algorithm)
    writer.write(str(dst))
    return dst


def prose(n_words: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def long_pdf(path: Path, n_pages: int, seed: int = 1) -> Path:
    """``n_pages`` pages of 40 lines of 12 words; page N starts with ``Page N``."""
    rng = random.Random(seed)
    pages = ["\n".join([f"Page {i + 1}"] + [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(40)])
             for i in range(n_pages)]
    return write_pdf(path, pages, title=f"A report of {n_pages} pages")


def write_docx(path: Path, blocks: list[tuple[str, object]], title: str | None = None) -> Path:
    """A Word file from ``("title"|"h1"|"h2"|"p"|"table", content)`` blocks."""
    import docx

    doc = docx.Document()
    if title:
        doc.core_properties.title = title
    for kind, content in blocks:
        if kind == "title":
            doc.add_heading(str(content), level=0)
        elif kind in ("h1", "h2", "h3"):
            doc.add_heading(str(content), level=int(kind[1]))
        elif kind == "table":
            rows = content  # list of lists
            table = doc.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        else:
            doc.add_paragraph(str(content))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def write_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def write_epub(path: Path, chapters: list[tuple[str, str]], title: str = "A small book") -> Path:
    """An EPUB of ``(chapter title, body HTML)`` chapters, in that reading order."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("embedlab-test-book")
    book.set_title(title)
    book.set_language("en")
    items = []
    for i, (head, body) in enumerate(chapters, 1):
        ch = epub.EpubHtml(title=head, file_name=f"chap_{i}.xhtml", lang="en")
        ch.content = f"<html><head><title>{head}</title></head><body><h1>{head}</h1>{body}</body></html>"
        book.add_item(ch)
        items.append(ch)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    path.parent.mkdir(parents=True, exist_ok=True)
    epub.write_epub(str(path), book)
    return path


PAGE = """<!DOCTYPE html>
<html><head><meta charset="{charset}"><title>{title}</title></head>
<body>
<header class="site-header"><a href="/">Home</a> <a href="/news">News</a> <a href="/about">About us</a></header>
<nav><ul><li><a href="/a">Menu one</a></li><li><a href="/b">Menu two</a></li></ul></nav>
<div id="cookie-banner">We use cookies to improve your experience. Accept all cookies.</div>
<main>
<article>
<h1>{heading}</h1>
<p>{first}</p>
<h2>{sub}</h2>
<p>{second}</p>
<ul class="related"><li><a href="/1">Related story one</a></li><li><a href="/2">Related story two</a></li>
<li><a href="/3">Related story three</a></li></ul>
</article>
</main>
<aside>Advertisement: buy our product today</aside>
<footer>Copyright 2024 Example News. All rights reserved.</footer>
</body></html>
"""


def html_page(charset: str, title: str, heading: str, first: str, sub: str, second: str) -> str:
    return PAGE.format(charset=charset, title=title, heading=heading, first=first, sub=sub, second=second)
