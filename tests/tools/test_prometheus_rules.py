"""The alerts, checked and unit-tested by the real promtool: each fires when it should and stays
quiet when it should not (tests/prometheus/alerts_test.yaml)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/helm/bucketaccess-operator/files/alerts.yaml"
TESTS = ROOT / "tests/prometheus/alerts_test.yaml"


def run(promtool: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(promtool), *args], capture_output=True, text=True, check=False, timeout=120)


def test_rules_pass_promtool_check(promtool: Path) -> None:
    out = run(promtool, "check", "rules", str(RULES))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 9 rules found" in out.stdout


def test_every_alert_fires_and_stays_quiet_in_promtool_unit_tests(promtool: Path) -> None:
    out = run(promtool, "test", "rules", str(TESTS))
    assert out.returncode == 0, out.stdout + out.stderr
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    tested = yaml.safe_load(TESTS.read_text())["tests"]
    fired = {t["alertname"] for g in tested for t in g["alert_rule_test"] if t["exp_alerts"]}
    quiet = {t["alertname"] for g in tested for t in g["alert_rule_test"] if not t["exp_alerts"]}
    assert fired == alerts and quiet == alerts, "each alert needs a firing and a quiet case"


def test_a_wrong_expectation_fails_promtool(promtool: Path, tmp_path: Path) -> None:
    """The unit tests can fail: the same file with one expectation turned around does."""
    doc = yaml.safe_load(TESTS.read_text())
    doc["rule_files"] = [str(RULES)]
    doc["tests"][0]["alert_rule_test"][0]["exp_alerts"] = [{"exp_labels": {"severity": "ticket"}}]
    broken = tmp_path / "broken_test.yaml"
    broken.write_text(yaml.safe_dump(doc))
    out = run(promtool, "test", "rules", str(broken))
    assert out.returncode != 0 and "FAILED" in out.stdout + out.stderr


def test_the_metrics_the_alerts_use_are_exported() -> None:
    """Every bucketaccess_* series an alert reads is one the operator's /metrics documents."""
    import re

    from bucketaccess.k8s import event_metrics, metrics

    documented = set(re.findall(r"^(bucketaccess_\w+)", metrics.__doc__ or "", re.MULTILINE))
    documented |= set(re.findall(r"^(bucketaccess_\w+)", event_metrics.__doc__ or "", re.MULTILINE))
    documented |= {"bucketaccess_change_events_lag_seconds_bucket"}  # the histogram's series
    documented |= {f"bucketaccess_cache_{n}_total" for n in ("hits", "misses", "coalesced")}
    documented |= {"bucketaccess_scheduled_failures_total"}
    used = set(re.findall(r"bucketaccess_\w+", RULES.read_text()))
    assert used <= documented, f"alerts read series the operator does not export: {used - documented}"
