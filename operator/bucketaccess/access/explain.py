"""The upload question: scenario in, one decision and a check per layer out."""

from __future__ import annotations

import json
from dataclasses import replace

from ..policy import Cause, Decision, Layer, PolicyOrigin, PrincipalKind, RequestDecision, evaluate, worst
from ..vocabulary import LAYERS, ConditionType, Reason
from .assume import role_assumable
from .checks import (
    Blame,
    Check,
    Explanation,
    Finding,
    Fix,
    FixPolicy,
    RequestResult,
    StatementFix,
    Status,
    merge_findings,
)
from .probes import plan_upload
from .remedies import blame_remedy, refusal_message, what, where, who
from .scenario import Scenario
from .services import RULES
from .services.common import DefaultCheck, Outcome, Probe, Service, UploadRefusal, cause_reason

_REFUSALS: dict[UploadRefusal, tuple[ConditionType, Status, Decision]] = {
    Reason.ACLNotSupported: (ConditionType.BucketACLAllows, Status.FALSE, Decision.Rejected),
    Reason.PublicACLBlocked: (ConditionType.PublicAccessBlockAllows, Status.FALSE, Decision.ExplicitDeny),
    Reason.KeyIdWithoutKMSHeader: (ConditionType.KMSKeyUsable, Status.FALSE, Decision.Rejected),
    Reason.KMSKeyDisabled: (ConditionType.KMSKeyUsable, Status.FALSE, Decision.Rejected),
    Reason.KMSKeyPendingDeletion: (ConditionType.KMSKeyUsable, Status.FALSE, Decision.Rejected),
    Reason.KMSKeyWrongRegion: (ConditionType.KMSKeyUsable, Status.FALSE, Decision.Rejected),
    Reason.KMSKeyNotInScenario: (ConditionType.KMSKeyUsable, Status.Unknown, Decision.Unknown),
    Reason.KeyPolicyNotInScenario: (ConditionType.KMSKeyUsable, Status.Unknown, Decision.Unknown),
    Reason.KMSKeyNotFound: (ConditionType.KMSKeyUsable, Status.FALSE, Decision.Rejected),
    Reason.RoleNotFound: (ConditionType.IdentityPolicyAllows, Status.FALSE, Decision.Rejected),
    Reason.BucketNotFound: (ConditionType.BucketPolicyAllows, Status.FALSE, Decision.Rejected),
}

_LAYER_CHECK = {
    Layer.SCP: ConditionType.SCPAllows,
    Layer.RCP: ConditionType.RCPAllows,
    Layer.Boundary: ConditionType.PermissionsBoundaryAllows,
    Layer.Session: ConditionType.SessionPolicyAllows,
    Layer.Endpoint: ConditionType.VPCEndpointPolicyAllows,
}


def _findings(probe: Probe, decision: RequestDecision, sc: Scenario) -> list[Finding]:
    """Each cause of a refused request on the check that reports it: a generic layer's (SCP, RCP,
    boundary, session, endpoint) on that layer's, any other where the request's service says."""
    blames: list[Blame] = []
    rest: list[Cause] = []
    for c in decision.causes:
        if c.layer in _LAYER_CHECK:
            blames.append(Blame(_LAYER_CHECK[c.layer], cause_reason(c), c.statements, c))
        else:
            rest.append(c)
    blames += RULES[probe.service].findings(rest, probe, decision, sc)
    return [_finding(b, probe, decision, sc) for b in blames]


def _finding(blame: Blame, probe: Probe, decision: RequestDecision, sc: Scenario) -> Finding:
    message, fix = blame_remedy(blame, probe, decision, sc)
    return Finding(blame.check, Status.FALSE, blame.reason, message, blame.statements, fix)


# Verdicts that say the same whatever the scenario: made once (a Check is immutable).
_NO_SESSION_POLICY = Check(
    Status.NotApplicable, Reason.NoSessionPolicy, "the session was not given a session policy"
)
_UPLOAD_WITHOUT_ENDPOINT = Check(
    Status.NotApplicable, Reason.NoVPCEndpoint, "the upload does not go through a VPC endpoint"
)


def _identity_policy(o: Outcome) -> Check:
    caller = o.sc.request.caller
    if caller.kind is PrincipalKind.Account:
        return Check(
            Status.TRUE,
            Reason.RootUser,
            f"{caller.arn} is the account's root user, which needs no identity policy",
        )
    ident = o.allowing(Layer.Identity, Service.S3)
    if ident:
        return Check(
            Status.TRUE,
            Reason.AllowedByStatement,
            f"{where(ident[0].source)} statement {ident[0].sid} allows {o.who} "
            + ("to upload" if o.upload else o.sc.request.action),
            ident,
        )
    return Check(
        Status.TRUE,
        Reason.GrantedByResourcePolicy,
        f"no identity policy of {o.who} allows the {o.noun}, but a resource-side grant in the same account suffices",
    )


