"""metav1.Condition bookkeeping: one setter that keeps lastTransitionTime unless status flips,
and ``Ready`` derived in one place from the per-layer conditions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..vocabulary import LAYERS, REASON_PATTERN, ConditionStatus, ConditionType, Reason

MAX_MESSAGE = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    type: ConditionType
    status: ConditionStatus
    reason: Reason
    message: str

    def __post_init__(self) -> None:
        # The enums make a wrong value a type error; this catches a plain string slipped past mypy.
        ConditionStatus(self.status)
        if not REASON_PATTERN.match(self.reason):
            raise ValueError(
                f"condition {self.type}: reason {self.reason!r} does not match {REASON_PATTERN.pattern}"
            )
        if len(self.message) > MAX_MESSAGE:
            object.__setattr__(self, "message", self.message[: MAX_MESSAGE - 1] + "…")


# What a generic check reason becomes on Ready, so that Ready alone names the layer; any other
# (layer, reason) reads on Ready as it does on the layer.
_READY_REASON: dict[tuple[ConditionType, Reason], Reason] = {
    (ConditionType.IdentityPolicyAllows, Reason.ExplicitDeny): Reason.ExplicitDenyInIdentityPolicy,
    (ConditionType.IdentityPolicyAllows, Reason.NoAllowStatement): Reason.NoAllowInIdentityPolicy,
    (ConditionType.KMSKeyUsable, Reason.ExplicitDeny): Reason.ExplicitDenyInKeyPolicy,
    (ConditionType.KMSKeyUsable, Reason.NoAllowStatement): Reason.NoAllowInKeyPolicy,
    (ConditionType.BucketPolicyAllows, Reason.ExplicitDeny): Reason.ExplicitDenyInBucketPolicy,
    (ConditionType.BucketPolicyAllows, Reason.NoAllowStatement): Reason.NoAllowInBucketPolicy,
    (ConditionType.BucketACLAllows, Reason.ExplicitDeny): Reason.ExplicitDenyInBucketACL,
    (ConditionType.BucketACLAllows, Reason.NoAllowStatement): Reason.NoAllowInBucketACL,
    (ConditionType.SCPAllows, Reason.ExplicitDeny): Reason.ExplicitDenyInSCP,
    (ConditionType.SCPAllows, Reason.NoAllowStatement): Reason.NoAllowInSCP,
    (ConditionType.RCPAllows, Reason.ExplicitDeny): Reason.ExplicitDenyInRCP,
    (ConditionType.RCPAllows, Reason.NoAllowStatement): Reason.NoAllowInRCP,
    (ConditionType.PermissionsBoundaryAllows, Reason.ExplicitDeny): Reason.ExplicitDenyInPermissionsBoundary,
    (ConditionType.PermissionsBoundaryAllows, Reason.NoAllowStatement): Reason.NoAllowInPermissionsBoundary,
    (ConditionType.SessionPolicyAllows, Reason.ExplicitDeny): Reason.ExplicitDenyInSessionPolicy,
    (ConditionType.SessionPolicyAllows, Reason.NoAllowStatement): Reason.NoAllowInSessionPolicy,
    (ConditionType.PublicAccessBlockAllows, Reason.ExplicitDeny): Reason.ExplicitDenyInPublicAccessBlock,
    (ConditionType.PublicAccessBlockAllows, Reason.NoAllowStatement): Reason.NoAllowInPublicAccessBlock,
    (ConditionType.VPCEndpointPolicyAllows, Reason.ExplicitDeny): Reason.ExplicitDenyInVPCEndpointPolicy,
    (ConditionType.VPCEndpointPolicyAllows, Reason.NoAllowStatement): Reason.NoAllowInVPCEndpointPolicy,
}


def ready_reason(check: Condition) -> Reason:
    """``ExplicitDeny`` on BucketPolicyAllows reads ``ExplicitDenyInBucketPolicy`` on Ready."""
    return ready_reason_of(check.type, check.reason)


def ready_reason_of(layer: ConditionType, reason: Reason) -> Reason:
    return _READY_REASON.get((layer, reason), reason)


def derive_ready(checks: Sequence[Condition]) -> Condition:
    """True iff no layer is False or Unknown; else the first False layer, else the first Unknown.

    When the class does not admit the request and the upload fails, that comes first: the
    operator will repair nothing for it, whatever the layer (the layer's own condition still says
    what blocks the upload).
    """
    # Ready reports the first failing layer in the order the status lists them (LAYERS); the
    # other conditions are about the operator's own work and do not decide the upload.
    layers = sorted((c for c in checks if c.type in LAYERS), key=lambda c: LAYERS.index(c.type))
    admitted = next((c for c in checks if c.type is ConditionType.Admitted), None)
    for wanted in (ConditionStatus.FALSE, ConditionStatus.UNKNOWN):
        first = next((c for c in layers if c.status is wanted), None)
        if first is None:
            continue
        if (
            admitted is not None
            and admitted.status is ConditionStatus.FALSE
            and first.reason is Reason.NotAdmitted
        ):
            # its layers were not evaluated: the operator reads nothing in AWS for it
            return Condition(
                type=ConditionType.Ready,
                status=ConditionStatus.FALSE,
                reason=admitted.reason,
                message=f"not admitted: {admitted.message}; its layers in AWS were not evaluated",
            )
        if admitted is not None and admitted.status is ConditionStatus.FALSE:
            return Condition(
                type=ConditionType.Ready,
                status=wanted,
                reason=admitted.reason,
                message=f"not admitted: {admitted.message}; and {first.type} is {first.status}: {first.message}",
            )
        return Condition(
            type=ConditionType.Ready, status=wanted, reason=ready_reason(first), message=first.message
        )
    return Condition(
        type=ConditionType.Ready,
        status=ConditionStatus.TRUE,
        reason=Reason.UploadAllowed,
        message="every layer AWS consults lets this role upload here",
    )


def merge_conditions(
    existing: Iterable[Mapping[str, Any]] | None, new: Sequence[Condition], generation: int, now: str
) -> list[dict[str, Any]]:
    """The full condition list to write: lastTransitionTime kept for every status that did not flip."""
    old = {c.get("type"): c for c in existing or ()}
    out = []
    for cond in new:
        prev = old.get(str(cond.type))
        keep = prev is not None and prev.get("status") == cond.status and prev.get("lastTransitionTime")
        out.append(
            {
                "type": str(cond.type),
                "status": str(cond.status),
                "reason": str(cond.reason),
                "message": cond.message,
                "observedGeneration": generation,
                "lastTransitionTime": prev["lastTransitionTime"] if keep and prev else now,
            }
        )
    return out
