"""The checks of an upload: one result per layer, derived from the requests' decisions, each named by
its layer condition (:data:`..vocabulary.LAYERS`, in Ready's order)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..policy import Cause, Decision, StatementRef, worst
from ..policy.records import fast_init
from ..vocabulary import LAYERS, ConditionType, Reason


class FixPolicy(StrEnum):
    """Where a suggested statement goes, named after the scenario field that holds it."""

    Identity = "identity"  # a new identity policy of the role or user (identity.policies)
    BucketPolicy = "bucket-policy"  # bucket.policy
    KeyPolicy = "key-policy"  # kms.keys[KEY].policy
    PermissionsBoundary = "permissions-boundary"  # identity.permissionsBoundary
    SessionPolicy = "session-policy"  # identity.sessionPolicies
    VPCEndpointPolicy = "vpc-endpoint-policy"  # request.vpcEndpoint.policy


@fast_init
@dataclass(frozen=True, slots=True)
class StatementFix:
    """One statement to add to one policy; kept as canonical JSON so a fix is hashable data."""

    policy: FixPolicy
    statement: str
    key: str | None = None  # the KMS key ARN, for FixPolicy.KeyPolicy

    @classmethod
    def of(cls, policy: FixPolicy, statement: Mapping[str, Any], key: str | None = None) -> StatementFix:
        return cls(policy, json.dumps(statement, separators=(",", ":")), key)

    @property
    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.statement)
        return loaded

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"policy": str(self.policy), "statement": self.document}
        if self.key is not None:
            out["key"] = self.key
        return out


@fast_init
@dataclass(frozen=True, slots=True)
class Fix:
    """What makes a failing check pass, as data: statements to add and request headers to send.

    The message of the check says the same in words; ``bucketaccess explain -o json`` prints it.
    """

    statements: tuple[StatementFix, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # (lower-cased name, value)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.statements:
            out["statements"] = [s.as_dict() for s in self.statements]
        if self.headers:
            out["headers"] = dict(self.headers)
        return out

    @staticmethod
    def merge(fixes: Iterable[Fix | None]) -> Fix | None:
        """One fix doing what all do; None when one is missing or two headers disagree."""
        statements: list[StatementFix] = []
        headers: dict[str, str] = {}
        for fix in fixes:
            if fix is None:
                return None
            for name, value in fix.headers:
                if headers.setdefault(name, value) != value:
                    return None
            statements += fix.statements
        return Fix(_combine(statements), tuple(headers.items()))


def _combine(statements: list[StatementFix]) -> tuple[StatementFix, ...]:
    """Statements that differ only in Action become one statement listing every action."""
    groups: dict[tuple[FixPolicy, str | None, str], tuple[dict[str, Any], list[str]]] = {}
    for s in dict.fromkeys(statements):
        doc = s.document
        rest = json.dumps({k: v for k, v in doc.items() if k != "Action"}, sort_keys=True)
        first, actions = groups.setdefault((s.policy, s.key, rest), (doc, []))
        listed = doc["Action"] if isinstance(doc["Action"], list) else [doc["Action"]]
        actions += [a for a in listed if a not in actions]
    out = []
    for (policy, key, _), (first, actions) in groups.items():
        merged = {
            k: (actions[0] if len(actions) == 1 else actions) if k == "Action" else v
            for k, v in first.items()
        }
        out.append(StatementFix.of(policy, merged, key))
    return tuple(out)


class Status(StrEnum):
    TRUE = "True"
    FALSE = "False"
    NotApplicable = "NotApplicable"
    Unknown = "Unknown"


@fast_init
@dataclass(frozen=True, slots=True)
class Check:
    status: Status
    reason: Reason
    message: str
    statements: tuple[StatementRef, ...] = ()
    fix: Fix | None = None  # only on a failing check whose fix is a statement or a header

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"status": str(self.status), "reason": self.reason, "message": self.message}
        if self.statements:
            out["statements"] = [s.as_dict() for s in self.statements]
        if self.fix is not None:
            out["fix"] = self.fix.as_dict()
        return out


@fast_init
@dataclass(frozen=True, slots=True)
class Finding:
    """One request's verdict on one check: a cause of failure, or data that was missing."""

    check: ConditionType
    status: Status  # FALSE or Unknown
    reason: Reason
    message: str
    statements: tuple[StatementRef, ...] = ()
    fix: Fix | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Blame:
    """Which check a refused request fails, and why: a finding before it is put in words, which
    :func:`.remedies.blame_remedy` does afterwards (the words quote the rules, not the reverse)."""

    check: ConditionType
    reason: Reason
    statements: tuple[StatementRef, ...]
    cause: Cause | None = None  # None: no one cause (a public ACL grant Block Public Access ignores)


