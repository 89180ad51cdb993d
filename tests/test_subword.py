"""fastText-style subword vectors: stable hashes, n-grams, training quality, any-string vectors, files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlab.errors import CorruptFileError, FormatVersionError, InputError, UnknownKeyError
from embedlab.train.subword import FastText, char_ngrams, fnv1a, fnv1a_hashes

TOPICS = {
    "animal": "elephant giraffe tiger lion zebra monkey leopard buffalo rhinoceros hippopotamus".split(),
    "food": "bread cheese butter apple banana carrot potato tomato noodle pancake".split(),
    "tool": "hammer screwdriver wrench chisel pliers shovel ladder drill sandpaper toolbox".split(),
    "weather": "rain snow thunder lightning storm drizzle hail fog breeze sunshine".split(),
}
FRAMES = {
    "animal": ["the {} lives in the wild", "we saw a {} at the zoo", "a wild {} runs across the savanna"],
    "food": ["i ate {} for lunch", "she cooked {} in the kitchen", "fresh {} from the market tastes good"],
    "tool": ["he fixed the shed with a {}", "grab the {} from the workshop", "a {} hangs in the garage"],
    "weather": ["the forecast says {} tomorrow", "heavy {} fell over the hills", "we stayed inside during the {}"],
}


def synthetic_corpus(n: int = 3000, seed: int = 0) -> list[list[str]]:
    """Sentences where each topic's words share frames and co-occur with each other."""
    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    out = []
    for _ in range(n):
        t = names[rng.integers(len(names))]
        words = TOPICS[t]
        frame = FRAMES[t][rng.integers(len(FRAMES[t]))]
        a, b = rng.choice(len(words), 2, replace=False)
        out.append((frame.format(words[a]) + " and " + words[b]).split())
    return out


@pytest.fixture(scope="module")
def model():
    return FastText(dim=32, window=4, negative=5, min_count=2, subwords=(3, 6), buckets=100_000, epochs=8,
                    lr=0.05, sample=0, workers=1, seed=1, progress=False).fit(synthetic_corpus())


def test_fnv1a_matches_reference_values():
    # textbook FNV-1a 32-bit test vectors (ASCII: fastText's signed-byte variant agrees)
    assert fnv1a("") == 0x811C9DC5
    assert fnv1a("a") == 0xE40C292C
    assert fnv1a("foobar") == 0xBF9CF968
    # non-ASCII: fastText XORs bytes as signed chars; values from fastText-compatible gensim.ft_hash_bytes
    assert fnv1a("café") == 1970454601
    assert fnv1a("코끼리") == 90488157
    assert fnv1a("<ünï>") == 3418604154
    assert fnv1a_hashes(["<el", "elephant>"]).tolist() == [1588008674, 882640718]


def test_fnv1a_agrees_with_gensim_on_many_strings():
    ft_inner = pytest.importorskip("gensim.models.fasttext_inner")
    words = ["<elephant>", "naïve", "日本語", "straße", "ÿ", "🙂x", "a" * 40]
    grams = [g for w in words for g in char_ngrams(w, 1, 6)]
    assert fnv1a_hashes(grams).tolist() == [ft_inner.ft_hash_bytes(g.encode("utf-8")) for g in grams]


def test_char_ngrams_follow_fasttext():
    assert char_ngrams("where", 3, 3) == ["<wh", "whe", "her", "ere", "re>"]
    assert char_ngrams("ab", 1, 3) == ["<a", "<ab", "a", "ab", "ab>", "b", "b>"]  # lone < and > dropped
    assert char_ngrams("코끼리", 2, 2) == ["<코", "코끼", "끼리", "리>"]  # code points, not bytes
    assert len(char_ngrams("elephant", 3, 6)) == 8 + 7 + 6 + 5  # "<elephant>" has 10 characters


def test_misspelling_and_unseen_forms_find_the_right_word(model):
    assert "elephant" in [w for w, _ in model.most_similar("elephnat", topn=5)]
    assert "giraffe" in [w for w, _ in model.most_similar("giraffes", topn=5)]
    assert "screwdriver" in [w for w, _ in model.most_similar("screwdriwer", topn=5)]
    assert "elephnat" not in model.vocab_


