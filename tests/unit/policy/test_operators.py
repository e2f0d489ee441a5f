"""Condition operators, one table per family, through the public path: parse_policy + analyze.

Each row is ``(condition block, request keys, does the condition hold)``. A request key set to
``ABSENT`` is left out of the request context. Semantics are those of the IAM reference:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
"""

from __future__ import annotations

from typing import Any

import pytest

from bucketaccess.policy import (
    Caller,
    InvalidInput,
    PolicyKind,
    PolicyOrigin,
    PolicySource,
    PrincipalKind,
    RequestContext,
    SetQualifier,
    analyze,
    normalize_keys,
    parse_policy,
)
from bucketaccess.policy.conditions import split_operator

ACCOUNT = "111122223333"
CALLER = Caller(f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT, PrincipalKind.User)
ABSENT = object()


def holds(condition: dict[str, Any], keys: dict[str, Any], version: str = "2012-10-17") -> bool:
    """Does a statement with this Condition block apply to a request carrying these keys?"""
    document = {
        "Version": version,
        "Statement": {
            "Sid": "Under",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": "*",
            "Condition": condition,
        },
    }
    policy = parse_policy(document, "policy", PolicyKind.Identity)
    present = {k: v for k, v in keys.items() if v is not ABSENT}
    ctx = RequestContext("s3:PutObject", "arn:aws:s3:::bucket/key", CALLER, normalize_keys(present))
    analysis = analyze(policy, PolicySource(PolicyOrigin.Identity, "policy"), ctx)
    # Action and resource always match, so the statement is either a hit or a near miss.
    assert len(analysis.allows) + len(analysis.near_misses) == 1, analysis
    return bool(analysis.allows)


def one(operator: str, key: str, policy_values: Any, request_value: Any) -> tuple[dict[str, Any], dict]:
    return {operator: {key: policy_values}}, {key: request_value}


# --- String -----------------------------------------------------------------------------------

TEAM = "aws:PrincipalTag/team"

STRING = [
    pytest.param("StringEquals", "team-a", "team-a", True, id="StringEquals-same-value-matches"),
    pytest.param("StringEquals", "team-a", "Team-A", False, id="StringEquals-other-case-does-not-match"),
    pytest.param("StringEquals", "team-a", "team-b", False, id="StringEquals-other-value-does-not-match"),
    pytest.param("StringEquals", "team-*", "team-a", False, id="StringEquals-star-is-literal-no-match"),
    pytest.param("StringEquals", "team-*", "team-*", True, id="StringEquals-star-literal-matches-itself"),
    pytest.param(
        "StringEquals",
        ["team-a", "team-b"],
        "team-b",
        True,
        id="StringEquals-second-of-two-values-ORed-matches",
    ),
    pytest.param(
        "StringEquals", ["team-a", "team-b"], "team-c", False, id="StringEquals-none-of-two-values-no-match"
    ),
    pytest.param("StringEquals", "team-a", ABSENT, False, id="StringEquals-absent-key-false"),
    pytest.param("StringEquals", "", "", True, id="StringEquals-empty-string-matches-empty"),
    pytest.param("StringNotEquals", "team-a", "team-b", True, id="StringNotEquals-other-value-true"),
    pytest.param("StringNotEquals", "team-a", "team-a", False, id="StringNotEquals-same-value-false"),
    pytest.param("StringNotEquals", "team-a", "TEAM-A", True, id="StringNotEquals-other-case-true"),
    pytest.param(
        "StringNotEquals",
        ["team-a", "team-b"],
        "team-b",
        False,
        id="StringNotEquals-equal-to-second-value-NOR-false",
    ),
    pytest.param(
        "StringNotEquals",
        ["team-a", "team-b"],
        "team-c",
        True,
        id="StringNotEquals-equal-to-no-value-NOR-true",
    ),
    pytest.param("StringNotEquals", "team-a", ABSENT, True, id="StringNotEquals-absent-key-true"),
    pytest.param(
        "StringEqualsIgnoreCase", "team-a", "TEAM-a", True, id="StringEqualsIgnoreCase-other-case-matches"
    ),
    pytest.param(
        "StringEqualsIgnoreCase", "team-a", "team-b", False, id="StringEqualsIgnoreCase-other-value-no-match"
    ),
    pytest.param(
        "StringEqualsIgnoreCase", "team-a", ABSENT, False, id="StringEqualsIgnoreCase-absent-key-false"
    ),
    pytest.param(
        "StringNotEqualsIgnoreCase",
        "team-a",
        "TEAM-A",
        False,
        id="StringNotEqualsIgnoreCase-other-case-false",
    ),
    pytest.param(
        "StringNotEqualsIgnoreCase", "team-a", "team-b", True, id="StringNotEqualsIgnoreCase-other-value-true"
    ),
    pytest.param(
        "StringNotEqualsIgnoreCase", "team-a", ABSENT, True, id="StringNotEqualsIgnoreCase-absent-key-true"
    ),
]


