"""One pass over one BucketAccess, with no kopf import: resolve -> admit -> snapshot -> evaluate.

The Kopf handlers in :mod:`bucketaccess.k8s` hand in a :class:`Subject` and write the returned
:class:`Outcome` as status and Events; everything between is plain data and AWS reads.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .access import CheckName, Explanation, Status, explain, load_scenario
from .access.checks import merge_explanations
from .access.intent import UploadIntent
from .aws import snapshot
from .aws.errors import AwsError, AwsUnavailable
from .aws.reader import AwsReader
from .conditions import Condition, derive_ready
from .grants.admission import Admission, admit
from .policy import InvalidInput

log = logging.getLogger(__name__)

# The layer conditions the status carries, in the spec's order (session policies are per session
# and invisible to the operator, so SessionPolicyAllows is not among them).
LAYER_CONDITIONS = (
    CheckName.IdentityPolicyAllows,
    CheckName.KMSKeyUsable,
    CheckName.BucketPolicyAllows,
    CheckName.BucketACLAllows,
    CheckName.SCPAllows,
    CheckName.RCPAllows,
    CheckName.PermissionsBoundaryAllows,
    CheckName.PublicAccessBlockAllows,
    CheckName.VPCEndpointPolicyAllows,
)
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
MAX_MESSAGE = 2000


class RoleResolutionError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Subject:
    """One BucketAccess as the reconciler sees it, with what the indexes know about its class."""

    namespace: str
    name: str
    spec: Mapping[str, Any]
    class_spec: Mapping[str, Any] | None
    namespace_labels: Mapping[str, str] | None


@dataclass(frozen=True)
class Outcome:
    """What one pass found, as data the handlers write; nothing here has touched Kubernetes."""

    conditions: tuple[Condition, ...]
    ready: Condition
    decision: str = "Unknown"
    role_arn: str | None = None
    verified: bool = False  # a verdict from fresh AWS data: set lastVerifiedTime
    admission: Admission | None = None
    explanation: Explanation | None = None
    snapshot: snapshot.Snapshot | None = None
    events: tuple[tuple[str, str, str], ...] = field(default=())  # (type, reason, message)


@dataclass
class Deps:
    reader: AwsReader
    resolve_service_account: Callable[[str, str], str]
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)


def resolve_role(subject: Subject, deps: Deps) -> str:
    role = subject.spec.get("role") or {}
    if role.get("arn"):
        return str(role["arn"])
    return deps.resolve_service_account(subject.namespace, str(role.get("serviceAccountName")))


def _clip(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def conditions_from(ex: Explanation, with_endpoint: bool) -> list[Condition]:
    out = []
    for name in LAYER_CONDITIONS:
        if name is CheckName.VPCEndpointPolicyAllows and not with_endpoint:
            continue
        check = ex.checks[name]
        status = {
            Status.TRUE: "True",
            Status.NotApplicable: "True",
            Status.FALSE: "False",
            Status.Unknown: "Unknown",
        }[check.status]
        out.append(Condition(str(name), status, check.reason, _clip(check.message)))
    return out


def _all_unknown(reason: str, message: str, with_endpoint: bool) -> list[Condition]:
    return [
        Condition(str(n), "Unknown", reason, _clip(message))
        for n in LAYER_CONDITIONS
        if with_endpoint or n is not CheckName.VPCEndpointPolicyAllows
    ]


def verify(subject: Subject, deps: Deps) -> Outcome:
    spec = subject.spec
    class_name = str(spec.get("className", ""))
    class_vpce = (subject.class_spec or {}).get("vpcEndpointId")
    with_endpoint = bool(spec.get("vpcEndpointId") or class_vpce)
    try:
        role_arn: str | None = resolve_role(subject, deps)
    except RoleResolutionError as exc:
        role_arn = None
        admission = admit(
            class_name,
            subject.class_spec,
            subject.namespace,
            subject.namespace_labels,
            spec["bucket"],
            spec.get("prefix") or "",
            None,
        )
        blocked = Condition(str(CheckName.IdentityPolicyAllows), "False", exc.reason, exc.message)
        return Outcome(
            (_admitted(admission), blocked), derive_ready([blocked]), "Unknown", None, False, admission
        )
    admission = admit(
        class_name,
        subject.class_spec,
        subject.namespace,
        subject.namespace_labels,
        spec["bucket"],
        spec.get("prefix") or "",
        role_arn,
    )
    intent = UploadIntent.from_spec(spec, role_arn, class_vpce)
    try:
        snap = snapshot.take(deps.reader, intent)
        explanations = [explain(load_scenario(raw, deps.now())) for raw in snap.scenarios]
    except AwsUnavailable as exc:
        layers = _all_unknown("AWSUnavailable", exc.message, with_endpoint)
        return Outcome(
            (_admitted(admission), *layers), derive_ready(layers), "Unknown", role_arn, False, admission
        )
    except (AwsError, InvalidInput) as exc:
        # Data AWS returned that the engine cannot evaluate (a malformed foreign policy, ...):
        # report it instead of crashing, and do not guess.
        log.warning("verification of %s/%s: %s", subject.namespace, subject.name, exc)
        layers = _all_unknown("CannotEvaluate", str(exc), with_endpoint)
        return Outcome(
            (_admitted(admission), *layers), derive_ready(layers), "Unknown", role_arn, False, admission
        )
    merged = merge_explanations(explanations)
    layers = conditions_from(merged, with_endpoint)
    return Outcome(
        (_admitted(admission), *layers),
        derive_ready(layers),
        str(merged.decision),
        snap.role_arn,
        True,
        admission,
        merged,
        snap,
    )


def _admitted(admission: Admission) -> Condition:
    return Condition(
        "Admitted", "True" if admission.admitted else "False", admission.reason, admission.message
    )
