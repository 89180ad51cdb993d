"""Reading sources into records: formats, ids, metadata, and clear errors for every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embedlab.errors import EmbedlabError, InputError
from embedlab.ingest import Record, read_sources, read_text_file


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_text_file_id_is_its_name(tmp_path):
    p = write(tmp_path / "cats.txt", "Cats purr.\n")
    recs = read_sources(p)
    assert list(recs) == [Record("cats.txt", "Cats purr.\n", {"file": "cats.txt"}, str(p))]


def test_folder_recursive_text_only_with_skips(tmp_path):
    write(tmp_path / "a.txt", "alpha")
    write(tmp_path / "sub" / "b.md", "# beta")
    write(tmp_path / "sub" / "deep" / "c.txt", "gamma")
    write(tmp_path / "photo.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    write(tmp_path / ".hidden" / "d.txt", "hidden")
    write(tmp_path / "empty.txt", "")
    recs = read_sources(tmp_path)
    assert [r.id for r in recs] == ["a.txt", "sub/b.md", "sub/deep/c.txt"]
    assert recs[1].metadata == {"file": "sub/b.md", "folder": "sub"}
    assert recs[2].metadata["folder"] == "sub/deep"
    assert any("empty" in s for s in recs.skipped)
    assert any(".jpg" in s for s in recs.skipped)


def test_folder_takes_media_for_multimodal_encoders(tmp_path):
    write(tmp_path / "note.txt", "hello")
    write(tmp_path / "cat.png", b"\x89PNG\r\n\x1a\n....")
    write(tmp_path / "bark.wav", b"RIFF....WAVE")
    image = read_sources(tmp_path, modalities=("image",))
    assert [r.id for r in image] == ["cat.png"]
    cat = image[0]
    assert cat.item == tmp_path / "cat.png" and isinstance(cat.item, Path)
    assert cat.metadata["modality"] == "image"
    both = read_sources(tmp_path, modalities=("text", "image", "audio"))
    assert sorted(r.id for r in both) == ["bark.wav", "cat.png", "note.txt"]
    audio = read_sources(tmp_path, modalities=("audio",))  # no text files for an audio-only encoder
    assert [r.id for r in audio] == ["bark.wav"] and any(".txt" in s for s in audio.skipped)
    with pytest.raises(InputError, match=r"note.txt is not a file this encoder reads \(audio: .wav"):
        read_sources(tmp_path / "note.txt", modalities=("audio",))


def test_csv_columns_and_metadata(tmp_path):
    p = write(tmp_path / "products.csv", "sku,description,color\nA1,A red shirt,red\nB2,\"Blue, soft jeans\",blue\n")
    recs = read_sources(p, text_column="description", id_column="sku")
    assert [(r.id, r.item, r.metadata) for r in recs] == [
        ("A1", "A red shirt", {"color": "red"}),
        ("B2", "Blue, soft jeans", {"color": "blue"}),
    ]
    assert recs[0].source == f"{p}:line 2"


def test_csv_defaults_text_column_and_row_ids(tmp_path):
    p = write(tmp_path / "t.tsv", "text\tlang\nhello\ten\n\tko\n안녕\tko\n")
    recs = read_sources(p)
    assert [(r.id, r.item, r.metadata) for r in recs] == [("t:1", "hello", {"lang": "en"}), ("t:3", "안녕", {"lang": "ko"})]
    assert recs.skipped == [f"{p}:line 3 (empty 'text')"]


def test_jsonl_keeps_json_types(tmp_path):
    rows = [{"id": 7, "body": "first", "year": 2020, "tags": ["a"]}, {"id": 8, "body": "second", "year": 2021}]
    p = write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    recs = read_sources(p, text_column="body")
    assert [(r.id, r.item, r.metadata) for r in recs] == [
        ("7", "first", {"year": 2020, "tags": ["a"]}),
        ("8", "second", {"year": 2021}),
    ]


def test_json_array_file(tmp_path):
    p = write(tmp_path / "d.json", json.dumps([{"text": "x", "k": 1}, {"text": "y", "k": 2}]))
    assert [r.item for r in read_sources(p)] == ["x", "y"]


def test_utf8_bom_and_utf16_are_decoded(tmp_path):
    a = write(tmp_path / "bom.txt", "\ufeffhello".encode("utf-8"))
    b = write(tmp_path / "wide.txt", "안녕하세요".encode("utf-16"))
    assert read_text_file(a) == "hello"
    assert read_text_file(b) == "안녕하세요"


# ----------------------------------------------------------------------------- bad input
def test_duplicate_ids_across_files_names_both(tmp_path):
    a = write(tmp_path / "x" / "notes.txt", "one")
    b = write(tmp_path / "y" / "notes.txt", "two")
    write(tmp_path / "y" / "notes.md", "three")
    with pytest.raises(InputError, match=r"duplicate id 'notes.txt'.*x/notes.txt.*y/notes.txt.*index the folder "
                                         "that holds both"):
        read_sources([tmp_path / "x", tmp_path / "y"])
    assert [r.id for r in read_sources(tmp_path)] == ["x/notes.txt", "y/notes.md", "y/notes.txt"]  # the issue
    c = write(tmp_path / "rows.csv", "id,text\nnotes.txt,four\n")
    with pytest.raises(InputError, match=rf"duplicate id 'notes.txt': in {a}.*rows.csv:line 2"):
        read_sources([a, c])
    assert b.exists()


def test_duplicate_ids_inside_one_csv(tmp_path):
    p = write(tmp_path / "d.csv", "id,text\n1,a\n2,b\n1,c\n")
    with pytest.raises(InputError, match=r"duplicate id '1' in .*d.csv \(lines 2 and 4\)"):
        read_sources(p)


def test_non_utf8_names_file_offset_and_iconv(tmp_path):
    p = write(tmp_path / "korean.txt", b"abc " + "한국어".encode("cp949"))
    with pytest.raises(InputError, match=r"korean.txt is not valid utf-8 text.*byte offset 4.*iconv -f CP949 -t UTF-8"):
        read_sources(p)
    assert read_sources(p, encoding="cp949")[0].item == "abc 한국어"
    replaced = read_sources(p, errors="replace")[0].item
    assert replaced.startswith("abc ") and "\ufffd" in replaced


def test_non_utf8_hint_names_the_likely_encoding(tmp_path):
    """A latin-1 file is not sent to CP949 (which cannot decode it): the hint names what decodes it."""
    text = "Le café était très agréable, à côté de la forêt."
    p = write(tmp_path / "notes.txt", text.encode("latin-1"))
    with pytest.raises(EmbedlabError) as exc:
        read_sources(p, strict=True)
    msg = exc.value.cli_message()
    assert f"{p} is not valid utf-8 text: undecodable bytes (e9 20 e9 74) at byte offset 6; it reads as CP1252: " \
        f"convert it first (e.g. `iconv -f CP1252 -t UTF-8 {p} > notes.utf8.txt`), or read it with --encoding " \
        "CP1252, or --encoding-errors replace to substitute the bad bytes" == msg
    assert "CP949" not in msg
    assert read_sources(p, encoding="CP1252")[0].item == text  # the suggestion works
    # bytes that no encoding fits well: no guess, the way to find one
    from embedlab.documents import guess_encoding

    assert guess_encoding(text.encode("latin-1")) == "cp1252" and guess_encoding("빠른 기차".encode("cp949")) == "cp949"
    assert guess_encoding(bytes(range(128, 256))) is None
    odd = write(tmp_path / "odd.txt", bytes(range(128, 256)))
    with pytest.raises(EmbedlabError, match=r"find its real encoding \(e.g. `file -i .*odd.txt`\) and convert it first "
                                            r"\(`iconv -f ENCODING -t UTF-8 .*`\), or read it with --encoding ENCODING"):
        read_sources(odd, strict=True)


def test_binary_file_passed_as_text(tmp_path):
    p = write(tmp_path / "program.bin", b"\x7fELF\x02\x01\x01\x00\x00\x00garbage")
    with pytest.raises(InputError, match=r"program.bin looks like a binary file, not text \(NUL byte at offset 7\)"):
        read_sources(p)


def test_image_given_to_text_encoder(tmp_path):
    p = write(tmp_path / "cat.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(InputError, match=r"cat.png is an image file, but this encoder takes text only"):
        read_sources(p)


def test_csv_missing_column_lists_columns(tmp_path):
    p = write(tmp_path / "d.csv", "name,body\nx,y\n")
    with pytest.raises(InputError, match=r"no text column 'description'; its columns are: 'name', 'body'"):
        read_sources(p, text_column="description")
    with pytest.raises(InputError, match=r"no id column 'sku'; its columns are: 'name', 'body'"):
        read_sources(p, id_column="sku", text_column="body")
    write(tmp_path / "e.csv", "name,title\nx,y\n")
    with pytest.raises(InputError, match=r"no text column named text / content / body; its columns are: 'name', 'title'"):
        read_sources(tmp_path / "e.csv")


def test_jsonl_missing_column_and_bad_lines(tmp_path):
    p = write(tmp_path / "d.jsonl", '{"title": "a", "year": 1}\n')
    with pytest.raises(InputError, match=r"line 1 has no text column 'text'; its columns are: 'title', 'year'"):
        read_sources(p, text_column="text")
    q = write(tmp_path / "bad.jsonl", '{"text": "ok"}\n{"text": oops}\n')
    with pytest.raises(InputError, match=r"bad.jsonl line 2 is not valid JSON"):
        read_sources(q)
    r = write(tmp_path / "list.jsonl", '["text", "x"]\n')
    with pytest.raises(InputError, match=r"line 1 is a JSON list, expected an object"):
        read_sources(r)


@pytest.mark.parametrize("name,content", [("e.txt", ""), ("w.txt", "  \n\n"), ("e.csv", ""), ("e.jsonl", "")])
def test_empty_files(tmp_path, name, content):
    p = write(tmp_path / name, content)
    with pytest.raises(InputError, match=rf"{name} is empty"):
        read_sources(p)


def test_csv_header_only(tmp_path):
    p = write(tmp_path / "h.csv", "id,text\n")
    with pytest.raises(InputError, match=r"h.csv has a header but no rows"):
        read_sources(p)


def test_missing_path_and_empty_folder(tmp_path):
    write(tmp_path / "notes.txt", "x")
    with pytest.raises(InputError, match=r"nope.txt does not exist; check the path"):
        read_sources(tmp_path / "nope.txt")
    with pytest.raises(InputError, match=r"similar names there: notes.txt"):
        read_sources(tmp_path / "notez.txt")
    (tmp_path / "empty").mkdir()
    write(tmp_path / "data" / "a.bin", b"\x00\x01")
    write(tmp_path / "pdfs" / "a.pdf", b"%PDF")
    with pytest.raises(InputError, match=r"folder .*empty has no files to index"):
        read_sources(tmp_path / "empty")
    with pytest.raises(EmbedlabError, match=r"folder .*data has no files to index \(looked for .txt, .md, .pdf"):
        read_sources(tmp_path / "data")
    with pytest.raises(EmbedlabError, match=r"no items found in .*pdfs \(skipped: .*a.pdf is not a PDF"):
        read_sources(tmp_path / "pdfs")
    with pytest.raises(InputError, match="no sources given"):
        read_sources([])


def test_unreadable_files_in_a_folder_are_skipped_with_reason_unless_strict(tmp_path):
    write(tmp_path / "good.txt", "A readable note.")
    write(tmp_path / "sub" / "also.md", "# Another one")
    write(tmp_path / "legacy.txt", "회의 일정".encode("cp949"))
    write(tmp_path / "blob.txt", b"\x00\x01\x02binary\x00")
    recs = read_sources(tmp_path)
    assert [r.id for r in recs] == ["good.txt", "sub/also.md"]
    assert len(recs.skipped) == 2
    blob, legacy = sorted(recs.skipped)
    assert "blob.txt looks like a binary file" in blob
    assert "legacy.txt is not valid utf-8 text" in legacy and "--encoding CP949" in legacy  # the option to read it
    with pytest.raises(InputError, match=r"blob.txt looks like a binary file"):
        read_sources(tmp_path, strict=True)
    explicit = read_sources([tmp_path / "good.txt", tmp_path / "legacy.txt"])  # named files: the same rule
    assert [r.id for r in explicit] == ["good.txt"] and "legacy.txt" in explicit.skipped[0]
    with pytest.raises(InputError, match=r"no items found.*legacy.txt is not valid utf-8"):
        read_sources(tmp_path / "legacy.txt")


def test_a_broken_symbolic_link_in_a_folder_is_skipped_with_its_target(tmp_path):
    write(tmp_path / "good.txt", "A readable note.")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)  # a link to a folder above: not followed
    recs = read_sources(tmp_path)
    assert [r.id for r in recs] == ["good.txt"]
    assert recs.skipped == [f"{tmp_path / 'gone.txt'} is a broken symbolic link: it points to "
                            f"{tmp_path / 'nowhere.txt'}, which does not exist; fix the link or remove it"]
    with pytest.raises(InputError, match=r"gone.txt is a broken symbolic link: it points to .*nowhere.txt"):
        read_sources(tmp_path, strict=True)
    (tmp_path / "nowhere.txt").write_text("Now it is there.", "utf-8")
    assert sorted(r.id for r in read_sources(tmp_path)) == ["gone.txt", "good.txt"]  # nowhere.txt: a duplicate


def _cli(capsys, *args):
    from embedlab.cli import main

    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, " ".join(out.split()), " ".join(err.split())


def test_cli_index_skips_unreadable_files_with_a_warning_and_strict_fails(tmp_path, capsys, use_encoder):
    write(tmp_path / "d" / "good.txt", "A readable note about trains.")
    write(tmp_path / "d" / "legacy.txt", "회의 일정".encode("cp949"))
    code, out, _ = _cli(capsys, "index", "notes", tmp_path / "d")
    assert code == 0 and "1 added" in out and "warning" in out and "legacy.txt is not valid utf-8 text" in out
    code, _, err = _cli(capsys, "index", "notes2", tmp_path / "d", "--strict")
    assert code == 2 and "legacy.txt is not valid utf-8 text" in err
    code, out, _ = _cli(capsys, "info", "--json")
    assert code == 0 and [c["name"] for c in json.loads(out)] == ["notes"]  # the strict run left nothing


def test_source_file_and_within(tmp_path, monkeypatch):
    from embedlab.ingest import source_file, within

    monkeypatch.chdir(tmp_path)
    assert source_file(None) is None and source_file("") is None
    assert source_file("d/a.txt") == tmp_path / "d" / "a.txt"
    assert source_file("rows.csv:line 12") == tmp_path / "rows.csv"  # a table row names its file
    assert source_file("odd:name.txt") == tmp_path / "odd:name.txt"
    a = source_file("d/sub/a.txt")
    assert within(a, ["d"]) and within(a, ["./d/"]) and within(a, [tmp_path / "d"]) and within(a, ["d/sub/a.txt"])
    assert not within(a, ["dd"]) and not within(a, ["d/su"]) and not within(a, ["other", "d/sub/b.txt"])
    # the records' sources as read_sources writes them point back into the folder they were read from
    write(tmp_path / "d" / "x.txt", "hello")
    write(tmp_path / "t.csv", "id,text\nr,row text\n")
    recs = read_sources(["d", "t.csv"])
    assert all(within(source_file(r.source), ["d", "t.csv"]) for r in recs)
    assert [within(source_file(r.source), ["t.csv"]) for r in recs] == [False, True]
