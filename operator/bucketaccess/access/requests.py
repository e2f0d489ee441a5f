"""What one upload asks of AWS: the authorization requests it implies, each with its policies.

S3 and KMS service rules live here, apart from the generic evaluation in :mod:`..policy`:
which key encrypts the object, the condition keys S3 and KMS add, ACL grants as resource-side
allows, Block Public Access as a guardrail, and the refusals that are not AccessDenied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..policy import (
    Authorization,
    Caller,
    ExternalAllow,
    NamedPolicy,
    PolicyKind,
    PrincipalKind,
    RequestContext,
    ResourceSide,
    Scope,
    StatementRef,
    parse_policy,
)
from ..policy.model import Effect, Policy, Statement
from ..policy.operators import parse_instant
from .scenario import KeyManager, KeyState, KmsKey, NamedDocument, OrgChains, Ownership, Scenario

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
MANAGED_S3_ALIAS = "alias/aws/s3"
_ACL_WRITE_ACTIONS = ("s3:putobject", "s3:putobjectacl")
# Condition keys a request made by S3 on the caller's behalf (forward access session) does not carry.
_NOT_FORWARDED = ("aws:sourceip", "aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip")


class Service(StrEnum):
    S3 = "s3"
    KMS = "kms"


class Refusal(StrEnum):
    """Why AWS refuses an upload with something other than a policy decision."""

    ACLNotSupported = "ACLNotSupported"
    PublicACLBlocked = "PublicACLBlocked"
    KeyIdWithoutKMSHeader = "KeyIdWithoutKMSHeader"
    KMSKeyDisabled = "KMSKeyDisabled"
    KMSKeyPendingDeletion = "KMSKeyPendingDeletion"
    KMSKeyWrongRegion = "KMSKeyWrongRegion"
    KMSKeyNotInScenario = "KMSKeyNotInScenario"
    KMSKeyNotFound = "KMSKeyNotFound"
    RoleNotFound = "RoleNotFound"
    BucketNotFound = "BucketNotFound"
    KeyPolicyNotInScenario = "KeyPolicyNotInScenario"


@dataclass(frozen=True, slots=True)
class Probe:
    """One authorization request of the upload."""

    service: Service
    action: str
    resource: str
    authorization: Authorization | None  # None when a refusal decides before any policy
    key: KmsKey | None = None
    refusal: Refusal | None = None
    detail: str = ""
    ignored_public_acl: tuple[StatementRef, ...] = ()


@dataclass(frozen=True, slots=True)
class UploadPlan:
    probes: tuple[Probe, ...]  # a probe with a refusal is decided before any policy is read
    kms_key_ref: str | None  # what the upload names as its key, before resolution
    kms_key: KmsKey | None


def _named(prefix: str, docs: tuple[NamedDocument, ...]) -> tuple[NamedPolicy, ...]:
    return tuple(NamedPolicy(f"{prefix}:{d.name}", d.policy) for d in docs)


def _caller_side(sc: Scenario) -> dict[str, Any]:
    """The caller's identity policies, permissions boundary and session policies: the same for
    every request of one upload, S3 or KMS."""
    boundary = sc.identity.boundary
    return {
        "identity": _named("identity", sc.identity.policies),
        "boundary": NamedPolicy(f"boundary:{boundary.name}", boundary.policy) if boundary else None,
        "session": _named("session", sc.identity.session_policies),
    }


def _chains(chains: OrgChains | None, kind: str) -> tuple[tuple[NamedPolicy, ...], ...] | None:
    if chains is None:
        return None
    levels = chains.scps if kind == "scp" else chains.rcps
    if not levels:
        return None
    return tuple(_named(f"{kind}[{i}]", level) for i, level in enumerate(levels))


def base_keys(sc: Scenario, resource_account: str) -> dict[str, tuple[str, ...]]:
    caller = sc.request.caller
    keys: dict[str, tuple[str, ...]] = {
        "aws:principalarn": (caller.role_arn or caller.arn,),
        "aws:principalaccount": (caller.account,),
        "aws:principaltype": (str(caller.kind),),
        "aws:requestedregion": (sc.region,),
        "aws:securetransport": ("true",),
        "aws:resourceaccount": (resource_account,),
    }
    if caller.kind is PrincipalKind.User:
        keys["aws:username"] = (caller.arn.rsplit("/", 1)[-1],)
    org = sc.organization
    if org is not None:
        if org.member(caller.account, sc.identity.account):
            keys["aws:principalorgid"] = (org.id,)
        if org.member(resource_account, sc.identity.account):
            keys["aws:resourceorgid"] = (org.id,)
    return keys


def _with_time(
    keys: dict[str, tuple[str, ...]], overrides: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    merged = {**keys, **overrides}
    current = merged.get("aws:currenttime")
    if current and "aws:epochtime" not in merged:
        instant = parse_instant(current[0])
        if instant is not None:
            merged["aws:epochtime"] = (str(int(instant.timestamp())),)
    return merged


def _applies_org(sc: Scenario, account: str, caller: Caller) -> OrgChains | None:
    if sc.organization is None or caller.service_linked:
        return None
    return sc.organization.chains(account, sc.identity.account)


def is_public_statement(stmt: Statement) -> bool:
    """A bucket-policy Allow that grants to anyone with no condition fixing who may call.

    A simplification of S3's "public" test: any condition on one of the keys S3 accepts as
    restricting the caller (source account, organization, VPC, ...) makes it non-public.
    """
    if stmt.effect is not Effect.Allow:
        return False
    if not ((stmt.principal and stmt.principal.anyone) or stmt.not_principal is not None):
        return False
    restricting = {
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:userid",
        "aws:principalarn",
        "aws:sourceip",
        "s3:dataaccesspointaccount",
        "s3:dataaccesspointarn",
    }
    return not any(c.key.lower() in restricting and not c.if_exists for c in stmt.conditions)


def _acl_allows(sc: Scenario, action: str) -> tuple[list[ExternalAllow], list[StatementRef]]:
    """Bucket ACL grants that let the caller write, and public ones that IgnorePublicAcls voids."""
    bucket = sc.bucket
    if bucket.ownership is Ownership.BucketOwnerEnforced or bucket.acl is None:
        return [], []
    if action.lower() not in _ACL_WRITE_ACTIONS:
        return [], []
    caller_id = bucket.canonical_ids.get(sc.request.caller.account)
    allows: list[ExternalAllow] = []
    ignored: list[StatementRef] = []
    for i, grant in enumerate(bucket.acl.grants):
        if grant.permission not in ("WRITE", "FULL_CONTROL"):
            continue
        ref = StatementRef("bucket-acl", f"grant[{i}]", Effect.Allow)
        if grant.grantee_type == "CanonicalUser" and caller_id is not None and grant.grantee == caller_id:
            allows.append(ExternalAllow(ref, Scope.Account))
        elif grant.grantee_type == "Group" and grant.grantee in (ALL_USERS, AUTHENTICATED_USERS):
            if bucket.public_access_block.ignore_public_acls:
                ignored.append(ref)
            else:
                allows.append(ExternalAllow(ref, Scope.Anyone))
    return allows, ignored


def _s3_probe(sc: Scenario, action: str) -> Probe:
    req = sc.request
    bucket = sc.bucket
    resource = f"arn:aws:s3:::{bucket.name}/{req.key}"
    keys = base_keys(sc, bucket.account)
    for name, value in req.headers.items():
        if name.startswith("x-amz-"):
            keys[f"s3:{name}"] = (value,)
    if req.vpc_endpoint is not None:
        keys["aws:sourcevpce"] = (req.vpc_endpoint.id,)
    keys = _with_time(keys, req.context)
    ctx = RequestContext(action, resource, req.caller, keys)
    voided: frozenset[int] = frozenset()
    restricted = bucket.public_access_block.restrict_public_buckets and req.caller.account != bucket.account
    if bucket.policy is not None and restricted:
        voided = frozenset(s.index for s in bucket.policy.statements if is_public_statement(s))
    acl_allows, ignored = _acl_allows(sc, action)
    endpoint = None
    if req.vpc_endpoint is not None and req.vpc_endpoint.policy is not None:
        endpoint = NamedPolicy(f"vpce:{req.vpc_endpoint.id}", req.vpc_endpoint.policy)
    auth = Authorization(
        ctx=ctx,
        **_caller_side(sc),
        resource=ResourceSide(
            owner_account=bucket.account,
            policy=NamedPolicy("bucket-policy", bucket.policy) if bucket.policy else None,
            extra_allows=tuple(acl_allows),
            voided=voided,
        ),
        scps=_chains(_applies_org(sc, req.caller.account, req.caller), "scp"),
        rcps=_chains(_applies_org(sc, bucket.account, req.caller), "rcp"),
        endpoint=endpoint,
    )
    return Probe(Service.S3, action, resource, auth, ignored_public_acl=tuple(ignored))


def acl_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k == "x-amz-acl" or k.startswith("x-amz-grant-")}


def _acl_refusal(sc: Scenario, action: str, resource: str) -> Probe | None:
    sent = acl_headers(sc.request.headers)
    if not sent:
        return None
    if sc.bucket.ownership is Ownership.BucketOwnerEnforced:
        bad = {k: v for k, v in sent.items() if not (k == "x-amz-acl" and v == "bucket-owner-full-control")}
        if bad:
            name, value = next(iter(bad.items()))
            return Probe(
                Service.S3, action, resource, None, refusal=Refusal.ACLNotSupported, detail=f"{name}: {value}"
            )
        return None
    if sc.bucket.public_access_block.block_public_acls:
        public = {
            k: v
            for k, v in sent.items()
            if (k == "x-amz-acl" and v in PUBLIC_CANNED_ACLS)
            or (k != "x-amz-acl" and ("AllUsers" in v or "AuthenticatedUsers" in v))
        }
        if public:
            name, value = next(iter(public.items()))
            return Probe(
                Service.S3,
                action,
                resource,
                None,
                refusal=Refusal.PublicACLBlocked,
                detail=f"{name}: {value}",
            )
    return None


def managed_key_policy(account: str, region: str) -> Policy:
    """The default policy of the AWS managed aws/s3 key: any principal of its account, through S3."""
    return parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Allow access through S3 for all principals in the account that are authorized to use S3",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:CallerAccount": account,
                            "kms:ViaService": f"s3.{region}.amazonaws.com",
                        }
                    },
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
                    "Resource": "*",
                },
            ],
        },
        "(aws/s3 default key policy)",
        PolicyKind.Resource,
    )


def _requested_key(sc: Scenario) -> tuple[str | None, Probe | None]:
    """The key the upload encrypts with: MANAGED_S3_ALIAS, a key reference, or None for no KMS."""
    headers = sc.request.headers
    sse = headers.get("x-amz-server-side-encryption")
    key_id = headers.get("x-amz-server-side-encryption-aws-kms-key-id")
    if key_id is not None and (sse is None or not sse.startswith("aws:kms")):
        resource = f"arn:aws:s3:::{sc.bucket.name}/{sc.request.key}"
        return None, Probe(
            Service.S3,
            sc.request.action,
            resource,
            None,
            refusal=Refusal.KeyIdWithoutKMSHeader,
            detail=key_id,
        )
    if sse is not None:
        return (key_id or MANAGED_S3_ALIAS, None) if sse.startswith("aws:kms") else (None, None)
    enc = sc.bucket.encryption
    if enc is not None and enc.algorithm.startswith("aws:kms"):
        return enc.kms_key_arn or MANAGED_S3_ALIAS, None
    return None, None


def resolve_key(sc: Scenario, ref: str) -> KmsKey | None:
    keys = sc.kms_keys
    if ref == MANAGED_S3_ALIAS:
        for key in keys.values():
            if MANAGED_S3_ALIAS in key.aliases and key.account == sc.bucket.account:
                return key
        arn = f"arn:aws:kms:{sc.region}:{sc.bucket.account}:key/aws-s3-managed"
        return KmsKey(
            arn, sc.bucket.account, sc.region, KeyManager.AWS, KeyState.Enabled, (MANAGED_S3_ALIAS,), None, ()
        )
    if ref in keys:
        return keys[ref]
    alias = (
        ref.split(":", 5)[-1]
        if ref.startswith("arn:") and ":alias/" in ref
        else ref
        if ref.startswith("alias/")
        else None
    )
    if alias is not None:
        return next((k for k in keys.values() if alias in k.aliases), None)
    if not ref.startswith("arn:"):
        return next((k for k in keys.values() if k.arn.rsplit("/", 1)[-1] == ref), None)
    return None


def _grant_allows(
    key: KmsKey, caller: Caller, operation: str, context: dict[str, str]
) -> list[ExternalAllow]:
    names = {caller.arn, caller.role_arn, caller.session_arn} - {None}
    out = []
    for i, grant in enumerate(key.grants):
        if grant.grantee not in names or operation not in grant.operations:
            continue
        if grant.context_subset is not None and any(
            context.get(k) != v for k, v in grant.context_subset.items()
        ):
            continue
        if grant.context_equals is not None and grant.context_equals != context:
            continue
        out.append(ExternalAllow(StatementRef("kms-grant", f"grant[{i}]", Effect.Allow), Scope.Role))
    return out


def _kms_probes(sc: Scenario, key: KmsKey) -> list[Probe]:
    req = sc.request
    object_arn = f"arn:aws:s3:::{sc.bucket.name}/{req.key}"
    enc = sc.bucket.encryption
    bucket_key = enc is not None and enc.bucket_key_enabled
    context_arn = f"arn:aws:s3:::{sc.bucket.name}" if bucket_key else object_arn
    encryption_context = {"aws:s3:arn": context_arn}
    policy = key.policy
    if policy is None and key.manager is KeyManager.AWS:
        policy = managed_key_policy(key.account, key.region)
    operations = ["GenerateDataKey"] + (["Decrypt"] if req.multipart else [])
    probes = []
    for op in operations:
        action = f"kms:{op}"
        if policy is None:
            probes.append(Probe(Service.KMS, action, key.arn, None, key, Refusal.KeyPolicyNotInScenario))
            continue
        keys = base_keys(sc, key.account)
        keys |= {
            "kms:viaservice": (f"s3.{sc.region}.amazonaws.com",),
            "kms:calleraccount": (req.caller.account,),
            "kms:encryptioncontext:aws:s3:arn": (context_arn,),
            "kms:encryptioncontextkeys": ("aws:s3:arn",),
            "aws:viaawsservice": ("true",),
            "aws:calledvia": ("s3.amazonaws.com",),
        }
        overrides = {
            k: v for k, v in req.context.items() if k not in _NOT_FORWARDED and not k.startswith("s3:")
        }
        keys = _with_time(keys, overrides)
        ctx = RequestContext(action, key.arn, req.caller, keys)
        rcp_chains = None if key.manager is KeyManager.AWS else _applies_org(sc, key.account, req.caller)
        auth = Authorization(
            ctx=ctx,
            **_caller_side(sc),
            resource=ResourceSide(
                owner_account=key.account,
                policy=NamedPolicy("key-policy", policy),
                mandatory=True,
                extra_allows=tuple(_grant_allows(key, req.caller, op, encryption_context)),
            ),
            scps=_chains(_applies_org(sc, req.caller.account, req.caller), "scp"),
            rcps=_chains(rcp_chains, "rcp"),
        )
        probes.append(Probe(Service.KMS, action, key.arn, auth, key))
    return probes


def _key_refusal(sc: Scenario, key: KmsKey) -> Refusal | None:
    if key.state is KeyState.NotFound:
        return Refusal.KMSKeyNotFound
    if key.state is KeyState.Disabled:
        return Refusal.KMSKeyDisabled
    if key.state is KeyState.PendingDeletion:
        return Refusal.KMSKeyPendingDeletion
    if key.region != sc.region:
        return Refusal.KMSKeyWrongRegion
    return None


def plan_upload(sc: Scenario) -> UploadPlan:
    """Every authorization request the upload implies, in the order AWS meets them."""
    req = sc.request
    resource = f"arn:aws:s3:::{sc.bucket.name}/{req.key}"
    if not sc.identity.exists or not sc.bucket.exists:
        # Nothing else can be said about a request whose role or bucket does not exist.
        refusal = Refusal.RoleNotFound if not sc.identity.exists else Refusal.BucketNotFound
        return UploadPlan((Probe(Service.S3, req.action, resource, None, refusal=refusal),), None, None)
    probes: list[Probe] = [_s3_probe(sc, req.action)]
    if acl_headers(req.headers) and req.action.lower() == "s3:putobject":
        probes.append(_s3_probe(sc, "s3:PutObjectAcl"))
        refused = _acl_refusal(sc, req.action, resource)
        if refused is not None:
            probes.append(refused)
    key_ref, bad_header = _requested_key(sc) if req.action.lower() == "s3:putobject" else (None, None)
    if bad_header is not None:
        probes.append(bad_header)
    key = None
    if key_ref is not None:
        key = resolve_key(sc, key_ref)
        if key is None:
            probes.append(
                Probe(
                    Service.KMS,
                    "kms:GenerateDataKey",
                    key_ref,
                    None,
                    None,
                    Refusal.KMSKeyNotInScenario,
                    key_ref,
                )
            )
        else:
            refused_key = _key_refusal(sc, key)
            if refused_key is not None:
                probes.append(Probe(Service.KMS, "kms:GenerateDataKey", key.arn, None, key, refused_key))
            else:
                probes += _kms_probes(sc, key)
    return UploadPlan(tuple(probes), key_ref, key)
