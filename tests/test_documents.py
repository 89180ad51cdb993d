"""The document readers (embedlab.documents): PDF text per page with page numbers and bookmarks, HTML main text
in any declared or undeclared encoding, Word paragraphs/headings/tables, EPUB chapters in reading order, type
told by content — and every kind of bad document refused with its reason (encrypted, damaged, scanned, a zip
that is not a Word file, DRM)."""

from __future__ import annotations

import time

import pytest
from doc_builders import (
    encrypt_pdf,
    html_page,
    long_pdf,
    pdf_bytes,
    with_outline,
    write_docx,
    write_epub,
    write_pdf,
    write_zip,
)

from embedlab.documents import (
    NoTextError,
    UnreadableFileError,
    detect,
    read_docx,
    read_epub,
    read_html,
    read_pdf,
)
from embedlab.ingest import read_sources
from embedlab.passages import split_records

pytest.importorskip("pypdf")
pytest.importorskip("docx")
pytest.importorskip("bs4")
pytest.importorskip("ebooklib")


# ----------------------------------------------------------------------------------------------------- PDF
def test_pdf_text_per_page_title_and_bookmark_headings(tmp_path):
    p = write_pdf(tmp_path / "r.pdf", ["Intro page\nThe night ferry.", "Second page text", "Third (and last)"],
                  title="Harbour report")
    with_outline(p, [("Chapter One", 0), ("Chapter Two", 1)])
    doc = read_pdf(p)
    assert (doc.format, doc.title, doc.pages, doc.notes) == ("pdf", "Harbour report", 3, [])
    assert [(s.page, s.heading) for s in doc.sections] == [(1, "Chapter One"), (2, "Chapter Two"),
                                                          (3, "Chapter Two")]
    assert doc.sections[0].text == "Intro page\nThe night ferry." and doc.sections[2].text == "Third (and last)"
    text, spans = doc.text_and_spans()
    assert text == "Intro page\nThe night ferry.\n\nSecond page text\n\nThird (and last)"
    assert [s.start for s in spans] == [0, text.index("Second"), text.index("Third")]


def test_encrypted_pdf_needs_its_password_unless_only_the_owner_has_one(tmp_path):
    plain = write_pdf(tmp_path / "plain.pdf", ["Secret budget numbers"])
    locked = encrypt_pdf(plain, tmp_path / "locked.pdf", user="secret")
    with pytest.raises(UnreadableFileError, match=r"locked.pdf is encrypted and needs a password.*qpdf --decrypt"):
        read_pdf(locked)
    for algorithm in ("RC4-128", "AES-128", "AES-256"):  # restricts editing only: opens with the empty password
        opened = encrypt_pdf(plain, tmp_path / f"owner-{algorithm}.pdf", user="", algorithm=algorithm)
        assert read_pdf(opened).sections[0].text == "Secret budget numbers"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "not-a-pdf"])
