"""Action, resource, ARN and principal matching, and policy variables.

IAM references:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
"""

from __future__ import annotations

from typing import Any

import pytest

from bucketaccess.policy import (
    Caller,
    PolicyKind,
    PolicyOrigin,
    PolicySource,
    PrincipalKind,
    Principals,
    RequestContext,
    Scope,
    analyze,
    normalize_keys,
    parse_policy,
)
from bucketaccess.policy.matchers import compile_actions, compile_resources
from bucketaccess.policy.statements import not_principal_applies, principal_scope
from bucketaccess.policy.variables import Unresolvable, resolve, substitute, template
from bucketaccess.policy.wildcards import Wildcard, action_matches, arn_matches, glob_match

ACCOUNT = "111122223333"
POLICY = PolicySource(PolicyOrigin.Identity, "policy")
OTHER = "444455556666"
USER = Caller(f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT, PrincipalKind.User)
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/uploader"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/uploader/pod-1"
SESSION = Caller(SESSION_ARN, ACCOUNT, PrincipalKind.AssumedRole, ROLE_ARN, SESSION_ARN)
ROLE = Caller(ROLE_ARN, ACCOUNT, PrincipalKind.AssumedRole, ROLE_ARN, None)
ROOT = Caller(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, PrincipalKind.Account)


def identity_allows(
    statement: dict[str, Any],
    action: str = "s3:PutObject",
    resource: str = "arn:aws:s3:::bucket/key",
    keys: dict[str, Any] | None = None,
    caller: Caller = USER,
    version: str | None = "2012-10-17",
) -> bool:
    document: dict[str, Any] = {"Statement": [{"Effect": "Allow", **statement}]}
    if version is not None:
        document["Version"] = version
    policy = parse_policy(document, "policy", PolicyKind.Identity)
    ctx = RequestContext(action, resource, caller, normalize_keys(keys or {}))
    analysis = analyze(policy, POLICY, ctx)
    assert not analysis.near_misses, analysis  # no Condition here unless the row adds one
    return bool(analysis.allows)


# --- Actions ----------------------------------------------------------------------------------

ACTIONS = [
    pytest.param(["s3:PutObject"], "s3:PutObject", True, id="action-exact-matches"),
    pytest.param(["s3:putobject"], "s3:PutObject", True, id="action-lower-case-pattern-matches"),
    pytest.param(["S3:PUTOBJECT"], "s3:putObject", True, id="action-upper-case-pattern-matches"),
    pytest.param(["s3:PutObject"], "s3:PutObjectAcl", False, id="action-exact-is-not-prefix"),
    pytest.param(["s3:PutObject"], "s3:GetObject", False, id="action-other-action-no-match"),
    pytest.param(["s3:Put*"], "s3:PutObject", True, id="action-Put-star-PutObject-matches"),
    pytest.param(["s3:Put*"], "s3:PutObjectAcl", True, id="action-Put-star-PutObjectAcl-matches"),
    pytest.param(["s3:put*"], "s3:PutObject", True, id="action-lower-put-star-matches"),
    pytest.param(["s3:Put*"], "s3:GetObject", False, id="action-Put-star-GetObject-no-match"),
    pytest.param(["s3:Put*"], "kms:PutKeyPolicy", False, id="action-Put-star-other-service-no-match"),
    pytest.param(["s3:*"], "s3:GetObject", True, id="action-service-star-matches"),
    pytest.param(["s3:*"], "s3express:CreateSession", False, id="action-s3-star-not-s3express"),
    pytest.param(["*"], "kms:Decrypt", True, id="action-star-matches-anything"),
    pytest.param(["s3:*Object"], "s3:GetObject", True, id="action-star-Object-suffix-matches"),
    pytest.param(["s3:*Object"], "s3:GetObjectAcl", False, id="action-star-Object-is-anchored"),
    pytest.param(
        ["iam:*AccessKey*"], "iam:CreateAccessKey", True, id="action-doc-star-AccessKey-star-matches"
    ),
    pytest.param(["s3:?etObject"], "s3:GetObject", True, id="action-question-one-char-matches"),
    pytest.param(["s3:?etObject"], "s3:etObject", False, id="action-question-needs-one-char"),
    pytest.param(["s3:Put.bject"], "s3:PutObject", False, id="action-dot-is-literal"),
    pytest.param(["s3:GetObject", "s3:PutObject"], "s3:PutObject", True, id="action-list-second-matches"),
    pytest.param(["s3:GetObject", "s3:PutObject"], "s3:DeleteObject", False, id="action-list-none-matches"),
    pytest.param(["s3:Get*", "kms:*"], "kms:Decrypt", True, id="action-two-wildcards-second-matches"),
    pytest.param(["s3:Get*", "kms:Gen*"], "kms:Decrypt", False, id="action-two-wildcards-none-matches"),
]


@pytest.mark.parametrize(("patterns", "action", "expected"), ACTIONS)
def test_action_matcher(patterns: list[str], action: str, expected: bool) -> None:
    assert compile_actions(tuple(patterns)).matches(action) is expected


@pytest.mark.parametrize(("patterns", "action", "expected"), ACTIONS)
def test_action_matches_agrees_with_compiled_matcher(
    patterns: list[str], action: str, expected: bool
) -> None:
    assert any(action_matches(p, action) for p in patterns) is expected