def _organization_policies(layer: Layer, kind: str) -> DefaultCheck:
    """The verdict of SCPAllows or RCPAllows: every level allowed, or none applies, and why."""

    no_organization = Check(
        Status.NotApplicable,
        Reason.NoOrganization,
        f"no account here is in an AWS Organization, so no {kind} apply",
    )

    def verdict(o: Outcome) -> Check:
        if o.sc.organization is None:
            return no_organization
        if any(d.analyses.get(layer) for _, d in o.decisions):
            return Check(
                Status.TRUE,
                Reason.AllowedAtEveryLevel,
                f"every level of {kind} allows the upload's requests"
                if o.upload
                else f"every level of {kind} allows the {o.noun}",
            )
        return Check(Status.NotApplicable, *_org_reason(o.sc, kind))

    return verdict


def _permissions_boundary(o: Outcome) -> Check:
    if o.sc.identity.boundary is None or o.sc.request.caller.kind is PrincipalKind.Account:
        return Check(
            Status.NotApplicable, Reason.NoPermissionsBoundary, f"{o.who} has no permissions boundary"
        )
    # what the boundary allowed, also when a Deny elsewhere decided (no grant is then recorded)
    b = o.granted((PolicyOrigin.Boundary,))
    if not b and any(d.decision is Decision.ExplicitDeny for _, d in o.decisions):
        b = tuple(dict.fromkeys(r for s in Service for r in o.allowing(Layer.Boundary, s)))
    reason = Reason.AllowedByStatement if b else Reason.NotLimiting
    msg = (
        f"{where(b[0].source)} allows the {o.noun}"
        if b
        else "a grant to the session itself is not limited by the boundary"
    )
    return Check(Status.TRUE, reason, msg, b)


def _session_policies(o: Outcome) -> Check:
    if not o.sc.identity.session_policies:
        return _NO_SESSION_POLICY
    s = o.granted((PolicyOrigin.Session,))
    return Check(
        Status.TRUE,
        Reason.AllowedByStatement if s else Reason.NotLimiting,
        f"the session policies allow the {o.noun}",
        s,
    )


def _endpoint_policy(o: Outcome) -> Check:
    ep = o.sc.request.vpc_endpoint
    if ep is None:
        if o.upload:
            return _UPLOAD_WITHOUT_ENDPOINT
        return Check(
            Status.NotApplicable, Reason.NoVPCEndpoint, f"the {o.noun} does not go through a VPC endpoint"
        )
    if ep.policy is None:
        return Check(
            Status.TRUE,
            Reason.DefaultEndpointPolicy,
            f"VPC endpoint {ep.id} has the default full-access policy",
        )
    e = o.granted((PolicyOrigin.VPCEndpoint,))
    return Check(
        Status.TRUE, Reason.AllowedByStatement, f"the policy of VPC endpoint {ep.id} allows the {o.noun}", e
    )


# The verdict of each check no request failed: the core's for the identity layer and the generic
# layers, each service's for the checks it owns (RULES); RoleAssumable is role_assumable's.
_ROLE_ASSUMABLE = ConditionType.RoleAssumable  # role_assumable's verdict, not a default
_DEFAULT_CHECKS: dict[ConditionType, DefaultCheck] = {
    ConditionType.IdentityPolicyAllows: _identity_policy,
    ConditionType.SCPAllows: _organization_policies(Layer.SCP, "SCPs"),
    ConditionType.RCPAllows: _organization_policies(Layer.RCP, "RCPs"),
    ConditionType.PermissionsBoundaryAllows: _permissions_boundary,
    ConditionType.SessionPolicyAllows: _session_policies,
    ConditionType.VPCEndpointPolicyAllows: _endpoint_policy,
    **{name: verdict for rules in RULES.values() for name, verdict in rules.DEFAULT_CHECKS.items()},
}


# The default verdicts in the order of LAYERS, which RoleAssumable opens.
assert LAYERS[0] is _ROLE_ASSUMABLE and set(LAYERS[1:]) == set(_DEFAULT_CHECKS)
_IN_ORDER = tuple((name, _DEFAULT_CHECKS[name]) for name in LAYERS[1:])


def _org_reason(sc: Scenario, what: str) -> tuple[Reason, str]:
    org = sc.organization
    caller = sc.request.caller
    assert org is not None  # without one, the verdict is the constant no_organization
    if caller.service_linked:
        return Reason.ServiceLinkedRole, f"{what} do not apply to service-linked roles"
    if org.management_account in (caller.account, sc.bucket.account):
        return Reason.ManagementAccount, f"{what} do not apply to the organization's management account"
    return Reason.NoneAttached, f"no {what} bind the accounts involved"


def explain(sc: Scenario) -> Explanation:
    ex, failing = _explain(sc)
    # only a failing check carries a fix: look for header fixes among those alone
    checks: dict[ConditionType, Check] | None = None
    for name, check in failing.items():
        if (
            check.status is Status.FALSE
            and check.fix is not None
            and check.fix.headers
            and ex.checks[name] is check
        ):
            checks = checks if checks is not None else dict(ex.checks)
            checks[name] = _complete_header_fix(sc, name, check)
    return ex if checks is None else Explanation(ex.decision, ex.requests, checks)


