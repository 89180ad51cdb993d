"""Public word-level benchmarks, found inside the installed gensim package's test data (never imported).

``test_file("questions-words")`` → Google analogy set (19,544 questions, 14 sections);
``test_file("wordsim353")`` → WordSim-353; ``test_file("simlex999")`` → SimLex-999.
"""

from __future__ import annotations

from pathlib import Path

from .._packages import package_dir
from ..errors import InputError, MissingDependencyError

__all__ = ["test_file", "DATASETS"]

DATASETS = {
    "questions-words": "questions-words.txt",
    "google": "questions-words.txt",
    "wordsim353": "wordsim353.tsv",
    "simlex999": "simlex999.txt",
}


def _data_dir() -> Path:
    folder = package_dir("gensim")
    if folder is None:
        raise MissingDependencyError(
            "the analogy/similarity benchmark files ship with gensim's test data; "
            "install them with: pip install 'embedlab[eval]'"
        )
    return folder / "test" / "test_data"


def test_file(name: str) -> Path:
    """Path of a benchmark file by name (``questions-words``, ``wordsim353``, ``simlex999``; extension optional)."""
    stem = name[:-4] if name.endswith((".txt", ".tsv")) else name
    if stem.lower() not in DATASETS:
        raise InputError(f"unknown benchmark {name!r}; choose one of {', '.join(sorted(set(DATASETS)))}")
    path = _data_dir() / DATASETS[stem.lower()]
    if not path.is_file():
        raise MissingDependencyError(
            f"{path} is missing from the installed gensim; reinstall it with: pip install --force-reinstall 'embedlab[eval]'"
        )
    return path


test_file.__dict__["__test__"] = False  # not a pytest test despite the name (pytest reads the attribute)
