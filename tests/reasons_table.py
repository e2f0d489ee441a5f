"""docs/api.md's table of condition reasons, read as data: reason -> the conditions its row names,
and the rule that says which (condition, reason) pairs the code may write.

The conditions column names conditions in backticks; two phrases stand for sets: "every layer
condition" and "any layer condition but `A` and `B`". ``Ready`` carries the first failing layer's
reason unchanged (or, for a request its class does not admit, the ``Admitted`` reason), as the
table's introduction says, so a reason documented on a layer or on ``Admitted`` may be on ``Ready``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from bucketaccess.vocabulary import ConditionType, Reason

API = Path(__file__).resolve().parents[1] / "docs" / "api.md"
HEADER = "| reason | condition(s) | meaning / what to do |"
NOT_LAYERS = {ConditionType.Ready, ConditionType.Admitted, ConditionType.Reconciled}
LAYERS = frozenset(ConditionType) - NOT_LAYERS


def conditions_of(cell: str) -> frozenset[ConditionType]:
    """The conditions one cell of the conditions column names."""
    named = {ConditionType(t) for t in re.findall(r"`([A-Za-z]+)`", cell) if t in ConditionType.__members__}
    if "every layer condition" in cell:
        return LAYERS | named
    if "any layer condition but" in cell:
        # the exclusions run to the end of their clause ("... but `A` and `B` (`Unknown`); `Reconciled` ...")
        head, _, tail = cell.partition("any layer condition but")
        clause, _, rest = tail.partition(";")
        but = set(conditions_of(clause.replace("`Unknown`", "")))
        return (LAYERS - but) | conditions_of(head) | conditions_of(rest)
    return frozenset(named)


@cache
def documented() -> dict[Reason, frozenset[ConditionType]]:
    lines = API.read_text().splitlines()
    assert lines.count(HEADER) == 1, "docs/api.md must have exactly one table of condition reasons"
    table: dict[Reason, frozenset[ConditionType]] = {}
    for line in lines[lines.index(HEADER) + 2 :]:
        if not line.startswith("|"):
            break
        reasons_cell, conditions_cell, _ = (c.strip() for c in line.strip("|").split("|", 2))
        for name in re.findall(r"`([A-Za-z]+)`", reasons_cell):
            reason = Reason(name)
            assert reason not in table, f"{reason} has two rows in the reasons table"
            table[reason] = conditions_of(conditions_cell)
    return table


def undocumented(pairs: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (condition, reason) pairs the table does not allow."""
    table = documented()
    out = []
    for condition, reason in sorted(pairs):
        on = table.get(Reason(reason), frozenset())
        if ConditionType(condition) in on:
            continue
        if condition == ConditionType.Ready and on & (LAYERS | {ConditionType.Admitted}):
            continue
        out.append((condition, reason))
    return out
