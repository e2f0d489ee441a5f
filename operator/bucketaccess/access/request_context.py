"""Every condition key AWS may put in the request context of an upload, and where the engine gets it.

The rows are the keys the Service Authorization Reference lists for ``s3:PutObject`` (with the keys
of the ``object`` resource type), for the KMS actions S3 calls on the uploader's behalf
(``kms:GenerateDataKey``, ``kms:Decrypt``, with the keys of the ``key`` resource type), and the
global keys of IAM's "AWS global condition context keys" page, as read on :data:`READ_ON`. Beside
each: how the engine derives it for an upload, or why it is not in the context. ``docs/scenario.md``
shows this table, and ``tests/unit/access/test_request_context.py`` walks it: every derived key is in
the context the engine builds, every other one is not, and each has a corpus case where it decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..policy.records import fast_init

READ_ON = "2026-12-06"
PAGES = {
    "s3:PutObject": "Service Authorization Reference, 'Actions, resources, and condition keys for Amazon S3' (PutObject; resource type object)",
    "kms": "Service Authorization Reference, 'Actions, resources, and condition keys for AWS Key Management Service' (GenerateDataKey, Decrypt; resource type key)",
    "global": "IAM User Guide, 'AWS global condition context keys'",
}


class Origin(StrEnum):
    """Where the value of a key comes from."""

    Header = "header"  # a header the upload sends (spec.upload, request.headers)
    Caller = "caller"  # the principal and its identity
    Session = "session"  # how the workload obtained its role (Pod Identity, IRSA)
    Network = "network"  # the path the request takes (the VPC endpoint)
    Bucket = "bucket"
    Key = "key"  # the KMS key
    Organization = "organization"
    Clock = "clock"  # the time of the evaluation
    Service = "service"  # set by AWS for this kind of request: the same for every upload
    Sdk = "sdk"  # what an AWS SDK sends; request.context states another value
    Stated = "stated"  # only what request.context states: nothing the operator reads shows it
    Absent = "absent"  # AWS leaves it out of an upload's context


DERIVED = frozenset(
    (
        Origin.Header,
        Origin.Caller,
        Origin.Session,
        Origin.Network,
        Origin.Bucket,
        Origin.Key,
        Origin.Organization,
        Origin.Clock,
        Origin.Service,
        Origin.Sdk,
    )
)

S3 = "s3:PutObject"
KMS = "kms"
GLOBAL = "global"
BOTH = ("s3", "kms")  # the requests of an upload that carry a key: S3's, and KMS's on S3's behalf


@fast_init
@dataclass(frozen=True, slots=True)
class ContextKey:
    name: str  # as the reference spells it; a template such as s3:RequestObjectTag/<key> for a family
    listed: str  # S3, KMS or GLOBAL: which list of the reference it comes from
    origin: Origin
    how: str  # how the engine derives it, or why AWS leaves it out
    on: tuple[str, ...] = ()  # the requests that carry it ("s3", "kms"), when its source is there

    @property
    def derived(self) -> bool:
        return self.origin in DERIVED


def _s3(name: str, origin: Origin, how: str, on: tuple[str, ...] = ("s3",)) -> ContextKey:
    return ContextKey(name, S3, origin, how, on if origin in DERIVED else ())


def _kms(name: str, origin: Origin, how: str) -> ContextKey:
    return ContextKey(name, KMS, origin, how, ("kms",) if origin in DERIVED else ())


def _global(name: str, origin: Origin, how: str, on: tuple[str, ...] = BOTH) -> ContextKey:
    return ContextKey(name, GLOBAL, origin, how, on if origin in DERIVED else ())


_NOT_A_COPY = "only a CopyObject request carries it; an upload is a PUT of new content"
_SERVICE_ONLY = (
    "present only when an AWS service principal calls with its own identity; the uploader signs the upload"
)
_STATED_NETWORK = (
    "the workload's own address, which nothing the operator reads shows; request.context states it"
)

CONTEXT_KEYS: tuple[ContextKey, ...] = (
    # s3:PutObject and the object resource type
    _s3("s3:AccessGrantsInstanceArn", Origin.Absent, "present only for credentials S3 Access Grants vends; the workload uses its role"),
    _s3("s3:ObjectCreationOperation", Origin.Service, "true: an upload creates an object"),
    _s3("s3:RequestObjectTag/<key>", Origin.Header, "each tag of x-amz-tagging (spec.upload.tags), absent without tags"),
    _s3("s3:RequestObjectTagKeys", Origin.Header, "the tag keys of x-amz-tagging (spec.upload.tags), absent without tags"),
    _s3("s3:ResourceAccount", Origin.Bucket, "the bucket owner's account (bucket.account)"),
    _s3("s3:TlsVersion", Origin.Stated, "the TLS version the workload's client negotiates, which nothing the operator reads shows; request.context states it"),
    _s3("s3:authType", Origin.Sdk, "REST-HEADER: an SDK signs in the Authorization header (REST-QUERY-STRING for a presigned URL)"),
    _s3("s3:if-match", Origin.Header, "If-Match (spec.upload.headers), absent when not sent"),
    _s3("s3:if-none-match", Origin.Header, "If-None-Match (spec.upload.headers), absent when not sent"),
    _s3("s3:object-lock-event-hold", Origin.Stated, "no upload header this engine knows sets an event hold; request.context states it"),
    _s3("s3:object-lock-event-hold-duration-days", Origin.Stated, "no upload header this engine knows sets an event hold; request.context states it"),
    _s3("s3:object-lock-legal-hold", Origin.Header, "x-amz-object-lock-legal-hold (spec.upload.objectLock.legalHold)"),
    _s3("s3:object-lock-mode", Origin.Header, "x-amz-object-lock-mode (spec.upload.objectLock.mode)"),
    _s3("s3:object-lock-remaining-retention-days", Origin.Header, "whole days from aws:CurrentTime to x-amz-object-lock-retain-until-date"),
    _s3("s3:object-lock-retain-until-date", Origin.Header, "x-amz-object-lock-retain-until-date (spec.upload.objectLock.retainUntilDate)"),
    _s3("s3:signatureAge", Origin.Stated, "milliseconds between signing and arrival, which nothing the operator reads shows; request.context states it"),
    _s3("s3:signatureversion", Origin.Sdk, "AWS4-HMAC-SHA256: Signature Version 4, what every current SDK signs with"),
    _s3("s3:x-amz-acl", Origin.Header, "x-amz-acl (spec.upload.acl)"),
    _s3("s3:x-amz-content-sha256", Origin.Stated, "the payload hash or UNSIGNED-PAYLOAD marker, which depends on the SDK and its version; request.context states it"),
    _s3("s3:x-amz-copy-source", Origin.Absent, _NOT_A_COPY),
    _s3("s3:x-amz-grant-full-control", Origin.Header, "x-amz-grant-full-control (request.headers), absent when not sent"),
    _s3("s3:x-amz-grant-read", Origin.Header, "x-amz-grant-read (request.headers), absent when not sent"),
    _s3("s3:x-amz-grant-read-acp", Origin.Header, "x-amz-grant-read-acp (request.headers), absent when not sent"),
    _s3("s3:x-amz-grant-write", Origin.Header, "x-amz-grant-write (request.headers), absent when not sent"),
    _s3("s3:x-amz-grant-write-acp", Origin.Header, "x-amz-grant-write-acp (request.headers), absent when not sent"),
    _s3("s3:x-amz-metadata-directive", Origin.Absent, _NOT_A_COPY),
    _s3("s3:x-amz-object-annotation-directive", Origin.Absent, _NOT_A_COPY),
    _s3("s3:x-amz-server-side-encryption", Origin.Header, "x-amz-server-side-encryption (spec.upload.encryption.algorithm); absent when the upload relies on the bucket's default"),
    _s3("s3:x-amz-server-side-encryption-aws-kms-key-id", Origin.Header, "x-amz-server-side-encryption-aws-kms-key-id (spec.upload.encryption.kmsKeyArn)"),
    _s3("s3:x-amz-server-side-encryption-customer-algorithm", Origin.Header, "x-amz-server-side-encryption-customer-algorithm (request.headers: SSE-C), absent when not sent"),
    _s3("s3:x-amz-storage-class", Origin.Header, "x-amz-storage-class (spec.upload.storageClass), absent when not sent"),
    _s3("s3:x-amz-website-redirect-location", Origin.Header, "x-amz-website-redirect-location (spec.upload.headers), absent when not sent"),
    _s3("s3:BucketTag/<key>", Origin.Stated, "the bucket's tags, which the live snapshot does not read; request.context states them"),
    # the KMS requests S3 makes on the uploader's behalf, and the key resource type
    _kms("kms:CallerAccount", Origin.Caller, "the uploader's account: S3 calls with the uploader's forward access session"),
    _kms("kms:EncryptionAlgorithm", Origin.Service, "SYMMETRIC_DEFAULT: S3 encrypts with a symmetric key"),
    _kms("kms:EncryptionContext:<key>", Origin.Bucket, "aws:s3:arn (the bucket ARN with an S3 Bucket Key, the object ARN without), then each pair of x-amz-server-side-encryption-context (spec.upload.encryptionContext)"),
    _kms("kms:EncryptionContextKeys", Origin.Bucket, "aws:s3:arn and the keys of x-amz-server-side-encryption-context"),
    _kms("kms:RecipientAttestation:<measurement>", Origin.Absent, "present only for a request from a Nitro enclave or NitroTPM with an attestation document; S3 sends none"),
    _kms("kms:RequestAlias", Origin.Header, "the alias the upload names the key by (spec.upload.encryption.kmsKeyArn as an alias ARN), absent for a key ARN"),
    _kms("kms:ViaService", Origin.Service, "s3.REGION.amazonaws.com: S3 calls KMS for the upload"),
    _kms("kms:KeyOrigin", Origin.Key, "the key's origin (kms.keys.KEY.origin, read with DescribeKey), AWS_KMS by default"),
    _kms("kms:KeySpec", Origin.Key, "SYMMETRIC_DEFAULT: S3 can only use a symmetric encryption key"),
    _kms("kms:KeyUsage", Origin.Key, "ENCRYPT_DECRYPT: S3 can only use an encryption key"),
    _kms("kms:MultiRegion", Origin.Key, "whether the key is a multi-Region key (kms.keys.KEY.multiRegion, read with DescribeKey)"),
    _kms("kms:MultiRegionKeyType", Origin.Key, "PRIMARY or REPLICA for a multi-Region key (kms.keys.KEY.multiRegionKeyType), absent for another key"),
    _kms("kms:ResourceAliases", Origin.Key, "the key's aliases (kms.keys.KEY.aliases, read with ListAliases), absent without one"),
    # the global keys
    _global("aws:AssumedRoot", Origin.Absent, "present only for a session AssumeRoot issued; the workload's session is its role's"),
    _global("aws:CalledVia", Origin.Service, "s3.amazonaws.com on the KMS requests S3 makes; absent from the upload itself", on=("kms",)),
    _global("aws:CalledViaAWSMCP", Origin.Absent, "present only for a request made through an AWS MCP server"),
    _global("aws:CalledViaFirst", Origin.Service, "s3.amazonaws.com on the KMS requests S3 makes; absent from the upload itself", on=("kms",)),
    _global("aws:CalledViaLast", Origin.Service, "s3.amazonaws.com on the KMS requests S3 makes; absent from the upload itself", on=("kms",)),
    _global("aws:ChatbotSourceArn", Origin.Absent, "present only for a request from an Amazon Q Developer chat channel"),
    _global("aws:CurrentTime", Origin.Clock, "the time of the evaluation, or request.context's"),
    _global("aws:Ec2InstanceSourcePrivateIPv4", Origin.Absent, "present only with an EC2 instance profile's credentials; a pod with its own role (Pod Identity, IRSA) uses a session of that role"),
    _global("aws:Ec2InstanceSourceVpc", Origin.Absent, "present only with an EC2 instance profile's credentials; a pod with its own role (Pod Identity, IRSA) uses a session of that role"),
    _global("aws:EpochTime", Origin.Clock, "aws:CurrentTime in seconds since 1970"),
    _global("aws:FederatedProvider", Origin.Session, "IRSA: the IAM OIDC provider of the cluster's issuer; absent for Pod Identity, whose session EKS issues"),
    _global("aws:IsMcpServiceAction", Origin.Absent, "present only for the actions of an AWS MCP server"),
    _global("aws:MultiFactorAuthAge", Origin.Absent, "present only when the session was issued with MFA; a workload's never is"),
    _global("aws:MultiFactorAuthPresent", Origin.Caller, "false for a role session (temporary credentials without MFA); absent for an IAM user's or the root user's access keys"),
    _global("aws:PrincipalAccount", Origin.Caller, "the caller's account"),
    _global("aws:PrincipalArn", Origin.Caller, "the role's ARN (with its path) for a role session, else the caller's ARN"),
    _global("aws:PrincipalIsAWSService", Origin.Caller, "false: every request a role, user or root user signs"),
    _global("aws:PrincipalOrgID", Origin.Organization, "the organization's id when the caller's account is a member"),
    _global("aws:PrincipalOrgPaths", Origin.Organization, "the caller account's path (organization.paths), when the scenario gives it; the live snapshot writes no paths yet"),
    _global("aws:PrincipalServiceName", Origin.Absent, _SERVICE_ONLY),
    _global("aws:PrincipalServiceNamesList", Origin.Absent, _SERVICE_ONLY),
    _global("aws:PrincipalTag/<key>", Origin.Caller, "the role's tags (identity.tags, read with GetRole), then the session's tags (Pod Identity's), which win"),
    _global("aws:PrincipalType", Origin.Caller, "AssumedRole, User or Account"),
    _global("aws:RequestTag/<key>", Origin.Absent, "an upload tags the object through s3:RequestObjectTag, not the request's aws:RequestTag"),
    _global("aws:RequestedRegion", Origin.Bucket, "the bucket's region (region)"),
    _global("aws:ResourceAccount", Origin.Bucket, "the bucket's account on the upload, the key's account on the KMS requests"),
    _global("aws:ResourceOrgID", Origin.Organization, "the organization's id when the resource's account is a member"),
    _global("aws:ResourceOrgPaths", Origin.Organization, "the resource account's path (organization.paths), when the scenario gives it; the live snapshot writes no paths yet"),
    _global("aws:ResourceTag/<key>", Origin.Key, "the key's tags on the KMS requests (kms.keys.KEY.tags; the live snapshot does not read key tags yet); a bucket's tags only with attribute-based access control on the bucket, which request.context states", on=("kms",)),
    _global("aws:SecureTransport", Origin.Sdk, "true: an SDK talks HTTPS to S3"),
    _global("aws:SourceAccount", Origin.Absent, _SERVICE_ONLY),
    _global("aws:SourceArn", Origin.Absent, _SERVICE_ONLY),
    _global("aws:SourceIdentity", Origin.Absent, "present only when the role was assumed with a source identity; neither Pod Identity nor IRSA sets one"),
    _global("aws:SourceIp", Origin.Stated, _STATED_NETWORK + "; absent through a VPC endpoint, where AWS gives aws:VpcSourceIp instead"),
    _global("aws:SourceOrgID", Origin.Absent, _SERVICE_ONLY),
    _global("aws:SourceOrgPaths", Origin.Absent, _SERVICE_ONLY),
    _global("aws:SourceOwner", Origin.Absent, _SERVICE_ONLY),
    _global("aws:SourceVpc", Origin.Network, "the VPC of the endpoint the upload goes through (request.vpcEndpoint.vpcId), read with DescribeVpcEndpoints", on=("s3",)),
    _global("aws:SourceVpcArn", Origin.Network, "the ARN of that VPC (its region, the endpoint owner's account, vpcId), read with DescribeVpcEndpoints", on=("s3",)),
    _global("aws:SourceVpce", Origin.Network, "the VPC endpoint the upload goes through (spec.vpcEndpointId)", on=("s3",)),
    _global("aws:TagKeys", Origin.Absent, "an upload tags the object through s3:RequestObjectTagKeys, not the request's aws:TagKeys"),
    _global("aws:TokenIssueTime", Origin.Clock, "a role session's issue time: taken as aws:CurrentTime (the SDK renews its session), or request.context's; absent for access keys"),
    _global("aws:UserAgent", Origin.Stated, "the workload's SDK and version, which nothing the operator reads shows; request.context states it"),
    _global("aws:ViaAWSMCPService", Origin.Service, "false: not a request through an AWS MCP server"),
    _global("aws:ViaAWSService", Origin.Service, "false on the upload, which the caller signs; true on the KMS requests S3 makes for it"),
    _global("aws:VpcSourceIp", Origin.Stated, _STATED_NETWORK + "; only through a VPC endpoint"),
    _global("aws:VpceAccount", Origin.Network, "the account that owns the VPC endpoint (request.vpcEndpoint.account), read with DescribeVpcEndpoints", on=("s3",)),
    _global("aws:VpceOrgID", Origin.Network, "the organization of the endpoint's account, when it is a member (request.vpcEndpoint.account), read with DescribeVpcEndpoints", on=("s3",)),
    _global("aws:VpceOrgPaths", Origin.Network, "the path of the endpoint's account (organization.paths), when the scenario gives it; the live snapshot writes no paths yet", on=("s3",)),
    _global("aws:referer", Origin.Stated, "the Referer header a browser sends; an SDK sends none; request.context states it"),
    _global("aws:userid", Origin.Caller, "ROLEID:SESSION for a role session (identity.uniqueId, read with GetRole), the user id for a user, the account id for the root user"),
    _global("aws:username", Origin.Caller, "an IAM user's name; absent for any other caller"),
)  # fmt: skip


def by_name() -> dict[str, ContextKey]:
    return {k.name.lower(): k for k in CONTEXT_KEYS}


def markdown_table() -> str:
    """The table as docs/scenario.md shows it (a test keeps the two equal)."""
    lines = [
        "| key | listed for | from | how the engine derives it, or why it is not there |",
        "|---|---|---|---|",
    ]
    for k in CONTEXT_KEYS:
        carried = f" ({', '.join(k.on)})" if k.on and k.on != BOTH else ""
        lines.append(f"| `{k.name}` | {k.listed} | {k.origin}{carried} | {k.how} |")
    return "\n".join(lines) + "\n"
