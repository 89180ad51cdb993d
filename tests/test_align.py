"""Aligning two vector spaces: exact recovery of a known rotation, CSLS against hubness, refinement, dimension
changes, the CLI, and bad input (no common words, singular dictionaries, bad files and parameters)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlab import Vectors, align
from embedlab.cli import main
from embedlab.errors import DimensionError, InputError
from embedlab.io import load_vectors, save_word2vec


def rotated_pair(n: int = 600, d: int = 24, noise: float = 0.0, seed: int = 0):
    """Source vectors X, a random rotation R and target vectors X R (+ noise), keyed w0..w{n-1} on both sides."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    R, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Y = (X @ R + noise * rng.standard_normal((n, d))).astype(np.float32)
    keys = [f"w{i}" for i in range(n)]
    return Vectors(keys, X), Vectors(keys, Y), R


def test_procrustes_recovers_a_known_rotation_exactly():
    src, tgt, R = rotated_pair()
    train, test = align.split_dictionary(align.shared_words(src, tgt), 0.2, seed=0)
    assert len(test) == 120 and not {s for s, _ in train} & {s for s, _ in test}
    a = align.Alignment(normalize="none").fit(src, tgt, train)
    assert np.abs(a.W_ - R).max() < 1e-5
    assert np.abs(a.transform(src).matrix - tgt.matrix).max() < 1e-5
    scores = a.evaluate(src, tgt, test, before=True)
    for method in ("nn", "csls"):
        assert scores[method]["p@1"] == 1.0 and scores[method]["queries"] == 120
    assert scores["before_nn"]["p@1"] < 0.05  # unmapped, the spaces do not line up
    for normalize in ("unit", "center"):  # the rotation survives both preprocessings
        b = align.Alignment(normalize=normalize).fit(src, tgt, train)
        assert np.abs(b.W_ - R).max() < 1e-4 and b.evaluate(src, tgt, test)["csls"]["p@1"] == 1.0
    assert a.translate(src, tgt, ["w7"], k=3)["w7"][0] == "w7"


def test_a_pairs_file_between_differently_named_and_ordered_spaces(tmp_path):
    src, tgt, R = rotated_pair(200, 8)
    order = np.random.default_rng(1).permutation(200)
    target = Vectors([f"t{i}" for i in order], tgt.matrix[order])
    path = tmp_path / "pairs.txt"
    path.write_text("# source target\n" + "".join(f"w{i} t{i}\n" for i in range(150)) + "\nw999 t0\n")
    a = align.Alignment(normalize="none").fit(src, target, path)
    assert a.pairs_given_ == 151 and len(a.pairs_) == 150 and np.abs(a.W_ - R).max() < 1e-5
    assert a.evaluate(src, target, [(f"w{i}", f"t{i}") for i in range(150, 200)])["nn"]["p@1"] == 1.0


def hub_example(seed: int = 0, n: int = 400, d: int = 16, noise: float = 0.8):
    """Queries near their own target plus a shared offset h; five extra 'hub' targets lie along h."""
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((n, d))
    T /= np.linalg.norm(T, axis=1, keepdims=True)
    h = rng.standard_normal(d)
    h /= np.linalg.norm(h)
    hubs = h + 0.15 * rng.standard_normal((5, d))
    hubs /= np.linalg.norm(hubs, axis=1, keepdims=True)
    Q = T + noise * rng.standard_normal((n, d)) / np.sqrt(d) + 0.7 * h
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    return Q.astype(np.float32), np.vstack([T, hubs]).astype(np.float32)


