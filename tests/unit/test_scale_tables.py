"""The scale tables of README.md and docs/operations.md are the figures of bench/results/scale-*.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SIZES = (1000, 5000, 10000)
ROWS = (
    ("first verdict for all, from the bulk create", lambda d: f"{d['first_verdict_s']} s"),
    ("one full re-verification (operator restart)", lambda d: f"{d['cycle_s']} s"),
    (
        "AWS resource reads per cycle (API calls)",
        lambda d: f"{d['aws_reads_per_cycle']} ({d['aws_api_calls_per_cycle']:,})",
    ),
    ("API server requests per cycle", lambda d: f"{d['apiserver_requests_per_cycle']:,}"),
    ("peak RSS", lambda d: f"{round(d['peak_rss_mb'])} MB"),
    ("idle CPU between cycles (5-minute interval)", lambda d: f"{d['idle_cpu_percent']}%"),
    (
        "CPU for a full cycle (average over a 5-minute interval)",
        lambda d: f"{d['cpu_s_cycle']} s ({d['steady_cpu_percent']}%)",
    ),
)


def table() -> str:
    results: dict[int, Any] = {
        n: json.loads((ROOT / "bench" / "results" / f"scale-{n}.json").read_text()) for n in SIZES
    }
    head = "| | " + " | ".join(f"{n:,} objects" for n in SIZES) + " |\n|---|---|---|---|\n"
    return head + "".join(
        f"| {label} | " + " | ".join(cell(results[n]) for n in SIZES) + " |\n" for label, cell in ROWS
    )


def test_the_scale_tables_show_the_committed_results() -> None:
    expected = table()
    for doc in ("README.md", "docs/operations.md"):
        text = (ROOT / doc).read_text()
        flat = "\n".join(line.strip() for line in text.splitlines()) + "\n"
        assert expected in flat, f"{doc}: the scale table differs from bench/results/scale-*.json"
