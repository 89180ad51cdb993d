"""The languages an encoder reads, and the warning when it is given text in a script it was not trained on.

An encoder declares ``languages`` (ISO 639-1 codes, e.g. ``("en",)``) when its model reads only those; None
(the default) means many or unknown (a user's own model folder), and is never warned about. ``Encoder.encode``
checks each call's texts against the declaration: Korean (Hangul), Japanese (kana) or Chinese characters given to
an encoder that does not read that language give one ``LanguageWarning`` per call, naming a multilingual encoder.
An English model embeds such text as unknown or sub-character tokens, so its vectors say little about its meaning.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

from ..errors import LanguageWarning, caller_level

__all__ = ["MULTILINGUAL", "unread_scripts", "warn_unread"]

#: The multilingual encoders a warning suggests (both read Korean, Japanese and Chinese).
MULTILINGUAL = ("use-multilingual", "e5-small-multilingual")

# (script, its characters, the languages written in it): a text holding the characters needs one of the languages
_SCRIPTS = (
    ("Korean", re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]"), ("ko",)),
    ("Japanese", re.compile("[\u3040-\u30ff]"), ("ja",)),
    ("Chinese", re.compile("[\u3400-\u4dbf\u4e00-\u9fff]"), ("zh", "ja", "ko")),
)
# any character of the scripts above: one search per text finds the (usual) texts that hold none
_ANY = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3]")


def unread_scripts(languages: tuple[str, ...] | None, items: Sequence[Any]) -> tuple[int, list[str]]:
    """How many texts hold characters of a script none of ``languages`` is written in, and which scripts.

    Parameters
    ----------
    languages : tuple of str or None
        The encoder's declared languages; None: no check (returns ``(0, [])``).
    items : sequence
        The call's items; only strings are looked at.

    Returns
    -------
    tuple of (int, list of str)
        The number of such texts, and the scripts found (``"Korean"``, ``"Japanese"``, ``"Chinese"``), in that
        order.
    """
    if languages is None:
        return 0, []
    unread = [(script, chars) for script, chars, langs in _SCRIPTS if not set(langs) & set(languages)]
    if not unread:
        return 0, []
    count, found = 0, set()
    for item in items:
        if isinstance(item, str) and _ANY.search(item):
            hits = [script for script, chars in unread if chars.search(item)]
            count += bool(hits)
            found.update(hits)
    return count, [script for script, _ in unread if script in found]


def warn_unread(name: str, languages: tuple[str, ...] | None, items: Sequence[Any]) -> None:
    """Issue one ``LanguageWarning`` when some of ``items`` are in a language the encoder does not read.

    Parameters
    ----------
    name : str
        The encoder's name, for the message.
    languages : tuple of str or None
        Its declared languages (None: nothing is checked).
    items : sequence
        The call's validated items.

    Warns
    -----
    LanguageWarning
        Pointing at the first caller outside embedlab.
    """
    count, scripts = unread_scripts(languages, items)
    if count:
        langs = ", ".join(languages or ())
        warnings.warn(LanguageWarning(
            f"{name} reads only {langs}: {count} of {len(items)} text(s) hold {'/'.join(scripts)} characters, which "
            f"it embeds as unknown pieces (their vectors say little); use a multilingual encoder such as "
            f"{MULTILINGUAL[0]!r} or {MULTILINGUAL[1]!r}", encoder=name, count=count, total=len(items),
            languages=tuple(languages or ())), stacklevel=caller_level())
