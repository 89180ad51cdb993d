"""The shared parameter checks (embedlab._params) and the entity-embedding trainer's use of them."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab._params import check_bool, check_choice, check_float, check_int, check_strings
from embedlab.errors import InputError
from embedlab.train.entity import EntityEmbedding


def test_check_int_refuses_bools_floats_and_out_of_range_values():
    assert check_int(3, "k", low=1) == 3 and type(check_int(np.int64(3), "k", low=1)) is int
    assert check_int(None, "k", low=1, none=True) is None
    for value, message in ((0, "k must be a positive integer, got 0"),
                           (True, r"k must be a positive integer, got True \(bool\)"),
                           (np.bool_(True), r"got .*True.* \(bool"),
                           (3.0, r"k must be a positive integer, got 3.0 \(float\)"),
                           ("3", r"got '3' \(str\)"),
                           (None, r"got None \(NoneType\)")):
        with pytest.raises(InputError, match=message):
            check_int(value, "k", low=1)
    with pytest.raises(InputError, match=r"n must be an integer in \[2, 9\], got 10; hint"):
        check_int(10, "n", 2, 9, hint="hint")
    with pytest.raises(InputError, match="seed must be a non-negative integer, got -1"):
        check_int(-1, "seed", low=0)
    with pytest.raises(InputError, match="m must be an integer >= 3, got 2"):
        check_int(2, "m", low=3)
    with pytest.raises(InputError, match=r"x must be an integer <= 3 or None, got 'a' \(str\)"):
        check_int("a", "x", high=3, none=True)


def test_check_float_refuses_nan_inf_bools_and_handles_open_bounds():
    assert check_float(1, "lr", low=0, low_open=True) == 1.0 and check_float(np.float32(0.5), "a", 0, 1) == 0.5
    assert check_float(0, "alpha", low=0) == 0.0 and check_float(1, "w", 0, 1) == 1.0
    for value, kwargs, message in (
            (0, dict(low=0, low_open=True), "lr must be a positive number, got 0.0"),
            (float("nan"), dict(low=0, low_open=True), "lr must be a positive number, got nan"),
            (float("inf"), {}, "lr must be a number, got inf"),
            (False, dict(low=0), r"lr must be a non-negative number, got False \(bool\)"),
            (1.0, dict(low=0, high=1, high_open=True), r"lr must be a number in \[0, 1\), got 1.0"),
            (0.0, dict(low=0, high=1, low_open=True), r"lr must be a number in \(0, 1\], got 0.0"),
            (5.0, dict(high=2), "lr must be a number <= 2, got 5.0"),
            (5.0, dict(high=2, high_open=True), "lr must be a number < 2, got 5.0"),
            (-1.0, dict(low=-0.5, low_open=True), r"lr must be a number > -0.5, got -1.0")):
        with pytest.raises(InputError, match=message):
            check_float(value, "lr", **kwargs)


def test_check_choice_bool_and_strings():
    assert check_choice("cg", "solver", ("cg", "cholesky")) == "cg"
    with pytest.raises(InputError, match="unknown solver 'lu'; choose one of cg, cholesky"):
        check_choice("lu", "solver", ("cg", "cholesky"))
    with pytest.raises(InputError, match="unknown projection method 3; choose one of pca"):
        check_choice(3, "method", ("pca",), what="projection method")
    assert check_bool(np.bool_(False), "flag") is False
    with pytest.raises(InputError, match=r"flag must be True or False, got 1 \(int\)"):
        check_bool(1, "flag")
    assert check_strings(("a", "b"), "words") == ["a", "b"] and check_strings([], "w", empty=True) == []
    assert check_strings({"only"}, "words") == ["only"]
    for value, message in (("abc", "words must be a list of strings, got str 'abc'"),
                           (b"ab", "words must be a list of strings, got bytes"),
                           (5, "words must be a list of strings, got int"),
                           (["a", None], "words must be a list of strings; it holds NoneType None"),
                           ([], "words is empty; give at least one")):
        with pytest.raises(InputError, match=message):
            check_strings(value, "words")


@pytest.mark.parametrize("params, message", [
    (dict(dim=True), r"dim must be a positive integer, got True \(bool\)"),
    (dict(dim=8.0), r"dim must be a positive integer, got 8.0 \(float\)"),
    (dict(alpha=0), r"alpha must be a number in \(0, 1\], got 0.0; it smooths the context distribution"),
    (dict(alpha=float("nan")), r"alpha must be a number in \(0, 1\], got nan"),
    (dict(alpha="0.75"), r"got '0.75' \(str\)"),
    (dict(min_count=1.5), r"min_count must be a positive integer, got 1.5 \(float\)"),
    (dict(seed=-3), "seed must be a non-negative integer, got -3"),
    (dict(kind="rows"), "unknown kind 'rows'; choose one of auto, pairs, baskets"),
])
def test_entity_embedding_parameters_are_checked_before_reading_data(params, message):
    def interactions():
        pytest.fail("the data was read before the parameters were checked")
        yield

    with pytest.raises(InputError, match=message):
        EntityEmbedding(**params).fit(interactions())
