from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devenv.moto_server import MotoServer


@pytest.fixture(scope="module")
def moto_env() -> Iterator[MotoServer]:
    """A moto server of this module's own, and the environment pointing boto3 at it."""
    with MotoServer() as server:
        saved = {k: os.environ.get(k) for k in server.env()}
        os.environ.update(server.env())
        try:
            yield server
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
