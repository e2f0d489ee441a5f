"""S3's rules, apart from the generic evaluation in :mod:`...policy`:

- which ARN an action is authorized against, ACL grants as resource-side allows, and Block Public
  Access's test of "public";
- the S3 requests of an upload (:func:`probes`), with the refusals S3 makes before any policy;
- which check each of their refusals fails, and why (:func:`findings`);
- the verdicts of the checks S3 owns (the bucket policy, the bucket ACL, Block Public Access) when
  no request fails them (:data:`DEFAULT_CHECKS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl

from ...policy import (
    Authorization,
    Cause,
    CauseKind,
    ExternalAllow,
    Layer,
    NamedPolicy,
    NearMiss,
    PolicyOrigin,
    PolicySource,
    PrincipalKind,
    RequestContext,
    RequestDecision,
    ResourceSide,
    Scope,
    StatementRef,
)
from ...policy.model import ConditionClause, Effect, SetQualifier, Statement
from ...policy.operators import parse_instant
from ...policy.wildcards import action_matches
from ...vocabulary import ConditionType, Reason
from ..checks import Blame, Check, Status
from ..request_context import CONTEXT_KEYS, Origin
from ..scenario import Ownership, Scenario
from .common import (
    DefaultCheck,
    Outcome,
    Probe,
    Service,
    UploadRefusal,
    applies_org,
    base_keys,
    caller_side,
    cause_reason,
    chains,
    membership_keys,
    with_time,
)
from .kms import key_id_without_sse_kms

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
BUCKET_POLICY = PolicySource(PolicyOrigin.BucketPolicy)
BUCKET_ACL = PolicySource(PolicyOrigin.BucketACL)
PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
# The policy actions a bucket ACL permission grants (S3 "Access control list (ACL) overview", its
# mapping of ACL permissions to policy actions on a bucket). s3:PutObjectAcl under WRITE is this
# engine's simplification: the object ACL that really decides it is not part of a scenario.
ACL_BUCKET_ACTIONS: dict[str, tuple[str, ...]] = {
    "READ": ("s3:listbucket", "s3:listbucketversions", "s3:listbucketmultipartuploads"),
    "WRITE": ("s3:putobject", "s3:putobjectacl"),
    "READ_ACP": ("s3:getbucketacl",),
    "WRITE_ACP": ("s3:putbucketacl",),
}
ACL_BUCKET_ACTIONS["FULL_CONTROL"] = tuple(a for acts in ACL_BUCKET_ACTIONS.values() for a in acts)
# The requests the bucket owner's root user needs the bucket ACL (or policy) for, once ACLs are
# enabled: it is authorized in the bucket context ("How Amazon S3 authorizes a request for a bucket
# operation"). Reading and writing the ACLs themselves, and object-ACL requests, stay the owner's.
OWNER_ROOT_ACL_ACTIONS = ("s3:putobject", *ACL_BUCKET_ACTIONS["READ"])

# Actions on the bucket resource type: authorized against arn:aws:s3:::BUCKET, not an object ARN
# (S3 "Required permissions for Amazon S3 API operations"; Service Authorization Reference,
# "Actions, resources, and condition keys for Amazon S3").
BUCKET_ACTIONS = frozenset(
    a.lower()
    for a in (
        "s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:ListBucketVersions",
        "s3:ListBucketMultipartUploads", "s3:GetBucketLocation", "s3:GetBucketAcl", "s3:PutBucketAcl",
        "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:GetBucketPolicyStatus",
        "s3:GetBucketVersioning", "s3:PutBucketVersioning", "s3:GetBucketTagging", "s3:PutBucketTagging",
        "s3:GetBucketCORS", "s3:PutBucketCORS", "s3:GetBucketWebsite", "s3:PutBucketWebsite",
        "s3:DeleteBucketWebsite", "s3:GetBucketLogging", "s3:PutBucketLogging", "s3:GetBucketNotification",
        "s3:PutBucketNotification", "s3:GetBucketObjectLockConfiguration",
        "s3:PutBucketObjectLockConfiguration", "s3:GetBucketOwnershipControls",
        "s3:PutBucketOwnershipControls", "s3:DeleteBucketOwnershipControls", "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock", "s3:GetBucketRequestPayment", "s3:PutBucketRequestPayment",
        "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration",
        "s3:GetAccelerateConfiguration", "s3:PutAccelerateConfiguration", "s3:GetAnalyticsConfiguration",
        "s3:PutAnalyticsConfiguration", "s3:GetInventoryConfiguration", "s3:PutInventoryConfiguration",
        "s3:GetMetricsConfiguration", "s3:PutMetricsConfiguration", "s3:GetIntelligentTieringConfiguration",
        "s3:PutIntelligentTieringConfiguration", "s3:GetBucketAbac", "s3:PutBucketAbac",
        "s3:CreateBucketMetadataTableConfiguration", "s3:GetBucketMetadataTableConfiguration",
        "s3:DeleteBucketMetadataTableConfiguration",
    )
)  # fmt: skip
# Listing actions, authorized against the bucket: they carry s3:prefix, what they list.
LISTS_BY_PREFIX = frozenset(("s3:listbucket", "s3:listbucketversions"))
# Actions whose only resource is "*" (the account): no bucket or object decides them.
ACCOUNT_ACTIONS = frozenset(
    a.lower()
    for a in (
        "s3:ListAllMyBuckets", "s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock",
        "s3:ListAccessPoints", "s3:ListJobs", "s3:CreateJob", "s3:ListStorageLensConfigurations",
        "s3:ListMultiRegionAccessPoints", "s3:ListAccessGrantsInstances",
    )
)  # fmt: skip


def is_bucket_action(action: str) -> bool:
    return action.lower() in BUCKET_ACTIONS


def s3_resource(bucket: str, key: str, action: str) -> str:
    """The ARN S3 authorizes ``action`` against: the bucket for a bucket action, else the object."""
    return f"arn:aws:s3:::{bucket}" if is_bucket_action(action) else f"arn:aws:s3:::{bucket}/{key}"


def key_prefix(key: str, prefix: str | None) -> str:
    """The part of the bucket a fix should cover: ``request.prefix`` when given, else the key up to
    its last ``/`` (the empty string, the whole bucket, for a key with no ``/``)."""
    if prefix is not None:
        return prefix
    return key.rsplit("/", 1)[0] + "/" if "/" in key else ""


def s3_cover(bucket: str, key: str, prefix: str | None, action: str) -> str:
    """What a suggested statement names as Resource: the bucket ARN for a bucket action, else every
    object under the prefix (``arn:aws:s3:::BUCKET/PREFIX*``), never the one key a probe uses."""
    if is_bucket_action(action):
        return f"arn:aws:s3:::{bucket}"
    return f"arn:aws:s3:::{bucket}/{key_prefix(key, prefix)}*"


def acl_permission(action: str) -> str | None:
    """The bucket ACL permission that grants ``action`` (WRITE for an upload); None when no bucket
    ACL permission does (object reads are the object ACL's business)."""
    return _ACL_PERMISSION.get(action.lower())


# action -> the first permission of ACL_BUCKET_ACTIONS that lists it (reversed: the first one wins)
_ACL_PERMISSION = {a: p for p, acts in reversed(ACL_BUCKET_ACTIONS.items()) for a in acts}


# S3's definition of a public bucket policy (Amazon S3 API Reference, PublicAccessBlockConfiguration;
# S3 User Guide, "Blocking public access", "The meaning of public"): a statement that grants a "bad
# action" to anyone is public unless a condition fixes one of these keys to fixed values.
_FIXING_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:SourceIp",  # a set of CIDRs (never all of the internet, 0.0.0.0/0 or ::/0)
        "aws:SourceArn",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceOwner",
        "aws:SourceAccount",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "aws:userid",  # outside the pattern "AROLEID:*", which no fixed value matches
    )
)
# the actions that could expose a bucket's data to reads or writes by the public
_BAD_ACTIONS = ("s3:Get*", "s3:List*", "s3:AbortMultipartUpload", "s3:Delete*", "s3:Put*", "s3:RestoreObject")


