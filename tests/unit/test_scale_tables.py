"""The scale tables of README.md and docs/operations.md are the figures of bench/results/scale-*.json, and
the evaluation table of docs/operations.md those of bench/results/evaluate.json."""

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


EVALUATE_CASES = (("seed_explicit_deny", "the article's explicit Deny"), ("large", "large scenario"))


def evaluate_rows() -> str:
    results = json.loads((ROOT / "bench" / "results" / "evaluate.json").read_text())
    rows = []
    for key, label in EVALUATE_CASES:
        ours, peer = results[key], results["iam_simulate"][key]
        rows.append(
            f"| {label} | {peer['ours_explains_per_s']:,} | {peer['peer_rounds_per_s']:,} "
            f"| {peer['ours_over_peer']}x | {ours['load_and_explain_per_s']:,} |\n"
        )
    return "".join(rows)


def test_the_evaluation_table_shows_the_committed_results() -> None:
    text = (ROOT / "docs" / "operations.md").read_text()
    head = "| | explains per second | iam-simulate, rounds per second | ours over iam-simulate | load + explain per second |\n|---|---|---|---|---|\n"
    assert head + evaluate_rows() in text
