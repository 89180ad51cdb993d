"""Image encoders (EfficientNet-Lite0, ResNet-50 from local weights) and ConSE zero-shot text-to-image."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")
skdata = pytest.importorskip("skimage.data")

import embedlab  # noqa: E402
from embedlab.errors import CorruptFileError, InputError, ModelNotFoundError  # noqa: E402

CAT_CLASSES = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx"}


@pytest.fixture(scope="session")
def effnet():
    return embedlab.encoder("efficientnet-lite0")


@pytest.fixture(scope="session")
def conse():
    return embedlab.encoder("conse")


@pytest.fixture(scope="session")
def photos():
    return {name: getattr(skdata, name)() for name in ("chelsea", "coffee", "rocket", "astronaut")}


def test_imagenet_classes_are_the_1000_in_order():
    from embedlab.encoders.image import imagenet_classes

    names = imagenet_classes()
    assert len(names) == 1000 and len(set(names)) == 998  # 'crane' and 'maillot' appear twice in ImageNet
    assert names[0] == "tench" and names[281] == "tabby" and names[285] == "Egyptian cat"
    assert names[967] == "espresso" and names[999] == "toilet tissue"


def test_classify_names_cat_and_espresso(effnet, photos):
    top = effnet.classify([photos["chelsea"], photos["coffee"]], topk=5)
    assert {label for label, _ in top[0]} & CAT_CLASSES
    assert top[0][0][0] in CAT_CLASSES
    assert {"espresso", "cup"} & {label for label, _ in top[1]}
    probs = [p for _, p in top[1]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-6


def test_features_unit_batch_invariant_and_image_similarity(effnet, photos):
    cat = photos["chelsea"]
    items = [cat, cat[:, ::-1], cat[30:280, 60:420], photos["coffee"], photos["rocket"]]
    a = effnet.encode(items, batch_size=5)
    b = effnet.encode(items, batch_size=2)
    assert a.shape == (5, 1280) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a, b, atol=1e-5)
    sims = a @ a[0]
    assert min(sims[1], sims[2]) > max(sims[3], sims[4]) + 0.3
    raw = effnet.encode(items[:1], normalize=False)
    assert np.linalg.norm(raw) > 1.5  # unnormalised pooled features really are raw


def test_path_pil_and_arrays_give_the_same_vector(effnet, photos, tmp_path):
    from PIL import Image

    cat = photos["chelsea"]
    path = tmp_path / "cat.png"
    Image.fromarray(cat).save(path)
    vecs = effnet.encode([str(path), path, Image.open(path), cat, cat.astype(np.float32) / 255.0])
    for v in vecs[1:]:
        np.testing.assert_allclose(v, vecs[0], atol=1e-5)
    gray = effnet.encode([cat.mean(axis=2).astype(np.uint8)])  # HxW grayscale is accepted
    assert gray.shape == (1, 1280)
    np.testing.assert_allclose(effnet.encode(cat), vecs[:1], atol=1e-5)  # one image, not a list of its rows
    stacked = effnet.encode(np.stack([cat, cat[:, ::-1]]))  # an (n, h, w, 3) array is n images
    assert stacked.shape == (2, 1280)
    np.testing.assert_allclose(stacked[0], vecs[0], atol=1e-5)


def test_image_input_errors(effnet, tmp_path):
    with pytest.raises(InputError, match="image file not found"):
        effnet.encode([str(tmp_path / "missing.jpg")])
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"this is not a jpeg")
    with pytest.raises(CorruptFileError, match="cannot read .*bad.jpg as an image"):
        effnet.encode([bad])
    with pytest.raises(InputError, match="shape"):
        effnet.encode([np.zeros((4, 4, 5), dtype=np.uint8)])
    with pytest.raises(InputError, match=r"must lie in \[0, 1\]"):
        effnet.encode([np.full((8, 8, 3), 200.0)])
    with pytest.raises(InputError, match="item 1 is int"):
        effnet.encode([np.zeros((8, 8, 3), np.uint8), 5])


# -------------------------------------------------------------------- ResNet-50
@pytest.fixture(scope="session")
def resnet_file(tmp_path_factory):
    import torch

    from embedlab.encoders._resnet import build_resnet50

    model = build_resnet50(seed=0).eval()
    for m in model.modules():  # random running statistics, so BN is not the identity
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("resnet") / "resnet50.pth"
    torch.save(model.state_dict(), path)
    return path, model


def test_own_resnet50_matches_torchvision_layout():
    from embedlab.encoders._resnet import build_resnet50

    model = build_resnet50(seed=0)
    state = model.state_dict()
    assert len(state) == 320  # torchvision resnet50().state_dict() has 320 entries
    assert sum(p.numel() for p in model.parameters()) == 25_557_032  # torchvision's ResNet-50 parameter count
    for key in ("conv1.weight", "bn1.running_var", "layer1.0.downsample.0.weight", "layer2.3.conv2.weight",
                "layer3.5.bn3.num_batches_tracked", "layer4.2.bn3.weight", "fc.weight", "fc.bias"):
        assert key in state


def test_resnet50_from_torchvision_state_dict(resnet_file, photos):
    import torch

    from embedlab.encoders.image import ResNet50Encoder

    path, model = resnet_file
    enc = ResNet50Encoder(path)
    items = [photos["chelsea"], photos["coffee"]]
    a = enc.encode(items, batch_size=2, normalize=False)
    b = enc.encode(items, batch_size=1, normalize=False)
    assert a.shape == (2, 2048)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    with torch.inference_mode():
        x = torch.from_numpy(enc.preprocess(items))
        x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        x = model.layer4(model.layer3(model.layer2(model.layer1(x))))
        direct = torch.flatten(model.avgpool(x), 1)
    np.testing.assert_allclose(a, direct.numpy(), rtol=1e-4, atol=1e-5)
    assert enc.fingerprint.startswith("resnet50@torch==")


def test_resnet50_bad_weights(resnet_file, tmp_path):
    import torch

    from embedlab.encoders.image import ResNet50Encoder

    with pytest.raises(ModelNotFoundError, match="needs local weights"):
        ResNet50Encoder()
    with pytest.raises(ModelNotFoundError, match="not found"):
        ResNet50Encoder(tmp_path / "nope.pth")
    state = torch.load(resnet_file[0], weights_only=True)
    del state["fc.bias"]
    state["conv1.weight"] = torch.zeros(64, 3, 3, 3)
    state["extra.weight"] = torch.zeros(1)
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    with pytest.raises(CorruptFileError, match=r"missing keys: fc.bias; unexpected keys: extra.weight; wrong shapes: "
                       r"conv1.weight \(64, 3, 3, 3\) != \(64, 3, 7, 7\)"):
        ResNet50Encoder(bad)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00garbage")
    with pytest.raises(CorruptFileError, match="cannot read .*junk.pth as a torch state dict"):
        ResNet50Encoder(junk)
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        ResNet50Encoder(tmp_path)


def test_resnet_from_hugging_face_folder(tmp_path, photos):
    import torch
    from transformers import ResNetConfig, ResNetModel

    from embedlab.encoders.image import ResNet50Encoder

    torch.manual_seed(0)
    cfg = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 16, 32], depths=[1, 1, 1, 1], layer_type="bottleneck")
    ResNetModel(cfg).eval().save_pretrained(tmp_path / "hf")
    enc = ResNet50Encoder(tmp_path / "hf")
    assert enc.dim == 32
    vec = enc.encode([photos["coffee"]], normalize=False)
    model = ResNetModel.from_pretrained(tmp_path / "hf").eval()
    with torch.inference_mode():
        want = model(pixel_values=torch.from_numpy(enc.preprocess([photos["coffee"]]))).pooler_output.flatten(1)
    np.testing.assert_allclose(vec, want.numpy(), rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------ ConSEEncoder
def test_conse_text_queries_find_the_cat(conse, photos):
    images = [photos[n] for n in ("chelsea", "coffee", "rocket", "astronaut")]
    img = conse.encode(images)
    txt = conse.encode(["a cat", "고양이", "a cup of coffee"])
    assert img.shape == (4, 512)
    scores = txt @ img.T
    assert scores[0].argmax() == 0 and scores[1].argmax() == 0  # English and Korean queries
    assert scores[2].argmax() == 1


def test_conse_zero_shot_and_mixed_batches(conse, photos, tmp_path):
    from PIL import Image

    images = [photos["chelsea"], photos["coffee"], photos["rocket"]]
    result = conse.zero_shot(images, ["cat", "coffee", "rocket"])
    assert [label for label, _ in result] == ["cat", "coffee", "rocket"]
    assert all(0 < score <= 1 for _, score in result)
    path = tmp_path / "cat.png"
    Image.fromarray(photos["chelsea"]).save(path)
    mixed = conse.encode(["a cat", str(path), photos["coffee"]], batch_size=2)
    alone = np.vstack([conse.encode(["a cat"]), conse.encode([photos["chelsea"]]), conse.encode([photos["coffee"]])])
    np.testing.assert_allclose(mixed, alone, atol=1e-5)  # a str naming an image file is an image


def test_conse_vector_is_the_weighted_label_average(conse):
    labels = conse.label_vectors()
    probs = np.zeros((2, 1000), dtype=np.float32)
    probs[0, 281] = 1.0
    probs[1, [281, 967]] = [0.3, 0.1]
    vec = conse.embed_probabilities(probs)
    np.testing.assert_allclose(vec[0], labels[281], atol=1e-6)
    np.testing.assert_allclose(vec[1], 0.75 * labels[281] + 0.25 * labels[967], atol=1e-6)
    with pytest.raises(InputError, match="non-empty list"):
        conse.zero_shot([np.zeros((8, 8, 3), np.uint8)], [])


def test_conse_label_vectors_are_cached_in_the_home(conse):
    import hashlib

    from embedlab import config
    from embedlab.encoders.conse import ConSEEncoder
    from embedlab.encoders.image import imagenet_classes

    labels = conse.label_vectors()
    key = hashlib.sha256(("\n".join(imagenet_classes()) + conse.text.fingerprint).encode()).hexdigest()[:16]
    cache = config.home() / "cache" / f"conse-labels-{key}.npy"
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, -labels)  # a marked copy: a fresh instance must read it instead of re-encoding
    fresh = ConSEEncoder()
    np.testing.assert_array_equal(fresh.label_vectors(), -labels)
    with pytest.raises(InputError, match="top_t must be in 1..1000"):
        ConSEEncoder(top_t=0)
