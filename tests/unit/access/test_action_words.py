"""Only an upload is called an upload: for every corpus case asking another action
(``request.action``), no line of the text output says "upload"; and bucket actions are evaluated
against the bucket ARN, object actions against the object ARN."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bucketaccess.access import explain, load_scenario
from bucketaccess.access.render import to_text
from bucketaccess.access.services import is_bucket_action
from tests.casecorpus import load_cases

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
UPLOAD = re.compile(r"\bupload\b", re.IGNORECASE)
OTHER_ACTIONS = [
    c
    for c in load_cases()
    if "error" not in c.expect
    and isinstance(c.scenario.get("request"), dict)
    and str(c.scenario["request"].get("action", "s3:PutObject")).lower() != "s3:putobject"
]


def test_the_corpus_asks_other_actions() -> None:
    assert len(OTHER_ACTIONS) >= 20
    assert any(is_bucket_action(c.scenario["request"]["action"]) for c in OTHER_ACTIONS)


@pytest.mark.parametrize("case", OTHER_ACTIONS, ids=[c.id for c in OTHER_ACTIONS])
def test_no_line_calls_another_action_an_upload(case) -> None:  # type: ignore[no-untyped-def]
    ex = explain(load_scenario(case.scenario, NOW))
    bad = [line for line in to_text(ex).splitlines() if UPLOAD.search(line)]
    assert not bad, bad


@pytest.mark.parametrize("case", OTHER_ACTIONS, ids=[c.id for c in OTHER_ACTIONS])
def test_the_request_names_the_right_arn(case) -> None:  # type: ignore[no-untyped-def]
    request = case.scenario["request"]
    ex = explain(load_scenario(case.scenario, NOW))
    first = ex.requests[0]
    bucket_arn = f"arn:aws:s3:::{request['bucket']}"
    if is_bucket_action(request["action"]):
        assert first.resource == bucket_arn
    else:
        assert first.resource.startswith(bucket_arn + "/")