@pytest.mark.parametrize(("operator", "policy_values", "request_value", "expected"), STRING)
def test_string_operators(operator: str, policy_values: Any, request_value: Any, expected: bool) -> None:
    assert holds(*one(operator, TEAM, policy_values, request_value)) is expected


PREFIX = "s3:prefix"

STRING_LIKE = [
    pytest.param(
        "StringLike", "home/*", "home/alice/photo.jpg", True, id="StringLike-star-crosses-slash-matches"
    ),
    pytest.param("StringLike", "home/*", "home/", True, id="StringLike-star-matches-empty-run"),
    pytest.param("StringLike", "home/*", "Home/alice", False, id="StringLike-case-sensitive-no-match"),
    pytest.param("StringLike", "home/*", "tmp/home/x", False, id="StringLike-anchored-at-start-no-match"),
    pytest.param("StringLike", "*.jpg", "a/b.jpg.txt", False, id="StringLike-anchored-at-end-no-match"),
    pytest.param("StringLike", "home/", "home/alice", False, id="StringLike-no-wildcard-no-partial-match"),
    pytest.param("StringLike", "file-?.txt", "file-1.txt", True, id="StringLike-question-one-char-matches"),
    pytest.param(
        "StringLike", "file-?.txt", "file-10.txt", False, id="StringLike-question-two-chars-no-match"
    ),
    pytest.param(
        "StringLike", "file-?.txt", "file-.txt", False, id="StringLike-question-zero-chars-no-match"
    ),
    pytest.param("StringLike", "a?c", "a/c", True, id="StringLike-question-matches-slash"),
    pytest.param("StringLike", "a*b*c", "aXXbYYc", True, id="StringLike-two-stars-match"),
    pytest.param("StringLike", "*", "", True, id="StringLike-star-alone-matches-empty-value"),
    pytest.param("StringLike", "a.b", "aXb", False, id="StringLike-dot-is-literal-no-match"),
    pytest.param("StringLike", "a+(b)[c]", "a+(b)[c]", True, id="StringLike-regex-metachars-literal-match"),
    pytest.param(
        "StringLike",
        ["", "home/", "home/alice/"],
        "home/",
        True,
        id="StringLike-doc-prefix-list-second-matches",
    ),
    pytest.param("StringLike", "home/*", ABSENT, False, id="StringLike-absent-key-false"),
    pytest.param("StringNotLike", "home/*", "tmp/x", True, id="StringNotLike-no-match-true"),
    pytest.param("StringNotLike", "home/*", "home/x", False, id="StringNotLike-match-false"),
    pytest.param(
        "StringNotLike", ["tmp/*", "home/*"], "home/x", False, id="StringNotLike-matches-second-NOR-false"
    ),
    pytest.param("StringNotLike", "home/*", ABSENT, True, id="StringNotLike-absent-key-true"),
]


@pytest.mark.parametrize(("operator", "policy_values", "request_value", "expected"), STRING_LIKE)
def test_string_like_operators(operator: str, policy_values: Any, request_value: Any, expected: bool) -> None:
    assert holds(*one(operator, PREFIX, policy_values, request_value)) is expected


# --- Numeric ----------------------------------------------------------------------------------

MAX_KEYS = "s3:max-keys"

NUMERIC = [
    pytest.param("NumericEquals", "10", "10", True, id="NumericEquals-same-number-true"),
    pytest.param("NumericEquals", "10", "10.0", True, id="NumericEquals-10-vs-10.0-numeric-not-textual-true"),
    pytest.param("NumericEquals", "10", "010", True, id="NumericEquals-leading-zero-true"),
    pytest.param("NumericEquals", 10, 10, True, id="NumericEquals-json-numbers-true"),
    pytest.param("NumericEquals", "10", "11", False, id="NumericEquals-other-number-false"),
    pytest.param("NumericEquals", "10", "ten", False, id="NumericEquals-non-number-request-value-false"),
    pytest.param("NumericEquals", "10", "", False, id="NumericEquals-empty-request-value-false"),
    pytest.param("NumericEquals", "10", "NaN", False, id="NumericEquals-NaN-request-value-false"),
    pytest.param("NumericEquals", ["5", "10"], "10", True, id="NumericEquals-second-of-two-values-true"),
    pytest.param("NumericEquals", "10", ABSENT, False, id="NumericEquals-absent-key-false"),
    pytest.param("NumericNotEquals", "10", "11", True, id="NumericNotEquals-other-number-true"),
    pytest.param("NumericNotEquals", "10", "10.00", False, id="NumericNotEquals-equal-number-false"),
    pytest.param("NumericNotEquals", ["5", "10"], "5", False, id="NumericNotEquals-equal-to-first-NOR-false"),
    pytest.param("NumericNotEquals", "10", ABSENT, True, id="NumericNotEquals-absent-key-true"),
    pytest.param("NumericLessThan", "10", "9", True, id="NumericLessThan-9-lt-10-true"),
    pytest.param("NumericLessThan", "10", "10", False, id="NumericLessThan-10-lt-10-false"),
    pytest.param("NumericLessThan", "10", "9.99", True, id="NumericLessThan-decimal-true"),
    pytest.param("NumericLessThan", "-1.5", "-2", True, id="NumericLessThan-negative-true"),
    pytest.param("NumericLessThan", "10", "abc", False, id="NumericLessThan-non-number-request-value-false"),
    pytest.param(
        "NumericLessThan", "10", "-Infinity", False, id="NumericLessThan-infinity-request-value-false"
    ),
    pytest.param("NumericLessThan", "10", ABSENT, False, id="NumericLessThan-absent-key-false"),
    pytest.param("NumericLessThanEquals", "10", "10", True, id="NumericLessThanEquals-equal-true"),
    pytest.param("NumericLessThanEquals", "10", "11", False, id="NumericLessThanEquals-greater-false"),
    pytest.param("NumericGreaterThan", "10", "11", True, id="NumericGreaterThan-11-gt-10-true"),
    pytest.param("NumericGreaterThan", "10", "10", False, id="NumericGreaterThan-equal-false"),
    pytest.param(
        "NumericGreaterThan", "10", "100", True, id="NumericGreaterThan-100-numeric-not-lexical-true"
    ),
    pytest.param("NumericGreaterThanEquals", "10", "10", True, id="NumericGreaterThanEquals-equal-true"),
    pytest.param("NumericGreaterThanEquals", "10", "9", False, id="NumericGreaterThanEquals-less-false"),
    pytest.param(
        "NumericGreaterThanEquals",
        "10",
        "2",
        False,
        id="NumericGreaterThanEquals-2-numeric-not-lexical-false",
    ),
]