NOT_ACTION = [
    pytest.param({"NotAction": "s3:Delete*"}, "s3:PutObject", True, id="NotAction-unlisted-action-applies"),
    pytest.param({"NotAction": "s3:Delete*"}, "s3:DeleteObject", False, id="NotAction-listed-action-skipped"),
    pytest.param(
        {"NotAction": "S3:DELETE*"}, "s3:deleteObject", False, id="NotAction-case-insensitive-skipped"
    ),
    pytest.param(
        {"NotAction": ["iam:*", "kms:*"]}, "kms:Decrypt", False, id="NotAction-second-pattern-skipped"
    ),
    pytest.param({"NotAction": "iam:*"}, "kms:Decrypt", True, id="NotAction-other-service-applies"),
    pytest.param({"Action": "s3:*"}, "s3:DeleteObject", True, id="Action-service-star-applies"),
]


@pytest.mark.parametrize(("element", "action", "expected"), NOT_ACTION)
def test_action_and_not_action_in_a_statement(element: dict[str, Any], action: str, expected: bool) -> None:
    assert identity_allows({**element, "Resource": "*"}, action=action) is expected


# --- Resources --------------------------------------------------------------------------------

# A star that ends the region segment: under ArnLike it stays in its segment ("each of the six
# colon-delimited components of the ARN is checked separately"); in a Resource it runs on ("If the
# * wildcard is the last character of a resource ARN segment, it can expand to match beyond the
# colon boundaries", IAM "Resource" > "Using wildcards in resource ARNs").
DOC_PATTERN = f"arn:aws:someservice:*:{ACCOUNT}:finance/*"
DOC_VALUE = f"arn:aws:someservice:us-east-2:{OTHER}:store/abc:{ACCOUNT}:finance/document.txt"

