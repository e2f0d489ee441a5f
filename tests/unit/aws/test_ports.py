"""The seams load no AWS SDK: the pass and the lease code take the Protocols from aws.ports, and
importing them leaves boto3 and botocore unloaded. import-linter checks the import graph; this
checks what a fresh interpreter actually loads, conditional and lazy imports included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bucketaccess

PACKAGE_ROOT = Path(bucketaccess.__file__).resolve().parents[1]
SDK = ("boto3", "botocore")


@pytest.mark.parametrize(
    "module",
    [
        "bucketaccess.reconcile",
        "bucketaccess.k8s.leader",
        "bucketaccess.aws.ports",
        "bucketaccess.aws.errors",
        "bucketaccess.aws.memory",
        "bucketaccess.aws.cache",
        "bucketaccess.aws.snapshot",
    ],
)
def test_importing_leaves_boto3_and_botocore_unloaded(module: str) -> None:
    # a fresh interpreter: this one has loaded boto3 for other tests long ago
    probe = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(done.stdout)
    assert [m for m in loaded if m.split(".")[0] in SDK] == []
    assert "bucketaccess.aws.boto" not in loaded
