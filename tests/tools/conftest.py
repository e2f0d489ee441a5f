from __future__ import annotations

from pathlib import Path

import pytest

from devenv import gotools


def _tool(name: str) -> Path:
    tool = next(t for t in gotools.TOOLS if t.name == name)
    try:
        return gotools.ensure(tool)
    except gotools.BuildError as exc:
        pytest.fail(f"{name} is needed and could not be built: {exc}")


@pytest.fixture(scope="session")
def promtool() -> Path:
    return _tool("promtool")


@pytest.fixture(scope="session")
def helm_tool() -> Path:
    return _tool("helm")
