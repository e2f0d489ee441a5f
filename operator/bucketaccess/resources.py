"""The two custom resources as types: raw bodies as TypedDicts, specs parsed once into frozen
dataclasses with the CRD's defaults applied here and nowhere else.

Pure: no Kubernetes client. The API server has validated every body against the CRD schema, so
parsing trusts the shapes; it still never raises on a value the schema allows.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

from .durations import parse_duration
from .vocabulary import ConditionStatus, ConditionType, Reason

GROUP = "s3access.dev"
VERSION = "v1alpha1"
PLURAL = "bucketaccesses"
CLASS_PLURAL = "bucketaccessclasses"
API_VERSION = f"{GROUP}/{VERSION}"
MIN_INTERVAL_S = 30.0
# What a class admits when it says nothing: an upload, with the one ACL that gives the bucket owner the object.
UPLOAD_ACTIONS = ("s3:PutObject", "s3:PutObjectAcl")
DEFAULT_ACLS = ("bucket-owner-full-control",)


class BucketPolicyMode(StrEnum):
    Manage = "Manage"
    Observe = "Observe"


class KMSKeyUsersMode(StrEnum):
    KeyPolicy = "KeyPolicy"
    Grant = "Grant"
    Observe = "Observe"


# ----------------------------------------------------------------------------- raw bodies


class RawMeta(TypedDict, total=False):
    name: str
    namespace: str
    uid: str
    generation: int
    resourceVersion: str
    deletionTimestamp: str
    finalizers: list[str]
    annotations: dict[str, str]
    labels: dict[str, str]
    creationTimestamp: str


class RawManaged(TypedDict, total=False):
    bucket: str
    bucketPolicySid: str
    kmsKeyArn: str
    keyPolicySid: str
    grantIds: list[str]


class RawStatus(TypedDict, total=False):
    observedGeneration: int
    roleArn: str
    decision: str
    lastVerifiedTime: str
    conditions: list[dict[str, Any]]
    managed: RawManaged


class RawBody(TypedDict):
    apiVersion: NotRequired[str]
    kind: NotRequired[str]
    metadata: RawMeta
    spec: NotRequired[dict[str, Any]]
    status: NotRequired[RawStatus]


# ----------------------------------------------------------------------------- parsed specs


@dataclass(frozen=True, slots=True, kw_only=True)
class Encryption:
    algorithm: str  # aws:kms | AES256
    kms_key_arn: str | None = None
    bucket_key_enabled: bool | None = None  # the PUT's own Bucket Key choice; None: the bucket's default


@dataclass(frozen=True, slots=True, kw_only=True)
class Upload:
    acl: str | None = None
    encryption: Encryption | None = None
    multipart: bool = False
    tags: tuple[tuple[str, str], ...] = ()  # the x-amz-tagging the workload sends, sorted by key
    # every other header that changes a decision (storage class, Object Lock, encryption context,
    # conditional writes), by header name, sorted
    more_headers: tuple[tuple[str, str], ...] = ()

    @staticmethod
    def parse_more_headers(upload: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        out = {str(k).lower(): str(v) for k, v in (upload.get("headers") or {}).items()}
        if upload.get("storageClass"):
            out["x-amz-storage-class"] = str(upload["storageClass"])
        lock = upload.get("objectLock") or {}
        for field_name, header in _LOCK_HEADERS.items():
            if lock.get(field_name):
                out[header] = str(lock[field_name])
        if upload.get("encryptionContext"):
            pairs = json.dumps(dict(sorted(upload["encryptionContext"].items())), separators=(",", ":"))
            out["x-amz-server-side-encryption-context"] = base64.b64encode(pairs.encode()).decode()
        return tuple(sorted(out.items()))


_LOCK_HEADERS = {
    "mode": "x-amz-object-lock-mode",
    "retainUntilDate": "x-amz-object-lock-retain-until-date",
    "legalHold": "x-amz-object-lock-legal-hold",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketAccessSpec:
    class_name: str
    bucket: str
    prefix: str = ""
    role_arn: str | None = None  # exactly one of role_arn / service_account
    service_account: str | None = None
    upload: Upload = field(default_factory=Upload)
    actions: tuple[str, ...] = ()
    vpc_endpoint_id: str | None = None
    verify_interval_s: float | None = None  # None: the operator's default

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> BucketAccessSpec:
        role = raw.get("role") or {}
        upload = raw.get("upload") or {}
        enc = upload.get("encryption") or {}
        return cls(
            class_name=str(raw.get("className") or ""),
            bucket=str(raw.get("bucket") or ""),
            prefix=str(raw.get("prefix") or ""),
            role_arn=role.get("arn") or None,
            service_account=role.get("serviceAccountName") or None,
            upload=Upload(
                acl=upload.get("acl") or None,
                encryption=(
                    Encryption(
                        algorithm=str(enc["algorithm"]),
                        kms_key_arn=enc.get("kmsKeyArn") or None,
                        bucket_key_enabled=enc.get("bucketKeyEnabled"),
                    )
                    if enc.get("algorithm")
                    else None
                ),
                multipart=bool(upload.get("multipart")),
                tags=tuple(sorted((str(k), str(v)) for k, v in (upload.get("tags") or {}).items())),
                more_headers=Upload.parse_more_headers(upload),
            ),
            actions=tuple(str(a) for a in raw.get("actions") or ()),
            vpc_endpoint_id=raw.get("vpcEndpointId") or None,
            verify_interval_s=_interval(raw.get("verifyInterval")),
        )

    def interval(self, default_s: float) -> float:
        return self.verify_interval_s if self.verify_interval_s is not None else default_s


def _interval(raw: object) -> float | None:
    if not raw:
        return None
    try:
        return max(MIN_INTERVAL_S, parse_duration(str(raw)))
    except ValueError:
        return None  # the CRD's pattern refuses it; an older object falls back to the default


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassSpec:
    namespace_selector: Mapping[str, Any] = field(default_factory=dict)
    buckets: tuple[str, ...] = ()
    prefixes: tuple[str, ...] | None = None  # None: any prefix
    roles: tuple[str, ...] = ()
    vpc_endpoint_id: str | None = None
    bucket_policy: BucketPolicyMode = BucketPolicyMode.Observe
    kms_key_users: KMSKeyUsersMode = KMSKeyUsersMode.Observe
    actions: tuple[str, ...] = UPLOAD_ACTIONS  # object actions a request may ask for (globs)
    acls: tuple[str, ...] = DEFAULT_ACLS  # canned ACLs a request may send
    kms_keys: tuple[str, ...] = ()  # key ARN globs a request may name; () = the bucket's default key only
    objects_per_namespace_per_bucket: int | None = None  # a namespace's fair share of a shared bucket
    bucket_policy_bytes_per_namespace: int | None = None  # a cap below the namespace's fair byte share
    max_prefix_length: int | None = None  # the longest prefix a request may ask for

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ClassSpec:
        reconcile = raw.get("reconcile") or {}
        limits = raw.get("limits") or {}
        prefixes = raw.get("prefixes")
        return cls(
            namespace_selector=dict(raw.get("namespaceSelector") or {}),
            buckets=tuple(raw.get("buckets") or ()),
            prefixes=tuple(prefixes) if prefixes is not None else None,
            roles=tuple(raw.get("roles") or ()),
            vpc_endpoint_id=raw.get("vpcEndpointId") or None,
            bucket_policy=BucketPolicyMode(reconcile.get("bucketPolicy") or "Observe"),
            kms_key_users=KMSKeyUsersMode(reconcile.get("kmsKeyUsers") or "Observe"),
            actions=tuple(raw["actions"]) if raw.get("actions") is not None else UPLOAD_ACTIONS,
            acls=tuple(raw["acls"]) if raw.get("acls") is not None else DEFAULT_ACLS,
            kms_keys=tuple(raw.get("kmsKeys") or ()),
            objects_per_namespace_per_bucket=limits.get("objectsPerNamespacePerBucket"),
            bucket_policy_bytes_per_namespace=limits.get("bucketPolicyBytesPerNamespace"),
            max_prefix_length=limits.get("maxPrefixLength"),
        )

    @property
    def observes_only(self) -> bool:
        return (
            self.bucket_policy is BucketPolicyMode.Observe and self.kms_key_users is KMSKeyUsersMode.Observe
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Managed:
    """``status.managed``: what one object holds in AWS, so that its cleanup knows where to look."""

    bucket: str | None = None
    bucket_policy_sid: str | None = None
    kms_key_arn: str | None = None
    key_policy_sid: str | None = None
    grant_ids: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Managed:
        raw = raw or {}
        return cls(
            bucket=raw.get("bucket") or None,
            bucket_policy_sid=raw.get("bucketPolicySid") or None,
            kms_key_arn=raw.get("kmsKeyArn") or None,
            key_policy_sid=raw.get("keyPolicySid") or None,
            grant_ids=tuple(raw.get("grantIds") or ()),
        )

    def raw(self) -> RawManaged:
        out: RawManaged = {}
        if self.bucket:
            out["bucket"] = self.bucket
        if self.bucket_policy_sid:
            out["bucketPolicySid"] = self.bucket_policy_sid
        if self.kms_key_arn:
            out["kmsKeyArn"] = self.kms_key_arn
        if self.key_policy_sid:
            out["keyPolicySid"] = self.key_policy_sid
        if self.grant_ids:
            out["grantIds"] = list(self.grant_ids)
        return out

    def __bool__(self) -> bool:
        return bool(self.raw())


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedStatus:
    """``status`` as the object's own last pass wrote it, parsed once: the facts that other passes,
    the sweep and the cleanup plan with. Nothing else reads them back from conditions.

    The CRD keys ``conditions`` by type (a list-map), so each type appears at most once.
    """

    current: bool = False  # observedGeneration is the object's generation: it speaks of this spec
    last_verified: str | None = None  # lastVerifiedTime: the last verdict from fresh AWS data
    admitted: bool = False  # Admitted is True
    role_missing: bool = False  # IdentityPolicyAllows: RoleNotFound (the role does not exist)
    # IdentityPolicyAllows is not Unknown, or Unknown only because AWS did not answer for a while
    role_read: bool = True
    role_arn: str | None = None  # status.roleArn: the role a ServiceAccount-based object resolved to
    managed: Managed = field(default_factory=Managed)
    ready_since: float | None = None  # Ready's lastTransitionTime, in epoch seconds

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None, generation: int | None) -> ObservedStatus:
        """``raw`` is the object's ``status``; ``generation`` its ``metadata.generation``."""
        raw = raw or {}
        found = {c.get("type"): c for c in raw.get("conditions") or ()}
        admitted = found.get(ConditionType.Admitted) or {}
        identity = found.get(ConditionType.IdentityPolicyAllows) or {}
        return cls(
            current=raw.get("observedGeneration") == generation,
            last_verified=raw.get("lastVerifiedTime") or None,
            admitted=admitted.get("status") == ConditionStatus.TRUE,
            role_missing=identity.get("reason") == Reason.RoleNotFound,
            role_read=identity.get("status") != ConditionStatus.UNKNOWN
            or identity.get("reason") == Reason.AWSUnavailable,
            role_arn=raw.get("roleArn") or None,
            managed=Managed.parse(raw.get("managed")),
            ready_since=_epoch((found.get(ConditionType.Ready) or {}).get("lastTransitionTime")),
        )

    @property
    def verified(self) -> bool:
        """Its own last pass admitted it for its current spec, and read its role (or AWS was down).
        AWS not answering for a while says nothing new about the role: the object stays planned (its
        grant must not flap with throttling); a role the operator cannot read at all is not."""
        return self.current and self.admitted and not self.role_missing and self.role_read

    @property
    def resumed(self) -> bool:
        """Verified before (by an earlier process) for its current spec."""
        return bool(self.last_verified) and self.current

    @property
    def holds(self) -> bool:
        """A bucket-policy grant of its own is in place."""
        return bool(self.managed.bucket_policy_sid)

    @property
    def uses_bucket_key(self) -> bool:
        """Its bucket uses an S3 Bucket Key: its own pass made a KMS grant for it."""
        return bool(self.managed.grant_ids)


def _epoch(stamp: object) -> float | None:
    if not stamp:
        return None
    try:
        return dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
