"""What the rules of every service share: the services, the refusals that are not AccessDenied,
one request of an upload (a probe), what every request carries (the condition keys, the caller's
own policies and the organization's), and what the requests came to (:class:`Outcome`), which the
verdict of each check no request failed reads."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from ...policy import (
    Authorization,
    Caller,
    Cause,
    CauseKind,
    Layer,
    NamedPolicy,
    PolicyOrigin,
    PolicySource,
    PrincipalKind,
    RequestDecision,
    StatementRef,
)
from ...policy.arn import Arn
from ...policy.operators import parse_instant
from ...policy.records import fast_init
from ...vocabulary import IdentitySource, Reason
from ..checks import Check
from ..scenario import KmsKey, NamedDocument, OrgChains, Scenario


class Service(StrEnum):
    S3 = "s3"
    KMS = "kms"


# Why AWS refuses an upload with something other than a policy decision (or why the scenario
# cannot say): the reasons a refused request reports as they are, a subset of Reason.
UploadRefusal = Literal[
    Reason.ACLNotSupported,
    Reason.PublicACLBlocked,
    Reason.KeyIdWithoutKMSHeader,
    Reason.KMSKeyDisabled,
    Reason.KMSKeyPendingDeletion,
    Reason.KMSKeyWrongRegion,
    Reason.KMSKeyNotInScenario,
    Reason.KMSKeyNotFound,
    Reason.RoleNotFound,
    Reason.BucketNotFound,
    Reason.KeyPolicyNotInScenario,
]


@fast_init
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


@fast_init
@dataclass(frozen=True, slots=True)
class Outcome:
    """What an upload's requests came to: what the verdict of a check no request failed reads."""

    sc: Scenario
    probes: tuple[Probe, ...]  # every request planned, refused ones included
    decisions: tuple[tuple[Probe, RequestDecision], ...]  # those evaluated, with their decision
    noun: str  # "upload", or "s3:ListBucket request": only an upload is called an upload
    who: str  # the caller's role (or user) ARN

    @property
    def upload(self) -> bool:
        return self.noun == "upload"

    def allowing(self, layer: Layer, service: Service) -> tuple[StatementRef, ...]:
        """Allow statements of one layer that matched, whatever else decided the request."""
        refs: dict[StatementRef, None] = {}
        for p, d in self.decisions:
            if p.service is service:
                for a in d.analyses.get(layer, ()):
                    for h in a.allows:
                        refs[h.ref] = None
        return tuple(refs)

    def granted(
        self, origins: Collection[PolicyOrigin], service: Service | None = None
    ) -> tuple[StatementRef, ...]:
        """The statements of policies of these ``origins`` that allowed a request."""
        refs = [
            r
            for p, d in self.decisions
            if service is None or p.service is service
            for r in d.allowed_by
            if r.origin in origins
        ]
        return tuple(dict.fromkeys(refs))


# The verdict of one check that no request failed: True or NotApplicable, with why.
DefaultCheck = Callable[[Outcome], Check]


def cause_reason(cause: Cause) -> Reason:
    """The reason a cause gives on any layer's check, unless the service says better."""
    return Reason.ExplicitDeny if cause.kind is CauseKind.ExplicitDeny else Reason.NoAllowStatement


def base_keys(sc: Scenario, resource_account: str) -> dict[str, tuple[str, ...]]:
    """The keys every request of an upload carries, S3's and KMS's (access/request_context.py)."""
    caller = sc.request.caller
    keys: dict[str, tuple[str, ...]] = {
        "aws:principalarn": (caller.role_arn or caller.arn,),
        "aws:principalaccount": (caller.account,),
        "aws:principaltype": (str(caller.kind),),
        "aws:principalisawsservice": ("false",),
        "aws:requestedregion": (sc.region,),
        "aws:securetransport": ("true",),
        "aws:resourceaccount": (resource_account,),
        "aws:viaawsmcpservice": ("false",),
    }
    keys |= caller_keys(sc)
    # the role's tags, then the session's (EKS Pod Identity's six), which win: principal tags of every
    # request the session signs
    tags = sc.identity.tags | sc.session.tags if sc.session is not None else sc.identity.tags
    for tag, value in tags.items():
        keys[f"aws:principaltag/{tag.lower()}"] = (value,)
    if sc.organization is not None:
        keys |= org_keys(sc, resource_account)
    return keys


