"""NotPrincipal as IAM documents it today, and the resource owner's root user in S3's bucket context.

IAM references:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
  ("AWS JSON policy elements: NotPrincipal": only with Deny; a Deny with it always denies a principal
  that has a permissions boundary)
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
  ("Permissions boundaries for IAM entities")
https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-auth-workflow-bucket-operation.html
  ("How Amazon S3 authorizes a request for a bucket operation": a root request skips the user context)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bucketaccess.policy import (
    Authorization,
    Caller,
    CauseKind,
    Decision,
    Effect,
    ExternalAllow,
    Layer,
    NamedPolicy,
    PolicyKind,
    PolicyOrigin,
    PolicySource,
    PrincipalKind,
    RequestContext,
    ResourceSide,
    Scope,
    StatementRef,
    analyze,
    evaluate,
    parse_policy,
)

ACCOUNT = "111122223333"
BUCKET_POLICY = PolicySource(PolicyOrigin.BucketPolicy)
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/uploader"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/uploader/pod-1"
SESSION = Caller(SESSION_ARN, ACCOUNT, PrincipalKind.AssumedRole, ROLE_ARN, SESSION_ARN)
BOUNDED = replace(SESSION, has_boundary=True)
USER = Caller(f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT, PrincipalKind.User)
ROOT = Caller(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, PrincipalKind.Account)
ALL_OF_SESSION = [ACCOUNT, ROLE_ARN, SESSION_ARN]


def _analysis(effect: str, not_principal: Any, caller: Caller) -> Any:
    policy = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "S",
                    "Effect": effect,
                    "NotPrincipal": not_principal,
                    "Action": "s3:*",
                    "Resource": "*",
                }
            ],
        },
        "bucket",
        PolicyKind.Resource,
    )
    return analyze(policy, BUCKET_POLICY, RequestContext("s3:PutObject", "arn:aws:s3:::b/k", caller))


@pytest.mark.parametrize(
    ("not_principal", "caller", "denied"),
    [
        pytest.param({"AWS": ALL_OF_SESSION}, SESSION, False, id="listed-session-spared"),
        pytest.param({"AWS": ALL_OF_SESSION}, BOUNDED, True, id="listed-session-with-boundary-denied"),
        pytest.param({"AWS": "*"}, BOUNDED, True, id="even-star-does-not-spare-a-boundary"),
        pytest.param({"AWS": [ACCOUNT, USER.arn]}, USER, False, id="listed-user-spared"),
        pytest.param({"AWS": [ACCOUNT, USER.arn]}, replace(USER, has_boundary=True), True, id="bounded-user"),
        pytest.param({"AWS": ACCOUNT}, ROOT, False, id="root-listed-spared"),
        pytest.param({"AWS": "444455556666"}, SESSION, True, id="unlisted-denied"),
    ],
)
def test_deny_with_not_principal(not_principal: Any, caller: Caller, denied: bool) -> None:
    assert bool(_analysis("Deny", not_principal, caller).denies) is denied


@pytest.mark.parametrize(
    "not_principal",
    [{"AWS": "444455556666"}, {"AWS": ROLE_ARN}, {"AWS": ALL_OF_SESSION}, {"AWS": "*"}],
    ids=["other-account", "role-only", "all-of-session", "star"],
)
def test_allow_with_not_principal_grants_nobody(not_principal: Any) -> None:
    analysis = _analysis("Allow", not_principal, SESSION)
    assert not analysis.allows and not analysis.near_misses
    assert analysis.unsupported == (StatementRef(BUCKET_POLICY, "S", Effect.Allow),)


def _root_request(
    *, needs_grant: bool, grants: tuple[ExternalAllow, ...] = (), policy: Any = None
) -> Decision:
    side = ResourceSide(
        owner_account=ACCOUNT,
        policy=NamedPolicy(BUCKET_POLICY, parse_policy(policy, "p", PolicyKind.Resource)) if policy else None,
        extra_allows=grants,
        owner_root_needs_grant=needs_grant,
    )
    verdict = evaluate(Authorization(RequestContext("s3:PutObject", "arn:aws:s3:::b/k", ROOT), resource=side))
    if verdict.decision is Decision.ImplicitDeny:
        assert [(c.layer, c.kind) for c in verdict.causes] == [(Layer.Resource, CauseKind.NoAllow)]
    return verdict.decision


def test_the_owner_root_needs_no_grant_where_s3_does_not_ask_for_one() -> None:
    assert _root_request(needs_grant=False) is Decision.Allowed


def test_the_owner_root_needs_a_bucket_side_grant_when_acls_decide() -> None:
    assert _root_request(needs_grant=True) is Decision.ImplicitDeny
    acl = ExternalAllow(
        StatementRef(PolicySource(PolicyOrigin.BucketACL), "grant[0]", Effect.Allow), Scope.Account
    )
    assert _root_request(needs_grant=True, grants=(acl,)) is Decision.Allowed


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [({"AWS": ACCOUNT}, True), ({"AWS": ROOT.arn}, True), ("*", True), ({"AWS": ROLE_ARN}, False)],
    ids=["account", "root-arn", "anyone", "a-role"],
)
def test_a_bucket_policy_grant_for_the_owner_root(principal: Any, allowed: bool) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "s3:PutObject", "Resource": "*"}],
    }
    assert (_root_request(needs_grant=True, policy=policy) is Decision.Allowed) is allowed