RESOURCES = [
    pytest.param(
        ["arn:aws:s3:::bucket/*"], "arn:aws:s3:::bucket/a/b/c.txt", True, id="resource-star-crosses-slash"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/*"], "arn:aws:s3:::bucket/", True, id="resource-star-matches-empty-key"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/*"], "arn:aws:s3:::bucket", False, id="resource-bucket-star-not-bucket"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/*"], "arn:aws:s3:::bucket2/x", False, id="resource-slash-anchors-bucket"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket*"], "arn:aws:s3:::bucket-logs/x", True, id="resource-bucket-star-any-bucket"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/*"], "arn:aws:s3:::bucket/a:b:c", True, id="resource-star-crosses-colon-in-key"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/*"], "arn:aws:s3:::Bucket/x", False, id="resource-bucket-case-sensitive"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/Key"], "arn:aws:s3:::bucket/key", False, id="resource-key-case-sensitive"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/in/*"], "arn:aws:s3:::bucket/IN/x", False, id="resource-prefix-case-sensitive"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/?.txt"], "arn:aws:s3:::bucket/a.txt", True, id="resource-question-one-char"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/?.txt"], "arn:aws:s3:::bucket/ab.txt", False, id="resource-question-not-two"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/a?b"], "arn:aws:s3:::bucket/a/b", True, id="resource-question-matches-slash"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/a?b"], "arn:aws:s3:::bucket/a:b", True, id="resource-question-matches-colon"
    ),
    pytest.param(["arn:aws:s3:::bucket/a.b"], "arn:aws:s3:::bucket/aXb", False, id="resource-dot-is-literal"),
    pytest.param(
        ["arn:aws:s3:::bucket/a+(b)"], "arn:aws:s3:::bucket/a+(b)", True, id="resource-metachars-exact"
    ),
    pytest.param(
        ["arn:aws:s3:::bucket/a+*"], "arn:aws:s3:::bucket/a+(b)", True, id="resource-metachars-wildcard"
    ),
    pytest.param(["arn:aws:s3:::bucket/a+*"], "arn:aws:s3:::bucket/aa", False, id="resource-plus-is-literal"),
    pytest.param(
        ["*"], "arn:aws:kms:us-east-1:111122223333:key/k", True, id="resource-star-matches-anything"
    ),
    pytest.param(["arn:aws:s3:::*"], "arn:aws:s3:::any/key", True, id="resource-s3-star-any-object"),
    pytest.param(
        ["arn:aws:s3:::*"], f"arn:aws:sqs:us-east-1:{ACCOUNT}:q", False, id="resource-s3-star-not-sqs"
    ),
    pytest.param(
        [f"arn:aws:sqs:*:{ACCOUNT}:queue"],
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue",
        True,
        id="resource-region-star",
    ),
    pytest.param(
        ["arn:aws:sqs:us-east-1:*:queue"],
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue",
        True,
        id="resource-account-star",
    ),
    pytest.param(
        ["arn:aws:iam::11112222333?:root"],
        f"arn:aws:iam::{ACCOUNT}:root",
        True,
        id="resource-account-question",
    ),
    pytest.param(
        [f"arn:aws:iam::{ACCOUNT}:role/*"],
        f"arn:aws:iam::{OTHER}:role/x",
        False,
        id="resource-other-account-segment",
    ),
    pytest.param(
        [f"arn:aws:logs:*:{ACCOUNT}:log-group:app:*"],
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:app:log-stream:s1",
        True,
        id="resource-last-segment-star-crosses-colons",
    ),
    pytest.param(
        ["arn:aws:sqs:*"],
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue",
        True,
        id="resource-star-ending-short-pattern-crosses-colons",
    ),
    pytest.param(
        ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"], "arn:aws:s3:::b/x", True, id="resource-list-second-matches"
    ),
    pytest.param(
        ["arn:aws:s3:::a/*", "arn:aws:s3:::b/x"],
        "arn:aws:s3:::b/x",
        True,
        id="resource-list-exact-beside-wildcard",
    ),
    pytest.param(
        ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"], "arn:aws:s3:::c/x", False, id="resource-list-none-matches"
    ),
    pytest.param(
        [DOC_PATTERN], DOC_VALUE, True, id="resource-segment-ending-star-expands-beyond-colons-per-doc"
    ),
    pytest.param(
        ["arn:aws:s3:*:bucket/logs/10:*"],
        "arn:aws:s3:::bucket/logs/10:00:00.csv",
        True,
        id="resource-region-star-runs-over-the-account-segment",
    ),
    pytest.param(
        ["arn:aws:s3:*:bucket/logs/10:*"],
        "arn:aws:s3:::bucket/logs/11:00:00.csv",
        False,
        id="resource-region-star-running-on-still-needs-the-rest",
    ),
    pytest.param(
        ["arn:aws:s3:*x:bucket/logs/10:*"],
        "arn:aws:s3:::bucket/logs/10:00:00.csv",
        False,
        id="resource-star-before-more-of-its-segment-does-not-run-on",
    ),
    pytest.param(
        ["arn:aws:dynamodb:*:table/prod-*"],
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/prod-x",
        True,
        id="resource-short-pattern-is-one-string",
    ),
    pytest.param(
        ["arn:aws:sns:us-*:*:topic"],
        f"arn:aws:sns:us-east-1:{ACCOUNT}:topic",
        True,
        id="resource-region-prefix-star-ends-segment",
    ),
    pytest.param(
        ["arn:aws:sns:us-*:*:topic"],
        f"arn:aws:sns:eu-west-1:{ACCOUNT}:topic",
        False,
        id="resource-region-prefix-star-keeps-its-prefix",
    ),
    pytest.param(
        [f"arn:aws:sns:*-1:{ACCOUNT}:topic"],
        f"arn:aws:sns:us-east-1:{ACCOUNT}:topic",
        True,
        id="resource-mid-segment-star-within-segment",
    ),
    pytest.param(
        [f"arn:aws:sns:*-1:{ACCOUNT}:topic"],
        f"arn:aws:sns:a:b-1:{ACCOUNT}:topic",
        False,
        id="resource-mid-segment-star-does-not-cross-colon",
    ),
    pytest.param(
        [f"arn:aws:sns:us-east-?:{ACCOUNT}:topic"],
        f"arn:aws:sns:us-east-:{ACCOUNT}:topic",
        False,
        id="resource-question-in-head-is-one-char",
    ),
    pytest.param(
        [f"arn:aws:sns:us-eas?:1:{ACCOUNT}:topic"],
        f"arn:aws:sns:us-eas::1:{ACCOUNT}:topic",
        False,
        id="resource-question-in-head-never-a-colon",
    ),
    pytest.param(
        ["arn:aws:s3:**:bucket/logs/10:*"],
        "arn:aws:s3:::bucket/logs/10:00:00.csv",
        True,
        id="resource-double-star-ending-segment-runs-on",
    ),
    pytest.param(
        ["arn:aws:s3:*?:bucket/logs/10:*"],
        "arn:aws:s3:::bucket/logs/10:00:00.csv",
        False,
        id="resource-star-before-a-question-does-not-run-on",
    ),
]


@pytest.mark.parametrize(("patterns", "resource", "expected"), RESOURCES)
def test_resource_matcher(patterns: list[str], resource: str, expected: bool) -> None:
    assert compile_resources(tuple(patterns), variables=True).matches(resource) is expected


NOT_RESOURCE = [
    pytest.param(
        {"NotResource": "arn:aws:s3:::secret/*"},
        "arn:aws:s3:::public/x",
        True,
        id="NotResource-unlisted-applies",
    ),
    pytest.param(
        {"NotResource": "arn:aws:s3:::secret/*"},
        "arn:aws:s3:::secret/x",
        False,
        id="NotResource-listed-skipped",
    ),
    pytest.param(
        {"NotResource": "arn:aws:s3:::secret/*"},
        "arn:aws:s3:::Secret/x",
        True,
        id="NotResource-case-sensitive-applies",
    ),
    pytest.param(
        {"NotResource": ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"]},
        "arn:aws:s3:::b/x",
        False,
        id="NotResource-second-pattern-skipped",
    ),
]


@pytest.mark.parametrize(("element", "resource", "expected"), NOT_RESOURCE)
def test_not_resource_in_a_statement(element: dict[str, Any], resource: str, expected: bool) -> None:
    assert identity_allows({"Action": "s3:*", **element}, resource=resource) is expected


# --- ARNs segment by segment (ArnLike and policy-variable resources) ---------------------------

ARNS = [
    pytest.param("*", "arn:aws:s3:::bucket", True, id="arn-star-matches-anything"),
    pytest.param(
        f"arn:aws:sns:*:{ACCOUNT}:topic", f"arn:aws:sns:eu-west-1:{ACCOUNT}:topic", True, id="arn-region-star"
    ),
    pytest.param(
        f"arn:aws:sns:*:{ACCOUNT}:topic",
        f"arn:aws:sns:eu-west-1:{OTHER}:topic",
        False,
        id="arn-account-differs",
    ),
    pytest.param(
        "arn:aws:sns:us-*:*:topic",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:topic",
        True,
        id="arn-region-prefix-star",
    ),
    pytest.param(
        "arn:aws:sns:us-*:*:topic", f"arn:aws:sns:eu-west-1:{ACCOUNT}:topic", False, id="arn-region-prefix"
    ),
    pytest.param(DOC_PATTERN, DOC_VALUE, False, id="arn-doc-example-star-stays-in-segment"),
    pytest.param("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b/c", True, id="arn-last-segment-free"),
    pytest.param("arn:aws:s3:::Bucket", "arn:aws:s3:::bucket", False, id="arn-case-sensitive"),
    pytest.param(
        "arn:aws:iam::?11122223333:root", f"arn:aws:iam::{ACCOUNT}:root", True, id="arn-question-in-account"
    ),
    pytest.param("arn:aws:iam::?:root", f"arn:aws:iam::{ACCOUNT}:root", False, id="arn-question-is-one-char"),
]


@pytest.mark.parametrize(("pattern", "arn", "expected"), ARNS)
def test_arn_matches(pattern: str, arn: str, expected: bool) -> None:
    assert arn_matches(pattern, arn) is expected


GLOBS = [
    pytest.param("a*", "A-b", False, False, id="glob-case-sensitive-by-default"),
    pytest.param("a*", "A-b", True, True, id="glob-ignore-case"),
    pytest.param("ab", "AB", True, True, id="glob-literal-ignore-case"),
    pytest.param("ab", "AB", False, False, id="glob-literal-case-sensitive"),
    pytest.param("a?c", "abc", False, True, id="glob-question"),
    pytest.param("a[bc]", "ab", False, False, id="glob-brackets-are-literal"),
    pytest.param("a[bc]", "a[bc]", False, True, id="glob-brackets-literal-match"),
]


@pytest.mark.parametrize(("pattern", "value", "ignore_case", "expected"), GLOBS)
def test_glob_match(pattern: str, value: str, ignore_case: bool, expected: bool) -> None:
    assert glob_match(pattern, value, ignore_case=ignore_case) is expected


# --- Principals -------------------------------------------------------------------------------

PRINCIPALS = [
    pytest.param("*", SESSION, Scope.Anyone, id="principal-bare-star-session-Anyone"),
    pytest.param({"AWS": "*"}, SESSION, Scope.Anyone, id="principal-AWS-star-session-Anyone"),
    pytest.param({"AWS": ["*"]}, USER, Scope.Anyone, id="principal-AWS-star-list-user-Anyone"),
    pytest.param({"AWS": ACCOUNT}, SESSION, Scope.Account, id="principal-account-id-session-Account"),
    pytest.param(
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, USER, Scope.Account, id="principal-root-arn-user-Account"
    ),
    pytest.param(
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, ROOT, Scope.Account, id="principal-root-arn-root-Account"
    ),
    pytest.param({"AWS": OTHER}, SESSION, None, id="principal-other-account-id-no-match"),
    pytest.param(
        {"AWS": f"arn:aws:iam::{OTHER}:root"}, SESSION, None, id="principal-other-root-arn-no-match"
    ),
    pytest.param({"AWS": ROLE_ARN}, SESSION, Scope.Role, id="principal-role-arn-session-of-role-Role"),
    pytest.param({"AWS": ROLE_ARN}, ROLE, Scope.Role, id="principal-role-arn-role-without-session-Role"),
    pytest.param(
        {"AWS": SESSION_ARN}, SESSION, Scope.Principal, id="principal-session-arn-same-session-Principal"
    ),
    pytest.param(
        {"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/uploader/pod-2"},
        SESSION,
        None,
        id="principal-other-session-same-role-no-match",
    ),
    pytest.param(
        {"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}, SESSION, None, id="principal-other-role-no-match"
    ),
    pytest.param(
        {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Uploader"},
        SESSION,
        None,
        id="principal-role-arn-case-differs-no-match",
    ),
    pytest.param({"AWS": SESSION_ARN}, ROLE, None, id="principal-session-arn-role-without-session-no-match"),
    pytest.param({"AWS": USER.arn}, USER, Scope.Principal, id="principal-user-arn-same-user-Principal"),
    pytest.param({"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"}, USER, None, id="principal-other-user-no-match"),
    pytest.param({"AWS": USER.arn}, ROOT, None, id="principal-user-arn-root-caller-no-match"),
    pytest.param(
        {"AWS": [ACCOUNT, ROLE_ARN, SESSION_ARN]},
        SESSION,
        Scope.Principal,
        id="principal-list-most-direct-wins",
    ),
    pytest.param({"AWS": [OTHER, ROLE_ARN]}, SESSION, Scope.Role, id="principal-list-second-matches-Role"),
    pytest.param({"Service": "s3.amazonaws.com"}, SESSION, None, id="principal-service-never-an-iam-session"),
    pytest.param({"Service": "s3.amazonaws.com"}, ROOT, None, id="principal-service-never-root"),
    pytest.param(
        {"Federated": "cognito-identity.amazonaws.com"},
        USER,
        None,
        id="principal-federated-never-an-iam-user",
    ),
    pytest.param(
        {"AWS": "AROAEXAMPLEID123456789"}, SESSION, None, id="principal-unique-id-of-deleted-role-no-match"
    ),
]


def _resource_principals(value: object) -> Principals:
    document = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Principal": value, "Action": "s3:*", "Resource": "*"},
    }
    principal = parse_policy(document, "policy", PolicyKind.Resource).statements[0].principal
    assert principal is not None
    return principal


@pytest.mark.parametrize(("principal", "caller", "expected"), PRINCIPALS)
def test_principal_scope(principal: object, caller: Caller, expected: Scope | None) -> None:
    assert principal_scope(_resource_principals(principal), caller) == expected


@pytest.mark.parametrize(("principal", "caller", "expected"), PRINCIPALS)
def test_principal_scope_through_analyze(principal: object, caller: Caller, expected: Scope | None) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "Grant",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:*",
            "Resource": "*",
        },
    }
    policy = parse_policy(document, "bucket", PolicyKind.Resource)
    analysis = analyze(
        policy,
        PolicySource(PolicyOrigin.BucketPolicy),
        RequestContext("s3:PutObject", "arn:aws:s3:::b/k", caller),
    )
    assert [h.scope for h in analysis.allows] == ([] if expected is None else [expected])


NOT_PRINCIPALS = [
    pytest.param({"AWS": "*"}, SESSION, False, id="NotPrincipal-AWS-star-spares-everyone"),
    pytest.param({"AWS": OTHER}, SESSION, True, id="NotPrincipal-other-account-applies"),
    pytest.param({"AWS": ROLE_ARN}, SESSION, True, id="NotPrincipal-role-only-still-applies-to-session"),
    pytest.param(
        {"AWS": [ROLE_ARN, SESSION_ARN]}, SESSION, True, id="NotPrincipal-role-and-session-without-account"
    ),
    pytest.param(
        {"AWS": [ACCOUNT, ROLE_ARN, SESSION_ARN]},
        SESSION,
        False,
        id="NotPrincipal-account-role-session-spared",
    ),
    pytest.param(
        {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", ROLE_ARN, SESSION_ARN]},
        SESSION,
        False,
        id="NotPrincipal-root-arn-role-session-spared",
    ),
    pytest.param({"AWS": USER.arn}, USER, True, id="NotPrincipal-user-without-account-applies"),
    pytest.param({"AWS": [ACCOUNT, USER.arn]}, USER, False, id="NotPrincipal-user-and-account-spared"),
    pytest.param({"AWS": ACCOUNT}, ROOT, False, id="NotPrincipal-account-spares-root"),
    pytest.param({"AWS": [ACCOUNT, ROLE_ARN]}, ROLE, False, id="NotPrincipal-account-and-role-spare-role"),
]


@pytest.mark.parametrize(("principal", "caller", "expected"), NOT_PRINCIPALS)
def test_not_principal_applies(principal: object, caller: Caller, expected: bool) -> None:
    assert not_principal_applies(_resource_principals(principal), caller) is expected


# --- Policy variables -------------------------------------------------------------------------

VARS = {"aws:username": "alice", "aws:principaltag/team": "blue", "s3:prefix": "home/"}

SUBSTITUTE = [
    pytest.param("${aws:username}", "alice", id="var-username"),
    pytest.param("home/${aws:username}/*", "home/alice/*", id="var-inside-a-pattern"),
    pytest.param("${aws:PrincipalTag/team}", "blue", id="var-PrincipalTag-team"),
    pytest.param("${AWS:UserName}", "alice", id="var-key-name-case-insensitive"),
    pytest.param("${aws:username}-${aws:PrincipalTag/team}", "alice-blue", id="var-two-variables"),
    pytest.param("${*}", "*", id="var-escape-star"),
    pytest.param("${?}", "?", id="var-escape-question"),
    pytest.param("${$}", "$", id="var-escape-dollar"),
    pytest.param("a${$}{aws:username}", "a${aws:username}", id="var-escaped-dollar-not-expanded-again"),
    pytest.param("${aws:userid, 'anonymous'}", "anonymous", id="var-default-when-absent"),
    pytest.param("${aws:username, 'anonymous'}", "alice", id="var-default-ignored-when-present"),
    pytest.param("plain/$/text", "plain/$/text", id="var-no-variable-unchanged"),
]


@pytest.mark.parametrize(("value", "expected"), SUBSTITUTE)
def test_substitute(value: str, expected: str) -> None:
    assert substitute(value, lambda k: VARS.get(k.lower())) == expected


def test_resolve_keeps_the_policy_wildcards_and_makes_escapes_and_values_literal() -> None:
    tokens = resolve(template("a*${*}${aws:username}?${?}${$}"), lambda k: VARS.get(k.lower()))
    assert tokens == ("a", Wildcard.STAR, "*alice", Wildcard.ONE, "?$")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("${aws:userid}", id="unresolvable-absent-key"),
        pytest.param("home/${aws:username}/${aws:PrincipalTag/missing}", id="unresolvable-second-of-two"),
    ],
)
def test_substitute_without_the_key_is_unresolvable(value: str) -> None:
    with pytest.raises(Unresolvable):
        substitute(value, lambda k: VARS.get(k.lower()))


ALICE_HOME = "arn:aws:s3:::bucket/home/${aws:username}/*"

RESOURCE_VARIABLES = [
    pytest.param(
        ALICE_HOME,
        "arn:aws:s3:::bucket/home/alice/x",
        {"aws:username": "alice"},
        "2012-10-17",
        True,
        id="resource-var-own-home-allowed",
    ),
    pytest.param(
        ALICE_HOME,
        "arn:aws:s3:::bucket/home/bob/x",
        {"aws:username": "alice"},
        "2012-10-17",
        False,
        id="resource-var-other-home-refused",
    ),
    pytest.param(
        ALICE_HOME,
        "arn:aws:s3:::bucket/home/Alice/x",
        {"aws:username": "alice"},
        "2012-10-17",
        False,
        id="resource-var-value-case-sensitive-refused",
    ),
    pytest.param(
        ALICE_HOME,
        "arn:aws:s3:::bucket/home//x",
        {},
        "2012-10-17",
        False,
        id="resource-var-missing-key-matches-nothing",
    ),
    pytest.param(
        ALICE_HOME,
        "arn:aws:s3:::bucket/home/${aws:username}/x",
        {},
        "2012-10-17",
        False,
        id="resource-var-missing-key-not-literal",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*",
        "arn:aws:s3:::bucket/blue/x",
        {"aws:PrincipalTag/team": "blue"},
        "2012-10-17",
        True,
        id="resource-var-PrincipalTag-allowed",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/${aws:userid, 'anonymous'}/*",
        "arn:aws:s3:::bucket/anonymous/x",
        {},
        "2012-10-17",
        True,
        id="resource-var-default-value-used",
    ),
    pytest.param(
        ALICE_HOME,
        "arn:aws:s3:::bucket/home/${aws:username}/x",
        {"aws:username": "alice"},
        "2008-10-17",
        True,
        id="resource-var-2008-version-is-literal",
    ),
    pytest.param(
        ALICE_HOME,
        "arn:aws:s3:::bucket/home/alice/x",
        {"aws:username": "alice"},
        "2008-10-17",
        False,
        id="resource-var-2008-version-not-substituted",
    ),
    pytest.param(
        ALICE_HOME,
        "arn:aws:s3:::bucket/home/alice/x",
        {"aws:username": "alice"},
        None,
        False,
        id="resource-var-no-version-not-substituted",
    ),
    pytest.param(
        "arn:aws:s3:*:bucket/${aws:username}:*",
        "arn:aws:s3:::bucket/alice:x",
        {"aws:username": "alice"},
        "2012-10-17",
        True,
        id="resource-var-segment-ending-star-runs-on",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/price${$}",
        "arn:aws:s3:::bucket/price$",
        {},
        "2012-10-17",
        True,
        id="resource-var-escaped-dollar-matches-dollar",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/${*}",
        "arn:aws:s3:::bucket/*",
        {},
        "2012-10-17",
        True,
        id="resource-var-escaped-star-matches-literal-star",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/${*}",
        "arn:aws:s3:::bucket/anything",
        {},
        "2012-10-17",
        False,
        id="resource-var-escaped-star-is-not-a-wildcard-per-doc",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/why${?}",
        "arn:aws:s3:::bucket/whyX",
        {},
        "2012-10-17",
        False,
        id="resource-var-escaped-question-is-not-a-wildcard-per-doc",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/why${?}",
        "arn:aws:s3:::bucket/why?",
        {},
        "2012-10-17",
        True,
        id="resource-var-escaped-question-matches-literal-question",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/${*}/*",
        "arn:aws:s3:::bucket/*/x",
        {},
        "2012-10-17",
        True,
        id="resource-var-escaped-star-beside-a-wildcard-literal-part",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/${*}/*",
        "arn:aws:s3:::bucket/a/x",
        {},
        "2012-10-17",
        False,
        id="resource-var-escaped-star-beside-a-wildcard-stays-literal",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/x",
        "arn:aws:s3:::bucket/blue/x",
        {"aws:PrincipalTag/team": "*"},
        "2012-10-17",
        False,
        id="resource-var-value-from-request-is-literal-not-a-wildcard",
    ),
    pytest.param(
        "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/x",
        "arn:aws:s3:::bucket/*/x",
        {"aws:PrincipalTag/team": "*"},
        "2012-10-17",
        True,
        id="resource-var-value-from-request-matches-itself",
    ),
]


