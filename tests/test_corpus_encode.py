"""EncodedCorpus.write's compiled path for a LineCorpus gives the very ids, lengths, words and counts of a plain
line-by-line reference (and of the general path over the same sentences)."""

import gzip
import sys
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import InputError
from embedlab.train.corpus import EncodedCorpus, LineCorpus
from embedlab.train.vocab import Vocab

SPACES = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
TRICKY = (
    "the cat  sat\n"
    "\n"
    "   \t \n"
    "naïve café — 日本語 🙂 the\u00a0cat\u2003sat\u3000on\u2028the\u205fmat\x1cand\x1fdog\x85end\u202fx\u1680y\n"
    "zero\u200bwidth is one word\ufeffhere\n"
    "ΟΔΟΣ ΣΟΦΟΣ Σ ΑΣ. İstanbul STRASSE\r\n"
    "a lone\rcarriage return\x0bvertical\x0cform feed\n"
    + " ".join(f"w{i % 7}" for i in range(23)) + "\n"
    + " ".join(f"v{i}" for i in range(6)) + "\n"
    + "tail without newline"
)


def reference(paths: list[Path], lowercase: bool, cap: int, lookup: dict[str, int] | None):
    """Line by line in Python: ids (first-occurrence order or lookup / -1), sentence lengths, words, counts."""
    ids: dict[str, int] = {}
    out: list[int] = []
    lengths: list[int] = []
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                tokens = (line.lower() if lowercase else line).split()
                for i in range(0, len(tokens), cap):
                    piece = tokens[i:i + cap]
                    lengths.append(len(piece))
                    for t in piece:
                        if lookup is None:
                            out.append(ids.setdefault(t, len(ids)))
                        else:
                            out.append(lookup.get(t, -1))
    counts = np.bincount(np.array(out, np.int64), minlength=len(ids)) if lookup is None and out \
        else np.zeros(0, np.int64)
    return np.array(out, np.int32), np.array(lengths, np.int32), (ids if lookup is None else dict(lookup)), counts


def write(corpus, folder: Path, lookup=None, cap=10000, block=1 << 20):
    enc, ids, counts = EncodedCorpus.write(corpus, folder, lookup=lookup, max_sentence_length=cap, block=block)
    return np.array(enc.tokens), np.array(enc.lengths), ids, counts


def assert_same(got, want) -> None:
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[0].dtype == got[1].dtype == np.int32
    assert list(got[2].items()) == list(want[2].items())  # same ids in the same (first-occurrence) order
    np.testing.assert_array_equal(got[3], want[3])
    assert got[3].dtype == np.int64


