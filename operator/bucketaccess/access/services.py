"""S3 and KMS service rules, apart from the generic evaluation in :mod:`..policy`: the condition
keys S3 and KMS add, which key encrypts the object, ACL grants as resource-side allows, Block
Public Access's test of "public", the key policy of an AWS managed key, and the refusals that are
not AccessDenied.
"""

from __future__ import annotations

from enum import StrEnum

from ..policy import Caller, ExternalAllow, PolicyKind, PrincipalKind, Scope, StatementRef, parse_policy
from ..policy.model import Effect, Policy, Statement
from ..policy.operators import parse_instant
from .scenario import KeyManager, KeyState, KmsKey, Ownership, Scenario

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
MANAGED_S3_ALIAS = "alias/aws/s3"
ACL_WRITE_ACTIONS = ("s3:putobject", "s3:putobjectacl")
# Condition keys a request made by S3 on the caller's behalf (forward access session) does not carry.
NOT_FORWARDED = ("aws:sourceip", "aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip")


class Service(StrEnum):
    S3 = "s3"
    KMS = "kms"


class UploadRefusal(StrEnum):
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


def with_time(
    keys: dict[str, tuple[str, ...]], overrides: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    merged = {**keys, **overrides}
    current = merged.get("aws:currenttime")
    if current and "aws:epochtime" not in merged:
        instant = parse_instant(current[0])
        if instant is not None:
            merged["aws:epochtime"] = (str(int(instant.timestamp())),)
    return merged


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


def acl_allows(sc: Scenario, action: str) -> tuple[list[ExternalAllow], list[StatementRef]]:
    """Bucket ACL grants that let the caller write, and public ones that IgnorePublicAcls voids."""
    bucket = sc.bucket
    if bucket.ownership is Ownership.BucketOwnerEnforced or bucket.acl is None:
        return [], []
    if action.lower() not in ACL_WRITE_ACTIONS:
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


def acl_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k == "x-amz-acl" or k.startswith("x-amz-grant-")}


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
        out.append(ExternalAllow(StatementRef("kms-grant", f"grant[{i}]", Effect.Allow), Scope.Role))
    return out


def key_refusal(sc: Scenario, key: KmsKey) -> UploadRefusal | None:
    if key.state is KeyState.NotFound:
        return UploadRefusal.KMSKeyNotFound
    if key.state is KeyState.Disabled:
        return UploadRefusal.KMSKeyDisabled
    if key.state is KeyState.PendingDeletion:
        return UploadRefusal.KMSKeyPendingDeletion
    if key.region != sc.region:
        return UploadRefusal.KMSKeyWrongRegion
    return None
