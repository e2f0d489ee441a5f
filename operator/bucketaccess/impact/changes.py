"""Proposed AWS changes, and how each rewrites an access scenario (the format of docs/scenario.md).

A change names its resource the way both a person and a Terraform plan can: a bucket by name, a key
by ARN, a role by ARN or name (IAM reads roles by name), a managed policy or an SCP/RCP by name
(a scenario carries policies by name). A value Terraform knows only after apply is an
:class:`Unknown` change: it makes the verdict of every object it touches unknown, never guessed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Document = Mapping[str, Any]


class Kind(StrEnum):
    """What a change rewrites; also the wording of the report."""

    BucketPolicy = "bucket policy"
    KeyPolicy = "key policy"
    KeyDeletion = "key deletion"
    RoleDeletion = "role deletion"
    RolePolicy = "role inline policy"
    ManagedPolicy = "managed policy version"
    Attach = "policy attachment"
    Detach = "policy detachment"
    TrustPolicy = "trust policy"
    Boundary = "permissions boundary"
    SCP = "SCP"
    RCP = "RCP"
    AttachSCP = "SCP attachment"
    DetachSCP = "SCP detachment"
    AttachRCP = "RCP attachment"
    DetachRCP = "RCP detachment"
    BucketPublicAccessBlock = "bucket Block Public Access"
    AccountPublicAccessBlock = "account Block Public Access"


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One proposed change. ``target`` names the resource; ``name`` the policy within it, where
    there is one; ``document`` is None for a deletion (a policy removed, a boundary taken off)."""

    kind: Kind
    target: str
    name: str = ""
    document: Document | None = None
    source: str = ""  # where it came from: a flag, or a Terraform resource address

    def describe(self) -> str:
        what = f"{self.kind} {self.target}" + (f" {self.name}" if self.name else "")
        return f"{what} ({self.source})" if self.source else what


@dataclass(frozen=True, slots=True, kw_only=True)
class Unknown:
    """A change whose value is known only after apply: the objects it touches are not guessed."""

    kind: Kind
    target: str
    name: str = ""
    source: str = ""
    why: str = ""


@dataclass(frozen=True, slots=True)
class Rewritten:
    scenario: dict[str, Any]
    touched: tuple[str, ...] = ()  # what the changes rewrote here, in the report's words
    unknown: tuple[str, ...] = ()  # unknown changes that touch this scenario


def _key_arn(scenario: Mapping[str, Any], ref: str) -> str | None:
    """The scenario's key that ``ref`` names: its ARN, or its key id (what a Terraform key_id holds)."""
    keys = (scenario.get("kms") or {}).get("keys") or {}
    if ref in keys:
        return ref
    return next((arn for arn in keys if str(arn).endswith(f":key/{ref}")), None)


def _role_name(ref: str) -> str:
    """A role ARN's name (IAM reads a role by its name alone) or the name itself."""
    return ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref


def _policy_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref


def _principal_role(scenario: Mapping[str, Any]) -> str | None:
    principal = str((scenario.get("request") or {}).get("principal", ""))
    if ":role/" in principal:
        return principal.rsplit("/", 1)[-1]
    if ":assumed-role/" in principal:
        return principal.split(":assumed-role/", 1)[1].split("/", 1)[0]
    return None


def _accounts(scenario: Mapping[str, Any]) -> set[str]:
    principal = str((scenario.get("request") or {}).get("principal", ""))
    out = {principal.split(":")[4]} if principal.count(":") >= 5 else set()
    bucket_account = (scenario.get("bucket") or {}).get("account")
    identity_account = (scenario.get("identity") or {}).get("account")
    return out | {a for a in (bucket_account, identity_account) if a}


