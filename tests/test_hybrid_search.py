"""Hybrid keyword + vector search on a small real collection (multilingual encoder), BM25 with Korean morphemes,
exact RRF fusion math, the saved keyword index, the CLI --mode option and bad input."""

from __future__ import annotations

import json

import pytest

from embedlab.errors import InputError
from embedlab.search import KeywordIndex, Tokenizer, hybrid_search, rrf_fuse
from embedlab.search.keyword import FOLDER
from embedlab.search.tokenize import bigram_tokens, latin_tokens

DOCS = {
    "cat": ("A cat is sleeping on the warm sofa in the living room.", "en"),
    "train": ("The express train leaves the station every morning at seven.", "en"),
    "disk": ("Write failed with error ENOSPC because the disk is full.", "en"),
    "bank": ("The bank raised its interest rates again this quarter.", "en"),
    "rain": ("Heavy rain is expected across the south coast tomorrow.", "en"),
    "soup": ("Tomato soup is easy to cook and tastes good with bread.", "en"),
    "perm": ("Permission denied while opening the configuration file.", "en"),
    "code": ("Error code 0x80070005 means that access was denied.", "en"),
    "ko-disk": ("디스크 공간이 부족하여 파일을 저장할 수 없습니다.", "ko"),
    "ko-train": ("고속열차는 서울에서 부산까지 세 시간이 걸립니다.", "ko"),
}


@pytest.fixture(scope="module")
def col(tmp_path_factory, use_encoder):
    from embedlab.store import Collection

    root = tmp_path_factory.mktemp("hybrid")
    c = Collection.create("docs", use_encoder, root=root)
    ids = list(DOCS)
    c.add(ids, [DOCS[i][0] for i in ids], metadata=[{"lang": DOCS[i][1]} for i in ids])
    yield c
    c.close()


def test_rrf_fusion_exact():
    fused = rrf_fuse([["a", "b", "c"], ["c", "a"]], weights=(1.0, 2.0), k=60)
    assert [i for i, _ in fused] == ["c", "a", "b"]
    assert fused[0][1] == pytest.approx(1 / 63 + 2 / 61, abs=1e-15)
    assert fused[1][1] == pytest.approx(1 / 61 + 2 / 62, abs=1e-15)
    assert fused[2][1] == pytest.approx(1 / 62, abs=1e-15)
    # equal scores: the better best rank wins, then the first seen
    assert [i for i, _ in rrf_fuse([["x", "y"], ["y", "x"]], k=0)] == ["x", "y"]
    assert rrf_fuse([["p"], []], weights=(0.0, 1.0)) == [("p", 0.0)]


def test_tokenizer_korean_morphemes_and_latin_words():
    tok = Tokenizer()
    assert tok.use_kiwi  # kiwipiepy is part of the test environment
    ko = tok("디스크 공간이 부족하여 파일을 저장할 수 없습니다. git 저장소")
    assert {"디스크", "공간", "부족", "파일", "저장", "git", "저장소"} <= set(ko)
    assert "이" not in ko and "을" not in ko  # particles dropped
    # identifiers inside Korean text stay whole, as in English text, so they match across languages
    assert {"pg_dump", "max_connections", "0x80070005"} <= set(tok("pg_dump를 실행하고 max_connections 값을 0x80070005로"))
    assert latin_tokens("The Disk is FULL: max_connections=5") == ["disk", "full", "max_connections", "5"]
    assert bigram_tokens("공간이 부족 ok") == ["공간", "간이", "부족", "ok"]
    assert Tokenizer(use_kiwi=False)("공간이") == ["공간", "간이"]


