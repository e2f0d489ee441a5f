"""What the operator wants in AWS, computed from every admitted BucketAccess at once (level-
triggered): packed managed bucket-policy statements, one managed key-policy statement per key, or
one KMS grant per (key, role, bucket).

Packing: one statement per distinct (action set, condition), with the prefixes of every role that
holds exactly the same prefixes merged into its ``Resource`` (or its ``s3:prefix`` condition), and
those roles merged into its ``Principal``. Roles are merged only where they hold the same prefixes,
so a statement never grants a role a prefix it did not ask for.

A statement is ours when its Sid is ``BucketAccess`` + 32 hex digits: a SHA-256 digest of the
statement's own content (everything but the Sid, canonical JSON). A tenant controls part of that
content (its prefix), so the digest is of an unambiguous encoding and 128 bits long: no tenant can
make its statement's Sid equal to another's. A statement counts as holding a grant only when its
Sid is the digest of its content, i.e. exactly what this planner would write. Key-policy
statements (``BucketAccessKeyUsers`` + 32 hex) and grant names are digests of the key (and role,
bucket) the same way. The 8-digit Sids of earlier versions are still recognised as ours, so that
an upgrade replaces them.

Each shard (operator process with its own record name) puts its tag between the prefix and the
digest (``shard.py``), so every name below is a function of the shard as well: a shard plans,
holds and replaces only its own, and another shard's statements are foreign to it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..access.services import LISTS_BY_PREFIX, is_bucket_action, kms
from ..access.services.s3 import header_actions
from ..policy import Arn
from ..resources import BucketAccessSpec, BucketPolicyMode, KMSKeyUsersMode
from .merge import canonical
from .shard import ANY_BUCKET_SID, ANY_KEY_SID, DEFAULT_SHARD, Shard

# any shard's (readers of a policy count them all as the operator's; a writer owns only its shard's)
BUCKET_SID = ANY_BUCKET_SID
KEY_SID = ANY_KEY_SID
DIGEST_HEX = 32  # 128 bits: a collision cannot be searched for
# Every S3 action that sets an object's ACL (the Service Authorization Reference's S3 action list).
# Granted only under an s3:x-amz-acl condition naming the admitted canned ACLs, whatever asked
# for it: a class glob such as s3:PutObject* admits both. (s3:PutBucketAcl manages the bucket and
# is never granted at all.)
ACL_ACTIONS = frozenset(a.lower() for a in ("s3:PutObjectAcl", "s3:PutObjectVersionAcl"))
# The only bucket-level actions the operator ever grants: reading where objects are. Managing the
# bucket (its policy, ACL, Block Public Access, ...) is never a tenant's to ask for.
GRANTABLE_BUCKET_ACTIONS = frozenset(
    a.lower()
    for a in (
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:ListBucketMultipartUploads",
        "s3:GetBucketLocation",
    )
)
# The managed key-user statement lists them in the reverse order, as it always has.
KEY_USER_ACTIONS = tuple(reversed(kms.KEY_USER_ACTIONS))
GRANT_OPERATIONS = ("Decrypt", "DescribeKey", "GenerateDataKey")


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """One admitted BucketAccess, reduced to what it asks AWS to hold."""

    owner: str  # namespace/name
    role_arn: str
    bucket: str
    prefix: str
    actions: frozenset[str]
    bucket_mode: BucketPolicyMode
    kms_mode: KMSKeyUsersMode
    kms_key_arn: str | None = None  # the customer-managed key its uploads use, when one does
    acls: tuple[str, ...] = ()  # the canned ACLs a granted ACL-setting action is conditioned on
    bucket_key: bool = False  # its bucket encrypts with an S3 Bucket Key (KMS context = the bucket ARN)
    region: str = "us-east-1"

    @property
    def namespace(self) -> str:
        return self.owner.partition("/")[0]


def actions_for(
    spec_actions: Iterable[str], acl: bool, tags: bool = False, headers: Iterable[str] = ()
) -> frozenset[str]:
    """What an upload needs: s3:PutObject, s3:PutObjectAcl with an ACL header, s3:PutObjectTagging with
    an x-amz-tagging header, s3:PutObjectRetention and s3:PutObjectLegalHold with the Object Lock
    ``headers`` it sends, and the extra object actions the spec lists."""
    base = (
        {"s3:PutObject"}
        | ({"s3:PutObjectAcl"} if acl else set())
        | ({"s3:PutObjectTagging"} if tags else set())
        | set(header_actions(dict.fromkeys(headers, "")))
    )
    return frozenset(base | {a for a in spec_actions if a.lower().startswith("s3:")})


def upload_actions(spec: BucketAccessSpec) -> frozenset[str]:
    """What the upload a spec describes needs (:func:`actions_for`)."""
    upload = spec.upload
    return actions_for(
        spec.actions,
        acl=bool(upload.acl),
        tags=bool(upload.tags),
        headers=(h for h, _ in upload.more_headers),
    )


def sets_acl(action: str) -> bool:
    return action.lower() in ACL_ACTIONS


def _digest(*parts: object) -> str:
    """A digest of an unambiguous encoding: no two different inputs share the same bytes."""
    encoded = json.dumps(parts, separators=(",", ":"), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(encoded.encode()).hexdigest()[:DIGEST_HEX].upper()


def statement_sid(statement: dict[str, Any], *, shard: Shard = DEFAULT_SHARD) -> str:
    """The Sid of a managed bucket-policy statement: the shard's prefix, then the digest of the
    rest of it."""
    body = {k: v for k, v in statement.items() if k != "Sid"}
    # canonical JSON: unambiguous
    return shard.bucket_sid_prefix + _digest("bucket-statement", canonical(body))


def key_sid(key_arn: str, *, shard: Shard = DEFAULT_SHARD) -> str:
    return shard.key_sid_prefix + _digest("key-users", key_arn)


def grant_name(key_arn: str, role_arn: str, bucket: str, *, shard: Shard = DEFAULT_SHARD) -> str:
    return shard.grant_name_prefix + _digest("grant", key_arn, role_arn, bucket)


@dataclass(frozen=True, slots=True)
class WantedGrant:
    """A KMS grant usable only for one bucket's objects: its encryption context must name the
    bucket, which is what S3 sends when the bucket uses an S3 Bucket Key."""

    grantee: str
    bucket: str

    @property
    def constraints(self) -> dict[str, dict[str, str]]:
        return {"EncryptionContextSubset": {"aws:s3:arn": f"arn:aws:s3:::{self.bucket}"}}


def _one_or_list(values: Iterable[str]) -> str | list[str]:
    items = sorted(set(values))
    return items[0] if len(items) == 1 else items


@dataclass(frozen=True, slots=True)
class _Part:
    """What one claim needs in one statement kind; claims with equal parts share a statement."""

    kind: str  # "objects" | "acl" | "listing" | "reading"
    actions: tuple[str, ...]
    acls: tuple[str, ...] = ()
    scope: str | None = None  # the prefix it is limited to; None: the whole bucket


def _parts(c: Claim) -> list[_Part]:
    objects = tuple(sorted(a for a in c.actions if not is_bucket_action(a) and not sets_acl(a)))
    acl = tuple(sorted(a for a in c.actions if sets_acl(a)))
    listing = tuple(sorted(a for a in c.actions if a.lower() in LISTS_BY_PREFIX))
    reading = tuple(
        sorted(
            a
            for a in c.actions
            if is_bucket_action(a) and a.lower() in GRANTABLE_BUCKET_ACTIONS - LISTS_BY_PREFIX
        )
    )
    out = []
    if objects:
        out.append(_Part("objects", objects, scope=c.prefix))
    if acl and c.acls:
        out.append(_Part("acl", acl, tuple(sorted(c.acls)), scope=c.prefix))
    if listing:
        out.append(_Part("listing", listing, scope=c.prefix or None))
    if reading:
        out.append(_Part("reading", reading))
    return out


def _statement(
    bucket: str,
    part: _Part,
    roles: Sequence[str],
    scopes: Sequence[str | None],
    shard: Shard = DEFAULT_SHARD,
) -> dict[str, Any]:
    if part.kind in ("objects", "acl"):
        resource: str | list[str] = _one_or_list(f"arn:aws:s3:::{bucket}/{s or ''}*" for s in scopes)
    else:
        resource = f"arn:aws:s3:::{bucket}"
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": _one_or_list(roles)},
        "Action": part.actions[0] if len(part.actions) == 1 else list(part.actions),
        "Resource": resource,
    }
    if part.kind == "acl":
        # the role cannot make an object public (or hand it to anyone) with it: only the canned
        # ACLs admitted for the request, sent as the x-amz-acl header
        statement["Condition"] = {"StringEquals": {"s3:x-amz-acl": _one_or_list(part.acls)}}
    elif part.kind == "listing" and scopes != [None]:
        # listing is authorized against the bucket ARN: limited to the prefixes by s3:prefix
        statement["Condition"] = {"StringLike": {"s3:prefix": _one_or_list(f"{s}*" for s in scopes if s)}}
    return {"Sid": statement_sid(statement, shard=shard), **statement}


def bucket_statements(
    bucket: str, claims: Iterable[Claim], *, shard: Shard = DEFAULT_SHARD
) -> list[dict[str, Any]]:
    """The shard's managed Allow statements the bucket policy should hold, packed, sorted by Sid."""
    groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], dict[str | None, set[str]]] = {}
    for c in claims:
        if c.bucket != bucket or c.bucket_mode is not BucketPolicyMode.Manage:
            continue
        for part in _parts(c):
            # a whole-bucket listing has no s3:prefix condition: a statement of its own
            key = (
                part.kind + ("" if part.scope is not None or part.kind != "listing" else "-all"),
                part.actions,
                part.acls,
            )
            groups.setdefault(key, {}).setdefault(part.scope, set()).add(c.role_arn)
    out = []
    for (kind, actions, acls), by_scope in groups.items():
        by_roles: dict[tuple[str, ...], list[str | None]] = {}
        for scope, roles in by_scope.items():
            by_roles.setdefault(tuple(sorted(roles)), []).append(scope)
        part = _Part(kind.removesuffix("-all"), actions, acls)
        for roles_, scopes in by_roles.items():
            ordered = sorted(scopes, key=lambda s: (s is not None, s or ""))
            out.append(_statement(bucket, part, roles_, ordered, shard))
    return sorted(out, key=lambda s: s["Sid"])