def test_training_learns_topics_not_only_spelling(model):
    for words in TOPICS.values():
        for w in words[:4]:
            top = [x for x, _ in model.most_similar(w, topn=5)]
            same = sum(x in words for x in top)
            assert same >= 3, (w, top)
    assert model.loss_history_[-1] < model.loss_history_[0]


def test_vectors_for_any_string_are_deterministic(model, tmp_path):
    v1 = model.vector("qwertzuiop")
    assert v1.dtype == np.float32 and v1.shape == (32,) and np.any(v1)
    np.testing.assert_array_equal(v1, model.vector("qwertzuiop"))
    # same seed and one worker: the same model, bit for bit
    again = FastText(dim=32, window=4, negative=5, min_count=2, subwords=(3, 6), buckets=100_000, epochs=8,
                     sample=0, workers=1, seed=1, progress=False).fit(synthetic_corpus())
    np.testing.assert_array_equal(again.vector("qwertzuiop"), v1)
    np.testing.assert_array_equal(again.wv.matrix, model.wv.matrix)
    # known words: the mean of their word row and n-gram rows
    rows = [model.vocab_.index("zebra"), *model.ngram_rows("zebra")]
    np.testing.assert_allclose(model.vector("zebra"), model.input_[rows].mean(0), rtol=1e-5, atol=1e-7)
    # no known n-gram: zero vector, and most_similar says why
    assert not np.any(model.vector("ßßß"))
    with pytest.raises(UnknownKeyError, match="shares no character n-gram"):
        model.most_similar("ßßß")


def test_save_load_roundtrip_and_bad_files(model, tmp_path):
    folder = model.save(tmp_path / "ft")
    meta = json.loads((folder / "fasttext.json").read_text())
    assert meta["format"] == "embedlab.fasttext" and meta["format_version"] == 2
    assert meta["files"]["vocab"] == "vocab.tsv" and (folder / "vocab.tsv").is_file()  # the name every folder uses
    for mmap in (False, True):
        back = FastText.load(folder, mmap=mmap)
        np.testing.assert_array_equal(back.vector("elephnat"), model.vector("elephnat"))
        assert back.most_similar("tiger", 3) == model.most_similar("tiger", 3)
        assert back.wv.keys == model.wv.keys
    meta["format_version"] = 99
    (folder / "fasttext.json").write_text(json.dumps(meta))
    with pytest.raises(FormatVersionError, match="upgrade embedlab"):
        FastText.load(folder)
    (folder / "fasttext.json").write_text("{not json")
    with pytest.raises(CorruptFileError, match="not valid JSON"):
        FastText.load(folder)
    with pytest.raises(InputError, match="holds no fasttext.json"):
        FastText.load(tmp_path / "nowhere")


def test_loss_falls_every_epoch_on_a_fixed_corpus(model):
    """``loss_history_`` scores the model at the end of each epoch on the same pairs (a fixed sample, learning
    rate 0), so it falls while the model learns; the running loss during an epoch (``train_loss_history_``) can
    rise as the learning rate decays, because a high rate fits the sentences just seen (issue 26: 1.751 -> 1.761
    -> 1.875 in the README's example)."""
    hist = model.loss_history_
    assert len(hist) == 8 and len(model.train_loss_history_) == 8
    assert all(b < a for a, b in zip(hist, hist[1:], strict=False)), hist
    assert hist[0] - hist[-1] > 0.1


def test_loss_falls_every_epoch_on_real_text():
    """Gensim's Lee corpus (60k tokens), fastText's defaults: the running loss rises after epoch 2, the scored
    loss falls every epoch."""
    datapath = pytest.importorskip("gensim.test.utils").datapath
    m = FastText(workers=1, seed=1, progress=False).fit(datapath("lee_background.cor"))
    hist = m.loss_history_
    assert all(b < a for a, b in zip(hist, hist[1:], strict=False)), hist
    assert m.train_loss_history_[-1] > m.train_loss_history_[1]  # what issue 26 saw, and why it is not the measure