def test_tokenizer_falls_back_to_bigrams_without_kiwi(monkeypatch):
    from embedlab.search import tokenize

    monkeypatch.setattr(tokenize, "kiwi_available", lambda: False)
    monkeypatch.setattr(tokenize, "_warned", False)
    tok = Tokenizer()
    assert tok.name.startswith("hangul-bigrams")
    with pytest.warns(UserWarning, match="kiwipiepy is not installed"):
        assert tok("부족 disk") == ["부족", "disk"]
    from embedlab.errors import MissingDependencyError

    with pytest.raises(MissingDependencyError, match="pip install 'embedlab\\[text\\]'"):
        Tokenizer(use_kiwi=True)


def test_keyword_index_ranks_rare_token_first_and_handles_korean():
    ids = list(DOCS)
    kw = KeywordIndex.build(ids, [DOCS[i][0] for i in ids])
    hits = kw.search("enospc", k=3)
    assert [h[0] for h in hits] == ["disk"]  # only documents that contain a query token come back
    assert kw.search("공간이 부족해요", k=3)[0][0] == "ko-disk"  # 공간 + 부족 match despite other endings
    assert kw.search("nothing here matches xyzzy", k=5) == []
    allowed = {"perm", "ko-disk"}
    assert [h[0] for h in kw.search("denied", k=5, allowed=allowed)] == ["perm"]


def test_korean_query_finds_english_document(col):
    for mode in ("vector", "hybrid"):
        hits = hybrid_search(col, "고양이가 소파에서 자고 있다", k=3, mode=mode)
        assert hits[0].id == "cat", mode
    hits = hybrid_search(col, "the train to Busan takes three hours", k=2, where={"lang": "ko"})
    assert [h.id for h in hits][0] == "ko-train"
    assert all(h.metadata["lang"] == "ko" for h in hits)


def test_rare_keyword_ranks_exact_match_first(col):
    hits = hybrid_search(col, "0x80070005", k=3, mode="keyword")
    assert [h.id for h in hits] == ["code"]
    assert hits[0].source == DOCS["code"][0] and hits[0].metadata == {"lang": "en"}
    assert hybrid_search(col, "0x80070005", k=3, mode="hybrid")[0].id == "code"
    vec = hybrid_search(col, "ENOSPC", k=10, mode="vector")
    hyb = hybrid_search(col, "ENOSPC", k=10, mode="hybrid")
    assert hyb[0].id == "disk"
    assert [h.id for h in hyb].index("disk") <= [h.id for h in vec].index("disk")
    assert hyb[0].score == pytest.approx(1 / 61 + 1 / (60 + 1 + [h.id for h in vec].index("disk")))


def test_hybrid_scores_are_rrf_of_the_two_lists(col):
    q = "access denied error"
    vec = [h.id for h in col.search(q, k=len(DOCS))]
    kw = [i for i, _ in KeywordIndex.for_collection(col).search(q, k=len(DOCS))]
    want = rrf_fuse([vec, kw], weights=(1.0, 0.5), k=10)[:4]
    got = hybrid_search(col, q, k=4, weights=(1.0, 0.5), rrf_k=10)
    assert [(h.id, h.score) for h in got] == [(i, pytest.approx(s)) for i, s in want]


def test_keyword_index_is_saved_and_rebuilt_when_the_collection_changes(tmp_path, use_encoder, monkeypatch):
    from embedlab.store import Collection

    with Collection.create("notes", use_encoder, root=tmp_path) as c:
        c.add(["a", "b"], ["apples are red", "the sky is blue"])
        kw = KeywordIndex.for_collection(c)
        assert (c.path / FOLDER / "keyword.json").is_file() and len(kw) == 2
        again = KeywordIndex.for_collection(c)
        assert again.generation == kw.generation and again.ids == kw.ids
        c.add(["c"], ["the zebra crossing on Main Street"])
        assert [h.id for h in hybrid_search(c, "zebra", k=2, mode="keyword")] == ["c"]
        meta = json.loads((c.path / FOLDER / "keyword.json").read_text())
        assert meta["generation"] == c.info()["generation"] and meta["count"] == 3
        with Collection.open("notes", root=tmp_path) as other:  # a new process would read the saved index
            assert other.count() == 3  # the extra folder does not upset the store
            with monkeypatch.context() as m:
                m.setattr(KeywordIndex, "build", None)  # loading must not rebuild
                assert [h.id for h in hybrid_search(other, "zebra", k=2, mode="keyword")] == ["c"]
        c.delete(["c"])
        assert hybrid_search(c, "zebra", k=2, mode="keyword") == []


