"""Compiled matchers for Action / Resource elements, built once when a policy is parsed.

Every literal goes into a set, every pattern whose only wildcard is a final ``*`` into a tuple of
prefixes (one ``str.startswith``), and every other wildcard pattern into one alternation regex, so
matching a statement costs a set lookup, a prefix test and at most one regex call, however many
entries the element lists.
Resource patterns that hold policy variables depend on the request: they are split into templates
once and resolved per request (:mod:`.variables`). Resource patterns follow the Resource rule of
:mod:`.wildcards`: a ``*`` that ends an ARN segment matches beyond the colon.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .records import fast_init
from .variables import Lookup, Template, Unresolvable, has_variables, resolve, template
from .wildcards import glob_regex, resource_pattern, resource_regex, split_wildcards


@fast_init
@dataclass(frozen=True, slots=True)
class Matcher:
    anything: bool
    exact: frozenset[str]
    regex: re.Pattern[str] | None
    dynamic: tuple[Template, ...]  # resource patterns with policy variables, resolved per request
    ignore_case: bool
    # "literal*" patterns as their literal: under both the Action and the Resource rule a final "*"
    # matches any rest, colons included, so the pattern matches exactly the values it prefixes
    prefixes: tuple[str, ...] = ()

    def matches(self, value: str, lookup: Lookup | None = None) -> bool:
        if self.anything:
            return True
        probe = value.lower() if self.ignore_case else value
        if probe in self.exact:
            return True
        if self.prefixes and probe.startswith(self.prefixes):
            return True
        if self.regex is not None and self.regex.fullmatch(probe) is not None:
            return True
        if lookup is None:
            return False
        for pieces in self.dynamic:
            try:
                tokens = resolve(pieces, lookup)
            except Unresolvable:
                continue  # IAM "Policy variables with no value": the resource matches nothing
            if resource_pattern(tokens).fullmatch(value) is not None:
                return True
        return False


def compile_actions(patterns: tuple[str, ...]) -> Matcher:
    lowered = [p.lower() for p in patterns]
    exact = frozenset(p for p in lowered if "*" not in p and "?" not in p)
    prefixes, wild = _prefixes([p for p in lowered if p not in exact])
    regex = re.compile("|".join(glob_regex(split_wildcards(p)) for p in wild), re.DOTALL) if wild else None
    return Matcher("*" in lowered, exact, regex, (), True, prefixes)


def compile_resources(patterns: tuple[str, ...], variables: bool) -> Matcher:
    with_variables = [p for p in patterns if variables and has_variables(p)]
    static = [p for p in patterns if p not in with_variables]
    exact = frozenset(p for p in static if "*" not in p and "?" not in p)
    prefixes, wild = _prefixes([p for p in static if p not in exact])
    regex = (
        re.compile("|".join(f"(?:{resource_regex(split_wildcards(p))})" for p in wild), re.DOTALL)
        if wild
        else None
    )
    dynamic = tuple(template(p) for p in with_variables)
    return Matcher("*" in static, exact, regex, dynamic, False, prefixes)


def _prefixes(wild: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """The patterns whose one wildcard is a final ``*``, as their literal prefix; and the rest."""
    prefixes: list[str] = []
    rest: list[str] = []
    for p in wild:
        if p.endswith("*") and "*" not in p[:-1] and "?" not in p:
            prefixes.append(p[:-1])
        else:
            rest.append(p)
    return tuple(prefixes), rest
