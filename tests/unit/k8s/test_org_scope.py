"""Organizations change events -> only the objects under the policy's targets: an SCP by the role's
account, an RCP by the bucket's and keys' accounts, an account move by any of them; where the
reach cannot be read, every object, counted. The object store, the shared cache and MemoryAws's
organization; no API server, no AWS."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bucketaccess.aws.cache import CachedReader, TTLCache
from bucketaccess.aws.errors import OperatorAccessDenied
from bucketaccess.aws.memory import MemoryAws
from bucketaccess.aws.ports import RCP, SCP
from bucketaccess.k8s import change_events
from bucketaccess.k8s.config import OperatorConfig
from bucketaccess.k8s.metrics import Metrics
from bucketaccess.k8s.runtime import Runtime
from bucketaccess.k8s.scheduler import Scheduler
from bucketaccess.reconcile import WriteDeps
from bucketaccess.trail import Event, parse
from tests.trail_events import cloudtrail_event
from tests.unit.k8s.test_change_events import body, bucket_info

W, P, R, M = "111111111111", "222222222222", "333333333333", "999988887777"  # workloads, partners, ...
ROOT, OU_W, OU_P, OU_P_EU = "r-ab12", "ou-ab12-work0001", "ou-ab12-part0001", "ou-ab12-parteu01"
P_KEY = f"arn:aws:kms:us-east-1:{P}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/uploader"


def world() -> tuple[Runtime, MemoryAws]:
    """W's role on W's bucket; P's role on W's bucket; W's role on a bucket in P; W's role on W's
    bucket encrypted with P's key; an object whose role is not resolved yet (under every SCP); one
    whose bucket was never read (in the operator's account, as the reader says of every bucket). P sits two OUs down (OU_P -> OU_P_EU)."""
    aws = MemoryAws(M)
    aws.org_children = {ROOT: (OU_W, OU_P, R), OU_W: (W,), OU_P: (OU_P_EU,), OU_P_EU: (P,)}
    aws.org_policies = {
        "p-scp": (SCP, (OU_P,)),
        "p-rcp": (RCP, (OU_P,)),
        "p-tags": ("TAG_POLICY", (ROOT,)),
        "p-root": (SCP, (ROOT,)),
    }
    cache = TTLCache(20.0)
    rt = Runtime(
        config=OperatorConfig(),
        cache=cache,
        metrics=Metrics(),
        reader=CachedReader(aws, cache),
        writes=WriteDeps(writer=aws, cache=cache),
        api=cast(Any, None),
        record=cast(Any, None),
    )
    rt.scheduler = Scheduler(lambda uid: None, 1, clock=lambda: 100.0)
    cache.get(("caller",), lambda: W)
    for name, account in (("w-bucket", W), ("p-bucket", P)):
        info = bucket_info(name, account)
        cache.get(("bucket", name), lambda info=info: info)
    rt.store.preload(
        [
            body("w-on-w", "w-bucket", role=role(W)),
            body("p-on-w", "w-bucket", role=role(P)),
            body("w-on-p", "p-bucket", role=role(W)),
            body("w-key-p", "w-bucket", role=role(W), status={"managed": {"kmsKeyArn": P_KEY}}),
            body("unresolved", "w-bucket", sa="uploader"),
            body("unread", "never-read", role=role(W)),
        ]
    )
    return rt, aws


def org_event(name: str, request: dict[str, str]) -> Event:
    found = parse(cloudtrail_event("organizations", name, request, account=M))
    assert isinstance(found, Event)
    return found


def hit(rt: Runtime, event: Event) -> change_events.Affected:
    return change_events.affected(event, rt.store, rt.cache, rt.reader)


@pytest.mark.parametrize(
    ("name", "request_", "expected"),
    [
        pytest.param(
            "AttachPolicy",
            {"policyId": "p-scp", "targetId": OU_P},
            {"p-on-w", "unresolved"},
            id="scp-attached-to-an-ou-binds-the-roles-of-accounts-under-it",
        ),
        pytest.param(
            "DetachPolicy",
            {"policyId": "p-scp", "targetId": W},
            {"w-on-w", "w-on-p", "w-key-p", "unresolved", "unread"},
            id="scp-detached-from-an-account-binds-that-accounts-roles",
        ),
        pytest.param(
            "AttachPolicy",
            {"policyId": "p-rcp", "targetId": OU_P},
            {"w-on-p", "w-key-p"},
            id="rcp-binds-buckets-and-keys-of-accounts-under-it",
        ),
        pytest.param(
            "UpdatePolicy",
            {"policyId": "p-scp", "content": "{}"},
            {"p-on-w", "unresolved"},
            id="content-change-reaches-through-every-current-target",
        ),
        pytest.param(
            "UpdatePolicy",
            {"policyId": "p-root", "content": "{}"},
            {"w-on-w", "p-on-w", "w-on-p", "w-key-p", "unresolved", "unread"},
            id="a-policy-on-the-root-binds-every-object",
        ),
        pytest.param(
            "AttachPolicy",
            {"policyId": "p-tags", "targetId": ROOT},
            set(),
            id="a-tag-policy-binds-no-upload",
        ),
        pytest.param(
            "MoveAccount",
            {"accountId": P, "sourceParentId": OU_P, "destinationParentId": ROOT},
            {"p-on-w", "w-on-p", "w-key-p", "unresolved"},
            id="an-account-move-is-the-objects-with-a-role-or-resource-there",
        ),
    ],
)
def test_an_organizations_event_is_the_objects_under_its_targets_only(
    name: str, request_: dict[str, str], expected: set[str]
) -> None:
    rt, _ = world()
    found = hit(rt, org_event(name, request_))
    assert found.uids == expected
    assert found.unscoped is None
    assert found.drop == {("org",)}


def test_the_reach_is_read_once_per_event_and_its_cached_answer_goes_with_the_org_reads() -> None:
    rt, aws = world()
    event = org_event("AttachPolicy", {"policyId": "p-scp", "targetId": OU_P})
    before = aws.reads
    found = hit(rt, event)
    assert aws.reads == before + 1
    consumer = change_events.Consumer(rt, cast(Any, None), rt.metrics.events)
    consumer.apply(event, found)
    assert rt.cache.answers("org") == []  # the next Organizations event reads the tree again


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        pytest.param(OperatorAccessDenied("organizations:DescribePolicy", "no"), "AccessDenied", id="denied"),
        pytest.param(None, "PolicyNotFoundException", id="no-such-policy"),
    ],
)
def test_an_unreadable_reach_is_every_object_counted_by_reason(
    error: OperatorAccessDenied | None, reason: str
) -> None:
    rt, aws = world()
    if error is not None:
        aws.fail("organizations:DescribePolicy", error)
    # a content change of a policy gone since has no target to go by
    event = (
        org_event("AttachPolicy", {"policyId": "p-scp", "targetId": OU_P})
        if error is not None
        else org_event("UpdatePolicy", {"policyId": "p-deleted", "content": "{}"})
    )
    found = hit(rt, event)
    assert found.uids == set(rt.store.uids())
    assert found.unscoped == reason
    consumer = change_events.Consumer(rt, cast(Any, None), rt.metrics.events)
    consumer.apply(event, found)
    sample = rt.metrics.registry.get_sample_value(
        "bucketaccess_change_events_unscoped_total", {"reason": reason}
    )
    assert sample == 1


def test_a_target_without_its_policy_reaches_every_object() -> None:
    rt, _ = world()
    found = hit(rt, org_event("AttachPolicy", {"targetId": OU_P}))  # a record that lost its policyId
    assert found.uids == {"w-on-w", "p-on-w", "w-on-p", "w-key-p", "unresolved", "unread"}
    assert found.drop == {("org",)}


def test_a_policy_detached_then_deleted_reaches_its_target_as_either_kind() -> None:
    rt, aws = world()
    del aws.org_policies["p-scp"]  # detached from OU_P, then deleted, before the detach is read
    found = hit(rt, org_event("DetachPolicy", {"policyId": "p-scp", "targetId": OU_P}))
    # the accounts under OU_P: their roles (an SCP's) and their buckets and keys (an RCP's)
    assert found.uids == {"p-on-w", "unresolved", "w-on-p", "w-key-p"}
    assert found.unscoped is None
