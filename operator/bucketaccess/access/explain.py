"""The upload question: scenario in, one decision and ten checks out."""

from __future__ import annotations

from ..policy import CauseKind, Decision, Layer, PrincipalKind, RequestDecision, StatementRef, evaluate, worst
from ..vocabulary import Reason
from .checks import CHECKS, Check, CheckName, Explanation, Finding, RequestResult, Status, merge_findings
from .probes import Probe, plan_upload
from .remedies import cause_message, refusal_message, where
from .scenario import Ownership, Scenario
from .services import Service, UploadRefusal

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
    out: list[Finding] = []
    for cause in decision.causes:
        message = cause_message(cause, probe, decision, sc)
        reason = Reason.ExplicitDeny if cause.kind is CauseKind.ExplicitDeny else Reason.NoAllowStatement
        if cause.layer in _LAYER_CHECK:
            out.append(Finding(_LAYER_CHECK[cause.layer], Status.FALSE, reason, message, cause.statements))
        elif probe.service is Service.KMS:
            kms_reason = (
                reason
                if cause.kind is CauseKind.ExplicitDeny
                else (Reason.NotAKeyUser if cause.layer is Layer.Resource else Reason.NoIAMPermission)
            )
            check = (
                CheckName.IdentityPolicyAllows
                if cause.kind is CauseKind.ExplicitDeny and cause.layer is Layer.Identity
                else CheckName.KMSKeyUsable
            )
            out.append(Finding(check, Status.FALSE, kms_reason, message, cause.statements))
        elif cause.kind is CauseKind.Voided:
            out.append(
                Finding(
                    CheckName.PublicAccessBlockAllows,
                    Status.FALSE,
                    Reason.PublicPolicyRestricted,
                    message,
                    cause.statements,
                )
            )
        elif cause.layer is Layer.Identity:
            out.append(
                Finding(CheckName.IdentityPolicyAllows, Status.FALSE, reason, message, cause.statements)
            )
        elif cause.kind is CauseKind.NoAllow and sc.bucket.ownership is not Ownership.BucketOwnerEnforced:
            # With ACLs enabled, the bucket ACL is the classic way to let another account write
            # (the article's cause 4), so the missing grant is reported there, naming both fixes.
            who = sc.request.caller.role_arn or sc.request.caller.arn
            acl_msg = (
                f"the bucket ACL grants WRITE to neither account {sc.request.caller.account} nor a group, and the "
                f"bucket policy grants {probe.action} to neither {who} nor that account; add an ACL WRITE grant "
                f"for the account's canonical id, or a bucket-policy Allow for {who}"
            )
            out.append(Finding(CheckName.BucketACLAllows, Status.FALSE, Reason.NoWriteGrant, acl_msg))
        else:
            resource_reason = (
                reason if cause.kind is CauseKind.ExplicitDeny else Reason.CrossAccountNotGranted
            )
            out.append(
                Finding(
                    CheckName.BucketPolicyAllows, Status.FALSE, resource_reason, message, cause.statements
                )
            )
    if probe.ignored_public_acl and decision.decision is not Decision.Allowed:
        out.append(
            Finding(
                CheckName.PublicAccessBlockAllows,
                Status.FALSE,
                Reason.PublicACLIgnored,
                "Block Public Access (IgnorePublicAcls) voids the bucket ACL's public WRITE grant; "
                "grant the caller in the bucket policy instead",
                probe.ignored_public_acl,
            )
        )
    return out


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


