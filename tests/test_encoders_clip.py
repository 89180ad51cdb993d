"""CLIP encoder: a tiny randomly initialised CLIPModel saved to disk stands in for user weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("PIL")

from embedlab.errors import InputError, ModelNotFoundError  # noqa: E402


def _bytes_to_unicode() -> list[str]:
    """GPT-2/CLIP byte-level alphabet: one printable character per byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def _write_tokenizer(folder: Path) -> None:
    """A minimal CLIP BPE vocabulary: the byte alphabet (+ '</w>' forms), a few merges, the two specials."""
    chars = _bytes_to_unicode()
    vocab = chars + [c + "</w>" for c in chars]
    merges = ["c a", "ca t</w>", "d o", "do g</w>", "p h", "ph o", "pho t", "phot o</w>"]
    for m in merges:
        vocab.append(m.replace(" ", ""))
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")


@pytest.fixture(scope="session")
def clip_folder(tmp_path_factory) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    folder = tmp_path_factory.mktemp("tiny-clip")
    _write_tokenizer(folder)
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    cfg = CLIPConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=16, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=24,
    )
    torch.manual_seed(0)
    CLIPModel(cfg).eval().save_pretrained(folder)
    tok.save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def clip(clip_folder):
    from embedlab.encoders.clip import CLIPEncoder

    return CLIPEncoder(clip_folder)


def _images(n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, size=(40 + 4 * i, 48, 3), dtype=np.uint8) for i in range(n)]


def test_text_and_image_share_one_space(clip):
    assert clip.dim == 24 and clip.modalities == ("text", "image")
    t = clip.encode(["a photo of a cat", "a dog"])
    im = clip.encode(_images(2))
    assert t.shape == (2, 24) and im.shape == (2, 24) and t.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(np.vstack([t, im]), axis=1), 1.0, atol=1e-5)
    assert not np.allclose(t[0], t[1]) and not np.allclose(im[0], im[1])


@pytest.mark.filterwarnings("ignore::embedlab.encoders.base.TruncationWarning")  # a long path as text
def test_mixed_batch_matches_separate_calls_and_is_deterministic(clip, tmp_path):
    from PIL import Image

    img = _images(1)[0]
    path = tmp_path / "x.png"
    Image.fromarray(img).save(path)
    mixed = clip.encode(["a cat", str(path), Image.fromarray(img), img, "a dog"], batch_size=2)
    np.testing.assert_allclose(mixed[0], clip.encode_text("a cat")[0], atol=1e-5)
    np.testing.assert_allclose(mixed[4], clip.encode_text(["a dog"])[0], atol=1e-5)
    for row in mixed[1:4]:  # the same picture as a path string, a PIL image and an array
        np.testing.assert_allclose(row, clip.encode_image(path)[0], atol=1e-5)
    np.testing.assert_array_equal(clip.encode(["a cat", "a dog"]), clip.encode(["a cat", "a dog"]))
    # encode_text never treats strings as files
    assert not np.allclose(clip.encode_text(str(path))[0], mixed[1])


def test_batch_size_independence(clip):
    items = ["a cat", "a photo of a dog", "photo", *_images(3)]
    np.testing.assert_allclose(clip.encode(items, batch_size=1), clip.encode(items, batch_size=6), atol=1e-5)


def test_long_text_truncation_reported(clip):
    from embedlab.encoders.base import TruncationWarning

    with pytest.warns(TruncationWarning, match="1 of 2") as got:
        clip.encode(["cat " * 40, "dog"])
    assert [w.message.truncated for w in got] == [1]


def test_bad_items(clip):
    with pytest.raises(InputError, match="item 1 is int"):
        clip.encode(["a cat", 3])
    with pytest.raises(InputError, match="does not exist"):
        clip.encode_image("/nonexistent/picture.png")


def test_missing_folder_and_weights(clip_folder, tmp_path):
    from embedlab.encoders.clip import CLIPEncoder

    with pytest.raises(ModelNotFoundError, match="does not exist"):
        CLIPEncoder(tmp_path / "nope")
    broken = tmp_path / "broken"
    shutil.copytree(clip_folder, broken)
    (broken / "model.safetensors").unlink()
    (broken / "preprocessor_config.json").unlink()
    with pytest.raises(ModelNotFoundError, match=r"lacks weights .*preprocessor_config.json"):
        CLIPEncoder(broken)


def test_registry_needs_model_path(clip_folder):
    import embedlab
    from embedlab.encoders import spec

    assert spec("clip").modalities == ("text", "image")
    with pytest.raises(ModelNotFoundError, match="needs model_path"):
        embedlab.encoder("clip")
    enc = embedlab.encoder("clip", model_path=str(clip_folder))
    assert enc.dim == 24 and enc.fingerprint.startswith("clip@local:")


def test_cli_encodes_text_and_image_files(clip, clip_folder, tmp_path, capsys):
    from PIL import Image

    from embedlab.cli import main
    from embedlab.io import load_npy

    img = tmp_path / "pic.png"
    Image.fromarray(_images(1)[0]).save(img)
    out = tmp_path / "v.npy"
    with pytest.raises(SystemExit) as exc:
        main(["encode", "-e", "clip", "--model-path", str(clip_folder), "a cat", str(img), "-o", str(out),
              "--keys", "--json"])
    assert exc.value.code == 0
    assert json.loads(capsys.readouterr().out)["dim"] == 24
    vecs = load_npy(out)
    assert vecs.keys == ["a cat", str(img)]
    np.testing.assert_allclose(vecs.matrix[0], clip.encode_text("a cat")[0], atol=1e-5)
    np.testing.assert_allclose(vecs.matrix[1], clip.encode_image(img)[0], atol=1e-5)
