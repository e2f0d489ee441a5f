"""Managed Sids: a digest of an unambiguous encoding of the whole statement, 128 bits long, so no
tenant can make its statement's Sid equal to another's; a statement holds a grant only when it is
exactly what the planner writes."""

from __future__ import annotations

import json

import pytest

from bucketaccess.grants.plan import (
    BUCKET_SID,
    KEY_SID,
    Claim,
    actions_for,
    bucket_statements,
    covering_sid,
    exactly_ours,
    grant_name,
    held,
    key_sid,
    statement_sid,
)
from bucketaccess.resources import BucketPolicyMode, KMSKeyUsersMode
from tests.collisions import colliding_prefixes, legacy_sid

R1 = "arn:aws:iam::111122223333:role/team-a"
R2 = "arn:aws:iam::111122223333:role/team-b"


def claim(
    role: str, prefix: str, actions: frozenset[str] = frozenset({"s3:PutObject"}), ns: str = "a"
) -> Claim:
    return Claim(
        owner=f"{ns}/{role.rsplit('/', 1)[-1]}-{prefix}",
        role_arn=role,
        bucket="shared",
        prefix=prefix,
        actions=actions,
        bucket_mode=BucketPolicyMode.Manage,
        kms_mode=KMSKeyUsersMode.Observe,
    )


def test_prefixes_that_collided_under_the_old_encoding_get_their_own_statements() -> None:
    p1, p2 = colliding_prefixes()
    assert p1 != p2 and legacy_sid(p1, ["s3:PutObject"]) == legacy_sid(p2, ["s3:PutObject"])
    statements = bucket_statements("shared", [claim(R1, p1), claim(R2, p2, ns="b")])
    assert len(statements) == 2 and len({s["Sid"] for s in statements}) == 2
    for c in (claim(R1, p1), claim(R2, p2, ns="b")):
        assert held("shared", c, statements)
        assert covering_sid(statements, "shared", c) is not None


def test_a_newline_in_a_prefix_cannot_forge_another_claims_text() -> None:
    # under "\n".join these two were the same text: prefix + actions vs a prefix that spells them
    get_put = frozenset({"s3:GetObject", "s3:PutObject"})
    honest = claim(R1, "a/", get_put)
    forged = claim(R2, "a/\ns3:GetObject", frozenset({"s3:PutObject"}), ns="b")
    assert legacy_sid("a/", get_put) == legacy_sid("a/\ns3:GetObject", ["s3:PutObject"])
    sids = {s["Sid"] for s in bucket_statements("shared", [honest])}
    assert sids.isdisjoint(s["Sid"] for s in bucket_statements("shared", [forged]))


@pytest.mark.parametrize(
    ("sid", "ours"),
    [
        pytest.param("BucketAccess" + "0" * 32, True, id="128-bit"),
        pytest.param("BucketAccess0123ABCD", True, id="legacy-8-digits-replaced-on-upgrade"),
        pytest.param("BucketAccess0123ABCDB", True, id="legacy-listing"),
        pytest.param("BucketAccess" + "0" * 31, False, id="31-digits"),
        pytest.param("BucketAccess" + "0" * 32 + "B", False, id="suffix"),
        pytest.param("BucketAccessKeyUsers" + "0" * 32, False, id="a-key-sid-is-not-a-bucket-sid"),
        pytest.param("bucketaccess" + "0" * 32, False, id="case"),
        pytest.param("Owner", False, id="foreign"),
    ],
)
def test_which_sids_are_ours(sid: str, ours: bool) -> None:
    assert bool(BUCKET_SID.match(sid)) is ours


def test_sids_grant_names_and_key_sids_are_128_bits_and_stable() -> None:
    statement = bucket_statements("shared", [claim(R1, "in/")])[0]
    assert len(statement["Sid"]) == len("BucketAccess") + 32 and statement["Sid"] == statement_sid(statement)
    assert KEY_SID.match(key_sid("arn:aws:kms:us-east-1:111122223333:key/k"))
    name = grant_name("arn:aws:kms:us-east-1:111122223333:key/k", R1, "shared")
    assert len(name) == len("BucketAccess-") + 32
    assert name != grant_name("arn:aws:kms:us-east-1:111122223333:key/k", R1, "shared2")


