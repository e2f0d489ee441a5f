"""KMS's rules, the whole KMS layer of an upload in one place:

- which key encrypts an upload and which key its reference names, the policy of the AWS managed
  key, KMS grants as allows, and the states of a key S3 refuses before any policy is read;
- the KMS requests S3 makes for an upload (:func:`probes`), which the key policy must allow;
- which check each of their refusals fails, and why (:func:`findings`);
- the verdict of KMSKeyUsable when no request fails it (:data:`DEFAULT_CHECKS`);
- the key-user statement, both the one the operator manages and the one a fix suggests.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...policy import (
    Authorization,
    Caller,
    Cause,
    CauseKind,
    ExternalAllow,
    Layer,
    NamedPolicy,
    PolicyKind,
    PolicyOrigin,
    PolicySource,
    RequestContext,
    RequestDecision,
    ResourceSide,
    Scope,
    StatementRef,
    parse_policy,
)
from ...policy.arn import Arn
from ...policy.model import Effect, Policy
from ...vocabulary import ConditionType, Reason
from ..checks import Blame, Check, Status
from ..request_context import CONTEXT_KEYS, Origin
from ..scenario import KeyManager, KeyState, KmsKey, Scenario
from .common import (
    DefaultCheck,
    Outcome,
    Probe,
    Service,
    UploadRefusal,
    applies_org,
    base_keys,
    caller_side,
    chains,
    with_time,
)

MANAGED_S3_ALIAS = "alias/aws/s3"
KEY_POLICY = PolicySource(PolicyOrigin.KeyPolicy)
KMS_GRANTS = PolicySource(PolicyOrigin.KMSGrant)
# Condition keys a request made by S3 on the caller's behalf (forward access session) does not carry:
# those of the network path the upload took (access/request_context.py).
NOT_FORWARDED = (
    *(k.name.lower() for k in CONTEXT_KEYS if k.origin is Origin.Network),
    "aws:sourceip",
    "aws:vpcsourceip",
)
# What a key user needs for S3 to encrypt and decrypt with the key on its behalf.
KEY_USER_ACTIONS = ("kms:GenerateDataKey*", "kms:Decrypt", "kms:DescribeKey")
SSE_HEADER = "x-amz-server-side-encryption"
KEY_ID_HEADER = "x-amz-server-side-encryption-aws-kms-key-id"


def key_id_without_sse_kms(headers: dict[str, str]) -> str | None:
    """The key an upload names without asking for SSE-KMS: S3 refuses such an upload (400
    InvalidArgument) before any key is used."""
    sse = headers.get(SSE_HEADER)
    key_id = headers.get(KEY_ID_HEADER)
    return key_id if key_id is not None and (sse is None or not sse.startswith("aws:kms")) else None


def requested_key(sc: Scenario) -> str | None:
    """The key the upload encrypts with: MANAGED_S3_ALIAS, a key reference, or None for no KMS
    (also for a key named without SSE-KMS, an upload S3 refuses first)."""
    headers = sc.request.headers
    if headers:
        if key_id_without_sse_kms(headers) is not None:
            return None
        sse = headers.get(SSE_HEADER)
        if sse is not None:
            return (headers.get(KEY_ID_HEADER) or MANAGED_S3_ALIAS) if sse.startswith("aws:kms") else None
    enc = sc.bucket.encryption
    if enc is not None and enc.algorithm.startswith("aws:kms"):
        return enc.kms_key_arn or MANAGED_S3_ALIAS
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


def key_user_statement(
    sid: str, principal: str | list[str], region: str, actions: Sequence[str] = KEY_USER_ACTIONS
) -> dict[str, Any]:
    """The key-policy statement that makes ``principal`` a key user only through S3 in ``region``
    (``kms:ViaService``): the one the operator manages and the one a fix suggests."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": list(actions),
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
    }


def resolve_key(sc: Scenario, ref: str, *, anywhere: bool = False) -> KmsKey | None:
    """The key ``ref`` names. A full key or alias ARN names one key anywhere; a bare key id or alias
    name resolves in the caller's account (S3 User Guide, "Specifying server-side encryption with AWS
    KMS": for a cross-account operation use the key ARN, since KMS resolves an id or alias in the
    requester's account). ``anywhere``: ignore the account, to tell a cross-account caller why."""
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
    if ref.startswith("arn:") and ":alias/" in ref:
        alias, account = "alias/" + ref.split(":alias/", 1)[1], Arn.parse(ref).account
        return next((k for k in keys.values() if alias in k.aliases and k.account == account), None)
    if ref.startswith("arn:"):
        return None
    own = sc.request.caller.account

    def here(k: KmsKey) -> bool:
        return anywhere or k.account == own

    if ref.startswith("alias/"):
        return next((k for k in keys.values() if ref in k.aliases and here(k)), None)
    return next((k for k in keys.values() if k.arn.rsplit("/", 1)[-1] == ref and here(k)), None)