def test_csls_beats_nearest_neighbour_on_a_hubness_example():
    Q, cand = hub_example()
    n = Q.shape[0]
    nn = align.nearest(Q, cand, 1, "nn")[:, 0]
    csls = align.nearest(Q, cand, 1, "csls", csls_k=10)[:, 0]
    p_nn, p_csls = (nn == np.arange(n)).mean(), (csls == np.arange(n)).mean()
    hub_nn, hub_csls = (nn >= n).mean(), (csls >= n).mean()
    assert p_nn == pytest.approx(0.575) and p_csls == pytest.approx(0.7475)  # seeded: exact
    assert hub_nn == pytest.approx(0.1075) and hub_csls == pytest.approx(0.0375)  # five hubs took 11 % of answers
    assert p_csls > p_nn + 0.15 and hub_csls < hub_nn / 2
    top = align.nearest(Q, cand, 10, "csls")
    assert top.shape == (n, 10) and (top[:, 0] == csls).all()
    keys = [f"w{i}" for i in range(n)]
    mapped, target = Vectors(keys, Q), Vectors(keys + [f"hub{i}" for i in range(5)], cand)
    scores = {m: align.precision_at_k(mapped, target, [(k, k) for k in keys], method=m)["p@1"] for m in ("nn", "csls")}
    assert scores["csls"] > scores["nn"] + 0.15


def test_refinement_recovers_from_a_small_noisy_seed_dictionary():
    src, tgt, _ = rotated_pair(800, 24, noise=0.8, seed=3)
    pairs = align.shared_words(src, tgt)
    seed_pairs, test = pairs[:26], pairs[400:]
    plain = align.Alignment().fit(src, tgt, seed_pairs)
    refined = align.Alignment(refine=2).fit(src, tgt, seed_pairs)
    p_plain = plain.evaluate(src, tgt, test)["csls"]["p@1"]
    p_refined = refined.evaluate(src, tgt, test)["csls"]["p@1"]
    assert p_plain == pytest.approx(0.35) and p_refined == pytest.approx(0.7925)  # seeded: exact
    assert refined.refined_pairs_ > 500 and p_refined > p_plain + 0.3


def test_different_dimensions_give_a_semi_orthogonal_map():
    src, tgt, _ = rotated_pair(300, 12)
    wide = Vectors(src.keys, np.hstack([src.matrix, np.random.default_rng(2).standard_normal((300, 8)).astype(np.float32) * 0.01]))
    a = align.Alignment(normalize="none").fit(wide, tgt)  # 20-d onto 12-d: orthonormal columns
    assert a.W_.shape == (20, 12) and np.allclose(a.W_.T @ a.W_, np.eye(12), atol=1e-5)
    assert a.evaluate(wide, tgt, align.shared_words(wide, tgt)[:100])["nn"]["p@1"] == 1.0
    b = align.Alignment().fit(tgt, wide)  # 12-d onto 20-d: orthonormal rows
    assert b.W_.shape == (12, 20) and np.allclose(b.W_ @ b.W_.T, np.eye(12), atol=1e-5)
    with pytest.raises(DimensionError, match="the map takes 20-d source vectors, got 12-d"):
        a.transform(tgt)
    with pytest.raises(InputError, match="one row per pair"):
        align.procrustes(np.ones((5, 3)), np.ones((4, 3)))


# --- bad input --------------------------------------------------------------------------------------------------
def test_a_dictionary_with_no_words_in_common_names_what_was_found(tmp_path):
    src, tgt, _ = rotated_pair(50, 4)
    with pytest.raises(InputError, match=r"0 of 3 pairs found \(1 source words are in SRC, 0 target words in TGT\)"):
        align.Alignment().fit(src, tgt, [("w1", "chien"), ("cat", "dog"), ("x", "y")])
    other = Vectors([f"z{i}" for i in range(50)], tgt.matrix)
    with pytest.raises(InputError, match=r"share no word \(0 found among 50 source and 50 target keys\)"):
        align.Alignment().fit(src, other, "shared")