@pytest.mark.parametrize(("operator", "policy_values", "request_value", "expected"), NUMERIC)
def test_numeric_operators(operator: str, policy_values: Any, request_value: Any, expected: bool) -> None:
    assert holds(*one(operator, MAX_KEYS, policy_values, request_value)) is expected


# --- Date -------------------------------------------------------------------------------------

NOW_KEY = "aws:CurrentTime"
NEW_YEAR = "2020-01-01T00:00:00Z"
NEW_YEAR_EPOCH = "1577836800"

DATE = [
    pytest.param("DateEquals", NEW_YEAR, NEW_YEAR, True, id="DateEquals-same-instant-true"),
    pytest.param("DateEquals", NEW_YEAR, NEW_YEAR_EPOCH, True, id="DateEquals-iso-policy-epoch-request-true"),
    pytest.param("DateEquals", NEW_YEAR_EPOCH, NEW_YEAR, True, id="DateEquals-epoch-policy-iso-request-true"),
    pytest.param(
        "DateEquals",
        NEW_YEAR,
        "2020-01-01T01:00:00+01:00",
        True,
        id="DateEquals-same-instant-other-offset-true",
    ),
    pytest.param(
        "DateEquals", NEW_YEAR, "2020-01-01T00:00:01Z", False, id="DateEquals-one-second-later-false"
    ),
    pytest.param("DateEquals", NEW_YEAR, "yesterday", False, id="DateEquals-malformed-request-value-false"),
    pytest.param("DateEquals", NEW_YEAR, ABSENT, False, id="DateEquals-absent-key-false"),
    pytest.param(
        "DateNotEquals", NEW_YEAR, "2021-06-01T00:00:00Z", True, id="DateNotEquals-other-instant-true"
    ),
    pytest.param(
        "DateNotEquals", NEW_YEAR, NEW_YEAR_EPOCH, False, id="DateNotEquals-same-instant-epoch-false"
    ),
    pytest.param("DateNotEquals", NEW_YEAR, ABSENT, True, id="DateNotEquals-absent-key-true"),
    pytest.param(
        "DateLessThan", NEW_YEAR, "2019-12-31T23:59:59Z", True, id="DateLessThan-one-second-before-true"
    ),
    pytest.param("DateLessThan", NEW_YEAR, NEW_YEAR, False, id="DateLessThan-same-instant-false"),
    pytest.param("DateLessThan", NEW_YEAR, "1577836799", True, id="DateLessThan-epoch-request-before-true"),
    pytest.param(
        "DateLessThan", "2020-01-02", "2020-01-01T12:00:00Z", True, id="DateLessThan-date-only-policy-true"
    ),
    pytest.param(
        "DateLessThan", NEW_YEAR, "not-a-date", False, id="DateLessThan-malformed-request-value-false"
    ),
    pytest.param("DateLessThan", NEW_YEAR, ABSENT, False, id="DateLessThan-absent-key-false"),
    pytest.param("DateLessThanEquals", NEW_YEAR, NEW_YEAR, True, id="DateLessThanEquals-same-instant-true"),
    pytest.param(
        "DateLessThanEquals", NEW_YEAR, "2020-01-01T00:00:01Z", False, id="DateLessThanEquals-after-false"
    ),
    pytest.param(
        "DateGreaterThan", NEW_YEAR, "2020-01-01T00:00:01Z", True, id="DateGreaterThan-one-second-after-true"
    ),
    pytest.param("DateGreaterThan", NEW_YEAR, NEW_YEAR, False, id="DateGreaterThan-same-instant-false"),
    pytest.param(
        "DateGreaterThan",
        NEW_YEAR,
        "2020-01-01T00:30:00+01:00",
        False,
        id="DateGreaterThan-earlier-via-offset-false",
    ),
    pytest.param(
        "DateGreaterThanEquals", NEW_YEAR, NEW_YEAR, True, id="DateGreaterThanEquals-same-instant-true"
    ),
    pytest.param(
        "DateGreaterThanEquals",
        NEW_YEAR,
        "2019-12-31T23:59:59Z",
        False,
        id="DateGreaterThanEquals-before-false",
    ),
]


