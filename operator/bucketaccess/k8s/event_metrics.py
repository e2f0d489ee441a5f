"""The metrics of AWS change events (``--event-queue-url``), on the operator's registry.

bucketaccess_change_events_received_total            messages taken from the queue
bucketaccess_change_events_mapped_total              events that scheduled at least one object
bucketaccess_change_events_ignored_total{reason}     events that scheduled nothing, and why
bucketaccess_change_events_malformed_total           messages that are no event the operator reads
bucketaccess_change_events_unscoped_total{reason}    SCP/RCP events sent to every object: their reach was not readable
bucketaccess_change_events_objects_scheduled_total   objects scheduled for a pass by events
bucketaccess_change_events_lag_seconds               the call's time (CloudTrail eventTime) -> its passes scheduled
bucketaccess_change_events_queue_errors_total{code}  receives and deletes that failed (unreachable, access denied)
bucketaccess_change_events_last_receive_timestamp_seconds  the last receive that answered (empty or not)
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..trail.parse import Why


class EventMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        prefix = "bucketaccess_change_events"
        self.received = Counter(
            f"{prefix}_received", "messages taken from the event queue", registry=registry
        )
        self.mapped = Counter(
            f"{prefix}_mapped", "events that scheduled at least one object", registry=registry
        )
        self.ignored = Counter(
            f"{prefix}_ignored", "events that scheduled nothing, by reason", ["reason"], registry=registry
        )
        for why in Why:
            self.ignored.labels(why.value)
        self.malformed = Counter(
            f"{prefix}_malformed", "messages that are no event the operator reads", registry=registry
        )
        self.unscoped = Counter(
            f"{prefix}_unscoped",
            "SCP and RCP events mapped to every object because the accounts they bind could not be read",
            ["reason"],
            registry=registry,
        )
        self.objects = Counter(
            f"{prefix}_objects_scheduled", "objects scheduled for a pass by change events", registry=registry
        )
        self.lag = Histogram(
            f"{prefix}_lag_seconds",
            "from the AWS call (CloudTrail eventTime) to its objects' passes scheduled",
            registry=registry,
            buckets=(1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
        )
        self.queue_errors = Counter(
            f"{prefix}_queue_errors",
            "event queue calls that failed, by error code",
            ["code"],
            registry=registry,
        )
        self.last_receive = Gauge(
            f"{prefix}_last_receive_timestamp_seconds",
            "when the event queue last answered a receive",
            registry=registry,
        )
