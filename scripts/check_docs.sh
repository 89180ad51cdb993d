#!/usr/bin/env bash
# The docstrings of the public API of the five nouns (Encoder, Vectors, Index, Collection, Trainer): numpy style,
# checked two ways — ruff's pydocstyle rules with the numpy convention (form: summary line, sections, underlines)
# and numpydoc's own validator (content: every parameter documented by name and type, a Returns section where a
# value is returned, known sections in order). Configuration: [tool.numpydoc_validation] in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
files=(
  src/embedlab/vectors.py src/embedlab/io/__init__.py
  src/embedlab/encoders/base.py src/embedlab/encoders/registry.py
  src/embedlab/index/__init__.py src/embedlab/index/base.py
  src/embedlab/store/collection.py src/embedlab/store/backend.py
  src/embedlab/train/base.py src/embedlab/train/word2vec.py src/embedlab/train/subword.py src/embedlab/train/glove.py
  src/embedlab/train/textbook.py src/embedlab/train/bpe.py src/embedlab/train/entity.py
  src/embedlab/train/factorization.py src/embedlab/train/mlm.py src/embedlab/train/clip.py
  src/embedlab/train/finetuning/run.py
)
# D401 (imperative mood) is left out: summaries here may be noun phrases ("The k best rows ..."); D105 too (magic
# methods document themselves by their protocol). DOC501: an exception the body raises is named under Raises.
.venv/bin/ruff check --preview --select D,DOC501 --ignore D105,D401 --config 'lint.pydocstyle.convention = "numpy"' \
  "${files[@]}"
"$PY" -m numpydoc lint "${files[@]}"