def test_a_statement_edited_by_hand_is_not_ours_exactly_and_holds_nothing() -> None:
    c = claim(R1, "in/")
    statement = bucket_statements("shared", [c])[0]
    assert exactly_ours(statement) and held("shared", c, [statement])
    # the Sid kept, the resource widened: it is not what the planner writes
    widened = {**statement, "Resource": "arn:aws:s3:::shared/*"}
    assert not exactly_ours(widened) and not held("shared", c, [widened])
    # reordered keys and a one-element list are the same statement to AWS, and to us
    reordered = json.loads(json.dumps(dict(reversed(list(statement.items())))))
    reordered["Principal"] = {"AWS": [R1]}
    assert exactly_ours(reordered) and held("shared", c, [reordered])


def test_another_roles_statement_never_holds_a_claim() -> None:
    mine, theirs = claim(R1, "in/"), claim(R2, "in/", ns="b")
    assert not held("shared", mine, bucket_statements("shared", [theirs]))
    assert held("shared", mine, bucket_statements("shared", [theirs, mine]))


@pytest.mark.parametrize(
    ("claims", "statements", "principals_by_resource"),
    [
        pytest.param(
            [claim(R1, "a/"), claim(R1, "b/")],
            1,
            {"a/": {R1}, "b/": {R1}},
            id="one-role-two-prefixes-one-statement",
        ),
        pytest.param(
            [claim(R1, "a/"), claim(R2, "a/", ns="b")],
            1,
            {"a/": {R1, R2}},
            id="two-roles-one-prefix-one-statement",
        ),
        pytest.param(
            [claim(R1, "a/"), claim(R2, "b/", ns="b")],
            2,
            {"a/": {R1}, "b/": {R2}},
            id="never-a-cross-grant-two-roles-two-prefixes",
        ),
        pytest.param(
            [claim(R1, "a/"), claim(R1, "b/"), claim(R2, "a/", ns="b")],
            2,
            {"a/": {R1, R2}, "b/": {R1}},
            id="merged-only-where-roles-hold-the-same-prefixes",
        ),
    ],
)
def test_packing_merges_resources_and_principals_exactly(
    claims: list[Claim], statements: int, principals_by_resource: dict[str, set[str]]
) -> None:
    got = bucket_statements("shared", claims)
    assert len(got) == statements
    granted: dict[str, set[str]] = {}
    for s in got:
        roles = s["Principal"]["AWS"]
        for r in [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]:
            granted.setdefault(r.removeprefix("arn:aws:s3:::shared/").removesuffix("*"), set()).update(
                [roles] if isinstance(roles, str) else roles
            )
    assert granted == principals_by_resource


def test_packing_takes_fewer_bytes_than_one_statement_per_claim() -> None:
    claims = [claim(R1, f"team/{i:03d}/", actions_for(["s3:GetObject"], acl=False)) for i in range(20)]
    packed = len(json.dumps(bucket_statements("shared", claims), separators=(",", ":")))
    one_each = sum(len(json.dumps(bucket_statements("shared", [c]), separators=(",", ":"))) for c in claims)
    assert packed < one_each / 3


@pytest.mark.parametrize(
    ("actions", "acls", "acl_actions"),
    [
        pytest.param({"s3:PutObjectAcl"}, ("private",), ["s3:PutObjectAcl"], id="put-object-acl"),
        pytest.param(
            {"s3:PutObjectVersionAcl"}, ("private",), ["s3:PutObjectVersionAcl"], id="put-object-version-acl"
        ),
        pytest.param(
            {"s3:PutObjectAcl", "s3:PutObjectVersionAcl"},
            ("bucket-owner-full-control", "private"),
            ["s3:PutObjectAcl", "s3:PutObjectVersionAcl"],
            id="both-one-conditioned-statement",
        ),
        pytest.param({"s3:PutObjectVersionAcl"}, (), None, id="no-admitted-acl-never-granted"),
    ],
)
def test_every_acl_setting_action_is_granted_only_under_the_acl_condition(
    actions: set[str], acls: tuple[str, ...], acl_actions: list[str] | None
) -> None:
    c = Claim(
        owner="a/x",
        role_arn=R1,
        bucket="shared",
        prefix="in/",
        actions=frozenset({"s3:PutObject", *actions}),
        bucket_mode=BucketPolicyMode.Manage,
        kms_mode=KMSKeyUsersMode.Observe,
        acls=acls,
    )
    got = bucket_statements("shared", [c])
    unconditioned = {
        a
        for s in got
        if "Condition" not in s
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert unconditioned == {"s3:PutObject"}
    conditioned = [s for s in got if "Condition" in s]
    if acl_actions is None:
        assert conditioned == []
        return
    (only,) = conditioned
    assert only["Action"] == (acl_actions[0] if len(acl_actions) == 1 else acl_actions)
    want = acls[0] if len(acls) == 1 else list(acls)
    assert only["Condition"] == {"StringEquals": {"s3:x-amz-acl": want}}
