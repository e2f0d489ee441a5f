"""Fault tests: each records one row of the table `make faults` prints at the end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

ROWS: list[dict[str, str]] = []
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "faults.json"


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
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(ROWS, indent=2) + "\n")
