"""The prompt-injection and jailbreak guard: heuristics, decoders and the bundled classifier."""

from __future__ import annotations

from typing import Any

from bastion.guards.base import Action, Guard, ScanContext, Verdict
from bastion.guards.injection.classifier import InjectionClassifier, bundled_classifier
from bastion.guards.injection.decoders import DECODERS
from bastion.guards.injection.heuristics import prefilter as heuristics_prefilter
from bastion.guards.injection.heuristics import scan_heuristics
from bastion.guards.normalize import normalize_text
from bastion.privacy.detect.span import Span

STRONG = 0.8
# Whole-text rewrites are cheap to produce for any text, so only the patterns judge them;
# the classifier also scores genuinely decoded payloads.
_REWRITES = frozenset({"rot13", "leetspeak", "homoglyph"})
MAX_DECODED = 12


class PromptInjectionGuard(Guard):
    """Detect prompt injection and jailbreaks, also inside encoded or obfuscated payloads.

    The score is the highest of: strong pattern weights, the classifier's
    probability, and weak pattern weights reinforced by the classifier.  Text
    scoring at or above ``threshold`` (default: the classifier's calibrated
    threshold from its training metrics) triggers the configured action.
    """

    kind = "prompt-injection"
    default_action = Action.BLOCK

    def __init__(
        self,
        *,
        threshold: float | None = None,
        use_classifier: bool = True,
        max_decode_depth: int = 2,
        classifier: InjectionClassifier | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if max_decode_depth < 0 or max_decode_depth > 4:
            raise ValueError("max_decode_depth must be between 0 and 4")
        self.classifier = classifier or (bundled_classifier() if use_classifier else None)
        default = self.classifier.threshold if self.classifier else STRONG
        self.threshold = threshold if threshold is not None else default
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.max_decode_depth = max_decode_depth
        heuristics_prefilter()  # compiled when the chain is built, not on the first request

    def _score(self, text: str, *, classify: bool) -> tuple[float, list[str], list[Span]]:
        hits = scan_heuristics(text)
        probability = self.classifier.probability(text) if classify and self.classifier else 0.0
        score = probability
        reasons: list[str] = []
        spans: list[Span] = []
        for hit in hits:
            effective = hit.weight if hit.weight >= STRONG else min(1.0, hit.weight + probability)
            if effective >= self.threshold:
                reasons.append(f"injection:{hit.family}")
                spans.append(Span(hit.start, hit.end, f"INJECTION:{hit.family}", hit.weight))
            score = max(score, effective)
        if probability >= self.threshold:
            reasons.append("injection:classifier")
        return score, reasons, spans

    def scan(self, text: str, context: ScanContext) -> Verdict:
        base = normalize_text(text)
        score, reasons, spans = self._score(base, classify=True)
        scores = {"injection": score}
        decoded_best = 0.0
        frontier: list[tuple[str, str]] = [("", base)]
        tag_source = text  # tag characters are stripped by normalisation, decode the original
        budget = MAX_DECODED
        seen = {base}
        for _depth in range(self.max_decode_depth):
            next_frontier: list[tuple[str, str]] = []
            for via, candidate_source in frontier:
                for name, decoder in DECODERS:
                    source = tag_source if name == "invisible-tags" else candidate_source
                    for decoded in decoder(source):
                        if budget <= 0:
                            break
                        budget -= 1
                        plain = normalize_text(decoded)
                        if plain in seen:
                            continue
                        seen.add(plain)
                        inner, inner_reasons, _ = self._score(plain, classify=name not in _REWRITES)
                        if inner_reasons:
                            label = f"{via}+{name}" if via else name
                            reasons.append(f"injection:encoded-{label}")
                            reasons.extend(inner_reasons)
                            decoded_best = max(decoded_best, inner)
                        next_frontier.append((f"{via}+{name}" if via else name, plain))
            frontier = next_frontier
            tag_source = ""
            if not frontier or budget <= 0:
                break
        if decoded_best:
            scores["decoded"] = decoded_best
        if not reasons:
            return self.allow(scores=scores)
        return self.found(
            reasons, scores={**scores, "injection": max(score, decoded_best)}, spans=tuple(spans)
        )
