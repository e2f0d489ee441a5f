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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .context import PrincipalKind, RequestContext
from .model import Policy
from .records import fast_init
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


@fast_init
@dataclass(frozen=True, slots=True)
class NamedPolicy:
    source: PolicySource
    policy: Policy


@fast_init
@dataclass(frozen=True, slots=True)
class ExternalAllow:
    """A resource-side allow that is not a policy statement: an ACL grant, a KMS grant."""

    ref: StatementRef
    scope: Scope


@fast_init
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


@fast_init
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


@fast_init
@dataclass(frozen=True, slots=True)
class Cause:
    layer: Layer
    kind: CauseKind
    statements: tuple[StatementRef, ...] = ()
    level: int | None = None  # for SCP / RCP: which level, 0 = root
    sources: tuple[PolicySource, ...] = ()  # the policies consulted at that layer / level


@fast_init
@dataclass(frozen=True, slots=True)
class RequestDecision:
    decision: Decision
    causes: tuple[Cause, ...]
    # the layers that had policies to analyze; a layer without any is absent
    analyses: dict[Layer, tuple[PolicyAnalysis, ...]] = field(default_factory=dict)
    allowed_by: tuple[StatementRef, ...] = ()
    denying_hits: tuple[Hit, ...] = ()

    def causes_at(self, layer: Layer) -> tuple[Cause, ...]:
        return tuple(c for c in self.causes if c.layer is layer)


# The members evaluate reads for every request, bound once: in Python 3.11 reading `Enum.Member` goes
# through EnumType.__getattr__'s attribute hook, about four times the cost of a module global.
_IDENTITY, _BOUNDARY, _SESSION, _RESOURCE = Layer.Identity, Layer.Boundary, Layer.Session, Layer.Resource
_ENDPOINT, _SCP, _RCP = Layer.Endpoint, Layer.SCP, Layer.RCP
_DENIED, _NO_ALLOW, _VOIDED = CauseKind.ExplicitDeny, CauseKind.NoAllow, CauseKind.Voided
_EXPLICIT_DENY, _IMPLICIT_DENY, _ALLOWED = Decision.ExplicitDeny, Decision.ImplicitDeny, Decision.Allowed
_ROOT = PrincipalKind.Account
_ACCOUNT, _PRINCIPAL = Scope.Account, Scope.Principal


def _allows(analyses: Sequence[PolicyAnalysis]) -> Sequence[Hit]:
    # most layers hold one policy: its hits as they are (Python 3.11 runs a comprehension as a call)
    return analyses[0].allows if len(analyses) == 1 else [h for a in analyses for h in a.allows]


def evaluate(req: Authorization) -> RequestDecision:
    """The decision on one request, with every cause: the explicit Denies first, then each layer
    that must allow and does not, in the order the IAM documentation checks them."""
    analyses, rcp_levels, scp_levels = _analyze(req)
    denying, causes = _explicit_denies(analyses)
    granted: list[StatementRef] = []
    # keep going after a Deny: the missing Allows are worth reporting beside it
    for i, level in enumerate(rcp_levels):
        _must_allow(_RCP, level, granted, causes, level=i)
    for i, level in enumerate(scp_levels):
        _must_allow(_SCP, level, granted, causes, level=i)
    if req.endpoint is not None:
        _must_allow(_ENDPOINT, analyses[_ENDPOINT], granted, causes)
    needs_limits = _resource_and_identity(req, analyses, granted, causes)
    if needs_limits and req.ctx.caller.kind is not _ROOT:
        if req.boundary is not None:
            _must_allow(_BOUNDARY, analyses[_BOUNDARY], granted, causes)
        if req.session:
            _must_allow(_SESSION, analyses[_SESSION], granted, causes)
    if denying:
        return RequestDecision(_EXPLICIT_DENY, tuple(causes), analyses, (), tuple(denying))
    decision = _IMPLICIT_DENY if causes else _ALLOWED
    return RequestDecision(decision, tuple(causes), analyses, tuple(granted))


_Levels = list[tuple[PolicyAnalysis, ...]]


def _analyze(req: Authorization) -> tuple[dict[Layer, tuple[PolicyAnalysis, ...]], _Levels, _Levels]:
    """Every policy analyzed once for the request: by layer (only the layers that have policies, in
    the order the causes are listed), and the RCP and SCP levels apart (each level must allow on
    its own)."""
    ctx = req.ctx
    analyses: dict[Layer, tuple[PolicyAnalysis, ...]] = {}
    if req.identity:
        analyses[_IDENTITY] = tuple([analyze(p.policy, p.source, ctx) for p in req.identity])
    if req.boundary is not None:
        analyses[_BOUNDARY] = (analyze(req.boundary.policy, req.boundary.source, ctx),)
    if req.session:
        analyses[_SESSION] = tuple([analyze(p.policy, p.source, ctx) for p in req.session])
    policy = req.resource.policy if req.resource is not None else None
    if policy is not None:
        analyses[_RESOURCE] = (analyze(policy.policy, policy.source, ctx),)
    if req.endpoint is not None:
        analyses[_ENDPOINT] = (analyze(req.endpoint.policy, req.endpoint.source, ctx),)
    scp_levels = (
        [tuple([analyze(p.policy, p.source, ctx) for p in level]) for level in req.scps] if req.scps else []
    )
    if scp_levels:
        analyses[_SCP] = tuple([a for level in scp_levels for a in level])
    rcp_levels = (
        [tuple([analyze(p.policy, p.source, ctx) for p in level]) for level in req.rcps] if req.rcps else []
    )
    if rcp_levels:
        analyses[_RCP] = tuple([a for level in rcp_levels for a in level])
    return analyses, rcp_levels, scp_levels


