"""An AWS account (or several) in memory, behind the same two seams as boto3: it implements
:class:`~.ports.AwsReader` and :class:`~.ports.AwsWriter`, so a pass runs against it in
microseconds with no process and no network.

It refuses what AWS refuses where the operator's correctness depends on it: a bucket or key
policy naming a role that does not exist is ``MalformedPolicy`` or
``MalformedPolicyDocumentException`` (AWS resolves role principals when a policy is written), a grant for an unknown grantee is ``InvalidArnException``, a missing
bucket, key or role is NotFound. Every write is recorded in ``writes``; ``fail`` makes the next
calls of an operation raise a chosen error; ``check_write`` runs before each write, as it runs
before each HTTP attempt of one in boto3 (:mod:`.attempts`).

``tests/aws/test_seam_contract.py`` holds it and boto3 to the contracts of :mod:`.ports`. Where
moto, which that test runs boto3 against, answers otherwise than AWS, this follows AWS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..policy import Arn
from .attempts import WriteCheck
from .errors import AwsError, NotFound, OperatorAccessDenied
from .ports import (
    RCP,
    SCP,
    BucketInfo,
    ClusterInfo,
    Document,
    KeyInfo,
    OIDCProviderInfo,
    OrgInfo,
    OrgReach,
    PodIdentityAssociation,
    RoleInfo,
    VpcEndpointInfo,
    issuer_host,
)

_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)$")
_UNIQUE_ID = re.compile(r"^(AROA|AIDA)[A-Z0-9]{8,}$")


@dataclass
class MemoryRole:
    arn: str
    inline: dict[str, Document] = field(default_factory=dict)
    managed: dict[str, Document] = field(default_factory=dict)
    boundary: tuple[str, Document] | None = None
    trust: Document | None = None


def _all_blocked() -> dict[str, bool]:
    return dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )


def _sse_s3() -> dict[str, Any]:
    return {"algorithm": "AES256", "bucketKeyEnabled": False}


@dataclass
class MemoryBucket:
    """The defaults are what S3 has given a new bucket since April 2023; None is "not configured"."""

    name: str
    account: str
    region: str = "us-east-1"
    policy: str | None = None
    ownership: str | None = "BucketOwnerEnforced"  # None: no ownership controls at all
    acl: dict[str, Any] | None = None
    owner_canonical_id: str | None = None
    public_access_block: dict[str, bool] | None = field(default_factory=_all_blocked)
    encryption: dict[str, Any] | None = field(default_factory=_sse_s3)


@dataclass
class MemoryKey:
    arn: str
    policy: str
    state: str = "Enabled"
    manager: str = "CUSTOMER"
    aliases: tuple[str, ...] = ()
    grants: list[dict[str, Any]] = field(default_factory=list)  # boto3's shape: Name, GrantId, ...

    @property
    def account(self) -> str:
        return Arn.parse(self.arn).account

    @property
    def region(self) -> str:
        return Arn.parse(self.arn).region


@dataclass(frozen=True, slots=True, kw_only=True)
class Write:
    operation: str  # s3:PutBucketPolicy, kms:CreateGrant, ...
    target: str  # bucket name or key ARN
    detail: str = ""  # the policy text written, or the grant's name


def key_policy_of_account(account: str) -> str:
    """The key policy AWS gives a new key: the account (and so its IAM policies) may do anything."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


def _scenario_constraints(raw: dict[str, Any] | None) -> dict[str, Any]:
    if not raw:
        return {}
    if raw.get("EncryptionContextSubset"):
        return {"constraints": {"encryptionContextSubset": raw["EncryptionContextSubset"]}}
    if raw.get("EncryptionContextEquals"):
        return {"constraints": {"encryptionContextEquals": raw["EncryptionContextEquals"]}}
    return {}


