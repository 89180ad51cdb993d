"""`embedlab.train.finetuning` end to end on a tiny registered encoder (no model to load): the saved folder and its
round trip, the encoder by path in a Collection, reindex, the CLI, and every bad input the issue lists."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

import embedlab
from embedlab.cli import main
from embedlab.encoders import Encoder, register, registry
from embedlab.encoders.adapted import AdaptedEncoder, load_finetuned
from embedlab.encoders.registry import EncoderSpec
from embedlab.errors import CorruptFileError, EncoderMismatchError, InputError, ModelNotFoundError
from embedlab.store import Collection
from embedlab.train.finetuning import DivergedError, finetune
from embedlab.train.finetuning import adapter as adapter_mod

DIM = 48


class Words(Encoder):
    """Bag of hashed words: 'q3' and 'd3' land in different dimensions, so retrieving d-texts from q-texts needs
    a learned map — the base alone is near chance."""

    name = "test-ft-words"
    dim = DIM

    def _encode_batch(self, items):
        out = np.full((len(items), DIM), 0.01, np.float32)
        for r, text in enumerate(items):
            for w in text.split():
                out[r, zlib.crc32(w.encode()) % DIM] += 1.0
        return out

    def _fingerprint_source(self):
        return "v1"


class Pictures(Encoder):
    name = "test-ft-pictures"
    dim = 4
    modalities = ("image",)

    def _encode_batch(self, items):
        return np.ones((len(items), 4), np.float32)


@pytest.fixture(scope="module", autouse=True)
def words_registered():
    register(EncoderSpec(name=Words.name, factory=Words, dim=DIM, modalities=("text",), extra="core"))
    yield
    registry._SPECS.pop(Words.name, None)
    for key in [k for k in registry._CACHE if k[0] == Words.name]:
        del registry._CACHE[key]


def make_pairs(path, n=90, seed=0):
    """query 'qA qB' -> positive 'dA dB' for distinct word ids A < B, a few duplicates."""
    rng = np.random.default_rng(seed)
    seen, rows = set(), []
    while len(rows) < n:
        a, b = sorted(rng.choice(14, 2, replace=False).tolist())
        if (a, b) in seen:
            continue
        seen.add((a, b))
        rows.append({"query": f"q{a} q{b}", "positive": f"d{a} d{b}"})
    rows += rows[:3]  # duplicates, dropped and counted
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


FAST = {"epochs": 25, "batch_size": 16, "lr": 0.02, "reg": 0.0, "general": None, "adapter": "linear"}


def test_adapter_end_to_end_and_round_trip(tmp_path):
    pairs = make_pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / "out"
    out.mkdir()  # an existing empty folder is fine
    enc = finetune(pairs, Words.name, output=out, val_fraction=0.2, seed=1, **FAST)
    assert isinstance(enc, AdaptedEncoder) and enc.name == str(out.resolve())
    assert {"finetune.json", "adapter.safetensors", "loss.png"} <= {p.name for p in out.iterdir()}
    doc = json.loads((out / "finetune.json").read_text())
    assert doc["format"] == "embedlab.finetune" and doc["format_version"] == 1 and doc["method"] == "adapter"
    assert doc["base"]["name"] == Words.name and doc["base"]["fingerprint"] == "test-ft-words@v1"
    assert doc["seed"] == 1 and doc["params"]["epochs"] == 25 and doc["data"]["duplicates_dropped"] == 3
    assert doc["data"]["train"] + doc["data"]["validation"] == 90
    before, after = doc["metrics"]["before"]["validation"], doc["metrics"]["after"]["validation"]
    assert set(before) == {"recall@1", "recall@10", "mrr", "ndcg@10"}
    assert after["recall@1"] >= before["recall@1"] + 0.3, (before, after)
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    # the folder loads by path through the registry, as --encoder PATH does, with the same vectors
    again = embedlab.encoder(str(out))
    texts = ["q1 q2", "d1 d2"]
    np.testing.assert_allclose(again.encode(texts), enc.encode(texts), atol=1e-6)
    np.testing.assert_allclose(again.encode_queries(texts), enc.encode_documents(texts), atol=1e-6)
    assert again.fingerprint != Words().fingerprint and again.fingerprint == load_finetuned(out).fingerprint
    assert again.matryoshka_dims is None and again.metrics["after"]["validation"] == after
    assert embedlab.train.finetune is not None and callable(embedlab.train.finetune)


def test_callable_package_queries_only_matryoshka_and_hard_negatives(tmp_path):
    pairs = make_pairs(tmp_path / "pairs.jsonl")
    enc = embedlab.train.finetune(pairs, Words(), output=tmp_path / "o", apply_to="queries", matryoshka="48,16",
                                  hard_negatives=1, reg=[0.0, 1.0], **{k: v for k, v in FAST.items() if k != "reg"})
    doc = enc.manifest
    assert enc.asymmetric and enc.matryoshka_dims == (48, 16) and doc["matryoshka_dims"] == [48, 16]
    assert set(doc["metrics"]["after"]["validation"]["per_dim"]) == {"48", "16"}
    hn = doc["data"]["hard_negatives"]
    assert hn["mined"] + hn["pairs_without"] >= 1 and hn["mined"] <= doc["data"]["train"]
    assert doc["params"]["reg"] in (0.0, 1.0) and doc["params"]["regs_tried"] == [0.0, 1.0]
    # documents keep the base vectors; queries go through the map
    np.testing.assert_allclose(enc.encode_documents(["d1 d2"]), Words().encode(["d1 d2"]), atol=1e-6)
    assert not np.allclose(enc.encode_queries(["q1 q2"]), Words().encode(["q1 q2"]), atol=1e-3)
    # a Matryoshka width it was trained for is accepted by a collection
    col = Collection.create("narrow", enc, dim=16)
    col.add(["a"], ["d1 d2"])
    assert col.dim == 16 and col.search("q1 q2", k=1)[0].id == "a"


def test_collection_by_path_mismatch_message_and_reindex(tmp_path, capsys):
    pairs = make_pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / "adapted"
    finetune(pairs, Words.name, output=out, **FAST)
    docs = {f"doc{i}": f"d{i} d{i + 1}" for i in range(12)}
    with Collection.create("base", Words.name) as col:
        col.add(list(docs), list(docs.values()), metadata=[{"i": i} for i in range(12)])
    with pytest.raises(EncoderMismatchError, match=f"embedlab reindex base --encoder {out.resolve()}"):
        Collection.open("base", str(out))
    with pytest.raises(SystemExit) as e:
        main(["reindex", "base", "--encoder", str(out), "--json"])
    assert e.value.code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["count"] == 12 and result["previous_encoder"] == Words.name
    with Collection.open("base") as col:  # reopens by name = the folder's path
        assert col.encoder.name == str(out.resolve()) and col.count() == 12
        assert col.get(["doc3"])[0].metadata == {"i": 3} and col.contents(["doc3"]) == ["d3 d4"]
        assert col.search("q3 q4", k=1)[0].id == "doc3"
    assert Collection.names() == ["base"]  # the staging collection is gone
    # a new collection through --encoder PATH on the CLI
    with pytest.raises(SystemExit) as e:
        main(["search", "base", "q5 q6", "-k", "1", "--json"])
    assert e.value.code == 0 and json.loads(capsys.readouterr().out)


def test_reindex_refuses_items_without_text_and_changes_nothing(tmp_path):
    pairs = make_pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / "adapted"
    finetune(pairs, Words.name, output=out, **FAST)
    with Collection.create("vecs", Words.name) as col:
        col.add(["a"], ["d1 d2"])
        col.add(["b"], vectors=np.ones((1, DIM), np.float32))
    from embedlab.reembed import reembed

    with pytest.raises(InputError, match="1 item.*no stored text"):
        reembed("vecs", str(out))
    with Collection.open("vecs") as col:
        assert col.count() == 2 and col.info()["encoder"]["name"] == Words.name


def test_cli_finetune_json_and_errors(tmp_path, capsys):
    pairs = make_pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / "cli-out"
    argv = ["finetune", str(pairs), "-e", Words.name, "-o", str(out), "--epochs", "3", "--batch-size", "16",
            "--lr", "0.02", "--seed", "2", "--val-fraction", "0.2"]
    with pytest.raises(SystemExit) as e:
        main([*argv, "--json"])
    assert e.value.code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["method"] == "adapter" and summary["out"] == str(out.resolve())
    assert {"before", "after"} <= set(summary["metrics"]) and "general" in summary["metrics"]["before"]
    with pytest.raises(SystemExit) as e:  # the folder is no longer empty
        main(argv)
    assert e.value.code == 2 and "is not empty" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main([*argv, "--overwrite", "--matryoshka", "64"])
    assert e.value.code == 2 and "outside 1..48" in capsys.readouterr().err


def test_bad_inputs(tmp_path):
    pairs = make_pairs(tmp_path / "pairs.jsonl")
    with pytest.raises(InputError, match="does not encode text"):
        finetune(pairs, Pictures(), output=tmp_path / "a")
    with pytest.raises(InputError, match="method='full' fine-tunes a torch"):
        finetune(pairs, Words.name, method="full", output=tmp_path / "b")
    with pytest.raises(InputError, match="outside 1..48"):
        finetune(pairs, Words.name, matryoshka=[64, 16], output=tmp_path / "c")
    with pytest.raises(InputError, match="method must be"):
        finetune(pairs, Words.name, method="lora", output=tmp_path / "d")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(InputError, match="is empty"):
        finetune(tmp_path / "empty.jsonl", Words.name, output=tmp_path / "e")
    few = tmp_path / "few.jsonl"
    few.write_text("".join(json.dumps({"query": f"q{i}", "positive": f"d{i}"}) + "\n" for i in range(4)))
    with pytest.raises(InputError, match="validation split would be empty"):
        finetune(few, Words.name, output=tmp_path / "f")
    assert not any((tmp_path / n).exists() for n in "abcdef")


def test_damaged_folders(tmp_path):
    pairs = make_pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / "out"
    finetune(pairs, Words.name, output=out, **FAST)
    weights = (out / "adapter.safetensors").read_bytes()
    # a corrupted weights file: same size, flipped bytes -> checksum; truncated -> size
    (out / "adapter.safetensors").write_bytes(weights[:-8] + b"\x00" * 8)
    with pytest.raises(CorruptFileError, match="damaged"):
        load_finetuned(out)
    (out / "adapter.safetensors").write_bytes(weights[:100])
    with pytest.raises(CorruptFileError, match="bytes"):
        load_finetuned(out)
    (out / "adapter.safetensors").write_bytes(weights)
    load_finetuned(out)
    # the base encoder missing at load time: the message names the folder and the base
    doc = json.loads((out / "finetune.json").read_text())
    doc["base"]["name"] = "no-such-encoder"
    (out / "finetune.json").write_text(json.dumps(doc))
    with pytest.raises(ModelNotFoundError, match="adapter on top of encoder 'no-such-encoder'"):
        load_finetuned(out)
    # a base whose weights changed since training
    doc["base"].update(name=Words.name, fingerprint="test-ft-words@v0")
    (out / "finetune.json").write_text(json.dumps(doc))
    with pytest.raises(EncoderMismatchError, match="fingerprint"):
        load_finetuned(out).encode(["q1"])
    (out / "finetune.json").write_text("{broken")
    with pytest.raises(InputError, match="has finetune.json but embedlab cannot read it as a model folder"):
        embedlab.encoder(str(out))
    with pytest.raises(ModelNotFoundError, match="not an `embedlab finetune` folder"):
        load_finetuned(out)


def test_divergence_keeps_last_good_weights(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = adapter_mod.matryoshka_info_nce

    def flaky(*a, **kw):
        calls["n"] += 1
        loss, gq, gd = real(*a, **kw)
        return (float("inf") if calls["n"] > 12 else loss), gq, gd

    monkeypatch.setattr(adapter_mod, "matryoshka_info_nce", flaky)
    out = tmp_path / "out"
    with pytest.raises(DivergedError, match=f"last good weights .* saved in {out}"):
        finetune(make_pairs(tmp_path / "pairs.jsonl"), Words.name, output=out, backend="numpy", **FAST)
    doc = json.loads((out / "finetune.json").read_text())
    assert "inf" in doc["diverged"] and len(doc["loss_history"]) == 12
    assert np.isfinite(load_finetuned(out).encode(["q1 q2"])).all()


def test_http_embeddings_and_collections_with_the_folder(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from embedlab.server import create_app

    out = tmp_path / "adapted"
    enc = finetune(make_pairs(tmp_path / "pairs.jsonl"), Words.name, output=out, apply_to="queries",
                   **{**FAST, "epochs": 3})
    model = "adapted"  # offered by folder name (embedlab serve --encoder PATH)
    app = create_app(tmp_path / "home", vectors_sets={}, model_folders=[out])
    with TestClient(app, base_url="http://localhost") as c:
        r = c.post("/v1/embeddings", json={"model": str(out.resolve()), "input": ["q1 q2"]})
        assert r.status_code == 400 and "named, not given as a path" in r.json()["error"]["message"], r.text
        assert any(m["id"] == model for m in c.get("/v1/models").json()["data"])
        r = c.post("/v1/embeddings", json={"model": "nope", "input": ["q1"]})
        assert r.status_code == 404 and r.json()["error"]["message"].endswith(f", {model} (GET /v1/models)"), r.text
        r = c.post("/v1/embeddings", json={"model": model, "input": ["q1 q2"], "input_type": "query",
                                           "encoding_format": "float"})
        assert r.status_code == 200, r.text
        assert r.json()["model"] == model
        np.testing.assert_allclose(r.json()["data"][0]["embedding"], enc.encode_queries(["q1 q2"])[0], atol=1e-5)
        assert c.post("/api/collections", json={"name": "web", "encoder": model}).status_code == 201
        r = c.post("/api/collections/web/items", json={"items": [{"id": "a", "text": "d1 d2"},
                                                                 {"id": "b", "text": "d7 d9"}]})
        assert r.status_code == 200, r.text
        r = c.post("/api/collections/web/search", json={"query": "q7 q9", "k": 1})
        assert r.status_code == 200 and r.json()["hits"][0]["id"] == "b", r.text


def test_an_unwritable_output_fails_before_training(tmp_path, monkeypatch, capsys):
    pairs = make_pairs(tmp_path / "pairs.jsonl")
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    import embedlab.train.finetuning.run as run_mod

    monkeypatch.setattr(run_mod, "base_vectors", lambda *a, **k: pytest.fail("must fail before any encoding"))
    with pytest.raises(InputError, match=r"notes\.txt is a file, so the folder .*sub cannot be created"):
        finetune(pairs, Words.name, output=blocker / "sub", **FAST)
    with pytest.raises(InputError, match="notes.txt is a file; the output must be a folder"):
        finetune(pairs, Words.name, output=blocker, **FAST)
    with pytest.raises(SystemExit) as stop:
        main(["finetune", str(pairs), "--encoder", Words.name, "-o", "/proc/embedlab-nope"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "cannot write the output folder /proc/embedlab-nope" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_unusable_home_is_one_line_not_a_traceback(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("hello")
    with pytest.raises(SystemExit) as stop:
        main(["--home", "/proc/embedlab-home", "index", "x", str(tmp_path)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "/proc/embedlab-home" in err and "Traceback" not in err


def test_an_adapter_that_never_beats_the_base_says_so(tmp_path):
    """When no epoch improves on the base over validation, the saved adapter is the identity: warned, not silent."""
    rows = [{"query": f"w{i} w{i + 1}", "positive": f"w{i} w{i + 1} note"} for i in range(0, 80, 2)]
    pairs = tmp_path / "easy.jsonl"
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    with pytest.warns(UserWarning, match="no epoch improved .* identity map"):
        enc = finetune(pairs, Words.name, output=tmp_path / "o", val_fraction=0.25, **{**FAST, "epochs": 3})
    assert enc.manifest["chosen_epoch"] == 0
    np.testing.assert_allclose(enc.encode(["w2 w3"]), Words().encode(["w2 w3"]), atol=1e-6)


def test_options_of_the_other_method_and_bad_numbers_are_named(tmp_path):
    pairs = make_pairs(tmp_path / "pairs.jsonl")
    with pytest.raises(InputError, match=r"loss \(--loss\) applies to method='full' only"):
        finetune(pairs, Words.name, output=tmp_path / "a", loss="mnrl", **FAST)
    with pytest.raises(InputError, match=r"rank \(--rank\), apply_to \(--apply-to\) apply to method='adapter' only"):
        finetune(pairs, Words.name, method="full", output=tmp_path / "b", rank=4, apply_to="queries")
    with pytest.raises(InputError, match=r"batch_size \(--batch-size\) must be >= 2 .*got 0"):
        finetune(pairs, Words.name, output=tmp_path / "c", **{**FAST, "batch_size": 0})
    with pytest.raises(InputError, match=r"lr \(--lr\) must be > 0, got -1"):
        finetune(pairs, Words.name, output=tmp_path / "d", **{**FAST, "lr": -1.0})


def test_a_byte_order_mark_is_not_part_of_the_pairs(tmp_path):
    plain = make_pairs(tmp_path / "pairs.jsonl")
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    from embedlab.train.finetuning import read_pairs

    assert read_pairs(bom).pairs == read_pairs(plain).pairs
    csv_bom = tmp_path / "p.csv"
    csv_bom.write_bytes(b"\xef\xbb\xbfquery,positive\nq1 q2,d1 d2\nq3 q4,d3 d4\n")
    assert [p.query for p in read_pairs(csv_bom).pairs] == ["q1 q2", "q3 q4"]


def test_a_deleted_model_folder_and_a_damaged_manifest_are_named(tmp_path, capsys):
    import shutil

    out = tmp_path / "adapted"
    finetune(make_pairs(tmp_path / "pairs.jsonl"), Words.name, output=out, **FAST)
    with Collection.create("gone", str(out)) as col:
        col.add(["a", "b"], ["d1 d2", "d3 d4"])
    for key in [k for k in registry._CACHE if k[0] == str(out.resolve())]:  # only this folder's instance
        del registry._CACHE[key]
    shutil.rmtree(out)
    with pytest.raises(InputError, match=r"model folder .*adapted, which no longer exists.*embedlab reindex gone "
                                         r"--encoder"):
        with Collection.open("gone") as col:
            col.search("q1 q2", k=1)
    with pytest.raises(SystemExit) as e:  # the advice works: re-embed the stored texts with another encoder
        main(["reindex", "gone", "--encoder", Words.name, "--json"])
    assert e.value.code == 0 and json.loads(capsys.readouterr().out)["count"] == 2
    # a folder whose finetune.json is damaged is not "a folder without finetune.json"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "finetune.json").write_text("{not json")
    with pytest.raises(InputError, match=r"has finetune.json but embedlab cannot read it as a model folder"):
        embedlab.encoder(str(bad))


class EnglishWords(Words):
    """Words that declares it reads English only (as minilm does)."""

    name = "test-ft-en"
    languages = ("en",)


@pytest.fixture()
def english_registered():
    register(EncoderSpec(name=EnglishWords.name, factory=EnglishWords, dim=DIM, modalities=("text",), extra="core"))
    yield
    registry._SPECS.pop(EnglishWords.name, None)
    for key in [k for k in registry._CACHE if k[0] == EnglishWords.name]:
        del registry._CACHE[key]


def test_our_own_korean_retention_set_gives_no_language_warning(tmp_path, english_registered):
    """names-ko-en is embedlab's own set, which the user never gave: no LanguageWarning about it. A retention set
    the caller gives is the caller's text, and still warns."""
    import warnings

    from embedlab.errors import LanguageWarning
    from embedlab.train.finetuning.evaluate import general_sets

    if "names-ko-en" not in general_sets(["names-ko-en"]):
        pytest.skip("the names-ko-en data are not installed")
    pairs = make_pairs(tmp_path / "p.jsonl")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = finetune(pairs, EnglishWords.name, output=tmp_path / "o", **{**FAST, "epochs": 2,
                                                                        "general": ("names-ko-en",)})
    assert enc.manifest["data"]["general_sets"] == {"names-ko-en": 500}
    assert [str(w.message) for w in caught if issubclass(w.category, LanguageWarning)] == []
    mine = {"mine": [(f"서울 {i}번 기차", f"the train number {i} to Seoul") for i in range(12)]}
    with pytest.warns(LanguageWarning, match=r"^test-ft-en reads only en: 12 of 12 text\(s\) hold Korean "):
        finetune(pairs, EnglishWords.name, output=tmp_path / "o2", **{**FAST, "epochs": 2, "general": mine})


