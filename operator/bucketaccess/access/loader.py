"""Scenario JSON / YAML -> :class:`Scenario`. Defaults are applied here and nowhere else.

Every refusal is an :class:`InvalidInput` whose message starts with the field path, e.g.
``identity.policies[0].document.Statement[1].Effect: must be Allow or Deny``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, get_args
from urllib.parse import parse_qsl

from ..policy import Caller, InvalidInput, PolicyKind, PrincipalKind, normalize_keys, parse_policy
from ..policy.model import Policy
from ..vocabulary import LAYERS, ConditionType, IdentitySource, Reason
from .scenario import (
    POD_IDENTITY_POLICY,
    Acl,
    AclGrant,
    Bucket,
    Encryption,
    Identity,
    KeyManager,
    KeyState,
    KmsGrant,
    KmsKey,
    NamedDocument,
    Organization,
    OrgChains,
    Ownership,
    PublicAccessBlock,
    Request,
    Scenario,
    Session,
    SessionSource,
    TargetRole,
    UnknownLayer,
    VpcEndpoint,
)
from .services.s3 import ACCOUNT_ACTIONS, STORAGE_CLASSES

DEFAULT_REGION = "us-east-1"
DEFAULT_KEY = "probe-object"
_BUCKET = re.compile(r"^(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_PRINCIPAL = re.compile(
    r"^arn:aws:(?:(?P<iam>iam)::(?P<acct>\d{12}):(?P<what>root|role/(?P<rolepath>.+)|user/(?P<userpath>.+))"
    r"|sts::(?P<sacct>\d{12}):assumed-role/(?P<srole>[\w+=,.@-]+)/(?P<session>[\w+=,.@-]+))$"
)
_ROLE_ARN = re.compile(r"^arn:aws:iam::(?P<acct>\d{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+)$")
_CLUSTER_ARN = re.compile(
    r"^arn:aws:eks:(?P<region>[a-z0-9-]+):(?P<acct>\d{12}):cluster/(?P<name>[A-Za-z0-9][\w-]*)$"
)
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_KEY_ARN = re.compile(r"^arn:aws:kms:(?P<region>[a-z0-9-]+):(?P<acct>\d{12}):key/(?P<id>[\w-]+)$")
_ACL_PERMISSIONS = ("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP")
_GRANTEE_TYPES = ("CanonicalUser", "Group", "AmazonCustomerByEmail")
_ENCRYPTION = ("aws:kms", "aws:kms:dsse", "AES256")


def _obj(value: object, path: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(path, "must be an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise InvalidInput(where, "is not a known field")
    return value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _str(obj: Mapping[str, Any], name: str, path: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidInput(_join(path, name), "must be a non-empty string")
    return value


def _str_or(obj: Mapping[str, Any], name: str, path: str, default: str) -> str:
    return _str(obj, name, path) or default


def _req_str(obj: Mapping[str, Any], name: str, path: str) -> str:
    value = _str(obj, name, path)
    if value is None:
        raise InvalidInput(_join(path, name), "is required")
    return value


def _bool(obj: Mapping[str, Any], name: str, path: str, default: bool = False) -> bool:
    value = obj.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput(_join(path, name), "must be true or false")
    return value


def _list(obj: Mapping[str, Any], name: str, path: str) -> list[Any]:
    value = obj.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(_join(path, name), "must be a list")
    return value


def _account(value: str, path: str) -> str:
    if not _ACCOUNT.match(value):
        raise InvalidInput(path, f"{value!r} is not a 12-digit account id")
    return value


def parse_caller(principal: str, role_arn: str | None, path: str) -> Caller:
    m = _PRINCIPAL.match(principal)
    if not m:
        raise InvalidInput(
            f"{path}.principal",
            f"{principal!r} is not a role, user, assumed-role session or account root ARN of the aws partition",
        )
    if m.group("sacct"):
        account = m.group("sacct")
        derived = f"arn:aws:iam::{account}:role/{m.group('srole')}"
        if role_arn is not None:
            rm = _PRINCIPAL.match(role_arn)
            if not rm or not rm.group("rolepath") or rm.group("acct") != account:
                raise InvalidInput(
                    f"{path}.roleArn", "must be the role ARN (same account) behind the session"
                )
            if rm.group("rolepath").rsplit("/", 1)[-1] != m.group("srole"):
                raise InvalidInput(f"{path}.roleArn", "names another role than the session ARN")
        full = role_arn or derived
        return Caller(
            principal, account, PrincipalKind.AssumedRole, full, principal, "/aws-service-role/" in full
        )
    account = m.group("acct")
    if role_arn is not None:
        raise InvalidInput(f"{path}.roleArn", "is only for an assumed-role session principal")
    if m.group("rolepath"):
        service_linked = m.group("rolepath").startswith("aws-service-role/")
        return Caller(principal, account, PrincipalKind.AssumedRole, principal, None, service_linked)
    if m.group("userpath"):
        return Caller(principal, account, PrincipalKind.User)
    return Caller(principal, account, PrincipalKind.Account)


def _document(value: object, path: str, kind: PolicyKind) -> Policy:
    if isinstance(value, str):  # AWS APIs hand policies back as JSON strings
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInput(path, "is not valid JSON") from None
    return parse_policy(value, path, kind)


def _named(value: object, path: str, kind: PolicyKind) -> NamedDocument:
    obj = _obj(value, path, {"name", "document"})
    name = _req_str(obj, "name", path)
    if "document" not in obj:
        raise InvalidInput(f"{path}.document", "is required")
    return NamedDocument(name, _document(obj["document"], f"{path}.document", kind))


def _named_list(obj: Mapping[str, Any], name: str, path: str, kind: PolicyKind) -> tuple[NamedDocument, ...]:
    return tuple(_named(v, f"{path}.{name}[{i}]", kind) for i, v in enumerate(_list(obj, name, path)))


def _tagging_ok(text: str) -> bool:
    """S3's x-amz-tagging: URL-encoded key=value pairs, at most 10, keys unique and non-empty."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return False
    keys = [k for k, _ in pairs]
    return 0 < len(pairs) <= 10 and len(set(keys)) == len(keys) and all(keys)


