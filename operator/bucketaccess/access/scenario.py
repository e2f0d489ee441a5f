"""The access scenario (docs/scenario.md) as frozen data; the loader fills every default."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from ..policy import Caller, Policy
from ..policy.records import fast_init
from ..vocabulary import ConditionType, IdentitySource, Reason


class Ownership(StrEnum):
    BucketOwnerEnforced = "BucketOwnerEnforced"
    BucketOwnerPreferred = "BucketOwnerPreferred"
    ObjectWriter = "ObjectWriter"


class KeyState(StrEnum):
    Enabled = "Enabled"
    Disabled = "Disabled"
    PendingDeletion = "PendingDeletion"
    NotFound = "NotFound"  # the bucket or upload names a key that does not exist


class KeyManager(StrEnum):
    CUSTOMER = "CUSTOMER"
    AWS = "AWS"


@fast_init
@dataclass(frozen=True, slots=True)
class NamedDocument:
    name: str
    policy: Policy


# The name of the session policy a Pod Identity association passes (``session.policy``).
POD_IDENTITY_POLICY = "pod-identity-association"


@fast_init
@dataclass(frozen=True, slots=True)
class VpcEndpoint:
    id: str
    policy: Policy | None  # None: the default full-access endpoint policy
    vpc_id: str | None = None  # aws:SourceVpc, when known
    account: str | None = None  # the endpoint owner's account: aws:VpceAccount, when known


@fast_init
@dataclass(frozen=True, slots=True)
class Request:
    caller: Caller
    action: str
    bucket: str
    key: str
    headers: dict[str, str]  # lower-cased header names
    multipart: bool
    vpc_endpoint: VpcEndpoint | None
    context: dict[str, tuple[str, ...]]  # lower-cased keys, set explicitly by the scenario
    prefix: str | None = None  # what a suggested fix covers (BUCKET/PREFIX*); None: the key's folder


@fast_init
@dataclass(frozen=True, slots=True)
class Identity:
    account: str
    policies: tuple[NamedDocument, ...] = ()
    boundary: NamedDocument | None = None
    session_policies: tuple[NamedDocument, ...] = ()
    exists: bool = True  # False: the role (or user) does not exist
    unique_id: str | None = None  # the role's RoleId or the user's UserId (AROA..., AIDA...): aws:userid
    tags: dict[str, str] = field(default_factory=dict)  # the role's (or user's) tags: aws:PrincipalTag


@fast_init
@dataclass(frozen=True, slots=True)
class AclGrant:
    grantee_type: str  # CanonicalUser | Group | AmazonCustomerByEmail
    grantee: str  # the canonical id, group URI or email
    permission: str  # FULL_CONTROL | WRITE | WRITE_ACP | READ | READ_ACP


@fast_init
@dataclass(frozen=True, slots=True)
class Acl:
    owner: str | None
    grants: tuple[AclGrant, ...]


@fast_init
@dataclass(frozen=True, slots=True)
class PublicAccessBlock:
    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    def __or__(self, other: PublicAccessBlock) -> PublicAccessBlock:
        return PublicAccessBlock(
            self.block_public_acls or other.block_public_acls,
            self.ignore_public_acls or other.ignore_public_acls,
            self.block_public_policy or other.block_public_policy,
            self.restrict_public_buckets or other.restrict_public_buckets,
        )


@fast_init
@dataclass(frozen=True, slots=True)
class Encryption:
    algorithm: str  # aws:kms | aws:kms:dsse | AES256
    kms_key_arn: str | None = None
    bucket_key_enabled: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    account: str
    policy: Policy | None
    ownership: Ownership
    acl: Acl | None
    canonical_ids: dict[str, str]
    public_access_block: PublicAccessBlock  # the effective one: bucket OR account
    encryption: Encryption | None
    exists: bool = True


@fast_init
@dataclass(frozen=True, slots=True)
class KmsGrant:
    grantee: str
    operations: tuple[str, ...]
    context_subset: dict[str, str] | None = None
    context_equals: dict[str, str] | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class KmsKey:
    arn: str
    account: str
    region: str
    manager: KeyManager
    state: KeyState
    aliases: tuple[str, ...]
    policy: Policy | None
    grants: tuple[KmsGrant, ...]
    origin: str = "AWS_KMS"  # kms:KeyOrigin
    multi_region: bool = False
    multi_region_key_type: str | None = None  # PRIMARY | REPLICA for a multi-Region key
    tags: dict[str, str] = field(default_factory=dict)  # aws:ResourceTag on the KMS requests


@fast_init
@dataclass(frozen=True, slots=True)
class OrgChains:
    scps: tuple[tuple[NamedDocument, ...], ...]
    rcps: tuple[tuple[NamedDocument, ...], ...]


@fast_init
@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    management_account: str | None
    default: OrgChains  # the chains of identity.account (or of every account without ``accounts``)
    accounts: dict[str, OrgChains] | None = None
    paths: dict[str, str] = field(default_factory=dict)  # account -> o-.../r-.../ou-.../: the *OrgPaths keys

    def chains(self, account: str, identity_account: str) -> OrgChains | None:
        """The SCP/RCP chains binding ``account``, or None when it is outside the organization."""
        if account == self.management_account:
            return None
        if self.accounts is None:
            return self.default
        if account in self.accounts:
            return self.accounts[account]
        return self.default if account == identity_account and self._default_given() else None

    def _default_given(self) -> bool:
        return bool(self.default.scps or self.default.rcps)

    def member(self, account: str, identity_account: str) -> bool:
        """With ``accounts``, only the listed accounts (and identity.account when the top-level
        chains describe it) are members; without it, every account of the scenario is."""
        if account == self.management_account or self.accounts is None or account in self.accounts:
            return True
        return account == identity_account and self._default_given()


# How a pod's SDK obtains the role in a scenario's ``session``: EKS Pod Identity, or IRSA's web
# identity token (a role the spec names directly has no session to check).
SessionSource = Literal[IdentitySource.PodIdentity, IdentitySource.IRSA]


@fast_init
@dataclass(frozen=True, slots=True)
class TargetRole:
    """Pod Identity's optional second hop: the association's role assumes this one."""

    arn: str
    trust_policy: Policy
    external_id: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Session:
    """Where the workload's credentials come from (docs/scenario.md, ``session``)."""

    source: SessionSource
    role_arn: str  # the role the association or the annotation names: the first hop
    trust_policy: Policy
    namespace: str
    service_account: str
    tags: dict[str, str] = field(default_factory=dict)  # session tags: aws:RequestTag, then aws:PrincipalTag
    cluster_arn: str | None = None
    association_id: str | None = None
    target: TargetRole | None = None
    role_policies: tuple[NamedDocument, ...] = ()  # the first role's own policies (with a target role)
    oidc_issuer: str | None = None  # IRSA: the cluster's OIDC issuer URL
    oidc_provider_exists: bool = True
    oidc_client_ids: tuple[str, ...] | None = None  # IRSA: the provider's client IDs; None: not described
    oidc_issuer_confirmed: bool = True  # False: taken from the trust policy, not known to be the cluster's
    audience: str = "sts.amazonaws.com"

    @property
    def final_role(self) -> str:
        return self.target.arn if self.target else self.role_arn


@fast_init
@dataclass(frozen=True, slots=True)
class UnknownLayer:
    """A layer whose data could not be read (the live snapshot says why); its check is Unknown."""

    reason: Reason
    message: str


@fast_init
@dataclass(frozen=True, slots=True)
class Scenario:
    region: str
    request: Request
    identity: Identity
    bucket: Bucket
    kms_keys: dict[str, KmsKey] = field(default_factory=dict)
    organization: Organization | None = None
    unknown: dict[ConditionType, UnknownLayer] = field(default_factory=dict)  # layer -> why
    session: Session | None = None  # None: the role is given directly, how it is obtained is not checked
