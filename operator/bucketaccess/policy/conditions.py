"""Condition blocks: operator qualifiers (``ForAllValues:``, ``ForAnyValue:``, ``...IfExists``)
applied once, over the per-family comparisons of :mod:`.operators`.

Semantics follow the IAM reference: keys compare case-insensitively; several values for one key
are OR-ed (NOR for a negated operator); several keys and several operators are AND-ed; a key the
request lacks makes a positive operator false and a negated one true, unless ``...IfExists``
(always true) or a set qualifier (ForAllValues true, ForAnyValue false) says otherwise.
"""

from __future__ import annotations

from .context import RequestContext
from .model import ConditionClause, SetQualifier
from .operators import Operator, lookup
from .variables import Unresolvable, resolve, text
from .wildcards import Tokens


def split_operator(written: str) -> tuple[SetQualifier, Operator, bool] | None:
    """``ForAnyValue:StringLikeIfExists`` -> (ForAnyValue, StringLike, True); None if unknown."""
    qualifier = SetQualifier.NONE
    name = written
    if ":" in written:
        prefix, name = written.split(":", 1)
        matched = next((q for q in SetQualifier if q and q.lower() == prefix.lower()), None)
        if matched is None:
            return None
        qualifier = matched
    if_exists = name.lower().endswith("ifexists") and name.lower() != "ifexists"
    base_name = name[: -len("IfExists")] if if_exists else name
    op = lookup(base_name)
    if op is None or (if_exists and op.name == "Null"):
        return None
    return qualifier, op, if_exists


def _resolved(op: Operator, clause: ConditionClause, ctx: RequestContext) -> tuple[list[str], list[Tokens]]:
    """The clause's values for this request: plain strings, and wildcard patterns (``compare_tokens``).

    IAM "Variables and tags" > "Policy variables with no value": a value naming a key the request
    lacks is "effectively null"; "there is no equal or like value", so it matches nothing, and a
    negated operator ("StringNotEquals", "StringNotLike") does match against it.
    """
    assert clause.templates is not None
    plain: list[str] = []
    patterns: list[Tokens] = []
    for pieces in clause.templates:
        try:
            tokens = resolve(pieces, ctx.single)
        except Unresolvable:
            continue
        if op.compare_tokens is not None:
            patterns.append(tokens)
        else:
            plain.append(text(tokens))
    return plain, patterns


def clause_holds(clause: ConditionClause, ctx: RequestContext, *, variables: bool = True) -> bool:
    op = clause.operator
    actual = ctx.values(clause.key)
    if op.name == "Null":
        absent = not actual
        return any((v.lower() == "true") == absent for v in clause.values)
    if not actual:
        if clause.if_exists or clause.qualifier is SetQualifier.ForAllValues:
            return True
        if clause.qualifier is SetQualifier.ForAnyValue:
            return False
        return op.negated
    if variables and clause.templates is not None:
        plain, patterns = _resolved(op, clause, ctx)
        compare_tokens = op.compare_tokens

        def positive(value: str) -> bool:
            return any(op.compare(value, e) for e in plain) or (
                compare_tokens is not None and any(compare_tokens(value, t) for t in patterns)
            )

    else:
        expected = clause.values

        def positive(value: str) -> bool:
            return any(op.compare(value, e) for e in expected)

    if clause.qualifier is SetQualifier.ForAllValues:
        return all(positive(v) != op.negated for v in actual)
    if clause.qualifier is SetQualifier.ForAnyValue:
        return any(positive(v) != op.negated for v in actual)
    hit = any(positive(v) for v in actual)
    return not hit if op.negated else hit


def failing_clauses(
    clauses: tuple[ConditionClause, ...], ctx: RequestContext, *, variables: bool = True
) -> tuple[ConditionClause, ...]:
    if len(clauses) == 1:  # the usual statement: no comprehension (a call of its own in Python 3.11)
        return () if clause_holds(clauses[0], ctx, variables=variables) else clauses
    return tuple([c for c in clauses if not clause_holds(c, ctx, variables=variables)])