def test_a_fine_tuned_folder_reads_its_base_encoders_languages(tmp_path, capsys, english_registered):
    """The folder records the base's languages; the encoder loaded from it declares them, so Korean text re-embedded
    onto it warns as it does for the base (the README's reindex --encoder ft/)."""
    from embedlab.errors import LanguageWarning

    out = tmp_path / "ft"
    enc = finetune(make_pairs(tmp_path / "p.jsonl"), EnglishWords.name, output=out, **{**FAST, "epochs": 2})
    assert enc.manifest["base"]["languages"] == ["en"] and enc.languages == ("en",)
    again = load_finetuned(out)
    assert again.languages == ("en",)
    with pytest.warns(LanguageWarning, match=rf"^{out.resolve()} reads only en: 1 of 2 text\(s\) hold Korean "):
        again.encode(["서울 기차", "a train"])
    assert load_finetuned(finetune(make_pairs(tmp_path / "p2.jsonl"), Words.name, output=tmp_path / "w",
                                   **{**FAST, "epochs": 2}).folder).languages is None  # a base of many languages
    with Collection.create("rows", EnglishWords.name) as col:
        with pytest.warns(LanguageWarning):
            col.add(["k", "e"], ["서울 기차", "a train"])
    with pytest.raises(SystemExit) as e, \
            pytest.warns(LanguageWarning, match=rf"^{out.resolve()} reads only en: 1 of 2 text\(s\) hold Korean "):
        main(["reindex", "rows", "--encoder", str(out)])
    assert e.value.code == 0