def test_damaged_pdf_is_named_as_such(tmp_path, damage):
    good = pdf_bytes(["Some text on a page"] * 3)
    data = {"truncated": good[: len(good) // 2], "garbage": b"%PDF-1.7\n" + b"\x13garbage " * 200,
            "not-a-pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog"}[damage]
    p = tmp_path / "broken.pdf"
    p.write_bytes(data)
    with pytest.raises(UnreadableFileError, match=r"broken.pdf is a damaged PDF \(.*\); repair it"):
        read_pdf(p)


def test_scanned_pdf_without_text_layer_is_reported_not_indexed_empty(tmp_path):
    scan = write_pdf(tmp_path / "scan.pdf", [None, None, None])
    with pytest.raises(NoTextError, match=r"scan.pdf has no text layer: 3 of its 3 page\(s\) are images only.*"
                                          "ocrmypdf"):
        read_pdf(scan)
    blank = write_pdf(tmp_path / "blank.pdf", [""])
    with pytest.raises(NoTextError, match=r"blank.pdf has no text on any of its 1 page"):
        read_pdf(blank)
    mixed = read_pdf(write_pdf(tmp_path / "mixed.pdf", ["Typed cover page", None, None, "Typed appendix"]))
    assert [s.page for s in mixed.sections] == [1, 4]
    assert mixed.notes == [f"{tmp_path / 'mixed.pdf'}: page(s) 2-3 have no text layer (images only) and were not "
                           "indexed; OCR the file (e.g. ocrmypdf) to index them"]
    # in a folder: the scan is skipped with its reason, the rest is read
    recs = read_sources(tmp_path, strict=False)
    assert sorted(r.id for r in recs) == ["mixed.pdf"]
    assert any("scan.pdf has no text layer" in s for s in recs.skipped)
    assert any("blank.pdf has no text" in s for s in recs.skipped)
    assert recs.notes == mixed.notes and recs.pages == 4
    with pytest.raises(NoTextError):
        read_sources(tmp_path, strict=True)


def test_a_500_page_pdf_is_read_and_split_with_page_numbers(tmp_path):
    p = long_pdf(tmp_path / "long.pdf", 500)
    start = time.perf_counter()
    recs = read_sources(p)
    read_s = time.perf_counter() - start
    items, stats = split_records(recs.records, max_tokens=200, overlap=20)
    split_s = time.perf_counter() - start - read_s
    print(f"\n500-page PDF ({p.stat().st_size / 2**20:.1f} MiB): read {read_s:.2f} s "
          f"({500 / read_s:.0f} pages/s), split into {stats.passages} passages in {split_s:.2f} s")
    assert recs.pages == 500 and recs[0].metadata["pages"] == 500
    assert recs[0].metadata["title"] == "A report of 500 pages"
    assert stats.split == 1 and stats.passages > 500
    pages = [(it.metadata["page"], it.metadata["page_end"]) for it in items]
    assert pages[0][0] == 1 and pages[-1][1] == 500
    assert all(a <= b for a, b in pages) and all(p1[0] <= p2[0] for p1, p2 in zip(pages, pages[1:], strict=False))
    for it in items:  # a passage that starts a page's text starts on that page
        if it.item.startswith("Page "):
            assert it.metadata["page"] == int(it.item.split()[1])
    assert {it.metadata["doc_id"] for it in items} == {"long.pdf"}


# ----------------------------------------------------------------------------------------------------- HTML
def test_html_main_text_without_navigation_boilerplate(tmp_path):
    page = html_page("utf-8", "Rail news", "High-speed trains", "A high-speed train crosses the country in hours.",
                     "History", "The first line opened in 1964.")
    p = tmp_path / "news.html"
    p.write_text(page, "utf-8")
    doc = read_html(p)
    text, _ = doc.text_and_spans()
    assert doc.title == "Rail news"
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("High-speed trains", "High-speed trains\nA high-speed train crosses the country in hours."),
        ("History", "History\nThe first line opened in 1964."),
    ]
    for furniture in ("Home", "Menu one", "cookies", "Related story", "Advertisement", "Copyright"):
        assert furniture not in text


def test_html_without_main_keeps_the_body_and_article_header(tmp_path):
    p = tmp_path / "plain.htm"
    p.write_text("<html><body><div class='navbar'><a href='/'>Home</a></div><article><header><h1>Bread</h1>"
                 "</header><p>Bread is baked in a hot oven.</p><footer>By the baker</footer></article>"
                 "<div class='article-body'>Nothing here is boilerplate.</div></body></html>", "utf-8")
    doc = read_html(p)
    assert doc.title == "Bread"  # no <title>: the first heading
    text, _ = doc.text_and_spans()
    assert "Bread is baked in a hot oven." in text and "By the baker" in text and "Home" not in text
    assert "Nothing here is boilerplate." not in text  # a single <article> is the main content


