"""What the rules of every service share: the services, the refusals that are not AccessDenied,
and the condition keys every request of an upload carries."""

from __future__ import annotations

from enum import StrEnum

from ...policy import PrincipalKind
from ...policy.operators import parse_instant
from ..scenario import Scenario


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
    if sc.session is not None:
        # the session's tags (EKS Pod Identity's six) are principal tags of every request it signs
        for tag, value in sc.session.tags.items():
            keys[f"aws:principaltag/{tag.lower()}"] = (value,)
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
