"""What every benchmark does with its result: bench/results/NAME.json, and the same JSON printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def publish(name: str, result: Any) -> None:
    """Write ``result`` to bench/results/NAME.json (indented, with a final newline) and print it."""
    text = json.dumps(result, indent=2)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(text + "\n")
    print(text, flush=True)