@pytest.mark.parametrize("case", ["meta-euc-kr", "meta-latin1", "none-utf8", "none-cp949", "lies-utf8", "bom-utf16",
                                  "none-latin1", "lies-latin1",
                                  "http-equiv"])
def test_html_in_any_encoding(tmp_path, case):
    korean = html_page("{cs}", "고속철도 뉴스", "고속철도", "고속철도는 도시 사이를 빠르게 달리는 기차입니다.", "역사",
                       "첫 노선은 2004년에 개통했습니다.")
    french = html_page("{cs}", "Café crème", "Déjà vu", "Le garçon apporte un café – très chaud.", "Œuvres",
                       "Les élèves étudient à l’école.")
    p = tmp_path / "page.html"
    want, note = "고속철도는 도시", None
    if case == "meta-euc-kr":
        p.write_bytes(korean.replace("{cs}", "euc-kr").encode("cp949"))
    elif case == "meta-latin1":  # labelled latin-1, holds cp1252's quotes and dashes, as browsers expect
        p.write_bytes(french.replace("{cs}", "iso-8859-1").encode("cp1252"))
        want = "Le garçon apporte un café – très chaud."
    elif case == "none-utf8":
        p.write_bytes(korean.replace('<meta charset="{cs}">', "").encode("utf-8"))
    elif case == "none-cp949":
        p.write_bytes(korean.replace('<meta charset="{cs}">', "").encode("cp949"))
        note = "declares no charset; read as cp949 (detected)"
    elif case == "lies-utf8":  # says UTF-8, is cp949
        p.write_bytes(korean.replace("{cs}", "utf-8").encode("cp949"))
        note = "declares utf-8 but is not valid utf-8; read as cp949 (detected)"
    elif case in ("none-latin1", "lies-latin1"):  # Western European text in latin-1: not Baltic, not Central European
        p.write_bytes(french.replace('<meta charset="{cs}">', "" if case == "none-latin1" else '<meta charset="utf-8">')
                      .replace(" – ", " - ").replace("’", "'").replace("Œ", "Oe").encode("latin-1"))
        want = "Le garçon apporte un café - très chaud."
        note = ("declares no charset; read as cp1252 (detected)" if case == "none-latin1" else
                "declares utf-8 but is not valid utf-8; read as cp1252 (detected)")
    elif case == "bom-utf16":
        p.write_bytes(korean.replace('<meta charset="{cs}">', "").encode("utf-16"))
    else:
        p.write_bytes(korean.replace('<meta charset="{cs}">', '<meta http-equiv="Content-Type" '
                                     'content="text/html; charset=EUC-KR">').encode("cp949"))
    doc = read_html(p)
    text, _ = doc.text_and_spans()
    assert want in text and "\ufffd" not in text
    assert doc.notes == ([f"{p}: {note}"] if note else [])


def test_html_encoding_given_by_the_user_is_tried_before_detection(tmp_path):
    p = tmp_path / "page.html"
    p.write_bytes("<html><body><p>Kurze Übersicht über Größen</p></body></html>".encode("cp1252"))
    recs = read_sources(p, encoding="cp1252")
    assert recs[0].item == "Kurze Übersicht über Größen" and recs.notes == [f"{p}: declares no charset; read as "
                                                                             "cp1252 (given)"]


# ----------------------------------------------------------------------------------------------------- Word
def test_docx_paragraphs_headings_and_tables(tmp_path):
    p = write_docx(tmp_path / "plan.docx", [("title", "Annual plan"), ("p", "What we will do next year."),
                                            ("h1", "Budget"), ("p", "We spend on trains."),
                                            ("table", [["Item", "Cost"], ["Rails", "10"]]), ("h2", "Details"),
                                            ("p", "More about the rails.")], title="Plan 2024")
    doc = read_docx(p)
    assert doc.title == "Plan 2024"
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("Annual plan", "Annual plan\nWhat we will do next year."),
        ("Budget", "Budget\nWe spend on trains.\nItem | Cost\nRails | 10"),
        ("Details", "Details\nMore about the rails."),
    ]


