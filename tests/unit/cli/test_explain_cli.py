"""``bucketaccess explain``: golden output, exit codes, and one-line errors on bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bucketaccess.cli import ExitCode, main

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
INPUTS = sorted(p for p in GOLDEN.iterdir() if p.suffix in (".json", ".yaml") and ".out." not in p.name)
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

EXPECTED_EXIT = {
    "seed-explicit-deny": ExitCode.Denied,
    "seed-allowed-with-header": ExitCode.Allowed,
    "seed-scp-denies-s3": ExitCode.Denied,
    "acl-disabled-public-read": ExitCode.Denied,
    "kms-not-a-key-user": ExitCode.Denied,
    "kms-key-unknown": ExitCode.Unknown,
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_every_golden_input_has_an_expected_exit_code() -> None:
    assert {p.stem for p in INPUTS} == set(EXPECTED_EXIT)


@pytest.mark.parametrize("scenario", INPUTS, ids=[p.stem for p in INPUTS])
@pytest.mark.parametrize("output", ["text", "json"])
def test_golden_output(capsys: pytest.CaptureFixture[str], scenario: Path, output: str) -> None:
    code, out, err = run(capsys, "explain", str(scenario), "--output", output)
    assert err == ""
    assert code == EXPECTED_EXIT[scenario.stem]
    golden = GOLDEN / f"{scenario.stem}.out.{'json' if output == 'json' else 'txt'}"
    if UPDATE:
        golden.write_text(out)
    assert golden.exists(), f"missing {golden}; run with UPDATE_GOLDEN=1 once and review the diff"
    assert out == golden.read_text()


def test_json_output_has_all_ten_checks(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "explain", str(GOLDEN / "seed-explicit-deny.json"), "-o", "json")
    doc = json.loads(out)
    assert len(doc["checks"]) == 11  # RoleAssumable and the ten layers of the upload
    assert doc["checks"]["BucketPolicyAllows"]["statements"] == [
        {"source": "bucket-policy", "sid": "ExampleStmt", "effect": "Deny"}
    ]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (
            '{"request": {"principal": "arn:aws:iam::111122223333:role/r", "bucket": "Bad_Bucket"}}',
            "request.bucket:",
        ),
        ('{"request": {"bucket": "good-bucket"}}', "request.principal:"),
        (
            '{"request": {"principal": "arn:aws:iam::111122223333:role/r", "bucket": "good-bucket"}, "bucket": {"policy": {"Statement": [{"Effect": "Maybe"}]}}}',
            "bucket.policy.Statement[0].Effect:",
        ),
        ("{not json", "is not valid JSON"),
        ("request: [unclosed", "is not valid JSON or YAML"),
        ("[]", "must be an object"),
    ],
)
def test_invalid_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, field: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, out, err = run(capsys, "explain", str(path))
    assert code == ExitCode.InvalidInput
    assert out == ""
    assert err.count("\n") == 1 and field in err, err


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "explain", str(tmp_path / "absent.json"))
    assert (code, out) == (ExitCode.InvalidInput, "")
    assert "cannot read" in err and err.count("\n") == 1


def test_unknown_output_format_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["explain", str(GOLDEN / "seed-explicit-deny.json"), "--output", "xml"])
    assert info.value.code == ExitCode.InvalidInput
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--output" in err


def test_stdin_is_read_for_dash(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO((GOLDEN / "seed-allowed-with-header.json").read_text()))
    code, out, _ = run(capsys, "explain", "-", "-o", "json")
    assert code == ExitCode.Allowed and json.loads(out)["decision"] == "Allowed"
