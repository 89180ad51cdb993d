"""Keyword tokens for BM25 that work for Korean and for Latin-script text, chosen per text.

Korean is agglutinative: ``파일을``, ``파일이``, ``파일에서`` are one noun with different particles, so
whitespace words rarely match. Texts containing Hangul go through Kiwi (``kiwipiepy``) and keep the content
morphemes (nouns, verb and adjective stems, roots, foreign words, numbers); other texts are split into
lower-cased word tokens. Both paths lower-case Latin words the same way, so ``git`` in a Korean message
matches ``git`` in an English one. English stop words are dropped.

Without kiwipiepy (it lives in the ``text`` extra) Hangul runs fall back to overlapping character bigrams,
a standard CJK retrieval trick, with one warning; the tokenizer's ``name`` records which path was used so
a saved index is rebuilt when it changes.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from .._params import check_unicode
from .._progress import working
from .._threads import compute_threads
from ..errors import InputError, MissingDependencyError

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
_C = r"[^\W_\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]"  # a letter or digit that is not Hangul
_WORD = re.compile(rf"{_C}+(?:[_'’]{_C}+)*")
#: Kiwi part-of-speech tags whose morphemes carry meaning (particles, endings, affixes, punctuation are dropped).
#: Kiwi part-of-speech tags whose morphemes carry meaning (particles, endings, affixes, punctuation are dropped).
#: Latin words, numbers, Hanja, URLs are not taken from Kiwi, which splits ``max_connections`` into three: the
#: same regular expression as for non-Korean texts reads them, so they match across languages.
KIWI_KEEP = frozenset({"NNG", "NNP", "NR", "NP", "VV", "VA", "XR", "MAG"})
_STOPWORDS_EN = frozenset("""a an and are as at be but by for if in into is it no not of on or such that the their then
there these they this to was will with from has have had were been being do does did its it's i you he she we
him her his our your my me us them what which who whom when where why how all any both each few more most other
some own same so than too very can just should now""".split())

_kiwi: Any = None  # kiwipiepy.Kiwi once loaded (kiwipiepy ships no type information)
_kiwi_lock = threading.Lock()
_warned = False


def has_hangul(text: str) -> bool:
    """True when ``text`` contains Korean letters."""
    return _HANGUL.search(text) is not None


def kiwi_available() -> bool:
    """True when kiwipiepy (and its model) can be imported."""
    try:
        import kiwipiepy  # noqa: F401
    except ImportError:
        return False
    return True


#: The first Korean text a process tokenizes loads Kiwi's dictionaries and language model: about 2-3 s on an
#: idle machine, 5-15 s on a busy one (the CLI pays it in every ``search --mode keyword/hybrid`` on Korean text).
#: Kiwi's built-in multi-word proper-noun (WikiData) and typo-variant dictionaries are not loaded: they doubled
#: that time, and BM25 wants ``뉴욕`` and ``양키스`` as tokens of their own rather than one multi-word token.
KIWI_OPTIONS: dict[str, Any] = {"load_multi_dict": False, "load_typo_dict": False}


def _get_kiwi() -> Any:
    """The shared Kiwi analyser, created and warmed on first use under a one-line message (see ``KIWI_OPTIONS``)."""
    global _kiwi
    if _kiwi is None:
        with _kiwi_lock:
            if _kiwi is None:
                with working("loading the Korean tokenizer (Kiwi; once per process, a few seconds)"):
                    from kiwipiepy import Kiwi

                    kiwi = Kiwi(num_workers=compute_threads(), **KIWI_OPTIONS)
                    kiwi.tokenize("가")  # the language model loads on the first analysis: here, under the message
                _kiwi = kiwi
    return _kiwi


def latin_tokens(text: str, stopwords: frozenset[str] = _STOPWORDS_EN) -> list[str]:
    """Lower-cased word tokens (letters and digits; ``max_connections`` and ``don't`` stay whole)."""
    return [w for w in _WORD.findall(text.lower()) if w not in stopwords]


def bigram_tokens(text: str) -> list[str]:
    """The Kiwi-free fallback: Hangul runs as overlapping character bigrams, other words as ``latin_tokens``."""
    out: list[str] = []
    for run in _HANGUL_RUN.findall(text):
        out.extend([run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)])
    return out + latin_tokens(text)


class Tokenizer:
    """Text → BM25 tokens; Kiwi morphemes for texts with Hangul, lower-cased words otherwise.

    ``use_kiwi=None`` uses Kiwi when it is installed and falls back to bigrams (one warning) when not;
    ``True`` requires it, ``False`` never uses it. ``name`` identifies the token scheme in saved indexes.
    """

    def __init__(self, use_kiwi: bool | None = None) -> None:
        self._warn = False  # warn about the fallback only when Kiwi was wanted but is missing
        if use_kiwi is None:
            use_kiwi = kiwi_available()
            self._warn = not use_kiwi
        elif use_kiwi and not kiwi_available():
            raise MissingDependencyError("Korean morphemes need kiwipiepy: pip install 'embedlab[text]' "
                                         "(or pass use_kiwi=False for character bigrams)")
        self.use_kiwi = bool(use_kiwi)
        self.name = "kiwi-morphemes+words-v3" if self.use_kiwi else "hangul-bigrams+words-v2"

    def __repr__(self) -> str:
        return f"Tokenizer({self.name!r})"

    def __call__(self, text: str) -> list[str]:
        return self.tokenize_many([text])[0]

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        """Tokens of each text; the Korean ones go through Kiwi in one batch."""
        out: list[list[str]] = [[] for _ in texts]  # every position is filled below
        korean = []
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputError(f"text at position {i} is {type(t).__name__}; keyword search needs strings")
            check_unicode(t, f"text at position {i}")  # a lone surrogate would reach Kiwi's C++ otherwise
            if has_hangul(t):
                korean.append(i)
            else:
                out[i] = latin_tokens(t)
        if korean:
            if self.use_kiwi:
                kiwi = _get_kiwi()
                for i, toks in zip(korean, kiwi.tokenize([texts[i] for i in korean]), strict=True):
                    out[i] = _morphemes(toks) + latin_tokens(texts[i])
            else:
                if self._warn:
                    _warn_bigrams()
                for i in korean:
                    out[i] = bigram_tokens(texts[i])
        return out


def _morphemes(tokens: Iterable[Any]) -> list[str]:
    return [t.form for t in tokens if t.tag in KIWI_KEEP]


def _warn_bigrams() -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn("kiwipiepy is not installed: Korean keyword search uses character bigrams, which match less "
                      "precisely; pip install 'embedlab[text]' for Korean morphemes", stacklevel=3)
