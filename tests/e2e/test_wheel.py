"""The image's contents without Docker: the wheel built from pyproject.toml (what deploy/Dockerfile
installs), in a clean virtualenv with no development extras, runs the operator against the local
control plane and moto until an object is verified; nothing of the development tooling is in it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from devenv.controlplane import ControlPlane, free_port, spawn, terminate
from devenv.moto_server import MotoServer
from tests.e2e.kube import ROOT, create, ensure_namespace, get_ba, wait_for
from tests.manifests import bucket_access

pytestmark = pytest.mark.e2e
NS = "wheel"


def run(*cmd: str, cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A clean virtualenv holding the built wheel and its runtime dependencies only."""
    work = tmp_path_factory.mktemp("wheel")
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "-w",
        str(work / "dist"),
        str(ROOT),
        cwd=work,
    )
    (wheel,) = (work / "dist").glob("bucketaccess-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith("devenv/") or "/devenv/" in n], (
        "development tooling in the wheel"
    )
    assert "bucketaccess/cli/run.py" in names
    venv = work / "venv"
    run(sys.executable, "-m", "venv", str(venv), cwd=work)
    run(
        str(venv / "bin" / "pip"),
        "install",
        "--quiet",
        "-c",
        str(ROOT / "constraints.txt"),
        str(wheel),
        cwd=work,
    )
    yield venv


def test_the_wheel_holds_no_dev_tooling(installed: Path) -> None:
    python = str(installed / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for module in ("devenv", "pytest", "moto", "tests"):
        probe = subprocess.run(
            [python, "-c", f"import {module}"], cwd=installed, env=env, capture_output=True, check=False
        )
        assert probe.returncode != 0, f"{module} is importable from the wheel's environment"
    where = run(python, "-c", "import bucketaccess; print(bucketaccess.__file__)", cwd=installed)
    assert str(installed) in where, where  # the installed wheel, not the repository


def test_the_installed_operator_verifies_an_object(
    installed: Path,
    control_plane: ControlPlane,
    kube: client.ApiClient,
    moto: MotoServer,
    tmp_path: Path,
) -> None:
    ensure_namespace(kube, NS)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
        **moto.env(),
        "KUBECONFIG": str(control_plane.kubeconfig),
    }
    cmd = [
        str(installed / "bin" / "bucketaccess"),
        "run",
        "--namespace",
        NS,
        "--health-port",
        str(free_port()),
    ]
    proc = spawn(cmd, tmp_path / "operator.log", env=env)
    try:
        create(
            kube,
            bucket_access(
                "from-wheel", NS, cls="none", bucket="wheel-bucket", role="arn:aws:iam::123456789012:role/r"
            ),
        )
        obj = wait_for(
            lambda: (
                o
                if (o := get_ba(kube, NS, "from-wheel")).get("status", {}).get("observedGeneration") == 1
                else None
            ),
            60,
            "a verdict from the installed wheel",
        )
        ready = {c["type"]: c for c in obj["status"]["conditions"]}["Ready"]
        assert ready["status"] == "False" and ready["reason"] == "ClassNotFound"  # verified, and not admitted
    finally:
        terminate(proc)
