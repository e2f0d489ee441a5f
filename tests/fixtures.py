"""Fixtures shared by tests/e2e and tests/faults: one real control plane (etcd + kube-apiserver),
one moto server and one AWS organization per test session, created only when a test asks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from devenv.controlplane import ControlPlane
from devenv.moto_server import MotoServer
from devenv.org_world import OrgWorld
from tests.e2e.kube import api_client, install_crds


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    with ControlPlane() as cp:
        yield cp


@pytest.fixture(scope="session")
def kube(control_plane: ControlPlane) -> Iterator[client.ApiClient]:
    api = api_client(control_plane.kubeconfig)
    install_crds(api)
    yield api
    api.close()


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def org_world(moto: MotoServer) -> OrgWorld:
    return OrgWorld(moto)
