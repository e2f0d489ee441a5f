"""`make demo`'s job, run once as a user runs it: its own control plane, moto and operator; the
five causes of the article and the ready one in the table, the described object with its Event."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.kube import ROOT

pytestmark = pytest.mark.e2e
EXPECTED = {
    "cause1-missing-putobject": "NoAllowInIdent",
    "cause2-kms-key-user": "NotAKeyUser",
    "cause3-explicit-deny": "ExplicitDenyIn",
    "cause4-bucket-acl": "NoWriteGrant",
    "cause5-scp-denies-s3": "ExplicitDenyIn",
    "invoices-ready": "UploadAllowed",
}


def test_the_demo_shows_every_cause_and_exits() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devenv.demo", "--once"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "operator")},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split()[1]: line for line in done.stdout.splitlines() if line.startswith("billing ")}
    assert set(rows) == set(EXPECTED), done.stdout[:2000]
    for name, reason in EXPECTED.items():
        ready = "True" if name == "invoices-ready" else "False"
        assert f" {ready} " in rows[name] and reason in rows[name], rows[name]
    assert "Warning  ExplicitDenyInBucketPolicy" in done.stdout  # the Ready Event, in describe
