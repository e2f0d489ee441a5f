"""Every (condition, reason) pair any unit test makes the code write, as a condition of the
operator or a check of ``explain``, must be allowed by docs/api.md's reasons table: the table's
conditions column cannot fall behind the code while the tests exercise it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bucketaccess.access.checks import Explanation
from bucketaccess.reconcile.conditions import Condition
from tests.reasons_table import undocumented

SEEN: set[tuple[str, str]] = set()


@pytest.fixture(scope="session", autouse=True)
def reasons_written_are_documented() -> Iterator[None]:
    condition_init, explanation_init = Condition.__post_init__, Explanation.__init__

    def on_condition(self: Condition) -> None:
        condition_init(self)
        SEEN.add((str(self.type), str(self.reason)))

    def on_explanation(self: Explanation, *args: Any, **kwargs: Any) -> None:
        explanation_init(self, *args, **kwargs)
        SEEN.update((str(name), str(check.reason)) for name, check in self.checks.items())

    Condition.__post_init__ = on_condition  # type: ignore[method-assign]
    Explanation.__init__ = on_explanation  # type: ignore[method-assign]
    try:
        yield
    finally:
        Condition.__post_init__ = condition_init  # type: ignore[method-assign]
        Explanation.__init__ = explanation_init  # type: ignore[method-assign]
    missing = undocumented(SEEN)
    assert not missing, (
        f"docs/api.md's reasons table does not name these conditions for these reasons: {missing}"
    )
