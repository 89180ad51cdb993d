"""BPE (SentencePiece) tokenizer: Korean and English, no unknown pieces, files, use as a corpus tokenizer."""

from __future__ import annotations

import json

import pytest

from embedlab.errors import CorruptFileError, FormatVersionError, InputError
from embedlab.train.bpe import BPETokenizer

KOREAN = """오늘은 날씨가 정말 좋습니다.
나는 아침마다 공원에서 산책을 합니다.
우리 학교 도서관은 아주 조용합니다.
친구와 함께 영화를 보러 갔어요.
어머니께서 맛있는 김치찌개를 만들어 주셨어요.
주말에는 가족과 함께 바다에 갑니다.
고양이가 창문 옆에서 잠을 자고 있어요.
강아지는 공을 가지고 노는 것을 좋아합니다.
서울은 한국의 수도입니다.
지하철을 타고 회사에 출근합니다.
커피를 마시면서 책을 읽었어요.
내일은 비가 올 것 같습니다.
동생은 피아노를 열심히 연습하고 있어요.
우리는 식당에서 비빔밥을 먹었습니다.
선생님께서 숙제를 내 주셨어요.
봄이 되면 꽃이 많이 핍니다.
여름에는 수영장에 자주 갑니다.
가을에는 단풍이 아름답습니다.
겨울에는 눈이 많이 내립니다.
시장에서 사과와 배를 샀어요.
할머니 댁은 시골에 있습니다.
저는 한국어를 공부하고 있습니다.
컴퓨터로 이메일을 보냈어요.
버스 정류장에서 친구를 기다렸어요.
병원에 가서 의사 선생님을 만났습니다.
아버지는 신문을 읽고 계십니다.
우리 집 근처에 큰 공원이 있어요.
도서관에서 책을 빌렸습니다.
학생들이 운동장에서 축구를 하고 있어요.
저녁에 가족과 함께 텔레비전을 봤어요.
비행기를 타고 제주도에 여행을 갔습니다.
생일 선물로 시계를 받았어요.
은행에서 돈을 찾았습니다.
산에 올라가면 경치가 아름답습니다.
우유와 빵으로 아침을 먹었어요.
친구에게 편지를 썼습니다.
기차역은 사람들로 붐볐어요.
새 신발을 사러 백화점에 갔어요.
밤하늘에 별이 반짝입니다.
우리는 한국 음식을 좋아합니다.""".splitlines()

ENGLISH = [
    "the elephant walked slowly to the river", "a small bird sang in the tall tree",
    "the children were running and jumping in the garden", "she is reading a book about ancient history",
    "they played football after school", "the river flows quietly through the valley",
    "we were walking along the beach at sunset", "he opened the window and the wind came in",
] * 5


@pytest.fixture(scope="module")
def korean():
    return BPETokenizer(vocab_size=700, seed=0, threads=1).fit(KOREAN * 3)


def test_unseen_korean_word_splits_into_known_pieces(korean):
    text = "\n".join(KOREAN)
    word = "도서관학생"  # both halves seen, the compound never
    assert word not in text and all(ch in text for ch in word)
    pieces = korean(word)
    assert len(pieces) >= 2 and "".join(pieces).lstrip("▁") == word
    assert all(p in korean and not korean.is_byte(p) for p in pieces)
    assert korean.unk_id not in korean.encode(word)
    assert korean.decode(pieces) == word


def test_unseen_korean_characters_fall_back_to_bytes_never_unknown(korean):
    word = "뷁햏"  # syllables that never occur in the corpus
    pieces = korean(word)
    assert korean.unk_id not in korean.encode(word)
    assert sum(korean.is_byte(p) for p in pieces) == 6  # two 3-byte UTF-8 syllables
    assert korean.decode(pieces) == word
    for line in KOREAN:
        assert korean.unk_id not in korean.encode(line)
        assert korean.decode(korean(line)) == line


def test_english_pieces_merge_frequent_words_and_split_rare_ones():
    tok = BPETokenizer(vocab_size=400, seed=0, threads=1).fit(ENGLISH)
    assert "▁the" in tok.vocab
    pieces = tok("the unwalkable riverbanks")
    assert pieces[0] == "▁the" and len(pieces) > 3
    assert tok.decode(pieces) == "the unwalkable riverbanks"
    again = BPETokenizer(vocab_size=400, seed=0, threads=1).fit(ENGLISH)
    assert again.vocab == tok.vocab  # deterministic


