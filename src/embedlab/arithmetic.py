"""Vector arithmetic expressions: one parser for the whole library (API, CLI, server).

    >>> parse_expression("king - man + woman")
    (['king', 'woman'], ['man'])

Terms are separated by ``+`` or ``-``; the first term is positive unless it starts with ``-``. Whitespace is
optional around operators. Keys that contain spaces, ``+`` or ``-`` go in double quotes:
``"new york" - usa + uk`` or ``"e-mail" + letter``; unquoted, ``a-b`` means ``a - b`` unless a ``vocab``
is given and contains ``a-b``. Single quotes are
ordinary characters (GloVe has keys such as ``'s``).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Literal

from .errors import InputError

#: The analogy methods: 3CosAdd (Mikolov et al. 2013) and 3CosMul (Levy & Goldberg 2014).
Method = Literal["3cosadd", "3cosmul"]
METHODS = ("3cosadd", "3cosmul")

__all__ = ["METHODS", "Method", "format_expression", "parse_expression"]

_OPS = "+-"


def _tokens(expr: str, vocab: Container[str] | None = None) -> list[tuple[str, str]]:
    """Split into ("op", "+"/"-") and ("term", text) tokens; quotes keep text together.

    With ``vocab``, an unquoted run without spaces that is itself a key (``e-mail``) stays one term.
    """
    out: list[tuple[str, str]] = []
    i, n = 0, len(expr)
    while i < n:
        ch = expr[i]
        if ch.isspace():
            i += 1
        elif ch in _OPS:
            out.append(("op", ch))
            i += 1
        elif ch == '"':
            end = expr.find(ch, i + 1)
            if end < 0:
                raise InputError(f"unclosed quote {ch} at position {i + 1} in expression {expr!r}")
            term = expr[i + 1 : end].strip()
            if not term:
                raise InputError(f"empty quoted key at position {i + 1} in expression {expr!r}")
            out.append(("term", term))
            i = end + 1
        else:
            if vocab is not None:
                k = i
                while k < n and not expr[k].isspace() and expr[k] != '"':
                    k += 1
                run = expr[i:k]
                cuts = [c for c in range(len(run), 0, -1) if c == len(run) or run[c] in _OPS]
                hit = next((run[:c] for c in cuts if any(o in run[:c] for o in _OPS) and run[:c] in vocab), None)
                if hit:  # the longest prefix that contains an operator and is a key
                    out.append(("term", hit))
                    i += len(hit)
                    continue
            j = i
            while j < n and not expr[j].isspace() and expr[j] not in _OPS and expr[j] != '"':
                j += 1
            out.append(("term", expr[i:j]))
            i = j
    return out


def parse_expression(expr: str, vocab: Container[str] | None = None) -> tuple[list[str], list[str]]:
    """Parse ``"king - man + woman"`` into ``(positive, negative)`` key lists.

    ``vocab`` (any container of keys, optional) keeps hyphenated keys such as ``e-mail`` whole when unquoted.

    Raises InputError for an empty expression, two terms without an operator, a dangling operator, or an
    expression with no positive term.
    """
    if not isinstance(expr, str):
        raise InputError(f"an expression must be a string like 'king - man + woman', got {type(expr).__name__}")
    tokens = _tokens(expr, vocab)
    if not tokens:
        raise InputError("empty expression; write something like 'king - man + woman'")
    positive: list[str] = []
    negative: list[str] = []
    sign = "+"
    pending_op = False  # the previous token was an operator
    have_term = False  # the previous token was a term
    for kind, text in tokens:
        if kind == "op":
            if pending_op:
                raise InputError(f"two operators in a row near {text!r} in expression {expr!r}; put a key between them")
            sign, pending_op, have_term = text, True, False
        else:
            if have_term:
                raise InputError(
                    f"missing operator before {text!r} in expression {expr!r}; separate keys with + or - "
                    "(quote keys that contain spaces)"
                )
            (positive if sign == "+" else negative).append(text)
            sign, pending_op, have_term = "+", False, True
    if pending_op:
        raise InputError(f"expression {expr!r} ends with an operator; add a key after it")
    if not positive:
        raise InputError(f"expression {expr!r} has no positive term; start with a key, e.g. 'king - man + woman'")
    return positive, negative


def format_expression(positive: Sequence[str], negative: Sequence[str] = ()) -> str:
    """The canonical text of an expression (quotes keys that would not parse back alone)."""

    def q(k: str) -> str:
        return f'"{k}"' if any(c.isspace() or c in '+-"' for c in k) else k

    parts = [q(positive[0])] if positive else []
    parts += [f"+ {q(k)}" for k in positive[1:]]
    parts += [f"- {q(k)}" for k in negative]
    return " ".join(parts)
