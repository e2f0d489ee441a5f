"""Does a BucketAccessClass admit a request? The tenancy boundary, as a pure function.

A request nobody admitted is still verified and reported, but never causes a write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..access.services import PUBLIC_CANNED_ACLS, is_bucket_action
from ..policy.wildcards import action_matches, arn_matches, glob_match
from ..resources import BucketPolicyMode, ClassSpec, KMSKeyUsersMode
from ..vocabulary import Reason
from .plan import GRANTABLE_BUCKET_ACTIONS, sets_acl


@dataclass(frozen=True, slots=True)
class Admission:
    admitted: bool
    reason: Reason
    message: str
    bucket_policy_mode: BucketPolicyMode = BucketPolicyMode.Observe
    kms_mode: KMSKeyUsersMode = KMSKeyUsersMode.Observe

    @property
    def writes(self) -> bool:
        """Admitted, and the class lets the operator write something for it."""
        return self.admitted and not (
            self.bucket_policy_mode is BucketPolicyMode.Observe and self.kms_mode is KMSKeyUsersMode.Observe
        )


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector; an empty selector selects everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What one BucketAccess asks of its class."""

    class_name: str
    namespace: str
    bucket: str
    prefix: str
    role_arn: str | None
    actions: frozenset[str]  # every object action its grant would hold
    acl: str | None = None  # the canned ACL its uploads send
    kms_key: str | None = None  # a key its spec names (upload.encryption.kmsKeyArn)
    default_key: str | None = None  # the key of the bucket's default encryption, when known
    public_acls_blocked: bool = False  # Block Public Access would refuse or ignore a public ACL


def _refused(reason: Reason, message: str) -> Admission:
    return Admission(False, reason, message)


def admit(
    request: Request, class_spec: ClassSpec | None, namespace_labels: Mapping[str, str] | None
) -> Admission:
    """The class's verdict, rule by rule in a fixed order (``_RULES``, at the end of this module);
    the first rule that refuses is named."""
    name = request.class_name
    if class_spec is None:
        return _refused(
            Reason.ClassNotFound, f"BucketAccessClass {name} does not exist; nothing will be written to AWS"
        )
    if namespace_labels is None or not selector_matches(class_spec.namespace_selector, namespace_labels):
        return _refused(
            Reason.NamespaceNotAdmitted,
            f"BucketAccessClass {name} does not admit namespace {request.namespace}",
        )
    for rule in _RULES:
        refusal = rule(request, class_spec)
        if refusal is not None:
            return refusal
    return Admission(
        True,
        Reason.AdmittedByClass,
        f"BucketAccessClass {name} admits this request (bucket policy: {class_spec.bucket_policy}, KMS key users: {class_spec.kms_key_users})",
        class_spec.bucket_policy,
        class_spec.kms_key_users,
    )


# The rules of a class that exists and admits the namespace: each refuses (an Admission) or
# passes (None).


def _bucket_not_admitted(request: Request, spec: ClassSpec) -> Admission | None:
    if any(glob_match(p, request.bucket) for p in spec.buckets):
        return None
    return _refused(
        Reason.BucketNotAdmitted,
        f"BucketAccessClass {request.class_name} does not admit bucket {request.bucket}",
    )


def _prefix_not_admitted(request: Request, spec: ClassSpec) -> Admission | None:
    prefixes, prefix = spec.prefixes, request.prefix
    if prefixes is None:
        return None  # any prefix
    # the whole bucket ("") only where the class lists "*" itself (docs/api.md, prefixes)
    ok = ("*" in prefixes) if prefix == "" else any(glob_match(p, prefix) for p in prefixes)
    if ok:
        return None
    shown = prefix or '"" (the whole bucket)'
    return _refused(
        Reason.PrefixNotAdmitted, f"BucketAccessClass {request.class_name} does not admit prefix {shown}"
    )