def test_typo_recovery_on_a_fixed_corpus(model):
    """Two inner letters swapped in each topic word of 5+ letters: the right word is among the 5 nearest for at
    least 80 % of them (31 of 34 at the time of writing; "drizzle" has no such typo)."""
    words = [w for ws in TOPICS.values() for w in ws if len(w) >= 5]
    hits = tried = 0
    for w in words:
        i = len(w) // 2
        typo = w[:i] + w[i + 1] + w[i] + w[i + 2:]
        if typo == w:  # a doubled letter ("drizzle")
            continue
        assert typo not in model.vocab_
        tried += 1
        hits += w in [x for x, _ in model.most_similar(typo, 5)]
    assert tried == 34 and hits >= 0.8 * tried


def test_two_workers_and_no_subwords_still_train():
    corpus = synthetic_corpus(1500, seed=1)
    m = FastText(dim=16, min_count=2, subwords=(0, 0), buckets=10, epochs=3, workers=2, seed=2,
                 progress=False).fit(corpus)
    assert len(m.ngram_buckets_) == 0 and m.input_.shape == (len(m.vocab_), 16)
    assert not np.any(m.vector("never-seen"))
    assert np.all(np.isfinite(m.wv.matrix))


def test_bad_parameters_and_inputs():
    with pytest.raises(InputError, match="subwords must be"):
        FastText(subwords=(5, 3)).fit([["a", "b"]])
    with pytest.raises(InputError, match="dim must be a positive integer"):
        FastText(dim=0).fit([["a", "b"]])
    with pytest.raises(InputError, match="one-shot iterator"):
        FastText(min_count=1).fit(s for s in [["a", "b"]])
    with pytest.raises(InputError, match="not trained yet"):
        FastText().vector("x")
    from embedlab.errors import ResourceLimitError

    with pytest.raises(ResourceLimitError, match="lower dim, buckets"):
        FastText(dim=100, min_count=1, max_memory_gb=1e-6, progress=False).fit([["a", "b", "a", "b"]])


def test_cli_fasttext_then_oov(tmp_path, capsys):
    from embedlab.cli import main

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(s) for s in synthetic_corpus(2000)) + "\n", encoding="utf-8")
    out = tmp_path / "ft"
    with pytest.raises(SystemExit) as e:
        main(["train", "fasttext", str(corpus), "-o", str(out), "--subwords", "3,6", "--buckets", "50000",
              "--dim", "24", "--epochs", "6", "--min-count", "2", "--sample", "0", "--workers", "1", "--json"])
    assert e.value.code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["vocab_size"] > 40 and (out / "fasttext.json").is_file() and (out / "vectors.txt").is_file()
    with pytest.raises(SystemExit) as e:
        main(["oov", str(out), "elephnat", "--topn", "5", "--json"])
    assert e.value.code == 0
    res = json.loads(capsys.readouterr().out)
    assert res["in_vocabulary"] is False and res["known_ngrams"] > 5
    assert "elephant" in [r["word"] for r in res["neighbours"]]
    # `similar --vectors` builds an out-of-vocabulary word from its n-grams, and says so
    with pytest.raises(SystemExit) as e:
        main(["similar", "elephnat", "elephant", "--vectors", str(out), "--json"])
    assert e.value.code == 0
    res = json.loads(capsys.readouterr().out)
    ft = FastText.load(out)
    want = float(ft.vector("elephnat") @ ft.vector("elephant")
                 / np.linalg.norm(ft.vector("elephnat")) / np.linalg.norm(ft.vector("elephant")))
    assert res["cosine"] == pytest.approx(want, rel=1e-5) and res["cosine"] > 0.5
    n = len(ft.ngram_rows("elephnat"))
    assert res["notes"] == [f"'elephnat' is not in the vocabulary: its vector was built from {n} known character "
                            "n-grams"]
    with pytest.raises(SystemExit) as e:
        main(["similar", "elephant", "tiger", "--vectors", str(out)])
    assert e.value.code == 0
    printed = capsys.readouterr().out
    assert "cosine" in printed and "not in the vocabulary" not in printed
    with pytest.raises(SystemExit) as e:
        main(["similar", "qqq", "tiger", "--vectors", str(out)])
    assert e.value.code != 0
    assert "'qqq' is not in the vocabulary and shares no character n-gram with it" in " ".join(
        capsys.readouterr().err.split())
    with pytest.raises(SystemExit) as e:
        main(["train", "fasttext", str(corpus), "-o", str(out), "--subwords", "3-6"])
    assert e.value.code == 2
    assert "--subwords takes MIN,MAX" in " ".join(capsys.readouterr().err.split())
    with pytest.raises(SystemExit) as e:
        main(["train", "fasttext", str(corpus), "-o", str(out)])
    assert e.value.code == 2
    assert "already exists and is not empty; pass --overwrite" in " ".join(capsys.readouterr().err.split())
    with pytest.raises(SystemExit) as e:
        main(["oov", str(tmp_path), "x"])
    assert e.value.code == 2
    assert "holds no fasttext.json" in " ".join(capsys.readouterr().err.split())