@pytest.mark.parametrize(("pattern", "resource", "keys", "version", "expected"), RESOURCE_VARIABLES)
def test_variables_in_resource(
    pattern: str, resource: str, keys: dict[str, Any], version: str | None, expected: bool
) -> None:
    statement = {"Action": "s3:GetObject", "Resource": pattern}
    assert identity_allows(statement, "s3:GetObject", resource, keys, version=version) is expected


def _condition_holds(condition: dict[str, Any], keys: dict[str, Any], version: str = "2012-10-17") -> bool:
    document = {
        "Version": version,
        "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": condition},
    }
    policy = parse_policy(document, "policy", PolicyKind.Identity)
    ctx = RequestContext("s3:ListBucket", "arn:aws:s3:::bucket", USER, normalize_keys(keys))
    analysis = analyze(policy, POLICY, ctx)
    assert len(analysis.allows) + len(analysis.near_misses) == 1
    return bool(analysis.allows)


ALICE = {"aws:username": "alice"}

CONDITION_VARIABLES = [
    pytest.param(
        {"StringEquals": {"s3:prefix": "home/${aws:username}/"}},
        {**ALICE, "s3:prefix": "home/alice/"},
        "2012-10-17",
        True,
        id="cond-var-StringEquals-own-prefix-true",
    ),
    pytest.param(
        {"StringEquals": {"s3:prefix": "home/${aws:username}/"}},
        {**ALICE, "s3:prefix": "home/bob/"},
        "2012-10-17",
        False,
        id="cond-var-StringEquals-other-prefix-false",
    ),
    pytest.param(
        {"StringLike": {"s3:prefix": "home/${aws:username}/*"}},
        {**ALICE, "s3:prefix": "home/alice/a/b"},
        "2012-10-17",
        True,
        id="cond-var-StringLike-doc-home-directory-true",
    ),
    pytest.param(
        {"StringEqualsIgnoreCase": {"s3:prefix": "${aws:username}"}},
        {**ALICE, "s3:prefix": "ALICE"},
        "2012-10-17",
        True,
        id="cond-var-StringEqualsIgnoreCase-true",
    ),
    pytest.param(
        {"StringEquals": {"aws:PrincipalTag/team": "${aws:ResourceTag/team}"}},
        {"aws:PrincipalTag/team": "blue", "aws:ResourceTag/team": "blue"},
        "2012-10-17",
        True,
        id="cond-var-PrincipalTag-equals-ResourceTag-true",
    ),
    pytest.param(
        {"StringEquals": {"aws:PrincipalTag/team": "${aws:ResourceTag/team}"}},
        {"aws:PrincipalTag/team": "blue", "aws:ResourceTag/team": "red"},
        "2012-10-17",
        False,
        id="cond-var-PrincipalTag-differs-from-ResourceTag-false",
    ),
    pytest.param(
        {"StringEquals": {"s3:prefix": "home/${aws:username}/"}},
        {"s3:prefix": "home//"},
        "2012-10-17",
        False,
        id="cond-var-StringEquals-missing-variable-false",
    ),
    pytest.param(
        {"StringLike": {"s3:prefix": "home/${aws:username}/*"}},
        {"s3:prefix": "home/${aws:username}/x"},
        "2012-10-17",
        False,
        id="cond-var-StringLike-missing-variable-not-literal-false",
    ),
    pytest.param(
        {"StringEquals": {"s3:prefix": "${aws:userid, 'anonymous'}"}},
        {"s3:prefix": "anonymous"},
        "2012-10-17",
        True,
        id="cond-var-default-value-true",
    ),
    pytest.param(
        {"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:${{aws:username}}"}},
        {**ALICE, "aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:alice"},
        "2012-10-17",
        True,
        id="cond-var-ArnEquals-true",
    ),
    pytest.param(
        {"StringEquals": {"s3:prefix": "${aws:username}"}},
        {**ALICE, "s3:prefix": "${aws:username}"},
        "2008-10-17",
        True,
        id="cond-var-2008-version-literal-true",
    ),
    pytest.param(
        {"StringEquals": {"s3:prefix": "${aws:username}"}},
        {**ALICE, "s3:prefix": "alice"},
        "2008-10-17",
        False,
        id="cond-var-2008-version-not-substituted-false",
    ),
    pytest.param(
        {"StringEquals": {"s3:prefix": "${*}"}},
        {"s3:prefix": "*"},
        "2012-10-17",
        True,
        id="cond-var-StringEquals-escaped-star-literal-true",
    ),
    pytest.param(
        {"StringEquals": {"s3:prefix": "${*}"}},
        {"s3:prefix": "abc"},
        "2012-10-17",
        False,
        id="cond-var-StringEquals-escaped-star-not-wildcard-false",
    ),
    pytest.param(
        {"StringLike": {"s3:prefix": "a${*}"}},
        {"s3:prefix": "aXYZ"},
        "2012-10-17",
        False,
        id="cond-var-StringLike-escaped-star-is-not-a-wildcard-per-doc",
    ),
    pytest.param(
        {"StringLike": {"s3:prefix": "a${*}"}},
        {"s3:prefix": "a*"},
        "2012-10-17",
        True,
        id="cond-var-StringLike-escaped-star-matches-literal-star",
    ),
    pytest.param(
        {"StringLike": {"s3:prefix": "*${*}"}},
        {"s3:prefix": "aXYZ*"},
        "2012-10-17",
        True,
        id="cond-var-StringLike-wildcard-then-escaped-star-true",
    ),
    pytest.param(
        {"StringLike": {"s3:prefix": "*${*}"}},
        {"s3:prefix": "aXYZ"},
        "2012-10-17",
        False,
        id="cond-var-StringLike-wildcard-then-escaped-star-needs-the-star",
    ),
    pytest.param(
        {"StringLike": {"s3:prefix": "why${?}"}},
        {"s3:prefix": "whyX"},
        "2012-10-17",
        False,
        id="cond-var-StringLike-escaped-question-is-not-a-wildcard",
    ),
    pytest.param(
        {"StringNotLike": {"s3:prefix": "a${*}"}},
        {"s3:prefix": "aXYZ"},
        "2012-10-17",
        True,
        id="cond-var-StringNotLike-escaped-star-literal-true",
    ),
    pytest.param(
        {"StringLike": {"s3:prefix": "home/${aws:username}/*"}},
        {"aws:username": "a*", "s3:prefix": "home/abc/x"},
        "2012-10-17",
        False,
        id="cond-var-StringLike-value-from-request-is-literal",
    ),
    pytest.param(
        {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic${{*}}"}},
        {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:topicX"},
        "2012-10-17",
        False,
        id="cond-var-ArnLike-escaped-star-is-not-a-wildcard",
    ),
    pytest.param(
        {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:*:{ACCOUNT}:${{aws:username}}-*"}},
        {**ALICE, "aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:alice-topic"},
        "2012-10-17",
        True,
        id="cond-var-ArnLike-variable-beside-wildcards-true",
    ),
    pytest.param(
        {"ArnLike": {"aws:SourceArn": DOC_PATTERN.replace(ACCOUNT, "${aws:PrincipalAccount}")}},
        {"aws:PrincipalAccount": ACCOUNT, "aws:SourceArn": DOC_VALUE},
        "2012-10-17",
        False,
        id="cond-var-ArnLike-star-stays-in-its-component",
    ),
    # IAM "Variables and tags" > "Policy variables with no value": "Inverted condition operators
    # like StringNotEquals or StringNotLike do match against a null value". (The same page's note
    # that a value "not present" makes "any attempt to match it" fail is the positive case above.)
    pytest.param(
        {"StringNotEquals": {"aws:PrincipalTag/team": "${aws:ResourceTag/team}"}},
        {"aws:PrincipalTag/team": "blue"},
        "2012-10-17",
        True,
        id="cond-var-StringNotEquals-missing-variable-matches-per-doc",
    ),
    pytest.param(
        {"StringNotLike": {"s3:prefix": "home/${aws:username}/*"}},
        {"s3:prefix": "home/alice/x"},
        "2012-10-17",
        True,
        id="cond-var-StringNotLike-missing-variable-matches-per-doc",
    ),
    pytest.param(
        {"StringNotEquals": {"s3:prefix": ["${aws:username}", "home/"]}},
        {"s3:prefix": "home/"},
        "2012-10-17",
        False,
        id="cond-var-StringNotEquals-missing-variable-other-value-still-counts",
    ),
    pytest.param(
        {"ArnNotLike": {"aws:SourceArn": f"arn:aws:sns:*:{ACCOUNT}:${{aws:username}}"}},
        {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:alice"},
        "2012-10-17",
        True,
        id="cond-var-ArnNotLike-missing-variable-matches",
    ),
]


@pytest.mark.parametrize(("condition", "keys", "version", "expected"), CONDITION_VARIABLES)
def test_variables_in_conditions(
    condition: dict[str, Any], keys: dict[str, Any], version: str, expected: bool
) -> None:
    assert _condition_holds(condition, keys, version) is expected


def test_doc_example_deny_when_the_principal_tag_is_not_set() -> None:
    """IAM "Policy variables with no value": "Access is explicitly denied when aws:principaltag/Team
    is not set", for this Deny with StringNotEquals; with the tag set to the object's, it does not apply."""
    document = {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Deny",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bucket/*",
            "Condition": {"StringNotEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}},
        },
    }
    policy = parse_policy(document, "policy", PolicyKind.Identity)

    def denies(keys: dict[str, Any]) -> bool:
        ctx = RequestContext("s3:GetObject", "arn:aws:s3:::bucket/key", USER, normalize_keys(keys))
        return bool(analyze(policy, POLICY, ctx).denies)

    assert denies({"s3:ExistingObjectTag/Team": "blue"}) is True
    assert denies({}) is True
    assert denies({"s3:ExistingObjectTag/Team": "blue", "aws:PrincipalTag/Team": "blue"}) is False
    assert denies({"s3:ExistingObjectTag/Team": "blue", "aws:PrincipalTag/Team": "red"}) is True


# A pattern whose one wildcard is a final "*" is matched as a prefix; every other wildcard pattern by
# the regex of its rule. Both must say the same: each pattern alone, and mixed in one element.
PREFIX_PATTERNS = [
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket/team-1/*",
    "arn:aws:s3:::bucket*",
    "arn:aws:kms:us-east-1:111122223333:*",
    "arn:aws:s3:::*",
    "arn:aws:s3:::bucket/a?/*",  # a "?" as well: regex
    "arn:aws:s3:::bucket/*/x*",  # two stars: regex
    "arn:aws:iam::*:role/app*",  # a star inside a segment: regex
]
PREFIX_VALUES = [
    "arn:aws:s3:::bucket",
    "arn:aws:s3:::bucket/",
    "arn:aws:s3:::bucket/team-1/a:b/c",
    "arn:aws:s3:::bucket-2/x",
    "arn:aws:s3:::bucket/ab/x",
    "arn:aws:s3:::bucket/q/xy",
    "arn:aws:kms:us-east-1:111122223333:key/1",
    "arn:aws:kms:us-east-1:444455556666:key/1",
    "arn:aws:iam::111122223333:role/app-1",
    "ARN:AWS:S3:::BUCKET/X",
]


def test_prefix_patterns_match_what_their_regex_matches() -> None:
    from bucketaccess.policy.wildcards import resource_pattern, split_wildcards

    for pattern in PREFIX_PATTERNS:
        matcher = compile_resources((pattern,), variables=False)
        regex = resource_pattern(split_wildcards(pattern))
        for value in PREFIX_VALUES:
            assert matcher.matches(value) is (regex.fullmatch(value) is not None), (pattern, value)
    mixed = compile_resources(tuple(PREFIX_PATTERNS), variables=False)
    assert mixed.prefixes and mixed.regex is not None  # both ways are used by one element
    for value in PREFIX_VALUES:
        expected = any(resource_pattern(split_wildcards(p)).fullmatch(value) for p in PREFIX_PATTERNS)
        assert mixed.matches(value) is expected, value
    actions = compile_actions(("s3:Put*", "S3:GET*", "kms:*Key"))
    assert actions.prefixes == ("s3:put", "s3:get")
    assert [
        actions.matches(a) for a in ("s3:PutObject", "s3:getobject", "kms:GenerateDataKey", "s3:List")
    ] == [
        True,
        True,
        True,
        False,
    ]
