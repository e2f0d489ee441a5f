"""The lease is checked before every HTTP attempt of an AWS write, not once per write: a write that
AWS throttles is re-sent for seconds (botocore's own retries, then the writer's), and a replica
whose lease ran out in between must not land it after the new holder took over.

Real boto3 clients, as the operator builds them (BotoReader: standard retries, 4 attempts), with
their HTTP stubbed: a ``before-send`` hook answers in AWS's place and counts what reached "the
wire". botocore's Stubber would not do: it answers before ``before-send``, where the check sits.
No process, no network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from bucketaccess.aws.boto import BotoReader
from bucketaccess.aws.writer import BotoWriter
from bucketaccess.k8s.leader import Fence, NotLeader, WriteTarget

BUCKET = "data-bucket"
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
THROTTLED = {
    # S3 answers a throttled request 503 SlowDown, in XML; KMS 400 ThrottlingException, in JSON
    "s3": (503, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"),
    "kms": (400, b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'),
}
ANSWERS = {
    "PutBucketPolicy": (204, b""),
    "DeleteBucketPolicy": (204, b""),
    "GetBucketPolicy": (200, b'{"Version": "2012-10-17", "Statement": []}'),
    "PutKeyPolicy": (200, b"{}"),
    "GetKeyPolicy": (200, b'{"Policy": "{}", "PolicyName": "default"}'),
    "CreateGrant": (200, b'{"GrantId": "grant-1", "GrantToken": "t"}'),
    "RevokeGrant": (200, b"{}"),
    "ListGrants": (200, b'{"Grants": [], "Truncated": false}'),
}
WRITES: dict[str, Callable[[BotoWriter], Any]] = {
    "PutBucketPolicy": lambda w: w.put_bucket_policy(BUCKET, '{"Version": "2012-10-17", "Statement": []}'),
    "DeleteBucketPolicy": lambda w: w.delete_bucket_policy(BUCKET),
    "PutKeyPolicy": lambda w: w.put_key_policy(KEY, '{"Version": "2012-10-17", "Statement": []}'),
    "CreateGrant": lambda w: w.create_grant(KEY, "arn:aws:iam::111122223333:role/app", ["Decrypt"], "g", {}),
    "RevokeGrant": lambda w: w.revoke_grant(KEY, "grant-1"),
}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


@dataclass(frozen=True)
class Sent:
    operation: str
    at: float  # on the fake clock


class Wire:
    """AWS's side of every client it is hooked on: throttles the first ``throttle`` attempts, then
    answers; records each attempt that reached it."""

    def __init__(self, clock: Clock, throttle: int) -> None:
        self.clock = clock
        self.throttle = throttle
        self.sent: list[Sent] = []

    def hook(self, client: Any) -> None:
        client.meta.events.register("before-send.*.*", self.answer)

    def answer(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        _, service, operation = event_name.split(".")
        self.sent.append(Sent(operation, self.clock.now))
        status, body = THROTTLED[service] if len(self.sent) <= self.throttle else ANSWERS[operation]
        return AWSResponse(request.url, status, {}, _Body(body))


@dataclass
class Replica:
    """One replica's AWS write path: its lease held until ``until`` on the fake clock."""

    clock: Clock
    wire: Wire
    writer: BotoWriter
    refused: list[WriteTarget]


def replica(until: float, throttle: int) -> Replica:
    clock = Clock()
    wire = Wire(clock, throttle)
    refused: list[WriteTarget] = []
    fence = Fence(lambda: clock() < until, on_refused=refused.append)
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1"
    )
    reader = BotoReader(session=session, on_client=wire.hook, check_write=fence.check_aws)
    return Replica(clock, wire, BotoWriter(reader, sleep=clock.sleep), refused)


@pytest.fixture
def botocore_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's backoff between its own attempts (time.sleep), recorded and not slept."""
    asked: list[float] = []
    monkeypatch.setattr(time, "sleep", asked.append)
    return asked


@pytest.mark.parametrize("operation", list(WRITES))
def test_the_lease_running_out_in_the_writers_backoff_stops_the_next_attempt(
    operation: str, botocore_sleeps: list[float]
) -> None:
    r = replica(until=0.3, throttle=99)  # AWS throttles everything; the lease has 0.3 s left
    with pytest.raises(NotLeader):
        WRITES[operation](r.writer)
    # the first call went out whole (botocore's 5 attempts: max_attempts counts retries), all
    # within the lease; the writer backed off 0.5 s, past the deadline, and its next call sent nothing
    assert [s.operation for s in r.wire.sent] == [operation] * 5
    assert all(s.at < 0.3 for s in r.wire.sent)
    assert len(botocore_sleeps) == 4
    assert r.writer.retries == 1 and r.clock.now == 0.5
    assert r.refused == [WriteTarget.AWS]


@pytest.mark.parametrize("operation", ["PutBucketPolicy", "CreateGrant"])
def test_the_lease_running_out_in_botocores_backoff_stops_its_next_attempt(
    operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = replica(until=4.0, throttle=2)  # throttled twice, then AWS would take it
    # botocore's jittered backoff, stretched to 3 s each (a slow or paused replica): the deadline
    # falls inside its second backoff whatever the jitter
    monkeypatch.setattr(time, "sleep", lambda seconds: r.clock.sleep(3.0))
    with pytest.raises(NotLeader):
        WRITES[operation](r.writer)
    assert r.wire.sent == [Sent(operation, 0.0), Sent(operation, 3.0)]
    assert r.writer.retries == 0, "NotLeader is not retried as if AWS were unavailable"
    assert r.refused == [WriteTarget.AWS]


@pytest.mark.parametrize("operation", list(WRITES))
def test_with_the_lease_a_throttled_write_goes_through_on_a_later_attempt(
    operation: str, botocore_sleeps: list[float]
) -> None:
    r = replica(until=float("inf"), throttle=2)
    WRITES[operation](r.writer)
    assert [s.operation for s in r.wire.sent] == [operation] * 3
    assert r.refused == []


def test_reads_are_not_fenced(botocore_sleeps: list[float]) -> None:
    r = replica(until=float("-inf"), throttle=0)  # a standby
    assert json.loads(r.writer.bucket_policy_text(BUCKET) or "")["Statement"] == []
    assert r.writer.key_policy_text(KEY) == "{}"
    assert r.writer.grants(KEY) == []
    assert [s.operation for s in r.wire.sent] == ["GetBucketPolicy", "GetKeyPolicy", "ListGrants"]
    with pytest.raises(NotLeader):
        r.writer.put_bucket_policy(BUCKET, "{}")
    assert len(r.wire.sent) == 3
    assert r.refused == [WriteTarget.AWS]
