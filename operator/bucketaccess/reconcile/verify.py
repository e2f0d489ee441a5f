"""Verification: resolve the role -> admit by class -> snapshot AWS -> evaluate -> one condition
per layer. Reads only; the write half of a pass is :mod:`.repair`."""

from __future__ import annotations

import logging
from dataclasses import replace

from ..access import Explanation, Status, explain, load_scenario
from ..access.checks import merge_explanations
from ..access.intent import UploadIntent
from ..aws import snapshot
from ..aws.errors import AwsError, AwsUnavailable
from ..grants.admission import Admission, Request, admit
from ..grants.plan import upload_actions
from ..policy import InvalidInput
from ..resources import BucketAccessSpec
from ..vocabulary import LAYERS, ConditionStatus, ConditionType, IdentitySource, Reason
from .conditions import Condition, derive_ready
from .session import resolve_session
from .types import Deps, Outcome, RoleResolutionError, Subject, WorkloadSession

log = logging.getLogger(__name__)

_STATUS = {
    Status.TRUE: ConditionStatus.TRUE,
    Status.NotApplicable: ConditionStatus.TRUE,  # a layer that plays no part lets the upload through
    Status.FALSE: ConditionStatus.FALSE,
    Status.Unknown: ConditionStatus.UNKNOWN,
}


def status_layers(*, endpoint: bool, pod_identity: bool) -> tuple[ConditionType, ...]:
    """The layer conditions the status carries, in the status's order: VPCEndpointPolicyAllows only
    for a request through an endpoint; SessionPolicyAllows only for a Pod Identity association,
    whose policy the operator reads (other session policies are per session and invisible to it)."""
    return tuple(
        t
        for t in LAYERS
        if (endpoint or t is not ConditionType.VPCEndpointPolicyAllows)
        and (pod_identity or t is not ConditionType.SessionPolicyAllows)
    )


def _layers(subject: Subject, session: WorkloadSession | None = None) -> tuple[ConditionType, ...]:
    with_endpoint = bool(
        subject.spec.vpc_endpoint_id or (subject.class_spec and subject.class_spec.vpc_endpoint_id)
    )
    return status_layers(
        endpoint=with_endpoint,
        pod_identity=session is not None and session.source is IdentitySource.PodIdentity,
    )


def conditions_from(ex: Explanation, layers: tuple[ConditionType, ...]) -> list[Condition]:
    return [
        Condition(
            type=name,
            status=_STATUS[ex.checks[name].status],
            reason=ex.checks[name].reason,
            message=ex.checks[name].message,
        )
        for name in layers
    ]


def _all(
    status: ConditionStatus, reason: Reason, message: str, layers: tuple[ConditionType, ...]
) -> list[Condition]:
    return [Condition(type=n, status=status, reason=reason, message=message) for n in layers]


def admitted_condition(admission: Admission) -> Condition:
    return Condition(
        type=ConditionType.Admitted,
        status=ConditionStatus.TRUE if admission.admitted else ConditionStatus.FALSE,
        reason=admission.reason,
        message=admission.message,
    )


def request_of(
    spec: BucketAccessSpec,
    namespace: str,
    role_arn: str | None,
    default_key: str | None = None,
    public_acls_blocked: bool = False,
) -> Request:
    """What a BucketAccess asks of its class: its grant's actions, ACL and named key included."""
    encryption = spec.upload.encryption
    return Request(
        class_name=spec.class_name,
        namespace=namespace,
        bucket=spec.bucket,
        prefix=spec.prefix,
        role_arn=role_arn,
        actions=upload_actions(spec),
        acl=spec.upload.acl,
        kms_key=encryption.kms_key_arn if encryption else None,
        default_key=default_key,
        public_acls_blocked=public_acls_blocked,
    )


def _admit(
    subject: Subject, role_arn: str | None, default_key: str | None = None, public_acls_blocked: bool = False
) -> Admission:
    return admit(
        request_of(subject.spec, subject.namespace, role_arn, default_key, public_acls_blocked),
        subject.class_spec,
        subject.namespace_labels,
    )


def _unverified(admission: Admission, layers: list[Condition], role_arn: str | None) -> Outcome:
    conditions = (admitted_condition(admission), *layers)
    return Outcome(
        conditions=conditions,
        ready=derive_ready(conditions),
        role_arn=role_arn,
        admission=admission,
    )


