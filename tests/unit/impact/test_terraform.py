"""The Terraform plan reader, on plans written by hand from Terraform's documented JSON output
format ("JSON Output Format": ``format_version``, ``resource_changes[].change.actions``, ``before``,
``after``, ``after_unknown``, ``prior_state``). No Terraform binary can be built here, and none is
faked: these fixtures are the documented shape, including a module-nested resource, a deletion,
a replacement (``["delete","create"]``) and values known only after apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bucketaccess.impact.changes import Change, Kind, Unknown
from bucketaccess.impact.terraform import PlanError, read_plan

PLANS = Path(__file__).parent / "plans"


def plan(name: str) -> object:
    return json.loads((PLANS / name).read_text())


def test_a_module_nested_bucket_policy_is_read_and_other_types_are_ignored() -> None:
    got = read_plan(plan("bucket-policy-in-a-module.json"))
    (change,) = got.changes
    assert isinstance(change, Change) and (change.kind, change.target) == (Kind.BucketPolicy, "shared")
    assert change.source == "module.storage.aws_s3_bucket_policy.shared"
    assert change.document is not None and change.document["Statement"][0]["Sid"] == "DenyUnencrypted"
    assert got.ignored == (
        "aws_s3_bucket.logs (aws_s3_bucket)",
    )  # the data source and the no-op are not listed


def test_values_known_only_after_apply_are_unknown_never_guessed() -> None:
    got = read_plan(plan("known-after-apply.json"))
    assert all(isinstance(c, Unknown) for c in got.changes)
    assert [(c.kind, c.target) for c in got.changes] == [
        (Kind.BucketPolicy, "shared"),
        (Kind.Attach, "writer-b"),
    ]


def test_deletions_replacements_boundaries_detachments_and_org_attachments() -> None:
    got = read_plan(plan("deletes-and-replacements.json"))
    summary = [(c.kind, c.target, c.name, isinstance(c, Unknown)) for c in got.changes]
    assert summary == [
        (Kind.RolePolicy, "writer-a", "put", False),  # deleted: document None
        (Kind.Boundary, "secure-c", "", True),  # the new boundary's ARN is known only after apply
        (Kind.Detach, "writer-b", "SharedKmsUse", False),
        (Kind.AttachSCP, "111122223333", "DenyPut", False),  # its content from prior_state, in a module
        (Kind.BucketPublicAccessBlock, "other", "", False),
    ]
    deleted = got.changes[0]
    assert isinstance(deleted, Change) and deleted.document is None
    bpa = got.changes[-1]
    assert isinstance(bpa, Change) and bpa.document == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param([], "$: not a JSON object", id="not-an-object"),
        pytest.param({"format_version": "2.0"}, "$.format_version: 2.0", id="unknown-major-version"),
        pytest.param(
            {"format_version": "1.2", "resource_changes": {}},
            "$.resource_changes: not a list",
            id="changes-not-a-list",
        ),
        pytest.param(
            {
                "format_version": "1.2",
                "resource_changes": [{"type": "aws_s3_bucket_policy", "change": {"actions": "update"}}],
            },
            "$.resource_changes[0].change.actions",
            id="actions-not-a-list",
        ),
        pytest.param(
            {
                "format_version": "1.2",
                "resource_changes": [
                    {
                        "type": "aws_s3_bucket_policy",
                        "change": {
                            "actions": ["update"],
                            "before": {},
                            "after": {"bucket": "b", "policy": "{not json"},
                        },
                    }
                ],
            },
            "$.resource_changes[0].change.after.policy: not a JSON policy document",
            id="policy-not-json",
        ),
    ],
)
def test_a_plan_that_cannot_be_read_names_the_path(raw: object, message: str) -> None:
    with pytest.raises(PlanError) as info:
        read_plan(raw)
    assert str(info.value).startswith(message)
