"""Property tests: the engine never crashes on any JSON, and its decisions are monotonic.

- any JSON value given as a policy either evaluates or is refused as InvalidInput;
- adding a Deny statement never turns a denied upload into an allowed one;
- adding an Allow statement never turns an allowed upload into a denied one.
"""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bucketaccess.access import explain, load_scenario
from bucketaccess.policy import InvalidInput
from bucketaccess.vocabulary import LAYERS

NOW = datetime(2026, 11, 29, tzinfo=UTC)
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "300"))
PROFILE = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ROLE = "arn:aws:iam::111122223333:role/app"
SESSION = "arn:aws:sts::111122223333:assumed-role/app/s"
KEY = "arn:aws:kms:us-east-1:111122223333:key/1111aaaa-0000-0000-0000-000000000000"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)

ACTIONS = [
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:*",
    "*",
    "s3:Get*",
    "kms:*",
    "kms:GenerateDataKey*",
    "kms:Decrypt",
    "S3:put*",
]
RESOURCES = [
    "*",
    "arn:aws:s3:::data-bucket/*",
    "arn:aws:s3:::data-bucket/in/*",
    "arn:aws:s3:::other/*",
    KEY,
    "arn:aws:kms:*:*:key/*",
]
PRINCIPALS: list[Any] = [
    "*",
    {"AWS": ROLE},
    {"AWS": SESSION},
    {"AWS": "111122223333"},
    {"AWS": "444455556666"},
    {"Service": "s3.amazonaws.com"},
]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:PrincipalTag/team": "data"}},
    {
        "StringNotLikeIfExists": {
            "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:111122223333:key/*"
        }
    },
    {"Bool": {"aws:SecureTransport": "false"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"ForAnyValue:StringLike": {"aws:TagKeys": ["cost*"]}},
    {"Null": {"s3:x-amz-acl": "true"}},
    {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/app"}},
]


def element_lists(pool: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(pool), st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True)
    )


@st.composite
def statements(draw: st.DrawFn, resource_side: bool, effect: str | None = None) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    stmt["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = draw(element_lists(ACTIONS))
    stmt["NotResource" if draw(st.integers(0, 6)) == 0 else "Resource"] = draw(element_lists(RESOURCES))
    if resource_side:
        stmt["Principal"] = draw(st.sampled_from(PRINCIPALS))
    if draw(st.booleans()):
        stmt["Condition"] = draw(st.sampled_from(CONDITIONS))
    if draw(st.booleans()):
        stmt["Sid"] = draw(st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True))
    return stmt


def doc(stmts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": stmts}


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    cross = draw(st.booleans())
    # Half the scenarios start from broad grants, so that Allowed is common enough for the
    # monotonicity properties to be exercised from both sides.
    generous = draw(st.booleans())
    broad: list[dict[str, Any]] = [{"Effect": "Allow", "Action": "*", "Resource": "*"}] if generous else []
    sc: dict[str, Any] = {
        "request": {
            "principal": "arn:aws:sts::444455556666:assumed-role/app/s" if cross else SESSION,
            "bucket": "data-bucket",
            "key": draw(st.sampled_from(["in/x.csv", "out/y"])),
            "multipart": draw(st.booleans()),
            "context": draw(
                st.sampled_from(
                    [
                        {},
                        {"aws:PrincipalTag/team": "data"},
                        {"aws:SourceIp": "203.0.113.9", "aws:TagKeys": ["cost-center"]},
                    ]
                )
            ),
        },
        "identity": {
            "policies": [
                {
                    "name": "p",
                    "document": doc(broad + draw(st.lists(statements(False), min_size=0, max_size=3))),
                }
            ]
        },
        "bucket": {"account": "111122223333"},
    }
    headers = draw(
        st.sampled_from(
            [
                {},
                {"x-amz-acl": "bucket-owner-full-control"},
                {
                    "x-amz-server-side-encryption": "aws:kms",
                    "x-amz-server-side-encryption-aws-kms-key-id": KEY,
                },
            ]
        )
    )
    if headers:
        sc["request"]["headers"] = headers
    if draw(st.booleans()):
        grant = [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}] if generous else []
        sc["bucket"]["policy"] = doc(grant + draw(st.lists(statements(True), min_size=1, max_size=3)))
    if draw(st.booleans()):
        sc["bucket"]["encryption"] = {"algorithm": "aws:kms", "kmsKeyArn": KEY}
    users = [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}] if generous else []
    sc["kms"] = {
        "keys": {KEY: {"policy": doc(users + draw(st.lists(statements(True), min_size=1, max_size=3)))}}
    }
    if draw(st.booleans()):
        sc["identity"]["permissionsBoundary"] = {
            "name": "b",
            "document": doc(draw(st.lists(statements(False), min_size=1, max_size=2))),
        }
    if draw(st.booleans()):
        sc["organization"] = {
            "id": "o-exampleorgid",
            "scps": [
                [{"name": "s", "document": doc(draw(st.lists(statements(False), min_size=1, max_size=2)))}]
            ],
        }
    return sc


