"""Does one statement apply to one request, and through which principal?

A resource-side statement that applies carries a :class:`Scope`, because AWS treats a grant to
the exact session (or user) differently from a grant to the role, to anyone, or to the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from .conditions import failing_clauses
from .context import Caller, PrincipalKind, RequestContext
from .model import ConditionClause, Effect, Policy, Principals, Statement
from .records import fast_init


class Scope(IntEnum):
    """How directly a resource-side Allow names the caller; higher is more direct."""

    Account = 1  # the account: the caller's own identity policy must allow too
    Anyone = 2  # "*": applies to the caller itself, boundaries and session policies still limit
    Role = 3  # the role ARN: same as Anyone
    Principal = 4  # the session or user ARN itself: not limited by boundaries or session policies


class PolicyOrigin(StrEnum):
    """Which kind of policy (or non-policy grant) a statement comes from; the value is the head of
    its source tag (``identity:NAME``, ``scp[1]:NAME``, ``bucket-policy``)."""

    Identity = "identity"
    Boundary = "boundary"
    Session = "session"
    VPCEndpoint = "vpce"
    SCP = "scp"
    RCP = "rcp"
    BucketPolicy = "bucket-policy"
    KeyPolicy = "key-policy"
    BucketACL = "bucket-acl"
    KMSGrant = "kms-grant"
    Trust = "trust"


# The one policy (or the grants) of a bucket or a key: their tag names no policy.
_UNNAMED = frozenset(
    {PolicyOrigin.BucketPolicy, PolicyOrigin.KeyPolicy, PolicyOrigin.BucketACL, PolicyOrigin.KMSGrant}
)


@fast_init
@dataclass(frozen=True, slots=True)
class PolicySource:
    """Where a policy comes from, as fields: its origin, its name (the identity policy's, the
    endpoint's id, the trusting role's ARN; none for a bucket or key policy) and, for an SCP or
    RCP, its level in the organization (0 = root)."""

    origin: PolicyOrigin
    name: str = ""
    level: int | None = None

    def __str__(self) -> str:
        """The tag explanations print: ``identity:NAME``, ``scp[1]:NAME``, ``bucket-policy``."""
        head = str(self.origin) if self.level is None else f"{self.origin}[{self.level}]"
        return head if self.origin in _UNNAMED else f"{head}:{self.name}"


@fast_init
@dataclass(frozen=True, slots=True)
class StatementRef:
    """Where a deciding statement lives: ``(source, Sid or #index, effect)``."""

    source: PolicySource
    sid: str
    effect: Effect

    @property
    def origin(self) -> PolicyOrigin:
        return self.source.origin

    def as_dict(self) -> dict[str, str]:
        return {"source": str(self.source), "sid": self.sid, "effect": str(self.effect)}


@fast_init
@dataclass(frozen=True, slots=True)
class Hit:
    ref: StatementRef
    statement: Statement
    scope: Scope


@fast_init
@dataclass(frozen=True, slots=True)
class NearMiss:
    """A statement that names the action, resource and principal but whose condition fails."""

    ref: StatementRef
    statement: Statement
    failing: tuple[ConditionClause, ...]


@fast_init
@dataclass(frozen=True, slots=True)
class PolicyAnalysis:
    source: PolicySource
    allows: tuple[Hit, ...]
    denies: tuple[Hit, ...]
    near_misses: tuple[NearMiss, ...]
    # Allow statements with NotPrincipal that name the action and resource: AWS supports
    # NotPrincipal only with Deny, so they grant nothing; kept to say so in explanations.
    unsupported: tuple[StatementRef, ...] = ()


# The members read for every statement, bound once: in Python 3.11 reading `Enum.Member` goes through
# EnumType.__getattr__'s attribute hook, about four times the cost of a module global.
_ALLOW = Effect.Allow
_ANYONE, _ACCOUNT, _ROLE, _PRINCIPAL = Scope.Anyone, Scope.Account, Scope.Role, Scope.Principal
_USER, _SERVICE, _FEDERATED = PrincipalKind.User, PrincipalKind.Service, PrincipalKind.Federated


def caller_scopes(caller: Caller) -> dict[str, Scope]:
    """How directly each value a Principal's AWS list may hold names the caller: "*" anyone, the
    account (id or root ARN), the session or user ARN itself, the role ARN. Built from the least
    to the most binding match, so that where two would match one value the more binding one is
    kept: "*", then the account, then the session or user, then the role."""
    scopes: dict[str, Scope] = {}
    if caller.role_arn is not None:
        scopes[caller.role_arn] = _ROLE
    if caller.kind is _USER:
        scopes[caller.arn] = _PRINCIPAL
    if caller.session_arn is not None:
        scopes[caller.session_arn] = _PRINCIPAL
    scopes[caller.account] = scopes[caller.root_arn] = _ACCOUNT
    scopes["*"] = _ANYONE
    return scopes


def principal_scope(
    principals: Principals, caller: Caller, scopes: dict[str, Scope] | None = None
) -> Scope | None:
    """The most direct way the Principal element names the caller (``scopes``: its caller_scopes,
    when the caller of many statements has them already)."""
    if principals.anyone:
        return _ANYONE
    if caller.kind is _SERVICE:
        return _PRINCIPAL if caller.arn in principals.service else None
    if caller.kind is _FEDERATED:
        return _PRINCIPAL if caller.arn in principals.federated else None
    if not principals.aws:
        return None
    if scopes is None:
        scopes = caller_scopes(caller)
    best: Scope | None = None
    for value in principals.aws:
        scope = scopes.get(value)
        if scope is not None and (best is None or scope > best):
            best = scope
    return best


def _identities(caller: Caller) -> list[str]:
    ids = [caller.root_arn]
    if caller.kind is _USER:
        ids.append(caller.arn)
    if caller.role_arn is not None:
        ids.append(caller.role_arn)
    if caller.session_arn is not None:
        ids.append(caller.session_arn)
    return ids


def not_principal_applies(principals: Principals, caller: Caller) -> bool:
    """NotPrincipal spares the caller only when every identity it carries is listed.

    A role session is seen as its account, its role and its session, so excluding a session
    takes all three, as the IAM reference's NotPrincipal example shows.
    """
    if principals.anyone:
        return False
    if caller.kind is _SERVICE:
        return caller.arn not in principals.service
    if caller.kind is _FEDERATED:
        return caller.arn not in principals.federated
    listed = set(principals.aws)
    listed |= {f"arn:aws:iam::{v}:root" for v in principals.aws if v.isdigit()}
    return not all(identity in listed for identity in _identities(caller))


def not_principal_deny_applies(principals: Principals, caller: Caller) -> bool:
    """Does a resource-policy ``Deny`` with this NotPrincipal apply to the caller?

    IAM "NotPrincipal" and "Permissions boundaries for IAM entities": such a Deny always denies a
    user or role that has a permissions boundary, whatever the element lists.
    """
    return caller.has_boundary or not_principal_applies(principals, caller)


def _scope(stmt: Statement, ctx: RequestContext, scopes: dict[str, Scope] | None) -> Scope | None:
    if stmt.principal is not None:
        return principal_scope(stmt.principal, ctx.caller, scopes)
    if stmt.not_principal is not None:
        if stmt.effect is _ALLOW:
            return None  # IAM "NotPrincipal": only supported with Deny; an Allow grants nobody
        return _ANYONE if not_principal_deny_applies(stmt.not_principal, ctx.caller) else None
    return _PRINCIPAL  # identity-side: the policy is attached to the caller itself


def analyze(policy: Policy, source: PolicySource, ctx: RequestContext) -> PolicyAnalysis:
    allows: list[Hit] = []
    denies: list[Hit] = []
    misses: list[NearMiss] = []
    unsupported: list[StatementRef] = []
    action, resource, lookup = ctx.action, ctx.resource, ctx.single
    scopes: dict[str, Scope] | None = None
    for stmt in policy.statements:
        # does it name the action and the resource (NotAction / NotResource: does it not)?
        actions, resources = stmt.action_matcher, stmt.resource_matcher
        assert actions is not None and resources is not None  # parse.py compiles both
        if actions.matches(action) == (stmt.actions is None):
            continue
        if resources.matches(resource, lookup) == (stmt.resources is None):
            continue
        if stmt.not_principal is not None and stmt.effect is _ALLOW:
            unsupported.append(StatementRef(source, stmt.label, stmt.effect))
            continue
        if scopes is None and stmt.principal is not None and stmt.principal.aws:
            scopes = caller_scopes(ctx.caller)  # once per policy, for the statements that name principals
        scope = _scope(stmt, ctx, scopes)
        if scope is None:
            continue
        ref = StatementRef(source, stmt.label, stmt.effect)
        failing = (
            failing_clauses(stmt.conditions, ctx, variables=policy.supports_variables)
            if stmt.conditions
            else ()
        )
        if failing:
            misses.append(NearMiss(ref, stmt, failing))
        elif stmt.effect is _ALLOW:
            allows.append(Hit(ref, stmt, scope))
        else:
            denies.append(Hit(ref, stmt, scope))
    return PolicyAnalysis(
        source,
        tuple(allows) if allows else (),
        tuple(denies) if denies else (),
        tuple(misses) if misses else (),
        tuple(unsupported) if unsupported else (),
    )
