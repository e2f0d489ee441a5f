"""The upload question: scenario in, one decision and a check per layer out."""

from __future__ import annotations

import json
from dataclasses import replace

from ..policy import Decision, Layer, PrincipalKind, RequestDecision, StatementRef, evaluate, worst
from ..vocabulary import Reason
from .assume import role_assumable
from .checks import (
    CHECKS,
    Blame,
    Check,
    CheckName,
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
from .remedies import blame_remedy, refusal_message, what, where
from .scenario import Ownership, Scenario
from .services import RULES
from .services.common import Probe, Service, UploadRefusal, cause_reason
from .services.s3 import acl_permission

_REFUSALS: dict[UploadRefusal, tuple[CheckName, Status, Decision]] = {
    UploadRefusal.ACLNotSupported: (CheckName.BucketACLAllows, Status.FALSE, Decision.Rejected),
    UploadRefusal.PublicACLBlocked: (CheckName.PublicAccessBlockAllows, Status.FALSE, Decision.ExplicitDeny),
    UploadRefusal.KeyIdWithoutKMSHeader: (CheckName.KMSKeyUsable, Status.FALSE, Decision.Rejected),
    UploadRefusal.KMSKeyDisabled: (CheckName.KMSKeyUsable, Status.FALSE, Decision.Rejected),
    UploadRefusal.KMSKeyPendingDeletion: (CheckName.KMSKeyUsable, Status.FALSE, Decision.Rejected),
    UploadRefusal.KMSKeyWrongRegion: (CheckName.KMSKeyUsable, Status.FALSE, Decision.Rejected),
    UploadRefusal.KMSKeyNotInScenario: (CheckName.KMSKeyUsable, Status.Unknown, Decision.Unknown),
    UploadRefusal.KeyPolicyNotInScenario: (CheckName.KMSKeyUsable, Status.Unknown, Decision.Unknown),
    UploadRefusal.KMSKeyNotFound: (CheckName.KMSKeyUsable, Status.FALSE, Decision.Rejected),
    UploadRefusal.RoleNotFound: (CheckName.IdentityPolicyAllows, Status.FALSE, Decision.Rejected),
    UploadRefusal.BucketNotFound: (CheckName.BucketPolicyAllows, Status.FALSE, Decision.Rejected),
}

_LAYER_CHECK = {
    Layer.SCP: CheckName.SCPAllows,
    Layer.RCP: CheckName.RCPAllows,
    Layer.Boundary: CheckName.PermissionsBoundaryAllows,
    Layer.Session: CheckName.SessionPolicyAllows,
    Layer.Endpoint: CheckName.VPCEndpointPolicyAllows,
}


def _findings(probe: Probe, decision: RequestDecision, sc: Scenario) -> list[Finding]:
    """Each cause of a refused request on the check that reports it: a generic layer's (SCP, RCP,
    boundary, session, endpoint) on that layer's, any other where the request's service says."""
    generic = [c for c in decision.causes if c.layer in _LAYER_CHECK]
    blames = [Blame(_LAYER_CHECK[c.layer], cause_reason(c), c.statements, c) for c in generic]
    rest = [c for c in decision.causes if c.layer not in _LAYER_CHECK]
    blames += RULES[probe.service].findings(rest, probe, decision, sc)
    return [_finding(b, probe, decision, sc) for b in blames]


def _finding(blame: Blame, probe: Probe, decision: RequestDecision, sc: Scenario) -> Finding:
    message, fix = blame_remedy(blame, probe, decision, sc)
    return Finding(blame.check, Status.FALSE, blame.reason, message, blame.statements, fix)


def _allowing(
    decisions: list[tuple[Probe, RequestDecision]], layer: Layer, service: Service
) -> tuple[StatementRef, ...]:
    """Allow statements of one layer that matched, whatever else decided the request."""
    refs = [
        h.ref
        for p, d in decisions
        if p.service is service
        for a in d.analyses.get(layer, ())
        for h in a.allows
    ]
    return tuple(dict.fromkeys(refs))


def _granted(
    decisions: list[tuple[Probe, RequestDecision]], prefixes: tuple[str, ...], service: Service | None = None
) -> tuple[StatementRef, ...]:
    refs = [
        r
        for p, d in decisions
        if service is None or p.service is service
        for r in d.allowed_by
        if r.source.startswith(prefixes)
    ]
    return tuple(dict.fromkeys(refs))


# Verdicts that say the same whatever the scenario: made once (a Check is immutable).
_ACLS_DISABLED = Check(
    Status.NotApplicable,
    Reason.ACLsDisabled,
    "the bucket's ACLs are disabled (object ownership BucketOwnerEnforced)",
)
_NO_SESSION_POLICY = Check(
    Status.NotApplicable, Reason.NoSessionPolicy, "the session was not given a session policy"
)
_NO_PUBLIC_ACCESS_BLOCK = Check(
    Status.NotApplicable,
    Reason.NoPublicAccessBlock,
    "Block Public Access is off for the bucket and its account",
)


def _defaults(
    sc: Scenario, plan_probes: tuple[Probe, ...], decisions: list[tuple[Probe, RequestDecision]]
) -> dict[CheckName, Check]:
    """The result of each check that no request found failing: True or NotApplicable, with why."""
    caller = sc.request.caller
    who = caller.role_arn or caller.arn
    out: dict[CheckName, Check] = {}
    t, na = Status.TRUE, Status.NotApplicable
    noun = what(sc)  # "upload", or "s3:ListBucket request": only an upload is called an upload
    upload = noun == "upload"

    ident = _allowing(decisions, Layer.Identity, Service.S3)
    if caller.kind is PrincipalKind.Account:
        out[CheckName.IdentityPolicyAllows] = Check(
            t, Reason.RootUser, f"{caller.arn} is the account's root user, which needs no identity policy"
        )
    elif ident:
        out[CheckName.IdentityPolicyAllows] = Check(
            t,
            Reason.AllowedByStatement,
            f"{where(ident[0].source)} statement {ident[0].sid} allows {who} "
            + ("to upload" if upload else sc.request.action),
            ident,
        )
    else:
        out[CheckName.IdentityPolicyAllows] = Check(
            t,
            Reason.GrantedByResourcePolicy,
            f"no identity policy of {who} allows the {noun}, but a resource-side grant in the same account suffices",
        )

    kms_probes = [p for p in plan_probes if p.service is Service.KMS]
    if not kms_probes:
        enc = sc.bucket.encryption
        text = (
            "the upload is not SSE-KMS encrypted" + (f" (bucket default {enc.algorithm})" if enc else "")
            if upload
            else f"the {noun} involves no KMS key"
        )
        out[CheckName.KMSKeyUsable] = Check(na, Reason.NoKMSEncryption, text)
    else:
        refs = _granted(decisions, ("key-policy", "kms-grant", "identity:"), Service.KMS)
        key = kms_probes[0].resource
        out[CheckName.KMSKeyUsable] = Check(
            t, Reason.KeyUsable, f"{who} may use KMS key {key} through S3", refs
        )

    bp = _allowing(decisions, Layer.Resource, Service.S3)
    if bp:
        out[CheckName.BucketPolicyAllows] = Check(
            t,
            Reason.AllowedByStatement,
            f"bucket policy statement {bp[0].sid} allows {who}, and nothing there denies the {noun}",
            bp,
        )
    elif sc.bucket.policy is not None:
        out[CheckName.BucketPolicyAllows] = Check(
            t, Reason.NoDenyingStatement, f"the bucket policy denies nothing this {noun} does"
        )
    else:
        out[CheckName.BucketPolicyAllows] = Check(
            t,
            Reason.NoBucketPolicy,
            "the bucket has no policy, and the caller is in the bucket's account"
            if caller.account == sc.bucket.account
            else f"the bucket has no policy, so nothing there denies the {noun}",
        )

    if sc.bucket.ownership is Ownership.BucketOwnerEnforced:
        out[CheckName.BucketACLAllows] = _ACLS_DISABLED
    else:
        acl = _granted(decisions, ("bucket-acl",), Service.S3)
        if acl:
            out[CheckName.BucketACLAllows] = Check(
                t,
                Reason.WriteGranted if acl_permission(sc.request.action) == "WRITE" else Reason.GrantedByACL,
                "the default bucket ACL grants the owner FULL_CONTROL"
                if acl[0].sid == "default"
                else f"the bucket ACL's {acl[0].sid} grants {acl_permission(sc.request.action)} to the caller's account",
                acl,
            )
        else:
            out[CheckName.BucketACLAllows] = Check(
                t, Reason.NotRequired, f"ACLs are enabled, and the {noun} does not rely on them"
            )

    for check, layer, kind in (
        (CheckName.SCPAllows, Layer.SCP, "SCPs"),
        (CheckName.RCPAllows, Layer.RCP, "RCPs"),
    ):
        applied = [d for _, d in decisions if d.analyses.get(layer)]
        if applied:
            out[check] = Check(
                t,
                Reason.AllowedAtEveryLevel,
                f"every level of {kind} allows the upload's requests"
                if upload
                else f"every level of {kind} allows the {noun}",
            )
        else:
            out[check] = Check(na, *_org_reason(sc, kind))

    if sc.identity.boundary is None or caller.kind is PrincipalKind.Account:
        out[CheckName.PermissionsBoundaryAllows] = Check(
            na, Reason.NoPermissionsBoundary, f"{who} has no permissions boundary"
        )
    else:
        # what the boundary allowed, also when a Deny elsewhere decided (no grant is then recorded)
        b = _granted(decisions, ("boundary:",))
        if not b and any(d.decision is Decision.ExplicitDeny for _, d in decisions):
            b = tuple(dict.fromkeys(r for s in Service for r in _allowing(decisions, Layer.Boundary, s)))
        reason = Reason.AllowedByStatement if b else Reason.NotLimiting
        msg = (
            f"{where(b[0].source)} allows the {noun}"
            if b
            else "a grant to the session itself is not limited by the boundary"
        )
        out[CheckName.PermissionsBoundaryAllows] = Check(t, reason, msg, b)

    if not sc.identity.session_policies:
        out[CheckName.SessionPolicyAllows] = _NO_SESSION_POLICY
    else:
        s = _granted(decisions, ("session:",))
        out[CheckName.SessionPolicyAllows] = Check(
            t,
            Reason.AllowedByStatement if s else Reason.NotLimiting,
            f"the session policies allow the {noun}",
            s,
        )

    pab = sc.bucket.public_access_block
    if not any(
        (pab.block_public_acls, pab.ignore_public_acls, pab.block_public_policy, pab.restrict_public_buckets)
    ):
        out[CheckName.PublicAccessBlockAllows] = _NO_PUBLIC_ACCESS_BLOCK
    else:
        out[CheckName.PublicAccessBlockAllows] = Check(
            t,
            Reason.NotTriggered,
            f"Block Public Access is on, and the {noun} relies on no public ACL or policy",
        )

    ep = sc.request.vpc_endpoint
    if ep is None:
        out[CheckName.VPCEndpointPolicyAllows] = Check(
            na, Reason.NoVPCEndpoint, f"the {noun} does not go through a VPC endpoint"
        )
    elif ep.policy is None:
        out[CheckName.VPCEndpointPolicyAllows] = Check(
            t, Reason.DefaultEndpointPolicy, f"VPC endpoint {ep.id} has the default full-access policy"
        )
    else:
        e = _granted(decisions, ("vpce:",))
        out[CheckName.VPCEndpointPolicyAllows] = Check(
            t, Reason.AllowedByStatement, f"the policy of VPC endpoint {ep.id} allows the {noun}", e
        )
    return out


def _org_reason(sc: Scenario, what: str) -> tuple[Reason, str]:
    org = sc.organization
    caller = sc.request.caller
    if org is None:
        return Reason.NoOrganization, f"no account here is in an AWS Organization, so no {what} apply"
    if caller.service_linked:
        return Reason.ServiceLinkedRole, f"{what} do not apply to service-linked roles"
    if org.management_account in (caller.account, sc.bucket.account):
        return Reason.ManagementAccount, f"{what} do not apply to the organization's management account"
    return Reason.NoneAttached, f"no {what} bind the accounts involved"


def explain(sc: Scenario) -> Explanation:
    ex, failing = _explain(sc)
    # only a failing check carries a fix: look for header fixes among those alone
    headed = [
        name
        for name, check in failing.items()
        if check.status is Status.FALSE
        and check.fix is not None
        and check.fix.headers
        and ex.checks[name] is check
    ]
    if not headed:
        return ex
    checks = dict(ex.checks)
    for name in headed:
        checks[name] = _complete_header_fix(sc, name, checks[name])
    return Explanation(ex.decision, ex.requests, checks)


_PLACES = {
    FixPolicy.Identity: "the identity policy",
    FixPolicy.BucketPolicy: "the bucket policy",
    FixPolicy.KeyPolicy: "the key policy",
    FixPolicy.PermissionsBoundary: "the permissions boundary",
    FixPolicy.SessionPolicy: "a session policy",
    FixPolicy.VPCEndpointPolicy: "the endpoint policy",
}


def _complete_header_fix(sc: Scenario, name: CheckName, check: Check) -> Check:
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


def _failing(sc: Scenario, name: CheckName) -> Check | None:
    """Only whether (and why) one check fails: no defaults are worked out for the others."""
    if name in sc.unknown:
        return None  # Unknown, as _explain would say: data it needs was not readable
    _, findings, _, _ = _evaluate(sc, Service.S3 if name in _S3_ONLY else None)
    found = merge_findings(findings).get(name)
    return found if found is not None and found.status is Status.FALSE else None


# Checks that only S3 requests can fail (KMS requests report on the key, the identity, the
# organization, boundaries and sessions): re-deciding one of them needs no KMS request.
_S3_ONLY = frozenset(
    {CheckName.BucketPolicyAllows, CheckName.BucketACLAllows, CheckName.PublicAccessBlockAllows}
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
            findings.append(Finding(check, status, Reason(probe.refusal), refusal_message(probe, sc)))
            results.append(RequestResult(probe.action, probe.resource, decision))
            continue
        assert probe.authorization is not None
        verdict = evaluate(probe.authorization)
        decisions.append((probe, verdict))
        findings += _findings(probe, verdict, sc)
        results.append(RequestResult(probe.action, probe.resource, verdict.decision))
    return results, findings, decisions, probes


def _explain(sc: Scenario) -> tuple[Explanation, dict[CheckName, Check]]:
    """The explanation, and the checks the requests found failing (before ``unknown`` applies)."""
    assumed, hop_results = role_assumable(sc)
    results, findings, decisions, probes = _evaluate(sc)
    if hop_results:
        results = [*hop_results, *results]
    defaults = _defaults(sc, probes, decisions)
    defaults[CheckName.RoleAssumable] = assumed
    failing = merge_findings(findings)
    checks = {name: failing.get(name) or defaults[name] for name in CHECKS}
    decision = worst(r.decision for r in results)
    if sc.unknown:
        # Data a layer needs was not readable: nothing short of an explicit Deny or a refusal
        # found in the readable layers is final.
        for name, why in sc.unknown.items():
            # whatever was computed for this layer came from absent data, so it is not a verdict
            checks[CheckName(name)] = Check(Status.Unknown, why.reason, why.message)
        if decision not in (Decision.ExplicitDeny, Decision.Rejected):
            decision = Decision.Unknown
    return Explanation(decision, tuple(results), checks), failing