def _explicit_denies(analyses: dict[Layer, tuple[PolicyAnalysis, ...]]) -> tuple[list[Hit], list[Cause]]:
    """Every matching Deny, and one ExplicitDeny cause per layer that has any."""
    denying: list[Hit] = []
    causes: list[Cause] = []
    for layer, group in analyses.items():
        hits = group[0].denies if len(group) == 1 else [h for a in group for h in a.denies]
        if hits:
            denying += hits
            causes.append(Cause(layer, _DENIED, tuple([h.ref for h in hits])))
    return denying, causes


def _must_allow(
    layer: Layer,
    group: tuple[PolicyAnalysis, ...],
    granted: list[StatementRef],
    causes: list[Cause],
    level: int | None = None,
) -> None:
    """A layer that limits: its first Allow joins the grants, or the layer is a NoAllow cause."""
    hits = _allows(group)
    if hits:
        granted.append(hits[0].ref)
    else:
        causes.append(Cause(layer, _NO_ALLOW, level=level, sources=tuple(a.source for a in group)))


def _resource_and_identity(
    req: Authorization,
    analyses: dict[Layer, tuple[PolicyAnalysis, ...]],
    granted: list[StatementRef],
    causes: list[Cause],
) -> bool:
    """The resource side and the identity policies together; returns whether the boundary and
    session policies still limit the request (they do not limit a grant to the exact principal)."""
    side = req.resource
    resource, identity = analyses.get(_RESOURCE, ()), analyses.get(_IDENTITY, ())
    voided = side.voided if side else frozenset()
    voided_hits: list[Hit] = []
    resource_grants: list[tuple[StatementRef, Scope]] = []
    for h in _allows(resource):
        if h.statement.index in voided:
            voided_hits.append(h)
        else:
            resource_grants.append((h.ref, h.scope))
    if side is not None and side.extra_allows:
        resource_grants += [(x.ref, x.scope) for x in side.extra_allows]
    best = max([s for _, s in resource_grants]) if resource_grants else None
    identity_hits = _allows(identity)
    same_account = side is None or side.owner_account == req.ctx.caller.account
    missing, needs_limits = _missing_grants(req, best, bool(identity_hits), same_account, resource, identity)
    # A voided Allow is a cause only where the resource side lacks the grant it would have given.
    if voided_hits and (
        any(c.layer is _RESOURCE for c in missing)
        or (same_account and any(c.layer is _IDENTITY for c in missing))
    ):
        missing.append(Cause(_RESOURCE, _VOIDED, tuple(h.ref for h in voided_hits)))
    causes += missing
    if not missing:
        granted += [ref for ref, scope in resource_grants if scope == best][:1] if best else []
        if best is None or best is _ACCOUNT or not same_account:
            granted += [h.ref for h in identity_hits[:1]]
    return needs_limits


def _missing_grants(
    req: Authorization,
    best: Scope | None,
    identity_allows: bool,
    same_account: bool,
    resource: tuple[PolicyAnalysis, ...],
    identity: tuple[PolicyAnalysis, ...],
) -> tuple[list[Cause], bool]:
    """Which of the resource and identity sides lacks the Allow the request needs (``best``: the
    widest scope the resource side grants), and whether the boundary and session still limit.

    Within one account either side suffices, unless the resource side is mandatory (a key policy)
    or binds the owner's root user; across accounts both must allow.
    """
    side, caller = req.resource, req.ctx.caller
    root = caller.kind is _ROOT
    # a service or a web identity has no identity policies: the resource policy alone decides
    outside_iam = caller.kind in _OUTSIDE_IAM
    identity_ok = root or outside_iam or identity_allows
    mandatory = side is not None and side.mandatory
    if not same_account:
        missing = [] if best is not None else [_no_allow(_RESOURCE, resource)]
        if not identity_ok:
            missing.append(_no_allow(_IDENTITY, identity))
        return missing, True
    if root and side is not None and side.owner_root_needs_grant:
        # S3 with ACLs enabled: the owner's root user is authorized by the resource side alone
        return ([] if best is not None else [_no_allow(_RESOURCE, resource)]), True
    if best is _PRINCIPAL:
        return [], False
    if best in _LIMITED_GRANTS or (identity_ok and (not mandatory or best is _ACCOUNT)):
        return [], True
    if mandatory and best is None:
        return [_no_allow(_RESOURCE, resource)], True
    return [_no_allow(_IDENTITY, identity)], True


# Callers AWS gives no identity policies; resource-side grants the boundary and session still limit.
_OUTSIDE_IAM = frozenset({PrincipalKind.Service, PrincipalKind.Federated})
_LIMITED_GRANTS = frozenset({Scope.Role, Scope.Anyone})


def _no_allow(layer: Layer, analyses: tuple[PolicyAnalysis, ...]) -> Cause:
    return Cause(layer, _NO_ALLOW, sources=_sources(analyses))


def _sources(analyses: tuple[PolicyAnalysis, ...]) -> tuple[PolicySource, ...]:
    return tuple(a.source for a in analyses)
