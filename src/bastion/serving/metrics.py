"""Prometheus metrics of one gateway app (its own registry, so apps never share counters)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    """Requests, latency histograms and refusals by reason."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # Labelled children by label values: ``labels()`` costs a lock and a tuple
        # build per call; routes are templates, so this stays small.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.requests = Counter(
            "bastion_gateway_requests",
            "Requests handled, by route, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bastion_gateway_request_seconds",
            "Time from first byte received to response sent, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.refusals = Counter(
            "bastion_gateway_refusals",
            "Requests refused, by reason code.",
            ["reason"],
            registry=self.registry,
        )
        self.audit_backlog_errors = Counter(
            "bastion_gateway_audit_submit_errors",
            "Audit events that could not be queued.",
            registry=self.registry,
        )

    def observe(
        self, route: str, method: str, status: int, seconds: float, reasons: list[str]
    ) -> None:
        """Record one finished request."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route),
            )
            if len(self._children) < 4096:
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if status >= 400:
            for reason in reasons or [f"http-{status}"]:
                self.refusals.labels(reason).inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
