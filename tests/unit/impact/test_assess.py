"""Impact: for each kind of change, what breaks, what is fixed, what is left alone, and only the
objects a change touches are evaluated."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bucketaccess.impact.changes import Change, ChangeSet, Kind, Unknown
from bucketaccess.impact.verdicts import Effect, assess
from tests.unit.impact.worlds import ACCOUNT, ALLOW_ALL, KEY, KMS_USE, PUT, cluster, deny_put, doc

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


def _broken(world: dict[str, Any], how: str) -> dict[str, Any]:
    """The same cluster with one upload broken the way the change under test repairs."""
    a, c, d = world["team-a/writer"][0], world["team-c/secure"][0], world["team-d/org"][0]
    if how == "bucket-policy":
        a["bucket"]["policy"] = deny_put("shared")
        world["team-b/writer"][0]["bucket"]["policy"] = deny_put("shared")
    elif how == "key-policy":
        c["kms"]["keys"][KEY]["policy"] = NO_KMS
    elif how in ("role-policy", "attach"):
        a["identity"]["policies"] = []
    elif how == "detach":  # a managed policy that denies uploads, attached to the role
        deny = doc({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"})
        a["identity"]["policies"].append({"name": "NoUploads", "document": deny})
    elif how == "detach-scp":  # the account's own level: FullAWSAccess and a policy denying uploads
        d["organization"]["scps"].append(
            [{"name": "FullAWSAccess", "document": ALLOW_ALL}, {"name": "DenyPut", "document": DENY_S3}]
        )
    elif how == "managed-policy":
        c["identity"]["policies"] = [
            p if p["name"] != "SharedKmsUse" else {"name": "SharedKmsUse", "document": PUT}
            for p in c["identity"]["policies"]
        ]
    elif how == "boundary":
        a["identity"]["permissionsBoundary"] = {
            "name": "b",
            "document": doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
        }
    elif how == "scp":
        d["organization"]["scps"][1] = [{"name": "Guardrails", "document": DENY_S3}]
    elif how == "bucket-bpa":
        a["request"]["headers"] = {"x-amz-acl": "public-read"}  # (and the role may set ACLs)
        acl = doc({"Effect": "Allow", "Action": "s3:PutObjectAcl", "Resource": "*"})
        a["identity"]["policies"].append({"name": "acl", "document": acl})
        a["bucket"]["ownership"] = "ObjectWriter"
        a["bucket"]["publicAccessBlock"] = {"BlockPublicAcls": True}
    return world


KEY_ROOT = doc(
    {
        "Sid": "Root",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
)
OFF = {
    "BlockPublicAcls": False,
    "IgnorePublicAcls": False,
    "BlockPublicPolicy": False,
    "RestrictPublicBuckets": False,
}


@pytest.mark.parametrize(
    ("how", "fix", "unrelated", "fixed"),
    [
        pytest.param(
            "bucket-policy",
            Change(kind=Kind.BucketPolicy, target="shared", document=None),
            Change(kind=Kind.BucketPolicy, target="nobody", document=None),
            {"team-a/writer", "team-b/writer"},
            id="bucket-policy",
        ),
        pytest.param(
            "key-policy",
            Change(kind=Kind.KeyPolicy, target=KEY, document=KEY_ROOT),
            Change(kind=Kind.KeyPolicy, target=KEY.replace("1234abcd", "99999999"), document=KEY_ROOT),
            {"team-c/secure"},
            id="key-policy",
        ),
        pytest.param(
            "role-policy",
            Change(kind=Kind.RolePolicy, target="writer-a", name="put", document=PUT),
            Change(kind=Kind.RolePolicy, target="nobody", name="put", document=PUT),
            {"team-a/writer"},
            id="role-policy",
        ),
        pytest.param(
            "managed-policy",
            Change(kind=Kind.ManagedPolicy, target="SharedKmsUse", document=KMS_USE),
            Change(kind=Kind.ManagedPolicy, target="NobodysPolicy", document=KMS_USE),
            {"team-c/secure"},
            id="managed-policy",
        ),
        pytest.param(
            "attach",
            Change(kind=Kind.Attach, target="writer-a", name="Upload", document=PUT),
            Change(kind=Kind.Attach, target="nobody", name="Upload", document=PUT),
            {"team-a/writer"},
            id="attach",
        ),
        pytest.param(
            "detach",
            Change(kind=Kind.Detach, target="writer-a", name="NoUploads"),
            Change(kind=Kind.Detach, target="nobody", name="NoUploads"),
            {"team-a/writer"},
            id="detach",
        ),
        pytest.param(
            "boundary",
            Change(kind=Kind.Boundary, target="writer-a", document=None),
            Change(kind=Kind.Boundary, target="nobody", document=None),
            {"team-a/writer"},
            id="boundary-removed",
        ),
        pytest.param(
            "scp",
            Change(kind=Kind.SCP, target="Guardrails", document=ALLOW_ALL),
            Change(kind=Kind.SCP, target="NoSuchSCP", document=ALLOW_ALL),
            {"team-d/org"},
            id="scp",
        ),
        pytest.param(
            "detach-scp",
            Change(kind=Kind.DetachSCP, target=ACCOUNT, name="DenyPut"),
            Change(kind=Kind.DetachSCP, target="999999999999", name="DenyPut"),
            {"team-d/org"},
            id="detach-scp",
        ),
        pytest.param(
            "bucket-bpa",
            Change(kind=Kind.BucketPublicAccessBlock, target="shared", document=OFF),
            Change(kind=Kind.BucketPublicAccessBlock, target="nobody", document=OFF),
            {"team-a/writer"},
            id="bucket-bpa",
        ),
    ],
)
def test_each_change_kind_fixes_what_it_repairs_and_a_change_elsewhere_has_no_effect(
    how: str, fix: Change, unrelated: Change, fixed: set[str]
) -> None:
    world = _broken(cluster(), how)
    got = effects([fix], world)
    assert {n for n, e in got.items() if e == "fixes"} == fixed
    assert not any(e == "breaks" for e in got.values())
    assert effects([unrelated], _broken(cluster(), how)) == {}


POD_TRUST = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
)
EC2_TRUST = doc(
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
)


def _pod_world(trust: dict[str, Any]) -> dict[str, Any]:
    world = cluster()
    pod = world["team-a/writer"][0]
    pod["session"] = {
        "source": "PodIdentity",
        "namespace": "team-a",
        "serviceAccount": "writer",
        "trustPolicy": trust,
    }
    return world


@pytest.mark.parametrize(
    ("trust", "change", "expected"),
    [
        pytest.param(
            POD_TRUST,
            Change(kind=Kind.TrustPolicy, target="writer-a", document=EC2_TRUST),
            {"team-a/writer": "breaks"},
            id="breaks",
        ),
        pytest.param(
            EC2_TRUST,
            Change(kind=Kind.TrustPolicy, target="writer-a", document=POD_TRUST),
            {"team-a/writer": "fixes"},
            id="fixes",
        ),
        pytest.param(
            POD_TRUST,
            Change(kind=Kind.TrustPolicy, target="writer-b", document=EC2_TRUST),
            {},
            id="no-effect-on-a-role-with-no-session",
        ),
    ],
)
def test_a_trust_policy_change_reaches_the_workload_that_assumes_that_role(
    trust: dict[str, Any], change: Change, expected: dict[str, str]
) -> None:
    got = effects([change], _pod_world(trust))
    assert got == expected
    if expected:
        row = assess(_pod_world(trust), ChangeSet((change,)), NOW).rows[0]
        side = row.after if expected["team-a/writer"] == "breaks" else row.before
        assert side is not None and side.layer == "RoleAssumable"
