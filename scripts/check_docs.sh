#!/usr/bin/env bash
# The docstrings of the public API of the five nouns (Encoder, Vectors, Index, Collection, Trainer): numpy style,
# checked two ways — ruff's pydocstyle rules with the numpy convention (form: summary line, sections, underlines)
# and numpydoc's own validator (content: every parameter documented by name and type, a Returns section where a
# value is returned, known sections in order). Configuration: [tool.numpydoc_validation] in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
files=(
  src/embedlab/vectors.py src/embedlab/keyedvectors.py src/embedlab/keyedvectors_edits.py src/embedlab/io/__init__.py
  src/embedlab/encoders/{__init__,base,registry,adapted,audio,categorical,clip,conse,contextual,e5,image}.py
  src/embedlab/encoders/{joint,languages,lookup,media,mlm,onnx_text,sbert,st_names,use,word_average}.py
  src/embedlab/index/{__init__,base,exact,hnsw,ivf,compressed,coded,faiss_codes,idmap,codec,kernels}.py
  src/embedlab/index/{quantize,rescore,recall,plan,tune}.py
  src/embedlab/store/collection.py src/embedlab/store/writes.py src/embedlab/store/backend.py src/embedlab/store/chroma.py
  src/embedlab/train/base.py src/embedlab/train/word2vec.py src/embedlab/train/subword.py src/embedlab/train/glove.py
  src/embedlab/train/textbook.py src/embedlab/train/bpe.py src/embedlab/train/entity.py
  src/embedlab/train/factorization.py src/embedlab/train/mlm.py src/embedlab/train/clip.py
  src/embedlab/train/finetuning/run.py
  src/embedlab/integrations/{langchain,llamaindex}.py
  src/embedlab/analysis/{layout,neighbourhood,clusters}.py
)
# D401 (imperative mood) is left out: summaries here may be noun phrases ("The k best rows ..."); D105 too (magic
# methods document themselves by their protocol). DOC501: an exception the body raises is named under Raises.
status=0
.venv/bin/ruff check --preview --select D,DOC501 --ignore D105,D401 --config 'lint.pydocstyle.convention = "numpy"' \
  "${files[@]}" || status=1
"$PY" -m numpydoc lint "${files[@]}" || status=1
[ "$status" = 0 ] || { echo "docstrings: see the messages above (numpy convention; CONTRIBUTING.md)" >&2; exit 1; }
echo "docstrings: ${#files[@]} files checked, clean"