def _fixes_the_caller(clause: ConditionClause) -> bool:
    """A condition that pins a caller key to fixed values: an equality (or a pattern with no
    wildcard), not negated, not ...IfExists, no variables, and for aws:SourceIp not the whole internet."""
    if clause.key.lower() not in _FIXING_KEYS or clause.if_exists or clause.templates is not None:
        return False
    if clause.operator.negated or clause.operator.name == "Null" or clause.qualifier is not SetQualifier.NONE:
        return False
    if not clause.values or any("*" in v or "?" in v for v in clause.values):
        return False
    if clause.key.lower() == "aws:sourceip":
        return clause.operator.name == "IpAddress" and not any(v.endswith("/0") for v in clause.values)
    return True


def _grants_bad_action(stmt: Statement) -> bool:
    if stmt.actions is None:  # NotAction: everything else, bad actions included
        return True
    return any(action_matches(a, bad) or action_matches(bad, a) for a in stmt.actions for bad in _BAD_ACTIONS)


def is_public_statement(stmt: Statement) -> bool:
    """A bucket-policy statement S3 counts as public: an Allow of a bad action to anyone (``*``, or
    every principal but some with NotPrincipal), with no condition fixing who may call."""
    if stmt.effect is not Effect.Allow:
        return False
    if not ((stmt.principal and stmt.principal.anyone) or stmt.not_principal is not None):
        return False
    return _grants_bad_action(stmt) and not any(_fixes_the_caller(c) for c in stmt.conditions)