_PLACES = {
    FixPolicy.Identity: "the identity policy",
    FixPolicy.BucketPolicy: "the bucket policy",
    FixPolicy.KeyPolicy: "the key policy",
    FixPolicy.PermissionsBoundary: "the permissions boundary",
    FixPolicy.SessionPolicy: "a session policy",
    FixPolicy.VPCEndpointPolicy: "the endpoint policy",
}


def _complete_header_fix(sc: Scenario, name: ConditionType, check: Check) -> Check:
    """A header changes the request: it can add requests (s3:PutObjectAcl for an ACL header, KMS
    calls for an SSE-KMS one) that the same layer must allow as well. Explain the request with the
    headers sent; statements the layer then still lacks join the fix (and the words), and a fix
    that would still leave the layer refusing is withdrawn, saying so."""
    assert check.fix is not None
    headers = {**sc.request.headers, **dict(check.fix.headers)}
    after = _failing(replace(sc, request=replace(sc.request, headers=headers)), name)
    if after is None:
        return check
    sent = "that header" if len(check.fix.headers) == 1 else "those headers"
    if after.fix is None or after.fix.headers or not after.fix.statements:
        return replace(
            check,
            message=f"{check.message} (but with {sent} this layer still refuses: {after.message})",
            fix=None,
        )
    have = {_unconditioned(s) for s in check.fix.statements}
    extra = [s for s in after.fix.statements if _unconditioned(s) not in have]
    if not extra:
        return check
    words = " and ".join(f"{s.statement} in {_PLACES[s.policy]}" for s in extra)
    fix = Fix.merge([check.fix, Fix(tuple(extra))])
    return replace(check, message=f"{check.message} (with {sent} the {what(sc)} also needs {words})", fix=fix)


def _unconditioned(fix: StatementFix) -> tuple[FixPolicy, str | None, str]:
    """A suggested statement without its Condition: the fix already grants it (on a condition)."""
    doc = {k: v for k, v in fix.document.items() if k != "Condition"}
    return fix.policy, fix.key, json.dumps(doc, sort_keys=True)


def _failing(sc: Scenario, name: ConditionType) -> Check | None:
    """Only whether (and why) one check fails: no defaults are worked out for the others."""
    if name in sc.unknown:
        return None  # Unknown, as _explain would say: data it needs was not readable
    _, findings, _, _ = _evaluate(sc, Service.S3 if name in _S3_ONLY else None)
    found = merge_findings(findings).get(name)
    return found if found is not None and found.status is Status.FALSE else None


# Checks that only S3 requests can fail (KMS requests report on the key, the identity, the
# organization, boundaries and sessions): re-deciding one of them needs no KMS request.
_S3_ONLY = frozenset(
    {ConditionType.BucketPolicyAllows, ConditionType.BucketACLAllows, ConditionType.PublicAccessBlockAllows}
)


def _evaluate(
    sc: Scenario, service: Service | None = None
) -> tuple[list[RequestResult], list[Finding], list[tuple[Probe, RequestDecision]], tuple[Probe, ...]]:
    probes = plan_upload(sc, kms=service is not Service.S3)
    results: list[RequestResult] = []
    findings: list[Finding] = []
    decisions: list[tuple[Probe, RequestDecision]] = []
    for probe in probes:
        if service is not None and probe.service is not service:
            continue
        if probe.refusal is not None:
            check, status, decision = _REFUSALS[probe.refusal]
            findings.append(Finding(check, status, probe.refusal, refusal_message(probe, sc)))
            results.append(RequestResult(probe.action, probe.resource, decision))
            continue
        assert probe.authorization is not None
        verdict = evaluate(probe.authorization)
        decisions.append((probe, verdict))
        findings += _findings(probe, verdict, sc)
        results.append(RequestResult(probe.action, probe.resource, verdict.decision))
    return results, findings, decisions, probes


def _explain(sc: Scenario) -> tuple[Explanation, dict[ConditionType, Check]]:
    """The explanation, and the checks the requests found failing (before ``unknown`` applies)."""
    assumed, hop_results = role_assumable(sc)
    results, findings, decisions, probes = _evaluate(sc)
    if hop_results:
        results = [*hop_results, *results]
    outcome = Outcome(sc, probes, tuple(decisions), what(sc), who(sc))
    failing = merge_findings(findings)
    # a default verdict is worked out only for a check no request failed
    found = failing.get
    checks = {_ROLE_ASSUMABLE: found(_ROLE_ASSUMABLE) or assumed}
    for name, verdict in _IN_ORDER:
        checks[name] = found(name) or verdict(outcome)
    decision = worst([r.decision for r in results])
    if sc.unknown:
        # Data a layer needs was not readable: nothing short of an explicit Deny or a refusal
        # found in the readable layers is final.
        for name, why in sc.unknown.items():
            # whatever was computed for this layer came from absent data, so it is not a verdict
            checks[name] = Check(Status.Unknown, why.reason, why.message)
        if decision not in (Decision.ExplicitDeny, Decision.Rejected):
            decision = Decision.Unknown
    return Explanation(decision, tuple(results), checks), failing
