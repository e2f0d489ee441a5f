"""The scenario case corpus under tests/cases/: one JSON file per topic, a base scenario and patches.

A patch is merged into the base: objects merge key by key, anything else (lists included)
replaces, and ``null`` removes the key. Kept apart from the test module so the benchmark and the
property tests can reuse real scenarios.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CASES_DIR = Path(__file__).parent / "cases"


@dataclass(frozen=True)
class Case:
    id: str
    why: str
    scenario: dict[str, Any]
    expect: dict[str, Any]


def merge(base: Any, patch: Any) -> Any:
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text())
        base = data.get("base", {})
        for raw in data["cases"]:
            scenario = raw["scenario"] if "scenario" in raw else merge(base, raw.get("patch", {}))
            cases.append(Case(f"{path.stem}::{raw['id']}", raw.get("why", ""), scenario, raw["expect"]))
    return cases
