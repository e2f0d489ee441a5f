"""Plain-words explanations and fixes, derived from the deciding statements (data first, words after).

Every message fits on one line of ``kubectl describe``: what blocks, then what to change.
"""

from __future__ import annotations

import json

from ..policy import Cause, CauseKind, ConditionClause, Hit, Layer, NearMiss, RequestDecision
from ..policy.wildcards import glob_match
from .probes import Probe
from .scenario import Scenario
from .services import MANAGED_S3_ALIAS, Service, UploadRefusal

_LEVEL_NAMES = ("root", "OU", "OU", "OU", "OU", "OU")


def where(source: str, probe: Probe | None = None) -> str:
    """A source tag (``identity:uploader``, ``scp[1]:DenyS3`` ...) in words."""
    kind, _, name = source.partition(":")
    if source == "bucket-policy":
        return "bucket policy"
    if source == "key-policy":
        return f"key policy of {probe.resource}" if probe else "key policy"
    if source == "bucket-acl":
        return "bucket ACL"
    if source == "kms-grant":
        return "KMS grant"
    if kind == "identity":
        return f"identity policy {name}"
    if kind == "boundary":
        return f"permissions boundary {name}"
    if kind == "session":
        return f"session policy {name}"
    if kind == "vpce":
        return f"VPC endpoint {name} policy"
    if kind.startswith("scp[") or kind.startswith("rcp["):
        level = int(kind[4:-1])
        return f"{kind[:3].upper()} {name} ({level_name(level)})"
    return source


def level_name(level: int) -> str:
    return f"level {level}" + (" root" if level == 0 else "")


def _values(clause: ConditionClause) -> str:
    return " or ".join(clause.values)


def _header(key: str) -> str | None:
    lowered = key.lower()
    return lowered[3:] if lowered.startswith("s3:x-amz-") else None


def _pick(pattern: str, candidates: list[str]) -> str:
    """A concrete value for a wildcard pattern, when the scenario knows one that fits."""
    if "*" not in pattern and "?" not in pattern:
        return pattern
    return next((c for c in candidates if glob_match(pattern, c)), pattern)


def condition_escape(clause: ConditionClause, sc: Scenario | None) -> tuple[str, str]:
    """For a Deny whose condition holds: (the condition in words, how the upload escapes it)."""
    key, base = clause.key, clause.base
    negated = (
        base.startswith("StringNot")
        or base.startswith("ArnNot")
        or base in ("NotIpAddress", "NumericNotEquals", "DateNotEquals")
    )
    verb = "matches" if "Like" in base else "is in" if "IpAddress" in base else "is"
    header = _header(key)
    candidates = sorted(sc.kms_keys) if sc else []
    if sc and sc.bucket.encryption and sc.bucket.encryption.kms_key_arn:
        candidates.insert(0, sc.bucket.encryption.kms_key_arn)
    if base == "Null":
        wants_absent = clause.values[0].lower() == "true"
        if wants_absent:
            fix = f"upload with header {header}" if header else f"make the request carry {key}"
            return f"when {key} is absent", fix
        return f"when {key} is present", f"upload without header {header}" if header else f"drop {key}"
    if negated:
        phrase = f"unless {key} {verb} {_values(clause)}"
        if header:
            value = _pick(clause.values[0], candidates)
            extra = (
                " (with x-amz-server-side-encryption: aws:kms)" if header.endswith("aws-kms-key-id") else ""
            )
            if "*" in value or "?" in value:
                return phrase, f"upload with header {header} set to a value matching {value}{extra}"
            return phrase, f"upload with header {header}: {value}{extra}"
        return phrase, f"send requests where {key} {verb} {_values(clause)}"
    if base == "Bool" and key.lower() == "aws:securetransport" and clause.values[0].lower() == "false":
        return "over plain HTTP", "use HTTPS"
    phrase = f"when {key} {verb} {_values(clause)}"
    if header:
        return phrase, f"do not send header {header} with that value"
    return phrase, f"send requests where {key} is not {_values(clause)}"


