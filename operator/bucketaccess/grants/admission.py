"""Does a BucketAccessClass admit a request? The tenancy boundary, as a pure function.

A request nobody admitted is still verified and reported, but never causes a write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..policy.wildcards import glob_match
from ..resources import BucketPolicyMode, ClassSpec, KMSKeyUsersMode
from ..vocabulary import Reason


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


def admit(
    class_name: str,
    class_spec: ClassSpec | None,
    namespace: str,
    namespace_labels: Mapping[str, str] | None,
    bucket: str,
    prefix: str,
    role_arn: str | None,
) -> Admission:
    if class_spec is None:
        return Admission(
            False,
            Reason.ClassNotFound,
            f"BucketAccessClass {class_name} does not exist; nothing will be written to AWS",
        )
    if namespace_labels is None or not selector_matches(class_spec.namespace_selector, namespace_labels):
        return Admission(
            False,
            Reason.NamespaceNotAdmitted,
            f"BucketAccessClass {class_name} does not admit namespace {namespace}",
        )
    if not any(glob_match(p, bucket) for p in class_spec.buckets):
        return Admission(
            False, Reason.BucketNotAdmitted, f"BucketAccessClass {class_name} does not admit bucket {bucket}"
        )
    prefixes = class_spec.prefixes
    if prefixes is not None:
        ok = ("*" in prefixes) if prefix == "" else any(glob_match(p, prefix) for p in prefixes)
        if not ok:
            shown = prefix or '"" (the whole bucket)'
            return Admission(
                False,
                Reason.PrefixNotAdmitted,
                f"BucketAccessClass {class_name} does not admit prefix {shown}",
            )
    if role_arn is None:
        return Admission(
            False,
            Reason.RoleNotAdmitted,
            f"BucketAccessClass {class_name} cannot admit a request whose role could not be resolved",
        )
    if not any(glob_match(p, role_arn) for p in class_spec.roles):
        return Admission(
            False, Reason.RoleNotAdmitted, f"BucketAccessClass {class_name} does not admit role {role_arn}"
        )
    return Admission(
        True,
        Reason.AdmittedByClass,
        f"BucketAccessClass {class_name} admits this request (bucket policy: {class_spec.bucket_policy}, KMS key users: {class_spec.kms_key_users})",
        class_spec.bucket_policy,
        class_spec.kms_key_users,
    )
