"""One table of situations, each answered by both implementations of the seams in aws/ports.py:
the in-memory fake (MemoryAws) and boto3 (BotoReader/BotoWriter) over moto server, with the EKS
calls moto lacks served by tests/eks_endpoint.py. Both must give the same answer: the same
values, or the same error class, code and kind.

The contract is AWS's, not moto's. Where moto answers otherwise than AWS, the fake follows AWS and
the moto row is marked ``xfail(strict=True)`` with what AWS does; a fake that accepts what AWS
refuses would let unit tests pass that the real account would fail.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

import pytest

from bucketaccess.aws.boto import BotoReader
from bucketaccess.aws.errors import AwsError, NotFound, OperatorAccessDenied
from bucketaccess.aws.memory import MemoryAws, MemoryRole
from bucketaccess.aws.ports import (
    AwsReader,
    AwsWriter,
    ClusterInfo,
    Document,
    OIDCProviderInfo,
    OrgChains,
    OrgInfo,
    PodIdentityAssociation,
)
from bucketaccess.aws.writer import BotoWriter
from devenv.moto_server import MotoServer
from tests.eks_endpoint import EksEndpoint

ACCOUNT = "123456789012"  # moto's account for the dummy credentials; the fake's too
REGION = "us-east-1"
V = "2012-10-17"
TRUST = {
    "Version": V,
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
PUT = {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}
EDGE = {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
ALL_BLOCKED = dict.fromkeys(
    ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
)
# what KMS gives a key created without a policy
DEFAULT_KEY_POLICY = {
    "Version": V,
    "Id": "key-default-1",
    "Statement": [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}
NOBODY = f"arn:aws:iam::{ACCOUNT}:role/nobody"  # a role that does not exist
MISSING_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
APP = f"arn:aws:iam::{ACCOUNT}:role/app"
SSE_S3 = {"algorithm": "AES256", "bucketKeyEnabled": False}
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/CONTRACT"


# ---------------------------------------------------------------------------- two worlds
class World(Protocol):
    """Builds the same AWS state in either implementation; ``reader``/``writer`` are the seams."""

    reader: AwsReader
    writer: AwsWriter

    def role(
        self,
        name: str,
        *,
        path: str = "/",
        inline: dict[str, Document] | None = None,
        managed: dict[str, Document] | None = None,
        boundary: tuple[str, Document] | None = None,
    ) -> str: ...

    def new_bucket(self, name: str) -> None:
        """A bucket as S3 creates it, nothing set."""

    def bucket(
        self,
        name: str,
        *,
        policy: Document | None = None,
        ownership: str | None = None,
        public_access_block: dict[str, bool] | None = None,
        encryption: dict[str, Any] | None = None,
    ) -> None:
        """A bucket with each setting as given, None meaning not configured at all."""

    def key(self, alias: str | None = None) -> str: ...

    def account_public_access_block(self, settings: dict[str, bool]) -> None: ...

    def organization(self, members: int) -> tuple[str, ...]:
        """An organization the operator's account manages, with ``members`` member accounts."""
        ...

    def operator_in_member_account(self) -> None: ...

    def cluster(self, name: str, issuer: str) -> None: ...

    def oidc_provider(self, issuer: str, client_ids: list[str]) -> None:
        """An IAM OIDC identity provider of the operator's account."""

    def associate(
        self, cluster: str, namespace: str, service_account: str, role_arn: str, **fields: Any
    ) -> str: ...