def grant_allows(key: KmsKey, caller: Caller, operation: str, context: dict[str, str]) -> list[ExternalAllow]:
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
        out.append(ExternalAllow(StatementRef(KMS_GRANTS, f"grant[{i}]", Effect.Allow), Scope.Role))
    return out


def key_refusal(sc: Scenario, key: KmsKey) -> UploadRefusal | None:
    if key.state is KeyState.NotFound:
        return Reason.KMSKeyNotFound
    if key.state is KeyState.Disabled:
        return Reason.KMSKeyDisabled
    if key.state is KeyState.PendingDeletion:
        return Reason.KMSKeyPendingDeletion
    if key.region != sc.region:
        return Reason.KMSKeyWrongRegion
    return None


def probes(sc: Scenario) -> list[Probe]:
    """The KMS requests S3 makes for an upload encrypted with a KMS key, or the refusal that comes
    before them: a key the scenario does not describe, or one S3 cannot use."""
    ref = requested_key(sc) if sc.request.action.lower() == "s3:putobject" else None
    if ref is None:
        return []
    key = resolve_key(sc, ref)
    if key is None:
        elsewhere = resolve_key(sc, ref, anywhere=True)
        if elsewhere is not None:
            # named by alias or key id: KMS looks in the caller's account, and it is not there
            detail = f"{ref} (resolved in the caller's account {sc.request.caller.account}; the key is in account {elsewhere.account}: name it by its full ARN)"
            return [Probe(Service.KMS, "kms:GenerateDataKey", ref, None, None, Reason.KMSKeyNotFound, detail)]
        return [Probe(Service.KMS, "kms:GenerateDataKey", ref, None, None, Reason.KMSKeyNotInScenario, ref)]
    refused = key_refusal(sc, key)
    if refused is not None:
        return [Probe(Service.KMS, "kms:GenerateDataKey", key.arn, None, key, refused)]
    return _key_probes(sc, key, request_alias(ref))


BUCKET_KEY_HEADER = "x-amz-server-side-encryption-bucket-key-enabled"


def uses_bucket_key(sc: Scenario) -> bool:
    """Whether this PUT encrypts with an S3 Bucket Key: its own header says so, whatever the bucket's
    default encryption says (S3 User Guide, "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys":
    the header enables or disables the Bucket Key per request). With one, the encryption context S3
    sends to KMS is the bucket ARN; without, the object ARN."""
    header = sc.request.headers.get(BUCKET_KEY_HEADER)
    if header is not None:
        return header.lower() == "true"
    enc = sc.bucket.encryption
    return enc is not None and enc.bucket_key_enabled


def request_alias(ref: str) -> str | None:
    """kms:RequestAlias: the alias the request names the key by (``alias/NAME``), if it does."""
    if ref == MANAGED_S3_ALIAS:
        return None  # S3 chose the key: the request names none
    if ref.startswith("alias/"):
        return ref
    if ref.startswith("arn:") and ":alias/" in ref:
        return "alias/" + ref.split(":alias/", 1)[1]
    return None


CONTEXT_HEADER = "x-amz-server-side-encryption-context"


def upload_encryption_context(sc: Scenario) -> dict[str, str]:
    """What S3 sends KMS as encryption context: aws:s3:arn (the bucket ARN with an S3 Bucket Key, the
    object ARN without), then the pairs the upload adds with x-amz-server-side-encryption-context."""
    bucket_arn = f"arn:aws:s3:::{sc.bucket.name}"
    context = {"aws:s3:arn": bucket_arn if uses_bucket_key(sc) else f"{bucket_arn}/{sc.request.key}"}
    added = sc.request.headers.get(CONTEXT_HEADER)
    if added:
        context |= json.loads(base64.b64decode(added))  # the loader checked it is an object of strings
    return context


def kms_keys(
    sc: Scenario, key: KmsKey, context: Mapping[str, str], alias: str | None
) -> dict[str, tuple[str, ...]]:
    """The keys of a KMS request S3 makes for an upload (access/request_context.py)."""
    keys: dict[str, tuple[str, ...]] = {
        "kms:viaservice": (f"s3.{sc.region}.amazonaws.com",),
        "kms:calleraccount": (sc.request.caller.account,),
        "kms:encryptionalgorithm": ("SYMMETRIC_DEFAULT",),
        "kms:encryptioncontextkeys": tuple(context),
        "kms:keyorigin": (key.origin,),
        "kms:keyspec": ("SYMMETRIC_DEFAULT",),
        "kms:keyusage": ("ENCRYPT_DECRYPT",),
        "kms:multiregion": ("true" if key.multi_region else "false",),
        "aws:viaawsservice": ("true",),
        **{f"aws:{k}": ("s3.amazonaws.com",) for k in ("calledvia", "calledviafirst", "calledvialast")},
    }
    keys |= {f"kms:encryptioncontext:{k}".lower(): (v,) for k, v in context.items()}
    keys |= {f"aws:resourcetag/{k}".lower(): (v,) for k, v in key.tags.items()}
    if key.multi_region_key_type is not None:
        keys["kms:multiregionkeytype"] = (key.multi_region_key_type,)
    # the key's aliases, however the request names it; the alias it was named by, if any (AWS KMS
    # condition keys kms:ResourceAliases and kms:RequestAlias: "ABAC for AWS KMS")
    if key.aliases:
        keys["kms:resourcealiases"] = tuple(key.aliases)
    if alias is not None:
        keys["kms:requestalias"] = (alias,)
    return keys