def _instant_ok(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _context_header_ok(text: str) -> bool:
    """x-amz-server-side-encryption-context: base64 of a JSON object of strings; S3 sets aws:s3:arn."""
    try:
        pairs = json.loads(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error):
        return False
    return (
        isinstance(pairs, dict)
        and all(isinstance(v, str) for v in pairs.values())
        and "aws:s3:arn" not in pairs
    )


# The headers that change a decision, with what their value must be (and what S3 would refuse).
_HEADER_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "x-amz-tagging": (_tagging_ok, "must be URL query parameters key=value&... with at most 10 tags"),
    "x-amz-server-side-encryption-bucket-key-enabled": (
        lambda v: v.lower() in ("true", "false"),
        "must be true or false",
    ),
    "x-amz-server-side-encryption": (lambda v: v in _ENCRYPTION, f"must be one of {', '.join(_ENCRYPTION)}"),
    "x-amz-storage-class": (lambda v: v in STORAGE_CLASSES, f"must be one of {', '.join(STORAGE_CLASSES)}"),
    "x-amz-object-lock-mode": (
        lambda v: v in ("GOVERNANCE", "COMPLIANCE"),
        "must be GOVERNANCE or COMPLIANCE",
    ),
    "x-amz-object-lock-legal-hold": (lambda v: v in ("ON", "OFF"), "must be ON or OFF"),
    "x-amz-object-lock-retain-until-date": (_instant_ok, "must be an ISO 8601 date and time"),
    "x-amz-server-side-encryption-context": (
        _context_header_ok,
        "must be base64 of a JSON object of string values, without aws:s3:arn (S3 sets it)",
    ),
}


def _headers(raw: object, path: str) -> dict[str, str]:
    """The headers a request sends, names in lower case; the ones that change a decision checked."""
    if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
        raise InvalidInput(path, "must be an object of header name to string value")
    headers = {str(k).lower(): v for k, v in raw.items()}
    for name, value in headers.items():
        rule = _HEADER_RULES.get(name)
        if rule is not None and not rule[0](value):
            raise InvalidInput(f"{path}.{name}", rule[1])
    if ("x-amz-object-lock-mode" in headers) != ("x-amz-object-lock-retain-until-date" in headers):
        raise InvalidInput(
            f"{path}.x-amz-object-lock-mode",
            "x-amz-object-lock-mode and x-amz-object-lock-retain-until-date go together (S3 refuses one alone)",
        )
    return headers


