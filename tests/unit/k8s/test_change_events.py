"""AWS change events -> exactly the affected objects, their cached reads dropped, one pass each;
the consumer's bookkeeping (duplicates, malformed, own writes, an unreachable queue). No API
server, no AWS: the object store, the shared cache and a queue stand-in."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any, cast

import pytest

from bucketaccess.aws.cache import CachedReader, TTLCache
from bucketaccess.aws.memory import MemoryAws
from bucketaccess.aws.ports import BucketInfo, KeyInfo, RoleInfo
from bucketaccess.aws.queue import Message, QueueUnavailable
from bucketaccess.k8s import change_events, driver
from bucketaccess.k8s.config import OperatorConfig
from bucketaccess.k8s.metrics import Metrics
from bucketaccess.k8s.runtime import Runtime
from bucketaccess.k8s.scheduler import Scheduler
from bucketaccess.reconcile import WriteDeps
from bucketaccess.trail import Event, Ignored, parse
from bucketaccess.trail.parse import Why
from tests.trail_events import ACCOUNT, KEY_ARN, KEY_ID, POLICY_ARN, cloudtrail_event, fixture_event

ROLE = f"arn:aws:iam::{ACCOUNT}:role/uploader"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/reader"
OWN = f"arn:aws:sts::{ACCOUNT}:assumed-role/bucketaccess-operator/s1"


def body(
    uid: str,
    bucket: str,
    *,
    role: str | None = None,
    sa: str | None = None,
    status: dict[str, Any] | None = None,
    ns: str = "team",
    vpce: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "className": "c",
        "bucket": bucket,
        "role": {"arn": role} if role else {"serviceAccountName": sa},
    }
    if vpce:
        spec["vpcEndpointId"] = vpce
    return {
        "metadata": {"uid": uid, "name": uid, "namespace": ns, "resourceVersion": "1", "generation": 1},
        "spec": spec,
        "status": status or {},
    }


def runtime() -> Runtime:
    aws = MemoryAws()
    cache = TTLCache(20.0)
    rt = Runtime(
        config=OperatorConfig(),
        cache=cache,
        metrics=Metrics(),
        reader=aws,
        writes=WriteDeps(writer=aws, cache=cache),
        api=cast(Any, None),
        record=cast(Any, None),
    )
    rt.scheduler = Scheduler(lambda uid: None, 1, clock=lambda: 100.0)
    rt.store.preload(
        [
            body("photos-a", "photos", role=ROLE),
            body("photos-b", "photos", role=OTHER_ROLE),
            body("logs-a", "logs", role=OTHER_ROLE, status={"managed": {"kmsKeyArn": KEY_ARN}}),
            body("sa-a", "other", sa="uploader", status={"roleArn": ROLE}),
            body("vpce-a", "other2", role=OTHER_ROLE, vpce="vpce-0a1b2c3d4e5f67890"),
        ]
    )
    return rt


def cached(cache: TTLCache, key: tuple[str, ...], value: object) -> None:
    cache.get(key, lambda: value)


def bucket_info(name: str, account: str, encryption: dict[str, Any] | None = None) -> BucketInfo:
    return BucketInfo(
        name=name,
        account=account,
        region="us-east-1",
        policy=None,
        ownership="BucketOwnerEnforced",
        acl=None,
        owner_canonical_id=None,
        public_access_block=None,
        encryption=encryption,
    )


def role_info(arn: str, managed: tuple[str, ...] = ()) -> RoleInfo:
    return RoleInfo(
        arn=arn, account=ACCOUNT, inline=(), managed=tuple((m, {}) for m in managed), boundary=None
    )


def event(call: str) -> Event:
    found = parse(fixture_event(call))
    assert isinstance(found, Event)
    return found


def test_a_bucket_change_is_the_objects_on_that_bucket_and_drops_its_read_only() -> None:
    rt = runtime()
    cached(rt.cache, ("bucket", "photos"), "read")
    cached(rt.cache, ("bucket", "logs"), "read")
    hit = change_events.affected(event("PutBucketPolicy"), rt.store, rt.cache)
    assert hit.uids == {"photos-a", "photos-b"}
    assert hit.drop == {("bucket", "photos")}


def test_a_role_change_is_the_objects_of_that_role_by_spec_or_resolved_status() -> None:
    hit = change_events.affected(event("DetachRolePolicy"), runtime().store, None)
    assert hit.uids == {"photos-a", "sa-a"}
    assert hit.drop == {("role", ROLE)}


def test_a_managed_policy_version_is_the_objects_whose_role_has_it_attached_as_last_read() -> None:
    rt = runtime()
    cached(rt.cache, ("role", OTHER_ROLE), role_info(OTHER_ROLE, managed=("shared-upload",)))
    cached(rt.cache, ("role", ROLE), role_info(ROLE, managed=("something-else",)))
    hit = change_events.affected(event("CreatePolicyVersion"), rt.store, rt.cache)
    assert POLICY_ARN.endswith("/shared-upload")
    assert hit.uids == {"photos-b", "logs-a", "vpce-a"}
    assert hit.drop == {("role", OTHER_ROLE)}


def test_a_key_change_is_the_objects_whose_key_is_managed_or_the_buckets_default_as_last_read() -> None:
    rt = runtime()
    bucket = bucket_info(
        "photos", ACCOUNT, {"algorithm": "aws:kms", "kmsKeyArn": KEY_ARN, "bucketKeyEnabled": False}
    )
    cached(rt.cache, ("bucket", "photos"), bucket)
    key = KeyInfo(
        arn=KEY_ARN,
        account=ACCOUNT,
        region="us-east-1",
        manager="CUSTOMER",
        state="Enabled",
        aliases=("alias/uploads",),
        policy=None,
    )
    cached(rt.cache, ("key", KEY_ARN, "us-east-1"), key)
    hit = change_events.affected(event("DisableKey"), rt.store, rt.cache)
    assert hit.uids == {"logs-a", "photos-a", "photos-b"}
    assert hit.drop == {("key", KEY_ARN, "us-east-1")}
    # an alias deleted: the key that had it, as last read
    alias = change_events.affected(event("DeleteAlias"), rt.store, rt.cache)
    assert alias.uids == hit.uids
    # the id alone names the same key
    by_id = parse(cloudtrail_event("kms", "EnableKey", {"keyId": KEY_ID}))
    assert isinstance(by_id, Event)
    assert change_events.affected(by_id, rt.store, rt.cache).uids == hit.uids


def test_an_association_is_the_objects_of_its_service_account() -> None:
    rt = runtime()
    cached(rt.cache, ("pod-identity", "prod", "team", "uploader"), ())
    cached(rt.cache, ("pod-identity", "prod", "team", "other"), ())
    hit = change_events.affected(event("DeletePodIdentityAssociation"), rt.store, rt.cache)
    assert hit.uids == {"sa-a"}
    assert hit.drop == {("pod-identity", "prod", "team", "uploader")}


def test_a_vpc_endpoint_policy_is_the_objects_through_it() -> None:
    hit = change_events.affected(event("ModifyVpcEndpoint"), runtime().store, None)
    assert hit.uids == {"vpce-a"}


def test_an_accounts_block_public_access_is_every_object() -> None:
    """(SCPs, RCPs and account moves: tests/unit/k8s/test_org_scope.py)"""
    rt = runtime()
    found = change_events.affected(event("PutAccountPublicAccessBlock"), rt.store, None)
    assert found.uids == set(rt.store.uids())


class FakeQueue:
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/q"

    def __init__(self, batches: list[list[Message] | Exception]) -> None:
        self.batches = batches
        self.deleted: list[str] = []

    def caller_arn(self) -> str:
        return OWN

    def receive(self) -> list[Message]:
        if not self.batches:
            raise asyncio.CancelledError
        batch = self.batches.pop(0)
        if isinstance(batch, Exception):
            raise batch
        return batch

    def delete(self, messages: list[Message]) -> list[str]:
        self.deleted += [m.id for m in messages]
        return []


def message(i: int, payload: object) -> Message:
    return Message(
        id=f"m{i}",
        receipt=f"r{i}",
        body=payload if isinstance(payload, str) else json.dumps(payload),
        receives=1,
    )


def samples(rt: Runtime, name: str, labels: dict[str, str] | None = None) -> float:
    value = rt.metrics.registry.get_sample_value(name, labels or {})
    return value or 0.0


def test_the_consumer_coalesces_a_burst_counts_what_it_drops_and_deletes_after_scheduling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(change_events, "BACKOFF_S", (0.0, 0.0))
    rt = runtime()
    assert rt.scheduler is not None
    burst = fixture_event("PutBucketPolicy")
    own = cloudtrail_event(
        "s3",
        "PutBucketPolicy",
        {"bucketName": "logs"},
        identity={
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/bucketaccess-operator/s2",
        },
    )
    queue = FakeQueue(
        [
            QueueUnavailable("AccessDenied", "not allowed"),
            [message(i, burst) for i in range(10)],
            [message(10 + i, burst) for i in range(10)] + [message(20, "garbage"), message(21, own)],
            [message(22, cloudtrail_event("s3", "PutBucketTagging", {"bucketName": "photos"}))],
        ]
    )
    consumer = change_events.Consumer(rt, cast(Any, queue), rt.metrics.events)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(consumer.run())
    assert sorted(rt.scheduler._due) == ["photos-a", "photos-b"]  # one pass each, nothing else
    assert len(queue.deleted) == 23  # every message taken, after its objects were scheduled
    m = "bucketaccess_change_events"
    assert samples(rt, f"{m}_received_total") == 23
    assert samples(rt, f"{m}_mapped_total") == 1
    assert samples(rt, f"{m}_objects_scheduled_total") == 2
    assert samples(rt, f"{m}_ignored_total", {"reason": "duplicate"}) == 19
    assert samples(rt, f"{m}_ignored_total", {"reason": "own-write"}) == 1
    assert samples(rt, f"{m}_ignored_total", {"reason": "unknown-call"}) == 1
    assert samples(rt, f"{m}_malformed_total") == 1
    assert samples(rt, f"{m}_queue_errors_total", {"code": "AccessDenied"}) == 1
    assert samples(rt, f"{m}_lag_seconds_count") == 1


def test_a_standby_receives_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    rt = runtime()
    rt.elector = cast(Any, type("E", (), {"holds": staticmethod(lambda: False)})())
    queue = FakeQueue([[message(0, fixture_event("PutBucketPolicy"))]])

    async def run() -> None:
        await asyncio.wait_for(change_events.Consumer(rt, cast(Any, queue), rt.metrics.events).run(), 0.2)

    with pytest.raises(TimeoutError):
        asyncio.run(run())
    assert queue.batches and not queue.deleted


def test_a_failing_batch_is_not_deleted_and_the_consumer_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(change_events, "BACKOFF_S", (0.0, 0.0))
    rt = runtime()
    calls = {"n": 0}
    real = change_events.affected

    def flaky(*args: Any) -> change_events.Affected:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug")
        return real(*args)

    monkeypatch.setattr(change_events, "affected", flaky)
    event = fixture_event("PutBucketPolicy")
    queue = FakeQueue([[message(0, event)], [message(0, event)]])  # the same message, received again
    consumer = change_events.Consumer(rt, cast(Any, queue), rt.metrics.events)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(consumer.run())
    assert queue.deleted == ["m0"]  # once: after the second receive succeeded
    assert rt.scheduler is not None and sorted(rt.scheduler._due) == ["photos-a", "photos-b"]
    assert samples(rt, "bucketaccess_change_events_queue_errors_total", {"code": "HandlerFailed"}) == 1


CALL_TIME = dt.datetime(2026, 12, 6, 10, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("verdicts", "passes", "outcome"),
    [
        pytest.param({"photos-a": 30, "photos-b": -600}, ["photos-b"], Event, id="only-the-older-verdict"),
        pytest.param({"photos-a": 30, "photos-b": 5}, [], Why.VerifiedSince, id="both-newer-ignored"),
        pytest.param({"photos-a": 1, "photos-b": 30}, ["photos-a"], Event, id="within-eventtime-slack"),
        pytest.param({"photos-a": 30}, ["photos-b"], Event, id="never-verified-here"),
    ],
)
def test_an_event_older_than_an_objects_verdict_starts_no_second_pass(
    verdicts: dict[str, float], passes: list[str], outcome: object
) -> None:
    """A holder died before deleting a message; the new one verified every object on taking the
    Lease, then the message comes back after its visibility timeout (to a consumer that never saw
    its eventID): objects whose verdict comes from reads made after the call get no second pass.
    ``verdicts``: seconds after the call's eventTime that each object's reads began."""
    rt = runtime()
    for uid, after in verdicts.items():
        rt.tracking.verified(uid, CALL_TIME.timestamp() + after)
    consumer = change_events.Consumer(rt, cast(Any, None), rt.metrics.events)
    found = consumer.take(json.dumps(fixture_event("PutBucketPolicy", when=CALL_TIME)))
    assert rt.scheduler is not None and sorted(rt.scheduler._due) == passes
    if outcome is Event:
        assert isinstance(found, Event)
    else:
        assert isinstance(found, Ignored) and found.why is outcome
        assert samples(rt, "bucketaccess_change_events_ignored_total", {"reason": "verified-since"}) == 1


def test_a_pass_records_its_verdict_as_no_newer_than_its_oldest_cached_read() -> None:
    now = [1000.0]
    cache = TTLCache(ttl=20, clock=lambda: now[0])
    aws = MemoryAws()
    aws.add_bucket("photos")
    CachedReader(aws, cache).bucket("photos")  # read 300 s before the pass
    now[0] = 1300.0
    reader = CachedReader(aws, cache).within(3600)
    started = time.time()
    assert driver._reads_since(reader, started) == started  # nothing read yet: the pass's start
    reader.bucket("photos")
    assert driver._reads_since(reader, started) == pytest.approx(time.time() - 300, abs=1)
    assert driver._reads_since(aws, started) == started  # no cache: every read after the start
