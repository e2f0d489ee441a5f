"""Plain-words explanations and fixes, derived from the deciding statements (data first, words after).

Every message fits on one line of ``kubectl describe``: what blocks, then what to change. A fix that
is a statement to add or a header to send is also returned as data (:class:`Fix`), and the words
quote that data, so what is printed is what works when pasted. Suggested statements name what the
request is for (``BUCKET/PREFIX*``, the bucket for a bucket action), never the probe's one key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, assert_never

from ..policy import (
    Cause,
    CauseKind,
    ConditionClause,
    Hit,
    Layer,
    NearMiss,
    PolicyOrigin,
    PolicySource,
    PrincipalKind,
    RequestContext,
    RequestDecision,
    analyze,
)
from ..policy.statements import not_principal_applies
from ..policy.variables import Unresolvable, has_variables, substitute
from ..policy.wildcards import glob_match
from ..vocabulary import Reason
from .checks import Blame, Fix, FixPolicy, StatementFix
from .scenario import POD_IDENTITY_POLICY, KeyManager, Ownership, Scenario
from .services import kms
from .services.common import Probe, Service
from .services.kms import MANAGED_S3_ALIAS
from .services.s3 import (
    acl_allows,
    acl_headers,
    acl_permission,
    is_bucket_action,
    public_statements,
    resource_near_misses,
    s3_resource,
)

_LEVEL_NAMES = ("root", "OU", "OU", "OU", "OU", "OU")
_ORGANIZATION = (PolicyOrigin.SCP, PolicyOrigin.RCP)
_ENCRYPTION_VALUES = ("aws:kms", "aws:kms:dsse", "AES256")
# The positive operators whose values a request can carry as they are (a header value to send).
_SENDABLE = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"})

Remedy = tuple[str, Fix | None]


def where(source: PolicySource, probe: Probe | None = None) -> str:
    """A policy in words: ``identity policy uploader``, ``SCP DenyS3 (level 1)`` ..."""
    name = source.name
    match source.origin:  # the most frequent first: each case looks its member up
        case PolicyOrigin.Identity:
            return f"identity policy {name}"
        case PolicyOrigin.BucketPolicy:
            return "bucket policy"
        case PolicyOrigin.KeyPolicy:
            return f"key policy of {probe.resource}" if probe else "key policy"
        case PolicyOrigin.BucketACL:
            return "bucket ACL"
        case PolicyOrigin.KMSGrant:
            return "KMS grant"
        case PolicyOrigin.Boundary:
            return f"permissions boundary {name}"
        case PolicyOrigin.Session:
            return f"session policy {name}"
        case PolicyOrigin.VPCEndpoint:
            return f"VPC endpoint {name} policy"
        case PolicyOrigin.SCP | PolicyOrigin.RCP:
            return f"{source.origin.upper()} {name} ({level_name(source.level or 0)})"
        case PolicyOrigin.Trust:
            return str(source)
        case unreachable:
            assert_never(unreachable)


def level_name(level: int) -> str:
    return f"level {level}" + (" root" if level == 0 else "")


def what(sc: Scenario) -> str:
    """How the request is called in words: "upload" for s3:PutObject, else "the ACTION request"."""
    action = sc.request.action
    return "upload" if action.lower() == "s3:putobject" else f"{action} request"


def who(sc: Scenario) -> str:
    caller = sc.request.caller
    return caller.role_arn or caller.arn


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _values(clause: ConditionClause) -> str:
    return " or ".join(clause.values)


def _header(key: str) -> str | None:
    lowered = key.lower()
    return lowered[3:] if lowered.startswith("s3:x-amz-") else None


def _pick(pattern: str, candidates: list[str]) -> str:
    """A concrete value for a wildcard pattern, when the scenario knows one that fits."""
    if ("*" not in pattern and "?" not in pattern) or not candidates:
        return pattern
    return next((c for c in candidates if glob_match(pattern, c)), pattern)


def _candidates(sc: Scenario | None) -> list[str]:
    candidates = sorted(sc.kms_keys) if sc else []
    if sc and sc.bucket.encryption and sc.bucket.encryption.kms_key_arn:
        candidates.insert(0, sc.bucket.encryption.kms_key_arn)
    return candidates


def _header_values(header: str, value: str) -> dict[str, str] | None:
    """The headers that send ``header`` with ``value`` (already picked for its pattern); None when
    no concrete value is known (a wildcard the scenario cannot fill, an encryption value S3 refuses)."""
    if "*" in value or "?" in value:
        return None
    if header == "x-amz-server-side-encryption" and value not in _ENCRYPTION_VALUES:
        return None
    out = {header: value}
    if header == "x-amz-server-side-encryption-aws-kms-key-id":
        out["x-amz-server-side-encryption"] = "aws:kms"
    return out


def _send(headers: Mapping[str, str]) -> str:
    listed = " and ".join(f"{k}: {v}" for k, v in headers.items())
    return f"upload with header{'s' if len(headers) > 1 else ''} {listed}"


def condition_escape(clause: ConditionClause, sc: Scenario | None) -> tuple[str, str, dict[str, str] | None]:
    """For a Deny whose condition holds: (the condition in words, how the request escapes it, and
    the headers that escape it when that is a header with a known value)."""
    key, op = clause.key, clause.operator
    verb = op.verb
    header = _header(key)
    if op.name == "Null":
        wants_absent = clause.values[0].lower() == "true"
        if wants_absent:
            fix = f"upload with header {header}" if header else f"make the request carry {key}"
            return f"when {key} is absent", fix, None
        return f"when {key} is present", f"upload without header {header}" if header else f"drop {key}", None
    if op.negated:
        phrase = f"unless {key} {verb} {_values(clause)}"
        if header:
            value = _pick(clause.values[0], _candidates(sc))
            headers = _header_values(header, value)
            if headers is not None:
                return phrase, _send(headers), headers
            extra = (
                " (with x-amz-server-side-encryption: aws:kms)" if header.endswith("aws-kms-key-id") else ""
            )
            if "*" in value or "?" in value:
                return phrase, f"upload with header {header} set to a value matching {value}{extra}", None
            return phrase, f"upload with header {header}: {value}{extra}", None
        return phrase, f"send requests where {key} {verb} {_values(clause)}", None
    if op.name == "Bool" and key.lower() == "aws:securetransport" and clause.values[0].lower() == "false":
        return "over plain HTTP", "use HTTPS", None
    phrase = f"when {key} {verb} {_values(clause)}"
    if header:
        return phrase, f"do not send header {header} with that value", None
    return phrase, f"send requests where {key} is not {_values(clause)}", None


def condition_need(clause: ConditionClause, sc: Scenario | None) -> tuple[str, str, dict[str, str] | None]:
    """For an Allow whose condition fails: (what it requires, how to meet it, the headers that do)."""
    key, op = clause.key, clause.operator
    header = _header(key)
    verb = op.verb
    positive = op.name in _SENDABLE
    if header and positive and not clause.qualifier:
        phrase = f"when {key} {verb} {_values(clause)}"
        headers = _header_values(header, _pick(clause.values[0], _candidates(sc)))
        if headers is not None:
            return phrase, _send(headers), headers
        return phrase, f"upload with header {header} set to a value matching {clause.values[0]}", None
    if op.name == "Null" and header:
        present = clause.values[0].lower() == "false"
        return (
            f"when {key} is {'present' if present else 'absent'}",
            f"upload {'with' if present else 'without'} header {header}",
            None,
        )
    return f"when {clause.written} {key} {_values(clause)} holds", f"make the request meet {key}", None


def allow_statement(probe: Probe) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": probe.action, "Resource": probe.cover}


def grant_statement(principal: str, action: str, resource: str, condition: object = None) -> dict[str, Any]:
    stmt: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": action,
        "Resource": resource,
    }
    if condition:
        stmt["Condition"] = condition
    return stmt


def key_user_statement(role: str, region: str) -> dict[str, Any]:
    return kms.key_user_statement("AllowUseThroughS3", role, region)


def _condition_block(clauses: tuple[ConditionClause, ...]) -> dict[str, dict[str, object]]:
    block: dict[str, dict[str, object]] = {}
    for c in clauses:
        block.setdefault(c.written, {})[c.key] = c.values[0] if len(c.values) == 1 else list(c.values)
    return block


def _acl_companions(
    probe: Probe, sc: Scenario, headers: Mapping[str, str], condition: object = None
) -> tuple[list[StatementFix], str]:
    """An upload that starts sending an ACL header is also checked for s3:PutObjectAcl (the
    article's cause 1): the statements that grant it where nothing does yet, and why, in words."""
    if probe.service is not Service.S3 or probe.authorization is None:
        return [], ""
    if sc.request.action.lower() != "s3:putobject" or acl_headers(sc.request.headers):
        return [], ""
    if not acl_headers(dict(headers)):
        return [], ""
    auth = probe.authorization
    keys = dict(auth.ctx.keys) | {f"s3:{k}": (v,) for k, v in headers.items()}
    action = "s3:PutObjectAcl"
    ctx = RequestContext(action, s3_resource(sc.bucket.name, sc.request.key, action), auth.ctx.caller, keys)
    out: list[StatementFix] = []
    caller = sc.request.caller
    if caller.kind is not PrincipalKind.Account and not any(
        analyze(p.policy, p.source, ctx).allows for p in auth.identity
    ):
        out.append(
            StatementFix.of(
                FixPolicy.Identity, {"Effect": "Allow", "Action": action, "Resource": probe.cover}
            )
        )
    side = auth.resource
    if caller.account != sc.bucket.account and side is not None:
        granted = side.policy is not None and any(
            h.statement.index not in side.voided
            for h in analyze(side.policy.policy, side.policy.source, ctx).allows
        )
        if not granted and not acl_allows(sc, action)[0]:
            out.append(
                StatementFix.of(
                    FixPolicy.BucketPolicy, grant_statement(who(sc), action, probe.cover, condition)
                )
            )
    if not out:
        return [], ""
    places = " and ".join(
        f"{_json(s.document)} to the {'bucket policy' if s.policy is FixPolicy.BucketPolicy else 'identity policy'}"
        for s in out
    )
    return out, f" (an ACL header also needs s3:PutObjectAcl: add {places})"


def deny_remedy(hits: list[Hit], probe: Probe, sc: Scenario | None) -> Remedy:
    hit = hits[0]
    stmt = hit.statement
    head = f"{where(hit.ref.source, probe)} statement {hit.ref.sid} denies {probe.action}"
    caller = sc.request.caller if sc else None
    if (
        stmt.not_principal is not None
        and caller is not None
        and caller.has_boundary
        and not not_principal_applies(stmt.not_principal, caller)
    ):
        return (
            f"{head}: a Deny with NotPrincipal denies every role or user that has a permissions boundary, "
            f"whatever it lists, and {caller.role_arn or caller.arn} has one; only its owner can fix it, by "
            'replacing NotPrincipal with Principal "*" and an ArnNotEquals aws:PrincipalArn condition',
            None,
        )
    owner = "the organization's administrators" if hit.ref.origin in _ORGANIZATION else "its owner"
    if not stmt.conditions:
        return f"{head} on {probe.cover} with no condition; only {owner} can remove or narrow it", None
    if probe.service is Service.KMS and any(_header(c.key) for c in stmt.conditions):
        # S3 calls KMS on the caller's behalf, and that request carries no s3: keys: no header
        # the client sends can take it out of such a Deny.
        phrases = [condition_escape(c, sc)[0] for c in stmt.conditions]
        return (
            f"{head} {' and '.join(phrases)}, and the KMS request S3 makes for the upload carries no s3: "
            f"condition keys, so no header avoids it; only {owner} can narrow it to the S3 actions"
        ), None
    # each condition's (words, fix, headers that escape it), as three columns
    said, fixes, escaping = zip(*[condition_escape(c, sc) for c in stmt.conditions], strict=True)
    message = f"{head} {' and '.join(said)}; {'; or '.join(dict.fromkeys(fixes))}"
    if probe.service is Service.KMS:
        return message, None  # S3 sends KMS no header of the client's
    headers: dict[str, str] = {}
    for n, h in enumerate(hits):  # every Deny of this layer must be escaped; one header per Deny suffices
        if n:
            escaping = tuple(condition_escape(c, sc)[2] for c in h.statement.conditions)
        found = next(filter(None, escaping), None)
        if found is None or any(headers.get(k, v) != v for k, v in found.items()):
            return message, None
        headers |= found
    if sc is None:
        return message, Fix(headers=tuple(headers.items()))
    extra, words = _acl_companions(probe, sc, headers)
    return message + words, Fix(tuple(extra), tuple(headers.items()))


def _near(decision: RequestDecision, layer: Layer) -> list[NearMiss]:
    return [m for a in decision.analyses.get(layer, ()) for m in a.near_misses if m.ref.effect == "Allow"]


def _near_note(misses: list[NearMiss]) -> str:
    if not misses:
        return ""
    m = misses[0]
    failing = ", ".join(f"{c.written} {c.key}" for c in m.failing)
    return f" ({where(m.ref.source)} statement {m.ref.sid} would allow it but its condition {failing} is not met)"


def _unsupported_note(decision: RequestDecision, layer: Layer) -> str:
    refs = [r for a in decision.analyses.get(layer, ()) for r in a.unsupported]
    if not refs:
        return ""
    return (
        f" ({where(refs[0].source)} statement {refs[0].sid} is an Allow with NotPrincipal, which AWS supports only "
        "with Deny, so it grants nothing)"
    )


def condition_remedy(misses: list[NearMiss], probe: Probe, sc: Scenario) -> Remedy:
    """A cross-account grant whose condition the request does not meet: the bucket policy is the
    layer that refuses, and the fix is what meets the condition (a header and its value)."""
    chosen = misses[0]
    needs: list[tuple[str, str, dict[str, str] | None]] = []
    for m in misses:
        needs = [condition_need(c, sc) for c in m.failing]
        if all(n[2] is not None for n in needs):
            chosen = m
            break
    else:
        needs = [condition_need(c, sc) for c in chosen.failing]
    phrases = [n[0].removeprefix("when ") if i else n[0] for i, n in enumerate(needs)]
    head = (
        f"bucket policy statement {chosen.ref.sid} allows {probe.action} for {who(sc)} only "
        f"{' and '.join(phrases)}, which this request does not meet"
    )
    if not all(n[2] is not None for n in needs):
        return f"{head}; {'; '.join(dict.fromkeys(n[1] for n in needs))}", None
    headers: dict[str, str] = {}
    for n in needs:
        assert n[2] is not None
        headers |= n[2]
    extra, words = _acl_companions(probe, sc, headers, _condition_block(chosen.statement.conditions))
    return f"{head}; {_send(headers)}{words}", Fix(tuple(extra), tuple(headers.items()))


def acl_remedy(probe: Probe, decision: RequestDecision, sc: Scenario) -> Remedy:
    """ACLs enabled and no bucket-side grant: the ACL is where S3 lets another account (or the
    owner's root user) in, so both fixes are named; the bucket-policy one as data."""
    caller = sc.request.caller
    permission = acl_permission(probe.action)
    note = _unsupported_note(decision, Layer.Resource)
    if caller.kind is PrincipalKind.Account and caller.account == sc.bucket.account:
        stmt = grant_statement(caller.arn, probe.action, probe.cover)
        return (
            f"the bucket's ACL grants {permission} to neither the bucket owner (account {caller.account}) nor a "
            f"group, and its policy grants {probe.action} to neither the root user nor the account{note}; with ACLs "
            f"enabled the owner's root user needs one of them; give the owner's canonical id {permission} in the "
            f"ACL again, or this bucket-policy Allow: {_json(stmt)}",
            Fix((StatementFix.of(FixPolicy.BucketPolicy, stmt),)),
        )
    stmt = grant_statement(who(sc), probe.action, probe.cover)
    return (
        f"the bucket ACL grants {permission} to neither account {caller.account} nor a group, and the bucket "
        f"policy grants {probe.action} to neither {who(sc)} nor that account{note}; add an ACL {permission} grant "
        f"for the account's canonical id, or this bucket-policy Allow: {_json(stmt)}",
        Fix((StatementFix.of(FixPolicy.BucketPolicy, stmt),)),
    )


def public_acl_ignored_remedy(sc: Scenario, probe: Probe) -> Remedy:
    stmt = grant_statement(who(sc), probe.action, probe.cover)
    return (
        f"Block Public Access (IgnorePublicAcls) voids the bucket ACL's public {acl_permission(probe.action)} "
        f"grant; grant the caller in the bucket policy instead: {_json(stmt)}",
        Fix((StatementFix.of(FixPolicy.BucketPolicy, stmt),)),
    )


def no_allow_remedy(cause: Cause, probe: Probe, decision: RequestDecision, sc: Scenario) -> Remedy:
    caller = sc.request.caller
    role = who(sc)
    layer = cause.layer
    if layer in (Layer.SCP, Layer.RCP):
        names = ", ".join(s.name for s in cause.sources) or "none"
        binds = "the caller's account" if layer is Layer.SCP else "the resource's account"
        return (
            f"no {layer.value.upper()} at {level_name(cause.level or 0)} of {binds} allows {probe.action} "
            f"(policies there: {names}); only the organization's administrators can change it"
        ), None
    stmt = allow_statement(probe)
    if layer is Layer.Boundary:
        return (
            f"{where(cause.sources[0])} does not allow {probe.action} on {probe.cover}"
            f"{_near_note(_near(decision, layer))}; add {_json(stmt)} to the boundary, which caps what {role} may do"
        ), Fix((StatementFix.of(FixPolicy.PermissionsBoundary, stmt),))
    if layer is Layer.Session:
        if sc.session is not None and any(s.name == POD_IDENTITY_POLICY for s in cause.sources):
            association = f" {sc.session.association_id}" if sc.session.association_id else ""
            where_to = (
                f"add {_json(stmt)} to the policy of the Pod Identity association{association} "
                "(eks:UpdatePodIdentityAssociation --policy)"
            )
        else:
            where_to = f"pass a session policy with {_json(stmt)} when assuming the role"
        return (
            f"the session policies ({', '.join(where(s) for s in cause.sources)}) do not allow {probe.action} "
            f"on {probe.cover}; {where_to}"
        ), Fix((StatementFix.of(FixPolicy.SessionPolicy, stmt),))
    if layer is Layer.Endpoint:
        ep_stmt = {"Effect": "Allow", "Principal": "*", "Action": probe.action, "Resource": probe.cover}
        return (
            f"{where(cause.sources[0])} does not allow {probe.action} on {probe.cover}"
            f"{_near_note(_near(decision, layer))}; add {_json(ep_stmt)} to the endpoint policy"
        ), Fix((StatementFix.of(FixPolicy.VPCEndpointPolicy, ep_stmt),))
    if probe.service is Service.KMS:
        key = probe.resource
        if layer is Layer.Resource:
            if probe.key is not None and probe.key.manager is KeyManager.AWS:
                return (
                    f"the AWS managed key {key} serves only principals of account {probe.key.account} through S3 "
                    f"and its policy cannot be edited; encrypt with a customer managed key whose policy lets {role} "
                    "use it"
                ), None
            kstmt = key_user_statement(role, sc.region)
            return (
                f"the key policy of {key} neither lets {role} use it nor delegates to account {caller.account}"
                f"{_near_note(_near(decision, Layer.Resource))}; add {role} as a key user: {_json(kstmt)}"
            ), Fix((StatementFix.of(FixPolicy.KeyPolicy, kstmt, key),))
        istmt = {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key}
        return (
            f"the key policy of {key} delegates to account {caller.account} but no identity policy of {role} "
            f"allows {probe.action} on it{_near_note(_near(decision, Layer.Identity))}; add {_json(istmt)} to "
            "its identity policy, or add it as a key user"
        ), Fix((StatementFix.of(FixPolicy.Identity, istmt),))
    if layer is Layer.Resource:
        bstmt = grant_statement(role, probe.action, probe.cover)
        acl = " or bucket ACL" if sc.bucket.ownership is not Ownership.BucketOwnerEnforced else ""
        return (
            f"the bucket is in account {sc.bucket.account} and its policy{acl} grants {probe.action} to neither "
            f"{role} nor account {caller.account}{_near_note(_near(decision, Layer.Resource))}"
            f"{_unsupported_note(decision, Layer.Resource)}; add {_json(bstmt)} to the bucket policy "
            "(BucketAccessClass reconcile.bucketPolicy: Manage does it)"
        ), Fix((StatementFix.of(FixPolicy.BucketPolicy, bstmt),))
    same = sc.bucket.account == caller.account
    tail = (
        ", or let the operator grant it in the bucket policy (BucketAccessClass reconcile.bucketPolicy: Manage)"
        if same and not is_bucket_action(probe.action)
        else ""
        if same
        else f" (a cross-account {'upload' if probe.action.lower() == 's3:putobject' else 'request'} needs it on both sides)"
    )
    return (
        f"no identity policy of {role} allows {probe.action} on {probe.cover}"
        f"{_near_note(_near(decision, Layer.Identity))}{variable_note(probe)}; attach {_json(stmt)} to it{tail}"
    ), Fix((StatementFix.of(FixPolicy.Identity, stmt),))


_VARIABLE = re.compile(r"\$\{\s*([^},]+?)\s*(?:,[^}]*)?\}")


def variable_note(probe: Probe) -> str:
    """For identity statements that name the action but whose Resource holds policy variables
    (ABAC on session tags): what the Resource became for this caller, with each variable's value."""
    auth = probe.authorization
    if auth is None:
        return ""
    ctx = auth.ctx
    notes = []
    for named in auth.identity:
        for stmt in named.policy.statements:
            actions = stmt.action_matcher
            if str(stmt.effect) != "Allow" or not stmt.resources or actions is None:
                continue
            if actions.matches(ctx.action) != (stmt.actions is not None):
                continue
            for pattern in stmt.resources:
                if not has_variables(pattern):
                    continue
                names = [n for n in _VARIABLE.findall(pattern) if n not in ("*", "?", "$")]
                values = ", ".join(
                    f"`${{{n}}}` = `{ctx.single(n)}`" for n in names if ctx.single(n) is not None
                )
                try:
                    resolved = substitute(pattern, ctx.single)
                except Unresolvable as exc:
                    notes.append(
                        f"{named.source} statement {stmt.label} names {pattern}, but the session has no {exc}"
                    )
                    continue
                notes.append(
                    f"{where(named.source)} statement {stmt.label} allows only {resolved} here: {values}"
                )
    return f" ({'; '.join(notes)})" if notes else ""


def voided_remedy(cause: Cause, probe: Probe, sc: Scenario) -> Remedy:
    """No statement to paste: what ends it is taking a public statement out (or fixing its caller),
    which is an edit of someone's statement, or turning RestrictPublicBuckets off."""
    return (
        f"Block Public Access (RestrictPublicBuckets) voids every grant to another account while the bucket "
        f"policy is public, and statement(s) {', '.join(public_statements(sc)) or '?'} make it public "
        f"(a bad action granted to * with no condition fixing the caller); "
        f"the grant(s) {', '.join(r.sid for r in cause.statements) or 'for this caller'} are void until those "
        "statements name fixed principals, or fix aws:SourceAccount, aws:SourceArn, aws:SourceVpc, aws:SourceVpce, "
        "aws:SourceOwner, aws:SourceIp or aws:userid to fixed values, or are removed"
    ), None


def refusal_message(probe: Probe, sc: Scenario) -> str:
    r = probe.refusal
    key = probe.key.arn if probe.key else probe.resource
    if r is Reason.ACLNotSupported:
        return (
            f"the bucket's ACLs are disabled (BucketOwnerEnforced) and the upload sends {probe.detail}: "
            "S3 answers 400 AccessControlListNotSupported; send x-amz-acl: bucket-owner-full-control or no ACL header"
        )
    if r is Reason.PublicACLBlocked:
        return (
            f"Block Public Access (BlockPublicAcls) refuses the public ACL {probe.detail}; "
            "drop the header or send x-amz-acl: bucket-owner-full-control"
        )
    if r is Reason.KeyIdWithoutKMSHeader:
        return (
            f"the upload names KMS key {probe.detail} without x-amz-server-side-encryption: aws:kms; "
            "S3 answers 400 InvalidArgument; send both headers"
        )
    if r is Reason.KMSKeyDisabled:
        return f"KMS key {key} is disabled; S3 answers KMS.DisabledException; enable the key or use another"
    if r is Reason.KMSKeyPendingDeletion:
        return f"KMS key {key} is pending deletion; cancel the deletion (kms:CancelKeyDeletion) or use another key"
    if r is Reason.KMSKeyWrongRegion:
        region = probe.key.region if probe.key else "?"
        return f"KMS key {key} is in {region} but the bucket is in {sc.region}; S3 needs a key in the bucket's region"
    if r is Reason.KMSKeyNotFound:
        if probe.detail:  # named by alias or key id from another account
            return f"KMS key {probe.detail}; S3 answers KMS.NotFoundException"
        return f"KMS key {key} does not exist; point the bucket's default encryption (or the upload) at an existing key"
    if r is Reason.RoleNotFound:
        return f"role {who(sc)} does not exist; create it or fix the role ARN (or the ServiceAccount's eks.amazonaws.com/role-arn annotation)"
    if r is Reason.BucketNotFound:
        return f"bucket {sc.bucket.name} does not exist (S3 answers 404 NoSuchBucket); create it or fix spec.bucket"
    if r is Reason.KMSKeyNotInScenario:
        name = "the AWS managed key aws/s3" if probe.detail == MANAGED_S3_ALIAS else f"KMS key {probe.detail}"
        return f"{name} is not described, so whether the role may use it is unknown"
    return f"the policy of KMS key {key} is not described, so whether the role may use it is unknown"


def cause_remedy(cause: Cause, probe: Probe, decision: RequestDecision, sc: Scenario) -> Remedy:
    if cause.kind is CauseKind.ExplicitDeny:
        hits = [h for h in decision.denying_hits if h.ref in cause.statements]
        return deny_remedy(hits, probe, sc) if hits else (f"{probe.action} is explicitly denied", None)
    if cause.kind is CauseKind.Voided:
        return voided_remedy(cause, probe, sc)
    return no_allow_remedy(cause, probe, decision, sc)


# The reasons whose fix is not the cause's own (most findings are not one of these).
_OWN_REMEDIES = frozenset(
    {Reason.AllowConditionNotMet, Reason.NoWriteGrant, Reason.NoACLGrant, Reason.PublicACLIgnored}
)


def blame_remedy(blame: Blame, probe: Probe, decision: RequestDecision, sc: Scenario) -> Remedy:
    """A finding in words, with its fix: the cause's own, unless the reason asks for others (a
    condition to meet, an ACL grant to add, a public ACL grant Block Public Access ignores)."""
    if blame.reason in _OWN_REMEDIES:
        if blame.reason is Reason.AllowConditionNotMet:
            return condition_remedy(resource_near_misses(decision, probe), probe, sc)
        if blame.reason in (Reason.NoWriteGrant, Reason.NoACLGrant):
            return acl_remedy(probe, decision, sc)
        return public_acl_ignored_remedy(sc, probe)
    assert blame.cause is not None
    if blame.reason is Reason.CrossAccountNotGranted and (public := public_statements(sc)):
        return (
            f"no grant for this account could take effect: the bucket policy is public ({', '.join(public)}) and "
            "Block Public Access (RestrictPublicBuckets) voids every cross-account grant while it is; see "
            "PublicAccessBlockAllows"
        ), None
    return cause_remedy(blame.cause, probe, decision, sc)
