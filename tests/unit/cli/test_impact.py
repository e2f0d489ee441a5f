"""``bucketaccess impact --snapshots``: exit codes, reports, and one line naming the flag for bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bucketaccess.cli import main
from tests.unit.impact.worlds import cluster, deny_put, doc

PLANS = Path(__file__).resolve().parents[1] / "impact" / "plans"


@pytest.fixture
def snapshots(tmp_path: Path) -> Path:
    root = tmp_path / "snapshots"
    for name, scenarios in cluster().items():
        path = root / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(scenarios[0] if len(scenarios) == 1 else scenarios))
    return root


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return str(path)


def test_a_breaking_bucket_policy_exits_1_and_names_the_objects(
    snapshots: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write(tmp_path, "p.json", deny_put("shared", "NoUploads"))
    code = main(["impact", "--snapshots", str(snapshots), "--bucket-policy", "shared", policy])
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "BREAKS    team-a/writer: Ready=True UploadAllowed -> Ready=False ExplicitDenyInBucketPolicy" in out
    )
    assert "NoUploads" in out and "team-c/secure" not in out
    assert out.rstrip().endswith("0 conflict(s) with the operator's managed statements")


def test_a_change_with_no_effect_exits_0_and_json_lists_nothing(
    snapshots: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write(tmp_path, "p.json", deny_put("nobody"))
    code = main(["impact", "--snapshots", str(snapshots), "--bucket-policy", "nobody", policy, "-o", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["rows"] == [] and (report["evaluated"], report["unaffected"]) == (0, 5)


def test_a_terraform_plan_with_values_known_after_apply(
    snapshots: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = str(PLANS / "known-after-apply.json")
    assert main(["impact", "--snapshots", str(snapshots), "--terraform-plan", plan]) == 0
    out = capsys.readouterr().out
    assert "UNKNOWN   team-a/writer" in out and "known only after apply" in out
    assert main(["impact", "--snapshots", str(snapshots), "--terraform-plan", plan, "--fail-on-unknown"]) == 1


def test_a_terraform_plan_that_detaches_and_deletes(
    snapshots: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = str(PLANS / "deletes-and-replacements.json")
    code = main(["impact", "--snapshots", str(snapshots), "--terraform-plan", plan, "-o", "json"])
    report = json.loads(capsys.readouterr().out)
    effects = {r["name"]: r["effect"] for r in report["rows"]}
    assert code == 1 and effects["team-a/writer"] == "breaks"  # its only inline policy deleted
    assert "team-b/writer" not in effects  # it holds no SharedKmsUse: the detachment touches nothing
    assert report["ignored"] == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bucket-policy", "shared", "{missing}"], "--bucket-policy: {missing}:"),
        (["--bucket-policy", "shared", "{notjson}"], "--bucket-policy: {notjson}: not JSON"),
        (["--bucket-policy", "shared", "{nostatement}"], "--bucket-policy: "),
        (
            ["--attach-scp", "ou-abcd-12345678", "X", "{scp}"],
            "--attach-scp: 'ou-abcd-12345678' is not a 12-digit account id",
        ),
        (["--terraform-plan", "{badplan}"], "--terraform-plan: $.format_version"),
        ([], "no change proposed"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_flag(
    snapshots: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    files = {
        "missing": str(tmp_path / "absent.json"),
        "notjson": write(tmp_path, "bad.json", "{"),
        "nostatement": write(tmp_path, "empty.json", {"Version": "2012-10-17"}),
        "scp": write(tmp_path, "scp.json", doc({"Effect": "Deny", "Action": "*", "Resource": "*"})),
        "badplan": write(tmp_path, "plan.json", {"format_version": "2.0"}),
    }
    argv = [a.format(**files) for a in argv]
    message = message.format(**files)
    with pytest.raises(SystemExit) as info:
        main(["impact", "--snapshots", str(snapshots), *argv])
    err = capsys.readouterr()
    assert info.value.code == 2 and err.out == ""
    lines = err.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bucketaccess: error: ") and message in lines[0], lines
