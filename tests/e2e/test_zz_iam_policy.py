"""The operator's IAM policies in deploy/iam/, checked against every AWS call the e2e suite made.

Named to run after the other e2e modules: it reads the call log their operator processes wrote
(conftest's aws_call_log). Every call must be allowed by the policies, as the project's own
engine evaluates them, and every action the policies list must have been used by some call, so
the policies hold no more than the operator needs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bucketaccess.policy import (
    Authorization,
    Caller,
    NamedPolicy,
    PolicyKind,
    PrincipalKind,
    RequestContext,
    evaluate,
    parse_policy,
)
from tests.e2e.kube import ROOT

pytestmark = pytest.mark.e2e
IAM = ROOT / "deploy" / "iam"
NEEDS_NO_PERMISSION = {"sts:getcalleridentity"}
CALLER = Caller(
    "arn:aws:sts::111122223333:assumed-role/bucketaccess-operator/s",
    "111122223333",
    PrincipalKind.AssumedRole,
    "arn:aws:iam::111122223333:role/bucketaccess-operator",
    "arn:aws:sts::111122223333:assumed-role/bucketaccess-operator/s",
)


def load(name: str) -> tuple[NamedPolicy, list[str]]:
    raw = json.loads((IAM / name).read_text())
    actions = [
        a for s in raw["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    return NamedPolicy(name, parse_policy(raw, name, PolicyKind.Identity)), actions


def test_every_call_allowed_and_every_action_used(aws_call_log: Path) -> None:
    calls = {(c["action"], c["resource"]) for c in map(json.loads, aws_call_log.read_text().splitlines())}
    assert len(calls) > 20, "the e2e suite made too few AWS calls for this check to mean anything"
    policies = {
        name: load(name)
        for name in ("operator-policy.json", "org-reader-policy.json", "account-reader-policy.json")
    }
    refused = []
    for action, resource in sorted(calls):
        if action.lower() in NEEDS_NO_PERMISSION:
            continue
        ctx = RequestContext(action, resource, CALLER, {})
        if not any(
            evaluate(Authorization(ctx, identity=(policy,))).decision == "Allowed"
            for policy, _ in policies.values()
        ):
            refused.append((action, resource))
    assert not refused, f"calls the IAM policies do not allow: {refused}"
    used = {a.lower() for a, _ in calls}
    for name, (_, actions) in policies.items():
        unused = [a for a in actions if a.lower() not in used]
        assert not unused, f"{name} lists actions no call used: {unused}"
