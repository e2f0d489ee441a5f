"""One pass over one BucketAccess, with no kopf import: resolve -> admit -> snapshot -> evaluate.

The Kopf handlers in :mod:`bucketaccess.k8s` hand in a :class:`Subject` and write the returned
:class:`Outcome` as status and Events; everything between is plain data and AWS reads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .access import CheckName, Explanation, Status, explain, load_scenario
from .access.checks import merge_explanations
from .access.intent import UploadIntent
from .apply import UNREAD, Applied, Unread, apply_bucket_policy, apply_grants, apply_key_policy
from .aws import snapshot
from .aws.cache import TTLCache
from .aws.errors import AwsError, AwsUnavailable, NotFound
from .aws.reader import AwsReader
from .aws.writer import AwsWriter
from .conditions import Condition, derive_ready
from .grants.admission import Admission, admit
from .grants.plan import Claim, actions_for
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
RELEASED_MEMORY = 50_000  # deleted uids remembered; far more than can be in flight at once
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
    managed: Mapping[str, Any] | None = None  # what this object holds in AWS (status.managed)


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


# ----------------------------------------------------------------------------- reconciliation


@dataclass(frozen=True)
class Peer:
    """Another BucketAccess on the same bucket or key, as the index last saw it."""

    namespace: str
    name: str
    spec: Mapping[str, Any]
    role_arn: str | None  # spec.role.arn, or status.roleArn for a ServiceAccount-based one
    class_spec: Mapping[str, Any] | None
    namespace_labels: Mapping[str, str] | None
    managed_key: str | None = None  # status.managed.kmsKeyArn: the key its last pass used
    role_missing: bool = False  # its last pass found that its role does not exist
    uid: str = ""

    @property
    def owner(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class WriteDeps:
    writer: AwsWriter
    cache: TTLCache
    lock: Callable[[str], threading.Lock]  # one lock per bucket / key
    # uids whose cleanup has run: a pass planned from a slightly older index must not put their
    # principals back (the index learns of a deletion a moment after the cleanup may have run)
    released: dict[str, None] = field(default_factory=dict)  # insertion-ordered, bounded


def _claim(peer: Peer, key_arn: str | None) -> Claim | None:
    """The claim of an admitted request whose role exists; None for everything else.

    Each object's own last pass tells whether its role exists (AWS refuses a principal that does
    not), so planning for a bucket costs no AWS call per peer.
    """
    if not peer.role_arn or peer.role_missing:
        return None
    spec = peer.spec
    admission = admit(
        str(spec.get("className", "")),
        peer.class_spec,
        peer.namespace,
        peer.namespace_labels,
        spec["bucket"],
        spec.get("prefix") or "",
        peer.role_arn,
    )
    if not admission.admitted or (
        admission.bucket_policy_mode == "Observe" and admission.kms_mode == "Observe"
    ):
        return None
    upload = spec.get("upload") or {}
    return Claim(
        owner=peer.owner,
        role_arn=peer.role_arn,
        bucket=spec["bucket"],
        prefix=spec.get("prefix") or "",
        actions=actions_for(spec.get("actions") or (), acl=bool(upload.get("acl"))),
        bucket_mode=admission.bucket_policy_mode,
        kms_mode=admission.kms_mode,
        kms_key_arn=key_arn,
    )


def _reconciled(applied: list[Applied], admission: Admission) -> Condition:
    refused = [a for a in applied if a.refusal]
    if refused:
        first = refused[0]
        return Condition(
            "Reconciled",
            "False",
            first.refusal or "NotReconciled",
            _clip(f"{first.target}: {first.detail}; nothing was written"),
        )
    if admission.bucket_policy_mode == "Observe" and admission.kms_mode == "Observe":
        return Condition(
            "Reconciled",
            "True",
            "ObserveOnly",
            "the class observes only: the operator reports and never writes",
        )
    wrote = [a.target for a in applied if a.wrote]
    message = (
        f"managed grants are in place ({'written to ' + ', '.join(wrote) if wrote else 'no change needed'})"
    )
    return Condition("Reconciled", "True", "GrantsInPlace", message)


def run(
    subject: Subject,
    peers: Callable[[], list[Peer]],
    deps: Deps,
    writes: WriteDeps,
    before_write: Callable[[], None] | None = None,
) -> Outcome:
    """Verify, bring the managed grants of this object's bucket and key to the wanted state,
    and verify again after any write.

    ``peers`` is called only when this object's class lets the operator write (an object that
    only observes needs no plan, and at thousands of objects on one bucket the list is not free).
    ``before_write`` runs before anything may be written for this object (the caller puts its
    cleanup finalizer on there); if it raises, nothing is written and the error propagates.
    """
    outcome = verify(subject, deps)
    admission, snap = outcome.admission, outcome.snapshot
    if admission is None or not admission.admitted:
        reason = admission.reason if admission else "NotAdmitted"
        cond = Condition(
            "Reconciled",
            "False",
            "NotAdmitted",
            f"nothing is written for a request its class does not admit ({reason})",
        )
        return replace(outcome, conditions=(*outcome.conditions, cond))
    if snap is None:
        return outcome  # AWS unavailable or unevaluable: no write on partial knowledge
    if snap.role_missing:
        cond = Condition(
            "Reconciled",
            "False",
            "RoleNotFound",
            f"role {snap.role_arn} does not exist, so AWS would refuse it as a principal; nothing was written",
        )
        return replace(outcome, conditions=(*outcome.conditions, cond))
    me = Peer(
        subject.namespace,
        subject.name,
        subject.spec,
        snap.role_arn,
        subject.class_spec,
        subject.namespace_labels,
        snap.key_arn,
    )
    own = _claim(me, snap.key_arn)
    if own is None:
        return replace(outcome, conditions=(*outcome.conditions, _reconciled([], admission)))
    if before_write is not None:
        before_write()
    applied = _apply_all(own, me, peers(), deps, writes)
    if any(a.wrote for a in applied):
        outcome = verify(subject, deps)  # what AWS holds now, read fresh
    managed: dict[str, Any] = {"bucket": own.bucket}
    for a in applied:
        if a.target == own.bucket and a.sid:
            managed["bucketPolicySid"] = a.sid
        elif a.target == own.kms_key_arn:
            managed["kmsKeyArn"] = a.target
            if a.sid:
                managed["keyPolicySid"] = a.sid
            if a.grant_ids:
                managed["grantIds"] = list(a.grant_ids)
    events = tuple(e for a in applied for e in a.events)
    return replace(
        outcome,
        conditions=(*outcome.conditions, _reconciled(applied, admission)),
        managed=managed,
        events=(*outcome.events, *events),
    )


def _cached_bucket_policy(reader: AwsReader, bucket: str) -> str | Unread | None:
    try:
        policy = reader.bucket(bucket).policy
    except AwsError:
        return UNREAD
    return json.dumps(policy) if policy is not None else None


def _cached_key(reader: AwsReader, key_arn: str) -> tuple[str | Unread | None, list[dict[str, Any]] | Unread]:
    try:
        key = reader.key(key_arn, key_arn.split(":")[3])
    except AwsError:
        return UNREAD, UNREAD
    return (json.dumps(key.policy) if key.policy is not None else UNREAD), [dict(g) for g in key.grants]


def _apply_all(own: Claim, me: Peer, peers: list[Peer], deps: Deps, writes: WriteDeps) -> list[Applied]:
    """Plan against the shared cache first: in the steady state nothing is read fresh or written."""
    others = [p for p in peers if p.owner != me.owner and p.uid not in writes.released]
    applied = []
    if own.bucket_mode == "Manage":
        with writes.lock(f"bucket:{own.bucket}"):
            claims = [
                own,
                *(
                    c
                    for p in others
                    if p.spec.get("bucket") == own.bucket and (c := _claim(p, p.managed_key))
                ),
            ]
            cached = _cached_bucket_policy(deps.reader, own.bucket)
            applied.append(apply_bucket_policy(own.bucket, claims, own, writes.writer, writes.cache, cached))
    if own.kms_mode != "Observe" and own.kms_key_arn:
        key = own.kms_key_arn
        with writes.lock(f"key:{key}"):
            claims = [own, *(c for p in others if p.managed_key == key and (c := _claim(p, p.managed_key)))]
            policy, grants = _cached_key(deps.reader, key)
            if own.kms_mode == "KeyPolicy":
                applied.append(apply_key_policy(key, claims, own, writes.writer, writes.cache, policy))
            else:
                applied.append(apply_grants(key, claims, own, writes.writer, writes.cache, grants))
    return applied


def release(
    subject: Subject,
    managed: Mapping[str, Any],
    peers: list[Peer],
    deps: Deps,
    writes: WriteDeps,
    uid: str = "",
) -> list[Applied]:
    """On deletion: remove this object's share of the managed statements and grants.

    The remaining claims are planned as usual, without this one. A bucket or key that no longer
    exists holds nothing to remove. AwsUnavailable escapes, so the finalizer retries.
    """
    me = f"{subject.namespace}/{subject.name}"
    others = [p for p in peers if p.owner != me and p.uid not in writes.released]
    applied: list[Applied] = []
    bucket = managed.get("bucket") or subject.spec.get("bucket")
    if uid:
        writes.released[uid] = None  # before any lock: every pass planned from now on leaves it out
        while len(writes.released) > RELEASED_MEMORY:
            del writes.released[next(iter(writes.released))]
    if bucket and managed.get("bucketPolicySid"):
        with writes.lock(f"bucket:{bucket}"):
            claims = [c for p in others if p.spec.get("bucket") == bucket and (c := _claim(p, p.managed_key))]
            with contextlib.suppress(NotFound):  # a deleted bucket holds nothing of ours any more
                applied.append(apply_bucket_policy(str(bucket), claims, None, writes.writer, writes.cache))
    key = managed.get("kmsKeyArn")
    if key:
        with writes.lock(f"key:{key}"):
            claims = [c for p in others if p.managed_key == key and (c := _claim(p, p.managed_key))]
            try:  # a deleted key holds nothing of ours any more
                if managed.get("keyPolicySid"):
                    applied.append(apply_key_policy(str(key), claims, None, writes.writer, writes.cache))
                if managed.get("grantIds"):
                    applied.append(apply_grants(str(key), claims, None, writes.writer, writes.cache))
            except NotFound:
                pass
    return applied
