"""Prometheus metrics on ``/metrics`` (``--metrics-port``), and the AWS call hook behind them.

bucketaccess_objects{ready}                         BucketAccess objects by Ready status
bucketaccess_not_ready_seconds{reason}              the longest any object has been not Ready, by reason
bucketaccess_verification_staleness_intervals       the most verify intervals any object has gone without a pass
bucketaccess_verify_duration_seconds                one pass: verify, reconcile, status
bucketaccess_aws_calls_total{service,operation,outcome}
bucketaccess_aws_writes_total{operation}
bucketaccess_kube_writes_total{verb}                writes to the Kubernetes API (status, finalizers, Events, record)
bucketaccess_leader                                 1 while this replica holds the lease (always 1 without election)
bucketaccess_leader_acquisitions_total              times this replica acquired the lease
bucketaccess_fenced_writes_total{target}            writes not made because the lease was not held
bucketaccess_standby_skips_total                    passes not run because the lease was not held
bucketaccess_cache_hits_total, _misses_total, _coalesced_total
bucketaccess_verify_now_requests_total{namespace}   "verify now" requests (new values of s3access.dev/verify)
bucketaccess_verify_now_coalesced_total{namespace}  requests folded into a fresh pass already waiting
bucketaccess_verify_now_deferred_total{namespace}   fresh passes pushed back by the namespace's budget
bucketaccess_verify_now_pending                     objects whose fresh pass waits for its time
   (AWS change events: the series of :mod:`.event_metrics`)

The namespace label is bounded: its values are namespaces that hold BucketAccess objects, which
only cluster administrators create (a tenant acts in its own), and a namespace's series go when
it is deleted. Fresh passes run = requests - coalesced.

The per-object gauges are reported by the leader only: a standby verifies nothing, so it reports
no object (and no staleness).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ..aws.attempts import WRITE_OPERATIONS
from ..aws.cache import CacheStats
from ..vocabulary import ConditionStatus
from .event_metrics import EventMetrics
from .scheduler import SchedulerStats
from .verify_now import VerifyNowStats


class _State(Collector):
    def __init__(self) -> None:
        self.ready: dict[str, str] = {}  # uid -> Ready status
        self.not_ready: dict[str, tuple[str, float]] = {}  # uid -> (reason, since: epoch seconds)
        self.last_pass: dict[str, tuple[float, float]] = {}  # uid -> (monotonic time, its interval)
        self.leading: Callable[[], bool] = lambda: True
        self.cache: CacheStats | None = None
        self.scheduler: SchedulerStats | None = None
        self.verify_now: VerifyNowStats | None = None
        self.lock = threading.Lock()

    def collect(self) -> Iterator[Any]:
        objects = GaugeMetricFamily(
            "bucketaccess_objects", "BucketAccess objects by Ready status", labels=["ready"]
        )
        with self.lock:
            counts = {str(s): 0 for s in ConditionStatus}
            for status in self.ready.values():
                counts[status] = counts.get(status, 0) + 1
            longest: dict[str, float] = {}
            wall = time.time()
            for reason, since in self.not_ready.values():
                longest[reason] = max(longest.get(reason, 0.0), wall - since)
            now = time.monotonic()
            stale = max(((now - t) / interval for t, interval in self.last_pass.values()), default=0.0)
        for status, n in counts.items():
            objects.add_metric([status], n)
        yield objects
        not_ready = GaugeMetricFamily(
            "bucketaccess_not_ready_seconds",
            "the longest time any object has been not Ready, by the reason of its Ready condition",
            labels=["reason"],
        )
        for reason, seconds in sorted(longest.items()):
            not_ready.add_metric([reason], round(seconds, 3))
        yield not_ready
        yield GaugeMetricFamily(
            "bucketaccess_verification_staleness_intervals",
            "the most verify intervals any object has gone without a completed pass",
            value=round(stale, 3),
        )
        yield GaugeMetricFamily(
            "bucketaccess_leader", "1 while this replica holds the lease", value=1 if self.leading() else 0
        )
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
        if self.verify_now is not None:
            yield from _verify_now_metrics(self.verify_now)


def _verify_now_metrics(stats: VerifyNowStats) -> Iterator[Any]:
    for name, counts, meaning in (
        ("requests", stats.requests, '"verify now" requests (new values of s3access.dev/verify)'),
        ("coalesced", stats.coalesced, "verify-now requests folded into a fresh pass already waiting"),
        ("deferred", stats.deferred, "verify-now fresh passes pushed back by the namespace's budget"),
    ):
        family = CounterMetricFamily(f"bucketaccess_verify_now_{name}", meaning, labels=["namespace"])
        # a copy: the event loop may add a namespace while this runs on the HTTP server's thread
        for namespace, n in sorted(dict(counts).items()):
            family.add_metric([namespace], n)
        yield family
    yield GaugeMetricFamily(
        "bucketaccess_verify_now_pending",
        "objects whose verify-now fresh pass waits for its time",
        value=stats.pending,
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
        self.kube_writes = Counter(
            "bucketaccess_kube_writes", "writes to the Kubernetes API", ["verb"], registry=self.registry
        )
        self.acquisitions = Counter(
            "bucketaccess_leader_acquisitions",
            "times this replica acquired the lease",
            registry=self.registry,
        )
        self.fenced = Counter(
            "bucketaccess_fenced_writes",
            "writes not made because the lease was not held",
            ["target"],
            registry=self.registry,
        )
        self.standby_skips = Counter(
            "bucketaccess_standby_skips",
            "passes not run because the lease was not held",
            registry=self.registry,
        )
        self.events = EventMetrics(self.registry)  # AWS change events (--event-queue-url)

    def serve(self, port: int) -> None:
        start_http_server(port, registry=self.registry)

    def set_ready(self, uid: str, status: str | None, reason: str = "", since: float | None = None) -> None:
        """The object's Ready status (None: gone, or no longer this replica's); ``since`` is when
        its Ready condition last changed (epoch seconds)."""
        with self.state.lock:
            if status is None:
                self.state.ready.pop(uid, None)
                self.state.not_ready.pop(uid, None)
                self.state.last_pass.pop(uid, None)
                return
            self.state.ready[uid] = status
            if status == ConditionStatus.TRUE:
                self.state.not_ready.pop(uid, None)
            else:
                self.state.not_ready[uid] = (reason, since if since is not None else time.time())

    def expect(self, uid: str, interval: float) -> None:
        """The object is this replica's to verify: its staleness counts from now until a pass."""
        with self.state.lock:
            self.state.last_pass.setdefault(uid, (time.monotonic(), interval))

    def passed(self, uid: str, interval: float) -> None:
        with self.state.lock:
            self.state.last_pass[uid] = (time.monotonic(), interval)

    def forget_objects(self) -> None:
        """The lease was lost: the objects are another replica's to report."""
        with self.state.lock:
            self.state.ready.clear()
            self.state.not_ready.clear()
            self.state.last_pass.clear()

    def hook(self, client: Any) -> None:
        """Register on a boto3 client: count every call and its outcome."""
        service = client.meta.service_model.service_name

        def after(model: Any, http_response: Any = None, parsed: Any = None, **_: Any) -> None:
            code = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, dict) else None
            self.aws_calls.labels(service, model.name, code or "ok").inc()
            if model.name in WRITE_OPERATIONS and not code:
                self.aws_writes.labels(model.name).inc()

        client.meta.events.register("after-call.*.*", after)
