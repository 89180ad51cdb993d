"""Build the English benchmark corpus (about 5 million tokens) from three Debian packages, offline.

Sources, in this order: the GCIDE dictionary (``dict-gcide``: entries split at blank lines, with pronunciations
``\\...\\`` and bracketed notes such as ``[1913 Webster]`` removed), the WordNet glosses (``wordnet-base``: the text
after the last ``"| "`` of each line of data.noun, data.verb, data.adj and data.adv) and the King James Bible
(``bible-kjv``: Genesis 1:1 to Revelation 22:21, one verse per line). Each paragraph is lower-cased and reduced to
its words (letters, with an inner apostrophe allowed: ``[a-z]+('[a-z]+)?``); paragraphs of three words or more
become one line of the output, words separated by one space.

Every corpus-based number in BENCHMARKS.md was measured on this file: 399,479 lines, 6,880,391 tokens, SHA-256
528d00ff50406f06639ee3eb7ceb0d81f2fc1df4f9cfe6d5d067515ce04e7b79 with Debian bookworm's packages (printed at the
end, so a rebuilt corpus can be checked against it).

    python benchmarks/make_corpus.py bench-data/corpus.txt            # the packages must be installed
    sudo python benchmarks/make_corpus.py bench-data/corpus.txt --install   # apt-get installs them first (root)
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

GCIDE = Path("/usr/share/dictd/gcide.dict.dz")
WORDNET = Path("/usr/share/wordnet")
PACKAGES = {"dict-gcide": lambda: GCIDE.is_file(),
            "wordnet-base": lambda: (WORDNET / "data.noun").is_file(),
            "bible-kjv": lambda: shutil.which("bible") is not None}

WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
PRONUNCIATION = re.compile(r"\\[^\\\n]*\\")
BRACKETED = re.compile(r"\[[^\]\n]*\]")
BLANK_LINE = re.compile(r"\n\s*\n")


def missing_packages() -> list[str]:
    """The Debian packages whose files are not on this machine."""
    return [name for name, present in PACKAGES.items() if not present()]


def install(packages: list[str]) -> None:
    """``apt-get update`` then install ``packages`` (root only)."""
    if os.geteuid() != 0:
        raise SystemExit(f"make_corpus: --install needs root; run: sudo apt-get install {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env, stdout=subprocess.DEVNULL)


def gcide_paragraphs() -> Iterator[str]:
    with gzip.open(GCIDE, "rt", encoding="utf-8", errors="ignore") as fh:
        text = fh.read()
    text = BRACKETED.sub(" ", PRONUNCIATION.sub(" ", text))
    yield from BLANK_LINE.split(text)


def wordnet_glosses() -> Iterator[str]:
    for part in ("noun", "verb", "adj", "adv"):
        with open(WORDNET / f"data.{part}", encoding="utf-8", errors="ignore") as fh:
            for line in fh:
                head, bar, gloss = line.rpartition("| ")
                if bar:
                    yield gloss


def kjv_verses() -> Iterator[str]:
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], capture_output=True, check=False)
    yield from out.stdout.decode("utf-8", errors="ignore").splitlines()


def build(out: Path) -> tuple[int, int, str]:
    """Write the corpus to ``out`` (through a temporary file renamed into place); returns (lines, tokens, sha256)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    lines = tokens = 0
    digest = hashlib.sha256()
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for source in (gcide_paragraphs(), wordnet_glosses(), kjv_verses()):
            for paragraph in source:
                words = WORD.findall(paragraph.lower())
                if len(words) > 2:
                    line = " ".join(words) + "\n"
                    fh.write(line)
                    digest.update(line.encode("utf-8"))
                    lines += 1
                    tokens += len(words)
    os.replace(tmp, out)
    return lines, tokens, digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the corpus file to write, e.g. bench-data/corpus.txt")
    ap.add_argument("--install", action="store_true", help="apt-get install the missing Debian packages (root)")
    args = ap.parse_args(argv)
    missing = missing_packages()
    if missing and args.install:
        install(missing)
        missing = missing_packages()
    if missing:
        print(f"make_corpus: install the Debian packages {' '.join(missing)} first "
              f"(sudo apt-get install {' '.join(missing)}, or rerun with --install as root)", file=sys.stderr)
        return 1
    lines, tokens, sha = build(args.out)
    print(f"make_corpus: {lines} lines, {tokens} tokens -> {args.out} (sha256 {sha})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
