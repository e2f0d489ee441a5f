"""Parse and validate IAM policy documents into :mod:`.model` data, once per distinct document.

Validation is what AWS itself would refuse on PutBucketPolicy / PutRolePolicy / PutKeyPolicy:
unknown elements, a missing Effect, Action together with NotAction, a Principal in an identity
policy, an unknown condition operator. Each refusal is an :class:`InvalidInput` whose path is the
caller's path to the document followed by the element, e.g. ``bucket.policy.Statement[1].Effect``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from .conditions import split_operator
from .errors import InvalidInput
from .matchers import compile_actions, compile_resources
from .model import ConditionClause, Effect, Policy, Principals, Statement
from .variables import has_variables, template

VERSIONS = ("2012-10-17", "2008-10-17")
_STATEMENT_KEYS = {
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
}
_PRINCIPAL_KEYS = {
    "AWS": "aws",
    "Service": "service",
    "Federated": "federated",
    "CanonicalUser": "canonical_user",
}


class PolicyKind(StrEnum):
    """Identity-side documents name no principal; resource-side documents must."""

    Identity = "identity"
    Resource = "resource"
    # A role's trust policy: resource-side, and its statements may leave Resource out (IAM "Role
    # trust policy": the resource is the role itself).
    Trust = "trust"


_CACHE: dict[tuple[str, PolicyKind], Policy] = {}
_CACHE_LIMIT = 4096


def clear_cache() -> None:
    """Forget every parsed document (benchmarks measure parsing with it)."""
    _CACHE.clear()


def parse_policy(document: object, path: str, kind: PolicyKind) -> Policy:
    """Parse ``document``; identical documents share one parsed value (keyed by content hash)."""
    try:
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(path, f"is not a JSON document ({exc})") from None
    key = (hashlib.sha256(canonical.encode()).hexdigest(), kind)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    policy = _parse(document, path, kind)
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[key] = policy
    return policy


def _parse(document: object, path: str, kind: PolicyKind) -> Policy:
    if not isinstance(document, Mapping):
        raise InvalidInput(path, "must be a JSON object with Version and Statement")
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise InvalidInput(f"{path}.{sorted(unknown)[0]}", "is not a policy element")
    version = document.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise InvalidInput(f"{path}.Version", f"must be one of {', '.join(VERSIONS)}")
    if "Statement" not in document:
        raise InvalidInput(f"{path}.Statement", "is required")
    raw = document["Statement"]
    items = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        raise InvalidInput(f"{path}.Statement", "must be an object or a list of objects")
    variables = version == "2012-10-17"
    statements = tuple(
        _statement(item, f"{path}.Statement[{i}]", i, kind, variables) for i, item in enumerate(items)
    )
    return Policy(version=str(version), statements=statements)


def _strings(value: object, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InvalidInput(path, "must be a string or a non-empty list of strings")


def _principals(value: object, path: str) -> Principals:
    if value == "*":
        return Principals(anyone=True)
    if not isinstance(value, Mapping) or not value:
        raise InvalidInput(path, 'must be "*" or an object with AWS, Service, Federated or CanonicalUser')
    fields: dict[str, Any] = {}
    for name, entries in value.items():
        attr = _PRINCIPAL_KEYS.get(name)
        if attr is None:
            raise InvalidInput(f"{path}.{name}", "must be AWS, Service, Federated or CanonicalUser")
        values = _strings(entries, f"{path}.{name}")
        if attr == "aws":
            for i, v in enumerate(values):
                _check_aws_principal(v, f"{path}.{name}" + (f"[{i}]" if len(values) > 1 else ""))
            if "*" in values:
                fields["anyone"] = True
        fields[attr] = values
    return Principals(**fields)


def _check_aws_principal(value: str, path: str) -> None:
    if value == "*" or (len(value) == 12 and value.isdigit()):
        return
    if value.startswith("arn:") and value.count(":") >= 5:
        if "*" in value or "?" in value:
            raise InvalidInput(
                path, 'wildcards are not allowed in a principal ARN (use "*" with a condition)'
            )
        return
    if value.startswith("AROA") or value.startswith("AIDA"):
        return  # a unique id AWS shows for a deleted role or user; it matches nobody
    raise InvalidInput(path, f'{value!r} is not an account id, an ARN or "*"')


def _conditions(value: object, path: str, variables: bool) -> tuple[ConditionClause, ...]:
    if not isinstance(value, Mapping):
        raise InvalidInput(path, "must be an object of condition operators")
    clauses: list[ConditionClause] = []
    for written, block in value.items():
        op_path = f"{path}.{written}"
        split = split_operator(str(written))
        if split is None:
            raise InvalidInput(op_path, "is not a condition operator")
        qualifier, op, if_exists = split
        if not isinstance(block, Mapping) or not block:
            raise InvalidInput(op_path, "must be a non-empty object of condition keys")
        for key, raw in block.items():
            key_path = f"{op_path}.{key}"
            values = _condition_values(raw, key_path)
            substituted = variables and op.variables and any(has_variables(v) for v in values)
            if op.validate is not None:
                for v in values:
                    problem = None if substituted and has_variables(v) else op.validate(v)
                    if problem:
                        raise InvalidInput(key_path, problem)
            templates = tuple(template(v) for v in values) if substituted else None
            clauses.append(
                ConditionClause(str(written), op, qualifier, if_exists, str(key), values, templates)
            )
    return tuple(clauses)


def _condition_values(raw: object, path: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise InvalidInput(path, "must have at least one value")
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise InvalidInput(path, "values must be strings, numbers or booleans")
    return tuple(out)


def _action_list(value: object, path: str) -> tuple[str, ...]:
    actions = _strings(value, path)
    for a in actions:
        if a != "*" and (":" not in a or a.startswith(":")):
            raise InvalidInput(path, f"{a!r} is not service:action")
    return actions


def _statement(raw: object, path: str, index: int, kind: PolicyKind, variables: bool) -> Statement:
    if not isinstance(raw, Mapping):
        raise InvalidInput(path, "must be an object")
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise InvalidInput(f"{path}.{sorted(unknown)[0]}", "is not a statement element")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise InvalidInput(f"{path}.Effect", "must be Allow or Deny")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise InvalidInput(f"{path}.Sid", "must be a string")
    for a, b in (("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal")):
        if a in raw and b in raw:
            raise InvalidInput(f"{path}.{b}", f"cannot be combined with {a}")
    if "Action" not in raw and "NotAction" not in raw:
        raise InvalidInput(f"{path}.Action", "is required (or NotAction)")
    if "Resource" not in raw and "NotResource" not in raw and kind is not PolicyKind.Trust:
        raise InvalidInput(f"{path}.Resource", "is required (or NotResource)")
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if kind is PolicyKind.Identity and has_principal:
        name = "Principal" if "Principal" in raw else "NotPrincipal"
        raise InvalidInput(f"{path}.{name}", "is not allowed in an identity-side policy")
    if kind is not PolicyKind.Identity and not has_principal:
        raise InvalidInput(f"{path}.Principal", "is required in a resource-based policy")
    actions = _action_list(raw["Action"], f"{path}.Action") if "Action" in raw else None
    not_actions = _action_list(raw["NotAction"], f"{path}.NotAction") if "NotAction" in raw else None
    resources = _strings(raw["Resource"], f"{path}.Resource") if "Resource" in raw else None
    if resources is None and "NotResource" not in raw:
        resources = ("*",)  # a trust policy statement: the role it belongs to
    not_resources = _strings(raw["NotResource"], f"{path}.NotResource") if "NotResource" in raw else None
    return Statement(
        index=index,
        sid=sid or None,
        effect=Effect(effect),
        principal=_principals(raw["Principal"], f"{path}.Principal") if "Principal" in raw else None,
        not_principal=_principals(raw["NotPrincipal"], f"{path}.NotPrincipal")
        if "NotPrincipal" in raw
        else None,
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        conditions=_conditions(raw["Condition"], f"{path}.Condition", variables)
        if "Condition" in raw
        else (),
        action_matcher=compile_actions(actions or not_actions or ()),
        resource_matcher=compile_resources(resources or not_resources or (), variables),
    )
