"""Condition operators: one positive comparison per operator family.

Each negated operator (``StringNotEquals``, ``NotIpAddress``, ...) is defined once as the negation
of its positive twin, and ``...IfExists`` / ``ForAllValues:`` / ``ForAnyValue:`` are applied once,
in :mod:`bucketaccess.policy.conditions`, never per family.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from .records import fast_init
from .variables import text as plain_text
from .wildcards import Tokens, arn_matches, arn_pattern, glob_match, glob_pattern

Compare = Callable[[str, str], bool]
CompareTokens = Callable[[str, Tokens], bool]
Validate = Callable[[str], str | None]


@fast_init
@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    compare: Compare  # the positive comparison of one request value with one policy value
    negated: bool = False
    variables: bool = False  # policy variables are substituted in its values
    validate: Validate | None = None  # None, or a message when a policy value is malformed
    # Operators whose policy values are wildcard patterns: compare one request value with a policy
    # value whose variables were resolved into wildcard tokens, where ${*} and ${?} are literal.
    compare_tokens: CompareTokens | None = None
    verb: str = "is"  # how explanations say the comparison: "KEY is V", "matches V", "is in V"


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


@lru_cache(maxsize=4096)
def parse_instant(text: str) -> datetime | None:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@lru_cache(maxsize=4096)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _numeric(test: Callable[[Decimal, Decimal], bool]) -> Compare:
    def compare(actual: str, expected: str) -> bool:
        a, e = _number(actual), _number(expected)
        return a is not None and e is not None and test(a, e)

    return compare


def _dated(test: Callable[[datetime, datetime], bool]) -> Compare:
    def compare(actual: str, expected: str) -> bool:
        a, e = parse_instant(actual), parse_instant(expected)
        return a is not None and e is not None and test(a, e)

    return compare


def _in_network(actual: str, expected: str) -> bool:
    net = _network(expected)
    try:
        addr = ipaddress.ip_address(actual.strip())
    except ValueError:
        return False
    return net is not None and addr.version == net.version and addr in net


def _arn_like(actual: str, expected: str) -> bool:
    # Each of the six ARN components is compared on its own, so a pattern with fewer never matches.
    return actual.count(":") >= 5 and expected.count(":") >= 5 and arn_matches(expected, actual)


def _like_tokens(actual: str, expected: Tokens) -> bool:
    return glob_pattern(expected).fullmatch(actual) is not None


def _arn_like_tokens(actual: str, expected: Tokens) -> bool:
    return (
        actual.count(":") >= 5
        and plain_text(expected).count(":") >= 5
        and arn_pattern(expected).fullmatch(actual) is not None
    )


def _check_number(value: str) -> str | None:
    return None if _number(value) is not None else f"{value!r} is not a number"


def _check_date(value: str) -> str | None:
    return (
        None if parse_instant(value) is not None else f"{value!r} is not a date (ISO 8601 or epoch seconds)"
    )


def _check_bool(value: str) -> str | None:
    return None if value.lower() in ("true", "false") else f"{value!r} is not true or false"


def _check_network(value: str) -> str | None:
    return None if _network(value) is not None else f"{value!r} is not an IP address or CIDR block"


def _build() -> dict[str, Operator]:
    positive: list[Operator] = [
        Operator("StringEquals", lambda a, e: a == e, variables=True),
        Operator("StringEqualsIgnoreCase", lambda a, e: a.lower() == e.lower(), variables=True),
        Operator(
            "StringLike",
            lambda a, e: glob_match(e, a),
            variables=True,
            compare_tokens=_like_tokens,
            verb="matches",
        ),
        Operator("NumericEquals", _numeric(lambda a, e: a == e), validate=_check_number),
        Operator("NumericLessThan", _numeric(lambda a, e: a < e), validate=_check_number),
        Operator("NumericLessThanEquals", _numeric(lambda a, e: a <= e), validate=_check_number),
        Operator("NumericGreaterThan", _numeric(lambda a, e: a > e), validate=_check_number),
        Operator("NumericGreaterThanEquals", _numeric(lambda a, e: a >= e), validate=_check_number),
        Operator("DateEquals", _dated(lambda a, e: a == e), validate=_check_date),
        Operator("DateLessThan", _dated(lambda a, e: a < e), validate=_check_date),
        Operator("DateLessThanEquals", _dated(lambda a, e: a <= e), validate=_check_date),
        Operator("DateGreaterThan", _dated(lambda a, e: a > e), validate=_check_date),
        Operator("DateGreaterThanEquals", _dated(lambda a, e: a >= e), validate=_check_date),
        # IAM "Condition operators" > Boolean: "Policy variables - Supported".
        Operator("Bool", lambda a, e: a.lower() == e.lower(), variables=True, validate=_check_bool),
        Operator("BinaryEquals", lambda a, e: a == e),
        Operator("IpAddress", _in_network, validate=_check_network, verb="is in"),
        Operator("ArnEquals", _arn_like, variables=True, compare_tokens=_arn_like_tokens),
        Operator("ArnLike", _arn_like, variables=True, compare_tokens=_arn_like_tokens, verb="matches"),
    ]
    table = {op.name: op for op in positive}
    negations = {
        "StringNotEquals": "StringEquals",
        "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
        "StringNotLike": "StringLike",
        "NumericNotEquals": "NumericEquals",
        "DateNotEquals": "DateEquals",
        "NotIpAddress": "IpAddress",
        "ArnNotEquals": "ArnEquals",
        "ArnNotLike": "ArnLike",
    }
    for name, twin in negations.items():
        table[name] = replace(table[twin], name=name, negated=True)
    # Null compares presence, not values; conditions.py treats it apart.
    table["Null"] = Operator("Null", lambda a, e: False, validate=_check_bool)
    return table


OPERATORS: dict[str, Operator] = _build()
_BY_LOWER = {name.lower(): op for name, op in OPERATORS.items()}


def lookup(name: str) -> Operator | None:
    return _BY_LOWER.get(name.lower())
