"""Environment settings are read by the command that uses them, when it runs: a malformed
``BUCKETACCESS_*`` variable never changes explain's answer, and stops run or check with exit 2
and one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bucketaccess.cli import ExitCode, main

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
BAD = {
    "BUCKETACCESS_DEFAULT_INTERVAL": "5x",
    "BUCKETACCESS_CACHE_TTL": "soon",
    "BUCKETACCESS_WORKERS": "many",
    "BUCKETACCESS_HEALTH_PORT": "99999",
    "BUCKETACCESS_METRICS_PORT": "x",
    "BUCKETACCESS_LOG_LEVEL": "loud",
    "BUCKETACCESS_LOG_FORMAT": "xml",
    "BUCKETACCESS_VERIFY_NOW_WINDOW": "soon",
    "BUCKETACCESS_VERIFY_NOW_RATE": "0",
    "BUCKETACCESS_VERIFY_NOW_BURST": "0",
}


@pytest.mark.parametrize(
    ("scenario", "code"),
    [
        ("seed-explicit-deny.json", ExitCode.Denied),
        ("seed-allowed-with-header.json", ExitCode.Allowed),
        ("kms-key-unknown.json", ExitCode.Unknown),
    ],
)
def test_explain_answers_by_the_decision_whatever_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], scenario: str, code: ExitCode
) -> None:
    for name, value in BAD.items():
        monkeypatch.setenv(name, value)
    assert main(["explain", str(GOLDEN / scenario)]) == code
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("variable", "value"), list(BAD.items()), ids=list(BAD))
def test_run_refuses_a_malformed_variable_in_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["run"]) == ExitCode.InvalidInput
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and variable in err and err.startswith("bucketaccess: error: ")


def test_a_flag_wins_over_a_malformed_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from bucketaccess.cli.common import duration, setting

    monkeypatch.setenv("BUCKETACCESS_DEFAULT_INTERVAL", "5x")
    assert setting(90.0, "DEFAULT_INTERVAL", "5m", duration) == 90.0
    monkeypatch.delenv("BUCKETACCESS_DEFAULT_INTERVAL")
    assert setting(None, "DEFAULT_INTERVAL", "5m", duration) == 300.0


def test_a_malformed_flag_exits_2_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["run", "--default-interval", "5x"])
    assert done.value.code == ExitCode.InvalidInput
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--default-interval" in err
