"""What one upload asks of AWS: the authorization requests (probes) it implies, each with the
policies that decide it. The service rules it applies live in :mod:`.services`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..policy import (
    Authorization,
    Caller,
    NamedPolicy,
    RequestContext,
    ResourceSide,
    StatementRef,
)
from .scenario import KeyManager, KmsKey, NamedDocument, OrgChains, Ownership, Scenario
from .services.common import Service, UploadRefusal, base_keys, with_time
from .services.kms import (
    MANAGED_S3_ALIAS,
    NOT_FORWARDED,
    grant_allows,
    key_refusal,
    managed_key_policy,
    resolve_key,
)
from .services.s3 import (
    PUBLIC_CANNED_ACLS,
    acl_allows,
    acl_headers,
    is_public_statement,
    owner_root_needs_acl,
    s3_cover,
    s3_resource,
)


@dataclass(frozen=True, slots=True)
class Probe:
    """One authorization request of the upload."""

    service: Service
    action: str
    resource: str
    authorization: Authorization | None  # None when a refusal decides before any policy
    key: KmsKey | None = None
    refusal: UploadRefusal | None = None
    detail: str = ""
    ignored_public_acl: tuple[StatementRef, ...] = ()
    cover: str = ""  # what a fix for this request should name as Resource (BUCKET/PREFIX*, the key...)


@dataclass(frozen=True, slots=True)
class UploadPlan:
    probes: tuple[Probe, ...]  # a probe with a refusal is decided before any policy is read


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


def _applies_org(sc: Scenario, account: str, caller: Caller) -> OrgChains | None:
    if sc.organization is None or caller.service_linked:
        return None
    return sc.organization.chains(account, sc.identity.account)


LISTS_BY_PREFIX = ("s3:listbucket", "s3:listbucketversions")


def _s3_probe(sc: Scenario, action: str) -> Probe:
    req = sc.request
    bucket = sc.bucket
    resource = s3_resource(bucket.name, req.key, action)
    keys = base_keys(sc, bucket.account)
    for name, value in req.headers.items():
        if name.startswith("x-amz-"):
            keys[f"s3:{name}"] = (value,)
    if req.vpc_endpoint is not None:
        keys["aws:sourcevpce"] = (req.vpc_endpoint.id,)
    if req.prefix and action.lower() in LISTS_BY_PREFIX:
        keys["s3:prefix"] = (req.prefix,)  # the workload lists what it asks for, its prefix
    keys = with_time(keys, req.context)
    ctx = RequestContext(action, resource, req.caller, keys)
    voided: frozenset[int] = frozenset()
    restricted = bucket.public_access_block.restrict_public_buckets and req.caller.account != bucket.account
    if bucket.policy is not None and restricted:
        voided = frozenset(s.index for s in bucket.policy.statements if is_public_statement(s))
    acl_grants, ignored = acl_allows(sc, action)
    endpoint = None
    if req.vpc_endpoint is not None and req.vpc_endpoint.policy is not None:
        endpoint = NamedPolicy(f"vpce:{req.vpc_endpoint.id}", req.vpc_endpoint.policy)
    auth = Authorization(
        ctx=ctx,
        **_caller_side(sc),
        resource=ResourceSide(
            owner_account=bucket.account,
            policy=NamedPolicy("bucket-policy", bucket.policy) if bucket.policy else None,
            extra_allows=tuple(acl_grants),
            voided=voided,
            owner_root_needs_grant=owner_root_needs_acl(sc, action),
        ),
        scps=_chains(_applies_org(sc, req.caller.account, req.caller), "scp"),
        rcps=_chains(_applies_org(sc, bucket.account, req.caller), "rcp"),
        endpoint=endpoint,
    )
    return Probe(
        Service.S3, action, resource, auth, ignored_public_acl=tuple(ignored), cover=_cover(sc, action)
    )


def _cover(sc: Scenario, action: str) -> str:
    return s3_cover(sc.bucket.name, sc.request.key, sc.request.prefix, action)


def _acl_refusal(sc: Scenario, action: str, resource: str) -> Probe | None:
    sent = acl_headers(sc.request.headers)
    if not sent:
        return None
    if sc.bucket.ownership is Ownership.BucketOwnerEnforced:
        bad = {k: v for k, v in sent.items() if not (k == "x-amz-acl" and v == "bucket-owner-full-control")}
        if bad:
            name, value = next(iter(bad.items()))
            return Probe(
                Service.S3,
                action,
                resource,
                None,
                refusal=UploadRefusal.ACLNotSupported,
                detail=f"{name}: {value}",
                cover=_cover(sc, action),
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
                refusal=UploadRefusal.PublicACLBlocked,
                detail=f"{name}: {value}",
                cover=_cover(sc, action),
            )
    return None


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
            refusal=UploadRefusal.KeyIdWithoutKMSHeader,
            detail=key_id,
        )
    if sse is not None:
        return (key_id or MANAGED_S3_ALIAS, None) if sse.startswith("aws:kms") else (None, None)
    enc = sc.bucket.encryption
    if enc is not None and enc.algorithm.startswith("aws:kms"):
        return enc.kms_key_arn or MANAGED_S3_ALIAS, None
    return None, None


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
            probes.append(
                Probe(Service.KMS, action, key.arn, None, key, UploadRefusal.KeyPolicyNotInScenario)
            )
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
            k: v for k, v in req.context.items() if k not in NOT_FORWARDED and not k.startswith("s3:")
        }
        keys = with_time(keys, overrides)
        ctx = RequestContext(action, key.arn, req.caller, keys)
        rcp_chains = None if key.manager is KeyManager.AWS else _applies_org(sc, key.account, req.caller)
        auth = Authorization(
            ctx=ctx,
            **_caller_side(sc),
            resource=ResourceSide(
                owner_account=key.account,
                policy=NamedPolicy("key-policy", policy),
                mandatory=True,
                extra_allows=tuple(grant_allows(key, req.caller, op, encryption_context)),
            ),
            scps=_chains(_applies_org(sc, req.caller.account, req.caller), "scp"),
            rcps=_chains(rcp_chains, "rcp"),
        )
        probes.append(Probe(Service.KMS, action, key.arn, auth, key, cover=key.arn))
    return probes


def plan_upload(sc: Scenario, kms: bool = True) -> UploadPlan:
    """Every authorization request the upload implies, in the order AWS meets them (the KMS ones
    only with ``kms``: a question about the S3 requests alone needs none)."""
    req = sc.request
    resource = s3_resource(sc.bucket.name, req.key, req.action)
    if not sc.identity.exists or not sc.bucket.exists:
        # Nothing else can be said about a request whose role or bucket does not exist.
        refusal = UploadRefusal.RoleNotFound if not sc.identity.exists else UploadRefusal.BucketNotFound
        return UploadPlan((Probe(Service.S3, req.action, resource, None, refusal=refusal),))
    probes: list[Probe] = [_s3_probe(sc, req.action)]
    if acl_headers(req.headers) and req.action.lower() == "s3:putobject":
        probes.append(_s3_probe(sc, "s3:PutObjectAcl"))
        refused = _acl_refusal(sc, req.action, resource)
        if refused is not None:
            probes.append(refused)
    key_ref, bad_header = _requested_key(sc) if req.action.lower() == "s3:putobject" else (None, None)
    if bad_header is not None:
        probes.append(bad_header)
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
                    UploadRefusal.KMSKeyNotInScenario,
                    key_ref,
                )
            )
        else:
            refused_key = key_refusal(sc, key)
            if refused_key is not None:
                probes.append(Probe(Service.KMS, "kms:GenerateDataKey", key.arn, None, key, refused_key))
            elif kms:
                probes += _kms_probes(sc, key)
    return UploadPlan(tuple(probes))
