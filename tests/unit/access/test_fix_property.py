"""Fixes work when pasted: for every corpus case with a failing check whose fix is a statement or
a header, apply that fix to the scenario the way a person would (add the statement to the policy
it names, send the header), explain again, and the check no longer fails.

The fix is read from the JSON output (``checks.NAME.fix``), and the text message must quote it,
so what a person reads is what this test applies.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given

from bucketaccess.access import explain, load_scenario
from bucketaccess.policy import InvalidInput
from tests.casecorpus import load_cases
from tests.unit.access.test_properties import PROFILE, scenarios

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def _failing_with_fix() -> list[tuple[str, dict[str, Any], str, dict[str, Any]]]:
    out = []
    for case in load_cases():
        if "error" in case.expect:
            continue
        try:
            got = explain(load_scenario(case.scenario, NOW)).as_dict()
        except InvalidInput:
            continue
        for name, check in got["checks"].items():  # type: ignore[union-attr]
            if check["status"] == "False" and "fix" in check:
                out.append((case.id, case.scenario, name, check))
    return out


FAILING = _failing_with_fix()


def _document(holder: dict[str, Any], field: str) -> dict[str, Any]:
    """The policy document at ``holder[field]``, created empty if absent, parsed if a JSON string."""
    doc = holder.get(field)
    if isinstance(doc, str):
        doc = json.loads(doc)
    if doc is None:
        doc = {"Version": "2012-10-17", "Statement": []}
    if isinstance(doc.get("Statement"), dict):
        doc["Statement"] = [doc["Statement"]]
    holder[field] = doc
    return doc


def apply_fix(scenario: dict[str, Any], fix: dict[str, Any]) -> dict[str, Any]:
    sc = copy.deepcopy(scenario)
    request = sc["request"]
    for name, value in fix.get("headers", {}).items():
        request.setdefault("headers", {})[name] = value
    for i, edit in enumerate(fix.get("statements", [])):
        stmt, policy = edit["statement"], edit["policy"]
        identity = sc.setdefault("identity", {})
        if policy == "identity":
            identity.setdefault("policies", []).append(
                {"name": f"fix-{i}", "document": {"Version": "2012-10-17", "Statement": [stmt]}}
            )
        elif policy == "bucket-policy":
            _document(sc.setdefault("bucket", {}), "policy")["Statement"].append(stmt)
        elif policy == "key-policy":
            _document(sc["kms"]["keys"][edit["key"]], "policy")["Statement"].append(stmt)
        elif policy == "permissions-boundary":
            _document(identity["permissionsBoundary"], "document")["Statement"].append(stmt)
        elif policy == "session-policy":
            if identity.get("sessionPolicies"):
                _document(identity["sessionPolicies"][0], "document")["Statement"].append(stmt)
            else:  # a Pod Identity association's policy
                _document(sc["session"], "policy")["Statement"].append(stmt)
        elif policy == "vpc-endpoint-policy":
            _document(request["vpcEndpoint"], "policy")["Statement"].append(stmt)
        else:
            raise AssertionError(f"unknown fix target {policy!r}")
    return sc


def test_the_corpus_has_fixes_of_every_kind() -> None:
    kinds = {s["policy"] for _, _, _, c in FAILING for s in c["fix"].get("statements", [])}
    assert {"identity", "bucket-policy", "key-policy", "permissions-boundary"} <= kinds, kinds
    assert any("headers" in c["fix"] for _, _, _, c in FAILING)
    assert len(FAILING) >= 40, len(FAILING)


@pytest.mark.parametrize(
    ("case_id", "scenario", "name", "check"), FAILING, ids=[f"{c[0]}::{c[2]}" for c in FAILING]
)
def test_applying_the_fix_makes_the_check_pass(
    case_id: str, scenario: dict[str, Any], name: str, check: dict[str, Any]
) -> None:
    fix = check["fix"]
    for edit in fix.get("statements", []):
        # the words quote the data: what a person pastes from the message is what is applied here
        # (a message folding several findings, "(+N more)", quotes the first one's statements)
        if "(+" not in check["message"] or len(fix.get("statements", [])) == 1:
            assert json.dumps(edit["statement"], separators=(",", ":")) in check["message"], check["message"]
        resources = edit["statement"]["Resource"]
        for resource in [resources] if isinstance(resources, str) else resources:
            assert "bucketaccess-probe" not in resource and not resource.endswith("probe-object"), resource
    for header, value in fix.get("headers", {}).items():
        assert header in check["message"] and value in check["message"], check["message"]
    after = explain(load_scenario(apply_fix(scenario, fix), NOW)).as_dict()["checks"][name]  # type: ignore[index]
    assert after["status"] != "False", f"{case_id}: after {fix} {name} still fails: {after['message']}"


@PROFILE
@given(sc=scenarios())
def test_fixes_work_on_generated_scenarios(sc: dict[str, Any]) -> None:
    """The same property over the monotonicity tests' generated scenarios (broad and narrow grants,
    Denies on headers, boundaries, SCPs, KMS keys)."""
    checks = explain(load_scenario(sc, NOW)).as_dict()["checks"]
    for name, check in checks.items():  # type: ignore[union-attr]
        if check["status"] == "False" and "fix" in check:
            after = explain(load_scenario(apply_fix(sc, check["fix"]), NOW)).as_dict()["checks"][name]  # type: ignore[index]
            assert after["status"] != "False", (name, check["fix"], after["message"])
