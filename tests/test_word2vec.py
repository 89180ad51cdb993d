"""Word2Vec trainer, streaming corpus and vocabulary: exact counts, sampling formulas, reproducibility, structure."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest

from embedlab.errors import FormatVersionError, InputError, ResourceLimitError
from embedlab.train import LineCorpus, Vocab, Word2Vec
from embedlab.train.corpus import EncodedCorpus
from embedlab.train.vocab import count_words
from embedlab.train.word2vec import parse_bytes

FAST = dict(dim=16, window=3, sample=0.0, min_count=1, epochs=4, progress=False)


def topic_corpus(n_sent: int = 1200, seed: int = 0) -> list[list[str]]:
    """Two topics of 8 words; a sentence draws 10 words from one topic only."""
    rng = np.random.default_rng(seed)
    groups = [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(8)]]
    return [[groups[s % 2][j] for j in rng.integers(0, 8, 10)] for s in range(n_sent)]


def same_group_rate(model: Word2Vec, k: int = 3) -> float:
    wv = model.wv
    unit = wv.matrix / np.linalg.norm(wv.matrix, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    hits = []
    for i, w in enumerate(wv.keys):
        top = np.argsort(-sims[i])[:k]
        hits += [wv.keys[j][0] == w[0] for j in top]
    return float(np.mean(hits))


# --- vocabulary ---------------------------------------------------------------------------------------------
def test_vocab_counts_exact_and_order():
    corpus = [["b", "a", "c", "a"], ["c", "d", "b", "e"], ["f"]]
    v = Vocab.build(corpus, min_count=1)
    assert v.words == ["b", "a", "c", "d", "e", "f"]  # count desc, ties by first occurrence
    assert v.counts.tolist() == [2, 2, 2, 1, 1, 1]
    assert v.raw_tokens == 9 and v.sentences == 3 and v.total == 9
    v2 = Vocab.build(corpus, min_count=2)
    assert v2.words == ["b", "a", "c"] and v2.raw_tokens == 9
    assert v2.encode(["a", "zzz", "c"]).tolist() == [1, 2]


def test_max_vocab_size_prunes_like_word2vec_c():
    counts, tokens, sents = count_words([["x", "y"], ["x", "z"], ["w"]], max_vocab_size=2)
    assert counts == {"x": 2, "w": 1} and tokens == 5 and sents == 3
    rng = np.random.default_rng(0)
    corpus = [[f"w{int(z)}" for z in rng.zipf(1.3, 20)] for _ in range(300)]
    v = Vocab.build(corpus, min_count=1, max_vocab_size=50)
    assert 0 < len(v) <= 50 and v.words[0] == "w1"


def test_vocab_save_load_roundtrip(tmp_path):
    v = Vocab.build([["tab\there", "a", "back\\slash", "a"]], min_count=1)
    v.save(tmp_path / "vocab.tsv")
    w = Vocab.load(tmp_path / "vocab.tsv")
    assert w.words == v.words == ["a", "tab\there", "back\\slash"] and w.counts.tolist() == [2, 1, 1]
    assert w.raw_tokens == 4


def test_subsampling_probabilities_match_formula():
    v = Vocab(["a", "b", "c", "d"], [1000, 100, 10, 1])
    t = 0.01 * 1111
    expected = [min(1.0, (math.sqrt(c / t) + 1) * t / c) for c in (1000, 100, 10, 1)]
    assert np.allclose(v.keep_probabilities(0.01), expected, rtol=1e-6)
    assert v.keep_probabilities(0).tolist() == [1, 1, 1, 1]
    with pytest.raises(InputError, match="sample must be a non-negative number, got -1"):
        v.keep_probabilities(-1)


def test_kernel_keeps_words_at_the_formula_rate():
    from embedlab.train import _kernels as K

    rng = np.random.default_rng(1)
    tokens = np.minimum(rng.zipf(1.5, 200_000) - 1, 499).astype(np.int32)
    counts = np.bincount(tokens, minlength=500)
    order = np.argsort(-counts, kind="stable")
    remap = np.empty_like(order)
    remap[order] = np.arange(500)
    tokens = remap[tokens].astype(np.int32)
    vocab = Vocab([str(i) for i in range(500)], counts[order])
    keep = vocab.keep_probabilities(1e-3)
    lengths = np.full(2000, 100, np.int32)
    W = np.zeros((500, 4), np.float32)
    ap, ai = K.build_alias(vocab.noise_distribution())
    sig, logsig = K.make_tables()
    z1, z2 = np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32)
    _, _, used = K.train_chunk(tokens, lengths, W, W.copy(), W[:1].copy(), keep, ap, ai, z1, z2, np.zeros(1, np.int32),
                               True, 1, False, 1, 0.025, 1e-4, 0.0, 2e5, np.uint64(7), sig, logsig)
    expected = float((vocab.counts * keep).sum())
    assert abs(used - expected) / expected < 0.01


def test_learning_rate_decays_by_sentences():
    """Three 3-word sentences that subsampling removes, then "0 1": that last sentence trains at position 3
    (sentences before it), as gensim's schedule says, not 9 (words before it). Pure hierarchical softmax with
    window 1 uses no randomness here, so the runs compare bit for bit."""
    from embedlab.train import _kernels as K

    sig, logsig = K.make_tables()
    codes, points, code_len = K.build_huffman(np.array([5, 3, 9], np.int64))
    keep = np.array([1.0, 1.0, 0.0], np.float32)  # word 2 is always dropped
    ap, ai = np.ones(1, np.float32), np.zeros(1, np.int32)

    def train(tokens, lengths, pos0):
        W = np.random.default_rng(0).random((3, 4), dtype=np.float32)
        Wh = np.random.default_rng(1).random((3, 4), dtype=np.float32)
        K.train_chunk(np.array(tokens, np.int32), np.array(lengths, np.int32), W, W[:1].copy(), Wh, keep, ap, ai,
                      codes, points, code_len, True, 0, True, 1, 0.5, 0.001, float(pos0), 10.0, np.uint64(3), sig,
                      logsig)
        return W

    after_dropped = train([2] * 9 + [0, 1], [3, 3, 3, 2], 0)
    assert np.array_equal(after_dropped, train([0, 1], [2], 3))
    assert not np.array_equal(after_dropped, train([0, 1], [2], 9))


def test_alias_and_huffman_tables():
    from embedlab.train import _kernels as K

    p = np.array([0.5, 0.3, 0.15, 0.05])
    prob, alias = K.build_alias(p)
    recon = prob / 4.0
    for i in range(4):
        recon[alias[i]] += (1 - prob[i]) / 4.0
    assert np.allclose(recon, p)
    codes, points, lengths = K.build_huffman(np.array([50, 30, 15, 5], np.int64))
    assert lengths.tolist() == [1, 2, 3, 3]  # optimal prefix code for these counts
    assert np.all(points[np.arange(4), 0] == 2)  # every path starts at the root (inner node V-2)
    paths = {tuple(codes[i, : lengths[i]]) for i in range(4)}
    assert len(paths) == 4


def test_one_update_is_gensims_rule():
    """f = l1·out[row]; the sigmoid comes from table row int((f + 6) * 83) (word2vec.c's integer-divided scale,
    as gensim); g = (label - sigmoid) * alpha goes to neu1e (old out row) and to out[row]; |f| >= 6 changes nothing."""
    from embedlab.train import _kernels as K

    sig, logsig = K.make_tables()
    l1 = np.array([0.5, -0.25, 1.0, 0.75], np.float32)
    out = np.array([[0.2, 0.4, -0.1, 0.3], [4.0, 0.0, 4.0, 4.0]], np.float32)
    old = out.copy()
    neu1e = np.zeros(4, np.float32)
    f = float(l1 @ out[0])  # 0.125: row 508 with the scale 83 (the exact 83.33 would read row 510)
    g = (1.0 - float(sig[int((f + 6.0) * 83)])) * 0.025
    loss = K._update(l1, out, 0, 1, np.float32(0.025), neu1e, sig, logsig)
    np.testing.assert_allclose(out[0], old[0] + g * l1, rtol=1e-6)
    np.testing.assert_allclose(neu1e, g * old[0], rtol=1e-6)
    assert loss == pytest.approx(-float(logsig[508]))
    neu1e[:] = 0.0
    assert K._update(l1, out, 1, 0, np.float32(0.025), neu1e, sig, logsig) == pytest.approx(9.0)  # f = 9: saturated
    assert K._update(l1, out, 1, 1, np.float32(0.025), neu1e, sig, logsig) == 0.0
    np.testing.assert_array_equal(out[1], old[1])
    assert not neu1e.any()


# --- corpus --------------------------------------------------------------------------------------------------
def test_line_corpus_folder_gz_lowercase_and_long_lines(tmp_path):
    (tmp_path / "b.txt").write_text("Hello World\n\nthird LINE here\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("one two three four five six seven\n", encoding="utf-8")
    (tmp_path / ".hidden").write_text("skip me\n", encoding="utf-8")
    with gzip.open(tmp_path / "c.txt.gz", "wt", encoding="utf-8") as f:
        f.write("Zipped Words\n")
    c = LineCorpus(tmp_path, lowercase=True, max_sentence_length=3)
    got = list(c)
    assert got == [["one", "two", "three"], ["four", "five", "six"], ["seven"], ["hello", "world"],
                   ["third", "line", "here"], ["zipped", "words"]]
    assert list(c) == got  # re-iterable


def test_encoded_corpus_matches_vocab(tmp_path):
    corpus = topic_corpus(50)
    enc, ids, counts = EncodedCorpus.write(corpus, tmp_path / "enc")
    v = Vocab.build(corpus, min_count=1)
    assert dict(zip(ids, counts.tolist(), strict=True)) == dict(zip(v.words, v.counts.tolist(), strict=True))
    assert enc.n_tokens == 500 and enc.n_sentences == 50
    assert sum(int(b) - int(a) for _, a, b in enc.chunks(120)) == 50


# --- training -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
@pytest.mark.parametrize("hs,negative", [(False, 5), (True, 0)])
def test_topics_become_neighbours(arch, hs, negative):
    m = Word2Vec(arch=arch, hs=hs, negative=negative, workers=1, seed=3, **FAST).fit(topic_corpus())
    assert same_group_rate(m) >= 0.9
    assert m.W_.dtype == np.float32 and len(m.loss_history_) == 4
    assert m.loss_history_[-1] < m.loss_history_[0]
    assert m.words_per_sec_ > 0
    assert (m.W_out_ is None) == (negative == 0) and (m.W_hs_ is None) == (not hs)


def test_one_worker_is_bit_identical_and_seed_matters():
    corpus = topic_corpus(300)
    params = dict(FAST, sample=1e-2, epochs=2, workers=1)
    a = Word2Vec(seed=5, **params).fit(corpus)
    b = Word2Vec(seed=5, **params).fit(corpus)
    c = Word2Vec(seed=6, **params).fit(corpus)
    assert np.array_equal(a.W_, b.W_) and np.array_equal(a.W_out_, b.W_out_)
    assert not np.array_equal(a.W_, c.W_)
    d = Word2Vec(seed=5, **dict(params, workers=2)).fit(corpus)  # Hogwild: runs, same shapes
    assert d.W_.shape == a.W_.shape and np.isfinite(d.W_).all()


def test_blocks_are_visited_in_a_seeded_order_per_epoch():
    m = Word2Vec(seed=5)
    first, again = m._block_order(50, 0), m._block_order(50, 0)
    assert sorted(first.tolist()) == list(range(50)) and np.array_equal(first, again)
    assert not np.array_equal(first, m._block_order(50, 1))  # a new order every epoch
    assert not np.array_equal(first, Word2Vec(seed=6)._block_order(50, 0))
    assert Word2Vec(shuffle=False)._block_order(50, 3).tolist() == list(range(50))  # file order
    corpus = topic_corpus(3000)  # 30k words: three blocks, so the order changes the result
    params = dict(FAST, epochs=1, workers=1, seed=5)
    a, b = Word2Vec(**params).fit(corpus), Word2Vec(shuffle=False, **params).fit(corpus)
    assert not np.array_equal(a.W_, b.W_)
    assert same_group_rate(a) >= 0.9 and same_group_rate(b) >= 0.9
    small = topic_corpus(500)  # one block: nothing to reorder
    assert np.array_equal(Word2Vec(**params).fit(small).W_, Word2Vec(shuffle=False, **params).fit(small).W_)


def test_generator_corpus_and_path(tmp_path):
    corpus = topic_corpus(200)
    m = Word2Vec(workers=1, **FAST).fit(iter(corpus))  # one pass suffices
    p = tmp_path / "c.txt"
    p.write_text("\n".join(" ".join(s) for s in corpus), encoding="utf-8")
    n = Word2Vec(workers=1, **FAST).fit(str(p))
    assert m.vocab_.words == n.vocab_.words and np.array_equal(m.W_, n.W_)
    with pytest.raises(InputError, match="two passes"):
        Word2Vec(max_vocab_size=10, **FAST).fit(iter(corpus))
    capped = Word2Vec(max_vocab_size=10, **FAST).fit(corpus)
    assert len(capped.vocab_) <= 10


def test_wv_keys_in_frequency_order():
    m = Word2Vec(workers=1, **FAST).fit([["x"] * 5 + ["y"] * 3 + ["z"]] * 3)
    assert m.wv.keys == ["x", "y", "z"] and m.wv.matrix is m.W_


def test_save_load_continue(tmp_path):
    corpus = topic_corpus(300)
    m = Word2Vec(workers=1, hs=True, **FAST).fit(corpus)
    m.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["format"] == "embedlab-word2vec" and meta["format_version"] == 1
    r = Word2Vec.load(tmp_path / "model")
    assert r.vocab_.words == m.vocab_.words and np.array_equal(r.vocab_.counts, m.vocab_.counts)
    for name in ("W_", "W_out_", "W_hs_"):
        assert np.array_equal(getattr(r, name), getattr(m, name))
    assert r.get_params() == m.get_params()
    before = r.W_.copy()
    r.train_more(corpus, epochs=1)
    assert r.epochs_trained_ == 5 and len(r.loss_history_) == 5 and not np.array_equal(before, r.W_)
    m.train_more(corpus, epochs=1)  # same state + same seed + 1 worker -> same continuation
    assert np.array_equal(m.W_, r.W_)
    m.save(tmp_path / "model")  # overwrite in place, atomically
    assert not list(tmp_path.glob(".model*"))
    meta["format_version"] = 99
    (tmp_path / "model" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(FormatVersionError, match="upgrade embedlab"):
        Word2Vec.load(tmp_path / "model")


def test_word2vec_format_loads_in_gensim(tmp_path):
    gensim = pytest.importorskip("gensim")
    from embedlab.io import save_word2vec

    m = Word2Vec(workers=1, **FAST).fit(topic_corpus(200))
    save_word2vec(m.wv, tmp_path / "v.txt")
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / "v.txt"))
    assert kv.index_to_key == m.wv.keys
    assert np.allclose(kv.vectors, m.W_)


# --- bad input --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params,message", [
    (dict(dim=0), "dim must be a positive integer"),
    (dict(window=0), "window must be a positive integer"),
    (dict(epochs=-1), "epochs must be a positive integer"),
    (dict(arch="glove"), "unknown arch 'glove'"),
    (dict(negative=0, hs=False), r"^nothing to train: set negative > 0 \(negative sampling\) and/or hs=True "
                                 r"\(hierarchical softmax\)$"),
    (dict(min_count=0), "min_count must be a positive integer, got 0"),
    (dict(sample=-0.1), "sample must be a non-negative number, got -0.1; 0 disables subsampling"),
    (dict(max_memory="lots"), "cannot read a memory size"),
])
def test_bad_parameters(params, message):
    with pytest.raises(InputError, match=message):
        Word2Vec(**dict(FAST, **params)).fit(topic_corpus(10))


def test_bad_corpora(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="corpus is empty"):
        Word2Vec(**FAST).fit(empty)
    one = tmp_path / "one.txt"
    one.write_text("same same same\n" * 10, encoding="utf-8")
    with pytest.raises(InputError, match="needs at least 2"):
        Word2Vec(**FAST).fit(one)
    with pytest.raises(InputError, match="min_count=50 removes every word"):
        Word2Vec(**dict(FAST, min_count=50)).fit(topic_corpus(10))
    binary = tmp_path / "data.bin"
    binary.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputError, match="binary file"):
        Word2Vec(**FAST).fit(binary)
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("caf\xe9 cr\xe8me\n".encode("latin-1") * 5)
    with pytest.raises(InputError, match="not UTF-8"):
        Word2Vec(**FAST).fit(latin)
    with pytest.raises(InputError, match="corpus not found"):
        Word2Vec(**FAST).fit(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="not a string"):
        Word2Vec(**FAST).fit(["a b c", "d e f"])


def test_memory_estimate_and_limit():
    m = Word2Vec(dim=100, negative=5, hs=False)
    assert m.estimate_memory(1000) == 1000 * 140 + 1000 * 100 * 4 * 2
    assert Word2Vec(dim=100, hs=True).estimate_memory(1000) > m.estimate_memory(1000) + 1000 * 100 * 4
    assert parse_bytes("2GB") == 2_000_000_000 and parse_bytes("512MiB") == 512 * 2**20 and parse_bytes(10) == 10
    with pytest.raises(ResourceLimitError, match="max_memory is"):
        Word2Vec(**dict(FAST, max_memory="1KB")).fit(topic_corpus(50))
    fitted = Word2Vec(**dict(FAST, max_memory="1GB", epochs=1)).fit(topic_corpus(50))
    assert fitted.memory_estimate_ == fitted.estimate_memory(16)


def test_unfitted_model_errors(tmp_path):
    with pytest.raises(InputError, match="not trained yet"):
        _ = Word2Vec().wv
    with pytest.raises(InputError, match="call fit first"):
        Word2Vec().train_more(topic_corpus(5))


# --- minibatches sharing negative samples (HogBatch) ----------------------------------------------------------
def _kernel_inputs(n_sent: int = 300, length: int = 40, vocab: int = 200, seed: int = 1):
    from embedlab.train import _kernels as K

    rng = np.random.default_rng(seed)
    tokens = np.minimum(rng.zipf(1.3, n_sent * length) - 1, vocab - 1).astype(np.int32)
    counts = np.bincount(tokens, minlength=vocab) + 1
    order = np.argsort(-counts, kind="stable")
    remap = np.empty_like(order)
    remap[order] = np.arange(vocab)
    v = Vocab([str(i) for i in range(vocab)], counts[order])
    ap, ai = K.build_alias(v.noise_distribution(0.75))
    codes, points, code_len = K.build_huffman(v.counts.astype(np.int64))
    return (remap[tokens].astype(np.int32), np.full(n_sent, length, np.int32), v.keep_probabilities(1e-2), ap, ai,
            codes, points, code_len)


@pytest.mark.parametrize("sg", [True, False])
@pytest.mark.parametrize("hs,negative", [(False, 5), (True, 0), (True, 3)])
def test_batch_of_one_is_the_per_pair_kernel_bit_for_bit(sg, hs, negative):
    """batch=1: the same draws in the same order and the same updates as word2vec.c's per-pair kernel."""
    from embedlab.train import _batch_kernels as B
    from embedlab.train import _kernels as K

    tokens, lengths, keep, ap, ai, codes, points, code_len = _kernel_inputs()
    sig, logsig = K.make_tables()
    results = []
    for kernel in ("per pair", "batched"):
        rng = np.random.default_rng(0)
        W = (rng.random((200, 12), dtype=np.float32) - 0.5) / 12
        Wn, Wh = np.zeros_like(W), np.zeros_like(W)
        args = (tokens, lengths, W, Wn, Wh, keep, ap, ai, codes, points, code_len, sg, negative, hs, 4, 0.05, 1e-4,
                0.0, 300.0, np.uint64(7), sig, logsig)
        out = K.train_chunk(*args) if kernel == "per pair" else B.train_chunk_batched(*args, 1)
        results.append((out, W, Wn, Wh))
    (a, *mats_a), (b, *mats_b) = results
    assert a == b and a[1] > 0
    for x, y in zip(mats_a, mats_b, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("sg", [True, False])
def test_shared_negatives_are_drawn_once_per_minibatch(sg):
    """A minibatch of B inputs draws `negative` noise words once and scores every input against each: the loss
    terms still count every (input, output) pair, as per-pair sampling does (up to the draws that hit the centre,
    which are skipped)."""
    from embedlab.train import _batch_kernels as B
    from embedlab.train import _kernels as K

    tokens, lengths, keep, ap, ai, codes, points, code_len = _kernel_inputs()
    keep = np.ones_like(keep)  # no subsampling: the pairs depend on the window draws only
    sig, logsig = K.make_tables()
    terms = {}
    for batch in (1, 16):
        W = (np.random.default_rng(0).random((200, 12), dtype=np.float32) - 0.5) / 12
        args = (tokens, lengths, W, np.zeros_like(W), W[:1].copy(), keep, ap, ai, codes, points, code_len, sg, 5,
                False, 4, 0.05, 1e-4, 0.0, 300.0, np.uint64(7), sig, logsig)
        loss, terms[batch], used = B.train_chunk_batched(*args, batch)
        assert used == 300 * 40 and np.isfinite(W).all() and loss > 0
    # the same number of scored pairs up to the draws that hit the centre (skipped), which differ in number
    assert abs(terms[16] - terms[1]) / terms[1] < 0.02


def test_cbow_minibatches_take_one_centre_per_sentence():
    """CBOW's minibatch is one centre from each of up to B sentences side by side, never consecutive centres of one
    sentence (whose windows overlap): a chunk of a single sentence trains as per pair, bit for bit, at any batch;
    with many sentences the minibatches differ."""
    from embedlab.train import _batch_kernels as B
    from embedlab.train import _kernels as K

    tokens, lengths, keep, ap, ai, codes, points, code_len = _kernel_inputs(n_sent=4, length=60)
    sig, logsig = K.make_tables()

    def run(n_sent, batch):
        W = (np.random.default_rng(0).random((200, 12), dtype=np.float32) - 0.5) / 12
        Wn = np.zeros_like(W)
        args = (tokens[:n_sent * 60], lengths[:n_sent], W, Wn, W[:1].copy(), keep, ap, ai, codes, points, code_len,
                False, 5, False, 4, 0.05, 1e-4, 0.0, 4.0, np.uint64(3), sig, logsig)
        out = K.train_chunk(*args) if batch == 1 else B.train_chunk_batched(*args, batch)
        return out, W, Wn

    for batch in (2, 16):
        (a, Wa, Na), (b, Wb, Nb) = run(1, 1), run(1, batch)
        assert a == b and a[1] > 0
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(Na, Nb)
    (a, Wa, _), (b, Wb, _) = run(4, 1), run(4, 4)
    assert a[1] > 0 and b[1] > 0 and not np.array_equal(Wa, Wb)  # other minibatches, other updates


def test_skipgram_minibatches_learn_topics_and_stay_deterministic():
    corpus = topic_corpus(600)
    params = dict(FAST, workers=1, seed=3)
    a = Word2Vec(batch_size=16, **params).fit(corpus)
    b = Word2Vec(**params).fit(corpus)  # None: 16 for Skip-gram
    assert Word2Vec().effective_batch_size == 16 and Word2Vec(arch="cbow").effective_batch_size == 16
    assert Word2Vec(arch="cbow", batch_size=1).effective_batch_size == 1
    assert np.array_equal(a.W_, b.W_) and np.array_equal(a.W_out_, b.W_out_)
    assert same_group_rate(a) >= 0.9 and a.loss_history_[-1] < a.loss_history_[0]
    per_pair = Word2Vec(batch_size=1, **params).fit(corpus)
    assert not np.array_equal(per_pair.W_, a.W_)
    cbow = Word2Vec(arch="cbow", batch_size=4, **params).fit(corpus)
    assert same_group_rate(cbow) >= 0.9
    cbow_default = Word2Vec(arch="cbow", **params).fit(corpus)  # None: 16 sentences side by side
    again = Word2Vec(arch="cbow", **params).fit(corpus)
    assert np.array_equal(cbow_default.W_, again.W_) and same_group_rate(cbow_default) >= 0.9


def test_corpus_smaller_than_one_minibatch():
    """Fewer words than one minibatch (and than a window): trains, every vector finite, loss recorded."""
    for arch in ("skipgram", "cbow"):
        m = Word2Vec(arch=arch, batch_size=64, **dict(FAST, workers=2, seed=1)).fit([["a", "b", "c"]])
        assert m.vocab_.words == ["a", "b", "c"] and np.isfinite(m.W_).all() and len(m.loss_history_) == 4
        assert not np.array_equal(m.W_out_, np.zeros_like(m.W_out_))
        one = Word2Vec(arch=arch, batch_size=64, **dict(FAST, workers=1, seed=1)).fit([["a"], ["b"]])
        assert np.isfinite(one.W_).all() and not one.W_out_.any()  # no word has a context: nothing trained


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "16"])
def test_bad_batch_size(value):
    with pytest.raises(InputError, match="batch_size must be a positive integer"):
        Word2Vec(batch_size=value, **FAST).fit(topic_corpus(10))


