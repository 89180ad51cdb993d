"""Encoders: the Encoder contract, the registry of named encoders and the built-in ones."""

from .base import ROLES, Encoded, Encoder, TruncationReport, TruncationWarning, truncation_report
from .registry import DEFAULT_ENCODER, EncoderSpec, available, encoder, register, spec

__all__ = ["Encoder", "Encoded", "EncoderSpec", "TruncationWarning", "TruncationReport", "truncation_report", "DEFAULT_ENCODER", "ROLES", "available",
           "encoder", "register", "spec"]
