"""Parsing and validating documents: every refusal names the field path, then says what is wrong.

IAM references:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bucketaccess.policy import (
    Effect,
    InvalidInput,
    PolicyKind,
    SetQualifier,
    parse_policy,
)

PATH = "spec.bucket.policy"
ROLE = "arn:aws:iam::111122223333:role/uploader"
ALLOW = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bucket/*"}
GRANT = {**ALLOW, "Principal": {"AWS": ROLE}}


def doc(*statements: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", **top, "Statement": list(statements)}


def without(statement: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k != key}


IDENTITY = PolicyKind.Identity
RESOURCE = PolicyKind.Resource
S0 = f"{PATH}.Statement[0]"

INVALID = [
    # The document and its top-level elements
    pytest.param(
        ["not", "an", "object"], IDENTITY, PATH, "must be a JSON object", id="document-not-an-object"
    ),
    pytest.param(
        {"Version": "2012-10-17", "Statement": [], "x": float("nan")},
        IDENTITY,
        PATH,
        "is not a JSON document",
        id="document-NaN-not-JSON",
    ),
    pytest.param(
        doc(ALLOW, Statements=[]),
        IDENTITY,
        f"{PATH}.Statements",
        "is not a policy element",
        id="unknown-top-level-element-Statements",
    ),
    pytest.param(
        {"Version": "2012-10-17"}, IDENTITY, f"{PATH}.Statement", "is required", id="Statement-missing"
    ),
    pytest.param(
        {"Version": "2012-10-17", "Statement": "Allow"},
        IDENTITY,
        f"{PATH}.Statement",
        "must be an object or a list",
        id="Statement-a-string",
    ),
    pytest.param(
        {"Version": "2012-10-18", "Statement": [ALLOW]},
        IDENTITY,
        f"{PATH}.Version",
        "must be one of 2012-10-17, 2008-10-17",
        id="Version-unknown-date",
    ),
    pytest.param(
        {"Version": "2012-10-17 ", "Statement": [ALLOW]},
        IDENTITY,
        f"{PATH}.Version",
        "must be one of",
        id="Version-trailing-space",
    ),
    pytest.param(
        {"Version": 2012, "Statement": [ALLOW]},
        IDENTITY,
        f"{PATH}.Version",
        "must be one of",
        id="Version-a-number",
    ),
    # Effect
    pytest.param(
        doc(without(ALLOW, "Effect")), IDENTITY, f"{S0}.Effect", "must be Allow or Deny", id="Effect-missing"
    ),
    pytest.param(
        doc({**ALLOW, "Effect": "Permit"}),
        IDENTITY,
        f"{S0}.Effect",
        "must be Allow or Deny",
        id="Effect-Permit",
    ),
    pytest.param(
        doc({**ALLOW, "Effect": ["Allow"]}),
        IDENTITY,
        f"{S0}.Effect",
        "must be Allow or Deny",
        id="Effect-a-list",
    ),
    pytest.param(
        doc(ALLOW, {**ALLOW, "Effect": "Maybe"}),
        IDENTITY,
        f"{PATH}.Statement[1].Effect",
        "must be Allow or Deny",
        id="Effect-bad-in-second-statement-indexed",
    ),
    # Statement elements
    pytest.param(
        {"Version": "2012-10-17", "Statement": ["Allow"]},
        IDENTITY,
        S0,
        "must be an object",
        id="statement-a-string",
    ),
    pytest.param(
        doc({**ALLOW, "Actions": "s3:*"}),
        IDENTITY,
        f"{S0}.Actions",
        "is not a statement element",
        id="unknown-statement-element-Actions",
    ),
    pytest.param(doc({**ALLOW, "Sid": 7}), IDENTITY, f"{S0}.Sid", "must be a string", id="Sid-a-number"),
    # Action / NotAction
    pytest.param(
        doc({**ALLOW, "NotAction": "s3:GetObject"}),
        IDENTITY,
        f"{S0}.NotAction",
        "cannot be combined with Action",
        id="Action-and-NotAction",
    ),
    pytest.param(
        doc(without(ALLOW, "Action")),
        IDENTITY,
        f"{S0}.Action",
        "is required (or NotAction)",
        id="Action-missing",
    ),
    pytest.param(
        doc({**ALLOW, "Action": "PutObject"}),
        IDENTITY,
        f"{S0}.Action",
        "is not service:action",
        id="Action-without-service-prefix",
    ),
    pytest.param(
        doc({**ALLOW, "Action": ":PutObject"}),
        IDENTITY,
        f"{S0}.Action",
        "is not service:action",
        id="Action-empty-service-prefix",
    ),
    pytest.param(
        doc({**ALLOW, "Action": []}),
        IDENTITY,
        f"{S0}.Action",
        "non-empty list of strings",
        id="Action-empty-list",
    ),
    pytest.param(
        doc({**ALLOW, "Action": ["s3:PutObject", 5]}),
        IDENTITY,
        f"{S0}.Action",
        "non-empty list of strings",
        id="Action-list-with-a-number",
    ),
    pytest.param(
        doc({**without(ALLOW, "Action"), "NotAction": "Delete*"}),
        IDENTITY,
        f"{S0}.NotAction",
        "is not service:action",
        id="NotAction-without-service-prefix",
    ),
    # Resource / NotResource
    pytest.param(
        doc({**ALLOW, "NotResource": "arn:aws:s3:::other/*"}),
        IDENTITY,
        f"{S0}.NotResource",
        "cannot be combined with Resource",
        id="Resource-and-NotResource",
    ),
    pytest.param(
        doc(without(ALLOW, "Resource")),
        IDENTITY,
        f"{S0}.Resource",
        "is required (or NotResource)",
        id="Resource-missing",
    ),
    pytest.param(
        doc({**ALLOW, "Resource": {"arn": "x"}}),
        IDENTITY,
        f"{S0}.Resource",
        "must be a string",
        id="Resource-an-object",
    ),
    # Principal / NotPrincipal
    pytest.param(
        doc(GRANT),
        IDENTITY,
        f"{S0}.Principal",
        "is not allowed in an identity-side policy",
        id="Principal-in-identity-policy",
    ),
    pytest.param(
        doc({**ALLOW, "NotPrincipal": {"AWS": ROLE}}),
        IDENTITY,
        f"{S0}.NotPrincipal",
        "is not allowed in an identity-side policy",
        id="NotPrincipal-in-identity-policy",
    ),
    pytest.param(
        doc(ALLOW),
        RESOURCE,
        f"{S0}.Principal",
        "is required in a resource-based policy",
        id="Principal-missing-in-resource-policy",
    ),
    pytest.param(
        doc({**GRANT, "NotPrincipal": {"AWS": ROLE}}),
        RESOURCE,
        f"{S0}.NotPrincipal",
        "cannot be combined with Principal",
        id="Principal-and-NotPrincipal",
    ),
    pytest.param(
        doc({**ALLOW, "Principal": "alice"}),
        RESOURCE,
        f"{S0}.Principal",
        'must be "*" or an object',
        id="Principal-a-bare-name",
    ),
    pytest.param(
        doc({**ALLOW, "Principal": {}}),
        RESOURCE,
        f"{S0}.Principal",
        'must be "*" or an object',
        id="Principal-empty-object",
    ),
    pytest.param(
        doc({**ALLOW, "Principal": {"Aws": ROLE}}),
        RESOURCE,
        f"{S0}.Principal.Aws",
        "must be AWS, Service, Federated or CanonicalUser",
        id="Principal-key-Aws-wrong-case",
    ),
    pytest.param(
        doc({**ALLOW, "Principal": {"AWS": "arn:aws:iam::111122223333:role/*"}}),
        RESOURCE,
        f"{S0}.Principal.AWS",
        "wildcards are not allowed",
        id="Principal-AWS-wildcard-in-ARN",
    ),
    pytest.param(
        doc({**ALLOW, "Principal": {"AWS": ["111122223333", "bob"]}}),
        RESOURCE,
        f"{S0}.Principal.AWS[1]",
        "is not an account id",
        id="Principal-AWS-second-entry-indexed",
    ),
    pytest.param(
        doc({**ALLOW, "Principal": {"AWS": "11112222333"}}),
        RESOURCE,
        f"{S0}.Principal.AWS",
        "is not an account id",
        id="Principal-AWS-eleven-digit-account",
    ),
    pytest.param(
        doc({**ALLOW, "NotPrincipal": {"AWS": "bob"}}),
        RESOURCE,
        f"{S0}.NotPrincipal.AWS",
        "is not an account id",
        id="NotPrincipal-AWS-bad-entry",
    ),
    pytest.param(
        doc({**ALLOW, "Principal": {"Service": []}}),
        RESOURCE,
        f"{S0}.Principal.Service",
        "non-empty list of strings",
        id="Principal-Service-empty-list",
    ),
    # Condition
    pytest.param(
        doc({**ALLOW, "Condition": ["StringEquals"]}),
        IDENTITY,
        f"{S0}.Condition",
        "must be an object of condition operators",
        id="Condition-a-list",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"StringEqualz": {"s3:prefix": "a"}}}),
        IDENTITY,
        f"{S0}.Condition.StringEqualz",
        "is not a condition operator",
        id="Condition-unknown-operator",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"ForSomeValues:StringEquals": {"aws:TagKeys": "a"}}}),
        IDENTITY,
        f"{S0}.Condition.ForSomeValues:StringEquals",
        "is not a condition operator",
        id="Condition-unknown-set-qualifier",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"NullIfExists": {"aws:TokenIssueTime": "true"}}}),
        IDENTITY,
        f"{S0}.Condition.NullIfExists",
        "is not a condition operator",
        id="Condition-NullIfExists",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"StringEquals": {}}}),
        IDENTITY,
        f"{S0}.Condition.StringEquals",
        "must be a non-empty object of condition keys",
        id="Condition-operator-with-no-keys",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"StringEquals": "a"}}),
        IDENTITY,
        f"{S0}.Condition.StringEquals",
        "must be a non-empty object of condition keys",
        id="Condition-operator-with-a-string",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"StringEquals": {"s3:prefix": []}}}),
        IDENTITY,
        f"{S0}.Condition.StringEquals.s3:prefix",
        "must have at least one value",
        id="Condition-key-with-empty-list",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"StringEquals": {"s3:prefix": {"a": "b"}}}}),
        IDENTITY,
        f"{S0}.Condition.StringEquals.s3:prefix",
        "values must be strings, numbers or booleans",
        id="Condition-value-an-object",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"NumericLessThan": {"s3:max-keys": "ten"}}}),
        IDENTITY,
        f"{S0}.Condition.NumericLessThan.s3:max-keys",
        "'ten' is not a number",
        id="Condition-NumericLessThan-non-number",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"NumericEquals": {"s3:max-keys": ["1", "Infinity"]}}}),
        IDENTITY,
        f"{S0}.Condition.NumericEquals.s3:max-keys",
        "'Infinity' is not a number",
        id="Condition-NumericEquals-second-value-infinite",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"DateLessThan": {"aws:CurrentTime": "next tuesday"}}}),
        IDENTITY,
        f"{S0}.Condition.DateLessThan.aws:CurrentTime",
        "is not a date",
        id="Condition-Date-malformed",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"Bool": {"aws:SecureTransport": "yes"}}}),
        IDENTITY,
        f"{S0}.Condition.Bool.aws:SecureTransport",
        "is not true or false",
        id="Condition-Bool-yes",
    ),
    # IAM "Condition operators": Numeric, Date and IP address take no policy variables ("Not
    # supported"), so a ${...} there is a malformed value; Bool takes them.
    pytest.param(
        doc({**ALLOW, "Condition": {"NumericLessThan": {"s3:max-keys": "${aws:PrincipalTag/max}"}}}),
        IDENTITY,
        f"{S0}.Condition.NumericLessThan.s3:max-keys",
        "is not a number",
        id="Condition-Numeric-policy-variable-not-supported",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"DateLessThan": {"aws:CurrentTime": "${aws:PrincipalTag/until}"}}}),
        IDENTITY,
        f"{S0}.Condition.DateLessThan.aws:CurrentTime",
        "is not a date",
        id="Condition-Date-policy-variable-not-supported",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"IpAddress": {"aws:SourceIp": "${aws:PrincipalTag/cidr}"}}}),
        IDENTITY,
        f"{S0}.Condition.IpAddress.aws:SourceIp",
        "is not an IP address",
        id="Condition-IpAddress-policy-variable-not-supported",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"Null": {"aws:TokenIssueTime": "absent"}}}),
        IDENTITY,
        f"{S0}.Condition.Null.aws:TokenIssueTime",
        "is not true or false",
        id="Condition-Null-not-boolean",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.300/24"}}}),
        IDENTITY,
        f"{S0}.Condition.IpAddress.aws:SourceIp",
        "is not an IP address or CIDR block",
        id="Condition-IpAddress-octet-out-of-range",
    ),
    pytest.param(
        doc({**ALLOW, "Condition": {"NotIpAddressIfExists": {"aws:SourceIp": "10.0.0.0/33"}}}),
        IDENTITY,
        f"{S0}.Condition.NotIpAddressIfExists.aws:SourceIp",
        "is not an IP address",
        id="Condition-NotIpAddressIfExists-prefix-too-long",
    ),
    pytest.param(
        doc(ALLOW, {**ALLOW, "Condition": {"StringLikk": {"s3:prefix": "a"}}}),
        IDENTITY,
        f"{PATH}.Statement[1].Condition.StringLikk",
        "is not a condition operator",
        id="Condition-unknown-operator-second-statement-indexed",
    ),
]


@pytest.mark.parametrize(("document", "kind", "path", "message"), INVALID)
def test_invalid_documents_name_the_field(document: Any, kind: PolicyKind, path: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_policy(document, PATH, kind)
    error = info.value
    assert error.path == path
    assert message in error.message, error.message
    assert str(error) == f"{path}: {error.message}"


def test_statement_object_accepted_as_a_single_statement() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": ALLOW}, PATH, PolicyKind.Identity)
    assert len(policy.statements) == 1
    assert policy.statements[0].effect is Effect.Allow


def test_version_defaults_to_2008_and_then_takes_no_variables() -> None:
    policy = parse_policy({"Statement": [ALLOW]}, PATH, PolicyKind.Identity)
    assert policy.version == "2008-10-17"
    assert policy.supports_variables is False
    assert parse_policy(doc(ALLOW), PATH, PolicyKind.Identity).supports_variables is True


VALID_STATEMENTS = [
    pytest.param({**ALLOW, "Sid": ""}, IDENTITY, "label", "#0", id="empty-Sid-labels-by-index"),
    pytest.param({**ALLOW, "Sid": "Uploads"}, IDENTITY, "label", "Uploads", id="Sid-is-the-label"),
    pytest.param({**ALLOW, "Effect": "Deny"}, IDENTITY, "effect", Effect.Deny, id="Effect-Deny"),
    pytest.param({**ALLOW, "Action": "*"}, IDENTITY, "actions", ("*",), id="Action-bare-star"),
    pytest.param(
        {**ALLOW, "Action": ["s3:Get*", "s3:Put*"]},
        IDENTITY,
        "actions",
        ("s3:Get*", "s3:Put*"),
        id="Action-list-kept-in-order",
    ),
    pytest.param(
        {**without(ALLOW, "Resource"), "NotResource": "arn:aws:s3:::x/*"},
        IDENTITY,
        "resources",
        None,
        id="NotResource-leaves-Resource-None",
    ),
    pytest.param(
        {**ALLOW, "Principal": "*"}, RESOURCE, "principal.anyone", True, id="Principal-star-is-anyone"
    ),
    pytest.param(
        {**ALLOW, "Principal": {"AWS": "*"}},
        RESOURCE,
        "principal.anyone",
        True,
        id="Principal-AWS-star-is-anyone",
    ),
    pytest.param(
        {**ALLOW, "Principal": {"AWS": ROLE}},
        RESOURCE,
        "principal.anyone",
        False,
        id="Principal-role-is-not-anyone",
    ),
    pytest.param(
        {**ALLOW, "Principal": {"AWS": [ROLE, "111122223333"]}},
        RESOURCE,
        "principal.aws",
        (ROLE, "111122223333"),
        id="Principal-AWS-list-kept",
    ),
    pytest.param(
        {**ALLOW, "Principal": {"Service": "s3.amazonaws.com"}},
        RESOURCE,
        "principal.service",
        ("s3.amazonaws.com",),
        id="Principal-Service-kept",
    ),
    pytest.param(
        {**ALLOW, "NotPrincipal": {"AWS": ROLE}},
        RESOURCE,
        "not_principal.aws",
        (ROLE,),
        id="NotPrincipal-satisfies-resource-policy",
    ),
]


@pytest.mark.parametrize(("statement", "kind", "attribute", "expected"), VALID_STATEMENTS)
def test_valid_statements(statement: dict[str, Any], kind: PolicyKind, attribute: str, expected: Any) -> None:
    value: Any = parse_policy(doc(statement), PATH, kind).statements[0]
    for part in attribute.split("."):
        value = getattr(value, part)
    assert value == expected


CLAUSES = [
    pytest.param(
        {"StringEquals": {"s3:prefix": "a"}},
        ("StringEquals", SetQualifier.NONE, False, ("a",)),
        id="clause-plain-string-value",
    ),
    pytest.param(
        {"Bool": {"aws:SecureTransport": True}},
        ("Bool", SetQualifier.NONE, False, ("true",)),
        id="clause-json-true-becomes-true",
    ),
    pytest.param(
        {"Bool": {"aws:SecureTransport": False}},
        ("Bool", SetQualifier.NONE, False, ("false",)),
        id="clause-json-false-becomes-false",
    ),
    pytest.param(
        {"NumericLessThan": {"s3:max-keys": 10}},
        ("NumericLessThan", SetQualifier.NONE, False, ("10",)),
        id="clause-json-number-becomes-text",
    ),
    pytest.param(
        {"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*", "b"]}},
        ("StringLike", SetQualifier.ForAnyValue, True, ("a*", "b")),
        id="clause-qualifier-and-IfExists",
    ),
    pytest.param(
        {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        ("DateGreaterThan", SetQualifier.NONE, False, ("2020-01-01T00:00:00Z",)),
        id="clause-date",
    ),
    pytest.param(
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8::/32"]}},
        ("IpAddress", SetQualifier.NONE, False, ("203.0.113.0/24", "2001:DB8::/32")),
        id="clause-mixed-ip-families",
    ),
]


@pytest.mark.parametrize(("condition", "expected"), CLAUSES)
def test_condition_clauses(
    condition: dict[str, Any], expected: tuple[str, SetQualifier, bool, tuple[str, ...]]
) -> None:
    (clause,) = (
        parse_policy(doc({**ALLOW, "Condition": condition}), PATH, PolicyKind.Identity)
        .statements[0]
        .conditions
    )
    assert (clause.operator.name, clause.qualifier, clause.if_exists, clause.values) == expected
    assert clause.written == next(iter(condition))
    assert clause.key == next(iter(condition[clause.written]))


def test_two_keys_under_one_operator_become_two_clauses() -> None:
    condition = {
        "StringEquals": {"aws:PrincipalTag/a": "1", "aws:PrincipalTag/b": "2"},
        "Bool": {"k": "true"},
    }
    clauses = (
        parse_policy(doc({**ALLOW, "Condition": condition}), PATH, PolicyKind.Identity)
        .statements[0]
        .conditions
    )
    assert [(c.operator.name, c.key) for c in clauses] == [
        ("StringEquals", "aws:PrincipalTag/a"),
        ("StringEquals", "aws:PrincipalTag/b"),
        ("Bool", "k"),
    ]


def test_equal_documents_share_one_parsed_policy() -> None:
    document = doc(ALLOW, Id="one")
    first = parse_policy(document, PATH, PolicyKind.Identity)
    assert parse_policy(copy.deepcopy(document), "elsewhere", PolicyKind.Identity) is first


def test_the_cache_keeps_identity_and_resource_apart() -> None:
    # The same document is valid on the resource side and must still be refused on the identity side.
    document = doc(GRANT, Id="cache-kind")
    assert parse_policy(document, PATH, PolicyKind.Resource).statements[0].principal is not None
    with pytest.raises(InvalidInput) as info:
        parse_policy(document, PATH, PolicyKind.Identity)
    assert info.value.path == f"{S0}.Principal"


def test_a_refused_document_is_refused_every_time() -> None:
    document = doc({**ALLOW, "Effect": "Permit"}, Id="refused")
    for _ in range(2):
        with pytest.raises(InvalidInput):
            parse_policy(document, PATH, PolicyKind.Identity)