def _request(raw: object, now: datetime) -> Request:
    path = "request"
    obj = _obj(
        raw,
        path,
        {
            "principal",
            "roleArn",
            "action",
            "bucket",
            "key",
            "prefix",
            "headers",
            "multipart",
            "vpcEndpoint",
            "context",
        },
    )
    caller = parse_caller(_req_str(obj, "principal", path), _str(obj, "roleArn", path), path)
    action = _str_or(obj, "action", path, "s3:PutObject")
    if not re.match(r"^s3:[A-Za-z]+$", action):
        raise InvalidInput(
            f"{path}.action", f"{action!r} is not an s3 action (s3:PutObject, s3:GetObject, ...)"
        )
    if action.lower() in ACCOUNT_ACTIONS:
        raise InvalidInput(
            f"{path}.action",
            f'{action!r} is an account-level action (its resource is "*"); a scenario asks about one bucket',
        )
    bucket = _req_str(obj, "bucket", path)
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise InvalidInput(
            f"{path}.bucket",
            f"{bucket!r} is not a valid bucket name (3-63 lowercase letters, digits, dots, hyphens)",
        )
    prefix = obj.get("prefix")
    if prefix is not None and not isinstance(prefix, str):
        raise InvalidInput(f"{path}.prefix", "must be a string (empty for the whole bucket)")
    key = _str_or(obj, "key", path, (prefix or "") + DEFAULT_KEY)
    if prefix is not None and not key.startswith(prefix):
        raise InvalidInput(f"{path}.prefix", f"{prefix!r} is not a prefix of request.key {key!r}")
    headers = _headers(obj.get("headers") or {}, f"{path}.headers")
    endpoint = None
    if obj.get("vpcEndpoint") is not None:
        vp = f"{path}.vpcEndpoint"
        vo = _obj(obj["vpcEndpoint"], vp, {"id", "policy", "vpcId", "account"})
        ep_id = _req_str(vo, "id", vp)
        if not re.match(r"^vpce-[0-9a-f]+$", ep_id):
            raise InvalidInput(f"{vp}.id", f"{ep_id!r} is not a VPC endpoint id (vpce-...)")
        pol = (
            _document(vo["policy"], f"{vp}.policy", PolicyKind.Resource)
            if vo.get("policy") is not None
            else None
        )
        vpc_id = _str(vo, "vpcId", vp)
        if vpc_id is not None and not re.match(r"^vpc-[0-9a-f]+$", vpc_id):
            raise InvalidInput(f"{vp}.vpcId", f"{vpc_id!r} is not a VPC id (vpc-...)")
        owner = _str(vo, "account", vp)
        endpoint = VpcEndpoint(ep_id, pol, vpc_id, _account(owner, f"{vp}.account") if owner else None)
    context_raw = obj.get("context") or {}
    if not isinstance(context_raw, Mapping):
        raise InvalidInput(f"{path}.context", "must be an object of condition key to value")
    for k, v in context_raw.items():
        items = v if isinstance(v, list) else [v]
        if not all(isinstance(i, str | int | float | bool) for i in items):
            raise InvalidInput(f"{path}.context.{k}", "must be a string, number, boolean or a list of them")
    context = normalize_keys(context_raw)
    if "aws:currenttime" not in context:
        context["aws:currenttime"] = (now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),)
    return Request(
        caller, action, bucket, key, headers, _bool(obj, "multipart", path), endpoint, context, prefix
    )


def _identity(raw: object, caller: Caller) -> Identity:
    path = "identity"
    obj = _obj(
        raw or {},
        path,
        {"account", "policies", "permissionsBoundary", "sessionPolicies", "exists", "uniqueId", "tags"},
    )
    account = _account(_str_or(obj, "account", path, caller.account), f"{path}.account")
    if account != caller.account:
        raise InvalidInput(
            f"{path}.account", f"is {account} but request.principal belongs to {caller.account}"
        )
    boundary = None
    if obj.get("permissionsBoundary") is not None:
        boundary = _named(obj["permissionsBoundary"], f"{path}.permissionsBoundary", PolicyKind.Identity)
    return Identity(
        account,
        _named_list(obj, "policies", path, PolicyKind.Identity),
        boundary,
        _named_list(obj, "sessionPolicies", path, PolicyKind.Identity),
        _bool(obj, "exists", path, default=True),
        _unique_id(obj, path),
        _context_map(obj.get("tags"), f"{path}.tags") or {},
    )