def policy_bytes(statements: Iterable[dict[str, Any]]) -> int:
    """What these statements add to a policy's size, as the merge writes them (compact JSON)."""
    return sum(len(json.dumps(s, separators=(",", ":")).encode()) + 1 for s in statements)


def _sets(
    statement: dict[str, Any],
) -> tuple[frozenset[str], frozenset[str], frozenset[str], dict[str, frozenset[str]]]:
    def many(v: Any) -> frozenset[str]:
        return frozenset([v] if isinstance(v, str) else (v or []))

    principal = statement.get("Principal")
    aws = principal.get("AWS") if isinstance(principal, dict) else None
    conditions = {
        f"{op}/{key}": many(value)
        for op, block in (statement.get("Condition") or {}).items()
        if isinstance(block, dict)
        for key, value in block.items()
    }
    return many(statement.get("Action")), many(aws), many(statement.get("Resource")), conditions


def covers(statement: dict[str, Any], needed: dict[str, Any]) -> bool:
    """Does ``statement`` grant everything ``needed`` grants, and under the same conditions?"""
    if statement.get("Effect") != "Allow":
        return False
    actions, principals, resources, conditions = _sets(statement)
    n_actions, n_principals, n_resources, n_conditions = _sets(needed)
    return (
        actions == n_actions
        and n_principals <= principals
        and n_resources <= resources
        and conditions.keys() == n_conditions.keys()
        and all(n_conditions[k] <= conditions[k] for k in conditions)
    )