def _key_probes(sc: Scenario, key: KmsKey, alias: str | None = None) -> list[Probe]:
    """GenerateDataKey (and Decrypt for a multipart upload), S3 calling on the caller's behalf: the
    key policy must allow, KMS grants allow too, and the S3-only condition keys are not sent."""
    req = sc.request
    encryption_context = upload_encryption_context(sc)
    policy = key.policy
    if policy is None and key.manager is KeyManager.AWS:
        policy = managed_key_policy(key.account, key.region)
    operations = ["GenerateDataKey"] + (["Decrypt"] if req.multipart else [])
    # the same caller and organization for each of the key's requests (immutable: shared by both)
    identity, boundary, session = caller_side(sc)
    scps = chains(applies_org(sc, req.caller.account, req.caller), PolicyOrigin.SCP)
    rcp_chains = None if key.manager is KeyManager.AWS else applies_org(sc, key.account, req.caller)
    rcps = chains(rcp_chains, PolicyOrigin.RCP)
    probes = []
    for op in operations:
        action = f"kms:{op}"
        if policy is None:
            probes.append(Probe(Service.KMS, action, key.arn, None, key, Reason.KeyPolicyNotInScenario))
            continue
        keys = base_keys(sc, key.account) | kms_keys(sc, key, encryption_context, alias)
        overrides = {
            k: v for k, v in req.context.items() if k not in NOT_FORWARDED and not k.startswith("s3:")
        }
        keys = with_time(keys, overrides)
        ctx = RequestContext(action, key.arn, req.caller, keys)
        auth = Authorization(
            ctx=ctx,
            identity=identity,
            boundary=boundary,
            session=session,
            resource=ResourceSide(
                owner_account=key.account,
                policy=NamedPolicy(KEY_POLICY, policy),
                mandatory=True,
                extra_allows=tuple(grant_allows(key, req.caller, op, encryption_context)),
            ),
            scps=scps,
            rcps=rcps,
        )
        probes.append(Probe(Service.KMS, action, key.arn, auth, key, cover=key.arn))
    return probes


def findings(causes: Sequence[Cause], probe: Probe, decision: RequestDecision, sc: Scenario) -> list[Blame]:
    """Where a KMS request's refusal is reported, for the causes no generic layer's check takes: on
    KMSKeyUsable (NotAKeyUser when the key policy lets the caller in nowhere, NoIAMPermission when
    its identity side does not allow, ExplicitDeny), except an identity-policy Deny of the KMS call,
    which IdentityPolicyAllows reports."""
    return [_blame(cause) for cause in causes]


def _blame(cause: Cause) -> Blame:
    if cause.kind is CauseKind.ExplicitDeny:
        check = (
            ConditionType.IdentityPolicyAllows
            if cause.layer is Layer.Identity
            else ConditionType.KMSKeyUsable
        )
        return Blame(check, Reason.ExplicitDeny, cause.statements, cause)
    reason = Reason.NotAKeyUser if cause.layer is Layer.Resource else Reason.NoIAMPermission
    return Blame(ConditionType.KMSKeyUsable, reason, cause.statements, cause)


# A verdict that says the same whatever the scenario: made once (a Check is immutable).
_UPLOAD_NOT_SSE_KMS = Check(
    Status.NotApplicable, Reason.NoKMSEncryption, "the upload is not SSE-KMS encrypted"
)


def _key_usable(o: Outcome) -> Check:
    key_probes = [p for p in o.probes if p.service is Service.KMS]
    if not key_probes:
        enc = o.sc.bucket.encryption
        if enc is None and o.upload:
            return _UPLOAD_NOT_SSE_KMS
        text = (
            "the upload is not SSE-KMS encrypted" + (f" (bucket default {enc.algorithm})" if enc else "")
            if o.upload
            else f"the {o.noun} involves no KMS key"
        )
        return Check(Status.NotApplicable, Reason.NoKMSEncryption, text)
    refs = o.granted((PolicyOrigin.KeyPolicy, PolicyOrigin.KMSGrant, PolicyOrigin.Identity), Service.KMS)
    key = key_probes[0].resource
    return Check(Status.TRUE, Reason.KeyUsable, f"{o.who} may use KMS key {key} through S3", refs)


DEFAULT_CHECKS: Mapping[ConditionType, DefaultCheck] = {ConditionType.KMSKeyUsable: _key_usable}
