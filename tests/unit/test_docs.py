"""The docs stay true to the code: docs/operations.md's flags table has one row for each setting of
`bucketaccess run`, with its variable and default, and no other flag; its metrics table lists
exactly the metrics the registry exports, their types, labels and closed label values; its IAM
table is deploy/iam/operator-policy.json, statement by statement; docs/api.md's reasons table has
a row for every condition reason, naming every condition explain writes it on (tests/unit/conftest.py
holds every other unit test to the same table)."""

from __future__ import annotations

import argparse
import itertools
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.metrics import MetricWrapperBase

from bucketaccess.access import explain, load_scenario
from bucketaccess.aws.attempts import WRITE_OPERATIONS
from bucketaccess.aws.cache import CacheStats
from bucketaccess.cli import build_parser
from bucketaccess.k8s import metrics
from bucketaccess.k8s.leader import WriteTarget
from bucketaccess.k8s.scheduler import SchedulerStats
from bucketaccess.k8s.settings import SETTINGS, Setting
from bucketaccess.k8s.verify_now import VerifyNowStats
from bucketaccess.policy import InvalidInput
from bucketaccess.trail.parse import Why
from bucketaccess.vocabulary import Reason
from tests.casecorpus import load_cases
from tests.reasons_table import documented, undocumented

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = (ROOT / "docs/operations.md").read_text()
DESIGN = (ROOT / "docs/design.md").read_text()
CHANGES = ("a layer", "a reason", "an AWS read", "an AWS write", "a flag", "a metric", "a CRD field")


FLAGS_HEADER = "| flag | environment | default | meaning |"
NOT_A_VARIABLE = "—"


def flags_table() -> dict[str, tuple[str, str]]:
    """docs/operations.md's one flags table: flag -> (environment cell, default cell), one row a flag."""
    lines = OPERATIONS.splitlines()
    assert lines.count(FLAGS_HEADER) == 1, "docs/operations.md must have exactly one flags table"
    rows: dict[str, tuple[str, str]] = {}
    for line in itertools.takewhile(lambda x: x.startswith("|"), lines[lines.index(FLAGS_HEADER) + 2 :]):
        flag_cell, env, default, _ = (c.strip() for c in line.strip("|").split("|", 3))
        flags = re.findall(r"`(--[a-z0-9-]+)`", flag_cell)
        assert len(flags) == 1, f"one flag per row of the flags table: {line}"
        assert flags[0] not in rows, f"{flags[0]} has two rows in the flags table"
        rows[flags[0]] = (env, default)
    return rows


def run_flags() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    run = sub.choices["run"]
    return {o for a in run._actions for o in a.option_strings if o.startswith("--") and o != "--help"}


@pytest.mark.parametrize("declared", SETTINGS, ids=lambda s: s.flag)
def test_every_setting_has_its_row_with_its_variable_and_default(declared: Setting[Any]) -> None:
    rows = flags_table()
    assert declared.flag in rows, f"{declared.flag} is missing from the flags table of docs/operations.md"
    env, default = rows[declared.flag]
    assert env == f"`{declared.env}`", f"{declared.flag}: the table says {env}, the code {declared.env}"
    if declared.default is not None:
        assert default.startswith(f"`{declared.default}`"), (
            f"{declared.flag}: the default is {declared.default}"
        )
    else:
        assert not default.startswith("`"), f"{declared.flag} has no default, the table gives {default}"


def test_every_flag_in_the_table_exists_and_every_flag_is_there() -> None:
    rows = flags_table()
    flags = run_flags()
    assert flags, "no flags found: the parser changed shape"
    unknown, missing = sorted(set(rows) - flags), sorted(flags - set(rows))
    assert not unknown, f"the flags table names flags `bucketaccess run` does not have: {unknown}"
    assert not missing, f"flags of `bucketaccess run` missing from the flags table: {missing}"
    declared = {s.flag for s in SETTINGS}
    assert all(env == NOT_A_VARIABLE for flag, (env, _) in rows.items() if flag not in declared)