@pytest.fixture
def tricky(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(TRICKY.encode("utf-8"))  # no trailing newline: the next file starts a new line
    with gzip.open(folder / "sub" / "b.txt.gz", "wt", encoding="utf-8") as f:
        f.write("cat THE\n" + SPACES.join(["x", "y", "z"]) + "\n\n" + "Σ ς σ\n")
    (folder / "c.txt").write_text("last line of all\n\n\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("lowercase", [False, True])
@pytest.mark.parametrize("cap", [1, 3, 6, 23, 10000])
def test_compiled_write_matches_reference(tricky: Path, tmp_path: Path, lowercase: bool, cap: int) -> None:
    corpus = LineCorpus(tricky, lowercase=lowercase)
    want = reference(corpus.files, lowercase, cap, None)
    got = write(corpus, tmp_path / "fast", cap=cap)
    assert_same(got, want)
    assert_same(write(corpus, tmp_path / "small", cap=cap, block=7), want)
    assert_same(write(list(LineCorpus(tricky, lowercase=lowercase, max_sentence_length=cap)), tmp_path / "general",
                      cap=cap), want)
    assert want[0].size == 80 and ((want[1] == cap).any() or cap == 10000)


@pytest.mark.parametrize("own,cap", [(3, 10000), (4, 2), (5, 3), (6, 6), (10000, 4)])
def test_compiled_write_keeps_the_corpus_own_sentence_cap(tricky: Path, tmp_path: Path, own: int, cap: int) -> None:
    """A LineCorpus's own ``max_sentence_length`` cuts its lines before the writer's ``max_sentence_length`` cuts
    the pieces (the general path, iterating the corpus): the compiled path gives the same sentences, whether the
    corpus's cap is the smaller, a multiple of the writer's, or neither (5 then 3: pieces 3, 2, 3, 2, ...)."""
    corpus = LineCorpus(tricky, max_sentence_length=own)
    want = write(list(corpus), tmp_path / "general", cap=cap)
    assert_same(write(corpus, tmp_path / "fast", cap=cap), want)
    assert want[1].max() <= min(own, cap) and want[0].size == 80
    if (own, cap) == (5, 3):  # a line of 5 or more tokens: cut at 5 first, then each piece at 3
        assert (want[1] == 2).sum() > (reference(corpus.files, False, 3, None)[1] == 2).sum()
    enc, _ = EncodedCorpus.write_ranked(corpus, tmp_path / "ranked", max_sentence_length=cap)
    np.testing.assert_array_equal(np.array(enc.lengths), want[1])


@pytest.mark.parametrize("lowercase", [False, True])
def test_compiled_write_with_lookup_matches_reference(tricky: Path, tmp_path: Path, lowercase: bool) -> None:
    corpus = LineCorpus(tricky, lowercase=lowercase)
    words = list(reference(corpus.files, lowercase, 10000, None)[2])
    lookup = {w: 7 * i + 3 for i, w in enumerate(words[::3])}  # some words unknown, ids not consecutive
    lookup.update({"two words": 99, "": 98, "cat\n": 97})  # never a token: never matched
    want = reference(corpus.files, lowercase, 4, lookup)
    assert (want[0] == -1).any() and (want[0] >= 0).any()
    assert_same(write(corpus, tmp_path / "fast", lookup=lookup, cap=4), want)
    assert_same(write(list(LineCorpus(tricky, lowercase=lowercase, max_sentence_length=4)), tmp_path / "general",
                      lookup=lookup, cap=4), want)


def test_every_unicode_space_splits_like_str_split(tmp_path: Path) -> None:
    chars = [chr(c) for c in range(sys.maxunicode + 1) if c and not 0xD800 <= c <= 0xDFFF and chr(c) not in "\n\r"]
    path = tmp_path / "all.txt"
    path.write_text("".join(f"a{c}b\n" for c in chars), encoding="utf-8")
    corpus = LineCorpus(path)
    assert_same(write(corpus, tmp_path / "fast"), reference([path], False, 10000, None))
    assert int(np.sum(np.array(EncodedCorpus.write(corpus, tmp_path / "again")[0].lengths) == 2)) == \
        len(SPACES) - 2  # \n and \r end lines instead


def test_growth_past_the_first_table_and_empty_corpus(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    rng = np.random.default_rng(0)
    words = [f"w{i}é" * (1 + i % 5) for i in range(40_000)]  # beyond the initial word, slot and arena sizes
    path.write_text("\n".join(" ".join(words[j] for j in rng.integers(0, len(words), 30)) for _ in range(4000))
                    + "\n" + " ".join(words) + "\n", encoding="utf-8")
    want = reference([path], False, 10000, None)
    assert_same(write(LineCorpus(path), tmp_path / "fast"), want)
    for block in (1, 100, 5000):  # a table per block, encoded side by side, merged in order
        assert_same(write(LineCorpus(path), tmp_path / f"blocks{block}", block=block), want)
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n\t\n", encoding="utf-8")
    got = write(LineCorpus(blank), tmp_path / "blank")
    assert got[0].size == got[1].size == 0 and got[2] == {} and got[3].size == 0


def test_text_blocks_hold_whole_lines(tricky: Path) -> None:
    corpus = LineCorpus(tricky, lowercase=True)
    blocks = list(corpus.text_blocks(chars=10))
    assert len(blocks) > 3 and all(b.endswith("\n") for b in blocks)
    want = [(line if line.endswith("\n") else line + "\n").lower() for line in corpus.lines()]
    assert "".join(blocks) == "".join(want)


@pytest.mark.parametrize("lowercase", [False, True])
@pytest.mark.parametrize("chars", [1, 2, 5, 64, 1 << 20])
def test_byte_blocks_are_text_blocks_encoded(tricky: Path, lowercase: bool, chars: int) -> None:
    (tricky / "d.txt").write_bytes(b"cr\r\ncr lf\r\n\rlone\r\r\nend\r")  # \r\n cut by small reads; a last lone \r
    corpus = LineCorpus(tricky, lowercase=lowercase)
    blocks = list(corpus.byte_blocks(chars))
    assert all(b.endswith(b"\n") for b in blocks) and (len(blocks) > len(corpus.files) or chars == 1 << 20)
    assert b"".join(blocks) == "".join(corpus.text_blocks()).encode("utf-8")
    assert b"".join(blocks).count(b"\r") == 0


def test_byte_blocks_name_the_offset_of_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good line\r\nab\xffc\n")
    with pytest.raises(InputError, match=r"bad.txt is not UTF-8 text \(invalid start byte at byte 13\)"):
        list(LineCorpus(path).byte_blocks(4))
    cut = tmp_path / "cut.txt"
    cut.write_bytes("fine\ncaf\u00e9".encode()[:-1])  # the last character cut in two
    with pytest.raises(InputError, match=r"cut.txt is not UTF-8 text \(invalid continuation byte at byte 8\)"):
        list(LineCorpus(cut).byte_blocks())


def ranked_reference(corpus, folder: Path, min_count: int, max_vocab_size: int | None):
    """The two-step path: first-occurrence ids, Vocab.from_counts over a dict, renumbering, compaction."""
    enc, ids, counts = EncodedCorpus.write(corpus, folder, max_sentence_length=3)
    vocab = Vocab.from_counts(dict(zip(ids, counts.tolist(), strict=True)), min_count, max_vocab_size,
                              raw_tokens=int(counts.sum()), sentences=enc.n_sentences)
    remap = np.full(len(ids), -1, np.int32)
    remap[[ids[w] for w in vocab.words]] = np.arange(len(vocab), dtype=np.int32)
    enc.compact(remap)
    return enc, vocab


TIES = "b a c\nc b a\nd d e e f f\n\ng h g h i\n" + "tie1 tie2 tie3 " * 2 + "x\nz y x w\n"  # many equal counts


@pytest.mark.parametrize("min_count,max_vocab_size", [(1, None), (2, None), (3, None), (1, 4), (2, 6)])
@pytest.mark.parametrize("compiled", [True, False])
def test_write_ranked_is_write_then_from_counts(tricky: Path, tmp_path: Path, min_count: int,
                                                max_vocab_size: int | None, compiled: bool) -> None:
    (tricky / "e.txt").write_text(TIES, encoding="utf-8")
    corpus = LineCorpus(tricky, lowercase=True, max_sentence_length=3)
    given = corpus if compiled else list(corpus)
    want_enc, want = ranked_reference(given, tmp_path / "want", min_count, max_vocab_size)
    enc, got = EncodedCorpus.write_ranked(given, tmp_path / "got", min_count, max_vocab_size, max_sentence_length=3,
                                          block=16)
    assert got.words == want.words and len(got) >= 4
    np.testing.assert_array_equal(got.counts, want.counts)
    assert got.counts.dtype == np.int64
    assert (got.raw_tokens, got.sentences) == (want.raw_tokens, want.sentences) == (108, 43)
    assert (enc.n_tokens, enc.n_sentences) == (want_enc.n_tokens, want_enc.n_sentences)
    np.testing.assert_array_equal(np.array(enc.tokens), np.array(want_enc.tokens))
    np.testing.assert_array_equal(np.array(enc.lengths), np.array(want_enc.lengths))


def test_write_ranked_keeps_first_occurrence_order_among_ties(tmp_path: Path) -> None:
    path = tmp_path / "ties.txt"
    path.write_text(TIES, encoding="utf-8")
    enc, vocab = EncodedCorpus.write_ranked(LineCorpus(path), tmp_path / "enc", 2)
    assert vocab.words == ["b", "a", "c", "d", "e", "f", "g", "h", "tie1", "tie2", "tie3", "x"]
    assert vocab.counts.tolist() == [2] * 12 and (vocab.raw_tokens, vocab.sentences) == (28, 6)
    assert np.array(enc.tokens).tolist() == [0, 1, 2, 2, 0, 1, 3, 3, 4, 4, 5, 5, 6, 7, 6, 7, 8, 9, 10, 8, 9, 10, 11, 11]
    assert np.array(enc.lengths).tolist() == [3, 3, 6, 4, 7, 1]


def test_write_ranked_refuses_like_from_counts(tmp_path: Path) -> None:
    blank = tmp_path / "blank.txt"
    blank.write_text("\n \n", encoding="utf-8")
    with pytest.raises(InputError, match="the corpus is empty: no tokens found"):
        EncodedCorpus.write_ranked(LineCorpus(blank), tmp_path / "a")
    few = tmp_path / "few.txt"
    few.write_text("a b a\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"min_count=3 removes every word \(the most frequent word occurs 2 times\)"):
        EncodedCorpus.write_ranked(LineCorpus(few), tmp_path / "b", 3)
    with pytest.raises(InputError, match="max_vocab_size"):
        EncodedCorpus.write_ranked(LineCorpus(few), tmp_path / "c", 1, 1)
    assert not (tmp_path / "c").exists()  # refused before reading


@pytest.mark.parametrize("chars", [1, 2, 3, 4, 1 << 20])
def test_a_byte_order_mark_opening_a_file_is_not_part_of_its_first_word(tmp_path: Path, chars: int) -> None:
    """Editors on Windows open UTF-8 files with U+FEFF, which str.split keeps: the first word was "\\ufeffdatabase",
    so "database" looked missing. It is dropped at the start of each file (plain and .gz), on both paths; a U+FEFF
    inside a line is text and stays."""
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "a.txt").write_bytes("\ufeffdatabase x\r\ndatabase y\n".encode("utf-8"))
    with gzip.open(folder / "b.txt.gz", "wb") as f:
        f.write("\ufeffdatabase z\nmid\ufeffword\n".encode("utf-8"))
    (folder / "c.txt").write_bytes(b"ab")  # shorter than a mark
    corpus = LineCorpus(folder)
    want = [["database", "x"], ["database", "y"], ["database", "z"], ["mid\ufeffword"], ["ab"]]
    assert list(corpus) == want
    assert b"".join(corpus.byte_blocks(chars)) == b"database x\ndatabase y\ndatabase z\nmid\xef\xbb\xbfword\nab\n"
    fast = write(corpus, tmp_path / "fast", block=chars)
    assert_same(fast, write(want, tmp_path / "general"))
    assert list(fast[2]) == ["database", "x", "y", "z", "mid\ufeffword", "ab"]