class MemoryWorld:
    def __init__(self) -> None:
        self.aws = MemoryAws(ACCOUNT)
        self.reader: AwsReader = self.aws
        self.writer: AwsWriter = self.aws

    def role(
        self,
        name: str,
        *,
        path: str = "/",
        inline: dict[str, Document] | None = None,
        managed: dict[str, Document] | None = None,
        boundary: tuple[str, Document] | None = None,
    ) -> str:
        arn = f"arn:aws:iam::{ACCOUNT}:role{path}{name}"
        self.aws.roles[arn] = MemoryRole(
            arn, inline=dict(inline or {}), managed=dict(managed or {}), boundary=boundary, trust=TRUST
        )
        return arn

    def new_bucket(self, name: str) -> None:
        self.aws.add_bucket(name)

    def bucket(
        self,
        name: str,
        *,
        policy: Document | None = None,
        ownership: str | None = None,
        public_access_block: dict[str, bool] | None = None,
        encryption: dict[str, Any] | None = None,
    ) -> None:
        self.aws.add_bucket(
            name,
            policy,
            ownership=ownership,
            public_access_block=public_access_block,
            encryption=encryption,
        )

    def key(self, alias: str | None = None) -> str:
        arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{uuid.uuid4()}"
        self.aws.add_key(arn, aliases=(alias,) if alias else ())
        return arn

    def account_public_access_block(self, settings: dict[str, bool]) -> None:
        self.aws.account_pab[ACCOUNT] = settings

    def organization(self, members: int) -> tuple[str, ...]:
        accounts = tuple(f"21098765432{i}" for i in range(members))
        chains = OrgChains(scps=((("FullAWSAccess", EDGE),), (("FullAWSAccess", EDGE),)), rcps=((), ()))
        self.aws.org = OrgInfo(
            id="o-memory0001", management_account=ACCOUNT, chains=dict.fromkeys(accounts, chains)
        )
        return accounts

    def operator_in_member_account(self) -> None:
        self.aws.org = OrgInfo(id="o-memory0001", management_account="999988887777", chains={})

    def cluster(self, name: str, issuer: str) -> None:
        arn = f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}"
        self.aws.clusters[name] = ClusterInfo(name=name, arn=arn, oidc_issuer=issuer)

    def oidc_provider(self, issuer: str, client_ids: list[str]) -> None:
        self.aws.add_oidc_provider(issuer, client_ids=tuple(client_ids))

    def associate(
        self, cluster: str, namespace: str, service_account: str, role_arn: str, **fields: Any
    ) -> str:
        aid = f"a-{len(self.aws.associations) + 1:017d}"
        self.aws.associations.append(
            PodIdentityAssociation(
                association_id=aid,
                cluster=cluster,
                namespace=namespace,
                service_account=service_account,
                role_arn=role_arn,
                **fields,
            )
        )
        return aid