# --- progress: an honest time left ------------------------------------------------------------------------------
def test_time_left_waits_for_a_measured_rate():
    from embedlab.train._eta import WarmEta

    eta = WarmEta(total=100_000, warmup_s=2.0)
    assert eta.text(10_000, now=30.0) == ""  # the first block: loading the kernels made it slow; no estimate
    assert eta.text(20_000, now=31.0) == ""  # 1 s of warm-up measured: still none
    assert eta.text(50_000, now=32.0) == "ETA 0:00:03"  # 40,000 words in 2 s: 50,000 left at 20,000 w/s: 2.5 s, up
    assert eta.rate(50_000, now=32.0) == 20_000.0
    assert eta.text(99_999, now=33.0) == "ETA 0:00:01"  # rounded up
    assert eta.text(100_000, now=34.0) == "ETA 0:00:00"
    slow = WarmEta(total=10**9, warmup_s=0.0)
    slow.text(0, now=0.0)
    assert slow.text(1_000, now=1.0) == "ETA 277:46:39"  # hours are not wrapped into days
    assert WarmEta(total=10).text(5, now=0.0) == ""


def test_word2vec_bar_shows_no_estimate_before_the_warm_up(capsys, monkeypatch):
    """tqdm's own estimate (from the first block, slowed by loading the kernels) is never shown; ours only once the
    rate is measured. The bar is _progress.progress_bar's: shown on a terminal, silent off one."""
    import re
    import sys

    Word2Vec(**dict(FAST, progress=True, workers=1, epochs=1)).fit(topic_corpus(300))
    assert "epoch 1/1" not in capsys.readouterr().err  # pytest's stderr is not a terminal: no bar (the memory line only)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    Word2Vec(**dict(FAST, progress=True, workers=1, epochs=2)).fit(topic_corpus(3000))
    err = capsys.readouterr().err
    frames = [f for f in re.split(r"[\r\n]", err) if f.startswith("word2vec:")]
    assert frames and all("<" not in f and "?" not in f for f in frames)
    assert all(re.fullmatch(r"ETA \d+:\d\d:\d\d", m) for m in re.findall(r"ETA[^,\]]*", err))
    assert any("epoch 2/2" in f for f in frames)


