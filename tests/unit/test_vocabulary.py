"""The status vocabulary: every reason is a valid metav1 reason and is documented in docs/, and
the package has no import cycle."""

from __future__ import annotations

import re
from pathlib import Path

import grimp
import pytest

from bucketaccess.vocabulary import REASON_PATTERN, ConditionType, Reason

DOCS = Path(__file__).resolve().parents[2] / "docs"


def documented() -> set[str]:
    return {
        m for page in DOCS.glob("*.md") for m in re.findall(r"`([A-Za-z][A-Za-z0-9_,:]*)`", page.read_text())
    }


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_each_reason_matches_the_metav1_pattern(reason: Reason) -> None:
    assert REASON_PATTERN.match(reason), reason


def test_every_reason_and_condition_type_is_documented() -> None:
    missing = sorted(({str(r) for r in Reason} | {str(t) for t in ConditionType}) - documented())
    assert not missing, f"not documented in docs/: {missing}"


def test_the_pattern_refuses_what_apimachinery_refuses() -> None:
    for bad in ("", "1Start", "has space", "ends,", "dash-ed"):
        assert not REASON_PATTERN.match(bad), bad


def test_no_import_cycle_in_the_package() -> None:
    graph = grimp.build_graph("bucketaccess")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.find_shortest_chain(importer=imported, imported=module) is not None:
                cycles.append(f"{module} -> {imported}")
    assert not cycles, f"import cycles: {cycles}"