def test_save_load_roundtrip_and_bad_folders(korean, tmp_path):
    folder = korean.save(tmp_path / "bpe")
    meta = json.loads((folder / "tokenizer.json").read_text())
    assert meta["format"] == "embedlab.bpe" and meta["format_version"] == 1 and meta["library"] == "sentencepiece"
    back = BPETokenizer.load(folder)
    assert back.vocab == korean.vocab and back("도서관학생") == korean("도서관학생")
    assert BPETokenizer.load(folder / "spm.model")("서울") == korean("서울")
    meta["format_version"] = 7
    (folder / "tokenizer.json").write_text(json.dumps(meta))
    with pytest.raises(FormatVersionError, match="upgrade embedlab"):
        BPETokenizer.load(folder)
    with pytest.raises(InputError, match="holds no tokenizer.json"):
        BPETokenizer.load(tmp_path)
    (tmp_path / "junk.model").write_bytes(b"not a model")
    with pytest.raises(CorruptFileError, match="not a SentencePiece model"):
        BPETokenizer.load(tmp_path / "junk.model")


def test_as_tokenizer_of_a_corpus_for_training(tmp_path):
    from embedlab.train.corpus import LineCorpus
    from embedlab.train.subword import FastText
    from embedlab.train.vocab import Vocab

    path = tmp_path / "ko.txt"
    path.write_text("\n".join(KOREAN * 5) + "\n", encoding="utf-8")
    tok = BPETokenizer(vocab_size=700, seed=0, threads=1).fit(path)
    corpus = LineCorpus(path, tokenizer=tok)
    first = next(iter(corpus))
    assert first == tok(KOREAN[0])
    vocab = Vocab.build(corpus, min_count=1)
    assert all(w in tok for w in vocab.words)
    ft = FastText(dim=8, min_count=1, subwords=(0, 0), buckets=10, epochs=1, workers=1, progress=False).fit(corpus)
    assert set(ft.wv.keys) == set(vocab.words)


def test_bad_training_input():
    with pytest.raises(InputError, match="no text lines"):
        BPETokenizer(vocab_size=100).fit(["", "  "])
    with pytest.raises(InputError, match="unknown model_type 'wordpiece'; choose one of bpe, unigram"):
        BPETokenizer(model_type="wordpiece").fit(ENGLISH)
    with pytest.raises(InputError, match="raise vocab_size"):
        BPETokenizer(vocab_size=50).fit(KOREAN)
    with pytest.raises(InputError, match="takes a string"):
        BPETokenizer(vocab_size=300, threads=1).fit(ENGLISH)(["a", "b"])


def test_cli_bpe_then_fasttext_with_the_tokenizer(tmp_path, capsys):
    from embedlab.cli import main

    corpus = tmp_path / "ko.txt"
    corpus.write_text("\n".join(KOREAN * 5) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as e:
        main(["train", "bpe", str(corpus), "--vocab-size", "700", "-o", str(tmp_path / "bpe"),
              "--example", "도서관학생", "--json"])
    assert e.value.code == 0
    res = json.loads(capsys.readouterr().out)
    assert res["pieces"] <= 700 and "".join(res["example"]).lstrip("▁") == "도서관학생"
    with pytest.raises(SystemExit) as e:
        main(["train", "fasttext", str(corpus), "-o", str(tmp_path / "ft"), "--tokenizer", str(tmp_path / "bpe"),
              "--min-count", "1", "--dim", "8", "--epochs", "1", "--buckets", "1000", "--json"])
    assert e.value.code == 0
    tok = BPETokenizer.load(tmp_path / "bpe")
    vocab = (tmp_path / "ft" / "vocab.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert vocab and all(line.rsplit("\t", 1)[0] in tok for line in vocab)


def test_train_is_a_deprecated_alias_of_fit():
    """The old classmethod still trains the same tokenizer, with a DeprecationWarning naming the new form."""
    with pytest.warns(DeprecationWarning, match=r"use BPETokenizer\(\*\*params\)\.fit\(corpus\)"):
        old = BPETokenizer.train(ENGLISH, vocab_size=400, seed=0, threads=1)
    new = BPETokenizer(vocab_size=400, seed=0, threads=1).fit(ENGLISH)
    assert old.vocab == new.vocab and old.options == new.options
    with pytest.raises(InputError, match="not trained yet; call fit"):
        BPETokenizer()("a line")