def _unique_id(obj: Mapping[str, Any], path: str) -> str | None:
    """A role's RoleId or a user's UserId: IAM's unique ids start AROA (role) or AIDA (user)."""
    unique = _str(obj, "uniqueId", path)
    if unique is not None and not re.match(r"^A(RO|ID)A[A-Z0-9]{12,124}$", unique):
        raise InvalidInput(f"{path}.uniqueId", f"{unique!r} is not a role id (AROA...) or user id (AIDA...)")
    return unique


def _pab(raw: object, path: str) -> PublicAccessBlock:
    if raw is None:
        return PublicAccessBlock()
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    obj = _obj(raw, path, set(names))
    return PublicAccessBlock(*(_bool(obj, n, path) for n in names))


def _acl(raw: object, path: str) -> Acl:
    obj = _obj(raw, path, {"owner", "grants"})
    grants = []
    for i, g in enumerate(_list(obj, "grants", path)):
        gp = f"{path}.grants[{i}]"
        go = _obj(g, gp, {"grantee", "permission"})
        permission = _req_str(go, "permission", gp)
        if permission not in _ACL_PERMISSIONS:
            raise InvalidInput(f"{gp}.permission", f"must be one of {', '.join(_ACL_PERMISSIONS)}")
        ge = _obj(go.get("grantee"), f"{gp}.grantee", {"type", "id", "uri", "email", "displayName"})
        gtype = _req_str(ge, "type", f"{gp}.grantee")
        if gtype not in _GRANTEE_TYPES:
            raise InvalidInput(f"{gp}.grantee.type", f"must be one of {', '.join(_GRANTEE_TYPES)}")
        field = {"CanonicalUser": "id", "Group": "uri", "AmazonCustomerByEmail": "email"}[gtype]
        grants.append(AclGrant(gtype, _req_str(ge, field, f"{gp}.grantee"), permission))
    return Acl(_str(obj, "owner", path), tuple(grants))


def _encryption(raw: object, path: str) -> Encryption | None:
    if raw is None:
        return None
    obj = _obj(raw, path, {"algorithm", "kmsKeyArn", "bucketKeyEnabled"})
    algorithm = _req_str(obj, "algorithm", path)
    if algorithm not in _ENCRYPTION:
        raise InvalidInput(f"{path}.algorithm", f"must be one of {', '.join(_ENCRYPTION)}")
    key = _str(obj, "kmsKeyArn", path)
    if key is not None and algorithm == "AES256":
        raise InvalidInput(f"{path}.kmsKeyArn", "is only allowed with algorithm aws:kms")
    return Encryption(algorithm, key, _bool(obj, "bucketKeyEnabled", path))


def _bucket(raw: object, request: Request, identity: Identity) -> Bucket:
    path = "bucket"
    obj = _obj(
        raw or {},
        path,
        {
            "account",
            "policy",
            "ownership",
            "acl",
            "canonicalIds",
            "publicAccessBlock",
            "accountPublicAccessBlock",
            "encryption",
            "exists",
        },
    )
    account = _account(_str_or(obj, "account", path, identity.account), f"{path}.account")
    policy = (
        _document(obj["policy"], f"{path}.policy", PolicyKind.Resource)
        if obj.get("policy") is not None
        else None
    )
    ownership_raw = _str_or(obj, "ownership", path, Ownership.BucketOwnerEnforced.value)
    try:
        ownership = Ownership(ownership_raw)
    except ValueError:
        raise InvalidInput(
            f"{path}.ownership", f"must be one of {', '.join(o.value for o in Ownership)}"
        ) from None
    ids = obj.get("canonicalIds") or {}
    if not isinstance(ids, Mapping) or not all(isinstance(v, str) for v in ids.values()):
        raise InvalidInput(f"{path}.canonicalIds", "must be an object of account id to canonical user id")
    for acct in ids:
        _account(str(acct), f"{path}.canonicalIds.{acct}")
    acl = _acl(obj["acl"], f"{path}.acl") if obj.get("acl") is not None else None
    pab = _pab(obj.get("publicAccessBlock"), f"{path}.publicAccessBlock") | _pab(
        obj.get("accountPublicAccessBlock"), f"{path}.accountPublicAccessBlock"
    )
    return Bucket(
        request.bucket,
        account,
        policy,
        ownership,
        acl,
        {str(k): v for k, v in ids.items()},
        pab,
        _encryption(obj.get("encryption"), f"{path}.encryption"),
        _bool(obj, "exists", path, default=True),
    )


