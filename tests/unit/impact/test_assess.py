"""Impact: for each kind of change, what breaks, what is fixed, what is left alone, and only the
objects a change touches are evaluated."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bucketaccess.impact.changes import Change, ChangeSet, Kind, Unknown
from bucketaccess.impact.verdicts import Effect, assess
from tests.unit.impact.worlds import ACCOUNT, KEY, PUT, cluster, deny_put, doc

NOW = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
NO_KMS = doc(
    {
        "Sid": "Root",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:DescribeKey",
        "Resource": "*",
    }
)
DENY_S3 = doc(
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"},
)


def effects(changes: list[Change | Unknown], world: dict[str, Any] | None = None) -> dict[str, str]:
    report = assess(world or cluster(), ChangeSet(tuple(changes)), NOW)
    return {r.name: str(r.effect) for r in report.rows}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            [Change(kind=Kind.BucketPolicy, target="shared", document=deny_put("shared"))],
            {"team-a/writer": "breaks", "team-b/writer": "breaks"},
            id="bucket-policy-deny-breaks-both-on-that-bucket",
        ),
        pytest.param(
            [Change(kind=Kind.BucketPolicy, target="nobody-uses-it", document=deny_put("nobody-uses-it"))],
            {},
            id="bucket-policy-no-effect",
        ),
        pytest.param(
            [Change(kind=Kind.KeyPolicy, target=KEY, document=NO_KMS)],
            {"team-c/secure": "breaks"},
            id="key-policy-drops-the-root-grant",
        ),
        pytest.param(
            [Change(kind=Kind.KeyPolicy, target=KEY.rsplit("/", 1)[-1], document=NO_KMS)],
            {"team-c/secure": "breaks"},
            id="key-policy-by-key-id",
        ),
        pytest.param(
            [Change(kind=Kind.RolePolicy, target="writer-a", name="put", document=None)],
            {"team-a/writer": "breaks"},
            id="role-inline-policy-deleted",
        ),
        pytest.param(
            [
                Change(
                    kind=Kind.ManagedPolicy,
                    target=f"arn:aws:iam::{ACCOUNT}:policy/SharedKmsUse",
                    document=PUT,
                )
            ],
            {"team-c/secure": "breaks"},
            id="managed-policy-new-version-without-kms",
        ),
        pytest.param(
            [Change(kind=Kind.Detach, target=f"arn:aws:iam::{ACCOUNT}:role/secure-c", name="SharedKmsUse")],
            {"team-c/secure": "breaks"},
            id="detach",
        ),
        pytest.param(
            [
                Change(
                    kind=Kind.Boundary,
                    target="writer-b",
                    name="b",
                    document=doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
                )
            ],
            {"team-b/writer": "breaks"},
            id="boundary-set",
        ),
        pytest.param(
            [Change(kind=Kind.SCP, target="Guardrails", document=DENY_S3)],
            {"team-d/org": "breaks"},
            id="scp-content",
        ),
        pytest.param(
            [Change(kind=Kind.AttachSCP, target=ACCOUNT, name="DenyPut", document=DENY_S3)],
            {"team-d/org": "breaks"},
            id="scp-attached-to-the-account",
        ),
        pytest.param(
            [
                Change(
                    kind=Kind.BucketPublicAccessBlock,
                    target="shared",
                    document={
                        "BlockPublicAcls": True,
                        "IgnorePublicAcls": True,
                        "BlockPublicPolicy": True,
                        "RestrictPublicBuckets": True,
                    },
                )
            ],
            {"team-a/writer": "unchanged", "team-b/writer": "unchanged"},
            id="block-public-access-no-effect-on-private-uploads",
        ),
        pytest.param(
            [Unknown(kind=Kind.BucketPolicy, target="shared", source="aws_s3_bucket_policy.p")],
            {"team-a/writer": "unknown", "team-b/writer": "unknown"},
            id="known-after-apply-is-never-guessed",
        ),
    ],
)
def test_each_change_kind_breaks_exactly_the_objects_it_touches(
    changes: list[Change | Unknown], expected: dict[str, str]
) -> None:
    assert effects(changes) == expected


def test_a_change_that_fixes_a_broken_upload() -> None:
    world = cluster()
    world["team-a/writer"][0]["bucket"]["policy"] = deny_put("shared")
    world["team-b/writer"][0]["bucket"]["policy"] = deny_put("shared")
    got = effects([Change(kind=Kind.BucketPolicy, target="shared", document=None)], world)
    assert got == {"team-a/writer": "fixes", "team-b/writer": "fixes"}


def test_only_touched_objects_are_evaluated_and_the_deciding_statement_is_named() -> None:
    report = assess(
        cluster(),
        ChangeSet(
            (Change(kind=Kind.BucketPolicy, target="shared", document=deny_put("shared", "NoUploads")),)
        ),
        NOW,
    )
    assert (report.evaluated, report.unaffected) == (2, 3)
    row = report.rows[0]
    assert row.before.ready == "True" and row.after is not None
    assert (row.after.ready, row.after.reason, row.after.layer) == (
        "False",
        "ExplicitDenyInBucketPolicy",
        "BucketPolicyAllows",
    )
    assert row.after.statement is not None and "NoUploads" in row.after.statement
    assert report.count(Effect.Breaks) == 2 and "2 of 5 declared upload(s) break" in report.summary


def test_a_whole_policy_that_drops_the_operators_statements_is_a_conflict() -> None:
    world = cluster()
    ours = {
        "Sid": "BucketAccess" + "A" * 32,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/writer-a"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::shared/in/*",
    }
    for name in ("team-a/writer", "team-b/writer"):
        world[name][0]["bucket"]["policy"] = doc(ours)
    terraform_policy = doc(
        {
            "Sid": "Auditors",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::shared/*",
        }
    )
    report = assess(
        world,
        ChangeSet(
            (
                Change(
                    kind=Kind.BucketPolicy,
                    target="shared",
                    document=terraform_policy,
                    source="aws_s3_bucket_policy.shared",
                ),
            )
        ),
        NOW,
    )
    (conflict,) = report.conflicts
    assert conflict.sids == (ours["Sid"],) and conflict.objects == ("team-a/writer",)
    assert "Manage" in conflict.message and "Observe" in conflict.message
    # keeping the operator's statement in the proposed policy is no conflict
    kept = doc(ours, terraform_policy["Statement"][0])
    again = assess(world, ChangeSet((Change(kind=Kind.BucketPolicy, target="shared", document=kept),)), NOW)
    assert again.conflicts == ()
