"""The planner: desired managed statements from every admitted BucketAccess at once."""

from __future__ import annotations

import pytest

from bucketaccess.grants.plan import (
    BUCKET_SID,
    KEY_SID,
    Claim,
    actions_for,
    bucket_statements,
    key_grants,
    key_statements,
)
from bucketaccess.resources import BucketPolicyMode, KMSKeyUsersMode

R1 = "arn:aws:iam::111122223333:role/a"
R2 = "arn:aws:iam::111122223333:role/b"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/k1"
PUT = frozenset({"s3:PutObject"})


def claim(
    role: str = R1,
    bucket: str = "b",
    prefix: str = "in/",
    actions: frozenset[str] = PUT,
    mode: str = "Manage",
    kms: str = "Observe",
    key: str | None = None,
    acls: tuple[str, ...] = (),
    bucket_key: bool = True,
) -> Claim:
    return Claim(
        owner=f"ns/{role}",
        role_arn=role,
        bucket=bucket,
        prefix=prefix,
        actions=actions,
        bucket_mode=BucketPolicyMode(mode),
        kms_mode=KMSKeyUsersMode(kms),
        kms_key_arn=key,
        acls=acls,
        bucket_key=bucket_key,
    )


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        pytest.param([], [], id="nothing-asked-nothing-held"),
        pytest.param(
            [claim()],
            [{"principal": R1, "action": "s3:PutObject", "resource": "arn:aws:s3:::b/in/*"}],
            id="one-claim-scalar-principal",
        ),
        pytest.param(
            [claim(R2), claim(R1)],
            [{"principal": [R1, R2], "action": "s3:PutObject", "resource": "arn:aws:s3:::b/in/*"}],
            id="same-prefix-one-statement-sorted-roles",
        ),
        pytest.param(
            [claim(R1), claim(R1)],
            [{"principal": R1, "action": "s3:PutObject", "resource": "arn:aws:s3:::b/in/*"}],
            id="duplicate-claims-one-principal",
        ),
        pytest.param(
            [claim(prefix="")],
            [{"principal": R1, "action": "s3:PutObject", "resource": "arn:aws:s3:::b/*"}],
            id="whole-bucket",
        ),
        pytest.param([claim(mode="Observe")], [], id="observe-holds-nothing"),
        pytest.param([claim(bucket="other")], [], id="other-bucket"),
        pytest.param(
            [claim(actions=actions_for([], acl=True), acls=("bucket-owner-full-control",))],
            [
                {"principal": R1, "action": "s3:PutObject", "resource": "arn:aws:s3:::b/in/*"},
                {
                    "principal": R1,
                    "action": "s3:PutObjectAcl",
                    "resource": "arn:aws:s3:::b/in/*",
                    "condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                },
            ],
            id="acl-gets-its-own-statement-conditioned-on-the-admitted-acl",
        ),
        pytest.param(
            [claim(actions=actions_for([], acl=True))],
            [{"principal": R1, "action": "s3:PutObject", "resource": "arn:aws:s3:::b/in/*"}],
            id="putobjectacl-with-no-admitted-acl-is-never-granted",
        ),
    ],
)
def test_bucket_statements(claims: list[Claim], expected: list[dict[str, object]]) -> None:
    got = bucket_statements("b", claims)
    assert sorted(
        (
            {
                "principal": s["Principal"]["AWS"],
                "action": s["Action"],
                "resource": s["Resource"],
                **({"condition": s["Condition"]} if "Condition" in s else {}),
            }
            for s in got
        ),
        key=str,
    ) == sorted(expected, key=str)
    assert all(s["Effect"] == "Allow" and BUCKET_SID.match(s["Sid"]) for s in got)


def test_one_statement_per_action_set_and_condition_with_stable_sids() -> None:
    claims = [
        claim(prefix="a/"),
        claim(prefix="b/"),
        claim(prefix="a/", actions=actions_for(["s3:GetObject"], acl=True), acls=("private",)),
    ]
    got = bucket_statements("b", claims)
    # PutObject on a/ and b/ (one role: one statement), GetObject+PutObject on a/, PutObjectAcl
    # on a/ under x-amz-acl=private
    assert len(got) == 3 and len({s["Sid"] for s in got}) == 3
    assert [s["Sid"] for s in got] == sorted(s["Sid"] for s in got)
    assert bucket_statements("b", list(reversed(claims))) == got  # the same claims, the same Sids
    put = next(s for s in got if s["Action"] == "s3:PutObject")
    assert put["Resource"] == ["arn:aws:s3:::b/a/*", "arn:aws:s3:::b/b/*"]


def test_extra_actions_join_the_statement() -> None:
    assert actions_for(["s3:GetObject", "kms:Decrypt"], acl=False) == frozenset(
        {"s3:PutObject", "s3:GetObject"}
    )


def test_key_statement_least_privilege_through_s3_only() -> None:
    got = key_statements(
        KEY,
        [
            claim(R2, kms="KeyPolicy", key=KEY),
            claim(R1, kms="KeyPolicy", key=KEY),
            claim(kms="Grant", key=KEY),
            claim(kms="KeyPolicy", key="other"),
        ],
    )
    assert len(got) == 1
    stmt = got[0]
    assert KEY_SID.match(stmt["Sid"]) and stmt["Effect"] == "Allow"
    assert stmt["Principal"] == {"AWS": [R1, R2]}
    assert sorted(stmt["Action"]) == ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"]
    assert stmt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}


def test_grant_mode_one_grant_per_role_and_bucket_limited_to_that_bucket() -> None:
    grants = key_grants(
        KEY,
        [
            claim(R1, kms="Grant", key=KEY),
            claim(R2, kms="Grant", key=KEY),
            claim(R1, kms="Grant", key=KEY),
            claim(R1, bucket="other", kms="Grant", key=KEY),
            claim(R2, bucket="no-bucket-key", kms="Grant", key=KEY, bucket_key=False),
            claim(kms="KeyPolicy", key=KEY),
        ],
    )
    assert sorted((g.grantee, g.bucket) for g in grants.values()) == [(R1, "b"), (R1, "other"), (R2, "b")]
    assert all(name.startswith("BucketAccess-") for name in grants)
    for g in grants.values():  # usable only with the encryption context S3 sends for that bucket
        assert g.constraints == {"EncryptionContextSubset": {"aws:s3:arn": f"arn:aws:s3:::{g.bucket}"}}
    assert key_statements(KEY, [claim(kms="Grant", key=KEY)]) == []