@fast_init
@dataclass(frozen=True, slots=True)
class RequestResult:
    action: str
    resource: str
    decision: Decision

    def as_dict(self) -> dict[str, str]:
        return {"action": self.action, "resource": self.resource, "decision": str(self.decision)}


@fast_init
@dataclass(frozen=True, slots=True)
class Explanation:
    decision: Decision
    requests: tuple[RequestResult, ...]
    checks: dict[ConditionType, Check] = field(default_factory=dict)

    def failing(self) -> list[tuple[ConditionType, Check]]:
        return [(n, self.checks[n]) for n in LAYERS if self.checks[n].status is Status.FALSE]

    def as_dict(self) -> dict[str, object]:
        return {
            "decision": str(self.decision),
            "requests": [r.as_dict() for r in self.requests],
            "checks": {str(n): self.checks[n].as_dict() for n in LAYERS},
        }


def merge_findings(findings: list[Finding]) -> dict[ConditionType, Check]:
    """Each check's findings folded into one line; False outranks Unknown."""
    if len(findings) == 1 and (line := _standing(findings[0])) is not None:
        return {findings[0].check: line}
    grouped: dict[ConditionType, list[Finding]] = {}
    for f in findings:
        grouped.setdefault(f.check, []).append(f)
    out: dict[ConditionType, Check] = {}
    for name, mine_all in grouped.items():
        if len(mine_all) == 1 and (line := _standing(mine_all[0])) is not None:
            out[name] = line
            continue
        worst = Status.FALSE if any(f.status is Status.FALSE for f in mine_all) else Status.Unknown
        mine = [f for f in mine_all if f.status is worst]
        messages = list(dict.fromkeys(f.message for f in mine))
        message = messages[0] + (f" (+{len(messages) - 1} more)" if len(messages) > 1 else "")
        refs = tuple(dict.fromkeys(r for f in mine for r in f.statements))
        fix = Fix.merge(f.fix for f in mine) if worst is Status.FALSE else None
        first = mine[0].fix
        if fix is not None and first is not None and len(first.statements) == len(fix.statements) == 1:
            # several requests fixed by one statement (s3:PutObject and s3:PutObjectAcl): quote that one
            message = message.replace(first.statements[0].statement, fix.statements[0].statement)
        out[name] = Check(worst, mine[0].reason, message, refs, fix)
    return out


def _standing(f: Finding) -> Check | None:
    """A check's only finding as its line, when the finding has no statements to combine."""
    if f.fix is not None and f.fix.statements:
        return None
    fix = f.fix if f.status is Status.FALSE else None
    refs = f.statements if len(f.statements) < 2 else tuple(dict.fromkeys(f.statements))
    return Check(f.status, f.reason, f.message, refs, fix)


_RANK = {Status.FALSE: 3, Status.Unknown: 2, Status.TRUE: 1, Status.NotApplicable: 0}


def merge_explanations(explanations: list[Explanation]) -> Explanation:
    """Several requests of one BucketAccess (the upload, extra actions) as one verdict per check:
    the most severe status wins, with its reason and message."""
    if len(explanations) == 1:
        return explanations[0]
    checks = {
        name: max((e.checks[name] for e in explanations), key=lambda c: _RANK[c.status]) for name in LAYERS
    }
    requests = tuple(r for e in explanations for r in e.requests)
    return Explanation(worst(e.decision for e in explanations), requests, checks)