class MotoWorld:
    """Builds through plain boto3 calls to moto (no validation of ours in between)."""

    def __init__(self, eks: EksEndpoint) -> None:
        self.boto = BotoReader(region=REGION)
        self.reader: AwsReader = self.boto
        self.writer: AwsWriter = BotoWriter(self.boto, sleep=lambda _: None)  # its retries, unslept
        self.eks = eks.state
        # the reader's clients: they know the endpoint's quirks (S3 Control's account host names)
        self.iam = self.boto.client("iam")
        self.s3 = self.boto.client("s3")
        self.kms = self.boto.client("kms")

    def role(
        self,
        name: str,
        *,
        path: str = "/",
        inline: dict[str, Document] | None = None,
        managed: dict[str, Document] | None = None,
        boundary: tuple[str, Document] | None = None,
    ) -> str:
        extra = {}
        if boundary is not None:
            extra["PermissionsBoundary"] = self._policy(*boundary)
        made = self.iam.create_role(
            RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(TRUST), **extra
        )
        for pname, doc in (inline or {}).items():
            self.iam.put_role_policy(RoleName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))
        for pname, doc in (managed or {}).items():
            self.iam.attach_role_policy(RoleName=name, PolicyArn=self._policy(pname, doc))
        return str(made["Role"]["Arn"])

    def _policy(self, name: str, doc: Document) -> str:
        return str(self.iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(doc))["Policy"]["Arn"])

    def new_bucket(self, name: str) -> None:
        self.s3.create_bucket(Bucket=name)

    def bucket(
        self,
        name: str,
        *,
        policy: Document | None = None,
        ownership: str | None = None,
        public_access_block: dict[str, bool] | None = None,
        encryption: dict[str, Any] | None = None,
    ) -> None:
        # AWS gives a new bucket ownership controls, Block Public Access and SSE-S3: remove each
        # that is not wanted, so that the bucket is the same here as on AWS
        self.s3.create_bucket(Bucket=name)
        if policy is not None:
            self.s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
        if ownership is None:
            self.s3.delete_bucket_ownership_controls(Bucket=name)
        else:
            rules = {"Rules": [{"ObjectOwnership": ownership}]}
            self.s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=rules)
        if public_access_block is None:
            self.s3.delete_public_access_block(Bucket=name)
        else:
            self.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=public_access_block)
        if encryption is None:
            self.s3.delete_bucket_encryption(Bucket=name)
        else:
            default = {"SSEAlgorithm": encryption["algorithm"]}
            if encryption.get("kmsKeyArn"):
                default["KMSMasterKeyID"] = encryption["kmsKeyArn"]
            rule = {
                "ApplyServerSideEncryptionByDefault": default,
                "BucketKeyEnabled": encryption["bucketKeyEnabled"],
            }
            self.s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})

    def key(self, alias: str | None = None) -> str:
        meta = self.kms.create_key()["KeyMetadata"]
        if alias:
            self.kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        return str(meta["Arn"])

    def account_public_access_block(self, settings: dict[str, bool]) -> None:
        self.boto.client("s3control").put_public_access_block(
            AccountId=ACCOUNT, PublicAccessBlockConfiguration=settings
        )

    def organization(self, members: int) -> tuple[str, ...]:
        org = self.boto.client("organizations")
        org.create_organization(FeatureSet="ALL")
        return tuple(
            str(
                org.create_account(Email=f"m{i}@example.com", AccountName=f"m{i}")["CreateAccountStatus"][
                    "AccountId"
                ]
            )
            for i in range(members)
        )

    def operator_in_member_account(self) -> None:
        pytest.skip("moto's caller manages any organization it creates; it cannot be a member of another's")

    def cluster(self, name: str, issuer: str) -> None:
        self.eks.clusters[name] = issuer

    def oidc_provider(self, issuer: str, client_ids: list[str]) -> None:
        self.iam.create_open_id_connect_provider(
            Url=issuer, ClientIDList=client_ids, ThumbprintList=["0" * 40]
        )

    def associate(
        self, cluster: str, namespace: str, service_account: str, role_arn: str, **fields: Any
    ) -> str:
        return self.eks.associate(cluster, namespace, service_account, role_arn, **fields)


# ---------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Raises:
    error: type[AwsError]
    code: str
    kind: str | None = None  # NotFound's kind


Given = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Situation:
    id: str
    given: Callable[[World], Given]  # builds the world; hands the names and ARNs it chose to `when`
    when: Callable[[World, Given], object]  # the calls, and the part of the answer compared
    then: object  # that part, or Raises; or a function of `given` returning either
    moto_differs: str | None = None  # what AWS does and moto does not; the fake does what AWS does


def nothing(w: World) -> Given:
    return {}


def one_bucket(w: World) -> Given:
    w.bucket("contract-bucket")
    return {"bucket": "contract-bucket", "role": w.role("uploader")}


def new_bucket(w: World) -> Given:
    w.new_bucket("contract-bucket")
    return {"bucket": "contract-bucket"}


def configured_bucket(w: World) -> Given:
    key = w.key()
    w.bucket(
        "contract-bucket",
        ownership="BucketOwnerEnforced",
        public_access_block=ALL_BLOCKED,
        encryption={"algorithm": "aws:kms", "kmsKeyArn": key, "bucketKeyEnabled": True},
    )
    return {"bucket": "contract-bucket", "key": key}


def one_key(w: World) -> Given:
    return {"key": w.key("alias/uploads"), "role": w.role("uploader")}


def account_blocked(w: World) -> Given:
    w.account_public_access_block(ALL_BLOCKED)
    return {}


def member_account(w: World) -> Given:
    w.operator_in_member_account()
    return {}


def one_cluster(w: World) -> Given:
    w.cluster("prod", ISSUER)
    return {}


def two_associations(w: World) -> Given:
    w.cluster("prod", ISSUER)
    ids = [
        w.associate("prod", "team-a", "uploader", APP),
        w.associate(
            "prod",
            "team-a",
            "uploader",
            APP,
            target_role_arn="arn:aws:iam::444455556666:role/writer",
            external_id="ext-1",
            disable_session_tags=True,
            policy=PUT,
        ),
    ]
    w.associate("prod", "team-a", "other", APP)
    return {"ids": ids}