def table(text: str, header: str) -> list[list[str]]:
    """The cells of the rows of the one table of ``text`` with this header."""
    lines = text.splitlines()
    assert lines.count(header) == 1, f"exactly one table headed {header!r}"
    rows = itertools.takewhile(lambda x: x.startswith("|"), lines[lines.index(header) + 2 :])
    return [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows]


# ---------------------------------------------------------------- metrics
PACKAGE = ROOT / "operator" / "bucketaccess"


def exported() -> dict[str, tuple[str, tuple[str, ...]]]:
    """What the registry exports, every collector set up: name (as scraped) -> (type, labels)."""
    m = metrics.Metrics()
    m.state.cache, m.state.scheduler, m.state.verify_now = CacheStats(), SchedulerStats(), VerifyNowStats()
    # the metrics themselves, and those of the groups Metrics holds (the change events')
    holders = [
        m,
        *(v for v in vars(m).values() if hasattr(v, "__dict__") and not isinstance(v, MetricWrapperBase)),
    ]
    wrappers = {w._name: w for h in holders for w in vars(h).values() if isinstance(w, MetricWrapperBase)}
    out = {}
    for family in m.registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        made = wrappers.get(family.name)
        labels = made._labelnames if made is not None else getattr(family, "_labelnames", ())
        out[name] = (family.type, tuple(labels))
    return out


def client_services() -> set[str]:
    """The AWS services the operator makes boto3 clients for (each is hooked for the metrics)."""
    source = "".join(p.read_text() for p in (PACKAGE / "aws").glob("*.py"))
    return {
        s
        for args in re.findall(r"client\(([^()]*)\)", source)
        for s in re.findall(r'(?<!\w)"([a-z0-9]+)"', args)
    }


def closed_label_values() -> dict[tuple[str, str], set[str]]:
    """The labels whose every value the code decides, and those values."""
    m = metrics.Metrics()
    ready = {
        s.labels["ready"] for f in m.registry.collect() if f.name == "bucketaccess_objects" for s in f.samples
    }
    writer = (PACKAGE / "aws" / "writer.py").read_text()
    return {
        ("bucketaccess_objects", "ready"): ready,
        ("bucketaccess_fenced_writes_total", "target"): {str(t) for t in WriteTarget},
        ("bucketaccess_aws_calls_total", "service"): client_services(),
        ("bucketaccess_aws_writes_total", "operation"): {o for o in WRITE_OPERATIONS if f'"{o}"' in writer},
        ("bucketaccess_change_events_ignored_total", "reason"): {str(w.value) for w in Why},
    }


def metrics_table() -> dict[str, tuple[str, dict[str, set[str] | None]]]:
    """docs/operations.md's metrics table: name -> (type, label -> its listed values or None)."""
    out: dict[str, tuple[str, dict[str, set[str] | None]]] = {}
    for name_cell, type_cell, labels_cell, _ in table(OPERATIONS, "| metric | type | labels | meaning |"):
        (name,) = re.findall(r"`(bucketaccess_\w+)`", name_cell)
        labels: dict[str, set[str] | None] = {}
        for part in [] if labels_cell == "—" else labels_cell.split(";"):
            label, has_values, values = part.partition("=")
            (key,) = re.findall(r"`(\w+)`", label)
            labels[key] = set(re.findall(r"`([^`]+)`", values)) if has_values else None
        out[name] = (type_cell, labels)
    return out


def test_the_metrics_table_lists_exactly_what_the_registry_exports() -> None:
    code, docs = exported(), metrics_table()
    assert len(code) >= 20, "too few metrics found: the registry changed shape"
    assert sorted(set(code) - set(docs)) == [], "metrics missing from docs/operations.md"
    assert sorted(set(docs) - set(code)) == [], (
        "docs/operations.md lists metrics the operator does not export"
    )
    for name, (kind, labels) in code.items():
        assert docs[name][0] == kind, f"{name} is a {kind}"
        assert tuple(docs[name][1]) == labels, f"{name}'s labels are {labels}"