def decision(sc: dict[str, Any]) -> str:
    return str(explain(load_scenario(sc, NOW)).decision)


@PROFILE
@given(policy=json_values, where=st.sampled_from(["bucket", "identity", "kms", "scp"]))
def test_any_json_as_a_policy_evaluates_or_is_invalid(policy: Any, where: str) -> None:
    sc: dict[str, Any] = {"request": {"principal": SESSION, "bucket": "data-bucket"}}
    if where == "bucket":
        sc["bucket"] = {"policy": policy}
    elif where == "identity":
        sc["identity"] = {"policies": [{"name": "p", "document": policy}]}
    elif where == "kms":
        sc["bucket"] = {"encryption": {"algorithm": "aws:kms", "kmsKeyArn": KEY}}
        sc["kms"] = {"keys": {KEY: {"policy": policy}}}
    else:
        sc["organization"] = {"id": "o-exampleorgid", "scps": [[{"name": "s", "document": policy}]]}
    try:
        result = explain(load_scenario(sc, NOW))
    except InvalidInput as exc:
        assert str(exc)  # refused, with a message
    else:
        assert len(result.checks) == len(LAYERS)


@PROFILE
@given(
    statement=st.fixed_dictionaries({}).flatmap(lambda _: statements(True)),
    element=st.sampled_from(["Effect", "Action", "Resource", "Principal", "Condition", "Sid", "NotAction"]),
    junk=json_values,
)
def test_near_valid_policies_evaluate_or_are_invalid(
    statement: dict[str, Any], element: str, junk: Any
) -> None:
    broken = copy.deepcopy(statement)
    broken[element] = junk
    sc = {"request": {"principal": SESSION, "bucket": "data-bucket"}, "bucket": {"policy": doc([broken])}}
    try:
        explain(load_scenario(sc, NOW))
    except InvalidInput as exc:
        assert str(exc).startswith("bucket.policy.Statement[0]")


def _targets(sc: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The statement lists a new statement may be added to, with whether they are resource-side."""
    out = [
        sc["identity"]["policies"][0]["document"]["Statement"],
        sc["kms"]["keys"][KEY]["policy"]["Statement"],
    ]
    if "policy" in sc["bucket"]:
        out.append(sc["bucket"]["policy"]["Statement"])
    if "permissionsBoundary" in sc["identity"]:
        out.append(sc["identity"]["permissionsBoundary"]["document"]["Statement"])
    if "organization" in sc:
        out.append(sc["organization"]["scps"][0][0]["document"]["Statement"])
    return out


def _is_resource_side(sc: dict[str, Any], target: list[dict[str, Any]]) -> bool:
    return target is sc["kms"]["keys"][KEY]["policy"]["Statement"] or (
        "policy" in sc["bucket"] and target is sc["bucket"]["policy"]["Statement"]
    )


@PROFILE
@given(sc=scenarios(), data=st.data())
def test_adding_a_deny_never_allows_a_denied_upload(sc: dict[str, Any], data: st.DataObject) -> None:
    before = decision(sc)
    changed = copy.deepcopy(sc)
    targets = _targets(changed)
    target = targets[data.draw(st.integers(0, len(targets) - 1))]
    target.append(data.draw(statements(_is_resource_side(changed, target), effect="Deny")))
    after = decision(changed)
    if before != "Allowed":
        assert after != "Allowed", (before, after)


@PROFILE
@given(sc=scenarios(), data=st.data())
def test_adding_an_allow_never_denies_an_allowed_upload(sc: dict[str, Any], data: st.DataObject) -> None:
    before = decision(sc)
    changed = copy.deepcopy(sc)
    targets = _targets(changed)
    target = targets[data.draw(st.integers(0, len(targets) - 1))]
    target.append(data.draw(statements(_is_resource_side(changed, target), effect="Allow")))
    after = decision(changed)
    if before == "Allowed":
        assert after == "Allowed", (before, after)


def test_generator_produces_both_allowed_and_denied() -> None:
    seen: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(sc=scenarios())
    def collect(sc: dict[str, Any]) -> None:
        seen.add(decision(sc))

    collect()
    assert {"Allowed", "ImplicitDeny", "ExplicitDeny"} <= seen, seen
