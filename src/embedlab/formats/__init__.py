"""Every on-disk kind embedlab reads and writes, one module each, below the layers that use them.

Vectors files: ``word2vec`` (text / binary), ``arrays`` (``.npy`` / ``.safetensors`` + JSON key sidecar),
``projector`` (TensorBoard TSV), with ``detect`` choosing among them. Model folders: ``word2vec_model``,
``fasttext_model``, ``glove_model``, ``cooccurrence`` (their shared shape in ``folder``, the vocabulary file in
``vocab``), ``bpe`` (SentencePiece tokenizer), ``mlm`` (a BERT trained by masked-language modelling), ``joint``
(CLIP-style heads), ``finetuned`` (adapters and full fine-tunes). Each module owns its manifest constants, its
``write`` and its ``read``: trainers write through them and encoders and ``load_vectors`` read through them, so
neither imports the other. Readers return plain data (``KeyedArrays``, dataclasses, arrays), never the
vector-space objects of the layer above; writers accept anything with ``keys`` and ``matrix`` (``Keyed``).
All of them follow ``embedlab.persist``: atomic writes, versioned manifests, headers checked before data is read,
and a ``CorruptFileError`` naming the file and what is wrong.
"""

from __future__ import annotations

from . import arrays, projector, word2vec
from .detect import FORMATS, canonical, detect_format, read_any, read_model_folder, write_any
from .keyed import Keyed, KeyedArrays

__all__ = ["FORMATS", "Keyed", "KeyedArrays", "arrays", "canonical", "detect_format", "projector", "read_any",
           "read_model_folder", "word2vec", "write_any"]
