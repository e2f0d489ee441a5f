"""``ObservedStatus``: what an object's own last pass wrote, parsed once. Other passes, the sweep
and the cleanup plan with these facts, so each row pins one of them against the status that says it."""

from __future__ import annotations

from typing import Any

import pytest

from bucketaccess.resources import ObservedStatus

GENERATION = 3
ADMITTED = {"type": "Admitted", "status": "True", "reason": "Admitted"}


def identity(status: str, reason: str) -> dict[str, str]:
    return {"type": "IdentityPolicyAllows", "status": status, "reason": reason}


def status(*conditions: dict[str, Any], generation: int = GENERATION, **more: Any) -> dict[str, Any]:
    return {"observedGeneration": generation, "conditions": list(conditions), **more}


@pytest.mark.parametrize(
    ("raw", "verified", "role_missing"),
    [
        pytest.param(None, False, False, id="no-status-yet"),
        pytest.param(status(ADMITTED), True, False, id="admitted-role-not-evaluated"),
        pytest.param(
            status(ADMITTED, identity("True", "AllowedByStatement")), True, False, id="admitted-allowed"
        ),
        pytest.param(
            status(ADMITTED, identity("False", "NoAllowingStatement")), True, False, id="denied-is-verified"
        ),
        pytest.param(status(ADMITTED, generation=2), False, False, id="older-generation"),
        pytest.param(
            status({**ADMITTED, "status": "False", "reason": "ClassNotFound"}),
            False,
            False,
            id="not-admitted",
        ),
        pytest.param(status(ADMITTED, identity("False", "RoleNotFound")), False, True, id="role-missing"),
        pytest.param(
            status(ADMITTED, identity("Unknown", "AWSUnavailable")), True, False, id="aws-down-keeps-verdict"
        ),
        pytest.param(
            status(ADMITTED, identity("Unknown", "OperatorAccessDenied")), False, False, id="role-unreadable"
        ),
        pytest.param(
            status(identity("False", "RoleNotFound"), generation=1),
            False,
            True,
            id="role-missing-any-generation",
        ),
    ],
)
def test_verified_and_role_missing(raw: dict[str, Any] | None, verified: bool, role_missing: bool) -> None:
    observed = ObservedStatus.parse(raw, GENERATION)
    assert observed.verified is verified
    assert observed.role_missing is role_missing


def test_what_it_holds_comes_from_managed() -> None:
    managed = {"bucket": "b", "bucketPolicySid": "S1", "kmsKeyArn": "arn:k", "grantIds": ["g"]}
    observed = ObservedStatus.parse(status(managed=managed, roleArn="arn:r"), GENERATION)
    assert observed.holds and observed.uses_bucket_key
    assert observed.managed.kms_key_arn == "arn:k" and observed.role_arn == "arn:r"
    empty = ObservedStatus.parse(status(managed={"kmsKeyArn": "arn:k"}), GENERATION)
    assert not empty.holds and not empty.uses_bucket_key and empty.role_arn is None


def test_resumed_needs_a_verdict_for_this_generation() -> None:
    stamp = "2026-12-06T10:00:00Z"
    assert ObservedStatus.parse(status(lastVerifiedTime=stamp), GENERATION).resumed
    assert not ObservedStatus.parse(status(lastVerifiedTime=stamp, generation=2), GENERATION).resumed
    assert not ObservedStatus.parse(status(), GENERATION).resumed


@pytest.mark.parametrize(
    ("stamp", "since"),
    [("2026-12-06T10:00:00Z", 1796551200.0), ("yesterday", None), (None, None)],
)
def test_ready_since(stamp: str | None, since: float | None) -> None:
    ready = {"type": "Ready", "status": "True", "reason": "Verified", "lastTransitionTime": stamp}
    assert ObservedStatus.parse(status(ready), GENERATION).ready_since == since