def deny_message(hit: Hit, probe: Probe, sc: Scenario | None) -> str:
    stmt = hit.statement
    head = f"{where(hit.ref.source, probe)} statement {hit.ref.sid} denies {probe.action}"
    if not stmt.conditions:
        owner = "the organization's administrators" if hit.ref.source[:4] in ("scp[", "rcp[") else "its owner"
        return f"{head} on {probe.resource} with no condition; only {owner} can remove or narrow it"
    phrases, fixes = zip(*(condition_escape(c, sc) for c in stmt.conditions), strict=True)
    return f"{head} {' and '.join(phrases)}; {'; or '.join(dict.fromkeys(fixes))}"


def allow_statement(probe: Probe) -> str:
    return json.dumps(
        {"Effect": "Allow", "Action": probe.action, "Resource": probe.resource}, separators=(",", ":")
    )


def key_user_statement(role: str, region: str) -> str:
    return json.dumps(
        {
            "Sid": "AllowUseThroughS3",
            "Effect": "Allow",
            "Principal": {"AWS": role},
            "Action": ["kms:GenerateDataKey*", "kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
        separators=(",", ":"),
    )


def _near(decision: RequestDecision, layer: Layer) -> list[NearMiss]:
    return [m for a in decision.analyses.get(layer, ()) for m in a.near_misses if m.ref.effect == "Allow"]


def _near_note(misses: list[NearMiss]) -> str:
    if not misses:
        return ""
    m = misses[0]
    failing = ", ".join(f"{c.operator} {c.key}" for c in m.failing)
    return f" ({where(m.ref.source)} statement {m.ref.sid} would allow it but its condition {failing} is not met)"


def no_allow_message(cause: Cause, probe: Probe, decision: RequestDecision, sc: Scenario) -> str:
    caller = sc.request.caller
    who = caller.role_arn or caller.arn
    layer = cause.layer
    if layer in (Layer.SCP, Layer.RCP):
        names = ", ".join(s.split(":", 1)[1] for s in cause.sources) or "none"
        binds = "the caller's account" if layer is Layer.SCP else "the resource's account"
        return (
            f"no {layer.value.upper()} at {level_name(cause.level or 0)} of {binds} allows {probe.action} "
            f"(policies there: {names}); only the organization's administrators can change it"
        )
    if layer is Layer.Boundary:
        return (
            f"{where(cause.sources[0])} does not allow {probe.action} on {probe.resource}"
            f"{_near_note(_near(decision, layer))}; add it to the boundary, which caps what {who} may do"
        )
    if layer is Layer.Session:
        return (
            f"the session policies ({', '.join(where(s) for s in cause.sources)}) do not allow {probe.action} "
            f"on {probe.resource}; pass a session policy that allows it when assuming the role"
        )
    if layer is Layer.Endpoint:
        return (
            f"{where(cause.sources[0])} does not allow {probe.action} on {probe.resource}"
            f"{_near_note(_near(decision, layer))}; add an Allow for it to the endpoint policy"
        )
    if probe.service is Service.KMS:
        key = probe.resource
        if layer is Layer.Resource:
            return (
                f"the key policy of {key} neither lets {who} use it nor delegates to account {caller.account}"
                f"{_near_note(_near(decision, Layer.Resource))}; add {who} as a key user: "
                f"{key_user_statement(who, sc.region)}"
            )
        return (
            f"the key policy of {key} delegates to account {caller.account} but no identity policy of {who} "
            f"allows {probe.action} on it{_near_note(_near(decision, Layer.Identity))}; add "
            f"{json.dumps({'Effect': 'Allow', 'Action': ['kms:GenerateDataKey', 'kms:Decrypt'], 'Resource': key}, separators=(',', ':'))}"
            " to its identity policy, or add it as a key user"
        )
    if layer is Layer.Resource:
        acl = " or bucket ACL" if sc.bucket.ownership.value != "BucketOwnerEnforced" else ""
        return (
            f"the bucket is in account {sc.bucket.account} and its policy{acl} grants {probe.action} to neither "
            f"{who} nor account {caller.account}{_near_note(_near(decision, Layer.Resource))}; add a bucket-policy "
            f'Allow for {{"AWS":"{who}"}} on {probe.resource} (BucketAccessClass reconcile.bucketPolicy: Manage does it)'
        )
    same = sc.bucket.account == caller.account
    tail = (
        ", or let the operator grant it in the bucket policy (BucketAccessClass reconcile.bucketPolicy: Manage)"
        if same
        else " (a cross-account upload needs it on both sides)"
    )
    return (
        f"no identity policy of {who} allows {probe.action} on {probe.resource}"
        f"{_near_note(_near(decision, Layer.Identity))}; attach {allow_statement(probe)} to it{tail}"
    )


def voided_message(cause: Cause) -> str:
    sids = ", ".join(r.sid for r in cause.statements)
    return (
        f"Block Public Access (RestrictPublicBuckets) voids the public bucket-policy statement(s) {sids} for "
        'callers outside the bucket\'s account; grant the role by ARN instead of Principal "*"'
    )


def refusal_message(probe: Probe, sc: Scenario) -> str:
    r = probe.refusal
    key = probe.key.arn if probe.key else probe.resource
    if r is UploadRefusal.ACLNotSupported:
        return (
            f"the bucket's ACLs are disabled (BucketOwnerEnforced) and the upload sends {probe.detail}: "
            "S3 answers 400 AccessControlListNotSupported; send x-amz-acl: bucket-owner-full-control or no ACL header"
        )
    if r is UploadRefusal.PublicACLBlocked:
        return (
            f"Block Public Access (BlockPublicAcls) refuses the public ACL {probe.detail}; "
            "drop the header or send x-amz-acl: bucket-owner-full-control"
        )
    if r is UploadRefusal.KeyIdWithoutKMSHeader:
        return (
            f"the upload names KMS key {probe.detail} without x-amz-server-side-encryption: aws:kms; "
            "S3 answers 400 InvalidArgument; send both headers"
        )
    if r is UploadRefusal.KMSKeyDisabled:
        return f"KMS key {key} is disabled; S3 answers KMS.DisabledException; enable the key or use another"
    if r is UploadRefusal.KMSKeyPendingDeletion:
        return f"KMS key {key} is pending deletion; cancel the deletion (kms:CancelKeyDeletion) or use another key"
    if r is UploadRefusal.KMSKeyWrongRegion:
        region = probe.key.region if probe.key else "?"
        return f"KMS key {key} is in {region} but the bucket is in {sc.region}; S3 needs a key in the bucket's region"
    if r is UploadRefusal.KMSKeyNotFound:
        return f"KMS key {key} does not exist; point the bucket's default encryption (or the upload) at an existing key"
    if r is UploadRefusal.RoleNotFound:
        who = sc.request.caller.role_arn or sc.request.caller.arn
        return f"role {who} does not exist; create it or fix the role ARN (or the ServiceAccount's eks.amazonaws.com/role-arn annotation)"
    if r is UploadRefusal.BucketNotFound:
        return f"bucket {sc.bucket.name} does not exist (S3 answers 404 NoSuchBucket); create it or fix spec.bucket"
    if r is UploadRefusal.KMSKeyNotInScenario:
        what = "the AWS managed key aws/s3" if probe.detail == MANAGED_S3_ALIAS else f"KMS key {probe.detail}"
        return f"{what} is not described, so whether the role may use it is unknown"
    return f"the policy of KMS key {key} is not described, so whether the role may use it is unknown"


def cause_message(cause: Cause, probe: Probe, decision: RequestDecision, sc: Scenario) -> str:
    if cause.kind is CauseKind.ExplicitDeny:
        hits = [h for h in decision.denying_hits if h.ref in cause.statements]
        return deny_message(hits[0], probe, sc) if hits else f"{probe.action} is explicitly denied"
    if cause.kind is CauseKind.Voided:
        return voided_message(cause)
    return no_allow_message(cause, probe, decision, sc)
