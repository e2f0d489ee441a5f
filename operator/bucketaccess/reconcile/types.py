"""The data of one pass: what goes in (a Subject, its peers, the AWS seams) and what comes out
(an Outcome the Kubernetes edge writes as status and Events). Nothing here does I/O."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..access import Explanation
from ..access.intent import SessionIntent
from ..aws.cache import TTLCache
from ..aws.ports import AwsReader, AwsWriter, ClusterInfo, Document
from ..aws.snapshot import Snapshot
from ..grants.admission import Admission
from ..grants.shard import DEFAULT_SHARD, Shard
from ..policy import Decision
from ..resources import BucketAccessSpec, ClassSpec, Managed
from ..vocabulary import EventType, IdentitySource, Reason
from .conditions import Condition


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    type: EventType
    reason: Reason
    message: str


class RoleResolutionError(Exception):
    """The role of a ServiceAccount-based request could not be resolved."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """One BucketAccess as a pass sees it, with what the watch knows about its class."""

    namespace: str
    name: str
    spec: BucketAccessSpec
    class_spec: ClassSpec | None
    namespace_labels: Mapping[str, str] | None
    uid: str = ""
    created: str = ""  # metadata.creationTimestamp (RFC 3339 sorts as time): first come, first served
    holds: bool = False  # its status says a bucket-policy grant of its own is in place

    @property
    def owner(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Peer:
    """Another BucketAccess on the same bucket or key, as the object store last saw it."""

    namespace: str
    name: str
    spec: BucketAccessSpec
    role_arn: str | None  # spec.role.arn, or status.roleArn for a ServiceAccount-based one
    class_spec: ClassSpec | None
    namespace_labels: Mapping[str, str] | None
    managed_key: str | None = None  # status.managed.kmsKeyArn: the key its last pass used
    role_missing: bool = False  # its last pass found that its role does not exist
    uid: str = ""
    created: str = ""
    bucket_key: bool = False  # its bucket uses an S3 Bucket Key (known from the grant its pass made)
    # its own last pass admitted it, for its current spec, and read its role: only such an object
    # is planned by another's pass or by the sweep (never one that was not, or not yet, verified)
    verified: bool = False
    holds: bool = False  # a bucket-policy grant of its own is in place: it is never evicted

    @property
    def rank(self) -> tuple[bool, str, str]:
        """First come, first served: who holds a grant, then who was created first."""
        return (not self.holds, self.created, self.uid)

    @property
    def owner(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What one pass found, as data the edge writes; nothing here has touched Kubernetes."""

    conditions: tuple[Condition, ...]
    ready: Condition
    decision: Decision = Decision.Unknown
    role_arn: str | None = None
    verified: bool = False  # a verdict from fresh AWS data: set lastVerifiedTime
    admission: Admission | None = None
    explanation: Explanation | None = None
    snapshot: Snapshot | None = None
    session: WorkloadSession | None = None  # where the credentials come from (status.identity)
    events: tuple[Event, ...] = ()
    managed: Managed | None = None  # what this object holds in AWS (status.managed)
    started: float = 0.0  # when its reads began (the cache's clock): a write after it makes it stale


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkloadSession:
    """The role session the workload's pods upload with, and where it comes from (status.identity);
    not an IAM identity policy, which the IdentityPolicyAllows layer checks."""

    source: IdentitySource
    role_arn: str  # the role whose session uploads: the target role when there is one
    namespace: str = ""
    service_account: str = ""
    first_role_arn: str | None = None  # the role the annotation or the association names
    target_role_arn: str | None = None
    association_id: str | None = None
    external_id: str | None = None
    session_tags: bool = False
    session_policy: Document | None = None
    cluster: ClusterInfo | None = None
    oidc_issuer: str | None = None  # IRSA: the cluster's issuer, when known

    def session_intent(self) -> SessionIntent | None:
        if self.source is IdentitySource.RoleArn or self.first_role_arn is None:
            return None
        return SessionIntent(
            source=self.source,
            namespace=self.namespace,
            service_account=self.service_account,
            role_arn=self.first_role_arn,
            target_role_arn=self.target_role_arn,
            external_id=self.external_id,
            session_tags=self.session_tags,
            session_policy=self.session_policy,
            association_id=self.association_id,
            cluster_arn=self.cluster.arn if self.cluster and self.cluster.arn else None,
            oidc_issuer=self.oidc_issuer,
        )

    def as_status(self) -> dict[str, Any]:
        """``status.identity``: where the credentials come from, as a person checks it."""
        out: dict[str, Any] = {"source": str(self.source), "roleArn": self.first_role_arn or self.role_arn}
        if self.source is IdentitySource.RoleArn:
            return out
        out["serviceAccount"] = f"{self.namespace}/{self.service_account}"
        if self.source is IdentitySource.IRSA:
            out["annotation"] = f"eks.amazonaws.com/role-arn: {self.first_role_arn}"
        if self.association_id:
            out["associationId"] = self.association_id
        if self.target_role_arn:
            out["targetRoleArn"] = self.target_role_arn
        if self.source is IdentitySource.PodIdentity:
            out["sessionTags"] = self.session_tags
            out["sessionPolicy"] = self.session_policy is not None
        if self.cluster is not None:
            out["cluster"] = self.cluster.name
        return out