def _refused_before_reading(subject: Subject, role_arn: str, deps: Deps) -> Admission | None:
    """The class's refusal of this request, decided from the request alone; None if admitted.

    Every rule is decided without AWS but one: a named KMS key the class does not list is still
    admitted when it is the bucket's default key, which takes a read of the bucket (admitted by
    then, so the read tells the tenant nothing it may not know). Block Public Access, the other
    rule that needs AWS, only ever refuses what the snapshot of admitted resources shows.
    """
    admission = _admit(subject, role_arn)
    if admission.admitted:
        return None
    if admission.reason is not Reason.KMSKeyNotAdmitted:
        return admission
    encryption = subject.spec.upload.encryption
    named = encryption.kms_key_arn if encryption else None
    try:
        default = snapshot.default_key(deps.reader.bucket(subject.spec.bucket).encryption, named)
    except AwsUnavailable:
        raise
    except AwsError:
        return admission  # no bucket, or not readable: the named key is not known to be its default
    again = _admit(subject, role_arn, default)
    return None if again.admitted else again


def _not_evaluated(admission: Admission, layers: tuple[ConditionType, ...], role_arn: str) -> Outcome:
    message = (
        f"not evaluated: the request is not admitted ({admission.reason}), and the operator reads "
        "nothing in AWS for a request its class does not admit"
    )
    return _unverified(
        admission, _all(ConditionStatus.UNKNOWN, Reason.NotAdmitted, message, layers), role_arn
    )


def verify(subject: Subject, deps: Deps, started: float = 0.0) -> Outcome:
    """``started``: when the reads began, on the cache's clock (see Outcome.started)."""
    try:
        session = resolve_session(subject.spec, subject.namespace, deps)
    except RoleResolutionError as exc:
        blocked = Condition(
            type=ConditionType.IdentityPolicyAllows,
            status=ConditionStatus.FALSE,
            reason=exc.reason,
            message=exc.message,
        )
        return _unverified(_admit(subject, None), [blocked], None)
    except AwsUnavailable as exc:  # the cluster's Pod Identity associations could not be read
        layers = _layers(subject)
        return _unverified(
            _admit(subject, None),
            _all(ConditionStatus.UNKNOWN, Reason.AWSUnavailable, exc.message, layers),
            None,
        )
    role_arn = session.role_arn
    layers = _layers(subject, session)
    # Admission comes before any AWS read: the operator reads nothing for a request its class does
    # not admit, so that a tenant cannot learn, through its own status, anything of AWS resources
    # its class does not give it (another team's bucket policy, key, endpoint or role).
    try:
        refused = _refused_before_reading(subject, role_arn, deps)
    except AwsUnavailable as exc:
        return _unverified(
            _admit(subject, role_arn),
            _all(ConditionStatus.UNKNOWN, Reason.AWSUnavailable, exc.message, layers),
            role_arn,
        )
    if refused is not None:
        return _not_evaluated(refused, layers, role_arn)
    class_vpce = subject.class_spec.vpc_endpoint_id if subject.class_spec else None
    intent = replace(
        UploadIntent.from_spec(subject.spec, role_arn, class_vpce), session=session.session_intent()
    )
    try:
        snap = snapshot.take(deps.reader, intent)
        explanations = [explain(load_scenario(raw, deps.now())) for raw in snap.scenarios]
    except AwsUnavailable as exc:
        admission = _admit(subject, role_arn)
        return _unverified(
            admission, _all(ConditionStatus.UNKNOWN, Reason.AWSUnavailable, exc.message, layers), role_arn
        )
    except (AwsError, InvalidInput) as exc:
        admission = _admit(subject, role_arn)
        # Data AWS returned that the engine cannot evaluate (a malformed foreign policy, ...):
        # report it instead of crashing, and do not guess.
        log.warning("verification of %s: %s", subject.owner, exc)
        return _unverified(
            admission, _all(ConditionStatus.UNKNOWN, Reason.CannotEvaluate, str(exc), layers), role_arn
        )
    admission = _admit(subject, role_arn, snap.default_key_arn, snap.public_acls_blocked)
    merged = merge_explanations(explanations)
    conditions = (admitted_condition(admission), *conditions_from(merged, layers))
    return Outcome(
        conditions=conditions,
        ready=derive_ready(conditions),
        decision=merged.decision,
        role_arn=snap.role_arn,
        verified=True,
        admission=admission,
        explanation=merged,
        snapshot=snap,
        started=started,
        session=session,
    )
