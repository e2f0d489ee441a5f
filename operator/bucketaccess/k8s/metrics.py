"""Prometheus metrics on ``/metrics`` (``--metrics-port``), and the AWS call hook behind them.

bucketaccess_objects{ready}                         BucketAccess objects by Ready status
bucketaccess_verify_duration_seconds                one pass: verify, reconcile, status
bucketaccess_aws_calls_total{service,operation,outcome}
bucketaccess_aws_writes_total{operation}
bucketaccess_cache_hits_total, _misses_total, _coalesced_total
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ..aws.cache import CacheStats
from .scheduler import SchedulerStats

WRITE_OPERATIONS = frozenset(
    {"PutBucketPolicy", "DeleteBucketPolicy", "PutKeyPolicy", "CreateGrant", "RevokeGrant", "RetireGrant"}
)


class _State(Collector):
    def __init__(self) -> None:
        self.ready: dict[str, str] = {}  # uid -> Ready status
        self.cache: CacheStats | None = None
        self.scheduler: SchedulerStats | None = None
        self.lock = threading.Lock()

    def collect(self) -> Iterator[Any]:
        objects = GaugeMetricFamily(
            "bucketaccess_objects", "BucketAccess objects by Ready status", labels=["ready"]
        )
        with self.lock:
            counts = {s: 0 for s in ("True", "False", "Unknown")}
            for status in self.ready.values():
                counts[status] = counts.get(status, 0) + 1
        for status, n in counts.items():
            objects.add_metric([status], n)
        yield objects
        if self.scheduler is not None:
            sched = self.scheduler
            yield GaugeMetricFamily(
                "bucketaccess_scheduled_objects", "objects waiting for their next pass", value=sched.waiting
            )
            yield GaugeMetricFamily(
                "bucketaccess_passes_in_flight", "passes and cleanups running now", value=sched.in_flight
            )
            yield CounterMetricFamily(
                "bucketaccess_scheduled_runs", "passes and cleanups run", value=sched.runs
            )
            yield CounterMetricFamily(
                "bucketaccess_scheduled_failures", "passes and cleanups that raised", value=sched.failures
            )
        if self.cache is not None:
            for name, value in (
                ("hits", self.cache.hits),
                ("misses", self.cache.misses),
                ("coalesced", self.cache.coalesced),
            ):
                yield CounterMetricFamily(
                    f"bucketaccess_cache_{name}", f"shared AWS read cache {name}", value=value
                )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.state = _State()
        self.registry.register(self.state)
        self.verify_seconds = Histogram(
            "bucketaccess_verify_duration_seconds",
            "one pass over one BucketAccess",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.aws_calls = Counter(
            "bucketaccess_aws_calls",
            "AWS API calls",
            ["service", "operation", "outcome"],
            registry=self.registry,
        )
        self.aws_writes = Counter(
            "bucketaccess_aws_writes", "AWS writes", ["operation"], registry=self.registry
        )

    def serve(self, port: int) -> None:
        start_http_server(port, registry=self.registry)

    def set_ready(self, uid: str, status: str | None) -> None:
        with self.state.lock:
            if status is None:
                self.state.ready.pop(uid, None)
            else:
                self.state.ready[uid] = status

    def hook(self, client: Any) -> None:
        """Register on a boto3 client: count every call and its outcome."""
        service = client.meta.service_model.service_name

        def after(model: Any, http_response: Any = None, parsed: Any = None, **_: Any) -> None:
            code = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, dict) else None
            self.aws_calls.labels(service, model.name, code or "ok").inc()
            if model.name in WRITE_OPERATIONS and not code:
                self.aws_writes.labels(model.name).inc()

        client.meta.events.register("after-call.*.*", after)