def test_the_metrics_table_lists_the_closed_label_values_the_code_gives() -> None:
    docs, closed = metrics_table(), closed_label_values()
    assert "eks" in closed["bucketaccess_aws_calls_total", "service"], "the scan of the boto3 clients broke"
    for name, (_, labels) in docs.items():
        for label, values in labels.items():
            if (name, label) in closed:
                assert values == closed[name, label], (
                    f"{name}{{{label}}}: the code gives {closed[name, label]}"
                )
            else:
                assert values is None, f"{name}{{{label}}}: the code does not bound its values; list none"


# ---------------------------------------------------------------- the operator's IAM policy
def test_the_iam_table_is_the_operator_policy_statement_by_statement() -> None:
    policy = json.loads((ROOT / "deploy/iam/operator-policy.json").read_text())
    code = {
        st["Sid"]: {st["Action"]} if isinstance(st["Action"], str) else set(st["Action"])
        for st in policy["Statement"]
    }
    docs = {}
    for sid_cell, actions_cell, _ in table(OPERATIONS, "| statement | actions | what for |"):
        (sid,) = re.findall(r"`(\w+)`", sid_cell)
        docs[sid] = set(re.findall(r"`([a-z0-9-]+:[A-Za-z*]+)`", actions_cell))
    assert docs == code


# ---------------------------------------------------------------- condition reasons
EVENT_ONLY = {
    Reason.GrantedBucketAccess,
    Reason.RemovedBucketAccess,
    Reason.AddedKMSKeyUser,
    Reason.RemovedKMSKeyUser,
    Reason.RestoredManagedStatement,
    Reason.ReplacedStalePrincipal,
}


def test_every_condition_reason_has_one_row_in_the_reasons_table() -> None:
    assert set(Reason) - set(documented()) == EVENT_ONLY


def test_the_reasons_table_names_every_check_explain_writes_each_reason_on() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    pairs = set()
    for case in load_cases():
        try:
            checks = explain(load_scenario(case.scenario, now)).checks
        except InvalidInput:
            continue
        pairs |= {(str(name), str(check.reason)) for name, check in checks.items()}
    assert len(pairs) > 60, "too few (check, reason) pairs: the corpus changed shape"
    assert undocumented(pairs) == []


def test_a_stale_verdict_row_gives_verify_now_and_the_freshness_design_gives() -> None:
    (row,) = [
        line for line in OPERATIONS.splitlines() if line.startswith("| AWS was fixed, the status still")
    ]
    assert "s3access.dev/verify" in row and "kubectl annotate" in row
    assert "two intervals" in row and "two intervals" in DESIGN
    assert "--cache-ttl" in row and "within `--cache-ttl`" in DESIGN
    assert (
        "only reads made after the annotation changed" in row
        and "only reads made after the annotation changed" in DESIGN
    )


def where_to_change_what() -> dict[str, list[str]]:
    """docs/design.md's "Where to change what": change -> the paths its row names."""
    section = DESIGN.split("\n## Where to change what\n", 1)[1].split("\n## ", 1)[0]
    rows = [
        line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| change")
    ]
    table = {}
    for row in rows:
        change, files = (c.strip() for c in row.strip("|").split("|", 1))
        table[change] = [p for p in re.findall(r"`([^`\s]+)`", files) if "/" in p and not p.startswith("-")]
    return table


def test_where_to_change_what_covers_the_common_changes() -> None:
    table = where_to_change_what()
    for change in CHANGES:
        row = next((paths for name, paths in table.items() if name.startswith(change)), None)
        assert row, f"docs/design.md: no row (or no path) for {change!r} in 'Where to change what'"


def test_where_to_change_what_names_only_paths_that_exist() -> None:
    named = {p for paths in where_to_change_what().values() for p in paths}
    assert len(named) >= 20, "the table changed shape: too few paths found"
    gone = sorted(
        p for p in named if not (ROOT / p).exists() or (p.endswith("/") and not (ROOT / p).is_dir())
    )
    assert not gone, f"docs/design.md's 'Where to change what' names paths that do not exist: {gone}"