def _context_map(raw: object, path: str) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
        raise InvalidInput(path, "must be an object of string to string")
    return {str(k): v for k, v in raw.items()}


def _kms_grants(ko: Mapping[str, Any], kp: str) -> list[KmsGrant]:
    grants = []
    for i, g in enumerate(_list(ko, "grants", kp)):
        gp = f"{kp}.grants[{i}]"
        go = _obj(g, gp, {"granteePrincipal", "operations", "constraints", "grantId", "name"})
        ops = go.get("operations")
        if not isinstance(ops, list) or not ops or not all(isinstance(o, str) for o in ops):
            raise InvalidInput(f"{gp}.operations", "must be a non-empty list of KMS operation names")
        constraints = _obj(
            go.get("constraints") or {},
            f"{gp}.constraints",
            {"encryptionContextSubset", "encryptionContextEquals"},
        )
        grants.append(
            KmsGrant(
                _req_str(go, "granteePrincipal", gp),
                tuple(ops),
                _context_map(
                    constraints.get("encryptionContextSubset"),
                    f"{gp}.constraints.encryptionContextSubset",
                ),
                _context_map(
                    constraints.get("encryptionContextEquals"),
                    f"{gp}.constraints.encryptionContextEquals",
                ),
            )
        )
    return grants


def _kms(raw: object, region: str) -> dict[str, KmsKey]:
    if raw is None:
        return {}
    obj = _obj(raw, "kms", {"keys"})
    keys_raw = obj.get("keys") or {}
    if not isinstance(keys_raw, Mapping):
        raise InvalidInput("kms.keys", "must be an object of key ARN to key")
    keys: dict[str, KmsKey] = {}
    for arn, body in keys_raw.items():
        kp = f"kms.keys.{arn}"
        m = _KEY_ARN.match(str(arn))
        if not m:
            raise InvalidInput(kp, "is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)")
        ko = _obj(
            body,
            kp,
            {
                "account",
                "manager",
                "state",
                "aliases",
                "policy",
                "grants",
                "origin",
                "multiRegion",
                "multiRegionKeyType",
                "tags",
            },
        )
        account = _account(_str_or(ko, "account", kp, m.group("acct")), f"{kp}.account")
        try:
            manager = KeyManager(_str_or(ko, "manager", kp, "CUSTOMER"))
        except ValueError:
            raise InvalidInput(f"{kp}.manager", "must be CUSTOMER or AWS") from None
        try:
            state = KeyState(_str_or(ko, "state", kp, "Enabled"))
        except ValueError:
            raise InvalidInput(
                f"{kp}.state", "must be Enabled, Disabled, PendingDeletion or NotFound"
            ) from None
        aliases = _list(ko, "aliases", kp)
        if not all(isinstance(a, str) and a.startswith("alias/") for a in aliases):
            raise InvalidInput(f"{kp}.aliases", "must be a list of alias/NAME strings")
        policy = (
            _document(ko["policy"], f"{kp}.policy", PolicyKind.Resource)
            if ko.get("policy") is not None
            else None
        )
        grants = _kms_grants(ko, kp)
        keys[str(arn)] = KmsKey(
            str(arn),
            account,
            m.group("region"),
            manager,
            state,
            tuple(aliases),
            policy,
            tuple(grants),
            *_key_properties(ko, kp),
        )
    del region
    return keys


def _levels(obj: Mapping[str, Any], name: str, path: str) -> tuple[tuple[NamedDocument, ...], ...]:
    levels = []
    for i, level in enumerate(_list(obj, name, path)):
        lp = f"{path}.{name}[{i}]"
        if not isinstance(level, list):
            raise InvalidInput(lp, "must be a list of policies (one list per level, root first)")
        levels.append(
            tuple(
                _named(p, f"{lp}[{j}]", PolicyKind.Identity if name == "scps" else PolicyKind.Resource)
                for j, p in enumerate(level)
            )
        )
    return tuple(levels)


_KEY_ORIGINS = ("AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE")


