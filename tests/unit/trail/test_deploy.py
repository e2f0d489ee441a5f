"""deploy/aws/change-events.yaml and docs/operations.md against the one table of calls: the
rules' patterns are exactly the table's, the queue policy lets only those rules send, cfn-lint
passes, and the docs' "Change events" table is the table rendered."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from bucketaccess.k8s import event_metrics
from bucketaccess.trail.calls import event_patterns, markdown_table, service_event_patterns

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "deploy" / "aws" / "change-events.yaml"
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text())  # intrinsics in their long form
    return loaded


def rules() -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template()["Resources"].items() if r["Type"] == "AWS::Events::Rule"}


def test_the_rules_match_exactly_the_calls_of_the_table() -> None:
    found = [r["Properties"]["EventPattern"] for r in rules().values()]
    expected = [*event_patterns().values(), *service_event_patterns()]
    assert sorted(found, key=json.dumps) == sorted(expected, key=json.dumps)


def test_only_the_stacks_own_rules_may_send_to_the_queue() -> None:
    policy = template()["Resources"]["QueuePolicy"]["Properties"]["PolicyDocument"]
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(s["Fn::GetAtt"][0] for s in sources) == sorted(rules())


def test_the_iam_policy_names_the_templates_queue() -> None:
    name = template()["Parameters"]["QueueName"]["Default"]
    text = (ROOT / "deploy" / "iam" / "operator-policy.json").read_text()
    assert f"arn:aws:sqs:*:*:{name}" in text


def test_cfn_lint_passes() -> None:
    lint = shutil.which("cfn-lint") or str(Path(sys.executable).parent / "cfn-lint")
    done = subprocess.run([lint, str(TEMPLATE)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_docs_table_is_the_code_table() -> None:
    assert markdown_table() in OPERATIONS, "docs/operations.md 'Change events': paste markdown_table()"


def test_every_change_event_metric_is_documented() -> None:
    names = re.findall(r"^(bucketaccess_\w+)", event_metrics.__doc__ or "", re.MULTILINE)
    assert len(names) == 9
    missing = sorted(n for n in names if f"`{n}`" not in OPERATIONS)
    assert not missing, f"change-event metrics missing from docs/operations.md: {missing}"