def test_keyword_search_uses_the_stored_content_never_the_source_file(tmp_path, use_encoder):
    from embedlab.store import Collection

    doc = tmp_path / "readme.txt"
    doc.write_text("Install the package with pip and run the tour.", "utf-8")
    with Collection.create("files", use_encoder, root=tmp_path) as c:
        c.add(["readme"], ["Install the package with pip and run the tour."], sources=[str(doc)])
        doc.write_text("This file was rewritten after indexing: nothing about installing.", "utf-8")
        assert c.contents(["readme"]) == ["Install the package with pip and run the tour."]
        assert hybrid_search(c, "pip", k=1, mode="keyword")[0].id == "readme"
        doc.unlink()  # gone: the keyword index is rebuilt from what the collection stored
        c.add(["other"], ["Uninstall it with pip uninstall."])
        assert [h.id for h in hybrid_search(c, "tour", k=2, mode="keyword")] == ["readme"]
    with Collection.create("rows", use_encoder, root=tmp_path) as c:
        c.add(["r1"], ["a red sports car"], sources=[f"{tmp_path}/cars.csv:2"])
        assert hybrid_search(c, "car", k=1, mode="keyword")[0].id == "r1"
    with Collection.create("bare", dim=512, root=tmp_path) as c:  # vectors only: no texts to search
        c.add(["v1"], vectors=use_encoder.encode(["a red sports car"]))
        with pytest.raises(InputError, match="stores no texts"):
            hybrid_search(c, "car", k=1, mode="keyword")


def test_bad_input(col):
    with pytest.raises(InputError, match="empty query"):
        hybrid_search(col, "   ", k=3)
    with pytest.raises(InputError, match="unknown search mode 'fuzzy'"):
        hybrid_search(col, "cat", mode="fuzzy")
    with pytest.raises(InputError, match="k must be a positive integer"):
        hybrid_search(col, "cat", k=0)
    with pytest.raises(InputError, match="weights must be \\(vector, keyword\\)"):
        hybrid_search(col, "cat", weights=(1.0,))
    with pytest.raises(InputError, match="one weight per ranking"):
        rrf_fuse([["a"], ["b"]], weights=[1.0])
    with pytest.raises(InputError, match="text query"):
        hybrid_search(col, [0.1] * 512)
    kw = KeywordIndex.build(["a"], ["text"])
    with pytest.raises(InputError, match="empty query"):
        kw.search("")
    with pytest.raises(InputError, match="one text per id"):
        KeywordIndex.build(["a", "b"], ["only one"])


def test_cli_search_mode(capsys, tmp_path, use_encoder):
    from embedlab.cli import main
    from embedlab.store import Collection

    home = tmp_path / "cli-home"
    with Collection.create("kb", use_encoder, root=home / "collections") as c:
        c.add(["disk", "cat"], [DOCS["disk"][0], DOCS["cat"][0]])

    def run(*args: str):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(["--home", str(home), "search", "kb", *args])
        out, err = capsys.readouterr()
        return exc.value.code, out, " ".join(err.split())

    code, out, err = run("ENOSPC", "--mode", "keyword", "--json")
    assert code == 0, err
    assert [h["id"] for h in json.loads(out)] == ["disk"]
    code, out, _ = run("고양이", "--mode", "hybrid", "-k", "1", "--json")
    assert code == 0 and json.loads(out)[0]["id"] == "cat"
    code, _, err = run("cat", "--mode", "fuzzy")
    assert code == 2 and "unknown search mode 'fuzzy'" in err

    # files indexed by the CLI keep each passage's text (once, as its content), so BM25 ranks passages, and a
    # document split into passages is reported once
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.txt").write_text(" ".join(["The ferry timetable changes in winter."] * 12) + " Code QX-4471.", "utf-8")
    (docs / "short.txt").write_text("Bicycles can be rented near the station.", "utf-8")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(home), "index", "files", str(docs), "--max-tokens", "20", "--json"])
    assert exc.value.code == 0 and json.loads(capsys.readouterr().out)["split"] == 1
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(home), "search", "files", "QX-4471", "--mode", "keyword", "--json"])
    assert exc.value.code == 0
    assert [h["id"] for h in json.loads(capsys.readouterr().out)] == ["long.txt"]


