"""The AWS policy evaluation logic for ONE request, returned as data.

Order, as the IAM documentation gives it: an explicit Deny in any policy wins; then every RCP
level and every SCP level must allow; then a VPC endpoint policy, when the request crosses one;
then resource-based and identity-based policies — within one account either suffices (a grant to
the exact session or user is not limited by a permissions boundary or session policy), across
accounts both must allow; a mandatory resource policy (a KMS key policy) must allow the caller or
delegate to its account. The account root user needs no identity policy, but where the resource side
says so (S3 with ACLs enabled, ``owner_root_needs_grant``) the owner's root user needs a resource-side
grant. The result names the layers that decided it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from .context import PrincipalKind, RequestContext
from .model import Policy
from .statements import Hit, PolicyAnalysis, PolicySource, Scope, StatementRef, analyze


class Decision(StrEnum):
    Allowed = "Allowed"
    ImplicitDeny = "ImplicitDeny"
    ExplicitDeny = "ExplicitDeny"
    Rejected = "Rejected"
    Unknown = "Unknown"


_SEVERITY = {
    Decision.Allowed: 0,
    Decision.Unknown: 1,
    Decision.ImplicitDeny: 2,
    Decision.Rejected: 3,
    Decision.ExplicitDeny: 4,
}


def worst(decisions: Iterable[Decision]) -> Decision:
    """ExplicitDeny > Rejected > ImplicitDeny > Unknown > Allowed."""
    return max(decisions, key=_SEVERITY.__getitem__, default=Decision.Allowed)


class Layer(StrEnum):
    Identity = "identity"
    Boundary = "boundary"
    Session = "session"
    Resource = "resource"
    SCP = "scp"
    RCP = "rcp"
    Endpoint = "endpoint"


class CauseKind(StrEnum):
    ExplicitDeny = "ExplicitDeny"
    NoAllow = "NoAllow"
    Voided = "Voided"  # an Allow existed but a guardrail (Block Public Access) voided it


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    source: PolicySource
    policy: Policy


@dataclass(frozen=True, slots=True)
class ExternalAllow:
    """A resource-side allow that is not a policy statement: an ACL grant, a KMS grant."""

    ref: StatementRef
    scope: Scope


@dataclass(frozen=True, slots=True)
class ResourceSide:
    owner_account: str
    policy: NamedPolicy | None = None
    mandatory: bool = False  # KMS: the key policy must allow the caller or delegate to its account
    extra_allows: tuple[ExternalAllow, ...] = ()
    voided: frozenset[int] = frozenset()  # statement indices whose Allow a guardrail ignores
    # S3 with ACLs enabled: the resource owner's root user is authorized in the bucket context,
    # by the bucket policy or ACL alone ("How Amazon S3 authorizes a request for a bucket operation").
    owner_root_needs_grant: bool = False


@dataclass(frozen=True, slots=True)
class Authorization:
    ctx: RequestContext
    identity: tuple[NamedPolicy, ...] = ()
    boundary: NamedPolicy | None = None
    session: tuple[NamedPolicy, ...] = ()
    resource: ResourceSide | None = None
    scps: tuple[tuple[NamedPolicy, ...], ...] | None = None  # None: no Organizations for the caller
    rcps: tuple[tuple[NamedPolicy, ...], ...] | None = None
    endpoint: NamedPolicy | None = None


@dataclass(frozen=True, slots=True)
class Cause:
    layer: Layer
    kind: CauseKind
    statements: tuple[StatementRef, ...] = ()
    level: int | None = None  # for SCP / RCP: which level, 0 = root
    sources: tuple[PolicySource, ...] = ()  # the policies consulted at that layer / level


@dataclass(frozen=True, slots=True)
class RequestDecision:
    decision: Decision
    causes: tuple[Cause, ...]
    analyses: dict[Layer, tuple[PolicyAnalysis, ...]] = field(default_factory=dict)
    allowed_by: tuple[StatementRef, ...] = ()
    denying_hits: tuple[Hit, ...] = ()

    def causes_at(self, layer: Layer) -> tuple[Cause, ...]:
        return tuple(c for c in self.causes if c.layer is layer)


def _allows(analyses: Iterable[PolicyAnalysis]) -> list[Hit]:
    return [h for a in analyses for h in a.allows]


def evaluate(req: Authorization) -> RequestDecision:
    ctx = req.ctx
    caller = ctx.caller

    def run(policies: Iterable[NamedPolicy]) -> tuple[PolicyAnalysis, ...]:
        return tuple(analyze(p.policy, p.source, ctx) for p in policies)

    identity = run(req.identity)
    boundary = (analyze(req.boundary.policy, req.boundary.source, ctx),) if req.boundary else ()
    session = run(req.session) if req.session else ()
    policy = req.resource.policy if req.resource else None
    resource = (analyze(policy.policy, policy.source, ctx),) if policy else ()
    endpoint = (analyze(req.endpoint.policy, req.endpoint.source, ctx),) if req.endpoint else ()
    scp_levels = [run(level) for level in req.scps] if req.scps else []
    rcp_levels = [run(level) for level in req.rcps] if req.rcps else []
    analyses: dict[Layer, tuple[PolicyAnalysis, ...]] = {
        Layer.Identity: identity,
        Layer.Boundary: boundary,
        Layer.Session: session,
        Layer.Resource: resource,
        Layer.Endpoint: endpoint,
        Layer.SCP: tuple(a for level in scp_levels for a in level) if scp_levels else (),
        Layer.RCP: tuple(a for level in rcp_levels for a in level) if rcp_levels else (),
    }

    denying: list[Hit] = []
    causes: list[Cause] = []
    for layer, group in analyses.items():
        if not group:
            continue
        hits = [h for a in group for h in a.denies]
        if hits:
            denying += hits
            causes.append(Cause(layer, CauseKind.ExplicitDeny, tuple(h.ref for h in hits)))
    explicit = bool(causes)  # keep going: the missing Allows are worth reporting beside the Deny

    granted: list[StatementRef] = []
    for layer, levels in ((Layer.RCP, rcp_levels), (Layer.SCP, scp_levels)):
        for i, level in enumerate(levels):
            hits = _allows(level)
            if hits:
                granted.append(hits[0].ref)
            else:
                causes.append(
                    Cause(layer, CauseKind.NoAllow, level=i, sources=tuple(a.source for a in level))
                )
    if req.endpoint is not None:
        hits = _allows(endpoint)
        if hits:
            granted.append(hits[0].ref)
        else:
            causes.append(Cause(Layer.Endpoint, CauseKind.NoAllow, sources=(req.endpoint.source,)))

    side = req.resource
    voided = side.voided if side else frozenset()
    resource_hits = [h for h in _allows(resource) if h.statement.index not in voided]
    voided_hits = [h for h in _allows(resource) if h.statement.index in voided]
    resource_grants = [(h.ref, h.scope) for h in resource_hits]
    resource_grants += [(x.ref, x.scope) for x in (side.extra_allows if side else ())]
    best = max((s for _, s in resource_grants), default=None)
    root = caller.kind is PrincipalKind.Account
    identity_hits = _allows(identity)
    # a service or a web identity has no identity policies: the resource policy alone decides
    outside_iam = caller.kind in (PrincipalKind.Service, PrincipalKind.Federated)
    identity_ok = root or outside_iam or bool(identity_hits)
    same_account = side is None or side.owner_account == caller.account
    mandatory = side is not None and side.mandatory
    root_bound = root and same_account and side is not None and side.owner_root_needs_grant

    resource_causes: list[Cause] = []
    needs_limits = True  # boundary and session policies limit everything but a direct grant
    if same_account:
        if root_bound:
            if best is None:
                resource_causes.append(Cause(Layer.Resource, CauseKind.NoAllow, sources=_sources(resource)))
        elif best is Scope.Principal:
            needs_limits = False
        elif best in (Scope.Role, Scope.Anyone) or (identity_ok and (not mandatory or best is Scope.Account)):
            pass
        elif mandatory and best is None:
            resource_causes.append(Cause(Layer.Resource, CauseKind.NoAllow, sources=_sources(resource)))
        else:
            resource_causes.append(Cause(Layer.Identity, CauseKind.NoAllow, sources=_sources(identity)))
    else:
        if best is None:
            resource_causes.append(Cause(Layer.Resource, CauseKind.NoAllow, sources=_sources(resource)))
        if not identity_ok:
            resource_causes.append(Cause(Layer.Identity, CauseKind.NoAllow, sources=_sources(identity)))
    # A voided Allow is a cause only where the resource side lacks the grant it would have given.
    lacking = any(c.layer is Layer.Resource for c in resource_causes) or (
        same_account and any(c.layer is Layer.Identity for c in resource_causes)
    )
    if lacking and voided_hits:
        resource_causes.append(Cause(Layer.Resource, CauseKind.Voided, tuple(h.ref for h in voided_hits)))
    causes += resource_causes
    if not resource_causes:
        granted += [ref for ref, scope in resource_grants if scope == best][:1] if best else []
        if best is None or best is Scope.Account or not same_account:
            granted += [h.ref for h in identity_hits[:1]]

    if needs_limits and not root:
        if req.boundary is not None:
            hits = _allows(boundary)
            if hits:
                granted.append(hits[0].ref)
            else:
                causes.append(Cause(Layer.Boundary, CauseKind.NoAllow, sources=(req.boundary.source,)))
        if req.session:
            hits = _allows(session)
            if hits:
                granted.append(hits[0].ref)
            else:
                causes.append(
                    Cause(Layer.Session, CauseKind.NoAllow, sources=tuple(p.source for p in req.session))
                )

    if explicit:
        return RequestDecision(Decision.ExplicitDeny, tuple(causes), analyses, (), tuple(denying))
    decision = Decision.ImplicitDeny if causes else Decision.Allowed
    return RequestDecision(decision, tuple(causes), analyses, tuple(granted))


def _sources(analyses: tuple[PolicyAnalysis, ...]) -> tuple[PolicySource, ...]:
    return tuple(a.source for a in analyses)
