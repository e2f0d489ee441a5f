"""IAM wildcard matching: ``*`` is any run of characters, ``?`` is exactly one.

Actions compare case-insensitively; resources and ARNs case-sensitively. Two ARN rules differ:

- the ``Resource`` element (IAM "Resource" > "Using wildcards in resource ARNs"): a wildcard stays
  inside its colon-separated segment, except that "if the ``*`` wildcard is the last character of
  a resource ARN segment, it can expand to match beyond the colon boundaries"; the sixth segment,
  the resource itself, is free;
- ``ArnLike`` / ``ArnEquals`` (IAM "Condition operators" > ARN): "each of the six colon-delimited
  components of the ARN is checked separately", so no wildcard before the fifth colon crosses one.

A pattern is handled as tokens (:data:`Token`): literal text, or a :class:`Wildcard`. Plain policy
text splits with :func:`split_wildcards`; a value with policy variables is resolved into tokens by
:mod:`.variables`, where ``${*}`` and ``${?}`` become literal text, never wildcards.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache


class Wildcard(Enum):
    STAR = "*"
    ONE = "?"


Token = str | Wildcard  # literal text, or a wildcard
Tokens = tuple[Token, ...]

_ANY = ".*"


def split_wildcards(pattern: str) -> Tokens:
    """``"a*b?"`` -> ``("a", STAR, "b", ONE)``: every ``*`` and ``?`` of policy text is a wildcard."""
    out: list[Token] = []
    start = 0
    for i, ch in enumerate(pattern):
        if ch == "*" or ch == "?":
            if i > start:
                out.append(pattern[start:i])
            out.append(Wildcard.STAR if ch == "*" else Wildcard.ONE)
            start = i + 1
    if start < len(pattern):
        out.append(pattern[start:])
    return tuple(out)


def glob_regex(tokens: Tokens) -> str:
    """Regex source for a whole-string glob: ``*`` any run, ``?`` one character, colons included."""
    return "".join(
        re.escape(t) if isinstance(t, str) else _ANY if t is Wildcard.STAR else "." for t in tokens
    )


def _colons(tokens: Tokens) -> int:
    return sum(t.count(":") for t in tokens if isinstance(t, str))


def _ends_segment(tokens: Tokens, i: int) -> bool:
    """Is the star at ``tokens[i]`` (with any stars right after it) the last of its segment?"""
    for t in tokens[i + 1 :]:
        if t is Wildcard.STAR:
            continue
        return isinstance(t, str) and t.startswith(":")
    return True


def _arn_regex(tokens: Tokens, *, stars_run_on: bool) -> str:
    if _colons(tokens) < 5:
        return glob_regex(tokens)  # not six segments: matched as one string
    parts = []
    segment = 0  # colons seen so far; from the fifth on, the resource segment is free
    for i, t in enumerate(tokens):
        if isinstance(t, str):
            parts.append(re.escape(t))
            segment += t.count(":")
        elif segment >= 5:
            parts.append(_ANY if t is Wildcard.STAR else ".")
        elif t is Wildcard.ONE:
            parts.append("[^:]")
        else:
            parts.append(_ANY if stars_run_on and _ends_segment(tokens, i) else "[^:]*")
    return "".join(parts)


def resource_regex(tokens: Tokens) -> str:
    """Regex source for a ``Resource`` / ``NotResource`` pattern (a segment-ending ``*`` runs on)."""
    return _arn_regex(tokens, stars_run_on=True)


def arn_regex(tokens: Tokens) -> str:
    """Regex source for an ``ArnLike`` value: the six components one by one."""
    return _arn_regex(tokens, stars_run_on=False)


@lru_cache(maxsize=16384)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(glob_regex(split_wildcards(pattern)), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


@lru_cache(maxsize=4096)
def glob_pattern(tokens: Tokens) -> re.Pattern[str]:
    return re.compile(glob_regex(tokens), re.DOTALL)


@lru_cache(maxsize=4096)
def resource_pattern(tokens: Tokens) -> re.Pattern[str]:
    return re.compile(resource_regex(tokens), re.DOTALL)


@lru_cache(maxsize=4096)
def arn_pattern(tokens: Tokens) -> re.Pattern[str]:
    return re.compile(arn_regex(tokens), re.DOTALL)


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _compile(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    return pattern == "*" or glob_match(pattern, action, ignore_case=True)


@lru_cache(maxsize=16384)
def _arn_compiled(pattern: str, resource: bool) -> re.Pattern[str]:
    return resource_pattern(split_wildcards(pattern)) if resource else arn_pattern(split_wildcards(pattern))


def arn_matches(pattern: str, arn: str) -> bool:
    """Match an ARN against an ``ArnLike`` pattern, one colon-separated component at a time."""
    return pattern == "*" or _arn_compiled(pattern, False).fullmatch(arn) is not None


def resource_matches(pattern: str, arn: str) -> bool:
    """Match an ARN against a ``Resource`` pattern (see the module docstring)."""
    return pattern == "*" or _arn_compiled(pattern, True).fullmatch(arn) is not None
