"""A small CLIP (train/clip_heads.py, encoders/joint.py, cli/clip_train.py): the InfoNCE loss on known cases, heads
learning on synthetic features, seeded reproducibility, the feature cache, bad caption files, and the worked digits
example end to end — trained, loaded as a ("text", "image") encoder, indexed into a collection and searched in
English and Korean."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from embedlab.errors import EncoderMismatchError, InputError, ModelNotFoundError  # noqa: E402
from embedlab.train.clip_data import check_pairs, read_captions  # noqa: E402
from embedlab.train.clip_heads import (  # noqa: E402
    ContrastiveHeads,
    caption_queries,
    info_nce,
    retrieval_scores,
    tower_features,
)


def test_info_nce_known_values():
    a = 3.0
    logits = torch.tensor([[a, 0.0], [0.0, a]])
    # each row and each column: -a + log(e^a + 1) = log(1 + e^-a)
    assert float(info_nce(logits)) == pytest.approx(math.log1p(math.exp(-a)), rel=1e-6)
    assert float(info_nce(torch.zeros(5, 5))) == pytest.approx(math.log(5), rel=1e-6)   # no signal: log(batch)
    asym = torch.tensor([[2.0, 1.0], [0.0, 2.0]])  # rows and columns differ: the loss averages both directions
    rows = (-2 + math.log(math.exp(2) + math.exp(1)) - 2 + math.log(1 + math.exp(2))) / 2
    cols = (-2 + math.log(math.exp(2) + 1) - 2 + math.log(math.exp(1) + math.exp(2))) / 2
    assert float(info_nce(asym)) == pytest.approx((rows + cols) / 2, rel=1e-6)


def _synthetic(n_per_class: int = 20, classes: int = 6, seed: int = 0):
    """Images and captions of `classes` concepts seen through two different random 'towers' plus noise."""
    rng = np.random.default_rng(seed)
    proto = rng.normal(size=(classes, 16))
    labels = np.repeat(np.arange(classes), n_per_class)
    img = (proto[labels] + 0.3 * rng.normal(size=(len(labels), 16))) @ rng.normal(size=(16, 40))
    txt = (proto[labels] + 0.3 * rng.normal(size=(len(labels), 16))) @ rng.normal(size=(16, 24))
    unit = lambda m: (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)  # noqa: E731
    return unit(img), unit(txt), labels


def test_heads_learn_a_shared_space_and_are_seeded():
    img, txt, labels = _synthetic()
    train = np.arange(len(labels)) % 5 != 0
    heads = ContrastiveHeads(dim=8, epochs=40, batch_size=32, lr=2e-2, seed=0, threads=1)
    heads.fit(img[train], txt[train], np.arange(train.sum()))
    assert heads.image_head_.shape == (40, 8) and heads.text_head_.shape == (24, 8)
    assert heads.image_head_.dtype == np.float32
    assert heads.loss_history_[-1] < heads.loss_history_[0] - 1.0
    test = ~train
    relevant = [set(np.flatnonzero(labels[test] == c)) for c in labels[test]]
    trained = retrieval_scores(txt[test] @ heads.text_head_, img[test] @ heads.image_head_, relevant)
    untrained = retrieval_scores(txt[test] @ heads.init_text_head_, img[test] @ heads.init_image_head_, relevant)
    assert trained["p@1"] > 0.9 and untrained["p@1"] < 0.5   # held-out images and captions, 6 classes
    again = ContrastiveHeads(dim=8, epochs=40, batch_size=32, lr=2e-2, seed=0, threads=1)
    again.fit(img[train], txt[train], np.arange(train.sum()))
    np.testing.assert_array_equal(again.image_head_, heads.image_head_)
    other = ContrastiveHeads(dim=8, epochs=2, batch_size=32, seed=1).fit(img[train], txt[train],
                                                                         np.arange(train.sum()))
    assert not np.array_equal(other.init_image_head_, heads.init_image_head_)


def test_retrieval_scores_by_hand():
    t = np.array([[1.0, 0.0], [0.0, 1.0]])
    v = np.array([[1.0, 0.1], [0.9, 0.0], [0.0, 1.0]])
    s = retrieval_scores(t, v, [{0}, {2}], k=2)
    # query 0 ranks image 1 (cosine 1) before image 0 (0.995): P@1 0, RR 1/2; query 1 ranks image 2 first.
    # P@k counts the first min(k, #relevant) = 1 images
    assert s == {"p@1": 0.5, "p@2": 0.5, "mrr": 0.75, "queries": 2}


def test_heads_errors():
    img, txt, _ = _synthetic(2, 2)
    with pytest.raises(InputError, match="at least two"):
        ContrastiveHeads().fit(img[:1], txt[:1], np.array([0]))
    with pytest.raises(InputError, match="1 image\\(s\\) have no caption"):
        ContrastiveHeads().fit(img[:3], txt[:2], np.array([0, 1]))
    with pytest.raises(InputError, match="batch_size must be an integer >= 2"):
        ContrastiveHeads(batch_size=1).fit(img, txt, np.arange(4))
    with pytest.raises(InputError, match="mismatched counts: 3 images but 2 captions"):
        check_pairs([1, 2, 3], ["a", "b"])
    with pytest.raises(InputError, match="empty data"):
        check_pairs([], [])


class _Counting:
    """A stand-in tower that records what it encodes."""

    name, dim, fingerprint = "counting", 3, "counting@1"

    def __init__(self):
        self.seen = []

    def encode(self, items, batch_size=32, progress=False, normalize=True):
        self.seen += list(items)
        out = np.array([[len(s), s.count("a") + 1, 1.0] for s in items], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_tower_features_encode_each_item_once_and_cache(tmp_path):
    tower = _Counting()
    a = tower_features(tower, ["cat", "banana", "cat"], cache=tmp_path)
    assert tower.seen == ["cat", "banana"] and a.shape == (3, 3) and np.array_equal(a[0], a[2])
    b = tower_features(tower, ["banana", "kiwi"], cache=tmp_path)
    assert tower.seen == ["cat", "banana", "kiwi"]       # banana came from the cache
    np.testing.assert_array_equal(b[0], a[1])
    fresh = _Counting()
    tower_features(fresh, ["cat", "kiwi"], cache=tmp_path)
    assert fresh.seen == []                              # a new process reads the cache from disk


def _write_csv(path: Path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["image", "caption"])
        w.writerows(rows)
    return path


def test_bad_caption_files(tmp_path):
    from PIL import Image

    for name in ("a.png", "b.png", "c.png"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    ok = read_captions(tmp_path, _write_csv(tmp_path / "ok.csv", [("a.png", "one"), ("b.png", "two"),
                                                                   ("a.png", "uno"), ("c.png", "three")]))
    assert [p.name for p in ok.images] == ["a.png", "b.png", "c.png"] and ok.image_of.tolist() == [0, 1, 0, 2]
    assert caption_queries(ok)[0] == ["one", "two", "uno", "three"]
    with pytest.raises(InputError, match=r"2 caption row\(s\) name images missing from .*: nope.png, \.\./a.png"):
        read_captions(tmp_path, _write_csv(tmp_path / "m.csv", [("a.png", "x"), ("nope.png", "y"), ("../a.png", "z")]))
    with pytest.raises(InputError, match=r"mismatched counts: .* holds 3 images but the captions cover 2"):
        read_captions(tmp_path, _write_csv(tmp_path / "u.csv", [("a.png", "x"), ("b.png", "y")]))
    part = read_captions(tmp_path, tmp_path / "u.csv", allow_uncaptioned=True)
    assert len(part.images) == 2
    with pytest.raises(InputError, match="empty data"):
        read_captions(tmp_path, _write_csv(tmp_path / "e.csv", []))
    with pytest.raises(InputError, match=r"1 row\(s\) of .* have an empty caption \(lines 3\)"):
        read_captions(tmp_path, _write_csv(tmp_path / "c.csv", [("a.png", "x"), ("b.png", " "), ("c.png", "z")]))
    (tmp_path / "cols.csv").write_text("file,text\na.png,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs the columns image and caption; it has file, text"):
        read_captions(tmp_path, tmp_path / "cols.csv")
    (tmp_path / "lab.csv").write_text("image,caption,label\na.png,x,1\na.png,y,2\nb.png,z,1\nc.png,w,3\n",
                                      encoding="utf-8")
    with pytest.raises(InputError, match=r"1 image\(s\) have rows with different labels \(e.g. a.png\)"):
        read_captions(tmp_path, tmp_path / "lab.csv")
    (tmp_path / "lab2.csv").write_text("image,caption,label\na.png,x,1\nb.png,y,1\nc.png,z,2\n", encoding="utf-8")
    labelled = read_captions(tmp_path, tmp_path / "lab2.csv")
    assert labelled.labels == ["1", "1", "2"]
    assert caption_queries(labelled) == (["x", "y", "z"], [{0, 1}, {0, 1}, {2}])   # a label's images are alike
    with pytest.raises(InputError, match="captions file .* does not exist"):
        read_captions(tmp_path, tmp_path / "none.csv")


# ------------------------------------------------------------------ the worked example, real towers
@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """80 digits with English and Korean captions, heads trained on 64 of them (features cached for the CLI test)."""
    pytest.importorskip("efficientnet_lite_pytorch")
    from embedlab.train.clip import train_clip
    from embedlab.train.clip_data import make_digits_example

    root = tmp_path_factory.mktemp("clip")
    csv_path = make_digits_example(root / "digits", limit=80, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        summary = train_clip(root / "digits", csv_path, root / "joint", cache=root / "home" / "cache" / "towers",
                             heads=ContrastiveHeads(dim=64, epochs=60, batch_size=64, lr=3e-3, seed=0))
    finally:
        torch.set_num_threads(threads)
    return root, csv_path, summary


@pytest.mark.slow
def test_digits_example_files(digits):
    root, csv_path, _ = digits
    rows = list(csv.DictReader(open(csv_path, encoding="utf-8")))
    assert len(rows) == 160 and len(list((root / "digits").glob("*.png"))) == 80
    assert any("숫자" in r["caption"] or "손글씨" in r["caption"] for r in rows)
    assert any("handwritten" in r["caption"] or "by hand" in r["caption"] for r in rows)
    assert {r["label"] for r in rows} == {str(d) for d in range(10)}


@pytest.mark.slow
def test_digits_training_summary(digits):
    root, _, summary = digits
    assert summary["train"] == {"images": 64, "captions": 128} and summary["heldout"]["images"] == 16
    assert summary["loss_history"][-1] < summary["loss_history"][0] - 1.0
    h = summary["heldout"]
    assert h["trained"]["mrr"] > h["untrained"]["mrr"]
    doc = json.loads((root / "joint" / "joint.json").read_text())
    assert doc["format"] == "embedlab.joint" and doc["text_encoder"]["name"] == "use-multilingual"


@pytest.mark.slow
def test_joint_encoder_in_a_collection_searched_in_english_and_korean(digits):
    from sklearn.datasets import load_digits

    from embedlab import Collection
    from embedlab.encoders.joint import JointEncoder, folder_spec, load_encoder_folder, recognises

    root, _, summary = digits
    assert recognises(root / "joint") and not recognises(root)
    enc = load_encoder_folder(root / "joint")
    assert isinstance(enc, JointEncoder) and enc.modalities == ("text", "image") and enc.dim == 64
    spec = folder_spec(root / "joint")  # what the registry's --encoder PATH hook uses
    assert spec.name == enc.name and spec.dim == 64 and folder_spec(root) is None
    held = {Path(p).name for p in summary["heldout_images"]}
    target = load_digits().target
    digit = {p: int(target[int(p.stem.split("_")[1])]) for p in (root / "digits").glob("*.png")}
    gallery = sorted(p for p, d in digit.items() if p.name not in held and d in (0, 1, 2))  # ~19 trained images
    col = Collection.create("digits", str(root / "joint"))  # by path, through the registry's folder hook
    assert col.encoder.name == enc.name
    col.add([p.stem for p in gallery], gallery)
    col.close()
    col = Collection.open("digits")  # the stored encoder name (the folder's path) rebuilds it
    for query in ("a handwritten digit zero", "손으로 쓴 숫자 영"):
        hits = col.search(query, k=3)
        labels = [digit[root / "digits" / f"{h.id}.png"] for h in hits]
        assert labels.count(0) >= 2, (query, labels)
    train_imgs = gallery
    v = enc.encode(["숫자 7의 손글씨", train_imgs[0]])
    assert v.shape == (2, 64) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)


@pytest.mark.slow
def test_joint_encoder_refuses_other_towers_and_non_folders(digits, tmp_path):
    import shutil

    from embedlab.encoders.joint import JointEncoder

    root, _, _ = digits
    with pytest.raises(ModelNotFoundError, match="not an `embedlab train clip` folder"):
        JointEncoder(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(root / "joint", copy)
    doc = json.loads((copy / "joint.json").read_text())
    doc["text_encoder"]["fingerprint"] = "use-multilingual@other-version"
    (copy / "joint.json").write_text(json.dumps(doc))
    with pytest.raises(EncoderMismatchError, match="trained on use-multilingual"):
        JointEncoder(copy).encode(["a handwritten digit one"])


@pytest.mark.slow
def test_cli_train_clip(digits, tmp_path, capsys):
    from embedlab.cli import main

    root, csv_path, _ = digits
    out = tmp_path / "joint-cli"
    args = ["--home", str(root / "home"), "train", "clip", str(root / "digits"), "--captions", str(csv_path), "-o",
            str(out), "--dim", "16", "--epochs", "5", "--threads", "1", "--json"]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dim"] == 16 and doc["train"]["images"] == 64 and (out / "joint.json").is_file()
    bad = _write_csv(tmp_path / "bad.csv", [("digit_0000.png", "zero"), ("missing.png", "nothing")])
    with pytest.raises(SystemExit) as e:
        main(["train", "clip", str(root / "digits"), "--captions", str(bad), "-o", str(tmp_path / "x")])
    assert e.value.code == 2
    assert "name images missing" in capsys.readouterr().err