class MemoryAws:
    """Both seams over one in-memory state. Not thread-safe: for single-threaded tests."""

    def __init__(self, account: str = "111122223333", check_write: WriteCheck | None = None) -> None:
        self.account = account
        self.check_write = check_write
        self.roles: dict[str, MemoryRole] = {}
        self.buckets: dict[str, MemoryBucket] = {}
        self.keys: dict[str, MemoryKey] = {}
        self.endpoints: dict[str, Document | None] = {}
        self.endpoint_vpcs: dict[str, tuple[str, str]] = {}  # endpoint -> (its VPC, its owner's account)
        self.account_pab: dict[str, dict[str, bool]] = {}
        self.org: OrgInfo | None = None
        self.org_reader_role_arn: str | None = None  # a role in the management account, as BotoReader's
        # the organization's tree and policies, for org_policy_reach: parent -> children (accounts
        # and OUs), policy id -> (type, its targets)
        self.org_children: dict[str, tuple[str, ...]] = {}
        self.org_policies: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.clusters: dict[str, ClusterInfo] = {}
        self.associations: list[PodIdentityAssociation] = []
        self.oidc_providers: dict[str, OIDCProviderInfo] = {}  # by ARN
        self.writes: list[Write] = []
        self.reads = 0
        self._failures: dict[str, list[AwsError]] = {}
        self._grant_ids = 0

    # ------------------------------------------------------------------ building the world
    def add_role(
        self, arn: str, *policies: Document, boundary: Document | None = None, trust: Document | None = None
    ) -> MemoryRole:
        role = MemoryRole(
            arn,
            inline={f"policy{i}": p for i, p in enumerate(policies)},
            boundary=("boundary", boundary) if boundary is not None else None,
            trust=trust,
        )
        self.roles[arn] = role
        return role

    def add_bucket(self, name: str, policy: Document | None = None, **fields: Any) -> MemoryBucket:
        bucket = MemoryBucket(name, self.account, policy=json.dumps(policy) if policy else None, **fields)
        self.buckets[name] = bucket
        return bucket

    def add_key(self, arn: str, policy: Document | None = None, **fields: Any) -> MemoryKey:
        text = json.dumps(policy) if policy is not None else key_policy_of_account(Arn.parse(arn).account)
        key = MemoryKey(arn, text, **fields)
        self.keys[arn] = key
        return key

    def add_oidc_provider(
        self, issuer: str, account: str | None = None, client_ids: tuple[str, ...] = ("sts.amazonaws.com",)
    ) -> OIDCProviderInfo:
        """An IAM OIDC provider for ``issuer`` in ``account`` (the operator's by default), with the
        client ID ``eksctl utils associate-iam-oidc-provider`` gives it."""
        host = issuer_host(issuer)
        arn = f"arn:aws:iam::{account or self.account}:oidc-provider/{host}"
        provider = OIDCProviderInfo(arn=arn, url=host, client_ids=client_ids)
        self.oidc_providers[arn] = provider
        return provider

    def fail(self, operation: str, error: AwsError, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` (``s3:PutBucketPolicy``, ...) raise ``error``."""
        self._failures.setdefault(operation, []).extend([error] * times)

    def _maybe_fail(self, operation: str) -> None:
        queued = self._failures.get(operation)
        if queued:
            raise queued.pop(0)

    # ------------------------------------------------------------------ what AWS refuses
    def _role_by_arn(self, arn: str) -> MemoryRole | None:
        """IAM's GetRole takes the role's name, and so does this (the path is not part of it)."""
        m = _ROLE_ARN.match(arn)
        if m is None:
            return None
        account, name = m.groups()
        for role in self.roles.values():
            rm = _ROLE_ARN.match(role.arn)
            if rm is not None and rm.groups() == (account, name):
                return role
        return None

    def _principal_exists(self, principal: str) -> bool:
        if principal == "*" or re.fullmatch(r"\d{12}", principal) or _UNIQUE_ID.match(principal):
            return True
        if re.fullmatch(r"arn:aws:iam::\d{12}:root", principal):
            return True
        if ":role/" in principal:
            return principal in self.roles  # AWS resolves the exact ARN, path included
        return False

    def _check_principals(self, text: str, operation: str, code: str) -> None:
        try:
            document = json.loads(text)
        except ValueError:
            raise AwsError(
                f"{operation}: the policy is not JSON", code=code, status=400, operation=operation
            ) from None
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            principal = statement.get("Principal")
            if not isinstance(principal, dict):
                continue
            aws = principal.get("AWS", [])
            for p in [aws] if isinstance(aws, str) else aws:
                if not self._principal_exists(p):
                    raise AwsError(
                        f"{operation}: Invalid principal in policy: {p}",
                        code=code,
                        status=400,
                        operation=operation,
                    )

    # ------------------------------------------------------------------ AwsReader
    def caller_account(self) -> str:
        return self.account

    def role(self, arn: str) -> RoleInfo:
        self.reads += 1
        self._maybe_fail("iam:GetRole")
        role = self._role_by_arn(arn)
        if role is None:
            raise NotFound("role", arn, code="NoSuchEntity", operation="iam:GetRole")
        return RoleInfo(
            arn=role.arn,
            account=Arn.parse(role.arn).account,
            inline=tuple(role.inline.items()),
            managed=tuple(role.managed.items()),
            boundary=role.boundary,
            trust=role.trust,
        )

    def bucket(self, name: str) -> BucketInfo:
        self.reads += 1
        self._maybe_fail("s3:GetBucketPolicy")
        b = self.buckets.get(name)
        if b is None:
            raise NotFound("bucket", name, code="NoSuchBucket", operation="s3:GetBucketPolicy")
        return BucketInfo(
            name=b.name,
            account=b.account,
            region=b.region,
            policy=json.loads(b.policy) if b.policy else None,
            ownership=b.ownership or "ObjectWriter",  # S3's rule for a bucket without controls
            acl=b.acl,
            owner_canonical_id=b.owner_canonical_id,
            public_access_block=b.public_access_block,
            encryption=b.encryption,
        )

    def _key(self, ref: str, operation: str) -> MemoryKey:
        """KMS takes a key ARN, a key id, an alias or an alias ARN."""
        name = ref.split(":")[-1]
        key = self.keys.get(ref) or next(
            (k for k in self.keys.values() if name in k.aliases or k.arn.endswith(f":key/{name}")), None
        )
        if key is None:
            raise NotFound("key", ref, code="NotFoundException", operation=operation)
        return key

    def key(self, key_ref: str, region: str) -> KeyInfo:
        self.reads += 1
        self._maybe_fail("kms:DescribeKey")
        k = self._key(key_ref, "kms:DescribeKey")
        return KeyInfo(
            arn=k.arn,
            account=k.account,
            region=k.region,
            manager=k.manager,
            state=k.state,
            aliases=k.aliases,
            policy=json.loads(k.policy),
            grants=tuple(
                {
                    "granteePrincipal": g["GranteePrincipal"],
                    "operations": list(g["Operations"]),
                    "grantId": g["GrantId"],
                    "name": g["Name"],
                    **_scenario_constraints(g.get("Constraints")),
                }
                for g in k.grants
            ),
        )

    def account_public_access_block(self, account: str) -> dict[str, bool] | None:
        return self.account_pab.get(account)

    def vpc_endpoint(self, endpoint_id: str, region: str) -> VpcEndpointInfo:
        if endpoint_id not in self.endpoints:
            raise NotFound(
                "vpce",
                endpoint_id,
                code="InvalidVpcEndpointId.NotFound",
                operation="ec2:DescribeVpcEndpoints",
            )
        vpc_id, owner = self.endpoint_vpcs.get(endpoint_id, (None, None))
        return VpcEndpointInfo(id=endpoint_id, policy=self.endpoints[endpoint_id], vpc_id=vpc_id, owner=owner)

    def organization(self, accounts: tuple[str, ...]) -> OrgInfo | None:
        if self.org is None:
            return None
        if self.org.management_account != self.account and self.org_reader_role_arn is None:
            raise OperatorAccessDenied(
                "organizations:ListPoliciesForTarget",
                "the operator runs in a member account; SCPs and RCPs are readable only from the management account",
            )
        # SCPs and RCPs do not bind the management account; accounts outside are not members
        wanted = set(accounts) - {self.org.management_account}
        return replace(self.org, chains={a: c for a, c in self.org.chains.items() if a in wanted})

    def org_policy_reach(self, policy_id: str, targets: tuple[str, ...] | None) -> OrgReach:
        self.reads += 1
        self._maybe_fail("organizations:DescribePolicy")
        policy_type: str | None
        if policy_id in self.org_policies:
            policy_type, attached = self.org_policies[policy_id]
        elif targets is not None:
            policy_type, attached = None, ()  # deleted since: its targets still say which accounts
        else:
            raise NotFound(
                "organization policy",
                policy_id,
                code="PolicyNotFoundException",
                operation="organizations:DescribePolicy",
            )
        if policy_type not in (SCP, RCP, None):
            return OrgReach(policy_type=policy_type, accounts=frozenset())
        through = attached if targets is None else targets
        if any(t.startswith("r-") for t in through):
            return OrgReach(policy_type=policy_type, accounts=None)
        accounts, pending = set(), list(through)
        while pending:
            target = pending.pop()
            if target.isdigit():
                accounts.add(target)
            pending += self.org_children.get(target, ())
        return OrgReach(policy_type=policy_type, accounts=frozenset(accounts))

    def cluster(self, name: str) -> ClusterInfo:
        self.reads += 1
        self._maybe_fail("eks:DescribeCluster")
        if name not in self.clusters:
            raise NotFound(
                "EKS cluster", name, code="ResourceNotFoundException", operation="eks:DescribeCluster"
            )
        return self.clusters[name]

    def oidc_provider(self, account: str, issuer: str) -> OIDCProviderInfo | None:
        self.reads += 1
        self._maybe_fail("iam:ListOpenIDConnectProviders")
        host = issuer_host(issuer)
        return self.oidc_providers.get(f"arn:aws:iam::{account}:oidc-provider/{host}")

    def pod_identity_associations(
        self, cluster: str, namespace: str, service_account: str
    ) -> tuple[PodIdentityAssociation, ...]:
        self.reads += 1
        self._maybe_fail("eks:ListPodIdentityAssociations")
        if cluster not in self.clusters:
            raise AwsError(
                f"eks:ListPodIdentityAssociations: no cluster found for name: {cluster}",
                code="ResourceNotFoundException",
                status=404,
                operation="eks:ListPodIdentityAssociations",
            )
        return tuple(
            a
            for a in self.associations
            if (a.cluster, a.namespace, a.service_account) == (cluster, namespace, service_account)
        )

    # ------------------------------------------------------------------ AwsWriter
    def _attempt(self, operation: str) -> None:
        """A write is about to reach "the wire" (where ``fail`` may still refuse it): check it."""
        if self.check_write is not None:
            self.check_write(operation)

    def _bucket(self, name: str, operation: str) -> MemoryBucket:
        self._maybe_fail(operation)
        b = self.buckets.get(name)
        if b is None:
            raise NotFound("bucket", name, code="NoSuchBucket", operation=operation)
        return b

    def bucket_policy_text(self, bucket: str) -> str | None:
        return self._bucket(bucket, "s3:GetBucketPolicy").policy

    def put_bucket_policy(self, bucket: str, text: str) -> None:
        self._attempt("s3:PutBucketPolicy")
        b = self._bucket(bucket, "s3:PutBucketPolicy")
        self._check_principals(text, "s3:PutBucketPolicy", "MalformedPolicy")
        b.policy = text
        self.writes.append(Write(operation="s3:PutBucketPolicy", target=bucket, detail=text))

    def delete_bucket_policy(self, bucket: str) -> None:
        self._attempt("s3:DeleteBucketPolicy")
        b = self._bucket(bucket, "s3:DeleteBucketPolicy")
        b.policy = None
        self.writes.append(Write(operation="s3:DeleteBucketPolicy", target=bucket))

    def key_policy_text(self, key_arn: str) -> str | None:
        self._maybe_fail("kms:GetKeyPolicy")
        return self._key(key_arn, "kms:GetKeyPolicy").policy

    def put_key_policy(self, key_arn: str, text: str) -> None:
        self._attempt("kms:PutKeyPolicy")
        self._maybe_fail("kms:PutKeyPolicy")
        key = self._key(key_arn, "kms:PutKeyPolicy")
        self._check_principals(text, "kms:PutKeyPolicy", "MalformedPolicyDocumentException")
        key.policy = text
        self.writes.append(Write(operation="kms:PutKeyPolicy", target=key_arn, detail=text))

    def grants(self, key_arn: str) -> list[dict[str, Any]]:
        self._maybe_fail("kms:ListGrants")
        return [dict(g) for g in self._key(key_arn, "kms:ListGrants").grants]

    def create_grant(
        self, key_arn: str, grantee: str, operations: list[str], name: str, constraints: dict[str, Any]
    ) -> str:
        self._attempt("kms:CreateGrant")
        self._maybe_fail("kms:CreateGrant")
        key = self._key(key_arn, "kms:CreateGrant")
        if not self._principal_exists(grantee):
            raise AwsError(
                f"kms:CreateGrant: grantee {grantee} does not exist",
                code="InvalidArnException",
                status=400,
                operation="kms:CreateGrant",
            )
        self._grant_ids += 1
        grant_id = f"grant-{self._grant_ids:04d}"
        key.grants.append(
            {
                "Name": name,
                "GrantId": grant_id,
                "GranteePrincipal": grantee,
                "Operations": operations,
                "Constraints": constraints,
            }
        )
        self.writes.append(Write(operation="kms:CreateGrant", target=key_arn, detail=name))
        return grant_id

    def revoke_grant(self, key_arn: str, grant_id: str) -> None:
        self._attempt("kms:RevokeGrant")
        self._maybe_fail("kms:RevokeGrant")
        key = self._key(key_arn, "kms:RevokeGrant")
        key.grants = [g for g in key.grants if g["GrantId"] != grant_id]
        self.writes.append(Write(operation="kms:RevokeGrant", target=key_arn, detail=grant_id))
