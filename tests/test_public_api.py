"""The top-level ``embedlab`` namespace: what ``dir()`` shows is what can be reached, lazily loaded names included."""

from __future__ import annotations

import embedlab


def test_dir_lists_the_lazily_loaded_names():
    names = dir(embedlab)
    assert names == sorted(names)
    for name in ("Collection", "Word2Vec", "GloVe", "Alignment", "hybrid_search", "make_index", "Vectors",
                 "encoder", "glove", "InputError", "StorageFullError"):
        assert name in names and name in embedlab.__all__, name
    for name in embedlab.__all__:  # every advertised name resolves
        assert getattr(embedlab, name) is not None, name
    assert not {"Any", "annotations", "require"} & set(names)  # errors.py exports its error classes only


def test_an_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        embedlab.nope  # noqa: B018
