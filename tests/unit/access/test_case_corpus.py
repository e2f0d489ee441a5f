"""Every case of tests/cases/ through the real loader and evaluator, checked as its expect says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bucketaccess.access import explain, load_scenario
from bucketaccess.policy import InvalidInput
from tests.casecorpus import load_cases

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
CASES = load_cases()


def test_corpus_is_large_and_every_case_says_why() -> None:
    assert len(CASES) >= 150
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    missing = [c.id for c in CASES if len(c.why.strip()) < 15 or "\n" in c.why]
    assert not missing, f"cases without a one-line why: {missing}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case) -> None:  # type: ignore[no-untyped-def]
    expect = case.expect
    if "error" in expect:
        with pytest.raises(InvalidInput) as info:
            load_scenario(case.scenario, NOW)
        assert str(info.value).startswith(expect["error"]), str(info.value)
        return
    result = explain(load_scenario(case.scenario, NOW))
    got = result.as_dict()
    assert got["decision"] == expect["decision"], _why(case, got)
    for action, decision in expect.get("requests", {}).items():
        matching = [r["decision"] for r in got["requests"] if r["action"] == action]
        assert matching == [decision], f"{action}: {matching}; {_why(case, got)}"
    checks = got["checks"]
    for name, status in expect.get("checks", {}).items():
        assert checks[name]["status"] == status, f"{name}: {checks[name]}; {_why(case, got)}"
    for name, reason in expect.get("reasons", {}).items():
        assert checks[name]["reason"] == reason, f"{name}: {checks[name]}; {_why(case, got)}"
    for name, text in expect.get("contains", {}).items():
        assert text in checks[name]["message"], f"{name}: {checks[name]['message']!r} lacks {text!r}"
    for name, sids in expect.get("statements", {}).items():
        assert [s["sid"] for s in checks[name].get("statements", [])] == sids, f"{name}: {checks[name]}"
    # Every failing check must name what blocks and say what to change.
    for name, check in checks.items():
        if check["status"] == "False":
            assert (check["message"] and ";" in check["message"]) or "S3 answers" in check["message"], (
                name,
                check,
            )


def _why(case, got) -> str:  # type: ignore[no-untyped-def]
    failing = {
        k: (v["status"], v["reason"]) for k, v in got["checks"].items() if v["status"] in ("False", "Unknown")
    }
    return f"why: {case.why}; got {got['decision']} with {failing}"
