"""The changes a Terraform plan would make, read from ``terraform show -json PLANFILE``.

The plan format is Terraform's documented JSON output format ("JSON Output Format", format_version
1.x): ``resource_changes`` lists each resource with ``change.actions`` (``create``, ``update``,
``delete``, ``["delete","create"]`` or ``["create","delete"]`` for a replacement, ``no-op``,
``read``), ``change.before`` and ``change.after`` (the attribute values) and ``change.after_unknown``
(``true`` where a value is known only after apply). Resources in modules carry the same shape (their
``address`` starts with ``module.``). ``prior_state`` and ``planned_values`` hold the other resources
of the configuration, which is where an attachment finds the document of the policy it attaches.

Only the resource types that can change a verdict are read; every other type is listed as ignored.
A value known only after apply becomes an :class:`~.changes.Unknown` change, never a guess.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .changes import Change, ChangeSet, Kind, Unknown


class PlanError(ValueError):
    """A plan that cannot be read: the message starts with the JSON path of what is wrong."""


Handler = Callable[["_Resource"], list[Change | Unknown]]


class _Resource:
    """One entry of ``resource_changes``: its final values and what is unknown in them."""

    def __init__(self, raw: Mapping[str, Any], path: str, index: _Index) -> None:
        self.path, self.index = path, index
        self.address = str(raw.get("address") or path)
        self.type = str(raw.get("type") or "")
        change = raw.get("change")
        if not isinstance(change, Mapping):
            raise PlanError(f"{path}.change: missing or not an object")
        actions = change.get("actions")
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise PlanError(f"{path}.change.actions: not a list of strings")
        self.actions = tuple(actions)
        self.before: Mapping[str, Any] = change.get("before") or {}
        self.after: Mapping[str, Any] = change.get("after") or {}
        unknown = change.get("after_unknown")
        self.after_unknown: Mapping[str, Any] = unknown if isinstance(unknown, Mapping) else {}

    @property
    def deleted(self) -> bool:
        return self.actions == ("delete",)

    @property
    def created(self) -> bool:
        """New, not a replacement: nothing of what AWS holds now is it."""
        return self.actions == ("create",)

    def unknown(self, name: str) -> bool:
        return self.after_unknown.get(name) is True

    def value(self, name: str) -> Any:
        """The value after apply; before it for a deletion."""
        return (self.before if self.deleted else self.after).get(name)

    def document(self, name: str) -> dict[str, Any] | None:
        """A policy attribute (a JSON string in Terraform) as a document."""
        text = self.value(name)
        if text in (None, ""):
            return None
        try:
            doc = json.loads(text) if isinstance(text, str) else text
        except ValueError:
            raise PlanError(f"{self.path}.change.after.{name}: not a JSON policy document") from None
        if not isinstance(doc, dict):
            raise PlanError(f"{self.path}.change.after.{name}: not a JSON object")
        return doc

    def changed(self, name: str) -> bool:
        return self.deleted or self.unknown(name) or self.before.get(name) != self.after.get(name)


class _Index:
    """Every resource of the configuration by (type, attribute value): where an attachment finds
    the policy it attaches (planned values first, then the prior state)."""

    def __init__(self, plan: Mapping[str, Any]) -> None:
        self.by: dict[tuple[str, str, str], Mapping[str, Any]] = {}
        for root in ((plan.get("prior_state") or {}).get("values"), plan.get("planned_values")):
            for resource in _resources((root or {}).get("root_module") or {}):
                values = resource.get("values") or {}
                for attr in ("arn", "id", "name"):
                    if isinstance(values.get(attr), str):
                        self.by[(str(resource.get("type")), attr, values[attr])] = values

    def find(self, type_: str, attr: str, value: str) -> Mapping[str, Any] | None:
        return self.by.get((type_, attr, value))


def _resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from module.get("resources") or ()
    for child in module.get("child_modules") or ():
        yield from _resources(child)


def _unknown(r: _Resource, kind: Kind, target: str, name: str = "", why: str = "") -> Unknown:
    return Unknown(kind=kind, target=target, name=name, source=r.address, why=why or "known only after apply")


def _target(r: _Resource, attr: str) -> str | None:
    value = r.value(attr)
    return None if r.unknown(attr) or not isinstance(value, str) else value


def _bucket_policy(r: _Resource) -> list[Change | Unknown]:
    bucket = _target(r, "bucket")
    if bucket is None:
        return [_unknown(r, Kind.BucketPolicy, "(a bucket known only after apply)")]
    if r.deleted:
        return [Change(kind=Kind.BucketPolicy, target=bucket, document=None, source=r.address)]
    if r.unknown("policy"):
        return [_unknown(r, Kind.BucketPolicy, bucket)]
    return [Change(kind=Kind.BucketPolicy, target=bucket, document=r.document("policy"), source=r.address)]


def _kms_key(r: _Resource) -> list[Change | Unknown]:
    key = _target(r, "arn") or _target(r, "key_id")
    if key is None:
        return []  # a key that does not exist yet: no declared upload uses it
    if r.deleted:
        return [Change(kind=Kind.KeyDeletion, target=key, source=r.address)]
    if not r.changed("policy"):
        return []
    if r.unknown("policy"):
        return [_unknown(r, Kind.KeyPolicy, key)]
    return [Change(kind=Kind.KeyPolicy, target=key, document=r.document("policy"), source=r.address)]


def _kms_key_policy(r: _Resource) -> list[Change | Unknown]:
    key = _target(r, "key_id")
    if key is None:
        return [_unknown(r, Kind.KeyPolicy, "(a key known only after apply)")]
    if r.deleted:  # what the key policy becomes then is not in the plan
        return [_unknown(r, Kind.KeyPolicy, key, why="the key policy left when this resource is destroyed")]
    if r.unknown("policy"):
        return [_unknown(r, Kind.KeyPolicy, key)]
    return [Change(kind=Kind.KeyPolicy, target=key, document=r.document("policy"), source=r.address)]


def _role_policy(r: _Resource) -> list[Change | Unknown]:
    role, name = _target(r, "role"), _target(r, "name")
    if role is None or name is None:
        return [_unknown(r, Kind.RolePolicy, role or "(a role known only after apply)", name or "")]
    if r.unknown("policy"):
        return [_unknown(r, Kind.RolePolicy, role, name)]
    doc = None if r.deleted else r.document("policy")
    return [Change(kind=Kind.RolePolicy, target=role, name=name, document=doc, source=r.address)]


def _role(r: _Resource) -> list[Change | Unknown]:
    role = _target(r, "name")
    if role is None or r.created:
        return []  # a role that does not exist yet: no declared upload uses it
    if r.deleted:
        return [Change(kind=Kind.RoleDeletion, target=role, source=r.address)]
    out: list[Change | Unknown] = []
    if r.changed("assume_role_policy"):
        if r.unknown("assume_role_policy"):
            out.append(_unknown(r, Kind.TrustPolicy, role))
        else:
            trust = r.document("assume_role_policy")
            out.append(Change(kind=Kind.TrustPolicy, target=role, document=trust, source=r.address))
    if r.changed("permissions_boundary"):
        out.append(_boundary(r, role))
    return out


def _boundary(r: _Resource, role: str) -> Change | Unknown:
    arn = r.value("permissions_boundary")
    if r.unknown("permissions_boundary"):
        return _unknown(r, Kind.Boundary, role)
    if not arn:
        return Change(kind=Kind.Boundary, target=role, document=None, source=r.address)
    policy = r.index.find("aws_iam_policy", "arn", str(arn))
    if policy is None or not isinstance(policy.get("policy"), str):
        return _unknown(r, Kind.Boundary, role, why=f"the document of {arn} is not in the plan")
    return Change(
        kind=Kind.Boundary,
        target=role,
        name=str(arn).rsplit("/", 1)[-1],
        document=json.loads(policy["policy"]),
        source=r.address,
    )


def _managed_policy(r: _Resource) -> list[Change | Unknown]:
    name = _target(r, "name")
    if name is None or r.created:
        return []  # a policy that does not exist yet: attached to nothing so far
    if r.deleted:
        return [Change(kind=Kind.ManagedPolicy, target=name, document=None, source=r.address)]
    if not r.changed("policy"):
        return []
    if r.unknown("policy"):
        return [_unknown(r, Kind.ManagedPolicy, name)]
    return [Change(kind=Kind.ManagedPolicy, target=name, document=r.document("policy"), source=r.address)]


def _attachment(r: _Resource) -> list[Change | Unknown]:
    role, arn = _target(r, "role"), _target(r, "policy_arn")
    if role is None or arn is None:
        return [_unknown(r, Kind.Attach, role or "(a role known only after apply)", arn or "")]
    name = arn.rsplit("/", 1)[-1]
    if r.deleted:
        return [Change(kind=Kind.Detach, target=role, name=name, source=r.address)]
    policy = r.index.find("aws_iam_policy", "arn", arn)
    if policy is None or not isinstance(policy.get("policy"), str):
        return [_unknown(r, Kind.Attach, role, name, why=f"the document of {arn} is not in the plan")]
    return [
        Change(
            kind=Kind.Attach, target=role, name=name, document=json.loads(policy["policy"]), source=r.address
        )
    ]


_ORG_KINDS = {
    "SERVICE_CONTROL_POLICY": (Kind.SCP, Kind.AttachSCP, Kind.DetachSCP),
    "RESOURCE_CONTROL_POLICY": (Kind.RCP, Kind.AttachRCP, Kind.DetachRCP),
}


def _org_policy(r: _Resource) -> list[Change | Unknown]:
    kinds = _ORG_KINDS.get(str(r.value("type") or "SERVICE_CONTROL_POLICY"))
    name = _target(r, "name")
    if kinds is None or name is None or r.created:
        return []  # another policy type (tags, backups, ...), or one that does not exist yet
    if r.deleted:
        return [Change(kind=kinds[0], target=name, document=None, source=r.address)]
    if not r.changed("content"):
        return []
    if r.unknown("content"):
        return [_unknown(r, kinds[0], name)]
    return [Change(kind=kinds[0], target=name, document=r.document("content"), source=r.address)]


def _org_attachment(r: _Resource) -> list[Change | Unknown]:
    policy_id, target = _target(r, "policy_id"), _target(r, "target_id")
    if policy_id is None or target is None:
        return [_unknown(r, Kind.AttachSCP, target or "(a target known only after apply)")]
    policy = r.index.find("aws_organizations_policy", "id", policy_id)
    kinds = _ORG_KINDS.get(str((policy or {}).get("type") or ""))
    if policy is None or kinds is None or not isinstance(policy.get("content"), str):
        return [_unknown(r, Kind.AttachSCP, target, why=f"policy {policy_id} is not in the plan")]
    kind = kinds[2] if r.deleted else kinds[1]
    doc = json.loads(policy["content"])
    return [
        Change(
            kind=kind,
            target=target,
            name=str(policy.get("name") or policy_id),
            document=doc,
            source=r.address,
        )
    ]


_BPA_FLAGS = {
    "block_public_acls": "BlockPublicAcls",
    "ignore_public_acls": "IgnorePublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "restrict_public_buckets": "RestrictPublicBuckets",
}


def _public_access_block(kind: Kind, attr: str) -> Handler:
    def read(r: _Resource) -> list[Change | Unknown]:
        target = _target(r, attr)
        if target is None:
            return [_unknown(r, kind, f"(the {attr} is known only after apply)")]
        if any(r.unknown(f) for f in _BPA_FLAGS):
            return [_unknown(r, kind, target)]
        flags = {aws: bool(r.after.get(tf)) and not r.deleted for tf, aws in _BPA_FLAGS.items()}
        return [Change(kind=kind, target=target, document=flags, source=r.address)]

    return read


HANDLERS: dict[str, Handler] = {
    "aws_s3_bucket_policy": _bucket_policy,
    "aws_kms_key": _kms_key,
    "aws_kms_key_policy": _kms_key_policy,
    "aws_iam_role_policy": _role_policy,
    "aws_iam_role": _role,
    "aws_iam_policy": _managed_policy,
    "aws_iam_role_policy_attachment": _attachment,
    "aws_organizations_policy": _org_policy,
    "aws_organizations_policy_attachment": _org_attachment,
    "aws_s3_bucket_public_access_block": _public_access_block(Kind.BucketPublicAccessBlock, "bucket"),
    "aws_s3_account_public_access_block": _public_access_block(Kind.AccountPublicAccessBlock, "account_id"),
}


def read_plan(plan: object) -> ChangeSet:
    """The proposed changes of a plan; raises PlanError naming the JSON path of what is wrong."""
    if not isinstance(plan, Mapping):
        raise PlanError("$: not a JSON object (the output of terraform show -json PLANFILE)")
    version = str(plan.get("format_version") or "")
    if version.split(".")[0] != "1":
        raise PlanError(f"$.format_version: {version or 'missing'}; this reader knows major version 1")
    raw = plan.get("resource_changes")
    raw = [] if raw is None else raw
    if not isinstance(raw, list):
        raise PlanError("$.resource_changes: not a list")
    index = _Index(plan)
    changes: list[Change | Unknown] = []
    ignored: list[str] = []
    for i, entry in enumerate(raw):
        path = f"$.resource_changes[{i}]"
        if not isinstance(entry, Mapping):
            raise PlanError(f"{path}: not an object")
        if entry.get("mode", "managed") != "managed":
            continue  # data sources are read, never changed
        r = _Resource(entry, path, index)
        if set(r.actions) <= {"no-op", "read"}:
            continue
        handler = HANDLERS.get(r.type)
        if handler is None:
            ignored.append(f"{r.address} ({r.type})")
            continue
        changes += handler(r)
    return ChangeSet(tuple(changes), tuple(ignored))
