"""Change events under faults: a malformed event, a burst of 100 copies of one event, the queue
down for a minute, the leader killed while messages are in flight. Two replicas behind a Lease, their SQS calls through a fault proxy (everything else
straight to moto); events reach the queue the way tests/e2e/test_change_events.py puts them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from kubernetes import client

from devenv.controlplane import ControlPlane
from devenv.org_world import OrgWorld, doc, unique
from tests.e2e.kube import create, ensure_namespace, get_ba, wait_for, wait_ready
from tests.e2e.operator_proc import OperatorProcess, replica_args
from tests.e2e.test_change_events import deploy_template, put_event
from tests.faults.proxy import FaultProxy
from tests.manifests import access_class, bucket_access
from tests.trail_events import cloudtrail_event

pytestmark = pytest.mark.e2e
NS, CLASS = "event-faults", "event-faults"
PUT = doc({"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "*"})


@pytest.fixture(scope="module")
def sqs_proxy(org_world: OrgWorld) -> Iterator[FaultProxy]:
    p = FaultProxy(org_world.moto.url).start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def replicas(
    control_plane: ControlPlane,
    kube: client.ApiClient,
    org_world: OrgWorld,
    sqs_proxy: FaultProxy,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[OperatorProcess]]:
    url = deploy_template(org_world)
    ensure_namespace(kube, NS, {"team": NS})
    create(kube, access_class(CLASS, namespace_labels={"team": NS}, buckets=("evfault-*",)))
    env = {**org_world.operator_env(), "AWS_ENDPOINT_URL_SQS": sqs_proxy.url}
    with ExitStack() as stack:
        procs = []
        for i in range(2):
            log = tmp_path_factory.mktemp(f"event-faults-{i}") / "operator.log"
            args = [
                *replica_args(NS, "event-faults", "6s", "4s", "1s"),
                *org_world.operator_args(),
                *("--default-interval", "1h", "--event-queue-url", url),
            ]
            procs.append(stack.enter_context(OperatorProcess(control_plane.kubeconfig, log, args, env=env)))
        yield procs


def leader(procs: list[OperatorProcess]) -> OperatorProcess:
    return wait_for(
        lambda: next((p for p in procs if p.proc and p.proc.poll() is None and p.leading()), None),
        30,
        "a leader",
    )


def an_object(kube: client.ApiClient, org_world: OrgWorld, name: str, interval: str = "1h") -> str:
    bucket, role = unique("evfault"), unique("evfault-role")
    org_world.seed({"roles": [{"name": role, "inline": {"put": PUT}}], "buckets": [{"name": bucket}]})
    arn = f"arn:aws:iam::{org_world.workloads}:role/{role}"
    create(
        kube,
        bucket_access(name, NS, cls=CLASS, bucket=bucket, prefix="in/", role=arn, verifyInterval=interval),
    )
    wait_ready(kube, NS, name, "True", timeout=60)
    return bucket


def deny(org_world: OrgWorld, bucket: str) -> None:
    statement = {
        "Sid": "NoUploads",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    org_world.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(doc(statement)))
    put_event(
        org_world,
        cloudtrail_event("s3", "PutBucketPolicy", {"bucketName": bucket}, account=org_world.workloads),
    )


def allow(org_world: OrgWorld, bucket: str) -> None:
    org_world.client("s3").delete_bucket_policy(Bucket=bucket)
    put_event(
        org_world,
        cloudtrail_event("s3", "DeleteBucketPolicy", {"bucketName": bucket}, account=org_world.workloads),
    )


def ready_status(kube: client.ApiClient, name: str) -> str | None:
    found = [
        c for c in (get_ba(kube, NS, name).get("status") or {}).get("conditions", ()) if c["type"] == "Ready"
    ]
    return found[0]["status"] if found else None


def queue_empty(org_world: OrgWorld, url: str) -> bool:
    attrs = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    found = org_world.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=attrs)["Attributes"]
    return found == dict.fromkeys(attrs, "0")


def queue_url(proc: OperatorProcess) -> str:
    return proc.args[proc.args.index("--event-queue-url") + 1]


def grown(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


EVENTS = "bucketaccess_change_events"
PASSES = "bucketaccess_verify_duration_seconds_count"


def test_a_malformed_event_is_counted_logged_once_deleted_and_starts_no_pass(
    replicas: list[OperatorProcess], kube: client.ApiClient, org_world: OrgWorld, record: Any
) -> None:
    """A call of the table without its resource (three such records, each its own eventID): the
    rules route them (their pattern matches), the operator cannot map them."""
    holder = leader(replicas)
    before = holder.metrics()
    start = time.monotonic()
    for _ in range(3):
        put_event(org_world, cloudtrail_event("s3", "PutBucketPolicy", {"Host": "s3.amazonaws.com"}))
    wait_for(
        lambda: grown(before, holder.metrics(), f"{EVENTS}_malformed_total") >= 3 or None, 30, "3 malformed"
    )
    wait_for(lambda: queue_empty(org_world, queue_url(holder)), 30, "the malformed messages deleted")
    took = time.monotonic() - start
    after = holder.metrics()
    assert grown(before, after, f"{EVENTS}_malformed_total") == 3
    assert grown(before, after, f"{EVENTS}_objects_scheduled_total") == 0
    assert grown(before, after, PASSES) == 0
    lines = [line for line in holder.log.read_text().splitlines() if "change event dropped" in line]
    assert len([line for line in lines if "requestParameters.bucketName is missing" in line]) == 1
    record("3 malformed change events", "counted, logged once, deleted; no pass", took, 0)


def test_a_burst_of_100_copies_of_one_event_costs_one_pass(
    replicas: list[OperatorProcess], kube: client.ApiClient, org_world: OrgWorld, record: Any
) -> None:
    bucket = an_object(kube, org_world, "burst")
    holder = leader(replicas)
    seen = (get_ba(kube, NS, "burst").get("status") or {}).get("lastVerifiedTime")
    assert seen, "the object was verified before the burst"
    # lastVerifiedTime has one-second resolution: the burst's pass must fall in a later second
    wait_for(lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) > seen or None, 5, "the next second")
    before = holder.metrics()
    event = cloudtrail_event(
        "s3", "PutBucketAcl", {"bucketName": bucket, "acl": [""]}, account=org_world.workloads
    )
    start = time.monotonic()
    put_event(org_world, event, copies=100)
    wait_for(
        lambda: grown(before, holder.metrics(), f"{EVENTS}_received_total") >= 100 or None, 60, "100 received"
    )
    wait_for(lambda: grown(before, holder.metrics(), PASSES) >= 1 or None, 30, "the burst's pass")
    wait_for(lambda: queue_empty(org_world, queue_url(holder)), 30, "every copy deleted")
    took = time.monotonic() - start
    after = holder.metrics()
    assert grown(before, after, f"{EVENTS}_received_total") == 100
    assert grown(before, after, f"{EVENTS}_objects_scheduled_total") == 1
    assert grown(before, after, f"{EVENTS}_ignored_total") == 99  # duplicates
    # one pass in all: every object before this test verifies hourly (test_queue_down's "periodic",
    # every 30 s, comes after it)
    assert grown(before, after, PASSES) == 1
    assert (get_ba(kube, NS, "burst").get("status") or {}).get("lastVerifiedTime") != seen
    record("100 copies of one change event", "one pass for its one object, 99 counted duplicates", took, 0)


def test_queue_down_for_a_minute(
    replicas: list[OperatorProcess],
    kube: client.ApiClient,
    org_world: OrgWorld,
    sqs_proxy: FaultProxy,
    record: Any,
) -> None:
    bucket = an_object(kube, org_world, "down")
    periodic = an_object(kube, org_world, "periodic", interval="30s")
    holder = leader(replicas)
    before = holder.metrics()
    seen = (get_ba(kube, NS, "periodic").get("status") or {}).get("lastVerifiedTime")
    sqs_proxy.set("down")
    deadline = time.monotonic() + 60
    try:
        time.sleep(22)  # a long poll already through the proxy ends (empty) first
        deny(org_world, bucket)  # into the queue through moto; the operator cannot receive it
        while time.monotonic() < deadline:
            assert ready_status(kube, "down") == "True"  # nothing guessed while the queue is away
            assert all(p.proc is not None and p.proc.poll() is None for p in replicas)
            time.sleep(2)
        errors = holder.metrics().get("bucketaccess_change_events_queue_errors_total", 0.0)
        assert errors > before.get("bucketaccess_change_events_queue_errors_total", 0.0)
        # the interval keeps working without the queue
        assert (get_ba(kube, NS, "periodic").get("status") or {}).get("lastVerifiedTime") != seen
    finally:
        sqs_proxy.set("pass")
    start = time.monotonic()
    wait_ready(kube, NS, "down", "False", timeout=90)
    recovered = time.monotonic() - start
    url = holder.args[holder.args.index("--event-queue-url") + 1]
    wait_for(lambda: queue_empty(org_world, url), 30, "the queue drained")
    allow(org_world, bucket)
    wait_ready(kube, NS, "down", "True", timeout=30)
    assert periodic
    record(
        "change-event queue down for 60 s",
        "errors counted, no condition changed, the interval kept verifying; the event was taken after",
        recovered,
        0,
    )


def test_leader_killed_with_messages_in_flight(
    replicas: list[OperatorProcess], kube: client.ApiClient, org_world: OrgWorld, record: Any
) -> None:
    bucket = an_object(kube, org_world, "takeover")
    first = leader(replicas)
    deny(org_world, bucket)
    first.proc.kill()  # type: ignore[union-attr]  # right after the event: it may have received it, or not
    start = time.monotonic()
    second = leader([p for p in replicas if p is not first])
    broken = wait_ready(kube, NS, "takeover", "False", timeout=60)
    recovered = time.monotonic() - start
    verified = broken["status"]["lastVerifiedTime"]
    # a message the killed holder took comes back after the visibility timeout (60 s) and is taken;
    # the takeover pass read after the call, so it starts no second pass
    wait_for(lambda: queue_empty(org_world, queue_url(second)), 120, "every message taken and deleted")
    assert get_ba(kube, NS, "takeover")["status"]["lastVerifiedTime"] == verified
    allow(org_world, bucket)
    wait_ready(kube, NS, "takeover", "True", timeout=30)
    record(
        "leader SIGKILLed right after a change event",
        "the new holder verified every object and took the event: Ready=False; "
        "the message back after its visibility timeout started no second pass",
        recovered,
        0,
    )
