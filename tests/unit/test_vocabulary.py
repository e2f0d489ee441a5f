"""The status vocabulary: every reason is a valid metav1 reason and is documented in docs/; each word
is written as its enum member outside the module that defines it; the package has no import cycle."""

from __future__ import annotations

import ast
import re
import sys
from enum import StrEnum
from pathlib import Path

import grimp
import pytest

import bucketaccess
from bucketaccess.reconcile.conditions import ready_reason_of
from bucketaccess.vocabulary import (
    LAYERS,
    REASON_PATTERN,
    ConditionStatus,
    ConditionType,
    EventType,
    IdentitySource,
    Reason,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
PACKAGE = Path(bucketaccess.__file__).resolve().parent
VOCABULARIES: tuple[type[StrEnum], ...] = (Reason, ConditionType, ConditionStatus, EventType, IdentitySource)

# Enums of another wire format whose members are spelled like a word of the vocabularies: their
# member definitions may repeat the word. (module, class) -> why.
SAME_WORD_ELSEWHERE = {
    ("access/checks.py", "Status"): "explain's check status (explain -o json): the metav1 condition "
    "statuses and NotApplicable; reconcile/verify.py maps it onto ConditionStatus",
    ("access/scenario.py", "KeyState"): "a key's state in the scenario file (docs/scenario.md, "
    "state: NotFound), which Reason.NotFound happens to spell too",
    ("policy/decision.py", "Decision"): "the engine's decision (status.decision, explain's "
    "decision): ExplicitDeny is also a Reason, Unknown also a ConditionStatus",
    ("policy/decision.py", "CauseKind"): "what a layer's refusal is (an explicit Deny, no Allow): "
    "ExplicitDeny is also the check's Reason",
}


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


def _docstrings(tree: ast.Module) -> set[int]:
    nodes = [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)),
    ]
    return {
        id(n.body[0].value)
        for n in nodes
        if n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
    }


def _member_values(tree: ast.Module, classes: set[str]) -> dict[int, str]:
    """The constants that define the members of these classes (``Name = "value"`` in the body),
    each with its class."""
    return {
        id(stmt.value): n.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ClassDef) and n.name in classes
        for stmt in n.body
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)
    }


def stray_words() -> tuple[list[str], set[tuple[str, str]]]:
    """Each string constant in the package spelled like a vocabulary word, outside the module that
    defines that vocabulary (docstrings and SAME_WORD_ELSEWHERE excepted); and the exceptions used."""
    home = {str(m): (m, sys.modules[type(m).__module__].__file__) for v in VOCABULARIES for m in v}
    found: list[str] = []
    used: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(), str(path))
        classes = {cls for mod, cls in SAME_WORD_ELSEWHERE if mod == module}
        excused = _member_values(tree, classes)
        skipped = _docstrings(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or node.value not in home:
                continue
            member, defined_in = home[node.value]
            if id(node) in skipped or Path(str(defined_in)).resolve() == path.resolve():
                continue
            if id(node) in excused:
                used.add((module, excused[id(node)]))
                continue
            found.append(
                f"{module}:{node.lineno}: {node.value!r} (write {type(member).__name__}.{member.name})"
            )
    return found, used


def test_each_word_is_written_as_its_member_outside_its_vocabulary() -> None:
    found, _ = stray_words()
    assert not found, "string literals that spell a vocabulary word:\n" + "\n".join(found)


def test_each_exception_is_still_needed() -> None:
    _, used = stray_words()
    assert set(SAME_WORD_ELSEWHERE) <= used, f"stale: {set(SAME_WORD_ELSEWHERE) - used}"


def test_layers_are_the_layer_conditions_in_the_status_order() -> None:
    assert list(LAYERS) == [t for t in ConditionType if t in LAYERS]
    assert set(ConditionType) - set(LAYERS) == {
        ConditionType.Ready,
        ConditionType.Admitted,
        ConditionType.Reconciled,
    }


def test_each_layer_named_ready_reason_comes_from_one_layer_and_one_generic_reason() -> None:
    named = {r for r in Reason if r.startswith(("ExplicitDenyIn", "NoAllowIn"))}
    # (the table itself, not conditions the product writes: docs/api.md lists only those)
    made = [
        ready_reason_of(layer, generic)
        for layer in LAYERS
        for generic in (Reason.ExplicitDeny, Reason.NoAllowStatement)
    ]
    named_made = [r for r in made if r in named]
    assert sorted(named_made) == sorted(named), "each ExplicitDenyIn*/NoAllowIn* reason exactly once"


def test_no_import_cycle_in_the_package() -> None:
    graph = grimp.build_graph("bucketaccess")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.find_shortest_chain(importer=imported, imported=module) is not None:
                cycles.append(f"{module} -> {imported}")
    assert not cycles, f"import cycles: {cycles}"