def _key_properties(ko: Mapping[str, Any], kp: str) -> tuple[str, bool, str | None, dict[str, str]]:
    """What DescribeKey says of a key that a condition can test: origin, multi-Region, and its tags."""
    origin = _str_or(ko, "origin", kp, "AWS_KMS")
    if origin not in _KEY_ORIGINS:
        raise InvalidInput(f"{kp}.origin", f"must be one of {', '.join(_KEY_ORIGINS)}")
    multi = _bool(ko, "multiRegion", kp)
    kind = _str(ko, "multiRegionKeyType", kp)
    if kind is not None and (kind not in ("PRIMARY", "REPLICA") or not multi):
        raise InvalidInput(f"{kp}.multiRegionKeyType", "must be PRIMARY or REPLICA, with multiRegion: true")
    return origin, multi, kind, _context_map(ko.get("tags"), f"{kp}.tags") or {}


def _org_paths(obj: Mapping[str, Any], path: str) -> dict[str, str]:
    raw = _context_map(obj.get("paths"), f"{path}.paths") or {}
    for acct, org_path in raw.items():
        _account(acct, f"{path}.paths.{acct}")
        if not re.match(r"^o-[a-z0-9]+/r-[a-z0-9]+/(ou-[a-z0-9-]+/)*$", org_path):
            raise InvalidInput(
                f"{path}.paths.{acct}", f"{org_path!r} is not an organization path (o-.../r-.../ou-.../)"
            )
    return raw


def _organization(raw: object) -> Organization | None:
    if raw is None:
        return None
    path = "organization"
    obj = _obj(raw, path, {"id", "managementAccount", "scps", "rcps", "accounts", "paths"})
    org_id = _req_str(obj, "id", path)
    if not re.match(r"^o-[a-z0-9]{10,32}$", org_id):
        raise InvalidInput(f"{path}.id", f"{org_id!r} is not an organization id (o-...)")
    mgmt = _str(obj, "managementAccount", path)
    if mgmt is not None:
        _account(mgmt, f"{path}.managementAccount")
    default = OrgChains(_levels(obj, "scps", path), _levels(obj, "rcps", path))
    accounts = None
    if obj.get("accounts") is not None:
        ao = obj["accounts"]
        if not isinstance(ao, Mapping):
            raise InvalidInput(f"{path}.accounts", "must be an object of account id to chains")
        accounts = {}
        for acct, chains in ao.items():
            cp = f"{path}.accounts.{acct}"
            _account(str(acct), cp)
            co = _obj(chains, cp, {"scps", "rcps"})
            accounts[str(acct)] = OrgChains(_levels(co, "scps", cp), _levels(co, "rcps", cp))
    return Organization(org_id, mgmt, default, accounts, _org_paths(obj, path))


def load_scenario(raw: object, now: datetime) -> Scenario:
    """Validate and normalize a parsed scenario document; ``now`` fills ``aws:CurrentTime``."""
    obj = _obj(
        raw,
        "",
        {
            "region",
            "request",
            "identity",
            "bucket",
            "kms",
            "organization",
            "unknown",
            "session",
            "$schema",
            "why",
        },
    )
    region = _str_or(obj, "region", "", DEFAULT_REGION)
    if not _REGION.match(region):
        raise InvalidInput("region", f"{region!r} is not an AWS region name")
    if obj.get("request") is None:
        raise InvalidInput("request", "is required")
    request = _request(obj["request"], now)
    identity = _identity(obj.get("identity"), request.caller)
    if identity.boundary is not None and request.caller.kind is not PrincipalKind.Account:
        request = replace(request, caller=replace(request.caller, has_boundary=True))
    bucket = _bucket(obj.get("bucket"), request, identity)
    session = _session(obj.get("session"), request.caller)
    if session is not None:
        # the association's inline policy is a session policy of the pod's session
        identity = replace(
            identity, session_policies=identity.session_policies + session_policy(obj["session"])
        )
    return Scenario(
        region,
        request,
        identity,
        bucket,
        _kms(obj.get("kms"), region),
        _organization(obj.get("organization")),
        _unknown(obj.get("unknown")),
        session,
    )


