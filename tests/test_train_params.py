"""Trainer parameters and inputs (Word2Vec, FastText, BPE, Vocab, LineCorpus): each bad value is an InputError that
names the parameter, the allowed range and what was given, raised before the corpus is read."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from embedlab.errors import InputError
from embedlab.train import GloVe, LineCorpus, TextbookWord2Vec, Vocab, Word2Vec
from embedlab.train.bpe import BPETokenizer
from embedlab.train.subword import FastText

NAN, INF = float("nan"), float("inf")
FAST = dict(dim=8, window=2, sample=0.0, min_count=1, epochs=1, workers=1, progress=False)
SENTENCES = [["a", "b", "c", "a"], ["b", "c", "d"]] * 20


class Untouchable:
    """A corpus that fails the test when read: the parameters must be refused before."""

    def __iter__(self):
        raise AssertionError("the corpus was read before the parameters were checked")


WORD2VEC_CASES = [
    (dict(negative=5.5), r"negative must be a non-negative integer, got 5.5 \(float\)"),  # once: int(5.5) = 5
    (dict(negative=True), r"negative must be a non-negative integer, got True \(bool\)"),
    (dict(negative="5"), r"negative must be a non-negative integer, got '5' \(str\)"),
    (dict(negative=-1), "negative must be a non-negative integer, got -1"),
    (dict(hs=1), r"hs must be True or False, got 1 \(int\)"),
    (dict(sample=NAN), "sample must be a non-negative number, got nan"),  # once: trained with NaN
    (dict(sample="1e-3"), r"sample must be a non-negative number, got '1e-3' \(str\)"),  # once: TypeError
    (dict(alpha=INF), "alpha must be a positive number, got inf"),  # once: NaN vectors after training
    (dict(alpha=0), "alpha must be a positive number, got 0.0"),
    (dict(min_alpha=INF), "min_alpha must be a non-negative number, got inf"),
    (dict(min_alpha=-1e-4), "min_alpha must be a non-negative number, got -0.0001"),
    (dict(min_count=2.7), r"min_count must be a positive integer, got 2.7 \(float\)"),  # once: int(2.7) = 2
    (dict(min_count=True), r"min_count must be a positive integer, got True \(bool\)"),  # once: 1
    (dict(max_vocab_size=100.5), r"max_vocab_size must be an integer >= 2 or None, got 100.5 \(float\)"),
    (dict(max_vocab_size=1), "max_vocab_size must be an integer >= 2, got 1; None means no limit"),
    (dict(seed=-1), "seed must be a non-negative integer, got -1"),  # once: numpy's ValueError
    (dict(seed=1.5), r"seed must be a non-negative integer, got 1.5 \(float\)"),
    (dict(seed=None), r"seed must be a non-negative integer, got None \(NoneType\)"),
    (dict(shuffle="no"), r"shuffle must be True or False, got 'no' \(str\)"),  # once: 'no' shuffled
    (dict(progress=0), r"progress must be True or False, got 0 \(int\)"),
    (dict(workers=True), r"workers must be a positive integer, got True \(bool\)"),
    (dict(arch="CBOW"), "unknown arch 'CBOW'; choose one of skipgram, cbow"),
    (dict(max_memory=NAN), "max_memory must be a positive number, got nan"),  # once: ValueError
    (dict(max_memory=True), r"max_memory must be a positive number, got True \(bool\)"),  # once: 1 byte
    (dict(max_memory=0), "max_memory must be a positive number, got 0.0"),
    (dict(max_memory=-5), "max_memory must be a positive number, got -5.0"),  # once: a ResourceLimitError later
    (dict(max_memory="1.2.3GB"), r"cannot read a memory size from '1.2.3GB' \(max_memory\)"),  # once: ValueError
    (dict(max_memory="1e999GB"), "max_memory must be a positive number, got inf"),  # once: OverflowError
]


def test_word2vec_train_more_and_helpers(tmp_path):
    model = Word2Vec(**FAST).fit(SENTENCES)
    for epochs, message in ((True, r"got True \(bool\)"), (1.0, r"got 1.0 \(float\)"), (0, "got 0")):
        with pytest.raises(InputError, match=f"epochs must be a positive integer, {message}"):
            model.train_more(Untouchable(), epochs=epochs)  # once: True trained one epoch
    with pytest.raises(InputError, match="tmp_dir must be an existing folder"):  # once: FileNotFoundError
        model.train_more(SENTENCES, tmp_dir=tmp_path / "missing")
    with pytest.raises(InputError, match="tmp_dir must be an existing folder"):
        Word2Vec(**FAST).fit(Untouchable(), tmp_dir=tmp_path / "missing")
    with pytest.raises(InputError, match=r"vocab_size must be a non-negative integer, got '10' \(str\)"):
        model.estimate_memory("10")  # once: int('10')
    model.write_files(tmp_path)  # the public half of save, for callers that publish the folder themselves
    assert Word2Vec.load(tmp_path).wv.keys == model.wv.keys
    with pytest.raises(InputError, match="nothing to save: the model is not trained yet"):
        Word2Vec(**FAST).write_files(tmp_path)


@pytest.mark.parametrize("corpus,message", [
    ([["a", ["b"]], ["c"]], r"sentence 0 of the corpus is list \['a', \['b'\]\]; each sentence must be a list of "
                            r"string tokens"),  # once: TypeError unhashable list
    ([["a", "b"], None], "sentence 1 of the corpus is NoneType None"),  # once: TypeError len(None)
    ([["a", "b"], 7], "sentence 1 of the corpus is int 7"),
    ([[1, 2, 1], [2, 1]], "vocabulary words must be strings .* got int 1"),
])
def test_tokens_must_be_strings(corpus, message):
    with pytest.raises(InputError, match=message):
        Word2Vec(**FAST).fit(corpus)
    with pytest.raises(InputError, match=message):
        Vocab.build(corpus, min_count=1, max_vocab_size=10)  # the counting pass of max_vocab_size


def test_a_small_max_vocab_size_is_named_when_it_empties_the_vocabulary():
    with pytest.raises(InputError, match="max_vocab_size=2 pruned every word while counting"):
        Word2Vec(**dict(FAST, max_vocab_size=2)).fit([["a", "b", "c", "d", "e"]] * 3)  # once: "corpus is empty"
    with pytest.raises(InputError, match=r"; word2vec needs at least 2; use a larger corpus or raise "
                                         r"max_vocab_size=2$"):  # min_count=1: nothing to lower
        Word2Vec(**dict(FAST, max_vocab_size=2)).fit([["a"] * 9 + ["b", "c", "d"]] * 3)
    with pytest.raises(InputError, match="use a larger corpus or lower min_count or raise max_vocab_size=2$") as exc:
        Word2Vec(**dict(FAST, min_count=2, max_vocab_size=2)).fit([["a"] * 9 + ["b", "c", "d"]] * 3)
    assert exc.value.cli_message().endswith("use a larger corpus or lower --min-count or raise --max-vocab-size=2")


@pytest.mark.parametrize("make, needs", [
    (lambda m: Word2Vec(**dict(FAST, min_count=m)), "word2vec needs at least 2"),
    (lambda m: FastText(dim=8, min_count=m, buckets=100, epochs=1, workers=1, progress=False),
     "fastText needs at least 2"),
    (lambda m: GloVe(dim=8, min_count=m, epochs=1, workers=1, progress=False),
     "GloVe needs at least 2 words that occur near each other"),
    (lambda m: TextbookWord2Vec(dim=4, min_count=m, epochs=1), "the textbook word2vec needs at least 2"),
], ids=["word2vec", "fasttext", "glove", "textbook"])
def test_a_one_word_corpus_is_refused_alike_with_only_the_advice_that_helps(make, needs):
    one_word = [["same", "same", "same"]] * 4 + [["rare"]]
    with pytest.raises(InputError, match=rf"^the corpus has only 1 distinct word\(s\) with count >= min_count=1; "
                                         rf"{needs}; use a larger corpus$"):
        make(1).fit([["same", "same", "same"]] * 4)
    with pytest.raises(InputError, match=rf"^the corpus has only 1 distinct word\(s\) with count >= min_count=2; "
                                         rf"{needs}; use a larger corpus or lower min_count$") as exc:
        make(2).fit(one_word)
    assert exc.value.cli_message() == (f"the corpus has only 1 distinct word(s) with count >= --min-count=2; {needs}; "
                                       "use a larger corpus or lower --min-count")


def test_vocab_parameters():
    for kwargs, message in ((dict(min_count=2.7), r"min_count must be a positive integer, got 2.7 \(float\)"),
                            (dict(min_count=True), r"got True \(bool\)"),
                            (dict(max_vocab_size="9"), r"max_vocab_size must be an integer >= 2 or None, got '9'")):
        with pytest.raises(InputError, match=message):
            Vocab.build(Untouchable(), **kwargs)
        with pytest.raises(InputError, match=message):
            Vocab.from_counts({"a": 3, "b": 2}, **kwargs)
    v = Vocab(["a", "b"], [3, 1])
    with pytest.raises(InputError, match="sample must be a non-negative number, got nan"):
        v.keep_probabilities(NAN)  # once: NaN probabilities
    with pytest.raises(InputError, match=r"sample must be a non-negative number, got '0.1' \(str\)"):
        v.keep_probabilities("0.1")  # once: TypeError
    with pytest.raises(InputError, match="power must be a number, got inf"):
        v.noise_distribution(INF)
    with pytest.raises(InputError, match="counts must be whole numbers"):
        Vocab(["a"], ["x"])  # once: numpy's ValueError
    with pytest.raises(InputError, match="counts must be >= 0, got -2"):
        Vocab(["a"], [-2])
    with pytest.raises(InputError, match="vocabulary words must be strings"):
        Vocab(["a", 1], [1, 1])


FASTTEXT_CASES = [
    (dict(dim=True), r"dim must be a positive integer, got True \(bool\)"),  # once: dim=True accepted
    (dict(workers=2.0), r"workers must be a positive integer, got 2.0 \(float\)"),
    (dict(negative=True), r"negative must be a positive integer, got True \(bool\)"),
    (dict(lr=INF), "lr must be a positive number, got inf"),  # once: NaN vectors
    (dict(lr=NAN), "lr must be a positive number, got nan"),
    (dict(sample=NAN), "sample must be a non-negative number, got nan"),
    (dict(sample="0"), r"sample must be a non-negative number, got '0' \(str\)"),
    (dict(ns_exponent=NAN), "ns_exponent must be a number, got nan"),
    (dict(ns_exponent="0.75"), r"ns_exponent must be a number, got '0.75' \(str\)"),
    (dict(max_memory_gb=NAN), "max_memory_gb must be a positive number, got nan"),  # once: no limit at all
    (dict(max_memory_gb=0), "max_memory_gb must be a positive number, got 0.0"),
    (dict(seed=-1), "seed must be a non-negative integer, got -1"),  # once: numpy's ValueError
    (dict(seed="1"), r"seed must be a non-negative integer, got '1' \(str\)"),
    (dict(lowercase="yes"), r"lowercase must be True or False, got 'yes' \(str\)"),
    (dict(progress=None), r"progress must be True or False, got None"),
    (dict(subwords=3), r"subwords must be \(minn, maxn\), two whole numbers, got 3"),  # once: TypeError
    (dict(subwords=(3, 6, 9)), r"subwords must be \(minn, maxn\), two whole numbers, got \(3, 6, 9\)"),
    (dict(subwords=(3.0, 6)), r"subwords minn must be a non-negative integer, got 3.0 \(float\)"),
    (dict(subwords=(True, 6)), r"subwords minn must be a non-negative integer, got True \(bool\)"),
    (dict(subwords=("3", "6")), r"subwords minn must be a non-negative integer, got '3' \(str\)"),  # TypeError
    (dict(subwords=(-1, 6)), "subwords minn must be a non-negative integer, got -1"),
]


@pytest.mark.parametrize("trainer,params,message", [(Word2Vec, *case) for case in WORD2VEC_CASES]
                         + [(FastText, *case) for case in FASTTEXT_CASES])
def test_trainer_parameters(trainer, params, message):
    model = trainer(**dict(FAST, **params))
    with pytest.raises(InputError, match=message):
        model.check_params()
    with pytest.raises(InputError, match=message):
        model.fit(Untouchable())


def test_fasttext_arguments(tmp_path):
    model = FastText(**dict(FAST, subwords=(2, 3), buckets=1000)).fit(SENTENCES)
    for topn, message in ((2.5, r"got 2.5 \(float\)"), ("3", r"got '3' \(str\)"), (0, "got 0")):
        with pytest.raises(InputError, match=f"topn must be a positive integer, {message}"):
            model.most_similar("ab", topn=topn)  # once: int(2.5), int('3'); 0 gave []
    with pytest.raises(InputError, match="word must be a string, got int"):
        model.ngram_rows(5)
    model.save(tmp_path / "ft")
    with pytest.raises(InputError, match=r"mmap must be True or False, got 'yes'"):
        FastText.load(tmp_path / "ft", mmap="yes")
    model.write_files(tmp_path)
    assert FastText.load(tmp_path).wv.keys == model.wv.keys


ENGLISH = ["the elephant walked slowly to the river", "a small bird sang in the tall tree",
           "they played football after school", "we were walking along the beach at sunset"] * 5


@pytest.mark.parametrize("kwargs,message", [
    (dict(vocab_size=300.5), r"vocab_size must be an integer >= 8, got 300.5 \(float\)"),  # once: 300
    (dict(vocab_size="300"), r"vocab_size must be an integer >= 8, got '300' \(str\)"),  # once: int('300')
    (dict(vocab_size=True), r"got True \(bool\)"),
    (dict(model_type=None), "unknown model_type None; choose one of bpe, unigram"),
    (dict(character_coverage="1"), r"character_coverage must be a number in \[0.9, 1.0\], got '1' \(str\)"),
    (dict(character_coverage=NAN), r"character_coverage must be a number in \[0.9, 1.0\], got nan"),
    (dict(byte_fallback="no"), r"byte_fallback must be True or False, got 'no' \(str\)"),  # once: bool('no')
    (dict(lowercase=1), r"lowercase must be True or False, got 1 \(int\)"),
    (dict(seed=-1), r"seed must be an integer in \[0, 4294967294\], got -1"),  # once: TypeError
    (dict(seed=2**32 - 1), r"seed must be an integer in \[0, 4294967294\], got 4294967295"),  # = unseeded
    (dict(seed=1.5), r"got 1.5 \(float\)"),
    (dict(max_sentences=-1), "max_sentences must be a positive integer, got -1"),  # once: ValueError
    (dict(max_sentences=0), "max_sentences must be a positive integer, got 0; None"),  # once: silently all
    (dict(max_sentences=2.5), r"max_sentences must be a positive integer or None, got 2.5 \(float\)"),
    (dict(max_sentence_length=0), "max_sentence_length must be a positive integer, got 0"),
    (dict(threads=0), "threads must be a positive integer, got 0"),  # once: silently every CPU
    (dict(threads=True), r"threads must be a positive integer or None, got True \(bool\)"),
])
def test_bpe_training_parameters(kwargs, message):
    with pytest.raises(InputError, match=message):
        BPETokenizer(**kwargs).fit(Untouchable())


def test_bpe_corpus_items_must_be_text():
    for corpus, message in (([5, "a b"], "line 0 of the corpus is int 5"),  # once: TypeError
                            (["a b", ["a", 5]], r"line 1 of the corpus is list \['a', 5\]")):
        with pytest.raises(InputError, match=f"{message}; each line must be a string or a list of string tokens"):
            BPETokenizer(vocab_size=100).fit(corpus)


def test_bpe_encode_decode_arguments():
    tok = BPETokenizer(vocab_size=300, threads=1).fit(ENGLISH)
    ids = tok.encode("the river")
    assert tok.decode(ids) == tok.decode(tok("the river")) == "the river"
    for call, message in ((lambda: tok.encode(5), "takes a string, got int"),  # once: TypeError
                          (lambda: tok.is_byte(5), "takes a string, got int"),  # once: TypeError
                          (lambda: tok.decode("the"), "decode takes a list of pieces or of ids, got str"),
                          (lambda: tok.decode(5), "decode takes a list of pieces or of ids, got int"),
                          (lambda: tok.decode([10**9]), r"a piece id must be an integer in \[0, "),  # IndexError
                          (lambda: tok.decode([1.5]), r"a piece id must be .* got 1.5 \(float\)"),  # once: ''
                          (lambda: tok.decode(["the", 3]), r"got 'the' \(str\); decode takes all pieces")):
        with pytest.raises(InputError, match=message):
            call()


def test_line_corpus_parameters_and_damaged_gz(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b c\n", encoding="utf-8")
    for kwargs, message in ((dict(max_sentence_length=2.5), r"max_sentence_length must be a positive integer, "
                                                            r"got 2.5 \(float\)"),  # once: int(2.5)
                            (dict(lowercase="yes"), r"lowercase must be True or False, got 'yes'"),
                            (dict(tokenizer="split"), "tokenizer must be a function")):  # once: TypeError later
        with pytest.raises(InputError, match=message):
            LineCorpus(path, **kwargs)
    with pytest.raises(InputError, match="a LineCorpus reads a path .* got int"):
        LineCorpus(5)  # once: TypeError
    data = gzip.compress(("word " * 20 + "\n").encode() * 2000)
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])  # complete first 8 KiB, then cut
    corpus = LineCorpus(tmp_path / "cut.gz")
    with pytest.raises(InputError, match=r"cannot read corpus file .*cut.gz .*a .gz file must be complete"):
        list(corpus)  # once: EOFError in the middle of training
    (tmp_path / "tiny.gz").write_bytes(gzip.compress(b"a b c\n" * 3)[:20])
    with pytest.raises(InputError, match=r"cannot read corpus file .*tiny.gz"):
        LineCorpus(tmp_path / "tiny.gz")  # once: EOFError while sniffing
    assert np.isfinite(Word2Vec(**FAST).fit(LineCorpus(path, max_sentence_length=2)).wv.matrix).all()
