"""Encoders: the Encoder contract, the registry of named encoders and the built-in ones."""

from .base import Encoder, TruncationWarning
from .registry import DEFAULT_ENCODER, EncoderSpec, available, encoder, register, spec

__all__ = ["Encoder", "EncoderSpec", "TruncationWarning", "DEFAULT_ENCODER", "available", "encoder",
           "register", "spec"]
