"""Prometheus metrics (prometheus-client's process-wide registry, served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PAPERS_FETCHED = Counter(
    "newsletter_papers_fetched", "Papers stored by fetches, by source and outcome",
    ["source", "outcome"],
)  # fmt: skip
DIGESTS_QUEUED = Counter("newsletter_digests_queued", "Digests queued for sending")
MAILS = Counter("newsletter_mails", "Outcomes of delivery attempts", ["outcome"])
SEND_SECONDS = Histogram(
    "newsletter_send_seconds", "Time from MAIL FROM to the server's final reply",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)  # fmt: skip
