"""KMS's rules: which key an upload's reference names, the policy of the AWS managed key, KMS
grants as allows, and the states of a key S3 refuses before any policy is read."""

from __future__ import annotations

from ...policy import Caller, ExternalAllow, PolicyKind, Scope, StatementRef, parse_policy
from ...policy.model import Effect, Policy
from ..scenario import KeyManager, KeyState, KmsKey, Scenario
from .common import UploadRefusal

MANAGED_S3_ALIAS = "alias/aws/s3"
# Condition keys a request made by S3 on the caller's behalf (forward access session) does not carry.
NOT_FORWARDED = ("aws:sourceip", "aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip")


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
