"""The Grafana dashboard reads only series the operator exports (as the alerts' test does)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bucketaccess.aws.cache import CacheStats
from bucketaccess.k8s import event_metrics
from bucketaccess.k8s.metrics import Metrics
from bucketaccess.k8s.scheduler import SchedulerStats
from bucketaccess.k8s.verify_now import VerifyNowStats

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "helm" / "bucketaccess-operator" / "files" / "dashboard.json"


def exported() -> set[str]:
    """Every series name a fresh operator's /metrics holds, with each histogram's and counter's forms."""
    metrics = Metrics()
    # as the operator wires them at start-up (runtime.build, handlers.configure)
    metrics.state.cache = CacheStats()
    metrics.state.scheduler = SchedulerStats()
    metrics.state.verify_now = VerifyNowStats()
    names: set[str] = set()
    for family in metrics.registry.collect():
        names.add(family.name)
        names |= {s.name for s in family.samples}
        if family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "count", "sum")}
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p["targets"]]


def test_every_query_reads_a_series_the_operator_exports() -> None:
    found = exported()
    assert "bucketaccess_change_events_lag_seconds_bucket" in found
    used = {n for q in queries() for n in re.findall(r"bucketaccess_\w+", q)}
    assert len(used) >= 12
    assert used <= found, f"the dashboard reads series the operator does not export: {sorted(used - found)}"


def test_it_shows_what_the_issue_asks_for() -> None:
    text = " ".join(queries())
    for series in (
        "bucketaccess_not_ready_seconds",  # verdicts by reason
        "bucketaccess_verification_staleness_intervals",
        "bucketaccess_change_events_lag_seconds_bucket",
        "bucketaccess_aws_calls_total",
        "Throttling",
    ):
        assert series in text
    assert event_metrics.__doc__ is not None
