"""English → translation message pairs from installed gettext catalogues (``.mo`` files), a real parallel corpus.

Debian installs thousands of translated program messages under ``/usr/share/locale/<lang>/LC_MESSAGES/``.
Nobody here wrote them, so they make an honest cross-lingual retrieval benchmark:

    >>> pairs, stats = load_gettext_pairs("ko")          # Korean; English msgid → Korean msgstr
    >>> pairs[0].en, pairs[0].ko, stats.kept

Catalogues are read with Python's ``gettext.GNUTranslations``. Plural entries give their singular msgid with
the first translated form; a message context (``ctx\\x04msgid``) is split off and kept. Messages are cleaned
(markup, menu accelerators such as ``_File`` / ``파일(_F)``, printf/brace placeholders, escapes, extra spaces),
pairs whose English has fewer than ``min_words`` words are dropped, and pairs are de-duplicated on both sides
(case-insensitively, first seen wins, files read in sorted order), so every message has exactly one partner.
"""

from __future__ import annotations

import gettext
import html
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CorruptFileError, InputError

DEFAULT_LOCALE_DIR = Path("/usr/share/locale")
CONTEXT_SEP = "\x04"

_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")
_PAREN_ACCEL = re.compile(r"\s*\(\s*[_&~][A-Za-z0-9]\s*\)")  # 파일(_F), 열기(&O)
_UNDERSCORE_ACCEL = re.compile(r"(?<![\w])_(?=[^\W_])")  # _File (but not max_connections)
_AMP_ACCEL = re.compile(r"&(?=[^\W\d_])(?![A-Za-z]+;|#\d+;)")  # &Open (but not &amp;)
_PRINTF = re.compile(
    r"%(?:\d+\$)?(?:\([A-Za-z_]\w*\))?[-+#0']*(?:\*|\d+)?(?:\.(?:\*|\d+))?"
    r"(?:hh|h|ll|l|L|q|j|z|Z|t|I64|I32|I)?(?:<\w+>|[diouxXeEfFgGaAcsSpnm])"
)
_BRACE = re.compile(r"\{[A-Za-z_0-9.\[\]]*(?:![rsa])?(?::[^{}]*)?\}")
_ESCAPES = re.compile(r"\\[ntr]")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_EMPTY_PAIR = re.compile(r"\s*(?:“\s*”|\"\s*\"|'\s*'|‘\s*’|«\s*»|\(\s*\)|\[\s*\]|<\s*>)")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")


@dataclass(frozen=True)
class MessagePair:
    """One cleaned message and its translation; ``domain`` is the catalogue (file stem), ``context`` its msgctxt."""

    en: str
    ko: str
    domain: str
    context: str | None = None


@dataclass
class PairStats:
    """What the reader found and why entries were dropped (each entry is counted once, at its first reason)."""

    files: int = 0
    entries: int = 0  # catalogue entries read (header excluded), one per msgid
    plural: int = 0  # of which plural entries
    with_context: int = 0  # of which had a msgctxt
    untranslated: int = 0  # empty translation, or identical to the English
    no_target_script: int = 0  # translation without Hangul (only checked for Korean)
    too_short: int = 0  # English shorter than min_words after cleaning
    duplicate_en: int = 0
    duplicate_translation: int = 0
    kept: int = 0
    unreadable: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clean_message(text: str) -> str:
    """A message as a reader sees it: no markup, accelerators, format placeholders, escapes or extra spaces.

    >>> clean_message("_Open the file “%s” (&amp; more)")
    'Open the file (& more)'
    """
    s = _TAG.sub(" ", text)
    s = _PAREN_ACCEL.sub("", s)
    s = _PRINTF.sub(" ", s.replace("%%", "%"))
    s = _BRACE.sub(" ", s)
    s = _UNDERSCORE_ACCEL.sub("", s)
    s = _AMP_ACCEL.sub("", s)
    s = html.unescape(s)
    s = _ESCAPES.sub(" ", s)
    s = " ".join(s.split())
    # placeholders removed from inside quotes or brackets leave "“ ”" / "( )": drop the empty pair
    s = _EMPTY_PAIR.sub("", s)
    s = re.sub(r"\s+([,.:;!?)])(?=\s|$)", r"\1", s)
    return " ".join(s.split()).strip(" :;,-")


def word_count(text: str) -> int:
    """Number of alphabetic words (numbers and symbols do not count)."""
    return len(_WORD.findall(text))