def touches(scenario: Mapping[str, Any], kind: Kind, target: str, name: str = "") -> bool:
    """Would a change of this kind on this target rewrite something this scenario consults?"""
    request = scenario.get("request") or {}
    if kind in (Kind.BucketPolicy, Kind.BucketPublicAccessBlock):
        return request.get("bucket") == target
    if kind in (Kind.KeyPolicy, Kind.KeyDeletion):
        return _key_arn(scenario, target) is not None
    if kind in (Kind.RolePolicy, Kind.Attach, Kind.Detach, Kind.Boundary, Kind.RoleDeletion):
        return _principal_role(scenario) == _role_name(target)
    if kind is Kind.ManagedPolicy:
        policies = (scenario.get("identity") or {}).get("policies") or ()
        boundary = (scenario.get("identity") or {}).get("permissionsBoundary") or {}
        names = {p.get("name") for p in policies} | {boundary.get("name")}
        return _policy_name(target) in names
    if kind is Kind.TrustPolicy:
        return _role_name(target) in _session_roles(scenario)
    if kind in (Kind.SCP, Kind.RCP):
        return any(p.get("name") == target for p in _org_policies(scenario, kind))
    if kind in ORG_ATTACHMENTS:
        # an account of the scenario; an OU or the root covers accounts a scenario does not list
        return bool(scenario.get("organization")) and (
            target in _accounts(scenario) or not _is_account(target)
        )
    if kind is Kind.AccountPublicAccessBlock:
        account = (scenario.get("bucket") or {}).get("account") or (scenario.get("identity") or {}).get(
            "account"
        )
        return account == target or (account is None and target in _accounts(scenario))
    return False


ORG_ATTACHMENTS = {
    Kind.AttachSCP: ("scps", True),
    Kind.DetachSCP: ("scps", False),
    Kind.AttachRCP: ("rcps", True),
    Kind.DetachRCP: ("rcps", False),
}


def _is_account(target: str) -> bool:
    return len(target) == 12 and target.isdigit()


def _session_roles(scenario: Mapping[str, Any]) -> set[str]:
    session = scenario.get("session") or {}
    roles = {_role_name(str(session["roleArn"]))} if session.get("roleArn") else set()
    if not session.get("roleArn") and session and (role := _principal_role(scenario)):
        roles.add(role)
    target = session.get("targetRole") or {}
    if target.get("arn"):
        roles.add(_role_name(str(target["arn"])))
    return roles


def _org_levels(scenario: Mapping[str, Any], key: str) -> list[list[dict[str, Any]]]:
    org = scenario.get("organization") or {}
    chains = [org.get(key) or []] + [(a or {}).get(key) or [] for a in (org.get("accounts") or {}).values()]
    return [level for chain in chains for level in chain]


def _org_policies(scenario: Mapping[str, Any], kind: Kind) -> list[dict[str, Any]]:
    key = "scps" if kind is Kind.SCP else "rcps"
    return [p for level in _org_levels(scenario, key) for p in level]


def _named(policies: list[dict[str, Any]], name: str, document: Document | None) -> list[dict[str, Any]]:
    kept = [p for p in policies if p.get("name") != name]
    return kept if document is None else [*kept, {"name": name, "document": dict(document)}]