@pytest.mark.parametrize("case", ["too few pairs", "repeated pair", "zero vectors", "nan"])
def test_singular_or_degenerate_dictionaries_are_refused(case):
    src, tgt, _ = rotated_pair(100, 10)
    pairs = align.shared_words(src, tgt)
    if case == "too few pairs":
        with pytest.raises(InputError, match=r"determines only 6 of 10 dimensions .* from 6 pairs"):
            align.Alignment().fit(src, tgt, pairs[:6])
    elif case == "repeated pair":
        with pytest.raises(InputError, match=r"determines only 1 of 10 dimensions .* from 40 pairs"):
            align.Alignment().fit(src, tgt, [pairs[0]] * 40)
    elif case == "zero vectors":
        zero = Vectors(src.keys, np.zeros_like(src.matrix))
        with pytest.raises(InputError, match="determines only 0 of 10 dimensions"):
            align.Alignment().fit(zero, tgt, pairs)
    else:
        X = src.matrix.copy()
        X[3, 0] = np.nan
        with pytest.raises(InputError, match="NaN or infinity"):
            align.procrustes(X, tgt.matrix)


def test_an_axis_the_spaces_do_not_share_is_no_singularity():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((2000, 10))
    X[:, 0] *= 1000  # a dominant common direction, as trained word vectors have
    Y = X.copy()
    Y[:, 9] = rng.standard_normal(2000)  # one axis uncorrelated with the source: a singular value ~1e-8 of the largest
    s = np.linalg.svd(X.T @ Y, compute_uv=False)
    assert s[-1] / s[0] < 1e-6
    W = align.procrustes(X, Y)
    assert np.allclose(W @ W.T, np.eye(10), atol=1e-5) and np.abs(np.diag(W)[:9] - 1).max() < 0.01


def test_bad_dictionary_files_splits_and_parameters(tmp_path):
    src, tgt, _ = rotated_pair(50, 4)
    bad = tmp_path / "bad.txt"
    bad.write_text("a b\nc d e\n")
    with pytest.raises(InputError, match=r"bad.txt:2: expected two words"):
        align.read_dictionary(bad)
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(InputError, match="holds no word pairs"):
        align.read_dictionary(tmp_path / "empty.txt")
    with pytest.raises(InputError, match="no dictionary file at"):
        align.Alignment().fit(src, tgt, tmp_path / "missing.txt")
    with pytest.raises(InputError, match=r"got \('a', 1\)"):
        align.Alignment().fit(src, tgt, [("a", 1)])
    with pytest.raises(InputError, match="cannot hold out 50 of 50 source words"):
        align.split_dictionary(align.shared_words(src, tgt), 50)
    with pytest.raises(InputError, match=r"test must be a number in \(0, 1\), got 1.5"):
        align.split_dictionary(align.shared_words(src, tgt), 1.5)
    for params, message in ((dict(normalize="l2"), "unknown normalize 'l2'"), (dict(refine=-1), "refine must be"),
                            (dict(csls_k=0), "csls_k must be a positive integer")):
        with pytest.raises(InputError, match=message):
            align.Alignment(**params).fit(src, tgt)
    with pytest.raises(InputError, match="not fitted yet"):
        align.Alignment().transform(src)
    with pytest.raises(InputError, match="unknown retrieval method 'cos'"):
        align.nearest(src.matrix, tgt.matrix, method="cos")


# --- command line -----------------------------------------------------------------------------------------------
def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_cli_align_with_a_holdout_and_bad_input(tmp_path, capsys):
    src, tgt, _ = rotated_pair(300, 8)
    save_word2vec(src, tmp_path / "src.txt")
    save_word2vec(tgt, tmp_path / "tgt.txt")
    out = tmp_path / "aligned.npy"
    code, stdout, _ = run(["align", str(tmp_path / "src.txt"), str(tmp_path / "tgt.txt"), "-o", str(out),
                           "--normalize", "none", "--holdout", "0.2", "--json"], capsys)
    assert code == 0
    summary = json.loads(stdout)
    assert summary["pairs_found"] == 300 and summary["pairs_fitted"] == 240
    assert summary["evaluation"]["csls"]["p@1"] == 1.0 and summary["evaluation"]["before_nn"]["p@1"] < 0.1
    assert np.abs(load_vectors(out).matrix - tgt.matrix).max() < 1e-5
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("cat chat\ndog chien\n")
    code, _, err = run(["align", str(tmp_path / "src.txt"), str(tmp_path / "tgt.txt"), "-o", str(tmp_path / "x.txt"),
                        "-d", str(pairs)], capsys)
    assert code == 2 and "0 of 2 pairs found (0 source words are in SRC, 0 target words in TGT)" in err
    code, _, err = run(["align", str(tmp_path / "src.txt"), str(tmp_path / "tgt.txt"), "-o", str(out)], capsys)
    assert code == 2 and "already exists; pass --overwrite" in err
    code, _, err = run(["align", str(tmp_path / "src.txt"), "glove-6b-50d", "-o", str(tmp_path / "y.txt"),
                        "--refine", "-1"], capsys)
    assert code == 2 and "refine must be a non-negative integer, got -1" in err