# EKS "Enable or disable session tags": the tags Pod Identity adds to the role's session
POD_IDENTITY_TAGS = (
    "eks-cluster-arn",
    "eks-cluster-name",
    "kubernetes-namespace",
    "kubernetes-service-account",
    "kubernetes-pod-name",
    "kubernetes-pod-uid",
)
_SESSION_FIELDS = {
    "source",
    "roleArn",
    "trustPolicy",
    "namespace",
    "serviceAccount",
    "cluster",
    "associationId",
    "sessionTags",
    "tags",
    "policy",
    "targetRole",
    "rolePolicies",
    "oidcIssuer",
    "oidcProvider",
    "oidcProviderClientIds",
    "oidcIssuerConfirmed",
    "audience",
}


def session_policy(raw: Mapping[str, Any]) -> tuple[NamedDocument, ...]:
    if raw.get("policy") is None:
        return ()
    return (
        NamedDocument(POD_IDENTITY_POLICY, _document(raw["policy"], "session.policy", PolicyKind.Identity)),
    )


_SESSION_SOURCES: dict[str, SessionSource] = {str(s): s for s in get_args(SessionSource)}


def _session(raw: object, caller: Caller) -> Session | None:
    """``session``: how the workload gets its credentials (Pod Identity or IRSA), for RoleAssumable
    and for the session tags the upload's requests carry."""
    if raw is None:
        return None
    path = "session"
    obj = _obj(raw, path, _SESSION_FIELDS)
    text = _req_str(obj, "source", path)
    source = _SESSION_SOURCES.get(text)
    if source is None:
        raise InvalidInput(f"{path}.source", f"{text!r} is not PodIdentity or IRSA")
    namespace = _req_str(obj, "namespace", path)
    service_account = _req_str(obj, "serviceAccount", path)
    for name, value in (("namespace", namespace), ("serviceAccount", service_account)):
        if not _K8S_NAME.match(value):
            raise InvalidInput(f"{path}.{name}", f"{value!r} is not a Kubernetes object name")
    if "trustPolicy" not in obj:
        raise InvalidInput(
            f"{path}.trustPolicy", "is required (the role's trust policy, as iam:GetRole returns it)"
        )
    trust = _document(obj["trustPolicy"], f"{path}.trustPolicy", PolicyKind.Trust)
    target = _target(obj.get("targetRole"), source)
    final = caller.role_arn or ""
    role_arn = _str(obj, "roleArn", path)
    if role_arn is None:
        if target is not None:
            raise InvalidInput(
                f"{path}.roleArn", "is required with a targetRole (the association's own role)"
            )
        role_arn = final
    if not _ROLE_ARN.match(role_arn):
        raise InvalidInput(f"{path}.roleArn", f"{role_arn!r} is not an IAM role ARN")
    expected = target.arn if target else role_arn
    if caller.kind is not PrincipalKind.AssumedRole or final != expected:
        raise InvalidInput(
            "request.principal",
            f"must be the role whose session the pod gets ({expected}) or a session of it",
        )
    cluster = _str(obj, "cluster", path)
    if cluster is not None and not _CLUSTER_ARN.match(cluster):
        raise InvalidInput(f"{path}.cluster", f"{cluster!r} is not an EKS cluster ARN")
    tags = _tags(obj, source, cluster, namespace, service_account)
    if obj.get("policy") is not None and tags:
        # EKS CreatePodIdentityAssociation: a session policy needs disableSessionTags
        raise InvalidInput(
            f"{path}.policy",
            "needs sessionTags: false (EKS accepts an association policy only without session tags)",
        )
    issuer = _str(obj, "oidcIssuer", path)
    if source is IdentitySource.IRSA:
        if issuer is None:
            raise InvalidInput(f"{path}.oidcIssuer", "is required for IRSA (the cluster's OIDC issuer URL)")
        if not issuer.startswith("https://"):
            raise InvalidInput(f"{path}.oidcIssuer", f"{issuer!r} is not an https:// issuer URL")
    elif issuer is not None or {"oidcProvider", "oidcProviderClientIds", "oidcIssuerConfirmed"} & set(obj):
        raise InvalidInput(f"{path}.oidcIssuer", "is only for IRSA")
    return Session(
        source=source,
        role_arn=role_arn,
        trust_policy=trust,
        namespace=namespace,
        service_account=service_account,
        tags=tags,
        cluster_arn=cluster,
        association_id=_str(obj, "associationId", path),
        target=target,
        role_policies=_named_list(obj, "rolePolicies", path, PolicyKind.Identity),
        oidc_issuer=issuer,
        oidc_provider_exists=_bool(obj, "oidcProvider", path, default=True),
        oidc_client_ids=_client_ids(obj, path),
        oidc_issuer_confirmed=_bool(obj, "oidcIssuerConfirmed", path, default=True),
        audience=_str_or(obj, "audience", path, "sts.amazonaws.com"),
    )


