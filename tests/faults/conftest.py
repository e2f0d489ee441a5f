"""Fault tests: each records one row of the table `make faults` prints at the end."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROWS: list[dict[str, str]] = []
# `make faults` sets this to bench/results/faults.json; `make test` writes nothing into the clone.
RESULTS_ENV = "FAULTS_RESULTS"


@pytest.fixture
def record() -> Iterator[object]:
    def add(fault: str, did: str, recovered_s: float | None, lost: int) -> None:
        ROWS.append(
            {
                "fault": fault,
                "operator did": did,
                "time to recover": "-" if recovered_s is None else f"{recovered_s:.1f}s",
                "statements lost": str(lost),
            }
        )

    yield add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ROWS:
        return
    cols = list(ROWS[0])
    widths = {c: max(len(c), *(len(r[c]) for r in ROWS)) for c in cols}
    terminalreporter.section("fault table")
    terminalreporter.write_line(" | ".join(c.ljust(widths[c]) for c in cols))
    terminalreporter.write_line("-+-".join("-" * widths[c] for c in cols))
    for row in ROWS:
        terminalreporter.write_line(" | ".join(row[c].ljust(widths[c]) for c in cols))
    if os.environ.get(RESULTS_ENV):
        out = Path(os.environ[RESULTS_ENV])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(ROWS, indent=2) + "\n")