def _defaults(
    sc: Scenario, plan_probes: tuple[Probe, ...], decisions: list[tuple[Probe, RequestDecision]]
) -> dict[CheckName, Check]:
    """The result of each check that no request found failing: True or NotApplicable, with why."""
    caller = sc.request.caller
    who = caller.role_arn or caller.arn
    out: dict[CheckName, Check] = {}
    t, na = Status.TRUE, Status.NotApplicable

    ident = _allowing(decisions, Layer.Identity, Service.S3)
    if caller.kind is PrincipalKind.Account:
        out[CheckName.IdentityPolicyAllows] = Check(
            t, Reason.RootUser, f"{caller.arn} is the account's root user, which needs no identity policy"
        )
    elif ident:
        out[CheckName.IdentityPolicyAllows] = Check(
            t,
            Reason.AllowedByStatement,
            f"{where(ident[0].source)} statement {ident[0].sid} allows {who} to upload",
            ident,
        )
    else:
        out[CheckName.IdentityPolicyAllows] = Check(
            t,
            Reason.GrantedByResourcePolicy,
            f"no identity policy of {who} allows the upload, but a resource-side grant in the same account suffices",
        )

    kms_probes = [p for p in plan_probes if p.service is Service.KMS]
    if not kms_probes:
        enc = sc.bucket.encryption
        what = "the upload is not SSE-KMS encrypted" + (f" (bucket default {enc.algorithm})" if enc else "")
        out[CheckName.KMSKeyUsable] = Check(na, Reason.NoKMSEncryption, what)
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
            f"bucket policy statement {bp[0].sid} allows {who}, and nothing there denies the upload",
            bp,
        )
    elif sc.bucket.policy is not None:
        out[CheckName.BucketPolicyAllows] = Check(
            t, Reason.NoDenyingStatement, "the bucket policy denies nothing this upload does"
        )
    else:
        out[CheckName.BucketPolicyAllows] = Check(
            t, Reason.NoBucketPolicy, "the bucket has no policy, and the caller is in the bucket's account"
        )

    if sc.bucket.ownership is Ownership.BucketOwnerEnforced:
        out[CheckName.BucketACLAllows] = Check(
            na, Reason.ACLsDisabled, "the bucket's ACLs are disabled (object ownership BucketOwnerEnforced)"
        )
    else:
        acl = _granted(decisions, ("bucket-acl",), Service.S3)
        if acl:
            out[CheckName.BucketACLAllows] = Check(
                t,
                Reason.WriteGranted,
                f"the bucket ACL's {acl[0].sid} grants WRITE to the caller's account",
                acl,
            )
        else:
            out[CheckName.BucketACLAllows] = Check(
                t, Reason.NotRequired, "ACLs are enabled, and the upload does not rely on them"
            )

    for check, layer, what in (
        (CheckName.SCPAllows, Layer.SCP, "SCPs"),
        (CheckName.RCPAllows, Layer.RCP, "RCPs"),
    ):
        applied = [d for _, d in decisions if d.analyses.get(layer)]
        if applied:
            out[check] = Check(
                t, Reason.AllowedAtEveryLevel, f"every level of {what} allows the upload's requests"
            )
        else:
            out[check] = Check(na, *_org_reason(sc, what))

    if sc.identity.boundary is None or caller.kind is PrincipalKind.Account:
        out[CheckName.PermissionsBoundaryAllows] = Check(
            na, Reason.NoPermissionsBoundary, f"{who} has no permissions boundary"
        )
    else:
        b = _granted(decisions, ("boundary:",))
        reason = Reason.AllowedByStatement if b else Reason.NotLimiting
        msg = (
            f"{where(b[0].source)} allows the upload"
            if b
            else "a grant to the session itself is not limited by the boundary"
        )
        out[CheckName.PermissionsBoundaryAllows] = Check(t, reason, msg, b)

    if not sc.identity.session_policies:
        out[CheckName.SessionPolicyAllows] = Check(
            na, Reason.NoSessionPolicy, "the session was not given a session policy"
        )
    else:
        s = _granted(decisions, ("session:",))
        out[CheckName.SessionPolicyAllows] = Check(
            t,
            Reason.AllowedByStatement if s else Reason.NotLimiting,
            "the session policies allow the upload",
            s,
        )

    pab = sc.bucket.public_access_block
    if not any(
        (pab.block_public_acls, pab.ignore_public_acls, pab.block_public_policy, pab.restrict_public_buckets)
    ):
        out[CheckName.PublicAccessBlockAllows] = Check(
            na, Reason.NoPublicAccessBlock, "Block Public Access is off for the bucket and its account"
        )
    else:
        out[CheckName.PublicAccessBlockAllows] = Check(
            t,
            Reason.NotTriggered,
            "Block Public Access is on, and the upload relies on no public ACL or policy",
        )

    ep = sc.request.vpc_endpoint
    if ep is None:
        out[CheckName.VPCEndpointPolicyAllows] = Check(
            na, Reason.NoVPCEndpoint, "the upload does not go through a VPC endpoint"
        )
    elif ep.policy is None:
        out[CheckName.VPCEndpointPolicyAllows] = Check(
            t, Reason.DefaultEndpointPolicy, f"VPC endpoint {ep.id} has the default full-access policy"
        )
    else:
        e = _granted(decisions, ("vpce:",))
        out[CheckName.VPCEndpointPolicyAllows] = Check(
            t, Reason.AllowedByStatement, f"the policy of VPC endpoint {ep.id} allows the upload", e
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
    plan = plan_upload(sc)
    results: list[RequestResult] = []
    findings: list[Finding] = []
    decisions: list[tuple[Probe, RequestDecision]] = []
    for probe in plan.probes:
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
    defaults = _defaults(sc, plan.probes, decisions)
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
    return Explanation(decision, tuple(results), checks)
