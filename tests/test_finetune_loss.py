"""The contrastive loss and the adapter trainer: a known loss value, the hand-written gradient against finite
differences, numpy and torch agreeing step for step, choosing by validation, and divergence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from embedlab.errors import InputError
from embedlab.train.finetuning import adapter as adapter_mod
from embedlab.train.finetuning.adapter import AdapterData, AdapterSettings, adapter_matrix, fit_adapter
from embedlab.train.finetuning.loss import info_nce, matryoshka_info_nce


def test_known_loss_value_and_gradient():
    # two orthogonal unit queries, each identical to its document: logits [[s, 0], [0, s]]
    q = np.eye(2)
    loss, gq, gd = info_nce(q, q.copy(), scale=1.0)
    assert loss == pytest.approx(math.log(1 + math.exp(-1)))  # log(e + 1) - 1
    # d loss / d q_0 along the direction of d_1 (orthogonal to q_0): softmax weight e^0 / (e + 1), over B = 2
    assert gq[0, 1] == pytest.approx(1 / (math.e + 1) / 2)
    assert gq[0, 0] == pytest.approx(0.0)  # the radial component vanishes (vectors are normalised)
    assert gd.shape == (2, 2)
    # a perfect, very confident batch costs almost nothing
    assert info_nce(q, q.copy(), scale=50.0)[0] < 1e-20


@pytest.mark.parametrize("with_mask", [False, True])
def test_gradient_matches_finite_differences(with_mask):
    rng = np.random.default_rng(0)
    q, d = rng.normal(size=(4, 5)), rng.normal(size=(6, 5))
    mask = np.zeros((4, 6), bool)
    if with_mask:
        mask[0, 4] = mask[2, 1] = True
    m = mask if with_mask else None
    _, gq, gd = matryoshka_info_nce(q, d, 7.0, (5, 3), m)
    eps = 1e-6
    for arr, grad in ((q, gq), (d, gd)):
        for idx in [(0, 0), (1, 3), (3, 4)]:
            old = arr[idx]
            arr[idx] = old + eps
            up = matryoshka_info_nce(q, d, 7.0, (5, 3), m)[0]
            arr[idx] = old - eps
            down = matryoshka_info_nce(q, d, 7.0, (5, 3), m)[0]
            arr[idx] = old
            assert grad[idx] == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-8)


def synthetic(n=48, dim=8, seed=0, negatives=True):
    """Queries are a fixed rotation of their documents (plus noise): a linear map can undo it."""
    rng = np.random.default_rng(seed)
    docs = rng.normal(size=(n, dim))
    rot, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    queries = docs @ rot + 0.1 * rng.normal(size=(n, dim))
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    queries, docs = unit(queries), unit(docs)
    train = np.arange(n - 12)
    negs = [[int((i + 1) % (n - 12))] if negatives and i % 2 else [] for i in train]
    val = (queries[n - 12:], docs[n - 12:], np.arange(12))
    return AdapterData(queries[:n - 12], docs[:n - 12], train, train.copy(), negs, val=val)


@pytest.mark.parametrize("kind, rank, dims", [("linear", None, ()), ("residual", None, (8, 4)), ("residual", 3, ())])
def test_numpy_and_torch_agree(kind, rank, dims):
    pytest.importorskip("torch")
    data = synthetic()
    s = AdapterSettings(kind=kind, rank=rank, epochs=3, batch_size=8, lr=0.01, reg=0.01, seed=1, matryoshka_dims=dims)
    a = fit_adapter(data, AdapterSettings(**{**s.__dict__, "backend": "numpy"}))
    b = fit_adapter(data, AdapterSettings(**{**s.__dict__, "backend": "torch"}))
    assert (a.backend, b.backend) == ("numpy", "torch")
    assert len(a.losses) == len(b.losses) == 15
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-4)  # torch runs in float32
    np.testing.assert_allclose(a.matrix, b.matrix, atol=1e-4)
    assert a.chosen_epoch == b.chosen_epoch


def test_adapter_learns_the_map_and_is_chosen_by_validation():
    data = synthetic(n=140)
    fit = fit_adapter(data, AdapterSettings(kind="linear", epochs=30, batch_size=16, lr=0.02, reg=0.0,
                                            backend="numpy"))
    assert fit.losses[-1] < fit.losses[0] / 3
    first, chosen = fit.scores[0], fit.scores[fit.chosen_epoch]
    assert chosen["val_recall@1"] > first["val_recall@1"] + 0.3
    assert chosen["val_mrr"] == max(r["val_mrr"] for r in fit.scores)
    # a strong pull toward the identity keeps the map close to it
    stiff = fit_adapter(data, AdapterSettings(kind="residual", epochs=5, batch_size=16, lr=0.02, reg=100.0,
                                              backend="numpy"))
    assert np.abs(stiff.matrix - np.eye(8)).max() < 0.05


def test_general_guard_keeps_the_identity_when_every_epoch_forgets():
    data = synthetic(n=140)
    # a "general" set the rotation destroys: queries equal to their documents (identity is perfect there)
    gen_docs = data.docs[:30]
    data.general = [(gen_docs.copy(), gen_docs, np.arange(30))]
    fit = fit_adapter(data, AdapterSettings(kind="linear", epochs=5, batch_size=16, lr=0.05, reg=0.0,
                                            max_general_drop=0.0, backend="numpy"))
    for row in fit.scores[1:]:
        if row["general0_recall@1"] < fit.scores[0]["general0_recall@1"]:
            assert fit.chosen_epoch != row["epoch"]
    np.testing.assert_allclose(adapter_matrix(fit.params), fit.matrix, atol=1e-6)


def test_nan_loss_stops_and_keeps_the_last_good_weights(monkeypatch):
    calls = {"n": 0}
    real = adapter_mod.matryoshka_info_nce

    def flaky(*a, **kw):
        calls["n"] += 1
        loss, gq, gd = real(*a, **kw)
        return (float("nan") if calls["n"] > 6 else loss), gq, gd

    monkeypatch.setattr(adapter_mod, "matryoshka_info_nce", flaky)
    data = synthetic()
    fit = fit_adapter(data, AdapterSettings(epochs=5, batch_size=8, lr=0.01, backend="numpy"))
    assert fit.diverged and "nan" in fit.diverged and "epoch 2" in fit.diverged
    assert len(fit.losses) == 6 and fit.chosen_epoch <= 1 and np.isfinite(fit.matrix).all()


def test_bad_settings():
    data = synthetic()
    for kw, msg in [({"kind": "mlp"}, "linear' or 'residual"), ({"kind": "linear", "rank": 2}, "low-rank"),
                    ({"rank": 8}, "rank < 8"), ({"apply_to": "docs"}, "apply_to"), ({"batch_size": 1}, "batch_size"),
                    ({"lr": 0.0}, "lr and scale"), ({"matryoshka_dims": (16,)}, "outside 1..8"),
                    ({"backend": "jax"}, "backend")]:
        with pytest.raises(InputError, match=msg):
            fit_adapter(data, AdapterSettings(**kw))