@pytest.mark.parametrize(("operator", "policy_values", "request_value", "expected"), DATE)
def test_date_operators(operator: str, policy_values: Any, request_value: Any, expected: bool) -> None:
    assert holds(*one(operator, NOW_KEY, policy_values, request_value)) is expected


# --- Bool and BinaryEquals --------------------------------------------------------------------

TLS = "aws:SecureTransport"

BOOL = [
    pytest.param("true", "true", True, id="Bool-true-vs-true-matches"),
    pytest.param("true", "false", False, id="Bool-true-vs-false-no-match"),
    pytest.param("false", "false", True, id="Bool-false-vs-false-matches"),
    pytest.param(True, True, True, id="Bool-json-true-vs-python-True-matches"),
    pytest.param(False, True, False, id="Bool-json-false-vs-python-True-no-match"),
    pytest.param("true", "True", True, id="Bool-case-insensitive-matches"),
    pytest.param("true", "yes", False, id="Bool-non-boolean-request-value-no-match"),
    pytest.param("true", ABSENT, False, id="Bool-absent-key-false"),
    pytest.param("false", ABSENT, False, id="Bool-false-absent-key-still-false"),
]


@pytest.mark.parametrize(("policy_value", "request_value", "expected"), BOOL)
def test_bool(policy_value: Any, request_value: Any, expected: bool) -> None:
    assert holds(*one("Bool", TLS, policy_value, request_value)) is expected


# IAM "Condition operators" > Boolean condition operators: "Policy variables - Supported".
MFA = "aws:MultiFactorAuthPresent"
MFA_TAG = "aws:PrincipalTag/mfa-required"

BOOL_VARIABLES = [
    pytest.param({MFA: "true", MFA_TAG: "true"}, True, id="Bool-variable-true-vs-true-matches"),
    pytest.param({MFA: "false", MFA_TAG: "true"}, False, id="Bool-variable-false-vs-true-no-match"),
    pytest.param({MFA: "TRUE", MFA_TAG: "true"}, True, id="Bool-variable-case-insensitive-matches"),
    pytest.param({MFA: "true", MFA_TAG: "yes"}, False, id="Bool-variable-non-boolean-value-no-match"),
    pytest.param({MFA: "true"}, False, id="Bool-variable-without-its-key-no-match"),
    pytest.param({MFA_TAG: "true"}, False, id="Bool-variable-absent-condition-key-false"),
]


@pytest.mark.parametrize(("keys", "expected"), BOOL_VARIABLES)
def test_bool_accepts_a_policy_variable(keys: dict[str, Any], expected: bool) -> None:
    assert holds({"Bool": {MFA: "${aws:PrincipalTag/mfa-required}"}}, keys) is expected


def test_bool_variable_default_applies() -> None:
    assert holds({"Bool": {MFA: "${aws:PrincipalTag/mfa-required, 'true'}"}}, {MFA: "true"}) is True


def test_bool_variable_is_a_malformed_value_before_2012_10_17() -> None:
    # Before Version 2012-10-17 "${...}" is literal text (IAM "Variables and tags"), not true or false.
    with pytest.raises(InvalidInput, match="is not true or false"):
        holds({"Bool": {MFA: "${aws:PrincipalTag/mfa-required}"}}, {MFA: "true"}, version="2008-10-17")


BLOB = "kms:EncryptionContext:blob"
B64 = "QmluYXJ5VmFsdWVJbkJhc2U2NA=="

BINARY = [
    pytest.param(B64, B64, True, id="BinaryEquals-same-base64-matches"),
    pytest.param(B64, "QmluYXJ5VmFsdWVJbkJhc2U2NQ==", False, id="BinaryEquals-other-base64-no-match"),
    pytest.param([B64, "AAAA"], "AAAA", True, id="BinaryEquals-second-of-two-values-matches"),
    pytest.param(B64, ABSENT, False, id="BinaryEquals-absent-key-false"),
]


@pytest.mark.parametrize(("policy_values", "request_value", "expected"), BINARY)
def test_binary_equals(policy_values: Any, request_value: Any, expected: bool) -> None:
    assert holds(*one("BinaryEquals", BLOB, policy_values, request_value)) is expected


# --- IP address -------------------------------------------------------------------------------

SOURCE_IP = "aws:SourceIp"