@pytest.mark.parametrize("nb,nc", [(1, 6), (2, 1), (5, 6), (6, 5), (10, 2)])
def test_skipgram_inputs_read_in_place_update_as_the_copied_minibatch(nb, nc):
    """Skip-gram's in-place path (no copies of the input rows) makes the updates of the copying path bit for bit:
    the same logits, loss, output rows and input rows, with an input word twice in the window (its two gradients
    added in turn), a saturated logit, and odd and even sizes of both blocks."""
    from embedlab.train import _batch_kernels as B
    from embedlab.train import _kernels as K

    sig, logsig = K.make_tables()
    rng = np.random.default_rng(nb * 10 + nc)
    dim, vocab = 13, 40
    W0 = rng.random((vocab, dim), dtype=np.float32) - np.float32(0.5)
    Wn0 = rng.random((vocab, dim), dtype=np.float32) - np.float32(0.5)
    W0[0] *= 40  # word 0's logits saturate: no gradient from them, their loss is the logit's
    rows = rng.integers(1, vocab, 16).astype(np.int64)
    if nb > 1:
        rows[nb - 1] = rows[0]  # one input word twice in the window
    if nb > 2:
        rows[1] = 0
    cols = rng.choice(vocab, nc, replace=False).astype(np.int64)
    A = np.full(16, 0.025, np.float32)
    bufs = lambda: (np.zeros((nc, dim), np.float32), np.zeros((16, nc), np.float32), np.zeros((16, nc), np.float32),  # noqa: E731
                    np.zeros((16, dim), np.float32))
    W, Wn = W0.copy(), Wn0.copy()  # the copying path: X = the input rows, E += G O, then W += E
    X = W[rows].copy()
    O, F, G, E = bufs()
    copied = B._shared_outputs(X, np.arange(16), nb, Wn, cols, nc, 1, rows, False, A, E, O, F, G, sig, logsig)
    for b in range(nb):
        W[rows[b]] += E[b]
    W2, Wn2 = W0.copy(), Wn0.copy()
    O, F, G, E = bufs()
    in_place = B._context_outputs(W2, rows, nb, Wn2, cols, nc, A, O, F, G, E, sig, logsig)
    assert in_place == copied and copied[1] == nb * nc
    np.testing.assert_array_equal(W2, W)
    np.testing.assert_array_equal(Wn2, Wn)
    assert not np.array_equal(W2, W0) and not np.array_equal(Wn2, Wn0)
