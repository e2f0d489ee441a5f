"""What the operator wants in AWS, computed from every admitted BucketAccess at once (level-
triggered): one managed bucket-policy statement per (bucket, prefix, action set), one managed
key-policy statement per key, or one KMS grant per (key, role).

A statement is ours when its Sid is ``BucketAccess`` + 8 hex digits (``BucketAccessKeyUsers`` +
8 for key policies): stable across runs, derived from what the statement covers, never a name a
person would pick by accident.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..access.services import is_bucket_action
from ..resources import BucketPolicyMode, KMSKeyUsersMode

BUCKET_SID = re.compile(r"^BucketAccess[0-9A-F]{8}[BR]?$")
KEY_SID = re.compile(r"^BucketAccessKeyUsers[0-9A-F]{8}$")
GRANT_NAME_PREFIX = "BucketAccess-"
ACL_ACTION = "s3:PutObjectAcl"
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
LISTS_BY_PREFIX = frozenset(
    a.lower() for a in ("s3:ListBucket", "s3:ListBucketVersions")
)  # they carry s3:prefix
KEY_USER_ACTIONS = ("kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey*")
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
    acls: tuple[str, ...] = ()  # the canned ACLs a granted s3:PutObjectAcl is conditioned on
    bucket_key: bool = False  # its bucket encrypts with an S3 Bucket Key (KMS context = the bucket ARN)
    region: str = "us-east-1"


def actions_for(spec_actions: Iterable[str], acl: bool) -> frozenset[str]:
    base = {"s3:PutObject"} | ({"s3:PutObjectAcl"} if acl else set())
    return frozenset(base | {a for a in spec_actions if a.lower().startswith("s3:")})


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8].upper()


def bucket_sid(prefix: str, actions: Iterable[str]) -> str:
    return "BucketAccess" + _digest(prefix, *sorted(actions))


def claim_sid(claim: Claim) -> str:
    """The Sid of the statement that grants this claim its actions (s3:PutObjectAcl aside)."""
    return bucket_sid(claim.prefix, [a for a in claim.actions if a.lower() != ACL_ACTION.lower()])


def key_sid(key_arn: str) -> str:
    return "BucketAccessKeyUsers" + _digest(key_arn)


def grant_name(key_arn: str, role_arn: str, bucket: str) -> str:
    return GRANT_NAME_PREFIX + _digest(key_arn, role_arn, bucket)


@dataclass(frozen=True, slots=True)
class WantedGrant:
    """A KMS grant usable only for one bucket's objects: its encryption context must name the
    bucket, which is what S3 sends when the bucket uses an S3 Bucket Key."""

    grantee: str
    bucket: str

    @property
    def constraints(self) -> dict[str, dict[str, str]]:
        return {"EncryptionContextSubset": {"aws:s3:arn": f"arn:aws:s3:::{self.bucket}"}}


def _principal(roles: list[str]) -> dict[str, Any]:
    return {"AWS": roles[0] if len(roles) == 1 else roles}


def bucket_statements(bucket: str, claims: Iterable[Claim]) -> list[dict[str, Any]]:
    """The managed Allow statements the bucket policy should hold, sorted by Sid.

    s3:PutObjectAcl is never granted on its own terms: it goes into a statement of its own whose
    condition names exactly the canned ACLs admitted for the request, so that the role cannot make
    an object public (or hand it to anyone) with it.
    """
    groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], set[str]] = {}
    for c in claims:
        if c.bucket != bucket or c.bucket_mode is not BucketPolicyMode.Manage:
            continue
        plain = tuple(sorted(a for a in c.actions if a.lower() != ACL_ACTION.lower()))
        if plain:
            groups.setdefault((c.prefix, plain, ()), set()).add(c.role_arn)
        if len(plain) < len(c.actions) and c.acls:
            groups.setdefault((c.prefix, (ACL_ACTION,), tuple(sorted(c.acls))), set()).add(c.role_arn)
    out = []
    for (prefix, actions, acls), roles in groups.items():
        sid = bucket_sid(prefix, [*actions, *(f"s3:x-amz-acl={a}" for a in acls)])
        objects = [a for a in actions if not is_bucket_action(a)]
        # a bucket action is authorized against the bucket ARN: statements of their own, listing
        # limited to the prefix the object asks for (the other bucket reads have no s3:prefix)
        listing = [a for a in actions if a.lower() in LISTS_BY_PREFIX]
        reading = [
            a
            for a in actions
            if is_bucket_action(a) and a.lower() in GRANTABLE_BUCKET_ACTIONS - LISTS_BY_PREFIX
        ]
        parts = (
            (objects, sid, f"arn:aws:s3:::{bucket}/{prefix}*", None),
            (
                listing,
                sid + "B",
                f"arn:aws:s3:::{bucket}",
                {"StringLike": {"s3:prefix": f"{prefix}*"}} if prefix else None,
            ),
            (reading, sid + "R", f"arn:aws:s3:::{bucket}", None),
        )
        for part, part_sid, resource, condition in parts:
            if not part:
                continue
            statement: dict[str, Any] = {
                "Sid": part_sid,
                "Effect": "Allow",
                "Principal": _principal(sorted(roles)),
                "Action": part if len(part) > 1 else part[0],
                "Resource": resource,
            }
            if acls:
                statement["Condition"] = {
                    "StringEquals": {"s3:x-amz-acl": acls[0] if len(acls) == 1 else list(acls)}
                }
            elif condition:
                statement["Condition"] = condition
            out.append(statement)
    return sorted(out, key=lambda s: s["Sid"])


def key_statements(key_arn: str, claims: Iterable[Claim]) -> list[dict[str, Any]]:
    """The managed key-user statement: the roles may use the key only through S3."""
    mine = [c for c in claims if c.kms_key_arn == key_arn and c.kms_mode is KMSKeyUsersMode.KeyPolicy]
    if not mine:
        return []
    roles = sorted({c.role_arn for c in mine})
    region = key_arn.split(":")[3]
    return [
        {
            "Sid": key_sid(key_arn),
            "Effect": "Allow",
            "Principal": _principal(roles),
            "Action": list(KEY_USER_ACTIONS),
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        }
    ]


def key_grants(key_arn: str, claims: Iterable[Claim]) -> dict[str, WantedGrant]:
    """Grant name -> the grant, for the Grant mode: one per (role, bucket), only for buckets with
    an S3 Bucket Key (without one the context is each object's ARN, which no grant constraint can
    cover, and an unconstrained grant would let the role use the key directly)."""
    return {
        grant_name(key_arn, c.role_arn, c.bucket): WantedGrant(c.role_arn, c.bucket)
        for c in claims
        if c.kms_key_arn == key_arn and c.kms_mode is KMSKeyUsersMode.Grant and c.bucket_key
    }