def read_mo(path: str | Path) -> list[tuple[str, str, str | None, bool]]:
    """Raw ``(msgid, msgstr, context, plural)`` entries of one ``.mo`` file, header excluded.

    Plural entries come once, as their singular msgid with the first plural form of the translation.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    try:
        # the parsed entries: GNUTranslations keeps them in its instance dict (typeshed leaves the private name out)
        catalog: dict[str | tuple[str, int], str] = vars(gettext.GNUTranslations(io.BytesIO(data)))["_catalog"]
    except Exception as exc:  # gettext raises OSError (bad magic), UnicodeDecodeError, struct.error on bad files
        raise CorruptFileError(f"{path} is not a readable gettext .mo catalogue ({exc}); check the file") from None
    out: list[tuple[str, str, str | None, bool]] = []
    plural_forms: dict[str, dict[int, str]] = {}
    for key, value in catalog.items():
        if isinstance(key, tuple):
            plural_forms.setdefault(key[0], {})[key[1]] = value
            continue
        if key == "":
            continue  # the header
        ctx, msgid = _split_context(key)
        out.append((msgid, value, ctx, False))
    for key, forms in plural_forms.items():
        if key == "":
            continue
        ctx, msgid = _split_context(key)
        out.append((msgid, forms[min(forms)], ctx, True))
    return out


def _split_context(key: str) -> tuple[str | None, str]:
    if CONTEXT_SEP in key:
        ctx, _, msgid = key.partition(CONTEXT_SEP)
        return ctx, msgid
    return None, key


def catalogue_files(locale: str = "ko", locale_dir: str | Path = DEFAULT_LOCALE_DIR) -> list[Path]:
    """The ``.mo`` files of one locale, sorted by name (empty if none are installed)."""
    folder = Path(locale_dir) / locale / "LC_MESSAGES"
    return sorted(folder.glob("*.mo")) if folder.is_dir() else []


def load_gettext_pairs(locale: str = "ko", locale_dir: str | Path = DEFAULT_LOCALE_DIR, *, min_words: int = 4,
                       files: Sequence[str | Path] | None = None) -> tuple[list[MessagePair], PairStats]:
    """Cleaned, de-duplicated (English, translation) pairs from a locale's installed catalogues, plus counts.

    ``files`` overrides the catalogue list (e.g. one test file). Raises InputError when there is nothing to read.
    The translation is stored in ``MessagePair.ko`` whatever the locale (the field names the benchmark's case).
    """
    if min_words < 1:
        raise InputError(f"min_words must be >= 1, got {min_words}")
    paths = [Path(f) for f in files] if files is not None else catalogue_files(locale, locale_dir)
    if not paths:
        raise InputError(f"no gettext catalogues found in {Path(locale_dir) / locale / 'LC_MESSAGES'}; install "
                         f"translated packages (Debian: the '{locale}' locale files ship with most packages) or "
                         "pass files=")
    stats = PairStats()
    pairs: list[MessagePair] = []
    seen_en: set[str] = set()
    seen_tr: set[str] = set()
    korean = locale.split("_")[0].lower() == "ko"
    for path in paths:
        try:
            entries = read_mo(path)
        except CorruptFileError:
            stats.unreadable.append(str(path))
            continue
        stats.files += 1
        pairs.extend(_keep(entries, path.stem, stats, seen_en, seen_tr, korean, min_words))
    stats.kept = len(pairs)
    return pairs, stats


def _keep(entries: Iterable[tuple[str, str, str | None, bool]], domain: str, stats: PairStats, seen_en: set[str],
          seen_tr: set[str], korean: bool, min_words: int) -> Iterable[MessagePair]:
    for msgid, msgstr, ctx, plural in sorted(entries, key=lambda e: (e[0], e[2] or "", e[3])):
        stats.entries += 1
        stats.plural += plural
        stats.with_context += ctx is not None
        en, tr = clean_message(msgid), clean_message(msgstr)
        if not tr or tr == en:
            stats.untranslated += 1
            continue
        if korean and not _HANGUL.search(tr):
            stats.no_target_script += 1
            continue
        if word_count(en) < min_words:
            stats.too_short += 1
            continue
        en_key, tr_key = en.casefold(), tr.casefold()
        if en_key in seen_en:
            stats.duplicate_en += 1
            continue
        if tr_key in seen_tr:
            stats.duplicate_translation += 1
            continue
        seen_en.add(en_key)
        seen_tr.add(tr_key)
        yield MessagePair(en, tr, domain, ctx)