def test_progress_reports_every_stage_of_csls_refinement_and_evaluation(monkeypatch):
    """The slow parts (CSLS's hubness terms over a whole vocabulary, the refinement rounds' searches) report every
    block of rows; the CLI and Alignment(progress=True) show them as one bar per stage."""
    from embedlab import _progress

    src, tgt, _ = rotated_pair(300, 12, noise=0.1, seed=1)
    seen = []
    q, c = align._unit(src.matrix[:40]), align._unit(tgt.matrix)
    monkeypatch.setattr(align, "_rows_per_block", lambda columns: 16)  # several blocks of rows per stage
    align.nearest(q, c, 3, "csls", 5, report=lambda *a: seen.append(a), stage="try")
    assert seen == ([("try: CSLS hubness of candidates", d, 300) for d in [*range(16, 300, 16), 300]]
                    + [("try: CSLS hubness of queries", d, 40) for d in (16, 32, 40)]
                    + [("try: ranking", d, 40) for d in (16, 32, 40)])
    seen.clear()
    align.nearest(q, c, 3, "nn", report=lambda *a: seen.append(a))
    assert seen == [("nearest: ranking", d, 40) for d in (16, 32, 40)]

    bars = []

    class Bar:
        def __init__(self, total, desc, unit="it", enabled=True):
            self.total, self.desc, self.unit, self.enabled, self.n, self.closed = total, desc, unit, enabled, 0, False
            bars.append(self)

        def update(self, n):
            self.n += n

        def close(self):
            self.closed = True

    monkeypatch.setattr(_progress, "progress_bar", Bar)
    a = align.Alignment(refine=1, refine_vocab=200).fit(src, tgt, align.shared_words(src, tgt)[:30])
    stages = [f"refine 1/1, {way}: {what}" for way in ("source -> target", "target -> source")
              for what in ("CSLS hubness of candidates", "CSLS hubness of queries", "ranking")]
    assert [b.desc for b in bars] == stages
    assert all(b.n == b.total == 200 and b.unit == "row" and b.enabled and b.closed for b in bars)
    bars.clear()
    a.evaluate(src, tgt, align.shared_words(src, tgt)[200:], before=True)
    assert [b.desc for b in bars] == ["evaluate nn: ranking", "evaluate csls: CSLS hubness of candidates",
                                      "evaluate csls: CSLS hubness of queries", "evaluate csls: ranking",
                                      "evaluate before_nn: ranking", "evaluate before_csls: CSLS hubness of candidates",
                                      "evaluate before_csls: CSLS hubness of queries", "evaluate before_csls: ranking"]
    assert [b.total for b in bars] == [100, 300, 100, 100, 100, 300, 100, 100]
    assert all(b.n == b.total and b.closed for b in bars)
    bars.clear()
    quiet = align.Alignment(refine=1, refine_vocab=200, progress=False).fit(src, tgt, align.shared_words(src, tgt)[:30])
    assert all(not b.enabled for b in bars) and len(bars) == 6
    np.testing.assert_array_equal(quiet.W_, a.W_)  # progress changes nothing computed
    with pytest.raises(InputError, match="progress must be True or False"):
        align.Alignment(progress="yes").fit(src, tgt)