def exactly_ours(statement: object, *, shard: Shard = DEFAULT_SHARD) -> bool:
    """A managed statement exactly as this shard's planner writes it: its Sid is the shard's
    prefix and the digest of the rest."""
    return isinstance(statement, dict) and statement.get("Sid") == statement_sid(statement, shard=shard)


LEGACY_BUCKET_SID = re.compile(r"^BucketAccess[0-9A-F]{8}[BR]?$")


def held(bucket: str, claim: Claim, live: Iterable[object], *, shard: Shard = DEFAULT_SHARD) -> bool:
    """Is every statement this claim needs in place, in statements that are exactly the shard's
    (or, where it owns the untagged names, were written by an earlier version, until the next write
    replaces them)? Another shard's statement never holds it: that shard may remove it at any time."""
    untagged = not shard.tag or shard.untagged
    ours = [
        s
        for s in live
        if exactly_ours(s, shard=shard)
        or (untagged and shard.tag and exactly_ours(s))  # (the default shard's is the call above)
        or (untagged and isinstance(s, dict) and LEGACY_BUCKET_SID.match(str(s.get("Sid", ""))))
    ]
    return all(
        any(covers(s, needed) for s in ours)  # type: ignore[arg-type]
        for needed in bucket_statements(bucket, [claim])
    )


def covering_sid(statements: Iterable[dict[str, Any]], bucket: str, claim: Claim) -> str | None:
    """The Sid of the statement among ``statements`` that holds this claim's uploads (its first
    part), or None when none does."""
    if (
        claim.bucket != bucket
        or claim.bucket_mode is not BucketPolicyMode.Manage
        or not (parts := _parts(claim))
    ):
        return None
    needed = _statement(bucket, parts[0], [claim.role_arn], [parts[0].scope])
    return next((str(s["Sid"]) for s in statements if covers(s, needed)), None)


def key_statements(
    key_arn: str, claims: Iterable[Claim], *, shard: Shard = DEFAULT_SHARD
) -> list[dict[str, Any]]:
    """The shard's managed key-user statement: the roles may use the key only through S3."""
    mine = [c for c in claims if c.kms_key_arn == key_arn and c.kms_mode is KMSKeyUsersMode.KeyPolicy]
    if not mine:
        return []
    roles = sorted({c.role_arn for c in mine})
    region = Arn.parse(key_arn).region
    sid = key_sid(key_arn, shard=shard)
    return [kms.key_user_statement(sid, _one_or_list(roles), region, KEY_USER_ACTIONS)]


def key_grants(
    key_arn: str, claims: Iterable[Claim], *, shard: Shard = DEFAULT_SHARD
) -> dict[str, WantedGrant]:
    """Grant name -> the grant, for the Grant mode: one per (role, bucket), only for buckets with
    an S3 Bucket Key (without one the context is each object's ARN, which no grant constraint can
    cover, and an unconstrained grant would let the role use the key directly)."""
    return {
        grant_name(key_arn, c.role_arn, c.bucket, shard=shard): WantedGrant(c.role_arn, c.bucket)
        for c in claims
        if c.kms_key_arn == key_arn and c.kms_mode is KMSKeyUsersMode.Grant and c.bucket_key
    }