def allow(principal: str) -> Document:
    return {
        "Version": V,
        "Statement": [
            {
                "Sid": "Contract",
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::contract-bucket/*",
            }
        ],
    }


def key_policy(principal: str) -> Document:
    user = {
        "Sid": "User",
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    return {**DEFAULT_KEY_POLICY, "Statement": [*DEFAULT_KEY_POLICY["Statement"], user]}


def role_read(w: World, g: Given) -> object:
    r = w.reader.role(g["arn"])
    return r.arn == g["arn"], r.account, r.inline, r.managed, r.boundary, r.trust


def bucket_read(w: World, g: Given) -> object:
    b = w.reader.bucket(g["bucket"])
    return b.account, b.region, b.policy, b.ownership, b.public_access_block, b.encryption


def put_and_read_bucket_policy(w: World, g: Given) -> object:
    doc = allow(g["role"])
    w.writer.put_bucket_policy(g["bucket"], json.dumps(doc))
    text = w.writer.bucket_policy_text(g["bucket"])
    return text is not None and json.loads(text) == doc, w.reader.bucket(g["bucket"]).policy == doc


def put_and_delete_bucket_policy(w: World, g: Given) -> object:
    w.writer.put_bucket_policy(g["bucket"], json.dumps(allow(g["role"])))
    w.writer.delete_bucket_policy(g["bucket"])
    w.writer.delete_bucket_policy(g["bucket"])  # deleting none is no error
    return w.writer.bucket_policy_text(g["bucket"]), w.reader.bucket(g["bucket"]).policy


def key_read(w: World, g: Given) -> object:
    k = w.reader.key(g["key"], REGION)
    return k.arn == g["key"], k.account, k.region, k.manager, k.state, k.aliases, k.policy, k.grants


def key_by_every_name(w: World, g: Given) -> object:
    key_id = g["key"].rsplit("/", 1)[-1]
    refs = (g["key"], key_id, "alias/uploads", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/uploads")
    return [w.reader.key(ref, REGION).arn == g["key"] for ref in refs]


def put_and_read_key_policy(w: World, g: Given) -> object:
    doc = key_policy(g["role"])
    w.writer.put_key_policy(g["key"], json.dumps(doc))
    text = w.writer.key_policy_text(g["key"])
    return text is not None and json.loads(text) == doc, w.reader.key(g["key"], REGION).policy == doc


CONTEXT = {"aws:s3:arn": "arn:aws:s3:::contract-bucket"}


def grant_list_revoke(w: World, g: Given) -> object:
    """Grant ids are the service's to choose: each is compared with the one create_grant returned."""
    gid = w.writer.create_grant(
        g["key"],
        g["role"],
        ["Decrypt", "GenerateDataKey"],
        "bucketaccess-c",
        {"EncryptionContextSubset": CONTEXT},
    )
    fields = ("Name", "GranteePrincipal", "Operations", "Constraints")
    listed = [
        {k: x.get(k) for k in fields} | {"GrantId": x["GrantId"] == gid} for x in w.writer.grants(g["key"])
    ]
    read = [x | {"grantId": x.get("grantId") == gid} for x in w.reader.key(g["key"], REGION).grants]
    w.writer.revoke_grant(g["key"], gid)
    return listed, read, w.writer.grants(g["key"])


def granted(g: Given) -> object:
    operations = ["Decrypt", "GenerateDataKey"]
    return (
        [
            {
                "Name": "bucketaccess-c",
                "GranteePrincipal": g["role"],
                "Operations": operations,
                "Constraints": {"EncryptionContextSubset": CONTEXT},
                "GrantId": True,
            }
        ],
        [
            {
                "granteePrincipal": g["role"],
                "operations": operations,
                "constraints": {"encryptionContextSubset": CONTEXT},
                "grantId": True,
                "name": "bucketaccess-c",
            }
        ],
        [],
    )


def members_only(w: World, g: Given) -> object:
    org = w.reader.organization((g["members"][0], "999999999999", ACCOUNT))
    assert org is not None
    return org.id.startswith("o-"), org.management_account, sorted(org.chains)


def associations(w: World, g: Given) -> object:
    """Association ids are the service's to choose: each must be one the world was given."""
    found = w.reader.pod_identity_associations("prod", "team-a", "uploader")
    return [(a.association_id in g["ids"], replace(a, association_id="")) for a in found]


def associated(**fields: Any) -> tuple[bool, PodIdentityAssociation]:
    return True, PodIdentityAssociation(
        association_id="",
        cluster="prod",
        namespace="team-a",
        service_account="uploader",
        role_arn=APP,
        **fields,
    )


def two_oidc_providers(w: World) -> Given:
    w.oidc_provider(ISSUER + "OTHER", ["other"])
    w.oidc_provider(ISSUER, ["sts.amazonaws.com", "my-app"])
    return {}


def provider_seen(found: OIDCProviderInfo | None) -> object:
    return None if found is None else (found.arn, found.client_ids)


TABLE = [
    Situation(id="caller-account", given=nothing, when=lambda w, g: w.reader.caller_account(), then=ACCOUNT),
    # ---- IAM
    Situation(
        id="role-missing",
        given=nothing,
        when=lambda w, g: w.reader.role(NOBODY),
        then=Raises(NotFound, "NoSuchEntity", "role"),
    ),
    Situation(
        id="role-with-every-kind-of-policy",
        given=lambda w: {
            "arn": w.role("app", inline={"put": PUT}, managed={"shared": PUT}, boundary=("edge", EDGE))
        },
        when=role_read,
        then=(True, ACCOUNT, (("put", PUT),), (("shared", PUT),), ("edge", EDGE), TRUST),
    ),
    Situation(
        id="role-found-by-name-its-arn-has-the-path",
        given=lambda w: {"arn": w.role("app", path="/team/")},
        when=lambda w, g: w.reader.role(APP).arn,
        then=f"arn:aws:iam::{ACCOUNT}:role/team/app",
    ),
    # ---- S3: reads
    Situation(
        id="bucket-missing",
        given=nothing,
        when=lambda w, g: w.reader.bucket("no-such-bucket"),
        then=Raises(NotFound, "NoSuchBucket", "bucket"),
    ),
    Situation(
        id="bucket-with-nothing-configured",
        given=one_bucket,
        when=bucket_read,
        then=(ACCOUNT, REGION, None, "ObjectWriter", None, None),
    ),
    Situation(
        id="bucket-with-everything-configured",
        given=configured_bucket,
        when=bucket_read,
        then=lambda g: (
            ACCOUNT,
            REGION,
            None,
            "BucketOwnerEnforced",
            ALL_BLOCKED,
            {"algorithm": "aws:kms", "kmsKeyArn": g["key"], "bucketKeyEnabled": True},
        ),
    ),
    Situation(
        id="bucket-as-s3-creates-it",
        given=new_bucket,
        when=bucket_read,
        then=(ACCOUNT, REGION, None, "BucketOwnerEnforced", ALL_BLOCKED, SSE_S3),
        moto_differs="since April 2023 S3 gives every new bucket BucketOwnerEnforced, all four Block "
        "Public Access settings and SSE-S3; moto creates buckets with none of them",
    ),
    # ---- S3: the bucket policy
    Situation(
        id="bucket-policy-none",
        given=one_bucket,
        when=lambda w, g: w.writer.bucket_policy_text(g["bucket"]),
        then=None,
    ),
    Situation(
        id="bucket-policy-put-then-read", given=one_bucket, when=put_and_read_bucket_policy, then=(True, True)
    ),
    Situation(
        id="bucket-policy-deleted", given=one_bucket, when=put_and_delete_bucket_policy, then=(None, None)
    ),
    Situation(
        id="bucket-policy-naming-a-missing-role",
        given=one_bucket,
        when=lambda w, g: w.writer.put_bucket_policy(g["bucket"], json.dumps(allow(NOBODY))),
        then=Raises(AwsError, "MalformedPolicy"),
        moto_differs="S3 resolves every AWS principal of a bucket policy when it is written and refuses "
        "one that does not exist (MalformedPolicy: Invalid principal in policy); moto stores it",
    ),
    Situation(
        id="bucket-policy-of-a-missing-bucket",
        given=nothing,
        when=lambda w, g: w.writer.put_bucket_policy("no-such-bucket", json.dumps(PUT)),
        then=Raises(NotFound, "NoSuchBucket", "bucket"),
    ),
    # ---- KMS
    Situation(
        id="key-missing",
        given=nothing,
        when=lambda w, g: w.reader.key(MISSING_KEY, REGION),
        then=Raises(NotFound, "NotFoundException", "key"),
    ),
    Situation(
        id="key-alias-missing",
        given=nothing,
        when=lambda w, g: w.reader.key("alias/none", REGION),
        then=Raises(NotFound, "NotFoundException", "key"),
    ),
    Situation(
        id="key-as-kms-creates-it",
        given=one_key,
        when=key_read,
        then=(True, ACCOUNT, REGION, "CUSTOMER", "Enabled", ("alias/uploads",), DEFAULT_KEY_POLICY, ()),
    ),
    Situation(id="key-by-arn-id-alias-and-alias-arn", given=one_key, when=key_by_every_name, then=[True] * 4),
    Situation(id="key-policy-put-then-read", given=one_key, when=put_and_read_key_policy, then=(True, True)),
    Situation(
        id="key-policy-naming-a-missing-role",
        given=one_key,
        when=lambda w, g: w.writer.put_key_policy(g["key"], json.dumps(key_policy(NOBODY))),
        then=Raises(AwsError, "MalformedPolicyDocumentException"),
        moto_differs="KMS refuses a key policy naming a principal that does not exist "
        "(MalformedPolicyDocumentException); moto stores it",
    ),
    Situation(
        id="key-policy-of-a-missing-key",
        given=nothing,
        when=lambda w, g: w.writer.key_policy_text(MISSING_KEY),
        then=Raises(NotFound, "NotFoundException", "key"),
    ),
    Situation(id="grant-created-listed-revoked", given=one_key, when=grant_list_revoke, then=granted),
    Situation(
        id="grant-for-a-missing-role",
        given=one_key,
        when=lambda w, g: w.writer.create_grant(g["key"], NOBODY, ["Decrypt"], "bucketaccess-c", {}),
        then=Raises(AwsError, "InvalidArnException"),
        moto_differs="KMS refuses a grantee principal that does not exist (InvalidArnException); "
        "moto creates the grant",
    ),
    Situation(
        id="grants-of-a-missing-key",
        given=nothing,
        when=lambda w, g: w.writer.grants(MISSING_KEY),
        then=Raises(NotFound, "NotFoundException", "key"),
        moto_differs="KMS answers NotFoundException to ListGrants on a key that does not exist; moto "
        "fails with HTTP 500",
    ),
    # ---- the account, VPC endpoints, the organization
    Situation(
        id="account-public-access-block-none",
        given=nothing,
        when=lambda w, g: w.reader.account_public_access_block(ACCOUNT),
        then=None,
    ),
    Situation(
        id="account-public-access-block-set",
        given=account_blocked,
        when=lambda w, g: w.reader.account_public_access_block(ACCOUNT),
        then=ALL_BLOCKED,
    ),
    Situation(
        id="vpc-endpoint-missing",
        given=nothing,
        when=lambda w, g: w.reader.vpc_endpoint("vpce-0123456789abcdef0", REGION),
        then=Raises(NotFound, "InvalidVpcEndpointId.NotFound", "vpce"),
    ),
    Situation(
        id="organization-none", given=nothing, when=lambda w, g: w.reader.organization((ACCOUNT,)), then=None
    ),
    Situation(
        id="organization-chains-of-members-asked-about-only",
        given=lambda w: {"members": w.organization(2)},
        when=members_only,
        then=lambda g: (True, ACCOUNT, [g["members"][0]]),
    ),
    Situation(
        id="organization-seen-from-a-member-account",
        given=member_account,
        when=lambda w, g: w.reader.organization((ACCOUNT,)),
        then=Raises(OperatorAccessDenied, "AccessDenied"),
    ),
    # ---- EKS
    Situation(
        id="cluster",
        given=one_cluster,
        when=lambda w, g: w.reader.cluster("prod"),
        then=ClusterInfo(name="prod", arn=f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod", oidc_issuer=ISSUER),
    ),
    Situation(
        id="cluster-missing",
        given=nothing,
        when=lambda w, g: w.reader.cluster("nope"),
        then=Raises(NotFound, "ResourceNotFoundException", "EKS cluster"),
    ),
    Situation(
        id="oidc-provider-of-the-issuer",
        given=two_oidc_providers,
        when=lambda w, g: provider_seen(w.reader.oidc_provider(ACCOUNT, ISSUER)),
        then=(
            f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER.removeprefix('https://')}",
            ("sts.amazonaws.com", "my-app"),
        ),
    ),
    Situation(
        id="oidc-provider-by-bare-host-with-a-trailing-slash",
        given=two_oidc_providers,
        when=lambda w, g: provider_seen(
            w.reader.oidc_provider(ACCOUNT, ISSUER.removeprefix("https://") + "/")
        ),
        then=(
            f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER.removeprefix('https://')}",
            ("sts.amazonaws.com", "my-app"),
        ),
    ),
    Situation(
        id="oidc-provider-none-for-the-issuer",
        given=lambda w: {"other": w.oidc_provider(ISSUER + "OTHER", ["sts.amazonaws.com"])},
        when=lambda w, g: w.reader.oidc_provider(ACCOUNT, ISSUER),
        then=None,
    ),
    Situation(
        id="oidc-provider-none-at-all",
        given=nothing,
        when=lambda w, g: w.reader.oidc_provider(ACCOUNT, ISSUER),
        then=None,
    ),
    Situation(
        id="pod-identity-associations-of-one-service-account",
        given=two_associations,
        when=associations,
        then=[
            associated(),
            associated(
                target_role_arn="arn:aws:iam::444455556666:role/writer",
                external_id="ext-1",
                disable_session_tags=True,
                policy=PUT,
            ),
        ],
    ),
    Situation(
        id="pod-identity-associations-none",
        given=one_cluster,
        when=lambda w, g: w.reader.pod_identity_associations("prod", "team-a", "uploader"),
        then=(),
    ),
    Situation(
        id="pod-identity-associations-of-a-missing-cluster",
        given=nothing,
        when=lambda w, g: w.reader.pod_identity_associations("nope", "team-a", "uploader"),
        then=Raises(AwsError, "ResourceNotFoundException"),
    ),
]


def _cases() -> Iterator[Any]:
    for s in TABLE:
        yield pytest.param("memory", s, id=f"{s.id}-memory")
        marks = []
        if s.moto_differs:
            reason = f"moto differs from AWS (the fake follows AWS): {s.moto_differs}"
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        yield pytest.param("boto", s, id=f"{s.id}-boto", marks=marks)


# ---------------------------------------------------------------------------- the test
@pytest.fixture(scope="module")
def eks(moto_env: MotoServer) -> Iterator[EksEndpoint]:
    with EksEndpoint(ACCOUNT) as endpoint, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL_EKS", endpoint.url)
        yield endpoint


@pytest.fixture
def moto_world(moto_env: MotoServer, eks: EksEndpoint) -> MotoWorld:
    moto_env.reset()  # every row starts from an empty account
    eks.state.clusters.clear()
    eks.state.associations.clear()
    return MotoWorld(eks)


@pytest.mark.parametrize(("impl", "situation"), list(_cases()))
def test_both_implementations_answer_alike(
    impl: str, situation: Situation, request: pytest.FixtureRequest
) -> None:
    world: World = MemoryWorld() if impl == "memory" else request.getfixturevalue("moto_world")
    given = situation.given(world)
    expected = situation.then(given) if callable(situation.then) else situation.then
    if isinstance(expected, Raises):
        with pytest.raises(AwsError) as caught:
            situation.when(world, given)
        found = caught.value
        assert (type(found), found.code, getattr(found, "kind", None)) == (
            expected.error,
            expected.code,
            expected.kind,
        ), found.message
    else:
        assert situation.when(world, given) == expected
