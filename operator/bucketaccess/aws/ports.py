"""The two seams to AWS, and the data that crosses them. No boto3 here: :mod:`bucketaccess.reconcile`
and the Kubernetes edge import this module, and importing it must not load an AWS SDK.

    AwsReader   what one verification reads, per AWS resource (roles, buckets, keys, ...)
    AwsWriter   what reconciliation may change, and the fresh reads a write merges into

Implementations: :class:`~.boto.BotoReader` and :class:`~.writer.BotoWriter` (boto3),
:class:`~.cache.CachedReader` (a shared TTL cache around any reader), and
:class:`~.memory.MemoryAws` (both seams in memory, for tests). ``tests/aws/test_seam_contract.py``
holds the boto3 and the in-memory implementation to the contracts written here.

Every method states its contract the way the ACK runtime's resource manager does: what it returns,
what absence looks like, and which error of :mod:`.errors` means what. Common to all of them:

- An error code that means "not configured" (:data:`~.errors.NOT_CONFIGURED`) is an answer, not an
  error: it comes back as ``None`` (or the documented default), never raised.
- ``NotFound`` (with ``kind``) is raised only where a method says so: the resource it was asked
  about does not exist.
- ``OperatorAccessDenied``: the operator's own credentials were refused (or there are none).
- ``AwsUnavailable``: AWS did not answer, answered 5xx, or throttled past the retries.
- ``AwsError`` (with ``code``): any other refusal, such as a policy AWS does not accept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

Document = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class RoleInfo:
    arn: str  # as IAM knows it, path included
    account: str
    inline: tuple[tuple[str, Document], ...]  # (policy name, document)
    managed: tuple[tuple[str, Document], ...]  # (policy name, default version's document)
    boundary: tuple[str, Document] | None
    trust: Document | None = None  # the trust policy (AssumeRolePolicyDocument)
    unique_id: str | None = None  # RoleId (AROA...): aws:userid of its sessions
    tags: tuple[tuple[str, str], ...] = ()  # the role's tags: aws:PrincipalTag of its sessions


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class VpcEndpointInfo:
    """One VPC endpoint (ec2:DescribeVpcEndpoints): what an upload through it is evaluated with."""

    id: str
    policy: Document | None  # None: the default policy, which allows everything
    vpc_id: str | None = None  # aws:SourceVpc
    owner: str | None = None  # the owner's account: aws:VpceAccount


@dataclass(frozen=True, kw_only=True)
class KeyInfo:
    arn: str
    account: str
    region: str
    manager: str  # CUSTOMER or AWS
    state: str  # Enabled, Disabled, PendingDeletion, ...
    aliases: tuple[str, ...]
    policy: Document | None
    grants: tuple[dict[str, Any], ...] = field(default=())  # scenario form
    origin: str = "AWS_KMS"  # kms:KeyOrigin
    multi_region: bool = False
    multi_region_key_type: str | None = None  # PRIMARY | REPLICA


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class ClusterInfo:
    name: str
    arn: str
    oidc_issuer: str | None


def issuer_host(issuer: str) -> str:
    """An OIDC issuer as IAM names its provider: no scheme, no trailing slash."""
    return issuer.removeprefix("https://").rstrip("/")


@dataclass(frozen=True, kw_only=True)
class OIDCProviderInfo:
    """One IAM OIDC identity provider (iam:GetOpenIDConnectProvider)."""

    arn: str  # arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH
    url: str  # as IAM holds it: no scheme
    client_ids: tuple[str, ...]  # the audiences STS accepts in a token's aud


@dataclass(frozen=True, kw_only=True)
class OrgChains:
    scps: tuple[tuple[tuple[str, Document], ...], ...]  # per level, root first: (name, document)
    rcps: tuple[tuple[tuple[str, Document], ...], ...]


@dataclass(frozen=True, kw_only=True)
class OrgInfo:
    id: str
    management_account: str
    chains: dict[str, OrgChains]  # account -> its chains; accounts outside the organization absent


SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"


@dataclass(frozen=True, kw_only=True)
class OrgReach:
    """The accounts an Organizations policy binds through some of its targets."""

    # SERVICE_CONTROL_POLICY, RESOURCE_CONTROL_POLICY, or a type no upload consults; None when the
    # policy was deleted before it could be read (an attach or detach of it: either of the two)
    policy_type: str | None
    accounts: frozenset[str] | None  # None: a root is among the targets, so every account


class AwsReader(Protocol):
    """The read side. Thread-safe in every implementation the operator runs (Kopf's thread pool)."""

    def caller_account(self) -> str:
        """The account of the operator's own credentials (sts:GetCallerIdentity), the same for the
        life of the reader. OperatorAccessDenied when there are no credentials or they are refused."""
        ...

    def role(self, arn: str) -> RoleInfo:
        """The role, its inline and attached managed policies, its permissions boundary and its
        trust policy, every document parsed.

        IAM finds a role by its name alone: ``RoleInfo.arn`` is the ARN IAM holds, which differs
        from ``arn`` when the path (or case) does, and the caller decides what that means.
        NotFound(kind="role") when IAM answers NoSuchEntity. A role in another account than
        :meth:`caller_account` is read through the account reader role; with none configured,
        OperatorAccessDenied (``iam:GetRole``). An implementation that holds every account itself
        (in memory) reads it directly."""
        ...

    def bucket(self, name: str) -> BucketInfo:
        """What decides an upload to the bucket: policy, ownership, ACL, Block Public Access and
        default encryption, in the region the bucket lives in.

        "Not configured" is absence: no bucket policy (NoSuchBucketPolicy) is ``policy=None``; no
        Block Public Access (NoSuchPublicAccessBlockConfiguration) is ``public_access_block=None``;
        no default encryption (ServerSideEncryptionConfigurationNotFoundError) is
        ``encryption=None``; no ownership controls (OwnershipControlsNotFoundError) is
        ``ownership="ObjectWriter"``, what S3 does without them. ``account`` is
        :meth:`caller_account`: the operator runs in the account that owns its buckets.
        NotFound(kind="bucket") when S3 answers NoSuchBucket."""
        ...

    def key(self, key_ref: str, region: str) -> KeyInfo:
        """The KMS key ``key_ref`` names: a key ARN, a key id, an alias (``alias/name``) or an
        alias ARN. Aliases are resolved (kms:DescribeKey): ``KeyInfo.arn`` is always the key's own
        ARN, and ``aliases`` lists every alias of the key. ``region`` is used unless ``key_ref`` is
        an ARN, which carries its own. ``policy`` is the key policy named "default"; ``grants`` are
        every grant on the key, in scenario form.

        NotFound(kind="key") when KMS answers NotFoundException: no such key, or no such alias."""
        ...

    def account_public_access_block(self, account: str) -> dict[str, bool] | None:
        """The account's own Block Public Access settings (s3control:GetPublicAccessBlock); None
        when the account has none (NoSuchPublicAccessBlockConfiguration)."""
        ...

    def vpc_endpoint(self, endpoint_id: str, region: str) -> VpcEndpointInfo:
        """A VPC endpoint: its policy (None: it has none, and allows everything), its VPC and owner.
        NotFound(kind="vpce") when EC2 does not know the endpoint."""
        ...

    def organization(self, accounts: tuple[str, ...]) -> OrgInfo | None:
        """The organization of the operator's account, and for each of ``accounts`` that is a
        member its SCP and RCP chains: one level per target, the root first, then each OU, then
        the account itself.

        None when the operator's account is in no organization (AWSOrganizationsNotInUseException).
        An account of ``accounts`` that is not a member (ChildNotFound, AccountNotFound), and the
        management account, whom SCPs and RCPs do not bind, are absent from ``chains``. Where the
        organization has not enabled RCPs, each RCP level is empty. OperatorAccessDenied when the
        operator runs in a member account with no organization reader role: a member sees that it
        is in an organization, but not the policies above it."""
        ...

    def org_policy_reach(self, policy_id: str, targets: tuple[str, ...] | None) -> OrgReach:
        """The type of the Organizations policy (organizations:DescribePolicy) and the accounts it
        binds through ``targets`` (an attach or a detach names its one target), or through every
        target it is attached to now when ``targets`` is None (organizations:ListTargetsForPolicy):
        an account target is itself, an OU is every account under it, at any depth
        (organizations:ListChildren), a root is every account (``accounts=None``, nothing listed).

        Read as :meth:`organization` reads: through the org reader role when one is configured.
        When Organizations answers PolicyNotFoundException (a policy detached, then deleted, before
        its detach is read) the reach of ``targets`` with ``policy_type=None``; with no ``targets``,
        NotFound(kind="organization policy"). OperatorAccessDenied when the operator may not read it."""
        ...

    def cluster(self, name: str) -> ClusterInfo:
        """The EKS cluster (eks:DescribeCluster), with its OIDC issuer, None when it has none.
        NotFound(kind="EKS cluster") when EKS answers ResourceNotFoundException."""
        ...

    def oidc_provider(self, account: str, issuer: str) -> OIDCProviderInfo | None:
        """The IAM OIDC identity provider of ``account`` for ``issuer`` (an ``https://`` URL or a
        bare host and path), the one STS checks an IRSA token against: every provider of the
        account is listed (iam:ListOpenIDConnectProviders) and the one whose URL is the issuer's,
        without scheme or trailing slash, is read (iam:GetOpenIDConnectProvider) for its client
        IDs. None when the account has no provider for the issuer (then STS refuses every token
        of it). An account other than :meth:`caller_account` is read through the account reader
        role; with none configured, OperatorAccessDenied (``iam:ListOpenIDConnectProviders``)."""
        ...

    def pod_identity_associations(
        self, cluster: str, namespace: str, service_account: str
    ) -> tuple[PodIdentityAssociation, ...]:
        """Every EKS Pod Identity association of one ServiceAccount, every page, each described;
        ``()`` when there is none. A cluster EKS does not know is AwsError with code
        ResourceNotFoundException, not NotFound: the question was about the ServiceAccount."""
        ...


class AwsWriter(Protocol):
    """The write side: only what reconciliation may change. Its reads are fresh, never cached: a
    write is merged into what AWS holds right now. Given a write check (:mod:`.attempts`), every
    attempt of a write runs it first: what it raises (NotLeader) passes through unchanged, and
    that attempt and every later one are not sent."""

    def bucket_policy_text(self, bucket: str) -> str | None:
        """The bucket policy as S3 holds it (JSON text); None when there is none
        (NoSuchBucketPolicy). NotFound(kind="bucket") when S3 answers NoSuchBucket."""
        ...

    def put_bucket_policy(self, bucket: str, text: str) -> None:
        """Replace the bucket policy with ``text``. S3 resolves each AWS principal when the policy
        is written: one naming a role or user that does not exist is AwsError with code
        MalformedPolicy, and nothing changes. NotFound(kind="bucket") when S3 answers NoSuchBucket."""
        ...

    def delete_bucket_policy(self, bucket: str) -> None:
        """Remove the bucket policy; deleting none is no error. NotFound(kind="bucket") when S3
        answers NoSuchBucket."""
        ...

    def key_policy_text(self, key_arn: str) -> str | None:
        """The key policy named "default" (JSON text). NotFound(kind="key") when KMS answers
        NotFoundException."""
        ...

    def put_key_policy(self, key_arn: str, text: str) -> None:
        """Replace the key policy, never bypassing KMS's lockout safety check. KMS resolves each
        AWS principal: one that does not exist is AwsError with code
        MalformedPolicyDocumentException, and nothing changes. NotFound(kind="key") when KMS
        answers NotFoundException."""
        ...

    def grants(self, key_arn: str) -> list[dict[str, Any]]:
        """Every grant on the key, in KMS's own shape (``GrantId``, ``Name``,
        ``GranteePrincipal``, ``Operations``, ``Constraints``), every page. NotFound(kind="key")
        when KMS answers NotFoundException."""
        ...

    def create_grant(
        self, key_arn: str, grantee: str, operations: list[str], name: str, constraints: dict[str, Any]
    ) -> str:
        """Create a grant and return its id. A grantee that does not exist is AwsError with code
        InvalidArnException. NotFound(kind="key") when KMS answers NotFoundException."""
        ...

    def revoke_grant(self, key_arn: str, grant_id: str) -> None:
        """Revoke one grant by id. NotFound(kind="key") when KMS answers NotFoundException."""
        ...