def test_the_evaluation_sets_are_encoded_under_a_bar_naming_each(tmp_path, progress_bars):
    """After its training bar, finetune evaluated the base and fine-tuned models on the validation split and the
    general sets for minutes with no output: each set is now a step of a bar that names it."""
    from embedlab.train.finetuning import run
    from embedlab.train.finetuning.evaluate import index_pairs

    bars = progress_bars(run)
    pairs = make_pairs(tmp_path / "pairs.jsonl")
    finetune(pairs, Words.name, output=tmp_path / "out", val_fraction=0.2, seed=1, progress=True, **FAST)
    doc = json.loads((tmp_path / "out" / "finetune.json").read_text())
    n_val = doc["data"]["validation"]
    evaluating = [b for b in bars if b.unit == "set"]
    assert [(b.desc, b.total, b.n, b.enabled) for b in evaluating] == [
        ("finetune: evaluating test-ft-words", 1, 1, True)]
    assert [f"{n}: {text}" for n, text in evaluating[0].steps] == [
        f"0: validation: {n_val} queries, {n_val} documents"]
    got = run.vectors_per_set({"a": index_pairs([]), "b": index_pairs([])},
                              lambda split: (np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)),
                              "evaluating", progress=False)
    assert list(got) == ["a", "b"] and [f"{n}: {text}" for n, text in bars[-1].steps] == [
        "0: a: 0 queries, 0 documents", "1: b: 0 queries, 0 documents"]
    assert bars[-1].enabled is False and bars[-1].n == 2
