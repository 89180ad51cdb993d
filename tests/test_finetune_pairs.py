"""Fine-tuning pairs: every file format, the clear errors, duplicates, and the seeded split with no shared text."""

from __future__ import annotations

import json

import pytest

from embedlab.errors import InputError
from embedlab.train.finetuning import Pair, read_pairs, split_pairs
from embedlab.train.finetuning.pairs import as_pairs


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_jsonl_with_negatives_scores_and_duplicates(tmp_path):
    rows = [{"query": "q1", "positive": "p1", "negative": "n1"},
            {"query": "q2", "positive": "p2", "negatives": ["n2", "n3"]},
            {"query": "q3", "positive": "p3", "score": 0.5},
            {"query": "q1", "positive": "p1", "negative": "n1"},   # exact duplicate
            {"anchor": "q4", "positive": "p4"}]
    found = read_pairs(write_jsonl(tmp_path / "p.jsonl", rows))
    assert [p.query for p in found.pairs] == ["q1", "q2", "q3", "q4"]
    assert found.pairs[0].negatives == ("n1",) and found.pairs[1].negatives == ("n2", "n3")
    assert found.pairs[2].score == 0.5
    assert found.report() == {"read": 5, "kept": 4, "duplicates_dropped": 1, "files": [str(tmp_path / "p.jsonl")]}


def test_csv_tsv_and_aligned_files(tmp_path):
    (tmp_path / "p.csv").write_text('query,positive,negatives\n"a, b",c,x|y\nd,e,\n', "utf-8")
    csv_pairs = read_pairs(tmp_path / "p.csv").pairs
    assert csv_pairs == [Pair("a, b", "c", ("x", "y")), Pair("d", "e")]
    (tmp_path / "p.tsv").write_text("query\tpositive\tscore\nk\tl\t0.25\n", "utf-8")
    assert read_pairs(tmp_path / "p.tsv").pairs == [Pair("k", "l", (), 0.25)]
    (tmp_path / "q.txt").write_text("one\ntwo\n", "utf-8")
    (tmp_path / "d.txt").write_text("un\ndeux\n\n", "utf-8")
    assert read_pairs(tmp_path / "q.txt", tmp_path / "d.txt").pairs == [Pair("one", "un"), Pair("two", "deux")]


@pytest.mark.parametrize("name, content, message", [
    ("e.jsonl", "", "is empty"),
    ("e.jsonl", "\n  \n", "is empty"),
    ("m.jsonl", '{"query": "a", "positive": "b"}\n{not json\n', r"m.jsonl:2: not a JSON object"),
    ("l.jsonl", '["a", "b"]\n', "expected a JSON object"),
    ("c.jsonl", '{"query": "a", "text": "b"}\n', "no 'positive' column"),
    ("c.csv", "question,answer\na,b\n", "no 'query' column"),
    ("s.jsonl", '{"query": "same", "positive": "same"}\n', "query equals its positive"),
    ("b.jsonl", '{"query": "a", "positive": "  "}\n', "'positive' is empty"),
    ("n.jsonl", '{"query": "a", "positive": 3}\n', "must be a string"),
    ("x.jsonl", '{"query": "a", "positive": "b", "score": 2}\n', r"in \[0, 1\]"),
    ("f.parquet", "xyz", "unknown pairs format"),
])
def test_bad_pair_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, "utf-8")
    with pytest.raises(InputError, match=message):
        read_pairs(path)


def test_missing_file_and_misaligned_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_pairs(tmp_path / "nope.jsonl")
    (tmp_path / "q.txt").write_text("a\nb\n", "utf-8")
    (tmp_path / "d.txt").write_text("x\n", "utf-8")
    with pytest.raises(InputError, match="2 lines but .* has 1"):
        read_pairs(tmp_path / "q.txt", tmp_path / "d.txt")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe{}")
    with pytest.raises(InputError, match="not UTF-8"):
        read_pairs(tmp_path / "bin.jsonl")


def test_python_pairs():
    got = as_pairs([("a", "b"), {"query": "c", "positive": "d"}, Pair("e", "f"), ("a", "b")])
    assert len(got.pairs) == 3 and got.duplicates == 1
    with pytest.raises(InputError, match="expected a Pair"):
        as_pairs([42])


def test_split_is_seeded_and_shares_no_text():
    # pairs 0-9 share a positive in twos, 10-39 are distinct: groups must go whole to one side
    pairs = [Pair(f"q{i}", f"shared{i // 2}") for i in range(10)] + [Pair(f"q{i}", f"p{i}") for i in range(10, 40)]
    pairs.append(Pair("q40", "p40", negatives=("p10",)))  # a negative that is another pair's positive
    train, val = split_pairs(pairs, 0.25, seed=3)
    assert len(train) + len(val) == len(pairs) and len(val) >= 10
    texts = lambda ps: {t for p in ps for t in (p.query, p.positive, *p.negatives)}  # noqa: E731
    assert not texts(train) & texts(val)
    assert split_pairs(pairs, 0.25, seed=3) == (train, val)
    assert split_pairs(pairs, 0.25, seed=4) != (train, val)


def test_split_that_would_leave_validation_empty():
    with pytest.raises(InputError, match=r"^the validation split would be empty: 5 pairs x val_fraction 0.1 is under "
                                         "one pair; give more pairs or a larger val_fraction$") as exc:
        split_pairs([Pair(f"q{i}", f"p{i}") for i in range(5)], 0.1)
    assert exc.value.cli_message() == ("the validation split would be empty: 5 pairs x --val-fraction 0.1 is under one "
                                       "pair; give more pairs or a larger --val-fraction")
    with pytest.raises(InputError, match="validation split would be empty") as exc:  # one group holds everything
        split_pairs([Pair(f"q{i}", "the same positive") for i in range(20)], 0.2)
    assert exc.value.cli_message() == ("the validation split would be empty: the 20 pairs share texts so that they "
                                       "form 1 group(s) that cannot be separated; add more distinct pairs or raise "
                                       "--val-fraction")
    with pytest.raises(InputError, match="at least 2"):
        split_pairs([Pair("a", "b")], 0.5)
    with pytest.raises(InputError, match="between 0 and 1"):
        split_pairs([Pair("a", "b"), Pair("c", "d")], 1.0)
