"""docs/operations.md stays true to the code: every flag of `bucketaccess run` and every metric the
operator exports is documented there."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bucketaccess.cli import build_parser
from bucketaccess.k8s import metrics

OPERATIONS = (Path(__file__).resolve().parents[2] / "docs/operations.md").read_text()


def test_every_run_flag_is_documented() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    run = sub.choices["run"]
    flags = {o for a in run._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
    assert flags, "no flags found: the parser changed shape"
    missing = sorted(f for f in flags if f"`{f}`" not in OPERATIONS)
    assert not missing, f"flags of `bucketaccess run` missing from docs/operations.md: {missing}"


def test_every_metric_is_documented() -> None:
    names = set(re.findall(r"^(bucketaccess_\w+)", metrics.__doc__ or "", re.MULTILINE))
    assert len(names) >= 10
    missing = sorted(n for n in names if f"`{n}`" not in OPERATIONS)
    assert not missing, f"metrics missing from docs/operations.md: {missing}"