def _apply_one(s: dict[str, Any], c: Change) -> None:
    identity = s.setdefault("identity", {})
    if c.kind is Kind.BucketPolicy:
        bucket = s.setdefault("bucket", {})
        if c.document is None:
            bucket.pop("policy", None)
        else:
            bucket["policy"] = dict(c.document)
    elif c.kind in (Kind.KeyPolicy, Kind.KeyDeletion):
        key = s["kms"]["keys"][_key_arn(s, c.target)]
        if c.kind is Kind.KeyDeletion:
            key["state"] = "PendingDeletion"
        else:
            key["policy"] = dict(c.document or {})
    elif c.kind is Kind.RoleDeletion:
        s["identity"] = {"exists": False}
    elif c.kind in (Kind.RolePolicy, Kind.Attach, Kind.Detach):
        doc = None if c.kind is Kind.Detach else c.document
        identity["policies"] = _named(list(identity.get("policies") or ()), _policy_name(c.name), doc)
    elif c.kind is Kind.ManagedPolicy:  # a new default version, or (None) the policy deleted
        name = _policy_name(c.target)
        policies = [p for p in identity.get("policies") or () if p.get("name") != name]
        if len(policies) < len(identity.get("policies") or ()) and c.document is not None:
            policies.append({"name": name, "document": dict(c.document)})
        identity["policies"] = policies
        if (identity.get("permissionsBoundary") or {}).get("name") == name:
            if c.document is None:
                identity.pop("permissionsBoundary")
            else:
                identity["permissionsBoundary"] = {"name": name, "document": dict(c.document)}
    elif c.kind is Kind.Boundary:
        if c.document is None:
            identity.pop("permissionsBoundary", None)
        else:
            identity["permissionsBoundary"] = {"name": c.name or "boundary", "document": dict(c.document)}
    elif c.kind is Kind.TrustPolicy:
        _apply_trust(s, c)
    elif c.kind in (Kind.SCP, Kind.RCP):  # new content, or (None) the policy deleted
        key = "scps" if c.kind is Kind.SCP else "rcps"
        for level in _org_levels(s, key):
            kept = [p for p in level if p.get("name") != c.target]
            if c.document is not None and len(kept) < len(level):
                kept.append({"name": c.target, "document": dict(c.document)})
            level[:] = kept
    elif c.kind in ORG_ATTACHMENTS:
        _apply_org_attachment(s, c)
    elif c.kind is Kind.BucketPublicAccessBlock:
        s.setdefault("bucket", {})["publicAccessBlock"] = dict(c.document or {})
    elif c.kind is Kind.AccountPublicAccessBlock:
        s.setdefault("bucket", {})["accountPublicAccessBlock"] = dict(c.document or {})


def _apply_trust(s: dict[str, Any], c: Change) -> None:
    session = s.get("session") or {}
    role = _role_name(c.target)
    target = session.get("targetRole") or {}
    if target.get("arn") and _role_name(str(target["arn"])) == role:
        target["trustPolicy"] = dict(c.document or {})
    elif _role_name(str(session.get("roleArn") or "")) == role or (
        not session.get("roleArn") and _principal_role(s) == role
    ):
        session["trustPolicy"] = dict(c.document or {})


def _apply_org_attachment(s: dict[str, Any], c: Change) -> None:
    """An SCP or RCP (``name``) attached to or detached from an account (``target``): the account's
    own level, the last of its chain."""
    key, attach = ORG_ATTACHMENTS[c.kind]
    org = s.setdefault("organization", {})
    accounts = org.get("accounts")
    if accounts is not None:
        if c.target not in accounts:
            return
        chain = accounts[c.target].setdefault(key, [])
    else:
        chain = org.setdefault(key, [])
    if not chain:
        chain.append([])
    own = [p for p in chain[-1] if p.get("name") != c.name]
    chain[-1] = [*own, {"name": c.name, "document": dict(c.document or {})}] if attach else own


def rewrite(scenario: Mapping[str, Any], changes: Iterable[Change | Unknown]) -> Rewritten:
    """The scenario with every change that touches it applied (a deep copy; the input is kept)."""
    out = copy.deepcopy(dict(scenario))
    touched: list[str] = []
    unknown: list[str] = []
    for c in changes:
        if not touches(out, c.kind, c.target, c.name):
            continue
        if isinstance(c, Unknown):
            unknown.append(_unknown_text(c.kind, c.target, c.why, c.source))
            continue
        if c.kind in ORG_ATTACHMENTS and not _is_account(c.target):
            why = "which accounts it covers is not in a snapshot"
            unknown.append(_unknown_text(c.kind, c.target, why, c.source))
            continue
        _apply_one(out, c)
        touched.append(c.describe())
    return Rewritten(out, tuple(touched), tuple(unknown))


def _unknown_text(kind: Kind, target: str, why: str, source: str) -> str:
    return f"{kind} {target}" + (f": {why}" if why else "") + (f" ({source})" if source else "")


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Everything proposed, with what was read and left aside."""

    changes: tuple[Change | Unknown, ...] = ()
    ignored: tuple[str, ...] = field(default=())  # resources of kinds that cannot change a verdict