def test_a_docx_that_is_a_zip_of_something_else_or_damaged(tmp_path):
    fake = write_zip(tmp_path / "report.docx", {"data.csv": "a,b\n1,2\n", "notes.txt": "hello"})
    with pytest.raises(UnreadableFileError, match=r"report.docx is not a Word document \(.docx\): its content is a "
                                                  r"zip archive \(it holds: data.csv, notes.txt\)"):
        read_sources(fake, strict=True)
    broken = write_zip(tmp_path / "broken.docx", {"[Content_Types].xml": "<Types", "word/document.xml": "<w:doc"})
    with pytest.raises(UnreadableFileError, match=r"broken.docx is a damaged Word document"):
        read_docx(broken)
    not_zip = tmp_path / "text.docx"
    not_zip.write_text("just text", "utf-8")
    with pytest.raises(UnreadableFileError, match=r"text.docx is not a Word document \(.docx\): its content is "
                                                  "something else"):
        read_sources(not_zip, strict=True)
    old = tmp_path / "old.doc"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    write_docx(tmp_path / "good.docx", [("p", "A good document.")])
    recs = read_sources(tmp_path)
    assert [r.id for r in recs] == ["good.docx"]
    assert any("report.docx is not a Word document" in s for s in recs.skipped)
    assert any("broken.docx is a damaged Word document" in s for s in recs.skipped)
    assert any("old.doc is an old Microsoft Office file (.doc/.xls/.ppt), which is not read; save it as .docx" in s
               for s in recs.skipped)


# ----------------------------------------------------------------------------------------------------- EPUB
def test_epub_chapters_in_reading_order(tmp_path):
    p = write_epub(tmp_path / "book.epub", [("Departure", "<p>The train leaves at nine.</p>"),
                                            ("Arrival", "<p>The ferry docks at noon.</p><h2>Later</h2><p>Rain.</p>")],
                   title="Two journeys")
    doc = read_epub(p)
    assert doc.title == "Two journeys"
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("Departure", "Departure\nThe train leaves at nine."), ("Arrival", "Arrival\nThe ferry docks at noon."),
        ("Later", "Later\nRain."),
    ]


def test_epub_chapters_that_are_bare_xml_read_without_a_parser_warning(tmp_path):
    """Some books' chapters are XML fragments (no <html>): bs4 would print XMLParsedAsHTMLWarning for each."""
    import warnings
    import zipfile

    built = write_epub(tmp_path / "built.epub", [("One", "<p>Text.</p>")])
    p = tmp_path / "book.epub"
    bare = b"<?xml version='1.0' encoding='utf-8'?>\n<section><h1>One</h1><p>The ferry docks at noon.</p></section>"
    with zipfile.ZipFile(built) as src, zipfile.ZipFile(p, "w") as dst:
        for info in src.infolist():  # the same entries in the same order (mimetype first, stored)
            dst.writestr(info, bare if info.filename.endswith("chap_1.xhtml") else src.read(info))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = read_epub(p)
    assert [(s.heading, s.text) for s in doc.sections] == [("One", "One\nThe ferry docks at noon.")]


