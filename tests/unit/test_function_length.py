"""No function in the operator's package is over 80 lines (issue 21): a longer one is split into
steps with names. Measured as Python's ast sees a definition, from its ``def`` line (decorators not
counted) to its last line; methods and nested functions count on their own."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "bucketaccess"
MAX_LINES = 80


def long_functions(source: str, path: str, limit: int = MAX_LINES) -> list[str]:
    """``path:line name (N lines)`` for each function of ``source`` over ``limit`` lines."""
    found = []
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            if length > limit:
                found.append(f"{path}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_in_the_package_is_over_80_lines() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50, f"the package was not found under {PACKAGE}"
    too_long = [
        found
        for file in files
        for found in long_functions(file.read_text(), str(file.relative_to(PACKAGE.parents[1])))
    ]
    assert not too_long, f"functions over {MAX_LINES} lines: " + "; ".join(too_long)


def test_a_function_over_the_limit_is_named() -> None:
    def function(name: str, lines: int, indent: str = "") -> str:
        return f"{indent}def {name}():\n" + "".join(f"{indent}    x = {i}\n" for i in range(lines - 1))

    source = function("fits", 80) + "class C:\n" + function("over", 81, indent="    ")
    assert long_functions(source, "m.py") == ["m.py:82 over (81 lines)"]
