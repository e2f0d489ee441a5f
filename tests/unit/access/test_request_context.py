"""The table of the request context (access/request_context.py), walked key by key.

For every key of the reference lists: a derived key is in the context the engine builds for the
requests the table says carry it, with the value its corpus case expects; a key AWS leaves out, or
one only request.context can state, is in no request's context unless stated; and a corpus case
puts the key in a condition that decides the upload (tests/cases/request_context.json).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bucketaccess.access import load_scenario
from bucketaccess.access.probes import plan_upload
from bucketaccess.access.request_context import CONTEXT_KEYS, DERIVED, PAGES, READ_ON, ContextKey, Origin
from tests.casecorpus import load_cases

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
CASES = {c.id: c for c in load_cases() if c.id.startswith("request_context::")}


def _slug(key: ContextKey) -> str:
    concrete = re.sub(r"<[^>]+>", "x", key.name)
    return concrete.lower().replace(":", "-").replace("/", "-")


def _case(key: ContextKey) -> Any:
    prefix = key.name.split("<")[0].lower().replace(":", "-").replace("/", "-")
    found = [
        c
        for cid, c in CASES.items()
        if cid.split("::")[1].startswith(prefix) and cid.endswith(("-derived", "-absent", "-stated"))
    ]
    assert found, f"{key.name}: no case in tests/cases/request_context.json"
    return found[0]


def _condition_keys(case: Any) -> set[str]:
    """Every key a condition of the case's scenario names (bucket, key and identity policies)."""
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "Condition" and isinstance(v, dict):
                    names.update(key.lower() for op in v.values() for key in op)
                walk(v)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(case.scenario)
    return names


def _contexts(case: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    """The keys of each request of the upload: "s3" (every S3 request merged) and "kms"."""
    out: dict[str, dict[str, tuple[str, ...]]] = {"s3": {}, "kms": {}}
    for probe in plan_upload(load_scenario(case.scenario, NOW)):
        if probe.authorization is not None:
            out[str(probe.service)] |= dict(probe.authorization.ctx.keys)
    return out


def _family(name: str, keys: dict[str, tuple[str, ...]]) -> list[str]:
    """The context keys a table row names: itself, or each member of a family (``.../<key>``)."""
    if "<" not in name:
        return [name.lower()] if name.lower() in keys else []
    stem = name.split("<")[0].lower()
    return [k for k in keys if k.startswith(stem)]


def test_the_table_names_its_sources_and_covers_the_reference_lists() -> None:
    assert READ_ON and set(PAGES) == {"s3:PutObject", "kms", "global"}
    names = [k.name for k in CONTEXT_KEYS]
    assert len(names) == len(set(names)), "a key listed twice"
    assert all(len(k.how) > 10 for k in CONTEXT_KEYS), "every row says how, or why not"
    by_list = {listed: {k.name for k in CONTEXT_KEYS if k.listed == listed} for listed in PAGES}
    # a sample of each list, so a truncated table cannot pass
    assert {
        "s3:x-amz-acl",
        "s3:object-lock-mode",
        "s3:RequestObjectTag/<key>",
        "s3:if-none-match",
    } <= by_list["s3:PutObject"]
    assert {"kms:EncryptionContext:<key>", "kms:ViaService", "kms:RequestAlias"} <= by_list["kms"]
    assert {"aws:userid", "aws:PrincipalIsAWSService", "aws:ViaAWSService", "aws:SourceVpce"} <= by_list[
        "global"
    ]
    assert len(by_list["s3:PutObject"]) >= 30 and len(by_list["global"]) >= 50


@pytest.mark.parametrize("key", CONTEXT_KEYS, ids=[k.name for k in CONTEXT_KEYS])
def test_each_key_is_derived_as_the_table_says_and_decides_a_corpus_case(key: ContextKey) -> None:
    case = _case(key)
    named = _condition_keys(case)
    stem = key.name.split("<")[0].lower()
    assert any(n == key.name.lower() or ("<" in key.name and n.startswith(stem)) for n in named), (
        f"{case.id} puts no condition on {key.name}"
    )
    contexts = _contexts(case)
    if key.origin in DERIVED:
        assert case.id.endswith("-derived"), case.id
        assert key.on, f"{key.name}: a derived key says which requests carry it"
        for request in ("s3", "kms"):
            carried = _family(key.name, contexts[request])
            if request in key.on:
                assert carried, f"{key.name} is missing from the {request} request of {case.id}"
            elif "<" not in key.name:
                assert not carried, f"{key.name} is on the {request} request, the table says only {key.on}"
        return
    stated = case.scenario["request"].get("context", {})
    if key.origin is Origin.Stated:
        assert case.id.endswith("-stated") and any(k.lower().startswith(stem) for k in stated), case.id
        unstated = {**case.scenario, "request": {**case.scenario["request"], "context": {}}}
        contexts = _contexts(type(case)(case.id, case.why, unstated, case.expect))
    else:
        assert case.id.endswith("-absent"), case.id
    assert not any(_family(key.name, contexts[r]) for r in ("s3", "kms")), f"{key.name} is in a context"


def test_a_role_root_and_user_each_get_their_aws_userid() -> None:
    base: dict[str, Any] = {
        "request": {"principal": "", "bucket": "data-bucket", "key": "in/x.csv"},
        "identity": {"uniqueId": "AROAEXAMPLEROLEID1234"},
    }
    cases = {
        "arn:aws:sts::111122223333:assumed-role/app/s1": "AROAEXAMPLEROLEID1234:s1",
        "arn:aws:iam::111122223333:root": "111122223333",
    }
    for principal, userid in cases.items():
        raw = {**base, "request": {**base["request"], "principal": principal}}
        if principal.endswith(":root"):
            raw = {**raw, "identity": {}}
        (s3,) = [p for p in plan_upload(load_scenario(raw, NOW)) if p.authorization]
        assert s3.authorization is not None
        assert s3.authorization.ctx.keys["aws:userid"] == (userid,)


def test_docs_scenario_shows_the_table_as_it_is() -> None:
    from pathlib import Path

    from bucketaccess.access.request_context import markdown_table

    doc = (Path(__file__).parents[3] / "docs" / "scenario.md").read_text()
    assert markdown_table() in doc, (
        "docs/scenario.md: regenerate the table with request_context.markdown_table()"
    )
