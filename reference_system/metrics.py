"""The Character Service's Prometheus metrics, named as the migration guide and its alert rules name them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, backend: str) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "character_service_requests", "API requests handled", ["method", "route", "status"], registry=r
        )
        self.errors = Counter(
            "character_service_errors",
            "API requests answered with a server error (5xx)",
            ["method", "route", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "character_service_request_duration_seconds",
            "API request latency in seconds",
            ["method", "route"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0),
        )
        self.cache_hits = Counter("character_service_cache_hits", "Storage read cache hits", registry=r)
        self.cache_misses = Counter("character_service_cache_misses", "Storage read cache misses", registry=r)
        self.storage_retries = Counter("character_service_storage_retries", "Storage client retries", registry=r)
        self.breaker_state = Gauge(
            "character_service_storage_circuit_state",
            "Storage client circuit breaker: 0 closed, 1 half-open, 2 open",
            registry=r,
        )
        info = Gauge("character_service_backend_info", "The active persistence backend", ["backend"], registry=r)
        info.labels(backend=backend).set(1)

    def set_breaker(self, state: str) -> None:
        self.breaker_state.set(BREAKER_STATES[state])

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        if status >= 500:
            self.errors.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
