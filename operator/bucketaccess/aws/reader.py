"""The read side of AWS as data: what one BucketAccess verification needs, per AWS resource.

Every method returns plain data (policy documents as dicts) or raises an :mod:`.errors` error.
Implementations: :class:`bucketaccess.aws.boto.BotoReader` (boto3) and, wrapped around any
reader, :class:`bucketaccess.aws.cache.CachedReader` (shared TTL cache, single-flight).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

Document = dict[str, Any]


@dataclass(frozen=True)
class RoleInfo:
    arn: str
    account: str
    inline: tuple[tuple[str, Document], ...]
    managed: tuple[tuple[str, Document], ...]
    boundary: tuple[str, Document] | None
    trust: Document | None = None  # the trust policy (AssumeRolePolicyDocument)


@dataclass(frozen=True)
class BucketInfo:
    name: str
    account: str
    region: str
    policy: Document | None
    ownership: str
    acl: dict[str, Any] | None  # scenario form: {"owner", "grants": [...]}
    owner_canonical_id: str | None
    public_access_block: dict[str, bool] | None
    encryption: dict[str, Any] | None  # scenario form: {"algorithm", "kmsKeyArn", "bucketKeyEnabled"}


@dataclass(frozen=True)
class KeyInfo:
    arn: str
    account: str
    region: str
    manager: str
    state: str
    aliases: tuple[str, ...]
    policy: Document | None
    grants: tuple[dict[str, Any], ...] = field(default=())  # scenario form


@dataclass(frozen=True)
class PodIdentityAssociation:
    """One EKS Pod Identity association (eks:DescribePodIdentityAssociation)."""

    association_id: str
    cluster: str
    namespace: str
    service_account: str
    role_arn: str
    target_role_arn: str | None = None
    external_id: str | None = None
    disable_session_tags: bool = False
    policy: Document | None = None  # the inline session policy


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    arn: str
    oidc_issuer: str | None


@dataclass(frozen=True)
class OrgChains:
    scps: tuple[tuple[tuple[str, Document], ...], ...]  # per level, root first: (name, document)
    rcps: tuple[tuple[tuple[str, Document], ...], ...]


@dataclass(frozen=True)
class OrgInfo:
    id: str
    management_account: str
    chains: dict[str, OrgChains]  # account -> its chains; accounts outside the organization absent


class AwsReader(Protocol):
    def caller_account(self) -> str: ...

    def role(self, arn: str) -> RoleInfo: ...

    def bucket(self, name: str) -> BucketInfo: ...

    def key(self, key_ref: str, region: str) -> KeyInfo: ...

    def account_public_access_block(self, account: str) -> dict[str, bool] | None: ...

    def vpc_endpoint_policy(self, endpoint_id: str, region: str) -> Document | None: ...

    def organization(self, accounts: tuple[str, ...]) -> OrgInfo | None: ...

    def cluster(self, name: str) -> ClusterInfo: ...

    def pod_identity_associations(
        self, cluster: str, namespace: str, service_account: str
    ) -> tuple[PodIdentityAssociation, ...]: ...