def test_a_version_1_folder_with_vocab_txt_still_reads(model, tmp_path):
    """Folders written before the vocabulary file names were unified (format version 1: ``vocab.txt``, no
    ``files`` map) load exactly as before, through FastText.load and load_vectors alike."""
    from embedlab import load_vectors

    folder = model.save(tmp_path / "ft")
    meta = json.loads((folder / "fasttext.json").read_text())
    del meta["files"]
    meta["format_version"] = 1
    (folder / "fasttext.json").write_text(json.dumps(meta))
    (folder / "vocab.tsv").rename(folder / "vocab.txt")
    back = FastText.load(folder)
    assert back.wv.keys == model.wv.keys
    np.testing.assert_array_equal(back.vector("elephnat"), model.vector("elephnat"))
    np.testing.assert_array_equal(load_vectors(folder).matrix, model.wv.matrix)


@pytest.mark.parametrize("score, trains", [(7.0, True), (8.0, False), (-9.0, False)])
def test_a_pair_trains_until_its_score_reaches_gensims_bound_of_8(score, trains):
    """gensim's FastText skips a (centre, context) pair once |score| >= 8 (fastText's sigmoid range); the kernel
    skipped from 6 (word2vec's bound), so pairs scored 6-8 never trained (issue 26: typo recovery below gensim's)."""
    from embedlab.train._subword_kernels import train_sg_chunk

    # two words without n-grams, one sentence "0 1", window 1; the only noise word is word 1
    ptr, idx = np.array([0, 1, 2]), np.array([0, 1])
    w_in = np.array([[1.0], [0.0]], np.float32)
    w_out = np.array([[0.0], [score]], np.float32)
    loss, pairs = train_sg_chunk(np.array([0, 1], np.int32), np.array([2]), ptr, idx, w_in, w_out,
                                 np.array([1], np.int32), np.ones(2), 1, 1, 0.05, 0.05, np.uint64(3))
    assert pairs == 2  # 0 -> 1 (its noise word, 1, is the target: skipped) and 1 -> 0
    # word 0's row moves only by the pair 0 -> 1, scored `score`: lr * (1 - sigmoid(score)) * w_out[1]
    want = 1.0 + 0.05 * (1 - 1 / (1 + np.exp(-score))) * score if trains else 1.0
    assert w_in[0, 0] == pytest.approx(want, rel=1e-6, abs=0)
    assert (w_in[0, 0] != 1.0) == trains
    # and word 1's output row by the same pair: lr * (1 - sigmoid(score)) * w_in[0] (1 -> 0's noise update of word 1
    # is scaled by w_in[1] = 0)
    want = score + 0.05 * (1 - 1 / (1 + np.exp(-score))) if trains else score
    assert w_out[1, 0] == pytest.approx(want, rel=1e-6, abs=0)


def test_readme_example_recieve_finds_receive():
    """The README's `train fasttext corpus.txt --sample 0` then `oov fasttext/ "recieve"` on gensim's Lee corpus:
    "receive" is among the 5 nearest known words (first at the time of writing; 62nd when issue 26 was filed)."""
    datapath = pytest.importorskip("gensim.test.utils").datapath
    m = FastText(workers=1, seed=1, sample=0, progress=False).fit(datapath("lee_background.cor"))
    assert "recieve" not in m.vocab_ and "receive" in m.vocab_
    assert "receive" in [w for w, _ in m.most_similar("recieve", 5)]
