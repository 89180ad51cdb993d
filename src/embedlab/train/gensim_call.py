"""gensim's constructor call on embedlab's trainers: ``Word2Vec(sentences, vector_size=100, sg=1)`` trains at once.

gensim's ``Word2Vec`` and ``FastText`` take the corpus first (or as ``sentences=`` / ``corpus_file=``) and train
in the constructor; ``gensim_call`` wraps a trainer's ``__init__`` so that the same call stores the parameters
and then calls ``fit`` on that corpus. A first positional argument that is an integer is still the trainer's own
first parameter (``dim``). ``sg`` (gensim's architecture switch) is translated by the trainer's own function.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["gensim_call"]


def gensim_call(init: Callable[..., None], sg: Callable[[Any, dict[str, Any]], None]) -> Callable[..., None]:
    """Wrap a trainer's ``__init__`` to take gensim's call: the corpus first (or ``sentences=`` / ``corpus_file=``).

    Parameters
    ----------
    init : callable
        The trainer's own ``__init__`` (its signature stays the one ``get_params`` reads).
    sg : callable
        ``sg(value, kwargs)``: puts what gensim's ``sg=value`` means into ``kwargs`` (e.g. ``arch``), or raises
        ``InputError`` / ``TypeError`` for a value or combination the trainer cannot take.

    Returns
    -------
    callable
        The wrapped ``__init__``: it stores the parameters, then ``self.fit(corpus)`` when a corpus was given.

    Raises
    ------
    TypeError
        From the wrapped call, for more than one corpus (positional, ``sentences=``, ``corpus_file=``).
    """

    @functools.wraps(init)  # the signature (what param_names reads) stays the constructor's own
    def _wrapped(self: Any, *args: Any, **kw: Any) -> None:
        corpora = [c for c in (kw.pop(k, None) for k in ("sentences", "corpus_file")) if c is not None]
        if args and not isinstance(args[0], (int, np.integer)):  # gensim's first parameter: the sentences
            corpora, args = [args[0], *corpora], args[1:]
        if len(corpora) > 1:
            raise TypeError(f"{type(self).__name__} got more than one corpus (sentences and/or corpus_file); pass one")
        if "sg" in kw:
            sg(kw.pop("sg"), kw)
        init(self, *args, **kw)
        if corpora:
            self.fit(corpora[0])

    return _wrapped
