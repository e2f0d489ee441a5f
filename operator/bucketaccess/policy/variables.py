"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team}``, ``${*}``, defaults.

A value is split once, when its policy is parsed, into a template (:func:`template`): the policy's
own text, with its ``*`` and ``?`` wildcards, and the ``${...}`` pieces. Resolving a template for a
request (:func:`resolve`) gives wildcard tokens (:mod:`.wildcards`) in which everything a
``${...}`` produced is literal text: ``${*}``, ``${?}`` and ``${$}`` are the characters themselves
(IAM "Variables and tags" > "Special characters": "use where you need an * (asterisk)
character"), and so are a key's value and a default.

A variable whose key the request does not carry, and that names no default, makes the value
unusable (:class:`Unresolvable`): the caller treats such a value as matching nothing, as IAM does
("Policy variables with no value").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .records import fast_init
from .wildcards import Token, Tokens, split_wildcards

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")

Lookup = Callable[[str], str | None]


class Unresolvable(Exception):
    """A variable named a key the request lacks and gave no default."""


@fast_init
@dataclass(frozen=True, slots=True)
class Variable:
    key: str  # as written, spaces trimmed
    default: str | None


Template = tuple[Token | Variable, ...]


def has_variables(value: str) -> bool:
    return "${" in value


def template(value: str) -> Template:
    """Split ``value`` into literal text, wildcards and variables; ``${*}`` ``${?}`` ``${$}`` are text."""
    pieces: list[Token | Variable] = []
    start = 0
    for match in _VARIABLE.finditer(value):
        pieces.extend(split_wildcards(value[start : match.start()]))
        inner = match.group(1)
        if inner in _SPECIAL:
            pieces.append(_SPECIAL[inner])
        else:
            m = _DEFAULT.match(inner)
            pieces.append(Variable(m.group(1), m.group(2)) if m else Variable(inner.strip(), None))
        start = match.end()
    pieces.extend(split_wildcards(value[start:]))
    return tuple(pieces)


def resolve(pieces: Template, lookup: Lookup) -> Tokens:
    """The wildcard tokens of a template for one request; raises :class:`Unresolvable`."""
    out: list[Token] = []
    for piece in pieces:
        if isinstance(piece, Variable):
            found = lookup(piece.key)
            if found is None:
                if piece.default is None:
                    raise Unresolvable(piece.key)
                found = piece.default
            piece = found
        last = out[-1] if out else None
        if isinstance(piece, str) and isinstance(last, str):
            out[-1] = last + piece  # one text token between wildcards: equal values, equal cache keys
        else:
            out.append(piece)
    return tuple(out)


def text(tokens: Tokens) -> str:
    """The tokens as a plain string, for operators that know no wildcards (``StringEquals``...)."""
    return "".join(t if isinstance(t, str) else t.value for t in tokens)


def substitute(value: str, lookup: Lookup) -> str:
    """Replace every ``${...}`` in ``value``; ``${*}`` ``${?}`` ``${$}`` become those characters."""
    return text(resolve(template(value), lookup))