def public_statements(sc: Scenario) -> list[str]:
    """The statements that make the bucket policy public, when RestrictPublicBuckets applies to this
    caller (from another account): while there is one, every cross-account grant is void."""
    policy = sc.bucket.policy
    restricted = sc.bucket.public_access_block.restrict_public_buckets
    if policy is None or not restricted or sc.request.caller.account == sc.bucket.account:
        return []
    return [s.label for s in policy.statements if is_public_statement(s)]


def _service_only(stmt: Statement) -> bool:
    p = stmt.principal
    return p is not None and bool(p.service) and not (p.anyone or p.aws or p.federated or p.canonical_user)


def owner_root_needs_acl(sc: Scenario, action: str) -> bool:
    """The bucket owner's root user, ACLs enabled, asking for what the bucket ACL governs."""
    caller = sc.request.caller
    return (
        caller.kind is PrincipalKind.Account
        and caller.account == sc.bucket.account
        and sc.bucket.ownership is not Ownership.BucketOwnerEnforced
        and action.lower() in OWNER_ROOT_ACL_ACTIONS
    )


def acl_allows(sc: Scenario, action: str) -> tuple[list[ExternalAllow], list[StatementRef]]:
    """Bucket ACL grants that give the caller ``action``, and public ones IgnorePublicAcls voids.

    A grant to a canonical user matches the caller's account through ``canonicalIds``, or through
    ``acl.owner`` for the bucket's own account. An ACL the scenario leaves out is the default one,
    which grants the owner FULL_CONTROL (S3 "Access control list (ACL) overview"); it only decides
    for the owner's root user.
    """
    bucket = sc.bucket
    if bucket.ownership is Ownership.BucketOwnerEnforced:
        return [], []
    caller = sc.request.caller
    if bucket.acl is None:
        if owner_root_needs_acl(sc, action):
            return [ExternalAllow(StatementRef(BUCKET_ACL, "default", Effect.Allow), Scope.Account)], []
        return [], []
    caller_id = bucket.canonical_ids.get(caller.account) or (
        bucket.acl.owner if caller.account == bucket.account else None
    )
    allows: list[ExternalAllow] = []
    ignored: list[StatementRef] = []
    for i, grant in enumerate(bucket.acl.grants):
        if action.lower() not in ACL_BUCKET_ACTIONS.get(grant.permission, ()):
            continue
        ref = StatementRef(BUCKET_ACL, f"grant[{i}]", Effect.Allow)
        if grant.grantee_type == "CanonicalUser" and caller_id is not None and grant.grantee == caller_id:
            allows.append(ExternalAllow(ref, Scope.Account))
        elif grant.grantee_type == "Group" and grant.grantee in (ALL_USERS, AUTHENTICATED_USERS):
            if bucket.public_access_block.ignore_public_acls:
                ignored.append(ref)
            else:
                allows.append(ExternalAllow(ref, Scope.Anyone))
    return allows, ignored


