"""The operator's IAM policies in deploy/iam/, as the project's own engine evaluates them: which
logged AWS calls they would refuse, and which of their actions no call used."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from bucketaccess.policy import (
    Authorization,
    Caller,
    NamedPolicy,
    PolicyKind,
    PolicyOrigin,
    PolicySource,
    PrincipalKind,
    RequestContext,
    evaluate,
    parse_policy,
)

IAM = Path(__file__).resolve().parents[1] / "deploy" / "iam"
POLICIES = ("operator-policy.json", "org-reader-policy.json", "account-reader-policy.json")
NEEDS_NO_PERMISSION = {"sts:getcalleridentity"}
CALLER = Caller(
    "arn:aws:sts::111122223333:assumed-role/bucketaccess-operator/s",
    "111122223333",
    PrincipalKind.AssumedRole,
    "arn:aws:iam::111122223333:role/bucketaccess-operator",
    "arn:aws:sts::111122223333:assumed-role/bucketaccess-operator/s",
)
Call = tuple[str, str]  # (IAM action, resource ARN)


# deploy/iam/operator-policy.json names the cluster as CLUSTER_NAME, which an installer replaces;
# every test runs its operator against this cluster name
TEST_CLUSTER = "e2e-cluster"


def load(name: str) -> tuple[NamedPolicy, list[str]]:
    raw = json.loads((IAM / name).read_text().replace("CLUSTER_NAME", TEST_CLUSTER))
    actions = [
        a for s in raw["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    return NamedPolicy(
        PolicySource(PolicyOrigin.Identity, name), parse_policy(raw, name, PolicyKind.Identity)
    ), actions


def read_calls(path: Path) -> set[Call]:
    if not path.exists():
        return set()
    return {(c["action"], c["resource"]) for c in map(json.loads, path.read_text().splitlines())}


def refused(calls: Iterable[Call]) -> list[Call]:
    """Calls that none of the policies allows."""
    policies = [load(name)[0] for name in POLICIES]
    out = []
    for action, resource in sorted(set(calls)):
        if action.lower() in NEEDS_NO_PERMISSION:
            continue
        ctx = RequestContext(action, resource, CALLER, {})
        if not any(evaluate(Authorization(ctx, identity=(p,))).decision == "Allowed" for p in policies):
            out.append((action, resource))
    return out


def unused(calls: Iterable[Call]) -> dict[str, list[str]]:
    """Per policy, the actions it lists that no call used."""
    used = {a.lower() for a, _ in calls}
    out = {}
    for name in POLICIES:
        missing = [a for a in load(name)[1] if a.lower() not in used]
        if missing:
            out[name] = missing
    return out
