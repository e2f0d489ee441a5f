"""Compiled matchers for Action / Resource elements, built once when a policy is parsed.

Every literal goes into a set and every wildcard pattern into one alternation regex, so matching a
statement costs a set lookup and at most one regex call, however many entries the element lists.
Resource patterns that hold policy variables depend on the request and stay uncompiled. Resource
patterns follow the Resource rule of :mod:`.wildcards`: a ``*`` that ends an ARN segment matches
beyond the colon.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .variables import Unresolvable, has_variables, substitute
from .wildcards import glob_regex, resource_matches, resource_regex, split_wildcards


@dataclass(frozen=True, slots=True)
class Matcher:
    anything: bool
    exact: frozenset[str]
    regex: re.Pattern[str] | None
    dynamic: tuple[str, ...]  # resource patterns with policy variables, matched per request
    ignore_case: bool

    def matches(self, value: str, lookup: Callable[[str], str | None] | None = None) -> bool:
        if self.anything:
            return True
        probe = value.lower() if self.ignore_case else value
        if probe in self.exact:
            return True
        if self.regex is not None and self.regex.fullmatch(probe) is not None:
            return True
        for pattern in self.dynamic:
            if lookup is None:
                continue
            try:
                if resource_matches(substitute(pattern, lookup), value):
                    return True
            except Unresolvable:
                continue
        return False


def compile_actions(patterns: tuple[str, ...]) -> Matcher:
    lowered = [p.lower() for p in patterns]
    exact = frozenset(p for p in lowered if "*" not in p and "?" not in p)
    wild = [p for p in lowered if p not in exact]
    regex = re.compile("|".join(glob_regex(split_wildcards(p)) for p in wild), re.DOTALL) if wild else None
    return Matcher("*" in lowered, exact, regex, (), True)


def compile_resources(patterns: tuple[str, ...], variables: bool) -> Matcher:
    dynamic = tuple(p for p in patterns if variables and has_variables(p))
    static = [p for p in patterns if p not in dynamic]
    exact = frozenset(p for p in static if "*" not in p and "?" not in p)
    wild = [p for p in static if p not in exact]
    regex = (
        re.compile("|".join(f"(?:{resource_regex(split_wildcards(p))})" for p in wild), re.DOTALL)
        if wild
        else None
    )
    return Matcher("*" in static, exact, regex, dynamic, False)