def acl_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k == "x-amz-acl" or k.startswith("x-amz-grant-")}


TAGGING_HEADER = "x-amz-tagging"


def request_tags(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """The tags of a tagged PUT: x-amz-tagging is URL query parameters (key1=value1&key2=value2)."""
    text = headers.get(TAGGING_HEADER)
    return parse_qsl(text, keep_blank_values=True) if text else []


def request_tag_keys(headers: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys for a tagged PUT (Service Authorization
    Reference, Amazon S3: condition keys of s3:PutObject and s3:PutObjectTagging); none without tags,
    so a Null condition on them holds."""
    tags = request_tags(headers)
    if not tags:
        return {}
    out: dict[str, tuple[str, ...]] = {f"s3:requestobjecttag/{k}".lower(): (v,) for k, v in tags}
    out["s3:requestobjecttagkeys"] = tuple(k for k, _ in tags)
    return out


# The actions an upload needs beside s3:PutObject for the headers it sends (ACL headers apart).
HEADER_ACTIONS = (
    (TAGGING_HEADER, "s3:PutObjectTagging"),
    ("x-amz-object-lock-mode", "s3:PutObjectRetention"),
    ("x-amz-object-lock-legal-hold", "s3:PutObjectLegalHold"),
)


def header_actions(headers: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(action for header, action in HEADER_ACTIONS if header in headers)


def probes(sc: Scenario) -> list[Probe]:
    """The S3 requests of the upload, in the order S3 meets them: the request itself; for an upload
    with an ACL header, s3:PutObjectAcl as well and S3's refusal of that ACL, if any; and S3's
    refusal of an upload that names a key without asking for SSE-KMS."""
    req = sc.request
    out = [_s3_probe(sc, req.action)]
    upload = req.action.lower() == "s3:putobject"
    if not (upload and req.headers):
        return out  # what follows is about the headers of an upload
    # a PUT that tags or locks the object is authorized for that too (S3 API Reference, PutObject;
    # S3 User Guide, "Object Lock": s3:PutObjectRetention, s3:PutObjectLegalHold)
    out += [_s3_probe(sc, a) for a in header_actions(req.headers)]
    if acl_headers(req.headers):
        out.append(_s3_probe(sc, "s3:PutObjectAcl"))
        refused = _acl_refusal(sc, req.action, s3_resource(sc.bucket.name, req.key, req.action))
        if refused is not None:
            out.append(refused)
    key_id = key_id_without_sse_kms(req.headers)
    if key_id is not None:
        resource = f"arn:aws:s3:::{sc.bucket.name}/{req.key}"
        out.append(
            Probe(
                Service.S3,
                req.action,
                resource,
                None,
                refusal=Reason.KeyIdWithoutKMSHeader,
                detail=key_id,
            )
        )
    return out


# The headers S3 turns into a condition key of the same name (s3:x-amz-acl, ...), from the table of
# the request context; the object-lock headers have keys of their own names.
HEADER_KEYS: dict[str, str] = {
    **{k.name[3:].lower(): k.name.lower() for k in CONTEXT_KEYS if k.name.startswith("s3:x-amz-") and k.origin is Origin.Header},
    "if-match": "s3:if-match",
    "if-none-match": "s3:if-none-match",
    "x-amz-object-lock-mode": "s3:object-lock-mode",
    "x-amz-object-lock-retain-until-date": "s3:object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold": "s3:object-lock-legal-hold",
}  # fmt: skip
RETAIN_UNTIL = "x-amz-object-lock-retain-until-date"
# S3's storage classes (PutObject, x-amz-storage-class)
STORAGE_CLASSES = (
    "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER",
    "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE",
)  # fmt: skip
# What an AWS SDK sends that S3 turns into condition keys (request.context overrides them).
SDK_KEYS = {"s3:authtype": ("REST-HEADER",), "s3:signatureversion": ("AWS4-HMAC-SHA256",)}


def header_keys(headers: Mapping[str, str], now: str | None) -> dict[str, tuple[str, ...]]:
    """The condition keys S3 derives from an upload's headers; ``now`` (aws:CurrentTime) gives the
    days left until an object-lock retain-until date."""
    keys: dict[str, tuple[str, ...]] = {HEADER_KEYS[n]: (v,) for n, v in headers.items() if n in HEADER_KEYS}
    keys |= request_tag_keys(headers)
    until = parse_instant(headers[RETAIN_UNTIL]) if RETAIN_UNTIL in headers else None
    start = parse_instant(now) if now else None
    if until is not None and start is not None:
        days = int((until - start).total_seconds() // 86400)
        keys["s3:object-lock-remaining-retention-days"] = (str(days),)
    return keys


def network_keys(sc: Scenario) -> dict[str, tuple[str, ...]]:
    """The keys of the path an upload takes through a VPC endpoint: the endpoint, its VPC and owner."""
    endpoint = sc.request.vpc_endpoint
    if endpoint is None:
        return {}
    keys: dict[str, tuple[str, ...]] = {"aws:sourcevpce": (endpoint.id,)}
    owner = endpoint.account
    if owner is not None:
        keys["aws:vpceaccount"] = (owner,)
        keys |= membership_keys(sc, "vpce", owner)
    if endpoint.vpc_id is not None:
        keys["aws:sourcevpc"] = (endpoint.vpc_id,)
        if owner is not None:
            keys["aws:sourcevpcarn"] = (f"arn:aws:ec2:{sc.region}:{owner}:vpc/{endpoint.vpc_id}",)
    return keys


def _s3_probe(sc: Scenario, action: str) -> Probe:
    req = sc.request
    bucket = sc.bucket
    resource = s3_resource(bucket.name, req.key, action)
    keys = base_keys(sc, bucket.account)
    keys.update(SDK_KEYS)
    keys["aws:viaawsservice"] = ("false",)
    keys["s3:resourceaccount"] = (bucket.account,)
    if req.action.lower() == "s3:putobject":
        keys["s3:objectcreationoperation"] = ("true",)  # every request of an upload: it creates an object
    if req.headers:
        current = req.context.get("aws:currenttime")
        keys |= header_keys(req.headers, current[0] if current else None)
    if req.vpc_endpoint is not None:
        keys |= network_keys(sc)
    if req.prefix and action.lower() in LISTS_BY_PREFIX:
        keys["s3:prefix"] = (req.prefix,)  # the workload lists what it asks for, its prefix
    keys = with_time(keys, req.context)
    ctx = RequestContext(action, resource, req.caller, keys)
    voided: frozenset[int] = frozenset()
    acl_grants, ignored = acl_allows(sc, action)
    restricted = bucket.public_access_block.restrict_public_buckets and req.caller.account != bucket.account
    if (
        bucket.policy is not None
        and restricted
        and any(is_public_statement(s) for s in bucket.policy.statements)
    ):
        # RestrictPublicBuckets with a public policy (one public statement is enough): only AWS
        # service principals and the bucket owner's own account keep access; every cross-account
        # grant goes, the policy's and the ACL's
        voided = frozenset(s.index for s in bucket.policy.statements if not _service_only(s))
        acl_grants = []
    endpoint = None
    if req.vpc_endpoint is not None and req.vpc_endpoint.policy is not None:
        endpoint = NamedPolicy(
            PolicySource(PolicyOrigin.VPCEndpoint, req.vpc_endpoint.id), req.vpc_endpoint.policy
        )
    identity, boundary, session = caller_side(sc)
    auth = Authorization(
        ctx=ctx,
        identity=identity,
        boundary=boundary,
        session=session,
        resource=ResourceSide(
            owner_account=bucket.account,
            policy=NamedPolicy(BUCKET_POLICY, bucket.policy) if bucket.policy else None,
            extra_allows=tuple(acl_grants),
            voided=voided,
            owner_root_needs_grant=owner_root_needs_acl(sc, action),
        ),
        scps=chains(applies_org(sc, req.caller.account, req.caller), PolicyOrigin.SCP),
        rcps=chains(applies_org(sc, bucket.account, req.caller), PolicyOrigin.RCP),
        endpoint=endpoint,
    )
    return Probe(
        Service.S3, action, resource, auth, ignored_public_acl=tuple(ignored), cover=_cover(sc, action)
    )


def _cover(sc: Scenario, action: str) -> str:
    return s3_cover(sc.bucket.name, sc.request.key, sc.request.prefix, action)


def _acl_refusal(sc: Scenario, action: str, resource: str) -> Probe | None:
    """S3's refusal of the ACL headers an upload sends: any ACL but bucket-owner-full-control when
    the bucket's ACLs are disabled, a public one when Block Public Access blocks public ACLs."""
    sent = acl_headers(sc.request.headers)
    if not sent:
        return None
    if sc.bucket.ownership is Ownership.BucketOwnerEnforced:
        refusal: UploadRefusal = Reason.ACLNotSupported
        refused = {
            k: v for k, v in sent.items() if not (k == "x-amz-acl" and v == "bucket-owner-full-control")
        }
    elif sc.bucket.public_access_block.block_public_acls:
        refusal = Reason.PublicACLBlocked
        refused = {
            k: v
            for k, v in sent.items()
            if (k == "x-amz-acl" and v in PUBLIC_CANNED_ACLS)
            or (k != "x-amz-acl" and ("AllUsers" in v or "AuthenticatedUsers" in v))
        }
    else:
        return None
    if not refused:
        return None
    name, value = next(iter(refused.items()))
    return Probe(
        Service.S3,
        action,
        resource,
        None,
        refusal=refusal,
        detail=f"{name}: {value}",
        cover=_cover(sc, action),
    )


def findings(causes: Sequence[Cause], probe: Probe, decision: RequestDecision, sc: Scenario) -> list[Blame]:
    """Where an S3 request's refusal is reported, for the causes no generic layer's check takes,
    and a public ACL grant Block Public Access ignored where that grant was the one missing."""
    out = [_blame(cause, probe, decision, sc) for cause in causes]
    if probe.ignored_public_acl and _lacks_resource_grant(decision, sc):
        out.append(
            Blame(ConditionType.PublicAccessBlockAllows, Reason.PublicACLIgnored, probe.ignored_public_acl)
        )
    return out


def _blame(cause: Cause, probe: Probe, decision: RequestDecision, sc: Scenario) -> Blame:
    if cause.layer is Layer.Identity:
        return Blame(ConditionType.IdentityPolicyAllows, cause_reason(cause), cause.statements, cause)
    # the resource side: the bucket policy, and what Block Public Access and the ACL make of it
    if cause.kind is CauseKind.ExplicitDeny:
        return Blame(ConditionType.BucketPolicyAllows, Reason.ExplicitDeny, cause.statements, cause)
    if cause.kind is CauseKind.Voided:
        return Blame(
            ConditionType.PublicAccessBlockAllows, Reason.PublicPolicyRestricted, cause.statements, cause
        )
    # no Allow from here on
    if misses := resource_near_misses(decision, probe):
        # The bucket policy does grant the caller, on a condition this request does not meet:
        # that statement is what refuses, and meeting its condition is the fix.
        refs = tuple(dict.fromkeys(m.ref for m in misses))
        return Blame(ConditionType.BucketPolicyAllows, Reason.AllowConditionNotMet, refs, cause)
    permission = acl_permission(probe.action)
    if sc.bucket.ownership is not Ownership.BucketOwnerEnforced and permission is not None:
        # With ACLs enabled, the bucket ACL is the classic way to let another account write
        # (the article's cause 4), and what the owner's root user is authorized by, so the
        # missing grant is reported there, naming both fixes.
        reason = Reason.NoWriteGrant if permission == "WRITE" else Reason.NoACLGrant
        return Blame(ConditionType.BucketACLAllows, reason, (), cause)
    return Blame(ConditionType.BucketPolicyAllows, Reason.CrossAccountNotGranted, cause.statements, cause)


def resource_near_misses(decision: RequestDecision, probe: Probe) -> list[NearMiss]:
    """Bucket-policy Allows that name the caller, action and resource but whose condition fails
    (not those Block Public Access voids anyway)."""
    side = probe.authorization.resource if probe.authorization else None
    voided = side.voided if side else frozenset()
    return [
        m
        for a in decision.analyses.get(Layer.Resource, ())
        for m in a.near_misses
        if m.ref.effect == "Allow" and m.statement.index not in voided
    ]


def _lacks_resource_grant(decision: RequestDecision, sc: Scenario) -> bool:
    """Would the grant Block Public Access voids have been the one that was missing?"""
    same = sc.request.caller.account == sc.bucket.account
    layers = (Layer.Identity, Layer.Resource) if same else (Layer.Resource,)
    return any(c.layer in layers and c.kind is CauseKind.NoAllow for c in decision.causes)


# Verdicts that say the same whatever the scenario: made once (a Check is immutable).
_ACLS_DISABLED = Check(
    Status.NotApplicable,
    Reason.ACLsDisabled,
    "the bucket's ACLs are disabled (object ownership BucketOwnerEnforced)",
)
_NO_PUBLIC_ACCESS_BLOCK = Check(
    Status.NotApplicable,
    Reason.NoPublicAccessBlock,
    "Block Public Access is off for the bucket and its account",
)


def _bucket_policy(o: Outcome) -> Check:
    sc, noun = o.sc, o.noun
    bp = o.allowing(Layer.Resource, Service.S3)
    if bp:
        return Check(
            Status.TRUE,
            Reason.AllowedByStatement,
            f"bucket policy statement {bp[0].sid} allows {o.who}, and nothing there denies the {noun}",
            bp,
        )
    if sc.bucket.policy is not None:
        return Check(
            Status.TRUE, Reason.NoDenyingStatement, f"the bucket policy denies nothing this {noun} does"
        )
    return Check(
        Status.TRUE,
        Reason.NoBucketPolicy,
        "the bucket has no policy, and the caller is in the bucket's account"
        if sc.request.caller.account == sc.bucket.account
        else f"the bucket has no policy, so nothing there denies the {noun}",
    )


def _bucket_acl(o: Outcome) -> Check:
    sc = o.sc
    if sc.bucket.ownership is Ownership.BucketOwnerEnforced:
        return _ACLS_DISABLED
    acl = o.granted((PolicyOrigin.BucketACL,), Service.S3)
    if not acl:
        return Check(
            Status.TRUE, Reason.NotRequired, f"ACLs are enabled, and the {o.noun} does not rely on them"
        )
    permission = acl_permission(sc.request.action)
    return Check(
        Status.TRUE,
        Reason.WriteGranted if permission == "WRITE" else Reason.GrantedByACL,
        "the default bucket ACL grants the owner FULL_CONTROL"
        if acl[0].sid == "default"
        else f"the bucket ACL's {acl[0].sid} grants {permission} to the caller's account",
        acl,
    )


def _public_access_block(o: Outcome) -> Check:
    pab = o.sc.bucket.public_access_block
    if not any(
        (pab.block_public_acls, pab.ignore_public_acls, pab.block_public_policy, pab.restrict_public_buckets)
    ):
        return _NO_PUBLIC_ACCESS_BLOCK
    return Check(
        Status.TRUE,
        Reason.NotTriggered,
        f"Block Public Access is on, and the {o.noun} relies on no public ACL or policy",
    )


DEFAULT_CHECKS: Mapping[ConditionType, DefaultCheck] = {
    ConditionType.BucketPolicyAllows: _bucket_policy,
    ConditionType.BucketACLAllows: _bucket_acl,
    ConditionType.PublicAccessBlockAllows: _public_access_block,
}
