"""The one table of AWS API calls that can change a verdict, and how each names its resource.

Every row is an API call as CloudTrail records it (``detail.eventSource`` and
``detail.eventName`` of an EventBridge event of detail-type "AWS API Call via CloudTrail"), the
kind of resource it changes, and where the resource's id is in the record. The EventBridge rules
of ``deploy/aws/change-events.yaml`` and the "Change events" table of docs/operations.md are
checked against this table (tests/unit/trail).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Record = Mapping[str, Any]  # the CloudTrail record: the EventBridge event's ``detail``


class Kind(StrEnum):
    """What kind of AWS resource a change is about, and so how its objects are found."""

    Bucket = "bucket"  # a bucket name
    AccountPublicAccessBlock = "account-public-access-block"  # an account id
    VpcEndpoint = "vpc-endpoint"  # a VPC endpoint id
    Key = "key"  # a KMS key id or key ARN
    Alias = "alias"  # a KMS alias name (alias/...)
    Role = "role"  # an IAM role name
    ManagedPolicy = "managed-policy"  # a managed policy ARN
    OidcProvider = "oidc-provider"  # an OIDC provider ARN or URL
    OrgPolicy = "org-policy"  # an SCP/RCP id (p-...)
    OrgTarget = "org-target"  # a root, OU or account id a policy is attached to / detached from
    Account = "account"  # an account id (an account moved in the organization)
    ServiceAccount = "service-account"  # "namespace/serviceAccount" of a Pod Identity association


@dataclass(frozen=True, order=True)
class Ref:
    kind: Kind
    id: str


Extract = Callable[[Record], list[Ref]]


@dataclass(frozen=True)
class Call:
    service: str  # the EventBridge source: aws.s3, aws.kms, ...
    event_source: str  # detail.eventSource: s3.amazonaws.com, ...
    name: str  # detail.eventName
    kind: Kind
    where: str  # where the id is, in words (the docs table)
    extract: Extract


def _params(record: Record) -> Mapping[str, Any]:
    value = record.get("requestParameters")
    return value if isinstance(value, Mapping) else {}


def _response(record: Record) -> Mapping[str, Any]:
    value = record.get("responseElements")
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _param(kind: Kind, *names: str) -> Extract:
    """The first of ``names`` in requestParameters."""

    def extract(record: Record) -> list[Ref]:
        params = _params(record)
        for name in names:
            found = _text(params.get(name))
            if found:
                return [Ref(kind, found)]
        return []

    return extract


def _account(record: Record) -> list[Ref]:
    params = _params(record)
    account = _text(params.get("accountId")) or _text(record.get("recipientAccountId"))
    return [Ref(Kind.AccountPublicAccessBlock, account)] if account else []


def _vpc_endpoint(record: Record) -> list[Ref]:
    # EC2 records the request as {"ModifyVpcEndpointRequest": {"VpcEndpointId": ...}}
    params = _params(record)
    inner = params.get("ModifyVpcEndpointRequest")
    found = _text(inner.get("VpcEndpointId")) if isinstance(inner, Mapping) else None
    found = found or _text(params.get("vpcEndpointId")) or _text(params.get("VpcEndpointId"))
    return [Ref(Kind.VpcEndpoint, found)] if found else []


def _key(record: Record) -> list[Ref]:
    """keyId as the caller wrote it (id, ARN or alias), else the key ARN CloudTrail lists in
    ``resources`` (a RetireGrant by grant token names no key in its parameters)."""
    found = _text(_params(record).get("keyId"))
    if found:
        return [Ref(Kind.Alias, found) if found.startswith("alias/") else Ref(Kind.Key, found)]
    for resource in record.get("resources") or ():
        if isinstance(resource, Mapping) and resource.get("type") == "AWS::KMS::Key":
            arn = _text(resource.get("ARN"))
            if arn:
                return [Ref(Kind.Key, arn)]
    return []


def _alias(record: Record) -> list[Ref]:
    params = _params(record)
    out = []
    name = _text(params.get("aliasName"))
    if name:
        out.append(Ref(Kind.Alias, name))
    target = _text(params.get("targetKeyId"))
    if target:
        out.append(Ref(Kind.Key, target))
    return out


def _org_attach(record: Record) -> list[Ref]:
    params = _params(record)
    out = [Ref(Kind.OrgPolicy, p)] if (p := _text(params.get("policyId"))) else []
    return out + ([Ref(Kind.OrgTarget, t)] if (t := _text(params.get("targetId"))) else [])


def _association(record: Record) -> list[Ref]:
    """Create names the ServiceAccount in its request; Update and Delete name the association
    only, and the ServiceAccount is in the response (the association as it was or is now)."""
    for source in (_params(record), _response(record).get("association")):
        if isinstance(source, Mapping):
            namespace, account = _text(source.get("namespace")), _text(source.get("serviceAccount"))
            if namespace and account:
                return [Ref(Kind.ServiceAccount, f"{namespace}/{account}")]
    return []


def _row(service: str, name: str, kind: Kind, where: str, extract: Extract) -> Call:
    return Call(f"aws.{service}", f"{service}.amazonaws.com", name, kind, where, extract)


_BUCKET = "requestParameters.bucketName"
_ROLE = "requestParameters.roleName"
_KEY = "requestParameters.keyId (or the key ARN in resources)"


def _s3(name: str) -> Call:
    return _row("s3", name, Kind.Bucket, _BUCKET, _param(Kind.Bucket, "bucketName"))


def _kms(name: str) -> Call:
    return _row("kms", name, Kind.Key, _KEY, _key)


def _role(name: str) -> Call:
    return _row("iam", name, Kind.Role, _ROLE, _param(Kind.Role, "roleName"))


def _oidc(name: str) -> Call:
    return _row(
        "iam",
        name,
        Kind.OidcProvider,
        "requestParameters.openIDConnectProviderArn (Create: url)",
        _param(Kind.OidcProvider, "openIDConnectProviderArn", "url"),
    )


def _eks(name: str) -> Call:
    return _row(
        "eks",
        name,
        Kind.ServiceAccount,
        "namespace/serviceAccount from requestParameters (Create) or responseElements.association",
        _association,
    )


CALLS: tuple[Call, ...] = (
    _s3("PutBucketPolicy"),
    _s3("DeleteBucketPolicy"),
    _s3("PutBucketAcl"),
    _s3("PutBucketOwnershipControls"),
    _s3("DeleteBucketOwnershipControls"),
    _s3("PutBucketEncryption"),
    _s3("DeleteBucketEncryption"),
    _s3("PutBucketPublicAccessBlock"),
    _s3("DeleteBucketPublicAccessBlock"),
    _row("s3", "PutAccountPublicAccessBlock", Kind.AccountPublicAccessBlock, "the account", _account),
    _row("s3", "DeleteAccountPublicAccessBlock", Kind.AccountPublicAccessBlock, "the account", _account),
    _row(
        "ec2",
        "ModifyVpcEndpoint",
        Kind.VpcEndpoint,
        "requestParameters.ModifyVpcEndpointRequest.VpcEndpointId",
        _vpc_endpoint,
    ),
    _kms("PutKeyPolicy"),
    _kms("CreateGrant"),
    _kms("RetireGrant"),
    _kms("RevokeGrant"),
    _kms("EnableKey"),
    _kms("DisableKey"),
    _kms("ScheduleKeyDeletion"),
    _kms("CancelKeyDeletion"),
    _row("kms", "CreateAlias", Kind.Alias, "requestParameters.aliasName, targetKeyId", _alias),
    _row("kms", "UpdateAlias", Kind.Alias, "requestParameters.aliasName, targetKeyId", _alias),
    _row("kms", "DeleteAlias", Kind.Alias, "requestParameters.aliasName", _alias),
    _role("PutRolePolicy"),
    _role("DeleteRolePolicy"),
    _role("AttachRolePolicy"),
    _role("DetachRolePolicy"),
    _role("PutRolePermissionsBoundary"),
    _role("DeleteRolePermissionsBoundary"),
    _role("UpdateAssumeRolePolicy"),
    _role("DeleteRole"),
    _row(
        "iam",
        "CreatePolicyVersion",
        Kind.ManagedPolicy,
        "requestParameters.policyArn",
        _param(Kind.ManagedPolicy, "policyArn"),
    ),
    _row(
        "iam",
        "SetDefaultPolicyVersion",
        Kind.ManagedPolicy,
        "requestParameters.policyArn",
        _param(Kind.ManagedPolicy, "policyArn"),
    ),
    _oidc("CreateOpenIDConnectProvider"),
    _oidc("DeleteOpenIDConnectProvider"),
    _oidc("AddClientIDToOpenIDConnectProvider"),
    _oidc("RemoveClientIDFromOpenIDConnectProvider"),
    _row(
        "organizations",
        "UpdatePolicy",
        Kind.OrgPolicy,
        "requestParameters.policyId",
        _param(Kind.OrgPolicy, "policyId"),
    ),
    _row(
        "organizations", "AttachPolicy", Kind.OrgPolicy, "requestParameters.policyId, targetId", _org_attach
    ),
    _row(
        "organizations", "DetachPolicy", Kind.OrgPolicy, "requestParameters.policyId, targetId", _org_attach
    ),
    _row(
        "organizations",
        "MoveAccount",
        Kind.Account,
        "requestParameters.accountId",
        _param(Kind.Account, "accountId"),
    ),
    _eks("CreatePodIdentityAssociation"),
    _eks("UpdatePodIdentityAssociation"),
    _eks("DeletePodIdentityAssociation"),
)


def _resource_key(event: Record) -> list[Ref]:
    """A KMS service event names its key in ``resources`` (the key ARN) and ``detail.key-id``."""
    for arn in event.get("resources") or ():
        if isinstance(arn, str) and ":key/" in arn:
            return [Ref(Kind.Key, arn)]
    detail = event.get("detail")
    found = _text(detail.get("key-id")) if isinstance(detail, Mapping) else None
    return [Ref(Kind.Key, found)] if found else []


# Events a service sends to EventBridge itself (not API calls): ``name`` is the detail-type and
# ``extract`` reads the whole event, not the CloudTrail record.
SERVICE_EVENTS: tuple[Call, ...] = tuple(
    Call("aws.kms", "", name, Kind.Key, "resources (the key ARN)", _resource_key)
    for name in ("KMS CMK Deletion", "KMS Imported Key Material Expiration")
)

_BY_NAME = {(c.event_source, c.name): c for c in CALLS}
_SERVICE = {(c.service, c.name): c for c in SERVICE_EVENTS}


def service_event(source: str, detail_type: str) -> Call | None:
    return _SERVICE.get((source, detail_type))


def by_name(event_source: str, name: str) -> Call | None:
    return _BY_NAME.get((event_source, name))


def services() -> dict[str, list[str]]:
    """EventBridge source -> the event names of its calls (the rules' patterns)."""
    out: dict[str, list[str]] = {}
    for c in CALLS:
        out.setdefault(c.service, []).append(c.name)
    return out


def markdown_table() -> str:
    """The "Change events" table of docs/operations.md (a test keeps the two equal)."""
    lines = ["| EventBridge source | eventName | changes | resource taken from |", "|---|---|---|---|"]
    lines += [f"| `{c.service}` | `{c.name}` | {c.kind.value} | {c.where} |" for c in CALLS]
    lines += [
        f"| `{c.service}` | detail-type `{c.name}` | {c.kind.value} | {c.where} |" for c in SERVICE_EVENTS
    ]
    return "\n".join(lines)


def service_event_patterns() -> list[dict[str, Any]]:
    """The patterns of the rules for :data:`SERVICE_EVENTS`, one per source."""
    by_source: dict[str, list[str]] = {}
    for c in SERVICE_EVENTS:
        by_source.setdefault(c.service, []).append(c.name)
    return [{"source": [s], "detail-type": sorted(names)} for s, names in by_source.items()]


def event_patterns() -> dict[str, dict[str, Any]]:
    """EventBridge source -> the event pattern of its CloudTrail rule (deploy/aws/change-events.yaml)."""
    out: dict[str, dict[str, Any]] = {}
    for service, names in services().items():
        out[service] = {
            "source": [service],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventSource": [service.removeprefix("aws.") + ".amazonaws.com"],
                "eventName": sorted(names),
            },
        }
    return out
