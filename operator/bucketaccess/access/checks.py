"""The ten checks of an upload: one result per layer, derived from the requests' decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..policy import Decision, StatementRef, worst
from ..vocabulary import Reason


class CheckName(StrEnum):
    """In the order the spec lists them; Ready reports the first failing one."""

    IdentityPolicyAllows = "IdentityPolicyAllows"
    KMSKeyUsable = "KMSKeyUsable"
    BucketPolicyAllows = "BucketPolicyAllows"
    BucketACLAllows = "BucketACLAllows"
    SCPAllows = "SCPAllows"
    RCPAllows = "RCPAllows"
    PermissionsBoundaryAllows = "PermissionsBoundaryAllows"
    SessionPolicyAllows = "SessionPolicyAllows"
    PublicAccessBlockAllows = "PublicAccessBlockAllows"
    VPCEndpointPolicyAllows = "VPCEndpointPolicyAllows"


CHECKS: tuple[CheckName, ...] = tuple(CheckName)


class Status(StrEnum):
    TRUE = "True"
    FALSE = "False"
    NotApplicable = "NotApplicable"
    Unknown = "Unknown"


@dataclass(frozen=True, slots=True)
class Check:
    status: Status
    reason: Reason
    message: str
    statements: tuple[StatementRef, ...] = ()

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"status": str(self.status), "reason": self.reason, "message": self.message}
        if self.statements:
            out["statements"] = [s.as_dict() for s in self.statements]
        return out


@dataclass(frozen=True, slots=True)
class Finding:
    """One request's verdict on one check: a cause of failure, or data that was missing."""

    check: CheckName
    status: Status  # FALSE or Unknown
    reason: Reason
    message: str
    statements: tuple[StatementRef, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestResult:
    action: str
    resource: str
    decision: Decision

    def as_dict(self) -> dict[str, str]:
        return {"action": self.action, "resource": self.resource, "decision": str(self.decision)}


@dataclass(frozen=True, slots=True)
class Explanation:
    decision: Decision
    requests: tuple[RequestResult, ...]
    checks: dict[CheckName, Check] = field(default_factory=dict)

    def failing(self) -> list[tuple[CheckName, Check]]:
        return [(n, self.checks[n]) for n in CHECKS if self.checks[n].status is Status.FALSE]

    def as_dict(self) -> dict[str, object]:
        return {
            "decision": str(self.decision),
            "requests": [r.as_dict() for r in self.requests],
            "checks": {str(n): self.checks[n].as_dict() for n in CHECKS},
        }


def merge_findings(findings: list[Finding]) -> dict[CheckName, Check]:
    """Each check's findings folded into one line; False outranks Unknown."""
    grouped: dict[CheckName, list[Finding]] = {}
    for f in findings:
        grouped.setdefault(f.check, []).append(f)
    out: dict[CheckName, Check] = {}
    for name, mine_all in grouped.items():
        worst = Status.FALSE if any(f.status is Status.FALSE for f in mine_all) else Status.Unknown
        mine = [f for f in mine_all if f.status is worst]
        messages = list(dict.fromkeys(f.message for f in mine))
        message = messages[0] + (f" (+{len(messages) - 1} more)" if len(messages) > 1 else "")
        refs = tuple(dict.fromkeys(r for f in mine for r in f.statements))
        out[name] = Check(worst, mine[0].reason, message, refs)
    return out


_RANK = {Status.FALSE: 3, Status.Unknown: 2, Status.TRUE: 1, Status.NotApplicable: 0}


def merge_explanations(explanations: list[Explanation]) -> Explanation:
    """Several requests of one BucketAccess (the upload, extra actions) as one verdict per check:
    the most severe status wins, with its reason and message."""
    if len(explanations) == 1:
        return explanations[0]
    checks = {
        name: max((e.checks[name] for e in explanations), key=lambda c: _RANK[c.status]) for name in CHECKS
    }
    requests = tuple(r for e in explanations for r in e.requests)
    return Explanation(worst(e.decision for e in explanations), requests, checks)