def _prefix_too_long(request: Request, spec: ClassSpec) -> Admission | None:
    cap, prefix = spec.max_prefix_length, request.prefix
    if cap is None or len(prefix) <= cap:
        return None
    return _refused(
        Reason.PrefixNotAdmitted,
        f"prefix is {len(prefix)} characters long, over BucketAccessClass {request.class_name}'s limit of {cap} "
        "(limits.maxPrefixLength)",
    )


def _role_not_admitted(request: Request, spec: ClassSpec) -> Admission | None:
    name = request.class_name
    if request.role_arn is None:
        return _refused(
            Reason.RoleNotAdmitted,
            f"BucketAccessClass {name} cannot admit a request whose role could not be resolved",
        )
    if any(glob_match(p, request.role_arn) for p in spec.roles):
        return None
    return _refused(
        Reason.RoleNotAdmitted, f"BucketAccessClass {name} does not admit role {request.role_arn}"
    )


def _action_manages_bucket(request: Request, spec: ClassSpec) -> Admission | None:
    managing = sorted(
        a for a in request.actions if is_bucket_action(a) and a.lower() not in GRANTABLE_BUCKET_ACTIONS
    )
    if not managing:
        return None
    return _refused(
        Reason.ActionNotAdmitted,
        f"{', '.join(managing)} manage(s) the bucket itself: the operator never grants that, whatever the class says",
    )


def _action_not_admitted(request: Request, spec: ClassSpec) -> Admission | None:
    outside = sorted(a for a in request.actions if not any(action_matches(p, a) for p in spec.actions))
    if not outside:
        return None
    return _refused(
        Reason.ActionNotAdmitted,
        f"BucketAccessClass {request.class_name} does not admit action(s) {', '.join(outside)} (it admits {', '.join(spec.actions)})",
    )


def _acl_action_without_acl(request: Request, spec: ClassSpec) -> Admission | None:
    setting = sorted(a for a in request.actions if sets_acl(a))
    if not setting or spec.acls:
        return None
    # the grant of an ACL-setting action is conditioned on the canned ACLs the class admits
    return _refused(
        Reason.ACLNotAdmitted,
        f"{', '.join(setting)} set(s) an object's ACL, and BucketAccessClass {request.class_name} admits no canned ACL "
        "to condition it on",
    )


def _acl_not_admitted(request: Request, spec: ClassSpec) -> Admission | None:
    if request.acl is None or request.acl in spec.acls:
        return None
    return _refused(
        Reason.ACLNotAdmitted,
        f"BucketAccessClass {request.class_name} does not admit the canned ACL {request.acl} (it admits {', '.join(spec.acls) or 'none'})",
    )


def _public_acl_blocked(request: Request, spec: ClassSpec) -> Admission | None:
    if request.acl not in PUBLIC_CANNED_ACLS or not request.public_acls_blocked:
        return None
    return _refused(
        Reason.ACLNotAdmitted,
        f"the canned ACL {request.acl} is public, and Block Public Access on this bucket or its account "
        "refuses or ignores public ACLs: granting it would change nothing but the risk",
    )


def _kms_key_not_admitted(request: Request, spec: ClassSpec) -> Admission | None:
    key = request.kms_key
    # the bucket's own default key is always admitted; any other must match the class's globs
    if key is None or key == request.default_key or any(arn_matches(p, key) for p in spec.kms_keys):
        return None
    allowed = ", ".join(spec.kms_keys) or "only the key of the bucket's default encryption"
    return _refused(
        Reason.KMSKeyNotAdmitted,
        f"BucketAccessClass {request.class_name} does not admit KMS key {key} (it admits {allowed})",
    )


# In this order: what a request is refused for is the first of these that refuses it.
_RULES: tuple[Callable[[Request, ClassSpec], Admission | None], ...] = (
    _bucket_not_admitted,
    _prefix_not_admitted,
    _prefix_too_long,
    _role_not_admitted,
    _action_manages_bucket,
    _action_not_admitted,
    _acl_action_without_acl,
    _acl_not_admitted,
    _public_acl_blocked,
    _kms_key_not_admitted,
)
