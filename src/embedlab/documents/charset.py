"""Decode an HTML file's bytes: the byte-order mark, then the charset the page declares, then UTF-8, then the
encoding the user gave, then detection (charset-normalizer); what was guessed is said in a note."""

from __future__ import annotations

import codecs
import re

from .model import UnreadableFileError

_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.I)
_XML = re.compile(rb"""\A(?:\xef\xbb\xbf)?<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._\-]+)""", re.I)
# Labels that browsers read as a wider encoding (the WHATWG Encoding Standard): pages labelled with the narrow one
# routinely hold bytes only the wider one has.
_WIDER = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
          "iso-8859-9": "cp1254", "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "gb2312": "gb18030",
          "gbk": "gb18030", "shift_jis": "cp932", "x-sjis": "cp932", "tis-620": "cp874", "iso-8859-11": "cp874"}


def declared(data: bytes) -> str | None:
    """The charset a page declares in its first 4 KiB (``<meta charset>``, ``<meta http-equiv>``, ``<?xml
    encoding?>``), as a Python codec name; None when none, or an unknown one, is declared.

    Parameters
    ----------
    data : bytes
        The page's bytes.

    Returns
    -------
    str or None
        A codec name.
    """
    found = _XML.search(data) or _META.search(data[:4096])
    if not found:
        return None
    label = found.group(1).decode("ascii").strip().lower()
    label = _WIDER.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_html(data: bytes, path: str, fallback: str | None = None, errors: str = "strict") -> tuple[str, str | None]:
    """The text of an HTML page, and a note when its encoding had to be guessed (None when it was declared, or
    the page is valid UTF-8).

    Parameters
    ----------
    data : bytes
        The page's bytes.
    path : str
        Its path, for messages.
    fallback : str or None
        An encoding to try after UTF-8, before detecting one (the user's ``--encoding``).
    errors : str
        ``"strict"``, or ``"replace"`` to decode with replacement characters when nothing fits.

    Returns
    -------
    tuple of (str, str or None)
        The text and the note.

    Raises
    ------
    UnreadableFileError
        When no encoding fits (and ``errors`` is strict).
    """
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec), None
            except UnicodeDecodeError:
                break
    said = declared(data)
    tried: list[str] = []
    if said:
        try:
            return data.decode(said), None
        except UnicodeDecodeError:
            tried.append(said)
    for codec in [c for c in ("utf-8", fallback) if c]:
        if codec not in tried:
            try:
                text = data.decode(codec)
            except (UnicodeDecodeError, LookupError):
                tried.append(codec)
                continue
            return text, _note(path, said, codec, "given" if codec == fallback and codec != "utf-8" else None)
    guess = _detect(data)
    if guess:
        try:
            return data.decode(guess), _note(path, said, guess, "detected")
        except (UnicodeDecodeError, LookupError):
            pass
    if errors == "replace":
        return data.decode(said or "utf-8", errors="replace"), f"{path}: undecodable bytes replaced (tried " \
            f"{', '.join(tried)})"
    head = f"{path} is not valid text in any encoding tried ({', '.join(tried)}); pass its encoding with --encoding"
    raise UnreadableFileError(f"{head} (encoding=), or use --encoding-errors replace (errors='replace')",
                              cli=f"{head}, or use --encoding-errors replace")


def _note(path: str, said: str | None, used: str, how: str | None) -> str | None:
    if said:
        return f"{path}: declares {said} but is not valid {said}; read as {used}" + (f" ({how})" if how else "")
    if how:
        return f"{path}: declares no charset; read as {used} ({how})"
    return None


def guess_encoding(data: bytes) -> str | None:
    """The likeliest encoding of text bytes (charset-normalizer, Western European text read as windows-1252).

    Parameters
    ----------
    data : bytes
        The text's bytes.

    Returns
    -------
    str or None
        A Python codec name that decodes ``data``; None when nothing fits or charset-normalizer is not installed.
    """
    found = _detect(data)
    if found is not None and b"\x00" not in data and codecs.lookup(found).name.startswith(("utf-16", "utf-32")):
        found = None  # text without NUL bytes is not UTF-16/32 (a short text can look like it to a detector)
    if found is not None:
        try:
            data.decode(found)
            return found
        except (UnicodeDecodeError, LookupError):
            pass
    # too short for the detector: the two code pages these files mostly come in, when the text reads as theirs
    for codec, reads in (("cp949", _has_hangul), ("cp1252", _reads_as_western)):
        try:
            if reads(data.decode(codec)):
                return codec
        except UnicodeDecodeError:
            continue
    return None


def _has_hangul(text: str) -> bool:
    return any("\uac00" <= c <= "\ud7a3" for c in text)


def _detect(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - part of the documents extra
        return None
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    found = str(best.encoding)
    # Short Western European text fits several single-byte code pages about equally (charset-normalizer may pick
    # Baltic cp1257 or Central European cp1250 for French); when windows-1252 also decodes it into Western
    # European letters, take it, as browsers do for pages that declare nothing.
    if found != "cp1252" and len(bytes(range(128, 256)).decode(found, errors="replace")) == 128:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return found
        if _reads_as_western(text):
            return "cp1252"
    return found


def _reads_as_western(text: str) -> bool:
    """Every non-ASCII letter is a Western European one, and no other non-ASCII character sits inside a word
    (Polish read as cp1252 gives ``Za¿ó³æ``)."""
    for i, c in enumerate(text):
        if ord(c) < 128:
            continue
        if c.isalpha():
            if c not in _WESTERN_LETTERS:
                return False
        elif 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha():
            return False
    return True


# The accented letters of Western European languages (not Icelandic's eth and thorn, which cp1252 gives Baltic
# and Central European bytes): a cp1252 reading with any other letter is not Western text.
_WESTERN_LETTERS = frozenset("àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœšžßÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝŸŒŠŽªº")
