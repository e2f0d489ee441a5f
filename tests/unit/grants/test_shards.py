"""Shards that share a bucket and a key: each names its own statements and grants (a tag of its
record name), merges, cleans up and sweeps only its own, and counts another shard's as foreign
bytes in the size guard and the shares."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bucketaccess.grants.merge import BUCKET_POLICY_LIMIT, KEY_POLICY_LIMIT, dumps, merge
from bucketaccess.grants.plan import (
    BUCKET_SID,
    KEY_SID,
    Claim,
    bucket_statements,
    exactly_ours,
    grant_name,
    held,
    key_grants,
    key_sid,
    key_statements,
    policy_bytes,
)
from bucketaccess.grants.shard import ANY_GRANT_NAME, DEFAULT_RECORD_NAME, DEFAULT_SHARD, Shard, tag_of
from bucketaccess.grants.shares import Contender, allot, available_bytes
from bucketaccess.resources import BucketPolicyMode, KMSKeyUsersMode
from bucketaccess.vocabulary import Reason

BUCKET = "lake"
KEY = "arn:aws:kms:us-east-1:111122223333:key/k"
A, B = Shard.of("shard-a"), Shard.of("shard-b")
ADMIN = {
    "Sid": "EnableIAM",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
    "Action": "kms:*",
    "Resource": "*",
}


def claim(ns: str, role: str, prefix: str, kms: str = "KeyPolicy") -> Claim:
    return Claim(
        owner=f"{ns}/{role}",
        role_arn=f"arn:aws:iam::111122223333:role/{role}",
        bucket=BUCKET,
        prefix=prefix,
        actions=frozenset({"s3:PutObject"}),
        bucket_mode=BucketPolicyMode.Manage,
        kms_mode=KMSKeyUsersMode(kms),
        kms_key_arn=KEY,
        bucket_key=True,
    )


# the same role and prefix in both shards: the same content, never the same statement
IN_A = [claim("team-a", "app", "a/"), claim("team-a", "shared", "common/")]
IN_B = [claim("team-b", "bee", "b/"), claim("team-b", "shared", "common/")]


def statements(text: str | None) -> list[dict[str, Any]]:
    return json.loads(text)["Statement"] if text else []


def sids(text: str | None) -> set[str]:
    return {str(s["Sid"]) for s in statements(text)}


def write_bucket(live: str | None, shard: Shard, claims: list[Claim]) -> str | None:
    m = merge(
        live, bucket_statements(BUCKET, claims, shard=shard), shard.bucket_sids, limit=BUCKET_POLICY_LIMIT
    )
    assert m.refusal is None, m.detail
    return m.text if m.changed else live


def test_the_default_record_keeps_the_untagged_names_and_every_other_record_has_a_tag() -> None:
    assert Shard.of(DEFAULT_RECORD_NAME) == DEFAULT_SHARD and DEFAULT_SHARD.tag == ""
    assert len(A.tag) == 8 and A.tag != B.tag and A.tag == tag_of("shard-a")
    default = bucket_statements(BUCKET, IN_A)[0]["Sid"]
    tagged = bucket_statements(BUCKET, IN_A, shard=A)[0]["Sid"]
    assert len(default) == len("BucketAccess") + 32 and tagged == f"BucketAccess{A.tag}" + tagged[-32:]
    assert key_sid(KEY, shard=A) == f"BucketAccessKeyUsers{A.tag}" + key_sid(KEY)[-32:]
    assert (
        grant_name(KEY, "r", BUCKET, shard=A) == f"BucketAccess-{A.tag}-" + grant_name(KEY, "r", BUCKET)[-32:]
    )
    for name in (default, tagged, key_sid(KEY, shard=A), grant_name(KEY, "r", BUCKET, shard=A)):
        assert name.replace("-", "").isalnum()  # the Sid charset; a grant name may also hold "-"


@pytest.mark.parametrize(
    ("name", "default", "a", "b"),
    [
        pytest.param("BucketAccess" + "0" * 32, True, False, False, id="untagged-is-the-default-shards"),
        pytest.param("BucketAccess0123ABCD", True, False, False, id="legacy-8-digits-the-default-shards"),
        pytest.param("BucketAccess0123ABCDB", True, False, False, id="legacy-listing-the-default-shards"),
        pytest.param(f"BucketAccess{A.tag}" + "0" * 32, False, True, False, id="shard-a"),
        pytest.param(f"BucketAccess{B.tag}" + "0" * 32, False, False, True, id="shard-b"),
        pytest.param(f"BucketAccess{A.tag}" + "0" * 31, False, False, False, id="tagged-31-digits"),
        pytest.param(f"BucketAccessKeyUsers{A.tag}" + "0" * 32, False, False, False, id="key-sid-not-bucket"),
        pytest.param("Owner", False, False, False, id="foreign"),
    ],
)
def test_each_shard_recognises_only_its_own_bucket_sids(name: str, default: bool, a: bool, b: bool) -> None:
    assert bool(DEFAULT_SHARD.bucket_sids.match(name)) is default
    assert bool(A.bucket_sids.match(name)) is a
    assert bool(B.bucket_sids.match(name)) is b
    assert bool(BUCKET_SID.match(name)) is (default or a or b)  # every shard's, for readers


def test_each_shard_recognises_only_its_own_key_sids_and_grant_names() -> None:
    names = {s: (key_sid(KEY, shard=s), grant_name(KEY, "r", BUCKET, shard=s)) for s in (DEFAULT_SHARD, A, B)}
    for shard in names:
        for other, (sid, grant) in names.items():
            assert bool(shard.key_sids.match(sid)) is (shard == other)
            assert bool(shard.grant_names.match(grant)) is (shard == other)
            assert KEY_SID.match(sid) and ANY_GRANT_NAME.match(grant)
    # grants of earlier versions (shorter digests) are the default shard's, never a tagged one's
    assert DEFAULT_SHARD.grant_names.match("BucketAccess-0123ABCD")
    assert not A.grant_names.match("BucketAccess-0123ABCD")


def test_two_shards_plans_over_one_bucket_never_remove_each_others_statements() -> None:
    live = write_bucket(None, A, IN_A)
    live = write_bucket(live, B, IN_B)
    mine_a = {s["Sid"] for s in bucket_statements(BUCKET, IN_A, shard=A)}
    mine_b = {s["Sid"] for s in bucket_statements(BUCKET, IN_B, shard=B)}
    assert mine_a.isdisjoint(mine_b) and sids(live) == mine_a | mine_b
    # each shard's next pass plans the same again: nothing to write (no flapping)
    for shard, claims in ((A, IN_A), (B, IN_B), (A, IN_A)):
        again = merge(
            live, bucket_statements(BUCKET, claims, shard=shard), shard.bucket_sids, limit=BUCKET_POLICY_LIMIT
        )
        assert again.refusal is None and not again.changed
    # shard A's objects deleted (its cleanup, or its sweep with nothing wanted): only A's go
    live = write_bucket(live, A, [])
    assert sids(live) == mine_b
    # and shard B's too: the policy is deleted
    assert merge(live, [], B.bucket_sids, limit=BUCKET_POLICY_LIMIT).document is None


def test_another_shards_statement_never_holds_a_claim_and_is_never_exactly_ours() -> None:
    shared = claim("team-a", "shared", "common/")
    theirs = bucket_statements(BUCKET, [shared], shard=B)
    assert held(BUCKET, shared, theirs, shard=B) and not held(BUCKET, shared, theirs, shard=A)
    assert not held(BUCKET, shared, theirs)  # nor the default shard's
    assert all(exactly_ours(s, shard=B) and not exactly_ours(s, shard=A) for s in theirs)


def test_a_key_policy_holds_one_statement_per_shard_and_each_removes_only_its_own() -> None:
    live: str | None = dumps({"Version": "2012-10-17", "Statement": [ADMIN]})
    for shard, claims in ((A, IN_A), (B, IN_B)):
        m = merge(
            live,
            key_statements(KEY, claims, shard=shard),
            shard.key_sids,
            limit=KEY_POLICY_LIMIT,
            key_policy=True,
        )
        assert m.refusal is None and m.changed
        live = m.text
    assert sids(live) == {"EnableIAM", key_sid(KEY, shard=A), key_sid(KEY, shard=B)}
    gone = merge(live, [], A.key_sids, limit=KEY_POLICY_LIMIT, key_policy=True)
    assert sids(gone.text) == {"EnableIAM", key_sid(KEY, shard=B)}


def test_grants_of_two_shards_on_one_key_have_different_names() -> None:
    a = key_grants(KEY, [claim("team-a", "shared", "common/", "Grant")], shard=A)
    b = key_grants(KEY, [claim("team-b", "shared", "common/", "Grant")], shard=B)
    assert set(a).isdisjoint(b) and list(a.values()) == list(b.values())
    assert all(A.grant_names.match(n) and not B.grant_names.match(n) for n in a)


@pytest.mark.parametrize("newcomer", [A, B], ids=["newcomer-of-shard-a", "newcomer-of-shard-b"])
def test_the_size_guard_counts_every_shards_statements(newcomer: Shard) -> None:
    pad_a = [claim("team-a", f"app{i}", f"a/{i:03d}/{'x' * 900}/") for i in range(9)]
    pad_b = [claim("team-b", f"bee{i}", f"b/{i:03d}/{'x' * 900}/") for i in range(9)]
    live = write_bucket(write_bucket(None, A, pad_a), B, pad_b)
    assert live is not None and len(live) > BUCKET_POLICY_LIMIT - 1000
    mine = pad_a if newcomer is A else pad_b
    more = [*mine, claim("team-x", "late", f"late/{'z' * 900}/")]
    m = merge(
        live, bucket_statements(BUCKET, more, shard=newcomer), newcomer.bucket_sids, limit=BUCKET_POLICY_LIMIT
    )
    assert m.refusal is Reason.PolicySizeLimit
    # on its own, the newcomer's shard would fit: it is the other shard's bytes that fill the policy
    alone = merge(
        None, bucket_statements(BUCKET, more, shard=newcomer), newcomer.bucket_sids, limit=BUCKET_POLICY_LIMIT
    )
    assert alone.refusal is None


def test_shares_count_the_other_shards_bytes_as_foreign() -> None:
    live = write_bucket(None, B, IN_B)
    theirs = policy_bytes(bucket_statements(BUCKET, IN_B, shard=B))
    empty = available_bytes(None)
    assert empty is not None
    # to shard A, shard B's statements take bytes; to shard B, they are its own to share out
    assert available_bytes(live, shard=A) == empty - theirs + 1  # (less the separator commas)
    assert available_bytes(live, shard=B) == empty
    # shard A's namespaces share what shard B left: a namespace past its half is refused
    left = available_bytes(live, shard=A)
    assert left is not None
    big = [claim("team-a", f"app{i}", f"a/{i:03d}/{'y' * 900}/") for i in range(30)]
    small = claim("team-c", "cee", "c/")
    got = allot(BUCKET, [Contender(claim=c) for c in [small, *big]], available=left)
    kept_a = [c for c in got.kept if c.namespace == "team-a"]
    assert small in got.kept and 0 < len(kept_a) < len(big)
    assert policy_bytes(bucket_statements(BUCKET, kept_a, shard=A)) <= left // 2
    refusal = got.refused[big[-1].owner]
    assert refusal.reason is Reason.PolicyShareExceeded and f"{left:,} bytes left" in refusal.message


def test_a_shard_taking_over_its_untagged_names_owns_them_and_still_writes_its_own() -> None:
    adopting = A.adopting()
    for name, owned in (
        (f"BucketAccess{A.tag}" + "0" * 32, True),
        ("BucketAccess" + "0" * 32, True),
        ("BucketAccess0123ABCD", True),
        (f"BucketAccess{B.tag}" + "0" * 32, False),
    ):
        assert bool(adopting.bucket_sids.match(name)) is owned, name
    assert adopting.key_sids.match(key_sid(KEY)) and not adopting.key_sids.match(key_sid(KEY, shard=B))
    assert adopting.grant_names.match(grant_name(KEY, "r", BUCKET))
    assert not adopting.grant_names.match(grant_name(KEY, "r", BUCKET, shard=B))
    assert bucket_statements(BUCKET, IN_A, shard=adopting) == bucket_statements(BUCKET, IN_A, shard=A)
    # a claim held by its untagged statement is held, until the write that replaces it
    assert held(BUCKET, IN_A[0], bucket_statements(BUCKET, IN_A), shard=adopting)


def test_a_tagged_shard_counts_its_shares_as_it_writes_them() -> None:
    # a namespace whose statements fit its share exactly as the default shard writes them, but not
    # with the shard's tag in every Sid: the tagged shard must refuse what it could not write
    mine = [claim("team-a", f"app{i}", f"a/{i:03d}/") for i in range(3)]
    untagged = policy_bytes(bucket_statements(BUCKET, mine))
    tagged = policy_bytes(bucket_statements(BUCKET, mine, shard=A))
    assert tagged > untagged
    # two namespaces asking: each may take half of what is available
    other = claim("team-c", "cee", "c/")
    available = 2 * untagged + 1
    contenders = [Contender(claim=c) for c in [*mine, other]]
    as_default = allot(BUCKET, contenders, available=available)
    as_a = allot(BUCKET, contenders, available=available, shard=A)
    assert mine[-1] in as_default.kept
    assert mine[-1].owner in as_a.refused
    assert f"would take {tagged:,} bytes" in as_a.refused[mine[-1].owner].message
