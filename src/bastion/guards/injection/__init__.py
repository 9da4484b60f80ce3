"""Prompt-injection and jailbreak detection."""

from bastion.guards.injection.classifier import (
    InjectionClassifier,
    bundled_classifier,
    load_pipeline,
)
from bastion.guards.injection.guard import PromptInjectionGuard

__all__ = ["InjectionClassifier", "PromptInjectionGuard", "bundled_classifier", "load_pipeline"]
