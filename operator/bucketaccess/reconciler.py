"""One pass over one BucketAccess, with no kopf import: resolve -> snapshot -> evaluate -> outcome.

The Kopf handlers in :mod:`bucketaccess.k8s` turn an :class:`Outcome` into status and Events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .conditions import Condition


@dataclass(frozen=True)
class Outcome:
    """What one pass found, as data the handlers write; nothing here has touched Kubernetes."""

    conditions: tuple[Condition, ...]
    ready: Condition
    decision: str = "Unknown"
    role_arn: str | None = None
    verified: bool = False  # a verdict was reached from fresh AWS data: set lastVerifiedTime
    events: tuple[tuple[str, str, str], ...] = field(default=())  # (type, reason, message)


def not_yet_verified() -> Outcome:
    ready = Condition("Ready", "Unknown", "NotYetVerified", "the operator has not verified this request yet")
    return Outcome(conditions=(), ready=ready)
