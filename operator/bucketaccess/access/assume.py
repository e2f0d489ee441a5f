"""RoleAssumable: can the workload obtain its role at all?

Before any S3 or KMS rule matters, the pod's SDK must turn its Kubernetes identity into a role
session, and a role trusts only whom its trust policy names:

- EKS Pod Identity: the EKS Auth service (``pods.eks.amazonaws.com``) calls ``sts:AssumeRole`` and,
  with session tags, ``sts:TagSession`` on the association's role; the tags are request tags
  (``aws:RequestTag/kubernetes-namespace``, ...) that trust conditions may test (EKS "Create IAM
  role with trust policy required by EKS Pod Identity", "Enable or disable session tags"). With a
  target role, that session then calls ``sts:AssumeRole`` (and ``sts:TagSession``) on the target,
  carrying the association's ``externalId`` as ``sts:ExternalId`` (EKS "Access AWS resources in
  other accounts with a target role"); the first role needs an identity policy that allows it,
  and the target's trust policy must name the first role or its account.
- IRSA: the pod calls ``sts:AssumeRoleWithWebIdentity`` with its projected token; the federated
  principal is the cluster's IAM OIDC provider, and the token's ``sub`` is
  ``system:serviceaccount:NAMESPACE:NAME`` and its ``aud`` ``sts.amazonaws.com``, the condition
  keys ``ISSUER:sub`` and ``ISSUER:aud`` (EKS "Assign IAM roles to Kubernetes service accounts",
  IAM "Available keys for AWS web identity federation"). Without an IAM OIDC provider for the
  issuer in the role's account no token is accepted at all, and one whose ``aud`` is not among
  that provider's client IDs is refused too (IAM "Create an OpenID Connect (OIDC) identity
  provider in IAM").

Each hop is one request to the project's own policy engine, with the trust policy as the
resource policy that must grant the caller (like a KMS key policy).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from ..policy import (
    Arn,
    Authorization,
    Caller,
    CauseKind,
    ConditionClause,
    Decision,
    Layer,
    NamedPolicy,
    PolicyOrigin,
    PolicySource,
    PrincipalKind,
    RequestContext,
    RequestDecision,
    ResourceSide,
    StatementRef,
    evaluate,
)
from ..policy.records import fast_init
from ..vocabulary import IdentitySource, Reason
from .checks import Check, RequestResult, Status
from .scenario import Scenario, Session
from .services.common import named

POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
ASSUME, TAG, WEB = "sts:AssumeRole", "sts:TagSession", "sts:AssumeRoleWithWebIdentity"


@fast_init
@dataclass(frozen=True, slots=True)
class Hop:
    """One request of the credential chain: who asks, for what, on which role."""

    who: str  # in words, for messages
    caller: Caller
    role: str
    trust: NamedPolicy
    actions: tuple[str, ...]
    keys: dict[str, tuple[str, ...]]
    identity: tuple[NamedPolicy, ...] = ()  # the caller's own policies (a role session hop only)


def issuer_host(issuer: str) -> str:
    """The issuer as IAM writes it in provider ARNs and condition keys: no scheme, no trailing slash."""
    return issuer.removeprefix("https://").rstrip("/")


def _request_tags(tags: dict[str, str]) -> dict[str, tuple[str, ...]]:
    keys: dict[str, tuple[str, ...]] = {f"aws:requesttag/{k.lower()}": (v,) for k, v in tags.items()}
    if tags:
        keys["aws:tagkeys"] = tuple(tags)
    return keys


def hops(sc: Scenario, s: Session) -> list[Hop]:
    role_account = Arn.parse(s.role_arn).account
    trust = NamedPolicy(PolicySource(PolicyOrigin.Trust, s.role_arn), s.trust_policy)
    if s.source is IdentitySource.IRSA:
        assert s.oidc_issuer is not None  # the loader requires it for IRSA
        host = issuer_host(s.oidc_issuer)
        provider = f"arn:aws:iam::{role_account}:oidc-provider/{host}"
        keys: dict[str, tuple[str, ...]] = {
            f"{host}:sub": (f"system:serviceaccount:{s.namespace}:{s.service_account}",),
            f"{host}:aud": (s.audience,),
        }
        who = f"the web identity of ServiceAccount {s.namespace}/{s.service_account} ({provider})"
        caller = Caller(provider, role_account, PrincipalKind.Federated)
        return [Hop(who, caller, s.role_arn, trust, (WEB,), {k.lower(): v for k, v in keys.items()})]
    tag_keys = _request_tags(s.tags)
    actions = (ASSUME, TAG) if s.tags else (ASSUME,)
    base: dict[str, tuple[str, ...]] = {"aws:sourceaccount": (role_account,)}
    if s.cluster_arn:
        base["aws:sourcearn"] = (s.cluster_arn,)
        base["aws:sourceaccount"] = (Arn.parse(s.cluster_arn).account,)
    service = Caller(POD_IDENTITY_SERVICE, role_account, PrincipalKind.Service)
    out = [
        Hop(
            f"EKS Pod Identity ({POD_IDENTITY_SERVICE})", service, s.role_arn, trust, actions, base | tag_keys
        )
    ]
    if s.target is not None:
        name = s.role_arn.rsplit("/", 1)[-1]
        session = f"arn:aws:sts::{role_account}:assumed-role/{name}/eks-pod-identity"
        first = Caller(session, role_account, PrincipalKind.AssumedRole, s.role_arn, session)
        chained: dict[str, tuple[str, ...]] = dict(tag_keys)
        if s.target.external_id is not None:
            chained["sts:externalid"] = (s.target.external_id,)
        identity = named(PolicyOrigin.Identity, s.role_policies)
        target_trust = NamedPolicy(PolicySource(PolicyOrigin.Trust, s.target.arn), s.target.trust_policy)
        out.append(
            Hop(
                f"the association's role {s.role_arn}",
                first,
                s.target.arn,
                target_trust,
                actions,
                chained,
                identity,
            )
        )
    return out


def _authorization(hop: Hop, action: str, sc: Scenario) -> Authorization:
    keys = {
        "aws:principalarn": (hop.caller.role_arn or hop.caller.arn,),
        "aws:principaltype": (str(hop.caller.kind),),
        "aws:requestedregion": (sc.region,),
        "aws:securetransport": ("true",),
        "aws:resourceaccount": (Arn.parse(hop.role).account,),
        **hop.keys,
    }
    if hop.caller.kind is PrincipalKind.AssumedRole:
        keys["aws:principalaccount"] = (hop.caller.account,)
    ctx = RequestContext(action, hop.role, hop.caller, keys)
    side = ResourceSide(Arn.parse(hop.role).account, hop.trust, mandatory=True)
    return Authorization(ctx, identity=hop.identity, resource=side)


_NOT_EVALUATED = Check(
    Status.TRUE,
    Reason.NotEvaluated,
    "the role is given directly: how the workload obtains it (Pod Identity, IRSA) is not evaluated",
)


def role_assumable(sc: Scenario) -> tuple[Check, tuple[RequestResult, ...]]:
    s = sc.session
    if s is None:
        return _NOT_EVALUATED, ()
    results: list[RequestResult] = []
    granted: list[StatementRef] = []
    failure: Check | None = None
    if s.source is IdentitySource.IRSA and not s.oidc_provider_exists:
        assert s.oidc_issuer is not None
        account = Arn.parse(s.role_arn).account
        results.append(RequestResult(WEB, s.role_arn, Decision.ImplicitDeny))
        return Check(
            Status.FALSE,
            Reason.OIDCProviderMissing,
            f"account {account} has no IAM OIDC provider for {issuer_host(s.oidc_issuer)}: STS refuses every "
            "token of the cluster, so the pod gets no credentials; create the provider "
            "(eksctl utils associate-iam-oidc-provider, or iam:CreateOpenIDConnectProvider)",
        ), tuple(results)
    refused = _audience_refused(s)
    if refused is not None:
        results.append(RequestResult(WEB, s.role_arn, Decision.ImplicitDeny))
        return refused, tuple(results)
    chain = hops(sc, s)
    for hop in chain:
        for action in hop.actions:
            decision = evaluate(_authorization(hop, action, sc))
            results.append(RequestResult(action, hop.role, decision.decision))
            if decision.decision is Decision.Allowed:
                granted += [r for r in decision.allowed_by if r.origin is PolicyOrigin.Trust][:1]
            elif failure is None:
                failure = _refusal(hop, action, decision)
    unconfirmed = ""
    if s.source is IdentitySource.IRSA and not s.oidc_issuer_confirmed:
        unconfirmed = (
            f" (the cluster's OIDC issuer is not configured, so this is evaluated for the issuer the trust policy "
            f"names, {s.oidc_issuer}; start the operator with --cluster-name or --oidc-issuer to confirm it)"
        )
    if failure is not None:
        return replace(failure, message=failure.message + unconfirmed), tuple(results)
    if unconfirmed:
        return Check(
            Status.TRUE,
            Reason.IssuerNotConfirmed,
            f"the trust policy of {s.role_arn} lets ServiceAccount {s.namespace}/{s.service_account} assume it"
            + unconfirmed,
            tuple(dict.fromkeys(granted)),
        ), tuple(results)
    words = "; ".join(f"{_where(r)} statement {r.sid} allows it" for r in dict.fromkeys(granted))
    path = " then ".join(f"{h.who} -> {h.role}" for h in chain)
    return Check(
        Status.TRUE,
        Reason.AllowedByStatement,
        f"{s.source} can obtain the role: {path} ({words})",
        tuple(dict.fromkeys(granted)),
    ), tuple(results)


def _audience_refused(s: Session) -> Check | None:
    """IRSA: STS accepts a token only when its ``aud`` is one of the provider's client IDs
    (IAM "Create an OpenID Connect (OIDC) identity provider in IAM": the audience is the client ID;
    STS answers InvalidIdentityToken "Incorrect token audience" otherwise)."""
    if s.source is not IdentitySource.IRSA or s.oidc_client_ids is None or s.audience in s.oidc_client_ids:
        return None
    assert s.oidc_issuer is not None
    return Check(
        Status.FALSE,
        Reason.OIDCAudienceNotAllowed,
        f"the token's audience {json.dumps(s.audience)} is not among the client IDs of the IAM OIDC provider for "
        f"{issuer_host(s.oidc_issuer)} ({json.dumps(list(s.oidc_client_ids))}): STS refuses the token "
        f"(Incorrect token audience); add it (iam:AddClientIDToOpenIDConnectProvider) or project the token for "
        "one of them",
    )


def _where(ref: StatementRef) -> str:
    return f"the trust policy of {ref.source.name}" if ref.origin is PolicyOrigin.Trust else str(ref.source)


def _clause(c: ConditionClause) -> str:
    values = c.values[0] if len(c.values) == 1 else list(c.values)
    return f"{c.written} {{{c.key}: {json.dumps(values)}}}"


def _refusal(hop: Hop, action: str, decision: RequestDecision) -> Check:
    refs = tuple(r for c in decision.causes for r in c.statements)
    denies = [c for c in decision.causes if c.kind is CauseKind.ExplicitDeny]
    if denies:
        ref = denies[0].statements[0]
        return Check(
            Status.FALSE,
            Reason.RoleTrustDenies,
            f"{_where(ref)} statement {ref.sid} denies {action} to {hop.who}; only the role's owner can narrow it",
            refs,
        )
    if any(c.layer is Layer.Identity for c in decision.causes) and not any(
        c.layer is Layer.Resource for c in decision.causes
    ):
        grant = {"Effect": "Allow", "Action": list(hop.actions), "Resource": hop.role}
        return Check(
            Status.FALSE,
            Reason.NoAllowInIdentityPolicy,
            f"no identity policy of {hop.caller.role_arn} allows {action} on {hop.role}; attach "
            f"{json.dumps(grant, separators=(',', ':'))} to it",
        )
    misses = [
        m for a in decision.analyses.get(Layer.Resource, ()) for m in a.near_misses if m.ref.effect == "Allow"
    ]
    if misses:
        m = misses[0]
        unmet = []
        for c in m.failing:
            have = hop.keys.get(c.key.lower())
            got = (
                f"the request has {json.dumps(have[0] if len(have) == 1 else list(have))}"
                if have
                else "the request has no such key"
            )
            unmet.append(f"{_clause(c)} ({got})")
        return Check(
            Status.FALSE,
            Reason.TrustConditionNotMet,
            f"{_where(m.ref)} statement {m.ref.sid} would let {hop.who} call {action} but its condition "
            f"{'; '.join(unmet)} is not met; change the condition to what the request carries, or the workload to what it names",
            (m.ref,),
        )
    principal = _principal_element(hop)
    statement: dict[str, object] = {"Effect": "Allow", "Principal": principal, "Action": list(hop.actions)}
    return Check(
        Status.FALSE,
        Reason.RoleNotTrusted,
        f"the trust policy of {hop.role} does not let {hop.who} call {action}; add "
        f"{json.dumps(statement, separators=(',', ':'))} (with conditions that name this workload)",
        refs,
    )


def _principal_element(hop: Hop) -> dict[str, str]:
    if hop.caller.kind is PrincipalKind.Service:
        return {"Service": hop.caller.arn}
    if hop.caller.kind is PrincipalKind.Federated:
        return {"Federated": hop.caller.arn}
    return {"AWS": hop.caller.role_arn or hop.caller.arn}