def test_epub_with_drm_or_damage_is_refused(tmp_path):
    p = write_epub(tmp_path / "book.epub", [("One", "<p>Text.</p>")])
    import zipfile

    drm = tmp_path / "drm.epub"
    with zipfile.ZipFile(p) as src, zipfile.ZipFile(drm, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("META-INF/encryption.xml", '<encryption><EncryptedData><CipherData><CipherReference '
                                                'URI="EPUB/chap_1.xhtml"/></CipherData></EncryptedData></encryption>')
    with pytest.raises(UnreadableFileError, match=r"drm.epub is protected by DRM"):
        read_epub(drm)
    broken = write_zip(tmp_path / "broken.epub", {"mimetype": "application/epub+zip", "META-INF/container.xml": "<x"})
    with pytest.raises(UnreadableFileError, match=r"broken.epub is a damaged EPUB"):
        read_epub(broken)


# ----------------------------------------------------------------------------------------------------- detection
def test_type_is_told_by_content_not_only_extension(tmp_path):
    pdf = write_pdf(tmp_path / "report", ["A PDF without an extension"])
    misnamed = write_pdf(tmp_path / "notes.txt", ["A PDF named .txt"])
    word = write_docx(tmp_path / "memo.bin", [("p", "A Word file named .bin")])
    page = tmp_path / "page.pdf"
    page.write_text("<!DOCTYPE html><html><body><p>An HTML page named .pdf</p></body></html>", "utf-8")
    md = tmp_path / "readme.md"
    md.write_text("<html> in Markdown stays Markdown", "utf-8")
    assert [detect(p) for p in (pdf, misnamed, word, page, md)] == ["pdf", "pdf", "docx", "html", "html"]
    recs = read_sources(tmp_path)
    got = {r.id: (r.metadata.get("format"), r.item) for r in recs}
    assert got == {"report": ("pdf", "A PDF without an extension"), "notes.txt": ("pdf", "A PDF named .txt"),
                   "memo.bin": ("docx", "A Word file named .bin"), "page.pdf": ("html", "An HTML page named .pdf"),
                   "readme.md": (None, "<html> in Markdown stays Markdown")}


def test_documents_keep_page_and_heading_in_their_passages(tmp_path):
    p = write_pdf(tmp_path / "two.pdf", ["alpha " * 30, "beta " * 30])
    with_outline(p, [("Part A", 0), ("Part B", 1)])
    recs = read_sources(p)
    items, stats = split_records(recs.records, max_tokens=20, overlap=5)
    assert stats.passages == 4
    got = [(it.metadata["page"], it.metadata["page_end"], it.metadata["heading"], it.item.split()[0]) for it in items]
    assert got == [(1, 1, "Part A", "alpha"), (1, 2, "Part A", "alpha"), (2, 2, "Part B", "beta"),
                   (2, 2, "Part B", "beta")]
    short, _ = split_records(read_sources(write_docx(tmp_path / "d.docx", [("h1", "Only"), ("p", "x y")])).records)
    assert short[0].metadata == {"file": "d.docx", "format": "docx", "title": "Only", "heading": "Only"}
    assert short[0].item == "Only\nx y"  # the text is the item (stored once, as the content)


class _WordPieceLike:
    """An encoder whose tokenizer writes WordPiece pieces (lower-cased, punctuation split off, ``##`` continuations,
    no word-start marks), as a static encoder distilled from MiniLM does."""

    max_length, has_tokenizer = 512, True

    @staticmethod
    def tokenize(text):
        import re

        out = []
        for word in re.findall(r"\w+|[^\w\s]", text.lower()):
            out.extend([word[:3]] + [f"##{word[i:i + 3]}" for i in range(3, len(word), 3)])
        return out


def test_passages_of_a_wordpiece_tokenizer_keep_the_text_pages_and_headings(tmp_path):
    p = write_pdf(tmp_path / "two.pdf", ["Alpha, Bread. " * 15, "Beta; Museum! " * 15])
    with_outline(p, [("Part A", 0), ("Part B", 1)])
    items, stats = split_records(read_sources(p).records, encoder=_WordPieceLike(), max_tokens=40, overlap=8)
    assert stats.passages == 6  # 180 tokens, 13 words (39 tokens) a passage, 2 words (6 tokens) of overlap
    got = [(it.metadata["page"], it.metadata["page_end"], it.metadata["heading"], it.item.split()[0]) for it in items]
    assert got == [(1, 1, "Part A", "Alpha,"), (1, 1, "Part A", "Bread."), (1, 2, "Part A", "Alpha,"),
                   (2, 2, "Part B", "Museum!"), (2, 2, "Part B", "Beta;"), (2, 2, "Part B", "Museum!")]
    assert [len(_WordPieceLike.tokenize(it.item)) for it in items] == [39, 39, 39, 39, 39, 15]
    text = " ".join(read_sources(p).records[0].item.split())
    assert all(" ".join(it.item.split()) in text for it in items)  # the original words, spelling and spaces


def test_missing_parser_names_the_extra(tmp_path, monkeypatch):
    import sys

    from embedlab.errors import MissingDependencyError

    pdf = write_pdf(tmp_path / "a.pdf", ["text"])
    for module, reader, path in (("pypdf", read_pdf, pdf), ("docx", read_docx, tmp_path / "a.docx"),
                                 ("bs4", read_html, tmp_path / "a.html"), ("ebooklib", read_epub, tmp_path / "a.epub")):
        path.write_bytes(path.read_bytes() if path.exists() else b"<html><p>x</p></html>")
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
        with pytest.raises(MissingDependencyError, match=rf"'{module}' is needed for reading .*pip install "
                                                         r"'embedlab\[documents\]'"):
            reader(path)
    # in a folder (a core install with a stray PDF among text files): skipped and counted, the rest is read
    (tmp_path / "notes.txt").write_text("A plain note.", "utf-8")
    recs = read_sources(tmp_path)
    assert [r.id for r in recs] == ["notes.txt"]
    assert f"1 document(s) in {tmp_path} not read: 'pypdf' is needed for reading PDF files; install it with: pip " \
           "install 'embedlab[documents]'" in recs.skipped
    with pytest.raises(MissingDependencyError):
        read_sources(tmp_path, strict=True)


def test_docs_and_text_files_dedupe_by_content(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "readme.txt").write_text("Same words in two places.", "utf-8")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "readme.txt").write_text("Same words in two places.", "utf-8")
    (tmp_path / "b" / "copy.md").write_text("Same words in two places.", "utf-8")
    (tmp_path / "c.txt").write_text("Different words.", "utf-8")
    recs = read_sources(tmp_path)
    assert [r.id for r in recs] == ["a/readme.txt", "c.txt"]
    first = str(tmp_path / "a" / "readme.txt")
    assert recs.duplicates == [(str(tmp_path / "b" / "copy.md"), first), (str(tmp_path / "b" / "readme.txt"), first)]