def _client_ids(obj: Mapping[str, Any], path: str) -> tuple[str, ...] | None:
    """``oidcProviderClientIds``: the audiences the IAM OIDC provider accepts; absent, not checked."""
    if obj.get("oidcProviderClientIds") is None:
        return None
    where = f"{path}.oidcProviderClientIds"
    ids = _list(obj, "oidcProviderClientIds", path)
    if not all(isinstance(i, str) and i for i in ids):
        raise InvalidInput(where, "must be a list of non-empty strings")
    if obj.get("oidcProvider") is False:
        raise InvalidInput(where, "describes the provider, and oidcProvider says there is none")
    return tuple(ids)


def _target(raw: object, source: SessionSource) -> TargetRole | None:
    if raw is None:
        return None
    path = "session.targetRole"
    if source is not IdentitySource.PodIdentity:
        raise InvalidInput(path, "is only for PodIdentity")
    obj = _obj(raw, path, {"arn", "trustPolicy", "externalId"})
    arn = _req_str(obj, "arn", path)
    if not _ROLE_ARN.match(arn):
        raise InvalidInput(f"{path}.arn", f"{arn!r} is not an IAM role ARN")
    if "trustPolicy" not in obj:
        raise InvalidInput(f"{path}.trustPolicy", "is required")
    trust = _document(obj["trustPolicy"], f"{path}.trustPolicy", PolicyKind.Trust)
    return TargetRole(arn, trust, _str(obj, "externalId", path))


def _tags(
    obj: Mapping[str, Any], source: SessionSource, cluster: str | None, namespace: str, service_account: str
) -> dict[str, str]:
    """Pod Identity's session tags, unless ``sessionTags: false``; ``tags`` adds the pod's own
    (name, uid) or overrides. IRSA sessions carry no tags."""
    path = "session"
    on = _bool(obj, "sessionTags", path, default=source is IdentitySource.PodIdentity)
    extra = obj.get("tags") or {}
    if not isinstance(extra, Mapping) or not all(isinstance(v, str) for v in extra.values()):
        raise InvalidInput(f"{path}.tags", "must map tag names to strings")
    if source is IdentitySource.IRSA:
        if on or extra:
            raise InvalidInput(f"{path}.sessionTags", "IRSA sessions carry no session tags")
        return {}
    if not on:
        if extra:
            raise InvalidInput(f"{path}.tags", "given with sessionTags: false")
        return {}
    unknown = sorted(set(extra) - set(POD_IDENTITY_TAGS))
    if unknown:
        raise InvalidInput(f"{path}.tags.{unknown[0]}", "is not a tag EKS Pod Identity adds")
    tags = {"kubernetes-namespace": namespace, "kubernetes-service-account": service_account}
    if cluster is not None:
        m = _CLUSTER_ARN.match(cluster)
        assert m is not None
        tags |= {"eks-cluster-arn": cluster, "eks-cluster-name": m.group("name")}
    return {**tags, **extra}


def _unknown(raw: object) -> dict[ConditionType, UnknownLayer]:
    """``unknown``: layers a live snapshot could not read, ``{layer condition: {reason, message}}``."""
    if raw is None:
        return {}
    obj = _obj(raw, "unknown", {str(c) for c in LAYERS})
    out = {}
    for name, body in obj.items():
        path = f"unknown.{name}"
        entry = _obj(body, path, {"reason", "message"})
        text = _req_str(entry, "reason", path)
        try:
            reason = Reason(text)
        except ValueError:
            raise InvalidInput(f"{path}.reason", f"{text!r} is not a reason the operator reports") from None
        out[ConditionType(name)] = UnknownLayer(reason, _str_or(entry, "message", path, text))
    return out


def parse_text(text: str, name: str = "scenario") -> object:
    """JSON first (it is also YAML, but JSON errors are clearer), then YAML."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise InvalidInput("", f"{name} is not valid JSON: {exc}") from None
    import yaml  # PyYAML is pure data parsing; imported lazily so JSON users never pay for it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "parse error"
        raise InvalidInput("", f"{name} is not valid JSON or YAML: {first}") from None
