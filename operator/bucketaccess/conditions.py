"""metav1.Condition bookkeeping: one setter that keeps lastTransitionTime unless status flips,
and ``Ready`` derived in one place from the per-layer conditions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# apimachinery's rule for Condition.reason
REASON_PATTERN = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")

# The order the spec lists the conditions in; Ready reports the first failing check of it.
CHECK_ORDER = (
    "Admitted",
    "IdentityPolicyAllows",
    "KMSKeyUsable",
    "BucketPolicyAllows",
    "BucketACLAllows",
    "SCPAllows",
    "RCPAllows",
    "PermissionsBoundaryAllows",
    "SessionPolicyAllows",
    "PublicAccessBlockAllows",
    "VPCEndpointPolicyAllows",
    "Reconciled",
)


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str

    def __post_init__(self) -> None:
        if self.status not in ("True", "False", "Unknown"):
            raise ValueError(f"condition {self.type}: status {self.status!r} is not True, False or Unknown")
        if not REASON_PATTERN.match(self.reason):
            raise ValueError(
                f"condition {self.type}: reason {self.reason!r} does not match {REASON_PATTERN.pattern}"
            )


# Conditions about the operator's own work; they do not decide whether the upload succeeds.
NOT_LAYERS = frozenset({"Admitted", "Reconciled", "Ready"})


# What a generic check reason becomes on Ready, so that Ready alone names the layer.
_LAYER_NOUN = {
    "IdentityPolicyAllows": "IdentityPolicy",
    "KMSKeyUsable": "KeyPolicy",
    "BucketPolicyAllows": "BucketPolicy",
    "BucketACLAllows": "BucketACL",
    "SCPAllows": "SCP",
    "RCPAllows": "RCP",
    "PermissionsBoundaryAllows": "PermissionsBoundary",
    "PublicAccessBlockAllows": "PublicAccessBlock",
    "VPCEndpointPolicyAllows": "VPCEndpointPolicy",
}
_GENERIC = {"ExplicitDeny": "ExplicitDenyIn", "NoAllowStatement": "NoAllowIn"}


def ready_reason(check: Condition) -> str:
    """``ExplicitDeny`` on BucketPolicyAllows reads ``ExplicitDenyInBucketPolicy`` on Ready."""
    prefix = _GENERIC.get(check.reason)
    return prefix + _LAYER_NOUN[check.type] if prefix and check.type in _LAYER_NOUN else check.reason


def derive_ready(checks: Sequence[Condition]) -> Condition:
    """True iff no layer is False or Unknown; else the first False layer, else the first Unknown."""
    layers = sorted(
        (c for c in checks if c.type not in NOT_LAYERS),
        key=lambda c: CHECK_ORDER.index(c.type) if c.type in CHECK_ORDER else len(CHECK_ORDER),
    )
    for wanted in ("False", "Unknown"):
        first = next((c for c in layers if c.status == wanted), None)
        if first is not None:
            return Condition("Ready", wanted, ready_reason(first), first.message)
    return Condition("Ready", "True", "UploadAllowed", "every layer AWS consults lets this role upload here")


def merge_conditions(
    existing: Iterable[Mapping[str, Any]] | None, new: Sequence[Condition], generation: int, now: str
) -> list[dict[str, Any]]:
    """The full condition list to write: lastTransitionTime kept for every status that did not flip."""
    old = {c.get("type"): c for c in existing or ()}
    out = []
    for cond in new:
        prev = old.get(cond.type)
        keep = prev is not None and prev.get("status") == cond.status and prev.get("lastTransitionTime")
        out.append(
            {
                "type": cond.type,
                "status": cond.status,
                "reason": cond.reason,
                "message": cond.message,
                "observedGeneration": generation,
                "lastTransitionTime": prev["lastTransitionTime"] if keep and prev else now,
            }
        )
    return out