def test_path_ids_let_same_names_coexist(tmp_path):
    for folder in ("a", "b", "b/c"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "readme.txt").write_text(f"The readme of {folder}.", "utf-8")
    assert [r.id for r in read_sources(tmp_path)] == ["a/readme.txt", "b/c/readme.txt", "b/readme.txt"]
    assert [r.id for r in read_sources(tmp_path / "b")] == ["c/readme.txt", "readme.txt"]


def test_reading_shows_files_and_pages_per_second(tmp_path, monkeypatch):
    import embedlab.ingest.read as reading

    calls: dict[str, list] = {"open": [], "update": [], "postfix": []}

    class Bar:
        def __init__(self, total, desc, unit="it", enabled=True):
            calls["open"].append((total, desc, unit, enabled))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            calls["update"].append(n)

        def set_postfix_str(self, text, refresh=True):
            calls["postfix"].append(text)

    monkeypatch.setattr(reading, "progress_bar", Bar)
    write_pdf(tmp_path / "d" / "a.pdf", ["one", "two", "three"])
    (tmp_path / "d" / "b.txt").write_text("text", "utf-8")
    (tmp_path / "d" / "skip.bin").write_bytes(b"\x00")
    single = write_pdf(tmp_path / "single.pdf", ["alone"])
    recs = read_sources([tmp_path / "d", single], progress=True)
    assert recs.pages == 4
    assert calls["open"] == [(4, "reading", "file", True)]  # every file of the folder, and the one given
    assert sum(calls["update"]) == 4
    assert calls["postfix"][-1].startswith("4 pages, ") and calls["postfix"][-1].endswith(" pages/s")