IP = [
    pytest.param("IpAddress", "203.0.113.0/24", "203.0.113.7", True, id="IpAddress-inside-v4-cidr-true"),
    pytest.param("IpAddress", "203.0.113.0/24", "203.0.114.1", False, id="IpAddress-outside-v4-cidr-false"),
    pytest.param(
        "IpAddress", "203.0.113.0/24", "203.0.113.255", True, id="IpAddress-broadcast-edge-inside-true"
    ),
    pytest.param(
        "IpAddress", "203.0.113.7", "203.0.113.7", True, id="IpAddress-bare-address-is-slash-32-true"
    ),
    pytest.param(
        "IpAddress", "203.0.113.7", "203.0.113.8", False, id="IpAddress-bare-address-neighbour-false"
    ),
    pytest.param("IpAddress", "0.0.0.0/0", "198.51.100.1", True, id="IpAddress-all-v4-true"),
    pytest.param(
        "IpAddress",
        "2001:DB8:1234:5678::/64",
        "2001:db8:1234:5678::1",
        True,
        id="IpAddress-inside-v6-cidr-true",
    ),
    pytest.param(
        "IpAddress",
        "2001:DB8:1234:5678::/64",
        "2001:db8:1234:5679::1",
        False,
        id="IpAddress-outside-v6-cidr-false",
    ),
    pytest.param(
        "IpAddress", "2001:DB8::/32", "203.0.113.7", False, id="IpAddress-v4-request-vs-v6-cidr-false"
    ),
    pytest.param(
        "IpAddress",
        ["203.0.113.0/24", "2001:DB8:1234:5678::/64"],
        "2001:db8:1234:5678::abcd",
        True,
        id="IpAddress-mixed-v4-v6-list-ORed-true",
    ),
    pytest.param(
        "IpAddress", "203.0.113.0/24", "not-an-ip", False, id="IpAddress-malformed-request-value-false"
    ),
    pytest.param("IpAddress", "203.0.113.0/24", ABSENT, False, id="IpAddress-absent-key-false"),
    pytest.param("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True, id="NotIpAddress-outside-cidr-true"),
    pytest.param("NotIpAddress", "203.0.113.0/24", "203.0.113.7", False, id="NotIpAddress-inside-cidr-false"),
    pytest.param(
        "NotIpAddress",
        ["10.0.0.0/8", "203.0.113.0/24"],
        "203.0.113.7",
        False,
        id="NotIpAddress-inside-second-cidr-NOR-false",
    ),
    pytest.param("NotIpAddress", "203.0.113.0/24", ABSENT, True, id="NotIpAddress-absent-key-true"),
]


@pytest.mark.parametrize(("operator", "policy_values", "request_value", "expected"), IP)
def test_ip_address_operators(operator: str, policy_values: Any, request_value: Any, expected: bool) -> None:
    assert holds(*one(operator, SOURCE_IP, policy_values, request_value)) is expected


# --- ARN --------------------------------------------------------------------------------------

SOURCE_ARN = "aws:SourceArn"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:topic-a"
# The example of the IAM reference: StringLike matches, ArnLike does not (segments are separate).
DOC_PATTERN = "arn:aws:someservice:*:111122223333:finance/*"
DOC_VALUE = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"

ARN = [
    pytest.param("ArnEquals", TOPIC, TOPIC, True, id="ArnEquals-same-arn-true"),
    pytest.param(
        "ArnEquals", TOPIC, TOPIC.replace("topic-a", "Topic-A"), False, id="ArnEquals-case-sensitive-false"
    ),
    pytest.param(
        "ArnEquals",
        f"arn:aws:sns:*:{ACCOUNT}:topic-*",
        TOPIC,
        True,
        id="ArnEquals-wildcards-like-ArnLike-true",
    ),
    pytest.param(
        "ArnLike", f"arn:aws:sns:*:{ACCOUNT}:topic-*", TOPIC, True, id="ArnLike-region-and-name-star-true"
    ),
    pytest.param(
        "ArnLike", "arn:aws:sns:us-east-?:*:topic-a", TOPIC, True, id="ArnLike-question-in-region-true"
    ),
    pytest.param("ArnLike", "arn:aws:sns:*:444455556666:*", TOPIC, False, id="ArnLike-other-account-false"),
    pytest.param("ArnLike", "arn:aws:*:*:*:*", TOPIC, True, id="ArnLike-all-segments-star-true"),
    pytest.param(
        "ArnLike", DOC_PATTERN, DOC_VALUE, False, id="ArnLike-doc-example-star-stays-in-segment-false"
    ),
    pytest.param(
        "ArnLike",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:app:*",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:app:log-stream:s1",
        True,
        id="ArnLike-resource-segment-star-crosses-colon-true",
    ),
    pytest.param(
        "ArnLike", f"arn:aws:sns:*:{ACCOUNT}:*", "topic-a", False, id="ArnLike-request-not-an-arn-false"
    ),
    pytest.param("ArnLike", f"arn:aws:sns:*:{ACCOUNT}:*", ABSENT, False, id="ArnLike-absent-key-false"),
    pytest.param(
        "ArnNotEquals", TOPIC, TOPIC.replace("topic-a", "topic-b"), True, id="ArnNotEquals-other-arn-true"
    ),
    pytest.param("ArnNotEquals", TOPIC, TOPIC, False, id="ArnNotEquals-same-arn-false"),
    pytest.param("ArnNotEquals", TOPIC, ABSENT, True, id="ArnNotEquals-absent-key-true"),
    pytest.param(
        "ArnNotLike", f"arn:aws:sns:*:{ACCOUNT}:*", TOPIC, False, id="ArnNotLike-matching-pattern-false"
    ),
    pytest.param(
        "ArnNotLike", "arn:aws:sns:*:444455556666:*", TOPIC, True, id="ArnNotLike-other-account-true"
    ),
    pytest.param("ArnNotLike", f"arn:aws:sns:*:{ACCOUNT}:*", ABSENT, True, id="ArnNotLike-absent-key-true"),
]


@pytest.mark.parametrize(("operator", "policy_values", "request_value", "expected"), ARN)
def test_arn_operators(operator: str, policy_values: Any, request_value: Any, expected: bool) -> None:
    assert holds(*one(operator, SOURCE_ARN, policy_values, request_value)) is expected


def test_string_like_matches_where_arn_like_does_not() -> None:
    # The documented contrast, as a pair: the same pattern and value under the two families.
    assert holds(*one("StringLike", SOURCE_ARN, DOC_PATTERN, DOC_VALUE)) is True
    assert holds(*one("ArnLike", SOURCE_ARN, DOC_PATTERN, DOC_VALUE)) is False


# --- Null -------------------------------------------------------------------------------------

ISSUED = "aws:TokenIssueTime"

NULL = [
    pytest.param("true", ABSENT, True, id="Null-true-absent-key-true"),
    pytest.param("true", NEW_YEAR, False, id="Null-true-present-key-false"),
    pytest.param("false", NEW_YEAR, True, id="Null-false-present-key-true"),
    pytest.param("false", ABSENT, False, id="Null-false-absent-key-false"),
    pytest.param(True, ABSENT, True, id="Null-json-true-absent-key-true"),
    pytest.param(False, NEW_YEAR, True, id="Null-json-false-present-key-true"),
]


@pytest.mark.parametrize(("policy_value", "request_value", "expected"), NULL)
def test_null(policy_value: Any, request_value: Any, expected: bool) -> None:
    assert holds(*one("Null", ISSUED, policy_value, request_value)) is expected


# --- ...IfExists ------------------------------------------------------------------------------

IF_EXISTS = [
    pytest.param("StringEqualsIfExists", TEAM, "team-a", ABSENT, True, id="StringEqualsIfExists-absent-true"),
    pytest.param(
        "StringEqualsIfExists", TEAM, "team-a", "team-a", True, id="StringEqualsIfExists-match-true"
    ),
    pytest.param(
        "StringEqualsIfExists", TEAM, "team-a", "team-b", False, id="StringEqualsIfExists-mismatch-false"
    ),
    pytest.param(
        "StringNotEqualsIfExists", TEAM, "team-a", ABSENT, True, id="StringNotEqualsIfExists-absent-true"
    ),
    pytest.param(
        "StringNotEqualsIfExists", TEAM, "team-a", "team-a", False, id="StringNotEqualsIfExists-equal-false"
    ),
    pytest.param("StringLikeIfExists", PREFIX, "home/*", ABSENT, True, id="StringLikeIfExists-absent-true"),
    pytest.param(
        "StringLikeIfExists", PREFIX, "home/*", "tmp/x", False, id="StringLikeIfExists-mismatch-false"
    ),
    pytest.param(
        "NumericLessThanIfExists", MAX_KEYS, "10", ABSENT, True, id="NumericLessThanIfExists-absent-true"
    ),
    pytest.param(
        "NumericLessThanIfExists", MAX_KEYS, "10", "20", False, id="NumericLessThanIfExists-20-false"
    ),
    pytest.param(
        "NumericLessThanIfExists", MAX_KEYS, "10", "x", False, id="NumericLessThanIfExists-non-number-false"
    ),
    pytest.param(
        "DateLessThanIfExists", NOW_KEY, NEW_YEAR, ABSENT, True, id="DateLessThanIfExists-absent-true"
    ),
    pytest.param(
        "DateLessThanIfExists", NOW_KEY, NEW_YEAR, "2021-01-01", False, id="DateLessThanIfExists-after-false"
    ),
    pytest.param("BoolIfExists", TLS, "true", ABSENT, True, id="BoolIfExists-absent-true"),
    pytest.param("BoolIfExists", TLS, "true", "false", False, id="BoolIfExists-false-value-false"),
    pytest.param(
        "IpAddressIfExists", SOURCE_IP, "10.0.0.0/8", ABSENT, True, id="IpAddressIfExists-absent-true"
    ),
    pytest.param(
        "NotIpAddressIfExists",
        SOURCE_IP,
        "10.0.0.0/8",
        "10.1.2.3",
        False,
        id="NotIpAddressIfExists-inside-false",
    ),
    pytest.param(
        "ArnLikeIfExists", SOURCE_ARN, "arn:aws:sns:*:*:*", ABSENT, True, id="ArnLikeIfExists-absent-true"
    ),
    pytest.param(
        "ArnLikeIfExists",
        SOURCE_ARN,
        "arn:aws:sqs:*:*:*",
        TOPIC,
        False,
        id="ArnLikeIfExists-other-service-false",
    ),
]


@pytest.mark.parametrize(("operator", "key", "policy_values", "request_value", "expected"), IF_EXISTS)
def test_if_exists(operator: str, key: str, policy_values: Any, request_value: Any, expected: bool) -> None:
    assert holds(*one(operator, key, policy_values, request_value)) is expected


# --- Set qualifiers over multi-valued keys ----------------------------------------------------

TAG_KEYS = "aws:TagKeys"
ATTRS = "dynamodb:Attributes"

SET_QUALIFIERS = [
    # ForAllValues: every request value must match; an absent or empty key is vacuously true.
    pytest.param(
        "ForAllValues:StringEquals",
        TAG_KEYS,
        ["env", "team"],
        ABSENT,
        True,
        id="ForAllValues-absent-key-true",
    ),
    pytest.param(
        "ForAllValues:StringEquals", TAG_KEYS, ["env", "team"], [], True, id="ForAllValues-empty-list-true"
    ),
    pytest.param(
        "ForAllValues:StringEquals",
        TAG_KEYS,
        ["env", "team"],
        ["team", "env"],
        True,
        id="ForAllValues-all-listed-true",
    ),
    pytest.param(
        "ForAllValues:StringEquals",
        TAG_KEYS,
        ["env", "team"],
        ["env"],
        True,
        id="ForAllValues-subset-of-list-true",
    ),
    pytest.param(
        "ForAllValues:StringEquals",
        TAG_KEYS,
        ["env", "team"],
        ["env", "cost"],
        False,
        id="ForAllValues-one-unlisted-false",
    ),
    pytest.param(
        "ForAllValues:StringLike",
        TAG_KEYS,
        ["app-*"],
        ["app-a", "app-b"],
        True,
        id="ForAllValues-StringLike-all-match-true",
    ),
    pytest.param(
        "ForAllValues:StringLike",
        ATTRS,
        ["PostDateTime", "Message", "Tags"],
        ["PostDateTime", "UserName"],
        False,
        id="ForAllValues-StringLike-doc-example-UserName-unlisted-false",
    ),
    pytest.param(
        "ForAllValues:StringEqualsIgnoreCase",
        TAG_KEYS,
        ["env"],
        ["ENV", "Env"],
        True,
        id="ForAllValues-IgnoreCase-true",
    ),
    pytest.param(
        "ForAllValues:StringNotEquals",
        TAG_KEYS,
        ["owner"],
        ["env", "team"],
        True,
        id="ForAllValues-StringNotEquals-none-forbidden-true",
    ),
    pytest.param(
        "ForAllValues:StringNotEquals",
        TAG_KEYS,
        ["owner"],
        ["env", "owner"],
        False,
        id="ForAllValues-StringNotEquals-one-forbidden-false",
    ),
    pytest.param(
        "ForAllValues:StringEqualsIfExists",
        TAG_KEYS,
        ["env"],
        ABSENT,
        True,
        id="ForAllValues-IfExists-absent-true",
    ),
    # ForAnyValue: at least one request value must match; an absent or empty key is false.
    pytest.param(
        "ForAnyValue:StringEquals",
        TAG_KEYS,
        ["env", "team"],
        ABSENT,
        False,
        id="ForAnyValue-absent-key-false",
    ),
    pytest.param(
        "ForAnyValue:StringEquals", TAG_KEYS, ["env", "team"], [], False, id="ForAnyValue-empty-list-false"
    ),
    pytest.param(
        "ForAnyValue:StringEquals",
        TAG_KEYS,
        ["env", "team"],
        ["cost", "team"],
        True,
        id="ForAnyValue-one-listed-true",
    ),
    pytest.param(
        "ForAnyValue:StringEquals",
        TAG_KEYS,
        ["env", "team"],
        ["cost", "owner"],
        False,
        id="ForAnyValue-none-listed-false",
    ),
    pytest.param(
        "ForAnyValue:StringEquals",
        TAG_KEYS,
        ["env"],
        "env",
        True,
        id="ForAnyValue-single-valued-key-listed-true",
    ),
    pytest.param(
        "ForAnyValue:StringLike",
        ATTRS,
        ["ID", "PostDateTime"],
        ["UserName", "Message", "PostDateTime"],
        True,
        id="ForAnyValue-StringLike-doc-example-PostDateTime-true",
    ),
    pytest.param(
        "ForAnyValue:StringLike",
        ATTRS,
        ["ID", "PostDateTime"],
        ["UserName"],
        False,
        id="ForAnyValue-StringLike-doc-example-UserName-false",
    ),
    pytest.param(
        "ForAnyValue:StringNotEquals",
        TAG_KEYS,
        ["env"],
        ["env", "cost"],
        True,
        id="ForAnyValue-StringNotEquals-one-other-true",
    ),
    pytest.param(
        "ForAnyValue:StringNotEquals",
        TAG_KEYS,
        ["env"],
        ["env"],
        False,
        id="ForAnyValue-StringNotEquals-all-listed-false",
    ),
    pytest.param(
        "ForAnyValue:StringEqualsIfExists",
        TAG_KEYS,
        ["env"],
        ABSENT,
        True,
        id="ForAnyValue-IfExists-absent-true",
    ),
    pytest.param(
        "ForAnyValue:StringEqualsIfExists",
        TAG_KEYS,
        ["env"],
        ["cost"],
        False,
        id="ForAnyValue-IfExists-present-unlisted-false",
    ),
    pytest.param(
        "ForAnyValue:IpAddress",
        SOURCE_IP,
        "10.0.0.0/8",
        ["192.0.2.1", "10.9.9.9"],
        True,
        id="ForAnyValue-IpAddress-one-inside-true",
    ),
    pytest.param(
        "ForAllValues:IpAddress",
        SOURCE_IP,
        "10.0.0.0/8",
        ["192.0.2.1", "10.9.9.9"],
        False,
        id="ForAllValues-IpAddress-one-outside-false",
    ),
]


@pytest.mark.parametrize(("operator", "key", "policy_values", "request_value", "expected"), SET_QUALIFIERS)
def test_set_qualifiers(
    operator: str, key: str, policy_values: Any, request_value: Any, expected: bool
) -> None:
    assert holds(*one(operator, key, policy_values, request_value)) is expected


# --- Blocks: AND across keys and operators, key names case-insensitive --------------------------

BLOCKS = [
    pytest.param(
        {"StringEquals": {TEAM: "a", "aws:PrincipalTag/env": "prod"}},
        {TEAM: "a", "aws:PrincipalTag/env": "prod"},
        True,
        id="block-two-keys-one-operator-both-hold-true",
    ),
    pytest.param(
        {"StringEquals": {TEAM: "a", "aws:PrincipalTag/env": "prod"}},
        {TEAM: "a", "aws:PrincipalTag/env": "dev"},
        False,
        id="block-two-keys-one-operator-one-fails-AND-false",
    ),
    pytest.param(
        {"StringEquals": {TEAM: "a"}, "Bool": {TLS: "true"}},
        {TEAM: "a", TLS: "false"},
        False,
        id="block-two-operators-one-fails-AND-false",
    ),
    pytest.param(
        {"StringEquals": {TEAM: "a"}, "Bool": {TLS: "true"}},
        {TEAM: "a", TLS: "true"},
        True,
        id="block-two-operators-both-hold-true",
    ),
    pytest.param(
        {"IpAddress": {"AWS:SOURCEIP": "10.0.0.0/8"}},
        {"aws:sourceip": "10.1.1.1"},
        True,
        id="block-policy-key-upper-case-request-lower-case-true",
    ),
    pytest.param(
        {"IpAddress": {"aws:sourceip": "10.0.0.0/8"}},
        {"AWS:SourceIP": "10.1.1.1"},
        True,
        id="block-policy-key-lower-case-request-mixed-case-true",
    ),
]


@pytest.mark.parametrize(("condition", "keys", "expected"), BLOCKS)
def test_condition_blocks(condition: dict[str, Any], keys: dict[str, Any], expected: bool) -> None:
    assert holds(condition, keys) is expected


# --- Splitting a written operator into qualifier, family and IfExists ---------------------------

SPLIT = [
    pytest.param("StringEquals", (SetQualifier.NONE, "StringEquals", False), id="split-plain"),
    pytest.param("StringLikeIfExists", (SetQualifier.NONE, "StringLike", True), id="split-IfExists"),
    pytest.param(
        "ForAnyValue:StringLikeIfExists",
        (SetQualifier.ForAnyValue, "StringLike", True),
        id="split-ForAnyValue-IfExists",
    ),
    pytest.param(
        "ForAllValues:StringNotEquals",
        (SetQualifier.ForAllValues, "StringNotEquals", False),
        id="split-ForAllValues-negated",
    ),
    pytest.param(
        "NotIpAddressIfExists", (SetQualifier.NONE, "NotIpAddress", True), id="split-NotIpAddressIfExists"
    ),
    pytest.param("Null", (SetQualifier.NONE, "Null", False), id="split-Null"),
    pytest.param("NullIfExists", None, id="split-NullIfExists-unknown"),
    pytest.param("IfExists", None, id="split-bare-IfExists-unknown"),
    pytest.param("ForSomeValues:StringEquals", None, id="split-unknown-qualifier"),
    pytest.param("StringEqualz", None, id="split-unknown-operator"),
    pytest.param("ForAnyValue:", None, id="split-qualifier-without-operator"),
]


@pytest.mark.parametrize(("written", "expected"), SPLIT)
def test_split_operator(written: str, expected: tuple[SetQualifier, str, bool] | None) -> None:
    split = split_operator(written)
    assert (split and (split[0], split[1].name, split[2])) == expected
