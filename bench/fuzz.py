"""Fuzz the scenario loader and the evaluator: any input is evaluated or refused as InvalidInput,
never another exception. Prints JSON (examples run, crashes found, their first inputs).

Three kinds of input, from hypothesis: whole random JSON documents; real scenarios from the case
corpus with random JSON put at a random place; generated policy-shaped scenarios.

Usage: python bench/fuzz.py [--examples 20000]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tests.casecorpus import load_cases  # noqa: E402
from tests.unit.access.test_properties import json_values, scenarios  # noqa: E402

from bench.report import publish  # noqa: E402
from bucketaccess.access import explain, load_scenario  # noqa: E402
from bucketaccess.policy import InvalidInput  # noqa: E402

NOW = datetime(2026, 11, 29, tzinfo=UTC)
CORPUS = [c.scenario for c in load_cases() if isinstance(c.scenario, dict)]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    base = copy.deepcopy(draw(st.sampled_from(CORPUS)))
    paths = _paths(base)
    path = draw(st.sampled_from(paths))
    junk = draw(json_values)
    if not path:
        return junk
    node = base
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = junk
    return base


inputs = st.one_of(json_values, mutated(), mutated(), scenarios())


def run(examples: int) -> dict[str, Any]:
    stats = {"examples": 0, "evaluated": 0, "refused": 0}
    crashes: list[dict[str, str]] = []

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(doc=inputs)
    def fuzz(doc: Any) -> None:
        stats["examples"] += 1
        try:
            explain(load_scenario(doc, NOW))
            stats["evaluated"] += 1
        except InvalidInput:
            stats["refused"] += 1
        except Exception as exc:
            if len(crashes) < 20:
                crashes.append(
                    {"error": f"{type(exc).__name__}: {exc}", "input": json.dumps(doc, default=str)[:500]}
                )

    start = time.perf_counter()
    fuzz()
    return {
        "benchmark": "fuzz",
        **stats,
        "crashes": len(crashes),
        "crash_samples": crashes,
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20000)
    args = parser.parse_args()
    report = run(args.examples)
    publish("fuzz", report)
    return 1 if report["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
