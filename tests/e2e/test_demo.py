"""`make demo`'s job, run once as a user runs it: its own control plane, moto and operator; the
five causes of the article and the ready one in the table, the described object with its Event;
then the repair: causes 1 and 2 go from Ready=False to Ready=True once their class lets the operator
write, with the Events that say what it wrote, and the owners' own statements untouched."""

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
    "repair-cause1": "NoAllowInIdent",
    "repair-cause2": "NotAKeyUser",
}
REPAIRED = {"repair-cause1": "GrantedBucketAccess", "repair-cause2": "AddedKMSKeyUser"}


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
    diagnosis, marker, repair = done.stdout.partition(
        "demo: the platform team switches class billing-repairs"
    )
    assert marker, done.stdout[-2000:]
    rows = {line.split()[1]: line for line in diagnosis.splitlines() if line.startswith("billing ")}
    assert set(rows) == set(EXPECTED), done.stdout[:2000]
    for name, reason in EXPECTED.items():
        ready = "True" if name == "invoices-ready" else "False"
        assert f" {ready} " in rows[name] and reason in rows[name], rows[name]
    assert "Warning  ExplicitDenyInBucketPolicy" in diagnosis  # the Ready Event, in describe

    after = {line.split()[0]: line for line in repair.splitlines() if line.startswith("repair-")}
    assert set(after) == set(REPAIRED), repair[:2000]
    for name, granted in REPAIRED.items():
        assert " True " in after[name] and "UploadAllowed" in after[name], after[name]
        events = repair.split(f"demo: Events of {name}:", 1)[1].split("demo:", 1)[0]
        assert f"Normal {granted}" in " ".join(events.split()), events
    assert (
        "bucket awsdoc-example-managed: its own statements ['AuditorRead', 'DenyPlainHTTP'] untouched"
        in repair
    )
    assert "key alias/ledger: its own statements ['KeyAdministrators'] untouched" in repair
