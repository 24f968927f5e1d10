"""Prometheus metrics (prometheus-client), served at ``GET /metrics``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOKS_RECEIVED = Counter(
    "countersign_webhooks_received_total",
    "Webhook deliveries received, by event and outcome (accepted, duplicate, rejected).",
    ["event", "outcome"],
    registry=REGISTRY,
)
DELIVERIES_PROCESSED = Counter(
    "countersign_deliveries_processed_total",
    "Stored deliveries processed by the worker, by event and result (done, retry, dead).",
    ["event", "result"],
    registry=REGISTRY,
)
DELIVERY_SECONDS = Histogram(
    "countersign_delivery_processing_seconds",
    "Time to process one stored delivery.",
    ["event"],
    registry=REGISTRY,
)
INBOX_PENDING = Gauge(
    "countersign_inbox_pending", "Deliveries stored and not yet processed.", registry=REGISTRY
)
DECISIONS = Counter(
    "countersign_decisions_total",
    "Check run decisions published, by state.",
    ["state"],
    registry=REGISTRY,
)
LEDGER_APPENDS = Counter(
    "countersign_ledger_entries_total",
    "Ledger entries appended, by kind.",
    ["kind"],
    registry=REGISTRY,
)
