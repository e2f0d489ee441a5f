"""The docs stay true to the code: docs/operations.md's flags table has one row for each setting of
`bucketaccess run`, with its variable and default, and no other flag; every metric the operator
exports is documented there."""

from __future__ import annotations

import argparse
import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from bucketaccess.cli import build_parser
from bucketaccess.k8s import metrics
from bucketaccess.k8s.settings import SETTINGS, Setting

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


def test_every_metric_is_documented() -> None:
    names = set(re.findall(r"^(bucketaccess_\w+)", metrics.__doc__ or "", re.MULTILINE))
    assert len(names) >= 10
    missing = sorted(n for n in names if f"`{n}`" not in OPERATIONS)
    assert not missing, f"metrics missing from docs/operations.md: {missing}"


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
