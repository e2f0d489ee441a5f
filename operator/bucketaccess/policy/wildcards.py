"""IAM wildcard matching: ``*`` is any run of characters, ``?`` is exactly one.

Actions compare case-insensitively; resources and ARNs case-sensitively. Resource ARNs are matched
segment by segment (a wildcard never crosses one of the first five colons) and the last segment
is free, the way IAM matches ``arn:aws:s3:::bucket/*``.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=16384)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _compile(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    return pattern == "*" or glob_match(pattern, action, ignore_case=True)


def arn_matches(pattern: str, arn: str) -> bool:
    """Match an ARN against an ARN pattern, one colon-separated segment at a time."""
    if pattern == "*":
        return True
    p_parts = pattern.split(":", 5)
    a_parts = arn.split(":", 5)
    if len(p_parts) != 6 or len(a_parts) != 6:
        return glob_match(pattern, arn)
    return all(glob_match(p, a) for p, a in zip(p_parts, a_parts, strict=True))