@dataclass(kw_only=True)
class Deps:
    """What a verification reads through."""

    reader: AwsReader
    # the IRSA annotation's role, or RoleResolutionError (RoleAnnotationMissing when there is none)
    resolve_service_account: Callable[[str, str], str]
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    cluster_name: str | None = None  # the EKS cluster the operator runs in: Pod Identity associations
    oidc_issuer: str | None = None  # IRSA's issuer, when not read from the cluster


def lock_table() -> Callable[[str], threading.Lock]:
    """One lock per name (``bucket:NAME``, ``key:ARN``), made on first use."""
    locks: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def lock(name: str) -> threading.Lock:
        with guard:
            return locks.setdefault(name, threading.Lock())

    return lock


RELEASED_MEMORY = 50_000  # deleted uids remembered; far more than can be in flight at once


@dataclass(kw_only=True)
class WriteDeps:
    """What a pass writes through, shared by every pass of the process."""

    writer: AwsWriter
    cache: TTLCache
    # whose managed statements and grants this process writes: its own, never another shard's
    shard: Shard = DEFAULT_SHARD
    lock: Callable[[str], threading.Lock] = field(default_factory=lock_table)  # one lock per bucket / key
    # uids whose cleanup has run: a pass planned from a slightly older store must not put their
    # principals back (the store learns of a deletion a moment after the cleanup may have run)
    released: dict[str, None] = field(default_factory=dict)  # insertion-ordered, bounded
    # bucket or key -> {Sid: canonical statement} of ours as this process last wrote or saw them:
    # a live statement that differs was edited by someone else (RestoredManagedStatement)
    written: dict[str, dict[str, str]] = field(default_factory=dict)
    # uid -> the object as its latest pass in this process planned it: fresher than any status,
    # so two passes running together each plan the other (instead of undoing each other's grant)
    claims: dict[str, Peer] = field(default_factory=dict)

    def release(self, uid: str) -> None:
        self.released[uid] = None
        while len(self.released) > RELEASED_MEMORY:
            del self.released[next(iter(self.released))]

    def forget(self, uid: str) -> None:
        """The object is gone from the cluster: no pass or sweep plans it from here on, not even
        from its own latest claim (it may have gone without a cleanup of its own)."""
        self.release(uid)
        self.claims.pop(uid, None)

    def forget_claims(self) -> None:
        self.claims.clear()

    def planned(self) -> dict[str, Peer]:
        """The claims of this process's latest passes, copied at once (passes write them from
        other threads)."""
        return dict(self.claims)