def test_text_metadata_and_given_texts(tmp_path, use_encoder):
    from embedlab.store import Collection

    with Collection.create("meta", use_encoder, root=tmp_path) as c:
        c.add(["m1", "m2"], vectors=use_encoder.encode(["a quiet harbour", "a busy market"]),
              metadata=[{"text": "a quiet harbour at dawn"}, {}])
        kw = KeywordIndex.for_collection(c)
        assert kw.ids == ["m1"] and kw.missing == 1  # m2 has no text anywhere: vector search only
        kw = KeywordIndex.for_collection(c, texts={"m1": "a quiet harbour", "m2": "a busy market square"})
        assert [i for i, _ in kw.search("market", k=2)] == ["m2"] and kw.missing == 0


def test_saved_index_errors(tmp_path):
    from embedlab.errors import CorruptFileError, FormatVersionError

    folder = KeywordIndex.build(["a", "b"], ["red apples", "green pears"]).save(tmp_path / "kw")
    assert [i for i, _ in KeywordIndex.load(folder).search("pears")] == ["b"]
    meta = json.loads((folder / "keyword.json").read_text())
    (folder / "keyword.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(FormatVersionError, match="format version 99.*upgrade embedlab"):
        KeywordIndex.load(folder)
    (folder / "keyword.json").write_text("{not json")
    with pytest.raises(CorruptFileError, match="delete .* to rebuild it"):
        KeywordIndex.load(folder)
    (folder / "keyword.json").write_text(json.dumps({**meta, "tokenizer": "other-v0"}))
    with pytest.raises(InputError, match="was built with tokenizer 'other-v0'"):
        KeywordIndex.load(folder)
    with pytest.raises(InputError, match="no keyword index in"):
        KeywordIndex.load(tmp_path / "missing")


def test_loading_kiwi_says_so_in_one_line_and_skips_the_slow_dictionaries(monkeypatch, capsys):
    """The first Korean keyword/hybrid search of a process spent 15-60 s loading Kiwi with no message: the load
    now says what it is doing (here: stderr is not a terminal, so as plain lines) and leaves out the multi-word and
    typo dictionaries that doubled it."""
    from embedlab import _progress
    from embedlab.search import tokenize

    monkeypatch.setattr(tokenize, "_kiwi", None)
    monkeypatch.setattr(_progress, "FIRST_LINE_S", 0.0)
    assert tokenize.KIWI_OPTIONS == {"load_multi_dict": False, "load_typo_dict": False}
    tok = tokenize.Tokenizer(use_kiwi=True)
    assert tok.name == "kiwi-morphemes+words-v3"
    assert tok("KTX 고속열차로 회의 일정을 잡았습니다") == ["고속", "열차", "회의", "일정", "ktx"]
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "loading the Korean tokenizer (Kiwi; once per process, a few seconds) ..."
    assert lines[1].startswith("loading the Korean tokenizer (Kiwi; once per process, a few seconds): done in 0:00:")
    assert len(lines) == 2
    assert tok("빠른 기차") == ["빠르", "기차"] and capsys.readouterr().err == ""  # loaded once per process