def caller_keys(sc: Scenario) -> dict[str, tuple[str, ...]]:
    """The keys of who signs: aws:userid, aws:username, and a role session's MFA and issue time."""
    caller = sc.request.caller
    keys: dict[str, tuple[str, ...]] = {}
    unique = sc.identity.unique_id
    if caller.kind is PrincipalKind.Account:
        keys["aws:userid"] = (caller.account,)
    elif caller.kind is PrincipalKind.User:
        keys["aws:username"] = (caller.arn.rsplit("/", 1)[-1],)
        if unique is not None:
            keys["aws:userid"] = (unique,)
    else:
        # a role session: temporary credentials issued without MFA; its name is the session ARN's
        # last part, or a stand-in when only the role is known (a pattern ROLEID:* still matches)
        if unique is not None:
            session = caller.arn.rsplit("/", 1)[-1] if caller.arn.startswith("arn:aws:sts::") else "session"
            keys["aws:userid"] = (f"{unique}:{session}",)
        keys["aws:multifactorauthpresent"] = ("false",)
        current = sc.request.context.get("aws:currenttime")
        if current:
            keys["aws:tokenissuetime"] = current
        provider = federated_provider(sc)
        if provider is not None:
            keys["aws:federatedprovider"] = (provider,)
    return keys


def federated_provider(sc: Scenario) -> str | None:
    """IRSA's session is federated through the IAM OIDC provider of the cluster's issuer."""
    s = sc.session
    if s is None or s.source is not IdentitySource.IRSA or not s.oidc_issuer:
        return None
    issuer = s.oidc_issuer.removeprefix("https://")
    return f"arn:aws:iam::{Arn.parse(s.role_arn).account}:oidc-provider/{issuer}"


def org_keys(sc: Scenario, resource_account: str) -> dict[str, tuple[str, ...]]:
    return membership_keys(sc, "principal", sc.request.caller.account) | membership_keys(
        sc, "resource", resource_account
    )


def membership_keys(sc: Scenario, side: str, account: str) -> dict[str, tuple[str, ...]]:
    """aws:{side}OrgID and aws:{side}OrgPaths of ``account``, when it is a member."""
    org = sc.organization
    if org is None or not org.member(account, sc.identity.account):
        return {}
    keys: dict[str, tuple[str, ...]] = {f"aws:{side}orgid": (org.id,)}
    if account in org.paths:
        keys[f"aws:{side}orgpaths"] = (org.paths[account],)
    return keys


def with_time(
    keys: dict[str, tuple[str, ...]], overrides: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """``keys`` (a dict of the caller's own, updated in place) with the stated ``overrides``, and
    aws:EpochTime from aws:CurrentTime when only that is given."""
    keys.update(overrides)
    current = keys.get("aws:currenttime")
    if current and "aws:epochtime" not in keys:
        instant = parse_instant(current[0])
        if instant is not None:
            keys["aws:epochtime"] = (str(int(instant.timestamp())),)
    return keys


def named(
    origin: PolicyOrigin, docs: tuple[NamedDocument, ...], level: int | None = None
) -> tuple[NamedPolicy, ...]:
    return tuple([NamedPolicy(PolicySource(origin, d.name, level), d.policy) for d in docs])


def caller_side(
    sc: Scenario,
) -> tuple[tuple[NamedPolicy, ...], NamedPolicy | None, tuple[NamedPolicy, ...]]:
    """The caller's identity policies, permissions boundary and session policies (Authorization's
    fields of those names, in its order): the same for every request of one upload, S3 or KMS."""
    boundary = sc.identity.boundary
    return (
        named(PolicyOrigin.Identity, sc.identity.policies),
        named(PolicyOrigin.Boundary, (boundary,))[0] if boundary else None,
        named(PolicyOrigin.Session, sc.identity.session_policies) if sc.identity.session_policies else (),
    )


def chains(org: OrgChains | None, origin: PolicyOrigin) -> tuple[tuple[NamedPolicy, ...], ...] | None:
    """The SCP (or RCP) levels of an organization, root first; None when there are none."""
    if org is None:
        return None
    levels = org.scps if origin is PolicyOrigin.SCP else org.rcps
    if not levels:
        return None
    return tuple(named(origin, level, i) for i, level in enumerate(levels))


def applies_org(sc: Scenario, account: str, caller: Caller) -> OrgChains | None:
    if sc.organization is None or caller.service_linked:
        return None
    return sc.organization.chains(account, sc.identity.account)
