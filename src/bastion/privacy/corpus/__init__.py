"""Labelled synthetic corpora for evaluating detectors (generator + a fixed regression set)."""

from __future__ import annotations

from bastion.privacy.corpus.generator import Document, generate, write_jsonl

__all__ = ["Document", "generate", "write_jsonl"]
