"""Fair shares of a shared bucket policy: objects and bytes per namespace, in rank order."""

from __future__ import annotations

import pytest

from bucketaccess.grants.merge import BUCKET_POLICY_LIMIT, dumps
from bucketaccess.grants.plan import Claim, bucket_statements, policy_bytes
from bucketaccess.grants.shares import Contender, allot, available_bytes
from bucketaccess.resources import BucketPolicyMode, KMSKeyUsersMode

BUCKET = "shared"


def contender(
    ns: str,
    n: int,
    prefix_len: int = 10,
    held: bool = False,
    objects: int | None = None,
    cap: int | None = None,
) -> Contender:
    role = f"arn:aws:iam::111122223333:role/{ns}-{n}"
    return Contender(
        claim=Claim(
            owner=f"{ns}/obj-{n}",
            role_arn=role,
            bucket=BUCKET,
            prefix=f"{ns}/{n:04d}/".ljust(prefix_len, "x") + "/",
            actions=frozenset({"s3:PutObject"}),
            bucket_mode=BucketPolicyMode.Manage,
            kms_mode=KMSKeyUsersMode.Observe,
        ),
        held=held,
        object_limit=objects,
        byte_limit=cap,
    )


def kept_per_namespace(contenders: list[Contender], available: int | None) -> dict[str, int]:
    got = allot(BUCKET, contenders, available=available)
    out: dict[str, int] = {}
    for c in got.kept:
        out[c.namespace] = out.get(c.namespace, 0) + 1
    return out


@pytest.mark.parametrize(
    ("contenders", "available", "kept"),
    [
        pytest.param([contender("a", i) for i in range(5)], None, {"a": 5}, id="no-limits-no-bytes-all-kept"),
        pytest.param(
            [contender("a", i, objects=3) for i in range(8)], None, {"a": 3}, id="object-limit-first-three"
        ),
        pytest.param(
            [contender("a", i, prefix_len=1000) for i in range(20)] + [contender("b", 0)],
            18_000,
            {"a": 7, "b": 1},
            id="twenty-long-prefixes-take-at-most-half-with-two-namespaces",
        ),
        pytest.param(
            [contender("a", i, prefix_len=1000) for i in range(20)],
            18_000,
            {"a": 20},
            id="a-namespace-alone-is-left-to-the-size-guard",
        ),
        pytest.param(
            [contender("a", i, prefix_len=1000, cap=3000) for i in range(20)],
            18_000,
            {"a": 2},
            id="the-class-byte-cap-binds-even-alone",
        ),
        pytest.param(
            [contender("a", i, prefix_len=1000, held=True) for i in range(15)] + [contender("b", 0)],
            18_000,
            {"a": 15, "b": 1},
            id="grants-in-place-are-never-cut-back",
        ),
    ],
)
def test_allotment_table(contenders: list[Contender], available: int | None, kept: dict[str, int]) -> None:
    assert kept_per_namespace(contenders, available) == kept


def test_every_namespace_within_its_share_fits_the_policy_together() -> None:
    available = 18_000
    contenders = [contender(ns, i, prefix_len=700) for i in range(30) for ns in ("a", "b", "c")]
    got = allot(BUCKET, contenders, available=available)
    assert policy_bytes(bucket_statements(BUCKET, got.kept)) <= available
    for ns in ("a", "b", "c"):
        mine = [c for c in got.kept if c.namespace == ns]
        assert policy_bytes(bucket_statements(BUCKET, mine)) <= available // 3
    refused = next(iter(got.refused.values()))
    assert refused.reason == "PolicyShareExceeded"
    assert "6,000 bytes" in refused.message and "divided among 3 namespace(s)" in refused.message


def test_a_refusal_names_the_class_cap_when_it_binds() -> None:
    got = allot(
        BUCKET, [contender("a", i, cap=400) for i in range(4)] + [contender("b", 0)], available=18_000
    )
    messages = {r.message for r in got.refused.values()}
    assert messages and all("limits.bucketPolicyBytesPerNamespace" in m for m in messages)


def test_available_bytes_leaves_out_only_statements_we_own() -> None:
    foreign = {"Sid": "Owner", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
    ours = bucket_statements(BUCKET, [contender("a", 0).claim])
    text = dumps({"Version": "2012-10-17", "Statement": [foreign, *ours]})
    only_foreign = dumps({"Version": "2012-10-17", "Statement": [foreign]})
    assert available_bytes(text) == BUCKET_POLICY_LIMIT - len(only_foreign)
    assert available_bytes(None) == BUCKET_POLICY_LIMIT - len(
        dumps({"Version": "2012-10-17", "Statement": []})
    )
    assert available_bytes("{not json") is None
