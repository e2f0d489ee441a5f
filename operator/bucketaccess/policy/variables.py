"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team}``, ``${*}``, defaults.

A variable whose key the request does not carry, and that names no default, makes the value
unusable: the caller treats such a value as matching nothing, as IAM does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")


class Unresolvable(Exception):
    """A variable named a key the request lacks and gave no default."""


def has_variables(value: str) -> bool:
    return "${" in value


def substitute(value: str, lookup: Callable[[str], str | None]) -> str:
    """Replace every ``${...}`` in ``value``; ``${*}`` ``${?}`` ``${$}`` become those characters.

    In a wildcard pattern the ``*`` and ``?`` that ``${*}`` and ``${?}`` produce act as wildcards
    again: a known simplification, harmless for the ARNs and header values uploads involve.
    """

    def repl(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner in _SPECIAL:
            return _SPECIAL[inner]
        default = None
        m = _DEFAULT.match(inner)
        if m:
            inner, default = m.group(1), m.group(2)
        found = lookup(inner.strip())
        if found is None:
            if default is None:
                raise Unresolvable(inner)
            return default
        return found

    return _VARIABLE.sub(repl, value)
