"""Every API call of the table, from an event in the documented CloudTrail/EventBridge shape, to
the resources it changed; and the events that start nothing (malformed, unknown, failed, own)."""

from __future__ import annotations

import json

import pytest

from bucketaccess.trail import CALLS, Event, Ignored, Kind, Malformed, Ref, parse
from bucketaccess.trail.parse import Why, same_principal
from tests.trail_events import ACCOUNT, FIXTURES, KEY_ARN, KEY_ID, cloudtrail_event, fixture_event


def test_every_call_of_the_table_has_a_fixture_and_no_fixture_is_outside_it() -> None:
    assert sorted(c.name for c in CALLS) == sorted(FIXTURES)
    assert len({(c.event_source, c.name) for c in CALLS}) == len(CALLS)


@pytest.mark.parametrize("call", sorted(FIXTURES))
def test_a_call_names_its_resources(call: str) -> None:
    event = fixture_event(call)
    found = parse(json.dumps(event))
    assert isinstance(found, Event), found
    assert found.call.name == call
    assert sorted(found.refs) == sorted(FIXTURES[call][4])
    assert found.event_id == event["detail"]["eventID"]
    assert found.account == ACCOUNT and found.when is not None


def test_the_brief_list_is_covered() -> None:
    names = {c.name for c in CALLS}
    brief = [
        "PutBucketPolicy",
        "DeleteBucketPolicy",
        "PutBucketAcl",
        "PutBucketOwnershipControls",
        "PutBucketEncryption",
        "DeleteBucketEncryption",
        "PutBucketPublicAccessBlock",
        "DeletePublicAccessBlock",
        "PutAccountPublicAccessBlock",
        "ModifyVpcEndpoint",
        "PutKeyPolicy",
        "CreateGrant",
        "RetireGrant",
        "RevokeGrant",
        "EnableKey",
        "DisableKey",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "PutRolePolicy",
        "DeleteRolePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "CreatePolicyVersion",
        "SetDefaultPolicyVersion",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
        "UpdateAssumeRolePolicy",
        "DeleteRole",
        "CreateOpenIDConnectProvider",
        "DeleteOpenIDConnectProvider",
        "AddClientIDToOpenIDConnectProvider",
        "RemoveClientIDFromOpenIDConnectProvider",
        "UpdatePolicy",
        "AttachPolicy",
        "DetachPolicy",
        "MoveAccount",
        "CreatePodIdentityAssociation",
        "UpdatePodIdentityAssociation",
        "DeletePodIdentityAssociation",
    ]
    # CloudTrail records S3's DeletePublicAccessBlock as DeleteBucketPublicAccessBlock
    assert {n.replace("DeletePublicAccessBlock", "DeleteBucketPublicAccessBlock") for n in brief} <= names


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ("{}", "no detail-type"),
        (json.dumps({"detail-type": "AWS API Call via CloudTrail"}), "no detail"),
        (
            json.dumps({"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "X"}}),
            "no eventSource",
        ),
    ],
)
def test_malformed(body: str, problem: str) -> None:
    found = parse(body)
    assert isinstance(found, Malformed) and problem in found.problem


def test_a_known_call_without_its_resource_is_malformed() -> None:
    found = parse(cloudtrail_event("s3", "PutBucketPolicy", {"Host": "s3.amazonaws.com"}))
    assert isinstance(found, Malformed) and "bucketName" in found.problem


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (cloudtrail_event("s3", "GetBucketPolicy", {"bucketName": "b"}), Why.UnknownCall),
        (cloudtrail_event("s3", "PutBucketTagging", {"bucketName": "b"}), Why.UnknownCall),
        (
            cloudtrail_event("s3", "PutBucketPolicy", {"bucketName": "b"}, error="AccessDenied"),
            Why.FailedCall,
        ),
        (
            {**cloudtrail_event("ec2", "X", {}), "detail-type": "EC2 Instance State-change Notification"},
            Why.DetailType,
        ),
    ],
)
def test_ignored(event: dict[str, object], why: Why) -> None:
    found = parse(event)
    assert isinstance(found, Ignored) and found.why is why


def test_the_operators_own_write_is_ignored_whatever_its_session() -> None:
    own = "arn:aws:sts::123456789012:assumed-role/bucketaccess-operator/botocore-session-1"
    identity = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/bucketaccess-operator/botocore-session-2",
        "sessionContext": {
            "sessionIssuer": {"arn": "arn:aws:iam::123456789012:role/ops/bucketaccess-operator"}
        },
    }
    event = cloudtrail_event("s3", "PutBucketPolicy", {"bucketName": "b"}, identity=identity)
    found = parse(event, lambda arn: same_principal(arn, own))
    assert isinstance(found, Ignored) and found.why is Why.OwnWrite
    # another principal's write is an event
    assert isinstance(parse(fixture_event("PutBucketPolicy"), lambda arn: same_principal(arn, own)), Event)


def test_same_principal() -> None:
    assert same_principal("arn:aws:iam::1:user/a", "arn:aws:iam::1:user/a")
    assert not same_principal("arn:aws:iam::1:user/a", "arn:aws:iam::1:user/b")
    assert same_principal("arn:aws:sts::1:assumed-role/R/x", "arn:aws:iam::1:role/p/R")
    assert not same_principal("arn:aws:sts::1:assumed-role/R/x", "arn:aws:sts::2:assumed-role/R/x")
    assert not same_principal("", "")


def test_a_key_named_by_alias_is_an_alias_ref() -> None:
    found = parse(cloudtrail_event("kms", "DisableKey", {"keyId": "alias/uploads"}))
    assert isinstance(found, Event) and found.refs == (Ref(Kind.Alias, "alias/uploads"),)


def test_a_kms_key_deletion_sent_by_kms_itself_names_its_key() -> None:
    # the shape of KMS's own EventBridge events (KMS developer guide, "Monitor KMS keys")
    event = {
        "version": "0",
        "id": "e9ce3425-7d22-412a-a699-e7a5fc3fbc9a",
        "detail-type": "KMS CMK Deletion",
        "source": "aws.kms",
        "account": ACCOUNT,
        "time": "2026-12-06T10:00:00Z",
        "region": "us-east-1",
        "resources": [KEY_ARN],
        "detail": {"key-id": KEY_ID},
    }
    found = parse(json.dumps(event))
    assert isinstance(found, Event) and found.refs == (Ref(Kind.Key, KEY_ARN),)
    assert found.event_id == event["id"] and found.when is not None
    rotation = parse({**event, "detail-type": "KMS CMK Rotation"})  # new material, same verdict
    assert isinstance(rotation, Ignored) and rotation.why is Why.DetailType
    assert isinstance(parse({**event, "resources": [], "detail": {}}), Malformed)
