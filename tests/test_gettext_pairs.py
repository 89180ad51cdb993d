"""Reading English → Korean pairs from gettext .mo catalogues: a catalogue the test writes itself (binary .mo
format, and through msgfmt where installed), message cleaning, and a sanity check on the system catalogues."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from embedlab.data_sources.gettext_pairs import catalogue_files, clean_message, load_gettext_pairs, read_mo, word_count
from embedlab.errors import CorruptFileError, InputError

HEADER = "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=1; plural=0;\n"

# (msgid, msgstr); plural msgids/msgstrs joined by NUL, contexts by \x04, as in the .mo format
ENTRIES = [
    ("", HEADER),
    ("_Open the selected file in a new window", "선택한 파일을 새 창에서 열기(_O)"),
    ("Could not read file “%s”: %s", "“%s” 파일을 읽을 수 없습니다: %s"),
    ("menu\x04Save the document to disk", "문서를 디스크에 저장"),
    ("Deleted %d old file from the cache\x00Deleted %d old files from the cache", "캐시에서 오래된 파일 %d개를 삭제했습니다"),
    ("<b>Warning:</b> the disk is almost full", "<b>경고:</b> 디스크가 거의 가득 찼습니다"),
    ("Quit", "끝내기"),  # too short
    ("This message is not translated yet", ""),  # untranslated
    ("This message has the same text", "This message has the same text"),  # untranslated (copied)
    ("Print the version number and exit now", "버전 번호를 출력하고 끝냅니다"),
    ("print the version number and exit now", "버전을 출력하고 종료"),  # duplicate English (case-insensitive)
    ("Show the version number and then exit", "버전 번호를 출력하고 끝냅니다"),  # duplicate Korean
    ("Use only ASCII letters in the name", "Use only ASCII letters in the name!"),  # no Hangul
]


def write_mo(path: Path, entries: list[tuple[str, str]]) -> Path:
    """A little-endian GNU .mo file (magic 0x950412de, revision 0, no hash table), originals sorted."""
    entries = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in entries)
    n = len(entries)
    ids_off, strs_off = 28, 28 + 8 * n
    data_off = strs_off + 8 * n
    blob = b""
    id_table, str_table = [], []
    for k, _ in entries:
        id_table.append((len(k), data_off + len(blob)))
        blob += k + b"\0"
    for _, v in entries:
        str_table.append((len(v), data_off + len(blob)))
        blob += v + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, n, ids_off, strs_off, 0, data_off)
    tables = b"".join(struct.pack("<2I", *t) for t in id_table + str_table)
    path.write_bytes(head + tables + blob)
    return path


def test_read_mo_handles_plural_and_context(tmp_path):
    mo = write_mo(tmp_path / "demo.mo", ENTRIES)
    raw = {(m, c): (s, p) for m, s, c, p in read_mo(mo)}
    assert ("", None) not in raw  # the header is not a message
    assert raw[("Deleted %d old file from the cache", None)] == ("캐시에서 오래된 파일 %d개를 삭제했습니다", True)
    assert raw[("Save the document to disk", "menu")] == ("문서를 디스크에 저장", False)
    assert len(raw) == len(ENTRIES) - 1


def test_load_pairs_cleans_filters_and_deduplicates(tmp_path):
    mo = write_mo(tmp_path / "demo.mo", ENTRIES)
    pairs, stats = load_gettext_pairs(files=[mo])
    got = {p.en: p.ko for p in pairs}
    assert got == {
        "Open the selected file in a new window": "선택한 파일을 새 창에서 열기",
        "Could not read file": "파일을 읽을 수 없습니다",
        "Save the document to disk": "문서를 디스크에 저장",
        "Deleted old file from the cache": "캐시에서 오래된 파일 개를 삭제했습니다",
        "Warning: the disk is almost full": "경고: 디스크가 거의 가득 찼습니다",
        "Print the version number and exit now": "버전 번호를 출력하고 끝냅니다",
    }
    assert {p.context for p in pairs if p.en.startswith("Save")} == {"menu"}
    assert all(p.domain == "demo" for p in pairs)
    assert (stats.files, stats.entries, stats.plural, stats.with_context) == (1, 12, 1, 1)
    assert (stats.untranslated, stats.no_target_script, stats.too_short) == (2, 1, 1)
    assert (stats.duplicate_en, stats.duplicate_translation, stats.kept) == (1, 1, 6)


def test_min_words_and_missing_input(tmp_path):
    mo = write_mo(tmp_path / "demo.mo", ENTRIES)
    pairs, _ = load_gettext_pairs(files=[mo], min_words=7)
    assert {p.en for p in pairs} == {"Open the selected file in a new window", "Print the version number and exit now"}
    with pytest.raises(InputError, match="no gettext catalogues found"):
        load_gettext_pairs("xx", locale_dir=tmp_path)
    with pytest.raises(InputError, match="min_words must be >= 1"):
        load_gettext_pairs(files=[mo], min_words=0)
    bad = tmp_path / "bad.mo"
    bad.write_bytes(b"this is not a catalogue")
    with pytest.raises(CorruptFileError, match="not a readable gettext .mo catalogue"):
        read_mo(bad)
    pairs, stats = load_gettext_pairs(files=[bad, mo])  # a broken file is reported and skipped
    assert stats.unreadable == [str(bad)] and stats.kept == 6


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="msgfmt (gettext) is not installed")
def test_msgfmt_compiled_catalogue(tmp_path):
    po = tmp_path / "tool.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
                  '"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
                  'msgctxt "button"\nmsgid "_Remove all selected items"\nmsgstr "선택한 항목 모두 제거(_R)"\n\n'
                  'msgid "%d file was copied to the folder"\nmsgid_plural "%d files were copied to the folder"\n'
                  'msgstr[0] "파일 %d개를 폴더에 복사했습니다"\n', "utf-8")
    mo = tmp_path / "tool.mo"
    subprocess.run(["msgfmt", "-o", str(mo), str(po)], check=True)
    pairs, stats = load_gettext_pairs(files=[mo])
    assert {(p.en, p.ko, p.context) for p in pairs} == {
        ("Remove all selected items", "선택한 항목 모두 제거", "button"),
        ("file was copied to the folder", "파일 개를 폴더에 복사했습니다", None),
    }
    assert (stats.plural, stats.with_context) == (1, 1)


@pytest.mark.parametrize("raw, want", [
    ("_File name and &Save options", "File name and Save options"),
    ("max_connections must be at least %d", "max_connections must be at least"),
    ("Copy %1$s to %2$s {count} times", "Copy to times"),
    ("Progress: 100% done &amp; <i>saved</i>", "Progress: 100% done & saved"),
    ("%s: line %lu: invalid option\\n", "line: invalid option"),
    ("파일 열기(_O)...", "파일 열기..."),
])
def test_clean_message(raw, want):
    assert clean_message(raw) == want


def test_word_count():
    assert word_count("Could not open 3 files: don't retry") == 6
    assert word_count("12 34 -- 5") == 0
    assert word_count(clean_message("%s %d %lu")) == 0


@pytest.mark.skipif(not catalogue_files("ko"), reason="no Korean gettext catalogues installed here")
def test_system_catalogues_sanity():
    pairs, stats = load_gettext_pairs("ko")
    assert stats.files >= 10 and stats.kept >= 1000 and stats.kept == len(pairs)
    assert stats.entries == (stats.untranslated + stats.no_target_script + stats.too_short + stats.duplicate_en
                             + stats.duplicate_translation + stats.kept)
    assert all(word_count(p.en) >= 4 for p in pairs)
    assert len({p.en.casefold() for p in pairs}) == len(pairs) == len({p.ko.casefold() for p in pairs})
    # placeholders and accelerators are gone, except where a message documents them (date(1)'s "%d", "밑줄(_)")
    leftovers = sum("%s" in p.en or "%d" in p.en or "(_" in p.ko for p in pairs)
    assert leftovers <= len(pairs) // 1000
